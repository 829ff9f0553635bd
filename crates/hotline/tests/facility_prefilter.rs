//! The raw-text prefilter of the facility check never drops a touch: for
//! random objects (values near and far from the facilities, in every form
//! the exact check reads), whenever [`Registry::touches`] finds something,
//! [`Registry::may_touch_raw`] on the object's JSON text says it may.

use accord_hotline::facility::{Facility, Registry};
use proptest::prelude::*;
use serde_json::{Value, json};

fn registry() -> Registry {
    Registry::new(vec![
        Facility {
            name: "Exchange".into(),
            owner: None,
            sector: None,
            jurisdiction: "DE".into(),
            networks: vec!["198.51.100.0/24".into(), "2001:db8:100::/48".into()],
            domains: vec!["exchange.example".into()],
            asns: vec![64500],
        },
        Facility {
            name: "Grid".into(),
            owner: None,
            sector: None,
            jurisdiction: "FR".into(),
            networks: vec!["10.0.0.0/8".into()],
            domains: vec!["grid.example.org".into()],
            asns: vec![],
        },
    ])
    .unwrap()
}

/// Strings near the facilities (and not), in the forms observables take.
fn value() -> impl Strategy<Value = String> {
    let host = prop::sample::select(vec![
        "exchange.example",
        "WWW.Exchange.Example.",
        "grid.example.org",
        "notgrid.example.org",
        "example.org",
        "grid.example",
        "198.51.100.7",
        "198.51.101.7",
        "10.9.8.7",
        "11.0.0.1",
        "2001:db8:100::9",
        "2001:DB8:101::9",
        "::ffff:10.1.2.3",
        "64500",
        "élan.example",
    ]);
    let form = prop::sample::select(vec![
        "{h}",
        "{h}/24",
        "{h}/8",
        "http://{h}/path?q=1",
        "https://user:pw@{h}:8443/",
        "http://[{h}]/",
        "ops@{h}",
        ".{h}",
        "%.{h}",
        " {h}\n",
        "\n{h}",
        "\u{c}{h}",
        "\t{h}\r",
        "x{h}",
    ]);
    (host, form).prop_map(|(h, f)| f.replace("{h}", h))
}

fn object() -> impl Strategy<Value = Value> {
    let sco = (
        prop::sample::select(vec!["ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr"]),
        value(),
    )
        .prop_map(|(t, v)| json!({"type": t, "id": format!("{t}--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0a01"), "value": v}));
    let asn = (64495u32..64505).prop_map(|n| json!({"type": "autonomous-system", "number": n}));
    let path = prop::sample::select(vec![
        "ipv4-addr:value",
        "ipv6-addr:value",
        "domain-name:value",
        "url:value",
        "email-addr:value",
        "network-traffic:dst_ref.value",
        "email-message:from_ref.value",
    ]);
    let op = prop::sample::select(vec!["=", "ISSUBSET", "LIKE", "!="]);
    let pattern = (path, op, value()).prop_map(|(p, op, v)| {
        let lit = v.replace('\\', "\\\\").replace('\'', "\\'");
        json!({
            "type": "indicator",
            "pattern_type": "stix",
            "pattern": format!("[{p} {op} '{lit}']"),
            "created": "2026-12-07T03:41:45.123Z",
        })
    });
    let asn_pattern = (64495u32..64505).prop_map(|n| {
        json!({"type": "indicator", "pattern_type": "stix", "pattern": format!("[autonomous-system:number = {n}]")})
    });
    let observed = prop::collection::vec(value(), 1..3).prop_map(|vs| {
        let objs: serde_json::Map<String, Value> = vs
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), json!({"type": "domain-name", "value": v})))
            .collect();
        json!({"type": "observed-data", "objects": objs})
    });
    prop_oneof![sco, asn, pattern, asn_pattern, observed]
}

/// JSON text with every non-ASCII character and every `.` written as a
/// `\u` escape (what a crafted object could send).
fn escaped(v: &Value) -> String {
    let mut out = String::new();
    for c in serde_json::to_string(v).unwrap().chars() {
        if !c.is_ascii() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

proptest! {
    #[test]
    fn the_raw_prefilter_never_drops_a_touch(v in object()) {
        let r = registry();
        if !r.touches_value(&v).is_empty() {
            let raw = serde_json::to_string(&v).unwrap();
            prop_assert!(r.may_touch_raw(&raw), "plain: {raw}");
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            prop_assert!(r.may_touch_raw(&pretty), "pretty: {pretty}");
            let esc = escaped(&v);
            prop_assert!(r.may_touch_raw(&esc), "escaped: {esc}");
        }
    }
}

/// The generator reaches both sides: objects that touch and objects the
/// prefilter turns away (so the property above is not vacuous, and the
/// prefilter is not `true` for everything).
#[test]
fn the_generator_makes_touches_and_misses() {
    use proptest::strategy::ValueTree;
    let r = registry();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut touches, mut turned_away) = (0, 0);
    for _ in 0..1000 {
        let v = object().new_tree(&mut runner).unwrap().current();
        if !r.touches_value(&v).is_empty() {
            touches += 1;
        }
        if !r.may_touch_raw(&serde_json::to_string(&v).unwrap()) {
            turned_away += 1;
        }
    }
    assert!(touches > 100, "{touches} touches of 1,000");
    assert!(turned_away > 100, "{turned_away} turned away of 1,000");
}
