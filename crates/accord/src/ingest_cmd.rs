//! `accord ingest`: validate files and store their valid objects.

use crate::InputFormat as Format;
use crate::report::Reporter;
use accord_app::ingest::{Options, ingest};
use accord_app::input::Source;
use accord_stix::Clock;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Validate STIX 2.1 files and store the valid objects in the node's database.
///
/// Each object is checked as `accord validate` does. Valid objects are stored
/// durably in COLLECTION; invalid ones are reported (file:line:column, id,
/// JSON path, what is wrong) and skipped, and the rest of the file goes on.
/// Storing is idempotent: an object version (id and `modified`) already
/// stored with the same content counts as a duplicate; the same version with
/// different content is a conflict, reported, and the stored one is kept.
///
/// When this command prints its summary, every object counted as stored is
/// on disk (the database is in WAL mode with synchronous commits).
///
/// With `--config` of a cluster's node (`[cluster]` in its accord.toml)
/// the objects go to the cluster's PostgreSQL store instead of a data
/// directory: straight from this command when the cluster has no `nats`;
/// with `nats`, as batches (at most ~200 KiB each: JSON lines, or the
/// exact texts of objects spanning several lines) published as durable
/// `ingest` tasks that the cluster's processes store, this command waiting
/// until every batch is done (a process that dies with a batch in hand
/// leaves it to another). Objects larger than a batch are stored by this
/// command itself, as are batches the queue already holds.
///
/// Exit status: 0 when every object was stored or already there, 1 when any
/// was rejected or conflicted, 2 when a file or the database failed.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord ingest data/demo/stix/*.json\n  \
    accord ingest --data node-b --collection partner-feeds data/demo/stix/oasis-poisonivy.json\n  \
    accord generate --count 10000 -o ind.jsonl && accord ingest ind.jsonl")]
pub struct Args {
    /// Files to ingest: STIX bundles, single objects, or JSON lines; `-` reads standard input.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// The node's data directory (created with its schema when new, migrated when old)
    /// [default: accord-data]. Not with a `--config` that has `[cluster]`.
    #[arg(long, env = crate::data_dir::DATA_ENV)]
    data: Option<PathBuf>,
    /// The collection to store into (created on first use).
    #[arg(long, default_value = "default")]
    pub(crate) collection: String,
    /// Where the objects came from, recorded with each one (a partner's name, a feed).
    #[arg(long, default_value = "local")]
    pub(crate) origin: String,
    /// How the files are laid out.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub(crate) format: Format,
    /// Also print warnings (SHOULDs of the specification).
    #[arg(long)]
    pub(crate) warnings: bool,
    /// Objects larger than this are reported and skipped unread.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub(crate) max_object_bytes: usize,
    /// Objects per write transaction.
    #[arg(long, default_value_t = 8192, value_name = "N")]
    pub(crate) batch: usize,
    /// Do not show a progress bar.
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// A node's accord.toml whose `[limits]` (JSON depth, members, items,
    /// string and object sizes; pattern length, depth, comparisons) hold
    /// the files instead of the defaults. With `[cluster]`, the objects are
    /// stored in the cluster (see above).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// With a cluster on NATS: give up waiting when no batch has been done
    /// for this many minutes (the batches left stay queued and are still
    /// stored).
    #[arg(long, default_value_t = 10, value_name = "MINUTES")]
    pub(crate) stall_minutes: u64,
    /// With a cluster on NATS: the most bytes of objects per batch (tests).
    #[arg(long, hide = true, env = "ACCORD_INGEST_BATCH_BYTES",
          default_value_t = accord_node::ingest_work::DEFAULT_BATCH_BYTES, value_name = "BYTES")]
    pub(crate) batch_bytes: usize,
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let config = match &args.config {
        Some(path) => Some(accord_app::config::load(path).map_err(crate::flat)?),
        None => None,
    };
    if let Some(c) = &config
        && let Some(cluster) = &c.cluster
    {
        if let Some(d) = &args.data {
            anyhow::bail!(
                "--data {} (or ${}) and --config {} conflict: that configuration has [cluster], so the objects go to the cluster's PostgreSQL store; give one of them",
                d.display(),
                crate::data_dir::DATA_ENV,
                args.config
                    .as_deref()
                    .unwrap_or_else(|| std::path::Path::new(""))
                    .display()
            );
        }
        return crate::ingest_cluster::run(args, c, cluster, clock);
    }
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::data_dir::DEFAULT_DATA));
    let store = crate::data_dir::open_or_create(&data, clock)?;
    let sources = open_sources(&args.files)?;
    // Files are checked against the protected facilities in the store.
    let facilities = facilities_of(&store);
    let opts = Options {
        collection: &args.collection,
        origin: &args.origin,
        format: args.format.into(),
        max_object_bytes: args.max_object_bytes,
        batch: args.batch,
        exchange: local_exchange(config.as_ref()),
        facilities,
        warninglists: warninglists_of(&data)?,
    };
    let start = std::time::Instant::now();
    let total_bytes: u64 = sources.iter().map(|s| s.bytes().len() as u64).sum();
    let bar = crate::Bar(crate::progress_bar(
        total_bytes,
        "ingesting",
        !args.no_progress,
    ));
    let warnings = args.warnings;
    let (t, failure) = ingest(store.writer(), &sources, &opts, &bar, |s| {
        Box::new(Reporter::new(&s.name, s.bytes(), warnings))
    });
    eprintln!(
        "{}",
        t.summary(
            &args.collection,
            &data.display().to_string(),
            start.elapsed()
        )
    );
    escalate_touches(config.as_ref(), &store, &t.touches, clock)?;
    if t.stored > 0 {
        drop(store);
        crate::match_cmd::refresh_kept(&data, clock);
    }
    if let Some(e) = failure {
        return Err(crate::flat(e));
    }
    Ok(if t.rejected + t.conflicts + t.faults == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The files to read, opened.
pub(crate) fn open_sources(files: &[PathBuf]) -> Result<Vec<Source>> {
    files
        .iter()
        .map(|p| Source::open(p).map_err(crate::flat))
        .collect()
}

/// The seam for the node's own data: admitted (no agreement applies),
/// held to the configured input limits when a config is given.
pub(crate) fn local_exchange(
    config: Option<&accord_app::config::Config>,
) -> accord_app::exchange::Exchange {
    match config {
        Some(c) => accord_app::exchange::Exchange::default().with_limits(c.limits.input()),
        None => accord_app::exchange::Exchange::default(),
    }
}

/// The node's warninglists: indicators on them are counted (and named) in
/// the summary; their bytes are stored as received.
pub(crate) fn warninglists_of(
    data: &std::path::Path,
) -> Result<Option<Arc<accord_warninglist::WarninglistSet>>> {
    Ok(accord_app::warninglists::load(data)
        .map_err(crate::flat)?
        .map(|l| l.set))
}

/// The protected facilities in the store, to check what comes in against
/// (`None` when there are none; a read failure is a warning: the data
/// still goes in).
pub(crate) fn facilities_of(
    store: &dyn accord_store::ObjectRead,
) -> Option<Arc<accord_app::facility::Registry>> {
    match accord_app::facility::FacilityWatch::new().registry(store) {
        Ok(r) => Some(r).filter(|r| !r.is_empty()),
        Err(e) => {
            eprintln!("accord: warning: protected facilities not checked: {e}");
            None
        }
    }
}

/// Opens (or notes on) the critical case of each protected facility that
/// `touches` name, when the node's configuration is given; else says how.
pub(crate) fn escalate_touches(
    config: Option<&accord_app::config::Config>,
    store: &dyn accord_store::Backend,
    touches: &[accord_app::facility::Touch],
    clock: &Arc<dyn Clock>,
) -> Result<()> {
    if touches.is_empty() {
        return Ok(());
    }
    match config {
        Some(c) => {
            let done = accord_app::facility::escalate(c, store, touches, clock.now_timestamp())
                .map_err(crate::flat)?;
            for e in &done {
                eprintln!("{}", e.line("touched by", "object"));
            }
        }
        None => eprintln!(
            "accord: warning: {} object(s) touch protected facilities ({}); give --config accord.toml to open their hotline cases",
            touches.len(),
            touches
                .iter()
                .flat_map(|t| t.hits.iter().map(|h| h.facility.as_str()))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    Ok(())
}
