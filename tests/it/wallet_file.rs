//! The wallet file under bad input: wrong passphrase, truncation at every length, every flipped
//! byte, oversized KDF parameters, an interrupted write, overwrite protection, file modes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use timecoin::types::Network;
use timecoin::wallet::keystore::{self, FILE_LEN};
use timecoin::wallet::{KdfParams, Wallet, WalletError};

const FAST: KdfParams = KdfParams::insecure_fast();
const NET: Network = Network::Testnet;

fn with(path: &Path, suffix: &str) -> PathBuf {
    keystore::with_suffix(path, suffix)
}

/// A wallet with a backup `<file>.bak` (written by a passphrase change: under the new one).
fn wallet_with_backup(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("w.dat");
    let (mut w, _) = Wallet::create(&path, "old", NET, FAST).unwrap();
    w.change_passphrase("old", "pw", FAST).unwrap();
    assert!(with(&path, ".bak").exists());
    path
}

fn snapshot(paths: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    paths.iter().map(|p| fs::read(p).ok()).collect()
}

fn is_damage(e: &WalletError) -> bool {
    matches!(e, WalletError::Corrupt(_) | WalletError::Format(_))
}

#[test]
fn wrong_passphrase_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = wallet_with_backup(&dir);
    let files = [
        path.clone(),
        with(&path, ".bak"),
        with(&path, ".meta.json"),
        with(&path, ".meta.json.bak"),
    ];
    let before = snapshot(&files);
    let mut w = Wallet::open(&path, NET).unwrap();
    for bad in ["", "PW", "pw ", "old"] {
        let e = w.unlock(bad, Duration::ZERO).unwrap_err();
        assert!(matches!(e, WalletError::WrongPassphrase), "{e:?}");
        assert!(e.to_string().contains("passphrase"));
        assert!(w.is_locked());
    }
    assert!(matches!(
        w.change_passphrase("wrong", "new", FAST),
        Err(WalletError::WrongPassphrase)
    ));
    assert_eq!(snapshot(&files), before, "byte for byte unchanged");
    w.unlock("pw", Duration::ZERO).unwrap();
}

/// After a passphrase change the backup opens with the new passphrase only: the old one,
/// perhaps leaked (the reason to change it), opens neither file.
#[test]
fn passphrase_change_leaves_no_backup_under_the_old_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    let (mut w, _) = Wallet::create(&path, "old", NET, FAST).unwrap();
    // An ordinary write first, so a backup exists before the change.
    w.unlock("old", Duration::ZERO).unwrap();
    w.new_address("x").unwrap();
    w.change_passphrase("old", "new", FAST).unwrap();
    for file in [path.clone(), with(&path, ".bak")] {
        let bytes = keystore::read_wallet_file(&file).unwrap();
        assert!(
            matches!(
                keystore::open(&bytes, "old"),
                Err(WalletError::WrongPassphrase)
            ),
            "{} still opens with the old passphrase",
            file.display()
        );
        assert!(keystore::open(&bytes, "new").is_ok(), "{}", file.display());
    }
    let mut w = Wallet::open(&path, NET).unwrap();
    w.unlock("new", Duration::ZERO).unwrap();
    assert_eq!(w.addresses().len(), 2);
}

#[test]
fn every_truncation_and_flipped_byte_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = wallet_with_backup(&dir);
    let good = fs::read(&path).unwrap();
    assert_eq!(good.len(), FILE_LEN);
    let bak = with(&path, ".bak");
    let bak_before = fs::read(&bak).unwrap();
    let meta = with(&path, ".meta.json");
    let meta_before = fs::read(&meta).unwrap();

    let check = |bytes: &[u8], what: &str| {
        fs::write(&path, bytes).unwrap();
        match Wallet::open(&path, NET) {
            Err(e) => assert!(is_damage(&e), "{what}: {e:?}"),
            Ok(mut w) => {
                // Structure intact (cannot happen for a single flip, checked anyway).
                let e = w.unlock("pw", Duration::ZERO).unwrap_err();
                assert!(is_damage(&e), "{what}: {e:?}");
            }
        }
        assert_eq!(fs::read(&path).unwrap(), bytes, "{what}: file rewritten");
        assert_eq!(
            fs::read(&bak).unwrap(),
            bak_before,
            "{what}: backup touched"
        );
        assert_eq!(
            fs::read(&meta).unwrap(),
            meta_before,
            "{what}: state touched"
        );
    };
    for len in 0..good.len() {
        check(&good[..len], &format!("truncated to {len}"));
    }
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut g = good.clone();
            g[i] ^= 1 << bit;
            check(&g, &format!("byte {i} bit {bit}"));
        }
    }
    let mut longer = good.clone();
    longer.extend_from_slice(b"junk");
    check(&longer, "extended");
    // Messages say what to do.
    fs::write(&path, &good[..10]).unwrap();
    let msg = Wallet::open(&path, NET).unwrap_err().to_string();
    assert!(
        msg.contains(".bak") || msg.contains("recovery words"),
        "{msg}"
    );
    // Restoring the good bytes makes it work again.
    fs::write(&path, &good).unwrap();
    let mut w = Wallet::open(&path, NET).unwrap();
    w.unlock("pw", Duration::ZERO).unwrap();
}

#[test]
fn oversized_kdf_params_refused_fast() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    Wallet::create(&path, "pw", NET, FAST).unwrap();
    let mut f = fs::read(&path).unwrap();
    // m_cost = 16 GiB, t = 10: minutes of work and an allocation failure if it ran.
    f[11..15].copy_from_slice(&(16u32 * 1024 * 1024).to_le_bytes());
    let n = f.len() - 32;
    let sum = Sha256::digest(&f[..n]);
    f[n..].copy_from_slice(&sum);
    fs::write(&path, &f).unwrap();
    let t = Instant::now();
    let r = Wallet::open(&path, NET);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    match r {
        Err(WalletError::KdfTooExpensive { m_cost_kib, .. }) => {
            assert_eq!(m_cost_kib, 16 * 1024 * 1024)
        }
        other => panic!("{other:?}"),
    }
    // Creating with oversized parameters is refused before any work or any file.
    let p2 = dir.path().join("big.dat");
    let t = Instant::now();
    let big = KdfParams {
        m_cost_kib: 2 * 1024 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    assert!(matches!(
        Wallet::create(&p2, "pw", NET, big),
        Err(WalletError::KdfTooExpensive { .. })
    ));
    let many_passes = KdfParams { t_cost: 11, ..FAST };
    assert!(matches!(
        Wallet::create(&p2, "pw", NET, many_passes),
        Err(WalletError::KdfTooExpensive { .. })
    ));
    assert!(t.elapsed() < Duration::from_millis(200));
    assert!(!p2.exists());
}

#[test]
fn interrupted_write_leaves_old_file_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    let (w, _) = Wallet::create(&path, "pw", NET, FAST).unwrap();
    let addr = w.receive_address().unwrap();
    let good = fs::read(&path).unwrap();
    // A process killed mid-write leaves a partial temporary file (the rename never happened),
    // both for the wallet file and for its state file.
    let stray = dir.path().join(format!(
        ".w.dat.tmp-{}-00000000deadbeef",
        std::process::id()
    ));
    fs::write(&stray, &good[..40]).unwrap();
    let stray_meta = dir.path().join(".w.dat.meta.json.tmp-1-0000000000000001");
    fs::write(&stray_meta, b"{\"format\": 1, \"netw").unwrap();
    let mut w = Wallet::open(&path, NET).unwrap();
    w.unlock("pw", Duration::ZERO).unwrap();
    assert_eq!(w.receive_address(), Some(addr));
    // Later writes still work.
    w.new_address("after crash").unwrap();
    w.change_passphrase("pw", "pw2", FAST).unwrap();
    // A passphrase change leaves no backup under the old passphrase.
    assert_eq!(
        fs::read(with(&path, ".bak")).unwrap(),
        fs::read(&path).unwrap()
    );
    assert_ne!(fs::read(&path).unwrap(), good);
    let mut w = Wallet::open(&path, NET).unwrap();
    w.unlock("pw2", Duration::ZERO).unwrap();
    assert_eq!(w.addresses().len(), 2);
    // A damaged state file is a clear error naming it, never a panic.
    fs::write(with(&path, ".meta.json"), b"{ not json").unwrap();
    let e = Wallet::open(&path, NET).unwrap_err();
    assert!(matches!(e, WalletError::Meta { .. }), "{e:?}");
    assert!(e.to_string().contains("meta.json"));
    // A lost state file: the wallet still opens and rebuilds its first address on unlock.
    fs::remove_file(with(&path, ".meta.json")).unwrap();
    let mut w = Wallet::open(&path, NET).unwrap();
    assert!(w.addresses().is_empty());
    w.unlock("pw2", Duration::ZERO).unwrap();
    assert_eq!(w.receive_address(), Some(addr));
}

#[test]
fn create_refuses_to_overwrite_and_sets_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    Wallet::create(&path, "pw", NET, FAST).unwrap();
    let before = fs::read(&path).unwrap();
    let e = Wallet::create(&path, "other", NET, FAST).unwrap_err();
    assert!(matches!(e, WalletError::AlreadyExists(_)));
    let words = timecoin::wallet::DEVNET_FAUCET_MNEMONIC;
    assert!(matches!(
        Wallet::restore(&path, words, "x", NET, FAST),
        Err(WalletError::AlreadyExists(_))
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for p in [path.clone(), with(&path, ".meta.json")] {
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }
    assert!(matches!(
        Wallet::open(&dir.path().join("missing.dat"), NET),
        Err(WalletError::NotFound(_))
    ));
    assert!(matches!(
        Wallet::open(&path, Network::Devnet),
        Err(WalletError::WrongNetwork { .. })
    ));
}

#[test]
fn damaged_state_file_is_an_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    let (mut w, _) = Wallet::create(&path, "pw", NET, FAST).unwrap();
    w.unlock("pw", Duration::ZERO).unwrap();
    w.new_address("one").unwrap();
    w.add_contact("bob", w.receive_address().unwrap()).unwrap();
    let meta = with(&path, ".meta.json");
    let good = fs::read(&meta).unwrap();
    let wallet_before = fs::read(&path).unwrap();
    for len in 0..good.len() {
        fs::write(&meta, &good[..len]).unwrap();
        match Wallet::open(&path, NET) {
            Err(WalletError::Meta { .. }) => {}
            other => panic!("state truncated to {len}: {other:?}"),
        }
    }
    // An address that does not match its key is refused.
    let text = String::from_utf8(good.clone()).unwrap();
    let other_net = text.replacen("\"pubkey\": \"", "\"pubkey\": \"00", 1);
    fs::write(&meta, other_net).unwrap();
    assert!(matches!(
        Wallet::open(&path, NET),
        Err(WalletError::Meta { .. })
    ));
    assert_eq!(fs::read(&path).unwrap(), wallet_before);
    // The previous version is there to restore from.
    let bak = with(&path, ".meta.json.bak");
    fs::copy(&bak, &meta).unwrap();
    let w = Wallet::open(&path, NET).unwrap();
    assert_eq!(w.addresses().len(), 2);
}
