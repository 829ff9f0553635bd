//! The evaluator: a pattern compiled once (regular expressions built,
//! literals decoded) and matched against observations.
//!
//! Semantics follow the OASIS reference matcher (`stix2-matcher` 3.0):
//! a comparison expression selects, per observation, the root objects that
//! satisfy it (`AND` intersects roots, `OR` unites them); an observation
//! expression binds observation *instances* (`number_observed` copies of
//! each observed-data); `AND` and `FOLLOWEDBY` join bindings that share no
//! instance, `OR` takes either side, `REPEATS n` takes `n` pairwise disjoint
//! bindings, `WITHIN` and `START`/`STOP` filter bindings by the
//! observations' `first_observed`/`last_observed` windows. The pattern
//! matches when at least one binding survives. Bindings are produced lazily,
//! so a pattern stops at its first match.
//!
//! Where the reference departs from the specification this module follows
//! the specification; each case is listed in the differential test.

use std::cmp::Ordering;
use std::collections::VecDeque;

use regex::Regex;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::EvalError;
use crate::ast::{CmpExpr, ObsExpr, Op, Qualifier, Step, Test};
use crate::observe::{Observation, Observations};
use crate::parser::{ParseError, parse};
use crate::value::{Val, equals, in_set, order};

/// A parsed and prepared pattern.
#[derive(Debug)]
pub struct Pattern {
    ast: ObsExpr,
    tests: Vec<Prepared>,
    leaves: Vec<CNode>,
    tree: PNode,
    /// No joins or qualifiers: the pattern matches when any leaf does.
    simple: bool,
}

/// The outcome of matching a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchResult {
    pub matched: bool,
    /// Indexes (into the observations) of the observed-data of the first
    /// binding found, in ascending order; empty when there is no match.
    pub observations: Vec<usize>,
}

#[derive(Debug)]
struct Prepared {
    test: Test,
    /// The object type is a STIX 2.1 SDO/SRO type (never matched in 2.1).
    sdo_type: bool,
    /// The path is plain keys without `_ref(s)`/`_hex`/`_bin` suffixes:
    /// at most one value, found without allocating.
    plain_keys: Option<Vec<String>>,
    like: Option<Regex>,
    like_binary: bool,
    matches: Option<(Regex, Option<regex::bytes::Regex>)>,
}

/// Comparison expression tree over prepared tests.
#[derive(Debug)]
enum CNode {
    Test(usize),
    And(Box<CNode>, Box<CNode>),
    Or(Box<CNode>, Box<CNode>),
}

/// Observation expression tree over leaves (indexes into `leaves`).
#[derive(Debug)]
enum PNode {
    Leaf(usize),
    And(Box<PNode>, Box<PNode>),
    Or(Box<PNode>, Box<PNode>, usize, usize),
    FollowedBy(Box<PNode>, Box<PNode>),
    Within(Box<PNode>, i128),
    StartStop(Box<PNode>, i64, i64),
    Repeats(Box<PNode>, usize),
}

/// Rewrites a Python `re` expression for the `regex` crate where the two
/// read the same text differently: `$` (end, or before a final newline) and
/// `\Z` (end).
fn python_regex(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 8);
    let mut chars = re.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') if !in_class => out.push_str(r"\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            '[' if in_class => out.push_str(r"\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '$' if !in_class => out.push_str(r"(?:\n?\z)"),
            c => out.push(c),
        }
    }
    out
}

/// 9.6.1: "The DOTALL option MUST be specified".
fn build_regex(re: &str) -> Result<Regex, String> {
    Regex::new(&format!("(?s){}", python_regex(re)))
        .map_err(|e| format!("regular expression does not compile: {e}"))
}

/// The same expression over bytes: characters below U+0100 stand for the
/// byte of that value (Python's bytes patterns), ASCII classes.
fn build_bytes_regex(re: &str) -> Result<regex::bytes::Regex, String> {
    let mut s = String::from("(?s-u)");
    for c in python_regex(re).chars() {
        if (c as u32) >= 0x80 {
            s.push_str(&format!(r"\x{:02X}", c as u32));
        } else {
            s.push(c);
        }
    }
    regex::bytes::Regex::new(&s).map_err(|e| format!("regular expression does not compile: {e}"))
}

/// Checks a `MATCHES` operand compiles (used by the parser).
pub(crate) fn check_regex(re: &str) -> Result<(), String> {
    let nfc: String = re.nfc().collect();
    build_regex(&nfc)?;
    if nfc.chars().all(|c| (c as u32) < 0x100) {
        build_bytes_regex(&nfc)?;
    }
    Ok(())
}

/// The regular expression for a `LIKE` operand: `%` any run, `_` any one
/// character, anchored at both ends (and, as the reference's `$` does,
/// tolerating one final newline).
fn like_regex(like: &str) -> Result<Regex, String> {
    // 9.6.1: `%` is 0 or more characters and `_` any one character,
    // newlines included.
    let mut s = String::from("(?s)^(?:");
    for c in like.chars() {
        match c {
            '%' => s.push_str(".*"),
            '_' => s.push('.'),
            c if c.is_alphanumeric() => s.push(c),
            c => s.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    s.push_str(r")\z");
    Regex::new(&s).map_err(|e| format!("LIKE operand does not compile: {e}"))
}

fn is_binary_like(like: &str) -> bool {
    like.chars().all(|c| (c as u32) < 0x100)
}

impl Pattern {
    /// Parses and prepares a pattern.
    pub fn new(src: &str) -> Result<Pattern, ParseError> {
        let ast = parse(src)?;
        Pattern::from_ast(ast).map_err(|e| ParseError {
            offset: 0,
            message: e,
        })
    }

    /// Parses (in the STIX 2.0 dialect, see [`crate::parse_v20`]) and
    /// prepares a pattern.
    pub fn new_v20(src: &str) -> Result<Pattern, ParseError> {
        let ast = crate::parser::parse_v20(src)?;
        Pattern::from_ast(ast).map_err(|e| ParseError {
            offset: 0,
            message: e,
        })
    }

    /// Prepares an already parsed pattern.
    pub fn from_ast(ast: ObsExpr) -> Result<Pattern, String> {
        let mut p = Pattern {
            ast: ast.clone(),
            tests: Vec::new(),
            leaves: Vec::new(),
            tree: PNode::Leaf(0),
            simple: true,
        };
        p.tree = p.obs_node(&ast)?;
        Ok(p)
    }

    /// The syntax tree.
    pub fn ast(&self) -> &ObsExpr {
        &self.ast
    }

    fn obs_node(&mut self, e: &ObsExpr) -> Result<PNode, String> {
        Ok(match e {
            ObsExpr::Simple(c) => {
                let c = self.cmp_node(c)?;
                self.leaves.push(c);
                PNode::Leaf(self.leaves.len() - 1)
            }
            ObsExpr::And(a, b) => {
                self.simple = false;
                PNode::And(Box::new(self.obs_node(a)?), Box::new(self.obs_node(b)?))
            }
            ObsExpr::FollowedBy(a, b) => {
                self.simple = false;
                PNode::FollowedBy(Box::new(self.obs_node(a)?), Box::new(self.obs_node(b)?))
            }
            ObsExpr::Or(a, b) => {
                let (l, r) = (self.obs_node(a)?, self.obs_node(b)?);
                let (ls, rs) = (size(&l), size(&r));
                PNode::Or(Box::new(l), Box::new(r), ls, rs)
            }
            ObsExpr::Qualified(inner, q) => {
                self.simple = false;
                let inner = Box::new(self.obs_node(inner)?);
                match q {
                    Qualifier::Within { micros, .. } => PNode::Within(inner, *micros),
                    Qualifier::StartStop { start, stop } => PNode::StartStop(inner, *start, *stop),
                    Qualifier::Repeats(n) => {
                        PNode::Repeats(inner, usize::try_from(*n).unwrap_or(usize::MAX))
                    }
                }
            }
        })
    }

    fn cmp_node(&mut self, c: &CmpExpr) -> Result<CNode, String> {
        Ok(match c {
            CmpExpr::And(a, b) => {
                CNode::And(Box::new(self.cmp_node(a)?), Box::new(self.cmp_node(b)?))
            }
            CmpExpr::Or(a, b) => {
                CNode::Or(Box::new(self.cmp_node(a)?), Box::new(self.cmp_node(b)?))
            }
            CmpExpr::Test(t) => {
                let plain_keys = t
                    .path
                    .steps
                    .iter()
                    .map(|st| match st {
                        Step::Key(k)
                            if !k.ends_with("_ref")
                                && !k.ends_with("_refs")
                                && !k.ends_with("_hex")
                                && !k.ends_with("_bin") =>
                        {
                            Some(k.clone())
                        }
                        _ => None,
                    })
                    .collect::<Option<Vec<String>>>();
                let mut p = Prepared {
                    test: t.clone(),
                    sdo_type: is_sdo_type(&t.path.object_type),
                    plain_keys,
                    like: None,
                    like_binary: false,
                    matches: None,
                };
                match &t.op {
                    Op::Like(s) => {
                        let nfc: String = s.nfc().collect();
                        p.like_binary = is_binary_like(&nfc);
                        p.like = Some(like_regex(&nfc)?);
                    }
                    Op::Matches(s) => {
                        let nfc: String = s.nfc().collect();
                        let bytes = if nfc.chars().all(|c| (c as u32) < 0x100) {
                            Some(build_bytes_regex(&nfc)?)
                        } else {
                            None
                        };
                        p.matches = Some((build_regex(&nfc)?, bytes));
                    }
                    _ => {}
                }
                self.tests.push(p);
                CNode::Test(self.tests.len() - 1)
            }
        })
    }

    /// Whether the pattern matches the observations (as [`Pattern::matches`]
    /// without collecting the matching observations).
    pub fn is_match(&self, obs: &Observations<'_>) -> Result<bool, EvalError> {
        self.run(obs, false).map(|r| r.matched)
    }

    /// Matches the pattern against the observations.
    pub fn matches(&self, obs: &Observations<'_>) -> Result<MatchResult, EvalError> {
        self.run(obs, true)
    }

    fn run(&self, obs: &Observations<'_>, ids: bool) -> Result<MatchResult, EvalError> {
        // Every comparison is evaluated on every observation first, as the
        // reference does, so an error in the data is reported whatever the
        // rest of the pattern would decide.
        if self.simple {
            // Only ORs of observation expressions: the first observation
            // of the leftmost leaf that has one is the first binding; every
            // leaf is still evaluated everywhere.
            let mut first: Option<(usize, usize)> = None;
            for (li, leaf) in self.leaves.iter().enumerate() {
                for (i, o) in obs.list.iter().enumerate() {
                    let mut any = false;
                    for &(_, root) in o.roots() {
                        if self.cmp_root(leaf, o, root)? {
                            any = true;
                        }
                    }
                    if any && first.is_none_or(|(fl, _)| fl > li) {
                        first = Some((li, i));
                    }
                }
            }
            return Ok(match first {
                Some((_, i)) => MatchResult {
                    matched: true,
                    observations: if ids { vec![i] } else { Vec::new() },
                },
                None => MatchResult {
                    matched: false,
                    observations: Vec::new(),
                },
            });
        }
        let mut leaves: Vec<Vec<u32>> = Vec::with_capacity(self.leaves.len());
        for leaf in &self.leaves {
            let mut hits = Vec::new();
            for (i, o) in obs.list.iter().enumerate() {
                let mut any = false;
                for &(_, root) in o.roots() {
                    if self.cmp_root(leaf, o, root)? {
                        any = true;
                    }
                }
                if any {
                    hits.push(i as u32);
                }
            }
            leaves.push(hits);
        }
        let ctx = Ctx {
            leaves: &leaves,
            obs: &obs.list,
        };
        let mut it = ctx.bindings(&self.tree);
        Ok(match it.next() {
            Some(b) => {
                let mut idx: Vec<usize> = b
                    .iter()
                    .flatten()
                    .filter(|i| i.1 == 0)
                    .map(|i| i.0 as usize)
                    .collect();
                idx.sort_unstable();
                idx.dedup();
                MatchResult {
                    matched: true,
                    observations: idx,
                }
            }
            None => MatchResult {
                matched: false,
                observations: Vec::new(),
            },
        })
    }

    fn cmp_root<'a>(
        &self,
        c: &CNode,
        o: &Observation<'a>,
        root: &'a Value,
    ) -> Result<bool, EvalError> {
        Ok(match c {
            // No short-circuit: both sides are evaluated, for their errors.
            CNode::And(a, b) => {
                let x = self.cmp_root(a, o, root)?;
                let y = self.cmp_root(b, o, root)?;
                x && y
            }
            CNode::Or(a, b) => {
                let x = self.cmp_root(a, o, root)?;
                let y = self.cmp_root(b, o, root)?;
                x || y
            }
            CNode::Test(i) => self.test_root(&self.tests[*i], o, root)?,
        })
    }

    fn test_root<'a>(
        &self,
        p: &Prepared,
        o: &Observation<'a>,
        root: &'a Value,
    ) -> Result<bool, EvalError> {
        let t = &p.test;
        let Value::Object(m) = root else {
            return Ok(false);
        };
        if crate::observe::field(m, "type").and_then(Value::as_str)
            != Some(t.path.object_type.as_str())
        {
            return Ok(false);
        }
        if p.sdo_type && matches!(o.scope, crate::observe::Scope::V21(_)) {
            return Ok(false);
        }
        if let Some(keys) = &p.plain_keys {
            // One value at most: walk the keys.
            let mut v = root;
            for k in keys {
                match v {
                    Value::Object(m) => match crate::observe::field(m, k) {
                        Some(x) => v = x,
                        None => return Ok(matches!(t.op, Op::Exists) && t.negated),
                    },
                    _ => return Ok(matches!(t.op, Op::Exists) && t.negated),
                }
            }
            if let Op::Exists = t.op {
                return Ok(!t.negated);
            }
            return self.predicate(p, &Val::Json(v)).map_err(EvalError);
        }
        let values = select(o, root, &t.path.steps)?;
        if let Op::Exists = t.op {
            return Ok(values.is_empty() == t.negated);
        }
        for v in &values {
            if self.predicate(p, v).map_err(EvalError)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn predicate(&self, p: &Prepared, v: &Val<'_>) -> Result<bool, String> {
        let t = &p.test;
        let r = match &t.op {
            Op::Eq(l) => equals(v, l)?,
            Op::Neq(l) => !equals(v, l)?,
            Op::Lt(l) | Op::Le(l) | Op::Gt(l) | Op::Ge(l) => match order(v, l)? {
                // No order between these types: false, NOT notwithstanding.
                None => return Ok(false),
                Some(None) => false,
                Some(Some(o)) => match t.op {
                    Op::Lt(_) => o == Ordering::Less,
                    Op::Le(_) => o != Ordering::Greater,
                    Op::Gt(_) => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                },
            },
            Op::In(set) => in_set(v, set)?,
            Op::Like(_) => {
                let re = p.like.as_ref().expect("prepared");
                match v {
                    Val::Json(Value::String(s)) => re.is_match(&s.nfc().collect::<String>()),
                    Val::Bytes(b) if p.like_binary => {
                        let s = std::str::from_utf8(b)
                            .map_err(|e| format!("binary value is not UTF-8 for LIKE: {e}"))?;
                        re.is_match(&s.nfc().collect::<String>())
                    }
                    _ => false,
                }
            }
            Op::Matches(_) => {
                let (re, bre) = p.matches.as_ref().expect("prepared");
                match v {
                    Val::Json(Value::String(s)) => re.is_match(&s.nfc().collect::<String>()),
                    Val::Bytes(b) => bre.as_ref().is_some_and(|r| r.is_match(b)),
                    _ => false,
                }
            }
            Op::IsSubset(net) => match v {
                Val::Json(Value::String(s)) => crate::net::contains(net, s),
                _ => false,
            },
            Op::IsSuperset(ip) => match v {
                Val::Json(Value::String(s)) => crate::net::contains(s, ip),
                _ => false,
            },
            Op::Exists => true,
        };
        Ok(r != t.negated)
    }
}

/// STIX 2.1 domain, relationship and meta object types: a 2.1 pattern's
/// object type names a cyber-observable, never one of these.
fn is_sdo_type(t: &str) -> bool {
    matches!(
        t,
        "attack-pattern"
            | "bundle"
            | "campaign"
            | "course-of-action"
            | "extension-definition"
            | "grouping"
            | "identity"
            | "incident"
            | "indicator"
            | "infrastructure"
            | "intrusion-set"
            | "language-content"
            | "location"
            | "malware"
            | "malware-analysis"
            | "marking-definition"
            | "note"
            | "observed-data"
            | "opinion"
            | "relationship"
            | "report"
            | "threat-actor"
            | "tool"
            | "sighting"
            | "vulnerability"
    )
}

fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex string in a _hex property: {s:?}"));
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("non-hex digit in a _hex property: {s:?}"))
        })
        .collect()
}

/// Lenient base64 (as Python's `standard_b64decode`): characters outside
/// the alphabet are skipped, a complete padding ends the data, a group left
/// incomplete without padding is an error.
fn b64_decode_lenient(s: &str) -> Result<Vec<u8>, String> {
    if !s.is_ascii() {
        return Err(format!("non-ASCII text in a _bin property: {s:?}"));
    }
    let mut out = Vec::new();
    let (mut left, mut quad, mut pads) = (0u32, 0u32, 0u32);
    for c in s.bytes() {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let v = u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        });
        match quad {
            0 => left = v,
            1 => {
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0xF;
            }
            2 => {
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x3;
            }
            _ => out.push(((left << 6) | v) as u8),
        }
        quad = (quad + 1) % 4;
        pads = 0;
    }
    if quad != 0 {
        return Err(format!(
            "incorrect base64 padding in a _bin property: {s:?}"
        ));
    }
    Ok(out)
}

/// The values an object path selects under one root object.
fn select<'a>(
    o: &Observation<'a>,
    root: &'a Value,
    steps: &[Step],
) -> Result<Vec<Val<'a>>, EvalError> {
    let mut vals = vec![Val::Json(root)];
    let mut next = Vec::new();
    for step in steps {
        next.clear();
        match step {
            Step::Key(k) => {
                for v in &vals {
                    if let Val::Json(Value::Object(m)) = v
                        && let Some(x) = m.get(k)
                    {
                        next.push(suffixed(k, x)?);
                    }
                }
                if k.ends_with("_ref") {
                    let mut out = Vec::new();
                    for v in &next {
                        match v {
                            Val::Json(Value::String(id)) => o.scope.resolve(id, &mut out),
                            other => {
                                return Err(EvalError(format!(
                                    "the value of reference property '{k}' is not a string: {other:?}"
                                )));
                            }
                        }
                    }
                    next = out.into_iter().map(Val::Json).collect();
                } else if k.ends_with("_refs") {
                    let mut lists = Vec::new();
                    for v in &next {
                        let Val::Json(Value::Array(ids)) = v else {
                            return Err(EvalError(format!(
                                "the value of reference list property '{k}' is not a list: {v:?}"
                            )));
                        };
                        let mut out = Vec::new();
                        for id in ids {
                            let Value::String(id) = id else {
                                return Err(EvalError(format!(
                                    "a value of reference property '{k}' is not a string: {id}"
                                )));
                            };
                            o.scope.resolve(id, &mut out);
                        }
                        if !out.is_empty() {
                            lists.push(Val::Objs(out));
                        }
                    }
                    next = lists;
                }
            }
            Step::Index(i) => {
                for v in &vals {
                    let Ok(i) = usize::try_from(*i) else { continue };
                    match v {
                        Val::Json(Value::Array(a)) => next.extend(a.get(i).map(Val::Json)),
                        Val::Objs(a) => next.extend(a.get(i).map(|x| Val::Json(x))),
                        _ => {}
                    }
                }
            }
            Step::AnyIndex => {
                for v in &vals {
                    match v {
                        Val::Json(Value::Array(a)) => next.extend(a.iter().map(Val::Json)),
                        Val::Objs(a) => next.extend(a.iter().map(|x| Val::Json(x))),
                        _ => {}
                    }
                }
            }
        }
        std::mem::swap(&mut vals, &mut next);
        if vals.is_empty() {
            break;
        }
    }
    Ok(vals)
}

/// Values of `…_hex` and `…_bin` properties are binary.
fn suffixed<'a>(key: &str, v: &'a Value) -> Result<Val<'a>, EvalError> {
    if key.ends_with("_hex") {
        let Value::String(s) = v else {
            return Err(EvalError(format!(
                "property {key} must hold a hex string, got {v}"
            )));
        };
        return hex_decode(s).map(Val::Bytes).map_err(EvalError);
    }
    if key.ends_with("_bin") {
        let Value::String(s) = v else {
            return Err(EvalError(format!(
                "property {key} must hold a base64 string, got {v}"
            )));
        };
        return b64_decode_lenient(s).map(Val::Bytes).map_err(EvalError);
    }
    Ok(Val::Json(v))
}

/// Number of observation slots a binding of this expression has.
fn size(n: &PNode) -> usize {
    match n {
        PNode::Leaf(_) => 1,
        PNode::And(a, b) | PNode::FollowedBy(a, b) | PNode::Or(a, b, ..) => size(a) + size(b),
        PNode::Within(a, _) | PNode::StartStop(a, ..) => size(a),
        PNode::Repeats(a, n) => size(a).saturating_mul(*n),
    }
}

/// An observation instance: (observation index, instance number).
type Inst = (u32, u64);
type Binding = Vec<Option<Inst>>;
type BIter<'s> = Box<dyn Iterator<Item = Binding> + 's>;

struct Ctx<'s, 'a> {
    leaves: &'s [Vec<u32>],
    obs: &'s [Observation<'a>],
}

fn disjoint(a: &Binding, b: &Binding) -> bool {
    a.iter()
        .flatten()
        .all(|x| !b.iter().flatten().any(|y| x == y))
}

impl<'s, 'a> Ctx<'s, 'a> {
    fn window(&self, i: &Inst) -> (i64, i64) {
        let o = &self.obs[i.0 as usize];
        (o.first, o.last)
    }

    fn latest_first(&self, b: &Binding) -> i64 {
        b.iter()
            .flatten()
            .map(|i| self.window(i).0)
            .max()
            .unwrap_or(i64::MIN)
    }

    fn earliest_last(&self, b: &Binding) -> i64 {
        b.iter()
            .flatten()
            .map(|i| self.window(i).1)
            .min()
            .unwrap_or(i64::MAX)
    }

    fn bindings(&'s self, n: &'s PNode) -> BIter<'s> {
        match n {
            PNode::Leaf(i) => {
                let obs = self.obs;
                Box::new(self.leaves[*i].iter().flat_map(move |&o| {
                    (0..obs[o as usize].count).map(move |k| vec![Some((o, k))])
                }))
            }
            PNode::Or(a, b, ls, rs) => {
                let (mut l, mut r) = (self.bindings(a), self.bindings(b));
                let (ls, rs) = (*ls, *rs);
                let (mut l_done, mut r_done) = (false, false);
                let mut pending: VecDeque<Binding> = VecDeque::new();
                Box::new(std::iter::from_fn(move || {
                    loop {
                        if let Some(b) = pending.pop_front() {
                            return Some(b);
                        }
                        if l_done && r_done {
                            return None;
                        }
                        if !l_done {
                            match l.next() {
                                Some(mut x) => {
                                    x.resize(x.len() + rs, None);
                                    pending.push_back(x);
                                }
                                None => l_done = true,
                            }
                        }
                        if !r_done {
                            match r.next() {
                                Some(x) => {
                                    let mut y = vec![None; ls];
                                    y.extend(x);
                                    pending.push_back(y);
                                }
                                None => r_done = true,
                            }
                        }
                    }
                }))
            }
            PNode::And(a, b) => {
                Box::new(Join::new(self, self.bindings(a), self.bindings(b), false))
            }
            PNode::FollowedBy(a, b) => {
                Box::new(Join::new(self, self.bindings(a), self.bindings(b), true))
            }
            PNode::Within(a, d) => {
                let d = *d;
                Box::new(self.bindings(a).filter(move |b| {
                    let (first, last) = (self.latest_first(b), self.earliest_last(b));
                    // 9.5.1: the latest MUST NOT be equal to or later than
                    // the earliest plus the window.
                    i128::from(first) < i128::from(last) + d
                }))
            }
            PNode::StartStop(a, start, stop) => {
                let (start, stop) = (*start, *stop);
                if start >= stop {
                    return Box::new(std::iter::empty());
                }
                Box::new(self.bindings(a).filter(move |b| {
                    b.iter().flatten().all(|i| {
                        let (f, l) = self.window(i);
                        f < stop && start <= l
                    })
                }))
            }
            PNode::Repeats(a, 1) => self.bindings(a),
            PNode::Repeats(a, k) => Box::new(Repeat::new(self.bindings(a), *k)),
        }
    }
}

/// `AND` / `FOLLOWEDBY`: every pair of a left and a right binding that
/// share no instance (and, for `FOLLOWEDBY`, can be ordered in time),
/// enumerated fairly from both sides so infinite-looking inputs still
/// yield early.
struct Join<'s, 'a> {
    ctx: &'s Ctx<'s, 'a>,
    l: BIter<'s>,
    r: BIter<'s>,
    lcache: Vec<Binding>,
    rcache: Vec<Binding>,
    nl: Option<Binding>,
    nr: Option<Binding>,
    started: bool,
    followed: bool,
    pending: VecDeque<Binding>,
}

impl<'s, 'a> Join<'s, 'a> {
    fn new(ctx: &'s Ctx<'s, 'a>, l: BIter<'s>, r: BIter<'s>, followed: bool) -> Self {
        Join {
            ctx,
            l,
            r,
            lcache: Vec::new(),
            rcache: Vec::new(),
            nl: None,
            nr: None,
            started: false,
            followed,
            pending: VecDeque::new(),
        }
    }

    fn ok(&self, lhs: &Binding, rhs: &Binding) -> bool {
        disjoint(lhs, rhs)
            && (!self.followed || self.ctx.latest_first(lhs) <= self.ctx.earliest_last(rhs))
    }
}

impl Iterator for Join<'_, '_> {
    type Item = Binding;
    fn next(&mut self) -> Option<Binding> {
        if !self.started {
            self.started = true;
            self.nr = self.r.next();
            self.nl = self.l.next();
            if self.nr.is_none() || self.nl.is_none() {
                self.nr = None;
                self.nl = None;
            }
        }
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Some(b);
            }
            if self.nr.is_none() && self.nl.is_none() {
                return None;
            }
            if let Some(rhs) = self.nr.take() {
                for lhs in &self.lcache {
                    if self.ok(lhs, &rhs) {
                        let mut b = lhs.clone();
                        b.extend_from_slice(&rhs);
                        self.pending.push_back(b);
                    }
                }
                self.rcache.push(rhs);
                self.nr = self.r.next();
            }
            if let Some(lhs) = self.nl.take() {
                for rhs in &self.rcache {
                    if self.ok(&lhs, rhs) {
                        let mut b = lhs.clone();
                        b.extend_from_slice(rhs);
                        self.pending.push_back(b);
                    }
                }
                self.lcache.push(lhs);
                self.nl = self.l.next();
            }
        }
    }
}

/// `REPEATS k`: every set of `k` pairwise disjoint bindings, found as each
/// new binding arrives (with the earlier ones it is disjoint from).
struct Repeat<'s> {
    child: BIter<'s>,
    k: usize,
    seen: Vec<Binding>,
    primed: bool,
    current: Option<(Binding, Combos)>,
}

impl<'s> Repeat<'s> {
    fn new(child: BIter<'s>, k: usize) -> Self {
        Repeat {
            child,
            k,
            seen: Vec::new(),
            primed: false,
            current: None,
        }
    }
}

impl Iterator for Repeat<'_> {
    type Item = Binding;
    fn next(&mut self) -> Option<Binding> {
        if !self.primed {
            self.primed = true;
            while self.seen.len() < self.k - 1 {
                self.seen.push(self.child.next()?);
            }
        }
        loop {
            if let Some((newest, combos)) = &mut self.current {
                if let Some(pick) = combos.next() {
                    let mut b = Binding::new();
                    for i in pick {
                        b.extend_from_slice(&combos.items[i]);
                    }
                    b.extend_from_slice(newest);
                    return Some(b);
                }
                let (newest, _) = self.current.take().expect("checked");
                self.seen.push(newest);
            }
            let newest = self.child.next()?;
            let items: Vec<Binding> = self
                .seen
                .iter()
                .filter(|b| disjoint(b, &newest))
                .cloned()
                .collect();
            self.current = Some((newest, Combos::new(items, self.k - 1)));
        }
    }
}

/// `k`-subsets of `items` whose members are pairwise disjoint, in
/// lexicographic order of indexes, by depth-first search.
struct Combos {
    items: Vec<Binding>,
    k: usize,
    stack: Vec<(Vec<usize>, usize)>,
    chosen: Vec<usize>,
}

impl Combos {
    fn new(items: Vec<Binding>, k: usize) -> Self {
        let all: Vec<usize> = (0..items.len()).collect();
        let stack = if largest_disjoint_bound(&items, &all) < k {
            Vec::new()
        } else {
            vec![(all, 0)]
        };
        Combos {
            items,
            k,
            stack,
            chosen: Vec::new(),
        }
    }
}

/// An upper bound on how many pairwise disjoint bindings `subset` of
/// `items` can supply: bindings of `s` instances each use `s` distinct
/// instances, so count instances by the smallest binding that can take
/// them.
fn largest_disjoint_bound(items: &[Binding], subset: &[usize]) -> usize {
    let size = |b: &Binding| b.iter().flatten().count();
    let Some(max) = subset.iter().map(|&i| size(&items[i])).max() else {
        return 0;
    };
    if max == 0 {
        return subset.len();
    }
    let mut by_size: Vec<Vec<Inst>> = vec![Vec::new(); max + 1];
    for &i in subset {
        let b = &items[i];
        by_size[size(b)].extend(b.iter().flatten().copied());
    }
    let mut consumed: std::collections::HashSet<Inst> = std::collections::HashSet::new();
    let mut total = 0;
    for (s, ids) in by_size.iter_mut().enumerate().skip(1) {
        ids.sort_unstable();
        ids.dedup();
        let avail: Vec<Inst> = ids
            .iter()
            .copied()
            .filter(|i| !consumed.contains(i))
            .collect();
        total += if s < max {
            avail.len().div_ceil(s)
        } else {
            avail.len() / s
        };
        consumed.extend(avail);
    }
    total
}

impl Iterator for Combos {
    type Item = Vec<usize>;
    fn next(&mut self) -> Option<Vec<usize>> {
        loop {
            let depth = self.chosen.len();
            let need = self.k - depth;
            let frame = self.stack.last_mut()?;
            if frame.1 >= frame.0.len() || frame.0.len() - frame.1 < need {
                self.stack.pop();
                self.chosen.pop();
                continue;
            }
            let pick = frame.0[frame.1];
            frame.1 += 1;
            if need == 1 {
                let mut out = self.chosen.clone();
                out.push(pick);
                return Some(out);
            }
            let rest: Vec<usize> = frame.0[frame.1..]
                .iter()
                .copied()
                .filter(|&j| disjoint(&self.items[pick], &self.items[j]))
                .collect();
            // Prune when the rest cannot hold enough disjoint bindings.
            if rest.len() < need - 1 || largest_disjoint_bound(&self.items, &rest) < need - 1 {
                continue;
            }
            self.chosen.push(pick);
            self.stack.push((rest, 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_regex_rewrites() {
        assert_eq!(python_regex("a$"), r"a(?:\n?\z)");
        assert_eq!(python_regex("[$]"), "[$]");
        assert_eq!(python_regex(r"a\Z"), r"a\z");
        assert_eq!(python_regex(r"\$"), r"\$");
    }

    #[test]
    fn like() {
        let re = like_regex("a%b_").unwrap();
        assert!(re.is_match("axxbc"));
        // 9.6.1: `%` and `_` match newlines too; nothing trails the end.
        assert!(!re.is_match("abc\n"));
        assert!(re.is_match("a\nbc"));
        assert!(like_regex("50.5%").unwrap().is_match("50.5 percent"));
        assert!(!like_regex("50.5%").unwrap().is_match("5005"));
    }

    #[test]
    fn combos() {
        let items: Vec<Binding> = (0..4).map(|i| vec![Some((i, 0))]).collect();
        let c: Vec<_> = Combos::new(items, 2).collect();
        assert_eq!(c.len(), 6);
        let items: Vec<Binding> = vec![vec![Some((0, 0))], vec![Some((0, 0))], vec![Some((1, 0))]];
        let c: Vec<_> = Combos::new(items, 2).collect();
        assert_eq!(c, vec![vec![0, 2], vec![1, 2]]);
    }

    #[test]
    fn base64_lenient() {
        assert_eq!(b64_decode_lenient("AAEC").unwrap(), vec![0, 1, 2]);
        assert_eq!(b64_decode_lenient("AA==").unwrap(), vec![0]);
        assert_eq!(b64_decode_lenient("A A\nEC").unwrap(), vec![0, 1, 2]);
        assert!(b64_decode_lenient("AAE").is_err());
    }
}
