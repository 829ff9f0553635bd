//! The transparency log in SQLite: the node's exchange records as the leaves
//! of an RFC 9162 Merkle tree (see the `accord-ledger` crate for the
//! formats), appended by the [`Writer`](crate::Writer) in the same
//! transaction as the objects they record, so the log and the store never
//! disagree.
//!
//! Layout (schema v3): table `ledger` has one row per leaf: `idx`, `leaf`
//! (the record's JCS bytes), `hashes` (the stored hashes that appending
//! this leaf completes, in stored-hash-index order: its leaf hash, then the
//! hash of each subtree it closes) and `seq` (the object version recorded,
//! for `in` and `local` records). A stored hash at (level `l`, index `k`)
//! lives in the row of leaf `(k << l) + 2^l - 1`, at offset `32·l`: one
//! primary-key read. An append of one leaf is one row insert.
//!
//! Besides the leaves: the node's signed checkpoints
//! (`ledger_checkpoints`), partners' cosignature lines on them
//! (`ledger_cosignatures`), the partners' checkpoints this node witnessed
//! (`ledger_witnessed`) and alerts with their evidence (`ledger_alerts`).
//! Those small writes go through a short-lived connection of their own
//! (WAL serializes them with the writer thread's transactions).

use crate::prepare::format_micros;
use crate::{SqliteStore, StoreError};
use accord_ledger::{
    Appended, ExchangeRecord, HASH_SIZE, Hash, HashReader, Tile, TileKind, append_leaves,
    consistency_proof, inclusion_proof, split_stored_hash_index, stored_hash_index, tree_root,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

/// Who an object being stored came from, for its ledger record: set on a
/// [`Writer`](crate::Writer) handle with
/// [`Writer::received_from`](crate::Writer::received_from).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum LedgerSource {
    /// Created or ingested on this node: a `local` record.
    #[default]
    Local,
    /// Received from this partner (TAXII POST by its account, or a sync
    /// from it): an `in` record.
    Partner(String),
}

/// The stored hashes of the `ledger` table, read through one connection
/// (the writer's, inside its transaction, or a reader's).
pub(crate) struct ConnHashes<'a>(pub &'a Connection);

/// The leaf whose row holds stored hash `index`, and the hash's position in
/// that row.
fn locate(index: u64) -> (u64, usize) {
    let (level, k) = split_stored_hash_index(index);
    let leaf = (k << level) + (1u64 << level) - 1;
    (leaf, usize::from(level))
}

impl HashReader for ConnHashes<'_> {
    type Error = rusqlite::Error;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, rusqlite::Error> {
        // The rows that hold the wanted hashes, fetched in one statement
        // (a proof needs O(log n) of them; one query each cost ~2 µs).
        let located: Vec<(i64, usize)> = indexes
            .iter()
            .map(|&i| {
                let (leaf, pos) = locate(i);
                i64::try_from(leaf)
                    .map(|l| (l, pos))
                    .map_err(|_| rusqlite::Error::QueryReturnedNoRows)
            })
            .collect::<Result<_, _>>()?;
        let mut rows: Vec<i64> = located.iter().map(|(l, _)| *l).collect();
        rows.sort_unstable();
        rows.dedup();
        let mut blobs: Vec<(i64, Vec<u8>)> = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(64) {
            let sql = format!(
                "SELECT idx, hashes FROM ledger WHERE idx IN ({})",
                vec!["?"; chunk.len()].join(",")
            );
            let mut st = self.0.prepare_cached(&sql)?;
            let mut q = st.query(rusqlite::params_from_iter(chunk.iter()))?;
            while let Some(r) = q.next()? {
                blobs.push((r.get(0)?, r.get(1)?));
            }
        }
        blobs.sort_unstable_by_key(|(i, _)| *i);
        let mut out = Vec::with_capacity(indexes.len());
        for (leaf, pos) in located {
            let blob = blobs
                .binary_search_by_key(&leaf, |(i, _)| *i)
                .map(|k| &blobs[k].1)
                .map_err(|_| rusqlite::Error::QueryReturnedNoRows)?;
            let h = blob
                .get(pos * HASH_SIZE..(pos + 1) * HASH_SIZE)
                .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            out.push(Hash::from_slice(h).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, e.into())
            })?);
        }
        Ok(out)
    }
}

/// The number of leaves, read through `conn`.
pub(crate) fn size_of(conn: &Connection) -> rusqlite::Result<u64> {
    let n: Option<i64> = conn.query_row("SELECT max(idx) FROM ledger", [], |r| r.get(0))?;
    Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0) + 1))
}

fn ledger_err(e: accord_ledger::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// Appends leaves (JCS bytes and the object seq they record) to a log of
/// `size` leaves, inside the caller's transaction.
pub(crate) fn append(
    conn: &Connection,
    size: u64,
    leaves: &[(Vec<u8>, Option<i64>)],
) -> rusqlite::Result<Appended> {
    let bytes: Vec<&[u8]> = leaves.iter().map(|(l, _)| l.as_slice()).collect();
    let appended = append_leaves(&ConnHashes(conn), size, &bytes).map_err(|e| match e {
        accord_ledger::Error::Storage { source, .. } => {
            match source.downcast::<rusqlite::Error>() {
                Ok(e) => *e,
                Err(other) => rusqlite::Error::ToSqlConversionFailure(other),
            }
        }
        e => ledger_err(e),
    })?;
    debug_assert_eq!(appended.first_index, stored_hash_index(0, size));
    let mut insert =
        conn.prepare_cached("INSERT INTO ledger (idx, leaf, hashes, seq) VALUES (?1, ?2, ?3, ?4)")?;
    let mut at = 0usize;
    let mut buf = Vec::with_capacity(HASH_SIZE * 8);
    for (j, (leaf, seq)) in leaves.iter().enumerate() {
        let idx = size + j as u64;
        let n = 1 + idx.trailing_ones() as usize;
        buf.clear();
        for h in appended.hashes.get(at..at + n).ok_or_else(|| {
            ledger_err(accord_ledger::Error::Checkpoint {
                reason: format!("append returned too few hashes at leaf {idx}"),
            })
        })? {
            buf.extend_from_slice(h.as_bytes());
        }
        at += n;
        insert.execute(params![idx as i64, leaf, &buf, seq])?;
    }
    Ok(appended)
}

/// A leaf of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Its index.
    pub index: u64,
    /// Its bytes (the record's JCS).
    pub leaf: Vec<u8>,
    /// The object version it records (`in` and `local` records).
    pub seq: Option<i64>,
}

/// One problem [`SqliteStore::ledger_check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerProblem {
    /// The first leaf index concerned.
    pub index: u64,
    /// What is wrong.
    pub reason: String,
}

/// What [`SqliteStore::ledger_check`] recomputed.
#[derive(Debug, Clone)]
pub struct LedgerCheck {
    /// Leaves read.
    pub size: u64,
    /// Every stored hash, recomputed from the leaves alone (a
    /// [`HashReader`] for roots at any size up to `size`).
    pub hashes: Vec<Hash>,
    /// Problems, in leaf order (at most 100).
    pub problems: Vec<LedgerProblem>,
}

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

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl SqliteStore {
    fn lerr(&self, what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let path = self.db_path().to_owned();
        let what = what.to_owned();
        move |source| StoreError::Read { path, what, source }
    }

    fn proof_err(&self, what: &str, e: accord_ledger::Error) -> StoreError {
        StoreError::Read {
            path: self.db_path().to_owned(),
            what: what.to_owned(),
            source: ledger_err(e),
        }
    }

    /// A write connection for the ledger's small tables.
    fn meta_conn(&self) -> Result<Connection, StoreError> {
        let c = Connection::open(self.db_path()).map_err(|source| StoreError::Open {
            path: self.db_path().to_owned(),
            source,
        })?;
        c.busy_timeout(Duration::from_secs(10))
            .map_err(|source| StoreError::Open {
                path: self.db_path().to_owned(),
                source,
            })?;
        Ok(c)
    }

    /// The number of leaves in the log.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_size(&self) -> Result<u64, StoreError> {
        size_of(self.read_conn()).map_err(self.lerr("the ledger size"))
    }

    /// The root of the tree of the first `size` leaves.
    ///
    /// # Errors
    /// [`StoreError::Read`] (also when `size` exceeds the log).
    pub fn ledger_root(&self, size: u64) -> Result<Hash, StoreError> {
        tree_root(&ConnHashes(self.read_conn()), size)
            .map_err(|e| self.proof_err(&format!("the ledger root at size {size}"), e))
    }

    /// The current size and root, read in one snapshot.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_head(&self) -> Result<(u64, Hash), StoreError> {
        let tx = self
            .read_conn()
            .unchecked_transaction()
            .map_err(self.lerr("a read transaction"))?;
        let size = size_of(&tx).map_err(self.lerr("the ledger size"))?;
        let root =
            tree_root(&ConnHashes(&tx), size).map_err(|e| self.proof_err("the ledger root", e))?;
        Ok((size, root))
    }

    /// Leaves `from..to` (fewer if the log is shorter).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut st = self
            .read_conn()
            .prepare_cached(
                "SELECT idx, leaf, seq FROM ledger WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )
            .map_err(self.lerr("ledger entries"))?;
        st.query_map(
            params![
                i64::try_from(from).unwrap_or(i64::MAX),
                i64::try_from(to).unwrap_or(i64::MAX)
            ],
            |r| {
                Ok(LedgerEntry {
                    index: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    leaf: r.get_ref(1)?.as_bytes()?.to_vec(),
                    seq: r.get(2)?,
                })
            },
        )
        .and_then(Iterator::collect)
        .map_err(self.lerr("ledger entries"))
    }

    /// The leaf hash of `index` and its inclusion proof in the tree of
    /// `size` leaves (RFC 9162 §2.1.3).
    ///
    /// # Errors
    /// [`StoreError::Read`] (also when `index >= size` or `size` exceeds
    /// the log).
    pub fn ledger_inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(Hash, Vec<Hash>), StoreError> {
        let what = format!("the inclusion proof of leaf {index} at size {size}");
        let r = ConnHashes(self.read_conn());
        let proof = inclusion_proof(&r, index, size).map_err(|e| self.proof_err(&what, e))?;
        let leaf = r
            .read_hashes(&[stored_hash_index(0, index)])
            .map_err(self.lerr(&what))?;
        Ok((leaf[0], proof))
    }

    /// The consistency proof between sizes `first` and `second` (RFC 9162
    /// §2.1.4).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        consistency_proof(&ConnHashes(self.read_conn()), first, second).map_err(|e| {
            self.proof_err(
                &format!("the consistency proof from {first} to {second}"),
                e,
            )
        })
    }

    /// The bytes of a C2SP tile or entry bundle, if the log has grown far
    /// enough to hold it (`None` otherwise).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError> {
        let size = self.ledger_size()?;
        let w = u64::from(tile.width);
        match tile.kind {
            TileKind::Entries => {
                let start = tile.index * 256;
                if start + w > size {
                    return Ok(None);
                }
                let entries = self.ledger_entries(start, start + w)?;
                let leaves: Vec<&[u8]> = entries.iter().map(|e| e.leaf.as_slice()).collect();
                accord_ledger::tiles::entry_bundle(&leaves)
                    .map(Some)
                    .map_err(|e| self.proof_err("an entry bundle", e))
            }
            TileKind::Hashes { level } => {
                let shift = 8 * u32::from(level);
                let need = (tile.index * 256 + w)
                    .checked_shl(shift)
                    .unwrap_or(u64::MAX);
                if shift >= 64 || need > size {
                    return Ok(None);
                }
                accord_ledger::tiles::tile_bytes(&ConnHashes(self.read_conn()), tile)
                    .map(Some)
                    .map_err(|e| self.proof_err(&format!("tile {}", tile.path()), e))
            }
        }
    }

    /// Recomputes every stored hash from the leaves alone and compares:
    /// each leaf must be a valid record in canonical form, its stored
    /// hashes must be the recomputed ones, and a record of a stored object
    /// must carry the SHA-256 of that object's exact bytes (when the object
    /// is still there). Reads the whole log.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_check(&self) -> Result<LedgerCheck, StoreError> {
        const MAX: usize = 100;
        let tx = self
            .read_conn()
            .unchecked_transaction()
            .map_err(self.lerr("a read transaction"))?;
        let mut st = tx
            .prepare(
                "SELECT l.idx, l.leaf, l.hashes, l.seq, o.raw FROM ledger l
                 LEFT JOIN objects o ON o.seq = l.seq ORDER BY l.idx",
            )
            .map_err(self.lerr("the ledger"))?;
        let mut rows = st.query([]).map_err(self.lerr("the ledger"))?;
        let mut hashes: Vec<Hash> = Vec::new();
        let mut problems = Vec::new();
        let mut size = 0u64;
        let mut bad_leaf = false;
        let problem = |problems: &mut Vec<LedgerProblem>, index, reason: String| {
            if problems.len() < MAX {
                problems.push(LedgerProblem { index, reason });
            }
        };
        while let Some(r) = rows.next().map_err(self.lerr("the ledger"))? {
            let idx: i64 = r.get(0).map_err(self.lerr("a ledger index"))?;
            let idx = u64::try_from(idx).unwrap_or(u64::MAX);
            // Text or blob: a leaf edited behind the store may have changed type.
            let leaf: Vec<u8> = r
                .get_ref(1)
                .and_then(|v| v.as_bytes().map_err(Into::into))
                .map_err(self.lerr("a ledger leaf"))?
                .to_vec();
            let stored: Vec<u8> = r.get(2).map_err(self.lerr("ledger hashes"))?;
            let seq: Option<i64> = r.get(3).map_err(self.lerr("a ledger seq"))?;
            let raw: Option<String> = r.get(4).map_err(self.lerr("an object"))?;
            if idx != size {
                problem(
                    &mut problems,
                    size,
                    format!("leaf {size} is missing (next stored leaf is {idx})"),
                );
                break;
            }
            match ExchangeRecord::from_leaf_bytes(&leaf) {
                Ok(rec) => {
                    if let (Some(seq), Some(raw)) = (seq, &raw) {
                        let h = Hash(sha2::Sha256::digest(raw.as_bytes()).into());
                        if h.to_hex() != rec.sha256 {
                            problem(
                                &mut problems,
                                idx,
                                format!(
                                    "object `{}` (seq {seq}) no longer has the bytes recorded (sha256 {} recorded, {} stored)",
                                    rec.object_id,
                                    rec.sha256,
                                    h.to_hex()
                                ),
                            );
                        }
                    }
                }
                Err(e) => problem(&mut problems, idx, format!("not a canonical record: {e}")),
            }
            let appended = append_leaves(&hashes, size, &[&leaf])
                .map_err(|e| self.proof_err("recomputing the ledger", e))?;
            let mut recomputed = Vec::with_capacity(stored.len());
            for h in &appended.hashes {
                recomputed.extend_from_slice(h.as_bytes());
            }
            if stored.get(..HASH_SIZE) != recomputed.get(..HASH_SIZE) {
                bad_leaf = true;
                problem(
                    &mut problems,
                    idx,
                    "the leaf does not hash to its stored leaf hash".to_owned(),
                );
            } else if recomputed != stored && !bad_leaf {
                // After a bad leaf every subtree above it differs too: only
                // the first cause is named.
                problem(
                    &mut problems,
                    idx,
                    "a stored subtree hash differs from the recomputed one".to_owned(),
                );
            }
            hashes.extend(appended.hashes);
            size += 1;
        }
        Ok(LedgerCheck {
            size,
            hashes,
            problems,
        })
    }

    /// Saves a signed checkpoint of this log (idempotent per size).
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    pub fn ledger_save_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.meta_conn()?
            .execute(
                "INSERT OR IGNORE INTO ledger_checkpoints (size, note, signed_at) VALUES (?1, ?2, ?3)",
                params![size as i64, note, now_micros()],
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
                params![size as i64, witness, i64::from(key_id), line, now_micros()],
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
                params![partner, size as i64, &root.0[..], note, now_micros()],
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
            .query_row(sql, params![partner, size.map(|s| s as i64)], |r| {
                Ok(Witnessed {
                    partner: partner.to_owned(),
                    size: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    note: r.get(1)?,
                    received_at: format_micros(r.get(2)?),
                })
            })
            .optional()
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
                params![partner, kind, detail, first, second, now_micros()],
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

use sha2::Digest as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hash_rows() {
        // Leaf 3 closes levels 1 and 2: its row holds indexes 4, 5, 6.
        assert_eq!(stored_hash_index(0, 3), 4);
        assert_eq!(locate(4), (3, 0));
        assert_eq!(locate(5), (3, 1));
        assert_eq!(locate(6), (3, 2));
        assert_eq!(locate(stored_hash_index(1, 0)), (1, 1));
        assert_eq!(locate(stored_hash_index(0, 6)), (6, 0));
    }
}
