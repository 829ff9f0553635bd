//! The exchange seam on the server: every outbound route passes its objects
//! through `release`, every inbound object through `admit`, and the log's
//! `out` records say what the seam decided.

use accord_app::config::Config;
use accord_app::exchange::{Counterparty, Exchange, Policy, Release};
use accord_node::auth::hash_password;
use accord_node::server::{AppState, router};
use accord_stix::Doc;
use accord_store::{SqliteStore, StoredObject};
use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

mod common;
use common::{basic, call};

const C1: &str = "11111111-1111-4111-8111-111111111111";

/// Withholds everything from everyone, and refuses anything from the
/// account `outsider`.
struct WithholdAll;

impl Policy for WithholdAll {
    fn admit(&self, from: Counterparty<'_>, _: &Doc<'_>) -> Result<(), String> {
        match from {
            Counterparty::Account("outsider") => Err("no agreement with outsider".into()),
            _ => Ok(()),
        }
    }

    fn release(
        &self,
        _: Counterparty<'_>,
        objects: &[StoredObject],
        _: &dyn accord_store::ObjectRead,
    ) -> Vec<Release> {
        let reason = "test: withhold everything".to_owned();
        vec![Release::Withhold { reason }; objects.len()]
    }
}

/// Sends indicators with their `pattern` rewritten, names the field.
struct RedactPatterns;

impl Policy for RedactPatterns {
    fn release(
        &self,
        _: Counterparty<'_>,
        objects: &[StoredObject],
        _: &dyn accord_store::ObjectRead,
    ) -> Vec<Release> {
        objects
            .iter()
            .map(|o| {
                let mut v: Value = serde_json::from_str(&o.raw).unwrap();
                v["pattern"] = json!("[ipv4-addr:value = '192.0.2.1']");
                Release::Redact {
                    raw: serde_json::to_string(&v).unwrap(),
                    fields: vec!["pattern".into()],
                }
            })
            .collect()
    }
}

fn app(policy: Arc<dyn Policy>) -> (tempfile::TempDir, Router, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
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
[[accounts]]
name = "outsider"
password_hash = "{pw}"
read = ["*"]
write = ["*"]
[[partners]]
name = "cert-b"
url = "http://127.0.0.1:9/"
account = "rw"
verifier_key = "{vkey}"
"#,
        pw = hash_password("pw").unwrap(),
        vkey = accord_ledger::LogSigner::from_seed("cert-b.example/log", &[7; 32])
            .unwrap()
            .verifier_key(),
    );
    let config = Config::parse(&text, "test.toml").unwrap();
    let state = AppState::with_exchange(config, Box::new(store), Exchange::new(policy));
    (dir, router(state), reader)
}

fn indicator(n: u32) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-0000-4000-8000-000000000000"),
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": format!("[ipv4-addr:value = '198.51.100.{}']", n % 250),
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
    })
}

async fn post(app: &Router, user: &str, objs: Vec<Value>) -> Value {
    let (s, v, _) = call(
        app,
        "POST",
        &format!("/api1/collections/{C1}/objects/"),
        &basic(user, "pw"),
        Some(json!({ "objects": objs })),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    v
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let (s, v, _) = call(app, "GET", uri, &basic("rw", "pw"), None).await;
    (s, v)
}

/// The `out` records in the log, as JSON.
fn out_records(store: &SqliteStore) -> Vec<Value> {
    let size = store.ledger_size().unwrap();
    store
        .ledger_entries(0, size)
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_slice::<Value>(&e.leaf).unwrap())
        .filter(|r| r["direction"] == "out")
        .collect()
}

#[tokio::test]
async fn a_policy_that_withholds_everything_leaves_every_outbound_route_empty() {
    let (_dir, app, store) = app(Arc::new(WithholdAll));
    let st = post(&app, "rw", (0..5).map(indicator).collect()).await;
    assert_eq!(st["success_count"], 5, "{st}");
    let id = indicator(0)["id"].as_str().unwrap().to_owned();
    let base = format!("/api1/collections/{C1}");

    let (s, v) = get(&app, &format!("{base}/objects/")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.get("objects").is_none(), "objects sent: {v}");
    assert_eq!(v["more"], false);

    let (s, v) = get(&app, &format!("{base}/objects/{id}/")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    let (s, v) = get(&app, &format!("{base}/objects/{id}/versions/")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    let (s, v) = get(&app, &format!("{base}/manifest/")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v.get("objects")
            .is_none_or(|o| o.as_array().unwrap().is_empty()),
        "manifest lists withheld objects: {v}"
    );

    // Paging by `match[id]` and filters: still nothing.
    let (_, v) = get(&app, &format!("{base}/objects/?match[id]={id}")).await;
    assert!(v.get("objects").is_none(), "{v}");

    // Every object read was logged as withheld, to the partner behind the
    // account, with the policy's reason; none as sent.
    let out = out_records(&store);
    assert!(out.len() >= 7, "{out:?}");
    for r in &out {
        assert_eq!(r["decision"]["action"], "withheld", "{r}");
        assert_eq!(r["decision"]["reason"], "test: withhold everything", "{r}");
        assert_eq!(r["partner"], "cert-b", "{r}");
    }
}

#[tokio::test]
async fn admit_refusals_are_reported_per_object_and_nothing_is_stored() {
    let (_dir, app, store) = app(Arc::new(WithholdAll));
    let st = post(&app, "outsider", vec![indicator(1), indicator(2)]).await;
    assert_eq!(st["success_count"], 0, "{st}");
    assert_eq!(st["failure_count"], 2, "{st}");
    let msg = st["failures"][0]["message"].as_str().unwrap();
    assert!(msg.contains("no agreement with outsider"), "{msg}");
    use accord_store::Store;
    assert_eq!(store.count(None).unwrap(), 0);
}

#[tokio::test]
async fn redacted_objects_leave_as_rewritten_and_the_log_names_the_fields() {
    let (_dir, app, store) = app(Arc::new(RedactPatterns));
    post(&app, "rw", vec![indicator(7)]).await;
    let (s, v) = get(&app, &format!("/api1/collections/{C1}/objects/")).await;
    assert_eq!(s, StatusCode::OK);
    let objs = v["objects"].as_array().unwrap();
    assert_eq!(objs.len(), 1);
    assert_eq!(objs[0]["pattern"], "[ipv4-addr:value = '192.0.2.1']");
    let out = out_records(&store);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0]["decision"]["action"], "redacted");
    assert_eq!(out[0]["decision"]["fields"], json!(["pattern"]));
    // The record's hash is of the bytes that left, not of the stored ones.
    let sent = serde_json::to_string(&objs[0]).unwrap();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(sent.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(out[0]["sha256"], hex.as_str());
}
