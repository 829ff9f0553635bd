//! The node's data directory: one default for every command, and the rule
//! of who may create a store there.
//!
//! `ingest`, `demo`, `init`, `sync` and `serve` create a missing store;
//! `export`, `match` (when it reads the store) and `ledger …` only read one,
//! so they refuse a directory without a store instead of creating an empty
//! one there (a mistyped `--data` would otherwise "work" and find nothing).

use accord_stix::Clock;
use accord_store::{DB_FILE_NAME, OpenOptions, SqliteStore, StoreError};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;

/// The data directory of every command when neither `--data` nor
/// `$ACCORD_DATA` names one.
pub const DEFAULT_DATA: &str = "accord-data";

/// The environment variable that names the data directory.
pub const DATA_ENV: &str = "ACCORD_DATA";

/// Whether `dir` holds a store.
pub fn has_store(dir: &Path) -> bool {
    dir.join(DB_FILE_NAME).is_file()
}

/// The error of a command that needs the store in `dir` and finds none:
/// which directory it looked at, where that name came from when it was
/// `$ACCORD_DATA`, and how to make a store.
pub fn no_store(dir: &Path) -> anyhow::Error {
    let why = if dir.is_dir() {
        format!("it has no {DB_FILE_NAME}")
    } else {
        "the directory does not exist".to_owned()
    };
    let from_env = match std::env::var_os(DATA_ENV) {
        Some(v) if Path::new(&v) == dir => format!(" (from ${DATA_ENV})"),
        _ => String::new(),
    };
    anyhow::anyhow!(
        "no Accord store in {}{from_env}: {why}; create one with `accord ingest FILE…`, `accord demo` or `accord init`, or give --data DIR of an existing node",
        dir.display()
    )
}

/// Fails with [`no_store`] unless `dir` holds a store.
pub fn require_store(dir: &Path) -> Result<()> {
    if has_store(dir) {
        Ok(())
    } else {
        Err(no_store(dir))
    }
}

/// Opens the existing store in `dir`, creating nothing.
pub fn open_existing(dir: &Path, clock: &Arc<dyn Clock>) -> Result<SqliteStore> {
    let opts = OpenOptions::new().create(false).clock(Arc::clone(clock));
    match SqliteStore::open_with(dir, &opts) {
        Ok(s) => Ok(s),
        Err(StoreError::NoStore { .. }) => Err(no_store(dir)),
        Err(e) => Err(e).with_context(|| format!("opening the data directory {}", dir.display())),
    }
}

/// Opens the store in `dir`, creating the directory and an empty store
/// when missing.
pub fn open_or_create(dir: &Path, clock: &Arc<dyn Clock>) -> Result<SqliteStore> {
    SqliteStore::open_with(dir, &OpenOptions::new().clock(Arc::clone(clock)))
        .with_context(|| format!("opening the data directory {}", dir.display()))
}

/// Opens the store of the node `config` describes: the cluster's
/// PostgreSQL database when it has `[cluster]`, else the existing SQLite
/// store in its data directory (creating nothing). For commands that take
/// `--config`, so that they work on a cluster's node as on a single one.
pub fn open_node(
    config: &accord_app::config::Config,
    clock: &Arc<dyn Clock>,
) -> Result<Box<dyn accord_store::Backend>> {
    match &config.cluster {
        Some(c) => Ok(Box::new(crate::cluster_cmd::open_store(c, clock)?)),
        None => Ok(Box::new(open_existing(&config.data_dir, clock)?)),
    }
}
