//! The typed-value engine: checks one value against its [`Ty`] from the
//! tables of [`crate::spec`] (strings, integers, references, vocabularies,
//! lists, dictionaries, hashes, kill chain phases, external references),
//! and the suffix rules for custom properties (§3.1, §11.1).

use super::formats::{is_base64, is_property_name, is_url};
use super::report::{Loc, err, found, show, warn};
use crate::dom::{Map, Value};
use crate::error::{Issue, Rule};
use crate::id::parse_identifier;
use crate::object::{Kind, kind_of_type};
use crate::spec::{self, Prop, Target, Ty};
use crate::timestamp::Timestamp;

/// §3.1 property names; §11.1 custom properties.
pub(super) fn custom_property(
    name: &str,
    v: &Value<'_>,
    spec_type: bool,
    at: &Loc<'_>,
    out: &mut Vec<Issue>,
) {
    if spec::RESERVED_PROPERTIES.contains(&name) {
        err(
            out,
            Rule::Forbidden,
            at,
            format!("`{name}` is a reserved property name (§3.1) and must not be used"),
        );
        return;
    }
    if !is_property_name(name) {
        err(
            out,
            Rule::PropertyName,
            at,
            format!(
                "property name `{name}` must be 3-250 characters of a-z, 0-9 and `_` (§3.1, §11.1)"
            ),
        );
    } else if spec_type && !name.starts_with("x_") {
        warn(
            out,
            Rule::PropertyName,
            at,
            format!(
                "custom property `{name}` should start with `x_` or be declared by an extension (§11.1)"
            ),
        );
    }
    custom_value(name, v, at, out);
}

/// The suffix rules of §3.1 (`_ref`, `_refs`, `_hex`, `_bin`) and the
/// list/dictionary rules of §2, for properties the specification does not define.
pub(super) fn custom_value(name: &str, v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    if name.ends_with("_ref") || name.ends_with("_refs") {
        // §3.1 reserves the suffixes for identifier references; for
        // properties this specification does not define, a SHOULD.
        let mut found_issues = Vec::new();
        let ty = if name.ends_with("_ref") {
            Ty::Ref(Target::Any)
        } else {
            Ty::RefList(Target::Any)
        };
        check_value(v, ty, at, &mut found_issues);
        for mut i in found_issues {
            i.severity = crate::error::Severity::Warning;
            out.push(i);
        }
    } else if name.ends_with("_hex") {
        check_value(v, Ty::Hex, at, out);
    } else if name.ends_with("_bin") {
        check_value(v, Ty::Bin, at, out);
    } else if let Value::Array(a) = v
        && a.is_empty()
    {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} is an empty list: a list must contain at least one value (§2.8)",
                at.name()
            ),
        );
    }
}

/// Checks one value against its type; `at` names where it is.
pub(super) fn check_value(v: &Value<'_>, ty: Ty, at: &Loc<'_>, out: &mut Vec<Issue>) {
    match ty {
        Ty::Str => {
            if !v.is_string() {
                err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!("{} must be a string, found {}", at.name(), found(v)),
                );
            }
        }
        Ty::StrList => list(v, at, out, |x, at, out| check_value(x, Ty::Str, at, out)),
        Ty::Bool => {
            if !v.is_boolean() {
                err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!("{} must be a boolean, found {}", at.name(), found(v)),
                );
            }
        }
        Ty::Int(min, max) => match v {
            Value::Number(n) => match n.as_i64() {
                Some(i) if (min..=max).contains(&i) => {}
                Some(_) => err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!(
                        "{} must be an integer in {min}..={max}, found {}",
                        at.name(),
                        show(v)
                    ),
                ),
                None if n.as_u64().is_some() => err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!(
                        "{} must be an integer in {min}..={max}, found {}",
                        at.name(),
                        show(v)
                    ),
                ),
                None => err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!("{} must be an integer, found {}", at.name(), show(v)),
                ),
            },
            _ => err(
                out,
                Rule::PropertyType,
                at,
                format!("{} must be an integer, found {}", at.name(), found(v)),
            ),
        },
        Ty::Float(min, max) => match v.as_f64() {
            Some(f) if f >= min && f <= max => {}
            Some(_) => err(
                out,
                Rule::PropertyType,
                at,
                format!(
                    "{} must be a number in {min}..={max}, found {}",
                    at.name(),
                    show(v)
                ),
            ),
            None => err(
                out,
                Rule::PropertyType,
                at,
                format!("{} must be a number, found {}", at.name(), found(v)),
            ),
        },
        Ty::Ts => match v {
            Value::String(s) => {
                if let Err(e) = Timestamp::parse(s) {
                    err(out, Rule::Timestamp, at, format!("{}: {e}", at.name()));
                }
            }
            _ => err(
                out,
                Rule::Timestamp,
                at,
                format!(
                    "{} must be a timestamp string, found {}",
                    at.name(),
                    found(v)
                ),
            ),
        },
        Ty::Ref(target) => reference(v, target, at, out),
        Ty::RefList(target) => list(v, at, out, |x, at, out| reference(x, target, at, out)),
        Ty::Enum(vals) => match v.as_str() {
            Some(s) if vals.contains(&s) => {}
            Some(s) => err(
                out,
                Rule::Vocabulary,
                at,
                format!(
                    "{} is {s:?}, which is not one of the allowed values {}",
                    at.name(),
                    vals.join(", ")
                ),
            ),
            None => err(
                out,
                Rule::PropertyType,
                at,
                format!("{} must be a string, found {}", at.name(), found(v)),
            ),
        },
        Ty::EnumList(vals) => list(v, at, out, |x, at, out| {
            check_value(x, Ty::Enum(vals), at, out)
        }),
        Ty::Open(vals) => match v.as_str() {
            Some(s) if vals.contains(&s) => {}
            Some(s) => warn(
                out,
                Rule::OpenVocabulary,
                at,
                format!(
                    "{} is {s:?}, which is not in the suggested vocabulary ({})",
                    at.name(),
                    vals.join(", ")
                ),
            ),
            None => err(
                out,
                Rule::PropertyType,
                at,
                format!("{} must be a string, found {}", at.name(), found(v)),
            ),
        },
        Ty::OpenList(vals) => list(v, at, out, |x, at, out| {
            check_value(x, Ty::Open(vals), at, out)
        }),
        Ty::Dict => dictionary(v, at, out),
        Ty::DictOf(inner, section) => {
            dictionary(v, at, out);
            if let Some(m) = v.as_object() {
                for (k, x) in m {
                    let before = out.len();
                    check_value(x, *inner, &at.key(k), out);
                    for i in &mut out[before..] {
                        i.message.push_str(&format!(
                            " (each value of {} must be {}, {section})",
                            at.name(),
                            describe(*inner)
                        ));
                    }
                }
            }
        }
        Ty::StrOrInt => {
            let ok = v.is_string()
                || matches!(v, Value::Number(n) if n.as_i64().is_some() || n.as_u64().is_some());
            if !ok {
                err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!(
                        "{} must be a string or an integer, found {}",
                        at.name(),
                        found(v)
                    ),
                );
            }
        }
        Ty::StrOrStrList => {
            if !v.is_string() {
                check_value(v, Ty::StrList, at, out);
            }
        }
        Ty::Struct(props) => match v.as_object() {
            Some(m) => check_members(m, props, at, out),
            None => err(
                out,
                Rule::PropertyType,
                at,
                format!("{} must be a JSON object, found {}", at.name(), found(v)),
            ),
        },
        Ty::StructList(props) => list(v, at, out, |x, at, out| {
            check_value(x, Ty::Struct(props), at, out)
        }),
        Ty::Hashes => hashes(v, at, out),
        Ty::KillChain => list(v, at, out, kill_chain_phase),
        Ty::ExtRefs => list(v, at, out, external_reference),
        Ty::Hex => match v.as_str() {
            Some(s) if s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {}
            _ => err(
                out,
                Rule::PropertyType,
                at,
                format!(
                    "{} must be hex text with an even number of digits (§2.6), found {}",
                    at.name(),
                    found(v)
                ),
            ),
        },
        Ty::Bin => match v.as_str() {
            Some(s) if is_base64(s) => {}
            _ => err(
                out,
                Rule::PropertyType,
                at,
                format!(
                    "{} must be base64 text (§2.2), found {}",
                    at.name(),
                    found(v)
                ),
            ),
        },
        Ty::Obj => {
            if !v.is_object() {
                err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!("{} must be a JSON object, found {}", at.name(), found(v)),
                );
            }
        }
        Ty::ObjList => list(v, at, out, |x, at, out| check_value(x, Ty::Obj, at, out)),
    }
}

/// What a value of `ty` is, for messages about dictionary values.
fn describe(ty: Ty) -> &'static str {
    match ty {
        Ty::Str => "a string",
        Ty::StrList => "a list of strings",
        Ty::StrOrInt => "a string or an integer",
        Ty::StrOrStrList => "a string or a list of strings",
        Ty::Int(..) => "an integer",
        _ => "of its type",
    }
}

/// A non-empty list whose items each pass `each` (§2.8).
pub(super) fn list(
    v: &Value<'_>,
    at: &Loc<'_>,
    out: &mut Vec<Issue>,
    each: impl Fn(&Value<'_>, &Loc<'_>, &mut Vec<Issue>),
) {
    match v {
        Value::Array(a) if a.is_empty() => err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} is an empty list: a list must contain at least one value (§2.8)",
                at.name()
            ),
        ),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                each(x, &at.idx(i), out);
            }
        }
        _ => err(
            out,
            Rule::PropertyType,
            at,
            format!("{} must be a list, found {}", at.name(), found(v)),
        ),
    }
}

/// §2.9 identifier, pointing at an allowed type.
pub(super) fn reference(v: &Value<'_>, target: Target, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(s) = v.as_str() else {
        err(
            out,
            Rule::Reference,
            at,
            format!(
                "{} must be an identifier string, found {}",
                at.name(),
                found(v)
            ),
        );
        return;
    };
    let id = match parse_identifier(s) {
        Ok(id) => id,
        Err(e) => {
            err(out, Rule::Reference, at, format!("{}: {e}", at.name()));
            return;
        }
    };
    let t = id.type_name;
    let kind = kind_of_type(t);
    let (ok, expected): (bool, std::borrow::Cow<'static, str>) = match target {
        Target::Any => (t != "bundle", "any STIX object".into()),
        Target::Types(ts) => (ts.contains(&t), ts.join(" or ").into()),
        Target::SdoOrSco => (
            matches!(kind, Kind::Sdo | Kind::Sco) || (kind == Kind::Custom && t != "bundle"),
            "an SDO or SCO".into(),
        ),
        Target::Sdo => (
            kind == Kind::Sdo || (kind == Kind::Custom && t != "bundle"),
            "an SDO".into(),
        ),
        Target::Sco => (
            kind == Kind::Sco || (kind == Kind::Custom && t != "bundle"),
            "a cyber-observable (SCO)".into(),
        ),
        Target::ScoOrSro => (
            matches!(kind, Kind::Sco | Kind::Sro) || (kind == Kind::Custom && t != "bundle"),
            "an SCO or SRO".into(),
        ),
        Target::NotLanguageContent => (
            t != "bundle" && t != "language-content",
            "any STIX object but a bundle or language-content".into(),
        ),
    };
    if !ok {
        err(
            out,
            Rule::Reference,
            at,
            format!("{} refers to a `{t}`, expected {expected}", at.name()),
        );
    }
}

/// §2.4: a dictionary has at least one key; keys are 1-250 of `[a-zA-Z0-9_-]`.
pub(super) fn dictionary(v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(m) = v.as_object() else {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} must be a dictionary (JSON object), found {}",
                at.name(),
                found(v)
            ),
        );
        return;
    };
    if m.is_empty() {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} is an empty dictionary: it must have at least one key (§2.4)",
                at.name()
            ),
        );
    }
    for k in m.keys() {
        let ok = (1..=250).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            err(
                out,
                Rule::PropertyType,
                &at.key(k),
                format!("dictionary key {k:?} must be 1-250 of a-z, A-Z, 0-9, `-` and `_` (§2.4)"),
            );
        }
    }
}

/// §2.5 hashes: keys from hash-algorithm-ov (or custom), values of the right form.
pub(super) fn hashes(v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(m) = v.as_object() else {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} must be a hashes dictionary, found {}",
                at.name(),
                found(v)
            ),
        );
        return;
    };
    if m.is_empty() {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} is empty: hashes must have at least one entry (§2.5)",
                at.name()
            ),
        );
    }
    for (k, h) in m {
        let hat = at.key(k);
        let Some(hs) = h.as_str() else {
            err(
                out,
                Rule::PropertyType,
                &hat,
                format!("hash value must be a string, found {}", found(h)),
            );
            continue;
        };
        if let Some(&(_, len)) = spec::HEX_HASH_LENGTHS.iter().find(|(a, _)| a == k) {
            if hs.len() != len || !hs.bytes().all(|b| b.is_ascii_hexdigit()) {
                err(
                    out,
                    Rule::PropertyType,
                    &hat,
                    format!("a {k} hash must be {len} hex digits, found {hs:?}"),
                );
            }
        } else if !spec::HASH_ALGORITHM.contains(&k.as_str()) {
            let ok = (3..=250).contains(&k.len())
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if ok {
                warn(
                    out,
                    Rule::OpenVocabulary,
                    &hat,
                    format!("hash algorithm {k:?} is not in hash-algorithm-ov"),
                );
            } else {
                err(
                    out,
                    Rule::PropertyType,
                    &hat,
                    format!("hash key {k:?} must be 3-250 of a-z, A-Z, 0-9, `-` and `_` (§2.5)"),
                );
            }
        }
    }
}

/// §2.10: `kill_chain_name` and `phase_name`, both strings.
pub(super) fn kill_chain_phase(v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(m) = v.as_object() else {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "a kill chain phase must be a JSON object, found {}",
                found(v)
            ),
        );
        return;
    };
    for name in ["kill_chain_name", "phase_name"] {
        match m.get(name) {
            Some(x) => check_value(x, Ty::Str, &at.key(name), out),
            None => err(
                out,
                Rule::RequiredProperty,
                &at.key(name),
                format!("a kill chain phase must have `{name}` (§2.10)"),
            ),
        }
    }
}

/// §2.6 external reference: `source_name`, plus one of `description`, `url`, `external_id`.
pub(super) fn external_reference(v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(m) = v.as_object() else {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "an external reference must be a JSON object, found {}",
                found(v)
            ),
        );
        return;
    };
    match m.get("source_name") {
        Some(x) => check_value(x, Ty::Str, &at.key("source_name"), out),
        None => err(
            out,
            Rule::RequiredProperty,
            &at.key("source_name"),
            "an external reference must have `source_name` (§2.6)".into(),
        ),
    }
    for name in ["description", "url", "external_id"] {
        if let Some(x) = m.get(name) {
            check_value(x, Ty::Str, &at.key(name), out);
        }
    }
    // §2.6 types `url` as a string ("A URL reference to an external
    // resource"); producers put citation text there. Not a MUST: a warning.
    if let Some(u) = m.get("url").and_then(Value::as_str)
        && !is_url(u)
    {
        warn(
            out,
            Rule::PropertyType,
            &at.key("url"),
            format!(
                "`url` {} is not a URL (§2.6: a URL reference to an external resource)",
                show_str(u)
            ),
        );
    }
    if !["description", "url", "external_id"]
        .iter()
        .any(|k| m.contains_key(k))
    {
        err(out, Rule::RequiredProperty, at, "an external reference must have at least one of `description`, `url`, `external_id` besides `source_name` (§2.6)".into());
    }
    if let Some(h) = m.get("hashes") {
        hashes(h, &at.key("hashes"), out);
    }
}

/// A string for a message, cut at 80 characters.
fn show_str(s: &str) -> String {
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut:?}...")
    } else {
        format!("{s:?}")
    }
}

/// Checks the members of a nested object against a table (predefined
/// extensions, MIME parts, registry values).
pub(super) fn check_members(
    m: &Map<'_>,
    props: &'static [Prop],
    at: &Loc<'_>,
    out: &mut Vec<Issue>,
) {
    for (k, v) in m {
        let kat = at.key(k);
        if let Some(p) = spec::find_prop(props, k) {
            check_value(v, p.ty, &kat, out);
        } else if k != "extension_type" {
            if !is_property_name(k) {
                err(
                    out,
                    Rule::PropertyName,
                    &kat,
                    format!(
                        "property name `{k}` must be 3-250 characters of a-z, 0-9 and `_` (§3.1)"
                    ),
                );
            }
            custom_value(k, v, &kat, out);
        }
    }
    for p in props {
        if p.required && !m.contains_key(p.name) {
            err(
                out,
                Rule::RequiredProperty,
                &at.key(p.name),
                format!("missing required property `{}`", p.name),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{IND, check_cases, errors, warnings, with};
    use serde_json::json;

    #[test]
    fn one_valid_and_one_invalid_case_per_rule() {
        check_cases(&[
            (
                "confidence range",
                json!({"confidence": 100}),
                json!({"confidence": 101}),
                "property-type $.confidence",
            ),
            (
                "boolean",
                json!({"revoked": true}),
                json!({"revoked": "yes"}),
                "property-type $.revoked",
            ),
            (
                "string list",
                json!({"labels": ["x"]}),
                json!({"labels": []}),
                "property-type $.labels",
            ),
            (
                "timestamp",
                json!({"valid_from": "2016-01-01T00:00:00.5Z"}),
                json!({"valid_from": "2016-01-01T00:00:00+00:00"}),
                "timestamp $.valid_from",
            ),
            (
                "created_by_ref target",
                json!({"created_by_ref": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}),
                json!({"created_by_ref": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}),
                "reference $.created_by_ref",
            ),
            (
                "marking refs",
                json!({"object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}),
                json!({"object_marking_refs": ["not-an-id"]}),
                "reference $.object_marking_refs[0]",
            ),
            (
                "external reference",
                json!({"external_references": [{"source_name": "a", "url": "https://x"}]}),
                json!({"external_references": [{"source_name": "a"}]}),
                "required-property $.external_references[0]",
            ),
            (
                "kill chain",
                json!({"kill_chain_phases": [{"kill_chain_name": "k", "phase_name": "p"}]}),
                json!({"kill_chain_phases": [{"kill_chain_name": "k", "phase_name": 3}]}),
                "property-type $.kill_chain_phases[0].phase_name",
            ),
            (
                "property name",
                json!({"x_acme": 1}),
                json!({"x_Acme": 1}),
                "property-name $.x_Acme",
            ),
            (
                "reserved name",
                json!({"x_severity": 1}),
                json!({"severity": 1}),
                "forbidden $.severity",
            ),
            (
                "custom hex",
                json!({"x_acme_hex": "0aff"}),
                json!({"x_acme_hex": "0af"}),
                "property-type $.x_acme_hex",
            ),
        ]);
    }

    #[test]
    fn typed_dictionary_values_at_any_depth() {
        let nt = r#"{"type":"network-traffic","spec_version":"2.1","id":"network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d","protocols":["tcp"],"src_ref":"ipv4-addr--4d22aae0-2bf9-5427-8819-e4f6abf20a53","extensions":{"http-request-ext":{"request_method":"get","request_value":"/","request_header":H}}}"#;
        assert!(errors(&nt.replace('H', r#"{"User-Agent":["Mozilla"]}"#)).is_empty());
        for bad in [r#"{"User-Agent":"Mozilla"}"#, r#"{"User-Agent":[42]}"#] {
            let issues = super::super::validate_object(
                &crate::object::Object::parse(&nt.replace('H', bad)).unwrap(),
            );
            let e: Vec<_> = issues.iter().filter(|i| i.is_error()).collect();
            assert_eq!(e.len(), 1, "{bad}: {e:?}");
            assert!(e[0].message.contains("§6.12.2"), "{}", e[0].message);
        }
        let x509 = r#"{"type":"x509-certificate","spec_version":"2.1","id":"x509-certificate--463d7b2a-8516-5a50-a3d7-6f801465d5de","serial_number":"1","x509_v3_extensions":{"basic_constraints":5}}"#;
        assert_eq!(
            errors(x509),
            vec!["property-type $.x509_v3_extensions.basic_constraints"]
        );
    }

    #[test]
    fn citation_text_in_url_warns() {
        let o = with(
            IND,
            json!({"external_references": [{"source_name": "a", "url": "Dragos. (n.d.)"}]}),
        );
        assert!(errors(&o).is_empty());
        assert_eq!(
            warnings(&o),
            vec!["property-type $.external_references[0].url"]
        );
    }

    #[test]
    fn open_vocabularies_warn_only() {
        let o = with(
            IND,
            json!({"pattern_type": "my-lang", "indicator_types": ["odd"]}),
        );
        assert!(errors(&o).is_empty());
        assert_eq!(
            warnings(&o),
            vec![
                "open-vocabulary $.pattern_type",
                "open-vocabulary $.indicator_types[0]"
            ]
        );
    }
}
