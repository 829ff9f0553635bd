//! The TAXII 2.1 server: every endpoint of TAXII 2.1 §4 and §5 over the store.
//!
//! Pages are read from the store's indexes in sequence order and written as
//! the objects' exact stored bytes. Store calls are synchronous (SQLite):
//! a point read (a few `match[id]` rows, a few microseconds on the id
//! index) runs right on the async worker with a pooled read connection,
//! since any hand-off costs more than the read; every longer read runs on
//! tokio's blocking pool. Writes go through the store's group-commit
//! writer, so concurrent POSTs share transactions, and the `out` records of
//! concurrent GETs are gathered by one thread into one ledger append.

use crate::auth::{Accounts, AuthError, Caller};
use crate::config::{CollectionConfig, Config};
use crate::error::ApiError;
use crate::query::{Cursor, Params};
use crate::taxii::{
    ApiRoot, Collection, Collections, Discovery, Manifest, ManifestRecord, STIX_MEDIA_TYPE, Status,
    StatusDetails, TAXII_MEDIA_TYPE, Versions,
};
use accord_ledger::{Decision, Direction, ExchangeRecord, Hash};
use accord_stix::CommonProps;
use accord_stix::{Doc, is_valid, validate_doc};
use accord_store::{
    NewObject, ObjectMeta, Page, PutOutcome, SqliteStore, Store, StoreError, StoredObject,
    VersionFilter, Writer,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Statuses kept for `GET …/status/{id}/`; the oldest are forgotten first.
const MAX_STATUSES: usize = 10_000;

/// Everything a request handler needs.
pub struct AppState {
    config: Config,
    accounts: Accounts,
    pool: StorePool,
    writer: Writer,
    sent_log: SentLog,
    statuses: Mutex<StatusLog>,
    pub(crate) ledger: crate::ledger_api::LedgerState,
}

#[derive(Default)]
struct StatusLog {
    by_id: HashMap<String, Status>,
    order: VecDeque<String>,
}

/// Read connections to the store, handed out one per blocking call.
///
/// At most `permits` reads run at once (a few per core): more would only
/// add threads and SQLite connections competing for the same cores. The
/// connections are kept for the life of the server.
struct StorePool {
    free: Mutex<Vec<SqliteStore>>,
    permits: tokio::sync::Semaphore,
}

impl StorePool {
    fn take(&self) -> Result<SqliteStore, StoreError> {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = free.pop().ok_or(StoreError::WriterStopped {
            path: std::path::PathBuf::new(),
        })?;
        if free.is_empty() {
            // Keep one to clone from; a clone gets its own read connection.
            let clone = last.try_clone();
            free.push(last);
            clone
        } else {
            Ok(last)
        }
    }

    fn give_back(&self, s: SqliteStore) {
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
    fn start(writer: Writer) -> SentLog {
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
                    SentLog::append(&writer, batch);
                }
            })
            .ok();
        SentLog {
            tx: Mutex::new(thread.as_ref().map(|_| tx)),
            thread: Mutex::new(thread),
        }
    }

    fn append(writer: &Writer, mut batch: Vec<SentBatch>) {
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

/// Logs objects about to be sent to `account` as `out` records (decision
/// `sent`, the SHA-256 of the exact bytes sent) and returns once they are
/// durable: nothing is sent before its records are. They are appended
/// through [`SentLog`].
async fn log_sent(
    s: &AppState,
    account: &str,
    collection_id: &str,
    objects: &[StoredObject],
) -> Result<(), ApiError> {
    if objects.is_empty() {
        return Ok(());
    }
    let time = crate::ledger_api::now_rfc3339();
    let account = s.ledger.partner_label(account);
    let records: Vec<ExchangeRecord> = objects
        .iter()
        .map(|o| ExchangeRecord {
            direction: Direction::Out,
            partner: Some(account.clone()),
            collection: collection_id.to_owned(),
            object_id: o.id.clone(),
            modified: o.modified.clone(),
            sha256: Hash(<sha2::Sha256 as sha2::Digest>::digest(o.raw.as_bytes()).into()).to_hex(),
            decision: Decision::Sent,
            time: time.clone(),
        })
        .collect();
    s.sent_log.log(records).await
}

/// Whether `q` reads at most a few rows by the id index, so it can run on
/// the async worker: a few ids, each yielding one version (`first`,
/// `last`), the listed versions, or all of them within `limit`.
fn is_point_read(q: &accord_store::Query, limit: usize) -> bool {
    const MAX_POINT_ROWS: usize = 16;
    let per_id = match &q.versions {
        VersionFilter::First | VersionFilter::Last => 1,
        VersionFilter::At(ts) => ts.len(),
        VersionFilter::All => limit.saturating_add(1),
    };
    !q.ids.is_empty()
        && q.ids
            .len()
            .saturating_mul(per_id.min(limit.saturating_add(1)))
            <= MAX_POINT_ROWS
}

impl AppState {
    /// State over an open store.
    pub fn new(config: Config, store: SqliteStore) -> Arc<AppState> {
        let writer = store.writer().clone();
        Arc::new(AppState {
            accounts: Accounts::new(&config.accounts),
            ledger: crate::ledger_api::LedgerState::new(&config),
            config,
            pool: StorePool {
                free: Mutex::new(vec![store]),
                permits: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
                ),
            },
            sent_log: SentLog::start(writer.clone()),
            writer,
            statuses: Mutex::new(StatusLog::default()),
        })
    }

    /// Runs a short read (a few rows by index) with a pooled read
    /// connection right here on the async worker: a point read by the id
    /// index takes a few microseconds, less than handing it to the blocking
    /// pool and back. Only for reads bounded by [`is_point_read`].
    fn read_now<T>(
        &self,
        what: &'static str,
        f: impl FnOnce(&SqliteStore) -> Result<T, StoreError>,
    ) -> Result<T, ApiError> {
        let store = self.pool.take().map_err(|e| ApiError::internal(what, &e))?;
        let r = f(&store);
        self.pool.give_back(store);
        r.map_err(|e| ApiError::internal(what, &e))
    }

    /// Runs `f` with a read connection on the blocking pool.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        what: &'static str,
        f: impl FnOnce(&SqliteStore) -> Result<T, StoreError> + Send + 'static,
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
            let r = f(&store);
            state.pool.give_back(store);
            r
        })
        .await;
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(ApiError::internal(what, &e)),
            Err(e) => Err(ApiError::internal(what, &e)),
        }
    }

    /// Runs `f` with a read connection on the blocking pool (ledger reads,
    /// whose errors are already API errors).
    pub(crate) async fn read_ledger<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&SqliteStore) -> Result<T, ApiError> + Send + 'static,
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
                .map_err(|e| ApiError::internal("the ledger", &e))?;
            let r = f(&store);
            state.pool.give_back(store);
            r
        })
        .await
        .map_err(|e| ApiError::internal("the ledger", &e))?
    }

    /// The caller, or 401. argon2 (tens of milliseconds) runs on the
    /// blocking pool, never on the async workers, and only for credentials
    /// not verified before.
    pub(crate) async fn authenticate(
        self: &Arc<Self>,
        headers: &HeaderMap,
    ) -> Result<Caller, ApiError> {
        let h = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let unauthorized = |e: AuthError| {
            let title = match e {
                AuthError::Missing => "Authentication required",
                _ => "Authentication failed",
            };
            ApiError::new(StatusCode::UNAUTHORIZED, title, e.to_string())
        };
        if let Some(c) = self
            .accounts
            .authenticate_fast(h.as_deref())
            .map_err(unauthorized)?
        {
            return Ok(c);
        }
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || state.accounts.authenticate(h.as_deref()))
            .await
            .map_err(|e| ApiError::internal("checking a password", &e))?
            .map_err(unauthorized)
    }

    fn collection(&self, root: &str, id: &str) -> Result<&CollectionConfig, ApiError> {
        let r = self.api_root(root)?;
        r.collections
            .iter()
            .find(|c| c.id == id || c.alias.as_deref() == Some(id))
            .ok_or_else(|| {
                ApiError::not_found(format!("no collection `{id}` in API root `{root}`"))
            })
    }

    fn api_root(&self, root: &str) -> Result<&crate::config::ApiRootConfig, ApiError> {
        self.config
            .api_roots
            .iter()
            .find(|r| r.name == root)
            .ok_or_else(|| ApiError::not_found(format!("no API root `{root}` on this server")))
    }
}

/// The router of the whole API, over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let timeout = Duration::from_secs(state.config.limits.request_timeout_secs);
    let concurrency = state.config.limits.max_concurrent_requests;
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/{root}/", get(api_root))
        .route("/{root}/status/{status}/", get(status))
        .route("/{root}/collections/", get(collections))
        .route("/{root}/collections/{coll}/", get(collection))
        .route("/{root}/collections/{coll}/objects/", get(get_objects).post(add_objects))
        .route("/{root}/collections/{coll}/manifest/", get(manifest))
        .route(
            "/{root}/collections/{coll}/objects/{object}/",
            get(get_object).delete(delete_object),
        )
        .route("/{root}/collections/{coll}/objects/{object}/versions/", get(versions))
        .merge(crate::ledger_api::routes())
        .fallback(|| async { ApiError::not_found("no such TAXII endpoint on this server") })
        // The body limit is checked by add_objects itself, so that a 413
        // comes back as a TAXII error message.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(negotiate))
        .layer(tower::limit::ConcurrencyLimitLayer::new(concurrency))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<Body>| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_response(
                    |res: &Response, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(status = res.status().as_u16(), latency_us = latency.as_micros() as u64, "served");
                    },
                ),
        )
        .with_state(state)
}

/// 406 unless the client accepts TAXII 2.1 JSON (TAXII 2.1 §1.6.8).
async fn negotiate(req: axum::http::Request<Body>, next: axum::middleware::Next) -> Response {
    // The ledger endpoints serve C2SP formats (text, tiles) and JSON.
    if !req.uri().path().starts_with("/ledger/")
        && let Some(accept) = req.headers().get(header::ACCEPT)
    {
        let ok = accept.to_str().is_ok_and(|a| {
            a.split(',').any(|m| {
                let m: String = m
                    .split(";q=")
                    .next()
                    .unwrap_or("")
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let m = m.to_ascii_lowercase();
                m == "application/taxii+json;version=2.1"
                    || m == "application/taxii+json"
                    || m == "application/*"
                    || m == "*/*"
            })
        });
        if !ok {
            return ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "Not acceptable",
                format!(
                    "this server answers with `{TAXII_MEDIA_TYPE}`; the request accepts only `{}`",
                    accept.to_str().unwrap_or("?")
                ),
            )
            .into_response();
        }
    }
    next.run(req).await
}

fn taxii_json(status: StatusCode, body: &impl Serialize) -> Response {
    let json = serde_json::to_vec(body).unwrap_or_default();
    let mut r = (status, json).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    r
}

async fn discovery(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.authenticate(&headers).await?;
    let roots: Vec<String> = s
        .config
        .api_roots
        .iter()
        .map(|r| format!("/{}/", r.name))
        .collect();
    Ok(taxii_json(
        StatusCode::OK,
        &Discovery {
            title: s.config.title.clone(),
            description: s.config.description.clone(),
            default: roots.first().cloned(),
            api_roots: roots,
        },
    ))
}

async fn api_root(
    State(s): State<Arc<AppState>>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.authenticate(&headers).await?;
    let r = s.api_root(&root)?;
    Ok(taxii_json(
        StatusCode::OK,
        &ApiRoot {
            title: r.title.clone(),
            description: r.description.clone(),
            versions: vec![TAXII_MEDIA_TYPE],
            max_content_length: s.config.limits.max_content_length,
        },
    ))
}

fn collection_resource(c: &CollectionConfig, caller: &Caller) -> Collection {
    Collection {
        id: c.id.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        alias: c.alias.clone(),
        can_read: caller.can_read(&c.id),
        can_write: caller.can_write(&c.id),
        media_types: vec![STIX_MEDIA_TYPE],
    }
}

async fn collections(
    State(s): State<Arc<AppState>>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = s.authenticate(&headers).await?;
    let r = s.api_root(&root)?;
    let list = r
        .collections
        .iter()
        .filter(|c| caller.can_read(&c.id) || caller.can_write(&c.id))
        .map(|c| collection_resource(c, &caller))
        .collect();
    Ok(taxii_json(
        StatusCode::OK,
        &Collections { collections: list },
    ))
}

async fn collection(
    State(s): State<Arc<AppState>>,
    Path((root, coll)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = s.authenticate(&headers).await?;
    let c = s.collection(&root, &coll)?;
    if !caller.can_read(&c.id) && !caller.can_write(&c.id) {
        return Err(ApiError::forbidden(format!(
            "account `{}` has no access to collection `{}`",
            caller.name, c.id
        )));
    }
    Ok(taxii_json(StatusCode::OK, &collection_resource(c, &caller)))
}

/// A readable collection for `caller`, or 404/403.
fn readable<'s>(
    s: &'s AppState,
    caller: &Caller,
    root: &str,
    coll: &str,
) -> Result<&'s CollectionConfig, ApiError> {
    let c = s.collection(root, coll)?;
    if !caller.can_read(&c.id) {
        return Err(ApiError::forbidden(format!(
            "account `{}` may not read collection `{}`",
            caller.name, c.id
        )));
    }
    Ok(c)
}

/// The query of a paged request: from its `next` cursor when there is one
/// (whatever filters the request repeats), else from its parameters.
fn paged_query(
    c: &CollectionConfig,
    endpoint: &str,
    params: &Params,
    extra_id: Option<&str>,
    default_version: VersionFilter,
) -> Result<(Cursor, accord_store::Query), ApiError> {
    let cursor = match &params.next {
        Some(n) => {
            let cur = Cursor::decode(n).map_err(|e| ApiError::bad_request(e.0))?;
            if cur.collection != c.id || cur.endpoint != endpoint {
                return Err(ApiError::bad_request(format!(
                    "next: this cursor belongs to another request ({} of collection {})",
                    cur.endpoint, cur.collection
                )));
            }
            cur
        }
        None => {
            let mut filters = params.filters.clone();
            if let Some(id) = extra_id {
                filters.ids = vec![id.to_owned()];
            }
            Cursor {
                collection: c.id.clone(),
                endpoint: endpoint.to_owned(),
                filters,
                after_seq: 0,
            }
        }
    };
    let q = cursor
        .filters
        .to_query(c.store_name(), cursor.after_seq, default_version);
    Ok((cursor, q))
}

fn page_limit(s: &AppState, params: &Params) -> usize {
    params
        .limit
        .unwrap_or(s.config.limits.default_page_size)
        .min(s.config.limits.max_page_size)
}

fn params(pairs: &[(String, String)]) -> Result<Params, ApiError> {
    Params::parse(pairs).map_err(|e| ApiError::bad_request(e.0))
}

/// Adds the `X-TAXII-Date-Added-First/-Last` headers of a page (§3.3.1).
fn date_headers(r: &mut Response, page: &Page) {
    if let (Some(first), Some(last)) = (page.objects.first(), page.objects.last()) {
        for (name, v) in [
            ("x-taxii-date-added-first", &first.date_added),
            ("x-taxii-date-added-last", &last.date_added),
        ] {
            if let Ok(v) = HeaderValue::from_str(v) {
                r.headers_mut().insert(name, v);
            }
        }
    }
}

fn next_of(cursor: &Cursor, page: &Page) -> Option<String> {
    match page.last_seq() {
        Some(seq) if page.more => Some(
            Cursor {
                after_seq: seq,
                ..cursor.clone()
            }
            .encode(),
        ),
        _ => None,
    }
}

/// An envelope (§3.7) written from the stored bytes of each object.
fn envelope(page: &Page, next: Option<&str>) -> Vec<u8> {
    let size: usize = page.objects.iter().map(|o| o.raw.len() + 2).sum();
    let mut out = Vec::with_capacity(size + 128);
    out.extend_from_slice(b"{\"more\":");
    out.extend_from_slice(if page.more { b"true" } else { b"false" });
    if let Some(n) = next {
        out.extend_from_slice(b",\"next\":");
        out.extend_from_slice(serde_json::to_string(n).unwrap_or_default().as_bytes());
    }
    if !page.objects.is_empty() {
        out.extend_from_slice(b",\"objects\":[");
        for (i, o) in page.objects.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(o.raw.as_bytes());
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}

/// One page of a paged read endpoint, with what the response needs.
struct PageRead {
    caller: String,
    collection_id: String,
    store_name: String,
    params: Params,
    page: Page,
    next: Option<String>,
}

/// The common part of every paged read: caller, collection and its read
/// right, parameters, cursor, the store query, the `next` cursor.
async fn read_page(
    s: &Arc<AppState>,
    headers: &HeaderMap,
    (root, coll): (&str, &str),
    pairs: &[(String, String)],
    (endpoint, object): (&str, Option<&str>),
    default_version: VersionFilter,
) -> Result<PageRead, ApiError> {
    let caller = s.authenticate(headers).await?;
    let c = readable(s, &caller, root, coll)?;
    let params = params(pairs)?;
    let (cursor, q) = paged_query(c, endpoint, &params, object, default_version)?;
    let limit = page_limit(s, &params);
    let what = match endpoint {
        "manifest" => "reading the manifest",
        "versions" => "reading versions",
        _ => "reading objects",
    };
    let page = if is_point_read(&q, limit) {
        s.read_now(what, |st| st.query(&q, limit))?
    } else {
        s.read(what, move |st| st.query(&q, limit)).await?
    };
    let next = next_of(&cursor, &page);
    Ok(PageRead {
        caller: caller.name.clone(),
        collection_id: c.id.clone(),
        store_name: c.store_name().to_owned(),
        params,
        page,
        next,
    })
}

/// An envelope response with its date headers.
fn envelope_response(r: &PageRead) -> Response {
    let mut res = (StatusCode::OK, envelope(&r.page, r.next.as_deref())).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    date_headers(&mut res, &r.page);
    res
}

/// The TAXII version of a stored object: `modified`, else `created`, else
/// when it was added (cyber-observables have no version).
fn version_of(o: &accord_store::StoredObject) -> String {
    o.modified
        .clone()
        .or_else(|| o.created.clone())
        .unwrap_or_else(|| o.date_added.clone())
}

async fn get_objects(
    State(s): State<Arc<AppState>>,
    Path((root, coll)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = read_page(
        &s,
        &headers,
        (&root, &coll),
        &pairs,
        ("objects", None),
        VersionFilter::Last,
    )
    .await?;
    log_sent(&s, &r.caller, &r.collection_id, &r.page.objects).await?;
    Ok(envelope_response(&r))
}

async fn get_object(
    State(s): State<Arc<AppState>>,
    Path((root, coll, object)): Path<(String, String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = read_page(
        &s,
        &headers,
        (&root, &coll),
        &pairs,
        ("object", Some(&object)),
        VersionFilter::Last,
    )
    .await?;
    if r.page.objects.is_empty() && r.params.next.is_none() {
        // Nothing matched the filters: 404 only when no version exists at all.
        let (store_name, id) = (r.store_name.clone(), object.clone());
        let exists = s
            .read("reading an object", move |st| {
                Ok(!st.get_versions(&store_name, &id)?.is_empty())
            })
            .await?;
        if !exists {
            return Err(ApiError::not_found(format!(
                "no object `{object}` in collection `{}`",
                r.collection_id
            )));
        }
    }
    log_sent(&s, &r.caller, &r.collection_id, &r.page.objects).await?;
    Ok(envelope_response(&r))
}

async fn manifest(
    State(s): State<Arc<AppState>>,
    Path((root, coll)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = read_page(
        &s,
        &headers,
        (&root, &coll),
        &pairs,
        ("manifest", None),
        VersionFilter::Last,
    )
    .await?;
    let body = Manifest {
        more: r.page.more,
        next: r.next.clone(),
        objects: r
            .page
            .objects
            .iter()
            .map(|o| ManifestRecord {
                id: o.id.clone(),
                date_added: o.date_added.clone(),
                version: version_of(o),
                media_type: STIX_MEDIA_TYPE,
            })
            .collect(),
    };
    let mut res = taxii_json(StatusCode::OK, &body);
    date_headers(&mut res, &r.page);
    Ok(res)
}

async fn versions(
    State(s): State<Arc<AppState>>,
    Path((root, coll, object)): Path<(String, String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = read_page(
        &s,
        &headers,
        (&root, &coll),
        &pairs,
        ("versions", Some(&object)),
        VersionFilter::All,
    )
    .await?;
    if r.page.objects.is_empty() && r.params.next.is_none() {
        return Err(ApiError::not_found(format!(
            "no object `{object}` in collection `{}`",
            r.collection_id
        )));
    }
    let mut list: Vec<String> = r.page.objects.iter().map(version_of).collect();
    list.sort_by_key(|v| accord_stix::Timestamp::parse(v).ok());
    let mut res = taxii_json(
        StatusCode::OK,
        &Versions {
            more: r.page.more,
            next: r.next.clone(),
            versions: list,
        },
    );
    date_headers(&mut res, &r.page);
    Ok(res)
}

async fn delete_object(
    State(s): State<Arc<AppState>>,
    Path((root, coll, object)): Path<(String, String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = s.authenticate(&headers).await?;
    let c = s.collection(&root, &coll)?;
    if !caller.can_write(&c.id) || !caller.can_read(&c.id) {
        return Err(ApiError::forbidden(format!(
            "account `{}` may not delete from collection `{}` (it needs read and write)",
            caller.name, c.id
        )));
    }
    let params = params(&pairs)?;
    let q = params
        .filters
        .to_query(c.store_name(), 0, VersionFilter::All);
    if !q.spec_versions.is_empty() && !q.spec_versions.iter().any(|v| v == "2.1") {
        return Err(ApiError::not_found(format!(
            "no object `{object}` with that spec_version"
        )));
    }
    let writer = s.writer.clone();
    let store_name = c.store_name().to_owned();
    let id = object.clone();
    let n = tokio::task::spawn_blocking(move || writer.delete(&store_name, &id, &q.versions))
        .await
        .map_err(|e| ApiError::internal("deleting an object", &e))?
        .map_err(|e| ApiError::internal("deleting an object", &e))?;
    if n == 0 {
        return Err(ApiError::not_found(format!(
            "no object `{object}` in collection `{}`",
            c.id
        )));
    }
    Ok(StatusCode::OK.into_response())
}

async fn status(
    State(s): State<Arc<AppState>>,
    Path((root, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.authenticate(&headers).await?;
    s.api_root(&root)?;
    let found = s
        .statuses
        .lock()
        .ok()
        .and_then(|log| log.by_id.get(&id).cloned());
    match found {
        Some(st) => Ok(taxii_json(StatusCode::OK, &st)),
        None => Err(ApiError::not_found(format!(
            "no status `{id}` (statuses are kept for the last {MAX_STATUSES} requests)"
        ))),
    }
}

#[derive(serde::Deserialize)]
struct EnvelopeIn<'a> {
    #[serde(borrow, default)]
    objects: Vec<&'a RawValue>,
}

/// Checks the request's Content-Type: TAXII 2.1 JSON, else 415.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let norm: String = ct
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if norm == "application/taxii+json;version=2.1" || norm == "application/taxii+json" {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("a POST of objects must be `{TAXII_MEDIA_TYPE}`, not `{ct}`"),
        ))
    }
}

async fn add_objects(
    State(s): State<Arc<AppState>>,
    Path((root, coll)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = s.authenticate(&headers).await?;
    let c = s.collection(&root, &coll)?;
    if !caller.can_write(&c.id) {
        return Err(ApiError::forbidden(format!(
            "account `{}` may not add to collection `{}`",
            caller.name, c.id
        )));
    }
    check_content_type(&headers)?;
    let max = s.config.limits.max_content_length;
    let too_big = |n: &dyn std::fmt::Display| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            format!(
                "the envelope is {n} bytes; this API root takes at most {max} bytes (max_content_length)"
            ),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > max
    {
        return Err(too_big(&len));
    }
    let bytes: Bytes = axum::body::to_bytes(body, usize::try_from(max).unwrap_or(usize::MAX))
        .await
        .map_err(|_| too_big(&"more than that"))?;
    let request_timestamp = accord_stix::Timestamp::from_unix(now_secs(), 0).format(6);
    let store_name = c.store_name().to_owned();
    let origin = format!("taxii:{}", caller.name);
    // Logged as received from the posting account.
    let writer = s
        .writer
        .received_from(&s.ledger.partner_label(&caller.name));
    let st = tokio::task::spawn_blocking(move || {
        ingest_envelope(&bytes, &store_name, &origin, &writer, request_timestamp)
    })
    .await
    .map_err(|e| ApiError::internal("storing objects", &e))??;
    if let Ok(mut log) = s.statuses.lock() {
        if log.order.len() >= MAX_STATUSES
            && let Some(old) = log.order.pop_front()
        {
            log.by_id.remove(&old);
        }
        log.order.push_back(st.id.clone());
        log.by_id.insert(st.id.clone(), st.clone());
    }
    Ok(taxii_json(StatusCode::ACCEPTED, &st))
}

/// Parses and validates object `i` of an envelope: its indexed fields, or
/// the failure to report with the validator's reasons.
fn check_object(i: usize, raw: &str) -> Result<(ObjectMeta, &str), StatusDetails> {
    let obj = Doc::parse(raw).map_err(|e| StatusDetails {
        id: String::new(),
        version: String::new(),
        message: Some(format!("object {i} of the envelope: {e}")),
    })?;
    let issues = validate_doc(&obj);
    // A valid object has a string id and type, so it has indexed fields.
    if let (true, Some(meta)) = (is_valid(&issues), ObjectMeta::from_doc(&obj)) {
        return Ok((meta, raw));
    }
    let reasons: Vec<String> = issues
        .iter()
        .filter(|i| i.is_error())
        .map(|i| format!("{} {}: {}", i.rule, i.path, i.message))
        .collect();
    Err(StatusDetails {
        id: obj.id().unwrap_or("").to_owned(),
        version: obj.version_key().to_owned(),
        message: Some(reasons.join("; ")),
    })
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// Objects per piece of an envelope: each piece is validated (on every
/// core) and queued for the writer while the writer stores the previous
/// one, so the writer starts on a 1,000-object envelope after a quarter of
/// the validation instead of all of it.
const PIECE: usize = 256;

/// Validates an envelope's objects, stores the valid ones durably and
/// returns the status: each object a success (stored, or already there
/// unchanged) or a failure with the validator's reason, or the store's
/// when its piece could not be stored.
fn ingest_envelope(
    bytes: &[u8],
    store_name: &str,
    origin: &str,
    writer: &Writer,
    request_timestamp: String,
) -> Result<Status, ApiError> {
    let env: EnvelopeIn<'_> = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a TAXII envelope: {} at line {} column {}",
            e.to_string().split(" at line ").next().unwrap_or(""),
            e.line(),
            e.column()
        ))
    })?;
    let mut failures = Vec::new();
    // Per piece: the status entries of its valid objects, and the writer's
    // answer.
    let mut pieces = Vec::new();
    for (p, piece) in env.objects.chunks(PIECE).enumerate() {
        let results: Vec<Result<(ObjectMeta, &str), StatusDetails>> = piece
            .par_iter()
            .enumerate()
            .map(|(i, raw)| check_object(p * PIECE + i, raw.get()))
            .collect();
        let mut checked: Vec<(ObjectMeta, &str)> = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(c) => checked.push(c),
                Err(f) => failures.push(f),
            }
        }
        if checked.is_empty() {
            continue;
        }
        let news: Vec<NewObject<'_>> = checked
            .iter()
            .map(|(m, raw)| m.new_object(raw, store_name, origin))
            .collect();
        let details: Vec<StatusDetails> = news
            .iter()
            .map(|n| StatusDetails {
                id: n.id.to_owned(),
                version: n.modified.or(n.created).unwrap_or("").to_owned(),
                message: None,
            })
            .collect();
        pieces.push((details, writer.submit(&news)));
    }
    let mut successes = Vec::new();
    let mut first_error = None;
    let mut stored_any = false;
    for (details, pending) in pieces {
        let outcomes = match pending.and_then(accord_store::Pending::wait) {
            Ok(o) => o,
            Err(e) => {
                let why = format!("not stored: {e}");
                failures.extend(details.into_iter().map(|d| StatusDetails {
                    message: Some(why.clone()),
                    ..d
                }));
                first_error.get_or_insert(e);
                continue;
            }
        };
        stored_any = true;
        for (detail, outcome) in details.into_iter().zip(outcomes) {
            match outcome {
                PutOutcome::Stored { .. } => successes.push(detail),
                PutOutcome::Duplicate { .. } => successes.push(StatusDetails {
                    message: Some("already stored, unchanged".into()),
                    ..detail
                }),
                PutOutcome::Conflict { .. } => failures.push(StatusDetails {
                    message: Some(
                        "another object with this id and version is already stored; versions are immutable".into(),
                    ),
                    ..detail
                }),
            }
        }
    }
    // Nothing stored because of the store: the request failed, not the objects.
    if let (false, Some(e)) = (stored_any, first_error) {
        return Err(match e {
            StoreError::Full { .. } => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "Storage full",
                format!("nothing of this envelope was stored: {e}"),
            ),
            other => ApiError::internal("storing objects", &other),
        });
    }
    Ok(Status {
        id: uuid::Uuid::new_v4().to_string(),
        status: "complete",
        request_timestamp,
        total_count: env.objects.len() as u64,
        success_count: successes.len() as u64,
        successes,
        failure_count: failures.len() as u64,
        failures,
        pending_count: 0,
        pendings: Vec::new(),
    })
}
