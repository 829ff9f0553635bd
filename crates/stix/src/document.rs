//! Reading a JSON document that holds STIX: a bundle (§8) or a single object.
//!
//! [`read_document`] streams: each object of a bundle's `objects` array is
//! handed to the caller as raw text with its byte offset, as soon as it has
//! been scanned, before the rest of the document is read. So a document that
//! breaks half-way (truncated, a stray byte) still delivers every object
//! before the break, and the error names the line and column of the break.
//! Nothing is parsed into a tree here; the caller parses each object.

use crate::error::Pos;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// One object of a document, as raw text.
#[derive(Debug, Clone, Copy)]
pub struct RawObject<'a> {
    /// Position in the bundle's `objects` array (0 for a single object).
    pub index: usize,
    /// Byte offset of the object's first byte in the document.
    pub offset: usize,
    /// The object's exact text.
    pub text: &'a str,
}

/// What a document turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentInfo {
    /// Whether it was a bundle (top-level `"type": "bundle"`), as opposed to a single object.
    pub is_bundle: bool,
    /// For a bundle, the top-level properties other than `objects` (`type`,
    /// `id`, …); empty for a single object.
    pub header: Map<String, Value>,
    /// How many objects were handed over.
    pub n_objects: usize,
    /// Whether the top-level had an `objects` member that was not an array.
    pub objects_not_array: bool,
}

/// A document that is not JSON, or not a JSON object, at a position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct DocumentError {
    /// Where reading stopped.
    pub pos: Pos,
    /// What was wrong.
    pub message: String,
}

/// Reads a bundle or a single object from `src`, handing each object to `each`
/// as it is reached.
///
/// # Errors
/// A [`DocumentError`] naming line and column when `src` is not a JSON object,
/// is truncated, has invalid UTF-8 or trailing garbage. Objects before the
/// fault have already been handed to `each`.
pub fn read_document<'a>(
    src: &'a [u8],
    mut each: impl FnMut(RawObject<'a>),
) -> Result<DocumentInfo, DocumentError> {
    let start = src
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(src.len());
    if start == src.len() {
        return Err(DocumentError {
            pos: Pos::of(src, start),
            message: "empty document: expected a STIX bundle or object".into(),
        });
    }
    if src[start] != b'{' {
        return Err(DocumentError {
            pos: Pos::of(src, start),
            message: format!(
                "expected a JSON object (a STIX bundle or object), found `{}`",
                char::from(src[start]).escape_default()
            ),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(src);
    let mut n = 0usize;
    let visitor = DocVisitor {
        src,
        each: &mut each,
        n: &mut n,
    };
    let parsed = de
        .deserialize_map(visitor)
        .and_then(|summary| de.end().map(|()| summary));
    let (raw_header, objects_seen, objects_not_array) = match parsed {
        Ok(s) => s,
        Err(e) => return Err(json_error(src, &e)),
    };
    let is_bundle = raw_header
        .iter()
        .any(|(k, v)| k == "type" && v.get() == "\"bundle\"");
    // The header is only parsed for bundles; a single object's members are
    // the caller's to parse.
    let header: Map<String, Value> = if is_bundle || objects_seen {
        raw_header
            .into_iter()
            .map(|(k, v)| {
                (
                    k.into_owned(),
                    serde_json::from_str(v.get()).unwrap_or(Value::Null),
                )
            })
            .collect()
    } else {
        Map::new()
    };
    if !is_bundle && !objects_seen {
        let end = src.len()
            - src
                .iter()
                .rev()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(0);
        // The whole document is one object; it parsed, so it is UTF-8.
        let text = std::str::from_utf8(&src[start..end]).map_err(|e| DocumentError {
            pos: Pos::of(src, start + e.valid_up_to()),
            message: "invalid UTF-8".into(),
        })?;
        each(RawObject {
            index: 0,
            offset: start,
            text,
        });
        n = 1;
    }
    Ok(DocumentInfo {
        is_bundle: is_bundle || objects_seen,
        header,
        n_objects: n,
        objects_not_array,
    })
}

fn json_error(src: &[u8], e: &serde_json::Error) -> DocumentError {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    };
    // serde_json reports line and column (bytes); rebuild a Pos with the offset.
    let offset = offset_of_line_col(src, e.line(), e.column());
    let mut pos = Pos::of(src, offset);
    if e.line() > 0 {
        pos.line = e.line();
    }
    DocumentError { pos, message }
}

fn offset_of_line_col(src: &[u8], line: usize, col: usize) -> usize {
    let mut off = 0usize;
    for _ in 1..line {
        match memchr::memchr(b'\n', &src[off..]) {
            Some(i) => off += i + 1,
            None => return src.len(),
        }
    }
    (off + col.saturating_sub(1)).min(src.len())
}

struct DocVisitor<'s, 'f, 'a, F> {
    src: &'a [u8],
    each: &'f mut F,
    n: &'s mut usize,
}

/// A member name, borrowed from the input unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Top-level members other than `objects`, unparsed.
type RawHeader<'de> = Vec<(Cow<'de, str>, &'de RawValue)>;

impl<'de, F: FnMut(RawObject<'de>)> Visitor<'de> for DocVisitor<'_, '_, 'de, F> {
    type Value = (RawHeader<'de>, bool, bool);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a STIX bundle or object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Members are only scanned here, not parsed: for a single object the
        // caller parses the whole text anyway.
        let mut header = Vec::new();
        let mut objects_seen = false;
        let mut objects_not_array = false;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == "objects" && !objects_seen {
                let is_array = map.next_value_seed(ObjectsSeed {
                    src: self.src,
                    each: &mut *self.each,
                    n: &mut *self.n,
                })?;
                objects_seen = is_array;
                objects_not_array = !is_array;
            } else {
                let v: &'de RawValue = map.next_value()?;
                header.push((key, v));
            }
        }
        Ok((header, objects_seen, objects_not_array))
    }
}

/// Streams the elements of `objects`; yields whether `objects` was an array.
struct ObjectsSeed<'s, 'f, 'a, F> {
    src: &'a [u8],
    each: &'f mut F,
    n: &'s mut usize,
}

impl<'de, F: FnMut(RawObject<'de>)> DeserializeSeed<'de> for ObjectsSeed<'_, '_, 'de, F> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(RawObject<'de>)> Visitor<'de> for ObjectsSeed<'_, '_, 'de, F> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of STIX objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let base = self.src.as_ptr() as usize;
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            let text = raw.get();
            (self.each)(RawObject {
                index: *self.n,
                offset: text.as_ptr() as usize - base,
                text,
            });
            *self.n += 1;
        }
        Ok(true)
    }

    // Anything else is "not an array"; with arbitrary_precision numbers
    // arrive as maps, so they land in visit_map too.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(index, offset, text)` of each object handed over.
    type Seen = Vec<(usize, usize, String)>;

    fn collect(src: &str) -> (Result<DocumentInfo, DocumentError>, Seen) {
        let mut got = Vec::new();
        let r = read_document(src.as_bytes(), |o| {
            got.push((o.index, o.offset, o.text.to_owned()))
        });
        (r, got)
    }

    #[test]
    fn bundle_objects_stream_with_offsets() {
        let src =
            "{\"type\":\"bundle\",\"id\":\"bundle--x\",\"objects\":[\n {\"a\":1},\n {\"b\":2}]}";
        let (r, got) = collect(src);
        let info = r.unwrap();
        assert!(info.is_bundle);
        assert_eq!(info.n_objects, 2);
        assert_eq!(info.header.get("id").unwrap(), "bundle--x");
        assert_eq!(got[0].2, "{\"a\":1}");
        assert_eq!(&src[got[1].1..got[1].1 + 7], "{\"b\":2}");
        assert_eq!(Pos::of(src.as_bytes(), got[1].1).line, 3);
    }

    #[test]
    fn single_object_document() {
        let (r, got) = collect("  {\"type\":\"indicator\"}\n");
        assert!(!r.unwrap().is_bundle);
        assert_eq!(got, vec![(0, 2, "{\"type\":\"indicator\"}".to_owned())]);
    }

    #[test]
    fn truncated_bundle_keeps_objects_before_the_break() {
        let (r, got) = collect("{\"type\":\"bundle\",\"objects\":[{\"a\":1},\n{\"b\":");
        assert_eq!(got.len(), 1);
        let e = r.unwrap_err();
        assert_eq!(e.pos.line, 2);
        assert!(e.message.contains("EOF"), "{}", e.message);
    }

    #[test]
    fn objects_not_an_array() {
        let (r, got) = collect("{\"type\":\"bundle\",\"objects\":{\"a\":1}}");
        assert!(got.is_empty());
        assert!(r.unwrap().objects_not_array);
    }

    #[test]
    fn not_an_object_or_bad_bytes() {
        assert!(read_document(b"[1]", |_| ()).is_err());
        assert!(read_document(b"   ", |_| ()).is_err());
        let e = read_document(b"{\"a\":\"\xff\"}", |_| ()).unwrap_err();
        assert_eq!(e.pos.line, 1);
        let e = read_document(b"{\"a\":1} x", |_| ()).unwrap_err();
        assert!(e.message.contains("trailing"), "{}", e.message);
    }
}
