//! Matching jobs as durable tasks on NATS JetStream (kind [`MATCH`]): the
//! format shared by `accord match --config` of a cluster node (which cuts
//! its logs into chunks of whole lines and publishes them) and the node's
//! `match` workers (which match a chunk against an index over the
//! cluster's store and publish a [`ChunkReport`]).
//!
//! A task's payload is one header line (JSON: [`ChunkHeader`]: format
//! version, the run, the log's number and name, its format and reading
//! options, the chunk's first line number, the length of its prefix, the
//! collections, `--since` and the sighting window), then the prefix (the
//! header lines in effect at the chunk's start: Zeek `#` lines, the CSV
//! header row; applied, not read as data), then the chunk's lines. Its id
//! is `match:<sha256 of the payload>` ([`chunk_id`]): the chunk's bytes,
//! format, collections and options and its run and place, so a republish
//! is queued once and two chunks of a run never share an id.
//!
//! A worker keeps one index per set of collections over the store
//! ([`IndexCache`]: built once per process, or reused from its file in the
//! data directory, and brought up to date with what was stored since),
//! matches the chunk, and publishes the per-indicator hit aggregates and
//! the indicators hitting protected facilities (which the command
//! escalates once every chunk is in: one process, idempotent per
//! indicator and facility) ([`accord_app::matching::chunk::HitGroup`]) in one or more
//! [`ChunkReport`] parts on core NATS subject [`done_subject`]`(run)`.
//! The command counts each chunk once, however often it is redone.

use accord_app::config::Config;
use accord_app::matching::chunk::{self, ChunkSpec, HitGroup, StoreIndex};
use accord_app::matching::{self as m};
use accord_stix::Clock;
use accord_store::Backend;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// The kind of the matching tasks.
pub const MATCH: &str = "match";
/// The format version of a chunk's header and of a report.
pub const FORMAT: u32 = 1;
/// The default size of a chunk's lines (with the header and prefix,
/// below the queue's 256 KiB payload bound).
pub const DEFAULT_CHUNK_BYTES: usize = 192 * 1024;
/// The longest header line a worker reads.
pub const MAX_HEADER: usize = 16 * 1024;
/// The longest prefix (header lines) a chunk carries; a chunk with a
/// longer one is matched by the command itself.
pub const MAX_PREFIX: usize = 32 * 1024;
/// The most collections a chunk names.
pub const MAX_COLLECTIONS: usize = 64;
/// The longest name (a log's display name, a collection, a column map).
pub const MAX_NAME: usize = 4096;
/// The longest line a worker is asked to read.
pub const MAX_LINE: u64 = 16 << 20;
/// The largest report part (JSON bytes), far below NATS's 1 MiB.
pub const MAX_PART_BYTES: usize = 128 * 1024;
/// The most parts of one chunk's report.
pub const MAX_PARTS: u32 = 64;
/// The most read errors, skip samples or reasons a report carries.
pub const MAX_LISTED: usize = 20;
/// The longest text (an error, an id) a report carries.
pub const MAX_TEXT: usize = 512;
/// The most facility-touching indicators a chunk's report names.
pub const MAX_TOUCHES: usize = 64;
/// The most facility hits named per indicator.
pub const MAX_TOUCH_HITS: usize = 4;
/// The most sets of collections a process keeps an index for.
pub const MAX_INDEXES: usize = 4;

/// A chunk's payload that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChunkError {
    /// No header line.
    #[error("the chunk has no header line (JSON, then a newline)")]
    NoHeader,
    /// The header line is not the expected JSON.
    #[error("the chunk's header is not valid: {0}")]
    BadHeader(String),
    /// A value in the header is unusable.
    #[error("the chunk's {what} is not valid: {why}")]
    Bad {
        /// Which field.
        what: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// A chunk's header line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkHeader {
    /// [`FORMAT`].
    pub v: u32,
    /// The run's id (a UUID): where the report goes.
    pub run: String,
    /// The log's number in the command's list.
    pub file: u32,
    /// The log's display name (in the facility touches).
    pub name: String,
    /// The log's format (`zeek`, `zeek-json`, `eve`, `csv`, `text`).
    pub format: String,
    /// A CSV column map.
    pub columns: Option<String>,
    /// With `columns`: the first row is a header.
    pub csv_header: bool,
    /// The CSV delimiter.
    pub csv_delimiter: u8,
    /// The longest line read (longer ones are skipped).
    pub max_line: u64,
    /// The line number of the chunk's first line.
    pub first_line: u64,
    /// The prefix's length in bytes (after the header line).
    pub prefix: u32,
    /// The collections of the indicators (all when empty).
    pub collections: Vec<String>,
    /// Whether warninglisted indicators are matched.
    pub include_warninglisted: bool,
    /// Only events at or after this (Unix microseconds).
    pub since_us: Option<i64>,
    /// The sighting window in seconds.
    pub window: u64,
}

fn cut(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn bad(what: &'static str, why: impl Into<String>) -> ChunkError {
    ChunkError::Bad {
        what,
        why: why.into(),
    }
}

fn check_text(what: &'static str, v: &str, empty_ok: bool) -> Result<(), ChunkError> {
    if v.is_empty() && !empty_ok {
        return Err(bad(what, "it is empty"));
    }
    if v.len() > MAX_NAME {
        return Err(bad(what, format!("it is over {MAX_NAME} bytes")));
    }
    if v.chars().any(char::is_control) {
        return Err(bad(what, "it has control characters"));
    }
    Ok(())
}

impl ChunkHeader {
    /// Checks every field, and returns the log reader options it names.
    ///
    /// # Errors
    /// [`ChunkError::Bad`] naming the field.
    pub fn check(&self) -> Result<accord_logs::Options, ChunkError> {
        if self.v != FORMAT {
            return Err(ChunkError::BadHeader(format!(
                "format version {} (this node reads {FORMAT})",
                self.v
            )));
        }
        crate::ingest_work::check_run(&self.run).map_err(|e| bad("run", e.to_string()))?;
        check_text("name", &self.name, false)?;
        if self.format == "auto" {
            return Err(bad("format", "\"auto\": a chunk names its log's format"));
        }
        if let Some(c) = &self.columns {
            check_text("columns", c, false)?;
        }
        if self.max_line == 0 || self.max_line > MAX_LINE {
            return Err(bad("max_line", format!("not between 1 and {MAX_LINE}")));
        }
        if self.first_line == 0 {
            return Err(bad("first_line", "lines are numbered from 1"));
        }
        if self.prefix as usize > MAX_PREFIX {
            return Err(bad("prefix", format!("over {MAX_PREFIX} bytes")));
        }
        if self.collections.len() > MAX_COLLECTIONS {
            return Err(bad("collections", format!("more than {MAX_COLLECTIONS}")));
        }
        for c in &self.collections {
            check_text("collection", c, false)?;
        }
        if self.window == 0 || self.window > 366 * 86_400 {
            return Err(bad("window", "not between 1 s and a year"));
        }
        let mut opts = m::log_options(&self.format, self.columns.as_deref(), self.csv_header)
            .map_err(|e| bad("format or columns", cut(&e.to_string(), 200)))?;
        opts.max_line = self.max_line as usize;
        opts.csv_delimiter = self.csv_delimiter;
        Ok(opts)
    }
}

/// The core NATS subject the reports of run `run` are published on.
pub fn done_subject(run: &str) -> String {
    format!("accord.match.done.{run}")
}

/// The task id of a chunk: `match:` and the SHA-256 (hex) of its payload.
pub fn chunk_id(payload: &[u8]) -> String {
    let digest = Sha256::digest(payload);
    let mut id = String::with_capacity(6 + 64);
    id.push_str(MATCH);
    id.push(':');
    for b in digest {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// Reads a chunk's payload: its header (checked), the reader options it
/// names, its prefix and its lines.
///
/// # Errors
/// [`ChunkError`] naming what is wrong.
#[allow(clippy::type_complexity)]
pub fn parse(
    payload: &[u8],
) -> Result<(ChunkHeader, accord_logs::Options, &[u8], &[u8]), ChunkError> {
    let scan = &payload[..payload.len().min(MAX_HEADER + 1)];
    let nl = scan
        .iter()
        .position(|&c| c == b'\n')
        .ok_or(ChunkError::NoHeader)?;
    let header: ChunkHeader = serde_json::from_slice(&payload[..nl])
        .map_err(|e| ChunkError::BadHeader(cut(&e.to_string(), 200)))?;
    let opts = header.check()?;
    let rest = &payload[nl + 1..];
    let p = header.prefix as usize;
    if p > rest.len() {
        return Err(bad("prefix", "longer than the payload"));
    }
    Ok((header, opts, &rest[..p], &rest[p..]))
}

/// A chunk ready to publish.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Its task id ([`chunk_id`]).
    pub id: String,
    /// The header line, the prefix and the lines.
    pub payload: Vec<u8>,
    /// Its lines' bytes.
    pub bytes: usize,
    /// The log's number.
    pub file: u32,
    /// Over the bound for a task (a line longer than a chunk, or a long
    /// prefix): matched by the command itself.
    pub oversize: bool,
}

/// Cuts logs into chunks of whole lines, each with the header lines in
/// effect at its start.
#[derive(Debug)]
pub struct Chunker {
    template: ChunkHeader,
    max: usize,
    max_payload: usize,
    csv_pending: bool,
    /// Zeek: the header line of each directive, in the order applied.
    zeek: Vec<(Vec<u8>, Vec<u8>)>,
    csv_header: Option<Vec<u8>>,
    is_zeek: bool,
    is_csv: bool,
    next_line: u64,
    body: Vec<u8>,
    prefix: Vec<u8>,
    first_line: u64,
    done: Vec<Chunk>,
}

/// The Zeek directives whose lines travel with each chunk.
const ZEEK_STATE: [&[u8]; 6] = [
    b"#separator",
    b"#set_separator",
    b"#empty_field",
    b"#unset_field",
    b"#fields",
    b"#types",
];

impl Chunker {
    /// A chunker of run `template.run` (its `file`, `name`, `format`,
    /// `first_line` and `prefix` are set per log), chunks' lines at most
    /// `max_lines_bytes` (at least 1 KiB), payloads at most `max_payload`.
    ///
    /// # Errors
    /// [`ChunkError`] when the template is unusable (checked as a worker
    /// would).
    pub fn new(
        template: ChunkHeader,
        max_lines_bytes: usize,
        max_payload: usize,
    ) -> Result<Chunker, ChunkError> {
        let mut t = template;
        t.prefix = 0;
        t.first_line = 1;
        t.check()?;
        Ok(Chunker {
            template: t,
            max: max_lines_bytes.max(1024),
            max_payload,
            csv_pending: false,
            zeek: Vec::new(),
            csv_header: None,
            is_zeek: false,
            is_csv: false,
            next_line: 1,
            body: Vec::new(),
            prefix: Vec::new(),
            first_line: 1,
            done: Vec::new(),
        })
    }

    /// Starts log number `file`, shown as `name`, of format `format` (a
    /// name [`ChunkHeader::format`] takes); the previous log's last chunk
    /// is made.
    ///
    /// # Errors
    /// [`ChunkError`] for a bad name or format.
    pub fn start_file(&mut self, file: u32, name: &str, format: &str) -> Result<(), ChunkError> {
        self.flush();
        let mut t = self.template.clone();
        t.file = file;
        t.name = name
            .chars()
            .filter(|c| !c.is_control())
            .take(1024)
            .collect();
        t.format = format.to_owned();
        t.check()?;
        self.template = t;
        self.is_zeek = format == "zeek";
        self.is_csv = format == "csv";
        self.csv_pending =
            self.is_csv && (self.template.columns.is_none() || self.template.csv_header);
        self.zeek.clear();
        self.csv_header = None;
        self.next_line = 1;
        Ok(())
    }

    /// Skips one line (counted, not sent: the caller reports it).
    pub fn skip_line(&mut self) {
        self.flush();
        self.next_line += 1;
    }

    /// Adds one line (with its `\n`, except a log's last line).
    pub fn push_line(&mut self, line: &[u8]) {
        if !self.body.is_empty() && self.body.len() + line.len() > self.max {
            self.flush();
        }
        if self.body.is_empty() {
            self.first_line = self.next_line;
            self.prefix.clear();
            if self.is_zeek {
                for (_, l) in &self.zeek {
                    self.prefix.extend_from_slice(l);
                }
            } else if let Some(h) = &self.csv_header {
                self.prefix.extend_from_slice(h);
            }
        }
        self.body.extend_from_slice(line);
        self.next_line += 1;
        // The state after this line.
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        if self.is_zeek && bare.starts_with(b"#") {
            let end = bare
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'#'))
                .unwrap_or(bare.len());
            let directive = &bare[..end];
            if ZEEK_STATE.contains(&directive) {
                let mut l = bare.to_vec();
                l.push(b'\n');
                match self.zeek.iter_mut().find(|(d, _)| d == directive) {
                    Some(e) => e.1 = l,
                    None => self.zeek.push((directive.to_vec(), l)),
                }
                // `#separator` first: the others are split by it.
                self.zeek
                    .sort_by_key(|(d, _)| d.as_slice() != b"#separator");
            }
        } else if self.csv_pending && !bare.is_empty() {
            self.csv_pending = false;
            let mut l = bare.to_vec();
            l.push(b'\n');
            self.csv_header = Some(l);
        }
        if self.body.len() >= self.max {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.body.is_empty() {
            return;
        }
        let mut t = self.template.clone();
        t.first_line = self.first_line;
        t.prefix = self.prefix.len() as u32;
        let mut payload = serde_json::to_vec(&t).unwrap_or_default();
        payload.push(b'\n');
        payload.extend_from_slice(&self.prefix);
        payload.extend_from_slice(&self.body);
        let oversize = payload.len() > self.max_payload || self.prefix.len() > MAX_PREFIX;
        self.done.push(Chunk {
            id: chunk_id(&payload),
            payload,
            bytes: self.body.len(),
            file: self.template.file,
            oversize,
        });
        self.body.clear();
    }

    /// The chunks completed so far (taken).
    pub fn take_ready(&mut self) -> Vec<Chunk> {
        std::mem::take(&mut self.done)
    }

    /// The chunks made, the last one included.
    pub fn finish(mut self) -> Vec<Chunk> {
        self.flush();
        self.done
    }
}

/// How the worker's index was read (for the command's summary).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFacts {
    /// Indicators read.
    pub indicators: u64,
    /// Through the index.
    pub keyed: u64,
    /// Through the pattern evaluator.
    pub evaluated: u64,
    /// Revoked or expired.
    pub dead: u64,
    /// Left out as warninglisted.
    pub warninglisted: u64,
}

/// What a worker did with a chunk (or one part of it), published on
/// [`done_subject`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkReport {
    /// [`FORMAT`].
    pub v: u32,
    /// The chunk's task id.
    pub chunk: String,
    /// The process that matched it.
    pub process: String,
    /// Its delivery attempt (above 1: redelivered).
    pub attempt: i64,
    /// This part's number (from 0).
    pub part: u32,
    /// How many parts the report has.
    pub parts: u32,
    /// Lines read (in part 0; 0 in the others, as every count).
    pub lines: u64,
    /// Events read.
    pub events: u64,
    /// Observables looked up.
    pub observables: u64,
    /// Events before `since`.
    pub before_since: u64,
    /// Lines skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Some skipped lines: (line, reason).
    pub samples: Vec<(u64, String)>,
    /// Read errors (or why the chunk could not be matched).
    pub errors: Vec<String>,
    /// Hits.
    pub hits: u64,
    /// Hits by kind (`ip`, `domain`, …, `pattern`).
    pub by_kind: BTreeMap<String, u64>,
    /// Indicators of the chunk hitting protected facilities (at most
    /// [`MAX_TOUCHES`], each with at most [`MAX_TOUCH_HITS`] hits; in
    /// part 0): the command escalates them.
    pub touches: Vec<TouchWire>,
    /// The index the chunk was matched against.
    pub index: IndexFacts,
    /// The hits per indicator and window (split across parts).
    pub groups: Vec<HitGroup>,
}

/// An indicator hitting protected facilities, on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TouchWire {
    /// The indicator's id.
    pub indicator: String,
    /// The hits: (facility, jurisdiction, value matched, where, how:
    /// `address`, `network`, `domain` or `asn`).
    pub hits: Vec<(String, String, String, String, String)>,
}

impl TouchWire {
    /// The wire form of a touch (hits cut to [`MAX_TOUCH_HITS`]).
    pub fn of(t: &accord_app::facility::Touch) -> TouchWire {
        TouchWire {
            indicator: t.object.clone(),
            hits: t
                .hits
                .iter()
                .take(MAX_TOUCH_HITS)
                .map(|h| {
                    (
                        cut(&h.facility, 200),
                        cut(&h.jurisdiction, 16),
                        cut(&h.matched, 200),
                        cut(&h.path, 200),
                        serde_json::to_value(h.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }

    /// The touch it names (`None` when a hit's kind is unknown).
    pub fn touch(&self) -> Option<accord_app::facility::Touch> {
        use accord_app::facility::{FacilityHit, HitKind};
        let hits = self
            .hits
            .iter()
            .map(|(facility, jurisdiction, matched, path, kind)| {
                Some(FacilityHit {
                    facility: facility.clone(),
                    jurisdiction: jurisdiction.clone(),
                    matched: matched.clone(),
                    path: path.clone(),
                    kind: match kind.as_str() {
                        "address" => HitKind::Address,
                        "network" => HitKind::Network,
                        "domain" => HitKind::Domain,
                        "asn" => HitKind::Asn,
                        _ => return None,
                    },
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(accord_app::facility::Touch {
            object: self.indicator.clone(),
            type_name: "indicator".into(),
            source: "accord match".into(),
            hits,
        })
    }
}

/// A report that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a match report is not valid: {0}")]
pub struct ReportError(pub String);

impl ChunkReport {
    /// Reads and checks one report part from the wire.
    ///
    /// # Errors
    /// [`ReportError`] saying what is wrong.
    pub fn from_wire(bytes: &[u8]) -> Result<ChunkReport, ReportError> {
        if bytes.len() > MAX_PART_BYTES * 2 {
            return Err(ReportError(format!("{} bytes", bytes.len())));
        }
        let r: ChunkReport =
            serde_json::from_slice(bytes).map_err(|e| ReportError(cut(&e.to_string(), 200)))?;
        let fail = |why: &str| Err(ReportError(why.to_owned()));
        if r.v != FORMAT {
            return fail("another format version");
        }
        if !r.chunk.starts_with("match:") || r.chunk.len() > 70 {
            return fail("not a chunk id");
        }
        if r.parts == 0 || r.parts > MAX_PARTS || r.part >= r.parts {
            return fail("part number out of range");
        }
        if r.process.len() > MAX_TEXT
            || r.skipped.len() > 32
            || r.skipped.keys().any(|k| k.len() > 64)
            || r.samples.len() > MAX_LISTED
            || r.samples.iter().any(|(_, s)| s.len() > 64)
            || r.errors.len() > MAX_LISTED
            || r.errors.iter().any(|e| e.len() > MAX_TEXT * 4)
            || r.by_kind.len() > 16
            || r.by_kind.keys().any(|k| k.len() > 16)
        {
            return fail("a list or text over its bound");
        }
        if r.touches.len() > MAX_TOUCHES
            || r.touches.iter().any(|t| {
                !t.indicator.starts_with("indicator--")
                    || t.indicator.len() > 256
                    || t.hits.is_empty()
                    || t.hits.len() > MAX_TOUCH_HITS
                    || t.hits.iter().any(|(f, j, m, p, k)| {
                        f.is_empty() || [f, j, m, p, k].iter().any(|x| x.len() > 256)
                    })
            })
            || r.touches.iter().any(|t| t.touch().is_none())
        {
            return fail("a facility touch is malformed");
        }
        for g in &r.groups {
            if !g.indicator.starts_with("indicator--")
                || g.indicator.len() > 256
                || g.producer.as_ref().is_some_and(|p| p.len() > 256)
                || g.first > g.last
                || g.count == 0
            {
                return fail("a hit group is malformed");
            }
        }
        Ok(r)
    }
}

/// Splits a chunk's report into parts of at most [`MAX_PART_BYTES`].
///
/// # Errors
/// A text when the groups need more than [`MAX_PARTS`] parts.
pub fn into_parts(mut whole: ChunkReport) -> Result<Vec<ChunkReport>, String> {
    let groups = std::mem::take(&mut whole.groups);
    let base = serde_json::to_vec(&whole).map_err(|e| e.to_string())?.len() + 64;
    let mut parts = vec![whole.clone()];
    let mut size = base;
    for g in groups {
        let n = serde_json::to_vec(&g).map_err(|e| e.to_string())?.len() + 1;
        if size + n > MAX_PART_BYTES && !parts.last().is_some_and(|p| p.groups.is_empty()) {
            parts.push(ChunkReport {
                v: FORMAT,
                chunk: whole.chunk.clone(),
                process: whole.process.clone(),
                attempt: whole.attempt,
                ..Default::default()
            });
            size = base;
        }
        size += n;
        parts.last_mut().expect("one part").groups.push(g);
    }
    let n = parts.len();
    if n > MAX_PARTS as usize {
        return Err(format!(
            "the chunk's hits make {n} report parts, over the bound of {MAX_PARTS}"
        ));
    }
    for (i, p) in parts.iter_mut().enumerate() {
        p.part = i as u32;
        p.parts = n as u32;
    }
    Ok(parts)
}

/// The indexes of one process, one per set of collections (at most
/// [`MAX_INDEXES`]), shared by its `match` workers.
#[derive(Debug, Default)]
pub struct IndexCache {
    indexes: Mutex<HashMap<String, Arc<Mutex<StoreIndex>>>>,
}

fn index_key(collections: &[String], include_warninglisted: bool) -> String {
    let mut c = collections.to_vec();
    c.sort();
    c.dedup();
    format!(
        "collections={};warninglisted={include_warninglisted}",
        c.join("\n")
    )
}

/// The file an index over a cluster's store is kept in: in
/// `data/match-index/`, named by the set of collections and the process
/// (several processes may share a data directory).
pub fn index_file(
    data: &std::path::Path,
    collections: &[String],
    include_warninglisted: bool,
    process: &str,
) -> Option<PathBuf> {
    let key = index_key(collections, include_warninglisted);
    let digest = Sha256::digest(key.as_bytes());
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let who: String = process
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let dir = data.join("match-index");
    match std::fs::create_dir_all(&dir) {
        Ok(()) => Some(dir.join(format!("cluster-{name}-{who}.idx"))),
        Err(e) => {
            tracing::warn!(
                "the match index is not kept ({}: {e}); it is built in memory",
                dir.display()
            );
            None
        }
    }
}

/// Where a chunk is matched: the store, the node's data directory and
/// configuration, the process's name and indexes, and the clock.
pub struct Matcher<'a> {
    /// The node's configuration (data directory, facilities' escalation).
    pub config: &'a Config,
    /// The cluster's store.
    pub store: &'a dyn Backend,
    /// This process's name.
    pub process: &'a str,
    /// Its indexes.
    pub cache: &'a IndexCache,
    /// Now.
    pub clock: &'a dyn Clock,
}

/// Why a chunk was not matched.
#[derive(Debug)]
pub enum ChunkFailure {
    /// The payload cannot be read: retrying would fail alike.
    Drop(ChunkError),
    /// The store, the index or an escalation failed: worth a retry.
    Retry(String),
}

impl Matcher<'_> {
    fn index(&self, h: &ChunkHeader) -> Result<Arc<m::load::Indicators>, String> {
        let key = index_key(&h.collections, h.include_warninglisted);
        let slot = {
            let all = self
                .cache
                .indexes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            all.get(&key).cloned()
        };
        let lists = || {
            if h.include_warninglisted {
                return None;
            }
            match accord_app::warninglists::load(&self.config.data_dir) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(process = self.process, "match: warninglists not read: {e}");
                    None
                }
            }
        };
        let now_s = self.clock.now_micros().div_euclid(1_000_000);
        match slot {
            Some(slot) => {
                let mut ix = slot.lock().unwrap_or_else(PoisonError::into_inner);
                ix.refresh(self.store, lists, now_s)
                    .map_err(|e| format!("bringing the match index up to date: {e}"))?;
                Ok(ix.indicators())
            }
            None => {
                let file = index_file(
                    &self.config.data_dir,
                    &h.collections,
                    h.include_warninglisted,
                    self.process,
                );
                let ix = StoreIndex::load(
                    self.store,
                    &self.config.data_dir,
                    file,
                    &h.collections,
                    lists(),
                    now_s,
                )
                .map_err(|e| format!("building the match index: {e}"))?;
                let ind = ix.indicators();
                let mut all = self
                    .cache
                    .indexes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if all.len() >= MAX_INDEXES && !all.contains_key(&key) {
                    // The oldest set is dropped (rebuilt from its file when
                    // asked again).
                    if let Some(k) = all.keys().next().cloned() {
                        all.remove(&k);
                    }
                }
                all.entry(key).or_insert_with(|| Arc::new(Mutex::new(ix)));
                Ok(ind)
            }
        }
    }

    /// Matches one chunk's payload (task `id`, delivery `attempt`):
    /// escalates the facility touches and returns the report's parts.
    ///
    /// # Errors
    /// [`ChunkFailure`]: dropped or retried.
    pub fn run(
        &self,
        id: &str,
        attempt: i64,
        payload: &[u8],
    ) -> Result<Vec<ChunkReport>, ChunkFailure> {
        let (h, opts, prefix, body) = parse(payload).map_err(ChunkFailure::Drop)?;
        let Some(format) = opts.format else {
            return Err(ChunkFailure::Drop(bad("format", "none")));
        };
        let ind = self.index(&h).map_err(ChunkFailure::Retry)?;
        let now_us = self.clock.now_micros();
        let spec = ChunkSpec {
            format,
            log_options: &opts,
            prefix,
            body,
            file: 0,
            first_line: h.first_line,
            since_us: h.since_us,
        };
        let (hits, counts) = chunk::match_chunk(&ind, &spec, now_us.div_euclid(1_000_000))
            .map_err(|e| ChunkFailure::Retry(e.to_string()))?;
        // Hits on protected facilities: named in the report, escalated by
        // the command once every chunk is in (one process, so two chunks
        // cannot open two cases of one facility at once).
        let mut touches = Vec::new();
        if !hits.is_empty() {
            let reg = accord_app::facility::FacilityWatch::new()
                .registry(self.store)
                .map_err(|e| {
                    ChunkFailure::Retry(format!("reading the protected facilities: {e}"))
                })?;
            let view = ind.view().map_err(|e| ChunkFailure::Retry(e.to_string()))?;
            touches = accord_app::facility::touches_of_hits(
                &reg,
                &hits,
                std::slice::from_ref(&h.name),
                |ord| view.indicator_id_string(ord),
            )
            .iter()
            .take(MAX_TOUCHES)
            .map(TouchWire::of)
            .collect();
        }
        let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
        for hit in &hits {
            *by_kind
                .entry(hit.kind.map_or("pattern", |k| k.as_str()).to_owned())
                .or_default() += 1;
        }
        let st = chunk::load_stats(&ind);
        let report = ChunkReport {
            v: FORMAT,
            chunk: id.to_owned(),
            process: self.process.to_owned(),
            attempt,
            part: 0,
            parts: 1,
            lines: counts.lines,
            events: counts.events,
            observables: counts.observables,
            before_since: counts.before_since,
            skipped: counts
                .skipped
                .iter()
                .map(|(r, n)| (r.as_str().to_owned(), *n))
                .collect(),
            samples: counts
                .samples
                .iter()
                .take(MAX_LISTED)
                .map(|(_, l, r)| (*l, r.as_str().to_owned()))
                .collect(),
            errors: counts
                .errors
                .iter()
                .take(MAX_LISTED)
                .map(|e| cut(e, MAX_TEXT))
                .collect(),
            hits: hits.len() as u64,
            by_kind,
            touches,
            index: IndexFacts {
                indicators: st.indicators,
                keyed: st.keyed,
                evaluated: st.evaluated,
                dead: st.dead,
                warninglisted: st.warninglisted,
            },
            groups: chunk::group_hits(&hits, h.window as i64, now_us, &ind),
        };
        into_parts(report).map_err(ChunkFailure::Retry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "0f8e2d3c-1b2a-4c5d-8e9f-0a1b2c3d4e5f";

    fn template() -> ChunkHeader {
        ChunkHeader {
            v: FORMAT,
            run: RUN.into(),
            file: 0,
            name: "x".into(),
            format: "eve".into(),
            columns: None,
            csv_header: false,
            csv_delimiter: b',',
            max_line: 1 << 20,
            first_line: 1,
            prefix: 0,
            collections: vec![],
            include_warninglisted: false,
            since_us: None,
            window: 3600,
        }
    }

    #[test]
    fn zeek_chunks_carry_their_header_and_line_numbers() {
        let mut c = Chunker::new(template(), 1024, 256 * 1024).unwrap();
        c.start_file(0, "conn.log", "zeek").unwrap();
        let head = "#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\n#types\ttime\taddr\n";
        for l in head.lines() {
            c.push_line(format!("{l}\n").as_bytes());
        }
        for i in 0..100 {
            c.push_line(format!("1.0\t10.0.0.{i}\n").as_bytes());
        }
        let chunks = c.finish();
        assert!(chunks.len() > 1);
        let mut next = 1;
        for (i, ch) in chunks.iter().enumerate() {
            assert_eq!(ch.id, chunk_id(&ch.payload));
            let (h, opts, prefix, body) = parse(&ch.payload).unwrap();
            assert_eq!(h.first_line, next);
            assert!(opts.format.is_some());
            next += body.iter().filter(|&&b| b == b'\n').count() as u64;
            if i == 0 {
                assert!(prefix.is_empty());
            } else {
                let p = std::str::from_utf8(prefix).unwrap();
                assert!(p.starts_with("#separator"), "{p}");
                assert!(
                    p.contains("#fields\tts\tid.orig_h\n") && p.contains("#types"),
                    "{p}"
                );
                assert!(!p.contains("#path"), "{p}");
            }
        }
        assert_eq!(next, 105);
    }

    #[test]
    fn csv_chunks_carry_the_header_row() {
        let mut c = Chunker::new(template(), 1024, 256 * 1024).unwrap();
        c.start_file(1, "fw.csv", "csv").unwrap();
        c.push_line(b"time,src,dst\n");
        for i in 0..200 {
            c.push_line(format!("2026-01-01T00:00:00Z,10.0.0.{i},10.0.1.1\n").as_bytes());
        }
        let chunks = c.finish();
        for ch in &chunks[1..] {
            let (h, _, prefix, _) = parse(&ch.payload).unwrap();
            assert_eq!(prefix, b"time,src,dst\n");
            assert_eq!(h.file, 1);
        }
    }

    #[test]
    fn a_line_longer_than_a_chunk_is_oversize() {
        let mut c = Chunker::new(template(), 1024, 4096).unwrap();
        c.start_file(0, "eve.json", "eve").unwrap();
        c.push_line(b"{}\n");
        c.push_line(format!("{{\"a\":\"{}\"}}\n", "x".repeat(5000)).as_bytes());
        c.push_line(b"{}\n");
        let chunks = c.finish();
        assert_eq!(chunks.iter().filter(|c| c.oversize).count(), 1);
        assert_eq!(chunks.len(), 3);
    }

    #[test]
    fn crafted_headers_are_refused() {
        assert_eq!(parse(b"{}").unwrap_err(), ChunkError::NoHeader);
        assert!(matches!(
            parse(b"{\"v\":1}\n"),
            Err(ChunkError::BadHeader(_))
        ));
        let with = |f: &dyn Fn(&mut ChunkHeader)| {
            let mut h = template();
            f(&mut h);
            let mut p = serde_json::to_vec(&h).unwrap();
            p.extend_from_slice(b"\n{}\n");
            parse(&p).map(|_| ())
        };
        assert!(with(&|_| {}).is_ok());
        for (what, f) in [
            (
                "run",
                &(|h: &mut ChunkHeader| h.run = "x.>".into()) as &dyn Fn(&mut ChunkHeader),
            ),
            ("format", &|h| h.format = "auto".into()),
            ("format or columns", &|h| h.format = "nope".into()),
            ("max_line", &|h| h.max_line = 0),
            ("first_line", &|h| h.first_line = 0),
            ("prefix", &|h| h.prefix = 10),
            ("collections", &|h| h.collections = vec!["c".into(); 100]),
            ("collection", &|h| h.collections = vec!["a\u{7}".into()]),
            ("window", &|h| h.window = 0),
            ("name", &|h| h.name = String::new()),
        ] {
            match with(f) {
                Err(ChunkError::Bad { what: w, .. }) => assert_eq!(w, what),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn reports_split_into_bounded_parts_and_are_checked() {
        let groups: Vec<HitGroup> = (0..5000)
            .map(|i| HitGroup {
                indicator: format!("indicator--{i:036}"),
                producer: None,
                window: 1,
                first: 1,
                last: 2,
                count: 1,
            })
            .collect();
        let r = ChunkReport {
            v: FORMAT,
            chunk: chunk_id(b"x"),
            groups: groups.clone(),
            lines: 7,
            ..Default::default()
        };
        let parts = into_parts(r).unwrap();
        assert!(parts.len() > 1);
        let mut back = Vec::new();
        for p in &parts {
            let wire = serde_json::to_vec(p).unwrap();
            assert!(wire.len() <= MAX_PART_BYTES, "{}", wire.len());
            let p = ChunkReport::from_wire(&wire).unwrap();
            back.extend(p.groups);
        }
        assert_eq!(back, groups);
        assert_eq!(parts.iter().map(|p| p.lines).sum::<u64>(), 7);
        let mut bad_group = parts[0].clone();
        bad_group.groups[0].indicator = "malware--1".into();
        assert!(ChunkReport::from_wire(&serde_json::to_vec(&bad_group).unwrap()).is_err());
        let mut bad_part = parts[0].clone();
        bad_part.part = bad_part.parts;
        assert!(ChunkReport::from_wire(&serde_json::to_vec(&bad_part).unwrap()).is_err());
    }
}
