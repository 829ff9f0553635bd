//! Protected facilities between real nodes (`examples/three-nodes/`, the
//! debug binary): `us` registers a facility of jurisdiction CN and one of
//! its own; `eu` shares indicators pointing into them; after ONE sync
//! round `us` holds a critical case naming each facility, the CN one
//! addressed to `cn`, its own kept local; a second round adds nothing; a
//! partner's TAXII POST touching the facility adds a note to the open
//! case; `cn` receives the case. Also: the `accord facility` commands and
//! their errors, and `accord match` hits on a facility's addresses.

mod common;

use common::{
    StageDown, accord, json_lines as lines, p, run_config as run, stage_base_port,
    stage_config as cfg, stage_script, stage_script_with, text,
};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn cases(config: &str) -> Vec<Value> {
    lines(&run(config, &["hotline", "list", "--json"]))
}

fn of_facility<'a>(cases: &'a [Value], name: &str) -> Vec<&'a Value> {
    cases.iter().filter(|c| c["facility"] == name).collect()
}

fn indicator(uuid: &str, pattern: &str) -> String {
    serde_json::json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{uuid}"),
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "name": "C2", "pattern_type": "stix", "pattern": pattern,
        "valid_from": "2026-12-01T10:00:00Z"
    })
    .to_string()
}

const CLEARING: &str = "CN Clearing House";
const GRID: &str = "US Grid Operator";

#[test]
fn a_touch_from_a_partner_opens_a_critical_case_in_one_round() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = stage_base_port();
    // No scheduler in the nodes: a background round (the one at start is
    // retried within seconds while the other nodes come up) would pull
    // eu's share into us before sync.sh's round reaches cn, and the order
    // this test asserts would be a race.
    let up = stage_script_with("up.sh", dir, base, &[("SYNC_INTERVAL", "0")]);
    assert!(up.status.success(), "{}", text(&up));
    let _down = StageDown(dir, base);
    let nodes: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("nodes.json")).unwrap()).unwrap();
    let us = cfg(dir, "us");

    run(
        &us,
        &[
            "facility",
            "add",
            "--name",
            CLEARING,
            "--jurisdiction",
            "CN",
            "--sector",
            "finance",
            "--network",
            "198.51.100.0/24",
            "--domain",
            "clearing.example",
        ],
    );
    run(
        &us,
        &[
            "facility",
            "add",
            "--name",
            GRID,
            "--jurisdiction",
            "US",
            "--network",
            "192.0.2.0/24",
        ],
    );
    assert!(cases(&us).is_empty());

    // eu shares two indicators into the facilities and one elsewhere.
    let objs = [
        indicator(
            "a1111111-1111-4111-8111-111111111111",
            "[ipv4-addr:value = '198.51.100.23']",
        ),
        indicator(
            "a2222222-2222-4222-8222-222222222222",
            "[network-traffic:dst_ref.value = '192.0.2.77' AND network-traffic:dst_port = 502]",
        ),
        indicator(
            "a3333333-3333-4333-8333-333333333333",
            "[ipv4-addr:value = '203.0.113.250']",
        ),
    ];
    let file = dir.join("eu-share.jsonl");
    std::fs::write(&file, objs.join("\n")).unwrap();
    let o = accord(&[
        "ingest",
        "--data",
        p(&dir.join("eu/data")),
        "--collection",
        "share",
        p(&file),
    ]);
    assert!(o.status.success(), "{}", text(&o));

    // ONE round: us pulls eu's share and escalates at once.
    let round = stage_script("sync.sh", dir, base);
    assert!(round.status.success(), "{}", text(&round));
    let at_us = cases(&us);
    let clearing = of_facility(&at_us, CLEARING);
    assert_eq!(clearing.len(), 1, "{at_us:#?}");
    let c = clearing[0];
    assert_eq!(c["severity"], "critical");
    assert_eq!(c["exercise"], false);
    assert_eq!(c["state"], "open");
    assert_eq!(
        c["partner"], "cn",
        "addressed to the facility's jurisdiction"
    );
    assert_eq!(c["role"], "opener");
    let case_id = c["id"].as_str().unwrap().to_owned();
    let grid = of_facility(&at_us, GRID);
    assert_eq!(grid.len(), 1, "{at_us:#?}");
    // us's facilities are shared: cn pulled them before eu's share in the
    // same round, saw the touch first and addressed the case to us, the
    // facility's jurisdiction; us's own copy of the evidence adds nothing.
    assert_eq!(grid[0]["partner"], "cn", "{at_us:#?}");
    assert_eq!(grid[0]["role"], "addressee", "{at_us:#?}");
    assert_eq!(at_us.len(), 2, "the third indicator touches nothing");
    // The evidence is attached and named.
    let show: Value =
        serde_json::from_str(&run(&us, &["hotline", "show", &case_id, "--json"])).unwrap();
    let open = &show["messages"][0];
    assert_eq!(
        open["attachments"],
        serde_json::json!(["indicator--a1111111-1111-4111-8111-111111111111"])
    );
    assert!(
        open["text"].as_str().unwrap().contains("198.51.100.23"),
        "{show:#}"
    );

    // A second round stores nothing new: nothing is added.
    let round = stage_script("sync.sh", dir, base);
    assert!(round.status.success(), "{}", text(&round));
    let again = cases(&us);
    assert_eq!(again.len(), 2, "{again:#?}");
    let show2: Value =
        serde_json::from_str(&run(&us, &["hotline", "show", &case_id, "--json"])).unwrap();
    assert_eq!(show2["messages"].as_array().unwrap().len(), 1, "{show2:#}");
    // cn, the facility's jurisdiction, has received the case.
    let at_cn = cases(&cfg(dir, "cn"));
    let c = at_cn
        .iter()
        .find(|c| c["id"] == case_id.as_str())
        .unwrap_or_else(|| panic!("{at_cn:#?}"));
    assert_eq!(c["facility"], CLEARING);
    assert_eq!(c["partner"], "us");
    assert_eq!(c["role"], "addressee");
    // eu, no party, has nothing.
    assert!(cases(&cfg(dir, "eu")).is_empty());

    // eu POSTs to us an indicator naming a subdomain of the facility: the
    // open case gets a note, at once (no round needed).
    let ind = indicator(
        "a4444444-4444-4444-8444-444444444444",
        "[url:value = 'https://portal.clearing.example/login']",
    );
    let url = format!(
        "{}/api1/collections/{}/objects/",
        nodes["us"]["url"].as_str().unwrap(),
        nodes["us"]["received_collection"]["eu"].as_str().unwrap()
    );
    let pw = nodes["us"]["partner_accounts"]["eu"]["password"]
        .as_str()
        .unwrap();
    let envelope = format!(r#"{{"objects":[{ind}]}}"#);
    for _ in 0..2 {
        let o = Command::new("curl")
            .args(["-s", "-u", &format!("eu:{pw}"), "-X", "POST"])
            .args(["-H", "Content-Type: application/taxii+json;version=2.1"])
            .args(["-H", "Accept: application/taxii+json;version=2.1"])
            .args(["--data", &envelope, &url])
            .output()
            .unwrap();
        let answer = String::from_utf8_lossy(&o.stdout);
        assert!(
            answer.contains("\"success_count\":1"),
            "{answer}\n{}",
            std::fs::read_to_string(dir.join("us/serve.log")).unwrap_or_default()
        );
    }
    let after = cases(&us);
    assert_eq!(of_facility(&after, CLEARING).len(), 1, "{after:#?}");
    let show3: Value =
        serde_json::from_str(&run(&us, &["hotline", "show", &case_id, "--json"])).unwrap();
    let msgs = show3["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "posted twice, noted once: {show3:#}");
    assert_eq!(msgs[1]["kind"], "reply");
    assert_eq!(
        msgs[1]["attachments"],
        serde_json::json!(["indicator--a4444444-4444-4444-8444-444444444444"])
    );
    // The node logged each escalation.
    let log = std::fs::read_to_string(dir.join("us/serve.log")).unwrap();
    assert!(
        log.contains("protected facility CN Clearing House (CN) touched"),
        "{log}"
    );
}

/// A node of its own (no server), initialised in `dir`.
fn node(dir: &Path) -> String {
    let (config, _, _) = common::init(dir, "a", "admin");
    p(&config).to_owned()
}

fn fails(config: &str, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--config", config]);
    let o = accord(&all);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    text(&o)
}

#[test]
fn facility_commands_add_list_import_remove_and_refuse_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let config = node(tmp.path());
    let add = |name: &str, extra: &[&str]| {
        let mut a = vec!["facility", "add", "--name", name, "--json"];
        a.extend_from_slice(extra);
        lines(&run(&config, &a))
    };
    let out = add(
        "Example Exchange",
        &[
            "--jurisdiction",
            "de",
            "--network",
            "198.51.100.7/24",
            "--domain",
            "Exchange.Example.",
            "--asn",
            "AS64500",
        ],
    );
    assert!(
        out[0]["id"]
            .as_str()
            .unwrap()
            .starts_with("infrastructure--")
    );
    let list = lines(&run(&config, &["facility", "list", "--json"]));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "Example Exchange");
    assert_eq!(list[0]["jurisdiction"], "DE");
    assert_eq!(list[0]["networks"], serde_json::json!(["198.51.100.0/24"]));
    assert_eq!(list[0]["domains"], serde_json::json!(["exchange.example"]));
    assert_eq!(list[0]["asns"], serde_json::json!([64500]));
    assert_eq!(list[0]["own"], true);

    // Bad input: named, nothing stored.
    let e = fails(
        &config,
        &[
            "facility",
            "add",
            "--name",
            "X",
            "--jurisdiction",
            "FR",
            "--network",
            "10.0.0.0/33",
        ],
    );
    assert!(
        e.contains("facility \"X\": networks:") && e.contains("10.0.0.0/33"),
        "{e}"
    );
    let e = fails(
        &config,
        &[
            "facility",
            "add",
            "--name",
            "X",
            "--jurisdiction",
            "FR",
            "--network",
            "10.0.0.0/4",
        ],
    );
    assert!(e.contains("wider than /8"), "{e}");
    let e = fails(
        &config,
        &["facility", "add", "--name", "X", "--jurisdiction", "XX"],
    );
    assert!(e.contains("\"XX\" is not an assigned ISO 3166-1"), "{e}");
    let e = fails(
        &config,
        &[
            "facility",
            "add",
            "--name",
            "example EXCHANGE",
            "--jurisdiction",
            "DE",
        ],
    );
    assert!(e.contains("already registered"), "{e}");
    let e = fails(
        &config,
        &[
            "facility",
            "add",
            "--name",
            "X",
            "--jurisdiction",
            "FR",
            "--domain",
            "com",
        ],
    );
    assert!(e.contains("top-level domain"), "{e}");
    assert_eq!(
        lines(&run(&config, &["facility", "list", "--json"])).len(),
        1
    );

    // Import: CSV, then a STIX bundle (an identity with the extension).
    let csv = tmp.path().join("f.csv");
    std::fs::write(
        &csv,
        "name,sector,jurisdiction,networks,domains\nGrid,energy,FR,203.0.113.128/25,grid.example\n\"Port, North\",,NL,192.0.2.0/24;2001:db8:200::/48,\n",
    )
    .unwrap();
    let out = lines(&run(&config, &["facility", "import", p(&csv), "--json"]));
    assert_eq!(out.len(), 2);
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "name,jurisdiction,networks\nA,DE,10.0.0.0/8\nB,FR,nonsense\n",
    )
    .unwrap();
    let e = fails(&config, &["facility", "import", p(&bad)]);
    assert!(e.contains("bad.csv: CSV line 3"), "{e}");
    // All or nothing: A was not registered.
    let names: Vec<String> = lines(&run(&config, &["facility", "list", "--json"]))
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Example Exchange", "Grid", "Port, North"]);
    let bundle = tmp.path().join("b.json");
    std::fs::write(
        &bundle,
        format!(
            r#"{{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
            {{"type":"identity","spec_version":"2.1","id":"identity--5d0092c5-5f74-4287-9642-33f4c354e56e","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Water Board","identity_class":"organization","sectors":["utilities"],
             "extensions":{{"{ext}":{{"extension_type":"property-extension","jurisdiction":"BE","domains":["water.example"]}}}}}},
            {{"type":"indicator","spec_version":"2.1","id":"indicator--5d0092c5-5f74-4287-9642-33f4c354e56f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern_type":"stix","pattern":"[ipv4-addr:value = '10.0.0.1']","valid_from":"2026-01-01T00:00:00Z"}}]}}"#,
            ext = accord_app::facility::FACILITY_EXTENSION_ID
        ),
    )
    .unwrap();
    run(&config, &["facility", "import", p(&bundle)]);
    let list = lines(&run(&config, &["facility", "list", "--json"]));
    let water = list.iter().find(|f| f["name"] == "Water Board").unwrap();
    assert_eq!(water["sector"], "utilities");
    assert_eq!(water["jurisdiction"], "BE");

    // Remove: a revoked version; unknown names are named.
    run(&config, &["facility", "remove", "grid"]);
    let list = lines(&run(&config, &["facility", "list", "--json"]));
    assert!(list.iter().all(|f| f["name"] != "Grid"), "{list:#?}");
    assert_eq!(list.len(), 3);
    let e = fails(&config, &["facility", "remove", "grid"]);
    assert!(e.contains("no facility \"grid\" is registered here"), "{e}");
    // The revocation is in the store, as STIX says.
    let data = tmp.path().join("a");
    let o = accord(&[
        "export",
        "--data",
        p(&data),
        "--collection",
        "facilities",
        "--jsonl",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let exported = String::from_utf8(o.stdout).unwrap();
    assert!(
        exported
            .lines()
            .any(|l| l.contains("\"name\":\"Grid\"") && l.contains("\"revoked\":true")),
        "{exported}"
    );
    // Registered again after removal: live again.
    run(
        &config,
        &[
            "facility",
            "add",
            "--name",
            "Grid",
            "--jurisdiction",
            "FR",
            "--network",
            "203.0.113.128/25",
        ],
    );
    assert_eq!(
        lines(&run(&config, &["facility", "list", "--json"])).len(),
        4
    );
}

#[test]
fn match_hits_on_a_facility_open_one_case_per_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = node(dir);
    let data = dir.join("a");
    run(
        &config,
        &[
            "facility",
            "add",
            "--name",
            "Hospital",
            "--jurisdiction",
            "FR",
            "--network",
            "192.0.2.0/24",
        ],
    );
    // A C2 indicator outside the facility: ingesting it touches nothing.
    let ind = dir.join("ind.json");
    std::fs::write(
        &ind,
        indicator(
            "b1111111-1111-4111-8111-111111111111",
            "[ipv4-addr:value = '203.0.113.9']",
        ),
    )
    .unwrap();
    let o = accord(&[
        "ingest",
        "--data",
        p(&data),
        "--collection",
        "share",
        "--config",
        &config,
        p(&ind),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(cases(&config).is_empty());
    // The firewall saw the C2 talk to two of the hospital's addresses.
    let log = dir.join("fw.csv");
    std::fs::write(
        &log,
        "2026-12-05T10:00:00Z,203.0.113.9,192.0.2.10\n2026-12-05T10:00:01Z,203.0.113.9,192.0.2.11\n2026-12-05T10:00:02Z,203.0.113.9,10.0.0.1\n",
    )
    .unwrap();
    let m = |with_config: bool| {
        let mut a = vec![
            "match",
            "--data",
            p(&data),
            "--format",
            "csv",
            "--columns",
            "time,src:ip,dst:ip",
            "--evidence",
            "--no-progress",
        ];
        if with_config {
            a.extend_from_slice(&["--config", &config]);
        }
        a.push(p(&log));
        let o = accord(&a);
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    // Without the node's config: reported, no case.
    let out = m(false);
    assert!(
        out.contains("hits on protected facilities (Hospital)"),
        "{out}"
    );
    assert!(cases(&config).is_empty());
    // With it: one critical case for the run, the indicator attached.
    let out = m(true);
    assert!(
        out.contains("protected facility Hospital hit by 1 indicator(s): opened critical case"),
        "{out}"
    );
    let all = cases(&config);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["facility"], "Hospital");
    assert_eq!(all[0]["severity"], "critical");
    assert_eq!(all[0]["partner"], "self", "no partner of FR: kept local");
    let id = all[0]["id"].as_str().unwrap();
    let show: Value =
        serde_json::from_str(&run(&config, &["hotline", "show", id, "--json"])).unwrap();
    let open = &show["messages"][0];
    assert_eq!(
        open["attachments"],
        serde_json::json!(["indicator--b1111111-1111-4111-8111-111111111111"])
    );
    let t = open["text"].as_str().unwrap();
    assert!(
        t.contains("192.0.2.10") && t.contains("192.0.2.11") && !t.contains("10.0.0.1 "),
        "{t}"
    );
    // The same run again: the evidence is attached already, nothing added.
    m(true);
    assert_eq!(cases(&config).len(), 1);
    let show: Value =
        serde_json::from_str(&run(&config, &["hotline", "show", id, "--json"])).unwrap();
    assert_eq!(show["messages"].as_array().unwrap().len(), 1);
}

/// `accord match --follow --config`: a hit on a protected facility's
/// address opens its critical case at the flush that writes the hit, while
/// the log is still being followed.
#[test]
fn following_a_log_escalates_at_the_flush() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = node(dir);
    let data = dir.join("a");
    run(
        &config,
        &[
            "facility",
            "add",
            "--name",
            "Grid operator",
            "--jurisdiction",
            "FR",
            "--network",
            "192.0.2.0/24",
        ],
    );
    let ind = dir.join("ind.json");
    std::fs::write(
        &ind,
        indicator(
            "c1111111-1111-4111-8111-111111111111",
            "[ipv4-addr:value = '203.0.113.9']",
        ),
    )
    .unwrap();
    let o = accord(&[
        "ingest",
        "--data",
        p(&data),
        "--collection",
        "share",
        "--config",
        &config,
        p(&ind),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let log = dir.join("fw.csv");
    std::fs::write(&log, "2026-12-05T10:00:00Z,203.0.113.9,192.0.2.10\n").unwrap();
    let o = accord(&[
        "match",
        "--data",
        p(&data),
        "--format",
        "csv",
        "--columns",
        "time,src:ip,dst:ip",
        "--evidence",
        "--follow",
        "--follow-for",
        "3",
        "--flush",
        "1",
        "--config",
        &config,
        p(&log),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(
            "protected facility Grid operator hit by 1 indicator(s): opened critical case"
        ),
        "{}",
        text(&o)
    );
    let all = cases(&config);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["facility"], "Grid operator");
    assert_eq!(all[0]["severity"], "critical");
}
