//! The PostgreSQL schema and its migrations.
//!
//! `accord_meta` row `schema_version` is the number of entries of
//! [`MIGRATIONS`] applied. Connecting runs the missing ones, in order, in
//! one transaction with the new version, under a transaction-level
//! advisory lock, so several processes starting at once migrate once and a
//! crash half-way leaves the old version. A version above [`LATEST`] comes
//! from a newer Accord and is refused untouched. Append-only: a released
//! migration is never edited.
//!
//! The tables mirror the SQLite schema's (see `crate::schema`), with
//! these differences: `seq` is assigned by the writer under the sequencer
//! lock from `accord_meta.seq_hwm` (not a rowid); `(coll_id, id, version)`
//! is a unique index (PostgreSQL's B-tree keeps it compact enough, and the
//! writer of another process cannot be trusted to have checked); the log
//! keeps each leaf's bytes in `ledger_leaves` (one row per leaf, also for
//! a deleted object's record) and every stored hash in `ledger_hashes`.

use super::pg_err;
use crate::StoreError;

/// The key of the advisory lock held while migrating.
const MIGRATE_LOCK: i64 = super::SEQUENCER_LOCK + 1;

/// The schema, one migration per version. Entry `i` takes version `i` to
/// `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // v1: everything the SQLite schema holds at its v9.
    //
    // accord_meta: `seq_hwm` (the highest seq ever assigned; never reused,
    // not even after a delete), `ledger_size` (leaves in the log),
    // `last_date_added` (microseconds; `date_added` strictly grows with
    // seq). Read and moved only under the sequencer lock.
    r"
    CREATE TABLE collections (
        coll_id    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name       text NOT NULL UNIQUE,
        n_versions bigint NOT NULL DEFAULT 0
    );
    CREATE TABLE objects (
        seq          bigint PRIMARY KEY,
        coll_id      integer NOT NULL REFERENCES collections (coll_id),
        id           text NOT NULL,
        type         text NOT NULL,
        spec_version text NOT NULL,
        created      text,
        modified     text,
        version      text NOT NULL,
        date_added   bigint NOT NULL,
        origin       text NOT NULL,
        markings     text NOT NULL,
        sha256       bytea NOT NULL,
        raw          text NOT NULL,
        ledger_src   text
    );
    CREATE UNIQUE INDEX objects_key ON objects (coll_id, id, version);
    CREATE INDEX objects_id ON objects (id);
    CREATE INDEX objects_coll ON objects (coll_id, seq);
    CREATE INDEX objects_coll_type ON objects (coll_id, type, seq);
    CREATE INDEX objects_date_added ON objects (date_added);

    CREATE TABLE ledger_leaves (
        idx  bigint PRIMARY KEY,
        leaf bytea NOT NULL,
        seq  bigint
    );
    CREATE INDEX ledger_leaves_seq ON ledger_leaves (seq) WHERE seq IS NOT NULL;
    CREATE TABLE ledger_hashes (
        idx  bigint PRIMARY KEY,
        hash bytea NOT NULL
    );
    CREATE TABLE ledger_checkpoints (
        size      bigint PRIMARY KEY,
        note      bytea NOT NULL,
        signed_at bigint NOT NULL
    );
    CREATE TABLE ledger_cosignatures (
        size        bigint NOT NULL,
        witness     text NOT NULL,
        key_id      bigint NOT NULL,
        line        text NOT NULL,
        received_at bigint NOT NULL,
        PRIMARY KEY (size, witness, key_id)
    );
    CREATE TABLE ledger_witnessed (
        partner     text NOT NULL,
        size        bigint NOT NULL,
        root        bytea NOT NULL,
        note        bytea NOT NULL,
        received_at bigint NOT NULL,
        PRIMARY KEY (partner, size)
    );
    CREATE TABLE ledger_alerts (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partner text NOT NULL,
        kind    text NOT NULL,
        detail  text NOT NULL,
        first   bytea,
        second  bytea,
        time    bigint NOT NULL
    );

    CREATE TABLE sync_cursors (
        key         text PRIMARY KEY,
        added_after text NOT NULL
    );
    CREATE TABLE partner_health (
        partner       text PRIMARY KEY,
        last_success  text,
        last_error    text,
        last_error_at text,
        failures      bigint NOT NULL DEFAULT 0,
        paused        boolean NOT NULL DEFAULT false,
        paused_reason text
    );
    CREATE TABLE push_journal (
        key      text PRIMARY KEY,
        last_seq bigint NOT NULL,
        objects  bytea NOT NULL
    );

    CREATE TABLE cluster_processes (
        name         text PRIMARY KEY,
        url          text NOT NULL,
        pid          bigint NOT NULL,
        host         text NOT NULL,
        started_at   bigint NOT NULL,
        heartbeat_at bigint NOT NULL,
        version      text NOT NULL
    );

    INSERT INTO accord_meta (key, value) VALUES
        ('seq_hwm', 0), ('ledger_size', 0), ('last_date_added', 0);
    ",
    // v2: how far each process's followers of the store (the dashboard's
    // search index) have read, reported with its heartbeat: its lag is
    // `seq_hwm` minus this (NULL: not reported yet).
    r"
    ALTER TABLE cluster_processes ADD COLUMN followed_seq bigint;
    ",
    // v3: the dashboard's sessions, shared by every process so a browser
    // behind a load balancer stays signed in whichever process answers,
    // and a logout anywhere ends the session everywhere (`sessions.rs`).
    // Keyed by the SHA-256 of the cookie token (the token itself is never
    // stored); times in microseconds of the database's clock.
    r"
    CREATE TABLE dashboard_sessions (
        digest         bytea PRIMARY KEY,
        account        text NOT NULL,
        csrf           text NOT NULL,
        created_micros bigint NOT NULL,
        last_micros    bigint NOT NULL
    );
    CREATE INDEX dashboard_sessions_last ON dashboard_sessions (last_micros);
    ",
];

/// The schema version this build writes.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`LATEST`].
pub(crate) fn migrate(client: &mut postgres::Client, server: &str) -> Result<(), StoreError> {
    let mut tx = client
        .transaction()
        .map_err(pg_err(server, "starting the migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .map_err(pg_err(server, "taking the migration lock"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS accord_meta (key text PRIMARY KEY, value bigint NOT NULL)",
    )
    .map_err(pg_err(server, "creating accord_meta"))?;
    let found: i64 = tx
        .query_opt(
            "SELECT value FROM accord_meta WHERE key = 'schema_version'",
            &[],
        )
        .map_err(pg_err(server, "reading the schema version"))?
        .map_or(0, |r| r.get(0));
    if found > LATEST {
        return Err(StoreError::TooNew {
            path: server.into(),
            found,
            supported: LATEST,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let to = i as i64 + 1;
        tx.batch_execute(sql)
            .map_err(pg_err(server, &format!("migrating to schema version {to}")))?;
        tx.execute(
            "INSERT INTO accord_meta (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&to],
        )
        .map_err(pg_err(server, "recording the schema version"))?;
    }
    tx.commit()
        .map_err(pg_err(server, "committing the migration"))
}
