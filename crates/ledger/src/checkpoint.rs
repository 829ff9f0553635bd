//! C2SP tlog-checkpoint bodies, signed as C2SP signed notes with the node's
//! Ed25519 key; note keys (verifier and signer key strings).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey};
use signed_note::{Note, Signer as NoteSignerTrait, StandardVerifier, VerifierList};

use crate::{Error, Hash};

/// Signature type byte of Ed25519 note signatures (C2SP signed-note).
pub const ALG_ED25519: u8 = 0x01;

/// A checkpoint (C2SP tlog-checkpoint): the log's origin, its size, its root
/// hash, and optional extension lines.
///
/// Its body is `<origin>\n<size>\n<base64 root>\n` followed by each
/// extension line and `\n`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Origin line: the log's name, e.g. `accord.cert.example/ledger`.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Extension lines (without their newlines), usually none.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines. Checks the origin.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, Error> {
        let c = Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        };
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), Error> {
        let bad_line = |s: &str| s.is_empty() || s.chars().any(char::is_control);
        if bad_line(&self.origin) {
            return Err(Error::Checkpoint {
                reason: format!(
                    "origin {:?} is empty or has control characters",
                    self.origin
                ),
            });
        }
        if let Some(e) = self.extensions.iter().find(|e| bad_line(e)) {
            return Err(Error::Checkpoint {
                reason: format!("extension line {e:?} is empty or has control characters"),
            });
        }
        Ok(())
    }

    /// The note body (the signed text).
    pub fn to_body(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, self.root);
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a note body strictly (decimal size without leading zeros,
    /// base64 of 32 bytes, final newline).
    pub fn parse_body(body: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(body).map_err(|_| Error::Checkpoint {
            reason: "not UTF-8".into(),
        })?;
        let c = tlog_tiles::Checkpoint::from_bytes(body).map_err(|_| Error::Checkpoint {
            reason: format!("{:?} is not origin, size, base64 root hash and extension lines, each ending in a newline", truncate(text)),
        })?;
        let cp = Checkpoint {
            origin: c.origin().to_owned(),
            size: c.size(),
            root: (*c.hash()).into(),
            extensions: c.extension().lines().map(str::to_owned).collect(),
        };
        cp.check()?;
        Ok(cp)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Checks a key name per C2SP signed-note: non-empty, no Unicode spaces,
/// no `+`.
pub fn check_key_name(name: &str) -> Result<(), Error> {
    if signed_note::is_key_name_valid(name) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(Error::Key {
            what: format!("name {name:?}"),
            reason: "must be non-empty, without spaces, control characters or '+'".into(),
        })
    }
}

/// A note key ID: the first 4 bytes of `SHA-256(name || 0x0A || type || public key)`.
pub fn key_id(name: &str, alg: u8, public_key: &[u8; 32]) -> u32 {
    let mut k = Vec::with_capacity(33);
    k.push(alg);
    k.extend_from_slice(public_key);
    signed_note::key_id(name, &k)
}

/// A verifier key string: `name+<8 hex key id>+base64(type || public key)`.
pub(crate) fn verifier_key_string(name: &str, alg: u8, public_key: &[u8; 32]) -> String {
    let mut k = Vec::with_capacity(33);
    k.push(alg);
    k.extend_from_slice(public_key);
    format!(
        "{name}+{:08x}+{}",
        key_id(name, alg, public_key),
        BASE64.encode(k)
    )
}

/// A signer key string: `PRIVATE+KEY+name+<8 hex key id>+base64(type || seed)`.
pub(crate) fn signer_key_string(name: &str, alg: u8, key: &SigningKey) -> String {
    let mut k = Vec::with_capacity(33);
    k.push(alg);
    k.extend_from_slice(key.as_bytes());
    format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        key_id(name, alg, key.verifying_key().as_bytes()),
        BASE64.encode(k)
    )
}

/// Splits `name+id+base64(alg || 32 bytes)`, the shape shared by signer
/// and verifier keys: the name (checked), the id, and the 32 key bytes
/// (checked to follow the type byte `alg`). `form` and `bytes` name the
/// expected shape and what the 32 bytes are, in errors.
fn split_key<'a>(
    text: &'a str,
    alg: u8,
    form: &str,
    bytes: &str,
    bad: impl Fn(&str) -> Error,
) -> Result<(&'a str, u32, [u8; 32]), Error> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(&format!("expected {form}")));
    };
    check_key_name(name)?;
    if id.len() != 8 {
        return Err(bad("key id is not 8 hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| bad("key id is not 8 hex digits"))?;
    let key = BASE64.decode(key).map_err(|_| bad("key is not base64"))?;
    if key.len() != 33 || key[0] != alg {
        return Err(bad(&format!(
            "key is not type 0x{alg:02x} followed by a 32-byte Ed25519 {bytes}"
        )));
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&key[1..]);
    Ok((name, id, out))
}

/// Parses `PRIVATE+KEY+name+id+base64(alg || seed)` with the given type.
pub(crate) fn parse_signer_key(skey: &str, alg: u8) -> Result<(String, SigningKey), Error> {
    let bad = |reason: &str| Error::Key {
        what: "signer key".into(),
        reason: reason.to_owned(),
    };
    let rest = skey
        .strip_prefix("PRIVATE+KEY+")
        .ok_or_else(|| bad("does not start with PRIVATE+KEY+"))?;
    let (name, id, seed) = split_key(rest, alg, "PRIVATE+KEY+<name>+<id>+<key>", "seed", bad)?;
    let sk = SigningKey::from_bytes(&seed);
    if key_id(name, alg, sk.verifying_key().as_bytes()) != id {
        return Err(bad("key id does not match the key"));
    }
    Ok((name.to_owned(), sk))
}

/// Parses `name+id+base64(alg || public key)` with the given type.
pub(crate) fn parse_verifier_key(
    vkey: &str,
    alg: u8,
) -> Result<(String, u32, ed25519_dalek::VerifyingKey), Error> {
    let bad = |reason: &str| Error::Key {
        what: format!("verifier key {vkey:?}"),
        reason: reason.to_owned(),
    };
    let (name, id, pk) = split_key(vkey, alg, "<name>+<id>+<key>", "public key", bad)?;
    if key_id(name, alg, &pk) != id {
        return Err(bad("key id does not match name and key"));
    }
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk)
        .map_err(|_| bad("not a valid Ed25519 public key"))?;
    Ok((name.to_owned(), id, vk))
}

/// An Ed25519 note key: name, key ID for its signature type, and the
/// private key. The log's signer and a witness's cosigner differ only in
/// the signature type byte.
#[derive(Clone)]
pub(crate) struct NamedKey {
    pub(crate) name: String,
    pub(crate) id: u32,
    pub(crate) key: SigningKey,
    alg: u8,
}

impl NamedKey {
    pub(crate) fn from_seed(name: &str, seed: &[u8; 32], alg: u8) -> Result<Self, Error> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let id = key_id(name, alg, key.verifying_key().as_bytes());
        Ok(NamedKey {
            name: name.to_owned(),
            id,
            key,
            alg,
        })
    }

    pub(crate) fn generate<R: rand_core::CryptoRngCore + ?Sized>(
        name: &str,
        rng: &mut R,
        alg: u8,
    ) -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self::from_seed(name, &seed, alg)
    }

    pub(crate) fn from_signer_key(skey: &str, alg: u8) -> Result<Self, Error> {
        let (name, key) = parse_signer_key(skey, alg)?;
        Self::from_seed(&name, key.as_bytes(), alg)
    }

    pub(crate) fn signer_key(&self) -> String {
        signer_key_string(&self.name, self.alg, &self.key)
    }

    pub(crate) fn verifier_key(&self) -> String {
        verifier_key_string(&self.name, self.alg, self.key.verifying_key().as_bytes())
    }
}

/// The node's log signing key (Ed25519, note signature type 0x01).
#[derive(Clone)]
pub struct LogSigner {
    k: NamedKey,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        write!(f, "LogSigner({})", self.verifier_key())
    }
}

impl LogSigner {
    /// The key derived from a 32-byte Ed25519 seed. `name` is the key name,
    /// normally the log's origin.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, Error> {
        NamedKey::from_seed(name, seed, ALG_ED25519).map(|k| LogSigner { k })
    }

    /// A new random key.
    pub fn generate<R: rand_core::CryptoRngCore + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<Self, Error> {
        NamedKey::generate(name, rng, ALG_ED25519).map(|k| LogSigner { k })
    }

    /// Reads a signer key string `PRIVATE+KEY+name+id+base64(0x01 || seed)`
    /// (the Go `note` package's format).
    pub fn from_signer_key(skey: &str) -> Result<Self, Error> {
        NamedKey::from_signer_key(skey, ALG_ED25519).map(|k| LogSigner { k })
    }

    /// The signer key string (secret: for the node's key file only).
    pub fn signer_key(&self) -> String {
        self.k.signer_key()
    }

    /// The verifier key string `name+id+base64(0x01 || public key)`, which
    /// partners configure.
    pub fn verifier_key(&self) -> String {
        self.k.verifier_key()
    }

    /// The matching verifier.
    pub fn verifier(&self) -> LogVerifier {
        LogVerifier::from_verifier_key(&self.verifier_key())
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

    /// Signs any note text (newline-terminated UTF-8 without other control
    /// characters): the signed note bytes. Checkpoints use [`Self::sign`].
    pub fn sign_text(&self, text: &str) -> Result<Vec<u8>, Error> {
        let mut note = Note::new(text.as_bytes(), &[]).map_err(note_err)?;
        note.add_sigs(&[self]).map_err(note_err)?;
        Ok(note.to_bytes())
    }

    /// Signs a checkpoint: the signed note, exactly as served at
    /// `<prefix>/checkpoint`.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<SignedCheckpoint, Error> {
        checkpoint.check()?;
        let mut note = Note::new(checkpoint.to_body().as_bytes(), &[]).map_err(note_err)?;
        note.add_sigs(&[self]).map_err(note_err)?;
        Ok(SignedCheckpoint {
            checkpoint: checkpoint.clone(),
            note: note.to_bytes(),
        })
    }
}

impl NoteSignerTrait for LogSigner {
    fn name(&self) -> &str {
        &self.k.name
    }
    fn key_id(&self) -> u32 {
        self.k.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.k.key.sign(msg).to_bytes().to_vec())
    }
}

/// The signature lines of a signed note, parsed (signed_note 0.2 does not
/// expose a note's signatures).
pub(crate) fn note_signatures(note: &[u8]) -> Result<Vec<signed_note::Signature>, Error> {
    // Validates the whole note first.
    check_note_bounds(note)?;
    Note::from_bytes(note).map_err(note_err)?;
    let text = std::str::from_utf8(note).map_err(|_| Error::Note {
        reason: "not UTF-8".into(),
    })?;
    let (_, sigs) = text.rsplit_once("\n\n").ok_or_else(|| Error::Note {
        reason: "no signature block".into(),
    })?;
    sigs.strip_suffix('\n')
        .unwrap_or(sigs)
        .split('\n')
        .map(|line| signed_note::Signature::from_bytes(line.as_bytes()).map_err(note_err))
        .collect()
}

/// Largest signed note read, in bytes (C2SP signed-note; the bound of the
/// `signed_note` crate, checked here first so the error names it).
pub const MAX_NOTE_BYTES: usize = 1_000_000;
/// Most signature lines in a signed note (the log's and cosignatures).
pub const MAX_NOTE_SIGNATURES: usize = 100;

/// Refuses a note beyond [`MAX_NOTE_BYTES`] or with more than
/// [`MAX_NOTE_SIGNATURES`] signature lines, naming the limit.
pub(crate) fn check_note_bounds(note: &[u8]) -> Result<(), Error> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(Error::Note {
            reason: format!(
                "note is {} bytes, more than the limit of {MAX_NOTE_BYTES}",
                note.len()
            ),
        });
    }
    if let Some(at) = note.windows(2).rposition(|w| w == b"\n\n") {
        let lines = note[at + 2..].iter().filter(|&&b| b == b'\n').count();
        if lines > MAX_NOTE_SIGNATURES {
            return Err(Error::Note {
                reason: format!(
                    "note has {lines} signature lines, more than the limit of {MAX_NOTE_SIGNATURES}"
                ),
            });
        }
    }
    Ok(())
}

pub(crate) fn note_err(e: signed_note::NoteError) -> Error {
    Error::Note {
        reason: e.to_string(),
    }
}

/// A partner log's verifier key (Ed25519, type 0x01).
#[derive(Clone)]
pub struct LogVerifier {
    vkey: String,
    inner: StandardVerifier,
}

impl std::fmt::Debug for LogVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogVerifier({})", self.vkey)
    }
}

impl LogVerifier {
    /// Parses a verifier key string `name+id+base64(0x01 || public key)`.
    pub fn from_verifier_key(vkey: &str) -> Result<Self, Error> {
        parse_verifier_key(vkey, ALG_ED25519)?;
        let inner = StandardVerifier::new(vkey).map_err(|e| Error::Key {
            what: format!("verifier key {vkey:?}"),
            reason: e.to_string(),
        })?;
        Ok(LogVerifier {
            vkey: vkey.to_owned(),
            inner,
        })
    }

    /// The verifier key string.
    pub fn verifier_key(&self) -> &str {
        &self.vkey
    }

    /// Key name.
    pub fn name(&self) -> &str {
        signed_note::Verifier::name(&self.inner)
    }

    /// Key ID.
    pub fn key_id(&self) -> u32 {
        signed_note::Verifier::key_id(&self.inner)
    }

    /// Verifies a signed note (any text) and returns its text.
    pub fn verify_note(&self, note: &[u8]) -> Result<String, Error> {
        check_note_bounds(note)?;
        let n = Note::from_bytes(note).map_err(note_err)?;
        n.verify(&VerifierList::new(vec![Box::new(self.inner.clone())]))
            .map_err(|e| Error::Note {
                reason: format!("not signed by {}: {e}", self.vkey),
            })?;
        String::from_utf8(n.text().to_vec()).map_err(|_| Error::Note {
            reason: "text is not UTF-8".into(),
        })
    }

    /// Verifies a signed checkpoint as served: the note must carry a valid
    /// signature by this key, and its body must be a checkpoint with the
    /// given origin. Other signatures (cosignatures) are kept, unverified.
    pub fn open(&self, note: &[u8], origin: &str) -> Result<SignedCheckpoint, Error> {
        check_note_bounds(note)?;
        let n = Note::from_bytes(note).map_err(note_err)?;
        n.verify(&VerifierList::new(vec![Box::new(self.inner.clone())]))
            .map_err(|e| Error::Note {
                reason: format!("not signed by {}: {e}", self.vkey),
            })?;
        let checkpoint = Checkpoint::parse_body(n.text())?;
        if checkpoint.origin != origin {
            return Err(Error::OriginMismatch {
                expected: origin.to_owned(),
                found: checkpoint.origin,
            });
        }
        Ok(SignedCheckpoint {
            checkpoint,
            note: note.to_vec(),
        })
    }
}

/// A checkpoint with its signed note bytes (log signature, and any
/// cosignatures), kept exactly as signed or received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedCheckpoint {
    /// The parsed body.
    pub checkpoint: Checkpoint,
    /// The signed note, byte for byte.
    pub note: Vec<u8>,
}

impl SignedCheckpoint {
    /// The signature lines as (key name, key id), in order.
    pub fn signers(&self) -> Result<Vec<(String, u32)>, Error> {
        Ok(note_signatures(&self.note)?
            .iter()
            .map(|s| (s.name().to_owned(), s.id()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_with_10000_signature_lines_is_refused_by_name() {
        let signer = LogSigner::from_seed("example.org/log", &[7; 32]).unwrap();
        let cp = Checkpoint::new("example.org/log", 1, Hash([1; 32])).unwrap();
        let signed = signer.sign(&cp).unwrap();
        let text = String::from_utf8(signed.note.clone()).unwrap();
        let line = text.rsplit_once("\n\n").unwrap().1.to_owned();
        let mut note = text.clone();
        for _ in 0..10_000 {
            note.push_str(&line);
        }
        let v = signer.verifier();
        for e in [
            v.open(note.as_bytes(), "example.org/log").unwrap_err(),
            v.verify_note(note.as_bytes()).unwrap_err(),
            SignedCheckpoint {
                checkpoint: cp.clone(),
                note: note.clone().into_bytes(),
            }
            .signers()
            .unwrap_err(),
        ] {
            assert!(e.to_string().contains("more than the limit of 100"), "{e}");
        }
        let big = format!("{}{}", text, "x".repeat(MAX_NOTE_BYTES));
        assert!(
            v.verify_note(big.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("bytes")
        );
        // The ordinary note still opens.
        v.open(&signed.note, "example.org/log").unwrap();
    }

    fn signer() -> LogSigner {
        LogSigner::from_seed("accord.example/ledger", &[7u8; 32]).unwrap()
    }

    #[test]
    fn body_round_trip_with_extensions() {
        let mut c =
            Checkpoint::new("o.example/log", 123, crate::leaf_hash(b"hello world")).unwrap();
        assert_eq!(
            c.to_body(),
            "o.example/log\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
        );
        c.extensions = vec!["abc".into(), "def".into()];
        assert_eq!(Checkpoint::parse_body(c.to_body().as_bytes()).unwrap(), c);
    }

    #[test]
    fn malformed_bodies() {
        for bad in [
            &b""[..],
            b"o\n",
            b"o\n12\n",
            b"o\n012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
            b"o\n-1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
            b"o\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=",
            b"o\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0\n",
            b"o\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\n",
            b"\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
            b"\xff\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
        ] {
            assert!(Checkpoint::parse_body(bad).is_err(), "{bad:?}");
        }
        assert!(Checkpoint::new("a\nb", 1, Hash::default()).is_err());
        assert!(Checkpoint::new("", 1, Hash::default()).is_err());
    }

    #[test]
    fn sign_and_open() {
        let s = signer();
        let c = Checkpoint::new("accord.example/ledger", 5, crate::leaf_hash(b"x")).unwrap();
        let sc = s.sign(&c).unwrap();
        let text = String::from_utf8(sc.note.clone()).unwrap();
        assert!(text.starts_with(&c.to_body()));
        assert!(text.contains("\n\n— accord.example/ledger "), "{text}");
        let v = LogVerifier::from_verifier_key(&s.verifier_key()).unwrap();
        let opened = v.open(&sc.note, "accord.example/ledger").unwrap();
        assert_eq!(opened, sc);
        assert!(matches!(
            v.open(&sc.note, "other.example/ledger"),
            Err(Error::OriginMismatch { .. })
        ));
        // Another key does not verify it.
        let other = LogSigner::from_seed("accord.example/ledger", &[8u8; 32]).unwrap();
        assert!(
            other
                .verifier()
                .open(&sc.note, "accord.example/ledger")
                .is_err()
        );
        // A changed body does not verify.
        let tampered = text.replacen("\n5\n", "\n6\n", 1);
        assert!(
            v.open(tampered.as_bytes(), "accord.example/ledger")
                .is_err()
        );
        assert_eq!(
            sc.signers().unwrap(),
            vec![(s.name().to_owned(), s.key_id())]
        );
    }

    #[test]
    fn key_strings_round_trip() {
        let s = signer();
        let again = LogSigner::from_signer_key(&s.signer_key()).unwrap();
        assert_eq!(again.verifier_key(), s.verifier_key());
        assert!(format!("{s:?}").contains(&s.verifier_key()));
        assert!(!format!("{s:?}").contains("PRIVATE"));
        // Name, id, type and key are checked.
        let vk = s.verifier_key();
        let (name, rest) = vk.split_once('+').unwrap();
        assert!(LogVerifier::from_verifier_key(&format!("x{name}+{rest}")).is_err());
        assert!(LogVerifier::from_verifier_key(&vk.replacen('+', "+0", 1)).is_err());
        assert!(LogVerifier::from_verifier_key("a b+00000000+AA==").is_err());
        assert!(LogSigner::from_signer_key(&s.signer_key().replace("PRIVATE", "PUBLIC")).is_err());
        assert!(LogSigner::from_seed("bad name", &[0; 32]).is_err());
        assert!(LogSigner::from_seed("bad+name", &[0; 32]).is_err());
    }
}
