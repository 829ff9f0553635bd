//! Input: opening files (plain, gzip, zstd, stdin), cutting a byte stream
//! into whole lines with a length cap, and reading a whole stream into a
//! [`Summary`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::{CsvColumns, Error, Event, Format, Parser, Sink, SkipReason, detect};

/// How to read an input.
#[derive(Debug, Clone)]
pub struct Options {
    /// The format, or `None` to detect it from the first lines.
    pub format: Option<Format>,
    /// Lines longer than this are skipped without being held (default 16 MiB).
    pub max_line: usize,
    /// How much is read from the source at a time (default 1 MiB).
    pub read_size: usize,
    /// CSV delimiter (default `,`).
    pub csv_delimiter: u8,
    /// CSV column mapping; without one the first row is the header.
    pub csv_columns: Option<CsvColumns>,
    /// With a mapping: whether the first row is a header to skip.
    pub csv_header: bool,
    /// How many skipped lines the summary keeps with their line numbers.
    pub max_skip_samples: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: None,
            max_line: 16 << 20,
            read_size: 1 << 20,
            csv_delimiter: b',',
            csv_columns: None,
            csv_header: false,
            max_skip_samples: 100,
        }
    }
}

impl Options {
    pub(crate) fn parser(&self, format: Format) -> Parser {
        Parser::with_csv(
            format,
            self.csv_delimiter,
            self.csv_columns.as_ref(),
            self.csv_header,
        )
    }
}

/// A skipped line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// 1-based line number.
    pub line: u64,
    /// Why.
    pub reason: SkipReason,
}

/// What reading one input came to.
#[derive(Debug, Default)]
pub struct Summary {
    /// The input's name (a path, or `-`).
    pub file: String,
    /// The format read (`None` if the input was empty).
    pub format: Option<Format>,
    /// Lines seen (including skipped and header lines).
    pub lines: u64,
    /// Events delivered.
    pub events: u64,
    /// Observables delivered.
    pub observables: u64,
    /// Skipped lines (and reported header changes) by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// The first skipped lines, with their numbers.
    pub skip_samples: Vec<Skip>,
    /// Errors of the stream itself (a cut gzip file); reading stopped there.
    pub errors: Vec<Error>,
}

impl Summary {
    /// Total of skipped lines (not counting [`SkipReason::HeaderChanged`],
    /// which skips nothing).
    pub fn skipped_lines(&self) -> u64 {
        self.skipped
            .iter()
            .filter(|(r, _)| **r != SkipReason::HeaderChanged)
            .map(|(_, n)| n)
            .sum()
    }

    /// One line per skip sample and error: `file:line: reason`.
    pub fn report(&self) -> String {
        let mut s = String::new();
        for k in &self.skip_samples {
            s.push_str(&format!(
                "{}:{}: skipped: {}\n",
                self.file, k.line, k.reason
            ));
        }
        let shown = self.skip_samples.len() as u64;
        let total: u64 = self.skipped.values().sum();
        if total > shown {
            s.push_str(&format!(
                "{}: {} more skipped lines\n",
                self.file,
                total - shown
            ));
        }
        for e in &self.errors {
            s.push_str(&format!("{e}\n"));
        }
        s
    }
}

/// Counts what passes to the caller's sink.
struct Counting<'a> {
    inner: &'a mut dyn Sink,
    summary: &'a mut Summary,
    max_samples: usize,
}

impl Sink for Counting<'_> {
    fn event(&mut self, ev: &Event<'_>) {
        self.summary.events += 1;
        self.summary.observables += ev.observables.len() as u64;
        self.inner.event(ev);
    }

    fn skipped(&mut self, line: u64, reason: SkipReason) {
        *self.summary.skipped.entry(reason).or_default() += 1;
        if self.summary.skip_samples.len() < self.max_samples {
            self.summary.skip_samples.push(Skip { line, reason });
        }
        self.inner.skipped(line, reason);
    }
}

/// Compression of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Plain,
    Gzip,
    Zstd,
}

impl Codec {
    fn name(self) -> &'static str {
        match self {
            Codec::Plain => "plain",
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
        }
    }
}

fn codec_of(path: &Path) -> Option<Codec> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("gz" | "gzip") => Some(Codec::Gzip),
        Some("zst" | "zstd") => Some(Codec::Zstd),
        _ => None,
    }
}

fn sniff(head: &[u8]) -> Codec {
    if head.starts_with(&[0x1f, 0x8b]) {
        Codec::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Codec::Zstd
    } else {
        Codec::Plain
    }
}

/// Zstd frames one after another (as `zstd` and `cat a.zst b.zst` write
/// them), decoded with the pure-Rust `ruzstd`.
struct ZstdFrames<R: BufRead> {
    dec: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(r: R) -> io::Result<Self> {
        let dec = ruzstd::decoding::StreamingDecoder::new(r)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        Ok(ZstdFrames { dec: Some(dec) })
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(dec) = self.dec.as_mut() else {
                return Ok(0);
            };
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // End of a frame: check the frame is complete, then look for another.
            if !dec.decoder.is_finished() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "zstd frame cut short",
                ));
            }
            let mut inner = self.dec.take().map(|d| d.into_inner()).expect("decoder");
            if inner.fill_buf()?.is_empty() {
                return Ok(0);
            }
            self.dec = Some(
                ruzstd::decoding::StreamingDecoder::new(inner)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?,
            );
        }
    }
}

/// An opened input: the decoded byte stream and what decodes it.
pub struct Input {
    reader: Box<dyn Read + Send>,
    codec: Codec,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

fn wrap(r: Box<dyn Read + Send>, codec: Option<Codec>) -> io::Result<Input> {
    let mut br = BufReader::with_capacity(256 << 10, r);
    let codec = match codec {
        Some(c) => c,
        None => sniff(br.fill_buf()?),
    };
    let reader: Box<dyn Read + Send> = match codec {
        Codec::Plain => Box::new(br),
        Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(br)),
        Codec::Zstd => {
            if br.fill_buf()?.is_empty() {
                Box::new(io::empty())
            } else {
                Box::new(ZstdFrames::new(br)?)
            }
        }
    };
    Ok(Input { reader, codec })
}

/// Opens a path (`-` is stdin) and decodes it: gzip for `.gz`, zstd for
/// `.zst`; other names (and stdin) are sniffed by their magic bytes.
pub fn open(path: &Path) -> Result<Input, Error> {
    let open_err = |source| Error::Open {
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        return wrap(Box::new(io::stdin()), None).map_err(open_err);
    }
    let f = File::open(path).map_err(open_err)?;
    wrap(Box::new(f), codec_of(path)).map_err(open_err)
}

/// Cuts a byte stream into whole lines for a [`Parser`]: numbers them,
/// drops lines longer than the cap while they are read, keeps an
/// unterminated tail until more bytes come or the stream ends. The parser
/// is made on the first line (format detected then if not given).
#[derive(Debug)]
pub struct Lines {
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a newline.
    scanned: usize,
    next_line: u64,
    discarding: bool,
    parser: Option<Parser>,
    opts: Options,
}

impl Lines {
    /// Starts at line 1.
    pub fn new(opts: &Options) -> Lines {
        Lines {
            buf: Vec::new(),
            scanned: 0,
            next_line: 1,
            discarding: false,
            parser: opts.format.map(|f| opts.parser(f)),
            opts: opts.clone(),
        }
    }

    /// The number of the next line to be read.
    pub fn next_line(&self) -> u64 {
        self.next_line
    }

    /// The format, once known.
    pub fn format(&self) -> Option<Format> {
        self.parser.as_ref().map(Parser::format)
    }

    /// Makes the parser if needed, detecting the format on `buf[..sample_end]`.
    fn ensure_parser(&mut self, sample_end: usize) {
        if self.parser.is_none() {
            let end = sample_end.min(64 << 10);
            let f = detect(&self.buf[..end]);
            self.parser = Some(self.opts.parser(f));
        }
    }

    /// Reads once from `r` and passes on the whole lines. Returns the bytes
    /// read (0 at the end of the stream).
    pub fn read_from(&mut self, r: &mut dyn Read, sink: &mut dyn Sink) -> io::Result<usize> {
        let len = self.buf.len();
        self.buf.resize(len + self.opts.read_size.max(1), 0);
        let n = match r.read(&mut self.buf[len..]) {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(len);
                return Err(e);
            }
        };
        self.buf.truncate(len + n);
        if n > 0 {
            self.process(sink);
        }
        Ok(n)
    }

    /// Appends bytes and passes on the whole lines.
    pub fn feed(&mut self, data: &[u8], sink: &mut dyn Sink) {
        self.buf.extend_from_slice(data);
        self.process(sink);
    }

    fn process(&mut self, sink: &mut dyn Sink) {
        if self.discarding {
            match memchr::memchr(b'\n', &self.buf) {
                None => {
                    self.buf.clear();
                    self.scanned = 0;
                    return;
                }
                Some(p) => {
                    self.buf.drain(..=p);
                    self.scanned = 0;
                    self.discarding = false;
                    self.next_line += 1;
                }
            }
        }
        if let Some(p) = memchr::memrchr(b'\n', &self.buf[self.scanned..]) {
            let end = self.scanned + p + 1;
            self.ensure_parser(end);
            let parser = self.parser.as_mut().expect("parser");
            let n = parser.read_chunk(&self.buf[..end], self.next_line, sink);
            self.next_line += n;
            self.buf.drain(..end);
        }
        self.scanned = self.buf.len();
        if self.buf.len() > self.opts.max_line {
            sink.skipped(self.next_line, SkipReason::TooLong);
            self.discarding = true;
            self.buf.clear();
            self.buf.shrink_to(self.opts.read_size.max(1) * 2);
            self.scanned = 0;
        }
    }

    /// The stream ended: reads or skips an unterminated last line. `broken`:
    /// the stream ended in an error, so that line is cut.
    pub fn finish(&mut self, broken: bool, sink: &mut dyn Sink) {
        if self.discarding {
            self.discarding = false;
            self.next_line += 1;
        } else if !self.buf.is_empty() {
            self.ensure_parser(self.buf.len());
            let p = self.parser.as_mut().expect("parser");
            if broken || (!p.format().reads_unterminated_line() && !self.buf.starts_with(b"#")) {
                sink.skipped(self.next_line, SkipReason::Truncated);
                self.next_line += 1;
            } else {
                self.next_line += p.read_chunk(&self.buf, self.next_line, sink);
            }
        }
        self.buf.clear();
        self.scanned = 0;
    }

    /// Drops any partial line and header state and starts again at line 1
    /// (a new or truncated file).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.scanned = 0;
        self.next_line = 1;
        self.discarding = false;
        self.parser = self.opts.format.map(|f| self.opts.parser(f));
    }
}

/// Reads a whole stream.
pub fn read_stream(name: &str, r: &mut dyn Read, opts: &Options, sink: &mut dyn Sink) -> Summary {
    read_input(name, r, "plain", opts, sink)
}

fn read_input(
    name: &str,
    r: &mut dyn Read,
    codec: &'static str,
    opts: &Options,
    sink: &mut dyn Sink,
) -> Summary {
    let mut summary = Summary {
        file: name.to_string(),
        ..Summary::default()
    };
    let mut lines = Lines::new(opts);
    let mut counting = Counting {
        inner: sink,
        summary: &mut summary,
        max_samples: opts.max_skip_samples,
    };
    let mut broken = None;
    loop {
        match lines.read_from(r, &mut counting) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                broken = Some(e);
                break;
            }
        }
    }
    let broken_line = lines.next_line();
    lines.finish(broken.is_some(), &mut counting);
    summary.lines = lines.next_line() - 1;
    summary.format = lines.format();
    if let Some(source) = broken {
        let file = name.to_string();
        let line = broken_line;
        summary.errors.push(if codec == "plain" {
            Error::Read { file, line, source }
        } else {
            Error::Decompress {
                file,
                line,
                codec,
                source,
            }
        });
    }
    summary
}

/// Opens and reads a path (`-` is stdin). Only a failure to open is an
/// error; what goes wrong inside is in the summary.
pub fn read_path(path: &Path, opts: &Options, sink: &mut dyn Sink) -> Result<Summary, Error> {
    let mut input = open(path)?;
    let codec = input.codec.name();
    let name = path.display().to_string();
    Ok(read_input(&name, &mut input, codec, opts, sink))
}
