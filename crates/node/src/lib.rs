//! The Accord node's HTTP face: the TAXII 2.1 server and the ledger's
//! routes over the store. The workflows it serves (configuration, the
//! exchange seam, ledger keys and checkpoints) live in `accord-app`; this
//! crate only speaks HTTP.
//!
//! - [`server`]: the router (route groups and their layers); [`serve`] runs it.
//! - [`state`]: [`state::AppState`], what every handler shares.
//! - `routes`: the TAXII 2.1 endpoints, by resource.
//! - [`ledger_routes`]: the `/ledger/` routes (checkpoint, tiles, proofs,
//!   cosignatures).
//! - [`auth`]: accounts, HTTP Basic (argon2) and bearer tokens, rights per
//!   collection; [`extract::Authenticated`], the caller as an extractor.
//! - [`query`]: TAXII filters and the opaque paging cursor.
//! - [`listener`]: TLS (rustls), a bound on connections, idle timeouts.
//!
//! [`serve`] also runs the partners' sync scheduler
//! ([`accord_app::scheduler`]) and the hotline's deadlines
//! ([`hotline_tick`]) until shutdown; with `[cluster]`, over PostgreSQL,
//! only while this process holds their leases ([`cluster`]), or, with
//! `[cluster] nats`, as durable work on NATS JetStream ([`work`]).
//!
//! - [`ui`]: the dashboard (HTML pages, sessions, CSRF) on the same port.

pub mod auth;
pub mod cluster;
pub mod error;
pub mod extract;
pub(crate) mod hotline_routes;
pub mod hotline_tick;
pub mod ingest_work;
pub mod ledger_routes;
pub mod listener;
pub mod match_index;
pub mod match_work;
pub mod query;
pub(crate) mod routes;
pub mod server;
pub mod state;
pub mod taxii;
pub mod ui;
pub mod work;

use std::future::Future;

/// Why the node cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// Demo credentials on an address other machines can reach.
    #[error(
        "refusing to listen on {0}: this node has the demo credentials (demo/demo), which anyone knows; listen on 127.0.0.1, or write a real configuration with `accord init`"
    )]
    DemoNotLoopback(std::net::SocketAddr),
    /// The store cannot be opened.
    #[error("opening the store: {0}")]
    Store(#[from] accord_store::StoreError),
    /// The agreements cannot be applied (residency rules, pseudonym secret).
    #[error("{0}")]
    Agreements(#[from] accord_app::agreements::AgreementError),
    /// `[hotline]` or a partner's `identity` is wrong.
    #[error("{0}")]
    Hotline(#[from] accord_app::hotline::HotlineError),
    /// `[cluster]` cannot be used (e.g. `postgres_env` is not set).
    #[error("{0}")]
    Cluster(String),
    /// The socket failed.
    #[error("serving on {addr}: {source}")]
    Io {
        /// The address.
        addr: String,
        /// What failed.
        source: std::io::Error,
    },
}

/// Serves the TAXII API on `listener`, reading the time from `clock`,
/// until `shutdown` completes, then
/// finishes the requests in flight (their writes included) and returns.
///
/// # Errors
/// [`NodeError`] when the demo credentials would be exposed, the store
/// cannot be opened, or the socket fails.
pub async fn serve(
    config: accord_app::config::Config,
    clock: std::sync::Arc<dyn accord_stix::Clock>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let addr = listener.local_addr().map_err(|source| NodeError::Io {
        addr: "listener".into(),
        source,
    })?;
    if config.demo && !addr.ip().is_loopback() {
        return Err(NodeError::DemoNotLoopback(addr));
    }
    let tls = match &config.tls {
        Some(t) => {
            Some(
                listener::tls_acceptor(&t.cert, &t.key).map_err(|source| NodeError::Io {
                    addr: addr.to_string(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let opts = listener::ListenOptions::from_limits(&config.limits);
    let listener =
        listener::NodeListener::new(listener, tls, opts).map_err(|source| NodeError::Io {
            addr: addr.to_string(),
            source,
        })?;
    // The store, the exchange seam and the roles, set up off the async
    // workers: the PostgreSQL client blocks.
    // How far the dashboard's search index has read (a cluster process
    // reports it with its heartbeat).
    let followed = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let setup = {
        let config = config.clone();
        let clock = std::sync::Arc::clone(&clock);
        let followed = std::sync::Arc::clone(&followed);
        tokio::task::spawn_blocking(move || assemble(&config, clock, addr, followed))
            .await
            .map_err(|e| NodeError::Io {
                addr: addr.to_string(),
                source: std::io::Error::other(format!("setting up the node: {e}")),
            })??
    };
    let (store, exchange, roles, sessions) = setup;
    // The match indexes follow the store in the background (embedded only).
    let _keeper = config.cluster.is_none().then(|| {
        match_index::Keeper::start(config.data_dir.clone(), std::sync::Arc::clone(&clock))
    });
    let state = server::AppState::with_clock(config, store, exchange, clock);
    let _ = state.ui.followed.set(followed);
    if let Some(s) = sessions {
        state.ui.sessions.share(s);
    }
    // The dashboard's overview counts each collection by type and origin:
    // done once now, in the background, so the first visitor does not wait.
    tokio::spawn(ui::warm(std::sync::Arc::clone(&state)));
    // The dashboard's search index follows the store in the background.
    tokio::spawn(ui::index(std::sync::Arc::clone(&state)));
    // So does its breakdown by ATT&CK technique.
    tokio::spawn(ui::follow_techniques(std::sync::Arc::clone(&state)));
    listener.serve(server::router(state), shutdown).await;
    // Stop the deadlines and the partners' rounds (joining their threads
    // off the async workers); a cluster process gives up its leases.
    let _ = tokio::task::spawn_blocking(move || roles.stop()).await;
    Ok(())
}

/// The node's store, exchange seam and roles.
type Assembled = (
    Box<dyn accord_store::Backend>,
    accord_app::exchange::Exchange,
    cluster::Roles,
    Option<accord_store::pg::sessions::PgSessions>,
);

/// Where the node is assembled: the one place it names its backend
/// (SQLite in `data_dir`, or PostgreSQL with `[cluster]`); the caller's
/// clock is shared by the store and the handlers.
fn assemble(
    config: &accord_app::config::Config,
    clock: std::sync::Arc<dyn accord_stix::Clock>,
    addr: std::net::SocketAddr,
    followed: std::sync::Arc<std::sync::atomic::AtomicI64>,
) -> Result<Assembled, NodeError> {
    let opts = accord_store::OpenOptions::new().clock(std::sync::Arc::clone(&clock));
    // A cluster process: its name, and every connection tagged with it.
    let member = match &config.cluster {
        Some(c) => {
            let name = c.process_name(addr);
            let conn = c
                .postgres_conn()
                .map_err(|e| NodeError::Cluster(e.to_string()))?;
            let conn = accord_store::pg::cluster::with_application_name(&conn, &name);
            let info = accord_store::pg::cluster::ProcessInfo {
                url: c.process_url(addr, config.tls.is_some()),
                name,
                pid: std::process::id(),
                host: accord_app::config::host_name(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            };
            Some((conn, info))
        }
        None => None,
    };
    let store: Box<dyn accord_store::Backend> = match &member {
        Some((conn, info)) => {
            let s = accord_store::pg::PgStore::connect(conn, &opts)?;
            tracing::info!(
                process = %info.name,
                url = %info.url,
                server = s.server(),
                "joining the cluster"
            );
            Box::new(s)
        }
        None => Box::new(accord_store::SqliteStore::open_with(
            &config.data_dir,
            &opts,
        )?),
    };
    // The ledger's keys: created on first start if `accord init` did not.
    if let Err(e) = accord_app::ledger::LedgerKeys::for_config(config) {
        tracing::error!("{e}");
    }
    // The partners' agreements decide what enters and leaves, for the
    // server and the scheduler alike.
    let exchange = accord_app::agreements::exchange_for(config, &config.data_dir)?;
    // Hotline cases go only to (and come only from) their other party.
    let exchange = accord_app::hotline::gated(exchange, config, &*store)?;
    // The scheduler: a round of pull, push and witnessing per partner with
    // a non-zero `interval_secs`, each on its own thread and store handle,
    // through the same exchange seam as the server; and the hotline's
    // deadlines, once a minute. In a cluster, each runs in the one process
    // holding its lease.
    let ctx = cluster::RoleContext {
        config: config.clone(),
        federation: std::sync::Arc::new(accord_app::scheduler::Federation::new(
            config.clone(),
            exchange.clone(),
            std::sync::Arc::clone(&clock),
            accord_app::scheduler::SchedulerOptions::default(),
        )),
        clock,
        tick_every: hotline_tick::TICK_EVERY,
        followed,
    };
    // A cluster's dashboard sessions live in its database, so that any
    // process serves them.
    let (roles, sessions) = match member {
        Some((conn, info)) => (
            cluster::Roles::cluster(ctx, &*store, &conn, info)?,
            Some(accord_store::pg::sessions::PgSessions::connect(&conn)?),
        ),
        None => (cluster::Roles::single(ctx, &*store)?, None),
    };
    Ok((store, exchange, roles, sessions))
}
