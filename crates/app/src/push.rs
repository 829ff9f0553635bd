//! Pushing this node's new objects to a partner: TAXII POST of what the
//! exchange seam releases, one bounded batch at a time, with a cursor per
//! partner and local collection kept in the store.
//!
//! For each local collection that flows to the partner
//! ([`pushed_collections`]) the push reads the versions stored after the
//! collection's push cursor (a store `seq`, kept in `sync_cursors` under
//! [`push_cursor_key`]), in `seq` order, `batch` at a time. Each batch goes
//! through [`Exchange::release`] for `Counterparty::Partner(name)`. Then,
//! in one durable transaction ([`accord_store::ObjectWrite::log_push`]), the batch's
//! `out` records ([`Exchange::out_records`]) are appended and the objects
//! to send, exactly as released, are kept in the store's push journal
//! (or, when nothing is to be sent, the cursor moves). Only then is the
//! envelope POSTed to the partner's push collection and its status polled;
//! once the partner answered, the cursor moves past the batch and the
//! journal forgets it, in one transaction ([`accord_store::SyncCursors::push_acked`]).
//!
//! So a crash or a failure at any point loses nothing and records nothing
//! twice: before the journal is written nothing was recorded or sent (the
//! batch is released again); after, the journalled batch is POSTed again
//! as it was, with no new `out` record, before anything newer is released.
//! The partner stores an (id, version) once, so a batch POSTed twice is
//! stored once. Each `out` record of a push thus stands for one logical
//! send, delivered before the cursor passes it.
//!
//! Objects that came from the partner itself (origin `partner:NAME`, or
//! posted by its account, `taxii:ACCOUNT`) are not sent back to it.

use crate::config::{Config, PartnerConfig};
use crate::exchange::{Counterparty, Exchange, Release, sent_bytes};
use accord_client::{ClientError, TaxiiClient};
use accord_stix::Clock;
use accord_store::{Backend, PushStep, Query, StoreError, StoredObject, VersionFilter};

/// Objects per POST by default.
pub const DEFAULT_PUSH_BATCH: usize = 500;

/// The cursor key of what was pushed to `partner` from the local
/// `collection`.
pub fn push_cursor_key(partner: &str, collection: &str) -> String {
    format!("push {partner} <- {collection}")
}

/// The origin the pull path records for objects pulled from `partner`.
pub fn partner_origin(partner: &str) -> String {
    format!("partner:{partner}")
}

/// The local collections whose objects flow to `partner`: its agreement's
/// `outbound.collections` when given, else every collection of `local`
/// except the collections where partners' objects are received
/// ([`PartnerConfig::received_collection`] of every partner).
pub fn pushed_collections(
    config: &Config,
    partner: &PartnerConfig,
    local: &[String],
) -> Vec<String> {
    if !partner.outbound.collections.is_empty() {
        return partner.outbound.collections.clone();
    }
    let received: std::collections::HashSet<String> = config
        .partners
        .iter()
        .map(PartnerConfig::received_collection)
        .collect();
    local
        .iter()
        .filter(|c| !received.contains(*c))
        .cloned()
        .collect()
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Envelopes POSTed.
    pub batches: u64,
    /// Stored versions read after the cursors.
    pub considered: u64,
    /// Versions sent unchanged.
    pub sent: u64,
    /// Versions sent redacted.
    pub redacted: u64,
    /// Versions the seam withheld (not sent; logged as withheld).
    pub withheld: u64,
    /// Versions not sent because they came from this partner.
    pub echoes: u64,
    /// Versions the partner's status counts as stored or already there.
    pub accepted: u64,
    /// Objects POSTed again from the push journal: a batch an earlier,
    /// interrupted round had released and recorded but not seen
    /// acknowledged (counted in that round's `sent` and `redacted`).
    pub resent: u64,
    /// Versions the partner refused, with its reason: (id, version,
    /// message).
    pub refused: Vec<(String, String, String)>,
}

/// Why a push stopped. What it did before (batches accepted, cursors
/// moved) is in `report`.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Reading the store, appending the `out` records or moving a cursor
    /// failed.
    #[error("push to partner `{partner}` from `{collection}`: {what}: {source}")]
    Store {
        /// The partner.
        partner: String,
        /// The local collection.
        collection: String,
        /// What was being done.
        what: &'static str,
        /// The store's reason.
        source: StoreError,
        /// What was done before.
        report: Box<PushReport>,
    },
    /// The POST or the status polling failed; the batch will be sent again.
    #[error("push to partner `{partner}` from `{collection}`: {source}")]
    Remote {
        /// The partner.
        partner: String,
        /// The local collection.
        collection: String,
        /// What failed (it names the URL).
        source: ClientError,
        /// What was done before.
        report: Box<PushReport>,
    },
}

impl PushError {
    /// What was done before the failure.
    pub fn report(&self) -> &PushReport {
        match self {
            PushError::Store { report, .. } | PushError::Remote { report, .. } => report,
        }
    }
}

/// A pushed batch ends once its objects' JSON reaches this many bytes
/// (the object that reaches it is its last).
pub const PUSH_BATCH_BYTES: usize = 32 << 20;

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushTarget<'a> {
    /// The partner's name (the counterparty of the seam and the records).
    pub partner: &'a str,
    /// The account it uses on this node (its POSTs here carry
    /// `taxii:ACCOUNT` as origin: not sent back).
    pub account: &'a str,
    /// The partner's collection URL to POST into.
    pub url: &'a str,
    /// The local collections to push ([`pushed_collections`]).
    pub collections: &'a [String],
    /// Objects per POST.
    pub batch: usize,
}

/// Whether [`push`] would have anything to send: a pending batch, or an
/// object stored after a collection's cursor (echoes and what the
/// agreement withholds included: this errs towards yes).
///
/// # Errors
/// [`StoreError`] reading the journal, a cursor or the collection.
pub fn has_work(store: &dyn Backend, target: &PushTarget<'_>) -> Result<bool, StoreError> {
    for collection in target.collections {
        let key = push_cursor_key(target.partner, collection);
        if store.push_pending(&key)?.is_some() {
            return Ok(true);
        }
        let after = store
            .sync_cursor(&key)?
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
        let q = Query {
            collection: Some(collection.clone()),
            versions: VersionFilter::all(),
            after_seq: after,
            ..Query::default()
        };
        if store.query(&q, 1)?.last_seq().is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Pushes what was stored in `target.collections` since their cursors to
/// the partner (see the module documentation). Store calls run on the
/// calling thread: run it on a thread that may block (the scheduler gives
/// each partner its own).
///
/// # Errors
/// [`PushError`]; the cursors stay before the batch that failed, which
/// stays in the push journal once recorded.
pub async fn push(
    store: &dyn Backend,
    client: &TaxiiClient,
    exchange: &Exchange,
    clock: &dyn Clock,
    target: &PushTarget<'_>,
) -> Result<PushReport, PushError> {
    let mut report = PushReport::default();
    let to = Counterparty::Partner(target.partner);
    let echo_origins = [
        partner_origin(target.partner),
        format!("taxii:{}", target.account),
    ];
    for collection in target.collections {
        let key = push_cursor_key(target.partner, collection);
        let store_err = |what, source, report: &PushReport| PushError::Store {
            partner: target.partner.to_owned(),
            collection: collection.clone(),
            what,
            source,
            report: Box::new(report.clone()),
        };
        // Whether this round journalled the pending batch (else an
        // interrupted round did) and whether more is stored after it.
        let mut ours = false;
        let mut more = true;
        loop {
            // A batch released and recorded but not acknowledged: POST it
            // as it was, then move the cursor past it.
            let pending = match store.push_pending(&key) {
                Ok(p) => p,
                Err(e) => return Err(store_err("reading the push journal", e, &report)),
            };
            if let Some(p) = pending {
                if !ours {
                    report.resent += p.objects.len() as u64;
                    tracing::info!(
                        partner = target.partner,
                        collection = %collection,
                        objects = p.objects.len(),
                        "sending again a batch an interrupted push released"
                    );
                }
                let bytes: Vec<&str> = p.objects.iter().map(String::as_str).collect();
                let status =
                    client
                        .add_raw_objects(target.url, &bytes)
                        .await
                        .map_err(|source| PushError::Remote {
                            partner: target.partner.to_owned(),
                            collection: collection.clone(),
                            source,
                            report: Box::new(report.clone()),
                        })?;
                report.batches += 1;
                report.accepted += status.success_count;
                for f in &status.failures {
                    let message = f.message.clone().unwrap_or_default();
                    tracing::warn!(
                        partner = target.partner,
                        id = %f.id,
                        version = %f.version,
                        "partner refused a pushed object: {message}"
                    );
                    report
                        .refused
                        .push((f.id.clone(), f.version.clone(), message));
                }
                if let Err(e) = store.push_acked(&key, p.last_seq) {
                    return Err(store_err("saving the push cursor", e, &report));
                }
            }
            if !more {
                break;
            }
            let after = match store.sync_cursor(&key) {
                Ok(c) => c.and_then(|s| s.parse::<i64>().ok()).unwrap_or(0),
                Err(e) => return Err(store_err("reading the push cursor", e, &report)),
            };
            let q = Query {
                collection: Some(collection.clone()),
                versions: VersionFilter::all(),
                after_seq: after,
                ..Query::default()
            };
            // A batch is also bounded in bytes, under the partner's
            // default request limit (100 MiB) with an object to spare: a
            // batch it refused would be POSTed again and again.
            let page = match store.query_bounded(&q, target.batch.max(1), PUSH_BATCH_BYTES) {
                Ok(p) => p,
                Err(e) => return Err(store_err("reading the objects to push", e, &report)),
            };
            let Some(last) = page.last_seq() else { break };
            more = page.more;
            report.considered += page.objects.len() as u64;
            let (objects, echoes): (Vec<StoredObject>, Vec<StoredObject>) = page
                .objects
                .into_iter()
                .partition(|o| !echo_origins.contains(&o.origin));
            report.echoes += echoes.len() as u64;
            let released = exchange.release(to, &objects, store);
            for r in &released {
                match r {
                    Release::Send => report.sent += 1,
                    Release::Redact { .. } => report.redacted += 1,
                    Release::Withhold { .. } => report.withheld += 1,
                }
            }
            let bytes: Vec<String> = sent_bytes(&objects, &released).map(str::to_owned).collect();
            let records =
                Exchange::out_records(to, collection, &objects, &released, &clock.now_rfc3339());
            let step = if bytes.is_empty() {
                PushStep::Done {
                    key: key.clone(),
                    after,
                    last_seq: last,
                }
            } else {
                PushStep::Pending {
                    key: key.clone(),
                    after,
                    last_seq: last,
                    objects: bytes,
                }
            };
            ours = true;
            if let Err(e) = store.writer().log_push(&records, step) {
                return Err(store_err("logging the out records", e, &report));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_collections_do_not_flow_out_by_default() {
        let mut c = Config::parse(crate::config::tests::MINIMAL, "t").unwrap();
        let p = |name: &str, into: Option<&str>| {
            let mut p: PartnerConfig = toml::from_str(&format!(
                "name = \"{name}\"\nurl = \"http://x/\"\nverifier_key = \"\"\n"
            ))
            .unwrap();
            p.sync.into = into.map(str::to_owned);
            p
        };
        c.partners = vec![p("a", None), p("b", Some("inbox-b"))];
        let local: Vec<String> = ["default", "from-a", "inbox-b", "other"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            pushed_collections(&c, &c.partners[0], &local),
            vec!["default".to_owned(), "other".to_owned()]
        );
        let mut only = c.partners[1].clone();
        only.outbound.collections = vec!["other".into()];
        assert_eq!(
            pushed_collections(&c, &only, &local),
            vec!["other".to_owned()]
        );
        assert_eq!(push_cursor_key("a", "default"), "push a <- default");
    }
}
