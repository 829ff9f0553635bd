//! Property: whatever the interleaving of writes and page reads, paging a
//! collection by `seq` yields every stored version exactly once, in order,
//! and each put's outcome matches a simple model of the store.

mod common;

use accord_store::{PutOutcome, Query, SqliteStore, Store, VersionFilter};
use common::{Obj, borrow, indicator};
use proptest::prelude::*;
use std::collections::HashMap;

const VERSIONS: [&str; 3] = [
    "2024-01-01T00:00:00Z",
    "2024-01-02T00:00:00.5Z",
    "2024-01-03T00:00:00Z",
];
const COLLS: [&str; 2] = ["a", "b"];

#[derive(Debug, Clone)]
enum Op {
    /// (object number, version index, collection index, content variant)
    Put(Vec<(u64, usize, usize, u8)>),
    Page {
        coll: usize,
        limit: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop::collection::vec((0u64..8, 0usize..3, 0usize..2, 0u8..2), 1..6).prop_map(Op::Put),
        (0usize..2, 0usize..4).prop_map(|(coll, limit)| Op::Page { coll, limit }),
    ]
}

fn make(n: u64, v: usize, c: usize, variant: u8) -> Obj {
    let mut o = indicator(n, VERSIONS[v], COLLS[c]);
    if variant == 1 {
        o.raw = o.raw.replace("\"confidence\":80", "\"confidence\":81");
    }
    o
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn paging_never_skips_or_repeats(ops in prop::collection::vec(op(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(dir.path()).unwrap();
        // Model: (coll, id, version) -> (content variant, seq).
        let mut model: HashMap<(usize, u64, usize), (u8, i64)> = HashMap::new();
        let mut stored: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
        let mut read: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
        let mut cursor = [0i64; 2];
        let page_of = |s: &SqliteStore, coll: usize, limit: usize, cursor: &mut [i64; 2], read: &mut [Vec<i64>; 2]| {
            let q = Query {
                collection: Some(COLLS[coll].into()),
                versions: VersionFilter::all(),
                after_seq: cursor[coll],
                ..Query::default()
            };
            let page = s.query(&q, limit).unwrap();
            assert!(page.objects.len() <= limit);
            if let Some(last) = page.last_seq() {
                cursor[coll] = last;
            }
            read[coll].extend(page.objects.iter().map(|o| o.seq));
            page.more
        };
        for op in ops {
            match op {
                Op::Put(items) => {
                    let objs: Vec<Obj> = items.iter().map(|&(n, v, c, x)| make(n, v, c, x)).collect();
                    let out = s.put_batch(&borrow(&objs)).unwrap();
                    for (&(n, v, c, x), o) in items.iter().zip(out) {
                        match model.get(&(c, n, v)) {
                            None => {
                                let PutOutcome::Stored { seq } = o else {
                                    panic!("expected Stored, got {o:?}")
                                };
                                prop_assert!(stored[c].last().is_none_or(|&l| l < seq));
                                stored[c].push(seq);
                                model.insert((c, n, v), (x, seq));
                            }
                            Some(&(x0, seq)) if x0 == x => prop_assert_eq!(o, PutOutcome::Duplicate { seq }),
                            Some(&(_, seq)) => prop_assert_eq!(o, PutOutcome::Conflict { existing_seq: seq }),
                        }
                    }
                }
                Op::Page { coll, limit } => {
                    page_of(&s, coll, limit, &mut cursor, &mut read);
                }
            }
        }
        for c in 0..2 {
            while page_of(&s, c, 3, &mut cursor, &mut read) {}
            prop_assert_eq!(&read[c], &stored[c]);
        }
    }
}
