//! The byte layout of an index (the same in memory and on disk).
//!
//! ```text
//! offset  size
//! 0       8    magic "ACCIDX\0\x01"
//! 8       4    format version (u32 LE)
//! 12      4    header length H (u32 LE)
//! 16      8    total length (u64 LE) — the whole file
//! 24      8    body checksum (u64 LE) of bytes H..total
//! 32      8·P  parameters (u64 LE each, P = 42)
//! …       16·S sections (offset u64, length u64; S = 36), 8-aligned, in H..total
//! H−8     8    header checksum of bytes 0..H−8
//! ```
//!
//! All integers are little-endian; every section starts at a multiple of 8.
//! Parameters, in order: build time, indicator count, IPv4 table capacity
//! and entry count, then for IPv4 and IPv6 prefixes (directory bits,
//! intervals, nodes), then for each key table (capacity, entries, shortest
//! key, longest key). Sections, in order: indicator ids (16 B each),
//! `valid_until` (i64), flags (1 B: bit 0 revoked, bit 1 has
//! `valid_until`), posting lists (u32), IPv4 filter, IPv4 slots, IPv4
//! prefixes (directory, intervals, nodes), IPv6 prefixes (the same), then
//! each key table (filter, slots, records). Key tables, in order: IPv6
//! addresses, domains, URLs, e-mail addresses, MD5, SHA-1, SHA-256, SHA-512.

use std::ops::Range;

use crate::hash::{Checksum, checksum, hash_bytes};

/// Magic bytes at the start of an index.
pub const MAGIC: [u8; 8] = *b"ACCIDX\0\x01";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

const N_PARAMS: usize = 42;
const N_SECTIONS: usize = 36;
const FIXED: usize = 32;
pub(crate) const HEADER_LEN: usize = FIXED + 8 * N_PARAMS + 16 * N_SECTIONS + 8;

/// A key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tab {
    V6 = 0,
    Domain,
    Url,
    Email,
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Tab {
    pub const COUNT: usize = 8;
    pub const ALL: [Tab; 8] = [
        Tab::V6,
        Tab::Domain,
        Tab::Url,
        Tab::Email,
        Tab::Md5,
        Tab::Sha1,
        Tab::Sha256,
        Tab::Sha512,
    ];

    /// Fixed key width, 0 for variable-length keys.
    pub const fn width(self) -> usize {
        match self {
            Tab::V6 | Tab::Md5 => 16,
            Tab::Sha1 => 20,
            Tab::Sha256 => 32,
            Tab::Sha512 => 64,
            Tab::Domain | Tab::Url | Tab::Email => 0,
        }
    }

    /// Hash seed.
    pub const fn seed(self) -> u64 {
        self as u64 + 1
    }

    pub const fn name(self) -> &'static str {
        match self {
            Tab::V6 => "ipv6",
            Tab::Domain => "domain",
            Tab::Url => "url",
            Tab::Email => "email",
            Tab::Md5 => "md5",
            Tab::Sha1 => "sha1",
            Tab::Sha256 => "sha256",
            Tab::Sha512 => "sha512",
        }
    }
}

pub(crate) struct BuiltTab {
    pub filter: Vec<u8>,
    pub slots: Vec<u8>,
    pub recs: Vec<u8>,
    pub cap: u64,
    pub n: u64,
    pub min_len: usize,
    pub max_len: usize,
}

/// Collects parameters and sections, then writes header and body.
#[derive(Default)]
pub(crate) struct Writer {
    params: Vec<u64>,
    sections: Vec<Vec<u8>>,
}

impl Writer {
    pub fn param(&mut self, v: u64) {
        self.params.push(v);
    }

    pub fn section(&mut self, s: Vec<u8>) {
        self.sections.push(s);
    }

    pub fn finish(self) -> Vec<u8> {
        let (table, total) = self.table();
        let mut out = vec![0u8; HEADER_LEN];
        out.reserve_exact(total - HEADER_LEN);
        // Each section is freed once copied.
        for s in self.sections {
            out.extend_from_slice(&s);
            out.resize(out.len().next_multiple_of(8), 0);
        }
        let body = checksum(&out[HEADER_LEN..]);
        let h = header(&self.params, &table, out.len(), body);
        out[..HEADER_LEN].copy_from_slice(&h);
        out
    }

    /// [`Writer::finish`]'s bytes written to `w`, without laying them
    /// out in memory first.
    pub fn finish_to(self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        let (table, total) = self.table();
        let pad = |s: &[u8]| &[0u8; 8][..s.len().next_multiple_of(8) - s.len()];
        let mut c = Checksum::new();
        for s in &self.sections {
            c.update(s);
            c.update(pad(s));
        }
        w.write_all(&header(&self.params, &table, total, c.finish()))?;
        for s in &self.sections {
            w.write_all(s)?;
            w.write_all(pad(s))?;
        }
        Ok(())
    }

    /// Each section's (offset, length), and the total length.
    fn table(&self) -> (Vec<(u64, u64)>, usize) {
        assert_eq!(self.params.len(), N_PARAMS);
        assert_eq!(self.sections.len(), N_SECTIONS);
        let mut table = Vec::with_capacity(N_SECTIONS);
        let mut at = HEADER_LEN;
        for s in &self.sections {
            table.push((at as u64, s.len() as u64));
            at += s.len().next_multiple_of(8);
        }
        (table, at)
    }
}

/// The header of an index of `total` bytes whose body has checksum `body`.
fn header(params: &[u64], table: &[(u64, u64)], total: usize, body: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(&MAGIC);
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    h.extend_from_slice(&(total as u64).to_le_bytes());
    h.extend_from_slice(&body.to_le_bytes());
    for p in params {
        h.extend_from_slice(&p.to_le_bytes());
    }
    for (off, len) in table {
        h.extend_from_slice(&off.to_le_bytes());
        h.extend_from_slice(&len.to_le_bytes());
    }
    let hc = hash_bytes(0x4845_4144, &h);
    h.extend_from_slice(&hc.to_le_bytes());
    h
}

/// Bytes that are not a usable index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Shorter than the header.
    #[error("index truncated: {len} bytes, the header alone needs {need}")]
    Truncated {
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// Does not start with [`MAGIC`].
    #[error("not an Accord indicator index (bad magic bytes)")]
    BadMagic,
    /// Written by another format version.
    #[error("index format version {found} is not supported (this build reads version {supported})")]
    Version {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The header checksum does not match.
    #[error("index header is corrupt (checksum mismatch)")]
    HeaderChecksum,
    /// The header gives another total length than the bytes have.
    #[error(
        "index length mismatch: the header says {expected} bytes, there are {actual} (truncated or appended to)"
    )]
    Length {
        /// Length in the header.
        expected: u64,
        /// Bytes given.
        actual: usize,
    },
    /// The body checksum does not match.
    #[error("index data is corrupt (body checksum mismatch)")]
    BodyChecksum,
    /// A section's place or size is inconsistent.
    #[error("index section {section} is invalid: {reason}")]
    Section {
        /// Which section.
        section: &'static str,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TabL {
    pub filter: Range<usize>,
    pub slots: Range<usize>,
    pub recs: Range<usize>,
    pub cap: u64,
    pub n: usize,
    pub min_len: usize,
    pub max_len: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct CidrL {
    pub bits: u32,
    pub n_intervals: usize,
    pub n_nodes: usize,
    pub dir: Range<usize>,
    pub intervals: Range<usize>,
    pub nodes: Range<usize>,
}

/// Where everything is, validated against the bytes it was parsed from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    pub built_at: i64,
    pub n_ind: usize,
    pub ids: Range<usize>,
    pub valid: Range<usize>,
    pub flags: Range<usize>,
    pub postings: Range<usize>,
    pub v4_filter: Range<usize>,
    pub v4_slots: Range<usize>,
    pub v4_cap: u64,
    pub v4_n: usize,
    pub c4: CidrL,
    pub c6: CidrL,
    pub tabs: [TabL; Tab::COUNT],
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut t = [0u8; 8];
    t.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(t)
}

fn bad(section: &'static str, reason: impl Into<String>) -> LoadError {
    LoadError::Section {
        section,
        reason: reason.into(),
    }
}

/// Names of the sections, in order (for errors and statistics).
pub(crate) const SECTION_NAMES: [&str; N_SECTIONS] = [
    "indicator ids",
    "indicator valid_until",
    "indicator flags",
    "posting lists",
    "ipv4 filter",
    "ipv4 slots",
    "ipv4 prefix directory",
    "ipv4 prefix intervals",
    "ipv4 prefix nodes",
    "ipv6 prefix directory",
    "ipv6 prefix intervals",
    "ipv6 prefix nodes",
    "ipv6 filter",
    "ipv6 slots",
    "ipv6 records",
    "domain filter",
    "domain slots",
    "domain records",
    "url filter",
    "url slots",
    "url records",
    "email filter",
    "email slots",
    "email records",
    "md5 filter",
    "md5 slots",
    "md5 records",
    "sha1 filter",
    "sha1 slots",
    "sha1 records",
    "sha256 filter",
    "sha256 slots",
    "sha256 records",
    "sha512 filter",
    "sha512 slots",
    "sha512 records",
];

impl Layout {
    /// Validates the header and every section's bounds and size;
    /// `verify_body` also checks the body checksum (a pass over all bytes).
    pub fn parse(b: &[u8], verify_body: bool) -> Result<Layout, LoadError> {
        if b.len() < FIXED {
            return Err(LoadError::Truncated {
                len: b.len(),
                need: HEADER_LEN,
            });
        }
        if b[..8] != MAGIC {
            return Err(LoadError::BadMagic);
        }
        let version = u32_at(b, 8);
        if version != FORMAT_VERSION {
            return Err(LoadError::Version {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if b.len() < HEADER_LEN {
            return Err(LoadError::Truncated {
                len: b.len(),
                need: HEADER_LEN,
            });
        }
        if u32_at(b, 12) as usize != HEADER_LEN
            || hash_bytes(0x4845_4144, &b[..HEADER_LEN - 8]) != u64_at(b, HEADER_LEN - 8)
        {
            return Err(LoadError::HeaderChecksum);
        }
        let total = u64_at(b, 16);
        if total != b.len() as u64 {
            return Err(LoadError::Length {
                expected: total,
                actual: b.len(),
            });
        }
        if verify_body && checksum(&b[HEADER_LEN..]) != u64_at(b, 24) {
            return Err(LoadError::BodyChecksum);
        }
        let params: Vec<u64> = (0..N_PARAMS).map(|i| u64_at(b, FIXED + 8 * i)).collect();
        let mut secs = Vec::with_capacity(N_SECTIONS);
        for (i, name) in SECTION_NAMES.iter().enumerate() {
            let at = FIXED + 8 * N_PARAMS + 16 * i;
            let (off, len) = (u64_at(b, at), u64_at(b, at + 8));
            if off < HEADER_LEN as u64 || off.checked_add(len).is_none_or(|end| end > total) {
                return Err(bad(
                    name,
                    format!("offset {off} length {len} outside the {total}-byte index"),
                ));
            }
            secs.push((*name, off as usize..(off + len) as usize));
        }
        let mut p = params.into_iter();
        let mut s = secs.into_iter();
        let mut next_param = || p.next().unwrap_or(0);
        let mut next_sec = || s.next().unwrap_or(("", 0..0));

        let mut l = Layout {
            built_at: next_param() as i64,
            ..Layout::default()
        };
        let n = next_param();
        l.n_ind =
            usize::try_from(n).map_err(|_| bad("indicator ids", "indicator count too large"))?;
        let sized = |(name, r): (&'static str, Range<usize>), width: usize, count: usize| {
            if Some(r.len()) != width.checked_mul(count) {
                return Err(bad(
                    name,
                    format!("{} bytes, expected {count} × {width}", r.len()),
                ));
            }
            Ok(r)
        };
        let multiple = |(name, r): (&'static str, Range<usize>), width: usize| {
            if !r.len().is_multiple_of(width) {
                return Err(bad(
                    name,
                    format!("{} bytes, not a multiple of {width}", r.len()),
                ));
            }
            Ok(r)
        };
        l.v4_cap = next_param();
        l.v4_n = next_param() as usize;
        let mut cidr_params = [(0u64, 0u64, 0u64); 2];
        for c in &mut cidr_params {
            *c = (next_param(), next_param(), next_param());
        }
        let mut tab_params = [(0u64, 0u64, 0u64, 0u64); Tab::COUNT];
        for t in &mut tab_params {
            *t = (next_param(), next_param(), next_param(), next_param());
        }
        l.ids = sized(next_sec(), 16, l.n_ind)?;
        l.valid = sized(next_sec(), 8, l.n_ind)?;
        l.flags = sized(next_sec(), 1, l.n_ind)?;
        l.postings = multiple(next_sec(), 4)?;
        l.v4_filter = multiple(next_sec(), 32)?;
        l.v4_slots = slots(next_sec(), l.v4_cap, l.v4_n)?;
        for (k, (bits, n_int, n_nodes)) in cidr_params.into_iter().enumerate() {
            let width = if k == 0 { 4 } else { 16 };
            let c = CidrL {
                bits: bits as u32,
                n_intervals: n_int as usize,
                n_nodes: n_nodes as usize,
                ..CidrL::default()
            };
            let dir = next_sec();
            if n_int > 0 && !(1..=16).contains(&bits) {
                return Err(bad(dir.0, format!("directory bits {bits} not in 1..=16")));
            }
            let dir_len = if n_int == 0 { 0 } else { (1usize << bits) + 1 };
            let c = CidrL {
                dir: sized(dir, 4, dir_len)?,
                intervals: sized(next_sec(), width + 4, c.n_intervals)?,
                nodes: sized(next_sec(), 8, c.n_nodes)?,
                ..c
            };
            if k == 0 {
                l.c4 = c;
            } else {
                l.c6 = c;
            }
        }
        for (i, (cap, n, min_len, max_len)) in tab_params.into_iter().enumerate() {
            let tab = Tab::ALL[i];
            let filter = multiple(next_sec(), 32)?;
            let slots_r = slots(next_sec(), cap, n as usize)?;
            let recs = next_sec();
            let recs = match tab.width() {
                0 => recs.1,
                w => sized(recs, w + 4, n as usize)?,
            };
            if min_len > max_len || max_len > crate::key::MAX_KEY_LEN as u64 {
                return Err(bad(
                    SECTION_NAMES[13 + 3 * i],
                    format!("key lengths {min_len}..{max_len} out of range"),
                ));
            }
            l.tabs[i] = TabL {
                filter,
                slots: slots_r,
                recs,
                cap,
                n: n as usize,
                min_len: min_len as usize,
                max_len: max_len as usize,
            };
        }
        Ok(l)
    }
}

fn slots(
    (name, r): (&'static str, Range<usize>),
    cap: u64,
    n: usize,
) -> Result<Range<usize>, LoadError> {
    let count = r.len() / 8;
    if !r.len().is_multiple_of(8)
        || cap > u64::from(u32::MAX)
        || (cap as usize) > count
        || n > count
        || (n > 0 && cap == 0)
    {
        return Err(bad(
            name,
            format!("{} bytes for capacity {cap} and {n} entries", r.len()),
        ));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IndexBuilder, IndexView, IndicatorMeta, Key};
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        let mut b = IndexBuilder::new(0);
        let keys = [
            Key::ip_cidr("10.0.0.0/8").unwrap(),
            Key::ip_cidr("10.1.0.0/16").unwrap(),
            Key::ip_cidr("10.1.2.3").unwrap(),
            Key::ip_cidr("2001:db8::/32").unwrap(),
            Key::ip_cidr("2001:db8::/48").unwrap(),
            Key::ip_cidr("2001:db8::1").unwrap(),
            Key::domain("evil.example").unwrap(),
            Key::url("http://evil.example/").unwrap(),
            Key::email("a@evil.example").unwrap(),
            Key::hash_hex(&"ab".repeat(16)).unwrap(),
            Key::hash_hex(&"ab".repeat(20)).unwrap(),
            Key::hash_hex(&"ab".repeat(32)).unwrap(),
            Key::hash_hex(&"ab".repeat(64)).unwrap(),
        ];
        for (i, k) in keys.into_iter().enumerate() {
            let o = b.add_indicator(IndicatorMeta {
                id: [i as u8; 16],
                valid_until: None,
                revoked: false,
            });
            b.add_key(o, k.clone()).unwrap();
            if i % 3 == 0 {
                let o2 = b.add_indicator(IndicatorMeta {
                    id: [0xff; 16],
                    valid_until: None,
                    revoked: false,
                });
                b.add_key(o2, k).unwrap();
            }
        }
        b.build().unwrap().into_bytes()
    }

    /// Recomputes both checksums so that damage reaches the section checks
    /// and the lookups.
    fn reseal(b: &mut [u8]) {
        if b.len() < HEADER_LEN {
            return;
        }
        let body = checksum(&b[HEADER_LEN..]);
        b[24..32].copy_from_slice(&body.to_le_bytes());
        let h = hash_bytes(0x4845_4144, &b[..HEADER_LEN - 8]);
        b[HEADER_LEN - 8..HEADER_LEN].copy_from_slice(&h.to_le_bytes());
    }

    fn exercise(v: &IndexView<'_>) {
        let mut out = Vec::new();
        for a in [
            "10.1.2.3",
            "10.9.9.9",
            "2001:db8::1",
            "2001:db8:1::1",
            "::ffff:10.1.2.3",
            "0.0.0.0",
            "255.255.255.255",
        ] {
            v.lookup_ip(a.parse().unwrap(), &mut out);
        }
        v.lookup_domain(b"a.evil.example", &mut out);
        v.lookup_url(b"http://evil.example/", &mut out);
        v.lookup_email(b"a@evil.example", &mut out);
        for n in [16, 20, 32, 64] {
            v.lookup_hash("ab".repeat(n).as_bytes(), &mut out);
        }
        for o in out.iter().copied().chain(0..20) {
            let _ = v.meta(o);
            let _ = v.indicator_id_string(o);
        }
        let _ = v.stats();
    }

    #[test]
    fn sample_is_sound() {
        let b = sample();
        let v = IndexView::from_bytes(&b).unwrap();
        let mut out = Vec::new();
        v.lookup_ip("10.1.2.3".parse().unwrap(), &mut out);
        assert_eq!(out, [0, 1, 2, 3]);
        exercise(&v);
    }

    #[test]
    fn header_is_952_bytes() {
        assert_eq!(HEADER_LEN, 952);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Damage anywhere, checksums made to agree: an error or an index
        /// whose lookups run without panicking.
        #[test]
        fn resealed_damage_never_panics(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6),
            cut in prop::option::weighted(0.1, any::<prop::sample::Index>()),
        ) {
            let mut b = sample();
            for (at, val, how) in edits {
                // Bias towards the header, where the structure is described.
                let i = if how == 0 { at.index(b.len()) } else { at.index(HEADER_LEN) };
                match how {
                    0 | 1 => b[i] = val,
                    2 => b[i] ^= 1 << (val % 8),
                    _ => b[i] = b[i].wrapping_add(val % 3).wrapping_sub(1),
                }
            }
            if let Some(c) = cut {
                let n = c.index(b.len());
                b.truncate(n);
                if b.len() >= 24 {
                    let len = b.len() as u64;
                    b[16..24].copy_from_slice(&len.to_le_bytes());
                }
            }
            reseal(&mut b);
            if let Ok(v) = IndexView::from_bytes(&b) {
                exercise(&v);
            }
        }
    }
}
