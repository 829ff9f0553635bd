//! Streaming log readers: Zeek TSV and JSON, Suricata EVE JSON, CSV and
//! free text, plain, gzip or zstd, from files, stdin or a growing file
//! (`tail -F`). They turn log bytes into [`Event`]s carrying the observable
//! values (addresses, domain names, URLs, e-mail addresses, hashes, file
//! names) that an indicator index looks up.
//!
//! # Shape
//!
//! ```text
//! bytes ──► input::open (plain | gzip | zstd | stdin) ──► input::Lines (complete lines,
//!           line numbers, line-length cap) ──► Parser::read_chunk ──► Sink::event / Sink::skipped
//! ```
//!
//! * An [`Observable`] is `(field, kind, value)`: `field` is the log's own
//!   name (`"dns.rrname"`, `"id.resp_h"`), `kind` a [`Kind`], `value` the
//!   bytes. Everything is borrowed from the line (or from a per-line scratch
//!   buffer for unescaped strings and built URLs): no allocation per field.
//! * A [`Sink`] receives each [`Event`] (line number, event time in Unix
//!   microseconds, observables) and each skipped line with its
//!   [`SkipReason`]. A line that fails validation yields no observable at all:
//!   observables are buffered and only delivered once the whole line passed.
//! * [`Parser::read_chunk`] reads a byte slice of whole lines. A caller can
//!   cut a memory-mapped file with [`split_chunks`], get the reader state in
//!   effect at each chunk's start with [`Parser::chunk_parsers`] (Zeek header
//!   lines and the CSV header are replayed, nothing else), and read the chunks
//!   on several threads.
//! * [`read_path`] / [`read_stream`] do the whole thing for one input and
//!   return a [`Summary`] (lines, events, skips by reason with file:line
//!   samples, decoder errors). [`Follow`] keeps reading a file as it grows,
//!   surviving rotation and truncation.
//!
//! # Formats
//!
//! * **Zeek TSV** ([`Format::ZeekTsv`]): the `#separator`, `#set_separator`,
//!   `#empty_field`, `#unset_field`, `#fields` and `#types` header lines,
//!   `\xHH` escapes, set/vector fields split on the set separator. Fields are
//!   mapped by name ([`zeek::FIELDS`]) and by type (`addr`, `set[addr]`,
//!   `vector[addr]` are addresses whatever their name; `subnet` is skipped).
//!   `ts` is the event time. A header that changes mid-file is adopted and
//!   reported ([`SkipReason::HeaderChanged`]); data before any `#fields` is
//!   skipped ([`SkipReason::MissingHeader`]); a row with the wrong number of
//!   fields is skipped ([`SkipReason::FieldCount`]).
//! * **Zeek JSON** ([`Format::ZeekJson`]): the same names, `ts` as epoch
//!   seconds or ISO 8601, arrays for sets, nested records as `a.b`.
//! * **Suricata EVE** ([`Format::Eve`]): a hand-written validating scanner
//!   (no DOM, no allocation) walks each object, skipping values nobody
//!   wants, and maps the paths listed in [`eve::FIELDS`]; `timestamp` is the
//!   event time. `http.url` is joined with `http.hostname` into
//!   `http://host/path`. [`eve::scan_line`] is the same scanner as a pure
//!   function for fuzzing.
//! * **CSV** ([`Format::Csv`]): RFC 4180 quoting (no newlines inside quotes),
//!   a header row whose names pick the kind, or a [`CsvColumns`] mapping
//!   (`src:ip,dst:ip,,url:url`). Columns of unknown names yield a cell that
//!   is wholly an address, URL, mailbox or hash.
//! * **Text** ([`Format::Text`]): addresses, domains, URLs, mailboxes and
//!   hashes found in free text (see [`text`]).
//!
//! [`detect`] picks the format from the first lines.
//!
//! # Bad input
//!
//! Never an abort, never a partial event: invalid UTF-8, a JSON line that is
//! not an object, invalid or truncated JSON, nesting deeper than
//! [`json::MAX_DEPTH`], a Zeek row without header or with the wrong field
//! count, a bad CSV quote, a line longer than [`Options::max_line`] (dropped
//! while it is read, never held whole) are skipped and counted by reason. An
//! unterminated last line is read for JSON, CSV and text, and skipped as
//! [`SkipReason::Truncated`] for Zeek TSV (whose last column could be cut)
//! and whenever the stream broke (a cut gzip file); the broken stream is an
//! [`Error::Decompress`] in the summary naming the line it reached.

//!
//! # Input and speed
//!
//! gzip is decoded with `flate2` (pure-Rust `miniz_oxide`, multi-member),
//! zstd with the pure-Rust `ruzstd` (multi-frame); both by extension, other
//! names and stdin by magic bytes. Both decode a 10 MB Zeek log in about
//! 0.07 s of CPU beyond plain reading, well below the parsing cost.
//! Short-string and separator searches are done eight bytes at a time
//! (SWAR), `memchr` past 32 bytes. `cargo bench -p accord-logs` measures each
//! reader on synthetic data; `examples/throughput.rs` measures a real file
//! per CPU second.

#![warn(missing_docs)]

mod classify;
mod collect;
mod csv;
mod detect;
mod error;
pub mod eve;
mod follow;
mod input;
pub mod json;
pub mod text;
mod time;
pub mod zeek;

pub use csv::{ColKind, CsvColumns};
pub use detect::detect;
pub use error::Error;
pub use follow::Follow;
pub use input::{Lines, Options, Skip, Summary, open, read_path, read_stream};
pub use time::{parse_any, parse_epoch, parse_iso8601};

use collect::Collector;

/// What an observable value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An IPv4 or IPv6 address.
    Ip,
    /// A DNS name.
    Domain,
    /// A URL.
    Url,
    /// An e-mail address (the addr-spec only).
    Email,
    /// A hex hash or fingerprint (MD5, SHA-1, SHA-256, JA3, …).
    Hash,
    /// Other text an indicator can name: a file name.
    Text,
}

impl Kind {
    /// Lower-case name: `ip`, `domain`, `url`, `email`, `hash`, `text`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ip => "ip",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::Hash => "hash",
            Kind::Text => "text",
        }
    }
}

/// One value of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observable<'a> {
    /// The log's name for the field (`dns.rrname`, `id.resp_h`, a CSV column).
    pub field: &'a str,
    /// What the value is.
    pub kind: Kind,
    /// The value (unescaped).
    pub value: &'a [u8],
}

/// One log line's worth of observables.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// 1-based line number in the input.
    pub line: u64,
    /// The event's time in Unix microseconds, if the line has one.
    pub time: Option<i64>,
    /// The observables, in line order (a built URL after its parts).
    pub observables: &'a [Observable<'a>],
}

/// Why a line produced no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// A JSON reader got a line that is not an object.
    NotObject,
    /// The JSON is malformed.
    InvalidJson,
    /// The line ends early (JSON cut mid-value, unterminated last line of a
    /// Zeek log, the last line of a broken compressed stream).
    Truncated,
    /// JSON nested deeper than [`json::MAX_DEPTH`].
    TooDeep,
    /// Longer than [`Options::max_line`]; dropped unread.
    TooLong,
    /// A Zeek data line before any `#fields` header.
    MissingHeader,
    /// A Zeek `#fields` line that differs from the one before (the new one
    /// is used from there on). Reported, not an error.
    HeaderChanged,
    /// A Zeek header line that cannot be used.
    BadHeader,
    /// A row with the wrong number of fields.
    FieldCount,
    /// A CSV row with a bad quote.
    BadCsv,
    /// An empty line (never reported).
    Empty,
}

impl SkipReason {
    /// A short stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::InvalidUtf8 => "invalid UTF-8",
            SkipReason::NotObject => "not a JSON object",
            SkipReason::InvalidJson => "invalid JSON",
            SkipReason::Truncated => "truncated line",
            SkipReason::TooDeep => "JSON nested too deep",
            SkipReason::TooLong => "line too long",
            SkipReason::MissingHeader => "no Zeek #fields header",
            SkipReason::HeaderChanged => "Zeek header changed",
            SkipReason::BadHeader => "bad Zeek header line",
            SkipReason::FieldCount => "wrong number of fields",
            SkipReason::BadCsv => "bad CSV quoting",
            SkipReason::Empty => "empty line",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Receives what a reader finds.
pub trait Sink {
    /// A line that was read (possibly with no observables).
    fn event(&mut self, ev: &Event<'_>);
    /// A line that was not read, and why.
    fn skipped(&mut self, _line: u64, _reason: SkipReason) {}
}

/// A log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Zeek's TSV writer.
    ZeekTsv,
    /// Zeek's JSON writer.
    ZeekJson,
    /// Suricata EVE JSON.
    Eve,
    /// CSV.
    Csv,
    /// Free text.
    Text,
}

impl Format {
    /// Parses `zeek`, `zeek-json`, `eve`, `csv`, `text`.
    pub fn from_name(s: &str) -> Option<Format> {
        Some(match s {
            "zeek" | "zeek-tsv" | "tsv" => Format::ZeekTsv,
            "zeek-json" => Format::ZeekJson,
            "eve" | "suricata" => Format::Eve,
            "csv" => Format::Csv,
            "text" | "plain" => Format::Text,
            _ => return None,
        })
    }

    /// Whether an unterminated last line is read (self-delimiting or free
    /// formats) rather than skipped as truncated (Zeek TSV).
    pub fn reads_unterminated_line(self) -> bool {
        self != Format::ZeekTsv
    }
}

#[derive(Debug, Clone)]
enum Inner {
    ZeekTsv(zeek::ZeekTsv),
    ZeekJson(zeek::ZeekJson),
    Eve(eve::Eve),
    Csv(csv::Csv),
    Text,
}

/// A reader for one format, with the state a stream carries from line to
/// line (Zeek and CSV headers) and reusable buffers.
#[derive(Debug, Clone)]
pub struct Parser {
    format: Format,
    inner: Inner,
    c: Collector,
}

impl Parser {
    /// A reader of `format` (CSV with a header row, comma-separated).
    pub fn new(format: Format) -> Parser {
        Parser::with_csv(format, b',', None, true)
    }

    /// A reader with CSV settings: the delimiter, a column mapping, and
    /// whether the first row is a header (always, without a mapping).
    pub fn with_csv(
        format: Format,
        delimiter: u8,
        columns: Option<&CsvColumns>,
        has_header: bool,
    ) -> Parser {
        let inner = match format {
            Format::ZeekTsv => Inner::ZeekTsv(zeek::ZeekTsv::default()),
            Format::ZeekJson => Inner::ZeekJson(zeek::ZeekJson::default()),
            Format::Eve => Inner::Eve(eve::Eve),
            Format::Csv => Inner::Csv(csv::Csv::new(delimiter, columns, has_header)),
            Format::Text => Inner::Text,
        };
        Parser {
            format,
            inner,
            c: Collector::default(),
        }
    }

    /// The format read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Reads a slice of whole lines (the last one may lack its newline),
    /// the first being line `first_line`. Returns the number of lines.
    pub fn read_chunk(&mut self, bytes: &[u8], first_line: u64, sink: &mut dyn Sink) -> u64 {
        let c = &mut self.c;
        match &mut self.inner {
            Inner::ZeekTsv(z) => z.chunk(c, bytes, first_line, sink),
            Inner::Csv(s) => s.chunk(c, bytes, first_line, sink),
            Inner::Text => text::chunk(c, bytes, first_line, sink),
            Inner::Eve(r) => json_chunk(r, c, bytes, first_line, sink, |_| {}),
            Inner::ZeekJson(r) => json_chunk(r, c, bytes, first_line, sink, zeek::ZeekJson::reset),
        }
    }

    /// Applies the header lines of a chunk (Zeek `#` lines, the CSV header)
    /// without reading its data: the state is then the one in effect after
    /// the chunk.
    pub fn scan_headers(&mut self, bytes: &[u8]) {
        match &mut self.inner {
            Inner::ZeekTsv(z) => z.scan_headers(bytes),
            Inner::Csv(s) => s.scan_headers(bytes),
            _ => {}
        }
    }

    /// One parser per chunk of `bytes`, each in the state in effect at its
    /// chunk's start, for reading the chunks in parallel.
    pub fn chunk_parsers(&self, bytes: &[u8], chunks: &[Chunk]) -> Vec<Parser> {
        let mut p = self.clone();
        let mut out = Vec::with_capacity(chunks.len());
        for (i, ch) in chunks.iter().enumerate() {
            out.push(p.clone());
            // The state after the last chunk is not needed.
            if i + 1 < chunks.len() {
                p.scan_headers(&bytes[ch.range.clone()]);
            }
        }
        out
    }
}

fn json_chunk<R: json::Rules>(
    r: &mut R,
    c: &mut Collector,
    bytes: &[u8],
    first_line: u64,
    sink: &mut dyn Sink,
    reset: impl Fn(&mut R),
) -> u64 {
    for_each_line(bytes, first_line, |no, line| {
        c.clear();
        reset(r);
        match json::scan(line, r, c) {
            Ok(()) => {
                c.finish(line);
                c.deliver(no, line, &[], sink);
            }
            Err(SkipReason::Empty) => {}
            Err(reason) => sink.skipped(no, reason),
        }
    })
}

/// Whether `b` is valid UTF-8 (SIMD-validated: every line is checked once).
#[inline]
pub(crate) fn is_utf8(b: &[u8]) -> bool {
    simdutf8::basic::from_utf8(b).is_ok()
}

/// Calls `f(line_no, line)` for each line of `bytes` (without its `\n`; a
/// last line without one counts). Returns the number of lines.
pub(crate) fn for_each_line(bytes: &[u8], first_line: u64, mut f: impl FnMut(u64, &[u8])) -> u64 {
    let mut no = first_line;
    let mut start = 0;
    for p in memchr::memchr_iter(b'\n', bytes) {
        f(no, &bytes[start..p]);
        no += 1;
        start = p + 1;
    }
    if start < bytes.len() {
        f(no, &bytes[start..]);
        no += 1;
    }
    no - first_line
}

/// A run of whole lines of a larger buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Byte range in the buffer.
    pub range: std::ops::Range<usize>,
    /// Line number of its first line.
    pub first_line: u64,
}

/// Cuts `bytes` into chunks of about `target` bytes ending at newlines.
pub fn split_chunks(bytes: &[u8], target: usize) -> Vec<Chunk> {
    let target = target.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut line = 1u64;
    while start < bytes.len() {
        let want = (start + target).min(bytes.len());
        let end = if want == bytes.len() {
            bytes.len()
        } else {
            match memchr::memchr(b'\n', &bytes[want..]) {
                Some(p) => want + p + 1,
                None => bytes.len(),
            }
        };
        out.push(Chunk {
            range: start..end,
            first_line: line,
        });
        line += memchr::memchr_iter(b'\n', &bytes[start..end]).count() as u64;
        start = end;
    }
    out
}

/// An event copied out of its buffers (tests, fuzzing, small tools).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnedEvent {
    /// Unix microseconds.
    pub time: Option<i64>,
    /// `(field, kind, value)`.
    pub observables: Vec<(String, Kind, Vec<u8>)>,
}

impl OwnedEvent {
    pub(crate) fn from_collector(c: &Collector, line: &[u8], names: &[Box<str>]) -> OwnedEvent {
        let observables = c
            .obs
            .iter()
            .map(|o| {
                let f = match o.field {
                    collect::FieldName::Static(s) => s.to_string(),
                    collect::FieldName::Dyn(i) => {
                        names.get(i as usize).map_or("?".into(), |s| s.to_string())
                    }
                };
                (f, o.kind, c.bytes(line, o.val).to_vec())
            })
            .collect();
        OwnedEvent {
            time: c.time,
            observables,
        }
    }

    /// Copies an event.
    pub fn from_event(ev: &Event<'_>) -> OwnedEvent {
        OwnedEvent {
            time: ev.time,
            observables: ev
                .observables
                .iter()
                .map(|o| (o.field.to_string(), o.kind, o.value.to_vec()))
                .collect(),
        }
    }
}
