#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests for commit certificates: a certificate is accepted exactly when its distinct
//! signers are all in the set, every precommit signature is valid for this chain, height, round
//! and block, and the signers hold strictly more than 2/3 of the weight.

use proptest::prelude::*;
use timecoin::types::{
    CommitCertificate, CommitSig, Domain, Hash, SecretKey, Validator, ValidatorSet, Vote, VoteKind,
};

fn chain() -> Hash {
    Hash::of(Domain::ChainId, b"certificate props")
}

struct Fixture {
    keys: Vec<SecretKey>,
    set: ValidatorSet,
    block: Hash,
    height: u64,
    round: u32,
}

fn fixture(weights: &[u64], seed: u8, height: u64, round: u32) -> Fixture {
    let keys: Vec<SecretKey> = (0..weights.len())
        .map(|i| {
            let mut s = [7u8; 32];
            s[0] = seed;
            s[1] = i as u8;
            SecretKey::from_seed(&s)
        })
        .collect();
    let set = ValidatorSet::new(
        keys.iter()
            .zip(weights)
            .map(|(k, w)| Validator {
                key: k.public(),
                weight: *w,
            })
            .collect(),
    );
    Fixture {
        keys,
        set,
        block: Hash::of(Domain::BlockHeader, &height.to_le_bytes()),
        height,
        round,
    }
}

fn sig(f: &Fixture, k: &SecretKey) -> CommitSig {
    let v = Vote::new_signed(
        chain(),
        f.height,
        f.round,
        VoteKind::Precommit,
        Some(f.block),
        k,
    );
    CommitSig {
        voter: v.voter,
        signature: v.signature,
    }
}

fn cert(f: &Fixture, signers: &[usize]) -> CommitCertificate {
    CommitCertificate {
        height: f.height,
        round: f.round,
        block_hash: f.block,
        sigs: signers.iter().map(|i| sig(f, &f.keys[*i])).collect(),
    }
}

fn weight_of(f: &Fixture, signers: &[usize]) -> u64 {
    signers
        .iter()
        .map(|i| f.set.weight_of(&f.keys[*i].public()).unwrap())
        .sum()
}

fn arb_case() -> impl Strategy<Value = (Vec<u64>, Vec<bool>, u8, u64, u32)> {
    (
        proptest::collection::vec(prop_oneof![Just(1u64), Just(10), Just(100)], 1..8),
        proptest::collection::vec(any::<bool>(), 8),
        any::<u8>(),
        1u64..1_000,
        0u32..5,
    )
}

fn signers_of(mask: &[bool], n: usize) -> Vec<usize> {
    (0..n).filter(|i| mask[*i]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Accepted iff the signers' weight is strictly above 2/3.
    #[test]
    fn quorum_decides_acceptance((w, mask, seed, h, r) in arb_case()) {
        let f = fixture(&w, seed, h, r);
        let signers = signers_of(&mask, w.len());
        let c = cert(&f, &signers);
        let above = weight_of(&f, &signers) as u128 * 3 > f.set.total_weight() as u128 * 2;
        prop_assert_eq!(c.verify(&chain(), h, &f.block, &f.set).is_ok(), above);
    }

    /// A full certificate is accepted; with a signer counted twice it is rejected.
    #[test]
    fn duplicate_signer_rejected((w, _m, seed, h, r) in arb_case(), dup in 0usize..8) {
        let f = fixture(&w, seed, h, r);
        let all: Vec<usize> = (0..w.len()).collect();
        let mut c = cert(&f, &all);
        prop_assert!(c.verify(&chain(), h, &f.block, &f.set).is_ok());
        let d = c.sigs[dup % c.sigs.len()];
        c.sigs.push(d);
        prop_assert!(c.verify(&chain(), h, &f.block, &f.set).is_err());
    }

    /// A signer outside the set is rejected, even when the rest is a quorum.
    #[test]
    fn outsider_rejected((w, _m, seed, h, r) in arb_case(), pos in 0usize..9) {
        let f = fixture(&w, seed, h, r);
        let all: Vec<usize> = (0..w.len()).collect();
        let mut c = cert(&f, &all);
        let outsider = SecretKey::from_seed(&[0xEE; 32]);
        let s = sig(&f, &outsider);
        let at = pos % (c.sigs.len() + 1);
        c.sigs.insert(at, s);
        prop_assert!(c.verify(&chain(), h, &f.block, &f.set).is_err());
    }

    /// A bad signature (flipped bit, or a signature over another round, chain or block) is
    /// rejected.
    #[test]
    fn bad_signature_rejected((w, _m, seed, h, r) in arb_case(), which in 0usize..8, how in 0u8..4, bit in 0usize..512) {
        let f = fixture(&w, seed, h, r);
        let all: Vec<usize> = (0..w.len()).collect();
        let mut c = cert(&f, &all);
        let i = which % c.sigs.len();
        let k = f.keys.iter().find(|k| k.public() == c.sigs[i].voter).unwrap();
        c.sigs[i].signature = match how {
            0 => {
                let mut s = c.sigs[i].signature;
                s.0[bit / 8] ^= 1 << (bit % 8);
                s
            }
            1 => Vote::new_signed(chain(), h, r + 1, VoteKind::Precommit, Some(f.block), k).signature,
            2 => Vote::new_signed(Hash::default(), h, r, VoteKind::Precommit, Some(f.block), k).signature,
            _ => Vote::new_signed(chain(), h, r, VoteKind::Prevote, Some(f.block), k).signature,
        };
        prop_assert!(c.verify(&chain(), h, &f.block, &f.set).is_err());
    }

    /// A correct certificate does not verify for another block, height or chain.
    #[test]
    fn mismatch_rejected((w, _m, seed, h, r) in arb_case()) {
        let f = fixture(&w, seed, h, r);
        let all: Vec<usize> = (0..w.len()).collect();
        let c = cert(&f, &all);
        prop_assert!(c.verify(&chain(), h, &f.block, &f.set).is_ok());
        prop_assert!(c.verify(&chain(), h + 1, &f.block, &f.set).is_err());
        prop_assert!(c.verify(&chain(), h, &Hash::default(), &f.set).is_err());
        prop_assert!(c.verify(&Hash::default(), h, &f.block, &f.set).is_err());
    }
}
