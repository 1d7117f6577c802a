//! Weighted proposer selection.
//!
//! For each height the validators are put in a deterministic weighted random order (weighted
//! sampling without replacement, driven by a fixed integer mixing function of the height: no
//! floats, so every platform computes the same order), and round `r` is proposed by entry
//! `r mod n` of that order (each further pass over the set uses a fresh order). Hence:
//! - round 0's proposer is drawn with probability proportional to weight, so over many heights
//!   each validator proposes in proportion to its weight;
//! - within `n` consecutive rounds of a height every validator proposes exactly once, so a
//!   silent or crashed proposer costs one round, not `weight` rounds in a row as a plain
//!   `(height + round) mod total` walk would;
//! - no state is carried between heights and zero-weight keys never propose (the set holds
//!   none).

use crate::types::{PublicKey, ValidatorSet};

/// SplitMix64 finalizer: a bijective mixer with good avalanche.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The proposer of `round` at `height` (see the module docs). An empty set yields the all-zero
/// key, which matches no signer, so every proposal is dropped. Cost O(n * min(round, n)).
pub fn proposer(set: &ValidatorSet, height: u64, round: u32) -> PublicKey {
    let n = set.len();
    let total = set.total_weight();
    if n == 0 || total == 0 {
        return PublicKey::default();
    }
    let round = round as usize;
    let pass = (round / n) as u64;
    let pos = round % n;
    let seed = mix(mix(height) ^ pass.wrapping_mul(0xA24B_AED4_963E_E407));
    let mut remaining: Vec<(PublicKey, u64)> =
        set.validators().iter().map(|v| (v.key, v.weight)).collect();
    let mut left = total;
    for step in 0..=pos {
        let x = mix(seed ^ (step as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        // Multiply-high maps x uniformly onto [0, left).
        let slot = ((u128::from(x) * u128::from(left)) >> 64) as u64;
        let mut acc: u64 = 0;
        let mut chosen = remaining.len().saturating_sub(1);
        for (i, (_, w)) in remaining.iter().enumerate() {
            acc = acc.saturating_add(*w);
            if slot < acc {
                chosen = i;
                break;
            }
        }
        if step == pos || remaining.len() == 1 {
            return remaining.get(chosen).map(|(k, _)| *k).unwrap_or_default();
        }
        let (_, w) = remaining.remove(chosen);
        left = left.saturating_sub(w);
    }
    PublicKey::default()
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
    fn every_validator_proposes_once_in_n_rounds() {
        let s = set(&[1, 10, 100, 1, 10, 100, 1]);
        let n = s.len();
        for h in 0..300u64 {
            for pass in 0..3u32 {
                let mut seen: Vec<PublicKey> = (0..n as u32)
                    .map(|r| proposer(&s, h, pass * n as u32 + r))
                    .collect();
                seen.sort();
                seen.dedup();
                assert_eq!(seen.len(), n, "height {h} pass {pass}");
            }
        }
        // Large rounds stay cheap and valid.
        assert!(s.weight_of(&proposer(&s, 1, u32::MAX)).is_some());
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
