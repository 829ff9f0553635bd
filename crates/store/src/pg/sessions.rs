//! The dashboard's sessions on PostgreSQL, shared by every process of a
//! cluster: a browser behind a load balancer stays signed in whichever
//! process answers, and a logout on one process ends the session on all.
//!
//! A row per session, keyed by the SHA-256 of its cookie token (the token
//! is never stored, so reading the table does not sign anyone in), with
//! the account's name (its rights are read from the configuration at each
//! request), the session's CSRF token, and its start and last use in
//! microseconds of the database's clock (the processes' clocks may
//! disagree). A session ends after [`SessionLimits::idle`] unused and
//! [`SessionLimits::max_age`] in all; at most
//! [`SessionLimits::max_sessions`] are kept, the least recently used going
//! first, so a flood of logins cannot fill the table.
//!
//! One connection per [`PgSessions`], behind a mutex (dashboard traffic
//! is light); a connection found closed is reopened and the statement
//! tried once more, so a restarted server costs no request.

use super::{connect, pg_err, redact, schema};
use crate::StoreError;
use std::sync::Mutex;
use std::time::Duration;

/// How long sessions live and how many are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after it started, used or not.
    pub max_age: Duration,
    /// Sessions kept at most (the least recently used goes first).
    pub max_sessions: usize,
}

/// A live session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The signed-in account's name.
    pub account: String,
    /// The session's CSRF token.
    pub csrf: String,
}

/// Last use is written back at most this often per session (the idle
/// limit is half an hour: a write per page view would buy nothing).
const TOUCH_EVERY_MICROS: i64 = 30_000_000;

/// The database's clock, in microseconds since the epoch.
const NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

/// The cluster's dashboard sessions (see the module's documentation).
pub struct PgSessions {
    conn_str: String,
    server: String,
    client: Mutex<postgres::Client>,
}

impl std::fmt::Debug for PgSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSessions")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl PgSessions {
    /// Connects to `conn_str` (and brings its schema up to date, as
    /// [`PgStore::connect`](super::PgStore::connect) does).
    ///
    /// # Errors
    /// [`StoreError::Postgres`] when the server cannot be reached;
    /// [`StoreError::TooNew`] for a schema from a newer Accord.
    pub fn connect(conn_str: &str) -> Result<PgSessions, StoreError> {
        let server = redact(conn_str);
        let mut client = connect(conn_str, &server)?;
        schema::migrate(&mut client, &server)?;
        Ok(PgSessions {
            conn_str: conn_str.to_owned(),
            server,
            client: Mutex::new(client),
        })
    }

    /// Runs `f` on the connection; once more on a fresh connection when
    /// the first attempt met a closed or dropped one (the server's
    /// `57P01` "terminating connection" can arrive before the client
    /// sees the connection closed: [`StoreError::is_unavailable`]).
    fn with_client<T>(
        &self,
        what: &str,
        mut f: impl FnMut(&mut postgres::Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
        match f(&mut c).map_err(pg_err(&self.server, what)) {
            Err(e) if e.is_unavailable() || c.is_closed() => {
                *c = connect(&self.conn_str, &self.server)?;
                f(&mut c).map_err(pg_err(&self.server, what))
            }
            r => r,
        }
    }

    /// Stores a new session under `digest` (the SHA-256 of its token) for
    /// `account`; ended sessions are deleted first, and the least recently
    /// used ones past `limits.max_sessions`.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] when the database cannot be reached.
    pub fn start(
        &self,
        digest: &[u8; 32],
        account: &str,
        csrf: &str,
        limits: SessionLimits,
    ) -> Result<(), StoreError> {
        let keep = i64::try_from(limits.max_sessions.saturating_sub(1)).unwrap_or(i64::MAX);
        self.with_client("starting a dashboard session", |c| {
            let mut t = c.transaction()?;
            t.execute(
                &format!(
                    "DELETE FROM dashboard_sessions WHERE last_micros <= {NOW} - $1 \
                     OR created_micros <= {NOW} - $2"
                ),
                &[&micros(limits.idle), &micros(limits.max_age)],
            )?;
            t.execute(
                "DELETE FROM dashboard_sessions WHERE digest IN \
                 (SELECT digest FROM dashboard_sessions ORDER BY last_micros DESC OFFSET $1)",
                &[&keep],
            )?;
            t.execute(
                &format!(
                    "INSERT INTO dashboard_sessions (digest, account, csrf, created_micros, last_micros) \
                     VALUES ($1, $2, $3, {NOW}, {NOW})"
                ),
                &[&&digest[..], &account, &csrf],
            )?;
            t.commit()
        })
    }

    /// The live session stored under `digest`, its last use moved to now
    /// (at most every 30 s); `None` when there is none or it ended (then
    /// it is deleted).
    ///
    /// # Errors
    /// [`StoreError::Postgres`] when the database cannot be reached.
    pub fn get(
        &self,
        digest: &[u8; 32],
        limits: SessionLimits,
    ) -> Result<Option<SessionRow>, StoreError> {
        self.with_client("reading a dashboard session", |c| {
            let row = c.query_opt(
                &format!(
                    "SELECT account, csrf, {NOW} - last_micros, {NOW} - created_micros \
                     FROM dashboard_sessions WHERE digest = $1"
                ),
                &[&&digest[..]],
            )?;
            let Some(row) = row else { return Ok(None) };
            let (idle, age): (i64, i64) = (row.get(2), row.get(3));
            if idle >= micros(limits.idle) || age >= micros(limits.max_age) {
                c.execute(
                    "DELETE FROM dashboard_sessions WHERE digest = $1",
                    &[&&digest[..]],
                )?;
                return Ok(None);
            }
            if idle >= TOUCH_EVERY_MICROS {
                c.execute(
                    &format!("UPDATE dashboard_sessions SET last_micros = {NOW} WHERE digest = $1"),
                    &[&&digest[..]],
                )?;
            }
            Ok(Some(SessionRow {
                account: row.get(0),
                csrf: row.get(1),
            }))
        })
    }

    /// Ends the session stored under `digest` (logout), on every process.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] when the database cannot be reached.
    pub fn end(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        self.with_client("ending a dashboard session", |c| {
            c.execute(
                "DELETE FROM dashboard_sessions WHERE digest = $1",
                &[&&digest[..]],
            )
            .map(drop)
        })
    }

    /// How many sessions are stored (ended ones not yet deleted included).
    ///
    /// # Errors
    /// [`StoreError::Postgres`] when the database cannot be reached.
    pub fn count(&self) -> Result<u64, StoreError> {
        self.with_client("counting dashboard sessions", |c| {
            let n: i64 = c
                .query_one("SELECT count(*) FROM dashboard_sessions", &[])?
                .get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}
