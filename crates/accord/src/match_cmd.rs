//! `accord match`: run logs against every indicator, report hits, write
//! sightings.
//!
//! Indicators come from the store (`--data`) or a file (`--indicators`).
//! Each STIX pattern is compiled ([`accord_pattern::compile`]) into index
//! keys for the [`accord_matcher`] index; the patterns the compiler cannot
//! turn into keys are evaluated per event over a small STIX 2.1
//! observed-data built from the event's observables. Plain files are
//! memory-mapped and cut into chunks read on every thread; compressed files
//! and standard input are read as a stream.

use crate::sighting::{self, Hit};
use accord_logs::{Event, Format, Kind, Parser, Sink, SkipReason};
use accord_matcher::{Index, IndexBuilder, IndexView, IndicatorMeta, Key};
use accord_pattern::{Compiled, KeyKind, Observations, Pattern, StixVersion};
use accord_store::{Query, SqliteStore, Store, Timestamp, VersionFilter};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Run logs (Zeek, Suricata EVE, CSV, text) against every indicator and write sightings.
///
/// Indicators are read from the node's store (`--data`, every collection or
/// those named with `--collection`) or from a STIX bundle / JSON-lines file
/// (`--indicators`). Revoked indicators and those whose `valid_until` has
/// passed never match. Hits are aggregated into one STIX 2.1 `sighting`
/// per indicator and time window (`--window`, default one hour), stored in
/// the `sightings` collection (and, per producer of the indicator, in
/// `sightings-to-<identity id>`) or written to `--out` as a bundle.
///
/// Exit status: 0 when the logs were read (hits or not), 2 on failure.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord match /var/log/zeek/current/*.log\n  \
    accord match --indicators feed.json --out sightings.json eve.json.gz\n  \
    accord match --hits hits.jsonl --evidence --threads 4 eve.json\n  \
    accord match --format csv --columns 'time,src:ip,dst:ip,,url:url' fw.csv\n  \
    accord match --follow /var/log/suricata/eve.json")]
pub struct Args {
    /// Log files (plain, .gz, .zst); `-` reads standard input.
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// The node's data directory: indicators are read from it (unless
    /// `--indicators`) and sightings written to it (unless `--out`).
    #[arg(long, env = "ACCORD_DATA", default_value = "accord-data")]
    data: PathBuf,
    /// Read indicators from this STIX bundle or JSON-lines file instead of the store.
    #[arg(long, value_name = "FILE")]
    indicators: Option<PathBuf>,
    /// Only indicators of this store collection; repeat for several (all when absent).
    #[arg(long = "collection", value_name = "NAME")]
    collections: Vec<String>,
    /// The log format: auto, zeek, zeek-json, eve, csv, text.
    #[arg(long, default_value = "auto")]
    format: String,
    /// CSV column mapping (`src:ip,dst:ip,,url:url`); the first row is then data.
    #[arg(long, value_name = "MAP")]
    columns: Option<String>,
    /// With --columns: the first row is a header, skip it.
    #[arg(long)]
    csv_header: bool,
    /// Only events at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z).
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_ts)]
    since: Option<Timestamp>,
    /// Write the sightings to this file as a STIX 2.1 bundle instead of the store.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write one JSON line per hit to this file.
    #[arg(long, value_name = "FILE")]
    hits: Option<PathBuf>,
    /// Attach observed-data built from the matching log lines (up to 10 per sighting).
    #[arg(long)]
    evidence: bool,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Keep reading the files as they grow, like `tail -F` (sightings are written every --flush seconds).
    #[arg(long)]
    follow: bool,
    /// In follow mode, write sightings this often (seconds).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    flush: u64,
    /// In follow mode, stop after this many seconds (tests, cron jobs).
    #[arg(long, value_name = "SECONDS", hide = true)]
    follow_for: Option<f64>,
    /// Save the index here, and reuse it (memory-mapped) while it is newer than the indicators.
    #[arg(long, value_name = "FILE")]
    index: Option<PathBuf>,
    /// Sighting window in seconds: hits of one indicator within one window make one sighting.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    window: u64,
    /// Do not write sightings at all (benchmarks; hits and the summary only).
    #[arg(long)]
    no_sightings: bool,
    /// Do not show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

fn parse_ts(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------
// Indicators

/// The fields of an indicator that matching and the tool exports need.
#[derive(Deserialize)]
pub(crate) struct IndIn<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub pattern: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub pattern_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub pattern_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub valid_until: Option<Cow<'a, str>>,
    #[serde(default)]
    pub revoked: bool,
    #[serde(borrow)]
    pub created_by_ref: Option<Cow<'a, str>>,
}

/// How the indicators were read.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct LoadStats {
    pub indicators: u64,
    pub keyed: u64,
    pub evaluated: u64,
    pub dead: u64,
    pub not_stix: u64,
    pub bad_pattern: u64,
    pub bad_keys: u64,
    pub not_indicators: u64,
}

/// What the index does not hold: producers and evaluator patterns. Saved
/// beside an `--index` file as `<FILE>.meta.json`.
#[derive(Default, Serialize, Deserialize)]
struct Sidecar {
    producers: Vec<String>,
    /// Per ordinal: index into `producers`, or `u32::MAX`.
    ord_producer: Vec<u32>,
    /// (ordinal, pattern, STIX 2.0 dialect).
    evaluator: Vec<(u32, String, bool)>,
    stats: LoadStats,
    /// What the index was built from (`store:<dir>:<collections>` or `file:<path>`).
    #[serde(default)]
    source: String,
    /// For a store: the highest `seq` read; a newer indicator version makes the index stale.
    #[serde(default)]
    max_seq: i64,
}

struct Loader {
    b: IndexBuilder,
    now: i64,
    side: Sidecar,
    producer_ix: std::collections::HashMap<String, u32>,
    seen: std::collections::HashMap<[u8; 16], u32>,
}

impl Loader {
    fn new(now: i64) -> Loader {
        Loader {
            b: IndexBuilder::new(now),
            now,
            side: Sidecar::default(),
            producer_ix: Default::default(),
            seen: Default::default(),
        }
    }

    fn add(&mut self, text: &str) {
        let Ok(ind) = serde_json::from_str::<IndIn<'_>>(text) else {
            self.side.stats.not_indicators += 1;
            return;
        };
        if ind.ty.as_deref() != Some("indicator") {
            self.side.stats.not_indicators += 1;
            return;
        }
        let Some(id) = ind
            .id
            .as_deref()
            .and_then(accord_matcher::parse_indicator_id)
        else {
            self.side.stats.not_indicators += 1;
            return;
        };
        // Several versions of one indicator (a store with VersionFilter::Last
        // gives one per collection): the last one read wins for liveness.
        self.side.stats.indicators += 1;
        if ind.pattern_type.as_deref().is_some_and(|t| t != "stix") {
            self.side.stats.not_stix += 1;
            return;
        }
        let Some(src) = ind.pattern.as_deref() else {
            self.side.stats.bad_pattern += 1;
            return;
        };
        let valid_until = ind
            .valid_until
            .as_deref()
            .and_then(|v| Timestamp::parse(v).ok())
            .map(|t| {
                if t.nanos > 0 {
                    t.unix_seconds + 1
                } else {
                    t.unix_seconds
                }
            });
        let meta = IndicatorMeta {
            id,
            valid_until,
            revoked: ind.revoked,
        };
        if !meta.is_live(self.now) {
            self.side.stats.dead += 1;
        }
        if self.seen.contains_key(&id) {
            // A second version: ignore (the store's last version came first
            // per collection; a file's duplicates are rare).
            self.side.stats.indicators -= 1;
            return;
        }
        let v20 = ind.pattern_version.as_deref() == Some("2.0");
        let ast = if v20 {
            accord_pattern::parse_v20(src)
        } else {
            accord_pattern::parse(src)
        };
        let Ok(ast) = ast else {
            self.side.stats.bad_pattern += 1;
            return;
        };
        let ord = self.b.add_indicator(meta);
        self.seen.insert(id, ord);
        let p = match ind.created_by_ref.as_deref() {
            Some(p) => {
                let n = self.producer_ix.len() as u32;
                let ix = *self.producer_ix.entry(p.to_owned()).or_insert(n);
                if ix == n {
                    self.side.producers.push(p.to_owned());
                }
                ix
            }
            None => u32::MAX,
        };
        self.side.ord_producer.push(p);
        match accord_pattern::compile(&ast) {
            Compiled::Keys(keys) => {
                self.side.stats.keyed += 1;
                for k in keys {
                    let key = match k.kind {
                        KeyKind::Ip => Key::ip_cidr(&k.value),
                        KeyKind::Domain => Key::domain(&k.value),
                        KeyKind::Url => Key::url(&k.value),
                        KeyKind::Email => Key::email(&k.value),
                        KeyKind::Hash(_) => Key::hash_hex(&k.value),
                    };
                    if key
                        .map_err(|_| ())
                        .and_then(|k| self.b.add_key(ord, k).map_err(|_| ()))
                        .is_err()
                    {
                        self.side.stats.bad_keys += 1;
                    }
                }
            }
            Compiled::NeedsEvaluator(_) => {
                self.side.stats.evaluated += 1;
                self.side.evaluator.push((ord, src.to_owned(), v20));
            }
        }
    }
}

/// Calls `f` on each object text of a bundle / single object / JSON-lines file.
fn each_object(bytes: &[u8], mut f: impl FnMut(&str)) -> Result<()> {
    let first_nl = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let first = bytes[..first_nl].trim_ascii();
    let rest = bytes.get(first_nl..).unwrap_or(&[]).trim_ascii();
    let jsonl = !rest.is_empty()
        && first.starts_with(b"{")
        && serde_json::from_slice::<serde::de::IgnoredAny>(first).is_ok();
    if jsonl {
        for line in bytes.split(|&b| b == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            if memchr::memmem::find(line, b"\"bundle\"").is_some() {
                let _ = accord_stix::read_document(line, |o| f(o.text));
            } else if let Ok(s) = std::str::from_utf8(line) {
                f(s);
            }
        }
        Ok(())
    } else {
        accord_stix::read_document(bytes, |o| f(o.text))
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e:?}"))
    }
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The loaded index: owned (just built) or a mapped file.
enum IndexBytes {
    Owned(Box<Index>),
    Mapped(memmap2::Mmap),
}

struct Indicators {
    bytes: IndexBytes,
    side: Sidecar,
    evaluator: Vec<(u32, Pattern)>,
    load_secs: f64,
    reused: bool,
}

impl Indicators {
    fn view(&self) -> Result<IndexView<'_>> {
        match &self.bytes {
            IndexBytes::Owned(i) => Ok(i.view()),
            IndexBytes::Mapped(m) => IndexView::from_bytes(m).context("reading the index file"),
        }
    }
}

fn map_file(p: &Path) -> Result<memmap2::Mmap> {
    map_with(p, false)
}

/// Maps a file read-only; `populate`: fault every page in at once (a log
/// about to be read whole), which costs less than a fault per page.
fn map_with(p: &Path, populate: bool) -> Result<memmap2::Mmap> {
    let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
    let mut opts = memmap2::MmapOptions::new();
    if populate {
        opts.populate();
    }
    // SAFETY: a read-only map of a log or of the index cache named on the
    // command line, alive while it is read. If another process truncates the
    // file meanwhile, reads past the new end fault: the documented risk of
    // mapping files, accepted as for `accord validate`'s input files
    // (a log being appended to is safe; use --follow for live logs).
    #[allow(unsafe_code)]
    let m =
        unsafe { memmap2::Mmap::map(&f) }.with_context(|| format!("mapping {}", p.display()))?;
    Ok(m)
}

fn load_indicators(args: &Args, now: i64) -> Result<Indicators> {
    let start = Instant::now();
    let source_time = match &args.indicators {
        Some(p) => mtime(p),
        None => {
            let db = args.data.join(accord_store::DB_FILE_NAME);
            let wal = args
                .data
                .join(format!("{}-wal", accord_store::DB_FILE_NAME));
            mtime(&db).max(mtime(&wal))
        }
    };
    let source = match &args.indicators {
        Some(p) => format!("file:{}", p.display()),
        None => format!(
            "store:{}:{}",
            args.data.display(),
            args.collections.join(",")
        ),
    };
    if let Some(ix) = &args.index {
        let side_path = sidecar_path(ix);
        let side: Option<Sidecar> = std::fs::read(&side_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|s: &Sidecar| s.source == source);
        let fresh = match (&side, &args.indicators) {
            (None, _) => false,
            // A file: the index is newer than it.
            (Some(_), Some(_)) => match (mtime(ix), mtime(&side_path), source_time) {
                (Some(a), Some(b), Some(s)) => a > s && b > s,
                _ => false,
            },
            // The store: no indicator version was stored since.
            (Some(side), None) => {
                let store = SqliteStore::open(&args.data).with_context(|| {
                    format!("opening the data directory {}", args.data.display())
                })?;
                let q = Query {
                    types: vec!["indicator".into()],
                    versions: VersionFilter::All,
                    after_seq: side.max_seq,
                    ..Query::default()
                };
                store
                    .query(&q, 1)
                    .map(|p| p.objects.is_empty())
                    .unwrap_or(false)
            }
        };
        if let (true, Some(side)) = (fresh, side) {
            let map = map_file(ix)?;
            IndexView::from_bytes(&map).context("reading the index file")?;
            let evaluator = compile_evaluator(&side);
            return Ok(Indicators {
                bytes: IndexBytes::Mapped(map),
                side,
                evaluator,
                load_secs: start.elapsed().as_secs_f64(),
                reused: true,
            });
        }
    }
    let mut l = Loader::new(now);
    match &args.indicators {
        Some(p) => {
            let src = crate::input::Source::open(p)?;
            each_object(src.bytes(), |t| l.add(t))
                .with_context(|| format!("reading indicators from {}", p.display()))?;
        }
        None => {
            if !args.data.join(accord_store::DB_FILE_NAME).exists() {
                bail!(
                    "no store in {} (give --data DIR of a node, or --indicators FILE)",
                    args.data.display()
                );
            }
            let store = SqliteStore::open(&args.data)
                .with_context(|| format!("opening the data directory {}", args.data.display()))?;
            let cols: Vec<Option<String>> = if args.collections.is_empty() {
                vec![None]
            } else {
                args.collections.iter().cloned().map(Some).collect()
            };
            for c in cols {
                let mut q = Query {
                    collection: c,
                    types: vec!["indicator".into()],
                    versions: VersionFilter::Last,
                    ..Query::default()
                };
                loop {
                    let page = store.query(&q, 8192).context("reading indicators")?;
                    for o in &page.objects {
                        l.side.max_seq = l.side.max_seq.max(o.seq);
                        l.add(&o.raw);
                    }
                    match page.last_seq() {
                        Some(s) if page.more => q.after_seq = s,
                        _ => break,
                    }
                }
            }
        }
    }
    let mut side = l.side;
    side.source = source;
    let index = l.b.build().context("building the index")?;
    if let Some(ix) = &args.index {
        let tmp = ix.with_extension("tmp");
        std::fs::write(&tmp, index.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, ix))
            .with_context(|| format!("saving the index to {}", ix.display()))?;
        std::fs::write(sidecar_path(ix), serde_json::to_vec(&side)?)
            .with_context(|| format!("saving {}", sidecar_path(ix).display()))?;
    }
    let evaluator = compile_evaluator(&side);
    Ok(Indicators {
        bytes: IndexBytes::Owned(Box::new(index)),
        side,
        evaluator,
        load_secs: start.elapsed().as_secs_f64(),
        reused: false,
    })
}

fn sidecar_path(ix: &Path) -> PathBuf {
    let mut s = ix.as_os_str().to_owned();
    s.push(".meta.json");
    PathBuf::from(s)
}

fn compile_evaluator(side: &Sidecar) -> Vec<(u32, Pattern)> {
    side.evaluator
        .iter()
        .filter_map(|(ord, src, v20)| {
            let p = if *v20 {
                Pattern::new_v20(src)
            } else {
                Pattern::new(src)
            };
            p.ok().map(|p| (*ord, p))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Matching

/// Shared, read-only state of the matching workers.
struct Ctx<'a> {
    view: IndexView<'a>,
    evaluator: &'a [(u32, Pattern)],
    now_s: i64,
    since_us: Option<i64>,
    evidence: bool,
}

/// Per-worker counts.
#[derive(Default)]
struct Counts {
    lines: u64,
    events: u64,
    observables: u64,
    before_since: u64,
    skipped: BTreeMap<SkipReason, u64>,
    samples: Vec<(u32, u64, SkipReason)>,
    errors: Vec<String>,
}

const MAX_SAMPLES: usize = 5;

impl Counts {
    fn merge(&mut self, o: Counts) {
        self.lines += o.lines;
        self.events += o.events;
        self.observables += o.observables;
        self.before_since += o.before_since;
        for (r, n) in o.skipped {
            *self.skipped.entry(r).or_default() += n;
        }
        // Bounded (follow mode merges a sink per poll).
        let room = 1000usize.saturating_sub(self.samples.len());
        self.samples.extend(o.samples.into_iter().take(room));
        let room = 1000usize.saturating_sub(self.errors.len());
        self.errors.extend(o.errors.into_iter().take(room));
    }
}

struct MatchSink<'c, 'a> {
    ctx: &'c Ctx<'a>,
    file: u32,
    scratch: Vec<u32>,
    hits: Vec<Hit>,
    c: Counts,
}

impl<'c, 'a> MatchSink<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>, file: u32) -> Self {
        MatchSink {
            ctx,
            file,
            scratch: Vec::new(),
            hits: Vec::new(),
            c: Counts::default(),
        }
    }

    fn evidence(ev: &Event<'_>) -> sighting::Evidence {
        ev.observables
            .iter()
            .map(|o| {
                (
                    o.field.into(),
                    o.kind,
                    String::from_utf8_lossy(o.value).into(),
                )
            })
            .collect()
    }

    fn evaluate(&mut self, ev: &Event<'_>) {
        let objects = observed_data(ev);
        let Ok(obs) = Observations::new(&objects, StixVersion::V21) else {
            return;
        };
        for (ord, p) in self.ctx.evaluator {
            if !self.ctx.view.is_live(*ord, self.ctx.now_s) {
                continue;
            }
            if p.matches(&obs).is_ok_and(|r| r.matched) {
                let first = ev.observables.first();
                self.hits.push(Hit {
                    file: self.file,
                    line: ev.line,
                    ord: *ord,
                    kind: None,
                    field: first.map_or("", |o| o.field).into(),
                    value: first
                        .map_or(Cow::Borrowed(""), |o| String::from_utf8_lossy(o.value))
                        .into(),
                    time: ev.time,
                    evidence: self.ctx.evidence.then(|| Self::evidence(ev)),
                });
            }
        }
    }
}

impl Sink for MatchSink<'_, '_> {
    fn event(&mut self, ev: &Event<'_>) {
        self.c.events += 1;
        if let (Some(s), Some(t)) = (self.ctx.since_us, ev.time)
            && t < s
        {
            self.c.before_since += 1;
            return;
        }
        self.c.observables += ev.observables.len() as u64;
        let view = &self.ctx.view;
        for o in ev.observables {
            self.scratch.clear();
            let n = match o.kind {
                Kind::Ip => match parse_ip(o.value) {
                    Some(ip) => view.lookup_ip(ip, &mut self.scratch),
                    None => 0,
                },
                Kind::Domain => view.lookup_domain(o.value, &mut self.scratch),
                Kind::Url => view.lookup_url(o.value, &mut self.scratch),
                Kind::Email => view.lookup_email(o.value, &mut self.scratch),
                Kind::Hash => view.lookup_hash(o.value, &mut self.scratch),
                Kind::Text => 0,
            };
            if n == 0 {
                continue;
            }
            for i in 0..self.scratch.len() {
                let ord = self.scratch[i];
                if !view.is_live(ord, self.ctx.now_s) {
                    continue;
                }
                self.hits.push(Hit {
                    file: self.file,
                    line: ev.line,
                    ord,
                    kind: Some(o.kind),
                    field: o.field.into(),
                    value: String::from_utf8_lossy(o.value).into(),
                    time: ev.time,
                    evidence: self.ctx.evidence.then(|| Self::evidence(ev)),
                });
            }
        }
        if !self.ctx.evaluator.is_empty() && !ev.observables.is_empty() {
            self.evaluate(ev);
        }
    }

    fn skipped(&mut self, line: u64, reason: SkipReason) {
        *self.c.skipped.entry(reason).or_default() += 1;
        if self.c.samples.len() < MAX_SAMPLES {
            self.c.samples.push((self.file, line, reason));
        }
    }
}

/// Dotted-quad IPv4 without going through `str` (the common case), else
/// the standard parser (IPv6).
#[inline]
fn parse_ip(b: &[u8]) -> Option<std::net::IpAddr> {
    let slow = || std::str::from_utf8(b).ok()?.parse().ok();
    let mut a = 0u32;
    let mut part = 0u32;
    let mut digits = 0;
    let mut dots = 0;
    for &c in b {
        match c {
            // No leading zeros and at most 255, as the standard parser.
            b'0'..=b'9' if !(digits == 1 && part == 0) && digits < 3 => {
                part = part * 10 + u32::from(c - b'0');
                digits += 1;
            }
            b'.' if digits > 0 && dots < 3 && part <= 255 => {
                a = a << 8 | part;
                part = 0;
                digits = 0;
                dots += 1;
            }
            _ => return slow(),
        }
    }
    if dots == 3 && digits > 0 && part <= 255 {
        Some(std::net::IpAddr::V4((a << 8 | part).into()))
    } else {
        slow()
    }
}

/// A STIX 2.1 observed-data with one SCO per observable (and a
/// network-traffic object joining source and destination addresses), for
/// the pattern evaluator.
fn observed_data(ev: &Event<'_>) -> Vec<Value> {
    let t = sighting::ts_from_micros(ev.time.unwrap_or(0));
    let mut objects = vec![Value::Null];
    let mut refs = Vec::new();
    let (mut src, mut dst) = (None, None);
    for (i, o) in ev.observables.iter().enumerate() {
        let value = String::from_utf8_lossy(o.value);
        let id_of = |ty: &str| format!("{ty}--00000000-0000-4000-8000-{:012x}", i + 1);
        let obj = match o.kind {
            Kind::Ip => {
                let ty = if value.contains(':') {
                    "ipv6-addr"
                } else {
                    "ipv4-addr"
                };
                let id = id_of(ty);
                let f = o.field;
                if f.ends_with("src_ip") || f.ends_with("orig_h") || f.starts_with("src") {
                    src = Some(id.clone());
                } else if f.ends_with("dest_ip") || f.ends_with("resp_h") || f.starts_with("dst") {
                    dst = Some(id.clone());
                }
                json!({"type": ty, "id": id, "value": value})
            }
            Kind::Domain => {
                json!({"type": "domain-name", "id": id_of("domain-name"), "value": value})
            }
            Kind::Url => json!({"type": "url", "id": id_of("url"), "value": value}),
            Kind::Email => json!({"type": "email-addr", "id": id_of("email-addr"), "value": value}),
            Kind::Hash => {
                let alg = match o.value.len() {
                    32 => "MD5",
                    40 => "SHA-1",
                    64 => "SHA-256",
                    128 => "SHA-512",
                    _ => continue,
                };
                json!({"type": "file", "id": id_of("file"), "hashes": {alg: value.to_ascii_lowercase()}})
            }
            Kind::Text => json!({"type": "file", "id": id_of("file"), "name": value}),
        };
        refs.push(obj["id"].clone());
        objects.push(obj);
    }
    if src.is_some() || dst.is_some() {
        let id = "network-traffic--00000000-0000-4000-8000-000000000000";
        let mut nt = json!({"type": "network-traffic", "id": id, "protocols": ["ip"]});
        if let Some(s) = src {
            nt["src_ref"] = json!(s);
        }
        if let Some(d) = dst {
            nt["dst_ref"] = json!(d);
        }
        refs.push(json!(id));
        objects.push(nt);
    }
    objects[0] = json!({
        "type": "observed-data",
        "id": "observed-data--00000000-0000-4000-8000-000000000000",
        "first_observed": t, "last_observed": t, "number_observed": 1,
        "object_refs": refs,
    });
    objects
}

/// Reads `bytes` with `p`, skipping (as [`SkipReason::TooLong`]) lines
/// longer than `max_line`. Returns the number of lines.
fn read_guarded(
    p: &mut Parser,
    bytes: &[u8],
    first_line: u64,
    max_line: usize,
    sink: &mut dyn Sink,
) -> u64 {
    if bytes.len() <= max_line {
        return p.read_chunk(bytes, first_line, sink);
    }
    let mut lines = 0;
    let mut run_start = 0;
    let mut line_start = 0;
    let mut run_line = first_line;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for (line_no, e) in (first_line..).zip(ends) {
        if line_start >= bytes.len() {
            break;
        }
        if e - line_start > max_line {
            if run_start < line_start {
                lines += p.read_chunk(&bytes[run_start..line_start], run_line, sink);
            }
            sink.skipped(line_no, SkipReason::TooLong);
            lines += 1;
            run_start = (e + 1).min(bytes.len());
            run_line = line_no + 1;
        }
        line_start = e + 1;
    }
    if run_start < bytes.len() {
        lines += p.read_chunk(&bytes[run_start..], run_line, sink);
    }
    lines
}

struct Job<'a> {
    name: String,
    format: Option<Format>,
    opts: &'a accord_logs::Options,
    threads: usize,
    bar: &'a indicatif::ProgressBar,
}

/// A memory-mapped plain file, in parallel chunks.
fn match_bytes(ctx: &Ctx<'_>, file: u32, bytes: &[u8], job: &Job<'_>) -> (Vec<Hit>, Counts) {
    let format = job
        .format
        .unwrap_or_else(|| accord_logs::detect(&bytes[..bytes.len().min(64 << 10)]));
    // An unterminated last line of a Zeek TSV log may be cut mid-column.
    let mut tail_cut = false;
    let mut body = bytes;
    if !bytes.is_empty() && !bytes.ends_with(b"\n") && !format.reads_unterminated_line() {
        let start = memchr::memrchr(b'\n', bytes).map_or(0, |p| p + 1);
        if !bytes[start..].starts_with(b"#") {
            body = &bytes[..start];
            tail_cut = true;
        }
    }
    let base = Parser::with_csv(
        format,
        job.opts.csv_delimiter,
        job.opts.csv_columns.as_ref(),
        job.opts.csv_header,
    );
    let target = (body.len() / (job.threads * 16).max(1)).clamp(256 << 10, 8 << 20);
    // Cut at newlines without counting lines first (a serial pass): each
    // chunk is read as if it started at line 1, and its hits and skips are
    // renumbered once every chunk's line count is known.
    let chunks = cut(body, target);
    let parsers = base.chunk_parsers(body, &chunks);
    let next = AtomicUsize::new(0);
    let max_line = job.opts.max_line;
    type Done = (usize, std::ops::Range<usize>, std::ops::Range<usize>, u64);
    let results: Vec<(Vec<Hit>, Counts, Vec<Done>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..job.threads.min(chunks.len()).max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut sink = MatchSink::new(ctx, file);
                    let mut done: Vec<Done> = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(ch) = chunks.get(i) else { break };
                        let mut p = parsers[i].clone();
                        let piece = &body[ch.range.clone()];
                        let (h0, s0) = (sink.hits.len(), sink.c.samples.len());
                        let n = read_guarded(&mut p, piece, 1, max_line, &mut sink);
                        sink.c.lines += n;
                        done.push((i, h0..sink.hits.len(), s0..sink.c.samples.len(), n));
                        job.bar.inc(piece.len() as u64);
                    }
                    (sink.hits, sink.c, done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("matching worker panicked"))
            .collect()
    });
    // Line offset of each chunk.
    let mut lines_in = vec![0u64; chunks.len()];
    for (_, _, done) in &results {
        for (i, _, _, n) in done {
            lines_in[*i] = *n;
        }
    }
    let mut offset = Vec::with_capacity(chunks.len());
    let mut total = 0u64;
    for n in &lines_in {
        offset.push(total);
        total += n;
    }
    let mut hits = Vec::new();
    let mut counts = Counts::default();
    for (mut h, mut c, done) in results {
        for (i, hr, sr, _) in done {
            for hit in &mut h[hr] {
                hit.line += offset[i];
            }
            for smp in &mut c.samples[sr] {
                smp.1 += offset[i];
            }
        }
        hits.extend(h);
        counts.merge(c);
    }
    if tail_cut {
        counts.lines += 1;
        *counts.skipped.entry(SkipReason::Truncated).or_default() += 1;
        counts
            .samples
            .push((file, total + 1, SkipReason::Truncated));
        job.bar.inc((bytes.len() - body.len()) as u64);
    }
    (hits, counts)
}

/// Cuts `bytes` into chunks of about `target` bytes ending at newlines
/// (`first_line` left at 1: see [`match_bytes`]).
fn cut(bytes: &[u8], target: usize) -> Vec<accord_logs::Chunk> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let want = (start + target.max(1)).min(bytes.len());
        let end = if want == bytes.len() {
            bytes.len()
        } else {
            memchr::memchr(b'\n', &bytes[want..]).map_or(bytes.len(), |p| want + p + 1)
        };
        out.push(accord_logs::Chunk {
            range: start..end,
            first_line: 1,
        });
        start = end;
    }
    out
}

/// A stream (compressed file, stdin, pipe): read sequentially.
fn match_stream(ctx: &Ctx<'_>, file: u32, path: &Path, job: &Job<'_>) -> (Vec<Hit>, Counts) {
    let mut sink = MatchSink::new(ctx, file);
    match accord_logs::read_path(path, job.opts, &mut sink) {
        Ok(sum) => {
            sink.c.lines = sum.lines;
            sink.c
                .errors
                .extend(sum.errors.iter().map(|e| e.to_string()));
        }
        Err(e) => sink.c.errors.push(format!("{}: {e}", job.name)),
    }
    if let Ok(m) = std::fs::metadata(path) {
        job.bar.inc(m.len());
    }
    (sink.hits, sink.c)
}

fn is_plain_file(p: &Path) -> bool {
    if p.as_os_str() == "-" {
        return false;
    }
    let ext = p.extension().and_then(|e| e.to_str());
    if matches!(ext, Some("gz" | "gzip" | "zst" | "zstd")) {
        return false;
    }
    let Ok(m) = std::fs::metadata(p) else {
        return false;
    };
    if !m.is_file() || m.len() == 0 {
        return false;
    }
    // Compressed content under another name: sniff.
    let mut head = [0u8; 4];
    let n = std::fs::File::open(p)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    !(head[..n].starts_with(&[0x1f, 0x8b]) || head[..n].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]))
}

// ---------------------------------------------------------------------------
// The command

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let format = match args.format.as_str() {
        "auto" => None,
        f => Some(Format::from_name(f).with_context(|| {
            format!("unknown --format {f} (auto, zeek, zeek-json, eve, csv, text)")
        })?),
    };
    let mut opts = accord_logs::Options {
        format,
        ..Default::default()
    };
    if let Some(c) = &args.columns {
        opts.csv_columns = Some(
            accord_logs::CsvColumns::parse(c).map_err(|e| anyhow::anyhow!("--columns {c}: {e}"))?,
        );
        opts.csv_header = args.csv_header;
        if opts.format.is_none() {
            opts.format = Some(Format::Csv);
        }
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let now_us = sighting::now_micros();
    let now_s = now_us.div_euclid(1_000_000);
    let ind = load_indicators(args, now_s)?;
    let view = ind.view()?;
    let ctx = Ctx {
        view: view.clone(),
        evaluator: &ind.evaluator,
        now_s,
        since_us: args
            .since
            .map(|t| t.unix_seconds * 1_000_000 + i64::from(t.nanos / 1000)),
        evidence: args.evidence,
    };
    let names: Vec<String> = args
        .logs
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                "<stdin>".into()
            } else {
                p.display().to_string()
            }
        })
        .collect();

    // Where the sightings go.
    let store = if args.out.is_none() && !args.no_sightings {
        Some(
            SqliteStore::open(&args.data)
                .with_context(|| format!("opening the data directory {}", args.data.display()))?,
        )
    } else {
        None
    };

    let start = Instant::now();
    let mut hits: Vec<Hit> = Vec::new();
    let mut counts = Counts::default();
    let mut bytes_read = 0u64;
    if args.follow {
        follow(args, &ctx, &opts, &names, &ind, store.as_ref())?;
        return Ok(ExitCode::SUCCESS);
    }
    let total: u64 = args
        .logs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
        .sum();
    let bar = crate::progress_bar(total, "matching", !args.no_progress);
    for (i, path) in args.logs.iter().enumerate() {
        let job = Job {
            name: names[i].clone(),
            format: opts.format,
            opts: &opts,
            threads,
            bar: &bar,
        };
        let (h, c) = if is_plain_file(path) {
            // MAP_POPULATE: the pages are mapped in one go; measured faster
            // than a fault per page or MADV_POPULATE_READ per chunk.
            let map = map_with(path, true)?;
            bytes_read += map.len() as u64;
            match_bytes(&ctx, i as u32, &map, &job)
        } else {
            if let Ok(m) = std::fs::metadata(path) {
                bytes_read += m.len();
            }
            match_stream(&ctx, i as u32, path, &job)
        };
        hits.extend(h);
        counts.merge(c);
    }
    bar.finish_and_clear();
    let match_secs = start.elapsed().as_secs_f64();
    hits.sort_by_key(|h| (h.file, h.line, h.ord));

    if let Some(p) = &args.hits {
        write_hits(p, &hits, &names, &view)?;
    }
    let written = write_sightings(args, &hits, &ind, &view, store.as_ref(), now_us)?;
    eprint!(
        "{}",
        summary(
            &counts, &hits, &ind, &view, &names, match_secs, bytes_read, threads, &written
        )
    );
    Ok(ExitCode::SUCCESS)
}

fn write_hits(p: &Path, hits: &[Hit], names: &[String], view: &IndexView<'_>) -> Result<()> {
    let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for h in hits {
        let line = json!({
            "indicator": view.indicator_id_string(h.ord),
            "value": &*h.value,
            "field": &*h.field,
            "kind": h.kind.map_or("pattern", Kind::as_str),
            "file": names[h.file as usize],
            "line": h.line,
            "time": h.time.map(sighting::ts_from_micros),
        });
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
    }
    w.flush()
        .with_context(|| format!("writing {}", p.display()))?;
    Ok(())
}

/// Writes the sightings; returns a line saying where they went.
fn write_sightings(
    args: &Args,
    hits: &[Hit],
    ind: &Indicators,
    view: &IndexView<'_>,
    store: Option<&SqliteStore>,
    now_us: i64,
) -> Result<String> {
    if args.no_sightings {
        return Ok("sightings not written (--no-sightings)".into());
    }
    let (node_id, identity) = if let Some(s) = store {
        sighting::node_identity(&args.data, Some(s.writer()))?
    } else if args.data.join(accord_store::DB_FILE_NAME).exists() {
        // --out with an existing node: its identity (created and stored once).
        let s = SqliteStore::open(&args.data)
            .with_context(|| format!("opening the data directory {}", args.data.display()))?;
        sighting::node_identity(&args.data, Some(s.writer()))?
    } else {
        // --out without a node: a one-off identity, written in the bundle.
        let t = sighting::new_identity();
        let v: Value = serde_json::from_str(&t)?;
        (v["id"].as_str().unwrap_or_default().to_owned(), t)
    };
    write_with(args, hits, ind, view, store, now_us, &node_id, &identity)
}

#[allow(clippy::too_many_arguments)]
fn write_with(
    args: &Args,
    hits: &[Hit],
    ind: &Indicators,
    view: &IndexView<'_>,
    store: Option<&SqliteStore>,
    now_us: i64,
    node_id: &str,
    identity: &str,
) -> Result<String> {
    let s = sighting::aggregate(
        hits,
        args.window as i64,
        now_us,
        node_id,
        |o| view.indicator_id_string(o).unwrap_or_default(),
        |o| {
            let p = *ind.side.ord_producer.get(o as usize)?;
            ind.side.producers.get(p as usize).cloned()
        },
        args.evidence,
    );
    if let Some(out) = &args.out {
        std::fs::write(out, s.bundle(identity))
            .with_context(|| format!("writing {}", out.display()))?;
        return Ok(format!(
            "{} sightings ({} evidence objects) written to {}",
            s.sightings.len(),
            s.evidence.len(),
            out.display()
        ));
    }
    let Some(store) = store else {
        return Ok(String::new());
    };
    if s.sightings.is_empty() {
        return Ok("no sightings".into());
    }
    let outboxes = s.store(store.writer(), identity)?;
    let mut msg = format!(
        "{} sightings ({} evidence objects) stored in collection `{}` of {}",
        s.sightings.len(),
        s.evidence.len(),
        sighting::SIGHTINGS_COLLECTION,
        args.data.display()
    );
    for (name, n) in outboxes {
        msg.push_str(&format!("; {n} queued in `{name}`"));
    }
    Ok(msg)
}

#[allow(clippy::too_many_arguments)]
fn summary(
    c: &Counts,
    hits: &[Hit],
    ind: &Indicators,
    view: &IndexView<'_>,
    names: &[String],
    secs: f64,
    bytes: u64,
    threads: usize,
    written: &str,
) -> String {
    let mut s = String::new();
    let skipped: u64 = c
        .skipped
        .iter()
        .filter(|(r, _)| **r != SkipReason::HeaderChanged)
        .map(|(_, n)| n)
        .sum();
    s.push_str(&format!(
        "read {} lines from {} file(s): {} events, {} observables, {} lines skipped",
        group(c.lines),
        names.len(),
        group(c.events),
        group(c.observables),
        group(skipped)
    ));
    if !c.skipped.is_empty() {
        let parts: Vec<String> = c
            .skipped
            .iter()
            .map(|(r, n)| format!("{} {r}", group(*n)))
            .collect();
        s.push_str(&format!(" ({})", parts.join(", ")));
    }
    if c.before_since > 0 {
        s.push_str(&format!(
            "; {} events before --since ignored",
            group(c.before_since)
        ));
    }
    s.push('\n');
    let mut samples = c.samples.clone();
    samples.sort();
    let mut per_file: BTreeMap<u32, usize> = BTreeMap::new();
    for (f, line, r) in &samples {
        let n = per_file.entry(*f).or_default();
        *n += 1;
        if *n <= MAX_SAMPLES {
            s.push_str(&format!("  {}:{line}: skipped: {r}\n", names[*f as usize]));
        }
    }
    for e in &c.errors {
        s.push_str(&format!("  {e}\n"));
    }
    let st = &ind.side.stats;
    s.push_str(&format!(
        "indicators: {} ({} through the index, {} through the pattern evaluator, {} revoked or expired, {} not STIX patterns, {} unparsable patterns, {} unusable keys){}\n",
        group(st.indicators),
        group(st.keyed),
        group(st.evaluated),
        group(st.dead),
        group(st.not_stix),
        group(st.bad_pattern),
        group(st.bad_keys),
        if ind.reused { "; index reused from file" } else { "" }
    ));
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    let mut inds = std::collections::HashSet::new();
    for h in hits {
        *by_kind
            .entry(h.kind.map_or("pattern", Kind::as_str))
            .or_default() += 1;
        inds.insert(h.ord);
    }
    let kinds: Vec<String> = by_kind
        .iter()
        .map(|(k, n)| format!("{k} {}", group(*n)))
        .collect();
    s.push_str(&format!(
        "hits: {} on {} indicators{}\n",
        group(hits.len() as u64),
        group(inds.len() as u64),
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    ));
    if !written.is_empty() {
        s.push_str(written);
        s.push('\n');
    }
    let stats = view.stats();
    s.push_str(&format!(
        "throughput: {:.2} s, {} lines/s, {:.0} MB/s on {threads} thread(s); index {:.1} MB = {:.1} B/indicator, loaded in {:.2} s\n",
        secs,
        group((c.lines as f64 / secs.max(1e-9)) as u64),
        bytes as f64 / 1e6 / secs.max(1e-9),
        stats.total_bytes as f64 / 1e6,
        stats.bytes_per_indicator(),
        ind.load_secs
    ));
    s
}

fn follow(
    args: &Args,
    ctx: &Ctx<'_>,
    opts: &accord_logs::Options,
    names: &[String],
    ind: &Indicators,
    store: Option<&SqliteStore>,
) -> Result<()> {
    let mut followers: Vec<accord_logs::Follow> = args
        .logs
        .iter()
        .map(|p| accord_logs::Follow::new(p, opts))
        .collect();
    let start = Instant::now();
    let mut last_flush = Instant::now();
    let mut all = Counts::default();
    let mut pending: Vec<Hit> = Vec::new();
    let mut total_hits = 0u64;
    loop {
        let mut got = 0;
        for (i, f) in followers.iter_mut().enumerate() {
            let mut sink = MatchSink::new(ctx, i as u32);
            match f.poll(&mut sink) {
                Ok(n) => got += n,
                Err(e) => sink.c.errors.push(e.to_string()),
            }
            pending.extend(sink.hits);
            all.merge(sink.c);
        }
        let done = args
            .follow_for
            .is_some_and(|s| start.elapsed() >= Duration::from_secs_f64(s));
        if (done || last_flush.elapsed() >= Duration::from_secs(args.flush)) && !pending.is_empty()
        {
            let view = ind.view()?;
            pending.sort_by_key(|h| (h.file, h.line, h.ord));
            if let Some(p) = &args.hits {
                append_hits(p, &pending, names, &view)?;
            }
            let msg = write_sightings(args, &pending, ind, &view, store, sighting::now_micros())?;
            total_hits += pending.len() as u64;
            eprintln!("{} hits; {msg}", pending.len());
            pending.clear();
            last_flush = Instant::now();
        }
        if done {
            eprintln!(
                "followed {} file(s): {} events, {} hits",
                names.len(),
                group(all.events),
                group(total_hits)
            );
            return Ok(());
        }
        if got == 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn append_hits(p: &Path, hits: &[Hit], names: &[String], view: &IndexView<'_>) -> Result<()> {
    let tmp = p.with_extension("part");
    write_hits(&tmp, hits, names, view)?;
    let data = std::fs::read(&tmp)?;
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .with_context(|| format!("opening {}", p.display()))?;
    f.write_all(&data)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_ip_agrees_with_std() {
        for s in [
            "1.2.3.4",
            "255.255.255.255",
            "0.0.0.0",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "::1",
            "fe80::1",
            "1.2.3.4 ",
            "",
            "1234.1.1.1",
            "10.0.0.01",
            "2001:db8::1.2.3.4",
        ] {
            assert_eq!(super::parse_ip(s.as_bytes()), s.parse().ok(), "{s}");
        }
    }
}
