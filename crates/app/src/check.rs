//! Parse and validate the objects of a file, in parallel, in file order.

use crate::exchange::{Counterparty, Exchange};
use crate::input::{Anchor, Format, Item, Source, scan};
use accord_stix::{CommonProps, Doc, Issue, JsonPath, Rule};
use accord_store::ObjectMeta;

/// One object after parsing and validation.
pub struct Checked<'a> {
    /// The start of its line, when known.
    pub anchor: Option<Anchor>,
    /// Byte offset of the object in the file.
    pub offset: usize,
    /// The object's exact text.
    pub text: &'a str,
    /// What the store indexes, when the object is valid. The parsed object
    /// itself is dropped on the worker thread that built it: freeing it
    /// there is cheaper than on the thread that consumes the results.
    pub meta: Option<ObjectMeta>,
    /// Every issue found; an object with an error issue is invalid.
    pub issues: Vec<Issue>,
    /// A hash of (`id`, `modified`) of a valid versioned object, computed
    /// on the worker when the seam asks for repeated versions.
    pub version_key: Option<u64>,
}

impl Checked<'_> {
    /// Whether the object parsed and has no error.
    pub fn is_valid(&self) -> bool {
        self.meta.is_some()
    }
}

/// What a file yields, in file order.
pub enum Outcome<'a> {
    /// An object and its issues.
    Object(Checked<'a>),
    /// A bundle's own issues, or a read fault.
    Other(Item<'a>),
}

impl Outcome<'_> {
    /// Byte offset in the file of what this outcome is about.
    pub fn offset(&self) -> usize {
        match self {
            Outcome::Object(c) => c.offset,
            Outcome::Other(
                Item::Object { offset, .. }
                | Item::Line { offset, .. }
                | Item::BundleIssues { offset, .. }
                | Item::Error { offset, .. },
            ) => *offset,
        }
    }
}

/// Who the objects of a file come from, and the seam they cross: for
/// `accord ingest`, the node itself ([`Counterparty::Local`]) under the
/// node's policy; for `accord validate`, nothing is admitted anywhere and
/// [`Seam::validation`] applies no policy.
#[derive(Clone, Copy, Debug)]
pub struct Seam<'s> {
    /// The node's exchange seam.
    pub exchange: &'s Exchange,
    /// Who gives the objects.
    pub from: Counterparty<'s>,
    /// Whether to report the same `id` and `modified` twice in one file with
    /// different content. `accord validate` asks for it; ingest does not,
    /// since the store reports such a conflict itself and the check keeps
    /// 16 bytes per version for the whole file.
    pub repeated_versions: bool,
    /// Whether the outcomes go on to the store's writer (an ingest): the
    /// threads that scan and check then yield the CPU to it, the one
    /// serial stage after them (`accord_store::yield_to_writer`).
    pub feeds_writer: bool,
}

/// The seam of a check that stores nothing: validation only.
static VALIDATION: std::sync::LazyLock<Exchange> = std::sync::LazyLock::new(Exchange::default);

impl Seam<'static> {
    /// Validation only (the default policy admits every valid object).
    pub fn validation() -> Seam<'static> {
        Seam {
            exchange: &VALIDATION,
            from: Counterparty::Local,
            repeated_versions: true,
            feeds_writer: false,
        }
    }
}

/// Validates one parsed object, then asks the seam's policy.
fn check_doc<'a>(
    seam: Seam<'_>,
    anchor: Option<Anchor>,
    offset: usize,
    text: &'a str,
    obj: &Doc<'_>,
) -> Checked<'a> {
    let (mut meta, mut issues) =
        crate::exchange::inspect_with(obj, &seam.exchange.limits().pattern);
    if meta.is_some()
        && let Err(reason) = seam.exchange.admits(seam.from, obj)
    {
        meta = None;
        let mut refusal = Issue::error(
            Rule::Policy,
            JsonPath::root(),
            format!("refused by the exchange policy: {reason}"),
        );
        refusal.object_id = obj.id().map(str::to_owned);
        issues.push(refusal);
    }
    let version_key = match &meta {
        Some(m) if seam.repeated_versions => m.modified().map(|v| version_key(m.id(), v)),
        _ => None,
    };
    Checked {
        anchor,
        offset,
        text,
        meta,
        issues,
        version_key,
    }
}

/// The outcomes of one item: an object parsed and validated; a JSON line
/// (`Item::Line`) parsed as one object, or, when that fails, read as a
/// document, which finds the fault and its position; anything else as it is.
fn check_item<'a>(
    seam: Seam<'_>,
    item: Item<'a>,
    max_object_bytes: usize,
    out: &mut Vec<Outcome<'a>>,
) {
    match item {
        Item::Object {
            anchor,
            offset,
            text,
        } => out.push(Outcome::Object(check_text(seam, anchor, offset, text))),
        Item::Line {
            anchor,
            offset,
            text,
        } => match Doc::parse_with_limits(text, &seam.exchange.limits().json) {
            Ok(obj) => out.push(Outcome::Object(check_doc(seam, anchor, offset, text, &obj))),
            Err(_) => crate::input::document(
                anchor,
                offset,
                text.as_bytes(),
                max_object_bytes,
                &mut |i| check_item(seam, i, max_object_bytes, out),
            ),
        },
        other => out.push(Outcome::Other(other)),
    }
}

/// Parses and validates one object's text.
pub fn check_text<'a>(
    seam: Seam<'_>,
    anchor: Option<Anchor>,
    offset: usize,
    text: &'a str,
) -> Checked<'a> {
    match Doc::parse_with_limits(text, &seam.exchange.limits().json) {
        Ok(obj) => check_doc(seam, anchor, offset, text, &obj),
        Err(e) => Checked {
            anchor,
            offset,
            text,
            meta: None,
            version_key: None,
            issues: vec![Issue::error(
                accord_stix::Rule::Json,
                accord_stix::JsonPath::root(),
                e.to_string(),
            )],
        },
    }
}

/// Scans `src` and hands batches of outcomes, in file order, to `sink`.
///
/// Three stages run at once: one thread scans the file into batches of
/// `batch` items, one worker per core parses and validates batches, and the
/// calling thread puts the results back in file order and runs `sink`. The
/// channels between them are bounded, so memory stays flat whatever the
/// file size.
pub fn check_file<'a>(
    seam: Seam<'_>,
    source: &'a Source,
    format: Format,
    max_object_bytes: usize,
    batch: usize,
    mut sink: impl FnMut(Vec<Outcome<'a>>),
) {
    let src = source.bytes();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (raw_tx, raw_rx) = crossbeam_channel::bounded::<(u64, Vec<Item<'a>>)>(workers * 2);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<(u64, Vec<Outcome<'a>>)>(workers * 2);
    std::thread::scope(|s| {
        s.spawn(move || {
            if seam.feeds_writer {
                accord_store::yield_to_writer();
            }
            let mut seq = 0u64;
            let mut pending: Vec<Item<'a>> = Vec::with_capacity(batch);
            let skipped = |end| source.release_before(end);
            scan(
                src,
                format,
                max_object_bytes,
                |item| {
                    pending.push(item);
                    if pending.len() >= batch {
                        let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
                        let _ = raw_tx.send((seq, full));
                        seq += 1;
                    }
                },
                skipped,
            );
            if !pending.is_empty() {
                let _ = raw_tx.send((seq, pending));
            }
        });
        for _ in 0..workers {
            let raw_rx = raw_rx.clone();
            let done_tx = done_tx.clone();
            s.spawn(move || {
                if seam.feeds_writer {
                    accord_store::yield_to_writer();
                }
                for (seq, items) in raw_rx {
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        check_item(seam, item, max_object_bytes, &mut out);
                    }
                    if done_tx.send((seq, out)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        drop(raw_rx);
        let mut next = 0u64;
        let mut released = 0usize;
        let mut early = std::collections::BTreeMap::new();
        let mut versions = Versions::default();
        for (seq, out) in done_rx {
            early.insert(seq, out);
            while let Some(mut out) = early.remove(&next) {
                if seam.repeated_versions {
                    versions.check(src, &mut out);
                }
                let end = out.iter().map(Outcome::offset).max().unwrap_or(0);
                sink(out);
                next += 1;
                // Pages before what was just handed over are done with.
                if end >= released + (16 << 20) {
                    source.release_before(end);
                    released = end;
                }
            }
        }
    });
}

/// The versions seen so far in one file, to find two objects with the same
/// `id` and `modified` but different content: a store keeps one version
/// per (`id`, `modified`), so the second would be dropped silently (§3.2
/// `modified`: a new version has a new `modified`). Keyed by a 64-bit hash
/// of `id` and `modified`, the value the byte offset of the first object:
/// 16 bytes per version, and the texts are compared only when two keys
/// collide.
#[derive(Default)]
struct Versions {
    first: std::collections::HashMap<u64, usize, std::hash::BuildHasherDefault<PreHashed>>,
}

impl Versions {
    /// Adds the valid objects of a batch (in file order); a later object
    /// whose version was seen with other content gets a warning naming
    /// both positions.
    fn check(&mut self, src: &[u8], out: &mut [Outcome<'_>]) {
        for o in out {
            let Outcome::Object(c) = o else { continue };
            let (Some(key), Some(meta)) = (c.version_key, &c.meta) else {
                continue;
            };
            let Some(modified) = meta.modified() else {
                continue;
            };
            match self.first.entry(key) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(c.offset);
                }
                std::collections::hash_map::Entry::Occupied(e) => {
                    let earlier = *e.get();
                    let Some(text) = object_at(src, earlier) else {
                        continue;
                    };
                    if text == c.text || !same_version(text, meta.id(), modified) {
                        continue;
                    }
                    let (line, column) = line_column(src, earlier);
                    let mut issue = Issue::warning(
                        Rule::Conflict,
                        JsonPath::prop("modified"),
                        format!(
                            "{} with `modified` {modified} appears twice in this file with different content: first at line {line}, column {column} (byte {earlier}), again here; a store keeps one version per `id` and `modified`, so one of them will be lost",
                            meta.id()
                        ),
                    );
                    issue.object_id = Some(meta.id().to_owned());
                    c.issues.push(issue);
                }
            }
        }
    }
}

/// A hash of (`id`, `modified`): FNV-1a over both, with a separator.
fn version_key(id: &str, modified: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes().chain(std::iter::once(0)).chain(modified.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Passes a key that is already a hash through unchanged.
#[derive(Default)]
struct PreHashed(u64);

impl std::hash::Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The text of the JSON object that starts at `offset`.
fn object_at(src: &[u8], offset: usize) -> Option<&str> {
    let mut it = serde_json::Deserializer::from_slice(src.get(offset..)?)
        .into_iter::<&serde_json::value::RawValue>();
    it.next()?.ok().map(|r| r.get())
}

/// Whether the object `text` has this `id` and `modified`.
fn same_version(text: &str, id: &str, modified: &str) -> bool {
    Doc::parse(text).is_ok_and(|d| {
        d.id() == Some(id)
            && d.get("modified").and_then(accord_stix::dom::Value::as_str) == Some(modified)
    })
}

/// The 1-based line and column of a byte offset.
fn line_column(src: &[u8], offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    (line, offset - start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<String> {
        let source = Source::from_bytes("t", text.as_bytes().to_vec());
        let mut got = Vec::new();
        check_file(
            Seam::validation(),
            &source,
            Format::Auto,
            1 << 20,
            2,
            |batch| {
                for o in batch {
                    match o {
                        Outcome::Object(c) => {
                            for i in &c.issues {
                                got.push(format!("{}@{} {}", i.rule, c.offset, i.message));
                            }
                            got.push(format!("object@{}", c.offset));
                        }
                        Outcome::Other(Item::BundleIssues { issues, .. }) => {
                            got.extend(issues.iter().map(|i| format!("{} {}", i.rule, i.message)));
                        }
                        Outcome::Other(Item::Error { message, .. }) => got.push(message),
                        Outcome::Other(_) => {}
                    }
                }
            },
        );
        got
    }

    const A: &str = r#"{"type":"identity","spec_version":"2.1","id":"identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"A"}"#;

    #[test]
    fn a_top_level_array_is_read_as_objects_with_one_warning() {
        let got = run(&format!("[\n{A},\n{A}\n]\n"));
        assert_eq!(
            got.iter().filter(|g| g.starts_with("bundle ")).count(),
            1,
            "{got:?}"
        );
        assert_eq!(
            got.iter().filter(|g| g.starts_with("object@")).count(),
            2,
            "{got:?}"
        );
    }

    #[test]
    fn one_version_twice_with_different_content_is_reported() {
        let b = A.replace("\"A\"", "\"B\"");
        let got = run(&format!("{A}\n{A}\n{b}\n"));
        let conflicts: Vec<_> = got.iter().filter(|g| g.starts_with("conflict")).collect();
        assert_eq!(conflicts.len(), 1, "{got:?}");
        let at = 2 * (A.len() + 1);
        assert!(
            conflicts[0].starts_with(&format!("conflict@{at} ")),
            "{got:?}"
        );
        assert!(conflicts[0].contains("line 1, column 1"), "{got:?}");
    }
}
