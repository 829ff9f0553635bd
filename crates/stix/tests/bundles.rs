//! Every bundle in `stix/` (real data from OASIS, MITRE ATT&CK and MISP,
//! copied in the repository as `data/demo/stix`) must validate with zero
//! errors.

use accord_stix::{Object, is_valid, read_document, validate_bundle_header, validate_object};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    accord_testkit::fixture("stix")
}

#[test]
fn all_shared_bundles_are_valid() {
    let dir = data_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the shared STIX bundles in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    let mut n_objects = 0;
    for f in &files {
        let src = std::fs::read(f).unwrap();
        let mut objects = Vec::new();
        let info = read_document(&src, |raw| objects.push(raw.text.to_owned()))
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for issue in validate_bundle_header(&info) {
            if issue.is_error() {
                failures.push(format!("{}: {issue}", f.display()));
            }
        }
        for text in objects {
            n_objects += 1;
            let obj = Object::parse(&text).unwrap();
            let issues = validate_object(&obj);
            if !is_valid(&issues) {
                for i in issues.iter().filter(|i| i.is_error()) {
                    failures.push(format!("{}: {i}", f.file_name().unwrap().to_string_lossy()));
                }
            }
        }
    }
    assert!(n_objects > 1000, "only {n_objects} objects read");
    assert!(
        failures.is_empty(),
        "{} errors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
