//! The compiled set: every list's entries in a structure made for its type,
//! so a check costs a few hash lookups, binary searches and one automaton
//! pass, whatever the number of entries.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_automata::{Input, PatternSet, meta};

use crate::ValueKind;
use crate::cidr::{self, MIN_V4_PREFIX, MIN_V6_PREFIX, Range};
use crate::error::WarninglistError;
use crate::list::{Limits, ListType, Warninglist, check_bounds, truncate};

/// What the set knows of one list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListInfo {
    /// The list's short id (its file's name, `public-dns-v4`; see
    /// [`WarninglistSet::build_with_ids`]), what hits and reasons name.
    pub id: Arc<str>,
    /// The list's name (`List of known IPv4 public DNS resolvers`).
    pub name: Arc<str>,
    /// Its description.
    pub description: String,
    /// Its version.
    pub version: u64,
    /// Its type.
    pub kind: ListType,
    /// The MISP attribute types it applies to (empty: all).
    pub matching_attributes: Vec<String>,
    /// Its number of distinct entries.
    pub entries: usize,
}

impl ListInfo {
    /// Whether the list applies to a value of one of the MISP attribute
    /// `types` (a list with no `matching_attributes`, or with `ALL`, applies
    /// to every type; an empty `types` asks about every list).
    pub fn applies_to(&self, types: &[&str]) -> bool {
        types.is_empty()
            || self.matching_attributes.is_empty()
            || self
                .matching_attributes
                .iter()
                .any(|a| a == "ALL" || types.contains(&a.as_str()))
    }
}

/// One list a value is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListHit {
    /// The list's short id ([`ListInfo::id`]).
    pub list: Arc<str>,
    /// The list's type.
    pub kind: ListType,
    /// What matched: the entry (a hostname, substring or regex), the value
    /// (a string list), or the merged address range (a CIDR list).
    pub matched: String,
}

type Ids = Vec<u32>;

/// A map keyed by entry text (foldhash: the entries come from the operator's
/// lists, and the hasher is seeded per process).
type Map = HashMap<Box<str>, Ids, foldhash::fast::RandomState>;

/// Every list of a node, compiled for checks.
#[derive(Debug, Default)]
pub struct WarninglistSet {
    lists: Vec<ListInfo>,
    strings: Map,
    hostnames: Map,
    v4: Vec<(u32, Vec<(u32, u32)>)>,
    v6: Vec<(u32, Vec<(u128, u128)>)>,
    substrings: Option<(AhoCorasick, Vec<u32>, Vec<Box<str>>)>,
    regexes: Option<(meta::Regex, Vec<u32>, Vec<Box<str>>)>,
    /// The lists of each type (a structure none of whose lists applies to
    /// the types asked about is not consulted).
    of_kind: [Vec<u32>; 5],
    /// Per [`ValueKind`], whether each list applies.
    by_kind: Vec<Vec<bool>>,
}

fn kind_ix(k: ListType) -> usize {
    match k {
        ListType::String => 0,
        ListType::Substring => 1,
        ListType::Hostname => 2,
        ListType::Cidr => 3,
        ListType::Regex => 4,
    }
}

impl WarninglistSet {
    /// Compiles `lists` (names must be distinct; each list is checked against
    /// `limits` again, so lists not read by [`crate::parse_list`] are bounded
    /// too). An entry that is not what its list's type needs is an error
    /// naming the list and the entry: a CIDR list's entry must be an address
    /// or a block no wider than /4 (IPv4) or /8 (IPv6), a substring may not
    /// be empty, a regex must be `/…/flags` with flags among `imsxuDU` and
    /// compile.
    pub fn build(lists: Vec<Warninglist>, limits: &Limits) -> Result<Self, WarninglistError> {
        Self::build_with_ids(
            lists.into_iter().map(|l| (l.name.clone(), l)).collect(),
            limits,
        )
    }

    /// [`WarninglistSet::build`] with a short id per list (what hits name;
    /// `build` uses the list's name). Ids must be distinct, non-empty, at
    /// most 128 bytes of ASCII letters, digits, `.`, `_` and `-`.
    pub fn build_with_ids(
        lists: Vec<(String, Warninglist)>,
        limits: &Limits,
    ) -> Result<Self, WarninglistError> {
        if lists.len() > limits.max_lists {
            return Err(WarninglistError::TooLarge {
                origin: "the set of warninglists".into(),
                what: "list count",
                limit: limits.max_lists,
                found: lists.len(),
            });
        }
        let mut set = WarninglistSet::default();
        let mut names: HashMap<String, ()> = HashMap::new();
        let mut sub_entries: Vec<(u32, Box<str>)> = Vec::new();
        let mut rx_entries: Vec<(u32, Box<str>, String)> = Vec::new();
        for (list_id, list) in lists {
            check_bounds(&list, &list.name, limits)?;
            if !valid_id(&list_id) && list_id != list.name {
                return Err(WarninglistError::Schema {
                    origin: list.name.clone(),
                    message: format!(
                        "id {:?} is not 1 to 128 ASCII letters, digits, '.', '_' or '-'",
                        truncate(&list_id)
                    ),
                });
            }
            if names.insert(list_id.clone(), ()).is_some() {
                return Err(WarninglistError::Duplicate {
                    name: list_id.clone(),
                    first: list_id.clone(),
                    second: list.name,
                });
            }
            let id = u32::try_from(set.lists.len()).expect("bounded by max_lists");
            let entry_err = |entry: &str, message: String| WarninglistError::Entry {
                list: list_id.clone(),
                entry: truncate(entry),
                message,
            };
            let mut distinct = 0usize;
            match list.kind {
                ListType::String => {
                    for e in &list.list {
                        if add(&mut set.strings, e.as_str().into(), id) {
                            distinct += 1;
                        }
                    }
                }
                ListType::Hostname => {
                    for e in &list.list {
                        let host = e.trim().trim_matches('.').to_ascii_lowercase();
                        if host.is_empty() {
                            return Err(entry_err(e, "an empty hostname".into()));
                        }
                        if add(&mut set.hostnames, host.into(), id) {
                            distinct += 1;
                        }
                    }
                }
                ListType::Cidr => {
                    let (mut v4, mut v6) = (Vec::new(), Vec::new());
                    for e in &list.list {
                        let (range, prefix) = cidr::parse_range(e).map_err(|m| entry_err(e, m))?;
                        match range {
                            Range::V4(lo, hi) => {
                                if prefix < MIN_V4_PREFIX {
                                    return Err(entry_err(
                                        e,
                                        format!("wider than /{MIN_V4_PREFIX}"),
                                    ));
                                }
                                v4.push((lo, hi));
                            }
                            Range::V6(lo, hi) => {
                                if prefix < MIN_V6_PREFIX {
                                    return Err(entry_err(
                                        e,
                                        format!("wider than /{MIN_V6_PREFIX}"),
                                    ));
                                }
                                v6.push((lo, hi));
                            }
                        }
                    }
                    distinct = v4.len() + v6.len();
                    if !v4.is_empty() {
                        set.v4.push((id, cidr::merge(v4)));
                    }
                    if !v6.is_empty() {
                        set.v6.push((id, cidr::merge(v6)));
                    }
                }
                ListType::Substring => {
                    let mut seen = std::collections::HashSet::new();
                    for e in &list.list {
                        if e.is_empty() {
                            return Err(entry_err(
                                e,
                                "an empty substring (it would match every value)".into(),
                            ));
                        }
                        if seen.insert(e.as_str()) {
                            sub_entries.push((id, e.as_str().into()));
                        }
                    }
                    distinct = seen.len();
                }
                ListType::Regex => {
                    let mut seen = std::collections::HashSet::new();
                    for e in &list.list {
                        if !seen.insert(e.as_str()) {
                            continue;
                        }
                        if rx_entries.len() >= limits.max_regexes {
                            return Err(WarninglistError::TooLarge {
                                origin: list.name.clone(),
                                what: "regex count of the set",
                                limit: limits.max_regexes,
                                found: rx_entries.len() + 1,
                            });
                        }
                        let pattern = php_regex(e).map_err(|m| entry_err(e, m))?;
                        regex_automata::util::syntax::parse(&pattern)
                            .map_err(|err| entry_err(e, err.to_string()))?;
                        rx_entries.push((id, e.as_str().into(), pattern));
                    }
                    distinct = seen.len();
                }
            }
            set.of_kind[kind_ix(list.kind)].push(id);
            set.lists.push(ListInfo {
                id: list_id.into(),
                name: list.name.into(),
                description: list.description,
                version: list.version,
                kind: list.kind,
                matching_attributes: list.matching_attributes,
                entries: distinct,
            });
        }
        set.by_kind = ValueKind::ALL
            .iter()
            .map(|k| {
                set.lists
                    .iter()
                    .map(|l| l.applies_to(k.misp_types()))
                    .collect()
            })
            .collect();
        if !sub_entries.is_empty() {
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(sub_entries.iter().map(|(_, e)| e.as_bytes()))
                .map_err(|e| WarninglistError::RegexSet {
                    message: format!("substring automaton: {e}"),
                })?;
            let (ids, entries) = sub_entries.into_iter().unzip();
            set.substrings = Some((ac, ids, entries));
        }
        if !rx_entries.is_empty() {
            let config = meta::Config::new()
                .nfa_size_limit(Some(limits.regex_size_limit))
                .onepass_size_limit(Some(limits.regex_size_limit / 4))
                .dfa_size_limit(Some(limits.regex_size_limit / 4))
                .hybrid_cache_capacity(limits.regex_size_limit / 8);
            let re = meta::Builder::new()
                .configure(config)
                .build_many(&rx_entries.iter().map(|r| r.2.as_str()).collect::<Vec<_>>())
                .map_err(|e| WarninglistError::RegexSet {
                    message: e.to_string(),
                })?;
            let (ids, entries) = rx_entries.into_iter().map(|(i, e, _)| (i, e)).unzip();
            set.regexes = Some((re, ids, entries));
        }
        Ok(set)
    }

    /// The lists, in the order given to [`WarninglistSet::build`].
    pub fn lists(&self) -> &[ListInfo] {
        &self.lists
    }

    /// Whether the set has no list.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Every list `value` is on, whatever the list's `matching_attributes`
    /// (at most one hit per list, in list order).
    pub fn check(&self, value: &str) -> Vec<ListHit> {
        self.check_as(value, &[])
    }

    /// Every list that applies to one of the MISP attribute `types` (see
    /// [`ListInfo::applies_to`]; empty: every list) and holds `value`.
    pub fn check_as(&self, value: &str, types: &[&str]) -> Vec<ListHit> {
        self.check_with(value, |id| self.lists[id as usize].applies_to(types))
    }

    /// Every list that applies to a value of `kind` (see
    /// [`ValueKind::misp_types`]) and holds `value`; which lists apply was
    /// computed once, when the set was built.
    pub fn check_kind(&self, value: &str, kind: ValueKind) -> Vec<ListHit> {
        let applies = &self.by_kind[kind as usize];
        self.check_with(value, |id| applies[id as usize])
    }

    fn check_with(&self, value: &str, applies: impl Fn(u32) -> bool) -> Vec<ListHit> {
        let mut hits: Vec<(u32, ListHit)> = Vec::new();
        let push = |hits: &mut Vec<(u32, ListHit)>, id: u32, matched: &str| {
            if applies(id) && !hits.iter().any(|(i, _)| *i == id) {
                let info = &self.lists[id as usize];
                hits.push((
                    id,
                    ListHit {
                        list: info.id.clone(),
                        kind: info.kind,
                        matched: matched.to_owned(),
                    },
                ));
            }
        };
        let wanted = |k: ListType| self.of_kind[kind_ix(k)].iter().any(|&id| applies(id));
        if wanted(ListType::String)
            && let Some(ids) = self.strings.get(value)
        {
            for &id in ids {
                push(&mut hits, id, value);
            }
        }
        if wanted(ListType::Hostname)
            && let Some(host) = host_of(value)
        {
            let mut rest = &*host;
            loop {
                if let Some(ids) = self.hostnames.get(rest) {
                    for &id in ids {
                        push(&mut hits, id, rest);
                    }
                }
                match rest.find('.') {
                    Some(dot) => rest = &rest[dot + 1..],
                    None => break,
                }
            }
        }
        if wanted(ListType::Cidr)
            && let Ok((range, _)) = cidr::parse_range(value)
        {
            match range {
                Range::V4(lo, hi) => {
                    for (id, ranges) in &self.v4 {
                        if let Some((a, b)) = cidr::contains(ranges, lo, hi) {
                            push(&mut hits, *id, &cidr::render(Range::V4(a, b)));
                        }
                    }
                }
                Range::V6(lo, hi) => {
                    for (id, ranges) in &self.v6 {
                        if let Some((a, b)) = cidr::contains(ranges, lo, hi) {
                            push(&mut hits, *id, &cidr::render(Range::V6(a, b)));
                        }
                    }
                }
            }
        }
        if let Some((ac, ids, entries)) = &self.substrings
            && wanted(ListType::Substring)
        {
            for m in ac.find_overlapping_iter(value) {
                let p = m.pattern().as_usize();
                push(&mut hits, ids[p], &entries[p]);
            }
        }
        if let Some((re, ids, entries)) = &self.regexes
            && wanted(ListType::Regex)
        {
            let mut which = PatternSet::new(re.pattern_len());
            re.which_overlapping_matches(&Input::new(value), &mut which);
            for p in which.iter() {
                let p = p.as_usize();
                push(&mut hits, ids[p], &entries[p]);
            }
        }
        hits.sort_by_key(|(id, _)| *id);
        hits.into_iter().map(|(_, h)| h).collect()
    }
}

/// Whether `id` is a list id [`WarninglistSet::build_with_ids`] accepts.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn add(map: &mut Map, key: Box<str>, id: u32) -> bool {
    let ids = map.entry(key).or_default();
    if ids.contains(&id) {
        false
    } else {
        ids.push(id);
        true
    }
}

/// The host part of a value as MISP's `__evalHostname` takes it: after `//`
/// the third `/`-separated piece, else the first; here also without a
/// `user@` prefix or a `:port` suffix, lowercased (DNS names are
/// case-insensitive; MISP compares the value's case as given), trailing dots
/// removed.
fn host_of(value: &str) -> Option<std::borrow::Cow<'_, str>> {
    let host = if value.contains("//") {
        value.split('/').nth(2)?
    } else {
        value.split('/').next()?
    };
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host
    } else {
        match host.rsplit_once(':') {
            Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        }
    };
    let host = host.trim_end_matches('.');
    if host.is_empty() {
        None
    } else if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(host.to_ascii_lowercase().into())
    } else {
        Some(host.into())
    }
}

/// Turns a PHP PCRE literal `/body/flags` (any non-alphanumeric delimiter;
/// `(…)`, `[…]`, `{…}`, `<…>` pairs) into a pattern for `regex-automata`
/// with the flags inline.
fn php_regex(entry: &str) -> Result<String, String> {
    let mut chars = entry.chars();
    let open = chars.next().ok_or("an empty regex")?;
    if open.is_alphanumeric() || open == '\\' || open.is_whitespace() {
        return Err(format!(
            "a regex must start with a delimiter such as '/', not {open:?}"
        ));
    }
    let close = match open {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        c => c,
    };
    let rest = &entry[open.len_utf8()..];
    let end = rest
        .rfind(close)
        .ok_or_else(|| format!("no closing delimiter {close:?}"))?;
    let (body, flags) = (&rest[..end], &rest[end + close.len_utf8()..]);
    let mut inline = String::new();
    for f in flags.chars() {
        match f {
            'i' | 'm' | 's' | 'x' | 'U' => {
                if !inline.contains(f) {
                    inline.push(f)
                }
            }
            // Unicode (u) is always on; `$` never matches before a final
            // newline here, which is what D asks for.
            'u' | 'D' => {}
            other => return Err(format!("unsupported regex flag {other:?}")),
        }
    }
    Ok(if inline.is_empty() {
        body.to_owned()
    } else {
        format!("(?{inline}){body}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(name: &str, kind: ListType, attrs: &[&str], entries: &[&str]) -> Warninglist {
        Warninglist {
            name: name.into(),
            description: "d".into(),
            version: 1,
            kind,
            matching_attributes: attrs.iter().map(|s| s.to_string()).collect(),
            list: entries.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn names(hits: &[ListHit]) -> Vec<&str> {
        hits.iter().map(|h| &*h.list).collect()
    }

    fn sample() -> WarninglistSet {
        WarninglistSet::build(
            vec![
                list(
                    "dns",
                    ListType::Cidr,
                    &["ip-dst", "ip-src"],
                    &["8.8.8.8", "2001:4860:4860::8888"],
                ),
                list(
                    "rfc1918",
                    ListType::Cidr,
                    &["ip-dst"],
                    &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                ),
                list(
                    "top",
                    ListType::Hostname,
                    &["domain", "url"],
                    &["Google.com.", "example.org"],
                ),
                list(
                    "vendors",
                    ListType::Substring,
                    &["domain"],
                    &["virustotal", "sandbox"],
                ),
                list(
                    "empty",
                    ListType::String,
                    &["md5"],
                    &["d41d8cd98f00b204e9800998ecf8427e"],
                ),
                list(
                    "contacts",
                    ListType::Regex,
                    &["email-dst"],
                    &[r"/^(security|abuse)\@.*\..*$/i"],
                ),
            ],
            &Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn each_type_matches_as_misp_does() {
        let s = sample();
        assert_eq!(names(&s.check("8.8.8.8")), ["dns"]);
        assert_eq!(names(&s.check("10.1.2.3")), ["rfc1918"]);
        assert_eq!(names(&s.check("10.1.0.0/16")), ["rfc1918"]);
        assert!(s.check("11.0.0.1").is_empty());
        assert!(s.check("9.0.0.0/7").is_empty());
        assert_eq!(names(&s.check("2001:4860:4860::8888")), ["dns"]);
        assert_eq!(names(&s.check("google.com")), ["top"]);
        assert_eq!(names(&s.check("Mail.GOOGLE.com.")), ["top"]);
        assert_eq!(
            names(&s.check("https://user@www.google.com:443/x?y")),
            ["top"]
        );
        assert!(s.check("notgoogle.com").is_empty());
        assert!(s.check("google.com.evil.net").is_empty());
        assert_eq!(names(&s.check("www.virustotal.example")), ["vendors"]);
        assert_eq!(
            names(&s.check("d41d8cd98f00b204e9800998ecf8427e")),
            ["empty"]
        );
        assert!(s.check("D41D8CD98F00B204E9800998ECF8427E").is_empty());
        assert_eq!(names(&s.check("Security@example.org")), ["top", "contacts"]);
        assert!(s.check("someone@example.net").is_empty());
        let hit = &s.check("10.1.2.3")[0];
        assert_eq!(hit.matched, "10.0.0.0-10.255.255.255");
        assert_eq!(hit.kind, ListType::Cidr);
    }

    #[test]
    fn matching_attributes_select_lists() {
        let s = sample();
        assert_eq!(names(&s.check_as("8.8.8.8", &["ip-src"])), ["dns"]);
        assert!(s.check_as("10.1.2.3", &["ip-src"]).is_empty());
        assert!(s.check_as("google.com", &["md5"]).is_empty());
        assert_eq!(
            names(&s.check_as("Security@example.org", &["email-dst"])),
            ["contacts"]
        );
        assert_eq!(s.lists().len(), 6);
        assert_eq!(s.lists()[1].entries, 3);
    }

    #[test]
    fn bad_entries_name_list_and_entry() {
        let err = |l: Warninglist| WarninglistSet::build(vec![l], &Limits::default()).unwrap_err();
        let e = err(list("x", ListType::Cidr, &[], &["10.0.0.0/8", "nope"]));
        assert!(
            e.to_string().contains("\"x\"") && e.to_string().contains("\"nope\""),
            "{e}"
        );
        let e = err(list("wide", ListType::Cidr, &[], &["0.0.0.0/0"]));
        assert!(e.to_string().contains("wider than /4"), "{e}");
        let e = err(list("s", ListType::Substring, &[], &[""]));
        assert!(e.to_string().contains("empty substring"), "{e}");
        let e = err(list("r", ListType::Regex, &[], &["/(?<=a)b/"]));
        assert!(e.to_string().contains("\"r\""), "{e}");
        let e = err(list("r", ListType::Regex, &[], &["/abc/e"]));
        assert!(e.to_string().contains("unsupported regex flag"), "{e}");
        let e = err(list("r", ListType::Regex, &[], &["abc"]));
        assert!(e.to_string().contains("delimiter"), "{e}");
        let e = WarninglistSet::build(
            vec![
                list("a", ListType::String, &[], &["x"]),
                list("a", ListType::String, &[], &["y"]),
            ],
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(e, WarninglistError::Duplicate { .. }));
        let limits = Limits {
            max_regexes: 1,
            ..Limits::default()
        };
        let e = WarninglistSet::build(
            vec![list("r", ListType::Regex, &[], &["/a/", "/b/"])],
            &limits,
        )
        .unwrap_err();
        assert!(matches!(e, WarninglistError::TooLarge { .. }), "{e}");
    }

    #[test]
    fn php_regex_forms() {
        assert_eq!(php_regex("/a/").unwrap(), "a");
        assert_eq!(php_regex("#a/b#i").unwrap(), "(?i)a/b");
        assert_eq!(php_regex("{a}ms").unwrap(), "(?ms)a");
        assert!(php_regex("").is_err());
        assert!(php_regex("/a").is_err());
    }

    #[test]
    fn many_cidrs_stay_fast() {
        // 200,000 distinct /32s and /24s in one list: a check is a binary search.
        let entries: Vec<String> = (0..200_000u32)
            .map(|i| {
                let ip = std::net::Ipv4Addr::from(0x2000_0000 + i * 512);
                if i % 2 == 0 {
                    ip.to_string()
                } else {
                    format!("{ip}/24")
                }
            })
            .collect();
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        let s = WarninglistSet::build(
            vec![list("big", ListType::Cidr, &[], &refs)],
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(names(&s.check(&entries[10])), ["big"]);
        let ip = std::net::Ipv4Addr::from(0x2000_0000 + 11 * 512 + 7).to_string();
        assert_eq!(names(&s.check(&ip)), ["big"]);
        let start = std::time::Instant::now();
        for i in 0..100_000u32 {
            let _ = s.check(&std::net::Ipv4Addr::from(0x3000_0000 + i).to_string());
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
