//! What validation reports: an [`Issue`] names the object, the property (as a
//! JSON path relative to the object) and what is wrong.

use std::fmt;

/// How bad an [`Issue`] is. Only [`Severity::Error`] makes an object invalid;
/// warnings are the specification's SHOULDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A MUST of the specification is broken: the object is invalid.
    Error,
    /// A SHOULD is not followed: the object is valid but worth a look.
    Warning,
}

/// Which rule of the specification an [`Issue`] is about. Stable codes, so
/// that tests and tools can filter on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The text is not JSON, or a value is not a JSON object where one must be.
    Json,
    /// A required property is missing (STIX 2.1 §3 and each type's section).
    RequiredProperty,
    /// A property has the wrong JSON type or an impossible value.
    PropertyType,
    /// An identifier is not `type--UUID`, or its type does not match (§2.9).
    Identifier,
    /// A timestamp is not RFC 3339 in UTC with a `Z` (§3.2).
    Timestamp,
    /// `modified` is earlier than `created`, or another ordering MUST is broken.
    TimestampOrder,
    /// `spec_version` is missing or not `2.1` (§3.2).
    SpecVersion,
    /// A value is outside a closed vocabulary or enumeration (§10).
    Vocabulary,
    /// A value is outside an open vocabulary (a SHOULD: warning only).
    OpenVocabulary,
    /// A reference points at an object of a type the property does not allow.
    Reference,
    /// A TLP marking definition is not one of the four standard ones (§7.2.1).
    Tlp,
    /// A granular marking is malformed or its selector does not resolve (§7.2.3).
    GranularMarking,
    /// An indicator's pattern is missing or `pattern_type` is unknown.
    Pattern,
    /// A property name breaks the naming rules (§3.1) or is reserved.
    PropertyName,
    /// A property or object is not allowed on this object, or two exclude each other.
    Forbidden,
    /// An extension or custom property breaks a rule of §11.
    Extension,
    /// A cyber-observable id is not the deterministic UUIDv5 (a SHOULD, §2.9).
    DeterministicId,
    /// A bundle is malformed (§8).
    Bundle,
    /// Two objects in one input share id and `modified` but differ in content.
    Conflict,
    /// Valid STIX that the node's exchange policy refuses from this sender
    /// (not a rule of the specification).
    Policy,
}

impl Rule {
    /// A short stable code, e.g. `required-property`.
    pub fn code(self) -> &'static str {
        match self {
            Rule::Json => "json",
            Rule::RequiredProperty => "required-property",
            Rule::PropertyType => "property-type",
            Rule::Identifier => "identifier",
            Rule::Timestamp => "timestamp",
            Rule::TimestampOrder => "timestamp-order",
            Rule::SpecVersion => "spec-version",
            Rule::Vocabulary => "vocabulary",
            Rule::OpenVocabulary => "open-vocabulary",
            Rule::Reference => "reference",
            Rule::Tlp => "tlp",
            Rule::GranularMarking => "granular-marking",
            Rule::Pattern => "pattern",
            Rule::PropertyName => "property-name",
            Rule::Forbidden => "forbidden",
            Rule::Extension => "extension",
            Rule::DeterministicId => "deterministic-id",
            Rule::Bundle => "bundle",
            Rule::Conflict => "conflict",
            Rule::Policy => "policy",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSeg {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// A JSON path relative to an object, printed as `$.granular_markings[0].selectors[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JsonPath(pub Vec<PathSeg>);

impl JsonPath {
    /// The path of the object itself, `$`.
    pub fn root() -> Self {
        JsonPath(Vec::new())
    }

    /// The path of a top-level property, `$.name`.
    pub fn prop(name: &str) -> Self {
        JsonPath(vec![PathSeg::Key(name.to_owned())])
    }

    /// This path extended by a member name.
    pub fn key(&self, name: &str) -> Self {
        let mut p = self.clone();
        p.0.push(PathSeg::Key(name.to_owned()));
        p
    }

    /// This path extended by an array index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(PathSeg::Index(i));
        p
    }

    /// The segments of the path.
    pub fn segments(&self) -> &[PathSeg] {
        &self.0
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for seg in &self.0 {
            match seg {
                PathSeg::Key(k) if is_plain_key(k) => write!(f, ".{k}")?,
                PathSeg::Key(k) => write!(f, "[{}]", serde_json::Value::String(k.clone()))?,
                PathSeg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One thing wrong (or worth a look) in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Error (invalid) or warning (valid, a SHOULD not followed).
    pub severity: Severity,
    /// The rule broken.
    pub rule: Rule,
    /// The `id` of the object, when it has a usable one.
    pub object_id: Option<String>,
    /// Where in the object, relative to the object.
    pub path: JsonPath,
    /// What is wrong, in words, naming the value found and what was expected.
    pub message: String,
}

impl Issue {
    /// An error (MUST) at `path`.
    pub fn error(rule: Rule, path: JsonPath, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Error,
            rule,
            object_id: None,
            path,
            message: message.into(),
        }
    }

    /// A warning (SHOULD) at `path`.
    pub fn warning(rule: Rule, path: JsonPath, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Warning,
            rule,
            object_id: None,
            path,
            message: message.into(),
        }
    }

    /// Whether this issue makes its object invalid.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let id = self.object_id.as_deref().unwrap_or("<no id>");
        write!(
            f,
            "{sev}[{}] {id} {}: {}",
            self.rule, self.path, self.message
        )
    }
}

/// A position in a text: byte offset, and 1-based line and column (columns
/// count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Byte offset from the start of the text.
    pub offset: usize,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
}

impl Pos {
    /// The line and column of byte `offset` in `src`.
    ///
    /// Offsets past the end are clamped to the end.
    pub fn of(src: &[u8], offset: usize) -> Pos {
        let offset = offset.min(src.len());
        let before = &src[..offset];
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&src[line_start..offset])
            .chars()
            .count()
            + 1;
        Pos { offset, line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display() {
        let p = JsonPath::prop("granular_markings")
            .index(0)
            .key("selectors")
            .index(1);
        assert_eq!(p.to_string(), "$.granular_markings[0].selectors[1]");
        assert_eq!(JsonPath::prop("a b").to_string(), "$[\"a b\"]");
        assert_eq!(JsonPath::root().to_string(), "$");
    }

    #[test]
    fn pos_of_offset() {
        let src = "ab\ncdé\nf".as_bytes();
        assert_eq!(
            Pos::of(src, 0),
            Pos {
                offset: 0,
                line: 1,
                col: 1
            }
        );
        assert_eq!(
            Pos::of(src, 4),
            Pos {
                offset: 4,
                line: 2,
                col: 2
            }
        );
        // 'f' is after a two-byte character: column counts characters.
        assert_eq!(Pos::of(src, 8).line, 3);
        assert_eq!(Pos::of(src, 8).col, 1);
        assert_eq!(Pos::of(src, 7).col, 4);
    }
}
