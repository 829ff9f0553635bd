//! The Merkle tree over stored hashes: appends, roots, inclusion and
//! consistency proofs (RFC 9162 §2.1), in the "stored hashes" layout of Go's
//! `sumdb/tlog` (through the `tlog_tiles` crate).
//!
//! Every complete subtree's hash is stored once, at a dense index given by
//! [`stored_hash_index`]: leaf `n`'s hash is written right after the hashes
//! of leaf `n-1` and the subtrees it completed. So appending `k` leaves
//! writes just under `2k` hashes at the end of the sequence, and any root or
//! proof needs `O(log n)` of them.

use std::cell::RefCell;

use crate::{BoxError, EMPTY_ROOT, Error, Hash, leaf_hash, node_hash};

/// Where the store keeps the stored hashes. The store implements it over
/// its table (one row per stored index); [`MemoryLog`] and `[Hash]` are
/// in-memory implementations.
pub trait HashReader {
    /// The store's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the hashes at the given stored indexes, in the order asked
    /// (the indexes are usually ascending). Must return exactly one hash per
    /// index or an error.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    type Error = R::Error;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_hashes(indexes)
    }
}

/// A stored index past the end of an in-memory hash list.
#[derive(Debug, thiserror::Error)]
#[error("stored hash index {index} is not stored (only {stored} hashes are)")]
pub struct NotStored {
    /// The index asked for.
    pub index: u64,
    /// How many hashes are stored.
    pub stored: u64,
}

impl HashReader for [Hash] {
    type Error = NotStored;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, NotStored> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.get(i))
                    .copied()
                    .ok_or(NotStored {
                        index: i,
                        stored: self.len() as u64,
                    })
            })
            .collect()
    }
}

impl HashReader for Vec<Hash> {
    type Error = NotStored;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, NotStored> {
        self.as_slice().read_hashes(indexes)
    }
}

/// The stored index of the hash of the complete subtree at `level` (0 =
/// leaves) and position `n` within that level.
pub fn stored_hash_index(level: u8, n: u64) -> u64 {
    tlog_tiles::stored_hash_index(level, n)
}

/// Inverse of [`stored_hash_index`]: `(level, n)`.
pub fn split_stored_hash_index(index: u64) -> (u8, u64) {
    tlog_tiles::split_stored_hash_index(index)
}

/// The leaf whose append completes stored hash `index` (of level `l`
/// and position `k`: leaf `k·2^l + 2^l − 1`).
pub fn completing_leaf(index: u64) -> u64 {
    let (level, k) = split_stored_hash_index(index);
    (k << level) + (1u64 << level) - 1
}

/// How many hashes are stored for a tree of `size` leaves; also the stored
/// index at which the next append writes.
pub fn stored_hash_count(size: u64) -> u64 {
    tlog_tiles::stored_hash_count(size)
}

/// The result of an append: the hashes to write and the new root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Tree size before.
    pub old_size: u64,
    /// Tree size after.
    pub new_size: u64,
    /// Stored index of `hashes[0]`; the hashes go at consecutive indexes.
    pub first_index: u64,
    /// New stored hashes, to write in the same transaction as the entries.
    pub hashes: Vec<Hash>,
    /// Leaf hash of each appended leaf, in order.
    pub leaf_hashes: Vec<Hash>,
    /// Root of the tree of `new_size` leaves.
    pub root: Hash,
}

/// Appends leaves (their raw bytes) to a tree of `size` leaves.
///
/// Reads at most 64 hashes once (the right edge of the current tree),
/// whatever the batch size; returns the new stored hashes and the new root.
/// Each leaf must fit a C2SP entry bundle (at most 65,535 bytes).
pub fn append_leaves<R, L>(reader: &R, size: u64, leaves: &[L]) -> Result<Appended, Error>
where
    R: HashReader + ?Sized,
    L: AsRef<[u8]>,
{
    let mut hashes = Vec::with_capacity(leaves.len());
    for (i, leaf) in leaves.iter().enumerate() {
        let leaf = leaf.as_ref();
        if leaf.len() > usize::from(u16::MAX) {
            return Err(Error::LeafTooLarge {
                index: size.saturating_add(i as u64),
                len: leaf.len(),
            });
        }
        hashes.push(leaf_hash(leaf));
    }
    append_leaf_hashes(reader, size, hashes)
}

/// Like [`append_leaves`] with the leaf hashes already computed.
pub fn append_leaf_hashes<R>(
    reader: &R,
    size: u64,
    leaf_hashes: Vec<Hash>,
) -> Result<Appended, Error>
where
    R: HashReader + ?Sized,
{
    let new_size = size
        .checked_add(leaf_hashes.len() as u64)
        .ok_or(Error::SizeOverflow {
            size,
            count: leaf_hashes.len(),
        })?;
    // The right edge: the complete subtrees that make up [0, size), largest
    // first. Their levels are the set bits of `size`, high to low.
    let indexes = tlog_tiles::sub_tree_index(0, size, Vec::new());
    let edge = read(reader, &indexes, "append")?;
    let mut stack: Vec<(u32, Hash)> = Vec::with_capacity(64);
    let mut bits = size;
    for h in edge {
        let level = 63 - bits.leading_zeros();
        bits &= !(1u64 << level);
        stack.push((level, h));
    }

    let mut out = Vec::with_capacity(leaf_hashes.len() * 2 + 64);
    for &leaf in &leaf_hashes {
        // Leaf n's stored hashes: its own, then one per subtree it completes.
        let mut h = leaf;
        let mut level = 0u32;
        out.push(h);
        while let Some(&(l, left)) = stack.last() {
            if l != level {
                break;
            }
            stack.pop();
            h = node_hash(&left, &h);
            level += 1;
            out.push(h);
        }
        stack.push((level, h));
    }

    let root = match stack.split_last() {
        None => EMPTY_ROOT,
        Some((&(_, last), rest)) => rest
            .iter()
            .rev()
            .fold(last, |acc, (_, left)| node_hash(left, &acc)),
    };
    Ok(Appended {
        old_size: size,
        new_size,
        first_index: stored_hash_count(size),
        hashes: out,
        leaf_hashes,
        root,
    })
}

/// The root hash of the tree of `size` leaves: one read of at most 64
/// hashes.
pub fn tree_root<R: HashReader + ?Sized>(reader: &R, size: u64) -> Result<Hash, Error> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    let adapter = Adapter::new(reader, "tree root");
    let r = tlog_tiles::tree_hash(size, &adapter);
    adapter.finish(r).map(Hash::from)
}

/// RFC 9162 §2.1.3 inclusion proof (audit path) of leaf `index` in the tree
/// of `size` leaves: one read of `O(log n)` hashes.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let adapter = Adapter::new(reader, "inclusion proof");
    let r = tlog_tiles::prove_record(size, index, &adapter);
    adapter
        .finish(r)
        .map(|p| p.into_iter().map(Hash::from).collect())
}

/// RFC 9162 §2.1.4 consistency proof from the tree of `old_size` leaves to
/// the tree of `new_size`: one read of `O(log n)` hashes. Empty when
/// `old_size` is 0 or equal to `new_size`.
pub fn consistency_proof<R: HashReader + ?Sized>(
    reader: &R,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, Error> {
    if old_size > new_size {
        return Err(Error::SizeOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    let adapter = Adapter::new(reader, "consistency proof");
    let r = tlog_tiles::prove_tree(new_size, old_size, &adapter);
    adapter
        .finish(r)
        .map(|p| p.into_iter().map(Hash::from).collect())
}

/// Verifies that `proof` shows the leaf with hash `leaf` at `index` is in
/// the tree of `size` leaves with root `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    // Longer than any path in a 64-bit tree: reject before any work.
    if proof.len() > 64 {
        return Err(Error::InclusionProofInvalid { index, size });
    }
    let p: Vec<tlog_tiles::Hash> = proof.iter().map(|&h| h.into()).collect();
    tlog_tiles::check_record(&p, size, (*root).into(), index, (*leaf).into())
        .map_err(|_| Error::InclusionProofInvalid { index, size })
}

/// Verifies that `proof` shows the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `new_size` leaves with root
/// `new_root`. The empty tree is a prefix of every tree (the proof must be
/// empty); equal sizes need equal roots and an empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    let invalid = Error::ConsistencyProofInvalid { old_size, new_size };
    if old_size > new_size {
        return Err(Error::SizeOrder { old_size, new_size });
    }
    if old_size == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(invalid)
        };
    }
    if proof.len() > 128 {
        return Err(invalid);
    }
    let p: Vec<tlog_tiles::Hash> = proof.iter().map(|&h| h.into()).collect();
    tlog_tiles::check_tree(
        &p,
        new_size,
        (*new_root).into(),
        old_size,
        (*old_root).into(),
    )
    .map_err(|_| invalid)
}

/// Computes the root of a list of leaf hashes directly (RFC 9162 §2.1.1
/// MTH), without stored hashes: for tests and small trees.
pub fn root_of_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            // The largest power of two below n.
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(
                &root_of_leaf_hashes(&leaves[..k]),
                &root_of_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

fn read<R: HashReader + ?Sized>(
    reader: &R,
    indexes: &[u64],
    what: &'static str,
) -> Result<Vec<Hash>, Error> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let got = reader.read_hashes(indexes).map_err(|e| Error::Storage {
        what,
        count: indexes.len(),
        source: Box::new(e) as BoxError,
    })?;
    if got.len() != indexes.len() {
        return Err(Error::ShortRead {
            what,
            requested: indexes.len(),
            returned: got.len(),
        });
    }
    Ok(got)
}

/// Presents a [`HashReader`] to `tlog_tiles`, keeping the caller's typed
/// error (tlog_tiles' own reader trait has a fixed error type) and checking
/// the count (tlog_tiles panics on a short read).
pub(crate) struct Adapter<'a, R: ?Sized> {
    inner: &'a R,
    what: &'static str,
    err: RefCell<Option<Error>>,
}

impl<'a, R: HashReader + ?Sized> Adapter<'a, R> {
    pub(crate) fn new(inner: &'a R, what: &'static str) -> Self {
        Adapter {
            inner,
            what,
            err: RefCell::new(None),
        }
    }

    pub(crate) fn finish<T>(&self, r: Result<T, tlog_tiles::Error>) -> Result<T, Error> {
        match r {
            Ok(v) => Ok(v),
            Err(e) => Err(self.err.borrow_mut().take().unwrap_or(Error::Storage {
                what: self.what,
                count: 0,
                source: Box::new(e),
            })),
        }
    }
}

impl<R: HashReader + ?Sized> tlog_tiles::HashReader for Adapter<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        match read(self.inner, indexes, self.what) {
            Ok(v) => Ok(v.into_iter().map(Into::into).collect()),
            Err(e) => {
                *self.err.borrow_mut() = Some(e);
                Err(tlog_tiles::Error::InvalidInput(self.what.into()))
            }
        }
    }
}

/// An in-memory log (entries and stored hashes) for tests, benchmarks and
/// small tools.
#[derive(Debug, Default, Clone)]
pub struct MemoryLog {
    hashes: Vec<Hash>,
    entries: Vec<Vec<u8>>,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Appends leaves; returns what a store would write.
    pub fn append<L: AsRef<[u8]>>(&mut self, leaves: &[L]) -> Result<Appended, Error> {
        let a = append_leaves(&self.hashes, self.size(), leaves)?;
        debug_assert_eq!(a.first_index, self.hashes.len() as u64);
        self.hashes.extend_from_slice(&a.hashes);
        self.entries
            .extend(leaves.iter().map(|l| l.as_ref().to_vec()));
        Ok(a)
    }

    /// Leaf `index`'s bytes.
    pub fn entry(&self, index: u64) -> Option<&[u8]> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(Vec::as_slice)
    }

    /// All stored hashes, by stored index.
    pub fn stored_hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Root of the current tree.
    pub fn root(&self) -> Result<Hash, Error> {
        tree_root(self, self.size())
    }
}

impl HashReader for MemoryLog {
    type Error = NotStored;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, NotStored> {
        self.hashes.read_hashes(indexes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
    }

    #[test]
    fn batch_append_writes_what_tlog_writes_one_by_one() {
        // Reference: tlog_tiles::stored_hashes, one record at a time.
        let data = leaves(300);
        let mut reference: Vec<tlog_tiles::Hash> = Vec::new();
        struct V<'a>(&'a Vec<tlog_tiles::Hash>);
        impl tlog_tiles::HashReader for V<'_> {
            fn read_hashes(&self, idx: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
                Ok(idx.iter().map(|&i| self.0[i as usize]).collect())
            }
        }
        for (n, d) in data.iter().enumerate() {
            let new = tlog_tiles::stored_hashes(n as u64, d, &V(&reference)).unwrap();
            reference.extend(new);
        }
        // Ours, in uneven batches.
        let mut log = MemoryLog::new();
        let mut start = 0;
        for batch in [1usize, 2, 3, 7, 50, 1, 100, 136] {
            let a = log.append(&data[start..start + batch]).unwrap();
            assert_eq!(a.old_size, start as u64);
            assert_eq!(a.new_size, (start + batch) as u64);
            assert_eq!(a.root, tree_root(&log, a.new_size).unwrap());
            start += batch;
        }
        assert_eq!(start, 300);
        let ours: Vec<tlog_tiles::Hash> = log.stored_hashes().iter().map(|&h| h.into()).collect();
        assert_eq!(ours, reference);
        assert_eq!(log.stored_hashes().len() as u64, stored_hash_count(300));
    }

    #[test]
    fn roots_match_the_direct_definition() {
        let data = leaves(70);
        let lh: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        let mut log = MemoryLog::new();
        for (n, d) in data.iter().enumerate() {
            log.append(&[d]).unwrap();
            assert_eq!(
                log.root().unwrap(),
                root_of_leaf_hashes(&lh[..=n]),
                "size {}",
                n + 1
            );
        }
        assert_eq!(tree_root(&log, 0).unwrap(), EMPTY_ROOT);
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let mut log = MemoryLog::new();
        log.append(&leaves(5)).unwrap();
        assert!(matches!(
            inclusion_proof(&log, 5, 5),
            Err(Error::IndexOutOfRange { index: 5, size: 5 })
        ));
        assert!(matches!(
            consistency_proof(&log, 6, 5),
            Err(Error::SizeOrder { .. })
        ));
        // Asking for a tree larger than what is stored: the reader's error.
        let e = inclusion_proof(&log, 0, 1000).unwrap_err();
        assert!(matches!(e, Error::Storage { .. }), "{e}");
        assert!(e.to_string().contains("inclusion proof"), "{e}");
        let big = vec![0u8; 65536];
        assert!(matches!(
            log.append(&[big]),
            Err(Error::LeafTooLarge {
                index: 5,
                len: 65536
            })
        ));
    }

    #[test]
    fn short_reads_are_reported() {
        struct Short;
        impl HashReader for Short {
            type Error = NotStored;
            fn read_hashes(&self, _: &[u64]) -> Result<Vec<Hash>, NotStored> {
                Ok(vec![])
            }
        }
        assert!(matches!(tree_root(&Short, 3), Err(Error::ShortRead { .. })));
        assert!(matches!(
            inclusion_proof(&Short, 1, 3),
            Err(Error::ShortRead { .. })
        ));
    }
}
