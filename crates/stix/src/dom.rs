//! A borrowed JSON tree for validation: [`Doc`] is one STIX object whose
//! strings point into the text it was parsed from.
//!
//! [`crate::Object`] is an owned, ordered `serde_json` map: right for
//! building and editing objects, but each of its strings, numbers and maps
//! is an allocation and each map a hash table (SipHash), which was about
//! half the cost of checking an object. Validation only reads, so it runs on
//! this tree instead: strings without escapes are slices of the text, a map
//! is a vector of members searched in order (STIX objects have a few dozen
//! members at most), and a number is its text.
//!
//! Parsing goes through `serde_json`'s own deserializer, so what is and is
//! not JSON, the nesting limit and the error messages (with line and column)
//! are exactly those of [`crate::Object::parse`]. A member repeated in one
//! map keeps its first position and takes the last value, as
//! `serde_json::Map` does.

use crate::object::{CommonProps, ObjectError};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A JSON string, borrowed from the text when it had no escape.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Str<'a>(pub Cow<'a, str>);

impl Str<'_> {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Str<'_> {
    fn eq(&self, o: &str) -> bool {
        self.as_str() == o
    }
}

impl PartialEq<Str<'_>> for &str {
    fn eq(&self, o: &Str<'_>) -> bool {
        *self == o.as_str()
    }
}

impl PartialEq<Str<'_>> for str {
    fn eq(&self, o: &Str<'_>) -> bool {
        self == o.as_str()
    }
}

impl PartialEq<&str> for Str<'_> {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}

/// A JSON number, as `serde_json` read it (its text; no precision lost).
#[derive(Clone, PartialEq, Eq)]
pub struct Number<'a>(Cow<'a, str>);

impl Number<'_> {
    /// The number's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as an `i64`, when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    /// The number as a `u64`, when it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    /// The number as an `f64` (rounded).
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse().ok()
    }

    /// Whether it is an integer that fits an `i64`.
    pub fn is_i64(&self) -> bool {
        self.as_i64().is_some()
    }

    /// Whether it is an integer that fits a `u64`.
    pub fn is_u64(&self) -> bool {
        self.as_u64().is_some()
    }

    /// Whether it has a fraction or an exponent, or is out of integer range.
    pub fn is_f64(&self) -> bool {
        !self.is_i64() && !self.is_u64()
    }
}

impl fmt::Debug for Number<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Number<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A JSON value borrowing from its text.
#[derive(Clone, PartialEq, Default)]
pub enum Value<'a> {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(Number<'a>),
    /// A string.
    String(Str<'a>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// An object.
    Object(Map<'a>),
}

impl<'a> Value<'a> {
    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The members, when this is an object.
    pub fn as_object(&self) -> Option<&Map<'a>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The elements, when this is an array.
    pub fn as_array(&self) -> Option<&Vec<Value<'a>>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The boolean, when this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as an `i64`, when this is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The number as a `u64`, when this is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The number as an `f64`, when this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is a string.
    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    /// Whether this is a number.
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Number(_))
    }

    /// Whether this is a boolean.
    pub fn is_boolean(&self) -> bool {
        matches!(self, Value::Bool(_))
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// A member, when this is an object that has it.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.as_object().and_then(|m| m.get(name))
    }

    /// The JSON type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// The same value as a `serde_json` one (owned).
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => n
                .as_str()
                .parse::<serde_json::Number>()
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::String(s) => serde_json::Value::String(s.as_str().to_owned()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Value::to_serde).collect()),
            Value::Object(m) => serde_json::Value::Object(m.to_serde()),
        }
    }
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

/// Compact JSON, as `serde_json` writes it.
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

impl serde::Serialize for Value<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => match n.as_str().parse::<serde_json::Number>() {
                Ok(n) => n.serialize(s),
                Err(_) => s.serialize_str(n.as_str()),
            },
            Value::String(t) => s.serialize_str(t.as_str()),
            Value::Array(a) => s.collect_seq(a),
            Value::Object(m) => m.serialize(s),
        }
    }
}

/// A JSON object's members, in their order.
#[derive(Clone, PartialEq, Default)]
pub struct Map<'a> {
    members: Vec<(Str<'a>, Value<'a>)>,
}

impl<'a> Map<'a> {
    /// A member's value.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.members
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v)
    }

    /// Whether the map has a member `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The members in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Str<'a>, &Value<'a>)> + Clone {
        self.members.iter().map(|(k, v)| (k, v))
    }

    /// The member names in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Str<'a>> + Clone {
        self.members.iter().map(|(k, _)| k)
    }

    /// The values in order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value<'a>> + Clone {
        self.members.iter().map(|(_, v)| v)
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Adds a member, or replaces the value of one with that name (which
    /// keeps its place), as `serde_json::Map::insert` does.
    fn insert(&mut self, k: Str<'a>, v: Value<'a>) {
        match self
            .members
            .iter_mut()
            .find(|(key, _)| key.len() == k.len() && key.as_str() == k.as_str())
        {
            Some(slot) => slot.1 = v,
            None => self.members.push((k, v)),
        }
    }

    /// The same members as a `serde_json` map (owned).
    pub fn to_serde(&self) -> serde_json::Map<String, serde_json::Value> {
        self.iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_serde()))
            .collect()
    }
}

impl<'m, 'a> IntoIterator for &'m Map<'a> {
    type Item = (&'m Str<'a>, &'m Value<'a>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'m, (Str<'a>, Value<'a>)>,
        fn(&'m (Str<'a>, Value<'a>)) -> (&'m Str<'a>, &'m Value<'a>),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.members.iter().map(|(k, v)| (k, v))
    }
}

impl fmt::Debug for Map<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

impl serde::Serialize for Map<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

/// One STIX object as a borrowed tree, with the text it came from.
#[derive(Clone, PartialEq, Debug)]
pub struct Doc<'a> {
    text: &'a str,
    map: Map<'a>,
}

impl<'a> Doc<'a> {
    /// Parses one JSON object. Accepts and rejects exactly what
    /// [`crate::Object::parse`] does, with the same errors.
    ///
    /// # Errors
    /// [`ObjectError::Json`] with line and column when the text is not JSON,
    /// [`ObjectError::NotAnObject`] when it is JSON but not an object.
    pub fn parse(text: &'a str) -> Result<Doc<'a>, ObjectError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let v = ValueSeed.deserialize(&mut de)?;
        de.end()?;
        match v {
            Value::Object(map) => Ok(Doc { text, map }),
            other => Err(ObjectError::NotAnObject {
                found: other.type_name(),
            }),
        }
    }

    /// The text it was parsed from.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The properties, in their order.
    pub fn as_map(&self) -> &Map<'a> {
        &self.map
    }

    /// A property.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
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
}

impl CommonProps for Doc<'_> {
    fn get_str(&self, name: &str) -> Option<&str> {
        self.map.get(name).and_then(Value::as_str)
    }

    fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

// ---------------------------------------------------------------------------
// Deserialization

/// `serde_json` (with `arbitrary_precision`) hands a number to `visit_map`
/// as a one-member map with this key and the number's text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Number(Cow::Owned(n.to_string()))))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Number(Cow::Owned(n.to_string()))))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Value<'de>, E> {
        serde_json::Number::from_f64(n)
            .map(|n| Value::Number(Number(Cow::Owned(n.to_string()))))
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Str(Cow::Borrowed(s))))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Str(Cow::Owned(s.to_owned()))))
    }

    fn visit_string<E>(self, s: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Str(Cow::Owned(s))))
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(ValueSeed)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let Some(first) = map.next_key_seed(KeySeed)? else {
            return Ok(Value::Object(Map::default()));
        };
        if first.as_str() == NUMBER_TOKEN {
            let text: String = map.next_value()?;
            return Ok(Value::Number(Number(Cow::Owned(text))));
        }
        let mut m = Map {
            members: Vec::with_capacity(16),
        };
        m.members.push((first, map.next_value_seed(ValueSeed)?));
        while let Some(k) = map.next_key_seed(KeySeed)? {
            let v = map.next_value_seed(ValueSeed)?;
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Str<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Str<'de>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Str<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Str<'de>, E> {
        Ok(Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Str<'de>, E> {
        Ok(Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Str<'de>, E> {
        Ok(Str(Cow::Owned(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Object;
    use proptest::prelude::*;

    #[test]
    fn borrows_plain_strings_and_keeps_number_text() {
        let d =
            Doc::parse(r#"{"a":"x","b":"y\"z","n":1.50,"big":123456789012345678901234,"e":1e5}"#)
                .unwrap();
        assert!(matches!(
            d.get("a"),
            Some(Value::String(Str(Cow::Borrowed("x"))))
        ));
        assert_eq!(d.get_str("b"), Some("y\"z"));
        assert_eq!(d.get("n").unwrap().to_string(), "1.50");
        assert_eq!(d.get("big").unwrap().as_i64(), None);
        assert_eq!(d.get("e").unwrap().as_f64(), Some(1e5));
    }

    #[test]
    fn repeated_member_keeps_place_and_takes_last_value() {
        let src = r#"{"a":1,"b":2,"a":3}"#;
        let d = Doc::parse(src).unwrap();
        let o = Object::parse(src).unwrap();
        assert_eq!(d.as_map().to_serde(), *o.as_map());
        assert_eq!(
            d.as_map().keys().map(Str::as_str).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn errors_match_object_parse() {
        for src in [
            "{\"a\": }",
            "[1]",
            "{\"a\":1} x",
            "",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\u{1}\"}",
            "\"s\"",
        ] {
            let want = Object::parse(src).map(|_| ()).map_err(|e| e.to_string());
            let got = Doc::parse(src).map(|_| ()).map_err(|e| e.to_string());
            assert_eq!(got, want, "{src:?}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(Doc::parse(&deep).is_err());
        assert_eq!(
            Doc::parse(&deep).unwrap_err().to_string(),
            Object::parse(&deep).unwrap_err().to_string()
        );
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                prop::collection::vec(("[a-c]{0,2}", inner), 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any JSON object text: the tree is the same as `Object::parse`'s.
        #[test]
        fn same_tree_as_object_parse(v in arb_json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            let want = Object::parse(&text);
            let got = Doc::parse(&text);
            match (want, got) {
                (Ok(o), Ok(d)) => {
                    prop_assert_eq!(&d.as_map().to_serde(), o.as_map());
                    prop_assert_eq!(serde_json::to_string(d.as_map()).unwrap(), o.to_json());
                }
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(false, "{:?} vs {:?}", a.map(|_| ()), b.map(|_| ())),
            }
        }

        /// Any bytes that are UTF-8: accepted and rejected alike.
        #[test]
        fn same_verdict_on_any_text(s in "[{}\\[\\]\",:a0-9.eE+\\- \\\\un]{0,40}") {
            let want = Object::parse(&s).map(|_| ()).map_err(|e| e.to_string());
            let got = Doc::parse(&s).map(|_| ()).map_err(|e| e.to_string());
            prop_assert_eq!(got, want);
        }
    }
}
