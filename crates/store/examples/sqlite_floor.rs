//! SQLite's own insert rate for Accord's `objects` table: the ceiling of
//! durable ingest with this store, whatever the rest of Accord costs.
//!
//! It opens a fresh store through the public API (so the schema is the
//! real one, indexes included), closes it, and then inserts pre-built rows
//! straight through rusqlite on one thread with the writer thread's own
//! INSERT statement, in transactions of `ROWS_PER_TXN` rows (default 25,000,
//! about the writer's mean group in a bulk ingest): no validation, no ledger,
//! no duplicate check, nothing else running. Every column value is
//! computed before the clock starts.
//!
//! ```text
//! cargo run --release -p accord-store --example sqlite_floor -- bench/data/indicators-1m.jsonl [ROWS_PER_TXN]
//! ```
//!
//! Three runs: `synchronous=NORMAL` with one fdatasync of the WAL after each
//! commit (what "durable" costs the writer when nothing overlaps it),
//! `synchronous=OFF` with no sync at all (SQLite's CPU alone), and, for
//! scale, the least any SQLite store of raw JSON looked up by id does: a
//! table of (seq, raw, id hash) with one index, no sync.
//!
//! With `FLOOR_VARIANTS=1` it also measures what each part of the row
//! costs (the narrow-row question), every one with `synchronous=OFF`: the
//! `objects` table without `objects_coll`, without `objects_coll_type`,
//! without both, and with `raw` moved to a table of its own
//! (`objects_raw (seq, raw)`), so the indexed row is narrow.

use accord_store::SqliteStore;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use std::io::BufRead;
use std::time::Instant;

const BATCH: usize = 25_000;

struct Row {
    id: String,
    type_name: String,
    spec_version: String,
    created: Option<String>,
    modified: Option<String>,
    origin: String,
    markings: String,
    sha256: [u8; 32],
    raw: String,
    idh: i64,
    ledger_src: String,
}

fn row(raw: String) -> Row {
    let v: serde_json::Value = serde_json::from_str(&raw).expect("a JSON object per line");
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let id = s("id").expect("an id");
    let idh = accord_store::object_id_hash(&id);
    let markings = v
        .get("object_marking_refs")
        .and_then(|m| m.as_array())
        .map(|m| {
            m.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    Row {
        type_name: s("type").expect("a type"),
        spec_version: s("spec_version").unwrap_or_else(|| "2.1".into()),
        created: s("created"),
        modified: s("modified"),
        origin: "local".into(),
        markings,
        sha256: Sha256::digest(raw.as_bytes()).into(),
        idh,
        ledger_src: r#"["local",null,"2026-11-28T10:00:00.000000Z"]"#.into(),
        id,
        raw,
    }
}

/// Rows per second, counting the insert thread's time only: the time of
/// the checkpoints (which the writer leaves to another thread) is left out.
/// The shape of the table one run inserts into.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// The store's own `objects` table and indexes.
    Objects,
    /// `objects` without the `objects_coll` index.
    NoCollIndex,
    /// `objects` without the `objects_coll_type` index.
    NoCollTypeIndex,
    /// `objects` without either collection index (only `objects_idh`).
    NoCollIndexes,
    /// `objects` with an empty `raw`, the text in `objects_raw (seq, raw)`.
    RawApart,
    /// (seq, raw, idh) with one index.
    Minimal,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Objects => "objects",
            Shape::NoCollIndex => "objects without objects_coll",
            Shape::NoCollTypeIndex => "objects without objects_coll_type",
            Shape::NoCollIndexes => "objects without either collection index",
            Shape::RawApart => "objects with raw in a table of its own",
            Shape::Minimal => "(seq, raw, idh) + 1 index",
        }
    }

    fn setup(self) -> &'static str {
        match self {
            Shape::NoCollIndex => "DROP INDEX objects_coll;",
            Shape::NoCollTypeIndex => "DROP INDEX objects_coll_type;",
            Shape::NoCollIndexes => "DROP INDEX objects_coll; DROP INDEX objects_coll_type;",
            Shape::RawApart => {
                "CREATE TABLE objects_raw (seq INTEGER PRIMARY KEY, raw TEXT NOT NULL);"
            }
            Shape::Objects | Shape::Minimal => "",
        }
    }
}

fn run(dir: &std::path::Path, rows: &[Row], batch: usize, synchronous: &str, shape: Shape) -> f64 {
    drop(SqliteStore::open(dir).expect("a fresh store"));
    let db = dir.join(accord_store::DB_FILE_NAME);
    let conn = Connection::open(&db).expect("open the store's database");
    conn.pragma_update(None, "synchronous", synchronous)
        .expect("synchronous");
    conn.pragma_update(None, "cache_size", -131_072)
        .expect("cache_size");
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .expect("wal_autocheckpoint");
    conn.execute("INSERT INTO collections (name) VALUES ('floor')", [])
        .expect("a collection");
    let coll = conn.last_insert_rowid();
    conn.execute_batch(
        "CREATE TABLE floor_min (seq INTEGER PRIMARY KEY, raw TEXT NOT NULL, idh INTEGER NOT NULL);
         CREATE INDEX floor_min_idh ON floor_min (idh);",
    )
    .expect("the minimal table");
    conn.execute_batch(shape.setup())
        .expect("the shape's tables");
    let minimal = shape == Shape::Minimal;
    let raw_apart = shape == Shape::RawApart;
    let wal = std::fs::OpenOptions::new()
        .read(true)
        .open(db.with_extension("sqlite-wal"))
        .expect("the WAL");
    let start = Instant::now();
    let mut checkpointing = std::time::Duration::ZERO;
    let mut seq = 0i64;
    for chunk in rows.chunks(batch) {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        {
            let mut insert = conn
                .prepare_cached(accord_store::OBJECT_INSERT_SQL)
                .expect("prepare");
            let mut insert_min = conn
                .prepare_cached("INSERT INTO floor_min (seq, raw, idh) VALUES (?1, ?2, ?3)")
                .expect("prepare");
            let mut insert_raw = raw_apart.then(|| {
                conn.prepare_cached("INSERT INTO objects_raw (seq, raw) VALUES (?1, ?2)")
                    .expect("prepare")
            });
            for r in chunk {
                seq += 1;
                if minimal {
                    insert_min
                        .execute(params![seq, r.raw, r.idh])
                        .expect("insert");
                    continue;
                }
                insert
                    .execute(params![
                        coll,
                        r.id,
                        r.type_name,
                        r.spec_version,
                        r.created,
                        r.modified,
                        r.modified,
                        seq,
                        r.origin,
                        r.markings,
                        &r.sha256[..],
                        if raw_apart { "" } else { r.raw.as_str() },
                        r.idh,
                        seq,
                        r.ledger_src,
                    ])
                    .expect("insert");
                if let Some(insert_raw) = insert_raw.as_mut() {
                    insert_raw.execute(params![seq, r.raw]).expect("insert");
                }
            }
        }
        conn.execute_batch("COMMIT").expect("commit");
        if synchronous != "OFF" {
            wal.sync_data().expect("fdatasync the WAL");
        }
        // Keep the WAL bounded as the writer does, and make it start over
        // (RESTART, not TRUNCATE): later commits write over the WAL's
        // pages, which the OS still caches with their blocks allocated.
        // Truncating it cost this loop about a tenth of its rate, which a
        // floor must not pay.
        if seq % 200_000 < chunk.len() as i64 {
            let t = Instant::now();
            conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))
                .expect("checkpoint");
            checkpointing += t.elapsed();
        }
    }
    rows.len() as f64 / (start.elapsed() - checkpointing).as_secs_f64()
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: sqlite_floor FILE.jsonl [ROWS_PER_TXN] (one STIX object a line)");
    let batch: usize = std::env::args()
        .nth(2)
        .map_or(BATCH, |b| b.parse().expect("ROWS_PER_TXN is a number"));
    let file = std::fs::File::open(&path).expect("open the input");
    let rows: Vec<Row> = std::io::BufReader::new(file)
        .lines()
        .map(|l| row(l.expect("read a line")))
        .collect();
    eprintln!("{} rows prepared from {path}", rows.len());
    let mut runs = vec![
        ("NORMAL", Shape::Objects),
        ("OFF", Shape::Objects),
        ("OFF", Shape::Minimal),
    ];
    if std::env::var_os("FLOOR_VARIANTS").is_some() {
        for shape in [
            Shape::NoCollIndex,
            Shape::NoCollTypeIndex,
            Shape::NoCollIndexes,
            Shape::RawApart,
        ] {
            runs.push(("OFF", shape));
        }
    }
    for (synchronous, shape) in runs {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let rate = run(dir.path(), &rows, batch, synchronous, shape);
        let table = shape.name();
        println!(
            "sqlite floor, {table}, synchronous={synchronous}: {} rows in transactions of {batch}: {rate:.0} rows/s",
            rows.len()
        );
    }
}
