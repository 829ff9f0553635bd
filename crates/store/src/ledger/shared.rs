//! What the SQLite and the PostgreSQL logs do the same way, whatever their
//! tables: refusing a leaf that is not JCS before it is appended, serving
//! a C2SP tile or entry bundle from the log's size, and feeding a run of
//! leaves as read to the [`TreeVerifier`] of `accord ledger verify`.

use super::LedgerEntry;
use crate::StoreError;
use accord_ledger::{FedLeaf, Hash, ObjectBytes, Tile, TileKind, TreeVerifier};
use sha2::Digest as _;

/// Refuses new leaves of a log of `size` leaves when one holds a newline
/// (JCS never emits one, and the SQLite chunks join leaves with it): the
/// error names the first such leaf's index.
pub(crate) fn check_new_leaves<'a>(
    size: u64,
    leaves: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), accord_ledger::Error> {
    match leaves.into_iter().position(|l| l.contains(&b'\n')) {
        Some(j) => Err(accord_ledger::Error::RecordBytes {
            reason: format!("leaf {} contains a newline: not JCS", size + j as u64),
        }),
        None => Ok(()),
    }
}

/// Consecutive leaves of a log as a backend read them, with the stored
/// hashes they complete (32 bytes each, in stored-hash-index order from
/// `stored_hash_index(0, first)`).
pub(crate) struct LeafRun {
    /// The index of the first leaf.
    pub(crate) first: u64,
    /// The stored hashes the leaves complete.
    pub(crate) hashes: Vec<u8>,
    /// The object version each leaf records.
    pub(crate) seqs: Vec<Option<i64>>,
    /// Each leaf's bytes, or why the backend cannot give them.
    pub(crate) leaves: Vec<Result<Vec<u8>, String>>,
    /// Whether each leaf was rebuilt from its object's row.
    pub(crate) rebuilt: Vec<bool>,
}

impl LeafRun {
    /// The objects [`LeafRun::feed`] asks `raw_of` for: the seqs of the
    /// leaves kept as they were (not rebuilt) that record an object.
    pub(crate) fn object_seqs(&self) -> impl Iterator<Item = i64> + '_ {
        self.leaves
            .iter()
            .zip(&self.seqs)
            .zip(&self.rebuilt)
            .filter_map(|((leaf, seq), &rebuilt)| seq.filter(|_| leaf.is_ok() && !rebuilt))
    }

    /// Feeds the run to `verifier`. `raw_of(seq)` gives the stored bytes
    /// of object version `seq` (`None` once deleted), asked for each of
    /// [`LeafRun::object_seqs`]: such a leaf must carry their SHA-256.
    /// Returns whether to go on (see [`TreeVerifier::feed_run`]).
    ///
    /// # Errors
    /// `raw_of`'s.
    pub(crate) fn feed<E>(
        &self,
        verifier: &mut TreeVerifier,
        mut raw_of: impl FnMut(i64) -> Result<Option<String>, E>,
    ) -> Result<bool, E> {
        let mut objects = Vec::with_capacity(self.leaves.len());
        for ((leaf, seq), &rebuilt) in self.leaves.iter().zip(&self.seqs).zip(&self.rebuilt) {
            objects.push(match seq {
                Some(seq) if leaf.is_ok() && !rebuilt => raw_of(*seq)?.map(|raw| ObjectBytes {
                    seq: *seq,
                    sha256: Hash(sha2::Sha256::digest(raw.as_bytes()).into()),
                }),
                _ => None,
            });
        }
        let leaves =
            self.leaves
                .iter()
                .zip(&self.rebuilt)
                .zip(objects)
                .map(|((leaf, &rebuilt), object)| FedLeaf {
                    bytes: leaf.as_deref().map_err(String::as_str),
                    rebuilt,
                    object,
                });
        Ok(verifier.feed_run(self.first, &self.hashes, leaves))
    }
}

/// The bytes of `tile` from a log of `size` leaves, `None` while the log
/// is too short to hold it: an entry bundle from `entries(from, to)`, a
/// hash tile from `hash_tile` (over the backend's stored hashes). `err`
/// makes the backend's error for a bundle or tile the ledger refuses.
///
/// # Errors
/// `entries`' and `hash_tile`'s, and `err`'s for a leaf too long for an
/// entry bundle.
pub(crate) fn serve_tile(
    size: u64,
    tile: &Tile,
    entries: impl FnOnce(u64, u64) -> Result<Vec<LedgerEntry>, StoreError>,
    hash_tile: impl FnOnce(&Tile) -> Result<Vec<u8>, StoreError>,
    err: impl FnOnce(&str, accord_ledger::Error) -> StoreError,
) -> Result<Option<Vec<u8>>, StoreError> {
    // In u128: a tile's coordinates come from a request path, and their
    // leaf span may pass 2^64.
    let w = u128::from(tile.width);
    match tile.kind {
        TileKind::Entries => {
            let start = u128::from(tile.index) * 256;
            if start + w > u128::from(size) {
                return Ok(None);
            }
            // Both below `size`, so they fit a u64.
            let (from, to) = (tile.index * 256, tile.index * 256 + u64::from(tile.width));
            let entries = entries(from, to)?;
            let leaves: Vec<&[u8]> = entries.iter().map(|e| e.leaf.as_slice()).collect();
            accord_ledger::tiles::entry_bundle(&leaves)
                .map(Some)
                .map_err(|e| err("an entry bundle", e))
        }
        TileKind::Hashes { level } => {
            let shift = 8 * u32::from(level);
            let need = (u128::from(tile.index) * 256 + w).checked_mul(1u128 << shift.min(127));
            if shift >= 64 || need.is_none_or(|n| n > u128::from(size)) {
                return Ok(None);
            }
            hash_tile(tile).map(Some)
        }
    }
}
