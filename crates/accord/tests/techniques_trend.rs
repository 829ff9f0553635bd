//! `accord report trend` breaks the indicators of its window down by ATT&CK
//! technique: MITRE's ICS ATT&CK 18.1 (`data/demo/stix`) imported as the
//! reference, indicators with `indicates` relationships ingested, the
//! counts read back from the JSON, text and HTML outputs.

mod common;

use common::{accord, add_partner, init, keys, p, text};

const T0801: &str = "attack-pattern--2d0d40ad-22fa-4cc8-b264-072557e1364b";
const T0803: &str = "attack-pattern--008b8f56-6107-48be-aa9f-746f927dbb61";
const T0883: &str = "attack-pattern--f8df6b57-14bc-425f-9a91-6f59f6799307";

fn ind(n: u8) -> String {
    format!("indicator--00000000-0000-4000-8000-0000000000{n:02x}")
}

fn bundle() -> String {
    let t = "2026-01-01T00:00:00.000Z";
    let mut objects = Vec::new();
    for n in 1..=4u8 {
        objects.push(serde_json::json!({
            "type": "indicator", "spec_version": "2.1", "id": ind(n), "created": t, "modified": t,
            "pattern": format!("[ipv4-addr:value = '198.51.100.{n}']"), "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z"
        }));
    }
    // 1 → T0801, T0803; 2 → T0801; 3 → T0883; 4 → T0803 but revoked;
    // 1 → T0883 `related-to` (not counted).
    let rels = [
        (1, 1, T0801, "indicates", false),
        (2, 1, T0803, "indicates", false),
        (3, 2, T0801, "indicates", false),
        (4, 3, T0883, "indicates", false),
        (5, 4, T0803, "indicates", true),
        (6, 1, T0883, "related-to", false),
    ];
    for (r, src, dst, kind, revoked) in rels {
        objects.push(serde_json::json!({
            "type": "relationship", "spec_version": "2.1",
            "id": format!("relationship--00000000-0000-4000-8000-0000000001{r:02x}"),
            "created": t, "modified": t, "relationship_type": kind,
            "source_ref": ind(src), "target_ref": dst, "revoked": revoked
        }));
    }
    serde_json::json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-0000000002ff", "objects": objects})
        .to_string()
}

fn trend(data: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["report", "trend", "--data", p(data), "--format", "json"];
    args.extend_from_slice(extra);
    let o = accord(&args);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn counts(t: &serde_json::Value) -> Vec<(String, u64)> {
    t["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["technique"].as_str().unwrap().to_owned(),
                r["indicators"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_trend_counts_indicators_per_technique_in_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (config, _, _) = init(d, "a", "analyst");
    let data = d.join("a");
    let stix = accord_testkit::fixture("stix/ics-attack-18.1.json");
    let o = accord(&[
        "import",
        "attack",
        "--data",
        p(&data),
        "--no-progress",
        p(&stix),
    ]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", text(&o));
    // Nothing indicates a technique yet.
    let t = trend(&data, &[]);
    assert_eq!(t["techniques"], serde_json::json!([]), "{t}");
    assert_eq!(t["technique_indicators"], 0);

    let own = d.join("own.json");
    std::fs::write(&own, bundle()).unwrap();
    let o = accord(&["ingest", "--data", p(&data), "--no-progress", p(&own)]);
    assert!(o.status.success(), "{}", text(&o));

    let t = trend(&data, &[]);
    assert_eq!(
        counts(&t),
        vec![
            ("T0801".to_owned(), 2),
            ("T0803".to_owned(), 1),
            ("T0883".to_owned(), 1)
        ],
        "{t}"
    );
    assert_eq!(t["technique_indicators"], 3, "{t}");
    assert_eq!(t["techniques"][0]["name"], "Monitor Process State");
    // The window is on when the indicators were stored (now).
    assert_eq!(counts(&trend(&data, &["--since", "2000-01"])).len(), 3);
    assert!(counts(&trend(&data, &["--until", "2000-01"])).is_empty());
    // Another partner's indicators only: none (these are local).
    assert!(counts(&trend(&data, &["--partner", "eu"])).is_empty());

    // Text and HTML carry the breakdown (HTML with a chart of it).
    let o = accord(&["report", "trend", "--data", p(&data)]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("T0801                 2  Monitor Process State")
            && out.contains("3 indicators first stored in this window indicate 3 techniques"),
        "{out}"
    );
    let html = d.join("trend.html");
    let o = accord(&[
        "report",
        "trend",
        "--data",
        p(&data),
        "--format",
        "html",
        "-o",
        p(&html),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains("Indicators per technique"), "{h}");
    assert!(h.contains("T0801 Monitor Process State"), "{h}");

    // A hotline case whose evidence is indicator 3 (T0883), another with
    // T0803's attack-pattern itself: `accord report techniques` counts them.
    let (config_b, _, port_b) = init(d, "b", "analyst");
    add_partner(&config, "b", port_b, &keys(&config_b), "analyst");
    let who = accord(&["hotline", "whoami", "--json", "--config", p(&config_b)]);
    assert!(who.status.success(), "{}", text(&who));
    let who: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
    let mut t = std::fs::read_to_string(&config).unwrap();
    t.push_str(&format!(
        "identity = \"{}\"\n",
        who["identity"].as_str().unwrap()
    ));
    std::fs::write(&config, t).unwrap();
    let mut cases = Vec::new();
    for attach in [ind(3), T0803.to_owned()] {
        let o = accord(&[
            "hotline",
            "open",
            "--config",
            p(&config),
            "--partner",
            "b",
            "--severity",
            "high",
            "--title",
            "PLC reads",
            "--attach",
            &attach,
        ]);
        assert!(o.status.success(), "{}", text(&o));
        cases.push(String::from_utf8_lossy(&o.stdout).trim().to_owned());
    }
    let o = accord(&["report", "techniques", "--data", p(&data), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let line = |t: &str| {
        r["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["technique"] == t)
            .cloned()
            .unwrap_or_else(|| panic!("{t} in {r}"))
    };
    assert_eq!(line("T0883")["cases"], 1, "{r}");
    assert_eq!(line("T0883")["indicators"], 1, "{r}");
    assert_eq!(line("T0803")["cases"], 1, "{r}");
    assert_eq!(line("T0801")["cases"], 0, "{r}");
    assert_eq!(r["cases"]["T0883"], serde_json::json!([cases[0]]), "{r}");
    assert_eq!(r["cases"]["T0803"], serde_json::json!([cases[1]]), "{r}");
}
