//! The hotline between real nodes: `examples/three-nodes/` started by its
//! own scripts (the debug binary); `cn` opens a case to `us`, one round of
//! exchange (`sync.sh`) carries it, `us` acknowledges and resolves it with
//! the CLI alone, `cn` sees it resolved; every note is in both nodes' logs;
//! a case left unacknowledged escalates at its deadline on both sides,
//! once; `eu` never receives either case; what is served passes
//! stix2-validator.

mod common;

use common::{
    StageDown, accord, p, stage_base_port, stage_config as cfg, stage_hotline as hotline,
    stage_script, text,
};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn list(dir: &Path, node: &str) -> Vec<Value> {
    hotline(dir, node, &["list", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn case<'a>(cases: &'a [Value], id: &str) -> &'a Value {
    cases
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("case {id} not in {cases:#?}"))
}

fn sync(dir: &Path, base: u16) {
    let o = stage_script("sync.sh", dir, base);
    assert!(o.status.success(), "{}", text(&o));
}

/// The whole log of a node, as text (one JSON record a line).
fn log(dir: &Path, node: &str) -> String {
    let o = accord(&["ledger", "entries", "--json", "--config", &cfg(dir, node)]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// Every object of `collection` in `node`'s store, as JSON lines text.
fn held(dir: &Path, node: &str, collection: &str) -> String {
    let o = accord(&[
        "export",
        "--data",
        p(&dir.join(node).join("data")),
        "--collection",
        collection,
        "--jsonl",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn a_case_is_worked_from_open_to_resolved_between_two_nodes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = stage_base_port();
    let up = stage_script("up.sh", dir, base);
    assert!(up.status.success(), "{}", text(&up));
    let _down = StageDown(dir, base);
    let nodes: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("nodes.json")).unwrap()).unwrap();
    let who = hotline(dir, "us", &["whoami", "--json"]);
    let who: Value = serde_json::from_str(&who).unwrap();
    assert_eq!(who["identity"], nodes["us"]["identity"]);

    // cn opens a case to us.
    let id = hotline(
        dir,
        "cn",
        &[
            "open",
            "--partner",
            "us",
            "--severity",
            "high",
            "--title",
            "Scanning of the clearing house from AS64500",
            "--description",
            "Port scans against the settlement network since 09:00 UTC.",
            "--ask",
            "block",
        ],
    );
    let id = id.trim().to_owned();
    assert!(id.starts_with("incident--"), "{id}");
    let at_cn = list(dir, "cn");
    let c = case(&at_cn, &id);
    assert_eq!(c["state"], "open");
    assert_eq!(c["partner"], "us");
    assert_eq!(c["severity"], "high");
    assert_eq!(c["escalation"], 0);
    assert_eq!(c["overdue"], false);
    assert_eq!(c["exercise"], false);
    assert!(c["facility"].is_null());
    // The opener may not acknowledge: exit 2, the allowed ones named.
    let o = accord(&["hotline", "ack", &id, "--config", &cfg(dir, "cn")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("allowed: reply"), "{}", text(&o));

    sync(dir, base);
    let at_us = list(dir, "us");
    let c = case(&at_us, &id);
    assert_eq!(c["state"], "open");
    assert_eq!(c["partner"], "cn");
    assert_eq!(c["title"], "Scanning of the clearing house from AS64500");
    // eu is no party: it never receives the case.
    assert!(list(dir, "eu").is_empty());

    hotline(dir, "us", &["ack", &id]);
    // Resolving needs the message; the state machine allows it now.
    hotline(
        dir,
        "us",
        &[
            "resolve",
            &id,
            "--message",
            "Blocked AS64500 prefixes at the border.",
        ],
    );
    assert_eq!(case(&list(dir, "us"), &id)["state"], "resolved");
    sync(dir, base);
    let at_cn = list(dir, "cn");
    assert_eq!(case(&at_cn, &id)["state"], "resolved", "{at_cn:#?}");
    let show: Value = serde_json::from_str(&hotline(dir, "cn", &["show", &id, "--json"])).unwrap();
    let kinds: Vec<&str> = show["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["open", "ack", "resolve"], "{show:#}");
    let froms: Vec<&str> = show["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["from"].as_str().unwrap())
        .collect();
    assert_eq!(froms, ["self", "us", "us"]);
    assert!(
        show["messages"][2]["text"]
            .as_str()
            .unwrap()
            .contains("Blocked AS64500")
    );

    // Every note is a leaf of both logs: written (and sent) on one side,
    // received on the other.
    let (log_cn, log_us) = (log(dir, "cn"), log(dir, "us"));
    for m in show["messages"].as_array().unwrap() {
        let note = m["id"].as_str().unwrap();
        assert!(log_cn.contains(note), "{note} not in cn's log");
        assert!(log_us.contains(note), "{note} not in us's log");
    }
    assert!(log_cn.contains(&id) && log_us.contains(&id));

    // A critical case left unacknowledged escalates at its deadline, on
    // both sides, once.
    let late = hotline(
        dir,
        "cn",
        &[
            "open",
            "--partner",
            "us",
            "--severity",
            "critical",
            "--title",
            "Grid telemetry outage",
        ],
    );
    let late = late.trim().to_owned();
    sync(dir, base);
    let ack_by = case(&list(dir, "us"), &late)["ack_by"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = accord_stix::Timestamp::parse(&ack_by).unwrap();
    let after = accord_stix::Timestamp::from_unix(t.unix_seconds + 60, 0).to_millis_string();
    for node in ["cn", "us"] {
        let out = hotline(dir, node, &["tick", "--at", &after, "--json"]);
        assert_eq!(out.lines().count(), 1, "{node}: {out}");
        // Again: nothing more.
        let out = hotline(dir, node, &["tick", "--at", &after, "--json"]);
        assert_eq!(out.lines().count(), 0, "{node}: {out}");
        let c = list(dir, node);
        assert_eq!(case(&c, &late)["escalation"], 1, "{node}");
        // Overdue is read at the real time, before the deadline.
        assert_eq!(case(&c, &late)["overdue"], false, "{node}");
    }
    sync(dir, base);
    for node in ["cn", "us"] {
        assert_eq!(case(&list(dir, node), &late)["escalation"], 1, "{node}");
        let show: Value =
            serde_json::from_str(&hotline(dir, node, &["show", &late, "--json"])).unwrap();
        let escalations = show["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "escalate")
            .count();
        assert_eq!(escalations, 1, "{node}: {show:#}");
    }
    // The first case, resolved in time, never escalates.
    assert_eq!(case(&list(dir, "cn"), &id)["escalation"], 0);

    // eu holds nothing of either case, in any collection.
    for coll in ["from-cn", "from-us", "hotline"] {
        let h = held(dir, "eu", coll);
        assert!(!h.contains(&id) && !h.contains(&late), "eu {coll}: {h}");
    }
    assert!(list(dir, "eu").is_empty());

    // The REST API, for the node's own accounts: us replies on the
    // resolved case over HTTP, and a partner's account is refused.
    let curl = |node: &str, user: &str, pw: &str, method: &str, path: &str, body: Option<&str>| {
        let url = format!("{}/hotline/{path}", nodes[node]["url"].as_str().unwrap());
        let mut c = Command::new("curl");
        c.args([
            "-s",
            "-w",
            "\n%{http_code}",
            "-u",
            &format!("{user}:{pw}"),
            "-X",
            method,
        ]);
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "--data", b]);
        }
        let o = c.arg(url).output().unwrap();
        let out = String::from_utf8(o.stdout).unwrap();
        let (body, code) = out.rsplit_once('\n').unwrap();
        (code.to_owned(), body.to_owned())
    };
    let admin_us = nodes["us"]["admin"]["password"].as_str().unwrap();
    let (code, body) = curl("us", "admin", admin_us, "GET", "cases", None);
    assert_eq!(code, "200", "{body}");
    let cases: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(cases.len(), 2, "{body}");
    let (code, body) = curl(
        "us",
        "admin",
        admin_us,
        "POST",
        &format!("cases/{id}/messages"),
        Some(r#"{"kind":"ack"}"#),
    );
    assert_eq!(code, "409", "{body}");
    assert!(body.contains("allowed:"), "{body}");
    let (code, body) = curl(
        "us",
        "admin",
        admin_us,
        "POST",
        &format!("cases/{id}/messages"),
        Some(r#"{"kind":"reply","text":"Prefixes stay blocked for 30 days."}"#),
    );
    let serve_log = || std::fs::read_to_string(dir.join("us/serve.log")).unwrap_or_default();
    assert_eq!(code, "201", "{body}\n{}", serve_log());
    let (code, body) = curl("us", "admin", admin_us, "GET", &format!("cases/{id}"), None);
    assert_eq!(code, "200", "{body}");
    assert!(body.contains("Prefixes stay blocked"), "{body}");
    let pw_cn_at_us = nodes["us"]["partner_accounts"]["cn"]["password"]
        .as_str()
        .unwrap();
    let (code, body) = curl("us", "cn", pw_cn_at_us, "GET", "cases", None);
    assert_eq!(code, "403", "{body}");
    sync(dir, base);
    let show: Value = serde_json::from_str(&hotline(dir, "cn", &["show", &id, "--json"])).unwrap();
    assert_eq!(show["messages"].as_array().unwrap().len(), 4, "{show:#}");

    // The report: times per partner and severity.
    let o = accord(&["report", "hotline", "--json", "--config", &cfg(dir, "cn")]);
    assert!(o.status.success(), "{}", text(&o));
    let rows: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |sev: &str| {
        rows.iter()
            .find(|r| r["severity"] == sev)
            .unwrap_or_else(|| panic!("{sev} not in {rows:#?}"))
    };
    assert_eq!(row("high")["partner"], "us");
    assert_eq!(row("high")["cases"], 1);
    assert_eq!(row("high")["acknowledged"], 1);
    assert_eq!(row("high")["resolved"], 1);
    assert!(row("high")["median_resolve_seconds"].is_i64());
    assert_eq!(row("critical")["escalated"], 1);
    assert_eq!(row("critical")["acknowledged"], 0);

    // eu forges: it posts to cn a note us wrote. The seam refuses it: a
    // partner may only send its own messages.
    let us_note = held(dir, "us", "hotline")
        .lines()
        .find(|l| l.contains("\"note\"") && l.contains(&id))
        .unwrap()
        .to_owned();
    let envelope = format!(r#"{{"objects":[{us_note}]}}"#);
    let url = format!(
        "{}/api1/collections/{}/objects/",
        nodes["cn"]["url"].as_str().unwrap(),
        nodes["cn"]["received_collection"]["eu"].as_str().unwrap()
    );
    let pw_eu_at_cn = nodes["cn"]["partner_accounts"]["eu"]["password"]
        .as_str()
        .unwrap();
    let o = Command::new("curl")
        .args(["-s", "-u", &format!("eu:{pw_eu_at_cn}"), "-X", "POST"])
        .args(["-H", "Content-Type: application/taxii+json;version=2.1"])
        .args(["-H", "Accept: application/taxii+json;version=2.1"])
        .args(["--data", &envelope, &url])
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&o.stdout);
    assert!(answer.contains("\"failure_count\":1"), "{answer}");
    assert!(answer.contains("not by partner `eu`"), "{answer}");

    // What cn serves of the cases, and what us received, pass
    // stix2-validator.
    for (node, coll) in [("cn", "hotline"), ("us", "from-cn"), ("us", "hotline")] {
        let bundle = dir.join(format!("{node}-{coll}.json"));
        let o = accord(&[
            "export",
            "--data",
            p(&dir.join(node).join("data")),
            "--collection",
            coll,
            "-o",
            p(&bundle),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        common::assert_stix2_valid(&bundle, &format!("{node}'s {coll}"));
    }
}
