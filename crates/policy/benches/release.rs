//! The release decision on generated objects with personal data:
//! `cargo bench -p accord-policy --bench release`. Each iteration handles
//! 1,000 objects (divan's `items` throughput gives objects/s on one core).

use accord_policy::{
    Candidate, Categories, CategoryAction, Origins, Outbound, OutboundPolicy, PartnerKey,
    Residency, Rules, Tlp,
};
use divan::counter::ItemsCount;
use std::sync::Arc;

fn main() {
    divan::main();
}

const N: usize = 1000;

/// Indicators, notes and identities; about a third carry an e-mail address,
/// a phone number or a customer address.
fn objects() -> Vec<(String, String)> {
    (0..N)
        .map(|i| {
            let t = "2026-01-01T00:00:00.000Z";
            match i % 3 {
                0 => (
                    "indicator".to_owned(),
                    format!(
                        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{i:08x}-0000-4000-8000-000000000000","created":"{t}","modified":"{t}","name":"C2 server {i}","description":"Command and control server seen in campaign {i}; reported by analyst{i}@cert.example","indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '203.0.113.{}']","pattern_type":"stix","valid_from":"{t}","labels":["c2"],"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}}"#,
                        i % 250
                    ),
                ),
                1 => (
                    "indicator".to_owned(),
                    format!(
                        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{i:08x}-0000-4000-8000-000000000001","created":"{t}","modified":"{t}","name":"Phishing domain {i}","description":"Domain used for credential phishing against banks.","indicator_types":["malicious-activity"],"pattern":"[domain-name:value = 'login-{i}.example.net']","pattern_type":"stix","valid_from":"{t}","object_marking_refs":["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"]}}"#
                    ),
                ),
                _ => (
                    "identity".to_owned(),
                    format!(
                        r#"{{"type":"identity","spec_version":"2.1","id":"identity--{i:08x}-0000-4000-8000-000000000002","created":"{t}","modified":"{t}","name":"Person {i}","identity_class":"individual","contact_information":"+49 30 {:07}"}}"#,
                        1_000_000 + i
                    ),
                ),
            }
        })
        .collect()
}

fn policy() -> OutboundPolicy {
    let residency = Residency {
        customer_ranges: vec!["203.0.113.0/24".into(), "2001:db8:c::/48".into()],
        ..Residency::default()
    };
    OutboundPolicy::new(
        "eu",
        Outbound {
            max_tlp: Tlp::Amber,
            categories: Categories {
                personal: CategoryAction::Pseudonymise,
                customer_address: CategoryAction::Truncate,
                important: CategoryAction::Withhold,
            },
            ..Outbound::default()
        },
        Arc::new(Rules::new(&residency).unwrap()),
        PartnerKey::derive(&[7; 32], "eu"),
        Arc::new(Origins::new()),
    )
}

#[divan::bench]
fn decide(b: divan::Bencher) {
    let objs = objects();
    let pol = policy();
    b.counter(ItemsCount::new(N)).bench(|| {
        let mut rewrites = 0usize;
        for (ty, raw) in &objs {
            let c = Candidate {
                type_name: ty,
                collection: "share",
                origin: "local",
                raw,
                warninglisted: None,
            };
            if matches!(
                pol.decide(&c, &accord_policy::Unresolved),
                accord_policy::Decision::Rewrite { .. }
            ) {
                rewrites += 1;
            }
        }
        divan::black_box(rewrites)
    });
}

#[divan::bench]
fn decide_and_rewrite(b: divan::Bencher) {
    let objs = objects();
    let pol = policy();
    b.counter(ItemsCount::new(N)).bench(|| {
        let mut bytes = 0usize;
        for (ty, raw) in &objs {
            let c = Candidate {
                type_name: ty,
                collection: "share",
                origin: "local",
                raw,
                warninglisted: None,
            };
            if let accord_policy::Outcome::Redact { raw, .. } =
                pol.release(&c, &accord_policy::Unresolved)
            {
                bytes += raw.len();
            }
        }
        divan::black_box(bytes)
    });
}
