//! The TAXII 2.1 routes (§4 and §5), by resource: [`discovery`] (server
//! discovery, API roots, collections), [`objects`] (objects, one object,
//! its versions, the manifest, DELETE), [`status`] and [`ingest`] (the
//! POST of an envelope). This module has what they share: the read
//! rights, paging and the envelope written from stored bytes.

pub(crate) mod discovery;
pub(crate) mod ingest;
pub(crate) mod misp_feed;
pub(crate) mod objects;
pub(crate) mod status;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::query::{Cursor, Params};
use crate::state::{AppState, is_point_read};
use crate::taxii::TAXII_MEDIA_TYPE;
use accord_app::config::CollectionConfig;
use accord_app::exchange::{Release, sent_bytes};
use accord_store::{Page, VersionFilter};
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use std::sync::Arc;

/// The TAXII routes, without layers (see [`crate::server::router`]).
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/taxii2/", get(discovery::discovery))
        .route("/{root}/", get(discovery::api_root))
        .route("/{root}/status/{status}/", get(status::status))
        .route("/{root}/collections/", get(discovery::collections))
        .route("/{root}/collections/{coll}/", get(discovery::collection))
        .route(
            "/{root}/collections/{coll}/objects/",
            get(objects::get_objects).post(ingest::add_objects),
        )
        .route(
            "/{root}/collections/{coll}/manifest/",
            get(objects::manifest),
        )
        .route(
            "/{root}/collections/{coll}/objects/{object}/",
            get(objects::get_object).delete(objects::delete_object),
        )
        .route(
            "/{root}/collections/{coll}/objects/{object}/versions/",
            get(objects::versions),
        )
}

pub(crate) fn taxii_json(status: StatusCode, body: &impl Serialize) -> Response {
    let json = serde_json::to_vec(body).unwrap_or_default();
    let mut r = (status, json).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    r
}

/// A readable collection for `caller`, or 404/403.
pub(crate) fn readable<'s>(
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

pub(crate) fn params(pairs: &[(String, String)]) -> Result<Params, ApiError> {
    Params::parse(pairs).map_err(|e| ApiError::bad_request(e.0))
}

/// Adds the `X-TAXII-Date-Added-First/-Last` headers of a page (§3.3.1).
pub(crate) fn date_headers(r: &mut Response, page: &Page) {
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
fn envelope(page: &Page, released: &[Release], next: Option<&str>) -> Vec<u8> {
    let size: usize = page.objects.iter().map(|o| o.raw.len() + 2).sum();
    let mut out = Vec::with_capacity(size + 128);
    out.extend_from_slice(b"{\"more\":");
    out.extend_from_slice(if page.more { b"true" } else { b"false" });
    if let Some(n) = next {
        out.extend_from_slice(b",\"next\":");
        out.extend_from_slice(serde_json::to_string(n).unwrap_or_default().as_bytes());
    }
    let mut sent = sent_bytes(&page.objects, released).peekable();
    if sent.peek().is_some() {
        out.extend_from_slice(b",\"objects\":[");
        for (i, raw) in sent.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(raw.as_bytes());
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}

/// One page of a paged read endpoint, with what the response needs.
pub(crate) struct PageRead {
    pub(crate) caller: String,
    pub(crate) collection_id: String,
    pub(crate) store_name: String,
    pub(crate) params: Params,
    pub(crate) page: Page,
    pub(crate) next: Option<String>,
}

/// The common part of every paged read: caller, collection and its read
/// right, parameters, cursor, the store query, the `next` cursor.
pub(crate) async fn read_page(
    s: &Arc<AppState>,
    caller: Caller,
    (root, coll): (&str, &str),
    pairs: &[(String, String)],
    (endpoint, object): (&str, Option<&str>),
    default_version: VersionFilter,
) -> Result<PageRead, ApiError> {
    let c = readable(s, &caller, root, coll)?;
    let params = params(pairs)?;
    let (cursor, q) = paged_query(c, endpoint, &params, object, default_version)?;
    let limit = page_limit(s, &params);
    let what = match endpoint {
        "manifest" => "reading the manifest",
        "versions" => "reading versions",
        _ => "reading objects",
    };
    let max_bytes = s.config.limits.max_page_bytes;
    let page = if is_point_read(&q, limit) {
        s.query_now(what, |st| st.query_bounded(&q, limit, max_bytes))?
    } else {
        s.query(what, move |st| st.query_bounded(&q, limit, max_bytes))
            .await?
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
pub(crate) fn envelope_response(r: &PageRead, released: &[Release]) -> Response {
    let mut res = (
        StatusCode::OK,
        envelope(&r.page, released, r.next.as_deref()),
    )
        .into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    date_headers(&mut res, &r.page);
    res
}

/// The TAXII version of a stored object: `modified`, else `created`, else
/// when it was added (cyber-observables have no version).
pub(crate) fn version_of(o: &accord_store::StoredObject) -> String {
    o.modified
        .clone()
        .or_else(|| o.created.clone())
        .unwrap_or_else(|| o.date_added.clone())
}
