//! Creating a node's secret files (the log's keys, the pseudonym secret)
//! once, safely when several processes start at once on one data
//! directory (a cluster's containers sharing a volume): the bytes are
//! written whole and synced under a name of their own, then linked into
//! place. The link fails when the file exists, so exactly one process
//! creates it and no process ever reads a half-written file.

use std::io::Write;
use std::path::Path;

/// Creates `path` holding `bytes` (mode 0600 on Unix), unless it exists.
/// Returns `Ok(false)` when another process (or an earlier run) created it
/// first: read that one.
///
/// # Errors
/// The I/O error of writing, syncing or linking (not "it exists").
pub fn create_once(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    // A temporary name of its own per call (random, nothing of `bytes`).
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".new-{}-{:016x}",
        std::process::id(),
        u64::from_le_bytes(nonce)
    ));
    let tmp = path.with_file_name(name);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            // The new directory entry, durable too.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_many_creates_and_nothing_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let created: Vec<bool> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8u8)
                .map(|i| {
                    let path = &path;
                    s.spawn(move || create_once(path, &[i; 32]).unwrap())
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(created.iter().filter(|c| **c).count(), 1);
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 32);
        assert!(got.iter().all(|b| *b == got[0]));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
