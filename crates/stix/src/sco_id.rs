//! Deterministic identifiers of cyber-observable objects (§2.9).
//!
//! An SCO's id SHOULD be `type--UUIDv5(namespace, JCS(contributing))`, where
//! `contributing` is the JSON object made of the type's *ID Contributing
//! Properties* (listed in each SCO section of §6) that are present, and JCS is
//! the JSON Canonicalization Scheme of RFC 8785. Two producers that see the
//! same observable thus mint the same id, and a consumer can merge them.
//!
//! For `hashes`, one hash is used, as the reference implementation
//! (oasis-open/cti-python-stix2, `_choose_one_hash`) does: MD5, else SHA-1,
//! else SHA-256, else SHA-512, else the first key.
//!
//! JCS is written here rather than taken from a crate: the crate's
//! `serde_json` keeps numbers as their original text (`arbitrary_precision`),
//! which generic canonicalizers do not expect, and the subset needed (strings,
//! integers, objects, lists) is small.

use crate::CommonProps;
use crate::object::Object;
use crate::spec;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The namespace of §2.9, `00abedb4-aa42-466c-9c01-fed23315a9b7`.
pub const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00ab_edb4_aa42_466c_9c01_fed2_3315_a9b7);

/// The deterministic id of a cyber-observable, or `None` when the object is
/// not a STIX-defined SCO with ID contributing properties, or has none of
/// them (then §2.9 wants a UUIDv4 instead).
///
/// ```
/// use accord_stix::{Object, sco_id::deterministic_sco_id};
/// let o = Object::parse(r#"{"type":"ipv4-addr","value":"198.51.100.3"}"#).unwrap();
/// assert_eq!(
///     deterministic_sco_id(&o).unwrap(),
///     "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
/// );
/// ```
pub fn deterministic_sco_id(obj: &Object) -> Option<String> {
    let ty = obj.type_name()?;
    let canonical = contributing_json(obj, ty)?;
    let uuid = Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes());
    Some(format!("{ty}--{uuid}"))
}

/// The JCS text of the ID contributing properties present on `obj`.
pub(crate) fn contributing_json(obj: &Object, ty: &str) -> Option<String> {
    let props = spec::type_spec(ty)?.id_contributing;
    let mut present: Vec<(&str, &Value)> = props
        .iter()
        .filter_map(|&p| obj.get(p).map(|v| (p, v)))
        .collect();
    if present.is_empty() {
        return None;
    }
    present.sort_by(|a, b| utf16_cmp(a.0, b.0));
    let mut out = String::with_capacity(128);
    out.push('{');
    for (i, (name, value)) in present.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, name);
        out.push(':');
        if *name == "hashes" {
            let map = value.as_object()?;
            let (k, v) = choose_one_hash(map)?;
            out.push('{');
            write_string(&mut out, k);
            out.push(':');
            write_jcs(&mut out, v);
            out.push('}');
        } else {
            write_jcs(&mut out, value);
        }
    }
    out.push('}');
    Some(out)
}

fn choose_one_hash(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    for k in ["MD5", "SHA-1", "SHA-256", "SHA-512"] {
        if let Some(v) = map.get(k) {
            return Some((k, v));
        }
    }
    map.iter().next().map(|(k, v)| (k.as_str(), v))
}

fn utf16_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Writes `v` in RFC 8785 canonical form.
pub fn write_jcs(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_jcs(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| utf16_cmp(a.0, b.0));
            out.push('{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_jcs(out, x);
            }
            out.push('}');
        }
    }
}

/// RFC 8785 §3.2.2.2: strings as ECMAScript `JSON.stringify` writes them.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// RFC 8785 §3.2.2.3: numbers as ECMAScript `Number.prototype.toString`.
fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
        return;
    }
    if let Some(u) = n.as_u64() {
        // Beyond 2^53 ECMAScript would round; the f64 path does the same.
        if u < (1 << 53) {
            out.push_str(&u.to_string());
            return;
        }
    }
    let f = n.as_f64().unwrap_or(0.0);
    out.push_str(&es_number(f));
}

/// ECMAScript's Number-to-String for a finite f64.
fn es_number(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-trip digits, as ECMAScript wants.
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exp + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let es = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        if k == 1 {
            format!("{digits}e{es}")
        } else {
            format!("{}.{}e{es}", &digits[..1], &digits[1..])
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(json: &str) -> Option<String> {
        deterministic_sco_id(&Object::parse(json).unwrap())
    }

    // Expected values computed with the reference implementation
    // (cti-python-stix2 3.0.2, `stix2.v21` SCO classes).
    #[test]
    fn known_answers() {
        assert_eq!(
            id(r#"{"type":"ipv4-addr","value":"198.51.100.3"}"#).unwrap(),
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
        assert_eq!(
            id(r#"{"type":"file","name":"foo.exe","hashes":{"SHA-256":"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f","MD5":"9e107d9d372bb6826bd81d3542a419d6"}}"#).unwrap(),
            "file--eb33207b-7734-5649-9e4e-24b9624ebbe2"
        );
        assert_eq!(
            id(r#"{"type":"autonomous-system","number":15139}"#).unwrap(),
            "autonomous-system--3aa27478-50b5-5ab8-9da9-cdc12b657fff"
        );
        assert_eq!(
            id(r#"{"type":"email-message","is_multipart":false,"subject":"Hé \"quoted\"\n"}"#)
                .unwrap(),
            "email-message--455f0a8b-fc07-582c-8d0a-14cbdfef1598"
        );
    }

    #[test]
    fn none_without_contributing_properties() {
        assert_eq!(id(r#"{"type":"process","pid":1}"#), None);
        assert_eq!(id(r#"{"type":"user-account","display_name":"x"}"#), None);
        assert_eq!(id(r#"{"type":"indicator"}"#), None);
        assert_eq!(id(r#"{"type":"x-custom","value":"a"}"#), None);
    }

    #[test]
    fn jcs_numbers_and_order() {
        let v: Value = serde_json::from_str(
            r#"{"b":1.5e-7,"a":[1e21,100,-0.5,1E2],"\u00e9":"x","z":"\u0001"}"#,
        )
        .unwrap();
        let mut s = String::new();
        write_jcs(&mut s, &v);
        assert_eq!(
            s,
            r#"{"a":[1e+21,100,-0.5,100],"b":1.5e-7,"z":"\u0001","é":"x"}"#
        );
    }
}
