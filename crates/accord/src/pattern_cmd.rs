//! `accord pattern`: check, match and compile STIX patterns.

use std::io::{BufWriter, Read as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use accord_pattern::{
    Compiled, Json, JsonNode, Observations, Pattern, StixVersion, compile, parse,
};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Work with STIX patterns: check their syntax, match them against
/// observed data, see what the line-rate matcher can index.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    Check(CheckArgs),
    Match(MatchArgs),
    Compile(CompileArgs),
}

/// Check that patterns are valid STIX 2.1 patterns.
///
/// Exit status 0 when every pattern is valid; otherwise each invalid one is
/// printed with a caret under the problem and the status is 1.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord pattern check \"[ipv4-addr:value = '198.51.100.7']\"\n  \
    accord pattern check \"[file:name = 'invoice.exe'] WITHIN 300 SECONDS\"\n  \
    accord pattern check \"[url:value LIKE 'http://%.example/%']\" \"[email-addr:value = 'a@b.example']\"")]
struct CheckArgs {
    /// Patterns to check (quote each one for the shell).
    #[arg(required = true)]
    patterns: Vec<String>,
}

/// Match a pattern against observed data.
///
/// With --pattern: reads STIX from FILEs (bundles, JSON arrays or single
/// objects; SCOs may sit in any of the files), prints `true` and the ids of
/// the matching observed-data, or `false`. Exit status 0 on a match, 1 on
/// none, 2 on an error.
///
/// With --batch: one JSON object a line, `{"pattern": "…", "observed":
/// [objects], "stix_version": "2.1"}` (`stix_version` optional); prints one
/// line per case, `{"match": true|false}` or `{"error": "…"}`.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord pattern match --pattern \"[ipv4-addr:value = '198.51.100.7']\" data/demo/observed.json\n  \
    accord pattern match --batch data/demo/pattern-cases.jsonl > results.jsonl")]
struct MatchArgs {
    /// The pattern to evaluate.
    #[arg(long, conflicts_with = "batch", required_unless_present = "batch")]
    pattern: Option<String>,
    /// JSON-lines file of cases (`-` for standard input).
    #[arg(long)]
    batch: Option<PathBuf>,
    /// Observed-data form: 2.1 (`object_refs` to SCOs) or 2.0 (embedded
    /// `objects`); detected from the data when absent.
    #[arg(long, value_parser = ["2.0", "2.1"])]
    stix_version: Option<String>,
    /// With --batch: time each case (finding and reading its JSON line,
    /// parsing and preparing the pattern, reading the observations,
    /// matching) by the wall clock and by the CPU time of the thread that
    /// answered it, and print the totals, the means and the slowest case
    /// to standard error.
    #[arg(long, requires = "batch")]
    timings: bool,
    /// Files holding observed-data and SCOs.
    files: Vec<PathBuf>,
}

/// Show what the line-rate matcher indexes for each pattern: its keys, or
/// why the pattern needs the evaluator.
#[derive(clap::Args)]
#[command(after_long_help = "Example:\n  \
    accord pattern compile \"[domain-name:value = 'evil.example' OR ipv4-addr:value = '203.0.113.7']\"")]
struct CompileArgs {
    #[arg(required = true)]
    patterns: Vec<String>,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    match &args.command {
        Sub::Check(a) => Ok(check(a)),
        Sub::Match(a) => match &a.batch {
            Some(path) => batch(path, a.stix_version.as_deref(), a.timings),
            None => match_files(a),
        },
        Sub::Compile(a) => compile_cmd(a),
    }
}

fn check(a: &CheckArgs) -> ExitCode {
    let mut bad = 0;
    for p in &a.patterns {
        if let Err(e) = accord_pattern::parse_strict(p).and_then(|ast| {
            Pattern::from_ast(ast)
                .map(|_| ())
                .map_err(|m| accord_pattern::ParseError::new(0, m))
        }) {
            bad += 1;
            println!("invalid pattern:\n{}\n", e.render(p));
        }
    }
    if bad == 0 {
        println!(
            "{} valid pattern{}",
            a.patterns.len(),
            if a.patterns.len() == 1 { "" } else { "s" }
        );
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn version_of<J: JsonNode>(objects: &[J], explicit: Option<&str>) -> StixVersion {
    match explicit {
        Some("2.0") => StixVersion::V20,
        Some(_) => StixVersion::V21,
        None => {
            let embedded = objects.iter().any(|o| {
                let accord_pattern::View::Object(m) = o.view() else {
                    return false;
                };
                J::get(m, "type").and_then(J::as_str) == Some("observed-data")
                    && J::get(m, "objects").is_some()
                    && J::get(m, "object_refs").is_none()
            });
            if embedded {
                StixVersion::V20
            } else {
                StixVersion::V21
            }
        }
    }
}

fn match_files(a: &MatchArgs) -> Result<ExitCode> {
    let src = a.pattern.as_deref().unwrap_or_default();
    let pattern =
        Pattern::new(src).map_err(|e| anyhow::anyhow!("invalid pattern:\n{}", e.render(src)))?;
    if a.files.is_empty() {
        bail!("no files of observed data given");
    }
    let mut objects = Vec::new();
    for f in &a.files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let v: Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", f.display()))?;
        match v {
            Value::Array(items) => objects.extend(items),
            Value::Object(ref m) if m.get("type").and_then(Value::as_str) == Some("bundle") => {
                match v {
                    Value::Object(mut m) => match m.remove("objects") {
                        Some(Value::Array(items)) => objects.extend(items),
                        _ => bail!("{}: bundle has no objects", f.display()),
                    },
                    _ => unreachable!(),
                }
            }
            Value::Object(_) => objects.push(v),
            _ => bail!("{}: expected a bundle, an array or an object", f.display()),
        }
    }
    let version = version_of(&objects, a.stix_version.as_deref());
    let obs = Observations::new(&objects, version).context("reading observed data")?;
    let r = pattern.matches(&obs).context("matching")?;
    println!("{}", r.matched);
    for i in &r.observations {
        println!("{}", obs.id(*i).unwrap_or("(observed-data without id)"));
    }
    Ok(if r.matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One batch case: `Ok(bool)` or an error message.
fn run_case(line: &str, default_version: Option<&str>) -> std::result::Result<bool, String> {
    // The light tree: strings borrowed from the line, no hashing (the
    // same acceptance, tree and errors as `serde_json::from_str`).
    let case = Json::parse(line).map_err(|e| format!("case is not JSON: {e}"))?;
    let src = case
        .get("pattern")
        .and_then(Json::as_str)
        .ok_or("case has no \"pattern\" string")?;
    let Some(Json::Array(objects)) = case.get("observed") else {
        return Err("case has no \"observed\" list".into());
    };
    let explicit = case
        .get("stix_version")
        .and_then(Json::as_str)
        .or(default_version);
    let version = version_of(objects, explicit.or(Some("2.1")));
    let pattern = match version {
        StixVersion::V20 => Pattern::new_v20(src),
        StixVersion::V21 => Pattern::new(src),
    }
    .map_err(|e| format!("invalid pattern: {e}"))?;
    let obs = Observations::new(objects, version).map_err(|e| e.to_string())?;
    pattern
        .matches(&obs)
        .map(|r| r.matched)
        .map_err(|e| e.to_string())
}

/// Bytes of input read at a time by `--batch` (whole lines: more when a
/// line is longer): the unit of work handed to a thread.
const BLOCK_BYTES: usize = 64 << 10;
/// Blocks read ahead of the answers written, per thread: memory stays
/// bounded (about `BLOCK_BYTES` times this, plus the longest line) however
/// long the batch.
const BLOCKS_PER_THREAD: usize = 4;
/// Threads at most (the machine's cores decide below that).
const MAX_THREADS: usize = 4;
/// A batch that fits in its first block with fewer lines than this is
/// answered on the main thread (starting threads costs more).
const PARALLEL_MIN_LINES: usize = 32;

/// Whole lines of a batch, read together.
struct Block {
    /// Position in the batch (answers are written in this order).
    seq: usize,
    text: Vec<u8>,
}

/// What reading the next block found.
enum Read {
    Block(Block),
    /// Reading failed after the blocks before (the bytes of the line it
    /// was in are not answered, as with `read_line`).
    Failed(std::io::Error),
    End,
}

/// Reads a batch a block at a time: large reads, cut after the last line
/// end (the rest starts the next block).
struct Blocks {
    input: Box<dyn std::io::Read>,
    seq: usize,
    /// Bytes read past the last line end of the block before.
    carry: Vec<u8>,
    /// Buffers of blocks answered, to read into again (fresh memory costs
    /// a page fault a page).
    spare: Vec<Vec<u8>>,
    /// A read error, reported after the block of the lines before it.
    failed: Option<std::io::Error>,
    done: bool,
}

impl Blocks {
    fn new(input: Box<dyn std::io::Read>) -> Blocks {
        Blocks {
            input,
            seq: 0,
            carry: Vec::new(),
            spare: Vec::new(),
            failed: None,
            done: false,
        }
    }

    /// Takes back the buffer of a block answered.
    fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < MAX_THREADS * BLOCKS_PER_THREAD && buf.capacity() <= 4 * BLOCK_BYTES {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// The next block: whole lines, [`BLOCK_BYTES`] or more when a line
    /// is longer (a line is never split), or what stopped the reading.
    fn next(&mut self) -> Read {
        if let Some(e) = self.failed.take() {
            return Read::Failed(e);
        }
        if self.done {
            return Read::End;
        }
        // What is carried holds no line end.
        let mut scanned = self.carry.len();
        let mut text = self.spare.pop().unwrap_or_default();
        text.extend_from_slice(&self.carry);
        self.carry.clear();
        let cut = loop {
            if text.len() >= BLOCK_BYTES {
                if let Some(i) = memchr::memrchr(b'\n', &text[scanned..]) {
                    break scanned + i + 1;
                }
                scanned = text.len();
            }
            // Up to a block; past it (a long line), half as much again.
            let want = if text.len() < BLOCK_BYTES {
                BLOCK_BYTES - text.len()
            } else {
                text.len() / 2
            };
            text.reserve(want);
            match (&mut self.input).take(want as u64).read_to_end(&mut text) {
                Ok(got) if got < want => {
                    self.done = true;
                    break text.len();
                }
                Ok(_) => {}
                Err(e) => {
                    // The whole lines before the error are answered.
                    self.done = true;
                    self.failed = Some(e);
                    let end = memchr::memrchr(b'\n', &text).map_or(0, |i| i + 1);
                    text.truncate(end);
                    break end;
                }
            }
        };
        if cut < text.len() {
            self.carry.extend_from_slice(&text[cut..]);
            text.truncate(cut);
        }
        if text.is_empty() {
            return self.next();
        }
        self.seq += 1;
        Read::Block(Block {
            seq: self.seq - 1,
            text,
        })
    }
}

/// The answers to a block.
struct Answers {
    seq: usize,
    /// The block's buffer, to read into again.
    text: Vec<u8>,
    out: Vec<u8>,
    /// Lines in the block (the line numbers below count from its start).
    lines: usize,
    clock: CaseTimes,
    /// A line that is not UTF-8 (its number): the batch stops there,
    /// after the answers before it.
    bad_line: Option<usize>,
}

/// Answers the cases of a block, in order (per-case times on this thread).
fn answer_block(block: Block, version: Option<&str>, timings: bool) -> Answers {
    let mut a = Answers {
        seq: block.seq,
        text: Vec::new(),
        out: Vec::with_capacity(block.text.len() / 64),
        lines: 0,
        clock: CaseTimes::default(),
        bad_line: None,
    };
    // The clocks, read once between cases: a case's time runs from the end
    // of the one before (its line found, blank lines passed) to its answer.
    let clocks = || (std::time::Instant::now(), thread_cpu());
    let mut last = timings.then(clocks);
    let mut rest = &block.text[..];
    while !rest.is_empty() {
        let (raw, after) = match memchr::memchr(b'\n', rest) {
            Some(i) => rest.split_at(i + 1),
            None => (rest, &rest[rest.len()..]),
        };
        rest = after;
        a.lines += 1;
        // As `read_line`: the line, its `\n` included, must be UTF-8.
        let Ok(text) = std::str::from_utf8(raw) else {
            a.bad_line = Some(a.lines);
            break;
        };
        // As `lines()`: the `\n` or `\r\n` ending off.
        let line = match text.strip_suffix('\n') {
            Some(l) => l.strip_suffix('\r').unwrap_or(l),
            None => text,
        };
        if line.trim().is_empty() {
            continue;
        }
        let r = run_case(line, version);
        if let Some((wall, cpu)) = last {
            let now = clocks();
            a.clock.add(
                now.0.duration_since(wall),
                now.1.saturating_sub(cpu),
                a.lines,
            );
            last = Some(now);
        }
        match r {
            Ok(true) => a.out.extend_from_slice(b"{\"match\":true}\n"),
            Ok(false) => a.out.extend_from_slice(b"{\"match\":false}\n"),
            Err(e) => {
                // Writing to a vector does not fail.
                let _ = writeln!(a.out, "{}", json!({ "error": e }));
            }
        }
    }
    a.text = block.text;
    a
}

/// Writes the answers of blocks in the input's order, keeping those that
/// come early.
struct Writer<'p, W: Write> {
    out: W,
    path: &'p std::path::Path,
    next: usize,
    early: std::collections::BTreeMap<usize, Answers>,
    /// Lines of the blocks written.
    lines: usize,
    clock: CaseTimes,
}

impl<W: Write> Writer<'_, W> {
    /// Takes a block's answers; writes every block now due.
    fn take(&mut self, a: Answers) -> Result<()> {
        self.early.insert(a.seq, a);
        while let Some(a) = self.early.remove(&self.next) {
            self.next += 1;
            self.out.write_all(&a.out)?;
            self.clock.merge(&a.clock, self.lines);
            if let Some(line) = a.bad_line {
                // `read_line`'s error for a line that is not UTF-8.
                let e = std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                );
                return Err(e).with_context(|| {
                    format!("reading {} line {}", self.path.display(), self.lines + line)
                });
            }
            self.lines += a.lines;
        }
        Ok(())
    }

    /// The error of a failed read, after every block before it is written.
    fn failed<T>(&mut self, e: std::io::Error) -> Result<T> {
        self.out.flush()?;
        Err(e).with_context(|| format!("reading {} line {}", self.path.display(), self.lines + 1))
    }
}

fn batch(path: &PathBuf, version: Option<&str>, timings: bool) -> Result<ExitCode> {
    let input: Box<dyn std::io::Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(MAX_THREADS);
    let stdout = std::io::stdout();
    let clock = answer_batch(
        input,
        BufWriter::new(stdout.lock()),
        path,
        Options {
            version,
            timings,
            threads,
        },
    )?;
    if timings {
        eprintln!("{}", clock.summary());
    }
    Ok(ExitCode::SUCCESS)
}

/// How a batch is answered.
#[derive(Clone, Copy)]
struct Options<'a> {
    /// `--stix-version`.
    version: Option<&'a str>,
    /// `--timings`.
    timings: bool,
    /// Threads at most.
    threads: usize,
}

/// Answers the batch read from `input` onto `out` (one line a case, in
/// the input's order); the per-case times when `timings`.
fn answer_batch<W: Write>(
    input: Box<dyn std::io::Read>,
    out: W,
    path: &std::path::Path,
    o: Options<'_>,
) -> Result<CaseTimes> {
    let Options {
        version,
        timings,
        threads,
    } = o;
    let mut blocks = Blocks::new(input);
    let mut w = Writer {
        out,
        path,
        next: 0,
        early: std::collections::BTreeMap::new(),
        lines: 0,
        clock: CaseTimes::default(),
    };
    let first = blocks.next();
    let small = match &first {
        Read::Block(b) => {
            blocks.done && memchr::memchr_iter(b'\n', &b.text).count() < PARALLEL_MIN_LINES
        }
        _ => true,
    };
    if threads < 2 || small {
        // One thread: each block answered as it is read.
        let mut next = first;
        loop {
            match next {
                Read::Block(b) => {
                    let mut a = answer_block(b, version, timings);
                    blocks.recycle(std::mem::take(&mut a.text));
                    w.take(a)?;
                }
                Read::Failed(e) => return w.failed(e),
                Read::End => break,
            }
            next = blocks.next();
        }
    } else {
        // Blocks go to the threads as they are read, this one answering
        // some too; the answers come back in any order and are written in
        // the input's.
        let (job_tx, job_rx) = crossbeam_channel::unbounded::<Block>();
        // A thread that panics sends its panic, raised again here (the
        // other threads would otherwise wait for its answers for ever).
        let (done_tx, done_rx) = crossbeam_channel::unbounded::<std::thread::Result<Answers>>();
        let failed = std::thread::scope(|s| -> Result<Option<std::io::Error>> {
            for _ in 1..threads {
                let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
                s.spawn(move || {
                    for b in job_rx {
                        let a = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            answer_block(b, version, timings)
                        }));
                        if done_tx.send(a).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut in_flight = 0;
            let mut next = Some(first);
            let mut failed = None;
            loop {
                while failed.is_none() && in_flight < threads * BLOCKS_PER_THREAD {
                    match next.take().unwrap_or_else(|| blocks.next()) {
                        Read::Block(b) => {
                            in_flight += 1;
                            // The threads hold the receiver until `job_tx`
                            // is dropped.
                            let _ = job_tx.send(b);
                        }
                        Read::Failed(e) => failed = Some(e),
                        Read::End => break,
                    }
                }
                if in_flight == 0 {
                    break;
                }
                // The answers ready, else a block to answer here, else
                // wait for an answer.
                let mut a = match done_rx.try_recv() {
                    Ok(a) => a,
                    Err(_) => match job_rx.try_recv() {
                        Ok(b) => Ok(answer_block(b, version, timings)),
                        Err(_) => match done_rx.recv() {
                            Ok(a) => a,
                            Err(_) => break,
                        },
                    },
                }
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                in_flight -= 1;
                blocks.recycle(std::mem::take(&mut a.text));
                // On an error the threads finish the blocks they were
                // given and stop: `job_tx` goes when this closure returns.
                w.take(a)?;
            }
            drop(job_tx);
            Ok(failed)
        })?;
        if let Some(e) = failed {
            return w.failed(e);
        }
    }
    w.out.flush()?;
    Ok(w.clock)
}

/// This thread's CPU time (user + system): unlike the wall clock, it does
/// not count the time the thread waits for a core on a shared machine.
fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Per-case times of a batch (`--timings`): wall clock and this thread's
/// CPU time.
#[derive(Default)]
struct CaseTimes {
    cases: u64,
    wall: std::time::Duration,
    cpu: std::time::Duration,
    slowest_wall: (std::time::Duration, usize),
    slowest_cpu: (std::time::Duration, usize),
}

impl CaseTimes {
    fn add(&mut self, wall: std::time::Duration, cpu: std::time::Duration, line: usize) {
        self.cases += 1;
        self.wall += wall;
        self.cpu += cpu;
        if wall > self.slowest_wall.0 {
            self.slowest_wall = (wall, line);
        }
        if cpu > self.slowest_cpu.0 {
            self.slowest_cpu = (cpu, line);
        }
    }

    /// Adds the times of later cases, their line numbers counted after
    /// `lines` (the earlier slowest case wins ties).
    fn merge(&mut self, o: &CaseTimes, lines: usize) {
        self.cases += o.cases;
        self.wall += o.wall;
        self.cpu += o.cpu;
        if o.slowest_wall.0 > self.slowest_wall.0 {
            self.slowest_wall = (o.slowest_wall.0, lines + o.slowest_wall.1);
        }
        if o.slowest_cpu.0 > self.slowest_cpu.0 {
            self.slowest_cpu = (o.slowest_cpu.0, lines + o.slowest_cpu.1);
        }
    }

    fn summary(&self) -> String {
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
        let mean = |d: std::time::Duration| {
            if self.cases == 0 {
                0.0
            } else {
                us(d) / self.cases as f64
            }
        };
        format!(
            "timings: {} cases; wall {:.1} ms in cases, mean {:.1} us, slowest {:.1} us (line {}); \
             CPU {:.1} ms in cases, mean {:.1} us, slowest {:.1} us (line {})",
            self.cases,
            us(self.wall) / 1e3,
            mean(self.wall),
            us(self.slowest_wall.0),
            self.slowest_wall.1,
            us(self.cpu) / 1e3,
            mean(self.cpu),
            us(self.slowest_cpu.0),
            self.slowest_cpu.1,
        )
    }
}

fn compile_cmd(a: &CompileArgs) -> Result<ExitCode> {
    let mut bad = false;
    for p in &a.patterns {
        match parse(p) {
            Err(e) => {
                bad = true;
                println!("invalid pattern:\n{}\n", e.render(p));
            }
            Ok(ast) => match compile(&ast) {
                Compiled::Keys(keys) => {
                    println!("{p}\n  index keys:");
                    for k in keys {
                        println!("    {:?} {}", k.kind, k.value);
                    }
                }
                Compiled::NeedsEvaluator(why) => println!("{p}\n  needs the evaluator: {why}"),
            },
        }
    }
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `data`, in reads of at most `step` bytes, then fails with
    /// `fail` (or ends).
    struct Feed {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail: bool,
    }

    impl std::io::Read for Feed {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.at == self.data.len() {
                return if self.fail {
                    Err(std::io::Error::other("the disk is gone"))
                } else {
                    Ok(0)
                };
            }
            let n = buf.len().min(self.step).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn feed(data: &[u8], step: usize, fail: bool) -> Box<dyn std::io::Read> {
        Box::new(Feed {
            data: data.to_vec(),
            at: 0,
            step,
            fail,
        })
    }

    const MATCH: &str = r#"{"pattern": "[ipv4-addr:value = '198.51.100.7']", "observed": [{"type": "observed-data", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf", "first_observed": "2024-05-01T12:00:00Z", "last_observed": "2024-05-01T12:00:00Z", "number_observed": 1, "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"]}, {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.7"}]}"#;

    /// Lines of every kind: matches, non-matches, errors, blank lines,
    /// `\r\n` endings, a line longer than a block.
    fn batch_text(lines: usize) -> (Vec<u8>, Vec<String>) {
        let mut text = Vec::new();
        let mut answers = Vec::new();
        for i in 0..lines {
            match i % 7 {
                0 | 3 => {
                    text.extend_from_slice(MATCH.as_bytes());
                    answers.push(r#"{"match":true}"#.to_string());
                }
                1 => {
                    text.extend_from_slice(MATCH.replace("100.7'", "100.8'").as_bytes());
                    answers.push(r#"{"match":false}"#.to_string());
                }
                2 => text.extend_from_slice(b"  \t"),
                4 => {
                    text.extend_from_slice(MATCH.as_bytes());
                    text.push(b'\r');
                    answers.push(r#"{"match":true}"#.to_string());
                }
                5 if i % 5 == 0 => {
                    // Longer than a block: a string of spaces in the case.
                    let long = MATCH.replace(
                        "\"value\": ",
                        &format!("\"value\":{}", " ".repeat(BLOCK_BYTES + 10)),
                    );
                    text.extend_from_slice(long.as_bytes());
                    answers.push(r#"{"match":true}"#.to_string());
                }
                _ => {
                    text.extend_from_slice(b"{\"pattern\": 7}");
                    answers.push(r#"{"error":"case has no \"pattern\" string"}"#.to_string());
                }
            }
            if i + 1 < lines {
                text.push(b'\n');
            }
        }
        (text, answers)
    }

    fn run(input: Box<dyn std::io::Read>, threads: usize) -> (String, Result<CaseTimes>) {
        let mut out = Vec::new();
        let r = answer_batch(
            input,
            &mut out,
            std::path::Path::new("cases.jsonl"),
            Options {
                version: None,
                timings: true,
                threads,
            },
        );
        (String::from_utf8(out).expect("UTF-8"), r)
    }

    #[test]
    fn answers_in_order_on_any_number_of_threads() {
        let (text, answers) = batch_text(3000);
        let want = answers.join("\n") + "\n";
        for threads in [1, 2, 4] {
            for step in [1 << 20, 4096, 777] {
                let (out, r) = run(feed(&text, step, false), threads);
                assert!(out == want, "{threads} threads, reads of {step}");
                assert_eq!(r.expect("answered").cases, answers.len() as u64);
            }
        }
    }

    #[test]
    fn a_line_not_utf8_stops_the_batch_there() {
        let (mut text, answers) = batch_text(2000);
        // Past the first block: line 1501 (of 2000) is not UTF-8.
        let at = text
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(1499)
            .map(|(i, _)| i + 1)
            .expect("line 1501");
        assert!(at > BLOCK_BYTES);
        text.insert(at, 0xff);
        let answered = text[..at].iter().filter(|b| **b == b'\n').count();
        let before = batch_text(answered).1.len();
        for threads in [1, 2] {
            let (out, r) = run(feed(&text, 1 << 16, false), threads);
            assert_eq!(out.lines().count(), before, "{threads} threads");
            assert!(answers[..before].join("\n") + "\n" == out);
            let e = format!("{:#}", r.err().expect("an error"));
            assert_eq!(
                e,
                "reading cases.jsonl line 1501: stream did not contain valid UTF-8"
            );
        }
    }

    #[test]
    fn a_failed_read_names_the_line_after_those_answered() {
        // 1000 whole lines, then half a line, then the error.
        let (mut text, answers) = batch_text(1000);
        text.extend_from_slice(b"\n{\"pattern\": ");
        for threads in [1, 2] {
            let (out, r) = run(feed(&text, 5000, true), threads);
            assert!(answers.join("\n") + "\n" == out, "{threads} threads");
            let e = format!("{:#}", r.err().expect("an error"));
            assert_eq!(e, "reading cases.jsonl line 1001: the disk is gone");
        }
    }

    #[test]
    fn blocks_hold_whole_lines() {
        let (text, _) = batch_text(500);
        let mut blocks = Blocks::new(feed(&text, 3000, false));
        let mut all = Vec::new();
        let mut n = 0;
        while let Read::Block(b) = blocks.next() {
            assert_eq!(b.seq, n);
            n += 1;
            all.extend_from_slice(&b.text);
            if all.len() < text.len() {
                assert_eq!(b.text.last(), Some(&b'\n'));
            }
            blocks.recycle(b.text);
        }
        assert!(n > 2);
        assert!(all == text);
    }

    #[test]
    fn slowest_case_line_counts_across_blocks() {
        let mut a = CaseTimes::default();
        let mut b = CaseTimes::default();
        a.add(
            std::time::Duration::from_micros(5),
            std::time::Duration::from_micros(5),
            3,
        );
        b.add(
            std::time::Duration::from_micros(9),
            std::time::Duration::from_micros(2),
            4,
        );
        let mut all = CaseTimes::default();
        all.merge(&a, 0);
        all.merge(&b, 100);
        assert_eq!(all.cases, 2);
        assert_eq!(all.slowest_wall.1, 104);
        assert_eq!(all.slowest_cpu.1, 3);
    }
}
