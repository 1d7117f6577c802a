//! Ed25519 keys and signatures.
//!
//! Verification rule (one rule everywhere): RFC 8032 verification with `verify_strict` semantics:
//! the public key A and the signature's R must be canonical encodings of points that are not of
//! small order, s must be canonical, and the cofactorless equation `[s]B = R + [k]A` must hold.
//! Batch verification first applies the same encoding and small-order checks to every item and
//! then checks the random linear combination of the cofactorless equations, so a batch accepts
//! exactly what single verification accepts (except with negligible probability); when a batch
//! fails, every item is verified singly to find the bad ones.

use super::encoding::{Decode, DecodeError, Encode, Reader};
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::OsRng;
use std::fmt;
use std::sync::OnceLock;
use thiserror::Error;

/// An Ed25519 public key (32 bytes, as encoded).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PublicKey(pub [u8; 32]);

/// An Ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

/// An Ed25519 secret key; zeroized on drop and redacted in Debug output.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

/// Why a signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The public key is not a canonical point or is of small order.
    #[error("invalid public key")]
    BadPublicKey,
    /// The signature's R or s is malformed or R is of small order.
    #[error("malformed signature")]
    Malformed,
    /// The equation does not hold.
    #[error("signature does not verify")]
    Invalid,
}

impl Default for Signature {
    fn default() -> Self {
        Signature([0u8; 64])
    }
}

/// Whether the 255-bit y coordinate is reduced (y < p = 2^255 - 19). The only other
/// non-canonical encodings (x = 0 with the sign bit set) are of small-order points, which the
/// small-order checks reject anyway. Cheap: no field arithmetic.
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let top = bytes[31] & 0x7f;
    !(top == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed)
}

/// Every encoding with a canonical y that decodes to a point of small order: the eight
/// torsion points, plus the two with x = 0 (the identity and (0, -1)) written with the sign bit
/// set, which decoders accept too.
fn small_order_encodings() -> &'static [[u8; 32]] {
    static SET: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = Vec::new();
        for p in curve25519_dalek::constants::EIGHT_TORSION {
            let canonical = p.compress().to_bytes();
            let mut flipped = canonical;
            flipped[31] ^= 0x80;
            for bytes in [canonical, flipped] {
                let small = CompressedEdwardsY(bytes)
                    .decompress()
                    .is_some_and(|q| q.is_small_order());
                if small && !set.contains(&bytes) {
                    set.push(bytes);
                }
            }
        }
        set
    })
}

/// Canonical y and not one of the small-order encodings: what the strict rule asks of R,
/// without decompressing it (batch verification decompresses R itself; an R that does not
/// decompress fails the batch, and the single check then rejects it).
fn is_canonical_not_small_order(bytes: &[u8; 32]) -> bool {
    is_canonical_y(bytes) && !small_order_encodings().contains(bytes)
}

impl PublicKey {
    /// The dalek key after the canonical, non-small-order check.
    fn verifying_key(&self) -> Result<VerifyingKey, SignatureError> {
        if !is_canonical_y(&self.0) {
            return Err(SignatureError::BadPublicKey);
        }
        let vk = VerifyingKey::from_bytes(&self.0).map_err(|_| SignatureError::BadPublicKey)?;
        if vk.is_weak() {
            return Err(SignatureError::BadPublicKey);
        }
        Ok(vk)
    }

    /// Whether this is a usable public key under the verification rule.
    pub fn is_valid(&self) -> bool {
        self.verifying_key().is_ok()
    }

    /// Verifies `sig` over `msg` with the strict rule documented in this module.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        let vk = self.verifying_key()?;
        if !is_canonical_y(&sig.r_bytes()) {
            return Err(SignatureError::Malformed);
        }
        let s = ed25519_dalek::Signature::from_bytes(&sig.0);
        // verify_strict rejects a small-order R (and A) and a non-canonical s itself.
        vk.verify_strict(msg, &s)
            .map_err(|_| SignatureError::Invalid)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<PublicKey> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(PublicKey(out))
    }

    /// First 8 hex digits, for display.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl Signature {
    fn r_bytes(&self) -> [u8; 32] {
        let mut r = [0u8; 32];
        r.copy_from_slice(&self.0[..32]);
        r
    }
}

/// Verifies many (message, signature, key) triples; returns one verdict per item, identical to
/// [`PublicKey::verify`] on each.
pub fn verify_batch(items: &[(&[u8], &Signature, &PublicKey)]) -> Vec<bool> {
    let mut ok = vec![true; items.len()];
    let mut msgs = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    let mut idx = Vec::with_capacity(items.len());
    for (i, (m, s, k)) in items.iter().enumerate() {
        let vk = match k.verifying_key() {
            Ok(vk) => vk,
            Err(_) => {
                ok[i] = false;
                continue;
            }
        };
        if !is_canonical_not_small_order(&s.r_bytes()) {
            ok[i] = false;
            continue;
        }
        msgs.push(*m);
        sigs.push(ed25519_dalek::Signature::from_bytes(&s.0));
        keys.push(vk);
        idx.push(i);
    }
    if idx.is_empty() {
        return ok;
    }
    if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_err() {
        for (j, &i) in idx.iter().enumerate() {
            ok[i] = keys[j].verify_strict(msgs[j], &sigs[j]).is_ok();
        }
    }
    ok
}

impl SecretKey {
    /// A fresh random key from the OS RNG.
    pub fn generate() -> SecretKey {
        SecretKey(SigningKey::generate(&mut OsRng))
    }

    /// The key with this 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed (handle with care: wrap in a zeroizing type).
    pub fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, public {})", self.public().short())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.short())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(&self.0[..4]))
    }
}

impl Encode for PublicKey {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}
impl Decode for PublicKey {
    const MIN_LEN: usize = 32;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PublicKey(r.array()?))
    }
}
impl Encode for Signature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}
impl Decode for Signature {
    const MIN_LEN: usize = 64;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Signature(r.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unwrap_used)]
    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 8032 section 7.1 test vectors 1, 2 and 3.
    #[test]
    fn rfc8032_vectors() {
        let vectors = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
            (
                "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                "af82",
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
            ),
        ];
        for (sk, pk, msg, sig) in vectors {
            let seed: [u8; 32] = h(sk).try_into().unwrap();
            let key = SecretKey::from_seed(&seed);
            assert_eq!(key.public().0.to_vec(), h(pk));
            let s = key.sign(&h(msg));
            assert_eq!(s.0.to_vec(), h(sig));
            assert!(key.public().verify(&h(msg), &s).is_ok());
            let mut bad = s;
            bad.0[5] ^= 1;
            assert!(key.public().verify(&h(msg), &bad).is_err());
        }
    }

    #[test]
    fn small_order_key_is_rejected() {
        // The identity point encodes as 1 followed by zeros: small order.
        let mut id = [0u8; 32];
        id[0] = 1;
        assert!(!PublicKey(id).is_valid());
    }

    #[test]
    fn batch_agrees_with_single() {
        let keys: Vec<SecretKey> = (0..8u8)
            .map(|i| SecretKey::from_seed(&[i + 1; 32]))
            .collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 10]).collect();
        let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        sigs[3].0[40] ^= 0x10;
        let pubs: Vec<PublicKey> = keys.iter().map(|k| k.public()).collect();
        let items: Vec<(&[u8], &Signature, &PublicKey)> = (0..8)
            .map(|i| (msgs[i].as_slice(), &sigs[i], &pubs[i]))
            .collect();
        let batch = verify_batch(&items);
        for i in 0..8 {
            assert_eq!(batch[i], pubs[i].verify(&msgs[i], &sigs[i]).is_ok());
        }
        assert!(!batch[3]);
    }

    #[test]
    fn small_order_encodings_are_exactly_the_decodable_small_order_points() {
        let set = small_order_encodings();
        // 8 torsion points; the two with x = 0 also with the sign bit set.
        assert_eq!(set.len(), 10);
        for p in curve25519_dalek::constants::EIGHT_TORSION {
            assert!(set.contains(&p.compress().to_bytes()));
        }
        for b in set {
            let p = CompressedEdwardsY(*b).decompress().unwrap();
            assert!(p.is_small_order());
            assert!(is_canonical_y(b));
        }
    }

    #[test]
    fn batch_agrees_with_single_on_small_order_and_undecodable_r() {
        let key = SecretKey::from_seed(&[9; 32]);
        let msg = b"m".to_vec();
        let good = key.sign(&msg);
        let mut sigs = vec![good];
        for r in small_order_encodings() {
            let mut s = good;
            s.0[..32].copy_from_slice(r);
            sigs.push(s);
        }
        // An R with a canonical y that is not on the curve.
        let mut off_curve = good;
        off_curve.0[..32].copy_from_slice(&[2u8; 32]);
        assert!(CompressedEdwardsY([2u8; 32]).decompress().is_none());
        sigs.push(off_curve);
        let pk = key.public();
        let items: Vec<(&[u8], &Signature, &PublicKey)> =
            sigs.iter().map(|s| (msg.as_slice(), s, &pk)).collect();
        let batch = verify_batch(&items);
        for (i, s) in sigs.iter().enumerate() {
            assert_eq!(batch[i], pk.verify(&msg, s).is_ok(), "item {i}");
        }
        assert!(batch[0]);
        assert!(batch[1..].iter().all(|ok| !ok));
    }

    #[test]
    fn debug_redacts_secret() {
        let k = SecretKey::from_seed(&[7; 32]);
        let d = format!("{k:?}");
        assert!(d.contains("redacted"));
        assert!(!d.contains(&hex::encode([7u8; 32])));
    }
}
