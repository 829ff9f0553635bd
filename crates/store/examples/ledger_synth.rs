//! Builds a large synthetic log for the proof benchmark: `N` short leaves
//! (`{"synthetic":i}`, not exchange records) appended through the store's
//! own append path in transactions of 1,000,000, into a fresh data dir.
//!
//! `cargo run --release -p accord-store --features bench-fixtures --example
//! ledger_synth -- DATA_DIR 100000000`, then `ledger_proof_timing DATA_DIR`.
//! 10⁸ leaves take ~10 GB and a few minutes here; real records (~350 bytes
//! each) would need ~40 GB, more than the benchmark machine's disk. Proofs
//! read only stored hashes, whose layout does not depend on leaf length.
use accord_store::SqliteStore;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next()) else {
        eprintln!("usage: ledger_synth DATA_DIR LEAVES");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("LEAVES must be a number");
    let store = SqliteStore::open(std::path::Path::new(&dir)).expect("open the store");
    let t = Instant::now();
    let mut size = store.ledger_size().expect("size");
    while size < n {
        let batch: Vec<Vec<u8>> = (size..n.min(size + 1_000_000))
            .map(|i| format!("{{\"synthetic\":{i}}}").into_bytes())
            .collect();
        size = store.ledger_append_synthetic(&batch).expect("append");
        eprintln!(
            "{size} leaves, {:.0} s, {:.0} leaves/s",
            t.elapsed().as_secs_f64(),
            size as f64 / t.elapsed().as_secs_f64()
        );
    }
}
