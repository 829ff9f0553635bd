//! `accord match`: bad input is counted and reported, never an abort, never
//! a wrong hit; sightings land in the store and validate; generated logs
//! agree with an independent Python implementation.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn accord() -> Command {
    Command::new(env!("CARGO_BIN_EXE_accord"))
}

fn root() -> &'static Path {
    accord_testkit::repo_root()
}

const IP_IND: &str = "indicator--00000000-0000-4000-8000-000000000001";
const DOM_IND: &str = "indicator--00000000-0000-4000-8000-000000000002";
const PRODUCER: &str = "identity--0b5c2f3e-3e43-4d3b-8c5e-7a1d3c9e8f21";

fn write_indicators(dir: &Path) -> PathBuf {
    let mk = |id: &str, p: &str| {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1", "id": id,
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "created_by_ref": PRODUCER,
            "pattern": p, "pattern_type": "stix", "valid_from": "2010-01-01T00:00:00Z",
        })
        .to_string()
    };
    let f = dir.join("ind.jsonl");
    std::fs::write(
        &f,
        format!(
            "{}\n{}\n",
            mk(IP_IND, "[ipv4-addr:value = '10.16.1.11']"),
            mk(DOM_IND, "[domain-name:value = 'dropbox.com']")
        ),
    )
    .unwrap();
    f
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    run_code(0, args)
}

/// Runs accord and asserts its exit status.
fn run_code(code: i32, args: &[&std::ffi::OsStr]) -> Output {
    let o = accord().args(args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(code),
        "accord {:?}: {}",
        args,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn hits(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn bad_lines_are_counted_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let ind = write_indicators(dir.path());
    let good = r#"{"timestamp":"2024-05-01T00:00:00.000000+0000","event_type":"flow","src_ip":"10.16.1.11","dest_ip":"1.2.3.4"}"#;
    let eve = dir.path().join("bad.json");
    let mut f = std::fs::File::create(&eve).unwrap();
    writeln!(f, "{good}").unwrap(); // 1: hit
    f.write_all(b"{\"event_type\":\"flow\",\"src_ip\":\"10.16.1.11\",\"x\":\"\xff\xfe\"}\n")
        .unwrap(); // 2: invalid UTF-8
    writeln!(f, "[\"10.16.1.11\"]").unwrap(); // 3: not an object
    writeln!(f, "{{\"event_type\":\"flow\",\"src_ip\":\"10.16.1.11\",").unwrap(); // 4: cut
    let long = format!(
        "{{\"event_type\":\"flow\",\"src_ip\":\"10.16.1.11\",\"pad\":\"{}\"}}",
        "x".repeat(17 << 20)
    );
    writeln!(f, "{long}").unwrap(); // 5: longer than the 16 MiB cap
    writeln!(f, "{good}").unwrap(); // 6: hit
    drop(f);

    // A Zeek log whose last line is cut.
    let conn = std::fs::read_to_string(accord_testkit::fixture("zeek/btest-conn.log")).unwrap();
    let cut = dir.path().join("cut.log");
    // Cut the third data row in the middle (the file then ends without a newline).
    let third = conn
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .filter(|&i| !conn[i..].starts_with('#'))
        .nth(2)
        .unwrap();
    let keep = third + 20;
    std::fs::write(&cut, &conn[..keep]).unwrap();

    // A gzip file cut short.
    let gz_full = dir.path().join("dns.log.gz");
    let out = Command::new("gzip")
        .arg("-c")
        .arg(accord_testkit::fixture("zeek/btest-dns.log"))
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&gz_full, &out.stdout[..out.stdout.len() / 2]).unwrap();

    let h = dir.path().join("hits.jsonl");
    for threads in ["1", "2"] {
        // The gzip stream cut short is an input that could not be read to
        // its end: exit 2, after matching and reporting everything else.
        let o = run_code(
            2,
            &[
                "match".as_ref(),
                "--indicators".as_ref(),
                ind.as_os_str(),
                "--out".as_ref(),
                dir.path().join("s.json").as_os_str(),
                "--data".as_ref(),
                dir.path().join("none").as_os_str(),
                "--hits".as_ref(),
                h.as_os_str(),
                "--threads".as_ref(),
                threads.as_ref(),
                eve.as_os_str(),
                cut.as_os_str(),
                gz_full.as_os_str(),
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        let e = eve.display().to_string();
        for want in [
            format!("{e}:2: skipped: invalid UTF-8"),
            format!("{e}:3: skipped: not a JSON object"),
            format!("{e}:5: skipped: line too long"),
            "truncated line".to_owned(),
            "gzip".to_owned(),
        ] {
            assert!(err.contains(&want), "summary lacks {want:?}:\n{err}");
        }
        assert!(err.contains(&format!("{}:", cut.display())), "{err}");
        let got = hits(&h);
        let eve_lines: Vec<u64> = got
            .iter()
            .filter(|v| v["file"] == e.as_str())
            .map(|v| v["line"].as_u64().unwrap())
            .collect();
        assert_eq!(eve_lines, [1, 6], "{err}");
    }
}

#[test]
fn zeek_rows_without_header_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let ind = write_indicators(dir.path());
    // Read as Zeek (as text it would be free text, where the address is a hit).
    let zeek = dir.path().join("noheader.log");
    std::fs::write(&zeek, "1.0\tCabc\t10.16.1.11\t1\t10.0.0.1\t2\n").unwrap();
    let h = dir.path().join("hits.jsonl");
    let o = run(&[
        "match".as_ref(),
        "--format".as_ref(),
        "zeek".as_ref(),
        "--indicators".as_ref(),
        ind.as_os_str(),
        "--no-sightings".as_ref(),
        "--hits".as_ref(),
        h.as_os_str(),
        zeek.as_os_str(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    let want = format!("{}:1: skipped: no Zeek #fields header", zeek.display());
    assert!(err.contains(&want), "{err}");
    assert!(hits(&h).is_empty());
}

#[test]
fn sightings_land_in_the_store_and_validate() {
    let py = accord_testkit::python("stix2validator");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let ind = write_indicators(dir.path());
    run(&[
        "ingest".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        ind.as_os_str(),
    ]);
    let logs = [
        accord_testkit::fixture("suricata/eve-dns.json"),
        accord_testkit::fixture("suricata/eve-tls-alert.json"),
    ];
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "match".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--evidence".as_ref(),
    ];
    args.extend(logs.iter().map(|p| p.as_os_str()));
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("stored in collection `sightings`"), "{err}");
    assert!(
        err.contains(&format!("queued in `sightings-to-{PRODUCER}`")),
        "{err}"
    );
    let identity = std::fs::read_to_string(data.join("node-identity.json")).unwrap();
    let node: Value = serde_json::from_str(&identity).unwrap();

    // accord export shows them; stix2-validator accepts the bundle.
    let bundle = dir.path().join("sightings.json");
    run(&[
        "export".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--collection".as_ref(),
        "sightings".as_ref(),
        "-o".as_ref(),
        bundle.as_os_str(),
    ]);
    let b: Value = serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let objs = b["objects"].as_array().unwrap();
    let sightings: Vec<&Value> = objs.iter().filter(|o| o["type"] == "sighting").collect();
    let mut by_ind: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &sightings {
        *by_ind
            .entry(s["sighting_of_ref"].as_str().unwrap())
            .or_default() += s["count"].as_u64().unwrap();
        assert_eq!(s["where_sighted_refs"][0], node["id"]);
        assert!(s["first_seen"].as_str().unwrap() <= s["last_seen"].as_str().unwrap());
        for r in s["observed_data_refs"].as_array().unwrap() {
            assert!(objs.iter().any(|o| o["id"] == *r), "evidence {r} stored");
        }
    }
    // count = distinct log lines naming (a subdomain of) dropbox.com.
    let dropbox = std::fs::read_to_string(&logs[0])
        .unwrap()
        .lines()
        .filter(|l| l.contains("dropbox.com"))
        .count() as u64;
    assert_eq!(by_ind.get(DOM_IND), Some(&dropbox), "{by_ind:?}");
    assert!(by_ind.get(IP_IND).copied().unwrap_or(0) >= 9, "{by_ind:?}");
    assert!(objs.iter().any(|o| o["type"] == "observed-data"));
    assert!(objs.iter().any(|o| o["id"] == node["id"]));
    let v = Command::new(&py)
        .args([
            "-c",
            "import sys\nfrom stix2validator import validate_file, print_results, ValidationOptions\n\
             r = validate_file(sys.argv[1], ValidationOptions(version='2.1'))\n\
             print_results(r)\nsys.exit(0 if r.is_valid else 1)",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "stix2-validator rejects the sightings:\n{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );

    // The producer's outbox holds its sightings with their evidence.
    let outbox = dir.path().join("outbox.json");
    run(&[
        "export".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--collection".as_ref(),
        format!("sightings-to-{PRODUCER}").as_ref(),
        "-o".as_ref(),
        outbox.as_os_str(),
    ]);
    let ob: Value = serde_json::from_str(&std::fs::read_to_string(&outbox).unwrap()).unwrap();
    let n = ob["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "sighting")
        .count();
    assert_eq!(n, sightings.len());

    // A second run keeps the node identity; --index is saved and reused.
    let ix = dir.path().join("index.bin");
    let mut args2 = args.clone();
    args2.extend(["--index".as_ref(), ix.as_os_str()]);
    run(&args2);
    let o = run(&args2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("index reused"));
    // Without --index the index is kept in the data directory (the first
    // run above saved it): this run reads it and only what was stored since.
    let kept: Vec<_> = std::fs::read_dir(data.join("match-index"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "idx"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("index reused"), "{err}");
    let mut no_index = args.clone();
    no_index.push("--no-index".as_ref());
    let o = run(&no_index);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("index reused"), "{err}");
    assert_eq!(
        std::fs::read_to_string(data.join("node-identity.json")).unwrap(),
        identity
    );
}

#[test]
fn generated_logs_agree_with_the_python_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g");
    run(&[
        "generate-logs".as_ref(),
        "--out".as_ref(),
        g.as_os_str(),
        "--indicators".as_ref(),
        "20000".as_ref(),
        "--lines".as_ref(),
        "5000".as_ref(),
        "--hit-every".as_ref(),
        "10".as_ref(),
    ]);
    let h = dir.path().join("hits.jsonl");
    let logs = ["eve.json", "conn.log", "dns.log"].map(|f| g.join(f));
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "match".as_ref(),
        "--indicators".as_ref(),
        "placeholder".as_ref(),
        "--no-sightings".as_ref(),
        "--hits".as_ref(),
        h.as_os_str(),
    ];
    let ind = g.join("indicators.jsonl");
    args[2] = ind.as_os_str();
    args.extend(logs.iter().map(|p| p.as_os_str()));
    run(&args);
    let mut ours: BTreeMap<String, u64> = BTreeMap::new();
    for v in hits(&h) {
        *ours
            .entry(v["indicator"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let counts = dir.path().join("py.tsv");
    let o = Command::new("python3")
        .arg(root().join("bench/match_baseline.py"))
        .arg("--iocs")
        .arg(g.join("iocs.tsv"))
        .arg("--counts")
        .arg(&counts)
        .args(&logs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs: BTreeMap<String, u64> = std::fs::read_to_string(&counts)
        .unwrap()
        .lines()
        .map(|l| {
            let (id, n) = l.split_once('\t').unwrap();
            (id.to_owned(), n.parse().unwrap())
        })
        .collect();
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(g.join("meta.json")).unwrap()).unwrap();
    let planted: u64 = meta["planted_events"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(planted > 1000);
    assert!(ours.values().sum::<u64>() >= planted);
    assert_eq!(ours, theirs);
}

#[test]
fn follow_mode_reads_growth_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let ind = write_indicators(dir.path());
    let log = dir.path().join("eve.json");
    let line = |n: u32| {
        format!(
            "{{\"timestamp\":\"2024-05-01T00:00:0{n}.000000+0000\",\"event_type\":\"flow\",\"src_ip\":\"10.16.1.11\",\"dest_ip\":\"192.0.2.{n}\"}}\n"
        )
    };
    std::fs::write(&log, line(1)).unwrap();
    let h = dir.path().join("hits.jsonl");
    let out = dir.path().join("s.json");
    let child = accord()
        .args([
            "match",
            "--follow",
            // Each step below waits for the hits of the one before, so
            // this only bounds the whole run on a slow, loaded machine.
            "--follow-for",
            "20",
            "--flush",
            "1",
            "--indicators",
        ])
        .arg(&ind)
        .arg("--out")
        .arg(&out)
        .arg("--data")
        .arg(dir.path().join("none"))
        .arg("--hits")
        .arg(&h)
        .arg(&log)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Hits are flushed every second: wait until `n` are in the file.
    let wait_for = |n: usize| {
        let start = std::time::Instant::now();
        while std::fs::read_to_string(&h).map_or(0, |t| t.lines().count()) < n {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(15),
                "no hit {n} within 15 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for(1);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(line(2).as_bytes())
        .unwrap();
    wait_for(2);
    // Rotation: the old file moves away, a new one takes its name.
    std::fs::rename(&log, dir.path().join("eve.json.1")).unwrap();
    std::fs::write(&log, line(3)).unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let got: Vec<(u64, String)> = hits(&h)
        .iter()
        .map(|v| {
            (
                v["line"].as_u64().unwrap(),
                v["time"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "2024-05-01T00:00:01.000Z".to_owned()),
            (2, "2024-05-01T00:00:02.000Z".to_owned()),
            (1, "2024-05-01T00:00:03.000Z".to_owned())
        ],
        "{err}"
    );
    assert!(out.exists());
}
