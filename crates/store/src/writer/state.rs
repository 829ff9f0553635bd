//! The writer thread: groups queued submissions into transactions, writes
//! objects and their ledger leaves, deletes, and hands committed work to
//! the syncer.

use super::checkpointer::WalShared;
use super::{MAX_GROUP_OBJECTS, Msg, Reply, Synced, WAL_LIMIT_BYTES, WAL_RESTART_BYTES};
use crate::error::{copy_sqlite_error, is_sqlite_full};
use crate::ledger;
use crate::prepare::Row;
use crate::seen::SeenIds;
use crate::{PutOutcome, StoreError, VersionFilter};
use accord_stix::Clock;
use crossbeam_channel::{Receiver, Sender};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

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
pub(super) struct WriterState {
    conn: Connection,
    path: PathBuf,
    /// Stamps `date_added` (kept strictly growing whatever it reads).
    clock: Arc<dyn Clock>,
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
    pub(super) sync: Option<Sender<Vec<Synced>>>,
    /// The id hashes stored (or possibly stored): lets new ids skip the lookup.
    seen: SeenIds,
    /// The number of leaves in the ledger, as committed.
    ledger_size: u64,
    /// The highest object seq this writer knows of (its own or read at
    /// reload): a higher one read under the write lock means another
    /// process (`accord hotline`, `accord sync` beside a running server)
    /// wrote since, so the caches catch up before this transaction.
    known_seq: i64,
    /// The WAL's frame count and the checkpoint lock, shared with the
    /// checkpoint thread.
    wal: Arc<WalShared>,
}

struct Put {
    batch: u64,
    rows: Vec<Row>,
    records: Vec<(Vec<u8>, accord_ledger::Hash)>,
    push: Option<super::PushStep>,
    reply: Sender<Reply>,
}

impl WriterState {
    pub(super) fn new(
        conn: Connection,
        path: PathBuf,
        clock: Arc<dyn Clock>,
        checkpoint: Sender<()>,
        sync: Sender<Vec<Synced>>,
        wal: Arc<WalShared>,
    ) -> Result<WriterState, StoreError> {
        let mut s = WriterState {
            conn,
            path,
            clock,
            collections: HashMap::new(),
            last_date_added: 0,
            checkpoint,
            sync: Some(sync),
            seen: SeenIds::with_capacity(0),
            ledger_size: 0,
            known_seq: 0,
            wal,
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
        self.known_seq = self.seq_high_water()?;
        self.rebuild_seen(0)
    }

    /// The highest seq ever assigned, by any process (deleted ones count).
    fn seq_high_water(&self) -> rusqlite::Result<i64> {
        self.conn.query_row(
            "SELECT max(coalesce((SELECT value FROM store_meta WHERE key = 'seq_hwm'), 0),
                        coalesce((SELECT max(seq) FROM objects), 0))",
            [],
            |r| r.get(0),
        )
    }

    /// Another process wrote objects past `known_seq`: adds their id
    /// hashes to the filter (else a version it stored would not be looked
    /// up, and would be inserted twice) and reloads the collections (it may
    /// have created one). Runs under the write lock, so nothing moves.
    fn catch_up(&mut self, high: i64) -> rusqlite::Result<()> {
        let mut st = self.conn.prepare("SELECT name, coll_id FROM collections")?;
        self.collections = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        drop(st);
        let mut st = self
            .conn
            .prepare("SELECT idh FROM objects WHERE seq > ?1 AND seq <= ?2")?;
        let mut rows = st.query(params![self.known_seq, high])?;
        while let Some(r) = rows.next()? {
            self.seen.insert(r.get(0)?);
        }
        self.known_seq = high;
        Ok(())
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

    pub(super) fn run(&mut self, rx: &Receiver<Msg>) {
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
                        push,
                        reply,
                    } => {
                        n += rows.len() + records.len();
                        group.push(Put {
                            batch,
                            rows,
                            records,
                            push,
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
        let coll = match self.collections.get(collection) {
            Some(&c) => c,
            // Perhaps created by another process since the cache was read.
            None => match self
                .conn
                .query_row(
                    "SELECT coll_id FROM collections WHERE name = ?1",
                    [collection],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
            {
                Ok(Some(c)) => c,
                Ok(None) => return Ok(0),
                Err(source) => {
                    return Err(StoreError::Write {
                        path: self.path.clone(),
                        batch: 0,
                        n_objects: 0,
                        first_id: id.to_owned(),
                        source: Box::new(source),
                    });
                }
            },
        };
        let which = if versions.all {
            String::new()
        } else {
            let mut parts: Vec<String> = Vec::new();
            for (on, f) in [(versions.first, "min"), (versions.last, "max")] {
                if on {
                    parts.push(format!(
                        "version = (SELECT {f}(version) FROM objects INDEXED BY objects_idh
                         WHERE idh = ?1 AND id = ?2 AND coll_id = ?3)"
                    ));
                }
            }
            if !versions.at.is_empty() {
                // Formatted here: nine fractional digits and `Z`, nothing to quote.
                let list: Vec<String> = versions
                    .at
                    .iter()
                    .map(|t| format!("'{}'", crate::prepare::format_nanos(t)))
                    .collect();
                parts.push(format!("version IN ({})", list.join(", ")));
            }
            if parts.is_empty() {
                return Ok(0);
            }
            format!(" AND ({})", parts.join(" OR "))
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

    /// Makes the WAL start over once it holds [`WAL_RESTART_BYTES`].
    /// SQLite does that at the start of a write transaction when every
    /// frame has been copied into the database and no reader still reads
    /// the WAL; while commits follow each other the checkpoint thread never
    /// copies the last one in time, so the WAL would grow without end (1.4
    /// GB for a bulk ingest of 1,000,000 indicators), every commit writing
    /// pages the kernel must allocate anew. Here, between two
    /// transactions, the writer waits for the thread's checkpoint and
    /// copies the rest itself (a PASSIVE checkpoint: it never waits for a
    /// reader). If a reader's old snapshot keeps the WAL from starting
    /// over and it passes four times [`WAL_LIMIT_BYTES`], the writer
    /// truncates it (waiting for readers, up to the busy timeout). Nothing
    /// is lost if either fails: the frames stay in the WAL for the next
    /// checkpoint.
    fn restart_wal(&mut self) {
        let frames = self.wal.frames.load(std::sync::atomic::Ordering::Relaxed);
        let bytes = frames.saturating_mul(self.wal.page_size);
        if bytes < WAL_RESTART_BYTES {
            return;
        }
        let _one = self.wal.lock();
        let mode = if bytes > 4 * WAL_LIMIT_BYTES {
            "TRUNCATE"
        } else {
            "PASSIVE"
        };
        let _ = self
            .conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()));
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
                self.after_sync(
                    group
                        .into_iter()
                        .zip(outcomes)
                        .map(|(put, out)| Synced::Put(put.reply, out, put.rows))
                        .collect(),
                );
                self.restart_wal();
                // A full channel means a checkpoint is already due.
                let _ = self.checkpoint.try_send(());
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
        let first_id = put
            .rows
            .first()
            .map(|r| r.id().to_owned())
            .unwrap_or_default();
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
        if first_seq - 1 > self.known_seq {
            self.catch_up(first_seq - 1)?;
        }
        let mut next_seq = first_seq;
        let now = self.clock.now_micros();
        let mut date = self
            .last_date_added
            .max(newest_date.unwrap_or(0))
            .max(now - 1);
        let mut added: HashMap<i64, i64> = HashMap::new();
        let mut all = Vec::with_capacity(group.len());
        let n_leaves: usize = group.iter().map(|p| p.rows.len() + p.records.len()).sum();
        // The ledger leaves of this transaction, with the object seq each
        // records (built and hashed by the submitters).
        let mut leaves: Vec<ledger::NewLeaf<'_>> = Vec::with_capacity(n_leaves);
        // Whether each row's id may be stored already (else its lookup is
        // skipped), for the whole group in one tight pass before any
        // insert: the filter's cache misses then overlap instead of each
        // stalling between two SQLite inserts. An id is put in the filter
        // as it is checked, so a second version of it later in the group
        // is looked up (and finds the first, inserted by then). Ids of
        // rows that turn out not to be stored, or of a group rolled back,
        // stay in the filter: false positives only, which cost a lookup.
        let maybe: Vec<bool> = group
            .iter()
            .flat_map(|p| &p.rows)
            .map(|r| self.seen.check_and_insert(r.idh))
            .collect();
        let mut maybe = maybe.into_iter();
        // The collection of the previous row: a group is most often one
        // collection, so most rows skip the map.
        let mut last_coll: Option<(&str, i64)> = None;
        {
            let mut insert = self.conn.prepare_cached(INSERT_SQL)?;
            let mut existing = self.conn.prepare_cached(EXISTING_SQL)?;
            for put in group {
                let mut outcomes = Vec::with_capacity(put.rows.len());
                for r in &put.rows {
                    let may_exist = maybe.next().unwrap_or(true);
                    let coll = match last_coll {
                        Some((name, c)) if name == r.collection() => c,
                        _ => match self.collections.get(r.collection()) {
                            Some(&c) => c,
                            None => {
                                // Another process may have created it since
                                // the cache was read.
                                let c: i64 = self.conn.query_row(
                                    "INSERT INTO collections (name) VALUES (?1)
                                 ON CONFLICT (name) DO UPDATE SET name = excluded.name
                                 RETURNING coll_id",
                                    [r.collection()],
                                    |row| row.get(0),
                                )?;
                                self.collections.insert(r.collection().to_owned(), c);
                                c
                            }
                        },
                    };
                    last_coll = Some((r.collection(), coll));
                    // The only writer checks before inserting, so
                    // (collection, id, version) stays unique.
                    let found: Option<(i64, Vec<u8>)> = if may_exist {
                        existing
                            .query_row(params![r.idh, r.id(), r.version(), coll], |row| {
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
                        r.id(),
                        r.type_name(),
                        r.spec_version(),
                        r.created(),
                        r.modified(),
                        r.version(),
                        date,
                        r.origin(),
                        r.markings(),
                        &r.sha256[..],
                        r.raw(),
                        r.idh,
                        next_seq,
                        r.ledger_src(),
                    ])?;
                    let seq = next_seq;
                    next_seq += 1;
                    *added.entry(coll).or_default() += 1;
                    leaves.push(ledger::NewLeaf {
                        bytes: &r.leaf,
                        hash: r.leaf_hash,
                        seq: Some(seq),
                        rebuild: r.ledger_src().is_some(),
                    });
                    outcomes.push(PutOutcome::Stored { seq });
                }
                leaves.extend(put.records.iter().map(|(bytes, hash)| ledger::NewLeaf {
                    bytes,
                    hash: *hash,
                    seq: None,
                    rebuild: false,
                }));
                if let Some(step) = &put.push {
                    crate::sync_state::write_push_step(&self.conn, step)?;
                }
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
        self.known_seq = self.known_seq.max(next_seq - 1);
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
