//! Static hash tables: sorted linear probing.
//!
//! A slot is 8 bytes, `(fp: u32, val: u32)` little-endian; `val ==
//! EMPTY` marks a free slot. An entry's home slot is `fp * cap >> 32`,
//! which grows with `fp`, and entries are placed in `fp` order at
//! `max(home, previous + 1)`, so the slot array is sorted by `fp` with gaps
//! (the table may run a little past `cap`; there is no wrap-around). A
//! lookup starts at its home and stops at a free slot or a larger `fp`: a
//! miss usually reads one cache line.
//!
//! Load factor 0.8 (`cap = n + n/4 + 1`).

pub(crate) const EMPTY: u32 = u32::MAX;

/// Capacity (home range) for `n` entries.
pub(crate) fn capacity(n: usize) -> u64 {
    if n == 0 { 0 } else { (n + n / 4 + 1) as u64 }
}

#[inline(always)]
pub(crate) fn home(fp: u32, cap: u64) -> usize {
    ((u64::from(fp) * cap) >> 32) as usize
}

/// Slots for entries `(fp, val)` already sorted by `fp`.
pub(crate) fn place(entries: &[(u32, u32)]) -> (Vec<u8>, u64) {
    let cap = capacity(entries.len());
    let mut slots: Vec<(u32, u32)> = vec![(0, EMPTY); cap as usize];
    let mut next = 0usize;
    for &(fp, val) in entries {
        debug_assert_ne!(val, EMPTY);
        let pos = home(fp, cap).max(next);
        if pos >= slots.len() {
            slots.push((0, EMPTY));
        }
        slots[pos] = (fp, val);
        next = pos + 1;
    }
    let mut bytes = Vec::with_capacity(slots.len() * 8);
    for (fp, val) in slots {
        bytes.extend_from_slice(&fp.to_le_bytes());
        bytes.extend_from_slice(&val.to_le_bytes());
    }
    (bytes, cap)
}

/// Finds the first slot with `fp` whose `val` satisfies `verify`.
#[inline(always)]
pub(crate) fn probe(
    slots: &[[u8; 8]],
    cap: u64,
    fp: u32,
    mut verify: impl FnMut(u32) -> bool,
) -> Option<u32> {
    let mut i = home(fp, cap);
    while let Some(s) = slots.get(i) {
        let w = u64::from_le_bytes(*s);
        let (sfp, val) = (w as u32, (w >> 32) as u32);
        if val == EMPTY || sfp > fp {
            return None;
        }
        if sfp == fp && verify(val) {
            return Some(val);
        }
        i += 1;
    }
    None
}

/// Fingerprint of a 64-bit hash.
#[inline(always)]
pub(crate) fn fp_of(h: u64) -> u32 {
    (h >> 32) as u32
}

/// A variable-length record: length (1 byte below 128, else 2 bytes,
/// low 7 bits first with the high bit set), posting, key bytes.
pub(crate) fn push_var_record(recs: &mut Vec<u8>, key: &[u8], posting: u32) -> u32 {
    let off = recs.len() as u32;
    let n = key.len();
    debug_assert!(n < 1 << 14);
    if n < 128 {
        recs.push(n as u8);
    } else {
        recs.push(0x80 | (n & 0x7f) as u8);
        recs.push((n >> 7) as u8);
    }
    recs.extend_from_slice(&posting.to_le_bytes());
    recs.extend_from_slice(key);
    off
}

/// Reads the variable record at `off`: (posting, key).
#[inline(always)]
pub(crate) fn var_record(recs: &[u8], off: u32) -> Option<(u32, &[u8])> {
    let off = off as usize;
    let b0 = *recs.get(off)?;
    let (len, at) = if b0 < 128 {
        (usize::from(b0), off + 1)
    } else {
        (
            usize::from(b0 & 0x7f) | (usize::from(*recs.get(off + 1)?) << 7),
            off + 2,
        )
    };
    let p = recs.get(at..at + 4)?;
    let posting = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
    let key = recs.get(at + 4..at + 4 + len)?;
    Some((posting, key))
}

/// Reads the fixed record `i` of width `w`: (posting, key).
#[inline(always)]
pub(crate) fn fixed_record(recs: &[u8], w: usize, i: u32) -> Option<(u32, &[u8])> {
    let at = i as usize * (w + 4);
    let r = recs.get(at..at + w + 4)?;
    let (key, p) = r.split_at(w);
    Some((u32::from_le_bytes([p[0], p[1], p[2], p[3]]), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_and_probe() {
        let mut e: Vec<(u32, u32)> = (0..1000u32).map(|i| (crate::hash::fmix32(i), i)).collect();
        e.push((u32::MAX, 5000));
        e.push((u32::MAX, 5001));
        e.push((0, 6000));
        e.sort_unstable();
        let (bytes, cap) = place(&e);
        let slots = bytes.as_chunks::<8>().0;
        for &(fp, val) in &e {
            assert_eq!(probe(slots, cap, fp, |v| v == val), Some(val));
        }
        for i in 1000..3000u32 {
            assert_eq!(probe(slots, cap, crate::hash::fmix32(i), |_| true), None);
        }
        assert_eq!(probe(&[], 0, 7, |_| true), None);
    }

    #[test]
    fn records() {
        let mut r = Vec::new();
        let a = push_var_record(&mut r, b"abc", 7);
        let long = vec![b'x'; 300];
        let b = push_var_record(&mut r, &long, 9);
        assert_eq!(var_record(&r, a), Some((7, &b"abc"[..])));
        assert_eq!(var_record(&r, b), Some((9, &long[..])));
        assert_eq!(var_record(&r, r.len() as u32 - 1), None);
        assert_eq!(var_record(&r, 10_000), None);
    }
}
