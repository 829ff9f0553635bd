//! Index benchmarks over a seeded mix of indicators: 30% IPv4, 10% IPv6,
//! 5% CIDRs (4% IPv4 /8–/30, 1% IPv6 /32–/64), 25% domains, 15% URLs,
//! 15% file hashes (MD5 and SHA-256 half each).
//!
//! `cargo bench -p accord-matcher` prints the size (bytes per indicator, by
//! section) first, then build time and lookup times for hits and misses of
//! every kind at 1,000 and 1,000,000 indicators.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::Instant;

use accord_matcher::{Index, IndexBuilder, IndexView, IndicatorMeta, Key};
use divan::Bencher;

const NOW: i64 = 1_700_000_000;
const SIZES: [usize; 2] = [1_000, 1_000_000];
const PROBES: usize = 1 << 14;

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn word(&mut self, min: u64, max: u64) -> String {
        let len = min + self.below(max - min + 1);
        (0..len).map(|_| (b'a' + self.below(26) as u8) as char).collect()
    }
    fn hex(&mut self, bytes: usize) -> String {
        (0..bytes).map(|_| format!("{:02x}", self.below(256))).collect()
    }
}

const TLDS: [&str; 8] = ["com", "net", "org", "example", "ru", "cn", "info", "io"];

fn gen_domain(r: &mut Rng) -> String {
    let labels = 1 + r.below(2);
    let mut d = String::new();
    for _ in 0..labels {
        d.push_str(&r.word(4, 12));
        d.push('.');
    }
    d + TLDS[r.below(TLDS.len() as u64) as usize]
}

fn gen_url(r: &mut Rng) -> String {
    let scheme = if r.below(3) == 0 { "https" } else { "http" };
    let mut u = format!("{scheme}://{}/{}/{}", gen_domain(r), r.word(3, 10), r.word(4, 16));
    if r.below(3) == 0 {
        u.push_str(&format!(".php?id={}", r.below(100_000)));
    }
    u
}

fn gen_ipv4(r: &mut Rng) -> Ipv4Addr {
    Ipv4Addr::from(r.next() as u32)
}

fn gen_ipv6(r: &mut Rng) -> Ipv6Addr {
    // Real IPv6 traffic sits in 2000::/3.
    Ipv6Addr::from((0x2000u128 << 112) | (u128::from(r.next()) << 64 | u128::from(r.next())) >> 3)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    V4,
    V6,
    Cidr,
    Domain,
    Url,
    Hash,
}

fn gen_key(r: &mut Rng, kind: Kind) -> Key {
    match kind {
        Kind::V4 => Key::ip(IpAddr::V4(gen_ipv4(r))),
        Kind::V6 => Key::ip(IpAddr::V6(gen_ipv6(r))),
        Kind::Cidr => {
            if r.below(5) == 0 {
                let l = [32u8, 48, 56, 64][r.below(4) as usize];
                Key::Ip(IpAddr::V6(gen_ipv6(r)), l)
            } else {
                let l = [8u8, 12, 16, 20, 22, 24, 24, 24, 28, 30][r.below(10) as usize];
                Key::Ip(IpAddr::V4(gen_ipv4(r)), l)
            }
        }
        Kind::Domain => Key::domain(&gen_domain(r)).unwrap(),
        Kind::Url => Key::url(&gen_url(r)).unwrap(),
        Kind::Hash => {
            let bytes = if r.below(2) == 0 { 16 } else { 32 };
            Key::hash_hex(&r.hex(bytes)).unwrap()
        }
    }
}

fn kind_of(i: u64) -> Kind {
    match i % 100 {
        0..30 => Kind::V4,
        30..40 => Kind::V6,
        40..45 => Kind::Cidr,
        45..70 => Kind::Domain,
        70..85 => Kind::Url,
        _ => Kind::Hash,
    }
}

/// `n` indicators with one key each.
fn generate(n: usize, seed: u64) -> Vec<(IndicatorMeta, Key)> {
    let mut r = Rng(seed);
    (0..n)
        .map(|_| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&r.next().to_le_bytes());
            id[8..].copy_from_slice(&r.next().to_le_bytes());
            let valid_until = (r.below(10) == 0).then(|| NOW + 86_400 * 30);
            let kind = kind_of(r.below(100));
            (IndicatorMeta { id, valid_until, revoked: false }, gen_key(&mut r, kind))
        })
        .collect()
}

fn build(items: Vec<(IndicatorMeta, Key)>) -> Index {
    let mut b = IndexBuilder::new(NOW);
    for (m, k) in items {
        let o = b.add_indicator(m);
        b.add_key(o, k).unwrap();
    }
    b.build().unwrap()
}

/// Probes, as the bytes a log would carry.
struct Probes {
    v4: Vec<IpAddr>,
    v6: Vec<IpAddr>,
    domain: Vec<Vec<u8>>,
    url: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

fn probes_from(keys: impl Iterator<Item = Key>, r: &mut Rng) -> Probes {
    let mut p = Probes { v4: vec![], v6: vec![], domain: vec![], url: vec![], hash: vec![] };
    for k in keys {
        match k {
            Key::Ip(IpAddr::V4(a), 32) => p.v4.push(IpAddr::V4(a)),
            Key::Ip(IpAddr::V6(a), 128) => p.v6.push(IpAddr::V6(a)),
            // A host inside the prefix.
            Key::Ip(IpAddr::V4(a), l) => {
                p.v4.push(IpAddr::V4(Ipv4Addr::from(u32::from(a) | (r.next() as u32 >> l))))
            }
            Key::Ip(IpAddr::V6(a), l) => {
                p.v6.push(IpAddr::V6(Ipv6Addr::from(u128::from(a) | ((u128::from(r.next()) << 64) >> l))))
            }
            // Seen in logs as a subdomain half of the time.
            Key::Domain(d) if r.below(2) == 0 => p.domain.push(format!("www.{d}").into_bytes()),
            Key::Domain(d) => p.domain.push(d.into_bytes()),
            Key::Url(u) => p.url.push(u.into_bytes()),
            Key::Hash(_, h) => p.hash.push(h.iter().map(|b| format!("{b:02X}")).collect::<String>().into_bytes()),
            Key::Email(_) => {}
        }
    }
    for v in [&mut p.domain, &mut p.url, &mut p.hash] {
        v.truncate(PROBES);
    }
    p.v4.truncate(PROBES);
    p.v6.truncate(PROBES);
    p
}

struct Fixture {
    view: IndexView<'static>,
    hit: Probes,
    miss: Probes,
}

fn fixture(n: usize) -> &'static Fixture {
    static F: [OnceLock<Fixture>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = SIZES.iter().position(|&s| s == n).expect("a benchmarked size");
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
        Fixture { view: IndexView::from_bytes(bytes).unwrap(), hit, miss }
    })
}

fn run<T>(bencher: Bencher, probes: &'static [T], f: impl Fn(&IndexView<'static>, &T, &mut Vec<u32>) -> usize, n: usize) {
    let fx = fixture(n);
    assert!(!probes.is_empty());
    let mask = if probes.len().is_power_of_two() { probes.len() - 1 } else { probes.len().next_power_of_two() / 2 - 1 };
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
    bencher.with_inputs(|| generate(n, 42)).bench_local_values(build);
}

/// Loading a saved index (validation including the body checksum).
#[divan::bench(args = SIZES)]
fn load_view(bencher: Bencher, n: usize) {
    let bytes = fixture(n).view.as_bytes();
    bencher.bench_local(|| IndexView::from_bytes(black_box(bytes)).unwrap().indicator_count());
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
                    eprintln!("  {name:<24} {len:>11} B  {:>6.2} B/indicator", *len as f64 / n as f64);
                }
            }
        }
    }
    divan::main();
}
