//! Matching one chunk of a log at a time against an index over a store:
//! what a cluster's `match` workers do with each chunk `accord match
//! --config` publishes, and what that command does with the chunks it
//! keeps (see `accord_node::match_work`).
//!
//! - [`StoreIndex`] keeps one index over the store, built once (or reused
//!   from its file) and brought up to date with what was stored since,
//!   exactly as a match over the store does with its saved index
//!   ([`super::load`]).
//! - [`match_chunk`] reads a run of whole lines of one log, with the
//!   header lines in effect at its start (Zeek `#` lines, the CSV header)
//!   applied first without being read as data.
//! - [`group_hits`] aggregates hits per indicator and sighting window
//!   ([`HitGroup`]: distinct lines, first and last seen) so that a chunk's
//!   hits travel as a few numbers; [`merge_groups`] adds the groups of
//!   disjoint chunks, and [`sightings_of_groups`] makes the sightings
//!   [`crate::sighting::aggregate`] would have made of all the hits.

use super::load::{self, Indicators};
use super::scan::{Counts, MatchSink, read_guarded};
use super::{MatchError, MatchOptions, store_err};
use crate::sighting::{self, Hit, Sightings};
use accord_logs::{Format, Parser, SkipReason};
use accord_store::Backend;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An index over a store, kept up to date by [`StoreIndex::refresh`].
pub struct StoreIndex {
    opts: MatchOptions,
    ind: Arc<Indicators>,
    seq: i64,
    lists: Option<String>,
    loaded: Instant,
}

impl std::fmt::Debug for StoreIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreIndex")
            .field("index", &self.opts.index)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

/// How often an index is looked at again even when the store's seq did
/// not move (the warninglists may have changed).
const RECHECK: Duration = Duration::from_secs(60);

/// The least time between two catch-ups: what was stored less than this
/// before a chunk is matched may not be in its index yet.
pub const RELOAD_AFTER: Duration = Duration::from_secs(2);

impl StoreIndex {
    /// Loads the index of the indicators of `collections` (all when empty)
    /// in `store`, saved in (and reused from) `index` when given; `data`
    /// is the data directory the index is keyed by; `warninglists`: the
    /// indicators with a value on them are left out. `now_s`: Unix
    /// seconds.
    ///
    /// # Errors
    /// [`MatchError`] naming the store or index file that failed.
    pub fn load(
        store: &dyn Backend,
        data: &Path,
        index: Option<PathBuf>,
        collections: &[String],
        warninglists: Option<crate::warninglists::NodeLists>,
        now_s: i64,
    ) -> Result<StoreIndex, MatchError> {
        let opts = MatchOptions {
            logs: Vec::new(),
            data: data.to_path_buf(),
            indicators: None,
            collections: collections.to_vec(),
            log_options: accord_logs::Options::default(),
            since: None,
            out: None,
            hits: None,
            evidence: false,
            threads: 1,
            follow: false,
            flush: 60,
            follow_for: None,
            index,
            window: 3600,
            no_sightings: true,
            node_config: None,
            warninglists,
        };
        let (ind, seq) = Self::read(&opts, store, now_s)?;
        Ok(StoreIndex {
            lists: opts.warninglists.as_ref().map(|l| l.sha256.clone()),
            opts,
            ind,
            seq,
            loaded: Instant::now(),
        })
    }

    /// The index and the seq it has read up to (at least).
    fn read(
        opts: &MatchOptions,
        store: &dyn Backend,
        now_s: i64,
    ) -> Result<(Arc<Indicators>, i64), MatchError> {
        // The seq first: what is stored while the index is read is seen
        // again by the next refresh.
        let seq = store
            .max_seq()
            .map_err(store_err("reading the store's seq"))?;
        let open = |_: &Path| store.new_handle();
        let ind = load::load_indicators(opts, &open, now_s)?;
        Ok((Arc::new(ind), seq))
    }

    fn reload(&mut self, store: &dyn Backend, now_s: i64) -> Result<(), MatchError> {
        let (ind, seq) = Self::read(&self.opts, store, now_s)?;
        self.ind = ind;
        self.seq = seq;
        self.lists = self.opts.warninglists.as_ref().map(|l| l.sha256.clone());
        self.loaded = Instant::now();
        Ok(())
    }

    /// Brings the index up to date when something was stored since it was
    /// loaded (at most every [`RELOAD_AFTER`]), or when `warninglists` differ from the lists it was built
    /// with (looked at when the seq moved or a minute passed). Returns
    /// whether it was reloaded.
    ///
    /// # Errors
    /// As [`StoreIndex::load`].
    pub fn refresh(
        &mut self,
        store: &dyn Backend,
        warninglists: impl FnOnce() -> Option<crate::warninglists::NodeLists>,
        now_s: i64,
    ) -> Result<bool, MatchError> {
        let seq = store
            .max_seq()
            .map_err(store_err("reading the store's seq"))?;
        let age = self.loaded.elapsed();
        // Under a steady ingest the seq moves all the time: caught up at
        // most every RELOAD_AFTER, not for every chunk.
        if (seq == self.seq && age < RECHECK) || age < RELOAD_AFTER {
            return Ok(false);
        }
        let lists = warninglists();
        let sha = lists.as_ref().map(|l| l.sha256.clone());
        if seq == self.seq && sha == self.lists {
            self.loaded = Instant::now();
            return Ok(false);
        }
        self.opts.warninglists = lists;
        self.reload(store, now_s)?;
        Ok(true)
    }

    /// The indicators, as last loaded.
    pub fn indicators(&self) -> Arc<Indicators> {
        Arc::clone(&self.ind)
    }
}

/// One chunk to match: whole lines of one log.
#[derive(Debug, Clone, Copy)]
pub struct ChunkSpec<'a> {
    /// The log's format (detected on the whole log, not the chunk).
    pub format: Format,
    /// How to read it (CSV columns and header, the longest line).
    pub log_options: &'a accord_logs::Options,
    /// The header lines in effect at the chunk's start (Zeek `#` lines,
    /// the CSV header row), applied before the chunk, not read as data.
    pub prefix: &'a [u8],
    /// The chunk's lines.
    pub body: &'a [u8],
    /// The log's number (in the hits).
    pub file: u32,
    /// The line number of the chunk's first line in its log.
    pub first_line: u64,
    /// Only events at or after this (Unix microseconds).
    pub since_us: Option<i64>,
}

/// Matches one chunk against `ind` at `now_s` (Unix seconds): its hits
/// (lines numbered as in the whole log) and counts. The chunk is read as
/// [`super::run`] reads a plain file: lines over the longest line are
/// skipped, and an unterminated last line of a Zeek TSV chunk is skipped
/// as truncated.
///
/// # Errors
/// [`MatchError::Invalid`] when the index cannot be read.
pub fn match_chunk(
    ind: &Indicators,
    spec: &ChunkSpec<'_>,
    now_s: i64,
) -> Result<(Vec<Hit>, Counts), MatchError> {
    let view = ind.view()?;
    let ctx = super::scan::Ctx {
        view,
        evaluator: &ind.evaluator,
        now_s,
        since_us: spec.since_us,
        evidence: false,
    };
    let opts = spec.log_options;
    let mut p = Parser::with_csv(
        spec.format,
        opts.csv_delimiter,
        opts.csv_columns.as_ref(),
        opts.csv_header,
    );
    if !spec.prefix.is_empty() {
        p.scan_headers(spec.prefix);
    }
    let bytes = spec.body;
    let mut body = bytes;
    let mut tail_cut = false;
    if !bytes.is_empty() && !bytes.ends_with(b"\n") && !spec.format.reads_unterminated_line() {
        let start = memchr::memrchr(b'\n', bytes).map_or(0, |p| p + 1);
        if !bytes[start..].starts_with(b"#") {
            body = &bytes[..start];
            tail_cut = true;
        }
    }
    let mut sink = MatchSink::new(&ctx, spec.file);
    let n = read_guarded(&mut p, body, spec.first_line, opts.max_line, &mut sink);
    sink.c.lines += n;
    if tail_cut {
        sink.c.lines += 1;
        *sink.c.skipped.entry(SkipReason::Truncated).or_default() += 1;
        sink.c
            .samples
            .push((spec.file, spec.first_line + n, SkipReason::Truncated));
    }
    Ok((sink.hits, sink.c))
}

/// The hits of one indicator in one sighting window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitGroup {
    /// The indicator's id.
    pub indicator: String,
    /// The identity that produced it (its sightings are queued for it).
    pub producer: Option<String>,
    /// The window's number (event time / window length).
    pub window: i64,
    /// The first hit (Unix microseconds).
    pub first: i64,
    /// The last hit (Unix microseconds).
    pub last: i64,
    /// Distinct log lines.
    pub count: u64,
}

/// Groups `hits` per indicator and window of `window_s` seconds (hits
/// without a time fall in the window of `now_us`), as
/// [`crate::sighting::aggregate`] does.
pub fn group_hits(hits: &[Hit], window_s: i64, now_us: i64, ind: &Indicators) -> Vec<HitGroup> {
    let Ok(view) = ind.view() else {
        return Vec::new();
    };
    let w = window_s.max(1) * 1_000_000;
    // (ordinal, window) → (first, last, the lines).
    type Lines = BTreeSet<(u32, u64)>;
    let mut groups: BTreeMap<(u32, i64), (i64, i64, Lines)> = BTreeMap::new();
    for h in hits {
        let t = h.time.unwrap_or(now_us);
        let g = groups
            .entry((h.ord, t.div_euclid(w)))
            .or_insert((t, t, BTreeSet::new()));
        g.0 = g.0.min(t);
        g.1 = g.1.max(t);
        g.2.insert((h.file, h.line));
    }
    groups
        .into_iter()
        .filter_map(|((ord, window), (first, last, lines))| {
            Some(HitGroup {
                indicator: view.indicator_id_string(ord)?,
                producer: ind
                    .side
                    .ord_producer
                    .get(ord as usize)
                    .and_then(|p| ind.side.producers.get(*p as usize).cloned()),
                window,
                first,
                last,
                count: lines.len() as u64,
            })
        })
        .collect()
}

/// Adds `more` (groups of lines disjoint from those of `into`) into
/// `into`, keyed by (indicator, window).
pub fn merge_groups(into: &mut BTreeMap<(String, i64), HitGroup>, more: Vec<HitGroup>) {
    for g in more {
        match into.get_mut(&(g.indicator.clone(), g.window)) {
            Some(a) => {
                a.first = a.first.min(g.first);
                a.last = a.last.max(g.last);
                a.count = a.count.saturating_add(g.count);
                if a.producer.is_none() {
                    a.producer = g.producer;
                }
            }
            None => {
                into.insert((g.indicator.clone(), g.window), g);
            }
        }
    }
}

/// The sightings of `groups`, made at `now_us` by `node_id`: one per
/// group, as [`crate::sighting::aggregate`] makes them (no evidence).
pub fn sightings_of_groups<'a>(
    groups: impl IntoIterator<Item = &'a HitGroup>,
    now_us: i64,
    node_id: &str,
) -> Sightings {
    let now = sighting::ts_from_micros(now_us);
    let mut out = Sightings::default();
    for g in groups {
        let s = json!({
            "type": "sighting",
            "spec_version": "2.1",
            "id": format!("sighting--{}", uuid::Uuid::new_v4()),
            "created": now,
            "modified": now,
            "created_by_ref": node_id,
            "first_seen": sighting::ts_from_micros(g.first),
            "last_seen": sighting::ts_from_micros(g.last),
            "count": g.count.min(999_999_999),
            "sighting_of_ref": g.indicator,
            "where_sighted_refs": [node_id],
        });
        out.sightings
            .push((s.to_string(), g.producer.clone(), Vec::new()));
    }
    out
}

/// How the index was read, for a summary: its load statistics.
pub fn load_stats(ind: &Indicators) -> &super::LoadStats {
    &ind.side.stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sighting::Hit;

    fn hit(ord: u32, line: u64, t: i64) -> Hit {
        Hit {
            file: 0,
            line,
            ord,
            kind: None,
            field: "".into(),
            value: "".into(),
            time: Some(t),
            evidence: None,
        }
    }

    #[test]
    fn groups_of_disjoint_chunks_add_up_to_the_whole() {
        // The whole: lines 1..=6; two chunks: 1..=3 and 4..=6; two hits on
        // line 2 (one line, counted once).
        let all = [
            hit(0, 1, 10),
            hit(0, 2, 20),
            hit(0, 2, 20),
            hit(0, 4, 5_000_000_000),
            hit(0, 5, 30),
        ];
        let g = |hits: &[Hit]| {
            let w = 3600 * 1_000_000i64;
            let mut m: BTreeMap<(String, i64), HitGroup> = BTreeMap::new();
            type Lines = BTreeSet<u64>;
            let mut by: BTreeMap<(u32, i64), (i64, i64, Lines)> = BTreeMap::new();
            for h in hits {
                let t = h.time.unwrap();
                let e = by
                    .entry((h.ord, t.div_euclid(w)))
                    .or_insert((t, t, BTreeSet::new()));
                e.0 = e.0.min(t);
                e.1 = e.1.max(t);
                e.2.insert(h.line);
            }
            merge_groups(
                &mut m,
                by.into_iter()
                    .map(|((o, win), (f, l, s))| HitGroup {
                        indicator: format!("indicator--{o}"),
                        producer: None,
                        window: win,
                        first: f,
                        last: l,
                        count: s.len() as u64,
                    })
                    .collect(),
            );
            m
        };
        let whole = g(&all);
        let mut parts = g(&all[..3]);
        merge_groups(&mut parts, g(&all[3..]).into_values().collect());
        assert_eq!(whole, parts);
        let s = sightings_of_groups(whole.values(), 0, "identity--x");
        assert_eq!(s.sightings.len(), 2);
        assert!(
            s.sightings[0].0.contains("\"count\":3"),
            "{}",
            s.sightings[0].0
        );
    }
}
