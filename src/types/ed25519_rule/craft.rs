//! Test support: signatures and keys an attacker can craft (torsion components in R or A,
//! small-order points, non-canonical encodings), built with curve arithmetic of their own, not
//! with the verifier's code, so that tests check the verifier against an independent signer.

use crate::types::keys::{PublicKey, SecretKey, Signature};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, IsIdentity};
use sha2::{Digest, Sha512};

/// The order (1, 2, 4 or 8) of a torsion point, 0 for a point that is not of small order.
pub(crate) fn small_order(p: &EdwardsPoint) -> u8 {
    let mut q = *p;
    for order in [1, 2, 4, 8] {
        if q.is_identity() {
            return order;
        }
        q = q + q;
    }
    0
}

/// A torsion point of exactly `order` (1, 2, 4 or 8).
#[allow(clippy::unwrap_used)]
pub(crate) fn torsion_point(order: u8) -> EdwardsPoint {
    *EIGHT_TORSION
        .iter()
        .find(|t| small_order(t) == order)
        .unwrap()
}

/// The clamped secret scalar a of `key` (A = [a]B).
pub(crate) fn secret_scalar(key: &SecretKey) -> Scalar {
    ed25519_dalek::SigningKey::from_bytes(&key.seed()).to_scalar()
}

/// The signature (`r_bytes`, s) with s = `r_log` + SHA-512(`r_bytes` || key || msg) `a`: it
/// satisfies the cofactored equation when `r_bytes` names [`r_log`]B plus a torsion point and
/// `key` names [a]B plus a torsion point. `r_bytes` may be any encoding, canonical or not.
pub(crate) fn sign_with_r_bytes(
    a: &Scalar,
    key: &PublicKey,
    r_bytes: &[u8; 32],
    r_log: &Scalar,
    msg: &[u8],
) -> Signature {
    let digest = Sha512::new()
        .chain_update(r_bytes)
        .chain_update(key.0)
        .chain_update(msg)
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&digest);
    let k = Scalar::from_bytes_mod_order_wide(&wide);
    let s = r_log + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    Signature(sig)
}

/// An RFC 8032-shaped signature by secret scalar `a` for the key bytes `key` (which may name
/// [a]B plus a torsion point), with R = [nonce]B + `r_torsion`, canonically encoded.
pub(crate) fn sign_raw(
    a: &Scalar,
    key: &PublicKey,
    nonce: &Scalar,
    r_torsion: &EdwardsPoint,
    msg: &[u8],
) -> Signature {
    let r = (EdwardsPoint::mul_base(nonce) + r_torsion)
        .compress()
        .to_bytes();
    sign_with_r_bytes(a, key, &r, nonce, msg)
}

/// A nonce derived from `seed` (tests want reproducible signatures).
pub(crate) fn nonce(seed: u64) -> Scalar {
    let digest = Sha512::new()
        .chain_update(b"craft nonce")
        .chain_update(seed.to_le_bytes())
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&digest);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// A signature by `key` over `msg` whose R carries the torsion point `torsion` (its s is
/// computed for that R, so it satisfies the cofactored equation but not the cofactorless one).
pub(crate) fn sign_with_torsion_r(
    key: &SecretKey,
    msg: &[u8],
    torsion: &EdwardsPoint,
    seed: u64,
) -> Signature {
    sign_raw(
        &secret_scalar(key),
        &key.public(),
        &nonce(seed),
        torsion,
        msg,
    )
}

/// A key pair whose public key is [a]B + `torsion` (a mixed-order point when the torsion is
/// not the identity), with a signature over `msg` that satisfies the cofactored equation.
pub(crate) fn sign_with_torsion_key(
    seed: u64,
    torsion: &EdwardsPoint,
    msg: &[u8],
) -> (PublicKey, Signature) {
    let a = nonce(seed.wrapping_add(1 << 63));
    let key = PublicKey((EdwardsPoint::mul_base(&a) + torsion).compress().to_bytes());
    let sig = sign_raw(&a, &key, &nonce(seed), &EdwardsPoint::identity(), msg);
    (key, sig)
}

/// Whether `bytes` decodes to a point whose canonical encoding is `bytes` (an oracle computed by
/// decompressing and compressing again, independent of the verifier's byte checks).
pub(crate) fn decodes_canonically(bytes: &[u8; 32]) -> bool {
    CompressedEdwardsY(*bytes)
        .decompress()
        .is_some_and(|p| p.compress().to_bytes() == *bytes)
}

/// Every 32-byte string that decodes to a point but is not that point's canonical encoding:
/// y + p for the y < 19 that are on the curve (with either sign), and x = 0 with the sign bit
/// set. 26 encodings; 6 of them name small-order points.
pub(crate) fn non_canonical_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    // y = 1 and y = p - 1 (the points with x = 0) with the sign bit set.
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    for mut b in [one, minus_one] {
        b[31] |= 0x80;
        out.push(b);
    }
    // y + p for y in 0..19: p = 0xed ff .. ff 7f.
    for y in 0..19u8 {
        let mut b = [0xffu8; 32];
        b[0] = 0xed + y;
        b[31] = 0x7f;
        for sign in [0, 0x80] {
            let mut e = b;
            e[31] |= sign;
            if CompressedEdwardsY(e).decompress().is_some() && !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

/// Every 32-byte string that decodes to a point of small order, canonical or not.
pub(crate) fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|t| t.compress().to_bytes())
        .collect();
    for e in non_canonical_encodings() {
        if CompressedEdwardsY(e)
            .decompress()
            .is_some_and(|p| p.is_small_order())
        {
            out.push(e);
        }
    }
    out
}
