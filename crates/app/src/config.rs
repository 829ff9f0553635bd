//! Reading the node's configuration (`accord.toml`): the one place every
//! workflow that needs it (serve, init, ledger, sync) reads and parses it.

use accord_node::config::{Config, ConfigError};
use std::path::{Path, PathBuf};

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadConfigError {
    /// The file could not be read.
    #[error("reading {path} (write one with `accord init`): {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file does not parse or says something impossible; the message
    /// names the file, and the line and column where toml gives them.
    #[error(transparent)]
    Parse(#[from] ConfigError),
}

/// Reads and parses the configuration file at `path`.
///
/// # Errors
/// [`LoadConfigError::Read`] when the file cannot be read,
/// [`LoadConfigError::Parse`] when it is not a valid configuration; both
/// name the file.
pub fn load(path: &Path) -> Result<Config, LoadConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(Config::parse(&text, &path.display().to_string())?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small valid configuration.
    pub(crate) const MINIMAL: &str =
        "data_dir = \"d\"\n[[api_roots]]\nname = \"api1\"\ntitle = \"t\"\n";

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let e = load(&missing).unwrap_err().to_string();
        assert!(e.contains("nope.toml") && e.contains("accord init"), "{e}");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "listen = [").unwrap();
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.toml"), "{e}");
    }

    #[test]
    fn reads_a_minimal_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("accord.toml");
        std::fs::write(&p, MINIMAL).unwrap();
        let c = load(&p).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("d"));
    }
}
