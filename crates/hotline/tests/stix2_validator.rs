//! Every object the hotline writes passes stix2-validator (OASIS), and a
//! plain STIX library (OASIS `stix2`, no Accord extension registered)
//! reads the case and its thread. Runs when `ACCORD_PYTHON` is set (the
//! Python with the OASIS tools); prints one `skip:` line otherwise. The
//! Accord validator checks the same objects always.

use accord_hotline::{
    Action, AssistOutcome, Assistance, Case, DeadlineTable, Facility, OpenCase, Severity,
    case_uuid, definitions, due_escalations, escalate_note, open_case, transition,
};
use accord_stix::{Object, Timestamp};
use std::io::Write;
use std::process::{Command, Stdio};

const A: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0a01";
const B: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0b02";

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix(1_772_366_400 + secs, 0)
}

/// A thread with every kind of message, the definitions, two identities
/// and a facility.
fn everything() -> Vec<Object> {
    let req = OpenCase {
        case_uuid: case_uuid("validator"),
        from: A.into(),
        to: B.into(),
        severity: Severity::Critical,
        title: "Scanning of the exchange".into(),
        description: Some("Sustained scanning of Example Exchange from your address space.".into()),
        text: "Please block and preserve logs.".into(),
        attachments: vec!["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into()],
        assistance: vec![Assistance::Block, Assistance::PreserveLogs],
        exercise: true,
        facility: Some("Example Exchange".into()),
    };
    let (incident, open) = open_case(&req, &DeadlineTable::default(), at(0)).unwrap();
    let mut case = Case::from_thread(&incident, [&open]).unwrap();
    let mut out = definitions();
    for (id, name) in [(A, "Node A"), (B, "Node B")] {
        out.push(
            Object::parse(&format!(
                r#"{{"type":"identity","spec_version":"2.1","id":"{id}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"{name}","identity_class":"organization"}}"#
            ))
            .unwrap(),
        );
    }
    out.push(
        Object::parse(r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Scanner","description":"The scanning source.","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}"#).unwrap(),
    );
    out.push(incident);
    out.push(open);
    // The ack deadline passes first: an escalation.
    let e = &due_escalations(&case, at(3600))[0];
    let esc = escalate_note(&case, e);
    case.apply(&esc).unwrap();
    out.push(esc);
    let steps: [(&str, Action, &str, i64); 8] = [
        (B, Action::Ack, "", 4000),
        (B, Action::Progress, "Blocking.", 5000),
        (
            B,
            Action::AssistAnswer(Assistance::Block, AssistOutcome::Partially),
            "Blocked at the border only.",
            5100,
        ),
        (A, Action::Reply, "Thanks.", 5200),
        (B, Action::Resolve, "Done.", 6000),
        (A, Action::Reopen, "It started again.", 7000),
        (B, Action::Decline, "Not ours this time.", 8000),
        (A, Action::Reply, "Understood.", 9000),
    ];
    for (who, a, text, t) in steps {
        let n = transition(&case, who, a, text, &[], at(t)).unwrap();
        case.apply(&n).unwrap();
        out.push(n);
    }
    let f = Facility {
        name: "Example Exchange".into(),
        owner: Some("Example Exchange AG".into()),
        sector: Some("finance".into()),
        jurisdiction: "DE".into(),
        networks: vec!["198.51.100.0/24".into()],
        domains: vec!["exchange.example".into()],
        asns: vec![64500],
    };
    out.push(f.to_stix(A, at(0), at(0)));
    out
}

#[test]
fn every_object_passes_the_accord_validator() {
    for o in everything() {
        let issues = accord_stix::validate_object(&o);
        assert!(
            accord_stix::is_valid(&issues),
            "{}: {issues:?}",
            o.to_json()
        );
    }
}

const SCRIPT: &str = r#"
import json, sys
from stix2validator import validate_string, print_results, ValidationOptions
import stix2
text = sys.stdin.read()
r = validate_string(text, ValidationOptions(version='2.1'))
print_results(r)
if not r.is_valid:
    sys.exit(1)
b = stix2.parse(text, allow_custom=False)
for o in b.objects:
    if o.type == 'incident':
        print('INCIDENT', o.id, o.name, '|', o.description)
    elif o.type == 'note':
        print('NOTE', o.id, o.abstract, '|', o.content, '|', ','.join(o.object_refs))
"#;

#[test]
fn stix2_validator_accepts_and_a_plain_tool_reads() {
    if std::env::var_os("ACCORD_PYTHON").is_none() {
        println!("skip: ACCORD_PYTHON is not set (the Python with stix2-validator)");
        return;
    }
    let py = accord_testkit::python("stix2validator, stix2");
    let objs = everything();
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--6f1d0ad4-54a8-4c4c-8a3f-2f3c1b1d9e11",
        "objects": objs.iter().map(|o| serde_json::Value::Object(o.as_map().clone())).collect::<Vec<_>>(),
    });
    let mut child = Command::new(&py)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(bundle.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stix2-validator or stix2 rejects the hotline's objects:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("Warning") && !stderr.contains("Warning"),
        "stix2-validator warns:\n{stdout}{stderr}"
    );
    let incident = objs
        .iter()
        .find(|o| o.get("type").unwrap() == "incident")
        .unwrap();
    let id = incident.get("id").unwrap().as_str().unwrap();
    assert!(
        stdout.contains(&format!(
            "INCIDENT {id} Scanning of the exchange | Sustained scanning of Example Exchange"
        )),
        "{stdout}"
    );
    let notes = stdout.lines().filter(|l| l.starts_with("NOTE ")).count();
    assert_eq!(notes, 10, "{stdout}");
    assert!(
        stdout.contains("Acknowledged: Scanning of the exchange | Acknowledged. | "),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "| Please block and preserve logs. | {id},indicator--8e2e2d2b"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("Declined: Scanning of the exchange | Not ours this time."),
        "{stdout}"
    );
}
