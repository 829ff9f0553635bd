//! The log's small tables over PostgreSQL: the node's signed checkpoints,
//! partners' cosignatures on them, partners' checkpoints this node
//! witnessed, alerts. Each write is one autocommitted statement on the
//! handle's connection (durable on return: `synchronous_commit = on`).

use crate::pg::PgStore;
use crate::prepare::format_micros;
use crate::{Alert, LedgerWrite, StoreError, Witnessed};
use accord_ledger::Hash;

impl PgStore {
    /// `size` as a `bigint`, or the error of `what` for a size no log
    /// reaches.
    fn size_param(&self, size: u64, what: &str) -> Result<i64, StoreError> {
        i64::try_from(size).map_err(|_| {
            self.lerr(what)(accord_ledger::Error::Checkpoint {
                reason: format!("tree size {size} is past what a bigint holds"),
            })
        })
    }
}

/// A `bigint` count or size read back (never negative as written).
fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(super) fn latest_checkpoint(store: &PgStore) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    store
        .client()
        .query_opt(
            "SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )
        .and_then(|r| {
            r.map(|r| Ok((unsigned(r.try_get(0)?), r.try_get(1)?)))
                .transpose()
        })
        .map_err(store.err("the latest checkpoint"))
}

pub(super) fn checkpoint_history(
    store: &PgStore,
    limit: usize,
) -> Result<Vec<(u64, i64, u64)>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    store
        .client()
        .query(
            "SELECT c.size, c.signed_at,
                    (SELECT count(*) FROM ledger_cosignatures s WHERE s.size = c.size)
             FROM ledger_checkpoints c ORDER BY c.size DESC LIMIT $1",
            &[&limit],
        )
        .and_then(|rows| {
            rows.iter()
                .map(|r| {
                    Ok((
                        unsigned(r.try_get(0)?),
                        r.try_get(1)?,
                        unsigned(r.try_get(2)?),
                    ))
                })
                .collect()
        })
        .map_err(store.err("the checkpoint history"))
}

pub(super) fn checkpoint_at(store: &PgStore, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
    let Ok(size) = i64::try_from(size) else {
        return Ok(None);
    };
    store
        .client()
        .query_opt(
            "SELECT note FROM ledger_checkpoints WHERE size = $1",
            &[&size],
        )
        .and_then(|r| r.map(|r| r.try_get(0)).transpose())
        .map_err(store.err("a checkpoint"))
}

pub(super) fn cosignatures(store: &PgStore, size: u64) -> Result<Vec<String>, StoreError> {
    let Ok(size) = i64::try_from(size) else {
        return Ok(Vec::new());
    };
    store
        .client()
        .query(
            "SELECT line FROM ledger_cosignatures WHERE size = $1 ORDER BY witness, key_id",
            &[&size],
        )
        .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
        .map_err(store.err("cosignatures"))
}

pub(super) fn witnessed(
    store: &PgStore,
    partner: &str,
    size: Option<u64>,
) -> Result<Option<Witnessed>, StoreError> {
    let row = match size {
        Some(size) => {
            let Ok(size) = i64::try_from(size) else {
                return Ok(None);
            };
            store.client().query_opt(
                "SELECT size, note, received_at FROM ledger_witnessed
                 WHERE partner = $1 AND size = $2",
                &[&partner, &size],
            )
        }
        None => store.client().query_opt(
            "SELECT size, note, received_at FROM ledger_witnessed
             WHERE partner = $1 ORDER BY size DESC LIMIT 1",
            &[&partner],
        ),
    };
    row.and_then(|r| {
        r.map(|r| {
            Ok(Witnessed {
                partner: partner.to_owned(),
                size: unsigned(r.try_get(0)?),
                note: r.try_get(1)?,
                received_at: format_micros(r.try_get(2)?),
            })
        })
        .transpose()
    })
    .map_err(store.err("a witnessed checkpoint"))
}

pub(super) fn alerts(store: &PgStore) -> Result<Vec<Alert>, StoreError> {
    store
        .client()
        .query(
            "SELECT id, partner, kind, detail, first, second, time FROM ledger_alerts ORDER BY id",
            &[],
        )
        .and_then(|rows| {
            rows.iter()
                .map(|r| {
                    Ok(Alert {
                        id: r.try_get(0)?,
                        partner: r.try_get(1)?,
                        kind: r.try_get(2)?,
                        detail: r.try_get(3)?,
                        first: r.try_get(4)?,
                        second: r.try_get(5)?,
                        time: format_micros(r.try_get(6)?),
                    })
                })
                .collect()
        })
        .map_err(store.err("alerts"))
}

impl LedgerWrite for PgStore {
    /// Idempotent per size: a second note for a size already saved is
    /// ignored (the first stays).
    fn ledger_save_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        let what = "saving a checkpoint";
        let size = self.size_param(size, what)?;
        self.client()
            .execute(
                "INSERT INTO ledger_checkpoints (size, note, signed_at) VALUES ($1, $2, $3)
                 ON CONFLICT (size) DO NOTHING",
                &[&size, &note, &self.now_micros()],
            )
            .map(drop)
            .map_err(self.err(what))
    }

    /// Replaces the same witness key's older line on the same checkpoint.
    fn ledger_add_cosignature(
        &self,
        size: u64,
        witness: &str,
        key_id: u32,
        line: &str,
    ) -> Result<(), StoreError> {
        let what = "saving a cosignature";
        let size = self.size_param(size, what)?;
        self.client()
            .execute(
                "INSERT INTO ledger_cosignatures (size, witness, key_id, line, received_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (size, witness, key_id)
                 DO UPDATE SET line = excluded.line, received_at = excluded.received_at",
                &[
                    &size,
                    &witness,
                    &i64::from(key_id),
                    &line,
                    &self.now_micros(),
                ],
            )
            .map(drop)
            .map_err(self.err(what))
    }

    /// Idempotent per (partner, size): the first note kept stays.
    fn ledger_save_witnessed(
        &self,
        partner: &str,
        size: u64,
        root: &Hash,
        note: &[u8],
    ) -> Result<(), StoreError> {
        let what = "saving a witnessed checkpoint";
        let size = self.size_param(size, what)?;
        self.client()
            .execute(
                "INSERT INTO ledger_witnessed (partner, size, root, note, received_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (partner, size) DO NOTHING",
                &[&partner, &size, &&root.0[..], &note, &self.now_micros()],
            )
            .map(drop)
            .map_err(self.err(what))
    }

    fn ledger_add_alert(
        &self,
        partner: &str,
        kind: &str,
        detail: &str,
        first: Option<&[u8]>,
        second: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.client()
            .execute(
                "INSERT INTO ledger_alerts (partner, kind, detail, first, second, time)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &partner,
                    &kind,
                    &detail,
                    &first,
                    &second,
                    &self.now_micros(),
                ],
            )
            .map(drop)
            .map_err(self.err("saving an alert"))
    }
}
