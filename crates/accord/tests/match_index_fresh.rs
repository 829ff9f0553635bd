//! The match index kept in DATA_DIR/match-index/ follows what is stored:
//! `accord ingest` brings a kept index up to date at its end (a delta saved
//! beside it), a running node refreshes it in the background, and the next
//! `accord match` maps it. Whatever was saved, and however a save was cut
//! short, its hits are those of a fresh build (`--no-index`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn accord() -> Command {
    Command::new(env!("CARGO_BIN_EXE_accord"))
}

fn run(args: &[&str]) -> Output {
    let o = accord().args(args).output().unwrap();
    assert!(
        o.status.code() == Some(0),
        "accord {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn id(n: u32) -> String {
    format!("indicator--00000000-0000-4000-8000-{n:012x}")
}

fn indicator(n: u32, modified: &str, pattern: &str, revoked: bool) -> String {
    serde_json::json!({
        "type": "indicator", "spec_version": "2.1", "id": id(n),
        "created": "2024-01-01T00:00:00.000Z", "modified": modified,
        "pattern": pattern, "pattern_type": "stix",
        "valid_from": "2010-01-01T00:00:00Z", "revoked": revoked,
    })
    .to_string()
}

fn ip(n: u32) -> String {
    format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255)
}

const T0: &str = "2024-02-01T00:00:00.000Z";
const T1: &str = "2024-06-01T00:00:00.000Z";

fn ingest(data: &Path, lines: &[String]) -> Output {
    ingest_into(data, "c", lines)
}

fn ingest_into(data: &Path, collection: &str, lines: &[String]) -> Output {
    let f = data.with_extension(format!("in-{}.jsonl", lines.len()));
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    run(&[
        "ingest",
        "--no-progress",
        "--data",
        data.to_str().unwrap(),
        "--collection",
        collection,
        f.to_str().unwrap(),
    ])
}

/// An EVE log with one event per address and domain asked about.
fn log(dir: &Path, n: u32) -> PathBuf {
    let p = dir.join("eve.json");
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "{{\"timestamp\":\"2024-07-01T00:00:00Z\",\"event_type\":\"flow\",\"src_ip\":\"{}\",\"dest_ip\":\"192.0.2.1\"}}\n",
            ip(i)
        ));
        s.push_str(&format!(
            "{{\"timestamp\":\"2024-07-01T00:00:00Z\",\"event_type\":\"dns\",\"src_ip\":\"192.0.2.2\",\"dns\":{{\"rrname\":\"d{i}.example\"}}}}\n"
        ));
    }
    std::fs::write(&p, s).unwrap();
    p
}

/// The match's hits (sorted lines of the hits file) and its stderr.
fn matched(data: &Path, log: &Path, extra: &[&str]) -> (Vec<String>, String) {
    let hits = data.with_extension("hits.jsonl");
    let mut args = vec![
        "match",
        "--data",
        data.to_str().unwrap(),
        "--no-sightings",
        "--no-progress",
        "--hits",
        hits.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(log.to_str().unwrap());
    let o = run(&args);
    let mut lines: Vec<String> = std::fs::read_to_string(&hits)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    (lines, err(&o))
}

/// The match over the kept index agrees with a fresh build; its summary.
fn agrees(data: &Path, log: &Path) -> String {
    let (fresh, _) = matched(data, log, &["--no-index"]);
    let (kept, summary) = matched(data, log, &[]);
    assert_eq!(kept, fresh, "kept index vs --no-index:\n{summary}");
    assert!(!fresh.is_empty());
    summary
}

fn index_dir(data: &Path) -> PathBuf {
    data.join("match-index")
}

/// The default index's file (the only `.idx` kept).
fn the_index(data: &Path) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(index_dir(data))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    assert_eq!(v.len(), 1, "{v:?}");
    v.pop().unwrap()
}

fn with_suffix(p: &Path, s: &str) -> PathBuf {
    let mut o = p.as_os_str().to_owned();
    o.push(s);
    PathBuf::from(o)
}

#[test]
fn ingest_keeps_the_kept_index_fresh_and_matches_agree() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let eve = log(dir.path(), 60);
    let first: Vec<String> = (0..40)
        .map(|i| indicator(i, T0, &format!("[ipv4-addr:value = '{}']", ip(i)), false))
        .collect();
    let o = ingest(&data, &first);
    // No index kept yet: the ingest builds none.
    assert!(!err(&o).contains("match index"), "{}", err(&o));
    let s = agrees(&data, &eve);
    assert!(!s.contains("index reused"), "{s}");
    let ix = the_index(&data);

    // New, revoked, new versions (one to a pattern for the evaluator,
    // one older version stored late), in two ingests.
    let o = ingest(
        &data,
        &[
            indicator(100, T0, "[domain-name:value = 'd7.example']", false),
            indicator(3, T1, &format!("[ipv4-addr:value = '{}']", ip(3)), true),
            indicator(4, T1, "[ipv4-addr:value = '10.0.0.50']", false),
        ],
    );
    assert!(err(&o).contains("brought up to date"), "{}", err(&o));
    assert!(with_suffix(&ix, ".delta").is_file());
    let o = ingest(
        &data,
        &[
            indicator(
                5,
                T1,
                "[ipv4-addr:value = '10.0.0.5' AND domain-name:value = 'd5.example']",
                false,
            ),
            indicator(
                6,
                "2024-01-15T00:00:00.000Z",
                "[ipv4-addr:value = '10.0.0.51']",
                false,
            ),
            indicator(101, T0, "[domain-name:value = 'd8.example']", false),
        ],
    );
    // The saved delta's three and these three.
    assert!(err(&o).contains("6 indicator(s) changed"), "{}", err(&o));
    let s = agrees(&data, &eve);
    assert!(
        s.contains("index reused from file and brought up to date: 6 indicator(s) changed since it was saved (4 of them replaced)"),
        "{s}"
    );
    let (hits, _) = matched(&data, &eve, &[]);
    let on = |n: u32| hits.iter().filter(|h| h.contains(&id(n))).count();
    assert_eq!(on(3), 0, "revoked");
    assert_eq!(on(4), 1, "its new pattern only");
    assert!(
        hits.iter()
            .any(|h| h.contains(&id(4)) && h.contains("10.0.0.50"))
    );
    assert_eq!(on(5), 0, "the evaluator's pattern needs both in one event");
    assert_eq!(on(6), 1, "an older version stored late changes nothing");
    assert!(
        hits.iter()
            .any(|h| h.contains(&id(6)) && h.contains(&ip(6)))
    );
    assert_eq!((on(100), on(101)), (1, 1));

    // Beyond the delta's bound (10,000 changes): the ingest rebuilds.
    let many: Vec<String> = (1000..11_100)
        .map(|i| {
            indicator(
                i,
                T0,
                &format!("[domain-name:value = 'x{i}.example']"),
                false,
            )
        })
        .collect();
    let o = ingest(&data, &many);
    assert!(err(&o).contains("built ("), "{}", err(&o));
    assert!(!with_suffix(&ix, ".delta").exists());
    let s = agrees(&data, &eve);
    assert!(
        s.contains("index reused from file;") || s.contains("index reused from file\n"),
        "{s}"
    );
}

#[test]
fn a_save_cut_short_or_a_damaged_index_is_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let other = dir.path().join("other");
    let eve = log(dir.path(), 30);
    let lines: Vec<String> = (0..30)
        .map(|i| indicator(i, T0, &format!("[ipv4-addr:value = '{}']", ip(i)), false))
        .collect();
    ingest(&data, &lines);
    // Another store, whose index is valid but holds other indicators.
    ingest(&other, &lines[..10]);
    agrees(&other, &eve);
    let s = agrees(&data, &eve);
    assert!(!s.contains("reused"), "{s}");
    let ix = the_index(&data);
    let good = std::fs::read(&ix).unwrap();

    // A crash between the index's rename and its sidecar's: a whole,
    // valid index that the sidecar does not describe.
    std::fs::copy(the_index(&other), &ix).unwrap();
    let s = agrees(&data, &eve);
    assert!(!s.contains("reused"), "rebuilt: {s}");
    // A torn or damaged index file.
    let saved = std::fs::read(&ix).unwrap();
    assert_eq!(
        saved.len(),
        good.len(),
        "the rebuild saved the index of this store"
    );
    std::fs::write(&ix, &saved[..saved.len() / 2]).unwrap();
    let s = agrees(&data, &eve);
    assert!(!s.contains("reused"), "rebuilt: {s}");
    let mut bad = std::fs::read(&ix).unwrap();
    let mid = bad.len() - 100;
    bad[mid] ^= 0x55;
    std::fs::write(&ix, &bad).unwrap();
    let s = agrees(&data, &eve);
    assert!(!s.contains("reused"), "rebuilt: {s}");
    let s = agrees(&data, &eve);
    assert!(s.contains("reused"), "{s}");

    // A delta: damaged, or of another base, it is ignored and the changes
    // are read again from the store.
    ingest(
        &data,
        &[indicator(
            1,
            T1,
            &format!("[ipv4-addr:value = '{}']", ip(1)),
            true,
        )],
    );
    let delta = with_suffix(&ix, ".delta");
    let mut d = std::fs::read(&delta).unwrap();
    let n = d.len() - 50;
    d[n] ^= 1;
    std::fs::write(&delta, &d).unwrap();
    let s = agrees(&data, &eve);
    assert!(s.contains("brought up to date: 1 indicator(s)"), "{s}");
    std::fs::write(with_suffix(&delta, ".meta.json"), b"{\"base\":").unwrap();
    let s = agrees(&data, &eve);
    assert!(s.contains("brought up to date: 1 indicator(s)"), "{s}");
    let (hits, _) = matched(&data, &eve, &[]);
    assert!(!hits.iter().any(|h| h.contains(&id(1))), "revoked");
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(index_dir(&data))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_running_node_builds_and_refreshes_the_index_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let eve = log(dir.path(), 60);
    let lines: Vec<String> = (0..50)
        .map(|i| indicator(i, T0, &format!("[ipv4-addr:value = '{}']", ip(i)), false))
        .collect();
    // In the collection the node's POSTs go to: a new version there
    // replaces the stored one.
    ingest_into(&data, "demo", &lines);
    assert!(!index_dir(&data).exists());
    // `accord demo` loads its data into the store, then serves it.
    let mut child = accord()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--generated",
            "100",
            "--data",
            data.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let node = Child(child);
    // "Accord node listening on http://ADDR/taxii2/ (API root http://ADDR/ROOT/)"
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("Accord node listening on "))
        .expect("the node says where it listens");
    let root = line
        .split("(API root http://")
        .nth(1)
        .and_then(|r| r.strip_suffix(')'))
        .expect("the API root")
        .to_owned();
    let wait_for = |what: &str, ok: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !ok() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the node did not {what}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_for("build the default index", &|| {
        index_dir(&data).is_dir()
            && std::fs::read_dir(index_dir(&data))
                .unwrap()
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().ends_with(".idx.meta.json"))
    });
    let s = agrees(&data, &eve);
    assert!(
        s.contains("index reused from file;") || s.contains("index reused from file\n"),
        "{s}"
    );

    // Posted to the node while it runs (TAXII, the demo account): a
    // revocation and a new indicator. No command refreshes the index: the
    // node does, in the background.
    let ix = the_index(&data);
    let body = format!(
        "{{\"objects\":[{},{}]}}",
        indicator(2, T1, &format!("[ipv4-addr:value = '{}']", ip(2)), true),
        indicator(200, T0, "[domain-name:value = 'd9.example']", false)
    );
    let (addr, api) = root.split_once('/').expect("ADDR/ROOT/");
    let request = format!(
        "POST /{api}collections/demo/objects/ HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic ZGVtbzpkZW1v\r\nContent-Type: application/taxii+json;version=2.1\r\nAccept: application/taxii+json;version=2.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(&mut conn, request.as_bytes()).unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut conn, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    assert!(answer.contains("\"success_count\":2"), "{answer}");
    wait_for("save the changes", &|| {
        with_suffix(&ix, ".delta.meta.json").is_file()
    });
    let s = agrees(&data, &eve);
    assert!(s.contains("brought up to date: 2 indicator(s)"), "{s}");
    let (hits, _) = matched(&data, &eve, &[]);
    assert!(!hits.iter().any(|h| h.contains(&id(2))), "revoked");
    assert!(hits.iter().any(|h| h.contains(&id(200))));
    drop(node);
}
