//! Matching logs against every indicator, hits, and sightings.
//!
//! Indicators come from the store or a file ([`load`]); each STIX pattern
//! goes through the one indicator path ([`crate::indicators`]) into index
//! keys for the [`accord_matcher`] index; the patterns the compiler cannot
//! turn into keys are evaluated per event over a small STIX 2.1
//! observed-data built from the event's observables ([`observed`]). Plain
//! files are memory-mapped and cut into chunks read on every thread,
//! compressed files and standard input are read as a stream ([`scan`]);
//! [`follow`] keeps reading growing logs; [`output`] writes hits and
//! sightings; [`summary`] counts.

pub mod chunk;
#[doc(hidden)]
pub mod fast;
pub mod follow;
pub mod keep;
pub mod layers;
pub mod load;
pub mod observed;
pub mod output;
pub mod scan;
pub mod summary;

use crate::Progress;
use crate::sighting::{self, Hit};
use accord_logs::Format;
use accord_stix::Clock;
use accord_store::{StoreError, Timestamp};
use std::path::PathBuf;

pub(crate) use crate::OpenStore;
use std::time::Instant;

pub use load::{Indicators, LoadStats};
pub use scan::Counts;

/// Why a match could not run.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, on which file.
        what: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The store failed.
    #[error("{what}: {source}")]
    Store {
        /// What was being done, on which data directory.
        what: String,
        /// The store's reason.
        source: Box<StoreError>,
    },
    /// Something given is unusable (a format name, a column map, an index
    /// file, an indicator file).
    #[error("{0}")]
    Invalid(String),
    /// The node identity or the sightings.
    #[error(transparent)]
    Sighting(#[from] sighting::SightingError),
    /// An input file.
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MatchError {
    let what = what.into();
    move |source| MatchError::Io { what, source }
}

pub(crate) fn store_err(what: impl Into<String>) -> impl FnOnce(StoreError) -> MatchError {
    let what = what.into();
    move |source| MatchError::Store {
        what,
        source: Box::new(source),
    }
}

/// What to match, against what, and where the results go.
#[derive(Debug, Clone)]
pub struct MatchOptions {
    /// Log files; `-` is standard input.
    pub logs: Vec<PathBuf>,
    /// The node's data directory.
    pub data: PathBuf,
    /// Indicators from this file instead of the store.
    pub indicators: Option<PathBuf>,
    /// Only indicators of these collections (all when empty).
    pub collections: Vec<String>,
    /// How to read the logs.
    pub log_options: accord_logs::Options,
    /// Only events at or after this.
    pub since: Option<Timestamp>,
    /// Sightings to this bundle instead of the store.
    pub out: Option<PathBuf>,
    /// One JSON line per hit to this file.
    pub hits: Option<PathBuf>,
    /// Attach observed-data evidence.
    pub evidence: bool,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Follow the files as they grow.
    pub follow: bool,
    /// In follow mode, write sightings this often (seconds).
    pub flush: u64,
    /// In follow mode, stop after this many seconds.
    pub follow_for: Option<f64>,
    /// The index cache file.
    pub index: Option<PathBuf>,
    /// Sighting window in seconds.
    pub window: u64,
    /// Write no sightings.
    pub no_sightings: bool,
    /// The node's configuration, when given (`--config`): in follow mode,
    /// hits on a protected facility's addresses open or add to its case at
    /// each flush (without follow the caller escalates
    /// [`MatchReport::touches`]).
    pub node_config: Option<crate::config::Config>,
    /// The node's warninglists: indicators with a value on one are left out
    /// of the index (counted in the summary). `None`: every indicator is
    /// matched (`--include-warninglisted`, or no lists stored).
    pub warninglists: Option<crate::warninglists::NodeLists>,
}

/// The log reader options for a `--format` name and a CSV column map.
///
/// # Errors
/// [`MatchError::Invalid`] for an unknown format or a bad column map.
pub fn log_options(
    format: &str,
    columns: Option<&str>,
    csv_header: bool,
) -> Result<accord_logs::Options, MatchError> {
    let format = match format {
        "auto" => None,
        f => Some(Format::from_name(f).ok_or_else(|| {
            MatchError::Invalid(format!(
                "unknown --format {f} (auto, zeek, zeek-json, eve, csv, text)"
            ))
        })?),
    };
    let mut opts = accord_logs::Options {
        format,
        ..Default::default()
    };
    if let Some(c) = columns {
        opts.csv_columns = Some(
            accord_logs::CsvColumns::parse(c)
                .map_err(|e| MatchError::Invalid(format!("--columns {c}: {e}")))?,
        );
        opts.csv_header = csv_header;
        if opts.format.is_none() {
            opts.format = Some(Format::Csv);
        }
    }
    Ok(opts)
}

/// What a (non-follow) match did.
pub struct MatchReport {
    /// The summary to print.
    pub summary: String,
    /// How many read errors there were (a log that could not be opened, a
    /// read or decompression error inside one); each is named in `summary`.
    /// Always 0 in follow mode, where a missing file may appear later.
    pub read_errors: usize,
    /// The hits on a protected facility's addresses or domains, one touch
    /// per indicator (the caller escalates them,
    /// [`crate::facility::escalate`]). Empty in follow mode and when the
    /// match has no node store.
    pub touches: Vec<crate::facility::Touch>,
}

/// The display names of the logs (`<stdin>` for `-`).
pub fn log_names(opts: &MatchOptions) -> Vec<String> {
    opts.logs
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                "<stdin>".into()
            } else {
                p.display().to_string()
            }
        })
        .collect()
}

/// Runs a match: loads the indicators, reads every log (or follows them),
/// writes hits and sightings, and returns the summary. `progress` is told
/// the bytes read (the total is [`total_bytes`]); in follow mode,
/// `on_flush` gets a line per flush. `open` opens the store when one is
/// needed (indicators from the store, checking an index file against it,
/// sightings to store, the node identity); `clock` is now (which indicators are live, the sightings'
/// times).
///
/// # Errors
/// [`MatchError`] naming the file or store that failed.
pub fn run(
    opts: &MatchOptions,
    open: OpenStore<'_>,
    clock: &dyn Clock,
    progress: &dyn Progress,
    on_flush: &mut dyn FnMut(&str),
) -> Result<MatchReport, MatchError> {
    let threads = opts.threads.max(1);
    let now_us = clock.now_micros();
    let now_s = now_us.div_euclid(1_000_000);
    let ind = load::load_indicators(opts, open, now_s)?;
    let view = ind.view()?;
    let ctx = scan::Ctx {
        view: view.clone(),
        evaluator: &ind.evaluator,
        now_s,
        since_us: opts
            .since
            .map(|t| t.unix_seconds * 1_000_000 + i64::from(t.nanos / 1000)),
        evidence: opts.evidence,
    };
    let names = log_names(opts);

    // Where the sightings go.
    let store = if opts.out.is_none() && !opts.no_sightings {
        Some(open(&opts.data).map_err(store_err(format!(
            "opening the data directory {}",
            opts.data.display()
        )))?)
    } else {
        None
    };

    let start = Instant::now();
    let mut hits: Vec<Hit> = Vec::new();
    let mut counts = Counts::default();
    let mut bytes_read = 0u64;
    if opts.follow {
        let summary = follow::follow(
            opts,
            &ctx,
            &names,
            &ind,
            store.as_deref(),
            open,
            clock,
            on_flush,
        )?;
        return Ok(MatchReport {
            summary,
            read_errors: 0,
            touches: Vec::new(),
        });
    }
    for (i, path) in opts.logs.iter().enumerate() {
        let job = scan::Job {
            format: opts.log_options.format,
            opts: &opts.log_options,
            threads,
            bar: progress,
        };
        let (h, c) = if scan::is_plain_file(path) {
            // MAP_POPULATE: the pages are mapped in one go; measured faster
            // than a fault per page or MADV_POPULATE_READ per chunk.
            let map = load::map_with(path, true)?;
            bytes_read += map.len() as u64;
            scan::match_bytes(&ctx, i as u32, &map, &job)
        } else {
            if let Ok(m) = std::fs::metadata(path) {
                bytes_read += m.len();
            }
            scan::match_stream(&ctx, i as u32, path, &job)
        };
        hits.extend(h);
        counts.merge(c);
    }
    progress.finish();
    let match_secs = start.elapsed().as_secs_f64();
    hits.sort_by_key(|h| (h.file, h.line, h.ord));

    if let Some(p) = &opts.hits {
        output::write_hits(p, &hits, &names, &view)?;
    }
    // Hits on a protected facility's addresses, checked against the
    // node's registry.
    let mut touches = Vec::new();
    if !hits.is_empty() {
        let opened;
        let node: Option<&dyn accord_store::Backend> = match store.as_deref() {
            Some(s) => Some(s),
            None if opts.data.join(accord_store::DB_FILE_NAME).exists() => {
                opened = open(&opts.data).map_err(store_err(format!(
                    "opening the data directory {}",
                    opts.data.display()
                )))?;
                Some(&*opened)
            }
            None => None,
        };
        if let Some(s) = node {
            match crate::facility::FacilityWatch::new().registry(s) {
                Ok(reg) => {
                    touches = crate::facility::touches_of_hits(&reg, &hits, &names, |ord| {
                        view.indicator_id_string(ord)
                    });
                }
                Err(e) => tracing::error!("protected facilities not checked: {e}"),
            }
        }
    }
    let mut written =
        output::write_sightings(opts, &hits, &ind, &view, store.as_deref(), open, now_us)?;
    if let Some(p) = &opts.hits {
        // Every file the match wrote is named in its summary.
        let line = format!("{} hits written to {}", hits.len(), p.display());
        written = if written.is_empty() {
            line
        } else {
            format!("{written}\n{line}")
        };
    }
    Ok(MatchReport {
        summary: summary::summary(
            &counts, &hits, &ind, &view, &names, match_secs, bytes_read, threads, &written,
        ),
        read_errors: counts.errors.len(),
        touches,
    })
}

/// The total size of the logs, for a progress bar.
pub fn total_bytes(opts: &MatchOptions) -> u64 {
    opts.logs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
        .sum()
}
