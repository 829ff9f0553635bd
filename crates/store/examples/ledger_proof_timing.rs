//! Inclusion and consistency proof latency through the store:
//! `cargo run --release -p accord-store --example ledger_proof_timing -- DATA_DIR`.
use accord_store::SqliteStore;
use std::time::Instant;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: ledger_proof_timing DATA_DIR");
    let store = SqliteStore::open(std::path::Path::new(&dir)).expect("open");
    let size = store.ledger_size().expect("size");
    assert!(size > 1, "empty log");
    let n = 10_000u64;
    let t = Instant::now();
    for i in 0..n {
        let idx = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % size;
        store.ledger_inclusion_proof(idx, size).expect("proof");
    }
    let incl = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = Instant::now();
    for i in 0..n {
        let first = 1 + i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % (size - 1);
        store.ledger_consistency_proof(first, size).expect("proof");
    }
    let cons = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!(
        "size {size}: inclusion proof {incl:.1} µs, consistency proof {cons:.1} µs (mean of {n})"
    );
}
