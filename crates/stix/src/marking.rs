//! Marking definitions (§7.2): statement and TLP markings, and the fixed
//! content of the standard TLP marking definitions.
//!
//! §7.2.1.4: "The following standard marking definitions MUST be used to
//! reference or represent TLP markings. Other instances of tlp-marking MUST
//! NOT be used or created." The same holds for the TLP 2.0 marking
//! definitions the OASIS CTI TC published with the `tlp_2_0` extension
//! (extension-definition--60a3c5c5-…, cti-stix-common-objects): an object
//! with one of those ids, or carrying that extension, must be the standard one.

use crate::CommonProps;
use crate::dom::{Doc, Value};
use crate::error::{Issue, JsonPath, Rule};
use crate::spec::{TLP1, TLP1_CREATED, TLP2, TLP2_CREATED, TLP2_EXTENSION};

/// The properties a standard TLP 1.0 marking definition has (§7.2.1.4).
const TLP1_PROPERTIES: &[&str] = &[
    "type",
    "spec_version",
    "id",
    "created",
    "definition_type",
    "name",
    "definition",
];

fn tlp(out: &mut Vec<Issue>, path: JsonPath, msg: String) {
    out.push(Issue::error(Rule::Tlp, path, msg));
}

pub(crate) fn marking_definition(obj: &Doc<'_>, out: &mut Vec<Issue>) {
    let m = obj.as_map();
    let id = obj.id().unwrap_or_default();
    let def_type = m.get("definition_type").and_then(Value::as_str);
    // §7.2: definition_type and definition, unless the marking is defined by an extension.
    if !m.contains_key("extensions") {
        for name in ["definition_type", "definition"] {
            if !m.contains_key(name) {
                out.push(Issue::error(
                    Rule::RequiredProperty,
                    JsonPath::prop(name),
                    format!("a marking definition without `extensions` must have `{name}` (§7.2)"),
                ));
            }
        }
    }
    match def_type {
        Some("statement") => {
            // §7.2.1.3: {"statement": "..."}
            let ok = m
                .get("definition")
                .and_then(|d| d.get("statement"))
                .is_some_and(Value::is_string);
            if !ok {
                out.push(Issue::error(
                    Rule::PropertyType,
                    JsonPath::prop("definition"),
                    "a statement marking's `definition` must be {\"statement\": \"...\"} (§7.2.1.3)".to_owned(),
                ));
            }
        }
        Some("tlp") => {}
        Some(other) => out.push(Issue::warning(
            Rule::OpenVocabulary,
            JsonPath::prop("definition_type"),
            format!("`definition_type` {other:?} is neither `statement` nor `tlp` (§7.2.1)"),
        )),
        None => {}
    }
    let tlp1 = TLP1.iter().find(|(tid, _, _)| *tid == id);
    if def_type == Some("tlp") || tlp1.is_some() {
        match tlp1 {
            None => tlp(
                out,
                JsonPath::prop("id"),
                format!(
                    "`{id}` is not one of the four standard TLP marking definitions; other TLP marking definitions must not be created (§7.2.1.4)"
                ),
            ),
            Some((_, colour, name)) => {
                let want_def = serde_json::json!({ "tlp": colour });
                let checks: [(&str, serde_json::Value); 4] = [
                    ("definition_type", "tlp".into()),
                    ("name", (*name).into()),
                    ("created", TLP1_CREATED.into()),
                    ("definition", want_def),
                ];
                for (prop, want) in checks {
                    if m.get(prop).map(Value::to_serde) != Some(want.clone()) {
                        tlp(
                            out,
                            JsonPath::prop(prop),
                            format!(
                                "the standard {name} marking definition has `{prop}` {want}, found {} (§7.2.1.4)",
                                m.get(prop).map_or("nothing".to_owned(), Value::to_string)
                            ),
                        );
                    }
                }
                for k in m.keys() {
                    if !TLP1_PROPERTIES.contains(&k.as_str()) {
                        tlp(
                            out,
                            JsonPath::prop(k),
                            format!(
                                "the standard {name} marking definition has no `{k}` (§7.2.1.4)"
                            ),
                        );
                    }
                }
            }
        }
    }
    let tlp2_ext = m.get("extensions").and_then(|e| e.get(TLP2_EXTENSION));
    let tlp2 = TLP2.iter().find(|(tid, _, _)| *tid == id);
    if tlp2_ext.is_some() || tlp2.is_some() {
        let ext_path = JsonPath::prop("extensions").key(TLP2_EXTENSION);
        match tlp2 {
            None => tlp(
                out,
                JsonPath::prop("id"),
                format!(
                    "`{id}` carries the TLP 2.0 extension but is not one of the five standard TLP 2.0 marking definitions"
                ),
            ),
            Some((_, level, name)) => {
                let got = tlp2_ext
                    .and_then(|e| e.get("tlp_2_0"))
                    .and_then(Value::as_str);
                if got != Some(level) {
                    tlp(
                        out,
                        ext_path.key("tlp_2_0"),
                        format!(
                            "the standard {name} marking definition has `tlp_2_0` {level:?}, found {got:?}"
                        ),
                    );
                }
                if m.get("name").and_then(Value::as_str) != Some(name) {
                    tlp(
                        out,
                        JsonPath::prop("name"),
                        format!(
                            "the standard {name} marking definition has `name` {name:?}, found {:?}",
                            m.get("name")
                        ),
                    );
                }
                if m.get("created").and_then(Value::as_str) != Some(TLP2_CREATED) {
                    tlp(
                        out,
                        JsonPath::prop("created"),
                        format!(
                            "the standard {name} marking definition has `created` {TLP2_CREATED:?}, found {:?}",
                            m.get("created")
                        ),
                    );
                }
            }
        }
    }
    // §7.2: object_marking_refs must not point at the marking definition itself.
    if let Some(Value::Array(refs)) = m.get("object_marking_refs") {
        for (i, r) in refs.iter().enumerate() {
            if r.as_str() == Some(id) {
                out.push(Issue::error(
                    Rule::Reference,
                    JsonPath::prop("object_marking_refs").index(i),
                    "a marking definition must not mark itself (no circular references, §7.2)"
                        .to_owned(),
                ));
            }
        }
    }
}
