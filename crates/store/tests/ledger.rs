//! The ledger in the store: every stored version is a leaf written in the
//! same transaction; proofs, tiles and checks read it back.

mod common;

use accord_store::accord_ledger::{
    self, Decision, Direction, ExchangeRecord, Hash, Tile, TileKind, TiledReader,
    verify_consistency, verify_inclusion,
};
use accord_store::{SqliteStore, Store};
use common::{borrow, indicator};
use std::collections::HashMap;

fn out_record(i: u64) -> ExchangeRecord {
    ExchangeRecord {
        direction: Direction::Out,
        partner: Some("cert.partner".into()),
        collection: "c".into(),
        object_id: format!("indicator--{i:08x}-0000-4000-8000-000000000000"),
        modified: Some("2024-01-01T00:00:00.000Z".into()),
        sha256: Hash([7; 32]).to_hex(),
        decision: Decision::Sent,
        time: "2026-01-01T00:00:00Z".into(),
        salt: None,
    }
}

#[test]
fn every_stored_version_is_a_leaf_and_proofs_verify() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let objs: Vec<_> = (0..700)
        .map(|i| indicator(i, "2024-01-01T00:00:00.000Z", "c"))
        .collect();
    store.put_batch(&borrow(&objs[..300])).unwrap();
    // Duplicates are not new versions: no leaf.
    store.put_batch(&borrow(&objs[..10])).unwrap();
    assert_eq!(store.ledger_size().unwrap(), 300);
    let (s1, r1) = store.ledger_head().unwrap();
    // Received from a partner: `in` records.
    let w = store.writer().received_from("cert.partner");
    w.put_batch(&borrow(&objs[300..])).unwrap();
    store
        .writer()
        .log_records(&[out_record(1), out_record(2)])
        .unwrap();
    let (s2, r2) = store.ledger_head().unwrap();
    assert_eq!(s2, 702);
    assert_eq!(store.count(None).unwrap(), 700);

    let entries = store.ledger_entries(0, s2).unwrap();
    assert_eq!(entries.len(), 702);
    let first = ExchangeRecord::from_leaf_bytes(&entries[0].leaf).unwrap();
    assert_eq!(first.direction, Direction::Local);
    assert_eq!(first.object_id, objs[0].id);
    assert_eq!(
        first.sha256,
        Hash(<sha2::Sha256 as sha2::Digest>::digest(objs[0].raw.as_bytes()).into()).to_hex()
    );
    let inrec = ExchangeRecord::from_leaf_bytes(&entries[300].leaf).unwrap();
    assert_eq!(inrec.direction, Direction::In);
    assert_eq!(inrec.partner.as_deref(), Some("cert.partner"));
    let out = ExchangeRecord::from_leaf_bytes(&entries[701].leaf).unwrap();
    // The store salted it.
    assert!(out.salt.is_some());
    assert_eq!(
        ExchangeRecord {
            salt: None,
            ..out.clone()
        },
        out_record(2)
    );
    assert_eq!(entries[701].seq, None);

    for (i, size) in [
        (0, 1),
        (5, 300),
        (299, 300),
        (300, 702),
        (701, 702),
        (123, 555),
    ] {
        let (leaf, proof) = store.ledger_inclusion_proof(i, size).unwrap();
        assert_eq!(leaf, accord_ledger::leaf_hash(&entries[i as usize].leaf));
        let root = store.ledger_root(size).unwrap();
        verify_inclusion(&leaf, i, size, &proof, &root).unwrap();
    }
    let proof = store.ledger_consistency_proof(s1, s2).unwrap();
    verify_consistency(s1, s2, &r1, &r2, &proof).unwrap();
    assert!(store.ledger_inclusion_proof(702, 702).is_err());

    // A client holding only (size, root) reads the log through tiles.
    let mut tiles: HashMap<String, Vec<u8>> = HashMap::new();
    for t in accord_ledger::tiles::tiles_for_growth(0, s2)
        .into_iter()
        .chain(accord_ledger::tiles::entry_bundles_for_growth(0, s2))
    {
        tiles.insert(t.path(), store.ledger_tile(&t).unwrap().expect("tile"));
    }
    let reader = TiledReader::new(s2, r2, &tiles);
    assert_eq!(reader.root().unwrap(), r2);
    let bundle = Tile {
        kind: TileKind::Entries,
        index: 2,
        width: 702 - 512,
    };
    let got = reader
        .verify_entry_bundle(&bundle, &tiles[&bundle.path()])
        .unwrap();
    assert_eq!(got[0].leaf(), Some(entries[512].leaf.as_slice()));
    // Tiles past the log are not there.
    assert!(
        store
            .ledger_tile(&Tile {
                kind: TileKind::Entries,
                index: 3,
                width: 256
            })
            .unwrap()
            .is_none()
    );

    let check = store.ledger_check_at(&[s2, 0]).unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!(check.roots, vec![(0, accord_ledger::EMPTY_ROOT), (s2, r2)]);
    assert_eq!(check.root, store.ledger_head().unwrap().1);
    // The check keeps only the tree's right edge: its root at every size
    // is the one the stored hashes give.
    let every: Vec<u64> = (1..=s2).collect();
    let check = store.ledger_check_at(&every).unwrap();
    assert_eq!(check.roots.len(), every.len());
    for (size, root) in check.roots {
        assert_eq!(root, store.ledger_root(size).unwrap(), "size {size}");
    }
}

#[test]
fn every_record_gets_a_salt_of_its_own_that_survives_rebuilds_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let objs: Vec<_> = (0..600)
        .map(|i| indicator(i, "2024-01-01T00:00:00.000Z", "c"))
        .collect();
    // Local, from a partner (a large batch, prepared in parallel), and
    // `out` records: one without a salt, one that brings its own.
    store.put_batch(&borrow(&objs[..10])).unwrap();
    let w = store.writer().received_from("cert.partner");
    w.put_batch(&borrow(&objs[10..])).unwrap();
    let own = "00112233445566778899aabbccddeeff";
    store
        .writer()
        .log_records(&[
            out_record(1),
            ExchangeRecord {
                salt: Some(own.into()),
                ..out_record(2)
            },
        ])
        .unwrap();
    let size = store.ledger_size().unwrap();
    assert_eq!(size, 602);
    let records: Vec<ExchangeRecord> = store
        .ledger_entries(0, size)
        .unwrap()
        .iter()
        .map(|e| ExchangeRecord::from_leaf_bytes(&e.leaf).unwrap())
        .collect();
    let mut salts = std::collections::HashSet::new();
    for r in &records {
        r.validate().unwrap();
        let salt = r.salt.clone().expect("a salt");
        assert_eq!(salt.len(), accord_ledger::SALT_HEX_LEN);
        assert!(salts.insert(salt), "a salt given twice");
    }
    assert_eq!(records[601].salt.as_deref(), Some(own));
    // Rebuilt from the object rows, the records are what was logged: the
    // salt is kept with the row.
    let (_, root) = store.ledger_head().unwrap();
    let check = store.ledger_check_at(&[size]).unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!(check.roots, vec![(size, root)]);
    // A record whose salt is malformed is refused, nothing appended.
    let bad = ExchangeRecord {
        salt: Some("not hex".into()),
        ..out_record(3)
    };
    let e = store.writer().log_records(&[bad]).unwrap_err().to_string();
    assert!(e.contains("salt"), "{e}");
    assert_eq!(store.ledger_size().unwrap(), size);
    // Deleted, the record (salt included) is kept as it was.
    let before = store.ledger_entries(3, 4).unwrap();
    store
        .writer()
        .delete("c", &objs[3].id, &accord_store::VersionFilter::all())
        .unwrap();
    assert_eq!(store.ledger_entries(3, 4).unwrap(), before);
    assert!(store.ledger_check().unwrap().problems.is_empty());
}

#[test]
fn tampering_behind_the_store_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let objs: Vec<_> = (0..50)
        .map(|i| indicator(i, "2024-01-01T00:00:00.000Z", "c"))
        .collect();
    store.put_batch(&borrow(&objs)).unwrap();
    // Leaves 50 and 51: `out` records, kept as bytes.
    store
        .writer()
        .log_records(&[out_record(1), out_record(2)])
        .unwrap();
    let conn = rusqlite::Connection::open(store.db_path()).unwrap();
    let seq_of = |leaf: usize| -> i64 {
        let seqs: Vec<u8> = conn
            .query_row("SELECT seqs FROM ledger_chunks WHERE first = 0", [], |r| {
                r.get(0)
            })
            .unwrap();
        i64::from_le_bytes(seqs[leaf * 8..leaf * 8 + 8].try_into().unwrap())
    };
    // A stored object's record is rebuilt from its row: changing what the
    // row says of the exchange (here the direction) changes the leaf.
    conn.execute(
        "UPDATE objects SET ledger_src = replace(ledger_src, 'local:', 'in:') WHERE seq = ?1",
        [seq_of(17)],
    )
    .unwrap();
    // An object rewritten behind the log: its record no longer hashes right.
    conn.execute(
        "UPDATE objects SET raw = replace(raw, 'Malicious', 'Harmless') WHERE seq = ?1",
        [seq_of(33)],
    )
    .unwrap();
    // A rewritten `out` record (kept as bytes in its chunk, the second
    // transaction's: first = 50).
    let chunk = |first: i64| -> Vec<u8> {
        conn.query_row(
            "SELECT leaves FROM ledger_chunks WHERE first = ?1",
            [first],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(chunk(0).split(|&b| b == b'\n').nth(10), Some(&b"#"[..]));
    let leaves = chunk(50);
    let mut parts: Vec<Vec<u8>> = leaves.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    assert_eq!(parts.len(), 2);
    parts[1] = String::from_utf8(parts[1].clone())
        .unwrap()
        .replace("sent", "sent ")
        .into_bytes();
    conn.execute(
        "UPDATE ledger_chunks SET leaves = ?1 WHERE first = 50",
        [parts.join(&b'\n')],
    )
    .unwrap();
    let check = store.ledger_check().unwrap();
    let idx: Vec<u64> = check.problems.iter().map(|p| p.index).collect();
    assert_eq!(idx, vec![17, 33, 51, 51], "{:?}", check.problems);
    assert!(
        check.problems[1].reason.contains("object"),
        "{:?}",
        check.problems
    );
    // An object deleted behind the store: its record cannot be had.
    conn.execute("DELETE FROM objects WHERE seq = ?1", [seq_of(40)])
        .unwrap();
    let check = store.ledger_check().unwrap();
    let p40 = check.problems.iter().find(|p| p.index == 40).unwrap();
    assert!(p40.reason.contains("is gone"), "{p40:?}");
}

/// A version deleted through the store keeps its record (the leaf reads
/// the same and the log verifies), and its seq is never given again.
#[test]
fn deleted_versions_keep_their_records_and_seqs_are_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let objs: Vec<_> = (0..5)
        .map(|i| indicator(i, "2024-01-01T00:00:00.000Z", "c"))
        .collect();
    let out = store.put_batch(&borrow(&objs)).unwrap();
    let last_seq = match out[4] {
        accord_store::PutOutcome::Stored { seq } => seq,
        ref o => panic!("{o:?}"),
    };
    let before = store.ledger_entries(0, 5).unwrap();
    // Delete the newest row: a plain rowid table would hand its seq out again.
    let n = store
        .writer()
        .delete("c", &objs[4].id, &accord_store::VersionFilter::all())
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(store.ledger_entries(0, 5).unwrap(), before);
    let again = store
        .put_batch(&borrow(&[indicator(99, "2024-01-01T00:00:00.000Z", "c")]))
        .unwrap();
    match again[0] {
        accord_store::PutOutcome::Stored { seq } => assert!(seq > last_seq, "{seq} reused"),
        ref o => panic!("{o:?}"),
    }
    let check = store.ledger_check().unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!(check.size, 6);
}

#[test]
fn a_rewritten_upper_level_hash_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let objs: Vec<_> = (0..300)
        .map(|i| indicator(i, "2024-01-01T00:00:00.000Z", "c"))
        .collect();
    store.put_batch(&borrow(&objs)).unwrap();
    assert!(store.ledger_check().unwrap().problems.is_empty());
    let conn = rusqlite::Connection::open(store.db_path()).unwrap();
    // Leaf 255 completes the first level-8 subtree: its copy is the one
    // upper-level row.
    let n = conn
        .execute("UPDATE ledger_upper SET hash = zeroblob(32)", [])
        .unwrap();
    assert_eq!(n, 1);
    let check = store.ledger_check().unwrap();
    let idx: Vec<u64> = check.problems.iter().map(|p| p.index).collect();
    assert_eq!(idx, vec![255], "{:?}", check.problems);
    assert!(
        check.problems[0].reason.contains("level 8"),
        "{:?}",
        check.problems
    );
    conn.execute("DELETE FROM ledger_upper", []).unwrap();
    let check = store.ledger_check().unwrap();
    assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
    assert!(
        check.problems[0].reason.contains("missing"),
        "{:?}",
        check.problems
    );
}

/// The records about one object found in one pass over the chunks (its
/// versions by seq, the rest by its id's bytes) are exactly those a full
/// read of the log finds by their object id: stored versions, versions
/// received from a partner, `out` records, and the record of a deleted
/// version.
#[test]
fn the_records_about_an_object_are_those_a_full_read_finds() {
    use accord_store::{ObjectRead, Query, VersionFilter};
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let v1: Vec<_> = (0..600)
        .map(|i| indicator(i, "2024-01-01T00:00:00.000Z", "c"))
        .collect();
    let v2: Vec<_> = (0..3)
        .map(|i| indicator(i, "2024-02-01T00:00:00.000Z", "c"))
        .collect();
    // `out` records about objects 1 and 2.
    let out = |n: usize| ExchangeRecord {
        object_id: v1[n].id.clone(),
        ..out_record(0)
    };
    store.put_batch(&borrow(&v1[..300])).unwrap();
    store
        .writer()
        .log_records(&[out(1), out(2), out(1)])
        .unwrap();
    store
        .writer()
        .received_from("cert.partner")
        .put_batch(&borrow(&v1[300..]))
        .unwrap();
    store.put_batch(&borrow(&v2)).unwrap();
    store.writer().log_records(&[out(1)]).unwrap();
    // A deleted version keeps its record apart.
    let id2 = v1[2].id.clone();
    let deleted = store
        .writer()
        .delete("c", &id2, &VersionFilter::first())
        .unwrap();
    assert_eq!(deleted, 1);
    let size = store.ledger_size().unwrap();
    let all = store.ledger_entries(0, size).unwrap();
    for n in [1u64, 2, 3, 450, 599] {
        let id = v1[n as usize].id.clone();
        let want: Vec<u64> = all
            .iter()
            .filter(|e| ExchangeRecord::from_leaf_bytes(&e.leaf).unwrap().object_id == id)
            .map(|e| e.index)
            .collect();
        let q = Query {
            ids: vec![id.clone()],
            versions: VersionFilter::all(),
            ..Query::default()
        };
        let seqs: Vec<i64> = ObjectRead::query(&store, &q, 100)
            .unwrap()
            .objects
            .iter()
            .map(|o| o.seq)
            .collect();
        let (got, more) = store
            .ledger_entries_about(&seqs, id.as_bytes(), 100)
            .unwrap();
        let got_idx: Vec<u64> = got
            .iter()
            .filter(|e| ExchangeRecord::from_leaf_bytes(&e.leaf).unwrap().object_id == id)
            .map(|e| e.index)
            .collect();
        // 1: two versions and three `out` records; 2: its deleted first
        // version, its second and one `out` record.
        match n {
            1 => assert_eq!(want.len(), 5),
            2 => assert_eq!(want.len(), 3),
            _ => assert!(!want.is_empty()),
        }
        assert_eq!(got_idx, want, "object {n}");
        assert!(!more);
        for e in &got {
            assert_eq!(e.leaf, all[e.index as usize].leaf, "leaf {}", e.index);
        }
    }
    // Object 1: its stored version, a newer one, and three `out` records.
    let id1 = v1[1].id.clone();
    let (got, _) = store
        .ledger_entries_about(&[], id1.as_bytes(), 100)
        .unwrap();
    assert_eq!(got.len(), 3, "out records only, without seqs");
    let (got, more) = store.ledger_entries_about(&[], id1.as_bytes(), 2).unwrap();
    assert_eq!((got.len(), more), (2, true), "the limit holds");
}
