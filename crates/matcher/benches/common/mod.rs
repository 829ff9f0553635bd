//! Shared by the benchmark and `examples/lookup_timing.rs`: a seeded mix
//! of indicators — 30% IPv4, 10% IPv6, 5% CIDRs (4% IPv4, mostly /16–/30
//! with 1 in 200 of /8–/12; 1% IPv6 /32–/64), 25% domains, 15% URLs, 15%
//! file hashes (MD5 and SHA-256 half each) — and probes in log form.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accord_matcher::{Index, IndexBuilder, IndicatorMeta, Key};

pub const NOW: i64 = 1_700_000_000;
pub const PROBES: usize = 1 << 14;

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn word(&mut self, min: u64, max: u64) -> String {
        let len = min + self.below(max - min + 1);
        (0..len)
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }
    pub fn hex(&mut self, bytes: usize) -> String {
        (0..bytes)
            .map(|_| format!("{:02x}", self.below(256)))
            .collect()
    }
}

pub const TLDS: [&str; 8] = ["com", "net", "org", "example", "ru", "cn", "info", "io"];

pub fn gen_domain(r: &mut Rng) -> String {
    let labels = 1 + r.below(2);
    let mut d = String::new();
    for _ in 0..labels {
        d.push_str(&r.word(4, 12));
        d.push('.');
    }
    d + TLDS[r.below(TLDS.len() as u64) as usize]
}

pub fn gen_url(r: &mut Rng) -> String {
    let scheme = if r.below(3) == 0 { "https" } else { "http" };
    let mut u = format!(
        "{scheme}://{}/{}/{}",
        gen_domain(r),
        r.word(3, 10),
        r.word(4, 16)
    );
    if r.below(3) == 0 {
        u.push_str(&format!(".php?id={}", r.below(100_000)));
    }
    u
}

pub fn gen_ipv4(r: &mut Rng) -> Ipv4Addr {
    Ipv4Addr::from(r.next() as u32)
}

pub fn gen_ipv6(r: &mut Rng) -> Ipv6Addr {
    // Real IPv6 traffic sits in 2000::/3.
    Ipv6Addr::from((0x2000u128 << 112) | (u128::from(r.next()) << 64 | u128::from(r.next())) >> 3)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    V4,
    V6,
    Cidr,
    Domain,
    Url,
    Hash,
}

pub fn gen_key(r: &mut Rng, kind: Kind) -> Key {
    match kind {
        Kind::V4 => Key::ip(IpAddr::V4(gen_ipv4(r))),
        Kind::V6 => Key::ip(IpAddr::V6(gen_ipv6(r))),
        Kind::Cidr => {
            if r.below(5) == 0 {
                let l = [32u8, 48, 56, 64][r.below(4) as usize];
                Key::Ip(IpAddr::V6(gen_ipv6(r)), l)
            } else {
                // Feeds are mostly /24 and longer; a few short prefixes.
                let l = if r.below(200) == 0 {
                    [8u8, 10, 12][r.below(3) as usize]
                } else {
                    [16u8, 18, 20, 22, 24, 24, 24, 24, 26, 28, 29, 30][r.below(12) as usize]
                };
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

pub fn kind_of(i: u64) -> Kind {
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
pub fn generate(n: usize, seed: u64) -> Vec<(IndicatorMeta, Key)> {
    let mut r = Rng(seed);
    (0..n)
        .map(|_| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&r.next().to_le_bytes());
            id[8..].copy_from_slice(&r.next().to_le_bytes());
            let valid_until = (r.below(10) == 0).then_some(NOW + 86_400 * 30);
            let kind = kind_of(r.below(100));
            (
                IndicatorMeta {
                    id,
                    valid_until,
                    revoked: false,
                },
                gen_key(&mut r, kind),
            )
        })
        .collect()
}

pub fn build(items: Vec<(IndicatorMeta, Key)>) -> Index {
    let mut b = IndexBuilder::new(NOW);
    for (m, k) in items {
        let o = b.add_indicator(m);
        b.add_key(o, k).unwrap();
    }
    b.build().unwrap()
}

/// Probes, as the bytes a log would carry.
pub struct Probes {
    pub v4: Vec<IpAddr>,
    pub v6: Vec<IpAddr>,
    pub domain: Vec<Vec<u8>>,
    pub url: Vec<Vec<u8>>,
    pub hash: Vec<Vec<u8>>,
}

pub fn probes_from(keys: impl Iterator<Item = Key>, r: &mut Rng) -> Probes {
    let mut p = Probes {
        v4: vec![],
        v6: vec![],
        domain: vec![],
        url: vec![],
        hash: vec![],
    };
    for k in keys {
        match k {
            Key::Ip(IpAddr::V4(a), 32) => p.v4.push(IpAddr::V4(a)),
            Key::Ip(IpAddr::V6(a), 128) => p.v6.push(IpAddr::V6(a)),
            // A host inside the prefix.
            Key::Ip(IpAddr::V4(a), l) => p.v4.push(IpAddr::V4(Ipv4Addr::from(
                u32::from(a) | (r.next() as u32 >> l),
            ))),
            Key::Ip(IpAddr::V6(a), l) => p.v6.push(IpAddr::V6(Ipv6Addr::from(
                u128::from(a) | ((u128::from(r.next()) << 64) >> l),
            ))),
            // Seen in logs as a subdomain half of the time.
            Key::Domain(d) if r.below(2) == 0 => p.domain.push(format!("www.{d}").into_bytes()),
            Key::Domain(d) => p.domain.push(d.into_bytes()),
            Key::Url(u) => p.url.push(u.into_bytes()),
            Key::Hash(_, h) => p.hash.push(
                h.iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<String>()
                    .into_bytes(),
            ),
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
