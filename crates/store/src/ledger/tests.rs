//! The chunked layout: migration from v3 rows, appends in pieces.

use super::*;
use accord_ledger::{HashReader, append_leaves, tree_root};
use rusqlite::params;

/// A log written in the v3 layout (one row per leaf) reads the same
/// after the v4 migration moved it into chunks.
#[test]
fn v3_rows_migrate_into_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.sqlite");
    let mut conn = Connection::open(&path).unwrap();
    crate::schema::migrate(&mut conn, &path, 3).unwrap();
    let size = 700u64;
    let leaves: Vec<Vec<u8>> = (0..size)
        .map(|i| format!("{{\"leaf\":{i}}}").into_bytes())
        .collect();
    let appended = append_leaves(&[][..], 0, &leaves).unwrap();
    let mut at = 0usize;
    for (i, leaf) in leaves.iter().enumerate() {
        let n = 1 + (i as u64).trailing_ones() as usize;
        let blob: Vec<u8> = appended.hashes[at..at + n]
            .iter()
            .flat_map(|h| h.0)
            .collect();
        at += n;
        conn.execute(
            "INSERT INTO ledger (idx, leaf, hashes, seq) VALUES (?1, ?2, ?3, ?4)",
            params![i as i64, leaf, blob, (i % 3 != 0).then_some(i as i64 + 1)],
        )
        .unwrap();
    }
    crate::schema::migrate(&mut conn, &path, 4).unwrap();
    assert_eq!(size_of(&conn).unwrap(), size);
    let all: Vec<u64> = (0..appended.hashes.len() as u64).collect();
    assert_eq!(
        ConnHashes::new(&conn).read_hashes(&all).unwrap(),
        appended.hashes
    );
    // Chunks stop at 256-leaf boundaries.
    let firsts: Vec<i64> = conn
        .prepare("SELECT first FROM ledger_chunks ORDER BY first")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(firsts, vec![0, 256, 512]);
    let upper: i64 = conn
        .query_row("SELECT count(*) FROM ledger_upper", [], |r| r.get(0))
        .unwrap();
    assert_eq!(upper, 3, "levels 8 (twice) and 9");
    assert!(
        conn.query_row(
            "SELECT 1 FROM sqlite_schema WHERE name = 'ledger'",
            [],
            |_| Ok(())
        )
        .optional()
        .unwrap()
        .is_none()
    );
}

/// Appends in pieces of every awkward size land in chunks that never
/// cross a 256-leaf block and read back exactly.
#[test]
fn appends_in_pieces_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.sqlite");
    let mut conn = Connection::open(&path).unwrap();
    crate::schema::migrate(&mut conn, &path, crate::schema::LATEST).unwrap();
    let mut all_leaves: Vec<Vec<u8>> = Vec::new();
    let mut size = 0u64;
    for piece in [1usize, 2, 255, 3, 300, 1, 511, 40] {
        let leaves: Vec<Vec<u8>> = (0..piece)
            .map(|i| format!("{{\"n\":{}}}", size + i as u64).into_bytes())
            .collect();
        let new: Vec<NewLeaf<'_>> = leaves
            .iter()
            .enumerate()
            .map(|(i, l)| NewLeaf {
                bytes: l,
                hash: accord_ledger::leaf_hash(l),
                seq: Some(size as i64 + i as i64 + 1),
                rebuild: false,
            })
            .collect();
        let tx = conn.unchecked_transaction().unwrap();
        let a = append(&tx, size, &new).unwrap();
        tx.commit().unwrap();
        size = a.new_size;
        all_leaves.extend(leaves);
    }
    assert_eq!(size_of(&conn).unwrap(), size);
    let expected = append_leaves(&[][..], 0, &all_leaves).unwrap();
    let all: Vec<u64> = (0..expected.hashes.len() as u64).collect();
    assert_eq!(
        ConnHashes::new(&conn).read_hashes(&all).unwrap(),
        expected.hashes
    );
    assert_eq!(
        tree_root(&ConnHashes::new(&conn), size).unwrap(),
        tree_root(&expected.hashes[..], size).unwrap()
    );
    let crossing: i64 = conn
        .query_row(
            "SELECT count(*) FROM ledger_chunks WHERE first / 256 != (first + n - 1) / 256",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(crossing, 0);
    assert!(
        ConnHashes::new(&conn)
            .read_hashes(&[expected.hashes.len() as u64])
            .is_err()
    );
}
