//! The cases of the differential test: each shared bundle as it is, and
//! invalid (and a few valid) variants derived from real objects of those
//! bundles. A table of data, kept apart from the test's machinery.

use super::{Case, bundle, shared_bundles, spec_examples};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

fn set(o: &Value, f: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut o = o.clone();
    f(o.as_object_mut().unwrap());
    o
}

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let bundles = shared_bundles();
    // (a) the shared bundles as they are.
    for (name, doc) in &bundles {
        cases.push(Case {
            name: format!("bundle:{name}"),
            doc: doc.clone(),
        });
    }
    // One sample object per type: the first in file order.
    let mut samples: BTreeMap<String, Value> = BTreeMap::new();
    for (_, doc) in &bundles {
        // A document is a bundle or a single object.
        let objects = match doc.get("objects").and_then(Value::as_array) {
            Some(a) => a.clone(),
            None => vec![doc.clone()],
        };
        for o in &objects {
            let t = o["type"].as_str().unwrap_or_default().to_owned();
            samples.entry(t).or_insert_with(|| o.clone());
        }
    }
    for o in spec_examples() {
        samples
            .entry(o["type"].as_str().unwrap().to_owned())
            .or_insert(o);
    }
    let mut add = |name: String, obj: Value| {
        cases.push(Case {
            name,
            doc: bundle(vec![obj]),
        })
    };
    // (b1) each sample alone, then without each of its properties in turn.
    for (t, o) in &samples {
        add(format!("{t}:as-is"), o.clone());
        for k in o.as_object().unwrap().keys() {
            add(
                format!("{t}:drop:{k}"),
                set(o, |m| {
                    m.remove(k);
                }),
            );
        }
    }
    let s = |t: &str| samples[t].clone();
    let ind = s("indicator");
    // (b2) identifiers.
    add(
        "indicator:id-bad-uuid".into(),
        set(&ind, |m| {
            m.insert("id".into(), json!("indicator--not-a-uuid"));
        }),
    );
    add(
        "indicator:id-wrong-type".into(),
        set(&ind, |m| {
            m.insert(
                "id".into(),
                json!("malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    add(
        "indicator:id-uuid-variant".into(),
        set(&ind, |m| {
            m.insert(
                "id".into(),
                json!("indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f"),
            );
        }),
    );
    // (b3) timestamps.
    for (label, ts) in [
        ("no-z", "2016-04-06T20:03:48.000"),
        ("offset", "2016-04-06T20:03:48.000+00:00"),
        ("month-13", "2016-13-06T20:03:48.000Z"),
        ("feb-30", "2016-02-30T20:03:48.000Z"),
        ("no-millis", "2016-04-06T20:03:48Z"),
        ("date-only", "2016-04-06"),
    ] {
        add(
            format!("indicator:created-{label}"),
            set(&ind, |m| {
                m.insert("created".into(), json!(ts));
                m.insert("modified".into(), json!(ts));
            }),
        );
        add(
            format!("indicator:valid_from-{label}"),
            set(&ind, |m| {
                m.insert("valid_from".into(), json!(ts));
            }),
        );
    }
    add(
        "indicator:modified-before-created".into(),
        set(&ind, |m| {
            m.insert("created".into(), json!("2017-01-01T00:00:00.000Z"));
            m.insert("modified".into(), json!("2016-01-01T00:00:00.000Z"));
        }),
    );
    add(
        "indicator:valid_until-equals-valid_from".into(),
        set(&ind, |m| {
            m.insert("valid_from".into(), json!("2017-01-01T00:00:00Z"));
            m.insert("valid_until".into(), json!("2017-01-01T00:00:00Z"));
        }),
    );
    add(
        "indicator:valid_until-after".into(),
        set(&ind, |m| {
            m.insert("valid_from".into(), json!("2017-01-01T00:00:00Z"));
            m.insert("valid_until".into(), json!("2017-01-01T00:00:00.001Z"));
        }),
    );
    // (b4) references.
    add(
        "indicator:created_by_ref-wrong-type".into(),
        set(&ind, |m| {
            m.insert(
                "created_by_ref".into(),
                json!("malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    add(
        "indicator:created_by_ref-not-id".into(),
        set(&ind, |m| {
            m.insert("created_by_ref".into(), json!("ACME Corp"));
        }),
    );
    add(
        "indicator:object_marking_refs-wrong-type".into(),
        set(&ind, |m| {
            m.insert(
                "object_marking_refs".into(),
                json!(["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]),
            );
        }),
    );
    add(
        "indicator:object_marking_refs-empty".into(),
        set(&ind, |m| {
            m.insert("object_marking_refs".into(), json!([]));
        }),
    );
    let rel = s("relationship");
    add(
        "relationship:source_ref-relationship".into(),
        set(&rel, |m| {
            m.insert(
                "source_ref".into(),
                json!("relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    add(
        "relationship:target_ref-marking".into(),
        set(&rel, |m| {
            m.insert(
                "target_ref".into(),
                json!("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            );
        }),
    );
    add(
        "relationship:target_ref-sco".into(),
        set(&rel, |m| {
            m.insert(
                "target_ref".into(),
                json!("ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"),
            );
        }),
    );
    add(
        "relationship:type-uppercase".into(),
        set(&rel, |m| {
            m.insert("relationship_type".into(), json!("Indicates"));
        }),
    );
    add(
        "relationship:stop-before-start".into(),
        set(&rel, |m| {
            m.insert("start_time".into(), json!("2017-01-01T00:00:00Z"));
            m.insert("stop_time".into(), json!("2016-01-01T00:00:00Z"));
        }),
    );
    let sig = s("sighting");
    add(
        "sighting:sighting_of_ref-relationship".into(),
        set(&sig, |m| {
            m.insert(
                "sighting_of_ref".into(),
                json!("relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    add(
        "sighting:sighting_of_ref-sco".into(),
        set(&sig, |m| {
            m.insert(
                "sighting_of_ref".into(),
                json!("ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"),
            );
        }),
    );
    add(
        "sighting:where_sighted_refs-malware".into(),
        set(&sig, |m| {
            m.insert(
                "where_sighted_refs".into(),
                json!(["malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]),
            );
        }),
    );
    add(
        "sighting:observed_data_refs-indicator".into(),
        set(&sig, |m| {
            m.insert(
                "observed_data_refs".into(),
                json!(["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]),
            );
        }),
    );
    add(
        "sighting:count-too-big".into(),
        set(&sig, |m| {
            m.insert("count".into(), json!(1_000_000_000));
        }),
    );
    add(
        "sighting:count-negative".into(),
        set(&sig, |m| {
            m.insert("count".into(), json!(-1));
        }),
    );
    add(
        "sighting:last-before-first".into(),
        set(&sig, |m| {
            m.insert("first_seen".into(), json!("2017-01-01T00:00:00Z"));
            m.insert("last_seen".into(), json!("2016-01-01T00:00:00Z"));
        }),
    );
    let od = s("observed-data");
    add(
        "observed-data:number_observed-0".into(),
        set(&od, |m| {
            m.insert("number_observed".into(), json!(0));
        }),
    );
    add(
        "observed-data:last-before-first".into(),
        set(&od, |m| {
            m.insert("first_observed".into(), json!("2017-01-01T00:00:00Z"));
            m.insert("last_observed".into(), json!("2016-01-01T00:00:00Z"));
        }),
    );
    add(
        "observed-data:object_refs-sdo".into(),
        set(&od, |m| {
            m.remove("objects");
            m.insert(
                "object_refs".into(),
                json!(["malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]),
            );
        }),
    );
    add(
        "observed-data:objects-and-object_refs".into(),
        set(&od, |m| {
            m.insert(
                "objects".into(),
                json!({"0": {"type": "ipv4-addr", "value": "198.51.100.3"}}),
            );
            m.insert(
                "object_refs".into(),
                json!(["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"]),
            );
        }),
    );
    // (b5) closed vocabularies and enumerations.
    add(
        "opinion:opinion-maybe".into(),
        set(&s("opinion"), |m| {
            m.insert("opinion".into(), json!("maybe"));
        }),
    );
    add(
        "artifact:encryption_algorithm-rot13".into(),
        set(&s("artifact"), |m| {
            m.insert("encryption_algorithm".into(), json!("ROT13"));
            m.insert("decryption_key".into(), json!("secret"));
        }),
    );
    add(
        "artifact:decryption_key-alone".into(),
        set(&s("artifact"), |m| {
            m.insert("decryption_key".into(), json!("secret"));
        }),
    );
    add(
        "artifact:url-and-payload".into(),
        set(&s("artifact"), |m| {
            m.insert("url".into(), json!("https://example.com/a.jpg"));
        }),
    );
    let wrk = s("windows-registry-key");
    add(
        "windows-registry-key:data_type-bad".into(),
        set(&wrk, |m| {
            m.insert(
                "values".into(),
                json!([{"name": "Foo", "data": "qwerty", "data_type": "REG_STRING"}]),
            );
        }),
    );
    add(
        "windows-registry-key:data_type-ok".into(),
        set(&wrk, |m| {
            m.insert(
                "values".into(),
                json!([{"name": "Foo", "data": "qwerty", "data_type": "REG_SZ"}]),
            );
        }),
    );
    add(
        "windows-registry-key:hive-abbreviated".into(),
        set(&wrk, |m| {
            m.insert("key".into(), json!("HKLM\\SOFTWARE\\Example"));
        }),
    );
    let nt = s("network-traffic");
    add(
        "network-traffic:socket-ext-family-bad".into(),
        set(&nt, |m| {
            m.insert(
                "extensions".into(),
                json!({"socket-ext": {"address_family": "AF_FOO"}}),
            );
        }),
    );
    add(
        "network-traffic:socket-ext-family-ok".into(),
        set(&nt, |m| {
            m.insert(
                "extensions".into(),
                json!({"socket-ext": {"address_family": "AF_INET", "socket_type": "SOCK_STREAM"}}),
            );
        }),
    );
    add(
        "network-traffic:port-too-big".into(),
        set(&nt, |m| {
            m.insert("dst_port".into(), json!(65536));
        }),
    );
    add(
        "network-traffic:active-with-end".into(),
        set(&nt, |m| {
            m.insert("is_active".into(), json!(true));
            m.insert("end".into(), json!("2016-01-01T00:00:00Z"));
        }),
    );
    add(
        "network-traffic:end-before-start".into(),
        set(&nt, |m| {
            m.insert("start".into(), json!("2017-01-01T00:00:00Z"));
            m.insert("end".into(), json!("2016-01-01T00:00:00Z"));
        }),
    );
    let extdef = s("extension-definition");
    add(
        "extension-definition:extension_types-bad".into(),
        set(&extdef, |m| {
            m.insert("extension_types".into(), json!(["new-thing"]));
        }),
    );
    add(
        "extension-definition:extension_properties-without-toplevel".into(),
        set(&extdef, |m| {
            m.insert("extension_properties".into(), json!(["x_foo"]));
        }),
    );
    add(
        "indicator:extension_type-bad".into(),
        set(&ind, |m| {
            m.insert("extensions".into(), json!({"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension-ish", "rank": 5}}));
        }),
    );
    add(
        "indicator:extension_type-missing".into(),
        set(&ind, |m| {
            m.insert(
                "extensions".into(),
                json!({"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"rank": 5}}),
            );
        }),
    );
    add(
        "indicator:extension-ok".into(),
        set(&ind, |m| {
            m.insert("extensions".into(), json!({"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 5}}));
        }),
    );
    add(
        "indicator:extension-key-free-name".into(),
        set(&ind, |m| {
            m.insert("extensions".into(), json!({"acme": {"rank": 5}}));
        }),
    );
    add(
        "indicator:extensions-empty".into(),
        set(&ind, |m| {
            m.insert("extensions".into(), json!({}));
        }),
    );
    add(
        "file:ntfs-ext-on-process".into(),
        set(&s("process"), |m| {
            m.insert("extensions".into(), json!({"ntfs-ext": {"sid": "1234567"}}));
        }),
    );
    // (b6) open vocabularies: warnings only, valid on both sides.
    add(
        "indicator:pattern_type-unknown".into(),
        set(&ind, |m| {
            m.insert("pattern_type".into(), json!("my-own-language"));
        }),
    );
    add(
        "indicator:indicator_types-unknown".into(),
        set(&ind, |m| {
            m.insert("indicator_types".into(), json!(["very-bad"]));
        }),
    );
    add(
        "identity:identity_class-unknown".into(),
        set(&s("identity"), |m| {
            m.insert("identity_class".into(), json!("committee"));
        }),
    );
    // (b7) common property types.
    for (label, v) in [
        ("101", json!(101)),
        ("neg", json!(-1)),
        ("string", json!("50")),
        ("float", json!(50.5)),
        ("ok", json!(100)),
    ] {
        add(
            format!("indicator:confidence-{label}"),
            set(&ind, |m| {
                m.insert("confidence".into(), v);
            }),
        );
    }
    add(
        "indicator:labels-empty".into(),
        set(&ind, |m| {
            m.insert("labels".into(), json!([]));
        }),
    );
    add(
        "indicator:labels-string".into(),
        set(&ind, |m| {
            m.insert("labels".into(), json!("malicious"));
        }),
    );
    add(
        "indicator:revoked-string".into(),
        set(&ind, |m| {
            m.insert("revoked".into(), json!("yes"));
        }),
    );
    add(
        "indicator:lang-bad".into(),
        set(&ind, |m| {
            m.insert("lang".into(), json!("english language"));
        }),
    );
    add(
        "indicator:lang-ok".into(),
        set(&ind, |m| {
            m.insert("lang".into(), json!("en"));
        }),
    );
    add(
        "indicator:spec_version-2.0".into(),
        set(&ind, |m| {
            m.insert("spec_version".into(), json!("2.0"));
        }),
    );
    add(
        "indicator:extref-source-only".into(),
        set(&ind, |m| {
            m.insert(
                "external_references".into(),
                json!([{"source_name": "acme"}]),
            );
        }),
    );
    add(
        "indicator:extref-no-source".into(),
        set(&ind, |m| {
            m.insert(
                "external_references".into(),
                json!([{"url": "https://example.com"}]),
            );
        }),
    );
    add(
        "indicator:extref-bad-md5".into(),
        set(&ind, |m| {
            m.insert("external_references".into(), json!([{"source_name": "acme", "url": "https://example.com", "hashes": {"MD5": "xyz"}}]));
        }),
    );
    add(
        "indicator:kill-chain-no-phase".into(),
        set(&ind, |m| {
            m.insert(
                "kill_chain_phases".into(),
                json!([{"kill_chain_name": "lockheed-martin-cyber-kill-chain"}]),
            );
        }),
    );
    add(
        "indicator:kill-chain-ok".into(),
        set(&ind, |m| {
            m.insert("kill_chain_phases".into(), json!([{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}]));
        }),
    );
    add(
        "indicator:pattern-number".into(),
        set(&ind, |m| {
            m.insert("pattern".into(), json!(42));
        }),
    );
    // (b8) property names.
    add(
        "indicator:custom-x_good".into(),
        set(&ind, |m| {
            m.insert("x_acme_rank".into(), json!(5));
        }),
    );
    add(
        "indicator:custom-no-prefix".into(),
        set(&ind, |m| {
            m.insert("acme_rank".into(), json!(5));
        }),
    );
    add(
        "indicator:custom-too-short".into(),
        set(&ind, |m| {
            m.insert("ab".into(), json!(5));
        }),
    );
    add(
        "indicator:custom-uppercase".into(),
        set(&ind, |m| {
            m.insert("x_Acme".into(), json!(5));
        }),
    );
    add(
        "indicator:custom-leading-digit".into(),
        set(&ind, |m| {
            m.insert("1st_seen_by".into(), json!("acme"));
        }),
    );
    add(
        "indicator:custom-hyphen".into(),
        set(&ind, |m| {
            m.insert("x-acme".into(), json!(5));
        }),
    );
    add(
        "indicator:reserved-severity".into(),
        set(&ind, |m| {
            m.insert("severity".into(), json!("high"));
        }),
    );
    add(
        "indicator:custom-empty-list".into(),
        set(&ind, |m| {
            m.insert("x_acme_tags".into(), json!([]));
        }),
    );
    add(
        "indicator:custom-bad-hex".into(),
        set(&ind, |m| {
            m.insert("x_acme_hex".into(), json!("xyz"));
        }),
    );
    // (b9) granular markings.
    let gm_ok = json!([{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["pattern"]}]);
    add(
        "indicator:granular-ok".into(),
        set(&ind, |m| {
            m.insert("granular_markings".into(), gm_ok);
        }),
    );
    for (label, gm) in [
        (
            "missing-property",
            json!([{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["no_such_property"]}]),
        ),
        (
            "index-past-end",
            json!([{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["labels.[7]"]}]),
        ),
        (
            "index-into-string",
            json!([{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["pattern.[0]"]}]),
        ),
        (
            "no-selectors",
            json!([{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"}]),
        ),
        (
            "empty-selectors",
            json!([{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": []}]),
        ),
        (
            "ref-and-lang",
            json!([{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "lang": "en", "selectors": ["pattern"]}]),
        ),
        ("neither-ref-nor-lang", json!([{"selectors": ["pattern"]}])),
        (
            "lang-only",
            json!([{"lang": "en", "selectors": ["pattern"]}]),
        ),
        (
            "ref-to-identity",
            json!([{"marking_ref": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "selectors": ["pattern"]}]),
        ),
        ("empty-list", json!([])),
    ] {
        add(
            format!("indicator:granular-{label}"),
            set(&ind, |m| {
                m.insert("labels".into(), json!(["malicious-activity"]));
                m.insert("granular_markings".into(), gm);
            }),
        );
    }
    // (b10) TLP.
    let white = json!({"type":"marking-definition","spec_version":"2.1","id":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"white"}});
    add("tlp1:white-ok".into(), white.clone());
    add(
        "tlp1:white-says-green".into(),
        set(&white, |m| {
            m.insert("definition".into(), json!({"tlp": "green"}));
        }),
    );
    add(
        "tlp1:white-bad-name".into(),
        set(&white, |m| {
            m.insert("name".into(), json!("TLP:WHITISH"));
        }),
    );
    add(
        "tlp1:white-other-created".into(),
        set(&white, |m| {
            m.insert("created".into(), json!("2018-01-20T00:00:00.000Z"));
        }),
    );
    add(
        "tlp1:unknown-id".into(),
        set(&white, |m| {
            m.insert(
                "id".into(),
                json!("marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    add(
        "tlp1:extra-property".into(),
        set(&white, |m| {
            m.insert(
                "created_by_ref".into(),
                json!("identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    let amber_strict = s("marking-definition");
    let tlp2 = bundles
        .iter()
        .find(|(n, _)| n.contains("tlp2"))
        .map(|(_, d)| d["objects"][0].clone())
        .unwrap_or(amber_strict);
    add("tlp2:amber-strict-ok".into(), tlp2.clone());
    add(
        "tlp2:amber-strict-says-red".into(),
        set(&tlp2, |m| {
            m.insert("extensions".into(), json!({"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"extension_type": "property-extension", "tlp_2_0": "red"}}));
        }),
    );
    add(
        "tlp2:unknown-id".into(),
        set(&tlp2, |m| {
            m.insert(
                "id".into(),
                json!("marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    add(
        "marking:statement-ok".into(),
        json!({"type":"marking-definition","spec_version":"2.1","id":"marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2019, Example Corp"}}),
    );
    add(
        "marking:statement-missing".into(),
        json!({"type":"marking-definition","spec_version":"2.1","id":"marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"text":"Copyright"}}),
    );
    add(
        "marking:self-marking".into(),
        json!({"type":"marking-definition","spec_version":"2.1","id":"marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"statement":"c"},"object_marking_refs":["marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}),
    );
    // (b11) type co-constraints.
    add(
        "malware:family-without-name".into(),
        set(&s("malware"), |m| {
            m.insert("is_family".into(), json!(true));
            m.remove("name");
        }),
    );
    add(
        "malware:is_family-string".into(),
        set(&s("malware"), |m| {
            m.insert("is_family".into(), json!("true"));
        }),
    );
    add(
        "location:latitude-only".into(),
        set(&s("location"), |m| {
            m.remove("longitude");
        }),
    );
    add(
        "location:latitude-91".into(),
        set(&s("location"), |m| {
            m.insert("latitude".into(), json!(91));
        }),
    );
    add(
        "location:region-only".into(),
        set(&s("location"), |m| {
            m.remove("latitude");
            m.remove("longitude");
            m.remove("precision");
            m.insert("region".into(), json!("northern-europe"));
        }),
    );
    add(
        "malware-analysis:no-result".into(),
        set(&s("malware-analysis"), |m| {
            m.remove("result");
        }),
    );
    add(
        "malware-analysis:sample_ref-indicator".into(),
        set(&s("malware-analysis"), |m| {
            m.insert(
                "sample_ref".into(),
                json!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    add(
        "email-message:multipart-with-body".into(),
        set(&s("email-message"), |m| {
            m.insert("is_multipart".into(), json!(true));
            m.insert("body".into(), json!("hello"));
        }),
    );
    add(
        "ipv4-addr:value-bad".into(),
        set(&s("ipv4-addr"), |m| {
            m.insert("value".into(), json!("999.1.1.1"));
        }),
    );
    add(
        "ipv4-addr:cidr-ok".into(),
        set(&s("ipv4-addr"), |m| {
            m.insert("value".into(), json!("198.51.100.0/24"));
        }),
    );
    add(
        "mac-addr:uppercase".into(),
        set(&s("mac-addr"), |m| {
            m.insert("value".into(), json!("D2:FB:49:24:37:18"));
        }),
    );
    add(
        "file:size-negative".into(),
        set(&s("file"), |m| {
            m.insert("size".into(), json!(-5));
        }),
    );
    add(
        "file:hashes-bad-sha256".into(),
        set(&s("file"), |m| {
            m.insert("hashes".into(), json!({"SHA-256": "abc"}));
        }),
    );
    add(
        "file:hashes-empty".into(),
        set(&s("file"), |m| {
            m.insert("hashes".into(), json!({}));
        }),
    );
    add(
        "software:cpe-bad".into(),
        set(&s("software"), |m| {
            m.insert("cpe".into(), json!("microsoft word 2000"));
        }),
    );
    add(
        "language-content:contents-bad-lang".into(),
        set(&s("language-content"), |m| {
            m.insert("contents".into(), json!({"german!": {"name": "x"}}));
        }),
    );
    add(
        "language-content:object_ref-bundle".into(),
        set(&s("language-content"), |m| {
            m.insert(
                "object_ref".into(),
                json!("bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    add(
        "process:uuid-v5".into(),
        set(&s("process"), |m| {
            m.insert(
                "id".into(),
                json!("process--f52a906a-0dfc-50bd-92f1-e7778ead38a9"),
            );
        }),
    );
    add(
        "ipv4-addr:non-deterministic-id".into(),
        set(&s("ipv4-addr"), |m| {
            m.insert(
                "id".into(),
                json!("ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            );
        }),
    );
    add(
        "grouping:object_refs-empty".into(),
        set(&s("grouping"), |m| {
            m.insert("object_refs".into(), json!([]));
        }),
    );
    add(
        "report:published-bad".into(),
        set(&s("report"), |m| {
            m.insert("published".into(), json!("yesterday"));
        }),
    );
    add(
        "custom:type-action".into(),
        json!({"type":"action","spec_version":"2.1","id":"action--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2017-01-20T00:00:00.000Z","modified":"2017-01-20T00:00:00.000Z"}),
    );
    add(
        "custom:null-property".into(),
        set(&ind, |m| {
            m.insert("description".into(), Value::Null);
        }),
    );
    // (issue 25) extension keys (§11.3), typed dictionary values, language
    // tags (RFC 5646), citation text in `external_references[].url`.
    add(
        "indicator:custom-extension-on-sdo".into(),
        set(&ind, |m| {
            m.insert("extensions".into(), json!({"acme-ext": {"rank": 5}}));
        }),
    );
    add(
        "file:custom-extension-ok".into(),
        set(&s("file"), |m| {
            m.insert("extensions".into(), json!({"x-acme-ext": {"rank": 5}}));
        }),
    );
    add(
        "file:custom-extension-no-ext-suffix".into(),
        set(&s("file"), |m| {
            m.insert("extensions".into(), json!({"acme": {"rank": 5}}));
        }),
    );
    let nt = s("network-traffic");
    for (name, header) in [
        (
            "request_header-ok",
            json!({"User-Agent": ["Mozilla Firefox"]}),
        ),
        (
            "request_header-string",
            json!({"User-Agent": "Mozilla Firefox"}),
        ),
        ("request_header-number", json!({"User-Agent": [42]})),
    ] {
        add(
            format!("network-traffic:{name}"),
            set(&nt, |m| {
                m.insert("extensions".into(), json!({"http-request-ext": {"request_method": "get", "request_value": "/", "request_header": header}}));
            }),
        );
    }
    add(
        "network-traffic:ipfix-object-value".into(),
        set(&nt, |m| {
            m.insert("ipfix".into(), json!({"minimumIpTotalLength": {"a": 1}}));
        }),
    );
    add(
        "process:environment_variables-not-string".into(),
        set(&s("process"), |m| {
            m.insert("environment_variables".into(), json!({"PATH": 42}));
        }),
    );
    add(
        "process:environment_variables-ok".into(),
        set(&s("process"), |m| {
            m.insert("environment_variables".into(), json!({"PATH": "/bin"}));
        }),
    );
    add(
        "email-message:additional_header_fields-number".into(),
        set(&s("email-message"), |m| {
            m.insert("additional_header_fields".into(), json!({"X-Mailer": 42}));
        }),
    );
    add(
        "email-message:additional_header_fields-ok".into(),
        set(&s("email-message"), |m| {
            m.insert(
                "additional_header_fields".into(),
                json!({"X-Mailer": "Mutt", "Received": ["a", "b"]}),
            );
        }),
    );
    add(
        "x509-certificate:v3-extension-not-string".into(),
        set(&s("x509-certificate"), |m| {
            m.insert("x509_v3_extensions".into(), json!({"basic_constraints": 5}));
        }),
    );
    add(
        "x509-certificate:v3-extension-ok".into(),
        set(&s("x509-certificate"), |m| {
            m.insert(
                "x509_v3_extensions".into(),
                json!({"basic_constraints": "critical,CA:TRUE"}),
            );
        }),
    );
    for (name, langs) in [
        ("languages-ok", json!(["en", "de-CH"])),
        ("languages-uppercase-en", json!(["EN"])),
        ("languages-uppercase", json!(["ENG"])),
        ("languages-eng", json!(["eng"])),
        ("languages-bang", json!(["!!"])),
    ] {
        add(
            format!("software:{name}"),
            set(&s("software"), |m| {
                m.insert("languages".into(), langs);
            }),
        );
    }
    add(
        "indicator:lang-not-a-tag".into(),
        set(&ind, |m| {
            m.insert("lang".into(), json!("!!"));
        }),
    );
    add(
        "indicator:lang-unregistered".into(),
        set(&ind, |m| {
            m.insert("lang".into(), json!("eng"));
        }),
    );
    // The incident-core `impact` of OASIS's common objects: a new-sdo
    // custom type whose `extensions` also has a key that is neither an
    // extension-definition id nor a predefined extension.
    add(
        "impact:custom-extension-key".into(),
        json!({"type": "impact", "spec_version": "2.1", "id": "impact--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "created": "2023-01-01T00:00:00.000Z", "modified": "2023-01-01T00:00:00.000Z", "impact_category": "availability", "extensions": {"extension-definition--7cc33dd6-f6a1-489b-98ea-522d351d71b9": {"extension_type": "new-sdo"}, "availability": {"availability_impact": 70}}}),
    );
    // (issue 25, the review) §4.1 CAPEC and §4.18 CVE external ids, §4.14
    // observed-data `object_refs` with no SCO.
    let capec = |id: &str| {
        set(&s("attack-pattern"), |m| {
            m.insert(
                "external_references".into(),
                json!([{"source_name": "capec", "external_id": id}]),
            );
        })
    };
    add("attack-pattern:capec-ok".into(), capec("CAPEC-163"));
    add("attack-pattern:capec-bad-id".into(), capec("163"));
    let cve = |id: &str| json!({"type": "vulnerability", "spec_version": "2.1", "id": "vulnerability--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "created": "2016-05-12T08:17:27.000Z", "modified": "2016-05-12T08:17:27.000Z", "name": "CVE-2016-1234", "external_references": [{"source_name": "cve", "external_id": id}]});
    add("vulnerability:cve-ok".into(), cve("CVE-2016-1234"));
    add("vulnerability:cve-bad-id".into(), cve("2016-1234"));
    add(
        "observed-data:object_refs-no-sco".into(),
        set(&s("observed-data"), |m| {
            m.remove("objects");
            m.insert(
                "object_refs".into(),
                json!(["relationship--16d2358f-3b0d-4c88-b047-0da2f7ed4471"]),
            );
        }),
    );
    add(
        "indicator:extref-url-citation".into(),
        set(&ind, |m| {
            m.insert(
                "external_references".into(),
                json!([{"source_name": "Dragos", "url": "Dragos. (n.d.). Threat groups."}]),
            );
        }),
    );
    cases
}
