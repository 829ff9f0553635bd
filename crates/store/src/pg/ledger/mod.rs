//! The log over PostgreSQL: the same RFC 9162 tree, proofs, C2SP tiles and
//! small tables as the SQLite log (`crate::ledger`), kept in plain rows.
//!
//! Layout (schema v1): `ledger_leaves` holds one row per leaf (its index,
//! its bytes as appended, the object version it records), also for a
//! deleted object's record, so no record is ever rebuilt; `ledger_hashes`
//! holds every stored hash (Go `sumdb/tlog`'s dense index, see
//! [`accord_ledger::stored_hash_index`]) in a row of its own, so a root or
//! proof is one `idx = ANY(…)` read of `O(log n)` primary-key lookups;
//! `accord_meta` row `ledger_size` is the number of leaves.
//!
//! **Appends** happen only inside the writer's transaction ([`append`]),
//! which holds the sequencer lock (`super::SEQUENCER_LOCK`): the size it
//! reads is the log's, the leaves it writes are the next ones, and the
//! caller moves `ledger_size` in the same transaction, so the log grows
//! strictly in order and without gaps whatever the number of processes
//! writing, and a reader (at `read committed`) sees a size only with every
//! leaf and hash below it.
//!
//! **Reads** need no lock: a committed leaf or stored hash never changes
//! (the log only grows), so a root or proof computed for a size the log
//! had is the same whenever it is computed. The small tables
//! (checkpoints, cosignatures, witnessed checkpoints, alerts) are written
//! through the handle's own connection, one autocommitted statement each.
//!
//! Layout of the module: `hashes.rs` ([`PgHashes`], the
//! [`HashReader`](accord_ledger::HashReader) over `ledger_hashes`),
//! `read.rs` ([`LedgerRead`](crate::LedgerRead)), `tables.rs` (the small
//! tables, [`LedgerWrite`](crate::LedgerWrite)), `check.rs` (the full
//! check). What the two backends do the same way is in
//! `crate::ledger::shared`.

mod check;
mod hashes;
mod read;
mod tables;
#[cfg(test)]
mod tests;

pub(crate) use hashes::{PgHashError, PgHashes};

use crate::StoreError;
use crate::ledger::shared::check_new_leaves;
use accord_ledger::{Hash, append_leaf_hashes};
use postgres::types::Type;

/// Rows written per `INSERT … unnest(…)`: a batch of any size costs one
/// round trip per this many leaves (and per this many stored hashes).
const INSERT_ROWS: usize = 4096;

/// A leaf the writer appends: its bytes (a record's JCS), their RFC 9162
/// leaf hash, and the object version it records (`None` for `out`
/// records).
pub(crate) struct PgLeaf<'a> {
    pub bytes: &'a [u8],
    pub hash: Hash,
    pub seq: Option<i64>,
}

/// Appends `leaves` to a log of `size` leaves inside the writer's
/// transaction (which holds the sequencer lock): their `ledger_leaves`
/// rows and the stored hashes they complete in `ledger_hashes`, computed
/// from the log's right edge read through `tx`. Returns the new size; the
/// caller moves `accord_meta.ledger_size` to it in the same transaction.
///
/// # Errors
/// [`StoreError::PgLedger`] when a leaf holds a newline (not JCS: nothing
/// is written) or the log's right edge at `size` is not stored (`size` is
/// not the log's); [`StoreError::Postgres`] when a statement fails (a
/// leaf already at an index from `size`, say: the caller rolls back).
pub(crate) fn append(
    tx: &mut postgres::Transaction<'_>,
    server: &str,
    size: u64,
    leaves: &[PgLeaf<'_>],
) -> Result<u64, StoreError> {
    check_new_leaves(size, leaves.iter().map(|l| l.bytes))
        .map_err(|e| ledger_error(server, &format!("appending to the log at size {size}"), e))?;
    if leaves.is_empty() {
        return Ok(size);
    }
    let what = format!(
        "appending {} leaves to the log at size {size}",
        leaves.len()
    );
    let appended = append_leaf_hashes(
        &PgHashes::new(&mut *tx),
        size,
        leaves.iter().map(|l| l.hash).collect(),
    )
    .map_err(|e| ledger_error(server, &what, e))?;
    let err = |e| ledger_error(server, &what, e);
    for (k, part) in leaves.chunks(INSERT_ROWS).enumerate() {
        let first = size + (k * INSERT_ROWS) as u64;
        let idx = (first..first + part.len() as u64)
            .map(to_i64)
            .collect::<Result<Vec<i64>, _>>()
            .map_err(err)?;
        let bytes: Vec<&[u8]> = part.iter().map(|l| l.bytes).collect();
        let seqs: Vec<Option<i64>> = part.iter().map(|l| l.seq).collect();
        tx.execute_typed(
            "INSERT INTO ledger_leaves (idx, leaf, seq)
             SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[])",
            &[
                (&idx, Type::INT8_ARRAY),
                (&bytes, Type::BYTEA_ARRAY),
                (&seqs, Type::INT8_ARRAY),
            ],
        )
        .map_err(super::pg_err(server, &what))?;
    }
    for (k, part) in appended.hashes.chunks(INSERT_ROWS).enumerate() {
        let first = appended.first_index + (k * INSERT_ROWS) as u64;
        let idx = (first..first + part.len() as u64)
            .map(to_i64)
            .collect::<Result<Vec<i64>, _>>()
            .map_err(err)?;
        let hashes: Vec<&[u8]> = part.iter().map(|h| &h.0[..]).collect();
        tx.execute_typed(
            "INSERT INTO ledger_hashes (idx, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
            &[(&idx, Type::INT8_ARRAY), (&hashes, Type::BYTEA_ARRAY)],
        )
        .map_err(super::pg_err(server, &what))?;
    }
    Ok(appended.new_size)
}

/// `n` as a `bigint`, or the ledger's error for an index past it.
fn to_i64(n: u64) -> Result<i64, accord_ledger::Error> {
    i64::try_from(n).map_err(|_| accord_ledger::Error::IndexOutOfRange {
        index: n,
        size: i64::MAX.cast_unsigned(),
    })
}

/// The store's error for a ledger computation over PostgreSQL that failed
/// while `what`: a statement's failure in reading stored hashes stays a
/// [`StoreError::Postgres`], anything else is a [`StoreError::PgLedger`].
pub(crate) fn ledger_error(server: &str, what: &str, e: accord_ledger::Error) -> StoreError {
    let pg = |source| StoreError::PgLedger {
        server: server.to_owned(),
        what: what.to_owned(),
        source,
    };
    match e {
        accord_ledger::Error::Storage {
            what: reading,
            count,
            source,
        } => match source.downcast::<PgHashError>() {
            Ok(b) => match *b {
                PgHashError::Postgres(source) => StoreError::Postgres {
                    server: server.to_owned(),
                    what: what.to_owned(),
                    source,
                },
                other => pg(accord_ledger::Error::Storage {
                    what: reading,
                    count,
                    source: Box::new(other),
                }),
            },
            Err(source) => pg(accord_ledger::Error::Storage {
                what: reading,
                count,
                source,
            }),
        },
        e => pg(e),
    }
}

impl super::PgStore {
    /// A [`StoreError`] maker for a ledger computation on this handle's
    /// server (see [`ledger_error`]).
    fn lerr<'a>(&'a self, what: &'a str) -> impl Fn(accord_ledger::Error) -> StoreError + 'a {
        move |e| ledger_error(&self.server, what, e)
    }

    /// Now, by the store's clock, for the times of the small tables.
    fn now_micros(&self) -> i64 {
        self.clock.now_micros()
    }
}
