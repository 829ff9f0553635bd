//! `accord ingest --config` of a cluster's node: into the cluster's
//! PostgreSQL store, directly (no `nats`) or as durable `ingest` batches on
//! NATS JetStream stored by the cluster's processes
//! ([`accord_node::ingest_work`]).

use crate::ingest_cmd::{
    Args, escalate_touches, facilities_of, local_exchange, open_sources, warninglists_of,
};
use crate::report::Reporter;
use accord_app::config::{ClusterConfig, Config};
use accord_app::ingest::{Options, Totals, ingest};
use accord_app::input::{Format, Item, Source, scan};
use accord_node::ingest_work::{
    Batch, BatchResult, Batcher, FORMAT_FRAMED, INGEST, MAX_HEADER, done_subject,
};
use accord_stix::Clock;
use accord_store::{Backend, ObjectWrite};
use anyhow::{Context, Result};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Ingests `args`' files into the cluster `cluster` of `config`.
pub fn run(
    args: &Args,
    config: &Config,
    cluster: &ClusterConfig,
    clock: &Arc<dyn Clock>,
) -> Result<ExitCode> {
    let store = crate::cluster_cmd::open_store(cluster, clock)?;
    let conn = cluster.postgres_conn().map_err(crate::flat)?;
    let place = format!(
        "the cluster's PostgreSQL store {}",
        accord_store::pg::redact(&conn)
    );
    let sources = open_sources(&args.files)?;
    let start = Instant::now();
    let facilities = facilities_of(&store);
    let warninglists = warninglists_of(&config.data_dir)?;
    let opts = |format: Format| Options {
        collection: &args.collection,
        origin: &args.origin,
        format,
        max_object_bytes: args.max_object_bytes,
        batch: args.batch,
        exchange: local_exchange(Some(config)),
        facilities: facilities.clone(),
        warninglists: warninglists.clone(),
    };
    let Some(url) = &cluster.nats else {
        // No queue: this command stores everything itself.
        let total_bytes: u64 = sources.iter().map(|s| s.bytes().len() as u64).sum();
        let bar = crate::Bar(crate::progress_bar(
            total_bytes,
            "ingesting",
            !args.no_progress,
        ));
        let (t, failure) = direct(
            store.writer(),
            &sources,
            &opts(args.format.into()),
            &bar,
            args.warnings,
        );
        eprintln!("{}", t.summary(&args.collection, &place, start.elapsed()));
        escalate_touches(Some(config), &store, &t.touches, clock)?;
        if let Some(e) = failure {
            return Err(crate::flat(e));
        }
        return Ok(exit(&t));
    };

    // Stream: one thread reads the files and makes batches (storing here
    // the objects that cannot travel in one); this one publishes them,
    // at most WINDOW outstanding, and collects their results.
    let run_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let max_lines = args
        .batch_bytes
        .min(accord_work::Options::default().max_payload - MAX_HEADER);
    let batcher =
        Batcher::new(&run_id, &args.collection, &args.origin, max_lines).map_err(crate::flat)?;
    let here_opts = opts(Format::Bundle);
    let jsonl_opts = opts(Format::Jsonl);
    let total_bytes: u64 = sources.iter().map(|s| s.bytes().len() as u64).sum();
    let bar = crate::progress_bar(total_bytes, "ingesting", !args.no_progress);
    let stall = Duration::from_secs(args.stall_minutes.max(1) * 60);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime for NATS")?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
    let writer = store.writer();
    let mut drained = Totals::default();
    let mut drain_failure = None;
    // The batches stored here: their duplicates' touches are escalated too.
    let mut here_batches: Vec<Batch> = Vec::new();
    let (split, waited) = std::thread::scope(|s| {
        let (srcs, here_opts) = (&sources, &here_opts);
        // The reader owns the sender: when it is done, the channel ends.
        let scanner = s.spawn(move || split(args, srcs, batcher, tx, writer, here_opts));
        let waited = rt.block_on(publish_and_wait(
            Wait {
                url,
                kind: INGEST,
                subject: done_subject(&run_id),
                noun: "batch",
                nouns: "batch(es)",
                stall,
            },
            &mut rx,
            &bar,
            |payload, _| match serde_json::from_slice::<BatchResult>(payload) {
                Ok(r) => Some((r.batch.clone(), r)),
                Err(e) => {
                    tracing::warn!("an unreadable ingest result: {e}");
                    None
                }
            },
        ));
        if waited.give_up {
            // The batches not yet published are not stored: the reader
            // stops (and counts them).
            rx.close();
        } else {
            // The queue is not usable: the rest is stored here.
            while let Some(b) = rx.blocking_recv() {
                if drain_failure.is_some() {
                    continue;
                }
                let (t, f) = store_batches(
                    writer,
                    std::slice::from_ref(&b),
                    (&jsonl_opts, here_opts),
                    args.warnings,
                );
                add(&mut drained, &t);
                drain_failure = f;
                here_batches.push(b);
            }
        }
        let split = scanner.join();
        (split, waited)
    });
    drop(rt);
    bar.finish_and_clear();
    let split = split.map_err(|_| anyhow::anyhow!("the thread reading the files panicked"))?;
    let mut totals = split.totals;
    add(&mut totals, &drained);
    if split.here > 0 {
        eprintln!(
            "accord: {} object(s) larger than a batch ({max_lines} bytes): stored by this command directly",
            split.here
        );
    }
    let mut redelivered = 0;
    let mut by_process: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &waited.results {
        totals.seen += r.seen;
        totals.stored += r.stored;
        totals.duplicates += r.duplicates;
        totals.conflicts += r.conflicts;
        totals.rejected += r.rejected;
        totals.faults += r.faults;
        totals.warninglisted += r.warninglisted;
        if r.attempt > 1 {
            redelivered += 1;
        }
        *by_process.entry(r.process.clone()).or_default() += 1;
        for why in &r.reasons {
            eprintln!("accord: {} ({}): {why}", r.batch, r.process);
        }
        if r.reasons_left_out > 0 {
            eprintln!(
                "accord: {} ({}): {} more reason(s) left out",
                r.batch, r.process, r.reasons_left_out
            );
        }
        if r.touches > 0 {
            eprintln!(
                "accord: {} ({}): {} object(s) touch protected facilities; their hotline cases were opened by that process",
                r.batch, r.process, r.touches
            );
        }
    }
    // Batches the queue would not take (already queued within its
    // de-duplication window, or NATS failed): stored here, idempotently.
    let mut failure = split.failure.or(drain_failure);
    if !waited.why_here.is_empty() {
        eprintln!(
            "accord: batch(es) stored by this command directly: {}",
            waited.why_here.join("; ")
        );
    }
    if failure.is_none() && !waited.here.is_empty() {
        let (t, f) = store_batches(
            writer,
            &waited.here,
            (&jsonl_opts, &here_opts),
            args.warnings,
        );
        add(&mut totals, &t);
        failure = f;
    }
    here_batches.extend(waited.here.iter().cloned());
    // The batches stored here may be batches the cluster stored before
    // (already on the queue): as a worker does, their objects' touches are
    // escalated whether new or duplicate (an object already attached to
    // its facility's case adds nothing).
    if let Some(reg) = &facilities {
        let mut seen: std::collections::BTreeSet<String> =
            totals.touches.iter().map(|t| t.object.clone()).collect();
        for b in &here_batches {
            let more = accord_node::ingest_work::stored_touches(
                reg,
                &store,
                &args.collection,
                &b.records(),
                &b.id,
            )
            .map_err(crate::flat)?;
            for t in more {
                if seen.insert(t.object.clone()) {
                    totals.touches.push(t);
                }
            }
        }
    }
    eprintln!(
        "{}",
        totals.summary(&args.collection, &place, start.elapsed())
    );
    eprintln!(
        "accord: {} of {} batch(es) stored by the cluster's processes ({}){}",
        waited.results.len(),
        waited.published,
        by_process
            .iter()
            .map(|(p, n)| format!("{p}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        if redelivered > 0 {
            format!("; {redelivered} redone after their first process died or failed")
        } else {
            String::new()
        }
    );
    escalate_touches(Some(config), &store, &totals.touches, clock)?;
    if let Some(e) = waited.error {
        return Err(unsent_error(&e, split.unsent, "object(s)", "stored"));
    }
    if let Some(e) = failure {
        return Err(crate::flat(e));
    }
    Ok(exit(&totals))
}

/// What reading the files gave.
struct Split {
    /// Read faults, and the objects stored here.
    totals: Totals,
    /// Objects stored here (too large for a batch).
    here: u64,
    /// The failure storing them.
    failure: Option<accord_app::ingest::IngestError>,
    /// Objects not sent (the publisher gave up).
    unsent: u64,
}

/// Objects stored here are gathered up to this many bytes per ingest.
const HERE_BYTES: usize = 8 << 20;

/// Reads the files, sending each batch to `tx` as it is made; objects
/// that cannot travel in a batch are stored through `writer`.
fn split(
    args: &Args,
    sources: &[Source],
    mut batcher: Batcher,
    tx: tokio::sync::mpsc::Sender<Batch>,
    writer: &dyn ObjectWrite,
    here_opts: &Options<'_>,
) -> Split {
    let mut out = Split {
        totals: Totals::default(),
        here: 0,
        failure: None,
        unsent: 0,
    };
    let mut here: Vec<Source> = Vec::new();
    let mut here_bytes = 0;
    let mut closed = false;
    let mut send = |batches: Vec<Batch>, out: &mut Split| {
        for b in batches {
            if closed || tx.blocking_send(b.clone()).is_err() {
                closed = true;
                out.unsent += b.objects as u64;
            }
        }
    };
    let store_here = |here: &mut Vec<Source>, out: &mut Split| {
        if here.is_empty() || out.failure.is_some() {
            here.clear();
            return;
        }
        let (t, f) = direct(writer, here, here_opts, &(), args.warnings);
        add(&mut out.totals, &t);
        out.failure = f;
        here.clear();
    };
    for source in sources {
        let mut rep = Reporter::new(&source.name, source.bytes(), args.warnings);
        scan(
            source.bytes(),
            args.format.into(),
            args.max_object_bytes,
            |item| match item {
                Item::Object { offset, text, .. } | Item::Line { offset, text, .. } => {
                    if batcher.push(text) {
                        send(batcher.take_ready(), &mut out);
                    } else {
                        out.here += 1;
                        here_bytes += text.len();
                        here.push(Source::from_bytes(
                            format!("{} (the object at byte {offset})", source.name),
                            text.as_bytes().to_vec(),
                        ));
                        if here_bytes > HERE_BYTES {
                            store_here(&mut here, &mut out);
                            here_bytes = 0;
                        }
                    }
                }
                Item::BundleIssues {
                    anchor,
                    offset,
                    text,
                    issues,
                } => accord_app::ingest::IngestReport::issues(
                    &mut rep, anchor, offset, text, &issues,
                ),
                Item::Error {
                    anchor,
                    offset,
                    message,
                } => {
                    out.totals.faults += 1;
                    accord_app::ingest::IngestReport::fault(&mut rep, anchor, offset, &message);
                }
            },
            |_| {},
        );
    }
    send(batcher.finish(), &mut out);
    store_here(&mut here, &mut out);
    out
}

/// Stores batches here (the queue would not take them): a batch of JSON
/// lines as one source read as lines, a framed batch's objects each as a
/// source of its own read as one object (as the workers do).
fn store_batches(
    writer: &dyn ObjectWrite,
    batches: &[Batch],
    (lines, objects): (&Options<'_>, &Options<'_>),
    warnings: bool,
) -> (Totals, Option<accord_app::ingest::IngestError>) {
    let (mut by_line, mut by_object) = (Vec::new(), Vec::new());
    for b in batches {
        if b.v == FORMAT_FRAMED {
            for (i, r) in b.records().into_iter().enumerate() {
                by_object.push(Source::from_bytes(
                    format!("{} object {i}", b.id),
                    r.to_vec(),
                ));
            }
        } else {
            by_line.push(Source::from_bytes(b.id.clone(), b.body().to_vec()));
        }
    }
    let (mut t, mut f) = direct(writer, &by_line, lines, &(), warnings);
    if f.is_none() && !by_object.is_empty() {
        let (t2, f2) = direct(writer, &by_object, objects, &(), warnings);
        add(&mut t, &t2);
        f = f2;
    }
    (t, f)
}

fn exit(t: &Totals) -> ExitCode {
    if t.rejected + t.conflicts + t.faults == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn add(t: &mut Totals, o: &Totals) {
    t.seen += o.seen;
    t.stored += o.stored;
    t.duplicates += o.duplicates;
    t.conflicts += o.conflicts;
    t.rejected += o.rejected;
    t.faults += o.faults;
    t.warninglisted += o.warninglisted;
    t.touches.extend(o.touches.iter().cloned());
    for (l, n) in &o.warninglisted_lists {
        *t.warninglisted_lists.entry(l.clone()).or_default() += n;
    }
}

/// Ingests `sources` into `store` from this process.
fn direct(
    writer: &dyn ObjectWrite,
    sources: &[Source],
    opts: &Options<'_>,
    progress: &dyn accord_app::Progress,
    warnings: bool,
) -> (Totals, Option<accord_app::ingest::IngestError>) {
    ingest(writer, sources, opts, progress, |s| {
        Box::new(Reporter::new(&s.name, s.bytes(), warnings))
    })
}

/// A task this command publishes and waits for (an ingest batch, a
/// match chunk).
pub(crate) trait Outgoing {
    /// Its task id.
    fn id(&self) -> &str;
    /// Its payload.
    fn payload(&self) -> &[u8];
    /// Its weight on the progress bar (bytes of input).
    fn weight(&self) -> u64;
}

impl Outgoing for Batch {
    fn id(&self) -> &str {
        &self.id
    }
    fn payload(&self) -> &[u8] {
        &self.payload
    }
    fn weight(&self) -> u64 {
        self.body().len() as u64
    }
}

/// The error that stopped a publish-and-wait, with how many `nouns`
/// after it were never published (so not `done`).
pub(crate) fn unsent_error(
    e: &impl std::fmt::Display,
    unsent: u64,
    nouns: &str,
    done: &str,
) -> anyhow::Error {
    if unsent > 0 {
        anyhow::anyhow!("{e}; {unsent} {nouns} after them were not published and not {done}")
    } else {
        anyhow::anyhow!("{e}")
    }
}

/// What waiting for the tasks gave.
pub(crate) struct Waited<T, R> {
    /// One result per task done.
    pub results: Vec<R>,
    /// Tasks published.
    pub published: usize,
    /// The tasks to do here, and why.
    pub here: Vec<T>,
    pub why_here: Vec<String>,
    /// Why the wait ended early.
    pub error: Option<String>,
    /// Whether the rest is to be left unpublished (a stall): otherwise the
    /// tasks left in the channel are done here.
    pub give_up: bool,
}

impl<T, R> Default for Waited<T, R> {
    fn default() -> Self {
        Waited {
            results: Vec::new(),
            published: 0,
            here: Vec::new(),
            why_here: Vec::new(),
            error: None,
            give_up: false,
        }
    }
}

/// At most this many tasks are published and not yet done.
pub(crate) const WINDOW: usize = 64;

/// How the command waits for its tasks: the queue's server, the kind, the
/// core NATS subject the results come on, what a task is called in
/// messages, and how long it waits without a result.
pub(crate) struct Wait<'a> {
    pub url: &'a str,
    pub kind: &'a str,
    pub subject: String,
    pub noun: &'a str,
    pub nouns: &'a str,
    pub stall: Duration,
}

/// Subscribes to the run's results, publishes the tasks `rx` yields (at
/// most [`WINDOW`] outstanding), and waits until each is done (or none is
/// done for `stall`). `on_msg` reads a message of the result subject and
/// says which task it completes (given whether an id is outstanding), if
/// any; a task is counted once, however many results name it. Returns
/// when `rx` is exhausted and nothing is outstanding, or when the queue
/// cannot be used (the tasks still in `rx` are then for the caller to
/// do), or on a stall.
pub(crate) async fn publish_and_wait<T: Outgoing, R>(
    w8: Wait<'_>,
    rx: &mut tokio::sync::mpsc::Receiver<T>,
    bar: &indicatif::ProgressBar,
    mut on_msg: impl FnMut(&[u8], &dyn Fn(&str) -> bool) -> Option<(String, R)>,
) -> Waited<T, R> {
    let Wait {
        url,
        kind,
        subject,
        noun,
        nouns,
        stall,
    } = w8;
    let mut w = Waited::default();
    let q = match tokio::time::timeout(
        Duration::from_secs(30),
        accord_work::WorkQueue::connect(url, &accord_work::Options::default()),
    )
    .await
    {
        Ok(Ok(q)) => q,
        Ok(Err(e)) => {
            w.why_here.push(format!("the work queue: {e}"));
            return w;
        }
        Err(_) => {
            w.why_here
                .push(format!("NATS at {url} did not answer within 30 s"));
            return w;
        }
    };
    let mut sub = match q.client().subscribe(subject.clone()).await {
        Ok(s) => s,
        Err(e) => {
            w.why_here.push(format!("subscribing to {subject}: {e}"));
            return w;
        }
    };
    // Make sure the subscription is in place before any result can come.
    if let Err(e) = q.client().flush().await {
        w.why_here.push(format!("subscribing to {subject}: {e}"));
        return w;
    }
    // Task id → its weight (for the bar).
    let mut outstanding: HashMap<String, u64> = HashMap::new();
    let mut dupes = 0;
    let mut more = true;
    let mut last = Instant::now();
    loop {
        if !more && outstanding.is_empty() {
            break;
        }
        let take = more && outstanding.len() < WINDOW;
        let left = stall.saturating_sub(last.elapsed());
        tokio::select! {
            biased;
            msg = sub.next() => {
                let Some(msg) = msg else {
                    w.error = Some(format!(
                        "the subscription to {subject} ended with {} {nouns} outstanding; they stay queued and will still be done",
                        outstanding.len()
                    ));
                    w.give_up = true;
                    break;
                };
                let known = |id: &str| outstanding.contains_key(id);
                let Some((id, r)) = on_msg(&msg.payload, &known) else {
                    continue;
                };
                if let Some(n) = outstanding.remove(id.as_str()) {
                    bar.inc(n);
                    w.results.push(r);
                    last = Instant::now();
                }
            }
            b = rx.recv(), if take => {
                let Some(b) = b else {
                    more = false;
                    continue;
                };
                match q.publish(kind, b.id(), b.payload()).await {
                    Ok(p) if p.duplicate => {
                        // Already queued (or done) within the dedupe
                        // window: this run would hear no result for it.
                        dupes += 1;
                        w.here.push(b);
                    }
                    Ok(_) => {
                        w.published += 1;
                        if outstanding.is_empty() {
                            last = Instant::now();
                        }
                        outstanding.insert(b.id().to_owned(), b.weight());
                    }
                    Err(e) => {
                        // The rest is done here (after the outstanding
                        // ones are done).
                        w.why_here.push(format!("publishing failed: {e}"));
                        w.here.push(b);
                        more = false;
                    }
                }
            }
            () = tokio::time::sleep(left), if !outstanding.is_empty() => {
                w.error = Some(format!(
                    "no {noun} was done for {} minute(s): {} of {} published {nouns} outstanding; they stay queued and will still be done by the cluster's processes (see `accord cluster status`)",
                    stall.as_secs() / 60,
                    outstanding.len(),
                    w.published
                ));
                w.give_up = true;
                break;
            }
        }
    }
    if dupes > 0 {
        w.why_here.push(format!(
            "{dupes} already on the queue (the same content published within its de-duplication window)"
        ));
    }
    w
}
