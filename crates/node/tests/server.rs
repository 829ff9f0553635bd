//! The TAXII server's behaviour through its router, without a socket:
//! paging under concurrent writes, limits, rights, errors.

use accord_app::config::Config;
use accord_node::auth::{hash_password, token_digest};
use accord_node::server::{AppState, router};
use accord_store::SqliteStore;
use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

mod common;
use common::{basic, call};

const C1: &str = "11111111-1111-4111-8111-111111111111";
const C2: &str = "22222222-2222-4222-8222-222222222222";

fn app(max_content_length: u64) -> (tempfile::TempDir, Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (dir, app_on(max_content_length, store))
}

fn app_on(max_content_length: u64, store: SqliteStore) -> Router {
    router(AppState::new(
        config(max_content_length, ""),
        Box::new(store),
    ))
}

/// The test configuration, with `more_limits` lines added to `[limits]`.
fn config(max_content_length: u64, more_limits: &str) -> Config {
    let text = format!(
        r#"
data_dir = "unused"
[limits]
max_page_size = 50
default_page_size = 20
max_content_length = {max_content_length}
{more_limits}
[[api_roots]]
name = "api1"
title = "Root"
[[api_roots.collections]]
id = "{C1}"
title = "One"
[[api_roots.collections]]
id = "{C2}"
alias = "two"
title = "Two"
[[accounts]]
name = "rw"
password_hash = "{rw}"
read = ["*"]
write = ["*"]
[[accounts]]
name = "reader"
password_hash = "{ro}"
token_sha256 = ["{tok}"]
read = ["{C1}"]
"#,
        rw = hash_password("rw-pass").unwrap(),
        ro = hash_password("ro-pass").unwrap(),
        tok = token_digest("reader-token"),
    );
    Config::parse(&text, "test.toml").unwrap()
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

/// A GET as the `rw` account: status and JSON body.
async fn get_as_rw(app: &Router, uri: &str) -> (StatusCode, Value) {
    let (s, v, _) = call(app, "GET", uri, &basic("rw", "rw-pass"), None).await;
    (s, v)
}

async fn post(app: &Router, coll: &str, objs: Vec<Value>) -> Value {
    let (s, v, _) = call(
        app,
        "POST",
        &format!("/api1/collections/{coll}/objects/"),
        &basic("rw", "rw-pass"),
        Some(json!({"objects": objs})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    v
}

#[tokio::test]
async fn paging_never_skips_or_repeats_while_objects_are_added() {
    let (_d, app) = app(1 << 20);
    post(&app, C1, (0..95).map(indicator).collect()).await;
    let auth = basic("rw", "rw-pass");
    let mut seen = Vec::new();
    let mut uri = format!("/api1/collections/{C1}/objects/?limit=10");
    let mut added = 1000;
    loop {
        let (s, v, h) = call(&app, "GET", &uri, &auth, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let objs = v["objects"].as_array().cloned().unwrap_or_default();
        if !objs.is_empty() {
            assert!(
                h.contains_key("x-taxii-date-added-first")
                    && h.contains_key("x-taxii-date-added-last")
            );
        }
        seen.extend(objs.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        // Objects arrive between pages.
        post(&app, C1, vec![indicator(added)]).await;
        added += 1;
        if v["more"] != json!(true) {
            break;
        }
        uri = format!(
            "/api1/collections/{C1}/objects/?next={}",
            v["next"].as_str().unwrap()
        );
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no object twice");
    for n in 0..95 {
        assert!(
            unique.contains(&indicator(n)["id"].as_str().unwrap().to_owned()),
            "object {n} not skipped"
        );
    }
    // Objects added during paging come after the first ones, in order.
    assert!(seen.len() >= 95);
}

#[tokio::test]
async fn a_page_ends_at_its_byte_bound_and_paging_gets_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let app = router(AppState::new(
        config(1 << 20, "max_page_bytes = 2000"),
        Box::new(store),
    ));
    post(&app, C1, (0..30).map(indicator).collect()).await;
    let auth = basic("rw", "rw-pass");
    let mut seen = Vec::new();
    let mut uri = format!("/api1/collections/{C1}/objects/?limit=50");
    let mut pages = 0;
    loop {
        let (s, v, _) = call(&app, "GET", &uri, &auth, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let objs = v["objects"].as_array().cloned().unwrap_or_default();
        let sizes: Vec<usize> = objs.iter().map(|o| o.to_string().len()).collect();
        // Every object but the last is under the bound (the stored JSON is
        // the posted one: a few bytes either way of serde's).
        assert!(
            sizes.iter().rev().skip(1).sum::<usize>() < 2000,
            "{sizes:?}"
        );
        assert!(!objs.is_empty());
        seen.extend(objs.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        pages += 1;
        if v["more"] != json!(true) {
            break;
        }
        uri = format!(
            "/api1/collections/{C1}/objects/?limit=50&next={}",
            v["next"].as_str().unwrap()
        );
    }
    assert!(
        pages >= 4,
        "30 objects of ~300 bytes in pages of 2,000: {pages} pages"
    );
    let want: Vec<String> = (0..30)
        .map(|n| indicator(n)["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, want, "every object once, in order");
}

#[tokio::test]
async fn limits_are_honoured_and_clamped() {
    let (_d, app) = app(1 << 20);
    post(&app, C1, (0..60).map(indicator).collect()).await;
    let auth = basic("rw", "rw-pass");
    let (_, v, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/objects/"),
        &auth,
        None,
    )
    .await;
    assert_eq!(
        v["objects"].as_array().unwrap().len(),
        20,
        "default page size"
    );
    let (_, v, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/objects/?limit=1000"),
        &auth,
        None,
    )
    .await;
    assert_eq!(
        v["objects"].as_array().unwrap().len(),
        50,
        "clamped to max_page_size"
    );
    assert_eq!(v["more"], json!(true));
    let (s, v, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/objects/?limit=0"),
        &auth,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["description"].as_str().unwrap().contains("limit"), "{v}");
}

#[tokio::test]
async fn rights_and_authentication() {
    let (_d, app) = app(1 << 20);
    post(&app, C1, vec![indicator(1)]).await;
    let reader = basic("reader", "ro-pass");
    // The reader sees only C1, read-only.
    let (_, v, _) = call(&app, "GET", "/api1/collections/", &reader, None).await;
    let colls = v["collections"].as_array().unwrap();
    assert_eq!(colls.len(), 1);
    assert_eq!(colls[0]["can_read"], json!(true));
    assert_eq!(colls[0]["can_write"], json!(false));
    let (s, _, _) = call(
        &app,
        "POST",
        &format!("/api1/collections/{C1}/objects/"),
        &reader,
        Some(json!({"objects": [indicator(2)]})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call(&app, "GET", "/api1/collections/two/objects/", &reader, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Bearer token of the same account.
    let (s, v, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/objects/"),
        "Bearer reader-token",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, h) = call(&app, "GET", "/taxii2/", "Bearer nope", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(h.contains_key("www-authenticate"));
    let (s, v, _) = call(&app, "GET", "/taxii2/", &basic("rw", "wrong"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["http_status"], json!("401"));
}

#[tokio::test]
async fn bad_requests_get_taxii_errors() {
    let (_d, app) = app(2000);
    let auth = basic("rw", "rw-pass");
    // Too large: 413 with a TAXII error.
    let big: Vec<Value> = (0..20).map(indicator).collect();
    let (s, v, _) = call(
        &app,
        "POST",
        &format!("/api1/collections/{C1}/objects/"),
        &auth,
        Some(json!({"objects": big})),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        v["description"]
            .as_str()
            .unwrap()
            .contains("max_content_length")
    );
    // A cursor from another collection.
    post(&app, C1, (0..3).map(indicator).collect()).await;
    let (_, v, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/objects/?limit=1"),
        &auth,
        None,
    )
    .await;
    let next = v["next"].as_str().unwrap().to_owned();
    let (s, v, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C2}/objects/?next={next}"),
        &auth,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _, _) = call(
        &app,
        "GET",
        &format!("/api1/collections/{C1}/objects/?next=garbage"),
        &auth,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Unknown things are 404s.
    for uri in [
        "/nope/",
        "/api1/collections/33333333-3333-4333-8333-333333333333/",
        "/api1/status/x/",
        "/elsewhere",
    ] {
        let (s, v, _) = call(&app, "GET", uri, &auth, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}: {v}");
        assert!(v["title"].is_string());
    }
    // A conflicting version is a failure in the status, not an error.
    let mut changed = indicator(1);
    changed["pattern"] = json!("[ipv4-addr:value = '192.0.2.1']");
    let st = post(&app, C1, vec![changed]).await;
    assert_eq!(st["failure_count"], json!(1));
    assert!(
        st["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already stored")
    );
}

/// An envelope is validated and stored in pieces of 256 objects: invalid
/// objects, duplicates and conflicts in every piece are reported by their
/// place in the whole envelope, and every valid object is stored.
#[tokio::test]
async fn a_large_envelope_reports_each_object_across_pieces() {
    let (_d, app) = app(1 << 24);
    // 1 and 600 exist beforehand: the same (a duplicate) and changed (a conflict).
    post(&app, C1, vec![indicator(1), indicator(600)]).await;
    let mut objs: Vec<Value> = (0..700).map(indicator).collect();
    let mut conflict = indicator(600);
    conflict["pattern"] = json!("[ipv4-addr:value = '192.0.2.1']");
    objs[600] = conflict;
    // Broken objects in the first, second and last piece.
    for i in [5usize, 300, 699] {
        objs[i].as_object_mut().unwrap().remove("pattern");
    }
    objs[257] = json!("not an object");
    let st = post(&app, C1, objs).await;
    assert_eq!(st["total_count"], json!(700));
    assert_eq!(st["failure_count"], json!(5), "{st}");
    assert_eq!(st["success_count"], json!(695));
    let failures = st["failures"].as_array().unwrap();
    let ids: Vec<&str> = failures.iter().map(|f| f["id"].as_str().unwrap()).collect();
    for n in [5u32, 300, 699, 600] {
        assert!(
            ids.contains(&format!("indicator--{n:08x}-0000-4000-8000-000000000000").as_str()),
            "{n}: {ids:?}"
        );
    }
    assert!(
        failures.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .starts_with("object 257 of the envelope")),
        "{failures:?}"
    );
    let dup = st["successes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == indicator(1)["id"])
        .unwrap();
    assert_eq!(dup["message"], json!("already stored, unchanged"));
    // Everything valid is there: 0..700 less the four broken ones, and
    // 600 in its first version.
    let (mut n, mut pages) = (0, 0);
    let mut next = None::<String>;
    loop {
        pages += 1;
        let uri = match &next {
            Some(c) => format!("/api1/collections/{C1}/manifest/?limit=50&next={c}"),
            None => format!("/api1/collections/{C1}/manifest/?limit=50"),
        };
        let (s, v) = get_as_rw(&app, &uri).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        n += v["objects"].as_array().unwrap().len();
        match v["next"].as_str() {
            Some(c) if v["more"] == json!(true) => next = Some(c.to_owned()),
            _ => break,
        }
    }
    assert_eq!(n, 700 - 4);
    // The first page said `more`: 696 in pages of 50.
    assert_eq!(pages, 14);
}

/// A store that fills up part-way through an envelope: the pieces stored
/// are successes, the objects of the pieces refused are failures naming
/// the full store, and what the status calls stored is there. When nothing
/// fits, the POST is a 507.
#[tokio::test]
async fn a_full_store_part_way_through_an_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let writer = store.writer().clone();
    let app = app_on(1 << 24, store);
    post(&app, C1, vec![indicator(1_000_000)]).await;
    let db = dir.path().join(accord_store::DB_FILE_NAME);
    let wal = dir
        .path()
        .join(format!("{}-wal", accord_store::DB_FILE_NAME));
    let used = std::fs::metadata(&db).map_or(0, |m| m.len())
        + std::fs::metadata(&wal).map_or(0, |m| m.len());
    // Room for a piece or two of 256 small indicators, not for 1,000.
    writer.set_max_size_bytes(Some(used + 160 * 1024)).unwrap();
    let st = post(&app, C1, (0..1_000).map(indicator).collect()).await;
    let (ok, failed) = (
        st["success_count"].as_u64().unwrap(),
        st["failure_count"].as_u64().unwrap(),
    );
    assert_eq!(ok + failed, 1_000, "{st}");
    assert!(ok > 0 && failed > 0, "{ok} stored, {failed} failed");
    for f in st["failures"].as_array().unwrap() {
        let m = f["message"].as_str().unwrap();
        assert!(m.starts_with("not stored: ") && m.contains("full"), "{m}");
    }
    for s in st["successes"].as_array().unwrap().iter().step_by(50) {
        let id = s["id"].as_str().unwrap();
        let (code, v) = get_as_rw(&app, &format!("/api1/collections/{C1}/objects/{id}/")).await;
        assert_eq!(code, StatusCode::OK, "{id}: {v}");
    }
    // Nothing fits any more (the limit clamps to the current size; a piece
    // of 256 just failed): the request fails as a whole.
    writer.set_max_size_bytes(Some(0)).unwrap();
    let (code, v, _) = call(
        &app,
        "POST",
        &format!("/api1/collections/{C1}/objects/"),
        &basic("rw", "rw-pass"),
        Some(json!({"objects": (2_000..2_256).map(indicator).collect::<Vec<_>>()})),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::INSUFFICIENT_STORAGE,
        "{} stored",
        v["success_count"]
    );
    assert!(
        v["description"]
            .as_str()
            .unwrap()
            .contains("nothing of this envelope was stored"),
        "{v}"
    );
}

/// One request with a chosen `Accept` and a raw body: status and body.
async fn raw(
    app: &Router,
    method: &str,
    uri: &str,
    accept: &str,
    auth: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String) {
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("accept", accept);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = app
        .clone()
        .oneshot(req.body(axum::body::Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The TAXII group negotiates the media type (also for unknown paths); the
/// ledger group does not, authenticates like TAXII, and takes at most a
/// few KiB in its POST.
#[tokio::test]
async fn route_groups_have_their_own_layers() {
    let (_d, app) = app(1_000_000);
    let auth = basic("rw", "rw-pass");
    let text = "text/plain";
    for uri in ["/taxii2/", "/api1/", "/elsewhere"] {
        let (s, b) = raw(&app, "GET", uri, text, Some(&auth), Vec::new()).await;
        assert_eq!(s, StatusCode::NOT_ACCEPTABLE, "{uri}: {b}");
    }
    // No key file for this node: the checkpoint is 503, not 406.
    let (s, b) = raw(&app, "GET", "/ledger/checkpoint", text, Some(&auth), vec![]).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    let (s, b) = raw(
        &app,
        "GET",
        "/ledger/proof/inclusion?index=0&size=1",
        text,
        Some(&auth),
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b.contains("no leaf 0"), "{b}");
    let (s, b) = raw(&app, "GET", "/ledger/nothing", text, Some(&auth), vec![]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, _) = raw(&app, "GET", "/ledger/checkpoint", text, None, vec![]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The cosignature POST: a small body reaches the handler (503: no
    // keys), a large one is refused with a TAXII error naming the limit.
    let (s, b) = raw(
        &app,
        "POST",
        "/ledger/cosignature",
        text,
        Some(&auth),
        b"note".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    let (s, b) = raw(
        &app,
        "POST",
        "/ledger/cosignature",
        text,
        Some(&auth),
        vec![b'x'; 9000],
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    let v: Value = serde_json::from_str(&b).unwrap();
    assert!(v["description"].as_str().unwrap().contains("8192"), "{b}");
}
