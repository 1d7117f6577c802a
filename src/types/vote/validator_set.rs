//! The weighted validator set of one height: membership, weights, quorum thresholds, its
//! decoded keys and its encoding.

use crate::types::encoding::{put, Decode, DecodeError, Encode, Reader};
use crate::types::hash::{Domain, Hash};
use crate::types::keys::{PublicKey, VerifyingKey};
use std::sync::{Arc, OnceLock};

/// Most validators in one set (bounds certificate decoding).
pub const MAX_VALIDATORS: usize = 1_000;

/// One validator with its weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validator {
    /// The validator's node key (its consensus/p2p key).
    pub key: PublicKey,
    /// Voting weight (> 0).
    pub weight: u64,
}

/// The weighted set of masternodes that vote at one height, sorted by key.
#[derive(Clone, Default)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total: u64,
    /// The members' keys decoded for verification, in the order of `validators`: decoded on
    /// first use, so a set decompresses each key once however many votes and certificates it
    /// checks. A function of `validators`, so left out of equality and `Debug`.
    pub(super) verifying: OnceLock<Arc<[VerifyingKey]>>,
}

impl ValidatorSet {
    /// A set from (key, weight) pairs; zero weights are dropped, keys sorted, duplicates merged
    /// by keeping the first.
    pub fn new(mut validators: Vec<Validator>) -> ValidatorSet {
        validators.retain(|v| v.weight > 0);
        validators.sort_by_key(|v| v.key);
        validators.dedup_by(|a, b| a.key == b.key);
        let total = validators
            .iter()
            .map(|v| v.weight)
            .fold(0u64, u64::saturating_add);
        ValidatorSet {
            validators,
            total,
            verifying: OnceLock::new(),
        }
    }

    /// The members' keys decoded, in the order of [`ValidatorSet::validators`] (decoded at the
    /// first call).
    pub(super) fn verifying_keys(&self) -> &[VerifyingKey] {
        self.verifying.get_or_init(|| {
            self.validators
                .iter()
                .map(|v| VerifyingKey::new(&v.key))
                .collect()
        })
    }

    /// Takes the decoded keys of the members this set shares with `earlier` (decoding the
    /// others), so that the set of the next height decodes only its new members. Nothing
    /// happens when this set's keys are decoded already or `earlier`'s are not.
    pub fn reuse_keys(&self, earlier: &ValidatorSet) {
        let Some(theirs) = earlier.verifying.get() else {
            return;
        };
        if self.verifying.get().is_some() {
            return;
        }
        let keys = self
            .validators
            .iter()
            .map(|v| {
                earlier
                    .index_of(&v.key)
                    .map_or_else(|| VerifyingKey::new(&v.key), |i| theirs[i])
            })
            .collect();
        // Unset just above, and the set is not shared while it is built: this cannot fail, and
        // if it did, the keys already there are the same keys.
        let _ = self.verifying.set(keys);
    }

    /// The decoded key of member `key`, `None` when not a member.
    pub fn verifying_key(&self, key: &PublicKey) -> Option<&VerifyingKey> {
        let i = self.index_of(key)?;
        self.verifying_keys().get(i)
    }

    /// Validators sorted by key.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Number of validators (after zero weights and duplicate keys were dropped).
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Sum of weights, saturating at `u64::MAX`.
    pub fn total_weight(&self) -> u64 {
        self.total
    }

    /// Position of a key in [`ValidatorSet::validators`], `None` when not a member.
    pub fn index_of(&self, key: &PublicKey) -> Option<usize> {
        self.validators.binary_search_by(|v| v.key.cmp(key)).ok()
    }

    /// Weight of a key, `None` when not a member.
    pub fn weight_of(&self, key: &PublicKey) -> Option<u64> {
        self.index_of(key).map(|i| self.validators[i].weight)
    }

    /// Strictly more than 2/3 of the total weight.
    pub fn is_quorum(&self, weight: u64) -> bool {
        (weight as u128) * 3 > (self.total as u128) * 2
    }

    /// Strictly more than 1/3 of the total weight (f+1: at least one honest).
    pub fn is_one_third(&self, weight: u64) -> bool {
        (weight as u128) * 3 > self.total as u128
    }

    /// Commitment to the set, stored in each header's `validator_set_hash`.
    pub fn hash(&self) -> Hash {
        let mut buf = Vec::with_capacity(self.validators.len() * 40);
        for v in &self.validators {
            v.key.encode_to(&mut buf);
            put::u64(&mut buf, v.weight);
        }
        Hash::of(Domain::ValidatorSet, &buf)
    }
}

impl PartialEq for ValidatorSet {
    fn eq(&self, other: &ValidatorSet) -> bool {
        self.validators == other.validators && self.total == other.total
    }
}
impl Eq for ValidatorSet {}

impl std::fmt::Debug for ValidatorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorSet")
            .field("validators", &self.validators)
            .field("total", &self.total)
            .finish()
    }
}

impl Encode for ValidatorSet {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put::len(out, self.validators.len());
        for v in &self.validators {
            v.key.encode_to(out);
            put::u64(out, v.weight);
        }
    }
}

impl Decode for ValidatorSet {
    const MIN_LEN: usize = 4;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.len_prefix("validator set", MAX_VALIDATORS, 40)?;
        let mut vs = Vec::with_capacity(n);
        for _ in 0..n {
            let key = PublicKey::decode_from(r)?;
            let weight = r.u64()?;
            vs.push(Validator { key, weight });
        }
        // The encoding lists the keys in ascending order; any other order would decode to the
        // same set and re-encode differently.
        if vs.windows(2).any(|w| w[0].key >= w[1].key) {
            return Err(DecodeError::InvalidValue(
                "validator set (keys not strictly ascending)",
            ));
        }
        let set = ValidatorSet::new(vs);
        if set.len() != n {
            return Err(DecodeError::InvalidValue("validator set (zero weight)"));
        }
        Ok(set)
    }
}
