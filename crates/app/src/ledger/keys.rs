//! The node's keys: its log key (Ed25519, C2SP signed-note signer key)
//! and its witness key (`cosignature/v1`), one per line in the key file
//! (`DATA_DIR/ledger.key`, mode 0600). The log's origin is the log key's
//! name.

use super::LedgerError;
use crate::config::Config;
use accord_ledger::{LogSigner, WitnessSigner};
use std::path::{Path, PathBuf};

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "ledger.key";

/// The node's keys: its log's signer and its witness signer.
#[derive(Debug, Clone)]
pub struct LedgerKeys {
    /// Signs this node's checkpoints; its name is the log's origin.
    pub log: LogSigner,
    /// Cosigns partners' checkpoints.
    pub witness: WitnessSigner,
}

/// The default origin of a node named `name`.
pub fn default_origin(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("accord.{clean}/log")
}

fn witness_name(origin: &str) -> String {
    format!("{}/witness", origin.strip_suffix("/log").unwrap_or(origin))
}

/// Where the key file of a node with this configuration is.
pub fn key_path(config: &Config) -> PathBuf {
    config
        .ledger
        .key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(KEY_FILE))
}

impl LedgerKeys {
    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.log.name()
    }

    /// Reads the key file.
    ///
    /// # Errors
    /// [`LedgerError::Key`].
    pub fn load(path: &Path) -> Result<LedgerKeys, LedgerError> {
        let bad = |reason: String| LedgerError::Key {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let log = LogSigner::from_signer_key(lines.next().unwrap_or("").trim())
            .map_err(|e| bad(format!("line 1: {e}")))?;
        let witness = WitnessSigner::from_signer_key(lines.next().unwrap_or("").trim())
            .map_err(|e| bad(format!("line 2: {e}")))?;
        Ok(LedgerKeys { log, witness })
    }

    /// Creates new keys for `origin` and writes them (mode 0600); refuses
    /// to overwrite a key file.
    ///
    /// # Errors
    /// [`LedgerError::Key`].
    pub fn create(path: &Path, origin: &str) -> Result<LedgerKeys, LedgerError> {
        let bad = |reason: String| LedgerError::Key {
            path: path.to_owned(),
            reason,
        };
        let mut seeds = [0u8; 64];
        getrandom::getrandom(&mut seeds).map_err(|e| bad(format!("no randomness: {e}")))?;
        let (a, b) = seeds.split_at(32);
        let log = LogSigner::from_seed(origin, a.try_into().unwrap_or(&[0; 32]))
            .map_err(|e| bad(e.to_string()))?;
        let witness =
            WitnessSigner::from_seed(&witness_name(origin), b.try_into().unwrap_or(&[0; 32]))
                .map_err(|e| bad(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
        }
        let text = format!("{}\n{}\n", log.signer_key(), witness.signer_key());
        // One process of several starting at once creates the file.
        match crate::secret_file::create_once(path, text.as_bytes()) {
            Ok(true) => {}
            Ok(false) => return Err(bad("the key file exists".into())),
            Err(e) => return Err(bad(e.to_string())),
        }
        Ok(LedgerKeys { log, witness })
    }

    /// Reads the key file, creating it for `origin` when it does not exist.
    ///
    /// # Errors
    /// [`LedgerError::Key`].
    pub fn load_or_create(path: &Path, origin: &str) -> Result<LedgerKeys, LedgerError> {
        if path.exists() {
            return LedgerKeys::load(path);
        }
        match LedgerKeys::create(path, origin) {
            // Another process created them first: theirs are the keys.
            Err(_) if path.exists() => LedgerKeys::load(path),
            r => r,
        }
    }

    /// The keys of the node configured by `config` (created if missing).
    ///
    /// # Errors
    /// [`LedgerError::Key`].
    pub fn for_config(config: &Config) -> Result<LedgerKeys, LedgerError> {
        let origin = config
            .ledger
            .origin
            .clone()
            .unwrap_or_else(|| default_origin(&config.title));
        LedgerKeys::load_or_create(&key_path(config), &origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_starting_at_once_share_one_set_of_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("ledger.key");
        let keys: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| LedgerKeys::load_or_create(&path, "a.example/log").unwrap()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().log.signer_key())
                .collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        assert_eq!(LedgerKeys::load(&path).unwrap().log.signer_key(), keys[0]);
        // Nothing left behind but the key file; a second create refuses.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["ledger.key"]);
        assert!(LedgerKeys::create(&path, "a.example/log").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
