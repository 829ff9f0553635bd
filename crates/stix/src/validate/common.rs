//! The common properties of §3.2 (`type`, `id`, `spec_version`, `created`,
//! `modified`) and the order of a type's timestamp properties.

use super::report::found;
use crate::CommonProps;
use crate::dom::{Doc, Value};
use crate::error::{Issue, JsonPath, Rule};
use crate::id::{is_valid_type_name, parse_identifier};
use crate::object::Kind;
use crate::timestamp::Timestamp;

/// Properties that [`common`] checks, or that have rules of their own.
pub(super) const HANDLED: &[&str] = &["type", "id", "spec_version", "created", "modified"];

pub(super) fn common(obj: &Doc<'_>, out: &mut Vec<Issue>) {
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => {
            out.push(Issue::error(
                Rule::PropertyType,
                JsonPath::prop("type"),
                format!("`type` must be a string, found {}", found(other)),
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
    } else if ty == "action" {
        // §3.1: the type name `action` is reserved.
        out.push(Issue::error(
            Rule::Forbidden,
            JsonPath::prop("type"),
            "the type name `action` is reserved (§3.1) and must not be used".to_owned(),
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
            Err(e) => out.push(Issue::error(
                Rule::Identifier,
                JsonPath::prop("id"),
                e.to_string(),
            )),
        },
        Some(other) => out.push(Issue::error(
            Rule::PropertyType,
            JsonPath::prop("id"),
            format!("`id` must be a string, found {}", found(other)),
        )),
        None => out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("id"),
            "missing required property `id`",
        )),
    }
    let kind = obj.kind();
    let needs_spec_version =
        !matches!(kind, Kind::Sco) && (kind != Kind::Custom || obj.is_versioned());
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
            format!(
                "`spec_version` must be the string `2.1`, found {}",
                found(other)
            ),
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
    // §11.2: a custom object with either timestamp is SDO-like and needs both;
    // one with neither is a custom SCO (§11.2, new-sco extensions).
    let custom_sdo =
        kind == Kind::Custom && (obj.get("created").is_some() || obj.get("modified").is_some());
    let needs_created = matches!(kind, Kind::Sdo | Kind::Sro | Kind::Meta) || custom_sdo;
    let needs_modified = matches!(kind, Kind::Sdo | Kind::Sro)
        || custom_sdo
        || ty == "language-content"
        || ty == "extension-definition";
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
    // §3.2: "The minimum precision MUST be milliseconds" for created and modified.
    for (name, t) in [("created", created), ("modified", modified)] {
        if let Some(t) = t
            && t.frac_digits < 3
        {
            out.push(Issue::error(
                    Rule::Timestamp,
                    JsonPath::prop(name),
                    format!(
                        "`{name}` ({}) must be precise to at least the millisecond (3 fractional digits, §3.2)",
                        obj.get_str(name).unwrap_or_default()
                    ),
                ));
        }
    }
    if let (Some(c), Some(m)) = (created, modified)
        && m < c
    {
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

/// Checks a timestamp property when present; returns it when it parses.
pub(crate) fn timestamp(obj: &Doc<'_>, name: &str, out: &mut Vec<Issue>) -> Option<Timestamp> {
    match obj.get(name)? {
        Value::String(s) => match Timestamp::parse(s) {
            Ok(t) => Some(t),
            Err(e) => {
                out.push(Issue::error(
                    Rule::Timestamp,
                    JsonPath::prop(name),
                    e.to_string(),
                ));
                None
            }
        },
        other => {
            out.push(Issue::error(
                Rule::Timestamp,
                JsonPath::prop(name),
                format!(
                    "`{name}` must be a timestamp string, found {}",
                    found(other)
                ),
            ));
            None
        }
    }
}

/// §3.2 and the per-type tables: `later` must not be earlier than (when
/// `strict`, must be later than) `earlier`, when both parse.
pub(super) fn order(obj: &Doc<'_>, later: &str, earlier: &str, strict: bool, out: &mut Vec<Issue>) {
    let (Some(l), Some(e)) = (obj.get_str(later), obj.get_str(earlier)) else {
        return;
    };
    let (Ok(lt), Ok(et)) = (Timestamp::parse(l), Timestamp::parse(e)) else {
        return;
    };
    let bad = if strict { lt <= et } else { lt < et };
    if bad {
        let rel = if strict {
            "later than"
        } else {
            "later than or equal to"
        };
        out.push(Issue::error(
            Rule::TimestampOrder,
            JsonPath::prop(later),
            format!("`{later}` ({l}) must be {rel} `{earlier}` ({e})"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::check_cases;
    use serde_json::json;

    #[test]
    fn one_valid_and_one_invalid_case_per_rule() {
        check_cases(&[
            (
                "created millis",
                json!({"created": "2016-04-06T20:03:48.000Z"}),
                json!({"created": "2016-04-06T20:03:48Z"}),
                "timestamp $.created",
            ),
            (
                "valid_until later",
                json!({"valid_until": "2016-01-01T00:00:01Z"}),
                json!({"valid_until": "2016-01-01T00:00:00Z"}),
                "timestamp-order $.valid_until",
            ),
        ]);
    }
}
