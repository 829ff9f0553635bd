//! [`PgHashes`]: the log's stored hashes read from `ledger_hashes`, one
//! query per read.

use accord_ledger::{HASH_SIZE, Hash, HashReader};
use postgres::types::Type;
use std::cell::RefCell;

/// Why stored hashes could not be read from PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PgHashError {
    /// The query failed.
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
    /// No row holds this stored hash (the log is shorter than asked).
    #[error("stored hash index {index} is not in ledger_hashes")]
    Missing {
        /// The stored index.
        index: u64,
    },
    /// The row holds something else than 32 bytes.
    #[error("stored hash index {index} holds {len} bytes, not {HASH_SIZE}")]
    Malformed {
        /// The stored index.
        index: u64,
        /// Its length.
        len: usize,
    },
}

/// The stored hashes of the log, read through one connection or
/// transaction (the writer's, inside its transaction, or a reader's).
pub(crate) struct PgHashes<'a, C> {
    conn: RefCell<&'a mut C>,
}

impl<'a, C: postgres::GenericClient> PgHashes<'a, C> {
    /// Reads through `conn`.
    pub(crate) fn new(conn: &'a mut C) -> PgHashes<'a, C> {
        PgHashes {
            conn: RefCell::new(conn),
        }
    }
}

impl<C: postgres::GenericClient> HashReader for PgHashes<'_, C> {
    type Error = PgHashError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, PgHashError> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        // An index past a bigint is past any log: missing.
        let keys: Vec<i64> = indexes
            .iter()
            .filter_map(|&i| i64::try_from(i).ok())
            .collect();
        let rows = self.conn.borrow_mut().query_typed(
            "SELECT idx, hash FROM ledger_hashes WHERE idx = ANY($1)",
            &[(&keys, Type::INT8_ARRAY)],
        )?;
        let mut found: Vec<(u64, &[u8])> = Vec::with_capacity(rows.len());
        for r in &rows {
            let idx: i64 = r.try_get(0)?;
            found.push((idx.cast_unsigned(), r.try_get(1)?));
        }
        found.sort_unstable_by_key(|(i, _)| *i);
        indexes
            .iter()
            .map(|&index| {
                let at = found
                    .binary_search_by_key(&index, |(i, _)| *i)
                    .map_err(|_| PgHashError::Missing { index })?;
                let bytes = found[at].1;
                Hash::from_slice(bytes).map_err(|_| PgHashError::Malformed {
                    index,
                    len: bytes.len(),
                })
            })
            .collect()
    }
}
