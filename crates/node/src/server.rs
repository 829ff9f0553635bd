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
//!   (`max_ledger_body_length`) for the one POST.
//! - The dashboard ([`crate::ui`]): `/`, `/login`, `/logout`, `/ui/…`.
//! - The MISP feed (`crate::routes::misp_feed`): `/misp-feed/{collection}/…`.
//!
//! Shared by all: a bound on concurrent requests (beyond it a fast 503
//! with `Retry-After`, not a queue), a request timeout, a body limit per
//! route (a declared `Content-Length` over it is answered 413 before
//! anything is read: TAXII POST `max_content_length`, ledger POST
//! `max_ledger_body_length`, any other request `max_other_body_length`),
//! a bound on the pause between two pieces of a body
//! (`body_read_timeout_secs`), and the request trace. Header read
//! timeouts, header size and connection bounds are the listener's
//! ([`crate::listener`]).
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
use crate::taxii::TAXII_MEDIA_TYPE;
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

pub use crate::state::AppState;

/// The largest form the dashboard takes (a case's description fits).
const UI_BODY_LIMIT: usize = 64 * 1024;

async fn not_found() -> ApiError {
    ApiError::not_found("no such TAXII endpoint on this server")
}

/// The router of the whole API, over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let limits = &state.config.limits;
    let timeout = Duration::from_secs(limits.request_timeout_secs);
    let body_timeout = Duration::from_secs(limits.body_read_timeout_secs.max(1));
    let in_flight = Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1)));
    let (taxii_post, ledger_post, other) = (
        limits.max_content_length,
        limits.max_ledger_body_length as u64,
        limits.max_other_body_length as u64,
    );
    // TAXII: negotiation; the body limit of a POST is checked again by
    // add_objects while it reads, for a body without a Content-Length.
    let taxii = crate::routes::routes()
        .fallback(not_found)
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(negotiate))
        .layer(axum::middleware::from_fn(move |req, next| {
            body_limit(req, next, (taxii_post, "max_content_length"), other)
        }));
    // Ledger: C2SP formats (text, tiles) and JSON, no negotiation; its one
    // POST takes a cosigned note of a few hundred bytes.
    let ledger = crate::ledger_routes::routes()
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limits.max_ledger_body_length))
        .layer(axum::middleware::from_fn(move |req, next| {
            body_limit(req, next, (ledger_post, "max_ledger_body_length"), other)
        }));
    // The hotline's REST API: JSON, for the node's own accounts.
    let hotline = crate::hotline_routes::routes()
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limits.max_other_body_length));
    // The dashboard: `/`, `/login`, `/logout` and `/ui/…`, HTML with
    // sessions and CSRF (see `crate::ui`); forms are small.
    let ui = crate::ui::routes().layer(DefaultBodyLimit::max(UI_BODY_LIMIT));
    // The MISP feed (`crate::routes::misp_feed`): JSON and CSV for a MISP
    // instance, TAXII's accounts, no negotiation; GETs only.
    let misp_feed = crate::routes::misp_feed::routes().layer(DefaultBodyLimit::max(UI_BODY_LIMIT));
    Router::new()
        .merge(ui)
        .merge(misp_feed)
        .merge(taxii)
        .nest("/ledger", ledger)
        .nest("/hotline", hotline)
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            body_timeout,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            shed(Arc::clone(&in_flight), req, next)
        }))
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

/// At most `max_concurrent_requests` requests in the handlers at once; one
/// more is answered 503 with `Retry-After: 1` at once (a queue would only
/// turn overload into timeouts and memory).
async fn shed(
    in_flight: Arc<Semaphore>,
    req: axum::http::Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    match in_flight.try_acquire_owned() {
        Ok(_permit) => next.run(req).await,
        Err(_) => ApiError::busy(
            "this server is answering as many requests as it takes at once (max_concurrent_requests); retry in a second",
            1,
        )
        .into_response(),
    }
}

/// 413 at once for a declared body over the route's limit: `post` for a
/// POST (its bound and the setting's name), `other` for any other method.
async fn body_limit(
    req: axum::http::Request<Body>,
    next: axum::middleware::Next,
    post: (u64, &'static str),
    other: u64,
) -> Response {
    let (limit, setting) = if req.method() == Method::POST {
        post
    } else {
        (other, "max_other_body_length")
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(len) = declared
        && len > limit
    {
        let what = format!("the body of {} {}", req.method(), req.uri().path());
        return ApiError::too_large(&what, &len, limit, setting).into_response();
    }
    next.run(req).await
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
