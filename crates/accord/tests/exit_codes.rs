//! Every command follows the exit-status table of `accord --help` and
//! README.md: 0 all done, 1 done with findings, 2 failed (an input could
//! not be read, a partner could not be reached, a store or configuration
//! could not be opened, an output could not be written, a wrong command
//! line).
//!
//! For each command: the 0 case, the 2 case, and the 1 case where the
//! command has findings. Success cases run on a real store (made by `accord
//! init` and `accord ingest`); failure cases give an input that cannot be
//! read rather than a missing store. Covered elsewhere, as they need a
//! tampered store or two nodes: `ledger verify` 1 (ledger_nodes.rs,
//! `independent_verifier_passes_and_tampering_is_named`), `ledger alerts`
//! 1, `sync` 1 on an alert and `ledger audit` 0/1
//! (`two_nodes_witness_each_other_audit_and_catch_a_split_view`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const ACCORD: &str = env!("CARGO_BIN_EXE_accord");

fn repo_file(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .display()
        .to_string()
}

fn cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(ACCORD);
    c.args(args)
        .current_dir(dir)
        .env_remove("ACCORD_DATA")
        .env_remove("ACCORD_PASSWORD")
        .env_remove("ACCORD_TOKEN")
        .stdin(Stdio::null());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    cmd(dir, args).output().expect("run accord")
}

fn run_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = cmd(dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run accord");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("wait accord")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts `accord args` in `dir` exits with `code`; returns its output.
#[track_caller]
fn expect(code: i32, dir: &Path, args: &[&str]) -> Output {
    let o = run(dir, args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "accord {args:?}:\n{}",
        text(&o)
    );
    o
}

const MISSING: &str = "no-such-input.json";

/// An invalid object: the `id` is not type--UUID.
const BAD: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--x","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}"#;

/// A node's directory: `accord init` (keys, accord.toml) and the APT1 and
/// Poison Ivy bundles ingested into `./accord-data`.
fn node() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    expect(0, dir.path(), &["init", "-o", "accord.toml"]);
    expect(
        0,
        dir.path(),
        &[
            "ingest",
            &repo_file("data/demo/stix/oasis-apt1.json"),
            &repo_file("data/demo/stix/oasis-poisonivy.json"),
        ],
    );
    dir
}

#[test]
fn validate() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("bad.json"), BAD).unwrap();
    expect(
        0,
        d.path(),
        &["validate", &repo_file("data/demo/stix/oasis-apt1.json")],
    );
    expect(1, d.path(), &["validate", "bad.json"]);
    expect(2, d.path(), &["validate", MISSING]);
    // One unreadable input among good ones fails the run.
    expect(
        2,
        d.path(),
        &["validate", &repo_file("data/demo/observed.json"), MISSING],
    );
}

#[test]
fn ingest() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("bad.json"), BAD).unwrap();
    expect(
        0,
        d.path(),
        &["ingest", &repo_file("data/demo/stix/oasis-apt1.json")],
    );
    expect(1, d.path(), &["ingest", "bad.json"]);
    expect(2, d.path(), &["ingest", MISSING]);
}

#[test]
fn export() {
    let d = node();
    expect(0, d.path(), &["export", "-o", "all.json"]);
    expect(
        0,
        d.path(),
        &["export", "--format", "zeek-intel", "-o", "accord.intel"],
    );
    // The output cannot be written.
    expect(2, d.path(), &["export", "-o", "no-such-dir/all.json"]);
}

#[test]
fn generate() {
    let d = tempfile::tempdir().unwrap();
    expect(0, d.path(), &["generate", "--count", "5", "-o", "g.jsonl"]);
    expect(
        2,
        d.path(),
        &["generate", "--count", "5", "-o", "no-such-dir/g.jsonl"],
    );
}

#[test]
fn generate_logs() {
    let d = tempfile::tempdir().unwrap();
    let small = ["--indicators", "50", "--lines", "50"];
    expect(
        0,
        d.path(),
        &[&["generate-logs", "--out", "logs"][..], &small].concat(),
    );
    std::fs::write(d.path().join("file"), "").unwrap();
    expect(
        2,
        d.path(),
        &[&["generate-logs", "--out", "file/logs"][..], &small].concat(),
    );
}

#[test]
fn pattern_check_and_compile() {
    let d = tempfile::tempdir().unwrap();
    for sub in ["check", "compile"] {
        expect(
            0,
            d.path(),
            &["pattern", sub, "[ipv4-addr:value = '198.51.100.7']"],
        );
        expect(1, d.path(), &["pattern", sub, "[ipv4-addr:value = ]"]);
        // No pattern: a wrong command line.
        expect(2, d.path(), &["pattern", sub]);
    }
}

#[test]
fn pattern_match() {
    let d = tempfile::tempdir().unwrap();
    let observed = repo_file("data/demo/observed.json");
    let o = expect(
        0,
        d.path(),
        &[
            "pattern",
            "match",
            "--pattern",
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
            &observed,
        ],
    );
    assert!(text(&o).starts_with("true"), "{}", text(&o));
    let o = expect(
        1,
        d.path(),
        &[
            "pattern",
            "match",
            "--pattern",
            "[ipv4-addr:value = '203.0.113.1']",
            &observed,
        ],
    );
    assert!(text(&o).starts_with("false"), "{}", text(&o));
    expect(
        2,
        d.path(),
        &[
            "pattern",
            "match",
            "--pattern",
            "[ipv4-addr:value = '203.0.113.1']",
            MISSING,
        ],
    );
    // --batch answers every case (a case's error is an answer): 0.
    expect(
        0,
        d.path(),
        &[
            "pattern",
            "match",
            "--batch",
            &repo_file("data/demo/pattern-cases.jsonl"),
        ],
    );
    expect(2, d.path(), &["pattern", "match", "--batch", MISSING]);
}

#[test]
fn match_logs() {
    let d = node();
    let conn = repo_file("data/demo/logs/conn.log");
    let o = expect(0, d.path(), &["match", &conn]);
    assert!(text(&o).contains("hits: 1 on 1 indicators"), "{}", text(&o));
    expect(
        0,
        d.path(),
        &[
            "match",
            "--indicators",
            &repo_file("data/demo/stix/oasis-apt1.json"),
            "--out",
            "s.json",
            &repo_file("data/demo/logs/eve.json"),
        ],
    );
    // A log that cannot be opened fails the run (the others are still
    // matched), and the error names the path once.
    let o = expect(2, d.path(), &["match", &conn, "missing.log"]);
    let t = text(&o);
    assert!(t.contains("missing.log: cannot open"), "{t}");
    assert!(!t.contains("missing.log: missing.log"), "{t}");
    assert!(t.contains("hits: 1 on 1 indicators"), "{t}");
    // The indicators cannot be read.
    expect(2, d.path(), &["match", "--indicators", MISSING, &conn]);
}

#[test]
fn ledger_reads() {
    let d = node();
    for args in [
        &["ledger", "key"][..],
        &["ledger", "checkpoint"],
        &["ledger", "entries", "--from", "0", "--to", "10", "--json"],
        &["ledger", "prove", "--index", "3", "--size", "10", "--json"],
        &[
            "ledger",
            "consistency",
            "--from",
            "5",
            "--to",
            "10",
            "--json",
        ],
        &["ledger", "verify"],
        &["ledger", "alerts"],
    ] {
        expect(0, d.path(), args);
        // The configuration cannot be read.
        expect(2, d.path(), &[args, &["--config", "no-such.toml"]].concat());
    }
    // A proof the log cannot give.
    expect(
        2,
        d.path(),
        &["ledger", "prove", "--index", "100000", "--size", "10"],
    );
}

#[test]
fn ledger_audit_fails_without_the_partner() {
    let d = node();
    // No such partner in accord.toml; no configuration at all.
    expect(
        2,
        d.path(),
        &[
            "ledger",
            "audit",
            "--config",
            "accord.toml",
            "--partner",
            "cert-b",
        ],
    );
    expect(
        2,
        d.path(),
        &[
            "ledger",
            "audit",
            "--config",
            "no-such.toml",
            "--partner",
            "cert-b",
        ],
    );
}

#[test]
fn init_and_hash_password() {
    let d = tempfile::tempdir().unwrap();
    expect(0, d.path(), &["init", "-o", "a.toml"]);
    // Refuses to overwrite; cannot write.
    expect(2, d.path(), &["init", "-o", "a.toml"]);
    expect(2, d.path(), &["init", "-o", "no-such-dir/a.toml"]);
    let o = run_stdin(
        d.path(),
        &["hash-password"],
        b"correct horse battery staple",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run_stdin(d.path(), &["hash-password"], b"");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `accord serve` of a node made by `accord init` on a free port and
/// holding the APT1 bundle; returns the server, its base URL and the
/// password of its account `admin`.
fn serving_node(dir: &Path) -> (Server, String, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let o = expect(
        0,
        dir,
        &["init", "-o", "a.toml", "--listen", &listen, "--data", "a"],
    );
    let password = text(&o)
        .split("has password `")
        .nth(1)
        .and_then(|s| s.split('`').next())
        .expect("init prints the password")
        .to_owned();
    expect(
        0,
        dir,
        &[
            "ingest",
            "--data",
            "a",
            &repo_file("data/demo/stix/oasis-apt1.json"),
        ],
    );
    let mut child = cmd(dir, &["serve", "--config", "a.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run accord serve");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let listening = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("Accord node listening on "));
    assert!(listening, "the node never said where it listens");
    (server, format!("http://{listen}"), password)
}

#[test]
fn serve_sync_and_demo() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // serve: no configuration; the address is taken.
    expect(2, dir, &["serve", "--config", "no-such.toml"]);
    let (_server, base, password) = serving_node(dir);
    let addr = base.trim_start_matches("http://");
    expect(2, dir, &["serve", "--config", "a.toml", "--listen", addr]);

    let url = format!("{base}/api1/collections/default/");
    let sync = |password: &str| {
        cmd(
            dir,
            &[
                "sync", "--data", "b", "--from", &url, "--user", "admin", "--into", "a",
            ],
        )
        .env("ACCORD_PASSWORD", password)
        .output()
        .expect("run accord sync")
    };
    let o = sync(&password);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A wrong password; a partner that cannot be reached.
    let o = sync("wrong");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let closed = format!("http://127.0.0.1:{}/api1/collections/default/", free_port());
    expect(
        2,
        dir,
        &["sync", "--data", "b", "--from", &closed, "--into", "a"],
    );

    // demo: its data directory cannot be opened (a file stands there).
    std::fs::write(dir.join("a-file"), "").unwrap();
    expect(
        2,
        dir,
        &[
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--data",
            "a-file",
            "--generated",
            "0",
        ],
    );
}

#[test]
fn a_wrong_command_line_is_2() {
    let d = tempfile::tempdir().unwrap();
    expect(2, d.path(), &["no-such-command"]);
    expect(2, d.path(), &["export", "--no-such-option"]);
}
