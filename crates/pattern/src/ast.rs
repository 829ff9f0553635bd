//! The pattern's syntax tree, and printing it back as pattern text.
//!
//! Printing is canonical: keywords upper case, one space around operators,
//! parentheses only where precedence or associativity needs them, so that
//! parsing the printed text gives the same tree (a property test checks it).

use std::fmt::{self, Display, Formatter, Write as _};

use crate::time::format_micros;

/// A whole pattern: observation expressions joined by `AND`, `OR`,
/// `FOLLOWEDBY`, each possibly qualified.
#[derive(Debug, Clone, PartialEq)]
pub enum ObsExpr {
    /// `[comparison expression]`
    Simple(CmpExpr),
    And(Box<ObsExpr>, Box<ObsExpr>),
    Or(Box<ObsExpr>, Box<ObsExpr>),
    FollowedBy(Box<ObsExpr>, Box<ObsExpr>),
    Qualified(Box<ObsExpr>, Qualifier),
}

/// A qualifier on an observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS`; `micros` is the duration in microseconds.
    Within { seconds: Number, micros: i128 },
    /// `START t'…' STOP t'…'`, microseconds since the Unix epoch.
    StartStop { start: i64, stop: i64 },
    /// `REPEATS n TIMES`
    Repeats(u64),
}

/// A number as written (`WITHIN` takes an integer or a float).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i128),
    Float(f64),
}

/// Comparison expressions inside one observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum CmpExpr {
    And(Box<CmpExpr>, Box<CmpExpr>),
    Or(Box<CmpExpr>, Box<CmpExpr>),
    Test(Test),
}

/// One comparison: an object path, an operator and its operand.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub path: ObjectPath,
    /// `NOT` before the operator (`a:b NOT = 1`, `a:b NOT IN (…)`).
    pub negated: bool,
    pub op: Op,
}

/// Comparison operators with their operands.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(Literal),
    Neq(Literal),
    Lt(Literal),
    Le(Literal),
    Gt(Literal),
    Ge(Literal),
    In(Vec<Literal>),
    Like(String),
    Matches(String),
    IsSubset(String),
    IsSuperset(String),
    Exists,
}

/// `type:first.second[0][*]…`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectPath {
    pub object_type: String,
    /// Never empty; the first step is always a key.
    pub steps: Vec<Step>,
}

/// One step of an object path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    Key(String),
    Index(i128),
    AnyIndex,
}

/// A constant in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i128),
    Float(f64),
    Str(String),
    Bool(bool),
    /// `b'…'` (base64), decoded.
    Binary(Vec<u8>),
    /// `h'…'`, decoded.
    Hex(Vec<u8>),
    /// `t'…'`, microseconds since the Unix epoch.
    Timestamp(i64),
}

impl Literal {
    /// The literal's kind for the homogeneity rule of set literals: ints and
    /// floats mix, binary and hex are both bytes.
    pub(crate) fn set_kind(&self) -> u8 {
        match self {
            Literal::Int(_) | Literal::Float(_) => 0,
            Literal::Str(_) => 1,
            Literal::Bool(_) => 2,
            Literal::Binary(_) | Literal::Hex(_) => 3,
            Literal::Timestamp(_) => 4,
        }
    }
}

// ---------------------------------------------------------------- printing

/// The grammar's keywords (`true`/`false` included): never bare names.
pub(crate) const KEYWORDS: &[&str] = &[
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "EXISTS",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "true",
    "false",
    "WITHIN",
    "REPEATS",
    "TIMES",
];

pub(crate) fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

fn is_plain_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !is_keyword(s)
}

fn write_quoted(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('\'')?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('\'')
}

fn write_float(f: &mut Formatter<'_>, x: f64) -> fmt::Result {
    let s = format!("{x}");
    f.write_str(&s)?;
    if !s.contains('.') {
        f.write_str(".0")?;
    }
    Ok(())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Display for Number {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write_float(f, *x),
        }
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write_float(f, *x),
            Literal::Str(s) => write_quoted(f, s),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Binary(b) => write!(f, "b'{}'", base64_encode(b)),
            Literal::Hex(b) => {
                f.write_str("h'")?;
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                f.write_char('\'')
            }
            Literal::Timestamp(t) => write!(f, "t'{}'", format_micros(*t)),
        }
    }
}

impl Display for ObjectPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Key(k) => {
                    if i > 0 {
                        f.write_char('.')?;
                    }
                    if is_plain_identifier(k) {
                        f.write_str(k)?;
                    } else {
                        write_quoted(f, k)?;
                    }
                }
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl Display for Test {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Op::Exists = self.op {
            let not = if self.negated { "NOT " } else { "" };
            return write!(f, "{not}EXISTS {}", self.path);
        }
        write!(f, "{} ", self.path)?;
        if self.negated {
            f.write_str("NOT ")?;
        }
        match &self.op {
            Op::Eq(l) => write!(f, "= {l}"),
            Op::Neq(l) => write!(f, "!= {l}"),
            Op::Lt(l) => write!(f, "< {l}"),
            Op::Le(l) => write!(f, "<= {l}"),
            Op::Gt(l) => write!(f, "> {l}"),
            Op::Ge(l) => write!(f, ">= {l}"),
            Op::In(set) => {
                f.write_str("IN (")?;
                for (i, l) in set.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{l}")?;
                }
                f.write_char(')')
            }
            Op::Like(s) => {
                f.write_str("LIKE ")?;
                write_quoted(f, s)
            }
            Op::Matches(s) => {
                f.write_str("MATCHES ")?;
                write_quoted(f, s)
            }
            Op::IsSubset(s) => {
                f.write_str("ISSUBSET ")?;
                write_quoted(f, s)
            }
            Op::IsSuperset(s) => {
                f.write_str("ISSUPERSET ")?;
                write_quoted(f, s)
            }
            Op::Exists => unreachable!("handled above"),
        }
    }
}

impl CmpExpr {
    fn precedence(&self) -> u8 {
        match self {
            CmpExpr::Or(..) => 0,
            CmpExpr::And(..) => 1,
            CmpExpr::Test(_) => 2,
        }
    }
    fn write_operand(&self, f: &mut Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl Display for CmpExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // Left-associative: the left operand may be the same operator
        // unparenthesised, the right one may not.
        match self {
            CmpExpr::Or(a, b) => {
                a.write_operand(f, 0)?;
                f.write_str(" OR ")?;
                b.write_operand(f, 1)
            }
            CmpExpr::And(a, b) => {
                a.write_operand(f, 1)?;
                f.write_str(" AND ")?;
                b.write_operand(f, 2)
            }
            CmpExpr::Test(t) => write!(f, "{t}"),
        }
    }
}

impl Display for Qualifier {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Qualifier::Within { seconds, .. } => write!(f, "WITHIN {seconds} SECONDS"),
            Qualifier::StartStop { start, stop } => write!(
                f,
                "START t'{}' STOP t'{}'",
                format_micros(*start),
                format_micros(*stop)
            ),
            Qualifier::Repeats(n) => write!(f, "REPEATS {n} TIMES"),
        }
    }
}

impl ObsExpr {
    fn precedence(&self) -> u8 {
        match self {
            ObsExpr::FollowedBy(..) => 0,
            ObsExpr::Or(..) => 1,
            ObsExpr::And(..) => 2,
            ObsExpr::Simple(_) | ObsExpr::Qualified(..) => 3,
        }
    }
    fn write_operand(&self, f: &mut Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl Display for ObsExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ObsExpr::Simple(c) => write!(f, "[{c}]"),
            ObsExpr::FollowedBy(a, b) => {
                a.write_operand(f, 0)?;
                f.write_str(" FOLLOWEDBY ")?;
                b.write_operand(f, 1)
            }
            ObsExpr::Or(a, b) => {
                a.write_operand(f, 1)?;
                f.write_str(" OR ")?;
                b.write_operand(f, 2)
            }
            ObsExpr::And(a, b) => {
                a.write_operand(f, 2)?;
                f.write_str(" AND ")?;
                b.write_operand(f, 3)
            }
            ObsExpr::Qualified(inner, q) => {
                inner.write_operand(f, 3)?;
                write!(f, " {q}")
            }
        }
    }
}
