//! Reading STIX input files: a bundle (or single object) per file, or JSON
//! lines (one object or bundle per line). Files are memory-mapped, so memory
//! use does not grow with file size; objects are handed over as slices of the
//! file, with their byte offsets for error positions.

use accord_stix::{Issue, JsonPath, Pos, Rule, read_document, validate_bundle_header};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// An input file that could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[error("{action} {name}: {source}")]
pub struct InputError {
    /// What was being done: `opening`, `reading`, `mapping`, …
    pub action: &'static str,
    /// The file (`standard input` for `-`).
    pub name: String,
    /// The operating system's reason.
    #[source]
    pub source: std::io::Error,
}

impl InputError {
    fn new(action: &'static str, name: &str) -> impl FnOnce(std::io::Error) -> InputError {
        let name = name.to_owned();
        move |source| InputError {
            action,
            name,
            source,
        }
    }
}

/// How a file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Decide from the content: several JSON values on separate lines are JSON lines.
    Auto,
    /// One JSON document: a STIX bundle or a single object.
    Bundle,
    /// One JSON value (object or bundle) per line.
    Jsonl,
}

/// A whole input file, mapped or read.
pub struct Source {
    /// The name to print in messages.
    pub name: String,
    data: Data,
}

enum Data {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Source {
    /// Opens a file (memory-mapped) or `-` for standard input.
    ///
    /// # Errors
    /// [`InputError`] naming the file and what failed.
    pub fn open(path: &Path) -> Result<Source, InputError> {
        let name = path.display().to_string();
        if name == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(InputError::new("reading", "standard input"))?;
            return Ok(Source {
                name: "<stdin>".into(),
                data: Data::Owned(buf),
            });
        }
        let file = File::open(path).map_err(InputError::new("opening", &name))?;
        let len = file
            .metadata()
            .map_err(InputError::new("reading metadata of", &name))?
            .len();
        if len == 0 || !file.metadata().map(|m| m.is_file()).unwrap_or(false) {
            // Pipes and other special files cannot be mapped: read them.
            let mut buf = Vec::new();
            let mut file = file;
            file.read_to_end(&mut buf)
                .map_err(InputError::new("reading", &name))?;
            return Ok(Source {
                name,
                data: Data::Owned(buf),
            });
        }
        // SAFETY: the map is read-only and lives as long as `Source`. If another
        // process truncates the file meanwhile, reads past the new end fault;
        // that is the documented risk of mapping files, accepted for input files
        // an operator hands to the CLI.
        #[allow(unsafe_code)]
        let map =
            unsafe { memmap2::Mmap::map(&file) }.map_err(InputError::new("mapping", &name))?;
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Source {
            name,
            data: Data::Mapped(map),
        })
    }

    /// Bytes already in memory (embedded data), under a name for messages.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Source {
        Source {
            name: name.into(),
            data: Data::Owned(bytes),
        }
    }

    /// Tells the kernel the pages before `offset` will not be read again
    /// soon, so a long file does not pile up in the process's resident
    /// memory. Reading them again later (to report a position) is still
    /// correct: the pages are read back from the file.
    pub fn release_before(&self, offset: usize) {
        if let Data::Mapped(m) = &self.data {
            let page = 4096;
            let len = offset / page * page;
            if len > 0 {
                // SAFETY: the mapping is read-only and backed by a file, so
                // dropping its pages loses nothing: a later read faults them
                // back in from the file. (DONTNEED is only destructive for
                // private pages that were written to, which these never are.)
                #[allow(unsafe_code)]
                let _ =
                    unsafe { m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, len) };
            }
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        }
    }
}

/// A known line start: lets positions be computed without counting the
/// newlines of everything before (a 1 GB line is never read twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Byte offset of the start of the line.
    pub offset: usize,
    /// Its 1-based line number.
    pub line: usize,
}

/// Something found while scanning a file.
#[derive(Debug)]
pub enum Item<'a> {
    /// An object's raw text.
    Object {
        /// The start of its line, when known (JSON lines).
        anchor: Option<Anchor>,
        /// Byte offset of the object in the file.
        offset: usize,
        /// The object's exact text.
        text: &'a str,
    },
    /// A JSON line that can only be a single object, if it is JSON at all
    /// (see `single_object_line`): handed over unread, so the worker that
    /// parses the object reads it once. When it does not parse, the worker
    /// reads it with `document` for the error and its position.
    Line {
        /// The start of its line.
        anchor: Option<Anchor>,
        /// Byte offset of the object in the file.
        offset: usize,
        /// The line without its surrounding whitespace.
        text: &'a str,
    },
    /// Problems with a bundle's own properties (`type`, `id`, `objects`).
    BundleIssues {
        /// The start of its line, when known (JSON lines).
        anchor: Option<Anchor>,
        /// Byte offset of the bundle in the file.
        offset: usize,
        /// The bundle's text (for locating the issues).
        text: &'a str,
        /// What is wrong.
        issues: Vec<Issue>,
    },
    /// A fault that stops part of the file from being read: broken JSON, a
    /// line over the size limit, bytes that are not UTF-8.
    Error {
        /// The start of its line, when known (JSON lines).
        anchor: Option<Anchor>,
        /// Byte offset of the fault in the file.
        offset: usize,
        /// What is wrong.
        message: String,
    },
}

/// Decides the layout of `src` when `format` is `Auto`.
pub fn detect(src: &[u8], format: Format) -> Format {
    if format != Format::Auto {
        return format;
    }
    let start = src
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(src.len());
    let rest = &src[start..];
    let Some(nl) = memchr::memchr(b'\n', rest) else {
        return Format::Bundle;
    };
    // JSON lines when the first line is a whole JSON value and more follows.
    let first_is_whole = serde_json::from_slice::<serde::de::IgnoredAny>(&rest[..nl]).is_ok();
    let more = rest[nl..].iter().any(|b| !b.is_ascii_whitespace());
    if first_is_whole && more {
        Format::Jsonl
    } else {
        Format::Bundle
    }
}

/// Scans `src`, handing each object, bundle issue and fault to `each` in file
/// order. Objects over `max_object_bytes` are reported and skipped without
/// being parsed; `skipped(end)` is then told the offset past the skipped
/// line, so the caller can release the pages it spans.
pub fn scan<'a>(
    src: &'a [u8],
    format: Format,
    max_object_bytes: usize,
    mut each: impl FnMut(Item<'a>),
    skipped: impl Fn(usize),
) {
    match detect(src, format) {
        Format::Jsonl => {
            let mut line_start = 0;
            let mut line_no = 1;
            while line_start < src.len() {
                let end = find_newline(src, line_start, &skipped);
                let line = &src[line_start..end];
                let anchor = Some(Anchor {
                    offset: line_start,
                    line: line_no,
                });
                if line.len() > max_object_bytes {
                    each(Item::Error {
                        anchor,
                        offset: line_start,
                        message: format!(
                            "line is {} bytes, over the limit of {max_object_bytes} bytes per object (--max-object-bytes); skipped",
                            line.len()
                        ),
                    });
                    skipped(end);
                } else if let Some((lead, text)) = single_object_line(line) {
                    each(Item::Line {
                        anchor,
                        offset: line_start + lead,
                        text,
                    });
                } else if line.iter().any(|b| !b.is_ascii_whitespace()) {
                    document(anchor, line_start, line, max_object_bytes, &mut each);
                }
                line_start = end + 1;
                line_no += 1;
            }
        }
        Format::Bundle | Format::Auto => document(None, 0, src, max_object_bytes, &mut each),
    }
}

/// The offset of the next newline at or after `from` (or the end). A long
/// line is searched a window at a time and each window passed is handed to
/// `release`, so a 1 GB line never sits in memory whole.
fn find_newline(src: &[u8], from: usize, release: &impl Fn(usize)) -> usize {
    const WINDOW: usize = 16 << 20;
    let mut start = from;
    loop {
        let stop = (start + WINDOW).min(src.len());
        if let Some(i) = memchr::memchr(b'\n', &src[start..stop]) {
            return start + i;
        }
        if stop == src.len() {
            return stop;
        }
        release(stop);
        start = stop;
    }
}

/// A JSON line that, if it parses, is one object and not a bundle: it
/// starts with `{`, is UTF-8, and neither `"objects"` nor `"bundle"` nor a
/// `\u` escape (which could spell either) appears in it. Returns the
/// number of leading whitespace bytes and the trimmed text. Anything else
/// goes through [`document`], which finds bundles and their objects.
fn single_object_line(line: &[u8]) -> Option<(usize, &str)> {
    let lead = line.iter().position(|b| !b.is_ascii_whitespace())?;
    let end = line.len() - line.iter().rev().position(|b| !b.is_ascii_whitespace())?;
    let t = &line[lead..end];
    if t.first() != Some(&b'{')
        || memchr::memmem::find(t, b"\\u").is_some()
        || memchr::memmem::find(t, b"\"objects\"").is_some()
        || memchr::memmem::find(t, b"\"bundle\"").is_some()
    {
        return None;
    }
    std::str::from_utf8(t).ok().map(|s| (lead, s))
}

/// Reads one document (a whole file, or one JSON line): a bundle's objects
/// one by one, or a single object whole.
pub(crate) fn document<'a>(
    anchor: Option<Anchor>,
    base: usize,
    doc: &'a [u8],
    max_object_bytes: usize,
    each: &mut impl FnMut(Item<'a>),
) {
    let start = doc
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    if doc.get(start) == Some(&b'[') {
        return array(anchor, base, doc, start, max_object_bytes, each);
    }
    let result = read_document(doc, |o| {
        if o.text.len() > max_object_bytes {
            each(Item::Error {
                anchor,
                offset: base + o.offset,
                message: format!(
                    "object {} is {} bytes, over the limit of {max_object_bytes} bytes (--max-object-bytes); skipped",
                    o.index,
                    o.text.len()
                ),
            });
        } else {
            each(Item::Object {
                anchor,
                offset: base + o.offset,
                text: o.text,
            });
        }
    });
    match result {
        Ok(info) => {
            let issues = validate_bundle_header(&info);
            if !issues.is_empty() {
                let start = doc
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(0);
                each(Item::BundleIssues {
                    anchor,
                    offset: base + start,
                    text: std::str::from_utf8(&doc[start..]).unwrap_or(""),
                    issues,
                });
            }
        }
        Err(e) => {
            // serde_json calls a stray non-UTF-8 byte an "invalid unicode
            // code point"; name the byte instead.
            let (offset, message) = match std::str::from_utf8(doc) {
                Err(u) if u.valid_up_to() <= e.pos.offset => (
                    u.valid_up_to(),
                    format!(
                        "invalid UTF-8: byte 0x{:02X} cannot start or continue a character (STIX is UTF-8 JSON)",
                        doc[u.valid_up_to()]
                    ),
                ),
                _ => (e.pos.offset, e.message),
            };
            each(Item::Error {
                anchor,
                offset: base + offset,
                message,
            });
        }
    }
}

/// A document whose top level is a JSON array, as some exporters write:
/// read as a list of objects, each checked on its own, with one warning
/// that it is not a bundle (§8: a bundle is an object whose `objects`
/// holds them). Elements are handed over as they are read, so a broken
/// array still yields every element before the fault.
fn array<'a>(
    anchor: Option<Anchor>,
    base: usize,
    doc: &'a [u8],
    start: usize,
    max_object_bytes: usize,
    each: &mut impl FnMut(Item<'a>),
) {
    use serde::de::{Deserializer as _, SeqAccess, Visitor};
    use serde_json::value::RawValue;

    each(Item::BundleIssues {
        anchor,
        offset: base + start,
        text: std::str::from_utf8(&doc[start..]).unwrap_or(""),
        issues: vec![Issue::warning(
            Rule::Bundle,
            JsonPath::root(),
            "the top level is a JSON array, not a bundle: read as a list of objects (§8: STIX content is exchanged as a bundle, an object with `type` `bundle` whose `objects` holds them)",
        )],
    });
    struct Elements<'a, 'f, F> {
        doc: &'a [u8],
        base: usize,
        anchor: Option<Anchor>,
        max: usize,
        each: &'f mut F,
    }
    impl<'a, F: FnMut(Item<'a>)> Visitor<'a> for Elements<'a, '_, F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON array of STIX objects")
        }
        fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut index = 0usize;
            while let Some(raw) = seq.next_element::<&'a RawValue>()? {
                let text = raw.get();
                let offset = self.base + (text.as_ptr() as usize - self.doc.as_ptr() as usize);
                if !text.starts_with('{') {
                    (self.each)(Item::Error {
                        anchor: self.anchor,
                        offset,
                        message: format!(
                            "element {index} of the top-level array is not a JSON object (a STIX object)"
                        ),
                    });
                } else if text.len() > self.max {
                    (self.each)(Item::Error {
                        anchor: self.anchor,
                        offset,
                        message: format!(
                            "object {index} is {} bytes, over the limit of {} bytes (--max-object-bytes); skipped",
                            text.len(),
                            self.max
                        ),
                    });
                } else {
                    (self.each)(Item::Object {
                        anchor: self.anchor,
                        offset,
                        text,
                    });
                }
                index += 1;
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_slice(doc);
    let visitor = Elements {
        doc,
        base,
        anchor,
        max: max_object_bytes,
        each,
    };
    if let Err(e) = (&mut de).deserialize_seq(visitor).and_then(|()| de.end()) {
        // serde_json's line and column, turned back into a byte offset.
        let offset = offset_of(doc, e.line(), e.column());
        each(Item::Error {
            anchor,
            offset: base + offset,
            message: e.to_string(),
        });
    }
}

/// The byte offset of a 1-based line and column (as serde_json reports them).
fn offset_of(doc: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match memchr::memchr(b'\n', &doc[start..]) {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    (start + column.saturating_sub(1)).min(doc.len())
}

/// Turns byte offsets into line and column, cheaply when asked in increasing order.
pub struct LineIndex<'a> {
    src: &'a [u8],
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineIndex<'a> {
    /// An index over `src`.
    pub fn new(src: &'a [u8]) -> Self {
        LineIndex {
            src,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The position of byte `offset`, counting from `anchor` when it is
    /// given and later than what was counted so far.
    pub fn pos_from(&mut self, anchor: Option<Anchor>, offset: usize) -> Pos {
        if let Some(a) = anchor
            && a.offset > self.offset
            && a.offset <= offset
        {
            self.offset = a.offset;
            self.line = a.line;
            self.line_start = a.offset;
        }
        self.pos(offset)
    }

    /// The position of byte `offset`.
    pub fn pos(&mut self, offset: usize) -> Pos {
        let offset = offset.min(self.src.len());
        if offset < self.offset {
            *self = LineIndex::new(self.src);
        }
        let chunk = &self.src[self.offset..offset];
        for i in memchr::memchr_iter(b'\n', chunk) {
            self.line += 1;
            self.line_start = self.offset + i + 1;
        }
        self.offset = offset;
        let col = String::from_utf8_lossy(&self.src[self.line_start..offset])
            .chars()
            .count()
            + 1;
        Pos {
            offset,
            line: self.line,
            col,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(src: &str, format: Format, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        fn show(i: Item<'_>, max: usize, out: &mut Vec<String>) {
            out.push(match i {
                Item::Object { offset, text, .. } => format!("obj@{offset}:{text}"),
                // As the checker reads it: one object, or a document.
                Item::Line {
                    anchor,
                    offset,
                    text,
                } => {
                    if accord_stix::Doc::parse(text).is_ok() {
                        format!("obj@{offset}:{text}")
                    } else {
                        document(anchor, offset, text.as_bytes(), max, &mut |i| {
                            show(i, max, out)
                        });
                        return;
                    }
                }
                Item::BundleIssues { issues, .. } => format!("bundle:{}", issues.len()),
                Item::Error {
                    offset, message, ..
                } => format!("err@{offset}:{message}"),
            });
        }
        scan(
            src.as_bytes(),
            format,
            max,
            |i| show(i, max, &mut out),
            |_| (),
        );
        out
    }

    /// A JSON line handed over unread (`Item::Line`) comes out, once
    /// checked, exactly as reading it as a document gives: same objects,
    /// same faults at the same offsets.
    #[test]
    fn unread_lines_read_as_documents_do() {
        let lines = [
            r#"{"type":"indicator","id":"indicator--1"}"#,
            r#"  {"type":"x", "a": [1, {"b": null}]}  "#,
            r#"{"type":"x","a": }"#,
            r#"{"type":"x"} trailing"#,
            r#"{"type":"x","a":"unterminated"#,
            r#"{"type":"bundle","id":"bundle--1","objects":[{"type":"x"},{"type":"y"}]}"#,
            r#"{"type":"bundl\u0065","objects":[{"type":"x"}]}"#,
            r#"{"type":"observed-data","objects":{"0":{"type":"file"}}}"#,
            r#"{"a":"\u00e9"}"#,
            r#"[1,2]"#,
        ];
        let src = lines.join("\n");
        let got = items(&src, Format::Jsonl, 1 << 20);
        let mut want = Vec::new();
        let mut start = 0;
        for l in lines {
            let mut each = |i: Item<'_>| {
                want.push(match i {
                    Item::Object { offset, text, .. } => format!("obj@{offset}:{text}"),
                    Item::BundleIssues { issues, .. } => format!("bundle:{}", issues.len()),
                    Item::Error {
                        offset, message, ..
                    } => format!("err@{offset}:{message}"),
                    Item::Line { .. } => unreachable!(),
                })
            };
            document(None, start, l.as_bytes(), 1 << 20, &mut each);
            start += l.len() + 1;
        }
        assert_eq!(got, want);
        assert!(
            got.iter().filter(|g| g.starts_with("err@")).count() >= 3,
            "{got:?}"
        );
    }

    #[test]
    fn detects_layouts() {
        assert_eq!(
            detect(b"{\"a\":1}\n{\"b\":2}\n", Format::Auto),
            Format::Jsonl
        );
        assert_eq!(detect(b"{\n\"a\":1}\n", Format::Auto), Format::Bundle);
        assert_eq!(detect(b"{\"a\":1}\n", Format::Auto), Format::Bundle);
    }

    #[test]
    fn jsonl_reports_bad_lines_and_keeps_the_rest() {
        let src = "{\"a\":1}\n{\"b\":\n\n{\"c\":3}\n";
        let got = items(src, Format::Jsonl, 1000);
        assert_eq!(got[0], "obj@0:{\"a\":1}");
        assert!(got[1].starts_with("err@"), "{got:?}");
        assert_eq!(got[2], "obj@15:{\"c\":3}");
    }

    #[test]
    fn oversized_lines_are_skipped_unparsed() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(100));
        let src = format!("{{\"a\":1}}\n{big}\n{{\"c\":3}}\n");
        let got = items(&src, Format::Jsonl, 50);
        assert_eq!(got.len(), 3);
        assert!(got[1].contains("over the limit"), "{got:?}");
    }

    #[test]
    fn line_index_moves_forward_and_back() {
        let src = b"ab\ncd\nef";
        let mut li = LineIndex::new(src);
        assert_eq!((li.pos(4).line, li.pos(4).col), (2, 2));
        assert_eq!(li.pos(7).line, 3);
        assert_eq!(li.pos(1).line, 1);
    }
}
