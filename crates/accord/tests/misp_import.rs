//! `accord import misp` on the real MISP events in `../shared/data/misp/events`:
//! the output validates (Accord's seam and stix2-validator), re-import
//! stores nothing, a newer timestamp stores a new version, a feed's
//! `hashes.csv` is checked; and a differential test against MISP's own
//! `misp-stix` (`MISPtoSTIX21Parser`, in the test venv; `ACCORD_PYTHON`).

mod common;

use common::{accord, assert_stix2_valid, text};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn samples() -> Option<Vec<PathBuf>> {
    let dir = accord_testkit::shared("misp/events")?;
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    Some(v)
}

/// The numbers of the summary line: `N stored`, `N duplicates`, …
fn summary(out: &str, what: &str) -> u64 {
    let line = out
        .lines()
        .rev()
        .find(|l| l.contains(" STIX objects, "))
        .unwrap_or_else(|| panic!("no summary in:\n{out}"));
    let i = line
        .find(&format!(" {what}"))
        .unwrap_or_else(|| panic!("no `{what}` in {line}"));
    let head = &line[..i];
    head.rsplit([' ', '(']).next().unwrap().parse().unwrap()
}

fn import(data: &Path, paths: &[&Path]) -> (bool, String) {
    let mut args = vec![
        "import",
        "misp",
        "--no-progress",
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let o = accord(&args);
    (o.status.success(), text(&o))
}

fn export(data: &Path, out: &Path) {
    let o = accord(&[
        "export",
        "--data",
        data.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn samples_import_validate_and_reimport_changes_nothing() {
    let Some(files) = samples() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let data = tmp.path().join(name);
        let (_, out) = import(&data, &[f]);
        let is_misp =
            accord_misp::parse_document(&std::fs::read(f).unwrap(), &Default::default()).is_ok();
        if !is_misp {
            // The STIX 2.0 bundle and the JSON schema are reported as such.
            assert!(out.contains("not a MISP event"), "{name}: {out}");
            if name.contains("stix20") {
                assert!(out.contains("STIX bundle"), "{out}");
            }
            continue;
        }
        assert_eq!(summary(&out, "rejected"), 0, "{name}: {out}");
        let stored = summary(&out, "stored");
        assert!(stored > 0, "{name}: {out}");
        let bundle = tmp.path().join(format!("{name}.bundle.json"));
        export(&data, &bundle);
        assert_stix2_valid(&bundle, name);
        // Again: nothing new.
        let (_, again) = import(&data, &[f]);
        assert_eq!(summary(&again, "stored"), 0, "{name}: {again}");
        assert_eq!(
            summary(&again, "duplicates"),
            summary(&again, "STIX objects,"),
            "{again}"
        );
    }
}

#[test]
fn a_newer_attribute_timestamp_is_a_new_version() {
    let Some(dir) = accord_testkit::shared("misp/events") else {
        return;
    };
    let src = dir.join("57c4445b-c548-4654-af0b-4be3950d210f.json");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let (_, out) = import(&data, &[&src]);
    let first = summary(&out, "stored");
    let mut ev: Value = serde_json::from_slice(&std::fs::read(&src).unwrap()).unwrap();
    // An IDS-flagged attribute (md5) and the event are edited in MISP.
    let attrs = ev["Event"]["Attribute"].as_array_mut().unwrap();
    let a = attrs.iter_mut().find(|a| a["type"] == "md5").unwrap();
    let uuid = a["uuid"].as_str().unwrap().to_owned();
    a["timestamp"] = json!("1472600000");
    ev["Event"]["timestamp"] = json!("1472600000");
    let edited = tmp.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_vec(&ev).unwrap()).unwrap();
    let (_, out) = import(&data, &[&edited]);
    // The indicator and the report: two new versions, the rest duplicates.
    assert_eq!(summary(&out, "stored"), 2, "{out}");
    assert_eq!(summary(&out, "duplicates"), first - 2, "{out}");
    let bundle = tmp.path().join("b.json");
    export(&data, &bundle);
    let b: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let ind = b["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["id"] == format!("indicator--{uuid}"))
        .map(|o| o["modified"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(
        ind.contains(&"2016-08-30T23:33:20.000Z".to_owned()),
        "{ind:?}"
    );
}

#[test]
fn bad_input_is_reported_with_uuids_and_the_rest_imported() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = json!({"Event": {"uuid": "5758ebf5-c898-48e6-9fe9-5665c0a83866", "info": "bad", "timestamp": "1465681801",
    "Attribute": [
        {"uuid": "575c8598-f1f0-4c16-a94a-0612c0a83866", "type": "ip-dst", "value": "999.1.1.1", "to_ids": true},
        {"uuid": "575c8598-f1f0-4c16-a94a-0612c0a83867", "type": "md5", "value": "abc", "to_ids": true},
        {"uuid": "575c8598-f1f0-4c16-a94a-0612c0a83868", "type": "frobnicate", "value": "x"},
        {"uuid": "575c8598-broken", "type": "domain", "value": "a.example"},
        {"uuid": "575c8598-f1f0-4c16-a94a-0612c0a83869", "type": "domain", "value": "evil.example", "to_ids": true}
    ]}});
    let f = tmp.path().join("bad.json");
    std::fs::write(&f, ev.to_string()).unwrap();
    let (ok, out) = import(&tmp.path().join("d"), &[&f]);
    assert!(!ok, "problems give exit status 1");
    for needle in [
        "event 5758ebf5-c898-48e6-9fe9-5665c0a83866, attribute 575c8598-f1f0-4c16-a94a-0612c0a83866: value `999.1.1.1` is not a valid ip-dst",
        "attribute 575c8598-f1f0-4c16-a94a-0612c0a83867: value `abc` is not a valid md5",
        "attribute 575c8598-f1f0-4c16-a94a-0612c0a83868: unknown attribute type `frobnicate`",
        "attribute 575c8598-broken: broken uuid",
    ] {
        assert!(out.contains(needle), "{needle}\n{out}");
    }
    // The good attribute and the report.
    assert_eq!(summary(&out, "stored"), 2, "{out}");
}

#[test]
fn a_feed_directory_is_read_and_its_hashes_checked() {
    let Some(dir) = accord_testkit::shared("misp/events") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let feed = tmp.path().join("feed");
    std::fs::create_dir(&feed).unwrap();
    let mut manifest = serde_json::Map::new();
    let mut hashes = String::new();
    for name in [
        "57c4445b-c548-4654-af0b-4be3950d210f.json",
        "event-with-sighting-galaxy.json",
    ] {
        let v: Value = serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap();
        let ev = match v.get("Event") {
            Some(e) => e.clone(),
            None => v,
        };
        let uuid = ev["uuid"].as_str().unwrap().to_owned();
        let text = ev.to_string();
        let parsed = accord_misp::parse_document(text.as_bytes(), &Default::default()).unwrap();
        for h in accord_misp::feed_hashes(&parsed[0]) {
            hashes.push_str(&format!("{h},{uuid}\n"));
        }
        manifest.insert(uuid.clone(), json!({"info": ev["info"]}));
        std::fs::write(
            feed.join(format!("{uuid}.json")),
            json!({"Event": ev}).to_string(),
        )
        .unwrap();
    }
    std::fs::write(
        feed.join("manifest.json"),
        Value::Object(manifest).to_string(),
    )
    .unwrap();
    std::fs::write(feed.join("hashes.csv"), &hashes).unwrap();
    let (_, out) = import(&tmp.path().join("d"), &[&feed]);
    assert!(!out.contains("hashes.csv disagrees"), "{out}");
    assert!(out.contains(" 2 events,"), "{out}");
    // One line removed: the event it belonged to is named, and imported.
    let first = hashes.lines().next().unwrap().to_owned();
    std::fs::write(
        feed.join("hashes.csv"),
        hashes.replacen(&format!("{first}\n"), "", 1),
    )
    .unwrap();
    let (_, out) = import(&tmp.path().join("d2"), &[&feed]);
    assert!(
        out.contains("event 57c4445b-c548-4654-af0b-4be3950d210f: hashes.csv disagrees with the event: 1 of its"),
        "{out}"
    );
    assert!(summary(&out, "stored") > 0, "{out}");
}

/// Counts per MISP type (from the `misp:type` / `misp:name` labels).
#[derive(Default, Debug)]
struct Side {
    indicators: BTreeMap<String, i64>,
    observables: BTreeMap<String, i64>,
    custom: BTreeMap<String, i64>,
    patterns: Vec<String>,
}

fn label_type(o: &Value) -> String {
    for l in o["labels"].as_array().into_iter().flatten() {
        let l = l.as_str().unwrap();
        for k in ["misp:type=", "misp:name="] {
            if let Some(t) = l.strip_prefix(k) {
                return t.trim_matches('"').to_owned();
            }
        }
    }
    "?".into()
}

fn ours(ev: &Value) -> Side {
    let text = ev.to_string();
    let parsed = accord_misp::parse_document(text.as_bytes(), &Default::default()).unwrap();
    let c = accord_misp::convert_event(&parsed[0], &Default::default(), &accord_misp::NoAttack);
    let mut s = Side::default();
    for o in &c.values().unwrap() {
        let t = label_type(o);
        match o["type"].as_str().unwrap() {
            "indicator" => {
                *s.indicators.entry(t).or_default() += 1;
                s.patterns.push(o["pattern"].as_str().unwrap().to_owned());
            }
            "observed-data" => *s.observables.entry(t).or_default() += 1,
            "note" => *s.custom.entry(t).or_default() += 1,
            _ => {}
        }
    }
    s
}

fn theirs(file: &Path) -> Result<Side, String> {
    let py = accord_testkit::python("misp_stix_converter");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/misp_diff.py");
    let o = std::process::Command::new(py)
        .arg(script)
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    if let Some(e) = v.get("error") {
        return Err(e.as_str().unwrap().to_owned());
    }
    let map = |k: &str| {
        v[k].as_object()
            .unwrap()
            .iter()
            .map(|(t, n)| (t.clone(), n.as_i64().unwrap()))
            .collect()
    };
    Ok(Side {
        indicators: map("indicators"),
        observables: map("observables"),
        custom: map("custom"),
        patterns: v["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect(),
    })
}

/// The IDS-flagged values of an event (each part of a composite value),
/// as they are written inside a pattern's quotes.
fn ids_values(ev: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut one = |a: &Value| {
        if a["to_ids"] == json!(true) {
            let ty = a["type"].as_str().unwrap();
            for part in a["value"].as_str().unwrap().split('|') {
                out.push((
                    ty.to_owned(),
                    part.trim().replace('\\', "\\\\").replace('\'', "\\'"),
                ));
            }
        }
    };
    ev["Attribute"]
        .as_array()
        .into_iter()
        .flatten()
        .for_each(&mut one);
    for o in ev["Object"].as_array().into_iter().flatten() {
        o["Attribute"]
            .as_array()
            .into_iter()
            .flatten()
            .for_each(&mut one);
    }
    out
}

/// Documented differences of the counts (`accord_misp::DIFFERENCES` says why).
/// (sample, what, MISP type, reason).
const DOCUMENTED: &[(&str, &str, &str, &str)] = &[(
    "event-with-sighting-galaxy.json",
    "*",
    "*",
    "misp-stix fails on this event (a malware galaxy cluster without uuid: `malware--`); Accord converts it",
)];

#[test]
fn differential_against_misp_stix() {
    let Some(files) = samples() else { return };
    let mut compared = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let bytes = std::fs::read(f).unwrap();
        if accord_misp::parse_document(&bytes, &Default::default()).is_err() {
            continue;
        }
        // The samples hold one event each, bare or as `{"Event": …}`.
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let ev = v.get("Event").unwrap_or(&v);
        let us = ours(ev);
        // Every IDS-flagged value is in one of our patterns.
        for (ty, v) in ids_values(ev) {
            assert!(
                us.patterns.iter().any(|p| p.contains(&v)),
                "{name}: {ty} `{v}` in none of our patterns"
            );
        }
        let them = match theirs(f) {
            Ok(t) => t,
            Err(e) => {
                assert!(
                    DOCUMENTED.iter().any(|d| d.0 == name && d.1 == "*"),
                    "{name}: misp-stix failed, not documented: {e}"
                );
                continue;
            }
        };
        compared += 1;
        // misp-stix also escapes `%` (as `\\%`, for LIKE): compared with
        // every backslash removed on both sides.
        let bare = |s: &str| s.replace('\\', "");
        for (ty, v) in ids_values(ev) {
            assert!(
                them.patterns.iter().any(|p| bare(p).contains(&bare(&v))),
                "{name}: {ty} `{v}` in none of misp-stix's patterns"
            );
        }
        // Indicators per type agree.
        assert_eq!(
            us.indicators, them.indicators,
            "{name}: indicators per MISP type"
        );
        // misp-stix adds an observed-data for each indicator of an
        // observable type (DIFFERENCES[0]): theirs = our observed-data +
        // our indicators, rules (snort, yara, …) aside.
        let mut expected = us.observables.clone();
        for (t, n) in &us.indicators {
            if !matches!(t.as_str(), "snort" | "yara" | "sigma" | "suricata") {
                *expected.entry(t.clone()).or_default() += n;
            }
        }
        assert_eq!(
            expected, them.observables,
            "{name}: observables per MISP type"
        );
        // Attributes with no observable: our notes, their x-misp-attribute.
        assert_eq!(
            us.custom, them.custom,
            "{name}: attributes without an observable"
        );
    }
    assert!(compared >= 3, "only {compared} samples compared");
}

#[test]
fn the_readme_lists_every_documented_difference() {
    let readme = std::fs::read_to_string(accord_testkit::repo("README.md")).unwrap();
    for d in accord_misp::DIFFERENCES {
        assert!(readme.contains(&format!("- {d}\n")), "README.md lacks: {d}");
    }
}

#[test]
fn attack_techniques_resolve_to_stored_attack_patterns() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let ap = "attack-pattern--7385dfaf-6886-4229-9ecd-6fd678040830";
    let bundle = json!({"type": "bundle", "id": "bundle--0b7d6d0e-8b3f-4c4e-9b1a-2a3c4d5e6f70", "objects": [
        {"type": "attack-pattern", "spec_version": "2.1", "id": ap, "created": "2017-05-31T21:30:49.546Z",
         "modified": "2020-03-09T13:50:37.297Z", "name": "Command and Scripting Interpreter",
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1059",
                                   "url": "https://attack.mitre.org/techniques/T1059"}]}]});
    let b = tmp.path().join("attack.json");
    std::fs::write(&b, bundle.to_string()).unwrap();
    let o = accord(&[
        "ingest",
        "--no-progress",
        "--collection",
        "attack",
        "--data",
        data.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let ev = json!({"Event": {"uuid": "5758ebf5-c898-48e6-9fe9-5665c0a83866", "info": "attack", "timestamp": "1465681801",
        "Tag": [{"name": "misp-galaxy:mitre-attack-pattern=\"Command-Line Interface - T1059\""}],
        "Attribute": [{"uuid": "575c8598-f1f0-4c16-a94a-0612c0a83869", "type": "domain", "value": "evil.example", "to_ids": true,
            "Galaxy": [{"type": "mitre-attack-pattern", "GalaxyCluster": [{"value": "Command-Line Interface - T1059", "meta": {"external_id": ["T1059"]}}]}]}]}});
    let f = tmp.path().join("ev.json");
    std::fs::write(&f, ev.to_string()).unwrap();
    let (ok, out) = import(&data, &[&f]);
    assert!(ok, "{out}");
    let bundle = tmp.path().join("out.json");
    export(&data, &bundle);
    let b: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let objs = b["objects"].as_array().unwrap();
    let report = objs
        .iter()
        .find(|o| o["id"] == "report--5758ebf5-c898-48e6-9fe9-5665c0a83866")
        .unwrap();
    assert!(
        report["object_refs"]
            .as_array()
            .unwrap()
            .contains(&json!(ap)),
        "{report}"
    );
    assert!(
        report["external_references"]
            .to_string()
            .contains("\"external_id\":\"T1059\"")
    );
    let rel = objs
        .iter()
        .find(|o| o["type"] == "relationship" && o["target_ref"] == ap)
        .expect("an indicates relationship to the attack-pattern");
    assert_eq!(
        rel["source_ref"],
        "indicator--575c8598-f1f0-4c16-a94a-0612c0a83869"
    );
    assert_eq!(rel["relationship_type"], "indicates");
}

/// What comes in from MISP is inbound like any other data: an IDS
/// attribute pointing into a protected facility opens its critical case
/// (with `--config`), and warninglisted values are counted.
#[test]
fn an_imported_attribute_touching_a_facility_opens_its_case() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, _, _) = common::init(tmp.path(), "n", "admin");
    let o = accord(&[
        "facility",
        "add",
        "--config",
        common::p(&config),
        "--name",
        "Example Exchange",
        "--jurisdiction",
        "DE",
        "--network",
        "198.51.100.0/24",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let event = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo/misp/event.json");
    let o = accord(&[
        "import",
        "misp",
        "--no-progress",
        "--data",
        common::p(&tmp.path().join("n")),
        "--config",
        common::p(&config),
        common::p(&event),
    ]);
    let out = text(&o);
    assert!(out.contains("protected facility Example Exchange"), "{out}");
    let o = accord(&["hotline", "list", "--json", "--config", common::p(&config)]);
    let cases = text(&o);
    assert!(cases.contains("\"severity\":\"critical\""), "{cases}");
    assert!(cases.contains("Example Exchange"), "{cases}");
}
