//! [`PgHashes`]: the log's stored hashes read from `ledger_hashes`, one
//! query per read of hashes not read before.

use accord_ledger::{HASH_SIZE, Hash, HashReader};
use postgres::types::Type;
use std::cell::RefCell;
use std::collections::HashMap;

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
/// Hashes read are kept for the life of the value (one proof, one
/// append): a committed stored hash never changes.
pub(crate) struct PgHashes<'a, C> {
    conn: RefCell<&'a mut C>,
    /// Hashes read so far, by stored index.
    known: RefCell<HashMap<u64, Hash>>,
    /// Indexes the next query also reads.
    also: RefCell<Vec<u64>>,
}

impl<'a, C: postgres::GenericClient> PgHashes<'a, C> {
    /// Reads through `conn`.
    pub(crate) fn new(conn: &'a mut C) -> PgHashes<'a, C> {
        PgHashes {
            conn: RefCell::new(conn),
            known: RefCell::new(HashMap::new()),
            also: RefCell::new(Vec::new()),
        }
    }

    /// Reads `indexes` too with the next query, so that asking for them
    /// afterwards costs no round trip (an inclusion proof's leaf hash).
    pub(crate) fn also_reading(self, indexes: &[u64]) -> PgHashes<'a, C> {
        self.also.borrow_mut().extend_from_slice(indexes);
        self
    }
}

impl<C: postgres::GenericClient> HashReader for PgHashes<'_, C> {
    type Error = PgHashError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, PgHashError> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let mut known = self.known.borrow_mut();
        let also = std::mem::take(&mut *self.also.borrow_mut());
        // An index past a bigint is past any log: missing.
        let keys: Vec<i64> = indexes
            .iter()
            .chain(&also)
            .filter(|i| !known.contains_key(i))
            .filter_map(|&i| i64::try_from(i).ok())
            .collect();
        if !keys.is_empty() {
            let rows = self.conn.borrow_mut().query_typed(
                "SELECT idx, hash FROM ledger_hashes WHERE idx = ANY($1)",
                &[(&keys, Type::INT8_ARRAY)],
            )?;
            for r in &rows {
                let index = r.try_get::<_, i64>(0)?.cast_unsigned();
                let bytes: &[u8] = r.try_get(1)?;
                let hash = Hash::from_slice(bytes).map_err(|_| PgHashError::Malformed {
                    index,
                    len: bytes.len(),
                })?;
                known.insert(index, hash);
            }
        }
        indexes
            .iter()
            .map(|&index| {
                known
                    .get(&index)
                    .copied()
                    .ok_or(PgHashError::Missing { index })
            })
            .collect()
    }
}
