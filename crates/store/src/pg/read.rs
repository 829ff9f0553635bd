//! [`ObjectRead`](crate::ObjectRead) over PostgreSQL.
//!
//! Every read is ONE statement, so it reads one snapshot (read committed
//! takes one per statement), and each is an index range in `seq` order:
//! a collection's rows by `objects_coll (coll_id, seq)`; types by
//! `objects_coll_type (coll_id, type, seq)`, one range per (collection,
//! type) through a `LATERAL` subquery, merged by `seq`; ids by
//! `objects_id`. `added_after` becomes a `seq` bound found with one seek
//! of `objects_date_added` (`date_added` strictly grows with `seq`); the
//! collection's id comes from an uncorrelated subquery the planner runs
//! once and uses as an index bound. "first" and "last" are one seek of
//! `objects_key (coll_id, id, version)` per row. So a page costs about
//! `limit` rows per range, never the size of a collection.
//!
//! Text order is byte order (`COLLATE "C"`) wherever an order is
//! returned or compared, as in SQLite, whatever the database's locale.

use super::PgStore;
use crate::prepare::{content_hash, format_micros, format_nanos, to_micros};
use crate::{CollectionInfo, Page, Query, RawPage, StoreError, StoredObject};
use postgres::types::{ToSql, Type};
use std::cell::RefMut;

/// Sub-queries (collection × type ranges) past which a query by type
/// without a collection reads `seq` order with a filter instead.
const MAX_RANGES: i64 = 256;

/// Seqs per statement of [`ObjectRead::objects_by_seq`](crate::ObjectRead::objects_by_seq).
const BY_SEQ_CHUNK: usize = 10_000;

/// Rows fetched at a time by the integrity check's scan.
const CHECK_FETCH: i32 = 1_000;

/// The columns [`read_object`] reads from a subquery `x` with the
/// columns of [`INNER_COLUMNS`], joined with `collections c`.
const OBJECT_COLUMNS: &str = "x.seq, c.name, x.id, x.type, x.spec_version, x.created,
    x.modified, x.version, x.date_added, x.origin, x.markings, x.sha256, x.raw";

/// The columns of `objects o` a query's inner part returns.
const INNER_COLUMNS: &str = "o.seq, o.coll_id, o.id, o.type, o.spec_version, o.created,
    o.modified, o.version, o.date_added, o.origin, o.markings, o.sha256, o.raw";

/// A statement's parameters, numbered as they are added, with their
/// types: the statement then goes in one round trip (`query_typed`), not
/// three (prepare, execute, close).
#[derive(Default)]
struct Params(Vec<(Box<dyn ToSql + Sync>, Type)>);

/// A parameter's PostgreSQL type.
trait PgType: ToSql + Sync + 'static {
    const TYPE: Type;
}

impl PgType for i64 {
    const TYPE: Type = Type::INT8;
}

impl PgType for i32 {
    const TYPE: Type = Type::INT4;
}

impl PgType for String {
    const TYPE: Type = Type::TEXT;
}

impl PgType for Vec<String> {
    const TYPE: Type = Type::TEXT_ARRAY;
}

impl PgType for Vec<i64> {
    const TYPE: Type = Type::INT8_ARRAY;
}

impl Params {
    /// Adds `v`; returns its placeholder.
    fn add<T: PgType>(&mut self, v: T) -> String {
        self.0.push((Box::new(v), T::TYPE));
        format!("${}", self.0.len())
    }

    fn typed(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.0
            .iter()
            .map(|(b, t)| (&**b as &(dyn ToSql + Sync), t.clone()))
            .collect()
    }
}

/// A stored version from a row of [`OBJECT_COLUMNS`].
fn read_object(r: &postgres::Row) -> Result<StoredObject, postgres::Error> {
    let markings: String = r.try_get(10)?;
    let sha: Vec<u8> = r.try_get(11)?;
    let mut sha256 = [0u8; 32];
    if sha.len() == 32 {
        sha256.copy_from_slice(&sha);
    }
    Ok(StoredObject {
        seq: r.try_get(0)?,
        collection: r.try_get(1)?,
        id: r.try_get(2)?,
        type_name: r.try_get(3)?,
        spec_version: r.try_get(4)?,
        created: r.try_get(5)?,
        modified: r.try_get(6)?,
        version: r.try_get(7)?,
        date_added: format_micros(r.try_get(8)?),
        origin: r.try_get(9)?,
        markings: if markings.is_empty() {
            Vec::new()
        } else {
            markings.split(',').map(str::to_owned).collect()
        },
        sha256,
        raw: r.try_get(12)?,
    })
}

/// `limit` as a SQL `LIMIT`, plus one (to tell whether more match).
fn fetch_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1)
}

fn sorted_unique(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

impl PgStore {
    /// This handle's connection, opened again first when it broke (the
    /// server restarted): the read that found it broken failed, the next
    /// one connects again.
    pub(super) fn live_client(&self) -> Result<RefMut<'_, postgres::Client>, StoreError> {
        let mut c = self.client();
        if c.is_closed() {
            *c = super::connect(&self.conn_str, &self.server)?;
        }
        Ok(c)
    }

    /// Runs one statement, mapping each row with `read`.
    fn rows<T>(
        &self,
        sql: &str,
        ps: &Params,
        what: &str,
        read: impl Fn(&postgres::Row) -> Result<T, postgres::Error>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = self
            .live_client()?
            .query_typed(sql, &ps.typed())
            .map_err(self.err(what))?;
        rows.iter()
            .map(|r| read(r).map_err(self.err(what)))
            .collect()
    }

    /// The statement of [`ObjectRead::query`](crate::ObjectRead::query)
    /// (`raw_only`: `seq, raw` only); `None` when it selects nothing.
    fn query_sql(
        &self,
        q: &Query,
        limit: usize,
        raw_only: bool,
    ) -> Result<Option<(String, Params)>, StoreError> {
        let mut ps = Params::default();
        let fetch = ps.add(fetch_of(limit));
        let mut conds: Vec<String> = vec![format!("o.seq > {}", ps.add(q.after_seq))];
        let coll = match &q.collection {
            Some(name) => match self.coll_id(name)? {
                Some(c) => Some(c),
                None => return Ok(None),
            },
            None => None,
        };
        if let Some(c) = coll {
            conds.push(format!("o.coll_id = {}", ps.add(c)));
        }
        if let Some(t) = &q.added_after {
            // date_added grows with seq, so "added after t" is "seq at or
            // past the first object added after t" (one seek, and an index
            // bound); the date test itself is kept too.
            let p = ps.add(to_micros(t));
            conds.push(format!(
                "o.seq >= (SELECT seq FROM objects WHERE date_added > {p}
                           ORDER BY date_added LIMIT 1)"
            ));
            conds.push(format!("o.date_added > {p}"));
        }
        let ids = sorted_unique(&q.ids);
        let types = sorted_unique(&q.types);
        if !q.spec_versions.is_empty() {
            let p = ps.add(sorted_unique(&q.spec_versions));
            conds.push(format!("o.spec_version = ANY({p})"));
        }
        if !q.versions.all {
            let mut parts: Vec<String> = Vec::new();
            if !q.versions.at.is_empty() {
                let at: Vec<String> = q.versions.at.iter().map(format_nanos).collect();
                parts.push(format!("o.version = ANY({})", ps.add(at)));
            }
            // A newer (older) version of the same object, by one probe of
            // `objects_key` per row. `OFFSET 0` keeps the subquery a
            // per-row probe: PostgreSQL would otherwise be free to make it
            // an anti-join, which without statistics (a table just filled,
            // not yet analyzed) it does by hashing the whole collection
            // for every page.
            for (on, op) in [(q.versions.last, ">"), (q.versions.first, "<")] {
                if on {
                    parts.push(format!(
                        "NOT EXISTS (SELECT 1 FROM objects n
                           WHERE n.coll_id = o.coll_id AND n.id = o.id
                             AND n.version COLLATE \"C\" {op} o.version COLLATE \"C\"
                           OFFSET 0)"
                    ));
                }
            }
            if parts.is_empty() {
                // Selects no version at all.
                return Ok(None);
            }
            conds.push(format!("({})", parts.join(" OR ")));
        }
        let cols = if raw_only {
            "o.seq, o.raw"
        } else {
            INNER_COLUMNS
        };

        // The driver: one index range, or one per type (each with its
        // type as a parameter of its own, so the planner reads that type's
        // statistics) and, without a collection, per (collection, type).
        let mut per_type: Vec<String> = Vec::new();
        let mut per_collection = false;
        if !ids.is_empty() {
            conds.push(format!("o.id = ANY({})", ps.add(ids)));
            if !types.is_empty() {
                conds.push(format!("o.type = ANY({})", ps.add(types)));
            }
        } else if types.is_empty() {
        } else if coll.is_some() && types.len() as i64 <= MAX_RANGES {
            per_type = types.into_iter().map(|t| ps.add(t)).collect();
        } else if coll.is_none()
            && self.collection_count()?.saturating_mul(types.len() as i64) <= MAX_RANGES
        {
            per_type = types.into_iter().map(|t| ps.add(t)).collect();
            per_collection = true;
        } else {
            conds.push(format!("o.type = ANY({})", ps.add(types)));
        }
        let conds = conds.join(" AND ");
        let branch = |ty: Option<&str>| match (ty, per_collection) {
            (Some(t), true) => format!(
                "SELECT l.* FROM collections cc CROSS JOIN LATERAL (
                   SELECT {cols} FROM objects o
                   WHERE o.coll_id = cc.coll_id AND o.type = {t} AND {conds}
                   ORDER BY o.seq LIMIT {fetch}) l
                 ORDER BY l.seq LIMIT {fetch}"
            ),
            (Some(t), false) => format!(
                "SELECT {cols} FROM objects o WHERE o.type = {t} AND {conds}
                 ORDER BY o.seq LIMIT {fetch}"
            ),
            (None, _) => {
                format!("SELECT {cols} FROM objects o WHERE {conds} ORDER BY o.seq LIMIT {fetch}")
            }
        };
        let inner = match per_type.as_slice() {
            [] => branch(None),
            [one] => branch(Some(one)),
            many => format!(
                "SELECT u.* FROM ({}) u ORDER BY u.seq LIMIT {fetch}",
                many.iter()
                    .map(|t| format!("({})", branch(Some(t))))
                    .collect::<Vec<_>>()
                    .join(" UNION ALL ")
            ),
        };
        let sql = if raw_only {
            inner
        } else {
            format!(
                "SELECT {OBJECT_COLUMNS} FROM ({inner}) x
                 JOIN collections c ON c.coll_id = x.coll_id ORDER BY x.seq"
            )
        };
        Ok(Some((sql, ps)))
    }

    /// The id of the collection `name`, if it exists. Read by a statement
    /// of its own (an id never changes once committed: collections are
    /// never deleted), so that the next statement has it as a value, whose
    /// statistics the planner reads: a small collection beside a large one
    /// is then read by its index range, not found by filtering the table.
    fn coll_id(&self, name: &str) -> Result<Option<i32>, StoreError> {
        self.live_client()?
            .query_typed_opt(
                "SELECT coll_id FROM collections WHERE name = $1",
                &[(&name, Type::TEXT)],
            )
            .map(|r| r.map(|r| r.get(0)))
            .map_err(self.err(&format!("reading collection `{name}`")))
    }

    /// How many collections there are (only to choose a plan).
    fn collection_count(&self) -> Result<i64, StoreError> {
        self.live_client()?
            .query_typed_one("SELECT count(*) FROM collections", &[])
            .map(|r| r.get(0))
            .map_err(self.err("counting the collections"))
    }

    /// `EXPLAIN` of the statement of `q`, for tests.
    #[cfg(test)]
    pub(crate) fn explain_query(&self, q: &Query) -> String {
        let Some((sql, ps)) = self.query_sql(q, 10, false).expect("plan") else {
            return String::new();
        };
        self.client()
            .query_typed(&format!("EXPLAIN {sql}"), &ps.typed())
            .expect("explain")
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The integrity check's body, in one snapshot.
    fn check(&self, tx: &mut postgres::Transaction<'_>) -> Result<Vec<String>, postgres::Error> {
        const MAX_PROBLEMS: usize = 20;
        let mut problems = Vec::new();
        // The engine's own check, when the database has amcheck.
        let amcheck = tx
            .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'", &[])?
            .is_some();
        if amcheck {
            for r in tx.query(
                "SELECT i.indexrelid, i.indexrelid::regclass::text FROM pg_index i
                 JOIN pg_class t ON t.oid = i.indrelid
                 JOIN pg_class ic ON ic.oid = i.indexrelid
                 JOIN pg_am a ON a.oid = ic.relam
                 WHERE t.relname IN ('objects', 'collections')
                   AND t.relnamespace = current_schema()::regnamespace
                   AND a.amname = 'btree'
                 ORDER BY 2",
                &[],
            )? {
                let (oid, index): (u32, String) = (r.get(0), r.get(1));
                // Every heap tuple indexed, the B-tree's invariants held.
                if let Err(e) =
                    tx.execute("SELECT bt_index_check($1::oid::regclass, true)", &[&oid])
                {
                    problems.push(format!("index {index}: {}", db_message(&e)));
                    // The failed statement ended the transaction.
                    return Ok(problems);
                }
            }
        }
        for r in tx.query(
            "SELECT c.name, c.n_versions,
               (SELECT count(*) FROM objects o WHERE o.coll_id = c.coll_id)
             FROM collections c ORDER BY c.name COLLATE \"C\"",
            &[],
        )? {
            let (name, kept, real): (String, i64, i64) = (r.get(0), r.get(1), r.get(2));
            if kept != real {
                problems.push(format!(
                    "collection `{name}` counts {kept} versions but holds {real}"
                ));
            }
        }
        let duplicated: i64 = tx
            .query_one(
                "SELECT count(*) FROM (SELECT 1 FROM objects
                 GROUP BY coll_id, id, version HAVING count(*) > 1) d",
                &[],
            )?
            .get(0);
        if duplicated > 0 {
            problems.push(format!(
                "{duplicated} (collection, id, version) keys are stored more than once"
            ));
        }
        let unordered: i64 = tx
            .query_one(
                "SELECT count(*) FROM (SELECT date_added - lag(date_added) OVER (ORDER BY seq) AS d
                 FROM objects) w WHERE d <= 0",
                &[],
            )?
            .get(0);
        if unordered > 0 {
            problems.push(format!(
                "{unordered} objects have a date_added not after the previous seq's"
            ));
        }
        // The high-water marks never lag the rows they stand for.
        let r = tx.query_one(
            "SELECT coalesce((SELECT value FROM accord_meta WHERE key = 'seq_hwm'), -1),
                    coalesce((SELECT max(seq) FROM objects), 0),
                    coalesce((SELECT value FROM accord_meta WHERE key = 'last_date_added'), -1),
                    coalesce((SELECT max(date_added) FROM objects), 0)",
            &[],
        )?;
        let (hwm, max_seq, last_date, max_date): (i64, i64, i64, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        if hwm < max_seq {
            problems.push(format!(
                "accord_meta seq_hwm is {hwm} but an object has seq {max_seq}"
            ));
        }
        if last_date < max_date {
            problems.push(format!(
                "accord_meta last_date_added is {last_date} but an object was added at {max_date}"
            ));
        }
        let portal = tx.bind("SELECT seq, id, sha256, raw FROM objects ORDER BY seq", &[])?;
        'scan: loop {
            let rows = tx.query_portal(&portal, CHECK_FETCH)?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                if problems.len() >= MAX_PROBLEMS {
                    break 'scan;
                }
                let (seq, id, hash, raw): (i64, String, Vec<u8>, String) =
                    (r.get(0), r.get(1), r.get(2), r.get(3));
                if hash[..] != content_hash(&raw)[..] {
                    problems.push(format!(
                        "object `{id}` (seq {seq}): raw JSON does not match its SHA-256"
                    ));
                }
            }
        }
        problems.truncate(MAX_PROBLEMS);
        Ok(problems)
    }
}

/// The server's message of a database error, else the client's.
fn db_message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
}

impl crate::ObjectRead for PgStore {
    fn query_bounded(&self, q: &Query, limit: usize, max_bytes: usize) -> Result<Page, StoreError> {
        let Some((sql, mut ps)) = self.query_sql(q, limit, false)? else {
            return Ok(Page::default());
        };
        if max_bytes == usize::MAX {
            let mut objects = self.rows(&sql, &ps, "querying objects", read_object)?;
            let more = objects.len() > limit;
            objects.truncate(limit);
            return Ok(Page { objects, more });
        }
        // The server sends only the rows before the byte bound (the one
        // that reaches it included), and how many the page had without it.
        let max = ps.add(i64::try_from(max_bytes).unwrap_or(i64::MAX));
        let sql = format!(
            "SELECT w.* FROM (
               SELECT s.*,
                 sum(octet_length(s.raw)) OVER (ORDER BY s.seq ROWS UNBOUNDED PRECEDING)
                   - octet_length(s.raw) AS before_bytes,
                 count(*) OVER () AS n_all
               FROM ({sql}) s) w
             WHERE w.before_bytes < {max} ORDER BY w.seq"
        );
        let n_all = std::cell::Cell::new(0i64);
        let mut objects = self.rows(&sql, &ps, "querying objects", |r| {
            n_all.set(r.try_get("n_all")?);
            read_object(r)
        })?;
        let n_all = n_all.get();
        let more =
            n_all > i64::try_from(objects.len()).unwrap_or(i64::MAX) || objects.len() > limit;
        objects.truncate(limit);
        Ok(Page { objects, more })
    }

    fn query_raw(&self, q: &Query, limit: usize) -> Result<RawPage, StoreError> {
        let Some((sql, ps)) = self.query_sql(q, limit, true)? else {
            return Ok(RawPage::default());
        };
        let mut objects = self.rows(&sql, &ps, "querying objects (raw)", |r| {
            Ok((r.try_get(0)?, r.try_get(1)?))
        })?;
        let more = objects.len() > limit;
        objects.truncate(limit);
        Ok(RawPage { objects, more })
    }

    fn get_versions(&self, collection: &str, id: &str) -> Result<Vec<StoredObject>, StoreError> {
        let mut ps = Params::default();
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects x JOIN collections c ON c.coll_id = x.coll_id
             WHERE c.name = {} AND x.id = {}
             ORDER BY x.version COLLATE \"C\"",
            ps.add(collection.to_owned()),
            ps.add(id.to_owned())
        );
        self.rows(
            &sql,
            &ps,
            &format!("reading the versions of `{id}` in `{collection}`"),
            read_object,
        )
    }

    fn count(&self, collection: Option<&str>) -> Result<u64, StoreError> {
        let mut c = self.live_client()?;
        let r = match collection {
            Some(name) => c
                .query_typed_one(
                    "SELECT coalesce(sum(n_versions), 0)::bigint FROM collections WHERE name = $1",
                    &[(&name, Type::TEXT)],
                )
                .map_err(self.err(&format!("counting the versions of `{name}`")))?,
            None => c
                .query_typed_one(
                    "SELECT coalesce(sum(n_versions), 0)::bigint FROM collections",
                    &[],
                )
                .map_err(self.err("counting the versions"))?,
        };
        Ok(u64::try_from(r.get::<_, i64>(0)).unwrap_or(0))
    }

    fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError> {
        self.rows(
            "SELECT name, n_versions FROM collections ORDER BY name COLLATE \"C\"",
            &Params::default(),
            "reading the collections",
            |r| {
                Ok(CollectionInfo {
                    name: r.try_get(0)?,
                    n_versions: u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0),
                })
            },
        )
    }

    fn tally(&self, collection: &str) -> Result<Vec<crate::Tally>, StoreError> {
        let Some(coll) = self.coll_id(collection)? else {
            return Ok(Vec::new());
        };
        let mut ps = Params::default();
        let sql = format!(
            "SELECT type, origin, count(*) FROM objects WHERE coll_id = {}
             GROUP BY type, origin ORDER BY type COLLATE \"C\", origin COLLATE \"C\"",
            ps.add(coll)
        );
        self.rows(&sql, &ps, &format!("the tally of `{collection}`"), |r| {
            Ok(crate::Tally {
                type_name: r.try_get(0)?,
                origin: r.try_get(1)?,
                count: u64::try_from(r.try_get::<_, i64>(2)?).unwrap_or(0),
            })
        })
    }

    fn newest(
        &self,
        collection: &str,
        types: &[String],
        before: i64,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let Some(coll) = self.coll_id(collection)? else {
            return Ok(Vec::new());
        };
        let mut ps = Params::default();
        let coll = ps.add(coll);
        let before = ps.add(before);
        let limit = ps.add(i64::try_from(limit).unwrap_or(i64::MAX));
        let inner = if types.is_empty() {
            format!(
                "SELECT {INNER_COLUMNS} FROM objects o
                 WHERE o.coll_id = {coll} AND o.seq < {before} ORDER BY o.seq DESC LIMIT {limit}"
            )
        } else {
            // One index range per type, merged newest first.
            format!(
                "SELECT l.* FROM unnest({}::text[]) AS t (ty) CROSS JOIN LATERAL (
                   SELECT {INNER_COLUMNS} FROM objects o
                   WHERE o.coll_id = {coll} AND o.type = t.ty AND o.seq < {before}
                   ORDER BY o.seq DESC LIMIT {limit}) l
                 ORDER BY l.seq DESC LIMIT {limit}",
                ps.add(sorted_unique(types))
            )
        };
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM ({inner}) x
             JOIN collections c ON c.coll_id = x.coll_id ORDER BY x.seq DESC"
        );
        self.rows(
            &sql,
            &ps,
            &format!("reading the newest objects of `{collection}`"),
            read_object,
        )
    }

    fn max_seq(&self) -> Result<i64, StoreError> {
        self.live_client()?
            .query_typed_one("SELECT coalesce(max(seq), 0) FROM objects", &[])
            .map(|r| r.get(0))
            .map_err(self.err("reading the highest seq"))
    }

    fn objects_after(&self, after: i64, limit: usize) -> Result<Vec<StoredObject>, StoreError> {
        let mut ps = Params::default();
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM (
               SELECT {INNER_COLUMNS} FROM objects o WHERE o.seq > {} ORDER BY o.seq LIMIT {}) x
             JOIN collections c ON c.coll_id = x.coll_id ORDER BY x.seq",
            ps.add(after),
            ps.add(i64::try_from(limit).unwrap_or(i64::MAX))
        );
        self.rows(
            &sql,
            &ps,
            &format!("reading the objects after seq {after}"),
            read_object,
        )
    }

    fn objects_by_seq(&self, seqs: &[i64]) -> Result<Vec<StoredObject>, StoreError> {
        let mut found: std::collections::HashMap<i64, StoredObject> =
            std::collections::HashMap::new();
        for chunk in seqs.chunks(BY_SEQ_CHUNK) {
            let mut ps = Params::default();
            let sql = format!(
                "SELECT {OBJECT_COLUMNS} FROM objects x JOIN collections c ON c.coll_id = x.coll_id
                 WHERE x.seq = ANY({})",
                ps.add(chunk.to_vec())
            );
            for o in self.rows(&sql, &ps, "reading objects by seq", read_object)? {
                found.insert(o.seq, o);
            }
        }
        Ok(seqs.iter().filter_map(|s| found.get(s).cloned()).collect())
    }

    fn find_text(
        &self,
        collection: &str,
        text: &str,
        types: &[String],
        scan: usize,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let Some(coll) = self.coll_id(collection)? else {
            return Ok(Vec::new());
        };
        let mut ps = Params::default();
        let coll = ps.add(coll);
        let scan = ps.add(i64::try_from(scan).unwrap_or(i64::MAX));
        let text = ps.add(text.to_owned());
        let limit = ps.add(i64::try_from(limit).unwrap_or(i64::MAX));
        let type_cond = if types.is_empty() {
            String::new()
        } else {
            format!(" AND x.type = ANY({})", ps.add(sorted_unique(types)))
        };
        // The newest `scan` rows of the collection by its index, then the
        // text test on each (strpos: no pattern syntax to escape).
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM (
               SELECT seq FROM objects WHERE coll_id = {coll} ORDER BY seq DESC LIMIT {scan}
             ) w JOIN objects x ON x.seq = w.seq JOIN collections c ON c.coll_id = x.coll_id
             WHERE strpos(x.raw, {text}) > 0{type_cond}
             ORDER BY x.seq DESC LIMIT {limit}"
        );
        self.rows(&sql, &ps, &format!("searching `{collection}`"), read_object)
    }

    fn integrity_check(&self) -> Result<(), StoreError> {
        let mut c = self.live_client()?;
        let mut tx = c
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(self.err("starting the integrity check"))?;
        let problems = self
            .check(&mut tx)
            .map_err(self.err("the integrity check"))?;
        tx.commit()
            .map_err(self.err("ending the integrity check"))?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.server.clone().into(),
                problems,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Backend, NewObject, OpenOptions, VersionFilter};

    /// Every query shape reads index ranges: no sequential scan of
    /// `objects`, no sort of a whole collection, and the small collection
    /// by its own range (not by filtering the table in seq order).
    #[test]
    fn query_plans_use_indexes_only() {
        let Some(pg) = accord_testkit::postgres::cluster("query_plans_use_indexes_only") else {
            return;
        };
        let db = pg.fresh_database();
        let s = PgStore::connect(&db, &OpenOptions::new()).unwrap();
        let raws: Vec<(String, String)> = (0..4000u32)
            .map(|n| {
                let id = format!("indicator--{n:08x}-0000-4000-8000-000000000000");
                let raw = format!(
                    r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"2024-01-01T00:00:00Z","modified":"2024-01-0{}T00:00:00Z"}}"#,
                    1 + n % 3
                );
                (id, raw)
            })
            .collect();
        let objs: Vec<NewObject<'_>> = raws
            .iter()
            .enumerate()
            .map(|(n, (id, raw))| NewObject {
                raw,
                id,
                type_name: if n % 7 == 0 { "malware" } else { "indicator" },
                spec_version: "2.1",
                created: Some("2024-01-01T00:00:00Z"),
                modified: Some(&raw[raw.len() - 22..raw.len() - 2]),
                markings: vec![],
                // A small collection beside a large one.
                collection: if n % 100 == 0 { "a" } else { "b" },
                origin: "local",
            })
            .collect();
        s.writer().put_batch(&objs).unwrap();
        s.client().batch_execute("ANALYZE").unwrap();
        let t = crate::Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
        let shapes = [
            Query {
                collection: Some("a".into()),
                ..Query::default()
            },
            Query {
                collection: Some("a".into()),
                versions: VersionFilter::all(),
                after_seq: 100,
                ..Query::default()
            },
            Query {
                collection: Some("a".into()),
                types: vec!["malware".into(), "indicator".into()],
                versions: VersionFilter::first(),
                ..Query::default()
            },
            Query {
                types: vec!["malware".into()],
                versions: VersionFilter::all(),
                ..Query::default()
            },
            Query {
                collection: Some("b".into()),
                ids: vec![raws[1].0.clone(), raws[3].0.clone()],
                versions: VersionFilter::all(),
                ..Query::default()
            },
            Query {
                collection: Some("a".into()),
                added_after: Some(t),
                spec_versions: vec!["2.1".into()],
                versions: VersionFilter::last(),
                ..Query::default()
            },
            Query {
                versions: VersionFilter::all(),
                after_seq: 3000,
                ..Query::default()
            },
            Query {
                collection: Some("b".into()),
                after_seq: 1000,
                ..Query::default()
            },
            Query {
                collection: Some("b".into()),
                types: vec!["malware".into()],
                versions: VersionFilter {
                    first: true,
                    ..VersionFilter::last()
                },
                ..Query::default()
            },
        ];
        for q in &shapes {
            let plan = s.explain_query(q);
            assert!(!plan.contains("Seq Scan on objects"), "{q:?}\n{plan}");
            assert!(plan.contains("Index"), "{q:?}\n{plan}");
            if q.collection.as_deref() == Some("a") {
                assert!(!plan.contains("using objects_pkey"), "{q:?}\n{plan}");
            }
            // A sort, if any, is of pages (the rows under LIMITs), never
            // of a collection (3,960 rows here).
            for line in plan.lines().filter(|l| l.contains("Sort  (cost=")) {
                let rows: u64 = line
                    .split("rows=")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|r| r.parse().ok())
                    .expect("rows");
                assert!(rows <= 100, "{q:?}\n{plan}");
            }
        }
    }
}
