//! Logging: tracing to a file in the data dir, to stderr in headless mode, and into a bounded
//! ring buffer that the UI's log tab reads (nothing is printed to the terminal while the UI runs).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// One captured log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Severity of the event.
    pub level: Level,
    /// Dotted target, e.g. `consensus::round`.
    pub target: String,
    /// The event's message, then its other fields as ` key=value`.
    pub message: String,
}

/// A bounded buffer of the most recent log lines.
#[derive(Clone)]
pub struct LogRing {
    inner: Arc<Mutex<VecDeque<LogRecord>>>,
    cap: usize,
}

impl LogRing {
    /// A ring holding at most `cap` lines.
    pub fn new(cap: usize) -> LogRing {
        LogRing {
            inner: Arc::new(Mutex::new(VecDeque::with_capacity(cap))),
            cap,
        }
    }

    fn push(&self, r: LogRecord) {
        if let Ok(mut q) = self.inner.lock() {
            if q.len() == self.cap {
                q.pop_front();
            }
            q.push_back(r);
        }
    }

    /// A copy of the last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<LogRecord> {
        match self.inner.lock() {
            Ok(q) => q.iter().skip(q.len().saturating_sub(n)).cloned().collect(),
            Err(_) => Vec::new(),
        }
    }
}

struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

struct RingLayer(LogRing);

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        let time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.0.push(LogRecord {
            time_ms,
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            message: v.0,
        });
    }
}

/// Installs the global subscriber: `filter` (EnvFilter syntax), a log file `timed.log` in
/// `log_dir`, stderr when `stderr` is true, and the returned ring for the UI.
pub fn init(filter: &str, log_dir: Option<&Path>, stderr: bool) -> std::io::Result<LogRing> {
    let ring = LogRing::new(2_000);
    let env = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let file_layer = match log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("timed.log"))?;
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(Arc::new(f)),
            )
        }
        None => None,
    };
    // Colours only on a terminal: under systemd stderr goes to the journal, where escape
    // codes make `journalctl` print "[blob data]" instead of the line.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let stderr_layer = stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
    });
    // A second init (tests, several commands in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(env)
        .with(file_layer)
        .with(stderr_layer)
        .with(RingLayer(ring.clone()))
        .try_init();
    Ok(ring)
}
