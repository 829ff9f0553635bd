//! A cluster process's periodic work on NATS JetStream ([`accord_work`]),
//! used instead of the PostgreSQL scheduler and hotline leases when
//! `[cluster]` names a `nats` server.
//!
//! - **Sync rounds.** Every process publishes, for each scheduled partner
//!   and every `interval_secs`, the task `sync:<partner>:<slot>` (kind
//!   [`SYNC`], payload: the partner's name; `slot = unix_secs /
//!   interval_secs`); the stream's de-duplication keeps one copy per slot.
//!   Every process runs [`sync_workers`] workers that take those tasks and
//!   run one round each ([`accord_app::scheduler::run_round`] on a blocking
//!   thread of its own, outside any runtime: the PostgreSQL client blocks), recording the outcome in
//!   the partner's health ([`accord_app::scheduler::record_round`]) so
//!   failures, pauses and the `sync-paused` alert work as in the
//!   scheduler. A paused partner's task is acknowledged without a round;
//!   a failed round is handed back (nak) and retried with a growing delay.
//!   At start a process publishes the current slot at once (the scheduler
//!   also runs a round at start); processes started within the dedupe
//!   window of each other collapse into one task.
//! - **Hotline deadlines.** A [`accord_work::Periodic`] of kind [`HOTLINE`]
//!   every `tick_every`; its worker runs
//!   [`crate::hotline_tick::tick_once`] on a thread of its own. A deadline
//!   escalates once however often it is ticked (escalations are recorded
//!   in the store), and one process takes each slot.
//!
//! - **Ingest batches.** `accord ingest --config` publishes its input as
//!   tasks of kind [`INGEST`] ([`crate::ingest_work`]); every process runs
//!   [`INGEST_WORKERS`] workers that store a batch (the same checks and
//!   seam as a local ingest, on a thread of its own), publish its
//!   [`crate::ingest_work::BatchResult`] on the run's core NATS subject,
//!   then acknowledge. A store failure hands the batch back (retried); a
//!   payload whose header cannot be read is dropped (acknowledged, logged
//!   at `error`): retrying would fail alike. A batch stored again after
//!   its process died yields duplicates only; its objects' protected-
//!   facility touches are escalated whether new or duplicate (keyed by the
//!   object, so the redo escalates what the dead process did not, once).
//!
//! - **Matching jobs.** `accord match --config` publishes its logs as
//!   chunks of kind [`MATCH`] ([`crate::match_work`]); every process runs
//!   [`MATCH_WORKERS`] workers sharing one index per set of collections
//!   over the store (built once, brought up to date with what was stored
//!   since), which match a chunk, publish its per-indicator hit
//!   aggregates and protected-facility touches on the run's subject, then
//!   acknowledge. A payload that cannot be read is dropped (logged at
//!   `error`); the command counts a redone chunk once.
//!
//! All are at least once: a process that dies mid-task leaves its task
//! to be redelivered to another process after the queue's `ack_wait`, and
//! the redone round (cursors in the database) or tick (escalations in the
//! database) changes nothing that was already done.

use accord_app::config::Config;
use accord_app::partner::Partner;
use accord_app::scheduler::{Federation, SchedulerOptions, record_round, run_round};
use accord_stix::Clock;
use accord_store::Backend;
use accord_work::{Options, Task, WorkQueue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// The kind of the partners' sync round tasks.
pub const SYNC: &str = "sync";
/// The kind of the hotline deadline ticks.
pub const HOTLINE: &str = "hotline";
/// The kind of the ingest batches.
pub use crate::ingest_work::INGEST;
/// The kind of the matching jobs' chunks.
pub use crate::match_work::MATCH;
/// The kinds this node puts on NATS (for `accord cluster status`).
pub const KINDS: [&str; 4] = [SYNC, HOTLINE, INGEST, MATCH];
/// The ingest workers per process.
pub const INGEST_WORKERS: usize = 2;
/// The match workers per process (they share one index per set of
/// collections).
pub const MATCH_WORKERS: usize = 2;

/// How long an idle round's success goes unwritten in the partner's health
/// (as the scheduler: an idle round changes nothing but the time).
const IDLE_WRITE_EVERY: Duration = Duration::from_secs(600);

/// The sync workers per process: one per scheduled partner, at most 4 (a
/// hung round holds its worker; the others go on).
pub fn sync_workers(partners: usize) -> usize {
    partners.clamp(1, 4)
}

/// The task id of `partner`'s round in `slot`.
pub fn sync_task_id(partner: &str, slot: u64) -> String {
    format!("{SYNC}:{partner}:{slot}")
}

/// The slot of `t` for a partner synced every `every_secs` seconds.
pub fn sync_slot(t: SystemTime, every_secs: u64) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / every_secs.max(1)
}

/// What the work needs from the node.
pub struct WorkContext {
    /// The configuration.
    pub config: Config,
    /// The partners' rounds' seam.
    pub federation: Arc<Federation>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// How often the hotline ticks.
    pub tick_every: Duration,
    /// This process's name (in the log lines).
    pub process: String,
}

/// The running work thread; [`NatsWork::stop`] ends it.
#[derive(Debug)]
pub struct NatsWork {
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

/// What the handlers share.
struct Shared {
    ctx: WorkContext,
    max_failures: u32,
    /// When each partner's health was last written after a success.
    written: Mutex<HashMap<String, Instant>>,
}

impl NatsWork {
    /// Starts a thread that connects to `url` (retrying until it can),
    /// publishes the sync slots and hotline ticks, and runs their workers,
    /// each worker on a store handle of its own.
    ///
    /// # Errors
    /// [`crate::NodeError::Store`] when a store handle cannot be opened,
    /// [`crate::NodeError::Io`] when the thread cannot start.
    pub fn start(
        ctx: WorkContext,
        store: &dyn Backend,
        url: &str,
        opts: Options,
    ) -> Result<NatsWork, crate::NodeError> {
        let partners = ctx.federation.scheduled();
        let mut sync_stores = Vec::new();
        for _ in 0..sync_workers(partners.len()) {
            sync_stores.push(Arc::new(Mutex::new(store.new_handle()?)));
        }
        let hotline_store = Arc::new(Mutex::new(store.new_handle()?));
        let mut ingest_stores = Vec::new();
        for _ in 0..INGEST_WORKERS {
            ingest_stores.push(Arc::new(Mutex::new(store.new_handle()?)));
        }
        let mut match_stores = Vec::new();
        for _ in 0..MATCH_WORKERS {
            match_stores.push(Arc::new(Mutex::new(store.new_handle()?)));
        }
        let (stop, stopped) = watch::channel(false);
        let url = url.to_owned();
        let shared = Arc::new(Shared {
            ctx,
            max_failures: SchedulerOptions::default().max_failures,
            written: Mutex::new(HashMap::new()),
        });
        let thread = std::thread::Builder::new()
            .name("nats-work".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!("the NATS work thread has no runtime: {e}");
                        return;
                    }
                };
                rt.block_on(run(
                    shared,
                    partners,
                    Stores {
                        sync: sync_stores,
                        hotline: hotline_store,
                        ingest: ingest_stores,
                        matching: match_stores,
                    },
                    url,
                    opts,
                    stopped,
                ));
            })
            .map_err(|source| crate::NodeError::Io {
                addr: "the NATS work thread".into(),
                source,
            })?;
        Ok(NatsWork { stop, thread })
    }

    /// Stops publishing and taking tasks (a round in hand is abandoned and
    /// handed back) and waits for the thread.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        if self.thread.join().is_err() {
            tracing::error!("the NATS work thread panicked");
        }
    }
}

/// Completes once `stop` says true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

type Store = Arc<Mutex<Box<dyn Backend>>>;

/// The workers' store handles, one per worker.
struct Stores {
    sync: Vec<Store>,
    hotline: Store,
    ingest: Vec<Store>,
    matching: Vec<Store>,
}

async fn run(
    shared: Arc<Shared>,
    partners: Vec<Partner>,
    stores: Stores,
    url: String,
    opts: Options,
    stop: watch::Receiver<bool>,
) {
    let Stores {
        sync: sync_stores,
        hotline: hotline_store,
        ingest: ingest_stores,
        matching: match_stores,
    } = stores;
    let process = shared.ctx.process.clone();
    // Connect, retrying: NATS may come up after the node.
    let mut pause = Duration::from_millis(200);
    let queue = loop {
        let attempt = tokio::select! {
            biased;
            () = stopped(stop.clone()) => return,
            q = WorkQueue::connect(&url, &opts) => q,
        };
        match attempt {
            Ok(q) => break q,
            Err(e) => {
                tracing::error!(process, "work queue: {e}; retrying in {pause:?}");
                tokio::select! {
                    biased;
                    () = stopped(stop.clone()) => return,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    };
    tracing::info!(
        process,
        server = %url,
        partners = ?partners.iter().map(Partner::name).collect::<Vec<_>>(),
        "work queue connected: sync rounds, hotline deadlines and ingest batches run on NATS"
    );
    let mut tasks = tokio::task::JoinSet::new();
    // The sync slots, one publisher per partner.
    for p in &partners {
        let (q, name, every) = (
            queue.clone(),
            p.name().to_owned(),
            p.config().sync.interval_secs,
        );
        let process = process.clone();
        tasks.spawn(publish_rounds(q, name, every, process, stop.clone()));
    }
    // The sync workers.
    if !partners.is_empty() {
        for store in sync_stores {
            let worker = match queue.worker(SYNC) {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(process, "{e}");
                    break;
                }
            };
            let (shared, stop2) = (Arc::clone(&shared), stop.clone());
            let s = stop.clone();
            tasks.spawn(async move {
                worker
                    .run(
                        |task: Task| {
                            let (shared, store, stop) =
                                (Arc::clone(&shared), Arc::clone(&store), stop2.clone());
                            async move { sync_task(shared, store, task, stop).await }
                        },
                        stopped(s),
                    )
                    .await;
            });
        }
    }
    // The hotline ticks and their worker.
    match (
        queue.periodic(HOTLINE, shared.ctx.tick_every),
        queue.worker(HOTLINE),
    ) {
        (Ok(ticker), Ok(worker)) => {
            let s = stop.clone();
            tasks.spawn(async move { ticker.run(|_| Vec::new(), stopped(s)).await });
            let s = stop.clone();
            let shared = Arc::clone(&shared);
            tasks.spawn(async move {
                worker
                    .run(
                        |task: Task| {
                            let (shared, store) = (Arc::clone(&shared), Arc::clone(&hotline_store));
                            async move { hotline_task(shared, store, task).await }
                        },
                        stopped(s),
                    )
                    .await;
            });
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(process, "the hotline deadlines cannot run on NATS: {e}");
        }
    }
    // The ingest workers.
    for store in ingest_stores {
        let worker = match queue.worker(INGEST) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(process, "ingest batches cannot run on NATS: {e}");
                break;
            }
        };
        let (shared, q, s) = (Arc::clone(&shared), queue.clone(), stop.clone());
        tasks.spawn(async move {
            worker
                .run(
                    |task: Task| {
                        let (shared, store, q) =
                            (Arc::clone(&shared), Arc::clone(&store), q.clone());
                        async move { ingest_task(shared, store, q, task).await }
                    },
                    stopped(s),
                )
                .await;
        });
    }
    // The match workers, sharing this process's indexes.
    let cache = Arc::new(crate::match_work::IndexCache::default());
    for store in match_stores {
        let worker = match queue.worker(MATCH) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(process, "matching jobs cannot run on NATS: {e}");
                break;
            }
        };
        let (shared, q, s, cache) = (
            Arc::clone(&shared),
            queue.clone(),
            stop.clone(),
            Arc::clone(&cache),
        );
        tasks.spawn(async move {
            worker
                .run(
                    |task: Task| {
                        let (shared, store, q, cache) = (
                            Arc::clone(&shared),
                            Arc::clone(&store),
                            q.clone(),
                            Arc::clone(&cache),
                        );
                        async move { match_task(shared, store, cache, q, task).await }
                    },
                    stopped(s),
                )
                .await;
        });
    }
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            tracing::error!(process, "a NATS work task ended abnormally: {e}");
        }
    }
}

/// Publishes `partner`'s slot every `every_secs` until `stop`: the current
/// slot at once, then each slot at its start. A failed publish is retried
/// until half the dedupe window (or the slot) has passed, then the slot is
/// skipped (logged): the next slot's round catches up.
async fn publish_rounds(
    q: WorkQueue,
    partner: String,
    every_secs: u64,
    process: String,
    stop: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(every_secs.max(1));
    let safe = (q.options().dedupe_window / 2).min(every);
    let payload = partner.clone().into_bytes();
    let mut slot = sync_slot(SystemTime::now(), every_secs);
    loop {
        let id = sync_task_id(&partner, slot);
        let begun = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            match q.publish(SYNC, &id, &payload).await {
                Ok(p) => {
                    tracing::debug!(
                        process,
                        task = id,
                        duplicate = p.duplicate,
                        "sync slot published"
                    );
                    break;
                }
                Err(e) if matches!(e, accord_work::WorkError::InvalidName { .. }) => {
                    tracing::error!(process, partner, "its rounds cannot be queued: {e}");
                    return;
                }
                Err(e) if begun.elapsed() + pause >= safe => {
                    tracing::error!(process, task = id, "sync slot skipped: {e}");
                    break;
                }
                Err(e) => {
                    tracing::warn!(
                        process,
                        task = id,
                        "publishing a sync slot failed, retrying: {e}"
                    );
                    tokio::select! {
                        biased;
                        () = stopped(stop.clone()) => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
        slot = slot.max(sync_slot(SystemTime::now(), every_secs)) + 1;
        let start = UNIX_EPOCH + Duration::from_secs(slot.saturating_mul(every.as_secs()));
        let wait = start.duration_since(SystemTime::now()).unwrap_or_default();
        tokio::select! {
            biased;
            () = stopped(stop.clone()) => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// One `sync` task: the round of the partner named by its payload.
async fn sync_task(
    shared: Arc<Shared>,
    store: Store,
    task: Task,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let name = std::str::from_utf8(&task.payload)
        .map_err(|_| format!("task {}: the partner's name is not UTF-8", task.id))?
        .to_owned();
    let Some(partner) = shared
        .ctx
        .federation
        .scheduled()
        .into_iter()
        .find(|p| p.name() == name)
    else {
        // Another process's configuration names a partner this one does
        // not sync: acknowledged, not retried (it would fail each time).
        tracing::warn!(
            process = shared.ctx.process,
            task = task.id,
            partner = name,
            "sync task for a partner this process does not schedule; dropped"
        );
        return Ok(());
    };
    on_thread("sync-round", move || {
        sync_round(&shared, &store, &partner, &task, stop)
    })
    .await?
}

/// Runs `f` on a thread of its own (outside any async runtime: a round
/// starts its own, and the PostgreSQL client blocks) and awaits its result.
async fn on_thread<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            });
            let _ = tx.send(r);
        })
        .map_err(|e| format!("starting a {name} thread: {e}"))?;
    match rx.await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(why)) => Err(format!("the {name} thread panicked: {why}")),
        Err(_) => Err(format!("the {name} thread ended without an answer")),
    }
}

/// A round on this (blocking) thread, with its own runtime.
fn sync_round(
    shared: &Shared,
    store: &Mutex<Box<dyn Backend>>,
    partner: &Partner,
    task: &Task,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let store = store.lock().unwrap_or_else(PoisonError::into_inner);
    let store: &dyn Backend = &**store;
    let name = partner.name();
    let process = shared.ctx.process.as_str();
    match store.partner_health(name) {
        Ok(Some(h)) if h.paused => {
            tracing::info!(
                process,
                task = task.id,
                "sync round skipped: {name} is paused (accord sync --partner {name} --resume)"
            );
            return Ok(());
        }
        Ok(_) => {}
        Err(e) => return Err(format!("reading {name}'s sync health: {e}")),
    }
    // The round's HTTP needs a runtime, and the PostgreSQL client (which
    // blocks on a runtime of its own) must not be called from inside one:
    // so the round is polled here, on this plain thread, with the
    // runtime's handle entered (its worker drives the timers and sockets)
    // but not the runtime itself.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sync-round-io")
        .enable_all()
        .build()
        .map_err(|e| format!("a runtime for {name}'s round: {e}"))?;
    let _entered = rt.enter();
    tracing::info!(
        process,
        task = task.id,
        attempt = task.attempt,
        "work: sync round started"
    );
    let outcome = accord_app::scheduler::drive(async {
        tokio::select! {
            r = run_round(&shared.ctx.federation, store, partner) => Some(r),
            _ = stop.wait_for(|s| *s) => None,
        }
    });
    let Some(outcome) = outcome else {
        return Err(format!(
            "the round with {name} was cut short by shutdown; handed back"
        ));
    };
    let moved = outcome
        .as_ref()
        .is_ok_and(accord_app::scheduler::RoundReport::moved_anything);
    let write = moved
        || shared
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .is_none_or(|t| t.elapsed() > IDLE_WRITE_EVERY);
    match record_round(
        store,
        name,
        &outcome,
        shared.max_failures,
        &shared.ctx.clock.now_rfc3339(),
        write,
    ) {
        Ok(h) if h.failures == 0 && write => {
            shared
                .written
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.to_owned(), Instant::now());
        }
        Ok(_) => {}
        Err(e) => tracing::error!(process, partner = name, "saving its sync health: {e}"),
    }
    match outcome {
        Ok(r) => {
            if moved {
                tracing::info!(process, "{}", r.summary());
            }
            tracing::info!(
                process,
                task = task.id,
                attempt = task.attempt,
                "work: sync round done"
            );
            Ok(())
        }
        Err(e) => Err(format!("the round with {name}: {e}")),
    }
}

/// One `hotline` task: every deadline due by now.
async fn hotline_task(shared: Arc<Shared>, store: Store, task: Task) -> Result<(), String> {
    on_thread("hotline-tick", move || {
        let store = store.lock().unwrap_or_else(PoisonError::into_inner);
        let n = crate::hotline_tick::tick_once(&shared.ctx.config, &**store, &*shared.ctx.clock);
        tracing::info!(
            process = shared.ctx.process,
            task = task.id,
            attempt = task.attempt,
            escalations = n,
            "work: hotline tick done"
        );
    })
    .await
}

/// Publishes each of `items` as JSON on core NATS subject `subject` and
/// flushes, so they have left this process before its task is
/// acknowledged; `what` names them in errors.
async fn publish_all<T: serde::Serialize>(
    q: &WorkQueue,
    subject: &str,
    items: &[T],
    what: &str,
) -> Result<(), String> {
    for item in items {
        let body = serde_json::to_vec(item).map_err(|e| format!("encoding {what}: {e}"))?;
        q.client()
            .publish(subject.to_owned(), body.into())
            .await
            .map_err(|e| format!("publishing {what} on {subject}: {e}"))?;
    }
    q.client()
        .flush()
        .await
        .map_err(|e| format!("publishing {what} on {subject}: {e}"))
}

/// One `ingest` task: store the batch, publish its result, then (by
/// returning `Ok`) acknowledge it.
async fn ingest_task(
    shared: Arc<Shared>,
    store: Store,
    q: WorkQueue,
    task: Task,
) -> Result<(), String> {
    let process = shared.ctx.process.clone();
    let run = match crate::ingest_work::parse(&task.payload) {
        Ok((h, _)) => h.run,
        Err(e) => {
            // Retrying would fail alike: dropped, said loudly.
            tracing::error!(
                process,
                task = task.id,
                attempt = task.attempt,
                "work: ingest batch dropped: {e}"
            );
            return Ok(());
        }
    };
    let (id, attempt) = (task.id.clone(), task.attempt);
    let result = on_thread("ingest-batch", move || ingest_batch(&shared, &store, &task)).await??;
    // The result is published before the task is acknowledged: if it is
    // lost, the redone batch's (duplicates) is.
    let subject = crate::ingest_work::done_subject(&run);
    publish_all(
        &q,
        &subject,
        std::slice::from_ref(&result),
        &format!("the result of batch {id}"),
    )
    .await?;
    tracing::info!(
        process,
        task = id,
        attempt,
        stored = result.stored,
        duplicates = result.duplicates,
        rejected = result.rejected,
        "work: ingest batch done"
    );
    Ok(())
}

/// Stores one batch on this (blocking) thread: the checks and seam of a
/// local ingest, the node's warninglists and protected facilities.
fn ingest_batch(
    shared: &Shared,
    store: &Mutex<Box<dyn Backend>>,
    task: &Task,
) -> Result<crate::ingest_work::BatchResult, String> {
    use accord_app::ingest::{IngestReport, Options, ingest};
    use accord_app::input::{Format, Source};
    let (h, body) = crate::ingest_work::parse(&task.payload).map_err(|e| e.to_string())?;
    let records = crate::ingest_work::records(h.v, body).map_err(|e| e.to_string())?;
    let store = store.lock().unwrap_or_else(PoisonError::into_inner);
    let store: &dyn Backend = &**store;
    let config = &shared.ctx.config;
    let process = shared.ctx.process.as_str();
    let facilities = match accord_app::facility::FacilityWatch::new().registry(store) {
        Ok(r) => Some(r).filter(|r| !r.is_empty()),
        Err(e) => return Err(format!("reading the protected facilities: {e}")),
    };
    let warninglists = match accord_app::warninglists::load(&config.data_dir) {
        Ok(l) => l.map(|l| l.set),
        Err(e) => {
            tracing::warn!(process, "ingest batch: warninglists not checked: {e}");
            None
        }
    };
    // JSON lines are read as lines; a framed batch's objects (each may
    // span several lines) one by one, each its own source.
    let framed = h.v == crate::ingest_work::FORMAT_FRAMED;
    let opts = Options {
        collection: &h.collection,
        origin: &h.origin,
        format: if framed {
            Format::Bundle
        } else {
            Format::Jsonl
        },
        max_object_bytes: accord_work::Options::default().max_payload,
        batch: 8192,
        exchange: accord_app::exchange::Exchange::default().with_limits(config.limits.input()),
        facilities,
        warninglists,
    };
    let sources: Vec<Source> = if framed {
        records
            .iter()
            .enumerate()
            .map(|(i, r)| Source::from_bytes(format!("{} object {i}", task.id), r.to_vec()))
            .collect()
    } else {
        vec![Source::from_bytes(task.id.clone(), body.to_vec())]
    };
    let result = std::rc::Rc::new(std::cell::RefCell::new(crate::ingest_work::BatchResult {
        batch: task.id.clone(),
        process: process.to_owned(),
        attempt: task.attempt,
        ..Default::default()
    }));
    let (t, failure) = ingest(store.writer(), &sources, &opts, &(), |_| {
        Box::new(crate::ingest_work::Reasons {
            result: std::rc::Rc::clone(&result),
        }) as Box<dyn IngestReport>
    });
    if let Some(e) = failure {
        // Rolled back past what was committed; the redo stores the rest
        // and counts the committed ones as duplicates.
        return Err(e.to_string());
    }
    // The touches of every object of the batch now in the store, new or
    // duplicate: a batch redone after its process stored it and died
    // before escalating sees duplicates only, and must escalate anyway.
    // An escalation is keyed by the object (evidence already attached to
    // the facility's case adds nothing), so a second run adds nothing.
    let touches = match &opts.facilities {
        Some(reg) => {
            crate::ingest_work::stored_touches(reg, store, &h.collection, &records, &task.id)
                .map_err(|e| format!("reading the batch's objects back: {e}"))?
        }
        None => Vec::new(),
    };
    if !touches.is_empty() {
        accord_app::facility::escalate(config, store, &touches, shared.ctx.clock.now_timestamp())
            .map_err(|e| e.to_string())?;
    }
    let mut r = result.borrow().clone();
    r.seen = t.seen;
    r.stored = t.stored;
    r.duplicates = t.duplicates;
    r.conflicts = t.conflicts;
    r.rejected = t.rejected;
    r.faults = t.faults;
    r.warninglisted = t.warninglisted;
    r.touches = touches.len() as u64;
    Ok(r)
}

/// One `match` task: match the chunk, publish its report's parts, then
/// (by returning `Ok`) acknowledge it.
async fn match_task(
    shared: Arc<Shared>,
    store: Store,
    cache: Arc<crate::match_work::IndexCache>,
    q: WorkQueue,
    task: Task,
) -> Result<(), String> {
    use crate::match_work::{ChunkFailure, Matcher};
    let process = shared.ctx.process.clone();
    let (id, attempt) = (task.id.clone(), task.attempt);
    let run = match crate::match_work::parse(&task.payload) {
        Ok((h, ..)) => h.run,
        Err(e) => {
            tracing::error!(
                process,
                task = id,
                attempt,
                "work: match chunk dropped: {e}"
            );
            return Ok(());
        }
    };
    let outcome = on_thread("match-chunk", move || {
        let store = store.lock().unwrap_or_else(PoisonError::into_inner);
        Matcher {
            config: &shared.ctx.config,
            store: &**store,
            process: &shared.ctx.process,
            cache: &cache,
            clock: &*shared.ctx.clock,
        }
        .run(&task.id, task.attempt, &task.payload)
    })
    .await?;
    let parts = match outcome {
        Ok(p) => p,
        Err(ChunkFailure::Drop(e)) => {
            tracing::error!(
                process,
                task = id,
                attempt,
                "work: match chunk dropped: {e}"
            );
            return Ok(());
        }
        Err(ChunkFailure::Retry(e)) => return Err(format!("match chunk {id}: {e}")),
    };
    let subject = crate::match_work::done_subject(&run);
    let (hits, lines) = (parts[0].hits, parts[0].lines);
    // The report is published before the task is acknowledged: if it is
    // lost, the redone chunk's is (the command counts a chunk once).
    publish_all(&q, &subject, &parts, &format!("the report of {id}")).await?;
    tracing::info!(
        process,
        task = id,
        attempt,
        lines,
        hits,
        parts = parts.len(),
        "work: match chunk done"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_ids() {
        let t = UNIX_EPOCH + Duration::from_secs(1_000_005);
        assert_eq!(sync_slot(t, 10), 100_000);
        assert_eq!(sync_slot(t, 0), 1_000_005, "0 is taken as 1 s");
        assert_eq!(sync_task_id("far", 7), "sync:far:7");
        assert_eq!(sync_workers(0), 1);
        assert_eq!(sync_workers(3), 3);
        assert_eq!(sync_workers(40), 4);
    }
}
