//! Lexer and recursive-descent parser for the STIX 2.1 patterning grammar
//! (STIX 2.1 §9 and the OASIS ANTLR grammar `STIXPattern.g4`): keywords
//! are upper case and case-sensitive, `true`/`false` lower case, string
//! escapes are only `\'` and `\\`, `/* */` and `//` comments are skipped.

use std::fmt;

use crate::ast::{CmpExpr, Literal, Number, ObjectPath, ObsExpr, Op, Qualifier, Step, Test};
use crate::time::parse_timestamp;

/// A pattern that is not valid, with the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {message}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
    /// The bound of [`Limits`] the pattern exceeds, when that is the
    /// reason it is refused (`None`: the pattern is not valid).
    pub limit: Option<Limit>,
}

/// Bounds on a pattern, checked while it is parsed so that no pattern
/// from outside can make the parser, the evaluator, the compiler or any
/// other recursive walk over its tree run out of stack or time.
///
/// The tree's depth is bounded by these (a chain `a OR b OR …` nests to
/// the left, so `max_comparisons` bounds it too), and every walk over it in
/// this crate is safe at the deepest tree the defaults admit on a 2 MiB
/// thread stack (`tests/limits.rs` checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest pattern text, in bytes (`[limits] pattern_max_len`).
    pub max_len: usize,
    /// Deepest nesting of `[` and `(` (`[limits] pattern_max_depth`).
    pub max_depth: usize,
    /// Most comparisons in one pattern, each member of an `IN (…)` set and
    /// each qualifier counted as one (`[limits] pattern_max_comparisons`).
    pub max_comparisons: usize,
}

impl Limits {
    /// Default of [`Limits::max_len`]: 256 KiB.
    pub const DEFAULT_MAX_LEN: usize = 256 * 1024;
    /// Default of [`Limits::max_depth`]: 64.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// Default of [`Limits::max_comparisons`]: 500.
    pub const DEFAULT_MAX_COMPARISONS: usize = 500;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_len: Limits::DEFAULT_MAX_LEN,
            max_depth: Limits::DEFAULT_MAX_DEPTH,
            max_comparisons: Limits::DEFAULT_MAX_COMPARISONS,
        }
    }
}

/// Which bound of [`Limits`] a pattern exceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::max_len`]
    Length,
    /// [`Limits::max_depth`]
    Depth,
    /// [`Limits::max_comparisons`]
    Comparisons,
}

impl Limit {
    /// The setting in `accord.toml` `[limits]` that raises this bound.
    pub fn setting(self) -> &'static str {
        match self {
            Limit::Length => "pattern_max_len",
            Limit::Depth => "pattern_max_depth",
            Limit::Comparisons => "pattern_max_comparisons",
        }
    }
}

impl ParseError {
    /// An error at byte `offset` with `message`.
    pub fn new(offset: usize, message: impl Into<String>) -> Self {
        ParseError {
            offset,
            message: message.into(),
            limit: None,
        }
    }

    fn over(offset: usize, limit: Limit, what: &str, max: usize) -> Self {
        ParseError {
            offset,
            message: format!(
                "pattern limit exceeded: {what} is more than {max} (the limit `{}`)",
                limit.setting()
            ),
            limit: Some(limit),
        }
    }

    /// The pattern on one line with a caret under the offending byte, and
    /// the message:
    ///
    /// ```text
    /// [ipv4-addr:value = '1.2.3.4'
    ///                             ^ at byte 28: expected `]`, found end of pattern
    /// ```
    pub fn render(&self, pattern: &str) -> String {
        // Show the line that holds the offset; count columns in chars.
        let start = pattern[..self.offset.min(pattern.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let end = pattern[start..]
            .find('\n')
            .map_or(pattern.len(), |i| start + i);
        let line = &pattern[start..end];
        let col = pattern[start..self.offset.min(pattern.len()).max(start)]
            .chars()
            .count();
        format!("{line}\n{}^ {self}", " ".repeat(col))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i128),
    Float(f64),
    Hex(Vec<u8>),
    Binary(Vec<u8>),
    Str(String),
    Bool(bool),
    Timestamp(i64),
    Kw(&'static str),
    Ident {
        text: String,
        hyphen: bool,
    },
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Colon,
    Dot,
    Comma,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Star,
    /// `+ - ^ / '` on their own: tokens of the grammar no rule uses.
    Stray(char),
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Int(i) => write!(f, "integer {i}"),
            Tok::Float(x) => write!(f, "float {x}"),
            Tok::Hex(_) => f.write_str("hex literal"),
            Tok::Binary(_) => f.write_str("binary literal"),
            Tok::Str(s) => write!(f, "string '{s}'"),
            Tok::Bool(b) => write!(f, "`{b}`"),
            Tok::Timestamp(_) => f.write_str("timestamp literal"),
            Tok::Kw(k) => write!(f, "`{k}`"),
            Tok::Ident { text, .. } => write!(f, "`{text}`"),
            Tok::Eq => f.write_str("`=`"),
            Tok::Neq => f.write_str("`!=`"),
            Tok::Lt => f.write_str("`<`"),
            Tok::Le => f.write_str("`<=`"),
            Tok::Gt => f.write_str("`>`"),
            Tok::Ge => f.write_str("`>=`"),
            Tok::Colon => f.write_str("`:`"),
            Tok::Dot => f.write_str("`.`"),
            Tok::Comma => f.write_str("`,`"),
            Tok::LParen => f.write_str("`(`"),
            Tok::RParen => f.write_str("`)`"),
            Tok::LBrack => f.write_str("`[`"),
            Tok::RBrack => f.write_str("`]`"),
            Tok::Star => f.write_str("`*`"),
            Tok::Stray(c) => write!(f, "`{c}`"),
            Tok::Eof => f.write_str("end of pattern"),
        }
    }
}

fn is_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\r'
            | '\n'
            | '\u{0B}'
            | '\u{0C}'
            | '\u{85}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Decodes the strict base64 of a `b'…'` literal (groups of four, `=`
/// padding only at the end).
fn decode_b64_literal(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (gi, g) in s.chunks(4).enumerate() {
        let last = gi == s.len() / 4 - 1;
        let pads = g.iter().rev().take_while(|&&c| c == b'=').count();
        if pads > 2 || (pads > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &g[..4 - pads] {
            n = (n << 6) | b64_value(c)?;
        }
        n <<= 6 * pads as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pads]);
    }
    Some(out)
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.src.as_bytes()[self.pos..]
    }

    /// Skips whitespace and comments.
    fn skip(&mut self) -> Result<(), ParseError> {
        loop {
            let rest = &self.src[self.pos..];
            if let Some(c) = rest.chars().next().filter(|&c| is_ws(c)) {
                self.pos += c.len_utf8();
            } else if let Some(body) = rest.strip_prefix("/*") {
                match body.find("*/") {
                    Some(i) => self.pos += i + 4,
                    // ANTLR falls back to DIVIDE then `*`: a syntax error.
                    None => return Ok(()),
                }
            } else if rest.starts_with("//") {
                self.pos += rest.find(['\r', '\n']).unwrap_or(rest.len());
            } else {
                return Ok(());
            }
        }
    }

    /// Length of a quoted string starting at `at` (which holds `'`), with
    /// its decoded content, if it is a well-formed string literal.
    fn string_at(&self, at: usize) -> Option<(usize, String)> {
        let b = self.src.as_bytes();
        let mut i = at + 1;
        let mut out = String::new();
        let mut run = i;
        while i < b.len() {
            match b[i] {
                b'\'' => {
                    out.push_str(&self.src[run..i]);
                    return Some((i + 1 - at, out));
                }
                b'\\' => {
                    out.push_str(&self.src[run..i]);
                    match b.get(i + 1) {
                        Some(b'\'') => out.push('\''),
                        Some(b'\\') => out.push('\\'),
                        _ => return None,
                    }
                    i += 2;
                    run = i;
                }
                _ => i += 1,
            }
        }
        None
    }

    fn number(&self) -> Option<(usize, Tok)> {
        // [+-]? ('0' | [1-9][0-9]*)  or  [+-]? [0-9]* '.' [0-9]+ (longest wins)
        let b = self.rest();
        let mut i = 0;
        if matches!(b.first(), Some(b'+' | b'-')) {
            i = 1;
        }
        let digits_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let int_digits = &b[digits_start..i];
        // A float needs '.' and at least one digit after it.
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let mut j = i + 1;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            let text = std::str::from_utf8(&b[..j]).ok()?;
            let x: f64 = text.parse().ok()?;
            // Hundreds of digits overflow to infinity, which no pattern can
            // spell: not a constant (as an integer beyond i128 is not).
            if !x.is_finite() {
                return None;
            }
            return Some((j, Tok::Float(x)));
        }
        if int_digits.is_empty() {
            return None;
        }
        // Integers: "0" alone or no leading zero; "007" lexes as 0, 0, 7.
        let len = if int_digits[0] == b'0' {
            1
        } else {
            int_digits.len()
        };
        let end = digits_start + len;
        let text = std::str::from_utf8(&b[..end]).ok()?;
        let v: i128 = text.trim_start_matches('+').parse().ok()?;
        Some((end, Tok::Int(v)))
    }

    fn prefixed_literal(&self) -> Option<(usize, Tok)> {
        let b = self.rest();
        if b.get(1) != Some(&b'\'') {
            return None;
        }
        let close = b[2..].iter().position(|&c| c == b'\'')? + 2;
        let body = &b[2..close];
        let len = close + 1;
        match b[0] {
            b'h' => {
                if !body.len().is_multiple_of(2) || !body.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let bytes = body
                    .chunks(2)
                    .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("zz"), 16))
                    .collect::<Result<Vec<u8>, _>>()
                    .ok()?;
                Some((len, Tok::Hex(bytes)))
            }
            b'b' => Some((len, Tok::Binary(decode_b64_literal(body)?))),
            b't' => {
                if !timestamp_shape(body) {
                    return None;
                }
                let s = std::str::from_utf8(body).ok()?;
                // Well-formed but impossible dates (30 February, second
                // 60) are errors too, reported by the caller.
                Some((len, Tok::Timestamp(parse_timestamp(s).unwrap_or(i64::MIN))))
            }
            _ => None,
        }
    }

    fn next(&mut self) -> Result<(usize, Tok), ParseError> {
        self.skip()?;
        let start = self.pos;
        let rest = self.rest();
        let Some(&c) = rest.first() else {
            return Ok((start, Tok::Eof));
        };
        let (len, tok) = match c {
            b'h' | b'b' | b't' if rest.get(1) == Some(&b'\'') => match self.prefixed_literal() {
                Some(x) => x,
                None => self.identifier(),
            },
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.identifier(),
            b'0'..=b'9' | b'+' | b'-' | b'.' => match self.number() {
                Some(x) => x,
                None => (
                    1,
                    match c {
                        b'.' => Tok::Dot,
                        _ => Tok::Stray(c as char),
                    },
                ),
            },
            b'\'' => match self.string_at(start) {
                Some((len, s)) => (len, Tok::Str(s)),
                None => (1, Tok::Stray('\'')),
            },
            b'=' => (if rest.get(1) == Some(&b'=') { 2 } else { 1 }, Tok::Eq),
            b'!' if rest.get(1) == Some(&b'=') => (2, Tok::Neq),
            b'<' => match rest.get(1) {
                Some(b'>') => (2, Tok::Neq),
                Some(b'=') => (2, Tok::Le),
                _ => (1, Tok::Lt),
            },
            b'>' => match rest.get(1) {
                Some(b'=') => (2, Tok::Ge),
                _ => (1, Tok::Gt),
            },
            b':' => (1, Tok::Colon),
            b',' => (1, Tok::Comma),
            b'(' => (1, Tok::LParen),
            b')' => (1, Tok::RParen),
            b'[' => (1, Tok::LBrack),
            b']' => (1, Tok::RBrack),
            b'*' => (1, Tok::Star),
            b'^' | b'/' => (1, Tok::Stray(c as char)),
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or('?');
                return Err(ParseError::new(
                    start,
                    format!("unexpected character {ch:?}"),
                ));
            }
        };
        self.pos += len;
        Ok((start, tok))
    }

    fn identifier(&self) -> (usize, Tok) {
        let b = self.rest();
        let mut i = 1;
        let mut hyphen = false;
        while let Some(&c) = b.get(i) {
            if c.is_ascii_alphanumeric() || c == b'_' {
                i += 1;
            } else if c == b'-' {
                hyphen = true;
                i += 1;
            } else {
                break;
            }
        }
        let text = &self.src[self.pos..self.pos + i];
        // Without a hyphen, a keyword wins over an identifier of the same
        // length (keywords come first in the grammar).
        if !hyphen && let Some(kw) = crate::ast::KEYWORDS.iter().find(|k| **k == text) {
            return (
                i,
                match *kw {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    k => Tok::Kw(k),
                },
            );
        }
        (
            i,
            Tok::Ident {
                text: text.to_owned(),
                hyphen,
            },
        )
    }
}

/// The offset of the first byte at or after `at` that is not whitespace.
fn skip_ws(src: &str, at: usize) -> usize {
    let rest = &src[at.min(src.len())..];
    at + (rest.len() - rest.trim_start_matches(is_ws).len())
}

/// Hash constants must have their algorithm's form (the validator's table:
/// hex of the digest length).
fn check_hash(path: &ObjectPath, op: &Op) -> Result<(), String> {
    let Some(Step::Key(alg)) = path.steps.last() else {
        return Ok(());
    };
    if path.steps.len() < 2 || !path.steps.iter().any(|s| *s == Step::Key("hashes".into())) {
        return Ok(());
    }
    let (Op::Eq(Literal::Str(v)) | Op::Neq(Literal::Str(v))) = op else {
        return Ok(());
    };
    let norm = alg.to_ascii_uppercase().replace('-', "");
    let len = match norm.as_str() {
        "MD5" => 32,
        "SHA1" => 40,
        "SHA224" | "SHA3224" => 56,
        "SHA256" | "SHA3256" => 64,
        "SHA384" | "SHA3384" => 96,
        "SHA512" | "SHA3512" => 128,
        _ => return Ok(()),
    };
    if v.len() == len && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "'{v}' is not a valid {alg} hash ({len} hex digits)"
        ))
    }
}

/// `YYYY-MM-DDTHH:MM:SS(.d+)?Z` with the digit ranges of the grammar.
fn timestamp_shape(b: &[u8]) -> bool {
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(d(0) && d(1) && d(2) && d(3) && at(4, b'-') && d(5) && d(6) && at(7, b'-') && d(8) && d(9))
    {
        return false;
    }
    if !(at(10, b'T')
        && d(11)
        && d(12)
        && at(13, b':')
        && d(14)
        && d(15)
        && at(16, b':')
        && d(17)
        && d(18))
    {
        return false;
    }
    let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (mo, dd, h, mi, s) = (two(5), two(8), two(11), two(14), two(17));
    if !(1..=12).contains(&mo) || !(1..=31).contains(&dd) || h > 23 || mi > 59 || s > 60 {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        if !d(i) {
            return false;
        }
        while d(i) {
            i += 1;
        }
    }
    at(i, b'Z') && i + 1 == b.len()
}

/// Parses a pattern into its syntax tree, or says where and why it is not
/// valid. Semantic checks that the reference tools only make when matching
/// (impossible timestamps, set literals mixing types, `REPEATS 0`,
/// `WITHIN 0`, regular expressions that do not compile) are made here too.
///
/// The pattern is held to the default [`Limits`]; [`parse_limited`] takes
/// others.
pub fn parse(src: &str) -> Result<ObsExpr, ParseError> {
    parse_dialect(src, false, false, &Limits::default())
}

/// [`parse`] within `limits`.
pub fn parse_limited(src: &str, limits: &Limits) -> Result<ObsExpr, ParseError> {
    parse_dialect(src, false, false, limits)
}

/// Parses and also applies the validator's rules beyond the grammar (as
/// the OASIS `stix2-patterns` validator does): no observation expression
/// with two qualifiers of one kind (9.5.1 "MUST NOT have more than one
/// Qualifier of a particular type"), and hash constants of the right form
/// for their algorithm (`file:hashes.'SHA-256' = 'f00'` is refused).
pub fn parse_strict(src: &str) -> Result<ObsExpr, ParseError> {
    parse_dialect(src, false, true, &Limits::default())
}

/// [`parse_strict`] within `limits`.
pub fn parse_strict_limited(src: &str, limits: &Limits) -> Result<ObsExpr, ParseError> {
    parse_dialect(src, false, true, limits)
}

/// Parses a STIX 2.0 pattern: as 2.1, and `START`/`STOP` also take
/// timestamps written as plain strings (`START '2016-01-01T00:00:00Z'`),
/// the 2.0 form.
pub fn parse_v20(src: &str) -> Result<ObsExpr, ParseError> {
    parse_dialect(src, true, false, &Limits::default())
}

/// [`parse_v20`] within `limits`.
pub fn parse_v20_limited(src: &str, limits: &Limits) -> Result<ObsExpr, ParseError> {
    parse_dialect(src, true, false, limits)
}

fn parse_dialect(
    src: &str,
    v20: bool,
    strict: bool,
    limits: &Limits,
) -> Result<ObsExpr, ParseError> {
    parse_dialect_keeping(src, v20, strict, limits, false).map(|(e, _)| e)
}

/// [`parse`] (or [`parse_v20`]), also giving the `MATCHES` operands it
/// built to check them, in source order (for [`crate::Pattern::new`]).
pub(crate) fn parse_keeping(
    src: &str,
    v20: bool,
) -> Result<(ObsExpr, Vec<(String, crate::eval::BuiltMatches)>), ParseError> {
    parse_dialect_keeping(src, v20, false, &Limits::default(), true)
        .map(|(e, k)| (e, k.unwrap_or_default()))
}

type Kept = Option<Vec<(String, crate::eval::BuiltMatches)>>;

fn parse_dialect_keeping(
    src: &str,
    v20: bool,
    strict: bool,
    limits: &Limits,
    keep: bool,
) -> Result<(ObsExpr, Kept), ParseError> {
    if src.len() > limits.max_len {
        return Err(ParseError::over(
            limits.max_len,
            Limit::Length,
            &format!("the pattern's length ({} bytes)", src.len()),
            limits.max_len,
        ));
    }
    let mut p = Parser {
        lx: Lexer { src, pos: 0 },
        tok: Tok::Eof,
        at: 0,
        v20,
        strict,
        limits: *limits,
        depth: 0,
        comparisons: 0,
        keep: keep.then(Vec::new),
    };
    p.bump()?;
    let e = p.observation_expressions()?;
    if p.tok != Tok::Eof {
        return Err(
            p.unexpected("an observation operator (`AND`, `OR`, `FOLLOWEDBY`) or a qualifier")
        );
    }
    Ok((e, p.keep))
}

struct Parser<'a> {
    lx: Lexer<'a>,
    tok: Tok,
    at: usize,
    v20: bool,
    strict: bool,
    limits: Limits,
    /// Current nesting of `[` and `(`.
    depth: usize,
    /// Comparisons (and set members) read so far.
    comparisons: usize,
    /// `MATCHES` operands built to check them, kept for the evaluator.
    keep: Kept,
}

impl Parser<'_> {
    /// Enters one level of nesting at the current token.
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(ParseError::over(
                self.at,
                Limit::Depth,
                "the nesting of `[` and `(`",
                self.limits.max_depth,
            ));
        }
        Ok(())
    }

    /// Counts `n` comparisons at byte `at`.
    fn count(&mut self, at: usize, n: usize) -> Result<(), ParseError> {
        self.comparisons += n;
        if self.comparisons > self.limits.max_comparisons {
            return Err(ParseError::over(
                at,
                Limit::Comparisons,
                "the number of comparisons, set members and qualifiers",
                self.limits.max_comparisons,
            ));
        }
        Ok(())
    }

    fn bump(&mut self) -> Result<Tok, ParseError> {
        let (at, tok) = self.lx.next()?;
        self.at = at;
        Ok(std::mem::replace(&mut self.tok, tok))
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        ParseError::new(self.at, format!("expected {expected}, found {}", self.tok))
    }

    fn expect(&mut self, t: Tok, what: &str) -> Result<(), ParseError> {
        if self.tok == t {
            self.bump()?;
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn is_kw(&self, k: &str) -> bool {
        matches!(&self.tok, Tok::Kw(x) if *x == k)
    }

    fn observation_expressions(&mut self) -> Result<ObsExpr, ParseError> {
        let mut left = self.observation_or()?;
        while self.is_kw("FOLLOWEDBY") {
            self.bump()?;
            let right = self.observation_or()?;
            left = ObsExpr::FollowedBy(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_or(&mut self) -> Result<ObsExpr, ParseError> {
        let mut left = self.observation_and()?;
        while self.is_kw("OR") {
            self.bump()?;
            let right = self.observation_and()?;
            left = ObsExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_and(&mut self) -> Result<ObsExpr, ParseError> {
        let mut left = self.observation_expression()?;
        while self.is_kw("AND") {
            self.bump()?;
            let right = self.observation_expression()?;
            left = ObsExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_expression(&mut self) -> Result<ObsExpr, ParseError> {
        let mut e = match self.tok {
            Tok::LBrack => {
                self.enter()?;
                self.bump()?;
                let c = self.comparison_or()?;
                self.expect(Tok::RBrack, "`AND`, `OR` or `]`")?;
                self.depth -= 1;
                ObsExpr::Simple(c)
            }
            Tok::LParen => {
                self.enter()?;
                self.bump()?;
                let inner = self.observation_expressions()?;
                self.expect(Tok::RParen, "`AND`, `OR`, `FOLLOWEDBY`, a qualifier or `)`")?;
                self.depth -= 1;
                inner
            }
            _ => return Err(self.unexpected("`[` or `(` to start an observation expression")),
        };
        // Duplicate qualifiers are refused after a bracketed expression, as
        // the reference validator does (it lets `([…]) WITHIN 5 SECONDS
        // WITHIN 6 SECONDS` through).
        let check_dups = self.strict
            && matches!(e, ObsExpr::Simple(_))
            && self.lx.src[..self.at].trim_end().ends_with(']');
        let mut kinds: Vec<&'static str> = Vec::new();
        loop {
            if let (true, Tok::Kw(k @ ("WITHIN" | "START" | "REPEATS"))) = (check_dups, &self.tok) {
                let k: &'static str = k;
                if kinds.contains(&k) {
                    let msg = format!(
                        "a second {k} qualifier on one observation expression (9.5.1 allows one of each)"
                    );
                    return Err(ParseError::new(self.at, msg));
                }
                kinds.push(k);
            }
            if matches!(self.tok, Tok::Kw("WITHIN" | "START" | "REPEATS")) {
                // Each qualifier wraps the expression in one more node: it
                // counts as a term, as a comparison does.
                self.count(self.at, 1)?;
            }
            let q = if self.is_kw("WITHIN") {
                self.within()?
            } else if self.is_kw("START") {
                self.start_stop()?
            } else if self.is_kw("REPEATS") {
                self.repeats()?
            } else {
                return Ok(e);
            };
            e = ObsExpr::Qualified(Box::new(e), q);
        }
    }

    fn within(&mut self) -> Result<Qualifier, ParseError> {
        self.bump()?;
        let at = self.at;
        let seconds = match self.bump()? {
            Tok::Int(i) if i >= 0 && !self.lx.src[at..].starts_with('-') => Number::Int(i),
            Tok::Float(x) if !self.lx.src[at..].starts_with('-') => Number::Float(x),
            t => {
                return Err(ParseError::new(
                    at,
                    format!("expected a positive number of seconds, found {t}"),
                ));
            }
        };
        let micros = match seconds {
            Number::Int(i) => i.saturating_mul(1_000_000),
            Number::Float(x) => (x * 1e6).round() as i128,
        };
        if micros <= 0 {
            return Err(ParseError::new(
                at,
                format!("WITHIN needs a positive duration, found {seconds}"),
            ));
        }
        if !self.is_kw("SECONDS") {
            return Err(self.unexpected("`SECONDS`"));
        }
        self.bump()?;
        Ok(Qualifier::Within { seconds, micros })
    }

    fn timestamp(&mut self) -> Result<i64, ParseError> {
        let at = self.at;
        match self.bump()? {
            Tok::Str(s) if self.v20 => parse_timestamp(&s)
                .ok_or_else(|| ParseError::new(at, format!("{s:?} is not a timestamp"))),
            Tok::Timestamp(i64::MIN) => {
                Err(ParseError::new(at, "timestamp is not a real date and time"))
            }
            Tok::Timestamp(t) => Ok(t),
            t => Err(ParseError::new(
                at,
                format!("expected a timestamp t'…', found {t}"),
            )),
        }
    }

    fn start_stop(&mut self) -> Result<Qualifier, ParseError> {
        self.bump()?;
        let start = self.timestamp()?;
        if !self.is_kw("STOP") {
            return Err(self.unexpected("`STOP`"));
        }
        self.bump()?;
        let stop = self.timestamp()?;
        Ok(Qualifier::StartStop { start, stop })
    }

    fn repeats(&mut self) -> Result<Qualifier, ParseError> {
        self.bump()?;
        let at = self.at;
        let n = match self.bump()? {
            Tok::Int(i) if !self.lx.src[at..].starts_with('-') => i,
            t => {
                return Err(ParseError::new(
                    at,
                    format!("expected a repeat count, found {t}"),
                ));
            }
        };
        if n < 1 {
            return Err(ParseError::new(
                at,
                format!("REPEATS needs a count of at least 1, found {n}"),
            ));
        }
        let n = u64::try_from(n).map_err(|_| ParseError::new(at, "repeat count too large"))?;
        if !self.is_kw("TIMES") {
            return Err(self.unexpected("`TIMES`"));
        }
        self.bump()?;
        Ok(Qualifier::Repeats(n))
    }

    fn comparison_or(&mut self) -> Result<CmpExpr, ParseError> {
        let mut left = self.comparison_and()?;
        while self.is_kw("OR") {
            self.bump()?;
            let right = self.comparison_and()?;
            left = CmpExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison_and(&mut self) -> Result<CmpExpr, ParseError> {
        let mut left = self.prop_test()?;
        while self.is_kw("AND") {
            self.bump()?;
            let right = self.prop_test()?;
            left = CmpExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn prop_test(&mut self) -> Result<CmpExpr, ParseError> {
        if self.tok == Tok::LParen {
            self.enter()?;
            self.bump()?;
            let inner = self.comparison_or()?;
            self.expect(Tok::RParen, "`AND`, `OR` or `)`")?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.count(self.at, 1)?;
        if self.is_kw("NOT") || self.is_kw("EXISTS") {
            let negated = self.is_kw("NOT");
            if negated {
                self.bump()?;
                if !self.is_kw("EXISTS") {
                    return Err(self.unexpected("`EXISTS` after a leading `NOT`"));
                }
            }
            self.bump()?;
            let path = self.object_path()?;
            return Ok(CmpExpr::Test(Test {
                path,
                negated,
                op: Op::Exists,
            }));
        }
        let path = self.object_path()?;
        let negated = self.is_kw("NOT");
        if negated {
            self.bump()?;
        }
        let op_at = self.at;
        let lit_at = self.lx.pos;
        let op = match self.bump()? {
            Tok::Eq => Op::Eq(self.literal(true)?),
            Tok::Neq => Op::Neq(self.literal(true)?),
            Tok::Lt => Op::Lt(self.literal(false)?),
            Tok::Le => Op::Le(self.literal(false)?),
            Tok::Gt => Op::Gt(self.literal(false)?),
            Tok::Ge => Op::Ge(self.literal(false)?),
            Tok::Kw("IN") => Op::In(self.set_literal()?),
            Tok::Kw("LIKE") => Op::Like(self.string("a string after LIKE")?),
            Tok::Kw("MATCHES") => {
                let at = self.at;
                let re = self.string("a regular expression string after MATCHES")?;
                let built = crate::eval::build_matches(&re).map_err(|e| ParseError::new(at, e))?;
                if let Some(keep) = &mut self.keep {
                    keep.push((re.clone(), built));
                }
                Op::Matches(re)
            }
            Tok::Kw("ISSUBSET") => Op::IsSubset(self.string("a string after ISSUBSET")?),
            Tok::Kw("ISSUPERSET") => Op::IsSuperset(self.string("a string after ISSUPERSET")?),
            t => {
                return Err(ParseError::new(
                    op_at,
                    format!(
                        "expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET), found {t}"
                    ),
                ));
            }
        };
        if self.strict {
            check_hash(&path, &op).map_err(|m| ParseError::new(skip_ws(self.lx.src, lit_at), m))?;
        }
        Ok(CmpExpr::Test(Test { path, negated, op }))
    }

    fn string(&mut self, what: &str) -> Result<String, ParseError> {
        match &self.tok {
            Tok::Str(_) => match self.bump()? {
                Tok::Str(s) => Ok(s),
                _ => unreachable!(),
            },
            _ => Err(self.unexpected(what)),
        }
    }

    fn literal(&mut self, allow_bool: bool) -> Result<Literal, ParseError> {
        let at = self.at;
        let lit = match self.bump()? {
            Tok::Int(i) => Literal::Int(i),
            Tok::Float(x) => Literal::Float(x),
            Tok::Str(s) => Literal::Str(s),
            Tok::Hex(b) => Literal::Hex(b),
            Tok::Binary(b) => Literal::Binary(b),
            Tok::Timestamp(i64::MIN) => {
                return Err(ParseError::new(at, "timestamp is not a real date and time"));
            }
            Tok::Timestamp(t) => Literal::Timestamp(t),
            Tok::Bool(b) if allow_bool => Literal::Bool(b),
            Tok::Bool(_) => {
                return Err(ParseError::new(
                    at,
                    "booleans cannot be ordered; use = or !=",
                ));
            }
            t => {
                return Err(ParseError::new(
                    at,
                    format!("expected a constant, found {t}"),
                ));
            }
        };
        Ok(lit)
    }

    fn set_literal(&mut self) -> Result<Vec<Literal>, ParseError> {
        let open = self.at;
        self.expect(Tok::LParen, "`(` to start a set")?;
        let mut items = Vec::new();
        if self.tok == Tok::RParen {
            self.bump()?;
            return Ok(items);
        }
        loop {
            let at = self.at;
            let lit = self.literal(true)?;
            if let Some(first) = items.first()
                && Literal::set_kind(first) != lit.set_kind()
            {
                return Err(ParseError::new(
                    at,
                    format!("set mixes types: {first} and {lit}"),
                ));
            }
            items.push(lit);
            if items.len() > 1 {
                // The first member was counted as the comparison itself.
                self.count(at, 1)?;
            }
            match self.tok {
                Tok::Comma => {
                    self.bump()?;
                }
                Tok::RParen => {
                    self.bump()?;
                    return Ok(items);
                }
                _ => {
                    let _ = open;
                    return Err(self.unexpected("`,` or `)`"));
                }
            }
        }
    }

    fn object_path(&mut self) -> Result<ObjectPath, ParseError> {
        let object_type = match &self.tok {
            Tok::Ident { .. } => match self.bump()? {
                Tok::Ident { text, .. } => text,
                _ => unreachable!(),
            },
            _ => return Err(self.unexpected("an object type (such as `ipv4-addr`)")),
        };
        self.expect(Tok::Colon, "`:` after the object type")?;
        let mut steps = vec![Step::Key(self.key("a property name")?)];
        loop {
            match self.tok {
                Tok::Dot => {
                    self.bump()?;
                    steps.push(Step::Key(self.key("a property name after `.`")?));
                }
                Tok::LBrack => {
                    self.bump()?;
                    let at = self.at;
                    let step = match self.bump()? {
                        Tok::Int(i) => Step::Index(i),
                        Tok::Star => Step::AnyIndex,
                        t => {
                            return Err(ParseError::new(
                                at,
                                format!("expected a list index or `*`, found {t}"),
                            ));
                        }
                    };
                    self.expect(Tok::RBrack, "`]` after the list index")?;
                    steps.push(step);
                }
                // A float such as `.5` right after a path: the grammar's
                // lexer takes it as a float, which no rule accepts here.
                _ => return Ok(ObjectPath { object_type, steps }),
            }
        }
    }

    fn key(&mut self, what: &str) -> Result<String, ParseError> {
        match &self.tok {
            Tok::Ident { hyphen: false, .. } | Tok::Str(_) => match self.bump()? {
                Tok::Ident { text, .. } => Ok(text),
                Tok::Str(s) => Ok(s),
                _ => unreachable!(),
            },
            Tok::Ident { hyphen: true, text } => Err(ParseError::new(
                self.at,
                format!("property name `{text}` has a hyphen: quote it, as in '{text}'"),
            )),
            _ => Err(self.unexpected(what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> ObsExpr {
        parse(p).unwrap_or_else(|e| panic!("{p}: {}", e.render(p)))
    }

    #[test]
    fn parses_the_grammar() {
        for p in [
            "[ipv4-addr:value = '198.51.100.7']",
            "[file:hashes.'SHA-256' = 'aa' OR file:hashes.MD5 = h'00ff']",
            "[network-traffic:src_ref.value ISSUBSET '10.0.0.0/8' AND network-traffic:dst_port >= 443]",
            "[a:b[0].c[*] NOT IN (1, 2.5, -3)] FOLLOWEDBY [x:y LIKE 'a%'] WITHIN 5 SECONDS",
            "([a:b = 1] AND [c:d != 'x']) REPEATS 2 TIMES START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00.5Z'",
            "[EXISTS windows-registry-key:values[*].name]",
            "[x:y MATCHES '^a\\\\d+' OR x:z = true] // comment",
            "/* c */ [x:'quoted key' = b'AAEC']",
            "[x:y = +5] WITHIN .5 SECONDS",
            "[x:y <> 1 AND x:y == 2]",
        ] {
            ok(p);
        }
    }

    #[test]
    fn precedence() {
        let e = ok("[a:b = 1] OR [a:b = 2] AND [a:b = 3] FOLLOWEDBY [a:b = 4]");
        assert!(
            matches!(e, ObsExpr::FollowedBy(ref l, _) if matches!(**l, ObsExpr::Or(_, ref r) if matches!(**r, ObsExpr::And(..))))
        );
        let e = ok("[a:b = 1 OR a:b = 2 AND a:b = 3]");
        assert!(
            matches!(e, ObsExpr::Simple(CmpExpr::Or(_, ref r)) if matches!(**r, CmpExpr::And(..)))
        );
    }

    #[test]
    fn errors_name_the_offset() {
        for (p, at) in [
            ("[ipv4-addr:value = '1.2.3.4'", 28),
            ("[ipv4-addr:value = 1.2.3.4]", 22),
            ("[ipv4-addr:value and 'x']", 17),
            ("[file:name-x = 'a']", 6),
            ("[a:b = 1] WITHIN 0 SECONDS", 17),
            ("[a:b = 1] REPEATS 0 TIMES", 18),
            ("[a:b = t'2020-02-30T00:00:00Z']", 7),
            ("[a:b IN (1, 'x')]", 12),
            ("[a:b = 'x\\n']", 7),
            ("[a:b > true]", 7),
            ("[a:b = 1] START '2020' STOP '2021'", 16),
            ("[a:b = 1] €", 10),
            ("", 0),
        ] {
            let e = parse(p).expect_err(p);
            assert_eq!(e.offset, at, "{p}: {}", e.render(p));
        }
    }

    #[test]
    fn caret_rendering() {
        let p = "[ipv4-addr:value = '1.2.3.4'";
        let r = parse(p).unwrap_err().render(p);
        assert_eq!(r.lines().nth(1).unwrap().find('^'), Some(28), "{r}");
    }

    #[test]
    fn literal_values() {
        let e = ok("[a:b IN ('it\\'s', 'back\\\\slash')]");
        let ObsExpr::Simple(CmpExpr::Test(t)) = e else {
            panic!()
        };
        assert_eq!(
            t.op,
            Op::In(vec![
                Literal::Str("it's".into()),
                Literal::Str("back\\slash".into())
            ])
        );
        let e = ok("[a:b = b'AAEC']");
        let ObsExpr::Simple(CmpExpr::Test(t)) = e else {
            panic!()
        };
        assert_eq!(t.op, Op::Eq(Literal::Binary(vec![0, 1, 2])));
    }
}
