//! Bulk ingest throughput of the SQLite store: durable `put_batch` of
//! ~600-byte indicators into a growing database.
//!
//! `cargo bench -p accord-store --bench ingest`
//!
//! Ids are spread like random UUIDs, the worst case for the id index.
//!
//! Each iteration stores a batch of new objects (fresh ids), so the
//! database grows over the run as it does during a real ingest; every
//! batch is acknowledged only after its commit is fsynced.

#[path = "../tests/common/mod.rs"]
mod common;

use accord_store::{PutOutcome, SqliteStore, Writer};
use common::{Obj, borrow, indicator};
use divan::Bencher;
use divan::counter::ItemsCount;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

fn main() {
    divan::main();
}

/// One database for the whole run, in a directory removed at exit.
static WRITER: LazyLock<(tempfile::TempDir, Writer)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let writer = store.writer().clone();
    (dir, writer)
});

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn fresh(n: usize) -> Vec<Obj> {
    let start = NEXT_ID.fetch_add(n as u64, Ordering::Relaxed);
    (start..start + n as u64)
        // Scrambled, so ids are spread like random UUIDs, not sequential.
        .map(|i| {
            indicator(
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                "2024-02-01T00:00:00.000Z",
                "bench",
            )
        })
        .collect()
}

fn check(out: &[PutOutcome]) {
    assert!(out.iter().all(|o| matches!(o, PutOutcome::Stored { .. })));
}

/// One submitter, one batch at a time.
#[divan::bench(args = [1_000, 5_000, 20_000], sample_count = 20, sample_size = 1)]
fn put_batch(bencher: Bencher, batch: usize) {
    let writer = &WRITER.1;
    bencher
        .counter(ItemsCount::new(batch))
        .with_inputs(|| fresh(batch))
        .bench_local_values(|objs| check(&writer.put_batch(&borrow(&objs)).expect("put")));
}

/// One submitter keeping several batches of 5,000 in flight, as
/// `accord ingest` does: the next batch is hashed and queued while the
/// writer commits the previous one.
#[divan::bench(args = [2, 4], sample_count = 20, sample_size = 1)]
fn pipelined(bencher: Bencher, in_flight: usize) {
    const BATCH: usize = 5_000;
    let writer = &WRITER.1;
    bencher
        .counter(ItemsCount::new(BATCH * in_flight))
        .with_inputs(|| (0..in_flight).map(|_| fresh(BATCH)).collect::<Vec<_>>())
        .bench_local_values(|batches| {
            let pending: Vec<_> = batches
                .iter()
                .map(|b| writer.submit(&borrow(b)).expect("submit"))
                .collect();
            for p in pending {
                check(&p.wait().expect("wait"));
            }
        });
}
