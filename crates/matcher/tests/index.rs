//! Behaviour of the index: every key kind, liveness, persistence, corrupt input.

use std::net::IpAddr;

use accord_matcher::{
    BuildError, HashAlg, Index, IndexBuilder, IndexView, IndicatorMeta, Key, KeyError, LoadError,
    parse_indicator_id,
};

const NOW: i64 = 1_700_000_000;

fn meta(n: u8) -> IndicatorMeta {
    IndicatorMeta {
        id: [n; 16],
        valid_until: None,
        revoked: false,
    }
}

/// One indicator per key, ordinals in order.
fn index_of(keys: &[Key]) -> Index {
    let mut b = IndexBuilder::new(NOW);
    for (i, k) in keys.iter().enumerate() {
        let o = b.add_indicator(meta(i as u8));
        b.add_key(o, k.clone()).unwrap();
    }
    b.build().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn hits_ip(ix: &Index, s: &str) -> Vec<u32> {
    let mut v = Vec::new();
    ix.lookup_ip(ip(s), &mut v);
    v
}

fn hits_domain(ix: &Index, s: &str) -> Vec<u32> {
    let mut v = Vec::new();
    ix.lookup_domain(s.as_bytes(), &mut v);
    v
}

fn hits_url(ix: &Index, s: &str) -> Vec<u32> {
    let mut v = Vec::new();
    ix.lookup_url(s.as_bytes(), &mut v);
    v
}

#[test]
fn domains_match_subdomains_at_label_boundaries() {
    let ix = index_of(&[
        Key::domain("evil.example").unwrap(),
        Key::domain("Other.Example.").unwrap(),
    ]);
    for q in [
        "evil.example",
        "a.b.evil.example",
        "EVIL.example.",
        "  www.Evil.Example.\n",
        "x.EVIL.EXAMPLE",
    ] {
        assert_eq!(hits_domain(&ix, q), [0], "{q}");
    }
    for q in [
        "notevil.example",
        "example",
        "evil.example.com",
        "evil",
        "",
        ".",
        "evil.examplex",
        "aevil.example",
        "evil..example",
    ] {
        assert!(hits_domain(&ix, q).is_empty(), "{q}");
    }
    assert_eq!(hits_domain(&ix, "deep.other.example"), [1]);
    // Parent and child indicators are both reported.
    let ix = index_of(&[
        Key::domain("example").unwrap(),
        Key::domain("evil.example").unwrap(),
        Key::domain("a.evil.example").unwrap(),
    ]);
    assert_eq!(hits_domain(&ix, "b.a.evil.example"), [0, 1, 2]);
    assert_eq!(hits_domain(&ix, "evil.example"), [0, 1]);
    assert_eq!(hits_domain(&ix, "example."), [0]);
    // A name longer than anything stored still matches by its suffix.
    let long = format!("{}.evil.example", "x".repeat(300));
    assert_eq!(hits_domain(&ix, &long), [0, 1]);
    let long = format!("{}.evil.example", "y.".repeat(200));
    assert_eq!(hits_domain(&ix, &long), [0, 1]);
}

#[test]
fn overlapping_prefixes_are_all_reported() {
    let ix = index_of(&[
        Key::ip_cidr("10.0.0.0/8").unwrap(),
        Key::ip_cidr("10.1.0.0/16").unwrap(),
        Key::ip_cidr("10.1.2.0/24").unwrap(),
        Key::ip_cidr("10.1.2.3/32").unwrap(),
        Key::ip_cidr("10.1.2.3").unwrap(),
        Key::ip_cidr("192.0.2.0/25").unwrap(),
    ]);
    assert_eq!(hits_ip(&ix, "10.1.2.3"), [0, 1, 2, 3, 4]);
    assert_eq!(hits_ip(&ix, "10.1.2.4"), [0, 1, 2]);
    assert_eq!(hits_ip(&ix, "10.1.3.4"), [0, 1]);
    assert_eq!(hits_ip(&ix, "10.200.3.4"), [0]);
    assert_eq!(hits_ip(&ix, "11.0.0.0"), Vec::<u32>::new());
    assert_eq!(hits_ip(&ix, "9.255.255.255"), Vec::<u32>::new());
    assert_eq!(hits_ip(&ix, "192.0.2.127"), [5]);
    assert!(hits_ip(&ix, "192.0.2.128").is_empty());
    // IPv4-mapped IPv6 is looked up as IPv4.
    assert_eq!(hits_ip(&ix, "::ffff:10.1.2.3"), [0, 1, 2, 3, 4]);
    assert!(hits_ip(&ix, "::10.1.2.3").is_empty());
}

#[test]
fn ipv6_addresses_and_prefixes() {
    let ix = index_of(&[
        Key::ip_cidr("2001:db8::/32").unwrap(),
        Key::ip_cidr("2001:db8:1::/48").unwrap(),
        Key::ip_cidr("2001:DB8:1::5").unwrap(),
        Key::ip_cidr("::/0").unwrap(),
        Key::ip_cidr("::ffff:192.0.2.0/120").unwrap(),
    ]);
    assert_eq!(hits_ip(&ix, "2001:db8:1::5"), [0, 1, 2, 3]);
    assert_eq!(hits_ip(&ix, "2001:db8:1::6"), [0, 1, 3]);
    assert_eq!(hits_ip(&ix, "2001:db8:2::6"), [0, 3]);
    assert_eq!(hits_ip(&ix, "fe80::1"), [3]);
    // The mapped key became 192.0.2.0/24; ::/0 does not cover IPv4.
    assert_eq!(hits_ip(&ix, "192.0.2.9"), [4]);
    assert_eq!(hits_ip(&ix, "::ffff:192.0.2.9"), [4]);
    assert!(hits_ip(&ix, "192.0.3.9").is_empty());
}

#[test]
fn whole_address_space_prefixes() {
    let ix = index_of(&[
        Key::ip_cidr("0.0.0.0/0").unwrap(),
        Key::ip_cidr("255.255.255.255/32").unwrap(),
    ]);
    assert_eq!(hits_ip(&ix, "0.0.0.0"), [0]);
    assert_eq!(hits_ip(&ix, "255.255.255.255"), [0, 1]);
}

#[test]
fn urls_match_after_normalisation() {
    let ix = index_of(&[
        Key::url("http://evil.example/a~b").unwrap(),
        Key::url("https://evil.example").unwrap(),
    ]);
    for q in [
        "HTTP://Evil.Example:80/a%7eb",
        "http://evil.example/a~b",
        "http://EVIL.example.:0080/a%7Eb#frag",
        "evil.example/a~b",
        " http://evil.example/a%7E%62 ",
    ] {
        assert_eq!(hits_url(&ix, q), [0], "{q}");
    }
    assert_eq!(hits_url(&ix, "https://EVIL.EXAMPLE:443/"), [1]);
    assert_eq!(hits_url(&ix, "https://evil.example"), [1]);
    for q in [
        "http://evil.example/A~B",
        "http://evil.example/a~b?",
        "https://evil.example/a~b",
        "http://evil.example:8080/a~b",
        "",
        "http://",
    ] {
        assert!(hits_url(&ix, q).is_empty(), "{q}");
    }
}

#[test]
fn emails_and_hashes() {
    let md5 = "d41d8cd98f00b204e9800998ecf8427e";
    let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let sha512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    let ix = index_of(&[
        Key::email("Bad.Guy@Evil.Example").unwrap(),
        Key::hash_hex(md5).unwrap(),
        Key::hash_hex(sha1).unwrap(),
        Key::hash_hex(sha256).unwrap(),
        Key::hash_hex(sha512).unwrap(),
    ]);
    let mut v = Vec::new();
    assert_eq!(ix.lookup_email(b"Bad.Guy@evil.EXAMPLE.", &mut v), 1);
    assert_eq!(v, [0]);
    v.clear();
    assert_eq!(ix.lookup_email(b"bad.guy@evil.example", &mut v), 0);
    assert_eq!(ix.lookup_email(b"Bad.Guy", &mut v), 0);
    for (i, h) in [md5, sha1, sha256, sha512].iter().enumerate() {
        v.clear();
        assert_eq!(
            ix.lookup_hash(h.to_uppercase().as_bytes(), &mut v),
            1,
            "{h}"
        );
        assert_eq!(v, [i as u32 + 1]);
        let mut other = h.to_string();
        other.replace_range(..1, "0");
        v.clear();
        assert_eq!(ix.lookup_hash(other.as_bytes(), &mut v), 0);
    }
    // The length picks the algorithm: an MD5-long prefix of the SHA-256 is not it.
    assert_eq!(ix.lookup_hash(&sha256.as_bytes()[..32], &mut v), 0);
    assert_eq!(ix.lookup_hash(b"xyz", &mut v), 0);
    assert_eq!(ix.lookup_hash(&b"z".repeat(32), &mut v), 0);
    let Key::Hash(_, d) = Key::hash_hex(sha1).unwrap() else {
        unreachable!()
    };
    assert_eq!(ix.lookup_hash_bytes(HashAlg::Sha1, &d, &mut v), 1);
    assert_eq!(ix.lookup_hash_bytes(HashAlg::Sha256, &d, &mut v), 0);
}

#[test]
fn shared_keys_and_many_keys_per_indicator() {
    let mut b = IndexBuilder::new(NOW);
    let a = b.add_indicator(meta(1));
    let c = b.add_indicator(meta(2));
    for o in [a, c, a] {
        b.add_key(o, Key::domain("evil.example").unwrap()).unwrap();
    }
    b.add_key(a, Key::domain("www.evil.example").unwrap())
        .unwrap();
    b.add_key(a, Key::ip_cidr("10.0.0.0/8").unwrap()).unwrap();
    b.add_key(a, Key::ip_cidr("10.0.0.0/16").unwrap()).unwrap();
    let ix = b.build().unwrap();
    let mut v = vec![99];
    assert_eq!(ix.lookup_domain(b"www.evil.example", &mut v), 2);
    assert_eq!(v, [99, a, c], "appended, sorted, no duplicates");
    v.clear();
    assert_eq!(ix.lookup_ip(ip("10.0.0.1"), &mut v), 1);
    assert_eq!(v, [a]);
}

#[test]
fn revoked_and_expired_never_match() {
    let mut b = IndexBuilder::new(NOW);
    let live = b.add_indicator(IndicatorMeta {
        id: [1; 16],
        valid_until: Some(NOW + 10),
        revoked: false,
    });
    let expired = b.add_indicator(IndicatorMeta {
        id: [2; 16],
        valid_until: Some(NOW),
        revoked: false,
    });
    let revoked = b.add_indicator(IndicatorMeta {
        id: [3; 16],
        valid_until: None,
        revoked: true,
    });
    for o in [live, expired, revoked] {
        b.add_key(o, Key::ip_cidr("192.0.2.1").unwrap()).unwrap();
        b.add_key(o, Key::domain("evil.example").unwrap()).unwrap();
    }
    b.add_key(expired, Key::url("http://only-expired.example/").unwrap())
        .unwrap();
    b.add_key(revoked, Key::ip_cidr("198.51.100.0/24").unwrap())
        .unwrap();
    let ix = b.build().unwrap();
    let mut v = Vec::new();
    ix.lookup_ip(ip("192.0.2.1"), &mut v);
    ix.lookup_domain(b"evil.example", &mut v);
    ix.lookup_url(b"http://only-expired.example/", &mut v);
    ix.lookup_ip(ip("198.51.100.7"), &mut v);
    assert_eq!(v, [live, live]);
    assert!(ix.is_live(live, NOW + 9));
    assert!(!ix.is_live(live, NOW + 10));
    assert!(!ix.is_live(expired, NOW));
    assert!(
        ix.is_live(expired, NOW - 100),
        "liveness is a function of the time asked about"
    );
    assert!(!ix.is_live(revoked, NOW));
    assert!(!ix.is_live(99, NOW));
    let mut hits = vec![live, expired, revoked];
    ix.retain_live(&mut hits, NOW);
    assert_eq!(hits, [live]);
    assert_eq!(
        ix.meta(expired),
        Some(IndicatorMeta {
            id: [2; 16],
            valid_until: Some(NOW),
            revoked: false
        })
    );
    assert!(ix.meta(revoked).unwrap().revoked);
    assert_eq!(ix.meta(3), None);
    assert_eq!(ix.indicator_count(), 3);
    assert_eq!(ix.built_at(), NOW);
}

#[test]
fn indicator_ids() {
    let s = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
    let id = parse_indicator_id(s).unwrap();
    assert_eq!(
        parse_indicator_id("8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F"),
        Some(id)
    );
    assert_eq!(
        parse_indicator_id("indicator--8e2e2d2b17d4-4cbf-938f-98ee46b3cd3f0"),
        None
    );
    assert_eq!(
        parse_indicator_id("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3g"),
        None
    );
    let mut b = IndexBuilder::new(NOW);
    let o = b.add_indicator(IndicatorMeta {
        id,
        valid_until: None,
        revoked: false,
    });
    let ix = b.build().unwrap();
    assert_eq!(ix.indicator_id_string(o).unwrap(), s);
    assert_eq!(ix.indicator_id_string(o + 1), None);
}

#[test]
fn builder_errors() {
    let mut b = IndexBuilder::new(NOW);
    assert_eq!(
        b.add_key(0, Key::domain("a.example").unwrap()),
        Err(BuildError::UnknownOrdinal {
            ordinal: 0,
            count: 0
        })
    );
    let o = b.add_indicator(meta(0));
    let e = b.add_key(o, Key::Domain("bad domain".into())).unwrap_err();
    assert!(
        matches!(&e, BuildError::Key(KeyError::Domain { input, .. }) if input == "bad domain"),
        "{e}"
    );
    assert!(e.to_string().contains("bad domain"));
    assert!(
        b.add_key(o, Key::Url("http://a.example:99999/".into()))
            .is_err()
    );
    assert!(b.add_key(o, Key::Email("nobody".into())).is_err());
    assert!(
        b.add_key(o, Key::Hash(HashAlg::Sha256, vec![1; 16]))
            .is_err()
    );
    assert!(b.add_key(o, Key::Ip(ip("10.0.0.0"), 33)).is_err());
    // Keys made from the variants are normalised by the builder.
    b.add_key(o, Key::Domain("EVIL.Example.".into())).unwrap();
    b.add_key(o, Key::Url("HTTP://X.Example:80".into()))
        .unwrap();
    b.add_key(o, Key::Ip(ip("10.9.9.9"), 8)).unwrap();
    let ix = b.build().unwrap();
    assert_eq!(hits_domain(&ix, "a.evil.example"), [o]);
    assert_eq!(hits_url(&ix, "http://x.example/"), [o]);
    assert_eq!(hits_ip(&ix, "10.1.1.1"), [o]);
}

#[test]
fn empty_index() {
    let ix = IndexBuilder::new(NOW).build().unwrap();
    let mut v = Vec::new();
    assert_eq!(ix.lookup_ip(ip("10.0.0.1"), &mut v), 0);
    assert_eq!(ix.lookup_ip(ip("::1"), &mut v), 0);
    assert_eq!(ix.lookup_domain(b"a.example", &mut v), 0);
    assert_eq!(ix.lookup_url(b"http://a.example/", &mut v), 0);
    assert_eq!(ix.lookup_email(b"a@a.example", &mut v), 0);
    assert_eq!(ix.lookup_hash(&[b'a'; 64], &mut v), 0);
    let bytes = ix.to_bytes();
    let view = IndexView::from_bytes(&bytes).unwrap();
    assert_eq!(view.indicator_count(), 0);
}

fn sample() -> Index {
    let mut b = IndexBuilder::new(NOW);
    let keys = [
        "ip:10.0.0.0/8",
        "ip:10.1.2.3",
        "ip:2001:db8::/32",
        "ip:2001:db8::1",
        "domain:evil.example",
        "url:http://evil.example/x",
        "email:a@evil.example",
        "hash:d41d8cd98f00b204e9800998ecf8427e",
    ];
    for (i, k) in keys.iter().enumerate() {
        let o = b.add_indicator(IndicatorMeta {
            id: [i as u8; 16],
            valid_until: Some(NOW + 1 + i as i64),
            revoked: false,
        });
        let (kind, v) = k.split_once(':').unwrap();
        let key = match kind {
            "ip" => Key::ip_cidr(v),
            "domain" => Key::domain(v),
            "url" => Key::url(v),
            "email" => Key::email(v),
            _ => Key::hash_hex(v),
        };
        b.add_key(o, key.unwrap()).unwrap();
        b.add_key(o, Key::domain("shared.example").unwrap())
            .unwrap();
    }
    b.build().unwrap()
}

fn all_answers(view: &IndexView<'_>) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut go = |f: &dyn Fn(&mut Vec<u32>) -> usize| {
        let mut v = Vec::new();
        f(&mut v);
        out.push(v);
    };
    for a in [
        "10.1.2.3",
        "10.9.9.9",
        "2001:db8::1",
        "2001:db8::2",
        "::ffff:10.1.2.3",
        "8.8.8.8",
    ] {
        go(&|v| view.lookup_ip(ip(a), v));
    }
    for d in ["x.evil.example", "shared.example", "example"] {
        go(&|v| view.lookup_domain(d.as_bytes(), v));
    }
    go(&|v| view.lookup_url(b"http://evil.example/x", v));
    go(&|v| view.lookup_email(b"a@evil.example", v));
    go(&|v| view.lookup_hash(b"d41d8cd98f00b204e9800998ecf8427e", v));
    out
}

#[test]
fn save_and_load_round_trip() {
    let ix = sample();
    let mut written = Vec::new();
    ix.write_to(&mut written).unwrap();
    assert_eq!(written, ix.to_bytes());
    assert_eq!(written, ix.as_bytes());
    let view = IndexView::from_bytes(&written).unwrap();
    let expect = all_answers(&ix.view());
    assert_eq!(all_answers(&view), expect);
    assert_eq!(expect[0], [0, 1]);
    assert_eq!(expect[7], [0, 1, 2, 3, 4, 5, 6, 7]);
    for o in 0..8 {
        assert_eq!(view.meta(o), ix.meta(o));
        assert_eq!(view.indicator_id_string(o), ix.indicator_id_string(o));
    }
    assert_eq!(view.stats(), ix.stats());
    let owned = Index::from_vec(written.clone()).unwrap();
    assert_eq!(owned.to_bytes(), written);
    assert_eq!(view.to_index().to_bytes(), written);
    // Building twice gives the same bytes.
    assert_eq!(sample().to_bytes(), written);
    // A copy at another alignment reads the same.
    let mut shifted = vec![0u8; 3];
    shifted.extend_from_slice(&written);
    assert_eq!(
        all_answers(&IndexView::from_bytes(&shifted[3..]).unwrap()),
        expect
    );
}

#[test]
fn corrupt_input_is_a_clear_error() {
    let good = sample().to_bytes();
    assert_eq!(
        IndexView::from_bytes(&[]).unwrap_err(),
        LoadError::Truncated { len: 0, need: 952 }
    );
    assert!(matches!(
        IndexView::from_bytes(&good[..100]),
        Err(LoadError::Truncated { len: 100, .. })
    ));
    assert!(matches!(
        IndexView::from_bytes(&good[..good.len() - 8]),
        Err(LoadError::Length { .. })
    ));
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(
        IndexView::from_bytes(&longer),
        Err(LoadError::Length { .. })
    ));
    let mut m = good.clone();
    m[0] ^= 1;
    assert_eq!(IndexView::from_bytes(&m).unwrap_err(), LoadError::BadMagic);
    let mut m = good.clone();
    m[8] = 9;
    assert_eq!(
        IndexView::from_bytes(&m).unwrap_err(),
        LoadError::Version {
            found: 9,
            supported: 1
        }
    );
    let mut m = good.clone();
    m[40] ^= 0x10;
    assert_eq!(
        IndexView::from_bytes(&m).unwrap_err(),
        LoadError::HeaderChecksum
    );
    let mut m = good.clone();
    let last = m.len() - 20;
    m[last] ^= 0x01;
    assert_eq!(
        IndexView::from_bytes(&m).unwrap_err(),
        LoadError::BodyChecksum
    );
    // Unverified loading accepts it, and lookups do not panic.
    let v = IndexView::from_bytes_unverified(&m).unwrap();
    let _ = all_answers(&v);
    for e in [
        LoadError::BadMagic,
        LoadError::BodyChecksum,
        LoadError::Truncated { len: 1, need: 952 },
    ] {
        assert!(!e.to_string().is_empty());
    }
    // Every truncation is an error.
    for n in 0..good.len() {
        assert!(IndexView::from_bytes(&good[..n]).is_err(), "{n}");
    }
}

#[test]
fn every_single_byte_corruption_is_caught_or_harmless() {
    let good = sample().to_bytes();
    for i in 0..good.len() {
        let mut m = good.clone();
        m[i] ^= 0x5a;
        assert!(
            IndexView::from_bytes(&m).is_err(),
            "flip at {i} went unnoticed"
        );
        if let Ok(v) = IndexView::from_bytes_unverified(&m) {
            let _ = all_answers(&v);
            for o in 0..10 {
                let _ = v.meta(o);
            }
        }
    }
}

#[test]
fn stats_add_up() {
    let ix = sample();
    let s = ix.stats();
    assert_eq!(s.indicators, 8);
    assert_eq!(s.total_bytes, ix.as_bytes().len());
    assert!(s.sections.iter().map(|x| x.1).sum::<usize>() < s.total_bytes);
    assert_eq!(s.keys.iter().find(|k| k.0 == "domain").unwrap().1, 2);
    assert!(s.bytes_per_indicator() > 0.0);
}

#[test]
fn key_parse_and_display_round_trip() {
    for s in [
        "10.0.0.0/8",
        "192.0.2.1",
        "2001:db8::/32",
        "evil.example",
        "http://evil.example/a~b",
        "a@evil.example",
    ] {
        let k = match s {
            _ if s.contains("://") => Key::url(s),
            _ if s.contains('@') => Key::email(s),
            _ if s.parse::<IpAddr>().is_ok() || s.contains('/') => Key::ip_cidr(s),
            _ => Key::domain(s),
        }
        .unwrap();
        assert_eq!(k.to_string(), s);
        assert_eq!(k.normalized().unwrap(), k);
    }
}
