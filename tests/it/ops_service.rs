//! What an operator installs: the systemd unit (`assets/timed.service`) checked by
//! `systemd-analyze verify` and its exact `timed` command line run headless and stopped with
//! SIGTERM, and the shell completions of `timed completions`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use crate::support::{ports, timed};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UNIT: &str = include_str!("../../assets/timed.service");
/// Paths of the unit that the tests move into their own temp dirs.
const UNIT_BINARY: &str = "/usr/local/bin/timed";
const UNIT_CONFIG: &str = "/etc/timecoin/config.toml";
const UNIT_DATADIR: &str = "/var/lib/timecoin";

/// The value of `key=` in the unit (the last one, as systemd takes it for single values).
fn unit_value(key: &str) -> String {
    UNIT.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .next_back()
        .unwrap_or_else(|| panic!("no {key}= in assets/timed.service"))
        .trim()
        .to_string()
}

/// `ExecStart=` with the unit's paths replaced by `config` and `datadir`.
fn exec_start(config: &Path, datadir: &Path) -> Vec<String> {
    let line = unit_value("ExecStart");
    let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    assert_eq!(words[0], UNIT_BINARY, "{line}");
    words.remove(0);
    for w in &mut words {
        if w == UNIT_CONFIG {
            *w = config.display().to_string();
        } else if w == UNIT_DATADIR {
            *w = datadir.display().to_string();
        }
    }
    for want in ["--headless", "--config", "--datadir"] {
        assert!(
            words.iter().any(|w| w == want),
            "ExecStart lacks {want}: {line}"
        );
    }
    words
}

/// `systemd-analyze verify` (Debian package systemd; no running systemd needed) accepts the
/// unit, with the binary path pointed at the one under test (verify checks it exists).
#[test]
fn service_unit_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("timed.service");
    std::fs::write(&unit, UNIT.replace(UNIT_BINARY, support::TIMED)).unwrap();
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run systemd-analyze ({e}): install Debian's systemd package (.ci/run does)"
            )
        });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "systemd-analyze verify:\n{report}");
    assert!(
        !report.contains("timed.service"),
        "systemd-analyze verify complains about the unit:\n{report}"
    );
    for (key, want) in [
        ("User", "timecoin"),
        ("KillSignal", "SIGTERM"),
        ("Restart", "on-failure"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("ReadWritePaths", UNIT_DATADIR),
        ("StateDirectory", "timecoin"),
    ] {
        assert_eq!(unit_value(key), want, "{key}=");
    }
}

/// The heights of the `finalized height=N` lines of a log, in order.
fn finalized_heights(text: &str) -> impl DoubleEndedIterator<Item = u64> + '_ {
    text.lines().filter_map(|l| {
        let rest = &l[l.find("finalized height=")? + "finalized height=".len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    })
}

/// The last `finalized height=N` in the node's log file.
fn last_finalized(log: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(log).ok()?;
    let last = finalized_heights(&text).next_back();
    last
}

/// Runs the unit's command line until the node finalizes a block, stops it with SIGTERM and
/// returns (its stderr, how long the stop took).
fn run_and_term(args: &[String], datadir: &Path, past: u64) -> (String, Duration) {
    let stderr_path = datadir.join("stderr.journal");
    let child = timed()
        .args(args)
        .current_dir(datadir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(child);
    let log = datadir.join("timed.log");
    let start = Instant::now();
    while last_finalized(&log).is_none_or(|h| h <= past) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no block past {past} within 60 s: {}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
        assert!(child.0.try_wait().unwrap().is_none(), "timed exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stop = Instant::now();
    let st = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let limit = Duration::from_secs(
        unit_value("TimeoutStopSec")
            .parse()
            .expect("TimeoutStopSec in seconds"),
    );
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            stop.elapsed() < limit,
            "still running {limit:?} after SIGTERM: systemd would SIGKILL it"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = stop.elapsed();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(status.success(), "exit {status} after SIGTERM:\n{stderr}");
    (stderr, took)
}

/// The unit's exact command line (`--headless --config ... --datadir ...`, in the data dir as
/// working directory) on an empty data dir: the node starts, finalizes, and on SIGTERM stops
/// within a fraction of TimeoutStopSec with exit 0 (so Restart=on-failure leaves it stopped),
/// its last log line saying the storage was flushed; its stderr (the journal) has no colour
/// codes; started again it continues from the height it had.
#[test]
fn service_command_line_stops_gracefully_on_sigterm() {
    let root = tempfile::tempdir().unwrap();
    let ports = ports::range(10);
    // A one-masternode devnet config (it finalizes alone), as /etc/timecoin/config.toml.
    let init = root.path().join("init");
    let o = timed()
        .args(["devnet", "init", "--nodes", "1", "--base-port"])
        .arg(ports.base().to_string())
        .arg("--dir")
        .arg(&init)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let etc = root.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    let config: PathBuf = etc.join("config.toml");
    std::fs::copy(init.join("node0").join("config.toml"), &config).unwrap();
    // StateDirectory=: systemd creates the data dir, empty.
    let datadir = root.path().join("var-lib-timecoin");
    std::fs::create_dir(&datadir).unwrap();
    let args = exec_start(&config, &datadir);

    let (stderr, took) = run_and_term(&args, &datadir, 0);
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in the journal:\n{stderr}"
    );
    assert!(stderr.contains("shutdown requested"), "{stderr}");
    assert!(
        stderr
            .trim_end()
            .lines()
            .last()
            .unwrap_or("")
            .contains("stopped, storage flushed"),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(30),
        "SIGTERM took {took:?} to stop the node"
    );
    // The RPC cookie is removed on a clean stop, as Bitcoin Core does.
    assert!(!datadir.join(".cookie").exists());
    for f in ["timed.log", "chain.sled"] {
        assert!(datadir.join(f).exists(), "{f} not in the data dir");
    }
    let height = last_finalized(&datadir.join("timed.log")).unwrap();

    // Restart=on-failure / an upgrade: the same command line continues the chain.
    let (stderr, _) = run_and_term(&args, &datadir, height);
    let first = finalized_heights(&stderr).next().unwrap();
    assert_eq!(
        first,
        height + 1,
        "restarted at {first}, not after {height}:\n{stderr}"
    );
}

/// `timed completions bash|zsh|fish`: a script for each shell that knows the subcommands;
/// bash's loads and registers a completion for `timed`.
#[test]
fn completions_for_each_shell() {
    use clap::CommandFactory;
    let cli = timecoin::app::args::Cli::command();
    let subcommands: Vec<&str> = cli
        .get_subcommands()
        .map(|c| c.get_name())
        .filter(|n| *n != "help")
        .collect();
    assert!(subcommands.contains(&"completions"), "{subcommands:?}");
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef timed"),
        ("fish", "complete -c timed"),
    ] {
        let o = timed()
            .args(["completions", shell])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let script = String::from_utf8(o.stdout).unwrap();
        assert!(
            o.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            script.contains(marker),
            "{shell} script without {marker:?}:\n{script}"
        );
        for sub in &subcommands {
            assert!(
                script.contains(sub),
                "{shell} script does not know `timed {sub}`"
            );
        }
        // fish names long flags without the dashes (`-l headless`).
        for flag in ["headless", "datadir", "rpc-url"] {
            assert!(script.contains(flag), "{shell} script does not know {flag}");
        }
        std::fs::write(dir.path().join(shell), &script).unwrap();
    }
    let o = Command::new("bash")
        .arg("-c")
        .arg("source ./bash && complete -p timed")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("timed"),
        "bash did not load the script: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Not a shell: a one-line error naming the choices.
    let o = timed()
        .args(["completions", "powershell-9"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("bash") && e.contains("zsh") && e.contains("fish"),
        "{e}"
    );
}
