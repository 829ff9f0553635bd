//! Differential test: Accord against the OASIS `stix2-validator` (3.3.2).
//!
//! Cases: (a) every bundle of `data/demo/stix` and of
//! `data/fixtures/stix-invalid` (real bundles that break a MUST); (b) invalid (and a few
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
use serde_json::{Value, json};
use std::collections::BTreeSet;
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
        case: "indicator:custom-extension-on-sdo",
        accord_valid: false,
        why: "Accord is right. A key of `extensions` that is neither an extension-definition id nor a predefined extension of the type is a custom object extension, and STIX 2.1 §11.3 (Custom Object Extensions) defines those for STIX Cyber-observable Objects only (\"There are use cases where additional information may need to be communicated with a STIX Cyber-observable Object, beyond what is defined in a predefined object extension\"; the extension mechanism for other objects is the extension-definition of §7.3). The validator's core.json accepts any `*-ext` key on any object.",
    },
    Known {
        case: "process:environment_variables-not-string",
        accord_valid: false,
        why: "Accord is right. STIX 2.1 §6.13, environment_variables: \"Each key in the dictionary MUST be a string that corresponds to the name of the environment variable, and each corresponding value MUST be a string that corresponds to the value of the environment variable.\" The validator's process.json only asks for a dictionary.",
    },
    Known {
        case: "software:languages-uppercase-en",
        accord_valid: true,
        why: "Accord is right. STIX 2.1 §6.14, languages: \"The value of each list member MUST be a language code conformant to [RFC5646]\", and RFC 5646 §2.1.1: \"Language tags and their subtags, including private use and extensions, are to be treated as case insensitive\"; the lowercase of a language subtag is a formatting convention, so `EN` is the valid tag `en`. Accord warns about the case. The validator's software.json pattern wants lowercase.",
    },
    Known {
        case: "software:languages-eng",
        accord_valid: false,
        why: "Accord is right. STIX 2.1 §6.14, languages: \"The value of each list member MUST be a language code conformant to [RFC5646]\". RFC 5646 §2.2.9: a tag is valid when \"all of its primary language, extended language, script, region, and variant subtags appear in the IANA Language Subtag Registry\", and §2.2.1: when a language has both an ISO 639-1 and an ISO 639-2 code, only the ISO 639-1 code is registered, so `eng` is well-formed but not a valid tag (`en` is). The validator accepts ISO 639-2 codes for software with a logged warning (musts.py software_language, SOFTWARE_LANG_CODES), and rejects `eng` for `lang`.",
    },
    Known {
        case: "observed-data:object_refs-no-sco",
        accord_valid: false,
        why: "Accord is right. STIX 2.1 §4.14, object_refs: \"A list of SCOs and SROs representing the observation. The object_refs MUST contain at least one SCO reference if defined.\" The validator's observed-data.json checks each reference's form only.",
    },
    Known {
        case: "indicator:extref-url-citation",
        accord_valid: true,
        why: "Accord is right to warn only. STIX 2.1 §2.5 (external-reference) types `url` as a string, \"A URL reference to an external resource\", with no MUST on its form; real producers (MITRE ATT&CK ICS) put citation text there. Accord warns that it is not a URL; the validator's external-reference.json has `format: uri` and rejects the object.",
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
    // The demo's bundles, and the real ones kept out of the demo because
    // they break a MUST.
    let mut files: Vec<_> = [data_dir(), accord_testkit::fixture("stix-invalid")]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(d).unwrap_or_else(|e| panic!("cannot read {}: {e}", d.display()))
        })
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

#[path = "differential/cases.rs"]
mod cases;
use cases::cases;

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
