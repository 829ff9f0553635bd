//! Agreements on a served node: a partner's GET receives personal data
//! pseudonymised and customer addresses truncated (the `out` record says
//! redacted, naming the fields), TLP:RED is withheld, and what a partner
//! sent is never served back to it.

use accord_app::agreements::exchange_for;
use accord_app::config::Config;
use accord_node::auth::hash_password;
use accord_node::server::{AppState, router};
const TLP2_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
use accord_store::SqliteStore;
use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

mod common;
use common::{basic, call};

const C1: &str = "11111111-1111-4111-8111-111111111111";

fn app() -> (tempfile::TempDir, Router, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let reader = store.try_clone().unwrap();
    let vkey = accord_ledger::LogSigner::from_seed("p.example/log", &[7; 32])
        .unwrap()
        .verifier_key();
    let text = format!(
        r#"
data_dir = "unused"
[residency]
customer_ranges = ["203.0.113.0/24"]
[[api_roots]]
name = "api1"
title = "Root"
[[api_roots.collections]]
id = "{C1}"
title = "One"
[[accounts]]
name = "analyst"
password_hash = "{pw}"
read = ["*"]
write = ["*"]
[[accounts]]
name = "eu"
password_hash = "{pw}"
read = ["*"]
write = ["*"]
[[partners]]
name = "eu"
url = "http://127.0.0.1:9/"
verifier_key = "{vkey}"
[partners.outbound]
max_tlp = "amber"
[partners.outbound.categories]
personal = "pseudonymise"
customer_address = "truncate"
[partners.inbound]
onward = "green"
[[partners]]
name = "us"
url = "http://127.0.0.1:10/"
verifier_key = "{vkey}"
[partners.outbound]
max_tlp = "amber"
[partners.outbound.categories]
personal = "pseudonymise"
customer_address = "truncate"
"#,
        pw = hash_password("pw").unwrap(),
    );
    let text = text.replace(
        "[[accounts]]\nname = \"eu\"",
        &format!(
            "[[accounts]]\nname = \"us\"\npassword_hash = \"{}\"\nread = [\"*\"]\nwrite = [\"*\"]\n[[accounts]]\nname = \"eu\"",
            hash_password("pw").unwrap()
        ),
    );
    let config = Config::parse(&text, "test.toml").unwrap();
    let exchange = exchange_for(&config, dir.path()).unwrap();
    assert!(dir.path().join("pseudonym.key").is_file());
    let state = AppState::with_exchange(config, Box::new(store), exchange);
    (dir, router(state), reader)
}

fn indicator(n: u32, extra: Value) -> Value {
    let mut v = json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-0000-4000-8000-000000000000"),
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

async fn post(app: &Router, user: &str, objs: Vec<Value>) {
    let (s, v, _) = call(
        app,
        "POST",
        &format!("/api1/collections/{C1}/objects/"),
        &basic(user, "pw"),
        Some(json!({ "objects": objs })),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["failure_count"], 0, "{v}");
}

async fn objects(app: &Router, user: &str) -> Vec<Value> {
    let (s, v, _) = call(
        app,
        "GET",
        &format!("/api1/collections/{C1}/objects/"),
        &basic(user, "pw"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["objects"].as_array().cloned().unwrap_or_default()
}

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
async fn a_partner_receives_what_its_agreement_allows() {
    let (_dir, app, store) = app();
    let personal = indicator(
        1,
        json!({
            "description": "reported by alice@victim.example, +49 30 1234567",
            "pattern": "[ipv4-addr:value = '203.0.113.77']"
        }),
    );
    let red = indicator(2, json!({ "object_marking_refs": [TLP2_RED] }));
    let plain = indicator(3, json!({}));
    post(
        &app,
        "analyst",
        vec![personal.clone(), red.clone(), plain.clone()],
    )
    .await;
    // What partner eu sends here is kept as eu's.
    let from_eu = indicator(4, json!({ "name": "from eu" }));
    post(&app, "eu", vec![from_eu.clone()]).await;

    // The node's own user sees everything as stored.
    assert_eq!(objects(&app, "analyst").await.len(), 4);

    let got = objects(&app, "eu").await;
    let ids: Vec<&str> = got.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            personal["id"].as_str().unwrap(),
            plain["id"].as_str().unwrap()
        ],
        "RED withheld, eu's own not sent back"
    );
    let p = &got[0];
    let d = p["description"].as_str().unwrap();
    assert!(
        !d.contains("alice@victim.example") && !d.contains("1234567"),
        "{d}"
    );
    assert!(d.contains("@pseudonym.invalid"), "{d}");
    assert_eq!(p["pattern"], "[ipv4-addr:value = '203.0.113.0/24']");
    assert_eq!(got[1], plain);

    // The same address gets the same pseudonym for eu, another for us.
    let again = objects(&app, "eu").await;
    assert_eq!(again[0]["description"], p["description"]);
    let us = objects(&app, "us").await;
    let us_ids: Vec<&str> = us.iter().map(|o| o["id"].as_str().unwrap()).collect();
    // eu allows green onward: its CLEAR object goes to us.
    assert!(
        us_ids.contains(&from_eu["id"].as_str().unwrap()),
        "{us_ids:?}"
    );
    let us_p = us.iter().find(|o| o["id"] == personal["id"]).unwrap();
    assert_ne!(us_p["description"], p["description"]);

    // The log says what was decided for eu.
    let recs: Vec<Value> = out_records(&store)
        .into_iter()
        .filter(|r| r["partner"] == "eu")
        .collect();
    let of =
        |id: &Value| -> Vec<&Value> { recs.iter().filter(|r| r["object_id"] == *id).collect() };
    let r = of(&personal["id"]);
    assert_eq!(
        r[0]["decision"],
        json!({"action": "redacted", "fields": ["pattern", "description"]})
    );
    let text = of(&red["id"])[0]["decision"].to_string();
    assert!(
        text.contains("withheld") && text.contains("TLP:RED"),
        "{text}"
    );
    let text = of(&from_eu["id"])[0]["decision"].to_string();
    assert!(
        text.contains("withheld") && text.contains("never sent back"),
        "{text}"
    );
}

/// A cyber-observable whose id derives from personal data leaves with
/// another id; asked for by its original id (one object, its versions,
/// `match[id]`, the manifest), the node answers as if it did not exist, so
/// a partner cannot confirm a guessed address by its UUIDv5.
#[tokio::test]
async fn a_guessed_id_confirms_nothing() {
    let (_dir, app, _store) = app();
    // The UUIDv5 of {"value":"victim@example.cn"}: what a partner guessing
    // the address would compute.
    let addr = json!({
        "type": "email-addr", "spec_version": "2.1",
        "id": "email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3",
        "value": "victim.zhang@example.cn"
    });
    let id = addr["id"].as_str().unwrap().to_owned();
    post(&app, "analyst", vec![addr]).await;
    // Listed, it leaves pseudonymised under another id.
    let listed = objects(&app, "eu").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_ne!(listed[0]["id"], id.as_str());
    assert!(!listed[0].to_string().contains("victim"), "{listed:?}");
    let (s, v, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/manifest/"),
        &basic("eu", "pw"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["objects"][0]["id"], listed[0]["id"], "{v}");
    // Asked for by the original id: nothing.
    for path in [
        format!("/api1/collections/{C1}/objects/{id}/"),
        format!("/api1/collections/{C1}/objects/{id}/versions/"),
    ] {
        let (s, v, _) = call(&app, "GET", &path, &basic("eu", "pw"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    for what in ["objects", "manifest"] {
        let (s, v, _) = call(
            &app,
            "GET",
            &format!("/api1/collections/{C1}/{what}/?match[id]={id}"),
            &basic("eu", "pw"),
            None,
        )
        .await;
        assert!(
            s == StatusCode::OK || s == StatusCode::NOT_FOUND,
            "{what}: {s} {v}"
        );
        assert!(
            v["objects"].as_array().is_none_or(Vec::is_empty),
            "{what}: {v}"
        );
    }
    // The node's own analyst still reads it by id.
    let (s, v, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/objects/{id}/"),
        &basic("analyst", "pw"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
