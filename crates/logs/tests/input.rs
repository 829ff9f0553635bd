//! Compressed inputs, stdin-like streams, follow mode, CSV and text.

mod common;

use std::io::Write;

use accord_logs::{CsvColumns, Follow, Format, Kind, Options, SkipReason, read_path};
use common::{Collect, read_bytes};

fn eve_text(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"timestamp\":\"2024-01-02T03:04:{:02}.000001+0000\",\"event_type\":\"http\",\"src_ip\":\"10.0.0.{}\",\"dest_ip\":\"192.0.2.1\",\"http\":{{\"hostname\":\"h{i}.example\",\"url\":\"/p/{i}\"}}}}\n",
                i % 60,
                i % 250
            )
        })
        .collect()
}

fn read_file(path: &std::path::Path) -> (Collect, accord_logs::Summary) {
    let mut c = Collect::default();
    let s = read_path(path, &Options::default(), &mut c).unwrap();
    (c, s)
}

#[test]
fn gzip_and_zstd_round_trips() {
    let text = eve_text(5000);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("eve.json");
    std::fs::write(&plain, &text).unwrap();
    let (want, s) = read_file(&plain);
    assert_eq!(s.events, 5000);
    assert!(want.has("http.url", Kind::Url, "http://h4999.example/p/4999"));

    // gzip, one member and two members (as `cat a.gz b.gz` makes).
    let gz = |t: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(t).unwrap();
        e.finish().unwrap()
    };
    let p = dir.path().join("eve.json.gz");
    std::fs::write(&p, gz(text.as_bytes())).unwrap();
    let (c, s) = read_file(&p);
    assert!(s.errors.is_empty());
    assert_eq!(c.events, want.events);
    let half = text.len() / 2;
    let cut = text[..half].rfind('\n').unwrap() + 1;
    let mut two = gz(&text.as_bytes()[..cut]);
    two.extend(gz(&text.as_bytes()[cut..]));
    std::fs::write(&p, two).unwrap();
    let (c, _) = read_file(&p);
    assert_eq!(c.events, want.events);

    // zstd, one frame and two frames.
    let zs = |t: &[u8]| {
        ruzstd::encoding::compress_to_vec(t, ruzstd::encoding::CompressionLevel::Fastest)
    };
    let p = dir.path().join("eve.json.zst");
    std::fs::write(&p, zs(text.as_bytes())).unwrap();
    let (c, s) = read_file(&p);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(c.events, want.events);
    let mut two = zs(&text.as_bytes()[..cut]);
    two.extend(zs(&text.as_bytes()[cut..]));
    std::fs::write(&p, two).unwrap();
    let (c, _) = read_file(&p);
    assert_eq!(c.events, want.events);

    // A compressed stream without a telling name is sniffed.
    let p = dir.path().join("eve-gzip-no-extension");
    std::fs::write(&p, gz(text.as_bytes())).unwrap();
    let (c, _) = read_file(&p);
    assert_eq!(c.events, want.events);

    // Small reads (a pipe) give the same result.
    let opts = Options {
        read_size: 7,
        ..Options::default()
    };
    let mut c = Collect::default();
    accord_logs::read_stream("-", &mut text.as_bytes(), &opts, &mut c);
    assert_eq!(c.events, want.events);
}

#[test]
fn missing_file_is_an_open_error() {
    let mut c = Collect::default();
    let e = read_path("/nonexistent/x.log".as_ref(), &Options::default(), &mut c).unwrap_err();
    assert!(
        e.to_string().starts_with("/nonexistent/x.log: cannot open"),
        "{e}"
    );
}

const ZEEK: &str = "#separator \\x09\n#fields\tts\tid.orig_h\tquery\n#types\ttime\taddr\tstring\n";

#[test]
fn follow_growth_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dns.log");
    let mut f = Follow::new(&path, &Options::default());
    let mut c = Collect::default();
    // Not there yet.
    assert_eq!(f.poll(&mut c).unwrap(), 0);

    let mut w = std::fs::File::create(&path).unwrap();
    write!(w, "{ZEEK}1.0\t10.0.0.1\ta.example\n2.0\t10.0.0.2\tb.exa").unwrap();
    w.flush().unwrap();
    f.poll(&mut c).unwrap();
    assert_eq!(c.events.len(), 1, "a partial line waits");
    writeln!(w, "mple").unwrap();
    f.poll(&mut c).unwrap();
    assert_eq!(c.events.len(), 2);
    assert!(c.has("query", Kind::Domain, "b.example"));
    assert_eq!(c.events[1].0, 5);

    // Rotation: the old file is renamed and still written to, then a new
    // file appears at the path. The rest of the old file is read first.
    let old = dir.path().join("dns.log.1");
    std::fs::rename(&path, &old).unwrap();
    writeln!(w, "3.0\t10.0.0.3\tc.example").unwrap();
    w.flush().unwrap();
    let mut w2 = std::fs::File::create(&path).unwrap();
    writeln!(w2, "{ZEEK}4.0\t10.0.0.4\td.example").unwrap();
    w2.flush().unwrap();
    f.poll(&mut c).unwrap();
    assert_eq!(f.rotations(), 1);
    let names: Vec<_> = c
        .values()
        .into_iter()
        .filter(|v| v.0 == "query")
        .map(|v| v.2)
        .collect();
    assert_eq!(names, ["a.example", "b.example", "c.example", "d.example"]);
    // The new file's lines are numbered from 1.
    assert_eq!(c.events.last().unwrap().0, 4);

    // Truncation (copytruncate): read again from the start.
    writeln!(w2, "5.0\t10.0.0.5\te.example").unwrap();
    f.poll(&mut c).unwrap();
    let n = c.events.len();
    let w3 = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    drop(w3);
    let mut w3 = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    writeln!(w3, "{ZEEK}6.0\t10.0.0.6\tf.example").unwrap();
    f.poll(&mut c).unwrap();
    assert_eq!(f.truncations(), 1);
    assert_eq!(c.events.len(), n + 1);
    assert!(c.has("query", Kind::Domain, "f.example"));
    assert!(c.skips.is_empty(), "{:?}", c.skips);

    // run() stops when told.
    let stop = std::sync::atomic::AtomicBool::new(true);
    f.run(&mut c, std::time::Duration::from_millis(1), &|| {
        stop.load(std::sync::atomic::Ordering::Relaxed)
    })
    .unwrap();
}

#[test]
fn csv_with_header_and_with_mapping() {
    let text = "Timestamp,Source IP,dst_ip,Domain,Action,Note\n2024-01-02T03:04:05Z,10.0.0.1,192.0.2.7,evil.example,block,see http://x.example/a\n";
    let (c, s) = read_bytes(text.as_bytes(), None);
    assert_eq!(s.format, Some(Format::Csv));
    assert!(c.skips.is_empty());
    assert!(c.has("Source IP", Kind::Ip, "10.0.0.1"), "{:?}", c.values());
    assert!(c.has("dst_ip", Kind::Ip, "192.0.2.7"));
    assert!(c.has("Domain", Kind::Domain, "evil.example"));
    // Free text in an unknown column is not scanned; only whole cells count.
    assert_eq!(c.values().len(), 3);
    assert_eq!(c.events[0].1.time, Some(1_704_164_645_000_000));

    let cols = CsvColumns::parse("time:time,,dst:ip,,url:url").unwrap();
    let opts = Options {
        format: Some(Format::Csv),
        csv_columns: Some(cols),
        ..Options::default()
    };
    let mut c = Collect::default();
    accord_logs::read_stream(
        "m",
        &mut &b"1700000000,x,192.0.2.9,y,https://z.example/q,extra\n"[..],
        &opts,
        &mut c,
    );
    assert!(c.has("dst", Kind::Ip, "192.0.2.9"));
    assert!(c.has("url", Kind::Url, "https://z.example/q"));
    assert_eq!(c.events[0].1.time, Some(1_700_000_000_000_000));
    assert!(CsvColumns::parse("a:bogus").is_err());
    // Semicolons.
    let opts = Options {
        format: Some(Format::Csv),
        csv_delimiter: b';',
        ..Options::default()
    };
    let mut c = Collect::default();
    accord_logs::read_stream(
        "m",
        &mut &b"ip;md5\n10.1.1.1;d41d8cd98f00b204e9800998ecf8427e\n"[..],
        &opts,
        &mut c,
    );
    assert!(c.has("md5", Kind::Hash, "d41d8cd98f00b204e9800998ecf8427e"));
}

#[test]
fn text_finds_observables() {
    let line = "Mar  1 12:30:01 gw sshd[42]: Failed password for root from 203.0.113.5 port 22; fetched https://bad.example.net/x.php?a=1, mailed ops@corp.example, \
        dropper 44d88612fea8a8f36de82e1278abb02f seen at [2001:db8::1]:443 and 198.51.100.7:8080 (c2.evil-domain.org). version 1.2.3 file.exe\n";
    let (c, s) = read_bytes(line.as_bytes(), Some(Format::Text));
    assert_eq!(s.events, 1);
    let v = c.values();
    let want = [
        ("text.ip", Kind::Ip, "203.0.113.5"),
        ("text.url", Kind::Url, "https://bad.example.net/x.php?a=1"),
        ("text.domain", Kind::Domain, "bad.example.net"),
        ("text.email", Kind::Email, "ops@corp.example"),
        ("text.hash", Kind::Hash, "44d88612fea8a8f36de82e1278abb02f"),
        ("text.ip", Kind::Ip, "2001:db8::1"),
        ("text.ip", Kind::Ip, "198.51.100.7"),
        ("text.domain", Kind::Domain, "c2.evil-domain.org"),
        ("text.domain", Kind::Domain, "file.exe"),
    ];
    for (f, k, val) in want {
        assert!(
            v.iter().any(|x| x.0 == f && x.1 == k && x.2 == val),
            "missing {val}: {v:?}"
        );
    }
    // Not addresses: times, versions, bare words.
    for bad in ["12:30:01", "1.2.3", "sshd", "root"] {
        assert!(!v.iter().any(|x| x.2 == bad), "{bad}: {v:?}");
    }
    let (c, _) = read_bytes(
        b"no observables here at all\n\xff\xfe bad bytes\n",
        Some(Format::Text),
    );
    assert_eq!(c.events.len(), 1);
    assert_eq!(c.skips, vec![(2, SkipReason::InvalidUtf8)]);
}
