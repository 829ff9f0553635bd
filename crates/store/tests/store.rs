//! The store's public behaviour against a real SQLite database in a temp dir.

mod common;

use accord_store::{
    NewObject, PutOutcome, Query, SqliteStore, Store, StoreError, Timestamp, VersionFilter,
};
use common::{borrow, indicator, observable, one};
use std::collections::HashSet;

const T1: &str = "2024-02-01T00:00:00.000Z";
const T2: &str = "2024-03-01T00:00:00.000Z";
const T3: &str = "2024-04-01T00:00:00.000Z";

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (dir, store)
}

fn in_coll(c: &str) -> Query {
    Query {
        collection: Some(c.into()),
        ..Query::default()
    }
}

fn ids(page: &accord_store::Page) -> Vec<&str> {
    page.objects.iter().map(|o| o.id.as_str()).collect()
}

#[test]
fn same_object_twice_is_a_duplicate() {
    let (_d, mut s) = open();
    let o = indicator(1, T1, "c");
    let first = s.put_batch(&one(&o)).unwrap();
    let PutOutcome::Stored { seq } = first[0] else {
        panic!("{first:?}")
    };
    assert_eq!(
        s.put_batch(&one(&o)).unwrap(),
        vec![PutOutcome::Duplicate { seq }]
    );
    // Pretty-printing does not change the content.
    let mut pretty = o.clone();
    pretty.raw = o.raw.replace(",\"", ",\n  \"").replace("\":", "\": ");
    assert_ne!(pretty.raw, o.raw);
    assert_eq!(
        s.put_batch(&borrow(&[pretty])).unwrap(),
        vec![PutOutcome::Duplicate { seq }]
    );
    // Twice in one batch: the second sees the first.
    let o2 = indicator(2, T1, "c");
    let out = s.put_batch(&borrow(&[o2.clone(), o2])).unwrap();
    let PutOutcome::Stored { seq: s2 } = out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(out[1], PutOutcome::Duplicate { seq: s2 });
    assert_eq!(s.count(Some("c")).unwrap(), 2);
    s.integrity_check().unwrap();
}

#[test]
fn same_version_other_content_is_a_conflict_and_the_first_is_kept() {
    let (_d, mut s) = open();
    let o = indicator(1, T1, "c");
    let PutOutcome::Stored { seq } = s.put_batch(&one(&o)).unwrap()[0] else {
        panic!()
    };
    let mut other = o.clone();
    other.raw = o.raw.replace("\"confidence\":80", "\"confidence\":10");
    assert_eq!(
        s.put_batch(&one(&other)).unwrap(),
        vec![PutOutcome::Conflict { existing_seq: seq }]
    );
    // The same instant spelled differently is the same version.
    let mut respelled = o.clone();
    respelled.modified = Some("2024-02-01T00:00:00Z".into());
    respelled.raw = o.raw.replace(T1, "2024-02-01T00:00:00Z");
    assert_eq!(
        s.put_batch(&borrow(&[respelled])).unwrap(),
        vec![PutOutcome::Conflict { existing_seq: seq }]
    );
    let versions = s.get_versions("c", &o.id).unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].raw, o.raw);
    // The same id in another collection is another object.
    let mut elsewhere = other;
    elsewhere.collection = "d".into();
    assert!(matches!(
        s.put_batch(&borrow(&[elsewhere])).unwrap()[0],
        PutOutcome::Stored { .. }
    ));
}

#[test]
fn every_version_is_kept_and_first_last_follow_time_not_arrival() {
    let (_d, mut s) = open();
    // Newest first, then oldest, then middle.
    let vs = [
        indicator(7, T3, "c"),
        indicator(7, T1, "c"),
        indicator(7, T2, "c"),
    ];
    for v in &vs {
        assert!(matches!(
            s.put_batch(&one(v)).unwrap()[0],
            PutOutcome::Stored { .. }
        ));
    }
    let hist = s.get_versions("c", &vs[0].id).unwrap();
    let mods: Vec<_> = hist.iter().map(|o| o.modified.clone().unwrap()).collect();
    assert_eq!(mods, [T1, T2, T3]);
    assert_eq!(hist[0].version, "2024-02-01T00:00:00.000000000Z");

    let q = |versions| Query {
        versions,
        ..in_coll("c")
    };
    let last = s.query(&q(VersionFilter::last()), 10).unwrap();
    assert_eq!(last.objects.len(), 1);
    assert_eq!(last.objects[0].modified.as_deref(), Some(T3));
    let first = s.query(&q(VersionFilter::first()), 10).unwrap();
    assert_eq!(first.objects.len(), 1);
    assert_eq!(first.objects[0].modified.as_deref(), Some(T1));
    let all = s.query(&q(VersionFilter::all()), 10).unwrap();
    assert_eq!(all.objects.len(), 3);
    let at = s
        .query(
            &q(VersionFilter::at(vec![
                Timestamp::parse("2024-03-01T00:00:00Z").unwrap(),
                Timestamp::parse("2030-01-01T00:00:00Z").unwrap(),
            ])),
            10,
        )
        .unwrap();
    assert_eq!(at.objects.len(), 1);
    assert_eq!(at.objects[0].modified.as_deref(), Some(T2));
    // Unversioned observables: one version, which is first and last.
    let ip = observable("ipv4-addr", 1, "c");
    s.put_batch(&one(&ip)).unwrap();
    let last = s.query(&q(VersionFilter::last()), 10).unwrap();
    assert_eq!(ids(&last), [vs[0].id.as_str(), ip.id.as_str()]);
}

#[test]
fn each_filter_selects_what_it_says() {
    let (_d, mut s) = open();
    let mut objs = Vec::new();
    for n in 0..6 {
        objs.push(indicator(n, T1, "c"));
        objs.push(observable("ipv4-addr", n, "c"));
        objs.push(observable("domain-name", n, "c"));
        objs.push(indicator(100 + n, T1, "other"));
    }
    let mut legacy = observable("file", 9, "c");
    legacy.spec_version = "2.0".into();
    objs.push(legacy.clone());
    s.put_batch(&borrow(&objs)).unwrap();

    // Collection.
    let page = s.query(&in_coll("other"), 100).unwrap();
    assert_eq!(page.objects.len(), 6);
    assert!(page.objects.iter().all(|o| o.collection == "other"));
    assert_eq!(s.query(&in_coll("nope"), 100).unwrap().objects.len(), 0);
    assert_eq!(s.query(&Query::default(), 100).unwrap().objects.len(), 25);

    // Types, one and several; with and without a collection.
    let one = Query {
        types: vec!["domain-name".into()],
        ..in_coll("c")
    };
    let page = s.query(&one, 100).unwrap();
    assert_eq!(page.objects.len(), 6);
    assert!(page.objects.iter().all(|o| o.type_name == "domain-name"));
    let two = Query {
        types: vec!["domain-name".into(), "indicator".into(), "indicator".into()],
        ..in_coll("c")
    };
    let page = s.query(&two, 100).unwrap();
    assert_eq!(page.objects.len(), 12);
    assert!(page.objects.windows(2).all(|w| w[0].seq < w[1].seq));
    let everywhere = Query {
        types: vec!["indicator".into()],
        ..Query::default()
    };
    assert_eq!(s.query(&everywhere, 100).unwrap().objects.len(), 12);
    // Across collections, read by (collection, type) ranges: pages in seq
    // order, the same rows as filtering every row.
    let two_everywhere = Query {
        types: vec!["indicator".into(), "domain-name".into()],
        ..Query::default()
    };
    let all = s.query(&Query::default(), 100).unwrap();
    let want: Vec<i64> = all
        .objects
        .iter()
        .filter(|o| o.type_name == "indicator" || o.type_name == "domain-name")
        .map(|o| o.seq)
        .collect();
    assert!(want.len() > 5, "{want:?}");
    let mut got = Vec::new();
    let mut q = two_everywhere.clone();
    loop {
        let page = s.query(&q, 5).unwrap();
        got.extend(page.objects.iter().map(|o| o.seq));
        match page.last_seq() {
            Some(last) if page.more => q.after_seq = last,
            _ => break,
        }
    }
    assert_eq!(got, want);

    // Ids, with a type filter too.
    let by_id = Query {
        ids: vec![
            objs[0].id.clone(),
            objs[1].id.clone(),
            "indicator--missing".into(),
        ],
        ..in_coll("c")
    };
    assert_eq!(
        ids(&s.query(&by_id, 100).unwrap()),
        [objs[0].id.as_str(), objs[1].id.as_str()]
    );
    let by_id_and_type = Query {
        types: vec!["ipv4-addr".into()],
        ..by_id
    };
    assert_eq!(
        ids(&s.query(&by_id_and_type, 100).unwrap()),
        [objs[1].id.as_str()]
    );

    // Spec version.
    let old = Query {
        spec_versions: vec!["2.0".into()],
        ..in_coll("c")
    };
    assert_eq!(ids(&s.query(&old, 100).unwrap()), [legacy.id.as_str()]);

    // Markings and origin come back as stored.
    let got = &s.query(&in_coll("other"), 1).unwrap().objects[0];
    assert_eq!(got.markings, objs[3].markings);
    assert_eq!(got.origin, "local");
    assert_eq!(got.raw, objs[3].raw);
}

#[test]
fn added_after_is_strict_and_agrees_with_seq() {
    let (_d, mut s) = open();
    let a: Vec<_> = (0..5).map(|n| indicator(n, T1, "c")).collect();
    let b: Vec<_> = (5..8).map(|n| indicator(n, T1, "c")).collect();
    s.put_batch(&borrow(&a)).unwrap();
    s.put_batch(&borrow(&b)).unwrap();
    let all = s.query(&in_coll("c"), 100).unwrap().objects;
    assert!(all.windows(2).all(|w| w[0].date_added < w[1].date_added));
    // After the last of batch a: exactly batch b.
    let q = Query {
        added_after: Some(Timestamp::parse(&all[4].date_added).unwrap()),
        ..in_coll("c")
    };
    let page = s.query(&q, 100).unwrap();
    assert_eq!(page.objects, all[5..]);
    // After the very last: nothing.
    let q = Query {
        added_after: Some(Timestamp::parse(&all[7].date_added).unwrap()),
        ..in_coll("c")
    };
    assert!(s.query(&q, 100).unwrap().objects.is_empty());
    // Combined with the cursor, the larger bound wins.
    let q = Query {
        added_after: Some(Timestamp::parse(&all[1].date_added).unwrap()),
        after_seq: all[6].seq,
        ..in_coll("c")
    };
    assert_eq!(s.query(&q, 100).unwrap().objects, all[7..]);
}

/// `added_after` is found by a binary search over seq (no index on
/// date_added): check it against a plain filter at every boundary, with
/// gaps left by deletes (the first row, the last row, runs in between) and
/// two collections interleaved.
#[test]
fn added_after_matches_a_plain_filter_across_gaps() {
    let (_d, mut s) = open();
    for b in 0..12u64 {
        let objs: Vec<_> = (0..25)
            .map(|n| indicator(b * 100 + n, T1, if n % 3 == 0 { "d" } else { "c" }))
            .collect();
        s.put_batch(&borrow(&objs)).unwrap();
    }
    let everything = |s: &SqliteStore| {
        let q = Query::default();
        s.query(&q, 10_000).unwrap().objects
    };
    let all = everything(&s);
    let w = s.writer().clone();
    for (i, o) in all.iter().enumerate() {
        if i == 0 || i == all.len() - 1 || i % 7 == 3 || (100..140).contains(&i) {
            assert_eq!(
                w.delete(&o.collection, &o.id, &VersionFilter::all())
                    .unwrap(),
                1
            );
        }
    }
    let left = everything(&s);
    assert!(left.len() < all.len() - 40);
    let micros = |t: &str| {
        let t = Timestamp::parse(t).unwrap();
        t.unix_seconds * 1_000_000 + i64::from(t.nanos / 1_000)
    };
    // Every date of a kept or deleted row, and one microsecond before it.
    let mut probes: Vec<i64> = all.iter().map(|o| micros(&o.date_added)).collect();
    probes.extend(probes.clone().iter().map(|m| m - 1));
    for m in probes {
        let at = Timestamp::from_unix(
            m.div_euclid(1_000_000),
            (m.rem_euclid(1_000_000) * 1_000) as u32,
        );
        for coll in ["c", "d"] {
            let want: Vec<i64> = left
                .iter()
                .filter(|o| o.collection == coll && micros(&o.date_added) > m)
                .map(|o| o.seq)
                .collect();
            let q = Query {
                added_after: Some(at),
                ..in_coll(coll)
            };
            let got: Vec<i64> = s
                .query(&q, 10_000)
                .unwrap()
                .objects
                .iter()
                .map(|o| o.seq)
                .collect();
            assert_eq!(got, want, "added_after {m} in {coll}");
        }
    }
}

#[test]
fn pages_cover_everything_once_with_more_flag() {
    let (_d, mut s) = open();
    let objs: Vec<_> = (0..50).map(|n| indicator(n, T1, "c")).collect();
    s.put_batch(&borrow(&objs)).unwrap();
    let mut seen = Vec::new();
    let mut q = in_coll("c");
    loop {
        let page = s.query(&q, 7).unwrap();
        assert!(page.objects.len() <= 7);
        seen.extend(page.objects.iter().map(|o| o.id.clone()));
        if !page.more {
            break;
        }
        q.after_seq = page.last_seq().unwrap();
    }
    let want: Vec<_> = objs.iter().map(|o| o.id.clone()).collect();
    assert_eq!(seen, want);
    // limit 0 says whether anything matches without returning it.
    let page = s.query(&in_coll("c"), 0).unwrap();
    assert!(page.objects.is_empty() && page.more);
}

#[test]
fn invalid_objects_fail_the_batch_naming_index_and_id() {
    let (_d, mut s) = open();
    let good = indicator(1, T1, "c");
    let mut bad = indicator(2, T1, "c");
    bad.modified = Some("yesterday".into());
    let err = s
        .put_batch(&borrow(&[good.clone(), bad.clone()]))
        .unwrap_err();
    match &err {
        StoreError::InvalidObject { index, id, .. } => {
            assert_eq!(*index, 1);
            assert_eq!(id, &bad.id);
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&bad.id) && msg.contains("object 1") && msg.contains("yesterday"),
        "{msg}"
    );
    assert_eq!(s.count(None).unwrap(), 0);
    let mut no_id = good.new_object();
    no_id.id = "";
    assert!(matches!(
        s.put_batch(&[no_id]),
        Err(StoreError::InvalidObject { index: 0, .. })
    ));
}

#[test]
fn counts_collections_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let last_added;
    {
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let objs: Vec<_> = (0..3)
            .map(|n| indicator(n, T1, "a"))
            .chain((0..2).map(|n| indicator(n, T1, "b")))
            .collect();
        s.put_batch(&borrow(&objs)).unwrap();
        assert_eq!(s.count(Some("a")).unwrap(), 3);
        assert_eq!(s.count(Some("zzz")).unwrap(), 0);
        assert_eq!(s.count(None).unwrap(), 5);
        let names: Vec<_> = s
            .collections()
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.n_versions))
            .collect();
        assert_eq!(names, [("a".to_owned(), 3), ("b".to_owned(), 2)]);
        last_added = s.query(&Query::default(), 10).unwrap().objects[4]
            .date_added
            .clone();
    }
    let mut s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(s.count(None).unwrap(), 5);
    s.put_batch(&borrow(&[indicator(9, T1, "a")])).unwrap();
    let page = s
        .query(
            &Query {
                added_after: Some(Timestamp::parse(&last_added).unwrap()),
                ..Query::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(page.objects.len(), 1);
    assert!(page.objects[0].date_added > last_added);
    s.integrity_check().unwrap();
}

#[test]
fn many_submitters_share_the_writer() {
    let (_d, s) = open();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let w = s.writer().clone();
            std::thread::spawn(move || {
                for b in 0..25u64 {
                    let objs: Vec<_> = (0..20)
                        .map(|i| indicator(t * 10_000 + b * 100 + i, T1, "c"))
                        .collect();
                    let out = w.put_batch(&borrow(&objs)).unwrap();
                    assert!(out.iter().all(|o| matches!(o, PutOutcome::Stored { .. })));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(s.count(Some("c")).unwrap(), 2000);
    let seqs: HashSet<i64> = s
        .query(&in_coll("c"), 5000)
        .unwrap()
        .objects
        .iter()
        .map(|o| o.seq)
        .collect();
    assert_eq!(seqs.len(), 2000);
    s.integrity_check().unwrap();
}

#[test]
fn submit_keeps_several_batches_in_flight() {
    let (_d, s) = open();
    let batches: Vec<Vec<_>> = (0..5u64)
        .map(|b| (0..10).map(|i| indicator(b * 10 + i, T1, "c")).collect())
        .collect();
    let pending: Vec<_> = batches
        .iter()
        .map(|b| s.writer().submit(&borrow(b)).unwrap())
        .collect();
    let mut last = 0;
    for p in pending {
        for o in p.wait().unwrap() {
            let PutOutcome::Stored { seq } = o else {
                panic!("{o:?}")
            };
            assert!(seq > last);
            last = seq;
        }
    }
}

#[test]
fn a_database_from_a_newer_accord_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let path = dir.path().join(accord_store::DB_FILE_NAME);
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(accord_store::DB_FILE_NAME);
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE mine (x)").unwrap();
    }
    let err = SqliteStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotAccord { .. }), "{err:?}");
    assert!(err.to_string().contains("mine"), "{err}");
}

#[test]
fn new_object_borrows_nothing_after_put() {
    // The batch is copied before put_batch returns, so the caller's
    // buffers can be reused at once.
    let (_d, mut s) = open();
    let mut buf = indicator(1, T1, "c");
    let objs: Vec<NewObject<'_>> = borrow(std::slice::from_ref(&buf));
    s.put_batch(&objs).unwrap();
    drop(objs);
    buf.raw.clear();
    assert_eq!(s.count(None).unwrap(), 1);
}

#[test]
fn delete_removes_the_versions_asked_for() {
    let (_d, mut s) = open();
    let v1 = indicator(7, T1, "c");
    let v2 = indicator(7, T2, "c");
    let v3 = indicator(7, T3, "c");
    let other = indicator(8, T1, "c");
    s.put_batch(&borrow(&[v1.clone(), v2, v3, other])).unwrap();
    let id = v1.id.clone();
    let w = s.writer().clone();
    // The first version only.
    assert_eq!(w.delete("c", &id, &VersionFilter::first()).unwrap(), 1);
    let left: Vec<String> = s
        .get_versions("c", &id)
        .unwrap()
        .into_iter()
        .map(|o| o.modified.unwrap())
        .collect();
    assert_eq!(left, vec![T2.to_owned(), T3.to_owned()]);
    // A version by timestamp, written another way (same instant).
    let t3 = Timestamp::parse("2024-04-01T00:00:00Z").unwrap();
    assert_eq!(w.delete("c", &id, &VersionFilter::at(vec![t3])).unwrap(), 1);
    // Everything that is left; then nothing; other objects untouched.
    assert_eq!(w.delete("c", &id, &VersionFilter::all()).unwrap(), 1);
    assert_eq!(w.delete("c", &id, &VersionFilter::all()).unwrap(), 0);
    assert_eq!(
        w.delete("no-such-collection", &id, &VersionFilter::all())
            .unwrap(),
        0
    );
    assert_eq!(s.count(Some("c")).unwrap(), 1);
    assert!(
        s.query(
            &Query {
                ids: vec![id.clone()],
                ..in_coll("c")
            },
            10
        )
        .unwrap()
        .objects
        .is_empty()
    );
    s.integrity_check().unwrap();
    // A deleted version can be stored again.
    assert!(matches!(
        s.put_batch(&one(&v1)).unwrap()[0],
        PutOutcome::Stored { .. }
    ));
}

/// Commits that never pause still get checkpointed: once 16 MiB of WAL
/// frames were committed since the last checkpoint, the checkpoint thread
/// copies them into the database file (it used to go by the WAL file's
/// length, which stops saying anything once SQLite reuses the file).
#[test]
fn back_to_back_commits_are_checkpointed_without_a_pause() {
    let (dir, s) = open();
    let db = dir.path().join(accord_store::DB_FILE_NAME);
    let start = std::fs::metadata(&db).unwrap().len();
    let w = s.writer().clone();
    let mut grew = false;
    // Each batch is ~200 KiB of rows: 16 MiB is ~80 commits, each a few
    // milliseconds, far from the 0.5 s pause that also checkpoints.
    for b in 0..600u64 {
        let objs: Vec<_> = (0..300)
            .map(|n| indicator(b * 1_000 + n, T1, "c"))
            .collect();
        w.put_batch(&borrow(&objs)).unwrap();
        if std::fs::metadata(&db).unwrap().len() > start + (8 << 20) {
            grew = true;
            break;
        }
    }
    assert!(grew, "no checkpoint during 600 back-to-back commits");
}

#[test]
fn create_false_refuses_a_directory_without_a_store_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let no_create = accord_store::OpenOptions::new().create(false);
    // A directory that does not exist: refused, and still absent.
    let missing = dir.path().join("missing");
    let err = SqliteStore::open_with(&missing, &no_create).unwrap_err();
    assert!(
        matches!(&err, StoreError::NoStore { dir, dir_exists: false } if dir == &missing),
        "{err:?}"
    );
    assert!(err.is_no_store());
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!missing.exists());
    // An empty directory: refused, and still empty.
    let err = SqliteStore::open_with(dir.path(), &no_create).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NoStore {
                dir_exists: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(accord_store::DB_FILE_NAME),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // Once a store is there, `create(false)` opens it.
    drop(SqliteStore::open(dir.path()).unwrap());
    SqliteStore::open_with(dir.path(), &no_create).unwrap();
}

/// `match[version]` values are a union (TAXII 2.1 §3.4: "If multiple
/// values are present, the match is treated as a logical OR"): `first,last`
/// on a five-version object is two versions, on a one-version object one;
/// `last,first,<t>` is three; paged one at a time, nothing is repeated or
/// skipped.
#[test]
fn version_filters_are_a_union() {
    let (_d, mut s) = open();
    let times = [
        "2018-08-08T01:50:00.000Z",
        "2018-08-08T01:51:00.000Z",
        "2018-08-08T01:52:00.000Z",
        "2018-08-08T01:53:01.345Z",
        "2018-08-08T01:54:00.000Z",
    ];
    // Stored out of order: first and last are by version, not by seq.
    let five: Vec<_> = [2, 0, 4, 3, 1]
        .iter()
        .map(|&i| indicator(1, times[i], "c"))
        .collect();
    s.put_batch(&borrow(&five)).unwrap();
    let single = indicator(2, times[0], "c");
    s.put_batch(&one(&single)).unwrap();
    let ts = |t: &str| Timestamp::parse(t).unwrap();
    let versions_of = |f: VersionFilter, limit: usize| {
        let mut q = Query {
            versions: f,
            ..in_coll("c")
        };
        let mut got = Vec::new();
        loop {
            let page = s.query(&q, limit).unwrap();
            got.extend(
                page.objects
                    .iter()
                    .map(|o| (o.id.clone(), o.modified.clone().unwrap())),
            );
            match (page.more, page.last_seq()) {
                (true, Some(seq)) => q.after_seq = seq,
                _ => break,
            }
        }
        got.sort();
        got
    };
    let id1 = five[0].id.clone();
    let id2 = single.id.clone();
    let want = |v: &[(&str, &str)]| {
        let mut w: Vec<(String, String)> = v
            .iter()
            .map(|(i, t)| ((*i).to_owned(), (*t).to_owned()))
            .collect();
        w.sort();
        w
    };
    let first_last = VersionFilter {
        first: true,
        last: true,
        ..VersionFilter::at(Vec::new())
    };
    for limit in [1, 2, 10] {
        assert_eq!(
            versions_of(first_last.clone(), limit),
            want(&[(&id1, times[0]), (&id1, times[4]), (&id2, times[0])]),
            "first,last with limit {limit}"
        );
        let mut three = first_last.clone();
        three.at = vec![ts(times[3]), ts("2030-01-01T00:00:00Z")];
        assert_eq!(
            versions_of(three, limit),
            want(&[
                (&id1, times[0]),
                (&id1, times[3]),
                (&id1, times[4]),
                (&id2, times[0])
            ]),
            "last,first,<t> with limit {limit}"
        );
        let mut at_last = VersionFilter::last();
        at_last.at = vec![ts(times[1]), ts(times[0])];
        assert_eq!(
            versions_of(at_last, limit),
            want(&[
                (&id1, times[0]),
                (&id1, times[1]),
                (&id1, times[4]),
                (&id2, times[0])
            ]),
            "last,<t>,<t> with limit {limit}"
        );
        assert_eq!(versions_of(VersionFilter::at(Vec::new()), limit), []);
        let mut all = VersionFilter::first();
        all.all = true;
        assert_eq!(versions_of(all, limit).len(), 6);
    }
    // DELETE takes the same union.
    let w = s.writer().clone();
    assert_eq!(w.delete("c", &id1, &first_last).unwrap(), 2);
    assert_eq!(
        versions_of(VersionFilter::all(), 10),
        want(&[
            (&id1, times[1]),
            (&id1, times[2]),
            (&id1, times[3]),
            (&id2, times[0])
        ])
    );
    s.integrity_check().unwrap();
}

/// Two stores on one directory stand for `accord serve` and a CLI command
/// beside it: each writer sees what the other committed, so nothing is
/// stored twice and a collection the other created is found.
#[test]
fn a_second_writer_on_the_same_directory_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = SqliteStore::open(dir.path()).unwrap();
    let mut cli = SqliteStore::open(dir.path()).unwrap();
    // serve writes first, so its caches are warm.
    serve.put_batch(&one(&indicator(1, T1, "c"))).unwrap();
    // The CLI creates a collection and stores a version in it.
    let o = indicator(2, T1, "hotline");
    let PutOutcome::Stored { seq } = cli.put_batch(&one(&o)).unwrap()[0] else {
        panic!()
    };
    // The same version through serve is a duplicate, not a second row.
    assert_eq!(
        serve.put_batch(&one(&o)).unwrap(),
        vec![PutOutcome::Duplicate { seq }]
    );
    // Another into that collection through serve, first time: stored.
    let out = serve.put_batch(&one(&indicator(3, T1, "hotline"))).unwrap();
    assert!(matches!(out[0], PutOutcome::Stored { .. }), "{out:?}");
    assert_eq!(serve.count(Some("hotline")).unwrap(), 2);
    // A collection created by the CLI that serve never wrote to: serve's
    // delete finds it.
    let lone = indicator(4, T1, "lone");
    cli.put_batch(&one(&lone)).unwrap();
    assert_eq!(
        serve
            .writer()
            .delete("lone", &lone.id, &VersionFilter::all())
            .unwrap(),
        1
    );
    serve.integrity_check().unwrap();
}

/// The dashboard's reads: a tally by type and origin, the newest versions
/// (of some types), and a bounded search by text.
#[test]
fn tally_newest_and_find_text() {
    use accord_store::ObjectRead;
    let (_d, mut s) = open();
    let mut objs: Vec<common::Obj> = (1..=5).map(|n| indicator(n, T1, "c")).collect();
    objs.extend((1..=3).map(|n| observable("domain-name", n, "c")));
    objs.push(indicator(9, T1, "other"));
    s.put_batch(&borrow(&objs)).unwrap();
    let t = ObjectRead::tally(&s, "c").unwrap();
    let got: Vec<(&str, &str, u64)> = t
        .iter()
        .map(|t| (t.type_name.as_str(), t.origin.as_str(), t.count))
        .collect();
    assert_eq!(
        got,
        vec![("domain-name", "partner-a", 3), ("indicator", "local", 5)]
    );
    assert!(ObjectRead::tally(&s, "none").unwrap().is_empty());
    let newest = ObjectRead::newest(&s, "c", &[], i64::MAX, 3).unwrap();
    let seqs: Vec<i64> = newest.iter().map(|o| o.seq).collect();
    assert_eq!(seqs.len(), 3);
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    assert_eq!(newest[0].type_name, "domain-name");
    let ind = ObjectRead::newest(&s, "c", &["indicator".into()], i64::MAX, 10).unwrap();
    assert_eq!(ind.len(), 5);
    assert!(ind.iter().all(|o| o.type_name == "indicator"));
    let older = ObjectRead::newest(&s, "c", &[], seqs[2], 100).unwrap();
    assert_eq!(older.len(), 5);
    // Text: the address of indicator 3 (10.0.0.3), not in `other`.
    let hits = ObjectRead::find_text(&s, "c", "10.0.0.3'", &[], 1000, 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, objs[2].id);
    // The scan covers only the newest rows: the 3 observables are newer.
    assert!(
        ObjectRead::find_text(&s, "c", "10.0.0.3'", &[], 3, 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        ObjectRead::find_text(&s, "c", "v2", &["indicator".into()], 1000, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ObjectRead::find_text(&s, "c", "v2", &[], 1000, 10)
            .unwrap()
            .len(),
        1
    );
}

/// Two processes on one store (`accord serve` and the CLI): what one
/// writes (a new collection, an object) the other's writer, whose caches
/// predate it, still stores into or finds a duplicate, without an error.
#[test]
fn a_second_handle_writes_after_another_wrote_a_collection_and_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = SqliteStore::open(dir.path()).unwrap();
    let o0 = indicator(9, T1, "c");
    a.put_batch(&one(&o0)).unwrap();
    let mut b = SqliteStore::open(dir.path()).unwrap();
    let o = indicator(1, T1, "new");
    let PutOutcome::Stored { seq } = b.put_batch(&one(&o)).unwrap()[0] else {
        panic!("not stored by b")
    };
    // a has never seen `new` nor the object: a duplicate, not an error.
    assert_eq!(
        a.put_batch(&one(&o)).unwrap(),
        vec![PutOutcome::Duplicate { seq }]
    );
    let o2 = indicator(2, T1, "new");
    assert!(matches!(
        a.put_batch(&one(&o2)).unwrap()[0],
        PutOutcome::Stored { .. }
    ));
    assert_eq!(b.count(Some("new")).unwrap(), 2);
    // An object b wrote in a collection both know.
    let o3 = indicator(3, T1, "c");
    let PutOutcome::Stored { seq } = b.put_batch(&one(&o3)).unwrap()[0] else {
        panic!("not stored by b")
    };
    assert_eq!(
        a.put_batch(&one(&o3)).unwrap(),
        vec![PutOutcome::Duplicate { seq }]
    );
    assert_eq!(a.count(Some("c")).unwrap(), 2);
    a.integrity_check().unwrap();
}
