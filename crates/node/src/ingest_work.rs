//! Ingest batches as durable tasks on NATS JetStream (kind
//! [`INGEST`]): the format shared by `accord ingest --config` (which
//! splits its input into batches and publishes them) and the node's
//! `ingest` workers (which store them and publish a [`BatchResult`]).
//!
//! A task's payload is one header line (JSON: [`Header`]: format version,
//! the run's id, collection and origin), then the objects' exact texts as
//! the file reader yielded them: in a [`FORMAT`] batch as JSON lines, one
//! per line; in a [`FORMAT_FRAMED`] batch (objects spanning several lines,
//! as in a pretty-printed bundle) each preceded by its length in bytes on
//! a line of its own and followed by a newline. Its id is
//! `ingest:<sha256 of the body, collection and origin>` ([`batch_id`]),
//! so the same batch published twice within the dedupe window is queued
//! once. A worker stores it through the same checks and seam as a local
//! ingest; storing it again (a redelivery after a process died) yields
//! duplicates only. It then publishes a [`BatchResult`] on core NATS
//! subject [`done_subject`]`(run)`, which the command subscribed to
//! before publishing.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The kind of the ingest batch tasks.
pub const INGEST: &str = "ingest";
/// The format version of a batch of JSON lines.
pub const FORMAT: u32 = 1;
/// The format version of a batch of framed objects (each its length in
/// bytes on a line, then its exact text, then a newline): objects that
/// span several lines.
pub const FORMAT_FRAMED: u32 = 2;
/// The default size of a batch's lines (below the queue's 256 KiB
/// payload bound, with room for the header).
pub const DEFAULT_BATCH_BYTES: usize = 200 * 1024;
/// The longest header line a worker reads.
pub const MAX_HEADER: usize = 2048;
/// The longest collection or origin name in a header.
pub const MAX_NAME: usize = 256;
/// The most rejection reasons a result carries.
pub const MAX_REASONS: usize = 20;
/// The longest rejection reason a result carries (longer ones are cut).
pub const MAX_REASON_LEN: usize = 300;

/// A batch's payload that cannot be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    /// No header line.
    #[error("the batch has no header line (JSON, then a newline)")]
    NoHeader,
    /// The header line is not the expected JSON.
    #[error("the batch's header is not valid: {0}")]
    BadHeader(String),
    /// A framed batch's frame is not a length and that many bytes.
    #[error(
        "the batch's object {index} (at byte {offset}) is not framed as a length line, that many bytes and a newline"
    )]
    BadFrame {
        /// The object's index in the batch (from 0).
        index: usize,
        /// Where its frame starts in the body.
        offset: usize,
    },
    /// A name in the header is unusable.
    #[error("the batch's {what} {value:?} is not valid: {why}")]
    BadName {
        /// `collection`, `origin` or `run`.
        what: &'static str,
        /// The value (cut to 80 characters).
        value: String,
        /// What is wrong.
        why: &'static str,
    },
}

/// A batch's header line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// [`FORMAT`] or [`FORMAT_FRAMED`].
    pub v: u32,
    /// The run's id (a UUID): where the result goes.
    pub run: String,
    /// The collection to store into.
    pub collection: String,
    /// Where the objects came from.
    pub origin: String,
}

fn cut(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Checks a collection or origin name: 1 to [`MAX_NAME`] bytes, no control
/// characters.
///
/// # Errors
/// [`BatchError::BadName`] saying what is wrong.
pub fn check_name(what: &'static str, value: &str) -> Result<(), BatchError> {
    let why = if value.is_empty() {
        Some("it is empty")
    } else if value.len() > MAX_NAME {
        Some("it is over 256 bytes")
    } else if value.chars().any(char::is_control) {
        Some("it has control characters")
    } else {
        None
    };
    match why {
        Some(why) => Err(BatchError::BadName {
            what,
            value: cut(value, 80),
            why,
        }),
        None => Ok(()),
    }
}

/// Checks a run id: a UUID (it ends a NATS subject).
///
/// # Errors
/// [`BatchError::BadName`] when it is not one.
pub fn check_run(run: &str) -> Result<(), BatchError> {
    match uuid::Uuid::try_parse(run) {
        Ok(u) if u.hyphenated().to_string() == run => Ok(()),
        _ => Err(BatchError::BadName {
            what: "run",
            value: cut(run, 80),
            why: "it is not a lower-case hyphenated UUID",
        }),
    }
}

/// The core NATS subject the results of run `run` are published on.
pub fn done_subject(run: &str) -> String {
    format!("accord.ingest.done.{run}")
}

/// The task id of a batch: `ingest:` and the SHA-256 (hex) of its body,
/// collection and origin (each length-prefixed; a framed batch's format
/// version after them).
pub fn batch_id(body: &[u8], collection: &str, origin: &str, v: u32) -> String {
    let mut h = Sha256::new();
    for part in [body, collection.as_bytes(), origin.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    if v != FORMAT {
        h.update(v.to_be_bytes());
    }
    let digest = h.finalize();
    let mut id = String::with_capacity(7 + 64);
    id.push_str(INGEST);
    id.push(':');
    for b in digest {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// Reads a batch's payload: its header (checked) and its lines.
///
/// # Errors
/// [`BatchError`] naming what is wrong with the header.
pub fn parse(payload: &[u8]) -> Result<(Header, &[u8]), BatchError> {
    let scan = &payload[..payload.len().min(MAX_HEADER + 1)];
    let nl = memchr_nl(scan).ok_or(BatchError::NoHeader)?;
    let header: Header = serde_json::from_slice(&payload[..nl])
        .map_err(|e| BatchError::BadHeader(cut(&e.to_string(), 200)))?;
    if header.v != FORMAT && header.v != FORMAT_FRAMED {
        return Err(BatchError::BadHeader(format!(
            "format version {} (this node reads {FORMAT} and {FORMAT_FRAMED})",
            header.v
        )));
    }
    check_run(&header.run)?;
    check_name("collection", &header.collection)?;
    check_name("origin", &header.origin)?;
    Ok((header, &payload[nl + 1..]))
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// The objects' texts of a batch's body (after [`parse`]): its non-empty
/// lines, or its frames for a [`FORMAT_FRAMED`] batch.
///
/// # Errors
/// [`BatchError::BadFrame`] for a frame that is not a decimal length (of
/// at most 20 digits), a newline, that many bytes and a newline.
pub fn records(v: u32, body: &[u8]) -> Result<Vec<&[u8]>, BatchError> {
    if v != FORMAT_FRAMED {
        return Ok(body
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .collect());
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let bad = BatchError::BadFrame {
            index: out.len(),
            offset: at,
        };
        let rest = &body[at..];
        let nl = memchr_nl(&rest[..rest.len().min(21)]).ok_or_else(|| bad.clone())?;
        let len: usize = std::str::from_utf8(&rest[..nl])
            .ok()
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| bad.clone())?;
        let start = nl + 1;
        let end = start.checked_add(len).ok_or_else(|| bad.clone())?;
        if rest.get(end) != Some(&b'\n') {
            return Err(bad);
        }
        out.push(&rest[start..end]);
        at += end + 1;
    }
    Ok(out)
}

/// A batch ready to publish.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Its task id ([`batch_id`]).
    pub id: String,
    /// The header line and the body.
    pub payload: Vec<u8>,
    /// Its objects.
    pub objects: usize,
    /// [`FORMAT`] or [`FORMAT_FRAMED`].
    pub v: u32,
    header_len: usize,
}

impl Batch {
    /// Its body (the payload after the header).
    pub fn body(&self) -> &[u8] {
        &self.payload[self.header_len..]
    }

    /// Its objects' texts ([`records`]).
    pub fn records(&self) -> Vec<&[u8]> {
        // A batch made by the Batcher is well framed.
        records(self.v, self.body()).unwrap_or_default()
    }
}

/// The objects of one kind of batch being filled.
#[derive(Debug, Default)]
struct Filling {
    body: Vec<u8>,
    objects: usize,
}

/// Splits objects into batches of at most `max_lines_bytes`: JSON lines,
/// and framed batches for objects spanning several lines.
#[derive(Debug)]
pub struct Batcher {
    header: Vec<u8>,
    framed_header: Vec<u8>,
    collection: String,
    origin: String,
    max: usize,
    lines: Filling,
    framed: Filling,
    done: Vec<Batch>,
}

impl Batcher {
    /// A batcher for run `run` into `collection` from `origin`, batches'
    /// lines at most `max_lines_bytes` (at least 1 KiB).
    ///
    /// # Errors
    /// [`BatchError::BadName`] when a name is unusable.
    pub fn new(
        run: &str,
        collection: &str,
        origin: &str,
        max_lines_bytes: usize,
    ) -> Result<Batcher, BatchError> {
        check_run(run)?;
        check_name("collection", collection)?;
        check_name("origin", origin)?;
        let header_of = |v| {
            let mut h = serde_json::to_vec(&Header {
                v,
                run: run.to_owned(),
                collection: collection.to_owned(),
                origin: origin.to_owned(),
            })
            .map_err(|e| BatchError::BadHeader(e.to_string()))?;
            h.push(b'\n');
            Ok::<_, BatchError>(h)
        };
        Ok(Batcher {
            header: header_of(FORMAT)?,
            framed_header: header_of(FORMAT_FRAMED)?,
            collection: collection.to_owned(),
            origin: origin.to_owned(),
            max: max_lines_bytes.max(1024),
            lines: Filling::default(),
            framed: Filling::default(),
            done: Vec::new(),
        })
    }

    /// Adds an object's exact text; `false` (and nothing added) when it
    /// is larger than a batch (the caller stores those itself). One that
    /// spans several lines (a pretty-printed bundle's object) goes into a
    /// framed batch.
    pub fn push(&mut self, text: &str) -> bool {
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if text.is_empty() {
            return false;
        }
        if !text.contains(['\n', '\r']) {
            if text.len() + 1 > self.max {
                return false;
            }
            if self.lines.body.len() + text.len() + 1 > self.max {
                self.flush(FORMAT);
            }
            self.lines.body.extend_from_slice(text.as_bytes());
            self.lines.body.push(b'\n');
            self.lines.objects += 1;
            return true;
        }
        let len = text.len().to_string();
        let framed = len.len() + 1 + text.len() + 1;
        if framed > self.max {
            return false;
        }
        if self.framed.body.len() + framed > self.max {
            self.flush(FORMAT_FRAMED);
        }
        let f = &mut self.framed;
        f.body.extend_from_slice(len.as_bytes());
        f.body.push(b'\n');
        f.body.extend_from_slice(text.as_bytes());
        f.body.push(b'\n');
        f.objects += 1;
        true
    }

    fn flush(&mut self, v: u32) {
        let (filling, header) = if v == FORMAT_FRAMED {
            (&mut self.framed, &self.framed_header)
        } else {
            (&mut self.lines, &self.header)
        };
        if filling.objects == 0 {
            return;
        }
        let body = std::mem::take(&mut filling.body);
        let id = batch_id(&body, &self.collection, &self.origin, v);
        let mut payload = Vec::with_capacity(header.len() + body.len());
        payload.extend_from_slice(header);
        payload.extend_from_slice(&body);
        self.done.push(Batch {
            id,
            payload,
            objects: std::mem::take(&mut filling.objects),
            v,
            header_len: header.len(),
        });
    }

    /// The batches completed so far (taken: the next call returns the
    /// ones completed after it).
    pub fn take_ready(&mut self) -> Vec<Batch> {
        std::mem::take(&mut self.done)
    }

    /// The batches made, the last one included.
    pub fn finish(mut self) -> Vec<Batch> {
        self.flush(FORMAT);
        self.flush(FORMAT_FRAMED);
        self.done
    }
}

/// What a worker did with a batch, published on [`done_subject`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    /// The batch's task id.
    pub batch: String,
    /// The process that stored it.
    pub process: String,
    /// Its delivery attempt (above 1: redelivered).
    pub attempt: i64,
    /// Objects read.
    pub seen: u64,
    /// Stored.
    pub stored: u64,
    /// Already stored with the same content.
    pub duplicates: u64,
    /// Already stored with other content (kept).
    pub conflicts: u64,
    /// Invalid.
    pub rejected: u64,
    /// Unreadable parts.
    pub faults: u64,
    /// Stored indicators on a warninglist.
    pub warninglisted: u64,
    /// Objects that touch protected facilities (their cases were opened by
    /// the worker).
    pub touches: u64,
    /// Up to [`MAX_REASONS`] reasons for the rejected, conflicting and
    /// unreadable ones, each at most [`MAX_REASON_LEN`] characters.
    pub reasons: Vec<String>,
    /// How many reasons were left out.
    pub reasons_left_out: u64,
}

impl BatchResult {
    /// Records a reason, within the bounds.
    pub fn reason(&mut self, r: &str) {
        if self.reasons.len() < MAX_REASONS {
            self.reasons.push(cut(r, MAX_REASON_LEN));
        } else {
            self.reasons_left_out += 1;
        }
    }
}

/// An [`accord_app::ingest::IngestReport`] that keeps a batch's reasons
/// in a [`BatchResult`].
pub struct Reasons {
    /// Where they go.
    pub result: std::rc::Rc<std::cell::RefCell<BatchResult>>,
}

impl accord_app::ingest::IngestReport for Reasons {
    fn checked(&mut self, c: &accord_app::check::Checked<'_>) {
        if c.is_valid() {
            return;
        }
        for i in c
            .issues
            .iter()
            .filter(|i| i.severity == accord_stix::Severity::Error)
        {
            let id = i.object_id.as_deref().unwrap_or("(no id)");
            self.result
                .borrow_mut()
                .reason(&format!("{id}: {} [{}]: {}", i.path, i.rule, i.message));
        }
    }
    fn issues(
        &mut self,
        _anchor: Option<accord_app::input::Anchor>,
        _offset: usize,
        _text: &str,
        issues: &[accord_stix::Issue],
    ) {
        for i in issues
            .iter()
            .filter(|i| i.severity == accord_stix::Severity::Error)
        {
            self.result
                .borrow_mut()
                .reason(&format!("bundle: {} [{}]: {}", i.path, i.rule, i.message));
        }
    }
    fn fault(&mut self, _anchor: Option<accord_app::input::Anchor>, _offset: usize, m: &str) {
        self.result.borrow_mut().reason(&format!("unreadable: {m}"));
    }
    fn object_error(
        &mut self,
        _anchor: Option<accord_app::input::Anchor>,
        _offset: usize,
        id: &str,
        rule: &str,
        message: &str,
    ) {
        self.result
            .borrow_mut()
            .reason(&format!("{id} [{rule}]: {message}"));
    }
}

/// The protected-facility touches of a batch's objects that are in
/// `collection` of `store` with exactly these bytes (stored now or
/// before), named as coming from `source`.
///
/// # Errors
/// The store's, reading an object's versions back.
pub fn stored_touches(
    registry: &accord_app::facility::Registry,
    store: &dyn accord_store::Backend,
    collection: &str,
    records: &[&[u8]],
    source: &str,
) -> Result<Vec<accord_app::facility::Touch>, accord_store::StoreError> {
    #[derive(Deserialize)]
    struct Head<'a> {
        #[serde(borrow, rename = "type")]
        type_name: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        id: std::borrow::Cow<'a, str>,
    }
    let mut out = Vec::new();
    if registry.is_empty() {
        return Ok(out);
    }
    for line in records {
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        let text = text.trim();
        let Ok(head) = serde_json::from_str::<Head<'_>>(text) else {
            continue;
        };
        let Some(touch) =
            accord_app::facility::touch_of(registry, &head.type_name, &head.id, text, source)
        else {
            continue;
        };
        // Only what the store holds: a rejected object touches nothing.
        if store
            .get_versions(collection, &head.id)?
            .iter()
            .any(|v| v.raw == text)
        {
            out.push(touch);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "0f8e2d3c-1b2a-4c5d-8e9f-0a1b2c3d4e5f";

    #[test]
    fn batches_split_by_size_and_read_back() {
        let mut b = Batcher::new(RUN, "default", "local", 1024).unwrap();
        let obj = format!("{{\"id\":\"x\",\"pad\":\"{}\"}}", "a".repeat(300));
        for _ in 0..7 {
            assert!(b.push(&obj));
        }
        // Objects spanning lines go into framed batches, byte for byte.
        let pretty = "{\n  \"id\": \"pretty\",\r\n  \"n\": 12\n}";
        for _ in 0..5 {
            assert!(b.push(&format!("  {pretty}\n")));
        }
        assert!(!b.push(&"b".repeat(2000)), "larger than a batch");
        let batches = b.finish();
        assert_eq!(batches.iter().map(|x| x.objects).sum::<usize>(), 12);
        let (framed, lines): (Vec<_>, Vec<_>) = batches.iter().partition(|x| x.v == FORMAT_FRAMED);
        assert_eq!(lines.len(), 3, "3 objects of ~320 bytes per 1 KiB");
        assert_eq!(framed.len(), 1);
        for x in &batches {
            let (h, body) = parse(&x.payload).unwrap();
            assert_eq!((h.run.as_str(), h.collection.as_str()), (RUN, "default"));
            assert_eq!(h.v, x.v);
            assert!(body.len() <= 1024);
            assert_eq!(x.id, batch_id(body, "default", "local", x.v));
            assert_eq!(x.body(), body);
            let recs = records(h.v, body).unwrap();
            assert_eq!(recs.len(), x.objects);
            if x.v == FORMAT_FRAMED {
                assert!(recs.iter().all(|r| *r == pretty.as_bytes()));
            } else {
                assert!(recs.iter().all(|r| *r == obj.as_bytes()));
            }
        }
        // The same lines into another collection: another task.
        assert_ne!(
            batch_id(b"{}\n", "a", "local", FORMAT),
            batch_id(b"{}\n", "b", "local", FORMAT)
        );
        assert_ne!(
            batch_id(b"{}\n", "ab", "c", FORMAT),
            batch_id(b"{}\n", "a", "bc", FORMAT)
        );
        assert_ne!(
            batch_id(b"{}\n", "a", "b", FORMAT),
            batch_id(b"{}\n", "a", "b", FORMAT_FRAMED)
        );
    }

    #[test]
    fn crafted_frames_are_refused() {
        assert_eq!(records(FORMAT_FRAMED, b"").unwrap(), Vec::<&[u8]>::new());
        assert_eq!(
            records(FORMAT_FRAMED, b"2\n{}\n3\n{\n}\n").unwrap(),
            [&b"{}"[..], &b"{\n}"[..]]
        );
        for (body, index) in [
            (&b"2\n{}"[..], 0),                        // no newline after
            (b"3\n{}\n", 0),                           // shorter than said
            (b"2\n{}x", 0),                            // not a newline after
            (b"x\n{}\n", 0),                           // not a length
            (b"\n{}\n", 0),                            // an empty length
            (b"-2\n{}\n", 0),                          // a sign
            (b"2\n{}\n99999999999999999999999\n", 1),  // too many digits
            (b"2\n{}\n18446744073709551615\n{}\n", 1), // overflows the end
            (b"2\n{}\n5", 1),                          // a length line that never ends
        ] {
            match records(FORMAT_FRAMED, body) {
                Err(BatchError::BadFrame { index: i, .. }) => {
                    assert_eq!(i, index, "{:?}", String::from_utf8_lossy(body))
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }

    #[test]
    fn crafted_payloads_are_refused() {
        assert_eq!(parse(b"{\"id\":\"x\"}"), Err(BatchError::NoHeader));
        assert!(matches!(
            parse(b"{\"id\":\"indicator--1\"}\n{}\n"),
            Err(BatchError::BadHeader(_))
        ));
        let header = |v: u32, run: &str, c: &str, o: &str| {
            format!(
                "{}\n{{}}\n",
                serde_json::json!({"v": v, "run": run, "collection": c, "origin": o})
            )
        };
        assert!(parse(header(1, RUN, "default", "local").as_bytes()).is_ok());
        for (p, what) in [
            (header(1, RUN, "", "local"), "collection"),
            (header(1, RUN, "a\u{7}b", "local"), "collection"),
            (header(1, RUN, &"c".repeat(300), "local"), "collection"),
            (header(1, RUN, "default", ""), "origin"),
            (header(1, "not-a-uuid", "default", "local"), "run"),
            (header(1, "x.>", "default", "local"), "run"),
        ] {
            match parse(p.as_bytes()) {
                Err(BatchError::BadName { what: w, .. }) => assert_eq!(w, what, "{p}"),
                other => panic!("{p}: {other:?}"),
            }
        }
        assert!(parse(header(2, RUN, "default", "local").as_bytes()).is_ok());
        assert!(matches!(
            parse(header(3, RUN, "default", "local").as_bytes()),
            Err(BatchError::BadHeader(_))
        ));
        // A header that never ends within the bound.
        let long = format!("{{\"v\":1,\"pad\":\"{}\"}}\n", "x".repeat(MAX_HEADER));
        assert_eq!(parse(long.as_bytes()), Err(BatchError::NoHeader));
        assert!(Batcher::new(RUN, "", "local", 4096).is_err());
    }

    #[test]
    fn reasons_are_bounded() {
        let mut r = BatchResult::default();
        for _ in 0..(MAX_REASONS + 5) {
            r.reason(&"y".repeat(1000));
        }
        assert_eq!(r.reasons.len(), MAX_REASONS);
        assert_eq!(r.reasons_left_out, 5);
        assert!(r.reasons[0].chars().count() <= MAX_REASON_LEN + 1);
    }
}
