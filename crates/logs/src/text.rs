//! Free text: addresses, domain names, URLs, e-mail addresses and hashes
//! found anywhere in a line.
//!
//! A line is cut into words at whitespace, quotes and brackets. A word that
//! starts with `http://`, `https://` or `ftp://` (or contains one) is a URL,
//! and its host is emitted too. Other words are cut again at `=,;|` and
//! trimmed of punctuation; each piece is tried as an IPv4 address (an
//! optional `:port` dropped), an IPv6 address, a mailbox, a hash (32, 40, 64
//! or 128 hex digits) and a domain name (two or more labels, the last one
//! alphabetic; no list of top-level domains).

use crate::classify;
use crate::collect::{Collector, FieldName, Val};
use crate::{Kind, Sink, SkipReason};

const F_IP: FieldName = FieldName::Static("text.ip");
const F_DOMAIN: FieldName = FieldName::Static("text.domain");
const F_URL: FieldName = FieldName::Static("text.url");
const F_EMAIL: FieldName = FieldName::Static("text.email");
const F_HASH: FieldName = FieldName::Static("text.hash");

/// Field names the text reader uses.
pub const FIELDS: &[&str] = &[
    "text.ip",
    "text.domain",
    "text.url",
    "text.email",
    "text.hash",
];

#[inline]
fn is_word_break(c: u8) -> bool {
    c.is_ascii_whitespace()
        || matches!(
            c,
            b'"' | b'\'' | b'<' | b'>' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'`' | b'\\'
        )
        || !(0x20..0x80).contains(&c)
}

#[inline]
fn is_piece_break(c: u8) -> bool {
    matches!(
        c,
        b'=' | b',' | b';' | b'|' | b'!' | b'?' | b'*' | b'&' | b'^' | b'~' | b'$'
    )
}

fn trim_punct(b: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && matches!(b[s], b'.' | b':' | b'-' | b'/' | b'#' | b'+' | b'@' | b'%') {
        s += 1;
    }
    while e > s
        && matches!(
            b[e - 1],
            b'.' | b':' | b'-' | b'/' | b'#' | b'+' | b'@' | b'%'
        )
    {
        e -= 1;
    }
    (s, e)
}

/// Finds the observables of one line.
pub(crate) fn scan(line: &[u8], c: &mut Collector) {
    let n = line.len();
    let mut i = 0;
    while i < n {
        while i < n && is_word_break(line[i]) {
            i += 1;
        }
        let s = i;
        while i < n && !is_word_break(line[i]) {
            i += 1;
        }
        if s < i {
            word(line, s, i, c);
        }
    }
}

fn url_start(w: &[u8]) -> Option<usize> {
    let p = memchr::memmem::find(w, b"://")?;
    for scheme in [&b"https"[..], b"http", b"ftp"] {
        if p >= scheme.len() && w[p - scheme.len()..p].eq_ignore_ascii_case(scheme) {
            let s = p - scheme.len();
            if s == 0 || !w[s - 1].is_ascii_alphanumeric() {
                return Some(s);
            }
        }
    }
    None
}

fn word(line: &[u8], s: usize, e: usize, c: &mut Collector) {
    let w = &line[s..e];
    if let Some(u) = url_start(w) {
        let us = s + u;
        let mut ue = e;
        while ue > us && matches!(line[ue - 1], b'.' | b',' | b';' | b':' | b'!' | b'?') {
            ue -= 1;
        }
        let url = &line[us..ue];
        let p = memchr::memmem::find(url, b"://").unwrap_or(0) + 3;
        let rest = &url[p..];
        let host_end = rest
            .iter()
            .position(|&b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let auth = &rest[..host_end];
        // Drop userinfo.
        let at = memchr::memrchr(b'@', auth).map_or(0, |a| a + 1);
        let hp = &auth[at..];
        let (hs, he) = classify::host_part(hp);
        let host = &hp[hs..he];
        let h0 = us + p + at + hs;
        let host_kind = if classify::is_ip(host) {
            Some(Kind::Ip)
        } else if classify::is_text_domain(host) {
            Some(Kind::Domain)
        } else {
            None
        };
        if let Some(k) = host_kind {
            c.push(F_URL, Kind::Url, Val::Line(us as u32, ue as u32));
            let f = if k == Kind::Ip { F_IP } else { F_DOMAIN };
            c.push(f, k, Val::Line(h0 as u32, (h0 + host.len()) as u32));
        }
        // Text before the URL (`url=http://…`) is still looked at.
        if u > 0 {
            pieces(line, s, us, c);
        }
        return;
    }
    pieces(line, s, e, c);
}

fn pieces(line: &[u8], s: usize, e: usize, c: &mut Collector) {
    let mut i = s;
    while i < e {
        let ps = i;
        while i < e && !is_piece_break(line[i]) {
            i += 1;
        }
        if ps < i {
            piece(line, ps, i, c);
        }
        i += 1;
    }
}

fn piece(line: &[u8], s: usize, e: usize, c: &mut Collector) {
    // IPv6 first: its colons would be trimmed as punctuation.
    let raw = &line[s..e];
    if raw.len() >= 2 && memchr::memchr(b':', raw).is_some() {
        let (a, z) = trim6(raw);
        if classify::is_ipv6(&raw[a..z]) {
            c.push(F_IP, Kind::Ip, Val::Line((s + a) as u32, (s + z) as u32));
            return;
        }
    }
    let (s, e) = trim_punct(line, s, e);
    if s >= e {
        return;
    }
    let p = &line[s..e];
    let v = Val::Line(s as u32, e as u32);
    let first = p[0];
    if first.is_ascii_digit() {
        // 1.2.3.4 or 1.2.3.4:80
        let ip_end = memchr::memchr(b':', p).unwrap_or(p.len());
        if classify::is_ipv4(&p[..ip_end])
            && (ip_end == p.len() || p[ip_end + 1..].iter().all(u8::is_ascii_digit))
        {
            c.push(F_IP, Kind::Ip, v.sub(0, ip_end));
            return;
        }
    }
    if let Some(at) = memchr::memchr(b'@', p) {
        if classify::mailbox(p) == Some((0, p.len()))
            && classify::is_text_domain(&p[at + 1..])
            && local_ok(&p[..at])
        {
            c.push(F_EMAIL, Kind::Email, v);
        }
        return;
    }
    if classify::is_hash(p) {
        c.push(F_HASH, Kind::Hash, v);
        return;
    }
    // host or host:port
    let host_end = memchr::memchr(b':', p).unwrap_or(p.len());
    if memchr::memchr(b'.', &p[..host_end]).is_some() {
        if let Some(slash) = memchr::memchr(b'/', &p[..host_end]) {
            // example.com/path: the host part.
            let h = &p[..slash];
            if classify::is_text_domain(h) {
                c.push(F_DOMAIN, Kind::Domain, v.sub(0, slash));
            }
            return;
        }
        if classify::is_text_domain(&p[..host_end])
            && (host_end == p.len() || p[host_end + 1..].iter().all(u8::is_ascii_digit))
        {
            c.push(F_DOMAIN, Kind::Domain, v.sub(0, host_end));
        }
    }
}

fn local_ok(l: &[u8]) -> bool {
    !l.is_empty()
        && l.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
}

fn trim6(b: &[u8]) -> (usize, usize) {
    let mut a = 0;
    let mut z = b.len();
    while a < z && matches!(b[a], b'[' | b'.' | b',') {
        a += 1;
    }
    while z > a && matches!(b[z - 1], b']' | b'.' | b',') {
        z -= 1;
    }
    // [v6]:port
    if let Some(p) = b[a..z].iter().position(|&x| x == b']') {
        z = a + p;
    }
    (a, z)
}

/// Text reader: reads a chunk of lines.
pub(crate) fn chunk(c: &mut Collector, bytes: &[u8], first_line: u64, sink: &mut dyn Sink) -> u64 {
    crate::for_each_line(bytes, first_line, |no, line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return;
        }
        if !crate::is_utf8(line) {
            sink.skipped(no, SkipReason::InvalidUtf8);
            return;
        }
        c.clear();
        scan(line, c);
        c.deliver(no, line, &[], sink);
    })
}
