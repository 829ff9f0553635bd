//! [`IndexBuilder`]: collects indicators and keys, then lays out the index.

use std::net::IpAddr;

use crate::format::{self, Tab, Writer};
use crate::hash::{hash_bytes, v4_hash};
use crate::key::{
    HashAlg, Key, KeyError, MAX_KEY_LEN, canonical_ip, normalize_email, normalize_url,
};
use crate::table::{self, fp_of};
use crate::{Index, IndicatorMeta};
use crate::{cidr, filter};

/// Most indicators one index holds (ordinals keep the top bit free).
pub const MAX_INDICATORS: usize = (1 << 31) - 1;

/// An index could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// `add_key` named an ordinal that `add_indicator` never returned.
    #[error("unknown indicator ordinal {ordinal} (the builder has {count} indicators)")]
    UnknownOrdinal {
        /// The ordinal given.
        ordinal: u32,
        /// How many indicators the builder has.
        count: usize,
    },
    /// The key is not valid (see [`KeyError`]).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A section outgrew the 32-bit offsets of the format.
    #[error("index too large: {what} exceeds the format's 32-bit limit")]
    TooLarge {
        /// Which part.
        what: &'static str,
    },
}

/// An index could not be built and written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// It could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// It could not be written.
    #[error("writing the index: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Default)]
struct TabKeys {
    arena: Vec<u8>,
    items: Vec<Item>,
}

struct Item {
    hash: u64,
    off: usize,
    len: u32,
    ord: u32,
}

impl TabKeys {
    fn finish_item(&mut self, tab: Tab, start: usize, ord: u32) {
        let key = &self.arena[start..];
        self.items.push(Item {
            hash: hash_bytes(tab.seed(), key),
            off: start,
            len: key.len() as u32,
            ord,
        });
    }
}

/// Collects indicators and their keys; [`IndexBuilder::build`] makes the
/// [`Index`].
///
/// ```
/// use accord_matcher::{IndexBuilder, IndicatorMeta, Key};
/// let mut b = IndexBuilder::new(1_700_000_000);
/// let ord = b.add_indicator(IndicatorMeta { id: [7; 16], valid_until: None, revoked: false });
/// b.add_key(ord, Key::domain("evil.example").unwrap()).unwrap();
/// let index = b.build().unwrap();
/// let mut hits = Vec::new();
/// index.lookup_domain(b"www.EVIL.example.", &mut hits);
/// assert_eq!(hits, [ord]);
/// ```
pub struct IndexBuilder {
    now: i64,
    metas: Vec<IndicatorMeta>,
    v4_exact: Vec<(u32, u32)>,
    v4_cidr: Vec<(u32, u8, u32)>,
    v6_cidr: Vec<(u128, u8, u32)>,
    tabs: [TabKeys; Tab::COUNT],
}

impl IndexBuilder {
    /// A builder for an index built at `now_unix` (seconds): indicators
    /// revoked or with `valid_until <= now_unix` are left out of the key
    /// tables.
    pub fn new(now_unix: i64) -> Self {
        IndexBuilder {
            now: now_unix,
            metas: Vec::new(),
            v4_exact: Vec::new(),
            v4_cidr: Vec::new(),
            v6_cidr: Vec::new(),
            tabs: Default::default(),
        }
    }

    /// Adds an indicator; returns its ordinal (0, 1, 2, … in call order).
    ///
    /// # Panics
    /// Beyond [`MAX_INDICATORS`] indicators.
    pub fn add_indicator(&mut self, meta: IndicatorMeta) -> u32 {
        assert!(
            self.metas.len() < MAX_INDICATORS,
            "more than {MAX_INDICATORS} indicators"
        );
        self.metas.push(meta);
        (self.metas.len() - 1) as u32
    }

    /// Number of indicators added so far.
    pub fn indicator_count(&self) -> usize {
        self.metas.len()
    }

    /// [`IndexBuilder::add_key`] for a key in normal form, as
    /// [`Key::domain`], [`Key::url`], [`Key::email`], [`Key::ip_cidr`],
    /// [`Key::hash_hex`] and [`Key::normalized`] give it: a domain, URL or
    /// e-mail address is not normalised again (normalising is
    /// idempotent, so the index is the same). A text key in another form
    /// is stored as given, and then not found.
    pub fn add_normalized_key(&mut self, ordinal: u32, key: Key) -> Result<(), BuildError> {
        let (tab, s) = match key {
            Key::Domain(s) => (Tab::Domain, s),
            Key::Url(s) => (Tab::Url, s),
            Key::Email(s) => (Tab::Email, s),
            other => return self.add_key(ordinal, other),
        };
        if ordinal as usize >= self.metas.len() {
            return Err(BuildError::UnknownOrdinal {
                ordinal,
                count: self.metas.len(),
            });
        }
        if s.len() > MAX_KEY_LEN && tab != Tab::Domain {
            let reason = "longer than 8192 bytes";
            return Err(match tab {
                Tab::Url => KeyError::Url { input: s, reason },
                _ => KeyError::Email { input: s, reason },
            }
            .into());
        }
        let t = &mut self.tabs[tab as usize];
        let start = t.arena.len();
        t.arena.extend_from_slice(s.as_bytes());
        t.finish_item(tab, start, ordinal);
        Ok(())
    }

    /// Adds a key of indicator `ordinal`. The key is normalised again (a
    /// key made directly from the [`Key`] variants is fine); the same key
    /// may belong to many indicators and an indicator may have many keys.
    pub fn add_key(&mut self, ordinal: u32, key: Key) -> Result<(), BuildError> {
        if ordinal as usize >= self.metas.len() {
            return Err(BuildError::UnknownOrdinal {
                ordinal,
                count: self.metas.len(),
            });
        }
        let ord = ordinal;
        match key {
            Key::Ip(addr, len) => {
                let (addr, len) = canonical_ip(addr, len).ok_or_else(|| KeyError::Ip {
                    input: format!("{addr}/{len}"),
                    reason: "prefix length out of range",
                })?;
                match addr {
                    IpAddr::V4(a) if len == 32 => self.v4_exact.push((u32::from(a), ord)),
                    IpAddr::V4(a) => self.v4_cidr.push((u32::from(a), len, ord)),
                    IpAddr::V6(a) if len == 128 => {
                        let t = &mut self.tabs[Tab::V6 as usize];
                        let start = t.arena.len();
                        t.arena.extend_from_slice(&a.octets());
                        t.finish_item(Tab::V6, start, ord);
                    }
                    IpAddr::V6(a) => self.v6_cidr.push((u128::from(a), len, ord)),
                }
            }
            Key::Hash(alg, digest) => {
                if digest.len() != alg.digest_len() {
                    return Err(KeyError::Hash {
                        input: crate::key::hex(&digest),
                        reason: "length does not match the algorithm",
                    }
                    .into());
                }
                let tab = Tab::hash(alg);
                let t = &mut self.tabs[tab as usize];
                let start = t.arena.len();
                t.arena.extend_from_slice(&digest);
                t.finish_item(tab, start, ord);
            }
            Key::Domain(s) => {
                let t = &mut self.tabs[Tab::Domain as usize];
                let start = t.arena.len();
                // Validation needs the strict path; it writes nothing on error.
                match Key::domain(&s)? {
                    Key::Domain(d) => t.arena.extend_from_slice(d.as_bytes()),
                    _ => unreachable!("Key::domain returns a domain"),
                }
                t.finish_item(Tab::Domain, start, ord);
            }
            Key::Url(s) => {
                let t = &mut self.tabs[Tab::Url as usize];
                let start = t.arena.len();
                let r = normalize_url(s.as_bytes(), &mut t.arena);
                let len = t.arena.len() - start;
                if let Err(reason) = r {
                    t.arena.truncate(start);
                    return Err(KeyError::Url { input: s, reason }.into());
                }
                if len > MAX_KEY_LEN {
                    t.arena.truncate(start);
                    return Err(KeyError::Url {
                        input: s,
                        reason: "longer than 8192 bytes",
                    }
                    .into());
                }
                t.finish_item(Tab::Url, start, ord);
            }
            Key::Email(s) => {
                let t = &mut self.tabs[Tab::Email as usize];
                let start = t.arena.len();
                let r = normalize_email(s.as_bytes(), &mut t.arena, true);
                if let Err(reason) = r {
                    t.arena.truncate(start);
                    return Err(KeyError::Email { input: s, reason }.into());
                }
                if t.arena.len() - start > MAX_KEY_LEN {
                    t.arena.truncate(start);
                    return Err(KeyError::Email {
                        input: s,
                        reason: "longer than 8192 bytes",
                    }
                    .into());
                }
                t.finish_item(Tab::Email, start, ord);
            }
        }
        Ok(())
    }

    /// Lays out the index.
    pub fn build(self) -> Result<Index, BuildError> {
        self.build_with_threads(1)
    }

    /// [`IndexBuilder::build`] with its sorts (the IPv4 addresses', each
    /// key table's) spread over up to `threads` threads: the same index,
    /// byte for byte.
    pub fn build_with_threads(self, threads: usize) -> Result<Index, BuildError> {
        Ok(Index::from_vec_trusted(self.lay_out(threads)?.finish()))
    }

    /// [`IndexBuilder::build_with_threads`]'s bytes written to `out`
    /// (an index file), without laying them out in memory first.
    pub fn build_to(self, threads: usize, out: &mut impl std::io::Write) -> Result<(), WriteError> {
        self.lay_out(threads)?.finish_to(out)?;
        Ok(())
    }

    /// The index's parts, for [`Writer::finish`] or [`Writer::finish_to`].
    fn lay_out(self, threads: usize) -> Result<Writer, BuildError> {
        // Each part of the builder is dropped once laid out: the keys and
        // the laid-out index are not all held at once.
        let IndexBuilder {
            now,
            metas,
            v4_exact,
            v4_cidr,
            v6_cidr,
            tabs: builder_tabs,
        } = self;
        let mut builder_tabs = builder_tabs;
        let live: Vec<bool> = metas.iter().map(|m| m.is_live(now)).collect();
        let is_live = |o: u32| live[o as usize];
        let mut postings = Postings::default();
        let mut w = Writer::default();

        // Indicator table.
        let n = metas.len();
        let mut ids = Vec::with_capacity(n * 16);
        let mut valid = Vec::with_capacity(n * 8);
        let mut flags = Vec::with_capacity(n);
        for m in &metas {
            ids.extend_from_slice(&m.id);
            valid.extend_from_slice(&m.valid_until.unwrap_or(0).to_le_bytes());
            flags.push(u8::from(m.revoked) | (u8::from(m.valid_until.is_some()) << 1));
        }
        drop(metas);

        // IPv4 addresses: fingerprint = fmix32(address), a bijection;
        // sorted with the key tables.
        let v4 = sort_keys(&live, v4_exact, &mut builder_tabs, threads);
        let mut v4_entries = Vec::with_capacity(v4.len());
        let mut v4_hashes = Vec::with_capacity(v4.len());
        for group in v4.chunk_by(|a, b| a.0 == b.0) {
            let p = postings.add(group.iter().map(|e| e.1))?;
            v4_entries.push((fp_of(group[0].0), p));
            v4_hashes.push(group[0].0);
        }
        drop(v4);
        let (v4_slots, v4_cap) = table::place(&v4_entries);
        let v4_filter = filter::build(&v4_hashes);
        drop(v4_hashes);

        // Prefixes.
        let c4 = {
            let mut v: Vec<_> = v4_cidr.iter().filter(|e| is_live(e.2)).copied().collect();
            v.sort_unstable();
            let mut pre = Vec::new();
            for g in v.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                let start = u128::from(g[0].0);
                let size = 1u128 << (32 - u32::from(g[0].1));
                pre.push((
                    start,
                    start + size - 1,
                    postings.add(g.iter().map(|e| e.2))?,
                ));
            }
            cidr::build::<4>(pre)
        };
        let c6 = {
            let mut v: Vec<_> = v6_cidr.iter().filter(|e| is_live(e.2)).copied().collect();
            v.sort_unstable();
            let mut pre = Vec::new();
            for g in v.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                let start = g[0].0;
                let host = if g[0].1 == 0 {
                    u128::MAX
                } else {
                    (1u128 << (128 - u32::from(g[0].1))) - 1
                };
                pre.push((start, start | host, postings.add(g.iter().map(|e| e.2))?));
            }
            cidr::build::<16>(pre)
        };

        // Key tables.
        let mut tabs = Vec::with_capacity(Tab::COUNT);
        for (i, t) in builder_tabs.into_iter().enumerate() {
            let tab = Tab::ALL[i];
            let arena = &t.arena;
            // (Live items only, sorted: `sort_keys`.)
            let key = |it: &Item| &arena[it.off..it.off + it.len as usize];
            let mut recs = Vec::new();
            let mut entries = Vec::new();
            let mut hashes = Vec::new();
            let (mut min_len, mut max_len) = (usize::MAX, 0);
            for g in t
                .items
                .chunk_by(|a, b| a.hash == b.hash && key(a) == key(b))
            {
                let k = key(&g[0]);
                min_len = min_len.min(k.len());
                max_len = max_len.max(k.len());
                let p = postings.add(g.iter().map(|e| e.ord))?;
                let val = match tab.width() {
                    0 => table::push_var_record(&mut recs, k, p),
                    _ => {
                        let idx = entries.len() as u32;
                        recs.extend_from_slice(k);
                        recs.extend_from_slice(&p.to_le_bytes());
                        idx
                    }
                };
                if recs.len() >= u32::MAX as usize {
                    return Err(BuildError::TooLarge { what: tab.name() });
                }
                entries.push((fp_of(g[0].hash), val));
                hashes.push(g[0].hash);
            }
            if entries.is_empty() {
                min_len = 0;
            }
            let (slots, cap) = table::place(&entries);
            tabs.push(format::BuiltTab {
                filter: filter::build(&hashes),
                slots,
                recs,
                cap,
                n: entries.len() as u64,
                min_len,
                max_len,
            });
        }

        w.param(now as u64);
        w.param(n as u64);
        w.param(v4_cap);
        w.param(v4_entries.len() as u64);
        for c in [&c4, &c6] {
            w.param(u64::from(c.bits));
            w.param(c.n_intervals as u64);
            w.param(c.n_nodes as u64);
        }
        for t in &tabs {
            w.param(t.cap);
            w.param(t.n);
            w.param(t.min_len as u64);
            w.param(t.max_len as u64);
        }
        w.section(ids);
        w.section(valid);
        w.section(flags);
        w.section(postings.bytes());
        w.section(v4_filter);
        w.section(v4_slots);
        for c in [c4, c6] {
            w.section(c.dir);
            w.section(c.intervals);
            w.section(c.nodes);
        }
        for t in tabs {
            w.section(t.filter);
            w.section(t.slots);
            w.section(t.recs);
        }
        Ok(w)
    }
}

/// The live IPv4 addresses as (hash, ordinal), sorted, and each key
/// table's live items sorted by (hash, key, ordinal): the build's sorts,
/// on up to `threads` threads (each part whole on one, so the order is
/// the same however they are spread).
fn sort_keys(
    live: &[bool],
    v4_exact: Vec<(u32, u32)>,
    tabs: &mut [TabKeys; Tab::COUNT],
    threads: usize,
) -> Vec<(u64, u32)> {
    enum Part<'a> {
        V4(Vec<(u32, u32)>),
        Tab(&'a mut TabKeys),
    }
    let is_live = |o: u32| live[o as usize];
    let run = |p: Part<'_>| -> Option<Vec<(u64, u32)>> {
        match p {
            Part::V4(v4_exact) => {
                let mut v4: Vec<(u64, u32)> = v4_exact
                    .iter()
                    .filter(|e| is_live(e.1))
                    .map(|&(a, o)| (v4_hash(a), o))
                    .collect();
                drop(v4_exact);
                v4.sort_unstable();
                Some(v4)
            }
            Part::Tab(t) => {
                let arena = &t.arena;
                t.items.retain(|it| is_live(it.ord));
                let key = |it: &Item| &arena[it.off..it.off + it.len as usize];
                t.items.sort_unstable_by(|a, b| {
                    a.hash
                        .cmp(&b.hash)
                        .then_with(|| key(a).cmp(key(b)))
                        .then(a.ord.cmp(&b.ord))
                });
                None
            }
        }
    };
    let size = |p: &Part<'_>| match p {
        Part::V4(v) => v.len(),
        Part::Tab(t) => t.items.len(),
    };
    let mut parts: Vec<Part<'_>> = vec![Part::V4(v4_exact)];
    parts.extend(tabs.iter_mut().map(Part::Tab));
    // The largest first, each to the least loaded thread.
    parts.sort_by_key(|p| std::cmp::Reverse(size(p)));
    let n = threads.clamp(1, 16).min(parts.len());
    let mut groups: Vec<(usize, Vec<Part<'_>>)> = (0..n).map(|_| (0, Vec::new())).collect();
    for p in parts {
        let g = groups
            .iter_mut()
            .min_by_key(|g| g.0)
            .expect("one group at least");
        g.0 += size(&p);
        g.1.push(p);
    }
    // Every part of a group (the IPv4 part's result kept).
    let run_all = |g: Vec<Part<'_>>| g.into_iter().fold(None, |v4, p| run(p).or(v4));
    let mut groups = groups.into_iter().map(|g| g.1);
    let first = groups.next().unwrap_or_default();
    std::thread::scope(|s| {
        let others: Vec<_> = groups.map(|g| s.spawn(move || run_all(g))).collect();
        let mut v4 = run_all(first);
        for h in others {
            if let Some(v) = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)) {
                v4 = Some(v);
            }
        }
        v4.unwrap_or_default()
    })
}

/// Multi-indicator posting lists: `[count, ordinal…]` in one `u32` array;
/// a posting value with the top bit set is `0x8000_0000 | index`.
#[derive(Default)]
struct Postings(Vec<u32>);

impl Postings {
    fn add(&mut self, ords: impl Iterator<Item = u32>) -> Result<u32, BuildError> {
        let start = self.0.len();
        self.0.push(0);
        self.0.extend(ords);
        let list = &mut self.0[start + 1..];
        list.sort_unstable();
        let mut k = 0;
        for i in 0..list.len() {
            if i == 0 || list[i] != list[k - 1] {
                list[k] = list[i];
                k += 1;
            }
        }
        if k == 1 {
            let single = self.0[start + 1];
            self.0.truncate(start);
            return Ok(single);
        }
        self.0.truncate(start + 1 + k);
        self.0[start] = k as u32;
        if start >= (1 << 31) - 1 {
            return Err(BuildError::TooLarge {
                what: "posting lists",
            });
        }
        Ok(0x8000_0000 | start as u32)
    }

    fn bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
}

impl Tab {
    fn hash(alg: HashAlg) -> Tab {
        match alg {
            HashAlg::Md5 => Tab::Md5,
            HashAlg::Sha1 => Tab::Sha1,
            HashAlg::Sha256 => Tab::Sha256,
            HashAlg::Sha512 => Tab::Sha512,
        }
    }
}
