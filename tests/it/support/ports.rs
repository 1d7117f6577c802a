//! One port allocator for every test binary of the suite, and for two suites run side by side.
//!
//! Code that can bind port 0 does (the RPC and P2P tests); this is for what needs known ports
//! before it starts, e.g. a devnet layout (node i: base + 10 i + {0, 1, 2}). The range
//! [`FIRST`, `LAST`) lies below the kernel's ephemeral range (32768+) so that port-0 binds of
//! other tests never land in it, and is cut into blocks of [`BLOCK`] ports. A block belongs to
//! whoever created `/tmp/timecoin-test-ports/block-<k>` (O_EXCL, holding its pid); the block
//! is given back when the [`PortRange`] drops. A lock whose pid is dead (a killed test run) is
//! reclaimed. Blocks are tried from a random one on, and a block is only handed out when all
//! its ports are bindable (something outside the suite may use them).

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Size of one block: enough for a devnet of 10 nodes (base + 10 i + 2 < base + 100).
pub const BLOCK: u16 = 100;
/// First port handed out.
pub const FIRST: u16 = 20_000;
/// End (exclusive) of the ports handed out.
pub const LAST: u16 = 32_700;
const BLOCKS: u16 = (LAST - FIRST) / BLOCK;

/// Where the block locks live (shared by every clone and user of the machine).
pub fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("timecoin-test-ports")
}

/// `len` consecutive ports owned by this test until dropped.
#[derive(Debug)]
pub struct PortRange {
    base: u16,
    len: u16,
    lock: PathBuf,
}

impl PortRange {
    /// The first port.
    pub fn base(&self) -> u16 {
        self.base
    }

    /// Port `i` of the range.
    pub fn port(&self, i: u16) -> u16 {
        assert!(i < self.len, "port {i} outside a range of {}", self.len);
        self.base + i
    }
}

impl Drop for PortRange {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Reserves `len` (at most [`BLOCK`]) consecutive free ports; panics when every block is taken.
pub fn range(len: u16) -> PortRange {
    assert!(
        (1..=BLOCK).contains(&len),
        "a port range holds 1 to {BLOCK} ports"
    );
    let dir = lock_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let start: u16 = rand::random::<u16>() % BLOCKS;
    for k in (0..BLOCKS).map(|i| (start + i) % BLOCKS) {
        let lock = dir.join(format!("block-{k}"));
        if !try_lock(&lock) {
            continue;
        }
        let r = PortRange {
            base: FIRST + k * BLOCK,
            len,
            lock,
        };
        if (0..len).all(|i| bindable(r.port(i))) {
            return r;
        }
        // In use by something else: drop releases the block; try the next one.
    }
    panic!(
        "no free block of {BLOCK} ports in {FIRST}..{LAST} (locks in {})",
        dir.display()
    );
}

/// Shorthand for one port nobody listens on (until the caller binds it), reserved like a range.
pub fn port() -> PortRange {
    range(1)
}

fn bindable(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Creates `lock` holding our pid; a lock left by a dead process is reclaimed first.
pub fn try_lock(lock: &std::path::Path) -> bool {
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock)
        {
            Ok(mut f) => {
                f.write_all(std::process::id().to_string().as_bytes())
                    .unwrap();
                return true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if !reclaim_if_stale(lock) {
                    return false;
                }
            }
            Err(e) => panic!("cannot create port lock {}: {e}", lock.display()),
        }
    }
    false
}

/// Removes `lock` when the process it names is gone. The lock is first renamed to a name only
/// this call uses, so two processes reclaiming the same stale lock cannot both succeed, and a
/// lock that turns out to be live (taken over between the read and the rename) is put back.
fn reclaim_if_stale(lock: &std::path::Path) -> bool {
    static N: AtomicU64 = AtomicU64::new(0);
    let Some(pid) = read_pid(lock) else {
        // Being written right now (created, pid not yet in): live.
        return false;
    };
    if pid_alive(pid) {
        return false;
    }
    let aside = lock.with_extension(format!(
        "reclaim-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::rename(lock, &aside).is_err() {
        return false; // someone else reclaimed or released it
    }
    match read_pid(&aside) {
        Some(p) if p == pid => {
            let _ = std::fs::remove_file(&aside);
            true
        }
        _ => {
            // Not the stale lock we looked at: give it back.
            let _ = std::fs::rename(&aside, lock);
            false
        }
    }
}

fn read_pid(lock: &std::path::Path) -> Option<u32> {
    std::fs::read_to_string(lock).ok()?.trim().parse().ok()
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
