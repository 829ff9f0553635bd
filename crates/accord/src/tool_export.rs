//! `accord export --format suricata-dataset|suricata-rules|zeek-intel|rpz|csv|plain`:
//! the live indicators of the store as files the operator's tools load.
//!
//! Only indicators whose STIX pattern compiles to plain keys (any one
//! address, CIDR, domain, URL, e-mail address or file hash is enough to
//! match) are exported; revoked and expired ones are left out, and so are
//! patterns that need the evaluator (counted on standard error).

use accord_matcher::{HashAlg, Key};
use accord_pattern::{Compiled, KeyKind};
use accord_store::{Query, SqliteStore, Store, Timestamp, VersionFilter};
use anyhow::{Context, Result, bail};
use base64::Engine;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ToolFormat {
    /// STIX 2.1 bundle or JSON lines (the default).
    Stix,
    /// Suricata dataset files (one per type) in the directory given with -o.
    SuricataDataset,
    /// Suricata rules using the dataset files, with the datasets, in the directory given with -o.
    SuricataRules,
    /// A Zeek Intel framework file.
    ZeekIntel,
    /// A DNS response policy zone (RPZ) master file.
    Rpz,
    /// CSV: value,type,indicator,valid_until.
    Csv,
    /// One value per line.
    Plain,
}

/// Options of the tool formats (flattened into `accord export`).
#[derive(clap::Args, Debug, Clone)]
pub struct ToolArgs {
    /// Output format: stix (default) or a file for a tool.
    #[arg(long, value_enum, default_value_t = ToolFormat::Stix)]
    pub format: ToolFormat,
    /// RPZ zone name (origin) for --format rpz.
    #[arg(long, default_value = "rpz.accord.local", value_name = "NAME")]
    pub rpz_zone: String,
    /// First Suricata rule sid for --format suricata-rules.
    #[arg(long, default_value_t = 1_900_000, value_name = "N")]
    pub sid_base: u64,
}

use crate::match_cmd::IndIn;

/// One exported value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub key: Key,
    pub indicator: String,
    pub valid_until: Option<String>,
}

/// What was read.
#[derive(Debug, Default)]
pub struct Collected {
    pub entries: Vec<Entry>,
    pub indicators: u64,
    pub dead: u64,
    pub needs_evaluator: u64,
    pub unusable: u64,
}

/// The live indicators' keys, in a stable order.
pub fn collect(store: &SqliteStore, collection: Option<&str>, now_s: i64) -> Result<Collected> {
    let mut out = Collected::default();
    let mut q = Query {
        collection: collection.map(str::to_owned),
        types: vec!["indicator".into()],
        versions: VersionFilter::Last,
        ..Query::default()
    };
    let mut seen = BTreeSet::new();
    loop {
        let page = store.query(&q, 8192).context("reading indicators")?;
        for o in &page.objects {
            out.indicators += 1;
            let Ok(ind) = serde_json::from_str::<IndIn<'_>>(&o.raw) else {
                out.unusable += 1;
                continue;
            };
            let until = ind
                .valid_until
                .as_deref()
                .and_then(|v| Timestamp::parse(v).ok());
            if ind.revoked || until.is_some_and(|t| t.unix_seconds < now_s) {
                out.dead += 1;
                continue;
            }
            if ind.pattern_type.as_deref().is_some_and(|t| t != "stix") {
                out.unusable += 1;
                continue;
            }
            let (Some(id), Some(p)) = (ind.id.as_deref(), ind.pattern.as_deref()) else {
                out.unusable += 1;
                continue;
            };
            let Ok(ast) = accord_pattern::parse(p) else {
                out.unusable += 1;
                continue;
            };
            match accord_pattern::compile(&ast) {
                Compiled::Keys(keys) => {
                    for k in keys {
                        let key = match k.kind {
                            KeyKind::Ip => Key::ip_cidr(&k.value),
                            KeyKind::Domain => Key::domain(&k.value),
                            KeyKind::Url => Key::url(&k.value),
                            KeyKind::Email => Key::email(&k.value),
                            KeyKind::Hash(_) => Key::hash_hex(&k.value),
                        };
                        match key {
                            Ok(key) => {
                                if seen.insert((key.clone(), id.to_owned())) {
                                    out.entries.push(Entry {
                                        key,
                                        indicator: id.to_owned(),
                                        valid_until: ind.valid_until.as_deref().map(str::to_owned),
                                    });
                                }
                            }
                            Err(_) => out.unusable += 1,
                        }
                    }
                }
                Compiled::NeedsEvaluator(_) => out.needs_evaluator += 1,
            }
        }
        match page.last_seq() {
            Some(s) if page.more => q.after_seq = s,
            _ => break,
        }
    }
    out.entries.sort();
    Ok(out)
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

/// The value as text, and its type name for CSV.
pub fn value_of(k: &Key) -> (String, &'static str) {
    match k {
        Key::Ip(a, n) => {
            let full = if a.is_ipv4() { 32 } else { 128 };
            if *n == full {
                (a.to_string(), if a.is_ipv4() { "ipv4" } else { "ipv6" })
            } else {
                (format!("{a}/{n}"), "cidr")
            }
        }
        Key::Domain(d) => (d.clone(), "domain"),
        Key::Url(u) => (u.clone(), "url"),
        Key::Email(e) => (e.clone(), "email"),
        Key::Hash(alg, b) => (
            hex(b),
            match alg {
                HashAlg::Md5 => "md5",
                HashAlg::Sha1 => "sha1",
                HashAlg::Sha256 => "sha256",
                HashAlg::Sha512 => "sha512",
            },
        ),
    }
}

fn csv_cell(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// CSV with a header.
pub fn csv(c: &Collected) -> String {
    let mut s = String::from("value,type,indicator,valid_until\n");
    for e in &c.entries {
        let (v, t) = value_of(&e.key);
        let _ = writeln!(
            s,
            "{},{t},{},{}",
            csv_cell(&v),
            e.indicator,
            e.valid_until.as_deref().unwrap_or("")
        );
    }
    s
}

/// One distinct value per line.
pub fn plain(c: &Collected) -> String {
    let vals: BTreeSet<String> = c.entries.iter().map(|e| value_of(&e.key).0).collect();
    let mut s = String::new();
    for v in vals {
        if !v.contains(['\n', '\r']) {
            s.push_str(&v);
            s.push('\n');
        }
    }
    s
}

/// A Zeek Intel framework file (tab separated, `#fields` header). URLs are
/// written as Zeek wants them: without the scheme.
pub fn zeek_intel(c: &Collected) -> (String, u64) {
    let mut s =
        String::from("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n");
    let mut skipped = 0;
    let mut seen = BTreeSet::new();
    for e in &c.entries {
        let (v, ty) = match &e.key {
            Key::Ip(a, n) if *n == if a.is_ipv4() { 32 } else { 128 } => {
                (a.to_string(), "Intel::ADDR")
            }
            Key::Ip(a, n) => (format!("{a}/{n}"), "Intel::SUBNET"),
            Key::Domain(d) => (d.clone(), "Intel::DOMAIN"),
            Key::Url(u) => {
                let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
                (rest.to_owned(), "Intel::URL")
            }
            Key::Email(m) => (m.clone(), "Intel::EMAIL"),
            Key::Hash(_, b) => (hex(b), "Intel::FILE_HASH"),
        };
        if v.is_empty() || v.contains(['\t', '\n', '\r']) || v == "-" {
            skipped += 1;
            continue;
        }
        if !seen.insert((v.clone(), ty, e.indicator.clone())) {
            continue;
        }
        let _ = writeln!(s, "{v}\t{ty}\taccord\t{}\t-", e.indicator);
    }
    (s, skipped)
}

fn dns_label_ok(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The RPZ owner name of an address block: `32.1.0.0.10.rpz-ip` for
/// 10.0.0.1/32; IPv6 as prefix length then the reversed 16-bit groups, the
/// longest run of zero groups as `zz`.
pub fn rpz_ip(a: IpAddr, n: u8) -> String {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{n}.{}.{}.{}.{}.rpz-ip", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v) => {
            let g = v.segments();
            // Longest run of zeros (at least 2), as in RFC 5952.
            let (mut best, mut best_len, mut i) = (None, 1, 0);
            while i < 8 {
                if g[i] == 0 {
                    let start = i;
                    while i < 8 && g[i] == 0 {
                        i += 1;
                    }
                    if i - start > best_len {
                        best = Some(start);
                        best_len = i - start;
                    }
                } else {
                    i += 1;
                }
            }
            let mut parts: Vec<String> = Vec::new();
            let mut i = 0;
            while i < 8 {
                if Some(i) == best {
                    parts.push("zz".into());
                    i += best_len;
                } else {
                    parts.push(format!("{:x}", g[i]));
                    i += 1;
                }
            }
            parts.reverse();
            format!("{n}.{}.rpz-ip", parts.join("."))
        }
    }
}

/// A response policy zone: NXDOMAIN (`CNAME .`) for each domain and its
/// subdomains, and for each address block (`rpz-ip` triggers).
pub fn rpz(c: &Collected, zone: &str, serial: u64) -> (String, u64) {
    let zone = zone.trim_end_matches('.');
    let mut s = format!(
        "; Accord response policy zone: NXDOMAIN for the live indicators' domains and addresses.\n\
         $ORIGIN {zone}.\n$TTL 300\n\
         @ IN SOA localhost. hostmaster.localhost. ( {serial} 3600 600 86400 300 )\n\
         @ IN NS localhost.\n"
    );
    let mut skipped = 0;
    let mut owners = BTreeSet::new();
    for e in &c.entries {
        match &e.key {
            Key::Domain(d) => {
                let ok = d.split('.').all(dns_label_ok) && d.len() + zone.len() + 3 <= 253;
                if !ok {
                    skipped += 1;
                    continue;
                }
                if owners.insert(d.clone()) {
                    let _ = writeln!(s, "{d} CNAME .\n*.{d} CNAME .");
                }
            }
            Key::Ip(a, n) => {
                let o = rpz_ip(*a, *n);
                if owners.insert(o.clone()) {
                    let _ = writeln!(s, "{o} CNAME .");
                }
            }
            _ => {}
        }
    }
    (s, skipped)
}

/// Suricata datasets (and, with `rules`, the rules using them) in `dir`.
/// Returns the files written and how many values Suricata cannot take
/// (URLs and e-mail addresses).
pub fn suricata(
    c: &Collected,
    dir: &Path,
    rules: bool,
    sid_base: u64,
) -> Result<(Vec<String>, u64)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut v4 = BTreeSet::new();
    let mut v6 = BTreeSet::new();
    let mut cidrs = BTreeSet::new();
    let mut domains = BTreeSet::new();
    let mut hashes: [BTreeSet<String>; 3] = Default::default();
    let mut skipped = 0;
    for e in &c.entries {
        match &e.key {
            Key::Ip(IpAddr::V4(a), 32) => {
                v4.insert(a.to_string());
            }
            Key::Ip(IpAddr::V6(a), 128) => {
                v6.insert(a.to_string());
            }
            Key::Ip(a, n) => {
                cidrs.insert(format!("{a}/{n}"));
            }
            Key::Domain(d) => {
                domains.insert(b64.encode(format!(".{d}")));
            }
            Key::Hash(HashAlg::Md5, b) => {
                hashes[0].insert(hex(b));
            }
            Key::Hash(HashAlg::Sha1, b) => {
                hashes[1].insert(hex(b));
            }
            Key::Hash(HashAlg::Sha256, b) => {
                hashes[2].insert(hex(b));
            }
            _ => skipped += 1,
        }
    }
    let mut files = Vec::new();
    let mut write = |name: &str, vals: &BTreeSet<String>| -> Result<()> {
        let mut s = String::new();
        for v in vals {
            s.push_str(v);
            s.push('\n');
        }
        let p = dir.join(name);
        std::fs::write(&p, s).with_context(|| format!("writing {}", p.display()))?;
        files.push(name.to_owned());
        Ok(())
    };
    write("accord-ipv4.lst", &v4)?;
    write("accord-ipv6.lst", &v6)?;
    write("accord-domains.lst", &domains)?;
    write("accord-md5.txt", &hashes[0])?;
    write("accord-sha1.txt", &hashes[1])?;
    write("accord-sha256.txt", &hashes[2])?;
    if !rules {
        return Ok((files, skipped));
    }
    let mut r = String::from(
        "# Accord: rules over the datasets beside this file (Suricata 8: `match subdomain`).\n",
    );
    let mut sid = sid_base;
    let mut rule = |r: &mut String, body: String| {
        let _ = writeln!(r, "{body} sid:{sid}; rev:1;)");
        sid += 1;
    };
    for (buf, dir_kw) in [("ip.src", "source"), ("ip.dst", "destination")] {
        rule(
            &mut r,
            format!(
                "alert ip any any -> any any (msg:\"Accord indicator: IPv4 {dir_kw}\"; {buf}; dataset:isset,accord-ipv4,type ipv4,load accord-ipv4.lst;"
            ),
        );
        rule(
            &mut r,
            format!(
                "alert ip any any -> any any (msg:\"Accord indicator: IPv6 {dir_kw}\"; {buf}; dataset:isset,accord-ipv6,type ipv6,load accord-ipv6.lst;"
            ),
        );
    }
    for (proto, buf, what) in [
        ("dns", "dns.query", "DNS query"),
        ("http", "http.host", "HTTP host"),
        ("tls", "tls.sni", "TLS SNI"),
    ] {
        rule(
            &mut r,
            format!(
                "alert {proto} any any -> any any (msg:\"Accord indicator: domain in {what}\"; {buf}; dotprefix; dataset:isset,accord-domains,type string,match subdomain,load accord-domains.lst;"
            ),
        );
    }
    for (kw, file, what) in [
        ("filemd5", "accord-md5.txt", "MD5"),
        ("filesha1", "accord-sha1.txt", "SHA-1"),
        ("filesha256", "accord-sha256.txt", "SHA-256"),
    ] {
        rule(
            &mut r,
            format!(
                "alert http any any -> any any (msg:\"Accord indicator: file {what}\"; {kw}:{file};"
            ),
        );
    }
    let cidrs: Vec<String> = cidrs.into_iter().collect();
    for chunk in cidrs.chunks(500) {
        let list = chunk.join(",");
        rule(
            &mut r,
            format!("alert ip [{list}] any -> any any (msg:\"Accord indicator: source in block\";"),
        );
        rule(
            &mut r,
            format!(
                "alert ip any any -> [{list}] any (msg:\"Accord indicator: destination in block\";"
            ),
        );
    }
    let p = dir.join("accord.rules");
    std::fs::write(&p, r).with_context(|| format!("writing {}", p.display()))?;
    files.push("accord.rules".into());
    Ok((files, skipped))
}

/// Runs a tool export. `output`: a file (a directory for the Suricata formats).
pub fn run(
    data: &Path,
    collection: Option<&str>,
    args: &ToolArgs,
    output: Option<&Path>,
) -> Result<()> {
    let store = SqliteStore::open(data)
        .with_context(|| format!("opening the data directory {}", data.display()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let c = collect(&store, collection, now as i64)?;
    let mut note = String::new();
    let text = match args.format {
        ToolFormat::Stix => bail!("--format stix is the default export"),
        ToolFormat::SuricataDataset | ToolFormat::SuricataRules => {
            let Some(dir) = output else {
                bail!("--format suricata-*: give the output directory with -o DIR");
            };
            let (files, skipped) = suricata(
                &c,
                dir,
                args.format == ToolFormat::SuricataRules,
                args.sid_base,
            )?;
            eprintln!(
                "{} values from {} indicators written to {}: {}; {} URLs/e-mail addresses left out (no Suricata dataset type); {} revoked or expired, {} need the pattern evaluator",
                c.entries.len() as u64 - skipped,
                c.indicators,
                dir.display(),
                files.join(", "),
                skipped,
                c.dead,
                c.needs_evaluator
            );
            return Ok(());
        }
        ToolFormat::ZeekIntel => {
            let (s, skipped) = zeek_intel(&c);
            if skipped > 0 {
                note = format!("; {skipped} values with tabs or newlines left out");
            }
            s
        }
        ToolFormat::Rpz => {
            let (s, skipped) = rpz(&c, &args.rpz_zone, now);
            note = format!(
                "; only domains and addresses go into a zone ({skipped} names too long or not DNS names left out)"
            );
            s
        }
        ToolFormat::Csv => csv(&c),
        ToolFormat::Plain => plain(&c),
    };
    match output {
        Some(p) => std::fs::write(p, &text).with_context(|| format!("writing {}", p.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
    }
    eprintln!(
        "{} values from {} indicators written to {}; {} revoked or expired, {} need the pattern evaluator{note}",
        c.entries.len(),
        c.indicators,
        output.map_or("<stdout>".into(), |p| p.display().to_string()),
        c.dead,
        c.needs_evaluator
    );
    Ok(())
}
