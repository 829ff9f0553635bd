//! [`Index`] (owned) and [`IndexView`] (borrowed, zero-copy): lookups.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::IndicatorMeta;
use crate::cidr::Cidr;
use crate::filter;
use crate::format::{Layout, LoadError, SECTION_NAMES, Tab};
use crate::hash::{hash_bytes, v4_hash};
use crate::key::{HashAlg, decode_hex, normalize_email, normalize_url, trim_domain};
use crate::table::{self, fixed_record, fp_of, var_record};

thread_local! {
    /// Scratch for normalised URLs, e-mail addresses and lowercased domains:
    /// lookups allocate only the first time a thread needs more room.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut f = Some(f);
    let r = SCRATCH.try_with(|s| match s.try_borrow_mut() {
        Ok(mut v) => {
            v.clear();
            Some((f.take().expect("called once"))(&mut v))
        }
        Err(_) => None,
    });
    match r {
        Ok(Some(r)) => r,
        // Thread-local storage gone (thread exit) or in use: a fresh buffer.
        _ => (f.take().expect("not called yet"))(&mut Vec::new()),
    }
}

#[inline(always)]
fn chunks<'a, const K: usize>(b: &'a [u8], r: &std::ops::Range<usize>) -> &'a [[u8; K]] {
    b.get(r.clone()).unwrap_or(&[]).as_chunks::<K>().0
}

/// Sorts and deduplicates `out[start..]`; returns how many were added.
#[inline]
fn finish(out: &mut Vec<u32>, start: usize) -> usize {
    if out.len() - start > 1 {
        out[start..].sort_unstable();
        let mut w = start + 1;
        for r in start + 1..out.len() {
            if out[r] != out[w - 1] {
                out[w] = out[r];
                w += 1;
            }
        }
        out.truncate(w);
    }
    out.len() - start
}

/// The lookups, over the bytes the layout was validated against. Every
/// index read from the data is bounds-checked (`get`), so corrupt contents
/// give wrong answers at worst, never a panic.
struct Raw<'a> {
    b: &'a [u8],
    l: &'a Layout,
}

impl Raw<'_> {
    #[inline(always)]
    fn push_posting(&self, p: u32, out: &mut Vec<u32>) {
        if p & 0x8000_0000 == 0 {
            out.push(p);
            return;
        }
        let post = chunks::<4>(self.b, &self.l.postings);
        let i = (p & 0x7fff_ffff) as usize;
        let Some(n) = post.get(i) else { return };
        let n = u32::from_le_bytes(*n) as usize;
        if let Some(list) = post.get(i + 1..(i + 1).saturating_add(n)) {
            out.extend(list.iter().map(|o| u32::from_le_bytes(*o)));
        }
    }

    #[inline]
    fn v4(&self, a: u32, out: &mut Vec<u32>) {
        let l = self.l;
        if l.v4_n > 0 {
            let h = v4_hash(a);
            if filter::may_contain(chunks::<32>(self.b, &l.v4_filter), h)
                && let Some(p) =
                    table::probe(chunks::<8>(self.b, &l.v4_slots), l.v4_cap, fp_of(h), |_| {
                        true
                    })
            {
                self.push_posting(p, out);
            }
        }
        if l.c4.n_intervals > 0 {
            let c = Cidr::<4> {
                bits: l.c4.bits,
                dir: chunks(self.b, &l.c4.dir),
                intervals: self.b.get(l.c4.intervals.clone()).unwrap_or(&[]),
                nodes: chunks(self.b, &l.c4.nodes),
            };
            c.lookup(u128::from(a), |p| self.push_posting(p, out));
        }
    }

    #[inline]
    fn v6(&self, a: Ipv6Addr, out: &mut Vec<u32>) {
        if let Some(v4) = a.to_ipv4_mapped() {
            return self.v4(u32::from(v4), out);
        }
        self.find(Tab::V6, &a.octets(), out);
        let c6 = &self.l.c6;
        if c6.n_intervals > 0 {
            let c = Cidr::<16> {
                bits: c6.bits,
                dir: chunks(self.b, &c6.dir),
                intervals: self.b.get(c6.intervals.clone()).unwrap_or(&[]),
                nodes: chunks(self.b, &c6.nodes),
            };
            c.lookup(u128::from(a), |p| self.push_posting(p, out));
        }
    }

    /// Exact lookup of a normalised key in a key table.
    #[inline]
    fn find(&self, tab: Tab, key: &[u8], out: &mut Vec<u32>) -> bool {
        let t = &self.l.tabs[tab as usize];
        if t.n == 0 {
            return false;
        }
        let h = hash_bytes(tab.seed(), key);
        if !filter::may_contain(chunks::<32>(self.b, &t.filter), h) {
            return false;
        }
        self.find_hashed(tab, fp_of(h), key, out)
    }

    #[inline]
    fn find_hashed(&self, tab: Tab, fp: u32, key: &[u8], out: &mut Vec<u32>) -> bool {
        let t = &self.l.tabs[tab as usize];
        let slots = chunks::<8>(self.b, &t.slots);
        let recs = self.b.get(t.recs.clone()).unwrap_or(&[]);
        let mut posting = 0;
        let w = tab.width();
        let found = table::probe(slots, t.cap, fp, |val| {
            let rec = if w == 0 {
                var_record(recs, val)
            } else {
                fixed_record(recs, w, val)
            };
            match rec {
                Some((p, k)) if k == key => {
                    posting = p;
                    true
                }
                _ => false,
            }
        });
        if found.is_some() {
            self.push_posting(posting, out);
        }
        found.is_some()
    }

    fn domain(&self, name: &[u8], out: &mut Vec<u32>) {
        let t = &self.l.tabs[Tab::Domain as usize];
        if t.n == 0 {
            return;
        }
        let s = trim_domain(name);
        if s.len() < t.min_len {
            return;
        }
        // Only suffixes no longer than the longest stored name can match.
        let (tail, whole) = if s.len() > t.max_len {
            (&s[s.len() - t.max_len - 1..], false)
        } else {
            (s, true)
        };
        with_scratch(|buf| {
            buf.extend(tail.iter().map(u8::to_ascii_lowercase));
            let buf = &buf[..];
            if whole {
                self.find(Tab::Domain, buf, out);
            }
            for (i, &c) in buf.iter().enumerate() {
                if c == b'.' {
                    let suffix = &buf[i + 1..];
                    if suffix.len() < t.min_len {
                        break;
                    }
                    if suffix.len() <= t.max_len {
                        self.find(Tab::Domain, suffix, out);
                    }
                }
            }
        });
    }

    fn url(&self, url: &[u8], out: &mut Vec<u32>) {
        let t = &self.l.tabs[Tab::Url as usize];
        if t.n == 0 {
            return;
        }
        with_scratch(|buf| {
            if normalize_url(url, buf).is_ok() && (t.min_len..=t.max_len).contains(&buf.len()) {
                self.find(Tab::Url, buf, out);
            }
        });
    }

    fn email(&self, addr: &[u8], out: &mut Vec<u32>) {
        let t = &self.l.tabs[Tab::Email as usize];
        if t.n == 0 {
            return;
        }
        with_scratch(|buf| {
            if normalize_email(addr, buf, false).is_ok()
                && (t.min_len..=t.max_len).contains(&buf.len())
            {
                self.find(Tab::Email, buf, out);
            }
        });
    }

    fn hash_hex(&self, hex: &[u8], out: &mut Vec<u32>) {
        let hex = hex.trim_ascii();
        if !hex.len().is_multiple_of(2) {
            return;
        }
        let Some(alg) = HashAlg::from_len(hex.len() / 2) else {
            return;
        };
        let mut buf = [0u8; 64];
        if decode_hex(hex, &mut buf).is_some() {
            self.hash_bytes(alg, &buf[..alg.digest_len()], out);
        }
    }

    fn hash_bytes(&self, alg: HashAlg, digest: &[u8], out: &mut Vec<u32>) {
        let tab = match alg {
            HashAlg::Md5 => Tab::Md5,
            HashAlg::Sha1 => Tab::Sha1,
            HashAlg::Sha256 => Tab::Sha256,
            HashAlg::Sha512 => Tab::Sha512,
        };
        if digest.len() == alg.digest_len() {
            self.find(tab, digest, out);
        }
    }

    fn meta(&self, ord: u32) -> Option<IndicatorMeta> {
        let o = ord as usize;
        let id = *chunks::<16>(self.b, &self.l.ids).get(o)?;
        let valid = i64::from_le_bytes(*chunks::<8>(self.b, &self.l.valid).get(o)?);
        let flags = *self.b.get(self.l.flags.clone())?.get(o)?;
        Some(IndicatorMeta {
            id,
            valid_until: (flags & 2 != 0).then_some(valid),
            revoked: flags & 1 != 0,
        })
    }
}

/// Sizes of an index, by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStats {
    /// Indicators (live or not).
    pub indicators: usize,
    /// Distinct keys per table: `ipv4`, `ipv4 prefixes`, `ipv6`, `ipv6
    /// prefixes`, `domain`, `url`, `email`, `md5`, `sha1`, `sha256`,
    /// `sha512`.
    pub keys: Vec<(&'static str, usize)>,
    /// Bytes per section, in file order (padding not included).
    pub sections: Vec<(&'static str, usize)>,
    /// Total bytes (header, sections and padding): the memory the index
    /// takes, owned or mapped.
    pub total_bytes: usize,
}

impl IndexStats {
    /// Bytes per indicator (total bytes / indicators).
    pub fn bytes_per_indicator(&self) -> f64 {
        self.total_bytes as f64 / self.indicators.max(1) as f64
    }
}

fn stats(b: &[u8], l: &Layout) -> IndexStats {
    let mut keys = vec![
        ("ipv4", l.v4_n),
        ("ipv4 prefixes", l.c4.n_nodes),
        ("ipv6 prefixes", l.c6.n_nodes),
    ];
    keys.extend(Tab::ALL.iter().map(|t| (t.name(), l.tabs[*t as usize].n)));
    let mut ranges = vec![
        &l.ids,
        &l.valid,
        &l.flags,
        &l.postings,
        &l.v4_filter,
        &l.v4_slots,
        &l.c4.dir,
        &l.c4.intervals,
        &l.c4.nodes,
        &l.c6.dir,
        &l.c6.intervals,
        &l.c6.nodes,
    ];
    for t in &l.tabs {
        ranges.push(&t.filter);
        ranges.push(&t.slots);
        ranges.push(&t.recs);
    }
    IndexStats {
        indicators: l.n_ind,
        keys,
        sections: SECTION_NAMES
            .iter()
            .zip(ranges)
            .map(|(n, r)| (*n, r.len()))
            .collect(),
        total_bytes: b.len(),
    }
}

/// Formats a 16-byte id as `indicator--xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn indicator_id_string(id: &[u8; 16]) -> String {
    let h = crate::key::hex(id);
    format!(
        "indicator--{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Parses `indicator--<uuid>` (or a bare UUID, any case) into 16 bytes.
pub fn parse_indicator_id(s: &str) -> Option<[u8; 16]> {
    let u = s.strip_prefix("indicator--").unwrap_or(s).as_bytes();
    if u.len() != 36 || [8, 13, 18, 23].iter().any(|&i| u[i] != b'-') {
        return None;
    }
    // The five groups of hex digits (8-4-4-4-12), without the hyphens.
    let mut hex = [0u8; 32];
    hex[..8].copy_from_slice(&u[..8]);
    hex[8..12].copy_from_slice(&u[9..13]);
    hex[12..16].copy_from_slice(&u[14..18]);
    hex[16..20].copy_from_slice(&u[19..23]);
    hex[20..].copy_from_slice(&u[24..]);
    let mut id = [0u8; 16];
    decode_hex(&hex, &mut id)?;
    Some(id)
}

macro_rules! lookup_api {
    () => {
        /// Every indicator with a key containing `ip`: the exact address and
        /// every covering prefix (`/8`, `/16`, … all reported), appended
        /// to `out` sorted and without duplicates; returns how many. An
        /// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is looked up as the
        /// IPv4 address.
        #[inline]
        pub fn lookup_ip(&self, ip: IpAddr, out: &mut Vec<u32>) -> usize {
            match ip {
                IpAddr::V4(a) => self.lookup_ipv4(a, out),
                IpAddr::V6(a) => self.lookup_ipv6(a, out),
            }
        }

        /// [`lookup_ip`](Self::lookup_ip) for an IPv4 address.
        #[inline]
        pub fn lookup_ipv4(&self, ip: Ipv4Addr, out: &mut Vec<u32>) -> usize {
            let start = out.len();
            self.raw().v4(u32::from(ip), out);
            finish(out, start)
        }

        /// [`lookup_ip`](Self::lookup_ip) for an IPv6 address.
        #[inline]
        pub fn lookup_ipv6(&self, ip: Ipv6Addr, out: &mut Vec<u32>) -> usize {
            let start = out.len();
            self.raw().v6(ip, out);
            finish(out, start)
        }

        /// Every indicator on the domain `name` or on one of its parents
        /// (`a.b.evil.example` finds `a.b.evil.example`, `b.evil.example`,
        /// `evil.example`, `example`, never `notevil.example`). `name` is
        /// raw bytes from a log: surrounding whitespace and one trailing dot
        /// are ignored, ASCII case does not matter. No allocation.
        #[inline]
        pub fn lookup_domain(&self, name: &[u8], out: &mut Vec<u32>) -> usize {
            let start = out.len();
            self.raw().domain(name, out);
            finish(out, start)
        }

        /// Every indicator on the URL `url`, normalised as by
        /// [`Key::url`](crate::Key::url) (a URL that does not parse finds
        /// nothing). Uses a thread-local scratch buffer, no allocation.
        #[inline]
        pub fn lookup_url(&self, url: &[u8], out: &mut Vec<u32>) -> usize {
            let start = out.len();
            self.raw().url(url, out);
            finish(out, start)
        }

        /// Every indicator on the e-mail address `addr` (domain part
        /// case-insensitive, local part exact).
        #[inline]
        pub fn lookup_email(&self, addr: &[u8], out: &mut Vec<u32>) -> usize {
            let start = out.len();
            self.raw().email(addr, out);
            finish(out, start)
        }

        /// Every indicator on the file hash given in hex (either case; 32,
        /// 40, 64 or 128 digits pick MD5, SHA-1, SHA-256 or SHA-512;
        /// anything else finds nothing).
        #[inline]
        pub fn lookup_hash(&self, hex: &[u8], out: &mut Vec<u32>) -> usize {
            let start = out.len();
            self.raw().hash_hex(hex, out);
            finish(out, start)
        }

        /// Every indicator on the digest `digest` of algorithm `alg`.
        #[inline]
        pub fn lookup_hash_bytes(&self, alg: HashAlg, digest: &[u8], out: &mut Vec<u32>) -> usize {
            let start = out.len();
            self.raw().hash_bytes(alg, digest, out);
            finish(out, start)
        }

        /// The indicator's metadata; `None` for an unknown ordinal.
        pub fn meta(&self, ordinal: u32) -> Option<IndicatorMeta> {
            self.raw().meta(ordinal)
        }

        /// Whether the indicator may match at `now_unix`: known, not revoked
        /// and `now_unix < valid_until`. Lookups already leave out what was
        /// dead when the index was built; a long-lived index should also
        /// drop hits that expired since ([`retain_live`](Self::retain_live)).
        #[inline]
        pub fn is_live(&self, ordinal: u32, now_unix: i64) -> bool {
            self.raw()
                .meta(ordinal)
                .is_some_and(|m| m.is_live(now_unix))
        }

        /// Keeps only the ordinals in `hits` that are live at `now_unix`.
        pub fn retain_live(&self, hits: &mut Vec<u32>, now_unix: i64) {
            hits.retain(|&o| self.is_live(o, now_unix));
        }

        /// `indicator--<uuid>` of the indicator; `None` for an unknown ordinal.
        pub fn indicator_id_string(&self, ordinal: u32) -> Option<String> {
            self.meta(ordinal).map(|m| indicator_id_string(&m.id))
        }

        /// Number of indicators (ordinals are `0..indicator_count()`).
        pub fn indicator_count(&self) -> usize {
            self.layout.n_ind
        }

        /// The `now_unix` the index was built with.
        pub fn built_at(&self) -> i64 {
            self.layout.built_at
        }

        /// Sizes by part.
        pub fn stats(&self) -> IndexStats {
            stats(&self.bytes, &self.layout)
        }

        /// The index's bytes (what [`Index::write_to`] writes).
        pub fn as_bytes(&self) -> &[u8] {
            &self.bytes
        }

        #[inline(always)]
        fn raw(&self) -> Raw<'_> {
            Raw {
                b: &self.bytes,
                l: &self.layout,
            }
        }
    };
}

/// An index that owns its bytes (built by [`IndexBuilder`](crate::IndexBuilder)
/// or read into memory). Its memory is exactly its serialised form.
#[derive(Clone)]
pub struct Index {
    bytes: Vec<u8>,
    layout: Layout,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("indicators", &self.layout.n_ind)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Index {
    lookup_api!();

    pub(crate) fn from_vec_trusted(bytes: Vec<u8>) -> Index {
        let layout = Layout::parse(&bytes, false).expect("a freshly built index is valid");
        Index { bytes, layout }
    }

    /// Takes ownership of serialised bytes, validating them fully (header,
    /// bounds and body checksum).
    pub fn from_vec(bytes: Vec<u8>) -> Result<Index, LoadError> {
        let layout = Layout::parse(&bytes, true)?;
        Ok(Index { bytes, layout })
    }

    /// The serialised form (a copy of the bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The serialised form, without copying.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Writes the serialised form.
    pub fn write_to(&self, mut w: impl Write) -> io::Result<()> {
        w.write_all(&self.bytes)
    }

    /// A borrowed view (for code written against [`IndexView`]).
    pub fn view(&self) -> IndexView<'_> {
        IndexView {
            bytes: &self.bytes,
            layout: self.layout.clone(),
        }
    }
}

/// An index over borrowed bytes — typically a memory-mapped file. Loading
/// validates once; lookups then read the bytes in place.
#[derive(Clone)]
pub struct IndexView<'a> {
    bytes: &'a [u8],
    layout: Layout,
}

impl std::fmt::Debug for IndexView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexView")
            .field("indicators", &self.layout.n_ind)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl<'a> IndexView<'a> {
    lookup_api!();

    /// Validates `bytes` fully: magic, version, header checksum, total
    /// length, every section's bounds and size, and the body checksum (one
    /// pass over the bytes: a few milliseconds per 100 MB). Corrupt or
    /// truncated input is an error, never a panic.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<IndexView<'a>, LoadError> {
        Ok(IndexView {
            bytes,
            layout: Layout::parse(bytes, true)?,
        })
    }

    /// As [`from_bytes`](Self::from_bytes) without the body checksum: O(1).
    /// Damage inside sections then goes unnoticed (lookups may give wrong
    /// answers) but still never causes a panic.
    pub fn from_bytes_unverified(bytes: &'a [u8]) -> Result<IndexView<'a>, LoadError> {
        Ok(IndexView {
            bytes,
            layout: Layout::parse(bytes, false)?,
        })
    }

    /// Copies the bytes into an owned [`Index`].
    pub fn to_index(&self) -> Index {
        Index {
            bytes: self.bytes.to_vec(),
            layout: self.layout.clone(),
        }
    }
}
