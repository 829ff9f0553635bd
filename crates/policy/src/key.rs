//! Per-partner pseudonym keys: HMAC-SHA-256 under a key derived from the
//! node's secret and the partner's name, so the same value gets the same
//! pseudonym every time for one partner and unrelated ones for two
//! partners. The node's secret never leaves the node; without it a
//! pseudonym cannot be tested against a guessed value.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The pseudonym key of one partner.
#[derive(Clone)]
pub struct PartnerKey {
    mac: HmacSha256,
}

impl std::fmt::Debug for PartnerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartnerKey(..)")
    }
}

impl PartnerKey {
    /// The key of `partner`: HMAC-SHA-256(node secret, partner name).
    pub fn derive(node_secret: &[u8; 32], partner: &str) -> PartnerKey {
        let mut m = HmacSha256::new_from_slice(node_secret).expect("HMAC takes any key length");
        m.update(b"accord pseudonym key v1\0");
        m.update(partner.as_bytes());
        let key = m.finalize().into_bytes();
        PartnerKey {
            mac: HmacSha256::new_from_slice(&key).expect("HMAC takes any key length"),
        }
    }

    /// HMAC of `value` in the domain `domain` (so an e-mail address and a
    /// text of the same bytes get different pseudonyms).
    pub fn digest(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut m = self.mac.clone();
        m.update(domain.as_bytes());
        m.update(b"\0");
        m.update(value.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// The first 16 bytes of [`PartnerKey::digest`] in lowercase hex.
    pub fn hex(&self, domain: &str, value: &str) -> String {
        let d = self.digest(domain, value);
        let mut s = String::with_capacity(32);
        for b in &d[..16] {
            s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        s
    }

    /// A UUID (version 4 layout) from the digest of `value`.
    pub fn uuid(&self, domain: &str, value: &str) -> uuid::Uuid {
        let d = self.digest(domain, value);
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        uuid::Builder::from_random_bytes(b).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_partner_and_different_across() {
        let a = PartnerKey::derive(&[1; 32], "eu");
        let a2 = PartnerKey::derive(&[1; 32], "eu");
        let b = PartnerKey::derive(&[1; 32], "us");
        let c = PartnerKey::derive(&[2; 32], "eu");
        assert_eq!(a.hex("email", "x@y.z"), a2.hex("email", "x@y.z"));
        assert_ne!(a.hex("email", "x@y.z"), b.hex("email", "x@y.z"));
        assert_ne!(a.hex("email", "x@y.z"), c.hex("email", "x@y.z"));
        assert_ne!(a.hex("email", "x@y.z"), a.hex("text", "x@y.z"));
        assert_eq!(a.uuid("ref", "v").get_version_num(), 4);
    }
}
