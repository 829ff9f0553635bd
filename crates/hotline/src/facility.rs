//! Protected facilities: designated networks, domains and autonomous
//! systems whose any touch escalates at once.
//!
//! # What counts as a touch ([`Registry::touches`])
//!
//! - SCO values: `ipv4-addr` / `ipv6-addr` `value` (an address inside a
//!   facility network, or a CIDR overlapping one), `domain-name` `value`
//!   (the facility domain or a subdomain), `url` `value` (its host, name or
//!   address), `email-addr` `value` (its domain), `autonomous-system`
//!   `number`. Objects embedded in an `observed-data`'s `objects` (STIX
//!   2.0 style) and the `objects` of a bundle are read the same way.
//! - Indicator patterns (`pattern_type` `stix`), parsed with
//!   `accord-pattern`: every comparison that is not negated (`=`, `IN`,
//!   `ISSUBSET`, `ISSUPERSET`, and `LIKE '%.domain'` on names) whose path
//!   is one of the above or ends in `value` (`network-traffic:dst_ref.value`,
//!   `email-message:from_ref.value`, …); `!=`, `NOT`, `MATCHES` and
//!   ordering comparisons are not a touch. A pattern that does not parse
//!   is scanned for nothing (the validator already refused it).
//! - References (`*_ref`, `object_refs`) are ids, not observables: the
//!   objects they name are checked when they arrive. Free text (`name`,
//!   `description`, note `content`) is not read: a facility named in prose
//!   is a human's call, not an automatic critical case.
//!
//! The index is `accord-matcher`'s (the same prefix and domain index the
//! matcher uses), one "indicator" per facility; a CIDR observable also
//! finds the facility networks inside it by a binary search over their
//! sorted ranges (the matcher only answers "which prefixes contain this
//! address").
//!
//! # The STIX form
//!
//! An `infrastructure` object (id UUIDv5 of the facility's name, lower
//! case) whose `name` is the facility's, with the Accord facility
//! extension ([`FACILITY_EXTENSION_ID`]): `owner`, `sector`,
//! `jurisdiction`, `networks`, `domains`, `asns` (lists absent when
//! empty). [`Facility::from_stix`] also reads an `identity` carrying the
//! same extension (its `sectors[0]` stands in for a missing `sector`).
//!
//! # Bounds
//!
//! Facilities may come from partners, so a facility network is at least
//! a /8 (IPv4) or /16 (IPv6), a domain has at least two labels, and each
//! list holds at most [`MAX_ENTRIES`] values: no facility can claim the
//! whole Internet or a top-level domain.

use crate::ext::{FACILITY_EXTENSION_ID, v5};
use accord_matcher::{Index, IndexBuilder, IndicatorMeta, Key};
use accord_pattern::ast::{CmpExpr, Literal, ObjectPath, ObsExpr, Op, Step};
use accord_stix::{Object, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The most networks, domains or ASNs one facility lists.
pub const MAX_ENTRIES: usize = 10_000;
/// The longest name, owner or sector, in characters.
pub const MAX_NAME: usize = 256;

/// The ISO 3166-1 alpha-2 codes officially assigned (249), sorted.
const ISO_3166_ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Whether `code` (any case) is an ISO 3166-1 alpha-2 code officially
/// assigned, or `EU` (exceptionally reserved, for bodies of the European
/// Union). [`Facility::normalized`] checks only the form (two letters):
/// facilities received from partners are read as they are; a node
/// registering its own checks this too.
pub fn is_assigned_jurisdiction(code: &str) -> bool {
    let c = code.trim().to_ascii_uppercase();
    c == "EU" || ISO_3166_ALPHA2.binary_search(&c.as_str()).is_ok()
}

/// A protected facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    /// Its name (unique in a registry, compared without case).
    pub name: String,
    /// Who runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Its sector (e.g. `finance`, `energy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub jurisdiction: String,
    /// CIDRs (canonical: host bits cleared, `a.b.c.d/n`).
    #[serde(default)]
    pub networks: Vec<String>,
    /// Domains (lower case, no trailing dot); subdomains included.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Autonomous system numbers.
    #[serde(default)]
    pub asns: Vec<u32>,
}

/// A facility or a registry that cannot be read or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FacilityError {
    /// A field of a facility is wrong.
    #[error("facility {facility:?}: {field}: {reason}")]
    Field {
        /// The facility's name (as given).
        facility: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Two facilities have the same name.
    #[error("facility {0:?} is listed twice")]
    Duplicate(String),
    /// CSV that cannot be read.
    #[error("CSV line {line}: {reason}")]
    Csv {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A STIX object whose facility extension is wrong.
    #[error("{id}: {path}: {reason}")]
    Stix {
        /// The object id.
        id: String,
        /// The JSON path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The index could not be built.
    #[error("facility index: {0}")]
    Index(String),
}

fn field(f: &str, field: &'static str, reason: impl Into<String>) -> FacilityError {
    FacilityError::Field {
        facility: f.chars().take(MAX_NAME).collect(),
        field,
        reason: reason.into(),
    }
}

impl Facility {
    /// The facility with its values checked and put in canonical form
    /// (sorted, without duplicates).
    ///
    /// # Errors
    /// [`FacilityError::Field`] naming the facility, the field and the
    /// value at fault.
    pub fn normalized(&self) -> Result<Facility, FacilityError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(field(name, "name", "empty"));
        }
        if name.chars().count() > MAX_NAME {
            return Err(field(
                name,
                "name",
                format!("longer than {MAX_NAME} characters"),
            ));
        }
        let text = |v: &Option<String>, what| -> Result<Option<String>, FacilityError> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) if s.chars().count() > MAX_NAME => Err(field(
                    name,
                    what,
                    format!("longer than {MAX_NAME} characters"),
                )),
                Some(s) => Ok(Some(s.to_owned())),
            }
        };
        let owner = text(&self.owner, "owner")?;
        let sector = text(&self.sector, "sector")?;
        let j = self.jurisdiction.trim();
        if j.len() != 2 || !j.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(field(
                name,
                "jurisdiction",
                format!("{j:?} is not an ISO 3166-1 alpha-2 code (two letters)"),
            ));
        }
        for (what, n) in [
            ("networks", self.networks.len()),
            ("domains", self.domains.len()),
            ("asns", self.asns.len()),
        ] {
            if n > MAX_ENTRIES {
                return Err(field(
                    name,
                    what,
                    format!("{n} entries (at most {MAX_ENTRIES})"),
                ));
            }
        }
        let mut networks = Vec::new();
        for n in &self.networks {
            let (addr, len) = match Key::ip_cidr(n) {
                Ok(Key::Ip(a, l)) => (a, l),
                Ok(_) => unreachable!("ip_cidr gives an Ip key"),
                Err(e) => return Err(field(name, "networks", e.to_string())),
            };
            let min = if addr.is_ipv4() { 8 } else { 16 };
            if len < min {
                return Err(field(
                    name,
                    "networks",
                    format!("{n:?} is wider than /{min}: a facility cannot claim that much"),
                ));
            }
            networks.push(format!("{addr}/{len}"));
        }
        networks.sort();
        networks.dedup();
        let mut domains = Vec::new();
        for d in &self.domains {
            match Key::domain(d) {
                Ok(Key::Domain(s)) if s.contains('.') => domains.push(s),
                Ok(_) => {
                    return Err(field(
                        name,
                        "domains",
                        format!("{d:?} is a top-level domain: a facility cannot claim it"),
                    ));
                }
                Err(e) => return Err(field(name, "domains", e.to_string())),
            }
        }
        domains.sort();
        domains.dedup();
        let mut asns = self.asns.clone();
        asns.sort_unstable();
        asns.dedup();
        Ok(Facility {
            name: name.to_owned(),
            owner,
            sector,
            jurisdiction: j.to_ascii_uppercase(),
            networks,
            domains,
            asns,
        })
    }

    /// The id of its STIX form: `infrastructure--` UUIDv5 of the name in
    /// lower case.
    pub fn stix_id(&self) -> String {
        format!(
            "infrastructure--{}",
            v5(&format!("facility|{}", self.name.trim().to_lowercase()))
        )
    }

    /// Its STIX form: an `infrastructure` with the facility extension.
    pub fn to_stix(&self, created_by_ref: &str, created: Timestamp, modified: Timestamp) -> Object {
        let mut x = Map::new();
        x.insert("extension_type".into(), "property-extension".into());
        if let Some(o) = &self.owner {
            x.insert("owner".into(), o.clone().into());
        }
        if let Some(s) = &self.sector {
            x.insert("sector".into(), s.clone().into());
        }
        x.insert("jurisdiction".into(), self.jurisdiction.clone().into());
        if !self.networks.is_empty() {
            x.insert("networks".into(), self.networks.clone().into());
        }
        if !self.domains.is_empty() {
            x.insert("domains".into(), self.domains.clone().into());
        }
        if !self.asns.is_empty() {
            x.insert(
                "asns".into(),
                Value::Array(self.asns.iter().map(|a| (*a).into()).collect()),
            );
        }
        let mut m = Map::new();
        m.insert("type".into(), "infrastructure".into());
        m.insert("spec_version".into(), "2.1".into());
        m.insert("id".into(), self.stix_id().into());
        m.insert("created_by_ref".into(), created_by_ref.into());
        m.insert("created".into(), created.to_millis_string().into());
        m.insert(
            "modified".into(),
            modified.max(created).to_millis_string().into(),
        );
        m.insert("name".into(), self.name.clone().into());
        let mut d = format!("Protected facility in {}", self.jurisdiction);
        if let Some(s) = &self.sector {
            d.push_str(&format!(", sector {s}"));
        }
        if let Some(o) = &self.owner {
            d.push_str(&format!(", run by {o}"));
        }
        d.push('.');
        m.insert("description".into(), d.into());
        let mut exts = Map::new();
        exts.insert(FACILITY_EXTENSION_ID.into(), Value::Object(x));
        m.insert("extensions".into(), Value::Object(exts));
        Object::from_map(m)
    }

    /// Reads a facility from an `infrastructure` or `identity` carrying
    /// the facility extension; `Ok(None)` for any other object.
    ///
    /// # Errors
    /// [`FacilityError::Stix`] naming the object and the path at fault, or
    /// [`FacilityError::Field`] from [`Facility::normalized`].
    pub fn from_stix(obj: &Object) -> Result<Option<Facility>, FacilityError> {
        let ty = obj.get("type").and_then(Value::as_str);
        if !matches!(ty, Some("infrastructure" | "identity")) {
            return Ok(None);
        }
        let Some(x) = obj
            .get("extensions")
            .and_then(Value::as_object)
            .and_then(|e| e.get(FACILITY_EXTENSION_ID))
        else {
            return Ok(None);
        };
        let id: String = obj
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .chars()
            .take(200)
            .collect();
        let bad = |path: String, reason: &str| FacilityError::Stix {
            id: id.clone(),
            path,
            reason: reason.to_owned(),
        };
        let xp = |k: &str| format!("extensions.{FACILITY_EXTENSION_ID}.{k}");
        let x = x.as_object().ok_or_else(|| bad(xp(""), "not an object"))?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("name".into(), "missing or not a string"))?;
        let opt_str = |k: &str| -> Result<Option<String>, FacilityError> {
            match x.get(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(xp(k), "not a string")),
            }
        };
        let list = |k: &str| -> Result<Vec<String>, FacilityError> {
            match x.get(k) {
                None => Ok(Vec::new()),
                Some(Value::Array(a)) if a.len() <= MAX_ENTRIES => a
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| bad(format!("{}[{i}]", xp(k)), "not a string"))
                    })
                    .collect(),
                Some(Value::Array(_)) => Err(bad(xp(k), "too many entries")),
                Some(_) => Err(bad(xp(k), "not a list")),
            }
        };
        let mut sector = opt_str("sector")?;
        if sector.is_none() && ty == Some("identity") {
            sector = obj
                .get("sectors")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        let jurisdiction =
            opt_str("jurisdiction")?.ok_or_else(|| bad(xp("jurisdiction"), "missing"))?;
        let asns = match x.get("asns") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.len() <= MAX_ENTRIES => a
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            bad(
                                format!("{}[{i}]", xp("asns")),
                                "not an AS number (0 to 4294967295)",
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad(xp("asns"), "not a list (of at most 10000)")),
        };
        Facility {
            name: name.to_owned(),
            owner: opt_str("owner")?,
            sector,
            jurisdiction,
            networks: list("networks")?,
            domains: list("domains")?,
            asns,
        }
        .normalized()
        .map(Some)
    }
}

const CSV_COLUMNS: [&str; 7] = [
    "name",
    "owner",
    "sector",
    "jurisdiction",
    "networks",
    "domains",
    "asns",
];

/// Reads facilities from CSV with the header
/// `name,owner,sector,jurisdiction,networks,domains,asns` (columns in any
/// order; `name` and `jurisdiction` required, the others optional; lists
/// separated by `;`).
///
/// # Errors
/// [`FacilityError::Csv`] naming the line, or [`FacilityError::Field`].
pub fn from_csv(text: &str) -> Result<Vec<Facility>, FacilityError> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = r
        .headers()
        .map_err(|e| FacilityError::Csv {
            line: 1,
            reason: e.to_string(),
        })?
        .clone();
    let mut col = [None; 7];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().to_ascii_lowercase();
        let Some(k) = CSV_COLUMNS.iter().position(|c| *c == h) else {
            return Err(FacilityError::Csv {
                line: 1,
                reason: format!("unknown column {h:?} (columns: {})", CSV_COLUMNS.join(",")),
            });
        };
        if col[k].is_some() {
            return Err(FacilityError::Csv {
                line: 1,
                reason: format!("column {h:?} twice"),
            });
        }
        col[k] = Some(i);
    }
    for req in [0, 3] {
        if col[req].is_none() {
            return Err(FacilityError::Csv {
                line: 1,
                reason: format!("no {:?} column", CSV_COLUMNS[req]),
            });
        }
    }
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| FacilityError::Csv {
            line: e.position().map_or(0, csv::Position::line),
            reason: e.to_string(),
        })?;
        let line = rec.position().map_or(0, csv::Position::line);
        let get = |k: usize| col[k].and_then(|i| rec.get(i)).unwrap_or("").trim();
        let list = |k: usize| -> Vec<String> {
            get(k)
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let opt = |k: usize| Some(get(k).to_owned()).filter(|s| !s.is_empty());
        let mut asns = Vec::new();
        for a in list(6) {
            let n = a
                .strip_prefix("AS")
                .or_else(|| a.strip_prefix("as"))
                .unwrap_or(&a);
            asns.push(n.parse::<u32>().map_err(|_| FacilityError::Csv {
                line,
                reason: format!("asns: {a:?} is not an AS number"),
            })?);
        }
        let f = Facility {
            name: get(0).to_owned(),
            owner: opt(1),
            sector: opt(2),
            jurisdiction: get(3).to_owned(),
            networks: list(4),
            domains: list(5),
            asns,
        }
        .normalized()
        .map_err(|e| FacilityError::Csv {
            line,
            reason: e.to_string(),
        })?;
        out.push(f);
    }
    Ok(out)
}

/// Writes facilities as CSV in the form [`from_csv`] reads.
pub fn to_csv(facilities: &[Facility]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).expect("writing to memory");
    for f in facilities {
        let asns: Vec<String> = f.asns.iter().map(u32::to_string).collect();
        w.write_record([
            f.name.as_str(),
            f.owner.as_deref().unwrap_or(""),
            f.sector.as_deref().unwrap_or(""),
            f.jurisdiction.as_str(),
            &f.networks.join(";"),
            &f.domains.join(";"),
            &asns.join(";"),
        ])
        .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 text")
}

/// How an observable touches a facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HitKind {
    /// An address inside a facility network.
    Address,
    /// A CIDR overlapping a facility network (inside it or covering it).
    Network,
    /// The facility domain or a subdomain of it (also a URL's or e-mail
    /// address's host).
    Domain,
    /// One of the facility's autonomous systems.
    Asn,
}

/// One touch: which facility, by what value, found where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FacilityHit {
    /// The facility's name.
    pub facility: String,
    /// Its jurisdiction (whom to address the case to).
    pub jurisdiction: String,
    /// The value as found (an address, CIDR, domain, URL, e-mail address,
    /// AS number).
    pub matched: String,
    /// Where: a JSON path (`value`, `objects.0.value`, `objects[3].value`)
    /// or, in a pattern, `pattern` and the comparison's object path
    /// (`pattern[ipv4-addr:value]`).
    pub path: String,
    /// How it touches.
    pub kind: HitKind,
}

/// Protected facilities and their index.
pub struct Registry {
    facilities: Vec<Facility>,
    index: Index,
    /// Facility networks as (IPv6?, first, last, facility), sorted.
    ranges: Vec<(bool, u128, u128, u32)>,
    asns: BTreeMap<u32, Vec<u32>>,
    /// The last labels of the facility domains, lower case (the raw
    /// prefilter's first test on a dotted run).
    tlds: std::collections::BTreeSet<Vec<u8>>,
    /// Some facility network is IPv6.
    has_v6: bool,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("facilities", &self.facilities)
            .finish_non_exhaustive()
    }
}

fn range_of(addr: IpAddr, len: u8) -> (bool, u128, u128) {
    match addr {
        IpAddr::V4(a) => {
            let s = u128::from(u32::from(a));
            let span = if len == 0 {
                u128::from(u32::MAX)
            } else {
                (1u128 << (32 - len)) - 1
            };
            (false, s, s + span)
        }
        IpAddr::V6(a) => {
            let s = u128::from(a);
            let span = if len == 0 {
                u128::MAX
            } else {
                (1u128 << (128 - len)).wrapping_sub(1)
            };
            (true, s, s | span)
        }
    }
}

enum Obs<'a> {
    Ip(&'a str),
    Domain(&'a str),
    Url(&'a str),
    Email(&'a str),
    /// Unknown: an address, a URL, an e-mail address or a name.
    Any(&'a str),
}

impl Registry {
    /// A registry of these facilities (each normalised).
    ///
    /// # Errors
    /// [`FacilityError::Field`], [`FacilityError::Duplicate`] (names
    /// compared without case), [`FacilityError::Index`].
    pub fn new(facilities: Vec<Facility>) -> Result<Registry, FacilityError> {
        let mut fs = Vec::with_capacity(facilities.len());
        let mut names = std::collections::BTreeSet::new();
        for f in &facilities {
            let f = f.normalized()?;
            if !names.insert(f.name.to_lowercase()) {
                return Err(FacilityError::Duplicate(f.name));
            }
            fs.push(f);
        }
        fs.sort_by_key(|f| f.name.to_lowercase());
        let mut b = IndexBuilder::new(0);
        let mut ranges = Vec::new();
        let mut asns: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut tlds = std::collections::BTreeSet::new();
        for (i, f) in fs.iter().enumerate() {
            let ord = b.add_indicator(IndicatorMeta {
                id: *v5(&format!("facility|{}", f.name.to_lowercase())).as_bytes(),
                valid_until: None,
                revoked: false,
            });
            debug_assert_eq!(ord as usize, i);
            for n in &f.networks {
                let k = Key::ip_cidr(n).map_err(|e| FacilityError::Index(e.to_string()))?;
                if let Key::Ip(a, l) = k {
                    let (v6, s, e) = range_of(a, l);
                    ranges.push((v6, s, e, ord));
                }
                b.add_key(ord, k)
                    .map_err(|e| FacilityError::Index(e.to_string()))?;
            }
            for d in &f.domains {
                let k = Key::domain(d).map_err(|e| FacilityError::Index(e.to_string()))?;
                if let Key::Domain(n) = &k {
                    let last = n.rsplit('.').next().unwrap_or(n);
                    tlds.insert(last.as_bytes().to_ascii_lowercase());
                }
                b.add_key(ord, k)
                    .map_err(|e| FacilityError::Index(e.to_string()))?;
            }
            for a in &f.asns {
                asns.entry(*a).or_default().push(ord);
            }
        }
        ranges.sort_unstable();
        let index = b.build().map_err(|e| FacilityError::Index(e.to_string()))?;
        Ok(Registry {
            facilities: fs,
            index,
            has_v6: ranges.iter().any(|r| r.0),
            ranges,
            asns,
            tlds,
        })
    }

    /// The facilities, sorted by name.
    pub fn facilities(&self) -> &[Facility] {
        &self.facilities
    }

    /// A facility by name (without case).
    pub fn get(&self, name: &str) -> Option<&Facility> {
        let n = name.trim().to_lowercase();
        self.facilities.iter().find(|f| f.name.to_lowercase() == n)
    }

    /// No facilities.
    pub fn is_empty(&self) -> bool {
        self.facilities.is_empty()
    }

    /// The facilities whose networks contain `ip` (for a matcher hit on a
    /// log address).
    pub fn facilities_of_ip(&self, ip: IpAddr) -> Vec<&Facility> {
        let mut v = Vec::new();
        self.index.lookup_ip(ip, &mut v);
        v.into_iter()
            .map(|o| &self.facilities[o as usize])
            .collect()
    }

    /// The facilities whose domains are `name` or a parent of it.
    pub fn facilities_of_domain(&self, name: &str) -> Vec<&Facility> {
        let mut v = Vec::new();
        self.index.lookup_domain(name.as_bytes(), &mut v);
        v.into_iter()
            .map(|o| &self.facilities[o as usize])
            .collect()
    }

    /// Which facilities the object's observables touch (see the module
    /// docs for what is read). Sorted, without duplicates.
    pub fn touches(&self, obj: &Object) -> Vec<FacilityHit> {
        self.touches_map(obj.as_map())
    }

    /// [`Registry::touches`] on raw JSON (a non-object touches nothing).
    pub fn touches_value(&self, v: &Value) -> Vec<FacilityHit> {
        v.as_object().map_or_else(Vec::new, |m| self.touches_map(m))
    }

    fn touches_map(&self, m: &Map<String, Value>) -> Vec<FacilityHit> {
        let mut out = Vec::new();
        if self.facilities.is_empty() {
            return out;
        }
        self.scan_object(m, "", &mut out);
        match m.get("type").and_then(Value::as_str) {
            Some("bundle") => {
                if let Some(objs) = m.get("objects").and_then(Value::as_array) {
                    for (i, o) in objs.iter().enumerate() {
                        if let Some(om) = o.as_object() {
                            self.scan_object(om, &format!("objects[{i}]."), &mut out);
                            self.scan_embedded(om, &format!("objects[{i}]."), &mut out);
                        }
                    }
                }
            }
            _ => self.scan_embedded(m, "", &mut out),
        }
        out.sort();
        out.dedup();
        out
    }

    /// STIX 2.0 `observed-data` embeds its SCOs in `objects`.
    fn scan_embedded(&self, m: &Map<String, Value>, prefix: &str, out: &mut Vec<FacilityHit>) {
        if m.get("type").and_then(Value::as_str) != Some("observed-data") {
            return;
        }
        if let Some(objs) = m.get("objects").and_then(Value::as_object) {
            for (k, o) in objs {
                if let Some(om) = o.as_object() {
                    self.scan_object(om, &format!("{prefix}objects.{k}."), out);
                }
            }
        }
    }

    fn scan_object(&self, m: &Map<String, Value>, prefix: &str, out: &mut Vec<FacilityHit>) {
        let Some(ty) = m.get("type").and_then(Value::as_str) else {
            return;
        };
        let path = format!("{prefix}value");
        let value = m.get("value").and_then(Value::as_str);
        match (ty, value) {
            ("ipv4-addr" | "ipv6-addr", Some(v)) => self.check(Obs::Ip(v), &path, out),
            ("domain-name", Some(v)) => self.check(Obs::Domain(v), &path, out),
            ("url", Some(v)) => self.check(Obs::Url(v), &path, out),
            ("email-addr", Some(v)) => self.check(Obs::Email(v), &path, out),
            ("autonomous-system", _) => {
                if let Some(n) = m.get("number").and_then(Value::as_u64) {
                    self.check_asn(n, &format!("{prefix}number"), out);
                }
            }
            ("indicator", _) => {
                let stix = m
                    .get("pattern_type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "stix");
                if let (true, Some(p)) = (stix, m.get("pattern").and_then(Value::as_str))
                    && self.may_touch_pattern(p)
                    && let Ok(e) = accord_pattern::parse(p)
                {
                    self.scan_pattern(&e, &format!("{prefix}pattern"), out);
                }
            }
            _ => {}
        }
    }

    /// A cheap test on an object's raw JSON text before it is parsed:
    /// `false` only when nothing in `raw` can touch a facility, so
    /// [`Registry::touches`] on it finds nothing; `true` when something
    /// may (the object is then parsed and read exactly).
    ///
    /// Every touch the exact check finds comes from a string or number in
    /// the object, and shows in the JSON text as one of: a run of name
    /// characters (letters, digits, `-`, `_`, `.`, non-ASCII) with a dot
    /// in it that is a facility domain or a subdomain of one (domains have
    /// two labels at least); a run of digits and dots, with the `/len`
    /// after it, that is an address in a facility network or a CIDR
    /// around one; a run of hex digits, colons and dots that is such an
    /// IPv6 address; an `autonomous-system` object or comparison. So only
    /// the dots (and colons, when a facility has an IPv6 network) are
    /// looked at, found with `memchr`, and the run around each is read
    /// once. What the text could hide goes to the exact check: a `\u`
    /// escape, an escaped backslash, and `%XX` (a URL's host may be
    /// percent-encoded).
    pub fn may_touch_raw(&self, raw: &str) -> bool {
        if self.facilities.is_empty() {
            return false;
        }
        let b = raw.as_bytes();
        if !self.asns.is_empty() && memchr::memmem::find(b, b"autonomous-system").is_some() {
            return true;
        }
        let mut pos = 0;
        while let Some(off) = memchr::memchr3(b'.', b'\\', b'%', &b[pos..]) {
            let i = pos + off;
            match b[i] {
                b'\\' => match b.get(i + 1) {
                    Some(b'u' | b'\\') | None => return true,
                    Some(_) => pos = i + 2,
                },
                b'%' => {
                    if b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) {
                        return true;
                    }
                    pos = i + 1;
                }
                _ => {
                    let (from, to) = run_around(b, i, pos, is_name_byte);
                    if self.run_may_touch(&b[from..to], &b[to..]) {
                        return true;
                    }
                    pos = to.max(i + 1);
                }
            }
        }
        self.has_v6 && self.v6_may_touch(b)
    }

    /// One run of name characters with a dot: a facility domain or a
    /// subdomain of one, or an IPv4 address or CIDR in or around a
    /// facility network.
    fn run_may_touch(&self, run: &[u8], after: &[u8]) -> bool {
        let run = trim_dots(run);
        if run.is_empty() {
            return false;
        }
        if run.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
            // An IPv4 address has four parts (`2.1`, `1.5` are not one).
            return run.iter().filter(|c| **c == b'.').count() == 3
                && self.ip_may_touch(run, after);
        }
        let Some(dot) = run.iter().rposition(|c| *c == b'.') else {
            return false;
        };
        let last = &run[dot + 1..];
        let mut buf = [0u8; 63];
        let Some(lower) = buf.get_mut(..last.len()) else {
            return false;
        };
        lower.copy_from_slice(last);
        lower.make_ascii_lowercase();
        if !self.tlds.contains(&*lower) {
            return false;
        }
        let mut ords = Vec::new();
        self.index.lookup_domain(run, &mut ords) > 0
    }

    /// An address (with the prefix length that follows it in the text)
    /// in or around a facility network. A CIDR around an address holds
    /// it, so reading the `/len` never loses a touch of the address alone.
    fn ip_may_touch(&self, addr: &[u8], after: &[u8]) -> bool {
        let len: &[u8] = match after.split_first() {
            Some((b'/', rest)) if rest.first().is_some_and(u8::is_ascii_digit) => {
                let n = rest
                    .iter()
                    .take(3)
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                &after[..=n]
            }
            _ => &[],
        };
        let mut buf = [0u8; 64];
        let n = addr.len() + len.len();
        let Some(text) = buf.get_mut(..n) else {
            return false; // longer than any address
        };
        text[..addr.len()].copy_from_slice(addr);
        text[addr.len()..].copy_from_slice(len);
        let Ok(s) = std::str::from_utf8(text) else {
            return true;
        };
        let mut out = Vec::new();
        self.check_ip(s, "", &mut out);
        !out.is_empty()
    }

    /// The runs of hex digits, colons and dots around each colon, with
    /// two colons or more, read as IPv6 addresses.
    fn v6_may_touch(&self, b: &[u8]) -> bool {
        let is_v6 = |c: u8| c.is_ascii_hexdigit() || c == b':' || c == b'.';
        let mut pos = 0;
        while let Some(off) = memchr::memchr(b':', &b[pos..]) {
            let i = pos + off;
            let (from, to) = run_around(b, i, pos, is_v6);
            let run = &b[from..to];
            if run.iter().filter(|c| **c == b':').count() >= 2 && self.ip_may_touch(run, &b[to..]) {
                return true;
            }
            pos = to.max(i + 1);
        }
        false
    }

    /// A cheap test before a pattern is parsed: `false` only when no
    /// string literal of `pattern` (read as an address or CIDR, a name, a
    /// URL, an e-mail address, or a `LIKE '%.name'`) and no integer can
    /// touch a facility, so the pattern cannot; `true` when one may (the
    /// pattern is then parsed and read exactly).
    pub fn may_touch_pattern(&self, pattern: &str) -> bool {
        if self.facilities.is_empty() {
            return false;
        }
        let mut out = Vec::new();
        let mut chars = pattern.chars().peekable();
        let mut digits = String::new();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if !digits.is_empty() {
                if let Ok(n) = digits.parse::<u64>() {
                    self.check_asn(n, "", &mut out);
                }
                digits.clear();
            }
            if c != '\'' {
                continue;
            }
            let mut lit = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            lit.push(n);
                        }
                    }
                    '\'' => break,
                    c => lit.push(c),
                }
            }
            let bare = lit.trim_start_matches('%').trim_start_matches('.');
            for s in [lit.as_str(), bare] {
                self.check(Obs::Ip(s), "", &mut out);
                self.check(Obs::Domain(s), "", &mut out);
                if s.contains(':') {
                    self.check(Obs::Url(s), "", &mut out);
                }
                if s.contains('@') {
                    self.check(Obs::Email(s), "", &mut out);
                }
            }
            if !out.is_empty() {
                return true;
            }
        }
        if let Ok(n) = digits.parse::<u64>() {
            self.check_asn(n, "", &mut out);
        }
        !out.is_empty()
    }

    fn scan_pattern(&self, e: &ObsExpr, at: &str, out: &mut Vec<FacilityHit>) {
        match e {
            ObsExpr::Simple(c) => self.scan_cmp(c, at, out),
            ObsExpr::And(a, b) | ObsExpr::Or(a, b) | ObsExpr::FollowedBy(a, b) => {
                self.scan_pattern(a, at, out);
                self.scan_pattern(b, at, out);
            }
            ObsExpr::Qualified(a, _) => self.scan_pattern(a, at, out),
        }
    }

    fn scan_cmp(&self, c: &CmpExpr, at: &str, out: &mut Vec<FacilityHit>) {
        let t = match c {
            CmpExpr::And(a, b) | CmpExpr::Or(a, b) => {
                self.scan_cmp(a, at, out);
                self.scan_cmp(b, at, out);
                return;
            }
            CmpExpr::Test(t) => t,
        };
        if t.negated {
            return;
        }
        let path = format!("{at}[{}]", t.path);
        let strs: Vec<&str> = match &t.op {
            Op::Eq(Literal::Str(s)) | Op::IsSubset(s) | Op::IsSuperset(s) => vec![s.as_str()],
            Op::In(l) => l
                .iter()
                .filter_map(|x| {
                    if let Literal::Str(s) = x {
                        Some(s.as_str())
                    } else {
                        None
                    }
                })
                .collect(),
            Op::Like(s) => {
                // `%.example.org` or `%example.org` on a name: the domain
                // and its subdomains. Any other wildcard: not read.
                let rest = s
                    .strip_prefix('%')
                    .map(|r| r.strip_prefix('.').unwrap_or(r));
                match rest {
                    Some(r) if !r.contains(['%', '_']) && is_value_path(&t.path) => vec![r],
                    _ => Vec::new(),
                }
            }
            Op::Eq(Literal::Int(n)) => {
                if t.path.object_type == "autonomous-system"
                    && matches!(t.path.steps.as_slice(), [Step::Key(k)] if k == "number")
                    && let Ok(n) = u64::try_from(*n)
                {
                    self.check_asn(n, &path, out);
                }
                return;
            }
            _ => return,
        };
        if t.path.object_type == "autonomous-system" {
            if let Op::In(l) = &t.op {
                for x in l {
                    if let Literal::Int(n) = x
                        && let Ok(n) = u64::try_from(*n)
                    {
                        self.check_asn(n, &path, out);
                    }
                }
            }
            return;
        }
        if !is_value_path(&t.path) {
            return;
        }
        let top = matches!(t.path.steps.as_slice(), [Step::Key(k)] if k == "value");
        for s in strs {
            let obs = match (t.path.object_type.as_str(), top) {
                ("ipv4-addr" | "ipv6-addr", true) => Obs::Ip(s),
                ("domain-name", true) => Obs::Domain(s),
                ("url", true) => Obs::Url(s),
                ("email-addr", true) => Obs::Email(s),
                _ => Obs::Any(s),
            };
            if matches!(t.op, Op::Like(_)) {
                self.check(Obs::Domain(s), &path, out);
            } else {
                self.check(obs, &path, out);
            }
        }
    }

    fn hit(&self, ord: u32, matched: &str, path: &str, kind: HitKind, out: &mut Vec<FacilityHit>) {
        let f = &self.facilities[ord as usize];
        out.push(FacilityHit {
            facility: f.name.clone(),
            jurisdiction: f.jurisdiction.clone(),
            matched: matched.chars().take(1024).collect(),
            path: path.to_owned(),
            kind,
        });
    }

    fn check_asn(&self, n: u64, path: &str, out: &mut Vec<FacilityHit>) {
        if let Ok(n) = u32::try_from(n)
            && let Some(ords) = self.asns.get(&n)
        {
            for o in ords {
                self.hit(*o, &n.to_string(), path, HitKind::Asn, out);
            }
        }
    }

    fn check(&self, obs: Obs<'_>, path: &str, out: &mut Vec<FacilityHit>) {
        let mut ords = Vec::new();
        match obs {
            Obs::Ip(s) => self.check_ip(s, path, out),
            Obs::Domain(s) => {
                self.index.lookup_domain(s.as_bytes(), &mut ords);
                for o in ords {
                    self.hit(o, s, path, HitKind::Domain, out);
                }
            }
            Obs::Email(s) => {
                if let Some((_, d)) = s.rsplit_once('@') {
                    self.index.lookup_domain(d.as_bytes(), &mut ords);
                    for o in ords {
                        self.hit(o, s, path, HitKind::Domain, out);
                    }
                }
            }
            Obs::Url(s) => {
                let Ok(Key::Url(norm)) = Key::url(s) else {
                    return;
                };
                let Some(host) = url_host(&norm) else {
                    return;
                };
                if let Ok(ip) = host.parse::<IpAddr>() {
                    self.index.lookup_ip(ip, &mut ords);
                    for o in ords {
                        self.hit(o, s, path, HitKind::Address, out);
                    }
                } else {
                    self.index.lookup_domain(host.as_bytes(), &mut ords);
                    for o in ords {
                        self.hit(o, s, path, HitKind::Domain, out);
                    }
                }
            }
            Obs::Any(s) => {
                if Key::ip_cidr(s).is_ok() {
                    self.check_ip(s, path, out);
                } else if s.contains("://") || s.starts_with("//") {
                    self.check(Obs::Url(s), path, out);
                } else if s.contains('@') {
                    self.check(Obs::Email(s), path, out);
                } else {
                    self.check(Obs::Domain(s), path, out);
                }
            }
        }
    }

    fn check_ip(&self, s: &str, path: &str, out: &mut Vec<FacilityHit>) {
        let Ok(Key::Ip(addr, len)) = Key::ip_cidr(s) else {
            return;
        };
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let kind = if len == full {
            HitKind::Address
        } else {
            HitKind::Network
        };
        let mut ords = Vec::new();
        self.index.lookup_ip(addr, &mut ords);
        if len < full {
            // Facility networks inside the CIDR start within its range.
            let (v6, lo, hi) = range_of(addr, len);
            let from = self.ranges.partition_point(|r| (r.0, r.1) < (v6, lo));
            for r in &self.ranges[from..] {
                if r.0 != v6 || r.1 > hi {
                    break;
                }
                ords.push(r.3);
            }
            ords.sort_unstable();
            ords.dedup();
        }
        for o in ords {
            self.hit(o, s, path, kind, out);
        }
    }
}

/// A byte of a name run: ASCII letters, digits, `-`, `_`, `.`, and
/// non-ASCII (domain labels keep non-ASCII bytes as given).
fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.') || c >= 0x80
}

/// The run of `class` bytes around `b[at]`, not reaching before `floor`
/// (where the previous run ended), and not taking the letter of a JSON
/// escape (`\n`, `\t`, `\b`, `\f`, `\r`) as its first byte.
fn run_around(b: &[u8], at: usize, floor: usize, class: impl Fn(u8) -> bool) -> (usize, usize) {
    let mut from = at;
    while from > floor && class(b[from - 1]) && !(from >= 2 && b[from - 2] == b'\\') {
        from -= 1;
    }
    let mut to = at;
    while to < b.len() && class(b[to]) {
        to += 1;
    }
    (from, to)
}

/// `run` without leading and trailing dots (`%.example.org`, `example.org.`).
fn trim_dots(mut run: &[u8]) -> &[u8] {
    while let [b'.', rest @ ..] = run {
        run = rest;
    }
    while let [rest @ .., b'.'] = run {
        run = rest;
    }
    run
}

/// The last key step is `value` (a reference's value, or the SCO's own).
fn is_value_path(p: &ObjectPath) -> bool {
    matches!(p.steps.last(), Some(Step::Key(k)) if k == "value")
}

/// The host of a URL normalised by [`Key::url`] (`scheme://[userinfo@]host[:port]/…`).
fn url_host(norm: &str) -> Option<&str> {
    let rest = &norm[norm.find("://")? + 3..];
    let auth = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let hostport = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    Some(hostport.rsplit_once(':').map_or(hostport, |(h, _)| h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exchange() -> Facility {
        Facility {
            name: "Example Exchange".into(),
            owner: Some("Example Exchange AG".into()),
            sector: Some("finance".into()),
            jurisdiction: "de".into(),
            networks: vec!["198.51.100.7/24".into(), "2001:db8:100::/48".into()],
            domains: vec!["Exchange.Example.".into()],
            asns: vec![64500],
        }
    }

    fn grid() -> Facility {
        Facility {
            name: "Grid Operator".into(),
            owner: None,
            sector: Some("energy".into()),
            jurisdiction: "FR".into(),
            networks: vec!["203.0.113.128/25".into()],
            domains: vec!["grid.example".into()],
            asns: vec![],
        }
    }

    fn reg() -> Registry {
        Registry::new(vec![exchange(), grid()]).unwrap()
    }

    fn hits(v: Value) -> Vec<(String, String, String, HitKind)> {
        reg()
            .touches_value(&v)
            .into_iter()
            .map(|h| (h.facility, h.matched, h.path, h.kind))
            .collect()
    }

    fn h(f: &str, m: &str, p: &str, k: HitKind) -> (String, String, String, HitKind) {
        (f.into(), m.into(), p.into(), k)
    }

    #[test]
    fn normalizes_and_bounds() {
        let f = exchange().normalized().unwrap();
        assert_eq!(f.jurisdiction, "DE");
        assert_eq!(f.networks, ["198.51.100.0/24", "2001:db8:100::/48"]);
        assert_eq!(f.domains, ["exchange.example"]);
        let mut w = exchange();
        w.networks = vec!["0.0.0.0/0".into()];
        assert!(
            w.normalized()
                .unwrap_err()
                .to_string()
                .contains("wider than /8")
        );
        w.networks = vec!["10.0.0.0/33".into()];
        assert!(w.normalized().unwrap_err().to_string().contains("networks"));
        let mut w = exchange();
        w.domains = vec!["com".into()];
        assert!(
            w.normalized()
                .unwrap_err()
                .to_string()
                .contains("top-level domain")
        );
        let mut w = exchange();
        w.jurisdiction = "DEU".into();
        assert_eq!(
            w.normalized().unwrap_err().to_string(),
            "facility \"Example Exchange\": jurisdiction: \"DEU\" is not an ISO 3166-1 alpha-2 code (two letters)"
        );
        let mut dup = grid();
        dup.name = "example exchange".into();
        assert!(matches!(
            Registry::new(vec![exchange(), dup]),
            Err(FacilityError::Duplicate(_))
        ));
    }

    #[test]
    fn sco_values_touch() {
        assert_eq!(
            hits(json!({"type": "ipv4-addr", "value": "198.51.100.9"})),
            [h(
                "Example Exchange",
                "198.51.100.9",
                "value",
                HitKind::Address
            )]
        );
        assert!(hits(json!({"type": "ipv4-addr", "value": "198.51.101.9"})).is_empty());
        assert_eq!(
            hits(json!({"type": "ipv6-addr", "value": "2001:db8:100:5::1"}))[0].3,
            HitKind::Address
        );
        // A CIDR covering a facility network, and one inside it.
        assert_eq!(
            hits(json!({"type": "ipv4-addr", "value": "203.0.0.0/16"})),
            [h(
                "Grid Operator",
                "203.0.0.0/16",
                "value",
                HitKind::Network
            )]
        );
        assert_eq!(
            hits(json!({"type": "ipv4-addr", "value": "198.51.100.64/26"})),
            [h(
                "Example Exchange",
                "198.51.100.64/26",
                "value",
                HitKind::Network
            )]
        );
        assert!(hits(json!({"type": "ipv4-addr", "value": "203.0.113.0/25"})).is_empty());
        assert_eq!(
            hits(json!({"type": "domain-name", "value": "www.GRID.example."})),
            [h(
                "Grid Operator",
                "www.GRID.example.",
                "value",
                HitKind::Domain
            )]
        );
        assert!(hits(json!({"type": "domain-name", "value": "notgrid.example"})).is_empty());
        assert_eq!(
            hits(
                json!({"type": "url", "value": "https://user@portal.exchange.example:8443/login"})
            )[0]
            .0,
            "Example Exchange"
        );
        assert_eq!(
            hits(json!({"type": "url", "value": "http://[2001:db8:100::5]/x"}))[0].3,
            HitKind::Address
        );
        assert_eq!(
            hits(json!({"type": "email-addr", "value": "ceo@mail.exchange.example"}))[0].3,
            HitKind::Domain
        );
        assert_eq!(
            hits(json!({"type": "autonomous-system", "number": 64500})),
            [h("Example Exchange", "64500", "number", HitKind::Asn)]
        );
        // A reference is not an observable; free text is not read.
        assert!(hits(json!({"type": "network-traffic", "dst_ref": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"})).is_empty());
        assert!(hits(json!({"type": "report", "description": "grid.example was hit"})).is_empty());
    }

    #[test]
    fn patterns_touch() {
        let ind = |p: &str| json!({"type": "indicator", "pattern_type": "stix", "pattern": p});
        assert_eq!(
            hits(ind(
                "[ipv4-addr:value = '198.51.100.1'] OR [domain-name:value IN ('a.example', 'x.grid.example')]"
            )),
            [
                h(
                    "Example Exchange",
                    "198.51.100.1",
                    "pattern[ipv4-addr:value]",
                    HitKind::Address
                ),
                h(
                    "Grid Operator",
                    "x.grid.example",
                    "pattern[domain-name:value]",
                    HitKind::Domain
                ),
            ]
        );
        assert_eq!(
            hits(ind(
                "[network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24' AND network-traffic:dst_port = 443]"
            )),
            [h(
                "Grid Operator",
                "203.0.113.0/24",
                "pattern[network-traffic:dst_ref.value]",
                HitKind::Network
            )]
        );
        assert_eq!(
            hits(ind("[email-message:from_ref.value = 'x@exchange.example']"))[0].0,
            "Example Exchange"
        );
        assert_eq!(
            hits(ind("[domain-name:value LIKE '%.grid.example']"))[0].0,
            "Grid Operator"
        );
        assert_eq!(
            hits(ind("[autonomous-system:number = 64500]"))[0].3,
            HitKind::Asn
        );
        assert_eq!(
            hits(ind(
                "[url:value = 'http://grid.example/a'] WITHIN 10 SECONDS"
            ))[0]
                .0,
            "Grid Operator"
        );
        // Negations, regexes and other pattern languages are not touches.
        assert!(hits(ind("[ipv4-addr:value != '198.51.100.1']")).is_empty());
        assert!(hits(ind("[ipv4-addr:value NOT = '198.51.100.1']")).is_empty());
        assert!(hits(ind("[domain-name:value MATCHES 'grid\\\\.example$']")).is_empty());
        assert!(hits(json!({"type": "indicator", "pattern_type": "snort", "pattern": "[ipv4-addr:value = '198.51.100.1']"})).is_empty());
        assert!(hits(ind("[ipv4-addr:value = '198.51.100.1'")).is_empty());
    }

    #[test]
    fn bundles_and_embedded_objects_touch() {
        let v = json!({"type": "bundle", "id": "bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "objects": [
            {"type": "observed-data", "objects": {"0": {"type": "ipv4-addr", "value": "203.0.113.200"}}},
            {"type": "domain-name", "value": "exchange.example"}
        ]});
        assert_eq!(
            hits(v),
            [
                h(
                    "Example Exchange",
                    "exchange.example",
                    "objects[1].value",
                    HitKind::Domain
                ),
                h(
                    "Grid Operator",
                    "203.0.113.200",
                    "objects[0].objects.0.value",
                    HitKind::Address
                ),
            ]
        );
    }

    #[test]
    fn csv_round_trips_and_names_bad_lines() {
        let text = "name,owner,sector,jurisdiction,networks,domains,asns\n\
                    Example Exchange,Example Exchange AG,finance,de,198.51.100.0/24; 2001:db8:100::/48,exchange.example,AS64500\n\
                    \"Grid, Operator\",,energy,FR,203.0.113.128/25,grid.example,\n";
        let fs = from_csv(text).unwrap();
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[0], exchange().normalized().unwrap());
        assert_eq!(fs[1].name, "Grid, Operator");
        assert_eq!(from_csv(&to_csv(&fs)).unwrap(), fs);
        let e =
            from_csv("name,jurisdiction,networks\nA,DE,10.0.0.0/8\nB,XX,nonsense\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("CSV line 3: facility \"B\": networks:"),
            "{e}"
        );
        let e = from_csv("name,country\nA,DE\n").unwrap_err();
        assert!(e.to_string().contains("unknown column \"country\""), "{e}");
        let e = from_csv("name,owner\nA,B\n").unwrap_err();
        assert!(e.to_string().contains("no \"jurisdiction\" column"), "{e}");
    }

    #[test]
    fn stix_round_trips() {
        let f = exchange().normalized().unwrap();
        let t = Timestamp::parse("2026-03-01T00:00:00Z").unwrap();
        let o = f.to_stix(crate::ACCORD_IDENTITY_ID, t, t);
        let issues = accord_stix::validate_object(&o);
        assert!(accord_stix::is_valid(&issues), "{issues:?}");
        assert_eq!(Facility::from_stix(&o).unwrap(), Some(f.clone()));
        assert_eq!(o.get("id").unwrap().as_str().unwrap(), f.stix_id());
        // An identity carrying the extension; sector from `sectors`.
        let mut m = o.into_map();
        m.insert("type".into(), "identity".into());
        m.insert("sectors".into(), json!(["financial-services"]));
        let ext = m["extensions"][FACILITY_EXTENSION_ID]
            .as_object_mut()
            .unwrap();
        ext.remove("sector");
        let got = Facility::from_stix(&Object::from_map(m.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(got.sector.as_deref(), Some("financial-services"));
        m["extensions"][FACILITY_EXTENSION_ID]["asns"] = json!([-1]);
        let e = Facility::from_stix(&Object::from_map(m)).unwrap_err();
        assert!(e.to_string().contains(".asns[0]: not an AS number"), "{e}");
        let plain = Object::parse(r#"{"type":"infrastructure","name":"x"}"#).unwrap();
        assert_eq!(Facility::from_stix(&plain).unwrap(), None);
    }

    #[test]
    fn the_pattern_prefilter_keeps_every_touch() {
        let r = reg();
        for p in [
            "[ipv4-addr:value = '198.51.100.1']",
            "[network-traffic:dst_ref.value ISSUBSET '203.0.0.0/16']",
            "[domain-name:value LIKE '%.grid.example']",
            "[url:value = 'http://[2001:db8:100::5]/x']",
            "[email-message:from_ref.value = 'x@exchange.example']",
            "[autonomous-system:number = 64500]",
            "[domain-name:value IN ('a.example', 'x.grid.example')]",
            "[url:value = 'https://it\\'s.grid.example/']",
        ] {
            assert!(r.may_touch_pattern(p), "{p}");
        }
        for p in [
            "[ipv4-addr:value = '198.51.101.1']",
            "[file:hashes.'SHA-256' = '082cfe8866fac3667a5f67e38e997e3fd7c07017388fa2af4f6d6a273422e220']",
            "[autonomous-system:number = 64501]",
            "[domain-name:value = 'notgrid.example']",
        ] {
            assert!(!r.may_touch_pattern(p), "{p}");
        }
        assert!(
            !Registry::new(Vec::new())
                .unwrap()
                .may_touch_pattern("[ipv4-addr:value = '198.51.100.1']")
        );
    }

    #[test]
    fn the_raw_prefilter_keeps_every_touch() {
        let r = reg();
        let touching = [
            json!({"type": "ipv4-addr", "value": "198.51.100.9"}),
            json!({"type": "ipv4-addr", "value": "198.51.0.0/16"}),
            json!({"type": "ipv6-addr", "value": "2001:DB8:100::1"}),
            json!({"type": "domain-name", "value": "WWW.Exchange.Example."}),
            json!({"type": "url", "value": "https://user@grid.example:8443/x"}),
            json!({"type": "url", "value": "http://198.51.100.1/"}),
            json!({"type": "email-addr", "value": "ops@grid.example"}),
            json!({"type": "domain-name", "value": "\ngrid.example"}),
            json!({"type": "ipv6-addr", "value": "\u{c}2001:db8:100::1"}),
            json!({"type": "autonomous-system", "number": 64500}),
            json!({"type": "indicator", "pattern_type": "stix",
                   "pattern": "[domain-name:value LIKE '%.grid.example']"}),
            json!({"type": "indicator", "pattern_type": "stix",
                   "pattern": "[network-traffic:dst_ref.value ISSUBSET '203.0.0.0/16']"}),
        ];
        for v in &touching {
            assert!(!r.touches_value(v).is_empty(), "{v}");
            let raw = serde_json::to_string(v).unwrap();
            assert!(r.may_touch_raw(&raw), "{raw}");
        }
        // What the text could hide goes to the exact check.
        for raw in [
            r#"{"type":"domain-name","value":"grid\u002eexample"}"#,
            r#"{"type":"url","value":"http://grid%2Eexample/"}"#,
            r#"{"type":"url","value":"http:\/\/grid.example\/"}"#,
        ] {
            assert!(r.may_touch_raw(raw), "{raw}");
        }
        for v in [
            json!({"type": "ipv4-addr", "value": "198.51.101.9"}),
            json!({"type": "domain-name", "value": "notgrid.example"}),
            json!({"type": "indicator", "pattern_type": "stix",
                   "pattern": "[file:hashes.'SHA-256' = '082cfe8866fac3667a5f67e38e997e3fd7c07017388fa2af4f6d6a273422e220']",
                   "created": "2026-12-07T03:41:45.123Z",
                   "description": "Seen at 10:41:45 by a.b@example.org"}),
        ] {
            let raw = serde_json::to_string(&v).unwrap();
            assert!(!r.may_touch_raw(&raw), "{raw}");
        }
        assert!(
            !Registry::new(Vec::new())
                .unwrap()
                .may_touch_raw(r#"{"type":"ipv4-addr","value":"198.51.100.9"}"#)
        );
    }

    #[test]
    fn jurisdictions_are_assigned_codes() {
        assert!(is_assigned_jurisdiction("de"));
        assert!(is_assigned_jurisdiction("EU"));
        assert!(is_assigned_jurisdiction("ZW"));
        assert!(!is_assigned_jurisdiction("XX"));
        assert!(!is_assigned_jurisdiction("UK"));
        assert!(!is_assigned_jurisdiction("DEU"));
    }

    #[test]
    fn an_empty_registry_touches_nothing() {
        let r = Registry::new(Vec::new()).unwrap();
        assert!(r.is_empty());
        assert!(
            r.touches_value(&json!({"type": "ipv4-addr", "value": "10.0.0.1"}))
                .is_empty()
        );
        assert_eq!(
            reg().facilities_of_ip("203.0.113.129".parse().unwrap())[0].name,
            "Grid Operator"
        );
        assert_eq!(
            reg().facilities_of_domain("a.exchange.example")[0].name,
            "Example Exchange"
        );
    }
}
