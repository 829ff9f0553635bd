//! The PostgreSQL backend's objects, writer and cursors, held to the
//! SQLite store: the same puts give the same outcomes, the same pages, the
//! same counts (differential), and the guarantees of `ObjectWrite` hold
//! with two `PgStore`s (two processes) writing one database at once.
//! Each test prints one `skip:` line and returns when no PostgreSQL can be
//! had (see `accord_testkit::postgres`).

mod common;

use accord_stix::FixedClock;
use accord_store::pg::PgStore;
use accord_store::{
    Backend, NewObject, ObjectRead, OpenOptions, PartnerHealth, PushStep, PutOutcome, Query,
    SqliteStore, StoreError, SyncCursors, Timestamp, VersionFilter,
};
use common::{Obj, borrow, indicator, observable, one};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `application_name` of the PostgreSQL writer's connection.
const WRITER: &str = "accord-writer";

/// 2026-01-01T00:00:00Z in microseconds.
const T0: i64 = 1_767_225_600_000_000;

fn pg(test: &str) -> Option<String> {
    accord_testkit::postgres::cluster(test).map(|c| c.fresh_database())
}

fn opts(clock: &Arc<FixedClock>) -> OpenOptions {
    OpenOptions::new().clock(Arc::clone(clock) as Arc<dyn accord_stix::Clock>)
}

/// A PostgreSQL store and an SQLite store with clocks stuck at the same
/// instant, so that the same puts give the same seqs and dates.
struct Pair {
    pg: PgStore,
    sqlite: SqliteStore,
    _dir: tempfile::TempDir,
    clocks: [Arc<FixedClock>; 2],
}

impl Pair {
    fn new(db: &str) -> Pair {
        let clocks = [Arc::new(FixedClock::new(T0)), Arc::new(FixedClock::new(T0))];
        let dir = tempfile::tempdir().unwrap();
        Pair {
            pg: PgStore::connect(db, &opts(&clocks[0])).expect("connect"),
            sqlite: SqliteStore::open_with(dir.path(), &opts(&clocks[1])).expect("open"),
            _dir: dir,
            clocks,
        }
    }

    fn stores(&self) -> [&dyn Backend; 2] {
        [&self.pg, &self.sqlite]
    }

    /// Puts `objs` in both; asserts the same outcomes; returns them.
    fn put(&self, objs: &[NewObject<'_>]) -> Vec<PutOutcome> {
        let a = self.pg.writer().put_batch(objs).expect("pg put");
        let b = self.sqlite.writer().put_batch(objs).expect("sqlite put");
        assert_eq!(a, b, "outcomes differ");
        a
    }

    fn set_clock(&self, micros: i64) {
        for c in &self.clocks {
            c.set_micros(micros);
        }
    }

    /// Asserts that every page of `q`, at `limit` a page, is the same in
    /// both; returns how many objects matched.
    fn same_pages(&self, q: &Query, limit: usize) -> usize {
        let mut q = q.clone();
        let mut n = 0;
        loop {
            let a = self.pg.query(&q, limit).expect("pg query");
            let b = ObjectRead::query(&self.sqlite, &q, limit).expect("sqlite query");
            assert_eq!(a, b, "page after {} of {q:?} (limit {limit})", q.after_seq);
            let ra = self.pg.query_raw(&q, limit).expect("pg query_raw");
            let rb = self.sqlite.query_raw(&q, limit).expect("sqlite query_raw");
            assert_eq!(ra, rb, "raw page after {} of {q:?}", q.after_seq);
            n += a.objects.len();
            assert!(a.objects.windows(2).all(|w| w[0].seq < w[1].seq));
            match (a.more, a.last_seq()) {
                (true, Some(last)) => q.after_seq = last,
                (true, None) => {
                    assert_eq!(limit, 0);
                    return n;
                }
                (false, _) => return n,
            }
        }
    }

    /// Asserts the other reads agree.
    fn same_reads(&self, ids: &[&str]) {
        let [a, b] = self.stores();
        assert_eq!(a.collections().unwrap(), b.collections().unwrap());
        assert_eq!(a.count(None).unwrap(), b.count(None).unwrap());
        assert_eq!(a.max_seq().unwrap(), b.max_seq().unwrap());
        for c in ["red", "green", "nope", "Blue"] {
            assert_eq!(a.count(Some(c)).unwrap(), b.count(Some(c)).unwrap(), "{c}");
            assert_eq!(a.tally(c).unwrap(), b.tally(c).unwrap(), "tally {c}");
            for types in [
                vec![],
                vec!["indicator".to_owned()],
                vec!["ipv4-addr".to_owned(), "malware".to_owned()],
            ] {
                for before in [i64::MAX, 5, 20] {
                    for limit in [0, 1, 4, 100] {
                        assert_eq!(
                            a.newest(c, &types, before, limit).unwrap(),
                            b.newest(c, &types, before, limit).unwrap(),
                            "newest {c} {types:?} {before} {limit}"
                        );
                    }
                }
                for (text, scan, limit) in [
                    ("Malicious host 3", 100, 10),
                    ("v1", 5, 2),
                    ("", 3, 10),
                    ("ü", 100, 100),
                    ("absent", 100, 10),
                ] {
                    assert_eq!(
                        a.find_text(c, text, &types, scan, limit).unwrap(),
                        b.find_text(c, text, &types, scan, limit).unwrap(),
                        "find_text {c} {text} {types:?}"
                    );
                }
            }
            for id in ids {
                assert_eq!(
                    a.get_versions(c, id).unwrap(),
                    b.get_versions(c, id).unwrap()
                );
            }
        }
        for (after, limit) in [(0, 1000), (3, 5), (1000, 5)] {
            assert_eq!(
                a.objects_after(after, limit).unwrap(),
                b.objects_after(after, limit).unwrap()
            );
        }
        let seqs = [7, 1, 3, 999, 3, 2];
        assert_eq!(
            a.objects_by_seq(&seqs).unwrap(),
            b.objects_by_seq(&seqs).unwrap()
        );
        a.integrity_check().expect("pg integrity");
        b.integrity_check().expect("sqlite integrity");
    }
}

fn malware(n: u64, modified: &str, collection: &str, spec: &str) -> Obj {
    let id = format!("malware--{n:08x}-0000-4000-8000-000000000000");
    Obj {
        raw: format!(
            "{{ \"type\": \"malware\",\n  \"spec_version\": \"{spec}\", \"id\": \"{id}\", \"created\": \"2024-01-01T00:00:00Z\", \"modified\": \"{modified}\", \"name\": \"Bär \\u00fc {n}\", \"is_family\": false }}"
        ),
        id,
        type_name: "malware".into(),
        spec_version: spec.into(),
        created: Some("2024-01-01T00:00:00Z".into()),
        modified: Some(modified.into()),
        markings: vec![],
        collection: collection.into(),
        origin: format!("partner-{}", n % 3),
    }
}

const V: [&str; 4] = [
    "2024-01-01T00:00:00Z",
    "2024-01-02T00:00:00.5Z",
    "2024-01-02T00:00:00.25Z",
    "2024-01-03T00:00:00.000Z",
];

/// The data both stores get, in batches: several collections, types,
/// versions (out of order), spec versions, unversioned observables.
fn dataset() -> Vec<Vec<Obj>> {
    let mut batches = Vec::new();
    for round in 0..4usize {
        let mut b = Vec::new();
        for n in 0..6u64 {
            let coll = if n % 2 == 0 { "red" } else { "green" };
            b.push(indicator(n, V[(round + n as usize) % 4], coll));
            if n % 3 == 0 {
                b.push(malware(
                    n,
                    V[round],
                    "Blue",
                    if n == 0 { "2.0" } else { "2.1" },
                ));
            }
        }
        b.push(observable("ipv4-addr", round as u64, "red"));
        b.push(observable("ipv4-addr", 0, "green"));
        batches.push(b);
    }
    batches
}

fn queries(ids: &[&str]) -> Vec<Query> {
    let vfs = [
        VersionFilter::all(),
        VersionFilter::first(),
        VersionFilter::last(),
        VersionFilter {
            first: true,
            last: true,
            ..VersionFilter::first()
        },
        VersionFilter::at(vec![
            Timestamp::parse("2024-01-02T00:00:00.500Z").unwrap(),
            Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
        ]),
        VersionFilter {
            last: true,
            ..VersionFilter::at(vec![Timestamp::parse("2024-01-01T00:00:00Z").unwrap()])
        },
        VersionFilter {
            all: false,
            first: false,
            last: false,
            at: vec![],
        },
    ];
    let mut qs = Vec::new();
    for coll in [None, Some("red"), Some("Blue"), Some("nope")] {
        for types in [
            vec![],
            vec!["indicator"],
            vec!["malware", "ipv4-addr", "malware"],
        ] {
            for versions in &vfs {
                qs.push(Query {
                    collection: coll.map(str::to_owned),
                    types: types.iter().map(|t| (*t).to_owned()).collect(),
                    versions: versions.clone(),
                    ..Query::default()
                });
            }
        }
        qs.push(Query {
            collection: coll.map(str::to_owned),
            ids: ids.iter().map(|t| (*t).to_owned()).collect(),
            versions: VersionFilter::all(),
            ..Query::default()
        });
        qs.push(Query {
            collection: coll.map(str::to_owned),
            ids: vec![ids[0].to_owned()],
            types: vec!["malware".into()],
            versions: VersionFilter::all(),
            ..Query::default()
        });
        qs.push(Query {
            collection: coll.map(str::to_owned),
            spec_versions: vec!["2.0".into()],
            versions: VersionFilter::all(),
            ..Query::default()
        });
        for added in [T0 + 3, T0 + 10, T0 + 1_000_000_000] {
            for versions in [VersionFilter::all(), VersionFilter::last()] {
                qs.push(Query {
                    collection: coll.map(str::to_owned),
                    added_after: Some(Timestamp::from_unix(
                        added.div_euclid(1_000_000),
                        u32::try_from(added.rem_euclid(1_000_000) * 1000).unwrap(),
                    )),
                    versions,
                    after_seq: 2,
                    ..Query::default()
                });
            }
        }
    }
    qs
}

#[test]
fn pages_and_reads_match_sqlite() {
    let Some(db) = pg("pages_and_reads_match_sqlite") else {
        return;
    };
    let p = Pair::new(&db);
    let data = dataset();
    for (i, batch) in data.iter().enumerate() {
        // The clock stands still, then goes back: dates still grow.
        p.set_clock(if i == 2 { T0 - 5_000_000 } else { T0 });
        p.put(&borrow(batch));
    }
    // The same again: duplicates; and a conflict.
    p.put(&borrow(&data[1]));
    let mut conflict = data[0][0].clone();
    conflict.raw = conflict
        .raw
        .replace("\"confidence\":80", "\"confidence\":79");
    assert!(matches!(
        p.put(&one(&conflict))[0],
        PutOutcome::Conflict { .. }
    ));

    let ids: Vec<String> = vec![
        data[0][0].id.clone(),
        malware(3, V[0], "Blue", "2.1").id,
        observable("ipv4-addr", 0, "green").id,
        "indicator--absent".into(),
    ];
    let idr: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut matched = 0;
    for q in queries(&idr) {
        for limit in [1, 3, 1000] {
            matched += p.same_pages(&q, limit);
        }
        p.same_pages(&q, 0);
    }
    assert!(matched > 500, "the queries matched too little: {matched}");
    p.same_reads(&idr);

    // Deletes: the same counts, no seq reused, pages still agree.
    for (id, coll, vf) in [
        (idr[0], "red", VersionFilter::first()),
        (idr[1], "Blue", VersionFilter::last()),
        (idr[2], "green", VersionFilter::all()),
        (
            idr[0],
            "red",
            VersionFilter::at(vec![Timestamp::parse(V[1]).unwrap()]),
        ),
        (idr[3], "red", VersionFilter::all()),
        (idr[0], "nope", VersionFilter::all()),
    ] {
        let a = p.pg.writer().delete(coll, id, &vf).unwrap();
        let b = p.sqlite.writer().delete(coll, id, &vf).unwrap();
        assert_eq!(a, b, "delete {id} {coll} {vf:?}");
    }
    let again = p.put(&borrow(&data[0]));
    assert!(again.iter().any(|o| matches!(o, PutOutcome::Stored { .. })));
    for q in queries(&idr) {
        p.same_pages(&q, 2);
    }
    p.same_reads(&idr);
}

#[test]
fn put_duplicate_conflict_and_raw_bytes() {
    let Some(db) = pg("put_duplicate_conflict_and_raw_bytes") else {
        return;
    };
    let s = PgStore::connect(&db, &OpenOptions::new()).unwrap();
    let w = s.writer();
    let a = indicator(1, V[0], "c");
    let mut pretty = a.clone();
    pretty.raw = a.raw.replace(",\"", ",\n    \"").replace("{\"", "{ \"");
    let mut other = a.clone();
    other.raw = a.raw.replace("Malicious", "Benign");
    // Within one batch.
    let out = w
        .put_batch(&[a.new_object(), pretty.new_object(), other.new_object()])
        .unwrap();
    assert_eq!(
        out,
        vec![
            PutOutcome::Stored { seq: 1 },
            PutOutcome::Duplicate { seq: 1 },
            PutOutcome::Conflict { existing_seq: 1 }
        ]
    );
    // Within one group: batches queued before any is answered.
    let b = indicator(2, V[0], "c");
    let mut b2 = b.clone();
    b2.raw = b.raw.replace("Malicious", "Benign");
    let pending: Vec<_> = (0..8)
        .map(|i| {
            let o = if i % 2 == 0 { &b } else { &b2 };
            w.submit(&one(o)).unwrap()
        })
        .collect();
    let outs: Vec<PutOutcome> = pending.into_iter().map(|p| p.wait().unwrap()[0]).collect();
    assert_eq!(outs[0], PutOutcome::Stored { seq: 2 });
    for (i, o) in outs.iter().enumerate().skip(1) {
        if i % 2 == 0 {
            assert_eq!(*o, PutOutcome::Duplicate { seq: 2 });
        } else {
            assert_eq!(*o, PutOutcome::Conflict { existing_seq: 2 });
        }
    }
    // Raw bytes come back exactly: odd whitespace, escapes, non-ASCII.
    let mut odd = indicator(3, V[1], "c");
    odd.raw = format!(
        "\t{}  \r\n",
        odd.raw
            .replace(
                "Malicious host 3",
                "Mal\\u0069cious \\\"host\\\" \\ud83d\\ude00 😀 Ünïcödé\\n"
            )
            .replace(",\"", " ,\r\n\t\"")
    );
    w.put_batch(&one(&odd)).unwrap();
    let got = s.get_versions("c", &odd.id).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].raw, odd.raw);
    assert_eq!(got[0].raw.as_bytes(), odd.raw.as_bytes());
    let raw = s
        .query_raw(
            &Query {
                ids: vec![odd.id.clone()],
                versions: VersionFilter::all(),
                ..Query::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(raw.objects, vec![(got[0].seq, odd.raw.clone())]);
    // The same whitespace-insensitive hash as SQLite: pretty is a duplicate.
    let mut compact = odd.clone();
    compact.raw = odd.raw.trim().replace(" ,\r\n\t\"", ",\"");
    assert_eq!(
        w.put_batch(&one(&compact)).unwrap(),
        vec![PutOutcome::Duplicate { seq: got[0].seq }]
    );
    s.integrity_check().unwrap();
}

#[test]
fn a_bad_batch_fails_alone_and_names_itself() {
    let Some(db) = pg("a_bad_batch_fails_alone_and_names_itself") else {
        return;
    };
    let s = PgStore::connect(&db, &OpenOptions::new()).unwrap();
    let w = s.writer();
    // A NUL character cannot be stored in PostgreSQL text: the batch fails,
    // its neighbours in the same group do not.
    let good1 = indicator(1, V[0], "c");
    let mut bad = indicator(2, V[0], "c");
    bad.raw = bad.raw.replace("Malicious", "Mal\0icious");
    let good2 = indicator(3, V[0], "c");
    let p1 = w.submit(&one(&good1)).unwrap();
    let p2 = w.submit(&one(&bad)).unwrap();
    let p3 = w.submit(&one(&good2)).unwrap();
    assert!(matches!(p1.wait().unwrap()[0], PutOutcome::Stored { .. }));
    let e = p2.wait().unwrap_err();
    assert!(matches!(e, StoreError::Postgres { .. }), "{e}");
    assert!(e.to_string().contains(&bad.id), "{e}");
    // The server's own reason is shown, not only "db error".
    assert!(e.to_string().contains("0x00"), "{e}");
    assert!(matches!(p3.wait().unwrap()[0], PutOutcome::Stored { .. }));
    assert_eq!(s.count(Some("c")).unwrap(), 2);
    s.integrity_check().unwrap();
    // Invalid input is refused before it is queued, as in SQLite.
    let mut empty = indicator(4, V[0], "c");
    empty.id = String::new();
    assert!(matches!(
        w.put_batch(&one(&empty)),
        Err(StoreError::InvalidObject { .. })
    ));
}

#[test]
fn deleted_seqs_are_never_reused_and_dates_always_grow() {
    let Some(db) = pg("deleted_seqs_are_never_reused_and_dates_always_grow") else {
        return;
    };
    let clock = Arc::new(FixedClock::new(T0));
    let s = PgStore::connect(&db, &opts(&clock)).unwrap();
    let w = s.writer();
    let a = indicator(1, V[0], "c");
    let b = indicator(1, V[1], "c");
    assert_eq!(
        w.put_batch(&[a.new_object(), b.new_object()]).unwrap(),
        vec![PutOutcome::Stored { seq: 1 }, PutOutcome::Stored { seq: 2 }]
    );
    assert_eq!(w.delete("c", &a.id, &VersionFilter::last()).unwrap(), 1);
    assert_eq!(
        w.delete(
            "c",
            &a.id,
            &VersionFilter::at(vec![Timestamp::parse(V[1]).unwrap()])
        )
        .unwrap(),
        0
    );
    assert_eq!(s.count(Some("c")).unwrap(), 1);
    // The last version deleted: putting it again gives a new seq.
    clock.advance_micros(-3_600_000_000);
    assert_eq!(
        w.put_batch(&one(&b)).unwrap(),
        vec![PutOutcome::Stored { seq: 3 }]
    );
    assert_eq!(w.delete("c", &a.id, &VersionFilter::all()).unwrap(), 2);
    assert_eq!(s.max_seq().unwrap(), 0);
    assert_eq!(s.count(None).unwrap(), 0);
    clock.advance_micros(-3_600_000_000);
    assert_eq!(
        w.put_batch(&one(&a)).unwrap(),
        vec![PutOutcome::Stored { seq: 4 }]
    );
    // The deleted versions' leaves stay in the log.
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let leaves: Vec<i64> = c
        .query(
            "SELECT seq FROM ledger_leaves WHERE seq IS NOT NULL ORDER BY idx",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(leaves, vec![1, 2, 3, 4]);
    // Stuck and backwards clock: dates strictly grow with seq anyway.
    for i in 0..5u64 {
        clock.advance_micros(if i % 2 == 0 { 0 } else { -10_000_000 });
        let batch: Vec<Obj> = (0..3)
            .map(|n| indicator(10 + i * 3 + n, V[0], "d"))
            .collect();
        w.put_batch(&borrow(&batch)).unwrap();
    }
    let page = s
        .query(
            &Query {
                versions: VersionFilter::all(),
                ..Query::default()
            },
            1000,
        )
        .unwrap();
    assert_eq!(page.objects.len(), 16);
    for pair in page.objects.windows(2) {
        assert!(pair[0].seq < pair[1].seq);
        assert!(pair[0].date_added < pair[1].date_added, "{pair:?}");
    }
    s.integrity_check().unwrap();
}

#[test]
fn two_processes_write_one_database() {
    let Some(db) = pg("two_processes_write_one_database") else {
        return;
    };
    const THREADS: u64 = 4;
    const BATCHES: u64 = 25;
    const PER: u64 = 8;
    let stores: Vec<PgStore> = (0..2)
        .map(|_| PgStore::connect(&db, &OpenOptions::new()).unwrap())
        .collect();
    let reader = PgStore::connect(&db, &OpenOptions::new()).unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A reader pages by seq while the writers write: it never skips a row.
    let follow = {
        let done = Arc::clone(&done);
        let r = reader.new_handle().unwrap();
        std::thread::spawn(move || {
            let mut seen: Vec<i64> = Vec::new();
            let mut after = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = r
                    .query(
                        &Query {
                            collection: Some("shared".into()),
                            versions: VersionFilter::all(),
                            after_seq: after,
                            ..Query::default()
                        },
                        7,
                    )
                    .unwrap();
                if let Some(l) = page.last_seq() {
                    after = l;
                }
                seen.extend(page.objects.iter().map(|o| o.seq));
                if finished && !page.more {
                    return seen;
                }
            }
        })
    };
    let mut handles = Vec::new();
    for (p, store) in stores.iter().enumerate() {
        for t in 0..THREADS {
            let w = store.writer().to_shared();
            handles.push(std::thread::spawn(move || {
                let mut out = Vec::new();
                for b in 0..BATCHES {
                    // Half the objects are written by both processes.
                    let objs: Vec<Obj> = (0..PER)
                        .map(|i| {
                            let n = if i % 2 == 0 {
                                (t * BATCHES + b) * PER + i
                            } else {
                                1_000_000 + (p as u64 * THREADS + t) * BATCHES * PER + b * PER + i
                            };
                            indicator(n, V[0], "shared")
                        })
                        .collect();
                    out.extend(w.put_batch(&borrow(&objs)).unwrap());
                }
                out
            }));
        }
    }
    let outcomes: Vec<PutOutcome> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = follow.join().unwrap();
    let stored: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            PutOutcome::Stored { seq } => Some(*seq),
            _ => None,
        })
        .collect();
    let unique: BTreeSet<i64> = stored.iter().copied().collect();
    assert_eq!(unique.len(), stored.len(), "a seq was given twice");
    // Each shared object stored once, by one process; the other's a duplicate.
    let expected = THREADS * BATCHES * PER / 2 + 2 * THREADS * BATCHES * PER / 2;
    assert_eq!(stored.len() as u64, expected);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, PutOutcome::Duplicate { .. }))
            .count() as u64,
        THREADS * BATCHES * PER / 2
    );
    // Gap-free (nothing was deleted), and the follower saw every row once, in order.
    assert_eq!(
        unique.iter().copied().collect::<Vec<_>>(),
        (1..=expected as i64).collect::<Vec<_>>()
    );
    assert_eq!(seen, (1..=expected as i64).collect::<Vec<_>>());
    assert_eq!(reader.count(Some("shared")).unwrap(), expected);
    let mut all = HashSet::new();
    let mut q = Query {
        versions: VersionFilter::all(),
        ..Query::default()
    };
    loop {
        let page = reader.query(&q, 100).unwrap();
        for o in &page.objects {
            assert!(all.insert(o.seq));
        }
        match page.last_seq() {
            Some(l) if page.more => q.after_seq = l,
            _ => break,
        }
    }
    assert_eq!(all.len() as u64, expected);
    reader.integrity_check().unwrap();
}

fn record(object: &str, partner: &str) -> accord_store::accord_ledger::ExchangeRecord {
    accord_store::accord_ledger::ExchangeRecord {
        direction: accord_store::accord_ledger::Direction::Out,
        partner: Some(partner.into()),
        collection: "c".into(),
        object_id: object.into(),
        modified: Some("2024-01-01T00:00:00Z".into()),
        sha256: "00".repeat(32),
        decision: accord_store::accord_ledger::Decision::Sent,
        time: "2026-01-01T00:00:00.000000Z".into(),
        salt: None,
    }
}

#[test]
fn out_records_push_journal_and_cursors_match_sqlite() {
    let Some(db) = pg("out_records_push_journal_and_cursors_match_sqlite") else {
        return;
    };
    let p = Pair::new(&db);
    let both = |f: &dyn Fn(&dyn Backend) -> String| -> String {
        let a = f(&p.pg);
        let b = f(&p.sqlite);
        assert_eq!(a, b);
        a
    };
    let r = record("indicator--1", "b");
    both(&|s| format!("{:?}", s.writer().log_records(&[r.clone(), r.clone()])));
    both(&|s| format!("{:?}", s.writer().log_records(&[])));
    // An invalid record is refused, nothing appended.
    let mut bad = r.clone();
    bad.object_id = String::new();
    let e = both(&|s| match s.writer().log_records(&[bad.clone()]) {
        Err(StoreError::InvalidObject { index, .. }) => format!("invalid {index}"),
        other => format!("{other:?}"),
    });
    assert_eq!(e, "invalid 0");
    let pending = |after: i64, last: i64| PushStep::Pending {
        key: "push b c".into(),
        after,
        last_seq: last,
        objects: vec!["{\"a\": 1}".into(), "ü".into()],
    };
    let ok = |r: Result<(), StoreError>| match r {
        Ok(()) => "ok".to_owned(),
        Err(StoreError::Postgres { .. } | StoreError::Write { .. }) => "refused".to_owned(),
        Err(e) => format!("{e}"),
    };
    assert_eq!(
        both(&|s| ok(s.writer().log_push(std::slice::from_ref(&r), pending(0, 5)))),
        "ok"
    );
    // Already pending under the key.
    assert_eq!(
        both(&|s| ok(s.writer().log_push(std::slice::from_ref(&r), pending(0, 6)))),
        "refused"
    );
    both(&|s| format!("{:?}", s.push_pending("push b c").unwrap()));
    assert!(p.pg.push_pending("push b c").unwrap().is_some());
    both(&|s| format!("{:?}", s.push_acked("push b c", 5)));
    assert_eq!(
        both(&|s| format!("{:?}", s.sync_cursor("push b c").unwrap())),
        "Some(\"5\")"
    );
    both(&|s| format!("{:?}", s.push_pending("push b c").unwrap()));
    // A late acknowledgement never sends the cursor back.
    both(&|s| format!("{:?}", s.push_acked("push b c", 3)));
    assert_eq!(
        both(&|s| format!("{:?}", s.sync_cursor("push b c").unwrap())),
        "Some(\"5\")"
    );
    // The cursor moved: a batch read after 0 is refused, nothing committed.
    let done = |after: i64, last: i64| PushStep::Done {
        key: "push b c".into(),
        after,
        last_seq: last,
    };
    let e =
        p.pg.writer()
            .log_push(std::slice::from_ref(&r), done(0, 9))
            .unwrap_err();
    assert!(e.to_string().contains("is at 5, not 0"), "{e}");
    assert_eq!(
        both(&|s| ok(s.writer().log_push(std::slice::from_ref(&r), done(0, 9)))),
        "refused"
    );
    assert_eq!(both(&|s| ok(s.writer().log_push(&[], done(5, 9)))), "ok");
    assert_eq!(
        both(&|s| format!("{:?}", s.sync_cursor("push b c").unwrap())),
        "Some(\"9\")"
    );
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM ledger_leaves WHERE seq IS NULL", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 3, "two records, then one with the pending batch");
    let leaf: Vec<u8> = c
        .query_one("SELECT leaf FROM ledger_leaves ORDER BY idx LIMIT 1", &[])
        .unwrap()
        .get(0);
    assert!(String::from_utf8(leaf).unwrap().contains("\"salt\""));

    // Pull cursors and partner health.
    both(&|s| format!("{:?}", s.set_sync_cursor("b -> c", "2026-01-01T00:00:00Z")));
    both(&|s| format!("{:?}", s.set_sync_cursor("B -> c", "x")));
    both(&|s| format!("{:?}", s.set_sync_cursor("b -> c", "2026-01-02T00:00:00Z")));
    assert_eq!(
        both(&|s| format!(
            "{:?}",
            s.import_sync_cursors(&[("b -> c", "old"), ("n", "1"), ("n", "2"), ("m", "3")])
        )),
        "Ok(2)"
    );
    both(&|s| format!("{:?}", s.sync_cursors().unwrap()));
    assert_eq!(
        both(&|s| format!("{:?}", s.sync_cursor("n").unwrap())),
        "Some(\"1\")"
    );
    both(&|s| format!("{:?}", s.sync_cursor("none").unwrap()));
    let mut h = PartnerHealth {
        partner: "b".into(),
        last_error: Some("GET http://b/: timeout".into()),
        last_error_at: Some("2026-01-01T00:00:00Z".into()),
        failures: 3,
        ..PartnerHealth::default()
    };
    both(&|s| format!("{:?}", s.set_partner_health(&h)));
    h.paused = true;
    h.paused_reason = Some("invalid STIX".into());
    both(&|s| format!("{:?}", s.set_partner_health(&h)));
    both(&|s| {
        format!(
            "{:?}",
            s.set_partner_health(&PartnerHealth {
                partner: "a".into(),
                last_success: Some("2026-01-02T00:00:00Z".into()),
                ..PartnerHealth::default()
            })
        )
    });
    assert!(both(&|s| format!("{:?}", s.partner_health("b").unwrap())).contains("invalid STIX"));
    both(&|s| format!("{:?}", s.partner_health("z").unwrap()));
    both(&|s| format!("{:?}", s.partner_healths().unwrap()));
}

#[test]
fn received_objects_get_in_records() {
    let Some(db) = pg("received_objects_get_in_records") else {
        return;
    };
    let s = PgStore::connect(&db, &OpenOptions::new()).unwrap();
    let from = s.writer().received_from("partner-b");
    from.put_batch(&one(&indicator(1, V[0], "c"))).unwrap();
    s.writer()
        .received_from("")
        .put_batch(&one(&indicator(2, V[0], "c")))
        .unwrap();
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let leaves: Vec<String> = c
        .query("SELECT leaf FROM ledger_leaves ORDER BY idx", &[])
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(r.get(0)).unwrap())
        .collect();
    assert_eq!(leaves.len(), 2);
    assert!(
        leaves[0].contains("\"direction\":\"in\"") && leaves[0].contains("partner-b"),
        "{}",
        leaves[0]
    );
    assert!(
        leaves[1].contains("\"direction\":\"local\""),
        "{}",
        leaves[1]
    );
}

#[test]
fn the_size_cap_fails_writes_that_grow_past_it() {
    let Some(db) = pg("the_size_cap_fails_writes_that_grow_past_it") else {
        return;
    };
    let s = PgStore::connect(&db, &OpenOptions::new()).unwrap();
    let w = s.writer();
    w.put_batch(&one(&indicator(0, V[0], "c"))).unwrap();
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let size: i64 = c
        .query_one("SELECT pg_database_size(current_database())", &[])
        .unwrap()
        .get(0);
    w.set_max_size_bytes(Some(size as u64)).unwrap();
    let big: Vec<Obj> = (1..3000).map(|n| indicator(n, V[0], "c")).collect();
    let e = w.put_batch(&borrow(&big)).unwrap_err();
    assert!(e.is_full(), "{e}");
    assert_eq!(s.count(None).unwrap(), 1, "nothing of the batch was stored");
    w.set_max_size_bytes(None).unwrap();
    assert_eq!(w.put_batch(&borrow(&big)).unwrap().len(), 2999);
    assert_eq!(s.count(None).unwrap(), 3000);
    s.integrity_check().unwrap();
}

/// Terminates every backend of the database named `application_name`.
fn kill(c: &mut postgres::Client, app: &str) -> i64 {
    c.query_one(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1",
        &[&app],
    )
    .unwrap()
    .get(0)
}

#[test]
fn the_writer_connects_again_after_its_connection_broke() {
    let Some(db) = pg("the_writer_connects_again_after_its_connection_broke") else {
        return;
    };
    let s = PgStore::connect(&db, &OpenOptions::new()).unwrap();
    let w = s.writer();
    w.put_batch(&one(&indicator(0, V[0], "c"))).unwrap();
    let mut admin = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    // Broken while idle: the next batch never reached the server, it goes
    // through on a new connection.
    assert_eq!(kill(&mut admin, WRITER), 1);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        w.put_batch(&one(&indicator(1, V[0], "c"))).unwrap(),
        vec![PutOutcome::Stored { seq: 2 }]
    );
    // Broken with a batch in flight: that batch fails, the next one works.
    let mut tx = admin.transaction().unwrap();
    tx.batch_execute("LOCK TABLE collections IN EXCLUSIVE MODE")
        .unwrap();
    let pending = w.submit(&one(&indicator(2, V[0], "c"))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut watch = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    loop {
        let waiting: i64 = watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1
                 AND wait_event_type = 'Lock'",
                &[&WRITER],
            )
            .unwrap()
            .get(0);
        if waiting == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the writer never waited on the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Queued behind the batch in flight: not in flight, so not failed.
    let queued = [
        w.submit(&one(&indicator(3, V[0], "c"))).unwrap(),
        w.submit(&one(&indicator(4, V[0], "c"))).unwrap(),
    ];
    assert_eq!(kill(&mut watch, WRITER), 1);
    let e = pending.wait().unwrap_err();
    assert!(matches!(e, StoreError::Postgres { .. }), "{e}");
    assert!(e.to_string().contains("batch"), "{e}");
    tx.rollback().unwrap();
    let mut seqs: Vec<PutOutcome> = queued.into_iter().map(|p| p.wait().unwrap()[0]).collect();
    seqs.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        seqs,
        vec![PutOutcome::Stored { seq: 3 }, PutOutcome::Stored { seq: 4 }]
    );
    assert_eq!(
        w.put_batch(&one(&indicator(5, V[0], "c"))).unwrap(),
        vec![PutOutcome::Stored { seq: 5 }]
    );
    // A read handle whose connection broke: that read fails, the next works.
    watch
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND application_name = ''",
            &[],
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let first = s.count(None);
    assert!(
        matches!(first, Err(StoreError::Postgres { .. })),
        "{first:?}"
    );
    assert_eq!(s.count(None).unwrap(), 5);
    s.integrity_check().unwrap();
}

#[test]
fn the_integrity_check_finds_tampering() {
    let Some(db) = pg("the_integrity_check_finds_tampering") else {
        return;
    };
    let s = PgStore::connect(&db, &OpenOptions::new()).unwrap();
    let objs: Vec<Obj> = (0..5).map(|n| indicator(n, V[0], "c")).collect();
    s.writer().put_batch(&borrow(&objs)).unwrap();
    s.integrity_check().unwrap();
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    // With amcheck (PostgreSQL's contrib), the indexes are checked too.
    if c.batch_execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        .is_ok()
    {
        s.integrity_check().unwrap();
    }
    c.batch_execute(
        "UPDATE objects SET raw = replace(raw, 'Malicious', 'Harmless') WHERE seq = 2;
         UPDATE collections SET n_versions = 7;
         UPDATE objects SET date_added = 0 WHERE seq = 4;",
    )
    .unwrap();
    let Err(StoreError::Corrupt { problems, .. }) = s.integrity_check() else {
        panic!("tampering not found");
    };
    let all = problems.join("\n");
    assert!(all.contains("(seq 2): raw JSON does not match"), "{all}");
    assert!(all.contains("counts 7 versions but holds 5"), "{all}");
    assert!(all.contains("date_added not after"), "{all}");
}

/// Ingest and paging rates of the PostgreSQL backend beside SQLite's on
/// the same machine in the same run (ratios, not absolutes: the machine is
/// shared). `cargo test --release -p accord-store --test pg_objects --
/// --ignored --nocapture rates`.
#[test]
#[ignore = "a measurement, not a check"]
fn rates_beside_sqlite() {
    let Some(db) = pg("rates_beside_sqlite") else {
        return;
    };
    const THREADS: u64 = 4;
    const BATCHES: u64 = 20;
    const PER: u64 = 250;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path()).unwrap();
    let pg = PgStore::connect(&db, &OpenOptions::new()).unwrap();
    let n = THREADS * BATCHES * PER;
    let objs: Arc<Vec<Obj>> = Arc::new((0..n).map(|i| indicator(i, V[0], "c")).collect());
    let stores: [(&str, &dyn Backend); 2] = [("sqlite", &sqlite), ("postgres", &pg)];
    let mut line = Vec::new();
    for (name, s) in stores {
        let start = Instant::now();
        let hs: Vec<_> = (0..THREADS)
            .map(|t| {
                let w = s.writer().to_shared();
                let objs = Arc::clone(&objs);
                std::thread::spawn(move || {
                    for b in 0..BATCHES {
                        let at = ((t * BATCHES + b) * PER) as usize;
                        w.put_batch(&borrow(&objs[at..at + PER as usize])).unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let put = start.elapsed();
        let start = Instant::now();
        let mut q = Query {
            collection: Some("c".into()),
            ..Query::default()
        };
        let mut read = 0;
        loop {
            let page = s.query(&q, 1000).unwrap();
            read += page.objects.len();
            match page.last_seq() {
                Some(l) if page.more => q.after_seq = l,
                _ => break,
            }
        }
        assert_eq!(read as u64, n);
        let page = start.elapsed();
        let start = Instant::now();
        for i in 0..1000u64 {
            let v = s
                .get_versions("c", &objs[(i * 7919 % n) as usize].id)
                .unwrap();
            assert_eq!(v.len(), 1);
        }
        let point = start.elapsed();
        line.push((
            name,
            n as f64 / put.as_secs_f64(),
            n as f64 / page.as_secs_f64(),
            1000.0 / point.as_secs_f64(),
        ));
    }
    // The floor: the same rows inserted by one bare connection into a copy
    // of the table (same indexes), a multi-row INSERT and a commit per
    // 1,000 rows, with no lookup, no ledger, no high-water marks.
    let floor = {
        let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
        c.batch_execute(
            "SET synchronous_commit = on;
             CREATE TABLE floor (LIKE objects INCLUDING ALL);
             ALTER TABLE floor DROP CONSTRAINT IF EXISTS floor_coll_id_fkey",
        )
        .unwrap();
        let st = c
            .prepare(
                "INSERT INTO floor (seq, coll_id, id, type, spec_version, created, modified,
                     version, date_added, origin, markings, sha256, raw, ledger_src)
                 SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[],
                     $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[],
                     $11::text[], $12::bytea[], $13::text[], $14::text[])",
            )
            .unwrap();
        let start = Instant::now();
        for (k, chunk) in objs.chunks(1000).enumerate() {
            let base = (k * 1000) as i64;
            let seqs: Vec<i64> = (0..chunk.len() as i64).map(|i| base + i + 1).collect();
            let colls = vec![1i32; chunk.len()];
            let ids: Vec<&str> = chunk.iter().map(|o| o.id.as_str()).collect();
            let types = vec!["indicator"; chunk.len()];
            let specs = vec!["2.1"; chunk.len()];
            let created: Vec<Option<&str>> = chunk.iter().map(|o| o.created.as_deref()).collect();
            let modified: Vec<Option<&str>> = chunk.iter().map(|o| o.modified.as_deref()).collect();
            let versions = vec!["2024-01-01T00:00:00.000000000Z"; chunk.len()];
            let origins = vec!["local"; chunk.len()];
            let markings = vec![""; chunk.len()];
            let shas = vec![&[7u8; 32][..]; chunk.len()];
            let raws: Vec<&str> = chunk.iter().map(|o| o.raw.as_str()).collect();
            let srcs: Vec<Option<&str>> = vec![Some("local"); chunk.len()];
            let mut tx = c.transaction().unwrap();
            tx.execute(
                &st,
                &[
                    &seqs, &colls, &ids, &types, &specs, &created, &modified, &versions, &seqs,
                    &origins, &markings, &shas, &raws, &srcs,
                ],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    println!("postgres floor (bare multi-row INSERT, 1,000 rows a commit): {floor:.0} obj/s");
    println!("postgres writer/floor: {:.2}", line[1].1 / floor);
    for (name, put, page, point) in &line {
        println!(
            "{name}: ingest {put:.0} obj/s ({THREADS} threads, batches of {PER}), paging {page:.0} obj/s (pages of 1000, last versions), get_versions {point:.0}/s"
        );
    }
    println!(
        "postgres/sqlite: ingest {:.2}, paging {:.2}, get_versions {:.2}",
        line[1].1 / line[0].1,
        line[1].2 / line[0].2,
        line[1].3 / line[0].3
    );
}
