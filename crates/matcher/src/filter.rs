//! Split-block Bloom filters (the Parquet layout): 32-byte blocks of eight
//! 32-bit words, one bit set per word (k = 8), 8 bits per key (about 2–3%
//! false positives). A table's filter is about 1/10 of its slots, small
//! enough to stay in cache, so a miss usually costs no access to the
//! table itself.

const SALT: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

/// Filter bits per key.
pub(crate) const BITS_PER_KEY: usize = 8;

#[inline(always)]
fn block(h: u64, blocks: usize) -> usize {
    (((h >> 32) * blocks as u64) >> 32) as usize
}

#[inline(always)]
fn mask(x: u32) -> [u32; 8] {
    SALT.map(|s| 1u32 << (x.wrapping_mul(s) >> 27))
}

/// A filter over the 64-bit hashes `hs`.
pub(crate) fn build(hs: &[u64]) -> Vec<u8> {
    let blocks = (hs.len() * BITS_PER_KEY).div_ceil(256);
    let mut words = vec![0u32; blocks * 8];
    for &h in hs {
        let b = block(h, blocks);
        for (w, m) in words[b * 8..b * 8 + 8].iter_mut().zip(mask(h as u32)) {
            *w |= m;
        }
    }
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// False only if no key with hash `h` was added. An empty filter says
/// "maybe".
#[inline(always)]
pub(crate) fn may_contain(filter: &[[u8; 32]], h: u64) -> bool {
    let Some(blk) = filter.get(block(h, filter.len())) else {
        return true;
    };
    let m = mask(h as u32);
    let mut miss = 0u32;
    for (i, m) in m.iter().enumerate() {
        let w = u32::from_le_bytes([blk[4 * i], blk[4 * i + 1], blk[4 * i + 2], blk[4 * i + 3]]);
        miss |= !w & m;
    }
    miss == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_bytes;

    #[test]
    fn no_false_negatives_few_false_positives() {
        let hs: Vec<u64> = (0..20_000u32)
            .map(|i| hash_bytes(1, &i.to_le_bytes()))
            .collect();
        let f = build(&hs);
        let f = f.as_chunks::<32>().0;
        assert!(hs.iter().all(|&h| may_contain(f, h)));
        let fp = (20_000..120_000u32)
            .filter(|i| may_contain(f, hash_bytes(1, &i.to_le_bytes())))
            .count();
        assert!(fp < 4_000, "{fp} false positives in 100,000");
        assert!(may_contain(&[], 5));
    }
}
