//! The MUST rules of STIX 2.1, applied to one object at a time.
//!
//! [`validate_object`] returns every [`Issue`] found; an object is valid when
//! none of them is an error. Each issue carries the object id, the JSON path
//! of the property and a message naming the value found and what was expected.
//!
//! The per-type facts (properties, their types, required ones, reference
//! targets, vocabularies) are tables in [`crate::spec`]; this module is the
//! engine that walks them, plus the co-constraints that tables cannot say.
//!
//! Architecture invariant: nothing here allocates unless it reports an issue.
//! Paths are built as borrowed [`Loc`] chains on the stack and turned into a
//! [`JsonPath`] only when an issue is made.

use crate::CommonProps;
use crate::document::DocumentInfo;
use crate::dom::{Doc, Map, Value};
use crate::error::{Issue, JsonPath, Rule};
use crate::id::{is_valid_type_name, parse_identifier};
use crate::object::{Kind, Object, kind_of_type};
use crate::spec::{self, Prop, Target, Ty};
use crate::timestamp::Timestamp;

/// Validates one object against the rules of STIX 2.1.
///
/// The rules run on the borrowed tree ([`validate_doc`]); an owned object
/// is written out and read back as one, which costs a little more than
/// [`Doc::parse`] of the received text (what the ingest paths use).
pub fn validate_object(obj: &Object) -> Vec<Issue> {
    let text = obj.to_json();
    match Doc::parse(&text) {
        Ok(doc) => validate_doc(&doc),
        // An object's own JSON always reads back.
        Err(e) => vec![Issue::error(Rule::Json, JsonPath::root(), e.to_string())],
    }
}

/// Validates one object, parsed with [`Doc::parse`], against the rules of
/// STIX 2.1.
pub fn validate_doc(obj: &Doc<'_>) -> Vec<Issue> {
    let mut out = Vec::new();
    common(obj, &mut out);
    if let Some(ty) = obj.type_name() {
        rules(obj, ty, &mut out);
    }
    if !out.is_empty() {
        let id = obj.id().map(str::to_owned);
        for issue in &mut out {
            issue.object_id.clone_from(&id);
        }
    }
    out
}

/// Whether a list of issues has no error.
pub fn is_valid(issues: &[Issue]) -> bool {
    !issues.iter().any(Issue::is_error)
}

/// Validates the top level of a bundle (§8): `type` is `bundle`, `id` is a
/// `bundle--UUID`, `objects`, when present, is an array.
pub fn validate_bundle_header(info: &DocumentInfo) -> Vec<Issue> {
    let mut out = Vec::new();
    if !info.is_bundle {
        return out;
    }
    let h = &info.header;
    match h.get("type").and_then(serde_json::Value::as_str) {
        Some("bundle") => {}
        Some(other) => out.push(Issue::error(
            Rule::Bundle,
            JsonPath::prop("type"),
            format!("a document with `objects` must have type `bundle`, found `{other}`"),
        )),
        None => out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("type"),
            "bundle has no `type`",
        )),
    }
    match h.get("id").and_then(serde_json::Value::as_str) {
        Some(id) => match parse_identifier(id) {
            Ok(p) if p.type_name == "bundle" => {}
            Ok(_) => out.push(Issue::error(
                Rule::Identifier,
                JsonPath::prop("id"),
                format!("bundle id `{id}` must start with `bundle--`"),
            )),
            Err(e) => out.push(Issue::error(
                Rule::Identifier,
                JsonPath::prop("id"),
                e.to_string(),
            )),
        },
        None => out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("id"),
            "bundle has no `id`",
        )),
    }
    if info.objects_not_array {
        out.push(Issue::error(
            Rule::PropertyType,
            JsonPath::prop("objects"),
            "`objects` must be an array of STIX objects",
        ));
    }
    let id = h
        .get("id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    for issue in &mut out {
        issue.object_id.clone_from(&id);
    }
    out
}

// ---------------------------------------------------------------------------
// Locations and reporting

/// Where a value sits, as a chain of borrowed steps; cheap to extend, turned
/// into a [`JsonPath`] only when an issue is reported.
#[derive(Clone, Copy)]
enum Loc<'a> {
    Root,
    Key(&'a Loc<'a>, &'a str),
    Idx(&'a Loc<'a>, usize),
}

impl<'a> Loc<'a> {
    fn key(&'a self, k: &'a str) -> Loc<'a> {
        Loc::Key(self, k)
    }
    fn idx(&'a self, i: usize) -> Loc<'a> {
        Loc::Idx(self, i)
    }
    fn path(&self) -> JsonPath {
        let mut p = match self {
            Loc::Root => return JsonPath::root(),
            Loc::Key(parent, _) | Loc::Idx(parent, _) => parent.path(),
        };
        match self {
            Loc::Key(_, k) => p.0.push(crate::error::PathSeg::Key((*k).to_owned())),
            Loc::Idx(_, i) => p.0.push(crate::error::PathSeg::Index(*i)),
            Loc::Root => {}
        }
        p
    }
    /// The last member name on the path, for messages.
    fn name(&self) -> String {
        match self {
            Loc::Root => "$".into(),
            Loc::Key(_, k) => format!("`{k}`"),
            Loc::Idx(..) => format!("`{}`", self.path()),
        }
    }
}

fn err(out: &mut Vec<Issue>, rule: Rule, at: &Loc<'_>, msg: String) {
    out.push(Issue::error(rule, at.path(), msg));
}

fn warn(out: &mut Vec<Issue>, rule: Rule, at: &Loc<'_>, msg: String) {
    out.push(Issue::warning(rule, at.path(), msg));
}

/// A short rendering of a value for messages.
fn show(v: &Value<'_>) -> String {
    let s = match v {
        Value::String(s) => format!("{:?}", s),
        Value::Object(_) | Value::Array(_) => serde_json::to_string(v).unwrap_or_default(),
        other => other.to_string(),
    };
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn found(v: &Value<'_>) -> String {
    format!("{} {}", v.type_name(), show(v))
}

// ---------------------------------------------------------------------------
// Common properties (§3.2)

fn common(obj: &Doc<'_>, out: &mut Vec<Issue>) {
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => {
            out.push(Issue::error(
                Rule::PropertyType,
                JsonPath::prop("type"),
                format!("`type` must be a string, found {}", found(other)),
            ));
            return;
        }
        None => {
            out.push(Issue::error(
                Rule::RequiredProperty,
                JsonPath::prop("type"),
                "missing required property `type`",
            ));
            return;
        }
    };
    if !is_valid_type_name(ty) {
        out.push(Issue::error(
            Rule::PropertyType,
            JsonPath::prop("type"),
            format!("`{ty}` is not a valid type name (3-250 of a-z, 0-9 and single hyphens)"),
        ));
    } else if ty == "action" {
        // §3.1: the type name `action` is reserved.
        out.push(Issue::error(
            Rule::Forbidden,
            JsonPath::prop("type"),
            "the type name `action` is reserved (§3.1) and must not be used".to_owned(),
        ));
    }
    match obj.get("id") {
        Some(Value::String(id)) => match parse_identifier(id) {
            Ok(p) if p.type_name != ty => out.push(Issue::error(
                Rule::Identifier,
                JsonPath::prop("id"),
                format!("id `{id}` must start with `{ty}--`, the object's type"),
            )),
            Ok(_) => {}
            Err(e) => out.push(Issue::error(
                Rule::Identifier,
                JsonPath::prop("id"),
                e.to_string(),
            )),
        },
        Some(other) => out.push(Issue::error(
            Rule::PropertyType,
            JsonPath::prop("id"),
            format!("`id` must be a string, found {}", found(other)),
        )),
        None => out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("id"),
            "missing required property `id`",
        )),
    }
    let kind = obj.kind();
    let needs_spec_version =
        !matches!(kind, Kind::Sco) && (kind != Kind::Custom || obj.is_versioned());
    match obj.get("spec_version") {
        Some(Value::String(v)) if v == "2.1" => {}
        Some(Value::String(v)) => out.push(Issue::error(
            Rule::SpecVersion,
            JsonPath::prop("spec_version"),
            format!("`spec_version` must be `2.1`, found `{v}`"),
        )),
        Some(other) => out.push(Issue::error(
            Rule::SpecVersion,
            JsonPath::prop("spec_version"),
            format!(
                "`spec_version` must be the string `2.1`, found {}",
                found(other)
            ),
        )),
        None if needs_spec_version => out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("spec_version"),
            "missing required property `spec_version`",
        )),
        None => {}
    }
    let created = timestamp(obj, "created", out);
    let modified = timestamp(obj, "modified", out);
    // §11.2: a custom object with either timestamp is SDO-like and needs both;
    // one with neither is a custom SCO (§11.2, new-sco extensions).
    let custom_sdo =
        kind == Kind::Custom && (obj.get("created").is_some() || obj.get("modified").is_some());
    let needs_created = matches!(kind, Kind::Sdo | Kind::Sro | Kind::Meta) || custom_sdo;
    let needs_modified = matches!(kind, Kind::Sdo | Kind::Sro)
        || custom_sdo
        || ty == "language-content"
        || ty == "extension-definition";
    if needs_created && obj.get("created").is_none() {
        out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("created"),
            "missing required property `created`",
        ));
    }
    if needs_modified && obj.get("modified").is_none() {
        out.push(Issue::error(
            Rule::RequiredProperty,
            JsonPath::prop("modified"),
            "missing required property `modified`",
        ));
    }
    // §3.2: "The minimum precision MUST be milliseconds" for created and modified.
    for (name, t) in [("created", created), ("modified", modified)] {
        if let Some(t) = t
            && t.frac_digits < 3
        {
            out.push(Issue::error(
                    Rule::Timestamp,
                    JsonPath::prop(name),
                    format!(
                        "`{name}` ({}) must be precise to at least the millisecond (3 fractional digits, §3.2)",
                        obj.get_str(name).unwrap_or_default()
                    ),
                ));
        }
    }
    if let (Some(c), Some(m)) = (created, modified)
        && m < c
    {
        out.push(Issue::error(
            Rule::TimestampOrder,
            JsonPath::prop("modified"),
            format!(
                "`modified` ({}) must not be earlier than `created` ({})",
                obj.modified().unwrap_or_default(),
                obj.created().unwrap_or_default()
            ),
        ));
    }
}

/// Checks a timestamp property when present; returns it when it parses.
pub(crate) fn timestamp(obj: &Doc<'_>, name: &str, out: &mut Vec<Issue>) -> Option<Timestamp> {
    match obj.get(name)? {
        Value::String(s) => match Timestamp::parse(s) {
            Ok(t) => Some(t),
            Err(e) => {
                out.push(Issue::error(
                    Rule::Timestamp,
                    JsonPath::prop(name),
                    e.to_string(),
                ));
                None
            }
        },
        other => {
            out.push(Issue::error(
                Rule::Timestamp,
                JsonPath::prop(name),
                format!(
                    "`{name}` must be a timestamp string, found {}",
                    found(other)
                ),
            ));
            None
        }
    }
}

/// Properties that [`common`] checks, or that have rules of their own.
const HANDLED: &[&str] = &["type", "id", "spec_version", "created", "modified"];

// ---------------------------------------------------------------------------
// The engine

fn rules(obj: &Doc<'_>, ty: &str, out: &mut Vec<Issue>) {
    let map = obj.as_map();
    let spec = spec::type_spec(ty);
    let own: &'static [Prop] = spec.map_or(&[], |s| s.props);
    let root = Loc::Root;
    let toplevel_ext = has_toplevel_extension(map);
    for (name, v) in map {
        let name = name.as_str();
        if HANDLED.contains(&name) {
            continue;
        }
        let at = root.key(name);
        if v.is_null() {
            err(
                out,
                Rule::PropertyType,
                &at,
                format!("`{name}` is null: STIX has no null values; omit the property instead"),
            );
            continue;
        }
        match name {
            "granular_markings" => granular_markings(obj, v, &at, out),
            "extensions" => extensions(ty, v, &at, out),
            _ => {
                if let Some(p) =
                    spec::find_prop(own, name).or_else(|| spec::find_prop(spec::COMMON, name))
                {
                    check_value(v, p.ty, &at, out);
                } else {
                    custom_property(name, v, spec.is_some() && !toplevel_ext, &at, out);
                }
            }
        }
    }
    for p in own {
        if p.required && !map.contains_key(p.name) {
            err(
                out,
                Rule::RequiredProperty,
                &root.key(p.name),
                format!("missing required property `{}` of `{ty}`", p.name),
            );
        }
    }
    for &(t, later, earlier, strict) in spec::TIMESTAMP_ORDER {
        if t == ty {
            order(obj, later, earlier, strict, out);
        }
    }
    if let Some(v) = map.get("lang").and_then(Value::as_str)
        && !is_language_tag(v)
    {
        err(
            out,
            Rule::PropertyType,
            &root.key("lang"),
            format!("`lang` {v:?} is not an RFC 5646 language tag (§3.2)"),
        );
    }
    type_rules(obj, ty, out);
}

/// §3.1 property names; §11.1 custom properties.
fn custom_property(name: &str, v: &Value<'_>, spec_type: bool, at: &Loc<'_>, out: &mut Vec<Issue>) {
    if spec::RESERVED_PROPERTIES.contains(&name) {
        err(
            out,
            Rule::Forbidden,
            at,
            format!("`{name}` is a reserved property name (§3.1) and must not be used"),
        );
        return;
    }
    if !is_property_name(name) {
        err(
            out,
            Rule::PropertyName,
            at,
            format!(
                "property name `{name}` must be 3-250 characters of a-z, 0-9 and `_` (§3.1, §11.1)"
            ),
        );
    } else if spec_type && !name.starts_with("x_") {
        warn(
            out,
            Rule::PropertyName,
            at,
            format!(
                "custom property `{name}` should start with `x_` or be declared by an extension (§11.1)"
            ),
        );
    }
    custom_value(name, v, at, out);
}

/// The suffix rules of §3.1 (`_ref`, `_refs`, `_hex`, `_bin`) and the
/// list/dictionary rules of §2, for properties the specification does not define.
fn custom_value(name: &str, v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    if name.ends_with("_ref") || name.ends_with("_refs") {
        // §3.1 reserves the suffixes for identifier references; for
        // properties this specification does not define, a SHOULD.
        let mut found_issues = Vec::new();
        let ty = if name.ends_with("_ref") {
            Ty::Ref(Target::Any)
        } else {
            Ty::RefList(Target::Any)
        };
        check_value(v, ty, at, &mut found_issues);
        for mut i in found_issues {
            i.severity = crate::error::Severity::Warning;
            out.push(i);
        }
    } else if name.ends_with("_hex") {
        check_value(v, Ty::Hex, at, out);
    } else if name.ends_with("_bin") {
        check_value(v, Ty::Bin, at, out);
    } else if let Value::Array(a) = v
        && a.is_empty()
    {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} is an empty list: a list must contain at least one value (§2.8)",
                at.name()
            ),
        );
    }
}

fn is_property_name(s: &str) -> bool {
    (3..=250).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks one value against its type; `at` names where it is.
fn check_value(v: &Value<'_>, ty: Ty, at: &Loc<'_>, out: &mut Vec<Issue>) {
    match ty {
        Ty::Str => {
            if !v.is_string() {
                err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!("{} must be a string, found {}", at.name(), found(v)),
                );
            }
        }
        Ty::StrList => list(v, at, out, |x, at, out| check_value(x, Ty::Str, at, out)),
        Ty::Bool => {
            if !v.is_boolean() {
                err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!("{} must be a boolean, found {}", at.name(), found(v)),
                );
            }
        }
        Ty::Int(min, max) => match v {
            Value::Number(n) => match n.as_i64() {
                Some(i) if (min..=max).contains(&i) => {}
                Some(_) => err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!(
                        "{} must be an integer in {min}..={max}, found {}",
                        at.name(),
                        show(v)
                    ),
                ),
                None if n.as_u64().is_some() => err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!(
                        "{} must be an integer in {min}..={max}, found {}",
                        at.name(),
                        show(v)
                    ),
                ),
                None => err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!("{} must be an integer, found {}", at.name(), show(v)),
                ),
            },
            _ => err(
                out,
                Rule::PropertyType,
                at,
                format!("{} must be an integer, found {}", at.name(), found(v)),
            ),
        },
        Ty::Float(min, max) => match v.as_f64() {
            Some(f) if f >= min && f <= max => {}
            Some(_) => err(
                out,
                Rule::PropertyType,
                at,
                format!(
                    "{} must be a number in {min}..={max}, found {}",
                    at.name(),
                    show(v)
                ),
            ),
            None => err(
                out,
                Rule::PropertyType,
                at,
                format!("{} must be a number, found {}", at.name(), found(v)),
            ),
        },
        Ty::Ts => match v {
            Value::String(s) => {
                if let Err(e) = Timestamp::parse(s) {
                    err(out, Rule::Timestamp, at, format!("{}: {e}", at.name()));
                }
            }
            _ => err(
                out,
                Rule::Timestamp,
                at,
                format!(
                    "{} must be a timestamp string, found {}",
                    at.name(),
                    found(v)
                ),
            ),
        },
        Ty::Ref(target) => reference(v, target, at, out),
        Ty::RefList(target) => list(v, at, out, |x, at, out| reference(x, target, at, out)),
        Ty::Enum(vals) => match v.as_str() {
            Some(s) if vals.contains(&s) => {}
            Some(s) => err(
                out,
                Rule::Vocabulary,
                at,
                format!(
                    "{} is {s:?}, which is not one of the allowed values {}",
                    at.name(),
                    vals.join(", ")
                ),
            ),
            None => err(
                out,
                Rule::PropertyType,
                at,
                format!("{} must be a string, found {}", at.name(), found(v)),
            ),
        },
        Ty::EnumList(vals) => list(v, at, out, |x, at, out| {
            check_value(x, Ty::Enum(vals), at, out)
        }),
        Ty::Open(vals) => match v.as_str() {
            Some(s) if vals.contains(&s) => {}
            Some(s) => warn(
                out,
                Rule::OpenVocabulary,
                at,
                format!(
                    "{} is {s:?}, which is not in the suggested vocabulary ({})",
                    at.name(),
                    vals.join(", ")
                ),
            ),
            None => err(
                out,
                Rule::PropertyType,
                at,
                format!("{} must be a string, found {}", at.name(), found(v)),
            ),
        },
        Ty::OpenList(vals) => list(v, at, out, |x, at, out| {
            check_value(x, Ty::Open(vals), at, out)
        }),
        Ty::Dict => dictionary(v, at, out),
        Ty::Hashes => hashes(v, at, out),
        Ty::KillChain => list(v, at, out, kill_chain_phase),
        Ty::ExtRefs => list(v, at, out, external_reference),
        Ty::Hex => match v.as_str() {
            Some(s) if s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {}
            _ => err(
                out,
                Rule::PropertyType,
                at,
                format!(
                    "{} must be hex text with an even number of digits (§2.6), found {}",
                    at.name(),
                    found(v)
                ),
            ),
        },
        Ty::Bin => match v.as_str() {
            Some(s) if is_base64(s) => {}
            _ => err(
                out,
                Rule::PropertyType,
                at,
                format!(
                    "{} must be base64 text (§2.2), found {}",
                    at.name(),
                    found(v)
                ),
            ),
        },
        Ty::Obj => {
            if !v.is_object() {
                err(
                    out,
                    Rule::PropertyType,
                    at,
                    format!("{} must be a JSON object, found {}", at.name(), found(v)),
                );
            }
        }
        Ty::ObjList => list(v, at, out, |x, at, out| check_value(x, Ty::Obj, at, out)),
    }
}

/// A non-empty list whose items each pass `each` (§2.8).
fn list(
    v: &Value<'_>,
    at: &Loc<'_>,
    out: &mut Vec<Issue>,
    each: impl Fn(&Value<'_>, &Loc<'_>, &mut Vec<Issue>),
) {
    match v {
        Value::Array(a) if a.is_empty() => err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} is an empty list: a list must contain at least one value (§2.8)",
                at.name()
            ),
        ),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                each(x, &at.idx(i), out);
            }
        }
        _ => err(
            out,
            Rule::PropertyType,
            at,
            format!("{} must be a list, found {}", at.name(), found(v)),
        ),
    }
}

/// §2.9 identifier, pointing at an allowed type.
fn reference(v: &Value<'_>, target: Target, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(s) = v.as_str() else {
        err(
            out,
            Rule::Reference,
            at,
            format!(
                "{} must be an identifier string, found {}",
                at.name(),
                found(v)
            ),
        );
        return;
    };
    let id = match parse_identifier(s) {
        Ok(id) => id,
        Err(e) => {
            err(out, Rule::Reference, at, format!("{}: {e}", at.name()));
            return;
        }
    };
    let t = id.type_name;
    let kind = kind_of_type(t);
    let (ok, expected): (bool, std::borrow::Cow<'static, str>) = match target {
        Target::Any => (t != "bundle", "any STIX object".into()),
        Target::Types(ts) => (ts.contains(&t), ts.join(" or ").into()),
        Target::SdoOrSco => (
            matches!(kind, Kind::Sdo | Kind::Sco) || (kind == Kind::Custom && t != "bundle"),
            "an SDO or SCO".into(),
        ),
        Target::Sdo => (
            kind == Kind::Sdo || (kind == Kind::Custom && t != "bundle"),
            "an SDO".into(),
        ),
        Target::Sco => (
            kind == Kind::Sco || (kind == Kind::Custom && t != "bundle"),
            "a cyber-observable (SCO)".into(),
        ),
        Target::ScoOrSro => (
            matches!(kind, Kind::Sco | Kind::Sro) || (kind == Kind::Custom && t != "bundle"),
            "an SCO or SRO".into(),
        ),
        Target::NotLanguageContent => (
            t != "bundle" && t != "language-content",
            "any STIX object but a bundle or language-content".into(),
        ),
    };
    if !ok {
        err(
            out,
            Rule::Reference,
            at,
            format!("{} refers to a `{t}`, expected {expected}", at.name()),
        );
    }
}

/// §2.4: a dictionary has at least one key; keys are 1-250 of `[a-zA-Z0-9_-]`.
fn dictionary(v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(m) = v.as_object() else {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} must be a dictionary (JSON object), found {}",
                at.name(),
                found(v)
            ),
        );
        return;
    };
    if m.is_empty() {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} is an empty dictionary: it must have at least one key (§2.4)",
                at.name()
            ),
        );
    }
    for k in m.keys() {
        let ok = (1..=250).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            err(
                out,
                Rule::PropertyType,
                &at.key(k),
                format!("dictionary key {k:?} must be 1-250 of a-z, A-Z, 0-9, `-` and `_` (§2.4)"),
            );
        }
    }
}

/// §2.5 hashes: keys from hash-algorithm-ov (or custom), values of the right form.
fn hashes(v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(m) = v.as_object() else {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} must be a hashes dictionary, found {}",
                at.name(),
                found(v)
            ),
        );
        return;
    };
    if m.is_empty() {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "{} is empty: hashes must have at least one entry (§2.5)",
                at.name()
            ),
        );
    }
    for (k, h) in m {
        let hat = at.key(k);
        let Some(hs) = h.as_str() else {
            err(
                out,
                Rule::PropertyType,
                &hat,
                format!("hash value must be a string, found {}", found(h)),
            );
            continue;
        };
        if let Some(&(_, len)) = spec::HEX_HASH_LENGTHS.iter().find(|(a, _)| a == k) {
            if hs.len() != len || !hs.bytes().all(|b| b.is_ascii_hexdigit()) {
                err(
                    out,
                    Rule::PropertyType,
                    &hat,
                    format!("a {k} hash must be {len} hex digits, found {hs:?}"),
                );
            }
        } else if !spec::HASH_ALGORITHM.contains(&k.as_str()) {
            let ok = (3..=250).contains(&k.len())
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if ok {
                warn(
                    out,
                    Rule::OpenVocabulary,
                    &hat,
                    format!("hash algorithm {k:?} is not in hash-algorithm-ov"),
                );
            } else {
                err(
                    out,
                    Rule::PropertyType,
                    &hat,
                    format!("hash key {k:?} must be 3-250 of a-z, A-Z, 0-9, `-` and `_` (§2.5)"),
                );
            }
        }
    }
}

/// §2.10: `kill_chain_name` and `phase_name`, both strings.
fn kill_chain_phase(v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(m) = v.as_object() else {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "a kill chain phase must be a JSON object, found {}",
                found(v)
            ),
        );
        return;
    };
    for name in ["kill_chain_name", "phase_name"] {
        match m.get(name) {
            Some(x) => check_value(x, Ty::Str, &at.key(name), out),
            None => err(
                out,
                Rule::RequiredProperty,
                &at.key(name),
                format!("a kill chain phase must have `{name}` (§2.10)"),
            ),
        }
    }
}

/// §2.6 external reference: `source_name`, plus one of `description`, `url`, `external_id`.
fn external_reference(v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(m) = v.as_object() else {
        err(
            out,
            Rule::PropertyType,
            at,
            format!(
                "an external reference must be a JSON object, found {}",
                found(v)
            ),
        );
        return;
    };
    match m.get("source_name") {
        Some(x) => check_value(x, Ty::Str, &at.key("source_name"), out),
        None => err(
            out,
            Rule::RequiredProperty,
            &at.key("source_name"),
            "an external reference must have `source_name` (§2.6)".into(),
        ),
    }
    for name in ["description", "url", "external_id"] {
        if let Some(x) = m.get(name) {
            check_value(x, Ty::Str, &at.key(name), out);
        }
    }
    if !["description", "url", "external_id"]
        .iter()
        .any(|k| m.contains_key(k))
    {
        err(out, Rule::RequiredProperty, at, "an external reference must have at least one of `description`, `url`, `external_id` besides `source_name` (§2.6)".into());
    }
    if let Some(h) = m.get("hashes") {
        hashes(h, &at.key("hashes"), out);
    }
}

/// Checks the members of a nested object against a table (predefined
/// extensions, MIME parts, registry values).
fn check_members(m: &Map<'_>, props: &'static [Prop], at: &Loc<'_>, out: &mut Vec<Issue>) {
    for (k, v) in m {
        let kat = at.key(k);
        if let Some(p) = spec::find_prop(props, k) {
            check_value(v, p.ty, &kat, out);
        } else if k != "extension_type" {
            if !is_property_name(k) {
                err(
                    out,
                    Rule::PropertyName,
                    &kat,
                    format!(
                        "property name `{k}` must be 3-250 characters of a-z, 0-9 and `_` (§3.1)"
                    ),
                );
            }
            custom_value(k, v, &kat, out);
        }
    }
    for p in props {
        if p.required && !m.contains_key(p.name) {
            err(
                out,
                Rule::RequiredProperty,
                &at.key(p.name),
                format!("missing required property `{}`", p.name),
            );
        }
    }
}

fn order(obj: &Doc<'_>, later: &str, earlier: &str, strict: bool, out: &mut Vec<Issue>) {
    let (Some(l), Some(e)) = (obj.get_str(later), obj.get_str(earlier)) else {
        return;
    };
    let (Ok(lt), Ok(et)) = (Timestamp::parse(l), Timestamp::parse(e)) else {
        return;
    };
    let bad = if strict { lt <= et } else { lt < et };
    if bad {
        let rel = if strict {
            "later than"
        } else {
            "later than or equal to"
        };
        out.push(Issue::error(
            Rule::TimestampOrder,
            JsonPath::prop(later),
            format!("`{later}` ({l}) must be {rel} `{earlier}` ({e})"),
        ));
    }
}

// ---------------------------------------------------------------------------
// Granular markings (§7.2.3) and extensions (§7.3, §11)

fn granular_markings(obj: &Doc<'_>, v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let own_id = obj.id();
    list(v, at, out, |gm, gat, out| {
        let Some(m) = gm.as_object() else {
            err(
                out,
                Rule::GranularMarking,
                gat,
                format!(
                    "a granular marking must be a JSON object, found {}",
                    found(gm)
                ),
            );
            return;
        };
        match (m.get("marking_ref"), m.get("lang")) {
            (Some(r), None) => {
                let rat = gat.key("marking_ref");
                reference(r, Target::Types(&["marking-definition"]), &rat, out);
                if obj.type_name() == Some("marking-definition") && r.as_str() == own_id {
                    err(out, Rule::GranularMarking, &rat, "a marking definition must not mark itself (no circular references, §7.2.3)".into());
                }
            }
            (None, Some(l)) => match l.as_str() {
                Some(s) if is_language_tag(s) => {}
                _ => err(out, Rule::GranularMarking, &gat.key("lang"), format!("`lang` must be an RFC 5646 language tag, found {}", found(l))),
            },
            (Some(_), Some(_)) => err(out, Rule::GranularMarking, gat, "a granular marking must have exactly one of `marking_ref` and `lang`, found both (§7.2.3)".into()),
            (None, None) => err(out, Rule::GranularMarking, gat, "a granular marking must have one of `marking_ref` or `lang` (§7.2.3)".into()),
        }
        let sat = gat.key("selectors");
        match m.get("selectors") {
            None => err(
                out,
                Rule::GranularMarking,
                &sat,
                "a granular marking must have `selectors` (§7.2.3)".into(),
            ),
            Some(sel) => list(sel, &sat, out, |s, at, out| match s.as_str() {
                Some(s) => {
                    if let Err(why) = resolve_selector(obj.as_map(), s) {
                        err(
                            out,
                            Rule::GranularMarking,
                            at,
                            format!(
                                "selector {s:?} does not select anything in this object: {why} (§7.2.3.1)"
                            ),
                        );
                    }
                }
                None => err(
                    out,
                    Rule::GranularMarking,
                    at,
                    format!("a selector must be a string, found {}", found(s)),
                ),
            }),
        }
    });
}

/// §7.2.3.1: a selector is a dotted path of property names and `[n]` list
/// indices (`external_references.[0].url`) that MUST resolve within the object.
pub(crate) fn resolve_selector(obj: &Map<'_>, sel: &str) -> Result<(), String> {
    let mut segs = sel.split('.');
    let first = segs.next().unwrap_or_default();
    let mut cur = obj
        .get(first)
        .ok_or_else(|| format!("there is no property `{first}`"))?;
    for seg in segs {
        if let Some(idx) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let i: usize = idx
                .parse()
                .map_err(|_| format!("`{seg}` is not a list index"))?;
            let a = cur
                .as_array()
                .ok_or_else(|| format!("`[{i}]` indexes something that is not a list"))?;
            cur = a
                .get(i)
                .ok_or_else(|| format!("index {i} is past the end of a list of {}", a.len()))?;
        } else {
            let m = cur.as_object().ok_or_else(|| {
                format!("`{seg}` names a member of something that is not an object")
            })?;
            cur = m
                .get(seg)
                .ok_or_else(|| format!("there is no property `{seg}`"))?;
        }
    }
    Ok(())
}

fn has_toplevel_extension(map: &Map<'_>) -> bool {
    map.get("extensions")
        .and_then(Value::as_object)
        .is_some_and(|exts| {
            exts.values().any(|e| {
                e.get("extension_type").and_then(Value::as_str)
                    == Some("toplevel-property-extension")
            })
        })
}

fn extensions(ty: &str, v: &Value<'_>, at: &Loc<'_>, out: &mut Vec<Issue>) {
    let Some(exts) = v.as_object() else {
        err(
            out,
            Rule::Extension,
            at,
            format!("`extensions` must be a dictionary, found {}", found(v)),
        );
        return;
    };
    if exts.is_empty() {
        err(
            out,
            Rule::Extension,
            at,
            "`extensions` is empty: it must have at least one entry (§7.3)".into(),
        );
    }
    for (key, e) in exts {
        let eat = at.key(key);
        let Some(em) = e.as_object() else {
            err(
                out,
                Rule::Extension,
                &eat,
                format!("an extension must be a JSON object, found {}", found(e)),
            );
            continue;
        };
        if key.starts_with("extension-definition--") {
            if let Err(er) = parse_identifier(key) {
                err(out, Rule::Extension, &eat, format!("extension key: {er}"));
            }
            let tat = eat.key("extension_type");
            match em.get("extension_type") {
                Some(t) => check_value(t, Ty::Enum(spec::EXTENSION_TYPES), &tat, out),
                None => err(
                    out,
                    Rule::Extension,
                    &tat,
                    format!("extension {key} must say its `extension_type` (§7.3)"),
                ),
            }
            check_members(em, &[], &eat, out);
        } else if let Some(base) = key.strip_suffix("-ext") {
            if em.is_empty() {
                err(
                    out,
                    Rule::Extension,
                    &eat,
                    format!("extension `{key}` is empty"),
                );
            }
            match spec::PREDEFINED_EXTENSIONS
                .iter()
                .find(|(_, n, _)| n == key)
            {
                Some((for_ty, _, props)) if *for_ty == ty => check_members(em, props, &eat, out),
                Some((for_ty, _, _)) => warn(
                    out,
                    Rule::Extension,
                    &eat,
                    format!(
                        "`{key}` is the predefined extension of `{for_ty}`, not of `{ty}` (§6)"
                    ),
                ),
                None if !is_valid_type_name(base) => err(
                    out,
                    Rule::Extension,
                    &eat,
                    format!("extension name `{key}` is not a valid name (§7.3)"),
                ),
                None => check_members(em, &[], &eat, out),
            }
        } else {
            // §3.2 `extensions`: "Dictionary keys SHOULD be the id of a STIX
            // Extension object or the name of a predefined object extension".
            warn(
                out,
                Rule::Extension,
                &eat,
                format!(
                    "extension key `{key}` should be an extension-definition id or a predefined `*-ext` name (§3.2)"
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Co-constraints of single types

fn has(map: &Map<'_>, k: &str) -> bool {
    map.contains_key(k)
}

fn type_rules(obj: &Doc<'_>, ty: &str, out: &mut Vec<Issue>) {
    let m = obj.as_map();
    let root = Loc::Root;
    match ty {
        // §5.1: relationship_type is a-z, 0-9 and hyphens.
        "relationship" => {
            if let Some(rt) = m.get("relationship_type").and_then(Value::as_str) {
                let ok = !rt.is_empty()
                    && rt
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !ok {
                    err(
                        out,
                        Rule::PropertyType,
                        &root.key("relationship_type"),
                        format!("`relationship_type` {rt:?} must use only a-z, 0-9 and `-` (§5.1)"),
                    );
                }
            }
        }
        // §4.10: region, country, or latitude+longitude; the pair goes together; precision needs both.
        "location" => {
            let (lat, lon) = (has(m, "latitude"), has(m, "longitude"));
            if !(has(m, "region") || has(m, "country") || (lat && lon)) {
                err(out, Rule::RequiredProperty, &root, "a location must have `region`, `country`, or `latitude` and `longitude` (§4.10)".into());
            }
            if lat != lon {
                let missing = if lat { "longitude" } else { "latitude" };
                err(
                    out,
                    Rule::RequiredProperty,
                    &root.key(missing),
                    "`latitude` and `longitude` must be given together (§4.10)".into(),
                );
            }
            if has(m, "precision") && !(lat && lon) {
                err(
                    out,
                    Rule::Forbidden,
                    &root.key("precision"),
                    "`precision` requires `latitude` and `longitude` (§4.10)".into(),
                );
            }
        }
        // §4.11: a malware family must have a name.
        "malware" if m.get("is_family") == Some(&Value::Bool(true)) && !has(m, "name") => {
            err(
                out,
                Rule::RequiredProperty,
                &root.key("name"),
                "a malware family (`is_family`: true) must have `name` (§4.11)".into(),
            );
        }
        // §4.12: result or analysis_sco_refs.
        "malware-analysis" if !has(m, "result") && !has(m, "analysis_sco_refs") => {
            err(
                out,
                Rule::RequiredProperty,
                &root,
                "a malware-analysis must have `result` or `analysis_sco_refs` (§4.12)".into(),
            );
        }
        // §4.14: exactly one of objects (deprecated) and object_refs.
        "observed-data" => match (m.get("objects"), has(m, "object_refs")) {
            (Some(_), true) => err(
                out,
                Rule::Forbidden,
                &root.key("objects"),
                "`objects` and `object_refs` must not both be present (§4.14)".into(),
            ),
            (None, false) => err(
                out,
                Rule::RequiredProperty,
                &root.key("object_refs"),
                "observed-data must have `object_refs` (or the deprecated `objects`) (§4.14)"
                    .into(),
            ),
            (Some(objs), false) => {
                let oat = root.key("objects");
                warn(
                    out,
                    Rule::Forbidden,
                    &oat,
                    "`objects` is deprecated; use `object_refs` (§4.14)".into(),
                );
                if let Some(om) = objs.as_object() {
                    if om.is_empty() {
                        err(
                            out,
                            Rule::PropertyType,
                            &oat,
                            "`objects` must not be empty (§4.14)".into(),
                        );
                    }
                    for (k, o) in om {
                        if o.get("type").and_then(Value::as_str).is_none() {
                            err(out, Rule::RequiredProperty, &oat.key(k), "each observable in `objects` must be an object with a `type` (§4.14)".into());
                        }
                    }
                }
            }
            (None, true) => {}
        },
        "artifact" => {
            // §6.1: payload_bin or url, not both; url requires hashes; decryption_key requires encryption_algorithm.
            match (has(m, "payload_bin"), has(m, "url")) {
                (true, true) => err(
                    out,
                    Rule::Forbidden,
                    &root.key("url"),
                    "`payload_bin` and `url` must not both be present (§6.1)".into(),
                ),
                (false, false) => err(
                    out,
                    Rule::RequiredProperty,
                    &root,
                    "an artifact must have `payload_bin` or `url` (§6.1)".into(),
                ),
                _ => {}
            }
            if has(m, "url") && !has(m, "hashes") {
                err(
                    out,
                    Rule::RequiredProperty,
                    &root.key("hashes"),
                    "an artifact with `url` must have `hashes` (§6.1)".into(),
                );
            }
            if has(m, "decryption_key") && !has(m, "encryption_algorithm") {
                err(
                    out,
                    Rule::Forbidden,
                    &root.key("decryption_key"),
                    "`decryption_key` must not be present without `encryption_algorithm` (§6.1)"
                        .into(),
                );
            }
        }
        "email-message" => {
            // §6.6: body only when not multipart; body_multipart only when multipart.
            match m.get("is_multipart") {
                Some(Value::Bool(true)) if has(m, "body") => err(
                    out,
                    Rule::Forbidden,
                    &root.key("body"),
                    "`body` must not be used when `is_multipart` is true (§6.6)".into(),
                ),
                Some(Value::Bool(false)) if has(m, "body_multipart") => err(
                    out,
                    Rule::Forbidden,
                    &root.key("body_multipart"),
                    "`body_multipart` must not be used when `is_multipart` is false (§6.6)".into(),
                ),
                _ => {}
            }
            if let Some(Value::Array(parts)) = m.get("body_multipart") {
                let bat = root.key("body_multipart");
                for (i, part) in parts.iter().enumerate() {
                    if let Some(pm) = part.as_object() {
                        let pat = bat.idx(i);
                        check_members(pm, spec::MIME_PART, &pat, out);
                        if has(pm, "body") == has(pm, "body_raw_ref") {
                            err(out, Rule::RequiredProperty, &pat, "a MIME part must have exactly one of `body` and `body_raw_ref` (§6.6.2)".into());
                        }
                    }
                }
            }
        }
        // §6.7: hashes or name.
        "file" if !has(m, "hashes") && !has(m, "name") => {
            err(
                out,
                Rule::RequiredProperty,
                &root,
                "a file must have `hashes` or `name` (§6.7)".into(),
            );
        }
        "ipv4-addr" => address(
            m,
            "an IPv4 address or CIDR block (§6.8)",
            is_ipv4_value,
            out,
        ),
        "ipv6-addr" => address(
            m,
            "an IPv6 address or CIDR block (§6.9)",
            is_ipv6_value,
            out,
        ),
        "mac-addr" => address(
            m,
            "a lowercase, colon-delimited MAC-48 address (§6.10)",
            is_mac,
            out,
        ),
        "network-traffic" => {
            // §6.12
            if !has(m, "src_ref") && !has(m, "dst_ref") {
                err(
                    out,
                    Rule::RequiredProperty,
                    &root,
                    "network-traffic must have `src_ref` or `dst_ref` (§6.12)".into(),
                );
            }
            if m.get("is_active") == Some(&Value::Bool(true)) && has(m, "end") {
                err(
                    out,
                    Rule::Forbidden,
                    &root.key("end"),
                    "`end` must not be present when `is_active` is true (§6.12)".into(),
                );
            }
        }
        // §6.13, §6.18: at least one property of the type itself.
        "process" | "x509-certificate" => {
            let specific = spec::type_spec(ty).map_or(&[][..], |s| s.props);
            let any = m
                .keys()
                .any(|k| k == "extensions" || spec::find_prop(specific, k).is_some());
            if !any {
                err(
                    out,
                    Rule::RequiredProperty,
                    &root,
                    format!(
                        "a `{ty}` must have at least one property of its own besides the common ones (§6)"
                    ),
                );
            }
        }
        "software" => {
            // §6.14: cpe is a CPE 2.3 formatted string.
            if let Some(cpe) = m.get("cpe").and_then(Value::as_str)
                && !is_cpe23(cpe)
            {
                err(
                    out,
                    Rule::PropertyType,
                    &root.key("cpe"),
                    format!("`cpe` {cpe:?} is not a CPE 2.3 formatted string (§6.14)"),
                );
            }
        }
        "windows-registry-key" => {
            // §6.17: the hive is written out in full.
            if let Some(key) = m.get("key").and_then(Value::as_str) {
                let hive = key
                    .split('\\')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                if ["HKLM", "HKCC", "HKCR", "HKCU", "HKU"].contains(&hive.as_str()) {
                    err(
                        out,
                        Rule::PropertyType,
                        &root.key("key"),
                        format!(
                            "`key` {key:?}: the hive must be written out in full (e.g. HKEY_LOCAL_MACHINE, not HKLM) (§6.17)"
                        ),
                    );
                }
            }
            if let Some(Value::Array(vals)) = m.get("values") {
                let vat = root.key("values");
                for (i, x) in vals.iter().enumerate() {
                    if let Some(xm) = x.as_object() {
                        check_members(xm, spec::REGISTRY_VALUE, &vat.idx(i), out);
                    }
                }
            }
        }
        "marking-definition" => crate::marking::marking_definition(obj, out),
        "language-content" => {
            // §7.1: contents maps language tags to objects of translated properties.
            if let Some(Value::Object(c)) = m.get("contents") {
                let cat = root.key("contents");
                if c.is_empty() {
                    err(
                        out,
                        Rule::PropertyType,
                        &cat,
                        "`contents` must not be empty (§7.1)".into(),
                    );
                }
                for (lang, tr) in c {
                    let lat = cat.key(lang);
                    if !is_language_tag(lang) {
                        err(
                            out,
                            Rule::PropertyType,
                            &lat,
                            format!(
                                "`contents` key {lang:?} must be an RFC 5646 language tag (§7.1)"
                            ),
                        );
                    }
                    match tr.as_object() {
                        Some(tm) => {
                            for k in tm.keys() {
                                if !is_property_name(k) {
                                    err(
                                        out,
                                        Rule::PropertyName,
                                        &lat.key(k),
                                        format!("`{k}` is not a valid property name (§3.1)"),
                                    );
                                }
                            }
                        }
                        None => err(
                            out,
                            Rule::PropertyType,
                            &lat,
                            format!("a translation must be a JSON object, found {}", found(tr)),
                        ),
                    }
                }
            }
        }
        "extension-definition" => {
            // §7.3: extension_properties only with toplevel-property-extension.
            let toplevel = m
                .get("extension_types")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| x.as_str() == Some("toplevel-property-extension"))
                });
            if has(m, "extension_properties") && !toplevel {
                err(out, Rule::Forbidden, &root.key("extension_properties"), "`extension_properties` is only for `toplevel-property-extension` extensions (§7.3)".into());
            }
        }
        _ => {}
    }
    sco_id_rules(obj, ty, out);
}

/// §2.9: deterministic ids of cyber-observables.
fn sco_id_rules(obj: &Doc<'_>, ty: &str, out: &mut Vec<Issue>) {
    if kind_of_type(ty) != Kind::Sco {
        return;
    }
    let Some(Ok(id)) = obj.id().map(parse_identifier) else {
        return;
    };
    match crate::sco_id::deterministic_sco_id(&Object::from_map(obj.as_map().to_serde())) {
        Some(expected) => {
            if obj.id() != Some(expected.as_str()) {
                out.push(Issue::warning(
                    Rule::DeterministicId,
                    JsonPath::prop("id"),
                    format!("the id of a `{ty}` should be the UUIDv5 of its ID contributing properties, `{expected}` (§2.9)"),
                ));
            }
        }
        None => {
            if id.uuid.get_version_num() != 4 {
                out.push(Issue::error(
                    Rule::DeterministicId,
                    JsonPath::prop("id"),
                    format!("a `{ty}` without ID contributing properties must use a UUIDv4 id, found version {} (§2.9)", id.uuid.get_version_num()),
                ));
            }
        }
    }
}

fn address(m: &Map<'_>, what: &str, ok: fn(&str) -> bool, out: &mut Vec<Issue>) {
    if let Some(v) = m.get("value").and_then(Value::as_str)
        && !ok(v)
    {
        err(
            out,
            Rule::PropertyType,
            &Loc::Root.key("value"),
            format!("`value` {v:?} must be {what}"),
        );
    }
}

fn prefix_ok(p: Option<&str>, max: u8) -> bool {
    match p {
        None => true,
        Some(p) => {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u8>().is_ok_and(|n| n <= max)
        }
    }
}

fn is_ipv4_value(v: &str) -> bool {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    addr.parse::<std::net::Ipv4Addr>().is_ok() && prefix_ok(prefix, 32)
}

fn is_ipv6_value(v: &str) -> bool {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    addr.parse::<std::net::Ipv6Addr>().is_ok() && prefix_ok(prefix, 128)
}

fn is_mac(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 17
        && b.iter().enumerate().all(|(i, &c)| {
            if i % 3 == 2 {
                c == b':'
            } else {
                c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
            }
        })
}

/// CPE 2.3 formatted string: `cpe:2.3:` then 11 more components (13 in all).
fn is_cpe23(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("cpe:2.3:") else {
        return false;
    };
    let mut n = 1;
    let mut escaped = false;
    for c in rest.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ':' => n += 1,
            _ => {}
        }
    }
    n == 11
        && matches!(
            rest.as_bytes().first(),
            Some(b'a' | b'o' | b'h' | b'*' | b'-')
        )
}

/// Whether `s` is a well-formed RFC 5646 language tag (syntax only: a
/// primary language of 2-3 letters or a private-use `x-` tag, then subtags
/// of 1-8 letters or digits).
pub(crate) fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or_default();
    let primary_ok = ((2..=3).contains(&first.len()) || (5..=8).contains(&first.len()))
        && first.bytes().all(|b| b.is_ascii_alphabetic());
    let private = first.eq_ignore_ascii_case("x") || first.eq_ignore_ascii_case("i");
    (primary_ok || private)
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && !s.ends_with('-')
}

fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","labels":["a"]}"#;

    /// `base` with the members of `patch` set (null removes one).
    fn with(base: &str, patch: Value) -> String {
        let mut v: Value = serde_json::from_str(base).unwrap();
        for (k, x) in patch.as_object().unwrap() {
            if x.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        v.to_string()
    }

    /// The errors of an object, as `rule path`.
    fn errors(json: &str) -> Vec<String> {
        validate_object(&Object::parse(json).unwrap())
            .into_iter()
            .filter(Issue::is_error)
            .map(|i| format!("{} {}", i.rule, i.path))
            .collect()
    }

    fn warnings(json: &str) -> Vec<String> {
        validate_object(&Object::parse(json).unwrap())
            .into_iter()
            .filter(|i| !i.is_error())
            .map(|i| format!("{} {}", i.rule, i.path))
            .collect()
    }

    /// Each rule: a valid patch (no error) and an invalid one (exactly the error named).
    #[test]
    fn one_valid_and_one_invalid_case_per_rule() {
        let cases: &[(&str, Value, Value, &str)] = &[
            (
                "confidence range",
                json!({"confidence": 100}),
                json!({"confidence": 101}),
                "property-type $.confidence",
            ),
            (
                "boolean",
                json!({"revoked": true}),
                json!({"revoked": "yes"}),
                "property-type $.revoked",
            ),
            (
                "string list",
                json!({"labels": ["x"]}),
                json!({"labels": []}),
                "property-type $.labels",
            ),
            (
                "required",
                json!({}),
                json!({"pattern": null}),
                "required-property $.pattern",
            ),
            (
                "timestamp",
                json!({"valid_from": "2016-01-01T00:00:00.5Z"}),
                json!({"valid_from": "2016-01-01T00:00:00+00:00"}),
                "timestamp $.valid_from",
            ),
            (
                "created millis",
                json!({"created": "2016-04-06T20:03:48.000Z"}),
                json!({"created": "2016-04-06T20:03:48Z"}),
                "timestamp $.created",
            ),
            (
                "valid_until later",
                json!({"valid_until": "2016-01-01T00:00:01Z"}),
                json!({"valid_until": "2016-01-01T00:00:00Z"}),
                "timestamp-order $.valid_until",
            ),
            (
                "created_by_ref target",
                json!({"created_by_ref": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}),
                json!({"created_by_ref": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}),
                "reference $.created_by_ref",
            ),
            (
                "marking refs",
                json!({"object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}),
                json!({"object_marking_refs": ["not-an-id"]}),
                "reference $.object_marking_refs[0]",
            ),
            (
                "external reference",
                json!({"external_references": [{"source_name": "a", "url": "https://x"}]}),
                json!({"external_references": [{"source_name": "a"}]}),
                "required-property $.external_references[0]",
            ),
            (
                "kill chain",
                json!({"kill_chain_phases": [{"kill_chain_name": "k", "phase_name": "p"}]}),
                json!({"kill_chain_phases": [{"kill_chain_name": "k", "phase_name": 3}]}),
                "property-type $.kill_chain_phases[0].phase_name",
            ),
            (
                "property name",
                json!({"x_acme": 1}),
                json!({"x_Acme": 1}),
                "property-name $.x_Acme",
            ),
            (
                "reserved name",
                json!({"x_severity": 1}),
                json!({"severity": 1}),
                "forbidden $.severity",
            ),
            (
                "lang",
                json!({"lang": "en-US"}),
                json!({"lang": "english!"}),
                "property-type $.lang",
            ),
            (
                "granular selector",
                json!({"granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["labels.[0]"]}]}),
                json!({"granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["labels.[1]"]}]}),
                "granular-marking $.granular_markings[0].selectors[0]",
            ),
            (
                "granular ref xor lang",
                json!({"granular_markings": [{"lang": "de", "selectors": ["pattern"]}]}),
                json!({"granular_markings": [{"lang": "de", "marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["pattern"]}]}),
                "granular-marking $.granular_markings[0]",
            ),
            (
                "extension type",
                json!({"extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 1}}}),
                json!({"extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "other"}}}),
                "vocabulary $.extensions.extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e.extension_type",
            ),
            (
                "custom hex",
                json!({"x_acme_hex": "0aff"}),
                json!({"x_acme_hex": "0af"}),
                "property-type $.x_acme_hex",
            ),
        ];
        for (name, good, bad, expected) in cases {
            let g = errors(&with(IND, good.clone()));
            assert!(g.is_empty(), "{name}: valid case has errors {g:?}");
            let b = errors(&with(IND, bad.clone()));
            if expected.is_empty() {
                assert!(!b.is_empty(), "{name}: invalid case passed");
            } else {
                assert_eq!(b, vec![expected.to_string()], "{name}");
            }
        }
    }

    #[test]
    fn per_type_rules() {
        let c = "2016-05-12T08:17:27.000Z";
        let sdo = |ty: &str, extra: Value| {
            let mut v = json!({"type": ty, "spec_version": "2.1", "id": format!("{ty}--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"), "created": c, "modified": c});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v.to_string()
        };
        let cases: Vec<(String, String, &str)> = vec![
            (sdo("opinion", json!({"opinion": "agree", "object_refs": ["note--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), sdo("opinion", json!({"opinion": "maybe", "object_refs": ["note--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), "vocabulary $.opinion"),
            (sdo("location", json!({"region": "europe"})), sdo("location", json!({"city": "Paris"})), "required-property $"),
            (sdo("malware", json!({"is_family": false})), sdo("malware", json!({"is_family": true})), "required-property $.name"),
            (sdo("sighting", json!({"sighting_of_ref": "indicator--b01efc25-77b4-4003-b18b-f6e24b5cd9f7", "count": 0})), sdo("sighting", json!({"sighting_of_ref": "indicator--b01efc25-77b4-4003-b18b-f6e24b5cd9f7", "count": 1_000_000_000})), "property-type $.count"),
            (sdo("sighting", json!({"sighting_of_ref": "malware--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"})), sdo("sighting", json!({"sighting_of_ref": "relationship--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"})), "reference $.sighting_of_ref"),
            (sdo("relationship", json!({"relationship_type": "uses", "source_ref": "malware--b01efc25-77b4-4003-b18b-f6e24b5cd9f7", "target_ref": "ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"})), sdo("relationship", json!({"relationship_type": "uses", "source_ref": "malware--b01efc25-77b4-4003-b18b-f6e24b5cd9f7", "target_ref": "sighting--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"})), "reference $.target_ref"),
            (sdo("observed-data", json!({"first_observed": c, "last_observed": c, "number_observed": 1, "object_refs": ["ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), sdo("observed-data", json!({"first_observed": c, "last_observed": c, "number_observed": 1})), "required-property $.object_refs"),
            (sdo("observed-data", json!({"first_observed": c, "last_observed": c, "number_observed": 999_999_999, "object_refs": ["ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), sdo("observed-data", json!({"first_observed": c, "last_observed": c, "number_observed": 0, "object_refs": ["ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7"]})), "property-type $.number_observed"),
            (r#"{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}"#.into(), r#"{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.300"}"#.into(), "property-type $.value"),
            (r#"{"type":"network-traffic","id":"network-traffic--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","protocols":["tcp"],"src_ref":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","extensions":{"socket-ext":{"address_family":"AF_INET"}}}"#.into(), r#"{"type":"network-traffic","id":"network-traffic--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","protocols":["tcp"],"src_ref":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","extensions":{"socket-ext":{"address_family":"AF_X"}}}"#.into(), "vocabulary $.extensions.socket-ext.address_family"),
            (r#"{"type":"process","id":"process--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","pid":1}"#.into(), r#"{"type":"process","id":"process--b01efc25-77b4-5003-b18b-f6e24b5cd9f7","pid":1}"#.into(), "deterministic-id $.id"),
            (r#"{"type":"artifact","id":"artifact--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","payload_bin":"aGk="}"#.into(), r#"{"type":"artifact","id":"artifact--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","payload_bin":"aGk=","decryption_key":"k"}"#.into(), "forbidden $.decryption_key"),
            (r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"white"}}"#.into(), r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"red"}}"#.into(), "tlp $.definition"),
        ];
        for (good, bad, expected) in cases {
            let g = errors(&good);
            assert!(g.is_empty(), "valid case has errors {g:?}: {good}");
            assert_eq!(errors(&bad), vec![expected.to_string()], "{bad}");
        }
    }

    #[test]
    fn null_values_are_errors() {
        let o = IND.replace("\"labels\":[\"a\"]", "\"labels\":null");
        assert_eq!(errors(&o), vec!["property-type $.labels"]);
        assert!(errors(IND).is_empty());
    }

    #[test]
    fn open_vocabularies_warn_only() {
        let o = with(
            IND,
            json!({"pattern_type": "my-lang", "indicator_types": ["odd"]}),
        );
        assert!(errors(&o).is_empty());
        assert_eq!(
            warnings(&o),
            vec![
                "open-vocabulary $.pattern_type",
                "open-vocabulary $.indicator_types[0]"
            ]
        );
        // A non-deterministic SCO id is a SHOULD.
        let s = r#"{"type":"ipv4-addr","id":"ipv4-addr--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","value":"198.51.100.3"}"#;
        assert!(errors(s).is_empty());
        assert_eq!(warnings(s), vec!["deterministic-id $.id"]);
    }

    #[test]
    fn messages_name_value_and_expectation() {
        let o = with(IND, json!({"confidence": 250}));
        let i = &validate_object(&Object::parse(&o).unwrap())[0];
        assert!(
            i.message.contains("250") && i.message.contains("0..=100"),
            "{}",
            i.message
        );
        assert_eq!(
            i.object_id.as_deref(),
            Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        );
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            "[a-z_:.\\-\\[\\]0-9]{0,12}".prop_map(Value::String),
            Just(json!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")),
            Just(json!("2016-01-01T00:00:00.000Z")),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    const NAMES: &[&str] = &[
        "type",
        "id",
        "created",
        "modified",
        "spec_version",
        "labels",
        "confidence",
        "granular_markings",
        "extensions",
        "external_references",
        "kill_chain_phases",
        "object_refs",
        "hashes",
        "value",
        "values",
        "body_multipart",
        "definition",
        "definition_type",
        "contents",
        "latitude",
        "x_custom_ref",
    ];

    proptest! {
        /// Never panics, whatever the object, and every issue's path starts
        /// at a property the object has (or is the root, or a missing required one).
        #[test]
        fn never_panics_and_paths_are_rooted(
            ty in prop::sample::select(vec!["indicator", "file", "marking-definition", "observed-data", "location", "network-traffic", "email-message", "windows-registry-key", "language-content", "x-custom", "sighting"]),
            props in prop::collection::vec((prop::sample::select(NAMES), arb_json()), 0..8),
        ) {
            let mut m = Map::new();
            m.insert("type".into(), json!(ty));
            for (k, v) in props {
                m.insert(k.to_string(), v);
            }
            let obj = Object::from_map(m);
            for issue in validate_object(&obj) {
                prop_assert!(!issue.message.is_empty());
                let _ = issue.to_string();
            }
        }
    }
}
