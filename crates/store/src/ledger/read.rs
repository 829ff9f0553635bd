//! Reading the log: size, roots, entries, proofs and tiles.

use super::shared::{LeafRun, serve_tile};
use super::{ConnHashes, ledger_err, records::stored_record, size_of};
use crate::{SqliteStore, StoreError};
use accord_ledger::{
    Hash, HashReader, Tile, consistency_proof, inclusion_proof, stored_hash_index, tree_root,
};
use rusqlite::{Connection, params};

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

impl LeafRun {
    /// A chunk as stored, split into its leaves (a stored object's record
    /// rebuilt from its row, or why it cannot be).
    pub(super) fn from_row(
        conn: &Connection,
        r: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<Result<LeafRun, String>> {
        let first = u64::try_from(r.get::<_, i64>(0)?).unwrap_or(u64::MAX);
        let n = usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
        let hashes: Vec<u8> = r.get_ref(2)?.as_bytes()?.to_vec();
        let seq_bytes = r.get_ref(3)?.as_bytes()?;
        // Text or blob: a leaf edited behind the store may have changed type.
        let leaf_bytes = r.get_ref(4)?.as_bytes()?;
        let lines: Vec<&[u8]> = leaf_bytes.split(|&b| b == b'\n').collect();
        if lines.len() != n || seq_bytes.len() != 8 * n {
            return Ok(Err(format!(
                "the chunk of leaves from {first} records {n} leaves but holds {} leaves and {} seqs",
                lines.len(),
                seq_bytes.len() / 8
            )));
        }
        let seqs: Vec<Option<i64>> = seq_bytes
            .chunks_exact(8)
            .map(|b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Some(i64::from_le_bytes(a)).filter(|&s| s != 0)
            })
            .collect();
        let rebuilt = lines.iter().map(|l| *l == b"#").collect();
        let mut leaves = Vec::with_capacity(n);
        for (line, seq) in lines.into_iter().zip(&seqs) {
            leaves.push(match (line, seq) {
                (b"#", Some(seq)) => stored_record(conn, *seq)?,
                (b"#", None) => Err("a rebuilt record without its object's seq".to_owned()),
                (bytes, _) => Ok(bytes.to_vec()),
            });
        }
        Ok(Ok(LeafRun {
            first,
            hashes,
            seqs,
            leaves,
            rebuilt,
        }))
    }
}

impl SqliteStore {
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
        tree_root(
            &ConnHashes::cached(self.read_conn(), self.upper_cache()),
            size,
        )
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
        let root = tree_root(&ConnHashes::cached(&tx, self.upper_cache()), size)
            .map_err(|e| self.proof_err("the ledger root", e))?;
        Ok((size, root))
    }

    /// Leaves `from..to` (fewer if the log is shorter).
    ///
    /// # Errors
    /// [`StoreError::Read`], also when a chunk is malformed.
    pub fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<LedgerEntry>, StoreError> {
        let what = "ledger entries";
        let mut st = self
            .read_conn()
            .prepare_cached(
                "SELECT first, n, hashes, seqs, leaves FROM ledger_chunks
                 WHERE first >= coalesce((SELECT first FROM ledger_chunks WHERE first <= ?1
                                          ORDER BY first DESC LIMIT 1), 0)
                   AND first < ?2 ORDER BY first",
            )
            .map_err(self.lerr(what))?;
        let mut rows = st
            .query(params![
                i64::try_from(from).unwrap_or(i64::MAX),
                i64::try_from(to).unwrap_or(i64::MAX)
            ])
            .map_err(self.lerr(what))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(self.lerr(what))? {
            let chunk = LeafRun::from_row(self.read_conn(), r)
                .map_err(self.lerr(what))?
                .map_err(|reason| StoreError::Read {
                    path: self.db_path().to_owned(),
                    what: what.to_owned(),
                    source: ledger_err(accord_ledger::Error::Checkpoint { reason }),
                })?;
            for (k, (leaf, seq)) in chunk.leaves.into_iter().zip(chunk.seqs).enumerate() {
                let index = chunk.first + k as u64;
                if (from..to).contains(&index) {
                    let leaf = leaf.map_err(|reason| StoreError::Read {
                        path: self.db_path().to_owned(),
                        what: format!("ledger entry {index}"),
                        source: ledger_err(accord_ledger::Error::Checkpoint { reason }),
                    })?;
                    out.push(LedgerEntry { index, leaf, seq });
                }
            }
        }
        Ok(out)
    }

    /// The leaves about one object: those recording one of `seqs` (its
    /// stored versions), and the other records whose bytes contain
    /// `needle` (its id: `out` records, and records of deleted versions),
    /// at most `limit`, in log order; and whether more were left out.
    /// One pass over the chunks that reads each leaf's seq and the bytes
    /// kept for `out` records, rebuilding only the records it returns (a
    /// full read rebuilds every stored object's record from its row).
    ///
    /// # Errors
    /// [`StoreError::Read`], also when a chunk is malformed.
    pub fn ledger_entries_about(
        &self,
        seqs: &[i64],
        needle: &[u8],
        limit: usize,
    ) -> Result<(Vec<LedgerEntry>, bool), StoreError> {
        let what = "the log's records about an object";
        let mut wanted: std::collections::HashSet<i64> = seqs.iter().copied().collect();
        let finder = memchr::memmem::Finder::new(needle);
        {
            // Deleted versions keep their records apart, by seq.
            let mut st = self
                .read_conn()
                .prepare_cached("SELECT seq, leaf FROM ledger_detached")
                .map_err(self.lerr(what))?;
            let mut rows = st.query([]).map_err(self.lerr(what))?;
            while let Some(r) = rows.next().map_err(self.lerr(what))? {
                let leaf = r
                    .get_ref(1)
                    .and_then(|v| Ok(v.as_bytes()?))
                    .map_err(self.lerr(what))?;
                if finder.find(leaf).is_some() {
                    wanted.insert(r.get(0).map_err(self.lerr(what))?);
                }
            }
        }
        let mut st = self
            .read_conn()
            .prepare_cached("SELECT first, n, seqs, leaves FROM ledger_chunks ORDER BY first")
            .map_err(self.lerr(what))?;
        let mut rows = st.query([]).map_err(self.lerr(what))?;
        let mut out = Vec::new();
        let malformed = |first: i64| StoreError::Read {
            path: self.db_path().to_owned(),
            what: what.to_owned(),
            source: ledger_err(accord_ledger::Error::Checkpoint {
                reason: format!("the chunk of leaves from {first} is malformed"),
            }),
        };
        while let Some(r) = rows.next().map_err(self.lerr(what))? {
            let first: i64 = r.get(0).map_err(self.lerr(what))?;
            let n = usize::try_from(r.get::<_, i64>(1).map_err(self.lerr(what))?).unwrap_or(0);
            let seq_bytes = r
                .get_ref(2)
                .and_then(|v| Ok(v.as_bytes()?))
                .map_err(self.lerr(what))?;
            let leaf_bytes = r
                .get_ref(3)
                .and_then(|v| Ok(v.as_bytes()?))
                .map_err(self.lerr(what))?;
            if seq_bytes.len() != 8 * n {
                return Err(malformed(first));
            }
            for (k, line) in leaf_bytes.split(|&b| b == b'\n').enumerate() {
                let Some(b) = seq_bytes.get(8 * k..8 * k + 8) else {
                    return Err(malformed(first));
                };
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                let seq = Some(i64::from_le_bytes(a)).filter(|&s| s != 0);
                let leaf = match (line, seq) {
                    (b"#", Some(seq)) if wanted.contains(&seq) => {
                        stored_record(self.read_conn(), seq)
                            .map_err(self.lerr(what))?
                            .map_err(|_| malformed(first))?
                    }
                    (b"#", _) => continue,
                    (bytes, _) if finder.find(bytes).is_some() => bytes.to_vec(),
                    _ => continue,
                };
                if out.len() == limit {
                    return Ok((out, true));
                }
                out.push(LedgerEntry {
                    index: u64::try_from(first).unwrap_or(0) + k as u64,
                    leaf,
                    seq,
                });
            }
        }
        Ok((out, false))
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
        // One read transaction: one snapshot, and the locks taken once
        // rather than per statement.
        let tx = self
            .read_conn()
            .unchecked_transaction()
            .map_err(self.lerr("a read transaction"))?;
        let r = ConnHashes::cached(&tx, self.upper_cache());
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
        let tx = self
            .read_conn()
            .unchecked_transaction()
            .map_err(self.lerr("a read transaction"))?;
        consistency_proof(&ConnHashes::cached(&tx, self.upper_cache()), first, second).map_err(
            |e| {
                self.proof_err(
                    &format!("the consistency proof from {first} to {second}"),
                    e,
                )
            },
        )
    }

    /// The bytes of a C2SP tile or entry bundle, if the log has grown far
    /// enough to hold it (`None` otherwise).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError> {
        serve_tile(
            self.ledger_size()?,
            tile,
            |from, to| self.ledger_entries(from, to),
            |tile| {
                accord_ledger::tiles::tile_bytes(
                    &ConnHashes::cached(self.read_conn(), self.upper_cache()),
                    tile,
                )
                .map_err(|e| self.proof_err(&format!("tile {}", tile.path()), e))
            },
            |what, e| self.proof_err(what, e),
        )
    }
}
