//! `kill -9` in the middle of an ingest loses nothing acknowledged.
//!
//! The test re-runs its own binary as a child that ingests through the
//! group-commit writer and prints `ACK <round> <last index>` after each
//! acknowledged batch. The parent kills it with SIGKILL after a delay that
//! varies by round, several rounds on the same database, then checks the
//! database and that every acknowledged object is there exactly once.

mod common;

use accord_store::{SqliteStore, Store};
use common::{borrow, indicator};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_DIR: &str = "ACCORD_STORE_CRASH_CHILD_DIR";
const CHILD_ROUND: &str = "ACCORD_STORE_CRASH_CHILD_ROUND";
const BATCH: u64 = 250;
/// A child that is not killed stops after this many batches, so a broken
/// parent cannot leave it running.
const MAX_BATCHES: u64 = 2_000;
const COLL: &str = "crash";

fn object_index(round: u64, i: u64) -> u64 {
    round * 1_000_000_000 + i
}

/// The child: ingest until killed, two batches in flight.
fn child(dir: &str, round: u64) {
    let store = SqliteStore::open(std::path::Path::new(dir)).expect("child open");
    let w = store.writer().clone();
    let mut out = std::io::stdout().lock();
    let mut in_flight = std::collections::VecDeque::new();
    for b in 0..MAX_BATCHES {
        let objs: Vec<_> = (b * BATCH..(b + 1) * BATCH)
            .map(|i| indicator(object_index(round, i), "2024-01-01T00:00:00.000Z", COLL))
            .collect();
        in_flight.push_back((b, w.submit(&borrow(&objs)).expect("submit")));
        if in_flight.len() == 2 {
            let (done, p) = in_flight.pop_front().expect("in flight");
            p.wait().expect("acknowledged");
            writeln!(out, "ACK {round} {}", (done + 1) * BATCH - 1).expect("stdout");
            out.flush().expect("flush");
        }
    }
}

#[test]
fn acknowledged_objects_survive_kill_9() {
    if let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ROUND)) {
        child(&dir, round.parse().expect("round"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // acked[round] = how many objects of that round were acknowledged.
    let mut acked = Vec::new();
    for round in 0..6u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "acknowledged_objects_survive_kill_9",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("ACK ") {
                    let mut parts = rest.split(' ');
                    assert_eq!(parts.next(), Some(round.to_string().as_str()));
                    last = Some(parts.next().unwrap().parse::<u64>().unwrap());
                }
            }
            last
        });
        // Kill at a different point of the ingest each round: before the
        // first commit, during one, between two.
        std::thread::sleep(Duration::from_millis(30 + round * 83 % 400));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let last = reader.join().unwrap();
        acked.push(last.map_or(0, |l| l + 1));
    }
    eprintln!("acknowledged per round: {acked:?}");
    assert!(
        acked.iter().any(|&n| n > 0),
        "no round acknowledged anything: {acked:?}"
    );

    let store = SqliteStore::open(dir.path()).unwrap();
    store.integrity_check().unwrap();
    let mut total_acked = 0;
    for (round, &n) in acked.iter().enumerate() {
        for i in 0..n {
            let id = indicator(
                object_index(round as u64, i),
                "2024-01-01T00:00:00.000Z",
                COLL,
            )
            .id;
            let versions = store.get_versions(COLL, &id).unwrap();
            assert_eq!(
                versions.len(),
                1,
                "round {round} object {i} ({id}): {versions:?}"
            );
        }
        total_acked += n;
    }
    // Unacknowledged batches may or may not have landed, but only whole.
    let stored = store.count(Some(COLL)).unwrap();
    assert!(
        stored >= total_acked,
        "{stored} stored < {total_acked} acknowledged"
    );
    assert_eq!(stored % BATCH, 0, "a partial batch was stored: {stored}");
    // The ledger committed with the objects: one leaf per stored version,
    // and every stored hash recomputes from the leaves.
    assert_eq!(
        store.ledger_size().unwrap(),
        stored,
        "ledger and store disagree"
    );
    let check = store.ledger_check().unwrap();
    assert_eq!(check.size, stored);
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    let (size, root) = store.ledger_head().unwrap();
    assert_eq!(size, check.size);
    assert_eq!(root, check.root);
}
