//! One MISP event → STIX 2.1 objects.

use crate::json::{Obj, ext_ref};
use crate::model::{Attribute, Event, Galaxy, Object, Org, Tag};
use crate::values::{self, quote, stix_time};
use crate::{EventConversion, Limits, MISP_TYPES, Problem, ProblemKind};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
// Keyed by uuids and ids of the event: foldhash (randomly seeded per
// process) instead of SipHash, which was ~5% of the conversion.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

/// Resolves an ATT&CK technique id (`T1059`, `T1059.001`) to the STIX id of
/// the `attack-pattern` an imported ATT&CK bundle holds for it.
pub trait AttackLookup {
    /// The `attack-pattern--…` id of `external_id`, if one was imported.
    fn attack_pattern(&self, external_id: &str) -> Option<String>;
}

/// No ATT&CK bundle: techniques stay `external_references` only.
pub struct NoAttack;

impl AttackLookup for NoAttack {
    fn attack_pattern(&self, _: &str) -> Option<String> {
        None
    }
}

impl<F: Fn(&str) -> Option<String>> AttackLookup for F {
    fn attack_pattern(&self, external_id: &str) -> Option<String> {
        self(external_id)
    }
}

/// `created`/`modified` of the organisation identities, which MISP gives no
/// time: a fixed instant, so every event names the same identity version.
const IDENTITY_TIME: &str = "2000-01-01T00:00:00.000Z";

/// Namespace of the UUIDv5 ids this import derives (relationships without
/// a MISP uuid): UUIDv5(SCO namespace, "accord-misp").
fn ns() -> uuid::Uuid {
    uuid::Uuid::new_v5(&accord_stix::sco_id::SCO_NAMESPACE, b"accord-misp")
}

const TLP_ORDER: &[(&str, &str)] = &[
    (
        "clear",
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    ),
    (
        "green",
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    ),
    (
        "amber",
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    ),
    (
        "amber+strict",
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    ),
    (
        "red",
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    ),
];

/// The TLP 2.0 marking-definition id of a MISP TLP tag (`tlp:white`,
/// `tlp:clear`, `tlp:green`, `tlp:amber`, `tlp:amber+strict`, `tlp:red`;
/// any case), and its rank (higher is more restricted).
pub fn tlp_marking(tag: &str) -> Option<(usize, &'static str)> {
    let level = tag
        .get(..4)?
        .eq_ignore_ascii_case("tlp:")
        .then(|| &tag[4..])?;
    let level = level.trim().to_ascii_lowercase();
    let level = if level == "white" {
        "clear".to_owned()
    } else {
        level
    };
    TLP_ORDER
        .iter()
        .position(|(l, _)| *l == level)
        .map(|i| (i, TLP_ORDER[i].1))
}

/// The ATT&CK technique id at the end of a galaxy value or tag
/// (`… - T1059`, `…="Command-Line Interface - T1059.001"`), or the whole of
/// `s` when it is one.
pub fn technique_id(s: &str) -> Option<String> {
    let s = s.trim().trim_end_matches('"');
    let tail = s.rsplit([' ', '"', '=']).next()?;
    is_technique(tail).then(|| tail.to_owned())
}

fn is_technique(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 5
        && b[0] == b'T'
        && b[1..5].iter().all(u8::is_ascii_digit)
        && (b.len() == 5
            || (b.len() == 9 && b[5] == b'.' && b[6..9].iter().all(u8::is_ascii_digit)))
}

/// `CVE-YYYY-NNNN` (four or more digits), the form STIX §4.18 requires of a
/// `cve` external reference.
fn is_cve(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    match rest.split_once('-') {
        Some((y, n)) => {
            y.len() == 4
                && y.bytes().all(|b| b.is_ascii_digit())
                && n.len() >= 4
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn attack_url(t: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}",
        t.replace('.', "/")
    )
}

/// What tags and galaxies say about one element.
#[derive(Default, Clone)]
struct Tagging {
    tlp: Option<(usize, &'static str)>,
    labels: Vec<String>,
    techniques: Vec<String>,
}

impl Tagging {
    fn merge_tlp(&mut self, t: (usize, &'static str)) {
        if self.tlp.is_none_or(|c| t.0 > c.0) {
            self.tlp = Some(t);
        }
    }
    fn add_technique(&mut self, t: String) {
        if !self.techniques.contains(&t) {
            self.techniques.push(t);
        }
    }
}

/// An observable: pattern comparisons and cyber-observables.
#[derive(Default)]
struct Obs {
    cmp: Vec<String>,
    scos: Vec<Sco>,
}

/// A cyber-observable: its id and its properties (`type`, `spec_version`
/// and `id` first).
struct Sco {
    id: String,
    map: Map<String, Value>,
}

impl Sco {
    /// Its JSON text, marked with `marking` when given.
    fn text(mut self, marking: Option<&str>) -> String {
        if let Some(mk) = marking {
            self.map
                .insert("object_marking_refs".into(), Value::from(vec![mk]));
        }
        Value::Object(self.map).to_string()
    }
}

impl Obs {
    /// Adds a cyber-observable; returns its UUIDv5 id.
    fn sco(&mut self, ty: &str, props: Map<String, Value>) -> String {
        let mut m = Map::new();
        m.insert("type".into(), Value::String(ty.into()));
        m.insert("spec_version".into(), Value::String("2.1".into()));
        m.insert("id".into(), Value::Null);
        m.extend(props);
        let o = accord_stix::Object::from_map(m);
        let id = accord_stix::deterministic_sco_id(&o);
        let mut m = o.into_map();
        let id = id.unwrap_or_else(|| {
            // No ID contributing property present (cannot happen for
            // the types built here): a v5 id over the JSON text.
            let text = Value::Object(m.clone()).to_string();
            format!("{ty}--{}", uuid::Uuid::new_v5(&ns(), text.as_bytes()))
        });
        m.insert("id".into(), Value::String(id.clone()));
        self.scos.push(Sco {
            id: id.clone(),
            map: m,
        });
        id
    }
}

fn props(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn ip_sco(obs: &mut Obs, ip: std::net::IpAddr, text: &str) -> String {
    let ty = if ip.is_ipv4() {
        "ipv4-addr"
    } else {
        "ipv6-addr"
    };
    obs.sco(ty, props(vec![("value", json!(text))]))
}

fn ip_type(ip: std::net::IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "ipv4-addr"
    } else {
        "ipv6-addr"
    }
}

/// How an attribute converts.
enum Kind {
    /// An observable (indicator when IDS-flagged, else observed-data).
    Observable(Obs),
    /// A pattern with no cyber-observable (an indicator when IDS-flagged,
    /// else a note).
    PatternOnly(Obs),
    /// A rule in another pattern language: always an indicator.
    Rule(&'static str),
    /// A CVE or other vulnerability name.
    Vulnerability,
    /// No observable: a note on the report.
    Note,
}

fn split2<'a>(ty: &str, v: &'a str) -> Result<(&'a str, &'a str), String> {
    v.split_once('|')
        .ok_or_else(|| format!("a {ty} value is two parts joined by `|`"))
}

/// The conversion of a standalone attribute of type `ty` with value `v`.
fn attribute_kind(ty: &str, v: &str) -> Result<Kind, String> {
    let mut o = Obs::default();
    match ty {
        "ip-src" | "ip-dst" => {
            let ip = values::ip(v)?;
            o.cmp.push(format!("{}:value = {}", ip_type(ip), quote(v)));
            ip_sco(&mut o, ip, v);
        }
        "ip-src|port" | "ip-dst|port" => {
            let (a, p) = split2(ty, v)?;
            let ip = values::ip(a)?;
            let port = values::port(p)?;
            let dir = if ty.starts_with("ip-src") {
                "src"
            } else {
                "dst"
            };
            o.cmp.push(format!(
                "network-traffic:{dir}_ref.type = '{}' AND network-traffic:{dir}_ref.value = {} AND network-traffic:{dir}_port = {port}",
                ip_type(ip),
                quote(a)
            ));
            let ip_id = ip_sco(&mut o, ip, a);
            o.sco(
                "network-traffic",
                props(vec![
                    (&format!("{dir}_ref"), json!(ip_id)),
                    (&format!("{dir}_port"), json!(port)),
                    ("protocols", json!(["tcp"])),
                ]),
            );
        }
        "domain" | "hostname" => {
            values::domain(v)?;
            o.cmp.push(format!("domain-name:value = {}", quote(v)));
            o.sco("domain-name", props(vec![("value", json!(v))]));
        }
        "domain|ip" => {
            let (d, a) = split2(ty, v)?;
            values::domain(d)?;
            let ip = values::ip(a)?;
            o.cmp.push(format!(
                "domain-name:value = {} AND domain-name:resolves_to_refs[*].value = {}",
                quote(d),
                quote(a)
            ));
            let ip_id = ip_sco(&mut o, ip, a);
            o.sco(
                "domain-name",
                props(vec![
                    ("value", json!(d)),
                    ("resolves_to_refs", json!([ip_id])),
                ]),
            );
        }
        "hostname|port" => {
            let (h, p) = split2(ty, v)?;
            values::domain(h)?;
            let port = values::port(p)?;
            o.cmp.push(format!(
                "network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = {} AND network-traffic:dst_port = {port}",
                quote(h)
            ));
            let d = o.sco("domain-name", props(vec![("value", json!(h))]));
            o.sco(
                "network-traffic",
                props(vec![
                    ("dst_ref", json!(d)),
                    ("dst_port", json!(port)),
                    ("protocols", json!(["tcp"])),
                ]),
            );
        }
        "url" | "uri" | "link" => {
            values::url(v)?;
            o.cmp.push(format!("url:value = {}", quote(v)));
            o.sco("url", props(vec![("value", json!(v))]));
        }
        "email"
        | "email-src"
        | "email-dst"
        | "email-reply-to"
        | "dns-soa-email"
        | "whois-registrant-email"
        | "target-email" => {
            values::email(v)?;
            o.cmp.push(format!("email-addr:value = {}", quote(v)));
            o.sco("email-addr", props(vec![("value", json!(v))]));
        }
        "email-subject" => {
            o.cmp.push(format!("email-message:subject = {}", quote(v)));
            o.sco(
                "email-message",
                props(vec![("is_multipart", json!(false)), ("subject", json!(v))]),
            );
        }
        "email-attachment" => {
            o.cmp.push(format!(
                "email-message:body_multipart[*].body_raw_ref.name = {}",
                quote(v)
            ));
            o.sco("file", props(vec![("name", json!(v))]));
        }
        "filename" => {
            o.cmp.push(format!("file:name = {}", quote(v)));
            o.sco("file", props(vec![("name", json!(v))]));
        }
        "mutex" => {
            o.cmp.push(format!("mutex:name = {}", quote(v)));
            o.sco("mutex", props(vec![("name", json!(v))]));
        }
        "regkey" => {
            let k = &values::regkey(v);
            let k = k.as_str();
            o.cmp
                .push(format!("windows-registry-key:key = {}", quote(k)));
            o.sco("windows-registry-key", props(vec![("key", json!(k))]));
        }
        "regkey|value" => {
            let (k, d) = split2(ty, v)?;
            let k = values::regkey(k);
            let (k, d) = (k.as_str(), d.trim());
            o.cmp.push(format!(
                "windows-registry-key:key = {} AND windows-registry-key:values[*].data = {}",
                quote(k),
                quote(d)
            ));
            o.sco(
                "windows-registry-key",
                props(vec![("key", json!(k)), ("values", json!([{"data": d}]))]),
            );
        }
        "AS" => {
            let n = values::asn(v)?;
            o.cmp.push(format!("autonomous-system:number = {n}"));
            o.sco("autonomous-system", props(vec![("number", json!(n))]));
        }
        "mac-address" => {
            let m = values::mac(v)?;
            o.cmp.push(format!("mac-addr:value = {}", quote(&m)));
            o.sco("mac-addr", props(vec![("value", json!(m))]));
        }
        "port" => {
            // A network-traffic needs an address: no observable, only a
            // pattern (a note when not IDS-flagged).
            let p = values::port(v)?;
            o.cmp.push(format!("network-traffic:dst_port = {p}"));
            return Ok(Kind::PatternOnly(o));
        }
        "x509-fingerprint-md5" | "x509-fingerprint-sha1" | "x509-fingerprint-sha256" => {
            let h = &ty["x509-fingerprint-".len()..];
            values::hash(h, v)?;
            let (name, _) = values::hash_kind(h).unwrap_or(("MD5", None));
            o.cmp
                .push(format!("x509-certificate:hashes.'{name}' = {}", quote(v)));
            o.sco(
                "x509-certificate",
                props(vec![("hashes", json!({ name: v }))]),
            );
        }
        "imphash" => {
            // A file needs a name or hashes: pattern only.
            values::hash("md5", v)?;
            o.cmp.push(format!(
                "file:extensions.'windows-pebinary-ext'.imphash = {}",
                quote(v)
            ));
            return Ok(Kind::PatternOnly(o));
        }
        "snort" => return Ok(Kind::Rule("snort")),
        "suricata" => return Ok(Kind::Rule("suricata")),
        "yara" => return Ok(Kind::Rule("yara")),
        "sigma" => return Ok(Kind::Rule("sigma")),
        "vulnerability" => return Ok(Kind::Vulnerability),
        _ if values::hash_kind(ty).is_some() => {
            values::hash(ty, v)?;
            let (name, _) = values::hash_kind(ty).unwrap_or(("MD5", None));
            o.cmp.push(format!("file:hashes.'{name}' = {}", quote(v)));
            o.sco("file", props(vec![("hashes", json!({ name: v }))]));
        }
        _ if ty.starts_with("filename|") && values::hash_kind(&ty[9..]).is_some() => {
            let h = &ty[9..];
            let (f, x) = split2(ty, v)?;
            values::hash(h, x)?;
            let (name, _) = values::hash_kind(h).unwrap_or(("MD5", None));
            o.cmp.push(format!(
                "file:name = {} AND file:hashes.'{name}' = {}",
                quote(f),
                quote(x)
            ));
            o.sco(
                "file",
                props(vec![("name", json!(f)), ("hashes", json!({ name: x }))]),
            );
        }
        _ => return Ok(Kind::Note),
    }
    Ok(Kind::Observable(o))
}

/// An attribute's fields, checked.
struct Attr<'a> {
    raw: &'a Attribute<'a>,
    uuid: String,
    ty: &'a str,
    value: Cow<'a, str>,
    to_ids: bool,
    ts: i64,
    relation: Option<&'a str>,
}

struct Ctx<'l> {
    limits: &'l Limits,
    attack: &'l dyn AttackLookup,
    out: EventConversion,
    event_ts: Option<i64>,
    floor: Option<i64>,
    creator: Option<String>,
    event_tags: Tagging,
    /// MISP uuid → the STIX id it became.
    ids: HashMap<String, String>,
    /// Ids emitted (each object once per event).
    emitted: HashSet<String>,
    /// The report's object_refs.
    refs: Vec<String>,
    /// Attribute uuids read (a repeated one is reported).
    seen: HashSet<String>,
    /// Attributes counted towards the limit.
    budget: usize,
    over_budget: usize,
}

/// Converts one MISP event (the object inside `{"Event": …}`).
///
/// Never fails as a whole: each problem is in
/// [`EventConversion::problems`] with the event and attribute uuid, and the
/// rest of the event is converted. An event with no valid uuid converts to
/// nothing (one problem).
pub fn convert_event(
    event: &Event<'_>,
    limits: &Limits,
    attack: &dyn AttackLookup,
) -> EventConversion {
    let raw_uuid = event.uuid.as_str().unwrap_or("");
    let mut c = Ctx {
        limits,
        attack,
        out: EventConversion {
            uuid: cut(raw_uuid, 80),
            ..Default::default()
        },
        event_ts: None,
        floor: None,
        creator: None,
        event_tags: Tagging::default(),
        ids: HashMap::new(),
        emitted: HashSet::new(),
        refs: Vec::new(),
        seen: HashSet::new(),
        budget: limits.max_attributes,
        over_budget: 0,
    };
    let Some(ev_uuid) = values::uuid(raw_uuid) else {
        c.problem(
            None,
            if raw_uuid.is_empty() {
                ProblemKind::Malformed("the event has no `uuid`".into())
            } else {
                ProblemKind::BadUuid(cut(raw_uuid, 80))
            },
        );
        return c.out;
    };
    c.out.uuid = ev_uuid.clone();
    c.event_ts = event.timestamp.epoch();
    c.floor = event.date.as_str().and_then(values::date);
    if c.event_ts.is_none() {
        c.event_ts = c.floor;
    }
    let Some(event_ts) = c.event_ts else {
        c.problem(
            None,
            ProblemKind::Malformed("the event has neither `timestamp` nor `date`".into()),
        );
        return c.out;
    };
    c.creator = c.identity(event.orgc.as_ref());
    c.event_tags = c.tagging(&event.tags, &event.galaxies, None);

    let attrs = &event.attributes;
    let objects = &event.objects;
    if objects.len() > limits.max_objects {
        c.problem(
            None,
            ProblemKind::Limit(format!(
                "{} objects, more than the limit of {}: the rest skipped",
                objects.len(),
                limits.max_objects
            )),
        );
    }
    for a in attrs {
        if let Some(id) = c.standalone(a) {
            c.refs.push(id);
        }
    }
    for o in objects.iter().take(limits.max_objects) {
        if let Some(id) = c.object(o) {
            c.refs.push(id);
        }
    }
    if c.over_budget > 0 {
        let n = c.over_budget;
        c.problem(
            None,
            ProblemKind::Limit(format!(
                "{n} attributes beyond the limit of {} per event skipped",
                limits.max_attributes
            )),
        );
    }
    // References between objects, once every element has its STIX id.
    for o in objects.iter().take(limits.max_objects) {
        c.references(o, event_ts);
    }
    // The event's ATT&CK techniques: resolved ones are referred to.
    let mut ext = String::from("[");
    ext_ref(&mut ext, "misp", &ev_uuid, None);
    for t in c.event_tags.techniques.clone() {
        ext.push(',');
        ext_ref(&mut ext, "mitre-attack", &t, Some(&attack_url(&t)));
        if let Some(ap) = c.attack.attack_pattern(&t) {
            c.refs.push(ap);
        }
    }
    ext.push(']');
    if c.refs.is_empty() {
        if let Some(i) = c.creator.clone() {
            c.refs.push(i);
        } else {
            c.problem(
                None,
                ProblemKind::Malformed("the event holds nothing to convert".into()),
            );
            return c.out;
        }
    }
    let ts = stix_time(event_ts);
    let published = event
        .publish_timestamp
        .epoch()
        .filter(|&p| p > 0)
        .unwrap_or(event_ts);
    let name = event
        .info
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(|s| c.text(s, None, "info"))
        .unwrap_or_else(|| format!("MISP event {ev_uuid}"));
    let created = c.created(event_ts);
    let published = stix_time(published);
    let mut refs = Vec::with_capacity(c.refs.len());
    let mut seen = HashSet::new();
    for r in std::mem::take(&mut c.refs) {
        if seen.insert(r.clone()) {
            refs.push(r);
        }
    }
    let tags = c.event_tags.clone();
    let report = |id: &str, name: &str, refs: &[String]| {
        let mut m = Obj::with_capacity(512 + refs.len() * 60);
        m.str("type", "report")
            .str("spec_version", "2.1")
            .str("id", id);
        if let Some(cr) = &c.creator {
            m.str("created_by_ref", cr);
        }
        m.str("created", &created)
            .str("modified", &ts)
            .str("name", name)
            .raw("report_types", "[\"threat-report\"]")
            .str("published", &published);
        if !tags.labels.is_empty() {
            m.strs("labels", &tags.labels);
        }
        m.raw("external_references", &ext);
        if let Some((_, mk)) = tags.tlp {
            m.strs("object_marking_refs", [mk]);
        }
        m.strs("object_refs", refs);
        m.end()
    };
    // Parts beyond the first: the same report, another id and name.
    let per = limits.max_report_refs.max(1);
    let parts = refs.len().div_ceil(per);
    let mut chunks = refs.chunks(per);
    let first = chunks.next().unwrap_or(&[]);
    let mut texts = Vec::with_capacity(parts);
    for (i, chunk) in chunks.enumerate() {
        let n = i + 2;
        let id = uuid::Uuid::new_v5(&ns(), format!("{ev_uuid} part {n}").as_bytes());
        texts.push(report(
            &format!("report--{id}"),
            &format!("{name} (part {n} of {parts})"),
            chunk,
        ));
    }
    let first_name = if parts > 1 {
        format!("{name} (part 1 of {parts})")
    } else {
        name.clone()
    };
    texts.push(report(&format!("report--{ev_uuid}"), &first_name, first));
    c.out.objects.extend(texts);
    c.out
}

/// `[{"source_name":"misp","external_id":uuid}]`.
fn misp_ext(uuid: &str) -> String {
    let mut ext = String::with_capacity(uuid.len() + 48);
    ext.push('[');
    ext_ref(&mut ext, "misp", uuid, None);
    ext.push(']');
    ext
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A MISP relationship type as a STIX one (lower case, `-` for anything
/// other than letters and digits).
fn relationship_type(s: &str) -> String {
    let t: String = s
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let t = t.trim_matches('-').to_owned();
    if t.is_empty() { "related-to".into() } else { t }
}

impl Ctx<'_> {
    fn problem(&mut self, attribute: Option<&str>, kind: ProblemKind) {
        self.out.problems.push(Problem {
            event: self.out.uuid.clone(),
            attribute: attribute.map(|a| cut(a, 80)),
            kind,
        });
    }

    /// `s` cut to the text limit (a problem says so when it was cut).
    fn text(&mut self, s: &str, attr: Option<&str>, what: &str) -> String {
        if s.len() <= self.limits.max_text_bytes {
            return s.to_owned();
        }
        let max = self.limits.max_text_bytes;
        self.problem(
            attr,
            ProblemKind::Limit(format!(
                "`{what}` of {} bytes cut to the limit of {max}",
                s.len()
            )),
        );
        cut(s, max)
    }

    fn created(&self, ts: i64) -> String {
        match self.floor {
            Some(f) if f <= ts => stix_time(f),
            _ => stix_time(ts),
        }
    }

    /// Adds the object `text` of id `id` unless an object of that id was
    /// added already.
    fn emit(&mut self, id: &str, text: String) -> bool {
        if self.emitted.insert(id.to_owned()) {
            self.out.objects.push(text);
            true
        } else {
            false
        }
    }

    /// The identity of a MISP organisation (`Orgc`, a sighting's
    /// `Organisation`), emitted once; its id.
    fn identity(&mut self, org: Option<&Org<'_>>) -> Option<String> {
        let org = org?;
        let uuid = values::uuid(org.uuid.as_str()?)?;
        let name = org.name.as_str().filter(|n| !n.trim().is_empty())?;
        let name = self.text(name, None, "organisation name");
        let id = format!("identity--{uuid}");
        if self.emitted.contains(&id) {
            return Some(id);
        }
        let mut m = Obj::with_capacity(320 + name.len());
        m.str("type", "identity")
            .str("spec_version", "2.1")
            .str("id", &id)
            .str("created", IDENTITY_TIME)
            .str("modified", IDENTITY_TIME)
            .str("name", &name)
            .str("identity_class", "organization");
        m.raw("external_references", &misp_ext(&uuid));
        self.emit(&id, m.end());
        Some(id)
    }

    /// Tags and galaxies of an event, attribute or object.
    fn tagging(
        &mut self,
        tags: &[Tag<'_>],
        galaxies: &[Galaxy<'_>],
        attr: Option<&str>,
    ) -> Tagging {
        let mut t = Tagging::default();
        if tags.len() > self.limits.max_tags {
            self.problem(
                attr,
                ProblemKind::Limit(format!(
                    "{} tags, more than the limit of {}: the rest skipped",
                    tags.len(),
                    self.limits.max_tags
                )),
            );
        }
        for tag in tags.iter().take(self.limits.max_tags) {
            let Some(name) = tag.name.as_str() else {
                continue;
            };
            if let Some(m) = tlp_marking(name) {
                t.merge_tlp(m);
                continue;
            }
            if name.starts_with("misp-galaxy:")
                && name.contains("attack-pattern")
                && let Some(id) = technique_id(name)
            {
                t.add_technique(id);
                continue;
            }
            let label = self.text(name, attr, "tag");
            if !label.trim().is_empty() && !t.labels.contains(&label) {
                t.labels.push(label);
            }
        }
        for g in galaxies.iter().take(self.limits.max_tags) {
            for cl in g.clusters.iter().take(self.limits.max_tags) {
                let mut found = false;
                let exts: Vec<&str> = cl
                    .meta
                    .as_ref()
                    .map(|m| m.external_id.strs())
                    .unwrap_or_default();
                for e in exts {
                    if is_technique(e.trim()) {
                        t.add_technique(e.trim().to_owned());
                        found = true;
                    }
                }
                if !found {
                    for key in [&cl.tag_name, &cl.value] {
                        if let Some(id) = key.as_str().and_then(technique_id) {
                            t.add_technique(id);
                            found = true;
                            break;
                        }
                    }
                }
                if !found && let Some(tn) = cl.tag_name.as_str() {
                    let label = self.text(tn, attr, "galaxy tag");
                    if !t.labels.contains(&label) {
                        t.labels.push(label);
                    }
                }
            }
        }
        t
    }

    /// Reads and checks an attribute's fields; `None` (with a problem) when
    /// it is to be skipped.
    fn read_attr<'a>(&mut self, a: &'a Attribute<'a>) -> Option<Attr<'a>> {
        if a.deleted.truthy() {
            return None;
        }
        if self.budget == 0 {
            self.over_budget += 1;
            return None;
        }
        self.budget -= 1;
        self.out.attributes += 1;
        let raw_uuid = a.uuid.as_str().unwrap_or("");
        let Some(uuid) = values::uuid(raw_uuid) else {
            let shown = if raw_uuid.is_empty() {
                "(none)"
            } else {
                raw_uuid
            };
            self.problem(Some(shown), ProblemKind::BadUuid(cut(raw_uuid, 80)));
            return None;
        };
        if !self.seen.insert(uuid.clone()) {
            self.problem(
                Some(&uuid),
                ProblemKind::Malformed("a second attribute with this uuid: skipped".into()),
            );
            return None;
        }
        let Some(ty) = a.ty.as_str() else {
            self.problem(
                Some(&uuid),
                ProblemKind::Malformed("no `type` string".into()),
            );
            return None;
        };
        if MISP_TYPES.binary_search(&ty).is_err() {
            self.problem(Some(&uuid), ProblemKind::UnknownType(cut(ty, 80)));
            return None;
        }
        let value = match a.value.value_text() {
            Some(v) => v,
            None => {
                self.problem(
                    Some(&uuid),
                    ProblemKind::Malformed("no `value` string".into()),
                );
                return None;
            }
        };
        if value.len() > self.limits.max_value_bytes {
            self.problem(
                Some(&uuid),
                ProblemKind::Limit(format!(
                    "value of {} bytes, more than the limit of {}",
                    value.len(),
                    self.limits.max_value_bytes
                )),
            );
            return None;
        }
        if value.trim().is_empty() {
            self.problem(
                Some(&uuid),
                ProblemKind::BadValue {
                    ty: ty.into(),
                    value: String::new(),
                    why: "empty".into(),
                },
            );
            return None;
        }
        let ts = a.timestamp.epoch().or(self.event_ts).unwrap_or(0);
        Some(Attr {
            raw: a,
            uuid,
            ty,
            value,
            to_ids: a.to_ids.truthy(),
            ts,
            relation: a.object_relation.as_str(),
        })
    }

    fn bad_value(&mut self, a: &Attr<'_>, why: String) {
        self.problem(
            Some(&a.uuid),
            ProblemKind::BadValue {
                ty: a.ty.into(),
                value: cut(&a.value, 80),
                why,
            },
        );
    }

    /// The properties every SDO made from a MISP element has, in this
    /// order; `more_ext` (a source name and id) ends its
    /// `external_references`.
    fn common(
        &mut self,
        ty: &str,
        uuid: &str,
        ts: i64,
        labels: Vec<String>,
        tags: &Tagging,
        more_ext: Option<(&str, &str)>,
    ) -> Obj {
        let mut m = Obj::with_capacity(700);
        m.str("type", ty).str("spec_version", "2.1");
        let id = m.key("id");
        id.push('"');
        id.push_str(ty);
        id.push_str("--");
        id.push_str(uuid);
        id.push('"');
        if let Some(cr) = &self.creator {
            m.str("created_by_ref", cr);
        }
        m.str("created", &self.created(ts))
            .str("modified", &stix_time(ts));
        let mut all = labels;
        for l in &tags.labels {
            if !all.contains(l) {
                all.push(l.clone());
            }
        }
        if !all.is_empty() {
            m.strs("labels", &all);
        }
        let ext = m.key("external_references");
        ext.push('[');
        ext_ref(ext, "misp", uuid, None);
        for t in &tags.techniques {
            ext.push(',');
            ext_ref(ext, "mitre-attack", t, Some(&attack_url(t)));
        }
        if let Some((source, id)) = more_ext {
            ext.push(',');
            ext_ref(ext, source, id, None);
        }
        ext.push(']');
        // The element's own TLP wins; else the event's.
        if let Some((_, mk)) = tags.tlp.or(self.event_tags.tlp) {
            m.strs("object_marking_refs", [mk]);
        }
        m
    }

    /// Emits an indicator or observed-data for an observable; its id.
    #[allow(clippy::too_many_arguments)]
    fn observable(
        &mut self,
        uuid: &str,
        ts: i64,
        indicator: bool,
        obs: Obs,
        labels: Vec<String>,
        tags: &Tagging,
        description: Option<String>,
    ) -> String {
        let marking = tags.tlp.or(self.event_tags.tlp);
        if indicator {
            let id = format!("indicator--{uuid}");
            let mut m = self.common("indicator", uuid, ts, labels, tags, None);
            if let Some(d) = description {
                m.str("description", &d);
            }
            let mut pattern = String::with_capacity(128);
            pattern.push('[');
            for (i, c) in obs.cmp.iter().enumerate() {
                if i > 0 {
                    pattern.push_str(" AND ");
                }
                pattern.push_str(c);
            }
            pattern.push(']');
            m.str("pattern", &pattern)
                .str("pattern_type", "stix")
                .str("pattern_version", "2.1")
                .str("valid_from", &stix_time(ts));
            self.techniques_of(&id, ts, tags);
            self.emit(&id, m.end());
            id
        } else {
            let id = format!("observed-data--{uuid}");
            let mut m = self.common("observed-data", uuid, ts, labels, tags, None);
            let t = stix_time(ts);
            m.str("first_observed", &t)
                .str("last_observed", &t)
                .int("number_observed", 1)
                .strs("object_refs", obs.scos.iter().map(|s| s.id.as_str()));
            for s in obs.scos {
                let sid = s.id.clone();
                if self.emitted.contains(&sid) {
                    continue;
                }
                if self.emit(&sid, s.text(marking.map(|m| m.1))) {
                    self.refs.push(sid);
                }
            }
            self.emit(&id, m.end());
            id
        }
    }

    /// Relationships `indicates` from an indicator to the imported
    /// attack-patterns of its techniques.
    fn techniques_of(&mut self, id: &str, ts: i64, tags: &Tagging) {
        for t in &tags.techniques {
            if let Some(ap) = self.attack.attack_pattern(t) {
                self.relationship(None, id, "indicates", &ap, ts);
            }
        }
    }

    fn relationship(&mut self, uuid: Option<&str>, src: &str, ty: &str, dst: &str, ts: i64) {
        let id = match uuid {
            Some(u) => format!("relationship--{u}"),
            None => format!(
                "relationship--{}",
                uuid::Uuid::new_v5(&ns(), format!("{src} {ty} {dst}").as_bytes())
            ),
        };
        let mut m = Obj::with_capacity(512);
        m.str("type", "relationship")
            .str("spec_version", "2.1")
            .str("id", &id);
        if let Some(cr) = &self.creator {
            m.str("created_by_ref", cr);
        }
        m.str("created", &self.created(ts))
            .str("modified", &stix_time(ts))
            .str("relationship_type", ty)
            .str("source_ref", src)
            .str("target_ref", dst);
        if let Some(u) = uuid {
            m.raw("external_references", &misp_ext(u));
        }
        if let Some((_, mk)) = self.event_tags.tlp {
            m.strs("object_marking_refs", [mk]);
        }
        if self.emit(&id, m.end()) {
            self.refs.push(id);
        }
    }

    /// A standalone attribute (of the event, or of an object converted
    /// attribute by attribute); the id of what it became.
    fn standalone(&mut self, raw: &Attribute<'_>) -> Option<String> {
        let a = self.read_attr(raw)?;
        let kind = match attribute_kind(a.ty, &a.value) {
            Ok(k) => k,
            Err(why) => {
                self.bad_value(&a, why);
                return None;
            }
        };
        let tags = self.tagging(&a.raw.tags, &a.raw.galaxies, Some(&a.uuid));
        let mut labels = vec![format!("misp:type=\"{}\"", a.ty)];
        if let Some(cat) = a.raw.category.as_str() {
            labels.push(format!("misp:category=\"{}\"", cut(cat, 200)));
        }
        if let Some(rel) = a.relation {
            labels.push(format!("misp:object-relation=\"{}\"", cut(rel, 200)));
        }
        let comment = a
            .raw
            .comment
            .as_str()
            .filter(|c| !c.trim().is_empty())
            .map(|c| c.to_owned());
        let comment = comment.map(|c| self.text(&c, Some(&a.uuid), "comment"));
        let kind = match kind {
            Kind::PatternOnly(obs) if a.to_ids => Kind::Observable(obs),
            Kind::PatternOnly(_) => Kind::Note,
            k => k,
        };
        let id = match kind {
            Kind::PatternOnly(_) => unreachable!("mapped above"),
            Kind::Observable(obs) => {
                self.observable(&a.uuid, a.ts, a.to_ids, obs, labels, &tags, comment)
            }
            Kind::Rule(pt) => {
                let id = format!("indicator--{}", a.uuid);
                let mut m = self.common("indicator", &a.uuid, a.ts, labels, &tags, None);
                if let Some(d) = comment {
                    m.str("description", &d);
                }
                m.str("pattern", &a.value)
                    .str("pattern_type", pt)
                    .str("valid_from", &stix_time(a.ts));
                self.techniques_of(&id, a.ts, &tags);
                self.emit(&id, m.end());
                id
            }
            Kind::Vulnerability => {
                let id = format!("vulnerability--{}", a.uuid);
                let upper = a.value.trim().to_ascii_uppercase();
                let cve = is_cve(&upper).then_some(("cve", upper.as_str()));
                let mut m = self.common("vulnerability", &a.uuid, a.ts, labels, &tags, cve);
                let name = self.text(&a.value, Some(&a.uuid), "value");
                m.str("name", &name);
                if let Some(d) = comment {
                    m.str("description", &d);
                }
                self.emit(&id, m.end());
                id
            }
            Kind::Note => {
                let id = format!("note--{}", a.uuid);
                let mut m = self.common("note", &a.uuid, a.ts, labels, &tags, None);
                if let Some(d) = comment {
                    m.str("abstract", &d);
                }
                m.str("content", &a.value);
                let r = m.key("object_refs");
                r.push_str("[\"report--");
                r.push_str(&self.out.uuid);
                r.push_str("\"]");
                self.emit(&id, m.end());
                id
            }
        };
        self.ids.insert(a.uuid.clone(), id.clone());
        self.sightings(&a, &id);
        Some(id)
    }

    fn sightings(&mut self, a: &Attr<'_>, of: &str) {
        let s = &a.raw.sightings;
        if s.len() > self.limits.max_sightings {
            self.problem(
                Some(&a.uuid),
                ProblemKind::Limit(format!(
                    "{} sightings, more than the limit of {}: the rest skipped",
                    s.len(),
                    self.limits.max_sightings
                )),
            );
        }
        for s in s.iter().take(self.limits.max_sightings) {
            let raw = s.uuid.as_str().unwrap_or("");
            let Some(su) = values::uuid(raw) else {
                self.problem(Some(&a.uuid), ProblemKind::BadUuid(cut(raw, 80)));
                continue;
            };
            match s.ty.as_str().unwrap_or("0") {
                "0" => {}
                other => {
                    let what = if other == "1" {
                        "false-positive"
                    } else {
                        "expiration"
                    };
                    self.problem(
                        Some(&a.uuid),
                        ProblemKind::Unsupported(format!(
                            "{what} sighting {su} (type {})",
                            cut(other, 10)
                        )),
                    );
                    continue;
                }
            }
            let ts = s.date_sighting.epoch().unwrap_or(a.ts);
            let t = stix_time(ts);
            let id = format!("sighting--{su}");
            let w = self.identity(s.organisation.as_ref());
            let d = s
                .source
                .as_str()
                .filter(|x| !x.is_empty())
                .map(|src| self.text(src, Some(&su), "source"));
            let mut m = Obj::with_capacity(640);
            m.str("type", "sighting")
                .str("spec_version", "2.1")
                .str("id", &id);
            if let Some(cr) = &self.creator {
                m.str("created_by_ref", cr);
            }
            m.str("created", &t)
                .str("modified", &t)
                .str("first_seen", &t)
                .str("last_seen", &t)
                .int("count", 1)
                .str("sighting_of_ref", of);
            if let Some(w) = &w {
                m.strs("where_sighted_refs", [w]);
            }
            if let Some(d) = &d {
                m.str("description", d);
            }
            m.raw("external_references", &misp_ext(&su));
            if let Some((_, mk)) = self.event_tags.tlp {
                m.strs("object_marking_refs", [mk]);
            }
            if self.emit(&id, m.end()) {
                self.refs.push(id);
            }
        }
    }

    /// A MISP object; the id of what it became.
    fn object(&mut self, o: &Object<'_>) -> Option<String> {
        let raw = o.uuid.as_str().unwrap_or("");
        let Some(uuid) = values::uuid(raw) else {
            self.problem(
                Some(if raw.is_empty() {
                    "(object without uuid)"
                } else {
                    raw
                }),
                ProblemKind::BadUuid(cut(raw, 80)),
            );
            return None;
        };
        if o.deleted.truthy() {
            return None;
        }
        let name = o.name.as_str().unwrap_or("");
        let known = matches!(
            name,
            "file" | "domain-ip" | "url" | "ip-port" | "email" | "registry-key"
        );
        let attrs = &o.attributes;
        if !known {
            return self.grouping(o, &uuid, name, attrs);
        }
        let mut read = Vec::new();
        for a in attrs {
            if let Some(a) = self.read_attr(a) {
                read.push(a);
            }
        }
        let mut obs = Obs::default();
        let mut extra = Vec::new();
        let mut to_ids = false;
        let mut ts = o.timestamp.epoch();
        match self.template(name, &read, &mut obs, &mut extra, &mut to_ids) {
            Ok(()) => {}
            Err((i, why)) => {
                let a = &read[i];
                self.bad_value(a, why);
            }
        }
        if obs.cmp.is_empty() {
            self.problem(
                Some(&uuid),
                ProblemKind::Malformed(format!(
                    "`{}` object with no attribute this import maps",
                    cut(name, 80)
                )),
            );
            return None;
        }
        for a in &read {
            ts = Some(ts.map_or(a.ts, |t| t.max(a.ts)));
        }
        let ts = ts.or(self.event_ts).unwrap_or(0);
        let tags = self.tagging(&o.tags, &o.galaxies, Some(&uuid));
        let mut labels = vec![format!("misp:name=\"{}\"", cut(name, 200))];
        if let Some(mc) = o.meta_category.as_str() {
            labels.push(format!("misp:meta-category=\"{}\"", cut(mc, 200)));
        }
        let mut desc = o
            .comment
            .as_str()
            .filter(|c| !c.trim().is_empty())
            .map(|c| c.to_owned())
            .unwrap_or_default();
        for (rel, v) in extra {
            if !desc.is_empty() {
                desc.push('\n');
            }
            desc.push_str(&format!("{rel}: {v}"));
        }
        let desc = (!desc.is_empty()).then(|| self.text(&desc, Some(&uuid), "comment"));
        let id = self.observable(&uuid, ts, to_ids, obs, labels, &tags, desc);
        self.ids.insert(uuid.clone(), id.clone());
        for a in &read {
            self.ids.insert(a.uuid.clone(), id.clone());
            self.sightings(a, &id);
        }
        Some(id)
    }

    /// Fills `obs` from a known template's attributes; relations it does
    /// not map go to `extra`. Err: the index of an attribute with a bad
    /// value (the others are kept).
    fn template(
        &mut self,
        name: &str,
        read: &[Attr<'_>],
        obs: &mut Obs,
        extra: &mut Vec<(String, String)>,
        to_ids: &mut bool,
    ) -> Result<(), (usize, String)> {
        let mut bad: Option<(usize, String)> = None;
        let mut p = Map::new();
        let mut ips: Vec<(std::net::IpAddr, String)> = Vec::new();
        let mut domains: Vec<String> = Vec::new();
        for (i, a) in read.iter().enumerate() {
            let rel = a.relation.unwrap_or(a.ty);
            let v = &*a.value;
            let mut used = true;
            let r: Result<(), String> = (|| {
                match (name, rel) {
                    ("file", "filename") => {
                        obs.cmp.push(format!("file:name = {}", quote(v)));
                        p.insert("name".into(), json!(v));
                    }
                    ("file", h) if values::hash_kind(h).is_some() => {
                        values::hash(h, v)?;
                        let (n, _) = values::hash_kind(h).unwrap_or(("MD5", None));
                        obs.cmp.push(format!("file:hashes.'{n}' = {}", quote(v)));
                        let hashes = p.entry("hashes").or_insert_with(|| json!({}));
                        if let Some(hm) = hashes.as_object_mut() {
                            hm.insert(n.into(), json!(v));
                        }
                    }
                    ("file", "size-in-bytes") => {
                        let n: u64 = v.trim().parse().map_err(|_| "not a size".to_owned())?;
                        obs.cmp.push(format!("file:size = {n}"));
                        p.insert("size".into(), json!(n));
                    }
                    ("file", "mimetype" | "mime-type") => {
                        obs.cmp.push(format!("file:mime_type = {}", quote(v)));
                        p.insert("mime_type".into(), json!(v));
                    }
                    ("domain-ip", "domain" | "hostname") => {
                        values::domain(v)?;
                        domains.push(v.to_owned());
                    }
                    ("domain-ip", "ip" | "ip-dst" | "ip-src") => {
                        let ip = values::ip(v)?;
                        ips.push((ip, v.to_owned()));
                    }
                    ("url", "url") => {
                        values::url(v)?;
                        obs.cmp.push(format!("url:value = {}", quote(v)));
                        p.insert("value".into(), json!(v));
                    }
                    ("ip-port", "ip" | "ip-dst") | ("ip-port", "ip-src") => {
                        let ip = values::ip(v)?;
                        let dir = if rel == "ip-src" { "src" } else { "dst" };
                        obs.cmp.push(format!(
                            "network-traffic:{dir}_ref.type = '{}' AND network-traffic:{dir}_ref.value = {}",
                            ip_type(ip),
                            quote(v)
                        ));
                        let id = ip_sco(obs, ip, v);
                        p.insert(format!("{dir}_ref"), json!(id));
                    }
                    ("ip-port", "dst-port" | "src-port") => {
                        let port = values::port(v)?;
                        let dir = &rel[..3];
                        obs.cmp.push(format!("network-traffic:{dir}_port = {port}"));
                        p.insert(format!("{dir}_port"), json!(port));
                    }
                    ("email", "from") => {
                        values::email(v)?;
                        obs.cmp
                            .push(format!("email-message:from_ref.value = {}", quote(v)));
                        let id = obs.sco("email-addr", props(vec![("value", json!(v))]));
                        p.insert("from_ref".into(), json!(id));
                    }
                    ("email", "to" | "cc") => {
                        values::email(v)?;
                        let f = if rel == "to" { "to_refs" } else { "cc_refs" };
                        obs.cmp
                            .push(format!("email-message:{f}[*].value = {}", quote(v)));
                        let id = obs.sco("email-addr", props(vec![("value", json!(v))]));
                        let e = p.entry(f).or_insert_with(|| json!([]));
                        if let Some(l) = e.as_array_mut() {
                            l.push(json!(id));
                        }
                    }
                    ("email", "subject") => {
                        obs.cmp
                            .push(format!("email-message:subject = {}", quote(v)));
                        p.insert("subject".into(), json!(v));
                    }
                    ("registry-key", "key") => {
                        let k = values::regkey(v);
                        obs.cmp
                            .push(format!("windows-registry-key:key = {}", quote(&k)));
                        p.insert("key".into(), json!(k));
                    }
                    ("registry-key", "data") => {
                        obs.cmp.push(format!(
                            "windows-registry-key:values[*].data = {}",
                            quote(v.trim())
                        ));
                        p.insert("values".into(), json!([{"data": v.trim()}]));
                    }
                    _ => used = false,
                }
                Ok(())
            })();
            match r {
                Ok(()) if used => *to_ids |= a.to_ids,
                Ok(()) => extra.push((rel.to_owned(), cut(v, 1000))),
                Err(why) => {
                    if bad.is_none() {
                        bad = Some((i, why));
                    } else {
                        let a = &read[i];
                        self.bad_value(a, why);
                    }
                }
            }
        }
        match name {
            "file" if !p.is_empty() => {
                obs.sco("file", p);
            }
            "url" if !p.is_empty() => {
                obs.sco("url", p);
            }
            "ip-port" if !p.is_empty() => {
                p.insert("protocols".into(), json!(["tcp"]));
                if p.contains_key("src_ref") || p.contains_key("dst_ref") {
                    obs.sco("network-traffic", p);
                } else {
                    obs.cmp.clear();
                }
            }
            "email" if !p.is_empty() => {
                p.insert("is_multipart".into(), json!(false));
                obs.sco("email-message", p);
            }
            "registry-key" if p.contains_key("key") => {
                obs.sco("windows-registry-key", p);
            }
            "registry-key" => obs.cmp.clear(),
            "domain-ip" => {
                let ip_ids: Vec<String> = ips.iter().map(|(ip, t)| ip_sco(obs, *ip, t)).collect();
                if domains.is_empty() {
                    for (_, t) in &ips {
                        obs.cmp.push(format!(
                            "{}:value = {}",
                            if t.contains(':') {
                                "ipv6-addr"
                            } else {
                                "ipv4-addr"
                            },
                            quote(t)
                        ));
                    }
                }
                for d in &domains {
                    obs.cmp.push(format!("domain-name:value = {}", quote(d)));
                    let mut dp = props(vec![("value", json!(d))]);
                    if !ip_ids.is_empty() {
                        dp.insert("resolves_to_refs".into(), json!(ip_ids));
                    }
                    obs.sco("domain-name", dp);
                }
                if !domains.is_empty() {
                    for (_, t) in &ips {
                        obs.cmp.push(format!(
                            "domain-name:resolves_to_refs[*].value = {}",
                            quote(t)
                        ));
                    }
                } else if ips.len() > 1 {
                    // Comparisons of two types cannot be ANDed in one
                    // observation: any of the addresses matches.
                    let joined = obs.cmp.join(" OR ");
                    obs.cmp = vec![joined];
                }
            }
            _ => {}
        }
        match bad {
            Some(b) => Err(b),
            None => Ok(()),
        }
    }

    /// The fallback for an object of another template: a grouping of its
    /// attributes, each converted as a standalone attribute.
    fn grouping(
        &mut self,
        o: &Object<'_>,
        uuid: &str,
        name: &str,
        attrs: &[Attribute<'_>],
    ) -> Option<String> {
        let mut members = Vec::new();
        for a in attrs {
            if let Some(id) = self.standalone(a) {
                members.push(id);
            }
        }
        if members.is_empty() {
            self.problem(
                Some(uuid),
                ProblemKind::Malformed(format!(
                    "`{}` object with no attribute that converts",
                    cut(name, 80)
                )),
            );
            return None;
        }
        self.refs.extend(members.iter().cloned());
        let ts = o.timestamp.epoch().or(self.event_ts).unwrap_or(0);
        let tags = self.tagging(&o.tags, &o.galaxies, Some(uuid));
        let mut labels = vec![format!("misp:name=\"{}\"", cut(name, 200))];
        if let Some(mc) = o.meta_category.as_str() {
            labels.push(format!("misp:meta-category=\"{}\"", cut(mc, 200)));
        }
        let mut m = self.common("grouping", uuid, ts, labels, &tags, None);
        let gname = self.text(&format!("MISP object {name}"), Some(uuid), "name");
        m.str("name", &gname)
            .str("context", "unspecified")
            .strs("object_refs", &members);
        let id = format!("grouping--{uuid}");
        self.emit(&id, m.end());
        self.ids.insert(uuid.to_owned(), id.clone());
        Some(id)
    }

    fn references(&mut self, o: &Object<'_>, event_ts: i64) {
        let Some(src_uuid) = o.uuid.as_str().and_then(values::uuid) else {
            return;
        };
        let Some(src) = self.ids.get(&src_uuid).cloned() else {
            return;
        };
        for r in o.references.iter().take(self.limits.max_tags) {
            let ru = r.uuid.as_str().and_then(values::uuid);
            let target = r.referenced_uuid.as_str().unwrap_or("");
            let Some(tu) = values::uuid(target) else {
                self.problem(
                    Some(ru.as_deref().unwrap_or(&src_uuid)),
                    ProblemKind::BadUuid(cut(target, 80)),
                );
                continue;
            };
            let Some(dst) = self.ids.get(&tu).cloned() else {
                self.problem(
                    Some(ru.as_deref().unwrap_or(&src_uuid)),
                    ProblemKind::DanglingReference(tu),
                );
                continue;
            };
            let ty = relationship_type(r.relationship_type.as_str().unwrap_or("related-to"));
            let ty = cut(&ty, 200);
            let ts = r.timestamp.epoch().unwrap_or(event_ts);
            self.relationship(ru.as_deref(), &src, &ty, &dst, ts);
        }
    }
}

#[cfg(test)]
mod tests;
