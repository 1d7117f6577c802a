//! Measurements of the machine: the Ed25519 verification rate on all cores (the bench's
//! throughput bound) and the process's peak resident set.

use crate::types::SecretKey;
use std::time::{Duration, Instant};

/// Ed25519 single verifications per second with one thread per core for `dur`.
pub fn measure_verify_rate(dur: Duration) -> (f64, usize) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let key = SecretKey::from_seed(&[0x42; 32]);
    let msg = [0x17u8; 32];
    let sig = key.sign(&msg);
    let pk = key.public();
    let rates: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < dur {
                        for _ in 0..32 {
                            if pk.verify(&msg, &sig).is_ok() {
                                n += 1;
                            }
                        }
                    }
                    n as f64 / start.elapsed().as_secs_f64()
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    (rates.iter().sum(), cores)
}

/// Peak resident set size of this process in MiB (VmHWM), 0 where unknown.
pub fn peak_rss_mb() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return 0.0;
    };
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
