//! Witnessing a partner's log (pure): given the checkpoints held for the
//! partner and a new signed checkpoint with a consistency proof, decide
//! whether to store and cosign it, or to raise an alert with evidence.
//!
//! The whole decision is [`witness_checkpoint`]; a caller only fetches
//! (the offered note, then the proof [`proof_range`] names), calls it once
//! and records the [`WitnessOutcome`].

use crate::{Error, Hash, LogVerifier, SignedCheckpoint, verify_consistency};

/// What the witness concludes about an offered checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessOutcome {
    /// The checkpoint extends the one held (or is the first one seen from
    /// this log): store it as the latest and cosign it.
    Accepted(SignedCheckpoint),
    /// Same size and root as the one held: nothing new (the witness may
    /// cosign it again with a fresh timestamp).
    Unchanged,
    /// The offered tree is smaller than the one held: a stale or replayed
    /// checkpoint (or, when no valid consistency proof connects them, a
    /// fork); not cosigned. Raise an alert with the evidence.
    Rollback(RollbackEvidence),
    /// Two different roots signed by the log for one size: a split view.
    /// Keep the evidence and raise an alert.
    SplitView(SplitViewEvidence),
    /// The proof does not show the offered tree extends the held one. Raise
    /// an alert and ask for a proof again: if the log cannot produce a
    /// valid one, its two signed checkpoints are a fork.
    Inconsistent(InconsistencyEvidence),
}

/// Two checkpoints for the same size with different roots, both signed by
/// the log: proof, to anyone with the log's verifier key, that it showed
/// different histories.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SplitViewEvidence {
    /// The log's origin.
    pub origin: String,
    /// The tree size both claim.
    pub size: u64,
    /// The first signed note, byte for byte.
    pub first: Vec<u8>,
    /// The second signed note, byte for byte.
    pub second: Vec<u8>,
}

impl SplitViewEvidence {
    /// Checks the evidence independently: both notes verify under the log's
    /// key, name the origin, have the same size and different roots.
    pub fn verify(&self, log: &LogVerifier) -> Result<(), Error> {
        let a = log.open(&self.first, &self.origin)?;
        let b = log.open(&self.second, &self.origin)?;
        if a.checkpoint.size == self.size
            && b.checkpoint.size == self.size
            && a.checkpoint.root != b.checkpoint.root
        {
            Ok(())
        } else {
            Err(Error::Checkpoint {
                reason: format!(
                    "not a split view: sizes {} and {}, roots {} and {}",
                    a.checkpoint.size, b.checkpoint.size, a.checkpoint.root, b.checkpoint.root
                ),
            })
        }
    }
}

/// A signed checkpoint held, a larger one offered, and the proof that did
/// not connect them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InconsistencyEvidence {
    /// The note held.
    pub held: Vec<u8>,
    /// The note offered.
    pub offered: Vec<u8>,
    /// The consistency proof given.
    pub proof: Vec<Hash>,
}

/// A smaller checkpoint offered after a larger one was witnessed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RollbackEvidence {
    /// Size held.
    pub held_size: u64,
    /// Size offered.
    pub offered_size: u64,
    /// The note held.
    pub held: Vec<u8>,
    /// The note offered.
    pub offered: Vec<u8>,
    /// Whether the consistency proof from the offered size to the held one
    /// fails: then the log's two signed checkpoints are a fork, not merely
    /// a stale one replayed.
    pub forked: bool,
}

/// If two signed checkpoints of the same log claim the same size with
/// different roots, the split-view evidence.
pub fn split_view(a: &SignedCheckpoint, b: &SignedCheckpoint) -> Option<SplitViewEvidence> {
    (a.checkpoint.origin == b.checkpoint.origin
        && a.checkpoint.size == b.checkpoint.size
        && a.checkpoint.root != b.checkpoint.root)
        .then(|| SplitViewEvidence {
            origin: a.checkpoint.origin.clone(),
            size: a.checkpoint.size,
            first: a.note.clone(),
            second: b.note.clone(),
        })
}

/// The consistency proof [`witness_checkpoint`] needs, as `(first,
/// second)` sizes, to decide on a checkpoint of `offered_size` given the
/// latest one held: from the held size to the offered one when the log
/// grew, from the offered size to the held one when it shrank (to tell a
/// stale checkpoint from a fork); `None` on first sight or the same size.
pub fn proof_range(held: Option<&SignedCheckpoint>, offered_size: u64) -> Option<(u64, u64)> {
    let h = held?.checkpoint.size;
    match offered_size.cmp(&h) {
        std::cmp::Ordering::Greater => Some((h, offered_size)),
        std::cmp::Ordering::Less => Some((offered_size, h)),
        std::cmp::Ordering::Equal => None,
    }
}

/// Decides on an offered checkpoint note from the log `origin` signed by
/// `log`, given the latest checkpoint held for that log (`held`, `None` on
/// first sight: trust on first use), the one held for the offered size if
/// any (`at_size`, which need not be the latest), and the consistency proof
/// [`proof_range`] names (empty when it names none).
///
/// In order: another root for a size already witnessed is a
/// [`WitnessOutcome::SplitView`]; first sight is accepted; a smaller size
/// is a [`WitnessOutcome::Rollback`] (forked when the proof from the
/// offered size to the held one fails); the same size and root is
/// [`WitnessOutcome::Unchanged`]; a larger size is accepted when the proof
/// holds, else [`WitnessOutcome::Inconsistent`].
///
/// Errors (not outcomes) when the offered note is malformed, not signed by
/// the log, or names another origin: such a note is not the log's
/// statement and proves nothing.
pub fn witness_checkpoint(
    held: Option<&SignedCheckpoint>,
    at_size: Option<&SignedCheckpoint>,
    offered_note: &[u8],
    proof: &[Hash],
    origin: &str,
    log: &LogVerifier,
) -> Result<WitnessOutcome, Error> {
    let offered = log.open(offered_note, origin)?;
    for same in [at_size, held].into_iter().flatten() {
        if let Some(e) = split_view(same, &offered) {
            return Ok(WitnessOutcome::SplitView(e));
        }
    }
    let Some(held) = held else {
        return Ok(WitnessOutcome::Accepted(offered));
    };
    let (h, o) = (&held.checkpoint, &offered.checkpoint);
    if o.size < h.size {
        let forked = verify_consistency(o.size, h.size, &o.root, &h.root, proof).is_err();
        return Ok(WitnessOutcome::Rollback(RollbackEvidence {
            held_size: h.size,
            offered_size: o.size,
            held: held.note.clone(),
            offered: offered.note,
            forked,
        }));
    }
    if o.size == h.size {
        // Same origin, size and root (another root was a split view above).
        return Ok(WitnessOutcome::Unchanged);
    }
    match verify_consistency(h.size, o.size, &h.root, &o.root, proof) {
        Ok(()) => Ok(WitnessOutcome::Accepted(offered)),
        Err(_) => Ok(WitnessOutcome::Inconsistent(InconsistencyEvidence {
            held: held.note.clone(),
            offered: offered.note,
            proof: proof.to_vec(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Checkpoint, LogSigner, MemoryLog, consistency_proof};

    const ORIGIN: &str = "cert.example/ledger";

    fn setup() -> (LogSigner, MemoryLog) {
        let key = LogSigner::from_seed(ORIGIN, &[9; 32]).unwrap();
        (key, MemoryLog::new())
    }

    fn checkpoint(key: &LogSigner, log: &MemoryLog) -> SignedCheckpoint {
        key.sign(&Checkpoint::new(ORIGIN, log.size(), log.root().unwrap()).unwrap())
            .unwrap()
    }

    /// The decision as a caller makes it: the proof `proof_range` names,
    /// from the honest log `log`.
    fn decide(
        log: &MemoryLog,
        held: Option<&SignedCheckpoint>,
        at_size: Option<&SignedCheckpoint>,
        offered: &SignedCheckpoint,
        v: &LogVerifier,
    ) -> WitnessOutcome {
        let proof = match proof_range(held, offered.checkpoint.size) {
            Some((a, b)) => consistency_proof(log, a, b).unwrap(),
            None => Vec::new(),
        };
        witness_checkpoint(held, at_size, &offered.note, &proof, ORIGIN, v).unwrap()
    }

    #[test]
    fn first_sight_is_accepted() {
        let (key, mut log) = setup();
        log.append(&[b"a", b"b", b"c"]).unwrap();
        let first = checkpoint(&key, &log);
        assert_eq!(proof_range(None, 3), None);
        assert_eq!(
            decide(&log, None, None, &first, &key.verifier()),
            WitnessOutcome::Accepted(first.clone())
        );
    }

    #[test]
    fn consistent_growth_is_accepted_and_the_same_checkpoint_unchanged() {
        let (key, mut log) = setup();
        let v = key.verifier();
        log.append(&[b"a", b"b", b"c"]).unwrap();
        let held = checkpoint(&key, &log);
        log.append(&[b"d", b"e"]).unwrap();
        let second = checkpoint(&key, &log);
        assert_eq!(proof_range(Some(&held), 5), Some((3, 5)));
        assert_eq!(
            decide(&log, Some(&held), None, &second, &v),
            WitnessOutcome::Accepted(second.clone())
        );
        assert_eq!(proof_range(Some(&second), 5), None);
        assert_eq!(
            decide(&log, Some(&second), Some(&second), &second, &v),
            WitnessOutcome::Unchanged
        );
    }

    #[test]
    fn growth_with_a_wrong_proof_is_inconsistent() {
        let (key, mut log) = setup();
        let v = key.verifier();
        log.append(&[b"a", b"b", b"c"]).unwrap();
        let held = checkpoint(&key, &log);
        log.append(&[b"d", b"e"]).unwrap();
        let second = checkpoint(&key, &log);
        let mut bad = consistency_proof(&log, 3, 5).unwrap();
        bad[0].0[0] ^= 1;
        let WitnessOutcome::Inconsistent(e) =
            witness_checkpoint(Some(&held), None, &second.note, &bad, ORIGIN, &v).unwrap()
        else {
            panic!("inconsistent expected");
        };
        assert_eq!((e.held, e.offered, e.proof), (held.note, second.note, bad));
    }

    #[test]
    fn a_stale_checkpoint_is_a_rollback() {
        let (key, mut log) = setup();
        let v = key.verifier();
        log.append(&[b"a", b"b", b"c"]).unwrap();
        let old = checkpoint(&key, &log);
        log.append(&[b"d", b"e"]).unwrap();
        let held = checkpoint(&key, &log);
        assert_eq!(proof_range(Some(&held), 3), Some((3, 5)));
        assert_eq!(
            decide(&log, Some(&held), None, &old, &v),
            WitnessOutcome::Rollback(RollbackEvidence {
                held_size: 5,
                offered_size: 3,
                held: held.note.clone(),
                offered: old.note.clone(),
                forked: false,
            })
        );
    }

    #[test]
    fn a_smaller_checkpoint_without_a_valid_proof_is_a_forked_rollback() {
        let (key, mut log) = setup();
        let v = key.verifier();
        log.append(&[b"a", b"b", b"c", b"d", b"e"]).unwrap();
        let held = checkpoint(&key, &log);
        // The log signs a smaller tree that is not a prefix of the held one.
        let mut other = MemoryLog::new();
        other.append(&[b"a", b"X", b"c"]).unwrap();
        let forked = checkpoint(&key, &other);
        let proof = consistency_proof(&log, 3, 5).unwrap();
        let WitnessOutcome::Rollback(e) =
            witness_checkpoint(Some(&held), None, &forked.note, &proof, ORIGIN, &v).unwrap()
        else {
            panic!("rollback expected");
        };
        assert!(e.forked);
        assert_eq!((e.held_size, e.offered_size), (5, 3));
        // No proof at all is no evidence of consistency either.
        let WitnessOutcome::Rollback(e) =
            witness_checkpoint(Some(&held), None, &forked.note, &[], ORIGIN, &v).unwrap()
        else {
            panic!("rollback expected");
        };
        assert!(e.forked);
    }

    #[test]
    fn another_root_for_the_latest_size_is_a_split_view() {
        let (key, mut log) = setup();
        let v = key.verifier();
        log.append(&[b"a", b"b"]).unwrap();
        let honest = checkpoint(&key, &log);
        let mut other = MemoryLog::new();
        other.append(&[b"a", b"B"]).unwrap();
        let forked = checkpoint(&key, &other);
        let WitnessOutcome::SplitView(e) =
            witness_checkpoint(Some(&honest), None, &forked.note, &[], ORIGIN, &v).unwrap()
        else {
            panic!("split view expected");
        };
        assert_eq!(e.size, 2);
        assert_eq!((&e.first, &e.second), (&honest.note, &forked.note));
        e.verify(&v).unwrap();
        // Evidence does not verify under another key, nor when not a fork.
        let other_key = LogSigner::from_seed(ORIGIN, &[10; 32]).unwrap();
        assert!(e.verify(&other_key.verifier()).is_err());
        let mut same = e.clone();
        same.second = same.first.clone();
        assert!(same.verify(&v).is_err());
    }

    #[test]
    fn another_root_for_an_older_witnessed_size_is_a_split_view_not_a_rollback() {
        let (key, mut log) = setup();
        let v = key.verifier();
        log.append(&[b"a", b"b"]).unwrap();
        let at_two = checkpoint(&key, &log);
        log.append(&[b"c", b"d"]).unwrap();
        let latest = checkpoint(&key, &log);
        let mut other = MemoryLog::new();
        other.append(&[b"a", b"B"]).unwrap();
        let forked = checkpoint(&key, &other);
        let WitnessOutcome::SplitView(e) = decide(&log, Some(&latest), Some(&at_two), &forked, &v)
        else {
            panic!("split view expected");
        };
        assert_eq!(
            (e.size, &e.first, &e.second),
            (2, &at_two.note, &forked.note)
        );
        // Without the older checkpoint at hand, the same offer is a fork.
        assert!(matches!(
            decide(&log, Some(&latest), None, &forked, &v),
            WitnessOutcome::Rollback(RollbackEvidence { forked: true, .. })
        ));
    }

    #[test]
    fn unsigned_or_foreign_notes_are_errors() {
        let (key, mut log) = setup();
        log.append(&[b"a"]).unwrap();
        let cp = checkpoint(&key, &log);
        let stranger = LogSigner::from_seed(ORIGIN, &[11; 32]).unwrap();
        assert!(
            witness_checkpoint(None, None, &cp.note, &[], ORIGIN, &stranger.verifier()).is_err()
        );
        assert!(matches!(
            witness_checkpoint(None, None, &cp.note, &[], "other/log", &key.verifier()),
            Err(Error::OriginMismatch { .. })
        ));
    }
}
