//! The ledger's stored hashes read through a connection: levels 0–7 from
//! the chunks, the upper levels from `ledger_upper` (through a cache shared
//! by a store's read connections).

use super::{UPPER_LEVEL, hash_at, not_stored, to_i64};
use accord_ledger::{
    Hash, HashReader, completing_leaf, split_stored_hash_index, stored_hash_index,
};
use rusqlite::{Connection, OptionalExtension};

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
