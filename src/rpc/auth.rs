//! HTTP Basic authentication: a cookie file written at start, or a configured user/password.

use super::error::RpcError;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// User name of the cookie credential (as in Bitcoin Core).
pub const COOKIE_USER: &str = "__cookie__";
/// Name of the cookie file in the data dir.
pub const COOKIE_FILE: &str = ".cookie";

/// Accepted credentials. Only SHA-256 digests of the expected `Authorization` header values are
/// kept, and a presented header is compared digest to digest in constant time.
#[derive(Clone)]
pub struct RpcAuth {
    digests: Vec<[u8; 32]>,
}

impl fmt::Debug for RpcAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RpcAuth({} credential(s), redacted)", self.digests.len())
    }
}

/// Removes the cookie file when dropped (keep it alive while the server runs).
#[derive(Debug)]
pub struct CookieGuard {
    path: PathBuf,
}

impl CookieGuard {
    /// Path of the cookie file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CookieGuard {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(target: "rpc", path = %self.path.display(), "cannot remove cookie: {e}");
            }
        }
    }
}

fn header_digest(user: &str, password: &str) -> [u8; 32] {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Sha256::digest(format!("Basic {b64}").as_bytes()).into()
}

impl RpcAuth {
    /// A configured user and password.
    pub fn user_password(user: &str, password: &SecretString) -> RpcAuth {
        RpcAuth {
            digests: vec![header_digest(user, password.expose_secret())],
        }
    }

    /// Writes `data_dir/.cookie` (`__cookie__:<64 hex>`, mode 0600, via a temp file and rename)
    /// and returns the credential and a guard that deletes the file on drop.
    pub fn cookie(data_dir: &Path) -> Result<(RpcAuth, CookieGuard), RpcError> {
        let path = data_dir.join(COOKIE_FILE);
        let tmp = data_dir.join(".cookie.tmp");
        let err = |source| RpcError::Cookie {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(err)?;
        let password = hex::encode(rand::random::<[u8; 32]>());
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let _ = std::fs::remove_file(&tmp);
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(format!("{COOKIE_USER}:{password}").as_bytes())
            .map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(err)?;
        let auth = RpcAuth {
            digests: vec![header_digest(COOKIE_USER, &password)],
        };
        Ok((auth, CookieGuard { path }))
    }

    /// Accepts the credentials of `self` and of `other`.
    pub fn or(mut self, other: RpcAuth) -> RpcAuth {
        self.digests.extend(other.digests);
        self
    }

    /// Whether an `Authorization` header value is accepted (constant time per credential).
    pub fn check(&self, header: &[u8]) -> bool {
        let d: [u8; 32] = Sha256::digest(header).into();
        let mut ok = false;
        for want in &self.digests {
            let diff = want
                .iter()
                .zip(d.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            ok |= diff == 0;
        }
        ok
    }
}

/// Reads a cookie file: returns (user, password).
pub fn read_cookie(path: &Path) -> std::io::Result<(String, String)> {
    let s = std::fs::read_to_string(path)?;
    let s = s.trim();
    match s.split_once(':') {
        Some((u, p)) => Ok((u.to_string(), p.to_string())),
        None => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "cookie file is not user:password",
        )),
    }
}

/// The `Authorization` header value for a user and password.
pub fn basic_header(user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b64}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, guard) = RpcAuth::cookie(dir.path()).unwrap();
        let (u, p) = read_cookie(guard.path()).unwrap();
        assert_eq!(u, COOKIE_USER);
        assert_eq!(p.len(), 64);
        assert!(auth.check(basic_header(&u, &p).as_bytes()));
        assert!(!auth.check(basic_header(&u, "x").as_bytes()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(guard.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let path = guard.path().to_path_buf();
        drop(guard);
        assert!(!path.exists());
    }

    #[test]
    fn user_password() {
        let a = RpcAuth::user_password("alice", &SecretString::from("pw"));
        assert!(a.check(basic_header("alice", "pw").as_bytes()));
        assert!(!a.check(basic_header("alice", "pw2").as_bytes()));
        assert!(!a.check(b""));
        assert!(format!("{a:?}").contains("redacted"));
    }
}
