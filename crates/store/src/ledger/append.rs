//! Appending leaves in chunks, inside the writer's transaction, and the
//! schema-v4 migration of v3 rows into chunks.

use super::{BLOCK, ConnHashes, UPPER_LEVEL, ledger_err, not_stored, to_i64};
use accord_ledger::{
    Appended, HASH_SIZE, Hash, append_leaf_hashes, split_stored_hash_index, stored_hash_index,
};
use rusqlite::{Connection, params};

/// A leaf to append: its bytes (a record's JCS), their leaf hash (computed
/// by the submitter) and the object version it records.
pub(crate) struct NewLeaf<'a> {
    pub bytes: &'a [u8],
    pub hash: Hash,
    pub seq: Option<i64>,
    /// The record is rebuilt from the object row `seq` (its `ledger_src`
    /// holds the rest): the chunk keeps `#` instead of the bytes.
    pub rebuild: bool,
}

/// Appends leaves to a log of `size` leaves, inside the caller's
/// transaction: one `ledger_chunks` row per run of leaves within a
/// 256-leaf block, and a `ledger_upper` row per stored hash of level 8 or
/// more.
pub(crate) fn append(
    conn: &Connection,
    size: u64,
    leaves: &[NewLeaf<'_>],
) -> rusqlite::Result<Appended> {
    // A rebuilt record's bytes are not stored (its chunk line is `#`).
    super::shared::check_new_leaves(
        size,
        leaves
            .iter()
            .map(|l| if l.rebuild { &[][..] } else { l.bytes }),
    )
    .map_err(ledger_err)?;
    let appended = append_leaf_hashes(
        &ConnHashes::new(conn),
        size,
        leaves.iter().map(|l| l.hash).collect(),
    )
    .map_err(|e| match e {
        accord_ledger::Error::Storage { source, .. } => {
            match source.downcast::<rusqlite::Error>() {
                Ok(e) => *e,
                Err(other) => rusqlite::Error::ToSqlConversionFailure(other),
            }
        }
        e => ledger_err(e),
    })?;
    let base = stored_hash_index(0, size);
    debug_assert_eq!(appended.first_index, base);
    let mut chunk_insert = conn.prepare_cached(
        "INSERT INTO ledger_chunks (first, n, hashes, seqs, leaves) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut upper_insert =
        conn.prepare_cached("INSERT INTO ledger_upper (idx, hash) VALUES (?1, ?2)")?;
    let (mut hashes, mut seqs, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
    let mut j = 0usize;
    while j < leaves.len() {
        let first = size + j as u64;
        let end = (size + leaves.len() as u64).min((first / BLOCK + 1) * BLOCK);
        let n = usize::try_from(end - first).map_err(|_| not_stored())?;
        let lo = usize::try_from(stored_hash_index(0, first) - base).map_err(|_| not_stored())?;
        let hi = usize::try_from(stored_hash_index(0, end) - base).map_err(|_| not_stored())?;
        let run = appended.hashes.get(lo..hi).ok_or_else(|| {
            ledger_err(accord_ledger::Error::Checkpoint {
                reason: format!("append returned too few hashes for leaves {first}..{end}"),
            })
        })?;
        hashes.clear();
        for (k, h) in run.iter().enumerate() {
            hashes.extend_from_slice(h.as_bytes());
            let idx = base + (lo + k) as u64;
            if split_stored_hash_index(idx).0 >= UPPER_LEVEL {
                upper_insert.execute(params![to_i64(idx)?, &h.as_bytes()[..]])?;
            }
        }
        seqs.clear();
        bytes.clear();
        for (k, l) in leaves[j..j + n].iter().enumerate() {
            seqs.extend_from_slice(&l.seq.unwrap_or(0).to_le_bytes());
            if k > 0 {
                bytes.push(b'\n');
            }
            if l.rebuild {
                bytes.push(b'#');
            } else {
                bytes.extend_from_slice(l.bytes);
            }
        }
        chunk_insert.execute(params![to_i64(first)?, n as i64, &hashes, &seqs, &bytes])?;
        j += n;
    }
    Ok(appended)
}

/// Moves a schema-v3 log (one `ledger` row per leaf) into chunks and
/// drops the old table; part of the v4 migration's transaction.
pub(crate) fn migrate_v3_rows(conn: &Connection) -> rusqlite::Result<()> {
    let mut st = conn.prepare("SELECT idx, leaf, hashes, seq FROM ledger ORDER BY idx")?;
    let mut rows = st.query([])?;
    let mut chunk_insert = conn.prepare(
        "INSERT INTO ledger_chunks (first, n, hashes, seqs, leaves) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut upper_insert = conn.prepare("INSERT INTO ledger_upper (idx, hash) VALUES (?1, ?2)")?;
    let (mut hashes, mut seqs, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
    let mut first = 0u64;
    let mut n = 0u64;
    let mut flush = |first: u64,
                     n: u64,
                     hashes: &mut Vec<u8>,
                     seqs: &mut Vec<u8>,
                     bytes: &mut Vec<u8>|
     -> rusqlite::Result<()> {
        if n > 0 {
            chunk_insert.execute(params![
                to_i64(first)?,
                to_i64(n)?,
                &*hashes,
                &*seqs,
                &*bytes
            ])?;
        }
        hashes.clear();
        seqs.clear();
        bytes.clear();
        Ok(())
    };
    while let Some(r) = rows.next()? {
        let idx = u64::try_from(r.get::<_, i64>(0)?).unwrap_or(u64::MAX);
        let leaf = r.get_ref(1)?.as_bytes()?;
        let stored = r.get_ref(2)?.as_bytes()?;
        let seq: Option<i64> = r.get(3)?;
        if idx != first + n || (n > 0 && idx % BLOCK == 0) {
            flush(first, n, &mut hashes, &mut seqs, &mut bytes)?;
            first = idx;
            n = 0;
        }
        let base = stored_hash_index(0, idx);
        for (k, h) in stored.chunks(HASH_SIZE).enumerate() {
            let s = base + k as u64;
            if split_stored_hash_index(s).0 >= UPPER_LEVEL {
                upper_insert.execute(params![to_i64(s)?, h])?;
            }
        }
        hashes.extend_from_slice(stored);
        seqs.extend_from_slice(&seq.unwrap_or(0).to_le_bytes());
        if n > 0 {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(leaf);
        n += 1;
    }
    flush(first, n, &mut hashes, &mut seqs, &mut bytes)?;
    drop(rows);
    drop(st);
    conn.execute_batch("DROP TABLE ledger")
}

#[cfg(feature = "bench-fixtures")]
impl crate::SqliteStore {
    /// Appends `leaves` as they are (not exchange records) in one
    /// transaction of its own, and returns the new size. Only for building
    /// large benchmark fixtures (a 10⁸-leaf log of real records would not
    /// fit on the benchmark machine's disk); a node never calls it.
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    #[cfg(feature = "bench-fixtures")]
    pub fn ledger_append_synthetic(&self, leaves: &[Vec<u8>]) -> Result<u64, crate::StoreError> {
        let mut conn = self.meta_conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(self.lerr("a write transaction"))?;
        let size = super::size_of(&tx).map_err(self.lerr("the ledger size"))?;
        let new: Vec<NewLeaf<'_>> = leaves
            .iter()
            .map(|l| NewLeaf {
                bytes: l,
                hash: accord_ledger::leaf_hash(l),
                seq: None,
                rebuild: false,
            })
            .collect();
        let appended = append(&tx, size, &new).map_err(self.lerr("appending leaves"))?;
        tx.commit().map_err(self.lerr("committing leaves"))?;
        Ok(appended.new_size)
    }
}
