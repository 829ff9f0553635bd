//! Durable storage of STIX objects for Accord.
//!
//! The job: keep every version of every object that enters a node, with
//! its exact raw JSON, and serve it back by collection, type, id, version
//! and time added, page by page, from indexes. [`SqliteStore`] is the
//! embedded backend, an SQLite database in WAL mode in a data directory;
//! [`pg::PgStore`] the PostgreSQL backend, on which several node processes
//! serve one store (see [`pg`]); code that must not depend on the backend
//! takes the capability traits below instead. The same conformance suite
//! (`tests/backends.rs`) runs on both.
//!
//! # The boundary: capability traits
//!
//! | trait           | methods | guarantees a backend must keep |
//! |-----------------|---------|--------------------------------|
//! | [`ObjectRead`]  | `query`, `get_versions`, `count`, `collections`, `integrity_check` | committed data only, one snapshot per query; pages in increasing `seq` that neither skip nor repeat while writes go on; a page costs about `limit` rows |
//! | [`ObjectWrite`] | `submit`, `put_batch`, `delete`, `log_records`, `log_push`, `received_from`, `set_max_size_bytes`, `to_shared` | durable before `Ok`; all or nothing per batch; idempotent on (collection, id, version); `seq` never reused and `date_added` strictly growing with it; each stored version's ledger record in the same transaction; `out` records durable (and ordered after what was read) before `log_records` returns, so a GET answered after it sends nothing that could be lost; a push batch's `out` records and its journal step in one transaction |
//! | [`LedgerRead`]  | `ledger_size`, `ledger_root`, `ledger_head`, `ledger_entries`, `ledger_inclusion_proof`, `ledger_consistency_proof`, `ledger_tile`, `ledger_latest_checkpoint`, `ledger_checkpoint_at`, `ledger_cosignatures`, `ledger_witnessed`, `ledger_alerts`, `ledger_check(_at)` | an append-only log; head read in one snapshot; RFC 9162 proofs and C2SP tiles |
//! | [`LedgerWrite`] | `ledger_save_checkpoint`, `ledger_add_cosignature`, `ledger_save_witnessed`, `ledger_add_alert` | durable on return; checkpoints idempotent per size |
//! | [`SyncCursors`] | `sync_cursor`, `sync_cursors`, `set_sync_cursor`, `import_sync_cursors`, `push_pending`, `push_acked`, partners' health | durable on return; an import never overwrites; an acknowledgement moves the push cursor and forgets the batch in one transaction |
//! | [`Backend`]     | the four read/ledger/cursor traits, plus `new_handle` (another handle for another thread) and `writer` | a handle is `Send`, used by one thread at a time; the writer is `Send + Sync`, shared |
//!
//! A backend implements [`Backend`] (and so [`ObjectRead`],
//! [`LedgerRead`], [`LedgerWrite`], [`SyncCursors`]) for its handle and
//! [`ObjectWrite`] for its writer (as [`pg::PgStore`] and [`pg::PgWriter`]
//! do); [`Store`], the original
//! six-method interface kept for existing callers, then comes with it.
//! [`Writer`] stays a concrete type: it is the SQLite backend's group-commit
//! handle, and implements [`ObjectWrite`]. The time the store stamps
//! (`date_added`, ledger record times, the ledger's small tables) comes
//! from the clock given in [`OpenOptions::clock`].
//!
//! Main types:
//! - [`NewObject`] → [`Store::put_batch`] → one [`PutOutcome`] per object:
//!   `Stored`, `Duplicate` (the same version with the same content was
//!   already there) or `Conflict` (the same id and version with different
//!   content: the first one is kept, the new one is not stored).
//! - [`Writer`]: group commit. One thread owns the write connection and
//!   commits whatever batches are queued in one transaction, answering each
//!   submitter once the commit is on disk.
//! - [`Query`] → [`Store::query`] → [`Page`] of [`StoredObject`]s, ordered
//!   by `seq`, the store's sequence number: page on with
//!   `after_seq = last seq seen` and no object is skipped or repeated, even
//!   while writes go on.
//!
//! ```
//! use accord_store::{NewObject, PutOutcome, Query, SqliteStore, Store, VersionFilter};
//! let dir = tempfile::tempdir().unwrap();
//! let mut store = SqliteStore::open(dir.path()).unwrap();
//! let raw = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}"#;
//! let obj = NewObject {
//!     raw,
//!     id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
//!     type_name: "indicator",
//!     spec_version: "2.1",
//!     created: Some("2016-04-06T20:03:48.000Z"),
//!     modified: Some("2016-04-06T20:03:48.000Z"),
//!     markings: vec![],
//!     collection: "default",
//!     origin: "local",
//! };
//! let first = store.put_batch(&[obj.clone()]).unwrap();
//! assert!(matches!(first[0], PutOutcome::Stored { .. }));
//! // Writes are idempotent on (collection, id, version).
//! let again = store.put_batch(&[obj]).unwrap();
//! assert!(matches!(again[0], PutOutcome::Duplicate { .. }));
//!
//! let q = Query { collection: Some("default".into()), types: vec!["indicator".into()], ..Query::default() };
//! let page = store.query(&q, 100).unwrap();
//! assert_eq!(page.objects.len(), 1);
//! assert_eq!(page.objects[0].raw, raw);
//! assert!(!page.more);
//! store.integrity_check().unwrap();
//! ```
//!
//! # Guarantees
//!
//! - **Durability.** A batch is acknowledged (its `put_batch` or
//!   [`Pending::wait`] returns `Ok`) only after its transaction committed
//!   and the WAL was fsynced (by the writer's sync thread, which covers
//!   every commit before it with one fsync), so the batch survives
//!   `kill -9` and power loss. A batch is all or nothing.
//! - **Idempotence.** Objects are keyed by (collection, id, version), the
//!   version being `modified`, else `created`, else empty (unversioned
//!   cyber-observables). Versions are compared as instants:
//!   `…48Z` and `…48.000Z` are the same version. Every version is kept.
//! - **Duplicate or conflict** is decided by a SHA-256 of the raw JSON with
//!   the whitespace *between* tokens removed: the same serialization,
//!   pretty-printed or not, is a duplicate; anything else (another key
//!   order, another number spelling, another value) is a conflict.
//! - **Order.** `seq` grows with each stored version, and `date_added`
//!   (set by the store, microseconds, UTC) strictly grows with `seq`, so
//!   a cursor on `seq` and a filter on `added_after` agree.
//! - **Full disk.** A batch that does not fit fails with
//!   [`StoreError::Full`] and is rolled back; what was stored before stays
//!   intact, and the writer takes batches again once space is freed.
//! - **Schema.** A fresh directory gets the current schema; an older
//!   database is migrated forward in one transaction; a database from a
//!   newer Accord is refused with [`StoreError::TooNew`], untouched.
//!
//! # Costs
//!
//! Every [`Query`] with a collection is read from an index range in `seq`
//! order: `objects_coll` (collection), `objects_coll_type` (one range per
//! type, merged), or `objects_idh` (a hash of the id; one range per id); `added_after`
//! becomes a `seq` bound with one seek; "last" and "first" versions are one
//! index seek per row. So a page costs about `limit` rows, plus the rows
//! that other filters reject, never the size of the collection. A query
//! without a collection walks `seq` order over all collections (meant for
//! exports).
//!
//! # What it does not do
//!
//! It does not parse or validate STIX: the caller extracts the indexed
//! fields (see [`NewObject`]) and the raw text is stored as given. It does
//! not delete or rewrite objects, compute TAXII views for partners (the
//! policy's job) or speak HTTP. SQLite is its only backend today: a
//! PostgreSQL one would implement the traits above (see the table), and
//! nothing outside this crate and the place a node is assembled needs to
//! name [`SqliteStore`].
#![warn(missing_docs)]

use accord_stix::CommonProps;
mod error;
mod ledger;
pub mod pg;
mod prepare;
mod priority;
mod schema;
pub mod search;
mod seen;
mod sqlite;
mod sync_state;
mod traits;
mod writer;

pub use accord_ledger;
pub use accord_stix::Timestamp;
pub use error::StoreError;
pub use ledger::{Alert, LedgerCheck, LedgerEntry, LedgerProblem, LedgerSource, Witnessed};
#[doc(hidden)]
pub use prepare::id_hash as object_id_hash;
pub use priority::{BULK_NICENESS, yield_to_writer};
pub use sqlite::{DB_FILE_NAME, OpenOptions, SqliteStore};
pub use sync_state::{PartnerHealth, PendingPush};
pub use traits::{
    Backend, Exclusive, LedgerRead, LedgerWrite, ObjectRead, ObjectWrite, SyncCursors,
};
#[doc(hidden)]
pub use writer::INSERT_SQL as OBJECT_INSERT_SQL;
pub use writer::{Pending, PushStep, Writer};

/// One object to store: its raw JSON and the fields the store indexes,
/// extracted by the caller (the store does not parse JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObject<'a> {
    /// The object's exact JSON text, stored and served back as is.
    pub raw: &'a str,
    /// `id`.
    pub id: &'a str,
    /// `type`.
    pub type_name: &'a str,
    /// `spec_version` (`"2.1"`; may be empty for 2.0 cyber-observables).
    pub spec_version: &'a str,
    /// `created`, if present.
    pub created: Option<&'a str>,
    /// `modified`, if present. The version key is `modified`, else
    /// `created`, else the empty string; when present it must be a STIX
    /// timestamp.
    pub modified: Option<&'a str>,
    /// The ids of `object_marking_refs`.
    pub markings: Vec<&'a str>,
    /// The collection the object goes to (created on first use).
    pub collection: &'a str,
    /// Where it came from: `"local"`, a partner's name, a file path.
    pub origin: &'a str,
}

/// The properties of a valid STIX object that the store indexes, owned, so
/// that the parsed object can be dropped where it was parsed. Every path
/// into the store (file ingest, TAXII POST, partner sync) goes through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// `id`, `type`, `spec_version`, `created`, `modified` and then each
    /// id of `object_marking_refs`, one after another: one allocation
    /// instead of one a field (ingest builds one of these an object).
    text: String,
    /// Where each of them ends in `text`.
    ends: Vec<u32>,
    /// Bit 0: no `created`; bit 1: no `modified`.
    none: u8,
}

/// The fixed fields of an [`ObjectMeta`], in `text` order.
const META_ID: usize = 0;
const META_TYPE: usize = 1;
const META_SPEC: usize = 2;
const META_CREATED: usize = 3;
const META_MODIFIED: usize = 4;
const META_FIXED: usize = 5;

impl ObjectMeta {
    /// The indexed properties of a parsed object; `None` without a string
    /// `id` and `type`, or when they add up to 4 GiB or more.
    pub fn from_doc(obj: &accord_stix::Doc<'_>) -> Option<ObjectMeta> {
        Self::new(
            obj.id()?,
            obj.type_name()?,
            obj.spec_version().unwrap_or("2.1"),
            obj.created(),
            obj.modified(),
            obj.marking_refs(),
        )
    }

    /// The indexed properties from their values; `None` when they add up
    /// to 4 GiB or more.
    pub fn new<'m>(
        id: &'m str,
        type_name: &'m str,
        spec_version: &'m str,
        created: Option<&'m str>,
        modified: Option<&'m str>,
        markings: impl Iterator<Item = &'m str>,
    ) -> Option<ObjectMeta> {
        // Room for the usual one or two marking ids too.
        let len = id.len()
            + type_name.len()
            + spec_version.len()
            + created.map_or(0, str::len)
            + modified.map_or(0, str::len)
            + 96;
        let mut m = ObjectMeta {
            text: String::with_capacity(len),
            ends: Vec::with_capacity(META_FIXED + 1),
            none: u8::from(created.is_none()) | (u8::from(modified.is_none()) << 1),
        };
        for part in [
            id,
            type_name,
            spec_version,
            created.unwrap_or(""),
            modified.unwrap_or(""),
        ]
        .into_iter()
        .chain(markings)
        {
            m.text.push_str(part);
            m.ends.push(u32::try_from(m.text.len()).ok()?);
        }
        Some(m)
    }

    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// `id`.
    pub fn id(&self) -> &str {
        self.part(META_ID)
    }

    /// `type`.
    pub fn type_name(&self) -> &str {
        self.part(META_TYPE)
    }

    /// `spec_version`; cyber-observables may leave it out and are read as 2.1.
    pub fn spec_version(&self) -> &str {
        self.part(META_SPEC)
    }

    /// `created`.
    pub fn created(&self) -> Option<&str> {
        (self.none & 1 == 0).then(|| self.part(META_CREATED))
    }

    /// `modified`.
    pub fn modified(&self) -> Option<&str> {
        (self.none & 2 == 0).then(|| self.part(META_MODIFIED))
    }

    /// The ids in `object_marking_refs`.
    pub fn markings(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (META_FIXED..self.ends.len()).map(|i| self.part(i))
    }

    /// The object to store: these fields, its exact text, where it goes and
    /// where it came from.
    pub fn new_object<'a>(
        &'a self,
        raw: &'a str,
        collection: &'a str,
        origin: &'a str,
    ) -> NewObject<'a> {
        NewObject {
            raw,
            id: self.id(),
            type_name: self.type_name(),
            spec_version: self.spec_version(),
            created: self.created(),
            modified: self.modified(),
            markings: self.markings().collect(),
            collection,
            origin,
        }
    }
}

/// What happened to one object of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PutOutcome {
    /// Stored as a new version, with this sequence number.
    Stored {
        /// The new version's sequence number.
        seq: i64,
    },
    /// This version was already stored with the same content (up to
    /// whitespace between JSON tokens); nothing changed.
    Duplicate {
        /// The stored version's sequence number.
        seq: i64,
    },
    /// This version (collection, id, version) was already stored with
    /// different content. The stored one is kept; this one is not stored.
    Conflict {
        /// The stored version's sequence number.
        existing_seq: i64,
    },
}

/// Which versions of each object a [`Query`] returns (TAXII
/// `match[version]`): the union of what each part selects, so
/// `first,last` is both ends of each object's history (one version when it
/// has only one) and `last,first,<t>` adds the version at `t`. A filter
/// that selects nothing (no flag, no timestamp) returns nothing.
///
/// "First" and "last" are taken over all the versions of the object in its
/// collection, whatever the query's other filters (`added_after`, spec
/// version): every filter of a [`Query`] is ANDed with this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFilter {
    /// Every version (`all`); the other parts then add nothing.
    pub all: bool,
    /// The oldest version of each object (`first`).
    pub first: bool,
    /// The newest version of each object (`last`, TAXII's default).
    pub last: bool,
    /// The versions with these timestamps (compared as instants).
    pub at: Vec<Timestamp>,
}

impl Default for VersionFilter {
    /// [`VersionFilter::last`], TAXII's default.
    fn default() -> VersionFilter {
        VersionFilter::last()
    }
}

impl VersionFilter {
    const NONE: VersionFilter = VersionFilter {
        all: false,
        first: false,
        last: false,
        at: Vec::new(),
    };

    /// Every version.
    pub fn all() -> VersionFilter {
        VersionFilter {
            all: true,
            ..VersionFilter::NONE
        }
    }

    /// The oldest version of each object.
    pub fn first() -> VersionFilter {
        VersionFilter {
            first: true,
            ..VersionFilter::NONE
        }
    }

    /// The newest version of each object.
    pub fn last() -> VersionFilter {
        VersionFilter {
            last: true,
            ..VersionFilter::NONE
        }
    }

    /// The versions with these timestamps.
    pub fn at(ts: Vec<Timestamp>) -> VersionFilter {
        VersionFilter {
            at: ts,
            ..VersionFilter::NONE
        }
    }

    /// At most how many versions of one object this selects; `None` for
    /// every version.
    pub fn max_per_object(&self) -> Option<usize> {
        if self.all {
            None
        } else {
            Some(usize::from(self.first) + usize::from(self.last) + self.at.len())
        }
    }
}

/// What to read. Filters combine with AND; values within one list with OR.
/// An empty list does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this collection (by name). TAXII queries always set it.
    pub collection: Option<String>,
    /// Only these ids (TAXII `match[id]`).
    pub ids: Vec<String>,
    /// Only these types (TAXII `match[type]`).
    pub types: Vec<String>,
    /// Only these spec versions (TAXII `match[spec_version]`).
    pub spec_versions: Vec<String>,
    /// Only objects added strictly after this instant (TAXII
    /// `added_after`).
    pub added_after: Option<Timestamp>,
    /// Which versions of each object (TAXII `match[version]`).
    pub versions: VersionFilter,
    /// Only objects with `seq` above this: the paging cursor. Start at 0;
    /// continue with the last `seq` of the previous page.
    pub after_seq: i64,
}

/// One page of a [`Query`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// At most `limit` objects, in increasing `seq`.
    pub objects: Vec<StoredObject>,
    /// Whether more objects matched after this page.
    pub more: bool,
}

impl Page {
    /// The cursor for the next page: the last `seq` of this one.
    pub fn last_seq(&self) -> Option<i64> {
        self.objects.last().map(|o| o.seq)
    }
}

/// One page of [`ObjectRead::query_raw`](crate::ObjectRead::query_raw).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawPage {
    /// At most `limit` versions as (seq, raw JSON), in increasing `seq`.
    pub objects: Vec<(i64, String)>,
    /// Whether more versions matched after this page.
    pub more: bool,
}

impl RawPage {
    /// The cursor for the next page: the last `seq` of this one.
    pub fn last_seq(&self) -> Option<i64> {
        self.objects.last().map(|o| o.0)
    }
}

/// Pages of [`ObjectRead::query_raw_into`](crate::ObjectRead::query_raw_into):
/// the raw JSON of every version read, one after another in one buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawBuf {
    /// The versions' JSON, back to back.
    pub text: String,
    /// Per version, in increasing `seq`: (seq, start, end) of its JSON in
    /// `text`.
    pub rows: Vec<(i64, usize, usize)>,
}

impl RawBuf {
    /// The JSON of row `i`.
    pub fn raw(&self, i: usize) -> &str {
        let (_, a, b) = self.rows[i];
        &self.text[a..b]
    }

    /// The last `seq` read.
    pub fn last_seq(&self) -> Option<i64> {
        self.rows.last().map(|r| r.0)
    }
}

/// One stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The store's sequence number: unique, and growing in commit order.
    pub seq: i64,
    /// The collection.
    pub collection: String,
    /// `id`.
    pub id: String,
    /// `type`.
    pub type_name: String,
    /// `spec_version`.
    pub spec_version: String,
    /// `created`, as given.
    pub created: Option<String>,
    /// `modified`, as given.
    pub modified: Option<String>,
    /// The version key, normalized to nine fractional digits
    /// (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`), or empty for unversioned objects.
    pub version: String,
    /// When the store added it: RFC 3339 UTC with microseconds.
    pub date_added: String,
    /// Where it came from.
    pub origin: String,
    /// The ids of its `object_marking_refs`.
    pub markings: Vec<String>,
    /// SHA-256 of `raw` with the whitespace between tokens removed.
    pub sha256: [u8; 32],
    /// The exact JSON text as stored.
    pub raw: String,
}

/// How many versions of one type from one origin a collection holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// The STIX type.
    pub type_name: String,
    /// Where the versions came from (the store's `origin`: a partner, a
    /// file, an account).
    pub origin: String,
    /// How many versions.
    pub count: u64,
}

/// A collection's name and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionInfo {
    /// Its name.
    pub name: String,
    /// How many versions it holds.
    pub n_versions: u64,
}

/// Durable storage of STIX objects, whatever the database: the original
/// six-method interface, kept so that existing callers compile unchanged.
/// It is implemented for every [`Backend`] (through [`ObjectRead`] and the
/// backend's writer); new code takes the capability traits instead. Its
/// read methods share their names with [`ObjectRead`]'s: import one of the
/// two in a module, not both.
pub trait Store: Send {
    /// Stores a batch atomically and durably; one outcome per object, in
    /// order.
    ///
    /// # Errors
    /// [`StoreError::InvalidObject`] (nothing stored), [`StoreError::Full`]
    /// or [`StoreError::Write`] (the batch was rolled back; earlier data is
    /// intact).
    fn put_batch(&mut self, objs: &[NewObject<'_>]) -> Result<Vec<PutOutcome>, StoreError>;

    /// Up to `limit` objects matching `q` with `seq > q.after_seq`, in
    /// increasing `seq`, and whether more match. See [`Query`].
    ///
    /// # Errors
    /// [`StoreError::Read`].
    fn query(&self, q: &Query, limit: usize) -> Result<Page, StoreError>;

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

    /// Checks the whole database: the engine's own check, then the
    /// store's invariants (one row per collection, id and version; counts;
    /// `date_added` order; each object's SHA-256 and id hash). Reads everything; meant for tests and `accord` repair
    /// tools, not for a request path.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] listing the problems, [`StoreError::Read`].
    fn integrity_check(&self) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::ObjectMeta;

    #[test]
    fn object_meta_keeps_each_field_and_tells_absent_from_empty() {
        let m = ObjectMeta::new(
            "indicator--1",
            "indicator",
            "2.1",
            Some(""),
            None,
            ["marking-definition--a", "", "marking-definition--b"].into_iter(),
        )
        .unwrap();
        assert_eq!(m.id(), "indicator--1");
        assert_eq!(m.type_name(), "indicator");
        assert_eq!(m.spec_version(), "2.1");
        assert_eq!(m.created(), Some(""));
        assert_eq!(m.modified(), None);
        assert_eq!(
            m.markings().collect::<Vec<_>>(),
            ["marking-definition--a", "", "marking-definition--b"]
        );
        let o = m.new_object("{}", "c", "o");
        assert_eq!(
            (o.id, o.created, o.modified),
            ("indicator--1", Some(""), None)
        );
        assert_eq!(o.markings.len(), 3);
        let none =
            ObjectMeta::new("x--1", "x", "2.1", None, Some("m"), std::iter::empty()).unwrap();
        assert_eq!((none.created(), none.modified()), (None, Some("m")));
        assert_eq!(none.markings().count(), 0);
    }
}
