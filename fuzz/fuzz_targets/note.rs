//! Signed notes, checkpoints and cosignatures from a partner's log or a
//! witness: a note body, and whole notes opened by a log key and checked
//! by a witness key. Nothing panics; oversized notes are refused by name.
#![no_main]
use accord_ledger::{Checkpoint, LogSigner, SignedCheckpoint, WitnessSigner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Checkpoint::parse_body(data);
    let log = LogSigner::from_seed("example.org/log", &[7; 32]).expect("key");
    let witness = WitnessSigner::from_seed("example.org/witness", &[9; 32]).expect("key");
    let v = log.verifier();
    let _ = v.verify_note(data);
    let _ = v.open(data, "example.org/log");
    let _ = witness.verifier().verify(data);
    let _ = accord_ledger::verified_cosignatures(data, &[witness.verifier()]);
    if let Ok(cp) = Checkpoint::parse_body(data) {
        let sc = SignedCheckpoint {
            checkpoint: cp,
            note: data.to_vec(),
        };
        let _ = sc.signers();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = accord_ledger::LogVerifier::from_verifier_key(text);
        let _ = accord_ledger::WitnessVerifier::from_verifier_key(text);
    }
});
