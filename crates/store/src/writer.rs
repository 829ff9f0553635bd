//! [`Writer`]: group commit on a dedicated thread.
//!
//! One thread owns the only write connection. Submitters hand it batches
//! over a channel; it takes everything queued (up to a bound), writes it in
//! one transaction and commits. A second thread, the syncer, then fsyncs
//! the WAL and only then answers each submitter, so an answer means the
//! batch survives a crash of the process or of the machine. The writer
//! connection runs with `synchronous=NORMAL` (its commit writes the WAL but
//! does not fsync it) and goes straight on to the next transaction while
//! the syncer waits for the disk: one fsync covers every commit made before
//! it started, and the writer's CPU work overlaps the disk's. (With
//! `synchronous=FULL` the writer sat idle in each commit's fsync; about a
//! fifth of bulk ingest.) Many small submissions thus share one fsync, and a
//! single submitter can keep several batches in flight with
//! [`Writer::submit`].
//!
//! Other connections may see a commit before it is durable. Nothing leaves
//! the node that way: the TAXII server answers a GET only once the `out`
//! records of that GET are durable, and they are committed after, so
//! synced after, anything the GET read.
//!
//! If a group fails (a full disk, an I/O error), the transaction is rolled
//! back and each batch of the group is retried alone, so one batch that
//! does not fit cannot fail its neighbours.

use crate::error::{copy_sqlite_error, is_sqlite_full};
use crate::ledger::{self, LedgerSource};
use crate::prepare::{Row, prepare_batch};
use crate::seen::SeenIds;
use crate::{NewObject, PutOutcome, StoreError, VersionFilter};
use accord_ledger::ExchangeRecord;
use crossbeam_channel::{Receiver, Sender};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

/// A group closes once it holds this many objects; the rest waits for the
/// next transaction, so one commit never holds memory without bound.
const MAX_GROUP_OBJECTS: usize = 200_000;

/// The WAL size past which the checkpoint thread makes the WAL start over
/// (see `checkpointer`).
const WAL_LIMIT_BYTES: u64 = 256 << 20;

/// The WAL size at which the checkpoint thread copies it into the database
/// (SQLite's own default is 1,000 pages; ours are 16 KiB).
const CHECKPOINT_BYTES: u64 = 16 << 20;

/// Commits idle this long, the checkpoint thread copies what is left.
const CHECKPOINT_IDLE: std::time::Duration = std::time::Duration::from_millis(500);

/// How many submissions may wait in the channel before submitters block.
const QUEUE_DEPTH: usize = 64;

type Reply = Result<Vec<PutOutcome>, StoreError>;

enum Msg {
    Put {
        batch: u64,
        rows: Vec<Row>,
        /// Leaves that record no stored object (`out` records): JCS
        /// bytes and leaf hash.
        records: Vec<(Vec<u8>, accord_ledger::Hash)>,
        reply: Sender<Reply>,
    },
    SetMaxPages {
        pages: i64,
        reply: Sender<Result<(), StoreError>>,
    },
    Delete {
        collection: String,
        id: String,
        versions: VersionFilter,
        reply: Sender<Result<u64, StoreError>>,
    },
}

/// A handle on the writer thread of one database. Clone it freely (it is
/// `Send + Sync`); the thread stops, after finishing what is queued, when
/// the last clone is dropped.
#[derive(Clone)]
pub struct Writer {
    inner: Arc<Inner>,
    /// Recorded in the ledger for the objects this handle stores.
    source: LedgerSource,
}

struct Inner {
    path: PathBuf,
    tx: Option<Sender<Msg>>,
    next_batch: AtomicU64,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once the queue is empty.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            // A panic on the writer thread has already failed its batches.
            let _ = t.join();
        }
    }
}

/// A submitted batch whose outcome is not known yet.
#[must_use = "a batch is acknowledged only when `wait` returns Ok"]
pub struct Pending {
    path: PathBuf,
    rx: Receiver<Reply>,
}

impl Pending {
    /// Waits until the batch is durable (or failed).
    ///
    /// # Errors
    /// What [`Writer::put_batch`] returns.
    pub fn wait(self) -> Result<Vec<PutOutcome>, StoreError> {
        self.rx
            .recv()
            .unwrap_or(Err(StoreError::WriterStopped { path: self.path }))
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread on an open, migrated write connection.
    pub(crate) fn start(mut conn: Connection, path: PathBuf) -> Result<Writer, StoreError> {
        let (tx, rx) = crossbeam_channel::bounded(QUEUE_DEPTH);
        // Checkpoints (copying the WAL into the database file) run on their
        // own thread and connection, so a commit never waits for one. The
        // hook (set after the pragma, which would replace it) tells that
        // thread how many frames the WAL holds after each commit.
        let wal_frames = Arc::new(AtomicU64::new(0));
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            // The syncer fsyncs after each commit (see the module docs).
            .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|()| {
                let frames = Arc::clone(&wal_frames);
                conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, n: i32| {
                    frames.store(u64::try_from(n).unwrap_or(0), Ordering::Relaxed);
                    Ok(())
                }))
            })
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        let checkpoint_conn = Connection::open(&path)
            .and_then(|c| {
                c.busy_timeout(std::time::Duration::from_secs(10))
                    .map(|()| c)
            })
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        let (ckpt_tx, ckpt_rx) = crossbeam_channel::bounded::<()>(1);
        let checkpoint_thread = spawn("accord-store-checkpoint", &path, {
            let wal = path.with_extension("sqlite-wal");
            move || checkpointer(&checkpoint_conn, &wal, &wal_frames, &ckpt_rx)
        })?;
        let (sync_tx, sync_rx) = crossbeam_channel::unbounded::<Vec<Synced>>();
        let sync_thread = spawn("accord-store-sync", &path, {
            let path = path.clone();
            move || syncer(&path, &sync_rx)
        })?;
        let mut state = WriterState::new(conn, path.clone(), ckpt_tx, sync_tx)?;
        let thread = spawn("accord-store-writer", &path, move || {
            state.run(&rx);
            // Let the syncer answer what is committed, then stop the
            // checkpoint thread and wait for its last checkpoint, so
            // that when the last Writer handle is dropped every answer
            // is sent and nothing touches the database any more.
            state.sync = None;
            let _ = sync_thread.join();
            drop(state);
            let _ = checkpoint_thread.join();
        })?;
        Ok(Writer {
            inner: Arc::new(Inner {
                path,
                tx: Some(tx),
                next_batch: AtomicU64::new(1),
                thread: Some(thread),
            }),
            source: LedgerSource::Local,
        })
    }

    /// The database file this writer writes.
    pub fn db_path(&self) -> &Path {
        &self.inner.path
    }

    /// A handle on the same writer whose stored objects are logged as
    /// received from `partner` (`in` records) rather than `local` ones.
    #[must_use]
    pub fn received_from(&self, partner: &str) -> Writer {
        Writer {
            inner: self.inner.clone(),
            source: if partner.is_empty() {
                LedgerSource::Local
            } else {
                LedgerSource::Partner(partner.to_owned())
            },
        }
    }

    /// Appends exchange records that record no stored object (objects
    /// sent: `out` records) to the ledger, in the next group commit, and
    /// returns once they are durable, with the index of the first.
    ///
    /// # Errors
    /// [`StoreError::InvalidObject`] when a record is not valid (nothing is
    /// appended), [`StoreError::Write`], [`StoreError::WriterStopped`].
    pub fn log_records(&self, records: &[ExchangeRecord]) -> Result<(), StoreError> {
        let batch = self.inner.next_batch.fetch_add(1, Ordering::Relaxed);
        let mut leaves = Vec::with_capacity(records.len());
        for (index, r) in records.iter().enumerate() {
            r.validate().map_err(|e| StoreError::InvalidObject {
                batch,
                index,
                id: r.object_id.clone(),
                reason: format!("ledger record: {e}"),
            })?;
            let leaf = r.to_leaf_bytes();
            let hash = accord_ledger::leaf_hash(&leaf);
            leaves.push((leaf, hash));
        }
        if leaves.is_empty() {
            return Ok(());
        }
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.send(Msg::Put {
            batch,
            rows: Vec::new(),
            records: leaves,
            reply,
        })?;
        Pending {
            path: self.inner.path.clone(),
            rx,
        }
        .wait()
        .map(|_| ())
    }

    /// Checks and copies a batch (on the caller's thread: the content hash
    /// is computed here) and queues it for the writer. Call
    /// [`Pending::wait`] for the outcome; until then the batch is not
    /// acknowledged.
    ///
    /// # Errors
    /// [`StoreError::InvalidObject`] when an object cannot be stored as
    /// given (nothing of the batch is queued), [`StoreError::WriterStopped`]
    /// when the writer thread is gone.
    pub fn submit(&self, objs: &[NewObject<'_>]) -> Result<Pending, StoreError> {
        let batch = self.inner.next_batch.fetch_add(1, Ordering::Relaxed);
        let rows = prepare_batch(objs, batch, &self.source, now_micros())?;
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.send(Msg::Put {
            batch,
            rows,
            records: Vec::new(),
            reply,
        })?;
        Ok(Pending {
            path: self.inner.path.clone(),
            rx,
        })
    }

    /// Stores a batch and returns once it is durable, with one outcome per
    /// object, in order. Writes are idempotent: see [`PutOutcome`].
    ///
    /// # Errors
    /// [`StoreError::InvalidObject`] (nothing stored), [`StoreError::Full`]
    /// and [`StoreError::Write`] (the batch was rolled back, nothing else
    /// is affected), [`StoreError::WriterStopped`].
    pub fn put_batch(&self, objs: &[NewObject<'_>]) -> Result<Vec<PutOutcome>, StoreError> {
        self.submit(objs)?.wait()
    }

    /// Limits the database file to about `bytes` (rounded down to whole
    /// pages), or lifts the limit with `None`. A batch that would grow the
    /// database past the limit fails with [`StoreError::Full`], exactly as
    /// on a full disk. The limit cannot go below the current size.
    ///
    /// # Errors
    /// [`StoreError::Write`] when SQLite refuses the setting,
    /// [`StoreError::WriterStopped`].
    pub fn set_max_size_bytes(&self, bytes: Option<u64>) -> Result<(), StoreError> {
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.send(Msg::SetMaxPages {
            pages: bytes.map_or(i64::from(u32::MAX - 1), |b| {
                i64::try_from(b).unwrap_or(i64::MAX) / PAGE_SIZE
            }),
            reply,
        })?;
        rx.recv().unwrap_or(Err(StoreError::WriterStopped {
            path: self.inner.path.clone(),
        }))
    }

    /// Deletes versions of one object from a collection (TAXII's DELETE of
    /// an object, with its `match[version]`): every version, the first, the
    /// last, or those at given timestamps. Returns how many were deleted; 0
    /// when there was nothing to delete. Durable when it returns, like a put.
    ///
    /// # Errors
    /// [`StoreError::Write`], [`StoreError::WriterStopped`].
    pub fn delete(
        &self,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
    ) -> Result<u64, StoreError> {
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.send(Msg::Delete {
            collection: collection.to_owned(),
            id: id.to_owned(),
            versions: versions.clone(),
            reply,
        })?;
        rx.recv().unwrap_or(Err(StoreError::WriterStopped {
            path: self.inner.path.clone(),
        }))
    }

    fn send(&self, msg: Msg) -> Result<(), StoreError> {
        let stopped = || StoreError::WriterStopped {
            path: self.inner.path.clone(),
        };
        self.inner
            .tx
            .as_ref()
            .ok_or_else(stopped)?
            .send(msg)
            .map_err(|_| stopped())
    }
}

/// The page size of new databases. Rows are ~1 KB of raw JSON and
/// columns; 16 KiB pages hold many, which measured about 35% faster bulk
/// ingest than 4 KiB ones.
pub(crate) const PAGE_SIZE: i64 = 16_384;

/// The writer's one statement for a new object version (public only so
/// that `examples/sqlite_floor.rs` times exactly this statement).
pub const INSERT_SQL: &str = "INSERT INTO objects
    (coll_id, id, type, spec_version, created, modified, version, date_added, origin, markings, sha256, raw, idh, seq, ledger_src)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

const EXISTING_SQL: &str = "SELECT seq, sha256 FROM objects INDEXED BY objects_idh
    WHERE idh = ?1 AND id = ?2 AND version = ?3 AND coll_id = ?4";

/// What the writer thread owns.
struct WriterState {
    conn: Connection,
    path: PathBuf,
    /// Collection name → coll_id, as committed.
    collections: HashMap<String, i64>,
    /// The newest `date_added` this writer committed, in microseconds:
    /// each transaction also reads the newest row's under the write lock,
    /// and this keeps dates growing past rows deleted since.
    last_date_added: i64,
    /// Wakes the checkpoint thread after a commit.
    checkpoint: Sender<()>,
    /// Hands committed work to the syncer, which answers it once durable
    /// (`None` once the writer stops).
    sync: Option<Sender<Vec<Synced>>>,
    /// The id hashes stored (or possibly stored): lets new ids skip the lookup.
    seen: SeenIds,
    /// The number of leaves in the ledger, as committed.
    ledger_size: u64,
}

struct Put {
    batch: u64,
    rows: Vec<Row>,
    records: Vec<(Vec<u8>, accord_ledger::Hash)>,
    reply: Sender<Reply>,
}

impl WriterState {
    fn new(
        conn: Connection,
        path: PathBuf,
        checkpoint: Sender<()>,
        sync: Sender<Vec<Synced>>,
    ) -> Result<WriterState, StoreError> {
        let mut s = WriterState {
            conn,
            path,
            collections: HashMap::new(),
            last_date_added: 0,
            checkpoint,
            sync: Some(sync),
            seen: SeenIds::with_capacity(0),
            ledger_size: 0,
        };
        s.reload().map_err(|source| StoreError::Open {
            path: s.path.clone(),
            source,
        })?;
        Ok(s)
    }

    /// Reads what the writer caches from the committed state; called at
    /// start and after a rollback, which may have dropped new collections.
    fn reload(&mut self) -> rusqlite::Result<()> {
        let mut st = self.conn.prepare("SELECT name, coll_id FROM collections")?;
        self.collections = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        drop(st);
        self.ledger_size = ledger::size_of(&self.conn)?;
        self.rebuild_seen(0)
    }

    /// Refills the id filter from the index (covering scan, no table reads),
    /// sized for at least twice what is stored.
    fn rebuild_seen(&mut self, at_least: u64) -> rusqlite::Result<()> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM objects INDEXED BY objects_idh",
            [],
            |r| r.get(0),
        )?;
        let n = u64::try_from(n).unwrap_or(0);
        let mut seen = SeenIds::with_capacity((2 * n).max(at_least));
        let mut st = self
            .conn
            .prepare("SELECT idh FROM objects INDEXED BY objects_idh")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            seen.insert(r.get(0)?);
        }
        self.seen = seen;
        Ok(())
    }

    fn run(&mut self, rx: &Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut group = Vec::new();
            let mut n = 0;
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Put {
                        batch,
                        rows,
                        records,
                        reply,
                    } => {
                        n += rows.len() + records.len();
                        group.push(Put {
                            batch,
                            rows,
                            records,
                            reply,
                        });
                    }
                    Msg::SetMaxPages { pages, reply } => {
                        // Settings apply between transactions, in order.
                        self.write_group(std::mem::take(&mut group));
                        n = 0;
                        let r = self.set_max_pages(pages);
                        let _ = reply.send(r);
                    }
                    Msg::Delete {
                        collection,
                        id,
                        versions,
                        reply,
                    } => {
                        self.write_group(std::mem::take(&mut group));
                        n = 0;
                        match self.delete(&collection, &id, &versions) {
                            Ok(n) => self.after_sync(vec![Synced::Delete(reply, n)]),
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        }
                    }
                }
                if n < MAX_GROUP_OBJECTS {
                    next = rx.try_recv().ok();
                }
            }
            self.write_group(group);
        }
    }

    fn delete(
        &mut self,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
    ) -> Result<u64, StoreError> {
        let Some(&coll) = self.collections.get(collection) else {
            return Ok(0);
        };
        let which = match versions {
            VersionFilter::All => String::new(),
            VersionFilter::First => {
                " AND version = (SELECT min(version) FROM objects INDEXED BY objects_idh
                 WHERE idh = ?1 AND id = ?2 AND coll_id = ?3)"
                    .to_owned()
            }
            VersionFilter::Last => {
                " AND version = (SELECT max(version) FROM objects INDEXED BY objects_idh
                 WHERE idh = ?1 AND id = ?2 AND coll_id = ?3)"
                    .to_owned()
            }
            VersionFilter::At(ts) => {
                let list: Vec<String> = ts
                    .iter()
                    .map(|t| format!("'{}'", crate::prepare::format_nanos(t)))
                    .collect();
                format!(" AND version IN ({})", list.join(", "))
            }
        };
        let sql = format!(
            "DELETE FROM objects INDEXED BY objects_idh WHERE idh = ?1 AND id = ?2 AND coll_id = ?3{which}"
        );
        let err = |source: rusqlite::Error| StoreError::Write {
            path: self.path.clone(),
            batch: 0,
            n_objects: 0,
            first_id: id.to_owned(),
            source: Box::new(source),
        };
        let tx = self.conn.transaction().map_err(err)?;
        // The ledger records of the versions deleted are rebuilt from their
        // rows: keep them first.
        let doomed: Vec<i64> = tx
            .prepare(&format!(
                "SELECT seq FROM objects INDEXED BY objects_idh WHERE idh = ?1 AND id = ?2 AND coll_id = ?3{which} AND ledger_src IS NOT NULL"
            ))
            .and_then(|mut st| {
                st.query_map(params![crate::prepare::id_hash(id), id, coll], |r| r.get(0))?
                    .collect()
            })
            .map_err(err)?;
        ledger::detach(&tx, &doomed).map_err(err)?;
        let n = tx
            .execute(&sql, params![crate::prepare::id_hash(id), id, coll])
            .map_err(err)?;
        tx.execute(
            "UPDATE collections SET n_versions = n_versions - ?1 WHERE coll_id = ?2",
            params![n as i64, coll],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(n as u64)
    }

    /// The hard bound on the WAL: the checkpoint thread's RESTART can lose
    /// the race for the write lock against back-to-back commits, so past
    /// four times [`WAL_LIMIT_BYTES`] the writer stops and truncates the WAL
    /// itself (it holds no transaction here, so only readers of old
    /// snapshots can delay it). Nothing is lost if it fails: the frames stay
    /// in the WAL for the next checkpoint.
    fn bound_wal(&mut self) {
        let wal = self.path.with_extension("sqlite-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 4 * WAL_LIMIT_BYTES) {
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }

    fn set_max_pages(&mut self, pages: i64) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "max_page_count", pages)
            .map_err(|source| StoreError::Write {
                path: self.path.clone(),
                batch: 0,
                n_objects: 0,
                first_id: String::new(),
                source: Box::new(source),
            })
    }

    /// Writes a group in one transaction and answers its submitters; on
    /// failure retries each batch alone.
    fn write_group(&mut self, group: Vec<Put>) {
        if group.is_empty() {
            return;
        }
        match self.write_txn(&group) {
            Ok(outcomes) => {
                // A full channel means a checkpoint is already due.
                let _ = self.checkpoint.try_send(());
                self.after_sync(
                    group
                        .into_iter()
                        .zip(outcomes)
                        .map(|(put, out)| Synced::Put(put.reply, out, put.rows))
                        .collect(),
                );
                self.bound_wal();
            }
            Err(e) if group.len() == 1 => {
                let put = &group[0];
                let _ = put.reply.send(Err(self.batch_error(put, &e)));
            }
            Err(_) => {
                for put in group {
                    self.write_group(vec![put]);
                }
            }
        }
    }

    /// Answers committed work once the syncer has made it durable.
    fn after_sync(&self, done: Vec<Synced>) {
        let unsent = match &self.sync {
            Some(tx) => match tx.send(done) {
                Ok(()) => return,
                Err(e) => e.into_inner(),
            },
            None => done,
        };
        // No syncer (it cannot stop before the writer): never acknowledge
        // what was not synced.
        for job in unsent {
            drop(job.answer(Err(StoreError::WriterStopped {
                path: self.path.clone(),
            })));
        }
    }

    fn batch_error(&self, put: &Put, e: &rusqlite::Error) -> StoreError {
        let first_id = put.rows.first().map(|r| r.id.clone()).unwrap_or_default();
        if is_sqlite_full(e) {
            StoreError::Full {
                path: self.path.clone(),
                batch: put.batch,
                n_objects: put.rows.len(),
                first_id,
            }
        } else {
            StoreError::Write {
                path: self.path.clone(),
                batch: put.batch,
                n_objects: put.rows.len(),
                first_id,
                source: Box::new(copy_sqlite_error(e)),
            }
        }
    }

    /// One transaction for a group. On error everything is rolled back and
    /// the caches are reloaded from the committed state.
    fn write_txn(&mut self, group: &[Put]) -> rusqlite::Result<Vec<Vec<PutOutcome>>> {
        let start_date = self.last_date_added;
        let start_ledger = self.ledger_size;
        let cached = self.collections.clone();
        match self.try_write_txn(group) {
            Ok((outcomes, last_date)) => {
                self.last_date_added = last_date;
                Ok(outcomes)
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    // Rolling back cannot make things worse; if it fails the
                    // connection is closed by SQLite's own recovery.
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                // The pre-transaction caches match the committed state;
                // reloading also covers a failed COMMIT that did commit.
                self.collections = cached;
                self.last_date_added = start_date;
                self.ledger_size = start_ledger;
                let _ = self.reload();
                Err(e)
            }
        }
    }

    fn try_write_txn(&mut self, group: &[Put]) -> rusqlite::Result<(Vec<Vec<PutOutcome>>, i64)> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        // Read under the write lock (another process may have written):
        // seqs continue from the highest ever assigned, never reusing the
        // seq of a deleted version (its ledger record names it).
        // So is the newest date_added, which another process may have set.
        let (first_seq, newest_date): (i64, Option<i64>) = self.conn.query_row(
            "SELECT max(coalesce((SELECT value FROM store_meta WHERE key = 'seq_hwm'), 0),
                        coalesce((SELECT max(seq) FROM objects), 0)) + 1,
                    (SELECT date_added FROM objects ORDER BY seq DESC LIMIT 1)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut next_seq = first_seq;
        let now = now_micros();
        let mut date = self
            .last_date_added
            .max(newest_date.unwrap_or(0))
            .max(now - 1);
        let mut added: HashMap<i64, i64> = HashMap::new();
        let mut all = Vec::with_capacity(group.len());
        // The ledger leaves of this transaction, with the object seq each
        // records (built and hashed by the submitters).
        let mut leaves: Vec<ledger::NewLeaf<'_>> = Vec::new();
        {
            let mut insert = self.conn.prepare_cached(INSERT_SQL)?;
            let mut existing = self.conn.prepare_cached(EXISTING_SQL)?;
            for put in group {
                let mut outcomes = Vec::with_capacity(put.rows.len());
                for r in &put.rows {
                    let coll = match self.collections.get(&r.collection) {
                        Some(&c) => c,
                        None => {
                            self.conn.execute(
                                "INSERT INTO collections (name) VALUES (?1)",
                                [&r.collection],
                            )?;
                            let c = self.conn.last_insert_rowid();
                            self.collections.insert(r.collection.clone(), c);
                            c
                        }
                    };
                    // The only writer checks before inserting, so
                    // (collection, id, version) stays unique.
                    let found: Option<(i64, Vec<u8>)> = if self.seen.may_contain(r.idh) {
                        existing
                            .query_row(params![r.idh, r.id, r.version, coll], |row| {
                                Ok((row.get(0)?, row.get(1)?))
                            })
                            .optional()?
                    } else {
                        None
                    };
                    if let Some((seq, hash)) = found {
                        outcomes.push(if hash[..] == r.sha256[..] {
                            PutOutcome::Duplicate { seq }
                        } else {
                            PutOutcome::Conflict { existing_seq: seq }
                        });
                        continue;
                    }
                    // date_added strictly grows with seq, whatever the clock
                    // does, so a seq cursor and added_after agree.
                    date += 1;
                    insert.execute(params![
                        coll,
                        r.id,
                        r.type_name,
                        r.spec_version,
                        r.created,
                        r.modified,
                        r.version,
                        date,
                        r.origin,
                        r.markings,
                        &r.sha256[..],
                        r.raw,
                        r.idh,
                        next_seq,
                        r.ledger_src,
                    ])?;
                    let seq = next_seq;
                    next_seq += 1;
                    self.seen.insert(r.idh);
                    *added.entry(coll).or_default() += 1;
                    leaves.push(ledger::NewLeaf {
                        bytes: &r.leaf,
                        hash: r.leaf_hash,
                        seq: Some(seq),
                        rebuild: r.ledger_src.is_some(),
                    });
                    outcomes.push(PutOutcome::Stored { seq });
                }
                leaves.extend(put.records.iter().map(|(bytes, hash)| ledger::NewLeaf {
                    bytes,
                    hash: *hash,
                    seq: None,
                    rebuild: false,
                }));
                all.push(outcomes);
            }
            let mut bump = self.conn.prepare_cached(
                "UPDATE collections SET n_versions = n_versions + ?1 WHERE coll_id = ?2",
            )?;
            for (coll, n) in &added {
                bump.execute(params![n, coll])?;
            }
            if next_seq > first_seq {
                self.conn
                    .prepare_cached(
                        "UPDATE store_meta SET value = max(value, ?1) WHERE key = 'seq_hwm'",
                    )?
                    .execute([next_seq - 1])?;
            }
        }
        // The log grows in the same transaction as the objects it records.
        if !leaves.is_empty() && cfg!(not(feature = "bench-no-ledger")) {
            // Read under the write lock: another process (`accord sync`
            // beside a running server) may have appended since.
            self.ledger_size = ledger::size_of(&self.conn)?;
            let appended = ledger::append(&self.conn, self.ledger_size, &leaves)?;
            self.ledger_size = appended.new_size;
        }
        self.conn.execute_batch("COMMIT")?;
        if self.seen.is_over_capacity() {
            // The commit is done: a failed rebuild must not fail the batch.
            // Fall back to a filter that always answers "maybe" (every id
            // is looked up), which is slower but never wrong.
            let cap = self.seen.capacity() * 2;
            if self.rebuild_seen(cap).is_err() {
                self.seen = SeenIds::saturated();
            }
        }
        Ok((all, date))
    }
}

/// Copies committed WAL frames into the database file, without blocking
/// the writer (PASSIVE), once [`CHECKPOINT_BYTES`] of frames were committed
/// since the last checkpoint, or when commits have stopped for
/// [`CHECKPOINT_IDLE`]. Not after every commit: a checkpoint costs an fsync
/// of the database file, which competes with the writer's own at every
/// small commit (a TAXII GET's `out` records), and it grows the file,
/// which makes every memory-mapped reader remap it. `wal_frames` is the
/// WAL's frame count after the last commit (from the writer's WAL hook):
/// the WAL file's length says nothing once SQLite writes it again from the
/// start. Ends when the writer stops. A failed checkpoint (a full disk,
/// say) loses nothing: the frames stay in the WAL for the next one.
fn checkpointer(conn: &Connection, wal: &Path, wal_frames: &AtomicU64, wake: &Receiver<()>) {
    let wal_len = || std::fs::metadata(wal).map_or(0, |m| m.len());
    let page = conn
        .pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))
        .ok()
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(4096)
        .max(512);
    let due_frames = CHECKPOINT_BYTES / page;
    let mut pending = false;
    // Frames of the WAL already copied by the last checkpoint.
    let mut backfilled = 0u64;
    loop {
        match wake.recv_timeout(CHECKPOINT_IDLE) {
            Ok(()) => {
                pending = true;
                let frames = wal_frames.load(Ordering::Relaxed);
                if frames < backfilled {
                    // The WAL started over.
                    backfilled = 0;
                }
                if frames - backfilled < due_frames {
                    continue;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if !pending {
                    continue;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        pending = false;
        // Its row is (busy, frames in the WAL, frames copied).
        if let Ok(copied) =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2))
        {
            backfilled = u64::try_from(copied).unwrap_or(0);
        }
        // PASSIVE copies frames while the writer goes on appending, so the
        // WAL never drains by itself and SQLite only starts it over once a
        // checkpoint has caught up with every frame. Past the limit, a
        // TRUNCATE checkpoint waits (briefly: most frames are copied
        // already) for the writer's current commit, finishes, and empties
        // the file: the next commit writes the WAL from its start.
        if wal_len() > WAL_LIMIT_BYTES {
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            backfilled = 0;
        }
    }
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Committed work waiting for the WAL to reach the disk.
enum Synced {
    /// A put's answer, with its rows: the syncer frees them once every
    /// answer is sent, so the writer thread does not (freeing a group's
    /// rows was about a tenth of its time in bulk ingest).
    Put(Sender<Reply>, Vec<PutOutcome>, Vec<Row>),
    Delete(Sender<Result<u64, StoreError>>, u64),
}

impl Synced {
    /// Sends the outcome, or `err` instead of it. A submitter that stopped
    /// waiting does not matter. Returns the put's rows, to be freed.
    fn answer(self, err: Result<(), StoreError>) -> Vec<Row> {
        match self {
            Synced::Put(reply, out, rows) => {
                let _ = reply.send(err.map(|()| out));
                rows
            }
            Synced::Delete(reply, n) => {
                let _ = reply.send(err.map(|()| n));
                Vec::new()
            }
        }
    }
}

/// The syncer thread: takes everything committed so far, fsyncs the WAL
/// once for all of it, and answers. After a failed sync it answers every
/// later commit with the first failure too: Linux may drop the dirty pages
/// whose write-back failed, so a later sync that succeeds proves nothing
/// about them.
fn syncer(db: &Path, rx: &Receiver<Vec<Synced>>) {
    let wal = db.with_extension("sqlite-wal");
    let mut failed: Option<(std::io::ErrorKind, String)> = None;
    // The WAL file whose directory entry was last made durable.
    let mut dir_synced: Option<u64> = None;
    while let Ok(mut jobs) = rx.recv() {
        while let Ok(more) = rx.try_recv() {
            jobs.extend(more);
        }
        if failed.is_none()
            && let Err(e) = sync_wal(&wal, &mut dir_synced)
        {
            failed = Some((e.kind(), e.to_string()));
        }
        let spent: Vec<Vec<Row>> = jobs
            .into_iter()
            .map(|job| {
                job.answer(match &failed {
                    None => Ok(()),
                    Some((kind, msg)) => Err(StoreError::NotDurable {
                        path: db.to_owned(),
                        source: std::io::Error::new(*kind, msg.clone()),
                    }),
                })
            })
            .collect();
        drop(spent);
    }
}

/// fsyncs the WAL file (and, when the file is new, its directory). The
/// file is opened afresh each time: an fsync applies to the file, not to
/// the descriptor, and the WAL may have been truncated since.
fn sync_wal(wal: &Path, dir_synced: &mut Option<u64>) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let f = std::fs::File::open(wal)?;
    f.sync_data()?;
    let ino = f.metadata()?.ino();
    if *dir_synced != Some(ino) {
        if let Some(dir) = wal.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        *dir_synced = Some(ino);
    }
    Ok(())
}

/// Starts a named thread of the writer; failing to is an open error.
fn spawn<T: Send + 'static>(
    name: &str,
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| StoreError::Open {
            path: path.to_owned(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(format!("cannot start thread {name}: {e}")),
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_job() -> (Synced, Receiver<Reply>) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        (
            Synced::Put(tx, vec![PutOutcome::Stored { seq: 1 }], Vec::new()),
            rx,
        )
    }

    #[test]
    fn syncer_answers_after_the_sync_and_never_after_a_failed_one() {
        let dir = std::env::temp_dir().join(format!("accord-syncer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("accord.sqlite");
        let wal = db.with_extension("sqlite-wal");
        std::fs::write(&wal, b"frames").unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let thread = std::thread::spawn(move || syncer(&db, &rx));

        // A WAL that syncs: the outcome comes through unchanged.
        let (job, answer) = put_job();
        tx.send(vec![job]).unwrap();
        assert!(matches!(
            answer.recv().unwrap().unwrap()[..],
            [PutOutcome::Stored { seq: 1 }]
        ));
        let (dtx, drx) = crossbeam_channel::bounded(1);
        tx.send(vec![Synced::Delete(dtx, 3)]).unwrap();
        assert_eq!(drx.recv().unwrap().unwrap(), 3);

        // The WAL cannot be synced (gone): not acknowledged.
        std::fs::remove_file(&wal).unwrap();
        let (job, answer) = put_job();
        tx.send(vec![job]).unwrap();
        let e = answer.recv().unwrap().unwrap_err();
        assert!(matches!(e, StoreError::NotDurable { .. }), "{e}");
        assert!(e.to_string().contains("not acknowledged"), "{e}");

        // Even once it could be synced again, nothing more is acknowledged.
        std::fs::write(&wal, b"frames").unwrap();
        let (job, answer) = put_job();
        tx.send(vec![job]).unwrap();
        assert!(matches!(
            answer.recv().unwrap(),
            Err(StoreError::NotDurable { .. })
        ));
        drop(tx);
        thread.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
