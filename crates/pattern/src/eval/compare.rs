//! Comparison expressions (§9.5) on one root object of one observation:
//! `AND`/`OR` over tests, the object path selected (references followed,
//! `_hex`/`_bin` values decoded), and the operators applied.

use std::cmp::Ordering;

use std::borrow::Cow;

use crate::json::{JsonNode, View};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use super::{CNode, Pattern, Prepared};
use crate::EvalError;
use crate::ast::{Op, Step};
use crate::observe::Observation;
use crate::value::{Val, equals, in_set, order};

/// `s` in Unicode normalization form C, borrowed when it already is (the
/// quick check answers for most text without allocating).
pub(super) fn nfc(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => Cow::Borrowed(s),
        _ => Cow::Owned(s.nfc().collect()),
    }
}

impl Pattern {
    pub(super) fn cmp_root<'a, J: JsonNode>(
        &self,
        c: &CNode,
        o: &Observation<'a, J>,
        root: &'a J,
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

    fn test_root<'a, J: JsonNode>(
        &self,
        p: &Prepared,
        o: &Observation<'a, J>,
        root: &'a J,
    ) -> Result<bool, EvalError> {
        let t = &p.test;
        let View::Object(m) = root.view() else {
            return Ok(false);
        };
        if J::get(m, "type").and_then(J::as_str) != Some(t.path.object_type.as_str()) {
            return Ok(false);
        }
        if p.sdo_type && matches!(o.scope, crate::observe::Scope::V21(_)) {
            return Ok(false);
        }
        if p.plain_keys {
            // One value at most: walk the keys.
            let mut v = root;
            // (`plain_keys`: every step is a key.)
            let keys = t.path.steps.iter().filter_map(|st| match st {
                Step::Key(k) => Some(k.as_str()),
                _ => None,
            });
            for k in keys {
                match v.view() {
                    View::Object(m) => match J::get(m, k) {
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

    fn predicate<J: JsonNode>(&self, p: &Prepared, v: &Val<'_, J>) -> Result<bool, String> {
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
                    Val::Json(j) if let View::Str(s) = j.view() => re.is_match(&nfc(s)),
                    Val::Bytes(b) if p.like_binary => {
                        let s = std::str::from_utf8(b)
                            .map_err(|e| format!("binary value is not UTF-8 for LIKE: {e}"))?;
                        re.is_match(&nfc(s))
                    }
                    _ => false,
                }
            }
            Op::Matches(_) => {
                let (re, bre) = p.matches.as_ref().expect("prepared");
                match v {
                    Val::Json(j) if let View::Str(s) = j.view() => re.is_match(nfc(s).as_bytes()),
                    Val::Bytes(b) => bre.as_ref().is_some_and(|r| r.is_match(b)),
                    _ => false,
                }
            }
            Op::IsSubset(net) => match v {
                Val::Json(j) if let View::Str(s) = j.view() => crate::net::contains(net, s),
                _ => false,
            },
            Op::IsSuperset(ip) => match v {
                Val::Json(j) if let View::Str(s) = j.view() => crate::net::contains(s, ip),
                _ => false,
            },
            Op::Exists => true,
        };
        Ok(r != t.negated)
    }
}

/// object type names a cyber-observable, never one of these.
pub(super) fn is_sdo_type(t: &str) -> bool {
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
fn select<'a, J: JsonNode>(
    o: &Observation<'a, J>,
    root: &'a J,
    steps: &[Step],
) -> Result<Vec<Val<'a, J>>, EvalError> {
    let mut vals = vec![Val::Json(root)];
    let mut next = Vec::new();
    for step in steps {
        next.clear();
        match step {
            Step::Key(k) => {
                for v in &vals {
                    if let Val::Json(j) = v
                        && let View::Object(m) = j.view()
                        && let Some(x) = J::get(m, k)
                    {
                        next.push(suffixed(k, x)?);
                    }
                }
                if k.ends_with("_ref") {
                    let mut out = Vec::new();
                    for v in &next {
                        match v {
                            Val::Json(j) if let View::Str(id) = j.view() => {
                                o.scope.resolve(id, &mut out)
                            }
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
                        let Some(View::Array(ids)) = (match v {
                            Val::Json(j) => Some(j.view()),
                            _ => None,
                        }) else {
                            return Err(EvalError(format!(
                                "the value of reference list property '{k}' is not a list: {v:?}"
                            )));
                        };
                        let mut out = Vec::new();
                        for id in ids {
                            let View::Str(id) = id.view() else {
                                return Err(EvalError(format!(
                                    "a value of reference property '{k}' is not a string: {}",
                                    id.to_value()
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
                        Val::Json(j) if let View::Array(a) = j.view() => {
                            next.extend(a.get(i).map(Val::Json))
                        }
                        Val::Objs(a) => next.extend(a.get(i).map(|&x| Val::Json(x))),
                        _ => {}
                    }
                }
            }
            Step::AnyIndex => {
                for v in &vals {
                    match v {
                        Val::Json(j) if let View::Array(a) = j.view() => {
                            next.extend(a.iter().map(Val::Json))
                        }
                        Val::Objs(a) => next.extend(a.iter().map(|&x| Val::Json(x))),
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
fn suffixed<'a, J: JsonNode>(key: &str, v: &'a J) -> Result<Val<'a, J>, EvalError> {
    if key.ends_with("_hex") {
        let View::Str(s) = v.view() else {
            return Err(EvalError(format!(
                "property {key} must hold a hex string, got {}",
                v.to_value()
            )));
        };
        return hex_decode(s).map(Val::Bytes).map_err(EvalError);
    }
    if key.ends_with("_bin") {
        let View::Str(s) = v.view() else {
            return Err(EvalError(format!(
                "property {key} must hold a base64 string, got {}",
                v.to_value()
            )));
        };
        return b64_decode_lenient(s).map(Val::Bytes).map_err(EvalError);
    }
    Ok(Val::Json(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_lenient() {
        assert_eq!(b64_decode_lenient("AAEC").unwrap(), vec![0, 1, 2]);
        assert_eq!(b64_decode_lenient("AA==").unwrap(), vec![0]);
        assert_eq!(b64_decode_lenient("A A\nEC").unwrap(), vec![0, 1, 2]);
        assert!(b64_decode_lenient("AAE").is_err());
    }
}
