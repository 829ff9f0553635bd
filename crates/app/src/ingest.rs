//! Ingest: validate files and store their valid objects, with every
//! problem handed to an [`IngestReport`] (the command line prints them with
//! their positions).

use crate::Progress;
use crate::check::{Checked, Outcome, check_file};
use crate::input::{Anchor, Format, Item, Source};
use accord_stix::Issue;
use accord_store::{NewObject, ObjectWrite, Pending, PutOutcome, StoreError};
use std::collections::VecDeque;

/// Where an ingest reports what it finds in one file.
pub trait IngestReport {
    /// A checked object (its issues, if any).
    fn checked(&mut self, c: &Checked<'_>);
    /// A bundle's own issues.
    fn issues(&mut self, anchor: Option<Anchor>, offset: usize, text: &str, issues: &[Issue]);
    /// A read fault at `offset`.
    fn fault(&mut self, anchor: Option<Anchor>, offset: usize, message: &str);
    /// A store-level rejection of the object `id` at `offset`.
    fn object_error(
        &mut self,
        anchor: Option<Anchor>,
        offset: usize,
        id: &str,
        rule: &str,
        message: &str,
    );
}

/// The store failed during an ingest.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped while ingesting {file}: the objects counted as stored are on disk; the failed batch was rolled back: storing a batch: {source}"
)]
pub struct IngestError {
    /// The file being ingested.
    pub file: String,
    /// The store's reason.
    pub source: StoreError,
}

/// What an ingest did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    /// Objects read.
    pub seen: u64,
    /// Stored.
    pub stored: u64,
    /// Already stored with the same content.
    pub duplicates: u64,
    /// Already stored with other content (the stored one kept).
    pub conflicts: u64,
    /// Invalid.
    pub rejected: u64,
    /// Unreadable parts.
    pub faults: u64,
    /// The objects stored that touch a protected facility
    /// ([`Options::facilities`]; the caller escalates them).
    pub touches: Vec<crate::facility::Touch>,
    /// Indicators stored whose value is on a warninglist
    /// ([`Options::warninglists`]; see [`crate::warninglists`]).
    pub warninglisted: u64,
    /// Those indicators per list name.
    pub warninglisted_lists: std::collections::BTreeMap<String, u64>,
}

/// Objects submitted and not yet acknowledged, with where each came from.
struct InFlight {
    pending: Pending,
    origins: Vec<(Option<Anchor>, usize, String)>,
    /// The touches of the batch's objects, by index (kept when stored).
    touches: Vec<(usize, crate::facility::Touch)>,
    /// The warninglists of the batch's indicators, by index (counted when
    /// stored).
    listed: Vec<(usize, Vec<String>)>,
}

/// How to ingest.
pub struct Options<'a> {
    /// Store collection to write to.
    pub collection: &'a str,
    /// Recorded as each object's origin.
    pub origin: &'a str,
    /// File layout.
    pub format: Format,
    /// Larger objects are skipped.
    pub max_object_bytes: usize,
    /// Objects per batch.
    pub batch: usize,
    /// The node's exchange seam; the objects come from the node itself
    /// ([`crate::exchange::Counterparty::Local`]).
    pub exchange: crate::exchange::Exchange,
    /// The protected facilities: each object stored is checked against
    /// them ([`Totals::touches`]). `None`: not checked.
    pub facilities: Option<std::sync::Arc<crate::facility::Registry>>,
    /// The node's warninglists: each indicator stored is checked against
    /// them ([`Totals::warninglisted`]; the stored bytes are unchanged).
    /// `None`: not checked.
    pub warninglists: Option<std::sync::Arc<accord_warninglist::WarninglistSet>>,
}

impl Totals {
    /// The one-line summary printed at the end.
    pub fn summary(&self, collection: &str, data: &str, took: std::time::Duration) -> String {
        let secs = took.as_secs_f64();
        format!(
            "{} objects read into collection `{collection}` of {data}: {} stored, {} duplicates, {} conflicts, {} rejected as invalid, {} unreadable parts ({secs:.1} s, {:.0} objects/s)",
            self.seen,
            self.stored,
            self.duplicates,
            self.conflicts,
            self.rejected,
            self.faults,
            self.seen as f64 / secs.max(1e-9)
        ) + &self.warninglisted_line()
    }

    /// `; N indicators on warninglists (list n, …)`, or nothing.
    fn warninglisted_line(&self) -> String {
        if self.warninglisted == 0 {
            return String::new();
        }
        let lists: Vec<String> = self
            .warninglisted_lists
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        format!(
            "; {} indicators flagged as warninglisted ({}): not matched, exported to IDS formats or sent to partners",
            self.warninglisted,
            lists.join(", ")
        )
    }
}

/// Validates and stores the objects of `sources`, reporting problems to the
/// report `report` makes for each file; `progress` is told the bytes done
/// (the total is the sum of the sources' sizes). Stops at the first store
/// failure (a full disk), which is returned with the totals so far: what
/// they count as stored is on disk.
pub fn ingest<'s>(
    writer: &dyn ObjectWrite,
    sources: &'s [Source],
    opts: &Options<'_>,
    progress: &dyn Progress,
    mut report: impl FnMut(&'s Source) -> Box<dyn IngestReport + 's>,
) -> (Totals, Option<IngestError>) {
    let mut t = Totals::default();
    let mut done_bytes = 0u64;
    for source in sources {
        let src = source.bytes();
        let mut rep = report(source);
        let rep = rep.as_mut();
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut failure: Option<StoreError> = None;
        let seam = crate::check::Seam {
            exchange: &opts.exchange,
            from: crate::exchange::Counterparty::Local,
            // The store reports a version stored twice with other content.
            repeated_versions: false,
        };
        check_file(
            seam,
            source,
            opts.format,
            opts.max_object_bytes,
            opts.batch,
            |batch| {
                if failure.is_some() {
                    return;
                }
                let mut objs = Vec::with_capacity(batch.len());
                let mut origins = Vec::with_capacity(batch.len());
                let mut touches = Vec::new();
                let mut listed = Vec::new();
                let mut last_offset = 0;
                for outcome in &batch {
                    match outcome {
                        Outcome::Object(c) => {
                            t.seen += 1;
                            last_offset = c.offset;
                            rep.checked(c);
                            if let Some(new) = new_object(c, opts.collection, opts.origin) {
                                if let Some(reg) = &opts.facilities
                                    && let Some(touch) = crate::facility::touch_of(
                                        reg,
                                        new.type_name,
                                        new.id,
                                        new.raw,
                                        &source.name,
                                    )
                                {
                                    touches.push((objs.len(), touch));
                                }
                                if let Some(set) = &opts.warninglists
                                    && new.type_name == "indicator"
                                {
                                    let hits = crate::warninglists::indicator_hits(set, new.raw);
                                    if !hits.is_empty() {
                                        listed.push((
                                            objs.len(),
                                            hits.iter().map(|h| h.list.to_string()).collect(),
                                        ));
                                    }
                                }
                                origins.push((c.anchor, c.offset, new.id.to_owned()));
                                objs.push(new);
                            } else {
                                t.rejected += 1;
                            }
                        }
                        Outcome::Other(Item::BundleIssues {
                            anchor,
                            offset,
                            text,
                            issues,
                        }) => {
                            rep.issues(*anchor, *offset, text, issues);
                        }
                        Outcome::Other(Item::Error {
                            anchor,
                            offset,
                            message,
                        }) => {
                            t.faults += 1;
                            rep.fault(*anchor, *offset, message);
                        }
                        Outcome::Other(Item::Object { .. } | Item::Line { .. }) => {}
                    }
                }
                progress.set_position(done_bytes + last_offset as u64);
                if objs.is_empty() {
                    return;
                }
                match writer.submit(&objs) {
                    Ok(pending) => in_flight.push_back(InFlight {
                        pending,
                        origins,
                        touches,
                        listed,
                    }),
                    Err(e) => {
                        failure = Some(e);
                        return;
                    }
                }
                // Keep a few batches in flight so validation overlaps the commits.
                while in_flight.len() > 8 {
                    if let Err(e) = settle(in_flight.pop_front(), rep, &mut t) {
                        failure = Some(e);
                        return;
                    }
                }
            },
        );
        while let Some(f) = in_flight.pop_front() {
            if failure.is_none()
                && let Err(e) = settle(Some(f), rep, &mut t)
            {
                failure = Some(e);
            }
        }
        done_bytes += src.len() as u64;
        // The batches report where their last object starts: the file's
        // end (its last object's bytes, a closing bracket) is done too.
        progress.set_position(done_bytes);
        if let Some(source_err) = failure {
            progress.finish();
            return (
                t,
                Some(IngestError {
                    file: source.name.clone(),
                    source: source_err,
                }),
            );
        }
    }
    progress.finish();
    (t, None)
}

fn new_object<'c>(
    c: &'c Checked<'_>,
    collection: &'c str,
    origin: &'c str,
) -> Option<NewObject<'c>> {
    c.meta
        .as_ref()
        .map(|m| m.new_object(c.text, collection, origin))
}

fn settle(
    f: Option<InFlight>,
    rep: &mut dyn IngestReport,
    t: &mut Totals,
) -> Result<(), StoreError> {
    let Some(f) = f else { return Ok(()) };
    let outcomes = f.pending.wait()?;
    for (i, touch) in f.touches {
        if matches!(outcomes.get(i), Some(PutOutcome::Stored { .. })) {
            t.touches.push(touch);
        }
    }
    for (i, lists) in f.listed {
        if matches!(outcomes.get(i), Some(PutOutcome::Stored { .. })) {
            t.warninglisted += 1;
            for l in lists {
                *t.warninglisted_lists.entry(l).or_default() += 1;
            }
        }
    }
    for (outcome, (anchor, offset, id)) in outcomes.iter().zip(&f.origins) {
        match outcome {
            PutOutcome::Stored { .. } => t.stored += 1,
            PutOutcome::Duplicate { .. } => t.duplicates += 1,
            PutOutcome::Conflict { existing_seq } => {
                t.conflicts += 1;
                rep.object_error(
                    *anchor,
                    *offset,
                    id,
                    "conflict",
                    &format!(
                        "this version (same id and modified) is already stored with different content (store seq {existing_seq}); kept the stored one"
                    ),
                );
            }
        }
    }
    Ok(())
}
