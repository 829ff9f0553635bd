//! Turning a caller's [`NewObject`] into an owned [`Row`]: checking the
//! indexed fields, normalizing the version key and hashing the content.
//! This runs on the submitter's thread, so many submitters hash in
//! parallel while the single writer thread only inserts.

use crate::ledger::{LedgerSource, SALT_BYTES};
use crate::{NewObject, StoreError};
use accord_ledger::{Direction, Hash};
use accord_stix::Timestamp;
use sha2::{Digest, Sha256};

/// One object ready for the writer. Its text fields are kept one after
/// another in one allocation (`text`), so a row costs one allocation and
/// one free (a field each was a tenth of ingest's CPU, the frees on the
/// thread that answers the submitters).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The fields of [`Field`], in that order.
    text: Box<str>,
    /// Where each field of `text` ends.
    ends: [u32; FIELDS],
    /// Bit `i`: field `i` is `None` (only `created`, `modified` and
    /// `ledger_src` can be).
    none: u16,
    pub sha256: [u8; 32],
    /// The id's key in the `objects_idh` index: see [`id_hash`].
    pub idh: i64,
    /// The JCS bytes of this object's ledger record, should it be stored
    /// (empty from [`prepare_batch_rebuilt`]).
    pub leaf: Vec<u8>,
    /// Their RFC 9162 leaf hash.
    pub leaf_hash: Hash,
}

/// The text fields of a [`Row`].
#[derive(Debug, Clone, Copy)]
enum Field {
    Collection,
    Id,
    TypeName,
    SpecVersion,
    Created,
    Modified,
    /// The normalized version key (see [`version_key`]).
    Version,
    Origin,
    /// Marking-definition ids joined with `,`.
    Markings,
    Raw,
    /// What the record holds beyond the object row (direction, partner,
    /// time; see `ledger::record_source`), stored in the row so the record
    /// can be rebuilt from it. `None` when the log is compiled out.
    LedgerSrc,
}

const FIELDS: usize = Field::LedgerSrc as usize + 1;

impl Row {
    fn field(&self, f: Field) -> &str {
        let i = f as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    fn optional(&self, f: Field) -> Option<&str> {
        (self.none & (1 << f as usize) == 0).then(|| self.field(f))
    }

    pub fn collection(&self) -> &str {
        self.field(Field::Collection)
    }
    pub fn id(&self) -> &str {
        self.field(Field::Id)
    }
    pub fn type_name(&self) -> &str {
        self.field(Field::TypeName)
    }
    pub fn spec_version(&self) -> &str {
        self.field(Field::SpecVersion)
    }
    pub fn created(&self) -> Option<&str> {
        self.optional(Field::Created)
    }
    pub fn modified(&self) -> Option<&str> {
        self.optional(Field::Modified)
    }
    /// The normalized version key (see [`version_key`]).
    pub fn version(&self) -> &str {
        self.field(Field::Version)
    }
    pub fn origin(&self) -> &str {
        self.field(Field::Origin)
    }
    /// Marking-definition ids joined with `,`.
    pub fn markings(&self) -> &str {
        self.field(Field::Markings)
    }
    pub fn raw(&self) -> &str {
        self.field(Field::Raw)
    }
    /// See [`Field::LedgerSrc`].
    pub fn ledger_src(&self) -> Option<&str> {
        self.optional(Field::LedgerSrc)
    }
}

/// Builds a [`Row`]'s `text`, field by field in [`Field`] order.
struct RowText {
    text: String,
    ends: [u32; FIELDS],
    none: u16,
    next: usize,
}

impl RowText {
    fn with_capacity(n: usize) -> RowText {
        RowText {
            text: String::with_capacity(n),
            ends: [0; FIELDS],
            none: 0,
            next: 0,
        }
    }

    /// Ends the current field (its text already pushed); `None` marks it
    /// absent.
    fn end(&mut self, present: bool) -> Result<(), String> {
        self.ends[self.next] = u32::try_from(self.text.len())
            .map_err(|_| format!("object of {} bytes or more: too large", u32::MAX))?;
        if !present {
            self.none |= 1 << self.next;
        }
        self.next += 1;
        Ok(())
    }

    fn push(&mut self, v: &str) -> Result<(), String> {
        self.text.push_str(v);
        self.end(true)
    }

    fn push_opt(&mut self, v: Option<&str>) -> Result<(), String> {
        self.text.push_str(v.unwrap_or(""));
        self.end(v.is_some())
    }
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
        Ok(vec![0; objs.len() * SALT_BYTES])
    } else {
        crate::ledger::draw_salt_bytes(objs.len())
    }
    .map_err(|reason| StoreError::InvalidObject {
        batch,
        index: 0,
        id: objs.first().map_or_else(String::new, |o| o.id.to_owned()),
        reason,
    })?;
    let one = |(o, salt): (&NewObject<'_>, &[u8])| {
        let mut hex = [0u8; 2 * SALT_BYTES];
        prepare(
            o,
            source,
            &time,
            accord_ledger::lower_hex(salt, &mut hex),
            keep_leaf,
        )
    };
    let results: Vec<Result<Row, String>> = if objs.len() >= PARALLEL_FROM {
        objs.par_iter()
            .zip(salts.par_chunks_exact(SALT_BYTES))
            .with_min_len(64)
            .map(one)
            .collect()
    } else {
        objs.iter()
            .zip(salts.chunks_exact(SALT_BYTES))
            .map(one)
            .collect()
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
        LedgerSource::Partner(p) => (Direction::In, Some(p.as_str())),
    };
    #[cfg(feature = "bench-no-ledger")]
    let (leaf, leaf_hash, ledger_src) = {
        let _ = (raw_sha256, direction, partner, time, salt, keep_leaf);
        (Vec::new(), Hash([0; 32]), None)
    };
    #[cfg(not(feature = "bench-no-ledger"))]
    let ledger_src = Some(crate::ledger::record_source(
        direction,
        partner,
        time,
        Some(salt),
    ));
    #[cfg(not(feature = "bench-no-ledger"))]
    let (leaf, leaf_hash) = LEAF.with_borrow_mut(|buf| {
        let mut hex = [0u8; 64];
        buf.clear();
        accord_ledger::RecordRef {
            direction,
            partner,
            collection: o.collection,
            object_id: o.id,
            modified: o.modified,
            sha256: accord_ledger::lower_hex(&raw_sha256, &mut hex),
            decision: &accord_ledger::Decision::Stored,
            time,
            salt: Some(salt),
        }
        .write_leaf(buf);
        let hash = accord_ledger::leaf_hash(buf.as_bytes());
        let bytes = if keep_leaf {
            buf.as_bytes().to_vec()
        } else {
            Vec::new()
        };
        (bytes, hash)
    });
    let markings_len: usize = o.markings.iter().map(|m| m.len() + 1).sum();
    let mut t = RowText::with_capacity(
        o.collection.len()
            + o.id.len()
            + o.type_name.len()
            + o.spec_version.len()
            + o.created.map_or(0, str::len)
            + o.modified.map_or(0, str::len)
            + version.len()
            + o.origin.len()
            + markings_len
            + o.raw.len()
            + ledger_src.as_ref().map_or(0, String::len),
    );
    t.push(o.collection)?;
    t.push(o.id)?;
    t.push(o.type_name)?;
    t.push(o.spec_version)?;
    t.push_opt(o.created)?;
    t.push_opt(o.modified)?;
    t.push(&version)?;
    t.push(o.origin)?;
    for (i, m) in o.markings.iter().enumerate() {
        if i > 0 {
            t.text.push(',');
        }
        t.text.push_str(m);
    }
    t.end(true)?;
    t.push(o.raw)?;
    t.push_opt(ledger_src.as_deref())?;
    Ok(Row {
        text: t.text.into_boxed_str(),
        ends: t.ends,
        none: t.none,
        leaf_hash,
        leaf,
        sha256,
        idh: id_hash(o.id),
    })
}

thread_local! {
    /// The ledger record being hashed, reused from one object to the next.
    static LEAF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
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
/// path then reads the text. 64 bytes at a time ([`block_masks`]: a bit
/// per byte for quotes, low bytes and backslashes), then the quotes'
/// prefix XOR for "inside a string".
fn compact_without_escapes(raw: &[u8]) -> bool {
    // All ones when the previous block ended inside a string.
    let mut inside: u64 = 0;
    for block in raw.chunks(64) {
        let (quote, low, slash) = block_masks(block);
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

/// The words of a block of at most 64 bytes, the last short one padded
/// with `A` (no quote, backslash or low byte). A whole word is read as it
/// is: a copy into a padded array for every word was a `memmove` call each.
fn block_words(block: &[u8]) -> impl Iterator<Item = u64> + '_ {
    block.chunks(8).map(|word| match <[u8; 8]>::try_from(word) {
        Ok(b) => u64::from_le_bytes(b),
        Err(_) => {
            let mut b = [0x41u8; 8];
            b[..word.len()].copy_from_slice(word);
            u64::from_le_bytes(b)
        }
    })
}

/// For a block of at most 64 bytes, a bit per byte (byte 0 the lowest):
/// quotes, bytes below `!`, backslashes. With SSE2 (every x86-64 CPU)
/// sixteen bytes per compare: a sixth of the instructions of
/// [`block_masks_swar`], which took ~3% of a bulk ingest's CPU.
#[cfg(target_arch = "x86_64")]
fn block_masks(block: &[u8]) -> (u64, u64, u64) {
    // SAFETY: the function's only requirement is SSE2, which every x86-64
    // CPU has (it is part of the architecture's baseline, enabled for
    // this target by default); it reads nothing through pointers.
    #[allow(unsafe_code)]
    unsafe {
        block_masks_sse2(block)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn block_masks_sse2(block: &[u8]) -> (u64, u64, u64) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8,
    };
    let (mut quote, mut low, mut slash) = (0u64, 0u64, 0u64);
    let mut words = block_words(block);
    let mut k = 0;
    while let Some(lo) = words.next() {
        let hi = words.next().unwrap_or(0x4141_4141_4141_4141);
        // Plain bit casts: the vector is two little-endian words.
        let v = _mm_set_epi64x(hi.cast_signed(), lo.cast_signed());
        let bits = |m| u64::from(_mm_movemask_epi8(m).cast_unsigned() & 0xFFFF);
        quote |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"'.cast_signed()))) << k;
        slash |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\'.cast_signed()))) << k;
        // max(v, '!') == v exactly where v >= '!' (unsigned).
        let ge = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(b'!'.cast_signed())), v);
        low |= (!bits(ge) & 0xFFFF) << k;
        k += 16;
    }
    (quote, low, slash)
}

#[cfg(not(target_arch = "x86_64"))]
fn block_masks(block: &[u8]) -> (u64, u64, u64) {
    block_masks_swar(block)
}

/// [`block_masks`] eight bytes per word (SWAR), for any CPU.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn block_masks_swar(block: &[u8]) -> (u64, u64, u64) {
    let (mut quote, mut low, mut slash) = (0u64, 0u64, 0u64);
    for (k, x) in block_words(block).enumerate() {
        quote |= byte_mask(zero_bytes(x ^ (0x0101_0101_0101_0101 * u64::from(b'"')))) << (8 * k);
        slash |= byte_mask(zero_bytes(x ^ (0x0101_0101_0101_0101 * u64::from(b'\\')))) << (8 * k);
        // High bit of each byte: its low seven bits reach `!` (0x21),
        // or it is not ASCII. Exact per byte: no carry crosses bytes.
        let ge = ((x & 0x7F7F_7F7F_7F7F_7F7F) + 0x5F5F_5F5F_5F5F_5F5F) | x;
        low |= byte_mask(!ge & 0x8080_8080_8080_8080) << (8 * k);
    }
    (quote, low, slash)
}

/// The high bit of each byte of the result is set exactly where the byte
/// of `t` is zero (no false positives: no carry crosses bytes).
#[cfg(any(test, not(target_arch = "x86_64")))]
fn zero_bytes(t: u64) -> u64 {
    !(((t & 0x7F7F_7F7F_7F7F_7F7F) + 0x7F7F_7F7F_7F7F_7F7F) | t | 0x7F7F_7F7F_7F7F_7F7F)
}

/// The high bits of the eight bytes of `m` (only high bits set) packed
/// into the low eight bits, byte 0 first.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn byte_mask(m: u64) -> u64 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The SIMD masks are the portable ones, for any bytes (high ones
        /// included) and any block length.
        #[test]
        fn block_masks_agree_with_swar(block in proptest::collection::vec(
            prop_oneof![Just(b'"'), Just(b'\\'), Just(b' '), Just(b'!'), Just(0u8), Just(0x80u8), Just(0xFFu8), any::<u8>()],
            1..=64,
        )) {
            prop_assert_eq!(block_masks(&block), block_masks_swar(&block));
        }
    }

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
    fn a_row_keeps_every_field_and_the_record_of_the_slow_path() {
        let raw = r#"{"type":"indicator","id":"indicator--1"}"#;
        let base = NewObject {
            raw,
            id: "indicator--1",
            type_name: "indicator",
            spec_version: "2.1",
            created: None,
            modified: Some("2016-04-06T20:03:48Z"),
            markings: vec!["marking-definition--a", "marking-definition--b"],
            collection: "c",
            origin: "",
        };
        let source = LedgerSource::Partner("p".into());
        let r = prepare(&base, &source, "2026-01-01T00:00:00.000000Z", "ab", true).unwrap();
        assert_eq!(r.collection(), "c");
        assert_eq!(r.id(), "indicator--1");
        assert_eq!(r.type_name(), "indicator");
        assert_eq!(r.spec_version(), "2.1");
        assert_eq!(r.created(), None);
        assert_eq!(r.modified(), Some("2016-04-06T20:03:48Z"));
        assert_eq!(r.version(), "2016-04-06T20:03:48.000000000Z");
        assert_eq!(r.origin(), "");
        assert_eq!(r.markings(), "marking-definition--a,marking-definition--b");
        assert_eq!(r.raw(), raw);
        assert_eq!(r.idh, id_hash("indicator--1"));
        let record = accord_ledger::ExchangeRecord {
            direction: Direction::In,
            partner: Some("p".into()),
            collection: "c".into(),
            object_id: "indicator--1".into(),
            modified: Some("2016-04-06T20:03:48Z".into()),
            sha256: Hash(Sha256::digest(raw.as_bytes()).into()).to_hex(),
            decision: accord_ledger::Decision::Stored,
            time: "2026-01-01T00:00:00.000000Z".into(),
            salt: Some("ab".into()),
        };
        if cfg!(not(feature = "bench-no-ledger")) {
            assert_eq!(r.leaf, record.to_leaf_bytes());
            assert_eq!(r.leaf_hash, accord_ledger::leaf_hash(&r.leaf));
            assert!(r.ledger_src().is_some());
        }
        // Absent and empty are told apart; no markings is the empty text.
        let other = NewObject {
            created: Some(""),
            modified: None,
            markings: vec![],
            ..base
        };
        let r = prepare(&other, &LedgerSource::Local, "t", "ab", false).unwrap();
        assert_eq!(r.created(), Some(""));
        assert_eq!(r.modified(), None);
        assert_eq!(r.version(), "");
        assert_eq!(r.markings(), "");
        assert!(r.leaf.is_empty());
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
