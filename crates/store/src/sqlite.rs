//! [`SqliteStore`]: the embedded backend. One [`Writer`] thread owns the
//! write connection; each `SqliteStore` value has its own read connection,
//! which WAL lets run alongside the writer, seeing only committed data.

use crate::prepare::{content_hash, format_micros, id_hash, to_micros};
use crate::schema::{self, LATEST};
use crate::writer::{PAGE_SIZE, Writer};
use crate::{CollectionInfo, Page, Query, RawBuf, RawPage, StoreError, StoredObject};
use accord_stix::{Clock, SystemClock};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The database file's name inside the data directory.
pub const DB_FILE_NAME: &str = "accord.sqlite";

/// How long a connection waits for a lock (only another process writing,
/// or WAL recovery, takes one) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for [`SqliteStore::open_with`].
#[derive(Clone)]
pub struct OpenOptions {
    max_size_bytes: Option<u64>,
    clock: Arc<dyn Clock>,
    create: bool,
    memory_map: bool,
    lazy_writer: bool,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            max_size_bytes: None,
            clock: Arc::new(SystemClock),
            create: true,
            memory_map: true,
            lazy_writer: false,
        }
    }
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("max_size_bytes", &self.max_size_bytes)
            .field("create", &self.create)
            .field("memory_map", &self.memory_map)
            .field("lazy_writer", &self.lazy_writer)
            .finish_non_exhaustive()
    }
}

impl OpenOptions {
    /// The clock given (the system clock by default).
    pub(crate) fn clock_ref(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The size cap given, if any.
    pub(crate) fn max_size(&self) -> Option<u64> {
        self.max_size_bytes
    }

    /// The defaults: no size limit, the system clock, create the store
    /// when it is missing.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// The clock that stamps `date_added`, the ledger records' times and
    /// the times of checkpoints, cosignatures, witnessed checkpoints and
    /// alerts ([`SystemClock`] by default). Whatever it reads, `date_added`
    /// strictly grows with `seq`: a clock standing still or going back
    /// gives each new version the previous one's plus a microsecond.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> OpenOptions {
        self.clock = clock;
        self
    }

    /// Whether a missing store is created (the default) or refused with
    /// [`StoreError::NoStore`]. Commands that only read a node's store
    /// (export, match, the ledger's) open it with `create(false)`, so a
    /// mistyped or empty data directory is an error, not a new empty store;
    /// nothing is created on disk then, not even the directory.
    pub fn create(mut self, create: bool) -> OpenOptions {
        self.create = create;
        self
    }

    /// Whether the read connections memory-map the database file (the
    /// default: a point read of a page in the OS cache costs no system
    /// call). `false` for a command that reads most of a large store once,
    /// such as `accord match` building its index: the pages it reads then
    /// stay in the OS cache instead of counting in its resident memory
    /// (1.2 GiB for a store of 1,000,000 indicators).
    pub fn memory_map(mut self, on: bool) -> OpenOptions {
        self.memory_map = on;
        self
    }

    /// Whether the writer thread starts at the first write rather than
    /// at the open (the default). Starting it reads every stored id into
    /// its filter (a twentieth of a match index build over 1,000,000
    /// indicators, and its page cache stays resident): a command that
    /// mostly reads, such as `accord match`, pays it only when it
    /// writes. The schema is checked and migrated at the open either
    /// way. A writer that then fails to start answers every write with
    /// [`StoreError::WriterStopped`].
    pub fn lazy_writer(mut self, lazy: bool) -> OpenOptions {
        self.lazy_writer = lazy;
        self
    }

    /// Caps the database file at about `bytes`; writes past it fail with
    /// [`StoreError::Full`] as on a full disk. A quota for shared disks,
    /// and the way tests make the disk "full". Change it later with
    /// [`Writer::set_max_size_bytes`].
    pub fn max_size_bytes(mut self, bytes: Option<u64>) -> OpenOptions {
        self.max_size_bytes = bytes;
        self
    }
}

/// The SQLite backend: implements [`Backend`](crate::Backend) (and so
/// [`Store`](crate::Store)). See the crate documentation.
pub struct SqliteStore {
    path: PathBuf,
    /// Shared by the clones of this store.
    writer: Arc<LazyWriter>,
    read: Connection,
    /// Shared by the clones of this store (see `ledger::UpperCache`).
    upper: crate::ledger::UpperCache,
    /// Collection ids already read: a collection's id never changes once
    /// committed (collections are never deleted), so each read need not
    /// look it up in a statement (and a read transaction) of its own.
    coll_ids: RefCell<HashMap<String, i64>>,
    /// [`OpenOptions::memory_map`], for the read connections of clones.
    memory_map: bool,
    /// The connection that writes sync state (cursors, partner health),
    /// opened on first use and kept: opening one per write (and reading
    /// the schema again) was most of an idle sync round's CPU.
    pub(crate) sync: RefCell<Option<rusqlite::Connection>>,
}

/// The writer, started at the open or at the first use
/// ([`OpenOptions::lazy_writer`]).
struct LazyWriter {
    started: std::sync::OnceLock<Writer>,
    /// Until then: the migrated write connection, and what starting needs.
    pending: std::sync::Mutex<Option<Connection>>,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    max_size_bytes: Option<u64>,
}

impl LazyWriter {
    fn get(&self) -> &Writer {
        self.started.get_or_init(|| {
            let conn = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let started = conn
                .ok_or_else(|| StoreError::WriterStopped {
                    path: self.path.clone(),
                })
                .and_then(|c| Writer::start(c, self.path.clone(), Arc::clone(&self.clock)))
                .and_then(|w| {
                    if self.max_size_bytes.is_some() {
                        w.set_max_size_bytes(self.max_size_bytes)?;
                    }
                    Ok(w)
                });
            started.unwrap_or_else(|e| {
                Writer::stopped(self.path.clone(), Arc::clone(&self.clock), e.to_string())
            })
        })
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How [`SqliteStore::run_query`] reads a row's seq and its JSON's size.
type SeqAndSize<T> = (fn(&T) -> i64, fn(&T) -> usize);

impl SqliteStore {
    /// Opens the store in `dir` (creating the directory and the database
    /// `accord.sqlite` if needed), migrates its schema forward and starts
    /// its writer thread.
    ///
    /// # Errors
    /// [`StoreError::CreateDir`], [`StoreError::Open`],
    /// [`StoreError::NotAccord`] for another program's SQLite file,
    /// [`StoreError::TooNew`] for a database of a newer Accord (left
    /// untouched), [`StoreError::Migrate`] (rolled back).
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(dir, &OpenOptions::new())
    }

    /// [`SqliteStore::open`] with options.
    ///
    /// # Errors
    /// As [`SqliteStore::open`]; [`StoreError::NoStore`] when `dir` holds
    /// no store and [`OpenOptions::create`] is false.
    pub fn open_with(dir: &Path, opts: &OpenOptions) -> Result<SqliteStore, StoreError> {
        if !opts.create && !dir.join(DB_FILE_NAME).is_file() {
            return Err(StoreError::NoStore {
                dir: dir.to_owned(),
                dir_exists: dir.is_dir(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(DB_FILE_NAME);
        let mut conn = open_writer(&path)?;
        schema::migrate(&mut conn, &path, LATEST)?;
        let writer = Arc::new(LazyWriter {
            started: std::sync::OnceLock::new(),
            pending: std::sync::Mutex::new(None),
            path: path.clone(),
            clock: Arc::clone(&opts.clock),
            max_size_bytes: opts.max_size_bytes,
        });
        if opts.lazy_writer {
            *writer
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(conn);
        } else {
            let w = Writer::start(conn, path.clone(), Arc::clone(&opts.clock))?;
            if opts.max_size_bytes.is_some() {
                w.set_max_size_bytes(opts.max_size_bytes)?;
            }
            let _ = writer.started.set(w);
        }
        let read = open_reader(&path, opts.memory_map)?;
        Ok(SqliteStore {
            path,
            writer,
            read,
            upper: crate::ledger::UpperCache::default(),
            coll_ids: RefCell::default(),
            memory_map: opts.memory_map,
            sync: RefCell::default(),
        })
    }

    /// Another handle on the same database, for another thread: it shares
    /// the writer (so group commit spans both) and has its own read
    /// connection.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the read connection cannot be opened.
    pub fn try_clone(&self) -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore {
            path: self.path.clone(),
            writer: Arc::clone(&self.writer),
            read: open_reader(&self.path, self.memory_map)?,
            upper: self.upper.clone(),
            coll_ids: RefCell::default(),
            memory_map: self.memory_map,
            sync: RefCell::default(),
        })
    }

    /// The group-commit writer, to clone into submitter threads.
    pub fn writer(&self) -> &Writer {
        self.writer.get()
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.path
    }

    /// This handle's read connection.
    pub(crate) fn read_conn(&self) -> &Connection {
        &self.read
    }

    pub(crate) fn upper_cache(&self) -> &crate::ledger::UpperCache {
        &self.upper
    }

    fn read_err(&self, what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let path = self.path.clone();
        let what = what.into();
        move |source| StoreError::Read { path, what, source }
    }

    fn coll_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        if let Some(&c) = self.coll_ids.borrow().get(name) {
            return Ok(Some(c));
        }
        let c: Option<i64> = self
            .read
            .prepare_cached("SELECT coll_id FROM collections WHERE name = ?1")
            .and_then(|mut st| st.query_row([name], |r| r.get(0)).optional())
            .map_err(self.read_err(format!("collection `{name}`")))?;
        if let Some(c) = c {
            self.coll_ids.borrow_mut().insert(name.to_owned(), c);
        }
        Ok(c)
    }

    /// The seq of the first object added after `micros`, by a binary
    /// search over seq (the rowid): `date_added` strictly grows with seq,
    /// so this is a few dozen rowid seeks at any size, without an index.
    fn first_seq_added_after(&self, micros: i64) -> rusqlite::Result<Option<i64>> {
        let mut at = self.read.prepare_cached(
            "SELECT seq, date_added FROM objects WHERE seq >= ?1 ORDER BY seq LIMIT 1",
        )?;
        // The first row at or past `seq`: (its seq, its date_added).
        let mut row_at = |seq: i64| -> rusqlite::Result<Option<(i64, i64)>> {
            at.query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        };
        let Some((mut lo, _)) = row_at(i64::MIN)? else {
            return Ok(None);
        };
        let Some((last, last_date)) = self
            .read
            .prepare_cached("SELECT seq, date_added FROM objects ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .optional()?
        else {
            return Ok(None);
        };
        if last_date <= micros {
            return Ok(None);
        }
        // Smallest x in lo..=hi whose first row at or past x was added
        // after `micros` (true at `last`, and monotone in x); rows skipped
        // past a probe that was too early are skipped whole.
        let mut hi = last;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match row_at(mid)? {
                Some((_, d)) if d > micros => hi = mid,
                Some((s, _)) => lo = s + 1,
                // Rows at or past `last` exist: only a concurrent delete
                // gets here; the answer is then `last`'s.
                None => lo = hi,
            }
        }
        Ok(row_at(lo)?.map(|(s, _)| s))
    }

    /// The body of [`ObjectRead::query`] and [`ObjectRead::query_raw`]:
    /// the plan's sub-queries in one snapshot, their rows merged by seq.
    fn run_query<T>(
        &self,
        q: &Query,
        limit: usize,
        raw_only: bool,
        mut read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        (seq_of, size_of): SeqAndSize<T>,
        max_bytes: usize,
    ) -> Result<(Vec<T>, bool), StoreError> {
        let begin = || {
            self.read
                .unchecked_transaction()
                .map_err(self.read_err("a read transaction"))
        };
        // Types across every collection: the plan lists the collections,
        // so it reads them in the snapshot its sub-queries then read (a
        // collection created in between would otherwise be skipped).
        let early = if q.collection.is_none() && q.ids.is_empty() && !q.types.is_empty() {
            Some(begin()?)
        } else {
            None
        };
        let Some(plans) = self.plan_columns(q, limit, raw_only, None)? else {
            return Ok((Vec::new(), false));
        };
        let mut objects = Vec::new();
        // Several sub-queries share one read transaction, so they see the
        // same snapshot; a single statement is a snapshot by itself (and
        // skipping BEGIN/COMMIT matters for point queries).
        let tx = if early.is_some() {
            early
        } else if plans.len() > 1 {
            Some(begin()?)
        } else {
            None
        };
        // Each sub-query's rows come in seq order; one that passes
        // `max_bytes` stops there, and the page then ends at the lowest
        // seq where one stopped (rows beyond it may be missing from that
        // sub-query: the next page reads them).
        let mut cut: Option<i64> = None;
        for (sql, ps) in plans {
            let mut st = self
                .read
                .prepare_cached(&sql)
                .map_err(self.read_err("objects"))?;
            let mut rows = st
                .query_map(params_from_iter(ps), &mut read)
                .map_err(self.read_err("objects"))?;
            let mut bytes = 0usize;
            for row in &mut rows {
                let row = row.map_err(self.read_err("objects"))?;
                bytes = bytes.saturating_add(size_of(&row));
                let seq = seq_of(&row);
                objects.push(row);
                if max_bytes != usize::MAX && bytes >= max_bytes {
                    cut = Some(cut.map_or(seq, |c| c.min(seq)));
                    break;
                }
            }
        }
        drop(tx);
        objects.sort_unstable_by_key(seq_of);
        let mut more = objects.len() > limit;
        objects.truncate(limit);
        if let Some(cut) = cut {
            let before = objects.len();
            objects.retain(|o| seq_of(o) <= cut);
            more |= objects.len() < before;
        }
        if max_bytes != usize::MAX {
            // In seq order, the page ends with the object that passes it.
            let mut bytes = 0usize;
            if let Some(end) = objects.iter().position(|o| {
                bytes = bytes.saturating_add(size_of(o));
                bytes >= max_bytes
            }) && end + 1 < objects.len()
            {
                objects.truncate(end + 1);
                more = true;
            }
            // A sub-query stopped by its bytes had more rows.
            more |= cut.is_some();
        }
        Ok((objects, more))
    }

    /// The collections to read by type through `objects_coll_type` when a
    /// query names types but no collection: all of them, when there are
    /// few enough that one index range per (collection, type) beats a scan
    /// of every row; `None` otherwise (no types, or too many collections).
    fn type_driven_collections(&self, types: &[&str]) -> rusqlite::Result<Option<Vec<i64>>> {
        /// Sub-queries beyond this read the whole table instead.
        const MAX_RANGES: usize = 256;
        if types.is_empty() {
            return Ok(None);
        }
        let mut st = self
            .read
            .prepare_cached("SELECT coll_id FROM collections ORDER BY coll_id")?;
        let colls: Vec<i64> = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok((colls.len() * types.len() <= MAX_RANGES).then_some(colls))
    }

    /// The SQL and parameters of each sub-query of `q`; `None` when the
    /// answer is known to be empty (unknown collection, nothing added
    /// after `added_after`).
    #[cfg(test)]
    fn plan(&self, q: &Query, limit: usize) -> Result<Option<Vec<SubQuery>>, StoreError> {
        self.plan_columns(q, limit, false, None)
    }

    /// [`SqliteStore::plan`], reading only (seq, raw) when `raw_only`
    /// (no join with `collections` either), and only up to seq `until`
    /// when given.
    fn plan_columns(
        &self,
        q: &Query,
        limit: usize,
        raw_only: bool,
        until: Option<i64>,
    ) -> Result<Option<Vec<SubQuery>>, StoreError> {
        let coll = match &q.collection {
            Some(name) => match self.coll_id(name)? {
                Some(c) => Some(c),
                None => return Ok(None),
            },
            None => None,
        };
        let mut after = q.after_seq;
        if let Some(t) = &q.added_after {
            // date_added grows with seq, so "added after t" is "seq at or
            // past the first object added after t".
            let first = self
                .first_seq_added_after(to_micros(t))
                .map_err(self.read_err(format!("the first object added after {t}")))?;
            match first {
                Some(s) => after = after.max(s - 1),
                None => return Ok(None),
            }
        }
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let mut ids: Vec<&str> = q.ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut types: Vec<&str> = q.types.iter().map(String::as_str).collect();
        types.sort_unstable();
        types.dedup();

        // Each driver is one index range read in seq order; the other
        // filters are checked on the rows it yields.
        let mut drivers: Vec<(&str, String, Vec<Value>)> = Vec::new();
        let coll_cond = |c: i64| ("o.coll_id = ?".to_owned(), vec![Value::Integer(c)]);
        if !ids.is_empty() {
            for id in &ids {
                let (mut cond, mut ps) = (
                    "o.idh = ? AND o.id = ?".to_owned(),
                    vec![Value::Integer(id_hash(id)), Value::Text((*id).to_owned())],
                );
                if let Some(c) = coll {
                    let (cc, cp) = coll_cond(c);
                    cond = format!("{cond} AND {cc}");
                    ps.extend(cp);
                }
                drivers.push(("INDEXED BY objects_idh", cond, ps));
            }
        } else if let (Some(c), false) = (coll, types.is_empty()) {
            for ty in &types {
                drivers.push((
                    "INDEXED BY objects_coll_type",
                    "o.coll_id = ? AND o.type = ?".to_owned(),
                    vec![Value::Integer(c), Value::Text((*ty).to_owned())],
                ));
            }
        } else if let Some(c) = coll {
            let (cond, ps) = coll_cond(c);
            drivers.push(("INDEXED BY objects_coll", cond, ps));
        } else if let Some(colls) = self
            .type_driven_collections(&types)
            .map_err(self.read_err("the collections"))?
        {
            // Types in every collection: one (collection, type) index
            // range each instead of a scan of every row (the facility
            // watch asks for two rare types across the whole store).
            for c in colls {
                for ty in &types {
                    drivers.push((
                        "INDEXED BY objects_coll_type",
                        "o.coll_id = ? AND o.type = ?".to_owned(),
                        vec![Value::Integer(c), Value::Text((*ty).to_owned())],
                    ));
                }
            }
        } else {
            drivers.push(("", "1".to_owned(), Vec::new()));
        }

        let mut residual = String::new();
        let mut residual_ps = Vec::new();
        let mut add_in = |col: &str, vals: Vec<Value>| {
            if !vals.is_empty() {
                let marks = vec!["?"; vals.len()].join(", ");
                residual.push_str(&format!(" AND {col} IN ({marks})"));
                residual_ps.extend(vals);
            }
        };
        let driven_by_type = ids.is_empty()
            && !types.is_empty()
            && drivers
                .iter()
                .all(|(index, _, _)| *index == "INDEXED BY objects_coll_type");
        if !driven_by_type {
            add_in(
                "o.type",
                types.iter().map(|t| Value::Text((*t).to_owned())).collect(),
            );
        }
        add_in(
            "o.spec_version",
            q.spec_versions
                .iter()
                .map(|v| Value::Text(v.clone()))
                .collect(),
        );
        // The version filter: a union of per-row conditions, each one
        // index seek (a newer or an older version of the same object, by
        // the id index) or a comparison; a row that is both first and last
        // is one row, so it is returned once.
        if !q.versions.all {
            let mut parts: Vec<String> = Vec::new();
            if !q.versions.at.is_empty() {
                let mut ts: Vec<String> = q
                    .versions
                    .at
                    .iter()
                    .map(crate::prepare::format_nanos)
                    .collect();
                ts.sort_unstable();
                ts.dedup();
                parts.push(format!("o.version IN ({})", vec!["?"; ts.len()].join(", ")));
                residual_ps.extend(ts.into_iter().map(Value::Text));
            }
            for (on, op) in [(q.versions.last, ">"), (q.versions.first, "<")] {
                if on {
                    parts.push(format!(
                        "NOT EXISTS (SELECT 1 FROM objects n INDEXED BY objects_idh
                           WHERE n.idh = o.idh AND n.id = o.id AND n.coll_id = o.coll_id
                             AND n.version {op} o.version)"
                    ));
                }
            }
            if parts.is_empty() {
                // Selects no version at all.
                return Ok(None);
            }
            residual.push_str(&format!(" AND ({})", parts.join(" OR ")));
        }

        let upto = if until.is_some() {
            " AND o.seq <= ?"
        } else {
            ""
        };
        let plans = drivers
            .into_iter()
            .map(|(index, cond, mut ps)| {
                let sql = if raw_only {
                    format!(
                        "SELECT o.seq, o.raw FROM objects o {index}
                         WHERE {cond} AND o.seq > ?{upto}{residual}
                         ORDER BY o.seq LIMIT ?"
                    )
                } else {
                    format!(
                        "SELECT {OBJECT_COLUMNS} FROM objects o {index}
                         CROSS JOIN collections c ON c.coll_id = o.coll_id
                         WHERE {cond} AND o.seq > ?{upto}{residual}
                         ORDER BY o.seq LIMIT ?"
                    )
                };
                ps.push(Value::Integer(after));
                if let Some(u) = until {
                    ps.push(Value::Integer(u));
                }
                ps.extend(residual_ps.iter().cloned());
                ps.push(Value::Integer(fetch));
                (sql, ps)
            })
            .collect();
        Ok(Some(plans))
    }

    /// `EXPLAIN QUERY PLAN` of each sub-query of `q`, for tests.
    #[cfg(test)]
    pub(crate) fn explain(&self, q: &Query) -> Vec<Vec<String>> {
        self.plan(q, 10)
            .expect("plan")
            .unwrap_or_default()
            .into_iter()
            .map(|(sql, ps)| {
                let mut st = self
                    .read
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .expect("prepare");
                st.query_map(params_from_iter(ps), |r| r.get::<_, String>(3))
                    .expect("explain")
                    .collect::<Result<_, _>>()
                    .expect("rows")
            })
            .collect()
    }
}

/// One SQL statement of a query plan and its parameters.
type SubQuery = (String, Vec<Value>);

/// The columns [`read_object`] reads, in order.
const OBJECT_COLUMNS: &str = "o.seq, c.name, o.id, o.type, o.spec_version, o.created, o.modified,
    o.version, o.date_added, o.origin, o.markings, o.sha256, o.raw";

/// A (seq, raw) row's seq and JSON text, borrowed.
fn seq_and_text<'r>(r: &'r rusqlite::Row<'_>) -> rusqlite::Result<(i64, &'r str)> {
    let raw = r.get_ref(1)?;
    let text = raw
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, raw.data_type(), Box::new(e)))?;
    Ok((r.get(0)?, text))
}

fn read_object(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredObject> {
    let markings: String = r.get(10)?;
    let sha: Vec<u8> = r.get(11)?;
    let mut sha256 = [0u8; 32];
    if sha.len() == 32 {
        sha256.copy_from_slice(&sha);
    }
    Ok(StoredObject {
        seq: r.get(0)?,
        collection: r.get(1)?,
        id: r.get(2)?,
        type_name: r.get(3)?,
        spec_version: r.get(4)?,
        created: r.get(5)?,
        modified: r.get(6)?,
        version: r.get(7)?,
        date_added: format_micros(r.get(8)?),
        origin: r.get(9)?,
        markings: if markings.is_empty() {
            Vec::new()
        } else {
            markings.split(',').map(str::to_owned).collect()
        },
        sha256,
        raw: r.get(12)?,
    })
}

/// The bodies of the object reads ([`Store`](crate::Store) comes with
/// [`Backend`](crate::Backend), through these).
impl crate::ObjectRead for SqliteStore {
    fn query_bounded(&self, q: &Query, limit: usize, max_bytes: usize) -> Result<Page, StoreError> {
        let (objects, more) = self.run_query(
            q,
            limit,
            false,
            read_object,
            (|o: &StoredObject| o.seq, |o| o.raw.len()),
            max_bytes,
        )?;
        Ok(Page { objects, more })
    }

    fn query_raw(&self, q: &Query, limit: usize) -> Result<RawPage, StoreError> {
        let (objects, more) = self.run_query(
            q,
            limit,
            true,
            |r| Ok((r.get(0)?, r.get(1)?)),
            (|o: &(i64, String)| o.0, |_| 0),
            usize::MAX,
        )?;
        Ok(RawPage { objects, more })
    }

    fn query_raw_into(
        &self,
        q: &Query,
        limit: usize,
        buf: &mut RawBuf,
    ) -> Result<bool, StoreError> {
        let text = &mut buf.text;
        // Rows past `limit` (read, then cut) leave their text unused in
        // the buffer: at most one per sub-query.
        let (rows, more) = self.run_query(
            q,
            limit,
            true,
            |r| {
                let raw = r.get_ref(1)?;
                let raw = raw.as_str().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(1, raw.data_type(), Box::new(e))
                })?;
                let start = text.len();
                text.push_str(raw);
                Ok((r.get::<_, i64>(0)?, start, text.len()))
            },
            (|o: &(i64, usize, usize)| o.0, |_| 0),
            usize::MAX,
        )?;
        buf.rows.extend(rows);
        Ok(more)
    }

    fn each_raw_until(
        &self,
        q: &Query,
        until_seq: i64,
        f: &mut dyn FnMut(i64, &str),
    ) -> Result<(), StoreError> {
        let err = |e| self.read_err("objects")(e);
        // As in `run_query`: types across every collection list the
        // collections in the snapshot the sub-queries read.
        let early = if q.collection.is_none() && q.ids.is_empty() && !q.types.is_empty() {
            Some(
                self.read
                    .unchecked_transaction()
                    .map_err(self.read_err("a read transaction"))?,
            )
        } else {
            None
        };
        let Some(plans) = self.plan_columns(q, usize::MAX, true, Some(until_seq))? else {
            return Ok(());
        };
        let tx = match early {
            Some(t) => Some(t),
            None if plans.len() > 1 => Some(
                self.read
                    .unchecked_transaction()
                    .map_err(self.read_err("a read transaction"))?,
            ),
            None => None,
        };
        // A single sub-query's rows are in seq order: each is handed on
        // as it is read; several are merged by seq.
        let single = plans.len() == 1;
        let mut buf = RawBuf::default();
        for (sql, ps) in &plans {
            let mut st = self.read.prepare_cached(sql).map_err(err)?;
            let mut rows = st.query(params_from_iter(ps.iter())).map_err(err)?;
            while let Some(r) = rows.next().map_err(err)? {
                let (seq, text) = seq_and_text(r).map_err(err)?;
                if single {
                    f(seq, text);
                } else {
                    let start = buf.text.len();
                    buf.text.push_str(text);
                    buf.rows.push((seq, start, buf.text.len()));
                }
            }
        }
        buf.rows.sort_unstable_by_key(|r| r.0);
        for (i, row) in buf.rows.iter().enumerate() {
            f(row.0, buf.raw(i));
        }
        drop(tx);
        Ok(())
    }

    fn lists_repeated_ids(&self) -> bool {
        true
    }

    fn ids_stored_more_than_once(
        &self,
        type_name: &str,
        limit: usize,
    ) -> Result<Option<Vec<String>>, StoreError> {
        // One pass over the id-hash index (covering: no table reads; the
        // repeated hashes are adjacent in it), then the rows of the
        // repeated hashes only (a hash shared by two ids names both: a
        // superset, which is all a reader needs); in one snapshot.
        let what = || format!("the `{type_name}` ids stored more than once");
        let tx = self
            .read
            .unchecked_transaction()
            .map_err(self.read_err("a read transaction"))?;
        let mut repeated: Vec<i64> = Vec::new();
        {
            let mut st = self
                .read
                .prepare_cached("SELECT idh FROM objects INDEXED BY objects_idh")
                .map_err(|e| self.read_err(what())(e))?;
            let mut rows = st.query([]).map_err(|e| self.read_err(what())(e))?;
            let mut prev = None;
            while let Some(r) = rows.next().map_err(|e| self.read_err(what())(e))? {
                let h: i64 = r.get(0).map_err(|e| self.read_err(what())(e))?;
                if prev == Some(h) && repeated.last() != Some(&h) {
                    repeated.push(h);
                }
                prev = Some(h);
            }
        }
        let mut st = self
            .read
            .prepare_cached(
                "SELECT DISTINCT id FROM objects INDEXED BY objects_idh
                 WHERE idh = ?1 AND type = ?2",
            )
            .map_err(|e| self.read_err(what())(e))?;
        let mut ids: Vec<String> = Vec::new();
        for h in repeated {
            let some = st
                .query_map(params![h, type_name], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
                .map_err(|e| self.read_err(what())(e))?;
            ids.extend(some);
            if ids.len() > limit {
                return Ok(None);
            }
        }
        drop(st);
        drop(tx);
        Ok((ids.len() <= limit).then_some(ids))
    }

    fn get_versions(&self, collection: &str, id: &str) -> Result<Vec<StoredObject>, StoreError> {
        let Some(coll) = self.coll_id(collection)? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects o INDEXED BY objects_idh
             CROSS JOIN collections c ON c.coll_id = o.coll_id
             WHERE o.idh = ?1 AND o.id = ?2 AND o.coll_id = ?3 ORDER BY o.version"
        );
        self.read
            .prepare_cached(&sql)
            .and_then(|mut st| {
                st.query_map(params![id_hash(id), id, coll], read_object)?
                    .collect()
            })
            .map_err(self.read_err(format!("the versions of `{id}` in `{collection}`")))
    }

    fn count(&self, collection: Option<&str>) -> Result<u64, StoreError> {
        let n: i64 = match collection {
            Some(name) => self
                .read
                .query_row(
                    "SELECT coalesce(sum(n_versions), 0) FROM collections WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .map_err(self.read_err(format!("the count of `{name}`")))?,
            None => self
                .read
                .query_row(
                    "SELECT coalesce(sum(n_versions), 0) FROM collections",
                    [],
                    |r| r.get(0),
                )
                .map_err(self.read_err("the object count"))?,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError> {
        self.read
            .prepare_cached("SELECT name, n_versions FROM collections ORDER BY name")
            .and_then(|mut st| {
                st.query_map([], |r| {
                    Ok(CollectionInfo {
                        name: r.get(0)?,
                        n_versions: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    })
                })?
                .collect()
            })
            .map_err(self.read_err("the collections"))
    }

    fn tally(&self, collection: &str) -> Result<Vec<crate::Tally>, StoreError> {
        let Some(coll) = self.coll_id(collection)? else {
            return Ok(Vec::new());
        };
        self.read
            .prepare_cached(
                "SELECT type, origin, count(*) FROM objects INDEXED BY objects_coll_type
                 WHERE coll_id = ?1 GROUP BY type, origin ORDER BY type, origin",
            )
            .and_then(|mut st| {
                st.query_map([coll], |r| {
                    Ok(crate::Tally {
                        type_name: r.get(0)?,
                        origin: r.get(1)?,
                        count: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    })
                })?
                .collect()
            })
            .map_err(self.read_err(format!("the tally of `{collection}`")))
    }

    fn newest(
        &self,
        collection: &str,
        types: &[String],
        before: i64,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let Some(coll) = self.coll_id(collection)? else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let err = self.read_err(format!("the newest objects of `{collection}`"));
        if types.is_empty() {
            let sql = format!(
                "SELECT {OBJECT_COLUMNS} FROM objects o INDEXED BY objects_coll
                 CROSS JOIN collections c ON c.coll_id = o.coll_id
                 WHERE o.coll_id = ?1 AND o.seq < ?2 ORDER BY o.seq DESC LIMIT ?3"
            );
            return self
                .read
                .prepare_cached(&sql)
                .and_then(|mut st| {
                    st.query_map(params![coll, before, limit], read_object)?
                        .collect()
                })
                .map_err(err);
        }
        // One index range per type, merged newest first.
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects o INDEXED BY objects_coll_type
             CROSS JOIN collections c ON c.coll_id = o.coll_id
             WHERE o.coll_id = ?1 AND o.type = ?2 AND o.seq < ?3 ORDER BY o.seq DESC LIMIT ?4"
        );
        let mut all: Vec<StoredObject> = Vec::new();
        for t in types {
            let mut some: Vec<StoredObject> = self
                .read
                .prepare_cached(&sql)
                .and_then(|mut st| {
                    st.query_map(params![coll, t, before, limit], read_object)?
                        .collect()
                })
                .map_err(self.read_err(format!("the newest objects of `{collection}`")))?;
            all.append(&mut some);
        }
        all.sort_by_key(|o| std::cmp::Reverse(o.seq));
        all.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(all)
    }

    fn max_seq(&self) -> Result<i64, StoreError> {
        self.read
            .query_row("SELECT coalesce(max(seq), 0) FROM objects", [], |r| {
                r.get(0)
            })
            .map_err(self.read_err("the highest seq"))
    }

    fn objects_after(&self, after: i64, limit: usize) -> Result<Vec<StoredObject>, StoreError> {
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects o
             CROSS JOIN collections c ON c.coll_id = o.coll_id
             WHERE o.seq > ?1 ORDER BY o.seq LIMIT ?2"
        );
        self.read
            .prepare_cached(&sql)
            .and_then(|mut st| {
                st.query_map(
                    params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
                    read_object,
                )?
                .collect()
            })
            .map_err(self.read_err(format!("the objects after seq {after}")))
    }

    fn objects_by_seq(&self, seqs: &[i64]) -> Result<Vec<StoredObject>, StoreError> {
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects o
             CROSS JOIN collections c ON c.coll_id = o.coll_id WHERE o.seq = ?1"
        );
        let mut st = self
            .read
            .prepare_cached(&sql)
            .map_err(self.read_err("objects by seq"))?;
        let mut out = Vec::with_capacity(seqs.len());
        for s in seqs {
            if let Some(o) = st
                .query_row([s], read_object)
                .optional()
                .map_err(self.read_err(format!("the object of seq {s}")))?
            {
                out.push(o);
            }
        }
        Ok(out)
    }

    fn find_text(
        &self,
        collection: &str,
        text: &str,
        types: &[String],
        scan: usize,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let Some(coll) = self.coll_id(collection)? else {
            return Ok(Vec::new());
        };
        let scan = i64::try_from(scan).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // The newest `scan` rows of the collection by its index, then the
        // text test on each (instr: bytes, no pattern syntax to escape).
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM (
                 SELECT seq FROM objects INDEXED BY objects_coll
                 WHERE coll_id = ?1 ORDER BY seq DESC LIMIT ?2
             ) w CROSS JOIN objects o ON o.seq = w.seq
             CROSS JOIN collections c ON c.coll_id = o.coll_id
             WHERE instr(o.raw, ?3) > 0 ORDER BY o.seq DESC"
        );
        let mut found = Vec::new();
        let mut st = self
            .read
            .prepare_cached(&sql)
            .map_err(self.read_err(format!("searching `{collection}`")))?;
        let rows = st
            .query_map(params![coll, scan, text], read_object)
            .map_err(self.read_err(format!("searching `{collection}`")))?;
        for r in rows {
            let o = r.map_err(self.read_err(format!("searching `{collection}`")))?;
            if types.is_empty() || types.contains(&o.type_name) {
                found.push(o);
                if found.len() as i64 >= limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    fn integrity_check(&self) -> Result<(), StoreError> {
        const MAX_PROBLEMS: usize = 20;
        let err = self.read_err("the integrity check");
        let mut problems: Vec<String> = self
            .read
            .prepare("PRAGMA integrity_check")
            .and_then(|mut st| {
                st.query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(err)?
            .into_iter()
            .filter(|m| m != "ok")
            .collect();
        let tx = self
            .read
            .unchecked_transaction()
            .map_err(self.read_err("a read transaction"))?;
        let counts: Vec<(String, i64, i64)> = tx
            .prepare(
                "SELECT c.name, c.n_versions,
                   (SELECT count(*) FROM objects o WHERE o.coll_id = c.coll_id)
                 FROM collections c",
            )
            .and_then(|mut st| {
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .map_err(self.read_err("the collection counts"))?;
        for (name, kept, real) in counts {
            if kept != real {
                problems.push(format!(
                    "collection `{name}` counts {kept} versions but holds {real}"
                ));
            }
        }
        let duplicated: i64 = tx
            .query_row(
                "SELECT count(*) FROM (SELECT 1 FROM objects
                 GROUP BY coll_id, id, version HAVING count(*) > 1)",
                [],
                |r| r.get(0),
            )
            .map_err(self.read_err("the duplicate check"))?;
        if duplicated > 0 {
            problems.push(format!(
                "{duplicated} (collection, id, version) keys are stored more than once"
            ));
        }
        let unordered: i64 = tx
            .query_row(
                "SELECT count(*) FROM (SELECT date_added - lag(date_added) OVER (ORDER BY seq) AS d
                 FROM objects) WHERE d <= 0",
                [],
                |r| r.get(0),
            )
            .map_err(self.read_err("the date_added order"))?;
        if unordered > 0 {
            problems.push(format!(
                "{unordered} objects have a date_added not after the previous seq's"
            ));
        }
        let mut st = tx
            .prepare("SELECT seq, id, sha256, raw, idh FROM objects")
            .map_err(self.read_err("the object hashes"))?;
        let mut rows = st.query([]).map_err(self.read_err("the object hashes"))?;
        while let Some(r) = rows.next().map_err(self.read_err("the object hashes"))? {
            let hash: Vec<u8> = r.get(2).map_err(self.read_err("an object hash"))?;
            let raw: String = r.get(3).map_err(self.read_err("an object's raw JSON"))?;
            let seq: i64 = r.get(0).map_err(self.read_err("an object's seq"))?;
            let id: String = r.get(1).map_err(self.read_err("an object's id"))?;
            let idh: i64 = r.get(4).map_err(self.read_err("an object's id hash"))?;
            if idh != id_hash(&id) {
                problems.push(format!("object `{id}` (seq {seq}): wrong id hash"));
            }
            if hash[..] != content_hash(&raw)[..] {
                problems.push(format!(
                    "object `{id}` (seq {seq}): raw JSON does not match its SHA-256"
                ));
            }
            if problems.len() >= MAX_PROBLEMS {
                break;
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                problems,
            })
        }
    }
}

fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    // Refuse a foreign or newer database before changing anything in it.
    schema::check_header(&conn, path)?;
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(open_err)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(open_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(format!(
                "cannot switch to WAL mode (journal_mode is {mode})"
            )),
        )));
    }
    // FULL for the migrations: in WAL mode NORMAL does not fsync the WAL
    // at commit, so a commit just before a power cut or an OS crash can
    // vanish (it survives a killed process either way). `Writer::start`
    // then switches this connection to NORMAL and fsyncs on its sync
    // thread before acknowledging anything (see `writer/mod.rs`).
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open_err)?;
    // A big page cache keeps the random-order id index in memory during
    // bulk ingest.
    conn.pragma_update(None, "cache_size", -131_072)
        .map_err(open_err)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(open_err)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// The memory map of a read connection (see `open_reader`).
const MMAP_SIZE: i64 = 1 << 40;

fn open_reader(path: &Path, memory_map: bool) -> Result<Connection, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(open_err)?;
    // Without the memory map (a reader of most of the store once, such as
    // a match index build), the OS cache serves the pages: a small page
    // cache of its own, not 64 MiB filled by one scan and counted as
    // resident.
    conn.pragma_update(
        None,
        "cache_size",
        if memory_map { -65_536 } else { -4_096 },
    )
    .map_err(open_err)?;
    // Reads through a memory map of the database file rather than read()
    // calls that copy each page: random point reads in a large store (a
    // ledger proof, a match[id]) cost no system call when the page is in
    // the OS cache. Up to 1 TiB (the cap is raised at build time, see
    // .cargo/config.toml); the WAL is read as before.
    conn.pragma_update(None, "mmap_size", if memory_map { MMAP_SIZE } else { 0 })
        .map_err(open_err)?;
    // The query planner stability guarantee: a plan never depends on the
    // values bound. Without it SQLite marks `LIMIT ?` (and `= ?` compared
    // with 0 or 1, such as the first collection's `coll_id`) as
    // "re-prepare when rebound", and since the statement cache clears the
    // bindings, every reuse of a cached read statement parsed and planned
    // it again (half the CPU of a point read). The reads name their
    // indexes (`INDEXED BY`), so no plan is lost.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(open_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::MIGRATIONS;
    use crate::{NewObject, PutOutcome, Store, VersionFilter};

    fn obj<'a>(
        raw: &'a str,
        id: &'a str,
        ty: &'a str,
        modified: Option<&'a str>,
        coll: &'a str,
    ) -> NewObject<'a> {
        NewObject {
            raw,
            id,
            type_name: ty,
            spec_version: "2.1",
            created: modified,
            modified,
            markings: vec![],
            collection: coll,
            origin: "test",
        }
    }

    fn queries() -> Vec<(&'static str, Query)> {
        let t = accord_stix::Timestamp::parse("2020-01-01T00:00:00Z").expect("timestamp");
        let c = || Some("c".to_owned());
        vec![
            (
                "collection",
                Query {
                    collection: c(),
                    versions: VersionFilter::all(),
                    ..Query::default()
                },
            ),
            (
                "collection, last",
                Query {
                    collection: c(),
                    ..Query::default()
                },
            ),
            (
                "collection, first",
                Query {
                    collection: c(),
                    versions: VersionFilter::first(),
                    ..Query::default()
                },
            ),
            (
                "one type",
                Query {
                    collection: c(),
                    types: vec!["indicator".into()],
                    ..Query::default()
                },
            ),
            (
                "two types, spec version, added_after",
                Query {
                    collection: c(),
                    types: vec!["indicator".into(), "malware".into()],
                    spec_versions: vec!["2.1".into()],
                    added_after: Some(t),
                    ..Query::default()
                },
            ),
            (
                "versions at",
                Query {
                    collection: c(),
                    versions: VersionFilter::at(vec![t]),
                    ..Query::default()
                },
            ),
            (
                "first, last and two versions",
                Query {
                    collection: c(),
                    versions: VersionFilter {
                        first: true,
                        last: true,
                        ..VersionFilter::at(vec![t, t])
                    },
                    ..Query::default()
                },
            ),
            (
                "one id, first and last",
                Query {
                    collection: c(),
                    ids: vec!["a--1".into()],
                    versions: VersionFilter {
                        first: true,
                        ..VersionFilter::last()
                    },
                    ..Query::default()
                },
            ),
            (
                "ids",
                Query {
                    collection: c(),
                    ids: vec!["a--1".into(), "a--2".into()],
                    ..Query::default()
                },
            ),
            (
                "ids, no collection",
                Query {
                    ids: vec!["a--1".into()],
                    ..Query::default()
                },
            ),
            (
                "types, no collection",
                Query {
                    types: vec!["indicator".into(), "malware".into()],
                    ..Query::default()
                },
            ),
            ("no collection", Query::default()),
        ]
    }

    /// A store opened with a lazy writer reads without starting it, and
    /// its first write (on it or on a clone) starts it.
    #[test]
    fn a_lazy_writer_starts_at_the_first_write() {
        use crate::ObjectRead;
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let s = SqliteStore::open(dir.path()).expect("open");
            s.writer()
                .put_batch(&[obj("{\"n\":1}", "a--1", "indicator", None, "c")])
                .expect("put");
        }
        let opts = OpenOptions::new().create(false).lazy_writer(true);
        let s = SqliteStore::open_with(dir.path(), &opts).expect("open lazily");
        assert!(s.writer.started.get().is_none());
        assert_eq!(ObjectRead::count(&s, None).expect("count"), 1);
        let q = Query::default();
        assert_eq!(s.query_raw(&q, 10).expect("read").objects.len(), 1);
        assert!(s.writer.started.get().is_none(), "reads start no writer");
        let c = s.try_clone().expect("clone");
        c.writer()
            .put_batch(&[obj("{\"n\":2}", "a--2", "indicator", None, "c")])
            .expect("a write starts it");
        assert!(s.writer.started.get().is_some(), "shared by the clones");
        s.writer()
            .put_batch(&[obj("{\"n\":1}", "a--1", "indicator", None, "c")])
            .expect("put again");
        assert_eq!(ObjectRead::count(&s, None).expect("count"), 2);
    }

    /// A store of twelve versions, one batch each: five ids, two types,
    /// two collections, two `modified` times.
    fn twelve_versions(dir: &Path) -> SqliteStore {
        let mut s = SqliteStore::open(dir).expect("open");
        for i in 0..12 {
            let (ty, coll) = match i % 3 {
                0 => ("indicator", "c"),
                1 => ("malware", "c"),
                _ => ("indicator", "d"),
            };
            let t = format!("2021-01-0{}T00:00:00Z", 1 + i % 2);
            let raw = format!("{{\"n\":{i}}}");
            let id = format!("a--{}", i % 5);
            s.put_batch(&[obj(&raw, &id, ty, Some(&t), coll)])
                .expect("put");
        }
        s
    }

    /// `query_raw` reads the same versions in the same order as `query`,
    /// page by page, for every kind of query.
    #[test]
    fn query_raw_reads_what_query_reads() {
        use crate::ObjectRead;
        let dir = tempfile::tempdir().expect("tempdir");
        let s = twelve_versions(dir.path());
        for (name, q) in queries() {
            for limit in [1, 3, 100] {
                let mut q = q.clone();
                loop {
                    let full = ObjectRead::query(&s, &q, limit).expect("query");
                    let raw = s.query_raw(&q, limit).expect("query_raw");
                    let want: Vec<(i64, String)> = full
                        .objects
                        .iter()
                        .map(|o| (o.seq, o.raw.clone()))
                        .collect();
                    assert_eq!(raw.objects, want, "{name}, limit {limit}");
                    assert_eq!(raw.more, full.more, "{name}, limit {limit}");
                    // Into one buffer (after something already in it).
                    let mut buf = RawBuf {
                        text: "x".into(),
                        rows: vec![(0, 0, 1)],
                    };
                    let more = s.query_raw_into(&q, limit, &mut buf).expect("into");
                    let got: Vec<(i64, String)> = (1..buf.rows.len())
                        .map(|i| (buf.rows[i].0, buf.raw(i).to_string()))
                        .collect();
                    assert_eq!(got, want, "{name}, limit {limit}, into");
                    assert_eq!(more, full.more, "{name}, limit {limit}, into");
                    match raw.last_seq() {
                        Some(last) if raw.more => q.after_seq = last,
                        _ => break,
                    }
                }
            }
        }
    }

    /// The ids of a type stored more than once (several versions, or in
    /// several collections), and `None` past the limit.
    #[test]
    fn ids_stored_more_than_once_lists_the_repeated_ids_of_a_type() {
        use crate::ObjectRead;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = SqliteStore::open(dir.path()).expect("open");
        let mut put = |id: &str, ty: &str, t: &str, coll: &str| {
            let raw = format!("{{\"id\":\"{id}\",\"t\":\"{t}\",\"c\":\"{coll}\"}}");
            s.put_batch(&[obj(&raw, id, ty, Some(t), coll)])
                .expect("put");
        };
        let (t1, t2) = ("2021-01-01T00:00:00Z", "2021-02-01T00:00:00Z");
        for i in 0..20 {
            put(&format!("indicator--{i}"), "indicator", t1, "c");
        }
        put("indicator--3", "indicator", t2, "c");
        put("indicator--7", "indicator", t1, "d");
        put("indicator--11", "indicator", t2, "c");
        put("indicator--11", "indicator", t1, "d");
        put("malware--1", "malware", t1, "c");
        put("malware--1", "malware", t2, "c");
        put("malware--2", "malware", t1, "c");
        let mut got = s
            .ids_stored_more_than_once("indicator", 10)
            .expect("read")
            .expect("under the limit");
        got.sort();
        assert_eq!(got, ["indicator--11", "indicator--3", "indicator--7"]);
        assert_eq!(
            s.ids_stored_more_than_once("malware", 10).expect("read"),
            Some(vec!["malware--1".to_string()])
        );
        assert_eq!(
            s.ids_stored_more_than_once("indicator", 3)
                .expect("read")
                .map(|v| v.len()),
            Some(3)
        );
        assert_eq!(
            s.ids_stored_more_than_once("indicator", 2).expect("read"),
            None
        );
        assert_eq!(
            s.ids_stored_more_than_once("identity", 2).expect("read"),
            Some(vec![])
        );
    }

    /// A seq range read row by row gives what the pages of `query` give
    /// in that range, through SQLite and through the trait's default.
    #[test]
    fn each_raw_until_reads_the_range_query_reads() {
        use crate::ObjectRead;
        /// The trait's default body, over SQLite's pages.
        struct Paged<'a>(&'a SqliteStore);
        let dir = tempfile::tempdir().expect("tempdir");
        let s = twelve_versions(dir.path());
        let paged = |q: &Query, until: i64| {
            let mut q = q.clone();
            let mut out = Vec::new();
            loop {
                let page = s.query_raw(&q, 5).expect("query_raw");
                out.extend(page.objects.iter().filter(|o| o.0 <= until).cloned());
                match page.last_seq() {
                    Some(last) if page.more && last < until => q.after_seq = last,
                    _ => return out,
                }
            }
        };
        for (name, q) in queries() {
            for (after, until) in [
                (0, 100),
                (0, 0),
                (2, 7),
                (3, 4),
                (5, 12),
                (11, 12),
                (12, 20),
            ] {
                let mut q = q.clone();
                q.after_seq = after;
                let want = paged(&q, until);
                let mut got = Vec::new();
                s.each_raw_until(&q, until, &mut |seq, raw| got.push((seq, raw.to_string())))
                    .expect("each_raw_until");
                assert_eq!(got, want, "{name}, ({after}, {until}]");
                let mut got = Vec::new();
                Paged(&s)
                    .each_raw_until(&q, until, &mut |seq, raw| got.push((seq, raw.to_string())))
                    .expect("each_raw_until, default");
                assert_eq!(got, want, "{name}, ({after}, {until}], default");
            }
        }
        impl crate::ObjectRead for Paged<'_> {
            fn query_bounded(
                &self,
                q: &Query,
                limit: usize,
                max_bytes: usize,
            ) -> Result<crate::Page, StoreError> {
                self.0.query_bounded(q, limit, max_bytes)
            }
            fn get_versions(&self, c: &str, id: &str) -> Result<Vec<StoredObject>, StoreError> {
                crate::ObjectRead::get_versions(self.0, c, id)
            }
            fn count(&self, c: Option<&str>) -> Result<u64, StoreError> {
                crate::ObjectRead::count(self.0, c)
            }
            fn collections(&self) -> Result<Vec<crate::CollectionInfo>, StoreError> {
                crate::ObjectRead::collections(self.0)
            }
            fn tally(&self, c: &str) -> Result<Vec<crate::Tally>, StoreError> {
                self.0.tally(c)
            }
            fn newest(
                &self,
                c: &str,
                types: &[String],
                before: i64,
                limit: usize,
            ) -> Result<Vec<StoredObject>, StoreError> {
                self.0.newest(c, types, before, limit)
            }
            fn max_seq(&self) -> Result<i64, StoreError> {
                self.0.max_seq()
            }
            fn objects_after(
                &self,
                after: i64,
                limit: usize,
            ) -> Result<Vec<StoredObject>, StoreError> {
                self.0.objects_after(after, limit)
            }
            fn objects_by_seq(&self, seqs: &[i64]) -> Result<Vec<StoredObject>, StoreError> {
                self.0.objects_by_seq(seqs)
            }
            fn find_text(
                &self,
                c: &str,
                text: &str,
                types: &[String],
                scan: usize,
                limit: usize,
            ) -> Result<Vec<StoredObject>, StoreError> {
                self.0.find_text(c, text, types, scan, limit)
            }
            fn integrity_check(&self) -> Result<(), StoreError> {
                crate::ObjectRead::integrity_check(self.0)
            }
        }
    }

    /// The main queries read index ranges, never a whole table, and only
    /// the per-id ones sort (the few versions of one id).
    #[test]
    fn query_plans_use_indexes_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = SqliteStore::open(dir.path()).expect("open");
        s.put_batch(&[
            obj("{}", "a--1", "indicator", Some("2021-01-01T00:00:00Z"), "c"),
            obj("{}", "a--2", "malware", Some("2021-01-01T00:00:00Z"), "c"),
        ])
        .expect("put");
        for (name, q) in queries() {
            let plans = s.explain(&q);
            assert!(!plans.is_empty(), "{name}: no plan");
            for steps in plans {
                let text = steps.join(" | ");
                assert!(
                    !steps.iter().any(|l| l.starts_with("SCAN")),
                    "{name}: full scan in {text}"
                );
                let sorts = steps.iter().any(|l| l.contains("TEMP B-TREE"));
                assert!(!sorts || !q.ids.is_empty(), "{name}: sorts in {text}");
                assert!(text.contains("USING"), "{name}: {text}");
            }
        }
        // A query that must scan is recognized as such, so the checks above can fail.
        let steps: Vec<String> = s
            .read
            .prepare("EXPLAIN QUERY PLAN SELECT * FROM objects WHERE raw = 'x'")
            .and_then(|mut st| st.query_map([], |r| r.get(3))?.collect())
            .expect("explain");
        assert!(steps.iter().any(|l| l.starts_with("SCAN")), "{steps:?}");
    }

    #[test]
    fn a_v1_database_with_data_is_migrated_forward() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE_NAME);
        {
            let mut conn = Connection::open(&path).expect("open");
            schema::migrate(&mut conn, &path, 1).expect("v1");
            assert_eq!(schema::check_header(&conn, &path).expect("header"), 1);
            conn.execute_batch(
                "INSERT INTO collections (coll_id, name) VALUES (1, 'a'), (2, 'b');
                 INSERT INTO objects (seq, coll_id, id, type, spec_version, created, modified,
                     version, date_added, origin, markings, sha256, raw, idh)
                 VALUES (1, 1, 'x--1', 'x', '2.1', NULL, NULL, '', 10, 'o', '', x'00', '{}', 0),
                        (2, 1, 'x--2', 'x', '2.1', NULL, NULL, '', 11, 'o', '', x'00', '{}', 0),
                        (3, 2, 'x--3', 'x', '2.1', NULL, NULL, '', 12, 'o', '', x'00', '{}', 0);",
            )
            .expect("v1 data");
        }
        let mut s = SqliteStore::open(dir.path()).expect("migrate");
        assert_eq!(
            schema::check_header(&s.read, &path).expect("header"),
            MIGRATIONS.len() as i64
        );
        assert_eq!(s.count(Some("a")).expect("count"), 2);
        assert_eq!(s.count(Some("b")).expect("count"), 1);
        // The writer carries on after the old data: seq and date_added grow.
        let out = s
            .put_batch(&[obj("{}", "x--4", "x", None, "a")])
            .expect("put");
        assert_eq!(out, vec![PutOutcome::Stored { seq: 4 }]);
        assert_eq!(s.count(Some("a")).expect("count"), 3);
        let page = s
            .query(
                &Query {
                    collection: Some("a".into()),
                    ..Query::default()
                },
                10,
            )
            .expect("query");
        assert_eq!(page.objects.len(), 3);
        assert!(page.objects[1].date_added < page.objects[2].date_added);
        // The old rows had placeholder hashes: the check names them.
        let Err(StoreError::Corrupt { problems, .. }) = s.integrity_check() else {
            panic!("placeholder hashes went unnoticed")
        };
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(problems[0].contains("x--1"), "{problems:?}");
    }
}
