//! The router: the route groups, each with its own layers, under the
//! layers every request shares.
//!
//! - The TAXII group (`crate::routes`): every endpoint of TAXII 2.1 §4
//!   and §5, with media-type negotiation (406 unless the client accepts
//!   TAXII 2.1 JSON) and the TAXII body limit (`max_content_length`,
//!   checked by the POST handler itself so that a 413 is a TAXII error
//!   message). Unknown paths get its 404.
//! - The ledger group ([`crate::ledger_routes`]), mounted at `/ledger`:
//!   C2SP formats and JSON, so no TAXII negotiation, and a small body limit
//!   ([`crate::ledger_routes::COSIGNATURE_BODY_LIMIT`]) for the one POST.
//! - A future UI group: see [`router`].
//!
//! Shared by all: a bound on concurrent requests, a request timeout, and
//! the request trace.
//!
//! Pages are read from the store's indexes in sequence order and written as
//! the objects' exact stored bytes. Store calls are synchronous (SQLite):
//! a point read (a few `match[id]` rows, a few microseconds on the id
//! index) runs right on the async worker with a pooled read connection,
//! since any hand-off costs more than the read; every longer read runs on
//! tokio's blocking pool. Writes go through the store's group-commit
//! writer, so concurrent POSTs share transactions, and the `out` records of
//! concurrent GETs are gathered by one thread into one ledger append.

use crate::error::ApiError;
use crate::ledger_routes::COSIGNATURE_BODY_LIMIT;
use crate::taxii::TAXII_MEDIA_TYPE;
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

pub use crate::state::AppState;

async fn not_found() -> ApiError {
    ApiError::not_found("no such TAXII endpoint on this server")
}

/// The router of the whole API, over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let timeout = Duration::from_secs(state.config.limits.request_timeout_secs);
    let concurrency = state.config.limits.max_concurrent_requests;
    // TAXII: negotiation; the body limit is checked by add_objects itself,
    // so that a 413 comes back as a TAXII error message.
    let taxii = crate::routes::routes()
        .fallback(not_found)
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(negotiate));
    // Ledger: C2SP formats (text, tiles) and JSON, no negotiation; its one
    // POST takes a cosigned note of a few hundred bytes.
    let ledger = crate::ledger_routes::routes()
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(COSIGNATURE_BODY_LIMIT));
    // A future UI group goes here, as its own `Router<Arc<AppState>>` with
    // its own layers (sessions, CSRF, HTML errors) nested at its own
    // prefix, e.g. `.nest("/ui", ui)`; the groups above stay as they are.
    Router::new()
        .merge(taxii)
        .nest("/ledger", ledger)
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
    if let Some(accept) = req.headers().get(header::ACCEPT) {
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
