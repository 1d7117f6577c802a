//! The UI crate's integration tests, linked once into one binary: `cargo test -p timecoin-ui
//! --test it`, one area with a module filter (`cargo test -p timecoin-ui --test it
//! snapshots::`). Insta keeps the snapshots in `snapshots/` next to this file, named by module
//! path (`it__snapshots__<name>.snap`).

// Shared helpers.
mod common;

// One module per area.
mod app_flow;
mod run_loop;
mod snapshots;
