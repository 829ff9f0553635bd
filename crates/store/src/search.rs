//! A search index beside the store: terms (a value, a label, a TLP level,
//! an origin) → the `seq`s of the object versions that carry them, so the
//! dashboard finds an object by value over the whole history instead of a
//! bounded scan of the newest rows.
//!
//! It is derived data, kept in a database file of its own
//! ([`SEARCH_FILE_NAME`] in the data directory) so that building it never
//! takes the store's write lock: ingest runs at the same speed with or
//! without it. An indexer follows the store by `seq`
//! ([`SearchIndex::catch_up`]); what it has not reached yet
//! ([`SearchIndex::indexed_through`]) is left to the caller to scan. Lost
//! or unreadable, the file is rebuilt from the store; a deleted version
//! leaves stale `seq`s that read back as nothing. The terms are the
//! caller's ([`Terms`]): the store knows no STIX semantics.

use crate::{ObjectRead, StoreError, StoredObject};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The index's file in the data directory.
pub const SEARCH_FILE_NAME: &str = "search.sqlite";

/// The longest term kept (longer values are cut at a character boundary;
/// a prefix search still finds them).
pub const MAX_TERM_BYTES: usize = 256;

/// What to index of one object version: its terms (the caller's
/// vocabulary, e.g. `v:198.51.100.7`, `l:phishing`), at most a few
/// hundred.
pub type Terms<'a> = dyn Fn(&StoredObject) -> Vec<String> + Send + Sync + 'a;

/// The search index of one store.
pub struct SearchIndex {
    path: PathBuf,
    conn: Mutex<Connection>,
    rebuilt: Option<String>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .finish()
    }
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS terms (
        term TEXT NOT NULL,
        seq  INTEGER NOT NULL,
        PRIMARY KEY (term, seq)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS progress (
        id  INTEGER PRIMARY KEY CHECK (id = 0),
        seq INTEGER NOT NULL
    );
";

/// The versions read per indexing transaction.
const PAGE: usize = 2_000;

impl SearchIndex {
    /// Opens (or creates) the index of the store in `dir`. A file that
    /// cannot be read as an index is removed and started again: it holds
    /// nothing the store does not.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file can be neither opened nor made.
    pub fn open(dir: &Path) -> Result<SearchIndex, StoreError> {
        let path = dir.join(SEARCH_FILE_NAME);
        let mut rebuilt = None;
        let conn = match open_conn(&path) {
            Ok(c) => c,
            Err(first) => {
                rebuilt = Some(first.to_string());
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                open_conn(&path).map_err(|source| StoreError::Open {
                    path: path.clone(),
                    source,
                })?
            }
        };
        Ok(SearchIndex {
            path,
            conn: Mutex::new(conn),
            rebuilt,
        })
    }

    /// Why the file found was started again (it could not be read as an
    /// index), for the caller to log.
    pub fn rebuilt(&self) -> Option<&str> {
        self.rebuilt.as_deref()
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn err(&self, what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let (path, what) = (self.path.clone(), what.into());
        move |source| StoreError::Read { path, what, source }
    }

    /// The highest `seq` indexed: versions above it are not in the index
    /// yet.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn indexed_through(&self) -> Result<i64, StoreError> {
        self.conn()
            .query_row("SELECT seq FROM progress WHERE id = 0", [], |r| r.get(0))
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(self.err("the search index's progress"))
    }

    /// Indexes the versions stored since the last call, at most `budget`
    /// of them (one transaction per page), reading `store`; returns how
    /// many were indexed.
    ///
    /// # Errors
    /// [`StoreError::Read`] from the store or the index.
    pub fn catch_up(
        &self,
        store: &dyn ObjectRead,
        terms: &Terms<'_>,
        budget: usize,
    ) -> Result<usize, StoreError> {
        let mut done = 0;
        while done < budget {
            let after = self.indexed_through()?;
            let page = store.objects_after(after, PAGE.min(budget - done))?;
            let Some(last) = page.last().map(|o| o.seq) else {
                break;
            };
            let mut conn = self.conn();
            let tx = conn
                .transaction()
                .map_err(self.err("a search index transaction"))?;
            {
                let mut ins = tx
                    .prepare_cached("INSERT OR IGNORE INTO terms (term, seq) VALUES (?1, ?2)")
                    .map_err(self.err("indexing terms"))?;
                for o in &page {
                    for t in terms(o) {
                        ins.execute(params![cut(&t), o.seq])
                            .map_err(self.err(format!("indexing seq {}", o.seq)))?;
                    }
                }
                tx.execute(
                    "INSERT INTO progress (id, seq) VALUES (0, ?1)
                     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
                    [last],
                )
                .map_err(self.err("the search index's progress"))?;
            }
            tx.commit()
                .map_err(self.err("committing the search index"))?;
            done += page.len();
        }
        Ok(done)
    }

    /// The `seq`s of the versions carrying `term`, below `before`, newest
    /// first, at most `limit` (one range of the primary key).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn seqs(&self, term: &str, before: i64, limit: usize) -> Result<Vec<i64>, StoreError> {
        let term = cut(term);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn()
            .prepare_cached(
                "SELECT seq FROM terms WHERE term = ?1 AND seq < ?2
                 ORDER BY seq DESC LIMIT ?3",
            )
            .and_then(|mut st| {
                st.query_map(params![term, before, limit], |r| r.get(0))?
                    .collect()
            })
            .map_err(self.err(format!("the search index for `{term}`")))
    }

    /// The `seq`s of the versions carrying a term that starts with
    /// `prefix` and is longer than it, in the order of the terms (not of
    /// time: a short prefix may match millions, so they are not sorted),
    /// at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn seqs_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<i64>, StoreError> {
        let prefix = cut(prefix);
        // Every term in (prefix, prefix + U+10FFFF): a range of the
        // primary key.
        let hi = format!("{prefix}\u{10FFFF}");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn()
            .prepare_cached("SELECT seq FROM terms WHERE term > ?1 AND term < ?2 LIMIT ?3")
            .and_then(|mut st| {
                st.query_map(params![prefix, hi, limit], |r| r.get(0))?
                    .collect()
            })
            .map_err(self.err(format!("the search index for `{prefix}…`")))
    }
}

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // Derived data: rebuilt from the store if lost, so no fsync per page.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.execute_batch(SCHEMA)?;
    // Reading it proves the file is an index.
    conn.query_row("SELECT count(*) FROM progress", [], |r| r.get::<_, i64>(0))?;
    Ok(conn)
}

/// `t` cut to [`MAX_TERM_BYTES`] at a character boundary.
fn cut(t: &str) -> &str {
    if t.len() <= MAX_TERM_BYTES {
        return t;
    }
    let mut end = MAX_TERM_BYTES;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    &t[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SqliteStore, Store};

    fn store_with(n: usize) -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let objs: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--{:08x}-0000-4000-8000-000000000000","value":"10.0.{}.{}"}}"#,
                    i,
                    i / 256,
                    i % 256
                )
            })
            .collect();
        let news: Vec<crate::NewObject<'_>> = objs
            .iter()
            .map(|raw| {
                let id = &raw[raw.find("ipv4-addr--").unwrap()..][..47];
                crate::NewObject {
                    collection: "c",
                    id,
                    type_name: "ipv4-addr",
                    spec_version: "2.1",
                    created: None,
                    modified: None,
                    markings: Vec::new(),
                    raw,
                    origin: "test",
                }
            })
            .collect();
        store.put_batch(&news).unwrap();
        (dir, store)
    }

    fn value_terms(o: &StoredObject) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(&o.raw).unwrap();
        vec![format!("v:{}", v["value"].as_str().unwrap())]
    }

    #[test]
    fn follows_the_store_and_finds_by_term_and_prefix() {
        let (dir, store) = store_with(5_000);
        let index = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(index.indexed_through().unwrap(), 0);
        assert_eq!(index.catch_up(&store, &value_terms, 3_000).unwrap(), 3_000);
        let through = index.indexed_through().unwrap();
        assert_eq!(index.catch_up(&store, &value_terms, 10_000).unwrap(), 2_000);
        assert!(index.indexed_through().unwrap() > through);
        assert_eq!(index.catch_up(&store, &value_terms, 10_000).unwrap(), 0);
        let exact = index.seqs("v:10.0.1.2", i64::MAX, 10).unwrap();
        assert_eq!(exact.len(), 1);
        let got = store.objects_by_seq(&exact).unwrap();
        assert!(got[0].raw.contains("\"10.0.1.2\""));
        assert!(index.seqs("v:10.0.1.2", exact[0], 10).unwrap().is_empty());
        // Longer than 10.0.1.2: 10.0.1.20…29, 10.0.1.200…255.
        let prefix = index.seqs_with_prefix("v:10.0.1.2", 1_000).unwrap();
        assert_eq!(prefix.len(), 10 + 56);
        assert!(!prefix.contains(&exact[0]));
        assert_eq!(index.seqs_with_prefix("v:10.0.1.2", 5).unwrap().len(), 5);
        assert!(index.seqs_with_prefix("v:10.9", 10).unwrap().is_empty());
        // Reopened: its progress is kept.
        drop(index);
        let index = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(index.catch_up(&store, &value_terms, 10_000).unwrap(), 0);
    }

    #[test]
    fn an_unreadable_file_is_rebuilt() {
        let (dir, store) = store_with(10);
        std::fs::write(dir.path().join(SEARCH_FILE_NAME), b"not a database at all").unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        assert!(index.rebuilt().is_some());
        assert_eq!(index.indexed_through().unwrap(), 0);
        assert_eq!(index.catch_up(&store, &value_terms, 100).unwrap(), 10);
    }

    #[test]
    fn long_terms_are_cut_at_a_character_boundary() {
        let t = "é".repeat(200);
        let c = cut(&t);
        assert!(c.len() <= MAX_TERM_BYTES && c.len() >= MAX_TERM_BYTES - 1);
        assert!(t.starts_with(c));
    }
}
