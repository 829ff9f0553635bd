//! `accord pattern`: check, match and compile STIX patterns.

use std::io::{BufRead, BufReader, BufWriter, Write};
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
    /// With --batch: time each case (reading its JSON line, parsing and
    /// preparing the pattern, reading the observations, matching) by the
    /// wall clock and by this thread's CPU time, and print the totals, the
    /// means and the slowest case to standard error.
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

fn batch(path: &PathBuf, version: Option<&str>, timings: bool) -> Result<ExitCode> {
    let mut input: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        ))
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut clock = CaseTimes::default();
    // One buffer for every line (`lines()` would allocate each).
    let mut buf = String::new();
    for n in 0.. {
        buf.clear();
        let got = input
            .read_line(&mut buf)
            .with_context(|| format!("reading {} line {}", path.display(), n + 1))?;
        if got == 0 {
            break;
        }
        // As `lines()`: the `\n` or `\r\n` ending off.
        let line = match buf.strip_suffix('\n') {
            Some(l) => l.strip_suffix('\r').unwrap_or(l),
            None => &buf,
        };
        if line.trim().is_empty() {
            continue;
        }
        let start = timings.then(|| (std::time::Instant::now(), thread_cpu()));
        let r = run_case(line, version);
        if let Some((wall, cpu)) = start {
            clock.add(wall.elapsed(), thread_cpu().saturating_sub(cpu), n + 1);
        }
        match r {
            Ok(true) => out.write_all(b"{\"match\":true}\n")?,
            Ok(false) => out.write_all(b"{\"match\":false}\n")?,
            Err(e) => writeln!(out, "{}", json!({ "error": e }))?,
        }
    }
    out.flush()?;
    if timings {
        eprintln!("{}", clock.summary());
    }
    Ok(ExitCode::SUCCESS)
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
