//! C2SP tlog-cosignature (Ed25519, `cosignature/v1`): a witness's
//! timestamped statement that a checkpoint is the largest consistent tree it
//! has seen for the log.
//!
//! A cosignature is a note signature line `— <witness name>
//! base64(key ID || timestamp || signature)`, where the key ID is
//! `SHA-256(name || 0x0A || 0x04 || public key)[:4]`, the timestamp is a
//! big-endian u64 of POSIX seconds, and the Ed25519 signature covers
//! `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint body.

use ed25519_dalek::{Signer as _, Verifier as _};
use signed_note::{Note, VerifierList};

use crate::checkpoint::{NamedKey, note_err, note_signatures, parse_verifier_key};
use crate::{Error, SignedCheckpoint};

/// Signature type byte of Ed25519 `cosignature/v1` (C2SP tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The signed message of a `cosignature/v1` over a checkpoint body.
pub fn cosignature_message(body: &[u8], timestamp: u64) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(body);
    m
}

/// A witness's cosigning key.
#[derive(Clone)]
pub struct WitnessSigner {
    k: NamedKey,
}

impl std::fmt::Debug for WitnessSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WitnessSigner({})", self.verifier_key())
    }
}

impl WitnessSigner {
    /// The key derived from a 32-byte Ed25519 seed. `name` is the witness's
    /// key name (a schema-less URL naming the node's witness). Use a key
    /// that is not also the node's log key.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, Error> {
        NamedKey::from_seed(name, seed, ALG_COSIGNATURE_V1).map(|k| WitnessSigner { k })
    }

    /// A new random key.
    pub fn generate<R: rand_core::CryptoRngCore + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<Self, Error> {
        NamedKey::generate(name, rng, ALG_COSIGNATURE_V1).map(|k| WitnessSigner { k })
    }

    /// Reads `PRIVATE+KEY+name+id+base64(0x04 || seed)`.
    pub fn from_signer_key(skey: &str) -> Result<Self, Error> {
        NamedKey::from_signer_key(skey, ALG_COSIGNATURE_V1).map(|k| WitnessSigner { k })
    }

    /// The signer key string (secret).
    pub fn signer_key(&self) -> String {
        self.k.signer_key()
    }

    /// The verifier key string `name+id+base64(0x04 || public key)`.
    pub fn verifier_key(&self) -> String {
        self.k.verifier_key()
    }

    /// The matching verifier.
    pub fn verifier(&self) -> WitnessVerifier {
        WitnessVerifier::from_verifier_key(&self.verifier_key())
            .expect("a key's own verifier key string parses")
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.k.name
    }

    /// Key ID.
    pub fn key_id(&self) -> u32 {
        self.k.id
    }

    /// Cosigns a checkpoint at `timestamp` (POSIX seconds, at most 2^63-1):
    /// returns the note with this witness's cosignature added (replacing an
    /// earlier one by the same key). The caller must have checked the
    /// checkpoint's log signature and its consistency first (see
    /// [`crate::witness`]).
    pub fn cosign(
        &self,
        checkpoint: &SignedCheckpoint,
        timestamp: u64,
    ) -> Result<SignedCheckpoint, Error> {
        if timestamp > i64::MAX as u64 {
            return Err(Error::Cosignature {
                name: self.k.name.clone(),
                reason: format!("timestamp {timestamp} exceeds 2^63-1"),
            });
        }
        let mut note = Note::from_bytes(&checkpoint.note).map_err(note_err)?;
        let signer = Timed {
            key: self,
            timestamp,
        };
        note.add_sigs(&[&signer]).map_err(note_err)?;
        Ok(SignedCheckpoint {
            checkpoint: checkpoint.checkpoint.clone(),
            note: note.to_bytes(),
        })
    }
}

struct Timed<'a> {
    key: &'a WitnessSigner,
    timestamp: u64,
}

impl signed_note::Signer for Timed<'_> {
    fn name(&self) -> &str {
        &self.key.k.name
    }
    fn key_id(&self) -> u32 {
        self.key.k.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let sig = self
            .key
            .k
            .key
            .sign(&cosignature_message(msg, self.timestamp));
        let mut out = Vec::with_capacity(72);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&sig.to_bytes());
        Ok(out)
    }
}

/// A witness's verifier key (type 0x04).
#[derive(Clone)]
pub struct WitnessVerifier {
    vkey: String,
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl std::fmt::Debug for WitnessVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WitnessVerifier({})", self.vkey)
    }
}

impl signed_note::Verifier for WitnessVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((ts, sig)) = split_timestamped(sig) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(sig);
        self.key.verify(&cosignature_message(msg, ts), &sig).is_ok()
    }
}

fn split_timestamped(sig: &[u8]) -> Option<(u64, &[u8; 64])> {
    if sig.len() != 72 {
        return None;
    }
    let ts = u64::from_be_bytes(sig[..8].try_into().ok()?);
    if ts > i64::MAX as u64 {
        return None;
    }
    Some((ts, sig[8..].try_into().ok()?))
}

/// A verified cosignature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cosignature {
    /// Key ID of the witness.
    pub key_id: u32,
    /// When the witness cosigned (POSIX seconds).
    pub timestamp: u64,
}

impl WitnessVerifier {
    /// Parses `name+id+base64(0x04 || public key)`.
    pub fn from_verifier_key(vkey: &str) -> Result<Self, Error> {
        let (name, id, key) = parse_verifier_key(vkey, ALG_COSIGNATURE_V1)?;
        Ok(WitnessVerifier {
            vkey: vkey.to_owned(),
            name,
            id,
            key,
        })
    }

    /// The verifier key string.
    pub fn verifier_key(&self) -> &str {
        &self.vkey
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Verifies this witness's cosignature on a signed checkpoint note and
    /// returns its timestamp. Fails if the note has no line with this
    /// witness's name and key ID, or if that line does not verify.
    pub fn verify(&self, note: &[u8]) -> Result<Cosignature, Error> {
        let fail = |reason: String| Error::Cosignature {
            name: self.name.clone(),
            reason,
        };
        crate::checkpoint::check_note_bounds(note)?;
        let n = Note::from_bytes(note).map_err(note_err)?;
        n.verify(&VerifierList::new(vec![Box::new(self.clone())]))
            .map_err(|e| fail(e.to_string()))?;
        let sig = note_signatures(note)?
            .into_iter()
            .find(|s| s.name() == self.name && s.id() == self.id)
            .ok_or_else(|| fail("no cosignature line".into()))?;
        let (timestamp, _) =
            split_timestamped(sig.signature()).ok_or_else(|| fail("malformed".into()))?;
        Ok(Cosignature {
            key_id: self.id,
            timestamp,
        })
    }
}

/// Counts the witnesses among `witnesses` whose cosignatures on `note`
/// verify (a client's quorum check); returns them with their timestamps.
pub fn verified_cosignatures<'a>(
    note: &[u8],
    witnesses: &'a [WitnessVerifier],
) -> Vec<(&'a WitnessVerifier, Cosignature)> {
    witnesses
        .iter()
        .filter_map(|w| w.verify(note).ok().map(|c| (w, c)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Checkpoint, LogSigner};

    fn signed() -> (LogSigner, SignedCheckpoint) {
        let log = LogSigner::from_seed("log.example/a", &[1; 32]).unwrap();
        let c = Checkpoint::new("log.example/a", 10, crate::leaf_hash(b"r")).unwrap();
        let sc = log.sign(&c).unwrap();
        (log, sc)
    }

    #[test]
    fn cosign_and_verify() {
        let (log, sc) = signed();
        let w = WitnessSigner::from_seed("witness.example/w1", &[2; 32]).unwrap();
        let cs = w.cosign(&sc, 1_679_315_147).unwrap();
        // The log signature still verifies, and the cosignature does.
        log.verifier().open(&cs.note, "log.example/a").unwrap();
        let got = w.verifier().verify(&cs.note).unwrap();
        assert_eq!(got.timestamp, 1_679_315_147);
        assert_eq!(got.key_id, w.key_id());
        // The log's key is not a witness key: no cosignature from it.
        assert!(w.verifier().verify(&sc.note).is_err());
        // Cosigning twice replaces the earlier line.
        let again = w.cosign(&cs, 1_679_315_200).unwrap();
        assert_eq!(again.signers().unwrap().len(), 2);
        assert_eq!(
            w.verifier().verify(&again.note).unwrap().timestamp,
            1_679_315_200
        );
        // Two witnesses, a quorum of two.
        let w2 = WitnessSigner::from_seed("witness.example/w2", &[3; 32]).unwrap();
        let both = w2.cosign(&again, 5).unwrap();
        let vs = [w.verifier(), w2.verifier()];
        assert_eq!(verified_cosignatures(&both.note, &vs).len(), 2);
    }

    #[test]
    fn tampered_cosignatures_fail() {
        let (_, sc) = signed();
        let w = WitnessSigner::from_seed("witness.example/w1", &[2; 32]).unwrap();
        let cs = w.cosign(&sc, 100).unwrap();
        let text = String::from_utf8(cs.note.clone()).unwrap();
        let line = text.lines().last().unwrap();
        let b64 = line.rsplit_once(' ').unwrap().1;
        let mut raw =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
        // Change the timestamp: the signature no longer covers it.
        raw[11] ^= 1;
        let forged = text.replace(
            b64,
            &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw),
        );
        assert!(w.verifier().verify(forged.as_bytes()).is_err());
        assert!(w.cosign(&sc, u64::MAX).is_err());
    }

    #[test]
    fn key_strings() {
        let w = WitnessSigner::from_seed("witness.example/w1", &[2; 32]).unwrap();
        let again = WitnessSigner::from_signer_key(&w.signer_key()).unwrap();
        assert_eq!(again.verifier_key(), w.verifier_key());
        // A log (0x01) key string is not a witness key, and the other way round.
        let log = LogSigner::from_seed("witness.example/w1", &[2; 32]).unwrap();
        assert!(WitnessVerifier::from_verifier_key(&log.verifier_key()).is_err());
        assert!(crate::LogVerifier::from_verifier_key(&w.verifier_key()).is_err());
        assert_ne!(log.key_id(), w.key_id());
    }
}
