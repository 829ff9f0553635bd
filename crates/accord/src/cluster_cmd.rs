//! `accord cluster`: the node processes serving one jurisdiction over one
//! PostgreSQL database (`[cluster]` in `accord.toml`); the registry and
//! leases are `accord_store::pg::cluster`.

use accord_app::config::ClusterConfig;
use accord_stix::Clock;
use accord_store::pg::cluster::{self, ClusterStatus};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The processes of a cluster: several `accord serve` over one PostgreSQL.
///
/// With a `[cluster]` section in `accord.toml`, `accord serve` keeps its
/// objects, log, sync state and cases in PostgreSQL instead of DATA_DIR's
/// SQLite file, registers itself (name, URL, pid, host) and writes a
/// heartbeat every 2 s. Any process serves any request. Three roles are
/// played by one process at a time, each a lease (a PostgreSQL advisory
/// lock held on a connection of its own, released by the server when the
/// process dies, then taken by another process within 2 s): `scheduler`
/// (the partners' sync rounds), `hotline` (the deadlines: an escalation
/// fires once) and `signer` (a checkpoint of the log's head every 10 s).
/// With `nats`, the sync rounds and the deadlines are durable work on
/// NATS JetStream instead (every process takes tasks; a dead process's
/// task is redelivered to another), and only `signer` is a lease.
/// Writes of all processes pass one sequencer (a transaction-level
/// advisory lock), so the log stays ordered and gap-free.
///
///   [cluster]
///   name = "node-a"                   # default: HOSTNAME-PORT
///   postgres_env = "ACCORD_POSTGRES"  # or postgres = "host=… dbname=…"
///   url = "http://10.0.0.5:8470"      # default: from listen
///   nats = "nats://10.0.0.9:4222"     # optional
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord cluster status --config accord.toml\n  \
    accord cluster status --json\n\n\
A walk-through with three processes on one machine: examples/cluster/README.md")]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// The cluster as its database sees it: each process (name, URL, pid,
    /// host, heartbeat age, alive when the heartbeat is under 10 s old,
    /// connections open), who holds each lease, which process is writing
    /// now (the sequencer; writes are short, so usually none) and how many
    /// wait for it, the store's highest seq and the log's size, and the
    /// NATS work queues (per kind: pending, in flight, redelivered, waiting
    /// workers). Exit status 0 when every registered process is alive
    /// (and NATS, when configured, answers), 1 when any is not (or NATS
    /// cannot be reached), 2 when the database cannot be reached.
    ///
    /// Lag: every process reads the one database with read-committed
    /// transactions, so a write acknowledged by one process is served by
    /// every other at once (there is no replica to fall behind). What can
    /// trail is each process's own followers of the store: its dashboard
    /// search index reads what was stored in rounds. LAG is the store's
    /// highest seq minus the seq that index had reached at the process's
    /// last heartbeat (`-` until it reports). A process's heartbeat age
    /// says how long it has not been heard from.
    #[command(after_long_help = "Examples:\n  \
        accord cluster status\n  \
        accord cluster status --config /etc/accord/accord.toml --json")]
    Status {
        /// The configuration file (its `[cluster]` names the database).
        #[arg(long, short, default_value = "accord.toml")]
        config: PathBuf,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `accord cluster`.
pub fn run(args: &Args) -> Result<ExitCode> {
    match &args.command {
        Sub::Status { config, json } => status(config, *json),
    }
}

/// The `[cluster]` of `path`, or an error saying it has none.
fn cluster_of(path: &std::path::Path) -> Result<ClusterConfig> {
    let config = accord_app::config::load(path).map_err(crate::flat)?;
    match config.cluster {
        Some(c) => Ok(c),
        None => bail!(
            "{} has no [cluster] section: this node runs alone on its SQLite store (see `accord cluster --help`)",
            path.display()
        ),
    }
}

/// Opens the cluster's PostgreSQL store (for commands that write to the
/// store of a cluster node, e.g. the agreement records at `accord serve`).
pub fn open_store(c: &ClusterConfig, clock: &Arc<dyn Clock>) -> Result<accord_store::pg::PgStore> {
    let conn = c.postgres_conn().map_err(crate::flat)?;
    let opts = accord_store::OpenOptions::new().clock(Arc::clone(clock));
    let server = accord_store::pg::redact(&conn);
    accord_store::pg::PgStore::connect(&conn, &opts)
        .with_context(|| format!("opening the cluster's store on PostgreSQL {server}"))
}

fn status(path: &std::path::Path, json: bool) -> Result<ExitCode> {
    let c = cluster_of(path)?;
    let conn = c.postgres_conn().map_err(crate::flat)?;
    let st = cluster::status(&conn).map_err(crate::flat)?;
    let nats = c.nats.as_deref().map(nats_depths);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&st, &c, nats.as_ref()))?
        );
    } else {
        print!("{}", to_text(&st, c.nats.as_deref(), nats.as_ref()));
    }
    let nats_ok = nats.as_ref().is_none_or(Result::is_ok);
    Ok(if st.processes.iter().all(|p| p.alive) && nats_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Each work kind's depth on the NATS server at `url`, or why it could
/// not be read (within 10 s).
fn nats_depths(url: &str) -> Result<Vec<(&'static str, accord_work::Depth)>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime to read NATS: {e}"))?;
    rt.block_on(async {
        let read = async {
            let q = accord_work::WorkQueue::connect(url, &accord_work::Options::default())
                .await
                .map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for kind in accord_node::work::KINDS {
                out.push((kind, q.depth(kind).await.map_err(|e| e.to_string())?));
            }
            Ok(out)
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), read).await {
            Ok(r) => r,
            Err(_) => Err(format!("NATS at {url} did not answer within 10 s")),
        }
    })
}

type Depths = Result<Vec<(&'static str, accord_work::Depth)>, String>;

fn to_json(st: &ClusterStatus, c: &ClusterConfig, nats: Option<&Depths>) -> serde_json::Value {
    let processes: Vec<_> = st
        .processes
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "url": p.url,
                "pid": p.pid,
                "host": p.host,
                "version": p.version,
                "started_at_micros": p.started_at,
                "heartbeat_age_ms": p.heartbeat_age_ms,
                "alive": p.alive,
                "connections": p.connections,
                "followed_seq": p.followed_seq,
                "lag": p.followed_seq.map(|f| (st.seq_hwm - f).max(0)),
                "leases": st.leases.iter()
                    .filter(|l| l.holder.as_deref() == Some(p.name.as_str()))
                    .map(|l| l.role)
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let leases: serde_json::Map<String, serde_json::Value> = st
        .leases
        .iter()
        .map(|l| (l.role.to_owned(), serde_json::json!(l.holder)))
        .collect();
    serde_json::json!({
        "server": st.server,
        "processes": processes,
        "leases": leases,
        "sequencer": {"holder": st.sequencer, "waiting": st.sequencer_waiting},
        "seq_hwm": st.seq_hwm,
        "ledger_size": st.ledger_size,
        "nats": nats_json(c, nats),
    })
}

fn nats_json(c: &ClusterConfig, nats: Option<&Depths>) -> serde_json::Value {
    match nats {
        None => serde_json::json!({"url": null, "note": "not configured"}),
        Some(Err(e)) => serde_json::json!({
            "url": c.nats, "reachable": false, "error": e, "queues": null,
        }),
        Some(Ok(d)) => {
            let queues: serde_json::Map<String, serde_json::Value> = d
                .iter()
                .map(|(k, d)| {
                    (
                        (*k).to_owned(),
                        serde_json::json!({
                            "pending": d.pending,
                            "in_flight": d.in_flight,
                            "redelivered": d.redelivered,
                            "waiting_workers": d.waiting_workers,
                        }),
                    )
                })
                .collect();
            serde_json::json!({"url": c.nats, "reachable": true, "queues": queues})
        }
    }
}

fn to_text(st: &ClusterStatus, url: Option<&str>, nats: Option<&Depths>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "database   {}", st.server);
    let _ = writeln!(
        s,
        "store      seq {} (highest assigned), log size {}",
        st.seq_hwm, st.ledger_size
    );
    let _ = writeln!(
        s,
        "sequencer  {}{}",
        st.sequencer
            .as_deref()
            .unwrap_or("idle (no write in progress)"),
        if st.sequencer_waiting > 0 {
            format!(", {} waiting", st.sequencer_waiting)
        } else {
            String::new()
        }
    );
    for l in &st.leases {
        let on_nats = url.is_some() && matches!(l.role, "scheduler" | "hotline");
        let _ = writeln!(
            s,
            "lease      {:<9} {}",
            l.role,
            match (&l.holder, on_nats) {
                (Some(h), _) => h.as_str(),
                (None, true) => "(not used: this work is on NATS)",
                (None, false) => "(no holder)",
            }
        );
    }
    match (url, nats) {
        (Some(u), Some(Ok(d))) => {
            let _ = writeln!(s, "nats       {u}");
            for (kind, d) in d {
                let _ = writeln!(
                    s,
                    "queue      {kind:<9} {} pending, {} in flight ({} redelivered), {} waiting workers",
                    d.pending, d.in_flight, d.redelivered, d.waiting_workers
                );
            }
        }
        (Some(u), Some(Err(e))) => {
            let _ = writeln!(s, "nats       {u}: UNREACHABLE: {e}");
        }
        _ => {
            let _ = writeln!(s, "nats       not configured");
        }
    }
    let _ = writeln!(
        s,
        "lag        reads: none (one database); each process's search index: LAG below"
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<24} {:<6} {:>9} {:>5} {:>7}  {:<8} {:<16} URL",
        "PROCESS", "ALIVE", "HEARTBEAT", "CONNS", "LAG", "PID", "HOST"
    );
    for p in &st.processes {
        let age = if p.heartbeat_age_ms < 60_000 {
            format!("{:.1}s", p.heartbeat_age_ms as f64 / 1000.0)
        } else {
            format!("{}m", p.heartbeat_age_ms / 60_000)
        };
        let lag = p
            .followed_seq
            .map_or_else(|| "-".to_owned(), |f| (st.seq_hwm - f).max(0).to_string());
        let _ = writeln!(
            s,
            "{:<24} {:<6} {:>9} {:>5} {:>7}  {:<8} {:<16} {}",
            p.name,
            if p.alive { "yes" } else { "NO" },
            age,
            p.connections,
            lag,
            p.pid,
            p.host,
            p.url
        );
    }
    if st.processes.is_empty() {
        let _ = writeln!(
            s,
            "(no process has joined: start `accord serve` with this [cluster])"
        );
    }
    s
}
