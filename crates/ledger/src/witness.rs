//! Witnessing a partner's log (pure): given the checkpoint last held for
//! the partner and a new signed checkpoint with a consistency proof, decide
//! whether to store and cosign it, or to raise an alert with evidence.

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
    /// checkpoint; not cosigned. (With a consistency proof from the offered
    /// size to the held one, a caller can tell stale from forked.)
    Rollback {
        /// Size held.
        held_size: u64,
        /// Size offered.
        offered_size: u64,
    },
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

/// Decides on an offered checkpoint note from the log `origin` signed by
/// `log`, given the latest checkpoint held for that log (`None` on first
/// contact: trust on first use) and a consistency proof from the held size
/// to the offered size.
///
/// Errors (not outcomes) when the offered note is malformed, not signed by
/// the log, or names another origin: such a note is not the log's
/// statement and proves nothing.
pub fn witness_checkpoint(
    held: Option<&SignedCheckpoint>,
    offered_note: &[u8],
    proof: &[Hash],
    origin: &str,
    log: &LogVerifier,
) -> Result<WitnessOutcome, Error> {
    let offered = log.open(offered_note, origin)?;
    let Some(held) = held else {
        return Ok(WitnessOutcome::Accepted(offered));
    };
    let (h, o) = (&held.checkpoint, &offered.checkpoint);
    if o.size < h.size {
        return Ok(WitnessOutcome::Rollback {
            held_size: h.size,
            offered_size: o.size,
        });
    }
    if o.size == h.size {
        return Ok(match split_view(held, &offered) {
            Some(e) => WitnessOutcome::SplitView(e),
            None => WitnessOutcome::Unchanged,
        });
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

    #[test]
    fn grows_consistently() {
        let (key, mut log) = setup();
        let v = key.verifier();
        log.append(&[b"a", b"b", b"c"]).unwrap();
        let first = checkpoint(&key, &log);
        let WitnessOutcome::Accepted(held) =
            witness_checkpoint(None, &first.note, &[], ORIGIN, &v).unwrap()
        else {
            panic!("first contact is accepted");
        };
        log.append(&[b"d", b"e"]).unwrap();
        let second = checkpoint(&key, &log);
        let proof = consistency_proof(&log, 3, 5).unwrap();
        assert_eq!(
            witness_checkpoint(Some(&held), &second.note, &proof, ORIGIN, &v).unwrap(),
            WitnessOutcome::Accepted(second.clone())
        );
        assert_eq!(
            witness_checkpoint(Some(&second), &second.note, &[], ORIGIN, &v).unwrap(),
            WitnessOutcome::Unchanged
        );
        assert_eq!(
            witness_checkpoint(Some(&second), &held.note, &[], ORIGIN, &v).unwrap(),
            WitnessOutcome::Rollback {
                held_size: 5,
                offered_size: 3
            }
        );
        // A wrong proof.
        let mut bad = proof.clone();
        bad[0].0[0] ^= 1;
        assert!(matches!(
            witness_checkpoint(Some(&held), &second.note, &bad, ORIGIN, &v).unwrap(),
            WitnessOutcome::Inconsistent(_)
        ));
    }

    #[test]
    fn split_view_is_evidence() {
        let (key, mut log) = setup();
        let v = key.verifier();
        log.append(&[b"a", b"b"]).unwrap();
        let honest = checkpoint(&key, &log);
        let mut other = MemoryLog::new();
        other.append(&[b"a", b"B"]).unwrap();
        let forked = checkpoint(&key, &other);
        let WitnessOutcome::SplitView(e) =
            witness_checkpoint(Some(&honest), &forked.note, &[], ORIGIN, &v).unwrap()
        else {
            panic!("split view expected");
        };
        assert_eq!(e.size, 2);
        e.verify(&v).unwrap();
        // Evidence does not verify under another key, nor when not a fork.
        let other_key = LogSigner::from_seed(ORIGIN, &[10; 32]).unwrap();
        assert!(e.verify(&other_key.verifier()).is_err());
        let mut same = e.clone();
        same.second = same.first.clone();
        assert!(same.verify(&v).is_err());
    }

    #[test]
    fn unsigned_or_foreign_notes_are_errors() {
        let (key, mut log) = setup();
        log.append(&[b"a"]).unwrap();
        let cp = checkpoint(&key, &log);
        let stranger = LogSigner::from_seed(ORIGIN, &[11; 32]).unwrap();
        assert!(witness_checkpoint(None, &cp.note, &[], ORIGIN, &stranger.verifier()).is_err());
        assert!(matches!(
            witness_checkpoint(None, &cp.note, &[], "other/log", &key.verifier()),
            Err(Error::OriginMismatch { .. })
        ));
    }
}
