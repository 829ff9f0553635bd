//! Index keys and their normalisation.
//!
//! The same normalisation code runs when a key is built ([`Key`]
//! constructors) and when a log value is looked up (into a stack buffer,
//! without allocation), so the two sides always agree.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest key (normalised domain, URL or e-mail address) the index stores.
pub const MAX_KEY_LEN: usize = 8192;
/// Longest normalised domain name (RFC 1035: 253 characters without the
/// trailing dot).
pub const MAX_DOMAIN_LEN: usize = 253;

/// A file-hash algorithm. The length of the digest decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlg {
    /// MD5, 16 bytes (32 hex digits).
    Md5,
    /// SHA-1, 20 bytes (40 hex digits).
    Sha1,
    /// SHA-256, 32 bytes (64 hex digits).
    Sha256,
    /// SHA-512, 64 bytes (128 hex digits).
    Sha512,
}

impl HashAlg {
    /// All algorithms, in file-format order.
    pub const ALL: [HashAlg; 4] = [
        HashAlg::Md5,
        HashAlg::Sha1,
        HashAlg::Sha256,
        HashAlg::Sha512,
    ];

    /// Digest length in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            HashAlg::Md5 => 16,
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha512 => 64,
        }
    }

    /// The algorithm whose digest is `len` bytes long.
    pub const fn from_len(len: usize) -> Option<HashAlg> {
        match len {
            16 => Some(HashAlg::Md5),
            20 => Some(HashAlg::Sha1),
            32 => Some(HashAlg::Sha256),
            64 => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    /// The STIX hash-algorithm name (`MD5`, `SHA-1`, `SHA-256`, `SHA-512`).
    pub const fn stix_name(self) -> &'static str {
        match self {
            HashAlg::Md5 => "MD5",
            HashAlg::Sha1 => "SHA-1",
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha512 => "SHA-512",
        }
    }
}

/// A key of the index, in normalised form.
///
/// Build keys with the constructors ([`Key::ip`], [`Key::ip_cidr`],
/// [`Key::domain`], [`Key::url`], [`Key::email`], [`Key::hash_hex`]);
/// [`IndexBuilder::add_key`](crate::IndexBuilder::add_key) normalises a key
/// built directly from the variants again, so both are safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// An address and prefix length (32/128 = one address). Host bits are
    /// zero; IPv4-mapped IPv6 (`::ffff:a.b.c.d/96+n`) is stored as IPv4
    /// (`a.b.c.d/n`).
    Ip(IpAddr, u8),
    /// A domain name: ASCII lowercase, no trailing dot. Matches itself and
    /// every subdomain.
    Domain(String),
    /// A normalised URL (see [`Key::url`]).
    Url(String),
    /// An e-mail address: local part as given, domain lowercase.
    Email(String),
    /// A file hash (digest bytes; length matches the algorithm).
    Hash(HashAlg, Vec<u8>),
}

/// A key that could not be parsed or normalised; names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not an IP address or CIDR.
    #[error("invalid IP address or CIDR {input:?}: {reason}")]
    Ip {
        /// The input as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a domain name.
    #[error("invalid domain name {input:?}: {reason}")]
    Domain {
        /// The input as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a URL.
    #[error("invalid URL {input:?}: {reason}")]
    Url {
        /// The input as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not an e-mail address.
    #[error("invalid e-mail address {input:?}: {reason}")]
    Email {
        /// The input as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a hex digest of a known length.
    #[error("invalid file hash {input:?}: {reason}")]
    Hash {
        /// The input as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Key {
    /// One address (prefix length 32 or 128).
    pub fn ip(addr: IpAddr) -> Key {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        canonical_ip(addr, len).map_or(Key::Ip(addr, len), |(a, l)| Key::Ip(a, l))
    }

    /// An address or CIDR: `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.1`.
    /// Host bits below the prefix are cleared (`10.1.2.3/8` is
    /// `10.0.0.0/8`); `::ffff:a.b.c.d/n` with n ≥ 96 becomes the IPv4
    /// `a.b.c.d/(n−96)`.
    pub fn ip_cidr(s: &str) -> Result<Key, KeyError> {
        let err = |reason| KeyError::Ip {
            input: s.to_owned(),
            reason,
        };
        let t = s.trim();
        let (a, len) = match t.split_once('/') {
            Some((a, l)) => {
                if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("prefix length is not a number"));
                }
                (
                    a,
                    Some(
                        l.parse::<u8>()
                            .map_err(|_| err("prefix length out of range"))?,
                    ),
                )
            }
            None => (t, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| err("not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        let (addr, len) =
            canonical_ip(addr, len).ok_or_else(|| err("prefix length out of range"))?;
        Ok(Key::Ip(addr, len))
    }

    /// A domain name. Rules: surrounding ASCII whitespace and one trailing
    /// dot are removed; ASCII letters are lowercased (no IDNA mapping:
    /// non-ASCII bytes are kept as given, punycode is compared as text);
    /// labels are 1–63 bytes of letters, digits, `-`, `_` or non-ASCII;
    /// at most 253 bytes in all.
    pub fn domain(s: &str) -> Result<Key, KeyError> {
        let mut out = Vec::with_capacity(s.len());
        normalize_domain(s.as_bytes(), &mut out).map_err(|reason| KeyError::Domain {
            input: s.to_owned(),
            reason,
        })?;
        Ok(Key::Domain(string_from(out)))
    }

    /// A URL, normalised (the same rules apply to looked-up URLs):
    ///
    /// - surrounding ASCII whitespace is removed; a URL without
    ///   `scheme://` is taken as `http://` (so `evil.example/x` and
    ///   `//evil.example/x` are `http://evil.example/x`);
    /// - the scheme and the host are lowercased; trailing dots of the host
    ///   are removed; userinfo is kept (case and all);
    /// - the port loses leading zeros and is dropped when empty or the
    ///   scheme's default (`http`/`ws` 80, `https`/`wss` 443, `ftp` 21);
    /// - an empty path becomes `/`; the fragment (`#…`) is dropped;
    ///   the query is kept; dot segments are not resolved;
    /// - percent-encoding, everywhere but the scheme and port: `%XX` of an
    ///   unreserved character (`A–Z a–z 0–9 - . _ ~`) is decoded, any other
    ///   `%XX` gets uppercase hex digits, a `%` not followed by two hex
    ///   digits becomes `%25`, and bytes that may not appear raw (controls,
    ///   space, DEL, non-ASCII) are percent-encoded.
    ///
    /// So `HTTP://Evil.Example.:80/a%7eb#top` is `http://evil.example/a~b`.
    pub fn url(s: &str) -> Result<Key, KeyError> {
        let mut out = Vec::with_capacity(s.len() + 8);
        normalize_url(s.as_bytes(), &mut out).map_err(|reason| KeyError::Url {
            input: s.to_owned(),
            reason,
        })?;
        if out.len() > MAX_KEY_LEN {
            return Err(KeyError::Url {
                input: s.to_owned(),
                reason: "longer than 8192 bytes",
            });
        }
        Ok(Key::Url(string_from(out)))
    }

    /// An e-mail address `local@domain`: split at the last `@`; the domain
    /// is normalised as by [`Key::domain`], the local part is kept as given
    /// (non-empty, no whitespace or control characters).
    pub fn email(s: &str) -> Result<Key, KeyError> {
        let mut out = Vec::with_capacity(s.len());
        normalize_email(s.as_bytes(), &mut out, true).map_err(|reason| KeyError::Email {
            input: s.to_owned(),
            reason,
        })?;
        Ok(Key::Email(string_from(out)))
    }

    /// A file hash from hex (either case); 32, 40, 64 or 128 digits for
    /// MD5, SHA-1, SHA-256 or SHA-512.
    pub fn hash_hex(s: &str) -> Result<Key, KeyError> {
        let err = |reason| KeyError::Hash {
            input: s.to_owned(),
            reason,
        };
        let t = s.trim().as_bytes();
        let alg = HashAlg::from_len(t.len() / 2)
            .filter(|_| t.len().is_multiple_of(2))
            .ok_or_else(|| err("length is not that of MD5, SHA-1, SHA-256 or SHA-512 (32, 40, 64, 128 hex digits)"))?;
        let mut buf = [0u8; 64];
        decode_hex(t, &mut buf).ok_or_else(|| err("not hexadecimal"))?;
        Ok(Key::Hash(alg, buf[..alg.digest_len()].to_vec()))
    }

    /// A file hash from hex for a named algorithm: the length must agree.
    pub fn hash_hex_alg(alg: HashAlg, s: &str) -> Result<Key, KeyError> {
        match Key::hash_hex(s)? {
            Key::Hash(a, d) if a == alg => Ok(Key::Hash(a, d)),
            _ => Err(KeyError::Hash {
                input: s.to_owned(),
                reason: "length does not match the algorithm",
            }),
        }
    }

    /// The same key in normal form (what the builder stores).
    pub fn normalized(&self) -> Result<Key, KeyError> {
        Ok(match self {
            Key::Ip(a, l) => {
                let (a, l) = canonical_ip(*a, *l).ok_or_else(|| KeyError::Ip {
                    input: format!("{a}/{l}"),
                    reason: "prefix length out of range",
                })?;
                Key::Ip(a, l)
            }
            Key::Domain(s) => Key::domain(s)?,
            Key::Url(s) => Key::url(s)?,
            Key::Email(s) => Key::email(s)?,
            Key::Hash(alg, d) => {
                if d.len() != alg.digest_len() {
                    return Err(KeyError::Hash {
                        input: hex(d),
                        reason: "length does not match the algorithm",
                    });
                }
                self.clone()
            }
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Ip(a, l) if (a.is_ipv4() && *l == 32) || (a.is_ipv6() && *l == 128) => {
                write!(f, "{a}")
            }
            Key::Ip(a, l) => write!(f, "{a}/{l}"),
            Key::Domain(s) | Key::Url(s) | Key::Email(s) => f.write_str(s),
            Key::Hash(alg, d) => write!(f, "{}:{}", alg.stix_name(), hex(d)),
        }
    }
}

fn string_from(v: Vec<u8>) -> String {
    // Normalisation only removes ASCII or percent-encodes non-ASCII bytes
    // in URLs; domains and e-mail addresses keep non-ASCII bytes as they
    // came, and they came from a `&str`.
    String::from_utf8(v).unwrap_or_else(|e| lossy(e.as_bytes()))
}

/// Lowercase hex of `d`.
pub(crate) fn hex(d: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(d.len() * 2);
    for b in d {
        s.push(H[usize::from(b >> 4)] as char);
        s.push(H[usize::from(b & 15)] as char);
    }
    s
}

/// Canonical (address, prefix) or None if the prefix is too long.
pub(crate) fn canonical_ip(addr: IpAddr, len: u8) -> Option<(IpAddr, u8)> {
    match addr {
        IpAddr::V4(a) => {
            if len > 32 {
                return None;
            }
            Some((IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(len))), len))
        }
        IpAddr::V6(a) => {
            if len > 128 {
                return None;
            }
            if len >= 96
                && let Some(v4) = a.to_ipv4_mapped()
            {
                let l4 = len - 96;
                return Some((IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask32(l4))), l4));
            }
            Some((
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(len))),
                len,
            ))
        }
    }
}

pub(crate) fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

pub(crate) fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

/// Hex digit values; 0xff for a non-digit.
const HEXVAL: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decodes hex into `out[..s.len()/2]`; None on a non-hex digit.
#[inline]
pub(crate) fn decode_hex(s: &[u8], out: &mut [u8]) -> Option<()> {
    if !s.len().is_multiple_of(2) || s.len() / 2 > out.len() {
        return None;
    }
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(s.as_chunks::<2>().0) {
        let (h, l) = (HEXVAL[usize::from(pair[0])], HEXVAL[usize::from(pair[1])]);
        bad |= h | l;
        *o = (h << 4) | (l & 0xf);
    }
    (bad & 0xf0 == 0).then_some(())
}

#[inline]
fn hexval(b: u8) -> Option<u8> {
    let v = HEXVAL[usize::from(b)];
    (v != 0xff).then_some(v)
}

/// Where normalised bytes go (a `Vec`: the key being built, or a lookup's
/// reused scratch buffer).
pub(crate) trait Sink {
    fn push(&mut self, b: u8);
    fn extend(&mut self, s: &[u8]) {
        for &b in s {
            self.push(b);
        }
    }
    fn written(&self) -> &[u8];
    fn pop(&mut self);
}

impl Sink for Vec<u8> {
    #[inline]
    fn push(&mut self, b: u8) {
        Vec::push(self, b);
    }
    fn extend(&mut self, s: &[u8]) {
        self.extend_from_slice(s);
    }
    fn written(&self) -> &[u8] {
        self
    }
    fn pop(&mut self) {
        Vec::pop(self);
    }
}

fn domain_byte_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80
}

/// Trims whitespace and one trailing dot.
#[inline]
pub(crate) fn trim_domain(s: &[u8]) -> &[u8] {
    let s = s.trim_ascii();
    s.strip_suffix(b".").unwrap_or(s)
}

fn normalize_domain(s: &[u8], out: &mut impl Sink) -> Result<(), &'static str> {
    let s = trim_domain(s);
    if s.is_empty() {
        return Err("empty");
    }
    if s.len() > MAX_DOMAIN_LEN {
        return Err("longer than 253 bytes");
    }
    for label in s.split(|&b| b == b'.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > 63 {
            return Err("label longer than 63 bytes");
        }
        if !label.iter().all(|&b| domain_byte_ok(b)) {
            return Err("character not allowed in a domain name");
        }
    }
    for &b in s {
        out.push(b.to_ascii_lowercase());
    }
    Ok(())
}

/// `strict` validates (key building); lookups only normalise.
pub(crate) fn normalize_email(
    s: &[u8],
    out: &mut impl Sink,
    strict: bool,
) -> Result<(), &'static str> {
    let s = s.trim_ascii();
    let at = s.iter().rposition(|&b| b == b'@').ok_or("no @")?;
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.is_empty() {
        return Err("empty local part");
    }
    if strict && local.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err("whitespace or control character in the local part");
    }
    out.extend(local);
    out.push(b'@');
    if strict {
        normalize_domain(domain, out)
    } else {
        let d = trim_domain(domain);
        if d.is_empty() {
            return Err("empty domain");
        }
        for &b in d {
            out.push(b.to_ascii_lowercase());
        }
        Ok(())
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX_UP: &[u8; 16] = b"0123456789ABCDEF";

#[inline]
fn push_escaped(out: &mut impl Sink, b: u8) {
    out.push(b'%');
    out.push(HEX_UP[usize::from(b >> 4)]);
    out.push(HEX_UP[usize::from(b & 15)]);
}

/// Bytes that percent-normalisation must look at: `%`, controls, space,
/// DEL and non-ASCII (bit 0), ASCII uppercase letters (bit 1, only when
/// lowercasing).
const PCT_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b == b'%' || b <= b' ' || b >= 0x7f {
            t[i] = 1;
        } else if b.is_ascii_uppercase() {
            t[i] = 2;
        }
        i += 1;
    }
    t
};

/// Percent-normalises `s` (see [`Key::url`]); `lower` lowercases ASCII
/// letters (for the host). Runs of bytes that need nothing are copied
/// whole.
fn percent_normalize(s: &[u8], out: &mut impl Sink, lower: bool) {
    let attention = if lower { 3 } else { 1 };
    let mut i = 0;
    let mut run = 0;
    while i < s.len() {
        let b = s[i];
        if PCT_CLASS[usize::from(b)] & attention == 0 {
            i += 1;
            continue;
        }
        out.extend(&s[run..i]);
        if b == b'%' {
            if let (Some(&h), Some(&l)) = (s.get(i + 1), s.get(i + 2))
                && let (Some(h), Some(l)) = (hexval(h), hexval(l))
            {
                let v = (h << 4) | l;
                if is_unreserved(v) {
                    out.push(if lower { v.to_ascii_lowercase() } else { v });
                } else {
                    push_escaped(out, v);
                }
                i += 3;
                run = i;
                continue;
            }
            push_escaped(out, b'%');
        } else if b <= b' ' || b >= 0x7f {
            push_escaped(out, b);
        } else {
            out.push(b.to_ascii_lowercase());
        }
        i += 1;
        run = i;
    }
    out.extend(&s[run..]);
}

fn split_scheme(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = memchr::memchr(b':', s)?;
    let scheme = &s[..colon];
    let first = *scheme.first()?;
    if !first.is_ascii_alphabetic()
        || !scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return None;
    }
    let rest = s[colon + 1..].strip_prefix(b"//")?;
    Some((scheme, rest))
}

fn default_port(scheme: &[u8]) -> Option<&'static [u8]> {
    let mut buf = [0u8; 5];
    if scheme.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(scheme) {
        *d = s.to_ascii_lowercase();
    }
    match &buf[..scheme.len()] {
        b"http" | b"ws" => Some(b"80"),
        b"https" | b"wss" => Some(b"443"),
        b"ftp" => Some(b"21"),
        _ => None,
    }
}

/// Normalises a URL into `out` (rules at [`Key::url`]).
pub(crate) fn normalize_url(input: &[u8], out: &mut impl Sink) -> Result<(), &'static str> {
    let s = input.trim_ascii();
    if s.is_empty() {
        return Err("empty");
    }
    let (scheme, rest): (&[u8], &[u8]) = match split_scheme(s) {
        Some(x) => x,
        None => (b"http", s.strip_prefix(b"//").unwrap_or(s)),
    };
    let end = memchr::memchr3(b'/', b'?', b'#', rest).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match memchr::memrchr(b'@', authority) {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (host, port): (&[u8], Option<&[u8]>) = if hostport.first() == Some(&b'[') {
        let rb = hostport
            .iter()
            .position(|&b| b == b']')
            .ok_or("unterminated IPv6 literal")?;
        let after = &hostport[rb + 1..];
        match after {
            [] => (&hostport[..=rb], None),
            [b':', p @ ..] => (&hostport[..=rb], Some(p)),
            _ => return Err("characters after the IPv6 literal"),
        }
    } else {
        match memchr::memrchr(b':', hostport) {
            Some(c) => (&hostport[..c], Some(&hostport[c + 1..])),
            None => (hostport, None),
        }
    };
    let port = match port {
        Some(raw) => {
            if !raw.iter().all(u8::is_ascii_digit) {
                return Err("port is not a number");
            }
            let digits = &raw[raw.iter().position(|&b| b != b'0').unwrap_or(raw.len())..];
            if digits.len() > 5 || (digits.len() == 5 && digits > &b"65535"[..]) {
                return Err("port out of range");
            }
            // An empty port (":" alone) is dropped; ":000" is port 0.
            let p: &[u8] = if digits.is_empty() { b"0" } else { digits };
            if raw.is_empty() || Some(p) == default_port(scheme) {
                None
            } else {
                Some(p)
            }
        }
        None => None,
    };
    if scheme.iter().any(u8::is_ascii_uppercase) {
        for &b in scheme {
            out.push(b.to_ascii_lowercase());
        }
    } else {
        out.extend(scheme);
    }
    out.extend(b"://");
    if let Some(u) = userinfo {
        percent_normalize(u, out, false);
        out.push(b'@');
    }
    if host.first() != Some(&b'[') && host.iter().any(|&b| matches!(b, b':' | b'[' | b']')) {
        return Err("invalid character in the host");
    }
    let before_host = out.written().len();
    percent_normalize(host, out, true);
    while out.written().len() > before_host && out.written().last() == Some(&b'.') {
        out.pop();
    }
    if out.written().len() == before_host && !scheme.eq_ignore_ascii_case(b"file") {
        return Err("empty host");
    }
    if let Some(p) = port {
        out.push(b':');
        out.extend(p);
    }
    let tail = &tail[..memchr::memchr(b'#', tail).unwrap_or(tail.len())];
    let q = memchr::memchr(b'?', tail).unwrap_or(tail.len());
    let (path, query) = tail.split_at(q);
    if path.is_empty() {
        out.push(b'/');
    } else {
        percent_normalize(path, out, false);
    }
    percent_normalize(query, out, false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> String {
        match Key::url(s).unwrap() {
            Key::Url(u) => u,
            _ => unreachable!(),
        }
    }

    #[test]
    fn url_rules() {
        assert_eq!(
            url("HTTP://Evil.Example:80/a%7eb"),
            "http://evil.example/a~b"
        );
        assert_eq!(url("http://evil.example/a~b"), "http://evil.example/a~b");
        assert_eq!(url("https://Evil.Example.:443"), "https://evil.example/");
        assert_eq!(url("https://evil.example:0443/x"), "https://evil.example/x");
        assert_eq!(
            url("https://evil.example:80/x"),
            "https://evil.example:80/x"
        );
        assert_eq!(url("http://evil.example:/x"), "http://evil.example/x");
        assert_eq!(url("http://evil.example:0/x"), "http://evil.example:0/x");
        assert_eq!(
            url("http://evil.example/a%2fb%2Fc"),
            "http://evil.example/a%2Fb%2Fc"
        );
        assert_eq!(url("http://evil.example/a b"), "http://evil.example/a%20b");
        assert_eq!(
            url("http://evil.example/100%"),
            "http://evil.example/100%25"
        );
        assert_eq!(url("http://evil.example/%zz"), "http://evil.example/%25zz");
        assert_eq!(url("http://evil.example/ü"), "http://evil.example/%C3%BC");
        assert_eq!(
            url("http://evil.example/x?A=%41#frag"),
            "http://evil.example/x?A=A"
        );
        assert_eq!(url("http://evil.example?q"), "http://evil.example/?q");
        assert_eq!(url("http://evil.example#f"), "http://evil.example/");
        assert_eq!(url("evil.example/x"), "http://evil.example/x");
        assert_eq!(url("//evil.example/x"), "http://evil.example/x");
        assert_eq!(url("evil.example:8080/x"), "http://evil.example:8080/x");
        assert_eq!(
            url("http://User:Pw@EVIL.example/"),
            "http://User:Pw@evil.example/"
        );
        assert_eq!(url("http://[2001:DB8::1]:80/"), "http://[2001:db8::1]/");
        assert_eq!(
            url("http://[2001:db8::1]:8080"),
            "http://[2001:db8::1]:8080/"
        );
        assert_eq!(url("HXXP://evil.example/"), "hxxp://evil.example/");
        assert_eq!(url("ftp://evil.example:21/f"), "ftp://evil.example/f");
        assert_eq!(url("http://EVIL%2Eexample%2E/"), "http://evil.example/");
        assert_eq!(url("file:///etc/passwd"), "file:///etc/passwd");
        assert_eq!(url("  http://a.example/  "), "http://a.example/");
    }

    #[test]
    fn url_errors_name_the_input() {
        for bad in [
            "",
            "http:///x",
            "http://a.example:x/",
            "http://a.example:65536/",
            "http://[::1/",
            "http://[::1]x/",
        ] {
            let e = Key::url(bad).unwrap_err();
            assert!(
                matches!(&e, KeyError::Url { input, .. } if input == bad),
                "{bad}: {e}"
            );
        }
        assert_eq!(url("http://a.example:65535/"), "http://a.example:65535/");
    }

    #[test]
    fn url_normalisation_is_idempotent_on_samples() {
        for s in [
            "HTTP://Evil.Example:80/a%7eb",
            "http://x.example/%zz%41?%7e#",
            "a.example/ü?q=%2f",
        ] {
            let once = url(s);
            assert_eq!(url(&once), once);
        }
    }

    #[test]
    fn domain_rules() {
        assert_eq!(
            Key::domain("Evil.Example.").unwrap(),
            Key::Domain("evil.example".into())
        );
        assert_eq!(
            Key::domain(" _dmarc.A-b.example ").unwrap(),
            Key::Domain("_dmarc.a-b.example".into())
        );
        assert_eq!(
            Key::domain("bücher.example").unwrap(),
            Key::Domain("bücher.example".into())
        );
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "a b",
            "a/b",
            "*.a.example",
            &"a".repeat(64),
            &format!("{}a", "a.".repeat(127)),
        ] {
            assert!(
                matches!(Key::domain(bad), Err(KeyError::Domain { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn email_rules() {
        assert_eq!(
            Key::email("John.Doe@Evil.Example.").unwrap(),
            Key::Email("John.Doe@evil.example".into())
        );
        assert_eq!(
            Key::email("\"a@b\"@x.example").unwrap(),
            Key::Email("\"a@b\"@x.example".into())
        );
        for bad in [
            "",
            "nobody",
            "@x.example",
            "a@",
            "a b@x.example",
            "a@x..example",
        ] {
            assert!(
                matches!(Key::email(bad), Err(KeyError::Email { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn hash_rules() {
        let k = Key::hash_hex("D41D8CD98F00B204E9800998ECF8427E").unwrap();
        assert_eq!(
            k,
            Key::Hash(
                HashAlg::Md5,
                vec![
                    0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0, 0xb2, 4, 0xe9, 0x80, 9, 0x98, 0xec, 0xf8,
                    0x42, 0x7e
                ]
            )
        );
        assert_eq!(k.to_string(), "MD5:d41d8cd98f00b204e9800998ecf8427e");
        assert!(matches!(
            Key::hash_hex(&"a".repeat(40)).unwrap(),
            Key::Hash(HashAlg::Sha1, _)
        ));
        assert!(matches!(
            Key::hash_hex(&"a".repeat(64)).unwrap(),
            Key::Hash(HashAlg::Sha256, _)
        ));
        assert!(matches!(
            Key::hash_hex(&"a".repeat(128)).unwrap(),
            Key::Hash(HashAlg::Sha512, _)
        ));
        for bad in ["", "abc", &"a".repeat(33), &"g".repeat(32), &"a".repeat(31)] {
            assert!(
                matches!(Key::hash_hex(bad), Err(KeyError::Hash { .. })),
                "{bad}"
            );
        }
        assert!(Key::hash_hex_alg(HashAlg::Sha256, &"a".repeat(32)).is_err());
        assert!(Key::Hash(HashAlg::Sha1, vec![0; 16]).normalized().is_err());
    }

    #[test]
    fn ip_rules() {
        assert_eq!(
            Key::ip_cidr("10.1.2.3/8").unwrap(),
            Key::Ip("10.0.0.0".parse().unwrap(), 8)
        );
        assert_eq!(
            Key::ip_cidr("192.0.2.1").unwrap(),
            Key::Ip("192.0.2.1".parse().unwrap(), 32)
        );
        assert_eq!(
            Key::ip_cidr("2001:db8::1/32").unwrap(),
            Key::Ip("2001:db8::".parse().unwrap(), 32)
        );
        assert_eq!(
            Key::ip_cidr("::ffff:10.1.2.3/104").unwrap(),
            Key::Ip("10.0.0.0".parse().unwrap(), 8)
        );
        assert_eq!(
            Key::ip_cidr("::ffff:10.1.2.3").unwrap(),
            Key::Ip("10.1.2.3".parse().unwrap(), 32)
        );
        assert_eq!(
            Key::ip("::ffff:10.1.2.3".parse().unwrap()),
            Key::Ip("10.1.2.3".parse().unwrap(), 32)
        );
        assert_eq!(Key::ip_cidr("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0/8",
            "10.0.0.0/x",
            "10.0.0.0/-1",
            "host",
        ] {
            assert!(
                matches!(Key::ip_cidr(bad), Err(KeyError::Ip { .. })),
                "{bad}"
            );
        }
    }
}
