//! The PostgreSQL log through the public traits, held to the SQLite log:
//! an empty log answers alike, and the small tables (checkpoints,
//! cosignatures, witnessed checkpoints, alerts) keep the same guarantees
//! (idempotent per size, a witness key's line replaced, alerts only
//! added), seen from another handle. Appends go through the writer and
//! are tested in the backend's unit tests (`pg::ledger::tests`). Each test
//! skips (one `skip:` line) without PostgreSQL.

use accord_ledger::{EMPTY_ROOT, Hash, Tile, TileKind};
use accord_stix::FixedClock;
use accord_store::pg::PgStore;
use accord_store::{Backend, LedgerRead, LedgerWrite, OpenOptions, SqliteStore, StoreError};
use std::sync::Arc;

/// Both backends, on the same fixed clock.
fn both(test: &str) -> Option<(PgStore, SqliteStore, Arc<FixedClock>, tempfile::TempDir)> {
    let url = accord_testkit::postgres::cluster(test)?.fresh_database();
    let clock = Arc::new(FixedClock::new(1_764_300_000_000_000));
    let opts = OpenOptions::new().clock(clock.clone());
    let pg = PgStore::connect(&url, &opts).expect("connecting");
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStore::open_with(dir.path(), &opts).unwrap();
    Some((pg, lite, clock, dir))
}

#[test]
fn an_empty_log_answers_like_sqlite() {
    let Some((pg, lite, _clock, _dir)) = both("an_empty_log_answers_like_sqlite") else {
        return;
    };
    assert_eq!(pg.ledger_size().unwrap(), 0);
    assert_eq!(pg.ledger_head().unwrap(), (0, EMPTY_ROOT));
    assert_eq!(pg.ledger_head().unwrap(), lite.ledger_head().unwrap());
    assert_eq!(pg.ledger_root(0).unwrap(), EMPTY_ROOT);
    assert_eq!(pg.ledger_entries(0, 10).unwrap(), vec![]);
    assert_eq!(
        pg.ledger_entries_about(&[1], b"x", 5).unwrap(),
        (vec![], false)
    );
    assert_eq!(
        pg.ledger_consistency_proof(0, 0).unwrap(),
        Vec::<Hash>::new()
    );
    for kind in [TileKind::Entries, TileKind::Hashes { level: 0 }] {
        let t = Tile {
            kind,
            index: 0,
            width: 1,
        };
        assert_eq!(pg.ledger_tile(&t).unwrap(), None);
        assert_eq!(lite.ledger_tile(&t).unwrap(), None);
    }
    let e = pg.ledger_root(1).unwrap_err();
    assert!(matches!(e, StoreError::PgLedger { .. }), "{e:?}");
    assert!(e.to_string().contains("the ledger root at size 1"), "{e}");
    let e = pg.ledger_inclusion_proof(0, 0).unwrap_err();
    assert!(
        e.to_string()
            .contains("leaf index 0 is not in a tree of size 0"),
        "{e}"
    );
    assert!(lite.ledger_root(1).is_err());
    let (a, b) = (
        pg.ledger_check_at(&[0, 3]).unwrap(),
        lite.ledger_check_at(&[0, 3]).unwrap(),
    );
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    assert_eq!((a.size, a.root, &a.roots), (b.size, b.root, &b.roots));
}

/// The same calls on both backends give the same answers, also read
/// through another handle of the PostgreSQL store.
#[test]
fn small_tables_match_sqlite() {
    let Some((pg, lite, clock, _dir)) = both("small_tables_match_sqlite") else {
        return;
    };
    let other = pg.new_handle().unwrap();
    let root = Hash([7; 32]);
    for store in [&pg as &dyn LedgerWrite, &lite] {
        clock.set_micros(1_764_300_000_000_000);
        store.ledger_save_checkpoint(10, b"note at 10").unwrap();
        clock.advance_micros(1_000_000);
        store.ledger_save_checkpoint(20, b"note at 20").unwrap();
        // Idempotent per size: the first note stays.
        store
            .ledger_save_checkpoint(10, b"another note at 10")
            .unwrap();
        store
            .ledger_add_cosignature(20, "w.b", 1, "— w.b AAAA")
            .unwrap();
        store
            .ledger_add_cosignature(20, "w.a", 9, "— w.a BBBB")
            .unwrap();
        // The same witness key's newer line replaces its older one.
        store
            .ledger_add_cosignature(20, "w.b", 1, "— w.b CCCC")
            .unwrap();
        store
            .ledger_add_cosignature(20, "w.b", 2, "— w.b DDDD")
            .unwrap();
        store
            .ledger_add_cosignature(10, "w.a", 9, "— w.a EEEE")
            .unwrap();
        store
            .ledger_save_witnessed("cert.b", 5, &root, b"b at 5")
            .unwrap();
        clock.advance_micros(1);
        store
            .ledger_save_witnessed("cert.b", 9, &root, b"b at 9")
            .unwrap();
        store
            .ledger_save_witnessed("cert.b", 5, &root, b"b at 5 again")
            .unwrap();
        store
            .ledger_save_witnessed("cert.c", 3, &root, b"c at 3")
            .unwrap();
        store
            .ledger_add_alert(
                "cert.b",
                "split-view",
                "two roots",
                Some(b"one"),
                Some(b"two"),
            )
            .unwrap();
        store
            .ledger_add_alert("cert.c", "audit", "no evidence", None, None)
            .unwrap();
    }
    for read in [&pg as &dyn LedgerRead, &*other] {
        assert_eq!(
            read.ledger_latest_checkpoint().unwrap(),
            Some((20, b"note at 20".to_vec()))
        );
        assert_eq!(
            read.ledger_latest_checkpoint().unwrap(),
            lite.ledger_latest_checkpoint().unwrap()
        );
        assert_eq!(
            read.ledger_checkpoint_at(10).unwrap(),
            Some(b"note at 10".to_vec())
        );
        assert_eq!(read.ledger_checkpoint_at(11).unwrap(), None);
        assert_eq!(read.ledger_checkpoint_at(u64::MAX).unwrap(), None);
        let history = read.ledger_checkpoint_history(10).unwrap();
        assert_eq!(
            history,
            vec![
                (20, 1_764_300_001_000_000, 3),
                (10, 1_764_300_000_000_000, 1)
            ]
        );
        assert_eq!(history, lite.ledger_checkpoint_history(10).unwrap());
        assert_eq!(read.ledger_checkpoint_history(1).unwrap().len(), 1);
        let cosigs = read.ledger_cosignatures(20).unwrap();
        assert_eq!(cosigs, vec!["— w.a BBBB", "— w.b CCCC", "— w.b DDDD"]);
        assert_eq!(cosigs, lite.ledger_cosignatures(20).unwrap());
        for (partner, size) in [
            ("cert.b", None),
            ("cert.b", Some(5)),
            ("cert.b", Some(6)),
            ("cert.c", None),
            ("cert.d", None),
        ] {
            assert_eq!(
                read.ledger_witnessed(partner, size).unwrap(),
                lite.ledger_witnessed(partner, size).unwrap(),
                "{partner} {size:?}"
            );
        }
        let w = read.ledger_witnessed("cert.b", None).unwrap().unwrap();
        assert_eq!((w.size, w.note.as_slice()), (9, &b"b at 9"[..]));
        let five = read.ledger_witnessed("cert.b", Some(5)).unwrap().unwrap();
        assert_eq!(five.note, b"b at 5");
        let alerts = read.ledger_alerts().unwrap();
        assert_eq!(alerts, lite.ledger_alerts().unwrap());
        assert_eq!(
            alerts.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>(),
            vec!["split-view", "audit"]
        );
        assert_eq!(alerts[0].first.as_deref(), Some(&b"one"[..]));
    }
    let e = pg.ledger_save_checkpoint(u64::MAX, b"x").unwrap_err();
    assert!(e.to_string().contains("saving a checkpoint"), "{e}");
}
