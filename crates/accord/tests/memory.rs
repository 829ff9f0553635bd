//! Memory does not grow with the input: a file with a 256 MiB line is
//! checked with a small, flat resident set. (Its own test binary, so that
//! `RUSAGE_CHILDREN` sees only this test's child.)

use std::io::Write;
use std::process::Command;

const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}"#;

fn max_rss_of_children_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given.
    #[allow(unsafe_code)]
    let usage = unsafe {
        assert_eq!(
            libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()),
            0
        );
        usage.assume_init()
    };
    usage.ru_maxrss
}

#[test]
fn a_huge_line_is_skipped_without_being_held_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "{IND}").unwrap();
    write!(f, "{{\"type\":\"note\",\"content\":\"").unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..256 {
        f.write_all(&chunk).unwrap();
    }
    writeln!(f, "\"}}").unwrap();
    writeln!(f, "{IND}").unwrap();
    drop(f);

    let o = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["validate", "--max-object-bytes", "1048576"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("huge.jsonl:2:1: error[json] line is 268435484 bytes, over the limit"),
        "{err}"
    );
    assert!(err.contains("2 objects checked"), "{err}");
    let rss = max_rss_of_children_kib();
    assert!(
        rss < 48 * 1024,
        "peak resident memory {rss} KiB for a 256 MiB line"
    );
}
