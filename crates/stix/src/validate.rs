//! The MUST rules of STIX 2.1, applied to one object at a time.
//!
//! [`validate_object`] returns every [`Issue`] found; an object is valid when
//! none of them is an error. Each issue carries the object id, the JSON path
//! of the property and a message naming the value found and what was expected.

use crate::document::DocumentInfo;
use crate::error::{Issue, JsonPath, Rule};
use crate::id::{is_valid_type_name, parse_identifier};
use crate::object::{Kind, Object, json_type_name};
use crate::timestamp::Timestamp;
use serde_json::Value;

/// Validates one object against the rules of STIX 2.1.
pub fn validate_object(obj: &Object) -> Vec<Issue> {
    let mut out = Vec::new();
    common(obj, &mut out);
    let id = obj.id().map(str::to_owned);
    for issue in &mut out {
        issue.object_id.clone_from(&id);
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
    match h.get("type").and_then(Value::as_str) {
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
    match h.get("id").and_then(Value::as_str) {
        Some(id) => match parse_identifier(id) {
            Ok(p) if p.type_name == "bundle" => {}
            Ok(_) => out.push(Issue::error(
                Rule::Identifier,
                JsonPath::prop("id"),
                format!("bundle id `{id}` must start with `bundle--`"),
            )),
            Err(e) => out.push(Issue::error(Rule::Identifier, JsonPath::prop("id"), e.to_string())),
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
    let id = h.get("id").and_then(Value::as_str).map(str::to_owned);
    for issue in &mut out {
        issue.object_id.clone_from(&id);
    }
    out
}

fn common(obj: &Object, out: &mut Vec<Issue>) {
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => {
            out.push(Issue::error(
                Rule::PropertyType,
                JsonPath::prop("type"),
                format!("`type` must be a string, found {}", json_type_name(other)),
            ));
            return;
        }
        None => {
            out.push(Issue::error(
                Rule::RequiredProperty,
                JsonPath::prop("type"),
                "missing required property `type`",
            ));
            return;
        }
    };
    if !is_valid_type_name(ty) {
        out.push(Issue::error(
            Rule::PropertyType,
            JsonPath::prop("type"),
            format!("`{ty}` is not a valid type name (3-250 of a-z, 0-9 and single hyphens)"),
        ));
    }
    match obj.get("id") {
        Some(Value::String(id)) => match parse_identifier(id) {
            Ok(p) if p.type_name != ty => out.push(Issue::error(
                Rule::Identifier,
                JsonPath::prop("id"),
                format!("id `{id}` must start with `{ty}--`, the object's type"),
            )),
            Ok(_) => {}
            Err(e) => out.push(Issue::error(Rule::Identifier, JsonPath::prop("id"), e.to_string())),
        },
        Some(other) => out.push(Issue::error(
            Rule::PropertyType,
            JsonPath::prop("id"),
            format!("`id` must be a string, found {}", json_type_name(other)),
        )),
        None => out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("id"),
            "missing required property `id`",
        )),
    }
    let kind = obj.kind();
    let needs_spec_version = !matches!(kind, Kind::Sco)
        && !(kind == Kind::Custom && !obj.is_versioned());
    match obj.get("spec_version") {
        Some(Value::String(v)) if v == "2.1" => {}
        Some(Value::String(v)) => out.push(Issue::error(
            Rule::SpecVersion,
            JsonPath::prop("spec_version"),
            format!("`spec_version` must be `2.1`, found `{v}`"),
        )),
        Some(other) => out.push(Issue::error(
            Rule::SpecVersion,
            JsonPath::prop("spec_version"),
            format!("`spec_version` must be the string `2.1`, found {}", json_type_name(other)),
        )),
        None if needs_spec_version => out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("spec_version"),
            "missing required property `spec_version`",
        )),
        None => {}
    }
    let created = timestamp(obj, "created", out);
    let modified = timestamp(obj, "modified", out);
    let needs_created = matches!(kind, Kind::Sdo | Kind::Sro | Kind::Meta);
    let needs_modified = matches!(kind, Kind::Sdo | Kind::Sro) || ty == "language-content";
    if needs_created && obj.get("created").is_none() {
        out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("created"),
            "missing required property `created`",
        ));
    }
    if needs_modified && obj.get("modified").is_none() {
        out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("modified"),
            "missing required property `modified`",
        ));
    }
    if let (Some(c), Some(m)) = (created, modified) {
        if m < c {
            out.push(Issue::error(
                Rule::TimestampOrder,
                JsonPath::prop("modified"),
                format!(
                    "`modified` ({}) must not be earlier than `created` ({})",
                    obj.modified().unwrap_or_default(),
                    obj.created().unwrap_or_default()
                ),
            ));
        }
    }
}

/// Checks a timestamp property when present; returns it when it parses.
pub(crate) fn timestamp(obj: &Object, name: &str, out: &mut Vec<Issue>) -> Option<Timestamp> {
    match obj.get(name)? {
        Value::String(s) => match Timestamp::parse(s) {
            Ok(t) => Some(t),
            Err(e) => {
                out.push(Issue::error(Rule::Timestamp, JsonPath::prop(name), e.to_string()));
                None
            }
        },
        other => {
            out.push(Issue::error(
                Rule::Timestamp,
                JsonPath::prop(name),
                format!("`{name}` must be a timestamp string, found {}", json_type_name(other)),
            ));
            None
        }
    }
}
