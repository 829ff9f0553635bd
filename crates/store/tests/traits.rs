//! The store driven only through its capability traits (`&dyn Backend`,
//! `&dyn ObjectWrite`, …), as the node and the application layer will use
//! it; and the injected clock stamping what the store writes. Each test
//! runs on every backend (`sqlite::…`, `postgres::…`: see
//! `common/backend.rs`); `backends.rs` holds the full conformance suite.

mod common;

use accord_ledger::{Decision, Direction, ExchangeRecord};
use accord_stix::{Clock, FixedClock};
// The supertraits' methods (`LedgerRead`, `LedgerWrite`, `SyncCursors`)
// are callable on `dyn Backend` without importing them.
use accord_store::{
    Backend, ObjectRead, ObjectWrite, OpenOptions, PutOutcome, Query, VersionFilter,
};
use common::backend::{Db, on_every_backend};
use common::{borrow, indicator, one};
use std::sync::Arc;

on_every_backend!(
    a_store_is_driven_through_its_traits_alone,
    the_injected_clock_stamps_date_added_and_ledger_times,
);

/// A leaf's `time`, `direction` and `partner`.
fn leaf_fields(leaf: &[u8]) -> (String, String, Option<String>) {
    let v: serde_json::Value = serde_json::from_slice(leaf).expect("leaf is JSON");
    (
        v["time"].as_str().expect("time").to_owned(),
        v["direction"].as_str().expect("direction").to_owned(),
        v["partner"].as_str().map(str::to_owned),
    )
}

fn objects(store: &dyn ObjectRead, q: &Query, limit: usize) -> Vec<(i64, String)> {
    let mut q = q.clone();
    let mut all = Vec::new();
    loop {
        let page = store.query(&q, limit).expect("query");
        assert!(page.objects.len() <= limit);
        all.extend(page.objects.iter().map(|o| (o.seq, o.id.clone())));
        match (page.more, page.last_seq()) {
            (true, Some(last)) => q.after_seq = last,
            (false, _) => return all,
            (true, None) => panic!("an empty page says more follow"),
        }
    }
}

/// Everything a server does with a store, through the traits only.
fn drive(store: &dyn Backend) {
    let w: &dyn ObjectWrite = store.writer();
    let objs: Vec<_> = (0..5)
        .map(|n| indicator(n, "2024-02-01T00:00:00.000Z", "c"))
        .collect();
    let out = w.put_batch(&borrow(&objs)).expect("put");
    assert!(
        out.iter().all(|o| matches!(o, PutOutcome::Stored { .. })),
        "{out:?}"
    );
    // Idempotent: the same batch again stores nothing.
    let again = w
        .submit(&borrow(&objs))
        .expect("submit")
        .wait()
        .expect("wait");
    assert!(
        again
            .iter()
            .all(|o| matches!(o, PutOutcome::Duplicate { .. })),
        "{again:?}"
    );
    // A second version of object 0, received from a partner.
    let newer = indicator(0, "2024-03-01T00:00:00.000Z", "c");
    let from_b = w.received_from("partner-b");
    assert!(matches!(
        from_b.put_batch(&one(&newer)).expect("put newer")[0],
        PutOutcome::Stored { .. }
    ));

    // Reads, page by page: every version once, in seq order.
    let all = Query {
        collection: Some("c".into()),
        versions: VersionFilter::all(),
        ..Query::default()
    };
    let read = objects(store, &all, 2);
    assert_eq!(read.len(), 6);
    assert!(read.windows(2).all(|p| p[0].0 < p[1].0), "{read:?}");
    let last = Query {
        collection: Some("c".into()),
        ..Query::default()
    };
    assert_eq!(objects(store, &last, 2).len(), 5);
    assert_eq!(store.count(Some("c")).expect("count"), 6);
    assert_eq!(store.count(Some("nothing")).expect("count"), 0);
    let colls = store.collections().expect("collections");
    assert_eq!(colls.len(), 1);
    assert_eq!((colls[0].name.as_str(), colls[0].n_versions), ("c", 6));
    let versions = store.get_versions("c", &newer.id).expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[0].modified.as_deref(),
        Some("2024-02-01T00:00:00.000Z")
    );
    assert_eq!(versions[1].raw, newer.raw);
    assert_eq!(versions[1].origin, "local");

    // The ledger: one record per stored version, none for duplicates.
    assert_eq!(store.ledger_size().expect("size"), 6);
    let (size, root) = store.ledger_head().expect("head");
    assert_eq!(size, 6);
    assert_eq!(store.ledger_root(6).expect("root"), root);
    let entries = store.ledger_entries(0, 100).expect("entries");
    assert_eq!(entries.len(), 6);
    assert_eq!(entries[5].seq, Some(versions[1].seq));
    let (_, direction, partner) = leaf_fields(&entries[5].leaf);
    assert_eq!(
        (direction.as_str(), partner.as_deref()),
        ("in", Some("partner-b"))
    );
    let (_, direction, _) = leaf_fields(&entries[0].leaf);
    assert_eq!(direction, "local");
    let (leaf, path) = store.ledger_inclusion_proof(2, 6).expect("inclusion");
    assert_eq!(leaf, accord_ledger::leaf_hash(&entries[2].leaf));
    assert!(!path.is_empty());

    // An `out` record grows the log but stores no object.
    let sent = ExchangeRecord {
        direction: Direction::Out,
        partner: Some("partner-b".into()),
        collection: "c".into(),
        object_id: objs[1].id.clone(),
        modified: objs[1].modified.clone(),
        sha256: "00".repeat(32),
        decision: Decision::Sent,
        time: "2024-04-01T00:00:00.000000Z".into(),
        salt: None,
    };
    w.log_records(std::slice::from_ref(&sent)).expect("log out");
    assert_eq!(store.ledger_size().expect("size"), 7);
    assert_eq!(store.count(None).expect("count"), 6);
    assert!(store.ledger_check().expect("check").problems.is_empty());

    // The ledger's small tables.
    store
        .ledger_save_checkpoint(7, b"note 7")
        .expect("checkpoint");
    assert_eq!(
        store.ledger_latest_checkpoint().expect("latest"),
        Some((7, b"note 7".to_vec()))
    );
    assert_eq!(
        store.ledger_checkpoint_at(7).expect("at 7").as_deref(),
        Some(&b"note 7"[..])
    );

    // Sync cursors round trip, and an import keeps what is there.
    assert_eq!(store.sync_cursor("p -> c").expect("cursor"), None);
    store
        .set_sync_cursor("p -> c", "2024-05-01T00:00:00Z")
        .expect("set");
    let added = store
        .import_sync_cursors(&[("p -> c", "1999-01-01T00:00:00Z"), ("q -> c", "x")])
        .expect("import");
    assert_eq!(added, 1);
    assert_eq!(
        store.sync_cursors().expect("cursors"),
        vec![
            ("p -> c".to_owned(), "2024-05-01T00:00:00Z".to_owned()),
            ("q -> c".to_owned(), "x".to_owned()),
        ]
    );

    // Another handle (another thread's) sees the same store and writer.
    let other = store.new_handle().expect("new handle");
    let shared = other.writer().to_shared();
    let late = indicator(9, "2024-02-01T00:00:00.000Z", "d");
    std::thread::scope(|s| {
        s.spawn(|| shared.put_batch(&one(&late)).expect("put from a thread"));
    });
    assert_eq!(store.count(Some("d")).expect("count"), 1);
    assert_eq!(
        other.sync_cursor("q -> c").expect("cursor").as_deref(),
        Some("x")
    );

    // Delete through the writer.
    let gone = w
        .delete("c", &newer.id, &VersionFilter::all())
        .expect("delete");
    assert_eq!(gone, 2);
    assert!(
        store
            .get_versions("c", &newer.id)
            .expect("versions")
            .is_empty()
    );
    store.integrity_check().expect("integrity");
}

fn a_store_is_driven_through_its_traits_alone(fresh: &dyn Fn() -> Db) {
    let db = fresh();
    let handle: Box<dyn Backend> = db.open();
    drive(&*handle);
    // The old six-method trait still works on the same store.
    let mut handle = handle;
    let obj = indicator(20, "2024-02-01T00:00:00.000Z", "e");
    let out = accord_store::Store::put_batch(&mut *handle, &one(&obj)).expect("put");
    assert!(matches!(out[0], PutOutcome::Stored { .. }));
    assert_eq!(
        accord_store::Store::count(&*handle, Some("e")).expect("count"),
        1
    );
}

/// RFC 3339 with microseconds, the form of `date_added` and record times.
fn rfc3339(micros: i64) -> String {
    FixedClock::new(micros).now_rfc3339()
}

fn the_injected_clock_stamps_date_added_and_ledger_times(fresh: &dyn Fn() -> Db) {
    // 2024-06-01T12:00:00Z.
    const T: i64 = 1_717_243_200_000_000;
    let clock = Arc::new(FixedClock::new(T));
    let db = fresh();
    let store = db.open_with(&OpenOptions::new().clock(clock.clone()));
    let store: &dyn Backend = &*store;
    let w = store.writer();

    let objs: Vec<_> = (0..2)
        .map(|n| indicator(n, "2024-01-02T00:00:00.000Z", "c"))
        .collect();
    w.put_batch(&borrow(&objs)).expect("put");
    // The clock stands still: the first version gets its reading, the next
    // one a microsecond more (date_added strictly grows with seq).
    let third = indicator(2, "2024-01-02T00:00:00.000Z", "c");
    w.put_batch(&one(&third)).expect("put");
    // The clock goes back: date_added still grows.
    clock.set_micros(T - 10_000_000);
    let fourth = indicator(3, "2024-01-02T00:00:00.000Z", "c");
    w.put_batch(&one(&fourth)).expect("put");
    // The clock jumps ahead: date_added follows it.
    clock.set_micros(T + 60_000_000);
    let fifth = indicator(4, "2024-01-02T00:00:00.000Z", "c");
    w.put_batch(&one(&fifth)).expect("put");

    let page = store
        .query(
            &Query {
                collection: Some("c".into()),
                versions: VersionFilter::all(),
                ..Query::default()
            },
            10,
        )
        .expect("query");
    let dates: Vec<&str> = page.objects.iter().map(|o| o.date_added.as_str()).collect();
    assert_eq!(
        dates,
        vec![
            rfc3339(T),
            rfc3339(T + 1),
            rfc3339(T + 2),
            rfc3339(T + 3),
            rfc3339(T + 60_000_000),
        ]
    );
    assert_eq!(dates[0], "2024-06-01T12:00:00.000000Z");

    // Each record's time is the clock's reading when its batch was submitted.
    let times: Vec<String> = store
        .ledger_entries(0, 10)
        .expect("entries")
        .iter()
        .map(|e| leaf_fields(&e.leaf).0)
        .collect();
    assert_eq!(
        times,
        vec![
            rfc3339(T),
            rfc3339(T),
            rfc3339(T),
            rfc3339(T - 10_000_000),
            rfc3339(T + 60_000_000),
        ]
    );

    // The ledger's small tables take their times from the same clock.
    clock.set_micros(T + 120_000_000);
    let root = store.ledger_root(5).expect("root");
    store
        .ledger_save_witnessed("partner-b", 5, &root, b"note")
        .expect("witnessed");
    store
        .ledger_add_alert("partner-b", "audit", "a test alert", None, None)
        .expect("alert");
    let witnessed = store
        .ledger_witnessed("partner-b", None)
        .expect("witnessed")
        .expect("one witnessed checkpoint");
    assert_eq!(witnessed.received_at, rfc3339(T + 120_000_000));
    let alerts = store.ledger_alerts().expect("alerts");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].time, rfc3339(T + 120_000_000));
    // A handle cloned from the store keeps its clock.
    let other = store.new_handle().expect("handle");
    clock.set_micros(T + 180_000_000);
    other
        .ledger_add_alert("partner-b", "audit", "another", None, None)
        .expect("alert");
    assert_eq!(
        store.ledger_alerts().expect("alerts")[1].time,
        rfc3339(T + 180_000_000)
    );
    store.integrity_check().expect("integrity");
}
