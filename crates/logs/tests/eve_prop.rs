//! The EVE scanner against a serde_json-based reference extractor.

use std::collections::BTreeMap;

use accord_logs::Kind;
use accord_logs::eve::{FIELDS, field_observables, scan_line};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};

const POOL: &[&str] = &[
    "10.0.0.1",
    "2001:db8::1",
    "example.com",
    "www.Example.ORG.",
    "host.example:8080",
    "a b c",
    "quote\"inside.example",
    "back\\slash.example",
    "ünïcode.example",
    "/path?q=1",
    "path-without-slash",
    "http://abs.example/x",
    "d41d8cd98f00b204e9800998ecf8427e",
    "2d:d1:9f:80:99:86:fc:ac:5f:2a:2a:fd:a3:f3:7e:96:7c:dd:24:37",
    "user@example.com",
    "\"Name\" <n@example.com>",
    "",
    "tab\there",
    "ctl\u{1}char",
    "CN=cn.example, O=Org",
    "O=x, CN=*.wild.example, emailAddress=a@b.example",
    "2024-01-02T03:04:05.123456+0000",
    "😀.example",
];

fn keys() -> Vec<String> {
    let mut k: Vec<String> = FIELDS
        .iter()
        .flat_map(|(f, _)| f.split('.').map(|p| p.trim_end_matches("[]").to_string()))
        .collect();
    k.extend(["event_type", "rrtype", "answer", "x"].map(String::from));
    k.sort();
    k.dedup();
    k
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(POOL).prop_map(String::from),
        1 => "[ -~]{0,12}",
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![4 => select(keys()), 1 => "[a-z_\"\\\\é]{1,6}"]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        4 => string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), value(), 0..8)
        .prop_map(|m: BTreeMap<_, _>| m.into_iter().collect())
}

type Obs = (String, Kind, Vec<u8>);

/// The reference: walk the DOM, arrays transparent, look each string's
/// dotted path up in `FIELDS`.
fn reference(root: &Map<String, Value>) -> (Option<i64>, Vec<Obs>) {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(v, &p, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, path, out)),
            Value::String(s) => out.push((path.to_string(), s.clone())),
            _ => {}
        }
    }
    let mut strings = Vec::new();
    walk(&Value::Object(root.clone()), "", &mut strings);
    let mut out = Vec::new();
    let mut time = None;
    let mut host: Option<Vec<u8>> = None;
    let mut url: Option<Vec<u8>> = None;
    for (path, s) in &strings {
        let Some((field, _)) = FIELDS.iter().find(|(f, _)| f.replace("[]", "") == *path) else {
            continue;
        };
        match *field {
            // Epoch seconds are accepted as well as ISO 8601; an empty
            // string is no value and leaves an earlier one in place.
            "timestamp" if s.is_empty() => {}
            "timestamp" => time = accord_logs::parse_any(s.as_bytes()),
            "http.url" => url = Some(s.clone().into_bytes()),
            f => {
                let obs = field_observables(f, s.as_bytes());
                if f == "http.hostname" && !obs.is_empty() {
                    host = Some(obs[0].2.clone());
                }
                out.extend(obs);
            }
        }
    }
    if let Some(u) = url.filter(|u| !u.is_empty()) {
        let abs = u.windows(3).position(|w| w == b"://").is_some_and(|p| {
            p > 0
                && p < 14
                && u[..p]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
        });
        if abs {
            out.push(("http.url".into(), Kind::Url, u));
        } else if let Some(h) = host {
            let mut full = b"http://".to_vec();
            full.extend(h);
            if u[0] != b'/' {
                full.push(b'/');
            }
            full.extend(u);
            out.push(("http.url".into(), Kind::Url, full));
        }
    }
    out.sort();
    (time, out)
}

/// Cases proptest once found, kept as plain tests (its regression file
/// cannot be placed beside an integration test).
#[test]
fn timestamp_forms() {
    for (line, want) in [
        (r#"{"timestamp":["0"]}"#, Some(0)),
        (r#"{"timestamp":"1.5"}"#, Some(1_500_000)),
        (
            r#"{"timestamp":["1970-01-01T00:00:01Z",""]}"#,
            Some(1_000_000),
        ),
        (r#"{"timestamp":"yesterday"}"#, None),
    ] {
        assert_eq!(scan_line(line.as_bytes()).unwrap().time, want, "{line}");
        let obj: Map<String, Value> = serde_json::from_str(line).unwrap();
        assert_eq!(reference(&obj).0, want, "reference on {line}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_reference(obj in object()) {
        let line = serde_json::to_string(&Value::Object(obj.clone())).unwrap();
        let got = scan_line(line.as_bytes());
        prop_assert!(got.is_ok(), "{line}: {got:?}");
        let mut got = got.unwrap();
        got.observables.sort();
        let (time, want) = reference(&obj);
        prop_assert_eq!(got.observables, want, "{}", line);
        prop_assert_eq!(got.time, time);
    }

    #[test]
    fn every_cut_is_rejected(obj in object(), at in any::<prop::sample::Index>()) {
        let line = serde_json::to_string(&Value::Object(obj)).unwrap();
        let cut = at.index(line.len().max(1));
        if cut < line.len() && line.is_char_boundary(cut) {
            prop_assert!(scan_line(&line.as_bytes()[..cut]).is_err(), "{}", &line[..cut]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = scan_line(&bytes);
    }

    #[test]
    fn mutated_lines_never_panic(obj in object(), at in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut line = serde_json::to_vec(&Value::Object(obj)).unwrap();
        let i = at.index(line.len());
        line[i] = b;
        // What serde_json rejects as not UTF-8, not an object, or unbalanced,
        // the scanner rejects too.
        let v: Result<Value, _> = serde_json::from_slice(&line);
        if let Ok(ev) = scan_line(&line) {
            prop_assert!(std::str::from_utf8(&line).is_ok());
            prop_assert!(v.as_ref().map(Value::is_object).unwrap_or(true), "{:?} {:?}", String::from_utf8_lossy(&line), ev);
        }
    }
}
