//! Hotline exercises between real nodes: the three-nodes stage
//! (`examples/three-nodes/`, its `accord serve` running) plays
//! `examples/three-nodes/exercise.toml` between `cn` and `us` on a
//! simulated clock. One deadline of each case is met and one missed; the
//! report's figures are checked, the missed ones escalate on both sides
//! once, the cases are flagged exercise and `accord report hotline` keeps
//! them out of the real statistics. Then the faults: a message for an
//! unknown case, the same message delivered twice, a note dated ahead of
//! the receiver's clock, a note from a partner the case is not between, a
//! step the rules refuse.

mod common;

use common::{
    StageDown, accord, json_lines as lines, p, stage_base_port, stage_config as cfg,
    stage_hotline as hotline, stage_script, text,
};
use serde_json::Value;
use std::process::Command;

fn ts(s: &Value) -> i64 {
    accord_stix::Timestamp::parse(s.as_str().unwrap())
        .unwrap()
        .unix_seconds
}

/// POSTs `objects` to `node`'s collection received from `from`, as `from`'s
/// account there; the TAXII status.
fn post(nodes: &Value, node: &str, from: &str, objects: &[&str]) -> Value {
    let url = format!(
        "{}/api1/collections/{}/objects/",
        nodes[node]["url"].as_str().unwrap(),
        nodes[node]["received_collection"][from].as_str().unwrap()
    );
    let pw = nodes[node]["partner_accounts"][from]["password"]
        .as_str()
        .unwrap();
    let o = Command::new("curl")
        .args(["-s", "-u", &format!("{from}:{pw}"), "-X", "POST"])
        .args(["-H", "Content-Type: application/taxii+json;version=2.1"])
        .args(["-H", "Accept: application/taxii+json;version=2.1"])
        .args([
            "--data",
            &format!(r#"{{"objects":[{}]}}"#, objects.join(",")),
        ])
        .arg(url)
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn an_exercise_reports_its_times_and_stays_out_of_the_real_statistics() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = stage_base_port();
    let up = stage_script("up.sh", dir, base);
    assert!(up.status.success(), "{}", text(&up));
    let _down = StageDown(dir, base);
    let nodes: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("nodes.json")).unwrap()).unwrap();

    // A real case first, worked in real time.
    let real = hotline(
        dir,
        "cn",
        &[
            "open",
            "--partner",
            "us",
            "--severity",
            "high",
            "--title",
            "Real scanning",
        ],
    );
    let real = real.trim().to_owned();
    assert!(stage_script("sync.sh", dir, base).status.success());

    // The exercise.
    let scenario = accord_testkit::repo("examples/three-nodes/exercise.toml");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let o = accord(&[
        "hotline",
        "exercise",
        p(&scenario),
        "--root",
        p(dir),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let start = ts(&r["start"]);
    // The default start: the last step (+80h) 10 minutes before now.
    let span = 80 * 3600;
    assert!(
        (before - span - 600 - 5..=before - span - 600 + 60).contains(&start),
        "start {} for a run at {before}",
        r["start"]
    );
    assert_eq!(ts(&r["end"]), start + span);
    let case = |label: &str| -> &Value {
        r["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"] == label)
            .unwrap_or_else(|| panic!("{label} not in {r:#}"))
    };
    // (deadline, allowed, took, outcome, escalated) of cycle 0, the same
    // at both parties.
    let expect = [
        ("scan", "ack", 4 * 3600, 45 * 60, "met", false),
        ("scan", "resolve", 72 * 3600, 80 * 3600, "missed", true),
        ("outage", "ack", 3600, 90 * 60, "missed", true),
        ("outage", "resolve", 24 * 3600, 2 * 3600, "met", false),
    ];
    for (label, deadline, allowed, took, outcome, escalated) in expect {
        let c = case(label);
        assert_eq!(c["opener"], "cn");
        assert_eq!(c["addressee"], "us");
        assert_eq!(c["agree"], true, "{c:#}");
        let parties = c["parties"].as_array().unwrap();
        assert_eq!(parties.len(), 2, "{c:#}");
        for v in parties {
            let who = v["party"].as_str().unwrap();
            assert_eq!(v["holds"], true, "{who}: {c:#}");
            assert_eq!(v["exercise"], true, "{who}");
            assert_eq!(v["state"], "resolved", "{who}");
            assert_eq!(v["escalation"], 1, "{who}: {label}");
            let f = &v["cycles"][0][deadline];
            assert_eq!(f["allowed_secs"], allowed, "{who} {label} {deadline}: {f}");
            assert_eq!(f["took_secs"], took, "{who} {label} {deadline}: {f}");
            assert_eq!(f["outcome"], outcome, "{who} {label} {deadline}: {f}");
            assert_eq!(f["escalated"], escalated, "{who} {label} {deadline}: {f}");
        }
    }
    // Each missed deadline escalated on both sides, at the step that
    // passed it, once; nothing else escalated; nothing failed to arrive.
    let mut fired: Vec<(String, String, String, String, i64)> = Vec::new();
    for s in r["steps"].as_array().unwrap() {
        assert_eq!(s["delivery_failures"].as_array().unwrap().len(), 0, "{s}");
        for e in s["escalations"].as_array().unwrap() {
            fired.push((
                s["at"].as_str().unwrap().into(),
                e["party"].as_str().unwrap().into(),
                e["case"].as_str().unwrap().into(),
                e["deadline"].as_str().unwrap().into(),
                ts(&e["due"]) - start,
            ));
        }
    }
    fired.sort();
    let want: Vec<(String, String, String, String, i64)> = [
        ("+2h30m", "cn", "outage", "ack", 2 * 3600),
        ("+2h30m", "us", "outage", "ack", 2 * 3600),
        ("+80h", "cn", "scan", "resolve", 72 * 3600),
        ("+80h", "us", "scan", "resolve", 72 * 3600),
    ]
    .iter()
    .map(|(a, b, c, d, e)| ((*a).into(), (*b).into(), (*c).into(), (*d).into(), *e))
    .collect();
    assert_eq!(fired, want);
    let (scan, outage) = (
        case("scan")["id"].as_str().unwrap().to_owned(),
        case("outage")["id"].as_str().unwrap().to_owned(),
    );

    // The runner's span files are gone; the nodes' own tick at the real
    // time finds nothing more to escalate (each deadline fired once).
    for node in ["cn", "us"] {
        let play = dir.join(node).join("data/hotline-exercises");
        let left: Vec<_> = std::fs::read_dir(&play).unwrap().collect();
        assert!(left.is_empty(), "{node}: {left:?}");
        let out = hotline(dir, node, &["tick", "--json"]);
        assert_eq!(out.lines().count(), 0, "{node}: {out}");
        let cases = lines(&hotline(dir, node, &["list", "--json"]));
        let flag = |id: &str| {
            cases
                .iter()
                .find(|c| c["id"] == id)
                .unwrap_or_else(|| panic!("{node}: {id} not in {cases:#?}"))["exercise"]
                .clone()
        };
        assert_eq!(flag(&scan), true, "{node}");
        assert_eq!(flag(&outage), true, "{node}");
        assert_eq!(flag(&real), false, "{node}");
    }
    // eu is no party: it holds neither case.
    assert!(lines(&hotline(dir, "eu", &["list", "--json"])).is_empty());

    // The real statistics count the real case alone; the exercises apart.
    for node in ["cn", "us"] {
        let o = accord(&["report", "hotline", "--json", "--config", &cfg(dir, node)]);
        assert!(o.status.success(), "{}", text(&o));
        let rows = lines(&String::from_utf8(o.stdout).unwrap());
        let sum = |exercise: bool, key: &str| -> u64 {
            rows.iter()
                .filter(|r| r["exercise"] == exercise)
                .map(|r| r[key].as_u64().unwrap())
                .sum()
        };
        assert_eq!(sum(false, "cases"), 1, "{node}: {rows:#?}");
        assert_eq!(sum(false, "escalated"), 0, "{node}");
        assert_eq!(sum(false, "resolved"), 0, "{node}");
        assert_eq!(sum(true, "cases"), 2, "{node}: {rows:#?}");
        assert_eq!(sum(true, "escalated"), 2, "{node}");
        assert_eq!(sum(true, "resolved"), 2, "{node}");
        let crit = rows
            .iter()
            .find(|r| r["exercise"] == true && r["severity"] == "critical")
            .unwrap();
        assert_eq!(crit["median_ack_seconds"], 90 * 60, "{node}");
        assert_eq!(crit["median_resolve_seconds"], 2 * 3600, "{node}");
    }

    // Faults. A message for a case not known here: exit 2, naming it.
    let unknown = "incident--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0fff";
    let o = accord(&["hotline", "ack", unknown, "--config", &cfg(dir, "us")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(unknown) && text(&o).contains("not known here"),
        "{}",
        text(&o)
    );

    // The same message delivered twice (us POSTs its acknowledgement of
    // `scan` to cn again, twice): accepted, and the case holds it once.
    let held = accord(&[
        "export",
        "--data",
        p(&dir.join("us").join("data")),
        "--collection",
        "hotline",
        "--jsonl",
    ]);
    assert!(held.status.success(), "{}", text(&held));
    let held = String::from_utf8(held.stdout).unwrap();
    let ack = held
        .lines()
        .find(|l| l.contains("\"note\"") && l.contains(&scan) && l.contains("\"ack\""))
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let status = post(&nodes, "cn", "us", &[&ack]);
        let log = std::fs::read_to_string(dir.join("cn/serve.log")).unwrap_or_default();
        assert_eq!(status["failure_count"], 0, "{status}\n{log}");
    }
    let show: Value =
        serde_json::from_str(&hotline(dir, "cn", &["show", &scan, "--json"])).unwrap();
    let kinds: Vec<&str> = show["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["open", "ack", "reply", "escalate", "resolve"],
        "{show:#}"
    );

    // A note dated an hour ahead of cn's clock: refused at admission,
    // naming the note and the skew; the case is unchanged.
    let mut planted: Value = serde_json::from_str(&ack).unwrap();
    let ahead = accord_stix::Timestamp::from_unix(before + 7200, 0).to_millis_string();
    planted["created"] = ahead.clone().into();
    planted["modified"] = ahead.clone().into();
    let planted = planted.to_string();
    let status = post(&nodes, "cn", "us", &[&planted]);
    assert_eq!(status["failure_count"], 1, "{status}");
    let why = status.to_string();
    assert!(
        why.contains("ahead of this node's clock") && why.contains("max_clock_skew_secs"),
        "{why}"
    );
    let again: Value =
        serde_json::from_str(&hotline(dir, "cn", &["show", &scan, "--json"])).unwrap();
    assert_eq!(again["messages"], show["messages"]);

    // A reply from a partner the case is not addressed to: eu writes, as
    // itself, on the case between cn and us. Refused, naming the case.
    let mut stray: Value = serde_json::from_str(&ack).unwrap();
    stray["created_by_ref"] = nodes["eu"]["identity"].clone();
    let status = post(&nodes, "cn", "eu", &[&stray.to_string()]);
    assert_eq!(status["failure_count"], 1, "{status}");
    assert!(
        status.to_string().contains("not between partner `eu`"),
        "{status}"
    );

    // A step the rules refuse (the opener acknowledges its own case):
    // exit 2 naming the step and what is allowed; no span file is left.
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[parties]\ncn = \"cn/accord.toml\"\nus = \"us/accord.toml\"\n\
         [[steps]]\nat = \"+0s\"\nparty = \"cn\"\naction = \"open\"\ncase = \"x\"\nto = \"us\"\n\
         severity = \"low\"\ntitle = \"Drill\"\n\
         [[steps]]\nat = \"+5m\"\nparty = \"cn\"\naction = \"ack\"\ncase = \"x\"\n",
    )
    .unwrap();
    let o = accord(&["hotline", "exercise", p(&bad)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("step 2 (at +5m") && text(&o).contains("allowed"),
        "{}",
        text(&o)
    );
    for node in ["cn", "us"] {
        let play = dir.join(node).join("data/hotline-exercises");
        assert_eq!(std::fs::read_dir(&play).unwrap().count(), 0, "{node}");
    }
}
