//! The index build's fast paths over an indicator's text: its fields read
//! by a scanner that looks only at the members the index needs, and the
//! most common pattern shape (`[ipv4-addr:value = '…']`, one equality on
//! an indexed path) compiled without the pattern parser. Each gives
//! exactly what the one indicator path ([`crate::indicators::read`],
//! [`crate::indicators::compile_with`]) gives, or steps aside to it
//! whenever the text is anything but plain: an escape in a member the
//! index reads, a `\u` escape anywhere, a repeated member, a value of
//! another type, nesting deeper than [`MAX_DEPTH`], trailing bytes, or a
//! pattern of any other shape. The tests hold both paths to the same
//! answers.

use crate::indicators::{self, CompiledPattern, Indicator, Validity};
use accord_pattern::{HashAlg, KeyKind};
use accord_stix::Timestamp;
use accord_warninglist::{ListHit, WarninglistSet};
use std::borrow::Cow;

/// Nesting beyond this (inside the indicator) is left to serde_json.
const MAX_DEPTH: u32 = 64;

/// [`indicators::read`]: the same answer, through the scanner when it
/// can tell.
pub(crate) fn read(text: &str) -> Option<Indicator<'_>> {
    match scan(text.as_bytes()) {
        Some(f) => finish(text, &f),
        None => indicators::read(text),
    }
}

/// The members the index reads, as written (no escapes in them).
#[derive(Default)]
struct Fields {
    ty: Option<Span>,
    id: Option<Span>,
    pattern: Option<Span>,
    pattern_type: Option<Span>,
    pattern_version: Option<Span>,
    valid_from: Option<Span>,
    valid_until: Option<Span>,
    revoked: bool,
    created_by_ref: Option<Span>,
}

/// A string's content: `start..end` of the text.
#[derive(Clone, Copy)]
struct Span(usize, usize);

/// What [`indicators::read`] does with the parsed members.
fn finish<'a>(text: &'a str, f: &Fields) -> Option<Indicator<'a>> {
    // Every span lies on ASCII quotes of a `&str`: char boundaries.
    let s = |v: Option<Span>| v.map(|Span(a, b)| &text[a..b]);
    if s(f.ty) != Some("indicator") {
        return None;
    }
    let id = s(f.id)?;
    let id_bytes = accord_matcher::parse_indicator_id(id)?;
    let ts = |v: Option<Span>| s(v).and_then(|v| Timestamp::parse(v).ok());
    let validity = Validity {
        valid_from: ts(f.valid_from),
        valid_until: ts(f.valid_until),
        revoked: f.revoked,
    };
    let stix = s(f.pattern_type).is_none_or(|t| t == "stix");
    Some(Indicator {
        id: Cow::Borrowed(id),
        id_bytes,
        validity,
        valid_until_text: s(f.valid_until).map(Cow::Borrowed),
        created_by_ref: s(f.created_by_ref).map(Cow::Borrowed),
        stix_pattern: stix.then(|| s(f.pattern).map(Cow::Borrowed)),
        v20: s(f.pattern_version) == Some("2.0"),
    })
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

/// The end of the run of bytes from `i` that need nothing in a string:
/// the first `"`, `\\` or control character at or after `i`, or the end.
/// Eight bytes at a time: a byte's flag can only be wrong above (after)
/// a byte rightly flagged in the same word, so the lowest flag is exact.
fn plain_run(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
    let flags = |w: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        let x = u64::from_le_bytes(word);
        (zero_byte(x ^ (ONES * u64::from(b'"')))
            | zero_byte(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x))
            & HIGH
    };
    // Four words at a time while none has a flag, then word by word.
    while let Some(w) = b.get(i..i + 32) {
        if (flags(&w[..8]) | flags(&w[8..16]) | flags(&w[16..24]) | flags(&w[24..])) != 0 {
            break;
        }
        i += 32;
    }
    while let Some(w) = b.get(i..i + 8) {
        let f = flags(w);
        if f != 0 {
            return i + (f.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b
        .get(i)
        .is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20)
    {
        i += 1;
    }
    i
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|&c| is_ws(c)) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A string at `"`: its content's span and whether it has an escape.
    /// `None` for anything serde_json might read otherwise (a `\u`
    /// escape, a control character, an unknown escape, no closing quote).
    fn string(&mut self) -> Option<(Span, bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            self.i = plain_run(self.b, self.i);
            match *self.b.get(self.i)? {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Some((Span(start, end), escaped));
                }
                b'\\' => {}
                // A control character: not allowed in a string.
                _ => return None,
            }
            // A backslash: the simple escapes only.
            match self.b.get(self.i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    escaped = true;
                    self.i += 2;
                }
                _ => return None,
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// A number by JSON's grammar.
    fn number(&mut self) -> Option<()> {
        let digits = |s: &mut Self| {
            let from = s.i;
            while s.peek().is_some_and(|c| c.is_ascii_digit()) {
                s.i += 1;
            }
            s.i > from
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            digits(self).then_some(())?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            digits(self).then_some(())?;
        }
        Some(())
    }

    /// After a member or element (spaces allowed): `Some(true)` past the
    /// `close` that ends the object or array, `Some(false)` past a `,`
    /// and the spaces after it, `None` for anything else.
    fn next_item(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                self.ws();
                Some(false)
            }
            c if c == close => {
                self.i += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// Skips one value (at a non-space byte), checking its grammar.
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' if depth >= MAX_DEPTH => None,
            b'{' => {
                self.i += 1;
                self.ws();
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.skip_value(depth + 1)?;
                    if self.next_item(b'}')? {
                        return Some(());
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    if self.next_item(b']')? {
                        return Some(());
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// A string member's value: its span, `None` for `null` (as serde
    /// reads an `Option`); the outer `None` for anything else, or an
    /// escape (left to serde_json).
    fn plain_string_or_null(&mut self) -> Option<Option<Span>> {
        match self.peek()? {
            b'"' => match self.string()? {
                (span, false) => Some(Some(span)),
                (_, true) => None,
            },
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }
}

/// The members the index reads, when the text is a JSON object the
/// scanner reads exactly as serde_json would; `None` otherwise.
fn scan(b: &[u8]) -> Option<Fields> {
    let mut s = Scanner { b, i: 0 };
    let mut f = Fields::default();
    // Members seen (serde refuses a repeated one).
    let mut seen = 0u16;
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.eat(b'}').is_none() {
        loop {
            let (key, escaped) = s.string()?;
            if escaped {
                return None;
            }
            s.ws();
            s.eat(b':')?;
            s.ws();
            let slot = match &b[key.0..key.1] {
                b"type" => Some((0, &mut f.ty)),
                b"id" => Some((1, &mut f.id)),
                b"pattern" => Some((2, &mut f.pattern)),
                b"pattern_type" => Some((3, &mut f.pattern_type)),
                b"pattern_version" => Some((4, &mut f.pattern_version)),
                b"valid_from" => Some((5, &mut f.valid_from)),
                b"valid_until" => Some((6, &mut f.valid_until)),
                b"created_by_ref" => Some((7, &mut f.created_by_ref)),
                b"revoked" => {
                    if seen & (1 << 8) != 0 {
                        return None;
                    }
                    seen |= 1 << 8;
                    f.revoked = match s.peek()? {
                        b't' => s.literal(b"true").map(|()| true)?,
                        b'f' => s.literal(b"false").map(|()| false)?,
                        _ => return None,
                    };
                    None
                }
                _ => {
                    s.skip_value(1)?;
                    None
                }
            };
            if let Some((bit, slot)) = slot {
                if seen & (1 << bit) != 0 {
                    return None;
                }
                seen |= 1 << bit;
                *slot = s.plain_string_or_null()?;
            }
            if s.next_item(b'}')? {
                break;
            }
        }
    }
    s.ws();
    (s.i == b.len()).then_some(f)
}

/// [`indicators::compile_with`]: the same answer, without the parser for
/// a pattern of one equality on an indexed path.
/// [`compile_with`] without warninglists, for a pattern of one equality
/// on an indexed path: its one key (`None` when the value is not a
/// usable key: one bad key), with no list of keys around it; `None` for
/// any other pattern.
pub(crate) fn simple_compiled_key(pattern: &str) -> Option<Option<accord_matcher::Key>> {
    let (kind, value) = simple_key(pattern)?;
    Some(indicators::to_key(kind, &value))
}

pub(crate) fn compile_with(
    pattern: &str,
    v20: bool,
    lists: Option<&WarninglistSet>,
) -> Option<(CompiledPattern, Vec<ListHit>)> {
    match simple_key(pattern) {
        Some((kind, value)) => {
            let mut hits = Vec::new();
            if let Some(set) = lists {
                crate::warninglists::merge_hits(
                    &mut hits,
                    crate::warninglists::key_hits(set, &kind, &value),
                );
                hits.sort_by(|a, b| a.list.cmp(&b.list));
            }
            let c = match indicators::to_key(kind, &value) {
                Some(k) => CompiledPattern::Keys(vec![k], 0),
                None => CompiledPattern::Keys(Vec::new(), 1),
            };
            Some((c, hits))
        }
        None => indicators::compile_with(pattern, v20, lists),
    }
}

/// Longest pattern read by [`simple_key`] (far below the parser's limit).
const MAX_SIMPLE: usize = 4096;

/// `[T:P = 'L']` exactly (no other spaces, no comment, no escape in `L`)
/// on an indexed path: the compiler's key (its kind and value), when the
/// compiler gives one (an address that does not parse or a hash of the
/// wrong length needs the evaluator: left to the full path).
fn simple_key(p: &str) -> Option<(KeyKind, Cow<'_, str>)> {
    if p.len() > MAX_SIMPLE {
        return None;
    }
    let body = p.strip_prefix('[')?.strip_suffix("']")?;
    let (path, lit) = body.split_once(" = '")?;
    if lit.contains(['\'', '\\']) {
        return None;
    }
    let kind = match path {
        "ipv4-addr:value" | "ipv6-addr:value" => KeyKind::Ip,
        "domain-name:value" => KeyKind::Domain,
        "url:value" => KeyKind::Url,
        "email-addr:value" => KeyKind::Email,
        "file:hashes.'MD5'" => KeyKind::Hash(HashAlg::Md5),
        "file:hashes.'SHA-1'" => KeyKind::Hash(HashAlg::Sha1),
        "file:hashes.'SHA-256'" => KeyKind::Hash(HashAlg::Sha256),
        "file:hashes.'SHA-512'" => KeyKind::Hash(HashAlg::Sha512),
        _ => return None,
    };
    let value = match kind {
        KeyKind::Ip => Cow::Owned(ip_value(lit)?),
        KeyKind::Hash(a) => {
            let len = match a {
                HashAlg::Md5 => 32,
                HashAlg::Sha1 => 40,
                HashAlg::Sha256 => 64,
                HashAlg::Sha512 => 128,
            };
            if lit.len() != len || !lit.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            Cow::Owned(lit.to_ascii_lowercase())
        }
        _ => Cow::Borrowed(lit),
    };
    Some((kind, value))
}

/// The compiler's value of an address key: `addr/len`, the address as
/// Rust prints it.
fn ip_value(s: &str) -> Option<String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    if prefix.is_none() && ip.is_ipv4() {
        // Rust reads an IPv4 address only in the dotted-quad form it
        // prints (no leading zeros): the text as written.
        let mut v = String::with_capacity(s.len() + 3);
        v.push_str(s);
        v.push_str("/32");
        return Some(v);
    }
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let len = match prefix {
        Some(p) => p.parse::<u8>().ok().filter(|&n| n <= width)?,
        None => width,
    };
    Some(format!("{ip}/{len}"))
}

/// Both paths' answers for an indicator's text (the scanner's, then
/// serde's), as comparable text: for the tests and the
/// `index_fast_paths` fuzz target, which hold them equal.
#[doc(hidden)]
pub fn read_both(text: &str) -> (String, String) {
    let show = |i: Option<Indicator<'_>>| match i {
        None => "none".to_string(),
        Some(i) => format!(
            "{} {:?} {:?} {:?} {:?} {:?} {}",
            i.id,
            i.id_bytes,
            i.validity,
            i.valid_until_text,
            i.created_by_ref,
            i.stix_pattern,
            i.v20
        ),
    };
    (show(read(text)), show(indicators::read(text)))
}

/// Both paths' compilations of a pattern (without the parser when it is
/// one equality, then the parser's), as comparable text: for the tests
/// and the `index_fast_paths` fuzz target.
#[doc(hidden)]
pub fn compile_both(pattern: &str, v20: bool, lists: Option<&WarninglistSet>) -> (String, String) {
    let show = |r: Option<(CompiledPattern, Vec<ListHit>)>| {
        let lists = |hits: &[ListHit]| hits.iter().map(|h| h.list.to_string()).collect::<Vec<_>>();
        match r {
            None => "none".to_string(),
            Some((CompiledPattern::Keys(k, bad), hits)) => {
                format!("keys {k:?} {bad} {:?}", lists(&hits))
            }
            Some((CompiledPattern::NeedsEvaluator, hits)) => {
                format!("evaluator {:?}", lists(&hits))
            }
        }
    };
    (
        show(compile_with(pattern, v20, lists)),
        show(indicators::compile_with(pattern, v20, lists)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--92e55772-e97b-4dd1-8a14-043cb6d33dc4","created":"2026-01-06T18:52:31.058Z","modified":"2026-01-06T18:52:31.058Z","created_by_ref":"identity--7d5b2c9a-3f1e-4b8a-9c6d-2e4f8a1b3c5d","name":"Malicious domain prapo.top","description":"Generated indicator 499951.","indicator_types":["malicious-activity"],"pattern":"[domain-name:value = 'prapo.top']","pattern_type":"stix","valid_from":"2026-01-06T18:52:31.058Z","labels":["generated"],"confidence":58,"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}"#;

    #[test]
    fn the_scanner_reads_what_serde_reads() {
        let mut cases: Vec<String> = vec![
            BASE.into(),
            format!("  \n{BASE}\t\r\n"),
            BASE.replace(r#""type":"indicator""#, r#""type":"malware""#),
            BASE.replace(r#""type":"indicator""#, r#""type":null"#),
            BASE.replace(r#""type":"indicator""#, r#""type":"indic\u0061tor""#),
            BASE.replace(r#""type":"indicator""#, r#""\u0074ype":"indicator""#),
            BASE.replace(r#""type":"indicator","#, ""),
            BASE.replace("4dd1-8a14", "4dd1-8a1"),
            BASE.replace("indicator--92e5", "malware--92e5"),
            BASE.replace(r#""confidence":58"#, r#""confidence":58,"revoked":true"#),
            BASE.replace(r#""confidence":58"#, r#""confidence":58,"revoked":false"#),
            BASE.replace(r#""confidence":58"#, r#""confidence":58,"revoked":null"#),
            BASE.replace(r#""confidence":58"#, r#""confidence":58,"revoked":1"#),
            BASE.replace(
                r#""confidence":58"#,
                r#""confidence":58,"revoked":true,"revoked":true"#,
            ),
            BASE.replace(r#""confidence":58"#, r#""confidence":-5.25e+3"#),
            BASE.replace(r#""confidence":58"#, r#""confidence":058"#),
            BASE.replace(r#""confidence":58"#, r#""confidence":5."#),
            BASE.replace(r#""confidence":58"#, r#""confidence":-"#),
            BASE.replace(r#""confidence":58"#, r#""confidence":1e"#),
            BASE.replace(r#""confidence":58"#, r#""confidence":truth"#),
            BASE.replace(
                r#""confidence":58"#,
                r#""x":{"a":[1,{"b":null},[]],"c":{}}"#,
            ),
            BASE.replace(r#""confidence":58"#, r#""x":{"a":[1,{"b":null},[],]}"#),
            BASE.replace(r#""confidence":58"#, r#""x":{"a" 1}"#),
            BASE.replace(r#""confidence":58"#, r#""x" : [ 1 , 2 ] "#),
            BASE.replace("Generated", "Gen\\\"er\\n\\/ated"),
            BASE.replace("Generated", "Gen\\u00e9rated"),
            BASE.replace("Generated", "Gen\\ud800rated"),
            BASE.replace("Generated", "Gen\\xrated"),
            BASE.replace("Generated", "Gen\u{1}rated"),
            BASE.replace("Generated", "Gén€rated 🦀"),
            BASE.replace(r#""pattern_type":"stix""#, r#""pattern_type":"sigma""#),
            BASE.replace(r#""pattern_type":"stix""#, r#""pattern_type":null"#),
            BASE.replace(r#""pattern_type":"stix""#, r#""pattern_type":5"#),
            BASE.replace(r#""pattern_type":"stix""#, r#""pattern_version":"2.0""#),
            BASE.replace(
                r#""pattern_type":"stix""#,
                r#""pattern_type":"stix","pattern_type":"stix""#,
            ),
            BASE.replace("prapo.top'", "pra\\\\po.top'"),
            BASE.replace(r#""pattern":"[domain-name:value = 'prapo.top']","#, ""),
            BASE.replace(
                r#""pattern":"[domain-name:value = 'prapo.top']""#,
                r#""pattern":null"#,
            ),
            BASE.replace(
                r#""valid_from":"2026-01-06T18:52:31.058Z""#,
                r#""valid_from":"2026-01-06T18:52:31.058Z","valid_until":"2027-01-01T00:00:00.5Z""#,
            ),
            BASE.replace(
                r#""valid_from":"2026-01-06T18:52:31.058Z""#,
                r#""valid_from":"yesterday""#,
            ),
            BASE.replace(
                r#""created_by_ref":"identity--"#,
                r#""created_by_ref":"identity\t--"#,
            ),
            BASE.replace(
                r#""created_by_ref":"identity--7d5b2c9a-3f1e-4b8a-9c6d-2e4f8a1b3c5d","#,
                "",
            ),
            BASE.replace(r#""labels":["generated"]"#, r#""labels":["generated""#),
            format!("{BASE}x"),
            format!("{BASE}{{}}"),
            BASE[..BASE.len() - 1].to_string(),
            BASE[..BASE.len() / 2].to_string(),
            "{}".into(),
            "[]".into(),
            r#"["indicator","indicator--92e55772-e97b-4dd1-8a14-043cb6d33dc4"]"#.into(),
            String::new(),
        ];
        // Deep nesting, around the scanner's bound.
        for depth in [60, 63, 64, 65, 200] {
            let v = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            cases.push(BASE.replace(r#""confidence":58"#, &format!(r#""x":{v}"#)));
        }
        // Cut anywhere: never a panic, always the same answer.
        for cut in 0..BASE.len() {
            if BASE.is_char_boundary(cut) {
                cases.push(BASE[..cut].to_string());
            }
        }
        for c in &cases {
            let (fast, slow) = read_both(c);
            assert_eq!(fast, slow, "{c}");
        }
        assert!(scan(BASE.as_bytes()).is_some(), "the plain case is scanned");
    }

    #[test]
    fn the_one_key_is_compile_withs() {
        let patterns = [
            "[ipv4-addr:value = '10.0.0.1']",
            "[ipv4-addr:value = '10.0.0.0/8']",
            "[ipv4-addr:value = '10.0.0.1/33']",
            "[ipv6-addr:value = '2001:db8::1']",
            "[domain-name:value = 'Evil.Example.']",
            "[domain-name:value = 'bad domain']",
            "[url:value = 'HTTP://Evil.Example/a%7eb']",
            "[email-addr:value = 'A@Evil.Example']",
            "[file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']",
            "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']",
            "[domain-name:value = 'a.example' OR domain-name:value = 'b.example']",
            "[x-custom:value = 'a']",
        ];
        let mut simple = 0;
        for p in patterns {
            let one = simple_compiled_key(p);
            simple += usize::from(one.is_some());
            let Some(key) = one else { continue };
            match compile_with(p, false, None) {
                Some((CompiledPattern::Keys(keys, bad), hits)) => {
                    assert!(hits.is_empty());
                    assert_eq!(
                        format!("{keys:?} {bad}"),
                        format!(
                            "{:?} {}",
                            key.iter().collect::<Vec<_>>(),
                            u64::from(key.is_none())
                        ),
                        "{p}"
                    );
                }
                _ => panic!("{p}: compile_with gives no keys"),
            }
        }
        // (A prefix past 32 is left to the parser, and the last two.)
        assert_eq!(simple, 9);
    }

    #[test]
    fn plain_run_stops_at_the_first_quote_backslash_or_control() {
        let naive = |b: &[u8], i: usize| {
            (i..b.len())
                .find(|&j| b[j] == b'"' || b[j] == b'\\' || b[j] < 0x20)
                .unwrap_or(b.len())
        };
        let alphabet = [
            b'a', b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']',
        ];
        // Every position of each special byte among plain ones (and next
        // to bytes that borrow: 0x00, 0x80, 0xff), from every start.
        for len in (0..20).chain([31, 32, 33, 40, 64, 70]) {
            for at in 0..len {
                for &c in &alphabet {
                    for &fill in &[b'a', 0x80, 0xff, 0x21] {
                        let mut v = vec![fill; len];
                        v[at] = c;
                        // A borrowing byte right after it, once.
                        if fill == 0x21 && at + 1 < len {
                            v[at + 1] = 0x00;
                        }
                        // Every start on short runs; on long ones, some
                        // and those around the special byte.
                        let starts = (0..=len)
                            .filter(|&st| len < 20 || st % 7 == 0 || (st + 1 >= at && st <= at));
                        for start in starts {
                            assert_eq!(plain_run(&v, start), naive(&v, start), "{v:?} {start}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn simple_patterns_compile_as_the_parser_compiles_them() {
        let set = {
            let text = r#"{"name":"L","description":"d","version":1,"type":"cidr","list":["10.0.0.0/8","2001:db8::/32"],"matching_attributes":["ip-dst","ip-src"]}"#;
            let l = accord_warninglist::parse_list(text.as_bytes(), "l.json", &Default::default())
                .unwrap();
            let h = r#"{"name":"H","description":"d","version":1,"type":"string","list":["evil.example","d41d8cd98f00b204e9800998ecf8427e"],"matching_attributes":["domain","md5"]}"#;
            let h = accord_warninglist::parse_list(h.as_bytes(), "h.json", &Default::default())
                .unwrap();
            WarninglistSet::build_with_ids(
                vec![("l".to_string(), l), ("h".to_string(), h)],
                &Default::default(),
            )
            .unwrap()
        };
        let mut n_simple = 0;
        for p in [
            "[ipv4-addr:value = '211.40.42.206']",
            "[ipv4-addr:value = '10.1.2.3']",
            "[ipv4-addr:value = '10.1.2.3/8']",
            "[ipv4-addr:value = '10.1.2.3/33']",
            "[ipv4-addr:value = '10.1.2.3/x']",
            "[ipv4-addr:value = '010.1.2.3']",
            "[ipv4-addr:value = '999.1.2.3']",
            "[ipv4-addr:value = '']",
            "[ipv4-addr:value = '2001:DB8::1']",
            "[ipv6-addr:value = '2001:db8:0:0::1/64']",
            "[ipv6-addr:value = '::ffff:10.0.0.1']",
            "[ipv6-addr:value = '::ffff:10.0.0.1/120']",
            "[ipv6-addr:value = '2001:db8::/129']",
            "[domain-name:value = 'prapo.top']",
            "[domain-name:value = 'Evil.Example.']",
            "[domain-name:value = 'bad domain']",
            "[domain-name:value = '']",
            "[domain-name:value = 'évil.example']",
            "[domain-name:value = 'a/*b*/c']",
            "[domain-name:value = 'a]']",
            "[domain-name:value = 'a'] ']",
            "[url:value = 'HTTP://Evil.Example:80/a%7eb']",
            "[url:value = 'not a url']",
            "[email-addr:value = 'Bob@Evil.Example']",
            "[email-addr:value = 'bob']",
            "[file:hashes.'SHA-256' = '3b8fa237f0798d541ca769e5b34f4bc05af7e5c9da324e02e05552b4a53e104c']",
            "[file:hashes.'SHA-256' = '3B8FA237F0798D541CA769E5B34F4BC05AF7E5C9DA324E02E05552B4A53E104C']",
            "[file:hashes.'SHA-256' = '3b8f']",
            "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']",
            "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427g']",
            "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
            "[file:hashes.'SHA-512' = 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e']",
            "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
            "[file:hashes.'SHA3-256' = 'aa']",
            "[file:name = 'x']",
            "[ipv4-addr:value  = '10.0.0.1']",
            "[ipv4-addr:value == '10.0.0.1']",
            "[ipv4-addr:value = '10.0.0.1'] ",
            "[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value = '10.0.0.2']",
            "[ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.2']",
            "[ipv4-addr:value = 'it\\'s']",
            "[ipv4-addr:value = '10.0.0.1\\\\']",
            "[ipv4-addr:value = '10.0.0.1'",
            "[ipv4-addr:value = t'2020-01-01T00:00:00Z']",
        ] {
            n_simple += usize::from(simple_key(p).is_some());
            for v20 in [false, true] {
                for lists in [None, Some(&set)] {
                    let (fast, slow) = compile_both(p, v20, lists);
                    assert_eq!(fast, slow, "{p} {v20} {}", lists.is_some());
                }
            }
        }
        assert!(n_simple >= 20, "{n_simple}");
    }
}
