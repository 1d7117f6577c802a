//! The one Ed25519 verification rule (SPEC section 4, "Keys"), for single signatures and batches.
//!
//! A signature `(R, s)` (the 64 bytes `R || s`) by the public key `A` over the message `M` is
//! valid exactly when:
//!
//! 1. `A` and `R` are canonical point encodings (the y coordinate is below p = 2^255 - 19, and
//!    the sign bit is clear when x = 0) and `s < l`, checked on the bytes before any curve
//!    arithmetic, so that no signature or txid can be re-encoded into another valid one;
//! 2. neither `A` nor `R` is of small order (`[8]P` is not the identity);
//! 3. the cofactored equation `[8][s]B = [8]R + [8][k]A` holds, with
//!    `k = SHA-512(R || A || M) mod l` (the equation of ZIP-215).
//!
//! A batch is checked with fresh random 128-bit coefficients `z_i` (from the OS CSPRNG) on the
//! cofactored combination `[8](-(Σ z_i s_i)B + Σ z_i R_i + Σ (z_i k_i) A_i) = identity`. The
//! cofactor removes every torsion component whatever the `z_i` are, so the combination holds
//! whenever every item is valid, and holds with an invalid item with probability at most
//! 2^-128: a batch gives each item the verdict of the single check, whatever else is in it.
//! Items failing (1) or (2) are refused before any curve equation; when the combination fails,
//! each remaining item is checked on its own to find the bad ones.

use super::keys::{PublicKey, Signature, SignatureError};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha512};

#[cfg(test)]
pub(crate) mod craft;
#[cfg(test)]
mod tests;

/// Bytes of a random batch coefficient: 128 bits, below l, so the coefficient needs no reduction.
const COEFFICIENT_BYTES: usize = 16;

/// Whether `bytes` is the one encoding of the point it names: the 255-bit y is below p, and the
/// sign bit is clear when x = 0 (y = 1 or y = p - 1), where both signs name the same point.
/// Bytes only, no field arithmetic; says nothing about whether a point with that y exists.
fn is_canonical_point_encoding(bytes: &[u8; 32]) -> bool {
    let sign = bytes[31] & 0x80 != 0;
    let mut y = *bytes;
    y[31] &= 0x7f;
    // p = 2^255 - 19 is, little-endian, 0xed, then thirty 0xff, then 0x7f.
    let high_bytes_as_p = y[1..31].iter().all(|b| *b == 0xff) && y[31] == 0x7f;
    let y_at_least_p = high_bytes_as_p && y[0] >= 0xed;
    let y_is_p_minus_one = high_bytes_as_p && y[0] == 0xec;
    let y_is_one = y[0] == 1 && y[1..].iter().all(|b| *b == 0);
    !y_at_least_p && !(sign && (y_is_one || y_is_p_minus_one))
}

/// The point `bytes` names, if there is one and it is not of small order (rule 2); rule (1),
/// canonicality, is the caller's check, made first.
fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*bytes)
        .decompress()
        .filter(|p| !p.is_small_order())
}

/// What rules (1) and (2) say of a public key, decided once.
#[derive(Clone, Copy, Debug)]
enum KeyPoint {
    /// The bytes are not the canonical encoding of any point (rule 1).
    NotCanonical,
    /// Canonical, but no point has this encoding or the point is of small order (rule 2).
    Unusable,
    /// The key's point, usable in the equation.
    Usable(EdwardsPoint),
}

/// A public key with rules (1) and (2) applied once (and its point decompressed): verifying
/// many signatures by one key, such as a validator's votes, decompresses the key once. Every
/// verification through it gives the verdict [`PublicKey::verify`] gives.
#[derive(Clone, Copy, Debug)]
pub struct VerifyingKey {
    key: PublicKey,
    point: KeyPoint,
}

impl VerifyingKey {
    /// Decodes `key` (bytes first, then decompression, as [`PublicKey::verify`] does).
    pub fn new(key: &PublicKey) -> VerifyingKey {
        let point = if !is_canonical_point_encoding(&key.0) {
            KeyPoint::NotCanonical
        } else {
            decode_point(&key.0).map_or(KeyPoint::Unusable, KeyPoint::Usable)
        };
        VerifyingKey { key: *key, point }
    }

    /// The key as encoded.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// Whether the key passes rules (1) and (2): a canonical encoding of a point that is not
    /// of small order.
    pub fn is_usable(&self) -> bool {
        matches!(self.point, KeyPoint::Usable(_))
    }

    /// Verifies `sig` over `msg` by this key: the verdict of [`PublicKey::verify`].
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        verdict(Decoded::with_key(msg, sig, self))
    }
}

/// `k = SHA-512(R || A || M) mod l`.
fn challenge(r: &[u8; 32], key: &[u8; 32], msg: &[u8]) -> Scalar {
    let digest = Sha512::new()
        .chain_update(r)
        .chain_update(key)
        .chain_update(msg)
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&digest);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// A signature that passed rules (1) and (2), decoded: what the curve equation needs.
struct Decoded {
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

impl Decoded {
    /// Applies rules (1) and (2): every byte-wise check first, then decompression.
    fn new(msg: &[u8], sig: &Signature, key: &PublicKey) -> Result<Decoded, SignatureError> {
        Decoded::with_key(msg, sig, &VerifyingKey::new(key))
    }

    /// [`Decoded::new`] with the key's rules already applied: the checks run in the same order
    /// and give the same error, the key's decompression is the one `key` made.
    fn with_key(
        msg: &[u8],
        sig: &Signature,
        key: &VerifyingKey,
    ) -> Result<Decoded, SignatureError> {
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&sig.0[..32]);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&sig.0[32..]);
        if matches!(key.point, KeyPoint::NotCanonical) {
            return Err(SignatureError::BadPublicKey);
        }
        if !is_canonical_point_encoding(&r_bytes) {
            return Err(SignatureError::Malformed);
        }
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
            .ok_or(SignatureError::Malformed)?;
        let KeyPoint::Usable(a) = key.point else {
            return Err(SignatureError::BadPublicKey);
        };
        let r = decode_point(&r_bytes).ok_or(SignatureError::Malformed)?;
        Ok(Decoded {
            a,
            r,
            s,
            k: challenge(&r_bytes, &key.key.0, msg),
        })
    }

    /// Rule (3): `[8]([s]B - [k]A - R)` is the identity.
    fn equation_holds(&self) -> bool {
        let sb_minus_ka =
            EdwardsPoint::vartime_double_scalar_mul_basepoint(&-self.k, &self.a, &self.s);
        (sb_minus_ka - self.r).mul_by_cofactor().is_identity()
    }
}

/// Verifies one signature under the rule of this module.
pub(crate) fn verify(msg: &[u8], sig: &Signature, key: &PublicKey) -> Result<(), SignatureError> {
    verdict(Decoded::new(msg, sig, key))
}

/// The single verdict on a signature that passed, or failed, rules (1) and (2).
fn verdict(decoded: Result<Decoded, SignatureError>) -> Result<(), SignatureError> {
    if decoded?.equation_holds() {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// Whether the cofactored random linear combination of the items' equations holds; false (so
/// that the caller checks items singly) if the OS gives no randomness.
fn combination_holds(items: &[Decoded]) -> bool {
    let mut random = vec![0u8; COEFFICIENT_BYTES * items.len()];
    if OsRng.try_fill_bytes(&mut random).is_err() {
        return false;
    }
    let z: Vec<Scalar> = random
        .chunks_exact(COEFFICIENT_BYTES)
        .map(|c| {
            let mut bytes = [0u8; 32];
            bytes[..COEFFICIENT_BYTES].copy_from_slice(c);
            Scalar::from_bytes_mod_order(bytes)
        })
        .collect();
    let b_coefficient: Scalar = -z.iter().zip(items).map(|(z, d)| z * d.s).sum::<Scalar>();
    let mut scalars = Vec::with_capacity(1 + 2 * items.len());
    let mut points = Vec::with_capacity(1 + 2 * items.len());
    scalars.push(b_coefficient);
    points.push(ED25519_BASEPOINT_POINT);
    for (z, d) in z.iter().zip(items) {
        scalars.push(*z);
        points.push(d.r);
        scalars.push(z * d.k);
        points.push(d.a);
    }
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}

/// Verifies many (message, signature, key) triples; returns one verdict per item, the verdict
/// [`PublicKey::verify`] gives that item, whatever else is in the batch.
pub fn verify_batch(items: &[(&[u8], &Signature, &PublicKey)]) -> Vec<bool> {
    batch_verdicts(
        items
            .iter()
            .map(|(msg, sig, key)| Decoded::new(msg, sig, key)),
    )
}

/// [`verify_batch`] for keys decoded beforehand: the same verdict for every item.
pub fn verify_batch_with_keys(items: &[(&[u8], &Signature, &VerifyingKey)]) -> Vec<bool> {
    batch_verdicts(
        items
            .iter()
            .map(|(msg, sig, key)| Decoded::with_key(msg, sig, key)),
    )
}

/// One verdict per item: the combination of every item that passed rules (1) and (2), and,
/// when it fails (or fewer than two passed), each such item's own equation.
fn batch_verdicts(items: impl Iterator<Item = Result<Decoded, SignatureError>>) -> Vec<bool> {
    let n = items.size_hint().0;
    let mut verdicts = Vec::with_capacity(n);
    let mut index = Vec::with_capacity(n);
    let mut decoded = Vec::with_capacity(n);
    for (i, d) in items.enumerate() {
        verdicts.push(false);
        if let Ok(d) = d {
            index.push(i);
            decoded.push(d);
        }
    }
    if decoded.len() >= 2 && combination_holds(&decoded) {
        for i in index {
            verdicts[i] = true;
        }
    } else {
        for (i, d) in index.into_iter().zip(&decoded) {
            verdicts[i] = d.equation_holds();
        }
    }
    verdicts
}
