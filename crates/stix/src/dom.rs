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
//! Parsing goes through `serde_json`'s own deserializer, and through the
//! same visitor as [`crate::Object::parse`] (generic over the tree it
//! builds), so what is and is not JSON, the [`JsonLimits`] and the error
//! messages (with line and column, or the limit and the JSON path) are
//! exactly those of [`crate::Object::parse`]. A member repeated in one
//! map keeps its first position and takes the last value, as
//! `serde_json::Map` does.

use crate::limits::{Budget, JsonLimits};
use crate::object::{CommonProps, ObjectError};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

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
    /// Parses one JSON object within the default [`JsonLimits`]. Accepts
    /// and rejects exactly what [`crate::Object::parse`] does, with the
    /// same errors.
    ///
    /// # Errors
    /// [`ObjectError::Json`] with line and column when the text is not JSON,
    /// [`ObjectError::Limit`] when it exceeds a limit,
    /// [`ObjectError::NotAnObject`] when it is JSON but not an object.
    pub fn parse(text: &'a str) -> Result<Doc<'a>, ObjectError> {
        Doc::parse_with_limits(text, &JsonLimits::default())
    }

    /// Parses one JSON object, held to `limits` while it is read (the
    /// size before, depth, members, items and string lengths during the
    /// one pass). Accepts and rejects exactly what
    /// [`crate::Object::parse_with_limits`] does, with the same errors.
    ///
    /// # Errors
    /// As [`Doc::parse`].
    pub fn parse_with_limits(text: &'a str, limits: &JsonLimits) -> Result<Doc<'a>, ObjectError> {
        match parse_tree::<Value<'a>>(text, limits)? {
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

/// A JSON tree the one limited parser can build: this module's borrowed
/// [`Value`], or `serde_json`'s owned one (for [`crate::Object`]), so both
/// accept, refuse and count exactly alike.
pub(crate) trait Tree<'de>: Sized {
    /// An object's members while they are read.
    type Members;
    fn null() -> Self;
    fn boolean(b: bool) -> Self;
    /// A number, by its text (as serde_json read it).
    fn number(text: Cow<'de, str>) -> Self;
    fn string(s: Cow<'de, str>) -> Self;
    fn array(items: Vec<Self>) -> Self;
    fn members() -> Self::Members;
    /// Adds a member; a repeated name keeps its place and takes the new
    /// value, as `serde_json::Map::insert` does.
    fn insert(m: &mut Self::Members, k: Cow<'de, str>, v: Self);
    fn object(m: Self::Members) -> Self;
}

impl<'de> Tree<'de> for Value<'de> {
    type Members = Map<'de>;
    fn null() -> Self {
        Value::Null
    }
    fn boolean(b: bool) -> Self {
        Value::Bool(b)
    }
    fn number(text: Cow<'de, str>) -> Self {
        Value::Number(Number(text))
    }
    fn string(s: Cow<'de, str>) -> Self {
        Value::String(Str(s))
    }
    fn array(items: Vec<Self>) -> Self {
        Value::Array(items)
    }
    fn members() -> Map<'de> {
        Map {
            members: Vec::with_capacity(16),
        }
    }
    fn insert(m: &mut Map<'de>, k: Cow<'de, str>, v: Self) {
        m.insert(Str(k), v);
    }
    fn object(m: Map<'de>) -> Self {
        Value::Object(m)
    }
}

impl<'de> Tree<'de> for serde_json::Value {
    type Members = serde_json::Map<String, serde_json::Value>;
    fn null() -> Self {
        serde_json::Value::Null
    }
    fn boolean(b: bool) -> Self {
        serde_json::Value::Bool(b)
    }
    fn number(text: Cow<'de, str>) -> Self {
        // The text came from serde_json's own number parser.
        text.parse::<serde_json::Number>()
            .map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
    fn string(s: Cow<'de, str>) -> Self {
        serde_json::Value::String(s.into_owned())
    }
    fn array(items: Vec<Self>) -> Self {
        serde_json::Value::Array(items)
    }
    fn members() -> Self::Members {
        serde_json::Map::new()
    }
    fn insert(m: &mut Self::Members, k: Cow<'de, str>, v: Self) {
        m.insert(k.into_owned(), v);
    }
    fn object(m: Self::Members) -> Self {
        serde_json::Value::Object(m)
    }
}

/// Parses `text` as one JSON value into a `T`, held to `limits` in the
/// same pass: the one parser of [`Doc::parse_with_limits`] and
/// [`crate::Object::parse_with_limits`].
pub(crate) fn parse_tree<'de, T: Tree<'de>>(
    text: &'de str,
    limits: &JsonLimits,
) -> Result<T, ObjectError> {
    crate::limits::check_size(text, limits)?;
    let mut budget = Budget::new(limits);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = ValueSeed::<T>::new(&mut budget)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| match budget.exceeded() {
        Some(l) => ObjectError::Limit(l),
        None => e.into(),
    })
}

struct ValueSeed<'b, T> {
    budget: &'b mut Budget,
    tree: PhantomData<fn() -> T>,
}

impl<'b, T> ValueSeed<'b, T> {
    fn new(budget: &'b mut Budget) -> Self {
        ValueSeed {
            budget,
            tree: PhantomData,
        }
    }
}

impl<'de, T: Tree<'de>> DeserializeSeed<'de> for ValueSeed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Tree<'de>> Visitor<'de> for ValueSeed<'_, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<T, E> {
        Ok(T::boolean(b))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<T, E> {
        let text = n.to_string();
        self.budget.string(text.len())?;
        Ok(T::number(Cow::Owned(text)))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<T, E> {
        let text = n.to_string();
        self.budget.string(text.len())?;
        Ok(T::number(Cow::Owned(text)))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<T, E> {
        let text = serde_json::Number::from_f64(n)
            .ok_or_else(|| E::custom("a number that is not finite"))?
            .to_string();
        self.budget.string(text.len())?;
        Ok(T::number(Cow::Owned(text)))
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<T, E> {
        self.budget.string(s.len())?;
        Ok(T::string(Cow::Borrowed(s)))
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
        self.budget.string(s.len())?;
        Ok(T::string(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<T, E> {
        self.budget.string(s.len())?;
        Ok(T::string(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::null())
    }

    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::null())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let b = self.budget;
        b.enter()?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        loop {
            match seq.next_element_seed(ValueSeed::<T>::new(b)) {
                Ok(Some(v)) => {
                    b.item(out.len() + 1)?;
                    out.push(v);
                }
                Ok(None) => break,
                Err(e) => {
                    b.in_index(out.len());
                    return Err(e);
                }
            }
        }
        b.leave();
        Ok(T::array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let b = self.budget;
        let Some(first) = map.next_key_seed(KeySeed)? else {
            b.enter()?;
            b.leave();
            return Ok(T::object(T::members()));
        };
        if first == NUMBER_TOKEN {
            let text: String = map.next_value()?;
            b.string(text.len())?;
            return Ok(T::number(Cow::Owned(text)));
        }
        b.enter()?;
        b.member(1)?;
        b.string(first.len())?;
        let mut m = T::members();
        let mut n = 1;
        let mut key = first;
        loop {
            match map.next_value_seed(ValueSeed::<T>::new(b)) {
                Ok(v) => T::insert(&mut m, key, v),
                Err(e) => {
                    b.in_key(&key);
                    return Err(e);
                }
            }
            let Some(k) = map.next_key_seed(KeySeed)? else {
                break;
            };
            n += 1;
            b.member(n)?;
            b.string(k.len())?;
            key = k;
        }
        b.leave();
        Ok(T::object(m))
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
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
