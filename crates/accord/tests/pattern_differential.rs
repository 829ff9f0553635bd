//! `accord pattern` against the OASIS reference tools.
//!
//! - The test suites of stix2-matcher 3.0.0 (v21 and v20) and of
//!   stix2-patterns 2.1.2 (v21), ported to JSONL by
//!   `tests/pattern_cases/port_suites.py`, run through
//!   `accord pattern match --batch` and `accord pattern check`; every
//!   case's expectation must hold.
//! - A differential run: `tests/pattern_diff.py --seed 1 --cases N` writes N
//!   random cases with stix2-matcher's outcome ("peer"), and Accord must
//!   agree with it on each one, except where stix2-matcher contradicts the
//!   STIX specification (`DEVIATIONS`), where Accord must give the
//!   specification's answer (the generator stores it as "spec").
//!
//! N is `ACCORD_PATTERN_DIFF_CASES` (default 3,000, under a minute). The
//! long run, at least 100,000 cases (10-20 minutes, nearly all of it stix2-matcher):
//!
//! ```text
//! ACCORD_PATTERN_DIFF_CASES=100000 cargo test -p accord --test pattern_differential -- --nocapture
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// A place where stix2-matcher 3.0.0 contradicts the STIX specification.
/// `id` is the spec patch of the same name in `pattern_diff.py`, which
/// computes the specification's answer for the generated cases.
struct Deviation {
    id: &'static str,
    /// What the specification says (STIX 2.1 CS/OS, section 9).
    spec: &'static str,
    /// What stix2-matcher does instead.
    peer: &'static str,
    /// Recognises a case that this deviation explains.
    recognises: fn(&Value) -> bool,
}

const DEVIATIONS: &[Deviation] = &[
    Deviation {
        id: "within-strict",
        spec: "9.5.1 WITHIN: \"If there is a set of two or more Observations matched by a, the most \
               recent Observation timestamp contained within that set MUST NOT be equal to or later \
               than the delta of the earliest Observation timestamp within the set plus the \
               specified time window.\"",
        peer: "accepts observations exactly WITHIN seconds apart (closed interval; the window is \
               also rounded to microseconds)",
        recognises: |c| tagged(c, "within-strict") && pattern(c).contains("WITHIN"),
    },
    Deviation {
        id: "ip-ipv6",
        spec: "9.6.1 ISSUBSET/ISSUPERSET: \"a MUST be an Object Path referring to the value property \
               of an Object of type ipv4-addr or ipv6-addr.\"",
        peer: "parses both sides with inet_aton: an IPv6 address or block raises MatcherException",
        recognises: |c| tagged(c, "ip-ipv6") && has_ip_op(c),
    },
    Deviation {
        id: "ip-prefix-zero",
        spec: "9.6.1 ISSUBSET: \"When a is a set that is wholly contained by the set b, the \
               Comparison Expression evaluates to true.\" (0.0.0.0/0 contains every IPv4 address)",
        peer: "rejects a /0 prefix (prefix_size < 1) with MatcherException",
        recognises: |c| tagged(c, "ip-prefix-zero") && has_ip_op(c),
    },
    Deviation {
        id: "ip-plain-address",
        spec: "9.6.1 ISSUBSET/ISSUPERSET: \"In the case that both a and b evaluate to an identical \
               single IP address or an identical IP subnet, the Comparison Expression evaluates to \
               true.\"",
        peer: "requires the container (the constant of ISSUBSET, the property value of ISSUPERSET) \
               to be in CIDR notation; a plain address raises MatcherException",
        recognises: |c| tagged(c, "ip-plain-address") && has_ip_op(c),
    },
    Deviation {
        id: "ip-not-an-address",
        spec: "9.6.1: \"If the arguments to the Comparison Operators are of incompatible types ... \
               the results are false\"",
        peer: "raises MatcherException when either side of ISSUBSET/ISSUPERSET is a string that is \
               not an IPv4 address or CIDR block (e.g. 'not-an-ip', a /33 prefix)",
        recognises: |c| tagged(c, "ip-not-an-address") && has_ip_op(c),
    },
    Deviation {
        id: "exists",
        spec: "9.6.1 EXISTS: \"a MUST be an Object Path which specifies a single property that MUST \
               exist on the Object ... in order for the Comparison Expression to evaluate to true\"; \
               a Comparison Operator \"MAY be preceded by the modifier NOT\"",
        peer: "has no EXISTS handler: NOT is ignored, and EXISTS joined with AND/OR to another \
               comparison raises TypeError/ValueError",
        recognises: |c| tagged(c, "exists") && pattern(c).contains("EXISTS"),
    },
    Deviation {
        id: "like-newline",
        spec: "9.6.1 LIKE: \"any '%' is 0 or more characters and '_' is any one character\" (the \
               whole value must match)",
        peer: "translates LIKE to a Python regex ^...$ without DOTALL: '_' and '%' do not match a \
               newline, and $ also matches before a trailing newline",
        recognises: |c| tagged(c, "like-newline") && pattern(c).contains("LIKE"),
    },
    Deviation {
        id: "matches-dotall",
        spec: "9.6.1 MATCHES: \"The search function MUST be used. The DOTALL option MUST be \
               specified.\"",
        peer: "compiles the regular expression without DOTALL ('.' does not match a newline)",
        recognises: |c| tagged(c, "matches-dotall") && pattern(c).contains("MATCHES"),
    },
    Deviation {
        id: "v20-startstop",
        spec: "STIX 2.0 part 5, START/STOP qualifier: a START '...' STOP '...' qualifier with \
               timestamp strings; all Observations matched MUST have an observation time >= start \
               and < stop",
        peer: "in 2.0 mode every START/STOP fails: stix2-patterns' 2.0 grammar rejects the string \
               form, and with t'' the matcher raises AttributeError (it looks for StringLiteral)",
        recognises: |c| {
            tagged(c, "v20-startstop")
                && c.get("stix_version").and_then(Value::as_str) == Some("2.0")
                && pattern(c).contains("START")
        },
    },
    Deviation {
        id: "empty-binary",
        spec: "9.2 binary constant: \"a base64 encoded array of octets (8-bit bytes) per [RFC4648]\"; \
               the empty array encodes as b'' (RFC 4648 section 10: BASE64(\"\") = \"\"), like h''",
        peer: "stix2-patterns' grammar rejects b'' (ParseException) while it accepts h''",
        recognises: |c| tagged(c, "empty-binary") && pattern(c).contains("b''"),
    },
    Deviation {
        id: "timestamp-calendar",
        spec: "2.16 timestamp: \"The timestamp type defines how dates and times are represented in \
               STIX\" as RFC 3339 date-times; 9.4: \"An invalid pattern resulting from parsing \
               error or invalid constants ... MUST NOT match any Observations\"",
        peer: "stix2-patterns' validator checks timestamp syntax only and accepts t'2024-02-30T...' \
               (stix2-matcher then raises MatcherException when it evaluates the literal)",
        recognises: |c| tagged(c, "timestamp-calendar") && pattern(c).contains("t'"),
    },
];

fn pattern(c: &Value) -> &str {
    c["pattern"].as_str().unwrap_or("")
}

fn tagged(c: &Value, id: &str) -> bool {
    let one = c
        .get("deviation")
        .and_then(Value::as_str)
        .is_some_and(|d| d.split('+').any(|x| x == id));
    let many = c
        .get("deviations")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == id));
    one || many
}

fn has_ip_op(c: &Value) -> bool {
    let p = pattern(c);
    p.contains("ISSUBSET") || p.contains("ISSUPERSET")
}

/// The deviation ids a case carries.
fn deviation_ids(c: &Value) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    if let Some(d) = c.get("deviation").and_then(Value::as_str) {
        ids.extend(d.split('+').map(str::to_owned));
    }
    if let Some(a) = c.get("deviations").and_then(Value::as_array) {
        ids.extend(a.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    ids
}

/// True when every deviation the case carries is documented and recognises it.
fn explained(c: &Value) -> bool {
    let ids = deviation_ids(c);
    !ids.is_empty()
        && ids
            .iter()
            .all(|id| DEVIATIONS.iter().any(|d| d.id == id && (d.recognises)(c)))
}

// ---------------------------------------------------------------------------

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// An outcome as the JSONL files write it: `true`, `false` or `"error"`.
fn outcome_of(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Accord's answer for one case: the outcome and the error message.
struct Ours {
    outcome: String,
    message: Option<String>,
}

/// Runs `accord pattern match --batch` over the cases (only the fields the
/// batch format defines are written to its input).
fn run_batch(cases: &[Value], dir: &Path) -> Vec<Ours> {
    let input = dir.join("batch-input.jsonl");
    let mut text = String::new();
    for c in cases {
        let mut line = json!({"pattern": c["pattern"], "observed": c["observed"]});
        if let Some(v) = c.get("stix_version") {
            line["stix_version"] = v.clone();
        }
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(&input, text).unwrap();
    let (out_path, err_path) = (dir.join("batch-output.jsonl"), dir.join("batch-stderr.txt"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["pattern", "match", "--batch"])
        .arg(&input)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("run accord pattern match --batch");
    // A budget for the whole batch, so that a case that does not finish
    // fails the test instead of hanging it: 60 s plus 10 ms a case.
    let budget = std::time::Duration::from_secs(60)
        + std::time::Duration::from_millis(10 * cases.len() as u64);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > budget {
            let _ = child.kill();
            let _ = child.wait();
            let done = std::fs::read_to_string(&out_path)
                .unwrap_or_default()
                .lines()
                .count();
            let c = cases.get(done).map_or_else(String::new, |c| {
                format!(
                    "{}: {}",
                    c.get("source")
                        .or_else(|| c.get("id"))
                        .map_or_else(String::new, Value::to_string),
                    pattern(c)
                )
            });
            panic!(
                "accord pattern match --batch did not finish in {budget:?}: {done} of {} lines written; \
                 the next case is {c}",
                cases.len()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "accord pattern match --batch exited with {status}: {}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    let stdout = std::fs::read_to_string(&out_path).expect("UTF-8 output");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one output line per input line");
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("output line {}: {e}: {l}", i + 1));
            if let Some(b) = v.get("match").and_then(Value::as_bool) {
                Ours {
                    outcome: b.to_string(),
                    message: None,
                }
            } else if let Some(m) = v.get("error") {
                Ours {
                    outcome: "error".into(),
                    message: Some(m.as_str().map_or_else(|| m.to_string(), str::to_owned)),
                }
            } else {
                panic!("output line {}: neither match nor error: {l}", i + 1)
            }
        })
        .collect()
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let head: String = s.chars().take(n).collect();
        format!("{head}… ({} chars)", s.chars().count())
    }
}

fn describe(c: &Value, ours: &Ours, want_label: &str, want: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "  case {}",
        c.get("source")
            .or_else(|| c.get("id"))
            .map_or_else(String::new, Value::to_string)
    );
    let _ = writeln!(s, "    pattern:  {}", pattern(c));
    let _ = writeln!(
        s,
        "    version:  {}",
        c.get("stix_version")
            .and_then(Value::as_str)
            .unwrap_or("2.1")
    );
    let _ = writeln!(
        s,
        "    observed: {}",
        clip(&c["observed"].to_string(), 1500)
    );
    let _ = writeln!(
        s,
        "    ours:     {}{}",
        ours.outcome,
        ours.message
            .as_deref()
            .map_or_else(String::new, |m| format!(" ({m})"))
    );
    let _ = writeln!(
        s,
        "    {want_label:<9} {want}{}",
        c.get("peer_error")
            .and_then(Value::as_str)
            .map_or_else(String::new, |m| format!(" ({m})"))
    );
    if let Some(spec) = c.get("spec") {
        let _ = writeln!(
            s,
            "    spec:     {} (deviations {:?})",
            outcome_of(spec),
            deviation_ids(c)
        );
    }
    if let Some(d) = c.get("deviation") {
        let _ = writeln!(
            s,
            "    deviation: {d} (peer gives {})",
            outcome_of(&c["peer"])
        );
    }
    s
}

// ---------------------------------------------------------------------------

fn ported_matcher_suite(file: &str) {
    let cases = read_jsonl(&tests_dir().join("pattern_cases").join(file));
    assert!(cases.len() > 300, "{file}: {} cases", cases.len());
    let dir = tempfile::tempdir().unwrap();
    let ours = run_batch(&cases, dir.path());
    let mut failures = Vec::new();
    for (c, o) in cases.iter().zip(&ours) {
        let want = outcome_of(&c["expect"]);
        if o.outcome != want {
            failures.push(describe(c, o, "expect:", &want));
        }
    }
    let deviations = cases
        .iter()
        .filter(|c| c.get("deviation").is_some())
        .count();
    println!(
        "{file}: {} cases ({deviations} with a documented deviation), {} failures",
        cases.len(),
        failures.len()
    );
    for c in cases.iter().filter(|c| c.get("deviation").is_some()) {
        assert!(
            explained(c),
            "{file}: undocumented deviation {:?} in {}",
            c["deviation"],
            c["source"]
        );
    }
    assert!(
        failures.is_empty(),
        "{file}: {} of {} cases fail; the first 20:\n{}",
        failures.len(),
        cases.len(),
        failures.iter().take(20).cloned().collect::<String>()
    );
}

#[test]
fn ported_stix2_matcher_v21_suite() {
    ported_matcher_suite("matcher_v21.jsonl");
}

#[test]
fn ported_stix2_matcher_v20_suite() {
    ported_matcher_suite("matcher_v20.jsonl");
}

#[test]
fn ported_stix2_patterns_suite() {
    let dir = tests_dir().join("pattern_cases");
    let mut failures = Vec::new();
    for (file, must_pass) in [
        ("patterns_valid.jsonl", true),
        ("patterns_invalid.jsonl", false),
    ] {
        let cases = read_jsonl(&dir.join(file));
        assert!(!cases.is_empty(), "{file} is empty");
        for c in &cases {
            let out = Command::new(env!("CARGO_BIN_EXE_accord"))
                .args(["pattern", "check", "--"])
                .arg(pattern(c))
                .output()
                .expect("run accord pattern check");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let kind = c.get("kind").and_then(Value::as_str).unwrap_or("");
            let ok = if must_pass {
                out.status.success()
            } else {
                // Rejected with exit status 1; syntax errors with a caret.
                out.status.code() == Some(1)
                    && (!matches!(kind, "syntax" | "brackets") || text.contains('^'))
            };
            if !ok {
                failures.push(format!(
                    "  {} {}: {:?}\n    must {}; exit {:?}; output:\n{}",
                    file,
                    c["source"],
                    pattern(c),
                    if must_pass {
                        "pass".to_owned()
                    } else {
                        format!("be rejected ({kind}): {}", c["peer_message"])
                    },
                    out.status.code(),
                    clip(&text, 600)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} pattern check failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn generate(py: &Path, seed: u64, cases: usize, out: &Path) {
    let status = Command::new(py)
        .arg(tests_dir().join("pattern_diff.py"))
        .args([
            "--seed",
            &seed.to_string(),
            "--cases",
            &cases.to_string(),
            "--out",
        ])
        .arg(out)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .status()
        .expect("run pattern_diff.py");
    assert!(status.success(), "pattern_diff.py failed: {status}");
}

#[test]
fn differential_against_stix2_matcher() {
    let py = accord_testkit::python("stix2matcher");
    let n: usize = std::env::var("ACCORD_PATTERN_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.jsonl");
    let started = std::time::Instant::now();
    generate(&py, 1, n, &file);
    let generated = started.elapsed();
    let cases = read_jsonl(&file);
    assert_eq!(cases.len(), n);
    let started = std::time::Instant::now();
    let ours = run_batch(&cases, dir.path());
    let ran = started.elapsed();

    let mut by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    let mut explained_by: BTreeMap<String, usize> = BTreeMap::new();
    let mut peer_deviating = 0usize;
    let mut agree = 0usize;
    let mut unexplained = Vec::new();
    for (c, o) in cases.iter().zip(&ours) {
        *by_outcome
            .entry(format!("peer {}", outcome_of(&c["peer"])))
            .or_default() += 1;
        *by_outcome.entry(format!("ours {}", o.outcome)).or_default() += 1;
        if c.get("spec").is_some() {
            peer_deviating += 1;
        }
        let peer = outcome_of(&c["peer"]);
        if o.outcome == peer {
            agree += 1;
            continue;
        }
        let spec = c.get("spec").map(outcome_of);
        if spec.as_deref() == Some(o.outcome.as_str()) && explained(c) {
            for id in deviation_ids(c) {
                *explained_by.entry(id).or_default() += 1;
            }
        } else {
            unexplained.push(describe(c, o, "peer:", &peer));
        }
    }
    println!(
        "pattern differential: {n} cases (generated and run through stix2-matcher in {:.1?}, accord in {:.1?})",
        generated, ran
    );
    println!("  outcomes: {by_outcome:?}");
    println!("  cases where stix2-matcher deviates from the spec: {peer_deviating}");
    println!("  agree with stix2-matcher: {agree}");
    println!("  differences explained by documented deviations: {explained_by:?}");
    println!("  unexplained differences: {}", unexplained.len());
    assert!(
        unexplained.is_empty(),
        "{} of {n} cases differ from stix2-matcher without a documented deviation; the first 20:\n{}",
        unexplained.len(),
        unexplained.iter().take(20).cloned().collect::<String>()
    );
}

#[test]
fn generator_is_deterministic() {
    let py = accord_testkit::python("stix2matcher");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    generate(&py, 42, 300, &a);
    generate(&py, 42, 300, &b);
    let (a, b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(!a.is_empty());
    assert!(
        a == b,
        "pattern_diff.py --seed 42 wrote different cases on two runs"
    );
    let c = dir.path().join("c.jsonl");
    generate(&py, 43, 300, &c);
    assert!(
        std::fs::read(&c).unwrap() != a,
        "a different seed gives different cases"
    );
}

#[test]
fn deviations_are_documented() {
    // Each id is unique and is a spec patch of pattern_diff.py (or, for the
    // pattern suites, a deviation port_suites.py records).
    let src = std::fs::read_to_string(tests_dir().join("pattern_diff.py")).unwrap()
        + &std::fs::read_to_string(tests_dir().join("pattern_cases/port_suites.py")).unwrap();
    for (i, d) in DEVIATIONS.iter().enumerate() {
        assert!(
            DEVIATIONS[..i].iter().all(|e| e.id != d.id),
            "duplicate id {}",
            d.id
        );
        assert!(
            src.contains(&format!("\"{}\"", d.id)),
            "{} is not a spec patch of pattern_diff.py",
            d.id
        );
        assert!(!d.spec.is_empty() && !d.peer.is_empty());
    }
}
