//! `accord ledger audit` after exchanges recorded before the partner was
//! configured: a sync without `--config` records the partner's objects as
//! received from the host of its URL, not its name; the audit counts them
//! as the partner's (and says so) instead of reporting the partner's log
//! entries as `extra`, and objects recorded under a label that does not
//! name the partner are set aside, not findings.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const ACCORD: &str = env!("CARGO_BIN_EXE_accord");

/// Stops the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn accord(args: &[&str], password: Option<&str>) -> Output {
    let mut c = Command::new(ACCORD);
    c.args(args)
        .env_remove("ACCORD_DATA")
        .env_remove("ACCORD_PASSWORD")
        .env_remove("ACCORD_TOKEN");
    if let Some(pw) = password {
        c.env("ACCORD_PASSWORD", pw);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `accord init` for node `name` with one account `user`; returns (config,
/// the account's password, port).
fn init(dir: &Path, name: &str, user: &str) -> (std::path::PathBuf, String, u16) {
    let port = free_port();
    let config = dir.join(format!("{name}.toml"));
    let o = accord(
        &[
            "init",
            "-o",
            p(&config),
            "--user",
            user,
            "--name",
            name,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data",
            p(&dir.join(name)),
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let password = out
        .split("has password `")
        .nth(1)
        .and_then(|s| s.split('`').next())
        .unwrap()
        .to_owned();
    (config, password, port)
}

fn ingest(dir: &Path, data: &Path, seed: &str, count: &str) {
    let file = dir.join(format!("gen-{seed}.jsonl"));
    let o = accord(
        &["generate", "--count", count, "--seed", seed, "-o", p(&file)],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = accord(
        &[
            "ingest",
            "--data",
            p(data),
            "--collection",
            "default",
            p(&file),
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
}

fn serve(config: &Path) -> Server {
    let mut child = Command::new(ACCORD)
        .args(["serve", "--config", p(config)])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    for line in BufReader::new(stdout).lines() {
        if line.unwrap().starts_with("Accord node listening on ") {
            return server;
        }
    }
    panic!("the node never said where it listens");
}

#[test]
fn audit_counts_exchanges_recorded_before_the_partner_was_configured() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Node a has an account `b`; node b names a as its partner `a`.
    let (a_toml, a_pw, a_port) = init(d, "a", "b");
    let (b_toml, _, _) = init(d, "b", "a");
    let o = accord(&["ledger", "key", "--json", "--config", p(&a_toml)], None);
    assert!(o.status.success(), "{}", text(&o));
    let ka: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut t = std::fs::read_to_string(&b_toml).unwrap();
    t.push_str(&format!(
        "\n[[partners]]\nname = \"a\"\nurl = \"http://127.0.0.1:{a_port}/\"\nverifier_key = \"{}\"\nwitness_key = \"{}\"\nuser = \"b\"\n",
        ka["verifier_key"].as_str().unwrap(),
        ka["witness_key"].as_str().unwrap(),
    ));
    std::fs::write(&b_toml, t).unwrap();
    ingest(d, &d.join("a"), "1", "300");
    let _a = serve(&a_toml);

    let from_a = format!("http://127.0.0.1:{a_port}/api1/collections/default/");
    let sync = |extra: &[&str]| {
        let mut args = vec!["sync", "--from", &from_a, "--user", "b", "--into", "from-a"];
        args.extend_from_slice(extra);
        accord(&args, Some(&a_pw))
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
        accord(
            &["ledger", "audit", "--config", p(&b_toml), "--partner", "a"],
            Some(&a_pw),
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
    ingest(d, &d.join("a"), "2", "40");
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
    let o = accord(
        &[
            "ledger",
            "audit",
            "--json",
            "--config",
            p(&b_toml),
            "--partner",
            "a",
        ],
        Some(&a_pw),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["attributed"][format!("127.0.0.1:{a_port}")], 300);
    assert_eq!(r["other_labels"]["someone"], 40);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0);
}
