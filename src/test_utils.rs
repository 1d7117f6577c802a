//! Helpers for tests and benchmarks that belong to no one domain (the domains' own test
//! doubles are `ledger::testkit` and `rpc::mock`). Built only for tests and with the
//! `test-utils` feature, like them.

use std::path::Path;

/// Copies the directory tree `from` into `to` (created with any missing parents), file by
/// file: a copy of a sled database's files, taken open or closed, to reopen or reindex apart
/// from the original.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_dir_copies_nested_files_and_reports_a_missing_source() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("conf"), b"top").unwrap();
        std::fs::create_dir_all(src.path().join("blobs/deep")).unwrap();
        std::fs::write(src.path().join("blobs/deep/1"), b"nested").unwrap();
        let dst = tempfile::tempdir().unwrap();
        let to = dst.path().join("a/b");
        copy_dir(src.path(), &to).unwrap();
        assert_eq!(std::fs::read(to.join("conf")).unwrap(), b"top");
        assert_eq!(std::fs::read(to.join("blobs/deep/1")).unwrap(), b"nested");
        let missing = copy_dir(&src.path().join("absent"), &dst.path().join("c"));
        assert_eq!(
            missing.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::NotFound)
        );
    }
}
