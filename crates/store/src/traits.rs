//! The store's capabilities, one trait each, so that the application layer
//! and the node depend on what they do with a store rather than on
//! [`SqliteStore`](crate::SqliteStore):
//!
//! | trait           | what it gives                                          |
//! |-----------------|--------------------------------------------------------|
//! | [`ObjectRead`]  | objects: queries by page, versions, counts, checks     |
//! | [`ObjectWrite`] | objects in (group commit), deletes, `out` records      |
//! | [`LedgerRead`]  | the transparency log: size, roots, proofs, tiles, checkpoints, witnessed checkpoints, alerts, the full check |
//! | [`LedgerWrite`] | the ledger's small tables: checkpoints, cosignatures, witnessed checkpoints, alerts |
//! | [`SyncCursors`] | the cursors of `accord sync`, partners' sync health    |
//! | [`Backend`]     | all the reads above on one handle, plus a fresh handle for another thread and the writer |
//!
//! A handle ([`Backend`] and its read traits) is `Send` but not `Sync`: it
//! owns a read connection and caches, used by one thread at a time (a
//! server keeps a pool of them, one per blocking call). The writer
//! ([`ObjectWrite`]) is `Send + Sync` and shared by every thread.
//!
//! **Why [`Writer`] stays a concrete type and [`ObjectWrite`] is a trait
//! too.** [`Writer`] is the SQLite backend's group-commit handle (one
//! thread owning the write connection, a syncer fsyncing the WAL); a
//! PostgreSQL backend would commit differently and have its own handle.
//! So `Writer` keeps its inherent methods (existing code calls them, with
//! no dynamic dispatch) and implements [`ObjectWrite`], which is what code
//! that must not name the backend takes (`&dyn ObjectWrite`,
//! `Arc<dyn ObjectWrite>`). [`Pending`], what [`ObjectWrite::submit`]
//! returns, is backend-neutral: the receiving end of one batch's outcome;
//! a second backend in this crate answers its submitters through it too.
//!
//! **[`Store`](crate::Store)** is the original six-method interface, kept
//! so that existing callers compile unchanged; it is implemented for every
//! [`Backend`]. Its methods have the same names as [`ObjectRead`]'s: import
//! one of the two traits in a module, not both.
//!
//! Every method of these traits has the same name and meaning as the
//! inherent method of [`SqliteStore`](crate::SqliteStore) or [`Writer`] it
//! delegates to, so code moves from the concrete type to a trait without
//! renaming calls (only `import_sync_cursors` takes a slice instead of an
//! iterator, `received_from` returns an `Arc<dyn ObjectWrite>`, and
//! [`Backend::writer`] a `&dyn ObjectWrite`).

use crate::{
    Alert, CollectionInfo, LedgerCheck, LedgerEntry, NewObject, Page, PartnerHealth, Pending,
    PendingPush, PushStep, PutOutcome, Query, RawBuf, RawPage, SqliteStore, StoreError,
    StoredObject, VersionFilter, Witnessed, Writer,
};
use accord_ledger::{ExchangeRecord, Hash, Tile};
use std::sync::Arc;

/// Reading objects: the TAXII GET path and exports.
///
/// Guarantees a backend must keep: a read sees only committed data, and one
/// [`ObjectRead::query`] call reads one snapshot; pages come in increasing
/// `seq`, and paging with `after_seq = last seq seen` neither skips nor
/// repeats an object while writes go on; `date_added` strictly grows with
/// `seq`, so `added_after` and the `seq` cursor agree; a page costs about
/// `limit` rows (index ranges), never the size of a collection.
pub trait ObjectRead {
    /// Up to `limit` objects matching `q` with `seq > q.after_seq`, in
    /// increasing `seq`, and whether more match. See [`Query`].
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn query(&self, q: &Query, limit: usize) -> Result<Page, StoreError> {
        self.query_bounded(q, limit, usize::MAX)
    }

    /// [`ObjectRead::query`] whose page also ends once its objects' raw
    /// JSON reaches `max_bytes`: the object that reaches it is the page's
    /// last (so a page holds at least one object, however large), and
    /// `more` is set. Objects are up to `[limits] stix_max_object_bytes`
    /// each, so a page of `limit` of them is bounded only by this; the
    /// backend stops reading there (the TAXII GET, exports and pushes
    /// keep a page's memory bounded whatever partners stored).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn query_bounded(&self, q: &Query, limit: usize, max_bytes: usize) -> Result<Page, StoreError>;

    /// [`ObjectRead::query`] for readers that need only each version's
    /// seq and raw JSON (building the match index over a whole store):
    /// the same versions, in the same order, without the other columns.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn query_raw(&self, q: &Query, limit: usize) -> Result<RawPage, StoreError> {
        let page = self.query(q, limit)?;
        Ok(RawPage {
            objects: page.objects.into_iter().map(|o| (o.seq, o.raw)).collect(),
            more: page.more,
        })
    }

    /// [`ObjectRead::query_raw`] appended to `buf` (its JSON to
    /// `buf.text`, a row to `buf.rows` per version), without a string
    /// of its own per version; returns whether more versions matched.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn query_raw_into(
        &self,
        q: &Query,
        limit: usize,
        buf: &mut RawBuf,
    ) -> Result<bool, StoreError> {
        let page = self.query_raw(q, limit)?;
        for (seq, raw) in page.objects {
            let start = buf.text.len();
            buf.text.push_str(&raw);
            buf.rows.push((seq, start, buf.text.len()));
        }
        Ok(page.more)
    }

    /// The versions `q` matches with `seq` up to `until_seq` (and above
    /// `q.after_seq`), in increasing `seq`: `f` is called with each one's
    /// seq and raw JSON, borrowed (readers of a seq range of the whole
    /// store, several at once on handles of their own, copy nothing).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn each_raw_until(
        &self,
        q: &Query,
        until_seq: i64,
        f: &mut dyn FnMut(i64, &str),
    ) -> Result<(), StoreError> {
        let mut q = q.clone();
        let mut buf = RawBuf::default();
        loop {
            buf.text.clear();
            buf.rows.clear();
            let more = self.query_raw_into(&q, 4096, &mut buf)?;
            for (i, row) in buf.rows.iter().enumerate() {
                if row.0 > until_seq {
                    return Ok(());
                }
                f(row.0, buf.raw(i));
            }
            match buf.last_seq() {
                Some(s) if more => q.after_seq = s,
                _ => return Ok(()),
            }
        }
    }

    /// The ids of type `type_name` stored more than once (several
    /// versions, or in several collections), at most `limit` of them, when
    /// the backend can tell without reading every row: a reader of the
    /// whole store then takes every other object's one version as its
    /// last, and asks for these ids' last versions alone. `Ok(None)`: it
    /// cannot tell (the default), or more than `limit` are.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ids_stored_more_than_once(
        &self,
        type_name: &str,
        limit: usize,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let _ = (type_name, limit);
        Ok(None)
    }

    /// Whether [`ObjectRead::ids_stored_more_than_once`] can answer (the
    /// default's is always `Ok(None)`): a reader of the whole store may
    /// then start reading on the bet that few ids are repeated while it
    /// asks.
    fn lists_repeated_ids(&self) -> bool {
        false
    }

    /// Every version of one object in a collection, oldest first (empty
    /// when there is none).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn get_versions(&self, collection: &str, id: &str) -> Result<Vec<StoredObject>, StoreError>;

    /// How many versions are stored, in one collection or in all.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn count(&self, collection: Option<&str>) -> Result<u64, StoreError>;

    /// The collections, by name.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError>;

    /// How many versions a collection holds per (type, origin): one scan
    /// of the collection's rows, for summaries (the dashboard caches it).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn tally(&self, collection: &str) -> Result<Vec<crate::Tally>, StoreError>;

    /// The newest versions of a collection (highest `seq` first), of the
    /// given types (all types when empty), at most `limit`, with `seq`
    /// below `before` (`i64::MAX` for the newest).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn newest(
        &self,
        collection: &str,
        types: &[String],
        before: i64,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError>;

    /// The highest `seq` stored (0 when empty): a watcher that found
    /// nothing of its kind up to here need not read those rows again.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn max_seq(&self) -> Result<i64, StoreError>;

    /// Versions of every collection with `seq` above `after`, oldest
    /// first, at most `limit` (for indexers that follow the store).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn objects_after(&self, after: i64, limit: usize) -> Result<Vec<StoredObject>, StoreError>;

    /// The versions of these `seq`s still stored, in the order given.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn objects_by_seq(&self, seqs: &[i64]) -> Result<Vec<StoredObject>, StoreError>;

    /// Versions whose raw JSON contains `text` (bytes, case-sensitive),
    /// newest first, among at most `scan` of the collection's newest rows;
    /// at most `limit`. A bounded scan, not an index: for people searching
    /// by value.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn find_text(
        &self,
        collection: &str,
        text: &str,
        types: &[String],
        scan: usize,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError>;

    /// Checks the whole database: the engine's own check, then the store's
    /// invariants (one row per collection, id and version; counts;
    /// `date_added` order; each object's SHA-256 and id hash). Reads
    /// everything; for tests and repair tools, not a request path.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] listing the problems, [`StoreError::Read`].
    fn integrity_check(&self) -> Result<(), StoreError>;
}

/// Writing objects and `out` records: ingest, TAXII POST and DELETE,
/// partner sync, and the records of objects sent.
///
/// Guarantees a backend must keep:
/// - **Durability.** A put, delete or [`ObjectWrite::log_records`] returns
///   `Ok` (a [`Pending`] answers `Ok`) only once it survives a crash of the
///   process and of the machine; a batch is all or nothing.
/// - **Idempotence.** Objects are keyed by (collection, id, version); the
///   same version with the same content (up to whitespace between JSON
///   tokens) is a [`PutOutcome::Duplicate`], with other content a
///   [`PutOutcome::Conflict`] that keeps the first. Every version is kept.
/// - **Order.** Each stored version gets the next `seq` (never reused, not
///   even after a delete) and a `date_added` strictly after the previous
///   one's, whatever the clock does.
/// - **The ledger.** Each stored version's exchange record (`local`, or
///   `in` for a handle from [`ObjectWrite::received_from`]) is appended in
///   the same transaction as the object, so the log and the objects never
///   disagree.
/// - **Out records before answers.** [`ObjectWrite::log_records`] returns
///   once the records are durable, and they are committed after anything a
///   reader could have read before the call: a server that waits for it
///   before answering a GET never sends an object whose `out` record, or
///   the object itself, could be lost.
pub trait ObjectWrite: Send + Sync + std::fmt::Debug {
    /// Checks a batch and queues it; [`Pending::wait`] gives the outcome,
    /// and until then the batch is not acknowledged.
    ///
    /// # Errors
    /// [`StoreError::InvalidObject`] (nothing of the batch is queued),
    /// [`StoreError::WriterStopped`].
    fn submit(&self, objs: &[NewObject<'_>]) -> Result<Pending, StoreError>;

    /// Stores a batch and returns once it is durable, one outcome per
    /// object, in order.
    ///
    /// # Errors
    /// [`StoreError::InvalidObject`] (nothing stored), [`StoreError::Full`]
    /// and [`StoreError::Write`] (the batch was rolled back),
    /// [`StoreError::WriterStopped`].
    fn put_batch(&self, objs: &[NewObject<'_>]) -> Result<Vec<PutOutcome>, StoreError> {
        self.submit(objs)?.wait()
    }

    /// Deletes versions of one object from a collection; returns how many
    /// were deleted. Durable when it returns.
    ///
    /// # Errors
    /// [`StoreError::Write`], [`StoreError::WriterStopped`].
    fn delete(
        &self,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
    ) -> Result<u64, StoreError>;

    /// Appends exchange records that record no stored object (`out`
    /// records) and returns once they are durable.
    ///
    /// # Errors
    /// [`StoreError::InvalidObject`] (nothing appended),
    /// [`StoreError::Write`], [`StoreError::WriterStopped`].
    fn log_records(&self, records: &[ExchangeRecord]) -> Result<(), StoreError>;

    /// Appends the `out` records of a push batch with its journal step, in
    /// one transaction, and returns once durable (see [`PushStep`]): a
    /// backend must never commit one without the other.
    ///
    /// # Errors
    /// As [`ObjectWrite::log_records`]; [`StoreError::Write`] when a batch
    /// is already pending under the step's key (nothing committed).
    fn log_push(&self, records: &[ExchangeRecord], step: PushStep) -> Result<(), StoreError>;

    /// A handle on the same writer whose stored objects are recorded as
    /// received from `partner` (`in` records; `local` for an empty name).
    fn received_from(&self, partner: &str) -> Arc<dyn ObjectWrite>;

    /// Caps the database at about `bytes` (`None` lifts the cap): writes
    /// past it fail with [`StoreError::Full`], as on a full disk.
    ///
    /// # Errors
    /// [`StoreError::Write`], [`StoreError::WriterStopped`].
    fn set_max_size_bytes(&self, bytes: Option<u64>) -> Result<(), StoreError>;

    /// This handle, shared (to keep in a server's state or move to a
    /// thread).
    fn to_shared(&self) -> Arc<dyn ObjectWrite>;
}

/// Reading the transparency log and its small tables.
///
/// Guarantees a backend must keep: the log only grows (an entry once
/// committed never changes); [`LedgerRead::ledger_head`] reads size and
/// root in one snapshot; proofs are RFC 9162's and tiles C2SP's, so any
/// verifier checks them against a signed checkpoint.
pub trait LedgerRead {
    /// The number of leaves in the log.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_size(&self) -> Result<u64, StoreError>;

    /// The root of the tree of the first `size` leaves.
    ///
    /// # Errors
    /// [`StoreError::Read`] (also when `size` exceeds the log).
    fn ledger_root(&self, size: u64) -> Result<Hash, StoreError>;

    /// The current size and root, read in one snapshot.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_head(&self) -> Result<(u64, Hash), StoreError>;

    /// Leaves `from..to` (fewer if the log is shorter).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<LedgerEntry>, StoreError>;

    /// The leaves about one object: those recording one of `seqs` (its
    /// stored versions) and the others whose bytes contain `needle` (its
    /// id), at most `limit`, in log order; and whether more were left out.
    /// The caller checks each record's object id (the bytes may contain
    /// the id elsewhere).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_entries_about(
        &self,
        seqs: &[i64],
        needle: &[u8],
        limit: usize,
    ) -> Result<(Vec<LedgerEntry>, bool), StoreError>;

    /// The leaf hash of `index` and its inclusion proof in the tree of
    /// `size` leaves.
    ///
    /// # Errors
    /// [`StoreError::Read`] (also when `index >= size` or `size` exceeds
    /// the log).
    fn ledger_inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(Hash, Vec<Hash>), StoreError>;

    /// The consistency proof between sizes `first` and `second`.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, StoreError>;

    /// The bytes of a C2SP tile or entry bundle, `None` while the log is
    /// too short to hold it.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError>;

    /// The latest signed checkpoint of this log: (size, note).
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError>;

    /// The newest `limit` checkpoints signed: (size, signed at in
    /// microseconds, cosignatures held), newest first.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_checkpoint_history(&self, limit: usize) -> Result<Vec<(u64, i64, u64)>, StoreError>;

    /// The signed checkpoint of this log at `size`, if one was signed.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// The cosignature lines held for the checkpoint of `size`.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError>;

    /// A partner's checkpoint witnessed at `size`, or (with `None`) the
    /// largest one.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_witnessed(
        &self,
        partner: &str,
        size: Option<u64>,
    ) -> Result<Option<Witnessed>, StoreError>;

    /// Every alert, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_alerts(&self) -> Result<Vec<Alert>, StoreError>;

    /// Recomputes every stored hash from the leaves and compares, also
    /// giving the roots at `sizes`. Reads the whole log.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_check_at(&self, sizes: &[u64]) -> Result<LedgerCheck, StoreError>;

    /// [`LedgerRead::ledger_check_at`] without extra roots.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn ledger_check(&self) -> Result<LedgerCheck, StoreError> {
        self.ledger_check_at(&[])
    }
}

/// Writing the ledger's small tables (not the log itself, which only the
/// object writer appends to).
///
/// Guarantees a backend must keep: each call is durable when it returns;
/// saving a checkpoint or a witnessed checkpoint is idempotent per (partner,)
/// size; a cosignature replaces the same witness key's older one; alerts
/// are only added, never changed.
pub trait LedgerWrite {
    /// Saves a signed checkpoint of this log (idempotent per size).
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    fn ledger_save_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError>;

    /// Keeps a witness's cosignature line on the checkpoint of `size`.
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    fn ledger_add_cosignature(
        &self,
        size: u64,
        witness: &str,
        key_id: u32,
        line: &str,
    ) -> Result<(), StoreError>;

    /// Keeps a partner's checkpoint this node witnessed.
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    fn ledger_save_witnessed(
        &self,
        partner: &str,
        size: u64,
        root: &Hash,
        note: &[u8],
    ) -> Result<(), StoreError>;

    /// Raises an alert, kept with its evidence.
    ///
    /// # Errors
    /// [`StoreError::Read`] (the write failed).
    fn ledger_add_alert(
        &self,
        partner: &str,
        kind: &str,
        detail: &str,
        first: Option<&[u8]>,
        second: Option<&[u8]>,
    ) -> Result<(), StoreError>;
}

/// The cursors of `accord sync` (one per pull, and one per partner and
/// local collection pushed) and each partner's sync health.
///
/// Guarantees a backend must keep: [`SyncCursors::set_sync_cursor`] is
/// durable when it returns; an import is one transaction and never
/// overwrites a cursor the store has.
pub trait SyncCursors {
    /// The saved cursor of the pull `key`, if any.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn sync_cursor(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Every saved cursor, by key.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn sync_cursors(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Saves (replaces) the cursor of the pull `key`; durable on return.
    ///
    /// # Errors
    /// [`StoreError::Open`], [`StoreError::Read`] (the write failed).
    fn set_sync_cursor(&self, key: &str, added_after: &str) -> Result<(), StoreError>;

    /// Imports `(key, cursor)` pairs in one transaction, keeping the
    /// cursors the store already has; returns how many were added.
    ///
    /// # Errors
    /// [`StoreError::Open`], [`StoreError::Read`] (nothing imported).
    fn import_sync_cursors(&self, cursors: &[(&str, &str)]) -> Result<usize, StoreError>;

    /// The push batch released, recorded and not yet acknowledged under
    /// the push cursor `key`, if any ([`ObjectWrite::log_push`]).
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    fn push_pending(&self, key: &str) -> Result<Option<PendingPush>, StoreError>;

    /// The partner acknowledged the batch pending under `key`: the cursor
    /// moves to `last_seq` and the batch is forgotten, in one transaction,
    /// durable on return.
    ///
    /// # Errors
    /// [`StoreError::Open`], [`StoreError::Read`] (nothing changed).
    fn push_acked(&self, key: &str, last_seq: i64) -> Result<(), StoreError>;

    /// The sync health of `partner`, if a round ever ran.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn partner_health(&self, partner: &str) -> Result<Option<PartnerHealth>, StoreError>;

    /// The sync health of every partner that ever had a round, by name.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn partner_healths(&self) -> Result<Vec<PartnerHealth>, StoreError>;

    /// Saves (replaces) a partner's sync health; durable on return.
    ///
    /// # Errors
    /// [`StoreError::Open`], [`StoreError::Read`] (the write failed).
    fn set_partner_health(&self, health: &PartnerHealth) -> Result<(), StoreError>;
}

/// One handle on a store, as a server holds it: every read capability,
/// the ledger's small writes, another handle for another thread, and the
/// shared writer. What a second backend implements (with [`ObjectWrite`]
/// for its writer); [`Store`](crate::Store) then comes with it.
pub trait Backend: ObjectRead + LedgerRead + LedgerWrite + SyncCursors + Send {
    /// Another handle on the same store, for another thread: it shares the
    /// writer and has its own read connection (the SQLite backend's
    /// [`SqliteStore::try_clone`]).
    ///
    /// # Errors
    /// [`StoreError::Open`] when the new connection cannot be opened.
    fn new_handle(&self) -> Result<Box<dyn Backend>, StoreError>;

    /// The store's writer (clone it with [`ObjectWrite::to_shared`]).
    fn writer(&self) -> &dyn ObjectWrite;

    /// Waits until this handle holds the store-wide exclusive section
    /// `section`, across every process that shares the store (a cluster's
    /// processes over PostgreSQL: a session-level advisory lock, released
    /// by the server should the process die). Re-entrant per handle; end
    /// it with [`Backend::end_exclusive`]. The embedded store has one
    /// process: nothing to do (callers serialize their own threads).
    ///
    /// # Errors
    /// The database's, when it cannot be reached.
    fn begin_exclusive(&self, section: Exclusive) -> Result<(), StoreError> {
        let _ = section;
        Ok(())
    }

    /// Ends what [`Backend::begin_exclusive`] began (errors are ignored: a
    /// lost connection released it).
    fn end_exclusive(&self, section: Exclusive) {
        let _ = section;
    }
}

/// The store-wide exclusive sections ([`Backend::begin_exclusive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusive {
    /// Escalating protected-facility touches: a facility gets one open
    /// case however many processes see its hits at once.
    FacilityEscalation,
}

impl Exclusive {
    /// Its advisory lock key (distinct from the sequencer's and the
    /// leases').
    pub fn key(self) -> i64 {
        match self {
            Exclusive::FacilityEscalation => 0x4143_4346, // "ACCF"
        }
    }
}

impl ObjectWrite for Writer {
    fn submit(&self, objs: &[NewObject<'_>]) -> Result<Pending, StoreError> {
        Writer::submit(self, objs)
    }

    fn put_batch(&self, objs: &[NewObject<'_>]) -> Result<Vec<PutOutcome>, StoreError> {
        Writer::put_batch(self, objs)
    }

    fn delete(
        &self,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
    ) -> Result<u64, StoreError> {
        Writer::delete(self, collection, id, versions)
    }

    fn log_records(&self, records: &[ExchangeRecord]) -> Result<(), StoreError> {
        Writer::log_records(self, records)
    }

    fn log_push(&self, records: &[ExchangeRecord], step: PushStep) -> Result<(), StoreError> {
        Writer::log_push(self, records, step)
    }

    fn received_from(&self, partner: &str) -> Arc<dyn ObjectWrite> {
        Arc::new(Writer::received_from(self, partner))
    }

    fn set_max_size_bytes(&self, bytes: Option<u64>) -> Result<(), StoreError> {
        Writer::set_max_size_bytes(self, bytes)
    }

    fn to_shared(&self) -> Arc<dyn ObjectWrite> {
        Arc::new(self.clone())
    }
}

impl LedgerRead for SqliteStore {
    fn ledger_size(&self) -> Result<u64, StoreError> {
        SqliteStore::ledger_size(self)
    }

    fn ledger_root(&self, size: u64) -> Result<Hash, StoreError> {
        SqliteStore::ledger_root(self, size)
    }

    fn ledger_head(&self) -> Result<(u64, Hash), StoreError> {
        SqliteStore::ledger_head(self)
    }

    fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<LedgerEntry>, StoreError> {
        SqliteStore::ledger_entries(self, from, to)
    }

    fn ledger_entries_about(
        &self,
        seqs: &[i64],
        needle: &[u8],
        limit: usize,
    ) -> Result<(Vec<LedgerEntry>, bool), StoreError> {
        SqliteStore::ledger_entries_about(self, seqs, needle, limit)
    }

    fn ledger_inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(Hash, Vec<Hash>), StoreError> {
        SqliteStore::ledger_inclusion_proof(self, index, size)
    }

    fn ledger_consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, StoreError> {
        SqliteStore::ledger_consistency_proof(self, first, second)
    }

    fn ledger_tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError> {
        SqliteStore::ledger_tile(self, tile)
    }

    fn ledger_latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        SqliteStore::ledger_latest_checkpoint(self)
    }

    fn ledger_checkpoint_history(&self, limit: usize) -> Result<Vec<(u64, i64, u64)>, StoreError> {
        SqliteStore::ledger_checkpoint_history(self, limit)
    }

    fn ledger_checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        SqliteStore::ledger_checkpoint_at(self, size)
    }

    fn ledger_cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
        SqliteStore::ledger_cosignatures(self, size)
    }

    fn ledger_witnessed(
        &self,
        partner: &str,
        size: Option<u64>,
    ) -> Result<Option<Witnessed>, StoreError> {
        SqliteStore::ledger_witnessed(self, partner, size)
    }

    fn ledger_alerts(&self) -> Result<Vec<Alert>, StoreError> {
        SqliteStore::ledger_alerts(self)
    }

    fn ledger_check_at(&self, sizes: &[u64]) -> Result<LedgerCheck, StoreError> {
        SqliteStore::ledger_check_at(self, sizes)
    }

    fn ledger_check(&self) -> Result<LedgerCheck, StoreError> {
        SqliteStore::ledger_check(self)
    }
}

impl LedgerWrite for SqliteStore {
    fn ledger_save_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        SqliteStore::ledger_save_checkpoint(self, size, note)
    }

    fn ledger_add_cosignature(
        &self,
        size: u64,
        witness: &str,
        key_id: u32,
        line: &str,
    ) -> Result<(), StoreError> {
        SqliteStore::ledger_add_cosignature(self, size, witness, key_id, line)
    }

    fn ledger_save_witnessed(
        &self,
        partner: &str,
        size: u64,
        root: &Hash,
        note: &[u8],
    ) -> Result<(), StoreError> {
        SqliteStore::ledger_save_witnessed(self, partner, size, root, note)
    }

    fn ledger_add_alert(
        &self,
        partner: &str,
        kind: &str,
        detail: &str,
        first: Option<&[u8]>,
        second: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        SqliteStore::ledger_add_alert(self, partner, kind, detail, first, second)
    }
}

impl SyncCursors for SqliteStore {
    fn sync_cursor(&self, key: &str) -> Result<Option<String>, StoreError> {
        SqliteStore::sync_cursor(self, key)
    }

    fn sync_cursors(&self) -> Result<Vec<(String, String)>, StoreError> {
        SqliteStore::sync_cursors(self)
    }

    fn set_sync_cursor(&self, key: &str, added_after: &str) -> Result<(), StoreError> {
        SqliteStore::set_sync_cursor(self, key, added_after)
    }

    fn import_sync_cursors(&self, cursors: &[(&str, &str)]) -> Result<usize, StoreError> {
        SqliteStore::import_sync_cursors(self, cursors.iter().copied())
    }

    fn push_pending(&self, key: &str) -> Result<Option<PendingPush>, StoreError> {
        SqliteStore::push_pending(self, key)
    }

    fn push_acked(&self, key: &str, last_seq: i64) -> Result<(), StoreError> {
        SqliteStore::push_acked(self, key, last_seq)
    }

    fn partner_health(&self, partner: &str) -> Result<Option<PartnerHealth>, StoreError> {
        SqliteStore::partner_health(self, partner)
    }

    fn partner_healths(&self) -> Result<Vec<PartnerHealth>, StoreError> {
        SqliteStore::partner_healths(self)
    }

    fn set_partner_health(&self, health: &PartnerHealth) -> Result<(), StoreError> {
        SqliteStore::set_partner_health(self, health)
    }
}

impl Backend for SqliteStore {
    fn new_handle(&self) -> Result<Box<dyn Backend>, StoreError> {
        Ok(Box::new(SqliteStore::try_clone(self)?))
    }

    fn writer(&self) -> &dyn ObjectWrite {
        SqliteStore::writer(self)
    }
}

impl<T: Backend + ?Sized> crate::Store for T {
    fn put_batch(&mut self, objs: &[NewObject<'_>]) -> Result<Vec<PutOutcome>, StoreError> {
        Backend::writer(self).put_batch(objs)
    }

    fn query(&self, q: &Query, limit: usize) -> Result<Page, StoreError> {
        ObjectRead::query(self, q, limit)
    }

    fn get_versions(&self, collection: &str, id: &str) -> Result<Vec<StoredObject>, StoreError> {
        ObjectRead::get_versions(self, collection, id)
    }

    fn count(&self, collection: Option<&str>) -> Result<u64, StoreError> {
        ObjectRead::count(self, collection)
    }

    fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError> {
        ObjectRead::collections(self)
    }

    fn integrity_check(&self) -> Result<(), StoreError> {
        ObjectRead::integrity_check(self)
    }
}
