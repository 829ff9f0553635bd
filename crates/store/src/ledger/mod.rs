//! The transparency log in SQLite: the node's exchange records as the leaves
//! of an RFC 9162 Merkle tree (see the `accord-ledger` crate for the
//! formats), appended by the [`Writer`](crate::Writer) in the same
//! transaction as the objects they record, so the log and the store never
//! disagree.
//!
//! Layout (schema v4). Leaves are kept in *chunks*: runs of consecutive
//! leaves appended in one transaction that never cross a 256-leaf boundary
//! (the width of a C2SP tile), one row of `ledger_chunks` each:
//! `first` (the index of its first leaf), `n`, `hashes` (the stored hashes
//! its leaves complete, in stored-hash-index order: a leaf's own hash, then
//! the hash of each subtree it closes; for consecutive leaves this is one
//! contiguous range of stored indexes, starting at
//! `stored_hash_index(0, first)`), `seqs` (the object version each leaf
//! records, 8 bytes little-endian each, 0 for `out` records) and `leaves`
//! (the records' JCS bytes joined by `\n`, which JCS never emits). A bulk
//! ingest thus writes one row per 256 objects instead of one per object.
//!
//! Stored hashes of level 8 and above (one per 256 leaves, and fewer up the
//! tree) are also kept in `ledger_upper`, keyed by stored index. A proof
//! needs at most a few hashes of levels 0–7 (all within the one or two
//! 256-leaf blocks it touches, so one or two chunk reads) and up to ~20
//! upper hashes, read with one `IN (…)` query on that small table: a proof
//! costs the same few reads at 10⁸ leaves as at 10⁵.
//!
//! Besides the leaves: the node's signed checkpoints
//! (`ledger_checkpoints`), partners' cosignature lines on them
//! (`ledger_cosignatures`), the partners' checkpoints this node witnessed
//! (`ledger_witnessed`) and alerts with their evidence (`ledger_alerts`).
//! Those small writes go through a short-lived connection of their own
//! (WAL serializes them with the writer thread's transactions).

mod append;
mod checkpoints;
mod hashes;
mod read;
mod records;
pub(crate) mod shared;
#[cfg(test)]
mod tests;
mod verify_feed;
mod witnessed;

pub use accord_ledger::{LedgerCheck, LedgerProblem};
pub(crate) use append::{NewLeaf, append, migrate_v3_rows};
pub(crate) use hashes::{ConnHashes, UpperCache};
pub use read::LedgerEntry;
pub(crate) use records::detach;
#[cfg_attr(feature = "bench-no-ledger", allow(unused_imports))]
pub(crate) use records::record_source;
pub use witnessed::{Alert, Witnessed};

use crate::{SqliteStore, StoreError};
use accord_ledger::{HASH_SIZE, Hash};
use rusqlite::{Connection, OptionalExtension};

/// Leaves per block: a chunk never crosses a multiple of this.
pub(crate) const BLOCK: u64 = 256;

/// Stored hashes of this level and above are also kept in `ledger_upper`.
const UPPER_LEVEL: u8 = 8;

/// Who an object being stored came from, for its ledger record: set on a
/// [`Writer`](crate::Writer) handle with
/// [`Writer::received_from`](crate::Writer::received_from).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum LedgerSource {
    /// Created or ingested on this node: a `local` record.
    #[default]
    Local,
    /// Received from this partner (TAXII POST by its account, or a sync
    /// from it): an `in` record.
    Partner(String),
}

/// `n` fresh salts for new records ([`accord_ledger::salt_hex`] of 16
/// bytes each from the operating system's random source, drawn in one
/// call). `Err` names what failed.
pub(crate) fn draw_salts(n: usize) -> Result<Vec<String>, String> {
    Ok(draw_salt_bytes(n)?
        .chunks_exact(SALT_BYTES)
        .map(|c| {
            let mut b = [0u8; SALT_BYTES];
            b.copy_from_slice(c);
            accord_ledger::salt_hex(&b)
        })
        .collect())
}

/// The random bytes of a salt.
pub(crate) const SALT_BYTES: usize = accord_ledger::SALT_HEX_LEN / 2;

/// The random bytes of `n` salts, [`SALT_BYTES`] each, from the OS.
pub(crate) fn draw_salt_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut random = vec![0u8; n * SALT_BYTES];
    getrandom::getrandom(&mut random).map_err(|e| {
        format!("drawing the salts of {n} ledger records from the OS random source: {e}")
    })?;
    Ok(random)
}

/// `records` with a fresh salt given to each that has none (those that
/// have one keep it).
pub(crate) fn salted(
    records: &[accord_ledger::ExchangeRecord],
) -> Result<Vec<accord_ledger::ExchangeRecord>, String> {
    let missing = records.iter().filter(|r| r.salt.is_none()).count();
    let mut salts = draw_salts(missing)?.into_iter();
    Ok(records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r.salt.is_none() {
                r.salt = salts.next();
            }
            r
        })
        .collect())
}

fn not_stored() -> rusqlite::Error {
    rusqlite::Error::QueryReturnedNoRows
}

fn to_i64(n: u64) -> rusqlite::Result<i64> {
    i64::try_from(n).map_err(|_| not_stored())
}

fn hash_at(blob: &[u8], pos: u64) -> rusqlite::Result<Hash> {
    let at = usize::try_from(pos).map_err(|_| not_stored())? * HASH_SIZE;
    let h = blob.get(at..at + HASH_SIZE).ok_or_else(not_stored)?;
    Hash::from_slice(h).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, e.into())
    })
}

/// The number of leaves, read through `conn`.
pub(crate) fn size_of(conn: &Connection) -> rusqlite::Result<u64> {
    let n: Option<i64> = conn
        .query_row(
            "SELECT first + n FROM ledger_chunks ORDER BY first DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

fn ledger_err(e: accord_ledger::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

impl SqliteStore {
    /// Now, by the store's clock (see [`crate::OpenOptions::clock`]), for
    /// the times of the ledger's small tables.
    fn now_micros(&self) -> i64 {
        self.writer().clock().now_micros()
    }

    fn lerr(&self, what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let path = self.db_path().to_owned();
        let what = what.to_owned();
        move |source| StoreError::Read { path, what, source }
    }

    fn proof_err(&self, what: &str, e: accord_ledger::Error) -> StoreError {
        StoreError::Read {
            path: self.db_path().to_owned(),
            what: what.to_owned(),
            source: ledger_err(e),
        }
    }

    /// A write connection for the ledger's small tables.
    fn meta_conn(&self) -> Result<std::cell::RefMut<'_, Connection>, StoreError> {
        // The store's kept connection for small durable writes.
        self.sync_conn()
    }
}
