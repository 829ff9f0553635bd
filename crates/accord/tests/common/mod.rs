//! Shared by the integration tests that drive the OASIS Python tools.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python with the OASIS tools (`ACCORD_PYTHON`, else the workspace's
/// `.venv`), checked to import `modules`. Fails the test, never skips it,
/// when they are missing.
pub fn python(modules: &str) -> PathBuf {
    let p = std::env::var_os("ACCORD_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
        PathBuf::from,
    );
    let ok = Command::new(&p)
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import {modules}: run ./test.sh, which installs the OASIS tools in .venv",
        p.display()
    );
    p
}
