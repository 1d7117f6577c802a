//! What an operator installs: the shell completions of `timed completions`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use support::timed;

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
