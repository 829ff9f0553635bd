//! The match indexes a node keeps in `DATA_DIR/match-index/`: where each
//! is (one per set of collections and warninglist choice, [`default_path`]),
//! and bringing them up to date with the store ([`refresh`]) after
//! indicators arrive, so the next `accord match` maps a fresh index
//! instead of building one. The index itself, its sidecar and the delta
//! saved over it are [`super::load`]'s.

use super::{MatchError, MatchOptions, OpenStore, io_err};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The directory of a data directory's match indexes.
pub const DIR: &str = "match-index";

/// What a kept index holds: the indicators of these collections (all when
/// empty), with or without those on the node's warninglists. Saved beside
/// the index as `<NAME>.idx.key.json`, so a refresh knows what to rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexKey {
    /// Sorted, without duplicates.
    pub collections: Vec<String>,
    /// `accord match --include-warninglisted`.
    pub include_warninglisted: bool,
}

impl IndexKey {
    /// The key of a match over `collections`.
    pub fn new(collections: &[String], include_warninglisted: bool) -> IndexKey {
        let mut collections = collections.to_vec();
        collections.sort();
        collections.dedup();
        IndexKey {
            collections,
            include_warninglisted,
        }
    }

    /// The index file's name: a digest of the key.
    pub fn file_name(&self) -> String {
        let key = format!(
            "collections={};warninglisted={}",
            self.collections.join("\n"),
            self.include_warninglisted
        );
        let digest = sha2::Sha256::digest(key.as_bytes());
        let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("{name}.idx")
    }
}

fn key_path(ix: &Path) -> PathBuf {
    let mut s = ix.as_os_str().to_owned();
    s.push(".key.json");
    PathBuf::from(s)
}

/// The index file of `key` in `data`'s `match-index/` directory, made if
/// needed, with its key saved beside it.
///
/// # Errors
/// [`MatchError::Io`] when the directory or the key file cannot be written.
pub fn default_path(data: &Path, key: &IndexKey) -> Result<PathBuf, MatchError> {
    let dir = data.join(DIR);
    std::fs::create_dir_all(&dir).map_err(io_err(format!("making {}", dir.display())))?;
    let ix = dir.join(key.file_name());
    let kp = key_path(&ix);
    let current = std::fs::read(&kp)
        .ok()
        .and_then(|b| serde_json::from_slice::<IndexKey>(&b).ok());
    if current.as_ref() != Some(key) {
        let json = serde_json::to_vec(key)
            .map_err(|e| MatchError::Invalid(format!("writing {}: {e}", kp.display())))?;
        super::load::write_atomically(&kp, &json)
            .map_err(io_err(format!("saving {}", kp.display())))?;
    }
    Ok(ix)
}

/// The indexes kept in `data`'s `match-index/`: each index file with a
/// key beside it that names it (an index without one is left alone).
pub fn kept(data: &Path) -> Vec<(IndexKey, PathBuf)> {
    let dir = data.join(DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(IndexKey, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let ix = name.strip_suffix(".key.json")?;
            let key: IndexKey = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            // A key file must name its own index (never a path elsewhere).
            (key.file_name() == ix).then(|| (key, dir.join(ix)))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// What a refresh did to one index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// Nothing stored since it was saved.
    Unchanged,
    /// The indicators changed since the base was saved were read and
    /// saved beside it (a delta).
    Updated {
        /// Indicators changed since the base was saved.
        changed: u64,
    },
    /// Built from the store and saved (none was kept, it did not match
    /// the store any more, or the changes passed the delta's bound).
    Built {
        /// Indicators read.
        indicators: u64,
    },
}

/// One index refreshed.
#[derive(Debug, Clone)]
pub struct Refresh {
    /// The index file.
    pub path: PathBuf,
    /// What was done.
    pub what: Refreshed,
    /// How long it took, seconds.
    pub secs: f64,
}

/// Brings the index of `key` up to date with the store in `data` (the
/// node's warninglists applied unless the key includes them), exactly as
/// the next `accord match` over that key would, and saves it: a rebuild is
/// saved as a new base, changes as a delta beside it. `threads`: how many
/// threads prepare indicators (a background refresh gives 1).
///
/// # Errors
/// [`MatchError`] naming the store or file that failed.
pub fn refresh(
    data: &Path,
    key: &IndexKey,
    open: OpenStore<'_>,
    now_unix: i64,
    threads: usize,
) -> Result<Refresh, MatchError> {
    let start = Instant::now();
    let path = default_path(data, key)?;
    let warninglists = if key.include_warninglisted {
        None
    } else {
        crate::warninglists::load(data)
            .map_err(|e| MatchError::Invalid(format!("reading the warninglists: {e}")))?
    };
    let opts = MatchOptions {
        logs: Vec::new(),
        data: data.to_path_buf(),
        indicators: None,
        collections: key.collections.clone(),
        log_options: Default::default(),
        since: None,
        out: None,
        hits: None,
        evidence: false,
        threads: threads.max(1),
        follow: false,
        flush: 60,
        follow_for: None,
        index: Some(path.clone()),
        window: 3600,
        no_sightings: true,
        node_config: None,
        warninglists,
    };
    let ind = super::load::load_indicators(&opts, open, now_unix)?;
    let what = match (ind.reused, ind.update) {
        (true, None) => Refreshed::Unchanged,
        (true, Some(u)) => Refreshed::Updated { changed: u.changed },
        (false, _) => Refreshed::Built {
            indicators: ind.side.stats.indicators,
        },
    };
    Ok(Refresh {
        path,
        what,
        secs: start.elapsed().as_secs_f64(),
    })
}

/// [`refresh`] of every index kept in `data` (see [`kept`]), and of the
/// default one (every collection, warninglists applied) when `default` is
/// set even if none is kept yet. Each index's failure is returned beside
/// the others' results.
pub fn refresh_all(
    data: &Path,
    open: OpenStore<'_>,
    now_unix: i64,
    threads: usize,
    default: bool,
) -> Vec<Result<Refresh, MatchError>> {
    let mut keys: Vec<IndexKey> = kept(data).into_iter().map(|(k, _)| k).collect();
    let all = IndexKey::new(&[], false);
    if default && !keys.contains(&all) {
        keys.insert(0, all);
    }
    keys.iter()
        .map(|k| refresh(data, k, open, now_unix, threads))
        .collect()
}

impl Refresh {
    /// One line for a log or a command's summary.
    pub fn line(&self) -> String {
        let what = match &self.what {
            Refreshed::Unchanged => "up to date".to_string(),
            Refreshed::Updated { changed } => format!(
                "brought up to date ({} indicator(s) changed since its base)",
                super::summary::group(*changed)
            ),
            Refreshed::Built { indicators } => {
                format!("built ({} indicators)", super::summary::group(*indicators))
            }
        };
        format!(
            "match index {}: {what} in {:.2} s",
            self.path.display(),
            self.secs
        )
    }
}
