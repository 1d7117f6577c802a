//! The path of a new operator, on real processes: four devnet masternodes (`timed devnet
//! init`, one process each); a fifth node, started from an empty data dir with `--connect` to
//! one of them, syncs (and logs its progress), is funded, registers from the command line
//! (`timed masternode register --yes`, which makes the collateral first), appears active in
//! `listmasternodes`, signs later commit certificates, exits (`timed masternode exit`) and
//! stops voting. Own temp dir and port range; no repository config, no caller TIMECOIN_* env.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{ports, time_cli, timed};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use timecoin::types::{Address, Amount, Encode, Hash, Network, OutPoint};

const DEADLINE: Duration = Duration::from_secs(120);
const PASSPHRASE: &str = "correct horse battery staple";

/// Child processes, killed when dropped so that a failing test leaves nothing running.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct Net {
    dir: PathBuf,
    base: u16,
}

impl Net {
    fn node_dir(&self, i: u32) -> PathBuf {
        self.dir.join(format!("node{i}"))
    }

    fn joiner_dir(&self) -> PathBuf {
        self.dir.join("joiner")
    }

    /// `time-cli` against a node's RPC (`i` 0..4 masternodes, 4 the joiner).
    fn cli(&self, i: u32, args: &[&str]) -> Result<Value, String> {
        let data = if i < 4 {
            self.node_dir(i)
        } else {
            self.joiner_dir()
        };
        let out = time_cli()
            .arg("--datadir")
            .arg(data)
            .arg("--rpc-url")
            .arg(format!(
                "http://127.0.0.1:{}",
                self.base + 10 * i as u16 + 1
            ))
            .args(args)
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(serde_json::from_str(text.trim()).unwrap_or(Value::String(text.trim().to_string())))
    }

    fn height(&self, i: u32) -> Option<u64> {
        self.cli(i, &["getblockcount"]).ok()?.as_u64()
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        for f in ["joiner.out", "node0.out"] {
            s.push_str(&format!("---- {f}\n"));
            s.push_str(&std::fs::read_to_string(self.dir.join(f)).unwrap_or_default());
        }
        s
    }

    fn wait_for<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            if start.elapsed() > DEADLINE {
                let logs = self.logs();
                let tail: Vec<&str> = logs.lines().rev().take(60).collect();
                panic!(
                    "timed out waiting for {what}; logs, newest first:\n{}",
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The commit certificate signers of the block at `height`, from node0.
    fn signers(&self, height: u64) -> Option<Vec<String>> {
        let hash = self.cli(0, &["getblockhash", &height.to_string()]).ok()?;
        let b = self.cli(0, &["getblock", hash.as_str()?]).ok()?;
        Some(
            b["commit"]["signers"]
                .as_array()?
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
        )
    }

    /// `timed --config joiner.toml masternode ...` with the wallet passphrase file.
    fn masternode(&self, args: &[&str]) -> std::process::Output {
        timed()
            .arg("--config")
            .arg(self.dir.join("joiner.toml"))
            .arg("masternode")
            .args(args)
            .arg("--yes")
            .arg("--passphrase-file")
            .arg(self.dir.join("pw"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn spawn(config: &Path, out: &Path, extra: &[String]) -> Child {
    let log = std::fs::File::create(out).unwrap();
    timed()
        .arg("--config")
        .arg(config)
        .arg("--headless")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

#[test]
fn a_fifth_node_syncs_registers_votes_and_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let ports = ports::range(50);
    let net = Net {
        dir: tmp.path().to_path_buf(),
        base: ports.base(),
    };
    let out = timed()
        .args([
            "devnet",
            "init",
            "--nodes",
            "4",
            "--full-nodes",
            "0",
            "--dir",
        ])
        .arg(&net.dir)
        .arg("--base-port")
        .arg(net.base.to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Blocks every 100 ms when idle, so that the joiner has more than one batch to sync.
    let fast = "\n[consensus]\nempty_block_interval_ms = 100\n";
    let mut procs = Procs(Vec::new());
    for i in 0..4 {
        let cfg = net.node_dir(i).join("config.toml");
        let mut text = std::fs::read_to_string(&cfg).unwrap();
        text.push_str(fast);
        std::fs::write(&cfg, text).unwrap();
        procs
            .0
            .push(spawn(&cfg, &net.dir.join(format!("node{i}.out")), &[]));
    }

    // The joiner's config: devnet node 4, masternode mode on, its wallet outside the (empty)
    // data dir, no peers but the one given with --connect.
    let p2p = net.base + 40;
    let joiner_cfg = net.dir.join("joiner.toml");
    std::fs::write(
        &joiner_cfg,
        format!(
            "[node]\nnetwork = \"devnet\"\ndatadir = \"{data}\"\n\n\
             [p2p]\nbind = \"127.0.0.1:{p2p}\"\nadvertise = \"127.0.0.1:{p2p}\"\n\n\
             [rpc]\nbind = \"127.0.0.1:{rpc}\"\n\n[metrics]\nbind = \"127.0.0.1:{metrics}\"\n\n\
             [masternode]\nenabled = true\n\n[wallet]\nfile = \"{wallet}\"\n\n\
             [devnet]\nin_process = false\nnodes = 4\nfull_nodes = 1\nindex = 4\nbase_port = {base}\n{fast}",
            data = net.joiner_dir().display(),
            rpc = p2p + 1,
            metrics = p2p + 2,
            wallet = net.dir.join("joiner-wallet.dat").display(),
            base = net.base,
        ),
    )
    .unwrap();
    std::fs::write(net.dir.join("pw"), PASSPHRASE).unwrap();
    let out = timed()
        .arg("--config")
        .arg(&joiner_cfg)
        .args(["wallet", "create", "--passphrase-file"])
        .arg(net.dir.join("pw"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let addr = text
        .lines()
        .find_map(|l| l.strip_prefix("first address: "))
        .expect("wallet create prints the first address")
        .trim()
        .to_string();
    let addr = Address::parse(&addr, Network::Devnet).unwrap();

    // The masternodes get ahead by more than one sync batch (128 blocks).
    let start_height = net.wait_for("the masternodes at height 150", || {
        net.height(0).filter(|h| *h >= 150)
    });

    // 1. The joiner syncs from an empty data dir through one peer and says how it goes.
    assert!(!net.joiner_dir().exists());
    procs.0.push(spawn(
        &joiner_cfg,
        &net.dir.join("joiner.out"),
        &["--connect".into(), format!("127.0.0.1:{}", net.base)],
    ));
    net.wait_for("the joiner to sync", || {
        net.height(4).filter(|h| *h >= start_height)
    });
    let out = std::fs::read_to_string(net.dir.join("joiner.out")).unwrap();
    assert!(
        out.lines()
            .any(|l| l.contains("caught up") && l.contains("blocks_per_s")),
        "no sync progress line in the joiner's log:\n{out}"
    );

    // 2. Funded from the genesis faucet (output 7, 10,000 TIME).
    let info = net.cli(0, &["getblockchaininfo"]).unwrap();
    let chain_id = Hash::from_hex(info["chainid"].as_str().unwrap()).unwrap();
    let g = net.cli(0, &["getblockhash", "0"]).unwrap();
    let genesis = net.cli(0, &["getblock", g.as_str().unwrap(), "2"]).unwrap();
    let gtxid = Hash::from_hex(genesis["tx"][0]["txid"].as_str().unwrap()).unwrap();
    // Genesis faucet outputs are 10,000 TIME each.
    let fund = crate::support::faucet_transfer(
        OutPoint {
            txid: gtxid,
            index: 7,
        },
        Amount::from_time(10_000).0,
        addr,
        &chain_id,
    );
    let fund_hex = hex::encode(fund.to_bytes());
    net.cli(0, &["sendrawtransaction", &fund_hex]).unwrap();
    let fund_id = fund.txid().to_hex();
    net.wait_for("the funding to be final on the joiner", || {
        net.cli(4, &["getrawtransaction", &fund_id, "true"])
            .ok()?
            .get("blockheight")?
            .as_u64()
    });

    // 3. Registered from the command line: collateral, then registration, previewed and sent.
    let st = net.cli(4, &["getmasternodestatus"]).unwrap();
    assert_eq!(st["state"], "WAITING_FOR_REGISTRATION", "{st}");
    let key = st["nodekey"].as_str().unwrap().to_string();
    let out = net.masternode(&["register", "--tier", "bronze"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "register failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("step 1 of 2"), "{stdout}");
    assert!(
        stdout.contains("register this node as a bronze masternode"),
        "{stdout}"
    );
    // A second register is refused: the key is taken.
    let again = net.masternode(&["register", "--tier", "bronze"]);
    assert!(!again.status.success());

    // 4. Active in listmasternodes (2 blocks after the registration is final).
    let registered = net.wait_for("the joiner active in listmasternodes", || {
        let list = net.cli(0, &["listmasternodes"]).ok()?;
        list.as_array()?
            .iter()
            .find(|m| m["nodekey"] == json!(key) && m["status"] == "ENABLED")
            .and_then(|m| m["registeredheight"].as_u64())
    });
    // The joiner reports itself active once it has committed the activation height too; it may be
    // a block behind node 0.
    net.wait_for("the joiner to report itself ENABLED", || {
        let st = net.cli(4, &["getmasternodestatus"]).ok()?;
        (st["state"] == "ENABLED").then_some(())
    });

    // 5. Its precommits are in later commit certificates.
    let mut next = registered + 2;
    let signed_at = net.wait_for("the joiner's signature in a certificate", || {
        let tip = net.height(0)?;
        while next <= tip {
            let s = net.signers(next)?;
            if s.contains(&key) {
                return Some(next);
            }
            next += 1;
        }
        None
    });
    println!("[lifecycle] registered at {registered}, first signed the certificate of {signed_at}");

    // 6. Exit from the command line: it leaves the set and signs no more certificates.
    let out = net.masternode(&["exit"]);
    assert!(
        out.status.success(),
        "exit failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let gone_at = net.wait_for("the joiner gone from listmasternodes", || {
        let list = net.cli(0, &["listmasternodes"]).ok()?;
        let listed = list.as_array()?.iter().any(|m| m["nodekey"] == json!(key));
        (!listed).then(|| net.height(0)).flatten()
    });
    net.wait_for("10 more blocks", || {
        net.height(0).filter(|h| *h >= gone_at + 10)
    });
    for h in gone_at + 1..=gone_at + 10 {
        let s = net.signers(h).unwrap();
        assert!(
            !s.contains(&key),
            "the exited node signed the certificate of {h}"
        );
    }
    // The joiner is still a working full node, and once at the tip it reports the exit.
    let tip = net.height(0).unwrap();
    net.wait_for("the joiner at the tip after the exit", || {
        net.height(4).filter(|h| *h >= tip)
    });
    let st = net.cli(4, &["getmasternodestatus"]).unwrap();
    assert_eq!(st["state"], "WAITING_FOR_REGISTRATION", "{st}");
}
