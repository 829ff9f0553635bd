//! Property tests: the index agrees with a naive reference implementation;
//! normalisation is idempotent; loading arbitrary bytes never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accord_matcher::{Index, IndexBuilder, IndexView, IndicatorMeta, Key};
use proptest::prelude::*;

const NOW: i64 = 1_000_000;

/// The naive reference: a list of (key, ordinal) of live indicators.
struct Reference(Vec<(Key, u32)>);

fn v4_of(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

fn contains(net: IpAddr, len: u8, a: IpAddr) -> bool {
    match (net, v4_of(a)) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(n) == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(n) == u128::from(a) & m
        }
        _ => false,
    }
}

impl Reference {
    fn find(&self, f: impl Fn(&Key) -> bool) -> Vec<u32> {
        let mut v: Vec<u32> = self.0.iter().filter(|(k, _)| f(k)).map(|e| e.1).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn ip(&self, a: IpAddr) -> Vec<u32> {
        self.find(|k| matches!(k, Key::Ip(n, l) if contains(*n, *l, a)))
    }

    fn domain(&self, q: &str) -> Vec<u32> {
        let q = q.trim();
        let q = q.strip_suffix('.').unwrap_or(q).to_ascii_lowercase();
        self.find(|k| matches!(k, Key::Domain(d) if q == *d || q.ends_with(&format!(".{d}"))))
    }

    fn exact(&self, k: Option<Key>) -> Vec<u32> {
        match k {
            Some(k) => self.find(|x| *x == k),
            None => Vec::new(),
        }
    }
}

fn ipv4() -> impl Strategy<Value = IpAddr> {
    (
        0u8..3,
        0u8..3,
        prop::sample::select(vec![0u8, 1, 2, 3, 127, 128, 255]),
    )
        .prop_map(|(b, c, d)| IpAddr::V4(Ipv4Addr::new(10, b, c, d)))
}

fn ipv6() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u16..3, 0u16..3, 0u16..3)
            .prop_map(|(a, b, c)| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, a, 0, 0, 0, b, c))),
        ipv4().prop_map(|a| match a {
            IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
            v6 => v6,
        }),
    ]
}

fn ip_key() -> impl Strategy<Value = Key> {
    prop_oneof![
        (
            ipv4(),
            prop::sample::select(vec![0u8, 8, 16, 23, 24, 25, 30, 31, 32, 32, 32])
        )
            .prop_map(|(a, l)| Key::Ip(a, l)),
        (
            ipv6(),
            prop::sample::select(vec![0u8, 32, 48, 64, 104, 120, 127, 128, 128])
        )
            .prop_map(|(a, l)| Key::Ip(a, l)),
    ]
}

fn label() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "B", "evil", "Example", "x-1", "notevil", "com"])
        .prop_map(str::to_owned)
}

fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..4).prop_map(|v| v.join("."))
}

fn domain_probe() -> impl Strategy<Value = String> {
    (domain(), any::<bool>(), any::<bool>()).prop_map(|(d, upper, dot)| {
        let d = if upper { d.to_uppercase() } else { d };
        if dot { d + "." } else { d }
    })
}

fn url() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["http://", "HTTP://", "https://", ""]),
        domain(),
        prop::sample::select(vec!["", ":80", ":443", ":8080", ":"]),
        prop::sample::select(vec![
            "", "/", "/a~b", "/a%7eb", "/A%7Eb", "/x?y=1", "/x#f", "/%2f", "/%2F", "/ü",
        ]),
    )
        .prop_map(|(s, h, p, path)| format!("{s}{h}{p}{path}"))
}

fn email() -> impl Strategy<Value = String> {
    (prop::sample::select(vec!["a", "B", "c.d"]), domain_probe())
        .prop_map(|(l, d)| format!("{l}@{d}"))
}

const HASHES: [&str; 5] = [
    "d41d8cd98f00b204e9800998ecf8427e",
    "d41d8cd98f00b204e9800998ecf8427f",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856",
];

fn hash() -> impl Strategy<Value = String> {
    (prop::sample::select(HASHES.to_vec()), any::<bool>())
        .prop_map(|(h, up)| if up { h.to_uppercase() } else { h.to_owned() })
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        3 => ip_key(),
        2 => domain().prop_map(|d| Key::domain(&d).unwrap()),
        1 => url().prop_map(|u| Key::url(&u).unwrap()),
        1 => email().prop_map(|e| Key::email(&e).unwrap()),
        1 => hash().prop_map(|h| Key::hash_hex(&h).unwrap()),
    ]
}

/// (valid_until, revoked, keys) per indicator.
fn indicators() -> impl Strategy<Value = Vec<(Option<i64>, bool, Vec<Key>)>> {
    prop::collection::vec(
        (
            prop::option::of(prop::sample::select(vec![NOW - 1, NOW, NOW + 1])),
            prop::bool::weighted(0.1),
            prop::collection::vec(key(), 1..4),
        ),
        0..40,
    )
}

fn build(inds: &[(Option<i64>, bool, Vec<Key>)]) -> (Index, Reference) {
    let mut b = IndexBuilder::new(NOW);
    let mut r = Vec::new();
    for (i, (valid_until, revoked, keys)) in inds.iter().enumerate() {
        let m = IndicatorMeta {
            id: [i as u8; 16],
            valid_until: *valid_until,
            revoked: *revoked,
        };
        let o = b.add_indicator(m);
        for k in keys {
            b.add_key(o, k.clone()).unwrap();
            if m.is_live(NOW) {
                r.push((k.normalized().unwrap(), o));
            }
        }
    }
    (b.build().unwrap(), Reference(r))
}

fn got(f: impl FnOnce(&mut Vec<u32>) -> usize) -> Vec<u32> {
    let mut v = vec![u32::MAX];
    let n = f(&mut v);
    assert_eq!(v.len(), n + 1, "return value counts what was appended");
    assert_eq!(v[0], u32::MAX, "earlier contents kept");
    v.remove(0);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Keys in normal form, added as they are, make the same index.
    #[test]
    fn normalized_keys_added_as_they_are_make_the_same_index(inds in indicators()) {
        let mut a = IndexBuilder::new(NOW);
        let mut b = IndexBuilder::new(NOW);
        for (i, (valid_until, revoked, keys)) in inds.iter().enumerate() {
            let m = IndicatorMeta {
                id: [i as u8; 16],
                valid_until: *valid_until,
                revoked: *revoked,
            };
            let (oa, ob) = (a.add_indicator(m), b.add_indicator(m));
            for k in keys {
                let n = k.normalized().unwrap();
                a.add_key(oa, k.clone()).unwrap();
                b.add_normalized_key(ob, n).unwrap();
            }
        }
        let (a, b) = (a.build().unwrap(), b.build().unwrap());
        prop_assert_eq!(a.as_bytes(), b.as_bytes());
    }

    /// The sorts spread over threads lay out the same bytes.
    #[test]
    fn a_build_on_threads_is_the_same_index(inds in indicators(), threads in 2usize..5) {
        let fill = || {
            let mut b = IndexBuilder::new(NOW);
            for (i, (valid_until, revoked, keys)) in inds.iter().enumerate() {
                let o = b.add_indicator(IndicatorMeta {
                    id: [i as u8; 16],
                    valid_until: *valid_until,
                    revoked: *revoked,
                });
                for k in keys {
                    b.add_key(o, k.clone()).unwrap();
                }
            }
            b
        };
        let one = fill().build().unwrap();
        let many = fill().build_with_threads(threads).unwrap();
        prop_assert_eq!(one.as_bytes(), many.as_bytes());
        // Written out in pieces: the same bytes.
        let mut written = Vec::new();
        fill().build_to(threads, &mut written).unwrap();
        prop_assert_eq!(one.as_bytes(), &written[..]);
    }

    #[test]
    fn index_agrees_with_reference(
        inds in indicators(),
        ips in prop::collection::vec(prop_oneof![ipv4(), ipv6()], 20),
        domains in prop::collection::vec(domain_probe(), 20),
        urls in prop::collection::vec(url(), 10),
        emails in prop::collection::vec(email(), 10),
        hashes in prop::collection::vec(hash(), 5),
    ) {
        let (ix, r) = build(&inds);
        let bytes = ix.to_bytes();
        let view = IndexView::from_bytes(&bytes).unwrap();
        for a in &ips {
            let want = r.ip(*a);
            prop_assert_eq!(&got(|v| ix.lookup_ip(*a, v)), &want, "ip {}", a);
            prop_assert_eq!(&got(|v| view.lookup_ip(*a, v)), &want);
        }
        // Every inserted key is found by its own value.
        for (k, o) in &r.0 {
            let hits = match k {
                Key::Ip(a, _) => got(|v| ix.lookup_ip(*a, v)),
                Key::Domain(d) => got(|v| ix.lookup_domain(d.as_bytes(), v)),
                Key::Url(u) => got(|v| ix.lookup_url(u.as_bytes(), v)),
                Key::Email(e) => got(|v| ix.lookup_email(e.as_bytes(), v)),
                Key::Hash(alg, d) => got(|v| ix.lookup_hash_bytes(*alg, d, v)),
            };
            prop_assert!(hits.contains(o), "{} not found for {}", k, o);
        }
        for d in &domains {
            let want = r.domain(d);
            prop_assert_eq!(&got(|v| view.lookup_domain(d.as_bytes(), v)), &want, "domain {}", d);
        }
        for u in &urls {
            let want = r.exact(Key::url(u).ok());
            prop_assert_eq!(&got(|v| view.lookup_url(u.as_bytes(), v)), &want, "url {}", u);
        }
        for e in &emails {
            let want = r.exact(Key::email(e).ok());
            prop_assert_eq!(&got(|v| view.lookup_email(e.as_bytes(), v)), &want, "email {}", e);
        }
        for h in &hashes {
            let want = r.exact(Key::hash_hex(h).ok());
            prop_assert_eq!(&got(|v| view.lookup_hash(h.as_bytes(), v)), &want, "hash {}", h);
        }
    }

    #[test]
    fn random_keys_found_random_probes_not(
        addrs in prop::collection::hash_set(any::<u32>(), 0..300),
        probes in prop::collection::vec(any::<u32>(), 300),
        names in prop::collection::hash_set("[a-z0-9]{1,12}\\.[a-z]{2,5}", 0..200),
        name_probes in prop::collection::vec("[a-z0-9]{1,12}\\.[a-z]{2,5}", 100),
    ) {
        let mut b = IndexBuilder::new(NOW);
        let addrs: Vec<u32> = addrs.into_iter().collect();
        let names: Vec<String> = names.into_iter().collect();
        for a in &addrs {
            let o = b.add_indicator(IndicatorMeta { id: [0; 16], valid_until: None, revoked: false });
            b.add_key(o, Key::ip(IpAddr::V4(Ipv4Addr::from(*a)))).unwrap();
        }
        for n in &names {
            let o = b.add_indicator(IndicatorMeta { id: [1; 16], valid_until: None, revoked: false });
            b.add_key(o, Key::domain(n).unwrap()).unwrap();
        }
        let ix = b.build().unwrap();
        for (i, a) in addrs.iter().enumerate() {
            prop_assert_eq!(got(|v| ix.lookup_ip(IpAddr::V4(Ipv4Addr::from(*a)), v)), vec![i as u32]);
        }
        for p in &probes {
            let hit = got(|v| ix.lookup_ip(IpAddr::V4(Ipv4Addr::from(*p)), v));
            prop_assert_eq!(hit.is_empty(), !addrs.contains(p));
        }
        for (i, n) in names.iter().enumerate() {
            prop_assert_eq!(got(|v| ix.lookup_domain(n.as_bytes(), v)), vec![(addrs.len() + i) as u32]);
        }
        for p in &name_probes {
            let hit = got(|v| ix.lookup_domain(p.as_bytes(), v));
            prop_assert_eq!(hit.is_empty(), !names.contains(p));
        }
    }

    #[test]
    fn url_normalisation_is_idempotent(s in "[ -~]{0,40}|(https?|HTTP|ftp)://[a-zA-Z0-9.%:@\\[\\]]{0,20}(/[ -~]{0,20})?") {
        if let Ok(Key::Url(once)) = Key::url(&s) {
            prop_assert_eq!(Key::url(&once), Ok(Key::Url(once.clone())));
        }
    }

    #[test]
    fn domain_and_email_normalisation_is_idempotent(s in "[ -~]{0,30}") {
        if let Ok(Key::Domain(once)) = Key::domain(&s) {
            prop_assert_eq!(Key::domain(&once), Ok(Key::Domain(once.clone())));
        }
        if let Ok(Key::Email(once)) = Key::email(&s) {
            prop_assert_eq!(Key::email(&once), Ok(Key::Email(once.clone())));
        }
    }

    #[test]
    fn lookups_of_arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..300)) {
        let (ix, _) = build(&[(None, false, vec![
            Key::domain("evil.example").unwrap(),
            Key::url("http://evil.example/").unwrap(),
            Key::email("a@evil.example").unwrap(),
            Key::hash_hex(HASHES[0]).unwrap(),
        ])]);
        let mut v = Vec::new();
        ix.lookup_domain(&b, &mut v);
        ix.lookup_url(&b, &mut v);
        ix.lookup_email(&b, &mut v);
        ix.lookup_hash(&b, &mut v);
    }

    #[test]
    fn loading_arbitrary_bytes_never_panics(mut b in prop::collection::vec(any::<u8>(), 0..4096), magic in any::<bool>()) {
        if magic && b.len() >= 16 {
            b[..8].copy_from_slice(&accord_matcher::MAGIC);
            b[8..12].copy_from_slice(&accord_matcher::FORMAT_VERSION.to_le_bytes());
        }
        prop_assert!(IndexView::from_bytes(&b).is_err());
        if let Ok(v) = IndexView::from_bytes_unverified(&b) {
            let mut out = Vec::new();
            v.lookup_ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), &mut out);
        }
    }
}
