//! `accord pattern check|match|compile` from the command line: exit codes,
//! caret diagnostics, matching observed-data ids.

use std::process::{Command, Output};

fn accord(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(args)
        .output()
        .expect("run accord")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const BUNDLE: &str = r#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
  {"type": "observed-data", "spec_version": "2.1", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
   "created": "2024-05-01T12:00:00.000Z", "modified": "2024-05-01T12:00:00.000Z",
   "first_observed": "2024-05-01T12:00:00Z", "last_observed": "2024-05-01T12:00:00Z", "number_observed": 1,
   "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"]},
  {"type": "observed-data", "spec_version": "2.1", "id": "observed-data--c67d30ff-02ac-498a-92f9-32f845f448cf",
   "created": "2024-05-01T12:01:00.000Z", "modified": "2024-05-01T12:01:00.000Z",
   "first_observed": "2024-05-01T12:01:00Z", "last_observed": "2024-05-01T12:01:00Z", "number_observed": 1,
   "object_refs": ["domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5"]},
  {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.7"},
  {"type": "domain-name", "spec_version": "2.1", "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5", "value": "c2.example.net"}
]}"#;

#[test]
fn check_exit_codes_and_caret() {
    let ok = accord(&[
        "pattern",
        "check",
        "[ipv4-addr:value = '198.51.100.7']",
        "[a:b = 1] WITHIN 5 SECONDS",
    ]);
    assert!(ok.status.success(), "{}", stdout(&ok));
    let bad = accord(&["pattern", "check", "[ipv4-addr:value = '198.51.100.7'"]);
    assert_eq!(bad.status.code(), Some(1));
    let out = stdout(&bad);
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("[ipv4-addr"))
        .expect("pattern echoed");
    assert_eq!(lines[at + 1].find('^'), Some(33), "{out}");
    assert!(lines[at + 1].contains("at byte 33"), "{out}");
    // The validator's rules: a malformed hash.
    let hash = accord(&["pattern", "check", "[file:hashes.'SHA-256' = 'f00']"]);
    assert_eq!(hash.status.code(), Some(1));
    assert!(
        stdout(&hash).contains("not a valid SHA-256 hash"),
        "{}",
        stdout(&hash)
    );
}

#[test]
fn match_prints_ids_and_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("observed.json");
    std::fs::write(&f, BUNDLE).expect("write");
    let f = f.to_str().expect("utf-8 path");

    let m = accord(&[
        "pattern",
        "match",
        "--pattern",
        "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
        f,
    ]);
    assert_eq!(m.status.code(), Some(0));
    assert_eq!(
        stdout(&m),
        "true\nobserved-data--b67d30ff-02ac-498a-92f9-32f845f448cf\n"
    );

    let seq = "[ipv4-addr:value = '198.51.100.7'] FOLLOWEDBY [domain-name:value = 'c2.example.net'] WITHIN 120 SECONDS";
    let m = accord(&["pattern", "match", "--pattern", seq, f]);
    assert_eq!(m.status.code(), Some(0), "{}", stdout(&m));
    assert_eq!(
        stdout(&m).lines().count(),
        3,
        "both observed-data: {}",
        stdout(&m)
    );

    let late =
        "[domain-name:value = 'c2.example.net'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.7']";
    let n = accord(&["pattern", "match", "--pattern", late, f]);
    assert_eq!(n.status.code(), Some(1));
    assert_eq!(stdout(&n), "false\n");

    let bad = accord(&["pattern", "match", "--pattern", "[ipv4-addr:value = ", f]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains('^'));
}

#[test]
fn batch_answers_each_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let objects: serde_json::Value = serde_json::from_str(BUNDLE).expect("json");
    let observed = &objects["objects"];
    let cases = [
        serde_json::json!({"pattern": "[domain-name:value = 'c2.example.net']", "observed": observed}),
        serde_json::json!({"pattern": "[domain-name:value = 'other.example']", "observed": observed}),
        serde_json::json!({"pattern": "[domain-name:value = ", "observed": observed}),
    ];
    let f = dir.path().join("cases.jsonl");
    std::fs::write(
        &f,
        cases.iter().map(|c| format!("{c}\n")).collect::<String>(),
    )
    .expect("write");
    let o = accord(&["pattern", "match", "--batch", f.to_str().expect("utf-8")]);
    assert!(o.status.success());
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], serde_json::json!({"match": true}));
    assert_eq!(lines[1], serde_json::json!({"match": false}));
    assert!(
        lines[2]["error"]
            .as_str()
            .is_some_and(|e| e.contains("invalid pattern"))
    );
}

#[test]
fn compile_shows_keys_or_the_reason() {
    let o = accord(&[
        "pattern",
        "compile",
        "[domain-name:value = 'evil.example' OR ipv4-addr:value ISSUBSET '203.0.113.0/24']",
        "[file:name = 'x.exe']",
    ]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("Domain evil.example") && out.contains("Ip 203.0.113.0/24"),
        "{out}"
    );
    assert!(out.contains("needs the evaluator"), "{out}");
}
