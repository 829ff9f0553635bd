//! The log over PostgreSQL held to the SQLite log: the same leaves in the
//! same batches give the same sizes, roots, proofs, tiles and check; two
//! connections appending under the sequencer lock give one gap-free log;
//! the check names what was tampered with. Each test skips (one `skip:`
//! line) without PostgreSQL.

use super::*;
use crate::pg::{PgStore, SEQUENCER_LOCK};
use crate::{LedgerRead, OpenOptions, SqliteStore};
use accord_ledger::tiles::{entry_bundles_for_growth, tiles_for_growth};
use accord_ledger::{
    Decision, Direction, EMPTY_ROOT, ExchangeRecord, Tile, TileKind, TiledReader, append_leaves,
    leaf_hash, salt_hex, verify_consistency, verify_inclusion,
};

/// A PostgreSQL store on a database of its own, or `None` (skipped).
fn pg_store(test: &str) -> Option<(PgStore, String)> {
    let url = accord_testkit::postgres::cluster(test)?.fresh_database();
    let store = PgStore::connect(&url, &OpenOptions::default()).expect("connecting");
    Some((store, url))
}

/// An `out` record, distinct per (`tag`, `i`), with a salt of its own.
fn record(tag: u8, i: u64) -> ExchangeRecord {
    let mut salt = [tag; 16];
    salt[8..].copy_from_slice(&i.to_be_bytes());
    ExchangeRecord {
        direction: Direction::Out,
        partner: Some(format!("cert.p{tag}.example")),
        collection: "indicators".into(),
        object_id: format!("indicator--00000000-0000-4000-8000-{i:012}"),
        modified: Some("2026-11-28T02:40:00.000Z".into()),
        sha256: leaf_hash(&i.to_le_bytes()).to_hex(),
        decision: Decision::Sent,
        time: "2026-11-28T02:40:01Z".into(),
        salt: Some(salt_hex(&salt)),
    }
}

/// Appends `leaves` in one transaction on `client` as the writer does:
/// the sequencer lock, the size from `accord_meta`, [`append`], the size
/// moved. Returns the new size.
fn append_tx(
    client: &mut postgres::Client,
    leaves: &[(Vec<u8>, Option<i64>)],
) -> Result<u64, StoreError> {
    let mut tx = client.transaction().expect("a transaction");
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])
        .expect("the sequencer lock");
    let size: i64 = tx
        .query_one(
            "SELECT value FROM accord_meta WHERE key = 'ledger_size'",
            &[],
        )
        .expect("the ledger size")
        .get(0);
    // As a writer busy with its batch would: another transaction that did
    // not wait for the lock would now read the same size.
    tx.execute("SELECT pg_sleep(0.002)", &[]).expect("sleeping");
    let new: Vec<PgLeaf<'_>> = leaves
        .iter()
        .map(|(b, seq)| PgLeaf {
            bytes: b,
            hash: leaf_hash(b),
            seq: *seq,
        })
        .collect();
    let n = append(&mut tx, "test", size.cast_unsigned(), &new)?;
    tx.execute(
        "UPDATE accord_meta SET value = $1 WHERE key = 'ledger_size'",
        &[&n.cast_signed()],
    )
    .expect("moving the size");
    tx.commit().expect("committing");
    Ok(n)
}

/// The same `out` records appended to both backends in the same batches
/// answer everything alike, and their proofs verify.
#[test]
fn differential_against_sqlite() {
    let Some((pg, _)) = pg_store("differential_against_sqlite") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(pg.ledger_head().unwrap(), (0, EMPTY_ROOT));
    let mut size = 0u64;
    let mut heads = vec![(0u64, EMPTY_ROOT)];
    for batch in [1u64, 2, 255, 3, 300, 1, 511, 40, 1] {
        let records: Vec<ExchangeRecord> = (size..size + batch).map(|i| record(1, i)).collect();
        lite.writer().log_records(&records).unwrap();
        let leaves: Vec<(Vec<u8>, Option<i64>)> = lite
            .ledger_entries(size, size + batch)
            .unwrap()
            .into_iter()
            .map(|e| (e.leaf, e.seq))
            .collect();
        assert_eq!(leaves.len() as u64, batch);
        size = append_tx(&mut pg.client(), &leaves).unwrap();
        let head = pg.ledger_head().unwrap();
        assert_eq!(
            head,
            lite.ledger_head().unwrap(),
            "head after {size} leaves"
        );
        heads.push(head);
    }
    assert_eq!(size, 1114);
    assert_eq!(
        pg.ledger_entries(0, u64::MAX).unwrap(),
        lite.ledger_entries(0, u64::MAX).unwrap()
    );
    assert_eq!(
        pg.ledger_entries(250, 260).unwrap(),
        lite.ledger_entries(250, 260).unwrap()
    );
    // Roots at every size, and proofs that verify against them.
    let roots: Vec<Hash> = (0..=size).map(|n| pg.ledger_root(n).unwrap()).collect();
    for n in (0..=size)
        .step_by(37)
        .chain([255, 256, 257, 1023, 1024, size])
    {
        assert_eq!(
            roots[n as usize],
            lite.ledger_root(n).unwrap(),
            "root at {n}"
        );
    }
    for (index, n) in [
        (0, 1),
        (0, size),
        (255, 256),
        (256, 1000),
        (700, 701),
        (1113, size),
    ] {
        let (leaf, proof) = pg.ledger_inclusion_proof(index, n).unwrap();
        assert_eq!(
            (leaf, proof.clone()),
            lite.ledger_inclusion_proof(index, n).unwrap()
        );
        verify_inclusion(&leaf, index, n, &proof, &roots[n as usize]).unwrap();
    }
    for (a, b) in [
        (1, 2),
        (3, 258),
        (256, 512),
        (300, 1114),
        (1113, 1114),
        (5, 5),
    ] {
        let proof = pg.ledger_consistency_proof(a, b).unwrap();
        assert_eq!(proof, lite.ledger_consistency_proof(a, b).unwrap());
        verify_consistency(a, b, &roots[a as usize], &roots[b as usize], &proof).unwrap();
    }
    // What the log does not hold is refused, by both.
    for bad in [
        pg.ledger_root(size + 1).err(),
        pg.ledger_inclusion_proof(size, size).err(),
        pg.ledger_inclusion_proof(0, size + 1).err(),
        pg.ledger_consistency_proof(10, 5).err(),
    ] {
        let bad = bad.expect("refused");
        assert!(
            matches!(bad, StoreError::PgLedger { .. }),
            "{bad:?} is a PgLedger error"
        );
    }
    assert!(lite.ledger_root(size + 1).is_err());
    // Tiles and entry bundles, full and partial, byte for byte; and
    // nothing past the log.
    let mut tiles = tiles_for_growth(0, size);
    tiles.extend(entry_bundles_for_growth(0, size));
    tiles.extend([
        Tile {
            kind: TileKind::Hashes { level: 0 },
            index: 1,
            width: 3,
        },
        Tile {
            kind: TileKind::Entries,
            index: 4,
            width: 90,
        },
    ]);
    assert!(
        tiles
            .iter()
            .any(|t| t.kind == TileKind::Hashes { level: 1 })
    );
    for t in &tiles {
        let got = pg.ledger_tile(t).unwrap();
        assert!(got.is_some(), "{} is served", t.path());
        assert_eq!(got, lite.ledger_tile(t).unwrap(), "{}", t.path());
    }
    for t in [
        Tile {
            kind: TileKind::Entries,
            index: 4,
            width: 91,
        },
        Tile {
            kind: TileKind::Hashes { level: 1 },
            index: 0,
            width: 5,
        },
        Tile {
            kind: TileKind::Hashes { level: 7 },
            index: u64::MAX,
            width: 256,
        },
        Tile {
            kind: TileKind::Entries,
            index: u64::MAX,
            width: 256,
        },
    ] {
        assert_eq!(pg.ledger_tile(&t).unwrap(), None, "{}", t.path());
        assert_eq!(lite.ledger_tile(&t).unwrap(), None, "{}", t.path());
    }
    // The independent verifier, from tiles another handle serves.
    let other = crate::Backend::new_handle(&pg).unwrap();
    let (n, root) = *heads.last().unwrap();
    let source = |path: &str| other.ledger_tile(&Tile::parse_path(path).ok()?).ok()?;
    let tiled = TiledReader::new(n, root, &source);
    assert_eq!(tiled.root().unwrap(), root);
    assert_eq!(
        tiled.inclusion_proof(700).unwrap(),
        pg.ledger_inclusion_proof(700, n).unwrap().1
    );
    assert_eq!(
        tiled.consistency_proof(300).unwrap(),
        pg.ledger_consistency_proof(300, n).unwrap()
    );
    // The same records about an object, by needle, limited alike.
    let needle = record(1, 700).object_id;
    for (seqs, limit) in [(vec![], 10), (vec![3], 10), (vec![], 0)] {
        assert_eq!(
            pg.ledger_entries_about(&seqs, needle.as_bytes(), limit)
                .unwrap(),
            lite.ledger_entries_about(&seqs, needle.as_bytes(), limit)
                .unwrap(),
        );
    }
    let (some, more) = pg.ledger_entries_about(&[], b"indicator--", 5).unwrap();
    assert_eq!((some.len(), more), (5, true));
    assert_eq!(
        some.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    // The check: the same roots at the sizes asked for, no problem.
    let sizes: Vec<u64> = heads.iter().map(|h| h.0).chain([size + 5]).collect();
    let (a, b) = (
        pg.ledger_check_at(&sizes).unwrap(),
        lite.ledger_check_at(&sizes).unwrap(),
    );
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
    assert_eq!((a.size, a.root, &a.roots), (b.size, b.root, &b.roots));
    assert_eq!(a.roots, heads);
}

/// Three connections appending at once, each under the sequencer lock,
/// give one log without gaps or repeats whose check passes.
#[test]
fn concurrent_appends_are_gap_free() {
    let Some((pg, url)) = pg_store("concurrent_appends_are_gap_free") else {
        return;
    };
    let start = std::sync::Arc::new(std::sync::Barrier::new(3));
    let writers: Vec<_> = (1..=3u8)
        .map(|tag| {
            let url = url.clone();
            let start = std::sync::Arc::clone(&start);
            std::thread::spawn(move || {
                let mut client = crate::pg::connect(&url, "test").unwrap();
                start.wait();
                let mut sent = Vec::new();
                for round in 0..25u64 {
                    let n = 1 + (round * 7 + u64::from(tag)) % 40;
                    let leaves: Vec<(Vec<u8>, Option<i64>)> = (0..n)
                        .map(|k| (record(tag, round * 100 + k).to_leaf_bytes(), None))
                        .collect();
                    append_tx(&mut client, &leaves).unwrap();
                    sent.extend(leaves.into_iter().map(|(b, _)| b));
                }
                sent
            })
        })
        .collect();
    let mut sent: Vec<Vec<u8>> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let size = pg.ledger_size().unwrap();
    assert_eq!(size, sent.len() as u64);
    let entries = pg.ledger_entries(0, size).unwrap();
    assert!(entries.iter().enumerate().all(|(i, e)| e.index == i as u64));
    let mut logged: Vec<Vec<u8>> = entries.iter().map(|e| e.leaf.clone()).collect();
    let expected = append_leaves(&[][..], 0, &logged).unwrap().root;
    logged.sort();
    sent.sort();
    assert_eq!(logged, sent, "every leaf once");
    let check = pg.ledger_check().unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!((check.size, check.root), (size, expected));
    assert_eq!(pg.ledger_head().unwrap(), (size, expected));
}

/// A leaf holding a newline is refused before anything is written; so
/// is an append at a size that is not the log's.
#[test]
fn bad_appends_are_refused() {
    let Some((pg, _)) = pg_store("bad_appends_are_refused") else {
        return;
    };
    let ok = record(1, 1).to_leaf_bytes();
    append_tx(&mut pg.client(), &[(ok.clone(), None)]).unwrap();
    let e = append_tx(
        &mut pg.client(),
        &[(ok.clone(), None), (b"{\"a\":\n1}".to_vec(), None)],
    )
    .unwrap_err();
    assert!(e.to_string().contains("leaf 2 contains a newline"), "{e}");
    assert_eq!(pg.ledger_size().unwrap(), 1);
    let mut client = pg.client();
    let mut tx = client.transaction().unwrap();
    let leaf = [PgLeaf {
        bytes: &ok,
        hash: leaf_hash(&ok),
        seq: None,
    }];
    // Behind the log: leaf 0 is there already.
    assert!(matches!(
        append(&mut tx, "test", 0, &leaf),
        Err(StoreError::Postgres { .. })
    ));
    drop(tx);
    let mut tx = client.transaction().unwrap();
    // Past it: its right edge is not stored.
    let e = append(&mut tx, "test", 5, &leaf).unwrap_err();
    assert!(matches!(e, StoreError::PgLedger { .. }), "{e:?}");
    drop(tx);
    drop(client);
    assert_eq!(pg.ledger_check().unwrap().problems, vec![]);
}

/// The check names a changed leaf, a changed or missing stored hash,
/// extra hashes, a size that does not add up, and an object whose bytes
/// no longer match its record.
#[test]
fn check_finds_tampering() {
    let Some((pg, url)) = pg_store("check_finds_tampering") else {
        return;
    };
    let leaves: Vec<(Vec<u8>, Option<i64>)> = (0..600)
        .map(|i| (record(2, i).to_leaf_bytes(), (i == 42).then_some(7)))
        .collect();
    append_tx(&mut pg.client(), &leaves).unwrap();
    assert_eq!(pg.ledger_check().unwrap().problems, vec![]);
    let db = url.rsplit("dbname=").next().unwrap().to_owned();
    let cluster = accord_testkit::postgres::cluster("check_finds_tampering").unwrap();
    let problems = |sql: &str| {
        cluster.psql(&db, &format!("BEGIN; {sql}; COMMIT;"));
        let check = pg.ledger_check().unwrap();
        check
            .problems
            .iter()
            .map(|p| (p.index, p.reason.clone()))
            .collect::<Vec<_>>()
    };
    // An object whose stored bytes are not the ones recorded.
    let p = problems(
        "INSERT INTO collections (name) VALUES ('indicators');
         INSERT INTO objects (seq, coll_id, id, type, spec_version, version, date_added,
                              origin, markings, sha256, raw)
         VALUES (7, 1, 'indicator--x', 'indicator', '2.1', 'v', 1, 'local', '[]', '\\x00', '{}')",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, 42);
    assert!(p[0].1.contains("no longer has the bytes recorded"), "{p:?}");
    cluster.psql(&db, "DELETE FROM objects");
    // A changed leaf.
    let p = problems("UPDATE ledger_leaves SET leaf = leaf || ' '::bytea WHERE idx = 300");
    assert!(
        p.iter()
            .any(|(i, r)| *i == 300 && r.contains("not a canonical record")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|(i, r)| *i == 300 && r.contains("does not hash")),
        "{p:?}"
    );
    cluster.psql(
        &db,
        "UPDATE ledger_leaves SET leaf = substring(leaf from 1 for length(leaf) - 1) WHERE idx = 300",
    );
    assert_eq!(pg.ledger_check().unwrap().problems, vec![]);
    // A changed subtree hash (level 1 over leaves 10 and 11).
    let idx = accord_ledger::stored_hash_index(1, 5);
    let p = problems(&format!(
        "UPDATE ledger_hashes SET hash = sha256(hash) WHERE idx = {idx}"
    ));
    assert_eq!(
        p,
        vec![(
            11,
            "a stored subtree hash differs from the recomputed one".to_owned()
        )]
    );
    // Put the right one back.
    let right = append_leaves(
        &[][..],
        0,
        &leaves.iter().map(|l| l.0.clone()).collect::<Vec<_>>(),
    )
    .unwrap()
    .hashes[usize::try_from(idx).unwrap()];
    cluster.psql(
        &db,
        &format!(
            "UPDATE ledger_hashes SET hash = '\\x{}' WHERE idx = {idx}",
            right.to_hex()
        ),
    );
    assert_eq!(pg.ledger_check().unwrap().problems, vec![]);
    // A stored hash of the wrong length shows as a hash that differs.
    let p = problems(&format!(
        "UPDATE ledger_hashes SET hash = '\\x00' WHERE idx = {}",
        accord_ledger::stored_hash_index(0, 100)
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, 100);
    cluster.psql(
        &db,
        &format!(
            "UPDATE ledger_hashes SET hash = '\\x{}' WHERE idx = {}",
            leaf_hash(&leaves[100].0).to_hex(),
            accord_ledger::stored_hash_index(0, 100)
        ),
    );
    // A missing stored hash stops the check at the leaf that lacks it.
    let p = problems(&format!(
        "DELETE FROM ledger_hashes WHERE idx = {}",
        accord_ledger::stored_hash_index(0, 513)
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, 513);
    cluster.psql(
        &db,
        &format!(
            "INSERT INTO ledger_hashes VALUES ({}, '\\x{}')",
            accord_ledger::stored_hash_index(0, 513),
            leaf_hash(&leaves[513].0).to_hex()
        ),
    );
    assert_eq!(pg.ledger_check().unwrap().problems, vec![]);
    // A missing leaf: the size does not add up, and its hashes are past
    // the leaves.
    let p = problems("DELETE FROM ledger_leaves WHERE idx = 599");
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].1.contains("has 600 leaves, ledger_leaves holds 599"),
        "{p:?}"
    );
    assert!(p[1].1.contains("stored hashes past"), "{p:?}");
    let p = problems("UPDATE accord_meta SET value = 599 WHERE key = 'ledger_size'");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].1.contains("stored hashes past"), "{p:?}");
    // A gap in the middle stops the check there.
    let p = problems("DELETE FROM ledger_leaves WHERE idx = 250");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        p[0],
        (
            250,
            "leaf 250 is missing (next stored leaf is 251)".to_owned()
        )
    );
}
