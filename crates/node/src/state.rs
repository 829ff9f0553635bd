//! The state every handler shares ([`AppState`]): configuration,
//! accounts, the pool of store read connections, the store's writer, the
//! thread that logs objects sent, the last POST statuses and the ledger's
//! keys. Both route groups (TAXII, `crate::routes`; ledger,
//! [`crate::ledger_routes`]) use it; it uses neither.

use crate::auth::Accounts;
use crate::error::ApiError;
use crate::taxii::Status;
use accord_app::config::{CollectionConfig, Config};
use accord_app::exchange::{Counterparty, Exchange, Release};
use accord_app::ledger::checkpoints::LedgerState;
use accord_app::partner::Partners;
use accord_ledger::ExchangeRecord;
use accord_stix::{Clock, SystemClock};
use accord_store::{Backend, ObjectWrite, StoreError, StoredObject};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Statuses kept for `GET …/status/{id}/`; the oldest are forgotten first.
pub(crate) const MAX_STATUSES: usize = 10_000;

/// Everything a request handler needs.
pub struct AppState {
    pub(crate) config: Config,
    pub(crate) accounts: Accounts,
    pool: StorePool,
    /// The store's writer, shared by every request.
    pub(crate) writer: Arc<dyn ObjectWrite>,
    /// The one clock of the node: the times it stamps on statuses and
    /// `out` records (the store stamps with the clock it was opened with).
    pub(crate) clock: Arc<dyn Clock>,
    sent_log: SentLog,
    pub(crate) statuses: Mutex<StatusLog>,
    pub(crate) ledger: LedgerState,
    /// The configured partners: who each account is in an exchange.
    pub(crate) partners: Partners,
    /// The exchange seam: what may enter and what may leave.
    pub(crate) exchange: Exchange,
    /// The dashboard's sessions and caches.
    pub(crate) ui: crate::ui::UiState,
    /// The protected facilities (a partner's POST is checked against them).
    pub(crate) facilities: accord_app::facility::FacilityWatch,
    /// The MISP feed indexes of the last readers (`crate::routes::misp_feed`).
    pub(crate) misp_feed: crate::routes::misp_feed::Cache,
    /// The node's warninglists, read again when `accord warninglist
    /// update` replaces them (what a POST brings is counted against them).
    pub(crate) warninglists: accord_app::warninglists::LiveLists,
}

/// The statuses of the last POSTs, by id, oldest first in `order`.
#[derive(Default)]
pub(crate) struct StatusLog {
    pub(crate) by_id: HashMap<String, Status>,
    pub(crate) order: VecDeque<String>,
}

/// Read connections to the store, handed out one per blocking call.
///
/// At most `permits` reads run at once (a few per core): more would only
/// add threads and SQLite connections competing for the same cores. The
/// connections are kept for the life of the server.
struct StorePool {
    free: Mutex<Vec<Box<dyn Backend>>>,
    permits: tokio::sync::Semaphore,
}

impl StorePool {
    fn take(&self) -> Result<Box<dyn Backend>, StoreError> {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = free.pop().ok_or(StoreError::WriterStopped {
            path: std::path::PathBuf::new(),
        })?;
        if free.is_empty() {
            // Keep one to clone from; a clone gets its own read connection.
            let clone = last.new_handle();
            free.push(last);
            clone
        } else {
            Ok(last)
        }
    }

    fn give_back(&self, s: Box<dyn Backend>) {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        free.push(s);
    }
}

/// What a GET waits on: its `out` records, and where to say they are durable.
type SentBatch = (
    Vec<ExchangeRecord>,
    tokio::sync::oneshot::Sender<Result<(), StoreError>>,
);

/// The `out` records of objects sent, appended by one thread.
///
/// Every GET that serves objects waits until their `out` records are
/// durable. Blocking a pool thread per waiting GET (200 clients: 200 parked
/// threads, each woken by the commit) cost more than the read itself; here
/// the GETs queue their records and await a oneshot, and the thread gathers
/// whatever is queued into one `log_records` call (one writer message, one
/// commit), so a burst of GETs shares one append. A failed combined append
/// is retried request by request, so each GET gets its own outcome as
/// before.
struct SentLog {
    tx: Mutex<Option<std::sync::mpsc::Sender<SentBatch>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// At most this many requests' records go into one append.
const MAX_SENT_BATCH: usize = 1024;

impl SentLog {
    fn start(writer: Arc<dyn ObjectWrite>) -> SentLog {
        let (tx, rx) = std::sync::mpsc::channel::<SentBatch>();
        let thread = std::thread::Builder::new()
            .name("accord-sent-log".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_SENT_BATCH {
                        match rx.try_recv() {
                            Ok(b) => batch.push(b),
                            Err(_) => break,
                        }
                    }
                    SentLog::append(&*writer, batch);
                }
            })
            .ok();
        SentLog {
            tx: Mutex::new(thread.as_ref().map(|_| tx)),
            thread: Mutex::new(thread),
        }
    }

    fn append(writer: &dyn ObjectWrite, mut batch: Vec<SentBatch>) {
        if batch.len() == 1 {
            if let Some((records, reply)) = batch.pop() {
                let _ = reply.send(writer.log_records(&records));
            }
            return;
        }
        let lens: Vec<usize> = batch.iter().map(|(r, _)| r.len()).collect();
        let mut all = Vec::with_capacity(lens.iter().sum());
        let mut replies = Vec::with_capacity(batch.len());
        for (records, reply) in batch {
            all.extend(records);
            replies.push(reply);
        }
        if writer.log_records(&all).is_ok() {
            for reply in replies {
                let _ = reply.send(Ok(()));
            }
            return;
        }
        // One request's records (or the disk) failed: each on its own.
        let mut rest = all.into_iter();
        for (n, reply) in lens.into_iter().zip(replies) {
            let records: Vec<ExchangeRecord> = rest.by_ref().take(n).collect();
            let _ = reply.send(writer.log_records(&records));
        }
    }

    /// Appends `records` and returns once they are durable.
    async fn log(&self, records: Vec<ExchangeRecord>) -> Result<(), ApiError> {
        let what = "logging objects sent";
        let (reply, done) = tokio::sync::oneshot::channel();
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|tx| tx.send((records, reply)).is_ok());
        if sent != Some(true) {
            return Err(ApiError::internal(
                what,
                &"the ledger logging thread is not running",
            ));
        }
        done.await
            .map_err(|e| ApiError::internal(what, &e))?
            .map_err(|e| ApiError::internal(what, &e))
    }
}

impl Drop for SentLog {
    /// Stops the thread once it has appended what is queued, so the store's
    /// writer is released when the server is.
    fn drop(&mut self) {
        drop(
            self.tx
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
        if let Some(t) = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            let _ = t.join();
        }
    }
}

/// Passes the objects about to be sent to `account` through the exchange
/// seam, appends one `out` record per object saying what the seam decided
/// (sent, redacted, withheld; the SHA-256 of the bytes that leave) and
/// returns the decisions once the records are durable: nothing is sent
/// before its record is. The records are appended through [`SentLog`].
/// `by_id`: the read selected objects by id ([`Exchange::release_by_id`]).
pub(crate) async fn release(
    s: &Arc<AppState>,
    account: &str,
    collection_id: &str,
    objects: &mut Vec<StoredObject>,
    by_id: bool,
) -> Result<Vec<Release>, ApiError> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let released = decide(s, account, objects, by_id).await?;
    let to = s.counterparty(account);
    let records = Exchange::out_records(
        to,
        collection_id,
        objects,
        &released,
        &s.clock.now_rfc3339(),
    );
    s.sent_log.log(records).await?;
    Ok(released)
}

/// What the exchange seam decides for each of `objects` read by
/// `account` (no `out` records: [`release`] writes them). A partner's
/// release may read the store (the targets of references, custom
/// marking-definitions; any number of point reads), so it runs on the
/// blocking pool with the page moved there and back (not copied: a page
/// of 5,000 objects is megabytes and tens of thousands of allocations);
/// the node's own accounts get the objects as stored, decided here.
pub(crate) async fn decide(
    s: &Arc<AppState>,
    account: &str,
    objects: &mut Vec<StoredObject>,
    by_id: bool,
) -> Result<Vec<Release>, ApiError> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    fn release(
        exchange: &Exchange,
        to: Counterparty<'_>,
        objects: &[StoredObject],
        st: &dyn Backend,
        by_id: bool,
    ) -> Vec<Release> {
        if by_id {
            exchange.release_by_id(to, objects, st)
        } else {
            exchange.release(to, objects, st)
        }
    }
    match s.counterparty(account) {
        Counterparty::Partner(name) => {
            let (name, page, state) = (name.to_owned(), std::mem::take(objects), Arc::clone(s));
            let (page, released) = s
                .read("releasing objects to a partner", move |st| {
                    let to = Counterparty::Partner(&name);
                    let released = release(&state.exchange, to, &page, st, by_id);
                    Ok((page, released))
                })
                .await?;
            *objects = page;
            Ok(released)
        }
        to => s.read_now("releasing objects", |st| {
            Ok(release(&s.exchange, to, objects, st, by_id))
        }),
    }
}

/// Whether `q` reads at most a few rows by the id index, so it can run on
/// the async worker: a few ids, each yielding one version (`first`,
/// `last`), the listed versions, or all of them within `limit`.
pub(crate) fn is_point_read(q: &accord_store::Query, limit: usize) -> bool {
    const MAX_POINT_ROWS: usize = 16;
    let per_id = q
        .versions
        .max_per_object()
        .unwrap_or(limit.saturating_add(1));
    !q.ids.is_empty()
        && q.ids
            .len()
            .saturating_mul(per_id.min(limit.saturating_add(1)))
            <= MAX_POINT_ROWS
}

impl AppState {
    /// State over an open store, with the default exchange policy
    /// ([`accord_app::exchange::SendAll`]) under the configuration's
    /// `[limits]`.
    pub fn new(config: Config, store: Box<dyn Backend>) -> Arc<AppState> {
        let exchange = Exchange::default().with_limits(config.limits.input());
        AppState::with_exchange(config, store, exchange)
    }

    /// State over an open store, applying `exchange` to every object
    /// received and sent, with the system clock.
    pub fn with_exchange(
        config: Config,
        store: Box<dyn Backend>,
        exchange: Exchange,
    ) -> Arc<AppState> {
        AppState::with_clock(config, store, exchange, Arc::new(SystemClock))
    }

    /// State over an open store, applying `exchange` to every object
    /// received and sent, taking the time from `clock` (the POST statuses'
    /// `request_timestamp`, the `out` records' `time`). Give the store the
    /// same clock when opening it, so that `date_added` and the ledger's
    /// times agree with it.
    pub fn with_clock(
        config: Config,
        store: Box<dyn Backend>,
        exchange: Exchange,
        clock: Arc<dyn Clock>,
    ) -> Arc<AppState> {
        let writer = store.writer().to_shared();
        let warninglists = accord_app::warninglists::LiveLists::lazy(&config.data_dir);
        Arc::new(AppState {
            accounts: Accounts::with_limits(&config.accounts, &config.limits),
            ledger: LedgerState::new(&config),
            partners: Partners::new(&config),
            exchange,
            config,
            pool: StorePool {
                free: Mutex::new(vec![store]),
                permits: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
                ),
            },
            sent_log: SentLog::start(Arc::clone(&writer)),
            writer,
            clock,
            statuses: Mutex::new(StatusLog::default()),
            ui: crate::ui::UiState::default(),
            facilities: accord_app::facility::FacilityWatch::new(),
            misp_feed: crate::routes::misp_feed::Cache::default(),
            warninglists,
        })
    }

    /// Who `account` is in an exchange: its partner, else the account.
    pub(crate) fn counterparty<'a>(&'a self, account: &'a str) -> Counterparty<'a> {
        self.partners.counterparty(account)
    }

    /// Runs a short read (a few rows by index) with a pooled read
    /// connection right here on the async worker: a point read by the id
    /// index takes a few microseconds, less than handing it to the blocking
    /// pool and back. Only for reads bounded by [`is_point_read`].
    pub(crate) fn read_now<T>(
        &self,
        what: &'static str,
        f: impl FnOnce(&dyn Backend) -> Result<T, StoreError>,
    ) -> Result<T, ApiError> {
        let run = || {
            let store = self.pool.take()?;
            let r = f(&*store);
            self.pool.give_back(store);
            r
        };
        // The PostgreSQL client (a new handle's connection too) blocks on
        // a runtime of its own, which may not start on an async worker:
        // tell tokio this worker blocks.
        let r = if self.config.cluster.is_some() {
            tokio::task::block_in_place(run)
        } else {
            run()
        };
        r.map_err(|e| ApiError::store(what, &e))
    }

    /// Runs `f` with a read connection on the blocking pool.
    pub(crate) async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        what: &'static str,
        f: impl FnOnce(&dyn Backend) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .pool
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::internal(what, &e))?;
        let state = Arc::clone(self);
        let r = tokio::task::spawn_blocking(move || {
            let store = state.pool.take()?;
            let r = f(&*store);
            state.pool.give_back(store);
            r
        })
        .await;
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(ApiError::store(what, &e)),
            Err(e) => Err(ApiError::internal(what, &e)),
        }
    }

    /// [`AppState::read_now`] for an idempotent read (a query), tried once
    /// more when the database connection broke ([`retried`]).
    pub(crate) fn query_now<T>(
        &self,
        what: &'static str,
        f: impl Fn(&dyn Backend) -> Result<T, StoreError>,
    ) -> Result<T, ApiError> {
        self.read_now(what, |st| retried(st, &f))
    }

    /// [`AppState::read`] for an idempotent read (a query), tried once
    /// more when the database connection broke ([`retried`]).
    pub(crate) async fn query<T: Send + 'static>(
        self: &Arc<Self>,
        what: &'static str,
        f: impl Fn(&dyn Backend) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.read(what, move |st| retried(st, &f)).await
    }

    /// Runs `f` with a read connection on the blocking pool (ledger reads,
    /// whose errors are already API errors; every one is idempotent, the
    /// signing of a checkpoint too, so a 503 is tried once more).
    pub(crate) async fn read_ledger<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl Fn(&dyn Backend) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .pool
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::internal("the ledger", &e))?;
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let store = state
                .pool
                .take()
                .map_err(|e| ApiError::store("the ledger", &e))?;
            // A 503 is a database out of reach: once more, as in `retried`.
            let r = match f(&*store) {
                Err(e) if e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE => f(&*store),
                r => r,
            };
            state.pool.give_back(store);
            r
        })
        .await
        .map_err(|e| ApiError::internal("the ledger", &e))?
    }

    /// The collection `id` (or alias) of API root `root`, or 404.
    pub(crate) fn collection(&self, root: &str, id: &str) -> Result<&CollectionConfig, ApiError> {
        let r = self.api_root(root)?;
        r.collections
            .iter()
            .find(|c| c.id == id || c.alias.as_deref() == Some(id))
            .ok_or_else(|| {
                ApiError::not_found(format!("no collection `{id}` in API root `{root}`"))
            })
    }

    /// The API root `root`, or 404.
    pub(crate) fn api_root(
        &self,
        root: &str,
    ) -> Result<&accord_app::config::ApiRootConfig, ApiError> {
        self.config
            .api_roots
            .iter()
            .find(|r| r.name == root)
            .ok_or_else(|| ApiError::not_found(format!("no API root `{root}` on this server")))
    }
}

/// Runs the read `f` on `store`, and once more when it failed because the
/// database connection broke (PostgreSQL restarted since the handle last
/// read: the handle connects again on its next statement). Reads are
/// idempotent, so a request that arrives after a restart is answered
/// instead of failing with a stale connection; a database still out of
/// reach fails the second try too (503 with `Retry-After`).
fn retried<T>(
    store: &dyn Backend,
    f: &impl Fn(&dyn Backend) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match f(store) {
        Err(e) if e.is_unavailable() => f(store),
        r => r,
    }
}
