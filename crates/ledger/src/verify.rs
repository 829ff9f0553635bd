//! Incremental verification of a stored log: [`TreeVerifier`] recomputes
//! every stored hash from the leaves alone, as a store reads them run by
//! run, and names what differs.
//!
//! A store keeps the log as *runs* of consecutive leaves, each with the
//! stored hashes its leaves complete in stored-hash-index order (a leaf's
//! own hash, then the hash of each subtree it closes: one contiguous range
//! of stored indexes starting at `stored_hash_index(0, first)`), and may
//! keep a second copy of the stored hashes of the upper levels (level `L`
//! and above). The verifier is fed those runs in leaf order
//! ([`TreeVerifier::feed_run`]), then the upper copies in index order
//! ([`TreeVerifier::feed_upper_copy`]), and [`TreeVerifier::finish`]es
//! with a [`LedgerCheck`].
//!
//! Memory is the tree's right edge (at most 64 hashes) plus the recomputed
//! hashes of level `L` and above (1 in `2^L` of them, to compare with the
//! copies), whatever the log's size: a 10⁸-leaf log verifies in a few MB.

use crate::{
    EMPTY_ROOT, ExchangeRecord, HASH_SIZE, Hash, completing_leaf, leaf_hash, node_hash,
    split_stored_hash_index, stored_hash_index,
};

/// At most this many problems are reported; the check goes on counting
/// leaves and recomputing roots after that.
pub const MAX_PROBLEMS: usize = 100;

/// One problem a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerProblem {
    /// The first leaf index concerned.
    pub index: u64,
    /// What is wrong.
    pub reason: String,
}

/// What a verification recomputed.
#[derive(Debug, Clone)]
pub struct LedgerCheck {
    /// Leaves read.
    pub size: u64,
    /// The root recomputed from the leaves alone at `size`.
    pub root: Hash,
    /// The roots recomputed at the sizes asked for (see
    /// [`TreeVerifier::new`]) that the log reaches, in increasing size.
    pub roots: Vec<(u64, Hash)>,
    /// Problems, in leaf order (at most [`MAX_PROBLEMS`]).
    pub problems: Vec<LedgerProblem>,
}

/// The SHA-256 of the current bytes of the object a leaf records, as the
/// store holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectBytes {
    /// The object version (the store's seq), for the problem's message.
    pub seq: i64,
    /// SHA-256 of the object's exact stored bytes.
    pub sha256: Hash,
}

/// One leaf as a store read it.
#[derive(Debug, Clone, Copy)]
pub struct FedLeaf<'a> {
    /// The leaf's bytes (a record's JCS), or why the store cannot give
    /// them (a record to rebuild from an object that is gone, say).
    pub bytes: Result<&'a [u8], &'a str>,
    /// The bytes were rebuilt from the object's row rather than kept: a
    /// changed object then shows as a changed leaf.
    pub rebuilt: bool,
    /// The object the leaf records, when it is still stored and the leaf
    /// was not rebuilt from it: the record must carry its SHA-256.
    pub object: Option<ObjectBytes>,
}

/// Recomputes a log's stored hashes from its leaves, fed in order: runs of
/// consecutive leaves, each with the stored hashes its leaves complete
/// ([`TreeVerifier::feed_run`]), then the store's second copy of the
/// hashes of the upper levels ([`TreeVerifier::feed_upper_copy`]). Memory
/// is the tree's right edge (at most 64 hashes) plus 1 in `2^upper_level`
/// recomputed hashes, whatever the log's size.
///
/// Reporting rules: problems are in leaf order, at most
/// [`MAX_PROBLEMS`]; after a leaf whose bytes do not hash to its stored
/// leaf hash, every subtree above it differs too, so only that first cause
/// is named. A gap in the leaves or a run lacking stored hashes stops the
/// verification of leaves (the upper copies are still compared).
#[derive(Debug, Clone)]
pub struct TreeVerifier {
    /// The right edge: the complete subtrees of the leaves so far, largest
    /// first, with their levels.
    edge: Vec<(u8, Hash)>,
    upper_level: u8,
    /// Recomputed hashes of `upper_level` and up, by stored index.
    upper: Vec<(u64, Hash)>,
    /// How many of `upper` the copies fed so far accounted for.
    upper_seen: usize,
    copies_started: bool,
    /// Sizes whose roots are wanted, increasing, not yet reached.
    wanted: std::iter::Peekable<std::vec::IntoIter<u64>>,
    roots: Vec<(u64, Hash)>,
    problems: Vec<LedgerProblem>,
    size: u64,
    bad_leaf: bool,
    stopped: bool,
}

impl TreeVerifier {
    /// A verifier of a log from its first leaf, that also gives the roots
    /// at `sizes` (in any order; sizes the log does not reach are left
    /// out) and keeps the recomputed hashes of `upper_level` and above to
    /// compare with a second copy of them ([`TreeVerifier::feed_upper_copy`];
    /// 64 keeps none).
    pub fn new(sizes: &[u64], upper_level: u8) -> TreeVerifier {
        let mut wanted: Vec<u64> = sizes.iter().copied().filter(|&n| n > 0).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut roots = Vec::new();
        if sizes.contains(&0) {
            roots.push((0, EMPTY_ROOT));
        }
        TreeVerifier {
            edge: Vec::new(),
            upper_level,
            upper: Vec::new(),
            upper_seen: 0,
            copies_started: false,
            wanted: wanted.into_iter().peekable(),
            roots,
            problems: Vec::new(),
            size: 0,
            bad_leaf: false,
            stopped: false,
        }
    }

    /// Leaves verified so far: the index the next run must start at.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the verification of leaves has stopped (a gap, a run
    /// lacking hashes, [`TreeVerifier::stop`]): later runs are ignored.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Stops the verification of leaves with a problem at the next leaf
    /// (the store could not read the next run, say).
    pub fn stop(&mut self, reason: impl Into<String>) {
        let at = self.size;
        self.problem(at, reason.into());
        self.stopped = true;
    }

    /// Feeds a run of consecutive leaves from `first`, with `stored`, the
    /// stored hashes they complete (32 bytes each, in stored-index order
    /// from `stored_hash_index(0, first)`). Returns whether to go on
    /// (`false` once stopped; see [`TreeVerifier::is_stopped`]).
    ///
    /// Runs must come before the upper copies: a run fed after
    /// [`TreeVerifier::feed_upper_copy`] stops the verification of leaves.
    pub fn feed_run<'a>(
        &mut self,
        first: u64,
        stored: &[u8],
        leaves: impl IntoIterator<Item = FedLeaf<'a>>,
    ) -> bool {
        if self.copies_started && !self.stopped {
            self.stop("leaves were fed after the upper-level copies");
        }
        if self.stopped {
            return false;
        }
        if first != self.size {
            let size = self.size;
            self.stop(format!(
                "leaf {size} is missing (next stored leaf is {first})"
            ));
            return false;
        }
        let base = stored_hash_index(0, first);
        for leaf in leaves {
            if !self.feed_leaf(base, stored, leaf) {
                self.stopped = true;
                return false;
            }
        }
        let used = stored_hash_index(0, self.size) - base;
        if usize::try_from(used)
            .ok()
            .and_then(|u| u.checked_mul(HASH_SIZE))
            != Some(stored.len())
        {
            self.problem(
                first,
                "the chunk holds more stored hashes than its leaves complete".to_owned(),
            );
        }
        true
    }

    /// One leaf of the run whose stored hashes start at stored index
    /// `base`; `false` when the run lacks its stored hashes.
    fn feed_leaf(&mut self, base: u64, stored: &[u8], leaf: FedLeaf<'_>) -> bool {
        let idx = self.size;
        let first_index = stored_hash_index(0, idx);
        let at = usize::try_from(first_index - base)
            .ok()
            .and_then(|lo| lo.checked_mul(HASH_SIZE));
        let stored_leaf_hash = at
            .and_then(|lo| stored.get(lo..lo + HASH_SIZE))
            .and_then(|h| Hash::from_slice(h).ok());
        let Some(stored_leaf_hash) = stored_leaf_hash else {
            self.problem(
                idx,
                "the chunk holding this leaf lacks its stored hashes".to_owned(),
            );
            return false;
        };
        // A record rebuilt from its object row carries the object's
        // current bytes: a changed object shows as a changed leaf.
        let rebuilt = leaf.bytes.is_ok() && leaf.rebuilt;
        let hash = match leaf.bytes {
            Ok(bytes) => {
                match ExchangeRecord::from_leaf_bytes(bytes) {
                    Ok(rec) => {
                        if let Some(object) = leaf.object.filter(|_| !rebuilt)
                            && object.sha256.to_hex() != rec.sha256
                        {
                            self.problem(
                                idx,
                                format!(
                                    "object `{}` (seq {}) no longer has the bytes recorded (sha256 {} recorded, {} stored)",
                                    rec.object_id,
                                    object.seq,
                                    rec.sha256,
                                    object.sha256.to_hex()
                                ),
                            );
                        }
                    }
                    Err(e) => self.problem(idx, format!("not a canonical record: {e}")),
                }
                leaf_hash(bytes)
            }
            Err(reason) => {
                // Go on with the stored leaf hash, so the leaves after this
                // one are still checked.
                self.bad_leaf = true;
                self.problem(idx, reason.to_owned());
                stored_leaf_hash
            }
        };
        if leaf.bytes.is_ok() && hash != stored_leaf_hash {
            self.bad_leaf = true;
            self.problem(
                idx,
                if rebuilt {
                    "the record rebuilt from its object does not hash to its stored leaf hash: the object's bytes or its ledger source were changed".to_owned()
                } else {
                    "the leaf does not hash to its stored leaf hash".to_owned()
                },
            );
        }
        let completed = self.push(hash);
        let Some(stored_run) = at.and_then(|lo| stored.get(lo..lo + completed.len() * HASH_SIZE))
        else {
            self.problem(
                idx,
                "the chunk holding this leaf lacks its stored hashes".to_owned(),
            );
            return false;
        };
        // The leaf hash itself was compared above; after a bad leaf every
        // subtree above it differs too: only the first cause is named.
        let subtrees_differ = completed
            .iter()
            .zip(stored_run.chunks_exact(HASH_SIZE))
            .skip(1)
            .any(|(h, s)| h.as_bytes()[..] != *s);
        if subtrees_differ && !self.bad_leaf {
            self.problem(
                idx,
                "a stored subtree hash differs from the recomputed one".to_owned(),
            );
        }
        self.upper.extend(
            (first_index..)
                .zip(completed)
                .skip(usize::from(self.upper_level)),
        );
        self.size += 1;
        if self.wanted.next_if_eq(&self.size).is_some() {
            self.roots.push((self.size, self.root()));
        }
        true
    }

    /// Feeds the second copy of the stored hash at `index` (of level
    /// `upper_level` or above), in increasing index order, after the last
    /// run: it must equal the recomputed one, and none may be missing.
    pub fn feed_upper_copy(&mut self, index: u64, hash: &[u8]) {
        self.copies_started = true;
        while let Some(&(e, _)) = self.upper.get(self.upper_seen) {
            if e >= index {
                break;
            }
            let (l, k) = split_stored_hash_index(e);
            self.problem(
                completing_leaf(e),
                format!(
                    "the upper-level copy of the stored hash of level {l} index {k} is missing"
                ),
            );
            self.upper_seen += 1;
        }
        if self
            .upper
            .get(self.upper_seen)
            .is_some_and(|&(e, _)| e == index)
        {
            self.upper_seen += 1;
        }
        let ok = self
            .upper
            .binary_search_by_key(&index, |&(i, _)| i)
            .is_ok_and(|at| self.upper[at].1.as_bytes()[..] == *hash);
        if !ok && !self.bad_leaf {
            let (level, k) = split_stored_hash_index(index);
            self.problem(
                completing_leaf(index),
                format!(
                    "the stored hash of level {level} index {k} (upper levels) differs from the recomputed one"
                ),
            );
        }
    }

    /// The result: leaves read, the root at that size, the roots asked for
    /// and the problems found.
    pub fn finish(mut self) -> LedgerCheck {
        if self.upper_seen < self.upper.len() {
            let size = self.size;
            self.problem(
                size,
                "upper-level copies of stored hashes are missing at the end of the log".to_owned(),
            );
        }
        LedgerCheck {
            size: self.size,
            root: self.root(),
            roots: self.roots,
            problems: self.problems,
        }
    }

    fn problem(&mut self, index: u64, reason: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(LedgerProblem { index, reason });
        }
    }

    /// Appends a leaf hash to the right edge; returns the stored hashes it
    /// completes: the leaf's own, then one per subtree it closes (the
    /// `k`-th at level `k`).
    fn push(&mut self, leaf: Hash) -> Vec<Hash> {
        let mut out = vec![leaf];
        let (mut h, mut level) = (leaf, 0u8);
        while let Some(&(l, left)) = self.edge.last() {
            if l != level {
                break;
            }
            self.edge.pop();
            h = node_hash(&left, &h);
            level += 1;
            out.push(h);
        }
        self.edge.push((level, h));
        out
    }

    /// RFC 9162 root of the leaves so far: the subtrees folded right to
    /// left.
    fn root(&self) -> Hash {
        let mut it = self.edge.iter().rev();
        let Some(&(_, last)) = it.next() else {
            return EMPTY_ROOT;
        };
        it.fold(last, |right, (_, left)| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decision, Direction, append_leaves, root_of_leaf_hashes, tree_root};
    use proptest::prelude::*;

    fn record(i: u64) -> Vec<u8> {
        ExchangeRecord {
            direction: Direction::Local,
            partner: None,
            collection: "indicators".into(),
            object_id: format!("indicator--00000000-0000-4000-8000-{i:012}"),
            modified: Some("2026-11-28T02:40:00.000Z".into()),
            sha256: crate::leaf_hash(&i.to_le_bytes()).to_hex(),
            decision: Decision::Stored,
            time: "2026-11-28T02:40:01Z".into(),
            salt: None,
        }
        .to_leaf_bytes()
    }

    /// A log of `n` records: the leaves and their stored hashes (32 bytes
    /// each, from stored index 0).
    fn log(n: u64) -> (Vec<Vec<u8>>, Vec<u8>) {
        let leaves: Vec<Vec<u8>> = (0..n).map(record).collect();
        let a = append_leaves(&[][..], 0, &leaves).unwrap();
        (leaves, a.hashes.iter().flat_map(|h| h.0).collect())
    }

    fn fed(bytes: &[u8]) -> FedLeaf<'_> {
        FedLeaf {
            bytes: Ok(bytes),
            rebuilt: false,
            object: None,
        }
    }

    /// Feeds leaves `0..leaves.len()` in runs ending at `cuts` (and at the
    /// end), then the copies of the stored hashes of `upper_level` and up.
    fn verify(
        leaves: &[Vec<u8>],
        stored: &[u8],
        cuts: &[u64],
        sizes: &[u64],
        upper_level: u8,
    ) -> LedgerCheck {
        let n = leaves.len() as u64;
        let mut v = TreeVerifier::new(sizes, upper_level);
        let mut ends: Vec<u64> = cuts.iter().copied().filter(|&c| c > 0 && c < n).collect();
        ends.push(n);
        ends.sort_unstable();
        ends.dedup();
        let mut first = 0u64;
        for end in ends {
            let lo = stored_hash_index(0, first) as usize * HASH_SIZE;
            let hi = (stored_hash_index(0, end) as usize * HASH_SIZE).min(stored.len());
            let run = leaves[first as usize..end as usize].iter().map(|l| fed(l));
            if !v.feed_run(first, &stored[lo.min(hi)..hi], run) {
                break;
            }
            first = end;
        }
        for (i, h) in stored.chunks_exact(HASH_SIZE).enumerate() {
            if split_stored_hash_index(i as u64).0 >= upper_level {
                v.feed_upper_copy(i as u64, h);
            }
        }
        v.finish()
    }

    fn block_cuts(n: u64) -> Vec<u64> {
        (1..=n / 256).map(|k| k * 256).collect()
    }

    #[test]
    fn a_clean_log_verifies_with_its_roots() {
        let n = 700;
        let (leaves, stored) = log(n);
        let sizes = [0, 1, 255, 256, 257, 512, 700, 701, 5000];
        let check = verify(&leaves, &stored, &block_cuts(n), &sizes, 8);
        assert_eq!(check.problems, vec![]);
        assert_eq!(check.size, n);
        let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
        assert_eq!(check.root, root_of_leaf_hashes(&hashes));
        let expected: Vec<(u64, Hash)> = [0u64, 1, 255, 256, 257, 512, 700]
            .iter()
            .map(|&s| (s, root_of_leaf_hashes(&hashes[..s as usize])))
            .collect();
        assert_eq!(check.roots, expected);
        assert_eq!(expected[0].1, EMPTY_ROOT);
    }

    #[test]
    fn completing_leaves() {
        // Leaf 3 closes levels 1 and 2: it completes indexes 4, 5, 6.
        assert_eq!(stored_hash_index(0, 3), 4);
        assert_eq!(completing_leaf(4), 3);
        assert_eq!(completing_leaf(5), 3);
        assert_eq!(completing_leaf(6), 3);
        assert_eq!(completing_leaf(stored_hash_index(1, 0)), 1);
        assert_eq!(completing_leaf(stored_hash_index(0, 6)), 6);
        assert_eq!(completing_leaf(stored_hash_index(8, 1)), 511);
    }

    #[test]
    fn an_empty_log_has_the_empty_root() {
        let check = TreeVerifier::new(&[3], 8).finish();
        assert_eq!((check.size, check.root), (0, EMPTY_ROOT));
        assert!(check.roots.is_empty() && check.problems.is_empty());
    }

    #[test]
    fn a_changed_leaf_is_named_once() {
        let (mut leaves, stored) = log(300);
        // Still a canonical record, but not the one whose hash was stored.
        leaves[37] = record(1_000);
        let check = verify(&leaves, &stored, &block_cuts(300), &[], 8);
        assert_eq!(
            check.problems,
            vec![LedgerProblem {
                index: 37,
                reason: "the leaf does not hash to its stored leaf hash".into()
            }]
        );
        // A leaf that is not a record at all is named as such too.
        leaves[40] = b"{\"x\":1}".to_vec();
        let check = verify(&leaves, &stored, &block_cuts(300), &[], 8);
        assert_eq!(check.problems.len(), 3);
        assert_eq!(check.problems[1].index, 40);
        assert!(
            check.problems[1]
                .reason
                .starts_with("not a canonical record")
        );
        assert_eq!(check.problems[2].index, 40);
    }

    #[test]
    fn a_changed_stored_hash_is_named() {
        let (leaves, stored) = log(300);
        // Stored index 6 is the level-2 subtree closed by leaf 3.
        let mut bad = stored.clone();
        bad[6 * HASH_SIZE] ^= 1;
        let check = verify(&leaves, &bad, &[], &[], 8);
        assert_eq!(
            check.problems,
            vec![LedgerProblem {
                index: 3,
                reason: "a stored subtree hash differs from the recomputed one".into()
            }]
        );
        // A changed leaf hash.
        let mut bad = stored.clone();
        bad[stored_hash_index(0, 9) as usize * HASH_SIZE] ^= 1;
        let check = verify(&leaves, &bad, &[], &[], 8);
        assert_eq!(check.problems.len(), 1);
        assert_eq!(check.problems[0].index, 9);
        // An upper-level copy (level 8, closed by leaf 255) that differs.
        let idx = stored_hash_index(8, 0);
        let mut v = TreeVerifier::new(&[], 8);
        let lo = 0;
        let hi = stored_hash_index(0, 300) as usize * HASH_SIZE;
        assert!(v.feed_run(0, &stored[lo..hi], leaves.iter().map(|l| fed(l))));
        v.feed_upper_copy(idx, &[0; HASH_SIZE]);
        let check = v.finish();
        assert_eq!(
            check.problems,
            vec![LedgerProblem {
                index: 255,
                reason: "the stored hash of level 8 index 0 (upper levels) differs from the recomputed one".into()
            }]
        );
        // No copies at all.
        let mut v = TreeVerifier::new(&[], 8);
        v.feed_run(0, &stored[lo..hi], leaves.iter().map(|l| fed(l)));
        let check = v.finish();
        assert_eq!(check.problems[0].index, 300);
        assert!(check.problems[0].reason.contains("missing at the end"));
    }

    #[test]
    fn a_truncated_log_is_named() {
        let (leaves, stored) = log(600);
        // A missing run: leaves 256..512.
        let mut v = TreeVerifier::new(&[600], 8);
        let at = |i: u64| stored_hash_index(0, i) as usize * HASH_SIZE;
        assert!(v.feed_run(0, &stored[..at(256)], leaves[..256].iter().map(|l| fed(l))));
        assert!(!v.feed_run(
            512,
            &stored[at(512)..at(600)],
            leaves[512..].iter().map(|l| fed(l))
        ));
        assert!(v.is_stopped());
        let up = stored_hash_index(8, 0) as usize * HASH_SIZE;
        v.feed_upper_copy(stored_hash_index(8, 0), &stored[up..up + HASH_SIZE]);
        let check = v.finish();
        assert_eq!(check.size, 256);
        assert!(check.roots.is_empty(), "600 was not reached");
        assert_eq!(
            check.problems,
            vec![LedgerProblem {
                index: 256,
                reason: "leaf 256 is missing (next stored leaf is 512)".into()
            }]
        );
        // A run cut short of its stored hashes.
        let mut v = TreeVerifier::new(&[], 8);
        assert!(!v.feed_run(
            0,
            &stored[..at(10) - 1],
            leaves[..10].iter().map(|l| fed(l))
        ));
        let check = v.finish();
        assert_eq!(check.size, 9);
        assert_eq!(
            check.problems[0],
            LedgerProblem {
                index: 9,
                reason: "the chunk holding this leaf lacks its stored hashes".into()
            }
        );
        // A run with stored hashes to spare.
        let mut v = TreeVerifier::new(&[], 8);
        assert!(v.feed_run(
            0,
            &stored[..at(10) + HASH_SIZE],
            leaves[..10].iter().map(|l| fed(l))
        ));
        assert_eq!(
            v.finish().problems,
            vec![LedgerProblem {
                index: 0,
                reason: "the chunk holds more stored hashes than its leaves complete".into()
            }]
        );
    }

    #[test]
    fn leaves_the_store_cannot_give_and_object_bytes() {
        let (leaves, stored) = log(20);
        let object_sha = crate::leaf_hash(&3u64.to_le_bytes());
        let mut v = TreeVerifier::new(&[], 8);
        let run = leaves.iter().enumerate().map(|(i, l)| match i {
            2 => FedLeaf {
                bytes: Err("its object (seq 3) is gone"),
                rebuilt: true,
                object: None,
            },
            // The record's sha256 is of `3u64`'s bytes: matches.
            3 => FedLeaf {
                object: Some(ObjectBytes {
                    seq: 4,
                    sha256: object_sha,
                }),
                ..fed(l)
            },
            5 => FedLeaf {
                object: Some(ObjectBytes {
                    seq: 6,
                    sha256: object_sha,
                }),
                ..fed(l)
            },
            _ => fed(l),
        });
        assert!(v.feed_run(0, &stored, run));
        let check = v.finish();
        assert_eq!(check.problems.len(), 2, "{:?}", check.problems);
        assert_eq!(check.problems[0].index, 2);
        assert_eq!(check.problems[0].reason, "its object (seq 3) is gone");
        assert_eq!(check.problems[1].index, 5);
        assert!(
            check.problems[1]
                .reason
                .contains("(seq 6) no longer has the bytes recorded")
        );
        // The root is still the stored one: leaf 2 went on with its stored
        // hash.
        assert_eq!(
            check.root,
            tree_root(&append_leaves(&[][..], 0, &leaves).unwrap().hashes, 20).unwrap()
        );
        // A rebuilt record that does not hash to its stored leaf hash.
        let other = record(99);
        let mut v = TreeVerifier::new(&[], 8);
        let run = leaves.iter().enumerate().map(|(i, l)| {
            if i == 7 {
                FedLeaf {
                    rebuilt: true,
                    ..fed(&other)
                }
            } else {
                fed(l)
            }
        });
        v.feed_run(0, &stored, run);
        let problems = v.finish().problems;
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .reason
                .starts_with("the record rebuilt from its object")
        );
    }

    #[test]
    fn problems_are_capped() {
        let (leaves, stored) = log(300);
        let junk: Vec<Vec<u8>> = (0..300)
            .map(|i| format!("{{\"j\":{i}}}").into_bytes())
            .collect();
        let check = verify(&junk, &stored, &[], &[300], 8);
        assert_eq!(check.problems.len(), MAX_PROBLEMS);
        assert_eq!(check.size, 300);
        assert_eq!(check.roots.len(), 1);
        assert_ne!(check.root, verify(&leaves, &stored, &[], &[], 8).root);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// However the log is cut into runs, a clean log verifies to the
        /// root of its leaves, and one flipped byte (in a leaf or a stored
        /// hash) is named at the leaf concerned, first.
        #[test]
        fn runs_and_flips(
            n in 1u64..600,
            cuts in proptest::collection::vec(0u64..600, 0..6),
            flip_leaf in any::<bool>(),
            at in any::<prop::sample::Index>(),
            upper_level in 1u8..9,
        ) {
            let (mut leaves, mut stored) = log(n);
            let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
            let clean = verify(&leaves, &stored, &cuts, &[n], upper_level);
            prop_assert_eq!(&clean.problems, &vec![]);
            prop_assert_eq!(clean.root, root_of_leaf_hashes(&hashes));
            prop_assert_eq!(clean.roots, vec![(n, clean.root)]);
            let expected_index = if flip_leaf {
                let i = at.index(leaves.len());
                let last = leaves[i].len() - 2;
                leaves[i][last] ^= 0x20;
                i as u64
            } else {
                let i = at.index(stored.len() / HASH_SIZE);
                stored[i * HASH_SIZE] ^= 1;
                completing_leaf(i as u64)
            };
            let check = verify(&leaves, &stored, &cuts, &[], upper_level);
            prop_assert!(!check.problems.is_empty());
            prop_assert_eq!(check.problems[0].index, expected_index, "{:?}", check.problems);
        }
    }
}
