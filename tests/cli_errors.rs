//! Bad input to the `timed` binary: a one-line error naming what to fix, a non-zero exit, and
//! nothing overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use support::{empty_config, ports, timed as timed_cmd};
use timecoin::node::devnet::DevnetLayout;
use timecoin::storage::Storage;

/// Runs `timed` in `cwd` with a clean environment (the callers pass `--config`).
fn timed(args: &[&str], cwd: &Path) -> Output {
    timed_cmd().args(args).current_dir(cwd).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unknown_config_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[p2p]\nmax_inbund = 3\n").unwrap();
    let o = timed(
        &["--config", cfg.to_str().unwrap(), "--headless"],
        dir.path(),
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("max_inbund") && e.contains("p2p"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
}

#[test]
fn bad_flag_value_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = empty_config(dir.path());
    let o = timed(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--network",
            "moon",
            "--headless",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--network"), "{}", stderr(&o));
}

/// A one-node devnet config in `dir` (its own ports), from `timed devnet init`.
fn init_node(dir: &Path, base: u16) -> std::path::PathBuf {
    let o = timed(
        &[
            "devnet",
            "init",
            "--nodes",
            "1",
            "--dir",
            dir.to_str().unwrap(),
            "--base-port",
            &base.to_string(),
        ],
        dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    dir.join("node0").join("config.toml")
}

/// Runs the node until it logs a finalized block, then stops it with SIGTERM.
fn run_until_first_block(cfg: &Path, cwd: &Path) {
    let mut child = timed_cmd()
        .args(["--config", cfg.to_str().unwrap(), "--headless"])
        .current_dir(cwd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = cfg.parent().unwrap().join("timed.log");
    let start = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("finalized height=1") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no block: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn corrupt_database_names_reindex_and_other_chain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports::range(10);
    let cfg = init_node(dir.path(), ports.base());
    run_until_first_block(&cfg, dir.path());
    let db = dir.path().join("node0").join("chain.sled");

    // Another devnet (two masternodes, so another genesis) refuses this database.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("nodes = 1", "nodes = 2");
    let other = dir.path().join("other.toml");
    std::fs::write(&other, text).unwrap();
    let o = timed(
        &["--config", other.to_str().unwrap(), "--headless"],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("another chain"), "{}", stderr(&o));
    // Nothing was overwritten: the database still opens as its own chain with its blocks.
    {
        let layout = DevnetLayout {
            nodes: 1,
            base_port: ports.base(),
            dir: dir.path().to_path_buf(),
        };
        let (_s, state) = Storage::open(&dir.path().join("node0"), &layout.genesis()).unwrap();
        assert!(state.height >= 1, "blocks kept");
    }
    let size = std::fs::metadata(db.join("db")).unwrap().len() as usize;

    // Garbage over the database: a clear error naming --reindex.
    std::fs::write(db.join("db"), vec![0x5a; size.max(4096)]).unwrap();
    let o = timed(
        &["--config", cfg.to_str().unwrap(), "--headless"],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--reindex"), "{}", stderr(&o));
}

/// `timed wallet show` checks a passphrase it is given (a wrong one is an error naming it and
/// changes nothing) instead of ignoring it; without one it shows the wallet as before.
#[test]
fn wallet_show_checks_the_given_passphrase() {
    use timecoin::types::Network;
    use timecoin::wallet::{KdfParams, Wallet};
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("w.dat");
    Wallet::create(
        &wallet,
        "right",
        Network::Testnet,
        KdfParams::insecure_fast(),
    )
    .unwrap();
    let before = std::fs::read(&wallet).unwrap();
    let show = |pass: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_timed"));
        cmd.current_dir(dir.path())
            .arg("--datadir")
            .arg(dir.path())
            .args(["wallet", "--network", "testnet", "--wallet"])
            .arg(&wallet);
        if let Some(p) = pass {
            let f = dir.path().join("pass.txt");
            std::fs::write(&f, format!("{p}\n")).unwrap();
            cmd.arg("--passphrase-file").arg(f);
        }
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TIMECOIN_") {
                cmd.env_remove(k);
            }
        }
        cmd.arg("show").stdin(std::process::Stdio::null());
        cmd.output().unwrap()
    };
    let o = show(Some("wrong"));
    assert!(!o.status.success(), "a wrong passphrase was accepted");
    assert!(
        stderr(&o).contains("wrong wallet passphrase"),
        "{}",
        stderr(&o)
    );
    let o = show(Some("right"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("passphrase checked"));
    let o = show(None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&wallet).unwrap(), before);
}
