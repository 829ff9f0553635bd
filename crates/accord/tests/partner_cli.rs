//! `accord partner …` and `accord report reciprocity` against real nodes:
//! the configuration edited in place, the agreement changes in the log, a
//! real second node checked (keys that match, keys that do not, a node that
//! does not answer), and the reciprocity report over known records.

mod common;

use common::{accord, accord_pw, init, p, serve, text};
use std::path::Path;

fn keys(config: &Path) -> (String, String) {
    let o = accord(&["ledger", "key", "--json", "--config", p(config)]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (
        v["verifier_key"].as_str().unwrap().to_owned(),
        v["witness_key"].as_str().unwrap().to_owned(),
    )
}

/// The `local` records of the agreements in the log of `config`'s node.
fn agreement_records(config: &Path) -> Vec<serde_json::Value> {
    let o = accord(&["ledger", "entries", "--json", "--config", p(config)]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record"].clone())
        .filter(|r| r["collection"] == "accord:agreements")
        .collect()
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn partners_on_the_command_line_against_a_real_node() {
    let dir = tempfile::tempdir().unwrap();
    let (a_toml, _, _) = init(dir.path(), "cert-a", "admin");
    // B's account for A is called cert-a.
    let (b_toml, b_password, b_port) = init(dir.path(), "cert-b", "cert-a");
    let (b_vkey, b_wkey) = keys(&b_toml);
    let (a_vkey, _) = keys(&a_toml);
    let _b = serve(&b_toml);
    let b_url = format!("http://127.0.0.1:{b_port}/");
    let original = std::fs::read_to_string(&a_toml).unwrap();

    // add
    let o = accord(&[
        "partner",
        "add",
        "cert-b",
        "--config",
        p(&a_toml),
        "--jurisdiction",
        "DE",
        "--url",
        &b_url,
        "--api-root",
        "api1",
        "--verifier-key",
        &b_vkey,
        "--witness-key",
        &b_wkey,
        "--user",
        "cert-a",
        "--max-tlp",
        "amber",
        "--collection",
        "default",
        "--personal",
        "pseudonymise",
        "--customer-address",
        "truncate",
        "--pull",
        "365fed99-08fa-fdcd-a1b3-fb247eb41d01",
        "--interval-secs",
        "300",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("added partner `cert-b`"), "{out}");
    assert!(out.contains("local record `agreement:cert-b`"), "{out}");
    // The file keeps every line it had, comments included, in order, and
    // parses as a configuration with the partner.
    let edited = std::fs::read_to_string(&a_toml).unwrap();
    let mut rest = edited.as_str();
    for line in original.lines() {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("line lost or moved: {line:?}\n{edited}"));
        rest = &rest[at + line.len()..];
    }
    assert!(original.contains("# Accord node configuration."));
    let config = accord_app::config::load(&a_toml).unwrap();
    let b = &config.partners[0];
    assert_eq!(b.name, "cert-b");
    assert_eq!(b.jurisdiction.as_deref(), Some("DE"));
    assert_eq!(b.outbound.collections, ["default"]);
    assert_eq!(b.sync.interval_secs, 300);
    assert_eq!(b.verifier_key, b_vkey);

    // The agreement is in the log, its hash recomputable from the file.
    let recs = agreement_records(&a_toml);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["object_id"], "agreement:cert-b");
    assert_eq!(recs[0]["direction"], "local");
    assert_eq!(
        recs[0]["sha256"],
        sha256_hex(&accord_app::agreement_log::agreement_document(b))
    );

    // The same name again is refused, and the file is unchanged.
    let o = accord(&[
        "partner",
        "add",
        "cert-b",
        "--config",
        p(&a_toml),
        "--url",
        &b_url,
        "--verifier-key",
        &b_vkey,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("a partner `cert-b` is already configured"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&a_toml).unwrap(), edited);
    // A collection that is not configured is refused, naming it.
    let o = accord(&[
        "partner",
        "add",
        "cert-x",
        "--config",
        p(&a_toml),
        "--url",
        &b_url,
        "--verifier-key",
        &b_vkey,
        "--collection",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("outbound.collections names `nope`"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&a_toml).unwrap(), edited);

    // list
    let o = accord(&["partner", "list", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.starts_with("NAME    JURISDICTION  URL"), "{out}");
    let row = out.lines().nth(1).unwrap();
    for cell in ["cert-b", "DE", &b_url, "TLP:AMBER", "300s"] {
        assert!(row.contains(cell), "{row}");
    }
    let o = accord(&["partner", "list", "--config", p(&a_toml), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["max_tlp_out"], "TLP:AMBER");
    assert_eq!(v[0]["sync_interval_secs"], 300);

    // show
    let o = accord(&["partner", "show", "cert-b", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains(
            "We send cert-b: every STIX type from collection default, up to TLP:AMBER (AMBER+STRICT and RED are never sent); personal data pseudonymised; customer addresses truncated to /24 (/48); important data: objects withheld; sightings go back; cert-b may share nothing onward."
        ),
        "{out}"
    );
    assert!(out.contains("We accept from cert-b:"), "{out}");
    assert!(out.contains("This node declares no jurisdiction."), "{out}");
    let o = accord(&["partner", "show", "nobody", "--config", p(&a_toml)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no partner `nobody`"), "{}", text(&o));

    // check: B answers and its keys match.
    let o = accord_pw(
        &["partner", "check", "cert-b", "--config", p(&a_toml)],
        &b_password,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("answers:   yes"), "{out}");
    assert!(
        out.contains("keys:      match (its checkpoint of size"),
        "{out}"
    );
    assert!(out.contains("We send cert-b:"), "{out}");
    // Without the password B refuses: not answering, exit 2.
    let o = accord(&["partner", "check", "cert-b", "--config", p(&a_toml)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("401"), "{}", text(&o));

    // A partner configured with the wrong verifier key (A's own) at B's URL.
    let o = accord(&[
        "partner",
        "add",
        "cert-c",
        "--config",
        p(&a_toml),
        "--url",
        &b_url,
        "--verifier-key",
        &a_vkey,
        "--user",
        "cert-a",
        "--account",
        "cert-c",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = accord_pw(
        &["partner", "check", "cert-c", "--config", p(&a_toml)],
        &b_password,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("DO NOT MATCH"), "{out}");
    assert!(out.contains("does not verify under verifier_key"), "{out}");
    // All partners: the worst outcome decides.
    let o = accord_pw(
        &["partner", "check", "--config", p(&a_toml), "--json"],
        &b_password,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["partners"][0]["keys_match"], true);
    assert_eq!(v["partners"][1]["keys_match"], false);

    // remove
    let o = accord(&["partner", "remove", "cert-c", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("removal recorded"), "{}", text(&o));
    let o = accord(&["partner", "remove", "cert-c", "--config", p(&a_toml)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no partner `cert-c`"), "{}", text(&o));
    let config = accord_app::config::load(&a_toml).unwrap();
    assert_eq!(config.partners.len(), 1);
    let recs = agreement_records(&a_toml);
    assert_eq!(recs.len(), 3, "{recs:?}");
    assert_eq!(recs[2]["object_id"], "agreement:cert-c");
    assert_eq!(
        recs[2]["sha256"],
        sha256_hex(&accord_app::agreement_log::removal_document("cert-c"))
    );

    // An agreement edited by hand is recorded when the node starts.
    let text_now = std::fs::read_to_string(&a_toml).unwrap();
    std::fs::write(
        &a_toml,
        text_now.replace("max_tlp = \"amber\"", "max_tlp = \"clear\""),
    )
    .unwrap();
    drop(serve(&a_toml));
    let recs = agreement_records(&a_toml);
    assert_eq!(recs.len(), 4, "{recs:?}");
    let config = accord_app::config::load(&a_toml).unwrap();
    assert_eq!(
        recs[3]["sha256"],
        sha256_hex(&accord_app::agreement_log::agreement_document(
            &config.partners[0]
        ))
    );
    // ... once.
    drop(serve(&a_toml));
    assert_eq!(agreement_records(&a_toml).len(), 4);
    // The log still verifies.
    let o = accord(&["ledger", "verify", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));

    // A partner that does not answer: exit 2.
    let port = common::free_port();
    let o = accord(&[
        "partner",
        "add",
        "cert-d",
        "--config",
        p(&a_toml),
        "--url",
        &format!("http://127.0.0.1:{port}/"),
        "--verifier-key",
        &b_vkey,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = accord(&["partner", "check", "cert-d", "--config", p(&a_toml)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("answers:   NO"), "{}", text(&o));
}

#[test]
fn reciprocity_from_known_records() {
    use accord_store::accord_ledger::{Decision, Direction, ExchangeRecord};
    use accord_store::{OpenOptions, SqliteStore};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rec = |direction: Direction,
               partner: &str,
               id: &str,
               modified: &str,
               decision: Decision,
               time: &str| {
        ExchangeRecord {
            direction,
            partner: Some(partner.to_owned()),
            collection: "default".into(),
            object_id: id.into(),
            modified: Some(modified.to_owned()),
            sha256: "0".repeat(64),
            decision,
            time: time.into(),
            salt: None,
        }
    };
    {
        let store = SqliteStore::open_with(&data, &OpenOptions::new()).unwrap();
        let v = "2026-11-01T00:00:00.000Z";
        store
            .writer()
            .log_records(&[
                rec(
                    Direction::Out,
                    "eu",
                    "indicator--1",
                    v,
                    Decision::Sent,
                    "2026-11-01T00:00:30Z",
                ),
                rec(
                    Direction::Out,
                    "eu",
                    "indicator--2",
                    v,
                    Decision::Sent,
                    "2026-11-01T00:01:30Z",
                ),
                rec(
                    Direction::Out,
                    "eu",
                    "report--3",
                    v,
                    Decision::Redacted {
                        fields: vec!["x_email".into()],
                    },
                    "2026-11-01T00:10:00Z",
                ),
                rec(
                    Direction::Out,
                    "eu",
                    "report--4",
                    v,
                    Decision::Redacted {
                        fields: vec!["x_email".into()],
                    },
                    "2026-11-01T02:00:00Z",
                ),
                rec(
                    Direction::Out,
                    "eu",
                    "indicator--5",
                    v,
                    Decision::Withheld {
                        reason: "max_tlp: TLP:RED".into(),
                    },
                    "2026-11-02T00:00:00Z",
                ),
                rec(
                    Direction::In,
                    "eu",
                    "sighting--6",
                    v,
                    Decision::Stored,
                    "2026-11-03T00:00:00Z",
                ),
                rec(
                    Direction::In,
                    "eu",
                    "sighting--7",
                    v,
                    Decision::Stored,
                    "2026-11-03T00:00:00Z",
                ),
                rec(
                    Direction::In,
                    "eu",
                    "indicator--8",
                    v,
                    Decision::Rejected {
                        reason: "invalid".into(),
                    },
                    "2026-11-03T00:00:00Z",
                ),
                rec(
                    Direction::Out,
                    "eu",
                    "indicator--9",
                    v,
                    Decision::Sent,
                    "2026-12-01T00:00:00Z",
                ),
            ])
            .unwrap();
    }
    let o = accord(&["report", "reciprocity", "--json", "--data", p(&data)]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "since": null,
            "records": 9,
            "partners": [{"partner": "eu", "months": [
                {"month": "2026-11",
                 "sent": {"indicator": 2, "report": 2}, "sent_total": 4, "redacted": 2,
                 "received": {"sighting": 2}, "received_total": 2,
                 "withheld": {"max_tlp: TLP:RED": 1}, "withheld_total": 1,
                 "rejected": {"invalid": 1}, "rejected_total": 1,
                 "sightings_returned": 2,
                 // delays 30 s, 90 s, 600 s, 7200 s: median (90 + 600) / 2
                 "median_delay_seconds": 345.0, "delay_samples": 4},
                {"month": "2026-12",
                 "sent": {"indicator": 1}, "sent_total": 1, "redacted": 0,
                 "received": {}, "received_total": 0,
                 "withheld": {}, "withheld_total": 0,
                 "rejected": {}, "rejected_total": 0,
                 "sightings_returned": 0,
                 "median_delay_seconds": 2592000.0, "delay_samples": 1}
            ]}]
        })
    );
    let o = accord(&[
        "report",
        "reciprocity",
        "--since",
        "2026-12",
        "--data",
        p(&data),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.starts_with("PARTNER  MONTH    SENT"), "{out}");
    assert!(out.contains("eu       2026-12  1"), "{out}");
    assert!(!out.contains("2026-11"), "{out}");
    assert!(out.contains("30d 0s"), "{out}");
    let o = accord(&[
        "report",
        "reciprocity",
        "--since",
        "2026-13",
        "--data",
        p(&data),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("--since `2026-13` is not a month"),
        "{}",
        text(&o)
    );
}
