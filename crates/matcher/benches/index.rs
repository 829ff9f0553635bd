//! Index benchmarks over a seeded mix of indicators (see `common/mod.rs`:
//! 30% IPv4, 10% IPv6, 5% CIDRs, 25% domains, 15% URLs, 15% file hashes).
//!
//! `cargo bench -p accord-matcher` prints the size (bytes per indicator, by
//! section) first, then build time and lookup times for hits and misses of
//! every kind at 1,000 and 1,000,000 indicators.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Instant;

use accord_matcher::{IndexView, Key};
use divan::Bencher;

mod common;
use common::*;

const SIZES: [usize; 2] = [1_000, 1_000_000];

struct Fixture {
    view: IndexView<'static>,
    hit: Probes,
    miss: Probes,
}

fn fixture(n: usize) -> &'static Fixture {
    static F: [OnceLock<Fixture>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = SIZES
        .iter()
        .position(|&s| s == n)
        .expect("a benchmarked size");
    F[slot].get_or_init(|| {
        let items = generate(n, 42);
        let mut r = Rng(7);
        // Hits: keys of the index, in a shuffled order.
        let mut keys: Vec<Key> = items.iter().map(|(_, k)| k.clone()).collect();
        for i in (1..keys.len()).rev() {
            keys.swap(i, r.below(i as u64 + 1) as usize);
        }
        let hit = probes_from(keys.into_iter(), &mut r);
        // Misses: fresh values of the same shapes.
        let miss = probes_from(generate(PROBES * 8, 9_999).into_iter().map(|x| x.1), &mut r);
        let bytes: &'static [u8] = Box::leak(build(items).into_bytes().into_boxed_slice());
        Fixture {
            view: IndexView::from_bytes(bytes).unwrap(),
            hit,
            miss,
        }
    })
}

fn run<T>(
    bencher: Bencher,
    probes: &'static [T],
    f: impl Fn(&IndexView<'static>, &T, &mut Vec<u32>) -> usize,
    n: usize,
) {
    let fx = fixture(n);
    assert!(!probes.is_empty());
    let mask = if probes.len().is_power_of_two() {
        probes.len() - 1
    } else {
        probes.len().next_power_of_two() / 2 - 1
    };
    let mut i = 0usize;
    let mut out = Vec::with_capacity(16);
    bencher.bench_local(move || {
        i = (i + 1) & mask;
        out.clear();
        f(&fx.view, black_box(&probes[i]), &mut out)
    });
}

macro_rules! lookup_bench {
    ($name:ident, $set:ident, $field:ident, $f:expr) => {
        #[divan::bench(args = SIZES)]
        fn $name(bencher: Bencher, n: usize) {
            let fx = fixture(n);
            run(bencher, &fx.$set.$field, $f, n);
        }
    };
}

lookup_bench!(ipv4_hit, hit, v4, |v, a, o| v.lookup_ip(*a, o));
lookup_bench!(ipv4_miss, miss, v4, |v, a, o| v.lookup_ip(*a, o));
lookup_bench!(ipv6_hit, hit, v6, |v, a, o| v.lookup_ip(*a, o));
lookup_bench!(ipv6_miss, miss, v6, |v, a, o| v.lookup_ip(*a, o));
lookup_bench!(domain_hit, hit, domain, |v, d, o| v.lookup_domain(d, o));
lookup_bench!(domain_miss, miss, domain, |v, d, o| v.lookup_domain(d, o));
lookup_bench!(url_hit, hit, url, |v, u, o| v.lookup_url(u, o));
lookup_bench!(url_miss, miss, url, |v, u, o| v.lookup_url(u, o));
lookup_bench!(hash_hit, hit, hash, |v, h, o| v.lookup_hash(h, o));
lookup_bench!(hash_miss, miss, hash, |v, h, o| v.lookup_hash(h, o));

/// Build from ready keys (the keys' own construction is not timed).
#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn build_index(bencher: Bencher, n: usize) {
    bencher
        .with_inputs(|| generate(n, 42))
        .bench_local_values(build);
}

/// Loading a saved index (validation including the body checksum).
#[divan::bench(args = SIZES)]
fn load_view(bencher: Bencher, n: usize) {
    let bytes = fixture(n).view.as_bytes();
    bencher.bench_local(|| {
        IndexView::from_bytes(black_box(bytes))
            .unwrap()
            .indicator_count()
    });
}

fn main() {
    for n in SIZES {
        let items = generate(n, 42);
        let t = Instant::now();
        let ix = build(items);
        let took = t.elapsed();
        let s = ix.stats();
        eprintln!(
            "{n} indicators: {} bytes, {:.1} bytes/indicator, built in {:.3} s",
            s.total_bytes,
            s.bytes_per_indicator(),
            took.as_secs_f64()
        );
        if n == 1_000_000 {
            eprintln!("  keys: {:?}", s.keys);
            for (name, len) in &s.sections {
                if *len > 0 {
                    eprintln!(
                        "  {name:<24} {len:>11} B  {:>6.2} B/indicator",
                        *len as f64 / n as f64
                    );
                }
            }
        }
    }
    divan::main();
}
