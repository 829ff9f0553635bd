//! `accord ingest --config` of a cluster's node (the testkit's PostgreSQL
//! and NATS; skipped with one line without either): without `nats` the
//! command stores into PostgreSQL itself; with `nats` its batches are
//! durable tasks stored by three `accord serve` processes, every object
//! exactly once, also when one process is killed with SIGKILL while
//! batches are being stored.

mod cluster_common;
mod common;

use cluster_common::{cluster_config, start, status};
use common::{ACCORD, accord, p, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The store collection of `cluster_config`'s TAXII collection.
const STORE: &str = "share";

/// `count` generated indicators (seed `seed`) in DIR/gen-SEED.jsonl.
fn generated(dir: &Path, count: usize, seed: u64) -> PathBuf {
    let file = dir.join(format!("gen-{seed}.jsonl"));
    let o = accord(&[
        "generate",
        "--count",
        &count.to_string(),
        "--seed",
        &seed.to_string(),
        "-o",
        p(&file),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    file
}

fn ingest_cmd(config: &Path, file: &Path, batch_bytes: Option<usize>) -> Command {
    let mut c = Command::new(ACCORD);
    c.args(["ingest", "--config", p(config), "--collection", STORE])
        .arg(file)
        .env_remove("ACCORD_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(b) = batch_bytes {
        c.env("ACCORD_INGEST_BATCH_BYTES", b.to_string());
    }
    c
}

/// The counts in ingest's summary line: read, stored, duplicates,
/// conflicts, rejected.
fn summary(o: &Output) -> [u64; 5] {
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err
        .lines()
        .find(|l| l.contains(" objects read into collection "))
        .unwrap_or_else(|| panic!("no summary: {}", text(o)));
    let num = |after: &str| -> u64 {
        let at = line
            .find(after)
            .unwrap_or_else(|| panic!("{after}: {line}"));
        line[..at]
            .rsplit([' ', ':'])
            .find(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    [
        num(" objects read"),
        num(" stored"),
        num(" duplicates"),
        num(" conflicts"),
        num(" rejected"),
    ]
}

/// The batches done in the processes' logs: task id → the logs that did it.
fn batches_done(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let log = e.file_name().to_string_lossy().into_owned();
        if !log.starts_with("serve-") {
            continue;
        }
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            if line.contains("work: ingest batch done") {
                let at = line.find(" task=").unwrap() + 6;
                let task = line[at..].split_whitespace().next().unwrap();
                out.entry(task.trim_matches('"').to_owned())
                    .or_default()
                    .push(log.clone());
            }
        }
    }
    out
}

/// The store holds `n` objects once each, and the log one record each.
fn assert_stored_once(config: &Path, n: u64) {
    let st = status(config, &[]);
    assert_eq!(st["seq_hwm"].as_u64(), Some(n), "{st:#}");
    assert_eq!(st["ledger_size"].as_u64(), Some(n), "{st:#}");
}

#[test]
fn without_nats_config_ingests_into_postgres() {
    const TEST: &str = "without_nats_config_ingests_into_postgres";
    let Some(pg) = accord_testkit::postgres::cluster(TEST) else {
        return;
    };
    let db = pg.fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (config, _pw) = cluster_config(dir, &format!("postgres = \"{db}\""));
    let file = generated(dir, 300, 7);

    let o = ingest_cmd(&config, &file, None).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(summary(&o), [300, 300, 0, 0, 0], "{}", text(&o));
    assert!(text(&o).contains("PostgreSQL"), "{}", text(&o));
    assert_stored_once(&config, 300);
    // Again: duplicates only.
    let o = ingest_cmd(&config, &file, None).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(summary(&o), [300, 0, 300, 0, 0], "{}", text(&o));
    assert_stored_once(&config, 300);
    // --data with a cluster's configuration: refused, naming both.
    let o = accord(&[
        "ingest",
        "--config",
        p(&config),
        "--data",
        p(&dir.join("elsewhere")),
        p(&file),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("conflict"), "{}", text(&o));
    assert!(!dir.join("elsewhere").exists());

    // A `nats` that cannot be reached: the batches are stored here.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let t = std::fs::read_to_string(&config).unwrap().replace(
        "[cluster]\n",
        &format!("[cluster]\nnats = \"nats://127.0.0.1:{port}\"\n"),
    );
    let nats_config = dir.join("nats.toml");
    std::fs::write(&nats_config, t).unwrap();
    let more = generated(dir, 100, 8);
    let o = ingest_cmd(&nats_config, &more, Some(8 * 1024))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(summary(&o), [100, 100, 0, 0, 0], "{}", text(&o));
    assert!(
        text(&o).contains("stored by this command directly"),
        "{}",
        text(&o)
    );
    assert_stored_once(&config, 400);
}

#[test]
fn with_nats_three_processes_store_every_batch_once() {
    const TEST: &str = "with_nats_three_processes_store_every_batch_once";
    let Some(pg) = accord_testkit::postgres::cluster(TEST) else {
        return;
    };
    let Some(nats) = accord_testkit::nats::server(TEST) else {
        return;
    };
    let db = pg.fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (config, pw) = cluster_config(
        dir,
        &format!("postgres = \"{db}\"\nnats = \"{}\"", nats.url()),
    );
    let procs: Vec<_> = (0..3).map(|_| start(&config, &[])).collect();
    let file = generated(dir, 2000, 11);
    // A bad object among them: rejected, with its reason.
    let mut text_in = std::fs::read_to_string(&file).unwrap();
    text_in
        .push_str("{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--nope\"}\n");
    std::fs::write(&file, text_in).unwrap();

    let o = ingest_cmd(&config, &file, Some(16 * 1024))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(summary(&o), [2001, 2000, 0, 0, 1], "{}", text(&o));
    assert!(text(&o).contains("indicator--nope"), "{}", text(&o));
    assert_stored_once(&config, 2000);
    let done = batches_done(dir);
    assert!(done.len() > 20, "{done:?}");
    let twice: Vec<_> = done.iter().filter(|(_, l)| l.len() != 1).collect();
    assert!(twice.is_empty(), "done more than once: {twice:?}");
    let processes: std::collections::BTreeSet<_> = done.values().flatten().collect();
    assert!(processes.len() >= 2, "one process did all: {processes:?}");
    // The queue is empty again, and status shows the kind.
    let st = status(&config, &[]);
    let ingest = &st["nats"]["queues"]["ingest"];
    assert_eq!(ingest["pending"].as_u64(), Some(0), "{st:#}");
    assert_eq!(ingest["in_flight"].as_u64(), Some(0), "{st:#}");

    // A crafted task (no header, then a bad collection): dropped by the
    // worker that takes it, with an error logged; the queue empties.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let q = accord_work::WorkQueue::connect(&nats.url(), &accord_work::Options::default())
            .await
            .unwrap();
        q.publish("ingest", "ingest:crafted-1", b"{\"id\":\"x\"}")
            .await
            .unwrap();
        let bad = "{\"v\":1,\"run\":\"0f8e2d3c-1b2a-4c5d-8e9f-0a1b2c3d4e5f\",\"collection\":\"\",\"origin\":\"o\"}\n{}\n";
        q.publish("ingest", "ingest:crafted-2", bad.as_bytes())
            .await
            .unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs: String = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("serve-"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        let dropped: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("ERROR") && l.contains("work: ingest batch dropped"))
            .collect();
        if dropped.len() == 2 {
            assert!(
                dropped.iter().any(|l| l.contains("no header line"))
                    && dropped.iter().any(|l| l.contains("collection")),
                "{dropped:#?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "crafted tasks not dropped: {dropped:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let st = status(&config, &[]);
    assert_eq!(
        st["nats"]["queues"]["ingest"]["pending"].as_u64(),
        Some(0),
        "{st:#}"
    );
    assert_stored_once(&config, 2000);

    // The same file again at once: the batches are still in the queue's
    // de-duplication window, so this command stores them itself:
    // duplicates only, nothing twice.
    let o = ingest_cmd(&config, &file, Some(16 * 1024))
        .output()
        .unwrap();
    assert_eq!(summary(&o), [2001, 0, 2000, 0, 1], "{}", text(&o));
    assert!(text(&o).contains("already on the queue"), "{}", text(&o));
    assert_stored_once(&config, 2000);

    // A pretty-printed bundle: its objects span lines, so they travel in
    // framed batches and the processes store them, bytes as given.
    let objs = cluster_common::indicators(dir, 3, 12);
    let bundle = dir.join("pretty.json");
    std::fs::write(
        &bundle,
        serde_json::to_string_pretty(&serde_json::json!({
            "type": "bundle",
            "id": "bundle--6f1f3c1e-2a7b-4c1d-9e3f-5a6b7c8d9e0f",
            "objects": objs,
        }))
        .unwrap(),
    )
    .unwrap();
    let before = batches_done(dir).len();
    let o = ingest_cmd(&config, &bundle, None).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(summary(&o), [3, 3, 0, 0, 0], "{}", text(&o));
    assert!(
        !text(&o).contains("stored by this command directly"),
        "{}",
        text(&o)
    );
    assert_stored_once(&config, 2003);
    assert_eq!(batches_done(dir).len(), before + 1, "one framed batch");
    // Each object as stored is its text in the file, indentation and all.
    let (_, base, _) = &procs[0];
    let pretty = std::fs::read_to_string(&bundle).unwrap();
    for o in &objs {
        let id = o["id"].as_str().unwrap();
        let (code, body) = cluster_common::http(
            "GET",
            &format!(
                "{base}/api1/collections/{}/objects/{id}/",
                cluster_common::COLLECTION
            ),
            &pw,
            None,
        );
        assert_eq!(code, 200);
        let body = String::from_utf8(body).unwrap();
        let served = &body[body.find("[").unwrap() + 1..body.rfind(']').unwrap()];
        assert!(served.contains('\n'), "{served}");
        assert!(
            pretty.contains(served.trim()),
            "not byte for byte: {served}"
        );
    }
}

#[test]
fn with_nats_a_process_killed_mid_ingest_loses_nothing_and_stores_nothing_twice() {
    const TEST: &str =
        "with_nats_a_process_killed_mid_ingest_loses_nothing_and_stores_nothing_twice";
    let Some(pg) = accord_testkit::postgres::cluster(TEST) else {
        return;
    };
    let Some(nats) = accord_testkit::nats::server(TEST) else {
        return;
    };
    let db = pg.fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (config, _pw) = cluster_config(
        dir,
        &format!("postgres = \"{db}\"\nnats = \"{}\"", nats.url()),
    );
    let mut procs: Vec<_> = (0..3).map(|_| start(&config, &[])).collect();
    let file = generated(dir, 2000, 13);
    let child = ingest_cmd(&config, &file, Some(4 * 1024)).spawn().unwrap();
    // Once batches are being stored, kill one process.
    let deadline = Instant::now() + Duration::from_secs(60);
    let victim = procs[0].0.0.id();
    while batches_done(dir).is_empty() {
        assert!(Instant::now() < deadline, "no batch done within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    procs[0].0.0.kill().unwrap();
    procs[0].0.0.wait().unwrap();
    drop(procs.remove(0));
    let before = batches_done(dir).len();
    let o = child.wait_with_output().unwrap();
    eprintln!("{}", text(&o));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let [read, stored, dups, conflicts, rejected] = summary(&o);
    assert_eq!((read, conflicts, rejected), (2000, 0, 0), "{}", text(&o));
    // A batch stored by the killed process but not reported is redone
    // by another: its objects are counted as duplicates then.
    assert_eq!(stored + dups, 2000, "{}", text(&o));
    assert_stored_once(&config, 2000);
    let done = batches_done(dir);
    assert!(
        done.len() > before,
        "the survivors went on after the kill of {victim}"
    );
}
