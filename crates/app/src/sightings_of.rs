//! Sightings attached to the indicators they are of: every STIX `sighting`
//! the store holds (this node's own, from matching logs, and those its
//! partners sent back), grouped by `sighting_of_ref`, with who reported
//! them and whether this node holds the indicator.
//!
//! A sighting is counted once however many collections hold it (the node's
//! `sightings` collection and a producer's outbox hold the same one); its
//! newest version counts. Who reported it is the store's origin: a
//! partner's name for what a partner sent (`partner:NAME`), else `local`.

use accord_store::{ObjectRead, Query, StoreError, VersionFilter};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The sightings of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attached {
    /// The object sighted (`sighting_of_ref`), usually an indicator.
    pub sighting_of: String,
    /// Whether this node holds that object (in any collection).
    pub held: bool,
    /// How many sighting objects.
    pub sightings: u64,
    /// The sum of their `count` (1 where absent).
    pub count: u64,
    /// Sightings per reporter: a partner's name, or `local`.
    pub by_reporter: BTreeMap<String, u64>,
    /// The earliest `first_seen` among them.
    pub first_seen: Option<String>,
    /// The latest `last_seen` among them.
    pub last_seen: Option<String>,
}

/// Who reported a sighting stored with `origin`.
fn reporter(origin: &str) -> String {
    origin
        .strip_prefix("partner:")
        .map_or_else(|| "local".to_owned(), str::to_owned)
}

/// Every object with sightings, the most sighted first (then by id); only
/// `of` when given.
///
/// # Errors
/// [`StoreError`] when the store cannot be read.
pub fn sightings_of(store: &dyn ObjectRead, of: Option<&str>) -> Result<Vec<Attached>, StoreError> {
    // The newest version of each sighting, once, wherever it is held.
    let mut newest: HashMap<String, (String, String, accord_store::StoredObject)> = HashMap::new();
    let mut q = Query {
        types: vec!["sighting".to_owned()],
        versions: VersionFilter::last(),
        ..Query::default()
    };
    loop {
        let page = store.query(&q, 1000)?;
        for o in &page.objects {
            let better = newest
                .get(&o.id)
                .is_none_or(|(v, _, _)| o.version.as_str() > v.as_str());
            if better {
                newest.insert(
                    o.id.clone(),
                    (o.version.clone(), o.origin.clone(), o.clone()),
                );
            }
        }
        match page.last_seq() {
            Some(seq) if page.more => q.after_seq = seq,
            _ => break,
        }
    }
    let mut by_object: BTreeMap<String, Attached> = BTreeMap::new();
    for (_, origin, o) in newest.values() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&o.raw) else {
            continue;
        };
        let Some(target) = v.get("sighting_of_ref").and_then(|t| t.as_str()) else {
            continue;
        };
        if of.is_some_and(|want| want != target) {
            continue;
        }
        let a = by_object
            .entry(target.to_owned())
            .or_insert_with(|| Attached {
                sighting_of: target.to_owned(),
                held: false,
                sightings: 0,
                count: 0,
                by_reporter: BTreeMap::new(),
                first_seen: None,
                last_seen: None,
            });
        a.sightings += 1;
        a.count += v
            .get("count")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(1);
        *a.by_reporter.entry(reporter(origin)).or_default() += 1;
        if let Some(f) = v.get("first_seen").and_then(|t| t.as_str())
            && a.first_seen.as_deref().is_none_or(|x| f < x)
        {
            a.first_seen = Some(f.to_owned());
        }
        if let Some(l) = v.get("last_seen").and_then(|t| t.as_str())
            && a.last_seen.as_deref().is_none_or(|x| l > x)
        {
            a.last_seen = Some(l.to_owned());
        }
    }
    let mut out: Vec<Attached> = by_object.into_values().collect();
    for a in &mut out {
        let q = Query {
            ids: vec![a.sighting_of.clone()],
            versions: VersionFilter::last(),
            ..Query::default()
        };
        a.held = !store.query(&q, 1)?.objects.is_empty();
    }
    out.sort_by(|x, y| {
        y.sightings
            .cmp(&x.sightings)
            .then_with(|| x.sighting_of.cmp(&y.sighting_of))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_store::{NewObject, ObjectMeta, SqliteStore};

    fn put(store: &SqliteStore, collection: &str, origin: &str, raw: &str) {
        let doc = accord_stix::Doc::parse(raw).unwrap();
        let meta = ObjectMeta::from_doc(&doc).unwrap();
        let new: NewObject<'_> = meta.new_object(raw, collection, origin);
        store.writer().put_batch(&[new]).unwrap();
    }

    fn sighting(n: u32, of: &str, count: u32, seen: &str) -> String {
        format!(
            r#"{{"type":"sighting","spec_version":"2.1","id":"sighting--{n:08x}-0000-4000-8000-000000000000","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","sighting_of_ref":"{of}","count":{count},"first_seen":"{seen}","last_seen":"{seen}"}}"#
        )
    }

    const IND: &str = "indicator--11111111-1111-4111-8111-111111111111";

    #[test]
    fn partners_sightings_are_attached_to_our_indicators() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        put(
            &store,
            "share",
            "local",
            &format!(
                r#"{{"type":"indicator","spec_version":"2.1","id":"{IND}","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z"}}"#
            ),
        );
        // Ours, kept twice (the sightings collection and an outbox).
        let own = sighting(1, IND, 3, "2026-12-02T00:00:00Z");
        put(&store, "sightings", "local", &own);
        put(&store, "sightings-to-x", "local", &own);
        // Two from partner eu, one from us; one of an object not held here.
        put(
            &store,
            "from-eu",
            "partner:eu",
            &sighting(2, IND, 5, "2026-12-01T00:00:00Z"),
        );
        put(
            &store,
            "from-eu",
            "partner:eu",
            &sighting(3, IND, 1, "2026-12-04T00:00:00Z"),
        );
        put(
            &store,
            "from-us",
            "partner:us",
            &sighting(4, IND, 2, "2026-12-03T00:00:00Z"),
        );
        let other = "indicator--22222222-2222-4222-8222-222222222222";
        put(
            &store,
            "from-us",
            "partner:us",
            &sighting(5, other, 7, "2026-12-03T00:00:00Z"),
        );

        let all = sightings_of(&store, None).unwrap();
        assert_eq!(all.len(), 2);
        let a = &all[0];
        assert_eq!(a.sighting_of, IND);
        assert!(a.held);
        assert_eq!(a.sightings, 4);
        assert_eq!(a.count, 3 + 5 + 1 + 2);
        assert_eq!(
            a.by_reporter,
            BTreeMap::from([("eu".into(), 2), ("local".into(), 1), ("us".into(), 1)])
        );
        assert_eq!(a.first_seen.as_deref(), Some("2026-12-01T00:00:00Z"));
        assert_eq!(a.last_seen.as_deref(), Some("2026-12-04T00:00:00Z"));
        assert_eq!(all[1].sighting_of, other);
        assert!(!all[1].held);
        let one = sightings_of(&store, Some(other)).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].count, 7);
    }
}
