//! Several `accord serve` processes over one PostgreSQL database (the
//! testkit's throwaway cluster; skipped with one line without PostgreSQL):
//! what one process stores the others serve; a process killed with
//! SIGKILL in the middle of a client's ingest loses nothing it
//! acknowledged, stores nothing twice, and leaves a gap-free log that
//! verifies (here, and by the independent verifier `ledger_verify.py`);
//! `accord cluster status` names the processes and lease holders, and the
//! hotline lease moves when its holder dies; a deadline ticked by three
//! processes at once escalates once.

mod cluster_common;
mod common;

use cluster_common::{
    COLLECTION, TAXII, cluster_config, fresh, http, indicators, post, start, status, wait_status,
};
use common::{ACCORD, Server, accord, free_port, p, text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Every object version of the collection as `base` serves it, paged.
fn all_objects(base: &str, pw: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut url =
            format!("{base}/api1/collections/{COLLECTION}/objects/?limit=1000&match[version]=all");
        if let Some(n) = &next {
            url.push_str(&format!("&next={n}"));
        }
        // A 503 (a connection broken by a database restart) is retried
        // after its Retry-After, as a client does.
        let mut tries = 0;
        let (code, body) = loop {
            let (code, body) = http("GET", &url, pw, None);
            tries += 1;
            if code != 503 || tries == 20 {
                break (code, body);
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        let env: Value = serde_json::from_slice(&body).unwrap();
        if let Some(objs) = env["objects"].as_array() {
            out.extend(objs.iter().cloned());
        }
        if env["more"].as_bool() == Some(true) {
            next = Some(env["next"].as_str().unwrap().to_owned());
        } else {
            return out;
        }
    }
}

/// Every entry of the log served at `base` (own account: full records),
/// with the checkpoint's size.
fn log_entries(base: &str, pw: &str) -> (u64, Vec<Vec<u8>>) {
    let (code, note) = http("GET", &format!("{base}/ledger/checkpoint"), pw, None);
    assert_eq!(code, 200);
    let note = String::from_utf8(note).unwrap();
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let mut entries = Vec::new();
    for k in 0..size.div_ceil(256) {
        let w = (size - 256 * k).min(256);
        let path = if w == 256 {
            format!("{k:03}")
        } else {
            format!("{k:03}.p/{w}")
        };
        let (code, b) = http(
            "GET",
            &format!("{base}/ledger/tile/entries/{path}"),
            pw,
            None,
        );
        assert_eq!(code, 200, "entry bundle {path}");
        let mut rest = &b[..];
        let mut n = 0;
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            entries.push(rest[2..2 + len].to_vec());
            rest = &rest[2 + len..];
            n += 1;
        }
        assert_eq!(n, w, "entry bundle {path} holds {n} entries, not {w}");
    }
    (size, entries)
}

#[test]
fn what_one_process_stores_the_others_serve_and_status_lists_them() {
    let Some((db, tmp)) = fresh("what_one_process_stores_the_others_serve_and_status_lists_them")
    else {
        return;
    };
    let dir = tmp.path();
    let (config, pw) = cluster_config(dir, &format!("postgres = \"{db}\""));
    // A partner (its own keys will do; nobody listens at its URL), so the
    // scheduler has a round to run every second.
    let k = common::keys(&config);
    let mut t = std::fs::read_to_string(&config).unwrap();
    t.push_str(&format!(
        "\n[[partners]]\nname = \"far\"\nurl = \"http://127.0.0.1:{}/\"\nverifier_key = \"{}\"\n[partners.sync]\npull = [\"{COLLECTION}\"]\ninterval_secs = 1\n",
        free_port(),
        k["verifier_key"].as_str().unwrap()
    ));
    std::fs::write(&config, t).unwrap();
    let mut procs: Vec<_> = (0..3).map(|_| start(&config, &[])).collect();
    let objs = indicators(dir, 5, 11);
    let (code, acked) = post(dir, &procs[0].1, &pw, &objs, "one");
    assert_eq!((code, acked.len()), (202, 5));
    for (_, base, _) in &procs[1..] {
        let got = all_objects(base, &pw);
        let ids: BTreeSet<&str> = got.iter().map(|o| o["id"].as_str().unwrap()).collect();
        let want: BTreeSet<&str> = acked.iter().map(String::as_str).collect();
        assert_eq!(ids, want, "{base}");
        // One object by id, byte for byte the stored one.
        let url = format!("{base}/api1/collections/{COLLECTION}/objects/{}/", acked[0]);
        let (code, body) = http("GET", &url, &pw, None);
        assert_eq!(code, 200);
        let env: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(env["objects"][0]["id"], acked[0].as_str());
    }
    // The status: three processes alive, each lease held by one of them,
    // the store's marks.
    let names: BTreeSet<String> = procs
        .iter()
        .map(|(_, base, _)| base.rsplit(':').next().unwrap().to_owned())
        .collect();
    let st = wait_status(&config, &[], 20, "every lease held", |st| {
        st["leases"]
            .as_object()
            .unwrap()
            .values()
            .all(Value::is_string)
    });
    let ps = st["processes"].as_array().unwrap();
    assert_eq!(ps.len(), 3, "{st:#}");
    for proc in ps {
        assert_eq!(proc["alive"], true, "{proc}");
        let name = proc["name"].as_str().unwrap();
        assert!(
            names.iter().any(|port| name.ends_with(&format!("-{port}"))),
            "{name} is HOSTNAME-PORT of one of {names:?}"
        );
        assert!(
            procs.iter().any(|(_, _, pid)| proc["pid"] == *pid),
            "{proc}"
        );
        assert!(
            proc["url"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
    }
    let holders: Vec<&str> = st["leases"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(holders.len(), 3);
    for h in holders {
        assert!(ps.iter().any(|p| p["name"] == h), "{h} is a process");
    }
    assert!(st["seq_hwm"].as_i64().unwrap() >= 5, "{st:#}");
    assert!(st["ledger_size"].as_i64().unwrap() >= 5, "{st:#}");
    assert_eq!(st["nats"]["note"], "not configured");
    assert!(!st["server"].as_str().unwrap().contains("password"));
    // Each process's search index catches up with what the others
    // stored, and reports it with its heartbeat: no lag left.
    let st = wait_status(&config, &[], 30, "every process's lag 0", |st| {
        let hwm = st["seq_hwm"].as_i64().unwrap();
        st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["followed_seq"].as_i64() == Some(hwm) && p["lag"] == 0)
    });
    assert!(st["seq_hwm"].as_i64().unwrap() >= 5, "{st:#}");
    // The text form names the same.
    let o = accord(&["cluster", "status", "--config", p(&config)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    for proc in ps {
        assert!(t.contains(proc["name"].as_str().unwrap()), "{t}");
    }
    assert!(t.contains("lease      hotline"), "{t}");

    // Only the scheduler lease's holder runs the partner's rounds; when it
    // dies, another process takes the lease and runs them.
    let logs = |dir: &Path| -> Vec<(String, String)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("serve-"))
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(e.path()).unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let syncing = |dir: &Path| -> Vec<String> {
        logs(dir)
            .into_iter()
            .filter(|(_, l)| l.contains("syncing with partners"))
            .map(|(n, _)| n)
            .collect()
    };
    let holder = st["leases"]["scheduler"].as_str().unwrap().to_owned();
    let port = holder.rsplit('-').next().unwrap().to_owned();
    assert_eq!(syncing(dir), [format!("serve-{port}.log")]);
    let i = procs
        .iter()
        .position(|(_, base, _)| base.ends_with(&format!(":{port}")))
        .unwrap();
    let (mut dead, _, _) = procs.remove(i);
    dead.0.kill().unwrap();
    let _ = dead.0.wait();
    let st = wait_status(&config, &[], 20, "the scheduler lease moved", |st| {
        st["leases"]["scheduler"].is_string() && st["leases"]["scheduler"] != holder.as_str()
    });
    let new_port = st["leases"]["scheduler"]
        .as_str()
        .unwrap()
        .rsplit('-')
        .next()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while syncing(dir).len() < 2 {
        assert!(Instant::now() < deadline, "the new holder never synced");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        syncing(dir),
        [format!("serve-{port}.log"), format!("serve-{new_port}.log")]
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
}

#[test]
fn sigkill_mid_ingest_loses_nothing_acknowledged_and_the_lease_moves() {
    let Some((db, tmp)) =
        fresh("sigkill_mid_ingest_loses_nothing_acknowledged_and_the_lease_moves")
    else {
        return;
    };
    let dir = tmp.path();
    // The connection string from the environment, as in production.
    let (config, pw) = cluster_config(dir, "postgres_env = \"ACCORD_TEST_CLUSTER_PG\"");
    let env = [("ACCORD_TEST_CLUSTER_PG", db.as_str())];
    let mut procs: Vec<Option<(Server, String, u32)>> =
        (0..3).map(|_| Some(start(&config, &env))).collect();
    let bases: Vec<String> = procs
        .iter()
        .map(|p| p.as_ref().unwrap().1.clone())
        .collect();
    // The hotline lease's holder is the process to kill.
    let st = wait_status(&config, &env, 20, "a hotline lease holder", |st| {
        st["leases"]["hotline"].is_string()
    });
    let holder = st["leases"]["hotline"].as_str().unwrap().to_owned();
    let victim_pid = st["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == holder.as_str())
        .unwrap()["pid"]
        .as_u64()
        .unwrap();
    let victim = procs
        .iter()
        .position(|p| u64::from(p.as_ref().unwrap().2) == victim_pid)
        .unwrap();

    // A client posts batches round-robin to the three processes (three
    // at a time); the victim is killed with SIGKILL once a third of the
    // batches are acknowledged, while others are in flight.
    let objs = indicators(dir, 3000, 23);
    let batches: Vec<&[Value]> = objs.chunks(20).collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let after_kill = std::sync::atomic::AtomicUsize::new(0);
    let killed = std::sync::atomic::AtomicBool::new(false);
    let (acked, refused): (Vec<String>, usize) = std::thread::scope(|s| {
        let killer = s.spawn(|| {
            while done.load(std::sync::atomic::Ordering::SeqCst) < batches.len() / 3 {
                std::thread::sleep(Duration::from_millis(5));
            }
            let o = Command::new("kill")
                .args(["-KILL", &victim_pid.to_string()])
                .output()
                .unwrap();
            assert!(o.status.success(), "kill -KILL {victim_pid}");
            killed.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let (bases, batches, pw) = (&bases, &batches, &pw);
                let (done, after_kill, killed) = (&done, &after_kill, &killed);
                s.spawn(move || {
                    let mut acked = Vec::new();
                    let mut refused = 0;
                    for (i, b) in batches.iter().enumerate().skip(w).step_by(3) {
                        // Round robin over processes; a POST not answered
                        // is retried on the next process (as a client would).
                        for t in 0..3 {
                            let base = &bases[(i + t) % 3];
                            let (code, ids) = post(dir, base, pw, b, &format!("{w}-{i}-{t}"));
                            if code == 202 {
                                assert_eq!(ids.len(), b.len(), "batch {i}");
                                acked.extend(ids);
                                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                if killed.load(std::sync::atomic::Ordering::SeqCst) {
                                    after_kill.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                }
                                break;
                            }
                            // Not answered (the killed process) or 503.
                            assert!(matches!(code, 0 | 503), "batch {i}: {code}");
                            refused += 1;
                        }
                    }
                    (acked, refused)
                })
            })
            .collect();
        let mut all = (Vec::new(), 0);
        for w in workers {
            let (a, r) = w.join().unwrap();
            all.0.extend(a);
            all.1 += r;
        }
        killer.join().unwrap();
        all
    });
    // The kill fell in the middle: later batches met the dead process and
    // went elsewhere, and many were acknowledged after it.
    assert!(refused > 0, "no POST met the killed process");
    assert!(
        after_kill.load(std::sync::atomic::Ordering::SeqCst) > batches.len() / 3,
        "the kill was not mid-ingest"
    );
    drop(procs[victim].take());
    assert!(!acked.is_empty());
    let survivor = &bases[(victim + 1) % 3];

    // Every acknowledged object is stored, each version once.
    let stored = all_objects(survivor, &pw);
    let mut versions: BTreeMap<String, usize> = BTreeMap::new();
    for o in &stored {
        *versions
            .entry(o["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for (id, n) in &versions {
        assert_eq!(*n, 1, "{id} stored {n} times");
    }
    for id in &acked {
        assert!(versions.contains_key(id), "acknowledged {id} was lost");
    }
    // At most the batches in flight at the kill are stored without an
    // acknowledgement.
    assert!(stored.len() <= objs.len());

    // The log: gap-free (every index up to the signed size served by the
    // entry bundles), one `in`/`stored` record per stored object, and the
    // independent verifier agrees (signature, root, proofs, bundles).
    let (size, entries) = log_entries(survivor, &pw);
    assert_eq!(entries.len() as u64, size);
    let mut in_stored: BTreeMap<String, usize> = BTreeMap::new();
    let mut jsonl = String::new();
    for (i, e) in entries.iter().enumerate() {
        let rec: Value = serde_json::from_slice(e).unwrap();
        if rec["direction"] == "in" && rec["decision"]["action"] == "stored" {
            *in_stored
                .entry(rec["object_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        jsonl.push_str(&serde_json::json!({"index": i, "record": rec}).to_string());
        jsonl.push('\n');
    }
    let unrecorded = versions
        .keys()
        .filter(|id| !in_stored.contains_key(*id))
        .count();
    let unstored = in_stored
        .keys()
        .filter(|id| !versions.contains_key(*id))
        .count();
    assert_eq!(
        (unrecorded, unstored),
        (0, 0),
        "stored objects without an `in` record, `in` records of objects not stored"
    );
    let twice: Vec<_> = in_stored.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "recorded more than once: {twice:?}");
    let st = status(&config, &env);
    assert_eq!(st["ledger_size"].as_u64().unwrap(), size, "{st:#}");
    assert_eq!(
        st["seq_hwm"].as_u64().unwrap(),
        stored.len() as u64,
        "{st:#}"
    );
    let keys = common::keys(&config);
    let file = dir.join("entries.jsonl");
    std::fs::write(&file, jsonl).unwrap();
    let python = accord_testkit::python("cryptography");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ledger_verify.py");
    let o = Command::new(&python)
        .arg(&script)
        .args([
            survivor.as_str(),
            "admin",
            &pw,
            keys["verifier_key"].as_str().unwrap(),
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // And `accord ledger verify` on the cluster's database agrees: every
    // hash recomputed, every record held to its object.
    let mut c = Command::new(ACCORD);
    c.args(["ledger", "verify", "--config", p(&config)]);
    c.env("ACCORD_TEST_CLUSTER_PG", &db);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("ledger OK: {size} leaves recomputed")),
        "{}",
        text(&o)
    );

    // The hotline lease moved to a live process; the dead one is shown
    // not alive once its heartbeat is 10 s old.
    let st = wait_status(
        &config,
        &env,
        30,
        "the lease moved, the victim dead",
        |st| {
            let h = &st["leases"]["hotline"];
            h.is_string()
                && *h != holder.as_str()
                && st["processes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == holder.as_str() && p["alive"] == false)
        },
    );
    let new_holder = st["leases"]["hotline"].as_str().unwrap();
    assert!(
        st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == new_holder && p["alive"] == true),
        "{st:#}"
    );
    // Exit status 1: a registered process is not alive.
    let mut c = Command::new(ACCORD);
    c.args(["cluster", "status", "--config", p(&config)]);
    c.env("ACCORD_TEST_CLUSTER_PG", &db);
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(" NO "), "{}", text(&o));
}

/// A lease holder stopped with SIGSTOP keeps its connections (and so its
/// advisory locks) open but stops beating: once its heartbeat is 10 s old
/// another process ends its lease session and takes the lease, while the
/// others go on serving and storing. Resumed, it rejoins: beating again,
/// without the lease, serving everything stored while it was stopped.
#[test]
fn a_stopped_lease_holder_loses_its_lease_and_rejoins_when_resumed() {
    let name = "a_stopped_lease_holder_loses_its_lease_and_rejoins_when_resumed";
    let Some((db, tmp)) = fresh(name) else {
        return;
    };
    let dir = tmp.path();
    let (config, pw) = cluster_config(dir, "postgres_env = \"ACCORD_TEST_CLUSTER_PG\"");
    let env = [("ACCORD_TEST_CLUSTER_PG", db.as_str())];
    let procs: Vec<(Server, String, u32)> = (0..3).map(|_| start(&config, &env)).collect();
    let st = wait_status(&config, &env, 20, "a hotline lease holder", |st| {
        st["leases"]["hotline"].is_string()
    });
    let holder = st["leases"]["hotline"].as_str().unwrap().to_owned();
    let pid_of = |name: &str, st: &Value| {
        st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["pid"]
            .as_u64()
            .unwrap()
    };
    let stopped_pid = pid_of(&holder, &st);
    let stopped = procs
        .iter()
        .position(|p| u64::from(p.2) == stopped_pid)
        .unwrap();
    let signal = |sig: &str| {
        let o = Command::new("kill")
            .args([sig, &stopped_pid.to_string()])
            .output()
            .unwrap();
        assert!(o.status.success(), "kill {sig} {stopped_pid}");
    };
    signal("-STOP");
    let before = indicators(dir, 40, 31);
    let (code, acked) = post(
        dir,
        &procs[(stopped + 1) % 3].1,
        &pw,
        &before,
        "while-stopped",
    );
    assert_eq!((code, acked.len()), (202, 40));
    let st = wait_status(
        &config,
        &env,
        40,
        "the lease taken from the stopped holder",
        |st| {
            let h = &st["leases"]["hotline"];
            h.is_string() && *h != holder.as_str()
        },
    );
    assert!(
        st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == holder.as_str() && p["alive"] == false),
        "{st:#}"
    );
    let (code, acked) = post(
        dir,
        &procs[(stopped + 2) % 3].1,
        &pw,
        &indicators(dir, 10, 32),
        "still",
    );
    assert_eq!((code, acked.len()), (202, 10));
    signal("-CONT");
    // Rejoined: beating, without the lease, serving all 50 objects.
    wait_status(&config, &env, 20, "the resumed process alive again", |st| {
        st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == holder.as_str() && p["alive"] == true)
            && st["leases"]["hotline"] != holder.as_str()
    });
    assert_eq!(all_objects(&procs[stopped].1, &pw).len(), 50);
}

/// A hotline deadline passed, ticked by three processes at once over the
/// one database (as when a lease moves while its old holder still ticks,
/// or two slots' tasks run together): the escalation is recorded once,
/// since every ticker writes the same note (same id and bytes) and the
/// store keeps one version of it.
#[test]
fn a_deadline_ticked_by_three_processes_at_once_escalates_once() {
    let name = "a_deadline_ticked_by_three_processes_at_once_escalates_once";
    let Some((db, tmp)) = fresh(name) else {
        return;
    };
    let dir = tmp.path();
    let (config, _) = cluster_config(dir, "postgres_env = \"ACCORD_TEST_CLUSTER_PG\"");
    let key = {
        let o = accord(&["ledger", "key", "--config", p(&config)]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_owned()
    };
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&format!(
        "\n[[partners]]\nname = \"b\"\nurl = \"http://127.0.0.1:9/\"\nverifier_key = \"{key}\"\n\
         identity = \"identity--5b1a0d3e-8c2f-4d6a-9e7b-1f2c3d4e5f60\"\n"
    ));
    std::fs::write(&config, toml).unwrap();
    let hotline = |args: &[&str]| {
        let mut c = Command::new(ACCORD);
        c.arg("hotline")
            .args(args)
            .args(["--config", p(&config)])
            .env("ACCORD_TEST_CLUSTER_PG", &db);
        c
    };
    let o = hotline(&[
        "open",
        "--partner",
        "b",
        "--severity",
        "critical",
        "--title",
        "Grid down",
    ])
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let cases = || -> Vec<Value> {
        let o = hotline(&["list", "--json"]).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let listed = cases();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let ack_by = accord_stix::Timestamp::parse(listed[0]["ack_by"].as_str().unwrap()).unwrap();
    let after = accord_stix::Timestamp::from_unix(ack_by.unix_seconds + 60, 0).to_millis_string();
    let tickers: Vec<_> = (0..3)
        .map(|_| {
            hotline(&["tick", "--at", &after, "--json"])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut t in tickers {
        assert!(t.wait().unwrap().success());
    }
    let listed = cases();
    assert_eq!(listed[0]["escalation"], 1, "{listed:?}");
    let o = hotline(&["show", "--json", &id]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let show: Value = serde_json::from_slice(&o.stdout).unwrap();
    let escalations = show["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "escalate")
        .count();
    assert_eq!(escalations, 1, "{show:#}");
}

#[test]
fn touches_of_one_facility_ingested_by_three_processes_at_once_open_one_case() {
    let name = "touches_of_one_facility_ingested_by_three_processes_at_once_open_one_case";
    let Some((db, tmp)) = fresh(name) else {
        return;
    };
    let dir = tmp.path();
    let (config, _) = cluster_config(dir, &format!("postgres = \"{db}\""));
    cluster_common::add_grid_facility(&config);
    let ind = |n: usize| {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--5d1c7e2a-3b4c-4d5e-8f6a-{n:012x}"),
            "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
            "name": "C2", "pattern_type": "stix",
            "pattern": format!("[ipv4-addr:value = '198.51.100.{}']", n % 250),
            "valid_from": "2026-12-01T10:00:00Z"
        })
    };
    // Rounds of three `accord ingest` processes at once, each storing
    // one touch of Grid into the cluster's store and escalating it.
    let rounds = 4;
    for round in 0..rounds {
        let children: Vec<_> = (0..3)
            .map(|i| {
                let n = round * 3 + i;
                let file = dir.join(format!("g{n}.jsonl"));
                std::fs::write(&file, format!("{}\n", ind(n))).unwrap();
                Command::new(ACCORD)
                    .args(["ingest", "--no-progress", "--config", p(&config)])
                    .args(["--collection", "share"])
                    .arg(&file)
                    .env_remove("ACCORD_DATA")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", text(&o));
        }
    }
    let o = accord(&["hotline", "list", "--json", "--config", p(&config)]);
    assert!(o.status.success(), "{}", text(&o));
    let grid: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|c| c["facility"] == "Grid")
        .collect();
    assert_eq!(grid.len(), 1, "one case for the facility: {grid:#?}");
    let case = grid[0]["id"].as_str().unwrap();
    let o = accord(&["hotline", "show", case, "--json", "--config", p(&config)]);
    assert!(o.status.success(), "{}", text(&o));
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    let evidence: BTreeSet<String> = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["attachments"].as_array().cloned().unwrap_or_default())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        evidence.len(),
        rounds * 3,
        "every touch attached once: {shown:#}"
    );
}

/// `curl` through the dashboard with the cookie jar `jar`: (status, body).
fn browse(jar: &Path, url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let mut c = Command::new("curl");
    c.args(["-s", "-g", "-c", p(jar), "-b", p(jar)]).args([
        "-w",
        "\n%{http_code}",
        "--max-time",
        "30",
    ]);
    for (k, v) in form {
        c.arg("--data-urlencode").arg(format!("{k}={v}"));
    }
    let o = c.arg(url).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", &out));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// The value of the first hidden `csrf` field of a page.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect(page) + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_owned()
}

#[test]
fn a_dashboard_session_started_on_one_process_is_served_and_ended_by_another() {
    let name = "a_dashboard_session_started_on_one_process_is_served_and_ended_by_another";
    let Some((db, tmp)) = fresh(name) else {
        return;
    };
    let dir = tmp.path();
    let (config, pw) = cluster_config(dir, &format!("postgres = \"{db}\""));
    let (_a, a, _) = start(&config, &[]);
    let (_b, b, _) = start(&config, &[]);
    let jar = dir.join("jar.txt");
    // Sign in on process a.
    let (code, login) = browse(&jar, &format!("{a}/"), &[]);
    assert_eq!(code, 200, "{login}");
    let (code, body) = browse(
        &jar,
        &format!("{a}/login"),
        &[
            ("csrf", &csrf(&login)),
            ("user", "admin"),
            ("password", &pw),
        ],
    );
    assert_eq!(code, 303, "{body}");
    let signed_in = std::fs::read_to_string(&jar).unwrap();
    assert!(signed_in.contains("accord_session"), "{signed_in}");
    let (code, home_a) = browse(&jar, &format!("{a}/"), &[]);
    assert_eq!(code, 200);
    assert!(
        home_a.contains("action=\"/logout\""),
        "a did not see the session: {home_a}"
    );
    // Process b serves that session (its pages, its CSRF token).
    let (code, home) = browse(&jar, &format!("{b}/"), &[]);
    assert_eq!(code, 200);
    assert!(
        home.contains("action=\"/logout\""),
        "b did not see the session: {home}"
    );
    let copy = dir.join("copy.txt");
    std::fs::copy(&jar, &copy).unwrap();
    // A wrong CSRF token is refused on b; the right one signs out there.
    let (code, _) = browse(&jar, &format!("{b}/logout"), &[("csrf", "guess")]);
    assert_eq!(code, 403);
    let (code, _) = browse(&jar, &format!("{b}/logout"), &[("csrf", &csrf(&home))]);
    assert_eq!(code, 303);
    // The copied cookie no longer works on a either.
    let (code, page) = browse(&copy, &format!("{a}/"), &[]);
    assert_eq!(code, 200);
    assert!(
        !page.contains("action=\"/logout\"") && page.contains("name=\"password\""),
        "a still serves the ended session: {page}"
    );
}

#[test]
fn status_without_a_cluster_or_its_variable_says_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (config, _) = cluster_config(dir, "postgres_env = \"ACCORD_TEST_CLUSTER_UNSET\"");
    let o = accord(&["cluster", "status", "--config", p(&config)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("$ACCORD_TEST_CLUSTER_UNSET"),
        "{}",
        text(&o)
    );
    let o = accord(&["cluster", "status", "--config", p(&dir.join("init.toml"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("has no [cluster] section"),
        "{}",
        text(&o)
    );
    let o = accord(&["cluster", "status", "--help"]);
    assert!(text(&o).contains("heartbeat"), "{}", text(&o));
}

/// A `BASE_PORT` whose three node ports, PostgreSQL's (+10) and NATS's
/// (+11) are free.
fn example_base_port() -> u16 {
    for _ in 0..200 {
        let base = free_port();
        if base > 65000 {
            continue;
        }
        let free = [1, 2, 10, 11]
            .iter()
            .all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no free ports for the example");
}

/// `examples/cluster/NAME DIR` with this build's binary.
fn example(name: &str, dir: &Path, base: u16) -> std::process::Output {
    Command::new("bash")
        .arg(accord_testkit::repo(&format!("examples/cluster/{name}")))
        .arg(dir)
        .env("ACCORD", ACCORD)
        .env("BASE_PORT", base.to_string())
        .env_remove("ACCORD_POSTGRES")
        .output()
        .unwrap()
}

/// Runs `down.sh` however the test ends.
struct ExampleDown<'a>(&'a Path, u16);
impl Drop for ExampleDown<'_> {
    fn drop(&mut self) {
        let _ = example("down.sh", self.0, self.1);
    }
}

#[test]
fn the_example_cluster_comes_up_serves_and_goes_down() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if accord_testkit::postgres::pg_bin_dir().is_none() || !root {
        eprintln!(
            "skip: the_example_cluster_comes_up_serves_and_goes_down needs root and Debian's postgresql"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = example_base_port();
    let up = example("up.sh", dir, base);
    let _down = ExampleDown(dir, base);
    assert!(up.status.success(), "{}", text(&up));
    let cl: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cluster.json")).unwrap()).unwrap();
    let keys: Vec<&str> = cl.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 5, "{cl}");
    let nodes: Vec<&str> = cl["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let want: Vec<String> = (0..3)
        .map(|i| format!("http://127.0.0.1:{}", base + i))
        .collect();
    assert_eq!(nodes, want);
    assert_eq!(cl["pids"].as_array().unwrap().len(), 3);
    assert_eq!(cl["admin"]["user"], "admin");
    let pw = cl["admin"]["password"].as_str().unwrap();
    assert_eq!(cl["collection"], COLLECTION);
    let config = PathBuf::from(cl["config"].as_str().unwrap());
    // No password in the configuration.
    let pg_pw = std::fs::read_to_string(dir.join("secrets/postgres.password")).unwrap();
    assert!(
        !std::fs::read_to_string(&config)
            .unwrap()
            .contains(pg_pw.trim())
    );
    // A POST to the first is served by the third.
    let objs = indicators(dir, 3, 5);
    let (code, acked) = post(dir, nodes[0], pw, &objs, "example");
    assert_eq!((code, acked.len()), (202, 3));
    assert_eq!(all_objects(nodes[2], pw).len(), 3);
    // The status, with the connection string from the secrets file.
    let env_line = std::fs::read_to_string(dir.join("secrets/postgres.env")).unwrap();
    let conn = env_line
        .trim()
        .strip_prefix("export ACCORD_POSTGRES=\"")
        .and_then(|s| s.strip_suffix('"'))
        .unwrap()
        .to_owned();
    let env = [("ACCORD_POSTGRES", conn.as_str())];
    let st = wait_status(&config, &env, 20, "three processes alive", |st| {
        st["processes"].as_array().unwrap().len() == 3
            && st["processes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["alive"] == true)
    });
    assert!(
        st["server"].as_str().unwrap().contains("password=***"),
        "{st}"
    );

    // PostgreSQL stops: reads and writes are answered 503 with
    // `Retry-After: 1`, never a wrong answer; it restarts: they succeed
    // again, and the leases are held again.
    let bin = accord_testkit::postgres::pg_bin_dir().unwrap();
    let pg_ctl = |args: &[&str]| {
        let o = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("pg_ctl"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "pg_ctl {args:?}: {}", text(&o));
    };
    let data = dir.join("pg/data");
    pg_ctl(&["stop", "-D", p(&data), "-m", "fast", "-w"]);
    let url = format!(
        "{}/api1/collections/{COLLECTION}/objects/?limit=5",
        nodes[1]
    );
    let o = Command::new("curl")
        .args([
            "-s",
            "-g",
            "-D",
            "-",
            "-o",
            "/dev/null",
            "-u",
            &format!("admin:{pw}"),
        ])
        .args(["-H", &format!("Accept: {TAXII}")])
        .arg(&url)
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&o.stdout).to_lowercase();
    assert!(
        head.starts_with("http/1.1 503") && head.contains("retry-after: 1"),
        "{head}"
    );
    let more = indicators(dir, 2, 6);
    let (code, acked) = post(dir, nodes[2], pw, &more, "down");
    assert_eq!((code, acked.len()), (503, 0));
    let opts = format!(
        "-k {} -p {} -c listen_addresses=127.0.0.1 -c max_connections=300",
        p(&dir.join("pg")),
        base + 10
    );
    pg_ctl(&[
        "start",
        "-w",
        "-D",
        p(&data),
        "-l",
        p(&dir.join("pg/server.log")),
        "-o",
        &opts,
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, acked) = post(dir, nodes[2], pw, &more, "up");
        if code == 202 {
            assert_eq!(acked.len(), 2);
            break;
        }
        assert_eq!(code, 503, "only 503 while reconnecting");
        assert!(
            Instant::now() < deadline,
            "no write within 20 s of the restart"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The processes' pooled read connections were broken by the restart:
    // a read that meets one connects again and is tried once more, so the
    // first request after the restart is answered (only requests in
    // flight while the database was away saw 503).
    for node in &nodes {
        let url = format!("{node}/api1/collections/{COLLECTION}/objects/?limit=5");
        for _ in 0..3 {
            let (code, _) = http("GET", &url, pw, None);
            assert_eq!(code, 200, "{node}: a read after the restart");
        }
    }
    assert_eq!(all_objects(nodes[0], pw).len(), 5);
    // With NATS (up.sh starts it when installed) the rounds and deadlines
    // are work on its queue, and only the signer is a lease.
    wait_status(&config, &env, 20, "leases held again", |st| {
        let on_nats = st["nats"]["url"].is_string();
        st["leases"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(role, _)| !on_nats || *role == "signer")
            .all(|(_, h)| h.is_string())
    });
    if accord_testkit::nats::nats_server_bin().is_some() {
        let st = status(&config, &env);
        assert_eq!(st["nats"]["reachable"], true, "{st:#}");
        assert!(st["leases"]["scheduler"].is_null(), "{st:#}");
    }
    let down = example("down.sh", dir, base);
    assert!(down.status.success(), "{}", text(&down));
    for pid in cl["pids"].as_array().unwrap() {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .is_ok_and(|s| s.contains("State:\tZ")),
            "process {pid} still runs after down.sh"
        );
    }
}
