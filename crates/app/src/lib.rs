//! `accord-app`: the workflows of an Accord node, as plain functions and
//! types with typed errors, shared by the `accord` command line and the
//! server (`accord-node`, which only adds HTTP). Presentation (argument parsing, progress bars, printing
//! positions) stays with the callers.
//!
//! - [`input`] and [`check`]: reading STIX files and validating them in
//!   parallel, in file order; [`ingest`]: storing the valid objects.
//! - [`export`]: the store's objects as a bundle or JSON lines.
//! - [`indicators`]: the one indicator → liveness → pattern → index keys
//!   path, used by [`matching`] and [`blocklist`].
//! - [`matching`] and [`sighting`]: logs against indicators, hits, sightings.
//! - [`blocklist`]: live indicators as files for Suricata, Zeek, DNS RPZ, CSV.
//! - [`agreements`]: the partners' agreements as the seam's policy.
//! - [`exchange`]: the one seam every object crosses: `admit` on the way
//!   in (ingest, TAXII POST, sync), `release` on the way out (TAXII reads),
//!   under a [`exchange::Policy`].
//! - [`config`]: reading `accord.toml`; [`partner`]: partners, the account ↔
//!   partner mapping and their credentials; [`pull`]: reading a partner's
//!   TAXII collection into the store; [`push`]: sending this node's new
//!   objects to a partner; [`sync`]: the sync workflow, cursor in the
//!   store, witnessing the partner's log; [`scheduler`]: rounds of pull,
//!   push and witnessing per partner, on a schedule in `accord serve`,
//!   with backoff, pausing and health kept in the store.
//! - [`ledger`]: the node's log keys, checkpoints and cosignatures,
//!   witnessing and auditing partners' logs.
//! - [`warninglists`]: the node's MISP warninglists (stored in the data
//!   directory) and when an indicator is on one.
//! - [`generate`]: deterministic generated indicators (benchmarks, demo).
//!
//! The store and the time come from the caller: functions take the
//! narrowest capability trait of `accord_store` they need (`&dyn
//! ObjectRead`, `&dyn ObjectWrite`, `&dyn LedgerRead`, `&dyn SyncCursors`,
//! `&dyn Backend`, or a generic bound when they need several), never the
//! SQLite backend itself; the workflows that open the store only on some
//! paths ([`matching::run`], [`sync::sync`]) take an [`OpenStore`] from the
//! binary instead. Whatever needs the time takes an
//! [`accord_stix::Clock`] (or a time read from one) from its caller.
//!
//! # Error messages
//!
//! One convention for the workspace: **an error's message is complete and
//! says each fact once**, from the outer action to the cause, with a hint
//! where one exists (`sync from http://…/objects/: HTTP 401: wrong user
//! name, password or token (hint: …)`). So:
//!
//! - an error that wraps another includes the inner message in its own
//!   (`{source}`), or the part of it that its own text does not already
//!   say (`sync from {url}: {reason}` with
//!   [`accord_client::ClientError::reason`]), and never restates a fact
//!   the inner message names (the URL, the path, the status);
//! - `source()` is not used for display: an error may expose its cause
//!   there for programs that inspect it, but a printer prints the
//!   outermost message (`{e}`). The `accord` binary turns these errors
//!   into one `anyhow` message (its `flat`), and its printer, which walks
//!   an `anyhow` chain for the binary's own contexts, skips a cause the
//!   line already holds;
//! - an error from outside whose text leaves out its cause (`reqwest`'s)
//!   is rendered with its cause when it is wrapped
//!   ([`accord_client::ClientError`] does this, and does not expose the
//!   `reqwest` error through `source()`).

pub mod agreement_check;
pub mod agreement_log;
pub mod agreements;
pub mod blocklist;
pub mod check;
pub mod config;
pub mod exchange;
pub mod exercise;
pub mod export;
pub mod facility;
pub mod generate;
pub mod hotline;
pub mod indicators;
pub mod ingest;
pub mod input;
pub mod ledger;
pub mod limits;
pub mod matching;
pub mod misp_feed;
pub mod partner;
pub mod pull;
pub mod push;
pub mod reciprocity;
pub mod reference;
pub mod scheduler;
pub mod search;
pub mod secret_file;
pub mod sighting;
pub mod sightings_of;
pub mod sync;
pub mod techniques;
pub mod trend;
pub mod warninglists;

/// Opens the node's store in a data directory, as the binary chooses (the
/// `accord` command opens SQLite). Given to the workflows that open the
/// store only when a path needs it, so that the paths that need none (a
/// match from an indicator file into a bundle, a sync with a malformed
/// URL) never touch the data directory.
pub type OpenStore<'a> =
    &'a dyn Fn(
        &std::path::Path,
    ) -> Result<Box<dyn accord_store::Backend>, accord_store::StoreError>;

/// Progress of a long workflow, in bytes or objects; a progress bar in the
/// command line, nothing (`()`) elsewhere.
pub trait Progress: Sync {
    /// The position is now `pos`.
    fn set_position(&self, pos: u64);
    /// `n` more were done.
    fn inc(&self, n: u64);
    /// Done: remove the display.
    fn finish(&self);
}

impl Progress for () {
    fn set_position(&self, _: u64) {}
    fn inc(&self, _: u64) {}
    fn finish(&self) {}
}
