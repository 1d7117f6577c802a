//! Metrics placeholder
