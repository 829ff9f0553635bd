//! Bounds on one STIX object's JSON, checked while it is parsed: how deep
//! it nests, how many members a JSON object has, how many items an array
//! has, how long a string (or a number's text, or a member name) is, and
//! how many bytes the whole object is.
//!
//! Every byte a partner sends may be crafted; these bound what one object
//! can make a parser and every later walk over its tree do. They are
//! checked by [`crate::Doc::parse_with_limits`] and
//! [`crate::Object::parse_with_limits`] in the same pass that builds the
//! tree (no second reading of the text); [`crate::Doc::parse`] and
//! [`crate::Object::parse`] apply [`JsonLimits::default`]. A bundle or an
//! envelope is many objects: each object is held to the limits on its own.

use crate::error::{JsonPath, PathSeg};
use std::fmt;

/// Bounds on one object's JSON. [`JsonLimits::default`] fits any STIX
/// object seen in practice with a wide margin; an operator raises one
/// with its `[limits]` setting (named on each field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Deepest nesting of JSON objects and arrays, the object itself
    /// being depth 1 (`[limits] stix_max_depth`). At most
    /// [`JsonLimits::MAX_DEPTH`], serde_json's own bound.
    pub max_depth: usize,
    /// Most members in one JSON object, a repeated name counted each time
    /// (`[limits] stix_max_members`).
    pub max_members: usize,
    /// Most items in one array (`[limits] stix_max_array_items`).
    pub max_array_items: usize,
    /// Longest string, member name or number text, in bytes after
    /// unescaping (`[limits] stix_max_string_bytes`).
    pub max_string_bytes: usize,
    /// Largest object, in bytes of its JSON text
    /// (`[limits] stix_max_object_bytes`).
    pub max_object_bytes: usize,
}

impl JsonLimits {
    /// Default of [`JsonLimits::max_depth`]: 64.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// Default of [`JsonLimits::max_members`]: 10,000.
    pub const DEFAULT_MAX_MEMBERS: usize = 10_000;
    /// Default of [`JsonLimits::max_array_items`]: 100,000.
    pub const DEFAULT_MAX_ARRAY_ITEMS: usize = 100_000;
    /// Default of [`JsonLimits::max_string_bytes`]: 1 MiB.
    pub const DEFAULT_MAX_STRING_BYTES: usize = 1 << 20;
    /// Default of [`JsonLimits::max_object_bytes`]: 16 MiB.
    pub const DEFAULT_MAX_OBJECT_BYTES: usize = 16 << 20;
    /// The deepest [`JsonLimits::max_depth`] can be: serde_json refuses
    /// the 128th level of nesting whatever is configured.
    pub const MAX_DEPTH: usize = 127;
}

impl Default for JsonLimits {
    fn default() -> JsonLimits {
        JsonLimits {
            max_depth: JsonLimits::DEFAULT_MAX_DEPTH,
            max_members: JsonLimits::DEFAULT_MAX_MEMBERS,
            max_array_items: JsonLimits::DEFAULT_MAX_ARRAY_ITEMS,
            max_string_bytes: JsonLimits::DEFAULT_MAX_STRING_BYTES,
            max_object_bytes: JsonLimits::DEFAULT_MAX_OBJECT_BYTES,
        }
    }
}

/// Which bound of [`JsonLimits`] an object exceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonLimit {
    /// [`JsonLimits::max_depth`]
    Depth,
    /// [`JsonLimits::max_members`]
    Members,
    /// [`JsonLimits::max_array_items`]
    ArrayItems,
    /// [`JsonLimits::max_string_bytes`]
    StringBytes,
    /// [`JsonLimits::max_object_bytes`]
    ObjectBytes,
}

impl JsonLimit {
    /// The limit's name in messages, e.g. `nesting-depth`.
    pub fn name(self) -> &'static str {
        match self {
            JsonLimit::Depth => "nesting-depth",
            JsonLimit::Members => "members-per-object",
            JsonLimit::ArrayItems => "items-per-array",
            JsonLimit::StringBytes => "string-length",
            JsonLimit::ObjectBytes => "object-size",
        }
    }

    /// The `[limits]` setting that raises it, e.g. `stix_max_depth`.
    pub fn setting(self) -> &'static str {
        match self {
            JsonLimit::Depth => "stix_max_depth",
            JsonLimit::Members => "stix_max_members",
            JsonLimit::ArrayItems => "stix_max_array_items",
            JsonLimit::StringBytes => "stix_max_string_bytes",
            JsonLimit::ObjectBytes => "stix_max_object_bytes",
        }
    }

    /// The bound in `limits`.
    pub fn of(self, limits: &JsonLimits) -> usize {
        match self {
            JsonLimit::Depth => limits.max_depth,
            JsonLimit::Members => limits.max_members,
            JsonLimit::ArrayItems => limits.max_array_items,
            JsonLimit::StringBytes => limits.max_string_bytes,
            JsonLimit::ObjectBytes => limits.max_object_bytes,
        }
    }
}

/// An object that exceeds one of its [`JsonLimits`]: which, the bound,
/// what was found and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitExceeded {
    /// The bound exceeded.
    pub limit: JsonLimit,
    /// Its value.
    pub max: usize,
    /// What was found: the depth reached, the member or item count reached
    /// (parsing stops at the first one over), the string's or the object's
    /// length in bytes.
    pub found: usize,
    /// Where, relative to the object: the container too deep or too large,
    /// the string too long (for a member name, the object holding it).
    pub path: JsonPath,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, max, path, found) = (self.limit.name(), self.max, &self.path, self.found);
        match self.limit {
            JsonLimit::Depth => write!(
                f,
                "object exceeds the {name} limit of {max} at {path} (nesting reaches {found})"
            )?,
            JsonLimit::Members => write!(
                f,
                "object exceeds the {name} limit of {max} at {path} (more than {max} members)"
            )?,
            JsonLimit::ArrayItems => write!(
                f,
                "object exceeds the {name} limit of {max} at {path} (more than {max} items)"
            )?,
            JsonLimit::StringBytes => write!(
                f,
                "object exceeds the {name} limit of {max} bytes at {path} (a string of {found} bytes)"
            )?,
            JsonLimit::ObjectBytes => write!(
                f,
                "object exceeds the {name} limit of {max} bytes (it is {found} bytes)"
            )?,
        }
        write!(f, "; [limits] {} raises it", self.limit.setting())
    }
}

impl std::error::Error for LimitExceeded {}

/// The counting state of one parse: the limits, the current depth, and the
/// first bound exceeded with its path, built in reverse as the parse
/// unwinds (so a valid object pays nothing for paths).
pub(crate) struct Budget {
    pub(crate) limits: JsonLimits,
    depth: usize,
    hit: Option<(JsonLimit, usize, Vec<PathSeg>)>,
}

/// The message of the serde error that aborts a parse when a limit is
/// hit; it never reaches a caller (the [`Budget`] holds the real error).
pub(crate) const ABORT: &str = "a JSON limit is exceeded";

impl Budget {
    pub(crate) fn new(limits: &JsonLimits) -> Budget {
        Budget {
            limits: *limits,
            depth: 0,
            hit: None,
        }
    }

    #[cold]
    fn exceed<E: serde::de::Error>(&mut self, limit: JsonLimit, found: usize) -> E {
        self.hit = Some((limit, found, Vec::new()));
        E::custom(ABORT)
    }

    /// Entering an object or array.
    #[inline]
    pub(crate) fn enter<E: serde::de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(self.exceed(JsonLimit::Depth, self.depth));
        }
        Ok(())
    }

    /// Leaving an object or array.
    #[inline]
    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// A string, member name or number text of `len` bytes.
    #[inline]
    pub(crate) fn string<E: serde::de::Error>(&mut self, len: usize) -> Result<(), E> {
        if len > self.limits.max_string_bytes {
            return Err(self.exceed(JsonLimit::StringBytes, len));
        }
        Ok(())
    }

    /// The `n`th member of an object (1-based).
    #[inline]
    pub(crate) fn member<E: serde::de::Error>(&mut self, n: usize) -> Result<(), E> {
        if n > self.limits.max_members {
            return Err(self.exceed(JsonLimit::Members, n));
        }
        Ok(())
    }

    /// The `n`th item of an array (1-based).
    #[inline]
    pub(crate) fn item<E: serde::de::Error>(&mut self, n: usize) -> Result<(), E> {
        if n > self.limits.max_array_items {
            return Err(self.exceed(JsonLimit::ArrayItems, n));
        }
        Ok(())
    }

    /// The parse failed inside member `key`: when a limit was hit, the
    /// path gains that step.
    #[cold]
    pub(crate) fn in_key(&mut self, key: &str) {
        if let Some((_, _, rev)) = &mut self.hit {
            rev.push(PathSeg::Key(key.to_owned()));
        }
    }

    /// The parse failed inside item `i`.
    #[cold]
    pub(crate) fn in_index(&mut self, i: usize) {
        if let Some((_, _, rev)) = &mut self.hit {
            rev.push(PathSeg::Index(i));
        }
    }

    /// The limit exceeded, if one was.
    pub(crate) fn exceeded(self) -> Option<LimitExceeded> {
        let (limit, found, mut rev) = self.hit?;
        rev.reverse();
        Some(LimitExceeded {
            limit,
            max: limit.of(&self.limits),
            found,
            path: JsonPath(rev),
        })
    }
}

/// The [`LimitExceeded`] of a text longer than
/// [`JsonLimits::max_object_bytes`], checked before it is parsed.
pub(crate) fn check_size(text: &str, limits: &JsonLimits) -> Result<(), LimitExceeded> {
    if text.len() > limits.max_object_bytes {
        return Err(LimitExceeded {
            limit: JsonLimit::ObjectBytes,
            max: limits.max_object_bytes,
            found: text.len(),
            path: JsonPath::root(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Doc, Object, ObjectError};
    use proptest::prelude::*;

    const SMALL: JsonLimits = JsonLimits {
        max_depth: 4,
        max_members: 3,
        max_array_items: 5,
        max_string_bytes: 8,
        max_object_bytes: 64,
    };

    /// Both parsers' verdict: `Ok` or the exceeded limit; they must agree
    /// on it and on the message.
    fn verdict(text: &str, limits: &JsonLimits) -> Result<(), LimitExceeded> {
        let d = Doc::parse_with_limits(text, limits).map(|_| ());
        let o = Object::parse_with_limits(text, limits).map(|_| ());
        assert_eq!(
            d.as_ref().map_err(ToString::to_string),
            o.as_ref().map_err(ToString::to_string),
            "{text}"
        );
        match d {
            Ok(()) => Ok(()),
            Err(ObjectError::Limit(l)) => Err(l),
            Err(other) => panic!("{text}: not a limit: {other}"),
        }
    }

    fn nested(depth: usize) -> String {
        // The object is depth 1; each `[` one more.
        format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    }

    #[test]
    fn depth_at_the_limit_passes_one_over_fails_with_its_path() {
        assert_eq!(verdict(&nested(4), &SMALL), Ok(()));
        let e = verdict(&nested(5), &SMALL).unwrap_err();
        assert_eq!(e.limit, JsonLimit::Depth);
        assert_eq!((e.max, e.found), (4, 5));
        assert_eq!(e.path.to_string(), "$.a[0][0][0]");
        assert_eq!(
            e.to_string(),
            "object exceeds the nesting-depth limit of 4 at $.a[0][0][0] (nesting reaches 5); \
             [limits] stix_max_depth raises it"
        );
        // Objects count as arrays do; an empty one too.
        assert_eq!(verdict(r#"{"x":{"y":{"z":{}}}}"#, &SMALL), Ok(()));
        let e = verdict(r#"{"x":{"y":{"z":{"w":{}}}}}"#, &SMALL).unwrap_err();
        assert_eq!(e.path.to_string(), "$.x.y.z.w");
        // A number (a map inside serde_json) is not a level.
        assert_eq!(verdict(r#"{"x":{"y":{"z":{"n":1.5}}}}"#, &SMALL), Ok(()));
    }

    #[test]
    fn default_depth_is_64_and_deeper_than_serde_json_is_still_named() {
        let l = JsonLimits::default();
        assert_eq!(verdict(&nested(64), &l), Ok(()));
        let e = verdict(&nested(65), &l).unwrap_err();
        assert_eq!((e.limit, e.max), (JsonLimit::Depth, 64));
        let e = verdict(&nested(500), &l).unwrap_err();
        assert_eq!(e.limit, JsonLimit::Depth);
        // At the deepest setting, serde_json's own bound is the next wall.
        let max = JsonLimits {
            max_depth: JsonLimits::MAX_DEPTH,
            ..l
        };
        assert_eq!(verdict(&nested(JsonLimits::MAX_DEPTH), &max), Ok(()));
    }

    #[test]
    fn members_at_the_limit_pass_one_over_fails() {
        assert_eq!(verdict(r#"{"x":{"a":1,"b":2,"c":3}}"#, &SMALL), Ok(()));
        let e = verdict(r#"{"x":{"a":1,"b":2,"c":3,"d":4}}"#, &SMALL).unwrap_err();
        assert_eq!((e.limit, e.max, e.found), (JsonLimit::Members, 3, 4));
        assert_eq!(e.path.to_string(), "$.x");
        // A repeated name is counted each time it is read.
        let e = verdict(r#"{"a":1,"a":2,"a":3,"a":4}"#, &SMALL).unwrap_err();
        assert_eq!(
            (e.limit, e.path.to_string()),
            (JsonLimit::Members, "$".into())
        );
        assert!(e.to_string().contains("members-per-object limit of 3"));
    }

    #[test]
    fn items_at_the_limit_pass_one_over_fails() {
        assert_eq!(verdict(r#"{"l":[1,2,3,4,5]}"#, &SMALL), Ok(()));
        let e = verdict(r#"{"l":[[1,2,3,4,5,6]]}"#, &SMALL).unwrap_err();
        assert_eq!((e.limit, e.max, e.found), (JsonLimit::ArrayItems, 5, 6));
        assert_eq!(e.path.to_string(), "$.l[0]");
        assert!(e.to_string().contains("stix_max_array_items"));
    }

    #[test]
    fn strings_names_and_numbers_at_the_limit_pass_one_over_fails() {
        assert_eq!(verdict(r#"{"s":"12345678"}"#, &SMALL), Ok(()));
        let e = verdict(r#"{"t":["ok","123456789"]}"#, &SMALL).unwrap_err();
        assert_eq!((e.limit, e.max, e.found), (JsonLimit::StringBytes, 8, 9));
        assert_eq!(e.path.to_string(), "$.t[1]");
        // Escapes count as what they stand for.
        assert_eq!(
            verdict(r#"{"s":"\u00e9\u00e9\u00e9\u00e9"}"#, &SMALL),
            Ok(())
        );
        // A member name is a string; the path is the object holding it.
        let e = verdict(r#"{"o":{"123456789":1}}"#, &SMALL).unwrap_err();
        assert_eq!(
            (e.limit, e.path.to_string()),
            (JsonLimit::StringBytes, "$.o".into())
        );
        // A number's text too (arbitrary precision keeps it whole).
        assert_eq!(verdict(r#"{"n":12345678}"#, &SMALL), Ok(()));
        let e = verdict(r#"{"n":123456789}"#, &SMALL).unwrap_err();
        assert_eq!(
            (e.limit, e.path.to_string()),
            (JsonLimit::StringBytes, "$.n".into())
        );
    }

    #[test]
    fn object_size_at_the_limit_passes_one_over_fails() {
        let at = format!("{{\"p\":\"{}\"}}", "x".repeat(64 - 8));
        assert_eq!(at.len(), 64);
        let big = JsonLimits {
            max_string_bytes: 1000,
            ..SMALL
        };
        assert_eq!(verdict(&at, &big), Ok(()));
        let over = format!("{{\"p\":\"{}\"}}", "x".repeat(64 - 7));
        let e = verdict(&over, &big).unwrap_err();
        assert_eq!((e.limit, e.max, e.found), (JsonLimit::ObjectBytes, 64, 65));
        assert_eq!(
            e.to_string(),
            "object exceeds the object-size limit of 64 bytes (it is 65 bytes); \
             [limits] stix_max_object_bytes raises it"
        );
    }

    #[test]
    fn json_errors_stay_json_errors() {
        // A syntax error inside a deep path is not a limit.
        for text in [r#"{"a":[1,}"#, r#"{"a":"x"} y"#] {
            assert!(matches!(
                Doc::parse_with_limits(text, &SMALL),
                Err(ObjectError::Json { .. })
            ));
        }
    }

    fn arb_text() -> impl Strategy<Value = String> {
        // Random nesting and sizes around SMALL's bounds, valid or not.
        let leaf = prop_oneof![
            Just("1".to_owned()),
            Just("1.25e3".to_owned()),
            "[a-z]{0,12}".prop_map(|s| format!("\"{s}\"")),
            Just("null".to_owned()),
        ];
        leaf.prop_recursive(8, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("[a-d]{0,10}", inner), 0..6).prop_map(|m| {
                    let members: Vec<String> =
                        m.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    proptest! {
        /// Random nesting and sizes: never a panic, both parsers agree,
        /// and what is accepted is within every bound.
        #[test]
        fn random_nesting_and_sizes(body in arb_text(), cut in 0usize..200, depth in 1usize..8) {
            let limits = JsonLimits { max_depth: depth, max_object_bytes: 4096, ..SMALL };
            let text = format!("{{\"v\":{body}}}");
            let _ = verdict(&text, &limits);
            let cut = &text[..cut.min(text.len())];
            let d = Doc::parse_with_limits(cut, &limits).map(|_| ()).map_err(|e| e.to_string());
            let o = Object::parse_with_limits(cut, &limits).map(|_| ()).map_err(|e| e.to_string());
            prop_assert_eq!(d, o);
            if let Ok(obj) = Object::parse_with_limits(&text, &limits) {
                fn within(v: &serde_json::Value, depth: usize, l: &JsonLimits) -> bool {
                    match v {
                        serde_json::Value::Array(a) => depth <= l.max_depth
                            && a.len() <= l.max_array_items
                            && a.iter().all(|x| within(x, depth + 1, l)),
                        serde_json::Value::Object(m) => depth <= l.max_depth
                            && m.len() <= l.max_members
                            && m.iter().all(|(k, x)| k.len() <= l.max_string_bytes && within(x, depth + 1, l)),
                        serde_json::Value::String(s) => s.len() <= l.max_string_bytes,
                        _ => true,
                    }
                }
                prop_assert!(within(&serde_json::Value::Object(obj.into_map()), 1, &limits));
            }
        }
    }
}
