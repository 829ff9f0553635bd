//! Transparency log of exchanges, built the way today's transparency logs
//! are: RFC 9162 Merkle trees, C2SP checkpoints and signed notes, C2SP tiles
//! and witness cosignatures. Pure: no I/O, no clock, no async; storage is
//! behind [`HashReader`], time and keys are arguments.
//!
//! # Formats
//!
//! - **Leaves** are [`ExchangeRecord`]s as RFC 8785 (JCS) canonical JSON
//!   ([`ExchangeRecord::to_leaf_bytes`]), e.g.
//!   `{"collection":"indicators","decision":{"action":"sent"},"direction":"out","modified":"…","object_id":"indicator--…","partner":"cert.example","salt":"<32 hex>","sha256":"<hex>","time":"2026-11-28T02:40:00Z"}`
//!   (the salt, 128 random bits the store draws, is absent from records
//!   written before salts existed).
//!   The decision is tagged by `action`: `sent`, `redacted` (with
//!   `fields`), `withheld` (with `reason`) for `out`; `stored`, or
//!   `rejected` (with `reason`) for `in`; `stored` for `local`.
//! - **Hashing** is RFC 9162 §2.1: leaf `SHA-256(0x00 || leaf)`
//!   ([`leaf_hash`]), node `SHA-256(0x01 || left || right)`
//!   ([`node_hash`]), any tree size; the empty tree's root is
//!   [`EMPTY_ROOT`].
//! - **Storage** is Go `sumdb/tlog`'s "stored hashes": every complete
//!   subtree's hash once, at the dense index [`stored_hash_index`]. An
//!   append of `k` leaves ([`append_leaves`]) reads at most 64 hashes once
//!   and returns just under `2k` new hashes, to write at consecutive indexes
//!   from [`Appended::first_index`] in the same transaction as the entries;
//!   a root or proof is one read of `O(log n)` hashes.
//! - **Proofs** are RFC 9162 inclusion ([`inclusion_proof`],
//!   [`verify_inclusion`]) and consistency proofs ([`consistency_proof`],
//!   [`verify_consistency`]).
//! - **Checkpoints** are C2SP tlog-checkpoint bodies
//!   (`<origin>\n<size>\n<base64 root>\n` and extension lines,
//!   [`Checkpoint`]) signed as C2SP signed notes with the node's Ed25519
//!   key ([`LogSigner::sign`], [`LogVerifier::open`]). The key ID is
//!   `SHA-256(name || 0x0A || 0x01 || public key)[:4]`; the verifier key
//!   string is `name+<hex key id>+base64(0x01 || public key)` and the
//!   signer key string (the node's key file) is
//!   `PRIVATE+KEY+name+<hex key id>+base64(0x01 || seed)`, as in Go's
//!   `note` package.
//! - **Cosignatures** are C2SP tlog-cosignature `cosignature/v1`
//!   ([`WitnessSigner::cosign`], [`WitnessVerifier::verify`]): signature
//!   type 0x04, `timestamp (u64 BE) || Ed25519 signature` over
//!   `cosignature/v1\ntime <t>\n<checkpoint body>`.
//! - **Tiles** are C2SP tlog-tiles ([`tiles`]): `tile/<L>/<N>[.p/<W>]` (256
//!   hashes of 32 bytes, level `8·L` of the tree) and
//!   `tile/entries/<N>[.p/<W>]` (entries with big-endian u16 length
//!   prefixes). [`TiledReader`] lets a client that holds only a verified
//!   checkpoint compute the root, proofs and verified entries from tiles
//!   fetched with plain GETs.
//! - **Confidentiality**: every record carries a random 128-bit `salt`
//!   (assigned by the store), so a leaf hash reveals nothing a dictionary
//!   can find; a partner is served the entries of exchanges it is not party
//!   to as redacted entries, `{"redacted":"<leaf hash hex>"}`
//!   ([`BundleEntry`], [`tiles::redacted_entry`]), which verify against the
//!   tree like any other entry.
//! - **Verification** ([`TreeVerifier`]): a stored log's hashes recomputed
//!   from its leaves alone, fed run by run in bounded memory, with the
//!   problems named ([`LedgerCheck`]).
//! - **Witnessing** ([`witness`]): a new checkpoint from a partner is
//!   accepted (to store and cosign), unchanged, a rollback, a split view
//!   (two signed roots for one size: kept as [`witness::SplitViewEvidence`])
//!   or inconsistent.
//!
//! # Example
//!
//! ```
//! use accord_ledger::*;
//!
//! // The node appends exchange records (in batches, in the store's
//! // transaction), then signs a checkpoint.
//! let record = ExchangeRecord {
//!     direction: Direction::Out,
//!     partner: Some("cert.partner.example".into()),
//!     collection: "indicators".into(),
//!     object_id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into(),
//!     modified: Some("2026-11-28T02:40:00.000Z".into()),
//!     sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
//!     decision: Decision::Redacted { fields: vec!["x_contact_email".into()] },
//!     time: "2026-11-28T02:40:01Z".into(),
//!     salt: Some(salt_hex(&[9; 16])),
//! };
//! record.validate()?;
//! let mut log = MemoryLog::new();
//! let appended = log.append(&[record.to_leaf_bytes()])?;
//! let key = LogSigner::from_seed("accord.example/ledger", &[42; 32])?;
//! let signed = key.sign(&Checkpoint::new("accord.example/ledger", appended.new_size, appended.root)?)?;
//!
//! // A partner verifies the checkpoint with the node's verifier key string,
//! // then an inclusion proof for the record.
//! let verifier = LogVerifier::from_verifier_key(&key.verifier_key())?;
//! let cp = verifier.open(&signed.note, "accord.example/ledger")?.checkpoint;
//! let proof = inclusion_proof(&log, 0, cp.size)?;
//! verify_inclusion(&record.leaf_hash(), 0, cp.size, &proof, &cp.root)?;
//!
//! // Its witness cosigns it.
//! let witness = WitnessSigner::from_seed("witness.partner.example", &[7; 32])?;
//! let cosigned = witness.cosign(&signed, 1_764_300_000)?;
//! assert_eq!(witness.verifier().verify(&cosigned.note)?.timestamp, 1_764_300_000);
//! # Ok::<(), accord_ledger::Error>(())
//! ```
//!
//! # Crates used
//!
//! Cloudflare's `tlog_tiles` and `signed_note` (0.2, BSD-3-Clause, the Rust
//! ports of Go's `golang.org/x/mod/sumdb/tlog` and `note`) do the Merkle
//! tree math (stored-hash indexes, roots, proofs and their verification,
//! tile reads, checkpoint parsing) and the signed notes (parsing, signing,
//! verifying, key IDs, Ed25519 through `ed25519-dalek`). This crate adds,
//! around them:
//!
//! - its own [`Hash`](struct@Hash) and [`HashReader`] (with the store's own error type;
//!   the `tlog_tiles` reader has a fixed error type and panics on a short
//!   read, both handled by an adapter);
//! - a batch append that reads the tree's right edge once per batch
//!   (`tlog_tiles::stored_hashes` works one record at a time, one read per
//!   record), checked equal to it in tests;
//! - C2SP tile paths: `tlog_tiles` 0.2 writes Go sumdb paths
//!   (`tile/8/0/…`, `tile/8/data/…`), not C2SP's `tile/0/…` and
//!   `tile/entries/…`; its path parser also panics on `.p/0`;
//! - full authentication of fetched tiles: `tlog_tiles`' `TileHashReader`
//!   (like the Go code it ports) checks only the tiles from position
//!   `stx.len()` of its fetch list against their parents, although the
//!   root's tiles before them are deduplicated, so a forged full tile
//!   (often the very level-0 tile holding a requested leaf) was accepted;
//!   [`TiledReader`] checks every one;
//! - `cosignature/v1` signer and verifier (`signed_note` 0.2 has only the
//!   Ed25519 type 0x01), and key strings built from a caller's seed.
//!
//! RFC 8785 for the records is written here: the record has a fixed set of
//! string members, so it is serialized directly in canonical order (tested
//! against `accord_stix::sco_id::write_jcs`, a general JCS writer).

mod checkpoint;
mod cosign;
mod error;
mod hash;
mod record;
pub mod tiles;
mod tree;
mod verify;
pub mod witness;

pub use checkpoint::*;
pub use cosign::*;
pub use error::{BoxError, Error};
pub use hash::*;
pub use record::*;
pub use tiles::{BundleEntry, Tile, TileKind, TileSource, TiledReader};
pub use tree::*;
pub use verify::{FedLeaf, LedgerCheck, LedgerProblem, MAX_PROBLEMS, ObjectBytes, TreeVerifier};
pub use witness::{RollbackEvidence, WitnessOutcome, proof_range, witness_checkpoint};
