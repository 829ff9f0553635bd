//! Protected facilities wired into the node: the registry kept in the
//! store, and the escalation of any touch into a critical hotline case.
//!
//! - **Storage**: a facility is an `infrastructure` object carrying the
//!   facility extension ([`Facility::to_stix`]), written to the local
//!   collection [`FACILITY_COLLECTION`] through the store's writer (so each
//!   version is a leaf of this node's log). Removing one writes a new
//!   version with `revoked: true`. Partners receive the collection like any
//!   other when an API root serves it (under their agreement), and this
//!   node reads theirs wherever they arrive.
//! - **The registry** ([`FacilityWatch`]) is every facility in the store,
//!   any collection, at its latest version: this node's own (collection
//!   [`FACILITY_COLLECTION`], not from a partner) take precedence over a
//!   partner's of the same id or name, so a partner cannot revoke or
//!   rename a facility of this node; a malformed facility from a partner
//!   is left out with a warning, never failing the registry. The watch
//!   reads only the rows added since its last read (one indexed query
//!   that finds nothing on an idle node), and rebuilds the index only when
//!   a facility changed. A TAXII DELETE of a facility takes effect when
//!   the node restarts.
//! - **Touches** ([`touch_of`]): each object newly stored from outside
//!   (a partner's pull, a partner's TAXII POST, a file ingested, `accord
//!   match`'s hits) is run through [`Registry::touches`] (indicator
//!   patterns, SCO values, observed-data's embedded objects). Sightings,
//!   reports and notes name their evidence by reference: the objects they
//!   reference are checked when they arrive, and free text is never read.
//! - **Escalation** ([`escalate`]): per facility touched, a critical case
//!   (not an exercise, `facility` set, the evidence attached) addressed to
//!   the partner of the facility's jurisdiction (`[[partners]]
//!   jurisdiction`, the partner needing an `identity`), or kept local (a
//!   case from this node to itself) when the facility is in this node's
//!   own jurisdiction (`[residency] jurisdiction`) or no partner of its
//!   jurisdiction is configured. When an open case of that facility
//!   exists, a note is added to it instead. Evidence already attached to
//!   any case of that facility adds nothing, so the same object arriving
//!   twice (or in two collections) escalates once.

use crate::config::Config;
use crate::hotline::{Hotline, HotlineError};
use accord_hotline::{Action, Case, OpenCase, Severity, State, case_uuid};
use accord_stix::{Doc, Object, Timestamp};
use accord_store::{Backend, ObjectMeta, ObjectRead, PutOutcome, Query, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

pub use accord_hotline::{
    FACILITY_EXTENSION_ID, Facility, FacilityError, FacilityHit, HitKind, Registry,
};

/// The local collection holding this node's facilities.
pub const FACILITY_COLLECTION: &str = "facilities";

/// The origin of the facilities this node writes.
pub const ORIGIN: &str = "accord facility";

/// Objects read per page when the registry is read.
const PAGE: usize = 1000;

/// The most hits listed in a case's text (all evidence ids are attached,
/// up to the hotline's bound).
const MAX_LISTED: usize = 50;

/// The most evidence objects attached to one case or note.
const MAX_EVIDENCE: usize = 500;

/// The object types whose content can touch a facility (the rest are not
/// parsed at all).
const TOUCH_TYPES: &[&str] = &[
    "indicator",
    "observed-data",
    "ipv4-addr",
    "ipv6-addr",
    "domain-name",
    "url",
    "email-addr",
    "autonomous-system",
];

/// Why a facility operation failed. Nothing is stored when one fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FacilityFailure {
    /// A facility is wrong (the message names it, the field and the value).
    #[error("{0}")]
    Facility(#[from] FacilityError),
    /// A facility of that name is already registered here.
    #[error(
        "facility {0:?} is already registered here (`accord facility list` shows it; remove it first to replace it)"
    )]
    Exists(String),
    /// No facility of that name is registered here.
    #[error("no facility {name:?} is registered here (registered: {known})")]
    Unknown {
        /// The name given.
        name: String,
        /// The names registered here, comma-separated.
        known: String,
    },
    /// The facility was registered by a partner: only its own node removes it.
    #[error(
        "facility {name:?} was registered by partner `{source_name}`: only its own node can remove it"
    )]
    NotOwn {
        /// The name.
        name: String,
        /// Where it came from.
        source_name: String,
    },
    /// Reading the store failed.
    #[error("reading the facilities from the store: {0}")]
    Read(Box<StoreError>),
    /// Writing to the store failed (nothing was stored).
    #[error("storing facility {name:?} in `{FACILITY_COLLECTION}`: {reason}")]
    Write {
        /// The facility.
        name: String,
        /// Why.
        reason: String,
    },
    /// Waiting for the cluster's escalation section failed (its database
    /// could not be reached): nothing was escalated.
    #[error("escalating facility touches: waiting for the other processes of the cluster: {0}")]
    Exclusive(Box<StoreError>),
    /// Opening or noting a case failed.
    #[error("escalating a touch of facility {facility:?}: {source}")]
    Hotline {
        /// The facility.
        facility: String,
        /// The hotline's reason.
        source: Box<HotlineError>,
    },
}

/// One facility of the registry, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registered {
    /// The facility.
    #[serde(flatten)]
    pub facility: Facility,
    /// Its STIX id.
    pub id: String,
    /// Registered by this node (else received from a partner).
    pub own: bool,
    /// `self`, or the partner (the store's origin) it came from.
    pub source: String,
    /// Its version (`modified`).
    pub modified: String,
}

/// The registry as read by [`FacilityWatch::refresh`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The index.
    pub registry: Arc<Registry>,
    /// The live facilities, by name.
    pub facilities: Vec<Registered>,
    /// The facilities left out (malformed, a name taken), each named.
    pub skipped: Vec<String>,
}

/// The latest version of one facility from one source.
#[derive(Debug, Clone)]
struct Latest {
    version: String,
    /// `None`: revoked.
    facility: Option<Facility>,
    modified: String,
}

#[derive(Default)]
struct WatchState {
    after_seq: i64,
    /// By (id, own, origin).
    latest: BTreeMap<(String, bool, String), Latest>,
    built: Option<(Arc<Registry>, Vec<Registered>)>,
    skipped: Vec<String>,
}

/// The registry of a node, kept up to date from its store by reading only
/// what was added since the last read. Share one per process.
#[derive(Default)]
pub struct FacilityWatch {
    state: Mutex<WatchState>,
}

impl std::fmt::Debug for FacilityWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacilityWatch").finish_non_exhaustive()
    }
}

/// Whether a stored row is one of this node's own facilities.
fn is_own(collection: &str, origin: &str) -> bool {
    collection == FACILITY_COLLECTION && !origin.starts_with("partner:")
}

/// The partner name of a `partner:NAME` origin, else the origin.
fn source_of(own: bool, origin: &str) -> String {
    if own {
        "self".to_owned()
    } else {
        origin.strip_prefix("partner:").unwrap_or(origin).to_owned()
    }
}

impl FacilityWatch {
    /// An empty watch (the first read reads the whole store).
    pub fn new() -> FacilityWatch {
        FacilityWatch::default()
    }

    /// The registry as of now: the rows added since the last call are
    /// read, and the index rebuilt when a facility changed.
    ///
    /// # Errors
    /// [`FacilityFailure::Read`], [`FacilityFailure::Facility`] (the index
    /// could not be built).
    pub fn registry(&self, store: &dyn ObjectRead) -> Result<Arc<Registry>, FacilityFailure> {
        Ok(self.refresh(store)?.registry)
    }

    /// [`FacilityWatch::registry`] with the facilities listed, and the
    /// facilities left out (a malformed one from a partner, a name taken).
    ///
    /// # Errors
    /// As [`FacilityWatch::registry`].
    pub fn refresh(&self, store: &dyn ObjectRead) -> Result<Snapshot, FacilityFailure> {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut changed = st.built.is_none();
        // Read before the query: every row up to it is in the query's scan
        // (the writer gives seqs in commit order), so the next refresh
        // starts there even when none of them was a facility. Without it
        // a store with no facility was read whole at every refresh (every
        // round of every partner, every TAXII POST): 180 ms at 1,000,000
        // objects.
        let high = store
            .max_seq()
            .map_err(|e| FacilityFailure::Read(Box::new(e)))?;
        let mut q = Query {
            types: vec!["infrastructure".into(), "identity".into()],
            versions: accord_store::VersionFilter::all(),
            after_seq: st.after_seq,
            ..Query::default()
        };
        loop {
            let page = store
                .query(&q, PAGE)
                .map_err(|e| FacilityFailure::Read(Box::new(e)))?;
            for o in &page.objects {
                st.after_seq = st.after_seq.max(o.seq);
                if !o.raw.contains(FACILITY_EXTENSION_ID) {
                    continue;
                }
                let own = is_own(&o.collection, &o.origin);
                let obj = match Object::parse(&o.raw) {
                    Ok(obj) => obj,
                    Err(e) => {
                        st.skipped
                            .push(format!("{} in `{}`: {e}", o.id, o.collection));
                        continue;
                    }
                };
                let revoked = obj.get("revoked").and_then(serde_json::Value::as_bool) == Some(true);
                let facility = match Facility::from_stix(&obj) {
                    Ok(Some(f)) => Some(f),
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(
                            "facility {} in `{}` (from {}) left out: {e}",
                            o.id,
                            o.collection,
                            o.origin
                        );
                        st.skipped
                            .push(format!("{} in `{}`: {e}", o.id, o.collection));
                        continue;
                    }
                };
                let key = (o.id.clone(), own, o.origin.clone());
                let newer = st.latest.get(&key).is_none_or(|l| o.version >= l.version);
                if newer {
                    st.latest.insert(
                        key,
                        Latest {
                            version: o.version.clone(),
                            facility: facility.filter(|_| !revoked),
                            modified: o.modified.clone().unwrap_or_default(),
                        },
                    );
                    changed = true;
                }
            }
            match page.last_seq() {
                Some(last) if page.more => q.after_seq = last,
                _ => break,
            }
        }
        st.after_seq = st.after_seq.max(high);
        if changed {
            let (registry, entries, skipped) = build(&st.latest)?;
            st.built = Some((Arc::new(registry), entries));
            st.skipped.extend(skipped);
            let n = st.skipped.len();
            if n > 1000 {
                st.skipped.drain(..n - 1000);
            }
        }
        let (registry, facilities) = st.built.clone().expect("built above");
        Ok(Snapshot {
            registry,
            facilities,
            skipped: st.skipped.clone(),
        })
    }
}

/// The live registry from the latest version of each (id, source).
fn build(
    latest: &BTreeMap<(String, bool, String), Latest>,
) -> Result<(Registry, Vec<Registered>, Vec<String>), FacilityFailure> {
    // Per id: this node's own version when it has one (live or revoked),
    // else the newest live version a partner sent.
    let mut by_id: BTreeMap<&str, (bool, &str, &Latest)> = BTreeMap::new();
    for ((id, own, origin), l) in latest {
        match by_id.get(id.as_str()) {
            Some((true, _, _)) if !own => {}
            Some((false, _, cur)) if !own && (l.facility.is_none() || cur.version >= l.version) => {
            }
            _ => {
                by_id.insert(id, (*own, origin, l));
            }
        }
    }
    let mut live: Vec<Registered> = by_id
        .into_iter()
        .filter_map(|(id, (own, origin, l))| {
            l.facility.clone().map(|f| Registered {
                facility: f,
                id: id.to_owned(),
                own,
                source: source_of(own, origin),
                modified: l.modified.clone(),
            })
        })
        .collect();
    // Own first, so a partner's facility cannot take the name of one of
    // this node's.
    live.sort_by(|a, b| {
        (!a.own, a.facility.name.to_lowercase()).cmp(&(!b.own, b.facility.name.to_lowercase()))
    });
    let mut names = BTreeSet::new();
    let mut skipped = Vec::new();
    let mut kept = Vec::new();
    for r in live {
        if names.insert(r.facility.name.to_lowercase()) {
            kept.push(r);
        } else {
            skipped.push(format!(
                "{} from {}: the name {:?} is taken",
                r.id, r.source, r.facility.name
            ));
        }
    }
    kept.sort_by_key(|r| r.facility.name.to_lowercase());
    let registry = Registry::new(kept.iter().map(|r| r.facility.clone()).collect())?;
    Ok((registry, kept, skipped))
}

/// One millisecond after `t` (a new version must be later than the last).
fn a_millisecond_after(t: Timestamp) -> Timestamp {
    let nanos = t.nanos / 1_000_000 * 1_000_000 + 1_000_000;
    Timestamp::from_unix(
        t.unix_seconds + i64::from(nanos / 1_000_000_000),
        nanos % 1_000_000_000,
    )
}

/// Stores `objects` in [`FACILITY_COLLECTION`] (all or nothing).
fn store_facilities(
    store: &dyn Backend,
    name: &str,
    objects: &[Object],
) -> Result<(), FacilityFailure> {
    let write = |reason: String| FacilityFailure::Write {
        name: name.to_owned(),
        reason,
    };
    let texts: Vec<String> = objects.iter().map(Object::to_json).collect();
    let docs: Vec<Doc<'_>> = texts
        .iter()
        .map(|t| Doc::parse(t))
        .collect::<Result<_, _>>()
        .map_err(|e| write(e.to_string()))?;
    let metas: Vec<ObjectMeta> = docs.iter().filter_map(ObjectMeta::from_doc).collect();
    if metas.len() != texts.len() {
        return Err(write("an object has no id or type".into()));
    }
    let objs: Vec<_> = metas
        .iter()
        .zip(&texts)
        .map(|(m, t)| m.new_object(t, FACILITY_COLLECTION, ORIGIN))
        .collect();
    let outcomes = store
        .writer()
        .put_batch(&objs)
        .map_err(|e| write(e.to_string()))?;
    for (o, m) in outcomes.iter().zip(&metas) {
        if let PutOutcome::Conflict { .. } = o {
            return Err(write(format!(
                "{} (modified {}) is already stored with other content",
                m.id(),
                m.modified().unwrap_or("")
            )));
        }
    }
    Ok(())
}

/// The facilities registered here (own and received), as now in the store.
///
/// # Errors
/// As [`FacilityWatch::refresh`].
pub fn list(store: &dyn ObjectRead) -> Result<Vec<Registered>, FacilityFailure> {
    Ok(FacilityWatch::new().refresh(store)?.facilities)
}

/// Registers facilities of this node: each is checked, and refused when a
/// facility of the same name is live here (own or a partner's); all are
/// stored in one batch, with the facility extension's definition, or none.
/// Returns their STIX ids.
///
/// # Errors
/// [`FacilityFailure::Facility`] (a bad value: the message names the
/// facility, field and value), [`FacilityFailure::Exists`],
/// [`FacilityFailure::Write`].
pub fn add(
    store: &dyn Backend,
    identity: &str,
    facilities: &[Facility],
    now: Timestamp,
) -> Result<Vec<String>, FacilityFailure> {
    let live = FacilityWatch::new().refresh(store)?.facilities;
    let mut names: BTreeSet<String> = live
        .iter()
        .map(|r| r.facility.name.to_lowercase())
        .collect();
    let mut objects = vec![accord_hotline::facility_extension_definition()];
    let mut ids = Vec::new();
    for f in facilities {
        let f = f.normalized()?;
        if !accord_hotline::is_assigned_jurisdiction(&f.jurisdiction) {
            return Err(FacilityError::Field {
                facility: f.name.clone(),
                field: "jurisdiction",
                reason: format!(
                    "{:?} is not an assigned ISO 3166-1 alpha-2 code (e.g. DE, FR, US)",
                    f.jurisdiction
                ),
            }
            .into());
        }
        if !names.insert(f.name.to_lowercase()) {
            return Err(FacilityFailure::Exists(f.name));
        }
        // A name registered before and removed: the new version follows
        // the revoked one.
        let prior = store
            .get_versions(FACILITY_COLLECTION, &f.stix_id())
            .map_err(|e| FacilityFailure::Read(Box::new(e)))?;
        let after = prior
            .iter()
            .filter_map(|o| o.modified.as_deref().and_then(|m| Timestamp::parse(m).ok()))
            .max();
        let created = prior
            .iter()
            .filter_map(|o| o.created.as_deref().and_then(|m| Timestamp::parse(m).ok()))
            .min()
            .unwrap_or(now);
        let modified = match after {
            Some(a) if a >= now => a_millisecond_after(a),
            _ => now,
        };
        ids.push(f.stix_id());
        objects.push(f.to_stix(identity, created, modified));
    }
    let label = facilities
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    store_facilities(store, &label, &objects)?;
    Ok(ids)
}

/// Removes one of this node's facilities: stores a new version of it with
/// `revoked: true` (STIX's way to withdraw an object; partners that
/// received it receive the revocation the same way). Returns its id.
///
/// # Errors
/// [`FacilityFailure::Unknown`], [`FacilityFailure::NotOwn`],
/// [`FacilityFailure::Write`].
pub fn remove(store: &dyn Backend, name: &str, now: Timestamp) -> Result<String, FacilityFailure> {
    let live = FacilityWatch::new().refresh(store)?.facilities;
    let wanted = name.trim().to_lowercase();
    let Some(r) = live
        .iter()
        .find(|r| r.facility.name.to_lowercase() == wanted)
    else {
        return Err(FacilityFailure::Unknown {
            name: name.to_owned(),
            known: if live.is_empty() {
                "none".to_owned()
            } else {
                live.iter()
                    .map(|r| r.facility.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        });
    };
    if !r.own {
        return Err(FacilityFailure::NotOwn {
            name: r.facility.name.clone(),
            source_name: r.source.clone(),
        });
    }
    let versions = store
        .get_versions(FACILITY_COLLECTION, &r.id)
        .map_err(|e| FacilityFailure::Read(Box::new(e)))?;
    let last = versions
        .iter()
        .max_by(|a, b| a.version.cmp(&b.version))
        .ok_or_else(|| FacilityFailure::Unknown {
            name: name.to_owned(),
            known: String::new(),
        })?;
    let mut obj = Object::parse(&last.raw).map_err(|e| FacilityFailure::Write {
        name: r.facility.name.clone(),
        reason: e.to_string(),
    })?;
    let prev = last
        .modified
        .as_deref()
        .and_then(|m| Timestamp::parse(m).ok())
        .unwrap_or(now);
    let modified = if prev >= now {
        a_millisecond_after(prev)
    } else {
        now
    };
    let m = obj.as_map_mut();
    m.insert("modified".into(), modified.to_millis_string().into());
    m.insert("revoked".into(), true.into());
    store_facilities(store, &r.facility.name, &[obj])?;
    Ok(r.id.clone())
}

/// Reads facilities from a file's text: CSV (the header
/// `name,owner,sector,jurisdiction,networks,domains,asns`, see
/// [`accord_hotline::facility::from_csv`]) or STIX JSON (a bundle, one
/// object, or JSON lines) of `infrastructure` or `identity` objects
/// carrying the facility extension (other objects are counted as skipped).
/// Returns the facilities and how many objects were skipped.
///
/// # Errors
/// The reason, naming the line, object or field.
pub fn parse_import(text: &str) -> Result<(Vec<Facility>, usize), FacilityError> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if !t.starts_with('{') {
        return Ok((accord_hotline::facility::from_csv(t)?, 0));
    }
    let mut objects: Vec<serde_json::Value> = Vec::new();
    match serde_json::from_str::<serde_json::Value>(t) {
        Ok(v) if v.get("type").and_then(|t| t.as_str()) == Some("bundle") => {
            match v.get("objects").and_then(|o| o.as_array()) {
                Some(a) => objects.extend(a.iter().cloned()),
                None => {
                    return Err(FacilityError::Stix {
                        id: v
                            .get("id")
                            .and_then(|i| i.as_str())
                            .unwrap_or("bundle")
                            .to_owned(),
                        path: "objects".into(),
                        reason: "no objects array".into(),
                    });
                }
            }
        }
        Ok(v) => objects.push(v),
        Err(_) => {
            for (i, line) in t.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v = serde_json::from_str(line).map_err(|e| FacilityError::Csv {
                    line: i as u64 + 1,
                    reason: format!("not JSON: {e}"),
                })?;
                objects.push(v);
            }
        }
    }
    let mut out = Vec::new();
    let mut skipped = 0;
    for v in objects {
        let obj = Object::parse(&v.to_string()).map_err(|e| FacilityError::Stix {
            id: v
                .get("id")
                .and_then(|i| i.as_str())
                .unwrap_or("?")
                .to_owned(),
            path: String::new(),
            reason: e.to_string(),
        })?;
        match Facility::from_stix(&obj)? {
            Some(f) => out.push(f),
            None => skipped += 1,
        }
    }
    Ok((out, skipped))
}

/// One object newly stored that touches protected facilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Touch {
    /// The object's id.
    pub object: String,
    /// Its type.
    pub type_name: String,
    /// Where it came from (a partner's name, an account, a file).
    pub source: String,
    /// What touches which facility.
    pub hits: Vec<FacilityHit>,
}

/// The members of an indicator or SCO that [`Registry::touches`] reads.
#[derive(serde::Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    pattern: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    pattern_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    value: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    number: Option<serde_json::Value>,
}

/// The touch of one object about to be, or just, stored: `None` at once
/// for an empty registry or a type that carries no observable, else the
/// object is parsed and read ([`Registry::touches`]).
pub fn touch_of(
    registry: &Registry,
    type_name: &str,
    id: &str,
    raw: &str,
    source: &str,
) -> Option<Touch> {
    if registry.is_empty() || !TOUCH_TYPES.contains(&type_name) || !registry.may_touch_raw(raw) {
        return None;
    }
    let hits = if type_name == "observed-data" {
        registry.touches(&Object::parse(raw).ok()?)
    } else {
        // Only the members read, borrowed: the rest of the object is
        // skipped, not built.
        let p: Probe<'_> = serde_json::from_str(raw).ok()?;
        let mut m = serde_json::Map::new();
        m.insert("type".into(), type_name.into());
        for (k, v) in [
            ("pattern", p.pattern),
            ("pattern_type", p.pattern_type),
            ("value", p.value),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), serde_json::Value::String(v.into_owned()));
            }
        }
        if let Some(n) = p.number {
            m.insert("number".into(), n);
        }
        registry.touches_value(&serde_json::Value::Object(m))
    };
    if hits.is_empty() {
        return None;
    }
    Some(Touch {
        object: id.to_owned(),
        type_name: type_name.to_owned(),
        source: source.to_owned(),
        hits,
    })
}

/// The touches of `accord match`'s hits: each hit's value, and the
/// event's other observables when kept (`--evidence`), read as the SCO of
/// its kind; one touch per indicator (the evidence attached), naming
/// each value and where it was seen (`FILE:LINE field`). At most 100 hits
/// per indicator are named.
pub fn touches_of_hits(
    registry: &Registry,
    hits: &[crate::sighting::Hit],
    names: &[String],
    indicator_id: impl Fn(u32) -> Option<String>,
) -> Vec<Touch> {
    if registry.is_empty() {
        return Vec::new();
    }
    let mut by_ord: BTreeMap<u32, BTreeSet<FacilityHit>> = BTreeMap::new();
    let mut check =
        |ord: u32, kind: Option<accord_logs::Kind>, field: &str, value: &str, at: &str| {
            let ty = match kind {
                Some(accord_logs::Kind::Ip) => "ipv4-addr",
                Some(accord_logs::Kind::Domain) => "domain-name",
                Some(accord_logs::Kind::Url) => "url",
                Some(accord_logs::Kind::Email) => "email-addr",
                Some(_) => return,
                None if value.parse::<std::net::IpAddr>().is_ok() => "ipv4-addr",
                None if value.contains("://") => "url",
                None if value.contains('@') => "email-addr",
                None => "domain-name",
            };
            let v = serde_json::json!({"type": ty, "value": value});
            let set = by_ord.entry(ord).or_default();
            for mut h in registry.touches_value(&v) {
                if set.len() >= 100 {
                    return;
                }
                h.path = format!("{at} {field}");
                set.insert(h);
            }
        };
    for h in hits {
        let at = format!(
            "{}:{}",
            names.get(h.file as usize).map_or("?", String::as_str),
            h.line
        );
        check(h.ord, h.kind, &h.field, &h.value, &at);
        if let Some(ev) = &h.evidence {
            for (field, kind, value) in ev.iter() {
                check(h.ord, Some(*kind), field, value, &at);
            }
        }
    }
    by_ord
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .filter_map(|(ord, s)| {
            Some(Touch {
                object: indicator_id(ord)?,
                type_name: "indicator".into(),
                source: "accord match".into(),
                hits: s.into_iter().collect(),
            })
        })
        .collect()
}

/// What [`escalate`] did for one facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalated {
    /// The facility.
    pub facility: String,
    /// Its jurisdiction.
    pub jurisdiction: String,
    /// The case (incident id).
    pub case: String,
    /// A new case (else a note on an open one).
    pub opened: bool,
    /// The partner the case is addressed to; `None`: kept local.
    pub partner: Option<String>,
    /// The evidence attached (object ids).
    pub evidence: Vec<String>,
}

impl Escalated {
    /// One line for people: `protected facility NAME VERB N NOUN(s): opened
    /// critical case ID (to partner P)`, e.g. `("hit by", "indicator")`.
    pub fn line(&self, verb: &str, noun: &str) -> String {
        format!(
            "protected facility {} {verb} {} {noun}(s): {} case {} ({})",
            self.facility,
            self.evidence.len(),
            if self.opened {
                "opened critical"
            } else {
                "noted on"
            },
            self.case,
            self.partner
                .as_deref()
                .map_or("kept local".to_owned(), |p| format!("to partner {p}"))
        )
    }
}

/// The hits on one facility, by evidence object id.
type Evidence<'a> = BTreeMap<&'a str, Vec<(&'a Touch, &'a FacilityHit)>>;

/// One escalation at a time in this process (the scheduler's partner
/// threads and the TAXII POSTs), and in a cluster across its processes
/// (the store's [`Exclusive::FacilityEscalation`] section), so two touches
/// of one facility cannot open two cases.
static ESCALATING: Mutex<()> = Mutex::new(());

/// Escalates `touches` (see the module documentation): per facility, a
/// critical case opened or a note added to its open case; evidence already
/// attached to a case of that facility adds nothing. Each escalation is
/// logged (a `warn` line).
///
/// # Errors
/// [`FacilityFailure::Hotline`] naming the facility (what was done for
/// facilities before it stays done).
pub fn escalate(
    config: &Config,
    store: &dyn Backend,
    touches: &[Touch],
    now: Timestamp,
) -> Result<Vec<Escalated>, FacilityFailure> {
    if touches.is_empty() {
        return Ok(Vec::new());
    }
    let _one = ESCALATING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let section = accord_store::Exclusive::FacilityEscalation;
    store
        .begin_exclusive(section)
        .map_err(|e| FacilityFailure::Exclusive(Box::new(e)))?;
    let r = escalate_alone(config, store, touches, now);
    store.end_exclusive(section);
    r
}

/// [`escalate`], once this process is the only one escalating.
fn escalate_alone(
    config: &Config,
    store: &dyn Backend,
    touches: &[Touch],
    now: Timestamp,
) -> Result<Vec<Escalated>, FacilityFailure> {
    // Per facility: its jurisdiction and (evidence id → hits).
    let mut by_facility: BTreeMap<&str, (&str, Evidence<'_>)> = BTreeMap::new();
    for t in touches {
        for h in &t.hits {
            by_facility
                .entry(&h.facility)
                .or_insert_with(|| (&h.jurisdiction, BTreeMap::new()))
                .1
                .entry(&t.object)
                .or_default()
                .push((t, h));
        }
    }
    let hot_err = |facility: &str, e: HotlineError| FacilityFailure::Hotline {
        facility: facility.to_owned(),
        source: Box::new(e),
    };
    let first = by_facility.keys().next().copied().unwrap_or_default();
    let hotline =
        Hotline::new(config, store, now.unix_seconds * 1_000_000).map_err(|e| hot_err(first, e))?;
    let me = hotline.identity().to_owned();
    let docket = hotline.docket().map_err(|e| hot_err(first, e))?;
    let partners_by_identity: HashMap<&str, &str> = config
        .partners
        .iter()
        .filter_map(|p| p.identity.as_deref().map(|i| (i, p.name.as_str())))
        .collect();
    let mine = config
        .residency
        .jurisdiction
        .as_deref()
        .map(str::to_ascii_uppercase);
    let mut done = Vec::new();
    for (facility, (jurisdiction, evidence)) in by_facility {
        let lname = facility.to_lowercase();
        let cases: Vec<&Case> = docket
            .cases()
            .filter(|c| {
                let h = c.header();
                !h.exercise
                    && h.facility.as_deref().map(str::to_lowercase) == Some(lname.clone())
                    && (h.from == me || h.to == me)
            })
            .collect();
        let attached: BTreeSet<String> = cases
            .iter()
            .flat_map(|c| c.messages().into_iter().flat_map(|m| m.attachments))
            .collect();
        let fresh: Vec<(&str, &Vec<(&Touch, &FacilityHit)>)> = evidence
            .iter()
            .filter(|(id, _)| !attached.contains(**id))
            .map(|(id, v)| (*id, v))
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let ids: Vec<String> = fresh
            .iter()
            .take(MAX_EVIDENCE)
            .map(|(id, _)| (*id).to_owned())
            .collect();
        let mut text = String::new();
        for (id, hits) in fresh.iter().take(MAX_LISTED) {
            for (t, h) in hits.iter().take(4) {
                text.push_str(&format!(
                    "{id} ({}, from {}): {} {} at {}\n",
                    t.type_name,
                    t.source,
                    h.matched,
                    serde_json::to_value(h.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    h.path
                ));
            }
        }
        if fresh.len() > MAX_LISTED {
            text.push_str(&format!(
                "… and {} more objects\n",
                fresh.len() - MAX_LISTED
            ));
        }
        let open = cases
            .iter()
            .filter(|c| !matches!(c.state(), State::Resolved | State::Declined))
            .max_by_key(|c| c.header().created);
        let noted = match open {
            Some(c) => {
                let body = format!(
                    "Protected facility {facility} ({jurisdiction}) touched again by {} object(s):\n{text}",
                    fresh.len()
                );
                match hotline.act(c.id(), Action::Reply, &body, &ids, now) {
                    Ok(_) => Some(c),
                    Err(HotlineError::Refused(e)) => {
                        tracing::warn!(
                            "facility {facility}: a note on case {} is refused ({e}); opening a new case",
                            c.id()
                        );
                        None
                    }
                    Err(e) => return Err(hot_err(facility, e)),
                }
            }
            None => None,
        };
        let (case, opened, to) = match noted {
            Some(c) => {
                let h = c.header();
                let other = if h.from == me { &h.to } else { &h.from };
                (c.id().to_owned(), false, other.clone())
            }
            None => {
                let own = mine.as_deref() == Some(jurisdiction);
                let partner = (!own)
                    .then(|| {
                        config.partners.iter().find(|p| {
                            p.identity.is_some()
                                && p.jurisdiction
                                    .as_deref()
                                    .is_some_and(|j| j.eq_ignore_ascii_case(jurisdiction))
                        })
                    })
                    .flatten();
                let to = partner
                    .and_then(|p| p.identity.clone())
                    .unwrap_or_else(|| me.clone());
                let mut description = format!(
                    "Objects received by this node touch the protected facility {facility} (jurisdiction {jurisdiction}). Every touch of a protected facility opens a critical case."
                );
                if !own && partner.is_none() {
                    description.push_str(&format!(
                        " No partner of jurisdiction {jurisdiction} with an identity is configured: the case is kept here."
                    ));
                }
                let req = OpenCase {
                    case_uuid: case_uuid(&format!("facility|{lname}|{}", ids[0])),
                    from: me.clone(),
                    to: to.clone(),
                    severity: Severity::Critical,
                    title: format!("Protected facility {facility} touched"),
                    description: Some(description),
                    text: format!(
                        "{} object(s) touch protected facility {facility}:\n{text}",
                        fresh.len()
                    ),
                    attachments: ids.clone(),
                    assistance: Vec::new(),
                    exercise: false,
                    facility: Some(facility.to_owned()),
                };
                let id = hotline
                    .open_prepared(req, now)
                    .map_err(|e| hot_err(facility, e))?;
                (id, true, to)
            }
        };
        let partner = partners_by_identity
            .get(to.as_str())
            .map(|s| (*s).to_owned());
        tracing::warn!(
            "protected facility {facility} ({jurisdiction}) touched by {}: {} case {case}, {}",
            ids.join(", "),
            if opened {
                "opened critical"
            } else {
                "noted on"
            },
            match &partner {
                Some(p) => format!("addressed to partner `{p}`"),
                None => "kept local".to_owned(),
            }
        );
        done.push(Escalated {
            facility: facility.to_owned(),
            jurisdiction: jurisdiction.to_owned(),
            case,
            opened,
            partner,
            evidence: ids,
        });
    }
    if let Some(url) = &config.hotline.webhook {
        notify_in_background(url, &done);
    }
    Ok(done)
}

/// The JSON a facility escalation is posted as to `[hotline] webhook`.
pub fn escalated_json(e: &Escalated) -> serde_json::Value {
    serde_json::json!({
        "event": "facility-touch",
        "facility": e.facility,
        "jurisdiction": e.jurisdiction,
        "case": e.case,
        "severity": "critical",
        "opened": e.opened,
        "partner": e.partner,
        "evidence": e.evidence,
    })
}

/// Webhook posts under way (see [`wait_for_webhooks`]).
static IN_FLIGHT: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
static SETTLED: std::sync::Condvar = std::sync::Condvar::new();

/// Posts each escalation to the webhook on a thread of its own (3
/// attempts, 2 s then 4 s apart), so a slow or dead webhook never holds
/// up the storing that found the touch; a failure is logged (the case
/// itself is recorded already). A command that exits soon after calls
/// [`wait_for_webhooks`].
fn notify_in_background(url: &str, done: &[Escalated]) {
    if done.is_empty() {
        return;
    }
    let bodies: Vec<(String, serde_json::Value)> = done
        .iter()
        .map(|e| {
            (
                format!("facility {} case {}", e.facility, e.case),
                escalated_json(e),
            )
        })
        .collect();
    let url = url.to_owned();
    *IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
    let spawned = std::thread::Builder::new()
        .name("accord-webhook".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => {
                    for (what, body) in &bodies {
                        if let Err(e) = rt.block_on(crate::hotline::post_webhook(
                            &url,
                            body,
                            what,
                            3,
                            std::time::Duration::from_secs(2),
                        )) {
                            tracing::error!("{e}");
                        }
                    }
                }
                Err(e) => tracing::error!("facility webhook: no runtime: {e}"),
            }
            settle_one();
        });
    if let Err(e) = spawned {
        tracing::error!("facility webhook: no thread: {e}");
        settle_one();
    }
}

fn settle_one() {
    let mut n = IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *n = n.saturating_sub(1);
    SETTLED.notify_all();
}

/// Waits until every webhook post started by [`escalate`] is delivered or
/// given up, at most `timeout`; whether all settled.
pub fn wait_for_webhooks(timeout: std::time::Duration) -> bool {
    let n = IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (n, _) = SETTLED
        .wait_timeout_while(n, timeout, |n| *n > 0)
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *n == 0
}

/// [`escalate`] with its outcome logged rather than returned: for the
/// paths that store objects from outside (a failure to escalate must not
/// fail the storing, which is done and durable).
pub fn escalate_logged(config: &Config, store: &dyn Backend, touches: &[Touch], now: Timestamp) {
    if let Err(e) = escalate(config, store, touches, now) {
        tracing::error!("{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_store::SqliteStore;

    const B: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0b02";

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    /// A node in jurisdiction FR with partner `b` of jurisdiction DE.
    fn node() -> (tempfile::TempDir, Config, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "data_dir = {:?}\n[[api_roots]]\nname = \"api1\"\ntitle = \"t\"\n[residency]\njurisdiction = \"FR\"\n[[partners]]\nname = \"b\"\nurl = \"http://b/\"\nverifier_key = \"\"\njurisdiction = \"DE\"\nidentity = \"{B}\"\n",
            dir.path().display().to_string()
        );
        let config = Config::parse(&text, "t.toml").unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        (dir, config, store)
    }

    fn fac(name: &str, j: &str, net: &str) -> Facility {
        Facility {
            name: name.into(),
            owner: None,
            sector: None,
            jurisdiction: j.into(),
            networks: vec![net.into()],
            domains: vec![],
            asns: vec![],
        }
    }

    /// Stores `raw` as received from partner `p`.
    fn receive(store: &SqliteStore, p: &str, raw: &str) -> PutOutcome {
        let doc = Doc::parse(raw).unwrap();
        let m = ObjectMeta::from_doc(&doc).unwrap();
        let origin = format!("partner:{p}");
        let coll = format!("from-{p}");
        store
            .writer()
            .put_batch(&[m.new_object(raw, &coll, &origin)])
            .unwrap()
            .remove(0)
    }

    fn indicator(n: u32, pattern: &str) -> (String, String) {
        let id = format!("indicator--00000000-0000-4000-8000-{n:012}");
        let raw = serde_json::json!({
            "type": "indicator", "spec_version": "2.1", "id": id,
            "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
            "pattern_type": "stix", "pattern": pattern, "valid_from": "2026-12-01T10:00:00Z"
        })
        .to_string();
        (id, raw)
    }

    #[test]
    fn own_facilities_win_over_a_partners_and_bad_ones_are_left_out() {
        let (_d, _c, store) = node();
        let now = t("2026-12-01T10:00:00Z");
        add(&store, B, &[fac("Grid", "FR", "203.0.113.0/24")], now).unwrap();
        let watch = FacilityWatch::new();
        assert_eq!(watch.registry(&store).unwrap().facilities().len(), 1);
        // A partner sends a later revoked version of the same id: ignored.
        let mine = fac("Grid", "FR", "203.0.113.0/24").normalized().unwrap();
        let mut revoked = mine.to_stix(B, now, t("2026-12-02T00:00:00Z")).into_map();
        revoked.insert("revoked".into(), true.into());
        receive(&store, "b", &Object::from_map(revoked).to_json());
        // …a facility of the same name under another id: left out.
        let mut other = fac("GRID", "DE", "198.51.100.0/24")
            .normalized()
            .unwrap()
            .to_stix(B, now, now)
            .into_map();
        other.insert(
            "id".into(),
            "infrastructure--5d0092c5-5f74-4287-9642-33f4c354e56e".into(),
        );
        receive(&store, "b", &Object::from_map(other).to_json());
        // …a malformed one: left out, the registry still builds.
        let mut bad = fac("Port", "NL", "192.0.2.0/24")
            .normalized()
            .unwrap()
            .to_stix(B, now, now)
            .into_map();
        bad["extensions"][FACILITY_EXTENSION_ID]["networks"] = serde_json::json!(["0.0.0.0/0"]);
        receive(&store, "b", &Object::from_map(bad).to_json());
        // …and a good one: counted.
        let good = fac("Bank", "DE", "198.18.0.0/16")
            .normalized()
            .unwrap()
            .to_stix(B, now, now);
        receive(&store, "b", &good.to_json());
        let snap = watch.refresh(&store).unwrap();
        let (reg, live, skipped) = (snap.registry, snap.facilities, snap.skipped);
        let names: Vec<(&str, bool, &str)> = live
            .iter()
            .map(|r| (r.facility.name.as_str(), r.own, r.source.as_str()))
            .collect();
        assert_eq!(names, [("Bank", false, "b"), ("Grid", true, "self")]);
        assert_eq!(reg.facilities().len(), 2);
        assert!(
            skipped.iter().any(|s| s.contains("is taken")),
            "{skipped:?}"
        );
        assert!(
            skipped.iter().any(|s| s.contains("wider than /8")),
            "{skipped:?}"
        );
        // The partner's own facility may be revoked by the partner.
        let mut gone = good.into_map();
        gone.insert("modified".into(), "2026-12-03T00:00:00.000Z".into());
        gone.insert("revoked".into(), true.into());
        receive(&store, "b", &Object::from_map(gone).to_json());
        let live = watch.refresh(&store).unwrap().facilities;
        assert_eq!(live.len(), 1);
        // Only own facilities are removed here.
        remove(&store, "grid", t("2026-12-04T00:00:00Z")).unwrap();
        // The name is free now: the partner's GRID counts.
        let live = watch.refresh(&store).unwrap().facilities;
        assert_eq!(live.len(), 1);
        assert_eq!(
            (live[0].facility.name.as_str(), live[0].own),
            ("GRID", false)
        );
        assert!(matches!(
            remove(&store, "GRID", now),
            Err(FacilityFailure::NotOwn { .. })
        ));
        assert!(matches!(
            remove(&store, "Nope", now),
            Err(FacilityFailure::Unknown { .. })
        ));
    }

    #[test]
    fn a_touch_opens_one_case_then_notes_and_never_twice() {
        let (_d, config, store) = node();
        let now = t("2026-12-01T10:00:00Z");
        add(
            &store,
            B,
            &[
                fac("Bank", "DE", "198.51.100.0/24"),
                fac("Grid", "FR", "203.0.113.0/24"),
            ],
            now,
        )
        .unwrap();
        let reg = FacilityWatch::new().registry(&store).unwrap();
        let (i1, r1) = indicator(1, "[ipv4-addr:value = '198.51.100.7']");
        let (i2, r2) = indicator(2, "[ipv4-addr:value = '203.0.113.7']");
        let (i3, r3) = indicator(3, "[ipv4-addr:value = '10.1.1.1']");
        let touches: Vec<Touch> = [(&i1, &r1), (&i2, &r2), (&i3, &r3)]
            .iter()
            .filter_map(|(i, r)| touch_of(&reg, "indicator", i, r, "b"))
            .collect();
        assert_eq!(touches.len(), 2);
        // Not a type that carries observables: not even parsed.
        assert!(touch_of(&reg, "report", &i1, "not json", "b").is_none());
        let done = escalate(&config, &store, &touches, now).unwrap();
        assert_eq!(done.len(), 2);
        let bank = done.iter().find(|e| e.facility == "Bank").unwrap();
        assert!(bank.opened);
        assert_eq!(bank.partner.as_deref(), Some("b"), "DE: partner b");
        assert_eq!(bank.evidence, std::slice::from_ref(&i1));
        let grid = done.iter().find(|e| e.facility == "Grid").unwrap();
        assert_eq!(grid.partner, None, "FR is this node's own: kept local");
        // The same touches again: nothing.
        assert!(escalate(&config, &store, &touches, now).unwrap().is_empty());
        // A new touch of Bank: a note on its open case.
        let (i4, r4) = indicator(4, "[ipv4-addr:value = '198.51.100.8']");
        let t4 = touch_of(&reg, "indicator", &i4, &r4, "b").unwrap();
        let later = t("2026-12-01T10:05:00Z");
        let done = escalate(&config, &store, &[t4], later).unwrap();
        assert_eq!(done.len(), 1);
        assert!(!done[0].opened);
        assert_eq!(done[0].case, bank.case);
        let hotline = Hotline::new(&config, &store, 0).unwrap();
        let cases = hotline.list(None, false, later).unwrap();
        assert_eq!(cases.len(), 2);
        let c = cases.iter().find(|c| c.summary.id == bank.case).unwrap();
        assert_eq!(c.summary.facility.as_deref(), Some("Bank"));
        assert_eq!(c.summary.severity, Severity::Critical);
        assert!(!c.summary.exercise);
        assert_eq!(c.partner, "b");
        // Once resolved, a new touch opens a new case.
        let d = hotline.show(&bank.case, later).unwrap();
        assert_eq!(d.messages.len(), 2);
        let (i5, r5) = indicator(5, "[ipv4-addr:value = '198.51.100.9']");
        let t5 = touch_of(&reg, "indicator", &i5, &r5, "b").unwrap();
        // Grid's case is local: this node resolves it.
        let g = &grid.case;
        hotline
            .act(g, Action::Ack, "", &[], t("2026-12-01T10:06:00Z"))
            .unwrap();
        hotline
            .act(g, Action::Resolve, "done", &[], t("2026-12-01T10:07:00Z"))
            .unwrap();
        let (i6, r6) = indicator(6, "[ipv4-addr:value = '203.0.113.9']");
        let t6 = touch_of(&reg, "indicator", &i6, &r6, "b").unwrap();
        let done = escalate(&config, &store, &[t5, t6], t("2026-12-01T10:08:00Z")).unwrap();
        let g2 = done.iter().find(|e| e.facility == "Grid").unwrap();
        assert!(g2.opened && g2.case != *g, "{done:?}");
        let b2 = done.iter().find(|e| e.facility == "Bank").unwrap();
        assert!(!b2.opened, "Bank's case is still open");
    }

    #[test]
    fn a_watch_reads_each_row_once_and_still_sees_later_facilities() {
        let (_d, _config, store) = node();
        let now = t("2026-12-01T10:00:00Z");
        let watch = FacilityWatch::new();
        assert!(watch.registry(&store).unwrap().is_empty());
        // Rows stored since: the next refresh starts after the highest
        // seq it saw, and finds a facility added after it.
        let (i1, r1) = indicator(1, "[ipv4-addr:value = '198.51.100.7']");
        assert!(touch_of(&watch.registry(&store).unwrap(), "indicator", &i1, &r1, "b").is_none());
        add(&store, B, &[fac("Bank", "DE", "198.51.100.0/24")], now).unwrap();
        let before = watch.state.lock().unwrap().after_seq;
        let reg = watch.registry(&store).unwrap();
        assert_eq!(reg.facilities().len(), 1);
        assert!(touch_of(&reg, "indicator", &i1, &r1, "b").is_some());
        let after = watch.state.lock().unwrap().after_seq;
        assert!(after > before, "{before} -> {after}");
        assert_eq!(after, store.max_seq().unwrap());
    }

    #[test]
    fn a_touch_is_posted_to_the_webhook() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&got).contains("\"event\"") || !got.ends_with(b"}") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
            let text = String::from_utf8_lossy(&got).to_string();
            text[text.find("\r\n\r\n").unwrap() + 4..].to_owned()
        });
        let (_d, mut config, store) = node();
        config.hotline.webhook = Some(url);
        let now = t("2026-12-01T10:00:00Z");
        add(&store, B, &[fac("Bank", "DE", "198.51.100.0/24")], now).unwrap();
        let reg = FacilityWatch::new().registry(&store).unwrap();
        let (i1, r1) = indicator(1, "[ipv4-addr:value = '198.51.100.7']");
        let touch = touch_of(&reg, "indicator", &i1, &r1, "b").unwrap();
        let done = escalate(&config, &store, &[touch], now).unwrap();
        assert!(wait_for_webhooks(std::time::Duration::from_secs(30)));
        let v: serde_json::Value = serde_json::from_str(&server.join().unwrap()).unwrap();
        assert_eq!(v["event"], "facility-touch");
        assert_eq!(v["facility"], "Bank");
        assert_eq!(v["case"], done[0].case.as_str());
        assert_eq!(v["opened"], true);
        assert_eq!(v["partner"], "b");
        assert_eq!(v["evidence"][0], i1.as_str());
    }

    #[test]
    fn imports_csv_bundles_and_json_lines() {
        let (fs, skipped) =
            parse_import("name,jurisdiction,networks\nGrid,FR,203.0.113.0/24\n").unwrap();
        assert_eq!((fs.len(), skipped), (1, 0));
        let now = t("2026-12-01T10:00:00Z");
        let o = fs[0].to_stix(B, now, now).to_json();
        let bundle = format!(
            r#"{{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{o},{{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"10.0.0.1"}}]}}"#
        );
        assert_eq!(parse_import(&bundle).unwrap(), (fs.clone(), 1));
        assert_eq!(parse_import(&format!("{o}\n{o}\n")).unwrap().0.len(), 2);
        let e = parse_import("{\"type\":\"bundle\"}").unwrap_err();
        assert!(e.to_string().contains("no objects array"), "{e}");
        let e = parse_import(&format!("{o}\n{{nope\n")).unwrap_err();
        assert!(e.to_string().starts_with("CSV line 2: not JSON"), "{e}");
    }

    /// The cost of the check per object: `touch_of` over 100,000
    /// generated indicators against 1,000 facilities (run with
    /// `cargo test --release -p accord-app facility::tests::cost -- --ignored --nocapture`).
    #[test]
    #[ignore = "a measurement"]
    fn cost() {
        let mut text = Vec::new();
        crate::generate::indicators(100_000, 7, &mut text, |_| ()).unwrap();
        let text = String::from_utf8(text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let fs: Vec<Facility> = (0..1000u32)
            .map(|i| Facility {
                name: format!("F{i}"),
                owner: None,
                sector: None,
                jurisdiction: "DE".into(),
                networks: vec![format!("10.{}.{}.0/24", i / 256, i % 256)],
                domains: vec![format!("f{i}.example")],
                asns: vec![],
            })
            .collect();
        // For scale: what parsing each object once costs (admission
        // parses and validates every object).
        let start = std::time::Instant::now();
        for l in &lines {
            std::hint::black_box(Object::parse(l).ok());
        }
        let e = start.elapsed();
        println!(
            "Object::parse alone: {:.2} µs per object",
            e.as_secs_f64() * 1e6 / lines.len() as f64
        );
        let reg = Registry::new(fs.clone()).unwrap();
        let start = std::time::Instant::now();
        let passed = lines.iter().filter(|l| reg.may_touch_raw(l)).count();
        let e = start.elapsed();
        println!(
            "the raw prefilter alone: {:.2} µs per object, {passed} of {} passed",
            e.as_secs_f64() * 1e6 / lines.len() as f64,
            lines.len()
        );
        for (label, reg) in [
            ("empty registry", Registry::new(Vec::new()).unwrap()),
            ("1,000 facilities", Registry::new(fs).unwrap()),
        ] {
            let start = std::time::Instant::now();
            let mut n = 0;
            for l in &lines {
                let _ = std::hint::black_box(l);
                if touch_of(&reg, "indicator", "indicator--x", l, "b").is_some() {
                    n += 1;
                }
            }
            let e = start.elapsed();
            println!(
                "{label}: {} objects in {:.1} ms, {:.2} µs per object, {n} touches",
                lines.len(),
                e.as_secs_f64() * 1e3,
                e.as_secs_f64() * 1e6 / lines.len() as f64
            );
        }
    }
}
