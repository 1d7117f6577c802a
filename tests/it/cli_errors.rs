//! Bad input to the `timed` binary: a one-line error naming what to fix, a non-zero exit, and
//! nothing overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{empty_config, ports, timed as timed_cmd};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
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
        let mut cmd = timed_cmd();
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

/// `timed --help` and the `--help` of every subcommand (walked from the parser itself, so a new
/// subcommand is covered): exit 0, a usage line, and every flag of that command named.
#[test]
fn every_command_answers_help() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, Vec<String>)>) {
        let longs = cmd
            .get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        out.push((path.clone(), longs));
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            walk(sub, p, out);
        }
    }
    let mut cmds = Vec::new();
    walk(&timecoin::app::args::Cli::command(), vec![], &mut cmds);
    let names: Vec<String> = cmds.iter().map(|(p, _)| p.join(" ")).collect();
    for want in [
        "",
        "devnet",
        "devnet init",
        "bench",
        "wallet",
        "wallet create",
        "wallet restore",
        "wallet show",
        "wallet addresses",
        "wallet send",
        "wallet lock",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "no `timed {want}`: {names:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for (path, longs) in cmds {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let o = timed(&args, dir.path());
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "timed {args:?}: {}", stderr(&o));
        assert!(out.contains("Usage: timed"), "timed {args:?}:\n{out}");
        for l in longs {
            assert!(out.contains(&l), "timed {args:?} does not name {l}:\n{out}");
        }
    }
}

/// Runs `timed` until it exits or `within` passes (then kills it and fails): a command that
/// should refuse to start must not start instead.
fn exits_within(mut cmd: Command, within: Duration) -> Output {
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(within) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            let o = rx.recv().unwrap().unwrap();
            panic!(
                "timed ran instead of refusing: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

/// With the shipped kind of config (the in-process devnet), a listen address flag cannot
/// apply to the devnet's nodes: one line naming the flag and what to use, non-zero exit (it
/// was ignored and the devnet started on its own ports).
#[test]
fn in_process_devnet_refuses_listen_flags() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports::range(40);
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[node]\nnetwork = \"devnet\"\n[devnet]\nin_process = true\nbase_port = {}\n",
            ports.base()
        ),
    )
    .unwrap();
    for flag in ["--p2p-bind", "--rpc-bind", "--metrics-bind"] {
        let mut cmd = timed_cmd();
        cmd.current_dir(dir.path())
            .arg("--config")
            .arg(&cfg)
            .arg("--datadir")
            .arg(dir.path())
            .args(["--headless", flag, "127.0.0.1:1"]);
        let o = exits_within(cmd, Duration::from_secs(20));
        assert!(!o.status.success());
        let e = stderr(&o);
        assert!(e.contains(flag) && e.contains("--base-port"), "{e}");
        assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
    }
}

/// Without --config, --datadir and ./config.toml, `timed` reads the default data dir's
/// config.toml (here under a HOME of the test's own): a bad key in it is reported naming the
/// file. Before, that file was read only with --datadir, and the devnet started.
#[test]
fn config_in_the_default_data_dir_is_read() {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let ports = ports::range(40);
    let data = home.path().join(".local/share/timecoin/devnet");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("config.toml"), "[p2p]\nmax_inbund = 3\n").unwrap();
    let mut cmd = timed_cmd();
    cmd.current_dir(cwd.path())
        .env("HOME", home.path())
        .env_remove("XDG_DATA_HOME")
        // Where a devnet that wrongly started would listen.
        .env("TIMECOIN_DEVNET_BASE_PORT", ports.base().to_string())
        .arg("--headless");
    let o = exits_within(cmd, Duration::from_secs(20));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("max_inbund") && e.contains(&data.join("config.toml").display().to_string()),
        "{e}"
    );
}

/// Flag > environment > file, through the binary: the data dir decides where `timed wallet`
/// looks for the wallet, which its error names.
#[test]
fn data_dir_precedence_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[node]\ndatadir = \"/from-file\"\n").unwrap();
    let wallet_dir = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = timed_cmd();
        cmd.current_dir(dir.path()).arg("--config").arg(&cfg);
        if let Some(f) = flag {
            cmd.args(["--datadir", f]);
        }
        if let Some(e) = env {
            cmd.env("TIMECOIN_NODE_DATADIR", e);
        }
        let o = cmd
            .args(["wallet", "addresses"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(!o.status.success());
        let e = stderr(&o);
        ["/from-file", "/from-env", "/from-flag"]
            .into_iter()
            .find(|d| e.contains(&format!("{d}/wallet.dat")))
            .unwrap_or_else(|| panic!("no data dir in: {e}"))
    };
    assert_eq!(wallet_dir(None, None), "/from-file");
    assert_eq!(wallet_dir(Some("/from-env"), None), "/from-env");
    assert_eq!(wallet_dir(None, Some("/from-flag")), "/from-flag");
    assert_eq!(
        wallet_dir(Some("/from-env"), Some("/from-flag")),
        "/from-flag"
    );
}

/// `timed --reindex` through the binary: a database whose derived data is damaged (the tip
/// record gone) is refused naming --reindex; with --reindex the node rebuilds from the stored
/// blocks, keeps every one of them and goes on finalizing from there.
#[test]
fn reindex_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports::range(10);
    let cfg = init_node(dir.path(), ports.base());
    run_until_first_block(&cfg, dir.path());
    let node = dir.path().join("node0");
    let layout = DevnetLayout {
        nodes: 1,
        base_port: ports.base(),
        dir: dir.path().to_path_buf(),
    };
    let genesis = layout.genesis();
    let (height, hashes) = {
        let (s, state) = Storage::open(&node, &genesis).unwrap();
        let hashes: Vec<_> = (1..=state.height)
            .map(|h| s.block(h).unwrap().unwrap().hash())
            .collect();
        (state.height, hashes)
    };
    assert!(height >= 1);
    {
        let db = open_sled(&node.join("chain.sled"));
        let chain = db.open_tree("chain").unwrap();
        assert!(chain.remove(b"mtip").unwrap().is_some(), "the tip key");
        db.flush().unwrap();
    }
    let o = timed(
        &["--config", cfg.to_str().unwrap(), "--headless"],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--reindex"), "{}", stderr(&o));

    // --reindex: the node starts and finalizes a block beyond the stored ones.
    let mut child = timed_cmd()
        .args(["--config", cfg.to_str().unwrap(), "--headless", "--reindex"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = node.join("timed.log");
    let start = std::time::Instant::now();
    let next = format!("finalized height={}", height + 1);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("reindexing from stored blocks") && text.contains(&next) {
            break;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("no {next} after --reindex: {text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let (s, state) = Storage::open(&node, &genesis).unwrap();
    assert!(state.height > height);
    for (i, h) in hashes.iter().enumerate() {
        assert_eq!(&s.block(i as u64 + 1).unwrap().unwrap().hash(), h);
    }
}

/// sled keeps its lock a moment after a process exits: retry briefly.
fn open_sled(path: &Path) -> sled::Db {
    let start = std::time::Instant::now();
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(e) if start.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

/// `--connect` reaches the in-process devnet's nodes (it was ignored): the node dials the
/// given address, here a plain TCP listener of the test's own, which sees the connection.
#[test]
fn in_process_devnet_dials_connect() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports::range(40);
    let listener = std::net::TcpListener::bind(("127.0.0.1", ports.port(30))).unwrap();
    listener.set_nonblocking(true).unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[node]\nnetwork = \"devnet\"\n[devnet]\nin_process = true\nnodes = 1\nbase_port = {}\n",
            ports.base()
        ),
    )
    .unwrap();
    let mut child = timed_cmd()
        .current_dir(dir.path())
        .arg("--config")
        .arg(&cfg)
        .arg("--datadir")
        .arg(dir.path())
        .arg("--headless")
        .arg("--connect")
        .arg(format!("127.0.0.1:{}", ports.port(30)))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let dialed = loop {
        match listener.accept() {
            Ok(_) => break true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        if start.elapsed() > Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(dialed, "the devnet never dialed the --connect address");
}

/// The full node that `timed devnet init` writes holds the devnet faucet, as the in-process
/// devnet's does: started alone, without a wallet file of its own, its wallet has the faucet's
/// coins (the genesis pays them), so it can fund its own registration.
#[test]
fn devnet_init_full_node_holds_the_faucet() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports::range(20);
    let base = ports.base();
    let o = timed(
        &[
            "devnet",
            "init",
            "--nodes",
            "1",
            "--full-nodes",
            "1",
            "--dir",
            dir.path().to_str().unwrap(),
            "--base-port",
            &base.to_string(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("holds the devnet faucet"), "{out}");
    let node1 = dir.path().join("node1");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _node = Kill(
        timed_cmd()
            .args(["--config", node1.join("config.toml").to_str().unwrap()])
            .arg("--headless")
            .current_dir(dir.path())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{}", base + 11);
    let start = std::time::Instant::now();
    let balance = loop {
        let o = crate::support::time_cli()
            .args(["--datadir", node1.to_str().unwrap(), "--rpc-url", &url])
            .arg("getbalance")
            .output()
            .unwrap();
        if o.status.success() {
            break String::from_utf8_lossy(&o.stdout).trim().to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no balance from the full node: {}",
            stderr(&o)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(balance.parse::<f64>().ok(), Some(1_000_000.0), "{balance}");
}
