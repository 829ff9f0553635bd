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

/// An observed-data and the e-mail address it observed, read by a partner
/// whose agreement pseudonymises personal data: the address leaves under
/// the UUIDv5 of its pseudonym, and the observed-data's reference is that
/// id (the link holds), while neither the address nor its original id
/// appears anywhere in what the partner read.
#[tokio::test]
async fn a_reference_follows_the_released_observable() {
    let (_dir, app, _store) = app();
    let mut addr = json!({
        "type": "email-addr", "spec_version": "2.1",
        "value": "victim.zhang@example.cn"
    });
    let Value::Object(m) = addr.clone() else {
        unreachable!()
    };
    let old_id = accord_stix::deterministic_sco_id(&accord_stix::Object::from_map(m)).unwrap();
    addr["id"] = json!(old_id);
    // Someone else's address, not held here: its reference falls back.
    let absent = "email-addr--6f1a8c59-4a7f-5e47-9d22-0c8c2d5b8e11";
    let t = "2026-01-01T00:00:00.000Z";
    let observed = json!({
        "type": "observed-data", "spec_version": "2.1",
        "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
        "created": t, "modified": t,
        "first_observed": t, "last_observed": t, "number_observed": 1,
        "object_refs": [old_id, absent]
    });
    // The observed-data first: the reference is resolved whatever the
    // order the objects were stored in.
    post(&app, "analyst", vec![observed.clone(), addr.clone()]).await;

    for partner in ["eu", "us"] {
        let got = objects(&app, partner).await;
        assert_eq!(got.len(), 2, "{got:?}");
        let text = Value::Array(got.clone()).to_string();
        assert!(!text.contains("victim.zhang"), "{partner}: {text}");
        assert!(!text.contains(&old_id), "{partner}: {text}");
        assert!(!text.contains(absent), "{partner}: {text}");
        let od = got.iter().find(|o| o["type"] == "observed-data").unwrap();
        let ea = got.iter().find(|o| o["type"] == "email-addr").unwrap();
        // The SDO keeps its id; the address has a new one.
        assert_eq!(od["id"], observed["id"]);
        assert!(
            ea["value"]
                .as_str()
                .unwrap()
                .ends_with("@pseudonym.invalid"),
            "{ea}"
        );
        // The new id is the UUIDv5 of what was released (§2.9).
        let Value::Object(m) = ea.clone() else {
            unreachable!()
        };
        let expected =
            accord_stix::deterministic_sco_id(&accord_stix::Object::from_map(m)).unwrap();
        assert_eq!(ea["id"], expected.as_str());
        let refs = od["object_refs"].as_array().unwrap();
        assert_eq!(
            refs[0], ea["id"],
            "{partner}: the link to the address holds"
        );
        let fallback = refs[1].as_str().unwrap();
        assert!(
            fallback.starts_with("email-addr--") && fallback != absent,
            "{fallback}"
        );
        // The manifest lists the same ids.
        let (s, v, _) = call(
            &app,
            "GET",
            &format!("/api1/collections/{C1}/manifest/"),
            &basic(partner, "pw"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let listed: Vec<&Value> = v["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["id"])
            .collect();
        assert_eq!(listed, [&od["id"], &ea["id"]], "{v}");
    }
    // Two partners: two pseudonyms, two ids, each link holding.
    let eu = objects(&app, "eu").await;
    let us = objects(&app, "us").await;
    let ea = |v: &[Value]| v.iter().find(|o| o["type"] == "email-addr").unwrap()["id"].clone();
    assert_ne!(ea(&eu), ea(&us));
}

/// Custom TLP:RED marking-definitions withhold what they mark, as the
/// standard RED does. A TLP 1.0 style one (`definition_type: "tlp"`, not
/// one of the four standard ids) is refused at the door (§7.2.1.4), so the
/// node does not hold it: what it marks is withheld all the same (a marking
/// the node cannot read could be RED). One OpenCTI writes
/// (`definition_type: "TLP"`, `{"TLP": "TLP:RED"}`) is stored and read as
/// RED. A statement marking changes nothing.
#[tokio::test]
async fn a_custom_red_marking_never_leaves() {
    let (_dir, app, store) = app();
    let t = "2026-01-01T00:00:00.000Z";
    let red1 = "marking-definition--7a3f1e52-9c1d-4d2b-a8a0-3e2b1f0c9d44";
    let red_octi = "marking-definition--7a3f1e52-9c1d-4d2b-a8a0-3e2b1f0c9d45";
    let statement = "marking-definition--7a3f1e52-9c1d-4d2b-a8a0-3e2b1f0c9d46";
    let tlp1_red = json!({
        "type": "marking-definition", "spec_version": "2.1", "id": red1,
        "created": t, "name": "TLP:RED",
        "definition_type": "tlp", "definition": { "tlp": "red" }
    });
    let (s, v, _) = call(
        &app,
        "POST",
        &format!("/api1/collections/{C1}/objects/"),
        &basic("analyst", "pw"),
        Some(json!({ "objects": [tlp1_red] })),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["failure_count"], 1, "refused: {v}");
    let defs = vec![
        json!({
            "type": "marking-definition", "spec_version": "2.1", "id": red_octi,
            "created": t, "name": "TLP:RED",
            "definition_type": "TLP", "definition": { "TLP": "TLP:RED" }
        }),
        json!({
            "type": "marking-definition", "spec_version": "2.1", "id": statement,
            "created": t, "definition_type": "statement",
            "definition": { "statement": "Copyright CERT" }
        }),
    ];
    let tlp1_marked = indicator(11, json!({ "object_marking_refs": [red1] }));
    let octi_marked = indicator(12, json!({ "object_marking_refs": [red_octi] }));
    let granular = indicator(
        13,
        json!({ "granular_markings": [{ "selectors": ["pattern"], "marking_ref": red_octi }] }),
    );
    let stated = indicator(14, json!({ "object_marking_refs": [statement] }));
    let mut all = defs.clone();
    all.extend([
        tlp1_marked.clone(),
        octi_marked.clone(),
        granular.clone(),
        stated.clone(),
    ]);
    post(&app, "analyst", all).await;

    for partner in ["eu", "us"] {
        let got = objects(&app, partner).await;
        let ids: Vec<&str> = got.iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [red_octi, statement, stated["id"].as_str().unwrap()],
            "{partner}: the definitions and the statement-marked indicator only"
        );
        // Asked for by id, nothing either.
        for o in [&tlp1_marked, &octi_marked, &granular] {
            let id = o["id"].as_str().unwrap();
            let (s, v, _) = call(
                &app,
                "GET",
                &format!("/api1/collections/{C1}/objects/{id}/"),
                &basic(partner, "pw"),
                None,
            )
            .await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{id}: {v}");
        }
    }
    let recs: Vec<Value> = out_records(&store)
        .into_iter()
        .filter(|r| r["partner"] == "eu")
        .collect();
    let reason =
        |id: &Value| recs.iter().find(|r| r["object_id"] == *id).unwrap()["decision"].to_string();
    assert!(reason(&octi_marked["id"]).contains("TLP:RED"), "{recs:?}");
    assert!(reason(&granular["id"]).contains("TLP:RED"), "{recs:?}");
    let r = reason(&tlp1_marked["id"]);
    assert!(r.contains(red1) && r.contains("cannot be read"), "{r}");
    // The node's own analyst reads everything it holds.
    assert_eq!(objects(&app, "analyst").await.len(), 6);
}
