//! Finding e-mail addresses, phone numbers and IP addresses inside text,
//! and the forms a value takes once truncated or pseudonymised.
//!
//! The detectors are deliberately generous (a false positive only redacts
//! more): an e-mail address is `local@domain.tld` with ASCII or non-ASCII
//! letters; a phone number is `+` and 7 to 15 digits, or 10 to 15 digits in
//! at least two groups separated by spaces, dashes, dots or parentheses (not
//! an ISO date, not a dotted quad, not glued to a word or to `CVE-`); an IP
//! address is a dotted quad (octets of one to three digits, leading zeros
//! allowed) or anything `std` reads as IPv6, each with an optional `/len`.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a span of text holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// An IP address or CIDR block (the network it names).
    Ip(IpNet),
}

/// A value found in a text: bytes `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What it is.
    pub kind: SpanKind,
}

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c >= 0x80 || b"._%+-!#$&*^~".contains(&c)
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c >= 0x80 || c == b'.' || c == b'-'
}

/// Whether `s` holds an e-mail address (cheap: no allocation).
pub fn has_email(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr_iter(b'@', b).any(|at| email_at(b, at).is_some())
}

/// The e-mail address around the `@` at `at`, as a byte range.
fn email_at(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut l = at;
    while l > 0 && is_local(b[l - 1]) {
        l -= 1;
    }
    while l < at && b[l] == b'.' {
        l += 1;
    }
    if l == at {
        return None;
    }
    let mut r = at + 1;
    while r < b.len() && is_domain(b[r]) {
        r += 1;
    }
    while r > at + 1 && (b[r - 1] == b'.' || b[r - 1] == b'-') {
        r -= 1;
    }
    let dom = &b[at + 1..r];
    let dot = dom.iter().rposition(|&c| c == b'.')?;
    let tld = &dom[dot + 1..];
    if dot == 0 || tld.len() < 2 || !tld.iter().all(|&c| c.is_ascii_alphabetic() || c >= 0x80) {
        return None;
    }
    Some((l, r))
}

/// Appends the e-mail addresses of `s`.
pub fn find_emails(s: &str, out: &mut Vec<Span>) {
    let b = s.as_bytes();
    let mut last_end = 0;
    for at in memchr::memchr_iter(b'@', b) {
        if at < last_end {
            continue;
        }
        if let Some((start, end)) = email_at(b, at) {
            out.push(Span {
                start,
                end,
                kind: SpanKind::Email,
            });
            last_end = end;
        }
    }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// The phone number starting at `i`, if one does: its end.
fn phone_at(b: &[u8], i: usize) -> Option<usize> {
    let c = b[i];
    if !(c == b'+' || c == b'(' || c.is_ascii_digit()) {
        return None;
    }
    if i > 0 {
        let p = b[i - 1];
        if is_word(p) || matches!(p, b'-' | b'.' | b'/' | b':' | b'+' | b'@' | b'=') {
            return None;
        }
    }
    let plus = c == b'+';
    let mut j = i + usize::from(plus);
    let (mut digits, mut groups, mut in_digit, mut end) = (0usize, 0usize, false, i);
    let mut dots_only = true;
    let mut separators = 0usize;
    while j < b.len() {
        let d = b[j];
        if d.is_ascii_digit() {
            if !in_digit {
                groups += 1;
                in_digit = true;
            }
            digits += 1;
            j += 1;
            end = j;
            if digits > 15 {
                return None;
            }
        } else if matches!(d, b' ' | b'-' | b'.' | b'(' | b')') {
            in_digit = false;
            let next = b.get(j + 1).copied().unwrap_or(0);
            let pair_ok = (d == b')' && next == b' ') || (d == b' ' && next == b'(');
            if !next.is_ascii_digit() && !pair_ok {
                break;
            }
            if d != b'.' {
                dots_only = false;
            }
            separators += 1;
            j += 1;
        } else {
            break;
        }
    }
    if end <= i || b.get(end).is_some_and(|&c| is_word(c)) {
        return None;
    }
    let run = &b[i..end];
    let iso_date = run.len() >= 10
        && run[..4].iter().all(u8::is_ascii_digit)
        && run[4] == b'-'
        && run[5..7].iter().all(u8::is_ascii_digit)
        && run[7] == b'-';
    if iso_date || (dots_only && separators > 0 && groups == 4) {
        return None;
    }
    let ok = if plus {
        (7..=15).contains(&digits)
    } else {
        (10..=15).contains(&digits) && groups >= 2
    };
    ok.then_some(end)
}

/// Whether `s` holds a phone number (no allocation).
pub fn has_phone(s: &str) -> bool {
    let b = s.as_bytes();
    // Ten digits at least, or a `+`: most text is ruled out by counting.
    if !b.contains(&b'+') && b.iter().filter(|c| c.is_ascii_digit()).count() < 10 {
        return false;
    }
    (0..b.len()).any(|i| phone_at(b, i).is_some())
}

/// Appends the phone numbers of `s`.
pub fn find_phones(s: &str, out: &mut Vec<Span>) {
    let b = s.as_bytes();
    if !b.contains(&b'+') && b.iter().filter(|c| c.is_ascii_digit()).count() < 10 {
        return;
    }
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = phone_at(b, i) {
            out.push(Span {
                start: i,
                end,
                kind: SpanKind::Phone,
            });
            i = end;
        } else {
            i += 1;
        }
    }
}

/// An optional `/len` at `j`: the length and the end.
fn prefix_at(b: &[u8], j: usize, max: u8) -> Option<(u8, usize)> {
    if b.get(j) != Some(&b'/') {
        return None;
    }
    let mut k = j + 1;
    let mut v: u32 = 0;
    while k < b.len() && b[k].is_ascii_digit() && k - j <= 3 {
        v = v * 10 + u32::from(b[k] - b'0');
        k += 1;
    }
    if k == j + 1 || b.get(k).is_some_and(u8::is_ascii_digit) || v > u32::from(max) {
        return None;
    }
    Some((u8::try_from(v).ok()?, k))
}

/// The dotted quad starting at `i`: the address and its end.
fn ipv4_at(b: &[u8], i: usize) -> Option<(Ipv4Addr, usize)> {
    let mut oct = [0u8; 4];
    let mut j = i;
    for (n, o) in oct.iter_mut().enumerate() {
        if n > 0 {
            if b.get(j) != Some(&b'.') {
                return None;
            }
            j += 1;
        }
        let s = j;
        let mut v: u32 = 0;
        while j < b.len() && b[j].is_ascii_digit() && j - s < 3 {
            v = v * 10 + u32::from(b[j] - b'0');
            j += 1;
        }
        if j == s || v > 255 {
            return None;
        }
        *o = u8::try_from(v).ok()?;
    }
    if b.get(j).is_some_and(u8::is_ascii_digit)
        || (b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit))
    {
        return None;
    }
    Some((Ipv4Addr::from(oct), j))
}

fn is_v6(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
}

/// Appends the IP addresses and CIDR blocks of `s`.
pub fn find_ips(s: &str, out: &mut Vec<Span>) {
    let b = s.as_bytes();
    let first = out.len();
    // IPv6 first: a run of hex digits, colons and dots with two colons.
    let mut after = 0;
    for colon in memchr::memchr_iter(b':', b) {
        if colon < after {
            continue;
        }
        let mut l = colon;
        while l > 0 && is_v6(b[l - 1]) {
            l -= 1;
        }
        let mut r = colon;
        while r < b.len() && is_v6(b[r]) {
            r += 1;
        }
        after = r;
        let mut run = &s[l..r];
        while run.ends_with('.') || (run.ends_with(':') && !run.ends_with("::")) {
            run = &run[..run.len() - 1];
        }
        if run.bytes().filter(|&c| c == b':').count() < 2 {
            continue;
        }
        if let Ok(a) = run.parse::<Ipv6Addr>() {
            let end = l + run.len();
            let (net, end) = match prefix_at(b, end, 128) {
                Some((p, e)) => (Ipv6Net::new(a, p).ok(), e),
                None => (Ipv6Net::new(a, 128).ok(), end),
            };
            if let Some(net) = net {
                out.push(Span {
                    start: l,
                    end,
                    kind: SpanKind::Ip(IpNet::V6(net)),
                });
            }
        }
    }
    let v6 = out.len();
    // Dotted quads (outside the IPv6 runs found).
    if memchr::memchr(b'.', b).is_none() {
        return;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.'))
            && !out[first..v6].iter().any(|sp| sp.start <= i && i < sp.end)
            && let Some((a, end)) = ipv4_at(b, i)
        {
            let (net, end) = match prefix_at(b, end, 32) {
                Some((p, e)) => (Ipv4Net::new(a, p).ok(), e),
                None => (Ipv4Net::new(a, 32).ok(), end),
            };
            if let Some(net) = net {
                out.push(Span {
                    start: i,
                    end,
                    kind: SpanKind::Ip(IpNet::V4(net)),
                });
            }
            i = end;
            continue;
        }
        i += 1;
    }
}

/// Sorts spans by start and drops any that overlaps an earlier one (the
/// longer wins at the same start).
pub fn settle(spans: &mut Vec<Span>) {
    spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut end = 0;
    spans.retain(|s| {
        if s.start < end {
            return false;
        }
        end = s.end;
        true
    });
}

/// Whether `net` touches `ranges` (an IPv4-mapped IPv6 address counts as
/// its IPv4 address).
pub fn in_ranges(net: &IpNet, ranges: &[IpNet]) -> bool {
    let mapped = match net {
        IpNet::V6(n) => n
            .addr()
            .to_ipv4_mapped()
            .and_then(|a| Ipv4Net::new(a, n.prefix_len().saturating_sub(96)).ok())
            .map(IpNet::V4),
        IpNet::V4(_) => None,
    };
    let touches = |n: &IpNet| {
        ranges
            .iter()
            .any(|r| r.contains(n) || n.contains(r) || r.contains(&n.network()))
    };
    touches(net) || mapped.as_ref().is_some_and(touches)
}

/// `net` truncated: IPv4 to at most /24, IPv6 to at most /48, written as
/// `a.b.c.0/24` (a CIDR block, which STIX allows for `ipv4-addr:value`).
pub fn truncated(net: &IpNet) -> String {
    match net {
        IpNet::V4(n) => {
            let p = n.prefix_len().min(24);
            Ipv4Net::new(n.addr(), p).map_or_else(|_| String::new(), |t| t.trunc().to_string())
        }
        IpNet::V6(n) => {
            let p = n.prefix_len().min(48);
            Ipv6Net::new(n.addr(), p).map_or_else(|_| String::new(), |t| t.trunc().to_string())
        }
    }
}

/// The pseudonymous address standing for `net` (by its network address):
/// IPv4 in 240.0.0.0/4 (reserved), IPv6 in 100::/64 (discard-only, RFC
/// 6666), the low bits from `digest`.
pub fn pseudonym_ip(net: &IpNet, digest: &[u8; 32]) -> String {
    match net {
        IpNet::V4(_) => {
            let v = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
            IpAddr::V4(Ipv4Addr::from((v & 0x0fff_ffff) | 0xf000_0000)).to_string()
        }
        IpNet::V6(_) => {
            let mut low = [0u8; 8];
            low.copy_from_slice(&digest[..8]);
            let v = (0x0100_u128 << 112) | u128::from(u64::from_be_bytes(low));
            IpAddr::V6(Ipv6Addr::from(v)).to_string()
        }
    }
}

/// The text of `net` as it is hashed for a pseudonym: its network address
/// and length.
pub fn ip_key(net: &IpNet) -> String {
    format!("ip:{}", net.trunc())
}

/// The whole of `s` is one IP address or block.
pub fn whole_ip(s: &str) -> Option<IpNet> {
    let t = s.trim();
    if let Ok(n) = t.parse::<IpNet>() {
        return Some(n);
    }
    t.parse::<IpAddr>().ok().map(IpNet::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(s: &str) -> Vec<(&str, SpanKind)> {
        let mut v = Vec::new();
        find_emails(s, &mut v);
        find_phones(s, &mut v);
        find_ips(s, &mut v);
        settle(&mut v);
        v.iter().map(|sp| (&s[sp.start..sp.end], sp.kind)).collect()
    }

    #[test]
    fn emails_phones_and_ips_in_text() {
        let got = spans(
            "Mail alice.b+x@mail.example.org or call +49 30 1234567, (555) 123-4567; \
             C2 at 203.0.113.5 and [2001:db8::1]:443, net 198.51.100.0/24.",
        );
        let texts: Vec<&str> = got.iter().map(|g| g.0).collect();
        assert_eq!(
            texts,
            [
                "alice.b+x@mail.example.org",
                "+49 30 1234567",
                "(555) 123-4567",
                "203.0.113.5",
                "2001:db8::1",
                "198.51.100.0/24"
            ]
        );
    }

    #[test]
    fn what_is_not_a_phone() {
        for s in [
            "CVE-2021-44228",
            "seen 2016-04-06T20:03:48.000Z",
            "2016-04-06 20:03:48",
            "hash 1234567890abcdef",
            "version 10.0.19041.1",
            "count 12345678901",
            "2019-2021",
            "at 192.168.100.200",
        ] {
            let mut v = Vec::new();
            find_phones(s, &mut v);
            assert!(v.is_empty(), "{s}: {v:?}");
        }
    }

    #[test]
    fn what_is_not_an_address() {
        for s in [
            "20:03:48.000Z",
            "00:11:22:33:44:55",
            "1.2.3",
            "256.1.1.1",
            "1.2.3.4.5",
        ] {
            let mut v = Vec::new();
            find_ips(s, &mut v);
            assert!(v.is_empty(), "{s}: {v:?}");
        }
        // Leading zeros and mapped addresses are still addresses.
        let mut v = Vec::new();
        find_ips("203.000.113.005 ::ffff:203.0.113.9", &mut v);
        assert_eq!(v.len(), 2, "{v:?}");
        let ranges = ["203.0.113.0/24".parse().unwrap()];
        assert!(v.iter().all(|s| match s.kind {
            SpanKind::Ip(n) => in_ranges(&n, &ranges),
            _ => false,
        }));
    }

    #[test]
    fn truncation_and_pseudonyms() {
        let n: IpNet = "203.0.113.77/32".parse().unwrap();
        assert_eq!(truncated(&n), "203.0.113.0/24");
        let n: IpNet = "2001:db8:1:2::5/128".parse().unwrap();
        assert_eq!(truncated(&n), "2001:db8:1::/48");
        let p = pseudonym_ip(&"203.0.113.77/32".parse().unwrap(), &[0xab; 32]);
        assert!(p.starts_with("251."), "{p}");
        let p = pseudonym_ip(&"2001:db8::1/128".parse().unwrap(), &[0xab; 32]);
        assert!(p.starts_with("100::"), "{p}");
    }
}
