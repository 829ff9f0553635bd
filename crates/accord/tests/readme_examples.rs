//! Every example a new user is shown runs as written: the `accord …` lines
//! of README.md's ```sh blocks, and the "Examples:" of every subcommand's
//! `--help`.
//!
//! Each runs with `bash -o pipefail -c LINE` in a directory prepared like a
//! fresh clone's root (`data/` of the repository, linked), with the built
//! binary first on `PATH` as `accord` (what `cargo install --path
//! crates/accord` gives a user), and must exit as the exit-status table says
//! a finished command does: 0 or 1, never 2 (failed) or a signal. The
//! README's lines run in README order in one directory, so each finds the
//! store and files the earlier ones made; each subcommand's examples run in
//! their own directory, holding a store as the README's set-up leaves one:
//! the node's keys (`accord init`, as `accord demo` makes them) and two demo
//! bundles (APT1 and Poison Ivy, whose indicators the demo logs hit).
//!
//! Not run: lines that serve until stopped (`accord demo`, `accord serve`:
//! they would hold a port; the TAXII tests run nodes on free ports), and
//! the short [`NEEDS_PARTNER`] list. `--follow` lines run for a few seconds
//! and must still be running (or have finished with 0 or 1).

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Examples that need a partner's running node, which a fresh clone does
/// not have: (what the line contains, why it is not run here).
const NEEDS_PARTNER: &[(&str, &str)] = &[
    (
        "accord sync ",
        "pulls from a partner's TAXII 2.1 server; sync against running nodes is \
         tested in exit_codes.rs, ledger_nodes.rs and taxii_interop.rs",
    ),
    (
        "accord ledger audit ",
        "audits a configured partner's running node; tested in ledger_nodes.rs",
    ),
    (
        "curl ",
        "asks the running demo node (`accord demo`, which is not run here)",
    ),
    (
        "accord hotline ",
        "works cases with a configured partner that has an identity; tested \
         between running nodes in hotline.rs",
    ),
    (
        "accord cluster ",
        "reads a cluster's PostgreSQL database, which a fresh clone does not \
         have; tested against a throwaway PostgreSQL in cluster.rs",
    ),
    (
        "accord report hotline",
        "reports the cases worked with configured partners; tested between \
         running nodes in hotline.rs",
    ),
];

/// Lines that serve until stopped (and hold a port): recognised, not run.
const SERVES: &[&str] = &["accord demo", "accord serve"];

/// How long a `--follow` line runs before it is stopped.
const FOLLOW_FOR: Duration = Duration::from_secs(4);

/// The longest any other example may take (a hung example fails, not hangs).
const LIMIT: Duration = Duration::from_secs(600);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn accord_help(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(args)
        .arg("--help")
        // What a user sees: clap wraps help at most at 100 columns.
        .env("COLUMNS", "100")
        .output()
        .expect("run accord --help");
    assert!(o.status.success(), "accord {args:?} --help failed");
    String::from_utf8(o.stdout).expect("help is UTF-8")
}

/// The command names of a help's "Commands:" section (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut on = false;
    for line in help.lines() {
        if line == "Commands:" {
            on = true;
            continue;
        }
        if on {
            if line.trim().is_empty() {
                break;
            }
            // A command starts two spaces in; its description's wrapped
            // lines are indented further.
            if let Some(rest) = line.strip_prefix("  ")
                && !rest.starts_with(' ')
            {
                let name = rest.split_whitespace().next().unwrap_or_default();
                if name != "help" {
                    out.push(name.to_owned());
                }
            }
        }
    }
    out
}

/// The lines of a help's "Examples:" (or "Example:") section.
fn examples(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut on = false;
    for line in help.lines() {
        if line == "Examples:" || line == "Example:" {
            on = true;
            continue;
        }
        if on {
            if line.trim().is_empty() {
                break;
            }
            out.push(line.trim().to_owned());
        }
    }
    out
}

/// The first command word of a shell line, after `NAME=value` assignments.
fn command_word(line: &str) -> &str {
    line.split_whitespace()
        .find(|w| !w.contains('=') || w.starts_with('-'))
        .unwrap_or("")
}

/// Every subcommand path with its examples, as `accord --help` lists them.
fn help_examples() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for sub in subcommands(&accord_help(&[])) {
        let help = accord_help(&[&sub]);
        let ex = examples(&help);
        let children = subcommands(&help);
        if ex.is_empty() && !children.is_empty() {
            // A command with subcommands and no examples of its own shows
            // them on each subcommand's help.
            for child in children {
                let ex = examples(&accord_help(&[&sub, &child]));
                out.push((format!("{sub} {child}"), ex));
            }
        } else {
            out.push((sub, ex));
        }
    }
    out
}

/// The `accord …` lines of README.md's ```sh blocks, in order.
fn readme_examples() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("read README.md");
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = !in_sh && t == "```sh";
            continue;
        }
        if in_sh && t.starts_with("accord ") {
            out.push(t.to_owned());
        }
    }
    out
}

/// A directory like a fresh clone's root: `data/` of the repository.
fn new_user_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(
        repo().join("data").canonicalize().expect("data/"),
        dir.path().join("data"),
    )
    .expect("link data/");
    dir
}

fn path_with_accord() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_accord"))
        .parent()
        .expect("bin dir")
        .to_owned();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Why a line is not run, if it is not.
fn not_run(line: &str) -> Option<String> {
    if let Some(s) = SERVES.iter().find(|s| line.contains(*s)) {
        return Some(format!("`{s}` serves until stopped"));
    }
    // A PDF is printed by Chromium, which ./test.sh installs only as root.
    if line.contains("--format pdf") && !Path::new("/usr/bin/chromium").is_file() {
        return Some("prints with Chromium, absent here (tested in reports.rs)".to_owned());
    }
    NEEDS_PARTNER
        .iter()
        .find(|(pat, _)| line.contains(pat))
        .map(|(_, why)| (*why).to_owned())
}

/// Runs `line` in `dir`; `Err` says how it failed.
fn run(line: &str, dir: &Path, n: usize) -> Result<(), String> {
    let follow = line.contains("--follow");
    let script = if follow {
        // `exec`: the process stopped after FOLLOW_FOR is accord itself.
        format!("exec {line}")
    } else {
        line.to_owned()
    };
    let log = dir.join(format!(".example-{n}.log"));
    let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let mut child = Command::new("bash")
        .args(["-o", "pipefail", "-c", &script])
        .current_dir(dir)
        .env("PATH", path_with_accord())
        .env_remove("ACCORD_DATA")
        .env_remove("ACCORD_PASSWORD")
        .env_remove("ACCORD_TOKEN")
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot start bash: {e}"))?;
    let limit = if follow { FOLLOW_FOR } else { LIMIT };
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(s);
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = || std::fs::read_to_string(&log).unwrap_or_default();
    match status {
        None if follow => Ok(()),
        None => Err(format!("still running after {limit:?}\n{}", output())),
        Some(s) if matches!(s.code(), Some(0 | 1)) => Ok(()),
        Some(s) => Err(format!("{s}\n{}", output())),
    }
}

/// Runs `lines` in order in `dir`; returns the failures.
fn run_all(lines: &[String], dir: &Path, from: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if let Some(why) = not_run(line) {
            eprintln!("skip ({from}): {line}\n  because it {why}");
            continue;
        }
        let start = Instant::now();
        match run(line, dir, n) {
            Ok(()) => eprintln!("ok ({from}, {:.1?}): {line}", start.elapsed()),
            Err(e) => failures.push(format!("{from}: {line}\n  {e}")),
        }
    }
    failures
}

/// A store as the README's set-up leaves one in `./accord-data`: the
/// node's keys (which `accord demo` and `accord init` create) and objects.
fn prepare_store(dir: &Path) {
    for args in [
        &["init", "-o", "prepared.toml"][..],
        &[
            "ingest",
            "data/demo/stix/oasis-apt1.json",
            "data/demo/stix/oasis-poisonivy.json",
        ],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_accord"))
            .args(args)
            .current_dir(dir)
            .env_remove("ACCORD_DATA")
            .output()
            .expect("run accord");
        assert!(
            o.status.success(),
            "preparing the store: accord {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn readme_examples_run_as_written() {
    let lines = readme_examples();
    // The README's examples: validate, ingest, export, pattern, ledger,
    // match, blocklists. Fewer means the extraction broke.
    assert!(
        lines.len() >= 20,
        "only {} examples found: {lines:#?}",
        lines.len()
    );
    let dir = new_user_dir();
    let failures = run_all(&lines, dir.path(), "README.md");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn help_examples_run_as_written() {
    let all = help_examples();
    let names: Vec<&str> = all.iter().map(|(s, _)| s.as_str()).collect();
    for want in [
        "validate",
        "ingest",
        "pattern match",
        "match",
        "ledger",
        "init",
    ] {
        assert!(
            names.contains(&want),
            "no examples of `{want}` in {names:?}"
        );
    }
    let mut failures = Vec::new();
    for (sub, lines) in &all {
        if lines.is_empty() {
            failures.push(format!("accord {sub} --help: no examples"));
            continue;
        }
        // clap wraps a help line wider than the terminal: a wrapped example
        // cannot be copied. Every line must be a command of its own.
        for line in lines {
            let word = command_word(line);
            if !["accord", "export", "curl", "printf"].contains(&word) {
                failures.push(format!(
                    "accord {sub} --help: `{line}` is not a command (an example wrapped? keep it under 96 columns)"
                ));
            }
        }
        let dir = new_user_dir();
        prepare_store(dir.path());
        failures.extend(run_all(lines, dir.path(), &format!("accord {sub} --help")));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
