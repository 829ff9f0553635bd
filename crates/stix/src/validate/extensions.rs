//! The `extensions` property (§7.3, §11): extension-definition ids,
//! predefined `*-ext` extensions checked against their tables, and
//! toplevel-property extensions.

use super::report::{Loc, err, found, warn};
use super::values::{check_members, check_value};
use crate::dom::{Map, Value};
use crate::error::{Issue, Rule};
use crate::id::{is_valid_type_name, parse_identifier};
use crate::object::{Kind, kind_of_type};
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

pub(super) fn extensions(
    obj: &Map<'_>,
    ty: &str,
    v: &Value<'_>,
    at: &Loc<'_>,
    out: &mut Vec<Issue>,
) {
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
        } else if let Some((_, _, props)) = spec::PREDEFINED_EXTENSIONS
            .iter()
            .find(|(for_ty, n, _)| *n == key && *for_ty == ty)
        {
            if em.is_empty() {
                err(
                    out,
                    Rule::Extension,
                    &eat,
                    format!("extension `{key}` is empty"),
                );
            }
            check_members(em, props, &eat, out);
        } else {
            custom_extension(obj, ty, key, em, &eat, out);
        }
    }
}

/// §11.3: a key of `extensions` that is neither an extension-definition id
/// nor a predefined extension of this type names a custom object extension
/// (deprecated in favour of §7.3). Those exist for cyber-observables only,
/// and their names end with `-ext`.
fn custom_extension(
    obj: &Map<'_>,
    ty: &str,
    key: &str,
    em: &Map<'_>,
    eat: &Loc<'_>,
    out: &mut Vec<Issue>,
) {
    if !is_sco(obj, ty) {
        err(
            out,
            Rule::Extension,
            eat,
            format!(
                "extension key `{key}` is neither an extension-definition id nor a predefined extension of `{ty}`: a custom object extension, which only cyber-observables (SCOs) may have (§11.3); `{ty}` is not an SCO, so define it with an extension-definition (§7.3)"
            ),
        );
        return;
    }
    if !key.ends_with("-ext") || !is_valid_type_name(key) {
        err(
            out,
            Rule::Extension,
            eat,
            format!(
                "custom object extension name `{key}` must be 3-250 of a-z, 0-9 and `-` and end with `-ext` (§11.3)"
            ),
        );
        return;
    }
    if let Some((for_ty, _, _)) = spec::PREDEFINED_EXTENSIONS
        .iter()
        .find(|(_, n, _)| *n == key)
    {
        warn(
            out,
            Rule::Extension,
            eat,
            format!("`{key}` is the predefined extension of `{for_ty}`, not of `{ty}` (§6)"),
        );
    }
    if em.is_empty() {
        err(
            out,
            Rule::Extension,
            eat,
            format!(
                "extension `{key}` is empty: a custom object extension must have at least one property (§11.3)"
            ),
        );
    }
    check_members(em, &[], eat, out);
}

/// Whether the object is a cyber-observable: a type of §6, or a custom type
/// whose extension-definition says `new-sco`, or (with no `new-*`
/// extension) a custom object with neither `created` nor `modified` (§11.2
/// custom objects with either are SDO-like).
fn is_sco(obj: &Map<'_>, ty: &str) -> bool {
    match kind_of_type(ty) {
        Kind::Sco => true,
        Kind::Custom => {
            let new_kind = obj
                .get("extensions")
                .and_then(Value::as_object)
                .and_then(|exts| {
                    exts.values().find_map(|e| {
                        match e.get("extension_type").and_then(Value::as_str) {
                            Some(t @ ("new-sdo" | "new-sco" | "new-sro")) => Some(t),
                            _ => None,
                        }
                    })
                });
            match new_kind {
                Some(t) => t == "new-sco",
                None => !obj.contains_key("created") && !obj.contains_key("modified"),
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_cases, errors};
    use serde_json::json;

    #[test]
    fn one_valid_and_one_invalid_case_per_rule() {
        check_cases(&[
            (
                "extension type",
                json!({"extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 1}}}),
                json!({"extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "other"}}}),
                "vocabulary $.extensions.extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e.extension_type",
            ),
            (
                "custom object extension only on SCOs (§11.3)",
                json!({}),
                json!({"extensions": {"availability": {"availability_impact": 70}}}),
                "extension $.extensions.availability",
            ),
        ]);
    }

    #[test]
    fn custom_object_extensions_on_scos_end_with_ext() {
        let file = r#"{"type":"file","spec_version":"2.1","id":"file--fb0419a8-f09c-57f8-be64-71a80417591c","name":"a.exe","extensions":EXT}"#;
        let ok = file.replace("EXT", r#"{"x-acme-ext":{"rank":5}}"#);
        assert!(errors(&ok).is_empty(), "{:?}", errors(&ok));
        let bad = file.replace("EXT", r#"{"acme":{"rank":5}}"#);
        assert_eq!(errors(&bad), vec!["extension $.extensions.acme"]);
        // A new-sdo custom type is not an SCO: the OASIS incident-core
        // `impact` with an `availability` key.
        let impact = r#"{"type":"impact","spec_version":"2.1","id":"impact--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2023-01-01T00:00:00.000Z","modified":"2023-01-01T00:00:00.000Z","extensions":{"extension-definition--7cc33dd6-f6a1-489b-98ea-522d351d71b9":{"extension_type":"new-sdo"},"availability":{"availability_impact":70}}}"#;
        assert_eq!(errors(impact), vec!["extension $.extensions.availability"]);
    }
}
