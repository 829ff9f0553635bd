//! The processes of a cluster and their leases, over the PostgreSQL
//! store's database (blocking client).
//!
//! **Registry.** Each `accord serve` process has a row in
//! `cluster_processes` (name, URL, pid, host, start, heartbeat, version):
//! [`register`] writes it at start, [`Heartbeat`] moves `heartbeat_at`
//! every [`HEARTBEAT_EVERY`] on a thread of its own. A process whose
//! heartbeat is older than [`ALIVE_WITHIN`] is shown as not alive; its row
//! stays (its name is usually reused when it restarts).
//!
//! **Leases.** A role that one process of the cluster plays at a time
//! ([`Role`]: the partners' sync rounds, the hotline's deadlines, the
//! periodic checkpoint signing) is a *session-level* advisory lock
//! (`pg_try_advisory_lock`) held on a connection of its own ([`Leases`]).
//! PostgreSQL releases it when that connection ends, so a process that
//! dies (SIGKILL, machine lost, network cut) loses its roles without
//! anyone's help, and another process takes them at its next try.
//! [`Leases::refresh`] checks the connection and tries for the roles not
//! held; a failed check means every role is lost (the server may already
//! have given it to another process).
//!
//! **Who is who.** Every connection of a process carries the
//! `application_name` `accord:<name>` ([`with_application_name`]), so
//! [`status`] can name the holder of each lease and of the sequencer
//! ([`super::SEQUENCER_LOCK`], held for the length of a write
//! transaction) from `pg_locks` and `pg_stat_activity`.

use super::{SEQUENCER_LOCK, pg_err};
use crate::StoreError;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// How often a process writes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// A process whose heartbeat is older than this is not alive.
pub const ALIVE_WITHIN: Duration = Duration::from_secs(10);

/// The high 32 bits of every lease's advisory-lock key ("ACCL"); the low
/// 32 bits are the [`Role`]'s number. In `pg_locks` a bigint key shows as
/// `classid` (high half), `objid` (low half), `objsubid` 1.
pub const LEASE_CLASS: u32 = 0x4143_434C;

/// The prefix of the `application_name` of a process's connections.
pub const APP_PREFIX: &str = "accord:";

/// What the writer's connection of a cluster process appends to its
/// `application_name` (`accord:NAME/writer`).
pub const WRITER_SUFFIX: &str = "/writer";

/// A role that one process of the cluster plays at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Runs the partners' sync rounds (pull, push, witnessing).
    Scheduler,
    /// Runs the hotline's deadlines (an escalation fires once).
    Hotline,
    /// Signs a checkpoint of the log's head on an interval.
    Signer,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 3] = [Role::Scheduler, Role::Hotline, Role::Signer];

    /// Its name, as shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Scheduler => "scheduler",
            Role::Hotline => "hotline",
            Role::Signer => "signer",
        }
    }

    fn number(self) -> u32 {
        match self {
            Role::Scheduler => 1,
            Role::Hotline => 2,
            Role::Signer => 3,
        }
    }

    /// Its advisory-lock key.
    pub fn key(self) -> i64 {
        (i64::from(LEASE_CLASS) << 32) | i64::from(self.number())
    }
}

/// `conn_str` with `application_name` set to `accord:<name>` (appended:
/// the last setting wins in both the `key=value` and the URL form).
/// `name` is a process name (letters, digits, `.`, `-`, `_`), which needs
/// no quoting in either form.
pub fn with_application_name(conn_str: &str, name: &str) -> String {
    let value = format!("{APP_PREFIX}{name}");
    let is_url = conn_str.starts_with("postgresql://") || conn_str.starts_with("postgres://");
    if is_url {
        let sep = if conn_str.contains('?') { '&' } else { '?' };
        format!("{conn_str}{sep}application_name={value}")
    } else {
        format!("{} application_name={value}", conn_str.trim_end())
    }
}

/// What a process says of itself in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its name, unique in the cluster.
    pub name: String,
    /// How others reach it.
    pub url: String,
    /// Its operating-system process id.
    pub pid: u32,
    /// The machine it runs on.
    pub host: String,
    /// The Accord version it runs.
    pub version: String,
}

/// Writes (or replaces) `info`'s row, with a fresh start and heartbeat.
/// Times in the registry are the database server's clock, so ages are
/// compared on one clock whatever the machines' clocks say.
///
/// # Errors
/// [`StoreError::Postgres`].
pub fn register(
    client: &mut postgres::Client,
    server: &str,
    info: &ProcessInfo,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO cluster_processes (name, url, pid, host, started_at, heartbeat_at, version)
             VALUES ($1, $2, $3, $4,
                     (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
                     (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, $5)
             ON CONFLICT (name) DO UPDATE SET url = excluded.url, pid = excluded.pid,
                 host = excluded.host, started_at = excluded.started_at,
                 heartbeat_at = excluded.heartbeat_at, version = excluded.version",
            &[
                &info.name,
                &info.url,
                &i64::from(info.pid),
                &info.host,
                &info.version,
            ],
        )
        .map(|_| ())
        .map_err(pg_err(server, &format!("registering process `{}`", info.name)))
}

/// Moves `name`'s heartbeat to now; re-registers `info` when its row is
/// gone (deleted by an operator).
///
/// # Errors
/// [`StoreError::Postgres`].
pub fn heartbeat(
    client: &mut postgres::Client,
    server: &str,
    info: &ProcessInfo,
) -> Result<(), StoreError> {
    let n = client
        .execute(
            "UPDATE cluster_processes
             SET heartbeat_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
             WHERE name = $1",
            &[&info.name],
        )
        .map_err(pg_err(server, &format!("the heartbeat of `{}`", info.name)))?;
    if n == 0 {
        register(client, server, info)?;
    }
    Ok(())
}

/// Another live process registered under `info.name`: its row, when its
/// heartbeat is younger than [`ALIVE_WITHIN`] and it runs on another host
/// or answers at another URL (a process restarted where it ran before is
/// not a conflict). Names must be unique: two processes sharing one would
/// share a row, and the lease holders could not be told apart.
///
/// # Errors
/// [`StoreError::Postgres`].
pub fn name_conflict(conn_str: &str, info: &ProcessInfo) -> Result<Option<String>, StoreError> {
    let server = super::redact(conn_str);
    let mut client = super::connect(conn_str, &server)?;
    let row = client
        .query_opt(
            "SELECT host, url, pid,
                    ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint - heartbeat_at) / 1000
             FROM cluster_processes WHERE name = $1",
            &[&info.name],
        )
        .map_err(pg_err(&server, "reading cluster_processes"))?;
    Ok(row.and_then(|r| {
        let (host, url, pid, age): (String, String, i64, i64) = (r.get(0), r.get(1), r.get(2), r.get(3));
        let live = age < i64::try_from(ALIVE_WITHIN.as_millis()).unwrap_or(i64::MAX);
        (live && (host != info.host || url != info.url)).then(|| {
            format!(
                "[cluster] name `{}` is taken by a live process (pid {pid} on {host}, {url}, heard from {:.1} s ago); give this process another name",
                info.name,
                age as f64 / 1000.0
            )
        })
    }))
}

/// The heartbeat thread of one process; [`Heartbeat::stop`] ends it.
#[derive(Debug)]
pub struct Heartbeat {
    stop: Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Heartbeat {
    /// Registers `info` now (so a process that cannot reach the database
    /// does not start), then beats every [`HEARTBEAT_EVERY`] on a thread
    /// with its own connection, reconnecting after a failure (logged).
    ///
    /// # Errors
    /// [`StoreError::Postgres`] when the first registration fails.
    pub fn start(conn_str: &str, info: ProcessInfo) -> Result<Heartbeat, StoreError> {
        Heartbeat::start_following(conn_str, info, None)
    }

    /// [`Heartbeat::start`], also reporting with each beat the highest
    /// seq the process's followers of the store have read (`followed`,
    /// negative while unknown): `accord cluster status` shows the lag.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] when the first registration fails.
    pub fn start_following(
        conn_str: &str,
        info: ProcessInfo,
        followed: Option<std::sync::Arc<std::sync::atomic::AtomicI64>>,
    ) -> Result<Heartbeat, StoreError> {
        let server = super::redact(conn_str);
        let mut client = super::connect(conn_str, &server)?;
        register(&mut client, &server, &info)?;
        let conn_str = conn_str.to_owned();
        let (stop, stopped) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cluster-heartbeat".into())
            .spawn(move || {
                beat(
                    &conn_str,
                    &server,
                    &info,
                    followed.as_deref(),
                    Some(client),
                    &stopped,
                );
            })
            .map_err(|e| StoreError::WriterStopped {
                path: format!("the heartbeat thread: {e}").into(),
            })?;
        Ok(Heartbeat { stop, thread })
    }

    /// Stops the thread and waits for it. The row stays, and shows the
    /// process as not alive once its heartbeat is [`ALIVE_WITHIN`] old.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

fn beat(
    conn_str: &str,
    server: &str,
    info: &ProcessInfo,
    followed: Option<&std::sync::atomic::AtomicI64>,
    mut client: Option<postgres::Client>,
    stopped: &Receiver<()>,
) {
    let mut failing = false;
    loop {
        match stopped.recv_timeout(HEARTBEAT_EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        if client.as_ref().is_none_or(postgres::Client::is_closed) {
            client = super::connect(conn_str, server).ok();
        }
        let followed = followed
            .map(|f| f.load(std::sync::atomic::Ordering::Relaxed))
            .filter(|&f| f >= 0);
        let r = match client.as_mut() {
            Some(c) => heartbeat(c, server, info).and_then(|()| match followed {
                Some(f) => c
                    .execute(
                        "UPDATE cluster_processes SET followed_seq = $2 WHERE name = $1",
                        &[&info.name, &f],
                    )
                    .map(|_| ())
                    .map_err(pg_err(server, "reporting how far the process has read")),
                None => Ok(()),
            }),
            None => Err(StoreError::WriterStopped {
                path: format!("PostgreSQL {server} (no connection)").into(),
            }),
        };
        match r {
            Ok(()) if failing => {
                tracing_free_log(&format!("cluster heartbeat of `{}` resumed", info.name));
                failing = false;
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing_free_log(&format!("cluster heartbeat of `{}`: {e}", info.name));
                }
                failing = true;
                client = None;
            }
        }
    }
}

/// The store logs nothing itself (no logging dependency); a heartbeat
/// failure is written once to standard error, and the recovery too.
fn tracing_free_log(line: &str) {
    eprintln!("{line}");
}

/// The leases of one process, on a connection of their own.
pub struct Leases {
    conn_str: String,
    server: String,
    client: Option<postgres::Client>,
    held: Vec<Role>,
    wanted: Vec<Role>,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases")
            .field("server", &self.server)
            .field("held", &self.held)
            .field("wanted", &self.wanted)
            .finish_non_exhaustive()
    }
}

impl Leases {
    /// Leases for the roles `wanted`, none held yet; `conn_str` should
    /// carry the process's `application_name` ([`with_application_name`]).
    pub fn new(conn_str: &str, wanted: &[Role]) -> Leases {
        Leases {
            conn_str: conn_str.to_owned(),
            server: super::redact(conn_str),
            client: None,
            held: Vec::new(),
            wanted: wanted.to_vec(),
        }
    }

    /// Whether this process holds `role` (as of the last [`Leases::refresh`]).
    pub fn holds(&self, role: Role) -> bool {
        self.held.contains(&role)
    }

    /// The roles held.
    pub fn held(&self) -> &[Role] {
        &self.held
    }

    /// Checks that the lease connection still lives (else every role is
    /// lost: PostgreSQL released the locks when the session ended) and
    /// tries for each wanted role not held. Returns the roles held now.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] when the server cannot be reached; no role
    /// is held then.
    pub fn refresh(&mut self) -> Result<&[Role], StoreError> {
        match self.try_refresh() {
            Ok(()) => Ok(&self.held),
            Err(e) => {
                self.held.clear();
                self.client = None;
                Err(e)
            }
        }
    }

    fn try_refresh(&mut self) -> Result<(), StoreError> {
        if self.client.as_ref().is_none_or(postgres::Client::is_closed) {
            self.held.clear();
            self.client = Some(super::connect(&self.conn_str, &self.server)?);
        }
        let server = self.server.clone();
        let Some(client) = self.client.as_mut() else {
            return Ok(());
        };
        // The locks this session holds, as the server sees them: a lock
        // held in our books but not there (cannot happen while the
        // session lives, but costs nothing to check) is lost.
        let rows = client
            .query(
                "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory'
                 AND pid = pg_backend_pid() AND granted AND objsubid = 1
                 AND classid::bigint = $1",
                &[&i64::from(LEASE_CLASS)],
            )
            .map_err(pg_err(&server, "checking the leases held"))?;
        let on_server: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        self.held
            .retain(|r| on_server.contains(&i64::from(r.number())));
        for role in self.wanted.clone() {
            if self.held.contains(&role) {
                continue;
            }
            let got: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&role.key()])
                .map_err(pg_err(
                    &server,
                    &format!("trying the {} lease", role.as_str()),
                ))?
                .get(0);
            if got {
                self.held.push(role);
            } else {
                Self::take_from_stale_holder(client, &server, role)?;
            }
        }
        self.held.sort();
        Ok(())
    }

    /// Ends the lease session of `role`'s holder when its process's heartbeat
    /// is older than [`ALIVE_WITHIN`] (on the database's clock): a process
    /// that is stopped (SIGSTOP, a debugger, a frozen VM) or hung keeps its
    /// connection, and so its advisory lock, open forever; its heartbeat
    /// stops. Ending its session frees the lease for the next try (in
    /// [`LEASE_RETRY`](super::cluster) seconds), and when the process resumes
    /// its lease thread finds its connection closed and stops the role. Only
    /// sessions named after a registered process (`accord:NAME`) are ended.
    fn take_from_stale_holder(
        client: &mut postgres::Client,
        server: &str,
        role: Role,
    ) -> Result<(), StoreError> {
        let stale = i64::try_from(ALIVE_WITHIN.as_micros()).unwrap_or(i64::MAX);
        let ended = client
            .query(
                "SELECT p.name, pg_terminate_backend(l.pid)
             FROM pg_locks l
             JOIN pg_stat_activity a ON a.pid = l.pid
             JOIN cluster_processes p ON a.application_name = $4 || p.name
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND l.classid::bigint = $1 AND l.objid::bigint = $2
               AND (extract(epoch FROM clock_timestamp()) * 1000000)::bigint - p.heartbeat_at > $3",
                &[
                    &i64::from(LEASE_CLASS),
                    &i64::from(role.number()),
                    &stale,
                    &APP_PREFIX,
                ],
            )
            .map_err(pg_err(
                server,
                &format!("taking the {} lease from a stale holder", role.as_str()),
            ))?;
        for r in ended {
            let name: String = r.get(0);
            eprintln!(
                "accord: the {} lease's holder `{name}` has not beaten for {} s: its lease session was ended",
                role.as_str(),
                ALIVE_WITHIN.as_secs()
            );
        }
        Ok(())
    }

    /// Gives up every role (the locks are released; another process takes
    /// them at its next try).
    pub fn release_all(&mut self) {
        if let Some(c) = self.client.as_mut() {
            let _ = c.execute("SELECT pg_advisory_unlock_all()", &[]);
        }
        self.held.clear();
    }
}

/// One process as `accord cluster status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStatus {
    /// Its name.
    pub name: String,
    /// How others reach it.
    pub url: String,
    /// Its process id.
    pub pid: i64,
    /// Its machine.
    pub host: String,
    /// Its Accord version.
    pub version: String,
    /// When it started (microseconds since the epoch).
    pub started_at: i64,
    /// Milliseconds since its last heartbeat, by the database's clock.
    pub heartbeat_age_ms: i64,
    /// Whether its heartbeat is younger than [`ALIVE_WITHIN`].
    pub alive: bool,
    /// Connections it has open to the database now.
    pub connections: i64,
    /// The highest seq its followers of the store (the dashboard's search
    /// index) had read at its last heartbeat, if it reported one.
    pub followed_seq: Option<i64>,
}

/// Who holds one lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseStatus {
    /// The role.
    pub role: &'static str,
    /// The holder's process name (its connection's `application_name`
    /// without the prefix), or `None` when no process holds it.
    pub holder: Option<String>,
}

/// The cluster as the database sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    /// The server (no password).
    pub server: String,
    /// Every registered process, by name.
    pub processes: Vec<ProcessStatus>,
    /// Every lease and its holder.
    pub leases: Vec<LeaseStatus>,
    /// The process in a write transaction now (holding the sequencer
    /// lock), if any: writes are short, so usually none.
    pub sequencer: Option<String>,
    /// Write transactions waiting for the sequencer lock now.
    pub sequencer_waiting: i64,
    /// The highest seq assigned (`accord_meta.seq_hwm`).
    pub seq_hwm: i64,
    /// Leaves in the log (`accord_meta.ledger_size`).
    pub ledger_size: i64,
}

/// The holder's name from an `application_name` (a process's writer
/// counts as the process).
fn holder_name(app: Option<String>) -> Option<String> {
    app.map(|a| {
        let a = a.strip_prefix(APP_PREFIX).unwrap_or(&a);
        a.strip_suffix(WRITER_SUFFIX).unwrap_or(a).to_owned()
    })
}

/// Reads the cluster's state: processes, leases, the sequencer and the
/// store's high-water marks.
///
/// # Errors
/// [`StoreError::Postgres`] when the server cannot be reached or the
/// database has no Accord schema.
pub fn status(conn_str: &str) -> Result<ClusterStatus, StoreError> {
    let server = super::redact(conn_str);
    let mut client = super::connect(conn_str, &server)?;
    let e = |what: &'static str| pg_err(&server, what);
    let processes = client
        .query(
            "SELECT p.name, p.url, p.pid, p.host, p.version, p.started_at,
                    ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint - p.heartbeat_at) / 1000,
                    (SELECT count(*) FROM pg_stat_activity a
                      WHERE a.datname = current_database()
                        AND a.application_name IN ($1 || p.name, $1 || p.name || $2)),
                    p.followed_seq
             FROM cluster_processes p ORDER BY p.name",
            &[&APP_PREFIX, &WRITER_SUFFIX],
        )
        .map_err(e("reading cluster_processes"))?
        .into_iter()
        .map(|r| {
            let age: i64 = r.get(6);
            ProcessStatus {
                name: r.get(0),
                url: r.get(1),
                pid: r.get(2),
                host: r.get(3),
                version: r.get(4),
                started_at: r.get(5),
                heartbeat_age_ms: age,
                alive: age < i64::try_from(ALIVE_WITHIN.as_millis()).unwrap_or(i64::MAX),
                connections: r.get(7),
                followed_seq: r.get(8),
            }
        })
        .collect();
    let mut leases = Vec::new();
    for role in Role::ALL {
        let holder: Option<String> = client
            .query_opt(
                "SELECT a.application_name FROM pg_locks l
                 JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.granted AND l.objsubid = 1
                   AND l.classid::bigint = $1 AND l.objid::bigint = $2
                 LIMIT 1",
                &[&i64::from(LEASE_CLASS), &i64::from(role.number())],
            )
            .map_err(e("reading the lease holders"))?
            .map(|r| r.get(0));
        leases.push(LeaseStatus {
            role: role.as_str(),
            holder: holder_name(holder),
        });
    }
    // SEQUENCER_LOCK fits in 32 bits: classid 0, objid the key.
    let seq_key = i64::from(u32::try_from(SEQUENCER_LOCK).unwrap_or(0));
    let rows = client
        .query(
            "SELECT l.granted, a.application_name FROM pg_locks l
             JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.objsubid = 1
               AND l.classid::bigint = 0 AND l.objid::bigint = $1",
            &[&seq_key],
        )
        .map_err(e("reading the sequencer lock"))?;
    let mut sequencer = None;
    let mut sequencer_waiting = 0;
    for r in rows {
        let granted: bool = r.get(0);
        if granted {
            sequencer = holder_name(r.get(1)).or_else(|| Some("(unnamed connection)".into()));
        } else {
            sequencer_waiting += 1;
        }
    }
    let meta = |client: &mut postgres::Client, key: &str| -> Result<i64, StoreError> {
        Ok(client
            .query_opt("SELECT value FROM accord_meta WHERE key = $1", &[&key])
            .map_err(pg_err(&server, &format!("reading accord_meta.{key}")))?
            .map_or(0, |r| r.get(0)))
    };
    let seq_hwm = meta(&mut client, "seq_hwm")?;
    let ledger_size = meta(&mut client, "ledger_size")?;
    Ok(ClusterStatus {
        server: server.clone(),
        processes,
        leases,
        sequencer,
        sequencer_waiting,
        seq_hwm,
        ledger_size,
    })
}

impl StoreError {
    /// Whether this failure is the database being out of reach for a
    /// while (the PostgreSQL backend: connection lost or refused, server
    /// shutting down or starting, too many connections, a serialization
    /// failure or deadlock), so that the same request may succeed if
    /// retried: a server answers it 503 with `Retry-After`, not 500. An
    /// error the server reported about the statement itself is not.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Postgres { source, .. } = self else {
            return false;
        };
        if source.is_closed() {
            return true;
        }
        match source.code() {
            // Not a server's answer: I/O, connecting, a timeout.
            None => true,
            Some(code) => {
                let c = code.code();
                c.starts_with("08") // connection exception
                    || c.starts_with("53") // insufficient resources
                    || c.starts_with("57P") // shutdown, crash, cannot connect now
                    || c == "40001" // serialization failure
                    || c == "40P01" // deadlock detected
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_name_is_appended_in_both_forms() {
        assert_eq!(
            with_application_name("host=/tmp dbname=a", "n-1"),
            "host=/tmp dbname=a application_name=accord:n-1"
        );
        assert_eq!(
            with_application_name("postgresql://u@h/db", "n"),
            "postgresql://u@h/db?application_name=accord:n"
        );
        assert_eq!(
            with_application_name("postgresql://u@h/db?sslmode=disable", "n"),
            "postgresql://u@h/db?sslmode=disable&application_name=accord:n"
        );
        let c: postgres::Config = with_application_name("host=/tmp application_name=x", "n")
            .parse()
            .unwrap();
        assert_eq!(c.get_application_name(), Some("accord:n"));
        let c: postgres::Config = with_application_name("postgresql://u@h/db", "n")
            .parse()
            .unwrap();
        assert_eq!(c.get_application_name(), Some("accord:n"));
    }

    #[test]
    fn lease_keys_are_distinct_and_apart_from_the_sequencer() {
        let keys: Vec<i64> = Role::ALL.iter().map(|r| r.key()).collect();
        assert_eq!(keys.len(), 3);
        assert!(keys.windows(2).all(|w| w[0] != w[1]));
        assert!(!keys.contains(&SEQUENCER_LOCK));
        assert_eq!(Role::Hotline.key() >> 32, i64::from(LEASE_CLASS));
    }

    /// A fresh migrated database of the throwaway cluster, or `None`
    /// (skipped) without PostgreSQL.
    fn database(test: &str) -> Option<String> {
        let cluster = accord_testkit::postgres::cluster(test)?;
        let conn = cluster.fresh_database();
        let server = super::super::redact(&conn);
        let mut c = super::super::connect(&conn, &server).unwrap();
        super::super::schema::migrate(&mut c, &server).unwrap();
        Some(conn)
    }

    #[test]
    fn a_lease_has_one_holder_and_moves_when_its_session_ends() {
        let Some(db) = database("a_lease_has_one_holder_and_moves_when_its_session_ends") else {
            return;
        };
        let a_conn = with_application_name(&db, "a");
        let b_conn = with_application_name(&db, "b");
        // Another jurisdiction's database on the same server, whose
        // process holds every lease there: nothing to do with this one.
        let other_db = database("a_lease_has_one_holder_and_moves_when_its_session_ends").unwrap();
        let mut other = Leases::new(&with_application_name(&other_db, "x"), &Role::ALL);
        assert_eq!(other.refresh().unwrap(), &Role::ALL);
        let mut a = Leases::new(&a_conn, &Role::ALL);
        let mut b = Leases::new(&b_conn, &[Role::Hotline, Role::Scheduler]);
        assert_eq!(a.refresh().unwrap(), &Role::ALL);
        assert!(b.refresh().unwrap().is_empty());
        // Held across refreshes, and not taken by the other.
        assert_eq!(a.refresh().unwrap(), &Role::ALL);
        assert!(b.refresh().unwrap().is_empty());
        let st = status(&db).unwrap();
        let holders: Vec<_> = st
            .leases
            .iter()
            .map(|l| (l.role, l.holder.as_deref()))
            .collect();
        assert_eq!(
            holders,
            [
                ("scheduler", Some("a")),
                ("hotline", Some("a")),
                ("signer", Some("a"))
            ]
        );
        // The server ends a's session (as when its process dies): a finds
        // it lost everything, b takes what it wants.
        let mut admin = super::super::connect(&db, "t").unwrap();
        let n = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE application_name = 'accord:a' AND datname = current_database()",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(n, 1);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(b.refresh().unwrap(), &[Role::Scheduler, Role::Hotline]);
        // a reconnects (an error now or a fresh session) and holds only
        // what nobody else holds.
        let again = match a.refresh() {
            Ok(h) => h.to_vec(),
            Err(_) => a.refresh().unwrap().to_vec(),
        };
        assert_eq!(again, [Role::Signer]);
        // Dropping b's leases (its connection closes) frees them for a.
        drop(b);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(a.refresh().unwrap(), &Role::ALL);
        a.release_all();
        assert!(a.held().is_empty());
        let st = status(&db).unwrap();
        assert!(st.leases.iter().all(|l| l.holder.is_none()), "{st:?}");
        let st = status(&other_db).unwrap();
        assert!(
            st.leases.iter().all(|l| l.holder.as_deref() == Some("x")),
            "{st:?}"
        );
    }

    #[test]
    fn a_lost_connection_is_unavailable_a_bad_statement_is_not() {
        let Some(db) = database("a_lost_connection_is_unavailable_a_bad_statement_is_not") else {
            return;
        };
        let server = super::super::redact(&db);
        let mut c = super::super::connect(&with_application_name(&db, "victim"), &server).unwrap();
        let bad = c
            .execute("SELECT no_such_column FROM cluster_processes", &[])
            .map_err(pg_err(&server, "a bad statement"))
            .unwrap_err();
        assert!(!bad.is_unavailable(), "{bad}");
        let mut admin = super::super::connect(&db, &server).unwrap();
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = 'accord:victim' AND datname = current_database()",
                &[],
            )
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let lost = c
            .execute("SELECT 1", &[])
            .map_err(pg_err(&server, "a read"))
            .unwrap_err();
        assert!(lost.is_unavailable(), "{lost}");
        let Err(refused) = super::super::connect("host=/nonexistent/dir port=1 user=x", "nowhere")
        else {
            panic!("connected to nowhere")
        };
        assert!(refused.is_unavailable(), "{refused}");
        assert!(!StoreError::WriterStopped { path: "x".into() }.is_unavailable());
    }

    /// Sessions named `app` in the current database.
    fn admin_count(c: &mut postgres::Client, app: &str) -> i64 {
        c.query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = $1",
            &[&app],
        )
        .unwrap()
        .get(0)
    }

    #[test]
    fn the_registry_lists_processes_with_their_heartbeats() {
        let Some(db) = database("the_registry_lists_processes_with_their_heartbeats") else {
            return;
        };
        let info = |name: &str, pid: u32| ProcessInfo {
            name: name.into(),
            url: format!("http://127.0.0.1:{pid}"),
            pid,
            host: "h".into(),
            version: "0.test".into(),
        };
        let hb = Heartbeat::start(&with_application_name(&db, "p1"), info("p1", 1)).unwrap();
        let server = super::super::redact(&db);
        let mut c = super::super::connect(&db, &server).unwrap();
        register(&mut c, &server, &info("p2", 2)).unwrap();
        // p2 last beat 20 s ago: not alive.
        c.execute(
            "UPDATE cluster_processes SET heartbeat_at = heartbeat_at - 20000000 WHERE name = 'p2'",
            &[],
        )
        .unwrap();
        let st = status(&db).unwrap();
        assert_eq!(st.processes.len(), 2);
        let (p1, p2) = (&st.processes[0], &st.processes[1]);
        assert_eq!((p1.name.as_str(), p1.alive, p1.pid), ("p1", true, 1));
        assert!(p1.connections >= 1, "{p1:?}");
        assert_eq!((p2.name.as_str(), p2.alive), ("p2", false));
        assert!(p2.heartbeat_age_ms >= 19_000, "{p2:?}");
        assert_eq!(
            (st.seq_hwm, st.ledger_size, st.sequencer.as_deref()),
            (0, 0, None)
        );
        // The heartbeat thread keeps p1 young.
        c.execute(
            "UPDATE cluster_processes SET heartbeat_at = heartbeat_at - 20000000 WHERE name = 'p1'",
            &[],
        )
        .unwrap();
        std::thread::sleep(HEARTBEAT_EVERY + Duration::from_millis(700));
        let st = status(&db).unwrap();
        assert!(st.processes[0].alive, "{:?}", st.processes[0]);
        // p1's name is taken while it lives, unless from where it ran.
        let mut other = info("p1", 9);
        other.url = info("p1", 1).url;
        assert_eq!(
            name_conflict(&db, &other).unwrap(),
            None,
            "same host and URL: a restart"
        );
        other.host = "elsewhere".into();
        let e = name_conflict(&db, &other).unwrap().unwrap();
        assert!(
            e.contains("`p1` is taken") && e.contains("pid 1 on h"),
            "{e}"
        );
        assert_eq!(
            name_conflict(&db, &info("p2", 9)).unwrap(),
            None,
            "p2 is dead"
        );
        hb.stop();
        // A row deleted by hand comes back with the next beat.
        heartbeat(&mut c, &server, &info("p3", 3)).unwrap();
        assert_eq!(status(&db).unwrap().processes.len(), 3);
        // The sequencer's holder is named while a write transaction runs.
        let mut w = super::super::connect(&with_application_name(&db, "w"), &server).unwrap();
        let mut tx = w.transaction().unwrap();
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])
            .unwrap();
        assert_eq!(status(&db).unwrap().sequencer.as_deref(), Some("w"));
        tx.rollback().unwrap();
        assert_eq!(status(&db).unwrap().sequencer, None);
        // A cluster process's writer keeps the process's name: it counts
        // among the process's connections, and names it as the sequencer.
        let store = super::super::PgStore::connect(
            &with_application_name(&db, "p3"),
            &crate::OpenOptions::new(),
        )
        .unwrap();
        let writers: i64 = admin_count(&mut c, "accord:p3/writer");
        assert_eq!(writers, 1);
        let st = status(&db).unwrap();
        let p3 = st.processes.iter().find(|p| p.name == "p3").unwrap();
        assert!(p3.connections >= 2, "{p3:?}");
        drop(store);
        let mut w = super::super::connect(&db, &server).unwrap();
        w.batch_execute("SET application_name = 'accord:p3/writer'")
            .unwrap();
        let mut tx = w.transaction().unwrap();
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])
            .unwrap();
        assert_eq!(status(&db).unwrap().sequencer.as_deref(), Some("p3"));
        tx.rollback().unwrap();
    }
}
