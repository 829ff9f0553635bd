//! `accord import attack` with MITRE's ICS ATT&CK 18.1 release
//! (`data/demo/stix`, with its license): the techniques are
//! stored, the license is kept beside the copy, a second import changes
//! nothing, and the collection is read-only over TAXII.

mod common;

use common::{accord, init, p, serve, text};
use std::process::Command;

#[test]
fn an_attack_release_is_a_read_only_reference_collection() {
    let stix = accord_testkit::fixture("stix/ics-attack-18.1.json");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Not ATT&CK: refused, nothing stored.
    let data = d.join("a");
    let other = accord_testkit::fixture("stix/oasis-apt1.json");
    let o = accord(&["import", "attack", "--data", p(&data), p(&other)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not an ATT&CK bundle"), "{}", text(&o));
    // No license beside a copy: refused.
    let copy = d.join("ics.json");
    std::fs::copy(&stix, &copy).unwrap();
    let o = accord(&["import", "attack", "--data", p(&data), p(&copy)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("ATTACK-LICENSE.txt"), "{}", text(&o));

    let (toml, password, port) = init(d, "a", "analyst");
    let o = accord(&[
        "import",
        "attack",
        "--data",
        p(&data),
        "--no-progress",
        p(&stix),
    ]);
    let out = text(&o);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{out}");
    assert!(out.contains("ICS ATT&CK 18.1: 95 techniques"), "{out}");
    let license = data.join("reference/attack/ATTACK-LICENSE.txt");
    assert_eq!(
        std::fs::read(&license).unwrap(),
        std::fs::read(stix.parent().unwrap().join("ATTACK-LICENSE.txt")).unwrap()
    );
    // Again: nothing new.
    let o = accord(&[
        "import",
        "attack",
        "--data",
        p(&data),
        "--no-progress",
        p(&stix),
    ]);
    assert!(text(&o).contains(": 0 stored,"), "{}", text(&o));
    let o = accord(&[
        "export",
        "--data",
        p(&data),
        "--collection",
        "attack",
        "--type",
        "attack-pattern",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let bundle: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(bundle["objects"].as_array().unwrap().len(), 95);

    // Indicators by technique: one indicator indicating T0803.
    let own = d.join("own.json");
    std::fs::write(&own, r#"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000a1","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
{"type":"relationship","spec_version":"2.1","id":"relationship--00000000-0000-4000-8000-0000000000b1","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"indicator--00000000-0000-4000-8000-0000000000a1","target_ref":"attack-pattern--008b8f56-6107-48be-aa9f-746f927dbb61"}]}"#).unwrap();
    let o = accord(&["ingest", "--data", p(&data), "--no-progress", p(&own)]);
    assert!(o.status.success(), "{}", text(&o));
    let o = accord(&["report", "techniques", "--data", p(&data), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(b["indicators"], 1);
    assert_eq!(b["techniques"][0]["technique"], "T0803");
    assert_eq!(b["techniques"][0]["name"], "Block Command Message");

    // Served read-only: a POST is refused with the reason.
    let mut t = std::fs::read_to_string(&toml).unwrap();
    t.push_str("\n[[api_roots.collections]]\nid = \"11111111-2222-4333-8444-555555555555\"\nstore_name = \"attack\"\ntitle = \"ATT&CK\"\n");
    std::fs::write(&toml, t).unwrap();
    let _node = serve(&toml);
    let url = format!(
        "http://127.0.0.1:{port}/api1/collections/11111111-2222-4333-8444-555555555555/objects/"
    );
    let get = Command::new("curl")
        .args([
            "-s",
            "-u",
            &format!("analyst:{password}"),
            "-H",
            "Accept: application/taxii+json;version=2.1",
            &format!("{url}?limit=1"),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&get.stdout).contains("\"objects\""),
        "{}",
        text(&get)
    );
    let post = Command::new("curl")
        .args([
            "-s",
            "-w",
            "\n%{http_code}",
            "-u",
            &format!("analyst:{password}"),
            "-H",
            "Content-Type: application/taxii+json;version=2.1",
            "-H",
            "Accept: application/taxii+json;version=2.1",
            "--data",
            r#"{"objects":[]}"#,
            &url,
        ])
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&post.stdout);
    assert!(body.ends_with("403"), "{body}");
    assert!(body.contains("read-only reference collection"), "{body}");
}
