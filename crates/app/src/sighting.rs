//! Hits → STIX 2.1 sightings: the node's identity, aggregation per
//! indicator and time window, evidence as observed-data, and where the
//! sightings go (the store or a bundle).
//!
//! Storage layout (the federation issue reads it):
//! - collection `node`: the node's own `identity` (also kept as
//!   `node-identity.json` in the data directory, created on first use);
//! - collection `sightings`: every sighting, with the node identity and the
//!   evidence (`observed-data` and its cyber-observables);
//! - collection `sightings-to-<identity id>`: the outbox for one producer —
//!   a copy of each sighting of an indicator whose `created_by_ref` is that
//!   identity, with its evidence and the node identity, ready to be sent back.

use accord_logs::Kind;
use accord_stix::{Object, Timestamp};
use accord_store::{NewObject, ObjectMeta, ObjectWrite};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Why the node identity could not be read or sightings not stored.
#[derive(Debug, thiserror::Error)]
pub enum SightingError {
    /// `node-identity.json` is not JSON or has no `id`.
    #[error("reading the node identity {path}: {message}")]
    BadIdentity {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `node-identity.json` could not be written.
    #[error("saving the node identity to {path}: {source}")]
    SaveIdentity {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// An object to store does not parse, or has no id or type.
    #[error("object to store in `{collection}` is not a STIX object: {message}")]
    BadObject {
        /// The collection it was for.
        collection: String,
        /// What is wrong.
        message: String,
    },
    /// The store refused the batch.
    #[error("storing sightings in `{collection}`: {source}")]
    Store {
        /// The collection.
        collection: String,
        /// The store's reason.
        source: Box<accord_store::StoreError>,
    },
}

/// The collection holding every sighting.
pub const SIGHTINGS_COLLECTION: &str = "sightings";
/// The collection holding the node's identity.
pub const NODE_COLLECTION: &str = "node";
/// The outbox collection prefix: `sightings-to-<producer identity id>`.
pub const OUTBOX_PREFIX: &str = "sightings-to-";
/// Evidence kept per sighting (observed-data objects), at most.
pub const MAX_EVIDENCE: usize = 10;

/// The observables of an event, owned: (field, kind, value).
pub type Evidence = Box<[(Box<str>, Kind, Box<str>)]>;

/// One hit: an indicator matched a value of a log line.
#[derive(Debug, Clone)]
pub struct Hit {
    pub file: u32,
    pub line: u64,
    pub ord: u32,
    pub kind: Option<Kind>,
    pub field: Box<str>,
    pub value: Box<str>,
    /// Unix microseconds.
    pub time: Option<i64>,
    /// The event's observables (field, kind, value), with `--evidence`.
    pub evidence: Option<Evidence>,
}

/// A STIX timestamp with millisecond precision from Unix microseconds.
pub fn ts_from_micros(us: i64) -> String {
    let s = us.div_euclid(1_000_000);
    let ns = (us.rem_euclid(1_000_000) * 1000) as u32;
    Timestamp::from_unix(s, ns).to_millis_string()
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// A fresh node identity object (JSON text), created at `now_us` (Unix
/// microseconds).
pub fn new_identity(now_us: i64) -> String {
    let now = ts_from_micros(now_us);
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": format!("identity--{}", uuid::Uuid::new_v4()),
        "created": now,
        "modified": now,
        "name": format!("Accord node {}", hostname()),
        "description": "The Accord node that sighted these indicators in its operator's logs.",
        "identity_class": "organization",
    })
    .to_string()
}

/// The node's identity: read from `<data>/node-identity.json`, or created,
/// saved there and stored in the `node` collection when `writer` is given;
/// a new identity is created at `now_us`. Returns (id, JSON text).
///
/// # Errors
/// [`SightingError::BadIdentity`], [`SightingError::SaveIdentity`], or a
/// store error storing it.
pub fn node_identity(
    data: &Path,
    writer: Option<&dyn ObjectWrite>,
    now_us: i64,
) -> Result<(String, String), SightingError> {
    let path = data.join("node-identity.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bad = |message: String| SightingError::BadIdentity {
            path: path.clone(),
            message,
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let id = v["id"]
            .as_str()
            .ok_or_else(|| bad("node-identity.json has no id".into()))?
            .to_owned();
        return Ok((id, text.trim().to_owned()));
    }
    let text = new_identity(now_us);
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    if let Some(w) = writer {
        std::fs::create_dir_all(data).ok();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, format!("{text}\n"))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| SightingError::SaveIdentity {
                path: path.clone(),
                source,
            })?;
        put(w, std::slice::from_ref(&text), NODE_COLLECTION)?;
    }
    Ok((id, text))
}

/// Stores objects (JSON texts) into a collection.
///
/// # Errors
/// [`SightingError::BadObject`], [`SightingError::Store`].
pub fn put(w: &dyn ObjectWrite, objects: &[String], collection: &str) -> Result<(), SightingError> {
    let bad = |message: String| SightingError::BadObject {
        collection: collection.to_owned(),
        message,
    };
    let parsed: Vec<(ObjectMeta, &str)> = objects
        .iter()
        .map(|t| {
            let o = accord_stix::Doc::parse(t).map_err(|e| bad(e.to_string()))?;
            let m =
                ObjectMeta::from_doc(&o).ok_or_else(|| bad("object without id or type".into()))?;
            Ok((m, t.as_str()))
        })
        .collect::<Result<_, SightingError>>()?;
    for batch in parsed.chunks(8192) {
        let objs: Vec<NewObject<'_>> = batch
            .iter()
            .map(|(m, t)| m.new_object(t, collection, "accord match"))
            .collect();
        w.put_batch(&objs).map_err(|source| SightingError::Store {
            collection: collection.to_owned(),
            source: Box::new(source),
        })?;
    }
    Ok(())
}

/// What aggregation produced.
#[derive(Default)]
pub struct Sightings {
    /// Sighting objects (JSON text), with the producer of their indicator.
    pub sightings: Vec<(String, Option<String>, Vec<String>)>,
    /// Evidence objects (observed-data and SCOs), by id.
    pub evidence: BTreeMap<String, String>,
}

fn sco(kind: Kind, field: &str, value: &str) -> Option<Value> {
    let v = match kind {
        Kind::Ip => {
            let ip: std::net::IpAddr = value.parse().ok()?;
            let ty = if ip.is_ipv4() {
                "ipv4-addr"
            } else {
                "ipv6-addr"
            };
            json!({"type": ty, "spec_version": "2.1", "value": ip.to_string()})
        }
        Kind::Domain => {
            let d = value.trim_end_matches('.').to_ascii_lowercase();
            if d.is_empty() || !d.contains('.') || !d.is_ascii() {
                return None;
            }
            json!({"type": "domain-name", "spec_version": "2.1", "value": d})
        }
        Kind::Url => json!({"type": "url", "spec_version": "2.1", "value": value}),
        Kind::Email => {
            if !value.contains('@') {
                return None;
            }
            json!({"type": "email-addr", "spec_version": "2.1", "value": value})
        }
        Kind::Hash => {
            let f = field.to_ascii_lowercase();
            let alg = match value.len() {
                32 if f.contains("md5") => "MD5",
                40 if f.contains("sha1") => "SHA-1",
                64 if f.contains("sha256") => "SHA-256",
                128 if f.contains("sha512") => "SHA-512",
                _ => return None,
            };
            if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            json!({"type": "file", "spec_version": "2.1", "hashes": {alg: value.to_ascii_lowercase()}})
        }
        Kind::Text => {
            if value.is_empty() {
                return None;
            }
            json!({"type": "file", "spec_version": "2.1", "name": value})
        }
    };
    Some(v)
}

/// Adds a SCO with its deterministic id; returns the id.
fn add_sco(mut v: Value, out: &mut BTreeMap<String, String>) -> Option<String> {
    let text = v.to_string();
    let obj = Object::parse(&text).ok()?;
    let id = accord_stix::deterministic_sco_id(&obj)?;
    if let Value::Object(m) = &mut v {
        let mut n = Map::new();
        n.insert("type".into(), m.remove("type")?);
        n.insert("spec_version".into(), m.remove("spec_version")?);
        n.insert("id".into(), Value::String(id.clone()));
        n.extend(std::mem::take(m));
        *m = n;
    }
    out.entry(id.clone()).or_insert_with(|| v.to_string());
    Some(id)
}

/// Aggregates hits into sightings: one per indicator and window of
/// `window_s` seconds (by event time; hits without one fall in the window
/// of `now_us`). `count` is the number of distinct log lines.
pub fn aggregate(
    hits: &[Hit],
    window_s: i64,
    now_us: i64,
    node_id: &str,
    indicator_id: impl Fn(u32) -> String,
    producer: impl Fn(u32) -> Option<String>,
    evidence: bool,
) -> Sightings {
    struct Agg<'a> {
        first: i64,
        last: i64,
        events: BTreeSet<(u32, u64)>,
        sample: Vec<&'a Hit>,
    }
    let w = window_s.max(1) * 1_000_000;
    let mut groups: BTreeMap<(u32, i64), Agg<'_>> = BTreeMap::new();
    for h in hits {
        let t = h.time.unwrap_or(now_us);
        let g = groups.entry((h.ord, t.div_euclid(w))).or_insert(Agg {
            first: t,
            last: t,
            events: BTreeSet::new(),
            sample: Vec::new(),
        });
        g.first = g.first.min(t);
        g.last = g.last.max(t);
        if g.events.insert((h.file, h.line)) && g.sample.len() < MAX_EVIDENCE {
            g.sample.push(h);
        }
    }
    let now = ts_from_micros(now_us);
    let mut out = Sightings::default();
    let mut ids: HashMap<u32, String> = HashMap::new();
    for ((ord, _), g) in groups {
        let ind = ids.entry(ord).or_insert_with(|| indicator_id(ord)).clone();
        let mut refs = Vec::new();
        if evidence {
            for h in &g.sample {
                let Some(ev) = &h.evidence else { continue };
                let mut scos = Vec::new();
                for (field, kind, value) in ev.iter() {
                    if let Some(v) = sco(*kind, field, value)
                        && let Some(id) = add_sco(v, &mut out.evidence)
                        && !scos.contains(&id)
                    {
                        scos.push(id);
                    }
                }
                if scos.is_empty() {
                    continue;
                }
                let t = ts_from_micros(h.time.unwrap_or(now_us));
                let od_id = format!("observed-data--{}", uuid::Uuid::new_v4());
                let od = json!({
                    "type": "observed-data",
                    "spec_version": "2.1",
                    "id": od_id,
                    "created": now,
                    "modified": now,
                    "created_by_ref": node_id,
                    "first_observed": t,
                    "last_observed": t,
                    "number_observed": 1,
                    "object_refs": scos,
                });
                out.evidence.insert(od_id.clone(), od.to_string());
                refs.push(od_id);
            }
        }
        let mut s = json!({
            "type": "sighting",
            "spec_version": "2.1",
            "id": format!("sighting--{}", uuid::Uuid::new_v4()),
            "created": now,
            "modified": now,
            "created_by_ref": node_id,
            "first_seen": ts_from_micros(g.first),
            "last_seen": ts_from_micros(g.last),
            "count": g.events.len().min(999_999_999),
            "sighting_of_ref": ind,
            "where_sighted_refs": [node_id],
        });
        if !refs.is_empty() {
            s["observed_data_refs"] = json!(refs);
        }
        // Evidence ids this sighting needs (observed-data and their SCOs).
        let mut needs = Vec::new();
        for r in &refs {
            needs.push(r.clone());
            if let Some(t) = out.evidence.get(r)
                && let Ok(v) = serde_json::from_str::<Value>(t)
                && let Some(a) = v["object_refs"].as_array()
            {
                needs.extend(a.iter().filter_map(|x| x.as_str().map(str::to_owned)));
            }
        }
        out.sightings.push((s.to_string(), producer(ord), needs));
    }
    out
}

impl Sightings {
    /// Every object, for a bundle: identity first, sightings, evidence.
    pub fn bundle(&self, identity: &str) -> String {
        let mut s = format!(
            "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[\n{identity}",
            uuid::Uuid::new_v4()
        );
        for (t, _, _) in &self.sightings {
            s.push_str(",\n");
            s.push_str(t);
        }
        for t in self.evidence.values() {
            s.push_str(",\n");
            s.push_str(t);
        }
        s.push_str("\n]}\n");
        s
    }

    /// Stores everything: `sightings` and the producers' outboxes. Returns
    /// the outbox collections written, with their sighting counts.
    ///
    /// # Errors
    /// As [`put`].
    pub fn store(
        &self,
        w: &dyn ObjectWrite,
        identity: &str,
    ) -> Result<BTreeMap<String, usize>, SightingError> {
        let mut all: Vec<String> = vec![identity.to_owned()];
        all.extend(self.evidence.values().cloned());
        all.extend(self.sightings.iter().map(|(t, _, _)| t.clone()));
        put(w, &all, SIGHTINGS_COLLECTION)?;
        let mut outboxes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut counts = BTreeMap::new();
        for (t, producer, needs) in &self.sightings {
            let Some(p) = producer else { continue };
            let name = format!("{OUTBOX_PREFIX}{p}");
            let objs = outboxes
                .entry(name.clone())
                .or_insert_with(|| vec![identity.to_owned()]);
            for n in needs {
                if let Some(e) = self.evidence.get(n) {
                    objs.push(e.clone());
                }
            }
            objs.push(t.clone());
            *counts.entry(name).or_insert(0) += 1;
        }
        for (name, objs) in &outboxes {
            put(w, objs, name)?;
        }
        Ok(counts)
    }
}
