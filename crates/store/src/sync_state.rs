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
//!
//! The push journal (table `push_journal`, schema v9): per push cursor,
//! the one batch released for the partner and not yet acknowledged by it
//! ([`PendingPush`]). The writer inserts it in the transaction that
//! appends the batch's `out` records ([`crate::Writer::log_push`]);
//! [`SqliteStore::push_acked`] deletes it and moves the cursor in one
//! transaction. So each `out` record of a push stands for one logical
//! send, delivered (POSTed again after a crash or a failure, never
//! released or recorded again) before the cursor passes it.

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

/// A push batch released and recorded, not yet acknowledged by the
/// partner: POST `objects` again, then [`SqliteStore::push_acked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPush {
    /// The push cursor's key.
    pub key: String,
    /// The seq the cursor moves to once acknowledged.
    pub last_seq: i64,
    /// The objects, exactly as released.
    pub objects: Vec<String>,
}

/// Each object as a little-endian u32 length and its bytes.
pub(crate) fn encode_objects(objects: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(objects.iter().map(|o| o.len() + 4).sum());
    for o in objects {
        // An object is bounded far below 4 GiB by the TAXII body limits.
        let n = u32::try_from(o.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(o.as_bytes());
    }
    out
}

/// The inverse of [`encode_objects`]; the reason when the bytes are not
/// its output.
pub(crate) fn decode_objects(mut b: &[u8]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let Some((len, rest)) = b.split_first_chunk::<4>() else {
            return Err(format!(
                "{} trailing bytes after object {}",
                b.len(),
                out.len()
            ));
        };
        let n = u32::from_le_bytes(*len) as usize;
        if rest.len() < n {
            return Err(format!(
                "object {} claims {n} bytes, {} left",
                out.len(),
                rest.len()
            ));
        }
        let (obj, rest) = rest.split_at(n);
        let s = std::str::from_utf8(obj)
            .map_err(|e| format!("object {} is not UTF-8: {e}", out.len()))?;
        out.push(s.to_owned());
        b = rest;
    }
    Ok(out)
}

/// Writes a push journal step on the writer's connection, inside its
/// transaction (see [`crate::Writer::log_push`]): first checks that the
/// cursor is still where the batch was read from, so two pushes racing
/// (a scheduler and a manual round in another process) never both record
/// one batch.
pub(crate) fn write_push_step(c: &Connection, step: &crate::PushStep) -> rusqlite::Result<()> {
    let (key, after, last_seq) = match step {
        crate::PushStep::Pending {
            key,
            after,
            last_seq,
            ..
        }
        | crate::PushStep::Done {
            key,
            after,
            last_seq,
        } => (key, *after, *last_seq),
    };
    let now: Option<String> = c
        .prepare_cached("SELECT added_after FROM sync_cursors WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    let now = now.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    if now != after {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some(format!(
                "push cursor `{key}` is at {now}, not {after}: another push released this batch"
            )),
        ));
    }
    match step {
        crate::PushStep::Pending { objects, .. } => c
            .prepare_cached(
                "INSERT INTO push_journal (key, last_seq, objects) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, last_seq, encode_objects(objects)])
            .map(|_| ()),
        crate::PushStep::Done { .. } => c
            .prepare_cached(
                "INSERT INTO sync_cursors (key, added_after) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET added_after = excluded.added_after",
            )?
            .execute(params![key, last_seq.to_string()])
            .map(|_| ()),
    }
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

    /// The push batch pending under the cursor `key`, if any.
    ///
    /// # Errors
    /// [`StoreError::Read`]; [`StoreError::Corrupt`] when the journal row
    /// cannot be decoded.
    pub fn push_pending(&self, key: &str) -> Result<Option<PendingPush>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = self
            .read_conn()
            .prepare_cached("SELECT last_seq, objects FROM push_journal WHERE key = ?1")
            .and_then(|mut st| {
                st.query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(self.sync_err(&format!("the push journal of `{key}`")))?;
        let Some((last_seq, blob)) = row else {
            return Ok(None);
        };
        let objects = decode_objects(&blob).map_err(|reason| StoreError::Corrupt {
            path: self.db_path().to_owned(),
            problems: vec![format!("push_journal row `{key}`: {reason}")],
        })?;
        Ok(Some(PendingPush {
            key: key.to_owned(),
            last_seq,
            objects,
        }))
    }

    /// The partner acknowledged the batch pending under `key`: moves the
    /// cursor to `last_seq` and deletes the batch, in one transaction,
    /// durable when this returns.
    ///
    /// # Errors
    /// [`StoreError::Open`], [`StoreError::Read`] (nothing changed).
    pub fn push_acked(&self, key: &str, last_seq: i64) -> Result<(), StoreError> {
        let mut c = self.sync_conn()?;
        let mut run = || -> rusqlite::Result<()> {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Only forward: a late acknowledgement of a batch another push
            // already acknowledged must not send the cursor back.
            tx.execute(
                "INSERT INTO sync_cursors (key, added_after) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET added_after = excluded.added_after
                 WHERE CAST(sync_cursors.added_after AS INTEGER) < ?3",
                params![key, last_seq.to_string(), last_seq],
            )?;
            tx.execute(
                "DELETE FROM push_journal WHERE key = ?1 AND last_seq = ?2",
                params![key, last_seq],
            )?;
            tx.commit()
        };
        run().map_err(self.sync_err(&format!("acknowledging the push batch of `{key}`")))
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

    fn out_record(i: u32) -> accord_ledger::ExchangeRecord {
        use accord_ledger::{Decision, Direction, ExchangeRecord, Hash};
        ExchangeRecord {
            direction: Direction::Out,
            partner: Some("b".into()),
            collection: "c".into(),
            object_id: format!("indicator--{i:08x}-0000-4000-8000-000000000000"),
            modified: Some("2024-01-01T00:00:00.000Z".into()),
            sha256: Hash([7; 32]).to_hex(),
            decision: Decision::Sent,
            time: "2026-01-01T00:00:00Z".into(),
            salt: None,
        }
    }

    #[test]
    fn a_push_batch_is_journalled_with_its_records_and_acknowledged_with_the_cursor() {
        use crate::PushStep;
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        let key = "push b <- c";
        let objects = vec!["{\"id\":\"x\"}".to_owned(), String::new(), "é".repeat(300)];
        s.writer()
            .log_push(
                &[out_record(1), out_record(2), out_record(3)],
                PushStep::Pending {
                    key: key.into(),
                    after: 0,
                    last_seq: 42,
                    objects: objects.clone(),
                },
            )
            .unwrap();
        assert_eq!(s.ledger_size().unwrap(), 3);
        // A second batch under the same key before the first is
        // acknowledged: refused, nothing committed.
        let again = s.writer().log_push(
            &[out_record(4)],
            PushStep::Pending {
                key: key.into(),
                after: 0,
                last_seq: 50,
                objects: vec!["{}".into()],
            },
        );
        assert!(again.is_err());
        assert_eq!(s.ledger_size().unwrap(), 3);
        drop(s);
        // A restart finds the batch as it was, the cursor not moved.
        let s = SqliteStore::open(dir.path()).unwrap();
        let p = s.push_pending(key).unwrap().unwrap();
        assert_eq!((p.last_seq, &p.objects), (42, &objects));
        assert_eq!(s.sync_cursor(key).unwrap(), None);
        s.push_acked(key, 42).unwrap();
        assert_eq!(s.push_pending(key).unwrap(), None);
        assert_eq!(s.sync_cursor(key).unwrap().as_deref(), Some("42"));
        // Nothing to POST: the cursor moves with the records.
        s.writer()
            .log_push(
                &[out_record(5)],
                PushStep::Done {
                    key: key.into(),
                    after: 42,
                    last_seq: 60,
                },
            )
            .unwrap();
        // A late acknowledgement never moves the cursor back.
        s.push_acked(key, 42).unwrap();
        // A batch read after a cursor that moved since: nothing committed.
        let stale = s.writer().log_push(
            &[out_record(6)],
            PushStep::Pending {
                key: key.into(),
                after: 42,
                last_seq: 70,
                objects: vec!["{}".into()],
            },
        );
        let e = stale.unwrap_err().to_string();
        assert!(e.contains("is at 60, not 42"), "{e}");
        assert_eq!(s.ledger_size().unwrap(), 4);
        assert_eq!(s.sync_cursor(key).unwrap().as_deref(), Some("60"));
        assert_eq!(s.push_pending(key).unwrap(), None);
        assert_eq!(s.push_pending(key).unwrap(), None);
        assert!(super::decode_objects(&[1, 0, 0]).is_err());
        assert!(super::decode_objects(&[5, 0, 0, 0, b'a']).is_err());
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
