//! Pulling a partner's TAXII collection into the local store.
//!
//! [`sync_collection`] pages through a remote collection with a
//! [`TaxiiClient`], validates every object with the STIX rules of
//! `accord_stix`, stores the valid ones through the store's group-commit
//! writer ([`ObjectWrite`]), and reports the invalid ones with the validator's reasons.
//! It returns a [`SyncReport`] whose `next_added_after` is the cursor of
//! the next incremental sync: the newest `X-TAXII-Date-Added-Last` the
//! server sent (TAXII 2.1 §3.4.2), so a sync where nothing changed costs one
//! empty page.
//!
//! The store is synchronous, so parsing, validating and storing a page run
//! on tokio's blocking pool ([`tokio::task::spawn_blocking`]); while one page
//! is being stored the next one is already being fetched.
//!
//! Storing is idempotent: an object version already stored with the same
//! content is a duplicate, the same version with other content a conflict
//! (the stored one is kept). So reading an object twice, which a resumed or
//! overlapping sync may do, is harmless.
//!
//! What it does not do: decide what a partner may send (policy), delete
//! local objects the partner deleted (TAXII has no tombstones), or keep the
//! cursor anywhere: the caller stores `next_added_after`.

use crate::exchange::{Admission, Counterparty, Exchange, Refusal};
use accord_client::{ClientError, Filter, TaxiiClient};
use accord_stix::Timestamp;
use accord_store::{NewObject, ObjectMeta, ObjectWrite, PutOutcome, StoreError};
use serde_json::value::RawValue;

/// How a sync reads the remote collection.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Read only objects added after this (TAXII `added_after`): the
    /// `next_added_after` of the previous sync, or `None` for everything.
    pub since: Option<String>,
    /// Objects per request (TAXII `limit`; servers may send fewer).
    pub page_limit: usize,
    /// More filters for the remote query (`added_after` is taken from
    /// `since`).
    pub filter: Filter,
    /// The seam every object read passes through ([`Exchange::admit`]).
    pub exchange: Exchange,
    /// The configured partner the collection belongs to, when known (the
    /// counterparty the seam is told about; else the origin).
    pub partner: Option<String>,
    /// A probe: when the first page holds any object, stop before storing
    /// it, with [`SyncReport::deferred`] set and the cursor unmoved (the
    /// scheduler then witnesses the partner's log before storing anything
    /// from it, and syncs again).
    pub probe: bool,
    /// The protected facilities: each object stored is checked against
    /// them and its touches returned in [`SyncReport::touches`] (the caller
    /// escalates them, `crate::facility::escalate`). `None`: not checked.
    pub facilities: Option<std::sync::Arc<accord_hotline::Registry>>,
    /// The node's warninglists: each indicator stored is checked against
    /// them and counted in [`SyncReport::warninglisted`] (as `accord
    /// ingest` counts; the stored bytes are unchanged). `None`: not
    /// checked.
    pub warninglists: Option<std::sync::Arc<accord_warninglist::WarninglistSet>>,
}

impl Default for SyncOptions {
    /// Everything since the start, every version (`match[version]=all`: the
    /// store keeps every version, and TAXII's default would send only the
    /// last), 500 objects per request.
    fn default() -> Self {
        SyncOptions {
            since: None,
            page_limit: 500,
            filter: Filter::new().versions(["all"]),
            exchange: Exchange::default(),
            partner: None,
            probe: false,
            facilities: None,
            warninglists: None,
        }
    }
}

/// An object the sync did not store because it is not valid STIX 2.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Its `id`, when it has a string one.
    pub id: Option<String>,
    /// The 1-based page it came on.
    pub page: usize,
    /// Its position in that page.
    pub index: usize,
    /// The validator's errors, one per line.
    pub reason: String,
}

/// An object version the sync did not store because the local store holds
/// the same id and version with other content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Its `id`.
    pub id: String,
    /// The store's sequence number of the version kept.
    pub existing_seq: i64,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// How many pages were read.
    pub pages: usize,
    /// How many objects the server sent.
    pub fetched: u64,
    /// How many were stored as new versions.
    pub stored: u64,
    /// How many were already stored with the same content.
    pub duplicates: u64,
    /// Versions already stored with other content (not stored).
    pub conflicts: Vec<Conflict>,
    /// Objects that are not valid STIX 2.1 (not stored).
    pub rejected: Vec<Rejected>,
    /// The `added_after` of the next incremental sync. After a failed sync
    /// it is a cursor at or before the first object not stored, so a sync
    /// that starts from it misses nothing (it may read some objects again).
    pub next_added_after: Option<String>,
    /// A probe ([`SyncOptions::probe`]) found objects and stored nothing.
    pub deferred: bool,
    /// The objects stored that touch a protected facility
    /// ([`SyncOptions::facilities`]).
    pub touches: Vec<crate::facility::Touch>,
    /// The indicators stored whose value is on one of the node's
    /// warninglists ([`SyncOptions::warninglists`]).
    pub warninglisted: crate::warninglists::Flagged,
}

/// Why a sync stopped. The report tells what was done before.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// Reading from the remote server failed. The message names the
    /// request that failed once (`sync from URL/objects/: HTTP 401: …`).
    #[error("sync from {}: {}", request_url(.url, .source), .source.reason())]
    Remote {
        /// The remote collection.
        url: String,
        /// The local collection.
        collection: String,
        /// What failed.
        source: ClientError,
        /// What was done before, with a safe cursor to resume from.
        report: Box<SyncReport>,
    },
    /// Storing failed (a full disk, an I/O error).
    #[error("sync from {url} into `{collection}`: storing page {page}: {source}")]
    Store {
        /// The remote collection.
        url: String,
        /// The local collection.
        collection: String,
        /// The page whose batch failed (rolled back).
        page: usize,
        /// What failed.
        source: StoreError,
        /// What was done before, with a safe cursor to resume from.
        report: Box<SyncReport>,
    },
    /// A blocking task panicked or was cancelled.
    #[error("sync from {url} into `{collection}`: storing page {page} did not finish: {reason}")]
    Task {
        /// The remote collection.
        url: String,
        /// The local collection.
        collection: String,
        /// The page.
        page: usize,
        /// What happened.
        reason: String,
        /// What was done before, with a safe cursor to resume from.
        report: Box<SyncReport>,
    },
}

/// The URL of the request that failed, else the collection's.
fn request_url<'a>(collection_url: &'a str, e: &'a ClientError) -> &'a str {
    match e.url() {
        "" => collection_url,
        u => u,
    }
}

impl SyncError {
    /// What was done before the failure.
    pub fn report(&self) -> &SyncReport {
        match self {
            SyncError::Remote { report, .. }
            | SyncError::Store { report, .. }
            | SyncError::Task { report, .. } => report,
        }
    }
}

/// What storing one page gave.
struct PageOutcome {
    stored: u64,
    duplicates: u64,
    conflicts: Vec<Conflict>,
    rejected: Vec<Rejected>,
    touches: Vec<crate::facility::Touch>,
    warninglisted: crate::warninglists::Flagged,
}

/// Tracks the `added_after` cursor from the pages' date headers.
///
/// A server lists objects in `date_added` order, and several objects may
/// share one `date_added` (medallion gives one to a whole POST). Once a
/// page whose last object was added at `L` is stored, every object added
/// strictly before `L` is stored, but some added exactly at `L` may not be.
/// So while a sync is under way the safe cursor is the newest date seen
/// that is strictly before `L`; once the last page is stored, it is `L`.
#[derive(Debug, Default)]
struct Cursor {
    /// The newest date seen (the last page's `X-TAXII-Date-Added-Last`).
    newest: Option<(Timestamp, String)>,
    /// The newest date seen that is strictly before `newest`.
    below_newest: Option<(Timestamp, String)>,
}

impl Cursor {
    fn new(since: Option<&str>) -> Cursor {
        let mut c = Cursor::default();
        if let Some(s) = since {
            // `since` is already safe: everything up to it was stored.
            c.below_newest = parse_ts(s);
        }
        c
    }

    fn see(&mut self, date: Option<&str>) {
        let Some(seen) = date.and_then(parse_ts) else {
            return;
        };
        match &self.newest {
            Some((n, _)) if seen.0 == *n => {}
            Some((n, _)) if seen.0 < *n => {
                if self.below_newest.as_ref().is_none_or(|(b, _)| seen.0 > *b) {
                    self.below_newest = Some(seen);
                }
            }
            _ => {
                if let Some(old) = self.newest.take()
                    && self.below_newest.as_ref().is_none_or(|(b, _)| old.0 > *b)
                {
                    self.below_newest = Some(old);
                }
                self.newest = Some(seen);
            }
        }
    }

    /// The cursor once every page is stored.
    fn complete(&self) -> Option<String> {
        self.newest
            .as_ref()
            .or(self.below_newest.as_ref())
            .map(|(_, s)| s.clone())
    }

    /// The cursor when the sync stopped early.
    fn partial(&self) -> Option<String> {
        self.below_newest.as_ref().map(|(_, s)| s.clone())
    }
}

fn parse_ts(s: &str) -> Option<(Timestamp, String)> {
    Timestamp::parse(s).ok().map(|t| (t, s.to_owned()))
}

/// Pulls `remote_collection_url` into `local_collection` of the store that
/// `writer` writes, recording `origin` with each object.
///
/// Every object is parsed and validated; valid ones are stored durably
/// (the report is returned after their commits), invalid ones are listed in
/// [`SyncReport::rejected`] with the validator's reasons.
///
/// # Errors
/// [`SyncError::Remote`] when a request fails, [`SyncError::Store`] when a
/// batch cannot be stored. Either carries the report of what was done and a
/// cursor to resume from.
pub async fn sync_collection(
    client: &TaxiiClient,
    remote_collection_url: &str,
    writer: &dyn ObjectWrite,
    local_collection: &str,
    origin: &str,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let mut filter = opts.filter.clone();
    filter.added_after.clone_from(&opts.since);
    let mut pages = client.object_pages(remote_collection_url, filter, opts.page_limit.max(1));
    let mut report = SyncReport::default();
    let mut cursor = Cursor::new(opts.since.as_deref());
    // The pages being stored, oldest first, each with the cursor to report
    // if storing it fails (all pages before it are stored) and its task.
    // Up to STORE_AHEAD pages are stored while the next is fetched, so the
    // partner's answer, the checks and the commits overlap.
    let mut in_flight: std::collections::VecDeque<InFlight> = std::collections::VecDeque::new();
    let fail_remote = |source, mut report: SyncReport, cursor: &Cursor| {
        report.next_added_after = cursor.partial().or_else(|| opts.since.clone());
        SyncError::Remote {
            url: remote_collection_url.to_owned(),
            collection: local_collection.to_owned(),
            source,
            report: Box::new(report),
        }
    };
    loop {
        // Fetch the next page while the previous one is being stored.
        let fetched = pages.next_page().await;
        let done = !matches!(fetched, Ok(Some(_)));
        while in_flight.len() >= STORE_AHEAD || (done && !in_flight.is_empty()) {
            let Some(f) = in_flight.pop_front() else {
                break;
            };
            let safe = f.safe_cursor;
            settle(f.page, f.task, &mut report).await.map_err(|e| {
                let mut r = report.clone();
                r.next_added_after = safe.or_else(|| opts.since.clone());
                e.into_sync_error(remote_collection_url, local_collection, r)
            })?;
        }
        let page = match fetched {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => return Err(fail_remote(e, report, &cursor)),
        };
        if opts.probe && report.pages == 0 && !page.objects.is_empty() {
            report.deferred = true;
            report.next_added_after.clone_from(&opts.since);
            return Ok(report);
        }
        report.pages += 1;
        report.fetched += page.objects.len() as u64;
        let safe_cursor = cursor.partial();
        cursor.see(page.date_added_first.as_deref());
        cursor.see(page.date_added_last.as_deref());
        tracing::debug!(
            url = remote_collection_url,
            page = report.pages,
            objects = page.objects.len(),
            more = page.more,
            "sync page"
        );
        if page.objects.is_empty() {
            continue;
        }
        let writer = writer.to_shared();
        let collection = local_collection.to_owned();
        let origin = origin.to_owned();
        let n = report.pages;
        let objects = page.objects;
        let opts = opts.clone();
        in_flight.push_back(InFlight {
            page: n,
            safe_cursor,
            task: tokio::task::spawn_blocking(move || {
                store_page(&*writer, &opts, n, &objects, &collection, &origin)
            }),
        });
    }
    report.next_added_after = cursor.complete().or_else(|| opts.since.clone());
    Ok(report)
}

/// Pages stored at once while the next one is fetched.
const STORE_AHEAD: usize = 3;

struct InFlight {
    page: usize,
    safe_cursor: Option<String>,
    task: tokio::task::JoinHandle<Result<PageOutcome, StoreError>>,
}

enum SettleError {
    Store(usize, StoreError),
    Task(usize, String),
}

impl SettleError {
    fn into_sync_error(self, url: &str, collection: &str, report: SyncReport) -> SyncError {
        match self {
            SettleError::Store(page, source) => SyncError::Store {
                url: url.to_owned(),
                collection: collection.to_owned(),
                page,
                source,
                report: Box::new(report),
            },
            SettleError::Task(page, reason) => SyncError::Task {
                url: url.to_owned(),
                collection: collection.to_owned(),
                page,
                reason,
                report: Box::new(report),
            },
        }
    }
}

async fn settle(
    n: usize,
    task: tokio::task::JoinHandle<Result<PageOutcome, StoreError>>,
    report: &mut SyncReport,
) -> Result<(), SettleError> {
    let out = task
        .await
        .map_err(|e| SettleError::Task(n, e.to_string()))?
        .map_err(|e| SettleError::Store(n, e))?;
    report.stored += out.stored;
    report.duplicates += out.duplicates;
    report.conflicts.extend(out.conflicts);
    report.rejected.extend(out.rejected);
    report.touches.extend(out.touches);
    report.warninglisted.merge(&out.warninglisted);
    Ok(())
}

/// Parses, validates and stores one page (on a blocking thread).
fn store_page(
    writer: &dyn ObjectWrite,
    opts: &SyncOptions,
    page: usize,
    objects: &[Box<RawValue>],
    collection: &str,
    origin: &str,
) -> Result<PageOutcome, StoreError> {
    let mut out = PageOutcome {
        stored: 0,
        duplicates: 0,
        conflicts: Vec::new(),
        rejected: Vec::new(),
        touches: Vec::new(),
        warninglisted: crate::warninglists::Flagged::default(),
    };
    let mut metas = Vec::with_capacity(objects.len());
    let from = match &opts.partner {
        Some(p) => Counterparty::Partner(p),
        None => Counterparty::Account(origin),
    };
    for (index, raw) in objects.iter().enumerate() {
        match check(&opts.exchange, from, raw.get()) {
            Ok(meta) => metas.push((raw.get(), meta)),
            Err((id, reason)) => out.rejected.push(Rejected {
                id,
                page,
                index,
                reason,
            }),
        }
    }
    let batch: Vec<NewObject<'_>> = metas
        .iter()
        .map(|(raw, m)| m.new_object(raw, collection, origin))
        .collect();
    if batch.is_empty() {
        return Ok(out);
    }
    let outcomes = writer.put_batch(&batch)?;
    for (o, new) in outcomes.iter().zip(&batch) {
        match o {
            PutOutcome::Stored { .. } => {
                out.stored += 1;
                if let Some(reg) = &opts.facilities
                    && let Some(t) = crate::facility::touch_of(
                        reg,
                        new.type_name,
                        new.id,
                        new.raw,
                        from.label().unwrap_or(origin),
                    )
                {
                    out.touches.push(t);
                }
                if let Some(set) = &opts.warninglists
                    && new.type_name == "indicator"
                {
                    out.warninglisted
                        .add(&crate::warninglists::indicator_hits(set, new.raw));
                }
            }
            PutOutcome::Duplicate { .. } => out.duplicates += 1,
            PutOutcome::Conflict { existing_seq } => out.conflicts.push(Conflict {
                id: new.id.to_owned(),
                existing_seq: *existing_seq,
            }),
        }
    }
    Ok(out)
}

/// Admits one object through the seam: its indexed fields, or its id and
/// why it was refused (the validator's errors, one per line).
fn check(
    exchange: &Exchange,
    from: Counterparty<'_>,
    raw: &str,
) -> Result<ObjectMeta, (Option<String>, String)> {
    match exchange.admit(from, raw) {
        Admission::Admitted { meta, .. } => Ok(meta),
        Admission::Rejected(r) => {
            let reason = match r.refusal {
                Refusal::Invalid(issues) => issues
                    .iter()
                    .filter(|i| i.is_error())
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => other.to_string(),
            };
            Err((r.id, reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_stays_below_the_newest_date_until_complete() {
        let mut c = Cursor::new(Some("2026-01-01T00:00:00.000000Z"));
        assert_eq!(c.partial().as_deref(), Some("2026-01-01T00:00:00.000000Z"));
        c.see(Some("2026-01-02T00:00:00.000000Z"));
        c.see(Some("2026-01-02T00:00:00.000000Z"));
        // Objects added at the newest date may still be unread.
        assert_eq!(c.partial().as_deref(), Some("2026-01-01T00:00:00.000000Z"));
        c.see(Some("2026-01-03T00:00:00.000000Z"));
        assert_eq!(c.partial().as_deref(), Some("2026-01-02T00:00:00.000000Z"));
        assert_eq!(c.complete().as_deref(), Some("2026-01-03T00:00:00.000000Z"));
        c.see(None);
        c.see(Some("not a date"));
        assert_eq!(c.complete().as_deref(), Some("2026-01-03T00:00:00.000000Z"));
    }

    #[test]
    fn cursor_without_dates_keeps_since() {
        let c = Cursor::new(Some("2026-01-01T00:00:00Z"));
        assert_eq!(c.complete().as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(Cursor::new(None).complete(), None);
    }

    #[test]
    fn invalid_objects_are_rejected_with_the_validators_reason() {
        let (id, reason) = check(
            &Exchange::default(),
            Counterparty::Account("t"),
            r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}"#,
        )
        .err()
        .unwrap();
        assert_eq!(
            id.as_deref(),
            Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        );
        assert!(reason.contains("pattern"), "{reason}");
        let (id, reason) = check(&Exchange::default(), Counterparty::Account("t"), "[1]")
            .err()
            .unwrap();
        assert_eq!(id, None);
        assert!(reason.contains("expected a JSON object"), "{reason}");
    }

    #[test]
    fn sco_without_spec_version_is_stored_as_2_1() {
        let m = check(&Exchange::default(), Counterparty::Account("t"), r#"{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}"#)
            .ok()
            .unwrap();
        assert_eq!(m.spec_version(), "2.1");
        assert_eq!(m.created(), None);
    }
}
