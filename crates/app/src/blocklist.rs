//! Blocklists: the live indicators of the store as files the operator's
//! tools load (Suricata datasets and rules, Zeek Intel, DNS RPZ, CSV, one
//! value per line).
//!
//! Indicators go through the same path as `accord match`
//! ([`crate::indicators`]): the same liveness (revoked and expired ones, and
//! those not yet valid, are left out; `valid_until` is exclusive and exact),
//! the same 2.0 patterns, the same keys. Only indicators whose pattern
//! compiles to plain keys (any one address, CIDR, domain, URL, e-mail
//! address or file hash is enough to match) are exported; patterns that need
//! the evaluator are counted.

use crate::indicators::{self, CompiledPattern};
use accord_matcher::{HashAlg, Key};
use accord_store::{ObjectRead, Query, StoreError, Timestamp, VersionFilter};
use base64::Engine;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Why a blocklist could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BlocklistError {
    /// Reading the indicators failed.
    #[error("reading indicators: {0}")]
    Store(#[from] StoreError),
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> BlocklistError {
    let path = path.to_owned();
    move |source| BlocklistError::Write { path, source }
}

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
    /// Live indicators left out because a value of theirs is on a
    /// warninglist (see [`crate::warninglists`]).
    pub warninglisted: u64,
    /// Those indicators per list name.
    pub warninglisted_lists: std::collections::BTreeMap<String, u64>,
}

/// The live indicators' keys at `now`, in a stable order; an indicator with
/// a value on one of `warninglists` is left out (and counted).
///
/// # Errors
/// [`BlocklistError::Store`].
pub fn collect(
    store: &dyn ObjectRead,
    collection: Option<&str>,
    now: Timestamp,
    warninglists: Option<&accord_warninglist::WarninglistSet>,
) -> Result<Collected, BlocklistError> {
    let mut out = Collected::default();
    let mut q = Query {
        collection: collection.map(str::to_owned),
        types: vec!["indicator".into()],
        versions: VersionFilter::last(),
        ..Query::default()
    };
    let mut seen = BTreeSet::new();
    loop {
        let page = store.query(&q, 8192)?;
        for o in &page.objects {
            out.indicators += 1;
            collect_one(&o.raw, now, &mut seen, &mut out, warninglists);
        }
        match page.last_seq() {
            Some(s) if page.more => q.after_seq = s,
            _ => break,
        }
    }
    out.entries.sort();
    Ok(out)
}

/// Adds one indicator's keys (when live and keyed) to `out`.
pub(crate) fn collect_one(
    text: &str,
    now: Timestamp,
    seen: &mut BTreeSet<(Key, String)>,
    out: &mut Collected,
    warninglists: Option<&accord_warninglist::WarninglistSet>,
) {
    let Some(ind) = indicators::read(text) else {
        out.unusable += 1;
        return;
    };
    if !ind.validity.is_live(now) {
        out.dead += 1;
        return;
    }
    let Some(Some(p)) = ind.stix_pattern.as_ref().map(|p| p.as_deref()) else {
        out.unusable += 1;
        return;
    };
    match indicators::compile_with(p, ind.v20, warninglists) {
        None => out.unusable += 1,
        Some((_, hits)) if !hits.is_empty() => {
            out.warninglisted += 1;
            for h in hits {
                *out.warninglisted_lists
                    .entry(h.list.to_string())
                    .or_default() += 1;
            }
        }
        Some((CompiledPattern::NeedsEvaluator, _)) => out.needs_evaluator += 1,
        Some((CompiledPattern::Keys(keys, bad), _)) => {
            out.unusable += bad;
            for key in keys {
                if seen.insert((key.clone(), ind.id.to_string())) {
                    out.entries.push(Entry {
                        key,
                        indicator: ind.id.to_string(),
                        valid_until: ind.valid_until_text.as_deref().map(str::to_owned),
                    });
                }
            }
        }
    }
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
///
/// # Errors
/// [`BlocklistError::Write`] naming the file.
pub fn suricata(
    c: &Collected,
    dir: &Path,
    rules: bool,
    sid_base: u64,
) -> Result<(Vec<String>, u64), BlocklistError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
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
    let mut write = |name: &str, vals: &BTreeSet<String>| -> Result<(), BlocklistError> {
        let mut s = String::new();
        for v in vals {
            s.push_str(v);
            s.push('\n');
        }
        let p = dir.join(name);
        std::fs::write(&p, s).map_err(write_err(&p))?;
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
    std::fs::write(&p, r).map_err(write_err(&p))?;
    files.push("accord.rules".into());
    Ok((files, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::load::Loader;
    use std::collections::BTreeMap;

    fn ind(n: u32, pattern: &str, extra: &str) -> String {
        format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{n:012}","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","pattern":{},"pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"{extra}}}"#,
            serde_json::Value::String(pattern.to_owned())
        )
    }

    /// `accord match` and the blocklists agree on which indicators are live
    /// and keyed, and on their keys.
    #[test]
    fn match_and_export_agree() {
        let now = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
        let ip = |i: u32| format!("[ipv4-addr:value = '10.0.0.{i}']");
        let texts = [
            // A 2.0 pattern, keyed.
            ind(1, &ip(1), r#","pattern_version":"2.0""#),
            // A 2.0 pattern with 2.0's string timestamps: the evaluator.
            ind(
                2,
                "[ipv4-addr:value = '10.0.0.2'] START '2016-01-01T00:00:00Z' STOP '2030-01-01T00:00:00Z'",
                r#","pattern_version":"2.0""#,
            ),
            // valid_until exactly now: no longer valid.
            ind(3, &ip(3), r#","valid_until":"2026-06-01T00:00:00Z""#),
            // One second after and before now.
            ind(4, &ip(4), r#","valid_until":"2026-06-01T00:00:01Z""#),
            ind(5, &ip(5), r#","valid_until":"2026-05-31T23:59:59Z""#),
            // Fractions around now.
            ind(6, &ip(6), r#","valid_until":"2026-06-01T00:00:00.001Z""#),
            ind(7, &ip(7), r#","valid_until":"2026-05-31T23:59:59.999Z""#),
            // Revoked.
            ind(8, &ip(8), r#","revoked":true"#),
            // Not yet valid.
            ind(9, &ip(9), "").replace("2020-01-01T00:00:00Z\"}", "2026-06-01T00:00:01Z\"}"),
            // valid_from exactly now: valid.
            ind(10, &ip(10), "").replace("2020-01-01T00:00:00Z\"}", "2026-06-01T00:00:00Z\"}"),
        ];
        // Export.
        let mut c = Collected::default();
        let mut seen = BTreeSet::new();
        for t in &texts {
            c.indicators += 1;
            collect_one(t, now, &mut seen, &mut c, None);
        }
        let exported: BTreeMap<String, String> = c
            .entries
            .iter()
            .map(|e| (value_of(&e.key).0, e.indicator.clone()))
            .collect();
        // Match.
        let mut l = Loader::new(now.unix_seconds);
        for t in &texts {
            l.add(t);
        }
        let stats = l.side.stats.clone();
        let index = l.b.build().unwrap();
        let view = index.view();
        let mut matched = BTreeMap::new();
        for i in 1..=10 {
            let a: IpAddr = format!("10.0.0.{i}").parse().unwrap();
            let mut hits = Vec::new();
            view.lookup_ip(a, &mut hits);
            for o in hits {
                if view.is_live(o, now.unix_seconds) {
                    matched.insert(a.to_string(), view.indicator_id_string(o).unwrap());
                }
            }
        }
        assert_eq!(matched, exported);
        let live: Vec<&str> = exported.keys().map(String::as_str).collect();
        assert_eq!(live, ["10.0.0.1", "10.0.0.10", "10.0.0.4", "10.0.0.6"]);
        // The same counts: 1 evaluated, 5 dead (3, 5, 7, 8, 9).
        assert_eq!((c.needs_evaluator, c.dead), (1, 5));
        assert_eq!((stats.evaluated, stats.dead), (1, 5));
        assert!(stats.evaluated + stats.keyed == 10);
    }
}
