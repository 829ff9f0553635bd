//! Bad input is counted and reported with its line, never aborts, never
//! yields a wrong observable.

mod common;

use std::io::{Read, Write};

use accord_logs::{Error, Format, Kind, Options, SkipReason, read_path, read_stream};
use common::{Collect, read_bytes};

const EVE_OK: &str = r#"{"timestamp":"2024-01-02T03:04:05.123456+0000","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","dns":{"type":"query","rrname":"evil.example.com"}}"#;

const ZEEK_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.resp_h\tquery\tanswers\n#types\ttime\tstring\taddr\taddr\tstring\tvector[string]\n";

#[test]
fn truncated_json_line_is_skipped_whole() {
    // Every cut of a valid line is skipped and yields nothing.
    for cut in 1..EVE_OK.len() - 1 {
        let text = format!("{EVE_OK}\n{}\n{EVE_OK}\n", &EVE_OK[..cut]);
        let (c, s) = read_bytes(text.as_bytes(), Some(Format::Eve));
        assert_eq!(s.events, 2, "cut at {cut}");
        assert_eq!(c.skips.len(), 1, "cut at {cut}");
        assert_eq!(c.skips[0].0, 2);
        assert!(matches!(
            c.skips[0].1,
            SkipReason::Truncated | SkipReason::InvalidJson
        ));
        assert!(c.events.iter().all(|(l, _)| *l == 1 || *l == 3));
    }
    // An unterminated last line that is cut.
    let text = format!("{EVE_OK}\n{}", &EVE_OK[..60]);
    let (c, s) = read_bytes(text.as_bytes(), None);
    assert_eq!(
        (s.events, c.skips.clone()),
        (1, vec![(2, SkipReason::Truncated)])
    );
    assert!(
        s.report().contains("test:2: skipped: truncated line"),
        "{}",
        s.report()
    );
}

#[test]
fn truncated_zeek_line_is_skipped() {
    // The last line has no newline: its `answers` could be cut (1.2.3 of 1.2.3.4).
    let text = format!(
        "{ZEEK_HEADER}1.5\tC1\t10.0.0.1\t10.0.0.2\ta.example.com\t1.2.3.4\n2.5\tC2\t10.0.0.1\t10.0.0.2\tb.example.com\t1.2.3"
    );
    let (c, s) = read_bytes(text.as_bytes(), None);
    assert_eq!(s.format, Some(Format::ZeekTsv));
    assert_eq!(s.events, 1);
    assert_eq!(c.skips, vec![(9, SkipReason::Truncated)]);
    assert!(!c.has("answers", Kind::Ip, "1.2.3"));
    // A row cut in the middle of the file has too few fields.
    let text = format!(
        "{ZEEK_HEADER}1.5\tC1\t10.0.0.1\t10.0.0.2\ta.exa\n2.5\tC2\t10.0.0.1\t10.0.0.2\tb.example.com\t-\n"
    );
    let (c, s) = read_bytes(text.as_bytes(), None);
    assert_eq!(s.events, 1);
    assert_eq!(c.skips, vec![(8, SkipReason::FieldCount)]);
    assert!(
        !c.values()
            .iter()
            .any(|v| v.2 == "a.exa" || v.2 == "10.0.0.1" && c.events[0].0 == 8)
    );
    assert_eq!(c.events[0].0, 9);
}

#[test]
fn invalid_utf8_is_skipped() {
    let mut eve = EVE_OK.as_bytes().to_vec();
    let p = eve.windows(4).position(|w| w == b"evil").unwrap();
    eve[p] = 0xff;
    let mut text = Vec::new();
    text.extend_from_slice(EVE_OK.as_bytes());
    text.push(b'\n');
    text.extend_from_slice(&eve);
    text.push(b'\n');
    let (c, s) = read_bytes(&text, Some(Format::Eve));
    assert_eq!(
        (s.events, c.skips.clone()),
        (1, vec![(2, SkipReason::InvalidUtf8)])
    );

    let mut z = ZEEK_HEADER.as_bytes().to_vec();
    z.extend_from_slice(b"1.5\tC1\t10.0.0.1\t10.0.0.2\ta.ex\xc3ample.com\t-\n");
    let (c, _) = read_bytes(&z, None);
    assert_eq!(c.skips, vec![(8, SkipReason::InvalidUtf8)]);
    assert!(c.events.is_empty());
}

#[test]
fn json_that_is_not_an_object() {
    let text =
        format!("[1,2]\n\"text\"\n42\nnull\n{EVE_OK}\n{{\"a\":1}} trailing\n{{\"a\":tru}}\n");
    let (c, s) = read_bytes(text.as_bytes(), Some(Format::Eve));
    assert_eq!(s.events, 1);
    assert_eq!(
        c.skips,
        vec![
            (1, SkipReason::NotObject),
            (2, SkipReason::NotObject),
            (3, SkipReason::NotObject),
            (4, SkipReason::NotObject),
            (6, SkipReason::InvalidJson),
            (7, SkipReason::InvalidJson),
        ]
    );
    // Zeek JSON the same way.
    let (c, _) = read_bytes(
        b"[{\"ts\":1}]\n{\"ts\":1.5,\"query\":\"x.example\"}\n",
        Some(Format::ZeekJson),
    );
    assert_eq!(c.skips, vec![(1, SkipReason::NotObject)]);
    assert!(c.has("query", Kind::Domain, "x.example"));
}

#[test]
fn json_nested_too_deep() {
    let deep = format!("{{\"a\":{}1{}}}\n", "[".repeat(5000), "]".repeat(5000));
    let (c, _) = read_bytes(deep.as_bytes(), Some(Format::Eve));
    assert_eq!(c.skips, vec![(1, SkipReason::TooDeep)]);
}

#[test]
fn zeek_without_header() {
    let text = "1.5\tC1\t10.0.0.1\t10.0.0.2\ta.example.com\t-\n";
    let (c, s) = read_bytes(text.as_bytes(), Some(Format::ZeekTsv));
    assert_eq!(s.events, 0);
    assert_eq!(c.skips, vec![(1, SkipReason::MissingHeader)]);
}

#[test]
fn zeek_header_changing_mid_file() {
    // A dns log, then (concatenated) a conn log with other columns.
    let text = format!(
        "{ZEEK_HEADER}1.5\tC1\t10.0.0.1\t10.0.0.2\ta.example.com\t-\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\n#types\ttime\tstring\taddr\tport\taddr\n2.5\tC2\t10.0.0.3\t53\t10.0.0.4\n"
    );
    let (c, s) = read_bytes(text.as_bytes(), None);
    assert_eq!(s.events, 2);
    assert_eq!(c.skips, vec![(9, SkipReason::HeaderChanged)]);
    assert_eq!(s.skipped_lines(), 0);
    assert!(c.has("id.resp_h", Kind::Ip, "10.0.0.4"));
    assert!(!c.has("id.resp_h", Kind::Ip, "53"));
    assert_eq!(c.events[1].1.time, Some(2_500_000));
    // Data rows of the old shape after the change are caught by their field count.
    let text = format!(
        "{ZEEK_HEADER}#fields\tts\tid.resp_h\n1.5\tC1\t10.0.0.1\t10.0.0.2\ta.example.com\t-\n"
    );
    let (c, _) = read_bytes(text.as_bytes(), None);
    assert_eq!(
        c.skips,
        vec![(8, SkipReason::HeaderChanged), (9, SkipReason::FieldCount)]
    );
}

/// A reader that yields `len` bytes of `x`, then a newline and a good line,
/// without ever holding the long line.
struct LongLine {
    left: usize,
    tail: &'static [u8],
}

impl Read for LongLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left > 0 {
            let n = self.left.min(buf.len());
            buf[..n].fill(b'x');
            self.left -= n;
            return Ok(n);
        }
        let n = self.tail.len().min(buf.len());
        buf[..n].copy_from_slice(&self.tail[..n]);
        self.tail = &self.tail[n..];
        Ok(n)
    }
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn hundred_megabyte_line_is_dropped_without_being_held() {
    let tail: &'static [u8] = b"\n{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"ok.example\"}}\n";
    let before = peak_rss_kib();
    let mut r = LongLine {
        left: 100 << 20,
        tail,
    };
    let opts = Options {
        format: Some(Format::Eve),
        ..Options::default()
    };
    let mut c = Collect::default();
    let s = read_stream("long", &mut r, &opts, &mut c);
    assert_eq!(c.skips, vec![(1, SkipReason::TooLong)]);
    assert_eq!(s.events, 1);
    assert_eq!(c.events[0].0, 2);
    assert!(c.has("dns.rrname", Kind::Domain, "ok.example"));
    if let (Some(a), Some(b)) = (before, peak_rss_kib()) {
        // The cap is 16 MiB: the 100 MB line never costs 100 MB.
        assert!(
            b.saturating_sub(a) < 60 * 1024,
            "peak RSS grew by {} KiB",
            b - a
        );
    }
    // A small cap, and a long line at the very end of the stream.
    let mut r = LongLine {
        left: 5000,
        tail: b"",
    };
    let opts = Options {
        format: Some(Format::Text),
        max_line: 1000,
        read_size: 64,
        ..Options::default()
    };
    let mut c = Collect::default();
    let s = read_stream("long", &mut r, &opts, &mut c);
    assert_eq!(c.skips, vec![(1, SkipReason::TooLong)]);
    assert_eq!(s.lines, 1);
}

fn dns_lines(n: usize) -> (String, Vec<String>) {
    let mut text = String::from(ZEEK_HEADER);
    let mut names = Vec::new();
    for i in 0..n {
        let name = format!("host{i:05}.example.com");
        text.push_str(&format!(
            "{i}.25\tC{i}\t10.0.{}.{}\t10.9.9.9\t{name}\t192.0.2.{}\n",
            i / 250,
            i % 250,
            i % 250
        ));
        names.push(name);
    }
    (text, names)
}

#[test]
fn gzip_cut_short_is_reported_with_its_line() {
    let (text, names) = dns_lines(20_000);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dns.log.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let mut c = Collect::default();
    let s = read_path(&path, &Options::default(), &mut c).unwrap();
    assert_eq!(s.errors.len(), 1, "{s:?}");
    let Error::Decompress { line, codec, .. } = &s.errors[0] else {
        panic!("{:?}", s.errors)
    };
    assert_eq!(*codec, "gzip");
    assert!(s.events > 1000 && s.events < 20_000);
    // The partial line the stream stopped in is skipped, and it is the line named.
    assert_eq!(c.skips, vec![(*line, SkipReason::Truncated)]);
    assert_eq!(c.events.last().unwrap().0 + 1, *line);
    // Nothing cut ever reaches the sink.
    for (f, k, v) in c.values() {
        if f == "query" {
            assert!(names.binary_search(&v).is_ok(), "{v}");
        }
        if f == "answers" {
            assert_eq!(k, Kind::Ip);
            assert!(v.starts_with("192.0.2."));
        }
    }
    assert!(
        s.report()
            .contains(&format!(":{line}: gzip stream cut short")),
        "{}",
        s.report()
    );
}

#[test]
fn zstd_cut_short_is_reported() {
    let (text, _) = dns_lines(20_000);
    let z = ruzstd::encoding::compress_to_vec(
        text.as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dns.log.zst");
    std::fs::write(&path, &z[..z.len() * 2 / 3]).unwrap();
    let mut c = Collect::default();
    let s = read_path(&path, &Options::default(), &mut c).unwrap();
    assert_eq!(s.errors.len(), 1, "{s:?}");
    assert!(matches!(
        s.errors[0],
        Error::Decompress { codec: "zstd", .. }
    ));
    assert!(s.events < 20_000);
}

#[test]
fn csv_bad_quotes_and_counts() {
    let text = "ts,src_ip,url\n1.5,10.0.0.1,http://a.example/x\n2.5,\"10.0.0.2,http://b.example/\n3.5,10.0.0.3\n4.5,\"10.0.0.4\",\"http://c.example/\"\"q\"\"\"\n";
    let (c, s) = read_bytes(text.as_bytes(), None);
    assert_eq!(s.format, Some(Format::Csv));
    assert_eq!(
        c.skips,
        vec![(3, SkipReason::BadCsv), (4, SkipReason::FieldCount)]
    );
    assert!(c.has("url", Kind::Url, "http://c.example/\"q\""));
    assert!(c.has("src_ip", Kind::Ip, "10.0.0.4"));
    assert_eq!(c.events[1].1.time, Some(4_500_000));
}
