//! A Bloom filter over the id hashes (`idh`) already stored, so the writer
//! can skip the duplicate lookup for ids it has certainly never seen — the
//! common case in bulk ingest. A "maybe" answer falls back to the lookup,
//! so a false positive costs one index probe and never a wrong outcome.

/// Bits per expected entry: 10 bits and 7 probes give about 1% false positives.
const BITS_PER_ENTRY: u64 = 10;
const PROBES: u64 = 7;

pub(crate) struct SeenIds {
    bits: Vec<u64>,
    /// Number of bits minus one (the bit count is a power of two).
    mask: u64,
    count: u64,
    capacity: u64,
}

impl SeenIds {
    /// An empty filter sized for `capacity` entries (at least 1M).
    pub(crate) fn with_capacity(capacity: u64) -> SeenIds {
        let capacity = capacity.max(1 << 20);
        let n_bits = (capacity * BITS_PER_ENTRY).next_power_of_two();
        SeenIds {
            bits: vec![0; (n_bits / 64) as usize],
            mask: n_bits - 1,
            count: 0,
            capacity,
        }
    }

    /// A filter that answers "maybe" for every id.
    pub(crate) fn saturated() -> SeenIds {
        SeenIds {
            bits: vec![u64::MAX; 1],
            mask: 63,
            count: 0,
            capacity: u64::MAX,
        }
    }

    /// The entries this filter was sized for.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Whether more entries went in than the filter was sized for (its
    /// false-positive rate then climbs: rebuild it bigger).
    pub(crate) fn is_over_capacity(&self) -> bool {
        self.count > self.capacity
    }

    fn probes(&self, idh: i64) -> impl Iterator<Item = u64> + '_ {
        // idh is already a uniform hash: double hashing from its two halves.
        let h = idh as u64;
        let h1 = h;
        let h2 = h.rotate_left(32) | 1;
        (0..PROBES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) & self.mask)
    }

    pub(crate) fn insert(&mut self, idh: i64) {
        let positions: [u64; PROBES as usize] = {
            let mut p = [0; PROBES as usize];
            for (slot, bit) in p.iter_mut().zip(self.probes(idh)) {
                *slot = bit;
            }
            p
        };
        for bit in positions {
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
        self.count += 1;
    }

    /// False when `idh` was certainly never inserted.
    pub(crate) fn may_contain(&self, idh: i64) -> bool {
        self.probes(idh)
            .all(|bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn false_positive_rate_is_about_one_percent() {
        let mut s = SeenIds::with_capacity(100_000);
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as i64
        };
        for _ in 0..s.capacity() {
            s.insert(next());
        }
        let fp = (0..100_000).filter(|_| s.may_contain(next())).count();
        assert!(fp < 2_000, "{fp} false positives in 100,000");
        assert!(!s.is_over_capacity());
    }

    proptest! {
        #[test]
        fn never_a_false_negative(ids in proptest::collection::vec(any::<i64>(), 0..2000)) {
            let mut s = SeenIds::with_capacity(0);
            for &i in &ids {
                s.insert(i);
            }
            for &i in &ids {
                prop_assert!(s.may_contain(i));
            }
        }
    }
}
