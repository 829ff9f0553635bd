//! Exchange records: the log's leaves, as RFC 8785 (JCS) canonical JSON.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Which way an object went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received from a partner.
    In,
    /// Sent (or offered) to a partner.
    Out,
    /// Created or ingested locally (no partner).
    Local,
}

impl Direction {
    /// The JSON string.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Local => "local",
        }
    }
}

/// What was decided for the object, tagged by `action`:
///
/// | direction | JSON |
/// |---|---|
/// | out | `{"action":"sent"}` |
/// | out | `{"action":"redacted","fields":["x_name", …]}` (fields removed or rewritten, in the order the outbound path applied them) |
/// | out | `{"action":"withheld","reason":"…"}` (nothing left; `sha256` is of the object as it would have been sent) |
/// | in, local | `{"action":"stored"}` |
/// | in | `{"action":"rejected","reason":"…"}` (received but not stored) |
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub enum Decision {
    /// Sent unchanged.
    Sent,
    /// Sent with these fields removed or rewritten.
    Redacted {
        /// JSON paths or property names, as the outbound path names them.
        fields: Vec<String>,
    },
    /// Not sent.
    Withheld {
        /// Why (the agreement clause or rule).
        reason: String,
    },
    /// Received or created, and stored.
    Stored,
    /// Received and refused.
    Rejected {
        /// Why.
        reason: String,
    },
}

/// One exchange: a leaf of the log.
///
/// `to_leaf_bytes` gives the RFC 8785 canonical JSON; its members, sorted:
/// `collection`, `decision`, `direction`, `modified` (omitted when the object
/// has none, e.g. a STIX cyber-observable), `object_id`, `partner` (omitted
/// for `local`), `salt` (omitted in records written before salts existed),
/// `sha256` (lowercase hex of the exact bytes sent or received), `time`
/// (RFC 3339, when the exchange happened).
///
/// The salt makes the leaf hash unguessable: a partner that is shown only
/// the leaf hash of a record it is not party to (a redacted entry, see
/// [`crate::tiles::BundleEntry`]) cannot confirm a guess of its object id,
/// content or partner by hashing candidate records. This crate draws no
/// randomness: the store assigns each new record a fresh salt
/// ([`salt_hex`] of 16 random bytes) when it has none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRecord {
    /// in / out / local.
    pub direction: Direction,
    /// The partner node's name (none for local records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// The collection (TAXII collection id or local name).
    pub collection: String,
    /// The STIX id of the object.
    pub object_id: String,
    /// The object's `modified` (its version), as written in the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Lowercase hex SHA-256 of the exact bytes sent or received.
    pub sha256: String,
    /// The decision.
    pub decision: Decision,
    /// RFC 3339 time of the exchange.
    pub time: String,
    /// [`SALT_HEX_LEN`] lowercase hex digits (128 random bits) that make
    /// the leaf hash unguessable; `None` only in records written before
    /// salts existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

/// Length of a record's salt: 32 lowercase hex digits (16 random bytes).
pub const SALT_HEX_LEN: usize = 32;

/// A salt for [`ExchangeRecord::salt`] from 16 bytes the caller drew from
/// a cryptographic random source.
pub fn salt_hex(random: &[u8; SALT_HEX_LEN / 2]) -> String {
    crate::lower_hex(random, &mut [0; SALT_HEX_LEN]).to_owned()
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An [`ExchangeRecord`] whose fields are borrowed, so a record is written
/// without copying them first (ingest writes one a stored object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// in / out / local.
    pub direction: Direction,
    /// The partner node's name (none for local records).
    pub partner: Option<&'a str>,
    /// The collection.
    pub collection: &'a str,
    /// The STIX id of the object.
    pub object_id: &'a str,
    /// The object's `modified`.
    pub modified: Option<&'a str>,
    /// Lowercase hex SHA-256 of the exact bytes.
    pub sha256: &'a str,
    /// The decision.
    pub decision: &'a Decision,
    /// RFC 3339 time of the exchange.
    pub time: &'a str,
    /// The salt.
    pub salt: Option<&'a str>,
}

impl RecordRef<'_> {
    /// Appends the leaf bytes, RFC 8785 (JCS) canonical JSON of the
    /// record, to `s`.
    pub fn write_leaf(&self, s: &mut String) {
        // Members in RFC 8785 order (UTF-16 code units; all names are ASCII).
        s.push_str("{\"collection\":");
        jcs_string(s, self.collection);
        s.push_str(",\"decision\":{\"action\":");
        match self.decision {
            Decision::Sent => s.push_str("\"sent\""),
            Decision::Stored => s.push_str("\"stored\""),
            Decision::Redacted { fields } => {
                s.push_str("\"redacted\",\"fields\":[");
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    jcs_string(s, f);
                }
                s.push(']');
            }
            Decision::Withheld { reason } => {
                s.push_str("\"withheld\",\"reason\":");
                jcs_string(s, reason);
            }
            Decision::Rejected { reason } => {
                s.push_str("\"rejected\",\"reason\":");
                jcs_string(s, reason);
            }
        }
        s.push_str("},\"direction\":\"");
        s.push_str(self.direction.as_str());
        s.push('"');
        if let Some(m) = self.modified {
            s.push_str(",\"modified\":");
            jcs_string(s, m);
        }
        s.push_str(",\"object_id\":");
        jcs_string(s, self.object_id);
        if let Some(p) = self.partner {
            s.push_str(",\"partner\":");
            jcs_string(s, p);
        }
        if let Some(salt) = self.salt {
            s.push_str(",\"salt\":");
            jcs_string(s, salt);
        }
        s.push_str(",\"sha256\":");
        jcs_string(s, self.sha256);
        s.push_str(",\"time\":");
        jcs_string(s, self.time);
        s.push('}');
    }
}

impl ExchangeRecord {
    /// Checks the record's shape: `sha256` is 64 lowercase hex digits, the
    /// salt (when present) [`SALT_HEX_LEN`] lowercase hex digits, the
    /// decision fits the direction, `partner` is present exactly when the
    /// direction is not `local`, `time` looks like RFC 3339 and text fields
    /// are not empty.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field, reason: &str| {
            Err(Error::Record {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.sha256.len() != 64 || !is_lower_hex(&self.sha256) {
            return bad(
                "sha256",
                &format!("{:?} is not 64 lowercase hex digits", self.sha256),
            );
        }
        if let Some(salt) = &self.salt
            && (salt.len() != SALT_HEX_LEN || !is_lower_hex(salt))
        {
            return bad(
                "salt",
                &format!("{salt:?} is not {SALT_HEX_LEN} lowercase hex digits"),
            );
        }
        if self.collection.is_empty() {
            return bad("collection", "empty");
        }
        if self.object_id.is_empty() {
            return bad("object_id", "empty");
        }
        match (&self.partner, self.direction) {
            (None, Direction::In | Direction::Out) => {
                return bad("partner", "required for direction in and out");
            }
            (Some(_), Direction::Local) => return bad("partner", "must be absent for local"),
            (Some(p), _) if p.is_empty() => return bad("partner", "empty"),
            _ => {}
        }
        let ok = matches!(
            (self.direction, &self.decision),
            (
                Direction::Out,
                Decision::Sent | Decision::Redacted { .. } | Decision::Withheld { .. }
            ) | (Direction::In, Decision::Stored | Decision::Rejected { .. })
                | (Direction::Local, Decision::Stored)
        );
        if !ok {
            return bad(
                "decision",
                &format!(
                    "{:?} does not apply to direction {}",
                    self.decision,
                    self.direction.as_str()
                ),
            );
        }
        if !looks_like_rfc3339(&self.time) {
            return bad(
                "time",
                &format!("{:?} is not an RFC 3339 timestamp", self.time),
            );
        }
        Ok(())
    }

    /// The leaf bytes: RFC 8785 (JCS) canonical JSON of the record.
    pub fn to_leaf_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(256);
        self.borrowed().write_leaf(&mut s);
        s.into_bytes()
    }

    /// The record's fields, borrowed.
    pub fn borrowed(&self) -> RecordRef<'_> {
        RecordRef {
            direction: self.direction,
            partner: self.partner.as_deref(),
            collection: &self.collection,
            object_id: &self.object_id,
            modified: self.modified.as_deref(),
            sha256: &self.sha256,
            decision: &self.decision,
            time: &self.time,
            salt: self.salt.as_deref(),
        }
    }

    /// Parses leaf bytes, requiring them to be exactly the canonical form
    /// (so one record has one leaf, and a partner can check an entry bundle).
    pub fn from_leaf_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let r: ExchangeRecord = serde_json::from_slice(bytes).map_err(|e| Error::RecordBytes {
            reason: e.to_string(),
        })?;
        if r.to_leaf_bytes() != bytes {
            return Err(Error::RecordBytes {
                reason: "not in RFC 8785 canonical form".into(),
            });
        }
        Ok(r)
    }

    /// The RFC 9162 leaf hash of the record.
    pub fn leaf_hash(&self) -> crate::Hash {
        crate::leaf_hash(&self.to_leaf_bytes())
    }
}

/// RFC 8785 §3.2.2.2 string serialization (as ECMAScript JSON.stringify).
fn jcs_string(out: &mut String, s: &str) {
    out.push('"');
    // Most text needs no escape: copy the run before the first byte that
    // does in one go.
    let clean = s
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(s.len());
    out.push_str(&s[..clean]);
    for c in s[clean..].chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, field ranges checked loosely.
fn looks_like_rfc3339(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> ExchangeRecord {
        ExchangeRecord {
            direction: Direction::Out,
            partner: Some("cert.example.cn".into()),
            collection: "indicators".into(),
            object_id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into(),
            modified: Some("2016-04-06T20:03:48.000Z".into()),
            sha256: "a".repeat(64),
            decision: Decision::Redacted {
                fields: vec!["x_contact_email".into(), "description".into()],
            },
            time: "2026-11-28T02:40:00Z".into(),
            salt: None,
        }
    }

    #[test]
    fn leaf_bytes_are_the_documented_shape() {
        let got = String::from_utf8(rec().to_leaf_bytes()).unwrap();
        assert_eq!(
            got,
            concat!(
                r#"{"collection":"indicators","decision":{"action":"redacted","fields":["x_contact_email","description"]},"#,
                r#""direction":"out","modified":"2016-04-06T20:03:48.000Z","#,
                r#""object_id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","partner":"cert.example.cn","#,
                r#""sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","time":"2026-11-28T02:40:00Z"}"#
            )
        );
        assert_eq!(
            ExchangeRecord::from_leaf_bytes(got.as_bytes()).unwrap(),
            rec()
        );
    }

    #[test]
    fn a_salt_sits_between_partner_and_sha256_and_changes_the_hash() {
        let mut r = rec();
        r.salt = Some(salt_hex(&[0xa5; 16]));
        r.validate().unwrap();
        let got = String::from_utf8(r.to_leaf_bytes()).unwrap();
        assert!(
            got.contains(concat!(
                r#""partner":"cert.example.cn","salt":"a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5","#,
                r#""sha256":"#
            )),
            "{got}"
        );
        // (tests/records.rs checks salted records against a general JCS writer.)
        assert_eq!(ExchangeRecord::from_leaf_bytes(got.as_bytes()).unwrap(), r);
        // Two salts, two leaf hashes for the same exchange; no salt, a third.
        let mut other = r.clone();
        other.salt = Some(salt_hex(&[0x5a; 16]));
        assert_ne!(r.leaf_hash(), other.leaf_hash());
        assert_ne!(r.leaf_hash(), rec().leaf_hash());
        // An unsalted record (written before salts) still parses as it was.
        let old = rec().to_leaf_bytes();
        assert!(!String::from_utf8_lossy(&old).contains("salt"));
        assert_eq!(ExchangeRecord::from_leaf_bytes(&old).unwrap().salt, None);
    }

    #[test]
    fn a_malformed_salt_is_named() {
        for bad in ["", "abc", &"A".repeat(32), &"g".repeat(32), &"a".repeat(33)] {
            let mut r = rec();
            r.salt = Some(bad.to_owned());
            let e = r.validate().unwrap_err().to_string();
            assert!(e.contains("salt"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let pretty = serde_json::to_vec_pretty(&rec()).unwrap();
        let e = ExchangeRecord::from_leaf_bytes(&pretty).unwrap_err();
        assert!(e.to_string().contains("canonical"), "{e}");
        assert!(ExchangeRecord::from_leaf_bytes(b"{}").is_err());
    }

    #[test]
    fn validation_names_the_field() {
        rec().validate().unwrap();
        let mut r = rec();
        r.sha256 = "A".repeat(64);
        assert!(r.validate().unwrap_err().to_string().contains("sha256"));
        let mut r = rec();
        r.decision = Decision::Stored;
        assert!(r.validate().unwrap_err().to_string().contains("decision"));
        let mut r = rec();
        r.direction = Direction::Local;
        assert!(r.validate().unwrap_err().to_string().contains("partner"));
        let mut r = rec();
        r.time = "yesterday".into();
        assert!(r.validate().unwrap_err().to_string().contains("time"));
        let mut r = rec();
        r.time = "2026-11-28T02:40:00.123+01:00".into();
        r.validate().unwrap();
    }
}
