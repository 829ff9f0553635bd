//! [`Object`]: one STIX object as an ordered JSON map. Every property,
//! known or not, is kept in its original order with its original number
//! text, so writing an object back gives the same JSON.

use crate::limits::{JsonLimits, LimitExceeded};
use serde_json::{Map, Value};
use std::fmt;

/// Where a type sits in the STIX 2.1 object model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A STIX Domain Object (§4).
    Sdo,
    /// A STIX Relationship Object (§5).
    Sro,
    /// A STIX Cyber-observable Object (§6).
    Sco,
    /// `language-content`, `marking-definition` or `extension-definition` (§7).
    Meta,
    /// A type the specification does not define (a custom object, §11.2):
    /// SDO-like when it has `created`, SCO-like otherwise.
    Custom,
}

/// The STIX 2.1 Domain Object types (§4).
pub const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

/// The STIX 2.1 Relationship Object types (§5).
pub const SRO_TYPES: &[&str] = &["relationship", "sighting"];

/// The STIX 2.1 Cyber-observable Object types (§6).
pub const SCO_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// The STIX 2.1 meta object types (§7).
pub const META_TYPES: &[&str] = &[
    "language-content",
    "marking-definition",
    "extension-definition",
];

/// The kind of a type name, or [`Kind::Custom`] for types the specification
/// does not define.
pub fn kind_of_type(ty: &str) -> Kind {
    if SDO_TYPES.contains(&ty) {
        Kind::Sdo
    } else if SRO_TYPES.contains(&ty) {
        Kind::Sro
    } else if SCO_TYPES.contains(&ty) {
        Kind::Sco
    } else if META_TYPES.contains(&ty) {
        Kind::Meta
    } else {
        Kind::Custom
    }
}

/// Why text could not become an [`Object`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// The text is not JSON.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        /// 1-based line in the text given.
        line: usize,
        /// 1-based column in the text given.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// The JSON is valid but not an object.
    #[error("expected a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// The object exceeds one of its [`JsonLimits`]: which, the bound and
    /// where (e.g. `object exceeds the nesting-depth limit of 64 at
    /// $.x_a.b (nesting reaches 65); [limits] stix_max_depth raises it`).
    #[error("{0}")]
    Limit(#[from] LimitExceeded),
}

impl From<serde_json::Error> for ObjectError {
    fn from(e: serde_json::Error) -> Self {
        let full = e.to_string();
        // serde_json appends " at line L column C"; keep the message alone.
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_owned(),
            None => full,
        };
        ObjectError::Json {
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

/// The JSON type name of a value, for messages.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One STIX object: an ordered JSON map with typed accessors for the common
/// properties. Unknown properties are kept as they came.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    map: Map<String, Value>,
}

impl Object {
    /// Parses one JSON object within the default [`JsonLimits`].
    ///
    /// # Errors
    /// [`ObjectError::Json`] with line and column when the text is not JSON,
    /// [`ObjectError::Limit`] when it exceeds a limit,
    /// [`ObjectError::NotAnObject`] when it is JSON but not an object.
    pub fn parse(json: &str) -> Result<Object, ObjectError> {
        Object::parse_with_limits(json, &JsonLimits::default())
    }

    /// Parses one JSON object held to `limits` while it is read; accepts
    /// and rejects exactly what [`crate::Doc::parse_with_limits`] does.
    ///
    /// # Errors
    /// As [`Object::parse`].
    pub fn parse_with_limits(json: &str, limits: &JsonLimits) -> Result<Object, ObjectError> {
        Object::from_value(crate::dom::parse_tree::<Value>(json, limits)?)
    }

    /// Wraps a JSON value.
    ///
    /// # Errors
    /// [`ObjectError::NotAnObject`] when the value is not a JSON object.
    pub fn from_value(v: Value) -> Result<Object, ObjectError> {
        match v {
            Value::Object(map) => Ok(Object { map }),
            other => Err(ObjectError::NotAnObject {
                found: json_type_name(&other),
            }),
        }
    }

    /// Wraps a JSON map.
    pub fn from_map(map: Map<String, Value>) -> Object {
        Object { map }
    }

    /// The properties, in their original order.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// The properties, for editing.
    pub fn as_map_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.map
    }

    /// The properties, by value.
    pub fn into_map(self) -> Map<String, Value> {
        self.map
    }

    /// A property.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// The ids in `object_marking_refs` that are strings.
    pub fn marking_refs(&self) -> impl Iterator<Item = &str> {
        self.map
            .get("object_marking_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// Serializes with the original property order and number text.
    pub fn to_json(&self) -> String {
        // A map of JSON values always serializes.
        serde_json::to_string(&self.map).unwrap_or_default()
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl serde::Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(s)
    }
}

/// The common properties of a STIX object, read the same way from an owned
/// [`Object`] and from a borrowed [`crate::Doc`]. Each is `None` when the
/// property is missing or not a string.
pub trait CommonProps {
    /// A property when it is a string.
    fn get_str(&self, name: &str) -> Option<&str>;

    /// Whether the object has the property, whatever its value.
    fn has(&self, name: &str) -> bool;

    /// `type`, when it is a string.
    fn type_name(&self) -> Option<&str> {
        self.get_str("type")
    }

    /// `id`, when it is a string.
    fn id(&self) -> Option<&str> {
        self.get_str("id")
    }

    /// `spec_version`, when it is a string.
    fn spec_version(&self) -> Option<&str> {
        self.get_str("spec_version")
    }

    /// `created`, when it is a string.
    fn created(&self) -> Option<&str> {
        self.get_str("created")
    }

    /// `modified`, when it is a string.
    fn modified(&self) -> Option<&str> {
        self.get_str("modified")
    }

    /// The kind of this object's type.
    fn kind(&self) -> Kind {
        self.type_name().map_or(Kind::Custom, kind_of_type)
    }

    /// Whether this object is versioned like an SDO (has `created`), as
    /// opposed to an SCO, which has no versions.
    fn is_versioned(&self) -> bool {
        self.has("created")
    }

    /// The string that tells this version apart from the object's other
    /// versions: `modified`, else `created` (marking definitions), else
    /// the empty string (cyber-observables are not versioned).
    fn version_key(&self) -> &str {
        self.modified().or_else(|| self.created()).unwrap_or("")
    }
}

impl CommonProps for Object {
    fn get_str(&self, name: &str) -> Option<&str> {
        self.map.get(name).and_then(Value::as_str)
    }

    fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order_numbers_and_custom_properties() {
        let src = r#"{"type":"x-custom","id":"x-custom--1","z":1.50,"a":12345678901234567890123,"x_thing":{"b":[1e5,-0.0]},"created":"2020-01-01T00:00:00Z"}"#;
        let obj = Object::parse(src).unwrap();
        // serde_json writes an exponent with its sign; the value is the same.
        assert_eq!(obj.to_json(), src.replace("1e5", "1e+5"));
        assert_eq!(obj.kind(), Kind::Custom);
    }

    #[test]
    fn not_an_object() {
        assert!(matches!(
            Object::parse("[1]"),
            Err(ObjectError::NotAnObject { found: "an array" })
        ));
        let e = Object::parse("{\n \"a\": }").unwrap_err();
        match e {
            ObjectError::Json { line, column, .. } => assert_eq!((line, column), (2, 7)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn version_key_prefers_modified() {
        let o = Object::parse(r#"{"created":"a","modified":"b"}"#).unwrap();
        assert_eq!(o.version_key(), "b");
        let m = Object::parse(r#"{"created":"a"}"#).unwrap();
        assert_eq!(m.version_key(), "a");
        let s = Object::parse(r#"{"type":"ipv4-addr"}"#).unwrap();
        assert_eq!(s.version_key(), "");
        assert_eq!(s.kind(), Kind::Sco);
    }
}
