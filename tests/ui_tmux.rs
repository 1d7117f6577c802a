//! End to end through the real terminal: the devnet UI in tmux, a send through the form, quit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use support::{clean_env_shell, empty_config, ports, TIMED};

struct Session {
    name: String,
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
        let st = Command::new("tmux")
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
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
    }

    fn literal(&self, text: &str) {
        assert!(Command::new("tmux")
            .args(["send-keys", "-t", &self.name, "-l", text])
            .status()
            .unwrap()
            .success());
    }

    fn alternate_screen(&self) -> bool {
        let out = Command::new("tmux")
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
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .output();
    }
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
