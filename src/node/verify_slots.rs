//! Slots for admission's signature verification: a driver verifies a chunk of gossiped
//! transactions only while it holds one. There are as many slots as cores, shared by every
//! node in the process ([`VerifySlots::process`]), so nodes in one process (the devnet, the
//! bench) never verify on more threads than there are cores: the network tasks and the
//! consensus messages waiting for a driver are not left to share what is left over with a
//! dozen verifying threads. A node alone in its process holds at most one slot and never waits.

use std::sync::{Arc, OnceLock};
use tokio::sync::{Semaphore, SemaphorePermit};

/// A handle on a set of verification slots; clones share them.
#[derive(Clone)]
pub struct VerifySlots(Arc<Semaphore>);

impl VerifySlots {
    /// `n` slots of their own (at least one).
    pub fn new(n: usize) -> VerifySlots {
        VerifySlots(Arc::new(Semaphore::new(n.max(1))))
    }

    /// The process's slots: one per core.
    pub fn process() -> VerifySlots {
        static SLOTS: OnceLock<VerifySlots> = OnceLock::new();
        SLOTS.get_or_init(VerifySlots::per_core).clone()
    }

    /// One slot per core of this machine, of their own.
    fn per_core() -> VerifySlots {
        VerifySlots::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Waits for a free slot, held until the permit is dropped; `None` never happens in
    /// practice (the slots are never closed).
    pub async fn acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.0.acquire().await.ok()
    }

    /// Slots free now.
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }
}

impl Default for VerifySlots {
    /// [`VerifySlots::process`].
    fn default() -> VerifySlots {
        VerifySlots::process()
    }
}

impl std::fmt::Debug for VerifySlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifySlots")
            .field("available", &self.available())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_slots_are_shared_and_one_per_core() {
        let a = VerifySlots::process();
        let b = VerifySlots::process();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(VerifySlots::per_core().available(), cores);
        // Other tests of this process may hold some of the shared ones.
        assert!(a.available() <= cores);
    }

    #[tokio::test]
    async fn a_slot_is_free_again_once_its_permit_is_dropped() {
        let s = VerifySlots::new(1);
        let p = s.acquire().await;
        assert!(p.is_some());
        assert_eq!(s.available(), 0);
        drop(p);
        assert_eq!(s.available(), 1);
    }
}
