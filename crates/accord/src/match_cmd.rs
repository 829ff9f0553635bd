//! `accord match`: run logs against every indicator, report hits, write
//! sightings (the workflow is `accord_app::matching`).

use accord_app::matching::{self, MatchOptions};
use accord_stix::Clock;
use accord_store::{Backend, OpenOptions, SqliteStore, StoreError, Timestamp};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Run logs (Zeek, Suricata EVE, CSV, text) against every indicator and write sightings.
///
/// Indicators are read from the node's store (`--data`, every collection or
/// those named with `--collection`) or from a STIX bundle / JSON-lines file
/// (`--indicators`). Revoked indicators and those whose `valid_until` has
/// passed never match, nor (by default) those with a value on one of the
/// node's MISP warninglists (`--include-warninglisted`). Hits are aggregated into one STIX 2.1 `sighting`
/// per indicator and time window (`--window`, default one hour), stored in
/// the `sightings` collection (and, per producer of the indicator, in
/// `sightings-to-<identity id>`) or written to `--out` as a bundle.
///
/// On a cluster's node (`--config` naming an accord.toml with `[cluster]`),
/// indicators come from the cluster's PostgreSQL store and sightings go
/// to it. With `[cluster] nats`, the logs are cut into chunks of whole
/// lines (Zeek `#` headers and the CSV header row travel with each) and
/// published as durable `match` tasks: every `accord serve` process
/// matches chunks against its own index of the store and reports hits per
/// indicator and window, which this command adds up (each chunk once,
/// also when a process died and another redid it) into the same sightings
/// and summary as a local match; hits on protected facilities are
/// escalated once all chunks are in. With `--follow`, `--hits`,
/// `--evidence` or `--indicators`, this command matches on its own against
/// the cluster's store.
///
/// Exit status: 0 when every log was read (hits or not), 2 on failure
/// (a log that could not be opened or read to its end, the store, an
/// output file).
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord match data/demo/logs/*.log\n  \
    accord match --indicators data/demo/stix/oasis-apt1.json --out s.json data/demo/logs/eve.json\n  \
    accord match --hits hits.jsonl --evidence --threads 4 data/demo/logs/eve.json\n  \
    accord match --format csv --columns 'time,src:ip,dst:ip,,url:url' data/demo/logs/fw.csv\n  \
    accord match --follow data/demo/logs/eve.json")]
pub struct Args {
    /// Log files (plain, .gz, .zst); `-` reads standard input.
    #[arg(required = true)]
    pub(crate) logs: Vec<PathBuf>,
    /// The node's data directory: indicators are read from it (unless
    /// `--indicators`) and sightings written to it (unless `--out`).
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    pub(crate) data: PathBuf,
    /// Read indicators from this STIX bundle or JSON-lines file instead of the store.
    #[arg(long, value_name = "FILE")]
    pub(crate) indicators: Option<PathBuf>,
    /// Only indicators of this store collection; repeat for several (all when absent).
    #[arg(long = "collection", value_name = "NAME")]
    pub(crate) collections: Vec<String>,
    /// The log format: auto, zeek, zeek-json, eve, csv, text.
    #[arg(long, default_value = "auto")]
    pub(crate) format: String,
    /// CSV column mapping (`src:ip,dst:ip,,url:url`); the first row is then data.
    #[arg(long, value_name = "MAP")]
    pub(crate) columns: Option<String>,
    /// With --columns: the first row is a header, skip it.
    #[arg(long)]
    pub(crate) csv_header: bool,
    /// Only events at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z).
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_ts)]
    pub(crate) since: Option<Timestamp>,
    /// Write the sightings to this file as a STIX 2.1 bundle instead of the store.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Also write one JSON line per hit to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) hits: Option<PathBuf>,
    /// Attach observed-data built from the matching log lines (up to 10 per sighting).
    #[arg(long)]
    pub(crate) evidence: bool,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Keep reading the files as they grow, like `tail -F` (sightings are written every --flush seconds).
    #[arg(long)]
    pub(crate) follow: bool,
    /// In follow mode, write sightings this often (seconds).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub(crate) flush: u64,
    /// In follow mode, stop after this many seconds (tests, cron jobs).
    #[arg(long, value_name = "SECONDS", hide = true)]
    pub(crate) follow_for: Option<f64>,
    /// Save the index here, and reuse it (memory-mapped). Over the store, it
    /// is brought up to date at each run with the indicators stored since it
    /// was saved (new, revoked, new versions); it is rebuilt and saved again
    /// when a version was deleted, the warninglists changed, or the changes
    /// pass a twentieth of it. Over `--indicators FILE`, it is reused while
    /// newer than the file.
    /// Without it, a match over the store keeps its index in
    /// DATA_DIR/match-index/ (one per set of collections), so only the
    /// first run builds it.
    #[arg(long, value_name = "FILE", conflicts_with = "no_index")]
    pub(crate) index: Option<PathBuf>,
    /// Build the index from the store at every run and keep nothing (the
    /// default keeps it in DATA_DIR/match-index/).
    #[arg(long)]
    pub(crate) no_index: bool,
    /// Sighting window in seconds: hits of one indicator within one window make one sighting.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub(crate) window: u64,
    /// Do not write sightings at all (benchmarks; hits and the summary only).
    #[arg(long)]
    pub(crate) no_sightings: bool,
    /// Do not show a progress bar.
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// The node's accord.toml: hits on a protected facility's addresses or
    /// domains (`accord facility`) open, or add to, a critical hotline case
    /// addressed to the partner of its jurisdiction. Without it they are
    /// reported only.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Also match indicators whose value is on one of the node's MISP
    /// warninglists (`accord warninglist update`); by default they are left
    /// out of the index and counted in the summary.
    #[arg(long)]
    pub(crate) include_warninglisted: bool,
    /// With a cluster on NATS: give up waiting when no chunk has been
    /// matched for this many minutes (the chunks left stay queued).
    #[arg(long, default_value_t = 10, value_name = "MINUTES")]
    pub(crate) stall_minutes: u64,
    /// With a cluster on NATS: the most bytes of log lines per chunk (tests).
    #[arg(long, hide = true, env = "ACCORD_MATCH_CHUNK_BYTES",
          default_value_t = accord_node::match_work::DEFAULT_CHUNK_BYTES, value_name = "BYTES")]
    pub(crate) chunk_bytes: usize,
}

/// The index file: `--index`, or over the store (unless `--no-index`)
/// one in DATA_DIR/match-index/ named by the collections read and whether
/// warninglisted indicators are in it, so each set keeps its own and a
/// second run only reads what was stored since. Without a place to keep
/// it (the directory cannot be made), the index is built and not kept.
fn index_path(args: &Args) -> Option<PathBuf> {
    if args.index.is_some() || args.no_index || args.indicators.is_some() {
        return args.index.clone();
    }
    if !args.data.join(accord_store::DB_FILE_NAME).is_file() {
        // No store: the match stops with that error; nothing is made.
        return None;
    }
    let key = matching::keep::IndexKey::new(&args.collections, args.include_warninglisted);
    match matching::keep::default_path(&args.data, &key) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!(
                "accord: warning: the match index is not kept ({e}); it is built at every run"
            );
            None
        }
    }
}

/// After a command stored objects in `data`: brings the match indexes
/// kept in its `match-index/` up to date (a delta saved beside each, or a
/// rebuild when the changes pass the delta's bound), so the next `accord
/// match` maps them instead of reading the store. Only indexes already
/// kept: the first match over a store still builds its own. A failure is
/// a warning (what was stored stays stored; the match rebuilds).
pub fn refresh_kept(data: &Path, clock: &Arc<dyn Clock>) {
    if matching::keep::kept(data).is_empty() {
        return;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let open = |d: &Path| -> Result<Box<dyn Backend>, StoreError> { open_store(d, clock) };
    for r in matching::keep::refresh_all(data, &open, clock.now_unix_secs(), threads, false) {
        match r {
            Ok(r) => eprintln!("{}", r.line()),
            Err(e) => eprintln!("accord: warning: a match index was not refreshed: {e}"),
        }
    }
}

/// The store for a match: never created, read through the OS cache.
fn open_store(data: &Path, clock: &Arc<dyn Clock>) -> Result<Box<dyn Backend>, StoreError> {
    Ok(Box::new(SqliteStore::open_with(
        data,
        // Building the index reads most of the store once: through
        // the OS cache, not a memory map counted as resident.
        // The writer starts only if sightings are stored (starting it
        // reads every stored id).
        &OpenOptions::new()
            .create(false)
            .memory_map(false)
            .lazy_writer(true)
            .clock(Arc::clone(clock)),
    )?))
}

/// The match's options from the command line, over the data directory
/// `data` (the node's, or a cluster process's own), with its index file
/// and, in follow mode, the node's configuration (facility escalation).
pub(crate) fn options(
    args: &Args,
    data: &Path,
    index: Option<PathBuf>,
    node_config: Option<accord_app::config::Config>,
) -> Result<MatchOptions> {
    let log_options = matching::log_options(&args.format, args.columns.as_deref(), args.csv_header)
        .map_err(crate::flat)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    Ok(MatchOptions {
        logs: args.logs.clone(),
        data: data.to_path_buf(),
        indicators: args.indicators.clone(),
        collections: args.collections.clone(),
        log_options,
        since: args.since,
        out: args.out.clone(),
        hits: args.hits.clone(),
        evidence: args.evidence,
        threads,
        follow: args.follow,
        flush: args.flush,
        follow_for: args.follow_for,
        index,
        window: args.window,
        no_sightings: args.no_sightings,
        node_config,
        // The node's warninglists (`accord warninglist update`) keep their
        // indicators out of the index, unless asked otherwise.
        warninglists: if args.include_warninglisted {
            None
        } else {
            accord_app::warninglists::load(data).map_err(crate::flat)?
        },
    })
}

fn parse_ts(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s).map_err(|e| e.to_string())
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let config = match &args.config {
        Some(p) => Some(accord_app::config::load(p).map_err(crate::flat)?),
        None => None,
    };
    if let Some(c) = &config
        && let Some(cluster) = &c.cluster
    {
        return crate::match_cluster::run(args, c, cluster, clock);
    }
    let opts = options(
        args,
        &args.data,
        index_path(args),
        if args.follow { config.clone() } else { None },
    )?;
    let bar = crate::Bar(if args.follow {
        indicatif::ProgressBar::hidden()
    } else {
        crate::progress_bar(matching::total_bytes(&opts), "matching", !args.no_progress)
    });
    // `match` never creates a store: indicators read from it, or sightings
    // stored in it, need an existing node.
    let indicators_from_store = args.indicators.is_none();
    let sightings_to_store = args.out.is_none() && !args.no_sightings;
    if indicators_from_store || sightings_to_store {
        crate::data_dir::require_store(&args.data).map_err(|e| {
            if indicators_from_store {
                e
            } else {
                e.context("sightings go to the store unless --out FILE or --no-sightings")
            }
        })?;
    }
    // The store, opened only when the match needs it.
    let open = |data: &Path| -> Result<Box<dyn Backend>, StoreError> { open_store(data, clock) };
    let report = matching::run(&opts, &open, &**clock, &bar, &mut |line| {
        eprintln!("{line}")
    })
    .map_err(crate::flat)?;
    finish(&report, config.as_ref(), clock, || {
        Ok(Box::new(crate::data_dir::open_existing(&args.data, clock)?))
    })
}

/// Prints a match's summary, escalates its protected-facility touches
/// (with a configuration; else names them), and says how it ended.
/// `store` opens the node's store for the escalation.
pub(crate) fn finish(
    report: &matching::MatchReport,
    config: Option<&accord_app::config::Config>,
    clock: &Arc<dyn Clock>,
    store: impl FnOnce() -> Result<Box<dyn Backend>>,
) -> Result<ExitCode> {
    eprint!("{}", report.summary);
    if !report.touches.is_empty() {
        let facilities: std::collections::BTreeSet<&str> = report
            .touches
            .iter()
            .flat_map(|t| t.hits.iter().map(|h| h.facility.as_str()))
            .collect();
        match &config {
            Some(c) => {
                let store = store()?;
                let done = accord_app::facility::escalate(
                    c,
                    &*store,
                    &report.touches,
                    clock.now_timestamp(),
                )
                .map_err(crate::flat)?;
                for e in &done {
                    eprintln!("{}", e.line("hit by", "indicator"));
                }
            }
            None => eprintln!(
                "accord: warning: hits on protected facilities ({}); give --config accord.toml to open their hotline cases",
                facilities.into_iter().collect::<Vec<_>>().join(", ")
            ),
        }
    }
    if report.read_errors > 0 {
        // What could be read was matched and its sightings written; the
        // run still failed, as an input could not be read.
        anyhow::bail!(
            "{} read error(s) in the logs (listed above); what could be read was matched",
            report.read_errors
        );
    }
    Ok(ExitCode::SUCCESS)
}
