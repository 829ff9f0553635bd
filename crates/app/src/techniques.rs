//! Indicators broken down by ATT&CK technique: an indicator counts for a
//! technique when a `relationship` of type `indicates` goes from it to the
//! technique's `attack-pattern` (any collection, latest versions, revoked
//! relationships left out); the technique is named by its ATT&CK id
//! (`T0803`, the `external_id` of its `mitre-attack`, `mitre-ics-attack` or
//! `mitre-mobile-attack` external reference) and name from the
//! `attack-pattern` held (an ATT&CK release loaded with `accord import
//! attack`), else by its STIX id.
//!
//! A hotline case relates to a technique when an object attached to any of
//! its messages (the evidence, [`accord_hotline::MessageSummary::attachments`])
//! is an indicator that indicates the technique, or is the technique's
//! attack-pattern itself ([`cases_by_technique`]).
//!
//! [`TechniqueIndex`] holds what the breakdown needs (each `indicates`
//! link and each attack-pattern's id and name, nothing of other objects)
//! and follows the store by `seq` ([`TechniqueIndex::catch_up`]: one
//! indexed query per collection for the two types), so a long-running
//! node (the dashboard) keeps it current without reading the store again;
//! [`Snapshot`] is what pages read.

use accord_store::{ObjectRead, Query, StoreError, StoredObject, VersionFilter};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One technique's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TechniqueRow {
    /// The ATT&CK id (`T1566.001`), or the attack-pattern's STIX id when
    /// this node does not hold it (or it has no ATT&CK id).
    pub technique: String,
    /// The attack-pattern's name, when held.
    pub name: Option<String>,
    /// Distinct indicators that indicate it.
    pub indicators: u64,
}

/// The breakdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    /// Per technique, most indicators first.
    pub techniques: Vec<TechniqueRow>,
    /// Distinct indicators that indicate at least one technique.
    pub indicators: u64,
    /// `indicates` relationships from an indicator to an attack-pattern read.
    pub relationships: u64,
}

/// The ATT&CK id of an attack-pattern (its `mitre-*attack` external
/// reference), if any.
pub fn attack_id(v: &serde_json::Value) -> Option<&str> {
    v["external_references"].as_array()?.iter().find_map(|e| {
        let s = e["source_name"].as_str()?;
        (s.starts_with("mitre-") && s.ends_with("attack"))
            .then(|| e["external_id"].as_str())
            .flatten()
    })
}

/// One relationship as last seen: its version and, when it is a live
/// `indicates` from an indicator to an attack-pattern, the two ids.
#[derive(Debug, Clone)]
struct Rel {
    version: String,
    link: Option<(String, String)>,
}

/// One attack-pattern as last seen.
#[derive(Debug, Clone)]
struct Ap {
    version: String,
    technique: Option<String>,
    name: Option<String>,
}

/// What the breakdown needs from the store, kept up by `seq` (see the
/// module documentation).
#[derive(Debug, Default, Clone)]
pub struct TechniqueIndex {
    /// Every row with `seq` up to this was read.
    after: i64,
    /// Per collection, the `seq` read up to when a call stopped on its
    /// budget before catching up (above `after`).
    cursors: HashMap<String, i64>,
    /// Relationships by (collection, id).
    rels: HashMap<(String, String), Rel>,
    /// Attack-patterns by id (any collection; the newest version names it).
    aps: HashMap<String, Ap>,
    /// Whether anything changed since the last [`TechniqueIndex::snapshot`].
    dirty: bool,
}

/// The two types the index reads.
fn types() -> Vec<String> {
    vec!["relationship".to_owned(), "attack-pattern".to_owned()]
}

/// Rows per query page.
const PAGE: usize = 4096;

impl TechniqueIndex {
    /// The index of everything `store` holds now.
    ///
    /// # Errors
    /// The store's.
    pub fn load(store: &dyn ObjectRead) -> Result<TechniqueIndex, StoreError> {
        let mut ix = TechniqueIndex::default();
        ix.catch_up(store, usize::MAX)?;
        Ok(ix)
    }

    /// The highest `seq` read.
    pub fn position(&self) -> i64 {
        self.after
    }

    /// Reads what was stored since the last call: per collection, the
    /// relationships and attack-patterns with a `seq` above the last one
    /// read and up to the store's highest `seq` when the call began, at
    /// most `budget` rows in all (the rest on the next call). Returns the
    /// rows read and whether it caught up.
    ///
    /// # Errors
    /// The store's.
    pub fn catch_up(
        &mut self,
        store: &dyn ObjectRead,
        budget: usize,
    ) -> Result<(usize, bool), StoreError> {
        let top = store.max_seq()?;
        if top <= self.after {
            return Ok((0, true));
        }
        let mut read = 0usize;
        let mut caught_up = true;
        for c in store.collections()? {
            let from = self
                .cursors
                .get(&c.name)
                .copied()
                .unwrap_or(0)
                .max(self.after);
            let mut q = Query {
                collection: Some(c.name.clone()),
                types: types(),
                versions: VersionFilter::all(),
                after_seq: from,
                ..Query::default()
            };
            let mut done = false;
            while !done {
                let room = budget.saturating_sub(read);
                if room == 0 {
                    caught_up = false;
                    break;
                }
                let page = store.query(&q, room.min(PAGE))?;
                for o in &page.objects {
                    if o.seq > top {
                        done = true;
                        break;
                    }
                    read += 1;
                    self.add(o);
                    q.after_seq = o.seq;
                }
                if !page.more {
                    done = true;
                }
            }
            self.cursors
                .insert(c.name, if done { top } else { q.after_seq });
        }
        if caught_up {
            self.after = top;
            self.cursors.clear();
        }
        Ok((read, caught_up))
    }

    /// Takes one stored version into account (others than relationships
    /// and attack-patterns are ignored; an older version than the one held
    /// changes nothing).
    pub fn add(&mut self, o: &StoredObject) {
        match o.type_name.as_str() {
            "relationship" => {
                let key = (o.collection.clone(), o.id.clone());
                if self.rels.get(&key).is_some_and(|r| r.version >= o.version) {
                    return;
                }
                let link = serde_json::from_str::<serde_json::Value>(&o.raw)
                    .ok()
                    .and_then(|v| {
                        if v["relationship_type"] != "indicates" || v["revoked"] == true {
                            return None;
                        }
                        let src = v["source_ref"].as_str()?;
                        let dst = v["target_ref"].as_str()?;
                        (src.starts_with("indicator--") && dst.starts_with("attack-pattern--"))
                            .then(|| (src.to_owned(), dst.to_owned()))
                    });
                let had = self.rels.get(&key).and_then(|r| r.link.clone());
                if had.is_some() || link.is_some() {
                    self.dirty = true;
                }
                self.rels.insert(
                    key,
                    Rel {
                        version: o.version.clone(),
                        link,
                    },
                );
            }
            "attack-pattern" => {
                if self.aps.get(&o.id).is_some_and(|a| a.version >= o.version) {
                    return;
                }
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&o.raw) else {
                    return;
                };
                self.dirty = true;
                self.aps.insert(
                    o.id.clone(),
                    Ap {
                        version: o.version.clone(),
                        technique: attack_id(&v).map(str::to_owned),
                        name: v["name"].as_str().map(str::to_owned),
                    },
                );
            }
            _ => {}
        }
    }

    /// Whether anything that changes the breakdown was read since the last
    /// snapshot.
    pub fn changed(&self) -> bool {
        self.dirty
    }

    /// What the pages read: per technique, per collection of the
    /// relationship, the indicators.
    pub fn snapshot(&mut self) -> Snapshot {
        self.dirty = false;
        let mut snap = Snapshot::default();
        for ((collection, _), rel) in &self.rels {
            let Some((ind, ap)) = &rel.link else { continue };
            let (tech, name) = match self.aps.get(ap) {
                Some(a) => (
                    a.technique.clone().unwrap_or_else(|| ap.clone()),
                    a.name.clone(),
                ),
                None => (ap.clone(), None),
            };
            snap.relationships
                .entry(collection.clone())
                .and_modify(|n| *n += 1)
                .or_insert(1);
            let entry = snap.techniques.entry(tech.clone()).or_default();
            if entry.name.is_none() {
                entry.name = name;
            }
            entry
                .by_collection
                .entry(collection.clone())
                .or_default()
                .insert(ind.clone());
            snap.of_object
                .entry(ind.clone())
                .or_default()
                .insert(tech.clone());
            snap.of_object.entry(ap.clone()).or_default().insert(tech);
        }
        // An attack-pattern no indicator indicates still names its
        // technique (a case may attach it directly).
        for (id, a) in &self.aps {
            if let Some(t) = &a.technique {
                snap.of_object
                    .entry(id.clone())
                    .or_default()
                    .insert(t.clone());
                let e = snap.techniques.entry(t.clone()).or_default();
                if e.name.is_none() {
                    e.name.clone_from(&a.name);
                }
            }
        }
        snap
    }
}

/// One technique in a [`Snapshot`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TechniqueEntry {
    /// Its name, when the attack-pattern is held.
    pub name: Option<String>,
    /// The indicators that indicate it, by the collection of the
    /// relationship that says so.
    pub by_collection: BTreeMap<String, BTreeSet<String>>,
}

/// The breakdown as pages read it ([`TechniqueIndex::snapshot`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Per technique (ATT&CK id, or an attack-pattern's STIX id).
    pub techniques: BTreeMap<String, TechniqueEntry>,
    /// Per indicator or attack-pattern id, the techniques it stands for.
    pub of_object: HashMap<String, BTreeSet<String>>,
    /// Live `indicates` relationships per collection.
    pub relationships: BTreeMap<String, u64>,
}

impl Snapshot {
    /// The breakdown over the relationships of the collections `keep`
    /// accepts (techniques no indicator indicates are left out).
    pub fn breakdown(&self, keep: impl Fn(&str) -> bool) -> Breakdown {
        let mut all: BTreeSet<&str> = BTreeSet::new();
        let mut techniques = Vec::new();
        for (tech, e) in &self.techniques {
            let sets: Vec<&BTreeSet<String>> = e
                .by_collection
                .iter()
                .filter(|(c, _)| keep(c))
                .map(|(_, s)| s)
                .collect();
            let n = match sets.as_slice() {
                [] => continue,
                [one] => {
                    all.extend(one.iter().map(String::as_str));
                    one.len()
                }
                many => {
                    let u: BTreeSet<&str> = many
                        .iter()
                        .flat_map(|s| s.iter().map(String::as_str))
                        .collect();
                    all.extend(u.iter().copied());
                    u.len()
                }
            };
            techniques.push(TechniqueRow {
                technique: tech.clone(),
                name: e.name.clone(),
                indicators: n as u64,
            });
        }
        techniques.sort_by(|a, b| {
            b.indicators
                .cmp(&a.indicators)
                .then_with(|| a.technique.cmp(&b.technique))
        });
        Breakdown {
            techniques,
            indicators: all.len() as u64,
            relationships: self
                .relationships
                .iter()
                .filter(|(c, _)| keep(c))
                .map(|(_, n)| n)
                .sum(),
        }
    }

    /// The indicators of one technique among the collections `keep`
    /// accepts, with the collection of the relationship, by id.
    pub fn indicators_of(
        &self,
        technique: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        let mut out: BTreeMap<&str, &str> = BTreeMap::new();
        if let Some(e) = self.techniques.get(technique) {
            for (c, ids) in e.by_collection.iter().filter(|(c, _)| keep(c)) {
                for id in ids {
                    out.entry(id).or_insert(c);
                }
            }
        }
        out.into_iter()
            .map(|(i, c)| (c.to_owned(), i.to_owned()))
            .collect()
    }

    /// The techniques the objects `ids` stand for (indicators that
    /// indicate one, attack-patterns).
    pub fn techniques_of<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for id in ids {
            if let Some(t) = self.of_object.get(id) {
                out.extend(t.iter().cloned());
            }
        }
        out
    }
}

/// The breakdown of the store's indicators by technique.
///
/// # Errors
/// The store's.
pub fn by_technique(store: &dyn ObjectRead) -> Result<Breakdown, StoreError> {
    Ok(TechniqueIndex::load(store)?.snapshot().breakdown(|_| true))
}

/// The cases related to each technique (see the module documentation):
/// per technique, the case ids, in order.
pub fn cases_by_technique(
    docket: &accord_hotline::Docket,
    snapshot: &Snapshot,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in docket.cases() {
        let messages = c.messages();
        let techs = snapshot.techniques_of(
            messages
                .iter()
                .flat_map(|m| m.attachments.iter().map(String::as_str)),
        );
        for t in techs {
            out.entry(t).or_default().push(c.header().id.clone());
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_store::{ObjectMeta, SqliteStore};

    const T: &str = "2026-01-01T00:00:00.000Z";

    fn put(store: &SqliteStore, collection: &str, raw: &str) {
        let doc = accord_stix::Doc::parse(raw).unwrap();
        let meta = ObjectMeta::from_doc(&doc).unwrap();
        store
            .writer()
            .put_batch(&[meta.new_object(raw, collection, "local")])
            .unwrap();
    }

    fn rel(n: u8, src: &str, dst: &str, kind: &str) -> String {
        format!(
            r#"{{"type":"relationship","spec_version":"2.1","id":"relationship--00000000-0000-4000-8000-0000000000{n:02x}","created":"{T}","modified":"{T}","relationship_type":"{kind}","source_ref":"{src}","target_ref":"{dst}"}}"#
        )
    }

    #[test]
    fn indicators_count_per_technique_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let ap1 = "attack-pattern--00000000-0000-4000-8000-000000000001";
        let ap2 = "attack-pattern--00000000-0000-4000-8000-000000000002";
        let unknown = "attack-pattern--00000000-0000-4000-8000-000000000003";
        put(
            &store,
            "attack",
            &format!(
                r#"{{"type":"attack-pattern","spec_version":"2.1","id":"{ap1}","created":"{T}","modified":"{T}","name":"Spearphishing","external_references":[{{"source_name":"mitre-attack","external_id":"T1566"}}]}}"#
            ),
        );
        // The same technique from another release.
        put(
            &store,
            "attack2",
            &format!(
                r#"{{"type":"attack-pattern","spec_version":"2.1","id":"{ap2}","created":"{T}","modified":"{T}","name":"Spearphishing","external_references":[{{"source_name":"mitre-attack","external_id":"T1566"}}]}}"#
            ),
        );
        let i1 = "indicator--00000000-0000-4000-8000-0000000000a1";
        let i2 = "indicator--00000000-0000-4000-8000-0000000000a2";
        put(&store, "default", &rel(1, i1, ap1, "indicates"));
        put(&store, "default", &rel(2, i1, ap2, "indicates"));
        put(&store, "default", &rel(3, i2, ap1, "indicates"));
        put(&store, "default", &rel(4, i2, unknown, "indicates"));
        put(&store, "default", &rel(5, i1, unknown, "related-to"));
        let b = by_technique(&store).unwrap();
        assert_eq!(b.indicators, 2);
        assert_eq!(b.relationships, 4);
        assert_eq!(
            b.techniques,
            vec![
                TechniqueRow {
                    technique: "T1566".into(),
                    name: Some("Spearphishing".into()),
                    indicators: 2
                },
                TechniqueRow {
                    technique: unknown.into(),
                    name: None,
                    indicators: 1
                },
            ]
        );
    }

    #[test]
    fn following_in_small_rounds_agrees_with_one_read_and_sees_new_versions() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let ap = "attack-pattern--00000000-0000-4000-8000-000000000001";
        put(
            &store,
            "attack",
            &format!(
                r#"{{"type":"attack-pattern","spec_version":"2.1","id":"{ap}","created":"{T}","modified":"{T}","name":"Monitor Process State","external_references":[{{"source_name":"mitre-ics-attack","external_id":"T0801"}}]}}"#
            ),
        );
        for n in 0..10u8 {
            let ind = format!("indicator--00000000-0000-4000-8000-0000000001{n:02x}");
            put(
                &store,
                if n % 2 == 0 { "a" } else { "b" },
                &rel(n, &ind, ap, "indicates"),
            );
        }
        let mut ix = TechniqueIndex::default();
        let mut rounds = 0;
        loop {
            rounds += 1;
            let (_, done) = ix.catch_up(&store, 3).unwrap();
            if done {
                break;
            }
            assert!(rounds < 20);
        }
        assert!(rounds >= 4, "{rounds}");
        assert!(ix.changed());
        let snap = ix.snapshot();
        assert!(!ix.changed());
        assert_eq!(snap.breakdown(|_| true), by_technique(&store).unwrap());
        let b = snap.breakdown(|_| true);
        assert_eq!(b.techniques[0].technique, "T0801");
        assert_eq!(b.techniques[0].indicators, 10);
        assert_eq!(snap.breakdown(|c| c == "a").indicators, 5);
        assert_eq!(snap.indicators_of("T0801", |c| c == "b").len(), 5);
        // Nothing new: nothing read.
        assert_eq!(ix.catch_up(&store, 3).unwrap(), (0, true));
        // A newer version revokes one relationship; an older one changes
        // nothing.
        let later = rel(
            0,
            "indicator--00000000-0000-4000-8000-000000000100",
            ap,
            "indicates",
        )
        .replace(
            &format!(r#""modified":"{T}""#),
            r#""modified":"2026-02-01T00:00:00.000Z","revoked":true"#,
        );
        put(&store, "a", &later);
        ix.catch_up(&store, 100).unwrap();
        let b = ix.snapshot().breakdown(|_| true);
        assert_eq!(b.techniques[0].indicators, 9);
        assert_eq!(b, by_technique(&store).unwrap());
    }

    #[test]
    fn a_case_relates_to_the_techniques_of_its_evidence() {
        use accord_hotline::{Docket, OpenCase, Severity, open_case};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let ap = "attack-pattern--00000000-0000-4000-8000-000000000001";
        let ap2 = "attack-pattern--00000000-0000-4000-8000-000000000002";
        for (id, t) in [(ap, "T0801"), (ap2, "T0883")] {
            put(
                &store,
                "attack",
                &format!(
                    r#"{{"type":"attack-pattern","spec_version":"2.1","id":"{id}","created":"{T}","modified":"{T}","name":"x","external_references":[{{"source_name":"mitre-attack","external_id":"{t}"}}]}}"#
                ),
            );
        }
        let ind = "indicator--00000000-0000-4000-8000-0000000000a1";
        put(&store, "a", &rel(1, ind, ap, "indicates"));
        let snap = TechniqueIndex::load(&store).unwrap().snapshot();
        let now = accord_stix::Timestamp::parse("2026-03-01T00:00:00Z").unwrap();
        let mut docket = Docket::new();
        let mut ids = Vec::new();
        for attachments in [
            vec![ind.to_owned()],
            vec![
                ap2.to_owned(),
                "sighting--00000000-0000-4000-8000-000000000009".to_owned(),
            ],
            vec![],
        ] {
            let (incident, note) = open_case(
                &OpenCase {
                    case_uuid: uuid::Uuid::new_v4(),
                    from: "identity--00000000-0000-4000-8000-0000000000f1".into(),
                    to: "identity--00000000-0000-4000-8000-0000000000f2".into(),
                    severity: Severity::High,
                    title: "t".into(),
                    description: None,
                    text: String::new(),
                    attachments,
                    assistance: Vec::new(),
                    exercise: false,
                    facility: None,
                },
                &accord_hotline::DeadlineTable::default(),
                now,
            )
            .unwrap();
            docket.add_incident(&incident).unwrap();
            docket.add_note(&note).unwrap();
            ids.push(incident.get("id").unwrap().as_str().unwrap().to_owned());
        }
        let by = cases_by_technique(&docket, &snap);
        assert_eq!(by.len(), 2, "{by:?}");
        assert_eq!(by["T0801"], vec![ids[0].clone()]);
        assert_eq!(by["T0883"], vec![ids[1].clone()]);
    }
}
