//! The bench's working directory (node data dirs and logs) under the system temp dir.

use std::path::PathBuf;

/// A fresh directory under the system temp dir.
pub(super) fn make_temp_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("timecoin-bench.{}.{nanos:x}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the bench dir {}: {e}", dir.display()))?;
    Ok(dir)
}
