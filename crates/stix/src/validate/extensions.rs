//! The `extensions` property (§7.3, §11): extension-definition ids,
//! predefined `*-ext` extensions checked against their tables, and
//! toplevel-property extensions.

use super::report::{Loc, err, found, warn};
use super::values::{check_members, check_value};
use crate::dom::{Map, Value};
use crate::error::{Issue, Rule};
use crate::id::{is_valid_type_name, parse_identifier};
use crate::spec::{self, Ty};

pub(super) fn has_toplevel_extension(map: &Map<'_>) -> bool {
    map.get("extensions")
        .and_then(Value::as_object)
        .is_some_and(|exts| {
            exts.values().any(|e| {
                e.get("extension_type").and_then(Value::as_str)
                    == Some("toplevel-property-extension")
            })
        })
}

pub(super) fn extensions(ty: &str, v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(exts) = v.as_object() else {
        err(
            out,
            Rule::Extension,
            at,
            format!("`extensions` must be a dictionary, found {}", found(v)),
        );
        return;
    };
    if exts.is_empty() {
        err(
            out,
            Rule::Extension,
            at,
            "`extensions` is empty: it must have at least one entry (§7.3)".into(),
        );
    }
    for (key, e) in exts {
        let eat = at.key(key);
        let Some(em) = e.as_object() else {
            err(
                out,
                Rule::Extension,
                &eat,
                format!("an extension must be a JSON object, found {}", found(e)),
            );
            continue;
        };
        if key.starts_with("extension-definition--") {
            if let Err(er) = parse_identifier(key) {
                err(out, Rule::Extension, &eat, format!("extension key: {er}"));
            }
            let tat = eat.key("extension_type");
            match em.get("extension_type") {
                Some(t) => check_value(t, Ty::Enum(spec::EXTENSION_TYPES), &tat, out),
                None => err(
                    out,
                    Rule::Extension,
                    &tat,
                    format!("extension {key} must say its `extension_type` (§7.3)"),
                ),
            }
            check_members(em, &[], &eat, out);
        } else if let Some(base) = key.strip_suffix("-ext") {
            if em.is_empty() {
                err(
                    out,
                    Rule::Extension,
                    &eat,
                    format!("extension `{key}` is empty"),
                );
            }
            match spec::PREDEFINED_EXTENSIONS
                .iter()
                .find(|(_, n, _)| n == key)
            {
                Some((for_ty, _, props)) if *for_ty == ty => check_members(em, props, &eat, out),
                Some((for_ty, _, _)) => warn(
                    out,
                    Rule::Extension,
                    &eat,
                    format!(
                        "`{key}` is the predefined extension of `{for_ty}`, not of `{ty}` (§6)"
                    ),
                ),
                None if !is_valid_type_name(base) => err(
                    out,
                    Rule::Extension,
                    &eat,
                    format!("extension name `{key}` is not a valid name (§7.3)"),
                ),
                None => check_members(em, &[], &eat, out),
            }
        } else {
            // §3.2 `extensions`: "Dictionary keys SHOULD be the id of a STIX
            // Extension object or the name of a predefined object extension".
            warn(
                out,
                Rule::Extension,
                &eat,
                format!(
                    "extension key `{key}` should be an extension-definition id or a predefined `*-ext` name (§3.2)"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::check_cases;
    use serde_json::json;

    #[test]
    fn one_valid_and_one_invalid_case_per_rule() {
        check_cases(&[(
            "extension type",
            json!({"extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 1}}}),
            json!({"extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "other"}}}),
            "vocabulary $.extensions.extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e.extension_type",
        )]);
    }
}
