//! One STIX 2.1 object → MISP attributes.
//!
//! - `indicator` (`pattern_type` `stix`): a pattern of one observation
//!   with one equality on a known path becomes a typed attribute
//!   (`ipv4-addr:value` → `ip-dst`, `domain-name:value` → `domain`,
//!   `file:hashes.'SHA-256'` → `sha256`, …); `file:name = … AND
//!   file:hashes.… = …` becomes `filename|<hash>`; anything else is one
//!   `stix2-pattern` attribute holding the pattern text. `yara`, `sigma`,
//!   `snort` and `suricata` patterns become `yara`, `sigma` and `snort`
//!   attributes. `to_ids` is true for all of them.
//! - cyber-observables (and the objects embedded in a STIX 2.0-style
//!   `observed-data`): typed attributes with `to_ids` false.
//! - `report`: no attribute; it heads an event ([`ReportHead`]).
//! - everything else (identities, relationships, sightings, markings, …):
//!   nothing; the caller counts it as skipped.
//!
//! Tags: the object's TLP 2.0 (or 1.0) marking refs become `tlp:clear`,
//! `tlp:green`, `tlp:amber`, `tlp:amber+strict`, `tlp:red`; its `labels`
//! become tags as written. A custom TLP marking-definition is not resolved
//! here (the node's release path has already decided whether the object
//! may leave).

use accord_pattern::ast::{CmpExpr, Literal, ObjectPath, ObsExpr, Op, Step, Test};
use serde_json::{Map, Value};

/// The namespace of the UUIDv5s this crate derives (day events, secondary
/// attributes).
pub const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f2a_51c7_3d0e_4b7a_9c55_0a3e_1d2b_7c41);

/// The longest attribute value kept (bytes); a longer one is refused by
/// name ([`crate::FeedError::ValueTooLong`]).
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// One MISP attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Its uuid: the STIX object's UUID for the object's first attribute,
    /// a UUIDv5 of the STIX id and the attribute type for the others.
    pub uuid: String,
    /// The MISP attribute type (`ip-dst`, `filename|sha256`, …).
    pub kind: &'static str,
    /// The MISP category (the type's default category in MISP).
    pub category: &'static str,
    /// The value (composite values joined by `|`).
    pub value: String,
    /// Whether it is for detection (true for indicators).
    pub to_ids: bool,
    /// Unix seconds of the STIX object's `modified` (else `created`, else
    /// when it was added).
    pub timestamp: i64,
    /// The STIX id it came from.
    pub comment: String,
    /// Tags (`tlp:…`, labels).
    pub tags: Vec<String>,
}

impl Attribute {
    /// The attribute as MISP feed JSON (the fields PyMISP's `to_feed` writes).
    pub fn to_value(&self) -> Value {
        let mut s = String::new();
        self.write_json(&mut s);
        serde_json::from_str(&s).unwrap_or(Value::Null)
    }

    /// Appends the attribute as MISP feed JSON to `out` (what
    /// [`Attribute::to_value`] gives, written directly: an event of 50,000
    /// attributes is written without a tree of it in memory).
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"uuid\":");
        push_json_str(out, &self.uuid);
        out.push_str(",\"type\":");
        push_json_str(out, self.kind);
        out.push_str(",\"category\":");
        push_json_str(out, self.category);
        out.push_str(",\"value\":");
        push_json_str(out, &self.value);
        out.push_str(if self.to_ids {
            ",\"to_ids\":true,\"comment\":"
        } else {
            ",\"to_ids\":false,\"comment\":"
        });
        push_json_str(out, &self.comment);
        out.push_str(",\"timestamp\":");
        out.push_str(&self.timestamp.to_string());
        out.push_str(",\"disable_correlation\":false,\"deleted\":false");
        if !self.tags.is_empty() {
            out.push_str(",\"Tag\":");
            out.push_str(&tags_value(&self.tags).to_string());
        }
        out.push('}');
    }

    /// The MD5 (lowercase hex) of each part of the value, as MISP's
    /// `hashes.csv` lists them (a composite value's parts one by one).
    pub fn md5s(&self) -> Vec<String> {
        use md5::Digest;
        let hex = |s: &str| {
            md5::Md5::digest(s.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        if self.kind.contains('|') {
            self.value.split('|').map(hex).collect()
        } else {
            vec![hex(&self.value)]
        }
    }
}

/// Appends `s` as a JSON string.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push_str(&Value::from(s).to_string());
}

/// MISP tags as feed JSON.
pub(crate) fn tags_value(tags: &[String]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| {
                let mut m = Map::new();
                m.insert("name".into(), t.clone().into());
                m.insert("colour".into(), tag_colour(t).into());
                m.insert("local".into(), false.into());
                m.insert("relationship_type".into(), "".into());
                Value::Object(m)
            })
            .collect(),
    )
}

/// The colour MISP's TLP taxonomy gives a tag (white otherwise).
fn tag_colour(tag: &str) -> &'static str {
    match tag {
        "tlp:clear" | "tlp:white" => "#ffffff",
        "tlp:green" => "#339900",
        "tlp:amber" | "tlp:amber+strict" => "#ffc000",
        "tlp:red" => "#cc0033",
        _ => "#ffffff",
    }
}

/// What heads a report's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportHead {
    /// The report's id.
    pub id: String,
    /// Its `name`.
    pub name: String,
    /// `published`'s day (YYYY-MM-DD).
    pub date: String,
    /// Unix seconds of its `modified`.
    pub timestamp: i64,
    /// Its `object_refs`.
    pub refs: Vec<String>,
    /// Tags (TLP, labels).
    pub tags: Vec<String>,
}

/// What one object gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Converted {
    /// A report: it heads an event.
    Report(ReportHead),
    /// Attributes, with the day the object belongs to when in no report.
    Attributes {
        /// The STIX id.
        id: String,
        /// `created`'s day (YYYY-MM-DD), else the day it was added.
        day: String,
        /// The attributes (never empty).
        attributes: Vec<Attribute>,
    },
    /// Nothing for MISP; the reason (its type, or why).
    Skipped(String),
}

/// Why an object could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// Not a JSON object with a string `id` and `type`.
    #[error("not a STIX object with a string `id` and `type`: {0}")]
    NotAnObject(String),
    /// The id has no UUID after `--`.
    #[error("object `{0}`: its id has no UUID after `--`")]
    BadId(String),
    /// A timestamp that does not parse.
    #[error("object `{id}`: `{field}` is not a STIX timestamp: {text:?}")]
    BadTimestamp {
        /// The object's id.
        id: String,
        /// Which property.
        field: &'static str,
        /// Its text.
        text: String,
    },
    /// A value over [`MAX_VALUE_LEN`].
    #[error("object `{id}`: a `{kind}` value of {len} bytes is over the limit of {max} bytes")]
    ValueTooLong {
        /// The object's id.
        id: String,
        /// The attribute type.
        kind: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// The UUID part of a STIX id.
pub fn stix_uuid(id: &str) -> Option<uuid::Uuid> {
    let (_, u) = id.split_once("--")?;
    uuid::Uuid::parse_str(u).ok()
}

/// The uuid of an attribute that is not an object's first: a UUIDv5 of
/// the STIX id and `what`.
pub fn derived_uuid(id: &str, what: &str) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, format!("{id}#{what}").as_bytes()).to_string()
}

fn seconds(id: &str, field: &'static str, text: &str) -> Result<i64, ConvertError> {
    accord_stix::Timestamp::parse(text)
        .map(|t| t.unix_seconds)
        .map_err(|_| ConvertError::BadTimestamp {
            id: id.to_owned(),
            field,
            text: text.to_owned(),
        })
}

/// The `YYYY-MM-DD` of an RFC 3339 timestamp (checked by parsing).
fn day_of(id: &str, field: &'static str, text: &str) -> Result<String, ConvertError> {
    let t = accord_stix::Timestamp::parse(text).map_err(|_| ConvertError::BadTimestamp {
        id: id.to_owned(),
        field,
        text: text.to_owned(),
    })?;
    let (y, m, d) = accord_stix::timestamp::civil_from_days(t.unix_seconds.div_euclid(86_400));
    Ok(format!("{y:04}-{m:02}-{d:02}"))
}

/// The tags of an object: TLP from its marking refs, then its labels.
fn tags_of(obj: &Map<String, Value>) -> Vec<String> {
    let mut tags = Vec::new();
    let refs = obj
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let mut level: Option<accord_policy::Tlp> = None;
    for r in refs {
        if let Some(t) = accord_policy::tlp::marking_tlp(r) {
            level = Some(level.map_or(t, |l| l.max(t)));
        }
    }
    if let Some(t) = level {
        tags.push(
            match t {
                accord_policy::Tlp::Clear => "tlp:clear",
                accord_policy::Tlp::Green => "tlp:green",
                accord_policy::Tlp::Amber => "tlp:amber",
                accord_policy::Tlp::AmberStrict => "tlp:amber+strict",
                accord_policy::Tlp::Red => "tlp:red",
            }
            .to_owned(),
        );
    }
    for l in obj
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !tags.iter().any(|t| t == l) {
            tags.push(l.to_owned());
        }
    }
    tags
}

/// The MISP type and category of an attribute type.
fn category(kind: &str) -> &'static str {
    match kind {
        "email-src" | "email-subject" | "md5" | "sha1" | "sha256" | "sha512" | "ssdeep"
        | "filename" | "filename|md5" | "filename|sha1" | "filename|sha256" | "filename|sha512" => {
            "Payload delivery"
        }
        "mutex" => "Artifacts dropped",
        "regkey" => "Persistence mechanism",
        "stix2-pattern" | "yara" | "sigma" => "Payload installation",
        _ => "Network activity",
    }
}

/// The MISP type of a file hash name (`MD5`, `SHA-256`, `sha256`, …).
fn hash_kind(name: &str) -> Option<&'static str> {
    let n: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_uppercase();
    Some(match n.as_str() {
        "MD5" => "md5",
        "SHA1" => "sha1",
        "SHA256" => "sha256",
        "SHA512" => "sha512",
        "SSDEEP" => "ssdeep",
        _ => return None,
    })
}

/// The path as `type:key.key` (`[*]` for any index), or `None` with a
/// numbered index.
fn path_text(p: &ObjectPath) -> Option<String> {
    let mut s = format!("{}:", p.object_type);
    for (i, step) in p.steps.iter().enumerate() {
        match step {
            Step::Key(k) => {
                if i > 0 {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::AnyIndex => s.push_str("[*]"),
            Step::Index(_) => return None,
        }
    }
    Some(s)
}

/// The MISP type of a pattern path.
fn path_kind(path: &str) -> Option<&'static str> {
    if let Some(h) = path.strip_prefix("file:hashes.") {
        return hash_kind(h);
    }
    if let Some(h) = path.strip_prefix("x509-certificate:hashes.") {
        return match hash_kind(h)? {
            "sha1" => Some("x509-fingerprint-sha1"),
            "sha256" => Some("x509-fingerprint-sha256"),
            "md5" => Some("x509-fingerprint-md5"),
            _ => None,
        };
    }
    Some(match path {
        "ipv4-addr:value" | "ipv6-addr:value" | "network-traffic:dst_ref.value" => "ip-dst",
        "network-traffic:src_ref.value" => "ip-src",
        "domain-name:value" => "domain",
        "url:value" => "url",
        "email-addr:value" | "email-message:from_ref.value" | "email-message:sender_ref.value" => {
            "email-src"
        }
        "email-message:to_refs[*].value" => "email-dst",
        "email-message:subject" => "email-subject",
        "file:name" => "filename",
        "mutex:name" => "mutex",
        "windows-registry-key:key" => "regkey",
        "autonomous-system:number" => "AS",
        "mac-addr:value" => "mac-address",
        "user-agent:value" => "user-agent",
        _ => return None,
    })
}

/// A positive equality's path and value text.
fn equality(t: &Test) -> Option<(String, String)> {
    if t.negated {
        return None;
    }
    let Op::Eq(lit) = &t.op else { return None };
    let v = match lit {
        Literal::Str(s) => s.clone(),
        Literal::Int(i) => i.to_string(),
        _ => return None,
    };
    Some((path_text(&t.path)?, v))
}

/// The typed attribute(s) of a simple pattern: `(type, value)`.
fn typed_pattern(pattern: &str, version_20: bool) -> Option<(&'static str, String)> {
    let ast = if version_20 {
        accord_pattern::parse_v20(pattern)
    } else {
        accord_pattern::parse(pattern)
    }
    .ok()?;
    let ObsExpr::Simple(cmp) = ast else {
        return None;
    };
    match cmp {
        CmpExpr::Test(t) => {
            let (path, v) = equality(&t)?;
            let kind = path_kind(&path)?;
            Some((kind, v))
        }
        CmpExpr::And(a, b) => {
            let (CmpExpr::Test(a), CmpExpr::Test(b)) = (*a, *b) else {
                return None;
            };
            let (pa, va) = equality(&a)?;
            let (pb, vb) = equality(&b)?;
            let ((_, name), (hp, hash)) = if pa == "file:name" {
                ((pa, va), (pb, vb))
            } else if pb == "file:name" {
                ((pb, vb), (pa, va))
            } else {
                return None;
            };
            let kind = match path_kind(&hp)? {
                "md5" => "filename|md5",
                "sha1" => "filename|sha1",
                "sha256" => "filename|sha256",
                "sha512" => "filename|sha512",
                _ => return None,
            };
            if name.contains('|') {
                return None;
            }
            Some((kind, format!("{name}|{hash}")))
        }
        CmpExpr::Or(..) => None,
    }
}

/// The `(type, value)` pairs of one cyber-observable (in order: the
/// first is its primary attribute).
fn sco_values(obj: &Map<String, Value>) -> Vec<(&'static str, String)> {
    let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let one =
        |kind: &'static str, v: Option<String>| v.map(|v| vec![(kind, v)]).unwrap_or_default();
    match ty {
        "ipv4-addr" | "ipv6-addr" => one("ip-dst", s("value")),
        "domain-name" => one("domain", s("value")),
        "url" => one("url", s("value")),
        "email-addr" => one("email-src", s("value")),
        "mac-addr" => one("mac-address", s("value")),
        "mutex" => one("mutex", s("name")),
        "windows-registry-key" => one("regkey", s("key")),
        "autonomous-system" => one(
            "AS",
            obj.get("number")
                .and_then(Value::as_u64)
                .map(|n| n.to_string()),
        ),
        "file" => {
            let mut hashes: Vec<(&'static str, String)> = obj
                .get("hashes")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((hash_kind(k)?, v.as_str()?.to_owned())))
                .collect();
            let rank = |k: &str| match k {
                "sha256" => 0,
                "sha1" => 1,
                "md5" => 2,
                "sha512" => 3,
                _ => 4,
            };
            hashes.sort_by_key(|(k, _)| rank(k));
            let name = s("name").filter(|n| !n.contains('|'));
            match (name, hashes.first().cloned()) {
                (Some(n), Some((k, h))) if k != "ssdeep" => {
                    let kind = match k {
                        "sha256" => "filename|sha256",
                        "sha1" => "filename|sha1",
                        "md5" => "filename|md5",
                        _ => "filename|sha512",
                    };
                    let mut out = vec![(kind, format!("{n}|{h}"))];
                    out.extend(hashes.into_iter().skip(1));
                    out
                }
                (name, _) => {
                    let mut out = hashes;
                    if let Some(n) = name.or_else(|| s("name")) {
                        out.push(("filename", n));
                    }
                    out
                }
            }
        }
        "x509-certificate" => obj
            .get("hashes")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| {
                let kind = match hash_kind(k)? {
                    "sha1" => "x509-fingerprint-sha1",
                    "sha256" => "x509-fingerprint-sha256",
                    "md5" => "x509-fingerprint-md5",
                    _ => return None,
                };
                Some((kind, v.as_str()?.to_owned()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Attributes from `(type, value)` pairs: the first takes `first_uuid`,
/// the others a UUIDv5 of `id`, `salt` and their type.
fn attributes(
    id: &str,
    pairs: Vec<(&'static str, String)>,
    first_uuid: String,
    salt: &str,
    (to_ids, timestamp): (bool, i64),
    tags: &[String],
) -> Result<Vec<Attribute>, ConvertError> {
    let mut out = Vec::with_capacity(pairs.len());
    for (i, (kind, value)) in pairs.into_iter().enumerate() {
        if value.len() > MAX_VALUE_LEN {
            return Err(ConvertError::ValueTooLong {
                id: id.to_owned(),
                kind,
                len: value.len(),
                max: MAX_VALUE_LEN,
            });
        }
        if value.is_empty() {
            continue;
        }
        let uuid = if i == 0 {
            first_uuid.clone()
        } else {
            derived_uuid(id, &format!("{salt}{kind}"))
        };
        out.push(Attribute {
            uuid,
            kind,
            category: category(kind),
            value,
            to_ids,
            timestamp,
            comment: id.to_owned(),
            tags: tags.to_vec(),
        });
    }
    Ok(out)
}

/// Converts one STIX object (`raw`, as it leaves the node). `date_added`
/// (RFC 3339) dates an object without `created` (a cyber-observable).
///
/// # Errors
/// [`ConvertError`], naming the object.
pub fn convert(raw: &str, date_added: &str) -> Result<Converted, ConvertError> {
    let v: Value =
        serde_json::from_str(raw).map_err(|e| ConvertError::NotAnObject(e.to_string()))?;
    let Value::Object(obj) = v else {
        return Err(ConvertError::NotAnObject("not a JSON object".into()));
    };
    let (Some(id), Some(ty)) = (
        obj.get("id").and_then(Value::as_str),
        obj.get("type").and_then(Value::as_str),
    ) else {
        return Err(ConvertError::NotAnObject("no string `id` or `type`".into()));
    };
    let uuid = stix_uuid(id).ok_or_else(|| ConvertError::BadId(id.to_owned()))?;
    if obj.get("revoked").and_then(Value::as_bool) == Some(true) {
        return Ok(Converted::Skipped("revoked".into()));
    }
    let ts_text = obj
        .get("modified")
        .or_else(|| obj.get("created"))
        .and_then(Value::as_str);
    let timestamp = match ts_text {
        Some(t) => seconds(id, "modified", t)?,
        None => seconds(id, "date_added", date_added)?,
    };
    let day = match obj.get("created").and_then(Value::as_str) {
        Some(c) => day_of(id, "created", c)?,
        None => day_of(id, "date_added", date_added)?,
    };
    let tags = tags_of(&obj);
    let pairs = match ty {
        "report" => {
            let published = obj
                .get("published")
                .and_then(Value::as_str)
                .unwrap_or(date_added);
            return Ok(Converted::Report(ReportHead {
                id: id.to_owned(),
                name: obj
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(id)
                    .to_owned(),
                date: day_of(id, "published", published)?,
                timestamp,
                refs: obj
                    .get("object_refs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                tags,
            }));
        }
        "indicator" => {
            let pattern = obj.get("pattern").and_then(Value::as_str).unwrap_or("");
            let kind = match obj.get("pattern_type").and_then(Value::as_str) {
                Some("stix") | None => None,
                Some("yara") => Some("yara"),
                Some("sigma") => Some("sigma"),
                Some("snort" | "suricata") => Some("snort"),
                Some(other) => {
                    return Ok(Converted::Skipped(format!(
                        "indicator with pattern_type {other}"
                    )));
                }
            };
            let pair = match kind {
                Some(k) => (k, pattern.to_owned()),
                None => {
                    let v20 = obj.get("pattern_version").and_then(Value::as_str) == Some("2.0");
                    typed_pattern(pattern, v20)
                        .unwrap_or_else(|| ("stix2-pattern", pattern.to_owned()))
                }
            };
            let attrs = attributes(
                id,
                vec![pair],
                uuid.to_string(),
                "",
                (true, timestamp),
                &tags,
            )?;
            return Ok(if attrs.is_empty() {
                Converted::Skipped("indicator with an empty pattern".into())
            } else {
                Converted::Attributes {
                    id: id.to_owned(),
                    day,
                    attributes: attrs,
                }
            });
        }
        "observed-data" => {
            // STIX 2.0 style: the observables embedded in `objects`.
            let mut out = Vec::new();
            for (key, o) in obj
                .get("objects")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let Some(o) = o.as_object() else { continue };
                let salt = format!("{key}#");
                let first = derived_uuid(id, &format!("{salt}first"));
                out.extend(attributes(
                    id,
                    sco_values(o),
                    first,
                    &salt,
                    (false, timestamp),
                    &tags,
                )?);
            }
            if out.is_empty() {
                return Ok(Converted::Skipped(
                    "observed-data without embedded observables (its object_refs are exported themselves)".into(),
                ));
            }
            return Ok(Converted::Attributes {
                id: id.to_owned(),
                day,
                attributes: out,
            });
        }
        _ => sco_values(&obj),
    };
    if pairs.is_empty() {
        return Ok(Converted::Skipped(ty.to_owned()));
    }
    let attrs = attributes(id, pairs, uuid.to_string(), "", (false, timestamp), &tags)?;
    Ok(if attrs.is_empty() {
        Converted::Skipped(format!("{ty} without a value"))
    } else {
        Converted::Attributes {
            id: id.to_owned(),
            day,
            attributes: attrs,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(pattern: &str) -> String {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-11-02T10:00:00.000Z", "modified": "2026-11-03T10:00:00.000Z",
            "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-11-02T10:00:00Z",
            "labels": ["malicious-activity"],
            "object_marking_refs": [accord_policy::tlp::TLP2_GREEN],
        })
        .to_string()
    }

    fn one(pattern: &str) -> Attribute {
        match convert(&ind(pattern), "2026-12-01T00:00:00Z").unwrap() {
            Converted::Attributes {
                mut attributes,
                day,
                ..
            } => {
                assert_eq!(day, "2026-11-02");
                assert_eq!(attributes.len(), 1);
                attributes.pop().unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn simple_patterns_become_typed_attributes() {
        for (p, kind, value) in [
            (
                "[ipv4-addr:value = '198.51.100.7']",
                "ip-dst",
                "198.51.100.7",
            ),
            ("[ipv6-addr:value = '2001:db8::1']", "ip-dst", "2001:db8::1"),
            (
                "[domain-name:value = 'evil.example']",
                "domain",
                "evil.example",
            ),
            (
                "[url:value = 'http://evil.example/x']",
                "url",
                "http://evil.example/x",
            ),
            (
                "[email-addr:value = 'a@evil.example']",
                "email-src",
                "a@evil.example",
            ),
            (
                "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
                "md5",
                "d41d8cd98f00b204e9800998ecf8427e",
            ),
            (
                "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
                "sha1",
                "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            ),
            (
                "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
                "sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("[autonomous-system:number = 64496]", "AS", "64496"),
            (
                "[file:name = 'a.exe' AND file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
                "filename|sha256",
                "a.exe|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' AND file:name = 'b.dll']",
                "filename|md5",
                "b.dll|d41d8cd98f00b204e9800998ecf8427e",
            ),
        ] {
            let a = one(p);
            assert_eq!((a.kind, a.value.as_str()), (kind, value), "{p}");
            assert!(a.to_ids);
            assert_eq!(a.uuid, "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
            assert_eq!(a.tags, ["tlp:green", "malicious-activity"]);
            assert_eq!(a.comment, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
            assert_eq!(
                a.timestamp,
                accord_stix::Timestamp::parse("2026-11-03T10:00:00.000Z")
                    .unwrap()
                    .unix_seconds
            );
        }
    }

    #[test]
    fn other_patterns_stay_stix2_patterns() {
        for p in [
            "[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'x.example']",
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
            "[ipv4-addr:value != '198.51.100.7']",
            "[network-traffic:dst_port = 443 AND network-traffic:dst_ref.value = '198.51.100.7']",
            "[file:name = 'a|b' AND file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
            "[ipv4-addr:value = '198.51.100.7'] REPEATS 2 TIMES",
        ] {
            let a = one(p);
            assert_eq!(a.kind, "stix2-pattern", "{p}");
            assert_eq!(a.value, p);
            assert_eq!(a.category, "Payload installation");
        }
    }

    #[test]
    fn observables_are_not_for_ids() {
        let f = r#"{"type":"file","spec_version":"2.1","id":"file--5a27d487-c542-5f97-a131-a8866b477b46","name":"a.exe","hashes":{"MD5":"d41d8cd98f00b204e9800998ecf8427e","SHA-256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}"#;
        let Converted::Attributes {
            attributes, day, ..
        } = convert(f, "2026-12-05T01:02:03.000004Z").unwrap()
        else {
            panic!()
        };
        assert_eq!(day, "2026-12-05");
        assert_eq!(attributes.len(), 2);
        assert_eq!(attributes[0].kind, "filename|sha256");
        assert_eq!(attributes[0].uuid, "5a27d487-c542-5f97-a131-a8866b477b46");
        assert_eq!(attributes[1].kind, "md5");
        assert_ne!(attributes[1].uuid, attributes[0].uuid);
        assert!(attributes.iter().all(|a| !a.to_ids));
        assert_eq!(attributes[0].md5s().len(), 2);
        assert_eq!(attributes[1].md5s(), ["74be16979710d4c4e7c6647856088456"]);
        let v = attributes[0].to_value();
        assert_eq!(
            v["value"],
            format!(
                "a.exe|{}",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            )
        );
        assert_eq!(v["to_ids"], false);
        assert_eq!(v["uuid"], "5a27d487-c542-5f97-a131-a8866b477b46");
    }

    #[test]
    fn reports_head_events_and_others_are_skipped() {
        let r = r#"{"type":"report","spec_version":"2.1","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3","created":"2026-11-01T00:00:00Z","modified":"2026-11-04T00:00:00Z","name":"Campaign X","published":"2026-11-03T12:00:00Z","object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"],"object_marking_refs":["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}"#;
        let Converted::Report(h) = convert(r, "2026-12-01T00:00:00Z").unwrap() else {
            panic!()
        };
        assert_eq!(h.date, "2026-11-03");
        assert_eq!(h.name, "Campaign X");
        assert_eq!(h.tags, ["tlp:red"]);
        assert_eq!(h.refs.len(), 1);
        let idn = r#"{"type":"identity","spec_version":"2.1","id":"identity--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3","created":"2026-11-01T00:00:00Z","modified":"2026-11-01T00:00:00Z","name":"x"}"#;
        assert_eq!(
            convert(idn, "2026-12-01T00:00:00Z").unwrap(),
            Converted::Skipped("identity".into())
        );
    }

    #[test]
    fn bad_input_is_named() {
        assert!(matches!(
            convert("[1]", "2026-12-01T00:00:00Z"),
            Err(ConvertError::NotAnObject(_))
        ));
        let bad = r#"{"type":"ipv4-addr","id":"ipv4-addr--nope","value":"1.2.3.4"}"#;
        assert_eq!(
            convert(bad, "2026-12-01T00:00:00Z"),
            Err(ConvertError::BadId("ipv4-addr--nope".into()))
        );
        let long = serde_json::json!({"type":"url","id":"url--5a27d487-c542-5f97-a131-a8866b477b46","value": "x".repeat(MAX_VALUE_LEN + 1)}).to_string();
        assert!(matches!(
            convert(&long, "2026-12-01T00:00:00Z"),
            Err(ConvertError::ValueTooLong { .. })
        ));
        let ts = r#"{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"yesterday","modified":"yesterday","pattern":"[url:value = 'x']","pattern_type":"stix"}"#;
        let e = convert(ts, "2026-12-01T00:00:00Z").unwrap_err();
        assert!(e.to_string().contains("indicator--8e2e2d2b"), "{e}");
    }
}
