//! What kind of observable a byte string is: addresses, host names, e-mail
//! addresses, hashes. Byte-level, no allocation.

use crate::Kind;

/// Position of the first `needle` in `b`: eight bytes at a time for the
/// short fields of a log line, `memchr` past 32 bytes.
#[inline(always)]
pub fn find_byte(needle: u8, b: &[u8]) -> Option<usize> {
    find_any([needle], b)
}

/// Whether every byte of `b` is an ASCII hex digit (or a `:` when
/// `colons`). Branch-free over the bytes, so the compiler vectorises it
/// (hashes are 32–128 bytes; an early exit per byte cost more).
#[inline]
pub fn all_hex(b: &[u8], colons: bool) -> bool {
    b.iter().fold(true, |ok, &c| {
        let l = c | 0x20;
        ok & ((c.wrapping_sub(b'0') < 10) | (l.wrapping_sub(b'a') < 6) | (colons & (c == b':')))
    })
}

/// Position of the first byte of `b` that is one of `needles` (one or
/// two of them): eight bytes at a time (SWAR) over the first 32 bytes,
/// where the short fields and strings of a log line end, then `memchr`.
#[inline(always)]
pub fn find_any<const N: usize>(needles: [u8; N], b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= b.len() && i < 32 {
        let w = u64::from_le_bytes([
            b[i],
            b[i + 1],
            b[i + 2],
            b[i + 3],
            b[i + 4],
            b[i + 5],
            b[i + 6],
            b[i + 7],
        ]);
        // A zero byte of `w ^ pattern` is a match; the lowest flagged byte
        // of each mask is a true one, so the lowest of their union is too.
        let mut m = 0;
        for n in needles {
            let x = w ^ (ONES * u64::from(n));
            m |= x.wrapping_sub(ONES) & !x;
        }
        let m = m & HIGH;
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = &b[i..];
    let found = if i < 32 {
        rest.iter().position(|c| needles.contains(c))
    } else {
        match needles.as_slice() {
            [a] => memchr::memchr(*a, rest),
            [a, c] => memchr::memchr2(*a, *c, rest),
            _ => rest.iter().position(|c| needles.contains(c)),
        }
    };
    found.map(|p| p + i)
}

/// Is `b` an IPv4 address in dotted-quad form (`1.2.3.4`, no leading zeros
/// beyond a single `0`)?
pub fn is_ipv4(b: &[u8]) -> bool {
    if b.len() < 7 || b.len() > 15 {
        return false;
    }
    let mut parts = 0;
    for part in b.split(|&c| c == b'.') {
        parts += 1;
        if parts > 4 || part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return false;
        }
        let mut v = 0u32;
        for &c in part {
            if !c.is_ascii_digit() {
                return false;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        if v > 255 {
            return false;
        }
    }
    parts == 4
}

/// Is `b` an IPv6 address (RFC 4291 text forms, with an optional embedded
/// IPv4 tail and an optional `%zone`)?
pub fn is_ipv6(b: &[u8]) -> bool {
    if b.len() < 2 || b.len() > 64 || find_byte(b':', b).is_none() {
        return false;
    }
    let b = match memchr::memchr(b'%', b) {
        Some(i) if i + 1 < b.len() => &b[..i],
        Some(_) => return false,
        None => b,
    };
    match std::str::from_utf8(b) {
        Ok(s) => s.parse::<std::net::Ipv6Addr>().is_ok(),
        Err(_) => false,
    }
}

/// IPv4 or IPv6.
pub fn is_ip(b: &[u8]) -> bool {
    is_ipv4(b) || is_ipv6(b)
}

fn is_label_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c >= 0x80
}

/// A DNS name as found in a log field: labels of letters, digits, `-`, `_`
/// (service labels) or non-ASCII bytes (IDNs), separated by dots, an
/// optional trailing dot; single-label names (`wpad`) are accepted.
pub fn is_hostname(b: &[u8]) -> bool {
    let b = b.strip_suffix(b".").unwrap_or(b);
    if b.is_empty() || b.len() > 253 {
        return false;
    }
    let mut label = 0usize;
    for &c in b {
        if c == b'.' {
            if label == 0 {
                return false;
            }
            label = 0;
        } else if is_label_byte(c) {
            label += 1;
            if label > 63 {
                return false;
            }
        } else {
            return false;
        }
    }
    label > 0
}

/// A domain name in free text: at least two labels, letters/digits/`-`
/// only, no label starting or ending with `-`, the last label alphabetic
/// and at least two letters long. No list of TLDs.
pub fn is_text_domain(b: &[u8]) -> bool {
    if b.len() < 4 || b.len() > 253 {
        return false;
    }
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in b.split(|&c| c == b'.') {
        if label.is_empty() || label.len() > 63 {
            return false;
        }
        if label[0] == b'-' || label[label.len() - 1] == b'-' {
            return false;
        }
        if !label
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-')
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)
}

/// Classifies a name-or-address value: an IP address, else a host name,
/// else nothing (a TXT record, a free-text value).
pub fn classify_name(b: &[u8]) -> Option<Kind> {
    if is_ip(b) {
        Some(Kind::Ip)
    } else if is_hostname(b) {
        Some(Kind::Domain)
    } else {
        None
    }
}

/// Strips a `:port` from a host (`example.com:8080`, `[::1]:80`, `[::1]`)
/// and returns the byte range of the host part within `b`.
pub fn host_part(b: &[u8]) -> (usize, usize) {
    if b.first() == Some(&b'[') {
        if let Some(end) = memchr::memchr(b']', b) {
            return (1, end);
        }
        return (0, b.len());
    }
    match memchr::memchr(b':', b) {
        // More than one colon: a bare IPv6 address, keep it whole.
        Some(i) if memchr::memchr(b':', &b[i + 1..]).is_none() => {
            if b[i + 1..].iter().all(u8::is_ascii_digit) {
                (0, i)
            } else {
                (0, b.len())
            }
        }
        _ => (0, b.len()),
    }
}

/// The addr-spec of a mailbox: `Name <a@b.c>` → `a@b.c`, `<a@b.c>` →
/// `a@b.c`, `a@b.c` → itself. Returns its range within `b`, or `None` if it
/// is not a plausible address (exactly one `@`, no spaces, both sides
/// non-empty).
pub fn mailbox(b: &[u8]) -> Option<(usize, usize)> {
    let (mut s, mut e) = (0, b.len());
    if let Some(lt) = memchr::memrchr(b'<', b) {
        let gt = memchr::memchr(b'>', &b[lt..])? + lt;
        s = lt + 1;
        e = gt;
    }
    while s < e && b[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && b[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    let v = &b[s..e];
    let at = memchr::memchr(b'@', v)?;
    if at == 0
        || at + 1 == v.len()
        || memchr::memchr(b'@', &v[at + 1..]).is_some()
        || v.iter()
            .any(|&c| c <= b' ' || c == b'<' || c == b'>' || c == b',' || c == b'"')
    {
        return None;
    }
    Some((s, e))
}

/// Hex digits only, of a hash length (MD5, SHA-1, SHA-256, SHA-512).
pub fn is_hash(b: &[u8]) -> bool {
    matches!(b.len(), 32 | 40 | 64 | 128) && all_hex(b, false)
}

/// Finds the values of `CN=` and `emailAddress=` in an X.500 distinguished
/// name as Zeek and Suricata write it (`C=US, O=Google Inc, CN=www.google.com`
/// or `CN=x,OU=y`; `\,` escapes a comma). Calls `f(is_email, start, end)`.
pub fn dn_parts(b: &[u8], mut f: impl FnMut(bool, usize, usize)) {
    let mut i = 0;
    while i < b.len() {
        // Start of an RDN: skip spaces.
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let key_start = i;
        let mut j = i;
        while j < b.len() && b[j] != b'=' && b[j] != b',' {
            j += 1;
        }
        if j >= b.len() || b[j] == b',' {
            i = j + 1;
            continue;
        }
        let key = &b[key_start..j];
        let vs = j + 1;
        let mut ve = vs;
        while ve < b.len() && b[ve] != b',' {
            if b[ve] == b'\\' {
                ve += 1;
            }
            ve += 1;
        }
        let ve = ve.min(b.len());
        if key.eq_ignore_ascii_case(b"CN") {
            f(false, vs, ve);
        } else if key.eq_ignore_ascii_case(b"emailAddress") || key.eq_ignore_ascii_case(b"E") {
            f(true, vs, ve);
        }
        i = ve + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_hex_is_every_byte_a_hex_digit() {
        for c in 0..=255u8 {
            let b = [b'a', c, b'0'];
            assert_eq!(all_hex(&b, false), c.is_ascii_hexdigit(), "{c}");
            assert_eq!(all_hex(&b, true), c.is_ascii_hexdigit() || c == b':', "{c}");
        }
        assert!(all_hex(b"", false));
        assert!(all_hex(b"2d:d1:9F", true));
        assert!(!all_hex(b"2d:d1:9F", false));
    }

    #[test]
    fn find_any_past_the_first_32_bytes() {
        let mut b = vec![b'a'; 70];
        b[40] = b'"';
        b[55] = b'\\';
        assert_eq!(find_byte(b'"', &b), Some(40));
        assert_eq!(find_any([b'\\', b'"'], &b), Some(40));
        assert_eq!(find_byte(b'\\', &b), Some(55));
        assert_eq!(find_byte(b'x', &b), None);
        assert_eq!(find_any([b'x', b'y'], &b[..37]), None);
    }

    proptest::proptest! {
        #[test]
        fn find_any_is_the_first_match(
            // A small alphabet, so matches fall anywhere (and often
            // after the first 32 bytes, past the SWAR part).
            b in proptest::collection::vec(0u8..6, 0..80),
            x in 0u8..6,
            y in 0u8..6,
        ) {
            let naive1 = b.iter().position(|&c| c == x);
            let naive2 = b.iter().position(|&c| c == x || c == y);
            proptest::prop_assert_eq!(find_byte(x, &b), naive1);
            proptest::prop_assert_eq!(find_any([x, y], &b), naive2);
        }
    }

    #[test]
    fn ips() {
        assert!(is_ipv4(b"1.2.3.4"));
        assert!(is_ipv4(b"255.255.255.255"));
        assert!(!is_ipv4(b"256.1.1.1"));
        assert!(!is_ipv4(b"1.2.3"));
        assert!(!is_ipv4(b"01.2.3.4"));
        assert!(is_ipv6(b"fe80::1cf4:44d2:904a:14f7"));
        assert!(is_ipv6(b"::ffff:1.2.3.4"));
        assert!(is_ipv6(b"fe80::1%eth0"));
        assert!(!is_ipv6(b"12:30:01"));
        assert!(!is_ipv6(b"a:b"));
    }

    #[test]
    fn names() {
        assert_eq!(classify_name(b"www.google.com"), Some(Kind::Domain));
        assert_eq!(classify_name(b"_ldap._tcp.dc.example"), Some(Kind::Domain));
        assert_eq!(classify_name(b"10.0.0.1"), Some(Kind::Ip));
        assert_eq!(classify_name(b"v=spf1 include:x"), None);
        assert!(is_text_domain(b"example.com"));
        assert!(!is_text_domain(b"1.2.3.4"));
        assert!(!is_text_domain(b"a.b-"));
        assert!(!is_text_domain(b"example.c0m"));
    }

    #[test]
    fn hosts_and_mailboxes() {
        assert_eq!(host_part(b"example.com:8080"), (0, 11));
        assert_eq!(host_part(b"[::1]:80"), (1, 4));
        assert_eq!(host_part(b"::1"), (0, 3));
        let m = b"\"Jan\" <jan@cern.ch>";
        let (s, e) = mailbox(m).unwrap();
        assert_eq!(&m[s..e], b"jan@cern.ch");
        assert!(mailbox(b"not an address").is_none());
        assert!(mailbox(b"a@b@c").is_none());
    }

    #[test]
    fn dn() {
        let d = b"emailAddress=ssl@vmware.com,CN=localhost.localdomain,O=VMware\\, Inc";
        let mut got = vec![];
        dn_parts(d, |e, s, t| {
            got.push((e, String::from_utf8_lossy(&d[s..t]).into_owned()))
        });
        assert_eq!(
            got,
            vec![
                (true, "ssl@vmware.com".into()),
                (false, "localhost.localdomain".into())
            ]
        );
        let d = b"C=US, ST=California, O=Google Inc, CN=www.google.com";
        let mut got = vec![];
        dn_parts(d, |e, s, t| {
            got.push((e, String::from_utf8_lossy(&d[s..t]).into_owned()))
        });
        assert_eq!(got, vec![(false, "www.google.com".into())]);
    }
}
