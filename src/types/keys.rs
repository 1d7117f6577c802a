//! Ed25519 keys and signatures.
//!
//! Verification rule (one rule everywhere, single and batch, whatever else is in the batch;
//! implemented in `ed25519_rule`): (1) the public key A and the signature's R are canonical
//! point encodings and s < l, checked on the bytes first; (2) neither A nor R is of small order;
//! (3) the cofactored equation `[8][s]B = [8]R + [8][k]A` holds, `k = SHA-512(R || A || M) mod l`
//! (ZIP-215's equation). Batches check a cofactored random linear combination, so a batch gives
//! every item the verdict [`PublicKey::verify`] gives it. Signing is plain RFC 8032
//! (ed25519-dalek).

use super::ed25519_rule;
use super::encoding::{Decode, DecodeError, Encode, Reader};
use ed25519_dalek::{Signer, SigningKey};
use rand_core::OsRng;
use std::fmt;
use thiserror::Error;

pub use super::ed25519_rule::{verify_batch, verify_batch_with_keys, VerifyingKey};

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
    /// The public key is not the canonical encoding of a point, or the point is of small order.
    #[error("invalid public key")]
    BadPublicKey,
    /// R is not the canonical encoding of a point or is of small order, or s is not below l.
    #[error("malformed signature")]
    Malformed,
    /// The encodings are fine but the cofactored equation does not hold.
    #[error("signature does not verify")]
    Invalid,
}

impl Default for Signature {
    fn default() -> Self {
        Signature([0u8; 64])
    }
}

impl PublicKey {
    /// Whether this is a usable public key under the verification rule: a canonical encoding
    /// of a point that is not of small order.
    pub fn is_valid(&self) -> bool {
        VerifyingKey::new(self).is_usable()
    }

    /// Verifies `sig` over `msg` under the rule documented in this module.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        ed25519_rule::verify(msg, sig, self)
    }

    /// 64 lowercase hex digits, the inverse of [`PublicKey::from_hex`].
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

    /// The Ed25519 public key of this secret key.
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

    /// RFC 8032 section 7.1 test vectors 1, 2 and 3, singly and in batches.
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
        let mut signed = Vec::new();
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
            signed.push((key.public(), h(msg), s, bad));
        }
        let mut items: Vec<(&[u8], &Signature, &PublicKey)> = signed
            .iter()
            .map(|(pk, m, s, _)| (m.as_slice(), s, pk))
            .collect();
        assert_eq!(verify_batch(&items), vec![true; 3]);
        items.push((signed[1].1.as_slice(), &signed[1].3, &signed[1].0));
        assert_eq!(verify_batch(&items), vec![true, true, true, false]);
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
    fn debug_redacts_secret() {
        let k = SecretKey::from_seed(&[7; 32]);
        let d = format!("{k:?}");
        assert!(d.contains("redacted"));
        assert!(!d.contains(&hex::encode([7u8; 32])));
    }
}
