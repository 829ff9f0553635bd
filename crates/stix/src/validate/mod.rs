//! The MUST rules of STIX 2.1, applied to one object at a time.
//!
//! [`validate_object`] returns every [`Issue`] found; an object is valid when
//! none of them is an error. Each issue carries the object id, the JSON path
//! of the property and a message naming the value found and what was expected.
//!
//! The per-type facts (properties, their types, required ones, reference
//! targets, vocabularies) are tables in `crate::spec`; this module is the
//! engine that walks them, plus the co-constraints that tables cannot say.
//! One file per concern:
//!
//! - this file: the entry points and the walk over an object's properties;
//! - `common`: the common properties of §3.2 and timestamp order;
//! - `values`: the typed-value engine (one value against its spec type) and
//!   custom properties;
//! - `granular`: granular markings and their selectors (§7.2.3);
//! - `extensions`: the `extensions` property (§7.3, §11);
//! - `types`: the co-constraints of single types and deterministic SCO ids;
//! - `formats`: format checks of single strings (addresses, CPE, language tags);
//! - `report`: where an issue is ([`JsonPath`] built lazily) and how it is pushed.
//!
//! # What is checked, section by section (STIX 2.1 OS, 10 June 2021)
//!
//! Checked (an error unless marked SHOULD, which warns):
//!
//! - §2.1-2.14 value types: booleans, integers and their ranges, floats,
//!   hex and binary, lists non-empty (§2.8), dictionaries (§2.4: non-empty,
//!   key form), hashes (§2.5: algorithm key form, hex lengths of the
//!   algorithms the vocabulary defines, string values), external references
//!   (§2.5: `source_name` and one of `description`/`url`/`external_id`;
//!   a `url` that is not a URI warns), identifiers (§2.9), kill chain phases
//!   (§2.10), open vocabularies (SHOULD), enumerations, timestamps (§2.14).
//! - §3.1 property names and the reserved names; §3.2 common properties,
//!   which ones each kind requires, millisecond precision of `created` and
//!   `modified`, `modified` ≥ `created`, `lang` a valid RFC 5646 tag.
//! - Dictionaries whose values the specification types, at any depth:
//!   `request_header` (§6.12.2, lists of strings), `additional_header_fields`
//!   (§6.6, strings or lists of strings), `environment_variables` (§6.13,
//!   strings), `document_info_dict` (§6.7.4, strings), `exif_tags` (§6.7.5)
//!   and `ipfix` (§6.12, strings or integers), socket `options` (§6.12.4,
//!   integers), `hashes` everywhere they appear, and the typed structures
//!   `x509_v3_extensions` (§6.18.2), PE `optional_header` and `sections`
//!   (§6.7.6), NTFS `alternate_data_streams` (§6.7.3), MIME parts (§6.6.2),
//!   registry values (§6.17.2).
//! - §4, §5, §6, §7: each type's properties, required ones, reference
//!   targets, vocabularies and co-constraints (`types`); timestamp orders
//!   of `spec::TIMESTAMP_ORDER`; deterministic SCO ids (SHOULD), a UUIDv4
//!   where a type has no ID contributing property present (§2.9);
//!   `external_id` of a `capec` reference on an attack-pattern (§4.1,
//!   `CAPEC-[id]`) and of a `cve` reference on a vulnerability (§4.18);
//!   observed-data `object_refs` holding at least one SCO (§4.14).
//! - Language tags, read by the `language-tags` crate: well-formed (the
//!   RFC 5646 ABNF, case-insensitive) *and* valid (RFC 5646 §2.2.9: every
//!   primary language, extended language, script, region and variant
//!   subtag in the IANA Language Subtag Registry snapshot that crate
//!   embeds, no repeated variant or singleton), so `!!` and `eng` (the
//!   registry has `en` only, §2.2.1) are errors; a variant outside its
//!   registered prefix and an uppercase language subtag warn. For `lang`
//!   (§3.2), software `languages` (§6.14), language-content `contents` keys
//!   (§7.1) and granular-marking `lang` (§7.2.3).
//! - §7.2 markings (TLP 1.0 and 2.0 fixed objects, granular selectors);
//!   §7.3 extension definitions and the `extensions` property: an
//!   extension-definition key needs `extension_type`; a predefined `*-ext`
//!   is checked against its table; any other key is a custom object
//!   extension (§11.3), allowed on SCOs only and named `*-ext`.
//! - §8 bundle header; in files (`accord_app::check`), one version (`id`,
//!   `modified`) twice with different content warns (`Rule::Conflict`),
//!   naming both positions, and a top-level JSON array is read as a list
//!   of objects with one warning that it is not a bundle
//!   (`accord_app::input`).
//!
//! Deliberately not checked, and why:
//!
//! - Subtags registered after the `language-tags` crate's registry
//!   snapshot: such a tag is refused until the crate is updated (the
//!   registry grows by a few subtags a year).
//! - `external_references[].url` as a strict URI: the specification types it
//!   as a string; a non-URI warns.
//! - Properties an extension-definition's `schema` adds (§7.3): the schema
//!   is a document elsewhere; Accord checks the envelope only.
//! - Whether references resolve, `object_modified` matches a version,
//!   `revoked` objects are not modified later: rules across objects, which
//!   need the store (the check of one object cannot see others).
//! - MIME types, character sets (`name_enc`), IPFIX element names, CPE and
//!   SWID beyond their form: registries outside the specification; the
//!   SHOULDs of naming (`x_` prefixes warn, case-preserved header names).
//! - Pattern semantics beyond the grammar and the validator's strict rules
//!   (`accord_pattern::parse_strict`).
//! - MUSTs that need another object, a registry or the producer's intent,
//!   reviewed section by section and left out on purpose: §3.6 (a new
//!   version keeps `created`, `created_by_ref`; a `revoked` object is not
//!   versioned again) and §7.1 (`object_modified`, translated property
//!   names and list lengths match the object translated) need the earlier
//!   version or the object; §4.10 `country` ISO 3166-1 (a SHOULD); §6.1
//!   `mime_type` and §6.7 `mime_type`/`name_enc` (IANA registries, SHOULD);
//!   §6.5 `value` of email-addr as an RFC 5322 addr-spec and §6.15 `value`
//!   of url as an RFC 3986 URL (only their types are checked); §6.12
//!   `protocols` from the IANA service-name registry (a SHOULD);
//!   §7.2.1 a marking-definition's extension-defined markings beyond their
//!   envelope; §9 (patterning) semantics other than the grammar, which the
//!   pattern crate owns.
//!
//! Architecture invariant: nothing here allocates unless it reports an issue.
//! Paths are built as borrowed `Loc` chains on the stack and turned into a
//! [`JsonPath`] only when an issue is made.

mod common;
mod extensions;
mod formats;
mod granular;
mod report;
mod types;
mod values;

use crate::CommonProps;
use crate::document::DocumentInfo;
use crate::dom::{Doc, Value};
use crate::error::{Issue, JsonPath, Rule};
use crate::id::parse_identifier;
use crate::object::Object;
use crate::spec::{self, Prop};

use common::{HANDLED, common, order};
use extensions::{extensions, has_toplevel_extension};
use granular::granular_markings;
use report::{Loc, err};
use types::{language_tag, type_rules};
use values::{check_value, custom_property};

/// Validates one object against the rules of STIX 2.1.
///
/// The rules run on the borrowed tree ([`validate_doc`]); an owned object
/// is written out and read back as one, which costs a little more than
/// [`Doc::parse`] of the received text (what the ingest paths use).
pub fn validate_object(obj: &Object) -> Vec<Issue> {
    let text = obj.to_json();
    match Doc::parse(&text) {
        Ok(doc) => validate_doc(&doc),
        // An object's own JSON always reads back.
        Err(e) => vec![Issue::error(Rule::Json, JsonPath::root(), e.to_string())],
    }
}

/// Validates one object, parsed with [`Doc::parse`], against the rules of
/// STIX 2.1.
pub fn validate_doc(obj: &Doc<'_>) -> Vec<Issue> {
    let mut out = Vec::new();
    common(obj, &mut out);
    if let Some(ty) = obj.type_name() {
        rules(obj, ty, &mut out);
    }
    if !out.is_empty() {
        let id = obj.id().map(str::to_owned);
        for issue in &mut out {
            issue.object_id.clone_from(&id);
        }
    }
    out
}

/// Whether a list of issues has no error.
pub fn is_valid(issues: &[Issue]) -> bool {
    !issues.iter().any(Issue::is_error)
}

/// Validates the top level of a bundle (§8): `type` is `bundle`, `id` is a
/// `bundle--UUID`, `objects`, when present, is an array.
pub fn validate_bundle_header(info: &DocumentInfo) -> Vec<Issue> {
    let mut out = Vec::new();
    if !info.is_bundle {
        return out;
    }
    let h = &info.header;
    match h.get("type").and_then(serde_json::Value::as_str) {
        Some("bundle") => {}
        Some(other) => out.push(Issue::error(
            Rule::Bundle,
            JsonPath::prop("type"),
            format!("a document with `objects` must have type `bundle`, found `{other}`"),
        )),
        None => out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("type"),
            "bundle has no `type`",
        )),
    }
    match h.get("id").and_then(serde_json::Value::as_str) {
        Some(id) => match parse_identifier(id) {
            Ok(p) if p.type_name == "bundle" => {}
            Ok(_) => out.push(Issue::error(
                Rule::Identifier,
                JsonPath::prop("id"),
                format!("bundle id `{id}` must start with `bundle--`"),
            )),
            Err(e) => out.push(Issue::error(
                Rule::Identifier,
                JsonPath::prop("id"),
                e.to_string(),
            )),
        },
        None => out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("id"),
            "bundle has no `id`",
        )),
    }
    if info.objects_not_array {
        out.push(Issue::error(
            Rule::PropertyType,
            JsonPath::prop("objects"),
            "`objects` must be an array of STIX objects",
        ));
    }
    let id = h
        .get("id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    for issue in &mut out {
        issue.object_id.clone_from(&id);
    }
    out
}

// ---------------------------------------------------------------------------
// The engine

/// Walks the object's properties (common ones excepted) against the type's
/// table, then the type's required properties, timestamp order, `lang` and
/// the co-constraints of the type.
fn rules(obj: &Doc<'_>, ty: &str, out: &mut Vec<Issue>) {
    let map = obj.as_map();
    let spec = spec::type_spec(ty);
    let own: &'static [Prop] = spec.map_or(&[], |s| s.props);
    let root = Loc::Root;
    let toplevel_ext = has_toplevel_extension(map);
    for (name, v) in map {
        let name = name.as_str();
        if HANDLED.contains(&name) {
            continue;
        }
        let at = root.key(name);
        if v.is_null() {
            err(
                out,
                Rule::PropertyType,
                &at,
                format!("`{name}` is null: STIX has no null values; omit the property instead"),
            );
            continue;
        }
        match name {
            "granular_markings" => granular_markings(obj, v, &at, out),
            "extensions" => extensions(map, ty, v, &at, out),
            _ => {
                if let Some(p) =
                    spec::find_prop(own, name).or_else(|| spec::find_prop(spec::COMMON, name))
                {
                    check_value(v, p.ty, &at, out);
                } else {
                    custom_property(name, v, spec.is_some() && !toplevel_ext, &at, out);
                }
            }
        }
    }
    for p in own {
        if p.required && !map.contains_key(p.name) {
            err(
                out,
                Rule::RequiredProperty,
                &root.key(p.name),
                format!("missing required property `{}` of `{ty}`", p.name),
            );
        }
    }
    for &(t, later, earlier, strict) in spec::TIMESTAMP_ORDER {
        if t == ty {
            order(obj, later, earlier, strict, out);
        }
    }
    if let Some(v) = map.get("lang").and_then(Value::as_str) {
        language_tag(v, &root.key("lang"), "§3.2 `lang`", out);
    }
    type_rules(obj, ty, out);
}

/// Helpers shared by the tests of the validation modules: a valid indicator
/// to patch, and the issues of an object rendered as `rule path`.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::error::Issue;
    use crate::object::Object;
    use serde_json::Value;

    pub(crate) const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","labels":["a"]}"#;

    /// `base` with the members of `patch` set (null removes one).
    pub(crate) fn with(base: &str, patch: Value) -> String {
        let mut v: Value = serde_json::from_str(base).unwrap();
        for (k, x) in patch.as_object().unwrap() {
            if x.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        v.to_string()
    }

    /// The errors of an object, as `rule path`.
    pub(crate) fn errors(json: &str) -> Vec<String> {
        super::validate_object(&Object::parse(json).unwrap())
            .into_iter()
            .filter(Issue::is_error)
            .map(|i| format!("{} {}", i.rule, i.path))
            .collect()
    }

    /// The warnings of an object, as `rule path`.
    pub(crate) fn warnings(json: &str) -> Vec<String> {
        super::validate_object(&Object::parse(json).unwrap())
            .into_iter()
            .filter(|i| !i.is_error())
            .map(|i| format!("{} {}", i.rule, i.path))
            .collect()
    }

    /// Each case `(name, good patch, bad patch, expected)` applied to
    /// [`IND`]: the good patch gives no error, the bad one exactly the error
    /// named (`rule path`).
    pub(crate) fn check_cases(cases: &[(&str, Value, Value, &str)]) {
        for (name, good, bad, expected) in cases {
            let g = errors(&with(IND, good.clone()));
            assert!(g.is_empty(), "{name}: valid case has errors {g:?}");
            let b = errors(&with(IND, bad.clone()));
            assert_eq!(b, vec![expected.to_string()], "{name}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{IND, check_cases, errors, with};
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    /// The rules of the walk itself: required properties, `lang`.
    #[test]
    fn one_valid_and_one_invalid_case_per_engine_rule() {
        check_cases(&[
            (
                "required",
                json!({}),
                json!({"pattern": null}),
                "required-property $.pattern",
            ),
            (
                "lang",
                json!({"lang": "en-US"}),
                json!({"lang": "english!"}),
                "property-type $.lang",
            ),
        ]);
    }

    #[test]
    fn null_values_are_errors() {
        let o = IND.replace("\"labels\":[\"a\"]", "\"labels\":null");
        assert_eq!(errors(&o), vec!["property-type $.labels"]);
        assert!(errors(IND).is_empty());
    }

    #[test]
    fn messages_name_value_and_expectation() {
        let o = with(IND, json!({"confidence": 250}));
        let i = &validate_object(&Object::parse(&o).unwrap())[0];
        assert!(
            i.message.contains("250") && i.message.contains("0..=100"),
            "{}",
            i.message
        );
        assert_eq!(
            i.object_id.as_deref(),
            Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        );
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            "[a-z_:.\\-\\[\\]0-9]{0,12}".prop_map(Value::String),
            Just(json!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")),
            Just(json!("2016-01-01T00:00:00.000Z")),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    const NAMES: &[&str] = &[
        "type",
        "id",
        "created",
        "modified",
        "spec_version",
        "labels",
        "confidence",
        "granular_markings",
        "extensions",
        "external_references",
        "kill_chain_phases",
        "object_refs",
        "hashes",
        "value",
        "values",
        "body_multipart",
        "definition",
        "definition_type",
        "contents",
        "latitude",
        "x_custom_ref",
    ];

    proptest! {
        /// Never panics, whatever the object, and every issue's path starts
        /// at a property the object has (or is the root, or a missing required one).
        #[test]
        fn never_panics_and_paths_are_rooted(
            ty in prop::sample::select(vec!["indicator", "file", "marking-definition", "observed-data", "location", "network-traffic", "email-message", "windows-registry-key", "language-content", "x-custom", "sighting"]),
            props in prop::collection::vec((prop::sample::select(NAMES), arb_json()), 0..8),
        ) {
            let mut m = Map::new();
            m.insert("type".into(), json!(ty));
            for (k, v) in props {
                m.insert(k.to_string(), v);
            }
            let obj = Object::from_map(m);
            for issue in validate_object(&obj) {
                prop_assert!(!issue.message.is_empty());
                let _ = issue.to_string();
            }
        }
    }
}
