//! Differential test: Accord against the OASIS `stix2-validator` (3.3.2).
//!
//! Cases: (a) every bundle in `stix/` (copied in the repository as
//! `data/demo/stix`); (b) invalid (and a few
//! valid) variants derived from real objects of those bundles, each wrapped in
//! a one-object bundle. All documents go to `stix2_validator_driver.py` in one
//! Python process. The test asserts that both sides give the same verdict
//! (valid / invalid) on every case, except the documented disagreements in
//! [`KNOWN_DISAGREEMENTS`]; it fails when a new disagreement appears *or* a
//! listed one disappears.
//!
//! The Python is [`accord_testkit::python`]: `<workspace>/.venv/bin/python`
//! (env `ACCORD_PYTHON` overrides). If it or the `stix2validator` module is
//! missing the test fails and says to run `./test.sh`, which installs it.

use accord_stix::{Object, is_valid, read_document, validate_bundle_header, validate_object};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn data_dir() -> PathBuf {
    accord_testkit::fixture("stix")
}

/// A documented disagreement: the case name, Accord's verdict, and why.
struct Known {
    case: &'static str,
    accord_valid: bool,
    why: &'static str,
}

/// Where Accord and stix2-validator 3.3.2 disagree, and which side the
/// STIX 2.1 specification (OASIS Standard, 10 June 2021) supports.
const KNOWN_DISAGREEMENTS: &[Known] = &[
    Known {
        case: "attack-pattern:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "campaign:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "course-of-action:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "extension-definition:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "grouping:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "identity:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "indicator:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "intrusion-set:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "language-content:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "location:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "malware-analysis:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "marking-definition:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "note:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "opinion:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "relationship:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "sighting:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "vulnerability:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "x-mitre-analytic:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "x-mitre-asset:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "x-mitre-collection:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "x-mitre-data-component:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "x-mitre-data-source:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "x-mitre-detection-strategy:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "x-mitre-matrix:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "x-mitre-tactic:drop:spec_version",
        accord_valid: false,
        why: NO_SPEC_VERSION,
    },
    Known {
        case: "bundle:oasis-common-incident-ransom.json",
        accord_valid: true,
        why: EXTENSION_KEY_IS_A_SHOULD,
    },
    Known {
        case: "impact:as-is",
        accord_valid: true,
        why: EXTENSION_KEY_IS_A_SHOULD,
    },
    Known {
        case: "impact:drop:impact_category",
        accord_valid: true,
        why: EXTENSION_KEY_IS_A_SHOULD,
    },
    Known {
        case: "impact:drop:description",
        accord_valid: true,
        why: EXTENSION_KEY_IS_A_SHOULD,
    },
    Known {
        case: "impact:drop:superseded_by_ref",
        accord_valid: true,
        why: EXTENSION_KEY_IS_A_SHOULD,
    },
    Known {
        case: "indicator:extension-key-free-name",
        accord_valid: true,
        why: EXTENSION_KEY_IS_A_SHOULD,
    },
    Known {
        case: "extension-definition:drop:created_by_ref",
        accord_valid: false,
        why: "Accord is right. STIX 2.1 §7.3 (Extension Definition) lists `created_by_ref` as required: \"created_by_ref (required) identifier\". The validator's extension-definition.json schema omits it from `required`.",
    },
    Known {
        case: "indicator:created_by_ref-wrong-type",
        accord_valid: false,
        why: "Accord is right. STIX 2.1 §3.2: \"The created_by_ref property specifies the id property of the identity object that describes the entity that created this object.\" The validator only checks that it is an identifier.",
    },
    Known {
        case: "indicator:object_marking_refs-wrong-type",
        accord_valid: false,
        why: "Accord is right. STIX 2.1 §3.2: object_marking_refs is \"the list of id properties of marking-definition objects that apply to this object\". The validator checks only the identifier form (core.json), not the type.",
    },
    Known {
        case: "sighting:sighting_of_ref-sco",
        accord_valid: false,
        why: "Accord is right. STIX 2.1 §5.2: \"sighting_of_ref (required) identifier: An ID reference to the SDO that was sighted (e.g., Indicator or Malware).\" An ipv4-addr is an SCO. The validator's sighting.json only excludes SROs, bundles and meta objects.",
    },
    Known {
        case: "indicator:spec_version-2.0",
        accord_valid: false,
        why: "Accord is right for a 2.1 validator. STIX 2.1 §3.2: \"The value of this property MUST be 2.1 for STIX Objects defined according to this specification.\" The validator, run with version=2.1, only warns about the mismatch and validates the object as 2.1.",
    },
    Known {
        case: "indicator:custom-leading-digit",
        accord_valid: true,
        why: "Accord is right. STIX 2.1 §3.1: \"Property names MUST be in ASCII and are limited to characters a-z (lowercase ASCII), 0-9, and underscore (_)\", 3 to 250 of them; nothing requires a letter first. The validator's properties.json pattern `^([a-z][a-z0-9_]{2,249})|id$` wants a leading letter.",
    },
    Known {
        case: "indicator:granular-index-into-string",
        accord_valid: false,
        why: "Accord is right. STIX 2.1 §7.2.3.1: selectors use \"[n]\" to select an item of a list; `pattern` is a string, so `pattern.[0]` selects nothing, and \"the selector MUST refer to properties or items within this object\". The validator indexes the Python string and finds its first character.",
    },
    Known {
        case: "indicator:granular-ref-and-lang",
        accord_valid: false,
        why: "Accord is right. STIX 2.1 §7.2.3, marking_ref: \"If the lang property is present, this property MUST NOT be present.\" The validator's granular-marking.json allows both.",
    },
    Known {
        case: "indicator:granular-lang-only",
        accord_valid: true,
        why: "Accord is right. STIX 2.1 §7.2.3, lang: \"If the marking_ref property is not present, this property MUST be present.\" A granular marking with `lang` and no `marking_ref` is valid; the validator's granular-marking.json requires `marking_ref`.",
    },
    Known {
        case: "tlp2:amber-strict-says-red",
        accord_valid: false,
        why: TLP2,
    },
    Known {
        case: "tlp2:unknown-id",
        accord_valid: false,
        why: TLP2,
    },
];

/// Objects without `spec_version`.
const NO_SPEC_VERSION: &str = "Accord is right. STIX 2.1 §3.2 makes spec_version required on SDOs, SROs and the meta objects (and §11.2 on custom objects): \"The value of this property MUST be 2.1 for STIX Objects defined according to this specification. If objects are found where this property is not present, the implicit value for all STIX Objects other than SCOs is 2.0.\" Such an object is STIX 2.0 content, not a valid 2.1 object. The validator treats it as 2.0 (validator.py find_version, `_20_in_21_bundle`) and passes it against the 2.0 schemas.";

/// `extensions` keys that are neither extension-definition ids nor `*-ext`.
const EXTENSION_KEY_IS_A_SHOULD: &str = "Accord is right. STIX 2.1 §3.2, extensions: \"Dictionary keys SHOULD be the id of a STIX Extension object or the name of a predefined object extension found in this specification\" -- a SHOULD, so Accord warns. The validator's core.json patternProperties + additionalProperties:false make it an error. (The OASIS incident-core example, a new-sdo `impact` with `monetary`/`availability` sub-extensions, is the real-world case.)";

/// TLP 2.0 marking definitions.
const TLP2: &str = "Accord is right. STIX 2.1 §7.2.1.4 fixes the TLP 1.0 marking definitions (\"The following standard marking definitions MUST be used to reference or represent TLP markings. Other instances of tlp-marking MUST NOT be used or created.\"); the OASIS CTI TC's TLP 2.0 extension (extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d, cti-stix-common-objects) fixes the five TLP 2.0 ones the same way. stix2-validator 3.3.2 has no TLP 2.0 rule.";

struct Case {
    name: String,
    doc: Value,
}

fn bundle(objects: Vec<Value>) -> Value {
    json!({"type": "bundle", "id": "bundle--5f6c2b8e-3a41-4c55-9a0e-1d2f3b4c5d6e", "objects": objects})
}

fn accord_verdict(doc: &Value) -> (bool, Vec<String>) {
    let text = serde_json::to_string(doc).unwrap();
    let mut objects = Vec::new();
    let info = match read_document(text.as_bytes(), |raw| objects.push(raw.text.to_owned())) {
        Ok(info) => info,
        Err(e) => return (false, vec![e.to_string()]),
    };
    let mut errors: Vec<String> = validate_bundle_header(&info)
        .into_iter()
        .filter(|i| i.is_error())
        .map(|i| i.to_string())
        .collect();
    for t in objects {
        match Object::parse(&t) {
            Ok(o) => {
                let issues = validate_object(&o);
                if !is_valid(&issues) {
                    errors.extend(
                        issues
                            .iter()
                            .filter(|i| i.is_error())
                            .map(|i| i.to_string()),
                    );
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    (errors.is_empty(), errors)
}

fn python_verdicts(cases: &[Case]) -> Vec<(bool, Vec<String>)> {
    let py = accord_testkit::python("stix2validator");
    let dir = std::env::temp_dir().join(format!("accord-differential-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("cases.jsonl");
    let mut f = std::fs::File::create(&input).unwrap();
    for c in cases {
        writeln!(f, "{}", serde_json::to_string(&c.doc).unwrap()).unwrap();
    }
    drop(f);
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stix2_validator_driver.py");
    let out = Command::new(&py).arg(&driver).arg(&input).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "the driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<(bool, Vec<String>)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let errs = v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap_or_default().to_owned())
                .collect();
            (v["valid"].as_bool().unwrap(), errs)
        })
        .collect();
    assert_eq!(
        lines.len(),
        cases.len(),
        "the driver answered {} of {} cases",
        lines.len(),
        cases.len()
    );
    lines
}

// ---------------------------------------------------------------------------
// Cases

fn shared_bundles() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(data_dir())
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", data_dir().display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (name, v)
        })
        .collect()
}

/// Objects the shared bundles lack, from the examples of the STIX 2.1 specification.
fn spec_examples() -> Vec<Value> {
    let created = "2016-05-12T08:17:27.000Z";
    vec![
        json!({"type":"opinion","spec_version":"2.1","id":"opinion--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","created":created,"modified":created,"object_refs":["relationship--16d2358f-3b0d-4c88-b047-0da2f7ed4471"],"opinion":"strongly-disagree","explanation":"This doesn't seem like it is feasible."}),
        json!({"type":"note","spec_version":"2.1","id":"note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","created":created,"modified":created,"abstract":"Tracking Team Note#1","content":"This note indicates the various steps taken by the threat analyst team.","object_refs":["indicator--a740531e-63ff-4e49-a9e1-a0a3eed0e3e7"]}),
        json!({"type":"location","spec_version":"2.1","id":"location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64","created":created,"modified":created,"latitude":48.8566,"longitude":2.3522,"precision":1000.0}),
        json!({"type":"malware-analysis","spec_version":"2.1","id":"malware-analysis--d25167b7-fed0-4068-9ccd-a73dd2c5b07c","created":created,"modified":created,"product":"microsoft","result":"malicious","sample_ref":"file--fb0419a8-f09c-57f8-be64-71a80417591c"}),
        json!({"type":"language-content","spec_version":"2.1","id":"language-content--b86bd89f-98bb-4fa9-8cb2-9ad421da981d","created":"2017-02-08T21:31:22.007Z","modified":"2017-02-08T21:31:22.007Z","object_ref":"campaign--12a111f0-b824-4baf-a224-83b80237a094","object_modified":"2017-02-08T21:31:22.007Z","contents":{"de":{"name":"Bank Angriff 1","description":"Weitere Informationen über Banküberfall"}}}),
        json!({"type":"artifact","spec_version":"2.1","id":"artifact--ca17bcf8-9846-5ab4-8662-75c1bf6e63ee","mime_type":"image/jpeg","payload_bin":"VBORw0KGgoAAAANSUhEUgAAADI=="}),
        json!({"type":"email-message","spec_version":"2.1","id":"email-message--72b7698f-10c2-565a-a2a6-b4996a2f2265","from_ref":"email-addr--9b7e29b3-fd8d-562e-b3f0-8fc8134f5dda","to_refs":["email-addr--d1b3bf0c-f02a-51a1-8102-11aba7959868"],"is_multipart":false,"date":"1997-11-21T15:55:06.000Z","subject":"Saying Hello"}),
        json!({"type":"network-traffic","spec_version":"2.1","id":"network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d","src_ref":"ipv4-addr--4d22aae0-2bf9-5427-8819-e4f6abf20a53","dst_ref":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","protocols":["tcp"],"src_port":223,"dst_port":502}),
        json!({"type":"mac-addr","spec_version":"2.1","id":"mac-addr--65cfcf98-8a6e-5a1b-8f61-379ac4f92d00","value":"d2:fb:49:24:37:18"}),
        json!({"type":"software","spec_version":"2.1","id":"software--a1827f6d-ca53-5605-9e93-4316cd22a00a","name":"Word","cpe":"cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*","version":"2002","vendor":"Microsoft"}),
        json!({"type":"process","spec_version":"2.1","id":"process--f52a906a-0dfc-40bd-92f1-e7778ead38a9","pid":1221,"created_time":"2016-01-20T14:11:25.550Z","command_line":"./gedit-bin --new-window"}),
        json!({"type":"x509-certificate","spec_version":"2.1","id":"x509-certificate--463d7b2a-8516-5a50-a3d7-6f801465d5de","issuer":"C=ZA, ST=Western Cape, L=Cape Town, O=Thawte Consulting cc","serial_number":"36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06"}),
    ]
}

fn set(o: &Value, f: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut o = o.clone();
    f(o.as_object_mut().unwrap());
    o
}

fn cases() -> Vec<Case> {
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
    cases
}

#[test]
fn accord_agrees_with_stix2_validator() {
    let cases = cases();
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    for k in KNOWN_DISAGREEMENTS {
        assert!(
            names.contains(k.case),
            "KNOWN_DISAGREEMENTS names a case that does not exist: {}",
            k.case
        );
        assert!(!k.why.is_empty());
    }
    let theirs = python_verdicts(&cases);
    let mut unexpected = Vec::new();
    let mut seen = BTreeSet::new();
    for (c, (py_valid, py_errors)) in cases.iter().zip(&theirs) {
        let (ours, our_errors) = accord_verdict(&c.doc);
        let known = KNOWN_DISAGREEMENTS.iter().find(|k| k.case == c.name);
        if ours != *py_valid {
            match known {
                Some(k) if k.accord_valid == ours => {
                    seen.insert(k.case);
                }
                _ => unexpected.push(format!(
                    "{}: accord valid={ours} {:?}\n    stix2-validator valid={py_valid} {:?}",
                    c.name, our_errors, py_errors
                )),
            }
        }
    }
    let vanished: Vec<&str> = KNOWN_DISAGREEMENTS
        .iter()
        .map(|k| k.case)
        .filter(|c| !seen.contains(c))
        .collect();
    eprintln!(
        "{} cases, {} documented disagreements",
        cases.len(),
        KNOWN_DISAGREEMENTS.len()
    );
    assert!(
        unexpected.is_empty() && vanished.is_empty(),
        "{} new disagreements:\n{}\n{} documented disagreements no longer happen: {:?}",
        unexpected.len(),
        unexpected.join("\n"),
        vanished.len(),
        vanished
    );
}
