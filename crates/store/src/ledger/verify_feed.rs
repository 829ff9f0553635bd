//! `accord ledger verify`: the store reads the log chunk by chunk and
//! feeds an [`accord_ledger::TreeVerifier`], which does the recomputing.

use super::UPPER_LEVEL;
use super::shared::LeafRun;
use crate::{LedgerCheck, SqliteStore, StoreError};
use accord_ledger::TreeVerifier;
use rusqlite::OptionalExtension;

impl SqliteStore {
    /// Recomputes every stored hash from the leaves alone and compares:
    /// each leaf must be a valid record in canonical form, its stored
    /// hashes must be the recomputed ones, and a record of a stored object
    /// must carry the SHA-256 of that object's exact bytes (when the object
    /// is still there). Reads the whole log, in one pass; memory is the
    /// tree's right edge plus the upper-level hashes (1 in 256), not every
    /// hash.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_check(&self) -> Result<LedgerCheck, StoreError> {
        self.ledger_check_at(&[])
    }

    /// [`SqliteStore::ledger_check`], also giving the roots recomputed at
    /// `sizes` (a signed checkpoint's size, say) in [`LedgerCheck::roots`].
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_check_at(&self, sizes: &[u64]) -> Result<LedgerCheck, StoreError> {
        let tx = self
            .read_conn()
            .unchecked_transaction()
            .map_err(self.lerr("a read transaction"))?;
        let mut st = tx
            .prepare("SELECT first, n, hashes, seqs, leaves FROM ledger_chunks ORDER BY first")
            .map_err(self.lerr("the ledger"))?;
        let mut object = tx
            .prepare("SELECT raw FROM objects WHERE seq = ?1")
            .map_err(self.lerr("an object"))?;
        let mut rows = st.query([]).map_err(self.lerr("the ledger"))?;
        let mut verifier = TreeVerifier::new(sizes, UPPER_LEVEL);
        while let Some(r) = rows.next().map_err(self.lerr("the ledger"))? {
            let chunk = match LeafRun::from_row(&tx, r).map_err(self.lerr("a ledger chunk"))? {
                Ok(c) => c,
                Err(reason) => {
                    verifier.stop(reason);
                    break;
                }
            };
            // The objects whose records were kept as they were (not
            // rebuilt from the row): the record must carry their SHA-256
            // while the object is there.
            let go_on = chunk.feed(&mut verifier, |seq| {
                object
                    .query_row([seq], |r| r.get::<_, String>(0))
                    .optional()
                    .map_err(self.lerr("an object"))
            })?;
            if !go_on {
                break;
            }
        }
        drop(rows);
        // The upper levels' copies must be exactly the recomputed hashes.
        let mut st = tx
            .prepare("SELECT idx, hash FROM ledger_upper ORDER BY idx")
            .map_err(self.lerr("the ledger's upper levels"))?;
        let mut rows = st
            .query([])
            .map_err(self.lerr("the ledger's upper levels"))?;
        while let Some(r) = rows
            .next()
            .map_err(self.lerr("the ledger's upper levels"))?
        {
            let idx = u64::try_from(r.get::<_, i64>(0).map_err(self.lerr("an upper hash"))?)
                .unwrap_or(u64::MAX);
            let h = r.get_ref(1).and_then(|v| v.as_bytes().map_err(Into::into));
            verifier.feed_upper_copy(idx, h.map_err(self.lerr("an upper hash"))?);
        }
        Ok(verifier.finish())
    }
}
