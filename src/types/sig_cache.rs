//! A bounded memory of signatures that verified, so that a node checks one signature once
//! however many messages carry it: a vote is verified when it arrives and its precommit
//! signature comes back in the certificate of the next block; a message buffered for the next
//! height is verified when it arrives and handled again when the height starts; a synced
//! block's certificate comes back as the next block's `last_commit`. Bitcoin Core's signature
//! cache (`src/script/sigcache.h`) is the model.
//!
//! An entry is the whole (message, key, signature) triple the verdict depends on, never a
//! digest of part of it, and only a signature that verified under the rule (or one this node
//! made with its own key) is entered, so a hit gives exactly the verdict a verification would.
//! The cache belongs to one node: nodes never share verification work.

use super::hash::Hash;
use super::keys::{PublicKey, Signature, SignatureError, VerifyingKey};
use std::collections::HashSet;

/// Entries a node keeps by default: four certificates' worth of the largest validator set, so
/// the votes of a height are still there when the next height's proposal carries them back.
pub const DEFAULT_CAPACITY: usize = 4 * super::vote::MAX_VALIDATORS;

/// One signature that verified: the message (every signed consensus message is a hash), the
/// signer's key and the signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Entry {
    msg: Hash,
    key: PublicKey,
    sig: Signature,
}

/// Verified signatures, at most `capacity`: two generations of half the capacity each; when the
/// newer one is full, the older one is dropped (a signature forgotten is verified again).
#[derive(Clone)]
pub struct SigCache {
    newer: HashSet<Entry>,
    older: HashSet<Entry>,
    generation: usize,
}

impl std::fmt::Debug for SigCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigCache")
            .field("len", &self.len())
            .field("capacity", &(2 * self.generation))
            .finish()
    }
}

impl SigCache {
    /// An empty cache holding at most `capacity` signatures (at least two).
    pub fn new(capacity: usize) -> SigCache {
        SigCache {
            newer: HashSet::new(),
            older: HashSet::new(),
            generation: (capacity / 2).max(1),
        }
    }

    /// Whether `sig` by `key` over `msg` is known to verify.
    pub fn contains(&self, msg: &Hash, key: &PublicKey, sig: &Signature) -> bool {
        let e = Entry {
            msg: *msg,
            key: *key,
            sig: *sig,
        };
        self.newer.contains(&e) || self.older.contains(&e)
    }

    /// Enters a signature that verified under the rule, or that this node made over `msg` with
    /// its own key; nothing else may be entered.
    pub fn insert_verified(&mut self, msg: Hash, key: PublicKey, sig: Signature) {
        let e = Entry { msg, key, sig };
        if self.older.contains(&e) {
            return;
        }
        if self.newer.len() >= self.generation && !self.newer.contains(&e) {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(e);
    }

    /// The verdict of [`VerifyingKey::verify`] on `sig` over `msg`: from the cache when the
    /// signature is known, else verified (and entered when it verifies).
    pub fn verify(
        &mut self,
        msg: &Hash,
        key: &VerifyingKey,
        sig: &Signature,
    ) -> Result<(), SignatureError> {
        if self.contains(msg, key.key(), sig) {
            return Ok(());
        }
        key.verify(&msg.0, sig)?;
        self.insert_verified(*msg, *key.key(), *sig);
        Ok(())
    }

    /// [`SigCache::verify`] for a key not decoded yet: decoded only when the signature is not
    /// known.
    pub fn verify_encoded(
        &mut self,
        msg: &Hash,
        key: &PublicKey,
        sig: &Signature,
    ) -> Result<(), SignatureError> {
        if self.contains(msg, key, sig) {
            return Ok(());
        }
        self.verify(msg, &VerifyingKey::new(key), sig)
    }

    /// Signatures held.
    pub fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }

    /// Whether no signature is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::hash::Domain;
    use crate::types::keys::SecretKey;

    fn signed(i: u8) -> (Hash, VerifyingKey, Signature) {
        let key = SecretKey::from_seed(&[i.wrapping_add(1); 32]);
        let msg = Hash::of(Domain::Vote, &[i]);
        (msg, VerifyingKey::new(&key.public()), key.sign(&msg.0))
    }

    #[test]
    fn a_valid_signature_is_entered_and_an_invalid_one_never() {
        let mut c = SigCache::new(16);
        let (msg, key, sig) = signed(1);
        let mut bad = sig;
        bad.0[40] ^= 0x10;
        assert_eq!(c.verify(&msg, &key, &bad), Err(SignatureError::Invalid));
        assert!(c.is_empty());
        assert_eq!(c.verify(&msg, &key, &sig), Ok(()));
        assert!(c.contains(&msg, key.key(), &sig));
        // A hit needs the whole triple: the same signature over another message or under
        // another key is not known, and another signature by the key over the message neither.
        let (other_msg, other_key, _) = signed(2);
        assert!(!c.contains(&other_msg, key.key(), &sig));
        assert!(!c.contains(&msg, other_key.key(), &sig));
        assert!(!c.contains(&msg, key.key(), &bad));
        assert_eq!(c.verify(&msg, &key, &bad), Err(SignatureError::Invalid));
        assert_eq!(
            c.verify(&other_msg, &key, &sig),
            Err(SignatureError::Invalid)
        );
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn the_cache_stays_within_its_capacity_and_keeps_the_newest() {
        let mut c = SigCache::new(8);
        let items: Vec<_> = (0..40u8).map(signed).collect();
        for (msg, key, sig) in &items {
            assert_eq!(c.verify(msg, key, sig), Ok(()));
            assert!(c.len() <= 8, "{} entries", c.len());
        }
        let (msg, key, sig) = &items[39];
        assert!(c.contains(msg, key.key(), sig));
        let (msg, key, sig) = &items[0];
        assert!(!c.contains(msg, key.key(), sig));
        // Entering what is held again adds nothing.
        let before = c.len();
        let (msg, key, sig) = items[39];
        c.insert_verified(msg, *key.key(), sig);
        assert_eq!(c.len(), before);
    }
}
