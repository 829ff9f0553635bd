//! `accord generate-logs`: a seeded data set for the log-matching
//! benchmark and tests — indicators (STIX 2.1 JSON lines and a TSV of their
//! values), a Suricata EVE log and Zeek conn and dns TSV logs, with planted
//! hits.
//!
//! Indicator values and benign values come from disjoint spaces (indicator
//! IPv4 in 11.0.0.0/8 and 12.0.0.0/8, IPv6 in 2001:db8:1::/48 and
//! 2001:db8:2::/48, domains under the `evil`/`bad` TLDs, URLs on
//! `*.urlhost.invalid`; benign traffic uses RFC 1918 / 198.18.0.0/15,
//! 2001:db8:f::/48 and `example.*` names), so a correct matcher finds
//! exactly the planted values: each planted event carries one indicator
//! value (an address inside a CIDR, a subdomain of a domain) in one field.
//! Same seed and sizes, same bytes.

use accord_app::generate::Rng;
use anyhow::{Context, Result};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Write a seeded benchmark data set: indicators, a Suricata EVE log and Zeek conn/dns logs with planted hits.
#[derive(clap::Args)]
#[command(after_long_help = "Example:\n  \
    accord generate-logs --out gen-logs --indicators 10000 --lines 20000")]
pub struct Args {
    /// Output directory (indicators.jsonl, iocs.tsv, eve.json, conn.log, dns.log, meta.json).
    #[arg(long)]
    out: PathBuf,
    /// How many indicators.
    #[arg(long, default_value_t = 1_000_000)]
    indicators: u64,
    /// Lines of each log (EVE, Zeek conn, Zeek dns).
    #[arg(long, default_value_t = 2_000_000)]
    lines: u64,
    /// One event in this many carries an indicator value.
    #[arg(long, default_value_t = 100)]
    hit_every: u64,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum IKind {
    V4,
    V6,
    Cidr4,
    Cidr6,
    Domain,
    Url,
    Sha256,
}

/// Kind of the `i`-th indicator (30% IPv4, 5% IPv6, 4% IPv4 CIDR, 1% IPv6
/// CIDR, 30% domains, 15% URLs, 15% SHA-256), as in the peers' generator.
fn kind_of(i: u64) -> IKind {
    match i % 100 {
        0..30 => IKind::V4,
        30..35 => IKind::V6,
        35..39 => IKind::Cidr4,
        39..40 => IKind::Cidr6,
        40..70 => IKind::Domain,
        70..85 => IKind::Url,
        _ => IKind::Sha256,
    }
}

const WORDS: &[&str] = &[
    "kar", "ril", "mon", "tel", "sun", "var", "lin", "pol", "dex", "nav", "zor", "qui", "bel",
    "tra", "omi", "sek", "ulm", "fin", "gar", "vex",
];

/// The value of indicator `i` (its kind decides the space). Distinct for
/// distinct `i`.
fn value(i: u64, k: IKind) -> String {
    let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    match k {
        IKind::V4 => {
            // An odd multiplier is a bijection of 2^24.
            let a = 0x0B00_0000 | ((i.wrapping_mul(2_654_435_761)) & 0xff_ffff) as u32;
            std::net::Ipv4Addr::from(a).to_string()
        }
        IKind::V6 => format!(
            "2001:db8:1:{:x}:{:x}::{:x}",
            i >> 32,
            (i >> 16) & 0xffff,
            i & 0xffff
        ),
        IKind::Cidr4 => {
            let j = (i / 100) & 0xffff;
            let plen = 24 + (h >> 60) % 5;
            let host = (h >> 8) as u32 & 0xff & !(0xffu32 >> (plen - 24));
            format!("12.{}.{}.{host}/{plen}", j >> 8, j & 0xff)
        }
        IKind::Cidr6 => {
            let j = i / 100;
            format!("2001:db8:2:{:x}::/64", j & 0xffff)
        }
        IKind::Domain => format!(
            "{}{}.{}",
            WORDS[(h >> 59) as usize % WORDS.len()],
            radix36(i),
            if h & 1 == 0 { "evil" } else { "bad" }
        ),
        IKind::Url => format!(
            "http://{}.urlhost.invalid/{}/{}.php",
            radix36(i),
            WORDS[(h >> 59) as usize % WORDS.len()],
            radix36(h >> 40)
        ),
        IKind::Sha256 => {
            let mut r = Rng::new(i ^ 0x5a25_6000);
            format!(
                "{:016x}{:016x}{:016x}{:016x}",
                r.next_u64(),
                r.next_u64(),
                r.next_u64(),
                r.next_u64()
            )
        }
    }
}

fn radix36(mut n: u64) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn pattern(k: IKind, v: &str) -> String {
    match k {
        IKind::V4 => format!("[ipv4-addr:value = '{v}']"),
        IKind::V6 => format!("[ipv6-addr:value = '{v}']"),
        IKind::Cidr4 => format!("[ipv4-addr:value ISSUBSET '{v}']"),
        IKind::Cidr6 => format!("[ipv6-addr:value ISSUBSET '{v}']"),
        IKind::Domain => format!("[domain-name:value = '{v}']"),
        IKind::Url => format!("[url:value = '{v}']"),
        IKind::Sha256 => format!("[file:hashes.'SHA-256' = '{v}']"),
    }
}

fn kind_name(k: IKind) -> &'static str {
    match k {
        IKind::V4 => "ipv4",
        IKind::V6 => "ipv6",
        IKind::Cidr4 => "cidr4",
        IKind::Cidr6 => "cidr6",
        IKind::Domain => "domain",
        IKind::Url => "url",
        IKind::Sha256 => "sha256",
    }
}

/// A value of the log that falls under indicator `i` (an address inside a
/// CIDR, sometimes a subdomain of a domain).
fn planted(i: u64, k: IKind, rng: &mut Rng) -> String {
    let v = value(i, k);
    match k {
        IKind::Cidr4 => {
            let (net, plen) = v.split_once('/').unwrap_or((&v, "32"));
            let a: std::net::Ipv4Addr = net.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
            let plen: u32 = plen.parse().unwrap_or(32);
            let host = (rng.next_u64() as u32) & (u32::MAX >> plen);
            std::net::Ipv4Addr::from(u32::from(a) | host).to_string()
        }
        IKind::Cidr6 => {
            let net = v.trim_end_matches("::/64");
            format!(
                "{net}:{:x}:{:x}:{:x}:{:x}",
                rng.below(65536),
                rng.below(65536),
                rng.below(65536),
                1 + rng.below(65535)
            )
        }
        IKind::Domain if rng.below(2) == 0 => format!("www.{v}"),
        _ => v,
    }
}

fn benign_v4(rng: &mut Rng) -> String {
    let r = rng.next_u64();
    match r % 4 {
        0 => format!(
            "10.{}.{}.{}",
            (r >> 8) & 255,
            (r >> 16) & 255,
            1 + (r >> 24) % 254
        ),
        1 => format!(
            "172.{}.{}.{}",
            16 + (r >> 8) % 16,
            (r >> 16) & 255,
            1 + (r >> 24) % 254
        ),
        2 => format!("192.168.{}.{}", (r >> 16) & 255, 1 + (r >> 24) % 254),
        _ => format!(
            "198.{}.{}.{}",
            18 + (r >> 8) % 2,
            (r >> 16) & 255,
            1 + (r >> 24) % 254
        ),
    }
}

fn benign_v6(rng: &mut Rng) -> String {
    format!(
        "2001:db8:f:{:x}::{:x}",
        rng.below(65536),
        1 + rng.below(65535)
    )
}

fn benign_domain(rng: &mut Rng) -> String {
    let w = |rng: &mut Rng| WORDS[rng.below(WORDS.len() as u64) as usize];
    let tld = ["com", "net", "org"][rng.below(3) as usize];
    format!(
        "{}{}.{}{}.example.{tld}",
        w(rng),
        rng.below(1000),
        w(rng),
        w(rng)
    )
}

fn hex(rng: &mut Rng, n: usize) -> String {
    let mut s = String::with_capacity(n);
    while s.len() < n {
        s.push_str(&format!("{:016x}", rng.next_u64()));
    }
    s.truncate(n);
    s
}

/// Which indicator an event carries, if any: one event in `every`.
fn pick(rng: &mut Rng, every: u64, n: u64, want: &[IKind]) -> Option<(u64, IKind)> {
    if n == 0 || rng.below(every) != 0 {
        return None;
    }
    for _ in 0..64 {
        let i = rng.below(n);
        let k = kind_of(i);
        if want.contains(&k) {
            return Some((i, k));
        }
    }
    None
}

pub fn run(args: &Args) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let create = |name: &str| -> Result<BufWriter<std::fs::File>> {
        let p = args.out.join(name);
        Ok(BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&p).with_context(|| format!("creating {}", p.display()))?,
        ))
    };
    write_indicators(args, create("indicators.jsonl")?, create("iocs.tsv")?)?;
    let mut planted_n = [0u64; 3];
    planted_n[0] = write_eve(args, create("eve.json")?)?;
    planted_n[1] = write_conn(args, create("conn.log")?)?;
    planted_n[2] = write_dns(args, create("dns.log")?)?;
    let meta = serde_json::json!({
        "seed": args.seed, "indicators": args.indicators, "lines": args.lines,
        "hit_every": args.hit_every,
        "planted_events": {"eve.json": planted_n[0], "conn.log": planted_n[1], "dns.log": planted_n[2]},
    });
    std::fs::write(args.out.join("meta.json"), format!("{meta:#}\n"))?;
    eprintln!(
        "wrote {} indicators and 3 logs of {} lines to {} (planted events: eve {}, conn {}, dns {})",
        args.indicators,
        args.lines,
        args.out.display(),
        planted_n[0],
        planted_n[1],
        planted_n[2]
    );
    Ok(())
}

fn write_indicators(args: &Args, mut out: impl Write, mut tsv: impl Write) -> Result<()> {
    let mut rng = Rng::new(args.seed);
    for i in 0..args.indicators {
        let k = kind_of(i);
        let v = value(i, k);
        let id = rng.uuid();
        let ts = "2026-01-01T00:00:00.000Z";
        writeln!(
            out,
            concat!(
                r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{id}","created":"{ts}","modified":"{ts}","#,
                r#""created_by_ref":"{ident}","pattern":{pat},"pattern_type":"stix","valid_from":"{ts}"}}"#
            ),
            id = id,
            ts = ts,
            ident = accord_app::generate::IDENTITY_ID,
            pat = serde_json::Value::String(pattern(k, &v)),
        )?;
        writeln!(tsv, "{}\t{v}\tindicator--{id}", kind_name(k))?;
    }
    out.flush()?;
    tsv.flush()?;
    Ok(())
}

fn eve_time(i: u64) -> (String, f64) {
    let base = 1_793_491_200i64; // 2026-11-01T00:00:00Z
    let us = i as i64 * 1_000; // 1,000 events per second
    let t =
        accord_stix::Timestamp::from_unix(base + us / 1_000_000, ((us % 1_000_000) * 1000) as u32);
    let s = t.format(6);
    (
        format!("{}+0000", s.trim_end_matches('Z')),
        (base as f64) + us as f64 / 1e6,
    )
}

fn write_eve(args: &Args, mut out: impl Write) -> Result<u64> {
    let mut rng = Rng::new(args.seed ^ 0xe7e);
    let mut planted_n = 0;
    let n = args.indicators;
    for line in 0..args.lines {
        let (ts, _) = eve_time(line);
        let ty = match rng.below(100) {
            0..40 => "flow",
            40..65 => "dns",
            65..80 => "tls",
            80..90 => "http",
            90..95 => "alert",
            _ => "fileinfo",
        };
        let want: &[IKind] = match ty {
            "flow" | "alert" => &[IKind::V4, IKind::V6, IKind::Cidr4, IKind::Cidr6],
            "dns" => &[IKind::Domain, IKind::V4, IKind::Cidr4],
            "tls" => &[IKind::Domain],
            "http" => &[IKind::Url, IKind::Domain],
            _ => &[IKind::Sha256],
        };
        let p = pick(&mut rng, args.hit_every, n, want);
        if p.is_some() {
            planted_n += 1;
        }
        let six = p.is_some_and(|(_, k)| matches!(k, IKind::V6 | IKind::Cidr6))
            || (p.is_none() && rng.below(20) == 0);
        let (mut src, mut dst) = if six {
            (benign_v6(&mut rng), benign_v6(&mut rng))
        } else {
            (benign_v4(&mut rng), benign_v4(&mut rng))
        };
        let pv = p.map(|(i, k)| (planted(i, k, &mut rng), k));
        if let Some((v, k)) = &pv
            && matches!(k, IKind::V4 | IKind::V6 | IKind::Cidr4 | IKind::Cidr6)
            && ty != "dns"
        {
            if rng.below(2) == 0 {
                src = v.clone();
            } else {
                dst = v.clone();
            }
        }
        let proto = if ty == "dns" { "UDP" } else { "TCP" };
        write!(
            out,
            r#"{{"timestamp":"{ts}","flow_id":{},"in_iface":"eth0","event_type":"{ty}","src_ip":"{src}","src_port":{},"dest_ip":"{dst}","dest_port":{},"proto":"{proto}""#,
            rng.next_u64() >> 14,
            1024 + rng.below(60000),
            [53, 80, 443, 8080][rng.below(4) as usize],
        )?;
        match ty {
            "flow" => write!(
                out,
                r#","app_proto":"tls","flow":{{"pkts_toserver":{},"pkts_toclient":{},"bytes_toserver":{},"bytes_toclient":{},"start":"{ts}","end":"{ts}","age":0,"state":"closed","reason":"timeout","alerted":false}}}}"#,
                rng.below(100),
                rng.below(100),
                rng.below(100_000),
                rng.below(1_000_000)
            )?,
            "dns" => {
                let (name, rdata) = match &pv {
                    Some((v, IKind::Domain)) => (v.clone(), benign_v4(&mut rng)),
                    Some((v, _)) => (benign_domain(&mut rng), v.clone()),
                    None => (benign_domain(&mut rng), benign_v4(&mut rng)),
                };
                write!(
                    out,
                    r#","dns":{{"version":2,"type":"answer","id":{},"flags":"8180","qr":true,"rd":true,"ra":true,"rrname":"{name}","rrtype":"A","rcode":"NOERROR","answers":[{{"rrname":"{name}","rrtype":"A","ttl":300,"rdata":"{rdata}"}}]}}}}"#,
                    rng.below(65536)
                )?
            }
            "tls" => {
                let sni = match &pv {
                    Some((v, _)) => v.clone(),
                    None => benign_domain(&mut rng),
                };
                write!(
                    out,
                    r#","tls":{{"subject":"C=US, O=Example, CN={sni}","issuerdn":"C=US, O=Example CA, CN=Example CA","serial":"00:{}","fingerprint":"{}","sni":"{sni}","version":"TLS 1.2","notbefore":"2026-01-01T00:00:00","notafter":"2027-01-01T00:00:00","ja3":{{"hash":"{}","string":"771,4865-4866,0-23,29-23,0"}}}}}}"#,
                    hex(&mut rng, 8),
                    hex(&mut rng, 40),
                    hex(&mut rng, 32)
                )?
            }
            "http" => {
                let (host, path) = match &pv {
                    Some((v, IKind::Url)) => {
                        let rest = v.trim_start_matches("http://");
                        let (h, p) = rest.split_once('/').unwrap_or((rest, ""));
                        (h.to_owned(), format!("/{p}"))
                    }
                    Some((v, _)) => (v.clone(), format!("/{}", hex(&mut rng, 8))),
                    None => (
                        benign_domain(&mut rng),
                        format!("/{}/{}.html", hex(&mut rng, 6), hex(&mut rng, 4)),
                    ),
                };
                write!(
                    out,
                    r#","tx_id":0,"http":{{"hostname":"{host}","url":"{path}","http_user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":{}}}}}"#,
                    rng.below(100_000)
                )?
            }
            "alert" => write!(
                out,
                r#","alert":{{"action":"allowed","gid":1,"signature_id":{},"rev":3,"signature":"ET POLICY curl User-Agent Outbound","category":"Attempted Information Leak","severity":2}}}}"#,
                2_000_000 + rng.below(100_000)
            )?,
            _ => {
                let sha = match &pv {
                    Some((v, _)) => v.clone(),
                    None => hex(&mut rng, 64),
                };
                write!(
                    out,
                    r#","fileinfo":{{"filename":"/download/{}.exe","sha256":"{sha}","state":"CLOSED","stored":false,"size":{},"tx_id":0}}}}"#,
                    hex(&mut rng, 6),
                    rng.below(10_000_000)
                )?
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(planted_n)
}

fn zeek_header(out: &mut impl Write, path: &str, fields: &str, types: &str) -> Result<()> {
    write!(
        out,
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n#open\t2026-11-01-00-00-00\n#fields\t{fields}\n#types\t{types}\n"
    )?;
    Ok(())
}

fn uid(rng: &mut Rng) -> String {
    let mut s = String::from("C");
    let mut r = rng.next_u64();
    for _ in 0..17 {
        s.push(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[(r % 62) as usize]
                as char,
        );
        r /= 62;
        if r == 0 {
            r = rng.next_u64();
        }
    }
    s
}

fn write_conn(args: &Args, mut out: impl Write) -> Result<u64> {
    let mut rng = Rng::new(args.seed ^ 0xc0);
    zeek_header(
        &mut out,
        "conn",
        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents",
        "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]",
    )?;
    let mut planted_n = 0;
    for line in 0..args.lines {
        let (_, ts) = eve_time(line);
        let p = pick(
            &mut rng,
            args.hit_every,
            args.indicators,
            &[IKind::V4, IKind::V6, IKind::Cidr4, IKind::Cidr6],
        );
        let six = p.is_some_and(|(_, k)| matches!(k, IKind::V6 | IKind::Cidr6))
            || (p.is_none() && rng.below(20) == 0);
        let (mut o, mut r) = if six {
            (benign_v6(&mut rng), benign_v6(&mut rng))
        } else {
            (benign_v4(&mut rng), benign_v4(&mut rng))
        };
        if let Some((i, k)) = p {
            planted_n += 1;
            let v = planted(i, k, &mut rng);
            if rng.below(2) == 0 {
                o = v;
            } else {
                r = v;
            }
        }
        writeln!(
            out,
            "{ts:.6}\t{}\t{o}\t{}\t{r}\t{}\ttcp\tssl\t{}.{:06}\t{}\t{}\tSF\t-\t-\t0\tShADadFf\t{}\t{}\t{}\t{}\t-",
            uid(&mut rng),
            1024 + rng.below(60000),
            [80, 443, 22, 8080][rng.below(4) as usize],
            rng.below(10),
            rng.below(1_000_000),
            rng.below(100_000),
            rng.below(1_000_000),
            rng.below(100),
            rng.below(10_000),
            rng.below(100),
            rng.below(100_000)
        )?;
    }
    writeln!(out, "#close\t2026-11-02-00-00-00")?;
    out.flush()?;
    Ok(planted_n)
}

fn write_dns(args: &Args, mut out: impl Write) -> Result<u64> {
    let mut rng = Rng::new(args.seed ^ 0xd5);
    zeek_header(
        &mut out,
        "dns",
        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected",
        "time\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool",
    )?;
    let mut planted_n = 0;
    for line in 0..args.lines {
        let (_, ts) = eve_time(line);
        let p = pick(
            &mut rng,
            args.hit_every,
            args.indicators,
            &[IKind::Domain, IKind::V4, IKind::Cidr4],
        );
        let (mut query, mut answer) = (benign_domain(&mut rng), benign_v4(&mut rng));
        if let Some((i, k)) = p {
            planted_n += 1;
            let v = planted(i, k, &mut rng);
            if k == IKind::Domain {
                query = v;
            } else {
                answer = v;
            }
        }
        writeln!(
            out,
            "{ts:.6}\t{}\t{}\t{}\t{}\t53\tudp\t{}\t0.{:06}\t{query}\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t{answer}\t300.000000\tF",
            uid(&mut rng),
            benign_v4(&mut rng),
            1024 + rng.below(60000),
            benign_v4(&mut rng),
            rng.below(65536),
            rng.below(1_000_000)
        )?;
    }
    writeln!(out, "#close\t2026-11-02-00-00-00")?;
    out.flush()?;
    Ok(planted_n)
}

/// The path of a generated file.
#[allow(dead_code)]
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
