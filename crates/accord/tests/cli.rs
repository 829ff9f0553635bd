//! The `accord` binary, run for real in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn accord(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(args)
        .current_dir(dir)
        .env_remove("ACCORD_DATA")
        .output()
        .expect("run accord")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The real STIX bundles (`stix/`, copied in the repository).
fn stix_files() -> Vec<PathBuf> {
    let dir = accord_testkit::fixture("stix");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}"#;

#[test]
fn validate_reports_file_line_column_id_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = IND.replace(
        r#""created":"2016-04-06T20:03:48.000Z""#,
        r#""created":"2016-04-06 20:03:48""#,
    );
    std::fs::write(dir.path().join("in.jsonl"), format!("{IND}\n{bad}\n")).unwrap();
    let o = accord(&["validate", "in.jsonl"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let col = bad.find("\"2016-04-06 20").unwrap() + 1;
    let expect = format!(
        "in.jsonl:2:{col}: error[timestamp] indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f $.created:"
    );
    assert!(err.contains(&expect), "expected `{expect}` in:\n{err}");
    assert!(err.contains("2 objects checked"), "{err}");

    std::fs::write(dir.path().join("ok.json"), IND).unwrap();
    let o = accord(&["validate", "ok.json"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn validate_accepts_every_shared_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = stix_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["validate", "--no-warnings"];
    args.extend(files.iter().map(String::as_str));
    let o = accord(&args, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn broken_inputs_are_named_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ind2 = IND.replace(
        "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    );
    let ind3 = IND.replace(
        "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "2e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    );
    // JSON lines: a broken line, a non-UTF-8 byte, an oversized line, and good lines around them.
    let mut jsonl = Vec::new();
    jsonl.extend_from_slice(IND.as_bytes());
    jsonl.extend_from_slice(b"\n{\"type\": \"indicator\", \"id\": \n");
    jsonl.extend_from_slice(b"{\"type\":\"indicator\",\"name\":\"\xff\"}\n");
    jsonl.extend_from_slice(format!("{{\"x\":\"{}\"}}\n", "a".repeat(4096)).as_bytes());
    jsonl.extend_from_slice(ind2.as_bytes());
    jsonl.extend_from_slice(b"\n");
    std::fs::write(d.join("mixed.jsonl"), &jsonl).unwrap();
    // A bundle truncated after its second object.
    let bundle = format!(
        "{{\"type\":\"bundle\",\"id\":\"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\",\"objects\":[\n{ind3},\n{IND},\n{{\"type\": \"ind"
    );
    std::fs::write(d.join("truncated.json"), bundle).unwrap();

    let o = accord(
        &[
            "ingest",
            "--data",
            "db",
            "--max-object-bytes",
            "2048",
            "mixed.jsonl",
            "truncated.json",
        ],
        d,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("mixed.jsonl:2:"), "broken line named: {err}");
    assert!(
        err.contains("mixed.jsonl:3:29: error[json] invalid UTF-8: byte 0xFF"),
        "bad UTF-8 named: {err}"
    );
    assert!(
        err.contains("mixed.jsonl:4:1: error[json] line is 4104 bytes, over the limit"),
        "{err}"
    );
    assert!(err.contains("truncated.json:4:"), "truncation named: {err}");
    assert!(err.contains("EOF"), "{err}");
    // Good objects of both files are stored: IND, ind2, ind3 (IND again is a duplicate).
    assert!(err.contains("3 stored, 1 duplicates"), "{err}");

    let o = accord(&["export", "--data", "db", "--jsonl"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), 3);
    assert!(
        out.lines().any(|l| l == IND),
        "exported bytes are the ingested bytes"
    );
}

#[test]
fn same_version_with_other_content_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let changed = IND.replace("198.51.100.1", "198.51.100.2");
    std::fs::write(d.join("a.jsonl"), format!("{IND}\n{changed}\n")).unwrap();
    let o = accord(&["ingest", "--data", "db", "a.jsonl"], d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "a.jsonl:2:1: error[conflict] indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
        ),
        "{err}"
    );
    assert!(err.contains("1 stored, 0 duplicates, 1 conflicts"), "{err}");
    let o = accord(&["export", "--data", "db", "--jsonl"], d);
    assert_eq!(
        String::from_utf8(o.stdout).unwrap().trim(),
        IND,
        "the first one is kept"
    );
}

#[test]
fn export_filters_by_collection_type_and_since() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let files: Vec<String> = stix_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["ingest", "--data", "db", "--collection", "shared"];
    args.extend(files.iter().map(String::as_str));
    assert!(accord(&args, d).status.success());
    std::fs::write(d.join("one.json"), IND).unwrap();
    assert!(
        accord(
            &["ingest", "--data", "db", "--collection", "mine", "one.json"],
            d
        )
        .status
        .success()
    );

    let lines = |args: &[&str]| -> Vec<String> {
        let o = accord(args, d);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let mine = lines(&["export", "--data", "db", "--jsonl", "--collection", "mine"]);
    assert_eq!(mine, vec![IND.to_owned()]);
    let malware = lines(&[
        "export",
        "--data",
        "db",
        "--jsonl",
        "--collection",
        "shared",
        "--type",
        "malware",
    ]);
    assert!(!malware.is_empty());
    assert!(
        malware
            .iter()
            .all(|l| l.contains("\"type\":\"malware\"") || l.contains("\"type\": \"malware\""))
    );
    let future = lines(&[
        "export",
        "--data",
        "db",
        "--jsonl",
        "--since",
        "2999-01-01T00:00:00Z",
    ]);
    assert!(future.is_empty());
    let o = accord(&["export", "--data", "db", "--since", "yesterday"], d);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a STIX timestamp"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn help_teaches_by_example() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        "validate",
        "ingest",
        "export",
        "generate",
        "serve",
        "demo",
        "init",
        "sync",
        "hash-password",
    ] {
        let o = accord(&[cmd, "--help"], dir.path());
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success());
        assert!(
            out.contains("Examples:"),
            "{cmd} --help has examples:\n{out}"
        );
        assert!(
            out.contains(&format!("accord {cmd}")),
            "{cmd} --help shows the command:\n{out}"
        );
    }
}
