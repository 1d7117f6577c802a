//! How a client finds a node's credentials: `time-cli`, `timed attach` and `timed wallet` share
//! this, so a cookie found by one is found by all.

use super::auth::{basic_header, read_cookie, COOKIE_FILE};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why no `Authorization` header could be made.
#[derive(Debug, Error)]
pub enum EndpointError {
    /// The cookie file is missing or unreadable (the node is not running, or runs elsewhere).
    #[error("cannot read the RPC cookie {}: {source}", path.display())]
    Cookie {
        /// The cookie path that was read.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Credentials of a node's RPC server.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// The node's `.cookie` file, read again at every [`Credentials::header`] call (a restarted
    /// node writes a new one).
    Cookie(PathBuf),
    /// Configured `[rpc] user` and `password`.
    UserPassword {
        /// The configured `[rpc] user`.
        user: String,
        /// The configured `[rpc] password`.
        password: SecretString,
    },
}

/// The cookie of a data dir: `DIR/.cookie`, or `DIR/node0/.cookie` when only that one exists
/// (the in-process devnet, `timed devnet` and `cargo run`, keeps node 0 there).
pub fn cookie_path(data_dir: &Path) -> PathBuf {
    let direct = data_dir.join(COOKIE_FILE);
    let node0 = data_dir.join("node0").join(COOKIE_FILE);
    if !direct.exists() && node0.exists() {
        node0
    } else {
        direct
    }
}

impl Credentials {
    /// The HTTP `Authorization` header value.
    pub fn header(&self) -> Result<String, EndpointError> {
        match self {
            Credentials::Cookie(path) => read_cookie(path)
                .map(|(u, p)| basic_header(&u, &p))
                .map_err(|source| EndpointError::Cookie {
                    path: path.clone(),
                    source,
                }),
            Credentials::UserPassword { user, password } => {
                Ok(basic_header(user, password.expose_secret()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_devnet_cookie_of_node0_is_found_and_reread() {
        let dir = std::env::temp_dir().join(format!("timecoin-endpoint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("node0")).expect("temp dir");
        assert_eq!(cookie_path(&dir), dir.join(COOKIE_FILE));
        std::fs::write(dir.join("node0").join(COOKIE_FILE), "__cookie__:a").expect("write");
        let c = Credentials::Cookie(cookie_path(&dir));
        let first = c.header().expect("cookie read");
        std::fs::write(dir.join("node0").join(COOKIE_FILE), "__cookie__:b").expect("write");
        assert_ne!(c.header().expect("cookie read again"), first);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(c.header(), Err(EndpointError::Cookie { .. })));
    }
}
