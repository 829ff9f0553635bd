//! The SQLite schema and its migrations.
//!
//! `PRAGMA user_version` is the schema version: the number of entries of
//! [`MIGRATIONS`] applied. Opening a database runs the missing ones, in
//! order, in one transaction with the new `user_version`, so a crash or an
//! error half-way leaves the database at its old version. A database whose
//! version is above [`LATEST`] comes from a newer Accord and is refused
//! untouched. Migrations are append-only: a released one is never edited.

use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// `PRAGMA application_id` of Accord databases: "ACCD".
pub(crate) const APPLICATION_ID: i64 = 0x4143_4344;

/// The schema, one migration per version. Entry `i` takes version `i` to
/// `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // v1: objects and collections.
    //
    // `seq` is the rowid, so every index below implicitly ends with it:
    // `objects_coll` is an index on (coll_id, seq) and `objects_coll_type`
    // on (coll_id, type, seq), which is what paging by seq needs, without
    // storing seq twice. `objects_idh` indexes `idh`, the first 8 bytes of
    // SHA-256(id) as a signed integer: it serves match[id], first/last
    // version and the history of one object, and the writer's duplicate
    // check. Ids are random (UUIDs), so this is the one index whose
    // inserts land anywhere; an 8-byte key instead of the id text and
    // version keeps it about five times smaller, so a commit dirties (and
    // writes) far fewer pages. It is not unique (hashes may collide): the
    // single writer checks (collection, id, version) before each insert,
    // and `integrity_check` verifies it. `date_added` grows with seq (the
    // writer guarantees it), so `objects_date_added` turns an `added_after`
    // into a seq bound with one seek (until v6, which drops it).
    r"
    CREATE TABLE collections (
        coll_id INTEGER PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE
    );
    CREATE TABLE objects (
        seq          INTEGER PRIMARY KEY,
        coll_id      INTEGER NOT NULL REFERENCES collections (coll_id),
        id           TEXT NOT NULL,
        type         TEXT NOT NULL,
        spec_version TEXT NOT NULL,
        created      TEXT,
        modified     TEXT,
        version      TEXT NOT NULL,
        date_added   INTEGER NOT NULL,
        origin       TEXT NOT NULL,
        markings     TEXT NOT NULL,
        sha256       BLOB NOT NULL,
        raw          TEXT NOT NULL,
        idh          INTEGER NOT NULL
    );
    CREATE INDEX objects_idh ON objects (idh);
    CREATE INDEX objects_coll ON objects (coll_id);
    CREATE INDEX objects_coll_type ON objects (coll_id, type);
    CREATE INDEX objects_date_added ON objects (date_added);
    ",
    // v2: a per-collection count of stored versions, kept by the writer in
    // the same transaction as the objects, so `count` is one row read.
    r"
    ALTER TABLE collections ADD COLUMN n_versions INTEGER NOT NULL DEFAULT 0;
    UPDATE collections SET n_versions =
        (SELECT count(*) FROM objects WHERE objects.coll_id = collections.coll_id);
    ",
    // v3: the transparency log (see `ledger/mod.rs`). One row per leaf, written
    // by the writer in the same transaction as the objects it records:
    // `leaf` is the record's JCS bytes, `hashes` the stored hashes that
    // appending this leaf completes (its leaf hash, then one per level of
    // the subtrees it closes: 32 × (1 + trailing ones of idx) bytes, the
    // consecutive stored-hash indexes from `stored_hash_index(0, idx)`),
    // `seq` the object version recorded (NULL for `out` records). The
    // other tables hold the signed checkpoints of this log, partners'
    // cosignatures on them, the partners' checkpoints this node witnessed,
    // and alerts with their evidence.
    r"
    CREATE TABLE ledger (
        idx    INTEGER PRIMARY KEY,
        leaf   BLOB NOT NULL,
        hashes BLOB NOT NULL,
        seq    INTEGER
    );
    CREATE TABLE ledger_checkpoints (
        size      INTEGER PRIMARY KEY,
        note      BLOB NOT NULL,
        signed_at INTEGER NOT NULL
    );
    CREATE TABLE ledger_cosignatures (
        size        INTEGER NOT NULL,
        witness     TEXT NOT NULL,
        key_id      INTEGER NOT NULL,
        line        TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (size, witness, key_id)
    );
    CREATE TABLE ledger_witnessed (
        partner     TEXT NOT NULL,
        size        INTEGER NOT NULL,
        root        BLOB NOT NULL,
        note        BLOB NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (partner, size)
    );
    CREATE TABLE ledger_alerts (
        id      INTEGER PRIMARY KEY,
        partner TEXT NOT NULL,
        kind    TEXT NOT NULL,
        detail  TEXT NOT NULL,
        first   BLOB,
        second  BLOB,
        time    INTEGER NOT NULL
    );
    ",
    // v4: the log's leaves in chunks of up to 256 (see `ledger/mod.rs`): one
    // row per run of leaves appended together within a 256-leaf block, and
    // the stored hashes of level 8 and above copied into `ledger_upper`, so
    // ingest writes one ledger row per 256 objects and a proof reads a few
    // rows at any log size. `ledger::migrate_v3_rows` moves the v3 rows and
    // drops the old table in the same transaction.
    r"
    CREATE TABLE ledger_chunks (
        first  INTEGER PRIMARY KEY,
        n      INTEGER NOT NULL,
        hashes BLOB NOT NULL,
        seqs   BLOB NOT NULL,
        leaves BLOB NOT NULL
    );
    CREATE TABLE ledger_upper (
        idx  INTEGER PRIMARY KEY,
        hash BLOB NOT NULL
    );
    ",
    // v5: the ledger record of a stored object is no longer stored as
    // bytes but rebuilt from the object row (it is a function of the
    // collection, id, `modified`, the raw bytes' SHA-256, and `ledger_src`:
    // direction, partner and time, as a JSON array); its chunk line is `#`.
    // The record bytes were a third of ingest's bytes. A deleted version's
    // record is kept in `ledger_detached` (by seq) in the delete's
    // transaction, and seqs are never reused (`store_meta.seq_hwm`, the
    // highest seq ever assigned), so a seq names one object version forever.
    r"
    ALTER TABLE objects ADD COLUMN ledger_src TEXT;
    CREATE TABLE ledger_detached (
        seq  INTEGER PRIMARY KEY,
        leaf BLOB NOT NULL
    );
    CREATE TABLE store_meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    INSERT INTO store_meta (key, value) SELECT 'seq_hwm', coalesce(max(seq), 0) FROM objects;
    ",
    // v6: no index on `date_added`. It grows with seq (the rowid), so the
    // first seq added after a time is found by a binary search over the
    // table itself (`SqliteStore::first_seq_added_after`, about 30 rowid
    // seeks at 10^9 rows), and the newest date is the last row's. The index
    // cost the writer about a sixth of each insert.
    r"
    DROP INDEX objects_date_added;
    ",
    // v7: the cursors of `accord sync` (see `sync_state.rs`): per pull
    // (`<partner collection URL> -> <local collection>`), the partner's
    // `X-TAXII-Date-Added-Last` to resume from. Until v7 they were kept in
    // `sync-state.json` beside the database.
    r"
    CREATE TABLE sync_cursors (
        key         TEXT PRIMARY KEY,
        added_after TEXT NOT NULL
    ) WITHOUT ROWID;
    ",
    // v8: the health of each partner's sync (see `sync_state.rs`): the
    // last success, the last error, consecutive failures, and whether the
    // scheduler paused it until an operator resumes it. The push cursors
    // (a store seq per partner and local collection) live in
    // `sync_cursors` under keys `push NAME <- COLLECTION`.
    r"
    CREATE TABLE partner_health (
        partner       TEXT PRIMARY KEY,
        last_success  TEXT,
        last_error    TEXT,
        last_error_at TEXT,
        failures      INTEGER NOT NULL DEFAULT 0,
        paused        INTEGER NOT NULL DEFAULT 0,
        paused_reason TEXT
    ) WITHOUT ROWID;
    ",
    // v9: the push journal (see `sync_state.rs`): per push cursor key, the
    // batch POSTed or about to be POSTed to the partner and not yet
    // acknowledged: the seq the cursor moves to once it is, and the
    // objects exactly as released (each a little-endian u32 length, then
    // the bytes). Written by the writer in the transaction that appends
    // the batch's `out` records; deleted with the cursor's move.
    r"
    CREATE TABLE push_journal (
        key      TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        objects  BLOB NOT NULL
    ) WITHOUT ROWID;
    ",
];

/// Rust steps run right after a migration's SQL, in its transaction:
/// (version reached, step).
const MIGRATION_STEPS: &[(i64, MigrationStep)] = &[(4, crate::ledger::migrate_v3_rows)];

type MigrationStep = fn(&rusqlite::Connection) -> rusqlite::Result<()>;

/// The schema version this build writes.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the database to version `target` (normally [`LATEST`]).
pub(crate) fn migrate(conn: &mut Connection, path: &Path, target: i64) -> Result<(), StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(open_err)?;
    let found = check_header(&tx, path)?;
    if found >= target {
        return Ok(());
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(found as usize)
    {
        let to = i as i64 + 1;
        tx.execute_batch(sql)
            .and_then(|()| {
                MIGRATION_STEPS
                    .iter()
                    .filter(|(v, _)| *v == to)
                    .try_for_each(|(_, step)| step(&tx))
            })
            .and_then(|()| tx.pragma_update(None, "user_version", to))
            .and_then(|()| tx.pragma_update(None, "application_id", APPLICATION_ID))
            .map_err(|source| StoreError::Migrate {
                path: path.to_owned(),
                from: found,
                to,
                source,
            })?;
    }
    tx.commit().map_err(|source| StoreError::Migrate {
        path: path.to_owned(),
        from: found,
        to: target,
        source,
    })
}

/// Checks that the database is empty or an Accord database this build can
/// open, and returns its schema version. Runs before anything is written,
/// so a foreign or newer database is left exactly as it was.
pub(crate) fn check_header(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(open_err)?;
    let app_id: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(open_err)?;
    let tables: Vec<String> = {
        let mut st = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .map_err(open_err)?;
        st.query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(open_err)?
    };
    let fresh = found == 0 && app_id == 0 && tables.is_empty();
    if !fresh && app_id != APPLICATION_ID {
        return Err(StoreError::NotAccord {
            path: path.to_owned(),
            found: app_id,
            tables: tables.join(", "),
        });
    }
    if found > LATEST {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            supported: LATEST,
        });
    }
    Ok(found)
}
