//! Real node processes for the end-to-end tests: `accord init`, `accord
//! serve` until the test ends, generated indicators ingested, the binary
//! run with a clean environment.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const ACCORD: &str = env!("CARGO_BIN_EXE_accord");

/// Stops the server when the test ends, however it ends.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the node says where it listens; returns it with its base URL.
pub fn wait_listening(mut child: Child) -> (Server, String) {
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Accord node listening on ") {
            let base = rest.split("/taxii2/").next().unwrap().to_owned();
            return (server, base);
        }
    }
    panic!("the node never said where it listens");
}

/// The binary with `args`, no data directory or credentials from the
/// environment.
fn command(args: &[&str]) -> Command {
    let mut c = Command::new(ACCORD);
    c.args(args)
        .env_remove("ACCORD_DATA")
        .env_remove("ACCORD_PASSWORD")
        .env_remove("ACCORD_TOKEN");
    c
}

pub fn accord(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

/// [`accord`] with `password` in `$ACCORD_PASSWORD`.
pub fn accord_pw(args: &[&str], password: &str) -> Output {
    command(args)
        .env("ACCORD_PASSWORD", password)
        .output()
        .unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `accord init` for node `name` with one account `user`, listening on a
/// free port; returns (config path, the account's password, port).
pub fn init(dir: &Path, name: &str, user: &str) -> (PathBuf, String, u16) {
    let port = free_port();
    let config = dir.join(format!("{name}.toml"));
    let o = accord(&[
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
    ]);
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

/// `accord serve --config config`, once it listens.
pub fn serve(config: &Path) -> Server {
    let child = Command::new(ACCORD)
        .args(["serve", "--config", p(config)])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(child).0
}

/// `count` generated indicators (seed `seed`) ingested into `collection`
/// of the store in `data`.
pub fn ingest(dir: &Path, data: &Path, seed: &str, count: &str, collection: &str) {
    let file = dir.join(format!("gen-{seed}.jsonl"));
    let o = accord(&["generate", "--count", count, "--seed", seed, "-o", p(&file)]);
    assert!(o.status.success(), "{}", text(&o));
    let o = accord(&[
        "ingest",
        "--data",
        p(data),
        "--collection",
        collection,
        p(&file),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `accord demo` with `generated` generated indicators on a free port, its
/// store in `data`; returns the server and its base URL.
pub fn demo(data: &Path, generated: &str) -> (Server, String) {
    let child = Command::new(ACCORD)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--generated",
            generated,
            "--data",
        ])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(child)
}

/// The log keys of the node configured in `config` (`accord ledger key
/// --json`: `verifier_key`, `witness_key`).
pub fn keys(config: &Path) -> serde_json::Value {
    let o = accord(&["ledger", "key", "--json", "--config", p(config)]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Appends partner `name` (at 127.0.0.1:`port`, keys `k`, logging in here
/// as `name` and there as `user`) to `config`.
pub fn add_partner(config: &Path, name: &str, port: u16, k: &serde_json::Value, user: &str) {
    let mut t = std::fs::read_to_string(config).unwrap();
    t.push_str(&format!(
        "\n[[partners]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{port}/\"\nverifier_key = \"{}\"\nwitness_key = \"{}\"\naccount = \"{name}\"\nuser = \"{user}\"\n",
        k["verifier_key"].as_str().unwrap(),
        k["witness_key"].as_str().unwrap(),
    ));
    std::fs::write(config, t).unwrap();
}

/// Asserts that stix2-validator accepts the bundle file `bundle` (`what`
/// names it in the failure).
pub fn assert_stix2_valid(bundle: &Path, what: &str) {
    let py = accord_testkit::python("stix2validator");
    let v = Command::new(&py)
        .args([
            "-c",
            "import sys\nfrom stix2validator import validate_file, print_results, ValidationOptions\n\
             r = validate_file(sys.argv[1], ValidationOptions(version='2.1'))\n\
             print_results(r)\nsys.exit(0 if r.is_valid else 1)",
        ])
        .arg(bundle)
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "stix2-validator rejects {what}:\n{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}

/// Runs `examples/three-nodes/NAME DIR` with this build's binary and
/// ports from `base_port`.
pub fn stage_script(name: &str, dir: &Path, base_port: u16) -> Output {
    stage_script_with(name, dir, base_port, &[])
}

/// [`stage_script`] with more environment (e.g. `SYNC_INTERVAL=0`: the
/// nodes run no scheduler, so only `sync.sh` moves anything and a test
/// can rely on the order of its rounds).
pub fn stage_script_with(name: &str, dir: &Path, base_port: u16, env: &[(&str, &str)]) -> Output {
    let path = accord_testkit::repo(&format!("examples/three-nodes/{name}"));
    let mut c = Command::new("bash");
    c.arg(&path)
        .arg(dir)
        .env("ACCORD", ACCORD)
        .env("BASE_PORT", base_port.to_string())
        .env_remove("ACCORD_DATA")
        .env_remove("ACCORD_PASSWORD");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Three consecutive free ports (the three-node stage's `BASE_PORT`).
pub fn stage_base_port() -> u16 {
    for _ in 0..200 {
        let base = free_port();
        if base > 65000 {
            continue;
        }
        let free = (1..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no three consecutive free ports");
}

/// Stops the three-node stage in DIR (`down.sh`) however the test ends.
pub struct StageDown<'a>(pub &'a Path, pub u16);
impl Drop for StageDown<'_> {
    fn drop(&mut self) {
        let _ = stage_script("down.sh", self.0, self.1);
    }
}

/// `DIR/NODE/accord.toml`: a node's configuration on the three-nodes stage.
pub fn stage_config(dir: &Path, node: &str) -> String {
    p(&dir.join(node).join("accord.toml")).to_owned()
}

/// `accord ARGS --config CONFIG`, which must succeed; its stdout.
pub fn run_config(config: &str, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--config", config]);
    let o = accord(&all);
    assert!(
        o.status.success(),
        "{args:?} --config {config}: {}",
        text(&o)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `accord hotline ARGS --config NODE` on the three-nodes stage, which must
/// succeed; its stdout.
pub fn stage_hotline(dir: &Path, node: &str, args: &[&str]) -> String {
    let mut all = vec!["hotline"];
    all.extend_from_slice(args);
    run_config(&stage_config(dir, node), &all)
}

/// JSON lines as values.
pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
