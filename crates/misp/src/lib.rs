//! MISP event JSON → STIX 2.1 objects, with no I/O and no clock.
//!
//! The mapping follows MISP's own `misp-stix` library (`MISPtoSTIX21Parser`)
//! where it can; every deliberate difference is listed in [`DIFFERENCES`]
//! (and in the README's "Import from MISP").
//!
//! - an IDS-flagged (`to_ids`) attribute becomes an `indicator--<attribute
//!   uuid>` with a STIX pattern (a composite type such as `filename|sha256`,
//!   `ip-dst|port` or `domain|ip` is one pattern); `snort`, `suricata`,
//!   `yara` and `sigma` become indicators with that `pattern_type`;
//! - any other observable attribute becomes `observed-data--<attribute uuid>`
//!   with its cyber-observables (UUIDv5 ids, §2.9);
//! - a MISP object of a known template (`file`, `domain-ip`, `url`,
//!   `ip-port`, `email`, `registry-key`) becomes one indicator (any of its
//!   attributes IDS-flagged) or one observed-data; an object of any other
//!   template becomes a `grouping--<object uuid>` of its attributes, each
//!   converted as a standalone attribute;
//! - object references become `relationship`s, sightings (type 0) become
//!   `sighting--<sighting uuid>`;
//! - the event becomes `report--<event uuid>` referring to everything;
//! - TLP tags (1.0 and 2.0) become TLP 2.0 marking refs, other tags and PAP
//!   labels; ATT&CK galaxy clusters external references (and, through the
//!   caller's [`AttackLookup`], refs to the imported `attack-pattern`).
//!
//! Ids are deterministic and `created`/`modified` come from MISP's
//! timestamps, so converting the same event twice gives the same objects
//! and a newer attribute or event timestamp gives a new STIX version. Every
//! object made from a MISP element carries an `external_references` entry
//! `{"source_name": "misp", "external_id": "<MISP uuid>"}`.

mod convert;
mod json;
mod types;
pub mod values;

pub use convert::{AttackLookup, NoAttack, convert_event, technique_id, tlp_marking};
pub use types::MISP_TYPES;

use serde_json::Value;

/// The deliberate differences from `misp-stix` 2026.10.12, one line each
/// (the README repeats them).
pub const DIFFERENCES: &[&str] = &[
    "An IDS-flagged attribute becomes an indicator only; misp-stix also emits an observed-data and a based-on relationship for it (the observable is in the pattern).",
    "Cyber-observables get UUIDv5 ids from their ID contributing properties (STIX §2.9); misp-stix reuses the attribute uuid (`file--<attribute uuid>`).",
    "An IP attribute's pattern is `[ipv4-addr:value = '…']` (or ipv6), which Accord's matcher indexes; misp-stix writes `network-traffic:dst_ref.value` (the src/dst direction stays in the `misp:type` label).",
    "email-src / email-dst patterns are `[email-addr:value = '…']`; misp-stix uses `email-message:from_ref` / `to_refs`.",
    "snort/suricata/yara/sigma patterns are the rule text itself; misp-stix wraps it in `[ ]`.",
    "Attributes with no observable (text, comment, other, pdb, …) become a `note` on the report; misp-stix emits custom `x-misp-attribute` objects.",
    "Objects of templates other than file, domain-ip, url, ip-port, email, registry-key become a `grouping` of their attributes converted one by one; misp-stix has a mapping per template and custom `x-misp-object`s.",
    "Galaxy clusters other than ATT&CK techniques become labels (their tag name); misp-stix emits threat-actor, malware, tool … SDOs.",
    "Sightings of type 1 (false positive) and 2 (expiration) are reported and skipped; misp-stix turns type 1 into an opinion.",
    "`created` is the event's `date` (midnight UTC) when that is not after the MISP timestamp, so it stays the same across versions; misp-stix sets created = modified = timestamp.",
    "A value that is not what its type says (a bad IP, a hash of the wrong length, a port out of range) is reported and skipped, never exported as a custom object.",
    "The event's TLP marks every object made from it unless the attribute or object has its own TLP tag; misp-stix marks an object only with the attribute's own tags.",
    "An unpublished event is a `report` too (`published` = its timestamp); misp-stix makes a `grouping`.",
    "A registry key's abbreviated hive is written out (`HKLM\\…` → `HKEY_LOCAL_MACHINE\\…`, STIX §6.17); misp-stix keeps `HKLM`.",
    "`port` and `imphash` attributes have no valid cyber-observable alone (a network-traffic needs an address, a file a name or hashes): an indicator when IDS-flagged, else a note.",
    "Organisation identities (`Orgc`, sightings' `Organisation`) are `identity--<org uuid>` with a fixed `created` (2000-01-01), so every event names the same version.",
    "Only TLP tags become markings (TLP 2.0 ids, `tlp:white` → CLEAR); misp-stix uses TLP 1.0 ids for 1.0 tags.",
];

/// Bounds on what one input may hold; input may be hostile.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Events in one document.
    pub max_events: usize,
    /// Attributes in one event (object attributes included); the rest are
    /// reported and skipped.
    pub max_attributes: usize,
    /// Objects in one event.
    pub max_objects: usize,
    /// Bytes of one attribute value (a YARA rule may be long); below the
    /// seam's 1 MiB string limit with room for a pattern around it.
    pub max_value_bytes: usize,
    /// Bytes of any other string kept (comments, tags, names).
    pub max_text_bytes: usize,
    /// Tags per event or attribute.
    pub max_tags: usize,
    /// Sightings per attribute.
    pub max_sightings: usize,
    /// `object_refs` of one report: an event that refers to more is split
    /// into parts (`report--<event uuid>` first, then
    /// `report--<UUIDv5(event uuid, part)>`), so each stays within the
    /// seam's JSON limits (100,000 items, 16 MiB by default).
    pub max_report_refs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: 1_000_000,
            max_attributes: 1_000_000,
            max_objects: 200_000,
            max_value_bytes: 512 << 10,
            max_text_bytes: 64 << 10,
            max_tags: 256,
            max_sightings: 10_000,
            max_report_refs: 50_000,
        }
    }
}

/// A document that is not MISP event JSON at all.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but no MISP event in it.
    #[error("not a MISP event: {0}")]
    NotMisp(String),
    /// More events than [`Limits::max_events`].
    #[error("{found} events, more than the limit of {limit}")]
    TooManyEvents {
        /// Events in the document.
        found: usize,
        /// The limit.
        limit: usize,
    },
}

/// What was wrong with one part of an event; the rest of the event is
/// converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The event's uuid (as written, when it is not a UUID).
    pub event: String,
    /// The attribute's (or object's, or sighting's) uuid, when the problem is
    /// in one.
    pub attribute: Option<String>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// The kinds of [`Problem`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    /// A type MISP does not define.
    #[error("unknown attribute type `{0}`")]
    UnknownType(String),
    /// A uuid that is not one.
    #[error("broken uuid `{0}`")]
    BadUuid(String),
    /// A value that is not what its type says.
    #[error("value `{value}` is not a valid {ty}: {why}")]
    BadValue {
        /// The MISP type.
        ty: String,
        /// The value (cut to 80 characters).
        value: String,
        /// Why.
        why: String,
    },
    /// A field missing or of the wrong JSON type.
    #[error("{0}")]
    Malformed(String),
    /// A bound of [`Limits`] passed.
    #[error("{0}")]
    Limit(String),
    /// Something MISP holds that this import does not convert (named).
    #[error("not converted: {0}")]
    Unsupported(String),
    /// An object reference whose target is not in the event.
    #[error("reference to `{0}`, which is not in the event (or was skipped)")]
    DanglingReference(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event {}", self.event)?;
        if let Some(a) = &self.attribute {
            write!(f, ", attribute {a}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// One event converted.
#[derive(Debug, Default)]
pub struct EventConversion {
    /// The event's uuid (as written).
    pub uuid: String,
    /// Attributes read (object attributes included).
    pub attributes: usize,
    /// The STIX objects as JSON text (one object each, compact, no line
    /// break), the report last.
    pub objects: Vec<String>,
    /// What was reported and skipped.
    pub problems: Vec<Problem>,
}

/// Splits a document into its MISP events: `{"Event": …}`, a REST
/// `{"response": [{"Event": …}, …]}`, a bare list of either, or a bare
/// event object (with `Attribute`, `Object` or `info`).
pub fn events(doc: Value, limits: &Limits) -> Result<Vec<Value>, DocumentError> {
    let items = match doc {
        Value::Array(a) => a,
        Value::Object(mut m) => {
            if let Some(r) = m.remove("response") {
                match r {
                    Value::Array(a) => a,
                    other => vec![other],
                }
            } else {
                vec![Value::Object(m)]
            }
        }
        other => {
            return Err(DocumentError::NotMisp(format!(
                "a JSON {}, not an object or a list",
                json_kind(&other)
            )));
        }
    };
    if items.len() > limits.max_events {
        return Err(DocumentError::TooManyEvents {
            found: items.len(),
            limit: limits.max_events,
        });
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let ev = match item {
            Value::Object(mut m) => match m.remove("Event") {
                Some(e @ Value::Object(_)) => e,
                Some(other) => {
                    return Err(DocumentError::NotMisp(format!(
                        "item {i}: `Event` is a JSON {}",
                        json_kind(&other)
                    )));
                }
                None => Value::Object(m),
            },
            other => {
                return Err(DocumentError::NotMisp(format!(
                    "item {i} is a JSON {}",
                    json_kind(&other)
                )));
            }
        };
        let looks = ev.get("Attribute").is_some()
            || ev.get("Object").is_some()
            || (ev.get("info").is_some() && ev.get("uuid").is_some());
        if !looks {
            let hint = if ev.get("type").and_then(Value::as_str) == Some("bundle") {
                " (it is a STIX bundle; use `accord ingest` for STIX 2.1)".to_owned()
            } else {
                String::new()
            };
            return Err(DocumentError::NotMisp(format!(
                "item {i} has none of `Attribute`, `Object`, `info`+`uuid`{hint}"
            )));
        }
        out.push(ev);
    }
    if out.is_empty() {
        return Err(DocumentError::NotMisp("no events".into()));
    }
    Ok(out)
}

/// Parses `bytes` and splits it with [`events`].
pub fn parse_document(bytes: &[u8], limits: &Limits) -> Result<Vec<Value>, DocumentError> {
    let doc: Value = serde_json::from_slice(bytes)?;
    events(doc, limits)
}

/// The md5 hashes MISP's feed `hashes.csv` lists for an event: one per value
/// of each attribute (object attributes included), a composite value
/// (`a|b`) and `malware-sample` giving one per part (PyMISP's
/// `MISPAttribute.hash_values`). Lower-case hex.
pub fn feed_hashes(event: &Value) -> Vec<String> {
    use md5::Digest;
    let mut out = Vec::new();
    let mut one = |a: &Value| {
        let ty = a.get("type").and_then(Value::as_str).unwrap_or("");
        let value = match a.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => return,
            Some(other) => other.to_string(),
        };
        let parts: Vec<&str> = if ty.contains('|') || ty == "malware-sample" {
            value.split('|').collect()
        } else {
            vec![value.as_str()]
        };
        for p in parts {
            let d = md5::Md5::digest(p.as_bytes());
            let mut hex = String::with_capacity(32);
            for b in d {
                hex.push(char::from(HEX[usize::from(b >> 4)]));
                hex.push(char::from(HEX[usize::from(b & 15)]));
            }
            out.push(hex);
        }
    };
    if let Some(Value::Array(attrs)) = event.get("Attribute") {
        attrs.iter().for_each(&mut one);
    }
    if let Some(Value::Array(objs)) = event.get("Object") {
        for o in objs {
            if let Some(Value::Array(attrs)) = o.get("Attribute") {
                attrs.iter().for_each(&mut one);
            }
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl EventConversion {
    /// [`EventConversion::objects`] parsed (for tests and checks; the
    /// text is what gets stored).
    pub fn values(&self) -> Result<Vec<Value>, serde_json::Error> {
        self.objects
            .iter()
            .map(|o| serde_json::from_str(o))
            .collect()
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_every_shape() {
        let l = Limits::default();
        let ev =
            json!({"uuid": "5758ebf5-c898-48e6-9fe9-5665c0a83866", "info": "x", "Attribute": []});
        assert_eq!(events(json!({"Event": ev.clone()}), &l).unwrap().len(), 1);
        assert_eq!(
            events(
                json!({"response": [{"Event": ev.clone()}, {"Event": ev.clone()}]}),
                &l
            )
            .unwrap()
            .len(),
            2
        );
        assert_eq!(
            events(json!([ev.clone(), {"Event": ev.clone()}]), &l)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(events(ev, &l).unwrap().len(), 1);
    }

    #[test]
    fn a_stix_bundle_is_not_misp() {
        let e = events(
            json!({"type": "bundle", "id": "bundle--811070d5-8e95-43c1-8af3-0b5e799dc15c", "objects": []}),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("STIX bundle"), "{e}");
        assert!(events(json!(7), &Limits::default()).is_err());
        assert!(events(json!([]), &Limits::default()).is_err());
    }

    #[test]
    fn feed_hashes_split_composites() {
        let ev = json!({"Attribute": [
            {"type": "ip-dst|port", "value": "1.2.3.4|80"},
            {"type": "domain", "value": "a.example"}
        ]});
        let h = feed_hashes(&ev);
        assert_eq!(h.len(), 3);
        // md5("80")
        assert_eq!(h[1], "f033ab37c30201f73f142449d037028d");
    }
}
