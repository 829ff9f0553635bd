//! The index a match looks up: a base index (just built, or a saved file)
//! and, over a saved base, a small index of the indicators changed in the
//! store since the base was saved ([`super::load`]). A changed indicator's
//! base ordinal is masked (never live), and its current version is in the
//! delta, whose ordinals follow the base's.

use accord_matcher::{IndexStats, IndexView};
use std::net::IpAddr;

/// The base index, the masked base ordinals and the delta index.
#[derive(Clone)]
pub struct Layers<'a> {
    base: IndexView<'a>,
    base_n: u32,
    /// One bit per base ordinal: set when the indicator changed since.
    masked: &'a [u64],
    delta: Option<IndexView<'a>>,
}

impl<'a> Layers<'a> {
    /// A base alone.
    pub(crate) fn base(base: IndexView<'a>) -> Layers<'a> {
        Layers {
            base_n: base.indicator_count() as u32,
            base,
            masked: &[],
            delta: None,
        }
    }

    /// A base, its masked ordinals (a bit set) and a delta.
    pub(crate) fn with_delta(
        base: IndexView<'a>,
        masked: &'a [u64],
        delta: IndexView<'a>,
    ) -> Layers<'a> {
        Layers {
            base_n: base.indicator_count() as u32,
            base,
            masked,
            delta: Some(delta),
        }
    }

    /// The first delta ordinal (the base's indicator count).
    pub fn base_count(&self) -> u32 {
        self.base_n
    }

    #[inline]
    fn both(
        &self,
        out: &mut Vec<u32>,
        f: impl Fn(&IndexView<'a>, &mut Vec<u32>) -> usize,
    ) -> usize {
        let n = f(&self.base, out);
        match &self.delta {
            None => n,
            Some(d) => {
                let start = out.len();
                let m = f(d, out);
                for o in &mut out[start..] {
                    *o += self.base_n;
                }
                n + m
            }
        }
    }

    /// See [`IndexView::lookup_ip`]; base ordinals first, then the delta's.
    #[inline]
    pub fn lookup_ip(&self, ip: IpAddr, out: &mut Vec<u32>) -> usize {
        self.both(out, |v, o| v.lookup_ip(ip, o))
    }

    /// See [`IndexView::lookup_domain`].
    #[inline]
    pub fn lookup_domain(&self, name: &[u8], out: &mut Vec<u32>) -> usize {
        self.both(out, |v, o| v.lookup_domain(name, o))
    }

    /// See [`IndexView::lookup_url`].
    #[inline]
    pub fn lookup_url(&self, url: &[u8], out: &mut Vec<u32>) -> usize {
        self.both(out, |v, o| v.lookup_url(url, o))
    }

    /// See [`IndexView::lookup_email`].
    #[inline]
    pub fn lookup_email(&self, addr: &[u8], out: &mut Vec<u32>) -> usize {
        self.both(out, |v, o| v.lookup_email(addr, o))
    }

    /// See [`IndexView::lookup_hash`].
    #[inline]
    pub fn lookup_hash(&self, hex: &[u8], out: &mut Vec<u32>) -> usize {
        self.both(out, |v, o| v.lookup_hash(hex, o))
    }

    fn is_masked(&self, ord: u32) -> bool {
        self.masked
            .get(ord as usize / 64)
            .is_some_and(|w| w & (1 << (ord % 64)) != 0)
    }

    /// Whether the indicator of `ord` is live at `now_unix`: a masked base
    /// ordinal never is.
    #[inline]
    pub fn is_live(&self, ord: u32, now_unix: i64) -> bool {
        if ord < self.base_n {
            !self.is_masked(ord) && self.base.is_live(ord, now_unix)
        } else {
            self.delta
                .as_ref()
                .is_some_and(|d| d.is_live(ord - self.base_n, now_unix))
        }
    }

    /// The `indicator--…` id of `ord`.
    pub fn indicator_id_string(&self, ord: u32) -> Option<String> {
        if ord < self.base_n {
            self.base.indicator_id_string(ord)
        } else {
            self.delta.as_ref()?.indicator_id_string(ord - self.base_n)
        }
    }

    /// The base's statistics, with the delta's indicators and bytes added.
    pub fn stats(&self) -> IndexStats {
        let mut s = self.base.stats();
        if let Some(d) = &self.delta {
            let ds = d.stats();
            s.indicators += ds.indicators;
            s.total_bytes += ds.total_bytes;
            for (k, n) in &mut s.keys {
                if let Some((_, m)) = ds.keys.iter().find(|(dk, _)| dk == k) {
                    *n += m;
                }
            }
        }
        s
    }
}

/// A bit set of `n` bits, all clear.
pub(crate) fn bitset(n: usize) -> Vec<u64> {
    vec![0; n.div_ceil(64)]
}

/// Sets bit `i`.
pub(crate) fn set_bit(bits: &mut [u64], i: u32) {
    if let Some(w) = bits.get_mut(i as usize / 64) {
        *w |= 1 << (i % 64);
    }
}
