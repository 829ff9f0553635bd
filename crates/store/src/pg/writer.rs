//! [`PgWriter`]: group commit under the sequencer lock.
//!
//! One thread per process owns the writer's connection. Submitters check
//! and hash their batches on their own threads (`prepare_batch`, shared
//! with the SQLite writer) and queue them; the thread takes everything
//! queued (up to [`MAX_GROUP_OBJECTS`] objects and [`MAX_GROUP_BYTES`] of
//! raw JSON) and writes it in ONE transaction:
//!
//! 1. `SELECT pg_advisory_xact_lock(SEQUENCER_LOCK)`: the writers of every
//!    process are serialized from here to the commit;
//! 2. the high-water marks: `accord_meta` (`seq_hwm`, `ledger_size`,
//!    `last_date_added`), each also checked against the rows themselves;
//! 3. the versions already stored, looked up by (collection, id, version)
//!    in bulk: the same content is a `Duplicate`, other content a
//!    `Conflict` (also between two batches of one group);
//! 4. the new versions, with `seq = hwm + 1, …` and `date_added =
//!    max(now, last + 1µs), …`, by multi-row `INSERT … SELECT unnest(…)`
//!    (a statement per [`INSERT_ROWS`] rows, not one per row);
//! 5. `collections.n_versions`, the ledger leaves (`ledger::append`), the
//!    push journal step, and `accord_meta`;
//! 6. the size cap, then `COMMIT` (`synchronous_commit = on`: durable when
//!    it returns), and only then the answers.
//!
//! A group that fails is rolled back and each of its batches retried
//! alone, so one bad batch (a conflicting push step, a write past the size
//! cap) fails only itself. When the connection breaks (the server
//! restarted), the batches of the transaction in flight fail with
//! [`StoreError::Postgres`] (a commit whose answer was lost may or may not
//! have happened: it is not acknowledged), and the next group connects
//! again; a transaction that could not even begin on the dead connection
//! (nothing of it reached the server) is retried once on a new one.
//!
//! As the table grows (by a fifth, and by at least [`ANALYZE_MIN_ROWS`]
//! versions), the writer gathers its statistics (`ANALYZE (SKIP_LOCKED)`),
//! after answering: the reads' plans need them from the first minute of a
//! bulk load, before autovacuum's next round.

use super::SEQUENCER_LOCK;
use super::ledger::{PgLeaf, append};
use crate::ledger::LedgerSource;
use crate::prepare::{Row, prepare_batch};
use crate::writer::{Pending, PushStep, record_leaves};
use crate::{NewObject, OpenOptions, PutOutcome, StoreError, VersionFilter};
use accord_ledger::ExchangeRecord;
use accord_stix::Clock;
use crossbeam_channel::{Receiver, Sender};
use postgres::{Client, Statement, Transaction};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

/// A group closes once it holds this many objects and records.
pub(crate) const MAX_GROUP_OBJECTS: usize = 50_000;

/// A group closes once its objects' raw JSON reaches this many bytes, so a
/// transaction never holds memory without bound.
pub(crate) const MAX_GROUP_BYTES: usize = 128 << 20;

/// Rows per `INSERT` statement (and per existence lookup), bounded in
/// bytes by [`INSERT_BYTES`] too.
const INSERT_ROWS: usize = 1_000;

/// Raw JSON bytes per `INSERT` statement.
const INSERT_BYTES: usize = 16 << 20;

/// The fewest new versions after which the writer gathers the table's
/// statistics again (see `State::after_growth`).
const ANALYZE_MIN_ROWS: u64 = 5_000;

/// How many submissions may wait before submitters block.
const QUEUE_DEPTH: usize = 64;

/// The `application_name` of the writer's connection (so an operator, or
/// a test, can tell it apart in `pg_stat_activity`).
pub(crate) const WRITER_APPLICATION_NAME: &str = "accord-writer";

type Reply = Result<Vec<PutOutcome>, StoreError>;

/// One queued write.
struct Put {
    batch: u64,
    rows: Vec<Row>,
    /// `out` records: JCS bytes and leaf hash.
    records: Vec<(Vec<u8>, accord_ledger::Hash)>,
    push: Option<PushStep>,
    reply: Sender<Reply>,
}

enum Msg {
    Put(Put),
    SetMaxSize {
        bytes: Option<u64>,
        reply: Sender<Result<(), StoreError>>,
    },
    Delete {
        collection: String,
        id: String,
        versions: VersionFilter,
        reply: Sender<Result<u64, StoreError>>,
    },
}

/// The process's writer over PostgreSQL: a handle on its writer thread.
/// Clone it freely (`Send + Sync`); the thread stops, after finishing
/// what is queued, when the last clone is dropped.
#[derive(Clone)]
pub struct PgWriter {
    inner: Arc<Inner>,
    /// Recorded in the ledger for the objects this handle stores.
    source: LedgerSource,
}

struct Inner {
    /// The server as shown in errors (no password).
    server: String,
    clock: Arc<dyn Clock>,
    tx: Option<Sender<Msg>>,
    next_batch: AtomicU64,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once the queue is empty.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for PgWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgWriter")
            .field("server", &self.inner.server)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl PgWriter {
    /// Connects the writer's own connection to `conn_str` and starts its
    /// thread; `opts` gives the clock and the initial size cap.
    pub(crate) fn start(
        conn_str: &str,
        server: &str,
        opts: &OpenOptions,
    ) -> Result<PgWriter, StoreError> {
        let conn = Conn::open(conn_str, server).map_err(|e| e.into_store(server, "connecting"))?;
        let mut state = State {
            conn_str: conn_str.to_owned(),
            server: server.to_owned(),
            conn,
            clock: Arc::clone(opts.clock_ref()),
            collections: HashMap::new(),
            max_size: opts.max_size(),
            analyzed_rows: 0,
            since_analyze: 0,
        };
        state.analyzed_rows = state.table_rows();
        let (tx, rx) = crossbeam_channel::bounded(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("accord-pg-writer".into())
            .spawn(move || state.run(&rx))
            .map_err(|e| StoreError::Corrupt {
                path: server.into(),
                problems: vec![format!("cannot start the writer thread: {e}")],
            })?;
        Ok(PgWriter {
            inner: Arc::new(Inner {
                server: server.to_owned(),
                clock: Arc::clone(opts.clock_ref()),
                tx: Some(tx),
                next_batch: AtomicU64::new(1),
                thread: Some(thread),
            }),
            source: LedgerSource::Local,
        })
    }

    /// The server this writer writes to, as shown in errors.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// The clock that stamps what this writer stores.
    pub fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
    }

    /// A handle on the same writer whose stored objects are logged as
    /// received from `partner` (`in` records; `local` for an empty name).
    #[must_use]
    pub fn received_from(&self, partner: &str) -> PgWriter {
        PgWriter {
            inner: Arc::clone(&self.inner),
            source: if partner.is_empty() {
                LedgerSource::Local
            } else {
                LedgerSource::Partner(partner.to_owned())
            },
        }
    }

    fn stopped(&self) -> StoreError {
        StoreError::WriterStopped {
            path: self.inner.server.clone().into(),
        }
    }

    fn send(&self, msg: Msg) -> Result<(), StoreError> {
        self.inner
            .tx
            .as_ref()
            .ok_or_else(|| self.stopped())?
            .send(msg)
            .map_err(|_| self.stopped())
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
        self.send(Msg::Put(Put {
            batch,
            rows: Vec::new(),
            records: leaves,
            push,
            reply,
        }))?;
        Pending::new(self.inner.server.clone().into(), rx)
            .wait()
            .map(|_| ())
    }
}

impl crate::ObjectWrite for PgWriter {
    fn submit(&self, objs: &[NewObject<'_>]) -> Result<Pending, StoreError> {
        let batch = self.inner.next_batch.fetch_add(1, Ordering::Relaxed);
        let rows = prepare_batch(objs, batch, &self.source, self.inner.clock.now_micros())?;
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.send(Msg::Put(Put {
            batch,
            rows,
            records: Vec::new(),
            push: None,
            reply,
        }))?;
        Ok(Pending::new(self.inner.server.clone().into(), rx))
    }

    fn delete(
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
        rx.recv().unwrap_or_else(|_| Err(self.stopped()))
    }

    fn log_records(&self, records: &[ExchangeRecord]) -> Result<(), StoreError> {
        self.append_records(records, None)
    }

    fn log_push(&self, records: &[ExchangeRecord], step: PushStep) -> Result<(), StoreError> {
        self.append_records(records, Some(step))
    }

    fn received_from(&self, partner: &str) -> Arc<dyn crate::ObjectWrite> {
        Arc::new(PgWriter::received_from(self, partner))
    }

    fn set_max_size_bytes(&self, bytes: Option<u64>) -> Result<(), StoreError> {
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.send(Msg::SetMaxSize { bytes, reply })?;
        rx.recv().unwrap_or_else(|_| Err(self.stopped()))
    }

    fn to_shared(&self) -> Arc<dyn crate::ObjectWrite> {
        Arc::new(self.clone())
    }
}

/// Why a transaction failed.
enum TxError {
    /// A statement failed: what was being done, and the client's reason.
    Pg {
        what: String,
        source: postgres::Error,
    },
    /// A failure already described (connecting, the ledger's append).
    Store(StoreError),
    /// The transaction would grow the database past the size cap.
    Full,
}

impl TxError {
    fn pg(what: impl Into<String>) -> impl FnOnce(postgres::Error) -> TxError {
        let what = what.into();
        move |source| TxError::Pg { what, source }
    }

    /// The error of a write that is not a batch (a delete, connecting).
    fn into_store(self, server: &str, doing: &str) -> StoreError {
        match self {
            TxError::Pg { what, source } => StoreError::Postgres {
                server: server.to_owned(),
                what: format!("{doing}: {what}"),
                source,
            },
            TxError::Store(e) => e,
            TxError::Full => StoreError::Full {
                path: server.into(),
                batch: 0,
                n_objects: 0,
                first_id: String::new(),
            },
        }
    }
}

/// Where in its transaction a write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Connecting, `BEGIN` or the sequencer lock: nothing was written.
    Begin,
    /// A statement of the body.
    Body,
    /// `COMMIT`.
    Commit,
}

/// The writer's connection and its prepared statements (which belong to
/// that connection, and are prepared again with a new one).
struct Conn {
    client: Client,
    st: Stmts,
}

/// The writer's statements, prepared once per connection.
struct Stmts {
    lookup: Statement,
    insert: Statement,
    meta: Statement,
    set_meta: Statement,
    bump: Statement,
    new_collection: Statement,
}

impl Conn {
    fn open(conn_str: &str, server: &str) -> Result<Conn, TxError> {
        let mut client = super::connect(conn_str, server).map_err(TxError::Store)?;
        client
            // A cluster process's connections are named `accord:NAME`
            // (`cluster::with_application_name`): its writer keeps the
            // name, so `accord cluster status` can tell which process
            // holds the sequencer.
            .batch_execute(&format!(
                "SELECT set_config('application_name', \
                 CASE WHEN current_setting('application_name') LIKE '{prefix}%' \
                 THEN current_setting('application_name') || '{suffix}' \
                 ELSE '{WRITER_APPLICATION_NAME}' END, false)",
                prefix = super::cluster::APP_PREFIX,
                suffix = super::cluster::WRITER_SUFFIX,
            ))
            .map_err(TxError::pg("naming the writer's session"))?;
        let mut prep = |sql: &str| {
            client
                .prepare(sql)
                .map_err(TxError::pg("preparing the writer's statements"))
        };
        let st = Stmts {
            lookup: prep(
                "SELECT o.coll_id, o.id, o.version, o.seq, o.sha256
                 FROM unnest($1::integer[], $2::text[], $3::text[]) AS k (c, i, v)
                 JOIN objects o ON o.coll_id = k.c AND o.id = k.i AND o.version = k.v",
            )?,
            insert: prep(
                "INSERT INTO objects (seq, coll_id, id, type, spec_version, created, modified,
                     version, date_added, origin, markings, sha256, raw, ledger_src)
                 SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[],
                     $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[],
                     $11::text[], $12::bytea[], $13::text[], $14::text[])",
            )?,
            meta: prep(
                "SELECT
                   greatest((SELECT value FROM accord_meta WHERE key = 'seq_hwm'),
                            (SELECT max(seq) FROM objects), 0),
                   coalesce((SELECT value FROM accord_meta WHERE key = 'ledger_size'), 0),
                   greatest((SELECT value FROM accord_meta WHERE key = 'last_date_added'),
                            (SELECT date_added FROM objects ORDER BY seq DESC LIMIT 1), 0)",
            )?,
            set_meta: prep(
                "INSERT INTO accord_meta (key, value) VALUES
                   ('seq_hwm', $1), ('ledger_size', $2), ('last_date_added', $3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?,
            bump: prep(
                "UPDATE collections SET n_versions = n_versions + k.n
                 FROM unnest($1::integer[], $2::bigint[]) AS k (c, n)
                 WHERE coll_id = k.c",
            )?,
            new_collection: prep(
                "INSERT INTO collections (name) VALUES ($1)
                 ON CONFLICT (name) DO UPDATE SET name = excluded.name
                 RETURNING coll_id",
            )?,
        };
        Ok(Conn { client, st })
    }
}

/// A failed transaction: where, and why.
struct Failed {
    stage: Stage,
    err: TxError,
}

/// Runs `body` in one transaction holding the sequencer lock, on the
/// connection in `slot`, connected again first when it broke (if that
/// fails, the broken one stays, and the next transaction tries again). A
/// transaction that could not begin because the connection had broken
/// while idle is retried once on a new connection: nothing of it reached
/// the server.
// A failed transaction is the cold path, once per group: its size costs nothing.
#[allow(clippy::result_large_err)]
fn run_txn<T>(
    slot: &mut Conn,
    conn_str: &str,
    server: &str,
    mut body: impl FnMut(&mut Transaction<'_>, &Stmts) -> Result<T, TxError>,
) -> Result<T, Failed> {
    let mut retried = false;
    loop {
        match attempt_txn(slot, conn_str, server, &mut body) {
            Err(f) if f.stage == Stage::Begin && is_broken(slot) && !retried => retried = true,
            other => return other,
        }
    }
}

/// Whether the writer's connection broke (the next transaction connects
/// again).
fn is_broken(slot: &Conn) -> bool {
    slot.client.is_closed()
}

#[allow(clippy::result_large_err)]
fn attempt_txn<T>(
    slot: &mut Conn,
    conn_str: &str,
    server: &str,
    body: &mut impl FnMut(&mut Transaction<'_>, &Stmts) -> Result<T, TxError>,
) -> Result<T, Failed> {
    let begin = |err| Failed {
        stage: Stage::Begin,
        err,
    };
    if slot.client.is_closed() {
        *slot = Conn::open(conn_str, server).map_err(begin)?;
    }
    let Conn { client, st } = slot;
    let mut tx = client
        .transaction()
        .map_err(|e| begin(TxError::pg("BEGIN")(e)))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])
        .map_err(|e| begin(TxError::pg("taking the sequencer lock")(e)))?;
    let out = body(&mut tx, st).map_err(|err| Failed {
        stage: Stage::Body,
        err,
    })?;
    tx.commit().map_err(|e| Failed {
        stage: Stage::Commit,
        err: TxError::pg("COMMIT")(e),
    })?;
    Ok(out)
}

/// What the writer thread owns.
struct State {
    conn_str: String,
    server: String,
    /// The connection (closed once broken, until the next transaction
    /// connects again).
    conn: Conn,
    /// Stamps `date_added`.
    clock: Arc<dyn Clock>,
    /// Collection name → coll_id, as committed (collections are never
    /// deleted, so an id once committed stays right).
    collections: HashMap<String, i32>,
    /// The cap on `pg_database_size`, if any.
    max_size: Option<u64>,
    /// The rows `objects` had when its statistics were last gathered
    /// (by this writer, or as `pg_class` said at start).
    analyzed_rows: u64,
    /// The versions this writer stored since.
    since_analyze: u64,
}

/// The outcome of one group's transaction.
struct Written {
    outcomes: Vec<Vec<PutOutcome>>,
    /// Collections created by it.
    created: Vec<(String, i32)>,
}

impl State {
    fn run(&mut self, rx: &Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut group: Vec<Put> = Vec::new();
            let (mut n, mut bytes) = (0usize, 0usize);
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Put(put) => {
                        n += put.rows.len() + put.records.len() + 1;
                        bytes += put.rows.iter().map(|r| r.raw().len()).sum::<usize>();
                        group.push(put);
                    }
                    Msg::SetMaxSize { bytes: cap, reply } => {
                        // Settings apply between transactions, in order.
                        self.write_group(std::mem::take(&mut group));
                        (n, bytes) = (0, 0);
                        self.max_size = cap;
                        let _ = reply.send(Ok(()));
                    }
                    Msg::Delete {
                        collection,
                        id,
                        versions,
                        reply,
                    } => {
                        self.write_group(std::mem::take(&mut group));
                        (n, bytes) = (0, 0);
                        let _ = reply.send(self.delete(&collection, &id, &versions));
                    }
                }
                if n < MAX_GROUP_OBJECTS && bytes < MAX_GROUP_BYTES {
                    next = rx.try_recv().ok();
                }
            }
            self.write_group(group);
        }
    }

    /// Writes a group in one transaction and answers its submitters; when
    /// it fails, retries each batch alone (unless the connection broke:
    /// then every batch in flight fails).
    fn write_group(&mut self, group: Vec<Put>) {
        if group.is_empty() {
            return;
        }
        let State {
            conn_str,
            server,
            conn,
            clock,
            collections,
            max_size,
            ..
        } = self;
        let result = run_txn(conn, conn_str, server, |tx, st| {
            write_txn(tx, st, server, &**clock, collections, *max_size, &group)
        });
        match result {
            Ok(w) => {
                self.collections.extend(w.created);
                let stored = w
                    .outcomes
                    .iter()
                    .flatten()
                    .filter(|o| matches!(o, PutOutcome::Stored { .. }))
                    .count();
                for (put, out) in group.into_iter().zip(w.outcomes) {
                    let _ = put.reply.send(Ok(out));
                }
                self.after_growth(stored as u64);
            }
            Err(f) if group.len() == 1 => {
                let put = &group[0];
                let _ = put.reply.send(Err(self.batch_error(put, f)));
            }
            Err(f) if is_broken(&self.conn) => {
                // The connection broke with the group in flight (or could
                // not be opened again): every batch of it fails, none is
                // retried (after a lost COMMIT answer the group may be
                // stored, and its records would be appended twice); the
                // next group connects again.
                let mut first = Some(f);
                for put in &group {
                    let f = first.take().unwrap_or_else(|| self.closed_failure());
                    let _ = put.reply.send(Err(self.batch_error(put, f)));
                }
            }
            Err(_) => {
                for put in group {
                    self.write_group(vec![put]);
                }
            }
        }
    }

    /// Gathers the statistics of `objects` once it grew by a fifth (and
    /// by at least [`ANALYZE_MIN_ROWS`]) since they were last gathered.
    /// Without them (a table just filled, before autovacuum's next round)
    /// the planner takes a collection for a few dozen rows and sorts all
    /// of it for every page. `SKIP_LOCKED`: never waits for autovacuum.
    /// After the answers, so no submitter waits for it; its failure only
    /// leaves the planner with the statistics it had.
    fn after_growth(&mut self, stored: u64) {
        self.since_analyze += stored;
        if self.since_analyze < ANALYZE_MIN_ROWS.max(self.analyzed_rows / 5) {
            return;
        }
        if !self.conn.client.is_closed()
            && self
                .conn
                .client
                .batch_execute("ANALYZE (SKIP_LOCKED) objects, collections")
                .is_ok()
        {
            self.analyzed_rows = self.table_rows().max(self.analyzed_rows);
            self.since_analyze = 0;
        }
    }

    /// The rows of `objects` as its statistics say (0 when never gathered).
    fn table_rows(&mut self) -> u64 {
        self.conn
            .client
            .query_one(
                "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'objects'::regclass",
                &[],
            )
            .map_or(0, |r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0))
    }

    /// The failure of a batch whose group was in flight when the
    /// connection broke: a statement on the closed client gives the
    /// client's own reason.
    fn closed_failure(&mut self) -> Failed {
        Failed {
            stage: Stage::Body,
            err: match self.conn.client.batch_execute("") {
                Err(source) => TxError::Pg {
                    what: "the connection broke while its group was written".into(),
                    source,
                },
                // Open after all: nothing of the group was committed.
                Ok(()) => TxError::Store(StoreError::WriterStopped {
                    path: self.server.clone().into(),
                }),
            },
        }
    }

    fn batch_error(&self, put: &Put, f: Failed) -> StoreError {
        let first_id = put
            .rows
            .first()
            .map(|r| r.id().to_owned())
            .unwrap_or_default();
        let what_batch = || {
            if put.rows.is_empty() {
                format!(
                    "writing batch {} of {} ledger records{}",
                    put.batch,
                    put.records.len(),
                    put.push
                        .as_ref()
                        .map_or_else(String::new, |p| format!(" (push `{}`)", p.key()))
                )
            } else {
                format!(
                    "writing batch {} of {} objects (first id `{first_id}`)",
                    put.batch,
                    put.rows.len()
                )
            }
        };
        let uncertain = if f.stage == Stage::Commit {
            " (the answer to COMMIT was lost: the batch may be stored, it is not acknowledged)"
        } else {
            ""
        };
        match f.err {
            TxError::Pg { what, source } => StoreError::Postgres {
                server: self.server.clone(),
                what: format!("{}: {what}{uncertain}", what_batch()),
                source,
            },
            TxError::Store(e) => e,
            TxError::Full => StoreError::Full {
                path: self.server.clone().into(),
                batch: put.batch,
                n_objects: put.rows.len(),
                first_id,
            },
        }
    }

    fn delete(
        &mut self,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
    ) -> Result<u64, StoreError> {
        let mut parts: Vec<&str> = Vec::new();
        if !versions.all {
            if versions.first {
                parts.push(
                    "o.version = (SELECT min(n.version COLLATE \"C\") FROM objects n
                                  WHERE n.coll_id = o.coll_id AND n.id = o.id)",
                );
            }
            if versions.last {
                parts.push(
                    "o.version = (SELECT max(n.version COLLATE \"C\") FROM objects n
                                  WHERE n.coll_id = o.coll_id AND n.id = o.id)",
                );
            }
            if !versions.at.is_empty() {
                parts.push("o.version = ANY($3)");
            }
            if parts.is_empty() {
                return Ok(0);
            }
        }
        let which = if parts.is_empty() {
            String::new()
        } else {
            format!(" AND ({})", parts.join(" OR "))
        };
        let sql = format!(
            "DELETE FROM objects o
             WHERE o.coll_id = (SELECT coll_id FROM collections WHERE name = $1)
               AND o.id = $2{which}"
        );
        let at: Vec<String> = versions
            .at
            .iter()
            .map(crate::prepare::format_nanos)
            .collect();
        let State {
            conn_str,
            server,
            conn,
            ..
        } = self;
        run_txn(conn, conn_str, server, |tx, _| {
            let n = if which.contains("$3") {
                tx.execute(&sql, &[&collection, &id, &at])
            } else {
                tx.execute(&sql, &[&collection, &id])
            }
            .map_err(TxError::pg("deleting the versions"))?;
            if n > 0 {
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                tx.execute(
                    "UPDATE collections SET n_versions = n_versions - $1 WHERE name = $2",
                    &[&n, &collection],
                )
                .map_err(TxError::pg("counting the versions deleted"))?;
            }
            Ok(n)
        })
        .map_err(|f| {
            let uncertain = if f.stage == Stage::Commit {
                " (the answer to COMMIT was lost: it may have happened)"
            } else {
                ""
            };
            f.err.into_store(
                &self.server,
                &format!("deleting `{id}` from `{collection}`{uncertain}"),
            )
        })
    }
}

/// The body of a group's transaction (the sequencer lock is held).
fn write_txn(
    tx: &mut Transaction<'_>,
    st: &Stmts,
    server: &str,
    clock: &dyn Clock,
    cached: &HashMap<String, i32>,
    max_size: Option<u64>,
    group: &[Put],
) -> Result<Written, TxError> {
    let size_before = match max_size {
        Some(_) => Some(database_size(tx)?),
        None => None,
    };
    let meta = tx
        .query_one(&st.meta, &[])
        .map_err(TxError::pg("reading the high-water marks"))?;
    let (hwm, ledger_size, last_date): (i64, i64, i64) = (meta.get(0), meta.get(1), meta.get(2));

    // The collections, created on first use.
    let mut colls: HashMap<&str, i32> = HashMap::new();
    let mut created: Vec<(String, i32)> = Vec::new();
    for r in group.iter().flat_map(|p| &p.rows) {
        if colls.contains_key(r.collection()) {
            continue;
        }
        let c = match cached.get(r.collection()) {
            Some(&c) => c,
            None => {
                let c: i32 = tx
                    .query_one(&st.new_collection, &[&r.collection()])
                    .map_err(TxError::pg(format!(
                        "creating collection `{}`",
                        r.collection()
                    )))?
                    .get(0);
                created.push((r.collection().to_owned(), c));
                c
            }
        };
        colls.insert(r.collection(), c);
    }

    // The versions already stored, looked up in bulk.
    let rows: Vec<&Row> = group.iter().flat_map(|p| &p.rows).collect();
    let mut known: HashMap<(i32, &str, &str), (i64, [u8; 32])> = HashMap::new();
    let mut by_id: HashMap<&str, Vec<&Row>> = HashMap::new();
    for r in &rows {
        by_id.entry(r.id()).or_default().push(r);
    }
    for chunk in rows.chunks(INSERT_ROWS) {
        let cs: Vec<i32> = chunk.iter().map(|r| colls[r.collection()]).collect();
        let ids: Vec<&str> = chunk.iter().map(|r| r.id()).collect();
        let vs: Vec<&str> = chunk.iter().map(|r| r.version()).collect();
        let found = tx
            .query(&st.lookup, &[&cs, &ids, &vs])
            .map_err(TxError::pg("looking up the versions already stored"))?;
        for f in found {
            let (c, id, v): (i32, String, String) = (f.get(0), f.get(1), f.get(2));
            let (seq, sha): (i64, Vec<u8>) = (f.get(3), f.get(4));
            // The key borrowed from the batch's row (the same text).
            let row = by_id.get(id.as_str()).and_then(|rs| {
                rs.iter()
                    .find(|r| r.version() == v && colls[r.collection()] == c)
            });
            if let Some(r) = row {
                let mut h = [0u8; 32];
                if sha.len() == 32 {
                    h.copy_from_slice(&sha);
                }
                known.insert((c, r.id(), r.version()), (seq, h));
            }
        }
    }

    // Seqs, dates, outcomes; the rows to insert and the leaves to append.
    let mut next_seq = hwm + 1;
    let mut date = last_date.max(clock.now_micros() - 1);
    let mut outcomes = Vec::with_capacity(group.len());
    let mut new_rows: Vec<(i64, i32, i64, &Row)> = Vec::new();
    let mut leaves: Vec<PgLeaf<'_>> = Vec::new();
    let mut added: HashMap<i32, i64> = HashMap::new();
    for put in group {
        let mut out = Vec::with_capacity(put.rows.len());
        for r in &put.rows {
            let c = colls[r.collection()];
            let key = (c, r.id(), r.version());
            if let Some(&(seq, sha)) = known.get(&key) {
                out.push(if sha == r.sha256 {
                    PutOutcome::Duplicate { seq }
                } else {
                    PutOutcome::Conflict { existing_seq: seq }
                });
                continue;
            }
            // date_added strictly grows with seq, whatever the clock does.
            date += 1;
            let seq = next_seq;
            next_seq += 1;
            known.insert(key, (seq, r.sha256));
            new_rows.push((seq, c, date, r));
            *added.entry(c).or_default() += 1;
            leaves.push(PgLeaf {
                bytes: &r.leaf,
                hash: r.leaf_hash,
                seq: Some(seq),
            });
            out.push(PutOutcome::Stored { seq });
        }
        leaves.extend(put.records.iter().map(|(bytes, hash)| PgLeaf {
            bytes,
            hash: *hash,
            seq: None,
        }));
        if let Some(step) = &put.push {
            write_push_step(tx, step)?;
        }
        outcomes.push(out);
    }

    insert_rows(tx, st, &new_rows)?;
    if !added.is_empty() {
        let (cs, ns): (Vec<i32>, Vec<i64>) = added.into_iter().unzip();
        tx.execute(&st.bump, &[&cs, &ns])
            .map_err(TxError::pg("counting the new versions"))?;
    }
    // The log grows in the same transaction as the objects it records.
    let mut new_size = u64::try_from(ledger_size).unwrap_or(0);
    if !leaves.is_empty() && cfg!(not(feature = "bench-no-ledger")) {
        new_size = append(tx, server, new_size, &leaves).map_err(TxError::Store)?;
    }
    let new_size = i64::try_from(new_size).unwrap_or(i64::MAX);
    if next_seq - 1 != hwm || new_size != ledger_size || date != last_date {
        tx.execute(
            &st.set_meta,
            &[&(next_seq - 1), &new_size, &date.max(last_date)],
        )
        .map_err(TxError::pg("moving the high-water marks"))?;
    }
    if let (Some(cap), Some(before)) = (max_size, size_before) {
        let after = database_size(tx)?;
        if after > cap && after > before {
            return Err(TxError::Full);
        }
    }
    Ok(Written { outcomes, created })
}

/// `pg_database_size` of the current database, in bytes.
fn database_size(tx: &mut Transaction<'_>) -> Result<u64, TxError> {
    let n: i64 = tx
        .query_one("SELECT pg_database_size(current_database())", &[])
        .map_err(TxError::pg("reading the database size"))?
        .get(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Inserts the new versions, a multi-row statement per chunk.
fn insert_rows(
    tx: &mut Transaction<'_>,
    st: &Stmts,
    rows: &[(i64, i32, i64, &Row)],
) -> Result<(), TxError> {
    let mut start = 0;
    while start < rows.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < rows.len()
            && end - start < INSERT_ROWS
            && (bytes < INSERT_BYTES || end == start)
        {
            bytes += rows[end].3.raw().len();
            end += 1;
        }
        let chunk = &rows[start..end];
        let seqs: Vec<i64> = chunk.iter().map(|x| x.0).collect();
        let colls: Vec<i32> = chunk.iter().map(|x| x.1).collect();
        let dates: Vec<i64> = chunk.iter().map(|x| x.2).collect();
        let col = |f: fn(&Row) -> &str| -> Vec<&str> { chunk.iter().map(|x| f(x.3)).collect() };
        let opt = |f: fn(&Row) -> Option<&str>| -> Vec<Option<&str>> {
            chunk.iter().map(|x| f(x.3)).collect()
        };
        let ids = col(|r| r.id());
        let types = col(|r| r.type_name());
        let specs = col(|r| r.spec_version());
        let created = opt(|r| r.created());
        let modified = opt(|r| r.modified());
        let versions = col(|r| r.version());
        let origins = col(|r| r.origin());
        let markings = col(|r| r.markings());
        let shas: Vec<&[u8]> = chunk.iter().map(|x| &x.3.sha256[..]).collect();
        let raws = col(|r| r.raw());
        let srcs = opt(|r| r.ledger_src());
        tx.execute(
            &st.insert,
            &[
                &seqs, &colls, &ids, &types, &specs, &created, &modified, &versions, &dates,
                &origins, &markings, &shas, &raws, &srcs,
            ],
        )
        .map_err(TxError::pg(format!(
            "inserting {} objects (first id `{}`)",
            chunk.len(),
            chunk[0].3.id()
        )))?;
        start = end;
    }
    Ok(())
}

/// Writes a push journal step inside the writer's transaction (see
/// [`crate::ObjectWrite::log_push`]): first checks that the cursor is
/// still where the batch was read from, so two pushes racing (in two
/// processes) never both record one batch; a second `Pending` under one
/// key fails on the journal's primary key ("already pending").
fn write_push_step(tx: &mut Transaction<'_>, step: &PushStep) -> Result<(), TxError> {
    let (key, after, last_seq) = match step {
        PushStep::Pending {
            key,
            after,
            last_seq,
            ..
        }
        | PushStep::Done {
            key,
            after,
            last_seq,
        } => (key, *after, *last_seq),
    };
    let now: Option<String> = tx
        .query_opt(
            "SELECT added_after FROM sync_cursors WHERE key = $1",
            &[key],
        )
        .map_err(TxError::pg(format!("reading the push cursor `{key}`")))?
        .map(|r| r.get(0));
    let now = now.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    if now != after {
        let why = format!(
            "push cursor `{key}` is at {now}, not {after}: another push released this batch"
        );
        return Err(TxError::Pg {
            source: raise(tx, &why),
            what: why,
        });
    }
    match step {
        PushStep::Pending { objects, .. } => tx
            .execute(
                "INSERT INTO push_journal (key, last_seq, objects) VALUES ($1, $2, $3)",
                &[key, &last_seq, &crate::sync_state::encode_objects(objects)],
            )
            .map(|_| ())
            .map_err(TxError::pg(format!(
                "keeping the push batch of `{key}` pending (is one already pending?)"
            ))),
        PushStep::Done { .. } => tx
            .execute(
                "INSERT INTO sync_cursors (key, added_after) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET added_after = excluded.added_after",
                &[key, &last_seq.to_string()],
            )
            .map(|_| ())
            .map_err(TxError::pg(format!("moving the push cursor `{key}`"))),
    }
}

/// Makes the server fail the transaction with `message` (a PL/pgSQL
/// `RAISE`), and returns that error: a refusal decided here still rolls
/// the transaction back, and its answer is the server's own error.
fn raise(tx: &mut Transaction<'_>, message: &str) -> postgres::Error {
    // A string literal (quotes doubled) inside a dollar-quoted body that no
    // `$` of the message can end.
    let literal = message
        .replace('\'', "''")
        .replace('$', "' || chr(36) || '");
    let sql = format!(
        "DO $accord$ BEGIN RAISE EXCEPTION USING MESSAGE = '{literal}', \
         ERRCODE = 'serialization_failure'; END $accord$"
    );
    match tx.batch_execute(&sql) {
        Err(e) => e,
        // RAISE always raises; should it not, no row is an error too.
        Ok(()) => match tx.query_one("SELECT 1 WHERE false", &[]) {
            Err(e) => e,
            Ok(_) => unreachable!("SELECT … WHERE false returned a row"),
        },
    }
}
