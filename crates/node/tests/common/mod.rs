//! Helpers shared by the server tests: one in-process TAXII request.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine;
use serde_json::Value;
use tower::ServiceExt;

pub const TAXII: &str = "application/taxii+json;version=2.1";

/// The `Authorization` header of HTTP Basic for `user`:`pw`.
pub fn basic(user: &str, pw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
    )
}

/// Sends one TAXII request to `app` (a JSON body as TAXII content) and
/// returns the status, the JSON body (`Null` when empty) and the headers.
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    auth: &str,
    body: Option<Value>,
) -> (StatusCode, Value, HeaderMap) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("accept", TAXII)
        .header("authorization", auth);
    let body = match body {
        Some(v) => {
            req = req.header("content-type", TAXII);
            Body::from(serde_json::to_vec(&v).unwrap())
        }
        None => Body::empty(),
    };
    let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, v, headers)
}

/// Starts `accord_node::serve` with `config` on a free port of 127.0.0.1,
/// in a runtime of its own (kept alive by the caller); returns the address.
pub fn start(
    config: accord_app::config::Config,
) -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        accord_node::serve(
            config,
            std::sync::Arc::new(accord_stix::SystemClock),
            listener,
            std::future::pending(),
        )
        .await
        .unwrap();
    });
    (addr, rt)
}
