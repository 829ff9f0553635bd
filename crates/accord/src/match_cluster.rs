//! `accord match --config` of a cluster's node: indicators from the
//! cluster's PostgreSQL store, matched by this command (no `nats`, or
//! `--follow`, `--hits`, `--evidence`, `--indicators`) or as durable
//! `match` chunks on NATS JetStream matched by the cluster's processes
//! ([`accord_node::match_work`]), whose per-indicator reports this command
//! adds up (each chunk once) into the usual sightings and summary.

use crate::ingest_cluster::{Outgoing, Wait, publish_and_wait};
use crate::match_cmd::{Args, finish};
use accord_app::config::{ClusterConfig, Config};
use accord_app::matching;
use accord_app::matching::chunk::{HitGroup, merge_groups, sightings_of_groups};
use accord_app::matching::summary::group;
use accord_app::sighting;
use accord_logs::Format;
use accord_node::match_work::{
    self, Chunk, ChunkHeader, ChunkReport, Chunker, IndexCache, MATCH, Matcher, done_subject,
};
use accord_stix::Clock;
use accord_store::{Backend, StoreError};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Outgoing for Chunk {
    fn id(&self) -> &str {
        &self.id
    }
    fn payload(&self) -> &[u8] {
        &self.payload
    }
    fn weight(&self) -> u64 {
        self.bytes as u64
    }
}

/// The name a chunk's header gives `f`.
fn format_name(f: Format) -> &'static str {
    match f {
        Format::ZeekTsv => "zeek",
        Format::ZeekJson => "zeek-json",
        Format::Eve => "eve",
        Format::Csv => "csv",
        Format::Text => "text",
    }
}

/// Matches `args`' logs against the indicators of the cluster `cluster`
/// of `config`.
pub fn run(
    args: &Args,
    config: &Config,
    cluster: &ClusterConfig,
    clock: &Arc<dyn Clock>,
) -> Result<ExitCode> {
    let store = crate::cluster_cmd::open_store(cluster, clock)?;
    let data = &config.data_dir;
    let local_only = [
        (args.follow, "--follow"),
        (args.hits.is_some(), "--hits"),
        (args.evidence, "--evidence"),
        (args.indicators.is_some(), "--indicators"),
    ];
    let why_local: Vec<&str> = local_only
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
    match &cluster.nats {
        Some(url) if why_local.is_empty() => distributed(args, config, &store, url, clock),
        _ => {
            if cluster.nats.is_some() {
                eprintln!(
                    "accord: with {}, the logs are matched by this command against the cluster's store (not as tasks on NATS)",
                    why_local.join(", ")
                );
            }
            local(args, config, &store, data, clock)
        }
    }
}

/// The match by this command, indicators from the cluster's store.
fn local(
    args: &Args,
    config: &Config,
    store: &accord_store::pg::PgStore,
    data: &Path,
    clock: &Arc<dyn Clock>,
) -> Result<ExitCode> {
    let index = if args.index.is_some() || args.no_index || args.indicators.is_some() {
        args.index.clone()
    } else {
        match_work::index_file(
            data,
            &args.collections,
            args.include_warninglisted,
            "command",
        )
    };
    let opts = crate::match_cmd::options(args, data, index, args.follow.then(|| config.clone()))?;
    let bar = crate::Bar(if args.follow {
        indicatif::ProgressBar::hidden()
    } else {
        crate::progress_bar(matching::total_bytes(&opts), "matching", !args.no_progress)
    });
    let open = |_: &Path| -> Result<Box<dyn Backend>, StoreError> { store.new_handle() };
    let report = matching::run(&opts, &open, &**clock, &bar, &mut |line| {
        eprintln!("{line}")
    })
    .map_err(crate::flat)?;
    finish(&report, Some(config), clock, || Ok(store.new_handle()?))
}

/// What reading the logs gave.
#[derive(Default)]
struct ReadOut {
    /// Chunks too large for a task (matched here).
    here: Vec<Chunk>,
    /// Lines dropped while reading (longer than the longest line), per log.
    too_long: Vec<(u32, u64)>,
    /// Logs that could not be opened or read to their end.
    errors: Vec<String>,
    /// Chunks not sent (the publisher gave up).
    unsent: u64,
    /// Bytes read.
    bytes: u64,
}

/// Reads the logs, cutting them into chunks sent to `tx`.
fn split(
    args: &Args,
    names: &[String],
    files: &std::sync::Mutex<HashMap<String, u32>>,
    mut chunker: Chunker,
    explicit: Option<Format>,
    max_line: usize,
    tx: tokio::sync::mpsc::Sender<Chunk>,
) -> ReadOut {
    let mut out = ReadOut::default();
    let mut closed = false;
    let mut send = |chunks: Vec<Chunk>, out: &mut ReadOut| {
        for c in chunks {
            files
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(c.id.clone(), c.file);
            if c.oversize {
                out.here.push(c);
            } else if closed || tx.blocking_send(c).is_err() {
                closed = true;
                out.unsent += 1;
            }
        }
    };
    for (i, path) in args.logs.iter().enumerate() {
        let name = &names[i];
        let mut input = match accord_logs::open(path) {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(e.to_string());
                continue;
            }
        };
        // The format: given, or detected on the log's start.
        let mut buf: Vec<u8> = Vec::with_capacity(256 << 10);
        let mut eof = false;
        let mut fill = |buf: &mut Vec<u8>, eof: &mut bool| -> std::io::Result<()> {
            let mut block = [0u8; 64 << 10];
            let n = input.read(&mut block)?;
            if n == 0 {
                *eof = true;
            }
            buf.extend_from_slice(&block[..n]);
            Ok(())
        };
        let mut failed = None;
        while buf.len() < 64 << 10 && !eof {
            if let Err(e) = fill(&mut buf, &mut eof) {
                failed = Some(e);
                break;
            }
        }
        let format =
            explicit.unwrap_or_else(|| accord_logs::detect(&buf[..buf.len().min(64 << 10)]));
        if let Err(e) = chunker.start_file(i as u32, name, format_name(format)) {
            out.errors.push(format!("{name}: {e}"));
            continue;
        }
        let mut too_long = 0u64;
        let mut discarding = false;
        let before = out.bytes;
        loop {
            // Whole lines of the buffer.
            let mut start = 0;
            while let Some(p) = memchr::memchr(b'\n', &buf[start..]) {
                let end = start + p + 1;
                if discarding {
                    discarding = false;
                    too_long += 1;
                    chunker.skip_line();
                } else if end - start - 1 > max_line {
                    too_long += 1;
                    chunker.skip_line();
                } else {
                    chunker.push_line(&buf[start..end]);
                    send(chunker.take_ready(), &mut out);
                }
                start = end;
            }
            out.bytes += start as u64;
            buf.drain(..start);
            if buf.len() > max_line {
                // A line over the bound: dropped as it is read.
                out.bytes += buf.len() as u64;
                buf.clear();
                discarding = true;
            }
            if eof || failed.is_some() {
                break;
            }
            if let Err(e) = fill(&mut buf, &mut eof) {
                failed = Some(e);
            }
        }
        if !buf.is_empty() {
            // The last line, without its newline.
            out.bytes += buf.len() as u64;
            if discarding {
                too_long += 1;
                chunker.skip_line();
            } else {
                chunker.push_line(&buf);
            }
        } else if discarding {
            too_long += 1;
            chunker.skip_line();
        }
        send(chunker.take_ready(), &mut out);
        if too_long > 0 {
            out.too_long.push((i as u32, too_long));
        }
        if let Some(e) = failed {
            out.errors.push(format!(
                "{name}: reading stopped after {} bytes: {e}",
                out.bytes - before
            ));
        }
    }
    send(chunker.finish(), &mut out);
    out
}

/// A report being put together from its parts.
type Assembly = Vec<Option<ChunkReport>>;

/// Puts a chunk's report parts together: the whole report once every part
/// of one delivery has come (parts of other deliveries of the chunk are
/// dropped then).
#[derive(Default)]
struct Assembler {
    parts: HashMap<(String, String, i64), Assembly>,
}

impl Assembler {
    fn add(
        &mut self,
        bytes: &[u8],
        outstanding: &dyn Fn(&str) -> bool,
    ) -> Option<(String, ChunkReport)> {
        let r = match ChunkReport::from_wire(bytes) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("{e}");
                return None;
            }
        };
        if !outstanding(&r.chunk) {
            return None;
        }
        if r.parts == 1 {
            self.parts.retain(|(c, _, _), _| *c != r.chunk);
            return Some((r.chunk.clone(), r));
        }
        let key = (r.chunk.clone(), r.process.clone(), r.attempt);
        let slot = self
            .parts
            .entry(key.clone())
            .or_insert_with(|| vec![None; r.parts as usize]);
        if slot.len() != r.parts as usize {
            tracing::warn!("report parts of {} disagree on their number", r.chunk);
            return None;
        }
        let at = r.part as usize;
        slot[at] = Some(r);
        if slot.iter().any(Option::is_none) {
            return None;
        }
        let parts = self.parts.remove(&key)?;
        self.parts.retain(|(c, _, _), _| *c != key.0);
        let mut it = parts.into_iter().flatten();
        let mut whole = it.next()?;
        for p in it {
            whole.groups.extend(p.groups);
        }
        Some((key.0, whole))
    }
}

/// The sum of the chunks' reports.
#[derive(Default)]
struct Totals {
    lines: u64,
    events: u64,
    observables: u64,
    before_since: u64,
    skipped: BTreeMap<String, u64>,
    samples: Vec<(u32, u64, String)>,
    errors: Vec<String>,
    hits: u64,
    by_kind: BTreeMap<String, u64>,
    touches: BTreeMap<String, accord_app::facility::Touch>,
    index: match_work::IndexFacts,
    groups: BTreeMap<(String, i64), HitGroup>,
    by_process: BTreeMap<String, usize>,
    redone: usize,
    chunks: usize,
}

impl Totals {
    fn add(&mut self, file: u32, r: ChunkReport) {
        self.chunks += 1;
        self.lines += r.lines;
        self.events += r.events;
        self.observables += r.observables;
        self.before_since += r.before_since;
        for (k, n) in r.skipped {
            *self.skipped.entry(k).or_default() += n;
        }
        for (l, why) in r.samples {
            if self.samples.len() < 1000 {
                self.samples.push((file, l, why));
            }
        }
        for e in r.errors {
            if self.errors.len() < 1000 {
                self.errors.push(e);
            }
        }
        self.hits += r.hits;
        for (k, n) in r.by_kind {
            *self.by_kind.entry(k).or_default() += n;
        }
        for w in r.touches {
            let Some(t) = w.touch() else { continue };
            let e = self.touches.entry(t.object.clone()).or_insert_with(|| {
                let mut first = t.clone();
                first.hits.clear();
                first
            });
            for h in t.hits {
                if e.hits.len() < match_work::MAX_TOUCH_HITS && !e.hits.contains(&h) {
                    e.hits.push(h);
                }
            }
        }
        if r.index.indicators >= self.index.indicators {
            self.index = r.index;
        }
        merge_groups(&mut self.groups, r.groups);
        *self.by_process.entry(r.process).or_default() += 1;
        if r.attempt > 1 {
            self.redone += 1;
        }
    }
}

/// The match as `match` tasks on NATS.
fn distributed(
    args: &Args,
    config: &Config,
    store: &accord_store::pg::PgStore,
    url: &str,
    clock: &Arc<dyn Clock>,
) -> Result<ExitCode> {
    let start = Instant::now();
    let log_options = matching::log_options(&args.format, args.columns.as_deref(), args.csv_header)
        .map_err(crate::flat)?;
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
    let run_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let max_payload = accord_work::Options::default().max_payload;
    let chunk_bytes = args
        .chunk_bytes
        .min(max_payload - match_work::MAX_HEADER - match_work::MAX_PREFIX);
    let max_line = log_options.max_line.min(match_work::MAX_LINE as usize);
    let template = ChunkHeader {
        v: match_work::FORMAT,
        run: run_id.clone(),
        file: 0,
        name: "log".into(),
        format: "text".into(),
        columns: args.columns.clone(),
        csv_header: args.csv_header,
        csv_delimiter: log_options.csv_delimiter,
        max_line: max_line as u64,
        first_line: 1,
        prefix: 0,
        collections: args.collections.clone(),
        include_warninglisted: args.include_warninglisted,
        since_us: args
            .since
            .map(|t| t.unix_seconds * 1_000_000 + i64::from(t.nanos / 1000)),
        window: args.window.max(1),
    };
    let chunker = Chunker::new(template, chunk_bytes, max_payload).map_err(crate::flat)?;
    let total_bytes: u64 = args
        .logs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
        .sum();
    let bar = crate::progress_bar(total_bytes, "matching", !args.no_progress);
    let stall = Duration::from_secs(args.stall_minutes.max(1) * 60);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime for NATS")?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    // Chunk id → its log, for the skipped lines' samples.
    let files: std::sync::Mutex<HashMap<String, u32>> = Default::default();
    let mut drained = Vec::new();
    let (read, waited) = std::thread::scope(|s| {
        let (names, files) = (&names, &files);
        let explicit = log_options.format;
        // The reader owns the sender: when it is done, the channel ends.
        let reader = s.spawn(move || split(args, names, files, chunker, explicit, max_line, tx));
        let mut asm = Assembler::default();
        let waited = rt.block_on(publish_and_wait(
            Wait {
                url,
                kind: MATCH,
                subject: done_subject(&run_id),
                noun: "chunk",
                nouns: "chunk(s)",
                stall,
            },
            &mut rx,
            &bar,
            |payload, known| asm.add(payload, known),
        ));
        if waited.give_up {
            // The chunks not yet published are not matched: the reader
            // stops (and counts them).
            rx.close();
        } else {
            // The queue is not usable: the rest is matched here.
            while let Some(c) = rx.blocking_recv() {
                drained.push(c);
            }
        }
        (reader.join(), waited)
    });
    drop(rt);
    bar.finish_and_clear();
    let read = read.map_err(|_| anyhow::anyhow!("the thread reading the logs panicked"))?;
    let files = files
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut t = Totals::default();
    let published = waited.published;
    for r in waited.results {
        let file = files.get(&r.chunk).copied().unwrap_or(0);
        t.add(file, r);
    }
    // The chunks matched here: too large for a task, already on the queue,
    // or the queue unusable.
    let mut here: Vec<Chunk> = read.here;
    here.extend(waited.here);
    here.extend(drained);
    if !waited.why_here.is_empty() {
        eprintln!(
            "accord: chunk(s) matched by this command directly: {}",
            waited.why_here.join("; ")
        );
    }
    if !here.is_empty() {
        let cache = IndexCache::default();
        let m = Matcher {
            config,
            store,
            process: "this command",
            cache: &cache,
            clock: &**clock,
        };
        for c in &here {
            match m.run(&c.id, 1, &c.payload) {
                Ok(parts) => {
                    let mut it = parts.into_iter();
                    if let Some(mut whole) = it.next() {
                        for p in it {
                            whole.groups.extend(p.groups);
                        }
                        t.add(c.file, whole);
                    }
                }
                Err(match_work::ChunkFailure::Drop(e)) => {
                    anyhow::bail!("a chunk of the logs cannot be matched: {e}")
                }
                Err(match_work::ChunkFailure::Retry(e)) => {
                    anyhow::bail!("matching a chunk of the logs here: {e}")
                }
            }
        }
    }
    for (f, n) in &read.too_long {
        t.lines += n;
        *t.skipped
            .entry(accord_logs::SkipReason::TooLong.as_str().to_owned())
            .or_default() += n;
        let _ = f;
    }
    t.errors.extend(read.errors.iter().cloned());
    let secs = start.elapsed().as_secs_f64();

    // The sightings, as a local match writes them.
    let now_us = clock.now_micros();
    let written = if args.no_sightings {
        "sightings not written (--no-sightings)".to_owned()
    } else {
        let (node_id, identity) =
            sighting::node_identity(&config.data_dir, Some(store.writer()), now_us)
                .map_err(crate::flat)?;
        let s = sightings_of_groups(t.groups.values(), now_us, &node_id);
        if let Some(out) = &args.out {
            std::fs::write(out, s.bundle(&identity))
                .with_context(|| format!("writing {}", out.display()))?;
            format!(
                "{} sightings written to {}",
                s.sightings.len(),
                out.display()
            )
        } else if s.sightings.is_empty() {
            "no sightings".to_owned()
        } else {
            let outboxes = s.store(store.writer(), &identity).map_err(crate::flat)?;
            let mut msg = format!(
                "{} sightings stored in collection `{}` of the cluster's store",
                s.sightings.len(),
                sighting::SIGHTINGS_COLLECTION
            );
            for (name, n) in outboxes {
                msg.push_str(&format!("; {n} queued in `{name}`"));
            }
            msg
        }
    };
    eprint!(
        "{}",
        summary(
            &t,
            &names,
            secs,
            read.bytes,
            &written,
            published,
            here.len()
        )
    );
    if !t.touches.is_empty() {
        // Once every chunk is in, by this one process: an indicator already
        // attached to its facility's case adds nothing, so a rerun (or a
        // chunk redone) opens nothing twice.
        let touches: Vec<_> = t.touches.values().cloned().collect();
        let done = accord_app::facility::escalate(config, store, &touches, clock.now_timestamp())
            .map_err(crate::flat)?;
        for e in &done {
            eprintln!("{}", e.line("hit by", "indicator"));
        }
    }
    if let Some(e) = waited.error {
        return Err(crate::ingest_cluster::unsent_error(
            &e,
            read.unsent,
            "chunk(s)",
            "matched",
        ));
    }
    if !t.errors.is_empty() {
        anyhow::bail!(
            "{} read error(s) in the logs (listed above); what could be read was matched",
            t.errors.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The summary, as a local match's, with who matched what.
fn summary(
    t: &Totals,
    names: &[String],
    secs: f64,
    bytes: u64,
    written: &str,
    published: usize,
    here: usize,
) -> String {
    let mut s = matching::summary::reading(
        &matching::summary::Reading {
            lines: t.lines,
            events: t.events,
            observables: t.observables,
            before_since: t.before_since,
            skipped: t.skipped.iter().map(|(r, n)| (r.as_str(), *n)).collect(),
            samples: t
                .samples
                .iter()
                .map(|(f, l, r)| (*f, *l, r.as_str()))
                .collect(),
            errors: &t.errors,
        },
        names,
    );
    let ix = &t.index;
    s.push_str(&format!(
        "indicators: {} ({} through the index, {} through the pattern evaluator, {} revoked or expired), from the cluster's store\n",
        group(ix.indicators),
        group(ix.keyed),
        group(ix.evaluated),
        group(ix.dead),
    ));
    if ix.warninglisted > 0 {
        s.push_str(&format!(
            "skipped as warninglisted: {} indicators; --include-warninglisted matches them\n",
            group(ix.warninglisted)
        ));
    }
    let inds: std::collections::BTreeSet<&str> = t.groups.keys().map(|(i, _)| i.as_str()).collect();
    s.push_str(&matching::summary::hits_line(
        t.hits,
        inds.len() as u64,
        t.by_kind.iter().map(|(k, n)| (k.as_str(), *n)),
        written,
    ));
    let procs: Vec<String> = t
        .by_process
        .iter()
        .map(|(p, n)| format!("{p}: {n}"))
        .collect();
    s.push_str(&format!(
        "chunks: {} matched of {} published, {} matched by this command ({}){}\n",
        t.chunks - here.min(t.chunks),
        published,
        here,
        procs.join(", "),
        if t.redone > 0 {
            format!(
                "; {} redone after their first process died or failed",
                t.redone
            )
        } else {
            String::new()
        }
    ));
    s.push_str(&format!(
        "throughput: {:.2} s, {} lines/s, {:.0} MB/s\n",
        secs,
        group((t.lines as f64 / secs.max(1e-9)) as u64),
        bytes as f64 / 1e6 / secs.max(1e-9),
    ));
    s
}
