//! Turning a caller's [`NewObject`] into an owned [`Row`]: checking the
//! indexed fields, normalizing the version key and hashing the content.
//! This runs on the submitter's thread, so many submitters hash in
//! parallel while the single writer thread only inserts.

use crate::ledger::LedgerSource;
use crate::{NewObject, StoreError};
use accord_ledger::{Direction, Hash};
use accord_stix::Timestamp;
use sha2::{Digest, Sha256};

/// One object ready for the writer.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub collection: String,
    pub id: String,
    pub type_name: String,
    pub spec_version: String,
    pub created: Option<String>,
    pub modified: Option<String>,
    /// The normalized version key (see [`version_key`]).
    pub version: String,
    pub origin: String,
    /// Marking-definition ids joined with `,`.
    pub markings: String,
    pub sha256: [u8; 32],
    pub raw: String,
    /// The id's key in the `objects_idh` index: see [`id_hash`].
    pub idh: i64,
    /// The JCS bytes of this object's ledger record, should it be stored.
    pub leaf: Vec<u8>,
    /// Their RFC 9162 leaf hash.
    pub leaf_hash: Hash,
    /// What the record holds beyond the object row (direction, partner,
    /// time; see `ledger::record_source`), stored in the row so the record
    /// can be rebuilt from it. `None` when the log is compiled out.
    pub ledger_src: Option<String>,
}

/// Checks and copies a batch, and builds each object's ledger record (as
/// received from `source`, at `time_micros`): all of it on the caller's
/// side, so the single writer thread only inserts. A large batch is
/// prepared on rayon's pool (hashing and building records is a few µs an
/// object, in front of the writer on a POST's critical path). `batch` only
/// names the batch in errors, which name the first object that fails.
pub(crate) fn prepare_batch(
    objs: &[NewObject<'_>],
    batch: u64,
    source: &LedgerSource,
    time_micros: i64,
) -> Result<Vec<Row>, StoreError> {
    use rayon::prelude::*;
    const PARALLEL_FROM: usize = 256;
    let time = format_micros(time_micros);
    // No records under `bench-no-ledger`: no salts either.
    let salts = if cfg!(feature = "bench-no-ledger") {
        Ok(vec![String::new(); objs.len()])
    } else {
        crate::ledger::draw_salts(objs.len())
    }
    .map_err(|reason| StoreError::InvalidObject {
        batch,
        index: 0,
        id: objs.first().map_or_else(String::new, |o| o.id.to_owned()),
        reason,
    })?;
    let one = |(o, salt): (&NewObject<'_>, &String)| prepare(o, source, &time, salt);
    let results: Vec<Result<Row, String>> = if objs.len() >= PARALLEL_FROM {
        objs.par_iter()
            .zip(salts.par_iter())
            .with_min_len(64)
            .map(one)
            .collect()
    } else {
        objs.iter().zip(&salts).map(one).collect()
    };
    results
        .into_iter()
        .enumerate()
        .map(|(index, r)| {
            r.map_err(|reason| StoreError::InvalidObject {
                batch,
                index,
                id: objs[index].id.to_owned(),
                reason,
            })
        })
        .collect()
}

fn prepare(
    o: &NewObject<'_>,
    source: &LedgerSource,
    time: &str,
    salt: &str,
) -> Result<Row, String> {
    for (name, v) in [
        ("id", o.id),
        ("type", o.type_name),
        ("collection", o.collection),
        ("raw JSON", o.raw),
    ] {
        if v.is_empty() {
            return Err(format!("{name} is empty"));
        }
    }
    if let Some(m) = o.markings.iter().find(|m| m.is_empty() || m.contains(',')) {
        return Err(format!("marking `{m}` is empty or contains `,`"));
    }
    let key = o.modified.or(o.created).unwrap_or("");
    let version = version_key(key).map_err(|e| format!("version timestamp: {e}"))?;
    #[cfg(feature = "bench-no-ledger")]
    let (sha256, raw_sha256) = (content_hash(o.raw), [0u8; 32]);
    #[cfg(not(feature = "bench-no-ledger"))]
    let (sha256, raw_sha256) = content_and_raw_hash(o.raw);
    let (direction, partner) = match source {
        LedgerSource::Local => (Direction::Local, None),
        LedgerSource::Partner(p) => (Direction::In, Some(p.clone())),
    };
    #[cfg(feature = "bench-no-ledger")]
    let (leaf, ledger_src) = {
        let _ = (raw_sha256, direction, partner, time, salt);
        (Vec::new(), None)
    };
    #[cfg(not(feature = "bench-no-ledger"))]
    let ledger_src = Some(crate::ledger::record_source(
        direction,
        partner.as_deref(),
        time,
        Some(salt),
    ));
    #[cfg(not(feature = "bench-no-ledger"))]
    let leaf = accord_ledger::ExchangeRecord {
        direction,
        partner,
        collection: o.collection.to_owned(),
        object_id: o.id.to_owned(),
        modified: o.modified.map(str::to_owned),
        sha256: Hash(raw_sha256).to_hex(),
        decision: accord_ledger::Decision::Stored,
        time: time.to_owned(),
        salt: Some(salt.to_owned()),
    }
    .to_leaf_bytes();
    Ok(Row {
        #[cfg(feature = "bench-no-ledger")]
        leaf_hash: Hash([0; 32]),
        #[cfg(not(feature = "bench-no-ledger"))]
        leaf_hash: accord_ledger::leaf_hash(&leaf),
        leaf,
        ledger_src,
        collection: o.collection.to_owned(),
        id: o.id.to_owned(),
        type_name: o.type_name.to_owned(),
        spec_version: o.spec_version.to_owned(),
        created: o.created.map(str::to_owned),
        modified: o.modified.map(str::to_owned),
        version,
        origin: o.origin.to_owned(),
        markings: o.markings.join(","),
        sha256,
        raw: o.raw.to_owned(),
        idh: id_hash(o.id),
    })
}

/// The version key as stored: the empty string for unversioned objects,
/// else the timestamp rewritten with exactly nine fractional digits,
/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`. Fixed width makes text order equal
/// time order (`…48.1Z` sorts before `…48Z` as given, which is wrong) and
/// makes `…48Z` and `…48.000Z`, the same instant, the same version.
pub(crate) fn version_key(text: &str) -> Result<String, accord_stix::timestamp::TimestampError> {
    if text.is_empty() {
        return Ok(String::new());
    }
    Ok(format_nanos(&Timestamp::parse(text)?))
}

/// A timestamp with nine fractional digits.
pub(crate) fn format_nanos(t: &Timestamp) -> String {
    t.format(9)
}

/// Microseconds since the Unix epoch as RFC 3339 UTC with six fractional
/// digits, the form of `date_added`.
pub(crate) fn format_micros(us: i64) -> String {
    let nanos = u32::try_from(us.rem_euclid(1_000_000) * 1_000).unwrap_or(0);
    Timestamp::from_unix(us.div_euclid(1_000_000), nanos).format(6)
}

/// A timestamp as microseconds since the epoch, rounded down.
pub(crate) fn to_micros(t: &Timestamp) -> i64 {
    t.unix_seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(t.nanos / 1_000))
}

/// The first 8 bytes of SHA-256(id), as the signed integer SQLite stores.
/// A cryptographic hash, so crafted ids cannot pile onto one index key.
pub fn id_hash(id: &str) -> i64 {
    let d = Sha256::digest(id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_be_bytes(b)
}

/// SHA-256 of the raw JSON with the whitespace *between* JSON tokens
/// removed (space, tab, CR, LF outside strings). So the same serialization
/// pretty-printed or minified has one hash; any other difference (key
/// order, number spelling, escapes) gives another hash.
pub(crate) fn content_hash(raw: &str) -> [u8; 32] {
    content_and_raw_hash(raw).0
}

/// [`content_hash`] and SHA-256 of the exact bytes of `raw`: one pass over
/// the bytes when `raw` has no whitespace between tokens (the usual case:
/// the two are then equal).
pub(crate) fn content_and_raw_hash(raw: &str) -> ([u8; 32], [u8; 32]) {
    let mut h = Sha256::new();
    let mut whole = false;
    for (i, part) in accord_stix::compact::significant_parts(raw).enumerate() {
        whole = i == 0 && part.len() == raw.len();
        h.update(part.as_bytes());
    }
    let content: [u8; 32] = h.finalize().into();
    if whole {
        (content, content)
    } else {
        (content, Sha256::digest(raw.as_bytes()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn version_keys_sort_by_time_and_merge_equal_instants() {
        let a = version_key("2016-04-06T20:03:48.1Z").unwrap();
        let b = version_key("2016-04-06T20:03:48Z").unwrap();
        let c = version_key("2016-04-06T20:03:48.000Z").unwrap();
        assert_eq!(b, "2016-04-06T20:03:48.000000000Z");
        assert_eq!(b, c);
        assert!(b < a);
        assert_eq!(version_key("").unwrap(), "");
        assert!(version_key("yesterday").is_err());
    }

    #[test]
    fn micros_format() {
        assert_eq!(format_micros(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_micros(1_459_973_028_123_456),
            "2016-04-06T20:03:48.123456Z"
        );
        assert_eq!(format_micros(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn hash_ignores_whitespace_between_tokens_only() {
        let a = content_hash(r#"{"a":"x y","b":[1,2]}"#);
        let b = content_hash("{ \"a\" : \"x y\",\n  \"b\": [1, 2]\r\n}");
        let c = content_hash(r#"{"a":"xy","b":[1,2]}"#);
        let d = content_hash(r#"{"a":"x \"y","b":[1,2]}"#);
        let e = content_hash(r#"{"a":"x \"y", "b":[1,2]}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(d, e);
        assert_ne!(a, d);
        for raw in [
            r#"{"a":"x y","b":[1,2]}"#,
            "{ \"a\" : \"x y\" }",
            " {}",
            "{} ",
            "",
        ] {
            let (c, r) = content_and_raw_hash(raw);
            assert_eq!(c, content_hash(raw));
            assert_eq!(
                r,
                <[u8; 32]>::from(Sha256::digest(raw.as_bytes())),
                "{raw:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn version_key_order_is_time_order(
            a in -2_000_000_000i64..8_000_000_000, an in 0u32..1_000_000_000,
            b in -2_000_000_000i64..8_000_000_000, bn in 0u32..1_000_000_000,
        ) {
            let ta = Timestamp::from_unix(a, an);
            let tb = Timestamp::from_unix(b, bn);
            let ka = version_key(&format_nanos(&ta)).unwrap();
            let kb = version_key(&format_nanos(&tb)).unwrap();
            prop_assert_eq!(ka.cmp(&kb), ta.cmp(&tb));
        }
    }
}
