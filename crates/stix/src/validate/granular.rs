//! Granular markings (§7.2.3): `marking_ref` xor `lang`, and selectors
//! that must resolve within the object.

use super::report::{Loc, err, found};
use super::types::language_tag;
use super::values::{list, reference};
use crate::CommonProps;
use crate::dom::{Doc, Map, Value};
use crate::error::{Issue, Rule};
use crate::spec::Target;

pub(super) fn granular_markings(obj: &Doc<'_>, v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let own_id = obj.id();
    list(v, at, out, |gm, gat, out| {
        let Some(m) = gm.as_object() else {
            err(
                out,
                Rule::GranularMarking,
                gat,
                format!(
                    "a granular marking must be a JSON object, found {}",
                    found(gm)
                ),
            );
            return;
        };
        match (m.get("marking_ref"), m.get("lang")) {
            (Some(r), None) => {
                let rat = gat.key("marking_ref");
                reference(r, Target::Types(&["marking-definition"]), &rat, out);
                if obj.type_name() == Some("marking-definition") && r.as_str() == own_id {
                    err(out, Rule::GranularMarking, &rat, "a marking definition must not mark itself (no circular references, §7.2.3)".into());
                }
            }
            (None, Some(l)) => match l.as_str() {
                Some(s) => language_tag(s, &gat.key("lang"), "§7.2.3 granular marking `lang`", out),
                None => err(out, Rule::GranularMarking, &gat.key("lang"), format!("`lang` must be an RFC 5646 language tag, found {}", found(l))),
            },
            (Some(_), Some(_)) => err(out, Rule::GranularMarking, gat, "a granular marking must have exactly one of `marking_ref` and `lang`, found both (§7.2.3)".into()),
            (None, None) => err(out, Rule::GranularMarking, gat, "a granular marking must have one of `marking_ref` or `lang` (§7.2.3)".into()),
        }
        let sat = gat.key("selectors");
        match m.get("selectors") {
            None => err(
                out,
                Rule::GranularMarking,
                &sat,
                "a granular marking must have `selectors` (§7.2.3)".into(),
            ),
            Some(sel) => list(sel, &sat, out, |s, at, out| match s.as_str() {
                Some(s) => {
                    if let Err(why) = resolve_selector(obj.as_map(), s) {
                        err(
                            out,
                            Rule::GranularMarking,
                            at,
                            format!(
                                "selector {s:?} does not select anything in this object: {why} (§7.2.3.1)"
                            ),
                        );
                    }
                }
                None => err(
                    out,
                    Rule::GranularMarking,
                    at,
                    format!("a selector must be a string, found {}", found(s)),
                ),
            }),
        }
    });
}

/// §7.2.3.1: a selector is a dotted path of property names and `[n]` list
/// indices (`external_references.[0].url`) that MUST resolve within the object.
pub(crate) fn resolve_selector(obj: &Map<'_>, sel: &str) -> Result<(), String> {
    let mut segs = sel.split('.');
    let first = segs.next().unwrap_or_default();
    let mut cur = obj
        .get(first)
        .ok_or_else(|| format!("there is no property `{first}`"))?;
    for seg in segs {
        if let Some(idx) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let i: usize = idx
                .parse()
                .map_err(|_| format!("`{seg}` is not a list index"))?;
            let a = cur
                .as_array()
                .ok_or_else(|| format!("`[{i}]` indexes something that is not a list"))?;
            cur = a
                .get(i)
                .ok_or_else(|| format!("index {i} is past the end of a list of {}", a.len()))?;
        } else {
            let m = cur.as_object().ok_or_else(|| {
                format!("`{seg}` names a member of something that is not an object")
            })?;
            cur = m
                .get(seg)
                .ok_or_else(|| format!("there is no property `{seg}`"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::check_cases;
    use serde_json::json;

    #[test]
    fn one_valid_and_one_invalid_case_per_rule() {
        check_cases(&[
            (
                "granular selector",
                json!({"granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["labels.[0]"]}]}),
                json!({"granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["labels.[1]"]}]}),
                "granular-marking $.granular_markings[0].selectors[0]",
            ),
            (
                "granular ref xor lang",
                json!({"granular_markings": [{"lang": "de", "selectors": ["pattern"]}]}),
                json!({"granular_markings": [{"lang": "de", "marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["pattern"]}]}),
                "granular-marking $.granular_markings[0]",
            ),
        ]);
    }
}
