//! The roles a node process plays besides serving requests: the partners'
//! sync rounds ([`accord_app::scheduler::Scheduler`]), the hotline's
//! deadlines ([`crate::hotline_tick::HotlineTicker`]) and, in a cluster,
//! signing the log's head on an interval.
//!
//! Alone (no `[cluster]`), the process plays every role from start to
//! shutdown. In a cluster, each role is a lease
//! ([`accord_store::pg::cluster::Leases`]: a session-level advisory lock on
//! a connection of the process's own): a thread tries for the leases every
//! [`LEASE_RETRY`], starts a role's worker when its lease is won and stops
//! it when the lease is lost (the connection dropped: PostgreSQL may
//! already have given the lease to another process). So one process runs
//! the sync rounds and one the deadlines; when it dies, another takes over
//! within [`LEASE_RETRY`]. A round or tick cut short by the loss is redone
//! idempotently by the next holder (cursors and escalations are in the
//! database).
//!
//! **With NATS** (`[cluster] nats`), the sync rounds and the hotline's
//! deadlines are durable work on JetStream instead ([`crate::work`]):
//! every process takes tasks, a task whose process died is redelivered to
//! another; only the signer stays a PostgreSQL lease (it is not work).
//!
//! **Signing.** Every process signs a checkpoint on demand when a reader
//! asks for one and the log has grown ([`accord_app::ledger::latest_checkpoint`]);
//! Ed25519 is deterministic and a checkpoint is saved once per size
//! (insert-or-ignore), so two processes signing the same size save the
//! same note, and no lease is needed for correctness. The signer lease
//! adds what on-demand signing does not give: a checkpoint of the head at
//! least every [`SIGN_EVERY`] while the log grows, made by one process,
//! whether or not anyone reads.

use accord_app::config::Config;
use accord_app::scheduler::{Federation, Scheduler};
use accord_stix::Clock;
use accord_store::Backend;
use accord_store::pg::cluster::{Heartbeat, Leases, Role};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How often a cluster process tries for the leases it lacks and checks
/// the ones it holds.
pub const LEASE_RETRY: Duration = Duration::from_secs(2);

/// How often the signer lease's holder signs the log's head (when it grew).
pub const SIGN_EVERY: Duration = Duration::from_secs(10);

/// The running roles of a process; [`Roles::stop`] ends them.
#[derive(Debug)]
pub enum Roles {
    /// A process alone: every role, always.
    Single {
        /// The partners' rounds.
        scheduler: Scheduler,
        /// The hotline's deadlines.
        ticker: crate::hotline_tick::HotlineTicker,
    },
    /// A process of a cluster: the roles whose leases it holds.
    Cluster {
        /// Stops the lease thread.
        stop: Sender<()>,
        /// The lease thread.
        thread: std::thread::JoinHandle<()>,
        /// The process's heartbeat.
        heartbeat: Heartbeat,
        /// The sync rounds and deadlines on NATS, when `[cluster] nats`.
        work: Option<crate::work::NatsWork>,
    },
}

/// What the roles need.
pub struct RoleContext {
    /// The configuration.
    pub config: Config,
    /// The partners' rounds' seam and clock.
    pub federation: Arc<Federation>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// How often the hotline ticks.
    pub tick_every: Duration,
    /// How far the process's search index has read (reported with the
    /// heartbeat of a cluster process).
    pub followed: Arc<std::sync::atomic::AtomicI64>,
}

impl Roles {
    /// Starts every role now (no cluster).
    ///
    /// # Errors
    /// [`crate::NodeError`] when a store handle or a thread cannot be had.
    pub fn single(ctx: RoleContext, store: &dyn Backend) -> Result<Roles, crate::NodeError> {
        let scheduler = Scheduler::start(ctx.federation, store)?;
        if !scheduler.partners().is_empty() {
            tracing::info!(partners = ?scheduler.partners(), "syncing with partners");
        }
        let ticker = crate::hotline_tick::HotlineTicker::start(
            ctx.config,
            store,
            ctx.clock,
            ctx.tick_every,
        )?;
        Ok(Roles::Single { scheduler, ticker })
    }

    /// Joins the cluster: registers the process and starts its heartbeat
    /// (failing when the database cannot be reached, or another live
    /// process elsewhere has its name), then a thread that
    /// plays the roles whose leases it wins. `conn_str` carries the
    /// process's `application_name`.
    ///
    /// # Errors
    /// [`crate::NodeError`] when the registration, a store handle or the
    /// thread fails.
    pub fn cluster(
        ctx: RoleContext,
        store: &dyn Backend,
        conn_str: &str,
        info: accord_store::pg::cluster::ProcessInfo,
    ) -> Result<Roles, crate::NodeError> {
        let name = info.name.clone();
        if let Some(why) = accord_store::pg::cluster::name_conflict(conn_str, &info)? {
            return Err(crate::NodeError::Cluster(why));
        }
        let heartbeat =
            Heartbeat::start_following(conn_str, info, Some(Arc::clone(&ctx.followed)))?;
        let handle = store.new_handle()?;
        // With NATS, the rounds and deadlines are work on its queue; only
        // the signer remains a lease.
        let nats = ctx.config.cluster.as_ref().and_then(|c| c.nats.clone());
        let (work, leases) = match &nats {
            Some(url) => {
                let work = match crate::work::NatsWork::start(
                    crate::work::WorkContext {
                        config: ctx.config.clone(),
                        federation: Arc::clone(&ctx.federation),
                        clock: Arc::clone(&ctx.clock),
                        tick_every: ctx.tick_every,
                        process: name.clone(),
                    },
                    store,
                    url,
                    accord_work::Options::default(),
                ) {
                    Ok(w) => w,
                    Err(e) => {
                        heartbeat.stop();
                        return Err(e);
                    }
                };
                (Some(work), Leases::new(conn_str, &[Role::Signer]))
            }
            None => (None, Leases::new(conn_str, &Role::ALL)),
        };
        let (stop, stopped) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cluster-leases".into())
            .spawn(move || play(&ctx, &*handle, leases, &name, &stopped))
            .map_err(|source| crate::NodeError::Io {
                addr: "the cluster lease thread".into(),
                source,
            })?;
        Ok(Roles::Cluster {
            stop,
            thread,
            heartbeat,
            work,
        })
    }

    /// Stops every role (and, in a cluster, gives up the leases and stops
    /// the heartbeat) and waits for them.
    pub fn stop(self) {
        match self {
            Roles::Single { scheduler, ticker } => {
                ticker.stop();
                scheduler.stop();
            }
            Roles::Cluster {
                stop,
                thread,
                heartbeat,
                work,
            } => {
                if let Some(w) = work {
                    w.stop();
                }
                let _ = stop.send(());
                let _ = thread.join();
                heartbeat.stop();
            }
        }
    }
}

/// The lease thread: refresh, start or stop each role, sign, wait.
fn play(
    ctx: &RoleContext,
    store: &dyn Backend,
    mut leases: Leases,
    name: &str,
    stopped: &Receiver<()>,
) {
    let mut scheduler: Option<Scheduler> = None;
    let mut ticker: Option<crate::hotline_tick::HotlineTicker> = None;
    let mut signed_at: Option<Instant> = None;
    let keys = match accord_app::ledger::LedgerKeys::for_config(&ctx.config) {
        Ok(k) => Some(k),
        Err(e) => {
            tracing::error!("the signer lease cannot sign: {e}");
            None
        }
    };
    let mut was: Vec<Role> = Vec::new();
    loop {
        let now: Vec<Role> = match leases.refresh() {
            Ok(h) => h.to_vec(),
            Err(e) => {
                tracing::error!(process = name, "cluster leases: {e}");
                Vec::new()
            }
        };
        for r in Role::ALL {
            match (was.contains(&r), now.contains(&r)) {
                (false, true) => tracing::info!(process = name, "took the {} lease", r.as_str()),
                (true, false) => tracing::warn!(process = name, "lost the {} lease", r.as_str()),
                _ => {}
            }
        }
        // Stop what was lost first, then start what was won.
        if !now.contains(&Role::Scheduler)
            && let Some(s) = scheduler.take()
        {
            s.stop();
        }
        if !now.contains(&Role::Hotline)
            && let Some(t) = ticker.take()
        {
            t.stop();
        }
        if now.contains(&Role::Scheduler) && scheduler.is_none() {
            match Scheduler::start(Arc::clone(&ctx.federation), store) {
                Ok(s) => {
                    if !s.partners().is_empty() {
                        tracing::info!(partners = ?s.partners(), "syncing with partners");
                    }
                    scheduler = Some(s);
                }
                Err(e) => tracing::error!("starting the sync scheduler: {e}"),
            }
        }
        if now.contains(&Role::Hotline) && ticker.is_none() {
            match crate::hotline_tick::HotlineTicker::start(
                ctx.config.clone(),
                store,
                Arc::clone(&ctx.clock),
                ctx.tick_every,
            ) {
                Ok(t) => ticker = Some(t),
                Err(e) => tracing::error!("starting the hotline deadlines: {e}"),
            }
        }
        if let Some(keys) = &keys
            && now.contains(&Role::Signer)
            && signed_at.is_none_or(|t| t.elapsed() >= SIGN_EVERY)
        {
            signed_at = Some(Instant::now());
            if let Err(e) = accord_app::ledger::latest_checkpoint(store, keys) {
                tracing::error!("signing the log's head: {e}");
            }
        }
        was = now;
        match stopped.recv_timeout(LEASE_RETRY) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Some(t) = ticker.take() {
        t.stop();
    }
    if let Some(s) = scheduler.take() {
        s.stop();
    }
    leases.release_all();
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    #[test]
    fn an_unreachable_database_is_answered_503_with_retry_after() {
        let Err(e) = accord_store::pg::PgStore::connect(
            "host=/nonexistent/accord-test port=1 user=nobody dbname=none",
            &accord_store::OpenOptions::new(),
        ) else {
            panic!("connected to a database that does not exist");
        };
        assert!(e.is_unavailable(), "{e}");
        let r = crate::error::ApiError::store("reading objects", &e).into_response();
        assert_eq!(r.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[axum::http::header::RETRY_AFTER], "1");
        // Another store failure stays a 500, without Retry-After.
        let other = accord_store::StoreError::WriterStopped { path: "x".into() };
        let r = crate::error::ApiError::store("reading objects", &other).into_response();
        assert_eq!(r.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert!(r.headers().get(axum::http::header::RETRY_AFTER).is_none());
    }
}
