//! The crate's one error type.

/// A boxed error from a caller's storage or tile source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can fail in the ledger, each naming what failed and on
/// what input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's [`HashReader`](crate::HashReader) failed.
    #[error("reading {count} stored hashes for {what}: {source}")]
    Storage {
        /// The operation that needed the hashes.
        what: &'static str,
        /// How many hashes were asked for.
        count: usize,
        /// The storage's own error.
        #[source]
        source: BoxError,
    },
    /// The caller's [`HashReader`](crate::HashReader) returned the wrong
    /// number of hashes.
    #[error("reading stored hashes for {what}: asked for {requested}, got {returned}")]
    ShortRead {
        /// The operation that needed the hashes.
        what: &'static str,
        /// How many hashes were asked for.
        requested: usize,
        /// How many came back.
        returned: usize,
    },
    /// A leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked for from a larger to a smaller tree.
    #[error("tree size {old_size} is larger than {new_size}: no consistency proof goes backwards")]
    SizeOrder {
        /// The first (older) size.
        old_size: u64,
        /// The second (newer) size.
        new_size: u64,
    },
    /// Appending would overflow the 64-bit tree size.
    #[error("appending {count} leaves to a tree of size {size} overflows")]
    SizeOverflow {
        /// Current size.
        size: u64,
        /// Leaves to append.
        count: usize,
    },
    /// A leaf is too long for a C2SP entry bundle (uint16 length prefix).
    #[error("leaf {index} is {len} bytes; C2SP entry bundles hold at most 65535")]
    LeafTooLarge {
        /// The leaf's index in the log (or in the batch, for a bundle).
        index: u64,
        /// Its length.
        len: usize,
    },
    /// An inclusion proof did not verify.
    #[error("inclusion proof for leaf {index} in tree size {size} does not verify")]
    InclusionProofInvalid {
        /// Leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency proof did not verify.
    #[error("consistency proof from tree size {old_size} to {new_size} does not verify")]
    ConsistencyProofInvalid {
        /// Older size.
        old_size: u64,
        /// Newer size.
        new_size: u64,
    },
    /// A hash in text (hex or base64) did not decode to 32 bytes.
    #[error("malformed hash {input:?}: {reason}")]
    MalformedHash {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An exchange record is not well formed.
    #[error("exchange record: {field}: {reason}")]
    Record {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Leaf bytes are not the JSON of an exchange record, or not in RFC 8785
    /// canonical form.
    #[error("leaf bytes are not a canonical exchange record: {reason}")]
    RecordBytes {
        /// What is wrong with them.
        reason: String,
    },
    /// A checkpoint body is malformed (C2SP tlog-checkpoint).
    #[error("malformed checkpoint: {reason}")]
    Checkpoint {
        /// What is wrong with it.
        reason: String,
    },
    /// A key name, signer key or verifier key string is malformed.
    #[error("bad key {what}: {reason}")]
    Key {
        /// Which key string or name.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A signed note is malformed or its signatures do not verify.
    #[error("signed note: {reason}")]
    Note {
        /// What failed.
        reason: String,
    },
    /// The checkpoint's origin line is not the log expected.
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    OriginMismatch {
        /// The log origin expected.
        expected: String,
        /// The one in the checkpoint.
        found: String,
    },
    /// A cosignature is missing, malformed or does not verify.
    #[error("cosignature by {name}: {reason}")]
    Cosignature {
        /// The cosigner's key name.
        name: String,
        /// What failed.
        reason: String,
    },
    /// A tile or entry bundle path is not a C2SP tlog-tiles path.
    #[error("bad tile path {path:?}: {reason}")]
    TilePath {
        /// The path given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tile or entry bundle is longer than one can be: a hash tile is
    /// exactly its width × 32 bytes, an entry bundle at most its width ×
    /// (2 + 65,535) bytes ([`crate::tiles::Tile::max_bytes`]).
    #[error("{kind} {path} is {len} bytes, more than the {max} a {kind} of width {width} may hold")]
    TileTooLarge {
        /// `tile` or `entry bundle`.
        kind: &'static str,
        /// Its path.
        path: String,
        /// Its width (hashes or entries).
        width: u32,
        /// Its length, in bytes.
        len: usize,
        /// The most it may be.
        max: usize,
    },
    /// Tile or entry bundle bytes are malformed or do not match the tree.
    #[error("tile {path}: {reason}")]
    Tile {
        /// The tile's path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Tiles a client must fetch before the computation can finish.
    #[error("{} tiles missing, first {}", paths.len(), paths.first().map(String::as_str).unwrap_or(""))]
    TilesMissing {
        /// The tile paths to fetch (relative to the log prefix).
        paths: Vec<String>,
    },
}
