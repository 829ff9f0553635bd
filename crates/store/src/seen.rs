//! A Bloom filter over the id hashes (`idh`) already stored, so the writer
//! can skip the duplicate lookup for ids it has certainly never seen — the
//! common case in bulk ingest. A "maybe" answer falls back to the lookup,
//! so a false positive costs one index probe and never a wrong outcome.
//!
//! Split-block layout (as in Parquet's bloom filters): an id's bits all lie
//! in one 64-byte block, one bit in each of its eight words, so an insert
//! or a lookup touches one cache line. The classic layout (seven bits
//! anywhere in a multi-megabyte array) cost seven cache misses per stored
//! object on the writer thread.

/// Bits per expected entry: 10 bits in blocks of 512 give about 1% false
/// positives.
const BITS_PER_ENTRY: u64 = 10;

/// One cache line: eight words, one bit set in each per entry.
type Block = [u64; 8];

/// Odd constants that pick each word's bit from the entry's hash.
const SALT: [u64; 8] = [
    0x47b6_137b_4497_4d91,
    0x8824_ad5b_a2b7_289d,
    0x7054_95c7_2df1_424b,
    0x9efc_4947_5c6b_fb31,
    0x2df1_424b_9efc_4947,
    0x5c6b_fb31_47b6_137b,
    0xa2b7_289d_7054_95c7,
    0x4497_4d91_8824_ad5b,
];

pub(crate) struct SeenIds {
    blocks: Vec<Block>,
    /// Number of blocks minus one (the block count is a power of two).
    mask: u64,
    count: u64,
    capacity: u64,
}

impl SeenIds {
    /// An empty filter sized for `capacity` entries (at least 1M).
    pub(crate) fn with_capacity(capacity: u64) -> SeenIds {
        let capacity = capacity.max(1 << 20);
        let n_blocks = (capacity * BITS_PER_ENTRY / 512).next_power_of_two();
        SeenIds {
            blocks: vec![[0; 8]; n_blocks as usize],
            mask: n_blocks - 1,
            count: 0,
            capacity,
        }
    }

    /// A filter that answers "maybe" for every id.
    pub(crate) fn saturated() -> SeenIds {
        SeenIds {
            blocks: vec![[u64::MAX; 8]],
            mask: 0,
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

    /// The block of `idh` and the bit of each of its words. `idh` is
    /// already a uniform hash: its low half picks the block, its high half
    /// (times a salt per word) the bits.
    fn locate(&self, idh: i64) -> (usize, Block) {
        let h = idh as u64;
        let block = (h & self.mask) as usize;
        let key = (h >> 32) | 1;
        let mut bits = [0u64; 8];
        for (b, salt) in bits.iter_mut().zip(SALT) {
            *b = 1 << (key.wrapping_mul(salt) >> 58);
        }
        (block, bits)
    }

    pub(crate) fn insert(&mut self, idh: i64) {
        let (block, bits) = self.locate(idh);
        for (w, b) in self.blocks[block].iter_mut().zip(bits) {
            *w |= b;
        }
        self.count += 1;
    }

    /// Whether `idh` may have been inserted before, inserting it if it
    /// certainly was not (so a second call with the same id answers
    /// `true`). The count grows only for ids not already present, so ids
    /// seen again do not bring the rebuild closer.
    pub(crate) fn check_and_insert(&mut self, idh: i64) -> bool {
        let (block, bits) = self.locate(idh);
        let words = &mut self.blocks[block];
        if words.iter().zip(bits).all(|(w, b)| w & b != 0) {
            return true;
        }
        for (w, b) in words.iter_mut().zip(bits) {
            *w |= b;
        }
        self.count += 1;
        false
    }

    /// False when `idh` was certainly never inserted.
    #[cfg(test)]
    pub(crate) fn may_contain(&self, idh: i64) -> bool {
        let (block, bits) = self.locate(idh);
        self.blocks[block].iter().zip(bits).all(|(w, b)| w & b != 0)
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

        /// The writer's one pass: an id checked once is "maybe" ever
        /// after, including later in the same group; it is counted once.
        #[test]
        fn check_and_insert_sees_what_it_inserted(ids in proptest::collection::vec(any::<i64>(), 0..2000)) {
            let mut s = SeenIds::with_capacity(0);
            let mut fresh = 0;
            for &i in &ids {
                if !s.check_and_insert(i) {
                    fresh += 1;
                }
                prop_assert!(s.check_and_insert(i));
                prop_assert!(s.may_contain(i));
            }
            prop_assert_eq!(s.count, fresh);
            let distinct: std::collections::HashSet<i64> = ids.iter().copied().collect();
            prop_assert!(s.count <= distinct.len() as u64);
        }
    }
}
