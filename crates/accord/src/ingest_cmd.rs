//! `accord ingest`: validate files and store their valid objects.

use crate::check::{Checked, Outcome, check_file};
use crate::input::{Anchor, Format, Item, Source};
use crate::report::Reporter;
use accord_store::{NewObject, Pending, PutOutcome, SqliteStore, Writer};
use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;

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
/// Exit status: 0 when every object was stored or already there, 1 when any
/// was rejected or conflicted, 2 when a file or the database failed.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord ingest ../shared/data/stix/*.json\n  \
    accord ingest --data /var/lib/accord --collection partner-feeds feed.jsonl\n  \
    accord generate --count 1000000 -o ind.jsonl && accord ingest ind.jsonl")]
pub struct Args {
    /// Files to ingest: STIX bundles, single objects, or JSON lines; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The node's data directory (created with its schema when new, migrated when old).
    #[arg(long, env = "ACCORD_DATA", default_value = "accord-data")]
    data: PathBuf,
    /// The collection to store into (created on first use).
    #[arg(long, default_value = "default")]
    collection: String,
    /// Where the objects came from, recorded with each one (a partner's name, a feed).
    #[arg(long, default_value = "local")]
    origin: String,
    /// How the files are laid out.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// Also print warnings (SHOULDs of the specification).
    #[arg(long)]
    warnings: bool,
    /// Objects larger than this are reported and skipped unread.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    max_object_bytes: usize,
    /// Objects per write transaction.
    #[arg(long, default_value_t = 8192, value_name = "N")]
    batch: usize,
    /// Do not show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

/// What an ingest did.
#[derive(Default)]
pub struct Totals {
    pub seen: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub conflicts: u64,
    pub rejected: u64,
    pub faults: u64,
}

/// Objects submitted and not yet acknowledged, with where each came from.
struct InFlight {
    pending: Pending,
    origins: Vec<(Option<Anchor>, usize, String)>,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let store = SqliteStore::open(&args.data)
        .with_context(|| format!("opening the data directory {}", args.data.display()))?;
    let sources = args
        .files
        .iter()
        .map(|p| Source::open(p))
        .collect::<Result<Vec<_>>>()?;
    let opts = Options {
        collection: &args.collection,
        origin: &args.origin,
        format: args.format,
        warnings: args.warnings,
        max_object_bytes: args.max_object_bytes,
        batch: args.batch,
        progress: !args.no_progress,
    };
    let start = std::time::Instant::now();
    let (t, failure) = ingest(store.writer(), &sources, &opts);
    eprintln!(
        "{}",
        t.summary(
            &args.collection,
            &args.data.display().to_string(),
            start.elapsed()
        )
    );
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(if t.rejected + t.conflicts + t.faults == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// How to ingest.
pub struct Options<'a> {
    /// Store collection to write to.
    pub collection: &'a str,
    /// Recorded as each object's origin.
    pub origin: &'a str,
    /// File layout.
    pub format: Format,
    /// Print warnings too.
    pub warnings: bool,
    /// Larger objects are skipped.
    pub max_object_bytes: usize,
    /// Objects per batch.
    pub batch: usize,
    /// Show a progress bar on a terminal.
    pub progress: bool,
}

impl Totals {
    /// The one-line summary printed at the end.
    pub fn summary(&self, collection: &str, data: &str, took: std::time::Duration) -> String {
        let secs = took.as_secs_f64();
        format!(
            "{} objects read into collection `{collection}` of {data}: {} stored, {} duplicates, {} conflicts, {} rejected as invalid, {} unreadable parts ({secs:.1} s, {:.0} objects/s)",
            self.seen,
            self.stored,
            self.duplicates,
            self.conflicts,
            self.rejected,
            self.faults,
            self.seen as f64 / secs.max(1e-9)
        )
    }
}

/// Validates and stores the objects of `sources`, reporting problems on
/// standard error. Stops at the first store failure (a full disk), which is
/// returned with the totals so far: what they count as stored is on disk.
pub fn ingest(
    writer: &Writer,
    sources: &[Source],
    opts: &Options<'_>,
) -> (Totals, Option<anyhow::Error>) {
    let total_bytes: u64 = sources.iter().map(|s| s.bytes().len() as u64).sum();
    let bar = crate::progress_bar(total_bytes, "ingesting", opts.progress);
    let mut t = Totals::default();
    let mut done_bytes = 0u64;
    for source in sources {
        let src = source.bytes();
        let mut rep = Reporter::new(&source.name, src, opts.warnings);
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut failure: Option<anyhow::Error> = None;
        check_file(
            source,
            opts.format,
            opts.max_object_bytes,
            opts.batch,
            |batch| {
                if failure.is_some() {
                    return;
                }
                let mut objs = Vec::with_capacity(batch.len());
                let mut origins = Vec::with_capacity(batch.len());
                let mut last_offset = 0;
                for outcome in &batch {
                    match outcome {
                        Outcome::Object(c) => {
                            t.seen += 1;
                            last_offset = c.offset;
                            rep.checked(c);
                            if let Some(new) = new_object(c, opts.collection, opts.origin) {
                                origins.push((c.anchor, c.offset, new.id.to_owned()));
                                objs.push(new);
                            } else {
                                t.rejected += 1;
                            }
                        }
                        Outcome::Other(Item::BundleIssues {
                            anchor,
                            offset,
                            text,
                            issues,
                        }) => {
                            rep.issues(*anchor, *offset, text, issues);
                        }
                        Outcome::Other(Item::Error {
                            anchor,
                            offset,
                            message,
                        }) => {
                            t.faults += 1;
                            rep.fault(*anchor, *offset, message);
                        }
                        Outcome::Other(Item::Object { .. } | Item::Line { .. }) => {}
                    }
                }
                bar.set_position(done_bytes + last_offset as u64);
                if objs.is_empty() {
                    return;
                }
                match writer.submit(&objs) {
                    Ok(pending) => in_flight.push_back(InFlight { pending, origins }),
                    Err(e) => {
                        failure = Some(anyhow::Error::new(e));
                        return;
                    }
                }
                // Keep a few batches in flight so validation overlaps the commits.
                while in_flight.len() > 8 {
                    if let Err(e) = settle(in_flight.pop_front(), &mut rep, &mut t) {
                        failure = Some(e);
                        return;
                    }
                }
            },
        );
        while let Some(f) = in_flight.pop_front() {
            if failure.is_none()
                && let Err(e) = settle(Some(f), &mut rep, &mut t)
            {
                failure = Some(e);
            }
        }
        done_bytes += src.len() as u64;
        if let Some(e) = failure {
            bar.finish_and_clear();
            return (
                t,
                Some(e.context(format!(
                    "stopped while ingesting {}: the objects counted as stored are on disk; the failed batch was rolled back",
                    source.name
                ))),
            );
        }
    }
    bar.finish_and_clear();
    (t, None)
}

fn new_object<'c>(
    c: &'c Checked<'_>,
    collection: &'c str,
    origin: &'c str,
) -> Option<NewObject<'c>> {
    c.meta
        .as_ref()
        .map(|m| m.new_object(c.text, collection, origin))
}

fn settle(f: Option<InFlight>, rep: &mut Reporter<'_>, t: &mut Totals) -> Result<()> {
    let Some(f) = f else { return Ok(()) };
    let outcomes = f.pending.wait().context("storing a batch")?;
    for (outcome, (anchor, offset, id)) in outcomes.iter().zip(&f.origins) {
        match outcome {
            PutOutcome::Stored { .. } => t.stored += 1,
            PutOutcome::Duplicate { .. } => t.duplicates += 1,
            PutOutcome::Conflict { existing_seq } => {
                t.conflicts += 1;
                rep.object_error(
                    *anchor,
                    *offset,
                    id,
                    "conflict",
                    &format!(
                        "this version (same id and modified) is already stored with different content (store seq {existing_seq}); kept the stored one"
                    ),
                );
            }
        }
    }
    Ok(())
}
