//! Matching events against the index and the evaluator patterns: the
//! per-event sink, and reading files in parallel chunks or as a stream.

use super::observed::observed_data;
use crate::Progress;
use crate::sighting::{self, Hit};
use accord_logs::{Event, Format, Kind, Parser, Sink, SkipReason};
use accord_pattern::{Observations, Pattern, StixVersion};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Shared, read-only state of the matching workers.
pub(crate) struct Ctx<'a> {
    pub(crate) view: super::layers::Layers<'a>,
    pub(crate) evaluator: &'a [(u32, Pattern)],
    pub(crate) now_s: i64,
    pub(crate) since_us: Option<i64>,
    pub(crate) evidence: bool,
}

/// Per-worker counts.
#[derive(Default)]
pub struct Counts {
    /// Lines read.
    pub lines: u64,
    /// Events read.
    pub events: u64,
    /// Observables looked up.
    pub observables: u64,
    /// Events before `since`, ignored.
    pub before_since: u64,
    /// Lines skipped, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Some skipped lines: (file, line, reason).
    pub samples: Vec<(u32, u64, SkipReason)>,
    /// Read errors.
    pub errors: Vec<String>,
}

/// Skipped lines shown per file.
pub const MAX_SAMPLES: usize = 5;

impl Counts {
    /// Adds `o`'s counts (samples and errors bounded).
    pub fn merge(&mut self, o: Counts) {
        self.lines += o.lines;
        self.events += o.events;
        self.observables += o.observables;
        self.before_since += o.before_since;
        for (r, n) in o.skipped {
            *self.skipped.entry(r).or_default() += n;
        }
        // Bounded (follow mode merges a sink per poll).
        let room = 1000usize.saturating_sub(self.samples.len());
        self.samples.extend(o.samples.into_iter().take(room));
        let room = 1000usize.saturating_sub(self.errors.len());
        self.errors.extend(o.errors.into_iter().take(room));
    }
}

pub(crate) struct MatchSink<'c, 'a> {
    ctx: &'c Ctx<'a>,
    file: u32,
    scratch: Vec<u32>,
    pub(crate) hits: Vec<Hit>,
    pub(crate) c: Counts,
}

impl<'c, 'a> MatchSink<'c, 'a> {
    pub(crate) fn new(ctx: &'c Ctx<'a>, file: u32) -> Self {
        MatchSink {
            ctx,
            file,
            scratch: Vec::new(),
            hits: Vec::new(),
            c: Counts::default(),
        }
    }

    fn evidence(ev: &Event<'_>) -> sighting::Evidence {
        ev.observables
            .iter()
            .map(|o| {
                (
                    o.field.into(),
                    o.kind,
                    String::from_utf8_lossy(o.value).into(),
                )
            })
            .collect()
    }

    fn evaluate(&mut self, ev: &Event<'_>) {
        let objects = observed_data(ev);
        let Ok(obs) = Observations::new(&objects, StixVersion::V21) else {
            return;
        };
        for (ord, p) in self.ctx.evaluator {
            if !self.ctx.view.is_live(*ord, self.ctx.now_s) {
                continue;
            }
            if p.matches(&obs).is_ok_and(|r| r.matched) {
                let first = ev.observables.first();
                self.hits.push(Hit {
                    file: self.file,
                    line: ev.line,
                    ord: *ord,
                    kind: None,
                    field: first.map_or("", |o| o.field).into(),
                    value: first
                        .map_or(Cow::Borrowed(""), |o| String::from_utf8_lossy(o.value))
                        .into(),
                    time: ev.time,
                    evidence: self.ctx.evidence.then(|| Self::evidence(ev)),
                });
            }
        }
    }
}

impl Sink for MatchSink<'_, '_> {
    fn event(&mut self, ev: &Event<'_>) {
        self.c.events += 1;
        if let (Some(s), Some(t)) = (self.ctx.since_us, ev.time)
            && t < s
        {
            self.c.before_since += 1;
            return;
        }
        self.c.observables += ev.observables.len() as u64;
        let view = &self.ctx.view;
        for o in ev.observables {
            self.scratch.clear();
            let n = match o.kind {
                Kind::Ip => match parse_ip(o.value) {
                    Some(ip) => view.lookup_ip(ip, &mut self.scratch),
                    None => 0,
                },
                Kind::Domain => view.lookup_domain(o.value, &mut self.scratch),
                Kind::Url => view.lookup_url(o.value, &mut self.scratch),
                Kind::Email => view.lookup_email(o.value, &mut self.scratch),
                Kind::Hash => view.lookup_hash(o.value, &mut self.scratch),
                Kind::Text => 0,
            };
            if n == 0 {
                continue;
            }
            for i in 0..self.scratch.len() {
                let ord = self.scratch[i];
                if !view.is_live(ord, self.ctx.now_s) {
                    continue;
                }
                self.hits.push(Hit {
                    file: self.file,
                    line: ev.line,
                    ord,
                    kind: Some(o.kind),
                    field: o.field.into(),
                    value: String::from_utf8_lossy(o.value).into(),
                    time: ev.time,
                    evidence: self.ctx.evidence.then(|| Self::evidence(ev)),
                });
            }
        }
        if !self.ctx.evaluator.is_empty() && !ev.observables.is_empty() {
            self.evaluate(ev);
        }
    }

    fn skipped(&mut self, line: u64, reason: SkipReason) {
        *self.c.skipped.entry(reason).or_default() += 1;
        if self.c.samples.len() < MAX_SAMPLES {
            self.c.samples.push((self.file, line, reason));
        }
    }
}

/// Dotted-quad IPv4 without going through `str` (the common case), else
/// the standard parser (IPv6).
#[inline]
fn parse_ip(b: &[u8]) -> Option<std::net::IpAddr> {
    let slow = || std::str::from_utf8(b).ok()?.parse().ok();
    let mut a = 0u32;
    let mut part = 0u32;
    let mut digits = 0;
    let mut dots = 0;
    for &c in b {
        match c {
            // No leading zeros and at most 255, as the standard parser.
            b'0'..=b'9' if !(digits == 1 && part == 0) && digits < 3 => {
                part = part * 10 + u32::from(c - b'0');
                digits += 1;
            }
            b'.' if digits > 0 && dots < 3 && part <= 255 => {
                a = a << 8 | part;
                part = 0;
                digits = 0;
                dots += 1;
            }
            _ => return slow(),
        }
    }
    if dots == 3 && digits > 0 && part <= 255 {
        Some(std::net::IpAddr::V4((a << 8 | part).into()))
    } else {
        slow()
    }
}

/// Reads `bytes` with `p`, skipping (as [`SkipReason::TooLong`]) lines
/// longer than `max_line`. Returns the number of lines.
pub(crate) fn read_guarded(
    p: &mut Parser,
    bytes: &[u8],
    first_line: u64,
    max_line: usize,
    sink: &mut dyn Sink,
) -> u64 {
    if bytes.len() <= max_line {
        return p.read_chunk(bytes, first_line, sink);
    }
    let mut lines = 0;
    let mut run_start = 0;
    let mut line_start = 0;
    let mut run_line = first_line;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for (line_no, e) in (first_line..).zip(ends) {
        if line_start >= bytes.len() {
            break;
        }
        if e - line_start > max_line {
            if run_start < line_start {
                lines += p.read_chunk(&bytes[run_start..line_start], run_line, sink);
            }
            sink.skipped(line_no, SkipReason::TooLong);
            lines += 1;
            run_start = (e + 1).min(bytes.len());
            run_line = line_no + 1;
        }
        line_start = e + 1;
    }
    if run_start < bytes.len() {
        lines += p.read_chunk(&bytes[run_start..], run_line, sink);
    }
    lines
}

pub(crate) struct Job<'a> {
    pub(crate) format: Option<Format>,
    pub(crate) opts: &'a accord_logs::Options,
    pub(crate) threads: usize,
    pub(crate) bar: &'a dyn Progress,
}

/// A memory-mapped plain file, in parallel chunks.
pub(crate) fn match_bytes(
    ctx: &Ctx<'_>,
    file: u32,
    bytes: &[u8],
    job: &Job<'_>,
) -> (Vec<Hit>, Counts) {
    let format = job
        .format
        .unwrap_or_else(|| accord_logs::detect(&bytes[..bytes.len().min(64 << 10)]));
    // An unterminated last line of a Zeek TSV log may be cut mid-column.
    let mut tail_cut = false;
    let mut body = bytes;
    if !bytes.is_empty() && !bytes.ends_with(b"\n") && !format.reads_unterminated_line() {
        let start = memchr::memrchr(b'\n', bytes).map_or(0, |p| p + 1);
        if !bytes[start..].starts_with(b"#") {
            body = &bytes[..start];
            tail_cut = true;
        }
    }
    let base = Parser::with_csv(
        format,
        job.opts.csv_delimiter,
        job.opts.csv_columns.as_ref(),
        job.opts.csv_header,
    );
    let target = (body.len() / (job.threads * 16).max(1)).clamp(256 << 10, 8 << 20);
    // Cut at newlines without counting lines first (a serial pass): each
    // chunk is read as if it started at line 1, and its hits and skips are
    // renumbered once every chunk's line count is known.
    let chunks = cut(body, target);
    let workers = job.threads.min(chunks.len()).max(1);
    // One worker reads the chunks in order with one parser, which carries
    // the header state (Zeek `#` lines, the CSV header) from chunk to chunk:
    // no separate pass over the file for it.
    let parsers = if workers > 1 {
        base.chunk_parsers(body, &chunks)
    } else {
        Vec::new()
    };
    let next = AtomicUsize::new(0);
    let max_line = job.opts.max_line;
    type Done = (usize, std::ops::Range<usize>, std::ops::Range<usize>, u64);
    let results: Vec<(Vec<Hit>, Counts, Vec<Done>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut sink = MatchSink::new(ctx, file);
                    let mut done: Vec<Done> = Vec::new();
                    let mut carried = base.clone();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(ch) = chunks.get(i) else { break };
                        let mut own;
                        let p = if workers == 1 {
                            &mut carried
                        } else {
                            own = parsers[i].clone();
                            &mut own
                        };
                        let piece = &body[ch.range.clone()];
                        let (h0, s0) = (sink.hits.len(), sink.c.samples.len());
                        let n = read_guarded(p, piece, 1, max_line, &mut sink);
                        sink.c.lines += n;
                        done.push((i, h0..sink.hits.len(), s0..sink.c.samples.len(), n));
                        job.bar.inc(piece.len() as u64);
                    }
                    (sink.hits, sink.c, done)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|w| w.join().expect("matching worker panicked"))
            .collect()
    });
    // Line offset of each chunk.
    let mut lines_in = vec![0u64; chunks.len()];
    for (_, _, done) in &results {
        for (i, _, _, n) in done {
            lines_in[*i] = *n;
        }
    }
    let mut offset = Vec::with_capacity(chunks.len());
    let mut total = 0u64;
    for n in &lines_in {
        offset.push(total);
        total += n;
    }
    let mut hits = Vec::new();
    let mut counts = Counts::default();
    for (mut h, mut c, done) in results {
        for (i, hr, sr, _) in done {
            for hit in &mut h[hr] {
                hit.line += offset[i];
            }
            for smp in &mut c.samples[sr] {
                smp.1 += offset[i];
            }
        }
        hits.extend(h);
        counts.merge(c);
    }
    if tail_cut {
        counts.lines += 1;
        *counts.skipped.entry(SkipReason::Truncated).or_default() += 1;
        counts
            .samples
            .push((file, total + 1, SkipReason::Truncated));
        job.bar.inc((bytes.len() - body.len()) as u64);
    }
    (hits, counts)
}

/// Cuts `bytes` into chunks of about `target` bytes ending at newlines
/// (`first_line` left at 1: see [`match_bytes`]).
fn cut(bytes: &[u8], target: usize) -> Vec<accord_logs::Chunk> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let want = (start + target.max(1)).min(bytes.len());
        let end = if want == bytes.len() {
            bytes.len()
        } else {
            memchr::memchr(b'\n', &bytes[want..]).map_or(bytes.len(), |p| want + p + 1)
        };
        out.push(accord_logs::Chunk {
            range: start..end,
            first_line: 1,
        });
        start = end;
    }
    out
}

/// A stream (compressed file, stdin, pipe): read sequentially.
pub(crate) fn match_stream(
    ctx: &Ctx<'_>,
    file: u32,
    path: &Path,
    job: &Job<'_>,
) -> (Vec<Hit>, Counts) {
    let mut sink = MatchSink::new(ctx, file);
    match accord_logs::read_path(path, job.opts, &mut sink) {
        Ok(sum) => {
            sink.c.lines = sum.lines;
            sink.c
                .errors
                .extend(sum.errors.iter().map(|e| e.to_string()));
        }
        // The reader's errors name the file already; only a mapping
        // error does not.
        Err(e @ accord_logs::Error::Columns { .. }) => {
            sink.c.errors.push(format!("{}: {e}", path.display()));
        }
        Err(e) => sink.c.errors.push(e.to_string()),
    }
    if let Ok(m) = std::fs::metadata(path) {
        job.bar.inc(m.len());
    }
    (sink.hits, sink.c)
}

pub(crate) fn is_plain_file(p: &Path) -> bool {
    if p.as_os_str() == "-" {
        return false;
    }
    let ext = p.extension().and_then(|e| e.to_str());
    if matches!(ext, Some("gz" | "gzip" | "zst" | "zstd")) {
        return false;
    }
    let Ok(m) = std::fs::metadata(p) else {
        return false;
    };
    if !m.is_file() || m.len() == 0 {
        return false;
    }
    // Compressed content under another name: sniff.
    let mut head = [0u8; 4];
    let n = std::fs::File::open(p)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    !(head[..n].starts_with(&[0x1f, 0x8b]) || head[..n].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_ip_agrees_with_std() {
        for s in [
            "1.2.3.4",
            "255.255.255.255",
            "0.0.0.0",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "::1",
            "fe80::1",
            "1.2.3.4 ",
            "",
            "1234.1.1.1",
            "10.0.0.01",
            "2001:db8::1.2.3.4",
        ] {
            assert_eq!(super::parse_ip(s.as_bytes()), s.parse().ok(), "{s}");
        }
    }
}
