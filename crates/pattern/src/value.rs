//! Comparison semantics between pattern constants and observed values,
//! following the reference matcher's type rules: ints and floats compare by
//! value, strings by code point, binary against a string only when every
//! character of the string is below U+0100, timestamps as instants, and
//! anything else unequal and unordered.

use std::cmp::Ordering;

use crate::json::{JsonNode, View};

use crate::ast::Literal;

/// A value selected by an object path.
pub(crate) enum Val<'a, J> {
    Json(&'a J),
    /// The decoded value of a `…_hex` or `…_bin` property.
    Bytes(Vec<u8>),
    /// The objects a `…_refs` list resolved to.
    Objs(Vec<&'a J>),
}

/// As derived over `serde_json::Value` (error messages show it).
impl<J: JsonNode> std::fmt::Debug for Val<'_, J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Json(v) => f.debug_tuple("Json").field(&v.to_value()).finish(),
            Val::Bytes(b) => f.debug_tuple("Bytes").field(b).finish(),
            Val::Objs(a) => f
                .debug_tuple("Objs")
                .field(&a.iter().map(|v| v.to_value()).collect::<Vec<_>>())
                .finish(),
        }
    }
}

impl<'a, J: JsonNode> Val<'a, J> {
    /// The JSON value, when it is one.
    #[inline]
    fn view(&self) -> Option<View<'a, J>> {
        match self {
            Val::Json(v) => Some(v.view()),
            _ => None,
        }
    }
}

/// A number from JSON or a pattern: ints stay exact.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

/// Reads a JSON number as the reference reads it: an integer unless it has
/// a fraction or an exponent.
/// `s` is the number's text, as `serde_json` keeps it with
/// `arbitrary_precision` (whose `as_i64`, `as_u64` and `as_f64` parse it).
pub(crate) fn json_num(s: &str) -> Num {
    if let Ok(i) = s.parse::<i64>() {
        return Num::Int(i128::from(i));
    }
    if let Ok(u) = s.parse::<u64>() {
        return Num::Int(i128::from(u));
    }
    if !s.contains(['.', 'e', 'E'])
        && let Ok(i) = s.parse::<i128>()
    {
        return Num::Int(i);
    }
    Num::Float(s.parse::<f64>().unwrap_or(f64::NAN))
}

/// Exact comparison of an integer and a float (as Python does).
fn cmp_int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f == f64::INFINITY {
        return Some(Ordering::Less);
    }
    if f == f64::NEG_INFINITY {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // i128 covers every float we can meet from JSON integers' range; beyond
    // it the float decides.
    if t >= 1.7e38 {
        return Some(Ordering::Less);
    }
    if t <= -1.7e38 {
        return Some(Ordering::Greater);
    }
    let ti = t as i128;
    match i.cmp(&ti) {
        Ordering::Equal => {
            let frac = f - t;
            Some(if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            })
        }
        o => Some(o),
    }
}

pub(crate) fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(x), Num::Float(y)) => cmp_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

/// The Latin-1 bytes of a string whose characters are all below U+0100.
pub(crate) fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// A timestamp literal against a JSON string: the string must parse.
pub(crate) fn json_timestamp(s: &str) -> Result<i64, String> {
    crate::time::parse_timestamp(s)
        .ok_or_else(|| format!("invalid timestamp in observed data: {s:?}"))
}

/// `value = literal` (before `NOT`/`!=` are applied). `Err` only for a JSON
/// string that must be a timestamp and is not.
pub(crate) fn equals<J: JsonNode>(v: &Val<'_, J>, lit: &Literal) -> Result<bool, String> {
    Ok(match (lit, v, v.view()) {
        (Literal::Timestamp(t), _, Some(View::Str(s))) => json_timestamp(s)? == *t,
        (Literal::Int(i), _, Some(View::Num(n))) => {
            cmp_num(Num::Int(*i), json_num(n)) == Some(Ordering::Equal)
        }
        (Literal::Float(x), _, Some(View::Num(n))) => {
            cmp_num(Num::Float(*x), json_num(n)) == Some(Ordering::Equal)
        }
        (Literal::Str(a), _, Some(View::Str(b))) => a.as_str() == b,
        (Literal::Str(a), Val::Bytes(b), _) => latin1(a).is_some_and(|a| a == *b),
        (Literal::Bool(a), _, Some(View::Bool(b))) => *a == b,
        (Literal::Binary(a) | Literal::Hex(a), Val::Bytes(b), _) => a == b,
        (Literal::Binary(a) | Literal::Hex(a), _, Some(View::Str(s))) => {
            latin1(s).is_some_and(|s| s == *a)
        }
        _ => false,
    })
}

/// The order of `value` against `literal`: `Ok(None)` when the types have
/// no order between them (the test is then false whatever `NOT` says),
/// `Ok(Some(None))` for binary against a string with characters beyond
/// U+00FF (false, and `NOT` applies).
pub(crate) fn order<J: JsonNode>(
    v: &Val<'_, J>,
    lit: &Literal,
) -> Result<Option<Option<Ordering>>, String> {
    Ok(match (lit, v, v.view()) {
        (Literal::Timestamp(t), _, Some(View::Str(s))) => Some(Some(json_timestamp(s)?.cmp(t))),
        (Literal::Int(i), _, Some(View::Num(n))) => Some(cmp_num(json_num(n), Num::Int(*i))),
        (Literal::Float(x), _, Some(View::Num(n))) => Some(cmp_num(json_num(n), Num::Float(*x))),
        (Literal::Str(a), _, Some(View::Str(b))) => Some(Some(b.cmp(a.as_str()))),
        (Literal::Str(a), Val::Bytes(b), _) => {
            Some(latin1(a).map(|a| b.as_slice().cmp(a.as_slice())))
        }
        (Literal::Binary(a) | Literal::Hex(a), Val::Bytes(b), _) => {
            Some(Some(b.as_slice().cmp(a.as_slice())))
        }
        (Literal::Binary(a) | Literal::Hex(a), _, Some(View::Str(s))) => {
            Some(latin1(s).map(|s| s.as_slice().cmp(a.as_slice())))
        }
        _ => None,
    })
}

/// `value IN (set)` with the reference's hash-set semantics: numbers and
/// booleans compare by value across types (`true` is in `(1)`), strings and
/// binary only with their own kind, lists and objects never.
pub(crate) fn in_set<J: JsonNode>(v: &Val<'_, J>, set: &[Literal]) -> Result<bool, String> {
    let Some(first) = set.first() else {
        return Ok(false);
    };
    if let (Literal::Timestamp(_), Some(View::Str(s))) = (first, v.view()) {
        let t = json_timestamp(s)?;
        return Ok(set
            .iter()
            .any(|l| matches!(l, Literal::Timestamp(x) if *x == t)));
    }
    let num = match v.view() {
        Some(View::Num(n)) => Some(json_num(n)),
        Some(View::Bool(b)) => Some(Num::Int(i128::from(b))),
        _ => None,
    };
    Ok(set.iter().any(|l| match (l, v, v.view()) {
        (Literal::Int(_) | Literal::Float(_) | Literal::Bool(_), _, _) if num.is_some() => {
            let ln = match l {
                Literal::Int(i) => Num::Int(*i),
                Literal::Float(x) => Num::Float(*x),
                Literal::Bool(b) => Num::Int(i128::from(*b)),
                _ => unreachable!(),
            };
            num.and_then(|n| cmp_num(n, ln)) == Some(Ordering::Equal)
        }
        (Literal::Str(a), _, Some(View::Str(b))) => a.as_str() == b,
        (Literal::Binary(a) | Literal::Hex(a), Val::Bytes(b), _) => a == b,
        _ => false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn int_float_exact() {
        assert_eq!(cmp_num(Num::Int(1), Num::Float(1.0)), Some(Ordering::Equal));
        assert_eq!(cmp_num(Num::Int(1), Num::Float(1.5)), Some(Ordering::Less));
        assert_eq!(
            cmp_num(Num::Int(-2), Num::Float(-1.5)),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_num(
                Num::Int(9_007_199_254_740_993),
                Num::Float(9_007_199_254_740_992.0)
            ),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn set_membership_quirks() {
        let t = Value::Bool(true);
        assert!(in_set(&Val::Json(&t), &[Literal::Int(1)]).unwrap());
        let one = serde_json::json!(1.0);
        assert!(in_set(&Val::Json(&one), &[Literal::Int(1)]).unwrap());
        let s = Value::String("1".into());
        assert!(!in_set(&Val::Json(&s), &[Literal::Int(1)]).unwrap());
        assert!(!equals(&Val::Json(&t), &Literal::Int(1)).unwrap());
    }
}
