//! Inclusion and consistency proof latency through the store, each proof
//! checked against the root:
//! `cargo run --release -p accord-store --example ledger_proof_timing -- DATA_DIR [N]`.
use accord_store::SqliteStore;
use accord_store::accord_ledger::{verify_consistency, verify_inclusion};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: ledger_proof_timing DATA_DIR [N]");
    let n: u64 = args.next().map_or(10_000, |s| s.parse().expect("N"));
    let store = SqliteStore::open(std::path::Path::new(&dir)).expect("open");
    let (size, root) = store.ledger_head().expect("head");
    assert!(size > 1, "empty log");
    let pick = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % size;
    // Every proof is checked, outside the timed loops.
    let mut proofs = Vec::with_capacity(n as usize);
    let t = Instant::now();
    for i in 0..n {
        proofs.push(store.ledger_inclusion_proof(pick(i), size).expect("proof"));
    }
    let incl = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    for (i, (leaf, proof)) in proofs.iter().enumerate() {
        verify_inclusion(leaf, pick(i as u64), size, proof, &root).expect("inclusion proof");
    }
    let firsts: Vec<u64> = (0..n).map(|i| 1 + pick(i) % (size - 1)).collect();
    let mut proofs = Vec::with_capacity(n as usize);
    let t = Instant::now();
    for &first in &firsts {
        proofs.push(store.ledger_consistency_proof(first, size).expect("proof"));
    }
    let cons = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    for (&first, proof) in firsts.iter().zip(&proofs).take(200) {
        let old = store.ledger_root(first).expect("old root");
        verify_consistency(first, size, &old, &root, proof).expect("consistency proof");
    }
    println!(
        "size {size}: inclusion proof {incl:.1} µs, consistency proof {cons:.1} µs (mean of {n}; every inclusion proof and 200 consistency proofs verified)"
    );
}
