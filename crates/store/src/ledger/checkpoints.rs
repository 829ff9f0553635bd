//! The node's signed checkpoints and the cosignatures partners gave them.

use crate::{SqliteStore, StoreError};
use rusqlite::{OptionalExtension, params};

impl SqliteStore {
    /// Saves a signed checkpoint of this log (idempotent per size).
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    pub fn ledger_save_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.meta_conn()?
            .execute(
                "INSERT OR IGNORE INTO ledger_checkpoints (size, note, signed_at) VALUES (?1, ?2, ?3)",
                params![size as i64, note, self.now_micros()],
            )
            .map(|_| ())
            .map_err(self.lerr("saving a checkpoint"))
    }

    /// The latest signed checkpoint of this log: (size, note).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.read_conn()
            .query_row(
                "SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| Ok((u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), r.get(1)?)),
            )
            .optional()
            .map_err(self.lerr("the latest checkpoint"))
    }

    /// The newest `limit` checkpoints signed: (size, signed at in
    /// microseconds since the epoch, how many cosignatures it holds),
    /// newest first.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_checkpoint_history(
        &self,
        limit: usize,
    ) -> Result<Vec<(u64, i64, u64)>, StoreError> {
        self.read_conn()
            .prepare_cached(
                "SELECT c.size, c.signed_at,
                        (SELECT count(*) FROM ledger_cosignatures s WHERE s.size = c.size)
                 FROM ledger_checkpoints c ORDER BY c.size DESC LIMIT ?1",
            )
            .and_then(|mut st| {
                st.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                    Ok((
                        u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        r.get::<_, i64>(1)?,
                        u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    ))
                })?
                .collect()
            })
            .map_err(self.lerr("the checkpoint history"))
    }

    /// The signed checkpoint of this log at `size`, if one was signed.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_conn()
            .query_row(
                "SELECT note FROM ledger_checkpoints WHERE size = ?1",
                [size as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.lerr("a checkpoint"))
    }

    /// Keeps a witness's cosignature line (`— name base64`) on the
    /// checkpoint of `size` (replacing an older one by the same key).
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    pub fn ledger_add_cosignature(
        &self,
        size: u64,
        witness: &str,
        key_id: u32,
        line: &str,
    ) -> Result<(), StoreError> {
        self.meta_conn()?
            .execute(
                "INSERT OR REPLACE INTO ledger_cosignatures (size, witness, key_id, line, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![size as i64, witness, i64::from(key_id), line, self.now_micros()],
            )
            .map(|_| ())
            .map_err(self.lerr("saving a cosignature"))
    }

    /// The cosignature lines held for the checkpoint of `size`, by witness
    /// name.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .read_conn()
            .prepare_cached(
                "SELECT line FROM ledger_cosignatures WHERE size = ?1 ORDER BY witness, key_id",
            )
            .map_err(self.lerr("cosignatures"))?;
        st.query_map([size as i64], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(self.lerr("cosignatures"))
    }
}
