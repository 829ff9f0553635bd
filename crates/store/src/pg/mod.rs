//! The PostgreSQL backend: every capability trait of the store
//! ([`Backend`](crate::Backend), [`ObjectWrite`](crate::ObjectWrite) and
//! the read traits) over one PostgreSQL database, so that several node
//! processes on several machines serve one jurisdiction with the same
//! guarantees as the embedded SQLite store. SQLite stays the default; this
//! backend is chosen by `[cluster] postgres` in `accord.toml`.
//!
//! **One sequencer.** Every write transaction (objects, `out` records,
//! deletes, push journal steps) starts by taking the transaction-level
//! advisory lock [`SEQUENCER_LOCK`] (`pg_advisory_xact_lock`), then reads
//! the high-water marks in `accord_meta` (the last seq, the log's size,
//! the last `date_added`), writes, moves them, and commits. The lock is
//! held until the commit, so the writes of all processes are serialized:
//! seqs and log indexes are assigned in commit order, gap-free in the log
//! (a rolled-back transaction assigned nothing anyone saw), and a reader
//! paging by seq never skips a row that commits later with a lower seq.
//! Within one process, the writer thread groups every queued batch into
//! one such transaction (group commit), so the lock is taken once per
//! group, not per request.
//!
//! **Durability.** The server runs with `synchronous_commit = on` (forced
//! per session), so a commit returned means the WAL reached the server's
//! disk: an acknowledged write survives a crash of the node process, of
//! the server process and of the machine.
//!
//! **Raw bytes.** `objects.raw` is `text` (the database is UTF-8 and JSON
//! text holds no NUL byte), returned byte for byte as stored.
//!
//! Layout: `schema.rs` (migrations), `read.rs` ([`ObjectRead`](crate::ObjectRead)),
//! `writer.rs` ([`PgWriter`], [`ObjectWrite`](crate::ObjectWrite)),
//! `cursors.rs` ([`SyncCursors`](crate::SyncCursors)), `ledger/` (the
//! log: append inside the writer's transaction, hashes, proofs, tiles,
//! checkpoints, witnessed checkpoints, alerts:
//! [`LedgerRead`](crate::LedgerRead), [`LedgerWrite`](crate::LedgerWrite)),
//! `cluster.rs` (processes, leases), `sessions.rs` (the dashboard's
//! sessions, shared by the processes).

pub mod cluster;
mod cursors;
mod ledger;
mod read;
mod schema;
pub mod sessions;
mod writer;

pub use writer::PgWriter;

use crate::{OpenOptions, StoreError};
use accord_stix::Clock;
use std::cell::{RefCell, RefMut};
use std::sync::Arc;

/// The key of the transaction-level advisory lock every write transaction
/// takes first ("ACCD" as an integer): the cluster's one sequencer.
pub const SEQUENCER_LOCK: i64 = 0x4143_4344;

/// A handle on a PostgreSQL store: one connection of its own for reads
/// and the ledger's small writes, and the process's shared writer. `Send`,
/// not `Sync` (one thread at a time), like every [`Backend`](crate::Backend)
/// handle; [`Backend::new_handle`](crate::Backend::new_handle) opens
/// another connection.
pub struct PgStore {
    /// The connection string, as given (may hold a password: never shown).
    conn_str: String,
    /// The server as shown in errors and logs (no password).
    server: String,
    client: RefCell<postgres::Client>,
    writer: PgWriter,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// `conn_str` as shown to people: every `password=…` (key/value form) or
/// the password of a `postgresql://user:password@host` URL replaced.
pub fn redact(conn_str: &str) -> String {
    if let Some(rest) = conn_str
        .strip_prefix("postgresql://")
        .or_else(|| conn_str.strip_prefix("postgres://"))
    {
        let scheme = &conn_str[..conn_str.len() - rest.len()];
        if let Some(at) = rest.find('@') {
            let (cred, host) = rest.split_at(at);
            let user = cred.split(':').next().unwrap_or("");
            return format!("{scheme}{user}:***{host}");
        }
        return conn_str.to_owned();
    }
    conn_str
        .split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens one connection to `conn_str`, with the session settings every
/// connection of the backend needs. `idle_in_transaction_session_timeout`:
/// a process stopped or hung in the middle of a write transaction (which
/// holds the sequencer lock every writer waits for) has its session ended
/// by the server after 10 s, so the cluster's writes stall at most that
/// long; no transaction of the backend waits on its client between
/// statements.
pub(crate) fn connect(conn_str: &str, server: &str) -> Result<postgres::Client, StoreError> {
    let mut client = postgres::Client::connect(conn_str, postgres::NoTls).map_err(|source| {
        StoreError::Postgres {
            server: server.to_owned(),
            what: "connecting".into(),
            source,
        }
    })?;
    client
        .batch_execute(
            "SET synchronous_commit = on; SET client_min_messages = warning; \
             SET default_transaction_isolation = 'read committed'; \
             SET idle_in_transaction_session_timeout = '10s'",
        )
        .map_err(|source| StoreError::Postgres {
            server: server.to_owned(),
            what: "configuring the session".into(),
            source,
        })?;
    Ok(client)
}

impl PgStore {
    /// Connects to the database `conn_str` (a libpq connection string or a
    /// `postgresql://` URL), brings its schema up to date (creating it in
    /// an empty database) and starts this process's writer.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] when the server cannot be reached or a
    /// migration fails; [`StoreError::TooNew`] for a schema from a newer
    /// Accord.
    pub fn connect(conn_str: &str, opts: &OpenOptions) -> Result<PgStore, StoreError> {
        let server = redact(conn_str);
        let mut client = connect(conn_str, &server)?;
        schema::migrate(&mut client, &server)?;
        let writer = PgWriter::start(conn_str, &server, opts)?;
        Ok(PgStore {
            conn_str: conn_str.to_owned(),
            server,
            client: RefCell::new(client),
            writer,
            clock: Arc::clone(opts.clock_ref()),
        })
    }

    /// The server, as shown in errors (no password).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// This handle's connection; a new one when the old one was closed (the
    /// server restarted, or dropped it): the request that saw it break
    /// failed, the next one is served. When the server is still away the
    /// closed connection is returned, and the caller's statement fails with
    /// [`StoreError::Postgres`].
    pub(crate) fn client(&self) -> RefMut<'_, postgres::Client> {
        let mut c = self.client.borrow_mut();
        if c.is_closed()
            && let Ok(fresh) = connect(&self.conn_str, &self.server)
        {
            *c = fresh;
        }
        c
    }

    /// A [`StoreError::Postgres`] maker naming `what`.
    pub(crate) fn err<'a>(&'a self, what: &'a str) -> impl Fn(postgres::Error) -> StoreError + 'a {
        pg_err(&self.server, what)
    }
}

/// A [`StoreError::Postgres`] maker naming the server and `what`.
pub(crate) fn pg_err<'a>(
    server: &'a str,
    what: &'a str,
) -> impl Fn(postgres::Error) -> StoreError + 'a {
    move |source| StoreError::Postgres {
        server: server.to_owned(),
        what: what.to_owned(),
        source,
    }
}

impl crate::Backend for PgStore {
    fn new_handle(&self) -> Result<Box<dyn crate::Backend>, StoreError> {
        Ok(Box::new(PgStore {
            conn_str: self.conn_str.clone(),
            server: self.server.clone(),
            client: RefCell::new(connect(&self.conn_str, &self.server)?),
            writer: self.writer.clone(),
            clock: Arc::clone(&self.clock),
        }))
    }

    fn writer(&self) -> &dyn crate::ObjectWrite {
        &self.writer
    }

    fn begin_exclusive(&self, section: crate::Exclusive) -> Result<(), StoreError> {
        self.client()
            .execute("SELECT pg_advisory_lock($1)", &[&section.key()])
            .map(drop)
            .map_err(pg_err(&self.server, "waiting for an exclusive section"))
    }

    fn end_exclusive(&self, section: crate::Exclusive) {
        let _ = self
            .client()
            .execute("SELECT pg_advisory_unlock($1)", &[&section.key()]);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("host=/tmp user=a password=secret dbname=x"),
            "host=/tmp user=a password=*** dbname=x"
        );
        assert_eq!(
            super::redact("postgresql://alice:secret@db.example:5432/accord"),
            "postgresql://alice:***@db.example:5432/accord"
        );
        assert_eq!(
            super::redact("postgresql://db.example/accord"),
            "postgresql://db.example/accord"
        );
    }
}
