//! A new user's first hour (issue 24): one data directory for every
//! command, commands that only read a store refuse a directory without one
//! (and create nothing), and commands that write a file say so.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn accord(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_accord"));
    c.current_dir(dir).env_remove("ACCORD_DATA");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    accord(dir).args(args).output().expect("run accord")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The entries of `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The commands that only read a store, each given `data` as its data directory.
fn readers(data: &str) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    vec![
        s(&["export", "--data", data, "-o", "out.json"]),
        s(&["export", "--data", data, "--format", "plain", "-o", "b.txt"]),
        s(&["match", "--data", data, "log.txt"]),
        // Indicators from a file, sightings to the store: still needs one.
        s(&[
            "match",
            "--data",
            data,
            "--indicators",
            "ind.jsonl",
            "log.txt",
        ]),
        s(&["ledger", "checkpoint", "--data", data]),
        s(&["ledger", "entries", "--json", "--data", data]),
        s(&["ledger", "verify", "--data", data]),
        s(&["ledger", "alerts", "--data", data]),
        s(&["ledger", "prove", "--index", "0", "--data", data]),
    ]
}

#[test]
fn readers_refuse_a_missing_or_empty_data_directory_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("log.txt"), "198.51.100.7 seen\n").unwrap();
    let g = run(d, &["generate", "--count", "3", "-o", "ind.jsonl"]);
    assert!(g.status.success(), "{}", stderr(&g));
    std::fs::create_dir(d.join("empty")).unwrap();
    let before = listing(d);
    for (data, why) in [
        ("missing", "the directory does not exist"),
        ("empty", "it has no accord.sqlite"),
    ] {
        for args in readers(data) {
            let o = accord(d).args(&args).output().unwrap();
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(&format!("no Accord store in {data}: {why}")),
                "{args:?} names the directory and why: {err}"
            );
            assert!(
                err.contains("accord ingest") && err.contains("accord init"),
                "{args:?} says how to create one: {err}"
            );
            assert_eq!(listing(d), before, "{args:?} created something");
            assert!(listing(&d.join("empty")).is_empty(), "{args:?}");
        }
    }
    // The default directory, and the same through $ACCORD_DATA (named).
    let o = run(d, &["export", "-o", "out.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no Accord store in accord-data:"),
        "{}",
        stderr(&o)
    );
    let o = accord(d)
        .env("ACCORD_DATA", "elsewhere")
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no Accord store in elsewhere (from $ACCORD_DATA)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(listing(d), before);

    // Once a command that creates has run, the readers find the store.
    let i = run(d, &["ingest", "ind.jsonl"]);
    assert!(i.status.success(), "{}", stderr(&i));
    let e = run(d, &["export", "--jsonl", "-o", "out.jsonl"]);
    assert!(e.status.success(), "{}", stderr(&e));
    assert!(
        stderr(&e).contains("3 objects written to out.jsonl"),
        "{}",
        stderr(&e)
    );
    let v = run(d, &["ledger", "verify"]);
    assert!(v.status.success(), "{}", stderr(&v));
}

#[test]
fn init_creates_the_store_it_configures_on_a_port_the_demo_does_not_use() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run(d, &["init", "-o", "node.toml", "--data", "node-data"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let toml = std::fs::read_to_string(d.join("node.toml")).unwrap();
    let listen = toml
        .lines()
        .find(|l| l.starts_with("listen = "))
        .expect("a listen line");
    assert_eq!(listen, r#"listen = "127.0.0.1:8480""#);
    assert!(d.join("node-data").join("accord.sqlite").is_file());
    let c = run(d, &["ledger", "checkpoint", "--config", "node.toml"]);
    assert!(c.status.success(), "{}", stderr(&c));
}

/// Starts `accord demo` on a free loopback port in `dir` with
/// `extra` arguments, waits until it serves, stops it, and returns what it
/// printed on standard error.
fn demo_once(dir: &Path, extra: &[&str]) -> String {
    let mut child = accord(dir)
        .args(["demo", "--listen", "127.0.0.1:0", "--generated", "20"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start accord demo");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s).unwrap();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut listening = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("Accord node listening on") {
            listening = true;
            break;
        }
        assert!(Instant::now() < deadline, "the demo did not start in time");
    }
    // Stop the child started above (by its own handle).
    child.kill().unwrap();
    child.wait().unwrap();
    let err = err_thread.join().unwrap();
    assert!(listening, "the demo never listened: {err}");
    err
}

#[test]
fn the_demo_and_the_other_commands_use_one_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let err = demo_once(d, &[]);
    assert!(err.contains("demo data:"), "{err}");
    assert!(!err.contains("existing store"), "{err}");
    // The demo's store is where every other command looks by default.
    assert_eq!(listing(d), ["accord-data"]);
    let e = run(
        d,
        &[
            "export",
            "--type",
            "indicator",
            "--versions",
            "last",
            "-o",
            "indicators.json",
        ],
    );
    assert!(e.status.success(), "{}", stderr(&e));
    let n_objects = |o: &Output| -> u64 {
        let err = stderr(o);
        err.split(" objects written to")
            .next()
            .and_then(|s| s.trim().rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in: {err}"))
    };
    let n = n_objects(&e);
    assert!(n >= 20, "the demo's indicators are exported: {n}");
    let everything = |name: &str| n_objects(&run(d, &["export", "-o", name]));
    let first = everything("first.json");

    // A restart says it reuses the store and does not load the data again.
    let err = demo_once(d, &[]);
    assert!(
        err.contains("using the existing store in accord-data")
            && err.contains("the demo data is not loaded again")
            && err.contains("rm -rf accord-data"),
        "{err}"
    );
    assert!(!err.contains("demo data:"), "loaded twice: {err}");
    assert_eq!(
        everything("all.json"),
        first,
        "the store holds what it held"
    );

    // $ACCORD_DATA moves the demo's store as it moves every command's.
    let mut child_env = accord(d);
    child_env.env("ACCORD_DATA", "via-env");
    let o = child_env
        .args(["demo", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    // (not loopback: refused before anything is created)
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!d.join("via-env").exists());
    let o = accord(d)
        .env("ACCORD_DATA", "via-env")
        .args(["ingest", "all.json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = {
        let mut c = accord(d);
        c.env("ACCORD_DATA", "via-env");
        let mut child = c
            .args(["demo", "--listen", "127.0.0.1:0", "--generated", "20"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let line = BufReader::new(stdout).lines().find(|l| {
            l.as_ref()
                .is_ok_and(|l| l.starts_with("Accord node listening on"))
        });
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(line.is_some(), "{}", stderr(&out));
        stderr(&out)
    };
    assert!(
        err.contains("using the existing store in via-env") && err.contains("adding the demo data"),
        "{err}"
    );
}

#[test]
fn generate_says_what_it_wrote_and_keeps_stdout_for_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run(d, &["generate", "--count", "7", "-o", "seven.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim(), "wrote 7 indicators to seven.jsonl");
    assert!(o.stdout.is_empty());
    let text = std::fs::read_to_string(d.join("seven.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 7);
    // To standard output: the data only, nothing announced.
    let o = run(d, &["generate", "--count", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 2);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn match_names_the_hits_file_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let g = run(d, &["generate", "--count", "3", "-o", "ind.jsonl"]);
    assert!(g.status.success(), "{}", stderr(&g));
    std::fs::write(d.join("log.txt"), "nothing to see\n").unwrap();
    let o = run(
        d,
        &[
            "match",
            "--indicators",
            "ind.jsonl",
            "--out",
            "s.json",
            "--hits",
            "hits.jsonl",
            "log.txt",
        ],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("written to s.json"), "{err}");
    assert!(err.contains("0 hits written to hits.jsonl"), "{err}");
    // --out and no node: nothing created in the default directory.
    assert!(!d.join("accord-data").exists());
}

#[test]
fn a_busy_port_is_named_with_the_option_that_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    let o = run(d, &["demo", "--listen", &addr, "--generated", "0"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "cannot listen on {addr}: the port is already in use"
        )) && err.contains("--listen"),
        "{err}"
    );
    if cfg!(target_os = "linux") {
        let me = format!("pid {}", std::process::id());
        assert!(err.contains(&me), "names this test as the holder: {err}");
    }
    drop(held);
}
