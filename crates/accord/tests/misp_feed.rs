//! The MISP feed, end to end: a STIX bundle (a report, indicators with TLP
//! 2.0 markings, an observable) ingested; `accord export --format
//! misp-feed` writes a feed whose manifest, event files and `hashes.csv`
//! agree, which PyMISP reads back event by event (`MISPEvent.load_file`)
//! and regenerates the same manifest and hashes from
//! (`pymisp.tools.feed_meta_generator`, its feed code path); a second
//! export is byte for byte the same. Then `accord serve` serves the feed
//! at `/misp-feed/default/…`: a partner's account sees neither the TLP:RED
//! indicator nor the one its agreement withholds, the node's own account
//! sees both, and every object served to the partner has an `out` record.

mod common;
use common::{accord, add_partner, init, keys, p, serve, text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const TLP_GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const TLP_CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
const TLP_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

const A: &str = "indicator--a0000000-0000-4000-8000-000000000001";
const B: &str = "indicator--b0000000-0000-4000-8000-000000000002";
const C: &str = "indicator--c0000000-0000-4000-8000-000000000003";
const D_RED: &str = "indicator--d0000000-0000-4000-8000-000000000004";
const E_INTERNAL: &str = "indicator--e0000000-0000-4000-8000-000000000005";
const F: &str = "indicator--f0000000-0000-4000-8000-000000000006";
const REPORT: &str = "report--90000000-0000-4000-8000-000000000009";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn indicator(id: &str, created: &str, pattern: &str, markings: &[&str], labels: &[&str]) -> Value {
    let mut o = serde_json::json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": created, "modified": created,
        "name": format!("indicator {id}"),
        "pattern": pattern, "pattern_type": "stix", "valid_from": created,
    });
    if !markings.is_empty() {
        o["object_marking_refs"] = serde_json::json!(markings);
    }
    if !labels.is_empty() {
        o["labels"] = serde_json::json!(labels);
    }
    o
}

/// The bundle: report R (TLP:GREEN) lists A and B (and E, which the
/// partner's agreement withholds); C, D (TLP:RED), F and an observable are
/// in no report.
fn bundle() -> Value {
    serde_json::json!({
        "type": "bundle",
        "id": "bundle--00000000-0000-4000-8000-0000000000bb",
        "objects": [
            indicator(A, "2026-11-02T10:00:00.000Z", "[ipv4-addr:value = '198.51.100.10']", &[TLP_GREEN], &["malicious-activity"]),
            indicator(B, "2026-11-02T11:00:00.000Z", "[domain-name:value = 'evil.example']", &[TLP_CLEAR], &[]),
            indicator(C, "2026-11-03T09:00:00.000Z", &format!("[file:name = 'dropper.exe' AND file:hashes.'SHA-256' = '{SHA256}']"), &[], &[]),
            indicator(D_RED, "2026-11-03T12:00:00.000Z", "[url:value = 'http://red.example/secret']", &[TLP_RED], &[]),
            indicator(E_INTERNAL, "2026-11-02T12:00:00.000Z", "[ipv4-addr:value = '203.0.113.5']", &[TLP_GREEN], &["internal-only"]),
            indicator(F, "2026-11-04T08:00:00.000Z", "[ipv4-addr:value = '198.51.100.11'] OR [domain-name:value = 'other.example']", &[], &[]),
            {
                "type": "ipv4-addr", "spec_version": "2.1",
                "id": "ipv4-addr--5e1f1d4f-0b40-5b9e-9a3c-6a0d3f0c6a01",
                "value": "192.0.2.44"
            },
            {
                "type": "report", "spec_version": "2.1", "id": REPORT,
                "created": "2026-11-02T09:00:00.000Z", "modified": "2026-11-05T09:00:00.000Z",
                "name": "Campaign Nightjar", "published": "2026-11-05T09:00:00.000Z",
                "report_types": ["campaign"], "labels": ["campaign-nightjar"],
                "object_marking_refs": [TLP_GREEN],
                "object_refs": [A, B, E_INTERNAL],
            }
        ]
    })
}

/// Where the test keeps the feed it exports: `DIR/feed` (the lead reads it
/// back with `accord import misp DIR/feed` once that command exists).
fn exported_feed(dir: &Path) -> PathBuf {
    dir.join("feed")
}

/// Adds account `name` with the password of the first account.
fn add_account(config: &Path, name: &str) {
    let t = std::fs::read_to_string(config).unwrap();
    let hash = t
        .lines()
        .find(|l| l.starts_with("password_hash = "))
        .unwrap()
        .to_owned();
    std::fs::write(
        config,
        format!("{t}\n[[accounts]]\nname = \"{name}\"\n{hash}\nread = [\"*\"]\nwrite = [\"*\"]\n"),
    )
    .unwrap();
}

fn md5_hex(s: &str) -> String {
    let o = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(o.stdout).unwrap()[..32].to_owned()
}

/// The attributes of a feed event file: (type, value, to_ids, tag names).
type Attr = (String, String, bool, Vec<String>);

fn attrs(event: &Value) -> BTreeMap<String, Attr> {
    event["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let tags = a["Tag"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .map(|t| t["name"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (
                a["uuid"].as_str().unwrap().to_owned(),
                (
                    a["type"].as_str().unwrap().to_owned(),
                    a["value"].as_str().unwrap().to_owned(),
                    a["to_ids"].as_bool().unwrap(),
                    tags,
                ),
            )
        })
        .collect()
}

/// Reads a feed directory: manifest, events by uuid, hashes.csv lines;
/// checks they agree with each other.
fn read_feed(dir: &Path) -> (Value, BTreeMap<String, Value>, BTreeSet<String>) {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let mut events = BTreeMap::new();
    let mut expected = BTreeSet::new();
    for (uuid, entry) in manifest.as_object().unwrap() {
        let e: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{uuid}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(e["Event"]["uuid"], uuid.as_str());
        for k in [
            "info",
            "date",
            "timestamp",
            "analysis",
            "threat_level_id",
            "Orgc",
            "Tag",
        ] {
            assert_eq!(
                e["Event"][k], entry[k],
                "{uuid}: manifest and event disagree on {k}"
            );
        }
        for a in e["Event"]["Attribute"].as_array().unwrap() {
            let (t, v) = (a["type"].as_str().unwrap(), a["value"].as_str().unwrap());
            let parts: Vec<&str> = if t.contains('|') {
                v.split('|').collect()
            } else {
                vec![v]
            };
            for part in parts {
                expected.insert(format!("{},{uuid}", md5_hex(part)));
            }
        }
        events.insert(uuid.clone(), e);
    }
    let hashes: BTreeSet<String> = std::fs::read_to_string(dir.join("hashes.csv"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        hashes, expected,
        "hashes.csv is not the MD5s of the events' values"
    );
    // No event file the manifest does not list.
    for f in std::fs::read_dir(dir).unwrap() {
        let name = f.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".json")
            && stem != "manifest"
        {
            assert!(events.contains_key(stem), "{name} is not in the manifest");
        }
    }
    (manifest, events, hashes)
}

/// Every attribute of every event, by attribute uuid.
fn all_attrs(events: &BTreeMap<String, Value>) -> BTreeMap<String, (String, Attr)> {
    events
        .iter()
        .flat_map(|(u, e)| attrs(e).into_iter().map(move |(k, a)| (k, (u.clone(), a))))
        .collect()
}

const PYMISP_READ: &str = r#"
import json, shutil, sys, pathlib
from pymisp import MISPEvent
from pymisp.tools import feed_meta_generator
src = pathlib.Path(sys.argv[1])
out = {"events": {}}
manifest = json.loads((src / "manifest.json").read_text())
for uuid in manifest:
    ev = MISPEvent()
    ev.load_file(str(src / f"{uuid}.json"))
    out["events"][uuid] = {
        "uuid": ev.uuid, "info": ev.info, "date": ev.date.isoformat(),
        "tags": [t.name for t in ev.tags],
        "attributes": [
            {"uuid": a.uuid, "type": a.type, "category": a.category, "value": a.value,
             "to_ids": a.to_ids, "tags": [t.name for t in a.tags], "comment": a.comment}
            for a in ev.attributes
        ],
    }
# PyMISP's own feed code path: regenerate manifest.json and hashes.csv from the events.
copy = pathlib.Path(sys.argv[2])
shutil.copytree(src, copy)
(copy / "manifest.json").unlink()
(copy / "hashes.csv").unlink()
feed_meta_generator(copy)
out["manifest"] = json.loads((copy / "manifest.json").read_text())
out["hashes"] = sorted((copy / "hashes.csv").read_text().splitlines())
print(json.dumps(out))
"#;

#[test]
fn export_read_back_by_pymisp_and_served_through_the_seam() {
    let python = accord_testkit::python("pymisp");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a_toml, pw, _) = init(d, "a", "ops");
    let bundle_path = d.join("bundle.json");
    std::fs::write(&bundle_path, bundle().to_string()).unwrap();
    let o = accord(&[
        "ingest",
        "--data",
        p(&d.join("a")),
        "--collection",
        "default",
        p(&bundle_path),
    ]);
    assert!(o.status.success(), "{}", text(&o));

    // --- The file export.
    let export = |to: &Path| {
        accord(&[
            "export",
            "--data",
            p(&d.join("a")),
            "--collection",
            "default",
            "--format",
            "misp-feed",
            "--misp-org",
            "CERT-A",
            "-o",
            p(to),
        ])
    };
    let feed = exported_feed(d);
    let o = export(&feed);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("4 events, 7 attributes from 8 objects"),
        "{}",
        text(&o)
    );
    let (manifest, events, hashes) = read_feed(&feed);
    assert_eq!(events.len(), 4, "{manifest}");
    let report_event = "90000000-0000-4000-8000-000000000009";
    let r = &events[report_event]["Event"];
    assert_eq!(r["info"], "Campaign Nightjar");
    assert_eq!(r["date"], "2026-11-05");
    assert_eq!(r["Orgc"]["name"], "CERT-A");
    let rtags: Vec<&str> = r["Tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(rtags, ["tlp:green", "campaign-nightjar"]);
    let all = all_attrs(&events);
    let s = |x: &str| x.to_owned();
    let expect: BTreeMap<&str, (&str, Attr)> = [
        ("a0000000-0000-4000-8000-000000000001", (report_event, (s("ip-dst"), s("198.51.100.10"), true, vec![s("tlp:green"), s("malicious-activity")]))),
        ("b0000000-0000-4000-8000-000000000002", (report_event, (s("domain"), s("evil.example"), true, vec![s("tlp:clear")]))),
        ("e0000000-0000-4000-8000-000000000005", (report_event, (s("ip-dst"), s("203.0.113.5"), true, vec![s("tlp:green"), s("internal-only")]))),
        ("c0000000-0000-4000-8000-000000000003", ("", (s("filename|sha256"), format!("dropper.exe|{SHA256}"), true, vec![]))),
        ("d0000000-0000-4000-8000-000000000004", ("", (s("url"), s("http://red.example/secret"), true, vec![s("tlp:red")]))),
        ("f0000000-0000-4000-8000-000000000006", ("", (s("stix2-pattern"), s("[ipv4-addr:value = '198.51.100.11'] OR [domain-name:value = 'other.example']"), true, vec![]))),
        ("5e1f1d4f-0b40-5b9e-9a3c-6a0d3f0c6a01", ("", (s("ip-dst"), s("192.0.2.44"), false, vec![]))),
    ]
    .into_iter()
    .collect();
    assert_eq!(all.len(), expect.len(), "{all:#?}");
    for (uuid, (event, a)) in &expect {
        let (got_event, got) = &all[*uuid];
        assert_eq!(got, a, "attribute {uuid}");
        if !event.is_empty() {
            assert_eq!(got_event, event, "attribute {uuid} is in the wrong event");
        } else {
            assert_ne!(
                got_event, report_event,
                "attribute {uuid} is in the report's event"
            );
        }
    }
    // C and D were created on 2026-11-03: one day event holds both.
    assert_eq!(
        all["c0000000-0000-4000-8000-000000000003"].0,
        all["d0000000-0000-4000-8000-000000000004"].0
    );

    // --- `accord import misp` reads the feed back: the same events and
    // attributes, every value in the STIX it stores, and a second import
    // stores nothing.
    let back = d.join("back");
    let import = || {
        accord(&[
            "import",
            "misp",
            "--no-progress",
            "--data",
            p(&back),
            p(&feed),
        ])
    };
    let o = import();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("4 events, 7 attributes"), "{out}");
    let o = accord(&["export", "--data", p(&back), "--jsonl"]);
    assert!(o.status.success(), "{}", text(&o));
    let stored = String::from_utf8_lossy(&o.stdout).to_string();
    for (uuid, (_, (_, value, _, _))) in &expect {
        for part in value.split('|') {
            let part = part.replace('\'', "\\'");
            assert!(
                stored.contains(&part) || stored.contains(&part.replace('\\', "")),
                "attribute {uuid}: {part} not in the import:\n{stored}"
            );
        }
    }
    let o = import();
    assert!(text(&o).contains(" 0 stored"), "{}", text(&o));

    // --- PyMISP reads every event as exported, and regenerates the same
    // manifest and hashes.csv from the events.
    let o = Command::new(&python)
        .args(["-c", PYMISP_READ])
        .arg(&feed)
        .arg(d.join("pymisp-copy"))
        .output()
        .unwrap();
    assert!(o.status.success(), "PyMISP: {}", text(&o));
    let py: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        py["manifest"], manifest,
        "PyMISP's manifest of the events differs from ours"
    );
    let py_hashes: BTreeSet<String> = py["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(py_hashes, hashes);
    for (uuid, e) in &events {
        let pe = &py["events"][uuid];
        assert_eq!(pe["uuid"], uuid.as_str());
        assert_eq!(pe["info"], e["Event"]["info"]);
        assert_eq!(pe["date"], e["Event"]["date"]);
        let ours = attrs(e);
        let theirs: BTreeMap<String, Attr> = pe["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["uuid"].as_str().unwrap().to_owned(),
                    (
                        a["type"].as_str().unwrap().to_owned(),
                        a["value"].as_str().unwrap().to_owned(),
                        a["to_ids"].as_bool().unwrap(),
                        a["tags"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|t| t.as_str().unwrap().to_owned())
                            .collect(),
                    ),
                )
            })
            .collect();
        assert_eq!(theirs, ours, "PyMISP reads event {uuid} otherwise");
        for a in pe["attributes"].as_array().unwrap() {
            assert!(
                a["comment"].as_str().unwrap().contains("--"),
                "the STIX id is kept: {a}"
            );
        }
    }

    // --- A second export is the same feed, byte for byte.
    let again = d.join("feed-again");
    let o = export(&again);
    assert!(o.status.success(), "{}", text(&o));
    for f in std::fs::read_dir(&feed).unwrap() {
        let name = f.unwrap().file_name();
        assert_eq!(
            std::fs::read(feed.join(&name)).unwrap(),
            std::fs::read(again.join(&name)).unwrap(),
            "{name:?} differs between two exports"
        );
    }

    // --- Served: partner b (account `b`), whose agreement withholds the
    // `internal-only` label; TLP:RED never leaves.
    add_account(&a_toml, "b");
    let (b_toml, _, b_port) = init(d, "b", "a");
    add_partner(&a_toml, "b", b_port, &keys(&b_toml), "a");
    let mut t = std::fs::read_to_string(&a_toml).unwrap();
    t.push_str("\n[partners.outbound]\nlabels_exclude = [\"internal-only\"]\nmax_tlp = \"amber\"\n\n[partners.sync]\ninterval_secs = 0\n");
    std::fs::write(&a_toml, t).unwrap();
    let base = std::fs::read_to_string(&a_toml)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("listen = \"")
                .map(|r| format!("http://{}", r.trim_end_matches('"')))
        })
        .unwrap();
    let _a = serve(&a_toml);
    let get = |user: &str, path: &str| -> (u16, String) {
        let o = Command::new("curl")
            .args([
                "-s",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                "-u",
                &format!("{user}:{pw}"),
            ])
            .arg(format!("{base}/misp-feed/default/{path}"))
            .output()
            .unwrap();
        let out = String::from_utf8(o.stdout).unwrap();
        let (body, code) = out.rsplit_once('\n').unwrap();
        (code.parse().unwrap(), body.to_owned())
    };
    let served = |user: &str| -> (Value, BTreeMap<String, Value>) {
        let (code, m) = get(user, "manifest.json");
        assert_eq!(code, 200, "{m}");
        let m: Value = serde_json::from_str(&m).unwrap();
        let mut events = BTreeMap::new();
        for uuid in m.as_object().unwrap().keys() {
            let (code, e) = get(user, &format!("{uuid}.json"));
            assert_eq!(code, 200, "{e}");
            events.insert(uuid.clone(), serde_json::from_str::<Value>(&e).unwrap());
        }
        (m, events)
    };
    // The node's own account sees what the file export holds.
    let (m_ops, ev_ops) = served("ops");
    assert_eq!(m_ops.as_object().unwrap().len(), 4);
    let ops_attrs: BTreeSet<String> = all_attrs(&ev_ops).into_keys().collect();
    assert_eq!(ops_attrs, all.keys().cloned().collect());
    // The partner: no TLP:RED indicator, nothing the agreement withholds.
    let (m_b, ev_b) = served("b");
    let b_all = all_attrs(&ev_b);
    let b_values: BTreeSet<&str> = b_all.values().map(|(_, a)| a.1.as_str()).collect();
    assert!(
        !b_values.contains("http://red.example/secret"),
        "TLP:RED served: {b_values:?}"
    );
    assert!(
        !b_values.contains("203.0.113.5"),
        "withheld by the agreement, served: {b_values:?}"
    );
    assert!(
        b_values.contains("198.51.100.10") && b_values.contains("evil.example"),
        "{b_values:?}"
    );
    assert!(
        b_values.contains(format!("dropper.exe|{SHA256}").as_str()),
        "{b_values:?}"
    );
    let m_text = m_b.to_string();
    assert!(m_text.contains("Campaign Nightjar"), "{m_text}");
    assert_eq!(b_all.len(), 5, "{b_all:#?}");
    // hashes.csv as served to b: exactly the MD5s of what b's events hold.
    let (code, h) = get("b", "hashes.csv");
    assert_eq!(code, 200, "{h}");
    let served_hashes: BTreeSet<String> = h.lines().map(str::to_owned).collect();
    let mut expected = BTreeSet::new();
    for (u, e) in &ev_b {
        for (_, (t, v, _, _)) in attrs(e) {
            let parts: Vec<&str> = if t.contains('|') {
                v.split('|').collect()
            } else {
                vec![&v]
            };
            for part in parts {
                expected.insert(format!("{},{u}", md5_hex(part)));
            }
        }
    }
    assert_eq!(served_hashes, expected);
    assert!(
        !h.contains(&md5_hex("203.0.113.5")) && !h.contains(&md5_hex("http://red.example/secret"))
    );
    // Errors: an unknown event, another account's missing rights, no credentials.
    assert_eq!(get("b", "00000000-0000-4000-8000-000000000000.json").0, 404);
    assert_eq!(get("b", "../manifest.json").0, 404);
    let o = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("{base}/misp-feed/default/manifest.json"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "401");

    // The log: `out` records to b for every object b's events carried.
    let o = accord(&["ledger", "entries", "--json", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));
    let records: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["record"].clone())
        .filter(|r| r["direction"] == "out" && r["partner"] == "b")
        .collect();
    for id in [A, B, C, F, REPORT] {
        assert!(
            records
                .iter()
                .any(|r| r["object_id"] == id && r["decision"]["action"] == "sent"),
            "no `out` record of {id} sent to b: {records:#?}"
        );
    }
    for id in [D_RED, E_INTERNAL] {
        assert!(
            records
                .iter()
                .filter(|r| r["object_id"] == id)
                .all(|r| r["decision"]["action"] == "withheld"),
            "{id} recorded as sent to b: {records:#?}"
        );
    }
}
