//! `[limits]` on the objects a node receives (issue 17), through a real
//! node on 127.0.0.1: a TAXII POST of an object over a limit is refused
//! with the limit's name and path in its status and stores nothing, and
//! raising the setting in `accord.toml` lets the same object in.

mod common;

use accord_app::config::Config;
use common::start;
use std::net::SocketAddr;

const COLLECTION: &str = "55555555-5555-4555-8555-555555555555";
const MEDIA: &str = "application/taxii+json;version=2.1";

fn config(dir: &std::path::Path, limits: &str) -> Config {
    Config::parse(
        &format!(
            r#"
data_dir = {data}
[limits]
{limits}
[[api_roots]]
name = "api1"
title = "Root"
[[api_roots.collections]]
id = "{COLLECTION}"
title = "C"
[[accounts]]
name = "u"
token_sha256 = ["{token}"]
read = ["*"]
write = ["*"]
"#,
            data = serde_json::Value::String(dir.join("data").display().to_string()),
            token = accord_node::auth::token_digest("t"),
        ),
        "object-limits-test.toml",
    )
    .unwrap()
}

/// A valid indicator whose custom property nests `depth` levels below the
/// object (the object itself is level 1).
fn deep_indicator(depth: usize) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","x_deep":{}1{}}}"#,
        "[".repeat(depth - 1),
        "]".repeat(depth - 1)
    )
}

/// POSTs an envelope of `objects`; returns the status resource.
async fn post(http: &reqwest::Client, addr: SocketAddr, objects: &[String]) -> serde_json::Value {
    let body = format!("{{\"objects\":[{}]}}", objects.join(","));
    let res = http
        .post(format!(
            "http://{addr}/api1/collections/{COLLECTION}/objects/"
        ))
        .bearer_auth("t")
        .header("content-type", MEDIA)
        .header("accept", MEDIA)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202, "{:?}", res.text().await);
    res.json().await.unwrap()
}

/// The ids the collection holds.
async fn stored(http: &reqwest::Client, addr: SocketAddr) -> Vec<String> {
    let res = http
        .get(format!(
            "http://{addr}/api1/collections/{COLLECTION}/objects/"
        ))
        .bearer_auth("t")
        .header("accept", MEDIA)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    v["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_object_over_a_limit_is_refused_by_name_and_the_setting_lets_it_in() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    // Nesting 70 deep: over the default of 64.
    let deep = deep_indicator(70);

    let dir = tempfile::tempdir().unwrap();
    let (addr, rt) = start(config(dir.path(), ""));
    rt.block_on(async {
        let st = post(&http, addr, std::slice::from_ref(&deep)).await;
        assert_eq!(st["success_count"], 0, "{st}");
        assert_eq!(st["failure_count"], 1, "{st}");
        let message = st["failures"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("nesting-depth limit of 64")
                && message.contains("$.x_deep[0]")
                && message.contains("stix_max_depth"),
            "{message}"
        );
        assert!(stored(&http, addr).await.is_empty(), "nothing is stored");
    });
    drop(rt);

    // A smaller limit refuses a long string, naming it and its path.
    let dir = tempfile::tempdir().unwrap();
    let (addr, rt) = start(config(dir.path(), "stix_max_string_bytes = 40"));
    rt.block_on(async {
        let st = post(&http, addr, &[deep_indicator(2)]).await;
        let message = st["failures"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("string-length limit of 40 bytes at $.id"),
            "{message}"
        );
        assert!(stored(&http, addr).await.is_empty());
    });
    drop(rt);

    // Raised in accord.toml, the same object is stored.
    let dir = tempfile::tempdir().unwrap();
    let (addr, rt) = start(config(dir.path(), "stix_max_depth = 80"));
    rt.block_on(async {
        let st = post(&http, addr, std::slice::from_ref(&deep)).await;
        assert_eq!(st["success_count"], 1, "{st}");
        assert_eq!(
            stored(&http, addr).await,
            ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]
        );
    });
}
