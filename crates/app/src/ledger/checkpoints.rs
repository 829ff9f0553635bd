//! This node's checkpoints: signed on demand when the log has grown,
//! kept in the store, served with the partners' cosignatures appended;
//! accepting a partner's cosignature; the proofs as JSON.

use super::LedgerError;
use super::keys::{LedgerKeys, key_path};
use crate::config::Config;
pub use accord_client::{ConsistencyJson, InclusionJson};
use accord_ledger::{Checkpoint, Hash, SignedCheckpoint, WitnessVerifier};
use accord_store::{LedgerRead, LedgerWrite, StoreError};
use base64::Engine as _;
use std::collections::HashSet;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The signature lines (`— name base64`) of a signed note.
fn signature_lines(note: &str) -> Vec<&str> {
    match note.rfind("\n\n") {
        Some(i) => note[i + 2..]
            .lines()
            .filter(|l| l.starts_with("\u{2014} "))
            .collect(),
        None => Vec::new(),
    }
}

/// The (name, key id) of a signature line.
fn line_key(line: &str) -> Option<(&str, u32)> {
    let rest = line.strip_prefix("\u{2014} ")?;
    let (name, sig) = rest.split_once(' ')?;
    let bytes = B64.decode(sig.trim()).ok()?;
    let id = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    Some((name, id))
}

/// The latest signed checkpoint of this node's log: signed now if the log
/// grew since the last one (Ed25519 is deterministic, so signing a size
/// twice gives the same note). Returns the checkpoint as signed.
///
/// # Errors
/// [`LedgerError`]; [`LedgerError::Inconsistent`] when a checkpoint signed
/// earlier for this size has another root (the log was rewritten).
pub fn latest_checkpoint<S: LedgerRead + LedgerWrite + ?Sized>(
    store: &S,
    keys: &LedgerKeys,
) -> Result<SignedCheckpoint, LedgerError> {
    let (size, root) = store.ledger_head()?;
    if let Some(note) = store.ledger_checkpoint_at(size)? {
        let cp = keys.log.verifier().open(&note, keys.origin())?;
        if cp.checkpoint.root != root {
            return Err(LedgerError::Inconsistent(format!(
                "the checkpoint signed for size {size} has root {}, the log now has {root}: the log was rewritten",
                cp.checkpoint.root
            )));
        }
        return Ok(cp);
    }
    let signed = keys
        .log
        .sign(&Checkpoint::new(keys.origin(), size, root)?)?;
    store.ledger_save_checkpoint(size, &signed.note)?;
    Ok(signed)
}

/// The checkpoint as served: the signed note with the cosignature lines
/// held for it appended.
///
/// # Errors
/// [`LedgerError`].
pub fn served_checkpoint<S: LedgerRead + LedgerWrite + ?Sized>(
    store: &S,
    keys: &LedgerKeys,
) -> Result<Vec<u8>, LedgerError> {
    let cp = latest_checkpoint(store, keys)?;
    let mut note = cp.note;
    let have: HashSet<String> = signature_lines(&String::from_utf8_lossy(&note))
        .into_iter()
        .map(str::to_owned)
        .collect();
    for line in store.ledger_cosignatures(cp.checkpoint.size)? {
        if !have.contains(&line) {
            note.extend_from_slice(line.as_bytes());
            note.push(b'\n');
        }
    }
    Ok(note)
}

/// Keeps the cosignatures on `note` made by any of `witnesses` on one of
/// this node's own checkpoints; returns the witnesses' names.
///
/// # Errors
/// [`LedgerError`] when the note is not one of this log's checkpoints or
/// carries no valid cosignature of a known witness.
pub fn accept_cosignatures<S: LedgerRead + LedgerWrite + ?Sized>(
    store: &S,
    keys: &LedgerKeys,
    note: &[u8],
    witnesses: &[WitnessVerifier],
) -> Result<Vec<String>, LedgerError> {
    let ours = keys.log.verifier().open(note, keys.origin())?;
    let size = ours.checkpoint.size;
    let Some(signed) = store.ledger_checkpoint_at(size)? else {
        return Err(LedgerError::Inconsistent(format!(
            "this node never signed a checkpoint of size {size}"
        )));
    };
    let held = keys.log.verifier().open(&signed, keys.origin())?;
    if held.checkpoint != ours.checkpoint {
        return Err(LedgerError::Inconsistent(format!(
            "the cosigned checkpoint of size {size} is not the one this node signed"
        )));
    }
    let text = String::from_utf8_lossy(note);
    let lines = signature_lines(&text);
    let mut accepted = Vec::new();
    for w in witnesses {
        if w.verify(note).is_err() {
            continue;
        }
        if let Some(line) = lines
            .iter()
            .find(|l| line_key(l) == Some((w.name(), w.key_id())))
        {
            store.ledger_add_cosignature(size, w.name(), w.key_id(), line)?;
            accepted.push(w.name().to_owned());
        }
    }
    if accepted.is_empty() {
        return Err(LedgerError::Inconsistent(
            "no valid cosignature by a configured partner's witness key".into(),
        ));
    }
    Ok(accepted)
}

/// The state the endpoints need: the keys (absent when the key file could
/// not be read: the endpoints then answer 503) and the partners' witness
/// keys.
pub struct LedgerState {
    keys: Option<LedgerKeys>,
    witnesses: Vec<WitnessVerifier>,
    /// Serializes signing, so one size is signed once.
    sign: std::sync::Mutex<()>,
}

impl LedgerState {
    /// The node's keys; `None` when the key file could not be read.
    pub fn keys(&self) -> Option<&LedgerKeys> {
        self.keys.as_ref()
    }

    /// The partners' witness keys, whose cosignatures this node accepts.
    pub fn witnesses(&self) -> &[WitnessVerifier] {
        &self.witnesses
    }

    /// Holds the signing lock: one checkpoint size is signed once.
    pub fn signing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.sign
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Loads the node's keys (created by `accord init`, `accord demo` or
    /// `accord serve`; without them the checkpoint endpoints answer 503)
    /// and reads the partners' witness keys.
    pub fn new(config: &Config) -> LedgerState {
        let path = key_path(config);
        let keys = if path.exists() {
            match LedgerKeys::load(&path) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::error!("the ledger checkpoint endpoints are off: {e}");
                    None
                }
            }
        } else {
            None
        };
        let witnesses = config
            .partners
            .iter()
            .filter_map(|p| {
                let k = p.witness_key.as_deref()?;
                match WitnessVerifier::from_verifier_key(k) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::error!(partner = %p.name, "witness key: {e}");
                        None
                    }
                }
            })
            .collect();
        LedgerState {
            keys,
            witnesses,
            sign: std::sync::Mutex::new(()),
        }
    }
}

/// The inclusion proof as JSON.
///
/// # Errors
/// [`StoreError`] (also for an index or size outside the log).
pub fn inclusion_json(
    store: &dyn LedgerRead,
    index: u64,
    size: u64,
) -> Result<InclusionJson, StoreError> {
    let (leaf, path) = store.ledger_inclusion_proof(index, size)?;
    Ok(InclusionJson {
        index,
        tree_size: size,
        leaf_hash: leaf.to_base64(),
        audit_path: path.iter().map(Hash::to_base64).collect(),
    })
}

/// The consistency proof as JSON.
///
/// # Errors
/// [`StoreError`].
pub fn consistency_json(
    store: &dyn LedgerRead,
    first: u64,
    second: u64,
) -> Result<ConsistencyJson, StoreError> {
    let path = store.ledger_consistency_proof(first, second)?;
    Ok(ConsistencyJson {
        first,
        second,
        consistency_path: path.iter().map(Hash::to_base64).collect(),
    })
}
