//! Partners that go wrong under a running scheduler (`accord serve`), real
//! node processes on 127.0.0.1: node `a` pulls from `b` and `c` every
//! second and witnesses their logs.
//!
//! - `b`'s log key changes (its key file replaced, as a reinstalled or
//!   impersonated node would have): `a` refuses its checkpoint naming the
//!   key, pauses `b` with a `sync-paused` alert that `accord sync --status`
//!   shows, pulls nothing more from it, and keeps syncing with `c`.
//! - `b` is restored from a copy of its data directory taken before more
//!   was appended: its checkpoint goes back on what `a` witnessed; `a`
//!   names the rollback, pauses `b`, and loses or duplicates nothing it
//!   stored.

mod common;

use common::{Server, accord, add_partner, ingest, init, keys, p, serve, text};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Partner `name` of `a`, pulled every second, `a` logging in there as
/// `a` with `password`; an idle round witnesses its log once every
/// `witness_secs`.
fn add_pulled_partner(
    a_toml: &Path,
    dir: &Path,
    name: &str,
    (port, password): (u16, &str),
    witness_secs: u64,
) {
    let k = keys(&dir.join(format!("{name}.toml")));
    add_partner(a_toml, name, port, &k, "a");
    let pw = dir.join(format!("{name}.password"));
    std::fs::write(&pw, password).unwrap();
    let mut t = std::fs::read_to_string(a_toml).unwrap();
    t.push_str(&format!(
        "password_file = \"{}\"\napi_root = \"api1\"\n[partners.sync]\npull = [\"default\"]\ninterval_secs = 1\nwitness_interval_secs = {witness_secs}\n",
        p(&pw)
    ));
    std::fs::write(a_toml, t).unwrap();
}

struct Nodes {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    a_toml: PathBuf,
    b_toml: PathBuf,
    a: Option<Server>,
    b: Option<Server>,
    _c: Server,
}

/// `b` with 50 objects and `c` with 40, both with an account `a`; `a`
/// pulling from both (witnessing an idle partner's log once every
/// `witness_secs`); all three serving, and `a` synced with both.
fn three_nodes(witness_secs: u64) -> Nodes {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let (a_toml, _, a_port) = init(&dir, "a", "admin");
    let (b_toml, b_pw, b_port) = init(&dir, "b", "a");
    let (c_toml, c_pw, c_port) = init(&dir, "c", "a");
    add_pulled_partner(&a_toml, &dir, "b", (b_port, &b_pw), witness_secs);
    add_pulled_partner(&a_toml, &dir, "c", (c_port, &c_pw), witness_secs);
    // b and c know a's witness key: they keep its cosignatures.
    let ka = keys(&a_toml);
    add_partner(&b_toml, "a", a_port, &ka, "admin");
    add_partner(&c_toml, "a", a_port, &ka, "admin");
    ingest(&dir, &dir.join("b"), "11", "50", "default");
    ingest(&dir, &dir.join("c"), "12", "40", "default");
    let b = serve(&b_toml);
    let c = serve(&c_toml);
    let a = serve(&a_toml);
    let n = Nodes {
        _tmp: tmp,
        dir,
        a_toml,
        b_toml,
        a: Some(a),
        b: Some(b),
        _c: c,
    };
    n.wait("a synced with b and c", |n| {
        n.count("from-b") == 50 && n.count("from-c") == 40 && n.witnessed_by_a("b")
    });
    n
}

impl Nodes {
    /// Objects in `collection` of `a`'s store, each id counted once; panics
    /// on an id held twice.
    fn count(&self, collection: &str) -> usize {
        let o = accord(&[
            "export",
            "--data",
            p(&self.dir.join("a")),
            "--collection",
            collection,
            "--jsonl",
        ]);
        if !o.status.success() {
            return 0;
        }
        let ids: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
            .collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "an object is held twice");
        ids.len()
    }

    /// `accord sync --status` on `a`.
    fn status(&self) -> String {
        let o = accord(&["sync", "--config", p(&self.a_toml), "--status"]);
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    }

    /// Whether `partner` serves its latest checkpoint with `a`'s
    /// cosignature (so `a` witnessed its log at that size).
    fn witnessed_by_a(&self, partner: &str) -> bool {
        let o = accord(&[
            "ledger",
            "checkpoint",
            "--config",
            p(&self.dir.join(format!("{partner}.toml"))),
        ]);
        o.status.success() && text(&o).contains("\u{2014} accord.a/witness ")
    }

    /// `a`'s alerts, as JSON.
    fn alerts(&self) -> Vec<serde_json::Value> {
        let o = accord(&["ledger", "alerts", "--json", "--config", p(&self.a_toml)]);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn wait(&self, what: &str, done: impl Fn(&Nodes) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting until {what}; a holds {} from b and {} from c; a's sync status:\n{}\nb's checkpoint:\n{}",
                self.count("from-b"),
                self.count("from-c"),
                self.status(),
                text(&accord(&[
                    "ledger",
                    "checkpoint",
                    "--config",
                    p(&self.b_toml)
                ]))
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `b`'s line of `accord sync --status`.
    fn b_status(&self) -> String {
        self.status()
            .lines()
            .find(|l| l.starts_with("b: "))
            .unwrap_or_default()
            .to_owned()
    }

    /// Checks `a`'s own log and store end to end.
    fn a_verifies(&self) {
        let o = accord(&["ledger", "verify", "--config", p(&self.a_toml)]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
}

#[test]
fn a_partner_whose_log_key_changed_is_paused_and_the_others_keep_syncing() {
    // The default cadence: b's new objects make a's pull probe witness
    // b's log before storing any of them.
    let mut n = three_nodes(300);
    let old_key = keys(&n.b_toml)["verifier_key"].as_str().unwrap().to_owned();
    // b comes back with a new log key (same origin name, other key: a
    // node reinstalled under the same name), and more objects.
    drop(n.b.take());
    let fresh = n.dir.join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    init(&fresh, "b", "a");
    std::fs::copy(fresh.join("b/ledger.key"), n.dir.join("b/ledger.key")).unwrap();
    ingest(&n.dir, &n.dir.join("b"), "13", "10", "default");
    n.b = Some(serve(&n.b_toml));
    let new_key = keys(&n.b_toml)["verifier_key"].as_str().unwrap().to_owned();
    assert_ne!(old_key, new_key);
    // c adds objects meanwhile.
    ingest(&n.dir, &n.dir.join("c"), "14", "20", "default");

    n.wait("b is paused", |n| n.b_status().contains("PAUSED"));
    let line = n.b_status();
    eprintln!("{line}");
    let new_id = new_key.split('+').nth(1).unwrap();
    assert!(
        line.contains("not signed by its configured log key")
            && line.contains(&old_key)
            && line.contains(&format!("accord.b/log+{new_id}"))
            && line.contains("log key changed"),
        "{line}"
    );
    let alerts = n.alerts();
    let paused: Vec<_> = alerts
        .iter()
        .filter(|a| a["kind"] == "sync-paused" && a["partner"] == "b")
        .collect();
    assert_eq!(paused.len(), 1, "{alerts:?}");
    assert!(
        paused[0]["detail"]
            .as_str()
            .unwrap()
            .contains("log key changed"),
        "{alerts:?}"
    );
    // c keeps syncing in the same scheduler; b's new objects are not pulled.
    n.wait("a has c's new objects", |n| n.count("from-c") == 60);
    assert!(n.status().contains("c: active"), "{}", n.status());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(n.count("from-b"), 50);
    assert!(n.b_status().contains("PAUSED"), "{}", n.b_status());
    // What a stored is intact.
    drop(n.a.take());
    n.a_verifies();
}

#[test]
fn a_partner_restored_from_an_old_copy_is_caught_rolling_back_and_paused() {
    // A restored b has nothing new for a: an idle partner's log is
    // witnessed once every `witness_interval_secs`, here every second.
    let mut n = three_nodes(1);
    // A copy of b's data directory now (b stopped for it).
    drop(n.b.take());
    let copy = n.dir.join("b-copy");
    let cp = std::process::Command::new("cp")
        .args(["-a", p(&n.dir.join("b")), p(&copy)])
        .output()
        .unwrap();
    assert!(cp.status.success(), "{}", text(&cp));
    // b appends more; a pulls it and witnesses b's larger log.
    ingest(&n.dir, &n.dir.join("b"), "13", "30", "default");
    n.b = Some(serve(&n.b_toml));
    n.wait("a has b's new objects", |n| n.count("from-b") == 80);
    n.wait("a witnessed b's larger log", |n| n.witnessed_by_a("b"));
    // b is restored from the copy: its log is smaller than what a holds.
    drop(n.b.take());
    std::fs::remove_dir_all(n.dir.join("b")).unwrap();
    std::fs::rename(&copy, n.dir.join("b")).unwrap();
    n.b = Some(serve(&n.b_toml));

    n.wait("b is paused", |n| n.b_status().contains("PAUSED"));
    let line = n.b_status();
    eprintln!("{line}");
    assert!(
        line.contains("rollback: accord.b/log offered a checkpoint of size")
            && line.contains(" entries it had signed are gone")
            && line.contains("restored from an older copy"),
        "{line}"
    );
    let alerts = n.alerts();
    let rollback: Vec<_> = alerts
        .iter()
        .filter(|a| a["kind"] == "rollback" && a["partner"] == "b")
        .collect();
    assert_eq!(rollback.len(), 1, "{alerts:?}");
    // Both signed notes are kept as evidence: the larger one witnessed,
    // the smaller one offered after it.
    let size = |note: &serde_json::Value| -> u64 {
        note.as_str()
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(size(&rollback[0]["first"]) > size(&rollback[0]["second"]));
    assert_eq!(
        alerts
            .iter()
            .filter(|a| a["kind"] == "sync-paused" && a["partner"] == "b")
            .count(),
        1,
        "{alerts:?}"
    );
    // Nothing a stored is lost or doubled; c is unaffected.
    ingest(&n.dir, &n.dir.join("c"), "14", "5", "default");
    n.wait("a has c's new objects", |n| n.count("from-c") == 45);
    assert_eq!(n.count("from-b"), 80);
    assert!(n.b_status().contains("PAUSED"), "{}", n.b_status());
    drop(n.a.take());
    n.a_verifies();
}

/// Object ids in `collection` of the store in `data`, in store order.
fn ids_in(data: &Path, collection: &str) -> Vec<String> {
    let o = accord(&[
        "export",
        "--data",
        p(data),
        "--collection",
        collection,
        "--jsonl",
    ]);
    if !o.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn a_node_killed_again_and_again_mid_push_delivers_everything_once_and_logs_it_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (a_toml, _, _) = init(dir, "a", "admin");
    let (b_toml, b_pw, b_port) = init(dir, "b", "a");
    let kb = keys(&b_toml);
    add_partner(&a_toml, "b", b_port, &kb, "a");
    let pw = dir.join("b.password");
    std::fs::write(&pw, &b_pw).unwrap();
    let mut t = std::fs::read_to_string(&a_toml).unwrap();
    t.push_str(&format!(
        "password_file = \"{}\"\napi_root = \"api1\"\n[partners.sync]\npush = \"default\"\ninterval_secs = 1\n",
        p(&pw)
    ));
    std::fs::write(&a_toml, t).unwrap();
    let total = 3000;
    ingest(dir, &dir.join("a"), "21", &total.to_string(), "default");
    let _b = serve(&b_toml);
    // `a` killed (SIGKILL) at arbitrary points of its pushes, restarted.
    let mut seen = Vec::new();
    for ms in [300, 120, 650, 200, 900, 60, 450] {
        let a = serve(&a_toml);
        std::thread::sleep(Duration::from_millis(ms));
        drop(a);
        seen.push(ids_in(&dir.join("b"), "default").len());
    }
    // Then left to finish.
    let a = serve(&a_toml);
    let start = Instant::now();
    while ids_in(&dir.join("b"), "default").len() < total {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "b holds {} of {total} (after each kill: {seen:?})",
            ids_in(&dir.join("b"), "default").len()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(a);
    let mut held = ids_in(&dir.join("b"), "default");
    held.sort_unstable();
    held.dedup();
    assert_eq!(held.len(), total, "after each kill: {seen:?}");
    // a's log: exactly one `out` record to b per object.
    let o = accord(&["ledger", "entries", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));
    let mut sent: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let r = &v["record"];
        if r["direction"] == "out" && r["partner"] == "b" {
            *sent
                .entry(r["object_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    let twice: Vec<_> = sent.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(
        twice.is_empty(),
        "out records twice: {twice:?} (after each kill: {seen:?})"
    );
    assert_eq!(sent.len(), total, "after each kill: {seen:?}");
    for id in &held {
        assert!(
            sent.contains_key(id),
            "{id} reached b without an out record"
        );
    }
    let o = accord(&["ledger", "verify", "--config", p(&a_toml)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    eprintln!("b held after each kill: {seen:?}");
}
