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
use accord_node::ingest_work::{Batch, BatchResult, Batcher, INGEST, MAX_HEADER, done_subject};
use accord_stix::Clock;
use accord_store::Backend;
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
    let direct_opts = Options {
        collection: &args.collection,
        origin: &args.origin,
        format: args.format.into(),
        max_object_bytes: args.max_object_bytes,
        batch: args.batch,
        exchange: local_exchange(Some(config)),
        facilities: facilities_of(&store),
        warninglists: warninglists_of(&config.data_dir)?,
    };
    let Some(url) = &cluster.nats else {
        // No queue: this command stores everything itself.
        let total_bytes: u64 = sources.iter().map(|s| s.bytes().len() as u64).sum();
        let bar = crate::Bar(crate::progress_bar(
            total_bytes,
            "ingesting",
            !args.no_progress,
        ));
        let (t, failure) = direct(&store, &sources, &direct_opts, &bar, args.warnings);
        eprintln!("{}", t.summary(&args.collection, &place, start.elapsed()));
        escalate_touches(Some(config), &store, &t.touches, clock)?;
        if let Some(e) = failure {
            return Err(crate::flat(e));
        }
        return Ok(exit(&t));
    };

    // Split: the objects that fit go to batches, the others are stored here.
    let run_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let max_lines = args
        .batch_bytes
        .min(accord_work::Options::default().max_payload - MAX_HEADER);
    let mut batcher =
        Batcher::new(&run_id, &args.collection, &args.origin, max_lines).map_err(crate::flat)?;
    let mut here: Vec<Source> = Vec::new();
    let mut totals = Totals::default();
    for source in &sources {
        let mut rep = Reporter::new(&source.name, source.bytes(), args.warnings);
        let rep: &mut dyn accord_app::ingest::IngestReport = &mut rep;
        scan(
            source.bytes(),
            args.format.into(),
            args.max_object_bytes,
            |item| match item {
                Item::Object { offset, text, .. } | Item::Line { offset, text, .. } => {
                    if !batcher.push(text) {
                        here.push(Source::from_bytes(
                            format!("{} (the object at byte {offset})", source.name),
                            text.as_bytes().to_vec(),
                        ));
                    }
                }
                Item::BundleIssues {
                    anchor,
                    offset,
                    text,
                    issues,
                } => rep.issues(anchor, offset, text, &issues),
                Item::Error {
                    anchor,
                    offset,
                    message,
                } => {
                    totals.faults += 1;
                    rep.fault(anchor, offset, &message);
                }
            },
            |_| {},
        );
    }
    let batches = batcher.finish();
    let here_opts = Options {
        format: Format::Bundle,
        ..direct_opts
    };
    if !here.is_empty() {
        eprintln!(
            "accord: {} object(s) larger than a batch ({max_lines} bytes) or spanning several lines: stored by this command directly",
            here.len()
        );
        let (t, failure) = direct(&store, &here, &here_opts, &(), args.warnings);
        add(&mut totals, &t);
        escalate_touches(Some(config), &store, &t.touches, clock)?;
        if let Some(e) = failure {
            eprintln!(
                "{}",
                totals.summary(&args.collection, &place, start.elapsed())
            );
            return Err(crate::flat(e));
        }
    }

    // Publish the batches and wait for their results.
    let total_bytes: u64 = batches.iter().map(|b| b.payload.len() as u64).sum();
    let bar = crate::progress_bar(total_bytes, "ingesting", !args.no_progress);
    let stall = Duration::from_secs(args.stall_minutes.max(1) * 60);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime for NATS")?;
    let waited = rt.block_on(publish_and_wait(url, &run_id, &batches, &bar, stall));
    drop(rt);
    bar.finish_and_clear();
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
    let mut failure = None;
    if !waited.here.is_empty() {
        eprintln!(
            "accord: {} batch(es) stored by this command directly: {}",
            waited.here.len(),
            waited.why_here.join("; ")
        );
        let srcs: Vec<Source> = waited
            .here
            .iter()
            .map(|&i| Source::from_bytes(batches[i].id.clone(), batches[i].lines().to_vec()))
            .collect();
        let jsonl = Options {
            format: Format::Jsonl,
            ..here_opts
        };
        let (t, f) = direct(&store, &srcs, &jsonl, &(), args.warnings);
        add(&mut totals, &t);
        escalate_touches(Some(config), &store, &t.touches, clock)?;
        failure = f;
    }
    eprintln!(
        "{}",
        totals.summary(&args.collection, &place, start.elapsed())
    );
    eprintln!(
        "accord: {} of {} batch(es) stored by the cluster's processes ({}){}",
        waited.results.len(),
        batches.len(),
        by_process
            .iter()
            .map(|(p, n)| format!("{p}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        if redelivered > 0 {
            format!("; {redelivered} redelivered after a process failed them")
        } else {
            String::new()
        }
    );
    if let Some(e) = waited.error {
        return Err(anyhow::anyhow!(e));
    }
    if let Some(e) = failure {
        return Err(crate::flat(e));
    }
    Ok(exit(&totals))
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
    for (l, n) in &o.warninglisted_lists {
        *t.warninglisted_lists.entry(l.clone()).or_default() += n;
    }
}

/// Ingests `sources` into `store` from this process.
fn direct(
    store: &dyn Backend,
    sources: &[Source],
    opts: &Options<'_>,
    progress: &dyn accord_app::Progress,
    warnings: bool,
) -> (Totals, Option<accord_app::ingest::IngestError>) {
    ingest(store.writer(), sources, opts, progress, |s| {
        Box::new(Reporter::new(&s.name, s.bytes(), warnings))
    })
}

/// What waiting for the batches gave.
#[derive(Default)]
struct Waited {
    /// One result per batch done.
    results: Vec<BatchResult>,
    /// The batches to store here (indexes), and why.
    here: Vec<usize>,
    why_here: Vec<String>,
    /// Why the wait ended early.
    error: Option<String>,
}

/// Subscribes to the run's results, publishes the batches, and waits
/// until each is done (or none is done for `stall`).
async fn publish_and_wait(
    url: &str,
    run: &str,
    batches: &[Batch],
    bar: &indicatif::ProgressBar,
    stall: Duration,
) -> Waited {
    let mut w = Waited::default();
    if batches.is_empty() {
        return w;
    }
    let q = match tokio::time::timeout(
        Duration::from_secs(30),
        accord_work::WorkQueue::connect(url, &accord_work::Options::default()),
    )
    .await
    {
        Ok(Ok(q)) => q,
        Ok(Err(e)) => {
            w.here = (0..batches.len()).collect();
            w.why_here.push(format!("the work queue: {e}"));
            return w;
        }
        Err(_) => {
            w.here = (0..batches.len()).collect();
            w.why_here
                .push(format!("NATS at {url} did not answer within 30 s"));
            return w;
        }
    };
    let subject = done_subject(run);
    let mut sub = match q.client().subscribe(subject.clone()).await {
        Ok(s) => s,
        Err(e) => {
            w.here = (0..batches.len()).collect();
            w.why_here.push(format!("subscribing to {subject}: {e}"));
            return w;
        }
    };
    // Make sure the subscription is in place before any result can come.
    if let Err(e) = q.client().flush().await {
        w.here = (0..batches.len()).collect();
        w.why_here.push(format!("subscribing to {subject}: {e}"));
        return w;
    }
    let mut outstanding: HashMap<&str, usize> = HashMap::new();
    let (mut dupes, mut failed) = (0, 0);
    for (i, b) in batches.iter().enumerate() {
        match q.publish(INGEST, &b.id, &b.payload).await {
            Ok(p) if p.duplicate => {
                // Already queued (or done) within the dedupe window: this
                // run would hear no result for it.
                dupes += 1;
                w.here.push(i);
            }
            Ok(_) => {
                outstanding.insert(&b.id, i);
            }
            Err(e) => {
                failed += 1;
                if failed == 1 {
                    w.why_here.push(format!("publishing: {e}"));
                }
                w.here.push(i);
            }
        }
    }
    if dupes > 0 {
        w.why_here.push(format!(
            "{dupes} already on the queue (the same objects published within its de-duplication window)"
        ));
    }
    let total = outstanding.len();
    let mut last = Instant::now();
    while !outstanding.is_empty() {
        let left = stall.saturating_sub(last.elapsed());
        match tokio::time::timeout(left, sub.next()).await {
            Ok(Some(msg)) => {
                let r: BatchResult = match serde_json::from_slice(&msg.payload) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!("an unreadable result on {subject}: {e}");
                        continue;
                    }
                };
                if let Some(i) = outstanding.remove(r.batch.as_str()) {
                    bar.inc(batches[i].payload.len() as u64);
                    w.results.push(r);
                    last = Instant::now();
                }
            }
            Ok(None) => {
                w.error = Some(format!(
                    "the subscription to {subject} ended with {} of {total} batch(es) outstanding; they stay queued and will still be stored",
                    outstanding.len()
                ));
                break;
            }
            Err(_) => {
                w.error = Some(format!(
                    "no batch was done for {} minute(s): {} of {total} batch(es) outstanding; they stay queued and will still be stored by the cluster's processes (see `accord cluster status`)",
                    stall.as_secs() / 60,
                    outstanding.len()
                ));
                break;
            }
        }
    }
    w
}
