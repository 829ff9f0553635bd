//! What the dashboard's search index ([`accord_store::search`]) holds of
//! each object version: its terms.
//!
//! - `v:` + a value, lower case: an indicator's pattern constants (every
//!   string compared in a STIX pattern, `=`, `IN`, `LIKE`, `MATCHES`,
//!   `ISSUBSET`…), a cyber-observable's `value`, `name`, `path`, `key`
//!   and hash values, and any object's `name`.
//! - `l:` + a label, lower case.
//! - `t:` + the object's TLP level (`clear` when unmarked): `clear`,
//!   `green`, `amber`, `amber+strict`, `red`.
//! - `o:` + where it came from (the store's `origin`, as stored).
//!
//! At most [`MAX_TERMS`] terms per version; a value is found by itself or
//! by a prefix of it ([`value_term`]).

use accord_pattern::ast::{CmpExpr, Literal, ObsExpr, Op};
use accord_store::StoredObject;
use std::borrow::Cow;

/// The most terms kept of one version (a pattern with thousands of
/// constants is indexed by its first ones).
pub const MAX_TERMS: usize = 64;

/// The term a searched value is looked up by (lower case, trimmed).
pub fn value_term(q: &str) -> String {
    format!("v:{}", q.trim().to_lowercase())
}

/// The term of a label.
pub fn label_term(l: &str) -> String {
    format!("l:{}", l.trim().to_lowercase())
}

/// The term of a TLP level.
pub fn tlp_term(t: accord_policy::Tlp) -> String {
    let t = t.to_string().to_lowercase();
    format!("t:{}", t.trim_start_matches("tlp:"))
}

/// The term of an origin.
pub fn origin_term(o: &str) -> String {
    format!("o:{o}")
}

/// The terms of one stored version (see the module docs).
pub fn terms(o: &StoredObject) -> Vec<String> {
    let mut out = Vec::new();
    out.push(origin_term(&o.origin));
    let level = o
        .markings
        .iter()
        .filter_map(|m| accord_policy::tlp::marking_tlp(m))
        .max()
        .unwrap_or(accord_policy::Tlp::Clear);
    out.push(tlp_term(level));
    // Only the members read, borrowed: the rest of the object is skipped,
    // not built.
    let Ok(v) = serde_json::from_str::<Probe<'_>>(&o.raw) else {
        return out;
    };
    let mut add = |s: &str| {
        if out.len() < MAX_TERMS && !s.trim().is_empty() {
            let t = value_term(s);
            if !out.contains(&t) {
                out.push(t);
            }
        }
    };
    for s in [&v.value, &v.name, &v.path, &v.key].into_iter().flatten() {
        add(s);
    }
    for x in v.hashes.values() {
        add(x);
    }
    let stix = v.pattern_type.as_deref().is_none_or(|t| t == "stix");
    if let (true, Some(p)) = (stix, v.pattern.as_deref())
        && let Ok(e) = accord_pattern::parse(p)
    {
        let mut lits = Vec::new();
        pattern_strings(&e, &mut lits);
        for s in lits {
            add(s);
        }
    }
    for l in &v.labels {
        if out.len() < MAX_TERMS {
            let t = label_term(l);
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// The members [`terms`] reads. A member of another JSON type than
/// expected makes the whole object unreadable here: it is then indexed by
/// origin and TLP only (the validator refused such objects at the door).
#[derive(serde::Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    hashes: std::collections::BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(borrow, default)]
    pattern: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pattern_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    labels: Vec<Cow<'a, str>>,
}

/// Every string constant of a pattern, in order.
fn pattern_strings<'a>(e: &'a ObsExpr, out: &mut Vec<&'a str>) {
    match e {
        ObsExpr::Simple(c) => cmp_strings(c, out),
        ObsExpr::And(a, b) | ObsExpr::Or(a, b) | ObsExpr::FollowedBy(a, b) => {
            pattern_strings(a, out);
            pattern_strings(b, out);
        }
        ObsExpr::Qualified(a, _) => pattern_strings(a, out),
    }
}

fn cmp_strings<'a>(c: &'a CmpExpr, out: &mut Vec<&'a str>) {
    match c {
        CmpExpr::And(a, b) | CmpExpr::Or(a, b) => {
            cmp_strings(a, out);
            cmp_strings(b, out);
        }
        CmpExpr::Test(t) => match &t.op {
            Op::Eq(Literal::Str(s))
            | Op::Like(s)
            | Op::Matches(s)
            | Op::IsSubset(s)
            | Op::IsSuperset(s) => out.push(s),
            Op::In(l) => out.extend(l.iter().filter_map(|x| match x {
                Literal::Str(s) => Some(s.as_str()),
                _ => None,
            })),
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(raw: &str, markings: &[&str], origin: &str) -> StoredObject {
        StoredObject {
            seq: 1,
            collection: "c".into(),
            id: "x".into(),
            type_name: "indicator".into(),
            spec_version: "2.1".into(),
            created: None,
            modified: None,
            version: String::new(),
            date_added: String::new(),
            origin: origin.into(),
            markings: markings.iter().map(|m| (*m).to_owned()).collect(),
            sha256: [0; 32],
            raw: raw.into(),
        }
    }

    #[test]
    fn an_indicator_is_found_by_its_constants_labels_tlp_and_origin() {
        let o = stored(
            r#"{"type":"indicator","name":"C2 of Example","labels":["Phishing"],"pattern":"[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value IN ('Evil.Example', 'b.example')] OR [file:hashes.'SHA-256' = 'AB12']","pattern_type":"stix"}"#,
            &["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
            "partner cn",
        );
        let t = terms(&o);
        for want in [
            "o:partner cn",
            "t:green",
            "v:c2 of example",
            "v:198.51.100.7",
            "v:evil.example",
            "v:b.example",
            "v:ab12",
            "l:phishing",
        ] {
            assert!(t.contains(&want.to_owned()), "{want} in {t:?}");
        }
        assert!(!t.iter().any(|x| x == "v:sha-256"), "a path is not a value");
    }

    #[test]
    fn observables_unmarked_and_bad_json() {
        let o = stored(
            r#"{"type":"file","name":"evil.exe","hashes":{"MD5":"D41D8CD98F00B204E9800998ECF8427E"}}"#,
            &[],
            "local",
        );
        let t = terms(&o);
        assert!(t.contains(&"t:clear".to_owned()));
        assert!(t.contains(&"v:evil.exe".to_owned()));
        assert!(t.contains(&"v:d41d8cd98f00b204e9800998ecf8427e".to_owned()));
        let bad = terms(&stored("not json", &[], "local"));
        assert_eq!(bad, vec!["o:local".to_owned(), "t:clear".to_owned()]);
    }

    #[test]
    fn the_terms_are_bounded() {
        let list: Vec<String> = (0..500).map(|i| format!("'h{i}.example'")).collect();
        let raw = format!(
            r#"{{"type":"indicator","pattern":"[domain-name:value IN ({})]","pattern_type":"stix"}}"#,
            list.join(", ")
        );
        assert_eq!(terms(&stored(&raw, &[], "local")).len(), MAX_TERMS);
    }
}
