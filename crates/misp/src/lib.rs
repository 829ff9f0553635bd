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
mod model;
mod types;
pub mod values;

pub use convert::{AttackLookup, NoAttack, convert_event, technique_id, tlp_marking};
pub use model::Event;
pub use types::MISP_TYPES;

use model::{Document, Slot};
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
fn events<'a>(doc: Document<'a>, limits: &Limits) -> Result<Vec<Event<'a>>, DocumentError> {
    let items = match doc {
        Document::List(a) => a,
        Document::Object(_, Some(r)) => match *r {
            Document::List(a) => a,
            Document::Object(item, _) => vec![Slot::Object(*item)],
            Document::Other(kind) => vec![Slot::Other(kind)],
        },
        Document::Object(item, None) => vec![Slot::Object(*item)],
        Document::Other(kind) => {
            return Err(DocumentError::NotMisp(format!(
                "a JSON {kind}, not an object or a list"
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
            Slot::Object(item) => match item.wrapped {
                Some(Slot::Object(e)) => e,
                Some(Slot::Other(kind)) => {
                    return Err(DocumentError::NotMisp(format!(
                        "item {i}: `Event` is a JSON {kind}"
                    )));
                }
                None => item.event,
            },
            Slot::Other(kind) => {
                return Err(DocumentError::NotMisp(format!("item {i} is a JSON {kind}")));
            }
        };
        let looks =
            ev.has_attributes || ev.has_objects || (ev.info.is_present() && ev.uuid.is_present());
        if !looks {
            let hint = if ev.ty.as_str() == Some("bundle") {
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

/// Parses `bytes` into its MISP events (see [`Event`] for the shapes a
/// document may have); the events borrow their strings from `bytes`.
pub fn parse_document<'a>(
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<Vec<Event<'a>>, DocumentError> {
    let doc: Document<'a> = serde_json::from_slice(bytes)?;
    events(doc, limits)
}

/// The md5 hashes MISP's feed `hashes.csv` lists for an event: one per value
/// of each attribute (object attributes included), a composite value
/// (`a|b`) and `malware-sample` giving one per part (PyMISP's
/// `MISPAttribute.hash_values`). Lower-case hex.
pub fn feed_hashes(event: &Event<'_>) -> Vec<String> {
    use md5::Digest;
    let mut out = Vec::new();
    let mut one = |a: &model::Attribute<'_>| {
        let ty = a.ty.as_str().unwrap_or("");
        let Some(value) = a.value.display_text() else {
            return;
        };
        let parts: Vec<&str> = if ty.contains('|') || ty == "malware-sample" {
            value.split('|').collect()
        } else {
            vec![&value]
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
    event.attributes.iter().for_each(&mut one);
    for o in &event.objects {
        o.attributes.iter().for_each(&mut one);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn split(v: Value) -> Result<usize, DocumentError> {
        parse_document(v.to_string().as_bytes(), &Limits::default()).map(|e| e.len())
    }

    #[test]
    fn splits_every_shape() {
        let ev =
            json!({"uuid": "5758ebf5-c898-48e6-9fe9-5665c0a83866", "info": "x", "Attribute": []});
        assert_eq!(split(json!({"Event": ev.clone()})).unwrap(), 1);
        assert_eq!(
            split(json!({"response": [{"Event": ev.clone()}, {"Event": ev.clone()}]})).unwrap(),
            2
        );
        assert_eq!(
            split(json!({"response": {"Event": ev.clone()}})).unwrap(),
            1
        );
        assert_eq!(
            split(json!([ev.clone(), {"Event": ev.clone()}])).unwrap(),
            2
        );
        assert_eq!(split(ev).unwrap(), 1);
    }

    #[test]
    fn a_stix_bundle_is_not_misp() {
        let e = split(
            json!({"type": "bundle", "id": "bundle--811070d5-8e95-43c1-8af3-0b5e799dc15c", "objects": []}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("STIX bundle"), "{e}");
        assert!(split(json!(7)).is_err());
        assert!(split(json!([])).is_err());
    }

    /// Every document error is the one splitting a `Value` gave (recorded
    /// when the typed parse replaced that walk).
    #[test]
    fn document_errors_are_the_values_ones() {
        let ev = r#"{"uuid": "5758ebf5-c898-48e6-9fe9-5665c0a83866", "info": "x"}"#;
        let docs = [
            "7".to_owned(),
            "1.5e3".to_owned(),
            "\"x\"".to_owned(),
            "null".to_owned(),
            "true".to_owned(),
            "[]".to_owned(),
            "{}".to_owned(),
            "[1]".to_owned(),
            "[[]]".to_owned(),
            "[null]".to_owned(),
            r#"{"response": 3}"#.to_owned(),
            r#"{"response": []}"#.to_owned(),
            r#"{"response": {"response": [1]}}"#.to_owned(),
            r#"{"Event": 3}"#.to_owned(),
            r#"{"Event": [1]}"#.to_owned(),
            r#"{"Event": null}"#.to_owned(),
            r#"[{"Event": "x"}]"#.to_owned(),
            r#"{"Attribute": null}"#.to_owned(),
            r#"{"Object": 5}"#.to_owned(),
            r#"{"info": null, "uuid": 1}"#.to_owned(),
            r#"{"info": null}"#.to_owned(),
            r#"{"type": "bundle"}"#.to_owned(),
            r#"{"\u0074ype": "bun\u0064le"}"#.to_owned(),
            r#"{"Event": {"type": "bundle"}, "Attribute": []}"#.to_owned(),
            format!(r#"{{"Event": {ev}, "Event": 1}}"#),
            format!(r#"{{"Event": 1, "Event": {ev}}}"#),
            format!("[{ev}, 1]"),
            format!(r#"{{"response": [{ev}, {{"Event": {ev}}}, []]}}"#),
            format!("[{ev}, {ev}, {ev}]"),
            "[1, 2".to_owned(),
            "{\"a\": \"\\ud800\"}".to_owned(),
            format!("{}1{}", "[".repeat(200), "]".repeat(200)),
            format!(
                r#"{{"uuid": "u", "info": "x", "deep": {}1{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
            r#"{"uuid": "u", "info": "x", "n": 1e999}"#.to_owned(),
        ];
        let want = [
            "Err(NotMisp(\"a JSON number, not an object or a list\"))",
            "Err(NotMisp(\"a JSON number, not an object or a list\"))",
            "Err(NotMisp(\"a JSON string, not an object or a list\"))",
            "Err(NotMisp(\"a JSON null, not an object or a list\"))",
            "Err(NotMisp(\"a JSON boolean, not an object or a list\"))",
            "Err(NotMisp(\"no events\"))",
            "Err(NotMisp(\"item 0 has none of `Attribute`, `Object`, `info`+`uuid`\"))",
            "Err(NotMisp(\"item 0 is a JSON number\"))",
            "Err(NotMisp(\"item 0 is a JSON list\"))",
            "Err(NotMisp(\"item 0 is a JSON null\"))",
            "Err(NotMisp(\"item 0 is a JSON number\"))",
            "Err(NotMisp(\"no events\"))",
            "Err(NotMisp(\"item 0 has none of `Attribute`, `Object`, `info`+`uuid`\"))",
            "Err(NotMisp(\"item 0: `Event` is a JSON number\"))",
            "Err(NotMisp(\"item 0: `Event` is a JSON list\"))",
            "Err(NotMisp(\"item 0: `Event` is a JSON null\"))",
            "Err(NotMisp(\"item 0: `Event` is a JSON string\"))",
            "Ok(1)",
            "Ok(1)",
            "Ok(1)",
            "Err(NotMisp(\"item 0 has none of `Attribute`, `Object`, `info`+`uuid`\"))",
            "Err(NotMisp(\"item 0 has none of `Attribute`, `Object`, `info`+`uuid` (it is a STIX bundle; use `accord ingest` for STIX 2.1)\"))",
            "Err(NotMisp(\"item 0 has none of `Attribute`, `Object`, `info`+`uuid` (it is a STIX bundle; use `accord ingest` for STIX 2.1)\"))",
            "Err(NotMisp(\"item 0 has none of `Attribute`, `Object`, `info`+`uuid` (it is a STIX bundle; use `accord ingest` for STIX 2.1)\"))",
            "Err(NotMisp(\"item 0: `Event` is a JSON number\"))",
            "Ok(1)",
            "Err(NotMisp(\"item 1 is a JSON number\"))",
            "Err(TooManyEvents { found: 3, limit: 2 })",
            "Err(TooManyEvents { found: 3, limit: 2 })",
            "Err(Json(Error(\"EOF while parsing a list\", line: 1, column: 5)))",
            "Err(Json(Error(\"unexpected end of hex escape\", line: 1, column: 14)))",
            "Err(Json(Error(\"recursion limit exceeded\", line: 1, column: 128)))",
            "Err(Json(Error(\"recursion limit exceeded\", line: 1, column: 162)))",
            "Ok(1)",
        ];
        assert_eq!(docs.len(), want.len());
        let limits = Limits {
            max_events: 2,
            ..Limits::default()
        };
        for (doc, want) in docs.iter().zip(want) {
            let got = parse_document(doc.as_bytes(), &limits).map(|e| e.len());
            assert_eq!(format!("{got:?}"), want, "{doc}");
        }
        // Bytes that are not UTF-8 inside a string nobody reads.
        let bad = b"{\"uuid\": \"u\", \"info\": \"x\", \"z\": \"\xff\"}";
        assert_eq!(
            format!(
                "{:?}",
                parse_document(bad, &Limits::default()).map(|e| e.len())
            ),
            "Err(Json(Error(\"invalid unicode code point\", line: 1, column: 34)))"
        );
    }

    #[test]
    fn feed_hashes_split_composites() {
        let ev = json!({"Attribute": [
            {"type": "ip-dst|port", "value": "1.2.3.4|80"},
            {"type": "domain", "value": "a.example"}
        ]});
        let text = ev.to_string();
        let evs = parse_document(text.as_bytes(), &Limits::default()).unwrap();
        let h = feed_hashes(&evs[0]);
        assert_eq!(h.len(), 3);
        // md5("80")
        assert_eq!(h[1], "f033ab37c30201f73f142449d037028d");
    }

    /// Values of any JSON type hash as the `Value` walk hashed them.
    #[test]
    fn feed_hashes_are_the_values_ones() {
        let text = r#"{"Attribute": [
            {"type": "ip-dst|port", "value": "1.2.3.4|80"},
            {"type": "port", "value": 80},
            {"type": "float", "value": 1.50e+3},
            {"type": "text", "value": "a\u00e9|b"},
            {"type": "malware-sample", "value": "f.exe|0749bae92ca336a02c83d126e04ec628"},
            {"type": "text", "value": true},
            {"type": "text", "value": null},
            {"type": "text"},
            {"type": "text", "value": [1, "a|b", {"z": 1, "a": [ 2 ]}]},
            {"type": "x|y", "value": {"k": "v|w", "k": "last"}},
            "not an attribute",
            {"type": 7, "value": "q"}
        ], "Object": [{"Attribute": [{"type": "domain", "value": "a.example"}]}, 3, {"Attribute": 4}]}"#;
        let new = parse_document(text.as_bytes(), &Limits::default()).unwrap();
        let h = feed_hashes(&new[0]);
        assert_eq!(
            h,
            [
                "6465ec74397c9126916786bbcd6d7601",
                "f033ab37c30201f73f142449d037028d",
                "f033ab37c30201f73f142449d037028d",
                "3733a8f7fe3eae12454a915308472ab9",
                "26bea08e47db56e9ab721926116669f4",
                "52ff0ae8eeade5d6d853a3bddd9fef95",
                "420b3bc35ca39aff2c3ce0b218d936ef",
                "b326b5062b2f0e69046810717534cb09",
                "d701a688ca1cd74716ec435977449c72",
                "175f0561391a46f005904673cf5f2a4d",
                "7694f4a66316e53c8cdd9d9954bd611d",
                "af60befa758e782df5bdf9901187616d"
            ]
        );
    }
}
