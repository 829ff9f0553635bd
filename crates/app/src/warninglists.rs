//! The node's MISP warninglists: kept in the data directory, loaded into an
//! [`accord_warninglist::WarninglistSet`], and the one rule for when an
//! indicator is *warninglisted*.
//!
//! # Storage
//!
//! `DATA_DIR/warninglists.json` holds every list of the node (the lists as
//! read, in one JSON document `{"format": 1, "lists": [...]}`), written
//! atomically (a temporary file in the same directory, fsync, rename, fsync
//! of the directory). `accord warninglist update DIR` replaces it with the
//! lists of DIR, and appends a `local` record to the node's log:
//!
//! ```json
//! {"collection":"accord:warninglists","decision":{"action":"stored"},
//!  "direction":"local","modified":TIME,"object_id":"warninglists",
//!  "sha256":"<SHA-256 of warninglists.json>","time":TIME}
//! ```
//!
//! A missing file means no lists. The lists are read when a command starts
//! (`accord ingest`, `match`, `export`, `sync`). A running `accord serve`
//! holds them in a [`LiveLists`], which looks at the file's identity (inode,
//! length, modification time) at most once a second and reads it again
//! when it changed, so lists replaced by `accord warninglist update` apply
//! without a restart (to what partners are sent, and to the counts of what
//! arrives by TAXII POST and by pull). A replacement that cannot be read
//! keeps the lists in use and is logged once.
//!
//! # When an indicator is warninglisted
//!
//! Its pattern (STIX, 2.0 or 2.1) compiles to index keys (a disjunction of
//! equalities on indexable paths, the matcher's own rule in
//! [`crate::indicators::compile`]) and **any** key's value is on a list that
//! applies to that kind of value ([`accord_warninglist::misp_types_for`]
//! through the key's kind: addresses to `ip-src`/`ip-dst`, domains to
//! `domain`/`hostname`, URLs to `url`, e-mail addresses to `email-*`, hashes
//! to their MISP hash type). One benign value in a disjunction is enough:
//! the indicator would alert on that value's traffic. Patterns that need the
//! evaluator are never warninglisted. The stored bytes are never changed:
//! the flag is computed from the lists whenever it is needed (ingest
//! summary, index build, exports, release), so it follows list updates.

use accord_ledger::{Decision, Direction, ExchangeRecord};
use accord_pattern::{HashAlg, KeyKind};
use accord_store::{ObjectWrite, StoreError};
use accord_warninglist::{
    Limits, ListHit, ValueKind, Warninglist, WarninglistError, WarninglistSet,
};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use accord_warninglist::WarninglistSet as Set;

/// The file in the data directory holding the node's lists.
pub const FILE: &str = "warninglists.json";

/// The collection of the `local` record of a list update.
pub const COLLECTION: &str = "accord:warninglists";

/// The `object_id` of that record.
pub const OBJECT_ID: &str = "warninglists";

/// The stored document.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    format: u32,
    lists: Vec<StoredList>,
}

/// One list and its short id.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredList {
    id: String,
    warninglist: Warninglist,
}

fn pairs(lists: Vec<StoredList>) -> Vec<(String, Warninglist)> {
    lists.into_iter().map(|l| (l.id, l.warninglist)).collect()
}

/// Why the lists could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum WarninglistsError {
    /// A file or directory could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The stored file is not what [`update`] writes.
    #[error(
        "{path}: not a warninglists file written by accord ({message}); run `accord warninglist update DIR` again"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A list (stored, or the set as a whole) does not compile.
    #[error("{0}")]
    List(#[from] WarninglistError),
    /// No list could be read from the directory given.
    #[error("no warninglist read from {dir}{}", if failures.is_empty() { String::new() } else { format!(": {}", failures.join("; ")) })]
    NoLists {
        /// The directory.
        dir: PathBuf,
        /// Each list that failed.
        failures: Vec<String>,
    },
    /// The log record could not be appended.
    #[error("recording the warninglist update in the log: {0}")]
    Store(#[from] StoreError),
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WarninglistsError {
    let path = path.to_owned();
    move |source| WarninglistsError::Io { what, path, source }
}

/// The node's lists, compiled, and the SHA-256 of the file they come from.
#[derive(Debug, Clone)]
pub struct NodeLists {
    /// The compiled lists.
    pub set: Arc<WarninglistSet>,
    /// The SHA-256 (hex) of `warninglists.json` (what the log records; an
    /// index cache built with other lists is not reused).
    pub sha256: String,
}

/// The node's lists: `None` when none were ever stored.
///
/// # Errors
/// [`WarninglistsError`] when the file cannot be read or does not compile.
pub fn load(data_dir: &Path) -> Result<Option<NodeLists>, WarninglistsError> {
    let path = data_dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("reading", &path)(e)),
    };
    let stored: Stored =
        serde_json::from_slice(&bytes).map_err(|e| WarninglistsError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
    if stored.format != 1 {
        return Err(WarninglistsError::Corrupt {
            path,
            message: format!("format {} (this accord reads 1)", stored.format),
        });
    }
    Ok(Some(NodeLists {
        set: Arc::new(WarninglistSet::build_with_ids(
            pairs(stored.lists),
            &Limits::default(),
        )?),
        sha256: sha256_hex(&bytes),
    }))
}

/// The node's lists as a long-running process sees them: read again when
/// `DATA_DIR/warninglists.json` changes (see the module documentation).
///
/// [`LiveLists::current`] costs a mutex and a clock read; the file is
/// looked at (one `stat`) at most once per [`LiveLists::CHECK_EVERY`], and
/// read and compiled again only when its inode, length or modification
/// time changed.
#[derive(Debug)]
pub struct LiveLists {
    path: PathBuf,
    state: std::sync::Mutex<LiveState>,
}

#[derive(Debug, Default)]
struct LiveState {
    checked: Option<std::time::Instant>,
    stamp: Option<FileStamp>,
    lists: Option<NodeLists>,
    /// The stamp of a file that failed to load (logged once).
    failed: Option<FileStamp>,
}

/// What identifies one version of the file: inode, length, mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

fn stamp_of(path: &Path) -> std::io::Result<Option<FileStamp>> {
    match std::fs::metadata(path) {
        Ok(m) => {
            #[cfg(unix)]
            let ino = std::os::unix::fs::MetadataExt::ino(&m);
            #[cfg(not(unix))]
            let ino = 0;
            Ok(Some(FileStamp {
                ino,
                len: m.len(),
                modified: m.modified().ok(),
            }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl LiveLists {
    /// How often at most the file is looked at.
    pub const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

    /// The lists of `data_dir`, read now.
    ///
    /// # Errors
    /// [`WarninglistsError`] when the file exists and cannot be read or
    /// compiled (a node does not start on lists it cannot apply).
    pub fn open(data_dir: &Path) -> Result<LiveLists, WarninglistsError> {
        let path = data_dir.join(FILE);
        let stamp = stamp_of(&path).map_err(io("reading", &path))?;
        let lists = load(data_dir)?;
        Ok(LiveLists {
            path,
            state: std::sync::Mutex::new(LiveState {
                checked: Some(std::time::Instant::now()),
                stamp,
                lists,
                failed: None,
            }),
        })
    }

    /// The lists of `data_dir`, read at the first [`LiveLists::current`]
    /// (a file that cannot be read is then logged and no lists apply
    /// until it is replaced by one that can).
    pub fn lazy(data_dir: &Path) -> LiveLists {
        LiveLists {
            path: data_dir.join(FILE),
            state: std::sync::Mutex::new(LiveState::default()),
        }
    }

    /// Lists that never change (a node without a data directory, tests).
    pub fn fixed(lists: Option<NodeLists>) -> LiveLists {
        LiveLists {
            path: PathBuf::new(),
            state: std::sync::Mutex::new(LiveState {
                checked: None,
                stamp: None,
                lists,
                failed: None,
            }),
        }
    }

    /// The lists in force now (`None`: no lists), read again first if the
    /// file changed since it was last looked at (at most once a second).
    pub fn current(&self) -> Option<NodeLists> {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.path.as_os_str().is_empty() {
            return st.lists.clone();
        }
        let now = std::time::Instant::now();
        if st
            .checked
            .is_some_and(|t| now.duration_since(t) < Self::CHECK_EVERY)
        {
            return st.lists.clone();
        }
        st.checked = Some(now);
        let stamp = match stamp_of(&self.path) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(
                    "warninglists: looking at {}: {e}; the lists in use are kept",
                    self.path.display()
                );
                return st.lists.clone();
            }
        };
        if stamp == st.stamp || (stamp.is_some() && stamp == st.failed) {
            return st.lists.clone();
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        match load(dir) {
            Ok(lists) => {
                tracing::info!(
                    "warninglists: {} read again ({} list(s))",
                    self.path.display(),
                    lists.as_ref().map_or(0, |l| l.set.lists().len())
                );
                st.lists = lists;
                st.stamp = stamp;
                st.failed = None;
            }
            Err(e) => {
                tracing::error!("warninglists: {e}; the lists in use are kept");
                st.failed = stamp;
            }
        }
        st.lists.clone()
    }

    /// The compiled set in force now (see [`LiveLists::current`]).
    pub fn set(&self) -> Option<Arc<WarninglistSet>> {
        self.current().map(|l| l.set)
    }
}

/// Indicators of a batch on warninglists: how many, and per list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Flagged {
    /// Indicators whose value is on at least one list.
    pub indicators: u64,
    /// Per list id, indicators on it.
    pub lists: std::collections::BTreeMap<String, u64>,
}

impl Flagged {
    /// Counts one indicator's hits (nothing when empty).
    pub fn add(&mut self, hits: &[ListHit]) {
        if hits.is_empty() {
            return;
        }
        self.indicators += 1;
        for h in hits {
            *self.lists.entry(h.list.to_string()).or_default() += 1;
        }
    }

    /// Adds another count.
    pub fn merge(&mut self, other: &Flagged) {
        self.indicators += other.indicators;
        for (l, n) in &other.lists {
            *self.lists.entry(l.clone()).or_default() += n;
        }
    }

    /// `N indicators flagged as warninglisted (list n, …): …` (the words of
    /// `accord ingest`), or `None` when none.
    pub fn describe(&self) -> Option<String> {
        (self.indicators > 0).then(|| {
            format!(
                "{} indicators flagged as warninglisted ({}): not matched, exported to IDS formats or sent to partners",
                self.indicators,
                self.lists
                    .iter()
                    .map(|(l, n)| format!("{l} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}

/// What [`read_dir`] read: the lists with their ids, and each failure.
pub type DirLists = (Vec<(String, Warninglist)>, Vec<String>);

/// The lists of a directory: every `*.json` in it except `schema.json`, and
/// every `*/list.json` one level down (the `lists/` layout of the
/// `misp-warninglists` repository), in name order, each with its id: the
/// file's name without `.json`, or the directory's name for `list.json`
/// (`public-dns-v4`), characters other than ASCII letters, digits, `.`, `_`
/// and `-` replaced by `-`. A list that cannot be
/// read, parsed or compiled is returned among the failures (its message
/// names the file, the list and the entry) and the others are kept.
///
/// # Errors
/// [`WarninglistsError::Io`] when `dir` cannot be listed.
pub fn read_dir(dir: &Path) -> Result<DirLists, WarninglistsError> {
    let limits = Limits::default();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("listing", dir))? {
        let path = entry.map_err(io("listing", dir))?.path();
        if path.is_dir() {
            let list = path.join("list.json");
            if list.is_file() {
                files.push(list);
            }
        } else if path.extension().is_some_and(|e| e == "json")
            && path.file_name().is_some_and(|n| n != "schema.json")
        {
            files.push(path);
        }
    }
    files.sort();
    let mut lists: Vec<(PathBuf, String, Warninglist)> = Vec::new();
    let mut failures = Vec::new();
    for path in files {
        let shown = path.display().to_string();
        let id = list_id(&path);
        let bytes = match read_bounded(&path, limits.max_bytes) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{shown}: {e}"));
                continue;
            }
        };
        let list = match accord_warninglist::parse_list(&bytes, &shown, &limits) {
            Ok(l) => l,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        if let Some((first, _, _)) = lists
            .iter()
            .find(|(_, i, l)| *i == id || l.name == list.name)
        {
            failures.push(format!(
                "{shown}: list {id:?} ({:?}) is already read from {}; skipped",
                list.name,
                first.display()
            ));
            continue;
        }
        // Each list's entries are checked now, so that one bad list does
        // not keep the others out.
        if let Err(e) = WarninglistSet::build_with_ids(vec![(id.clone(), list.clone())], &limits) {
            failures.push(format!("{shown}: {e}"));
            continue;
        }
        lists.push((path, id, list));
    }
    Ok((
        lists.into_iter().map(|(_, i, l)| (i, l)).collect(),
        failures,
    ))
}

/// A list's id from its path (see [`read_dir`]).
fn list_id(path: &Path) -> String {
    let stem = if path.file_name().is_some_and(|n| n == "list.json") {
        path.parent().and_then(|p| p.file_name())
    } else {
        path.file_stem()
    };
    let id: String = stem
        .map(|s| s.to_string_lossy())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    if id.is_empty() { "list".to_owned() } else { id }
}

fn read_bounded(path: &Path, max: usize) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    f.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > max {
        return Err(format!("larger than {max} bytes"));
    }
    Ok(bytes)
}

/// What [`update`] did.
#[derive(Debug)]
pub struct UpdateReport {
    /// The lists now stored.
    pub set: Arc<WarninglistSet>,
    /// The lists of the directory that were not stored, each with why.
    pub failures: Vec<String>,
    /// The SHA-256 (hex) of the stored file.
    pub sha256: String,
    /// The `local` record appended (`None` when the lists are unchanged).
    pub record: Option<ExchangeRecord>,
}

/// Replaces the node's lists with those of `dir` (see [`read_dir`]; the
/// lists that fail are reported, the rest stored): when the content
/// changed, appends a `local` record at `time` (durable first), then writes
/// `DATA_DIR/warninglists.json` atomically.
///
/// # Errors
/// [`WarninglistsError::NoLists`] when no list of `dir` could be read (the
/// stored lists are unchanged); I/O and store failures.
pub fn update(
    writer: &dyn ObjectWrite,
    data_dir: &Path,
    dir: &Path,
    time: &str,
) -> Result<UpdateReport, WarninglistsError> {
    let (lists, failures) = read_dir(dir)?;
    if lists.is_empty() {
        return Err(WarninglistsError::NoLists {
            dir: dir.to_owned(),
            failures,
        });
    }
    let lists = lists
        .into_iter()
        .map(|(id, warninglist)| StoredList { id, warninglist })
        .collect();
    let doc = serde_json::to_vec(&Stored { format: 1, lists }).expect("lists serialize to JSON");
    let stored: Stored = serde_json::from_slice(&doc).expect("just written");
    let set = Arc::new(WarninglistSet::build_with_ids(
        pairs(stored.lists),
        &Limits::default(),
    )?);
    let sha256 = sha256_hex(&doc);
    let path = data_dir.join(FILE);
    let unchanged = std::fs::read(&path).is_ok_and(|old| old == doc);
    let mut record = None;
    if !unchanged {
        // The record first, as agreement changes are: a crash before the
        // file is in place records this content once more at the next
        // update, never loses a change.
        let r = ExchangeRecord {
            direction: Direction::Local,
            partner: None,
            collection: COLLECTION.to_owned(),
            object_id: OBJECT_ID.to_owned(),
            modified: Some(time.to_owned()),
            sha256: sha256.clone(),
            decision: Decision::Stored,
            time: time.to_owned(),
            salt: None,
        };
        writer.log_records(std::slice::from_ref(&r))?;
        write_atomically(data_dir, &path, &doc)?;
        record = Some(r);
    }
    Ok(UpdateReport {
        set,
        failures,
        sha256,
        record,
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), WarninglistsError> {
    use std::io::Write as _;
    let tmp = dir.join(format!("{FILE}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(io("creating", &tmp))?;
    f.write_all(bytes).map_err(io("writing", &tmp))?;
    f.sync_all().map_err(io("syncing", &tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io("renaming into place", path))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing the directory", dir))?;
    Ok(())
}

/// The kind of value an index key's kind holds.
pub fn value_kind(kind: &KeyKind) -> ValueKind {
    match kind {
        KeyKind::Ip => ValueKind::Ip,
        KeyKind::Domain => ValueKind::Domain,
        KeyKind::Url => ValueKind::Url,
        KeyKind::Email => ValueKind::Email,
        KeyKind::Hash(HashAlg::Md5) => ValueKind::Md5,
        KeyKind::Hash(HashAlg::Sha1) => ValueKind::Sha1,
        KeyKind::Hash(HashAlg::Sha256) => ValueKind::Sha256,
        KeyKind::Hash(HashAlg::Sha512) => ValueKind::Sha512,
    }
}

/// The lists one compiled key's value is on.
pub fn key_hits(set: &WarninglistSet, kind: &KeyKind, value: &str) -> Vec<ListHit> {
    set.check_kind(value, value_kind(kind))
}

/// The lists an indicator's JSON text is on (empty when it is not an
/// indicator, its pattern does not compile to keys, or no key is listed).
/// One hit per list, in list order.
pub fn indicator_hits(set: &WarninglistSet, raw: &str) -> Vec<ListHit> {
    if set.is_empty() {
        return Vec::new();
    }
    let Some(ind) = crate::indicators::read(raw) else {
        return Vec::new();
    };
    let Some(Some(p)) = ind.stix_pattern.as_ref().map(|p| p.as_deref()) else {
        return Vec::new();
    };
    match crate::indicators::compile_with(p, ind.v20, Some(set)) {
        Some((_, hits)) => hits,
        None => Vec::new(),
    }
}

/// The names of `hits`, comma-separated.
pub fn names(hits: &[ListHit]) -> String {
    hits.iter().map(|h| &*h.list).collect::<Vec<_>>().join(", ")
}

/// Merges `more` into `hits`, one per list.
pub(crate) fn merge_hits(hits: &mut Vec<ListHit>, more: Vec<ListHit>) {
    for h in more {
        if !hits.iter().any(|x| x.list == h.list) {
            hits.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_store::SqliteStore;

    fn write_list(dir: &Path, file: &str, body: &str) {
        std::fs::write(dir.join(file), body).unwrap();
    }

    fn sample_dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        write_list(
            d.path(),
            "dns.json",
            r#"{"name":"Public DNS","description":"d","version":1,"type":"cidr","list":["8.8.8.8","8.8.4.4"],"matching_attributes":["ip-dst","ip-src"]}"#,
        );
        write_list(
            d.path(),
            "top.json",
            r#"{"name":"Top sites","description":"d","version":1,"type":"hostname","list":["google.com"],"matching_attributes":["domain","hostname","url"]}"#,
        );
        write_list(d.path(), "schema.json", r#"{"title":"not a list"}"#);
        d
    }

    fn indicator(pattern: &str) -> String {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
            "pattern": pattern, "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z"
        })
        .to_string()
    }

    #[test]
    fn live_lists_follow_the_file_and_keep_the_old_on_a_bad_one() {
        let data = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(data.path()).unwrap();
        let live = LiveLists::lazy(data.path());
        assert!(live.set().is_none());
        let lists = sample_dir();
        update(
            store.writer(),
            data.path(),
            lists.path(),
            "2026-12-07T00:00:00.000000Z",
        )
        .unwrap();
        // Looked at only once a second.
        assert!(live.set().is_none());
        std::thread::sleep(LiveLists::CHECK_EVERY + std::time::Duration::from_millis(50));
        let set = live.set().unwrap();
        assert_eq!(set.lists().len(), 2);
        let mut f = Flagged::default();
        f.add(&indicator_hits(
            &set,
            &indicator("[ipv4-addr:value = '8.8.8.8']"),
        ));
        f.add(&indicator_hits(
            &set,
            &indicator("[ipv4-addr:value = '198.51.100.1']"),
        ));
        assert_eq!(f.indicators, 1);
        assert_eq!(f.lists.get("dns"), Some(&1));
        assert!(
            f.describe()
                .unwrap()
                .starts_with("1 indicators flagged as warninglisted (dns 1)")
        );
        // A broken file: the lists in use stay.
        std::fs::write(data.path().join(FILE), b"{\"format\": 1, \"lists\": [").unwrap();
        std::thread::sleep(LiveLists::CHECK_EVERY + std::time::Duration::from_millis(50));
        assert_eq!(live.set().unwrap().lists().len(), 2);
        // The file removed: no lists.
        std::fs::remove_file(data.path().join(FILE)).unwrap();
        std::thread::sleep(LiveLists::CHECK_EVERY + std::time::Duration::from_millis(50));
        assert!(live.set().is_none());
    }

    #[test]
    fn update_stores_loads_and_records_once() {
        let lists = sample_dir();
        write_list(
            lists.path(),
            "bad.json",
            r#"{"name":"bad","description":"d","version":1,"type":"cidr","list":["nope"]}"#,
        );
        let data = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(data.path()).unwrap();
        assert!(load(data.path()).unwrap().is_none());
        let t = "2026-12-07T00:00:00.000000Z";
        let r = update(store.writer(), data.path(), lists.path(), t).unwrap();
        assert_eq!(r.set.lists().len(), 2);
        assert_eq!(r.failures.len(), 1);
        assert!(
            r.failures[0].contains("\"bad\"") && r.failures[0].contains("\"nope\""),
            "{:?}",
            r.failures
        );
        assert!(r.record.is_some());
        let size = store.ledger_size().unwrap();
        // The same lists again: nothing new in the log.
        let again = update(store.writer(), data.path(), lists.path(), t).unwrap();
        assert!(again.record.is_none());
        assert_eq!(store.ledger_size().unwrap(), size);
        let loaded = load(data.path()).unwrap().unwrap();
        assert_eq!(loaded.set.lists().len(), 2);
        assert_eq!(loaded.sha256, r.sha256);
        // The record's hash is the file's.
        let file = std::fs::read(data.path().join(FILE)).unwrap();
        let h: String = sha2::Sha256::digest(&file)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(h, r.sha256);
        // An empty directory changes nothing.
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            update(store.writer(), data.path(), empty.path(), t),
            Err(WarninglistsError::NoLists { .. })
        ));
        assert_eq!(load(data.path()).unwrap().unwrap().set.lists().len(), 2);
        // A corrupt file is an error naming it, not an empty set.
        std::fs::write(data.path().join(FILE), b"{").unwrap();
        let e = load(data.path()).unwrap_err().to_string();
        assert!(e.contains(FILE), "{e}");
    }

    #[test]
    fn indicators_are_warninglisted_by_any_key() {
        let lists = sample_dir();
        let (l, _) = read_dir(lists.path()).unwrap();
        let set = WarninglistSet::build_with_ids(l, &Limits::default()).unwrap();
        let hits = |p: &str| names(&indicator_hits(&set, &indicator(p)));
        assert_eq!(hits("[ipv4-addr:value = '8.8.8.8']"), "dns");
        assert_eq!(
            hits("[ipv4-addr:value = '1.2.3.4' OR domain-name:value = 'mail.google.com']"),
            "top"
        );
        assert_eq!(
            hits("[ipv4-addr:value = '8.8.4.4'] OR [url:value = 'https://google.com/x']"),
            "dns, top"
        );
        assert_eq!(hits("[ipv4-addr:value = '1.2.3.4']"), "");
        // A list applies only to its attribute types: a hostname list and an
        // address.
        assert_eq!(hits("[domain-name:value = '8.8.8.8.example']"), "");
        // A pattern the evaluator needs is never warninglisted.
        assert_eq!(
            hits("[ipv4-addr:value = '8.8.8.8' AND ipv4-addr:value != '1.1.1.1']"),
            ""
        );
        assert_eq!(names(&indicator_hits(&set, r#"{"type":"malware"}"#)), "");
    }
}
