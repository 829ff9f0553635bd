//! Property tests of the release decision over random objects and random
//! agreements: nothing of a category the agreement does not allow leaves,
//! at any depth, in any field or id; pseudonyms are stable per partner and
//! differ across partners; TLP:RED never leaves; what leaves is JSON and
//! valid STIX.

use accord_policy::tlp::{TLP2_AMBER, TLP2_CLEAR, TLP2_GREEN, TLP2_RED};
use accord_policy::{
    Candidate, Categories, CategoryAction, Origins, Outbound, OutboundPolicy, Outcome, PartnerKey,
    Residency, Rules, Tlp,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::Arc;

fn action() -> impl Strategy<Value = CategoryAction> {
    prop_oneof![
        Just(CategoryAction::Allow),
        Just(CategoryAction::Remove),
        Just(CategoryAction::Truncate),
        Just(CategoryAction::Pseudonymise),
        Just(CategoryAction::Withhold),
    ]
}

/// A random object with secrets planted: (object, e-mail addresses,
/// phone numbers, customer addresses, type).
fn object() -> impl Strategy<Value = (Value, Vec<String>, Vec<String>, String)> {
    (
        0usize..4,
        1u32..9999,
        10u8..250,
        proptest::option::of(0usize..4),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(kind, n, k, tlp, depth, escape)| {
            let email = format!("user{n}@corp{}.example", n % 7);
            let phone = format!("+49 30 {:07}", 1_000_000 + n);
            let ip = format!("203.0.113.{k}");
            let mut nested = json!(format!("contact {email} or {phone}, host {ip}"));
            for _ in 0..depth {
                nested = json!({ "inner": [nested] });
            }
            let mut o = match kind {
                0 => json!({
                    "type": "indicator", "spec_version": "2.1",
                    "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                    "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                    "name": format!("C2 {ip}"),
                    "description": format!("seen by {email}"),
                    "pattern": format!("[ipv4-addr:value = '{ip}'] OR [domain-name:value = 'x.example']"),
                    "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
                    "x_acme_meta": nested,
                }),
                1 => json!({
                    "type": "email-addr", "spec_version": "2.1",
                    "id": "email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3",
                    "value": email, "display_name": "Some Body",
                }),
                2 => json!({
                    "type": "identity", "spec_version": "2.1",
                    "id": "identity--311b2d2d-f010-4473-83ec-1edf84858f4c",
                    "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                    "name": "Jane Doe", "identity_class": "individual",
                    "contact_information": format!("{email}, {phone}"),
                }),
                _ => json!({
                    "type": "ipv4-addr", "spec_version": "2.1",
                    "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
                    "value": ip,
                }),
            };
            if let Some(t) = tlp {
                let m = [TLP2_CLEAR, TLP2_GREEN, TLP2_AMBER, TLP2_RED][t];
                o["object_marking_refs"] = json!([m]);
            }
            let ty = o["type"].as_str().unwrap().to_owned();
            let mut secrets = vec![email.clone(), phone.clone()];
            if kind == 2 {
                secrets.push("Jane Doe".into());
            }
            if escape {
                // The same object with the `@` escaped must be read alike.
                let text = serde_json::to_string(&o).unwrap().replace('@', "\\u0040");
                o = Value::String(text);
            }
            (o, secrets, vec![ip], ty)
        })
}

fn policy(partner: &str, personal: CategoryAction, customer: CategoryAction) -> OutboundPolicy {
    let residency = Residency {
        customer_ranges: vec!["203.0.113.0/24".into()],
        ..Residency::default()
    };
    OutboundPolicy::new(
        partner,
        Outbound {
            max_tlp: Tlp::AmberStrict,
            categories: Categories {
                personal,
                customer_address: customer,
                important: CategoryAction::Withhold,
            },
            ..Outbound::default()
        },
        Arc::new(Rules::new(&residency).unwrap()),
        PartnerKey::derive(&[9; 32], partner),
        Arc::new(Origins::new()),
    )
}

fn raw_of(o: &Value) -> String {
    match o {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap(),
    }
}

/// Customer addresses more precise than a /24 in `text`.
fn precise_customer_ips(text: &str) -> Vec<String> {
    let mut v = Vec::new();
    accord_policy::text::find_ips(text, &mut v);
    let ranges = ["203.0.113.0/24".parse().unwrap()];
    v.iter()
        .filter(|s| match s.kind {
            accord_policy::text::SpanKind::Ip(n) => {
                n.prefix_len() > 24 && accord_policy::text::in_ranges(&n, &ranges)
            }
            _ => false,
        })
        .map(|s| text[s.start..s.end].to_owned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn nothing_disallowed_leaves(
        (obj, secrets, _ips, ty) in object(),
        personal in action(),
        customer in action(),
    ) {
        let raw = raw_of(&obj);
        let parsed: Value = serde_json::from_str(&raw).unwrap();
        let id = parsed["id"].as_str().unwrap().to_owned();
        let pol = policy("eu", personal, customer);
        let c = Candidate { type_name: &ty, collection: "c", origin: "local", raw: &raw };
        let out = pol.release(&c);
        let red = parsed["object_marking_refs"][0] == TLP2_RED;
        if red {
            prop_assert!(matches!(out, Outcome::Withhold { .. }), "RED left: {out:?}");
            return Ok(());
        }
        let sent = match &out {
            Outcome::Send => raw.clone(),
            Outcome::Redact { raw, fields } => {
                prop_assert!(!fields.is_empty());
                raw.clone()
            }
            Outcome::Withhold { .. } => return Ok(()),
        };
        let v: Value = serde_json::from_str(&sent).expect("what leaves is JSON");
        let text = v.to_string();
        if personal != CategoryAction::Allow {
            for s in &secrets {
                prop_assert!(!text.contains(s.as_str()), "{s} left under personal = {personal:?}: {text}");
            }
            if ty == "email-addr" {
                prop_assert!(!text.contains(&id), "the address's id left: {text}");
            }
        }
        if customer != CategoryAction::Allow {
            let left = precise_customer_ips(&text);
            prop_assert!(left.is_empty(), "{left:?} left under customer_address = {customer:?}: {text}");
            if ty == "ipv4-addr" {
                prop_assert!(!text.contains(&id), "the address's id left: {text}");
            }
        }
        // What leaves is valid STIX.
        let doc = accord_stix::Doc::parse(&sent).unwrap();
        let issues = accord_stix::validate_doc(&doc);
        prop_assert!(accord_stix::is_valid(&issues), "{issues:?}: {sent}");
        // Stable per partner, different across partners.
        prop_assert_eq!(&pol.release(&c), &out);
        if personal == CategoryAction::Pseudonymise && customer == CategoryAction::Pseudonymise
            && let Outcome::Redact { raw: a, .. } = &out
        {
            let other = policy("us", personal, customer).release(&c);
            let Outcome::Redact { raw: b, .. } = other else { panic!("{other:?}") };
            prop_assert_ne!(a, &b);
        }
    }
}
