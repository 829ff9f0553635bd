//! MISP warninglists for Accord: lists of well-known benign values (public
//! DNS resolvers, RFC 1918 ranges, top sites, hashes of empty files) that an
//! indicator should not be built on.
//!
//! [`parse_list`] reads one list in the JSON format of `misp-warninglists`
//! (its `schema.json`: `name`, `description`, `version`, `type`, `list`,
//! optional `matching_attributes`), with the bounds of [`Limits`].
//! [`WarninglistSet::build`] compiles lists for checks, each type in the
//! structure made for it:
//!
//! - `string`: a hash set (exact, case-sensitive, as MISP);
//! - `hostname`: a hash set of lowercased names; a value's host (a URL's
//!   host too) is looked up with each of its parent domains, so an entry
//!   matches the host and all its subdomains (MISP's `__evalHostname`);
//! - `cidr`: per list, the ranges merged and sorted, one binary search per
//!   list (an address, or a block lying wholly inside the list's ranges);
//! - `substring`: one Aho-Corasick automaton over every substring entry;
//! - `regex`: one multi-pattern `regex-automata` meta regex (a RegexSet)
//!   under a size limit.
//!
//! [`WarninglistSet::check`] returns every list a value is on;
//! [`WarninglistSet::check_as`] only the lists whose `matching_attributes`
//! include one of the given MISP attribute types, which
//! [`misp_types_for`] derives from a STIX object path.
//!
//! The crate does no I/O.

mod cidr;
mod error;
mod list;
mod set;

pub use error::WarninglistError;
pub use list::{Limits, ListType, Warninglist, parse_list};
pub use set::{ListHit, ListInfo, WarninglistSet, valid_id};

/// The kinds of value an indicator's index keys hold, for
/// [`WarninglistSet::check_kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// An IPv4 or IPv6 address or block.
    Ip = 0,
    /// A domain name.
    Domain,
    /// A URL.
    Url,
    /// An e-mail address.
    Email,
    /// An MD5 hash.
    Md5,
    /// A SHA-1 hash.
    Sha1,
    /// A SHA-256 hash.
    Sha256,
    /// A SHA-512 hash.
    Sha512,
}

impl ValueKind {
    /// Every kind, in discriminant order.
    pub const ALL: [ValueKind; 8] = [
        ValueKind::Ip,
        ValueKind::Domain,
        ValueKind::Url,
        ValueKind::Email,
        ValueKind::Md5,
        ValueKind::Sha1,
        ValueKind::Sha256,
        ValueKind::Sha512,
    ];

    /// The MISP attribute types a value of this kind is.
    pub fn misp_types(self) -> &'static [&'static str] {
        match self {
            ValueKind::Ip => misp_types_for("ipv4-addr", "value"),
            ValueKind::Domain => misp_types_for("domain-name", "value"),
            ValueKind::Url => misp_types_for("url", "value"),
            ValueKind::Email => misp_types_for("email-addr", "value"),
            ValueKind::Md5 => &["md5", "filename|md5"],
            ValueKind::Sha1 => &["sha1", "filename|sha1"],
            ValueKind::Sha256 => &["sha256", "filename|sha256"],
            ValueKind::Sha512 => &["sha512", "filename|sha512"],
        }
    }
}

/// The MISP attribute types a STIX pattern's comparison on `object_type`'s
/// `property` corresponds to, for [`WarninglistSet::check_as`] (`[]` when
/// none does: then no list applies... unless asked with an empty type list).
/// `property` is the path after the colon (`value`, `hashes.'SHA-256'`,
/// `hashes.MD5`).
pub fn misp_types_for(object_type: &str, property: &str) -> &'static [&'static str] {
    match object_type {
        // A composite MISP type (`domain|ip`) names lists for both halves
        // of a composite value; a STIX value is one of them, so only the
        // plain types select lists (CIDR lists name `ip-src`/`ip-dst`,
        // hostname lists `domain`/`hostname`).
        "ipv4-addr" | "ipv6-addr" => &["ip-src", "ip-dst", "ip-src|port", "ip-dst|port"],
        "domain-name" => &["domain", "hostname"],
        "url" => &["url", "uri", "link"],
        "email-addr" => &["email", "email-src", "email-dst", "target-email"],
        "file" if property.starts_with("hashes.") => {
            let algo = property["hashes.".len()..]
                .trim_matches('\'')
                .to_ascii_lowercase()
                .replace('-', "");
            match algo.as_str() {
                "md5" => &["md5", "filename|md5"],
                "sha1" => &["sha1", "filename|sha1"],
                "sha224" => &["sha224", "filename|sha224"],
                "sha256" => &["sha256", "filename|sha256"],
                "sha384" => &["sha384", "filename|sha384"],
                "sha512" => &["sha512", "filename|sha512"],
                "ssdeep" => &["ssdeep", "filename|ssdeep"],
                "tlsh" => &["tlsh", "filename|tlsh"],
                _ => &[],
            }
        }
        "file" if property == "name" => &["filename"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn check_kind_agrees_with_check_as() {
        let set = WarninglistSet::build(
            vec![
                Warninglist {
                    name: "ips".into(),
                    description: String::new(),
                    version: 1,
                    kind: ListType::Cidr,
                    matching_attributes: vec!["ip-dst".into()],
                    list: vec!["10.0.0.0/8".into()],
                },
                Warninglist {
                    name: "hashes".into(),
                    description: String::new(),
                    version: 1,
                    kind: ListType::String,
                    matching_attributes: vec!["md5".into()],
                    list: vec!["10.1.2.3".into()],
                },
            ],
            &Limits::default(),
        )
        .unwrap();
        for k in ValueKind::ALL {
            assert_eq!(
                set.check_kind("10.1.2.3", k),
                set.check_as("10.1.2.3", k.misp_types()),
                "{k:?}"
            );
        }
        assert_eq!(set.check_kind("10.1.2.3", ValueKind::Ip).len(), 1);
        assert_eq!(
            set.check_kind("10.1.2.3", ValueKind::Md5)[0].list.as_ref(),
            "hashes"
        );
    }

    #[test]
    fn stix_paths_to_misp_types() {
        assert!(misp_types_for("ipv4-addr", "value").contains(&"ip-dst"));
        assert_eq!(
            misp_types_for("file", "hashes.'SHA-256'"),
            ["sha256", "filename|sha256"]
        );
        assert_eq!(
            misp_types_for("file", "hashes.MD5"),
            ["md5", "filename|md5"]
        );
        assert!(misp_types_for("x-custom", "value").is_empty());
    }

    #[test]
    fn parse_checks_schema_and_bounds() {
        let ok = br#"{"name":"n","description":"d","version":3,"type":"cidr","list":["10.0.0.0/8"],"matching_attributes":["ip-dst"]}"#;
        let l = parse_list(ok, "ok.json", &Limits::default()).unwrap();
        assert_eq!((l.kind, l.version, l.list.len()), (ListType::Cidr, 3, 1));
        let e = parse_list(
            br#"{"name":"n","description":"d","version":1,"type":"weird","list":[]}"#,
            "w.json",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("w.json: not a MISP warninglist"),
            "{e}"
        );
        let e = parse_list(
            br#"{"name":"n","description":"d","version":1,"type":"string","list":[],"extra":1}"#,
            "x.json",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
        let e = parse_list(
            br#"{"name":" ","description":"d","version":1,"type":"string","list":[]}"#,
            "b.json",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("name"), "{e}");
        let small = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        let e = parse_list(
            br#"{"name":"n","description":"d","version":1,"type":"string","list":["a","b"]}"#,
            "m.json",
            &small,
        )
        .unwrap_err();
        assert!(
            matches!(e, WarninglistError::TooLarge { found: 2, .. }),
            "{e}"
        );
        let tiny = Limits {
            max_bytes: 4,
            ..Limits::default()
        };
        assert!(matches!(
            parse_list(ok, "t.json", &tiny),
            Err(WarninglistError::TooLarge { .. })
        ));
    }

    fn arb_v4() -> impl Strategy<Value = (u32, u8)> {
        (any::<u32>(), 4u8..=32)
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_list(&bytes, "fuzz", &Limits::default());
        }

        /// A CIDR list's set answers as a linear scan over its entries does.
        #[test]
        fn cidr_agrees_with_a_scan(entries in proptest::collection::vec(arb_v4(), 1..40), probes in proptest::collection::vec(any::<u32>(), 1..40)) {
            let texts: Vec<String> = entries.iter().map(|(a, p)| format!("{}/{p}", std::net::Ipv4Addr::from(*a))).collect();
            let set = WarninglistSet::build(vec![Warninglist {
                name: "l".into(), description: String::new(), version: 1, kind: ListType::Cidr,
                matching_attributes: vec![], list: texts,
            }], &Limits::default()).unwrap();
            let mut all: Vec<u32> = probes.clone();
            all.extend(entries.iter().map(|(a, _)| *a));
            for ip in all {
                let inside = entries.iter().any(|(a, p)| {
                    let host = if *p == 32 { 0 } else { u32::MAX >> p };
                    ip & !host == a & !host
                });
                let hit = !set.check(&std::net::Ipv4Addr::from(ip).to_string()).is_empty();
                prop_assert_eq!(inside, hit, "ip {}", std::net::Ipv4Addr::from(ip));
            }
        }

        /// A hostname entry matches itself and every subdomain, and nothing
        /// that merely ends with the same characters.
        #[test]
        fn hostnames_match_subdomains(labels in proptest::collection::vec("[a-z0-9]{1,8}", 1..4), sub in "[a-z0-9]{1,8}", prefix in "[a-z0-9]{1,3}") {
            let host = labels.join(".");
            let set = WarninglistSet::build(vec![Warninglist {
                name: "h".into(), description: String::new(), version: 1, kind: ListType::Hostname,
                matching_attributes: vec![], list: vec![host.clone()],
            }], &Limits::default()).unwrap();
            prop_assert_eq!(set.check(&host).len(), 1);
            let subdomain = format!("{sub}.{host}");
            prop_assert_eq!(set.check(&subdomain).len(), 1);
            let url = format!("http://{}/path", host.to_uppercase());
            prop_assert_eq!(set.check(&url).len(), 1);
            let glued = format!("{prefix}{host}");
            prop_assert!(set.check(&glued).is_empty());
        }

        /// A substring list's hits are the entries the value contains.
        #[test]
        fn substrings_agree_with_contains(entries in proptest::collection::vec("[ab]{1,3}", 1..6), value in "[abc]{0,12}") {
            let set = WarninglistSet::build(vec![Warninglist {
                name: "s".into(), description: String::new(), version: 1, kind: ListType::Substring,
                matching_attributes: vec![], list: entries.clone(),
            }], &Limits::default()).unwrap();
            let expect = entries.iter().any(|e| value.contains(e.as_str()));
            prop_assert_eq!(expect, !set.check(&value).is_empty());
        }
    }
}
