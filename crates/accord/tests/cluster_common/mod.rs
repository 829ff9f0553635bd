//! Helpers shared by the cluster tests (`cluster.rs`, `cluster_nats.rs`):
//! one jurisdiction's configuration, `accord serve` processes with their
//! logs, curl as admin, `accord cluster status --json`.
#![allow(dead_code)]

use crate::common::{ACCORD, Server, accord, free_port, p, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const COLLECTION: &str = "9a1c6d20-5b7e-4f3a-8c2d-1e0f3a4b5c01";
pub const TAXII: &str = "application/taxii+json;version=2.1";

/// One jurisdiction's configuration for every process: `accord init`'s
/// data directory (the log's key), one collection, account admin, and
/// `[cluster]` with `cluster_lines`. Returns (config, admin password).
pub fn cluster_config(dir: &Path, cluster_lines: &str) -> (PathBuf, String) {
    let data = dir.join("data");
    let o = accord(&[
        "init",
        "-o",
        p(&dir.join("init.toml")),
        "--name",
        "cluster",
        "--data",
        p(&data),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let password = "cluster-test-password-1";
    let hash = {
        let mut c = Command::new(ACCORD)
            .arg("hash-password")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        c.stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success());
        String::from_utf8(o.stdout).unwrap().trim().to_owned()
    };
    let config = dir.join("accord.toml");
    std::fs::write(
        &config,
        format!(
            r#"data_dir = "{data}"
title = "cluster test"
[ledger]
origin = "accord.cluster-test/log"
[cluster]
{cluster_lines}
[[api_roots]]
name = "api1"
title = "t"
[[api_roots.collections]]
id = "{COLLECTION}"
store_name = "share"
title = "Shared"
[[accounts]]
name = "admin"
password_hash = "{hash}"
read = ["*"]
write = ["*"]
"#,
            data = p(&data)
        ),
    )
    .unwrap();
    (config, password.to_owned())
}

/// `accord serve --config config --listen 127.0.0.1:PORT` with `env`, its
/// log in DIR/serve-PORT.log; returns it once it listens, with its URL.
pub fn start(config: &Path, env: &[(&str, &str)]) -> (Server, String, u32) {
    let port = free_port();
    let log = config.parent().unwrap().join(format!("serve-{port}.log"));
    let mut c = Command::new(ACCORD);
    c.args(["serve", "--config", p(config), "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .env_remove("ACCORD_PASSWORD");
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        if let Some(rest) = line.unwrap().strip_prefix("Accord node listening on ") {
            let base = rest.split("/taxii2/").next().unwrap().to_owned();
            return (server, base, pid);
        }
    }
    panic!(
        "accord serve on port {port} did not start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// `curl` METHOD URL as admin, with `body` (a file) when given: (status,
/// body). Status 0: no answer (connection refused or reset).
pub fn http(method: &str, url: &str, pw: &str, body: Option<&Path>) -> (u16, Vec<u8>) {
    let mut c = Command::new("curl");
    c.args(["-s", "-g", "-X", method, "-u", &format!("admin:{pw}")])
        .args(["-H", &format!("Accept: {TAXII}")])
        .args(["-w", "\n%{http_code}", "--max-time", "60"]);
    if let Some(b) = body {
        c.args(["-H", &format!("Content-Type: {TAXII}")])
            .arg("--data-binary")
            .arg(format!("@{}", p(b)));
    }
    let o = c.arg(url).output().unwrap();
    let mut out = o.stdout;
    let nl = out.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let code = String::from_utf8_lossy(&out[nl..])
        .trim()
        .parse()
        .unwrap_or(0);
    out.truncate(nl);
    (code, out)
}

/// `count` generated indicators (seed `seed`), as JSON values.
pub fn indicators(dir: &Path, count: usize, seed: u64) -> Vec<Value> {
    let file = dir.join(format!("gen-{seed}.jsonl"));
    let o = accord(&[
        "generate",
        "--count",
        &count.to_string(),
        "--seed",
        &seed.to_string(),
        "-o",
        p(&file),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// POSTs `objects` as one envelope to `base`; the ids the server
/// acknowledged as stored (none when it did not answer 202).
pub fn post(dir: &Path, base: &str, pw: &str, objects: &[Value], tag: &str) -> (u16, Vec<String>) {
    let file = dir.join(format!("envelope-{tag}.json"));
    std::fs::write(
        &file,
        serde_json::to_vec(&serde_json::json!({ "objects": objects })).unwrap(),
    )
    .unwrap();
    let url = format!("{base}/api1/collections/{COLLECTION}/objects/");
    let (code, body) = http("POST", &url, pw, Some(&file));
    if code != 202 {
        return (code, Vec::new());
    }
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status["status"], "complete", "{status}");
    let acked = status["successes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    (code, acked)
}

/// `accord facility add` of the protected facility "Grid" (FR,
/// 198.51.100.0/24) to the cluster of `config`.
pub fn add_grid_facility(config: &Path) {
    let o = accord(&[
        "facility",
        "add",
        "--config",
        p(config),
        "--name",
        "Grid",
        "--jurisdiction",
        "FR",
        "--network",
        "198.51.100.0/24",
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `accord cluster status --json` with `env`.
pub fn status(config: &Path, env: &[(&str, &str)]) -> Value {
    let mut c = Command::new(ACCORD);
    c.args(["cluster", "status", "--json", "--config", p(config)]);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "cluster status: {}",
        text(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Waits up to `secs` for `f` to hold of the status; returns that status.
pub fn wait_status(
    config: &Path,
    env: &[(&str, &str)],
    secs: u64,
    what: &str,
    f: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let st = status(config, env);
        if f(&st) {
            return st;
        }
        assert!(Instant::now() < deadline, "{what} within {secs} s: {st:#}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A fresh database on the testkit's PostgreSQL and a temporary directory
/// for one test, or `None` (after the one `skip:` line) without PostgreSQL.
pub fn fresh(test: &str) -> Option<(String, tempfile::TempDir)> {
    let pg = accord_testkit::postgres::cluster(test)?;
    Some((pg.fresh_database(), tempfile::tempdir().unwrap()))
}
