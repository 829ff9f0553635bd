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
    /// The JCS bytes of this object's ledger record, should it be stored
    /// (empty from [`prepare_batch_rebuilt`]).
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
    prepare_rows(objs, batch, source, time_micros, true)
}

/// [`prepare_batch`] for a backend that rebuilds a stored object's record
/// from its row (SQLite: the chunk line is `#`): each [`Row::leaf`] is
/// left empty once hashed, so the bytes are neither kept nor handed across
/// threads to be freed.
pub(crate) fn prepare_batch_rebuilt(
    objs: &[NewObject<'_>],
    batch: u64,
    source: &LedgerSource,
    time_micros: i64,
) -> Result<Vec<Row>, StoreError> {
    prepare_rows(objs, batch, source, time_micros, false)
}

fn prepare_rows(
    objs: &[NewObject<'_>],
    batch: u64,
    source: &LedgerSource,
    time_micros: i64,
    keep_leaf: bool,
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
    let one = |(o, salt): (&NewObject<'_>, &String)| prepare(o, source, &time, salt, keep_leaf);
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
    keep_leaf: bool,
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
    #[cfg(feature = "bench-no-ledger")]
    let leaf_hash = Hash([0; 32]);
    #[cfg(not(feature = "bench-no-ledger"))]
    let leaf_hash = accord_ledger::leaf_hash(&leaf);
    Ok(Row {
        leaf_hash,
        leaf: if keep_leaf { leaf } else { Vec::new() },
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
    if compact_without_escapes(raw.as_bytes()) {
        // The usual case: one line of JSON as a serializer writes it.
        let h: [u8; 32] = Sha256::digest(raw.as_bytes()).into();
        return (h, h);
    }
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

/// Whether `raw` has no backslash and no byte below `!` (whitespace or a
/// control character) outside strings (a quote opens or closes a string),
/// so that [`content_hash`] is the hash of `raw` itself. False also
/// whenever it cannot tell cheaply (a backslash anywhere): the general
/// path then reads the text. 64 bytes at a time, 8 per word (SWAR): a bit
/// per byte for quotes, low bytes and backslashes, then the quotes'
/// prefix XOR for "inside a string".
fn compact_without_escapes(raw: &[u8]) -> bool {
    // All ones when the previous block ended inside a string.
    let mut inside: u64 = 0;
    for block in raw.chunks(64) {
        let (mut quote, mut low, mut slash) = (0u64, 0u64, 0u64);
        for (k, word) in block.chunks(8).enumerate() {
            let mut b = [0x41u8; 8];
            b[..word.len()].copy_from_slice(word);
            let x = u64::from_le_bytes(b);
            quote |=
                byte_mask(zero_bytes(x ^ (0x0101_0101_0101_0101 * u64::from(b'"')))) << (8 * k);
            slash |=
                byte_mask(zero_bytes(x ^ (0x0101_0101_0101_0101 * u64::from(b'\\')))) << (8 * k);
            // High bit of each byte: its low seven bits reach `!` (0x21),
            // or it is not ASCII. Exact per byte: no carry crosses bytes.
            let ge = ((x & 0x7F7F_7F7F_7F7F_7F7F) + 0x5F5F_5F5F_5F5F_5F5F) | x;
            low |= byte_mask(!ge & 0x8080_8080_8080_8080) << (8 * k);
        }
        if slash != 0 {
            return false;
        }
        // Bit i: an odd number of quotes at or before byte i of the block.
        let mut x = quote;
        for shift in [1, 2, 4, 8, 16, 32] {
            x ^= x << shift;
        }
        let in_string = x ^ inside;
        if low & !in_string != 0 {
            return false;
        }
        // The state after the block's last byte.
        inside = if (in_string >> (block.len() - 1)) & 1 == 1 {
            u64::MAX
        } else {
            0
        };
    }
    true
}

/// The high bit of each byte of the result is set exactly where the byte
/// of `t` is zero (no false positives: no carry crosses bytes).
fn zero_bytes(t: u64) -> u64 {
    !(((t & 0x7F7F_7F7F_7F7F_7F7F) + 0x7F7F_7F7F_7F7F_7F7F) | t | 0x7F7F_7F7F_7F7F_7F7F)
}

/// The high bits of the eight bytes of `m` (only high bits set) packed
/// into the low eight bits, byte 0 first.
fn byte_mask(m: u64) -> u64 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
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

    /// Text made of the bytes that matter to the compactness check.
    fn jsonish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just('"'),
                Just(' '),
                Just('\\'),
                Just('\n'),
                Just('\t'),
                Just('\r'),
                Just('a'),
                Just('{'),
                Just(':'),
                Just('é'),
            ],
            0..300,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    #[test]
    fn compact_check_examples() {
        assert!(compact_without_escapes(br#"{"a":"x y","b":[1,2]}"#));
        assert!(!compact_without_escapes(br#"{"a":"x y", "b":[1,2]}"#));
        assert!(!compact_without_escapes(br#"{"a":"x \"y","b":[1,2]}"#));
        assert!(!compact_without_escapes(b" {}"));
        // A string that spans a 64-byte block boundary, then a space
        // outside it in the next block.
        let long = format!("{{\"a\":\"{}\", \"b\":1}}", "x y".repeat(30));
        assert!(!compact_without_escapes(long.as_bytes()));
        let long = format!("{{\"a\":\"{}\",\"b\":\"p q\"}}", "x y".repeat(30));
        assert!(compact_without_escapes(long.as_bytes()));
    }

    proptest! {
        /// The fast check never says "compact" of text the general path
        /// would change, and both hashes agree with the general path.
        #[test]
        fn compact_check_agrees_with_significant_parts(raw in jsonish()) {
            let parts: Vec<&str> = accord_stix::compact::significant_parts(&raw).collect();
            let whole = parts.len() == 1 && parts[0].len() == raw.len();
            if compact_without_escapes(raw.as_bytes()) {
                prop_assert!(whole || raw.is_empty(), "{:?}", raw);
            } else if !raw.contains('\\') && !raw.is_empty() {
                // Only the bytes below `!` outside strings make it answer
                // no, and those are exactly what the general path drops
                // (the test's alphabet has no other control character).
                prop_assert!(!whole, "{:?}", raw);
            }
            let mut h = Sha256::new();
            for p in &parts {
                h.update(p.as_bytes());
            }
            let content: [u8; 32] = h.finalize().into();
            let raw_hash: [u8; 32] = Sha256::digest(raw.as_bytes()).into();
            prop_assert_eq!(content_and_raw_hash(&raw), (content, raw_hash));
        }

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
