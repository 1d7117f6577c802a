//! Helpers for the multi-process cluster tests (the including test file declares `mod support;`):
//! a devnet written by `timed devnet init` in a temp dir with its own port range
//! ([`ports::range`]), one `timed` process per node, log polling with deadlines,
//! signals, and reading each node's sled database once its process has stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use timecoin::ledger::Genesis;
use timecoin::node::devnet::DevnetLayout;
use timecoin::storage::Storage;
use timecoin::test_utils::copy_dir;
use timecoin::types::Hash;

use crate::support::{ports, timed};

/// Polls `f` every 100 ms until it returns true; panics with `what` (and `context()`, e.g. log
/// tails) when `timeout` passes first.
pub fn wait_until(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> bool,
    context: impl Fn() -> String,
) -> Duration {
    let start = Instant::now();
    loop {
        if f() {
            return start.elapsed();
        }
        if start.elapsed() > timeout {
            panic!(
                "timed out after {:?} waiting for: {what}\n{}",
                timeout,
                context()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One `finalized height=H ... hash=X` log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalizedLine {
    pub height: u64,
    pub hash_short: String,
}

/// Parses every `finalized` line of a log.
pub fn parse_finalized(log: &str) -> Vec<FinalizedLine> {
    log.lines()
        .filter(|l| l.contains(" finalized height="))
        .filter_map(|l| {
            let height = field(l, "height")?.parse().ok()?;
            let hash_short = field(l, "hash")?.to_string();
            Some(FinalizedLine { height, hash_short })
        })
        .collect()
}

/// The value of `name=` in a log line.
pub fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=");
    let start = line.find(&key)? + key.len();
    let rest = &line[start..];
    Some(rest.split_whitespace().next().unwrap_or(""))
}

/// A devnet of `n` nodes in a temp dir; node processes are killed when it drops.
pub struct Cluster {
    pub name: String,
    pub tmp: tempfile::TempDir,
    pub layout: DevnetLayout,
    pub genesis: Genesis,
    procs: Vec<Option<Child>>,
    /// The devnet's ports, reserved until the cluster drops.
    _ports: ports::PortRange,
}

impl Cluster {
    /// Reserves a port range and runs `timed devnet init --nodes n --dir <tmp> --base-port <base>`.
    pub fn init(name: &str, n: u32) -> Cluster {
        let ports = ports::range(10 * n as u16);
        let base_port = ports.base();
        let tmp = tempfile::Builder::new()
            .prefix(&format!("timecoin-cluster-{name}-"))
            .tempdir()
            .unwrap();
        let out = timed()
            .args(["devnet", "init", "--nodes"])
            .arg(n.to_string())
            .arg("--dir")
            .arg(tmp.path())
            .arg("--base-port")
            .arg(base_port.to_string())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "devnet init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let layout = DevnetLayout {
            nodes: n,
            base_port,
            dir: tmp.path().to_path_buf(),
        };
        for i in 0..n {
            assert!(layout.node_dir(i).join("config.toml").exists());
        }
        let genesis = layout.genesis();
        Cluster {
            name: name.to_string(),
            tmp,
            layout,
            genesis,
            procs: (0..n).map(|_| None).collect(),
            _ports: ports,
        }
    }

    pub fn n(&self) -> u32 {
        self.layout.nodes
    }

    pub fn node_dir(&self, i: u32) -> PathBuf {
        self.layout.node_dir(i)
    }

    pub fn config(&self, i: u32) -> PathBuf {
        self.node_dir(i).join("config.toml")
    }

    /// Appends TOML to every node's config (e.g. a `[consensus]` section).
    pub fn append_config(&self, toml: &str) {
        use std::io::Write;
        for i in 0..self.n() {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(self.config(i))
                .unwrap();
            writeln!(f, "\n{toml}").unwrap();
        }
    }

    /// P2P address of node `i`.
    pub fn p2p_addr(&self, i: u32) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.layout.p2p_port(i)))
    }

    /// Starts node `i` as its own process (stderr appended to `node<i>/stderr.log`).
    pub fn start(&mut self, i: u32) {
        assert!(self.procs[i as usize].is_none(), "node{i} already running");
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.node_dir(i).join("stderr.log"))
            .unwrap();
        let child = timed()
            .arg("--config")
            .arg(self.config(i))
            .arg("--headless")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        self.procs[i as usize] = Some(child);
    }

    pub fn start_all(&mut self) {
        for i in 0..self.n() {
            self.start(i);
        }
    }

    pub fn running(&self, i: u32) -> bool {
        self.procs[i as usize].is_some()
    }

    pub fn pid(&self, i: u32) -> u32 {
        self.procs[i as usize].as_ref().expect("node running").id()
    }

    /// Panics if node `i`'s process exited on its own.
    pub fn assert_alive(&mut self, i: u32) {
        let c = self.procs[i as usize].as_mut().expect("node started");
        if let Some(st) = c.try_wait().unwrap() {
            panic!(
                "node{i} exited unexpectedly with {st}\n{}",
                self.tail(i, 30)
            );
        }
    }

    fn signal(&self, i: u32, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid(i).to_string())
            .status()
            .unwrap();
        assert!(st.success(), "kill -{sig} node{i}");
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self, i: u32) {
        let mut c = self.procs[i as usize].take().expect("node running");
        let _ = c.kill();
        let _ = c.wait();
    }

    /// SIGTERM; the node must exit 0 within `timeout`. Returns how long it took.
    pub fn term(&mut self, i: u32, timeout: Duration) -> Duration {
        self.signal(i, "TERM");
        let (st, took) = self.term_wait(i, timeout);
        assert!(
            st.success(),
            "node{i} exited with {st} after SIGTERM\n{}",
            self.tail(i, 20)
        );
        took
    }

    /// SIGTERM every running node; each must exit 0 within 10 s.
    pub fn term_all(&mut self) {
        let running: Vec<u32> = (0..self.n()).filter(|i| self.running(*i)).collect();
        for &i in &running {
            self.signal(i, "TERM");
        }
        for &i in &running {
            let (st, took) = self.term_wait(i, Duration::from_secs(10));
            assert!(
                st.success(),
                "node{i} exited with {st} after SIGTERM\n{}",
                self.tail(i, 20)
            );
            println!("[{}] node{i} exited 0 {took:?} after SIGTERM", self.name);
        }
    }

    fn term_wait(&mut self, i: u32, timeout: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        let mut c = self.procs[i as usize].take().expect("node running");
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return (st, start.elapsed());
            }
            if start.elapsed() > timeout {
                let _ = c.kill();
                let _ = c.wait();
                panic!(
                    "node{i} did not exit within {timeout:?} of SIGTERM\n{}",
                    self.tail(i, 20)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn sigstop(&self, i: u32) {
        self.signal(i, "STOP");
    }

    pub fn sigcont(&self, i: u32) {
        self.signal(i, "CONT");
    }

    /// Node `i`'s log file (all runs, appended).
    pub fn log(&self, i: u32) -> String {
        std::fs::read_to_string(self.node_dir(i).join("timed.log")).unwrap_or_default()
    }

    /// The last `n` lines of node `i`'s log and stderr (for failure messages).
    pub fn tail(&self, i: u32, n: usize) -> String {
        let mut out = String::new();
        for (what, text) in [
            ("timed.log", self.log(i)),
            (
                "stderr.log",
                std::fs::read_to_string(self.node_dir(i).join("stderr.log")).unwrap_or_default(),
            ),
        ] {
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- node{i} {what} (last {n} lines) ---\n"));
            for l in &lines[lines.len().saturating_sub(n)..] {
                // The stderr copy has ANSI colours; keep it readable.
                out.push_str(&strip_ansi(l));
                out.push('\n');
            }
        }
        out
    }

    pub fn tails(&self, n: usize) -> String {
        (0..self.n()).map(|i| self.tail(i, n)).collect()
    }

    /// Highest height node `i` logged as finalized (0 if none), over all its runs.
    pub fn height(&self, i: u32) -> u64 {
        parse_finalized(&self.log(i))
            .iter()
            .map(|f| f.height)
            .max()
            .unwrap_or(0)
    }

    /// Highest logged height among `nodes`.
    pub fn max_height(&self, nodes: &[u32]) -> u64 {
        nodes.iter().map(|i| self.height(*i)).max().unwrap_or(0)
    }

    /// Lowest logged height among `nodes`.
    pub fn min_height(&self, nodes: &[u32]) -> u64 {
        nodes.iter().map(|i| self.height(*i)).min().unwrap_or(0)
    }

    /// Waits until every node in `nodes` logged a finalized height >= `h`.
    pub fn wait_height(&self, nodes: &[u32], h: u64, timeout: Duration) -> Duration {
        wait_until(
            &format!(
                "[{}] nodes {nodes:?} reach height {h} (now {:?})",
                self.name,
                nodes.iter().map(|i| self.height(*i)).collect::<Vec<_>>()
            ),
            timeout,
            || self.min_height(nodes) >= h,
            || {
                format!(
                    "heights now {:?}\n{}",
                    nodes.iter().map(|i| self.height(*i)).collect::<Vec<_>>(),
                    self.tails(15)
                )
            },
        )
    }

    /// The block hashes of stopped node `i`, index = height (0 = genesis), read from its sled
    /// database. Every hash the node logged as finalized must match the stored block.
    pub fn chain(&self, i: u32) -> Vec<Hash> {
        assert!(
            !self.running(i),
            "open node{i}'s db only when it is stopped"
        );
        let chain = read_chain(&self.node_dir(i), &self.genesis);
        for f in parse_finalized(&self.log(i)) {
            let stored = chain.get(f.height as usize).unwrap_or_else(|| {
                panic!(
                    "[{}] node{i} logged height {} as finalized but its db ends at {}",
                    self.name,
                    f.height,
                    chain.len() - 1
                )
            });
            assert_eq!(
                stored.short(),
                f.hash_short,
                "[{}] node{i} logged hash {} at height {} but stored {}",
                self.name,
                f.hash_short,
                f.height,
                stored.short()
            );
        }
        chain
    }

    /// Opens every (stopped) node's db and checks that all nodes hold the same hash at every
    /// height that two of them have. Returns the chains.
    pub fn assert_no_fork(&self) -> Vec<Vec<Hash>> {
        let chains: Vec<Vec<Hash>> = (0..self.n()).map(|i| self.chain(i)).collect();
        let longest = chains.iter().map(Vec::len).max().unwrap_or(0);
        for h in 0..longest {
            let mut seen: Option<(u32, Hash)> = None;
            for (i, c) in chains.iter().enumerate() {
                if let Some(x) = c.get(h) {
                    match seen {
                        None => seen = Some((i as u32, *x)),
                        Some((j, y)) => assert_eq!(
                            *x,
                            y,
                            "[{}] fork at height {h}: node{i} has {} and node{j} has {}",
                            self.name,
                            x.short(),
                            y.short()
                        ),
                    }
                }
            }
        }
        println!(
            "[{}] no fork: heights {:?} agree on every common height",
            self.name,
            chains.iter().map(|c| c.len() - 1).collect::<Vec<_>>()
        );
        chains
    }

    /// Peak and current RSS (KiB) of node `i`'s process, from /proc/<pid>/status.
    pub fn rss_kib(&self, i: u32) -> (u64, u64) {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid(i))).unwrap();
        let get = |k: &str| {
            s.lines()
                .find(|l| l.starts_with(k))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (get("VmHWM:"), get("VmRSS:"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.procs.iter_mut().flatten() {
            // SIGKILL works on SIGSTOPped processes on Linux; SIGCONT first anyway.
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .stderr(Stdio::null())
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            // Keep the logs of a failed test for inspection.
            let kept = self.tmp.path().to_path_buf();
            let _ =
                std::mem::replace(&mut self.tmp, tempfile::TempDir::new().expect("tempdir")).keep();
            eprintln!("[{}] logs kept in {}", self.name, kept.display());
        }
    }
}

/// Reads the chain of a node's data dir: block hashes by height (index 0 = genesis block).
pub fn read_chain(dir: &Path, genesis: &Genesis) -> Vec<Hash> {
    let (storage, state) = Storage::open(dir, genesis).expect("open node db");
    let mut out = Vec::with_capacity(state.height as usize + 1);
    for h in 0..=state.height {
        let b = storage
            .block(h)
            .expect("read block")
            .unwrap_or_else(|| panic!("{}: block {h} missing below tip", dir.display()));
        assert_eq!(b.header.height, h);
        if h > 0 {
            assert_eq!(
                b.header.prev_hash,
                out[h as usize - 1],
                "{}: block {h} does not link to block {}",
                dir.display(),
                h - 1
            );
        }
        out.push(b.hash());
    }
    assert_eq!(out.last().copied(), Some(state.tip_hash));
    drop(storage);
    out
}

/// Removes ANSI escape sequences.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            for d in it.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// SPEC 8: the state a (stopped, possibly SIGKILLed) node reopens with equals a replay of its
/// stored blocks from genesis (`Storage::reindex` on a copy of its database).
pub fn assert_state_equals_replay(dir: &Path, genesis: &Genesis) -> u64 {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&dir.join("chain.sled"), &copy.path().join("chain.sled")).expect("copy node db");
    let (s, opened) = Storage::open(dir, genesis).expect("open node db");
    drop(s);
    let (s, replayed) = Storage::reindex(copy.path(), genesis).expect("reindex copy of node db");
    drop(s);
    let what = dir.display();
    assert_eq!(opened.height, replayed.height, "{what}: height vs replay");
    assert_eq!(opened.tip_hash, replayed.tip_hash, "{what}: tip vs replay");
    assert_eq!(opened.supply, replayed.supply, "{what}: supply vs replay");
    assert_eq!(
        opened.utxo_count(),
        replayed.utxo_count(),
        "{what}: utxo count vs replay"
    );
    assert_eq!(
        opened.utxo_set_hash(),
        replayed.utxo_set_hash(),
        "{what}: utxo set vs replay"
    );
    let a: Vec<_> = opened.masternodes().cloned().collect();
    let b: Vec<_> = replayed.masternodes().cloned().collect();
    assert_eq!(a, b, "{what}: masternodes vs replay");
    opened.height
}
