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
//!
//! The health of each partner's sync (table `partner_health`, schema v8):
//! [`PartnerHealth`], written by the scheduler after each round, read by
//! `accord sync` and the operator.

use crate::{SqliteStore, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

/// The state of one partner's sync, as the scheduler keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerHealth {
    /// The partner's name.
    pub partner: String,
    /// When the last round finished without error (RFC 3339).
    pub last_success: Option<String>,
    /// The last round's error, when it failed.
    pub last_error: Option<String>,
    /// When that error happened (RFC 3339).
    pub last_error_at: Option<String>,
    /// Rounds failed in a row since the last success.
    pub failures: u32,
    /// Whether the scheduler stopped syncing with it until an operator
    /// resumes it.
    pub paused: bool,
    /// Why it was paused.
    pub paused_reason: Option<String>,
}

const HEALTH_COLUMNS: &str =
    "partner, last_success, last_error, last_error_at, failures, paused, paused_reason";

fn health_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PartnerHealth> {
    Ok(PartnerHealth {
        partner: r.get(0)?,
        last_success: r.get(1)?,
        last_error: r.get(2)?,
        last_error_at: r.get(3)?,
        failures: u32::try_from(r.get::<_, i64>(4)?).unwrap_or(u32::MAX),
        paused: r.get::<_, i64>(5)? != 0,
        paused_reason: r.get(6)?,
    })
}

impl SqliteStore {
    /// The sync health of `partner`, if a round ever ran.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn partner_health(&self, partner: &str) -> Result<Option<PartnerHealth>, StoreError> {
        self.read_conn()
            .prepare_cached(&format!(
                "SELECT {HEALTH_COLUMNS} FROM partner_health WHERE partner = ?1"
            ))
            .and_then(|mut st| st.query_row([partner], health_row).optional())
            .map_err(self.sync_err(&format!("the sync health of partner `{partner}`")))
    }

    /// The sync health of every partner that ever had a round, by name.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn partner_healths(&self) -> Result<Vec<PartnerHealth>, StoreError> {
        let what = "the sync health of the partners";
        let mut st = self
            .read_conn()
            .prepare(&format!(
                "SELECT {HEALTH_COLUMNS} FROM partner_health ORDER BY partner"
            ))
            .map_err(self.sync_err(what))?;
        st.query_map([], health_row)
            .and_then(Iterator::collect)
            .map_err(self.sync_err(what))
    }

    /// Saves (replaces) a partner's sync health; durable on return.
    ///
    /// # Errors
    /// [`StoreError::Open`], [`StoreError::Read`] (the write failed).
    pub fn set_partner_health(&self, h: &PartnerHealth) -> Result<(), StoreError> {
        let c = self.sync_conn()?;
        c.prepare_cached(&format!(
            "INSERT OR REPLACE INTO partner_health ({HEALTH_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ))
        .and_then(|mut st| {
            st.execute(params![
                h.partner,
                h.last_success,
                h.last_error,
                h.last_error_at,
                i64::from(h.failures),
                i64::from(h.paused),
                h.paused_reason
            ])
        })
        .map(|_| ())
        .map_err(self.sync_err(&format!(
            "saving the sync health of partner `{}`",
            h.partner
        )))
    }

    fn sync_err(&self, what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let path = self.db_path().to_owned();
        let what = what.to_owned();
        move |source| StoreError::Read { path, what, source }
    }

    pub(crate) fn sync_conn(&self) -> Result<std::cell::RefMut<'_, Connection>, StoreError> {
        let mut slot = self.sync.borrow_mut();
        if slot.is_none() {
            let open = |source| StoreError::Open {
                path: self.db_path().to_owned(),
                source,
            };
            let c = Connection::open(self.db_path()).map_err(open)?;
            c.busy_timeout(Duration::from_secs(10)).map_err(open)?;
            // Each write is durable when it returns.
            c.pragma_update(None, "synchronous", "FULL").map_err(open)?;
            *slot = Some(c);
        }
        Ok(std::cell::RefMut::map(slot, |s| {
            s.as_mut().expect("opened above")
        }))
    }

    /// The saved cursor of the pull `key`, if any.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn sync_cursor(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read_conn()
            .prepare_cached("SELECT added_after FROM sync_cursors WHERE key = ?1")
            .and_then(|mut st| st.query_row([key], |r| r.get(0)).optional())
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
        c.prepare_cached(
            "INSERT INTO sync_cursors (key, added_after) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET added_after = excluded.added_after",
        )
        .and_then(|mut st| st.execute(params![key, added_after]))
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
    use super::PartnerHealth;
    use crate::SqliteStore;

    #[test]
    fn partner_health_is_saved_replaced_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(s.partner_health("b").unwrap(), None);
        let mut h = PartnerHealth {
            partner: "b".into(),
            last_error: Some("GET http://b/: timeout".into()),
            last_error_at: Some("2026-01-01T00:00:00Z".into()),
            failures: 3,
            ..PartnerHealth::default()
        };
        s.set_partner_health(&h).unwrap();
        h.paused = true;
        h.paused_reason = Some("invalid STIX".into());
        s.set_partner_health(&h).unwrap();
        s.set_partner_health(&PartnerHealth {
            partner: "a".into(),
            last_success: Some("2026-01-02T00:00:00Z".into()),
            ..PartnerHealth::default()
        })
        .unwrap();
        drop(s);
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(s.partner_health("b").unwrap().as_ref(), Some(&h));
        let all = s.partner_healths().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].partner, "a");
        assert!(!all[0].paused);
    }

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
