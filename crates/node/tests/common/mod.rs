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
