//! BIP39 recovery phrases (English word list): 24-word generation, parsing, validation and the
//! seed (PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" + optional passphrase).
//!
//! The wallet always uses 24 words (256 bits of entropy) and the empty BIP39 passphrase; the
//! passphrase parameter exists for interoperability and for the published test vectors. Every
//! secret returned here is wrapped in [`Zeroizing`].

use super::error::{Result, WalletError};
use bip39::{Language, Mnemonic};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// Words in a TimeCoin recovery phrase.
pub const WORD_COUNT: usize = 24;

/// Bytes of entropy behind a 24-word phrase.
pub const ENTROPY_LEN: usize = 32;

/// Fresh 256-bit entropy from the operating system's RNG.
pub fn generate_entropy() -> Zeroizing<[u8; ENTROPY_LEN]> {
    let mut e = Zeroizing::new([0u8; ENTROPY_LEN]);
    OsRng.fill_bytes(e.as_mut());
    e
}

/// A fresh 24-word phrase and its entropy.
pub fn generate() -> (Zeroizing<[u8; ENTROPY_LEN]>, Zeroizing<String>) {
    let entropy = generate_entropy();
    let phrase =
        phrase_from_entropy(entropy.as_ref()).expect("32 bytes is a valid BIP39 entropy length");
    (entropy, phrase)
}

/// The phrase for `entropy` (16, 20, 24, 28 or 32 bytes), words separated by single spaces.
pub fn phrase_from_entropy(entropy: &[u8]) -> Result<Zeroizing<String>> {
    let m = Mnemonic::from_entropy_in(Language::English, entropy)
        .map_err(|e| WalletError::InvalidMnemonic(e.to_string()))?;
    let mut s = Zeroizing::new(String::with_capacity(24 * 9));
    for (i, w) in m.words().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(w);
    }
    Ok(s)
}

/// Normalizes user input: trims, lowercases and collapses whitespace.
fn normalize(words: &str) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::with_capacity(words.len()));
    for (i, w) in words.split_whitespace().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&w.to_lowercase());
    }
    s
}

/// Parses a phrase of any BIP39 length (12 to 24 words) with checksum, naming the first bad word.
fn parse_any(words: &str) -> Result<Mnemonic> {
    let norm = normalize(words);
    let list = Language::English.word_list();
    for (i, w) in norm.split(' ').enumerate() {
        if !w.is_empty() && !list.contains(&w) {
            return Err(WalletError::InvalidMnemonic(format!(
                "word {} ({w:?}) is not in the BIP39 English word list: check its spelling",
                i + 1
            )));
        }
    }
    Mnemonic::parse_in_normalized(Language::English, &norm).map_err(|e| {
        WalletError::InvalidMnemonic(match e {
            bip39::Error::InvalidChecksum => {
                "checksum does not match: a word is wrong or the order is wrong".to_string()
            }
            bip39::Error::BadWordCount(n) => {
                format!("{n} words; a recovery phrase has 12, 15, 18, 21 or 24 words")
            }
            other => other.to_string(),
        })
    })
}

/// Parses a 24-word phrase (case and extra whitespace ignored) into its 32-byte entropy.
pub fn parse(words: &str) -> Result<Zeroizing<[u8; ENTROPY_LEN]>> {
    let count = words.split_whitespace().count();
    if count != WORD_COUNT {
        return Err(WalletError::InvalidMnemonic(format!(
            "{count} words given; a TimeCoin recovery phrase has exactly {WORD_COUNT} words"
        )));
    }
    let m = parse_any(words)?;
    let (arr, len) = m.to_entropy_array();
    let arr = Zeroizing::new(arr);
    if len != ENTROPY_LEN {
        return Err(WalletError::InvalidMnemonic(
            "unexpected entropy length".to_string(),
        ));
    }
    let mut e = Zeroizing::new([0u8; ENTROPY_LEN]);
    e.copy_from_slice(&arr[..ENTROPY_LEN]);
    Ok(e)
}

/// Checks a 24-word phrase without keeping anything.
pub fn validate(words: &str) -> Result<()> {
    parse(words).map(|_| ())
}

/// The 64-byte BIP39 seed of a phrase of any valid length, with an optional passphrase
/// (`""` for none).
pub fn seed_from_phrase(words: &str, passphrase: &str) -> Result<Zeroizing<[u8; 64]>> {
    let m = parse_any(words)?;
    Ok(Zeroizing::new(m.to_seed(passphrase)))
}

/// The 64-byte BIP39 seed of 32 bytes of entropy, with an optional passphrase (`""` for none).
pub fn seed_from_entropy(entropy: &[u8; ENTROPY_LEN], passphrase: &str) -> Zeroizing<[u8; 64]> {
    let m = Mnemonic::from_entropy_in(Language::English, entropy)
        .expect("32 bytes is a valid BIP39 entropy length");
    Zeroizing::new(m.to_seed(passphrase))
}

/// English words starting with `prefix` (for completion while typing a phrase).
pub fn suggest(prefix: &str) -> Vec<&'static str> {
    let p = prefix.trim().to_lowercase();
    if p.is_empty() {
        return Vec::new();
    }
    Language::English
        .word_list()
        .iter()
        .copied()
        .filter(|w| w.starts_with(&p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// English vectors from trezor/python-mnemonic `vectors.json` (commit f5a975ab): (entropy, phrase, seed with
    /// passphrase "TREZOR"). All 24-word vectors plus one 12- and one 18-word vector.
    const TREZOR: &[(&str, &str, &str)] = &[
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
            "bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8",
        ),
        (
            "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
            "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title",
            "bc09fca1804f7e69da93c2f2028eb238c227f2e9dda30cd63699232578480a4021b146ad717fbb7e451ce9eb835f43620bf5c514db0f8add49f5d121449d3e87",
        ),
        (
            "8080808080808080808080808080808080808080808080808080808080808080",
            "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless",
            "c0c519bd0e91a2ed54357d9d1ebef6f5af218a153624cf4f2da911a0ed8f7a09e2ef61af0aca007096df430022f7a2b6fb91661a9589097069720d015e4e982f",
        ),
        (
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
            "dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd31ed3992c456cdf60f5d4564b8ba3f05a69890ad",
        ),
        (
            "68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
            "hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy gospel tennis maple dilemma loan word shrug inflict delay length",
            "64c87cde7e12ecf6704ab95bb1408bef047c22db4cc7491c4271d170a1b213d20b385bc1588d9c7b38f1b39d415665b8a9030c9ec653d75e65f847d8fc1fc440",
        ),
        (
            "9f6a2878b2520799a44ef18bc7df394e7061a224d2c33cd015b157d746869863",
            "panda eyebrow bullet gorilla call smoke muffin taste mesh discover soft ostrich alcohol speed nation flash devote level hobby quick inner drive ghost inside",
            "72be8e052fc4919d2adf28d5306b5474b0069df35b02303de8c1729c9538dbb6fc2d731d5f832193cd9fb6aeecbc469594a70e3dd50811b5067f3b88b28c3e8d",
        ),
        (
            "066dca1a2bb7e8a1db2832148ce9933eea0f3ac9548d793112d9a95c9407efad",
            "all hour make first leader extend hole alien behind guard gospel lava path output census museum junior mass reopen famous sing advance salt reform",
            "26e975ec644423f4a4c4f4215ef09b4bd7ef924e85d1d17c4cf3f136c2863cf6df0a475045652c57eb5fb41513ca2a2d67722b77e954b4b3fc11f7590449191d",
        ),
        (
            "f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
            "void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group space point ten exist slush involve unfold",
            "01f5bced59dec48e362f2c45b5de68b9fd6c92c6634f44d6d40aab69056506f0e35524a518034ddc1192e1dacd32c1ed3eaa3c3b131c88ed8e7e54c49a5d0998",
        ),
        (
            "00000000000000000000000000000000",
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04",
        ),
        (
            "808080808080808080808080808080808080808080808080",
            "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter always",
            "107d7c02a5aa6f38c58083ff74f04c607c2d2c0ecc55501dadd72d025b751bc27fe913ffb796f841c49b1d33b610cf0e91d3aa239027f5e99fe4ce9e5088cd65",
        ),
    ];

    #[test]
    fn trezor_vectors() {
        for (entropy, phrase, seed) in TREZOR {
            let e = hex::decode(entropy).unwrap();
            assert_eq!(phrase_from_entropy(&e).unwrap().as_str(), *phrase);
            let s = seed_from_phrase(phrase, "TREZOR").unwrap();
            assert_eq!(hex::encode(s.as_ref()), *seed, "{phrase}");
            if e.len() == 32 {
                assert_eq!(parse(phrase).unwrap().to_vec(), e);
                let arr: [u8; 32] = e.clone().try_into().unwrap();
                assert_eq!(seed_from_entropy(&arr, "TREZOR").as_ref(), s.as_ref());
            }
        }
    }

    #[test]
    fn generate_roundtrip() {
        let (e, p) = generate();
        assert_eq!(p.split(' ').count(), WORD_COUNT);
        assert_eq!(parse(&p).unwrap().as_ref(), e.as_ref());
        // Case and spacing are forgiven.
        let messy = format!("  {}  ", p.to_uppercase().replace(' ', "   \n"));
        assert_eq!(parse(&messy).unwrap().as_ref(), e.as_ref());
    }

    #[test]
    fn bad_phrases() {
        let art = TREZOR[0].1;
        // Wrong checksum word.
        let bad = art.replace(" art", " zoo");
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
        // Unknown word is named with its position.
        let bad = art.replacen("abandon", "abandonn", 1);
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.contains("word 1"), "{e}");
        // 12 words are a valid BIP39 phrase but not a TimeCoin wallet phrase.
        let e = parse(TREZOR[8].1).unwrap_err().to_string();
        assert!(e.contains("exactly 24"), "{e}");
        assert!(validate("").is_err());
        assert!(validate(art).is_ok());
        assert_eq!(suggest("zo"), vec!["zone", "zoo"]);
        assert!(suggest("").is_empty());
    }
}
