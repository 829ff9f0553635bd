//! `accord report trend` and `reciprocity` in every format: each figure
//! equals the one counted here, independently, from `accord ledger entries
//! --json`; CSV and HTML carry the same figures; the PDF is a PDF (when
//! Chromium is installed).

mod common;

use accord_store::accord_ledger::{Decision, Direction, ExchangeRecord};
use accord_store::{OpenOptions, SqliteStore};
use common::{accord, p, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn rec(
    direction: Direction,
    partner: Option<&str>,
    id: &str,
    decision: Decision,
    time: &str,
) -> ExchangeRecord {
    ExchangeRecord {
        direction,
        partner: partner.map(str::to_owned),
        collection: "default".into(),
        object_id: id.into(),
        modified: Some("2026-01-01T00:00:00.000Z".into()),
        sha256: "0".repeat(64),
        decision,
        time: time.into(),
        salt: None,
    }
}

/// A log with exchanges with two partners over three months, and this
/// node's own sightings (a falling trend: 4, 2, 1).
fn log(data: &Path) {
    let store = SqliteStore::open_with(data, &OpenOptions::new()).unwrap();
    let mut r = Vec::new();
    let months = ["2026-09", "2026-10", "2026-11"];
    for (i, m) in months.iter().enumerate() {
        let t = |d: u32| format!("{m}-{d:02}T12:00:00Z");
        for k in 0..(3 - i) {
            r.push(rec(
                Direction::Out,
                Some("eu"),
                &format!("indicator--{i}{k}"),
                Decision::Sent,
                &t(1),
            ));
        }
        r.push(rec(
            Direction::Out,
            Some("us"),
            &format!("report--{i}"),
            Decision::Redacted {
                fields: vec!["x_email".into()],
            },
            &t(2),
        ));
        r.push(rec(
            Direction::Out,
            Some("us"),
            &format!("indicator--r{i}"),
            Decision::Withheld {
                reason: "max_tlp: TLP:RED".into(),
            },
            &t(3),
        ));
        r.push(rec(
            Direction::In,
            Some("eu"),
            &format!("sighting--e{i}"),
            Decision::Stored,
            &t(4),
        ));
        r.push(rec(
            Direction::In,
            Some("us"),
            &format!("indicator--u{i}"),
            Decision::Stored,
            &t(5),
        ));
        r.push(rec(
            Direction::In,
            Some("us"),
            &format!("indicator--x{i}"),
            Decision::Rejected {
                reason: "invalid".into(),
            },
            &t(6),
        ));
        for k in 0..(4 >> i) {
            r.push(rec(
                Direction::Local,
                None,
                &format!("sighting--own{i}{k}"),
                Decision::Stored,
                &t(7),
            ));
        }
        r.push(rec(
            Direction::Local,
            None,
            &format!("indicator--l{i}"),
            Decision::Stored,
            &t(8),
        ));
    }
    store.writer().log_records(&r).unwrap();
}

/// The trend counted from the log's entries, by hand.
fn independent(data: &Path, partner: Option<&str>) -> BTreeMap<String, [u64; 8]> {
    let o = accord(&["ledger", "entries", "--json", "--data", p(data)]);
    assert!(o.status.success(), "{}", text(&o));
    let mut by: BTreeMap<String, ([u64; 8], std::collections::BTreeSet<String>)> = BTreeMap::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        let r = &e["record"];
        let who = r["partner"].as_str();
        if partner.is_some() && who != partner {
            continue;
        }
        let month = r["time"].as_str().unwrap()[..7].to_owned();
        let sighting = r["object_id"].as_str().unwrap().starts_with("sighting--");
        let (f, ps) = by.entry(month).or_default();
        // received, sent, redacted, withheld, rejected, returned, own, partners
        match (
            r["direction"].as_str().unwrap(),
            r["decision"]["action"].as_str().unwrap(),
        ) {
            ("out", "sent") => f[1] += 1,
            ("out", "redacted") => {
                f[1] += 1;
                f[2] += 1;
            }
            ("out", "withheld") => f[3] += 1,
            ("in", "stored") => {
                f[0] += 1;
                if sighting {
                    f[5] += 1;
                }
            }
            ("in", "rejected") => f[4] += 1,
            ("local", "stored") if sighting => f[6] += 1,
            _ => {}
        }
        if let Some(w) = who {
            ps.insert(w.to_owned());
        }
    }
    by.into_iter()
        .map(|(m, (mut f, ps))| {
            f[7] = ps.len() as u64;
            (m, f)
        })
        .filter(|(_, f)| f[..7].iter().sum::<u64>() > 0)
        .collect()
}

fn report(data: &Path, args: &[&str]) -> String {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--data", p(data)]);
    let o = accord(&all);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn every_figure_of_the_trend_equals_the_log_counted_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    log(&data);
    for partner in [None, Some("us")] {
        let mut args = vec!["trend", "--format", "json"];
        if let Some(pn) = partner {
            args.extend_from_slice(&["--partner", pn]);
        }
        let t: Value = serde_json::from_str(&report(&data, &args)).unwrap();
        let want = independent(&data, partner);
        let got: BTreeMap<String, [u64; 8]> = t["months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let f = |k: &str| m[k].as_u64().unwrap();
                (
                    m["month"].as_str().unwrap().to_owned(),
                    [
                        f("received"),
                        f("sent"),
                        f("redacted"),
                        f("withheld"),
                        f("rejected"),
                        f("sightings_returned"),
                        f("sightings_own"),
                        f("partners"),
                    ],
                )
            })
            .collect();
        assert_eq!(got, want, "partner {partner:?}");
        assert_eq!(t["from_index"], 0);
        assert_eq!(t["to_index"], 31);
    }
    // The falling trend of own sightings: 4, 2, 1.
    let t: Value = serde_json::from_str(&report(&data, &["trend", "--format", "json"])).unwrap();
    let own: Vec<u64> = t["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sightings_own"].as_u64().unwrap())
        .collect();
    assert_eq!(own, vec![4, 2, 1]);
    // A window of months.
    let t: Value = serde_json::from_str(&report(
        &data,
        &[
            "trend", "--format", "json", "--since", "2026-10", "--until", "2026-10",
        ],
    ))
    .unwrap();
    assert_eq!(t["months"].as_array().unwrap().len(), 1);
    // CSV: the same rows.
    let csv = report(&data, &["trend", "--format", "csv"]);
    let want = independent(&data, None);
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), want.len());
    for (row, (m, f)) in rows.iter().zip(&want) {
        let expect = format!(
            "{m},{}",
            f.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
        );
        assert_eq!(*row, expect);
    }
    // HTML: standalone, charts, the range and the root cited.
    let out = dir.path().join("trend.html");
    report(&data, &["trend", "--format", "html", "-o", p(&out)]);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.contains("<svg") && html.contains("entries 0 to 30"),
        "{html}"
    );
    assert!(html.contains(t["root"].as_str().unwrap()));
    assert!(!html.contains("<script") && !html.contains("<link"));
    // PDF, where Chromium is.
    let pdf = dir.path().join("trend.pdf");
    let o = accord(&[
        "report",
        "trend",
        "--format",
        "pdf",
        "-o",
        p(&pdf),
        "--data",
        p(&data),
    ]);
    if std::path::Path::new("/usr/bin/chromium").is_file() {
        assert!(o.status.success(), "{}", text(&o));
        assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    } else {
        assert!(!o.status.success());
        assert!(
            text(&o).contains("apt-get install chromium"),
            "{}",
            text(&o)
        );
        println!("skip: no Chromium, the PDF's error checked instead");
    }
    // Bad input: a clear error.
    let o = accord(&[
        "report",
        "trend",
        "--since",
        "2026-12",
        "--until",
        "2026-11",
        "--data",
        p(&data),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("2026-12"), "{}", text(&o));
    let o = accord(&["report", "trend", "--format", "pdf", "--data", p(&data)]);
    assert!(text(&o).contains("needs -o"), "{}", text(&o));
}

#[test]
fn reciprocity_in_csv_and_html_carries_the_json_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    log(&data);
    let j: Value = serde_json::from_str(&report(
        &data,
        &["reciprocity", "--json", "--partner", "us"],
    ))
    .unwrap();
    let parts = j["partners"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["partner"], "us");
    let csv = report(
        &data,
        &[
            "reciprocity",
            "--format",
            "csv",
            "--partner",
            "us",
            "--until",
            "2026-10",
        ],
    );
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    for (row, m) in rows.iter().zip(parts[0]["months"].as_array().unwrap()) {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[0], "us");
        assert_eq!(cells[1], m["month"]);
        assert_eq!(cells[2], m["sent_total"].to_string());
        assert_eq!(cells[4], m["received_total"].to_string());
        assert_eq!(cells[5], m["withheld_total"].to_string());
    }
    let html = report(&data, &["reciprocity", "--format", "html"]);
    assert!(
        html.contains("<h2>eu</h2>") && html.contains("<h2>us</h2>"),
        "{html}"
    );
    assert!(html.contains("entries 0 to 30"));
}

#[test]
fn hotline_and_sightings_reports_in_csv_html_and_json_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _, _) = common::init(dir.path(), "n", "cert");
    let mut t = std::fs::read_to_string(&config).unwrap();
    t.push_str(
        "\n[[partners]]\nname = \"eu\"\nurl = \"http://127.0.0.1:9/\"\nverifier_key = \"\"\nidentity = \"identity--0f0e0d0c-0b0a-4909-8807-060504030201\"\n",
    );
    std::fs::write(&config, t).unwrap();
    let c = p(&config);
    for extra in [&[][..], &["--exercise"][..]] {
        let mut a = vec![
            "hotline",
            "open",
            "--partner",
            "eu",
            "--severity",
            "high",
            "--title",
            "Scans",
            "--config",
            c,
        ];
        a.extend_from_slice(extra);
        let o = accord(&a);
        assert!(o.status.success(), "{}", text(&o));
    }
    let run = |args: &[&str]| {
        let mut a = vec!["report", "hotline", "--config", c];
        a.extend_from_slice(args);
        let o = accord(&a);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let json: Vec<Value> = run(&["--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let csv = run(&["--format", "csv"]);
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), json.len(), "{csv}");
    for (row, j) in rows.iter().zip(&json) {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[0], j["partner"]);
        assert_eq!(cells[1], j["severity"]);
        assert_eq!(cells[2], j["exercise"].to_string());
        assert_eq!(cells[3], j["cases"].to_string());
    }
    assert!(
        json.iter().any(|j| j["exercise"] == true) && json.iter().any(|j| j["exercise"] == false)
    );
    let html = run(&["--format", "html"]);
    assert!(
        html.contains("Real cases") && html.contains("Exercises (kept out"),
        "{html}"
    );
    assert!(html.contains("accord ledger entries --to "), "{html}");
    assert!(html.contains("<svg"));

    // Sightings: an indicator and two sightings of it.
    let data = dir.path().join("n");
    let bundle = dir.path().join("s.json");
    let ind = "indicator--5a5a5a5a-1111-4111-8111-111111111111";
    let sighting = |n: u32, count: u32| {
        format!(
            r#"{{"type":"sighting","spec_version":"2.1","id":"sighting--5a5a5a5a-2222-4222-8222-00000000000{n}","created":"2026-02-01T00:00:00.000Z","modified":"2026-02-01T00:00:00.000Z","sighting_of_ref":"{ind}","count":{count}}}"#
        )
    };
    std::fs::write(
        &bundle,
        format!(
            r#"{{"type":"bundle","id":"bundle--5a5a5a5a-3333-4333-8333-333333333333","objects":[{{"type":"indicator","spec_version":"2.1","id":"{ind}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.9']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}},{},{}]}}"#,
            sighting(1, 3),
            sighting(2, 4)
        ),
    )
    .unwrap();
    let o = accord(&["ingest", "--data", p(&data), p(&bundle)]);
    assert!(o.status.success(), "{}", text(&o));
    let j: Value = serde_json::from_str(
        report(&data, &["sightings", "--json"])
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(j["sighting_of"], ind);
    assert_eq!(j["count"], 7);
    let csv = report(&data, &["sightings", "--format", "csv"]);
    let row = csv.lines().nth(1).unwrap();
    assert!(row.starts_with(&format!("{ind},true,2,7,")), "{csv}");
    let html = report(&data, &["sightings", "--format", "html"]);
    assert!(html.contains(ind) && html.contains("<svg"), "{html}");
    assert!(html.contains("accord ledger entries --to "), "{html}");
}
