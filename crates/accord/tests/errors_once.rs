//! Errors said once: each failure of `accord sync` against a real node
//! (wrong password, unknown collection, TLS to a plain HTTP node, nothing
//! listening) and of `accord match` on a log that cannot be opened is one
//! line that names the URL or path once, the status once, and a hint.

mod common;
use common::demo;
use std::path::Path;
use std::process::{Command, Output};

use common::ACCORD;
const DEMO_COLLECTION: &str = "365fed99-08fa-fdcd-a1b3-fb247eb41d01";

/// `accord sync --from URL` as user `demo` with `password`, into a fresh
/// data directory under `dir`.
fn sync(dir: &Path, url: &str, password: &str) -> Output {
    Command::new(ACCORD)
        .args(["sync", "--from", url, "--into", "t", "--user", "demo"])
        .arg("--data")
        .arg(dir.join("local"))
        .env_remove("ACCORD_DATA")
        .env_remove("ACCORD_TOKEN")
        .env("ACCORD_PASSWORD", password)
        .output()
        .unwrap()
}

/// The command's error output, checked to be one `accord: error:` line
/// after exit status 2.
fn error_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("accord: error: sync from "), "{err}");
    err
}

fn once(text: &str, fact: &str) {
    assert_eq!(
        text.matches(fact).count(),
        1,
        "`{fact}` should be said exactly once in: {text}"
    );
}

#[test]
fn sync_failures_name_each_fact_once_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = demo(&dir.path().join("demo"), "10");
    let url = format!("{base}/demo/collections/{DEMO_COLLECTION}/");

    // A wrong password.
    let err = error_line(&sync(dir.path(), &url, "wrong"));
    once(&err, &url);
    once(&err, &format!("sync from {url}objects/: HTTP 401: "));
    once(&err, "401");
    once(&err, "wrong user name, password or token");
    once(&err, "hint:");
    once(&err, "$ACCORD_PASSWORD");

    // A collection the node does not have.
    let missing = format!("{base}/demo/collections/nope/");
    let err = error_line(&sync(dir.path(), &missing, "demo"));
    once(&err, &missing);
    once(&err, "HTTP 404: ");
    once(&err, "no collection `nope`");
    once(&err, "hint: check the collection id");

    // TLS to a node that serves plain HTTP.
    let tls = url.replacen("http://", "https://", 1);
    let err = error_line(&sync(dir.path(), &tls, "demo"));
    once(&err, &tls);
    once(&err, "cannot connect: TLS handshake failed");
    once(&err, "hint:");
    once(&err, "use an http:// URL");
}

#[test]
fn a_refused_connection_names_the_url_once() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/demo/collections/{DEMO_COLLECTION}/");
    let err = error_line(&sync(dir.path(), &url, "demo"));
    once(&err, &url);
    once(&err, "cannot connect");
    once(&err, "connection refused");
    once(
        &err,
        &format!("hint: is a node running and listening at 127.0.0.1:{port}?"),
    );
    assert!(!err.contains("error sending request"), "{err}");
}

#[test]
fn a_log_that_cannot_be_opened_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, _) = demo(&dir.path().join("demo"), "10");
    let log = dir.path().join("missing.log");
    let o = Command::new(ACCORD)
        .arg("match")
        .arg(&log)
        .arg("--data")
        .arg(dir.path().join("demo"))
        .env_remove("ACCORD_DATA")
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    once(&out, "missing.log");
    once(&out, "cannot open");
}
