//! Test helpers shared by the integration tests of every crate (dev-only,
//! never published): where the repository is, where a data file is, and
//! which Python has the OASIS tools.
//!
//! Data files live in one of two places, both laid out like
//! `../shared/data` (`stix/…`, `zeek/…`, `suricata/…`):
//!
//! - in the repository, under [`IN_REPO_DIRS`] (`data/fixtures`, whose
//!   `SOURCES.md` gives each file's origin and licence, and `data/demo`):
//!   the files whose licence lets them be copied here;
//! - in `../shared/data` beside the checkout (present in CI): all of them,
//!   including those that cannot be copied (GPL-2.0 `slips-*`, CC-BY-SA
//!   `wrccdc-*`).
//!
//! A test that needs a file found in neither place skips: [`data`] and
//! [`shared`] return `None` after printing one line,
//! `skip: <test> needs ../shared/data/<rel> (not present)`, to the real
//! stderr (not captured by the test harness), and the test returns early.
//!
//! Python is never skipped: [`python`] fails the test when the tools are
//! missing, since `./test.sh` installs them.

pub mod nats;
pub mod postgres;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// In-repository folders that hold copied data files, each laid out like
/// `../shared/data`, searched in this order.
pub const IN_REPO_DIRS: &[&str] = &["data/fixtures", "data/demo"];

/// The repository root (the workspace directory, holding `Cargo.lock`).
pub fn repo_root() -> &'static Path {
    // This crate is `<root>/crates/testkit`.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("crates/testkit lies two levels below the repository root")
}

/// `rel` (a path from the repository root); fails the test if it is not
/// there, since everything in the repository is committed.
pub fn repo(rel: &str) -> PathBuf {
    let p = repo_root().join(rel);
    assert!(p.exists(), "{} is missing from the repository", p.display());
    p
}

/// `../shared/data` beside the repository (it may not exist).
pub fn shared_dir() -> PathBuf {
    repo_root().parent().map_or_else(
        || PathBuf::from("../shared/data"),
        |p| p.join("shared/data"),
    )
}

/// `../shared/data/<rel>` if it exists; else prints the skip line naming it
/// and the current test, and returns `None` (the test then returns early).
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = shared_dir().join(rel);
    if p.exists() {
        Some(p)
    } else {
        skip(rel);
        None
    }
}

/// The copy of `rel` (a path laid out like `../shared/data`, e.g.
/// `zeek/btest-conn.log`) in the repository, if there is one.
pub fn in_repo(rel: &str) -> Option<PathBuf> {
    IN_REPO_DIRS
        .iter()
        .map(|d| repo_root().join(d).join(rel))
        .find(|p| p.exists())
}

/// The copy of `rel` in the repository; fails the test if there is none
/// (for files a test cannot do without and that are committed).
pub fn fixture(rel: &str) -> PathBuf {
    in_repo(rel).unwrap_or_else(|| {
        panic!(
            "{rel} is in none of {}: it should be committed",
            IN_REPO_DIRS.join(", ")
        )
    })
}

/// `rel` from the repository if a copy is there, else from
/// `../shared/data`; else prints the skip line and returns `None`.
pub fn data(rel: &str) -> Option<PathBuf> {
    in_repo(rel).or_else(|| shared(rel))
}

/// Prints `skip: <test> needs ../shared/data/<rel> (not present)` to the
/// process's stderr, past the test harness's capture, so every skip shows
/// in the output of `cargo test`.
pub fn skip(rel: &str) {
    let thread = std::thread::current();
    // The test harness names each test's thread after the test.
    let test = thread.name().filter(|n| *n != "main").unwrap_or("a test");
    let _ = writeln!(
        std::io::stderr(),
        "skip: {test} needs ../shared/data/{rel} (not present)"
    );
}

/// Prints one `skip:` line to the process's stderr, past the test
/// harness's capture.
pub fn skip_line(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The Python with the OASIS tools: `ACCORD_PYTHON`, else the repository's
/// `.venv/bin/python`, checked to import `modules` (e.g. `"stix2validator"`
/// or `"taxii2client, stix2validator"`). Fails the test, never skips it,
/// when that Python or a module is missing: `./test.sh` installs them.
pub fn python(modules: &str) -> PathBuf {
    let p = std::env::var_os("ACCORD_PYTHON")
        .map_or_else(|| repo_root().join(".venv/bin/python"), PathBuf::from);
    let hint = "run ./test.sh at the repository root, which makes .venv with the OASIS tools \
                of requirements-test.txt (or set ACCORD_PYTHON)";
    let out = Command::new(&p)
        .args(["-c", &format!("import {modules}")])
        .output()
        .unwrap_or_else(|e| panic!("cannot run Python {}: {e}; {hint}", p.display()));
    assert!(
        out.status.success(),
        "{} cannot import {modules} ({}); {hint}",
        p.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_holds_the_workspace() {
        assert!(repo_root().join("Cargo.lock").is_file());
        assert!(repo("crates/testkit/Cargo.toml").is_file());
    }

    #[test]
    fn in_repo_copies_are_found_first() {
        let p = fixture("stix/oasis-apt1.json");
        assert!(p.starts_with(repo_root()));
        assert_eq!(data("stix/oasis-apt1.json"), Some(p));
    }

    #[test]
    fn a_file_in_no_folder_is_none() {
        // `data` and `shared` would print a skip line here: not called.
        assert_eq!(in_repo("no/such/file"), None);
    }
}
