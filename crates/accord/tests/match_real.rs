//! `accord match` on the real Suricata and Zeek samples (copied in the
//! repository, or in `../shared/data` when their licence keeps them there)
//! with planted indicators: the hits must be exactly those an independent
//! reading of the samples (serde_json, a Zeek TSV split) finds.

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file of `rels`, or `None` (after the skip line naming the first
/// missing one) when one is in neither the repository nor `../shared/data`.
fn data(rels: &[&str]) -> Option<Vec<PathBuf>> {
    rels.iter().map(|r| accord_testkit::data(r)).collect()
}

fn accord() -> Command {
    Command::new(env!("CARGO_BIN_EXE_accord"))
}

/// A planted indicator.
#[derive(Clone)]
enum Planted {
    Ip(IpAddr),
    Cidr(IpAddr, u8),
    Domain(String),
    Hash(String),
}

struct Ind {
    id: String,
    what: Planted,
    /// Revoked or expired: must never match.
    dead: bool,
}

fn indicator_json(i: &Ind) -> String {
    let pattern = match &i.what {
        Planted::Ip(ip) if ip.is_ipv4() => format!("[ipv4-addr:value = '{ip}']"),
        Planted::Ip(ip) => format!("[ipv6-addr:value = '{ip}']"),
        Planted::Cidr(ip, n) => format!("[ipv4-addr:value ISSUBSET '{ip}/{n}']"),
        Planted::Domain(d) => format!("[domain-name:value = '{d}']"),
        Planted::Hash(h) if h.len() == 32 => format!("[file:hashes.MD5 = '{h}']"),
        Planted::Hash(h) => format!("[file:hashes.'SHA-256' = '{h}']"),
    };
    let mut v = serde_json::json!({
        "type": "indicator", "spec_version": "2.1", "id": i.id,
        "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
        "created_by_ref": "identity--0b5c2f3e-3e43-4d3b-8c5e-7a1d3c9e8f21",
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2010-01-01T00:00:00Z",
    });
    if i.dead {
        if i.id.ends_with('1') {
            v["revoked"] = Value::Bool(true);
        } else {
            v["valid_until"] = Value::String("2011-01-01T00:00:00Z".into());
        }
    }
    v.to_string()
}

fn ip_matches(p: &Planted, s: &str) -> bool {
    let Ok(ip) = s.parse::<IpAddr>() else {
        return false;
    };
    match (p, ip) {
        (Planted::Ip(a), _) => *a == ip,
        (Planted::Cidr(IpAddr::V4(net), n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(*n)).unwrap_or(0);
            u32::from(a) & mask == u32::from(*net) & mask
        }
        _ => false,
    }
}

fn domain_matches(p: &Planted, s: &str) -> bool {
    let Planted::Domain(d) = p else { return false };
    let s = s.trim_end_matches('.').to_ascii_lowercase();
    // Names with spaces or brackets (mDNS service labels) are not DNS names.
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return false;
    }
    s == *d || s.ends_with(&format!(".{d}"))
}

fn hash_matches(p: &Planted, s: &str) -> bool {
    matches!(p, Planted::Hash(h) if h.eq_ignore_ascii_case(s))
}

/// (indicator, field, file, line), sorted (a multiset).
type HitSet = Vec<(String, String, String, u64)>;

/// EVE: every leaf of every line, by path (`dns.answers[].rdata`), checked
/// against the planted values by the kind the EVE field list gives it.
fn expected_eve(file: &Path, inds: &[Ind], out: &mut HitSet) {
    let kinds: BTreeMap<&str, &str> = [
        ("src_ip", "ip"),
        ("dest_ip", "ip"),
        ("dns.rrname", "name"),
        ("dns.rdata", "name or ip"),
        ("dns.answers[].rrname", "name"),
        ("dns.answers[].rdata", "name or ip"),
        ("dns.authorities[].rrname", "name"),
        ("dns.authorities[].rdata", "name or ip"),
        ("dns.queries[].rrname", "name"),
        ("dns.grouped.A[]", "ip"),
        ("dns.grouped.AAAA[]", "ip"),
        ("dns.grouped.CNAME[]", "name"),
        ("http.hostname", "host"),
        ("tls.sni", "host"),
        ("tls.subject", "dn"),
        ("fileinfo.md5", "hash"),
        ("fileinfo.sha1", "hash"),
        ("fileinfo.sha256", "hash"),
    ]
    .into_iter()
    .collect();
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).unwrap();
    for (n, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        let mut leaves = Vec::new();
        walk(&v, String::new(), &mut leaves);
        for (path, val) in leaves {
            // Hostnames that are addresses (http.hostname "147.32.82.197") are addresses.
            let Some(&kind) = kinds.get(path.as_str()) else {
                continue;
            };
            for i in inds.iter().filter(|i| !i.dead) {
                let hit = match kind {
                    "ip" => ip_matches(&i.what, &val),
                    "name" | "host" | "name or ip" => {
                        if val.parse::<IpAddr>().is_ok() {
                            ip_matches(&i.what, &val)
                        } else {
                            domain_matches(&i.what, &val)
                        }
                    }
                    "dn" => val
                        .split(", ")
                        .filter_map(|p| p.strip_prefix("CN="))
                        .any(|cn| domain_matches(&i.what, cn)),
                    "hash" => hash_matches(&i.what, &val),
                    _ => false,
                };
                if hit {
                    out.push((i.id.clone(), path.clone(), name.clone(), n as u64 + 1));
                }
            }
        }
    }
}

fn walk(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, p, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                walk(v, format!("{path}[]"), out);
            }
        }
        Value::String(s) => out.push((path, s.clone())),
        _ => {}
    }
}

/// Zeek TSV: split on tabs under the `#fields` header; `addr` columns are
/// addresses, `query`/`answers`/`server_name` names (sets split on `,`).
fn expected_zeek(file: &Path, inds: &[Ind], out: &mut HitSet) {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).unwrap();
    let mut fields: Vec<String> = Vec::new();
    let mut types: Vec<String> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            fields = f.split('\t').map(str::to_owned).collect();
            continue;
        }
        if let Some(t) = line.strip_prefix("#types\t") {
            types = t.split('\t').map(str::to_owned).collect();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        for (col, val) in line.split('\t').enumerate() {
            let (f, t) = (&fields[col], &types[col]);
            if val == "-" || val == "(empty)" {
                continue;
            }
            let is_addr = t == "addr" || t == "set[addr]" || t == "vector[addr]";
            let is_name = matches!(f.as_str(), "query" | "answers" | "server_name");
            if !is_addr && !is_name {
                continue;
            }
            for item in val.split(',') {
                for i in inds.iter().filter(|i| !i.dead) {
                    let hit = if item.parse::<IpAddr>().is_ok() {
                        ip_matches(&i.what, item)
                    } else {
                        is_name && domain_matches(&i.what, item)
                    };
                    if hit {
                        out.push((i.id.clone(), f.clone(), name.clone(), n as u64 + 1));
                    }
                }
            }
        }
    }
}

/// Fails with the hits missing and the hits extra (a few of each).
fn assert_same(got: &HitSet, want: &HitSet, stderr: &str) {
    let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(5).collect();
    let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).take(5).collect();
    assert!(
        got == want,
        "{} hits, {} expected; missing {missing:?}; extra {extra:?}\n{stderr}",
        got.len(),
        want.len()
    );
}

fn id(n: u32) -> String {
    format!("indicator--00000000-0000-4000-8000-{n:012}")
}

fn run_match(dir: &Path, inds: &[Ind], logs: &[PathBuf], extra: &[&str]) -> (HitSet, String) {
    let ind_path = dir.join("indicators.jsonl");
    let text: Vec<String> = inds.iter().map(indicator_json).collect();
    std::fs::write(&ind_path, text.join("\n") + "\n").unwrap();
    let hits = dir.join("hits.jsonl");
    let out = accord()
        .arg("match")
        .arg("--indicators")
        .arg(&ind_path)
        .arg("--hits")
        .arg(&hits)
        .arg("--out")
        .arg(dir.join("sightings.json"))
        .arg("--data")
        .arg(dir.join("no-node"))
        .args(extra)
        .args(logs)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "accord match failed: {stderr}");
    let mut got: HitSet = std::fs::read_to_string(&hits)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["indicator"].as_str().unwrap().to_owned(),
                v["field"].as_str().unwrap().to_owned(),
                v["file"].as_str().unwrap().to_owned(),
                v["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    (got, stderr)
}

/// `slips`: `suricata/eve-slips-test6-malicious.json`.
fn eve_indicators(slips: &Path) -> Vec<Ind> {
    let md5 = {
        // A file hash that occurs in the samples, if any; else a made-up one.
        let t = std::fs::read_to_string(slips).unwrap();
        t.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|v| v["fileinfo"]["md5"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "0123456789abcdef0123456789abcdef".into())
    };
    vec![
        Ind {
            id: id(2),
            what: Planted::Domain("myedimax.com".into()),
            dead: false,
        },
        Ind {
            id: id(3),
            what: Planted::Ip("10.16.1.11".parse().unwrap()),
            dead: false,
        },
        Ind {
            id: id(4),
            what: Planted::Domain("google.com".into()),
            dead: false,
        },
        Ind {
            id: id(5),
            what: Planted::Cidr("147.32.82.0".parse().unwrap(), 24),
            dead: false,
        },
        Ind {
            id: id(6),
            what: Planted::Hash(md5),
            dead: false,
        },
        Ind {
            id: id(8),
            what: Planted::Domain("dropbox.com".into()),
            dead: false,
        },
        // Revoked (id ends in 1) and expired: never match.
        Ind {
            id: id(11),
            what: Planted::Domain("dropbox.com".into()),
            dead: true,
        },
        Ind {
            id: id(12),
            what: Planted::Ip("10.16.1.1".parse().unwrap()),
            dead: true,
        },
    ]
}

#[test]
fn eve_samples_planted_hits_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let Some(logs) = data(&[
        "suricata/eve-slips-test6-malicious.json",
        "suricata/eve-dns.json",
        "suricata/eve-tls-alert.json",
        "suricata/eve-fileinfo.json",
        "suricata/eve-http-flow-stats.json",
    ]) else {
        return;
    };
    let inds = eve_indicators(&logs[0]);
    let mut want = HitSet::new();
    for l in &logs {
        expected_eve(l, &inds, &mut want);
    }
    want.sort();
    assert!(want.len() > 1000, "the planted values occur in the samples");
    for threads in ["1", "2"] {
        let (got, stderr) = run_match(dir.path(), &inds, &logs, &["--threads", threads]);
        assert_same(&got, &want, &stderr);
        assert!(stderr.contains("0 lines skipped"), "{stderr}");
        assert!(stderr.contains("2 revoked or expired"), "{stderr}");
    }
}

#[test]
fn zeek_samples_planted_hits_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let Some(logs) = data(&[
        "zeek/btest-conn.log",
        "zeek/btest-dns.log",
        "zeek/slips-conn.log",
        "zeek/slips-dns.log",
        "zeek/wrccdc-dns-first1000.log",
    ]) else {
        return;
    };
    // Values taken from the samples themselves.
    let conn = std::fs::read_to_string(&logs[0]).unwrap();
    let row: Vec<&str> = conn
        .lines()
        .find(|l| !l.starts_with('#'))
        .unwrap()
        .split('\t')
        .collect();
    let resp: IpAddr = row[4].parse().unwrap();
    let inds = vec![
        Ind {
            id: id(20),
            what: Planted::Ip(resp),
            dead: false,
        },
        Ind {
            id: id(22),
            what: Planted::Domain("local".into()),
            dead: false,
        },
        Ind {
            id: id(23),
            what: Planted::Cidr("141.142.220.0".parse().unwrap(), 24),
            dead: false,
        },
        Ind {
            id: id(24),
            what: Planted::Ip("fe80::217:f2ff:fed7:cf65".parse().unwrap()),
            dead: false,
        },
        Ind {
            id: id(31),
            what: Planted::Domain("local".into()),
            dead: true,
        },
    ];
    let mut want = HitSet::new();
    for l in &logs {
        expected_zeek(l, &inds, &mut want);
    }
    want.sort();
    assert!(want.len() > 50, "the planted values occur in the samples");
    let (got, stderr) = run_match(dir.path(), &inds, &logs, &[]);
    assert_same(&got, &want, &stderr);
}

#[test]
fn gzip_sample_matches_like_plain() {
    let dir = tempfile::tempdir().unwrap();
    let inds = vec![Ind {
        id: id(40),
        what: Planted::Domain("com".into()),
        dead: false,
    }];
    let Some(gz) = accord_testkit::data("zeek/wrccdc-dns.log.gz") else {
        return;
    };
    let (got, stderr) = run_match(dir.path(), &inds, &[gz], &[]);
    assert!(!got.is_empty(), "{stderr}");
    assert!(got.iter().all(|h| h.1 == "query" || h.1 == "answers"));
}
