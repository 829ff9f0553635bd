//! Co-constraints of single types: the rules of one object type that the
//! property tables of [`crate::spec`] cannot say (one of two properties
//! required, two that exclude each other, the form of a value), and the
//! deterministic ids of cyber-observables (§2.9).
//!
//! [`type_rules`] dispatches on the type name to one function per type (or
//! per family of types sharing a rule).

use super::formats::{
    LangTag, is_cpe23, is_ipv4_value, is_ipv6_value, is_lowercase_language, is_mac,
    is_property_name, language_tag_verdict,
};
use super::report::{Loc, err, found, warn};
use super::values::check_members;
use crate::CommonProps;
use crate::dom::{Doc, Map, Value};
use crate::error::{Issue, JsonPath, Rule};
use crate::id::parse_identifier;
use crate::object::{Kind, Object, kind_of_type};
use crate::spec;

fn has(map: &Map<'_>, k: &str) -> bool {
    map.contains_key(k)
}

/// The rules of the object's own type, then its deterministic id.
pub(super) fn type_rules(obj: &Doc<'_>, ty: &str, out: &mut Vec<Issue>) {
    let m = obj.as_map();
    match ty {
        // Domain objects and relationships.
        "attack-pattern" => external_ids(m, "capec", "CAPEC-[id]", "§4.1", is_capec_id, out),
        "vulnerability" => external_ids(m, "cve", "CVE-YYYY-NNNN", "§4.18", is_cve_id, out),
        "relationship" => relationship(m, out),
        "location" => location(m, out),
        "malware" => malware(m, out),
        "malware-analysis" => malware_analysis(m, out),
        "observed-data" => observed_data(m, out),
        // Cyber-observables.
        "artifact" => artifact(m, out),
        "email-message" => email_message(m, out),
        "file" => file(m, out),
        "ipv4-addr" => address(
            m,
            "an IPv4 address or CIDR block (§6.8)",
            is_ipv4_value,
            out,
        ),
        "ipv6-addr" => address(
            m,
            "an IPv6 address or CIDR block (§6.9)",
            is_ipv6_value,
            out,
        ),
        "mac-addr" => address(
            m,
            "a lowercase, colon-delimited MAC-48 address (§6.10)",
            is_mac,
            out,
        ),
        "network-traffic" => network_traffic(m, out),
        "process" | "x509-certificate" => own_property_required(m, ty, out),
        "software" => software(m, out),
        "windows-registry-key" => windows_registry_key(m, out),
        // Meta objects.
        "marking-definition" => crate::marking::marking_definition(obj, out),
        "language-content" => language_content(m, out),
        "extension-definition" => extension_definition(m, out),
        _ => {}
    }
    sco_id_rules(obj, ty, out);
}

// ---------------------------------------------------------------------------
// Domain objects and relationships

/// §4.1, §4.18: "When specifying a CAPEC ID, the source_name property of
/// the external reference MUST be set to capec and the external_id
/// property MUST be formatted as CAPEC-[id]"; the same for a CVE ID ("MUST
/// be the exact CVE identifier"). An external reference whose
/// `source_name` is `source` and that has an `external_id` is one.
fn external_ids(
    m: &Map<'_>,
    source: &str,
    form: &str,
    section: &str,
    ok: fn(&str) -> bool,
    out: &mut Vec<Issue>,
) {
    let Some(Value::Array(refs)) = m.get("external_references") else {
        return;
    };
    let rat = Loc::Root.key("external_references");
    for (i, r) in refs.iter().enumerate() {
        if r.get("source_name").and_then(Value::as_str) != Some(source) {
            continue;
        }
        if let Some(id) = r.get("external_id").and_then(Value::as_str)
            && !ok(id)
        {
            err(
                out,
                Rule::PropertyType,
                &rat.idx(i).key("external_id"),
                format!(
                    "external reference with `source_name` `{source}`: `external_id` {id:?} MUST be formatted as {form} ({section})"
                ),
            );
        }
    }
}

/// `CAPEC-` and one or more digits.
fn is_capec_id(s: &str) -> bool {
    s.strip_prefix("CAPEC-")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// `CVE-`, a four-digit year, `-`, and four or more digits (the CVE ID
/// syntax since 2014).
fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, seq)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && seq.len() >= 4
        && seq.bytes().all(|b| b.is_ascii_digit())
}

/// §5.1: `relationship_type` is a-z, 0-9 and hyphens.
fn relationship(m: &Map<'_>, out: &mut Vec<Issue>) {
    if let Some(rt) = m.get("relationship_type").and_then(Value::as_str) {
        let ok = !rt.is_empty()
            && rt
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            err(
                out,
                Rule::PropertyType,
                &Loc::Root.key("relationship_type"),
                format!("`relationship_type` {rt:?} must use only a-z, 0-9 and `-` (§5.1)"),
            );
        }
    }
}

/// §4.10: region, country, or latitude+longitude; the pair goes together;
/// precision needs both.
fn location(m: &Map<'_>, out: &mut Vec<Issue>) {
    let root = Loc::Root;
    let (lat, lon) = (has(m, "latitude"), has(m, "longitude"));
    if !(has(m, "region") || has(m, "country") || (lat && lon)) {
        err(
            out,
            Rule::RequiredProperty,
            &root,
            "a location must have `region`, `country`, or `latitude` and `longitude` (§4.10)"
                .into(),
        );
    }
    if lat != lon {
        let missing = if lat { "longitude" } else { "latitude" };
        err(
            out,
            Rule::RequiredProperty,
            &root.key(missing),
            "`latitude` and `longitude` must be given together (§4.10)".into(),
        );
    }
    if has(m, "precision") && !(lat && lon) {
        err(
            out,
            Rule::Forbidden,
            &root.key("precision"),
            "`precision` requires `latitude` and `longitude` (§4.10)".into(),
        );
    }
}

/// §4.11: a malware family must have a name.
fn malware(m: &Map<'_>, out: &mut Vec<Issue>) {
    if m.get("is_family") == Some(&Value::Bool(true)) && !has(m, "name") {
        err(
            out,
            Rule::RequiredProperty,
            &Loc::Root.key("name"),
            "a malware family (`is_family`: true) must have `name` (§4.11)".into(),
        );
    }
}

/// §4.12: `result` or `analysis_sco_refs`.
fn malware_analysis(m: &Map<'_>, out: &mut Vec<Issue>) {
    if !has(m, "result") && !has(m, "analysis_sco_refs") {
        err(
            out,
            Rule::RequiredProperty,
            &Loc::Root,
            "a malware-analysis must have `result` or `analysis_sco_refs` (§4.12)".into(),
        );
    }
}

/// §4.14: exactly one of `objects` (deprecated) and `object_refs`.
fn observed_data(m: &Map<'_>, out: &mut Vec<Issue>) {
    let root = Loc::Root;
    match (m.get("objects"), has(m, "object_refs")) {
        (Some(_), true) => err(
            out,
            Rule::Forbidden,
            &root.key("objects"),
            "`objects` and `object_refs` must not both be present (§4.14)".into(),
        ),
        (None, false) => err(
            out,
            Rule::RequiredProperty,
            &root.key("object_refs"),
            "observed-data must have `object_refs` (or the deprecated `objects`) (§4.14)".into(),
        ),
        (Some(objs), false) => {
            let oat = root.key("objects");
            warn(
                out,
                Rule::Forbidden,
                &oat,
                "`objects` is deprecated; use `object_refs` (§4.14)".into(),
            );
            if let Some(om) = objs.as_object() {
                if om.is_empty() {
                    err(
                        out,
                        Rule::PropertyType,
                        &oat,
                        "`objects` must not be empty (§4.14)".into(),
                    );
                }
                for (k, o) in om {
                    if o.get("type").and_then(Value::as_str).is_none() {
                        err(
                            out,
                            Rule::RequiredProperty,
                            &oat.key(k),
                            "each observable in `objects` must be an object with a `type` (§4.14)"
                                .into(),
                        );
                    }
                }
            }
        }
        (None, true) => {
            // "The object_refs MUST contain at least one SCO reference if
            // defined." A custom type may be a cyber-observable (its
            // extension-definition says so), so it counts as one.
            if let Some(Value::Array(refs)) = m.get("object_refs")
                && !refs.is_empty()
                && refs.iter().all(|r| {
                    r.as_str()
                        .and_then(|s| parse_identifier(s).ok())
                        .is_some_and(|id| {
                            !matches!(kind_of_type(id.type_name), Kind::Sco | Kind::Custom)
                        })
                })
            {
                err(
                    out,
                    Rule::Reference,
                    &root.key("object_refs"),
                    "`object_refs` MUST contain at least one SCO reference (§4.14)".into(),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Cyber-observables

/// §6.1: `payload_bin` or `url`, not both; `url` requires `hashes`;
/// `decryption_key` requires `encryption_algorithm`.
fn artifact(m: &Map<'_>, out: &mut Vec<Issue>) {
    let root = Loc::Root;
    match (has(m, "payload_bin"), has(m, "url")) {
        (true, true) => err(
            out,
            Rule::Forbidden,
            &root.key("url"),
            "`payload_bin` and `url` must not both be present (§6.1)".into(),
        ),
        (false, false) => err(
            out,
            Rule::RequiredProperty,
            &root,
            "an artifact must have `payload_bin` or `url` (§6.1)".into(),
        ),
        _ => {}
    }
    if has(m, "url") && !has(m, "hashes") {
        err(
            out,
            Rule::RequiredProperty,
            &root.key("hashes"),
            "an artifact with `url` must have `hashes` (§6.1)".into(),
        );
    }
    if has(m, "decryption_key") && !has(m, "encryption_algorithm") {
        err(
            out,
            Rule::Forbidden,
            &root.key("decryption_key"),
            "`decryption_key` must not be present without `encryption_algorithm` (§6.1)".into(),
        );
    }
}

/// §6.6: `body` only when not multipart, `body_multipart` only when
/// multipart; each MIME part (§6.6.2) has exactly one of `body` and
/// `body_raw_ref`.
fn email_message(m: &Map<'_>, out: &mut Vec<Issue>) {
    let root = Loc::Root;
    match m.get("is_multipart") {
        Some(Value::Bool(true)) if has(m, "body") => err(
            out,
            Rule::Forbidden,
            &root.key("body"),
            "`body` must not be used when `is_multipart` is true (§6.6)".into(),
        ),
        Some(Value::Bool(false)) if has(m, "body_multipart") => err(
            out,
            Rule::Forbidden,
            &root.key("body_multipart"),
            "`body_multipart` must not be used when `is_multipart` is false (§6.6)".into(),
        ),
        _ => {}
    }
    if let Some(Value::Array(parts)) = m.get("body_multipart") {
        let bat = root.key("body_multipart");
        for (i, part) in parts.iter().enumerate() {
            if let Some(pm) = part.as_object() {
                let pat = bat.idx(i);
                check_members(pm, spec::MIME_PART, &pat, out);
                if has(pm, "body") == has(pm, "body_raw_ref") {
                    err(
                        out,
                        Rule::RequiredProperty,
                        &pat,
                        "a MIME part must have exactly one of `body` and `body_raw_ref` (§6.6.2)"
                            .into(),
                    );
                }
            }
        }
    }
}

/// §6.7: `hashes` or `name`.
fn file(m: &Map<'_>, out: &mut Vec<Issue>) {
    if !has(m, "hashes") && !has(m, "name") {
        err(
            out,
            Rule::RequiredProperty,
            &Loc::Root,
            "a file must have `hashes` or `name` (§6.7)".into(),
        );
    }
}

/// §6.8-§6.10: `value` has the form `ok` accepts, described by `what`.
fn address(m: &Map<'_>, what: &str, ok: fn(&str) -> bool, out: &mut Vec<Issue>) {
    if let Some(v) = m.get("value").and_then(Value::as_str)
        && !ok(v)
    {
        err(
            out,
            Rule::PropertyType,
            &Loc::Root.key("value"),
            format!("`value` {v:?} must be {what}"),
        );
    }
}

/// §6.12: `src_ref` or `dst_ref`; no `end` while `is_active`.
fn network_traffic(m: &Map<'_>, out: &mut Vec<Issue>) {
    let root = Loc::Root;
    if !has(m, "src_ref") && !has(m, "dst_ref") {
        err(
            out,
            Rule::RequiredProperty,
            &root,
            "network-traffic must have `src_ref` or `dst_ref` (§6.12)".into(),
        );
    }
    if m.get("is_active") == Some(&Value::Bool(true)) && has(m, "end") {
        err(
            out,
            Rule::Forbidden,
            &root.key("end"),
            "`end` must not be present when `is_active` is true (§6.12)".into(),
        );
    }
}

/// §6.13, §6.18: at least one property of the type itself.
fn own_property_required(m: &Map<'_>, ty: &str, out: &mut Vec<Issue>) {
    let specific = spec::type_spec(ty).map_or(&[][..], |s| s.props);
    let any = m
        .keys()
        .any(|k| k == "extensions" || spec::find_prop(specific, k).is_some());
    if !any {
        err(
            out,
            Rule::RequiredProperty,
            &Loc::Root,
            format!(
                "a `{ty}` must have at least one property of its own besides the common ones (§6)"
            ),
        );
    }
}

/// §6.14: `cpe` is a CPE 2.3 formatted string.
fn software(m: &Map<'_>, out: &mut Vec<Issue>) {
    // "The value of each list member MUST be a language code conformant
    // to [RFC5646]."
    if let Some(Value::Array(langs)) = m.get("languages") {
        let lat = Loc::Root.key("languages");
        for (i, l) in langs.iter().enumerate() {
            if let Some(t) = l.as_str() {
                language_tag(t, &lat.idx(i), "§6.14 `languages`", out);
            }
        }
    }
    if let Some(cpe) = m.get("cpe").and_then(Value::as_str)
        && !is_cpe23(cpe)
    {
        err(
            out,
            Rule::PropertyType,
            &Loc::Root.key("cpe"),
            format!("`cpe` {cpe:?} is not a CPE 2.3 formatted string (§6.14)"),
        );
    }
}

/// §6.17: the hive is written out in full; each value is checked against
/// the registry value table.
fn windows_registry_key(m: &Map<'_>, out: &mut Vec<Issue>) {
    let root = Loc::Root;
    if let Some(key) = m.get("key").and_then(Value::as_str) {
        let hive = key
            .split('\\')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if ["HKLM", "HKCC", "HKCR", "HKCU", "HKU"].contains(&hive.as_str()) {
            err(
                out,
                Rule::PropertyType,
                &root.key("key"),
                format!(
                    "`key` {key:?}: the hive must be written out in full (e.g. HKEY_LOCAL_MACHINE, not HKLM) (§6.17)"
                ),
            );
        }
    }
    if let Some(Value::Array(vals)) = m.get("values") {
        let vat = root.key("values");
        for (i, x) in vals.iter().enumerate() {
            if let Some(xm) = x.as_object() {
                check_members(xm, spec::REGISTRY_VALUE, &vat.idx(i), out);
            }
        }
    }
}

/// §2.9: deterministic ids of cyber-observables.
fn sco_id_rules(obj: &Doc<'_>, ty: &str, out: &mut Vec<Issue>) {
    if kind_of_type(ty) != Kind::Sco {
        return;
    }
    let Some(Ok(id)) = obj.id().map(parse_identifier) else {
        return;
    };
    match crate::sco_id::deterministic_sco_id(&Object::from_map(obj.as_map().to_serde())) {
        Some(expected) => {
            if obj.id() != Some(expected.as_str()) {
                out.push(Issue::warning(
                    Rule::DeterministicId,
                    JsonPath::prop("id"),
                    format!("the id of a `{ty}` should be the UUIDv5 of its ID contributing properties, `{expected}` (§2.9)"),
                ));
            }
        }
        None => {
            if id.uuid.get_version_num() != 4 {
                out.push(Issue::error(
                    Rule::DeterministicId,
                    JsonPath::prop("id"),
                    format!("a `{ty}` without ID contributing properties must use a UUIDv4 id, found version {} (§2.9)", id.uuid.get_version_num()),
                ));
            }
        }
    }
}

/// An RFC 5646 language tag (`lang` §3.2, software `languages` §6.14,
/// language-content `contents` keys §7.1, granular-marking `lang` §7.2.3):
/// an error unless well-formed and valid ([`language_tag_verdict`]: the
/// ABNF, case-insensitive as RFC 5646 §2.1.1 says, then every subtag in the
/// IANA registry, §2.2.9); a warning for a variant outside its registered
/// prefix (RFC 5646 §3.1.8 only recommends it) and for a language subtag
/// not in the lowercase the RFC recommends.
pub(super) fn language_tag(tag: &str, at: &Loc<'_>, section: &str, out: &mut Vec<Issue>) {
    match language_tag_verdict(tag) {
        LangTag::Malformed(e) => err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{tag:?} is not a well-formed RFC 5646 language tag ({e}); {section} MUST be a language code conformant to RFC 5646"
            ),
        ),
        LangTag::Unregistered(e) => err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{tag:?} is well-formed but not a valid RFC 5646 language tag: {e} (RFC 5646 §2.2.9; a language with a two-letter ISO 639-1 code is registered under that code only, §2.2.1: `en`, not `eng`); {section} MUST be a language code conformant to RFC 5646"
            ),
        ),
        LangTag::VariantPrefix => warn(
            out,
            Rule::PropertyType,
            at,
            format!(
                "language tag {tag:?}: a variant subtag is used without the prefix the IANA registry gives it (RFC 5646 §3.1.8, a recommendation; {section})"
            ),
        ),
        LangTag::Valid if !is_lowercase_language(tag) => warn(
            out,
            Rule::PropertyType,
            at,
            format!(
                "language tag {tag:?}: RFC 5646 §2.1.1 writes the language subtag in lowercase ({section}; tags are case-insensitive, so this is only a convention)"
            ),
        ),
        LangTag::Valid => {}
    }
}

// ---------------------------------------------------------------------------
// Meta objects (marking-definition has its own module, `crate::marking`)

/// §7.1: `contents` maps language tags to objects of translated properties.
fn language_content(m: &Map<'_>, out: &mut Vec<Issue>) {
    let Some(Value::Object(c)) = m.get("contents") else {
        return;
    };
    let cat = Loc::Root.key("contents");
    if c.is_empty() {
        err(
            out,
            Rule::PropertyType,
            &cat,
            "`contents` must not be empty (§7.1)".into(),
        );
    }
    for (lang, tr) in c {
        let lat = cat.key(lang);
        language_tag(lang, &lat, "§7.1 `contents` key", out);
        match tr.as_object() {
            Some(tm) => {
                for k in tm.keys() {
                    if !is_property_name(k) {
                        err(
                            out,
                            Rule::PropertyName,
                            &lat.key(k),
                            format!("`{k}` is not a valid property name (§3.1)"),
                        );
                    }
                }
            }
            None => err(
                out,
                Rule::PropertyType,
                &lat,
                format!("a translation must be a JSON object, found {}", found(tr)),
            ),
        }
    }
}

/// §7.3: `extension_properties` only with `toplevel-property-extension`.
fn extension_definition(m: &Map<'_>, out: &mut Vec<Issue>) {
    let toplevel = m
        .get("extension_types")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|x| x.as_str() == Some("toplevel-property-extension"))
        });
    if has(m, "extension_properties") && !toplevel {
        err(
            out,
            Rule::Forbidden,
            &Loc::Root.key("extension_properties"),
            "`extension_properties` is only for `toplevel-property-extension` extensions (§7.3)"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{errors, warnings};
    use serde_json::{Value, json};

    #[test]
    fn per_type_rules() {
        let c = "2016-05-12T08:17:27.000Z";
        let sdo = |ty: &str, extra: Value| {
            let mut v = json!({"type": ty, "spec_version": "2.1", "id": format!("{ty}--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"), "created": c, "modified": c});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v.to_string()
        };
        let cases: Vec<(String, String, &str)> = vec![
            (sdo("opinion", json!({"opinion": "agree", "object_refs": ["note--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), sdo("opinion", json!({"opinion": "maybe", "object_refs": ["note--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), "vocabulary $.opinion"),
            (sdo("location", json!({"region": "europe"})), sdo("location", json!({"city": "Paris"})), "required-property $"),
            (sdo("malware", json!({"is_family": false})), sdo("malware", json!({"is_family": true})), "required-property $.name"),
            (sdo("sighting", json!({"sighting_of_ref": "indicator--b01efc25-77b4-4003-b18b-f6e24b5cd9f7", "count": 0})), sdo("sighting", json!({"sighting_of_ref": "indicator--b01efc25-77b4-4003-b18b-f6e24b5cd9f7", "count": 1_000_000_000})), "property-type $.count"),
            (sdo("sighting", json!({"sighting_of_ref": "malware--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"})), sdo("sighting", json!({"sighting_of_ref": "relationship--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"})), "reference $.sighting_of_ref"),
            (sdo("relationship", json!({"relationship_type": "uses", "source_ref": "malware--b01efc25-77b4-4003-b18b-f6e24b5cd9f7", "target_ref": "ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"})), sdo("relationship", json!({"relationship_type": "uses", "source_ref": "malware--b01efc25-77b4-4003-b18b-f6e24b5cd9f7", "target_ref": "sighting--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"})), "reference $.target_ref"),
            (sdo("observed-data", json!({"first_observed": c, "last_observed": c, "number_observed": 1, "object_refs": ["ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), sdo("observed-data", json!({"first_observed": c, "last_observed": c, "number_observed": 1})), "required-property $.object_refs"),
            (sdo("observed-data", json!({"first_observed": c, "last_observed": c, "number_observed": 999_999_999, "object_refs": ["ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), sdo("observed-data", json!({"first_observed": c, "last_observed": c, "number_observed": 0, "object_refs": ["ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), "property-type $.number_observed"),
            (r#"{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}"#.into(), r#"{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.300"}"#.into(), "property-type $.value"),
            (r#"{"type":"network-traffic","id":"network-traffic--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","protocols":["tcp"],"src_ref":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","extensions":{"socket-ext":{"address_family":"AF_INET"}}}"#.into(), r#"{"type":"network-traffic","id":"network-traffic--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","protocols":["tcp"],"src_ref":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","extensions":{"socket-ext":{"address_family":"AF_X"}}}"#.into(), "vocabulary $.extensions.socket-ext.address_family"),
            (r#"{"type":"process","id":"process--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","pid":1}"#.into(), r#"{"type":"process","id":"process--b01efc25-77b4-5003-b18b-f6e24b5cd9f7","pid":1}"#.into(), "deterministic-id $.id"),
            (r#"{"type":"artifact","id":"artifact--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","payload_bin":"aGk="}"#.into(), r#"{"type":"artifact","id":"artifact--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","payload_bin":"aGk=","decryption_key":"k"}"#.into(), "forbidden $.decryption_key"),
            (r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"white"}}"#.into(), r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"red"}}"#.into(), "tlp $.definition"),
        ];
        for (good, bad, expected) in cases {
            let g = errors(&good);
            assert!(g.is_empty(), "valid case has errors {g:?}: {good}");
            assert_eq!(errors(&bad), vec![expected.to_string()], "{bad}");
        }
    }

    /// A non-deterministic SCO id is a SHOULD: a warning, not an error.
    #[test]
    fn non_deterministic_sco_id_warns_only() {
        let s = r#"{"type":"ipv4-addr","id":"ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","value":"198.51.100.3"}"#;
        assert!(errors(s).is_empty());
        assert_eq!(warnings(s), vec!["deterministic-id $.id"]);
    }
}
