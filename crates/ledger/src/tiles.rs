//! C2SP tlog-tiles: tile and entry bundle paths, tile bytes from stored
//! hashes, entry bundles, and a client that computes roots and proofs from
//! fetched tiles alone.
//!
//! Paths (relative to the log's URL prefix): `tile/<L>/<N>[.p/<W>]` for the
//! hashes at level `8·L` and `tile/entries/<N>[.p/<W>]` for the entries,
//! where `<N>` is written in 3-digit groups, all but the last prefixed with
//! `x` (`1234067` → `x001/x234/067`), and `.p/<W>` marks a partial tile of
//! `W` < 256 hashes or entries. A tile is its hashes concatenated (32 bytes
//! each); an entry bundle is each entry prefixed by its big-endian u16
//! length.
//!
//! # Redacted entries
//!
//! A node serves an entry bundle in full only to its own accounts; to a
//! partner it serves the records that partner is party to, and every other
//! entry as a *redacted entry*: the 79 bytes
//! `{"redacted":"<leaf hash as 64 lowercase hex digits>"}` in place of the
//! leaf, under the same u16 length prefix ([`redacted_entry`],
//! [`BundleEntry`], [`entry_bundle_redacted`]). A verifier takes a redacted
//! entry's leaf hash as given: the tree still binds it (the bundle is
//! checked against the hash tiles, which are authenticated by the
//! checkpoint), so the partner verifies every record it is shown and learns
//! of the others only their number and leaf hashes, which the records'
//! salts ([`crate::ExchangeRecord::salt`]) make useless to a dictionary
//! attack. A record's leaf never has this form (its canonical JSON starts
//! with `{"collection":`), so the two cannot be confused in Accord's log;
//! a log of other leaves that could take this exact form should not be
//! served redacted.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::tree::Adapter;
use crate::{Error, Hash, HashReader, leaf_hash};

/// Tile height: a tile spans 8 levels of the tree.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u32 = 1 << TILE_HEIGHT;
/// Bytes of one hash in a tile.
pub const TILE_HASH_BYTES: usize = 32;
/// The most bytes a hash tile may be: 256 hashes of 32 bytes (a full
/// tile is exactly this; a partial one its width × 32).
pub const MAX_TILE_BYTES: usize = TILE_WIDTH as usize * TILE_HASH_BYTES;
/// The longest entry an entry bundle can carry (its length prefix is a
/// big-endian u16).
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;
/// The most bytes an entry bundle may be: 256 entries of at most 65,535
/// bytes, each after its 2-byte length prefix (16,777,472 bytes).
pub const MAX_ENTRY_BUNDLE_BYTES: usize = TILE_WIDTH as usize * (2 + MAX_ENTRY_BYTES);

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Merkle tree hashes at tree level `8 * level`.
    Hashes {
        /// Tile level, 0 to 63.
        level: u8,
    },
    /// Log entries (an entry bundle).
    Entries,
}

/// A tile or entry bundle coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// Hashes (at a level) or entries.
    pub kind: TileKind,
    /// Index within the level.
    pub index: u64,
    /// Number of hashes or entries, 1 to 256 (256 = full).
    pub width: u32,
}

impl Tile {
    /// The path relative to the log prefix.
    pub fn path(&self) -> String {
        let mut s = String::from("tile/");
        match self.kind {
            TileKind::Hashes { level } => s.push_str(&level.to_string()),
            TileKind::Entries => s.push_str("entries"),
        }
        s.push('/');
        s.push_str(&index_path(self.index));
        if self.width < TILE_WIDTH {
            s.push_str(&format!(".p/{}", self.width));
        }
        s
    }

    /// Parses a path relative to the log prefix (no leading slash); only
    /// the canonical form is accepted.
    pub fn parse_path(path: &str) -> Result<Self, Error> {
        let bad = |reason| Error::TilePath {
            path: path.to_owned(),
            reason,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad("not under tile/"))?;
        let (first, rest) = rest.split_once('/').ok_or_else(|| bad("no index"))?;
        let kind = if first == "entries" {
            TileKind::Entries
        } else {
            let level: u8 = parse_decimal(first).ok_or_else(|| bad("level is not a decimal"))?;
            if level > 63 {
                return Err(bad("level above 63"));
            }
            TileKind::Hashes { level }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w: u32 = parse_decimal(w).ok_or_else(|| bad("width is not a decimal"))?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return Err(bad("partial width not in 1..=255"));
                }
                (i, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let mut index: u64 = 0;
        for (i, g) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits = if last {
                *g
            } else {
                g.strip_prefix('x')
                    .ok_or_else(|| bad("index group without x prefix"))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index group is not 3 digits"));
            }
            let d: u64 = digits.parse().map_err(|_| bad("index group"))?;
            index = index
                .checked_mul(1000)
                .and_then(|v| v.checked_add(d))
                .ok_or_else(|| bad("index overflows"))?;
        }
        let t = Tile { kind, index, width };
        if t.path() != path {
            return Err(bad("not in canonical form"));
        }
        Ok(t)
    }

    /// The most bytes this tile may be: width × 32 for a hash tile (which
    /// is exactly that long), width × (2 + 65,535) for an entry bundle.
    pub fn max_bytes(&self) -> usize {
        let w = self.width as usize;
        match self.kind {
            TileKind::Hashes { .. } => w * TILE_HASH_BYTES,
            TileKind::Entries => w * (2 + MAX_ENTRY_BYTES),
        }
    }

    /// `tile` or `entry bundle`, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            TileKind::Hashes { .. } => "tile",
            TileKind::Entries => "entry bundle",
        }
    }

    /// Refuses `len` bytes for this tile when it is more than
    /// [`Tile::max_bytes`].
    ///
    /// # Errors
    /// [`Error::TileTooLarge`] naming the tile, `len` and the bound.
    pub fn check_len(&self, len: usize) -> Result<(), Error> {
        let max = self.max_bytes();
        if len > max {
            return Err(Error::TileTooLarge {
                kind: self.kind_name(),
                path: self.path(),
                width: self.width,
                len,
                max,
            });
        }
        Ok(())
    }

    /// The first leaf index the tile covers.
    pub fn start_leaf(&self) -> u64 {
        let level = match self.kind {
            TileKind::Hashes { level } => u32::from(level),
            TileKind::Entries => 0,
        };
        self.index
            .checked_shl((level + 1) * u32::from(TILE_HEIGHT))
            .unwrap_or(u64::MAX)
    }

    fn to_tlog(self) -> Option<tlog_tiles::Tile> {
        match self.kind {
            TileKind::Hashes { level } if (1..=TILE_WIDTH).contains(&self.width) => Some(
                tlog_tiles::Tile::new(TILE_HEIGHT, level, self.index, self.width, false),
            ),
            _ => None,
        }
    }

    fn from_tlog(t: &tlog_tiles::Tile) -> Tile {
        Tile {
            kind: TileKind::Hashes { level: t.level() },
            index: t.level_index(),
            width: t.width(),
        }
    }
}

fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

fn index_path(mut n: u64) -> String {
    let mut s = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        s = format!("x{:03}/{s}", n % 1000);
    }
    s
}

/// The hash tiles to (re)publish when the tree grows from `old_size` to
/// `new_size` leaves: each new full tile and the new partial tiles. The
/// entry bundles to publish are the level-0 ones with kind
/// [`TileKind::Entries`] (see [`entry_bundles_for_growth`]).
pub fn tiles_for_growth(old_size: u64, new_size: u64) -> Vec<Tile> {
    if new_size <= old_size {
        return Vec::new();
    }
    tlog_tiles::Tile::new_tiles(TILE_HEIGHT, old_size, new_size)
        .iter()
        .map(Tile::from_tlog)
        .collect()
}

/// The entry bundles to (re)publish when the tree grows.
pub fn entry_bundles_for_growth(old_size: u64, new_size: u64) -> Vec<Tile> {
    tiles_for_growth(old_size, new_size)
        .into_iter()
        .filter(|t| t.kind == TileKind::Hashes { level: 0 })
        .map(|t| Tile {
            kind: TileKind::Entries,
            ..t
        })
        .collect()
}

/// The tile's bytes (its hashes concatenated), read from stored hashes.
pub fn tile_bytes<R: HashReader + ?Sized>(reader: &R, tile: &Tile) -> Result<Vec<u8>, Error> {
    let t = tile.to_tlog().ok_or_else(|| Error::Tile {
        path: tile.path(),
        reason: "not a hash tile of width 1..=256".into(),
    })?;
    let adapter = Adapter::new(reader, "tile");
    let r = t.read_data(&adapter);
    adapter.finish(r)
}

/// Encodes entries as an entry bundle (big-endian u16 length prefixes).
pub fn entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, Error> {
    let total: usize = entries.iter().map(|e| e.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for (i, e) in entries.iter().enumerate() {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| Error::LeafTooLarge {
            index: i as u64,
            len: e.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Prefix of a redacted entry: `{"redacted":"`, then 64 lowercase hex
/// digits of the leaf hash, then `"}` (see the module docs).
const REDACTED_PREFIX: &[u8] = b"{\"redacted\":\"";
const REDACTED_SUFFIX: &[u8] = b"\"}";
/// Length of a redacted entry in bytes.
pub const REDACTED_ENTRY_LEN: usize = REDACTED_PREFIX.len() + 64 + REDACTED_SUFFIX.len();

/// The redacted form of an entry whose leaf hash is `leaf_hash`:
/// `{"redacted":"<64 lowercase hex digits>"}`.
pub fn redacted_entry(leaf_hash: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(REDACTED_ENTRY_LEN);
    out.extend_from_slice(REDACTED_PREFIX);
    out.extend_from_slice(leaf_hash.to_hex().as_bytes());
    out.extend_from_slice(REDACTED_SUFFIX);
    out
}

/// One entry of an entry bundle as served: the leaf itself, or only its
/// leaf hash (a redacted entry, see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleEntry<'a> {
    /// The leaf's bytes.
    Leaf(&'a [u8]),
    /// A redacted entry: only the leaf's RFC 9162 leaf hash.
    Redacted(Hash),
}

impl<'a> BundleEntry<'a> {
    /// Reads one entry: a redacted entry when the bytes are exactly the
    /// redacted form (lowercase hex, nothing else), else a leaf.
    pub fn parse(bytes: &'a [u8]) -> BundleEntry<'a> {
        if bytes.len() == REDACTED_ENTRY_LEN
            && let Some(hex) = bytes
                .strip_prefix(REDACTED_PREFIX)
                .and_then(|r| r.strip_suffix(REDACTED_SUFFIX))
            && hex
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(h) = Hash::from_hex(hex)
        {
            return BundleEntry::Redacted(h);
        }
        BundleEntry::Leaf(bytes)
    }

    /// The entry's RFC 9162 leaf hash: computed from the leaf, or as given.
    pub fn leaf_hash(&self) -> Hash {
        match self {
            BundleEntry::Leaf(b) => leaf_hash(b),
            BundleEntry::Redacted(h) => *h,
        }
    }

    /// The leaf's bytes, unless redacted.
    pub fn leaf(&self) -> Option<&'a [u8]> {
        match self {
            BundleEntry::Leaf(b) => Some(b),
            BundleEntry::Redacted(_) => None,
        }
    }

    /// Whether only the leaf hash was served.
    pub fn is_redacted(&self) -> bool {
        matches!(self, BundleEntry::Redacted(_))
    }
}

/// Encodes entries as an entry bundle in which the entries `show` refuses
/// (given each entry's position in `entries` and its bytes) are replaced by
/// their redacted form.
pub fn entry_bundle_redacted<E: AsRef<[u8]>>(
    entries: &[E],
    mut show: impl FnMut(usize, &[u8]) -> bool,
) -> Result<Vec<u8>, Error> {
    let served: Vec<std::borrow::Cow<'_, [u8]>> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let e = e.as_ref();
            if show(i, e) {
                std::borrow::Cow::Borrowed(e)
            } else {
                std::borrow::Cow::Owned(redacted_entry(&leaf_hash(e)))
            }
        })
        .collect();
    entry_bundle(&served)
}

/// Splits an entry bundle into its entries.
///
/// # Errors
/// [`Error::TileTooLarge`] when `bytes` is longer than any entry bundle
/// may be ([`MAX_ENTRY_BUNDLE_BYTES`]); [`Error::Tile`] when it holds more
/// than 256 entries or a length prefix runs past the end.
pub fn parse_entry_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, Error> {
    if bytes.len() > MAX_ENTRY_BUNDLE_BYTES {
        return Err(Error::TileTooLarge {
            kind: "entry bundle",
            path: "(any)".into(),
            width: TILE_WIDTH,
            len: bytes.len(),
            max: MAX_ENTRY_BUNDLE_BYTES,
        });
    }
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if out.len() == TILE_WIDTH as usize {
            return Err(Error::Tile {
                path: "entry bundle".into(),
                reason: format!("more than {TILE_WIDTH} entries, the most a bundle holds"),
            });
        }
        if rest.len() < 2 {
            return Err(Error::Tile {
                path: "entry bundle".into(),
                reason: format!("truncated length prefix after {} entries", out.len()),
            });
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            return Err(Error::Tile {
                path: "entry bundle".into(),
                reason: format!(
                    "entry {} declares {len} bytes, {} remain",
                    out.len(),
                    rest.len() - 2
                ),
            });
        }
        out.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    Ok(out)
}

/// Checks an entry bundle against the tree: each entry's leaf hash (of its
/// bytes, or as given by a redacted entry) must be the leaf hash `reader`
/// gives (use a [`TiledReader`] to check against a verified checkpoint).
/// Returns the entries, redacted ones as [`BundleEntry::Redacted`].
pub fn verify_entry_bundle<'b, R: HashReader + ?Sized>(
    reader: &R,
    bundle: &Tile,
    bytes: &'b [u8],
) -> Result<Vec<BundleEntry<'b>>, Error> {
    let fail = |reason: String| Error::Tile {
        path: bundle.path(),
        reason,
    };
    if bundle.kind != TileKind::Entries {
        return Err(fail("not an entry bundle".into()));
    }
    bundle.check_len(bytes.len())?;
    let entries: Vec<BundleEntry<'b>> = parse_entry_bundle(bytes)?
        .into_iter()
        .map(BundleEntry::parse)
        .collect();
    if entries.len() as u64 != u64::from(bundle.width) {
        return Err(fail(format!(
            "{} entries, the path says {}",
            entries.len(),
            bundle.width
        )));
    }
    let start = bundle.start_leaf();
    let indexes: Vec<u64> = (0..u64::from(bundle.width))
        .map(|i| crate::stored_hash_index(0, start + i))
        .collect();
    let adapter = Adapter::new(reader, "entry bundle");
    let hashes = {
        use tlog_tiles::HashReader as _;
        let r = adapter.read_hashes(&indexes);
        adapter.finish(r)?
    };
    for (i, (e, h)) in entries.iter().zip(hashes).enumerate() {
        if e.leaf_hash() != Hash::from(h) {
            return Err(fail(format!(
                "{} {} does not hash to leaf {}",
                if e.is_redacted() {
                    "the leaf hash of redacted entry"
                } else {
                    "entry"
                },
                i,
                start + i as u64
            )));
        }
    }
    Ok(entries)
}

/// Where a client gets tiles: a map filled by HTTP GETs, a cache, or (in
/// tests) the log itself. Returns `None` for a tile it does not have yet.
pub trait TileSource {
    /// The bytes served at `path` (relative to the log prefix).
    fn tile(&self, path: &str) -> Option<Vec<u8>>;
}

impl TileSource for HashMap<String, Vec<u8>> {
    fn tile(&self, path: &str) -> Option<Vec<u8>> {
        self.get(path).cloned()
    }
}

impl<F: Fn(&str) -> Option<Vec<u8>>> TileSource for F {
    fn tile(&self, path: &str) -> Option<Vec<u8>> {
        self(path)
    }
}

/// A [`HashReader`] over tiles fetched from a log, for a tree whose size
/// and root come from a verified checkpoint. Every tile is checked against
/// the root (full tiles through their parents) before any hash is used, so
/// roots and proofs computed over it are as good as the checkpoint.
///
/// When tiles are missing the read fails with [`Error::TilesMissing`]
/// listing their paths: fetch them (in parallel), add them to the source,
/// and ask again.
pub struct TiledReader<'a, S: ?Sized> {
    size: u64,
    root: Hash,
    source: &'a S,
}

impl<'a, S: TileSource + ?Sized> TiledReader<'a, S> {
    /// A reader for the tree of `size` leaves with root `root`.
    pub fn new(size: u64, root: Hash, source: &'a S) -> Self {
        TiledReader { size, root, source }
    }
}

/// Errors of a [`TiledReader`].
#[derive(Debug, thiserror::Error)]
pub enum TiledReadError {
    /// Tiles to fetch first.
    #[error("{} tiles missing", .0.len())]
    Missing(Vec<String>),
    /// A tile does not match the checkpoint or is malformed.
    #[error("tiles do not match the tree: {0}")]
    Invalid(String),
}

struct SourceAdapter<'a, S: ?Sized> {
    source: &'a S,
    size: u64,
    missing: RefCell<Vec<String>>,
    /// Set by `save_tiles` when a fetched full tile does not hash to the
    /// entry for it in its parent tile.
    forged: RefCell<Option<String>>,
}

impl<S: ?Sized> SourceAdapter<'_, S> {
    /// Authenticates every full tile against its parent tile.
    ///
    /// tlog_tiles 0.2's `TileHashReader` (like the Go `sumdb/tlog` code it
    /// ports) checks only the tiles at positions `stx.len()..` of its fetch
    /// list against their parents, but the tiles needed for the root are
    /// deduplicated, so fewer than `stx.len()` of them come first, and the
    /// full tiles in between (often the very tile holding a requested
    /// leaf hash) went unchecked. Here every tile that is not one of the
    /// root's tiles (which it does check against the root) is checked
    /// against its parent; parents are in the list, so the chain ends at the
    /// root.
    fn authenticate(&self, tiles: &[tlog_tiles::Tile], data: &[Vec<u8>]) -> Result<(), String> {
        let root_tiles: Vec<tlog_tiles::Tile> =
            tlog_tiles::sub_tree_index(0, self.size, Vec::new())
                .into_iter()
                .filter_map(|x| tlog_tiles::Tile::from_index(TILE_HEIGHT, x).parent(0, self.size))
                .collect();
        for (t, d) in tiles.iter().zip(data) {
            if root_tiles.contains(t) {
                continue;
            }
            let path = Tile::from_tlog(t).path();
            if t.width() != TILE_WIDTH {
                return Err(format!(
                    "{path}: partial tile that is not on the right edge"
                ));
            }
            let parent = t
                .parent(1, self.size)
                .ok_or_else(|| format!("{path}: no parent tile in this tree"))?;
            let j = tiles
                .iter()
                .position(|p| *p == parent)
                .ok_or_else(|| format!("{path}: parent tile not fetched"))?;
            let want = parent
                .hash_at_index(
                    &data[j],
                    tlog_tiles::stored_hash_index(parent.level() * TILE_HEIGHT, t.level_index()),
                )
                .map_err(|e| format!("{path}: {e}"))?;
            if tlog_tiles::Tile::subtree_hash(d) != want {
                return Err(format!(
                    "{path}: does not hash to its entry in {}",
                    Tile::from_tlog(&parent).path()
                ));
            }
        }
        Ok(())
    }
}

impl<S: TileSource + ?Sized> tlog_tiles::TileReader for SourceAdapter<'_, S> {
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }
    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        let mut out = Vec::with_capacity(tiles.len());
        let mut missing = self.missing.borrow_mut();
        for t in tiles {
            let tile = Tile::from_tlog(t);
            let path = tile.path();
            match self.source.tile(&path) {
                // A hash tile is exactly width × 32 bytes: anything else is
                // refused before tlog_tiles reads it.
                Some(d) if d.len() != tile.max_bytes() => {
                    let why = match tile.check_len(d.len()) {
                        Err(e) => e.to_string(),
                        Ok(()) => format!(
                            "tile {path} is {} bytes; a tile of width {} is {} bytes",
                            d.len(),
                            tile.width,
                            tile.max_bytes()
                        ),
                    };
                    *self.forged.borrow_mut() = Some(why.clone());
                    return Err(tlog_tiles::Error::InvalidInput(why));
                }
                Some(d) => out.push(d),
                None => missing.push(path),
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(tlog_tiles::Error::InvalidInput("missing tiles".into()))
        }
    }
    fn save_tiles(&self, tiles: &[tlog_tiles::Tile], data: &[Vec<u8>]) {
        if let Err(e) = self.authenticate(tiles, data) {
            *self.forged.borrow_mut() = Some(e);
        }
    }
}

impl<S: TileSource + ?Sized> HashReader for TiledReader<'_, S> {
    type Error = TiledReadError;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TiledReadError> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let limit = crate::stored_hash_index(0, self.size);
        if self.size == 0 || indexes.iter().any(|&i| i >= limit) {
            return Err(TiledReadError::Invalid(format!(
                "stored hash index not in a tree of size {}",
                self.size
            )));
        }
        let adapter = SourceAdapter {
            source: self.source,
            size: self.size,
            missing: RefCell::new(Vec::new()),
            forged: RefCell::new(None),
        };
        let r = tlog_tiles::TileHashReader::new(self.size, self.root.into(), &adapter);
        match tlog_tiles::HashReader::read_hashes(&r, indexes) {
            Ok(v) => match adapter.forged.into_inner() {
                Some(e) => Err(TiledReadError::Invalid(e)),
                None => Ok(v.into_iter().map(Hash::from).collect()),
            },
            Err(e) => {
                // A tile of the wrong size is refused even when others are
                // still missing.
                if let Some(why) = adapter.forged.into_inner() {
                    return Err(TiledReadError::Invalid(why));
                }
                let missing = adapter.missing.into_inner();
                if missing.is_empty() {
                    Err(TiledReadError::Invalid(e.to_string()))
                } else {
                    Err(TiledReadError::Missing(missing))
                }
            }
        }
    }
}

impl<S: TileSource + ?Sized> TiledReader<'_, S> {
    /// The root recomputed from the tiles (equal to the checkpoint's when
    /// the tiles are right).
    pub fn root(&self) -> Result<Hash, Error> {
        with_tiles(crate::tree_root(self, self.size))
    }

    /// Inclusion proof of leaf `index` in this tree, from tiles.
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<Hash>, Error> {
        with_tiles(crate::inclusion_proof(self, index, self.size))
    }

    /// Consistency proof from the tree of `old_size` leaves to this one,
    /// from tiles.
    pub fn consistency_proof(&self, old_size: u64) -> Result<Vec<Hash>, Error> {
        with_tiles(crate::consistency_proof(self, old_size, self.size))
    }

    /// Checks an entry bundle (redacted entries included) against this
    /// tree and returns its entries.
    pub fn verify_entry_bundle<'b>(
        &self,
        bundle: &Tile,
        bytes: &'b [u8],
    ) -> Result<Vec<BundleEntry<'b>>, Error> {
        with_tiles(verify_entry_bundle(self, bundle, bytes))
    }
}

/// Turns a [`TiledReader`]'s storage error into [`Error::TilesMissing`] or
/// [`Error::Tile`].
fn with_tiles<T>(r: Result<T, Error>) -> Result<T, Error> {
    match r {
        Err(Error::Storage {
            source,
            what,
            count,
        }) => match source.downcast::<TiledReadError>() {
            Ok(e) => match *e {
                TiledReadError::Missing(paths) => Err(Error::TilesMissing { paths }),
                TiledReadError::Invalid(reason) => Err(Error::Tile {
                    path: what.to_owned(),
                    reason,
                }),
            },
            Err(source) => Err(Error::Storage {
                source,
                what,
                count,
            }),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let t = |level, index, width| Tile {
            kind: TileKind::Hashes { level },
            index,
            width,
        };
        // Vectors from trillian-tessera's api/layout tests and the C2SP text.
        for (tile, path) in [
            (t(0, 0, 256), "tile/0/000"),
            (t(0, 0, 255), "tile/0/000.p/255"),
            (t(1, 0, 1), "tile/1/000.p/1"),
            (t(15, 455_667, 256), "tile/15/x455/667"),
            (t(3, 1_234_567, 256), "tile/3/x001/x234/567"),
            (t(0, 1_234_067, 89), "tile/0/x001/x234/067.p/89"),
            (
                t(63, 999_999_999_999_999_999, 255),
                "tile/63/x999/x999/x999/x999/x999/999.p/255",
            ),
            (
                Tile {
                    kind: TileKind::Entries,
                    index: 123_456_789_000,
                    width: 256,
                },
                "tile/entries/x123/x456/x789/000",
            ),
            (
                Tile {
                    kind: TileKind::Entries,
                    index: 255,
                    width: 253,
                },
                "tile/entries/255.p/253",
            ),
        ] {
            assert_eq!(tile.path(), path);
            assert_eq!(Tile::parse_path(path).unwrap(), tile, "{path}");
        }
        for bad in [
            "tile/0/x001/x234/067.p/",
            "tile/0/x001/x234/067.p",
            "tile/0/x001/x234/",
            "tile/0/x001/x234",
            "tile/0/x001/",
            "tile/0/x001",
            "tile/1/x001/.p/abc",
            "tile/64/x001/002",
            "tile/-1/x001/002",
            "tile/abc/x001/002",
            "tile/8/001/002",
            "tile/8/x001/0002",
            "tile/8/x001/-002",
            "tile/8/x001/002.p/256",
            "tile/8/002.p/0",
            "tile/08/002",
            "tile/8/x000/002",
            "tile/data/000",
            "/tile/0/000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
        ] {
            assert!(Tile::parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn growth_tiles_match_the_spec_example() {
        // "a tree of size 70,000 will be represented by 273 full level 0
        // tiles, one partial level 0 tile of width 112, one full level 1
        // tile, one partial level 1 tile of width 17, and one partial level
        // 2 tile of width 1."
        let tiles = tiles_for_growth(0, 70_000);
        let count = |level: u8, width: u32| {
            tiles
                .iter()
                .filter(|t| t.kind == TileKind::Hashes { level } && t.width == width)
                .count()
        };
        assert_eq!(count(0, 256), 273);
        assert_eq!(count(0, 112), 1);
        assert_eq!(count(1, 256), 1);
        assert_eq!(count(1, 17), 1);
        assert_eq!(count(2, 1), 1);
        assert_eq!(tiles.len(), 277);
        assert_eq!(entry_bundles_for_growth(0, 70_000).len(), 274);
        assert!(tiles_for_growth(5, 5).is_empty());
    }

    #[test]
    fn redacted_entries_round_trip_and_only_the_exact_form_is_one() {
        let h = leaf_hash(b"a leaf");
        let r = redacted_entry(&h);
        assert_eq!(r.len(), REDACTED_ENTRY_LEN);
        assert_eq!(
            String::from_utf8(r.clone()).unwrap(),
            format!("{{\"redacted\":\"{}\"}}", h.to_hex())
        );
        assert_eq!(BundleEntry::parse(&r), BundleEntry::Redacted(h));
        assert_eq!(BundleEntry::parse(&r).leaf_hash(), h);
        assert_eq!(BundleEntry::parse(&r).leaf(), None);
        // Not the exact form: a leaf like any other.
        let upper = format!("{{\"redacted\":\"{}\"}}", h.to_hex().to_uppercase());
        let spaced = format!("{{\"redacted\": \"{}\"}}", h.to_hex());
        let short = format!("{{\"redacted\":\"{}\"}}", &h.to_hex()[1..]);
        for other in [
            upper.as_bytes(),
            spaced.as_bytes(),
            short.as_bytes(),
            b"{}",
            b"",
        ] {
            let e = BundleEntry::parse(other);
            assert_eq!(e, BundleEntry::Leaf(other), "{other:?}");
            assert_eq!(e.leaf_hash(), leaf_hash(other));
            assert!(!e.is_redacted());
        }
        // Through a bundle: shown entries keep their bytes.
        let entries: Vec<&[u8]> = vec![b"one", b"two", b"three"];
        let b = entry_bundle_redacted(&entries, |i, e| i == 0 || e == b"three").unwrap();
        let back: Vec<BundleEntry<'_>> = parse_entry_bundle(&b)
            .unwrap()
            .into_iter()
            .map(BundleEntry::parse)
            .collect();
        assert_eq!(
            back,
            vec![
                BundleEntry::Leaf(b"one"),
                BundleEntry::Redacted(leaf_hash(b"two")),
                BundleEntry::Leaf(b"three")
            ]
        );
    }

    #[test]
    fn entry_bundles_round_trip() {
        let entries: Vec<Vec<u8>> = vec![b"".to_vec(), b"a".to_vec(), vec![7; 300]];
        let b = entry_bundle(&entries).unwrap();
        assert_eq!(&b[..5], &[0, 0, 0, 1, b'a']);
        let back = parse_entry_bundle(&b).unwrap();
        assert_eq!(back, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert!(parse_entry_bundle(&b[..b.len() - 1]).is_err());
        assert!(parse_entry_bundle(&[0]).is_err());
        assert!(entry_bundle(&[vec![0u8; 65536]]).is_err());
    }

    #[test]
    fn tile_sizes_are_bounded_by_what_a_tile_may_hold() {
        let full = Tile {
            kind: TileKind::Hashes { level: 0 },
            index: 3,
            width: TILE_WIDTH,
        };
        assert_eq!(full.max_bytes(), MAX_TILE_BYTES);
        assert_eq!(MAX_TILE_BYTES, 8192);
        full.check_len(8192).unwrap();
        let e = full.check_len(8193).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tile tile/0/003 is 8193 bytes, more than the 8192 a tile of width 256 may hold"
        );
        let partial = Tile { width: 5, ..full };
        partial.check_len(160).unwrap();
        assert!(matches!(
            partial.check_len(161),
            Err(Error::TileTooLarge {
                max: 160,
                len: 161,
                ..
            })
        ));
        let bundle = Tile {
            kind: TileKind::Entries,
            index: 0,
            width: 2,
        };
        assert_eq!(bundle.max_bytes(), 2 * 65537);
        bundle.check_len(2 * 65537).unwrap();
        let e = bundle.check_len(2 * 65537 + 1).unwrap_err().to_string();
        assert!(
            e.starts_with("entry bundle tile/entries/000.p/2 is 131075 bytes"),
            "{e}"
        );
        assert_eq!(MAX_ENTRY_BUNDLE_BYTES, 16_777_472);
    }

    #[test]
    fn entry_bundles_hold_at_most_256_entries_and_the_bound_in_bytes() {
        let at: Vec<Vec<u8>> = vec![vec![]; 256];
        assert_eq!(
            parse_entry_bundle(&entry_bundle(&at).unwrap())
                .unwrap()
                .len(),
            256
        );
        let over: Vec<Vec<u8>> = vec![vec![]; 257];
        let e = parse_entry_bundle(&entry_bundle(&over).unwrap()).unwrap_err();
        assert!(e.to_string().contains("more than 256 entries"), "{e}");
        let huge = vec![0u8; MAX_ENTRY_BUNDLE_BYTES + 1];
        assert!(matches!(
            parse_entry_bundle(&huge),
            Err(Error::TileTooLarge { len, .. }) if len == MAX_ENTRY_BUNDLE_BYTES + 1
        ));
    }
}
