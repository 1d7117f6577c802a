//! Bech32m addresses: version byte + 20 bytes of BLAKE3(pubkey), HRP per network.

use super::encoding::{Decode, DecodeError, Encode, Reader};
use super::hash::{Domain, Hash};
use super::keys::PublicKey;
use super::network::Network;
use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use std::fmt;
use thiserror::Error;

/// The only address version so far: pay to the hash of an Ed25519 key.
pub const ADDRESS_VERSION: u8 = 0;

/// A payment address (network-agnostic payload; the HRP is added when shown).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address {
    /// Always [`ADDRESS_VERSION`]; decoding and parsing refuse any other.
    pub version: u8,
    /// First 20 bytes of the domain-separated BLAKE3 hash of the public key.
    pub hash: [u8; 20],
}

/// Why an address string is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// Not bech32m, or the checksum does not match.
    #[error("not a valid bech32m address (check for typos): {0}")]
    Encoding(String),
    /// Right format, other network.
    #[error("address is for another network (prefix {found:?}, expected {expected:?})")]
    WrongNetwork {
        /// The human-readable part the string carries.
        found: String,
        /// The human-readable part of the network asked for.
        expected: &'static str,
    },
    /// Unknown version or length.
    #[error("unsupported address payload")]
    Payload,
}

/// Why a payment URI is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UriError {
    /// Does not start with `timecoin:`.
    #[error("payment URI must start with \"timecoin:\"")]
    Scheme,
    /// The address part is not a valid address for the network.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// The `amount=` value is not a decimal TIME amount; holds the parser's message.
    #[error("bad amount in payment URI: {0}")]
    Amount(String),
    /// The label's percent-encoding is broken: a `%` not followed by two hex digits, or bytes
    /// that are not UTF-8 once decoded.
    #[error("bad label in payment URI: {0}; write other characters as %XX of their UTF-8 bytes")]
    Label(&'static str),
}

/// A parsed `timecoin:<address>?amount=<TIME>&label=<text>` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentUri {
    /// Where the payment goes; on the network the URI was parsed for.
    pub address: Address,
    /// Requested amount, if any.
    pub amount: Option<super::amount::Amount>,
    /// Label, if any (percent-decoded).
    pub label: Option<String>,
}

impl Address {
    /// The address of a public key.
    pub fn from_pubkey(pk: &PublicKey) -> Address {
        let h = Hash::of(Domain::Address, &pk.0);
        let mut hash = [0u8; 20];
        hash.copy_from_slice(&h.0[..20]);
        Address {
            version: ADDRESS_VERSION,
            hash,
        }
    }

    /// The bech32m string on `network`.
    pub fn encode(&self, network: Network) -> String {
        let mut data = Vec::with_capacity(21);
        data.push(self.version);
        data.extend_from_slice(&self.hash);
        // The HRPs are constant valid strings, and 21 bytes are far below the length limit.
        let hrp = Hrp::parse_unchecked(network.hrp());
        bech32::encode::<Bech32m>(hrp, &data).unwrap_or_default()
    }

    /// Parses a bech32m address for `network` (upper case accepted).
    pub fn parse(s: &str, network: Network) -> Result<Address, AddressError> {
        let checked = CheckedHrpstring::new::<Bech32m>(s.trim())
            .map_err(|e| AddressError::Encoding(e.to_string()))?;
        let hrp = checked.hrp().to_lowercase();
        if hrp != network.hrp() {
            return Err(AddressError::WrongNetwork {
                found: hrp,
                expected: network.hrp(),
            });
        }
        let data: Vec<u8> = checked.byte_iter().collect();
        if data.len() != 21 || data[0] != ADDRESS_VERSION {
            return Err(AddressError::Payload);
        }
        let mut hash = [0u8; 20];
        hash.copy_from_slice(&data[1..]);
        Ok(Address {
            version: data[0],
            hash,
        })
    }
}

impl PaymentUri {
    /// Parses a payment URI for `network`.
    pub fn parse(s: &str, network: Network) -> Result<PaymentUri, UriError> {
        let rest = s.trim().strip_prefix("timecoin:").ok_or(UriError::Scheme)?;
        let (addr, query) = match rest.split_once('?') {
            Some((a, q)) => (a, q),
            None => (rest, ""),
        };
        let address = Address::parse(addr, network)?;
        let mut amount = None;
        let mut label = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "amount" => {
                    amount = Some(
                        super::amount::Amount::parse_time(v)
                            .map_err(|e| UriError::Amount(e.to_string()))?,
                    )
                }
                "label" => label = Some(percent_decode(v)?),
                _ => {}
            }
        }
        Ok(PaymentUri {
            address,
            amount,
            label,
        })
    }

    /// Formats the URI.
    pub fn format(&self, network: Network) -> String {
        let mut s = format!("timecoin:{}", self.address.encode(network));
        let mut sep = '?';
        if let Some(a) = self.amount {
            s.push_str(&format!("{sep}amount={a}"));
            sep = '&';
        }
        if let Some(l) = &self.label {
            s.push_str(&format!("{sep}label={}", percent_encode(l)));
        }
        s
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes and `+` (a space, as in HTML forms) on bytes, so an escape next to a
/// multi-byte character is never sliced through; the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, UriError> {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = bytes.next().and_then(hex);
                let lo = bytes.next().and_then(hex);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(UriError::Label("'%' must be followed by two hex digits"));
                };
                out.push(hi << 4 | lo);
            }
            b'+' => out.push(b' '),
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|_| UriError::Label("the decoded label is not UTF-8"))
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", hex::encode(self.hash))
    }
}

impl Encode for Address {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.extend_from_slice(&self.hash);
    }
}

impl Decode for Address {
    const MIN_LEN: usize = 21;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8()?;
        if version != ADDRESS_VERSION {
            return Err(DecodeError::InvalidTag {
                what: "address version",
                tag: version,
            });
        }
        Ok(Address {
            version,
            hash: r.array()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::keys::SecretKey;

    #[test]
    fn round_trip_and_upper_case() {
        let a = Address::from_pubkey(&SecretKey::from_seed(&[1; 32]).public());
        for net in [Network::Mainnet, Network::Testnet, Network::Devnet] {
            let s = a.encode(net);
            assert!(s.starts_with(net.hrp()));
            assert_eq!(Address::parse(&s, net), Ok(a));
            assert_eq!(Address::parse(&s.to_uppercase(), net), Ok(a));
        }
        let s = a.encode(Network::Mainnet);
        assert!(matches!(
            Address::parse(&s, Network::Testnet),
            Err(AddressError::WrongNetwork { .. })
        ));
    }

    #[test]
    fn typo_is_caught() {
        let a = Address::from_pubkey(&SecretKey::from_seed(&[2; 32]).public());
        let s = a.encode(Network::Devnet);
        let mut chars: Vec<char> = s.chars().collect();
        let i = chars.len() - 3;
        chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
        let typo: String = chars.into_iter().collect();
        assert!(matches!(
            Address::parse(&typo, Network::Devnet),
            Err(AddressError::Encoding(_))
        ));
    }

    /// BIP 350 test vectors: valid bech32m strings decode; invalid ones are refused.
    #[test]
    fn bip350_vectors() {
        let valid = [
            "A1LQFN3A",
            "a1lqfn3a",
            "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
            "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
            "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
            "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
            "?1v759aa",
        ];
        for v in valid {
            assert!(CheckedHrpstring::new::<Bech32m>(v).is_ok(), "{v}");
        }
        let invalid = [
            "\u{20}1xj0phk",
            "\u{7F}1g6xzxy",
            "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11tt9cz",
            "qyrz8wqd2c9m",
            "1qyrz8wqd2c9m",
            "y1b0jsk6g",
            "lt1igcx5c0",
            "in1muywd",
            "mm1crxm3i",
            "au1s5cgom",
            "M1VUXWEZ",
            "16plkw9",
            "1p2gdwpf",
            // A bech32 (not bech32m) checksum.
            "a12uel5l",
        ];
        for v in invalid {
            assert!(CheckedHrpstring::new::<Bech32m>(v).is_err(), "{v}");
        }
    }

    #[test]
    fn payment_uri() {
        let a = Address::from_pubkey(&SecretKey::from_seed(&[3; 32]).public());
        let uri = PaymentUri {
            address: a,
            amount: Some(crate::types::amount::Amount(150_000_000)),
            label: Some("coffee & cake".into()),
        };
        let s = uri.format(Network::Devnet);
        assert_eq!(PaymentUri::parse(&s, Network::Devnet), Ok(uri));
        assert_eq!(
            PaymentUri::parse("bitcoin:x", Network::Devnet),
            Err(UriError::Scheme)
        );
    }

    /// Found by `fuzz/fuzz_targets/payment_uri.rs`: a `%` followed by a multi-byte character in
    /// the label made the percent-decoder slice the string inside that character (a panic).
    #[test]
    fn fuzz_percent_before_multibyte_char_does_not_panic() {
        let crash = b"timecoin:time1qpjrhye2rfq8zrngy5m0ylawrq702432wcgax9nd?amoun0000001\
                      &label=ca1&label=caf00%\xee\xbd\x9b25";
        let s = std::str::from_utf8(crash).unwrap();
        // An escape that is not two hex digits is an error (the label is refused).
        assert!(matches!(
            PaymentUri::parse(s, Network::Mainnet),
            Err(UriError::Label(_))
        ));
    }

    /// Crafted labels are errors, never panics: an escape cut by a multi-byte character, a
    /// short escape at the end, bytes that are not UTF-8; good escapes of UTF-8 decode.
    #[test]
    fn payment_uri_crafted_labels() {
        let a = Address::from_pubkey(&SecretKey::from_seed(&[4; 32]).public());
        let base = format!("timecoin:{}", a.encode(Network::Devnet));
        for bad in ["%a€", "%€", "x%4", "%", "%zz", "%ff", "%c3"] {
            let r = PaymentUri::parse(&format!("{base}?label={bad}"), Network::Devnet);
            assert!(matches!(r, Err(UriError::Label(_))), "{bad}: {r:?}");
        }
        let ok = PaymentUri::parse(
            &format!("{base}?label=caf%C3%A9+%E2%82%AC€"),
            Network::Devnet,
        )
        .unwrap();
        assert_eq!(ok.label.as_deref(), Some("café €€"));
    }
}
