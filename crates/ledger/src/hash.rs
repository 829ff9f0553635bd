//! RFC 9162 §2.1 hashing: leaves, interior nodes, the empty tree.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::fmt;

use crate::Error;

/// Size of a SHA-256 hash in bytes.
pub const HASH_SIZE: usize = 32;

/// A SHA-256 Merkle tree hash (leaf, interior node or root).
///
/// `Display` is standard base64, as in checkpoints and tiles' JSON siblings;
/// `Debug` is lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = Hash(tlog_tiles::EMPTY_HASH.0);

impl Hash {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        lower_hex(&self.0, &mut [0; 2 * HASH_SIZE]).to_owned()
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        let bad = |reason| Error::MalformedHash {
            input: s.to_owned(),
            reason,
        };
        let b = s.as_bytes();
        if b.len() != 64 {
            return Err(bad("expected 64 hex digits"));
        }
        let mut out = [0u8; HASH_SIZE];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            let hi = hex_val(pair[0]).ok_or_else(|| bad("not a hex digit"))?;
            let lo = hex_val(pair[1]).ok_or_else(|| bad("not a hex digit"))?;
            out[i] = hi << 4 | lo;
        }
        Ok(Hash(out))
    }

    /// Standard base64 with padding.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard base64 of exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, Error> {
        let bytes = BASE64.decode(s).map_err(|_| Error::MalformedHash {
            input: s.to_owned(),
            reason: "not standard base64",
        })?;
        Self::from_slice(&bytes).map_err(|_| Error::MalformedHash {
            input: s.to_owned(),
            reason: "not 32 bytes",
        })
    }

    /// Copies 32 bytes from a slice.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let arr: [u8; HASH_SIZE] = bytes.try_into().map_err(|_| Error::MalformedHash {
            input: format!("{} bytes", bytes.len()),
            reason: "not 32 bytes",
        })?;
        Ok(Hash(arr))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lowercase hex, written into the first `2 * bytes.len()`
/// bytes of `out` (without allocating; hashes and salts on ingest's path).
///
/// # Panics
/// When `out` is shorter than twice `bytes`.
pub fn lower_hex<'o>(bytes: &[u8], out: &'o mut [u8]) -> &'o str {
    let out = &mut out[..2 * bytes.len()];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
    // Hex digits are ASCII.
    std::str::from_utf8(out).unwrap_or_default()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<tlog_tiles::Hash> for Hash {
    fn from(h: tlog_tiles::Hash) -> Self {
        Hash(h.0)
    }
}

impl From<Hash> for tlog_tiles::Hash {
    fn from(h: Hash) -> Self {
        tlog_tiles::Hash(h.0)
    }
}

/// RFC 9162 §2.1.1 leaf hash: `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    tlog_tiles::record_hash(leaf).into()
}

/// RFC 9162 §2.1.1 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    tlog_tiles::node_hash((*left).into(), (*right).into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_round_trip() {
        let h = leaf_hash(b"hello world");
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
        assert_eq!(
            Hash::from_hex(&h.to_hex().to_uppercase()).unwrap(),
            h,
            "hex is read in either case"
        );
    }

    #[test]
    fn malformed_hashes_name_the_input() {
        let e = Hash::from_hex("abc").unwrap_err().to_string();
        assert!(e.contains("\"abc\""), "{e}");
        assert!(Hash::from_hex(&"g".repeat(64)).is_err());
        assert!(Hash::from_base64("AAAA").is_err());
        assert!(Hash::from_base64("!!").is_err());
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            EMPTY_ROOT.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
