//! A typed view of MISP event JSON that borrows its strings from the input.
//!
//! Only the fields the converter reads are kept; everything else is
//! skipped. MISP is loose about types (`"to_ids": "1"` or `true`,
//! timestamps as strings or numbers, `null` anywhere), so every field is
//! read leniently: a scalar field keeps what JSON value it held
//! ([`Field`]) and is interpreted the way `serde_json::Value`'s accessors
//! interpret it; a list or object of the wrong JSON type reads as empty,
//! exactly as `Value::get` on it would give nothing. A key given twice
//! counts once, the last one winning, as in a `Value` map.
//!
//! Skipped values are still parsed by `deserialize_any` ([`Skip`]), not
//! `IgnoredAny`, so the same documents are rejected as when parsing into a
//! `Value` (invalid UTF-8 in a string, nesting beyond serde_json's
//! recursion limit), with the same `serde_json` error.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// The key serde_json (with `arbitrary_precision`) gives a number as: a
/// map whose first key is this. `Value` treats such a map as a number, and
/// so does this module.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A scalar field as written.
#[derive(Debug, Clone, Default)]
pub(crate) enum Field<'a> {
    /// No such key.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (its text as written).
    Num(Number),
    /// A string; borrowed unless it had escapes.
    Str(Cow<'a, str>),
    /// A list or an object (kept whole: only `feed_hashes` shows it).
    Other(Box<Value>),
}

impl<'a> Field<'a> {
    /// The string, when the field is one (`Value::as_str`).
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the key was there at all (`Value::get(..).is_some()`).
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }

    /// A MISP timestamp (a string or a number of seconds), as
    /// [`crate::values::epoch`] reads it.
    pub(crate) fn epoch(&self) -> Option<i64> {
        let n = match self {
            Field::Str(s) => s.trim().parse::<i64>().ok()?,
            Field::Num(n) => n.as_i64()?,
            _ => return None,
        };
        crate::values::epoch_in_range(n)
    }

    /// MISP's booleans: `true`, `"1"`, `"true"`, `"True"`, `1`.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Field::Bool(b) => *b,
            Field::Str(s) => matches!(&**s, "1" | "true" | "True"),
            Field::Num(n) => n.as_i64() == Some(1),
            _ => false,
        }
    }

    /// An attribute value: a string as is, a number as its text.
    pub(crate) fn value_text(&self) -> Option<Cow<'a, str>> {
        match self {
            Field::Str(s) => Some(s.clone()),
            Field::Num(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    }

    /// The JSON text of the field as `Value::to_string` writes it (`None`
    /// when absent or `null`); a string is given as is, unquoted.
    pub(crate) fn display_text(&self) -> Option<Cow<'a, str>> {
        match self {
            Field::Absent | Field::Null => None,
            Field::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Field::Num(n) => Some(Cow::Owned(n.to_string())),
            Field::Str(s) => Some(s.clone()),
            Field::Other(v) => Some(Cow::Owned(v.to_string())),
        }
    }

    /// The strings of the field: itself when a string, the string items
    /// when a list.
    pub(crate) fn strs(&self) -> Vec<&str> {
        match self {
            Field::Str(s) => vec![s],
            Field::Other(v) => match &**v {
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            },
            _ => vec![],
        }
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Field::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Field::Num(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Field::Num(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number::from_f64(v).map_or(Field::Null, Field::Num))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let v = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Field::Other(Box::new(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // As `Value`'s own visitor: the first key tells a number.
        let Some(first) = map.next_key::<Key<'de>>()? else {
            return Ok(Field::Other(Box::new(Value::Object(Default::default()))));
        };
        if first.0 == NUMBER_TOKEN {
            let text: Key<'de> = map.next_value()?;
            let n = text.0.parse::<Number>().map_err(de::Error::custom)?;
            return Ok(Field::Num(n));
        }
        let mut m = serde_json::Map::new();
        m.insert(first.0.into_owned(), map.next_value()?);
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            m.insert(k, v);
        }
        Ok(Field::Other(Box::new(Value::Object(m))))
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

/// A map key, borrowed when it had no escapes.
pub(crate) struct Key<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value, parsed (so checked as strictly as a `Value` would be)
/// and dropped.
pub(crate) struct Skip;

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_none<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        if let Some(k) = map.next_key::<Key<'de>>()? {
            if k.0 == NUMBER_TOKEN {
                // Checked as `Value` checks it.
                let text: Key<'de> = map.next_value()?;
                text.0.parse::<Number>().map_err(de::Error::custom)?;
                return Ok(Skip);
            }
            map.next_value::<Skip>()?;
            while map.next_key::<Key<'de>>()?.is_some() {
                map.next_value::<Skip>()?;
            }
        }
        Ok(Skip)
    }
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Skip)
    }
}

/// A JSON object read into a struct of the fields it knows.
pub(crate) trait Fields<'de>: Default {
    /// Reads the value of `key` when it is a field (`true`); otherwise
    /// leaves it unread (`false`).
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;
}

/// What a slot of a document held: an object, or another JSON value (its
/// kind, as errors name it).
pub(crate) enum Slot<T> {
    Object(T),
    Other(&'static str),
}

/// The `visit_*` methods of a visitor that takes any JSON scalar as
/// `$other(kind)`, the kind named as in messages ("boolean", "number",
/// "string", "null").
macro_rules! scalars_are_other {
    ($($other:ident)::+) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($($other)::+("boolean"))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($($other)::+("number"))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($($other)::+("number"))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($($other)::+("number"))
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($($other)::+("string"))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($($other)::+("null"))
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok($($other)::+("null"))
        }
    };
}

struct SlotVisitor<T>(PhantomData<T>);

impl<'de, T: Fields<'de>> Visitor<'de> for SlotVisitor<T> {
    type Value = Slot<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars_are_other!(Slot::Other);
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Slot::Other("list"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut t = T::default();
        let mut first = true;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if first && key.0 == NUMBER_TOKEN {
                let text: Key<'de> = map.next_value()?;
                text.0.parse::<Number>().map_err(de::Error::custom)?;
                return Ok(Slot::Other("number"));
            }
            first = false;
            if !t.field(&key.0, &mut map)? {
                map.next_value::<Skip>()?;
            }
        }
        Ok(Slot::Object(t))
    }
}

impl<'de, T: Fields<'de>> Deserialize<'de> for Slot<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SlotVisitor(PhantomData))
    }
}

/// An object, or nothing when the value is of another JSON type (every
/// field of it then reads as absent, as `Value::get` on a non-object).
pub(crate) struct Obj<T>(pub(crate) T);

impl<'de, T: Fields<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Obj(match Slot::<T>::deserialize(d)? {
            Slot::Object(t) => t,
            Slot::Other(_) => T::default(),
        }))
    }
}

/// A list, or an empty one when the value is not a list.
pub(crate) struct List<T>(pub(crate) Vec<T>);

impl<'de, T: Fields<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Fields<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(List(Vec::new()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(List(Vec::new()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(List(Vec::new()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(List(Vec::new()))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(List(Vec::new()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(List(Vec::new()))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(List(Vec::new()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(Obj(t)) = seq.next_element::<Obj<T>>()? {
                    out.push(t);
                }
                Ok(List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Skip.visit_map(map)?;
                Ok(List(Vec::new()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Reads `key`'s value into the matching field of a struct; the last of a
/// repeated key wins.
macro_rules! fields {
    ($t:ident { $($key:literal => $f:ident : $how:ident),* $(,)? }) => {
        impl<'de> Fields<'de> for $t<'de> {
            fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
                match key {
                    $($key => { self.$f = fields!(@read $how, map); })*
                    _ => return Ok(false),
                }
                Ok(true)
            }
        }
    };
    (@read field, $map:ident) => { $map.next_value::<Field<'de>>()? };
    (@read list, $map:ident) => { $map.next_value::<List<_>>()?.0 };
    (@read obj, $map:ident) => { Some($map.next_value::<Obj<_>>()?.0) };
}

/// A MISP event (the object inside `{"Event": …}`).
#[derive(Default)]
pub struct Event<'a> {
    pub(crate) uuid: Field<'a>,
    pub(crate) timestamp: Field<'a>,
    pub(crate) date: Field<'a>,
    pub(crate) publish_timestamp: Field<'a>,
    pub(crate) info: Field<'a>,
    pub(crate) ty: Field<'a>,
    pub(crate) orgc: Option<Org<'a>>,
    pub(crate) tags: Vec<Tag<'a>>,
    pub(crate) galaxies: Vec<Galaxy<'a>>,
    pub(crate) attributes: Vec<Attribute<'a>>,
    pub(crate) objects: Vec<Object<'a>>,
    /// Whether the keys `Attribute` and `Object` were there (any type).
    pub(crate) has_attributes: bool,
    pub(crate) has_objects: bool,
}

impl<'de> Fields<'de> for Event<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "uuid" => self.uuid = map.next_value()?,
            "timestamp" => self.timestamp = map.next_value()?,
            "date" => self.date = map.next_value()?,
            "publish_timestamp" => self.publish_timestamp = map.next_value()?,
            "info" => self.info = map.next_value()?,
            "type" => self.ty = map.next_value()?,
            "Orgc" => self.orgc = Some(map.next_value::<Obj<_>>()?.0),
            "Tag" => self.tags = map.next_value::<List<_>>()?.0,
            "Galaxy" => self.galaxies = map.next_value::<List<_>>()?.0,
            "Attribute" => {
                self.has_attributes = true;
                self.attributes = map.next_value::<List<_>>()?.0;
            }
            "Object" => {
                self.has_objects = true;
                self.objects = map.next_value::<List<_>>()?.0;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A MISP organisation (`Orgc`, a sighting's `Organisation`).
#[derive(Default)]
pub(crate) struct Org<'a> {
    pub(crate) uuid: Field<'a>,
    pub(crate) name: Field<'a>,
}
fields!(Org { "uuid" => uuid: field, "name" => name: field });

/// A tag.
#[derive(Default)]
pub(crate) struct Tag<'a> {
    pub(crate) name: Field<'a>,
}
fields!(Tag { "name" => name: field });

/// A galaxy.
#[derive(Default)]
pub(crate) struct Galaxy<'a> {
    pub(crate) clusters: Vec<Cluster<'a>>,
}
fields!(Galaxy { "GalaxyCluster" => clusters: list });

/// A galaxy cluster.
#[derive(Default)]
pub(crate) struct Cluster<'a> {
    pub(crate) meta: Option<Meta<'a>>,
    pub(crate) tag_name: Field<'a>,
    pub(crate) value: Field<'a>,
}
fields!(Cluster { "meta" => meta: obj, "tag_name" => tag_name: field, "value" => value: field });

/// A galaxy cluster's `meta`.
#[derive(Default)]
pub(crate) struct Meta<'a> {
    pub(crate) external_id: Field<'a>,
}
fields!(Meta { "external_id" => external_id: field });

/// An attribute (of the event or of an object).
#[derive(Default)]
pub(crate) struct Attribute<'a> {
    pub(crate) uuid: Field<'a>,
    pub(crate) ty: Field<'a>,
    pub(crate) value: Field<'a>,
    pub(crate) category: Field<'a>,
    pub(crate) comment: Field<'a>,
    pub(crate) to_ids: Field<'a>,
    pub(crate) deleted: Field<'a>,
    pub(crate) timestamp: Field<'a>,
    pub(crate) object_relation: Field<'a>,
    pub(crate) tags: Vec<Tag<'a>>,
    pub(crate) galaxies: Vec<Galaxy<'a>>,
    pub(crate) sightings: Vec<Sighting<'a>>,
}
fields!(Attribute {
    "uuid" => uuid: field,
    "type" => ty: field,
    "value" => value: field,
    "category" => category: field,
    "comment" => comment: field,
    "to_ids" => to_ids: field,
    "deleted" => deleted: field,
    "timestamp" => timestamp: field,
    "object_relation" => object_relation: field,
    "Tag" => tags: list,
    "Galaxy" => galaxies: list,
    "Sighting" => sightings: list,
});

/// A MISP object.
#[derive(Default)]
pub(crate) struct Object<'a> {
    pub(crate) uuid: Field<'a>,
    pub(crate) name: Field<'a>,
    pub(crate) meta_category: Field<'a>,
    pub(crate) comment: Field<'a>,
    pub(crate) deleted: Field<'a>,
    pub(crate) timestamp: Field<'a>,
    pub(crate) attributes: Vec<Attribute<'a>>,
    pub(crate) references: Vec<Reference<'a>>,
    pub(crate) tags: Vec<Tag<'a>>,
    pub(crate) galaxies: Vec<Galaxy<'a>>,
}
fields!(Object {
    "uuid" => uuid: field,
    "name" => name: field,
    "meta-category" => meta_category: field,
    "comment" => comment: field,
    "deleted" => deleted: field,
    "timestamp" => timestamp: field,
    "Attribute" => attributes: list,
    "ObjectReference" => references: list,
    "Tag" => tags: list,
    "Galaxy" => galaxies: list,
});

/// An object reference.
#[derive(Default)]
pub(crate) struct Reference<'a> {
    pub(crate) uuid: Field<'a>,
    pub(crate) referenced_uuid: Field<'a>,
    pub(crate) relationship_type: Field<'a>,
    pub(crate) timestamp: Field<'a>,
}
fields!(Reference {
    "uuid" => uuid: field,
    "referenced_uuid" => referenced_uuid: field,
    "relationship_type" => relationship_type: field,
    "timestamp" => timestamp: field,
});

/// A sighting.
#[derive(Default)]
pub(crate) struct Sighting<'a> {
    pub(crate) uuid: Field<'a>,
    pub(crate) ty: Field<'a>,
    pub(crate) date_sighting: Field<'a>,
    pub(crate) source: Field<'a>,
    pub(crate) organisation: Option<Org<'a>>,
}
fields!(Sighting {
    "uuid" => uuid: field,
    "type" => ty: field,
    "date_sighting" => date_sighting: field,
    "source" => source: field,
    "Organisation" => organisation: obj,
});

/// One item of a document: an event, or `{"Event": …}` around one.
#[derive(Default)]
pub(crate) struct Item<'a> {
    pub(crate) event: Event<'a>,
    pub(crate) wrapped: Option<Slot<Event<'a>>>,
}

impl<'de> Fields<'de> for Item<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key == "Event" {
            self.wrapped = Some(map.next_value()?);
            return Ok(true);
        }
        self.event.field(key, map)
    }
}

/// A whole document, or (below its top) a REST `response`.
pub(crate) enum Document<'a> {
    /// A list of items.
    List(Vec<Slot<Item<'a>>>),
    /// One object: an item, with the `response` it holds (at the top).
    Object(Box<Item<'a>>, Option<Box<Document<'a>>>),
    /// Another JSON value (its kind).
    Other(&'static str),
}

/// Reads a document (`top`) or a `response` value (no `response` key of
/// its own is read then: it is an unknown field).
struct DocVisitor {
    top: bool,
}

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Document<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars_are_other!(Document::Other);
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(i) = seq.next_element::<Slot<Item<'de>>>()? {
            items.push(i);
        }
        Ok(Document::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut item = Item::default();
        let mut response = None;
        let mut first = true;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if first && key.0 == NUMBER_TOKEN {
                let text: Key<'de> = map.next_value()?;
                text.0.parse::<Number>().map_err(de::Error::custom)?;
                return Ok(Document::Other("number"));
            }
            first = false;
            if self.top && key.0 == "response" {
                response = Some(Box::new(map.next_value_seed(DocVisitor { top: false })?));
            } else if !item.field(&key.0, &mut map)? {
                map.next_value::<Skip>()?;
            }
        }
        Ok(Document::Object(Box::new(item), response))
    }
}

impl<'de> de::DeserializeSeed<'de> for DocVisitor {
    type Value = Document<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Deserialize<'de> for Document<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DocVisitor { top: true })
    }
}
