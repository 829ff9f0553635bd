//! [`SyncCursors`](crate::SyncCursors) over PostgreSQL: the same tables
//! and meaning as the SQLite backend's (see `crate::sync_state`). Each
//! write is its own transaction on the handle's connection, durable on
//! return (`synchronous_commit = on`); the push journal's steps are
//! written by the writer (`writer::write_push_step`), in the transaction
//! of their `out` records.

use super::PgStore;
use crate::sync_state::decode_objects;
use crate::{PartnerHealth, PendingPush, StoreError};

const HEALTH_COLUMNS: &str =
    "partner, last_success, last_error, last_error_at, failures, paused, paused_reason";

fn health_row(r: &postgres::Row) -> Result<PartnerHealth, postgres::Error> {
    Ok(PartnerHealth {
        partner: r.try_get(0)?,
        last_success: r.try_get(1)?,
        last_error: r.try_get(2)?,
        last_error_at: r.try_get(3)?,
        failures: u32::try_from(r.try_get::<_, i64>(4)?).unwrap_or(u32::MAX),
        paused: r.try_get(5)?,
        paused_reason: r.try_get(6)?,
    })
}

impl crate::SyncCursors for PgStore {
    fn sync_cursor(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.live_client()?
            .query_opt(
                "SELECT added_after FROM sync_cursors WHERE key = $1",
                &[&key],
            )
            .map(|r| r.map(|r| r.get(0)))
            .map_err(self.err(&format!("reading the sync cursor of `{key}`")))
    }

    fn sync_cursors(&self) -> Result<Vec<(String, String)>, StoreError> {
        let what = "reading the sync cursors";
        self.live_client()?
            .query(
                "SELECT key, added_after FROM sync_cursors ORDER BY key COLLATE \"C\"",
                &[],
            )
            .map_err(self.err(what))?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, postgres::Error>>()
            .map_err(self.err(what))
    }

    fn set_sync_cursor(&self, key: &str, added_after: &str) -> Result<(), StoreError> {
        self.live_client()?
            .execute(
                "INSERT INTO sync_cursors (key, added_after) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET added_after = excluded.added_after",
                &[&key, &added_after],
            )
            .map(|_| ())
            .map_err(self.err(&format!("saving the sync cursor of `{key}`")))
    }

    fn import_sync_cursors(&self, cursors: &[(&str, &str)]) -> Result<usize, StoreError> {
        let what = "importing sync cursors";
        let (keys, values): (Vec<&str>, Vec<&str>) = cursors.iter().copied().unzip();
        // One statement, so one transaction; a key given twice keeps its
        // first cursor, as one INSERT after another would.
        let n = self
            .live_client()?
            .execute(
                "INSERT INTO sync_cursors (key, added_after)
                 SELECT DISTINCT ON (k) k, v
                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS c (k, v, i)
                 ORDER BY k, i
                 ON CONFLICT (key) DO NOTHING",
                &[&keys, &values],
            )
            .map_err(self.err(what))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn push_pending(&self, key: &str) -> Result<Option<PendingPush>, StoreError> {
        let row = self
            .live_client()?
            .query_opt(
                "SELECT last_seq, objects FROM push_journal WHERE key = $1",
                &[&key],
            )
            .map_err(self.err(&format!("reading the push journal of `{key}`")))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (last_seq, blob): (i64, Vec<u8>) = (row.get(0), row.get(1));
        let objects = decode_objects(&blob).map_err(|reason| StoreError::Corrupt {
            path: self.server().into(),
            problems: vec![format!("push_journal row `{key}`: {reason}")],
        })?;
        Ok(Some(PendingPush {
            key: key.to_owned(),
            last_seq,
            objects,
        }))
    }

    fn push_acked(&self, key: &str, last_seq: i64) -> Result<(), StoreError> {
        let what = format!("acknowledging the push batch of `{key}`");
        let mut c = self.live_client()?;
        let mut tx = c.transaction().map_err(self.err(&what))?;
        // Only forward: a late acknowledgement of a batch another push
        // already acknowledged must not send the cursor back. (A cursor
        // that is not an integer counts as 0, as SQLite's CAST reads it.)
        tx.execute(
            "INSERT INTO sync_cursors (key, added_after) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET added_after = excluded.added_after
             WHERE (CASE WHEN sync_cursors.added_after ~ '^-?[0-9]{1,18}$'
                         THEN sync_cursors.added_after::bigint ELSE 0 END) < $3",
            &[&key, &last_seq.to_string(), &last_seq],
        )
        .map_err(self.err(&what))?;
        tx.execute(
            "DELETE FROM push_journal WHERE key = $1 AND last_seq = $2",
            &[&key, &last_seq],
        )
        .map_err(self.err(&what))?;
        tx.commit().map_err(self.err(&what))
    }

    fn partner_health(&self, partner: &str) -> Result<Option<PartnerHealth>, StoreError> {
        let what = format!("reading the sync health of partner `{partner}`");
        self.live_client()?
            .query_opt(
                &format!("SELECT {HEALTH_COLUMNS} FROM partner_health WHERE partner = $1"),
                &[&partner],
            )
            .map_err(self.err(&what))?
            .as_ref()
            .map(health_row)
            .transpose()
            .map_err(self.err(&what))
    }

    fn partner_healths(&self) -> Result<Vec<PartnerHealth>, StoreError> {
        let what = "reading the sync health of the partners";
        self.live_client()?
            .query(
                &format!(
                    "SELECT {HEALTH_COLUMNS} FROM partner_health ORDER BY partner COLLATE \"C\""
                ),
                &[],
            )
            .map_err(self.err(what))?
            .iter()
            .map(health_row)
            .collect::<Result<_, _>>()
            .map_err(self.err(what))
    }

    fn set_partner_health(&self, h: &PartnerHealth) -> Result<(), StoreError> {
        self.live_client()?
            .execute(
                &format!(
                    "INSERT INTO partner_health ({HEALTH_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (partner) DO UPDATE SET
                       last_success = excluded.last_success, last_error = excluded.last_error,
                       last_error_at = excluded.last_error_at, failures = excluded.failures,
                       paused = excluded.paused, paused_reason = excluded.paused_reason"
                ),
                &[
                    &h.partner,
                    &h.last_success,
                    &h.last_error,
                    &h.last_error_at,
                    &i64::from(h.failures),
                    &h.paused,
                    &h.paused_reason,
                ],
            )
            .map(|_| ())
            .map_err(self.err(&format!(
                "saving the sync health of partner `{}`",
                h.partner
            )))
    }
}
