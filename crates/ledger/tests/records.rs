//! Exchange records: the leaf bytes are RFC 8785 canonical JSON (checked
//! against accord-stix's general JCS writer), parse back, and hash as leaves.

use accord_ledger::{Decision, Direction, ExchangeRecord, MemoryLog, leaf_hash};
use proptest::prelude::*;

fn jcs(r: &ExchangeRecord) -> Vec<u8> {
    let v = serde_json::to_value(r).unwrap();
    let mut s = String::new();
    accord_stix::sco_id::write_jcs(&mut s, &v);
    s.into_bytes()
}

fn decision() -> impl Strategy<Value = Decision> {
    prop_oneof![
        Just(Decision::Sent),
        Just(Decision::Stored),
        prop::collection::vec(any::<String>(), 0..4)
            .prop_map(|fields| Decision::Redacted { fields }),
        any::<String>().prop_map(|reason| Decision::Withheld { reason }),
        any::<String>().prop_map(|reason| Decision::Rejected { reason }),
    ]
}

fn record() -> impl Strategy<Value = ExchangeRecord> {
    (
        prop_oneof![
            Just(Direction::In),
            Just(Direction::Out),
            Just(Direction::Local)
        ],
        prop::option::of(any::<String>()),
        any::<String>(),
        any::<String>(),
        prop::option::of(any::<String>()),
        "[0-9a-f]{64}",
        decision(),
        any::<String>(),
        prop::option::of("[0-9a-f]{32}"),
    )
        .prop_map(
            |(
                direction,
                partner,
                collection,
                object_id,
                modified,
                sha256,
                decision,
                time,
                salt,
            )| {
                ExchangeRecord {
                    direction,
                    partner,
                    collection,
                    object_id,
                    modified,
                    sha256,
                    decision,
                    time,
                    salt,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn leaf_bytes_are_jcs_and_round_trip(r in record()) {
        let bytes = r.to_leaf_bytes();
        prop_assert_eq!(&bytes, &jcs(&r));
        prop_assert_eq!(ExchangeRecord::from_leaf_bytes(&bytes).unwrap(), r.clone());
        prop_assert_eq!(r.leaf_hash(), leaf_hash(&bytes));
    }
}

#[test]
fn escapes_and_non_ascii_follow_rfc8785() {
    let r = ExchangeRecord {
        direction: Direction::In,
        partner: Some("cert.例え.jp".into()),
        collection: "a\"b\\c\n\u{1}\u{7f}€😀".into(),
        object_id: "indicator--x".into(),
        modified: None,
        sha256: "0".repeat(64),
        decision: Decision::Rejected {
            reason: "tab\there".into(),
        },
        time: "2026-01-01T00:00:00Z".into(),
        salt: Some("0123456789abcdef0123456789abcdef".into()),
    };
    let s = String::from_utf8(r.to_leaf_bytes()).unwrap();
    assert!(
        s.contains("\"collection\":\"a\\\"b\\\\c\\n\\u0001\u{7f}€😀\""),
        "{s}"
    );
    assert!(s.contains(r#""reason":"tab\there""#), "{s}");
    assert!(!s.contains("modified"));
    assert!(
        s.contains(r#""salt":"0123456789abcdef0123456789abcdef","sha256""#),
        "{s}"
    );
    assert_eq!(s.as_bytes(), jcs(&r));
}

#[test]
fn records_go_into_the_log() {
    let mut log = MemoryLog::new();
    let records: Vec<ExchangeRecord> = (0..10)
        .map(|i| ExchangeRecord {
            direction: Direction::Out,
            partner: Some("partner.example".into()),
            collection: "indicators".into(),
            object_id: format!("indicator--{i:08}-0000-4000-8000-000000000000"),
            modified: Some("2026-01-01T00:00:00.000Z".into()),
            sha256: format!("{:064x}", i),
            decision: if i % 2 == 0 {
                Decision::Sent
            } else {
                Decision::Withheld {
                    reason: "agreement forbids personal data".into(),
                }
            },
            time: "2026-11-28T03:00:00Z".into(),
            salt: Some(accord_ledger::salt_hex(&[i as u8; 16])),
        })
        .collect();
    for r in &records {
        r.validate().unwrap();
    }
    let leaves: Vec<Vec<u8>> = records.iter().map(ExchangeRecord::to_leaf_bytes).collect();
    let a = log.append(&leaves).unwrap();
    assert_eq!(a.leaf_hashes[3], records[3].leaf_hash());
    let back = ExchangeRecord::from_leaf_bytes(log.entry(3).unwrap()).unwrap();
    assert_eq!(back, records[3]);
}
