//! Indicators broken down by ATT&CK technique: an indicator counts for a
//! technique when a `relationship` of type `indicates` goes from it to the
//! technique's `attack-pattern` (any collection, latest versions, revoked
//! relationships left out); the technique is named by its ATT&CK id
//! (`T0803`) and name from the `attack-pattern` held (an ATT&CK release
//! loaded with `accord import attack`), else by its STIX id.

use accord_store::{ObjectRead, Query, StoreError, VersionFilter};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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

fn each(
    store: &dyn ObjectRead,
    ty: &str,
    mut f: impl FnMut(serde_json::Value),
) -> Result<(), StoreError> {
    let mut q = Query {
        types: vec![ty.to_owned()],
        versions: VersionFilter::last(),
        ..Query::default()
    };
    loop {
        let page = store.query(&q, 8192)?;
        for o in &page.objects {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&o.raw) {
                f(v);
            }
        }
        match page.last_seq() {
            Some(s) if page.more => q.after_seq = s,
            _ => return Ok(()),
        }
    }
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

/// The breakdown of the store's indicators by technique.
///
/// # Errors
/// The store's.
pub fn by_technique(store: &dyn ObjectRead) -> Result<Breakdown, StoreError> {
    let mut by_ap: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut relationships = 0;
    each(store, "relationship", |v| {
        if v["relationship_type"] != "indicates" || v["revoked"] == true {
            return;
        }
        let (Some(src), Some(dst)) = (v["source_ref"].as_str(), v["target_ref"].as_str()) else {
            return;
        };
        if src.starts_with("indicator--") && dst.starts_with("attack-pattern--") {
            relationships += 1;
            by_ap
                .entry(dst.to_owned())
                .or_default()
                .insert(src.to_owned());
        }
    })?;
    let mut names: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    if !by_ap.is_empty() {
        each(store, "attack-pattern", |v| {
            let Some(id) = v["id"].as_str() else { return };
            if !by_ap.contains_key(id) {
                return;
            }
            let tech = attack_id(&v).unwrap_or(id).to_owned();
            names.insert(id.to_owned(), (tech, v["name"].as_str().map(str::to_owned)));
        })?;
    }
    // Two attack-pattern ids with one ATT&CK id (two releases' copies)
    // count once per indicator.
    let mut rows: BTreeMap<String, (Option<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut all = BTreeSet::new();
    for (ap, inds) in by_ap {
        let (tech, name) = names.remove(&ap).unwrap_or((ap, None));
        let row = rows.entry(tech).or_insert((name.clone(), BTreeSet::new()));
        if row.0.is_none() {
            row.0 = name;
        }
        all.extend(inds.iter().cloned());
        row.1.extend(inds);
    }
    let mut techniques: Vec<TechniqueRow> = rows
        .into_iter()
        .map(|(technique, (name, inds))| TechniqueRow {
            technique,
            name,
            indicators: inds.len() as u64,
        })
        .collect();
    techniques.sort_by(|a, b| {
        b.indicators
            .cmp(&a.indicators)
            .then_with(|| a.technique.cmp(&b.technique))
    });
    Ok(Breakdown {
        techniques,
        indicators: all.len() as u64,
        relationships,
    })
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
}
