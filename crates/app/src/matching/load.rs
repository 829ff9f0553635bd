//! Indicators for matching: read from the store or a file through the one
//! indicator path ([`crate::indicators`]), built into an index, and the
//! index cache (`--index FILE` and its `FILE.meta.json` sidecar).

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
#[derive(Default, Serialize, Deserialize)]
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
}

pub(crate) struct Loader {
    pub(crate) b: IndexBuilder,
    now: i64,
    pub(crate) side: Sidecar,
    producer_ix: std::collections::HashMap<String, u32>,
    seen: std::collections::HashMap<[u8; 16], u32>,
    /// Indicators on these lists are left out of the index.
    pub(crate) warninglists: Option<std::sync::Arc<accord_warninglist::WarninglistSet>>,
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
        }
    }

    pub(crate) fn add(&mut self, text: &str) {
        let Some(ind) = indicators::read(text) else {
            self.side.stats.not_indicators += 1;
            return;
        };
        let id = ind.id_bytes;
        // Several versions of one indicator (a store with VersionFilter::last()
        // gives one per collection): the first one read is kept.
        self.side.stats.indicators += 1;
        let Some(pattern) = ind.stix_pattern else {
            self.side.stats.not_stix += 1;
            return;
        };
        let Some(src) = pattern.as_deref() else {
            self.side.stats.bad_pattern += 1;
            return;
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
        if self.seen.contains_key(&id) {
            // A second version: ignore (the store's last version came first
            // per collection; a file's duplicates are rare).
            self.side.stats.indicators -= 1;
            return;
        }
        let Some((compiled, hits)) =
            indicators::compile_with(src, ind.v20, self.warninglists.as_deref())
        else {
            self.side.stats.bad_pattern += 1;
            if self.side.stats.bad_pattern_ids.len() < NAMED_SKIPS {
                self.side.stats.bad_pattern_ids.push(ind.id.to_string());
            }
            return;
        };
        if !hits.is_empty() {
            // Left out at build time: a warninglisted indicator costs
            // nothing per event.
            self.side.stats.warninglisted += 1;
            for h in hits {
                *self
                    .side
                    .stats
                    .warninglisted_lists
                    .entry(h.list.to_string())
                    .or_default() += 1;
            }
            self.seen.insert(id, u32::MAX);
            return;
        }
        let ord = self.b.add_indicator(meta);
        self.seen.insert(id, ord);
        let p = match ind.created_by_ref.as_deref() {
            Some(p) => {
                let n = self.producer_ix.len() as u32;
                let ix = *self.producer_ix.entry(p.to_owned()).or_insert(n);
                if ix == n {
                    self.side.producers.push(p.to_owned());
                }
                ix
            }
            None => u32::MAX,
        };
        self.side.ord_producer.push(p);
        match compiled {
            CompiledPattern::Keys(keys, bad) => {
                self.side.stats.keyed += 1;
                self.side.stats.bad_keys += bad;
                for k in keys {
                    if self.b.add_key(ord, k).is_err() {
                        self.side.stats.bad_keys += 1;
                    }
                }
            }
            CompiledPattern::NeedsEvaluator => {
                self.side.stats.evaluated += 1;
                self.side.evaluator.push((ord, src.to_owned(), ind.v20));
            }
        }
    }
}

/// Calls `f` on each object text of a bundle / single object / JSON-lines file.
fn each_object(bytes: &[u8], mut f: impl FnMut(&str)) -> Result<(), String> {
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

pub struct Indicators {
    bytes: IndexBytes,
    pub(crate) side: Sidecar,
    pub(crate) evaluator: Vec<(u32, Pattern)>,
    pub(crate) load_secs: f64,
    pub(crate) reused: bool,
}

impl Indicators {
    /// The index.
    ///
    /// # Errors
    /// [`MatchError::Invalid`] when a mapped index file is malformed.
    pub fn view(&self) -> Result<IndexView<'_>, MatchError> {
        match &self.bytes {
            IndexBytes::Owned(i) => Ok(i.view()),
            IndexBytes::Mapped(m) => IndexView::from_bytes(m)
                .map_err(|e| MatchError::Invalid(format!("reading the index file: {e}"))),
        }
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
    if let Some(ix) = &args.index {
        let side_path = sidecar_path(ix);
        let side: Option<Sidecar> = std::fs::read(&side_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|s: &Sidecar| s.source == source);
        let fresh = match (&side, &args.indicators) {
            (None, _) => false,
            // A file: the index is newer than it.
            (Some(_), Some(_)) => match (mtime(ix), mtime(&side_path), source_time) {
                (Some(a), Some(b), Some(s)) => a > s && b > s,
                _ => false,
            },
            // The store: no indicator version was stored since.
            (Some(side), None) => {
                let store = open(&args.data).map_err(store_err(format!(
                    "opening the data directory {}",
                    args.data.display()
                )))?;
                let q = Query {
                    types: vec!["indicator".into()],
                    versions: VersionFilter::all(),
                    after_seq: side.max_seq,
                    ..Query::default()
                };
                store
                    .query(&q, 1)
                    .map(|p| p.objects.is_empty())
                    .unwrap_or(false)
            }
        };
        // An indicator left out as not yet valid has become valid.
        let fresh = fresh
            && side
                .as_ref()
                .and_then(|s| s.not_before)
                .is_none_or(|nb| now < nb);
        if let (true, Some(side)) = (fresh, side) {
            let map = map_file(ix)?;
            IndexView::from_bytes(&map)
                .map_err(|e| MatchError::Invalid(format!("reading the index file: {e}")))?;
            let evaluator = compile_evaluator(&side);
            return Ok(Indicators {
                bytes: IndexBytes::Mapped(map),
                side,
                evaluator,
                load_secs: start.elapsed().as_secs_f64(),
                reused: true,
            });
        }
    }
    let mut l = Loader::new(now);
    l.warninglists = args.warninglists.as_ref().map(|w| w.set.clone());
    match &args.indicators {
        Some(p) => {
            let src = crate::input::Source::open(p)?;
            each_object(src.bytes(), |t| l.add(t)).map_err(|e| {
                MatchError::Invalid(format!("reading indicators from {}: {e}", p.display()))
            })?;
        }
        None => {
            // The opener refuses a directory without a store (it never
            // creates one for a match).
            let store = open(&args.data).map_err(store_err(format!(
                "opening the data directory {}",
                args.data.display()
            )))?;
            let cols: Vec<Option<String>> = if args.collections.is_empty() {
                vec![None]
            } else {
                args.collections.iter().cloned().map(Some).collect()
            };
            for c in cols {
                let mut q = Query {
                    collection: c,
                    types: vec!["indicator".into()],
                    versions: VersionFilter::last(),
                    ..Query::default()
                };
                loop {
                    let page = store
                        .query(&q, 8192)
                        .map_err(store_err("reading indicators"))?;
                    for o in &page.objects {
                        l.side.max_seq = l.side.max_seq.max(o.seq);
                        l.add(&o.raw);
                    }
                    match page.last_seq() {
                        Some(s) if page.more => q.after_seq = s,
                        _ => break,
                    }
                }
            }
        }
    }
    let mut side = l.side;
    side.source = source;
    let index =
        l.b.build()
            .map_err(|e| MatchError::Invalid(format!("building the index: {e}")))?;
    if let Some(ix) = &args.index {
        let tmp = ix.with_extension("tmp");
        std::fs::write(&tmp, index.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, ix))
            .map_err(io_err(format!("saving the index to {}", ix.display())))?;
        let side_json = serde_json::to_vec(&side).unwrap_or_default();
        std::fs::write(sidecar_path(ix), side_json)
            .map_err(io_err(format!("saving {}", sidecar_path(ix).display())))?;
    }
    let evaluator = compile_evaluator(&side);
    Ok(Indicators {
        bytes: IndexBytes::Owned(Box::new(index)),
        side,
        evaluator,
        load_secs: start.elapsed().as_secs_f64(),
        reused: false,
    })
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
