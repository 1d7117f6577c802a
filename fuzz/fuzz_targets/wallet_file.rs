//! The wallet file, parsed before any decryption. Accepted files have the version-1 length and
//! KDF parameters within the caps; for those at the seeds' cheapest Argon2 cost (never above,
//! so the loop stays fast) decryption with the seeds' passphrase either succeeds with the same
//! header or reports a wrong passphrase, never a format error `parse` missed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use timecoin::wallet::keystore::{self, FILE_LEN};
use timecoin::wallet::{KdfParams, WalletError};
use timecoin_fuzz::seeds::WALLET_PASSPHRASE;

fn check(file: &[u8]) {
    let Ok(h) = keystore::parse(file) else { return };
    assert_eq!(file.len(), FILE_LEN);
    assert!(h.kdf.check().is_ok());
    let cheapest = KdfParams::insecure_fast();
    if h.kdf.m_cost_kib <= cheapest.m_cost_kib && h.kdf.t_cost <= cheapest.t_cost {
        match keystore::open(file, WALLET_PASSPHRASE) {
            Ok((h2, _)) => assert_eq!(h2, h),
            Err(WalletError::WrongPassphrase) => {}
            Err(e) => panic!("parse accepted the file, open refused it: {e}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    // The trailing SHA-256 stops nearly every mutation; the input with a correct checksum
    // appended reaches the fields behind it.
    let mut sealed = data.to_vec();
    sealed.extend_from_slice(&Sha256::digest(data));
    check(&sealed);
});
