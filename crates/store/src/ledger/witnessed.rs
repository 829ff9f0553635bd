//! Partners' checkpoints this node witnessed, and alerts with their
//! evidence.

use crate::prepare::format_micros;
use crate::{SqliteStore, StoreError};
use accord_ledger::Hash;
use rusqlite::{OptionalExtension, params};

/// A checkpoint of a partner's log that this node witnessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    /// The partner.
    pub partner: String,
    /// Tree size.
    pub size: u64,
    /// The signed note as received.
    pub note: Vec<u8>,
    /// When it was received (RFC 3339).
    pub received_at: String,
}

/// An alert raised by witnessing or auditing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its number.
    pub id: i64,
    /// The partner concerned.
    pub partner: String,
    /// `split-view`, `inconsistent`, `rollback`, `audit`…
    pub kind: String,
    /// What happened.
    pub detail: String,
    /// First piece of evidence (a signed note).
    pub first: Option<Vec<u8>>,
    /// Second piece of evidence.
    pub second: Option<Vec<u8>>,
    /// When it was raised (RFC 3339).
    pub time: String,
}

impl SqliteStore {
    /// Keeps a partner's checkpoint this node witnessed.
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    pub fn ledger_save_witnessed(
        &self,
        partner: &str,
        size: u64,
        root: &Hash,
        note: &[u8],
    ) -> Result<(), StoreError> {
        self.meta_conn()?
            .execute(
                "INSERT OR IGNORE INTO ledger_witnessed (partner, size, root, note, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![partner, size as i64, &root.0[..], note, self.now_micros()],
            )
            .map(|_| ())
            .map_err(self.lerr("saving a witnessed checkpoint"))
    }

    /// The partner's checkpoint witnessed at `size`, or (with `None`) the
    /// largest one.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_witnessed(
        &self,
        partner: &str,
        size: Option<u64>,
    ) -> Result<Option<Witnessed>, StoreError> {
        let sql = if size.is_some() {
            "SELECT size, note, received_at FROM ledger_witnessed WHERE partner = ?1 AND size = ?2"
        } else {
            "SELECT size, note, received_at FROM ledger_witnessed WHERE partner = ?1 AND ?2 IS NULL
             ORDER BY size DESC LIMIT 1"
        };
        self.read_conn()
            .prepare_cached(sql)
            .and_then(|mut st| st.query_row(params![partner, size.map(|s| s as i64)], |r| {
                Ok(Witnessed {
                    partner: partner.to_owned(),
                    size: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    note: r.get(1)?,
                    received_at: format_micros(r.get(2)?),
                })
            }).optional())
            .map_err(self.lerr("a witnessed checkpoint"))
    }

    /// Raises an alert (kept with its evidence).
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    pub fn ledger_add_alert(
        &self,
        partner: &str,
        kind: &str,
        detail: &str,
        first: Option<&[u8]>,
        second: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.meta_conn()?
            .execute(
                "INSERT INTO ledger_alerts (partner, kind, detail, first, second, time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![partner, kind, detail, first, second, self.now_micros()],
            )
            .map(|_| ())
            .map_err(self.lerr("saving an alert"))
    }

    /// Every alert, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_alerts(&self) -> Result<Vec<Alert>, StoreError> {
        let mut st = self
            .read_conn()
            .prepare_cached(
                "SELECT id, partner, kind, detail, first, second, time FROM ledger_alerts ORDER BY id",
            )
            .map_err(self.lerr("alerts"))?;
        st.query_map([], |r| {
            Ok(Alert {
                id: r.get(0)?,
                partner: r.get(1)?,
                kind: r.get(2)?,
                detail: r.get(3)?,
                first: r.get(4)?,
                second: r.get(5)?,
                time: format_micros(r.get(6)?),
            })
        })
        .and_then(Iterator::collect)
        .map_err(self.lerr("alerts"))
    }
}
