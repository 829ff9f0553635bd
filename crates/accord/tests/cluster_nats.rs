//! Three `accord serve` processes over one PostgreSQL database and one
//! NATS JetStream server (the testkit's; skipped with one line without
//! either): the partners' sync rounds are durable tasks, one per partner
//! and slot, each run by exactly one process; a process killed with
//! SIGKILL in the middle of a round leaves its task to be redelivered to
//! and run by another; `accord cluster status` shows the queues' depths,
//! and says when NATS cannot be reached; NATS stopped and started again
//! under the running processes, the rounds resume. Without NATS the
//! scheduler lease's holder syncs a real partner over PostgreSQL.

mod cluster_common;
mod common;

use cluster_common::{cluster_config, start, status, wait_status};
use common::{accord, ingest, init, keys, p, serve, text};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// A sync round event read from a process's log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Round {
    /// The log file (`serve-PORT.log`).
    log: String,
    /// `started` or `done`.
    what: &'static str,
    /// The task id, `sync:<partner>:<slot>`.
    task: String,
    attempt: u64,
}

/// The hotline ticks done, by task id (`hotline:<slot>`): the logs that
/// ran each.
fn ticks(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let log = e.file_name().to_string_lossy().into_owned();
        if !log.starts_with("serve-") {
            continue;
        }
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            if line.contains("work: hotline tick done") {
                let task = field(line, "task").unwrap().to_owned();
                out.entry(task).or_default().push(log.clone());
            }
        }
    }
    out
}

/// The value of `field=` in a log line (quotes stripped).
fn field<'a>(line: &'a str, field: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {field}="))? + field.len() + 2;
    let v = line[at..].split_whitespace().next()?;
    Some(v.trim_matches('"'))
}

/// Every sync round started or done in the processes' logs under `dir`.
fn rounds(dir: &Path) -> Vec<Round> {
    let mut out = Vec::new();
    let mut logs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("serve-"))
        .collect();
    logs.sort_by_key(std::fs::DirEntry::file_name);
    for e in logs {
        let log = e.file_name().to_string_lossy().into_owned();
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            let what = if line.contains("work: sync round started") {
                "started"
            } else if line.contains("work: sync round done") {
                "done"
            } else {
                continue;
            };
            out.push(Round {
                log: log.clone(),
                what,
                task: field(line, "task").unwrap().to_owned(),
                attempt: field(line, "attempt").unwrap().parse().unwrap(),
            });
        }
    }
    out
}

/// The processes' warnings and errors (the last 40), for a failure's
/// message.
fn problems(dir: &Path) -> String {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("serve-") {
            for l in std::fs::read_to_string(e.path()).unwrap().lines() {
                if l.contains(" WARN ") || l.contains("ERROR") {
                    out.push(format!("{name}: {l}"));
                }
            }
        }
    }
    out[out.len().saturating_sub(40)..].join("\n")
}

/// Waits up to `secs` for `f` to hold of the rounds; returns them.
fn wait_rounds(dir: &Path, secs: u64, what: &str, f: impl Fn(&[Round]) -> bool) -> Vec<Round> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = rounds(dir);
        if f(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "{what} within {secs} s: {r:#?}\nwarnings and errors:\n{}",
            problems(dir)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The slot of a task id `sync:<partner>:<slot>`.
fn slot(task: &str) -> u64 {
    task.rsplit(':').next().unwrap().parse().unwrap()
}

/// `accord cluster status` (text) and its exit code.
fn status_text(config: &Path) -> (Option<i32>, String) {
    let o = accord(&["cluster", "status", "--config", p(config)]);
    (o.status.code(), text(&o))
}

/// The partner `b`: a plain node with 30 objects and an account `a`,
/// serving; the `[[partners]]` section that pulls its `default`
/// collection every 2 s.
fn partner_b(dir: &Path) -> (common::Server, String) {
    let (b_toml, b_pw, b_port) = init(dir, "b", "a");
    ingest(dir, &dir.join("b"), "31", "30", "default");
    let b = serve(&b_toml);
    let b_password = dir.join("b.password");
    std::fs::write(&b_password, &b_pw).unwrap();
    let kb = keys(&b_toml);
    let section = format!(
        r#"
[[partners]]
name = "b"
url = "http://127.0.0.1:{b_port}/"
verifier_key = "{vk}"
user = "a"
password_file = "{pwf}"
api_root = "api1"
[partners.sync]
pull = ["default"]
interval_secs = 2
"#,
        vk = kb["verifier_key"].as_str().unwrap(),
        pwf = p(&b_password),
    );
    (b, section)
}

/// Without NATS, over PostgreSQL, the scheduler lease's holder syncs a
/// real partner (its rounds' store calls used to panic inside the
/// round's runtime: "Cannot start a runtime from within a runtime").
#[test]
fn without_nats_the_scheduler_lease_holder_syncs_a_real_partner() {
    const TEST: &str = "without_nats_the_scheduler_lease_holder_syncs_a_real_partner";
    let Some(pg) = accord_testkit::postgres::cluster(TEST) else {
        return;
    };
    let db = pg.fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (_b, section) = partner_b(dir);
    let (config, _pw) = cluster_config(dir, &format!("postgres = \"{db}\""));
    let mut t = std::fs::read_to_string(&config).unwrap();
    t.push_str(&section);
    std::fs::write(&config, t).unwrap();
    let _procs: Vec<_> = (0..2).map(|_| start(&config, &[])).collect();
    let st = wait_status(&config, &[], 40, "b's 30 objects synced", |st| {
        st["seq_hwm"].as_u64() == Some(30) && st["leases"]["scheduler"].is_string()
    });
    assert_eq!(st["nats"]["note"], "not configured", "{st:#}");
    let p = problems(dir);
    assert!(!p.contains("panicked"), "{p}");
}

#[test]
fn sync_rounds_run_once_per_slot_are_redelivered_after_a_kill_and_resume_after_nats_restarts() {
    const TEST: &str =
        "sync_rounds_run_once_per_slot_are_redelivered_after_a_kill_and_resume_after_nats_restarts";
    let Some(pg) = accord_testkit::postgres::cluster(TEST) else {
        return;
    };
    let Some(mut nats) = accord_testkit::nats::server(TEST) else {
        return;
    };
    let db = pg.fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let (_b, section) = partner_b(dir);
    // A partner that never answers: the port is bound and listening (the
    // kernel completes the handshake) but nobody reads, so a round with
    // it hangs until the client's read timeout (60 s).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();

    let (config, _pw) = cluster_config(
        dir,
        &format!("postgres = \"{db}\"\nnats = \"{}\"", nats.url()),
    );
    let mut t = std::fs::read_to_string(&config).unwrap();
    t.push_str(&section);
    t.push_str(&format!(
        r#"
[[partners]]
name = "silent"
url = "http://127.0.0.1:{silent_port}/"
verifier_key = "{vk}"
api_root = "api1"
[partners.sync]
pull = ["default"]
interval_secs = 3600
"#,
        vk = keys(&config)["verifier_key"].as_str().unwrap(),
    ));
    std::fs::write(&config, t).unwrap();

    let mut procs: Vec<_> = (0..3).map(|_| start(&config, &[])).collect();

    // Rounds with b run, each slot's by one process only.
    let r = wait_rounds(dir, 40, "five of b's rounds done", |r| {
        r.iter()
            .filter(|x| x.what == "done" && x.task.starts_with("sync:b:"))
            .count()
            >= 5
    });
    let mut done: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for x in r.iter().filter(|x| x.task.starts_with("sync:b:")) {
        if x.what == "done" {
            done.entry(&x.task).or_default().push(&x.log);
        }
    }
    for (task, logs) in &done {
        assert_eq!(logs.len(), 1, "{task} done more than once: {logs:?}");
    }
    let started: Vec<&Round> = r
        .iter()
        .filter(|x| x.what == "started" && x.task.starts_with("sync:b:"))
        .collect();
    let mut per_task: BTreeMap<&str, usize> = BTreeMap::new();
    for x in &started {
        *per_task.entry(&x.task).or_default() += 1;
    }
    for (task, n) in &per_task {
        assert_eq!(*n, 1, "{task} started {n} times: {started:#?}");
    }
    // The hotline's deadlines: each minute's tick is run by one process
    // (all three published the slot they started in).
    let t = ticks(dir);
    assert!(!t.is_empty(), "no hotline tick ran");
    for (task, logs) in &t {
        assert!(task.starts_with("hotline:"), "{task}");
        assert_eq!(logs.len(), 1, "{task} ticked by {logs:?}");
    }
    // b's 30 objects, each stored once (the store's highest seq counts
    // stored versions; nothing else was stored).
    let st = wait_status(&config, &[], 30, "b's objects stored", |st| {
        st["seq_hwm"].as_u64() == Some(30)
    });
    // The scheduler and hotline leases are not used: that work is on NATS;
    // the signer lease is held.
    assert!(st["leases"]["scheduler"].is_null(), "{st:#}");
    assert!(st["leases"]["hotline"].is_null(), "{st:#}");
    assert!(st["leases"]["signer"].is_string(), "{st:#}");
    assert_eq!(st["nats"]["reachable"], true, "{st:#}");
    for kind in ["sync", "hotline"] {
        let q = &st["nats"]["queues"][kind];
        for k in ["pending", "in_flight", "redelivered", "waiting_workers"] {
            assert!(q[k].is_u64(), "{kind}.{k}: {st:#}");
        }
    }

    // The silent partner's round hangs in one process: the task is in
    // flight; that process is killed; the task is redelivered to another
    // process (after the queue's 30 s ack wait) and started there.
    let r = wait_rounds(dir, 20, "the silent partner's round started", |r| {
        r.iter()
            .any(|x| x.what == "started" && x.task.starts_with("sync:silent:"))
    });
    let first = r
        .iter()
        .find(|x| x.what == "started" && x.task.starts_with("sync:silent:"))
        .unwrap()
        .clone();
    assert_eq!(first.attempt, 1, "{first:?}");
    let st = status(&config, &[]);
    assert!(
        st["nats"]["queues"]["sync"]["in_flight"].as_u64().unwrap() >= 1,
        "{st:#}"
    );
    let (code, t) = status_text(&config);
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains("queue      sync"), "{t}");
    assert!(t.contains("queue      hotline"), "{t}");
    assert!(t.contains("(not used: this work is on NATS)"), "{t}");
    let port = first
        .log
        .trim_start_matches("serve-")
        .trim_end_matches(".log")
        .to_owned();
    let i = procs
        .iter()
        .position(|(_, base, _)| base.ends_with(&format!(":{port}")))
        .unwrap();
    let (mut victim, _, _) = procs.remove(i);
    victim.0.kill().unwrap(); // SIGKILL
    let _ = victim.0.wait();
    let r = wait_rounds(dir, 75, "the silent round redelivered", |r| {
        r.iter().any(|x| {
            x.what == "started" && x.task == first.task && x.log != first.log && x.attempt >= 2
        })
    });
    assert!(
        !r.iter().any(|x| x.task == first.task && x.what == "done"),
        "a round with a partner that never answers cannot be done"
    );
    let st = status(&config, &[]);
    assert!(
        st["nats"]["queues"]["sync"]["redelivered"]
            .as_u64()
            .unwrap()
            >= 1,
        "{st:#}"
    );

    // NATS stops: the status says it cannot be reached (exit 1).
    nats.stop(false);
    let st = status(&config, &[]);
    assert_eq!(st["nats"]["reachable"], false, "{st:#}");
    assert!(st["nats"]["error"].is_string(), "{st:#}");
    let (code, t) = status_text(&config);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("UNREACHABLE"), "{t}");
    // It starts again: the processes reconnect and b's rounds resume.
    let before = rounds(dir)
        .iter()
        .filter(|x| x.what == "done" && x.task.starts_with("sync:b:"))
        .map(|x| slot(&x.task))
        .max()
        .unwrap();
    nats.start();
    wait_rounds(dir, 40, "b's rounds resumed after NATS restarted", |r| {
        r.iter()
            .filter(|x| x.what == "done" && x.task.starts_with("sync:b:"))
            .filter(|x| slot(&x.task) > before + 1)
            .count()
            >= 2
    });
    // And a restart (stop and start on the same store) while they run.
    let before = rounds(dir)
        .iter()
        .filter(|x| x.what == "done" && x.task.starts_with("sync:b:"))
        .map(|x| slot(&x.task))
        .max()
        .unwrap();
    nats.restart();
    wait_rounds(dir, 40, "b's rounds resumed after NATS restarted", |r| {
        r.iter()
            .filter(|x| x.what == "done" && x.task.starts_with("sync:b:"))
            .filter(|x| slot(&x.task) > before + 1)
            .count()
            >= 2
    });
    let st = status(&config, &[]);
    assert_eq!(st["nats"]["reachable"], true, "{st:#}");
    // A round cut by the restart may be redone (at least once), but
    // nothing is stored twice.
    assert_eq!(status(&config, &[])["seq_hwm"], 30);
    drop(silent);
}
