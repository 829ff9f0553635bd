//! The Accord STIX extensions: one for the hotline (on `incident` and
//! `note`), one for protected facilities (on `infrastructure`, read from
//! `identity` too), each defined by a fixed `extension-definition` object
//! created by the fixed Accord identity. A node publishes
//! [`definitions`] once; every Accord node has the same three objects.

use accord_stix::Object;
use serde_json::{Value, json};
use uuid::Uuid;

/// The Accord project's identity, `created_by_ref` of the definitions.
pub const ACCORD_IDENTITY_ID: &str = "identity--65853419-d4a7-4533-81b6-f5086494a2fb";

/// The hotline extension's definition id (the key under `extensions` of
/// a case's incident and its notes).
pub const HOTLINE_EXTENSION_ID: &str = "extension-definition--f1d6c076-f7f8-492e-bfe0-4db3c4319f24";

/// The protected-facility extension's definition id.
pub const FACILITY_EXTENSION_ID: &str =
    "extension-definition--151b649f-957b-4494-9c02-f112a08ab057";

/// The version of both extensions' schemas.
pub const EXTENSION_VERSION: &str = "1.0.0";

/// When the definitions were made (fixed, so every node publishes the
/// same bytes).
pub const DEFINITIONS_CREATED: &str = "2026-12-01T00:00:00.000Z";

/// The namespace of the UUIDv5 ids this crate derives (notes, facilities,
/// [`crate::case_uuid`]).
pub const ID_NAMESPACE: Uuid = Uuid::from_u128(0x96919da2_9702_4464_be34_f71305bb7cbe);

/// A name-based UUID under [`ID_NAMESPACE`]: the bytes of UUIDv5 (SHA-1
/// of the namespace and `name`) with the version and variant bits of a
/// UUIDv4. STIX 2.1 §2.9 asks that the ids of objects other than SCOs be
/// UUIDv4 (stix2-validator warns otherwise); these ids must also be
/// derivable (both nodes, and a retry, compute the same one), so they are
/// hash bits labelled version 4.
pub(crate) fn v5(name: &str) -> Uuid {
    let b = *Uuid::new_v5(&ID_NAMESPACE, name.as_bytes()).as_bytes();
    uuid::Builder::from_random_bytes(b).into_uuid()
}

fn obj(v: Value) -> Object {
    Object::from_value(v).expect("a literal JSON object")
}

/// The Accord identity object.
pub fn accord_identity() -> Object {
    obj(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": ACCORD_IDENTITY_ID,
        "created": DEFINITIONS_CREATED,
        "modified": DEFINITIONS_CREATED,
        "name": "Accord",
        "description": "The Accord project: STIX 2.1 / TAXII 2.1 nodes for cross-border sharing between national CERTs. Author of the Accord STIX extensions.",
        "identity_class": "organization",
    }))
}

/// The JSON Schema (text) of the hotline extension.
pub fn hotline_schema() -> String {
    let ts = json!({"type": "string", "format": "date-time"});
    let identity = json!({"type": "string", "pattern": "^identity--[0-9a-f-]{36}$"});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Accord hotline",
        "description": "On an incident: a hotline case between two parties. On a note: one message of a case's thread. The case's state is the fold of its notes in (created, id) order.",
        "oneOf": [
            {
                "title": "case (on incident)",
                "type": "object",
                "required": ["extension_type", "severity", "state", "opener", "addressee", "ack_by", "resolve_by", "escalation", "exercise"],
                "properties": {
                    "extension_type": {"const": "property-extension"},
                    "severity": {"enum": ["critical", "high", "medium", "low"]},
                    "state": {"enum": ["open", "acknowledged", "in-progress", "resolved", "declined"], "description": "the state when this version of the incident was written; the thread is authoritative"},
                    "opener": identity, "addressee": identity,
                    "ack_by": ts, "resolve_by": ts,
                    "escalation": {"type": "integer", "minimum": 0},
                    "assistance": {"type": "array", "minItems": 1, "items": {"enum": ["take-down", "block", "preserve-logs", "identify", "share-more"]}},
                    "exercise": {"type": "boolean"},
                    "facility": {"type": "string", "description": "the protected facility the case concerns; absent when none"}
                }
            },
            {
                "title": "message (on note)",
                "type": "object",
                "required": ["extension_type", "case", "kind"],
                "properties": {
                    "extension_type": {"const": "property-extension"},
                    "case": {"type": "string", "pattern": "^incident--"},
                    "kind": {"enum": ["open", "ack", "reply", "progress", "resolve", "decline", "reopen", "escalate", "assist-answer"]},
                    "seq": {"type": "integer", "minimum": 1, "description": "the author's sequence number in the case; the note id is UUIDv5(namespace, 'note|case|author|seq'): the idempotency key"},
                    "transition": {"type": "object", "properties": {"from_state": {"type": "string"}, "to_state": {"type": "string"}}, "description": "the state change the author saw"},
                    "assist": {"type": "object", "properties": {"action": {"type": "string"}, "outcome": {"enum": ["done", "refused", "partially"]}}},
                    "ack_by": ts, "resolve_by": ts,
                    "cycle": {"type": "integer", "minimum": 0, "description": "escalate: how many reopens before"},
                    "deadline": {"enum": ["ack", "resolve"]}
                }
            }
        ]
    })
    .to_string()
}

/// The JSON Schema (text) of the facility extension.
pub fn facility_schema() -> String {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Accord protected facility",
        "description": "On an infrastructure (or identity) object: a designated facility whose networks, domains (subdomains included) and autonomous systems are protected; any touch escalates.",
        "type": "object",
        "required": ["extension_type", "jurisdiction"],
        "properties": {
            "extension_type": {"const": "property-extension"},
            "owner": {"type": "string"},
            "sector": {"type": "string"},
            "jurisdiction": {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2"},
            "networks": {"type": "array", "minItems": 1, "items": {"type": "string", "description": "CIDR"}},
            "domains": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "asns": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0, "maximum": 4294967295u64}}
        }
    })
    .to_string()
}

fn definition(id: &str, name: &str, description: &str, schema: String) -> Object {
    obj(json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": id,
        "created_by_ref": ACCORD_IDENTITY_ID,
        "created": DEFINITIONS_CREATED,
        "modified": DEFINITIONS_CREATED,
        "name": name,
        "description": description,
        "schema": schema,
        "version": EXTENSION_VERSION,
        "extension_types": ["property-extension"],
    }))
}

/// The hotline extension's definition.
pub fn hotline_extension_definition() -> Object {
    definition(
        HOTLINE_EXTENSION_ID,
        "Accord hotline",
        "Hotline cases between partners: severity, state, parties, deadlines, escalation, assistance and the exercise flag on the incident; the case, message kind, transition and sequence on each note.",
        hotline_schema(),
    )
}

/// The facility extension's definition.
pub fn facility_extension_definition() -> Object {
    definition(
        FACILITY_EXTENSION_ID,
        "Accord protected facility",
        "A designated protected facility: owner, sector, jurisdiction, networks, domains and autonomous systems.",
        facility_schema(),
    )
}

/// What a node publishes: the Accord identity and both definitions.
pub fn definitions() -> Vec<Object> {
    vec![
        accord_identity(),
        hotline_extension_definition(),
        facility_extension_definition(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_pass_the_validator() {
        for d in definitions() {
            let issues = accord_stix::validate_object(&d);
            assert!(accord_stix::is_valid(&issues), "{issues:?}");
        }
    }
}
