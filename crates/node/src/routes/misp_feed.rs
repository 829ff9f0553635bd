//! The MISP feed of a collection, for a MISP instance that adds this node
//! as a feed ("MISP Feed" format) with no plugin:
//!
//! - `GET /misp-feed/{collection}/manifest.json`: the events the caller
//!   may see (one per report, one per day for the objects in no report);
//! - `GET /misp-feed/{collection}/{event uuid}.json`: one event;
//! - `GET /misp-feed/{collection}/hashes.csv`: the MD5 of every attribute
//!   value, with its event.
//!
//! `{collection}` is a collection's id or alias in any API root. The
//! caller authenticates as for TAXII (HTTP Basic or a bearer token) and
//! needs the read right on the collection. What it sees is what the
//! exchange seam releases to it, as for a TAXII GET: a partner's account
//! gets every object through its agreement (`Exchange::release`, on the
//! blocking pool), TLP:RED and withheld objects never appear, redacted
//! ones appear as redacted. An event file and `hashes.csv` carry content:
//! each object behind them gets an `out` record (`state::release`), durable
//! before the response leaves, as for a TAXII GET. The manifest carries
//! the reports' names and tags: the reports listed get `out` records too.
//!
//! The event list is an index (each event's members, counts and timestamp,
//! no attributes; `accord_misp_feed::Options::keep_attributes` false)
//! built by one pass over the collection and kept per (account,
//! collection) for the last [`MAX_CACHED`] readers; a manifest request
//! rebuilds it when the collection changed (a higher `seq` or another
//! count). An event is built on request from its members' current bytes,
//! so memory per request is bounded by one event
//! (`max_attributes_per_event`); a feed is bounded by
//! [`MAX_ATTRIBUTES`].

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::{AppState, release};
use accord_app::config::CollectionConfig;
use accord_app::exchange::Release;
use accord_app::misp_feed::{Built, event_objects, rebuild_event};
use accord_misp_feed::{EventKind, Options};
use accord_store::{Query, StoredObject, VersionFilter};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::{Arc, Mutex};

/// Feed indexes kept (one per account and collection).
pub(crate) const MAX_CACHED: usize = 8;

/// The most attributes one served feed may hold.
pub(crate) const MAX_ATTRIBUTES: usize = 2_000_000;

/// The routes (see the module's docs).
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/misp-feed/{coll}/{file}", get(serve))
}

/// One reader's index of a collection's feed.
struct Index {
    built: Built,
    manifest: String,
    count: u64,
}

/// (account, collection id).
type Key = (String, String);

/// The indexes kept, most recently built last.
#[derive(Default)]
pub(crate) struct Cache {
    entries: Mutex<Vec<(Key, Arc<Index>)>>,
}

impl Cache {
    fn get(&self, key: &Key) -> Option<Arc<Index>> {
        let e = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        e.iter().find(|(k, _)| k == key).map(|(_, i)| Arc::clone(i))
    }

    fn put(&self, key: Key, index: Arc<Index>) {
        let mut e = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        e.retain(|(k, _)| *k != key);
        if e.len() >= MAX_CACHED {
            e.remove(0);
        }
        e.push((key, index));
    }
}

/// The collection `coll` (id or alias, first API root holding it) if the
/// caller may read it.
fn collection<'s>(
    s: &'s AppState,
    caller: &Caller,
    coll: &str,
) -> Result<&'s CollectionConfig, ApiError> {
    let c = s
        .config
        .api_roots
        .iter()
        .flat_map(|r| r.collections.iter())
        .find(|c| c.id == coll || c.alias.as_deref() == Some(coll))
        .ok_or_else(|| ApiError::not_found(format!("no collection `{coll}` on this server")))?;
    if !caller.can_read(&c.id) {
        return Err(ApiError::forbidden(format!(
            "account `{}` may not read collection `{}`",
            caller.name, c.id
        )));
    }
    Ok(c)
}

fn options(s: &AppState, c: &CollectionConfig, keep_attributes: bool) -> Options {
    let mut o = Options::new(c.store_name(), &s.config.title);
    o.max_attributes = MAX_ATTRIBUTES;
    o.keep_attributes = keep_attributes;
    o
}

/// The caller's index of `c`: the cached one, or (when absent, or with
/// `fresh` when the collection changed since) a new one.
async fn index(
    s: &Arc<AppState>,
    account: &str,
    c: &CollectionConfig,
    fresh: bool,
) -> Result<Arc<Index>, ApiError> {
    let key = (account.to_owned(), c.id.clone());
    let store_name = c.store_name().to_owned();
    if let Some(i) = s.misp_feed.get(&key) {
        if !fresh {
            return Ok(i);
        }
        let (name, high) = (store_name.clone(), i.built.high_seq);
        let changed = s
            .read("checking the MISP feed", move |st| {
                let q = Query {
                    collection: Some(name.clone()),
                    after_seq: high,
                    versions: VersionFilter::all(),
                    ..Query::default()
                };
                Ok((!st.query(&q, 1)?.objects.is_empty(), st.count(Some(&name))?))
            })
            .await?;
        if !changed.0 && changed.1 == i.count {
            return Ok(i);
        }
    }
    // Built in a task of its own: when the request times out first, the
    // build still finishes and is kept, and MISP's next pull finds it.
    let (state, who, opts) = (Arc::clone(s), account.to_owned(), options(s, c, false));
    let task = tokio::spawn(async move {
        let st8 = Arc::clone(&state);
        let built = state
            .read("building the MISP feed", move |st| {
                let count = st.count(Some(&store_name))?;
                let to = st8.counterparty(&who);
                let mut rel = |objs: &[StoredObject]| Ok(st8.exchange.release(to, objs, st));
                Ok(
                    accord_app::misp_feed::build(st, Some(&store_name), opts, &mut rel, &())
                        .map(|b| (b, count)),
                )
            })
            .await?
            .map_err(|e| ApiError::internal("building the MISP feed", &e))?;
        let (built, count) = built;
        let manifest = built.feed.manifest_json();
        let i = Arc::new(Index {
            built,
            manifest,
            count,
        });
        state.misp_feed.put(key, Arc::clone(&i));
        Ok::<_, ApiError>(i)
    });
    task.await
        .map_err(|e| ApiError::internal("building the MISP feed", &e))?
}

fn body(content_type: &'static str, bytes: String) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// An event's stored objects and what leaves of them for `account`, with
/// their `out` records durable.
async fn released_event(
    s: &Arc<AppState>,
    account: &str,
    c: &CollectionConfig,
    idx: &Arc<Index>,
    event: &accord_misp_feed::Event,
) -> Result<(Vec<StoredObject>, Vec<Release>), ApiError> {
    let (store_name, ev, i) = (c.store_name().to_owned(), event.clone(), Arc::clone(idx));
    let mut objects = s
        .read("reading a MISP event", move |st| {
            event_objects(st, Some(&store_name), &ev, &i.built.stored_ids)
        })
        .await?;
    let released = release(s, account, &c.id, &mut objects, false).await?;
    Ok((objects, released))
}

async fn serve(
    State(s): State<Arc<AppState>>,
    Path((coll, file)): Path<(String, String)>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let c = collection(&s, &caller, &coll)?.clone();
    let account = caller.name.clone();
    match file.as_str() {
        "manifest.json" => {
            let idx = index(&s, &account, &c, true).await?;
            // The reports named in the manifest leave (name, tags): logged.
            let reports: Vec<String> = idx
                .built
                .feed
                .events()
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Report { id } => Some(id.clone()),
                    EventKind::Day { .. } => None,
                })
                .collect();
            if !reports.is_empty() {
                let store_name = c.store_name().to_owned();
                let mut objects = s
                    .read("reading reports", move |st| {
                        let mut out = Vec::new();
                        for chunk in reports.chunks(256) {
                            let q = Query {
                                collection: Some(store_name.clone()),
                                ids: chunk.to_vec(),
                                versions: VersionFilter::last(),
                                ..Query::default()
                            };
                            out.extend(st.query(&q, chunk.len())?.objects);
                        }
                        Ok(out)
                    })
                    .await?;
                release(&s, &account, &c.id, &mut objects, false).await?;
            }
            Ok(body("application/json", idx.manifest.clone()))
        }
        "hashes.csv" => {
            let idx = index(&s, &account, &c, true).await?;
            let mut out = String::new();
            for e in idx.built.feed.events() {
                let (objects, released) = released_event(&s, &account, &c, &idx, e).await?;
                rebuild_event(e, &objects, &released)
                    .map_err(|err| ApiError::internal("building the MISP feed's hashes", &err))?
                    .hashes_csv(&mut out);
            }
            Ok(body("text/csv; charset=utf-8", out))
        }
        f => {
            let not_found = || {
                ApiError::not_found(format!(
                    "no MISP event `{f}` in the feed of collection `{}` for account `{account}`",
                    c.id
                ))
            };
            let uuid = f
                .strip_suffix(".json")
                .filter(|u| u.len() == 36 && uuid::Uuid::parse_str(u).is_ok())
                .ok_or_else(not_found)?;
            let idx = index(&s, &account, &c, false).await?;
            let event = idx.built.feed.event(uuid).ok_or_else(not_found)?.clone();
            let (objects, released) = released_event(&s, &account, &c, &idx, &event).await?;
            if let EventKind::Report { id } = &event.kind {
                // The report itself must leave now, else there is no event.
                let sent = objects
                    .iter()
                    .zip(&released)
                    .any(|(o, r)| o.id == *id && !matches!(r, Release::Withhold { .. }));
                if !sent {
                    return Err(not_found());
                }
            }
            let event = rebuild_event(&event, &objects, &released)
                .map_err(|err| ApiError::internal("building a MISP event", &err))?;
            Ok(body(
                "application/json",
                event.to_json(idx.built.feed.options()),
            ))
        }
    }
}
