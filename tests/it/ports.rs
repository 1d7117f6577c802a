//! The suite's port allocator (tests/support/ports.rs): ranges never overlap, are given back on
//! drop, and a lock left by a dead process is reclaimed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::ports::{self, lock_dir, BLOCK, FIRST, LAST};

#[test]
fn ranges_are_disjoint_bindable_and_given_back() {
    let held: Vec<ports::PortRange> = (0..8).map(|_| ports::range(40)).collect();
    let mut bases: Vec<u16> = held.iter().map(|r| r.base()).collect();
    bases.sort_unstable();
    bases.dedup();
    assert_eq!(
        bases.len(),
        held.len(),
        "two ranges share a block: {bases:?}"
    );
    for r in &held {
        assert!(FIRST <= r.base() && r.base() + BLOCK <= LAST);
        assert_eq!((r.base() - FIRST) % BLOCK, 0);
        let lock = lock_dir().join(format!("block-{}", (r.base() - FIRST) / BLOCK));
        let pid: u32 = std::fs::read_to_string(&lock).unwrap().parse().unwrap();
        assert_eq!(pid, std::process::id(), "the lock names its owner");
        // Still free to bind: nothing else was handed these ports.
        std::net::TcpListener::bind(("127.0.0.1", r.port(39))).unwrap();
    }
    let locks: Vec<_> = held
        .iter()
        .map(|r| lock_dir().join(format!("block-{}", (r.base() - FIRST) / BLOCK)))
        .collect();
    drop(held);
    for l in locks {
        assert!(!l.exists(), "{} not released", l.display());
    }
}

#[test]
fn a_dead_process_lock_is_reclaimed_and_a_live_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("block-0");
    // Free: taken, naming us.
    assert!(ports::try_lock(&lock));
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        std::process::id().to_string()
    );
    // Held by a live process (us): not taken, left as it is.
    assert!(!ports::try_lock(&lock));
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        std::process::id().to_string()
    );
    // Left by a process that has exited: reclaimed.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(&lock, dead.to_string()).unwrap();
    assert!(ports::try_lock(&lock));
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        std::process::id().to_string()
    );
    // Nothing but the lock is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["block-0"]);
}
