//! The status loops: peer snapshots for the node (with the score decay), and our height to
//! every peer.

use super::Shared;
use crate::p2p::Message;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Publishes the peer snapshots on every change and at least every second, and decays every
/// connected peer's score by one point a minute; publishes an empty list at shutdown.
pub(super) async fn snapshot_loop(sh: Arc<Shared>) {
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = sh.shutdown.cancelled() => break,
            _ = sh.changed.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                ticks += 1;
                if ticks % 60 == 0 {
                    // Scores decay by one point a minute.
                    for p in sh.peers.iter() {
                        let _ = p.score.fetch_update(Ordering::Relaxed, Ordering::Relaxed,
                            |s| (s > 0).then(|| s - 1));
                    }
                }
            }
        }
        sh.peers_tx.send_replace(sh.snapshot());
    }
    sh.peers_tx.send_replace(Vec::new());
}

/// Broadcasts a `Status` to every peer whenever our height changes.
pub(super) async fn status_loop(sh: Arc<Shared>) {
    let mut rx = sh.height.clone();
    loop {
        tokio::select! {
            _ = sh.shutdown.cancelled() => break,
            r = rx.changed() => if r.is_err() { break },
        }
        let (height, tip) = *rx.borrow_and_update();
        sh.broadcast(Message::Status { height, tip }, None);
    }
}
