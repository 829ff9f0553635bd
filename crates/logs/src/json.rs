//! A validating, non-allocating scanner over one JSON object per line.
//!
//! It walks the object once, asks a `Rules` table what each key is, skips
//! values nobody wants (strings are skipped with `memchr2`), unescapes a
//! string only when it is wanted and contains a backslash, and checks the
//! grammar as it goes (UTF-8, structure, escapes, numbers, literals,
//! trailing bytes, nesting depth). Objects and arrays under keys no rule
//! reads are skipped faster: their strings, escapes and bracket nesting are
//! checked, not the grammar between them (a wrong literal there cannot
//! change what is extracted). Raw control characters inside strings are let
//! through. Observables go to a `Collector` and are
//! only delivered by the caller after the whole line passed.

use crate::SkipReason;
use crate::collect::{Collector, Val};

/// A position in a rules table: `IGNORE`, `ROOT`, or a table's own node.
pub(crate) type Node = u16;
/// A value nobody wants: skipped, still validated.
pub(crate) const IGNORE: Node = 0;
/// The top-level object.
pub(crate) const ROOT: Node = 1;

/// Deepest nesting accepted (a deeper line is skipped, never a stack overflow).
pub const MAX_DEPTH: usize = 128;

/// What to do with the keys and values of one log format.
pub(crate) trait Rules {
    /// The node of `key` inside the object at `parent` (never called for `IGNORE`).
    fn child(&mut self, parent: Node, key: &[u8]) -> Node;
    /// Called after the value of a non-ignored child has been read.
    fn leave(&mut self, _node: Node) {}
    /// A string value at `node`.
    fn string(&mut self, node: Node, val: Val, line: &[u8], c: &mut Collector);
    /// A number value at `node`.
    fn number(&mut self, _node: Node, _text: &[u8], _c: &mut Collector) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Eof,
    Syntax,
    Depth,
}

impl From<Bad> for SkipReason {
    fn from(b: Bad) -> Self {
        match b {
            Bad::Eof => SkipReason::Truncated,
            Bad::Syntax => SkipReason::InvalidJson,
            Bad::Depth => SkipReason::TooDeep,
        }
    }
}

/// Position of the first `"` or `\\` in `b` (see `classify::find_any`).
#[inline(always)]
fn find_quote(b: &[u8]) -> Option<usize> {
    crate::classify::find_any([b'"', b'\\'], b)
}

struct Scan<'a, 'r, R: Rules> {
    b: &'a [u8],
    i: usize,
    rules: &'r mut R,
}

/// Scans one line. On `Ok`, `c` holds the line's observables; on `Err`, it
/// holds garbage and must be cleared.
pub(crate) fn scan<R: Rules>(
    line: &[u8],
    rules: &mut R,
    c: &mut Collector,
) -> Result<(), SkipReason> {
    if !crate::is_utf8(line) {
        return Err(SkipReason::InvalidUtf8);
    }
    let mut s = Scan {
        b: line,
        i: 0,
        rules,
    };
    s.ws();
    match s.peek() {
        Some(b'{') => {}
        None => return Err(SkipReason::Empty),
        Some(_) => return Err(SkipReason::NotObject),
    }
    s.object(ROOT, 1, c)?;
    s.ws();
    if s.i != s.b.len() {
        return Err(SkipReason::InvalidJson);
    }
    Ok(())
}

impl<R: Rules> Scan<'_, '_, R> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.i += 1;
        }
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Result<(), Bad> {
        match self.peek() {
            Some(x) if x == c => {
                self.i += 1;
                Ok(())
            }
            Some(_) => Err(Bad::Syntax),
            None => Err(Bad::Eof),
        }
    }

    fn object(&mut self, node: Node, depth: usize, c: &mut Collector) -> Result<(), Bad> {
        if depth > MAX_DEPTH {
            return Err(Bad::Depth);
        }
        self.i += 1; // '{'
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(if self.peek().is_none() {
                    Bad::Eof
                } else {
                    Bad::Syntax
                });
            }
            let child = if node == IGNORE {
                self.skip_string()?;
                IGNORE
            } else {
                let mark = c.scratch.len();
                let key = self.string(c)?;
                let child = self.rules.child(node, c.bytes(self.b, key));
                c.scratch.truncate(mark);
                child
            };
            self.ws();
            self.expect(b':')?;
            self.ws();
            self.value(child, depth, c)?;
            if child != IGNORE {
                self.rules.leave(child);
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(_) => return Err(Bad::Syntax),
                None => return Err(Bad::Eof),
            }
        }
    }

    fn array(&mut self, node: Node, depth: usize, c: &mut Collector) -> Result<(), Bad> {
        if depth > MAX_DEPTH {
            return Err(Bad::Depth);
        }
        self.i += 1; // '['
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value(node, depth, c)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(_) => return Err(Bad::Syntax),
                None => return Err(Bad::Eof),
            }
        }
    }

    #[inline]
    fn value(&mut self, node: Node, depth: usize, c: &mut Collector) -> Result<(), Bad> {
        match self.peek() {
            Some(b'"') => {
                if node == IGNORE {
                    self.skip_string()
                } else {
                    let v = self.string(c)?;
                    self.rules.string(node, v, self.b, c);
                    Ok(())
                }
            }
            Some(b'{' | b'[') if node == IGNORE => self.skip_container(depth + 1),
            Some(b'{') => self.object(node, depth + 1, c),
            Some(b'[') => self.array(node, depth + 1, c),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                self.number()?;
                if node != IGNORE {
                    self.rules.number(node, &self.b[start..self.i], c);
                }
                Ok(())
            }
            Some(_) => Err(Bad::Syntax),
            None => Err(Bad::Eof),
        }
    }

    /// Skips an object or array nobody reads: strings (with their escapes)
    /// and bracket nesting are checked, the grammar between them is not.
    fn skip_container(&mut self, depth: usize) -> Result<(), Bad> {
        // One bit per open bracket: 1 for '{', 0 for '['.
        let mut stack: u128 = 0;
        let mut open = 0usize;
        loop {
            let Some(&b) = self.b.get(self.i) else {
                return Err(Bad::Eof);
            };
            match b {
                b'"' => {
                    self.skip_string()?;
                    continue;
                }
                b'{' | b'[' => {
                    if depth + open > MAX_DEPTH || open >= 128 {
                        return Err(Bad::Depth);
                    }
                    stack = (stack << 1) | u128::from(b == b'{');
                    open += 1;
                }
                b'}' | b']' => {
                    if open == 0 || (stack & 1 == 1) != (b == b'}') {
                        return Err(Bad::Syntax);
                    }
                    stack >>= 1;
                    open -= 1;
                    if open == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }

    fn literal(&mut self, lit: &[u8]) -> Result<(), Bad> {
        let rest = &self.b[self.i..];
        if rest.starts_with(lit) {
            self.i += lit.len();
            Ok(())
        } else if lit.starts_with(rest) {
            Err(Bad::Eof)
        } else {
            Err(Bad::Syntax)
        }
    }

    fn digits(&mut self) -> Result<(), Bad> {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        if self.i == start {
            return Err(if self.peek().is_none() {
                Bad::Eof
            } else {
                Bad::Syntax
            });
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), Bad> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits()?,
            Some(_) => return Err(Bad::Syntax),
            None => return Err(Bad::Eof),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.digits()?;
        }
        Ok(())
    }

    /// Skips a string starting at `"`, checking its escapes.
    fn skip_string(&mut self) -> Result<(), Bad> {
        self.i += 1;
        loop {
            match find_quote(&self.b[self.i..]) {
                None => return Err(Bad::Eof),
                Some(p) => {
                    self.i += p;
                    if self.b[self.i] == b'"' {
                        self.i += 1;
                        return Ok(());
                    }
                    self.escape_len()?;
                }
            }
        }
    }

    /// At a backslash: checks the escape and moves past it.
    fn escape_len(&mut self) -> Result<(), Bad> {
        match self.b.get(self.i + 1) {
            None => Err(Bad::Eof),
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.i += 2;
                Ok(())
            }
            Some(b'u') => {
                for k in 0..4 {
                    match self.b.get(self.i + 2 + k) {
                        None => return Err(Bad::Eof),
                        Some(h) if h.is_ascii_hexdigit() => {}
                        Some(_) => return Err(Bad::Syntax),
                    }
                }
                self.i += 6;
                Ok(())
            }
            Some(_) => Err(Bad::Syntax),
        }
    }

    /// Reads a string starting at `"`: a range of the line when it has no
    /// escapes, else unescaped into scratch.
    fn string(&mut self, c: &mut Collector) -> Result<Val, Bad> {
        self.i += 1;
        let start = self.i;
        let p = find_quote(&self.b[start..]).ok_or(Bad::Eof)?;
        if self.b[start + p] == b'"' {
            self.i = start + p + 1;
            return Ok(Val::Line(start as u32, (start + p) as u32));
        }
        let s0 = c.scratch.len();
        c.scratch.extend_from_slice(&self.b[start..start + p]);
        self.i = start + p;
        loop {
            // self.i is at '\\'
            let e = self.b.get(self.i + 1).copied().ok_or(Bad::Eof)?;
            match e {
                b'"' => c.scratch.push(b'"'),
                b'\\' => c.scratch.push(b'\\'),
                b'/' => c.scratch.push(b'/'),
                b'b' => c.scratch.push(8),
                b'f' => c.scratch.push(12),
                b'n' => c.scratch.push(b'\n'),
                b'r' => c.scratch.push(b'\r'),
                b't' => c.scratch.push(b'\t'),
                b'u' => {
                    let hi = self.hex4(self.i + 2)?;
                    let cp = if (0xD800..0xDC00).contains(&hi) {
                        if self.b.get(self.i + 6) != Some(&b'\\')
                            || self.b.get(self.i + 7) != Some(&b'u')
                        {
                            return Err(if self.i + 6 >= self.b.len() {
                                Bad::Eof
                            } else {
                                Bad::Syntax
                            });
                        }
                        let lo = self.hex4(self.i + 8)?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(Bad::Syntax);
                        }
                        self.i += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else if (0xDC00..0xE000).contains(&hi) {
                        return Err(Bad::Syntax);
                    } else {
                        hi
                    };
                    let ch = char::from_u32(cp).ok_or(Bad::Syntax)?;
                    let mut buf = [0u8; 4];
                    c.scratch
                        .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    self.i += 4;
                }
                _ => return Err(Bad::Syntax),
            }
            self.i += 2;
            let rest = &self.b[self.i..];
            let p = find_quote(rest).ok_or(Bad::Eof)?;
            c.scratch.extend_from_slice(&rest[..p]);
            self.i += p;
            if self.b[self.i] == b'"' {
                self.i += 1;
                return Ok(Val::Scratch(s0 as u32, c.scratch.len() as u32));
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, Bad> {
        let mut v = 0u32;
        for k in 0..4 {
            let h = *self.b.get(at + k).ok_or(Bad::Eof)?;
            let d = match h {
                b'0'..=b'9' => h - b'0',
                b'a'..=b'f' => h - b'a' + 10,
                b'A'..=b'F' => h - b'A' + 10,
                _ => return Err(Bad::Syntax),
            };
            v = v * 16 + u32::from(d);
        }
        Ok(v)
    }
}
