//! The node's one clock: a node built with a `FixedClock` stamps its POST
//! statuses, its `out` records and (through the store opened with the same
//! clock) its `in` records with that clock's time, not the machine's.

use accord_app::config::Config;
use accord_app::exchange::Exchange;
use accord_node::auth::hash_password;
use accord_node::server::{AppState, router};
use accord_stix::{Clock, FixedClock, Timestamp};
use accord_store::{LedgerRead, OpenOptions, SqliteStore};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

mod common;
use common::{basic, call};

const C1: &str = "11111111-1111-4111-8111-111111111111";

/// The ledger's records of one direction, as JSON.
fn records(store: &SqliteStore, direction: &str) -> Vec<Value> {
    let size = LedgerRead::ledger_size(store).unwrap();
    LedgerRead::ledger_entries(store, 0, size)
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_slice::<Value>(&e.leaf).unwrap())
        .filter(|r| r["direction"] == direction)
        .collect()
}

#[tokio::test]
async fn a_node_with_a_fixed_clock_stamps_statuses_and_records_with_it() {
    let start = Timestamp::parse("2031-02-03T04:05:06.789012Z").unwrap();
    let fixed = Arc::new(FixedClock::at(&start));
    let clock: Arc<dyn Clock> = fixed.clone();
    let dir = tempfile::tempdir().unwrap();
    let opts = OpenOptions::new().clock(Arc::clone(&clock));
    let store = SqliteStore::open_with(dir.path(), &opts).unwrap();
    let reader = store.try_clone().unwrap();
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
password_hash = "{pw}"
read = ["*"]
write = ["*"]
"#,
        pw = hash_password("pw").unwrap(),
    );
    let config = Config::parse(&text, "test.toml").unwrap();
    let state = AppState::with_clock(config, Box::new(store), Exchange::default(), clock);
    let app = router(state);
    let auth = basic("rw", "pw");
    let indicator = json!({
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.1']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
    });

    // POST: the status's request_timestamp is the clock's whole second.
    let uri = format!("/api1/collections/{C1}/objects/");
    let (s, st, _) = call(
        &app,
        "POST",
        &uri,
        &auth,
        Some(json!({ "objects": [indicator] })),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{st}");
    assert_eq!(st["success_count"], 1, "{st}");
    assert_eq!(
        st["request_timestamp"], "2031-02-03T04:05:06.000000Z",
        "{st}"
    );
    // The store stamped the `in` record with the same clock.
    let ins = records(&reader, "in");
    assert_eq!(ins.len(), 1, "{ins:?}");
    assert_eq!(ins[0]["time"], "2031-02-03T04:05:06.789012Z", "{ins:?}");

    // GET a second and a bit later: the `out` record's time is the clock's.
    fixed.advance_micros(1_250_000);
    let (s, v, _) = call(&app, "GET", &uri, &auth, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["objects"].as_array().map(Vec::len), Some(1), "{v}");
    let out = records(&reader, "out");
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0]["time"], "2031-02-03T04:05:08.039012Z", "{out:?}");
}
