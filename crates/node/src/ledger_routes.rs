//! The ledger's HTTP routes (any authenticated account, like TAXII
//! reads): `GET /ledger/checkpoint`, `GET /ledger/tile/…` (C2SP
//! tlog-tiles), `GET /ledger/proof/inclusion`, `GET
//! /ledger/proof/consistency` (JSON) and `POST /ledger/cosignature`.
//! Mounted at `/ledger` by [`crate::server::router`], with their own
//! body limit ([`COSIGNATURE_BODY_LIMIT`]) and no TAXII media-type
//! negotiation.
//!
//! What each caller is shown ([`accord_app::ledger::disclose`]): an entry
//! bundle (`/ledger/tile/entries/…`) is served in full to the node's own
//! accounts; to a configured partner's account, every entry of an exchange
//! it is not party to (other partners', local records) is a redacted entry,
//! `{"redacted":"<leaf hash, 64 lowercase hex>"}` under the same u16
//! length prefix. Everything else these routes serve is hashes of salted
//! records, the same for every caller: hash tiles, the checkpoint (size
//! and root), an inclusion proof (the leaf hash and its audit path) and a
//! consistency proof.

use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::AppState;
use accord_app::ledger::checkpoints::{
    accept_cosignatures, consistency_json, inclusion_json, served_checkpoint,
};
use accord_app::ledger::{EntryReader, LedgerError, served_tile};
use accord_ledger::Tile;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// The largest body the ledger routes take: a cosigned checkpoint note
/// (a few hundred bytes, plus one line per cosignature).
pub const COSIGNATURE_BODY_LIMIT: usize = 8 * 1024;

fn no_keys() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Ledger unavailable",
        "this node's ledger key could not be loaded; see its log".to_owned(),
    )
}

fn ledger_api_err(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Ledger(e) => {
            ApiError::new(StatusCode::BAD_REQUEST, "Bad ledger request", e.to_string())
        }
        LedgerError::Inconsistent(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Rejected", m)
        }
        LedgerError::Store(e) => ApiError::store("the ledger", &e),
        e => ApiError::internal("the ledger", &e),
    }
}

/// The ledger routes, relative to where they are mounted (`/ledger`),
/// without layers (see [`crate::server::router`]).
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/proof/inclusion", get(inclusion))
        .route("/proof/consistency", get(consistency))
        .route("/cosignature", post(cosignature))
}

fn text(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

async fn checkpoint(
    State(s): State<Arc<AppState>>,
    Authenticated(_): Authenticated,
) -> Result<Response, ApiError> {
    let st = Arc::clone(&s);
    let note = s
        .read_ledger(move |store| {
            let l = &st.ledger;
            let keys = l.keys().ok_or_else(no_keys)?;
            let _g = l.signing();
            served_checkpoint(store, keys).map_err(ledger_api_err)
        })
        .await?;
    Ok(text(note, "text/plain; charset=utf-8"))
}

async fn tile(
    State(s): State<Arc<AppState>>,
    Path(path): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let t = Tile::parse_path(&format!("tile/{path}"))
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    let reader = EntryReader::for_account(&s.partners, &caller.name);
    let bytes = s
        .read_ledger(move |store| {
            served_tile(store, &t, &reader).map_err(|e| ApiError::internal("reading a tile", &e))
        })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("tile/{path} is beyond the log")))?;
    Ok(text(bytes, "application/octet-stream"))
}

fn json(body: &impl Serialize) -> Response {
    text(
        serde_json::to_vec(body).unwrap_or_default(),
        "application/json",
    )
}

fn num(q: &HashMap<String, String>, name: &str) -> Result<u64, ApiError> {
    q.get(name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::bad_request(format!("`{name}` must be a non-negative integer")))
}

async fn inclusion(
    State(s): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    Authenticated(_): Authenticated,
) -> Result<Response, ApiError> {
    let (index, size) = (num(&q, "index")?, num(&q, "size")?);
    let r = s
        .read_ledger(move |store| {
            if size
                > store
                    .ledger_size()
                    .map_err(|e| ApiError::internal("ledger", &e))?
                || index >= size
            {
                return Err(ApiError::bad_request(format!(
                    "no leaf {index} in a tree of size {size} of this log"
                )));
            }
            inclusion_json(store, index, size).map_err(|e| ApiError::internal("a proof", &e))
        })
        .await?;
    Ok(json(&r))
}

async fn consistency(
    State(s): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    Authenticated(_): Authenticated,
) -> Result<Response, ApiError> {
    let (first, second) = (num(&q, "first")?, num(&q, "second")?);
    let r = s
        .read_ledger(move |store| {
            if second
                > store
                    .ledger_size()
                    .map_err(|e| ApiError::internal("ledger", &e))?
                || first > second
            {
                return Err(ApiError::bad_request(format!(
                    "no consistency proof from {first} to {second} in this log"
                )));
            }
            consistency_json(store, first, second).map_err(|e| ApiError::internal("a proof", &e))
        })
        .await?;
    Ok(json(&r))
}

async fn cosignature(
    State(s): State<Arc<AppState>>,
    Authenticated(_): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        ApiError::new(
            e.status(),
            "Bad cosignature request",
            format!("{e} (a cosigned checkpoint is at most {COSIGNATURE_BODY_LIMIT} bytes here)"),
        )
    })?;
    let st = Arc::clone(&s);
    let names = s
        .read_ledger(move |store| {
            let l = &st.ledger;
            let keys = l.keys().ok_or_else(no_keys)?;
            accept_cosignatures(store, keys, &body, l.witnesses()).map_err(ledger_api_err)
        })
        .await?;
    Ok(json(&serde_json::json!({ "accepted": names })))
}
