//! Weighted proposer selection.
//!
//! The proposer of (height, round) is drawn from the validator set with probability
//! proportional to voting weight, using a fixed mixing function of (height, round) as the
//! "random" source: every node computes the same answer, no state is carried between heights,
//! and consecutive rounds draw independently (so a silent heavy proposer is not retried for
//! `weight` rounds in a row, as a plain `(height + round) mod total` walk would do).

use crate::types::{PublicKey, ValidatorSet};

/// SplitMix64 finalizer: a bijective mixer with good avalanche.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The proposer of `round` at `height`: deterministic, chosen with probability proportional to
/// weight, never a zero-weight key (the set holds none). An empty set yields the all-zero key,
/// which matches no signer, so every proposal is dropped.
pub fn proposer(set: &ValidatorSet, height: u64, round: u32) -> PublicKey {
    let total = set.total_weight();
    if total == 0 || set.is_empty() {
        return PublicKey::default();
    }
    let x = mix(mix(height) ^ u64::from(round).wrapping_mul(0xD1B5_4A32_D192_ED03));
    // Multiply-high maps x uniformly onto [0, total) without modulo bias worth mentioning.
    let slot = ((u128::from(x) * u128::from(total)) >> 64) as u64;
    let mut acc: u64 = 0;
    for v in set.validators() {
        acc = acc.saturating_add(v.weight);
        if slot < acc {
            return v.key;
        }
    }
    // Unreachable when weights sum to `total`; fall back to the heaviest member.
    set.validators()
        .iter()
        .max_by_key(|v| v.weight)
        .map(|v| v.key)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{SecretKey, Validator};
    use std::collections::HashMap;

    fn set(weights: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            weights
                .iter()
                .enumerate()
                .map(|(i, w)| Validator {
                    key: SecretKey::from_seed(&[i as u8 + 1; 32]).public(),
                    weight: *w,
                })
                .collect(),
        )
    }

    #[test]
    fn proportional_to_weight_over_many_heights() {
        let s = set(&[1, 10, 100, 1, 10, 0]);
        let mut counts: HashMap<PublicKey, u64> = HashMap::new();
        let n = 200_000u64;
        for h in 0..n {
            *counts.entry(proposer(&s, h, 0)).or_default() += 1;
        }
        assert_eq!(counts.len(), 5, "zero-weight member never proposes");
        for v in s.validators() {
            let expected = n as f64 * v.weight as f64 / s.total_weight() as f64;
            let got = counts[&v.key] as f64;
            assert!(
                (got - expected).abs() < 0.1 * expected + 200.0,
                "weight {} expected {expected} got {got}",
                v.weight
            );
        }
    }

    #[test]
    fn rounds_also_rotate_proportionally() {
        let s = set(&[1, 1, 1, 1]);
        let mut counts: HashMap<PublicKey, u64> = HashMap::new();
        for r in 0..40_000u32 {
            *counts.entry(proposer(&s, 7, r)).or_default() += 1;
        }
        assert_eq!(counts.len(), 4);
        assert!(counts.values().all(|c| (9_000..11_000).contains(c)));
    }

    #[test]
    fn deterministic_and_member() {
        let s = set(&[5, 3, 2]);
        for h in 0..100 {
            for r in 0..5 {
                let p = proposer(&s, h, r);
                assert_eq!(p, proposer(&s.clone(), h, r));
                assert!(s.weight_of(&p).is_some());
            }
        }
        assert_eq!(
            proposer(&ValidatorSet::default(), 1, 0),
            PublicKey::default()
        );
    }
}
