//! `accord import misp`: MISP events and feeds, converted to STIX 2.1 and
//! stored through the node's inbound seam (as `accord ingest` stores).

use crate::report::Reporter;
use accord_app::ingest::{IngestReport, Options, Totals, submit_source};
use accord_app::input::{Format, Source};
use accord_misp::{Limits, ProblemKind};
use accord_stix::Clock;
use accord_store::{ObjectRead, Query, VersionFilter};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Import MISP events and MISP feeds: convert them to STIX 2.1 and store
/// the objects in the node's database.
///
/// Reads single events (`{"Event": …}`), REST search results
/// (`{"response": [{"Event": …}, …]}`), lists of events, directories of
/// event files, and MISP feed directories (`manifest.json`, `<uuid>.json`,
/// `hashes.csv`). Each event becomes a `report` referring to indicators (the
/// IDS-flagged attributes, one STIX pattern each), observed-data with
/// cyber-observables (the others), relationships (object references) and
/// sightings; TLP tags become TLP 2.0 markings, other tags labels. The
/// converted objects go through the same checks as `accord ingest`.
///
/// Ids and timestamps come from MISP (`indicator--<attribute uuid>`,
/// `report--<event uuid>`, `modified` = the MISP timestamp), so importing
/// the same events again stores nothing new and a newer version of an event
/// adds new versions. Every object names its MISP uuid in an
/// `external_references` entry with `source_name` `misp`.
///
/// Each problem (an unknown attribute type, a broken uuid, a value that is
/// not what its type says, a feed whose `hashes.csv` disagrees with an
/// event) is printed with the event and attribute uuid and skipped; the rest
/// is imported.
///
/// Exit status: 0 when everything was imported, 1 when anything was
/// skipped or rejected, 2 when a file or the database failed.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord import misp data/demo/misp/event.json\n  \
    accord import misp --collection misp-feed data/demo/misp/feed/\n  \
    accord import misp --data node-b data/demo/misp/event.json")]
pub struct Args {
    /// MISP event files, directories of them, or MISP feed directories.
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// The node's data directory (created with its schema when new).
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    data: PathBuf,
    /// The collection to store into (created on first use).
    #[arg(long, default_value = "default")]
    collection: String,
    /// Where the objects came from, recorded with each one.
    #[arg(long, default_value = "misp")]
    origin: String,
    /// Files larger than this are reported and skipped unread.
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    max_file_bytes: u64,
    /// Attributes per event (object attributes included); the rest are reported and skipped.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    max_attributes: usize,
    /// Do not show a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Do not look up ATT&CK techniques among the stored attack-patterns.
    #[arg(long)]
    no_attack: bool,
    /// A node's accord.toml: its `[limits]` hold the converted objects, and
    /// a protected facility they touch opens its hotline case (without it,
    /// touches are only reported).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// One file to read, with the feed's hashes when it is part of one.
struct Input {
    path: PathBuf,
    /// The event uuid the feed's manifest names (checked against the file).
    hashes: Option<Arc<HashMap<String, Vec<String>>>>,
}

/// The inputs of `paths`, and the problems found listing them.
fn inputs(paths: &[PathBuf], problems: &mut Vec<String>) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
        if !meta.is_dir() {
            out.push(Input {
                path: p.clone(),
                hashes: None,
            });
            continue;
        }
        let manifest = p.join("manifest.json");
        if manifest.is_file() {
            let text = std::fs::read(&manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            let m: serde_json::Value = serde_json::from_slice(&text)
                .with_context(|| format!("{}: not JSON", manifest.display()))?;
            let serde_json::Value::Object(m) = m else {
                anyhow::bail!("{}: not a JSON object of events", manifest.display());
            };
            let hashes = read_hashes(&p.join("hashes.csv"), problems)?.map(Arc::new);
            for uuid in m.keys() {
                if accord_misp::values::uuid(uuid).is_none() {
                    problems.push(format!(
                        "{}: event {uuid}: not a uuid, skipped",
                        manifest.display()
                    ));
                    continue;
                }
                let f = p.join(format!("{uuid}.json"));
                if !f.is_file() {
                    problems.push(format!(
                        "{}: event {uuid}: listed, but {} is missing",
                        manifest.display(),
                        f.display()
                    ));
                    continue;
                }
                out.push(Input {
                    path: f,
                    hashes: hashes.clone(),
                });
            }
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("listing {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.extension().is_some_and(|x| x == "json") && f.is_file())
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|path| Input { path, hashes: None }));
    }
    Ok(out)
}

/// `hashes.csv` of a feed: md5 → event uuid lines, grouped by event
/// (sorted); `None` when the feed has none.
fn read_hashes(
    path: &Path,
    problems: &mut Vec<String>,
) -> Result<Option<HashMap<String, Vec<String>>>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    let mut bad = 0usize;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match line.split_once(',') {
            Some((h, u)) if h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                map.entry(u.trim().to_ascii_lowercase())
                    .or_default()
                    .push(h.to_ascii_lowercase());
            }
            _ => bad += 1,
        }
    }
    if bad > 0 {
        problems.push(format!(
            "{}: {bad} lines are not `md5,event-uuid`",
            path.display()
        ));
    }
    for v in map.values_mut() {
        v.sort_unstable();
    }
    Ok(Some(map))
}

/// The ATT&CK techniques among the stored attack-patterns (any
/// collection): external_id → attack-pattern id.
fn attack_index(store: &dyn ObjectRead) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    let mut q = Query {
        types: vec!["attack-pattern".into()],
        versions: VersionFilter {
            last: true,
            ..VersionFilter::default()
        },
        ..Query::default()
    };
    q.versions.all = false;
    loop {
        let page = store.query(&q, 5000).map_err(crate::flat)?;
        for o in &page.objects {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&o.raw) else {
                continue;
            };
            if let Some(serde_json::Value::Array(refs)) = v.get("external_references") {
                for r in refs {
                    if r.get("source_name").and_then(|s| s.as_str()) == Some("mitre-attack")
                        && let Some(e) = r.get("external_id").and_then(|s| s.as_str())
                    {
                        out.insert(e.to_owned(), o.id.clone());
                    }
                }
            }
        }
        match page.last_seq() {
            Some(s) if page.more => q.after_seq = s,
            _ => break,
        }
    }
    Ok(out)
}

/// Converted objects, ready for the seam.
struct Chunk {
    name: String,
    lines: Vec<u8>,
}

/// What the conversion side counted.
#[derive(Default)]
struct Counts {
    files: u64,
    events: u64,
    attributes: u64,
    objects: u64,
    /// Events whose values disagree with the feed's `hashes.csv`
    /// (imported all the same).
    disagreements: u64,
    skipped: BTreeMap<&'static str, u64>,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.files += o.files;
        self.events += o.events;
        self.attributes += o.attributes;
        self.objects += o.objects;
        self.disagreements += o.disagreements;
        for (k, n) in &o.skipped {
            *self.skipped.entry(k).or_default() += n;
        }
    }
}

fn kind_name(k: &ProblemKind) -> &'static str {
    match k {
        ProblemKind::UnknownType(_) => "unknown type",
        ProblemKind::BadUuid(_) => "broken uuid",
        ProblemKind::BadValue { .. } => "bad value",
        ProblemKind::Malformed(_) => "malformed",
        ProblemKind::Limit(_) => "over a limit",
        ProblemKind::Unsupported(_) => "not converted",
        ProblemKind::DanglingReference(_) => "dangling reference",
    }
}

/// Chunks of converted objects are handed to the seam at this size.
const CHUNK_BYTES: usize = 32 << 20;

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let mut listing = Vec::new();
    let inputs = inputs(&args.paths, &mut listing)?;
    for p in &listing {
        eprintln!("accord: {p}");
    }
    let store = crate::data_dir::open_or_create(&args.data, clock)?;
    let attack = if args.no_attack {
        HashMap::new()
    } else {
        attack_index(&store)?
    };
    let limits = Limits {
        max_attributes: args.max_attributes,
        ..Limits::default()
    };
    let total: u64 = inputs
        .iter()
        .map(|i| std::fs::metadata(&i.path).map(|m| m.len()).unwrap_or(0))
        .sum();
    let bar = crate::progress_bar(total, "importing", !args.no_progress);
    let config = match &args.config {
        Some(path) => Some(accord_app::config::load(path).map_err(crate::flat)?),
        None => None,
    };
    // Like any inbound data: checked against the protected facilities and
    // the warninglists in the store.
    let facilities = crate::ingest_cmd::facilities_of(&store);
    let opts = Options {
        collection: &args.collection,
        origin: &args.origin,
        format: Format::Jsonl,
        max_object_bytes: 64 << 20,
        batch: 8192,
        exchange: crate::ingest_cmd::local_exchange(config.as_ref()),
        facilities,
        warninglists: crate::ingest_cmd::warninglists_of(&args.data)?,
    };
    // Conversion threads: events are independent; the seam's own workers
    // share the cores.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let start = std::time::Instant::now();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(2);
    let mut totals = Totals::default();
    let mut failure = None;
    let counts = std::thread::scope(|s| {
        let bar2 = bar.clone();
        let limits = &limits;
        let attack = &attack;
        let max_file = args.max_file_bytes;
        let producer =
            s.spawn(move || convert_all(&inputs, limits, attack, max_file, threads, &bar2, tx));
        // Each chunk's last batches are still being written when the next
        // chunk's first is submitted (a pause for each chunk's last commit
        // cost ~0.7 s of a 1,000,000-attribute import).
        let mut prev = None;
        for chunk in rx {
            let source = Arc::new(Source::from_bytes(chunk.name, chunk.lines));
            let rep = Box::new(ChunkReporter(Arc::clone(&source)));
            match submit_source(
                store.writer(),
                &source,
                &opts,
                &(),
                0,
                rep,
                prev.take(),
                &mut totals,
            ) {
                Ok(s) => prev = Some(s),
                Err(f) => {
                    failure = Some(*f);
                    break;
                }
            }
        }
        if let Some(p) = prev
            && let Err(f) = p.settle(&mut totals)
        {
            failure = Some(*f);
        }
        producer.join().unwrap_or_default()
    });
    crate::finish_bar(&bar);
    let skipped: u64 = counts.skipped.values().sum::<u64>() + listing.len() as u64;
    let reasons: Vec<String> = counts
        .skipped
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .chain((!listing.is_empty()).then(|| format!("{} in the listing", listing.len())))
        .collect();
    let secs = start.elapsed().as_secs_f64();
    let disagree = if counts.disagreements > 0 {
        format!(
            "; {} events disagree with their feed's hashes.csv (imported)",
            counts.disagreements
        )
    } else {
        String::new()
    };
    eprintln!(
        "{} files, {} events, {} attributes into collection `{}` of {}: {} STIX objects, {} stored, {} duplicates, {} conflicts, {} rejected; {} skipped{}{disagree} ({secs:.1} s, {:.0} attributes/s, {:.0} objects/s)",
        counts.files,
        counts.events,
        counts.attributes,
        args.collection,
        args.data.display(),
        counts.objects,
        totals.stored,
        totals.duplicates,
        totals.conflicts,
        totals.rejected + totals.faults,
        skipped,
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        },
        counts.attributes as f64 / secs.max(1e-9),
        counts.objects as f64 / secs.max(1e-9),
    );
    crate::ingest_cmd::escalate_touches(config.as_ref(), &store, &totals.touches, clock)?;
    if totals.stored > 0 {
        drop(store);
        crate::match_cmd::refresh_kept(&args.data, clock);
    }
    if let Some(e) = failure {
        return Err(crate::flat(e));
    }
    Ok(
        if skipped + counts.disagreements + totals.rejected + totals.conflicts + totals.faults == 0
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// The report on one chunk of converted objects, which it keeps alive: its
/// last batches are settled while the next chunk is read. A [`Reporter`]
/// for each message (lines are anchored, so finding a position reads one
/// line).
struct ChunkReporter(Arc<Source>);

impl ChunkReporter {
    fn with(&self, f: impl FnOnce(&mut Reporter<'_>)) {
        f(&mut Reporter::new(&self.0.name, self.0.bytes(), false));
    }
}

impl IngestReport for ChunkReporter {
    fn checked(&mut self, c: &accord_app::check::Checked<'_>) {
        if !c.issues.is_empty() {
            self.with(|r| r.checked(c));
        }
    }
    fn issues(
        &mut self,
        anchor: Option<accord_app::input::Anchor>,
        offset: usize,
        text: &str,
        issues: &[accord_stix::Issue],
    ) {
        self.with(|r| r.issues(anchor, offset, text, issues));
    }
    fn fault(&mut self, anchor: Option<accord_app::input::Anchor>, offset: usize, message: &str) {
        self.with(|r| r.fault(anchor, offset, message));
    }
    fn object_error(
        &mut self,
        anchor: Option<accord_app::input::Anchor>,
        offset: usize,
        id: &str,
        rule: &str,
        message: &str,
    ) {
        self.with(|r| r.object_error(anchor, offset, id, rule, message));
    }
}

/// What converting one input gave: its objects as JSON lines, the
/// messages to print (in order), and what it counted.
#[derive(Default)]
struct Converted {
    lines: Vec<u8>,
    messages: Vec<String>,
    counts: Counts,
    /// The bytes of the input done (for the progress bar).
    len: u64,
    /// Whether any event was read (the chunk's name).
    any: bool,
}

/// Reads, parses and converts one input.
fn convert_one(
    input: &Input,
    limits: &Limits,
    attack: &HashMap<String, String>,
    max_file: u64,
) -> Converted {
    let lookup = |t: &str| attack.get(t).cloned();
    let mut out = Converted::default();
    let name = input.path.display().to_string();
    let len = std::fs::metadata(&input.path).map(|m| m.len()).unwrap_or(0);
    let c = &mut out.counts;
    if len > max_file {
        out.messages.push(format!(
            "{name}: {len} bytes, more than --max-file-bytes {max_file}: skipped"
        ));
        *c.skipped.entry("file too large").or_default() += 1;
        out.len = len;
        return out;
    }
    let bytes = match std::fs::read(&input.path) {
        Ok(b) => b,
        Err(e) => {
            out.messages.push(format!("{name}: {e}"));
            *c.skipped.entry("unreadable file").or_default() += 1;
            return out;
        }
    };
    c.files += 1;
    out.len = len;
    let events = match accord_misp::parse_document(&bytes, limits) {
        Ok(e) => e,
        Err(e) => {
            out.messages.push(format!("{name}: {e}"));
            *c.skipped.entry("not a MISP event").or_default() += 1;
            return out;
        }
    };
    for ev in &events {
        let conv = accord_misp::convert_event(ev, limits, &lookup);
        c.events += 1;
        c.attributes += conv.attributes as u64;
        for p in &conv.problems {
            out.messages.push(format!("{name}: {p}"));
            *c.skipped.entry(kind_name(&p.kind)).or_default() += 1;
        }
        if let Some(h) = &input.hashes
            && let Some(m) = check_hashes(ev, &conv.uuid, h)
        {
            out.messages.push(format!("{name}: {m}"));
            c.disagreements += 1;
        }
        let bytes: usize = conv.objects.iter().map(|o| o.len() + 1).sum();
        out.lines.reserve(bytes);
        for o in &conv.objects {
            // Compact JSON text: no line break inside.
            out.lines.extend_from_slice(o.as_bytes());
            out.lines.push(b'\n');
        }
        c.objects += conv.objects.len() as u64;
        out.any = true;
    }
    out
}

/// Converts every input on `threads` threads (events are independent) and
/// sends the objects in input order, in chunks of JSON lines; the problems
/// are printed in input order too.
fn convert_all(
    inputs: &[Input],
    limits: &Limits,
    attack: &HashMap<String, String>,
    max_file: u64,
    threads: usize,
    bar: &indicatif::ProgressBar,
    tx: std::sync::mpsc::SyncSender<Chunk>,
) -> Counts {
    let threads = threads.max(1);
    let mut c = Counts::default();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + (1 << 20));
    let mut first_name = String::new();
    // Each input's result comes back through its own channel; the
    // receivers queue in input order, at most 2 × threads ahead, so memory
    // stays bounded whatever the number of inputs.
    let (job_tx, job_rx) =
        crossbeam_channel::bounded::<(usize, crossbeam_channel::Sender<Converted>)>(threads);
    let (order_tx, order_rx) =
        crossbeam_channel::bounded::<crossbeam_channel::Receiver<Converted>>(2 * threads);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let stop = &stop;
    std::thread::scope(|s| {
        s.spawn(move || {
            for i in 0..inputs.len() {
                let (one_tx, one_rx) = crossbeam_channel::bounded(1);
                if order_tx.send(one_rx).is_err() || job_tx.send((i, one_tx)).is_err() {
                    return;
                }
            }
        });
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            s.spawn(move || {
                // Converting is bulk work in front of the store's writer.
                accord_store::yield_to_writer();
                for (i, one_tx) in job_rx {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let _ = one_tx.send(convert_one(&inputs[i], limits, attack, max_file));
                }
            });
        }
        drop(job_rx);
        let mut stopped = false;
        for (i, one_rx) in order_rx.iter().enumerate() {
            if stopped {
                continue;
            }
            let Ok(done) = one_rx.recv() else { continue };
            if !done.messages.is_empty() {
                bar.suspend(|| {
                    for m in &done.messages {
                        eprintln!("accord: {m}");
                    }
                });
            }
            c.add(&done.counts);
            if done.any && first_name.is_empty() {
                first_name = format!("{} (converted)", inputs[i].path.display());
            }
            buf.extend_from_slice(&done.lines);
            bar.inc(done.len);
            if buf.len() >= CHUNK_BYTES {
                let lines =
                    std::mem::replace(&mut buf, Vec::with_capacity(CHUNK_BYTES + (1 << 20)));
                if tx
                    .send(Chunk {
                        name: std::mem::take(&mut first_name),
                        lines,
                    })
                    .is_err()
                {
                    // The seam stopped (a store failure): drain the rest
                    // so the threads end.
                    stopped = true;
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    });
    if !buf.is_empty() {
        let _ = tx.send(Chunk {
            name: first_name,
            lines: buf,
        });
    }
    c
}

/// Compares an event's values with what the feed's `hashes.csv` lists for
/// it; a message when they disagree.
fn check_hashes(
    ev: &accord_misp::Event<'_>,
    uuid: &str,
    hashes: &HashMap<String, Vec<String>>,
) -> Option<String> {
    let mut mine = accord_misp::feed_hashes(ev);
    mine.sort_unstable();
    let listed = hashes.get(uuid).map(Vec::as_slice).unwrap_or(&[]);
    if mine.as_slice() == listed {
        return None;
    }
    let (mut missing, mut extra) = (0usize, 0usize);
    let (mut i, mut j) = (0, 0);
    while i < mine.len() || j < listed.len() {
        match (mine.get(i), listed.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                missing += 1;
                i += 1;
            }
            (Some(_), None) => {
                missing += 1;
                i += 1;
            }
            _ => {
                extra += 1;
                j += 1;
            }
        }
    }
    Some(format!(
        "event {uuid}: hashes.csv disagrees with the event: {missing} of its {} values are not listed, {extra} listed hashes match no value (imported anyway)",
        mine.len()
    ))
}
