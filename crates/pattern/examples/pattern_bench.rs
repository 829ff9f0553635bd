//! Pattern benchmarks, the same workloads as the peer's
//! `../shared/peers/bench_matcher.py` (stix2-matcher), plus parsing
//! throughput and the compiled-index scaling check.
//!
//! ```text
//! cargo run --release -p accord-pattern --example pattern_bench -- [--quick]
//! ```
//! Prints one JSON object per figure (`{"name": …, "per_s": …}`) and a
//! summary; `bench/pattern.sh` runs it next to the peer and prints ratios.

use std::hint::black_box;
use std::io::{BufRead, BufWriter, Write};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use accord_matcher::{IndexBuilder, IndicatorMeta, Key as MKey};
use accord_pattern::{Compiled, KeyKind, Observations, Pattern, StixVersion, compile, parse};
use serde_json::{Value, json};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn observed(id: &str, refs: &[&str], t: &str) -> Value {
    json!({"type": "observed-data", "spec_version": "2.1", "id": id, "created": t, "modified": t,
           "first_observed": t, "last_observed": t, "number_observed": 1, "object_refs": refs})
}

fn one_ip(ip: &str) -> Vec<Value> {
    let sco = json!({"type": "ipv4-addr", "spec_version": "2.1",
                     "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": ip});
    vec![
        observed(
            "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
            &["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"],
            "2024-05-01T12:00:00.000Z",
        ),
        sco,
    ]
}

fn three_obs() -> Vec<Value> {
    let ip1 = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd";
    let dn = "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5";
    let ip2 = "ipv4-addr--7d5b2c9a-3f1e-5b8a-9c6d-2e4f8a1b3c5d";
    vec![
        observed(
            "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
            &[ip1],
            "2024-05-01T12:00:00.000Z",
        ),
        observed(
            "observed-data--c67d30ff-02ac-498a-92f9-32f845f448cf",
            &[dn],
            "2024-05-01T12:01:00.000Z",
        ),
        observed(
            "observed-data--d67d30ff-02ac-498a-92f9-32f845f448cf",
            &[ip2],
            "2024-05-01T12:02:00.000Z",
        ),
        json!({"type": "ipv4-addr", "spec_version": "2.1", "id": ip1, "value": "198.51.100.7"}),
        json!({"type": "domain-name", "spec_version": "2.1", "id": dn, "value": "c2.example.net"}),
        json!({"type": "ipv4-addr", "spec_version": "2.1", "id": ip2, "value": "198.51.100.7"}),
    ]
}

/// Runs `f` for about `budget`, returns calls per second (best of 3).
fn rate(budget: Duration, mut f: impl FnMut() -> bool) -> f64 {
    let mut best = 0f64;
    for _ in 0..3 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < budget {
            for _ in 0..256 {
                black_box(f());
            }
            n += 256;
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn report(name: &str, per_s: f64, extra: Value) {
    let mut v = json!({"name": name, "per_s": per_s});
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    println!("{v}");
}

/// A deterministic stream of realistic indicator patterns.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pattern(&mut self) -> String {
        let r = self.next();
        let a = self.next();
        let ip4 = format!(
            "{}.{}.{}.{}",
            (a >> 24) as u8 | 1,
            (a >> 16) as u8,
            (a >> 8) as u8,
            a as u8
        );
        match r % 8 {
            0 | 1 => format!("[ipv4-addr:value = '{ip4}']"),
            2 => format!(
                "[ipv6-addr:value = '2001:db8:{:x}:{:x}::{:x}']",
                a as u16,
                (a >> 16) as u16,
                (a >> 32) as u16
            ),
            3 => format!(
                "[ipv4-addr:value ISSUBSET '{}.{}.0.0/16']",
                (a >> 24) as u8 | 1,
                (a >> 16) as u8
            ),
            4 => format!("[domain-name:value = 'h{a:x}.example.net']"),
            5 => format!("[url:value = 'http://h{a:x}.example.org/p/{r:x}']"),
            6 => format!("[file:hashes.'SHA-256' = '{a:016x}{r:016x}{a:016x}{r:016x}']"),
            _ => format!(
                "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '{ip4}'] OR [email-addr:value = 'u{r:x}@example.com']"
            ),
        }
    }
}

fn matcher_key(kind: &KeyKind, value: &str) -> Option<MKey> {
    match kind {
        KeyKind::Ip => MKey::ip_cidr(value).ok(),
        KeyKind::Domain => MKey::domain(value).ok(),
        KeyKind::Url => MKey::url(value).ok(),
        KeyKind::Email => MKey::email(value).ok(),
        KeyKind::Hash(_) => MKey::hash_hex(value).ok(),
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if std::env::args().any(|a| a == "--read-only") {
        // For profiling: reading observations and matching, nothing else.
        let b = one_ip("198.51.100.7");
        let hit = Pattern::new("[ipv4-addr:value = '198.51.100.7']").expect("valid");
        let r = rate(Duration::from_secs(3), || {
            let obs = Observations::new(&b, StixVersion::V21).expect("observations");
            hit.is_match(&obs).expect("match")
        });
        println!("{r:.0}/s");
        return;
    }
    let budget = Duration::from_millis(if quick { 200 } else { 1000 });

    // a) single comparison, as the peer's bench_single.
    let hit_src = "[ipv4-addr:value = '198.51.100.7']";
    let b = one_ip("198.51.100.7");
    let hit = Pattern::new(hit_src).expect("valid");
    let miss = Pattern::new("[ipv4-addr:value = '203.0.113.9']").expect("valid");
    let m = |p: &Pattern, objs: &[Value]| {
        let obs = Observations::new(objs, StixVersion::V21).expect("observations");
        p.is_match(&obs).expect("match")
    };
    assert!(m(&hit, &b) && !m(&miss, &b));
    report(
        "read_observations_only",
        rate(budget, || {
            Observations::new(&b, StixVersion::V21)
                .expect("observations")
                .len()
                == 1
        }),
        json!({}),
    );
    report(
        "single_compiled_match",
        rate(budget, || m(&hit, &b)),
        json!({}),
    );
    report(
        "single_compiled_nomatch",
        rate(budget, || m(&miss, &b)),
        json!({}),
    );
    report(
        "single_parse_and_match",
        rate(budget, || m(&Pattern::new(hit_src).expect("valid"), &b)),
        json!({}),
    );
    let obs = Observations::new(&b, StixVersion::V21).expect("observations");
    report(
        "single_match_prepared_observations",
        rate(budget, || hit.is_match(&obs).expect("match")),
        json!({"note": "observations read once, pattern evaluated each time"}),
    );

    // b) compound patterns.
    let three = three_obs();
    for (name, src) in [
        (
            "compound_and_or_within",
            "([ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value ISSUBSET '203.0.113.0/24'] AND [domain-name:value = 'c2.example.net']) WITHIN 300 SECONDS",
        ),
        (
            "compound_repeats_within",
            "[ipv4-addr:value = '198.51.100.7'] REPEATS 2 TIMES WITHIN 300 SECONDS",
        ),
    ] {
        let p = Pattern::new(src).expect("valid");
        assert!(m(&p, &three), "{name}");
        report(
            name,
            rate(budget, || m(&p, &three)),
            json!({"pattern": src}),
        );
    }

    // c) N compiled indicators against one observation: index lookup.
    let target: IpAddr = "45.67.89.10".parse().expect("ip");
    let mut hits = Vec::new();
    for n in [1_000usize, 1_000_000] {
        let mut g = Gen(3);
        let t = Instant::now();
        let mut builder = IndexBuilder::new(0);
        let (mut keyed, mut evaluated) = (0, 0);
        for i in 0..n {
            let src = if i == n / 2 {
                "[ipv4-addr:value = '45.67.89.10']".to_owned()
            } else {
                g.pattern()
            };
            let ord = builder.add_indicator(IndicatorMeta {
                id: [0; 16],
                valid_until: None,
                revoked: false,
            });
            match compile(&parse(&src).expect("generated patterns parse")) {
                Compiled::Keys(keys) => {
                    keyed += 1;
                    for k in keys {
                        if let Some(mk) = matcher_key(&k.kind, &k.value) {
                            builder.add_key(ord, mk).expect("key");
                        }
                    }
                }
                Compiled::NeedsEvaluator(_) => evaluated += 1,
            }
        }
        let index = builder.build().expect("index");
        let build_s = t.elapsed().as_secs_f64();
        let lookups = rate(budget, || {
            hits.clear();
            index.lookup_ip(black_box(target), &mut hits) == 1
        });
        report(
            &format!("compiled_index_n_{n}"),
            lookups,
            json!({"indicators": n, "compiled_to_keys": keyed, "needs_evaluator": evaluated,
                   "parse_compile_build_s": build_s, "seconds_per_observation": 1.0 / lookups}),
        );
    }

    // c') the evaluator looping over N = 1,000 patterns (what the peer does).
    let mut g = Gen(3);
    let pats: Vec<Pattern> = (0..1000)
        .map(|i| {
            Pattern::new(&if i == 500 {
                "[ipv4-addr:value = '45.67.89.10']".to_owned()
            } else {
                g.pattern()
            })
            .expect("valid")
        })
        .collect();
    let ob = one_ip("45.67.89.10");
    let r = rate(budget, || {
        let obs = Observations::new(&ob, StixVersion::V21).expect("observations");
        pats.iter()
            .filter(|p| p.is_match(&obs).expect("match"))
            .count()
            == 1
    });
    report(
        "evaluator_loop_n_1000",
        r * 1000.0,
        json!({"seconds_per_observation": 1.0 / r}),
    );

    // d) parsing patterns from a JSON-lines file.
    let n = if quick { 100_000 } else { 1_000_000 };
    let dir = std::env::temp_dir().join(format!("accord-pattern-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("patterns.jsonl");
    {
        let mut w = BufWriter::new(std::fs::File::create(&path).expect("create"));
        let mut g = Gen(11);
        for _ in 0..n {
            writeln!(w, "{}", json!({"pattern": g.pattern()})).expect("write");
        }
    }
    let mut best = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let f =
            std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path).expect("open"));
        let mut count = 0u64;
        #[derive(serde::Deserialize)]
        struct Line<'a> {
            #[serde(borrow)]
            pattern: std::borrow::Cow<'a, str>,
        }
        for line in f.lines() {
            let line = line.expect("read");
            let l: Line<'_> = serde_json::from_str(&line).expect("json");
            black_box(parse(&l.pattern).expect("parses"));
            count += 1;
        }
        best = best.max(count as f64 / t.elapsed().as_secs_f64());
    }
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);
    report(
        "parse_jsonl",
        best,
        json!({"patterns": n, "file_bytes": bytes}),
    );
}
