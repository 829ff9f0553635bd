//! Every real Zeek and Suricata sample (those whose licence allows are
//! copied in the repository, the others are read in `../shared/data`, and
//! skipped with a line saying so when it is absent) parses with no
//! unexpected skip, and every field of every sample is either mapped to
//! observables or listed here as ignored, with the reason. The set of
//! fields that actually yield observables is asserted per file, so a
//! mapping that silently stops working fails here.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use accord_logs::{Format, Kind, Options, SkipReason, read_path, read_stream};
use accord_testkit::data;
use common::Collect;

/// Zeek fields that hold no address, name, URL, hash or mailbox.
const ZEEK_IGNORED: &[(&str, &str)] = &[
    ("uid", "connection id"),
    ("fuid", "file id"),
    ("id", "file id (slips x509)"),
    ("conn_uids", "connection ids"),
    ("parent_fuid", "file id"),
    ("orig_fuids", "file ids"),
    ("resp_fuids", "file ids"),
    ("cert_chain_fuids", "file ids"),
    ("client_cert_chain_fuids", "file ids"),
    ("tunnel_parents", "connection ids"),
    ("_path", "log name"),
    ("_write_ts", "write time, not the event time"),
    ("id.orig_p", "port"),
    ("id.resp_p", "port"),
    ("p", "port"),
    ("proto", "transport protocol"),
    ("ip_proto", "protocol number"),
    ("service", "protocol name"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "enum"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "flags"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("trans_id", "DNS id"),
    ("rtt", "interval"),
    ("qclass", "DNS class"),
    ("qclass_name", "DNS class"),
    ("qtype", "DNS type"),
    ("qtype_name", "DNS type"),
    ("rcode", "DNS rcode"),
    ("rcode_name", "DNS rcode"),
    ("AA", "flag"),
    ("TC", "flag"),
    ("RD", "flag"),
    ("RA", "flag"),
    ("Z", "flag"),
    ("TTLs", "intervals"),
    ("rejected", "bool"),
    ("opcode", "DNS opcode"),
    ("opcode_name", "DNS opcode"),
    ("trans_depth", "count"),
    ("method", "HTTP method"),
    ("version", "protocol version"),
    ("user_agent", "software string, not an indicator value"),
    ("request_body_len", "count"),
    ("response_body_len", "count"),
    ("status_code", "count"),
    ("status_msg", "text"),
    ("info_code", "count"),
    ("info_msg", "text"),
    ("tags", "enums"),
    ("username", "credential; personal data, never matched"),
    ("password", "credential; personal data, never matched"),
    (
        "proxied",
        "header lines (`X-FORWARDED-FOR -> 1.2.3.4`); the client address is in id.orig_h",
    ),
    ("orig_mime_types", "MIME types"),
    ("resp_mime_types", "MIME types"),
    ("mime_type", "MIME type"),
    ("source", "analyzer name"),
    ("depth", "count"),
    ("analyzers", "analyzer names"),
    ("is_orig", "bool"),
    ("seen_bytes", "count"),
    ("total_bytes", "count"),
    ("missing_bytes", "count"),
    ("overflow_bytes", "count"),
    ("timedout", "bool"),
    ("extracted", "local path of an extracted file"),
    ("extracted_cutoff", "bool"),
    ("extracted_size", "count"),
    ("cipher", "TLS cipher"),
    ("curve", "TLS curve"),
    ("resumed", "bool"),
    ("last_alert", "TLS alert"),
    ("next_protocol", "ALPN"),
    ("established", "bool"),
    ("ssl_history", "flags"),
    ("sni_matches_cert", "bool"),
    ("validation_status", "text"),
    ("issuer", "the issuing CA, not the peer"),
    ("client_issuer", "the issuing CA, not the peer"),
    ("certificate.issuer", "the issuing CA, not the peer"),
    ("certificate.version", "count"),
    ("certificate.serial", "serial number"),
    ("certificate.not_valid_before", "time"),
    ("certificate.not_valid_after", "time"),
    ("certificate.key_alg", "algorithm"),
    ("certificate.sig_alg", "algorithm"),
    ("certificate.key_type", "algorithm"),
    ("certificate.key_length", "count"),
    ("certificate.exponent", "number"),
    ("certificate.curve", "curve"),
    ("basic_constraints.ca", "bool"),
    ("basic_constraints.path_len", "count"),
    ("host_cert", "bool"),
    ("client_cert", "bool"),
    ("seen.where", "where Zeek saw it"),
    ("seen.node", "cluster node"),
    ("matched", "intel types"),
    ("sources", "intel source names"),
    ("file_mime_type", "MIME type"),
    ("meta.source", "intel source name"),
    ("meta.desc", "free text"),
    ("note", "notice type"),
    (
        "msg",
        "free text written by a script; its addresses and names are in src, dst, id.* and sub",
    ),
    ("n", "count"),
    ("peer_descr", "cluster node"),
    ("actions", "notice actions"),
    ("suppress_for", "interval"),
    ("remote_location.country_code", "geo"),
    ("remote_location.region", "geo"),
    ("remote_location.city", "geo"),
    ("remote_location.latitude", "geo"),
    ("remote_location.longitude", "geo"),
];

/// EVE paths that hold no address, name, URL, hash or mailbox (exact).
const EVE_IGNORED: &[(&str, &str)] = &[
    (
        "host",
        "the sensor's own name (Suricata `sensor-name`), not traffic",
    ),
    ("event_type", "enum"),
    ("flow_id", "id"),
    ("pcap_cnt", "count"),
    ("proto", "protocol"),
    ("src_port", "port"),
    ("dest_port", "port"),
    ("app_proto", "protocol"),
    ("app_proto_tc", "protocol"),
    ("direction", "enum"),
    ("pkt_src", "enum"),
    ("stream", "flag"),
    ("tx_id", "id"),
    ("packet", "raw packet, base64"),
    ("payload", "raw payload, base64"),
    (
        "payload_printable",
        "raw payload bytes; not scanned as text",
    ),
    ("packet_info.linktype", "number"),
    ("metadata.flowbits[]", "rule flowbit names"),
    ("alert.action", "enum"),
    ("alert.category", "rule text"),
    ("alert.gid", "id"),
    ("alert.rev", "id"),
    ("alert.severity", "number"),
    ("alert.signature", "rule text"),
    ("alert.signature_id", "id"),
    ("anomaly.app_proto", "protocol"),
    ("anomaly.event", "enum"),
    ("anomaly.layer", "enum"),
    ("anomaly.type", "enum"),
    ("dns.answers[].rrtype", "DNS type"),
    ("dns.answers[].ttl", "TTL"),
    ("dns.flags", "flags"),
    ("dns.id", "id"),
    ("dns.qr", "flag"),
    ("dns.ra", "flag"),
    ("dns.rd", "flag"),
    ("dns.rcode", "rcode"),
    ("dns.rrtype", "DNS type"),
    ("dns.ttl", "TTL"),
    ("dns.tx_id", "id"),
    ("dns.type", "query/answer"),
    ("dns.version", "format version"),
    ("fileinfo.gaps", "flag"),
    ("fileinfo.size", "count"),
    ("fileinfo.state", "enum"),
    ("fileinfo.stored", "flag"),
    ("fileinfo.tx_id", "id"),
    ("files[].gaps", "flag"),
    ("files[].size", "count"),
    ("files[].state", "enum"),
    ("files[].stored", "flag"),
    ("files[].tx_id", "id"),
    ("http.http_content_type", "MIME type"),
    ("http.http_method", "method"),
    ("http.http_port", "port"),
    ("http.http_user_agent", "software string"),
    ("http.length", "count"),
    ("http.protocol", "version"),
    ("http.status", "status"),
    ("tls.issuerdn", "the issuing CA, not the peer"),
    ("tls.ja3.string", "JA3 input; its hash is mapped"),
    ("tls.ja3s.string", "JA3S input; its hash is mapped"),
    ("tls.notafter", "time"),
    ("tls.notbefore", "time"),
    ("tls.serial", "serial number"),
    ("tls.version", "version"),
];

/// EVE subtrees with no observable (prefixes).
const EVE_IGNORED_PREFIXES: &[(&str, &str)] = &[
    ("stats.", "engine counters"),
    ("tcp.", "TCP flags and state"),
    (
        "flow.",
        "flow counters and times (flow.src_ip and flow.dest_ip are mapped)",
    ),
    ("alert.metadata.", "rule metadata"),
    ("dnp3.", "DNP3 objects: numbers and flags"),
    (
        "ldap.",
        "LDAP operations: directory DNs and attribute names, no host or address",
    ),
];

fn zeek_mapped(name: &str) -> bool {
    accord_logs::zeek::FIELDS.iter().any(|(n, _)| *n == name)
}

fn eve_mapped(path: &str) -> bool {
    accord_logs::eve::FIELDS.iter().any(|(n, _)| *n == path)
}

fn decompressed(path: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    accord_logs::open(path)
        .unwrap()
        .read_to_end(&mut v)
        .unwrap();
    v
}

/// Field names (with their Zeek types, if any) of a sample, found
/// independently of the crate: `#fields`/`#types` lines, or JSON keys.
fn sample_fields(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            names = f.split('\t').map(String::from).collect();
            out.extend(names.iter().map(|n| (n.clone(), String::new())));
        } else if let Some(t) = line.strip_prefix("#types\t") {
            for (n, t) in names.iter().zip(t.split('\t')) {
                out.push((n.clone(), t.to_string()));
            }
        } else if line.starts_with('{')
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
        {
            walk(&v, "", &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, &p, out);
            }
        }
        serde_json::Value::Array(a) => {
            for v in a {
                walk(v, &format!("{path}[]"), out);
            }
        }
        _ => out.push((path.to_string(), String::new())),
    }
}

fn check_classified(file: &str, bytes: &[u8], eve: bool) {
    for (name, ty) in sample_fields(bytes) {
        let ok = if eve {
            eve_mapped(&name)
                || EVE_IGNORED.iter().any(|(n, _)| *n == name)
                || EVE_IGNORED_PREFIXES
                    .iter()
                    .any(|(p, _)| name.starts_with(p))
        } else {
            // Zeek JSON arrays show up as `name[]`.
            let base = name.trim_end_matches("[]");
            zeek_mapped(base)
                || matches!(ty.as_str(), "addr" | "set[addr]" | "vector[addr]")
                || ZEEK_IGNORED.iter().any(|(n, _)| *n == base)
        };
        assert!(
            ok,
            "{file}: field {name:?} ({ty}) is neither mapped nor listed as ignored"
        );
    }
}

fn fields_seen(c: &Collect) -> BTreeSet<String> {
    c.events
        .iter()
        .flat_map(|(_, e)| e.observables.iter().map(|o| o.0.clone()))
        .collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

struct Case {
    file: &'static str,
    format: Format,
    events: u64,
    fields: &'static [&'static str],
    /// btest baselines have their timestamps canonified to `XXXX`.
    timed: bool,
}

const CASES: &[Case] = &[
    Case {
        file: "zeek/btest-conn.log",
        format: Format::ZeekTsv,
        events: 34,
        fields: &["id.orig_h", "id.resp_h"],
        timed: false,
    },
    Case {
        file: "zeek/btest-dns.log",
        format: Format::ZeekTsv,
        events: 34,
        fields: &["answers", "id.orig_h", "id.resp_h", "query"],
        timed: false,
    },
    Case {
        file: "zeek/btest-files-smtp.log",
        format: Format::ZeekTsv,
        events: 4,
        fields: &["filename", "id.orig_h", "id.resp_h"],
        timed: false,
    },
    Case {
        file: "zeek/btest-files-x509.log",
        format: Format::ZeekTsv,
        events: 6,
        fields: &["id.orig_h", "id.resp_h", "md5", "sha1", "sha256"],
        timed: false,
    },
    Case {
        file: "zeek/btest-http.log",
        format: Format::ZeekTsv,
        events: 14,
        fields: &["host", "id.orig_h", "id.resp_h", "referrer", "uri"],
        timed: false,
    },
    Case {
        file: "zeek/btest-intel-dns-http.log",
        format: Format::ZeekTsv,
        events: 20,
        fields: &["id.orig_h", "id.resp_h", "seen.indicator"],
        timed: false,
    },
    Case {
        file: "zeek/btest-intel-filename.log",
        format: Format::ZeekTsv,
        events: 1,
        fields: &["file_desc", "id.orig_h", "id.resp_h", "seen.indicator"],
        timed: false,
    },
    Case {
        file: "zeek/btest-intel-smtp.log",
        format: Format::ZeekTsv,
        events: 7,
        fields: &["id.orig_h", "id.resp_h", "seen.indicator"],
        timed: false,
    },
    Case {
        file: "zeek/btest-ssl.log",
        format: Format::ZeekTsv,
        events: 1,
        fields: &["cert_chain_fps", "id.orig_h", "id.resp_h", "server_name"],
        timed: false,
    },
    Case {
        file: "zeek/btest-x509.log",
        format: Format::ZeekTsv,
        events: 2,
        fields: &["certificate.subject", "fingerprint", "san.dns"],
        timed: false,
    },
    Case {
        file: "zeek/intel-input-basic.dat",
        format: Format::ZeekTsv,
        events: 1,
        fields: &["indicator"],
        timed: false,
    },
    Case {
        file: "zeek/intel-input-donotice.dat",
        format: Format::ZeekTsv,
        events: 2,
        fields: &["indicator", "meta.url"],
        timed: false,
    },
    Case {
        file: "zeek/slips-conn.log",
        format: Format::ZeekTsv,
        events: 117,
        fields: &["id.orig_h", "id.resp_h"],
        timed: true,
    },
    Case {
        file: "zeek/slips-dns.log",
        format: Format::ZeekTsv,
        events: 93,
        fields: &["answers", "id.orig_h", "id.resp_h", "query"],
        timed: true,
    },
    Case {
        file: "zeek/slips-files.log",
        format: Format::ZeekTsv,
        events: 6,
        fields: &["md5", "rx_hosts", "sha1", "sha256", "tx_hosts"],
        timed: true,
    },
    Case {
        file: "zeek/slips-ssl.log",
        format: Format::ZeekTsv,
        events: 13,
        fields: &["id.orig_h", "id.resp_h", "server_name", "subject"],
        timed: true,
    },
    Case {
        file: "zeek/slips-x509.log",
        format: Format::ZeekTsv,
        events: 2,
        fields: &["certificate.subject", "san.dns"],
        timed: true,
    },
    Case {
        file: "zeek/slips-json-conn.log",
        format: Format::ZeekJson,
        events: 576,
        fields: &["id.orig_h", "id.resp_h"],
        timed: true,
    },
    Case {
        file: "zeek/slips-json-files.log",
        format: Format::ZeekJson,
        events: 936,
        fields: &["md5", "rx_hosts", "sha1", "tx_hosts"],
        timed: true,
    },
    Case {
        file: "zeek/slips-json-http.log",
        format: Format::ZeekJson,
        events: 516,
        fields: &[
            "host",
            "id.orig_h",
            "id.resp_h",
            "origin",
            "referrer",
            "uri",
        ],
        timed: true,
    },
    Case {
        file: "zeek/wrccdc-dns-first1000.log",
        format: Format::ZeekTsv,
        events: 1000,
        fields: &["answers", "id.orig_h", "id.resp_h", "query"],
        timed: true,
    },
    Case {
        file: "zeek/wrccdc-dns.log.gz",
        format: Format::ZeekTsv,
        events: 53615,
        fields: &["answers", "id.orig_h", "id.resp_h", "query"],
        timed: true,
    },
    Case {
        file: "zeek/wrccdc-dns.json.gz",
        format: Format::ZeekJson,
        events: 53615,
        fields: &["answers", "id.orig_h", "id.resp_h", "query"],
        timed: true,
    },
    Case {
        file: "zeek/wrccdc-notice.log",
        format: Format::ZeekTsv,
        events: 207,
        fields: &["dst", "id.orig_h", "id.resp_h", "src", "sub"],
        timed: true,
    },
    Case {
        file: "zeek/wrccdc-ssl-first1000.log",
        format: Format::ZeekTsv,
        events: 1000,
        fields: &[
            "cert_chain_fps",
            "client_cert_chain_fps",
            "id.orig_h",
            "id.resp_h",
            "server_name",
        ],
        timed: true,
    },
    Case {
        file: "zeek/wrccdc-ssl-first1000.json",
        format: Format::ZeekJson,
        events: 1000,
        fields: &[
            "cert_chain_fps",
            "client_cert_chain_fps",
            "id.orig_h",
            "id.resp_h",
            "server_name",
        ],
        timed: true,
    },
    Case {
        file: "zeek/wrccdc-ssl.log.gz",
        format: Format::ZeekTsv,
        events: 49474,
        fields: &[
            "cert_chain_fps",
            "client_cert_chain_fps",
            "id.orig_h",
            "id.resp_h",
            "server_name",
        ],
        timed: true,
    },
    Case {
        file: "zeek/wrccdc-x509.log",
        format: Format::ZeekTsv,
        events: 348,
        fields: &[
            "certificate.subject",
            "fingerprint",
            "san.dns",
            "san.email",
            "san.ip",
        ],
        timed: true,
    },
    Case {
        file: "zeek/wrccdc-x509.json",
        format: Format::ZeekJson,
        events: 348,
        fields: &[
            "certificate.subject",
            "fingerprint",
            "san.dns",
            "san.email",
            "san.ip",
        ],
        timed: true,
    },
    Case {
        file: "suricata/eve-alert-testmyids.json",
        format: Format::Eve,
        events: 1,
        fields: &["dest_ip", "http.hostname", "http.url", "src_ip"],
        timed: true,
    },
    Case {
        file: "suricata/eve-dnp3-alert.json",
        format: Format::Eve,
        events: 4,
        fields: &["dest_ip", "src_ip"],
        timed: true,
    },
    Case {
        file: "suricata/eve-dns-tcp-flow.json",
        format: Format::Eve,
        events: 14,
        fields: &["dest_ip", "dns.rdata", "dns.rrname", "src_ip"],
        timed: true,
    },
    Case {
        file: "suricata/eve-dns.json",
        format: Format::Eve,
        events: 9,
        fields: &["dest_ip", "dns.rdata", "dns.rrname", "src_ip"],
        timed: true,
    },
    Case {
        file: "suricata/eve-fileinfo.json",
        format: Format::Eve,
        events: 1,
        fields: &[
            "dest_ip",
            "fileinfo.filename",
            "http.hostname",
            "http.url",
            "src_ip",
        ],
        timed: true,
    },
    Case {
        file: "suricata/eve-http-flow-stats.json",
        format: Format::Eve,
        events: 3,
        fields: &["dest_ip", "http.hostname", "http.url", "src_ip"],
        timed: true,
    },
    Case {
        file: "suricata/eve-ldap-alert-flow-stats.json",
        format: Format::Eve,
        events: 7,
        fields: &["dest_ip", "flow.dest_ip", "flow.src_ip", "src_ip"],
        timed: true,
    },
    Case {
        file: "suricata/eve-slips-test6-malicious.json",
        format: Format::Eve,
        events: 5000,
        fields: &[
            "dest_ip",
            "dns.answers[].rdata",
            "dns.answers[].rrname",
            "dns.grouped.A[]",
            "dns.grouped.CNAME[]",
            "dns.rrname",
            "fileinfo.filename",
            "files[].filename",
            "http.hostname",
            "http.http_refer",
            "http.url",
            "src_ip",
            "tls.fingerprint",
            "tls.ja3.hash",
            "tls.ja3s.hash",
            "tls.sni",
            "tls.subject",
        ],
        timed: true,
    },
    Case {
        file: "suricata/eve-tls-alert.json",
        format: Format::Eve,
        events: 2,
        fields: &[
            "dest_ip",
            "src_ip",
            "tls.fingerprint",
            "tls.sni",
            "tls.subject",
        ],
        timed: true,
    },
];

#[test]
fn every_sample_parses_with_every_field_recognised() {
    let mut failures = Vec::new();
    for case in CASES {
        // A sample that is not here is named on stderr, the others still run.
        let Some(path) = data(case.file) else {
            continue;
        };
        let mut c = Collect::default();
        let s = read_path(&path, &Options::default(), &mut c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.format, Some(case.format), "{}", case.file);
        assert!(
            c.skips.is_empty(),
            "{}: unexpected skips {:?}",
            case.file,
            c.skips
        );
        assert!(s.errors.is_empty(), "{}: {:?}", case.file, s.errors);
        assert_eq!(s.events, case.events, "{}", case.file);
        let seen = fields_seen(&c);
        if seen != set(case.fields) {
            failures.push(format!("{}: fields {:?}", case.file, seen));
        }
        if case.timed {
            assert!(
                c.events.iter().all(|(_, e)| e.time.is_some()),
                "{}: an event without time",
                case.file
            );
        }
        let bytes = decompressed(&path);
        check_classified(case.file, &bytes, case.format == Format::Eve);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The one Zeek JSON baseline has its `ts` canonified to `XXXX.XXXX` by
/// btest (invalid JSON) and a `###` first line: both are counted as skips.
/// With a real number put back in memory, the line reads fully.
#[test]
fn btest_zeek_json_baseline() {
    let path = accord_testkit::fixture("zeek/btest-http.json.log");
    let mut c = Collect::default();
    let s = read_path(&path, &Options::default(), &mut c).unwrap();
    assert_eq!(s.format, Some(Format::ZeekJson));
    assert_eq!(
        c.skips,
        vec![(1, SkipReason::NotObject), (2, SkipReason::InvalidJson)]
    );
    assert!(c.events.is_empty());

    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("XXXXXXXXXX.XXXXXX", "1300475168.783842");
    check_classified("btest-http.json.log", text.as_bytes(), false);
    let mut c = Collect::default();
    let s = read_stream("mem", &mut text.as_bytes(), &Options::default(), &mut c);
    assert_eq!(s.events, 1);
    assert_eq!(c.events[0].1.time, Some(1_300_475_168_783_842));
    assert_eq!(
        fields_seen(&c),
        set(&["host", "id.orig_h", "id.resp_h", "uri", "uri_sha256"])
    );
    assert!(
        c.has(
            "uri",
            Kind::Url,
            "http://bro.org/download/CHANGES.bro-aux.txt"
        ),
        "{:?}",
        c.values()
    );
}

/// Values read from each sample. A sample that is not here is named on
/// stderr and its checks are left out; the others still run.
#[test]
fn sample_values() {
    let read = |f: &str| {
        let path = data(f)?;
        let mut c = Collect::default();
        read_path(&path, &Options::default(), &mut c).unwrap();
        Some(c)
    };
    if let Some(c) = read("suricata/eve-alert-testmyids.json") {
        assert!(c.has("http.url", Kind::Url, "http://www.testmyids.com/"));
        assert!(c.has("http.hostname", Kind::Domain, "www.testmyids.com"));
        assert!(c.has("src_ip", Kind::Ip, "82.165.177.154"));
        assert_eq!(c.events[0].1.time, Some(1_468_449_727_573_103));
    }

    if let Some(c) = read("suricata/eve-tls-alert.json") {
        assert!(c.has("tls.subject", Kind::Domain, "www.google.com"));
        assert!(
            c.has(
                "tls.fingerprint",
                Kind::Hash,
                "9086a43bf5cf1b2e4ef79796f9debab96635863f"
            ),
            "{:?}",
            c.values()
        );
    }

    if let Some(c) = read("suricata/eve-slips-test6-malicious.json") {
        assert!(c.has("dns.grouped.A[]", Kind::Ip, "172.217.23.196"));
        assert!(c.has("dns.grouped.CNAME[]", Kind::Domain, "ddns.myedimax.com"));
        assert!(c.has(
            "http.http_refer",
            Kind::Url,
            "https://mp3galaxy.art/?kk=леша_свик_x_rayzen_x_миша_джер"
        ));
    }

    if let Some(c) = read("zeek/btest-intel-smtp.log") {
        assert!(c.has("seen.indicator", Kind::Email, "jan.grashofer@cern.ch"));
    }
    if let Some(c) = read("zeek/intel-input-donotice.dat") {
        assert!(c.has("indicator", Kind::Ip, "1.2.3.4"));
        assert!(c.has("indicator", Kind::Domain, "a.b.com"));
    }
    if let Some(c) = read("zeek/btest-intel-filename.log") {
        assert!(c.has("seen.indicator", Kind::Text, "test.json"));
    }

    if let Some(c) = read("zeek/wrccdc-x509.log") {
        assert!(c.has("certificate.subject", Kind::Domain, "localhost.localdomain"));
        assert!(c.has(
            "certificate.subject",
            Kind::Email,
            "ssl-certificates@vmware.com"
        ));
        if let Some(j) = read("zeek/wrccdc-x509.json") {
            assert_eq!(c.values(), j.values(), "TSV and JSON of the same log agree");
        }
    }

    if let Some(c) = read("zeek/wrccdc-dns.log.gz") {
        assert!(c.has("answers", Kind::Ip, "134.71.3.16"));
        assert!(c.has("answers", Kind::Domain, "ise.wrccdc.cpp.edu"));
        if let Some(j) = read("zeek/wrccdc-dns.json.gz") {
            assert_eq!(c.values(), j.values(), "TSV and JSON of the same log agree");
            let times_tsv: Vec<_> = c.events.iter().map(|e| e.1.time).collect();
            let times_json: Vec<_> = j.events.iter().map(|e| e.1.time).collect();
            assert_eq!(times_tsv, times_json);
        }
    }

    if let Some(c) = read("zeek/slips-files.log") {
        assert!(
            c.values()
                .iter()
                .any(|(f, k, _)| f == "tx_hosts" && *k == Kind::Ip)
        );
    }
}

/// Reading a sample in parallel chunks gives the same events as reading it
/// as a stream.
#[test]
fn chunked_reading_matches_streaming() {
    for f in [
        "zeek/wrccdc-dns-first1000.log",
        "zeek/wrccdc-x509.json",
        "suricata/eve-slips-test6-malicious.json",
    ] {
        let Some(path) = data(f) else { continue };
        let bytes = std::fs::read(path).unwrap();
        let format = accord_logs::detect(&bytes);
        let mut whole = Collect::default();
        let mut p = accord_logs::Parser::new(format);
        p.read_chunk(&bytes, 1, &mut whole);
        for target in [1000, 4096, 65536] {
            let chunks = accord_logs::split_chunks(&bytes, target);
            let parsers = accord_logs::Parser::new(format).chunk_parsers(&bytes, &chunks);
            let mut parts = Collect::default();
            for (ch, mut p) in chunks.iter().zip(parsers) {
                p.read_chunk(&bytes[ch.range.clone()], ch.first_line, &mut parts);
            }
            assert_eq!(parts.events, whole.events, "{f} in chunks of {target}");
            assert_eq!(parts.skips, whole.skips);
        }
    }
}
