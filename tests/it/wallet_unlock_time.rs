//! Unlock time with the default Argon2id parameters (64 MiB, t = 3). Run with `--nocapture`
//! to see the figure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use timecoin::types::Network;
use timecoin::wallet::{KdfParams, Wallet};

#[test]
fn unlock_with_default_params() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    let t = Instant::now();
    let (mut w, _) = Wallet::create(&path, "pw", Network::Devnet, KdfParams::default()).unwrap();
    let create = t.elapsed();
    let mut times = Vec::new();
    for _ in 0..3 {
        w.lock();
        let t = Instant::now();
        w.unlock("pw", Duration::from_secs(60)).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "wallet create {create:?}; unlock with default Argon2id (64 MiB, t=3, p=1): median {:?} (min {:?}, max {:?})",
        times[1], times[0], times[2]
    );
    assert!(times[1] < Duration::from_secs(30));
}
