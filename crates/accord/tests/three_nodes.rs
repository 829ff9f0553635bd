//! Three jurisdictions on one machine: `examples/three-nodes/` started by
//! its own scripts (the debug binary), an analyst at `cn` shares objects,
//! one round of exchange runs, and what `eu` and `us` hold is checked
//! against the agreements written in `up.sh`:
//!
//! - to `eu`: TLP up to AMBER, personal data pseudonymised, customer
//!   addresses truncated;
//! - to `us`: TLP up to GREEN, any object with personal data withheld;
//! - TLP:RED never leaves; nothing goes back where it came from, nor onward.
//!
//! Then both logs are audited from both sides, and a node killed and
//! restarted catches up without losing or duplicating anything.

mod common;

use common::{StageDown, accord, accord_pw, p, stage_base_port, stage_script, text};
use std::path::Path;
use std::process::Command;

const VICTIM: &str = "victim.zhang@example.cn";
const CUSTOMER_IP: &str = "203.0.113.77";

const TLP_GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const TLP_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

fn indicator(uuid: &str, description: &str, ip: &str, marking: Option<&str>) -> String {
    let marking = marking
        .map(|m| format!(r#","object_marking_refs":["{m}"]"#))
        .unwrap_or_default();
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{uuid}","created":"2026-12-01T10:00:00.000Z","modified":"2026-12-01T10:00:00.000Z","name":"C2 contacted by a customer","description":"{description}","pattern":"[ipv4-addr:value = '{ip}']","pattern_type":"stix","valid_from":"2026-12-01T10:00:00Z"{marking}}}"#
    )
}

/// Every object of `collection` in the store of `node`, as JSON.
fn held(dir: &Path, node: &str, collection: &str) -> Vec<serde_json::Value> {
    held_in(&dir.join(node).join("data"), collection)
}

/// Every object of `collection` in the store in `data`, as JSON.
fn held_in(data: &Path, collection: &str) -> Vec<serde_json::Value> {
    let o = accord(&[
        "export",
        "--data",
        p(data),
        "--collection",
        collection,
        "--jsonl",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ids(objects: &[serde_json::Value]) -> Vec<&str> {
    let mut v: Vec<&str> = objects.iter().map(|o| o["id"].as_str().unwrap()).collect();
    v.sort_unstable();
    v
}

/// Every entry bundle of the log at `base` as `user` reads it, as text
/// (entries are JSON records, or `{"redacted":…}`).
fn entry_bundles(base: &str, user: &str, password: &str) -> String {
    let get = |path: &str| {
        let o = Command::new("curl")
            .args(["-sf", "-u", &format!("{user}:{password}")])
            .arg(format!("{base}/ledger/{path}"))
            .output()
            .unwrap();
        assert!(o.status.success(), "GET {path} as {user}: {}", text(&o));
        o.stdout
    };
    let note = String::from_utf8(get("checkpoint")).unwrap();
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let mut all = String::new();
    for k in 0..size.div_ceil(256) {
        let w = (size - 256 * k).min(256);
        let path = if w == 256 {
            format!("tile/entries/{k:03}")
        } else {
            format!("tile/entries/{k:03}.p/{w}")
        };
        all.push_str(&String::from_utf8_lossy(&get(&path)));
    }
    all
}

#[test]
fn an_indicator_crosses_three_jurisdictions_under_their_agreements() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = stage_base_port();
    let up = stage_script("up.sh", dir, base);
    assert!(up.status.success(), "{}", text(&up));
    let _down = StageDown(dir, base);
    let nodes: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("nodes.json")).unwrap()).unwrap();
    for n in ["cn", "us", "eu"] {
        assert!(
            nodes[n]["url"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
        assert!(nodes[n]["partner_accounts"].as_object().unwrap().len() == 2);
    }

    // An analyst at cn shares three indicators.
    let personal = indicator(
        "11111111-1111-4111-8111-111111111111",
        &format!("Beaconing seen from the mailbox of {VICTIM}"),
        CUSTOMER_IP,
        Some(TLP_GREEN),
    );
    let red = indicator(
        "22222222-2222-4222-8222-222222222222",
        "Source of a takedown in progress",
        "198.51.100.9",
        Some(TLP_RED),
    );
    let clear = indicator(
        "33333333-3333-4333-8333-333333333333",
        "Public C2",
        "198.51.100.10",
        None,
    );
    let bundle = format!(
        r#"{{"type":"bundle","id":"bundle--44444444-4444-4444-8444-444444444444","objects":[{personal},{red},{clear}]}}"#
    );
    let file = dir.join("share.json");
    std::fs::write(&file, bundle).unwrap();
    let o = accord(&[
        "ingest",
        "--data",
        p(&dir.join("cn/data")),
        "--collection",
        "share",
        p(&file),
    ]);
    assert!(o.status.success(), "{}", text(&o));

    let round = stage_script("sync.sh", dir, base);
    assert!(round.status.success(), "{}", text(&round));

    // eu: the personal indicator arrives pseudonymised and truncated; RED not.
    let at_eu = held(dir, "eu", "from-cn");
    assert_eq!(
        ids(&at_eu),
        [
            "indicator--11111111-1111-4111-8111-111111111111",
            "indicator--33333333-3333-4333-8333-333333333333"
        ],
        "{at_eu:#?}"
    );
    let p_eu = at_eu
        .iter()
        .find(|o| o["id"].as_str().unwrap().contains("1111"))
        .unwrap();
    let raw = p_eu.to_string();
    assert!(!raw.contains(VICTIM), "{raw}");
    assert!(!raw.contains(CUSTOMER_IP), "{raw}");
    assert!(raw.contains("203.0.113.0/24"), "{raw}");
    // What eu received passes stix2-validator.
    let bundle = dir.join("eu-from-cn.json");
    let o = accord(&[
        "export",
        "--data",
        p(&dir.join("eu/data")),
        "--collection",
        "from-cn",
        "-o",
        p(&bundle),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    common::assert_stix2_valid(&bundle, "what eu received");
    // us: the personal indicator is withheld whole, RED too.
    let at_us = held(dir, "us", "from-cn");
    assert_eq!(
        ids(&at_us),
        ["indicator--33333333-3333-4333-8333-333333333333"],
        "{at_us:#?}"
    );

    // A second round moves nothing new and stores nothing twice.
    let again = stage_script("sync.sh", dir, base);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(held(dir, "eu", "from-cn").len(), 2);
    assert_eq!(held(dir, "us", "from-cn").len(), 1);

    // Nothing goes back to cn, nor onward to us: us's own account at eu
    // reads eu's copy of what cn sent, and gets nothing.
    let eu_url = nodes["eu"]["url"].as_str().unwrap();
    let pw_us_at_eu = nodes["eu"]["partner_accounts"]["us"]["password"]
        .as_str()
        .unwrap();
    let from_cn_at_eu = format!(
        "{eu_url}/api1/collections/{}/",
        nodes["eu"]["received_collection"]["cn"].as_str().unwrap()
    );
    let o = accord_pw(
        &[
            "sync",
            "--data",
            p(&dir.join("probe")),
            "--from",
            &from_cn_at_eu,
            "--user",
            "us",
            "--into",
            "probe",
        ],
        pw_us_at_eu,
    );
    assert!(o.status.success(), "{}", text(&o));
    let probe = held_in(&dir.join("probe"), "probe");
    assert!(probe.is_empty(), "onward sharing leaked: {probe:#?}");

    // Both logs record the exchange, and audits agree on both sides.
    for (node, partner) in [("eu", "cn"), ("cn", "eu"), ("us", "cn"), ("cn", "us")] {
        let pw = nodes[partner]["partner_accounts"][node]["password"]
            .as_str()
            .unwrap();
        let o = accord_pw(
            &[
                "ledger",
                "audit",
                "--config",
                nodes[node]["config"].as_str().unwrap(),
                "--partner",
                partner,
            ],
            pw,
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{node} audits {partner}: {}",
            text(&o)
        );
    }
    // cn's log as its partners read it: each sees its own exchanges in
    // full, and nothing of what was withheld from it nor of the others'.
    let cn_url = nodes["cn"]["url"].as_str().unwrap();
    let as_partner = |who: &str| {
        let pw = nodes["cn"]["partner_accounts"][who]["password"]
            .as_str()
            .unwrap();
        entry_bundles(cn_url, who, pw)
    };
    let seen_by_us = as_partner("us");
    let seen_by_eu = as_partner("eu");
    for secret in ["11111111-1111", "22222222-2222", "\"eu\""] {
        assert!(
            !seen_by_us.contains(secret),
            "us sees {secret}: {seen_by_us}"
        );
    }
    assert!(seen_by_us.contains("33333333-3333"), "{seen_by_us}");
    assert!(seen_by_eu.contains("11111111-1111"), "{seen_by_eu}");
    for secret in ["22222222-2222", "\"us\""] {
        assert!(
            !seen_by_eu.contains(secret),
            "eu sees {secret}: {seen_by_eu}"
        );
    }
    let o = accord(&["ledger", "entries", "--data", p(&dir.join("cn/data"))]);
    let entries = text(&o);
    assert!(entries.contains("\"redacted\""), "{entries}");
    assert!(entries.contains("\"withheld\""), "{entries}");

    // eu is killed mid-life; cn's round with it fails, the others go on;
    // eu comes back and catches up once.
    let eu_pid = std::fs::read_to_string(dir.join("eu/serve.pid")).unwrap();
    let _ = Command::new("kill").args(["-9", eu_pid.trim()]).status();
    let late = indicator(
        "55555555-5555-4555-8555-555555555555",
        "Late news",
        "198.51.100.11",
        None,
    );
    let file = dir.join("late.json");
    std::fs::write(&file, late).unwrap();
    let o = accord(&[
        "ingest",
        "--data",
        p(&dir.join("cn/data")),
        "--collection",
        "share",
        p(&file),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let _ = stage_script("sync.sh", dir, base);
    assert_eq!(
        held(dir, "us", "from-cn").len(),
        2,
        "us is unaffected by eu"
    );
    let up = stage_script("up.sh", dir, base);
    assert!(up.status.success(), "{}", text(&up));
    let round = stage_script("sync.sh", dir, base);
    assert!(round.status.success(), "{}", text(&round));
    let at_eu = held(dir, "eu", "from-cn");
    assert_eq!(at_eu.len(), 3, "{at_eu:#?}");
}
