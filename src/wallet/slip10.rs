//! SLIP-10 hierarchical key derivation for Ed25519 (hardened children only).
//!
//! Master: `I = HMAC-SHA512(key = "ed25519 seed", data = seed)`, key = `I[..32]`, chain code =
//! `I[32..]`. Child `i` (always hardened, `i | 2^31`):
//! `I = HMAC-SHA512(key = chain code, data = 0x00 || key || ser32(i))`.
//!
//! TimeCoin wallet keys live at `m/44'/6060'/<account>'/<change>'/<index>'` (BIP44 layout, every
//! level hardened because Ed25519 has no public derivation). [`COIN_TYPE`] 6060 is TimeCoin's
//! BIP44 coin type in this project (not registered in SLIP-0044; chosen to avoid known coins).
//! `change` is 0 for receive addresses and 1 for change addresses.

use super::error::{Result, WalletError};
use crate::types::SecretKey;
use hmac::{Hmac, Mac};
use sha2::Sha512;
use std::fmt;
use zeroize::Zeroizing;

/// The first level of every wallet path: BIP44's purpose, 44 (hardened at derivation).
pub const PURPOSE: u32 = 44;
/// TimeCoin's coin type (hardened at derivation): 6060.
pub const COIN_TYPE: u32 = 6060;
/// The bit set on a hardened index (SLIP-10 Ed25519 allows only hardened derivation).
pub const HARDENED: u32 = 0x8000_0000;

type HmacSha512 = Hmac<Sha512>;

/// An extended private key: the 32-byte Ed25519 seed and the chain code. Zeroized on drop,
/// redacted in Debug output.
#[derive(Clone)]
pub struct ExtendedKey {
    key: Zeroizing<[u8; 32]>,
    chain_code: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for ExtendedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExtendedKey(<redacted>)")
    }
}

fn hmac512(key: &[u8], parts: &[&[u8]]) -> ExtendedKey {
    let mut mac = HmacSha512::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    let out = Zeroizing::new(<[u8; 64]>::from(mac.finalize().into_bytes()));
    let mut key = Zeroizing::new([0u8; 32]);
    let mut chain_code = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&out[..32]);
    chain_code.copy_from_slice(&out[32..]);
    ExtendedKey { key, chain_code }
}

impl ExtendedKey {
    /// The master key of a seed (16 to 64 bytes; BIP39 seeds are 64).
    pub fn master(seed: &[u8]) -> ExtendedKey {
        hmac512(b"ed25519 seed", &[seed])
    }

    /// The hardened child `index` (`index` < 2^31; the hardened bit is added here; passing
    /// an index that already has it set is also accepted).
    pub fn child(&self, index: u32) -> ExtendedKey {
        let i = (index | HARDENED).to_be_bytes();
        hmac512(self.chain_code.as_ref(), &[&[0u8], self.key.as_ref(), &i])
    }

    /// Follows `path` (each element hardened).
    pub fn derive(&self, path: &[u32]) -> ExtendedKey {
        let mut k = self.clone();
        for &i in path {
            k = k.child(i);
        }
        k
    }

    /// The 32-byte private key (the Ed25519 seed).
    pub fn private_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// The 32-byte chain code that, with the key, derives the children.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    /// The Ed25519 signing key of this node of the tree.
    pub fn secret_key(&self) -> SecretKey {
        SecretKey::from_seed(&self.key)
    }
}

/// Parses a path such as `m/44'/6060'/0'/0'/5'` (every level must be hardened: `'` or `h`).
pub fn parse_path(s: &str) -> Result<Vec<u32>> {
    let mut parts = s.trim().split('/');
    if parts.next() != Some("m") {
        return Err(WalletError::Derivation(format!(
            "path {s:?} must start with \"m/\""
        )));
    }
    parts
        .map(|p| {
            let n = p
                .strip_suffix('\'')
                .or_else(|| p.strip_suffix('h'))
                .ok_or_else(|| {
                    WalletError::Derivation(format!(
                        "level {p:?} is not hardened: Ed25519 supports only hardened derivation (add ')"
                    ))
                })?;
            let v: u32 = n
                .parse()
                .map_err(|_| WalletError::Derivation(format!("level {p:?} is not a number")))?;
            if v >= HARDENED {
                return Err(WalletError::Derivation(format!(
                    "level {p:?} is out of range (below 2^31)"
                )));
            }
            Ok(v)
        })
        .collect()
}

/// The path `m/44'/6060'/<account>'/<change>'/<index>'` as indexes (without hardened bits).
pub fn wallet_path(account: u32, change: bool, index: u32) -> Result<[u32; 5]> {
    if account >= HARDENED || index >= HARDENED {
        return Err(WalletError::Derivation(
            "account and address index must be below 2^31".to_string(),
        ));
    }
    Ok([PURPOSE, COIN_TYPE, account, u32::from(change), index])
}

/// The key at `m/44'/6060'/<account>'/<change>'/<index>'` of a BIP39 seed.
pub fn derive_wallet_key(seed: &[u8], account: u32, change: bool, index: u32) -> Result<SecretKey> {
    let path = wallet_path(account, change, index)?;
    Ok(ExtendedKey::master(seed).derive(&path).secret_key())
}

/// The path of a wallet key as shown to users, e.g. `m/44'/6060'/0'/0'/5'`.
pub fn path_string(account: u32, change: bool, index: u32) -> String {
    format!(
        "m/{PURPOSE}'/{COIN_TYPE}'/{account}'/{}'/{index}'",
        u32::from(change)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (path, chain code, private key, public key with SLIP-10's 00 prefix)
    type Step = (&'static str, &'static str, &'static str, &'static str);

    fn check(seed: &str, steps: &[Step]) {
        let seed = hex::decode(seed).unwrap();
        let m = ExtendedKey::master(&seed);
        for (path, cc, sk, pk) in steps {
            let k = m.derive(&parse_path(path).unwrap());
            assert_eq!(hex::encode(k.chain_code()), *cc, "{path}");
            assert_eq!(hex::encode(k.private_bytes()), *sk, "{path}");
            assert_eq!(
                format!("00{}", k.secret_key().public().to_hex()),
                *pk,
                "{path}"
            );
        }
    }

    /// SLIP-0010 "Test vector 1 for ed25519".
    #[test]
    fn slip10_vector_1() {
        check(
            "000102030405060708090a0b0c0d0e0f",
            &[
                (
                    "m",
                    "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb",
                    "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7",
                    "00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed",
                ),
                (
                    "m/0'",
                    "8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69",
                    "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3",
                    "008c8a13df77a28f3445213a0f432fde644acaa215fc72dcdf300d5efaa85d350c",
                ),
                (
                    "m/0'/1'",
                    "a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14",
                    "b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2",
                    "001932a5270f335bed617d5b935c80aedb1a35bd9fc1e31acafd5372c30f5c1187",
                ),
                (
                    "m/0'/1'/2'",
                    "2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c",
                    "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9",
                    "00ae98736566d30ed0e9d2f4486a64bc95740d89c7db33f52121f8ea8f76ff0fc1",
                ),
                (
                    "m/0'/1'/2'/2'",
                    "8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc",
                    "30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662",
                    "008abae2d66361c879b900d204ad2cc4984fa2aa344dd7ddc46007329ac76c429c",
                ),
                (
                    "m/0'/1'/2'/2'/1000000000'",
                    "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230",
                    "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
                    "003c24da049451555d51a7014a37337aa4e12d41e485abccfa46b47dfb2af54b7a",
                ),
            ],
        );
    }

    /// SLIP-0010 "Test vector 2 for ed25519".
    #[test]
    fn slip10_vector_2() {
        check(
            "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542",
            &[
                ("m", "ef70a74db9c3a5af931b5fe73ed8e1a53464133654fd55e7a66f8570b8e33c3b", "171cb88b1b3c1db25add599712e36245d75bc65a1a5c9e18d76f9f2b1eab4012", "008fe9693f8fa62a4305a140b9764c5ee01e455963744fe18204b4fb948249308a"),
                ("m/0'", "0b78a3226f915c082bf118f83618a618ab6dec793752624cbeb622acb562862d", "1559eb2bbec5790b0c65d8693e4d0875b1747f4970ae8b650486ed7470845635", "0086fab68dcb57aa196c77c5f264f215a112c22a912c10d123b0d03c3c28ef1037"),
                ("m/0'/2147483647'", "138f0b2551bcafeca6ff2aa88ba8ed0ed8de070841f0c4ef0165df8181eaad7f", "ea4f5bfe8694d8bb74b7b59404632fd5968b774ed545e810de9c32a4fb4192f4", "005ba3b9ac6e90e83effcd25ac4e58a1365a9e35a3d3ae5eb07b9e4d90bcf7506d"),
                ("m/0'/2147483647'/1'", "73bd9fff1cfbde33a1b846c27085f711c0fe2d66fd32e139d3ebc28e5a4a6b90", "3757c7577170179c7868353ada796c839135b3d30554bbb74a4b1e4a5a58505c", "002e66aa57069c86cc18249aecf5cb5a9cebbfd6fadeab056254763874a9352b45"),
                ("m/0'/2147483647'/1'/2147483646'", "0902fe8a29f9140480a00ef244bd183e8a13288e4412d8389d140aac1794825a", "5837736c89570de861ebc173b1086da4f505d4adb387c6a1b1342d5e4ac9ec72", "00e33c0f7d81d843c572275f287498e8d408654fdf0d1e065b84e2e6f157aab09b"),
                ("m/0'/2147483647'/1'/2147483646'/2'", "5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4", "551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d", "0047150c75db263559a70d5778bf36abbab30fb061ad69f69ece61a72b0cfa4fc0"),
            ],
        );
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path("m").unwrap(), Vec::<u32>::new());
        assert_eq!(parse_path("m/44'/6060h/0'").unwrap(), vec![44, 6060, 0]);
        assert!(parse_path("m/0").is_err());
        assert!(parse_path("44'/0'").is_err());
        assert!(parse_path("m/2147483648'").is_err());
        assert!(parse_path("m/x'").is_err());
        assert_eq!(path_string(0, true, 7), "m/44'/6060'/0'/1'/7'");
        assert!(wallet_path(0, false, HARDENED).is_err());
        let seed = [1u8; 64];
        let a = derive_wallet_key(&seed, 0, false, 0).unwrap();
        let b = ExtendedKey::master(&seed)
            .derive(&parse_path("m/44'/6060'/0'/0'/0'").unwrap())
            .secret_key();
        assert_eq!(a.public(), b.public());
        let c = derive_wallet_key(&seed, 0, true, 0).unwrap();
        assert_ne!(a.public(), c.public());
        assert!(format!("{:?}", ExtendedKey::master(&seed)).contains("redacted"));
    }
}
