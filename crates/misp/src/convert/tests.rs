use super::*;
use crate::Limits;
use serde_json::json;

const EV: &str = "57c4445b-c548-4654-af0b-4be3950d210f";

fn attr(uuid: &str, ty: &str, value: &str, to_ids: bool) -> Value {
    json!({"uuid": uuid, "type": ty, "value": value, "to_ids": to_ids,
           "category": "Network activity", "timestamp": "1472541011"})
}

fn event(attrs: Vec<Value>) -> Value {
    json!({"uuid": EV, "info": "test", "date": "2016-08-29", "timestamp": "1472541011",
           "publish_timestamp": "1472548231",
           "Orgc": {"uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f", "name": "CIRCL"},
           "Tag": [{"name": "tlp:amber"}, {"name": "PAP:GREEN"}],
           "Attribute": attrs})
}

/// An [`EventConversion`] with its objects parsed.
#[derive(Debug)]
struct Conv {
    attributes: usize,
    objects: Vec<Value>,
    problems: Vec<Problem>,
}

/// Parses the objects' text: each is one compact JSON object that
/// `serde_json` writes back byte for byte (the text writer escapes as it
/// does and keeps the property order).
fn parsed(c: EventConversion) -> Conv {
    let objects = c.values().expect("every object is JSON");
    for (text, v) in c.objects.iter().zip(&objects) {
        assert!(v.is_object(), "{text}");
        assert_eq!(&v.to_string(), text);
    }
    Conv {
        attributes: c.attributes,
        objects,
        problems: c.problems,
    }
}

fn conv(ev: &Value) -> Conv {
    parsed(convert_value(ev, &Limits::default(), &NoAttack))
}

/// Converts `ev` (its first event) through its JSON text, checking on the
/// way that its layout changes nothing ([`converts_alike`]).
fn convert_value(ev: &Value, limits: &Limits, attack: &dyn AttackLookup) -> EventConversion {
    let text = ev.to_string();
    converts_alike(text.as_bytes(), limits, attack);
    let evs = crate::parse_document(text.as_bytes(), limits).expect("a MISP event");
    convert_event(&evs[0], limits, attack)
}

/// Everything converting `bytes` gives, as text: per event its uuid,
/// attribute count, problems, objects (byte for byte) and feed hashes; or
/// that the document was refused.
fn conversion_of(bytes: &[u8], limits: &Limits, attack: &dyn AttackLookup) -> String {
    use std::fmt::Write as _;
    let evs = match crate::parse_document(bytes, limits) {
        Ok(evs) => evs,
        Err(_) => return "not a MISP document".to_owned(),
    };
    let mut out = String::new();
    for ev in &evs {
        let c = convert_event(ev, limits, attack);
        let _ = writeln!(out, "event {:?}: {} attributes", c.uuid, c.attributes);
        for p in &c.problems {
            let _ = writeln!(out, "problem {p:?}");
        }
        for o in &c.objects {
            let _ = writeln!(out, "{o}");
        }
        let _ = writeln!(out, "feed hashes {:?}", crate::feed_hashes(ev));
    }
    out
}

/// Converting `bytes` gives the same each time, and the same as the same
/// JSON pretty-printed (where it is JSON a `Value` holds): layout never
/// changes what an event converts to.
fn converts_alike(bytes: &[u8], limits: &Limits, attack: &dyn AttackLookup) {
    let once = conversion_of(bytes, limits, attack);
    assert_eq!(once, conversion_of(bytes, limits, attack));
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        let pretty = serde_json::to_string_pretty(&v).expect("a Value serializes");
        assert_eq!(
            once,
            conversion_of(pretty.as_bytes(), limits, attack),
            "{pretty}"
        );
    }
}

/// Every object validates under Accord's validator (no errors).
fn assert_valid(objs: &[Value]) {
    for o in objs {
        let obj = accord_stix::Object::from_value(o.clone()).unwrap();
        let issues = accord_stix::validate_object(&obj);
        assert!(accord_stix::is_valid(&issues), "{o}\n{issues:?}");
    }
}

fn by_id<'a>(c: &'a Conv, id: &str) -> &'a Value {
    c.objects
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {:#?}", c.objects))
}

const U: &str = "57c4448a-fb04-457d-87e7-4127950d210f";

#[test]
fn composite_types_are_one_pattern() {
    let h = "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "filename|sha256",
            format!("a.exe|{h}"),
            "[file:name = 'a.exe' AND file:hashes.'SHA-256' = '",
        ),
        (
            "filename|md5",
            "a.exe|0749bae92ca336a02c83d126e04ec628".into(),
            "file:hashes.'MD5' = '0749",
        ),
        (
            "filename|sha1",
            "a.exe|77b0c41b7d340b8a3d903f21347bbf06aa766b5b".into(),
            "file:hashes.'SHA-1'",
        ),
        (
            "ip-dst|port",
            "198.51.100.7|443".into(),
            "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]",
        ),
        (
            "ip-src|port",
            "2001:db8::1|22".into(),
            "network-traffic:src_ref.type = 'ipv6-addr'",
        ),
        (
            "domain|ip",
            "evil.example|198.51.100.7".into(),
            "[domain-name:value = 'evil.example' AND domain-name:resolves_to_refs[*].value = '198.51.100.7']",
        ),
        (
            "hostname|port",
            "c2.evil.example|8080".into(),
            "network-traffic:dst_port = 8080",
        ),
        (
            "regkey|value",
            "HKLM\\Run|x.exe".into(),
            "windows-registry-key:values[*].data = 'x.exe'",
        ),
    ];
    for (ty, v, needle) in cases {
        let c = conv(&event(vec![attr(U, ty, &v, true)]));
        assert!(c.problems.is_empty(), "{ty}: {:?}", c.problems);
        let ind = by_id(&c, &format!("indicator--{U}"));
        let p = ind["pattern"].as_str().unwrap();
        assert!(p.contains(needle), "{ty}: {p}");
        accord_pattern_ok(p);
        assert_valid(&c.objects);
        // Not IDS: observed-data with cyber-observables.
        let c = conv(&event(vec![attr(U, ty, &v, false)]));
        assert!(c.problems.is_empty(), "{ty}: {:?}", c.problems);
        let od = by_id(&c, &format!("observed-data--{U}"));
        for r in od["object_refs"].as_array().unwrap() {
            by_id(&c, r.as_str().unwrap());
        }
        assert_valid(&c.objects);
    }
}

fn accord_pattern_ok(p: &str) {
    let o = json!({"type": "indicator", "spec_version": "2.1", "id": "indicator--57c4448a-fb04-457d-87e7-4127950d210f",
        "created": "2016-08-29T00:00:00.000Z", "modified": "2016-08-29T00:00:00.000Z",
        "pattern": p, "pattern_type": "stix", "valid_from": "2016-08-29T00:00:00.000Z"});
    assert_valid(&[o]);
}

#[test]
fn single_types_and_rules() {
    for (ty, v) in [
        ("ip-dst", "198.51.100.7"),
        ("domain", "evil.example"),
        ("hostname", "a.evil.example"),
        ("url", "http://evil.example/x?a='b'"),
        ("md5", "0749bae92ca336a02c83d126e04ec628"),
        ("email-src", "a@evil.example"),
        ("mutex", "Global\\x"),
        ("AS", "AS13335"),
        ("mac-address", "AA:BB:CC:DD:EE:FF"),
        ("port", "4444"),
        ("filename", "it's.exe"),
        ("email-subject", "Invoice"),
        ("regkey", "HKLM\\Software"),
        ("imphash", "0749bae92ca336a02c83d126e04ec628"),
        (
            "x509-fingerprint-sha1",
            "77b0c41b7d340b8a3d903f21347bbf06aa766b5b",
        ),
        ("ssdeep", "96:abc:def"),
        ("pehash", "ffb7a38174aab4744cc4a509e34800aee9be8e57"),
        (
            "sha512/256",
            "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68",
        ),
    ] {
        for ids in [true, false] {
            let c = conv(&event(vec![attr(U, ty, v, ids)]));
            assert!(c.problems.is_empty(), "{ty}: {:?}", c.problems);
            assert_valid(&c.objects);
        }
    }
    for ty in ["snort", "yara", "sigma", "suricata"] {
        let c = conv(&event(vec![attr(
            U,
            ty,
            "rule x { condition: true }",
            false,
        )]));
        let ind = by_id(&c, &format!("indicator--{U}"));
        assert_eq!(ind["pattern_type"], ty);
        assert_valid(&c.objects);
    }
    let c = conv(&event(vec![attr(U, "text", "free text", false)]));
    assert_eq!(by_id(&c, &format!("note--{U}"))["content"], "free text");
    assert_valid(&c.objects);
    let c = conv(&event(vec![attr(
        U,
        "vulnerability",
        "cve-2017-0199",
        false,
    )]));
    assert!(
        by_id(&c, &format!("vulnerability--{U}"))["external_references"]
            .to_string()
            .contains("CVE-2017-0199")
    );
    assert_valid(&c.objects);
}

#[test]
fn tlp_tags_map_to_tlp2() {
    assert_eq!(
        tlp_marking("tlp:white").unwrap().1,
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
    );
    assert_eq!(
        tlp_marking("tlp:clear").unwrap().1,
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
    );
    assert_eq!(
        tlp_marking("TLP:GREEN").unwrap().1,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    );
    assert_eq!(
        tlp_marking("tlp:amber").unwrap().1,
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    );
    assert_eq!(
        tlp_marking("tlp:amber+strict").unwrap().1,
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    );
    assert_eq!(
        tlp_marking("tlp:red").unwrap().1,
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    );
    assert!(tlp_marking("tlp:ex:chr").is_none());
    assert!(tlp_marking("PAP:RED").is_none());
    // The event's TLP (amber) reaches the indicator; PAP is a label.
    let c = conv(&event(vec![attr(U, "domain", "evil.example", true)]));
    let ind = by_id(&c, &format!("indicator--{U}"));
    assert_eq!(
        ind["object_marking_refs"],
        json!(["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"])
    );
    let rep = by_id(&c, &format!("report--{EV}"));
    assert_eq!(rep["labels"], json!(["PAP:GREEN"]));
    // The attribute's own TLP wins; the highest of several counts.
    let mut a = attr(U, "domain", "evil.example", true);
    a["Tag"] = json!([{"name": "tlp:green"}, {"name": "tlp:red"}, {"name": "kill-chain:x"}]);
    let c = conv(&event(vec![a]));
    let ind = by_id(&c, &format!("indicator--{U}"));
    assert_eq!(
        ind["object_marking_refs"],
        json!(["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"])
    );
    assert!(ind["labels"].to_string().contains("kill-chain:x"));
}

#[test]
fn bad_values_are_reported_and_skipped() {
    let good = "57c4448a-bef0-4ba7-a071-444e950d210f";
    let c = conv(&event(vec![
        attr(
            "57c4448b-454c-4d17-90d1-4d2f950d210f",
            "ip-dst",
            "300.1.2.3",
            true,
        ),
        attr(
            "57c4448b-3fa4-4d65-9ccc-4afa950d210f",
            "md5",
            "0749bae92ca336a02c83d126e04ec62",
            true,
        ),
        attr(
            "57c54b0f-27a4-458b-8e63-4455950d210f",
            "no-such-type",
            "x",
            true,
        ),
        attr("not-a-uuid", "domain", "evil.example", true),
        attr(
            "57c5300c-0560-4146-bfaa-40e802de0b81",
            "ip-dst|port",
            "1.2.3.4|99999",
            true,
        ),
        attr(good, "domain", "evil.example", true),
        attr(good, "domain", "other.example", true),
    ]));
    assert!(
        c.problems[5]
            .to_string()
            .contains("a second attribute with this uuid"),
        "{:?}",
        c.problems[5]
    );
    assert_eq!(c.problems.len(), 6, "{:#?}", c.problems);
    let text: Vec<String> = c.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text[0].contains(EV)
            && text[0].contains("57c4448b-454c-4d17-90d1-4d2f950d210f")
            && text[0].contains("300.1.2.3"),
        "{}",
        text[0]
    );
    assert!(text[1].contains("31 hex digits"), "{}", text[1]);
    assert!(
        text[2].contains("unknown attribute type `no-such-type`"),
        "{}",
        text[2]
    );
    assert!(text[3].contains("broken uuid `not-a-uuid`"), "{}", text[3]);
    assert!(text[4].contains("port"), "{}", text[4]);
    by_id(&c, &format!("indicator--{good}"));
    assert_eq!(c.attributes, 7);
    assert_valid(&c.objects);
}

#[test]
fn same_event_same_objects_newer_timestamp_new_version() {
    let ev = event(vec![attr(U, "domain", "evil.example", true)]);
    let a = conv(&ev);
    let b = conv(&ev);
    assert_eq!(a.objects, b.objects);
    let mut ev2 = ev.clone();
    ev2["Attribute"][0]["timestamp"] = json!("1472541999");
    ev2["timestamp"] = json!("1472541999");
    let c = conv(&ev2);
    let (i1, i2) = (
        by_id(&a, &format!("indicator--{U}")),
        by_id(&c, &format!("indicator--{U}")),
    );
    assert_eq!(i1["created"], i2["created"]);
    assert_ne!(i1["modified"], i2["modified"]);
    assert_eq!(i1["created"], "2016-08-29T00:00:00.000Z");
    assert!(
        i1["external_references"]
            .to_string()
            .contains(&format!("\"external_id\":\"{U}\""))
    );
}

#[test]
fn objects_references_sightings_and_attack() {
    let ev = json!({"uuid": EV, "info": "objs", "timestamp": "1513948642", "date": "2017-12-21",
    "Galaxy": [{"type": "mitre-attack-pattern", "GalaxyCluster": [
        {"value": "Command-Line Interface - T1059", "tag_name": "misp-galaxy:mitre-attack-pattern=\"Command-Line Interface - T1059\"", "meta": {"external_id": ["T1059"]}},
        {"value": "Sofacy", "tag_name": "misp-galaxy:threat-actor=\"Sofacy\""}]}],
    "Tag": [{"name": "misp-galaxy:mitre-attack-pattern=\"PowerShell - T1059.001\""}],
    "Attribute": [{"uuid": "5b6464ca-e73c-4707-9b8a-d0350acd0835", "type": "domain", "value": "a.example", "to_ids": true, "timestamp": "1513948642",
        "Sighting": [{"uuid": "5c7641bf-a4e8-4d5d-a653-03240a00020f", "type": "0", "date_sighting": "1551253950",
            "Organisation": {"uuid": "5c6983c8-3af8-4304-869c-4800d6c1883c", "name": "ORGNAME"}},
            {"uuid": "5c7641c7-f020-4643-92b4-03240a00020f", "type": "1", "date_sighting": "1551253959"}]}],
    "Object": [
        {"uuid": "5a3cd5b6-9568-4342-b2ab-4c62950d210f", "name": "file", "meta-category": "file", "timestamp": "1513936310",
         "Attribute": [
            {"uuid": "5a3cd5b6-04a4-4c9c-9b3a-4c62950d210f", "object_relation": "filename", "type": "filename", "value": "Bulletin.doc", "to_ids": true},
            {"uuid": "5a3cd5b6-1d48-4bd8-9a3b-4c62950d210f", "object_relation": "sha1", "type": "sha1", "value": "68064fc152e23d56e541714af52651cb4ba81aaf", "to_ids": true},
            {"uuid": "5a3cd5b6-2e58-4b2a-a4b5-4c62950d210f", "object_relation": "state", "type": "text", "value": "Malicious", "to_ids": false}],
         "ObjectReference": [{"uuid": "5a3cd5b7-0000-4000-8000-4c62950d210f", "referenced_uuid": "5a3d0a1c-1234-4cc5-86d4-4c62950d210f", "relationship_type": "connects-to"},
                             {"uuid": "5a3cd5b7-0001-4000-8000-4c62950d210f", "referenced_uuid": "5a3d0a1c-ffff-4cc5-86d4-4c62950d210f", "relationship_type": "drops"}]},
        {"uuid": "5a3d0a1c-1234-4cc5-86d4-4c62950d210f", "name": "domain-ip", "meta-category": "network", "timestamp": "1513949212",
         "Attribute": [
            {"uuid": "5a3d0a1c-aaaa-4cc5-86d4-4c62950d210f", "object_relation": "ip", "type": "ip-dst", "value": "198.51.100.7", "to_ids": false},
            {"uuid": "5a3d0a1c-bbbb-4cc5-86d4-4c62950d210f", "object_relation": "domain", "type": "domain", "value": "c2.example", "to_ids": false}]},
        {"uuid": "5a3d0a1c-cccc-4cc5-86d4-4c62950d210f", "name": "person", "meta-category": "misc", "timestamp": "1513949212",
         "Attribute": [{"uuid": "5a3d0a1c-dddd-4cc5-86d4-4c62950d210f", "object_relation": "first-name", "type": "first-name", "value": "X", "to_ids": false}]}
    ]});
    let lookup = |t: &str| {
        (t == "T1059").then(|| "attack-pattern--7385dfaf-6886-4229-9ecd-6fd678040830".to_owned())
    };
    let c = parsed(convert_value(&ev, &Limits::default(), &lookup));
    assert_valid(&c.objects);
    let f = by_id(&c, "indicator--5a3cd5b6-9568-4342-b2ab-4c62950d210f");
    assert_eq!(
        f["pattern"],
        "[file:name = 'Bulletin.doc' AND file:hashes.'SHA-1' = '68064fc152e23d56e541714af52651cb4ba81aaf']"
    );
    assert!(
        f["description"]
            .as_str()
            .unwrap()
            .contains("state: Malicious")
    );
    by_id(&c, "observed-data--5a3d0a1c-1234-4cc5-86d4-4c62950d210f");
    let g = by_id(&c, "grouping--5a3d0a1c-cccc-4cc5-86d4-4c62950d210f");
    assert_eq!(
        g["object_refs"],
        json!(["note--5a3d0a1c-dddd-4cc5-86d4-4c62950d210f"])
    );
    let r = by_id(&c, "relationship--5a3cd5b7-0000-4000-8000-4c62950d210f");
    assert_eq!(
        r["source_ref"],
        "indicator--5a3cd5b6-9568-4342-b2ab-4c62950d210f"
    );
    assert_eq!(
        r["target_ref"],
        "observed-data--5a3d0a1c-1234-4cc5-86d4-4c62950d210f"
    );
    assert!(
        c.problems
            .iter()
            .any(|p| matches!(p.kind, ProblemKind::DanglingReference(_)))
    );
    assert!(
        c.problems
            .iter()
            .any(|p| p.to_string().contains("false-positive sighting"))
    );
    let s = by_id(&c, "sighting--5c7641bf-a4e8-4d5d-a653-03240a00020f");
    assert_eq!(
        s["sighting_of_ref"],
        "indicator--5b6464ca-e73c-4707-9b8a-d0350acd0835"
    );
    assert_eq!(
        s["where_sighted_refs"],
        json!(["identity--5c6983c8-3af8-4304-869c-4800d6c1883c"])
    );
    let rep = by_id(&c, &format!("report--{EV}"));
    let ext = rep["external_references"].to_string();
    assert!(
        ext.contains("\"source_name\":\"mitre-attack\",\"external_id\":\"T1059\""),
        "{ext}"
    );
    assert!(ext.contains("T1059.001"), "{ext}");
    let refs = rep["object_refs"].as_array().unwrap();
    assert!(refs.contains(&json!(
        "attack-pattern--7385dfaf-6886-4229-9ecd-6fd678040830"
    )));
    assert!(rep["labels"].to_string().contains("Sofacy"));
    // Every ref of the report is an object of the conversion or the resolved technique.
    for r in refs {
        let r = r.as_str().unwrap();
        assert!(
            r.starts_with("attack-pattern--") || c.objects.iter().any(|o| o["id"] == r),
            "{r}"
        );
    }
}

#[test]
fn bounds_hold() {
    let limits = Limits {
        max_attributes: 3,
        max_value_bytes: 10,
        ..Limits::default()
    };
    let mut attrs = vec![attr(U, "domain", "a-very-long-domain.example", true)];
    for i in 0..5 {
        attrs.push(attr(
            &format!("57c4448a-fb04-457d-87e7-4127950d21{i:02}"),
            "domain",
            "a.example",
            true,
        ));
    }
    let c = parsed(convert_value(&event(attrs), &limits, &NoAttack));
    assert_eq!(c.attributes, 3);
    assert!(
        c.problems
            .iter()
            .any(|p| p.to_string().contains("3 attributes beyond the limit")),
        "{:?}",
        c.problems
    );
    assert!(
        c.problems
            .iter()
            .any(|p| p.to_string().contains("more than the limit of 10"))
    );
}

#[test]
fn technique_ids() {
    assert_eq!(
        technique_id("misp-galaxy:mitre-attack-pattern=\"Command-Line Interface - T1059\"")
            .as_deref(),
        Some("T1059")
    );
    assert_eq!(
        technique_id("PowerShell - T1059.001").as_deref(),
        Some("T1059.001")
    );
    assert_eq!(technique_id("T1059"), Some("T1059".into()));
    assert_eq!(technique_id("Sofacy"), None);
    assert_eq!(technique_id("T10590"), None);
}

proptest::proptest! {
    #[test]
    fn arbitrary_json_never_panics(s in "\\PC{0,400}") {
        converts_alike(s.as_bytes(), &Limits::default(), &NoAttack);
        if let Ok(evs) = crate::parse_document(s.as_bytes(), &Limits::default()) {
            for e in &evs { let _ = convert_event(e, &Limits::default(), &NoAttack); }
        }
    }

    #[test]
    fn arbitrary_attributes_never_panic(
        ty in proptest::sample::select(crate::MISP_TYPES.to_vec()),
        value in "\\PC{0,60}",
        ids in proptest::bool::ANY,
        uuid in proptest::prop_oneof![proptest::strategy::Just(U.to_owned()), "[0-9a-f-]{0,40}"],
    ) {
        let c = conv(&event(vec![attr(&uuid, ty, &value, ids)]));
        for o in &c.objects {
            let obj = accord_stix::Object::from_value(o.clone()).unwrap();
            let issues = accord_stix::validate_object(&obj);
            proptest::prop_assert!(accord_stix::is_valid(&issues), "{} {:?}", o, issues);
        }
    }
}

#[test]
fn an_event_of_100000_attributes_converts_whole() {
    let attrs: Vec<Value> = (0..100_000u32)
        .map(|i| {
            attr(
                &format!("57c4448a-fb04-457d-87e7-{i:012x}"),
                "domain",
                &format!("d{i}.example"),
                i % 2 == 0,
            )
        })
        .collect();
    let c = conv(&event(attrs));
    assert!(
        c.problems.is_empty(),
        "{:?}",
        &c.problems[..c.problems.len().min(3)]
    );
    assert_eq!(c.attributes, 100_000);
    // 50,000 indicators, 50,000 observed-data with one domain-name each,
    // the identity and the report in 3 parts of 50,000 refs.
    assert_eq!(c.objects.len(), 150_004);
    let rep = c.objects.last().unwrap();
    assert_eq!(rep["id"], format!("report--{EV}"));
    assert_eq!(rep["name"], "test (part 1 of 3)");
    let parts: Vec<&Value> = c.objects.iter().filter(|o| o["type"] == "report").collect();
    assert_eq!(parts.len(), 3);
    let total: usize = parts
        .iter()
        .map(|p| p["object_refs"].as_array().unwrap().len())
        .sum();
    assert_eq!(total, 150_000);
    assert_valid(&parts.into_iter().cloned().collect::<Vec<_>>());
}

/// The conversion alone on a MISP feed directory (`ACCORD_MISP_FEED`, e.g.
/// the one `bench/misp_import.sh` generates): JSON parse and conversion,
/// no serialization or store. `cargo test --release -p accord-misp --lib
/// conversion_rate -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; needs ACCORD_MISP_FEED"]
fn conversion_rate() {
    let Some(dir) = std::env::var_os("ACCORD_MISP_FEED") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("manifest.json"));
    files.sort();
    // ACCORD_MISP_DUMP: every object written there as a JSON line, to
    // compare two builds' output byte for byte.
    let mut dump = std::env::var_os("ACCORD_MISP_DUMP")
        .map(|p| std::io::BufWriter::new(std::fs::File::create(p).unwrap()));
    let bytes: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let t = std::time::Instant::now();
    let (mut attrs, mut objs, mut ser) = (0usize, 0usize, 0usize);
    for b in &bytes {
        for ev in crate::parse_document(b, &Limits::default()).unwrap() {
            let c = convert_event(&ev, &Limits::default(), &NoAttack);
            attrs += c.attributes;
            objs += c.objects.len();
            for text in &c.objects {
                ser += text.len();
                if let Some(d) = &mut dump {
                    use std::io::Write;
                    d.write_all(text.as_bytes()).unwrap();
                    d.write_all(b"\n").unwrap();
                }
            }
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{attrs} attributes, {objs} objects, {ser} bytes in {s:.2} s: {:.0} attributes/s, {:.0} objects/s (parse, convert, serialize)",
        attrs as f64 / s,
        objs as f64 / s
    );
}

/// Every MISP sample of the shared data directory (`ACCORD_MISP_SAMPLES`,
/// else `/work/shared/data/misp` beside the repository), the fuzz seeds and
/// the fuzz regressions convert to what they converted to when the typed
/// parse replaced the `serde_json::Value` walk (checked equal to it byte
/// for byte then): the SHA-256 of [`conversion_of`] each, with default and
/// with tight limits, is in `tests/golden-conversions.txt`. A deliberate
/// change of the mapping rewrites that file:
/// `ACCORD_MISP_GOLDEN=update cargo test -p accord-misp samples_convert`
/// (then read its diff: every line that moved is a sample whose STIX
/// changed).
#[test]
fn samples_convert_as_recorded() {
    use sha2::{Digest, Sha256};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [root.join("../../fuzz/seeds/misp_event"), root.join("tests")] {
        json_files(&dir, &mut files);
    }
    let shared = std::env::var_os("ACCORD_MISP_SAMPLES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("../../../shared/data/misp"));
    let have_shared = shared.is_dir();
    if have_shared {
        json_files(&shared, &mut files);
    } else {
        eprintln!("no {}: shared MISP samples skipped", shared.display());
    }
    assert!(files.len() >= 4, "{files:?}");
    let lookup = |t: &str| {
        (t == "T1059").then(|| "attack-pattern--7385dfaf-6886-4229-9ecd-6fd678040830".to_owned())
    };
    // Tight bounds: the limit problems are held too.
    let tight = Limits {
        max_attributes: 5,
        max_objects: 2,
        max_value_bytes: 20,
        max_text_bytes: 10,
        max_tags: 1,
        max_sightings: 1,
        max_report_refs: 3,
        ..Limits::default()
    };
    let name = |f: &std::path::Path| match f.strip_prefix(&shared) {
        Ok(rel) => format!("shared:{}", rel.display()),
        Err(_) => f.strip_prefix(root).unwrap_or(f).display().to_string(),
    };
    let mut got = std::collections::BTreeMap::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        converts_alike(&bytes, &Limits::default(), &lookup);
        for (which, limits, attack) in [
            ("default", &Limits::default(), &lookup as &dyn AttackLookup),
            ("tight", &tight, &NoAttack),
        ] {
            let digest = Sha256::digest(conversion_of(&bytes, limits, attack).as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            got.insert(format!("{} {which}", name(f)), hex);
        }
    }
    let golden_path = root.join("tests/golden-conversions.txt");
    if std::env::var("ACCORD_MISP_GOLDEN").as_deref() == Ok("update") {
        assert!(
            have_shared,
            "update the golden file with the shared samples present"
        );
        let text: String = got.iter().map(|(k, v)| format!("{v} {k}\n")).collect();
        std::fs::write(&golden_path, text).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&golden_path).unwrap();
    let want: std::collections::BTreeMap<String, String> = golden
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(h, k)| (k.to_owned(), h.to_owned()))
        .collect();
    for (k, v) in &got {
        assert_eq!(
            want.get(k),
            Some(v),
            "{k}: converts otherwise than recorded in {} (a deliberate change: see this test's doc)",
            golden_path.display()
        );
    }
    // Every recorded sample was converted (the shared ones when present).
    for k in want.keys() {
        assert!(
            got.contains_key(k) || (!have_shared && k.starts_with("shared:")),
            "{k} is recorded but was not found"
        );
    }
}

fn json_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// A JSON value of any type for a field MISP usually gives as `good`.
fn odd(good: Vec<Value>) -> impl proptest::strategy::Strategy<Value = Option<Value>> {
    use proptest::prelude::*;
    let good = proptest::sample::select(good);
    prop_oneof![
        4 => good.prop_map(Some),
        1 => Just(None),
        1 => prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (0u64..3).prop_map(Value::from),
            Just(serde_json::from_str::<Value>("1.50e3").unwrap()),
            Just(serde_json::from_str::<Value>("1472541011.0").unwrap()),
            Just(serde_json::from_str::<Value>("-0").unwrap()),
            Just(json!("1")),
            Just(json!("True")),
            Just(json!(" 1472541011 ")),
            Just(json!("a\"b\\c\u{e9}\n")),
            Just(json!([])),
            Just(json!(["T1059", 3, "x"])),
            Just(json!({})),
            Just(json!({"name": "tlp:red", "uuid": U})),
        ]
        .prop_map(Some),
    ]
}

fn put(m: &mut serde_json::Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.to_owned(), v);
    }
}

/// An attribute with fields of odd JSON types.
fn odd_attr() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    (
        (odd(vec![json!(U), json!("57c4448a-fb04-457d-87e7-4127950d2100"), json!("57C4448A-FB04-457D-87E7-4127950D2101"), json!("bad")]),
        odd(vec![json!("ip-dst"), json!("domain"), json!("md5"), json!("port"), json!("text"), json!("filename|sha1"), json!("vulnerability"), json!("yara"), json!("nope")]),
        odd(vec![json!("1.2.3.4"), json!("evil.example"), json!("0749bae92ca336a02c83d126e04ec628"), json!(80), json!("CVE-2016-1234"), json!("x.exe|da39a3ee5e6b4b0d3255bfef95601890afd80709"), json!("rule a {}"), json!("  ")]),
        odd(vec![json!(true), json!(false), json!("1"), json!("0"), json!(1)]),
        odd(vec![json!("1472541011"), json!(1472541011), json!("-5")]),
        odd(vec![json!("Network activity")])),
        odd(vec![json!("a comment"), json!("")]),
        odd(vec![json!(false), json!("1")]),
        odd(vec![json!([{"name": "tlp:green"}, {"name": "my tag"}, {"name": 3}, "x"])]),
        odd(vec![json!([{"uuid": "5d1c5d6e-1111-4c6b-9a2c-0a1b2c3d4e5f", "type": "0", "date_sighting": "1472541111", "source": "s", "Organisation": {"uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f", "name": "CIRCL"}}, {"uuid": "5d1c5d6e-2222-4c6b-9a2c-0a1b2c3d4e5f", "type": "1"}, 7])]),
        odd(vec![json!([{"GalaxyCluster": [{"tag_name": "misp-galaxy:mitre-attack-pattern=\"X - T1059\"", "meta": {"external_id": ["T1059"]}}, {"value": "Sofacy", "tag_name": "misp-galaxy:threat-actor=\"Sofacy\""}]}])]),
        odd(vec![json!("ip-dst"), json!("domain"), json!("filename"), json!("md5"), json!("dst-port")]),
    )
        .prop_map(|((uuid, ty, value, to_ids, ts, cat), comment, deleted, tags, sightings, galaxies, rel)| {
            let mut m = serde_json::Map::new();
            put(&mut m, "uuid", uuid);
            put(&mut m, "type", ty);
            put(&mut m, "value", value);
            put(&mut m, "to_ids", to_ids);
            put(&mut m, "timestamp", ts);
            put(&mut m, "category", cat);
            put(&mut m, "comment", comment);
            put(&mut m, "deleted", deleted);
            put(&mut m, "Tag", tags);
            put(&mut m, "Sighting", sightings);
            put(&mut m, "Galaxy", galaxies);
            put(&mut m, "object_relation", rel);
            Value::Object(m)
        })
}

/// An event with fields of odd JSON types, attributes, an object and
/// references.
fn odd_event() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    (
        odd(vec![json!(EV), json!("nope")]),
        odd(vec![json!("1472541011"), json!(1472541011)]),
        odd(vec![json!("2016-08-29"), json!("2016-13-01")]),
        odd(vec![json!("1472548231"), json!(0)]),
        odd(vec![json!("an event"), json!(" ")]),
        (odd(vec![json!({"uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f", "name": "CIRCL"})]),
        odd(vec![json!([{"name": "tlp:amber"}, {"name": "misp-galaxy:mitre-attack-pattern=\"Y - T1059.001\""}])]),
        proptest::collection::vec(odd_attr(), 0..5),
        proptest::collection::vec(odd_attr(), 0..4),
        odd(vec![json!("file"), json!("domain-ip"), json!("ip-port"), json!("other")]),
        odd(vec![json!("5d1c5d6e-3333-4c6b-9a2c-0a1b2c3d4e5f")]),
        odd(vec![json!([{"uuid": "5d1c5d6e-4444-4c6b-9a2c-0a1b2c3d4e5f", "referenced_uuid": U, "relationship_type": "Related To", "timestamp": "1472541012"}, {"referenced_uuid": "57c4448a-fb04-457d-87e7-4127950d2100"}, {"referenced_uuid": 5}])]),
        any::<bool>()),
    )
        .prop_map(|(uuid, ts, date, pts, info, (orgc, tags, attrs, oattrs, oname, ouuid, refs, wrap))| {
            let mut m = serde_json::Map::new();
            put(&mut m, "uuid", uuid);
            put(&mut m, "timestamp", ts);
            put(&mut m, "date", date);
            put(&mut m, "publish_timestamp", pts);
            put(&mut m, "info", info);
            put(&mut m, "Orgc", orgc);
            put(&mut m, "Tag", tags);
            m.insert("Attribute".into(), Value::from(attrs));
            let mut o = serde_json::Map::new();
            put(&mut o, "name", oname);
            put(&mut o, "uuid", ouuid);
            put(&mut o, "ObjectReference", refs);
            o.insert("meta-category".into(), json!("network"));
            o.insert("Attribute".into(), Value::from(oattrs));
            m.insert("Object".into(), json!([Value::Object(o), "not an object"]));
            m.insert("unknown".into(), json!({"deep": [1, {"x": null}]}));
            let ev = Value::Object(m);
            if wrap { json!({"response": [{"Event": ev}]}) } else { ev }
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    /// Events whose fields have odd JSON types convert without a panic,
    /// the same whatever the layout, and the same bare or in a REST
    /// `response`.
    #[test]
    fn odd_events_convert_alike(ev in odd_event()) {
        let lookup = |t: &str| {
            (t == "T1059").then(|| "attack-pattern--7385dfaf-6886-4229-9ecd-6fd678040830".to_owned())
        };
        converts_alike(ev.to_string().as_bytes(), &Limits::default(), &lookup);
        let bare = match &ev {
            Value::Object(m) => m.get("response").and_then(|r| r.get(0)).and_then(|e| e.get("Event")).cloned(),
            _ => None,
        };
        if let Some(bare) = bare {
            proptest::prop_assert_eq!(
                conversion_of(ev.to_string().as_bytes(), &Limits::default(), &lookup),
                conversion_of(bare.to_string().as_bytes(), &Limits::default(), &lookup)
            );
        }
    }
}
