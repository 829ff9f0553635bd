//! `accord match --config` of a cluster's node (the testkit's PostgreSQL
//! and NATS; skipped with one line without either): indicators from the
//! cluster's store; with `nats` the logs are chunks matched by three
//! `accord serve` processes, and the sightings are exactly those of a
//! local `accord match` of the same logs and indicators, also when one
//! process is killed with SIGKILL mid-match. Crafted chunks are dropped
//! with an error; protected-facility escalations, after a redone ingest
//! batch or a repeated match, happen once.

mod cluster_common;
mod common;

use cluster_common::{cluster_config, start};
use common::{ACCORD, accord, p, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const STORE: &str = "share";

/// `accord generate-logs` into DIR/gen: (indicators, [eve, conn, dns]).
fn generated(dir: &Path, lines: u64, seed: u64) -> (PathBuf, Vec<PathBuf>) {
    let out = dir.join("gen");
    let o = accord(&[
        "generate-logs",
        "--out",
        p(&out),
        "--indicators",
        "400",
        "--lines",
        &lines.to_string(),
        "--hit-every",
        "10",
        "--seed",
        &seed.to_string(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    (
        out.join("indicators.jsonl"),
        ["eve.json", "conn.log", "dns.log"]
            .iter()
            .map(|f| out.join(f))
            .collect(),
    )
}

fn ingest(config: &Path, file: &Path) {
    let o = Command::new(ACCORD)
        .args(["ingest", "--config", p(config), "--collection", STORE])
        .arg(file)
        .env_remove("ACCORD_DATA")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// The local reference: the same logs against the indicator file.
fn reference(dir: &Path, indicators: &Path, logs: &[PathBuf]) -> (BTreeMap<String, u64>, Output) {
    let out = dir.join("reference.json");
    let mut c = Command::new(ACCORD);
    c.args(["match", "--indicators", p(indicators), "--out", p(&out)])
        .args(["--data", p(&dir.join("no-node"))])
        .args(logs)
        .env_remove("ACCORD_DATA");
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    (sightings(&out), o)
}

fn match_cmd(config: &Path, out: Option<&Path>, logs: &[PathBuf], chunk: usize) -> Command {
    let mut c = Command::new(ACCORD);
    c.args(["match", "--config", p(config)]);
    if let Some(o) = out {
        c.args(["--out", p(o)]);
    }
    c.args(logs)
        .env_remove("ACCORD_DATA")
        .env("ACCORD_MATCH_CHUNK_BYTES", chunk.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// A bundle's sightings as `indicator first_seen last_seen` → count (the
/// sightings' own ids and times differ from run to run).
fn sightings(bundle: &Path) -> BTreeMap<String, u64> {
    let v: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for o in v["objects"].as_array().unwrap() {
        if o["type"] != "sighting" {
            continue;
        }
        let key = format!(
            "{} {} {}",
            o["sighting_of_ref"].as_str().unwrap(),
            o["first_seen"].as_str().unwrap(),
            o["last_seen"].as_str().unwrap()
        );
        let prev = out.insert(key.clone(), o["count"].as_u64().unwrap());
        assert!(prev.is_none(), "two sightings {key}");
    }
    out
}

/// A summary line starting with `start`.
fn line<'a>(o: &'a str, start: &str) -> &'a str {
    o.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no {start:?} line: {o}"))
}

/// The chunks done in the processes' logs: task id → the logs that did it.
fn chunks_done(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let log = e.file_name().to_string_lossy().into_owned();
        if !log.starts_with("serve-") {
            continue;
        }
        for l in std::fs::read_to_string(e.path()).unwrap().lines() {
            if l.contains("work: match chunk done") {
                let at = l.find(" task=").unwrap() + 6;
                let task = l[at..].split_whitespace().next().unwrap();
                out.entry(task.trim_matches('"').to_owned())
                    .or_default()
                    .push(log.clone());
            }
        }
    }
    out
}

fn serve_logs(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("serve-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect()
}

#[test]
fn three_processes_match_exactly_as_a_local_match() {
    const TEST: &str = "three_processes_match_exactly_as_a_local_match";
    let Some((db, tmp)) = cluster_common::fresh(TEST) else {
        return;
    };
    let Some(nats) = accord_testkit::nats::server(TEST) else {
        return;
    };
    let dir = tmp.path();
    let (config, _pw) = cluster_config(
        dir,
        &format!("postgres = \"{db}\"\nnats = \"{}\"", nats.url()),
    );
    let _procs: Vec<_> = (0..3).map(|_| start(&config, &[])).collect();
    let (indicators, mut logs) = generated(dir, 3000, 5);
    // A compressed log too: read as a stream, cut the same way.
    let gz = dir.join("dns.log.gz");
    let o = Command::new("gzip")
        .arg("-c")
        .arg(&logs[2])
        .stdout(std::fs::File::create(&gz).unwrap())
        .status()
        .unwrap();
    assert!(o.success());
    logs.push(gz);
    ingest(&config, &indicators);
    let (want, local) = reference(dir, &indicators, &logs);
    assert!(want.len() > 100, "{want:?}");
    let local = text(&local);

    // Small chunks: many tasks, each of the three logs cut many times
    // (the Zeek logs' header travels with each chunk).
    let out = dir.join("cluster.json");
    let o = match_cmd(&config, Some(&out), &logs, 16 * 1024)
        .output()
        .unwrap();
    let got_text = text(&o);
    assert_eq!(o.status.code(), Some(0), "{got_text}");
    assert_eq!(sightings(&out), want, "{got_text}");
    for start in ["read ", "hits: "] {
        assert_eq!(line(&got_text, start), line(&local, start), "{got_text}");
    }
    let done = chunks_done(dir);
    assert!(done.len() > 30, "{done:?}");
    let twice: Vec<_> = done.iter().filter(|(_, l)| l.len() != 1).collect();
    assert!(twice.is_empty(), "matched more than once: {twice:?}");
    let processes: std::collections::BTreeSet<_> = done.values().flatten().collect();
    assert!(processes.len() >= 2, "one process did all: {processes:?}");

    // Without NATS: this command matches against PostgreSQL itself, alike.
    let t = std::fs::read_to_string(&config).unwrap();
    let t: String = t
        .lines()
        .filter(|l| !l.starts_with("nats = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let plain = dir.join("plain.toml");
    std::fs::write(&plain, t).unwrap();
    let out2 = dir.join("plain.json");
    let o = match_cmd(&plain, Some(&out2), &logs, 16 * 1024)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sightings(&out2), want, "{}", text(&o));

    // Into the store: the sightings are stored in the cluster's store.
    let o = match_cmd(&config, None, &logs, 64 * 1024).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{} sightings stored in collection `sightings`",
            want.len()
        )),
        "{}",
        text(&o)
    );

    // Crafted chunks: no header, a header naming no format, a prefix
    // longer than the payload: each dropped with an error logged.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let header = |format: &str, prefix: u32| {
        serde_json::json!({
            "v": 1, "run": "0f8e2d3c-1b2a-4c5d-8e9f-0a1b2c3d4e5f", "file": 0,
            "name": "x", "format": format, "columns": null, "csv_header": false,
            "csv_delimiter": 44, "max_line": 1000, "first_line": 1, "prefix": prefix,
            "collections": [], "include_warninglisted": false, "since_us": null,
            "window": 3600
        })
        .to_string()
    };
    rt.block_on(async {
        let q = accord_work::WorkQueue::connect(&nats.url(), &accord_work::Options::default())
            .await
            .unwrap();
        for (id, body) in [
            ("match:crafted-1", "{\"id\":\"x\"}".to_owned()),
            ("match:crafted-2", format!("{}\n{{}}\n", header("auto", 0))),
            (
                "match:crafted-3",
                format!("{}\n{{}}\n", header("eve", 4000)),
            ),
        ] {
            q.publish("match", id, body.as_bytes()).await.unwrap();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = serve_logs(dir);
        let dropped: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("ERROR") && l.contains("work: match chunk dropped"))
            .collect();
        if dropped.len() == 3 {
            assert!(
                dropped.iter().any(|l| l.contains("no header line"))
                    && dropped.iter().any(|l| l.contains("format"))
                    && dropped.iter().any(|l| l.contains("prefix")),
                "{dropped:#?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "crafted chunks not dropped: {dropped:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_process_killed_mid_match_loses_no_hit_and_counts_none_twice() {
    const TEST: &str = "a_process_killed_mid_match_loses_no_hit_and_counts_none_twice";
    let Some((db, tmp)) = cluster_common::fresh(TEST) else {
        return;
    };
    let Some(nats) = accord_testkit::nats::server(TEST) else {
        return;
    };
    let dir = tmp.path();
    let (config, _pw) = cluster_config(
        dir,
        &format!("postgres = \"{db}\"\nnats = \"{}\"", nats.url()),
    );
    let mut procs: Vec<_> = (0..3).map(|_| start(&config, &[])).collect();
    let (indicators, logs) = generated(dir, 6000, 9);
    ingest(&config, &indicators);
    let (want, _) = reference(dir, &indicators, &logs);
    let out = dir.join("cluster.json");
    let child = match_cmd(&config, Some(&out), &logs, 4 * 1024)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while chunks_done(dir).is_empty() {
        assert!(Instant::now() < deadline, "no chunk done within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    procs[0].0.0.kill().unwrap();
    procs[0].0.0.wait().unwrap();
    drop(procs.remove(0));
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sightings(&out), want, "{}", text(&o));
}

#[test]
fn facility_escalations_happen_once_after_a_redone_batch_or_a_repeated_match() {
    const TEST: &str = "facility_escalations_happen_once_after_a_redone_batch_or_a_repeated_match";
    let Some((db, tmp)) = cluster_common::fresh(TEST) else {
        return;
    };
    let Some(nats) = accord_testkit::nats::server(TEST) else {
        return;
    };
    let dir = tmp.path();
    let (config, _pw) = cluster_config(
        dir,
        &format!("postgres = \"{db}\"\nnats = \"{}\"", nats.url()),
    );
    let _procs: Vec<_> = (0..3).map(|_| start(&config, &[])).collect();
    let ind = |uuid: &str, pattern: &str| {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--{uuid}"),
            "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
            "name": "C2", "pattern_type": "stix", "pattern": pattern,
            "valid_from": "2026-12-01T10:00:00Z"
        })
        .to_string()
    };
    let a = "3c4a8e5e-0d7b-4b8e-9f5a-1a2b3c4d5e01";
    let b = "3c4a8e5e-0d7b-4b8e-9f5a-1a2b3c4d5e02";
    let file = dir.join("facility.jsonl");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            ind(a, "[ipv4-addr:value = '198.51.100.7']"),
            ind(b, "[ipv4-addr:value = '203.0.113.9']")
        ),
    )
    .unwrap();
    // Stored before the facility exists: nothing escalated (the state a
    // process leaves when it dies between storing a batch and escalating).
    ingest(&config, &file);
    let cases = |c: &Path| -> Vec<Value> {
        let o = accord(&["hotline", "list", "--json", "--config", p(c)]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert!(cases(&config).is_empty());
    cluster_common::add_grid_facility(&config);
    // The batch again, on NATS: duplicates only, and the escalation the
    // first run missed is done, once.
    // Another origin: another task id, so the batch goes to a worker (the
    // same one again within the queue's de-duplication window is stored
    // by the command itself: both paths are run below).
    let again = |origin: &str| {
        let o = Command::new(ACCORD)
            .args(["ingest", "--config", p(&config), "--collection", STORE])
            .args(["--origin", origin])
            .arg(&file)
            .env_remove("ACCORD_DATA")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        text(&o)
    };
    let first = again("redo");
    assert!(first.contains("2 duplicates"), "{first}");
    assert!(!first.contains("already on the queue"), "{first}");
    let grid = |all: Vec<Value>| -> Vec<Value> {
        all.into_iter()
            .filter(|c| c["facility"] == "Grid")
            .collect()
    };
    let after = grid(cases(&config));
    assert_eq!(after.len(), 1, "{after:#?}");
    let case = after[0]["id"].as_str().unwrap().to_owned();
    let show = |id: &str| -> Value {
        let o = accord(&["hotline", "show", id, "--json", "--config", p(&config)]);
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let messages = show(&case)["messages"].as_array().unwrap().len();
    assert_eq!(
        show(&case)["messages"][0]["attachments"],
        serde_json::json!([format!("indicator--{a}")])
    );
    // Redone once more, by a worker and by the command: nothing new.
    let _ = again("redo-2");
    let here = again("redo-2");
    assert!(here.contains("already on the queue"), "{here}");
    assert_eq!(grid(cases(&config)).len(), 1);
    assert_eq!(show(&case)["messages"].as_array().unwrap().len(), messages);

    // A second facility, registered now, touched by indicator b only
    // through a log's hits; the log also hits Grid's address, whose
    // indicator is attached already. Matched on NATS twice: one case for
    // Portal, opened by the first run; Grid's case unchanged.
    let o = accord(&[
        "facility",
        "add",
        "--config",
        p(&config),
        "--name",
        "Portal",
        "--jurisdiction",
        "FR",
        "--network",
        "203.0.113.0/24",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let log = dir.join("eve.json");
    let mut body = String::new();
    for i in 0..400 {
        let dest = match i % 50 {
            0 => "198.51.100.7",
            25 => "203.0.113.9",
            _ => "10.1.2.3",
        };
        body.push_str(&format!(
            "{{\"timestamp\":\"2026-12-02T10:{:02}:00.000000+0000\",\"event_type\":\"flow\",\"src_ip\":\"10.0.0.{}\",\"dest_ip\":\"{dest}\"}}\n",
            i % 60,
            i % 250
        ));
    }
    std::fs::write(&log, body).unwrap();
    for _ in 0..2 {
        let o = match_cmd(&config, None, std::slice::from_ref(&log), 2048)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(
            text(&o).contains("hits: 16 on 2 indicators"),
            "{}",
            text(&o)
        );
    }
    assert_eq!(grid(cases(&config)).len(), 1);
    let portal: Vec<Value> = cases(&config)
        .into_iter()
        .filter(|c| c["facility"] == "Portal")
        .collect();
    assert_eq!(portal.len(), 1, "{portal:#?}");
    let pcase = show(portal[0]["id"].as_str().unwrap());
    assert_eq!(pcase["messages"].as_array().unwrap().len(), 1, "{pcase:#}");
    assert_eq!(
        pcase["messages"][0]["attachments"],
        serde_json::json!([format!("indicator--{b}")])
    );
    assert_eq!(show(&case)["messages"].as_array().unwrap().len(), messages);
    let logs = serve_logs(dir);
    assert!(
        logs.contains("work: match chunk done"),
        "the match ran on NATS"
    );
}
