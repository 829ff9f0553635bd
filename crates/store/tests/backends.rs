//! The conformance suite of the store's backends: every guarantee of the
//! capability traits (`store/src/traits.rs`), tested through the traits
//! alone (`Box<dyn Backend>`, `&dyn ObjectWrite`), once per backend
//! (`sqlite::…` always, `postgres::…` when a PostgreSQL server can be had;
//! see `common/backend.rs`).
//!
//! Each suite function takes `fresh`, which makes a new empty database;
//! `Db::open` opens a store on it, and opening again gives a second,
//! independent store on the same database (its own writer and
//! connections), as a second node process would have.

mod common;

use accord_stix::{Clock, FixedClock, Timestamp};
use accord_store::accord_ledger::{
    self, Decision, Direction, EMPTY_ROOT, ExchangeRecord, Hash, Tile, TileKind, TiledReader,
    verify_consistency, verify_inclusion,
};
use accord_store::{
    Backend, ObjectRead, ObjectWrite, OpenOptions, PartnerHealth, PushStep, PutOutcome, Query,
    StoreError, StoredObject, VersionFilter,
};
use common::backend::{Db, on_every_backend};
use common::{Obj, borrow, indicator, observable, one};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

on_every_backend!(
    puts_duplicates_conflicts_and_versions,
    raw_bytes_come_back_exactly,
    every_filter_pages_like_the_model,
    paging_never_skips_or_repeats_while_two_stores_write,
    deletes_count_and_seqs_are_never_reused,
    date_added_strictly_grows_whatever_the_clock,
    the_other_reads,
    every_stored_version_has_its_leaf_and_proofs_verify,
    the_ledgers_small_tables,
    sync_cursors_push_journal_and_health,
    a_full_database_stores_nothing_of_the_batch,
    two_stores_write_concurrently,
    pages_end_at_their_byte_bound,
);

type Fresh<'a> = &'a dyn Fn() -> Db;

/// What one writer thread of [`two_stores_write_concurrently`] did: the
/// seqs it stored, its outcomes for the contested objects (the same
/// content, then its own content), and how many `out` records it logged.
type ThreadResult = (Vec<i64>, Vec<PutOutcome>, Vec<PutOutcome>, usize);

// ---------------------------------------------------------------- helpers

const V0: &str = "2024-01-01T00:00:00Z";
const V1: &str = "2024-01-02T00:00:00.5Z";
const V2: &str = "2024-01-03T00:00:00Z";
/// V0, V1, V2 as the store normalizes them (nine fractional digits).
const N0: &str = "2024-01-01T00:00:00.000000000Z";
const N1: &str = "2024-01-02T00:00:00.500000000Z";
const N2: &str = "2024-01-03T00:00:00.000000000Z";

fn seq_of(o: &PutOutcome) -> i64 {
    match o {
        PutOutcome::Stored { seq } => *seq,
        other => panic!("expected Stored, got {other:?}"),
    }
}

fn all_stored(out: &[PutOutcome]) -> Vec<i64> {
    out.iter().map(seq_of).collect()
}

/// An object of any shape: `raw` as given, the indexed fields beside it.
fn custom(
    raw: &str,
    id: &str,
    ty: &str,
    spec: &str,
    modified: Option<&str>,
    coll: &str,
    origin: &str,
) -> Obj {
    Obj {
        raw: raw.to_owned(),
        id: id.to_owned(),
        type_name: ty.to_owned(),
        spec_version: spec.to_owned(),
        created: modified.map(|_| "2023-12-31T00:00:00Z".to_owned()),
        modified: modified.map(str::to_owned),
        markings: Vec::new(),
        collection: coll.to_owned(),
        origin: origin.to_owned(),
    }
}

/// A malware object `n`, version `modified`, spec version `spec`.
fn malware(n: u64, modified: &str, spec: &str, coll: &str) -> Obj {
    let id = format!("malware--00000000-0000-4000-9000-{n:012x}");
    let raw = format!(
        r#"{{"type":"malware","spec_version":"{spec}","id":"{id}","created":"2023-12-31T00:00:00Z","modified":"{modified}","name":"Family {n}","is_family":true}}"#
    );
    let mut o = custom(
        &raw,
        &id,
        "malware",
        spec,
        Some(modified),
        coll,
        "file.json",
    );
    o.markings = vec!["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da".into()];
    o
}

/// `raw` with the whitespace between JSON tokens removed (what the
/// store's `sha256` covers).
fn minify(raw: &str) -> String {
    let (mut out, mut in_str, mut esc) = (String::new(), false, false);
    for c in raw.chars() {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Every object matching `q`, page by page (`limit` per page), checking
/// that pages come in increasing `seq`, hold at most `limit`, and that an
/// empty page never says more follow.
fn read_all(s: &dyn ObjectRead, q: &Query, limit: usize) -> Vec<StoredObject> {
    let mut q = q.clone();
    let mut all: Vec<StoredObject> = Vec::new();
    loop {
        let page = s.query(&q, limit).expect("query");
        assert!(page.objects.len() <= limit, "a page over its limit");
        for o in &page.objects {
            assert!(
                o.seq > q.after_seq,
                "seq {} not after {}",
                o.seq,
                q.after_seq
            );
            if let Some(prev) = all.last() {
                assert!(o.seq > prev.seq, "seq {} after {}", o.seq, prev.seq);
            }
        }
        all.extend(page.objects.iter().cloned());
        match (page.more, page.last_seq()) {
            (true, Some(last)) => q.after_seq = last,
            (false, _) => return all,
            (true, None) => panic!("an empty page says more follow: {q:?}"),
        }
    }
}

/// [`read_all`] through `query_raw`: (seq, raw).
fn read_all_raw(s: &dyn ObjectRead, q: &Query, limit: usize) -> Vec<(i64, String)> {
    let mut q = q.clone();
    let mut all = Vec::new();
    loop {
        let page = s.query_raw(&q, limit).expect("query_raw");
        assert!(page.objects.len() <= limit);
        all.extend(page.objects.iter().cloned());
        match (page.more, page.last_seq()) {
            (true, Some(last)) => q.after_seq = last,
            (false, _) => return all,
            (true, None) => panic!("an empty raw page says more follow: {q:?}"),
        }
    }
}

fn every_version(coll: Option<&str>) -> Query {
    Query {
        collection: coll.map(str::to_owned),
        versions: VersionFilter::all(),
        ..Query::default()
    }
}

fn out_record(object_id: &str, partner: &str) -> ExchangeRecord {
    ExchangeRecord {
        direction: Direction::Out,
        partner: Some(partner.into()),
        collection: "c".into(),
        object_id: object_id.into(),
        modified: Some("2024-01-01T00:00:00.000Z".into()),
        sha256: Hash([7; 32]).to_hex(),
        decision: Decision::Sent,
        time: "2026-01-01T00:00:00Z".into(),
        salt: None,
    }
}

fn records(s: &dyn Backend) -> Vec<(accord_store::LedgerEntry, ExchangeRecord)> {
    let size = s.ledger_size().expect("size");
    s.ledger_entries(0, size)
        .expect("entries")
        .into_iter()
        .map(|e| {
            let r = ExchangeRecord::from_leaf_bytes(&e.leaf).expect("a leaf is a record");
            (e, r)
        })
        .collect()
}

fn check_all(s: &dyn Backend) {
    s.integrity_check().expect("integrity check");
    let check = s.ledger_check().expect("ledger check");
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    let (size, root) = s.ledger_head().expect("head");
    assert_eq!((check.size, check.root), (size, root));
}

// ------------------------------------------------------------------ suite

/// Idempotence: the same version with the same content (up to whitespace
/// between tokens) is a duplicate, with other content a conflict keeping
/// the first; every version is kept; versions are compared as instants;
/// an invalid object stores nothing of its batch.
fn puts_duplicates_conflicts_and_versions(fresh: Fresh<'_>) {
    let db = fresh();
    let s = db.open();
    let w = s.writer();
    let a = indicator(1, V0, "c");
    let seq = seq_of(&w.put_batch(&one(&a)).expect("put")[0]);

    // Pretty-printed, the same content: a duplicate.
    let mut pretty = a.clone();
    pretty.raw = a
        .raw
        .replace(",\"", ",\n  \"")
        .replace("{\"", "{ \"")
        .replace("\":", "\" : ")
        .replace("}", "\t}\r\n");
    assert_ne!(pretty.raw, a.raw);
    assert_eq!(minify(&pretty.raw), minify(&a.raw));
    assert_eq!(
        w.put_batch(&one(&pretty)).expect("put")[0],
        PutOutcome::Duplicate { seq }
    );
    // Whitespace inside a string is content: a conflict.
    let mut inner = a.clone();
    inner.raw = a.raw.replace("Malicious host", "Malicious  host");
    // Another key order, another spelling of a number: conflicts.
    let mut order = a.clone();
    order.raw = a.raw.replace(
        r#""type":"indicator","spec_version":"2.1""#,
        r#""spec_version":"2.1","type":"indicator""#,
    );
    let mut number = a.clone();
    number.raw = a.raw.replace("\"confidence\":80", "\"confidence\":80.0");
    for o in [&inner, &order, &number] {
        assert_ne!(o.raw, a.raw);
        assert_eq!(
            w.put_batch(&one(o)).expect("put")[0],
            PutOutcome::Conflict { existing_seq: seq }
        );
    }
    // The same version spelled otherwise is the same version.
    let mut spelled = number.clone();
    spelled.modified = Some("2024-01-01T00:00:00.000Z".into());
    assert_eq!(
        w.put_batch(&one(&spelled)).expect("put")[0],
        PutOutcome::Conflict { existing_seq: seq }
    );
    let kept = s.get_versions("c", &a.id).expect("versions");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].raw, a.raw, "the first content is kept");
    assert_eq!(kept[0].seq, seq);

    // Every version kept, oldest first by version (not by seq).
    let v2 = indicator(1, V2, "c");
    let v1 = indicator(1, V1, "c");
    let s2 = seq_of(&w.put_batch(&one(&v2)).expect("put")[0]);
    let s1 = seq_of(&w.put_batch(&one(&v1)).expect("put")[0]);
    assert!(seq < s2 && s2 < s1);
    let versions = s.get_versions("c", &a.id).expect("versions");
    let got: Vec<(i64, &str, &str)> = versions
        .iter()
        .map(|o| (o.seq, o.version.as_str(), o.raw.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (seq, N0, a.raw.as_str()),
            (s1, N1, v1.raw.as_str()),
            (s2, N2, v2.raw.as_str())
        ]
    );
    // The same id in another collection is another object.
    let other = indicator(1, V0, "d");
    seq_of(&w.put_batch(&one(&other)).expect("put")[0]);
    assert_eq!(s.get_versions("d", &a.id).expect("versions").len(), 1);
    assert_eq!(s.get_versions("c", &a.id).expect("versions").len(), 3);

    // Within one batch: the second copy is a duplicate of the first, a
    // different second content a conflict with it.
    let b = indicator(2, V0, "c");
    let mut b2 = b.clone();
    b2.raw = b.raw.replace("\"confidence\":80", "\"confidence\":81");
    let out = w
        .put_batch(&borrow(&[b.clone(), b.clone(), b2]))
        .expect("put");
    let sb = seq_of(&out[0]);
    assert_eq!(
        out[1..],
        [
            PutOutcome::Duplicate { seq: sb },
            PutOutcome::Conflict { existing_seq: sb }
        ]
    );
    assert_eq!(s.get_versions("c", &b.id).expect("versions")[0].raw, b.raw);

    // Unversioned objects: one version, keyed by the empty string.
    let ob = observable("ipv4-addr", 1, "c");
    let so = seq_of(&w.put_batch(&one(&ob)).expect("put")[0]);
    assert_eq!(
        w.put_batch(&one(&ob)).expect("put")[0],
        PutOutcome::Duplicate { seq: so }
    );
    assert_eq!(
        s.get_versions("c", &ob.id).expect("versions")[0].version,
        ""
    );

    // An invalid object (empty id, a version that is no timestamp) fails
    // its whole batch, naming it; nothing of the batch is stored.
    let count = s.count(None).expect("count");
    let ledger = s.ledger_size().expect("size");
    let good = indicator(3, V0, "c");
    let mut no_id = indicator(4, V0, "c");
    no_id.id = String::new();
    let bad_version = indicator(5, "yesterday", "c");
    for bad in [no_id, bad_version] {
        let e = w
            .put_batch(&borrow(&[good.clone(), bad.clone()]))
            .expect_err("an invalid object");
        assert!(
            matches!(e, StoreError::InvalidObject { index: 1, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains(&bad.id), "{e}");
    }
    assert_eq!(s.count(None).expect("count"), count);
    assert_eq!(s.ledger_size().expect("size"), ledger);
    assert!(s.get_versions("c", &good.id).expect("versions").is_empty());
    check_all(&*s);
}

/// The raw JSON comes back byte for byte from every read, and `sha256` is
/// the SHA-256 of it without whitespace between tokens.
fn raw_bytes_come_back_exactly(fresh: Fresh<'_>) {
    let db = fresh();
    let s = db.open();
    let raws = [
        // Whitespace everywhere between tokens, and a key order of its own.
        "{\n\t\"spec_version\" : \"2.1\" ,\r\n \"type\":\"note\",\"id\":\"note--00000000-0000-4000-8000-000000000001\",\"content\" : \"a  b\\tc\" }\n",
        // Escapes kept as written: \u escapes, \/ and surrogate pairs.
        r#"{"type":"note","spec_version":"2.1","id":"note--00000000-0000-4000-8000-000000000002","content":"caf\u00e9 \/ \ud83d\ude00 \"q\" \\"}"#,
        // Unicode as is, numbers as written.
        r#"{"type":"note","spec_version":"2.1","id":"note--00000000-0000-4000-8000-000000000003","content":"Ελληνικά 日本語 😀","x_n":[1.0e2,1E+2,100,-0.0,1.5e-7,12345678901234567890123]}"#,
        // Deep nesting and empty containers.
        r#"{"type":"note","spec_version":"2.1","id":"note--00000000-0000-4000-8000-000000000004","x":{"a":[[],{},[{"b":null}]],"c":true}}"#,
    ];
    let objs: Vec<Obj> = raws
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            custom(
                raw,
                &format!("note--00000000-0000-4000-8000-00000000000{}", i + 1),
                "note",
                "2.1",
                None,
                "raw",
                "local",
            )
        })
        .collect();
    let seqs = all_stored(&s.writer().put_batch(&borrow(&objs)).expect("put"));
    let by_seq: HashMap<i64, &str> = seqs.iter().copied().zip(raws).collect();
    let same = |o: &StoredObject| {
        assert_eq!(o.raw.as_bytes(), by_seq[&o.seq].as_bytes(), "seq {}", o.seq);
        assert_eq!(o.sha256, sha256(minify(&o.raw).as_bytes()), "seq {}", o.seq);
    };
    let q = every_version(Some("raw"));
    let read = read_all(&*s, &q, 2);
    assert_eq!(read.len(), 4);
    read.iter().for_each(same);
    for (seq, raw) in read_all_raw(&*s, &q, 3) {
        assert_eq!(raw.as_bytes(), by_seq[&seq].as_bytes());
    }
    for o in &objs {
        s.get_versions("raw", &o.id)
            .expect("versions")
            .iter()
            .for_each(same);
    }
    s.objects_after(0, 10).expect("after").iter().for_each(same);
    s.objects_by_seq(&seqs)
        .expect("by seq")
        .iter()
        .for_each(same);
    s.newest("raw", &[], i64::MAX, 10)
        .expect("newest")
        .iter()
        .for_each(same);
    let found = s.find_text("raw", "😀", &[], 100, 10).expect("find");
    assert_eq!(found.len(), 1);
    found.iter().for_each(same);
    let found = s.find_text("raw", r"\ud83d", &[], 100, 10).expect("find");
    assert_eq!(
        found.len(),
        1,
        "find_text reads the raw bytes, escapes as written"
    );
    // Each record's sha256 is the SHA-256 of the exact bytes received.
    for (e, r) in records(&*s) {
        let raw = by_seq[&e.seq.expect("a stored object's leaf")];
        assert_eq!(r.sha256, Hash(sha256(raw.as_bytes())).to_hex());
    }
    check_all(&*s);
}

/// A data set with several collections, types, spec versions, versions
/// stored out of order, unversioned objects and the same id in two
/// collections; then every combination of [`Query`] filters, paged with
/// several limits, against a model computed from the data.
fn every_filter_pages_like_the_model(fresh: Fresh<'_>) {
    let db = fresh();
    let s = db.open();
    let w = s.writer();
    let mut objs: Vec<Obj> = Vec::new();
    for n in 0..6u64 {
        // Newest first for some objects: seq order is not version order.
        let vs: &[&str] = match n % 3 {
            0 => &[V2, V0, V1],
            1 => &[V0],
            _ => &[V0, V1],
        };
        for v in vs {
            objs.push(indicator(n, v, "a"));
            if n % 2 == 0 {
                objs.push(indicator(n, v, "b"));
            }
        }
    }
    for n in 0..3u64 {
        objs.push(malware(n, V0, "2.1", "a"));
        objs.push(malware(n + 10, V1, "2.0", "b"));
    }
    objs.push(malware(0, V2, "2.1", "a"));
    for n in 0..3u64 {
        objs.push(observable("ipv4-addr", n, "a"));
        objs.push(observable("domain-name", n, "b"));
    }
    let mut old = indicator(40, V1, "a");
    old.spec_version = "2.0".into();
    old.raw = old.raw.replace("\"2.1\"", "\"2.0\"");
    objs.push(old);
    // In batches of varying size, so that date_added takes several values.
    let mut stored: Vec<(i64, &Obj)> = Vec::new();
    for chunk in objs.chunks(5) {
        for (o, out) in chunk.iter().zip(w.put_batch(&borrow(chunk)).expect("put")) {
            stored.push((seq_of(&out), o));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let full = read_all(&*s, &every_version(None), 7);
    let want: Vec<i64> = stored.iter().map(|p| p.0).collect();
    assert_eq!(full.iter().map(|o| o.seq).collect::<Vec<_>>(), want);
    for (o, (_, given)) in full.iter().zip(&stored) {
        assert_eq!(
            (&o.collection, &o.id, &o.type_name, &o.spec_version, &o.raw),
            (
                &given.collection,
                &given.id,
                &given.type_name,
                &given.spec_version,
                &given.raw
            )
        );
        assert_eq!(o.modified, given.modified);
        let normal = match given.modified.as_deref() {
            Some(V0) => N0,
            Some(V1) => N1,
            Some(V2) => N2,
            _ => "",
        };
        assert_eq!(o.version, normal);
        assert!(Timestamp::parse(&o.date_added).is_ok(), "{}", o.date_added);
    }

    // The model: first/last over every version of an object in its
    // collection, whatever the other filters.
    let mut ends: HashMap<(&str, &str), (&str, &str)> = HashMap::new();
    for o in &full {
        let e = ends
            .entry((&o.collection, &o.id))
            .or_insert((&o.version, &o.version));
        e.0 = e.0.min(o.version.as_str());
        e.1 = e.1.max(o.version.as_str());
    }
    let ids = [
        indicator(0, V0, "a").id,
        indicator(3, V0, "a").id,
        malware(0, V0, "2.1", "a").id,
        observable("ipv4-addr", 1, "a").id,
        "indicator--ffffffff-0000-4000-8000-000000000000".to_owned(),
    ];
    let dates: Vec<&str> = full.iter().map(|o| o.date_added.as_str()).collect();
    let early = dates[3].to_owned();
    let late = dates[dates.len() - 8].to_owned();
    let version_filters = [
        VersionFilter::all(),
        VersionFilter::first(),
        VersionFilter::last(),
        VersionFilter {
            first: true,
            last: true,
            ..VersionFilter::first()
        },
        // V1 spelled otherwise: compared as an instant.
        VersionFilter::at(vec![
            Timestamp::parse("2024-01-02T00:00:00.500000Z").expect("ts"),
        ]),
        VersionFilter {
            last: true,
            ..VersionFilter::at(vec![Timestamp::parse(V0).expect("ts")])
        },
        VersionFilter {
            all: false,
            first: false,
            last: false,
            at: Vec::new(),
        },
    ];
    let n0 = Timestamp::parse(V0).expect("ts").format(9);
    assert_eq!(n0, N0);
    let mut n_queries = 0usize;
    for coll in [None, Some("a"), Some("b"), Some("nothing")] {
        for id_set in [&[][..], &ids[..2], &ids[1..]] {
            for types in [
                &[][..],
                &["indicator"][..],
                &["malware", "ipv4-addr", "domain-name"][..],
            ] {
                for specs in [&[][..], &["2.0"][..], &["2.1", "2.0"][..]] {
                    for added in [None, Some(early.as_str()), Some(late.as_str())] {
                        for vf in &version_filters {
                            let q = Query {
                                collection: coll.map(str::to_owned),
                                ids: id_set.to_vec(),
                                types: types.iter().map(|t| (*t).to_owned()).collect(),
                                spec_versions: specs.iter().map(|t| (*t).to_owned()).collect(),
                                added_after: added.map(|t| Timestamp::parse(t).expect("ts")),
                                versions: vf.clone(),
                                after_seq: 0,
                            };
                            let at: Vec<String> = vf.at.iter().map(|t| t.format(9)).collect();
                            let expect: Vec<i64> = full
                                .iter()
                                .filter(|o| {
                                    let (first, last) = ends[&(&*o.collection, &*o.id)];
                                    coll.is_none_or(|c| o.collection == c)
                                        && (id_set.is_empty() || id_set.contains(&o.id))
                                        && (types.is_empty() || types.contains(&&*o.type_name))
                                        && (specs.is_empty() || specs.contains(&&*o.spec_version))
                                        && added.is_none_or(|t| o.date_added.as_str() > t)
                                        && (vf.all
                                            || (vf.first && o.version == first)
                                            || (vf.last && o.version == last)
                                            || at.contains(&o.version))
                                })
                                .map(|o| o.seq)
                                .collect();
                            let limit = [1, 2, 5, 1000][n_queries % 4];
                            n_queries += 1;
                            let got: Vec<i64> =
                                read_all(&*s, &q, limit).iter().map(|o| o.seq).collect();
                            assert_eq!(got, expect, "{q:?} limit {limit}");
                            if n_queries.is_multiple_of(5) {
                                let raw: Vec<i64> =
                                    read_all_raw(&*s, &q, limit).iter().map(|p| p.0).collect();
                                assert_eq!(raw, expect, "query_raw {q:?} limit {limit}");
                            }
                            // Starting past some of them skips exactly those.
                            if let Some(&mid) = expect.get(expect.len() / 2) {
                                let q = Query {
                                    after_seq: mid,
                                    ..q.clone()
                                };
                                let got: Vec<i64> =
                                    read_all(&*s, &q, 3).iter().map(|o| o.seq).collect();
                                let rest: Vec<i64> =
                                    expect.iter().copied().filter(|&x| x > mid).collect();
                                assert_eq!(got, rest, "{q:?}");
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(n_queries > 1000);
    check_all(&*s);
}

/// Paging by `after_seq` neither skips nor repeats while two independent
/// stores on the same database write: a reader on a third store pages
/// until both writers are done, and has read every stored version once.
fn paging_never_skips_or_repeats_while_two_stores_write(fresh: Fresh<'_>) {
    let db = fresh();
    let writers = [db.open(), db.open()];
    let reader = db.open();
    let done = &AtomicBool::new(false);
    let shared: Vec<Arc<dyn ObjectWrite>> =
        writers.iter().map(|s| s.writer().to_shared()).collect();
    let (stored, read_all_types, read_indicators) = std::thread::scope(|sc| {
        let hs: Vec<_> = shared
            .iter()
            .enumerate()
            .map(|(k, w)| {
                let w = Arc::clone(w);
                sc.spawn(move || {
                    let mut mine = Vec::new();
                    for b in 0..40u64 {
                        let base = (k as u64 + 1) * 10_000 + b * 10;
                        let mut batch: Vec<Obj> =
                            (0..4).map(|i| indicator(base + i, V0, "c")).collect();
                        batch.push(malware(base, V0, "2.1", "c"));
                        // A newer version of an object stored earlier.
                        if b > 0 {
                            batch.push(indicator(base - 10, V1, "c"));
                        }
                        for (o, out) in batch.iter().zip(w.put_batch(&borrow(&batch)).expect("put"))
                        {
                            mine.push((seq_of(&out), o.type_name.clone()));
                        }
                    }
                    mine
                })
            })
            .collect();
        // The reader pages two queries in turn until, on a round begun
        // after both writers were done, neither says more follow.
        let reader_thread = sc.spawn(move || {
            let q = |types: Vec<String>| Query {
                collection: Some("c".into()),
                types,
                versions: VersionFilter::all(),
                ..Query::default()
            };
            let mut qs = [q(Vec::new()), q(vec!["indicator".into()])];
            let mut seen: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
            loop {
                let finished = done.load(Ordering::SeqCst);
                let mut quiet = true;
                for (q, seen) in qs.iter_mut().zip(seen.iter_mut()) {
                    let page = reader.query(q, 7).expect("query");
                    seen.extend(page.objects.iter().map(|o| o.seq));
                    if let Some(last) = page.last_seq() {
                        q.after_seq = last;
                    }
                    quiet &= !page.more;
                }
                if quiet && finished {
                    let [x, y] = seen;
                    return (x, y);
                }
            }
        });
        let stored: Vec<(i64, String)> = hs
            .into_iter()
            .flat_map(|h| h.join().expect("writer"))
            .collect();
        done.store(true, Ordering::SeqCst);
        let (x, y) = reader_thread.join().expect("reader");
        (stored, x, y)
    });
    let mut all: Vec<i64> = stored.iter().map(|p| p.0).collect();
    all.sort_unstable();
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a seq given twice");
    assert!(
        read_all_types.windows(2).all(|p| p[0] < p[1]),
        "repeated or out of order"
    );
    assert_eq!(read_all_types, all, "paging skipped versions");
    let mut inds: Vec<i64> = stored
        .iter()
        .filter(|p| p.1 == "indicator")
        .map(|p| p.0)
        .collect();
    inds.sort_unstable();
    assert_eq!(read_indicators, inds);
    check_all(&*db.open());
}

/// Deletes remove what their filter selects and count it; a deleted seq
/// is never given again; the log keeps the deleted versions' records.
fn deletes_count_and_seqs_are_never_reused(fresh: Fresh<'_>) {
    let db = fresh();
    let s = db.open();
    let w = s.writer();
    let x: Vec<Obj> = [V0, V1, V2].iter().map(|v| indicator(1, v, "a")).collect();
    let y = indicator(2, V0, "a");
    let z = indicator(1, V0, "b");
    w.put_batch(&borrow(&x)).expect("put");
    w.put_batch(&borrow(&[y.clone(), z.clone()])).expect("put");
    let size = s.ledger_size().expect("size");
    let before = s.ledger_entries(0, size).expect("entries");
    let id = &x[0].id;
    let versions = |c: &str| -> Vec<String> {
        s.get_versions(c, id)
            .expect("versions")
            .into_iter()
            .map(|o| o.version)
            .collect()
    };
    assert_eq!(
        w.delete("a", id, &VersionFilter::first()).expect("delete"),
        1
    );
    assert_eq!(versions("a"), vec![N1, N2]);
    // "Last" now is V2; deleting V2 by another spelling of its instant.
    let at = VersionFilter::at(vec![
        Timestamp::parse("2024-01-03T00:00:00.000Z").expect("ts"),
    ]);
    assert_eq!(w.delete("a", id, &at).expect("delete"), 1);
    assert_eq!(versions("a"), vec![N1]);
    let last = read_all(
        &*s,
        &Query {
            collection: Some("a".into()),
            ids: vec![id.clone()],
            ..Query::default()
        },
        10,
    );
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].version, N1);
    assert_eq!(
        w.delete("a", id, &VersionFilter::last()).expect("delete"),
        1
    );
    assert!(versions("a").is_empty());
    assert_eq!(w.delete("a", id, &VersionFilter::all()).expect("delete"), 0);
    assert_eq!(
        w.delete("nothing", id, &VersionFilter::all())
            .expect("delete"),
        0
    );
    // The other collection's object of the same id is untouched.
    assert_eq!(versions("b"), vec![N0]);
    assert_eq!(s.count(Some("a")).expect("count"), 1);
    assert_eq!(s.count(None).expect("count"), 2);
    let colls: BTreeMap<String, u64> = s
        .collections()
        .expect("collections")
        .into_iter()
        .map(|c| (c.name, c.n_versions))
        .collect();
    assert_eq!(colls.get("a"), Some(&1));
    assert_eq!(colls.get("b"), Some(&1));

    // Delete the newest row, then store again: a new, higher seq.
    let top = s.max_seq().expect("max");
    assert_eq!(
        w.delete("b", &z.id, &VersionFilter::all()).expect("delete"),
        1
    );
    let again = seq_of(&w.put_batch(&one(&z)).expect("put")[0]);
    assert!(again > top, "seq {again} reused (highest ever {top})");
    assert_eq!(s.max_seq().expect("max"), again);
    assert_eq!(s.ledger_size().expect("size"), size + 1);
    // The log keeps the deleted versions' records, unchanged.
    assert_eq!(s.ledger_entries(0, size).expect("entries"), before);
    check_all(&*s);
}

/// `date_added` strictly grows with `seq` whatever the clock does (stuck,
/// set back, jumping ahead), also across two stores on one database with
/// clocks of their own; `added_after` and the seq cursor agree.
fn date_added_strictly_grows_whatever_the_clock(fresh: Fresh<'_>) {
    const T: i64 = 1_717_243_200_000_000;
    let db = fresh();
    let c1 = Arc::new(FixedClock::new(T));
    let c2 = Arc::new(FixedClock::new(T));
    let s1 = db.open_with(&OpenOptions::new().clock(c1.clone()));
    let s2 = db.open_with(&OpenOptions::new().clock(c2.clone()));
    let put = |s: &dyn Backend, n: u64| {
        seq_of(
            &s.writer()
                .put_batch(&one(&indicator(n, V0, "c")))
                .expect("put")[0],
        )
    };
    put(&*s1, 0);
    put(&*s1, 1);
    put(&*s2, 2);
    c1.set_micros(T - 60_000_000);
    put(&*s1, 3);
    put(&*s2, 4);
    c2.set_micros(T - 3_600_000_000);
    put(&*s2, 5);
    c1.set_micros(T + 60_000_000);
    put(&*s1, 6);
    put(&*s2, 7);
    // A batch of several: each its own date_added.
    s1.writer()
        .put_batch(&borrow(
            &(8..12).map(|n| indicator(n, V0, "c")).collect::<Vec<_>>(),
        ))
        .expect("put");
    let micros = |m: i64| FixedClock::new(m).now_rfc3339();
    for s in [&s1, &s2] {
        let all = read_all(&**s, &every_version(Some("c")), 5);
        let dates: Vec<&str> = all.iter().map(|o| o.date_added.as_str()).collect();
        assert_eq!(all.len(), 12);
        assert_eq!(dates[0], micros(T));
        assert_eq!(dates[1], micros(T + 1));
        assert_eq!(
            dates[2],
            micros(T + 2),
            "the second store continues after the first"
        );
        assert_eq!(dates[5], micros(T + 5));
        assert_eq!(
            dates[6],
            micros(T + 60_000_000),
            "the clock ahead is followed"
        );
        assert_eq!(dates[7], micros(T + 60_000_001));
        assert!(dates.windows(2).all(|p| p[0] < p[1]), "{dates:?}");
        // added_after = one version's date_added: exactly those after it.
        for (i, o) in all.iter().enumerate() {
            let q = Query {
                added_after: Some(Timestamp::parse(&o.date_added).expect("ts")),
                ..every_version(Some("c"))
            };
            let after: Vec<i64> = read_all(&**s, &q, 4).iter().map(|o| o.seq).collect();
            let want: Vec<i64> = all[i + 1..].iter().map(|o| o.seq).collect();
            assert_eq!(after, want, "added after {}", o.date_added);
        }
    }
    check_all(&*s1);
}

/// count, collections, tally, newest, max_seq, objects_after,
/// objects_by_seq, find_text, get_versions: on an empty store and on
/// data, every field of every object.
fn the_other_reads(fresh: Fresh<'_>) {
    let db = fresh();
    let s = db.open();
    assert_eq!(s.count(None).expect("count"), 0);
    assert_eq!(s.count(Some("a")).expect("count"), 0);
    assert!(s.collections().expect("collections").is_empty());
    assert_eq!(s.max_seq().expect("max"), 0);
    assert!(s.objects_after(0, 10).expect("after").is_empty());
    assert!(s.objects_by_seq(&[1, 2]).expect("by seq").is_empty());
    assert!(s.tally("a").expect("tally").is_empty());
    assert!(s.newest("a", &[], i64::MAX, 10).expect("newest").is_empty());
    assert!(s.find_text("a", "x", &[], 10, 10).expect("find").is_empty());
    assert!(s.get_versions("a", "x--1").expect("versions").is_empty());
    let page = s.query(&every_version(Some("a")), 10).expect("query");
    assert!(page.objects.is_empty() && !page.more);
    assert_eq!(s.ledger_size().expect("size"), 0);
    assert_eq!(s.ledger_head().expect("head"), (0, EMPTY_ROOT));

    let w = s.writer();
    let mut objs: Vec<Obj> = (0..5).map(|n| indicator(n, V0, "a")).collect();
    objs.extend((0..2).map(|n| malware(n, V0, "2.1", "a")));
    objs.extend((0..3).map(|n| observable("ipv4-addr", n, "a")));
    objs.extend((0..2).map(|n| indicator(n + 100, V0, "b")));
    objs.push(indicator(0, V1, "a"));
    let seqs = all_stored(&w.put_batch(&borrow(&objs)).expect("put"));
    let full = read_all(&*s, &every_version(None), 100);
    assert_eq!(full.len(), objs.len());
    for (o, given) in full.iter().zip(&objs) {
        assert_eq!(o.collection, given.collection);
        assert_eq!(o.id, given.id);
        assert_eq!(o.type_name, given.type_name);
        assert_eq!(o.spec_version, given.spec_version);
        assert_eq!(o.created, given.created);
        assert_eq!(o.modified, given.modified);
        assert_eq!(o.origin, given.origin);
        assert_eq!(o.markings, given.markings);
        assert_eq!(o.raw, given.raw);
        assert_eq!(o.sha256, sha256(given.raw.as_bytes()));
    }
    let by_seq: HashMap<i64, &StoredObject> = full.iter().map(|o| (o.seq, o)).collect();

    assert_eq!(s.count(None).expect("count"), 13);
    assert_eq!(s.count(Some("a")).expect("count"), 11);
    assert_eq!(s.count(Some("b")).expect("count"), 2);
    let colls: Vec<(String, u64)> = s
        .collections()
        .expect("collections")
        .into_iter()
        .map(|c| (c.name, c.n_versions))
        .collect();
    assert_eq!(colls, vec![("a".into(), 11), ("b".into(), 2)], "by name");
    let mut tally: Vec<(String, String, u64)> = s
        .tally("a")
        .expect("tally")
        .into_iter()
        .map(|t| (t.type_name, t.origin, t.count))
        .collect();
    tally.sort();
    assert_eq!(
        tally,
        vec![
            ("indicator".into(), "local".into(), 6),
            ("ipv4-addr".into(), "partner-a".into(), 3),
            ("malware".into(), "file.json".into(), 2),
        ]
    );
    assert!(s.tally("nothing").expect("tally").is_empty());

    // newest: highest seq first, by type, below `before`, at most `limit`.
    let of_a: Vec<i64> = full
        .iter()
        .filter(|o| o.collection == "a")
        .map(|o| o.seq)
        .rev()
        .collect();
    let newest = |types: &[&str], before: i64, limit: usize| -> Vec<i64> {
        let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
        s.newest("a", &types, before, limit)
            .expect("newest")
            .iter()
            .map(|o| {
                assert_eq!(o, by_seq[&o.seq]);
                o.seq
            })
            .collect()
    };
    assert_eq!(newest(&[], i64::MAX, 100), of_a);
    assert_eq!(newest(&[], i64::MAX, 3), of_a[..3]);
    assert_eq!(newest(&[], of_a[2], 3), of_a[3..6]);
    let mal: Vec<i64> = of_a
        .iter()
        .copied()
        .filter(|q| by_seq[q].type_name != "indicator")
        .collect();
    assert_eq!(newest(&["malware", "ipv4-addr"], i64::MAX, 100), mal);
    assert_eq!(newest(&["malware", "ipv4-addr"], mal[0], 2), mal[1..3]);
    assert!(newest(&["tool"], i64::MAX, 10).is_empty());

    let max = *seqs.iter().max().expect("seqs");
    assert_eq!(s.max_seq().expect("max"), max);
    // objects_after: every collection, oldest first, at most `limit`.
    let after: Vec<i64> = s
        .objects_after(seqs[3], 4)
        .expect("after")
        .iter()
        .map(|o| {
            assert_eq!(o, by_seq[&o.seq]);
            o.seq
        })
        .collect();
    assert_eq!(after, seqs[4..8]);
    assert_eq!(s.objects_after(seqs[10], 100).expect("after").len(), 2);
    assert!(s.objects_after(max, 100).expect("after").is_empty());
    // objects_by_seq: in the order given, the missing left out.
    let asked = [seqs[7], seqs[1], max + 1000, seqs[12], -5];
    let got = s.objects_by_seq(&asked).expect("by seq");
    assert_eq!(
        got.iter().map(|o| o.seq).collect::<Vec<_>>(),
        vec![seqs[7], seqs[1], seqs[12]]
    );
    for o in &got {
        assert_eq!(o, by_seq[&o.seq]);
    }
    // find_text: bytes, case-sensitive, newest first, bounded scan, limit,
    // types.
    let find = |text: &str, types: &[&str], scan: usize, limit: usize| -> Vec<i64> {
        let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
        s.find_text("a", text, &types, scan, limit)
            .expect("find")
            .iter()
            .map(|o| {
                assert_eq!(o, by_seq[&o.seq]);
                o.seq
            })
            .collect()
    };
    assert_eq!(find("Malicious host 3", &[], 100, 10), vec![seqs[3]]);
    assert!(find("malicious host 3", &[], 100, 10).is_empty());
    assert_eq!(
        find("Malicious host 0\"", &[], 100, 10),
        vec![seqs[12], seqs[0]]
    );
    assert_eq!(find("Malicious host", &[], 100, 2), vec![seqs[12], seqs[4]]);
    // Only the newest `scan` rows of the collection are looked at.
    assert_eq!(find("Malicious host", &[], 2, 10), vec![seqs[12]]);
    assert_eq!(
        find("\"value\"", &["ipv4-addr"], 100, 10),
        vec![seqs[9], seqs[8], seqs[7]]
    );
    assert!(find("\"value\"", &["malware"], 100, 10).is_empty());
    // In b only b's.
    let in_b: Vec<i64> = s
        .find_text("b", "Malicious", &[], 100, 100)
        .expect("find")
        .iter()
        .map(|o| o.seq)
        .collect();
    assert_eq!(in_b, vec![seqs[11], seqs[10]]);
    // get_versions: the same objects as the query reads.
    let v = s.get_versions("a", &objs[0].id).expect("versions");
    assert_eq!(v, vec![by_seq[&seqs[0]].clone(), by_seq[&seqs[12]].clone()]);
    // Another handle and another store read the same.
    let h = s.new_handle().expect("handle");
    assert_eq!(read_all(&*h, &every_version(None), 4), full);
    let other = db.open();
    assert_eq!(read_all(&*other, &every_version(None), 100), full);
    check_all(&*s);
}

/// Each stored version's leaf (`local`, or `in` with its partner), `out`
/// leaves, size, roots, head, inclusion and consistency proofs, tiles, the
/// records about one object, and the full check.
fn every_stored_version_has_its_leaf_and_proofs_verify(fresh: Fresh<'_>) {
    let db = fresh();
    let s = db.open();
    let w = s.writer();
    let objs: Vec<Obj> = (0..600).map(|n| indicator(n, V0, "c")).collect();
    let mut seqs = all_stored(&w.put_batch(&borrow(&objs[..300])).expect("put"));
    // Duplicates and conflicts: no leaf.
    w.put_batch(&borrow(&objs[..10])).expect("put");
    let mut conflict = objs[0].clone();
    conflict.raw = conflict
        .raw
        .replace("\"confidence\":80", "\"confidence\":1");
    w.put_batch(&one(&conflict)).expect("put");
    assert_eq!(s.ledger_size().expect("size"), 300);
    let (s1, r1) = s.ledger_head().expect("head");
    let from = w.received_from("cert.partner");
    seqs.extend(all_stored(
        &from.put_batch(&borrow(&objs[300..595])).expect("put"),
    ));
    // A handle received from nobody is local.
    let local = w.received_from("");
    seqs.extend(all_stored(
        &local.put_batch(&borrow(&objs[595..])).expect("put"),
    ));
    let own_salt = "00112233445566778899aabbccddeeff";
    let outs = [
        out_record(&objs[1].id, "cert.partner"),
        ExchangeRecord {
            salt: Some(own_salt.into()),
            ..out_record(&objs[2].id, "cert.other")
        },
    ];
    w.log_records(&outs).expect("out records");
    // Invalid records append nothing.
    for bad in [
        ExchangeRecord {
            salt: Some("not hex".into()),
            ..out_record(&objs[3].id, "p")
        },
        ExchangeRecord {
            partner: None,
            ..out_record(&objs[3].id, "p")
        },
        ExchangeRecord {
            decision: Decision::Stored,
            ..out_record(&objs[3].id, "p")
        },
    ] {
        let e = w
            .log_records(&[out_record(&objs[4].id, "p"), bad])
            .expect_err("an invalid record");
        assert!(matches!(e, StoreError::InvalidObject { .. }), "{e:?}");
    }
    let (size, root) = s.ledger_head().expect("head");
    assert_eq!(size, 602);
    assert_eq!(s.count(None).expect("count"), 600);

    let recs = records(&*s);
    assert_eq!(recs.len(), 602);
    let mut salts = HashSet::new();
    for (i, (e, r)) in recs.iter().enumerate() {
        assert_eq!(e.index, i as u64);
        r.validate().expect("a valid record");
        assert!(
            salts.insert(r.salt.clone().expect("salted")),
            "a salt twice"
        );
        assert!(Timestamp::parse(&r.time).is_ok(), "{}", r.time);
        if i < 600 {
            let o = &objs[i];
            assert_eq!(e.seq, Some(seqs[i]));
            assert_eq!(r.collection, "c");
            assert_eq!(r.object_id, o.id);
            assert_eq!(r.modified.as_deref(), Some(V0));
            assert_eq!(r.sha256, Hash(sha256(o.raw.as_bytes())).to_hex());
            assert_eq!(r.decision, Decision::Stored);
            let (dir, partner) = if (300..595).contains(&i) {
                (Direction::In, Some("cert.partner"))
            } else {
                (Direction::Local, None)
            };
            assert_eq!(
                (r.direction, r.partner.as_deref()),
                (dir, partner),
                "leaf {i}"
            );
        } else {
            assert_eq!(e.seq, None, "an out record records no stored object");
            let want = &outs[i - 600];
            assert_eq!(
                ExchangeRecord {
                    salt: None,
                    ..r.clone()
                },
                ExchangeRecord {
                    salt: None,
                    ..want.clone()
                }
            );
        }
    }
    assert_eq!(recs[601].1.salt.as_deref(), Some(own_salt));
    assert_eq!(
        s.ledger_entries(598, 10_000)
            .expect("entries")
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        vec![598, 599, 600, 601]
    );

    // Roots, and proofs a verifier accepts.
    assert_eq!(s.ledger_root(size).expect("root"), root);
    assert_eq!(s.ledger_root(s1).expect("root"), r1);
    assert_eq!(s.ledger_root(0).expect("root"), EMPTY_ROOT);
    assert!(s.ledger_root(size + 1).is_err(), "a root past the log");
    for (i, n) in [
        (0, 1),
        (5, 300),
        (299, 300),
        (255, 256),
        (256, 257),
        (300, 602),
        (601, 602),
        (123, 555),
    ] {
        let (leaf, proof) = s.ledger_inclusion_proof(i, n).expect("inclusion");
        assert_eq!(leaf, accord_ledger::leaf_hash(&recs[i as usize].0.leaf));
        let r = s.ledger_root(n).expect("root");
        verify_inclusion(&leaf, i, n, &proof, &r).unwrap_or_else(|e| panic!("{i} in {n}: {e}"));
    }
    assert!(s.ledger_inclusion_proof(602, 602).is_err());
    assert!(s.ledger_inclusion_proof(3, 603).is_err());
    for (a, b) in [
        (1, 602),
        (255, 256),
        (256, 257),
        (300, 602),
        (257, 513),
        (602, 602),
        (0, 5),
    ] {
        let proof = s.ledger_consistency_proof(a, b).expect("consistency");
        let (ra, rb) = (
            s.ledger_root(a).expect("root"),
            s.ledger_root(b).expect("root"),
        );
        verify_consistency(a, b, &ra, &rb, &proof).unwrap_or_else(|e| panic!("{a} -> {b}: {e}"));
    }

    // A client holding only (size, root) reads the log through tiles.
    let mut tiles: HashMap<String, Vec<u8>> = HashMap::new();
    for t in accord_ledger::tiles::tiles_for_growth(0, size)
        .into_iter()
        .chain(accord_ledger::tiles::entry_bundles_for_growth(0, size))
    {
        tiles.insert(
            t.path(),
            s.ledger_tile(&t)
                .expect("tile")
                .expect("a tile within the log"),
        );
    }
    let reader = TiledReader::new(size, root, &tiles);
    assert_eq!(reader.root().expect("root from tiles"), root);
    let bundle = Tile {
        kind: TileKind::Entries,
        index: 2,
        width: 602 - 512,
    };
    let got = reader
        .verify_entry_bundle(&bundle, &tiles[&bundle.path()])
        .expect("bundle");
    assert_eq!(got[0].leaf(), Some(recs[512].0.leaf.as_slice()));
    let past = Tile {
        kind: TileKind::Entries,
        index: 3,
        width: 256,
    };
    assert_eq!(s.ledger_tile(&past).expect("tile"), None);

    // The records about one object: its version's and its `out` record.
    let (about, more) = s
        .ledger_entries_about(&[seqs[1]], objs[1].id.as_bytes(), 100)
        .expect("about");
    let idx: Vec<u64> = about
        .iter()
        .filter(|e| {
            ExchangeRecord::from_leaf_bytes(&e.leaf)
                .expect("record")
                .object_id
                == objs[1].id
        })
        .map(|e| e.index)
        .collect();
    assert_eq!((idx, more), (vec![1, 600], false));
    let (about, more) = s
        .ledger_entries_about(&[seqs[1], seqs[2], seqs[3]], b"nothing", 2)
        .expect("about");
    assert_eq!((about.len(), more), (2, true), "the limit holds");

    // The full check, with roots at sizes (in increasing size, those the
    // log reaches).
    let check = s
        .ledger_check_at(&[size, 0, 300, size + 10])
        .expect("check");
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!((check.size, check.root), (size, root));
    assert_eq!(check.roots, vec![(0, EMPTY_ROOT), (300, r1), (size, root)]);

    // The log only grows: a delete keeps every leaf, and later writes
    // extend the tree consistently.
    w.delete("c", &objs[5].id, &VersionFilter::all())
        .expect("delete");
    assert_eq!(records(&*s), recs);
    let more_objs: Vec<Obj> = (1000..1010).map(|n| indicator(n, V0, "c")).collect();
    w.put_batch(&borrow(&more_objs)).expect("put");
    let (size2, root2) = s.ledger_head().expect("head");
    assert_eq!(size2, size + 10);
    let proof = s
        .ledger_consistency_proof(size, size2)
        .expect("consistency");
    verify_consistency(size, size2, &root, &root2, &proof).expect("consistent growth");
    // A second store on the database reads the same log.
    let other = db.open();
    assert_eq!(other.ledger_head().expect("head"), (size2, root2));
    check_all(&*other);
}

/// Checkpoints (idempotent per size, latest, at, history with their
/// cosignature counts), cosignatures (one per witness key, replaced),
/// witnessed checkpoints, alerts (only added), stamped by the clock.
fn the_ledgers_small_tables(fresh: Fresh<'_>) {
    const T: i64 = 1_717_243_200_000_000;
    let db = fresh();
    let clock = Arc::new(FixedClock::new(T));
    let s = db.open_with(&OpenOptions::new().clock(clock.clone()));
    assert_eq!(s.ledger_latest_checkpoint().expect("latest"), None);
    assert!(s.ledger_checkpoint_history(10).expect("history").is_empty());
    assert!(s.ledger_alerts().expect("alerts").is_empty());
    assert_eq!(s.ledger_witnessed("p", None).expect("witnessed"), None);

    s.ledger_save_checkpoint(5, b"note 5\n\xe2\x80\x94 sig")
        .expect("save");
    s.ledger_save_checkpoint(5, b"note 5\n\xe2\x80\x94 sig")
        .expect("save again");
    // Signed as the log grows: a larger size later.
    clock.set_micros(T + 1_000_000);
    s.ledger_save_checkpoint(7, b"note 7").expect("save");
    clock.set_micros(T + 1_500_000);
    s.ledger_save_checkpoint(9, b"note 9").expect("save");
    assert_eq!(
        s.ledger_latest_checkpoint().expect("latest"),
        Some((9, b"note 9".to_vec()))
    );
    assert_eq!(
        s.ledger_checkpoint_at(5).expect("at"),
        Some(b"note 5\n\xe2\x80\x94 sig".to_vec())
    );
    assert_eq!(s.ledger_checkpoint_at(6).expect("at"), None);

    s.ledger_add_cosignature(9, "w1", 1, "— w1 AAAA")
        .expect("cosign");
    s.ledger_add_cosignature(9, "w1", 1, "— w1 BBBB")
        .expect("cosign replaces");
    s.ledger_add_cosignature(9, "w2", 2, "— w2 CCCC")
        .expect("cosign");
    s.ledger_add_cosignature(5, "w2", 2, "— w2 DDDD")
        .expect("cosign");
    let mut lines = s.ledger_cosignatures(9).expect("cosignatures");
    lines.sort();
    assert_eq!(lines, vec!["— w1 BBBB", "— w2 CCCC"]);
    assert!(s.ledger_cosignatures(7).expect("cosignatures").is_empty());
    assert_eq!(
        s.ledger_checkpoint_history(10).expect("history"),
        vec![(9, T + 1_500_000, 2), (7, T + 1_000_000, 0), (5, T, 1)]
    );
    assert_eq!(
        s.ledger_checkpoint_history(2).expect("history"),
        vec![(9, T + 1_500_000, 2), (7, T + 1_000_000, 0)]
    );

    let root = Hash([3; 32]);
    clock.set_micros(T + 2_000_000);
    s.ledger_save_witnessed("p", 10, &root, b"p at 10")
        .expect("witnessed");
    s.ledger_save_witnessed("p", 10, &root, b"p at 10")
        .expect("witnessed again");
    clock.set_micros(T + 3_000_000);
    s.ledger_save_witnessed("p", 20, &Hash([4; 32]), b"p at 20")
        .expect("witnessed");
    s.ledger_save_witnessed("q", 3, &root, b"q at 3")
        .expect("witnessed");
    let wit = s
        .ledger_witnessed("p", None)
        .expect("witnessed")
        .expect("largest");
    assert_eq!(
        (wit.partner.as_str(), wit.size, wit.note.as_slice()),
        ("p", 20, &b"p at 20"[..])
    );
    assert_eq!(
        wit.received_at,
        FixedClock::new(T + 3_000_000).now_rfc3339()
    );
    let at10 = s
        .ledger_witnessed("p", Some(10))
        .expect("witnessed")
        .expect("at 10");
    assert_eq!((at10.size, at10.note.as_slice()), (10, &b"p at 10"[..]));
    assert_eq!(
        at10.received_at,
        FixedClock::new(T + 2_000_000).now_rfc3339()
    );
    assert_eq!(s.ledger_witnessed("p", Some(15)).expect("witnessed"), None);
    assert_eq!(s.ledger_witnessed("r", None).expect("witnessed"), None);

    // Alerts keep their evidence byte for byte (not UTF-8 here).
    s.ledger_add_alert(
        "p",
        "split-view",
        "two roots at 20",
        Some(b"\x00\xff a"),
        Some(b"b"),
    )
    .expect("alert");
    clock.set_micros(T + 4_000_000);
    s.ledger_add_alert("q", "audit", "a", None, None)
        .expect("alert");
    let alerts = s.ledger_alerts().expect("alerts");
    assert_eq!(alerts.len(), 2);
    assert!(alerts[0].id < alerts[1].id, "oldest first");
    assert_eq!(
        (
            alerts[0].partner.as_str(),
            alerts[0].kind.as_str(),
            alerts[0].detail.as_str(),
            alerts[0].first.as_deref(),
            alerts[0].second.as_deref(),
            alerts[0].time.as_str()
        ),
        (
            "p",
            "split-view",
            "two roots at 20",
            Some(&b"\x00\xff a"[..]),
            Some(&b"b"[..]),
            FixedClock::new(T + 3_000_000).now_rfc3339().as_str()
        )
    );
    assert_eq!(
        (alerts[1].first.as_deref(), alerts[1].second.as_deref()),
        (None, None)
    );
    assert_eq!(alerts[1].time, FixedClock::new(T + 4_000_000).now_rfc3339());

    // Another store on the database sees it all, and adds to it.
    let other = db.open();
    assert_eq!(other.ledger_alerts().expect("alerts"), alerts);
    assert_eq!(
        other.ledger_latest_checkpoint().expect("latest"),
        Some((9, b"note 9".to_vec()))
    );
    other
        .ledger_add_alert("p", "rollback", "c", None, None)
        .expect("alert");
    assert_eq!(s.ledger_alerts().expect("alerts").len(), 3);
    check_all(&*s);
}

/// Sync cursors (set, replace, list by key, import keeping what is there),
/// the push journal (pending with its records in one transaction, the
/// `after` check, one pending batch per key, acknowledgement only
/// forward), and partners' sync health.
fn sync_cursors_push_journal_and_health(fresh: Fresh<'_>) {
    let db = fresh();
    let s = db.open();
    let other = db.open();
    assert_eq!(s.sync_cursor("a -> b").expect("cursor"), None);
    assert!(s.sync_cursors().expect("cursors").is_empty());
    s.set_sync_cursor("a -> b", "2026-01-01T00:00:00Z")
        .expect("set");
    s.set_sync_cursor("a -> b", "2026-01-02T00:00:00Z")
        .expect("replace");
    s.set_sync_cursor("0 first", "é 😀").expect("set");
    let added = s
        .import_sync_cursors(&[("a -> b", "1999-01-01T00:00:00Z"), ("c -> d", "x")])
        .expect("import");
    assert_eq!(added, 1);
    assert_eq!(s.import_sync_cursors(&[]).expect("import"), 0);
    let want = vec![
        ("0 first".to_owned(), "é 😀".to_owned()),
        ("a -> b".to_owned(), "2026-01-02T00:00:00Z".to_owned()),
        ("c -> d".to_owned(), "x".to_owned()),
    ];
    assert_eq!(s.sync_cursors().expect("cursors"), want);
    assert_eq!(other.sync_cursors().expect("cursors"), want);

    // The push journal.
    let key = "push b <- c";
    let objects = vec!["{\"id\":\"x\"}".to_owned(), String::new(), "é".repeat(3000)];
    let recs = |n: usize| -> Vec<ExchangeRecord> {
        (0..n)
            .map(|i| {
                out_record(
                    &format!("indicator--{i:08x}-0000-4000-8000-000000000000"),
                    "b",
                )
            })
            .collect()
    };
    s.writer()
        .log_push(
            &recs(3),
            PushStep::Pending {
                key: key.into(),
                after: 0,
                last_seq: 42,
                objects: objects.clone(),
            },
        )
        .expect("pending");
    assert_eq!(s.ledger_size().expect("size"), 3);
    let p = other
        .push_pending(key)
        .expect("pending")
        .expect("a pending batch");
    assert_eq!(
        (p.key.as_str(), p.last_seq, &p.objects),
        (key, 42, &objects)
    );
    assert_eq!(s.push_pending("another").expect("pending"), None);
    assert_eq!(
        s.sync_cursor(key).expect("cursor"),
        None,
        "not moved before the ack"
    );
    // A second batch under the key before the first is acknowledged:
    // refused, nothing committed (from either store).
    for st in [&s, &other] {
        let again = st.writer().log_push(
            &recs(1),
            PushStep::Pending {
                key: key.into(),
                after: 0,
                last_seq: 50,
                objects: vec!["{}".into()],
            },
        );
        assert!(again.is_err(), "a second pending batch under one key");
    }
    assert_eq!(s.ledger_size().expect("size"), 3);
    assert_eq!(
        s.push_pending(key)
            .expect("pending")
            .expect("kept")
            .last_seq,
        42
    );
    other.push_acked(key, 42).expect("ack");
    assert_eq!(s.push_pending(key).expect("pending"), None);
    assert_eq!(s.sync_cursor(key).expect("cursor").as_deref(), Some("42"));
    // Nothing to POST: the cursor moves with the records.
    s.writer()
        .log_push(
            &recs(1),
            PushStep::Done {
                key: key.into(),
                after: 42,
                last_seq: 60,
            },
        )
        .expect("done");
    assert_eq!(s.sync_cursor(key).expect("cursor").as_deref(), Some("60"));
    assert_eq!(s.ledger_size().expect("size"), 4);
    // A late acknowledgement never moves the cursor back.
    s.push_acked(key, 42).expect("late ack");
    assert_eq!(s.sync_cursor(key).expect("cursor").as_deref(), Some("60"));
    // A batch read after a cursor that moved since: nothing committed,
    // Pending or Done.
    for step in [
        PushStep::Pending {
            key: key.into(),
            after: 42,
            last_seq: 70,
            objects: vec!["{}".into()],
        },
        PushStep::Done {
            key: key.into(),
            after: 0,
            last_seq: 70,
        },
    ] {
        let e = other
            .writer()
            .log_push(&recs(2), step)
            .expect_err("a stale cursor");
        assert!(e.to_string().contains(key), "{e}");
    }
    assert_eq!(s.ledger_size().expect("size"), 4);
    assert_eq!(s.sync_cursor(key).expect("cursor").as_deref(), Some("60"));
    assert_eq!(s.push_pending(key).expect("pending"), None);
    // A fresh key starts from 0, even with no records.
    s.writer()
        .log_push(
            &[],
            PushStep::Pending {
                key: "push e <- c".into(),
                after: 0,
                last_seq: 3,
                objects: vec!["{}".into()],
            },
        )
        .expect("pending without records");
    assert_eq!(
        other
            .push_pending("push e <- c")
            .expect("pending")
            .map(|p| p.last_seq),
        Some(3)
    );

    // Partners' sync health.
    assert_eq!(s.partner_health("b").expect("health"), None);
    assert!(s.partner_healths().expect("healths").is_empty());
    let mut h = PartnerHealth {
        partner: "b".into(),
        last_error: Some("GET http://b/: timeout".into()),
        last_error_at: Some("2026-01-01T00:00:00Z".into()),
        failures: u32::MAX,
        ..PartnerHealth::default()
    };
    s.set_partner_health(&h).expect("health");
    h.paused = true;
    h.paused_reason = Some("invalid STIX".into());
    h.failures = 3;
    s.set_partner_health(&h).expect("replace");
    let a = PartnerHealth {
        partner: "a".into(),
        last_success: Some("2026-01-02T00:00:00Z".into()),
        ..PartnerHealth::default()
    };
    other.set_partner_health(&a).expect("health");
    assert_eq!(other.partner_health("b").expect("health"), Some(h.clone()));
    assert_eq!(s.partner_healths().expect("healths"), vec![a, h]);
    check_all(&*s);
}

/// With the size capped, a batch that does not fit fails with
/// `StoreError::Full` naming it, and nothing of it is stored (objects,
/// leaves, seqs); lifted, the same batch goes in.
fn a_full_database_stores_nothing_of_the_batch(fresh: Fresh<'_>) {
    let db = fresh();
    let s = db.open();
    let w = s.writer();
    let first: Vec<Obj> = (0..20).map(|n| indicator(n, V0, "c")).collect();
    w.put_batch(&borrow(&first)).expect("put");
    let before = (
        s.count(None).expect("count"),
        s.ledger_head().expect("head"),
        s.max_seq().expect("max"),
    );
    // Caps below the database's size: any batch that grows it fails. One
    // byte is a cap too.
    for (round, cap) in [(0u64, 1u64), (1, 64 * 1024)] {
        w.set_max_size_bytes(Some(cap)).expect("cap");
        let big: Vec<Obj> = (0..2_000)
            .map(|n| indicator(100_000 * (round + 1) + n, V0, "c"))
            .collect();
        for _ in 0..2 {
            let e = w.put_batch(&borrow(&big)).expect_err("over the cap");
            assert!(e.is_full(), "cap {cap}: {e:?}");
            let msg = e.to_string();
            assert!(msg.contains(&big[0].id), "{msg}");
            assert!(
                matches!(
                    e,
                    StoreError::Full {
                        n_objects: 2_000,
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        let now = (
            s.count(None).expect("count"),
            s.ledger_head().expect("head"),
            s.max_seq().expect("max"),
        );
        assert_eq!(now, before, "cap {cap}: something of the batch was stored");
        assert!(
            s.get_versions("c", &big[0].id)
                .expect("versions")
                .is_empty()
        );
        assert!(
            s.get_versions("c", &big[1999].id)
                .expect("versions")
                .is_empty()
        );
        check_all(&*s);
        w.set_max_size_bytes(None).expect("lift");
    }
    let big: Vec<Obj> = (0..2_000)
        .map(|n| indicator(900_000 + n, V0, "c"))
        .collect();
    let seqs = all_stored(&w.put_batch(&borrow(&big)).expect("room again"));
    assert!(seqs[0] > before.2);
    assert_eq!(s.count(None).expect("count"), 2_020);
    assert_eq!(s.ledger_size().expect("size"), 2_020);
    check_all(&*s);
}

/// Two stores on one database write from several threads at once: every
/// seq unique, one outcome for each racing put of the same version, the
/// log gap-free with one leaf per stored version and every `out` record,
/// the check passing, and both stores seeing everything.
fn two_stores_write_concurrently(fresh: Fresh<'_>) {
    const THREADS_PER_STORE: u64 = 2;
    const BATCHES: u64 = 25;
    let db = fresh();
    let stores = [db.open(), db.open()];
    // Objects every thread puts (the same content), and objects two
    // threads put with different content.
    let contested: Vec<Obj> = (0..20).map(|n| indicator(500_000 + n, V0, "c")).collect();
    let variant = |k: u64| -> Vec<Obj> {
        (0..10)
            .map(|n| {
                let mut o = indicator(600_000 + n, V0, "c");
                o.raw = o
                    .raw
                    .replace("\"confidence\":80", &format!("\"confidence\":{k}"));
                o
            })
            .collect()
    };
    let writers: Vec<Arc<dyn ObjectWrite>> =
        stores.iter().map(|s| s.writer().to_shared()).collect();
    let results: Vec<ThreadResult> = std::thread::scope(|sc| {
        let mut hs = Vec::new();
        for (k, w) in writers.iter().enumerate() {
            for t in 0..THREADS_PER_STORE {
                let w = Arc::clone(w);
                let contested = &contested;
                let variant = &variant;
                hs.push(sc.spawn(move || {
                    let me = k as u64 * THREADS_PER_STORE + t;
                    let partner = format!("partner-{me}");
                    let w: Arc<dyn ObjectWrite> =
                        if t == 1 { w.received_from(&partner) } else { w };
                    let mut seqs = Vec::new();
                    let mut same = Vec::new();
                    let mut diff = Vec::new();
                    let mut n_records = 0;
                    for b in 0..BATCHES {
                        let batch: Vec<Obj> = (0..4)
                            .map(|i| indicator(me * 100_000 + b * 10 + i, V0, "c"))
                            .collect();
                        seqs.extend(all_stored(&w.put_batch(&borrow(&batch)).expect("put")));
                        if b == 5 {
                            same = w.put_batch(&borrow(contested)).expect("contested");
                        }
                        if b == 10 {
                            diff = w.put_batch(&borrow(&variant(me))).expect("variants");
                        }
                        if b % 5 == 0 {
                            w.log_records(&[out_record(&batch[0].id, &partner)])
                                .expect("out");
                            n_records += 1;
                        }
                    }
                    (seqs, same, diff, n_records)
                }));
            }
        }
        hs.into_iter()
            .map(|h| h.join().expect("writer thread"))
            .collect()
    });
    let mut seqs: Vec<i64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let n_records: usize = results.iter().map(|r| r.3).sum();
    // Each contested object: stored once, every other put a duplicate of
    // it or a conflict with it.
    for (i, o) in contested.iter().enumerate() {
        let outs: Vec<PutOutcome> = results.iter().map(|r| r.1[i]).collect();
        let stored: Vec<i64> = outs
            .iter()
            .filter_map(|o| match o {
                PutOutcome::Stored { seq } => Some(*seq),
                _ => None,
            })
            .collect();
        assert_eq!(stored.len(), 1, "{}: {outs:?}", o.id);
        assert!(
            outs.iter().all(|x| matches!(x, PutOutcome::Stored { .. })
                || *x == PutOutcome::Duplicate { seq: stored[0] }),
            "{outs:?}"
        );
        seqs.push(stored[0]);
    }
    for i in 0..10 {
        let outs: Vec<PutOutcome> = results.iter().map(|r| r.2[i]).collect();
        let stored: Vec<i64> = outs
            .iter()
            .filter_map(|o| match o {
                PutOutcome::Stored { seq } => Some(*seq),
                _ => None,
            })
            .collect();
        assert_eq!(stored.len(), 1, "{outs:?}");
        assert!(
            outs.iter().all(|x| matches!(x, PutOutcome::Stored { .. })
                || *x
                    == PutOutcome::Conflict {
                        existing_seq: stored[0]
                    }),
            "{outs:?}"
        );
        seqs.push(stored[0]);
    }
    seqs.sort_unstable();
    let n = seqs.len();
    seqs.dedup();
    assert_eq!(seqs.len(), n, "a seq given twice");
    let n_threads = 2 * THREADS_PER_STORE as usize;
    assert_eq!(n, n_threads * BATCHES as usize * 4 + 30);

    for s in &stores {
        let all = read_all(&**s, &every_version(None), 50);
        assert_eq!(all.iter().map(|o| o.seq).collect::<Vec<_>>(), seqs);
        assert!(all.windows(2).all(|p| p[0].date_added < p[1].date_added));
        assert_eq!(s.count(Some("c")).expect("count"), n as u64);
        assert_eq!(s.max_seq().expect("max"), *seqs.last().expect("seqs"));
        let recs = records(&**s);
        assert_eq!(recs.len(), n + n_records);
        assert!(
            recs.iter()
                .enumerate()
                .all(|(i, (e, _))| e.index == i as u64),
            "gap-free"
        );
        let mut leaf_seqs: Vec<i64> = recs.iter().filter_map(|(e, _)| e.seq).collect();
        leaf_seqs.sort_unstable();
        assert_eq!(leaf_seqs, seqs, "one leaf per stored version");
        let outs = recs
            .iter()
            .filter(|(_, r)| r.direction == Direction::Out)
            .count();
        assert_eq!(outs, n_records);
        // An `in` leaf names the partner its handle was received from.
        for (e, r) in &recs {
            if r.direction == Direction::In {
                let o = &s.objects_by_seq(&[e.seq.expect("seq")]).expect("by seq")[0];
                assert_eq!(r.object_id, o.id);
                assert!(
                    r.partner
                        .as_deref()
                        .is_some_and(|p| p.starts_with("partner-"))
                );
            }
        }
        check_all(&**s);
    }
    assert_eq!(
        stores[0].ledger_head().expect("head"),
        stores[1].ledger_head().expect("head")
    );
}

// ------------------------------------------------- byte-bounded pages

/// `query_bounded`: a page ends with the object whose raw JSON reaches the
/// bound (at least one object, however large), says more follow, and
/// paging through gives exactly what unbounded pages give, for one
/// collection, for types across collections (several index ranges) and
/// for ids.
fn pages_end_at_their_byte_bound(fresh: Fresh<'_>) {
    let db = fresh();
    let s = db.open();
    let w = s.writer();
    let mut objs: Vec<Obj> = Vec::new();
    for n in 0..40u64 {
        let coll = if n % 3 == 0 { "b" } else { "a" };
        let mut o = if n % 2 == 0 {
            indicator(n, V0, coll)
        } else {
            observable("domain-name", n, coll)
        };
        // Sizes from ~100 bytes to ~20 KiB.
        let pad = "x".repeat(((n * 7919) % 20_000) as usize);
        o.raw = o.raw.replacen('{', &format!("{{\"x_pad\":\"{pad}\","), 1);
        objs.push(o);
    }
    w.put_batch(&borrow(&objs)).expect("put");
    let queries = [
        every_version(Some("a")),
        Query {
            types: vec!["indicator".into(), "domain-name".into()],
            ..every_version(None)
        },
        Query {
            ids: objs.iter().step_by(3).map(|o| o.id.clone()).collect(),
            ..every_version(None)
        },
    ];
    for q0 in &queries {
        let want: Vec<i64> = read_all(&*s, q0, 1000).iter().map(|o| o.seq).collect();
        assert!(!want.is_empty());
        for (limit, max) in [(1000, 1), (1000, 30_000), (7, 50_000), (1000, 1 << 30)] {
            let mut q = q0.clone();
            let mut got = Vec::new();
            loop {
                let page = s.query_bounded(&q, limit, max).expect("query_bounded");
                assert!(page.objects.len() <= limit);
                let sizes: Vec<usize> = page.objects.iter().map(|o| o.raw.len()).collect();
                let before_last: usize = sizes.iter().rev().skip(1).sum();
                assert!(
                    before_last < max,
                    "{q:?} {limit} {max}: the page went on past its bound ({sizes:?})"
                );
                got.extend(page.objects.iter().map(|o| o.seq));
                match (page.more, page.last_seq()) {
                    (true, Some(last)) => q.after_seq = last,
                    (false, _) => break,
                    (true, None) => panic!("an empty page says more follow"),
                }
                if page.more && page.objects.len() < limit {
                    let total: usize = sizes.iter().sum();
                    assert!(total >= max, "a short page under its bound says more");
                }
            }
            assert_eq!(got, want, "{q0:?} limit {limit} max {max}");
        }
        // A bound of one byte: one object a page.
        let page = s.query_bounded(q0, 1000, 1).expect("query_bounded");
        assert_eq!(page.objects.len(), 1);
        assert_eq!(page.more, want.len() > 1);
    }
}
