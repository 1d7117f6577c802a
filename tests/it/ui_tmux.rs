//! End to end through the real terminal: the devnet UI in tmux, a send through the form, quit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use crate::support::rerun::{only, test_name};
use crate::support::{clean_env_shell, empty_config, ports, TIMED};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

struct Session {
    name: String,
}

/// `tmux` on the session's own server (socket named after the session): tests that start
/// sessions at once never race to start, or find half-started, one shared server.
fn tmux_on(name: &str) -> Command {
    let mut c = Command::new("tmux");
    c.args(["-L", name]);
    c
}

impl Session {
    /// A detached session running `cmd`, named after this process and a counter, so that
    /// another run of the suite (or another test here) never reuses, or kills, it.
    fn start(what: &str, cmd: &str) -> Session {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "timecoin_{what}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let st = tmux_on(&name)
            .env("TERM", "xterm-256color")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "120",
                "-y",
                "40",
                cmd,
            ])
            .status()
            .expect("tmux must be installed (.ci/run installs it)");
        assert!(st.success());
        Session { name }
    }

    fn screen(&self) -> String {
        let out = tmux_on(&self.name)
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        assert!(tmux_on(&self.name).args(&args).status().unwrap().success());
    }

    fn literal(&self, text: &str) {
        assert!(tmux_on(&self.name)
            .args(["send-keys", "-t", &self.name, "-l", text])
            .status()
            .unwrap()
            .success());
    }

    /// The screen with its colours and attributes as escape sequences.
    fn screen_styled(&self) -> String {
        let out = tmux_on(&self.name)
            .args(["capture-pane", "-e", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pid of the pane's first child: the command the pane's shell runs.
    fn child_pid(&self) -> u32 {
        let out = tmux_on(&self.name)
            .args(["display", "-p", "-t", &self.name, "#{pane_pid}"])
            .output()
            .unwrap();
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        children
            .split_whitespace()
            .next()
            .unwrap_or_else(|| panic!("the pane's shell {shell} runs nothing"))
            .parse()
            .unwrap()
    }

    fn alternate_screen(&self) -> bool {
        let out = tmux_on(&self.name)
            .args(["display", "-p", "-t", &self.name, "#{alternate_on}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Waits until `pred` holds for the screen, or fails with the last screen.
    fn wait_for(&self, what: &str, deadline: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The session's server goes with it, and so does its socket file.
        let socket = tmux_on(&self.name)
            .args(["display", "-p", "#{socket_path}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let _ = tmux_on(&self.name).arg("kill-server").output();
        if !socket.is_empty() {
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// What the pane's shell runs after the command: its exit code and the terminal's line
/// discipline (`TTY icanon echo` when restored, `-icanon -echo` when left raw).
const AFTER: &str = "echo EXITED=$?; echo \"TTY $(stty -a | tr ' ;' '\\n\\n' | grep -x -e -icanon -e icanon -e -echo -e echo | tr '\\n' ' ')\"; sleep 120";

/// Whether `text` (a `capture-pane -e` screen) sets a colour: an SGR parameter 30-38, 40-48,
/// 90-97 or 100-107 (39 and 49, the defaults, are not colours).
fn has_colour(text: &str) -> bool {
    text.split("\x1b[").skip(1).any(|seq| {
        let Some(end) = seq.find(|c: char| !(c.is_ascii_digit() || c == ';')) else {
            return false;
        };
        if seq.as_bytes()[end] != b'm' {
            return false;
        }
        seq[..end].split(';').any(|p| {
            matches!(
                p.parse::<u32>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            )
        })
    })
}

/// A one-node devnet UI in tmux with `config` as its config file (in its own dir and ports),
/// then [`AFTER`].
fn devnet_ui(what: &str, config: &str) -> (Session, tempfile::TempDir, ports::PortRange) {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports::range(40);
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config).unwrap();
    let cmd = format!(
        "{} {TIMED} --config {} devnet --nodes 1 --base-port {} --datadir {}; {AFTER}",
        clean_env_shell(),
        cfg.display(),
        ports.base(),
        dir.path().display()
    );
    (Session::start(what, &cmd), dir, ports)
}

/// The command exited 0 and left the terminal as it found it: no alternate screen, cooked
/// mode with echo.
fn assert_restored(s: &Session, what: &str) {
    let sc = s.wait_for(&format!("{what}: exit"), Duration::from_secs(30), |sc| {
        sc.contains("TTY ")
    });
    assert!(sc.contains("EXITED=0"), "{what}:\n{sc}");
    assert!(
        sc.contains("TTY icanon echo"),
        "{what}: terminal left raw:\n{sc}"
    );
    assert!(
        !s.alternate_screen(),
        "{what}: left in the alternate screen"
    );
}

/// `[tui] theme = "mono"` reaches the terminal (no colour at all, the selection in reverse
/// video), `[wallet] auto_lock_secs` reaches the wallet (an unlock from the UI locks again
/// after 3 s), and Ctrl-C quits with the terminal restored.
#[test]
fn config_theme_and_auto_lock_reach_the_ui_and_ctrl_c_restores() {
    let (s, _dir, _ports) = devnet_ui(
        "ui_mono",
        "[tui]\ntheme = \"mono\"\n[wallet]\nauto_lock_secs = 3\n",
    );
    s.wait_for("a finalized height >= 1", Duration::from_secs(60), |sc| {
        height_on_screen(sc).unwrap_or(0) >= 1
    });
    let styled = s.screen_styled();
    assert!(
        !has_colour(&styled),
        "colour in the mono theme:\n{styled:?}"
    );
    assert!(
        styled.contains("\x1b[7m") || styled.contains(";7m"),
        "no reverse video"
    );

    s.keys(&["6"]);
    s.wait_for("the wallet tab", Duration::from_secs(10), |sc| {
        sc.contains("DEVNET FAUCET")
    });
    s.keys(&["l"]);
    s.wait_for("locked", Duration::from_secs(10), |sc| {
        sc.contains("locked (u to unlock)")
    });
    s.keys(&["u"]);
    s.literal("any");
    s.keys(&["Enter"]);
    s.wait_for("unlocked for 3 s", Duration::from_secs(10), |sc| {
        ["3s", "2s", "1s"]
            .iter()
            .any(|t| sc.contains(&format!("auto-lock in {t})")))
    });
    s.wait_for("locked again", Duration::from_secs(10), |sc| {
        sc.contains("locked (u to unlock)")
    });
    s.keys(&["C-c"]);
    assert_restored(&s, "Ctrl-C");
}

/// SIGTERM and SIGINT (Ctrl-C from outside the UI) stop the node gracefully and restore the
/// terminal; two devnets side by side, one signal each.
#[test]
fn sigterm_and_sigint_restore_the_terminal() {
    let empty = "";
    let term = devnet_ui("ui_sigterm", empty);
    let int = devnet_ui("ui_sigint", empty);
    for (s, _, _) in [&term, &int] {
        s.wait_for("a finalized height >= 1", Duration::from_secs(60), |sc| {
            height_on_screen(sc).unwrap_or(0) >= 1
        });
        assert!(s.alternate_screen(), "the UI runs in the alternate screen");
    }
    for (sig, (s, _, _)) in [("-TERM", &term), ("-INT", &int)] {
        let pid = s.child_pid();
        assert!(Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success());
    }
    assert_restored(&term.0, "SIGTERM");
    assert_restored(&int.0, "SIGINT");
}

const PANIC_CHILD_ENV: &str = "TIMECOIN_UI_PANIC_CHILD";

/// Run only by [`a_panic_restores_the_terminal`], inside tmux: enters the UI's terminal (the
/// node's own init path, with its panic hook), draws, waits for the parent to see it, panics.
#[test]
#[ignore = "the child of a_panic_restores_the_terminal"]
fn panic_child() {
    let Some(go) = std::env::var_os(PANIC_CHILD_ENV) else {
        panic!("run by a_panic_restores_the_terminal only");
    };
    let mut t = timecoin::app::theme::init_terminal(timecoin::config::Theme::Dark).unwrap();
    t.draw(|f| {
        f.render_widget(
            ratatui::widgets::Paragraph::new("PANIC CHILD DRAWN"),
            f.area(),
        )
    })
    .unwrap();
    let start = Instant::now();
    while !std::path::Path::new(&go).exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("deliberate panic inside the UI");
}

/// A panic while the UI owns the terminal restores it before the message is printed.
#[test]
fn a_panic_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let exe = std::env::current_exe().unwrap();
    let cmd = format!(
        "{} {PANIC_CHILD_ENV}={} {} {} --ignored; {AFTER}",
        clean_env_shell(),
        go.display(),
        exe.display(),
        only(&test_name(module_path!(), "panic_child")).join(" ")
    );
    let s = Session::start("ui_panic", &cmd);
    s.wait_for("the child's frame", Duration::from_secs(30), |sc| {
        sc.contains("PANIC CHILD DRAWN")
    });
    assert!(s.alternate_screen());
    std::fs::write(&go, "").unwrap();
    let sc = s.wait_for("exit", Duration::from_secs(30), |sc| sc.contains("TTY "));
    assert!(!sc.contains("EXITED=0"), "the child did not panic:\n{sc}");
    assert!(sc.contains("deliberate panic inside the UI"), "{sc}");
    assert!(sc.contains("TTY icanon echo"), "terminal left raw:\n{sc}");
    assert!(!s.alternate_screen(), "left in the alternate screen");
}

fn height_on_screen(s: &str) -> Option<u64> {
    let i = s.find("height ")?;
    s[i + 7..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn devnet_ui_sends_coins_and_quits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports::range(50);
    // The pane gets the tmux server's environment, not this test's: the command cleans it.
    let cmd = format!(
        "{} {TIMED} --config {} devnet --base-port {} --datadir {}; echo EXITED=$?; sleep 120",
        clean_env_shell(),
        empty_config(dir.path()).display(),
        ports.base(),
        dir.path().display()
    );
    let s = Session::start("ui_e2e", &cmd);
    s.wait_for("a finalized height >= 2", Duration::from_secs(60), |sc| {
        height_on_screen(sc).unwrap_or(0) >= 2
    });
    // The default theme draws in colour (the control of the mono test's check).
    assert!(
        has_colour(&s.screen_styled()),
        "no colour in the default theme"
    );

    // Tabs switch.
    s.keys(&["2"]);
    s.wait_for("the consensus tab", Duration::from_secs(10), |sc| {
        sc.contains("Prevote") || sc.contains("prevote")
    });
    s.keys(&["6"]);
    s.wait_for("the wallet tab", Duration::from_secs(10), |sc| {
        sc.contains("DEVNET FAUCET")
    });

    // A new receive address.
    s.keys(&["n"]);
    s.literal("e2e");
    s.keys(&["Enter"]);
    let sc = s.wait_for("the new address notice", Duration::from_secs(10), |sc| {
        sc.contains("new address dtime1")
    });
    let addr: String = sc[sc.find("new address ").unwrap() + 12..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    assert!(addr.starts_with("dtime1"), "{addr}");

    // Send 1.5 TIME to it through the form.
    s.keys(&["s"]);
    s.wait_for("the send form", Duration::from_secs(10), |sc| {
        sc.contains("Send TIME")
    });
    s.literal(&addr);
    s.keys(&["Tab"]);
    s.literal("1.5");
    s.keys(&["Enter"]);
    s.wait_for("the confirmation", Duration::from_secs(20), |sc| {
        sc.contains("Confirm send") && sc.contains("Fee")
    });
    s.keys(&["y"]);
    s.wait_for("the sent notice", Duration::from_secs(20), |sc| {
        sc.contains("sent")
    });
    s.keys(&["Escape"]);
    s.wait_for(
        "the send final in the history",
        Duration::from_secs(30),
        |sc| {
            sc.lines()
                .any(|l| l.contains("1.50000000") && l.contains("final"))
        },
    );

    // Quit restores the terminal and exits 0.
    s.keys(&["q"]);
    s.wait_for("exit", Duration::from_secs(30), |sc| sc.contains("EXITED="));
    let sc = s.screen();
    assert!(sc.contains("EXITED=0"), "{sc}");
    assert!(
        !s.alternate_screen(),
        "terminal left in the alternate screen"
    );
}

/// A headless devnet in its own process, killed (SIGTERM, then SIGKILL) when dropped.
struct NodeProcess {
    child: std::process::Child,
}

impl NodeProcess {
    fn start(config: &std::path::Path, base: u16, datadir: &std::path::Path) -> NodeProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(datadir.with_extension("log"))
            .unwrap();
        let child = support::timed()
            .arg("--config")
            .arg(config)
            .args(["devnet", "--headless", "--base-port", &base.to_string()])
            .arg("--datadir")
            .arg(datadir)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        NodeProcess { child }
    }

    /// SIGTERM (a graceful stop) and waits for the exit.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.wait();
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if self.running() {
            self.stop();
        }
    }
}

/// `timed attach` in tmux against a headless devnet in another process: heights move, the
/// Consensus tab shows every masternode's votes with their delays, a send through the UI
/// becomes final, the node restarts and the UI reconnects by itself, `q` leaves the node running.
#[test]
fn attach_follows_a_node_in_another_process() {
    let dir = tempfile::tempdir().unwrap();
    // 4 masternodes and the full node (node4) that holds the faucet wallet.
    let ports = ports::range(50);
    let config = dir.path().join("devnet.toml");
    std::fs::write(&config, format!("[devnet]\nbase_port = {}\n", ports.base())).unwrap();
    let datadir = dir.path().join("devnet");
    let mut node = NodeProcess::start(&config, ports.base(), &datadir);
    // No --rpc-url: attach finds the in-process devnet's wallet node and its cookie itself.
    let cmd = format!(
        "{} {TIMED} --config {} --datadir {} attach; echo EXITED=$?; sleep 120",
        clean_env_shell(),
        config.display(),
        datadir.display(),
    );
    // Until the node wrote its cookie, attach refuses with a one-line error: start it again
    // until the UI is up.
    let deadline = Instant::now() + Duration::from_secs(60);
    let s = loop {
        let s = Session::start("attach", &cmd);
        let sc = s.wait_for("the UI or an exit", Duration::from_secs(30), |sc| {
            sc.contains("EXITED=") || height_on_screen(sc).is_some()
        });
        if !sc.contains("EXITED=") {
            break s;
        }
        assert!(Instant::now() < deadline, "attach never came up:\n{sc}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let sc = s.wait_for("a finalized height >= 2", Duration::from_secs(60), |sc| {
        height_on_screen(sc).unwrap_or(0) >= 2
    });
    let first = height_on_screen(&sc).unwrap();
    s.wait_for("heights moving", Duration::from_secs(30), |sc| {
        height_on_screen(sc).is_some_and(|h| h > first)
    });

    // Every masternode's prevote, with how long after the round start it arrived.
    s.keys(&["2"]);
    s.wait_for(
        "each masternode's votes on the Consensus tab",
        Duration::from_secs(30),
        |sc| {
            (0..4).all(|i| {
                sc.lines()
                    .any(|l| l.contains(&format!("node{i}")) && l.contains('✓') && l.contains("ms"))
            })
        },
    );
    assert!(!s.screen().contains("no validator set"));

    s.keys(&["6"]);
    s.wait_for("the wallet tab", Duration::from_secs(10), |sc| {
        sc.contains("DEVNET FAUCET")
    });
    s.keys(&["n"]);
    s.literal("attach");
    s.keys(&["Enter"]);
    let sc = s.wait_for("the new address notice", Duration::from_secs(20), |sc| {
        sc.contains("new address dtime1")
    });
    let addr: String = sc[sc.find("new address ").unwrap() + 12..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    s.keys(&["s"]);
    s.wait_for("the send form", Duration::from_secs(10), |sc| {
        sc.contains("Send TIME")
    });
    s.literal(&addr);
    s.keys(&["Tab"]);
    s.literal("2.25");
    s.keys(&["Enter"]);
    s.wait_for("the confirmation", Duration::from_secs(20), |sc| {
        sc.contains("Confirm send") && sc.contains("Fee")
    });
    s.keys(&["y"]);
    s.wait_for("the sent notice", Duration::from_secs(20), |sc| {
        sc.contains("sent")
    });
    s.keys(&["Escape"]);
    s.wait_for(
        "the send final in the history",
        Duration::from_secs(30),
        |sc| {
            sc.lines()
                .any(|l| l.contains("2.25000000") && l.contains("final"))
        },
    );

    // The node goes away: the UI says so and keeps its data; it comes back: the UI follows.
    node.stop();
    let sc = s.wait_for("the disconnected notice", Duration::from_secs(20), |sc| {
        sc.contains("disconnected, retrying")
    });
    let before = height_on_screen(&sc).unwrap();
    let mut node = NodeProcess::start(&config, ports.base(), &datadir);
    s.wait_for(
        "the UI reconnected and heights moving again",
        Duration::from_secs(60),
        |sc| !sc.contains("disconnected") && height_on_screen(sc).is_some_and(|h| h > before),
    );

    s.keys(&["q"]);
    s.wait_for("exit", Duration::from_secs(30), |sc| sc.contains("EXITED="));
    let sc = s.screen();
    assert!(sc.contains("EXITED=0"), "{sc}");
    assert!(
        !s.alternate_screen(),
        "terminal left in the alternate screen"
    );
    assert!(node.running(), "q stopped the node");
    let url = format!("http://127.0.0.1:{}", ports.base() + 1);
    let out = support::time_cli()
        .args(["--rpc-url", &url, "--datadir"])
        .arg(&datadir)
        .arg("getblockcount")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    node.stop();
}
