//! A full disk (here: the database's size limit) fails the batch with a
//! clear error, corrupts nothing, and the writer goes on once there is room.

mod common;

use accord_store::{OpenOptions, PutOutcome, SqliteStore, Store, StoreError};
use common::{borrow, indicator};

const T: &str = "2024-01-01T00:00:00.000Z";

#[test]
fn full_database_fails_the_batch_and_keeps_everything_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_with(
        dir.path(),
        &OpenOptions::new().max_size_bytes(Some(600 * 1024)),
    )
    .unwrap();
    let mut acked = Vec::new();
    let mut failed = None;
    for b in 0..1_000u64 {
        let objs: Vec<_> = (0..50).map(|i| indicator(b * 50 + i, T, "c")).collect();
        match s.put_batch(&borrow(&objs)) {
            Ok(out) => {
                assert!(out.iter().all(|o| matches!(o, PutOutcome::Stored { .. })));
                acked.extend(objs);
            }
            Err(e) => {
                failed = Some((e, objs));
                break;
            }
        }
    }
    let (err, objs) = failed.expect("the size limit was never reached");
    assert!(err.is_full(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("full"), "{msg}");
    assert!(msg.contains(&objs[0].id), "{msg}");
    let StoreError::Full {
        batch, n_objects, ..
    } = err
    else {
        unreachable!()
    };
    assert_eq!(n_objects, 50);
    assert!(msg.contains(&format!("batch {batch}")), "{msg}");
    assert!(!acked.is_empty());

    // Nothing acknowledged is lost, nothing of the failed batch is there.
    s.integrity_check().unwrap();
    assert_eq!(s.count(Some("c")).unwrap(), acked.len() as u64);
    for o in acked.iter().step_by(7) {
        assert_eq!(s.get_versions("c", &o.id).unwrap()[0].raw, o.raw);
    }
    assert!(s.get_versions("c", &objs[0].id).unwrap().is_empty());
    // Still full for the next batch.
    assert!(s.put_batch(&borrow(&objs)).unwrap_err().is_full());

    // Room again: the same batch goes in, and a reopen sees it all.
    s.writer().set_max_size_bytes(None).unwrap();
    let out = s.put_batch(&borrow(&objs)).unwrap();
    assert!(out.iter().all(|o| matches!(o, PutOutcome::Stored { .. })));
    drop(s);
    let s = SqliteStore::open(dir.path()).unwrap();
    s.integrity_check().unwrap();
    assert_eq!(s.count(None).unwrap(), acked.len() as u64 + 50);
}

#[test]
fn a_full_group_fails_only_the_batches_that_do_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_with(
        dir.path(),
        &OpenOptions::new().max_size_bytes(Some(400 * 1024)),
    )
    .unwrap();
    // One big batch that cannot fit, queued with small ones that can.
    let big: Vec<_> = (0..2_000)
        .map(|i| indicator(1_000_000 + i, T, "c"))
        .collect();
    let small: Vec<Vec<_>> = (0..4u64)
        .map(|b| (0..5).map(|i| indicator(b * 10 + i, T, "c")).collect())
        .collect();
    let w = s.writer();
    let mut pending = vec![w.submit(&borrow(&big)).unwrap()];
    pending.extend(small.iter().map(|b| w.submit(&borrow(b)).unwrap()));
    let mut results = pending.into_iter().map(|p| p.wait());
    assert!(results.next().unwrap().unwrap_err().is_full());
    for r in results {
        assert_eq!(r.unwrap().len(), 5);
    }
    assert_eq!(s.count(None).unwrap(), 20);
    s.integrity_check().unwrap();
}
