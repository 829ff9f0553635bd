//! The point-read path under concurrency: `match[id]` GETs and GETs of one
//! object read on the async workers, and their `out` records, gathered by
//! one thread into shared ledger appends, are all durable and all there.

use accord_app::config::Config;
use accord_node::auth::hash_password;
use accord_node::server::{AppState, router};
use accord_store::SqliteStore;
use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

mod common;

const C1: &str = "11111111-1111-4111-8111-111111111111";

fn app(dir: &std::path::Path) -> Router {
    let text = format!(
        r#"
data_dir = "unused"
[[api_roots]]
name = "api1"
title = "Root"
[[api_roots.collections]]
id = "{C1}"
title = "One"
[[accounts]]
name = "rw"
password_hash = "{rw}"
read = ["*"]
write = ["*"]
"#,
        rw = hash_password("rw-pass").unwrap(),
    );
    let config = Config::parse(&text, "test.toml").unwrap();
    router(AppState::new(
        config,
        Box::new(SqliteStore::open(dir).unwrap()),
    ))
}

/// One request as the `rw` account: status and JSON body.
async fn call(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, v, _) =
        common::call(app, method, uri, &common::basic("rw", "rw-pass"), body).await;
    (status, v)
}

fn id(n: u32) -> String {
    format!("indicator--{n:08x}-0000-4000-8000-000000000000")
}

fn indicator(n: u32, modified: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": id(n),
        "created": "2026-01-01T00:00:00.000Z", "modified": modified,
        "pattern": format!("[ipv4-addr:value = '198.51.100.{}']", n % 250),
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
    })
}

fn out_records(dir: &std::path::Path) -> usize {
    let store = SqliteStore::open(dir).unwrap();
    let size = store.ledger_size().unwrap();
    store
        .ledger_entries(0, size)
        .unwrap()
        .iter()
        .filter(|e| {
            let r: Value = serde_json::from_slice(&e.leaf).unwrap();
            r["direction"] == "out"
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_point_reads_are_served_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let objects: Vec<Value> = (0..20)
        .map(|n| indicator(n, "2026-01-01T00:00:00.000Z"))
        .chain([
            indicator(0, "2026-02-01T00:00:00.000Z"),
            indicator(0, "2026-03-01T00:00:00.000Z"),
        ])
        .collect();
    let (s, v) = call(
        &app,
        "POST",
        &format!("/api1/collections/{C1}/objects/"),
        Some(json!({ "objects": objects })),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["success_count"], 22, "{v}");

    let mut tasks = Vec::new();
    for k in 0..200u32 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let n = k % 20;
            let uri = if k % 2 == 0 {
                format!("/api1/collections/{C1}/objects/?match[id]={}", id(n))
            } else {
                format!("/api1/collections/{C1}/objects/{}/", id(n))
            };
            let (s, v) = call(&app, "GET", &uri, None).await;
            assert_eq!(s, StatusCode::OK, "{uri}: {v}");
            let objs = v["objects"].as_array().unwrap();
            assert_eq!(objs.len(), 1, "{uri}: {v}");
            assert_eq!(objs[0]["id"], id(n));
            if n == 0 {
                // The last version, by default.
                assert_eq!(objs[0]["modified"], "2026-03-01T00:00:00.000Z");
            }
            objs.len()
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }

    // Every version, the first one, listed ones: on the same path.
    let base = format!("/api1/collections/{C1}/objects/{}/", id(0));
    for (q, want) in [
        ("?match[version]=all", 3),
        ("?match[version]=first", 1),
        (
            "?match[version]=2026-02-01T00:00:00.000Z,2026-03-01T00:00:00.000Z",
            2,
        ),
    ] {
        let (s, v) = call(&app, "GET", &format!("{base}{q}"), None).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
        assert_eq!(v["objects"].as_array().unwrap().len(), want, "{q}: {v}");
        sent += want;
    }
    // Past the point-read bound (all versions of many ids): the same answer.
    let ids: Vec<String> = (0..20).map(id).collect();
    let (s, v) = call(
        &app,
        "GET",
        &format!(
            "/api1/collections/{C1}/objects/?match[version]=all&match[id]={}",
            ids.join(",")
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["objects"].as_array().unwrap().len(), 22, "{v}");
    sent += 22;
    // Nothing matched: no object, nothing logged.
    let (s, v) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/objects/?match[id]={}", id(99)),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.get("objects").is_none(), "{v}");
    let (s, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/objects/{}/", id(99)),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Dropping the server stops its logging thread and releases the store.
    drop(app);
    assert_eq!(out_records(dir.path()), sent);
}
