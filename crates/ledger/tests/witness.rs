//! Two partners witness each other's logs: consistent growth is cosigned, a
//! client counts a quorum of cosignatures, a split view becomes evidence.

use accord_ledger::witness::{SplitViewEvidence, split_view};
use accord_ledger::{
    Checkpoint, LogSigner, MemoryLog, SignedCheckpoint, WitnessOutcome, WitnessSigner,
    consistency_proof, verified_cosignatures, witness_checkpoint,
};

const A: &str = "accord.cert-a.example/ledger";

struct Node {
    log: MemoryLog,
    key: LogSigner,
}

impl Node {
    fn checkpoint(&self) -> SignedCheckpoint {
        self.key
            .sign(&Checkpoint::new(A, self.log.size(), self.log.root().unwrap()).unwrap())
            .unwrap()
    }
}

/// A deterministic RNG for key generation in tests.
struct Counter(u8);
impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl rand_core::CryptoRng for Counter {}

#[test]
fn partners_witness_and_clients_count_cosignatures() {
    let mut a = Node {
        log: MemoryLog::new(),
        key: LogSigner::generate(A, &mut Counter(0)).unwrap(),
    };
    let witness_b = WitnessSigner::generate("witness.cert-b.example", &mut Counter(100)).unwrap();
    let witness_c = WitnessSigner::generate("witness.cert-c.example", &mut Counter(200)).unwrap();
    let a_vkey = a.key.verifier_key();
    let a_verifier = accord_ledger::LogVerifier::from_verifier_key(&a_vkey).unwrap();

    // B and C each hold the latest checkpoint of A they cosigned.
    let mut held_b: Option<SignedCheckpoint> = None;
    let mut held_c: Option<SignedCheckpoint> = None;
    let mut time = 1_764_300_000;
    for round in 0..5u64 {
        let leaves: Vec<Vec<u8>> = (0..(round * 37 + 1))
            .map(|i| format!("{round}/{i}").into_bytes())
            .collect();
        a.log.append(&leaves).unwrap();
        let cp = a.checkpoint();
        let mut note = cp.note.clone();
        for (w, held) in [(&witness_b, &mut held_b), (&witness_c, &mut held_c)] {
            let old = held.as_ref().map_or(0, |h| h.checkpoint.size);
            let proof = consistency_proof(&a.log, old, a.log.size()).unwrap();
            match witness_checkpoint(held.as_ref(), None, &note, &proof, A, &a_verifier).unwrap() {
                WitnessOutcome::Accepted(c) => {
                    let cosigned = w.cosign(&c, time).unwrap();
                    note = cosigned.note.clone();
                    *held = Some(c);
                }
                other => panic!("round {round}: {other:?}"),
            }
        }
        time += 60;
        // A client trusting A's key and both witnesses.
        let opened = a_verifier.open(&note, A).unwrap();
        assert_eq!(opened.checkpoint.size, a.log.size());
        let witnesses = [witness_b.verifier(), witness_c.verifier()];
        assert_eq!(verified_cosignatures(&note, &witnesses).len(), 2);
    }
}

#[test]
fn a_split_view_is_kept_as_evidence_anyone_can_check() {
    let mut honest = Node {
        log: MemoryLog::new(),
        key: LogSigner::from_seed(A, &[1; 32]).unwrap(),
    };
    honest.log.append(&[b"one", b"two"]).unwrap();
    let mut fork = Node {
        log: MemoryLog::new(),
        key: LogSigner::from_seed(A, &[1; 32]).unwrap(),
    };
    fork.log.append(&[b"one", b"TWO"]).unwrap();
    let (c1, c2) = (honest.checkpoint(), fork.checkpoint());

    // One witness is shown c1, and later c2.
    let v = honest.key.verifier();
    let WitnessOutcome::SplitView(evidence) =
        witness_checkpoint(Some(&c1), None, &c2.note, &[], A, &v).unwrap()
    else {
        panic!("split view");
    };
    // The evidence is two signed notes; a third party checks it with A's
    // verifier key alone.
    let stored: SplitViewEvidence = evidence.clone();
    stored.verify(&v).unwrap();
    assert_eq!(split_view(&c1, &c2), Some(evidence));
    assert_eq!(split_view(&c1, &c1), None);
}
