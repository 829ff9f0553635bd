//! The transparency log in SQLite: the node's exchange records as the leaves
//! of an RFC 9162 Merkle tree (see the `accord-ledger` crate for the
//! formats), appended by the [`Writer`](crate::Writer) in the same
//! transaction as the objects they record, so the log and the store never
//! disagree.
//!
//! Layout (schema v4). Leaves are kept in *chunks*: runs of consecutive
//! leaves appended in one transaction that never cross a 256-leaf boundary
//! (the width of a C2SP tile), one row of `ledger_chunks` each:
//! `first` (the index of its first leaf), `n`, `hashes` (the stored hashes
//! its leaves complete, in stored-hash-index order: a leaf's own hash, then
//! the hash of each subtree it closes; for consecutive leaves this is one
//! contiguous range of stored indexes, starting at
//! `stored_hash_index(0, first)`), `seqs` (the object version each leaf
//! records, 8 bytes little-endian each, 0 for `out` records) and `leaves`
//! (the records' JCS bytes joined by `\n`, which JCS never emits). A bulk
//! ingest thus writes one row per 256 objects instead of one per object.
//!
//! Stored hashes of level 8 and above (one per 256 leaves, and fewer up the
//! tree) are also kept in `ledger_upper`, keyed by stored index. A proof
//! needs at most a few hashes of levels 0–7 (all within the one or two
//! 256-leaf blocks it touches, so one or two chunk reads) and up to ~20
//! upper hashes, read with one `IN (…)` query on that small table: a proof
//! costs the same few reads at 10⁸ leaves as at 10⁵.
//!
//! Besides the leaves: the node's signed checkpoints
//! (`ledger_checkpoints`), partners' cosignature lines on them
//! (`ledger_cosignatures`), the partners' checkpoints this node witnessed
//! (`ledger_witnessed`) and alerts with their evidence (`ledger_alerts`).
//! Those small writes go through a short-lived connection of their own
//! (WAL serializes them with the writer thread's transactions).

use crate::prepare::format_micros;
use crate::{SqliteStore, StoreError};
use accord_ledger::{
    Appended, Decision, Direction, ExchangeRecord, HASH_SIZE, Hash, HashReader, Tile, TileKind,
    append_leaf_hashes, consistency_proof, inclusion_proof, split_stored_hash_index,
    stored_hash_index, tree_root,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

/// Leaves per block: a chunk never crosses a multiple of this.
pub(crate) const BLOCK: u64 = 256;

/// Stored hashes of this level and above are also kept in `ledger_upper`.
const UPPER_LEVEL: u8 = 8;

/// Who an object being stored came from, for its ledger record: set on a
/// [`Writer`](crate::Writer) handle with
/// [`Writer::received_from`](crate::Writer::received_from).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum LedgerSource {
    /// Created or ingested on this node: a `local` record.
    #[default]
    Local,
    /// Received from this partner (TAXII POST by its account, or a sync
    /// from it): an `in` record.
    Partner(String),
}

/// The stored hashes of the ledger, read through one connection (the
/// writer's, inside its transaction, or a reader's). Chunks read are kept
/// for the life of the value (one proof, one append), so a second read in
/// the same block costs no query.
pub(crate) struct ConnHashes<'a> {
    conn: &'a Connection,
    chunks: std::cell::RefCell<Vec<ChunkHashes>>,
    upper: Option<&'a UpperCache>,
}

impl<'a> ConnHashes<'a> {
    pub(crate) fn new(conn: &'a Connection) -> ConnHashes<'a> {
        ConnHashes {
            conn,
            chunks: std::cell::RefCell::new(Vec::new()),
            upper: None,
        }
    }

    /// Reads through `cache` for the upper levels. Only for a reader's
    /// connection: it sees committed hashes only, and a committed stored
    /// hash never changes (the log is append-only).
    pub(crate) fn cached(conn: &'a Connection, cache: &'a UpperCache) -> ConnHashes<'a> {
        ConnHashes {
            upper: Some(cache),
            ..ConnHashes::new(conn)
        }
    }
}

/// Upper-level stored hashes already read, shared by the read connections
/// of one store. The hashes near the top of the tree are on every proof's
/// path (and the right edge on every proof at the current size), so most
/// of a proof's upper reads are answered here; the rest cost one query.
/// Bounded: cleared when it reaches [`UPPER_CACHE_MAX`] entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpperCache(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<u64, Hash>>>,
);

/// At most this many cached hashes (~50 MB).
const UPPER_CACHE_MAX: usize = 1 << 20;

/// The leaf whose append completes stored hash `index`.
fn completing_leaf(index: u64) -> u64 {
    let (level, k) = split_stored_hash_index(index);
    (k << level) + (1u64 << level) - 1
}

fn not_stored() -> rusqlite::Error {
    rusqlite::Error::QueryReturnedNoRows
}

fn to_i64(n: u64) -> rusqlite::Result<i64> {
    i64::try_from(n).map_err(|_| not_stored())
}

fn hash_at(blob: &[u8], pos: u64) -> rusqlite::Result<Hash> {
    let at = usize::try_from(pos).map_err(|_| not_stored())? * HASH_SIZE;
    let h = blob.get(at..at + HASH_SIZE).ok_or_else(not_stored)?;
    Hash::from_slice(h).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, e.into())
    })
}

/// `SELECT idx, hash FROM ledger_upper WHERE idx IN (?, …)` with `arity`
/// parameters (8, 24 or 64).
fn upper_sql(arity: usize) -> &'static str {
    static SQL: std::sync::OnceLock<[String; 3]> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        [8, 24, 64].map(|n| {
            format!(
                "SELECT idx, hash FROM ledger_upper WHERE idx IN ({})",
                vec!["?"; n].join(",")
            )
        })
    });
    match arity {
        0..=8 => &sql[0],
        9..=24 => &sql[1],
        _ => &sql[2],
    }
}

/// A chunk's `first`, `n` and `hashes`.
struct ChunkHashes {
    first: u64,
    n: u64,
    hashes: Vec<u8>,
}

/// The chunk holding leaf `leaf`, if any.
fn chunk_hashes_of(conn: &Connection, leaf: u64) -> rusqlite::Result<Option<ChunkHashes>> {
    let mut st = conn.prepare_cached(
        "SELECT first, n, hashes FROM ledger_chunks WHERE first <= ?1 ORDER BY first DESC LIMIT 1",
    )?;
    let c = st
        .query_row([to_i64(leaf)?], |r| {
            Ok(ChunkHashes {
                first: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(u64::MAX),
                n: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                hashes: r.get(2)?,
            })
        })
        .optional()?;
    Ok(c.filter(|c| leaf < c.first.saturating_add(c.n)))
}

impl HashReader for ConnHashes<'_> {
    type Error = rusqlite::Error;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, rusqlite::Error> {
        let mut out: Vec<Option<Hash>> = vec![None; indexes.len()];
        // Upper levels: one query on the small table.
        let mut upper: Vec<(usize, i64)> = indexes
            .iter()
            .enumerate()
            .filter(|(_, i)| split_stored_hash_index(**i).0 >= UPPER_LEVEL)
            .map(|(pos, &i)| to_i64(i).map(|i| (pos, i)))
            .collect::<Result<_, _>>()?;
        if let Some(cache) = self.upper
            && let Ok(map) = cache.0.lock()
        {
            upper.retain(|&(pos, i)| match map.get(&i.cast_unsigned()) {
                Some(h) => {
                    out[pos] = Some(*h);
                    false
                }
                None => true,
            });
        }
        if !upper.is_empty() {
            let mut keys: Vec<i64> = upper.iter().map(|(_, i)| *i).collect();
            keys.sort_unstable();
            keys.dedup();
            let mut found: Vec<(i64, Vec<u8>)> = Vec::with_capacity(keys.len());
            for chunk in keys.chunks(64) {
                // The list is padded (repeating its last key) to one of
                // three lengths, so three cached statements serve every
                // read: preparing one costs more than the read itself.
                let arity = [8, 24, 64]
                    .into_iter()
                    .find(|&a| a >= chunk.len())
                    .unwrap_or(64);
                let mut st = self.conn.prepare_cached(upper_sql(arity))?;
                let last = *chunk.last().unwrap_or(&0);
                let padded = chunk
                    .iter()
                    .copied()
                    .chain(std::iter::repeat(last))
                    .take(arity);
                let mut q = st.query(rusqlite::params_from_iter(padded))?;
                while let Some(r) = q.next()? {
                    found.push((r.get(0)?, r.get(1)?));
                }
            }
            found.sort_unstable_by_key(|(i, _)| *i);
            for &(pos, i) in &upper {
                let k = found
                    .binary_search_by_key(&i, |(i, _)| *i)
                    .map_err(|_| not_stored())?;
                out[pos] = Some(hash_at(&found[k].1, 0)?);
            }
            if let Some(cache) = self.upper
                && let Ok(mut map) = cache.0.lock()
            {
                if map.len() + upper.len() > UPPER_CACHE_MAX {
                    map.clear();
                }
                for (pos, i) in upper {
                    if let Some(h) = out[pos] {
                        map.insert(i.cast_unsigned(), h);
                    }
                }
            }
        }
        // Lower levels: the chunks of the leaves that complete them (a
        // proof's all lie in one or two 256-leaf blocks).
        let mut chunks = self.chunks.borrow_mut();
        for (pos, &i) in indexes.iter().enumerate() {
            if out[pos].is_some() {
                continue;
            }
            let leaf = completing_leaf(i);
            let c = match chunks
                .iter()
                .position(|c| c.first <= leaf && leaf < c.first + c.n)
            {
                Some(c) => c,
                None => {
                    chunks.push(chunk_hashes_of(self.conn, leaf)?.ok_or_else(not_stored)?);
                    chunks.len() - 1
                }
            };
            let c = &chunks[c];
            out[pos] = Some(hash_at(&c.hashes, i - stored_hash_index(0, c.first))?);
        }
        out.into_iter().map(|h| h.ok_or_else(not_stored)).collect()
    }
}

/// The number of leaves, read through `conn`.
pub(crate) fn size_of(conn: &Connection) -> rusqlite::Result<u64> {
    let n: Option<i64> = conn
        .query_row(
            "SELECT first + n FROM ledger_chunks ORDER BY first DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

fn ledger_err(e: accord_ledger::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// A leaf to append: its bytes (a record's JCS), their leaf hash (computed
/// by the submitter) and the object version it records.
pub(crate) struct NewLeaf<'a> {
    pub bytes: &'a [u8],
    pub hash: Hash,
    pub seq: Option<i64>,
    /// The record is rebuilt from the object row `seq` (its `ledger_src`
    /// holds the rest): the chunk keeps `#` instead of the bytes.
    pub rebuild: bool,
}

/// What a stored object's ledger record holds beyond its row, as kept in
/// `objects.ledger_src`: `direction:len:partner` then the time, where
/// `len` is the partner's length in bytes, `-0` for no partner.
#[cfg_attr(feature = "bench-no-ledger", allow(dead_code))]
pub(crate) fn record_source(direction: Direction, partner: Option<&str>, time: &str) -> String {
    let p = partner.unwrap_or("");
    let mut s = String::with_capacity(16 + p.len() + time.len());
    s.push_str(direction.as_str());
    s.push(':');
    if partner.is_none() {
        s.push('-');
    }
    s.push_str(&p.len().to_string());
    s.push(':');
    s.push_str(p);
    s.push_str(time);
    s
}

/// Inverse of [`record_source`].
fn parse_record_source(src: &str) -> Option<(Direction, Option<&str>, &str)> {
    let (direction, rest) = src.split_once(':')?;
    let direction = match direction {
        "in" => Direction::In,
        "out" => Direction::Out,
        "local" => Direction::Local,
        _ => return None,
    };
    let (len, rest) = rest.split_once(':')?;
    let (none, len) = match len.strip_prefix('-') {
        Some(l) => (true, l),
        None => (false, len),
    };
    let len: usize = len.parse().ok()?;
    let partner = rest.get(..len)?;
    let time = rest.get(len..)?;
    Some((direction, (!none).then_some(partner), time))
}

/// The JCS bytes of the record of stored object version `seq`: rebuilt
/// from its row, or as kept when it was deleted. `Err` says why it cannot
/// be had.
pub(crate) fn stored_record(
    conn: &Connection,
    seq: i64,
) -> rusqlite::Result<Result<Vec<u8>, String>> {
    let mut st = conn.prepare_cached(
        "SELECT c.name, o.id, o.modified, o.raw, o.ledger_src FROM objects o
         JOIN collections c ON c.coll_id = o.coll_id WHERE o.seq = ?1",
    )?;
    let row = st
        .query_row([seq], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?;
    if let Some((collection, id, modified, raw, src)) = row {
        let Some(src) = src else {
            return Ok(Err(format!(
                "object `{id}` (seq {seq}) has no ledger source to rebuild its record from"
            )));
        };
        let Some((direction, partner, time)) = parse_record_source(&src) else {
            return Ok(Err(format!(
                "object `{id}` (seq {seq}) has a malformed ledger source {src:?}"
            )));
        };
        return Ok(Ok(ExchangeRecord {
            direction,
            partner: partner.map(str::to_owned),
            collection,
            object_id: id,
            modified,
            sha256: Hash(sha2::Sha256::digest(raw.as_bytes()).into()).to_hex(),
            decision: Decision::Stored,
            time: time.to_owned(),
        }
        .to_leaf_bytes()));
    }
    let kept: Option<Vec<u8>> = conn
        .prepare_cached("SELECT leaf FROM ledger_detached WHERE seq = ?1")?
        .query_row([seq], |r| Ok(r.get_ref(0)?.as_bytes()?.to_vec()))
        .optional()?;
    Ok(kept.ok_or_else(|| {
        format!("its object (seq {seq}) is gone and no copy of its record was kept")
    }))
}

/// Keeps the records of the stored versions about to be deleted (rows
/// `seqs`), inside the delete's transaction.
pub(crate) fn detach(conn: &Connection, seqs: &[i64]) -> rusqlite::Result<()> {
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO ledger_detached (seq, leaf) VALUES (?1, ?2)")?;
    for &seq in seqs {
        if let Ok(leaf) = stored_record(conn, seq)? {
            insert.execute(params![seq, leaf])?;
        }
    }
    Ok(())
}

/// Appends leaves to a log of `size` leaves, inside the caller's
/// transaction: one `ledger_chunks` row per run of leaves within a
/// 256-leaf block, and a `ledger_upper` row per stored hash of level 8 or
/// more.
pub(crate) fn append(
    conn: &Connection,
    size: u64,
    leaves: &[NewLeaf<'_>],
) -> rusqlite::Result<Appended> {
    if let Some(j) = leaves.iter().position(|l| l.bytes.contains(&b'\n')) {
        return Err(ledger_err(accord_ledger::Error::Checkpoint {
            reason: format!("leaf {} contains a newline: not JCS", size + j as u64),
        }));
    }
    let appended = append_leaf_hashes(
        &ConnHashes::new(conn),
        size,
        leaves.iter().map(|l| l.hash).collect(),
    )
    .map_err(|e| match e {
        accord_ledger::Error::Storage { source, .. } => {
            match source.downcast::<rusqlite::Error>() {
                Ok(e) => *e,
                Err(other) => rusqlite::Error::ToSqlConversionFailure(other),
            }
        }
        e => ledger_err(e),
    })?;
    let base = stored_hash_index(0, size);
    debug_assert_eq!(appended.first_index, base);
    let mut chunk_insert = conn.prepare_cached(
        "INSERT INTO ledger_chunks (first, n, hashes, seqs, leaves) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut upper_insert =
        conn.prepare_cached("INSERT INTO ledger_upper (idx, hash) VALUES (?1, ?2)")?;
    let (mut hashes, mut seqs, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
    let mut j = 0usize;
    while j < leaves.len() {
        let first = size + j as u64;
        let end = (size + leaves.len() as u64).min((first / BLOCK + 1) * BLOCK);
        let n = usize::try_from(end - first).map_err(|_| not_stored())?;
        let lo = usize::try_from(stored_hash_index(0, first) - base).map_err(|_| not_stored())?;
        let hi = usize::try_from(stored_hash_index(0, end) - base).map_err(|_| not_stored())?;
        let run = appended.hashes.get(lo..hi).ok_or_else(|| {
            ledger_err(accord_ledger::Error::Checkpoint {
                reason: format!("append returned too few hashes for leaves {first}..{end}"),
            })
        })?;
        hashes.clear();
        for (k, h) in run.iter().enumerate() {
            hashes.extend_from_slice(h.as_bytes());
            let idx = base + (lo + k) as u64;
            if split_stored_hash_index(idx).0 >= UPPER_LEVEL {
                upper_insert.execute(params![to_i64(idx)?, &h.as_bytes()[..]])?;
            }
        }
        seqs.clear();
        bytes.clear();
        for (k, l) in leaves[j..j + n].iter().enumerate() {
            seqs.extend_from_slice(&l.seq.unwrap_or(0).to_le_bytes());
            if k > 0 {
                bytes.push(b'\n');
            }
            if l.rebuild {
                bytes.push(b'#');
            } else {
                bytes.extend_from_slice(l.bytes);
            }
        }
        chunk_insert.execute(params![to_i64(first)?, n as i64, &hashes, &seqs, &bytes])?;
        j += n;
    }
    Ok(appended)
}

/// One chunk as stored, split into its leaves (a stored object's record
/// rebuilt from its row, or why it cannot be).
struct Chunk {
    first: u64,
    hashes: Vec<u8>,
    seqs: Vec<Option<i64>>,
    leaves: Vec<Result<Vec<u8>, String>>,
    /// Whether each leaf was rebuilt from its object row (`#`).
    rebuilt: Vec<bool>,
}

impl Chunk {
    fn from_row(
        conn: &Connection,
        r: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<Result<Chunk, String>> {
        let first = u64::try_from(r.get::<_, i64>(0)?).unwrap_or(u64::MAX);
        let n = usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
        let hashes: Vec<u8> = r.get_ref(2)?.as_bytes()?.to_vec();
        let seq_bytes = r.get_ref(3)?.as_bytes()?;
        // Text or blob: a leaf edited behind the store may have changed type.
        let leaf_bytes = r.get_ref(4)?.as_bytes()?;
        let lines: Vec<&[u8]> = leaf_bytes.split(|&b| b == b'\n').collect();
        if lines.len() != n || seq_bytes.len() != 8 * n {
            return Ok(Err(format!(
                "the chunk of leaves from {first} records {n} leaves but holds {} leaves and {} seqs",
                lines.len(),
                seq_bytes.len() / 8
            )));
        }
        let seqs: Vec<Option<i64>> = seq_bytes
            .chunks_exact(8)
            .map(|b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Some(i64::from_le_bytes(a)).filter(|&s| s != 0)
            })
            .collect();
        let rebuilt = lines.iter().map(|l| *l == b"#").collect();
        let mut leaves = Vec::with_capacity(n);
        for (line, seq) in lines.into_iter().zip(&seqs) {
            leaves.push(match (line, seq) {
                (b"#", Some(seq)) => stored_record(conn, *seq)?,
                (b"#", None) => Err("a rebuilt record without its object's seq".to_owned()),
                (bytes, _) => Ok(bytes.to_vec()),
            });
        }
        Ok(Ok(Chunk {
            first,
            hashes,
            seqs,
            leaves,
            rebuilt,
        }))
    }
}

/// Moves a schema-v3 log (one `ledger` row per leaf) into chunks and
/// drops the old table; part of the v4 migration's transaction.
pub(crate) fn migrate_v3_rows(conn: &Connection) -> rusqlite::Result<()> {
    let mut st = conn.prepare("SELECT idx, leaf, hashes, seq FROM ledger ORDER BY idx")?;
    let mut rows = st.query([])?;
    let mut chunk_insert = conn.prepare(
        "INSERT INTO ledger_chunks (first, n, hashes, seqs, leaves) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut upper_insert = conn.prepare("INSERT INTO ledger_upper (idx, hash) VALUES (?1, ?2)")?;
    let (mut hashes, mut seqs, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
    let mut first = 0u64;
    let mut n = 0u64;
    let mut flush = |first: u64,
                     n: u64,
                     hashes: &mut Vec<u8>,
                     seqs: &mut Vec<u8>,
                     bytes: &mut Vec<u8>|
     -> rusqlite::Result<()> {
        if n > 0 {
            chunk_insert.execute(params![
                to_i64(first)?,
                to_i64(n)?,
                &*hashes,
                &*seqs,
                &*bytes
            ])?;
        }
        hashes.clear();
        seqs.clear();
        bytes.clear();
        Ok(())
    };
    while let Some(r) = rows.next()? {
        let idx = u64::try_from(r.get::<_, i64>(0)?).unwrap_or(u64::MAX);
        let leaf = r.get_ref(1)?.as_bytes()?;
        let stored = r.get_ref(2)?.as_bytes()?;
        let seq: Option<i64> = r.get(3)?;
        if idx != first + n || (n > 0 && idx % BLOCK == 0) {
            flush(first, n, &mut hashes, &mut seqs, &mut bytes)?;
            first = idx;
            n = 0;
        }
        let base = stored_hash_index(0, idx);
        for (k, h) in stored.chunks(HASH_SIZE).enumerate() {
            let s = base + k as u64;
            if split_stored_hash_index(s).0 >= UPPER_LEVEL {
                upper_insert.execute(params![to_i64(s)?, h])?;
            }
        }
        hashes.extend_from_slice(stored);
        seqs.extend_from_slice(&seq.unwrap_or(0).to_le_bytes());
        if n > 0 {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(leaf);
        n += 1;
    }
    flush(first, n, &mut hashes, &mut seqs, &mut bytes)?;
    drop(rows);
    drop(st);
    conn.execute_batch("DROP TABLE ledger")
}

/// A leaf of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Its index.
    pub index: u64,
    /// Its bytes (the record's JCS).
    pub leaf: Vec<u8>,
    /// The object version it records (`in` and `local` records).
    pub seq: Option<i64>,
}

/// One problem [`SqliteStore::ledger_check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerProblem {
    /// The first leaf index concerned.
    pub index: u64,
    /// What is wrong.
    pub reason: String,
}

/// What [`SqliteStore::ledger_check`] recomputed.
#[derive(Debug, Clone)]
pub struct LedgerCheck {
    /// Leaves read.
    pub size: u64,
    /// The root recomputed from the leaves alone at `size`.
    pub root: Hash,
    /// The roots recomputed at the sizes asked for that the log reaches
    /// (see [`SqliteStore::ledger_check_at`]), in increasing size.
    pub roots: Vec<(u64, Hash)>,
    /// Problems, in leaf order (at most 100).
    pub problems: Vec<LedgerProblem>,
}

/// The right edge of a tree being rebuilt leaf by leaf: the complete
/// subtrees of the leaves so far, largest first, with their levels. All a
/// full check needs to keep (at most 64 hashes), whatever the log's size.
#[derive(Default)]
struct Edge(Vec<(u8, Hash)>);

impl Edge {
    /// Appends a leaf hash; returns the stored hashes it completes: the
    /// leaf's own, then one per subtree it closes (the `k`-th at level `k`).
    fn push(&mut self, leaf: Hash) -> Vec<Hash> {
        let mut out = vec![leaf];
        let (mut h, mut level) = (leaf, 0u8);
        while let Some(&(l, left)) = self.0.last() {
            if l != level {
                break;
            }
            self.0.pop();
            h = accord_ledger::node_hash(&left, &h);
            level += 1;
            out.push(h);
        }
        self.0.push((level, h));
        out
    }

    /// RFC 9162 root of the leaves so far: the subtrees folded right to left.
    fn root(&self) -> Hash {
        let mut it = self.0.iter().rev();
        let Some(&(_, last)) = it.next() else {
            return accord_ledger::EMPTY_ROOT;
        };
        it.fold(last, |right, (_, left)| {
            accord_ledger::node_hash(left, &right)
        })
    }
}

/// A checkpoint of a partner's log that this node witnessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    /// The partner.
    pub partner: String,
    /// Tree size.
    pub size: u64,
    /// The signed note as received.
    pub note: Vec<u8>,
    /// When it was received (RFC 3339).
    pub received_at: String,
}

/// An alert raised by witnessing or auditing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its number.
    pub id: i64,
    /// The partner concerned.
    pub partner: String,
    /// `split-view`, `inconsistent`, `rollback`, `audit`…
    pub kind: String,
    /// What happened.
    pub detail: String,
    /// First piece of evidence (a signed note).
    pub first: Option<Vec<u8>>,
    /// Second piece of evidence.
    pub second: Option<Vec<u8>>,
    /// When it was raised (RFC 3339).
    pub time: String,
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl SqliteStore {
    fn lerr(&self, what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let path = self.db_path().to_owned();
        let what = what.to_owned();
        move |source| StoreError::Read { path, what, source }
    }

    fn proof_err(&self, what: &str, e: accord_ledger::Error) -> StoreError {
        StoreError::Read {
            path: self.db_path().to_owned(),
            what: what.to_owned(),
            source: ledger_err(e),
        }
    }

    /// A write connection for the ledger's small tables.
    fn meta_conn(&self) -> Result<Connection, StoreError> {
        let c = Connection::open(self.db_path()).map_err(|source| StoreError::Open {
            path: self.db_path().to_owned(),
            source,
        })?;
        c.busy_timeout(Duration::from_secs(10))
            .map_err(|source| StoreError::Open {
                path: self.db_path().to_owned(),
                source,
            })?;
        Ok(c)
    }

    /// The number of leaves in the log.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_size(&self) -> Result<u64, StoreError> {
        size_of(self.read_conn()).map_err(self.lerr("the ledger size"))
    }

    /// The root of the tree of the first `size` leaves.
    ///
    /// # Errors
    /// [`StoreError::Read`] (also when `size` exceeds the log).
    pub fn ledger_root(&self, size: u64) -> Result<Hash, StoreError> {
        tree_root(
            &ConnHashes::cached(self.read_conn(), self.upper_cache()),
            size,
        )
        .map_err(|e| self.proof_err(&format!("the ledger root at size {size}"), e))
    }

    /// The current size and root, read in one snapshot.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_head(&self) -> Result<(u64, Hash), StoreError> {
        let tx = self
            .read_conn()
            .unchecked_transaction()
            .map_err(self.lerr("a read transaction"))?;
        let size = size_of(&tx).map_err(self.lerr("the ledger size"))?;
        let root = tree_root(&ConnHashes::cached(&tx, self.upper_cache()), size)
            .map_err(|e| self.proof_err("the ledger root", e))?;
        Ok((size, root))
    }

    /// Leaves `from..to` (fewer if the log is shorter).
    ///
    /// # Errors
    /// [`StoreError::Read`], also when a chunk is malformed.
    pub fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<LedgerEntry>, StoreError> {
        let what = "ledger entries";
        let mut st = self
            .read_conn()
            .prepare_cached(
                "SELECT first, n, hashes, seqs, leaves FROM ledger_chunks
                 WHERE first >= coalesce((SELECT first FROM ledger_chunks WHERE first <= ?1
                                          ORDER BY first DESC LIMIT 1), 0)
                   AND first < ?2 ORDER BY first",
            )
            .map_err(self.lerr(what))?;
        let mut rows = st
            .query(params![
                i64::try_from(from).unwrap_or(i64::MAX),
                i64::try_from(to).unwrap_or(i64::MAX)
            ])
            .map_err(self.lerr(what))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(self.lerr(what))? {
            let chunk = Chunk::from_row(self.read_conn(), r)
                .map_err(self.lerr(what))?
                .map_err(|reason| StoreError::Read {
                    path: self.db_path().to_owned(),
                    what: what.to_owned(),
                    source: ledger_err(accord_ledger::Error::Checkpoint { reason }),
                })?;
            for (k, (leaf, seq)) in chunk.leaves.into_iter().zip(chunk.seqs).enumerate() {
                let index = chunk.first + k as u64;
                if (from..to).contains(&index) {
                    let leaf = leaf.map_err(|reason| StoreError::Read {
                        path: self.db_path().to_owned(),
                        what: format!("ledger entry {index}"),
                        source: ledger_err(accord_ledger::Error::Checkpoint { reason }),
                    })?;
                    out.push(LedgerEntry { index, leaf, seq });
                }
            }
        }
        Ok(out)
    }

    /// The leaf hash of `index` and its inclusion proof in the tree of
    /// `size` leaves (RFC 9162 §2.1.3).
    ///
    /// # Errors
    /// [`StoreError::Read`] (also when `index >= size` or `size` exceeds
    /// the log).
    pub fn ledger_inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(Hash, Vec<Hash>), StoreError> {
        let what = format!("the inclusion proof of leaf {index} at size {size}");
        // One read transaction: one snapshot, and the locks taken once
        // rather than per statement.
        let tx = self
            .read_conn()
            .unchecked_transaction()
            .map_err(self.lerr("a read transaction"))?;
        let r = ConnHashes::cached(&tx, self.upper_cache());
        let proof = inclusion_proof(&r, index, size).map_err(|e| self.proof_err(&what, e))?;
        let leaf = r
            .read_hashes(&[stored_hash_index(0, index)])
            .map_err(self.lerr(&what))?;
        Ok((leaf[0], proof))
    }

    /// The consistency proof between sizes `first` and `second` (RFC 9162
    /// §2.1.4).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let tx = self
            .read_conn()
            .unchecked_transaction()
            .map_err(self.lerr("a read transaction"))?;
        consistency_proof(&ConnHashes::cached(&tx, self.upper_cache()), first, second).map_err(
            |e| {
                self.proof_err(
                    &format!("the consistency proof from {first} to {second}"),
                    e,
                )
            },
        )
    }

    /// The bytes of a C2SP tile or entry bundle, if the log has grown far
    /// enough to hold it (`None` otherwise).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError> {
        let size = self.ledger_size()?;
        let w = u64::from(tile.width);
        match tile.kind {
            TileKind::Entries => {
                let start = tile.index * 256;
                if start + w > size {
                    return Ok(None);
                }
                let entries = self.ledger_entries(start, start + w)?;
                let leaves: Vec<&[u8]> = entries.iter().map(|e| e.leaf.as_slice()).collect();
                accord_ledger::tiles::entry_bundle(&leaves)
                    .map(Some)
                    .map_err(|e| self.proof_err("an entry bundle", e))
            }
            TileKind::Hashes { level } => {
                let shift = 8 * u32::from(level);
                let need = (tile.index * 256 + w)
                    .checked_shl(shift)
                    .unwrap_or(u64::MAX);
                if shift >= 64 || need > size {
                    return Ok(None);
                }
                accord_ledger::tiles::tile_bytes(
                    &ConnHashes::cached(self.read_conn(), self.upper_cache()),
                    tile,
                )
                .map(Some)
                .map_err(|e| self.proof_err(&format!("tile {}", tile.path()), e))
            }
        }
    }

    /// Recomputes every stored hash from the leaves alone and compares:
    /// each leaf must be a valid record in canonical form, its stored
    /// hashes must be the recomputed ones, and a record of a stored object
    /// must carry the SHA-256 of that object's exact bytes (when the object
    /// is still there). Reads the whole log, in one pass; memory is the
    /// tree's right edge plus the upper-level hashes (1 in 256), not every
    /// hash.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_check(&self) -> Result<LedgerCheck, StoreError> {
        self.ledger_check_at(&[])
    }

    /// [`SqliteStore::ledger_check`], also giving the roots recomputed at
    /// `sizes` (a signed checkpoint's size, say) in [`LedgerCheck::roots`].
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_check_at(&self, sizes: &[u64]) -> Result<LedgerCheck, StoreError> {
        const MAX: usize = 100;
        let tx = self
            .read_conn()
            .unchecked_transaction()
            .map_err(self.lerr("a read transaction"))?;
        let mut st = tx
            .prepare("SELECT first, n, hashes, seqs, leaves FROM ledger_chunks ORDER BY first")
            .map_err(self.lerr("the ledger"))?;
        let mut object = tx
            .prepare("SELECT raw FROM objects WHERE seq = ?1")
            .map_err(self.lerr("an object"))?;
        let mut rows = st.query([]).map_err(self.lerr("the ledger"))?;
        let mut edge = Edge::default();
        // The recomputed hashes of level UPPER_LEVEL and up, by index.
        let mut upper: Vec<(u64, Hash)> = Vec::new();
        let mut wanted: Vec<u64> = sizes.iter().copied().filter(|&n| n > 0).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut wanted = wanted.into_iter().peekable();
        let mut roots = Vec::new();
        if sizes.contains(&0) {
            roots.push((0, accord_ledger::EMPTY_ROOT));
        }
        let mut problems = Vec::new();
        let mut size = 0u64;
        let mut bad_leaf = false;
        let problem = |problems: &mut Vec<LedgerProblem>, index, reason: String| {
            if problems.len() < MAX {
                problems.push(LedgerProblem { index, reason });
            }
        };
        'chunks: while let Some(r) = rows.next().map_err(self.lerr("the ledger"))? {
            let chunk = match Chunk::from_row(&tx, r).map_err(self.lerr("a ledger chunk"))? {
                Ok(c) => c,
                Err(reason) => {
                    problem(&mut problems, size, reason);
                    break;
                }
            };
            if chunk.first != size {
                problem(
                    &mut problems,
                    size,
                    format!(
                        "leaf {size} is missing (next stored leaf is {})",
                        chunk.first
                    ),
                );
                break;
            }
            let base = stored_hash_index(0, chunk.first);
            for ((leaf, seq), &was_rebuilt) in
                chunk.leaves.iter().zip(&chunk.seqs).zip(&chunk.rebuilt)
            {
                let idx = size;
                let lo = usize::try_from(stored_hash_index(0, idx) - base).unwrap_or(usize::MAX);
                let stored_leaf_hash = lo
                    .checked_mul(HASH_SIZE)
                    .and_then(|lo| chunk.hashes.get(lo..lo + HASH_SIZE))
                    .and_then(|h| Hash::from_slice(h).ok());
                let Some(stored_leaf_hash) = stored_leaf_hash else {
                    problem(
                        &mut problems,
                        idx,
                        "the chunk holding this leaf lacks its stored hashes".to_owned(),
                    );
                    break 'chunks;
                };
                // A record rebuilt from its object row carries the object's
                // current bytes: a changed object shows as a changed leaf.
                let rebuilt = leaf.is_ok() && was_rebuilt;
                let leaf_hash = match leaf {
                    Ok(leaf) => {
                        match ExchangeRecord::from_leaf_bytes(leaf) {
                            Ok(rec) => {
                                let raw: Option<String> = match seq {
                                    Some(seq) if !rebuilt => object
                                        .query_row([seq], |r| r.get(0))
                                        .optional()
                                        .map_err(self.lerr("an object"))?,
                                    _ => None,
                                };
                                if let (Some(seq), Some(raw)) = (seq, &raw) {
                                    let h = Hash(sha2::Sha256::digest(raw.as_bytes()).into());
                                    if h.to_hex() != rec.sha256 {
                                        problem(
                                            &mut problems,
                                            idx,
                                            format!(
                                                "object `{}` (seq {seq}) no longer has the bytes recorded (sha256 {} recorded, {} stored)",
                                                rec.object_id,
                                                rec.sha256,
                                                h.to_hex()
                                            ),
                                        );
                                    }
                                }
                            }
                            Err(e) => {
                                problem(&mut problems, idx, format!("not a canonical record: {e}"))
                            }
                        }
                        accord_ledger::leaf_hash(leaf)
                    }
                    Err(reason) => {
                        // Go on with the stored leaf hash, so the leaves
                        // after this one are still checked.
                        bad_leaf = true;
                        problem(&mut problems, idx, reason.clone());
                        stored_leaf_hash
                    }
                };
                if leaf.is_ok() && leaf_hash != stored_leaf_hash {
                    bad_leaf = true;
                    problem(
                        &mut problems,
                        idx,
                        if rebuilt {
                            "the record rebuilt from its object does not hash to its stored leaf hash: the object's bytes or its ledger source were changed".to_owned()
                        } else {
                            "the leaf does not hash to its stored leaf hash".to_owned()
                        },
                    );
                }
                let first_index = stored_hash_index(0, idx);
                let completed = edge.push(leaf_hash);
                let lo = usize::try_from(first_index - base).unwrap_or(usize::MAX);
                let Some(stored) = lo
                    .checked_mul(HASH_SIZE)
                    .and_then(|lo| chunk.hashes.get(lo..lo + completed.len() * HASH_SIZE))
                else {
                    problem(
                        &mut problems,
                        idx,
                        "the chunk holding this leaf lacks its stored hashes".to_owned(),
                    );
                    break 'chunks;
                };
                let mut recomputed = Vec::with_capacity(stored.len());
                for h in &completed {
                    recomputed.extend_from_slice(h.as_bytes());
                }
                if stored.get(..HASH_SIZE) != recomputed.get(..HASH_SIZE) {
                    // Named above.
                } else if recomputed != stored && !bad_leaf {
                    // After a bad leaf every subtree above it differs too:
                    // only the first cause is named.
                    problem(
                        &mut problems,
                        idx,
                        "a stored subtree hash differs from the recomputed one".to_owned(),
                    );
                }
                upper.extend(
                    (first_index..)
                        .zip(completed)
                        .skip(usize::from(UPPER_LEVEL)),
                );
                size += 1;
                if wanted.next_if_eq(&size).is_some() {
                    roots.push((size, edge.root()));
                }
            }
            if chunk.hashes.len() != (stored_hash_index(0, size) - base) as usize * HASH_SIZE {
                problem(
                    &mut problems,
                    chunk.first,
                    "the chunk holds more stored hashes than its leaves complete".to_owned(),
                );
            }
        }
        drop(rows);
        // The upper levels' copies must be exactly the recomputed hashes.
        let mut st = tx
            .prepare("SELECT idx, hash FROM ledger_upper ORDER BY idx")
            .map_err(self.lerr("the ledger's upper levels"))?;
        let mut rows = st
            .query([])
            .map_err(self.lerr("the ledger's upper levels"))?;
        let mut expected = upper.iter().map(|&(i, _)| i).peekable();
        while let Some(r) = rows
            .next()
            .map_err(self.lerr("the ledger's upper levels"))?
        {
            let idx = u64::try_from(r.get::<_, i64>(0).map_err(self.lerr("an upper hash"))?)
                .unwrap_or(u64::MAX);
            let h = r.get_ref(1).and_then(|v| v.as_bytes().map_err(Into::into));
            let h = h.map_err(self.lerr("an upper hash"))?;
            let (level, k) = split_stored_hash_index(idx);
            let leaf = completing_leaf(idx);
            while let Some(e) = expected.next_if(|&e| e < idx) {
                let (l, k) = split_stored_hash_index(e);
                problem(
                    &mut problems,
                    completing_leaf(e),
                    format!(
                        "the upper-level copy of the stored hash of level {l} index {k} is missing"
                    ),
                );
            }
            let _ = expected.next_if_eq(&idx);
            let ok = upper
                .binary_search_by_key(&idx, |&(i, _)| i)
                .is_ok_and(|at| upper[at].1.as_bytes()[..] == *h);
            if !ok && !bad_leaf {
                problem(
                    &mut problems,
                    leaf,
                    format!(
                        "the stored hash of level {level} index {k} (upper levels) differs from the recomputed one"
                    ),
                );
            }
        }
        if expected.next().is_some() {
            problem(
                &mut problems,
                size,
                "upper-level copies of stored hashes are missing at the end of the log".to_owned(),
            );
        }
        Ok(LedgerCheck {
            size,
            root: edge.root(),
            roots,
            problems,
        })
    }

    /// Appends `leaves` as they are (not exchange records) in one
    /// transaction of its own, and returns the new size. Only for building
    /// large benchmark fixtures (a 10⁸-leaf log of real records would not
    /// fit on the benchmark machine's disk); a node never calls it.
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    #[cfg(feature = "bench-fixtures")]
    pub fn ledger_append_synthetic(&self, leaves: &[Vec<u8>]) -> Result<u64, StoreError> {
        let mut conn = self.meta_conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(self.lerr("a write transaction"))?;
        let size = size_of(&tx).map_err(self.lerr("the ledger size"))?;
        let new: Vec<NewLeaf<'_>> = leaves
            .iter()
            .map(|l| NewLeaf {
                bytes: l,
                hash: accord_ledger::leaf_hash(l),
                seq: None,
                rebuild: false,
            })
            .collect();
        let appended = append(&tx, size, &new).map_err(self.lerr("appending leaves"))?;
        tx.commit().map_err(self.lerr("committing leaves"))?;
        Ok(appended.new_size)
    }

    /// Saves a signed checkpoint of this log (idempotent per size).
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    pub fn ledger_save_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.meta_conn()?
            .execute(
                "INSERT OR IGNORE INTO ledger_checkpoints (size, note, signed_at) VALUES (?1, ?2, ?3)",
                params![size as i64, note, now_micros()],
            )
            .map(|_| ())
            .map_err(self.lerr("saving a checkpoint"))
    }

    /// The latest signed checkpoint of this log: (size, note).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.read_conn()
            .query_row(
                "SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| Ok((u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), r.get(1)?)),
            )
            .optional()
            .map_err(self.lerr("the latest checkpoint"))
    }

    /// The signed checkpoint of this log at `size`, if one was signed.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_conn()
            .query_row(
                "SELECT note FROM ledger_checkpoints WHERE size = ?1",
                [size as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.lerr("a checkpoint"))
    }

    /// Keeps a witness's cosignature line (`— name base64`) on the
    /// checkpoint of `size` (replacing an older one by the same key).
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    pub fn ledger_add_cosignature(
        &self,
        size: u64,
        witness: &str,
        key_id: u32,
        line: &str,
    ) -> Result<(), StoreError> {
        self.meta_conn()?
            .execute(
                "INSERT OR REPLACE INTO ledger_cosignatures (size, witness, key_id, line, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![size as i64, witness, i64::from(key_id), line, now_micros()],
            )
            .map(|_| ())
            .map_err(self.lerr("saving a cosignature"))
    }

    /// The cosignature lines held for the checkpoint of `size`, by witness
    /// name.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .read_conn()
            .prepare_cached(
                "SELECT line FROM ledger_cosignatures WHERE size = ?1 ORDER BY witness, key_id",
            )
            .map_err(self.lerr("cosignatures"))?;
        st.query_map([size as i64], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(self.lerr("cosignatures"))
    }

    /// Keeps a partner's checkpoint this node witnessed.
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    pub fn ledger_save_witnessed(
        &self,
        partner: &str,
        size: u64,
        root: &Hash,
        note: &[u8],
    ) -> Result<(), StoreError> {
        self.meta_conn()?
            .execute(
                "INSERT OR IGNORE INTO ledger_witnessed (partner, size, root, note, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![partner, size as i64, &root.0[..], note, now_micros()],
            )
            .map(|_| ())
            .map_err(self.lerr("saving a witnessed checkpoint"))
    }

    /// The partner's checkpoint witnessed at `size`, or (with `None`) the
    /// largest one.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_witnessed(
        &self,
        partner: &str,
        size: Option<u64>,
    ) -> Result<Option<Witnessed>, StoreError> {
        let sql = if size.is_some() {
            "SELECT size, note, received_at FROM ledger_witnessed WHERE partner = ?1 AND size = ?2"
        } else {
            "SELECT size, note, received_at FROM ledger_witnessed WHERE partner = ?1 AND ?2 IS NULL
             ORDER BY size DESC LIMIT 1"
        };
        self.read_conn()
            .query_row(sql, params![partner, size.map(|s| s as i64)], |r| {
                Ok(Witnessed {
                    partner: partner.to_owned(),
                    size: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    note: r.get(1)?,
                    received_at: format_micros(r.get(2)?),
                })
            })
            .optional()
            .map_err(self.lerr("a witnessed checkpoint"))
    }

    /// Raises an alert (kept with its evidence).
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    pub fn ledger_add_alert(
        &self,
        partner: &str,
        kind: &str,
        detail: &str,
        first: Option<&[u8]>,
        second: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.meta_conn()?
            .execute(
                "INSERT INTO ledger_alerts (partner, kind, detail, first, second, time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![partner, kind, detail, first, second, now_micros()],
            )
            .map(|_| ())
            .map_err(self.lerr("saving an alert"))
    }

    /// Every alert, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn ledger_alerts(&self) -> Result<Vec<Alert>, StoreError> {
        let mut st = self
            .read_conn()
            .prepare_cached(
                "SELECT id, partner, kind, detail, first, second, time FROM ledger_alerts ORDER BY id",
            )
            .map_err(self.lerr("alerts"))?;
        st.query_map([], |r| {
            Ok(Alert {
                id: r.get(0)?,
                partner: r.get(1)?,
                kind: r.get(2)?,
                detail: r.get(3)?,
                first: r.get(4)?,
                second: r.get(5)?,
                time: format_micros(r.get(6)?),
            })
        })
        .and_then(Iterator::collect)
        .map_err(self.lerr("alerts"))
    }
}

use sha2::Digest as _;

#[cfg(test)]
mod tests {
    use super::*;
    use accord_ledger::append_leaves;

    /// A log written in the v3 layout (one row per leaf) reads the same
    /// after the v4 migration moved it into chunks.
    #[test]
    fn v3_rows_migrate_into_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sqlite");
        let mut conn = Connection::open(&path).unwrap();
        crate::schema::migrate(&mut conn, &path, 3).unwrap();
        let size = 700u64;
        let leaves: Vec<Vec<u8>> = (0..size)
            .map(|i| format!("{{\"leaf\":{i}}}").into_bytes())
            .collect();
        let appended = append_leaves(&[][..], 0, &leaves).unwrap();
        let mut at = 0usize;
        for (i, leaf) in leaves.iter().enumerate() {
            let n = 1 + (i as u64).trailing_ones() as usize;
            let blob: Vec<u8> = appended.hashes[at..at + n]
                .iter()
                .flat_map(|h| h.0)
                .collect();
            at += n;
            conn.execute(
                "INSERT INTO ledger (idx, leaf, hashes, seq) VALUES (?1, ?2, ?3, ?4)",
                params![i as i64, leaf, blob, (i % 3 != 0).then_some(i as i64 + 1)],
            )
            .unwrap();
        }
        crate::schema::migrate(&mut conn, &path, 4).unwrap();
        assert_eq!(size_of(&conn).unwrap(), size);
        let all: Vec<u64> = (0..appended.hashes.len() as u64).collect();
        assert_eq!(
            ConnHashes::new(&conn).read_hashes(&all).unwrap(),
            appended.hashes
        );
        // Chunks stop at 256-leaf boundaries.
        let firsts: Vec<i64> = conn
            .prepare("SELECT first FROM ledger_chunks ORDER BY first")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(firsts, vec![0, 256, 512]);
        let upper: i64 = conn
            .query_row("SELECT count(*) FROM ledger_upper", [], |r| r.get(0))
            .unwrap();
        assert_eq!(upper, 3, "levels 8 (twice) and 9");
        assert!(
            conn.query_row(
                "SELECT 1 FROM sqlite_schema WHERE name = 'ledger'",
                [],
                |_| Ok(())
            )
            .optional()
            .unwrap()
            .is_none()
        );
    }

    /// Appends in pieces of every awkward size land in chunks that never
    /// cross a 256-leaf block and read back exactly.
    #[test]
    fn appends_in_pieces_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sqlite");
        let mut conn = Connection::open(&path).unwrap();
        crate::schema::migrate(&mut conn, &path, crate::schema::LATEST).unwrap();
        let mut all_leaves: Vec<Vec<u8>> = Vec::new();
        let mut size = 0u64;
        for piece in [1usize, 2, 255, 3, 300, 1, 511, 40] {
            let leaves: Vec<Vec<u8>> = (0..piece)
                .map(|i| format!("{{\"n\":{}}}", size + i as u64).into_bytes())
                .collect();
            let new: Vec<NewLeaf<'_>> = leaves
                .iter()
                .enumerate()
                .map(|(i, l)| NewLeaf {
                    bytes: l,
                    hash: accord_ledger::leaf_hash(l),
                    seq: Some(size as i64 + i as i64 + 1),
                    rebuild: false,
                })
                .collect();
            let tx = conn.unchecked_transaction().unwrap();
            let a = append(&tx, size, &new).unwrap();
            tx.commit().unwrap();
            size = a.new_size;
            all_leaves.extend(leaves);
        }
        assert_eq!(size_of(&conn).unwrap(), size);
        let expected = append_leaves(&[][..], 0, &all_leaves).unwrap();
        let all: Vec<u64> = (0..expected.hashes.len() as u64).collect();
        assert_eq!(
            ConnHashes::new(&conn).read_hashes(&all).unwrap(),
            expected.hashes
        );
        assert_eq!(
            tree_root(&ConnHashes::new(&conn), size).unwrap(),
            tree_root(&expected.hashes[..], size).unwrap()
        );
        let crossing: i64 = conn
            .query_row(
                "SELECT count(*) FROM ledger_chunks WHERE first / 256 != (first + n - 1) / 256",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(crossing, 0);
        assert!(
            ConnHashes::new(&conn)
                .read_hashes(&[expected.hashes.len() as u64])
                .is_err()
        );
    }

    #[test]
    fn completing_leaves() {
        // Leaf 3 closes levels 1 and 2: it completes indexes 4, 5, 6.
        assert_eq!(stored_hash_index(0, 3), 4);
        assert_eq!(completing_leaf(4), 3);
        assert_eq!(completing_leaf(5), 3);
        assert_eq!(completing_leaf(6), 3);
        assert_eq!(completing_leaf(stored_hash_index(1, 0)), 1);
        assert_eq!(completing_leaf(stored_hash_index(0, 6)), 6);
        assert_eq!(completing_leaf(stored_hash_index(8, 1)), 511);
    }
}
