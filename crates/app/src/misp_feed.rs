//! The MISP feed of a collection (`accord export --format misp-feed`, and
//! `GET /misp-feed/{collection}/…` in `accord serve`): the store read in
//! two passes (reports, then every object; newest versions, pages of
//! [`PAGE`]), each page through the caller's release (the exchange seam's
//! decision for the reading account), the feed built by `accord-misp-feed`
//! from the bytes that leave, and written to a directory with each file
//! replaced atomically and the manifest last.

use crate::Progress;
use crate::exchange::Release;
use accord_misp_feed::{Feed, FeedBuilder, FeedError, Options};
use accord_store::{ObjectRead, Query, StoreError, StoredObject, VersionFilter};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Objects read (and released) at once.
pub const PAGE: usize = 2048;

/// At most this many objects that did not convert are kept, by name, in
/// [`Built::problems`] (the others are counted).
pub const MAX_PROBLEMS: usize = 100;

/// Why a feed could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum MispFeedError {
    /// Reading the store failed.
    #[error("reading the store for the MISP feed: {0}")]
    Store(#[from] StoreError),
    /// The feed is over its bounds.
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// The release step failed (the caller's error, in words).
    #[error("releasing objects for the MISP feed: {0}")]
    Release(String),
    /// Writing a file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A built feed and what happened on the way.
#[derive(Debug)]
pub struct Built {
    /// The feed.
    pub feed: Feed,
    /// Objects read (newest versions, reports counted once).
    pub objects: u64,
    /// Objects the release withheld.
    pub withheld: u64,
    /// The highest `seq` read (0 for none): a later write has a higher one.
    pub high_seq: i64,
    /// Objects that could not be converted: `id: reason`, at most
    /// [`MAX_PROBLEMS`].
    pub problems: Vec<String>,
    /// How many could not be converted in all.
    pub problem_count: u64,
    /// The stored id of each object that left with another id (a
    /// cyber-observable the release rewrote), by the id it left with: the
    /// feed's members are named by the ids they left with.
    pub stored_ids: HashMap<String, String>,
}

/// Decides what of a page may leave (the exchange seam for the reader).
pub type ReleaseFn<'a> = dyn FnMut(&[StoredObject]) -> Result<Vec<Release>, String> + 'a;

/// The bytes of `o` as they leave, when they do.
fn leaving<'a>(o: &'a StoredObject, r: &'a Release) -> Option<&'a str> {
    match r {
        Release::Send => Some(o.raw.as_str()),
        Release::Redact { raw, .. } => Some(raw.as_str()),
        Release::Withhold { .. } => None,
    }
}

/// Builds the feed of `collection` (every collection when `None`): reports
/// first, then every other object, each page through `release`.
/// `progress` counts the objects of the second pass.
///
/// # Errors
/// [`MispFeedError`]; an object that does not convert is a problem, not an
/// error.
pub fn build(
    store: &dyn ObjectRead,
    collection: Option<&str>,
    opts: Options,
    release: &mut ReleaseFn<'_>,
    progress: &dyn Progress,
) -> Result<Built, MispFeedError> {
    let mut b = FeedBuilder::new(opts);
    let mut built = Built {
        feed: FeedBuilder::new(Options::new("", "")).finish(),
        objects: 0,
        withheld: 0,
        high_seq: 0,
        problems: Vec::new(),
        problem_count: 0,
        stored_ids: HashMap::new(),
    };
    let problem = |built: &mut Built, id: &str, e: &dyn std::fmt::Display| {
        built.problem_count += 1;
        if built.problems.len() < MAX_PROBLEMS {
            built.problems.push(format!("{id}: {e}"));
        }
    };
    // Pass 1: the reports.
    let mut q = Query {
        collection: collection.map(str::to_owned),
        types: vec!["report".to_owned()],
        versions: VersionFilter::last(),
        ..Query::default()
    };
    loop {
        let page = store.query(&q, PAGE)?;
        let released = release(&page.objects).map_err(MispFeedError::Release)?;
        for (o, r) in page.objects.iter().zip(&released) {
            built.objects += 1;
            built.high_seq = built.high_seq.max(o.seq);
            match leaving(o, r) {
                Some(raw) => {
                    if let Err(e) = b.add_report(raw, &o.date_added) {
                        problem(&mut built, &o.id, &e);
                    }
                }
                None => built.withheld += 1,
            }
        }
        match page.last_seq() {
            Some(seq) if page.more => q.after_seq = seq,
            _ => break,
        }
    }
    // Pass 2: everything else.
    q.types.clear();
    q.after_seq = 0;
    let mut n = 0u64;
    loop {
        let mut page = store.query(&q, PAGE)?;
        n += page.objects.len() as u64;
        progress.set_position(n);
        page.objects.retain(|o| o.type_name != "report");
        let released = release(&page.objects).map_err(MispFeedError::Release)?;
        for (o, r) in page.objects.iter().zip(&released) {
            built.objects += 1;
            built.high_seq = built.high_seq.max(o.seq);
            let Some(raw) = leaving(o, r) else {
                built.withheld += 1;
                continue;
            };
            if let Release::Redact { raw, .. } = r
                && let Some(id) = crate::exchange::released_id(raw)
                && id != o.id
            {
                built.stored_ids.insert(id, o.id.clone());
            }
            match b.add(raw, &o.date_added) {
                Ok(()) => {}
                Err(FeedError::Convert(e)) => problem(&mut built, &o.id, &e),
                Err(e) => return Err(e.into()),
            }
        }
        match page.last_seq() {
            Some(seq) if page.more => q.after_seq = seq,
            _ => break,
        }
    }
    progress.finish();
    built.feed = b.finish();
    Ok(built)
}

/// The stored objects behind `event` (its report and members, newest
/// versions), read by id in pages, for serving it on its own.
/// `stored_ids`: [`Built::stored_ids`] of the build that listed the event.
///
/// # Errors
/// [`StoreError`].
pub fn event_objects(
    store: &dyn ObjectRead,
    collection: Option<&str>,
    event: &accord_misp_feed::Event,
    stored_ids: &HashMap<String, String>,
) -> Result<Vec<StoredObject>, StoreError> {
    let mut ids: Vec<String> = Vec::with_capacity(event.members.len() + 1);
    if let accord_misp_feed::EventKind::Report { id } = &event.kind {
        ids.push(id.clone());
    }
    ids.extend(
        event
            .members
            .iter()
            .map(|m| stored_ids.get(&m.id).unwrap_or(&m.id).clone()),
    );
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(256) {
        let mut q = Query {
            collection: collection.map(str::to_owned),
            ids: chunk.to_vec(),
            versions: VersionFilter::last(),
            ..Query::default()
        };
        loop {
            let page = store.query(&q, PAGE)?;
            let more = page.more;
            let last = page.last_seq();
            out.extend(page.objects);
            match last {
                Some(seq) if more => q.after_seq = seq,
                _ => break,
            }
        }
    }
    // Keep the event's order: report first, then members as listed.
    let pos: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    out.sort_by_key(|o| pos.get(o.id.as_str()).copied().unwrap_or(usize::MAX));
    Ok(out)
}

/// `event` again from `objects` as released (`released[i]` for
/// `objects[i]`), the withheld ones left out.
///
/// # Errors
/// [`FeedError`] for an object that no longer converts.
pub fn rebuild_event(
    event: &accord_misp_feed::Event,
    objects: &[StoredObject],
    released: &[Release],
) -> Result<accord_misp_feed::Event, FeedError> {
    event.rebuild(
        objects
            .iter()
            .zip(released)
            .filter_map(|(o, r)| Some((leaving(o, r)?, o.date_added.as_str()))),
    )
}

/// Writes `data` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over `path`.
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), MispFeedError> {
    use std::io::Write;
    let err = |source| MispFeedError::Write {
        path: path.to_owned(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(data).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

/// What [`write_dir`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Event files.
    pub events: usize,
    /// Event files of an earlier export no longer in the feed, removed.
    pub removed: usize,
}

/// Writes `feed` into `dir` (created if absent): every `<uuid>.json`, then
/// `hashes.csv`, then `manifest.json`, each replaced atomically, so a
/// MISP instance reading the directory meanwhile sees the old manifest or
/// the new one with every event it lists present. Then removes the event
/// files of an earlier export that the new manifest does not list.
///
/// # Errors
/// [`MispFeedError::Write`] naming the file.
pub fn write_dir(feed: &Feed, dir: &Path) -> Result<Written, MispFeedError> {
    std::fs::create_dir_all(dir).map_err(|source| MispFeedError::Write {
        path: dir.to_owned(),
        source,
    })?;
    for e in feed.events() {
        write_atomic(
            &dir.join(format!("{}.json", e.uuid)),
            e.to_json(feed.options()).as_bytes(),
        )?;
    }
    write_atomic(&dir.join("hashes.csv"), feed.hashes_csv().as_bytes())?;
    write_atomic(&dir.join("manifest.json"), feed.manifest_json().as_bytes())?;
    let mut removed = 0;
    let entries = std::fs::read_dir(dir).map_err(|source| MispFeedError::Write {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if uuid::Uuid::parse_str(stem).is_ok() && stem.len() == 36 && feed.event(stem).is_none() {
            std::fs::remove_file(entry.path()).map_err(|source| MispFeedError::Write {
                path: entry.path(),
                source,
            })?;
            removed += 1;
        }
    }
    Ok(Written {
        events: feed.events().len(),
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_store::SqliteStore;

    const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}"#;
    const IND2: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}"#;
    const REP: &str = r#"{"type":"report","spec_version":"2.1","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"R","published":"2016-04-06T20:03:48.000Z","object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}"#;

    #[test]
    fn builds_through_the_release_and_writes_the_manifest_last() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        crate::sighting::put(
            store.writer(),
            &[IND.to_owned(), IND2.to_owned(), REP.to_owned()],
            "c",
        )
        .unwrap();
        // Withhold the domain indicator.
        let mut calls = 0;
        let mut release = |objs: &[StoredObject]| {
            calls += 1;
            Ok(objs
                .iter()
                .map(|o| {
                    if o.raw.contains("evil.example") {
                        Release::Withhold {
                            reason: "no".into(),
                        }
                    } else {
                        Release::Send
                    }
                })
                .collect())
        };
        let built = build(&store, Some("c"), Options::new("c", "o"), &mut release, &()).unwrap();
        assert_eq!(calls, 2);
        assert_eq!(built.objects, 3);
        assert_eq!(built.withheld, 1);
        assert_eq!(built.feed.events().len(), 1);
        assert!(!built.feed.hashes_csv().is_empty());
        assert!(!built.feed.manifest_json().contains("evil"));
        let out = dir.path().join("feed");
        std::fs::create_dir_all(&out).unwrap();
        let stale = out.join("00000000-0000-4000-8000-000000000000.json");
        std::fs::write(&stale, "{}").unwrap();
        let w = write_dir(&built.feed, &out).unwrap();
        assert_eq!(
            w,
            Written {
                events: 1,
                removed: 1
            }
        );
        assert!(!stale.exists());
        assert!(out.join("manifest.json").exists());
        // One event, served alone, is the same.
        let e = &built.feed.events()[0];
        let objs = event_objects(&store, Some("c"), e, &built.stored_ids).unwrap();
        assert_eq!(objs.len(), 2);
        let again = rebuild_event(e, &objs, &vec![Release::Send; objs.len()]).unwrap();
        assert_eq!(&again, e);
    }
}
