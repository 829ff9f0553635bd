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
