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
}

/// The seam of a check that stores nothing: validation only.
static VALIDATION: std::sync::LazyLock<Exchange> = std::sync::LazyLock::new(Exchange::default);

impl Seam<'static> {
    /// Validation only (the default policy admits every valid object).
    pub fn validation() -> Seam<'static> {
        Seam {
            exchange: &VALIDATION,
            from: Counterparty::Local,
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
    let (mut meta, mut issues) = crate::exchange::inspect(obj);
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
    Checked {
        anchor,
        offset,
        text,
        meta,
        issues,
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
        } => match Doc::parse(text) {
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
    match Doc::parse(text) {
        Ok(obj) => check_doc(seam, anchor, offset, text, &obj),
        Err(e) => Checked {
            anchor,
            offset,
            text,
            meta: None,
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
        for (seq, out) in done_rx {
            early.insert(seq, out);
            while let Some(out) = early.remove(&next) {
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
