//! MISP warninglists end to end: `accord warninglist update/list/check`,
//! and an indicator on a list (8.8.8.8 on public-dns-v4, 10.1.2.3 on
//! rfc1918) flagged on ingest, never matched by `accord match` (unless
//! `--include-warninglisted`), absent from a Suricata export, and withheld
//! from a partner pulling from the node, the `out` record naming the list.
//!
//! The lists are MISP's own (`../shared/data/misp/warninglists`) when
//! present, else two lists written here with the same ids and entries that
//! matter.

mod common;

use common::{accord, accord_pw, add_partner, init, keys, p, serve, text};
use std::path::{Path, PathBuf};

const DNS: &str = "8.8.8.8";
const PRIVATE: &str = "10.1.2.3";
const OTHER: &str = "198.51.100.7";

fn id(n: u8) -> String {
    format!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd{n:02x}")
}

/// Three indicators: one per address above.
fn indicators(dir: &Path) -> PathBuf {
    let objects: Vec<serde_json::Value> = [DNS, PRIVATE, OTHER]
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            serde_json::json!({
                "type": "indicator", "spec_version": "2.1", "id": id(i as u8),
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00Z", "indicator_types": ["malicious-activity"],
            })
        })
        .collect();
    let bundle = serde_json::json!({
        "type": "bundle", "id": "bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cdff",
        "objects": objects,
    });
    let path = dir.join("indicators.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    path
}

/// Two lists in MISP's format, as the shared ones are named.
fn tiny_lists(dir: &Path) -> PathBuf {
    let lists = dir.join("tiny-lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("public-dns-v4.json"),
        r#"{"name":"List of known IPv4 public DNS resolvers","description":"t","version":1,"type":"cidr","list":["8.8.8.8","8.8.4.4","1.1.1.1"],"matching_attributes":["ip-src","ip-dst","domain|ip"]}"#,
    )
    .unwrap();
    std::fs::write(
        lists.join("rfc1918.json"),
        r#"{"name":"List of RFC 1918 CIDR blocks","description":"t","version":1,"type":"cidr","list":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"],"matching_attributes":["ip-src","ip-dst"]}"#,
    )
    .unwrap();
    std::fs::write(lists.join("schema.json"), r#"{"title":"not a list"}"#).unwrap();
    lists
}

fn hit_ids(hits: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_to_string(hits)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["indicator"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn check_update_and_list_with_bad_lists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let lists = tiny_lists(d);
    std::fs::write(
        lists.join("broken.json"),
        r#"{"name":"Broken","description":"t","version":1,"type":"cidr","list":["10.0.0.0/8","not-an-ip"]}"#,
    )
    .unwrap();
    // Nothing stored yet: check says so.
    let o = accord(&["warninglist", "check", "--data", p(&data), DNS]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = accord(&["warninglist", "update", "--data", p(&data), p(&lists)]);
    let out = text(&o);
    // One list left out, named with its entry; the others stored.
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("broken") && out.contains("\"not-an-ip\""),
        "{out}"
    );
    assert!(out.contains("2 warninglists (6 entries) stored"), "{out}");
    let o = accord(&["warninglist", "list", "--data", p(&data), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let ls = common::json_lines(&String::from_utf8_lossy(&o.stdout));
    let ids: Vec<&str> = ls.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["public-dns-v4", "rfc1918"]);
    assert_eq!(ls[1]["entries"], 3);
    // check: which list, and the exit status.
    let o = accord(&[
        "warninglist",
        "check",
        "--data",
        p(&data),
        "--json",
        DNS,
        PRIVATE,
        OTHER,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = common::json_lines(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(v[0]["lists"][0]["list"], "public-dns-v4");
    assert_eq!(v[1]["lists"][0]["list"], "rfc1918");
    assert_eq!(v[2]["lists"].as_array().unwrap().len(), 0);
    let o = accord(&["warninglist", "check", "--data", p(&data), OTHER]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // The update is a local record in the log, once.
    let records = || -> Vec<serde_json::Value> {
        let o = accord(&["ledger", "entries", "--json", "--data", p(&data)]);
        assert!(o.status.success(), "{}", text(&o));
        common::json_lines(&String::from_utf8_lossy(&o.stdout))
            .into_iter()
            .map(|e| e["record"].clone())
            .filter(|r| r["collection"] == "accord:warninglists")
            .collect()
    };
    assert_eq!(records().len(), 1);
    let o = accord(&["warninglist", "update", "--data", p(&data), p(&lists)]);
    assert!(text(&o).contains("unchanged"), "{}", text(&o));
    assert_eq!(records().len(), 1);
    // A directory with no list: exit 2, the stored lists kept.
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = accord(&["warninglist", "update", "--data", p(&data), p(&empty)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = accord(&["warninglist", "check", "--data", p(&data), DNS]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn warninglisted_indicators_are_flagged_unmatched_unexported_and_withheld() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // MISP's lists when present (else the skip line, and the test's own).
    let lists = accord_testkit::shared("misp/warninglists").unwrap_or_else(|| tiny_lists(d));
    // Node a (account `b` for node b), node b (account `a`).
    let (a_toml, a_pw, a_port) = init(d, "a", "b");
    let (b_toml, b_pw, b_port) = init(d, "b", "a");
    let (ka, kb) = (keys(&a_toml), keys(&b_toml));
    add_partner(&a_toml, "b", b_port, &kb, "a");
    add_partner(&b_toml, "a", a_port, &ka, "b");
    let a_data = d.join("a");
    let o = accord(&["warninglist", "update", "--data", p(&a_data), p(&lists)]);
    assert!(o.status.success(), "{}", text(&o));

    // Ingest: the stored bytes are the file's; the summary flags two.
    let file = indicators(d);
    let o = accord(&["ingest", "--data", p(&a_data), p(&file)]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("2 indicators flagged as warninglisted (public-dns-v4 1, rfc1918 1)"),
        "{out}"
    );

    // Match: a log with all three addresses hits only the third indicator.
    let log = d.join("fw.log");
    std::fs::write(
        &log,
        format!("2026-06-01T00:00:00Z deny {PRIVATE} -> {DNS}\n2026-06-01T00:00:01Z deny {PRIVATE} -> {OTHER}\n"),
    )
    .unwrap();
    let hits = d.join("hits.jsonl");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "match",
            "--data",
            p(&a_data),
            "--format",
            "text",
            "--no-sightings",
            "--hits",
            p(&hits),
            "--no-progress",
        ];
        args.extend_from_slice(extra);
        args.push(p(&log));
        let o = accord(&args);
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    let out = run(&[]);
    assert_eq!(hit_ids(&hits), [id(2)], "{out}");
    assert!(
        out.contains("skipped as warninglisted: 2 indicators (public-dns-v4 1, rfc1918 1)"),
        "{out}"
    );
    let out = run(&["--include-warninglisted"]);
    assert_eq!(hit_ids(&hits), [id(0), id(1), id(2)], "{out}");
    assert!(!out.contains("warninglisted:"), "{out}");

    // A Suricata export leaves them out.
    let sur = d.join("suricata");
    let o = accord(&[
        "export",
        "--data",
        p(&a_data),
        "--format",
        "suricata-dataset",
        "-o",
        p(&sur),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2 indicators left out as warninglisted"),
        "{}",
        text(&o)
    );
    let mut exported = String::new();
    for f in std::fs::read_dir(&sur).unwrap() {
        exported.push_str(&std::fs::read_to_string(f.unwrap().path()).unwrap());
    }
    assert!(exported.contains(OTHER), "{exported}");
    assert!(
        !exported.contains(DNS) && !exported.contains(PRIVATE),
        "{exported}"
    );

    // Partner b pulls from a: the two are withheld, the record says why.
    let _a = serve(&a_toml);
    let _b = serve(&b_toml);
    let from = format!("http://127.0.0.1:{a_port}/api1/collections/default/");
    let o = accord_pw(
        &[
            "sync",
            "--config",
            p(&b_toml),
            "--from",
            &from,
            "--user",
            "b",
            "--into",
            "from-a",
        ],
        &a_pw,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = accord(&["ledger", "entries", "--json", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));
    let out_records: Vec<serde_json::Value> =
        common::json_lines(&String::from_utf8_lossy(&o.stdout))
            .into_iter()
            .map(|e| e["record"].clone())
            .filter(|r| r["direction"] == "out" && r["partner"] == "b")
            .collect();
    let decision = |n: u8| {
        out_records
            .iter()
            .find(|r| r["object_id"] == id(n).as_str())
            .unwrap_or_else(|| panic!("no out record for {}: {out_records:?}", id(n)))["decision"]
            .clone()
    };
    assert_eq!(decision(0)["action"], "withheld");
    assert!(
        decision(0)["reason"]
            .as_str()
            .unwrap()
            .starts_with("warninglist:public-dns-v4"),
        "{:?}",
        decision(0)
    );
    assert!(
        decision(1)["reason"]
            .as_str()
            .unwrap()
            .starts_with("warninglist:rfc1918"),
        "{:?}",
        decision(1)
    );
    assert_eq!(decision(2)["action"], "sent");
    // b holds only the third.
    let o = accord(&[
        "export",
        "--data",
        p(&d.join("b")),
        "--collection",
        "from-a",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let held = String::from_utf8_lossy(&o.stdout);
    assert!(
        held.contains(&id(2)) && !held.contains(&id(0)) && !held.contains(&id(1)),
        "{held}"
    );
    let _ = b_pw;
}
