//! Lookup timing without a harness: best of 15 passes over the probes.
//! `cargo run --release -p accord-matcher --example lookup_timing [N]`

use std::hint::black_box;
use std::time::Instant;

use accord_matcher::{IndexView, Key};

#[path = "../benches/common/mod.rs"]
mod common;
use common::*;

fn time<T>(
    name: &str,
    view: &IndexView<'_>,
    probes: &[T],
    f: impl Fn(&IndexView<'_>, &T, &mut Vec<u32>) -> usize,
) {
    if std::env::args()
        .nth(2)
        .is_some_and(|k| !name.starts_with(&k))
    {
        return;
    }
    let mut out = Vec::with_capacity(16);
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..std::env::var("PASSES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(15)
    {
        found = 0;
        let t = Instant::now();
        for p in probes {
            out.clear();
            found += usize::from(f(view, black_box(p), &mut out) > 0);
        }
        best = best.min(t.elapsed().as_nanos() as f64 / probes.len() as f64);
    }
    println!(
        "{name:<12} {best:>7.1} ns/lookup  ({found}/{} found)",
        probes.len()
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let items = generate(n, 42);
    let mut r = Rng(7);
    let mut keys: Vec<Key> = items.iter().map(|(_, k)| k.clone()).collect();
    for i in (1..keys.len()).rev() {
        keys.swap(i, r.below(i as u64 + 1) as usize);
    }
    let hit = probes_from(keys.into_iter(), &mut r);
    let miss = probes_from(generate(PROBES * 8, 9_999).into_iter().map(|x| x.1), &mut r);
    let ix = build(items);
    let view = ix.view();
    println!(
        "{n} indicators, {:.1} B/indicator",
        ix.stats().bytes_per_indicator()
    );
    time("ipv4 hit", &view, &hit.v4, |v, a, o| v.lookup_ip(*a, o));
    time("ipv4 miss", &view, &miss.v4, |v, a, o| v.lookup_ip(*a, o));
    time("ipv6 hit", &view, &hit.v6, |v, a, o| v.lookup_ip(*a, o));
    time("ipv6 miss", &view, &miss.v6, |v, a, o| v.lookup_ip(*a, o));
    time("domain hit", &view, &hit.domain, |v, d, o| {
        v.lookup_domain(d, o)
    });
    time("domain miss", &view, &miss.domain, |v, d, o| {
        v.lookup_domain(d, o)
    });
    time("url hit", &view, &hit.url, |v, u, o| v.lookup_url(u, o));
    time("url miss", &view, &miss.url, |v, u, o| v.lookup_url(u, o));
    time("hash hit", &view, &hit.hash, |v, h, o| v.lookup_hash(h, o));
    time("hash miss", &view, &miss.hash, |v, h, o| {
        v.lookup_hash(h, o)
    });
}
