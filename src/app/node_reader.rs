//! Typed readers of what a running node publishes on its `watch` channels.
//!
//! An RPC call or a metrics tick that needs a few fields of the node's snapshot reads them
//! under the watch's borrow instead of cloning the whole snapshot (its vote log, masternode
//! list and validator set) first, as Zebra's `LatestChainTip::with_chain_tip_block` does.
//! The borrow ends when the closure returns, so it cannot be held across an `.await` or a
//! blocking call. While it is held, the driver's next publication waits: closures extract or
//! build from the data and do no I/O (storage reads, driver round trips) inside.

use crate::node::{NodeHandle, NodeSnapshot};
use crate::p2p::PeerInfo;

/// Reads the latest snapshot and peer list of a node without cloning them.
pub trait NodeReader {
    /// What `f` extracts from the driver's latest snapshot, under the watch's borrow.
    fn with_snapshot<R>(&self, f: impl FnOnce(&NodeSnapshot) -> R) -> R;

    /// What `f` extracts from the connected peers as the p2p layer last published them, under
    /// the watch's borrow.
    fn with_peers<R>(&self, f: impl FnOnce(&[PeerInfo]) -> R) -> R;

    /// What `f` builds from the latest snapshot and peer list together (the snapshot's
    /// borrow is taken first, then the peers').
    fn with_snapshot_and_peers<R>(&self, f: impl FnOnce(&NodeSnapshot, &[PeerInfo]) -> R) -> R {
        self.with_snapshot(|s| self.with_peers(|p| f(s, p)))
    }
}

impl NodeReader for NodeHandle {
    fn with_snapshot<R>(&self, f: impl FnOnce(&NodeSnapshot) -> R) -> R {
        f(&self.snapshot.borrow())
    }

    fn with_peers<R>(&self, f: impl FnOnce(&[PeerInfo]) -> R) -> R {
        f(&self.peers.borrow())
    }
}
