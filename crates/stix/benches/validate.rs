//! Validation throughput: `cargo bench -p accord-stix --bench validate`.
//!
//! The target is ≥ 300,000 typical indicators per second on one core,
//! parsing included (`parse_and_validate_indicator`).

use accord_stix::{Doc, Object, validate_doc, validate_object};
use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

/// A typical indicator as partners share them: TLP marking, external
/// reference, kill chain phase, labels.
const INDICATOR: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created_by_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","indicator_types":["malicious-activity"],"name":"C2 server","description":"Command and control server of the campaign","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","kill_chain_phases":[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"command-and-control"}],"labels":["c2"],"confidence":80,"external_references":[{"source_name":"acme-cert","url":"https://cert.example/advisories/2016-04","external_id":"ADV-2016-04"}],"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}"#;

const FILE_SCO: &str = r#"{"type":"file","spec_version":"2.1","id":"file--eb33207b-7734-5649-9e4e-24b9624ebbe2","name":"foo.exe","hashes":{"SHA-256":"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f","MD5":"9e107d9d372bb6826bd81d3542a419d6"},"size":25536}"#;

#[divan::bench]
fn parse_and_validate_indicator(b: Bencher) {
    b.counter(divan::counter::ItemsCount::new(1usize))
        .bench(|| {
            let o = Object::parse(black_box(INDICATOR)).unwrap();
            validate_object(&o)
        });
}

#[divan::bench]
fn validate_indicator(b: Bencher) {
    let o = Object::parse(INDICATOR).unwrap();
    b.counter(divan::counter::ItemsCount::new(1usize))
        .bench(|| validate_object(black_box(&o)));
}

#[divan::bench]
fn parse_indicator(b: Bencher) {
    b.counter(divan::counter::ItemsCount::new(1usize))
        .bench(|| Object::parse(black_box(INDICATOR)).unwrap());
}

#[divan::bench]
fn parse_and_validate_file_sco(b: Bencher) {
    b.counter(divan::counter::ItemsCount::new(1usize))
        .bench(|| {
            let o = Object::parse(black_box(FILE_SCO)).unwrap();
            validate_object(&o)
        });
}

/// The path `accord validate`, ingest and TAXII POST take: the borrowed
/// tree, with the default JSON limits.
#[divan::bench]
fn parse_and_validate_doc_indicator(b: Bencher) {
    b.counter(divan::counter::ItemsCount::new(1usize))
        .bench(|| {
            let d = Doc::parse(black_box(INDICATOR)).unwrap();
            validate_doc(&d)
        });
}

#[divan::bench]
fn parse_doc_indicator(b: Bencher) {
    b.counter(divan::counter::ItemsCount::new(1usize))
        .bench(|| Doc::parse(black_box(INDICATOR)).unwrap());
}
