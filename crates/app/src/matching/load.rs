//! Indicators for matching: read from the store or a file through the one
//! indicator path ([`crate::indicators`]), built into an index, and the
//! index cache (`--index FILE` and its `FILE.meta.json` sidecar).

use super::layers::Layers;
use super::{MatchError, MatchOptions, OpenStore, io_err, store_err};
use crate::indicators::{self, CompiledPattern};
use accord_matcher::{Index, IndexBuilder, IndexView, IndicatorMeta};
use accord_pattern::Pattern;
use accord_store::{Query, Timestamp, VersionFilter};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How the indicators were read.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct LoadStats {
    pub indicators: u64,
    pub keyed: u64,
    pub evaluated: u64,
    pub dead: u64,
    pub not_stix: u64,
    pub bad_pattern: u64,
    /// The first [`NAMED_SKIPS`] indicators skipped for a pattern that does
    /// not parse (or exceeds the pattern limits), by id.
    #[serde(default)]
    pub bad_pattern_ids: Vec<String>,
    pub bad_keys: u64,
    pub not_indicators: u64,
    /// Indicators left out because a value of theirs is on a warninglist
    /// ([`MatchOptions::warninglists`]).
    #[serde(default)]
    pub warninglisted: u64,
    /// Those indicators per list.
    #[serde(default)]
    pub warninglisted_lists: std::collections::BTreeMap<String, u64>,
}

/// How many skipped indicators [`LoadStats::bad_pattern_ids`] names.
pub const NAMED_SKIPS: usize = 20;

/// What the index does not hold: producers and evaluator patterns. Saved
/// beside an `--index` file as `<FILE>.meta.json`.
#[derive(Default, Clone, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    pub(crate) producers: Vec<String>,
    /// Per ordinal: index into `producers`, or `u32::MAX`.
    pub(crate) ord_producer: Vec<u32>,
    /// (ordinal, pattern, STIX 2.0 dialect).
    evaluator: Vec<(u32, String, bool)>,
    pub(crate) stats: LoadStats,
    /// What the index was built from (`store:<dir>:<collections>` or `file:<path>`).
    #[serde(default)]
    source: String,
    /// For a store: the highest `seq` read; a newer indicator version makes the index stale.
    #[serde(default)]
    max_seq: i64,
    /// The earliest whole second at which an indicator left out as not yet
    /// valid (`valid_from` in the future) becomes valid: the index is stale
    /// from then on.
    #[serde(default)]
    not_before: Option<i64>,
    /// For a store: the versions per collection when `max_seq` was read.
    /// The count now, less the versions stored since, differs when a
    /// version was deleted: the index is then rebuilt.
    #[serde(default)]
    counts: std::collections::BTreeMap<String, u64>,
    /// Written by a build that records `counts` (older sidecars are
    /// never updated incrementally).
    #[serde(default)]
    incremental: bool,
    /// The index file this sidecar describes ([`identity`]: its length
    /// and body checksum, from its header). A sidecar whose index is
    /// another (a save interrupted between the two renames) is not used.
    #[serde(default)]
    index_identity: Option<(u64, u64)>,
}

/// The identity of an index's bytes: its total length and body checksum,
/// as its header records them (both checked when it is loaded).
fn identity(bytes: &[u8]) -> Option<(u64, u64)> {
    let word = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    Some((word(16)?, word(24)?))
}

/// The changes over a saved base index, saved beside it
/// (`<FILE>.delta`, the delta's index, and `<FILE>.delta.json`, this), so
/// that the next match maps both instead of reading the changes from the
/// store again. Bound to the base and to its index file by their
/// identities; anything that does not match is ignored (the changes are
/// then read again from the store).
#[derive(Serialize, Deserialize)]
struct SavedDelta {
    /// [`identity`] of the base index.
    base: (u64, u64),
    /// [`identity`] of the delta's index file.
    delta: (u64, u64),
    /// The highest `seq` read when the delta was made.
    max_seq: i64,
    /// The versions per collection at `max_seq`.
    counts: std::collections::BTreeMap<String, u64>,
    /// The indicators read again (changed since the base was saved).
    ids: Vec<String>,
    /// The base ordinals they replace.
    masked: Vec<u32>,
    /// What the delta's index does not hold (its ordinals from 0).
    side: Sidecar,
}

pub(crate) struct Loader {
    pub(crate) b: IndexBuilder,
    now: i64,
    pub(crate) side: Sidecar,
    /// Producers come from partners too: foldhash (randomly seeded).
    producer_ix: foldhash::HashMap<String, u32>,
    /// Ids come from partners: a randomly seeded hasher (foldhash), not an
    /// unkeyed one, so crafted ids cannot make it quadratic.
    seen: foldhash::HashMap<[u8; 16], u32>,
    /// Indicators on these lists are left out of the index.
    pub(crate) warninglists: Option<std::sync::Arc<accord_warninglist::WarninglistSet>>,
    /// Indicators left out of this pass entirely (read again, exactly, in
    /// another: those stored more than once).
    skip: foldhash::HashSet<[u8; 16]>,
    /// Whether an indicator may come again (`seen` is then kept): not in
    /// a pass over indicators each stored once.
    may_repeat: bool,
}

/// What [`Batch::prepare`] read of one object: only what the index and
/// the sidecar need, owned, so objects are prepared on several threads
/// and applied in order.
pub(crate) enum Prepared {
    /// Not an indicator with a valid id.
    NotIndicator,
    /// An indicator.
    Indicator(PreparedIndicator),
}

/// Objects prepared in order, and the producers they name, each once (a
/// store's indicators mostly share a few producers).
#[derive(Default)]
pub(crate) struct Batch {
    items: Vec<Prepared>,
    producers: Vec<String>,
    /// `producers` by text, past the first.
    producer_ix: foldhash::HashMap<String, u32>,
}

pub(crate) struct PreparedIndicator {
    id: [u8; 16],
    /// The id as written, kept only for a pattern that does not parse
    /// ([`LoadStats::bad_pattern_ids`]).
    id_text: Option<String>,
    validity: indicators::Validity,
    /// Its producer, in [`Batch::producers`].
    created_by_ref: Option<u32>,
    pattern: PreparedPattern,
}

/// An indicator's keys: most have one.
enum Keys {
    One(Option<accord_matcher::Key>),
    Many(Vec<accord_matcher::Key>),
}

enum PreparedPattern {
    NotStix,
    /// No `pattern`.
    Missing,
    /// A pattern that does not parse.
    Bad,
    Keys {
        keys: Keys,
        bad: u64,
        lists: Vec<String>,
    },
    Evaluator {
        src: String,
        v20: bool,
        lists: Vec<String>,
    },
}

impl Batch {
    /// Reads one object's text: the fields the index needs, its pattern
    /// compiled to keys and checked against the warninglists. Pure and
    /// thread-safe.
    pub(crate) fn prepare(
        &mut self,
        text: &str,
        lists: Option<&accord_warninglist::WarninglistSet>,
    ) {
        let Some(ind) = super::fast::read(text) else {
            self.items.push(Prepared::NotIndicator);
            return;
        };
        let pattern = match &ind.stix_pattern {
            None => PreparedPattern::NotStix,
            Some(None) => PreparedPattern::Missing,
            // The most common shape, without warninglists: its one key.
            Some(Some(src))
                if let (None, Some(key)) = (lists, super::fast::simple_compiled_key(src)) =>
            {
                PreparedPattern::Keys {
                    bad: u64::from(key.is_none()),
                    keys: Keys::One(key),
                    lists: Vec::new(),
                }
            }
            Some(Some(src)) => match super::fast::compile_with(src, ind.v20, lists) {
                None => PreparedPattern::Bad,
                Some((compiled, hits)) => {
                    let lists = hits.into_iter().map(|h| h.list.to_string()).collect();
                    match compiled {
                        CompiledPattern::Keys(keys, bad) => PreparedPattern::Keys {
                            keys: Keys::Many(keys),
                            bad,
                            lists,
                        },
                        CompiledPattern::NeedsEvaluator => PreparedPattern::Evaluator {
                            src: src.to_string(),
                            v20: ind.v20,
                            lists,
                        },
                    }
                }
            },
        };
        let bad = matches!(pattern, PreparedPattern::Bad);
        let created_by_ref = ind.created_by_ref.map(|c| self.producer(&c));
        self.items.push(Prepared::Indicator(PreparedIndicator {
            id: ind.id_bytes,
            id_text: bad.then(|| ind.id.into_owned()),
            validity: ind.validity,
            created_by_ref,
            pattern,
        }));
    }

    /// The index of producer `p` in this batch.
    fn producer(&mut self, p: &str) -> u32 {
        if let Some(last) = self.producers.last()
            && last == p
        {
            return self.producers.len() as u32 - 1;
        }
        if let Some(&i) = self.producer_ix.get(p) {
            return i;
        }
        let i = self.producers.len() as u32;
        self.producers.push(p.to_owned());
        self.producer_ix.insert(p.to_owned(), i);
        i
    }
}

/// [`Batch::prepare`] on each text, on up to `threads` threads; the
/// batches in order.
pub(crate) fn prepare_all(
    texts: &[&str],
    lists: Option<&accord_warninglist::WarninglistSet>,
    threads: usize,
) -> Vec<Batch> {
    let one = |c: &[&str]| {
        let mut b = Batch::default();
        for t in c {
            b.prepare(t, lists);
        }
        b
    };
    let threads = threads.clamp(1, 64);
    if threads == 1 || texts.len() < 256 {
        return vec![one(texts)];
    }
    let per = texts.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = texts.chunks(per).map(|c| s.spawn(move || one(c))).collect();
        parts
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

impl Loader {
    pub(crate) fn new(now: i64) -> Loader {
        Loader {
            b: IndexBuilder::new(now),
            now,
            side: Sidecar::default(),
            producer_ix: Default::default(),
            seen: Default::default(),
            warninglists: None,
            skip: Default::default(),
            may_repeat: true,
        }
    }

    #[cfg(test)]
    pub(crate) fn add(&mut self, text: &str) {
        let mut b = Batch::default();
        b.prepare(text, self.warninglists.as_deref());
        self.apply_batch(b);
    }

    /// Adds a batch of prepared objects (in the order a fresh build reads
    /// them).
    pub(crate) fn apply_batch(&mut self, b: Batch) {
        // The loader's index of each of the batch's producers, once used.
        let mut global = vec![u32::MAX; b.producers.len()];
        for p in b.items {
            self.apply(p, &b.producers, &mut global);
        }
    }

    /// Adds one prepared object.
    fn apply(&mut self, p: Prepared, producers: &[String], global: &mut [u32]) {
        let Prepared::Indicator(ind) = p else {
            self.side.stats.not_indicators += 1;
            return;
        };
        if self.skip.contains(&ind.id) {
            return;
        }
        let id = ind.id;
        // Several versions of one indicator (a store with VersionFilter::last()
        // gives one per collection): the first one read is kept.
        self.side.stats.indicators += 1;
        let (keys, bad, lists, evaluator) = match ind.pattern {
            PreparedPattern::NotStix => {
                self.side.stats.not_stix += 1;
                return;
            }
            PreparedPattern::Missing => {
                self.side.stats.bad_pattern += 1;
                return;
            }
            PreparedPattern::Bad => (None, 0, Vec::new(), None),
            PreparedPattern::Keys { keys, bad, lists } => (Some(keys), bad, lists, None),
            PreparedPattern::Evaluator { src, v20, lists } => (None, 0, lists, Some((src, v20))),
        };
        let now = Timestamp::from_unix(self.now, 0);
        let v = ind.validity;
        // Not yet valid: never live with this index, which is stale once it
        // becomes valid (`Sidecar::not_before`).
        let not_yet = v.not_yet_valid(now);
        if not_yet {
            let f = v
                .valid_from
                .map_or(i64::MAX, |f| f.unix_seconds + i64::from(f.nanos > 0));
            self.side.not_before = Some(self.side.not_before.map_or(f, |n| n.min(f)));
        }
        let meta = IndicatorMeta {
            id,
            valid_until: v.index_valid_until(),
            revoked: v.revoked || not_yet,
        };
        if !meta.is_live(self.now) {
            self.side.stats.dead += 1;
        }
        if self.may_repeat && self.seen.contains_key(&id) {
            // A second version: ignore (the store's last version came first
            // per collection; a file's duplicates are rare).
            self.side.stats.indicators -= 1;
            return;
        }
        if keys.is_none() && evaluator.is_none() {
            self.side.stats.bad_pattern += 1;
            if self.side.stats.bad_pattern_ids.len() < NAMED_SKIPS
                && let Some(id) = ind.id_text
            {
                self.side.stats.bad_pattern_ids.push(id);
            }
            return;
        }
        if !lists.is_empty() {
            // Left out at build time: a warninglisted indicator costs
            // nothing per event.
            self.side.stats.warninglisted += 1;
            for l in lists {
                *self.side.stats.warninglisted_lists.entry(l).or_default() += 1;
            }
            if self.may_repeat {
                self.seen.insert(id, u32::MAX);
            }
            return;
        }
        let ord = self.b.add_indicator(meta);
        if self.may_repeat {
            self.seen.insert(id, ord);
        }
        let p = match ind.created_by_ref {
            Some(i) => {
                let g = &mut global[i as usize];
                if *g == u32::MAX {
                    let p = &producers[i as usize];
                    *g = match self.producer_ix.get(p.as_str()) {
                        Some(ix) => *ix,
                        None => {
                            let n = self.producer_ix.len() as u32;
                            self.producer_ix.insert(p.clone(), n);
                            self.side.producers.push(p.clone());
                            n
                        }
                    };
                }
                *g
            }
            None => u32::MAX,
        };
        self.side.ord_producer.push(p);
        match (keys, evaluator) {
            (Some(keys), _) => {
                self.side.stats.keyed += 1;
                self.side.stats.bad_keys += bad;
                let (one, many) = match keys {
                    Keys::One(k) => (k, Vec::new()),
                    Keys::Many(v) => (None, v),
                };
                for k in one.into_iter().chain(many) {
                    // In normal form: made by `indicators::to_key`.
                    if self.b.add_normalized_key(ord, k).is_err() {
                        self.side.stats.bad_keys += 1;
                    }
                }
            }
            (None, Some((src, v20))) => {
                self.side.stats.evaluated += 1;
                self.side.evaluator.push((ord, src, v20));
            }
            (None, None) => {}
        }
    }
}

/// Calls `f` on each object text of a bundle / single object / JSON-lines file.
fn each_object<'a>(bytes: &'a [u8], mut f: impl FnMut(&'a str)) -> Result<(), String> {
    let first_nl = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let first = bytes[..first_nl].trim_ascii();
    let rest = bytes.get(first_nl..).unwrap_or(&[]).trim_ascii();
    let jsonl = !rest.is_empty()
        && first.starts_with(b"{")
        && serde_json::from_slice::<serde::de::IgnoredAny>(first).is_ok();
    if jsonl {
        for line in bytes.split(|&b| b == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            if memchr::memmem::find(line, b"\"bundle\"").is_some() {
                let _ = accord_stix::read_document(line, |o| f(o.text));
            } else if let Ok(s) = std::str::from_utf8(line) {
                f(s);
            }
        }
        Ok(())
    } else {
        accord_stix::read_document(bytes, |o| f(o.text))
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The loaded index: owned (just built) or a mapped file.
enum IndexBytes {
    Owned(Box<Index>),
    Mapped(memmap2::Mmap),
}

impl IndexBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            IndexBytes::Owned(i) => i.as_bytes(),
            IndexBytes::Mapped(m) => m,
        }
    }
}

/// The indicators changed in the store since a saved index: their
/// current versions, and the base ordinals they replace.
struct Delta {
    index: Index,
    /// One bit per base ordinal.
    masked: Vec<u64>,
}

/// What [`catch_up`] gives: the sidecar of the base and the changes
/// merged, the changes, and what to save of them (when they were read
/// from the store rather than from a saved delta).
struct CaughtUp {
    side: Sidecar,
    delta: Option<Delta>,
    update: Option<Update>,
    save: Option<SavedDelta>,
}

/// What an incremental update applied (for the summary).
#[derive(Debug, Default, Clone, Copy)]
pub struct Update {
    /// Indicators changed since the saved index (each read again).
    pub changed: u64,
    /// Of them, those the saved index held (their entries masked).
    pub replaced: u64,
}

pub struct Indicators {
    bytes: IndexBytes,
    delta: Option<Delta>,
    pub(crate) side: Sidecar,
    pub(crate) evaluator: Vec<(u32, Pattern)>,
    pub(crate) load_secs: f64,
    pub(crate) reused: bool,
    /// Set when a saved index was brought up to date incrementally.
    pub(crate) update: Option<Update>,
}

impl Indicators {
    /// The index: the base, and the changes since it was saved.
    ///
    /// # Errors
    /// [`MatchError::Invalid`] when a mapped index file is malformed.
    pub fn view(&self) -> Result<Layers<'_>, MatchError> {
        let base = match &self.bytes {
            IndexBytes::Owned(i) => i.view(),
            IndexBytes::Mapped(m) => IndexView::from_bytes_unverified(m)
                .map_err(|e| MatchError::Invalid(format!("reading the index file: {e}")))?,
        };
        Ok(match &self.delta {
            None => Layers::base(base),
            Some(d) => Layers::with_delta(base, &d.masked, d.index.view()),
        })
    }
}

fn map_file(p: &Path) -> Result<memmap2::Mmap, MatchError> {
    map_with(p, false)
}

/// Maps a file read-only; `populate`: fault every page in at once (a log
/// about to be read whole), which costs less than a fault per page.
pub(crate) fn map_with(p: &Path, populate: bool) -> Result<memmap2::Mmap, MatchError> {
    let f = std::fs::File::open(p).map_err(io_err(format!("opening {}", p.display())))?;
    let mut opts = memmap2::MmapOptions::new();
    if populate {
        opts.populate();
    }
    // SAFETY: a read-only map of a log or of the index cache named on the
    // command line, alive while it is read. If another process truncates the
    // file meanwhile, reads past the new end fault: the documented risk of
    // mapping files, accepted as for `accord validate`'s input files
    // (a log being appended to is safe; use --follow for live logs).
    #[allow(unsafe_code)]
    let m =
        unsafe { memmap2::Mmap::map(&f) }.map_err(io_err(format!("mapping {}", p.display())))?;
    Ok(m)
}

/// At most this many changed indicators are applied over a saved index
/// (beyond, and beyond a twentieth of the index, it is rebuilt and saved).
const MAX_DELTA: usize = 10_000;

/// Beyond this many indicators stored more than once, a build reads every
/// indicator's last version through the store's version filter.
const MAX_REPEATED: usize = 100_000;

#[cfg(test)]
thread_local! {
    /// Tests: build through the store's version filter alone.
    static EXACT_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
thread_local! {
    /// Tests: the seqs per reader block.
    static BLOCK_SEQS: std::cell::Cell<i64> = const { std::cell::Cell::new(BLOCK) };
}

fn block_seqs() -> i64 {
    #[cfg(test)]
    {
        BLOCK_SEQS.with(std::cell::Cell::get)
    }
    #[cfg(not(test))]
    {
        BLOCK
    }
}

fn exact_only() -> bool {
    #[cfg(test)]
    {
        EXACT_ONLY.with(std::cell::Cell::get)
    }
    #[cfg(not(test))]
    {
        false
    }
}

/// Objects per batch of an indicator file, and per page of the store's
/// queries of a few ids (an incremental update, the last versions).
const PAGE: usize = 4096;

pub(crate) fn load_indicators(
    args: &MatchOptions,
    open: OpenStore<'_>,
    now: i64,
) -> Result<Indicators, MatchError> {
    let start = Instant::now();
    let source_time = match &args.indicators {
        Some(p) => mtime(p),
        None => {
            let db = args.data.join(accord_store::DB_FILE_NAME);
            let wal = args
                .data
                .join(format!("{}-wal", accord_store::DB_FILE_NAME));
            mtime(&db).max(mtime(&wal))
        }
    };
    let source = match &args.indicators {
        Some(p) => format!("file:{}", p.display()),
        None => format!(
            "store:{}:{}",
            args.data.display(),
            args.collections.join(",")
        ),
    };
    // An index built under other warninglists (or none) is not reused.
    let source = match &args.warninglists {
        Some(l) => format!("{source};warninglists:{}", l.sha256),
        None => source,
    };
    let lists = args.warninglists.as_ref().map(|w| w.set.clone());
    let store = match &args.indicators {
        Some(_) => None,
        // The opener refuses a directory without a store (it never
        // creates one for a match).
        None => Some(open(&args.data).map_err(store_err(format!(
            "opening the data directory {}",
            args.data.display()
        )))?),
    };
    if let Some(ix) = &args.index {
        let side_path = sidecar_path(ix);
        let side: Option<Sidecar> = std::fs::read(&side_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|s: &Sidecar| s.source == source)
            // An indicator left out as not yet valid has become valid.
            .filter(|s| s.not_before.is_none_or(|nb| now < nb));
        // The index the sidecar describes, whole (the body checksum
        // checked: a few milliseconds per 100 MB), or none.
        let base = match side {
            Some(side) if side.index_identity.is_some() => match map_file(ix) {
                Ok(map)
                    if identity(&map) == side.index_identity
                        && IndexView::from_bytes(&map).is_ok() =>
                {
                    Some((side, map))
                }
                _ => None,
            },
            _ => None,
        };
        let reuse = match (base, &store) {
            (None, _) => None,
            // A file: the index is newer than it.
            (Some((side, map)), None) => match (mtime(ix), mtime(&side_path), source_time) {
                (Some(a), Some(b), Some(s)) if a > s && b > s => Some((side, map, None, None)),
                _ => None,
            },
            (Some((side, map)), Some(store)) if side.incremental => {
                let view = IndexView::from_bytes_unverified(&map)
                    .map_err(|e| MatchError::Invalid(format!("reading the index file: {e}")))?;
                let saved = read_saved_delta(ix, side.index_identity, now);
                let caught = catch_up(&**store, &view, side, saved, args, now, lists.as_deref())?;
                match caught {
                    Some(c) => {
                        if let (Some(sd), Some(d)) = (&c.save, &c.delta) {
                            save_delta(ix, &d.index, sd)?;
                        }
                        Some((c.side, map, c.delta, c.update))
                    }
                    None => None,
                }
            }
            // A sidecar of a build that did not record the store's counts:
            // rebuilt once.
            (Some(_), Some(_)) => None,
        };
        if let Some((side, map, delta, update)) = reuse {
            let evaluator = compile_evaluator(&side);
            return Ok(Indicators {
                bytes: IndexBytes::Mapped(map),
                delta,
                side,
                evaluator,
                load_secs: start.elapsed().as_secs_f64(),
                reused: true,
                update,
            });
        }
    }
    let mut l = Loader::new(now);
    l.warninglists = lists.clone();
    let threads = args.threads.max(1);
    match (&args.indicators, store) {
        (Some(p), _) => {
            let src = crate::input::Source::open(p)?;
            let bytes = src.bytes();
            let mut batch: Vec<&str> = Vec::with_capacity(PAGE);
            let r = each_object(bytes, |t| {
                batch.push(t);
                if batch.len() == PAGE {
                    for b in prepare_all(&batch, lists.as_deref(), threads) {
                        l.apply_batch(b);
                    }
                    batch.clear();
                    // What was read is owned now: its pages need not stay
                    // resident.
                    src.release_before(
                        (t.as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize),
                    );
                }
            });
            for b in prepare_all(&batch, lists.as_deref(), threads) {
                l.apply_batch(b);
            }
            r.map_err(|e| {
                MatchError::Invalid(format!("reading indicators from {}: {e}", p.display()))
            })?;
        }
        (None, Some(store)) => {
            // The seq first, then the counts: a version deleted after the
            // seq was read shows in the counts (`catch_up`).
            l.side.max_seq = store
                .max_seq()
                .map_err(store_err("reading the store's seq"))?;
            l.side.counts = version_counts(&*store)?;
            l.side.incremental = true;
            let cols: Vec<Option<String>> = if args.collections.is_empty() {
                vec![None]
            } else {
                args.collections.iter().cloned().map(Some).collect()
            };
            // An indicator stored once (most of them) is its own last
            // version: every version is read in one pass (no per-row look
            // for a newer version), except those of the indicators stored
            // more than once, whose last versions are read apart, exactly
            // (the store says which, after `max_seq`: every version up to
            // it is covered). The store is asked which on a handle of its
            // own while the reader starts on that bet (it holds when at
            // most `MAX_REPEATED` are; else it starts again through the
            // version filter).
            let max_seq = l.side.max_seq;
            // (A store that cannot tell reads through the version filter.)
            let exact = exact_only() || !store.lists_repeated_ids();
            let ids_handle = if exact {
                None
            } else {
                Some(
                    store
                        .new_handle()
                        .map_err(store_err("opening a second read handle"))?,
                )
            };
            let versions = if exact {
                VersionFilter::last()
            } else {
                VersionFilter::all()
            };
            // The readers: the store's handle and one more per thread,
            // each reading (and preparing) its share of the seq blocks.
            let n = threads.clamp(1, 64);
            let mut stores = vec![store];
            for _ in 1..n {
                stores.push(
                    stores[0]
                        .new_handle()
                        .map_err(store_err("opening a read handle"))?,
                );
            }
            let mut readers = Readers::spawn(stores, &cols, versions, max_seq, lists.clone());
            let repeated = match ids_handle {
                None => None,
                Some(h) => h
                    .ids_stored_more_than_once("indicator", MAX_REPEATED)
                    .map_err(store_err("reading the indicators stored more than once"))?,
            };
            match &repeated {
                Some(ids) => {
                    // The others are each read once: nothing to remember.
                    l.may_repeat = false;
                    l.skip = ids
                        .iter()
                        .filter_map(|i| accord_matcher::parse_indicator_id(i))
                        .collect();
                }
                None if !exact => {
                    // Too many: every indicator's last version through
                    // the store's version filter, from the start.
                    let stores = readers.stop()?;
                    readers = Readers::spawn(
                        stores,
                        &cols,
                        VersionFilter::last(),
                        max_seq,
                        lists.clone(),
                    );
                }
                None => {}
            }
            readers.apply(&mut l);
            let store = readers
                .stop()?
                .into_iter()
                .next()
                .expect("one reader at least");
            if let Some(ids) = repeated {
                l.skip.clear();
                l.may_repeat = true;
                read_last_versions(&*store, &ids, args, lists.as_deref(), &mut l)?;
            }
        }
        (None, None) => unreachable!("a store is opened when no file is given"),
    }
    let Loader { b, side, .. } = l;
    let mut side = side;
    side.source = source;
    // The loader's id and producer maps are dropped before the build,
    // which holds the keys and the laid-out index at once.
    let bytes = match &args.index {
        // Written to its file as it is laid out, then mapped.
        Some(ix) => IndexBytes::Mapped(write_index(ix, b, threads)?),
        None => IndexBytes::Owned(Box::new(
            b.build_with_threads(threads)
                .map_err(|e| MatchError::Invalid(format!("building the index: {e}")))?,
        )),
    };
    side.index_identity = identity(bytes.bytes());
    if let Some(ix) = &args.index {
        save_sidecar(ix, &side)?;
        // The changes saved over the previous base no longer apply (they
        // name its identity, so they would be ignored anyway).
        for p in [delta_path(ix), sidecar_path(&delta_path(ix))] {
            let _ = std::fs::remove_file(p);
        }
    }
    let evaluator = compile_evaluator(&side);
    Ok(Indicators {
        bytes,
        delta: None,
        side,
        evaluator,
        load_secs: start.elapsed().as_secs_f64(),
        reused: false,
        update: None,
    })
}

/// Builds the index into a temporary file of this process beside `ix`,
/// maps it, then renames it over `ix` (a reader sees the old index or the
/// new one, whole): the index is never laid out in memory besides.
fn write_index(ix: &Path, b: IndexBuilder, threads: usize) -> Result<memmap2::Mmap, MatchError> {
    let tmp = tmp_path(ix);
    let saving = || io_err(format!("saving the index to {}", ix.display()));
    let r = (|| {
        let f = std::fs::File::create(&tmp).map_err(saving())?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        b.build_to(threads, &mut w).map_err(|e| match e {
            accord_matcher::WriteError::Build(e) => {
                MatchError::Invalid(format!("building the index: {e}"))
            }
            accord_matcher::WriteError::Io(e) => saving()(e),
        })?;
        w.into_inner().map_err(|e| saving()(e.into_error()))?;
        // Mapped before the rename: the file this build wrote, whatever
        // another process renames over `ix` meanwhile.
        let map = map_file(&tmp)?;
        std::fs::rename(&tmp, ix).map_err(saving())?;
        Ok(map)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Writes an index's sidecar through a temporary file; it names the
/// index's identity, so a save cut short between the index and it
/// leaves a sidecar that is not used with the new index.
fn save_sidecar(ix: &Path, side: &Sidecar) -> Result<(), MatchError> {
    let side_path = sidecar_path(ix);
    let side_json = serde_json::to_vec(side)
        .map_err(|e| MatchError::Invalid(format!("writing {}: {e}", side_path.display())))?;
    write_atomically(&side_path, &side_json)
        .map_err(io_err(format!("saving {}", side_path.display())))
}

fn version_counts(
    store: &dyn accord_store::Backend,
) -> Result<std::collections::BTreeMap<String, u64>, MatchError> {
    Ok(store
        .collections()
        .map_err(store_err("reading the collections"))?
        .into_iter()
        .map(|c| (c.name, c.n_versions))
        .collect())
}

/// Brings a saved index up to date with the store: the indicators with a
/// version stored since it was saved are read again (their current
/// version, exactly as a fresh build reads it) into a small index over the
/// saved one, their saved entries masked. A saved delta (`saved`, the
/// changes up to its own `max_seq`) is used as it is when nothing was
/// stored since, and otherwise its indicators are read again with the new
/// ones. `None` when the index must be rebuilt: a version was deleted
/// since, or too many changed.
fn catch_up(
    store: &dyn accord_store::Backend,
    base: &IndexView<'_>,
    side: Sidecar,
    saved: Option<(SavedDelta, Index)>,
    args: &MatchOptions,
    now: i64,
    lists: Option<&accord_warninglist::WarninglistSet>,
) -> Result<Option<CaughtUp>, MatchError> {
    let counts = version_counts(store)?;
    let (from_seq, from_counts) = match &saved {
        Some((d, _)) => (d.max_seq, &d.counts),
        None => (side.max_seq, &side.counts),
    };
    // Every version stored since, of any type: counted per collection
    // (deletions), the indicators' ids kept.
    let mut added: std::collections::BTreeMap<String, u64> = Default::default();
    let mut changed: std::collections::BTreeSet<String> = Default::default();
    let mut last_seq = from_seq;
    let mut q = Query {
        versions: VersionFilter::all(),
        after_seq: from_seq,
        ..Query::default()
    };
    let limit = MAX_DELTA.max(base.indicator_count() / 20);
    loop {
        let page = store
            .query(&q, PAGE)
            .map_err(store_err("reading the versions stored since the index"))?;
        for o in &page.objects {
            *added.entry(o.collection.clone()).or_default() += 1;
            if o.type_name == "indicator"
                && (args.collections.is_empty() || args.collections.contains(&o.collection))
            {
                changed.insert(o.id.clone());
            }
        }
        if changed.len() > limit {
            return Ok(None);
        }
        match page.last_seq() {
            Some(s) => {
                last_seq = s;
                if !page.more {
                    break;
                }
                q.after_seq = s;
            }
            None => break,
        }
    }
    for (c, n) in &counts {
        let before = from_counts.get(c).copied().unwrap_or(0);
        if *n != before + added.get(c).copied().unwrap_or(0) {
            // A version was deleted since.
            return Ok(None);
        }
    }
    if from_counts.keys().any(|c| !counts.contains_key(c)) {
        return Ok(None);
    }
    if changed.is_empty() {
        return Ok(Some(match saved {
            None => CaughtUp {
                side,
                delta: None,
                update: None,
                save: None,
            },
            Some((d, index)) => {
                let mut masked = super::layers::bitset(base.indicator_count());
                for o in &d.masked {
                    set_bit_checked(&mut masked, *o, base.indicator_count());
                }
                let update = Update {
                    changed: d.ids.len() as u64,
                    replaced: d.masked.len() as u64,
                };
                let side = merge(side, d.side, &masked, update.replaced, base, now);
                CaughtUp {
                    side,
                    delta: Some(Delta { index, masked }),
                    update: Some(update),
                    save: None,
                }
            }
        }));
    }
    // With the indicators of the saved delta: all changed since the base.
    if let Some((d, _)) = &saved {
        changed.extend(d.ids.iter().cloned());
        if changed.len() > limit {
            return Ok(None);
        }
    }
    let ids: Vec<String> = changed.iter().cloned().collect();
    let mut l = Loader::new(now);
    read_last_versions(store, &ids, args, lists, &mut l)?;
    // The saved entries of the changed indicators.
    let wanted: std::collections::HashSet<[u8; 16]> = ids
        .iter()
        .filter_map(|i| accord_matcher::parse_indicator_id(i))
        .collect();
    let n = base.indicator_count();
    let mut masked = super::layers::bitset(n);
    let mut masked_ords = Vec::new();
    for ord in 0..n as u32 {
        if base.meta(ord).is_some_and(|m| wanted.contains(&m.id)) {
            super::layers::set_bit(&mut masked, ord);
            masked_ords.push(ord);
        }
    }
    let d = l.side;
    let index =
        l.b.build()
            .map_err(|e| MatchError::Invalid(format!("building the index of changes: {e}")))?;
    let update = Update {
        changed: ids.len() as u64,
        replaced: masked_ords.len() as u64,
    };
    let save = match (side.index_identity, identity(index.as_bytes())) {
        (Some(b), Some(di)) => Some(SavedDelta {
            base: b,
            delta: di,
            max_seq: last_seq,
            counts,
            ids,
            masked: masked_ords,
            side: d.clone(),
        }),
        _ => None,
    };
    let side = merge(side, d, &masked, update.replaced, base, now);
    Ok(Some(CaughtUp {
        side,
        delta: Some(Delta { index, masked }),
        update: Some(update),
        save,
    }))
}

/// Seqs per block read by one reader at a time.
const BLOCK: i64 = 8192;

/// The readers of a build: a thread per store handle, each reading its
/// share of the blocks (a collection's indicators with `seq` in one
/// block up to `max_seq`; the `k`th of `n` readers reads blocks `k`,
/// `k + n`, …) and preparing them as it reads, each with a channel of its
/// own: block `i` comes on channel `i % n`, so taking one from each in
/// turn gives them in a fresh build's order (collection by collection,
/// by seq). SQLite's reading and the preparing run on every thread; the
/// apply on the caller's.
struct Readers {
    threads: Vec<std::thread::JoinHandle<Result<Box<dyn accord_store::Backend>, MatchError>>>,
    rx: Vec<crossbeam_channel::Receiver<Batch>>,
    blocks: usize,
}

impl Readers {
    fn spawn(
        stores: Vec<Box<dyn accord_store::Backend>>,
        cols: &[Option<String>],
        versions: VersionFilter,
        max_seq: i64,
        lists: Option<std::sync::Arc<accord_warninglist::WarninglistSet>>,
    ) -> Readers {
        let mut blocks = Vec::new();
        for c in cols {
            let mut lo = 0;
            while lo < max_seq {
                let hi = lo.saturating_add(block_seqs()).min(max_seq);
                blocks.push((c.clone(), lo, hi));
                lo = hi;
            }
        }
        let n = stores.len();
        let count = blocks.len();
        let blocks = std::sync::Arc::new(blocks);
        let mut threads = Vec::with_capacity(n);
        let mut rx = Vec::with_capacity(n);
        for (k, store) in stores.into_iter().enumerate() {
            // A few blocks ahead: the readers start before the apply does.
            let (tx, r) = crossbeam_channel::bounded::<Batch>(4);
            let (blocks, versions, lists) = (blocks.clone(), versions.clone(), lists.clone());
            threads.push(std::thread::spawn(move || -> Result<_, MatchError> {
                for (c, lo, hi) in blocks.iter().skip(k).step_by(n) {
                    let q = Query {
                        collection: c.clone(),
                        types: vec!["indicator".into()],
                        versions: versions.clone(),
                        after_seq: *lo,
                        ..Query::default()
                    };
                    let mut out = Batch::default();
                    store
                        .each_raw_until(&q, *hi, &mut |_, text| {
                            out.prepare(text, lists.as_deref());
                        })
                        .map_err(store_err("reading indicators"))?;
                    if tx.send(out).is_err() {
                        return Ok(store);
                    }
                }
                Ok(store)
            }));
            rx.push(r);
        }
        Readers {
            threads,
            rx,
            blocks: count,
        }
    }

    /// Applies every block to `l`, in order (until a reader stops on an
    /// error, which [`Readers::stop`] then gives).
    fn apply(&self, l: &mut Loader) {
        for i in 0..self.blocks {
            match self.rx[i % self.rx.len()].recv() {
                Ok(b) => l.apply_batch(b),
                Err(_) => return,
            }
        }
    }

    /// Stops the readers (those still reading stop at their next block)
    /// and gives the store handles back, in order; the first error of a
    /// reader, if any.
    fn stop(self) -> Result<Vec<Box<dyn accord_store::Backend>>, MatchError> {
        drop(self.rx);
        let mut stores = Vec::with_capacity(self.threads.len());
        let mut first_err = None;
        for t in self.threads {
            match t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)) {
                Ok(s) => stores.push(s),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(stores),
        }
    }
}

/// Reads the last versions of `ids` into `l`, in a fresh build's order:
/// collection by collection, by seq (the loader keeps the first one read).
fn read_last_versions(
    store: &dyn accord_store::Backend,
    ids: &[String],
    args: &MatchOptions,
    lists: Option<&accord_warninglist::WarninglistSet>,
    l: &mut Loader,
) -> Result<(), MatchError> {
    let cols: Vec<Option<String>> = if args.collections.is_empty() {
        vec![None]
    } else {
        args.collections.iter().cloned().map(Some).collect()
    };
    for c in cols {
        let mut rows = Vec::new();
        for chunk in ids.chunks(500) {
            let mut q = Query {
                collection: c.clone(),
                ids: chunk.to_vec(),
                types: vec!["indicator".into()],
                versions: VersionFilter::last(),
                ..Query::default()
            };
            loop {
                let page = store
                    .query_raw(&q, PAGE)
                    .map_err(store_err("reading the last versions of indicators"))?;
                let next = page.last_seq();
                let more = page.more;
                rows.extend(page.objects);
                match next {
                    Some(s) if more => q.after_seq = s,
                    _ => break,
                }
            }
        }
        rows.sort_by_key(|o| o.0);
        let texts: Vec<&str> = rows.iter().map(|o| o.1.as_str()).collect();
        for b in prepare_all(&texts, lists, args.threads.max(1)) {
            l.apply_batch(b);
        }
    }
    Ok(())
}

/// Sets bit `o` when it is a base ordinal (a saved delta is read from a file).
fn set_bit_checked(bits: &mut [u64], o: u32, n: usize) {
    if (o as usize) < n {
        super::layers::set_bit(bits, o);
    }
}

/// The base's sidecar with a delta's merged in: the delta's ordinals
/// follow the base's, the masked base entries' part of the counts taken out.
fn merge(
    mut side: Sidecar,
    d: Sidecar,
    masked: &[u64],
    replaced: u64,
    base: &IndexView<'_>,
    now: i64,
) -> Sidecar {
    let n = base.indicator_count();
    let base_n = n as u32;
    let off = side.producers.len() as u32;
    side.producers.extend(d.producers);
    side.ord_producer.extend(
        d.ord_producer
            .into_iter()
            .map(|p| if p == u32::MAX { p } else { p + off }),
    );
    // The replaced entries' part of the saved counts.
    let is_masked = |o: u32| (o as usize) < n && masked[o as usize / 64] & (1 << (o % 64)) != 0;
    let replaced_evaluated = side
        .evaluator
        .iter()
        .filter(|(o, _, _)| is_masked(*o))
        .count() as u64;
    let replaced_dead = (0..n as u32)
        .filter(|o| is_masked(*o) && base.meta(*o).is_some_and(|m| !m.is_live(now)))
        .count() as u64;
    side.evaluator.retain(|(o, _, _)| !is_masked(*o));
    side.evaluator.extend(
        d.evaluator
            .into_iter()
            .map(|(o, src, v20)| (o + base_n, src, v20)),
    );
    side.not_before = match (side.not_before, d.not_before) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let st = &mut side.stats;
    st.indicators = (st.indicators + d.stats.indicators).saturating_sub(replaced);
    st.keyed = (st.keyed + d.stats.keyed).saturating_sub(replaced - replaced_evaluated);
    st.evaluated = (st.evaluated + d.stats.evaluated).saturating_sub(replaced_evaluated);
    st.dead = (st.dead + d.stats.dead).saturating_sub(replaced_dead);
    st.not_stix += d.stats.not_stix;
    st.bad_pattern += d.stats.bad_pattern;
    st.bad_keys += d.stats.bad_keys;
    st.not_indicators += d.stats.not_indicators;
    st.warninglisted += d.stats.warninglisted;
    side
}

fn delta_path(ix: &Path) -> PathBuf {
    let mut s = ix.as_os_str().to_owned();
    s.push(".delta");
    PathBuf::from(s)
}

/// The delta saved over the base of `base_identity`, when it is whole and
/// still applies at `now`.
fn read_saved_delta(
    ix: &Path,
    base_identity: Option<(u64, u64)>,
    now: i64,
) -> Option<(SavedDelta, Index)> {
    let p = delta_path(ix);
    let sd: SavedDelta = serde_json::from_slice(&std::fs::read(sidecar_path(&p)).ok()?).ok()?;
    if Some(sd.base) != base_identity || sd.side.not_before.is_some_and(|nb| now >= nb) {
        return None;
    }
    let bytes = std::fs::read(&p).ok()?;
    if identity(&bytes) != Some(sd.delta) {
        return None;
    }
    // Index::from_vec checks the header and body checksums.
    let index = Index::from_vec(bytes).ok()?;
    Some((sd, index))
}

/// Writes a delta's index and its description, each through a temporary
/// file; the description names the index's identity, so a save cut short
/// between the two is never used.
fn save_delta(ix: &Path, index: &Index, sd: &SavedDelta) -> Result<(), MatchError> {
    let p = delta_path(ix);
    write_atomically(&p, index.as_bytes()).map_err(io_err(format!(
        "saving the index changes to {}",
        p.display()
    )))?;
    let sp = sidecar_path(&p);
    let json = serde_json::to_vec(sd)
        .map_err(|e| MatchError::Invalid(format!("writing {}: {e}", sp.display())))?;
    write_atomically(&sp, &json).map_err(io_err(format!("saving {}", sp.display())))
}

/// Writes `bytes` to a temporary file of this process beside `p`, then
/// renames it over `p`: a reader sees the old file or the new one, whole.
pub(crate) fn write_atomically(p: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = tmp_path(p);
    let r = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, p));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// A temporary name beside `p`, of this process's own: two processes
/// saving the same file at once each rename a whole file.
fn tmp_path(p: &Path) -> PathBuf {
    let mut tmp = p.as_os_str().to_owned();
    tmp.push(format!(".tmp.{}", std::process::id()));
    PathBuf::from(tmp)
}

fn sidecar_path(ix: &Path) -> PathBuf {
    let mut s = ix.as_os_str().to_owned();
    s.push(".meta.json");
    PathBuf::from(s)
}

fn compile_evaluator(side: &Sidecar) -> Vec<(u32, Pattern)> {
    side.evaluator
        .iter()
        .filter_map(|(ord, src, v20)| {
            let p = if *v20 {
                Pattern::new_v20(src)
            } else {
                Pattern::new(src)
            };
            p.ok().map(|p| (*ord, p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_store::{Backend, NewObject, SqliteStore};
    use std::collections::{BTreeMap, BTreeSet};

    const NOW: i64 = 1_800_000_000;

    fn indicator(uuid: u32, modified: &str, pattern: &str, revoked: bool) -> String {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-8000-{uuid:012x}"),
            "created": "2026-01-01T00:00:00.000Z", "modified": modified,
            "pattern": pattern, "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "revoked": revoked,
        })
        .to_string()
    }

    fn put(store: &dyn Backend, collection: &str, texts: &[String]) {
        let vals: Vec<serde_json::Value> = texts
            .iter()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect();
        let objs: Vec<NewObject<'_>> = texts
            .iter()
            .zip(&vals)
            .map(|(t, v)| NewObject {
                raw: t,
                id: v["id"].as_str().unwrap(),
                type_name: v["type"].as_str().unwrap(),
                spec_version: "2.1",
                created: v["created"].as_str(),
                modified: v["modified"].as_str(),
                markings: Vec::new(),
                collection,
                origin: "local",
            })
            .collect();
        store.writer().put_batch(&objs).unwrap();
    }

    fn opts(data: &Path, index: Option<PathBuf>) -> MatchOptions {
        MatchOptions {
            logs: Vec::new(),
            data: data.to_path_buf(),
            indicators: None,
            collections: Vec::new(),
            log_options: Default::default(),
            since: None,
            out: None,
            hits: None,
            evidence: false,
            threads: 2,
            follow: false,
            flush: 60,
            follow_for: None,
            index,
            window: 3600,
            no_sightings: true,
            node_config: None,
            warninglists: None,
        }
    }

    /// Every probe value → the ids of the live indicators it matches
    /// (through the index or the evaluator's patterns).
    fn matches(ind: &Indicators) -> BTreeMap<String, BTreeSet<String>> {
        let view = ind.view().unwrap();
        let mut out = BTreeMap::new();
        for i in 0..40u32 {
            let ip = format!("10.0.{}.{}", i / 256, i % 256);
            let mut hits = Vec::new();
            view.lookup_ip(ip.parse().unwrap(), &mut hits);
            let d = format!("www.d{i}.example");
            view.lookup_domain(d.as_bytes(), &mut hits);
            let ids: BTreeSet<String> = hits
                .into_iter()
                .filter(|o| view.is_live(*o, NOW))
                .map(|o| view.indicator_id_string(o).unwrap())
                .collect();
            out.insert(format!("{ip} {d}"), ids);
        }
        let evaluated: BTreeSet<String> = ind
            .side
            .evaluator
            .iter()
            .filter(|(o, _, _)| view.is_live(*o, NOW))
            .map(|(o, p, _)| format!("{} {p}", view.indicator_id_string(*o).unwrap()))
            .collect();
        out.insert("evaluator".into(), evaluated);
        out
    }

    fn open(p: &Path) -> Result<Box<dyn Backend>, accord_store::StoreError> {
        Ok(Box::new(SqliteStore::open(p)?))
    }

    #[test]
    fn an_incremental_update_matches_a_fresh_build() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store: Box<dyn Backend> = Box::new(SqliteStore::open(&data).unwrap());
        let store = &*store;
        let t0 = "2026-01-01T00:00:00.000Z";
        let base: Vec<String> = (0..30)
            .map(|i| indicator(i, t0, &format!("[ipv4-addr:value = '10.0.0.{i}']"), false))
            .collect();
        put(store, "a", &base);
        put(store, "b", &base[..5]);
        let ix = dir.path().join("index.bin");
        let first = load_indicators(&opts(&data, Some(ix.clone())), &open, NOW).unwrap();
        assert!(!first.reused);
        // Nothing changed: reused as is.
        let again = load_indicators(&opts(&data, Some(ix.clone())), &open, NOW).unwrap();
        assert!(again.reused && again.update.is_none());
        assert_eq!(matches(&again), matches(&first));

        let t1 = "2026-02-01T00:00:00.000Z";
        put(
            store,
            "a",
            &[
                // Added.
                indicator(100, t0, "[domain-name:value = 'd7.example']", false),
                // Revoked.
                indicator(11, t1, "[ipv4-addr:value = '10.0.0.11']", true),
                // Modified: a new pattern.
                indicator(2, t1, "[ipv4-addr:value = '10.0.0.33']", false),
                // Modified to a pattern for the evaluator.
                indicator(
                    12,
                    t1,
                    "[ipv4-addr:value = '10.0.0.12' AND domain-name:value = 'x.example']",
                    false,
                ),
                // An older version stored late: the last version stays.
                indicator(
                    13,
                    "2025-06-01T00:00:00.000Z",
                    "[ipv4-addr:value = '10.0.0.39']",
                    false,
                ),
                // Revoked in `a` only: its version in `b` was read first
                // and is kept, as in a fresh build.
                indicator(1, t1, "[ipv4-addr:value = '10.0.0.1']", true),
            ],
        );
        // In collection b too: the first read (lowest seq) is kept.
        put(
            store,
            "b",
            &[indicator(2, t1, "[ipv4-addr:value = '10.0.0.34']", false)],
        );
        let inc = load_indicators(&opts(&data, Some(ix.clone())), &open, NOW).unwrap();
        let u = inc.update.expect("updated incrementally");
        assert_eq!((u.changed, u.replaced), (6, 5));
        let fresh = load_indicators(&opts(&data, None), &open, NOW).unwrap();
        assert!(!fresh.reused);
        let (a, b) = (matches(&inc), matches(&fresh));
        assert_eq!(a, b);
        assert!(a["10.0.0.33 www.d33.example"].len() == 1);
        assert!(a["10.0.0.11 www.d11.example"].is_empty());
        assert!(a["10.0.0.12 www.d12.example"].is_empty());
        assert!(a["10.0.0.2 www.d2.example"].is_empty());
        assert_eq!(a["10.0.0.1 www.d1.example"].len(), 1);
        assert_eq!(a["10.0.0.7 www.d7.example"].len(), 2);
        assert_eq!(a["evaluator"].len(), 1);
        assert_eq!(a["10.0.0.13 www.d13.example"].len(), 1);
        assert!(a["10.0.0.39 www.d39.example"].is_empty());

        // Deleted: the index is rebuilt, and agrees.
        let id7 = format!("indicator--00000000-0000-4000-8000-{:012x}", 7);
        store
            .writer()
            .delete("a", &id7, &VersionFilter::all())
            .unwrap();
        let after = load_indicators(&opts(&data, Some(ix.clone())), &open, NOW).unwrap();
        assert!(!after.reused, "a deletion rebuilds");
        let fresh = load_indicators(&opts(&data, None), &open, NOW).unwrap();
        assert_eq!(matches(&after), matches(&fresh));
        assert!(matches(&after)["10.0.0.7 www.d7.example"].len() == 1);
        // And the rebuilt index is reused next time.
        let next = load_indicators(&opts(&data, Some(ix)), &open, NOW).unwrap();
        assert!(next.reused);
        assert_eq!(matches(&next), matches(&fresh));
    }

    #[test]
    fn a_build_reading_every_version_once_equals_the_version_filter() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store: Box<dyn Backend> = Box::new(SqliteStore::open(&data).unwrap());
        let store = &*store;
        let (t0, t1, t2) = (
            "2026-01-01T00:00:00.000Z",
            "2026-02-01T00:00:00.000Z",
            "2026-03-01T00:00:00.000Z",
        );
        let ip = |i: u32| format!("[ipv4-addr:value = '10.0.0.{i}']");
        let base: Vec<String> = (0..30).map(|i| indicator(i, t0, &ip(i), false)).collect();
        put(store, "a", &base);
        put(
            store,
            "a",
            &[
                // Newer versions: revoked, another pattern, a bad pattern,
                // a pattern for the evaluator.
                indicator(1, t1, &ip(1), true),
                indicator(2, t1, &ip(32), false),
                indicator(3, t1, "[ipv4-addr:value = ", false),
                indicator(
                    4,
                    t1,
                    "[ipv4-addr:value = '10.0.0.4' AND domain-name:value = 'x.example']",
                    false,
                ),
                // An older version stored late, then a newer one.
                indicator(5, "2025-01-01T00:00:00.000Z", &ip(35), false),
                indicator(6, t2, &ip(36), false),
                indicator(6, t1, &ip(37), false),
            ],
        );
        // In another collection: an older version there, read first or not.
        put(
            store,
            "b",
            &[
                indicator(7, t1, &ip(38), true),
                indicator(100, t0, &ip(39), false),
            ],
        );
        put(store, "b", &[indicator(100, t1, &ip(20), false)]);
        let repeated = store
            .ids_stored_more_than_once("indicator", 1000)
            .unwrap()
            .unwrap();
        assert_eq!(repeated.len(), 8, "{repeated:?}");
        assert_eq!(
            store.ids_stored_more_than_once("indicator", 7).unwrap(),
            None
        );
        for collections in [
            vec![],
            vec!["b".to_string(), "a".to_string()],
            vec!["a".to_string()],
        ] {
            let mut o = opts(&data, None);
            o.collections = collections.clone();
            let once = load_indicators(&o, &open, NOW).unwrap();
            EXACT_ONLY.with(|e| e.set(true));
            let exact = load_indicators(&o, &open, NOW).unwrap();
            EXACT_ONLY.with(|e| e.set(false));
            assert_eq!(matches(&once), matches(&exact), "{collections:?}");
            assert_eq!(
                serde_json::to_string(&once.side.stats).unwrap(),
                serde_json::to_string(&exact.side.stats).unwrap(),
                "{collections:?}"
            );
            let m = matches(&once);
            assert!(m["10.0.0.1 www.d1.example"].is_empty());
            assert_eq!(m["10.0.0.32 www.d32.example"].len(), 1);
            assert_eq!(m["10.0.0.36 www.d36.example"].len(), 1);
            assert!(m["10.0.0.37 www.d37.example"].is_empty());
        }
    }

    #[test]
    fn readers_over_seq_blocks_build_the_index_of_one_reader() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store: Box<dyn Backend> = Box::new(SqliteStore::open(&data).unwrap());
        let store = &*store;
        let (t0, t1) = ("2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z");
        let ip = |i: u32| format!("[ipv4-addr:value = '10.0.0.{i}']");
        let other = |ty: &str, i: u32| {
            serde_json::json!({
                "type": ty, "spec_version": "2.1",
                "id": format!("{ty}--00000000-0000-4000-8000-{i:012x}"),
                "created": t0, "modified": t0, "name": "x",
            })
            .to_string()
        };
        // Indicators between other objects, in two collections, some
        // stored again (revoked, another pattern, an older version late).
        for round in 0..3u32 {
            let mut batch: Vec<String> = Vec::new();
            for i in 0..12 {
                let n = round * 12 + i;
                batch.push(indicator(n, t0, &ip(n), false));
                if i % 3 == 0 {
                    batch.push(other("malware", n));
                }
            }
            put(store, "a", &batch);
            put(
                store,
                "b",
                &[
                    other("identity", round),
                    indicator(100 + round, t0, &ip(100 + round), false),
                ],
            );
        }
        put(
            store,
            "a",
            &[
                indicator(1, t1, &ip(1), true),
                indicator(2, t1, &ip(38), false),
                indicator(3, "2025-01-01T00:00:00.000Z", &ip(39), false),
                indicator(
                    4,
                    t1,
                    "[ipv4-addr:value = '10.0.0.4' AND domain-name:value = 'x.example']",
                    false,
                ),
            ],
        );
        put(
            store,
            "b",
            &[
                indicator(5, t1, &ip(5), true),
                indicator(100, t1, &ip(37), false),
            ],
        );
        let bytes = |i: &Indicators| match &i.bytes {
            IndexBytes::Owned(x) => x.as_bytes().to_vec(),
            IndexBytes::Mapped(m) => m.to_vec(),
        };
        for collections in [vec![], vec!["b".to_string(), "a".to_string()]] {
            for exact in [false, true] {
                EXACT_ONLY.with(|e| e.set(exact));
                let mut o = opts(&data, None);
                o.collections = collections.clone();
                o.threads = 1;
                let one = load_indicators(&o, &open, NOW).unwrap();
                for (threads, block) in [(2, 1), (2, 5), (3, 2), (3, 7), (1, 4)] {
                    BLOCK_SEQS.with(|b| b.set(block));
                    o.threads = threads;
                    let many = load_indicators(&o, &open, NOW).unwrap();
                    BLOCK_SEQS.with(|b| b.set(BLOCK));
                    let what = format!(
                        "{collections:?} exact {exact}, {threads} threads, blocks of {block}"
                    );
                    assert_eq!(bytes(&many), bytes(&one), "{what}");
                    assert_eq!(
                        serde_json::to_string(&many.side).unwrap(),
                        serde_json::to_string(&one.side).unwrap(),
                        "{what}"
                    );
                }
                EXACT_ONLY.with(|e| e.set(false));
                let m = matches(&one);
                assert!(m["10.0.0.1 www.d1.example"].is_empty());
                assert_eq!(m["10.0.0.38 www.d38.example"].len(), 1);
                assert_eq!(m["10.0.0.3 www.d3.example"].len(), 1);
                assert_eq!(m["evaluator"].len(), 1);
                assert_eq!(one.side.stats.not_indicators, 0);
            }
        }
    }

    fn lists(sha: &str, list: &str) -> crate::warninglists::NodeLists {
        let text = format!(
            r#"{{"name":"DNS","description":"d","version":1,"type":"cidr","list":[{list}],"matching_attributes":["ip-dst","ip-src"]}}"#
        );
        let l = accord_warninglist::parse_list(text.as_bytes(), "dns.json", &Default::default())
            .unwrap();
        crate::warninglists::NodeLists {
            set: std::sync::Arc::new(
                accord_warninglist::WarninglistSet::build_with_ids(
                    vec![("dns".to_string(), l)],
                    &Default::default(),
                )
                .unwrap(),
            ),
            sha256: sha.into(),
        }
    }

    #[test]
    fn an_incremental_update_applies_the_warninglists_and_new_lists_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store: Box<dyn Backend> = Box::new(SqliteStore::open(&data).unwrap());
        let store = &*store;
        let t0 = "2026-01-01T00:00:00.000Z";
        put(
            store,
            "a",
            &[indicator(0, t0, "[ipv4-addr:value = '10.0.0.0']", false)],
        );
        let ix = dir.path().join("index.bin");
        let with = |sha: &str, list: &str, index: bool| {
            let mut o = opts(&data, index.then(|| ix.clone()));
            o.warninglists = Some(lists(sha, list));
            o
        };
        load_indicators(&with("one", r#""10.0.0.5""#, true), &open, NOW).unwrap();
        // Added after the save: one listed, one not.
        put(
            store,
            "a",
            &[
                indicator(5, t0, "[ipv4-addr:value = '10.0.0.5']", false),
                indicator(6, t0, "[ipv4-addr:value = '10.0.0.6']", false),
            ],
        );
        let inc = load_indicators(&with("one", r#""10.0.0.5""#, true), &open, NOW).unwrap();
        assert!(inc.reused && inc.update.is_some());
        assert_eq!(inc.side.stats.warninglisted, 1);
        let fresh = load_indicators(&with("one", r#""10.0.0.5""#, false), &open, NOW).unwrap();
        assert_eq!(matches(&inc), matches(&fresh));
        assert!(matches(&inc)["10.0.0.5 www.d5.example"].is_empty());
        assert_eq!(matches(&inc)["10.0.0.6 www.d6.example"].len(), 1);
        // Other lists: rebuilt under them.
        let other = with("two", r#""10.0.0.6""#, true);
        let re = load_indicators(&other, &open, NOW).unwrap();
        assert!(!re.reused);
        let m = matches(&re);
        assert_eq!(m["10.0.0.5 www.d5.example"].len(), 1);
        assert!(m["10.0.0.6 www.d6.example"].is_empty());
    }
}
