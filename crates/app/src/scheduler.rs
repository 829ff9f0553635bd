//! Continuous sync with every configured partner: the rounds `accord
//! serve` runs on a schedule and `accord sync --partner P --once` runs by
//! hand.
//!
//! A **round** with one partner ([`run_round`]) first witnesses its log
//! when its `verifier_key` is set ([`ledger::witness_partner`]: a
//! checkpoint not signed by that key, or one that goes back on what was
//! witnessed, fails the round before anything moves), then pulls every
//! collection of its `[partners.sync] pull` (TAXII `added_after` cursors
//! and `next` paging, [`crate::pull::sync_collection`], each object
//! through the exchange seam as `Counterparty::Partner(name)`, stored in
//! its [`PartnerConfig::received_collection`] with origin `partner:NAME`),
//! then pushes this node's new releasable objects to its `push`
//! collection ([`crate::push`], through the store's push journal). Every
//! cursor moves only after what it covers is durable, so a round cut
//! anywhere (a crash, a kill, a dropped connection, a shutdown) is resumed
//! by the next one, which loses nothing, stores nothing twice and records
//! no `out` record twice. The checkpoint cosigned is the one the partner
//! served at the round's start; the next round cosigns what this one
//! added.
//!
//! The **scheduler** ([`Scheduler::start`]) gives each partner with a
//! non-zero `interval_secs` its own thread (with its own store handle and
//! a small async runtime), so a slow or broken partner never delays
//! another. After a round that failed for a reason that may pass (a
//! connection refused, a timeout, HTTP 5xx) the next one comes after an
//! exponential backoff with jitter; after
//! [`SchedulerOptions::max_failures`] such failures in a row, or at once
//! after a failure that says the partner is broken or hostile (malformed
//! JSON, invalid STIX or objects its agreement does not allow, an
//! over-cap answer, a redirect elsewhere, a TLS failure, a log whose key
//! changed or whose checkpoint rolled back), the partner is **paused**:
//! an error is logged, an alert kept in the store (`accord ledger alerts`,
//! kind `sync-paused`), and no round runs until an operator resumes it
//! (`accord sync --partner P --resume`, or a successful `accord sync
//! --partner P --once`). The health of each partner ([`PartnerHealth`])
//! lives in the store.
//!
//! An idle partner costs, per interval: one read of its health, and per
//! pulled collection one cursor read and one small GET answered with an
//! empty page; per pushed collection one journal read, one cursor read
//! and one empty local query. Its log is witnessed (one checkpoint GET,
//! and a consistency proof when it grew) in the first round, in the round
//! after one that moved anything, and otherwise once every
//! `witness_interval_secs` (300 by default), so an idle partner costs one
//! small request per interval.

use crate::config::{Config, PartnerConfig};
use crate::exchange::Exchange;
use crate::ledger::{self, LedgerKeys, WitnessReport};
use crate::partner::{CredentialChoice, Partner, credentials};
use crate::pull::{SyncError, SyncOptions, SyncReport, sync_collection};
use crate::push::{
    DEFAULT_PUSH_BATCH, PushError, PushReport, PushTarget, partner_origin, push, pushed_collections,
};
use crate::sync::cursor_key;
use accord_client::{ClientError, ClientOptions, TaxiiClient};
use accord_stix::Clock;
use accord_store::{Backend, PartnerHealth, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The kind of the alert raised when a partner is paused.
pub const PAUSED_ALERT: &str = "sync-paused";

/// How the scheduler retries and what a round may cost.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Failures in a row (of the kind that may pass) after which the
    /// partner is paused.
    pub max_failures: u32,
    /// The wait after the first failure; it doubles with each next one.
    pub backoff_base: Duration,
    /// The longest wait between two rounds after failures.
    pub backoff_max: Duration,
    /// The HTTP client's timeouts and caps.
    pub client: ClientOptions,
    /// Objects per GET when pulling.
    pub page: usize,
    /// Objects per POST when pushing.
    pub push_batch: usize,
}

impl Default for SchedulerOptions {
    fn default() -> SchedulerOptions {
        SchedulerOptions {
            max_failures: 8,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(15 * 60),
            client: ClientOptions::default(),
            page: 5000,
            push_batch: DEFAULT_PUSH_BATCH,
        }
    }
}

/// What a scheduler or a manual round works with: the node's
/// configuration, its exchange seam, its clock.
pub struct Federation {
    config: Config,
    exchange: Exchange,
    clock: Arc<dyn Clock>,
    opts: SchedulerOptions,
    keys: Option<LedgerKeys>,
    /// The protected facilities, read from the store once per round.
    facilities: crate::facility::FacilityWatch,
    /// The node's warninglists (looked at once per round): what is pulled
    /// is counted against them.
    warninglists: crate::warninglists::LiveLists,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("partners", &self.config.partners.len())
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl Federation {
    /// The federation of `config`'s partners, under `exchange`. The node's
    /// ledger keys (to cosign partners' checkpoints) are loaded when a
    /// partner's log is to be witnessed; when they cannot be, witnessing
    /// is skipped with an error logged.
    pub fn new(
        config: Config,
        exchange: Exchange,
        clock: Arc<dyn Clock>,
        opts: SchedulerOptions,
    ) -> Federation {
        let keys = if config.partners.iter().any(|p| !p.verifier_key.is_empty()) {
            match LedgerKeys::for_config(&config) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::error!("partners' logs will not be witnessed: {e}");
                    None
                }
            }
        } else {
            None
        };
        Federation {
            warninglists: crate::warninglists::LiveLists::lazy(&config.data_dir),
            config,
            exchange,
            clock,
            opts,
            keys,
            facilities: crate::facility::FacilityWatch::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The partners the scheduler runs: those with a non-zero
    /// `interval_secs` and something to pull or push.
    pub fn scheduled(&self) -> Vec<Partner> {
        Partner::all(&self.config)
            .into_iter()
            .filter(|p| {
                let s = &p.config().sync;
                s.interval_secs > 0 && (!s.pull.is_empty() || s.push.is_some())
            })
            .collect()
    }
}

/// One pulled collection in a round.
#[derive(Debug, Clone)]
pub struct PullOutcome {
    /// The partner's collection URL.
    pub url: String,
    /// The local collection.
    pub into: String,
    /// What the pull did.
    pub report: SyncReport,
}

/// What a round with one partner did.
#[derive(Debug, Clone, Default)]
pub struct RoundReport {
    /// The partner.
    pub partner: String,
    /// Each pulled collection.
    pub pulls: Vec<PullOutcome>,
    /// The push, when one ran.
    pub push: Option<PushReport>,
    /// The witnessing, when it ran.
    pub witness: Option<WitnessReport>,
    /// The protected facilities touched by what was pulled, and the cases
    /// opened or noted (`crate::facility::escalate`).
    pub escalated: Vec<crate::facility::Escalated>,
}

impl RoundReport {
    /// Whether the round stored or sent anything.
    pub fn moved_anything(&self) -> bool {
        self.pulls.iter().any(|p| p.report.stored > 0)
            || self
                .push
                .as_ref()
                .is_some_and(|p| p.sent + p.redacted + p.withheld + p.resent > 0)
    }

    /// One line: what was pulled, pushed, withheld and rejected.
    pub fn summary(&self) -> String {
        let (mut fetched, mut stored, mut dup, mut rejected, mut conflicts) = (0, 0, 0, 0, 0);
        for p in &self.pulls {
            fetched += p.report.fetched;
            stored += p.report.stored;
            dup += p.report.duplicates;
            rejected += p.report.rejected.len();
            conflicts += p.report.conflicts.len();
        }
        let mut s = format!(
            "partner `{}`: pulled {fetched} from {} collection(s): {stored} stored, {dup} already there, {conflicts} conflicts, {rejected} rejected",
            self.partner,
            self.pulls.len()
        );
        let mut listed = crate::warninglists::Flagged::default();
        for p in &self.pulls {
            listed.merge(&p.report.warninglisted);
        }
        if let Some(w) = listed.describe() {
            s.push_str(&format!("; {w}"));
        }
        if let Some(p) = &self.push {
            s.push_str(&format!(
                "; pushed {} ({} redacted) in {} envelope(s): {} accepted, {} refused by the partner; {} withheld, {} not sent back to their source",
                p.sent + p.redacted,
                p.redacted,
                p.batches,
                p.accepted,
                p.refused.len(),
                p.withheld,
                p.echoes
            ));
            if p.resent > 0 {
                s.push_str(&format!(
                    "; {} sent again from the push journal (an interrupted round had released and recorded them)",
                    p.resent
                ));
            }
        }
        if let Some(w) = &self.witness {
            s.push_str(&format!(
                "; witnessed its log at size {}: {}",
                w.size, w.outcome
            ));
        }
        s
    }
}

/// Why a round stopped. What it did before is in `report` (and durable).
#[derive(Debug, thiserror::Error)]
#[error("sync with partner `{partner}`: {message}")]
pub struct RoundError {
    /// The partner.
    pub partner: String,
    /// What failed, naming the URL or the object.
    pub message: String,
    /// Whether the failure says the partner is broken or hostile (pause
    /// at once) rather than one that may pass (retry with backoff).
    pub fatal: bool,
    /// What the round did before.
    pub report: Box<RoundReport>,
}

fn client_failure(e: &ClientError) -> bool {
    !e.is_transient()
}

/// The first few rejected objects of a pull, for a message.
fn describe_rejected(url: &str, r: &SyncReport) -> String {
    let mut s = format!(
        "{} object(s) from {url} rejected (not stored)",
        r.rejected.len()
    );
    for rej in r.rejected.iter().take(3) {
        s.push_str(&format!(
            "; {} (page {}, object {}): {}",
            rej.id.as_deref().unwrap_or("<no id>"),
            rej.page,
            rej.index,
            rej.reason.replace('\n', "; ")
        ));
    }
    if r.rejected.len() > 3 {
        s.push_str("; …");
    }
    s
}

/// Runs one round with `partner` (see the module documentation) on
/// `store`. Store calls run on the calling thread.
///
/// # Errors
/// [`RoundError`], `fatal` when the partner should be paused at once.
pub async fn run_round(
    fed: &Federation,
    store: &dyn Backend,
    partner: &Partner,
) -> Result<RoundReport, RoundError> {
    run_round_with(fed, store, partner, &mut ClientSlot::default()).await
}

/// What one partner's rounds keep between them on one async runtime: the
/// HTTP client (a client's pooled connections belong to the runtime that
/// opened them; building one reads the system's root certificates, most
/// of an idle round's CPU), and when its log was last witnessed.
#[derive(Default)]
pub struct ClientSlot {
    client: Option<(accord_client::Auth, TaxiiClient)>,
    witnessed: Option<Instant>,
    /// Whether the last round moved anything.
    moved: bool,
}

impl ClientSlot {
    /// The client for `partner` with `auth`: the one kept when the
    /// credentials are the same, else a new one, kept.
    fn get(
        &mut self,
        partner: &Partner,
        auth: accord_client::Auth,
        opts: &ClientOptions,
    ) -> Result<TaxiiClient, ClientError> {
        if let Some((a, c)) = &self.client
            && *a == auth
        {
            return Ok(c.clone());
        }
        let c = TaxiiClient::with_options(partner.url(), auth.clone(), opts.clone())?;
        self.client = Some((auth, c.clone()));
        Ok(c)
    }

    /// Whether this round witnesses the partner's log: always the first
    /// round of a slot (so `accord sync --once` always does), a round
    /// after one that moved anything (so what it exchanged is cosigned),
    /// and an idle one once `every` has passed since the last witnessing.
    fn witness_due(&self, every: Duration) -> bool {
        self.moved || self.witnessed.is_none_or(|t| t.elapsed() >= every)
    }
}

/// [`run_round`], reusing the client kept in `slot` (all rounds given the
/// same slot must run on the same runtime).
///
/// # Errors
/// As [`run_round`].
pub async fn run_round_with(
    fed: &Federation,
    store: &dyn Backend,
    partner: &Partner,
    slot: &mut ClientSlot,
) -> Result<RoundReport, RoundError> {
    let name = partner.name();
    let mut report = RoundReport {
        partner: name.to_owned(),
        ..RoundReport::default()
    };
    macro_rules! fail {
        ($fatal:expr, $msg:expr) => {{
            // A failed round is witnessed again next time.
            slot.moved = true;
            return Err(RoundError {
                partner: name.to_owned(),
                message: $msg,
                fatal: $fatal,
                report: Box::new(report),
            });
        }};
    }
    let pc: &PartnerConfig = partner.config();
    let auth = match credentials(&CredentialChoice::Default, Some(partner)) {
        Ok(a) => a,
        Err(e) => fail!(true, e.to_string()),
    };
    let client = match slot.get(partner, auth, &fed.opts.client) {
        Ok(c) => c,
        Err(e) => fail!(true, e.to_string()),
    };
    // The partner's log before anything moves: a partner whose log key
    // changed or whose log went back (a restored copy, a fork, another
    // node at its URL) is paused before anything is pulled from it or
    // pushed to it. When no witnessing is due, an idle round does without
    // it (one request a round): a pull probes its first page and a push
    // checks for work, and either witnesses first when anything would move.
    let witness_keys = if pc.verifier_key.is_empty() {
        None
    } else {
        fed.keys.as_ref()
    };
    let mut witnessed_now = false;
    macro_rules! witness {
        () => {
            if let Some(keys) = witness_keys
                && !witnessed_now
            {
                witnessed_now = true;
                slot.witnessed = Some(Instant::now());
                let lc = client.ledger();
                match ledger::witness_partner(store, keys, &*fed.clock, pc, &lc).await {
                    Ok(w) => {
                        let alert = w.is_alert();
                        let msg = format!("witnessing its log: {}", w.detail);
                        report.witness = Some(w);
                        if alert {
                            fail!(true, msg)
                        }
                    }
                    Err(e) => {
                        let fatal = match &e {
                            ledger::LedgerError::Remote(c) => client_failure(c),
                            _ => true,
                        };
                        fail!(fatal, format!("witnessing its log: {e}"))
                    }
                }
            }
        };
    }
    if slot.witness_due(Duration::from_secs(pc.sync.witness_interval_secs)) {
        witness!();
    }
    let root = match &pc.api_root {
        Some(r) => format!("{}/", r.trim_matches('/')),
        None => match client.discovery().await {
            Ok(d) => match d.default {
                Some(r) => r,
                None => fail!(
                    true,
                    format!(
                        "no `api_root` configured and {} names no default API root",
                        partner.url()
                    )
                ),
            },
            Err(e) => fail!(client_failure(&e), e.to_string()),
        },
    };
    let url_of = |id: &str| client.collection_url(&root, id);
    let into = pc.received_collection();
    let origin = partner_origin(name);
    // Stored objects are logged as received from the partner.
    let writer = store.writer().received_from(name);
    // The registry, once per round: what is pulled is checked against it.
    let facilities = if pc.sync.pull.is_empty() {
        None
    } else {
        match fed.facilities.registry(store) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!("protected facilities not checked this round: {e}");
                None
            }
        }
    };
    let warninglists = if pc.sync.pull.is_empty() {
        None
    } else {
        fed.warninglists.set().filter(|l| !l.is_empty())
    };
    for id in &pc.sync.pull {
        let url = match url_of(id) {
            Ok(u) => u,
            Err(e) => fail!(true, e.to_string()),
        };
        let key = cursor_key(&url, &into);
        let since = match store.sync_cursor(&key) {
            Ok(s) => s,
            Err(e) => fail!(false, format!("reading the sync cursor: {e}")),
        };
        let mut opts = SyncOptions {
            since: since.clone(),
            page_limit: pc.sync.page_size.unwrap_or(fed.opts.page).max(1),
            partner: Some(name.to_owned()),
            exchange: fed.exchange.clone(),
            probe: witness_keys.is_some() && !witnessed_now,
            facilities: facilities.clone(),
            warninglists: warninglists.clone(),
            ..SyncOptions::default()
        };
        let mut result = sync_collection(&client, &url, &*writer, &into, &origin, &opts).await;
        if result.as_ref().is_ok_and(|r| r.deferred) {
            // Something to store: the partner's log first, then again.
            witness!();
            opts.probe = false;
            result = sync_collection(&client, &url, &*writer, &into, &origin, &opts).await;
        }
        let (pulled, failure) = match result {
            Ok(r) => (r, None),
            Err(e) => (e.report().clone(), Some(e)),
        };
        // What was stored is durable: its touches escalate now, in this
        // round, whatever happens next.
        if !pulled.touches.is_empty() {
            match crate::facility::escalate(
                &fed.config,
                store,
                &pulled.touches,
                fed.clock.now_timestamp(),
            ) {
                Ok(done) => report.escalated.extend(done),
                Err(e) => tracing::error!("from partner `{name}`: {e}"),
            }
        }
        if pulled.next_added_after.is_some()
            && pulled.next_added_after != since
            && let Some(next) = &pulled.next_added_after
            && let Err(e) = store.set_sync_cursor(&key, next)
        {
            report.pulls.push(PullOutcome {
                url,
                into: into.clone(),
                report: pulled,
            });
            fail!(false, format!("saving the sync cursor: {e}"));
        }
        let rejected = (!pulled.rejected.is_empty()).then(|| describe_rejected(&url, &pulled));
        report.pulls.push(PullOutcome {
            url,
            into: into.clone(),
            report: pulled,
        });
        match failure {
            Some(SyncError::Remote { source, .. }) => {
                let fatal = client_failure(&source);
                fail!(fatal, format!("pulling: {source}"))
            }
            Some(other) => fail!(false, other.to_string()),
            None => {}
        }
        if let Some(msg) = rejected {
            fail!(true, msg)
        }
    }
    if let Some(push_id) = &pc.sync.push {
        let url = match url_of(push_id) {
            Ok(u) => u,
            Err(e) => fail!(true, e.to_string()),
        };
        let local: Vec<String> = match store.collections() {
            Ok(c) => c.into_iter().map(|c| c.name).collect(),
            Err(e) => fail!(false, format!("listing the local collections: {e}")),
        };
        let collections = pushed_collections(&fed.config, pc, &local);
        let target = PushTarget {
            partner: name,
            account: partner.account(),
            url: &url,
            collections: &collections,
            batch: fed.opts.push_batch,
        };
        if witness_keys.is_some() && !witnessed_now {
            match crate::push::has_work(store, &target) {
                Ok(true) => witness!(),
                Ok(false) => {}
                Err(e) => fail!(false, format!("reading what is to be pushed: {e}")),
            }
        }
        match push(store, &client, &fed.exchange, &*fed.clock, &target).await {
            Ok(r) => report.push = Some(r),
            Err(e) => {
                report.push = Some(e.report().clone());
                let fatal = match &e {
                    PushError::Remote { source, .. } => client_failure(source),
                    PushError::Store { .. } => false,
                };
                fail!(fatal, e.to_string())
            }
        }
    }
    slot.moved = report.moved_anything();
    tracing::debug!(
        partner = name,
        witnessed = witnessed_now,
        moved = slot.moved,
        "round done"
    );
    Ok(report)
}

/// Records a round's outcome in the partner's health and returns the new
/// health: a success clears the failures and any pause; a failure counts
/// one more, and pauses the partner when it is fatal or the
/// `max_failures`-th in a row (an error logged, a `sync-paused` alert
/// kept). `write_success` false skips writing a success that changes
/// nothing but the time (an idle round).
///
/// # Errors
/// [`StoreError`] when the health cannot be read or saved.
pub fn record_round(
    store: &dyn Backend,
    partner: &str,
    outcome: &Result<RoundReport, RoundError>,
    max_failures: u32,
    now: &str,
    write_success: bool,
) -> Result<PartnerHealth, StoreError> {
    let mut h = store
        .partner_health(partner)?
        .unwrap_or_else(|| PartnerHealth {
            partner: partner.to_owned(),
            ..PartnerHealth::default()
        });
    match outcome {
        Ok(_) => {
            let changed = h.failures > 0 || h.paused || h.last_success.is_none();
            h.failures = 0;
            h.paused = false;
            h.paused_reason = None;
            h.last_success = Some(now.to_owned());
            if changed || write_success {
                store.set_partner_health(&h)?;
            }
        }
        Err(e) => {
            h.failures = h.failures.saturating_add(1);
            h.last_error = Some(e.to_string());
            h.last_error_at = Some(now.to_owned());
            if !h.paused && (e.fatal || h.failures >= max_failures) {
                h.paused = true;
                let why = if e.fatal {
                    e.to_string()
                } else {
                    format!("{} failures in a row, the last: {e}", h.failures)
                };
                tracing::error!(
                    partner,
                    "sync paused until an operator resumes it (accord sync --partner {partner} --resume): {why}"
                );
                store.ledger_add_alert(partner, PAUSED_ALERT, &why, None, None)?;
                h.paused_reason = Some(why);
            } else {
                tracing::warn!(partner, failures = h.failures, "{e}");
            }
            store.set_partner_health(&h)?;
        }
    }
    Ok(h)
}

/// Clears a partner's pause and failures (an operator's decision).
/// Returns whether it was paused.
///
/// # Errors
/// [`StoreError`].
pub fn resume(store: &dyn Backend, partner: &str) -> Result<bool, StoreError> {
    let Some(mut h) = store.partner_health(partner)? else {
        return Ok(false);
    };
    let was = h.paused;
    h.paused = false;
    h.paused_reason = None;
    h.failures = 0;
    store.set_partner_health(&h)?;
    Ok(was)
}

/// The wait before the next round after `failures` failures in a row:
/// `base · 2^(failures-1)`, at most `max`, times a random factor in
/// [0.5, 1) so that partners failing together do not retry together.
pub fn backoff(failures: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let full = exp.min(max);
    let mut b = [0u8; 2];
    let r = if getrandom::getrandom(&mut b).is_ok() {
        f64::from(u16::from_le_bytes(b)) / 65536.0
    } else {
        0.5
    };
    full.mul_f64(0.5 + r / 2.0)
}

/// The running scheduler: one thread per scheduled partner.
#[derive(Debug)]
pub struct Scheduler {
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<(String, std::thread::JoinHandle<()>)>,
}

impl Scheduler {
    /// Starts a thread per partner of [`Federation::scheduled`], each on
    /// its own handle of `store` ([`Backend::new_handle`]).
    ///
    /// # Errors
    /// [`StoreError`] when a handle cannot be opened; `std::io::Error`
    /// (as [`StoreError`] is not) is reported through the thread's log.
    pub fn start(fed: Arc<Federation>, store: &dyn Backend) -> Result<Scheduler, StoreError> {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut threads = Vec::new();
        for partner in fed.scheduled() {
            let handle = store.new_handle()?;
            let fed = Arc::clone(&fed);
            let stop_rx = stop_rx.clone();
            let name = partner.name().to_owned();
            let t = std::thread::Builder::new()
                .name(format!("sync-{name}"))
                .spawn(move || partner_loop(&fed, &*handle, &partner, stop_rx));
            match t {
                Ok(t) => threads.push((name, t)),
                Err(e) => tracing::error!(partner = %name, "cannot start its sync thread: {e}"),
            }
        }
        Ok(Scheduler { stop, threads })
    }

    /// The partners it runs.
    pub fn partners(&self) -> Vec<&str> {
        self.threads.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Stops every partner's thread (a round in progress is abandoned at
    /// its next wait; its cursors stay where the durable work left them)
    /// and waits for them.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        for (name, t) in self.threads {
            if t.join().is_err() {
                tracing::error!(partner = %name, "its sync thread panicked");
            }
        }
    }
}

/// Polls `f` to completion on the calling thread, parking between
/// wake-ups; call it with a multi-thread runtime's handle entered
/// (`Runtime::enter`), whose worker then drives the timers and sockets.
///
/// Unlike `Runtime::block_on`, the thread is not inside the runtime
/// while `f` runs, so `f` may make blocking store calls that block on a
/// runtime of their own (the synchronous PostgreSQL client does; inside
/// `block_on` it panics: "Cannot start a runtime from within a runtime").
pub fn drive<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// One partner's schedule, on its own thread, until `stop`.
fn partner_loop(
    fed: &Federation,
    store: &dyn Backend,
    partner: &Partner,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let name = partner.name();
    // The round's HTTP runs on `rt`'s worker; the round itself is polled
    // on this thread ([`drive`]), outside the runtime, because a store
    // call may block on a runtime of its own (the PostgreSQL client).
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(format!("sync-{name}-io"))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(partner = name, "cannot start its sync runtime: {e}");
            return;
        }
    };
    let interval = Duration::from_secs(partner.config().sync.interval_secs);
    let mut last_written = None::<Instant>;
    // This thread's rounds all run on `rt`: they share one client.
    let mut slot = ClientSlot::default();
    // Waits `d`; false when asked to stop.
    let wait = |rt: &tokio::runtime::Runtime, stop: &mut tokio::sync::watch::Receiver<bool>, d| {
        rt.block_on(async {
            tokio::select! {
                () = tokio::time::sleep(d) => !*stop.borrow(),
                _ = stop.changed() => false,
            }
        })
    };
    loop {
        if *stop.borrow() {
            return;
        }
        match store.partner_health(name) {
            Ok(Some(h)) if h.paused => {
                if !wait(&rt, &mut stop, interval) {
                    return;
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(partner = name, "reading its sync health: {e}"),
        }
        let outcome = {
            let _entered = rt.enter();
            drive(async {
                tokio::select! {
                    r = run_round_with(fed, store, partner, &mut slot) => Some(r),
                    _ = stop.changed() => None,
                }
            })
        };
        let Some(outcome) = outcome else { return };
        let moved = outcome.as_ref().is_ok_and(RoundReport::moved_anything);
        if let Ok(r) = &outcome
            && moved
        {
            tracing::info!("{}", r.summary());
        }
        let write =
            moved || last_written.is_none_or(|t: Instant| t.elapsed() > Duration::from_secs(600));
        let delay = match record_round(
            store,
            name,
            &outcome,
            fed.opts.max_failures,
            &fed.clock.now_rfc3339(),
            write,
        ) {
            Ok(h) if h.failures == 0 => {
                if write {
                    last_written = Some(Instant::now());
                }
                interval
            }
            Ok(h) => backoff(h.failures, fed.opts.backoff_base, fed.opts.backoff_max).min(
                // A paused partner is checked again after an interval.
                if h.paused { interval } else { Duration::MAX },
            ),
            Err(e) => {
                tracing::error!(partner = name, "saving its sync health: {e}");
                interval
            }
        };
        if !wait(&rt, &mut stop, delay) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_round_witnesses_once_per_witness_interval() {
        let every = Duration::from_secs(300);
        let mut slot = ClientSlot::default();
        assert!(slot.witness_due(every), "the first round witnesses");
        slot.witnessed = Some(Instant::now());
        assert!(
            !slot.witness_due(every),
            "an idle round right after does not"
        );
        slot.moved = true;
        assert!(slot.witness_due(every), "a round after one that moved does");
        slot.moved = false;
        slot.witnessed = Instant::now().checked_sub(Duration::from_secs(301));
        assert!(
            slot.witness_due(every),
            "an idle round after the interval does"
        );
        assert!(slot.witness_due(Duration::ZERO), "0 witnesses every round");
    }

    #[test]
    fn drive_runs_timers_and_allows_a_nested_blocking_runtime() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let _entered = rt.enter();
        let got = drive(async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            // What the synchronous PostgreSQL client does inside a store
            // call: block on a runtime of its own (inside `rt.block_on`
            // this panics).
            let inner = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let v = inner.block_on(async { 41 });
            tokio::time::sleep(Duration::from_millis(5)).await;
            v + 1
        });
        assert_eq!(got, 42);
    }

    #[test]
    fn backoff_doubles_within_bounds_with_jitter() {
        let base = Duration::from_secs(2);
        let max = Duration::from_secs(60);
        for f in 1..40 {
            let d = backoff(f, base, max);
            let full = base.saturating_mul(1 << (f - 1).min(20)).min(max);
            assert!(d >= full / 2 && d <= full, "{f}: {d:?} vs {full:?}");
        }
        assert!(backoff(30, base, max) <= max);
    }
}
