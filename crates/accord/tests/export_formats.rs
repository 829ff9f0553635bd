//! `accord export --format …` for the tools operators run: every file is
//! checked against its format's grammar (Zeek Intel, RFC 1035 master file
//! with RPZ triggers, Suricata rules and datasets, CSV, plain).

use base64::Engine;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

fn accord() -> Command {
    Command::new(env!("CARGO_BIN_EXE_accord"))
}

const PATTERNS: &[(&str, &str)] = &[
    ("a1", "[ipv4-addr:value = '198.51.100.7']"),
    ("a2", "[ipv6-addr:value = '2001:db8::7']"),
    ("a3", "[ipv4-addr:value ISSUBSET '203.0.113.0/24']"),
    ("a4", "[ipv6-addr:value ISSUBSET '2001:db8:42::/48']"),
    ("a5", "[domain-name:value = 'Evil.Example']"),
    ("a6", "[url:value = 'http://bad.example/a/b.php?x=1,2']"),
    ("a7", "[email-addr:value = 'mallory@bad.example']"),
    (
        "a8",
        "[file:hashes.MD5 = '0123456789abcdef0123456789abcdef']",
    ),
    (
        "a9",
        "[file:hashes.'SHA-256' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']",
    ),
    (
        "b1",
        "[file:hashes.'SHA-1' = '0123456789abcdef0123456789abcdef01234567']",
    ),
    (
        "b2",
        "[domain-name:value = 'c2.example'] OR [ipv4-addr:value = '192.0.2.99']",
    ),
    // Never exported:
    ("c1", "[domain-name:value = 'revoked.example']"),
    ("c2", "[domain-name:value = 'expired.example']"),
    (
        "c3",
        "[ipv4-addr:value = '192.0.2.1'] AND [domain-name:value = 'needs-evaluator.example']",
    ),
];

fn setup(dir: &Path) -> std::path::PathBuf {
    let mut lines = Vec::new();
    for (i, (tag, p)) in PATTERNS.iter().enumerate() {
        let mut v = serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-8000-{i:012}"),
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "pattern": p, "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z",
        });
        if *tag == "c1" {
            v["revoked"] = true.into();
        }
        if *tag == "c2" {
            v["valid_until"] = "2021-01-01T00:00:00Z".into();
        }
        lines.push(v.to_string());
    }
    let f = dir.join("ind.jsonl");
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    let data = dir.join("data");
    let out = accord()
        .arg("ingest")
        .arg("--data")
        .arg(&data)
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    data
}

fn export(data: &Path, format: &str, out: &Path) -> String {
    let o = accord()
        .args(["export", "--data"])
        .arg(data)
        .args(["--format", format, "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn no_dead_values(text: &str) {
    for v in [
        "revoked.example",
        "expired.example",
        "needs-evaluator",
        "192.0.2.1\t",
    ] {
        assert!(!text.contains(v), "{v} must not be exported:\n{text}");
    }
}

#[test]
fn zeek_intel_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = setup(dir.path());
    let f = dir.path().join("intel.dat");
    export(&data, "zeek-intel", &f);
    let text = std::fs::read_to_string(&f).unwrap();
    no_dead_values(&text);
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("#fields\t"));
    let fields: Vec<&str> = header["#fields\t".len()..].split('\t').collect();
    assert_eq!(
        fields,
        [
            "indicator",
            "indicator_type",
            "meta.source",
            "meta.desc",
            "meta.url"
        ]
    );
    let mut types = BTreeSet::new();
    for l in lines {
        let cols: Vec<&str> = l.split('\t').collect();
        assert_eq!(cols.len(), fields.len(), "{l:?}");
        assert!(
            cols.iter().all(|c| !c.is_empty() && !c.contains(' ')),
            "{l:?}"
        );
        let (v, t) = (cols[0], cols[1]);
        match t {
            "Intel::ADDR" => assert!(v.parse::<IpAddr>().is_ok(), "{v}"),
            "Intel::SUBNET" => {
                let (a, n) = v.split_once('/').unwrap();
                assert!(
                    a.parse::<IpAddr>().is_ok() && n.parse::<u8>().is_ok(),
                    "{v}"
                );
            }
            "Intel::DOMAIN" => assert!(
                v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)),
                "{v}"
            ),
            // Zeek's URL indicators have no scheme.
            "Intel::URL" => assert!(!v.contains("://") && v.contains('/'), "{v}"),
            "Intel::EMAIL" => assert!(v.contains('@'), "{v}"),
            "Intel::FILE_HASH" => assert!(is_hex(v) && [32, 40, 64, 128].contains(&v.len())),
            other => panic!("not a Zeek Intel type: {other}"),
        }
        assert!(cols[3].starts_with("indicator--"));
        types.insert(t.to_owned());
    }
    assert_eq!(types.len(), 6, "{types:?}");
    assert!(text.contains("evil.example\tIntel::DOMAIN"));
    assert!(text.contains("bad.example/a/b.php?x=1,2\tIntel::URL"));
    assert!(text.contains("c2.example\tIntel::DOMAIN") && text.contains("192.0.2.99\tIntel::ADDR"));
    // The same header shape as Zeek's own input files.
    let Some(sample) = accord_testkit::data("zeek/intel-input-basic.dat") else {
        return;
    };
    let sample = std::fs::read_to_string(sample).unwrap();
    assert!(sample.starts_with("#fields\tindicator\tindicator_type\tmeta.source"));
}

fn label_ok(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 1035 §5 master-file syntax for what we emit: `$ORIGIN`, `$TTL`,
/// comments, `owner [ttl] [IN] TYPE rdata` with SOA (parenthesised on one
/// line), NS and CNAME; owner names relative to the origin.
#[test]
fn rpz_zone() {
    let dir = tempfile::tempdir().unwrap();
    let data = setup(dir.path());
    let f = dir.path().join("rpz.zone");
    export(&data, "rpz", &f);
    let text = std::fs::read_to_string(&f).unwrap();
    no_dead_values(&text);
    let mut origin = None;
    let mut records: Vec<(String, String, String)> = Vec::new();
    for l in text.lines() {
        let l = l.split(';').next().unwrap().trim_end();
        if l.trim().is_empty() {
            continue;
        }
        if let Some(o) = l.strip_prefix("$ORIGIN ") {
            assert!(o.ends_with('.') && o.trim_end_matches('.').split('.').all(label_ok));
            origin = Some(o.to_owned());
            continue;
        }
        if let Some(t) = l.strip_prefix("$TTL ") {
            assert!(t.parse::<u32>().is_ok());
            continue;
        }
        let mut tok: Vec<&str> = l.split_whitespace().collect();
        let owner = tok.remove(0).to_owned();
        if tok[0].bytes().all(|b| b.is_ascii_digit()) {
            tok.remove(0);
        }
        if tok[0] == "IN" {
            tok.remove(0);
        }
        let ty = tok.remove(0).to_owned();
        let rdata = tok.join(" ");
        if owner != "@" {
            let labels: Vec<&str> = owner.split('.').collect();
            assert!(!owner.ends_with('.'), "owners are relative: {owner}");
            for (i, lab) in labels.iter().enumerate() {
                assert!(
                    label_ok(lab) || (i == 0 && *lab == "*"),
                    "bad label in {owner}"
                );
            }
            assert!(owner.len() + origin.as_ref().unwrap().len() < 255);
        }
        match ty.as_str() {
            "SOA" => {
                let parts: Vec<&str> = rdata.split_whitespace().collect();
                assert_eq!(parts.len(), 9, "{rdata}");
                assert!(parts[0].ends_with('.') && parts[1].ends_with('.'));
                assert_eq!((parts[2], parts[8]), ("(", ")"));
                assert!(parts[3..8].iter().all(|n| n.parse::<u32>().is_ok()));
            }
            "NS" => assert!(rdata.ends_with('.')),
            "CNAME" => assert_eq!(rdata, "."),
            t => panic!("unexpected record type {t}"),
        }
        records.push((owner, ty, rdata));
    }
    assert!(origin.is_some());
    assert_eq!(records[0].1, "SOA");
    assert_eq!(records.iter().filter(|r| r.1 == "SOA").count(), 1);
    assert!(records.iter().any(|r| r.1 == "NS"));
    let owners: BTreeSet<&str> = records.iter().map(|r| r.0.as_str()).collect();
    for o in [
        "evil.example",
        "*.evil.example",
        "c2.example",
        "*.c2.example",
        "32.7.100.51.198.rpz-ip",
        "24.0.113.0.203.rpz-ip",
        "32.99.2.0.192.rpz-ip",
        "128.7.zz.db8.2001.rpz-ip",
        "48.zz.42.db8.2001.rpz-ip",
    ] {
        assert!(owners.contains(o), "{o} missing from\n{text}");
    }
    // rpz-ip owners: prefix length, then the address reversed.
    for o in owners.iter().filter(|o| o.ends_with(".rpz-ip")) {
        let labels: Vec<&str> = o.trim_end_matches(".rpz-ip").split('.').collect();
        let n: u8 = labels[0].parse().unwrap();
        if labels.len() == 5 && labels[1..].iter().all(|l| l.parse::<u8>().is_ok()) {
            assert!(n <= 32);
            let a: Vec<u8> = labels[1..]
                .iter()
                .rev()
                .map(|l| l.parse().unwrap())
                .collect();
            let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            let mask = u32::MAX.checked_shl(32 - u32::from(n)).unwrap_or(0);
            assert_eq!(u32::from(ip) & mask, u32::from(ip), "host bits set in {o}");
        } else {
            assert!(n <= 128);
            let g: Vec<&str> = labels[1..].iter().rev().copied().collect();
            let text = g.join(":").replace("zz", "");
            assert!(
                text.parse::<Ipv6Addr>().is_ok()
                    || format!("{text}:").parse::<Ipv6Addr>().is_ok()
                    || format!(":{text}").parse::<Ipv6Addr>().is_ok(),
                "{o}"
            );
        }
    }
}

/// Suricata rules: `action proto src sport -> dst dport (options)`, each
/// option `name` or `name:value;`, sid unique, every dataset loaded from a
/// file beside the rules whose lines fit the dataset type (strings base64).
#[test]
fn suricata_rules_and_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let data = setup(dir.path());
    let out = dir.path().join("suricata");
    export(&data, "suricata-rules", &out);
    let rules = std::fs::read_to_string(out.join("accord.rules")).unwrap();
    let known = [
        "msg",
        "sid",
        "rev",
        "ip.src",
        "ip.dst",
        "dataset",
        "dns.query",
        "http.host",
        "tls.sni",
        "dotprefix",
        "filemd5",
        "filesha1",
        "filesha256",
    ];
    let mut sids = BTreeSet::new();
    let mut dataset_types: BTreeMap<String, String> = BTreeMap::new();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut n = 0;
    for l in rules
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        n += 1;
        let open = l.find(" (").expect("options");
        let head: Vec<&str> = l[..open].split(' ').collect();
        assert_eq!(head.len(), 7, "{l}");
        assert!(["alert", "drop", "pass", "reject"].contains(&head[0]));
        assert!(["ip", "dns", "http", "tls"].contains(&head[1]));
        assert_eq!(head[4], "->");
        for addr in [head[2], head[5]] {
            if addr != "any" {
                let list = addr
                    .strip_prefix('[')
                    .and_then(|a| a.strip_suffix(']'))
                    .unwrap();
                for a in list.split(',') {
                    let (ip, len) = a.split_once('/').unwrap_or((a, "0"));
                    assert!(
                        ip.parse::<IpAddr>().is_ok() && len.parse::<u8>().is_ok(),
                        "{a}"
                    );
                }
            }
        }
        assert_eq!((head[3], head[6]), ("any", "any"));
        let body = l[open + 2..]
            .strip_suffix(')')
            .expect("closing parenthesis");
        let mut has = BTreeSet::new();
        for opt in body.split(';').map(str::trim).filter(|o| !o.is_empty()) {
            let (name, value) = opt.split_once(':').unwrap_or((opt, ""));
            assert!(known.contains(&name), "unknown option {name} in {l}");
            has.insert(name);
            match name {
                "msg" => assert!(value.starts_with('"') && value.ends_with('"')),
                "sid" => assert!(sids.insert(value.parse::<u64>().unwrap()), "duplicate sid"),
                "rev" => assert!(value.parse::<u32>().is_ok()),
                "dataset" => {
                    let parts: Vec<&str> = value.split(',').collect();
                    assert_eq!(parts[0], "isset");
                    let name = parts[1].to_owned();
                    let ty = parts.iter().find_map(|p| p.strip_prefix("type ")).unwrap();
                    let file = parts.iter().find_map(|p| p.strip_prefix("load ")).unwrap();
                    assert!(["ipv4", "ipv6", "ip", "string", "md5", "sha256"].contains(&ty));
                    let prev = dataset_types.insert(name, ty.to_owned());
                    assert!(
                        prev.is_none() || prev.as_deref() == Some(ty),
                        "one type per dataset"
                    );
                    let content = std::fs::read_to_string(out.join(file)).unwrap();
                    for v in content.lines() {
                        match ty {
                            "ipv4" => assert!(v.parse::<Ipv4Addr>().is_ok(), "{v}"),
                            "ipv6" => assert!(v.parse::<Ipv6Addr>().is_ok(), "{v}"),
                            "string" => {
                                let d = b64.decode(v).expect("base64");
                                assert!(d.starts_with(b"."), "dotprefix form");
                            }
                            _ => unreachable!(),
                        }
                    }
                }
                "filemd5" | "filesha1" | "filesha256" => {
                    let len = match name {
                        "filemd5" => 32,
                        "filesha1" => 40,
                        _ => 64,
                    };
                    let content = std::fs::read_to_string(out.join(value)).unwrap();
                    assert!(content.lines().all(|h| is_hex(h) && h.len() == len));
                    assert_eq!(content.lines().count(), 1);
                }
                _ => assert!(value.is_empty() || name == "msg"),
            }
        }
        assert!(
            has.contains("msg") && has.contains("sid") && has.contains("rev"),
            "{l}"
        );
    }
    assert!(n >= 12);
    let dom = std::fs::read_to_string(out.join("accord-domains.lst")).unwrap();
    let doms: BTreeSet<String> = dom
        .lines()
        .map(|v| String::from_utf8(b64.decode(v).unwrap()).unwrap())
        .collect();
    assert_eq!(
        doms,
        [".c2.example", ".evil.example"].map(String::from).into()
    );
    assert_eq!(
        std::fs::read_to_string(out.join("accord-ipv4.lst")).unwrap(),
        "192.0.2.99\n198.51.100.7\n"
    );
    assert!(rules.contains("[2001:db8:42::/48,203.0.113.0/24]"));

    // --format suricata-dataset: the same datasets, no rules.
    let only = dir.path().join("ds");
    export(&data, "suricata-dataset", &only);
    assert!(!only.join("accord.rules").exists());
    assert_eq!(
        std::fs::read(only.join("accord-domains.lst")).unwrap(),
        dom.as_bytes()
    );
}

#[test]
fn csv_and_plain_blocklists() {
    let dir = tempfile::tempdir().unwrap();
    let data = setup(dir.path());
    let f = dir.path().join("b.csv");
    export(&data, "csv", &f);
    let text = std::fs::read_to_string(&f).unwrap();
    no_dead_values(&text);
    let mut rows = text.lines();
    assert_eq!(rows.next().unwrap(), "value,type,indicator,valid_until");
    let mut n = 0;
    for r in rows {
        // RFC 4180: a quoted first cell may hold commas.
        let (value, rest) = if let Some(q) = r.strip_prefix('"') {
            let end = q.find("\",").unwrap();
            (q[..end].replace("\"\"", "\""), &q[end + 2..])
        } else {
            let (v, rest) = r.split_once(',').unwrap();
            (v.to_owned(), rest)
        };
        let cells: Vec<&str> = rest.split(',').collect();
        assert_eq!(cells.len(), 3, "{r}");
        assert!(
            [
                "ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1", "sha256", "sha512"
            ]
            .contains(&cells[0])
        );
        assert!(cells[1].starts_with("indicator--"));
        assert!(!value.is_empty());
        n += 1;
    }
    assert_eq!(n, 12);
    assert!(text.contains("\"http://bad.example/a/b.php?x=1,2\",url,"));

    let p = dir.path().join("b.txt");
    export(&data, "plain", &p);
    let plain = std::fs::read_to_string(&p).unwrap();
    no_dead_values(&plain);
    assert_eq!(plain.lines().count(), 12);
    assert!(plain.lines().any(|l| l == "203.0.113.0/24"));
    assert!(plain.lines().any(|l| l == "evil.example"));
}
