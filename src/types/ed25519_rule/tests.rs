//! The rule as callers see it (`PublicKey::verify`, `verify_batch`): every item gets one verdict,
//! singly and in every batch composition, for signatures with torsion in R or in the key,
//! small-order points, non-canonical encodings and s >= l; the ZIP-215 vectors; random mixed
//! batches. Crafted signatures come from `craft`, not from the verifier's code.

use super::craft::{
    decodes_canonically, non_canonical_encodings, secret_scalar, sign_raw, sign_with_r_bytes,
    sign_with_torsion_key, sign_with_torsion_r, small_order, small_order_encodings, torsion_point,
};
use crate::types::keys::{
    verify_batch, verify_batch_with_keys, PublicKey, SecretKey, Signature, SignatureError,
    VerifyingKey,
};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One (message, signature, key) item.
#[derive(Clone, Debug)]
struct Item {
    msg: Vec<u8>,
    sig: Signature,
    key: PublicKey,
}

impl Item {
    /// The single verdict; asserts that a key decoded beforehand ([`VerifyingKey`]) gives the
    /// same one, error included.
    fn single(&self) -> Result<(), SignatureError> {
        let verdict = self.key.verify(&self.msg, &self.sig);
        let decoded = VerifyingKey::new(&self.key);
        assert_eq!(decoded.verify(&self.msg, &self.sig), verdict, "{self:?}");
        assert_eq!(decoded.is_usable(), self.key.is_valid(), "{self:?}");
        verdict
    }
}

/// The verdicts `verify_batch` gives `items`; asserts that `verify_batch_with_keys` gives the
/// same ones.
fn batch(items: &[Item]) -> Vec<bool> {
    let refs: Vec<(&[u8], &Signature, &PublicKey)> = items
        .iter()
        .map(|i| (i.msg.as_slice(), &i.sig, &i.key))
        .collect();
    let verdicts = verify_batch(&refs);
    let keys: Vec<VerifyingKey> = items.iter().map(|i| VerifyingKey::new(&i.key)).collect();
    let decoded: Vec<(&[u8], &Signature, &VerifyingKey)> = items
        .iter()
        .zip(&keys)
        .map(|(i, k)| (i.msg.as_slice(), &i.sig, k))
        .collect();
    assert_eq!(verify_batch_with_keys(&decoded), verdicts, "{items:?}");
    verdicts
}

/// A valid signature by a fresh key (plain ed25519-dalek signing).
fn honest(seed: u64) -> Item {
    let mut key_seed = [0u8; 32];
    key_seed[..8].copy_from_slice(&seed.to_le_bytes());
    key_seed[8] = 0x5e;
    let key = SecretKey::from_seed(&key_seed);
    let msg = format!("honest {seed}").into_bytes();
    Item {
        sig: key.sign(&msg),
        key: key.public(),
        msg,
    }
}

const BATCH_SIZES: [usize; 4] = [2, 3, 8, 64];

/// Puts `subject` into batches of every size in [`BATCH_SIZES`], `rounds` times each, at a
/// random position among fresh honest items, and asserts that every batch gives it its single
/// verdict (and accepts every honest item), then that this verdict is `expected`.
fn assert_one_verdict(subject: &Item, expected: bool, rounds: usize, rng: &mut ChaCha8Rng) {
    let single = subject.single().is_ok();
    for size in BATCH_SIZES {
        for round in 0..rounds {
            let mut items: Vec<Item> = (1..size).map(|_| honest(rng.gen())).collect();
            let at = rng.gen_range(0..size);
            items.insert(at, subject.clone());
            let verdicts = batch(&items);
            for (i, ok) in verdicts.iter().enumerate() {
                let want = if i == at { single } else { true };
                assert_eq!(
                    *ok, want,
                    "batch of {size}, round {round}, item {i}, subject at {at}: {subject:?}"
                );
            }
        }
    }
    assert_eq!(single, expected, "single verdict of {subject:?}");
}

/// l, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `s + l` as 256-bit little-endian integers (s < l, so no overflow).
fn plus_l(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[test]
fn torsion_points_have_the_orders_the_tests_assume() {
    for order in [1, 2, 4, 8] {
        assert_eq!(small_order(&torsion_point(order)), order);
    }
    let encodings = non_canonical_encodings();
    assert_eq!(encodings.len(), 26);
    assert!(encodings.iter().all(|e| !decodes_canonically(e)));
    let small = small_order_encodings();
    assert_eq!(small.len(), 14);
    assert_eq!(small.iter().filter(|e| decodes_canonically(e)).count(), 8);
    assert_eq!(Scalar::from_bytes_mod_order(L), Scalar::ZERO);
}

/// The attack of issue 12: R = [r]B + T with T of order 2, 4 or 8, and s computed for that R.
/// Its encoding is canonical and R is not of small order, so the cofactored equation accepts
/// it: singly and in every batch, whatever the other items.
#[test]
fn torsion_in_r_gets_the_single_verdict_in_every_batch() {
    let mut rng = rng(1);
    let key = SecretKey::from_seed(&[0x11; 32]);
    for order in [2, 4, 8] {
        let msg = format!("torsion in R of order {order}").into_bytes();
        let sig = sign_with_torsion_r(&key, &msg, &torsion_point(order), u64::from(order));
        let mut r = [0u8; 32];
        r.copy_from_slice(&sig.0[..32]);
        assert!(decodes_canonically(&r));
        let point = CompressedEdwardsY(r).decompress().unwrap();
        assert!(
            !point.is_small_order() && !point.is_torsion_free(),
            "mixed order"
        );
        let subject = Item {
            msg,
            sig,
            key: key.public(),
        };
        assert_one_verdict(&subject, true, 25, &mut rng);
    }
}

/// A public key [a]B + T (mixed order, canonically encoded) with a signature made with a: the
/// cofactored equation accepts it, singly and in every batch.
#[test]
fn torsion_in_the_public_key_gets_the_single_verdict_in_every_batch() {
    let mut rng = rng(2);
    for order in [2, 4, 8] {
        for seed in 0..4u64 {
            let msg = format!("torsion in A of order {order}, {seed}").into_bytes();
            let (key, sig) = sign_with_torsion_key(seed, &torsion_point(order), &msg);
            assert!(key.is_valid());
            let point = CompressedEdwardsY(key.0).decompress().unwrap();
            assert!(!point.is_torsion_free(), "mixed order");
            assert_one_verdict(&Item { msg, sig, key }, true, 6, &mut rng);
        }
    }
}

/// Under the cofactored rule a third party cannot re-publish someone's signature (R, s) as
/// (R + T, s): k changes with R, so the equation fails (the signer alone can make torsion
/// variants, as it can make any number of other signatures).
#[test]
fn someone_elses_signature_with_r_shifted_by_torsion_is_refused() {
    let mut rng = rng(3);
    let good = honest(77);
    for order in [2, 4, 8] {
        let mut r = [0u8; 32];
        r.copy_from_slice(&good.sig.0[..32]);
        let shifted = CompressedEdwardsY(r).decompress().unwrap() + torsion_point(order);
        let mut sig = good.sig;
        sig.0[..32].copy_from_slice(&shifted.compress().to_bytes());
        let subject = Item {
            sig,
            ..good.clone()
        };
        assert_eq!(subject.single(), Err(SignatureError::Invalid));
        assert_one_verdict(&subject, false, 4, &mut rng);
    }
}

/// Asserts that the encoding `e` is refused as the R of a signature with s = k a (`Malformed`),
/// and as a public key signed by the secret scalar 0 with R = [n]B, s = n (`BadPublicKey`),
/// singly and in `rounds` rounds of every batch size.
fn assert_refused_as_r_and_as_key(
    e: [u8; 32],
    n: u8,
    msg: &[u8],
    rounds: usize,
    rng: &mut ChaCha8Rng,
) {
    let signer = SecretKey::from_seed(&[0x22; 32]);
    let as_r = Item {
        sig: sign_with_r_bytes(
            &secret_scalar(&signer),
            &signer.public(),
            &e,
            &Scalar::ZERO,
            msg,
        ),
        key: signer.public(),
        msg: msg.to_vec(),
    };
    assert_eq!(as_r.single(), Err(SignatureError::Malformed), "R {e:02x?}");
    assert_one_verdict(&as_r, false, rounds, rng);

    let key = PublicKey(e);
    assert!(!key.is_valid(), "A {e:02x?}");
    let n = Scalar::from(n);
    let as_key = Item {
        sig: sign_raw(&Scalar::ZERO, &key, &n, &EdwardsPoint::default(), msg),
        key,
        msg: msg.to_vec(),
    };
    assert_eq!(
        as_key.single(),
        Err(SignatureError::BadPublicKey),
        "A {e:02x?}"
    );
    assert_one_verdict(&as_key, false, rounds, rng);
}

/// A small-order R with s = k a, and a small-order A with R = [n]B, s = n: the cofactored
/// equation holds for both, so only rule (2) refuses them. Every small-order encoding, canonical
/// or not, singly and in every batch.
#[test]
fn small_order_r_and_public_keys_are_refused_everywhere() {
    let mut rng = rng(4);
    for e in small_order_encodings() {
        assert_refused_as_r_and_as_key(e, 5, b"small order", 2, &mut rng);
    }
}

/// Non-canonical encodings of A and R (y >= p, and x = 0 with the sign bit set), an R that is
/// not on the curve, and s >= l: refused singly and in every batch.
#[test]
fn non_canonical_encodings_and_s_not_below_l_are_refused_everywhere() {
    let mut rng = rng(5);
    for e in non_canonical_encodings() {
        assert_refused_as_r_and_as_key(e, 1, b"non-canonical", 1, &mut rng);
    }

    let good = honest(5);
    let mut off_curve = good.clone();
    off_curve.sig.0[..32].copy_from_slice(&[2u8; 32]);
    assert!(CompressedEdwardsY([2u8; 32]).decompress().is_none());
    assert_eq!(off_curve.single(), Err(SignatureError::Malformed));
    assert_one_verdict(&off_curve, false, 2, &mut rng);

    for s in [plus_l(&good.sig.0[32..]), L, [0xff; 32]] {
        let mut big_s = good.clone();
        big_s.sig.0[32..].copy_from_slice(&s);
        assert_eq!(big_s.single(), Err(SignatureError::Malformed));
        assert_one_verdict(&big_s, false, 2, &mut rng);
    }
    // s + l names the same scalar as s: the signature it came from is valid.
    assert!(good.single().is_ok());
}

/// The 196 ZIP-215 cases (small-order A and R, some non-canonically encoded, s = 0; all valid
/// under ZIP-215): each gets the verdict "ZIP-215-valid and canonical and not of small order",
/// singly, in batches of every size with honest items, and all together in one batch.
#[test]
fn zip215_vectors_get_the_zip215_verdict_restricted_to_canonical_large_order_points() {
    let mut rng = rng(6);
    let cases: Vec<Item> = include_str!("zip215_vectors.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (vk, sig) = l.split_once(' ').unwrap();
            Item {
                msg: b"Zcash".to_vec(),
                sig: Signature(hex::decode(sig).unwrap().try_into().unwrap()),
                key: PublicKey(hex::decode(vk).unwrap().try_into().unwrap()),
            }
        })
        .collect();
    assert_eq!(cases.len(), 196);
    let valid_zip215 = true;
    for case in &cases {
        let r: [u8; 32] = case.sig.0[..32].try_into().unwrap();
        let large_order = |b: &[u8; 32]| {
            CompressedEdwardsY(*b)
                .decompress()
                .is_some_and(|p| small_order(&p) == 0)
        };
        let expected = valid_zip215
            && decodes_canonically(&case.key.0)
            && decodes_canonically(&r)
            && large_order(&case.key.0)
            && large_order(&r);
        assert_one_verdict(case, expected, 1, &mut rng);
    }
    let mut all: Vec<Item> = cases.clone();
    all.extend((0..64).map(|_| honest(rng.gen())));
    all.shuffle(&mut rng);
    for (item, ok) in all.iter().zip(batch(&all)) {
        assert_eq!(ok, item.single().is_ok());
    }
}

/// What a random batch item is.
#[derive(Clone, Debug)]
enum Kind {
    Honest,
    /// An honest signature over another message.
    Tampered,
    TorsionR(u8),
    TorsionKey(u8),
    SmallOrderR(usize),
    SmallOrderKey(usize),
    NonCanonicalR(usize),
    NonCanonicalKey(usize),
    SPlusL,
}

impl Kind {
    fn accepted(&self) -> bool {
        matches!(self, Kind::Honest | Kind::TorsionR(_) | Kind::TorsionKey(_))
    }

    fn item(&self, seed: u64) -> Item {
        let order = |o: &u8| torsion_point(1 << (o % 3 + 1));
        let signer = SecretKey::from_seed(&[(seed % 251) as u8 + 1; 32]);
        let msg = seed.to_le_bytes().to_vec();
        let with_r = |r: &[u8; 32]| Item {
            sig: sign_with_r_bytes(
                &secret_scalar(&signer),
                &signer.public(),
                r,
                &Scalar::ZERO,
                &msg,
            ),
            key: signer.public(),
            msg: msg.clone(),
        };
        let with_key = |key: [u8; 32]| {
            let key = PublicKey(key);
            Item {
                sig: sign_raw(
                    &Scalar::ZERO,
                    &key,
                    &Scalar::ONE,
                    &EdwardsPoint::default(),
                    &msg,
                ),
                key,
                msg: msg.clone(),
            }
        };
        match self {
            Kind::Honest => honest(seed),
            Kind::Tampered => Item {
                msg: b"another message".to_vec(),
                ..honest(seed)
            },
            Kind::TorsionR(o) => Item {
                sig: sign_with_torsion_r(&signer, &msg, &order(o), seed),
                key: signer.public(),
                msg: msg.clone(),
            },
            Kind::TorsionKey(o) => {
                let (key, sig) = sign_with_torsion_key(seed, &order(o), &msg);
                Item { msg, sig, key }
            }
            Kind::SmallOrderR(i) => with_r(&small_order_encodings()[i % 14]),
            Kind::SmallOrderKey(i) => with_key(small_order_encodings()[i % 14]),
            Kind::NonCanonicalR(i) => with_r(&non_canonical_encodings()[i % 26]),
            Kind::NonCanonicalKey(i) => with_key(non_canonical_encodings()[i % 26]),
            Kind::SPlusL => {
                let mut item = honest(seed);
                let s = plus_l(&item.sig.0[32..]);
                item.sig.0[32..].copy_from_slice(&s);
                item
            }
        }
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => Just(Kind::Honest),
        1 => Just(Kind::Tampered),
        2 => any::<u8>().prop_map(Kind::TorsionR),
        2 => any::<u8>().prop_map(Kind::TorsionKey),
        1 => any::<usize>().prop_map(Kind::SmallOrderR),
        1 => any::<usize>().prop_map(Kind::SmallOrderKey),
        1 => any::<usize>().prop_map(Kind::NonCanonicalR),
        1 => any::<usize>().prop_map(Kind::NonCanonicalKey),
        1 => Just(Kind::SPlusL),
    ]
}

/// The cofactored combination itself accepts batches with torsion in R and in A, every time:
/// such batches never need the fallback to single checks (a cofactorless combination would
/// fail about half of them, and the fallback would hide that behind the right verdicts).
#[test]
fn combination_accepts_valid_batches_with_torsion_without_falling_back() {
    let mut rng = rng(7);
    let key = SecretKey::from_seed(&[0x44; 32]);
    for round in 0..32u64 {
        let mut items: Vec<Item> = (0..6).map(|_| honest(rng.gen())).collect();
        for order in [2, 4, 8] {
            let msg = format!("round {round} order {order}").into_bytes();
            let sig = sign_with_torsion_r(&key, &msg, &torsion_point(order), round);
            items.push(Item {
                msg: msg.clone(),
                sig,
                key: key.public(),
            });
            let (tkey, tsig) = sign_with_torsion_key(round, &torsion_point(order), &msg);
            items.push(Item {
                msg,
                sig: tsig,
                key: tkey,
            });
        }
        let decoded: Vec<super::Decoded> = items
            .iter()
            .map(|i| super::Decoded::new(&i.msg, &i.sig, &i.key).unwrap())
            .collect();
        assert!(super::combination_holds(&decoded), "round {round}");
    }
}

/// The byte-wise canonicality check agrees with decompressing and compressing again, on every
/// non-canonical encoding there is and on the canonical small-order ones.
#[test]
fn byte_check_of_canonical_encodings_agrees_with_decompress_and_compress() {
    let listed = non_canonical_encodings()
        .into_iter()
        .chain(small_order_encodings());
    for e in listed {
        assert_eq!(
            super::is_canonical_point_encoding(&e),
            decodes_canonically(&e),
            "{e:02x?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// On random bytes that name a point, the byte-wise canonicality check agrees with
    /// decompressing and compressing again.
    #[test]
    fn byte_check_agrees_with_decompress_and_compress_on_random_points(bytes in any::<[u8; 32]>()) {
        if CompressedEdwardsY(bytes).decompress().is_some() {
            prop_assert_eq!(super::is_canonical_point_encoding(&bytes), decodes_canonically(&bytes));
        }
    }

    /// Random batches mixing honest, tampered, torsion-shifted, small-order and non-canonical
    /// items: every item's batch verdict is its single verdict, and the rule's verdict.
    #[test]
    fn random_mixed_batches_give_every_item_its_single_verdict(
        kinds in prop::collection::vec((kind(), any::<u64>()), 1..48),
    ) {
        let items: Vec<Item> = kinds.iter().map(|(k, seed)| k.item(*seed)).collect();
        let verdicts = batch(&items);
        for (((k, _), item), ok) in kinds.iter().zip(&items).zip(verdicts) {
            prop_assert_eq!(ok, item.single().is_ok(), "{:?}", k);
            prop_assert_eq!(ok, k.accepted(), "{:?}", k);
        }
    }
}
