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

mod checkpointer;
mod state;
mod sync_thread;

use checkpointer::{WalShared, checkpointer};
pub use state::INSERT_SQL;
pub(crate) use state::PAGE_SIZE;
use state::WriterState;
use sync_thread::{Synced, syncer};

use crate::ledger::LedgerSource;
use crate::prepare::{Row, prepare_batch_rebuilt};
use crate::{NewObject, PutOutcome, StoreError, VersionFilter};
use accord_ledger::ExchangeRecord;
use accord_stix::Clock;
use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

/// A group closes once it holds this many objects; the rest waits for the
/// next transaction, so one commit never holds memory without bound.
const MAX_GROUP_OBJECTS: usize = 200_000;

/// The WAL size past which the writer makes the WAL start over: between
/// two transactions it copies what the checkpoint thread has not, so that
/// SQLite writes the next commit from the WAL's start, over pages the OS
/// still caches with their blocks allocated (see
/// `WriterState::restart_wal`). Each time costs the writer a pause (the
/// last commit copied and the database file synced: 0.1-0.2 s in a bulk
/// ingest on the benchmark VM), so not too often. Measured on 1,000,000
/// indicators (1.4 GB of WAL frames): at 64 MiB the pauses cost the
/// ingest more than the kernel's page allocation had; at 256 MiB its
/// rate was 0.91 of never restarting, at 512 MiB 0.96, and the whole
/// command 1.1 times faster either way (the last copy is short).
#[cfg(not(test))]
const WAL_RESTART_BYTES: u64 = 512 << 20;
/// Small in unit tests, so that a few megabytes of objects cross it.
#[cfg(test)]
const WAL_RESTART_BYTES: u64 = 1 << 20;

/// The size a WAL that grew further (a large transaction, a reader that
/// held an old snapshot) is cut back to when it starts over
/// (`journal_size_limit`: above [`WAL_RESTART_BYTES`] by a large group's
/// frames, so the usual overshoot keeps its pages); past four times this
/// the writer truncates it.
const WAL_LIMIT_BYTES: u64 = 768 << 20;

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
        /// A push journal step committed with the records.
        push: Option<PushStep>,
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

/// What a push batch's `out` records are committed with
/// ([`Writer::log_push`]), in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushStep {
    /// The objects are about to be POSTed to the partner: keep them in the
    /// push journal under the cursor `key` until
    /// [`SqliteStore::push_acked`](crate::SqliteStore::push_acked) moves
    /// the cursor to `last_seq`. Fails (nothing committed) when a batch is
    /// already pending under `key`.
    Pending {
        /// The push cursor's key.
        key: String,
        /// The cursor the batch was read after (0 when there was none):
        /// when another push moved it since, nothing is committed.
        after: i64,
        /// The seq the cursor moves to once the partner acknowledged.
        last_seq: i64,
        /// The objects, exactly as released.
        objects: Vec<String>,
    },
    /// Nothing of the batch is to be POSTed (all withheld, or sent back to
    /// nobody): the cursor `key` moves to `last_seq` now.
    Done {
        /// The push cursor's key.
        key: String,
        /// The cursor the batch was read after, as for `Pending`.
        after: i64,
        /// The cursor's new value.
        last_seq: i64,
    },
}

impl PushStep {
    /// The cursor key.
    pub fn key(&self) -> &str {
        match self {
            PushStep::Pending { key, .. } | PushStep::Done { key, .. } => key,
        }
    }
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
    /// Stamps `date_added` and the ledger records' times.
    clock: Arc<dyn Clock>,
    tx: Option<Sender<Msg>>,
    next_batch: AtomicU64,
    thread: Option<JoinHandle<()>>,
    /// Why a lazily started writer has no thread ([`Writer::stopped`]).
    not_started: Option<String>,
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
    /// The receiving end of one batch's outcome, for another backend's
    /// writer; `path` names the store in [`StoreError::WriterStopped`].
    pub(crate) fn new(path: PathBuf, rx: Receiver<Result<Vec<PutOutcome>, StoreError>>) -> Pending {
        Pending { path, rx }
    }

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
    /// Starts the writer thread on an open, migrated write connection;
    /// `clock` stamps `date_added` and the ledger records' times.
    pub(crate) fn start(
        mut conn: Connection,
        path: PathBuf,
        clock: Arc<dyn Clock>,
    ) -> Result<Writer, StoreError> {
        let (tx, rx) = crossbeam_channel::bounded(QUEUE_DEPTH);
        // Checkpoints (copying the WAL into the database file) run on their
        // own thread and connection, so a commit never waits for one. The
        // hook (set after the pragma, which would replace it) tells that
        // thread how many frames the WAL holds after each commit.
        let wal = Arc::new(WalShared::new(&conn));
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            // The syncer fsyncs after each commit (see the module docs).
            .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
            // A WAL that starts over is cut back to this size (see
            // `checkpointer`).
            .and_then(|()| {
                conn.pragma_update(
                    None,
                    "journal_size_limit",
                    i64::try_from(WAL_LIMIT_BYTES).unwrap_or(i64::MAX),
                )
            })
            .and_then(|()| {
                let wal = Arc::clone(&wal);
                conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, n: i32| {
                    wal.frames
                        .store(u64::try_from(n).unwrap_or(0), Ordering::Relaxed);
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
            let wal = Arc::clone(&wal);
            move || checkpointer(&checkpoint_conn, &wal, &ckpt_rx)
        })?;
        let (sync_tx, sync_rx) = crossbeam_channel::unbounded::<Vec<Synced>>();
        let sync_thread = spawn("accord-store-sync", &path, {
            let path = path.clone();
            move || syncer(&path, &sync_rx)
        })?;
        let mut state = WriterState::new(
            conn,
            path.clone(),
            Arc::clone(&clock),
            ckpt_tx,
            sync_tx,
            wal,
        )?;
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
                clock,
                tx: Some(tx),
                next_batch: AtomicU64::new(1),
                thread: Some(thread),
                not_started: None,
            }),
            source: LedgerSource::Local,
        })
    }

    /// A writer with no thread: every write fails with
    /// [`StoreError::WriterNotStarted`] and `reason` (a lazily started
    /// writer that could not start).
    pub(crate) fn stopped(path: PathBuf, clock: Arc<dyn Clock>, reason: String) -> Writer {
        Writer {
            inner: Arc::new(Inner {
                path,
                clock,
                tx: None,
                next_batch: AtomicU64::new(1),
                thread: None,
                not_started: Some(reason),
            }),
            source: LedgerSource::Local,
        }
    }

    /// The database file this writer writes.
    pub fn db_path(&self) -> &Path {
        &self.inner.path
    }

    /// The clock that stamps what this writer stores (the store's, see
    /// [`OpenOptions::clock`](crate::OpenOptions::clock)).
    pub fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
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
    /// returns once they are durable, with the index of the first. A
    /// record without a salt is given a fresh random one.
    ///
    /// # Errors
    /// [`StoreError::InvalidObject`] when a record is not valid (nothing is
    /// appended), [`StoreError::Write`], [`StoreError::WriterStopped`].
    pub fn log_records(&self, records: &[ExchangeRecord]) -> Result<(), StoreError> {
        self.append_records(records, None)
    }

    /// Appends the `out` records of a push batch and, in the same
    /// transaction, its journal step ([`PushStep`]): the objects kept
    /// pending until the partner acknowledges them, or the cursor moved
    /// when nothing is to be POSTed. Returns once durable. A crash at any
    /// point thus leaves either nothing of the batch (it is released again)
    /// or its records and its pending objects (POSTed again, no new
    /// record), never records without the journal.
    ///
    /// # Errors
    /// As [`Writer::log_records`]; [`StoreError::Write`] also when a batch
    /// is already pending under the key (nothing is committed).
    pub fn log_push(&self, records: &[ExchangeRecord], step: PushStep) -> Result<(), StoreError> {
        self.append_records(records, Some(step))
    }

    fn append_records(
        &self,
        records: &[ExchangeRecord],
        push: Option<PushStep>,
    ) -> Result<(), StoreError> {
        let batch = self.inner.next_batch.fetch_add(1, Ordering::Relaxed);
        let leaves = record_leaves(records, batch)?;
        if leaves.is_empty() && push.is_none() {
            return Ok(());
        }
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.send(Msg::Put {
            batch,
            rows: Vec::new(),
            records: leaves,
            push,
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
        let rows = prepare_batch_rebuilt(objs, batch, &self.source, self.inner.clock.now_micros())?;
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.send(Msg::Put {
            batch,
            rows,
            records: Vec::new(),
            push: None,
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
            // At least one page: SQLite reads `max_page_count = 0` as a
            // query and keeps the old limit, so a cap under one page would
            // lift nothing.
            pages: bytes.map_or(i64::from(u32::MAX - 1), |b| {
                (i64::try_from(b).unwrap_or(i64::MAX) / PAGE_SIZE).max(1)
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
        let stopped = || match &self.inner.not_started {
            Some(reason) => StoreError::WriterNotStarted {
                path: self.inner.path.clone(),
                reason: reason.clone(),
            },
            None => StoreError::WriterStopped {
                path: self.inner.path.clone(),
            },
        };
        self.inner
            .tx
            .as_ref()
            .ok_or_else(stopped)?
            .send(msg)
            .map_err(|_| stopped())
    }
}

/// The leaves of `out` records (shared by both backends' writers): each
/// record salted when it has no salt, validated, and turned into its JCS
/// bytes and RFC 9162 leaf hash. `batch` names the batch in errors.
///
/// # Errors
/// [`StoreError::InvalidObject`] naming the first record that is not valid.
pub(crate) fn record_leaves(
    records: &[ExchangeRecord],
    batch: u64,
) -> Result<Vec<(Vec<u8>, accord_ledger::Hash)>, StoreError> {
    // A record without a salt gets a fresh one here (see
    // `accord_ledger::ExchangeRecord::salt`).
    let records = crate::ledger::salted(records).map_err(|reason| StoreError::InvalidObject {
        batch,
        index: 0,
        id: records
            .first()
            .map_or_else(String::new, |r| r.object_id.clone()),
        reason,
    })?;
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
    Ok(leaves)
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
    use crate::{NewObject, PutOutcome, SqliteStore};

    /// Back-to-back commits (batches submitted without waiting) used to
    /// grow the WAL without end: the checkpoint thread never caught up
    /// with the last commit. The writer now makes it start over past
    /// [`super::WAL_RESTART_BYTES`], so the WAL file's length (its high
    /// water mark: it only shrinks when truncated) stays near that.
    #[test]
    fn back_to_back_commits_keep_the_wal_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let pad = "x".repeat(1500);
        let raws: Vec<(String, String)> = (0..12_000)
            .map(|i| {
                let id = format!("indicator--00000000-0000-4000-8000-{i:012}");
                let raw = format!(
                    r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","description":"{pad}"}}"#
                );
                (id, raw)
            })
            .collect();
        let objs: Vec<NewObject<'_>> = raws
            .iter()
            .map(|(id, raw)| NewObject {
                raw,
                id,
                type_name: "indicator",
                spec_version: "2.1",
                created: Some("2020-01-01T00:00:00.000Z"),
                modified: Some("2020-01-01T00:00:00.000Z"),
                markings: vec![],
                collection: "c",
                origin: "test",
            })
            .collect();
        let writer = store.writer();
        let pending: Vec<_> = objs
            .chunks(200)
            .map(|c| writer.submit(c).expect("submit"))
            .collect();
        for p in pending {
            for o in p.wait().expect("stored") {
                assert!(matches!(o, PutOutcome::Stored { .. }), "{o:?}");
            }
        }
        let db = dir.path().join(crate::DB_FILE_NAME);
        let wal = std::fs::metadata(db.with_extension("sqlite-wal"))
            .expect("the WAL")
            .len();
        let db_len = std::fs::metadata(&db).expect("the database").len();
        // ~20 MB of rows went through the WAL; it started over at 1 MiB,
        // a group (at most the 64 queued batches) past it.
        assert!(
            wal < 16 << 20,
            "the WAL grew to {wal} bytes (database {db_len} bytes)"
        );
        assert!(db_len > 16 << 20, "the database holds {db_len} bytes");
    }
}
