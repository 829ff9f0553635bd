//! Inputs the `misp_event` fuzz target found: they convert to valid STIX
//! (every problem reported, nothing invalid produced).

fn check(bytes: &[u8]) -> Vec<accord_misp::Problem> {
    let limits = accord_misp::Limits::default();
    let mut problems = Vec::new();
    for ev in accord_misp::parse_document(bytes, &limits).unwrap() {
        let c = accord_misp::convert_event(&ev, &limits, &accord_misp::NoAttack);
        for o in &c.values().unwrap() {
            let obj = accord_stix::Object::from_value(o.clone()).unwrap();
            let issues = accord_stix::validate_object(&obj);
            assert!(accord_stix::is_valid(&issues), "{o}\n{issues:?}");
        }
        problems.extend(c.problems);
    }
    problems
}

/// An attribute uuid whose variant is not RFC 4122 (`…-e648-…`) became
/// an invalid STIX id; now it is reported as a broken uuid.
#[test]
fn a_non_rfc4122_attribute_uuid_is_a_broken_uuid() {
    let p = check(include_bytes!("fuzz-crash-non-rfc4122-uuid.json"));
    assert!(
        p.iter().any(|p| p
            .to_string()
            .contains("broken uuid `57c54b0f-27a4-458b-e648-3455950d210f`")),
        "{p:?}"
    );
}

/// A vulnerability named `CVE-20TTT…-1856` got a `cve` external reference
/// that §4.18 forbids; now only `CVE-YYYY-NNNN` names get one.
#[test]
fn a_malformed_cve_name_gets_no_cve_reference() {
    check(include_bytes!("fuzz-crash-bad-cve.json"));
}
