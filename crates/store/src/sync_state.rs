//! The cursors of `accord sync`, kept in the store (table `sync_cursors`,
//! schema v7): per pull, named `<partner collection URL> -> <local
//! collection>`, the partner's `X-TAXII-Date-Added-Last` to resume from.
//!
//! A cursor is written by its own short transaction on its own connection
//! (not the group-commit writer): it is one row, written once per sync,
//! after the objects it covers were acknowledged by the writer, so a crash
//! leaves the old cursor (the next sync fetches again what it had, and the
//! store counts those as duplicates) or the new one, never one ahead of the
//! objects.

use crate::{SqliteStore, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

impl SqliteStore {
    fn sync_err(&self, what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let path = self.db_path().to_owned();
        let what = what.to_owned();
        move |source| StoreError::Read { path, what, source }
    }

    fn sync_conn(&self) -> Result<Connection, StoreError> {
        let open = |source| StoreError::Open {
            path: self.db_path().to_owned(),
            source,
        };
        let c = Connection::open(self.db_path()).map_err(open)?;
        c.busy_timeout(Duration::from_secs(10)).map_err(open)?;
        Ok(c)
    }

    /// The saved cursor of the pull `key`, if any.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn sync_cursor(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read_conn()
            .query_row(
                "SELECT added_after FROM sync_cursors WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sync_err(&format!("the sync cursor of `{key}`")))
    }

    /// Every saved cursor, by key.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn sync_cursors(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut st = self
            .read_conn()
            .prepare("SELECT key, added_after FROM sync_cursors ORDER BY key")
            .map_err(self.sync_err("the sync cursors"))?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(self.sync_err("the sync cursors"))
    }

    /// Saves (replaces) the cursor of the pull `key`; durable when this
    /// returns (its own transaction, `synchronous=FULL`).
    ///
    /// # Errors
    /// [`StoreError::Open`], [`StoreError::Read`] (the write failed).
    pub fn set_sync_cursor(&self, key: &str, added_after: &str) -> Result<(), StoreError> {
        let c = self.sync_conn()?;
        c.pragma_update(None, "synchronous", "FULL")
            .and_then(|()| {
                c.execute(
                    "INSERT INTO sync_cursors (key, added_after) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET added_after = excluded.added_after",
                    params![key, added_after],
                )
            })
            .map(|_| ())
            .map_err(self.sync_err(&format!("saving the sync cursor of `{key}`")))
    }

    /// Imports cursors kept elsewhere (the `sync-state.json` of older
    /// versions), in one transaction: a key the store already has keeps
    /// its cursor. Returns how many were added.
    ///
    /// # Errors
    /// [`StoreError::Open`], [`StoreError::Read`] (the write failed; nothing
    /// was imported).
    pub fn import_sync_cursors<'a>(
        &self,
        cursors: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<usize, StoreError> {
        let mut c = self.sync_conn()?;
        let err = self.sync_err("importing sync cursors");
        let run = || -> rusqlite::Result<usize> {
            c.pragma_update(None, "synchronous", "FULL")?;
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut n = 0;
            {
                let mut st = tx.prepare(
                    "INSERT INTO sync_cursors (key, added_after) VALUES (?1, ?2)
                     ON CONFLICT (key) DO NOTHING",
                )?;
                for (k, v) in cursors {
                    n += st.execute(params![k, v])?;
                }
            }
            tx.commit()?;
            Ok(n)
        };
        run().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use crate::SqliteStore;

    #[test]
    fn cursors_are_saved_replaced_and_imported_without_overwriting() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(s.sync_cursor("a -> b").unwrap(), None);
        s.set_sync_cursor("a -> b", "2026-01-01T00:00:00Z").unwrap();
        s.set_sync_cursor("a -> b", "2026-01-02T00:00:00Z").unwrap();
        assert_eq!(
            s.sync_cursor("a -> b").unwrap().as_deref(),
            Some("2026-01-02T00:00:00Z")
        );
        let n = s
            .import_sync_cursors([("a -> b", "1999-01-01T00:00:00Z"), ("c -> d", "x")])
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            s.sync_cursors().unwrap(),
            vec![
                ("a -> b".to_owned(), "2026-01-02T00:00:00Z".to_owned()),
                ("c -> d".to_owned(), "x".to_owned())
            ]
        );
        drop(s);
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(s.sync_cursor("c -> d").unwrap().as_deref(), Some("x"));
    }
}
