//! Property tests of the release decision over random objects and random
//! agreements: nothing of a category the agreement does not allow leaves,
//! at any depth, in any field or id; pseudonyms are stable per partner and
//! differ across partners; TLP:RED never leaves (a custom TLP:RED
//! marking-definition included); what leaves is JSON and valid STIX; a
//! reference to a released observable equals the id that observable
//! leaves with, and a reference to a withheld or absent one never names
//! its original id.

use accord_policy::resolve::definition_marking;
use accord_policy::tlp::{TLP2_AMBER, TLP2_CLEAR, TLP2_GREEN, TLP2_RED};
use accord_policy::{
    Candidate, Categories, CategoryAction, Marking, MarkingsOnly, Origins, Outbound,
    OutboundPolicy, Outcome, PartnerKey, Residency, Resolver, Rules, Tlp,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// A custom TLP:RED marking-definition (TLP 1.0 style, not a standard id).
const CUSTOM_RED: &str = "marking-definition--c0ffee00-0000-4000-8000-00000000000d";

/// Objects held by a node, by id (type, collection, JSON), answering for
/// one policy as the node's store does: a referenced object is released
/// through the same policy (markings resolved, its own references not).
struct Held<'a> {
    pol: &'a OutboundPolicy,
    objs: HashMap<String, (String, String, String)>,
}

impl<'a> Held<'a> {
    fn new(pol: &'a OutboundPolicy) -> Held<'a> {
        let mut h = Held {
            pol,
            objs: HashMap::new(),
        };
        h.put(
            "c",
            &json!({
                "type": "marking-definition", "spec_version": "2.1", "id": CUSTOM_RED,
                "created": "2026-01-01T00:00:00.000Z",
                "definition_type": "tlp", "definition": { "tlp": "red" }
            }),
        );
        h
    }

    fn put(&mut self, collection: &str, o: &Value) {
        self.objs.insert(
            o["id"].as_str().unwrap().to_owned(),
            (
                o["type"].as_str().unwrap().to_owned(),
                collection.to_owned(),
                o.to_string(),
            ),
        );
    }

    fn release(&self, raw: &str, ty: &str, collection: &str, r: &dyn Resolver) -> Outcome {
        let c = Candidate {
            type_name: ty,
            collection,
            origin: "local",
            raw,
            warninglisted: None,
        };
        self.pol.release(&c, r)
    }

    /// The id `old` leaves with, as [`Resolver::released_id`] says.
    fn target(&self, old: &str) -> Option<String> {
        let (ty, coll, raw) = self.objs.get(old)?;
        match self.release(raw, ty, coll, &MarkingsOnly(self)) {
            Outcome::Send => Some(old.to_owned()),
            Outcome::Redact { raw, .. } => serde_json::from_str::<Value>(&raw).unwrap()["id"]
                .as_str()
                .map(str::to_owned),
            Outcome::Withhold { .. } => None,
        }
    }
}

impl Resolver for Held<'_> {
    fn released_id(&self, partner: &str, old_id: &str) -> Option<String> {
        assert_eq!(partner, self.pol.partner());
        self.target(old_id)
    }

    fn marking(&self, id: &str) -> Marking {
        self.objs
            .get(id)
            .map_or(Marking::Unknown, |(_, _, raw)| definition_marking(raw))
    }
}

fn sco_id(o: &Value) -> String {
    let Value::Object(m) = o.clone() else {
        unreachable!()
    };
    accord_stix::deterministic_sco_id(&accord_stix::Object::from_map(m)).unwrap()
}

fn action() -> impl Strategy<Value = CategoryAction> {
    prop_oneof![
        Just(CategoryAction::Allow),
        Just(CategoryAction::Remove),
        Just(CategoryAction::Truncate),
        Just(CategoryAction::Pseudonymise),
        Just(CategoryAction::Withhold),
    ]
}

/// The e-mail-addr and ipv4-addr observables of an e-mail address and an
/// address, with their UUIDv5 ids.
fn observables(email: &str, ip: &str) -> (Value, Value) {
    let mut e = json!({"type": "email-addr", "spec_version": "2.1", "value": email});
    e["id"] = json!(sco_id(&e));
    let mut i = json!({"type": "ipv4-addr", "spec_version": "2.1", "value": ip});
    i["id"] = json!(sco_id(&i));
    (e, i)
}

/// A random object with secrets planted: (object, e-mail addresses,
/// phone numbers, customer addresses, type). Kind 4 is an observed-data
/// whose `object_refs` name the e-mail-addr and ipv4-addr observables of
/// the planted address and IP (the node holds them, see [`held_for`]).
fn object() -> impl Strategy<Value = (Value, Vec<String>, Vec<String>, String)> {
    (
        0usize..5,
        1u32..9999,
        10u8..250,
        proptest::option::of(0usize..5),
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
                3 => json!({
                    "type": "ipv4-addr", "spec_version": "2.1",
                    "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
                    "value": ip,
                }),
                _ => {
                    let (e, i) = observables(&email, &ip);
                    json!({
                        "type": "observed-data", "spec_version": "2.1",
                        "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
                        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                        "first_observed": "2026-01-01T00:00:00Z", "last_observed": "2026-01-01T00:00:00Z",
                        "number_observed": 1,
                        "object_refs": [e["id"], i["id"]],
                    })
                }
            };
            if let Some(t) = tlp {
                let m = [TLP2_CLEAR, TLP2_GREEN, TLP2_AMBER, TLP2_RED, CUSTOM_RED][t];
                o["object_marking_refs"] = json!([m]);
            }
            let ty = o["type"].as_str().unwrap().to_owned();
            let mut secrets = vec![email.clone(), phone.clone()];
            if kind == 2 {
                secrets.push("Jane Doe".into());
            }
            if kind == 4 {
                // The observables' ids confirm the address and the IP.
                let (e, _) = observables(&email, &ip);
                secrets.push(e["id"].as_str().unwrap().to_owned());
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
        (obj, secrets, ips, ty) in object(),
        personal in action(),
        customer in action(),
    ) {
        let raw = raw_of(&obj);
        let parsed: Value = serde_json::from_str(&raw).unwrap();
        let id = parsed["id"].as_str().unwrap().to_owned();
        let pol = policy("eu", personal, customer);
        // The node holds the observables an observed-data names.
        let mut held = Held::new(&pol);
        let email = secrets[0].clone();
        let (e, i) = observables(&email, &ips[0]);
        held.put("c", &e);
        held.put("c", &i);
        let c = Candidate { type_name: &ty, collection: "c", origin: "local", raw: &raw, warninglisted: None };
        let out = pol.release(&c, &held);
        let red = parsed["object_marking_refs"][0] == TLP2_RED
            || parsed["object_marking_refs"][0] == CUSTOM_RED;
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
            if ty == "observed-data" {
                let iid = i["id"].as_str().unwrap();
                prop_assert!(!text.contains(iid), "the address's id left: {text}");
            }
        }
        if ty == "observed-data" {
            // Each reference left is the id its target leaves with.
            for r in v["object_refs"].as_array().unwrap() {
                let r = r.as_str().unwrap();
                let target = [&e, &i].into_iter().find(|t| {
                    r.starts_with(t["type"].as_str().unwrap())
                }).unwrap();
                let released = held.target(target["id"].as_str().unwrap());
                prop_assert!(released.is_some(), "a reference to a withheld target left: {text}");
                prop_assert_eq!(Some(r), released.as_deref());
            }
        }
        // What leaves is valid STIX.
        let doc = accord_stix::Doc::parse(&sent).unwrap();
        let issues = accord_stix::validate_doc(&doc);
        prop_assert!(accord_stix::is_valid(&issues), "{issues:?}: {sent}");
        // Stable per partner, different across partners.
        prop_assert_eq!(&pol.release(&c, &held), &out);
        if personal == CategoryAction::Pseudonymise && customer == CategoryAction::Pseudonymise
            && let Outcome::Redact { raw: a, .. } = &out
        {
            let us = policy("us", personal, customer);
            let mut held_us = Held::new(&us);
            held_us.put("c", &e);
            held_us.put("c", &i);
            let other = us.release(&c, &held_us);
            let Outcome::Redact { raw: b, .. } = other else { panic!("{other:?}") };
            prop_assert_ne!(a, &b);
        }
    }
}

/// Where the referenced observable is, for the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held4 {
    /// Held, in a shared collection, unmarked.
    Shared,
    /// Held, marked with the custom TLP:RED marking-definition.
    Red,
    /// Held, in a collection not shared with the partner.
    Unshared,
    /// Not held.
    Absent,
}

fn held4() -> impl Strategy<Value = Held4> {
    prop_oneof![
        Just(Held4::Shared),
        Just(Held4::Red),
        Just(Held4::Unshared),
        Just(Held4::Absent),
    ]
}

/// An object referring to `target` in one of several properties.
fn referring(kind: usize, target: &str, other: &str) -> Value {
    let t = "2026-01-01T00:00:00.000Z";
    match kind {
        0 => json!({
            "type": "relationship", "spec_version": "2.1",
            "id": "relationship--6c1b6f55-0b4f-4c3a-9d5e-1f6a4e0f2b11",
            "created": t, "modified": t, "relationship_type": "related-to",
            "source_ref": target, "target_ref": other,
        }),
        1 => json!({
            "type": "note", "spec_version": "2.1",
            "id": "note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "created": t, "modified": t, "content": "see these",
            "object_refs": [target, other],
        }),
        2 => json!({
            "type": "email-message", "spec_version": "2.1",
            "id": "email-message--cf9b4b7f-14c8-5955-8065-020e0316b559",
            "is_multipart": false, "subject": "hello",
            "to_refs": [target],
        }),
        _ => json!({
            "type": "report", "spec_version": "2.1",
            "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
            "created": t, "modified": t, "name": "weekly", "published": t,
            "object_refs": [other, target],
        }),
    }
}

fn policy_shared(
    partner: &str,
    personal: CategoryAction,
    customer: CategoryAction,
) -> OutboundPolicy {
    let residency = Residency {
        customer_ranges: vec!["203.0.113.0/24".into()],
        ..Residency::default()
    };
    OutboundPolicy::new(
        partner,
        Outbound {
            max_tlp: Tlp::AmberStrict,
            collections: vec!["c".into()],
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A reference to an observable the partner receives equals the id it
    /// receives it under; a reference to one it does not receive (withheld:
    /// RED, or in a collection not shared; or not held at all) never names
    /// the original id, and nothing disallowed leaves in either object.
    #[test]
    fn references_follow_the_released_target(
        n in 1u32..9999,
        k in 1u8..250,
        email_target in any::<bool>(),
        state in held4(),
        kind in 0usize..4,
        personal in action(),
        customer in action(),
    ) {
        let email = format!("user{n}@corp.example");
        let ip = format!("203.0.113.{k}");
        let (e, i) = observables(&email, &ip);
        let mut target = if email_target { e.clone() } else { i.clone() };
        if state == Held4::Red {
            target["object_marking_refs"] = json!([CUSTOM_RED]);
        }
        let old = target["id"].as_str().unwrap().to_owned();
        let other = "identity--311b2d2d-f010-4473-83ec-1edf84858f4c";
        let kind = if !email_target && kind == 2 { 1 } else { kind };
        let obj = referring(kind, &old, other);
        let ty = obj["type"].as_str().unwrap().to_owned();
        let pol = policy_shared("eu", personal, customer);
        let mut held = Held::new(&pol);
        match state {
            Held4::Shared | Held4::Red => held.put("c", &target),
            Held4::Unshared => held.put("secret", &target),
            Held4::Absent => {}
        }
        let raw = obj.to_string();
        let out = held.release(&raw, &ty, "c", &held);
        let sent = match &out {
            Outcome::Send => raw.clone(),
            Outcome::Redact { raw, .. } => raw.clone(),
            Outcome::Withhold { .. } => return Ok(()),
        };
        let released_target = held.target(&old);
        if state != Held4::Shared {
            prop_assert_eq!(&released_target, &None, "RED, unshared or absent, and released");
        }
        let act = if email_target { personal } else { customer };
        if act != CategoryAction::Allow {
            prop_assert!(!sent.contains(&old), "the original id left: {sent}");
            prop_assert!(!sent.contains(&email) && precise_customer_ips(&sent).is_empty(), "{sent}");
        }
        // Where the reference is now.
        let v: Value = serde_json::from_str(&sent).unwrap();
        let refs: Vec<String> = ["source_ref", "object_refs", "to_refs"]
            .iter()
            .flat_map(|p| match &v[p] {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
                _ => vec![],
            })
            .filter(|s| s != other)
            .collect();
        match (&released_target, act) {
            (_, CategoryAction::Allow) => prop_assert_eq!(&refs, &vec![old.clone()]),
            (Some(id), _) => prop_assert_eq!(&refs, &vec![id.clone()], "{}", sent),
            (None, CategoryAction::Pseudonymise) => {
                prop_assert_eq!(refs.len(), 1);
                let ty = target["type"].as_str().unwrap();
                prop_assert!(refs[0].starts_with(&format!("{ty}--")) && refs[0] != old, "{sent}");
            }
            (None, _) => prop_assert!(refs.is_empty(), "{sent}"),
        }
        let doc = accord_stix::Doc::parse(&sent).unwrap();
        let issues = accord_stix::validate_doc(&doc);
        prop_assert!(accord_stix::is_valid(&issues), "{issues:?}: {sent}");
    }
}
