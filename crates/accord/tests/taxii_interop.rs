//! The OASIS taxii2-client against `accord demo`, as a user runs them: a real
//! server process on 127.0.0.1, a real client in Python.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn python() -> PathBuf {
    let p = std::env::var_os("ACCORD_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
        PathBuf::from,
    );
    let ok = Command::new(&p)
        .args(["-c", "import taxii2client, stix2validator"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import taxii2client: run ./test.sh, which installs the OASIS tools in .venv",
        p.display()
    );
    p
}

/// Stops the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn taxii2_client_reads_and_writes_the_demo_node() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let accord = env!("CARGO_BIN_EXE_accord");
    let mut child = Command::new(accord)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--generated",
            "2000",
            "--data",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut base = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Accord node listening on ") {
            base = rest.split("/taxii2/").next().map(str::to_owned);
            break;
        }
    }
    let base = base.expect("the demo prints where it listens");

    // What the client should read: the last version of every stored object.
    let o = Command::new(accord)
        .args([
            "export",
            "--versions",
            "last",
            "--jsonl",
            "--collection",
            "demo",
            "--data",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let expected = String::from_utf8(o.stdout).unwrap().lines().count();
    assert!(expected > 4000, "demo data loaded: {expected}");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/taxii2_client_interop.py");
    let o = Command::new(&python)
        .arg(&script)
        .arg(&base)
        .arg(expected.to_string())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "taxii2-client checks failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("\"checks\""), "{out}");
    drop(server);
}

#[test]
fn demo_refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["demo", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0:0"), "{err}");
}
