//! Prefixes (CIDRs shorter than a single address) as disjoint intervals.
//!
//! Every prefix is a node `(posting, parent)` where `parent` is the nearest
//! enclosing prefix (nodes are sorted by start, then length, so a parent
//! always has a smaller index). The address space is cut into elementary
//! intervals; each records the innermost prefix covering it (or none). A
//! lookup finds the interval containing the address — a directory on the
//! top `bits` bits, then a binary search inside the bucket — and walks the
//! parent chain, which yields every covering prefix, longest first.

/// No node.
pub(crate) const NONE: u32 = u32::MAX;

/// Built form: `N` is the address width in bytes (4 or 16).
pub(crate) struct BuiltCidr {
    pub bits: u32,
    pub dir: Vec<u8>,
    pub intervals: Vec<u8>,
    pub nodes: Vec<u8>,
    pub n_intervals: usize,
    pub n_nodes: usize,
}

/// Builds from distinct prefixes `(first address, last address, posting)`
/// of an address space `width_bits` wide (addresses right-aligned in u128).
pub(crate) fn build<const N: usize>(mut prefixes: Vec<(u128, u128, u32)>) -> BuiltCidr {
    let width_bits = N as u32 * 8;
    // Sort by start, then by size descending (enclosing first).
    prefixes.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut nodes = Vec::with_capacity(prefixes.len() * 8);
    let mut intervals: Vec<(u128, u32)> = Vec::with_capacity(prefixes.len() * 2 + 1);
    let mut stack: Vec<(u128, u32)> = Vec::new(); // (end, node)
    fn emit(iv: &mut Vec<(u128, u32)>, start: u128, node: u32) {
        if let Some(last) = iv.last_mut()
            && last.0 == start
        {
            last.1 = node;
            let n = iv.len();
            if n >= 2 && iv[n - 2].1 == node {
                iv.pop();
            }
            return;
        }
        if iv.last().map_or(node != NONE, |l| l.1 != node) {
            iv.push((start, node));
        }
    }
    for (i, &(start, end, posting)) in prefixes.iter().enumerate() {
        let node = i as u32;
        while let Some(&(top_end, _)) = stack.last() {
            if top_end >= start {
                break;
            }
            stack.pop();
            let parent = stack.last().map_or(NONE, |t| t.1);
            emit(&mut intervals, top_end + 1, parent);
        }
        let parent = stack.last().map_or(NONE, |t| t.1);
        nodes.extend_from_slice(&posting.to_le_bytes());
        nodes.extend_from_slice(&parent.to_le_bytes());
        emit(&mut intervals, start, node);
        stack.push((end, node));
    }
    let max = if width_bits == 128 {
        u128::MAX
    } else {
        (1u128 << width_bits) - 1
    };
    while let Some((top_end, _)) = stack.pop() {
        if top_end < max {
            let parent = stack.last().map_or(NONE, |t| t.1);
            emit(&mut intervals, top_end + 1, parent);
        }
    }
    let n = intervals.len();
    // About four intervals per directory bucket.
    let bits = if n == 0 {
        0
    } else {
        (usize::BITS - n.leading_zeros())
            .saturating_sub(2)
            .clamp(1, 16)
    };
    let mut dir = Vec::new();
    if n > 0 {
        let shift = width_bits - bits;
        let mut i = 0usize;
        for j in 0..=(1u128 << bits) {
            while i < n && (intervals[i].0 >> shift) < j {
                i += 1;
            }
            dir.extend_from_slice(&(i as u32).to_le_bytes());
        }
    }
    let mut iv = Vec::with_capacity(n * (N + 4));
    for &(s, v) in &intervals {
        iv.extend_from_slice(&s.to_le_bytes()[..N]);
        iv.extend_from_slice(&v.to_le_bytes());
    }
    BuiltCidr {
        bits,
        dir,
        intervals: iv,
        nodes,
        n_intervals: n,
        n_nodes: prefixes.len(),
    }
}

/// A loaded prefix set (slices of the index bytes).
#[derive(Clone, Copy)]
pub(crate) struct Cidr<'a, const N: usize> {
    pub bits: u32,
    pub dir: &'a [[u8; 4]],
    /// `(start: N bytes, innermost node: u32)` each.
    pub intervals: &'a [u8],
    pub nodes: &'a [[u8; 8]],
}

#[inline(always)]
fn addr<const N: usize>(b: &[u8]) -> u128 {
    let mut t = [0u8; 16];
    t[..N].copy_from_slice(b);
    u128::from_le_bytes(t)
}

#[inline(always)]
fn u32_at(s: &[[u8; 4]], i: usize) -> Option<u32> {
    s.get(i).map(|b| u32::from_le_bytes(*b))
}

impl<const N: usize> Cidr<'_, N> {
    /// Calls `f(posting)` for every prefix containing `a`, innermost first.
    #[inline]
    pub fn lookup(&self, a: u128, mut f: impl FnMut(u32)) {
        if self.intervals.is_empty() || self.bits == 0 || self.bits > 16 {
            return;
        }
        let j = (a >> (N as u32 * 8 - self.bits)) as usize;
        let (Some(lo), Some(hi)) = (u32_at(self.dir, j), u32_at(self.dir, j + 1)) else {
            return;
        };
        let stride = N + 4;
        let start_at = |i: usize| {
            self.intervals
                .get(i.saturating_mul(stride)..)
                .and_then(|b| b.get(..N))
                .map(addr::<N>)
        };
        // First interval in the bucket starting after `a`.
        let (mut lo, mut hi) = (lo as usize, hi as usize);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match start_at(mid) {
                Some(s) if s <= a => lo = mid + 1,
                Some(_) => hi = mid,
                None => return,
            }
        }
        if lo == 0 {
            return;
        }
        let Some(v) = self
            .intervals
            .get((lo - 1).saturating_mul(stride).saturating_add(N)..)
            .and_then(|b| b.get(..4))
        else {
            return;
        };
        let mut node = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
        while let Some(n) = self.nodes.get(node as usize) {
            let posting = u32::from_le_bytes([n[0], n[1], n[2], n[3]]);
            let parent = u32::from_le_bytes([n[4], n[5], n[6], n[7]]);
            f(posting);
            // Parents precede children; anything else is corruption and
            // must not loop.
            if parent >= node {
                break;
            }
            node = parent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks<const K: usize>(v: &[u8]) -> &[[u8; K]] {
        v.as_chunks::<K>().0
    }

    fn find(b: &BuiltCidr, a: u32) -> Vec<u32> {
        let c = Cidr::<4> {
            bits: b.bits,
            dir: chunks(&b.dir),
            intervals: &b.intervals,
            nodes: chunks(&b.nodes),
        };
        let mut v = Vec::new();
        c.lookup(u128::from(a), |p| v.push(p));
        v
    }

    fn p(a: u32, len: u32, posting: u32) -> (u128, u128, u32) {
        let size = 1u128 << (32 - len);
        (u128::from(a), u128::from(a) + size - 1, posting)
    }

    #[test]
    fn nested_and_disjoint() {
        let b = build::<4>(vec![
            p(0x0A00_0000, 8, 1),
            p(0x0A01_0000, 16, 2),
            p(0x0A01_0200, 24, 3),
            p(0x0A01_0203, 31, 4),
            p(0xFFFF_FF00, 24, 5),
            p(0x0000_0000, 0, 6),
        ]);
        assert_eq!(find(&b, 0x0A01_0203), [4, 3, 2, 1, 6]);
        assert_eq!(find(&b, 0x0A01_0202), [3, 2, 1, 6]);
        assert_eq!(find(&b, 0x0A01_0300), [2, 1, 6]);
        assert_eq!(find(&b, 0x0A02_0000), [1, 6]);
        assert_eq!(find(&b, 0x0B00_0000), [6]);
        assert_eq!(find(&b, 0xFFFF_FFFF), [5, 6]);
        assert_eq!(find(&b, 0), [6]);
    }

    #[test]
    fn empty_and_edges() {
        let b = build::<4>(vec![]);
        assert!(find(&b, 1).is_empty());
        let b = build::<4>(vec![p(0x0A00_0000, 8, 1)]);
        assert!(find(&b, 0x09FF_FFFF).is_empty());
        assert_eq!(find(&b, 0x0A00_0000), [1]);
        assert_eq!(find(&b, 0x0AFF_FFFF), [1]);
        assert!(find(&b, 0x0B00_0000).is_empty());
        assert!(find(&b, u32::MAX).is_empty());
    }
}
