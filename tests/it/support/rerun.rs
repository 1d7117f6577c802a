//! One test of this binary in a process of its own. Every test of `tests/it` shares one process;
//! a test that changes or measures the whole process (its network namespace, its peak memory)
//! re-runs this binary on itself alone instead, and so does a parent test whose child must be a
//! process it can kill or watch die.

use std::process::Command;

/// Set in the environment of a re-run made by [`alone_in`]: there the test runs its body.
const RERUN_ENV: &str = "TIMECOIN_TEST_RERUN";

/// The name libtest gives the test function `name` of the module `module` (pass
/// `module_path!()`): the module path without the crate's name, e.g.
/// `p2p_bad_input::one_ip_cannot_hold_every_handshake_slot`, as `--exact` selects it.
pub fn test_name(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{name}"),
        None => name.to_string(),
    }
}

/// Arguments that make this binary run exactly the test `name` (a [`test_name`]), printing its
/// output, on one thread.
pub fn only(name: &str) -> [&str; 4] {
    ["--exact", name, "--nocapture", "--test-threads=1"]
}

/// Gives the test `name` (a [`test_name`]) a process to itself: unless already inside,
/// re-runs this binary on that test alone with `launcher` before it (e.g. `unshare --net --`;
/// empty to start it directly), asserts that the re-run passed, and returns `false` (the caller
/// returns: its body ran inside). Inside, returns `true` (the caller runs its body). `needs`
/// says what the launcher requires, for the failure message: such a test never passes by
/// skipping.
pub fn alone_in(name: &str, launcher: &[&str], needs: &str) -> bool {
    if std::env::var_os(RERUN_ENV).is_some() {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match launcher.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let out = cmd
        .args(only(name))
        .env(RERUN_ENV, "1")
        .output()
        .unwrap_or_else(|e| panic!("{name}: cannot start its own process ({needs}): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("--- {name} in its own process ---\n{stdout}{stderr}");
    assert!(
        out.status.success(),
        "{name} failed in its own process, or the process could not be made ({needs}): {stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "{name} did not run in its own process"
    );
    false
}

/// [`alone_in`] started directly: for a test that measures the whole process.
pub fn alone(name: &str) -> bool {
    alone_in(name, &[], "nothing but this binary")
}
