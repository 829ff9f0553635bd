//! A client that has only the signed checkpoint and the tiles served over
//! plain GETs computes the same roots and proofs as the log, and detects
//! tampered tiles and entry bundles. Also: proofs read O(log n) hashes.

use std::cell::Cell;
use std::collections::HashMap;

use accord_ledger::tiles::{
    entry_bundle, entry_bundle_redacted, entry_bundles_for_growth, redacted_entry, tile_bytes,
    tiles_for_growth,
};
use accord_ledger::{
    BundleEntry, Checkpoint, Error, Hash, HashReader, LogSigner, MemoryLog, NotStored, TileKind,
    TiledReader, consistency_proof, inclusion_proof, leaf_hash, tree_root, verify_consistency,
    verify_inclusion,
};

/// What a log would serve: every tile and bundle published as it grew.
fn publish(log: &MemoryLog, sizes: &[u64], served: &mut HashMap<String, Vec<u8>>) {
    let mut old = 0;
    for &size in sizes {
        for t in tiles_for_growth(old, size) {
            served.insert(t.path(), tile_bytes(log, &t).unwrap());
        }
        for b in entry_bundles_for_growth(old, size) {
            let start = b.start_leaf();
            let entries: Vec<&[u8]> = (start..start + u64::from(b.width))
                .map(|i| log.entry(i).unwrap())
                .collect();
            served.insert(b.path(), entry_bundle(&entries).unwrap());
        }
        old = size;
    }
}

fn big_log(n: u64) -> MemoryLog {
    let mut log = MemoryLog::new();
    let leaves: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
    for chunk in leaves.chunks(997) {
        log.append(chunk).unwrap();
    }
    log
}

#[test]
fn proofs_from_tiles_equal_proofs_from_the_log() {
    let n = 70_000;
    let log = big_log(n);
    let mut served = HashMap::new();
    publish(&log, &[1000, 65_536, 69_999, n], &mut served);

    let key = LogSigner::from_seed("accord.example/ledger", &[5; 32]).unwrap();
    let cp = key
        .sign(&Checkpoint::new("accord.example/ledger", n, log.root().unwrap()).unwrap())
        .unwrap();
    // The client: checkpoint verified with the log's key, then tiles only.
    let cp = key
        .verifier()
        .open(&cp.note, "accord.example/ledger")
        .unwrap();
    let client = TiledReader::new(cp.checkpoint.size, cp.checkpoint.root, &served);
    assert_eq!(client.root().unwrap(), cp.checkpoint.root);
    for index in [0, 1, 255, 256, 4097, 65_535, 65_536, 69_999] {
        let p = client.inclusion_proof(index).unwrap();
        assert_eq!(p, inclusion_proof(&log, index, n).unwrap(), "index {index}");
        let leaf = leaf_hash(log.entry(index).unwrap());
        verify_inclusion(&leaf, index, n, &p, &cp.checkpoint.root).unwrap();
    }
    for old in [1, 1000, 65_536, 69_999, n] {
        let p = client.consistency_proof(old).unwrap();
        assert_eq!(p, consistency_proof(&log, old, n).unwrap(), "old {old}");
        let old_root = tree_root(&log, old).unwrap();
        verify_consistency(old, n, &old_root, &cp.checkpoint.root, &p).unwrap();
    }
    // Entry bundles check against the tree.
    for b in entry_bundles_for_growth(0, n) {
        let bytes = &served[&b.path()];
        let entries = client.verify_entry_bundle(&b, bytes).unwrap();
        assert_eq!(entries[0].leaf(), Some(log.entry(b.start_leaf()).unwrap()));
    }
    // An older checkpoint's view (a partial tile published then) works too.
    let client = TiledReader::new(69_999, tree_root(&log, 69_999).unwrap(), &served);
    assert_eq!(
        client.inclusion_proof(12_345).unwrap(),
        inclusion_proof(&log, 12_345, 69_999).unwrap()
    );
}

#[test]
fn missing_tiles_are_listed_and_tampering_is_caught() {
    let n = 5000;
    let log = big_log(n);
    let mut served = HashMap::new();
    publish(&log, &[n], &mut served);
    let root = log.root().unwrap();

    // A client that starts empty learns which tiles to GET.
    let mut cache: HashMap<String, Vec<u8>> = HashMap::new();
    let mut rounds = 0;
    let proof = loop {
        rounds += 1;
        match TiledReader::new(n, root, &cache).inclusion_proof(1234) {
            Ok(p) => break p,
            Err(Error::TilesMissing { paths }) => {
                for p in paths {
                    cache.insert(p.clone(), served[&p].clone());
                }
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(rounds, 2, "one round of fetches is enough");
    assert_eq!(proof, inclusion_proof(&log, 1234, n).unwrap());

    // A flipped bit in any tile the proof uses is caught.
    for path in cache.keys() {
        let mut bad = served.clone();
        bad.get_mut(path).unwrap()[7] ^= 0x20;
        let r = TiledReader::new(n, root, &bad).inclusion_proof(1234);
        assert!(matches!(r, Err(Error::Tile { .. })), "{path}: {r:?}");
    }
    // A tile longer (or shorter) than a tile of its width is refused by
    // name before its hashes are used, even with other tiles missing.
    for path in cache.keys() {
        for delta in [32usize, 1] {
            let mut bad = served.clone();
            bad.get_mut(path).unwrap().extend(vec![0u8; delta]);
            let r = TiledReader::new(n, root, &bad).inclusion_proof(1234);
            let Err(Error::Tile { reason, .. }) = &r else {
                panic!("{path}: {r:?}")
            };
            assert!(reason.contains(&format!("{path} is ")), "{reason}");
        }
        let mut bad = cache.clone();
        bad.get_mut(path).unwrap().extend(vec![0u8; 8192]);
        bad.retain(|p, _| p == path);
        let r = TiledReader::new(n, root, &bad).inclusion_proof(1234);
        assert!(
            matches!(&r, Err(Error::Tile { reason, .. }) if reason.contains("may hold")),
            "{path}: {r:?}"
        );
    }
    // A wrong root is caught.
    let mut wrong = root;
    wrong.0[0] ^= 1;
    assert!(TiledReader::new(n, wrong, &served).root().is_err());
    // A tampered entry bundle is caught.
    let b = entry_bundles_for_growth(0, n)[3];
    let mut bytes = served[&b.path()].clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let e = TiledReader::new(n, root, &served)
        .verify_entry_bundle(&b, &bytes)
        .unwrap_err();
    assert!(e.to_string().contains("does not hash"), "{e}");
    assert_eq!(b.kind, TileKind::Entries);

    // A forged bundle served with a level-0 tile forged to match it is
    // caught too: the full tile must hash to its entry in its parent tile.
    // (tlog_tiles' TileHashReader alone let this through; see tiles.rs.)
    let b = entry_bundles_for_growth(0, n)[4];
    let mut forged_entries: Vec<Vec<u8>> = (0..256u64)
        .map(|i| log.entry(b.start_leaf() + i).unwrap().to_vec())
        .collect();
    forged_entries[1234 - 1024] = b"forged".to_vec();
    let forged_bundle = entry_bundle(&forged_entries).unwrap();
    let forged_tile: Vec<u8> = forged_entries.iter().flat_map(|e| leaf_hash(e).0).collect();
    let mut bad = served.clone();
    bad.insert("tile/0/004".into(), forged_tile);
    let r = TiledReader::new(n, root, &bad).verify_entry_bundle(&b, &forged_bundle);
    assert!(matches!(r, Err(Error::Tile { .. })), "{r:?}");
}

#[test]
fn redacted_entries_verify_and_a_false_leaf_hash_is_caught() {
    let n = 600;
    let log = big_log(n);
    let mut served = HashMap::new();
    publish(&log, &[n], &mut served);
    let root = log.root().unwrap();
    // The second bundle, every third entry shown.
    let b = entry_bundles_for_growth(0, n)[1];
    let start = b.start_leaf();
    let entries: Vec<&[u8]> = (start..start + u64::from(b.width))
        .map(|i| log.entry(i).unwrap())
        .collect();
    let redacted = entry_bundle_redacted(&entries, |i, _| i % 3 == 0).unwrap();
    for shown in [0usize, 3, 255] {
        let leaf = String::from_utf8_lossy(entries[shown]).into_owned();
        assert!(String::from_utf8_lossy(&redacted).contains(&leaf));
    }
    assert!(!String::from_utf8_lossy(&redacted).contains(&format!("entry {}", start + 1)));
    let client = TiledReader::new(n, root, &served);
    let got = client.verify_entry_bundle(&b, &redacted).unwrap();
    assert_eq!(got.len(), 256);
    assert_eq!(got.iter().filter(|e| e.is_redacted()).count(), 256 - 86);
    for (i, e) in got.iter().enumerate() {
        assert_eq!(e.leaf_hash(), leaf_hash(entries[i]), "entry {i}");
        if i % 3 == 0 {
            assert_eq!(*e, BundleEntry::Leaf(entries[i]));
        } else {
            assert_eq!(*e, BundleEntry::Redacted(leaf_hash(entries[i])));
        }
    }
    // A redacted entry that claims another leaf hash does not verify.
    let mut lying: Vec<Vec<u8>> = entries.iter().map(|e| e.to_vec()).collect();
    lying[7] = redacted_entry(&leaf_hash(b"something else"));
    let e = client
        .verify_entry_bundle(&b, &entry_bundle(&lying).unwrap())
        .unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "the leaf hash of redacted entry 7 does not hash to leaf {}",
            start + 7
        )),
        "{e}"
    );
}

/// Fake stored hashes for a tree too large to build: hash i is derived from
/// i. Counts reads.
struct Fake {
    calls: Cell<usize>,
    hashes: Cell<usize>,
}

impl HashReader for Fake {
    type Error = NotStored;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, NotStored> {
        self.calls.set(self.calls.get() + 1);
        self.hashes.set(self.hashes.get() + indexes.len());
        Ok(indexes
            .iter()
            .map(|&i| {
                let mut h = [0u8; 32];
                h[..8].copy_from_slice(&i.to_le_bytes());
                Hash(h)
            })
            .collect())
    }
}

#[test]
fn proofs_read_logarithmically_many_hashes() {
    for &size in &[1_000u64, 1_000_000, 100_000_000, 1 << 40, u64::MAX / 2] {
        let log2 = 64 - size.leading_zeros() as usize;
        for &index in &[0, size / 3, size - 1] {
            let f = Fake {
                calls: Cell::new(0),
                hashes: Cell::new(0),
            };
            let p = inclusion_proof(&f, index, size).unwrap();
            assert_eq!(f.calls.get(), 1, "one read per proof");
            assert!(
                f.hashes.get() <= 2 * log2,
                "{size}/{index}: {} hashes",
                f.hashes.get()
            );
            assert!(p.len() <= log2);
        }
        for &old in &[1, size / 7 + 1, size - 1] {
            let f = Fake {
                calls: Cell::new(0),
                hashes: Cell::new(0),
            };
            consistency_proof(&f, old, size).unwrap();
            assert!(f.calls.get() <= 1);
            assert!(
                f.hashes.get() <= 3 * log2,
                "{old}..{size}: {} hashes",
                f.hashes.get()
            );
        }
        let f = Fake {
            calls: Cell::new(0),
            hashes: Cell::new(0),
        };
        tree_root(&f, size).unwrap();
        assert!(f.hashes.get() <= log2);
        // An append reads only the right edge, whatever the batch.
        let f = Fake {
            calls: Cell::new(0),
            hashes: Cell::new(0),
        };
        let leaves = vec![leaf_hash(b"x"); 1000];
        let a = accord_ledger::append_leaf_hashes(&f, size, leaves).unwrap();
        assert!(f.calls.get() <= 1 && f.hashes.get() <= log2);
        assert!(a.hashes.len() < 2 * 1000 + 64);
    }
}
