//! The OASIS taxii2-client against `accord demo`, as a user runs them: a real
//! server process on 127.0.0.1, a real client in Python.

mod common;
use common::demo;
use std::path::Path;
use std::process::Command;

#[test]
fn taxii2_client_reads_and_writes_the_demo_node() {
    let python = accord_testkit::python("taxii2client, stix2validator");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let accord = env!("CARGO_BIN_EXE_accord");
    let (server, base) = demo(&data, "2000");

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

#[test]
fn accord_sync_pulls_a_partner_node_then_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = demo(&dir.path().join("partner"), "300");
    let accord = env!("CARGO_BIN_EXE_accord");
    let from = format!("{base}/demo/collections/demo/");
    let ours = dir.path().join("ours");
    let sync = |password: &str| {
        Command::new(accord)
            .args([
                "sync", "--from", &from, "--user", "demo", "--into", "partner", "--data",
            ])
            .arg(&ours)
            .env("ACCORD_PASSWORD", password)
            .env_remove("ACCORD_DATA")
            .output()
            .unwrap()
    };
    let first = sync("demo");
    let err = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{err}");
    let stored: u64 = err
        .split(" stored,")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    // Everything the partner holds, every version.
    let o = Command::new(accord)
        .args([
            "export",
            "--versions",
            "all",
            "--jsonl",
            "--collection",
            "demo",
            "--data",
        ])
        .arg(dir.path().join("partner"))
        .output()
        .unwrap();
    let partner_count = String::from_utf8(o.stdout).unwrap().lines().count() as u64;
    assert_eq!(stored, partner_count, "{err}");

    // Nothing new: nothing fetched, the cursor in the store says where to start.
    let again = sync("demo");
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{err}");
    assert!(err.starts_with("0 objects fetched"), "{err}");
    let cursor = accord_store::SqliteStore::open(&ours)
        .unwrap()
        .sync_cursor(&format!("{from} -> partner"))
        .unwrap();
    assert!(cursor.is_some());
    assert!(!ours.join("sync-state.json").exists());

    // A wrong password fails clearly and changes nothing.
    let bad = sync("nope");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("401"), "{err}");
    drop(server);
}
