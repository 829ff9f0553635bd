//! `accord ledger audit` after exchanges recorded before the partner was
//! configured: a sync without `--config` records the partner's objects as
//! received from the host of its URL, not its name; the audit counts them
//! as the partner's (and says so) instead of reporting the partner's log
//! entries as `extra`, and objects recorded under a label that does not
//! name the partner are set aside, not findings.

mod common;
use common::{accord, accord_pw, ingest, init, p, serve, text};

#[test]
fn audit_counts_exchanges_recorded_before_the_partner_was_configured() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Node a has an account `b`; node b names a as its partner `a`.
    let (a_toml, a_pw, a_port) = init(d, "a", "b");
    let (b_toml, _, _) = init(d, "b", "a");
    let o = accord(&["ledger", "key", "--json", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));
    let ka: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut t = std::fs::read_to_string(&b_toml).unwrap();
    t.push_str(&format!(
        "\n[[partners]]\nname = \"a\"\nurl = \"http://127.0.0.1:{a_port}/\"\nverifier_key = \"{}\"\nwitness_key = \"{}\"\nuser = \"b\"\n",
        ka["verifier_key"].as_str().unwrap(),
        ka["witness_key"].as_str().unwrap(),
    ));
    std::fs::write(&b_toml, t).unwrap();
    ingest(d, &d.join("a"), "1", "300", "default");
    let _a = serve(&a_toml);

    let from_a = format!("http://127.0.0.1:{a_port}/api1/collections/default/");
    let sync = |extra: &[&str]| {
        let mut args = vec!["sync", "--from", &from_a, "--user", "b", "--into", "from-a"];
        args.extend_from_slice(extra);
        accord_pw(&args, &a_pw)
    };
    // First without the configuration: recorded as from `127.0.0.1:PORT`.
    let o = sync(&["--data", p(&d.join("b"))]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("300 stored"), "{}", text(&o));
    // Then with it: nothing new, a's log witnessed.
    let o = sync(&["--config", p(&b_toml)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("witnessed a's log"), "{}", text(&o));

    let audit = || {
        accord_pw(
            &["ledger", "audit", "--config", p(&b_toml), "--partner", "a"],
            &a_pw,
        )
    };
    let o = audit();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(!out.contains("extra in"), "{out}");
    assert!(out.contains("audited 300 records with `a`"), "{out}");
    assert!(out.contains(": 0 finding(s)"), "{out}");
    assert!(
        out.contains(&format!(
            "note: 300 record(s) here carry `127.0.0.1:{a_port}` (recorded before `a` was configured)"
        )),
        "{out}"
    );

    // Objects received under a label that does not name a: held, set
    // aside, not findings.
    drop(_a);
    ingest(d, &d.join("a"), "2", "40", "default");
    let _a = serve(&a_toml);
    let o = sync(&["--data", p(&d.join("b")), "--origin", "someone"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("40 stored"), "{}", text(&o));
    let o = audit();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("audited 300 records with `a`"), "{out}");
    assert!(out.contains(": 0 finding(s)"), "{out}");
    assert!(
        out.contains(
            "note: 40 object(s) `a` logged as sent here are recorded as received from `someone`"
        ),
        "{out}"
    );
    // The JSON report carries both counts.
    let o = accord_pw(
        &[
            "ledger",
            "audit",
            "--json",
            "--config",
            p(&b_toml),
            "--partner",
            "a",
        ],
        &a_pw,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["attributed"][format!("127.0.0.1:{a_port}")], 300);
    assert_eq!(r["other_labels"]["someone"], 40);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0);
}
