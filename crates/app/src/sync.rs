//! Pulling a partner's TAXII collection into the store, resuming from a
//! cursor kept in the store, and witnessing the partner's log.
//!
//! The cursor of a pull (`<collection URL> -> <local collection>`) is the
//! partner's `X-TAXII-Date-Added-Last` of the last page stored, kept in the
//! store's `sync_cursors` table. Versions before 0.2 kept the cursors in
//! `sync-state.json` beside the database: on first use that file is
//! imported into the store (cursors the store already has win) and renamed
//! `sync-state.json.imported`, so upgrading users keep their cursors.

use crate::OpenStore;
use crate::config::Config;
use crate::ledger::{self, LedgerKeys, WitnessReport};
use crate::partner::Partner;
use crate::pull::{SyncOptions, SyncReport, sync_collection};
use accord_client::LedgerClient;
use accord_client::{Auth, TaxiiClient};
use accord_stix::Clock;
use accord_store::{StoreError, SyncCursors};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file older versions kept the cursors in, beside the database.
pub const LEGACY_STATE_FILE: &str = "sync-state.json";

/// Why a sync could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum SyncFailure {
    /// The URL is not a TAXII collection URL.
    #[error("--from must be a collection URL ending in /collections/ID/, not `{0}`")]
    NotACollectionUrl(String),
    /// The partners' agreements could not be set up (the residency rules,
    /// the pseudonym secret).
    #[error("setting up the agreements: {0}")]
    Agreements(String),
    /// The TAXII client could not be set up.
    #[error("sync from {url}: {}", .source.reason())]
    Client {
        /// The collection URL.
        url: String,
        /// The client's reason.
        source: Box<accord_client::ClientError>,
    },
    /// The store could not be opened, or the cursor read or saved.
    #[error("{what} in {data}: {source}")]
    Store {
        /// What was being done.
        what: &'static str,
        /// The data directory.
        data: PathBuf,
        /// The store's reason.
        source: Box<StoreError>,
    },
    /// `sync-state.json` could not be read or renamed.
    #[error("importing the sync cursors of {path}: {message}")]
    LegacyState {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The async runtime could not start.
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The pull stopped; what `report` counts as stored is on disk and the
    /// cursor was moved to the last page stored. The message is the
    /// pull's, with a hint for the usual HTTP failures.
    #[error("{}", describe_pull(.source))]
    Pull {
        /// Why it stopped, with what the pull did before
        /// (`SyncError::report`).
        source: Box<crate::pull::SyncError>,
    },
    /// Witnessing the partner's log failed.
    #[error("witnessing {partner}'s log: {source}{}", ledger_hint(.source))]
    Witness {
        /// The partner.
        partner: String,
        /// The reason.
        source: Box<crate::ledger::LedgerError>,
    },
}

/// The hint for an HTTP 401 answer.
fn credentials_hint() -> String {
    use crate::partner::{PASSWORD_ENV, TOKEN_ENV};
    format!(
        " (hint: check the user name, from --user or the partner's `user`, and ${PASSWORD_ENV}, or the token in ${TOKEN_ENV})"
    )
}

/// The hint for a witnessing that failed on an HTTP 401 answer.
fn ledger_hint(e: &crate::ledger::LedgerError) -> String {
    match e {
        crate::ledger::LedgerError::Remote(c) if c.is_unauthorized() => credentials_hint(),
        _ => String::new(),
    }
}

/// The message of a stopped pull: the pull's own, a hint for the usual
/// answers (401, 403, 404), and what was kept when something was stored.
fn describe_pull(e: &crate::pull::SyncError) -> String {
    let mut text = e.to_string();
    if let crate::pull::SyncError::Remote { url, source, .. } = e {
        match source.http_status() {
            Some(401) => text.push_str(&credentials_hint()),
            Some(403) => text.push_str(" (hint: the account may not read this collection)"),
            Some(404) => {
                if let Ok(root) = accord_client::api_root_of(url) {
                    text.push_str(&format!(
                        " (hint: check the collection id; {root}collections/ lists them)"
                    ));
                }
            }
            _ => {}
        }
    }
    let stored = e.report().stored;
    if stored > 0 {
        text.push_str(&format!(
            "; the {stored} object(s) stored before stay, and the next sync resumes after them"
        ));
    }
    text
}

/// What to pull, from where, into where.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// The partner's collection URL (`…/collections/ID/`).
    pub from: String,
    /// The local collection.
    pub into: String,
    /// The data directory of `store` (where a legacy `sync-state.json` is
    /// looked for; named in errors).
    pub data: PathBuf,
    /// Recorded as each object's origin; the partner's name, else the
    /// URL's host, when absent.
    pub origin: Option<String>,
    /// Ignore the saved cursor.
    pub full: bool,
    /// Objects per request.
    pub page: usize,
    /// The credentials (see [`crate::partner::credentials`]).
    pub auth: Auth,
    /// The partner to witness after the pull, with the node's configuration.
    pub witness: Option<(Partner, Config)>,
}

/// What a sync did.
#[derive(Debug)]
pub struct SyncOutcome {
    /// The pull.
    pub report: SyncReport,
    /// The witnessing, when a partner was witnessed.
    pub witness: Option<WitnessReport>,
}

/// The cursor key of a pull.
pub fn cursor_key(from: &str, into: &str) -> String {
    format!("{from} -> {into}")
}

/// Imports `DATA/sync-state.json` into the store once (see the module
/// documentation). Returns how many cursors were added.
///
/// # Errors
/// [`SyncFailure::LegacyState`] when the file is unreadable or not a JSON
/// object of strings, [`SyncFailure::Store`] when the import fails (the file
/// is then left in place).
pub fn import_legacy_cursors(store: &dyn SyncCursors, data: &Path) -> Result<usize, SyncFailure> {
    let path = data.join(LEGACY_STATE_FILE);
    let legacy = |message: String| SyncFailure::LegacyState {
        path: path.clone(),
        message,
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(legacy(e.to_string())),
    };
    let state: BTreeMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|e| legacy(e.to_string()))?;
    let pairs: Vec<(&str, &str)> = state
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let n = store
        .import_sync_cursors(&pairs)
        .map_err(|source| SyncFailure::Store {
            what: "importing the sync cursors",
            data: data.to_owned(),
            source: Box::new(source),
        })?;
    let mut done = path.clone().into_os_string();
    done.push(".imported");
    std::fs::rename(&path, &done).map_err(|e| legacy(format!("renaming it: {e}")))?;
    Ok(n)
}

/// The origin recorded for objects pulled from `from`: `origin`, else the
/// partner's name, else the URL's host.
pub fn origin_of(from: &str, origin: Option<&str>, partner: Option<&Partner>) -> String {
    origin
        .map(str::to_owned)
        .or_else(|| partner.map(|p| p.name().to_owned()))
        .unwrap_or_else(|| {
            from.split("//")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or("partner")
                .to_owned()
        })
}

/// Pulls `req.from` into `req.into` of the store `open` opens on
/// `req.data` (once the URL and the client are checked), from the saved cursor unless `req.full`, saves the new
/// cursor, then witnesses the partner's log when `req.witness` is given,
/// cosigning at `clock`'s time. `on_pulled` sees the pull's report before
/// the witnessing starts (and also when the pull failed).
///
/// # Errors
/// [`SyncFailure`]; on [`SyncFailure::Pull`] the cursor was still moved
/// past what was stored.
pub fn sync(
    req: &SyncRequest,
    open: OpenStore<'_>,
    clock: &dyn Clock,
    on_pulled: impl FnOnce(&SyncReport),
) -> Result<SyncOutcome, SyncFailure> {
    if !req.from.ends_with('/') || !req.from.contains("/collections/") {
        return Err(SyncFailure::NotACollectionUrl(req.from.clone()));
    }
    let client =
        TaxiiClient::new(&req.from, req.auth.clone()).map_err(|source| SyncFailure::Client {
            url: req.from.clone(),
            source: Box::new(source),
        })?;
    let store_err = |what| {
        let data = req.data.clone();
        move |source| SyncFailure::Store {
            what,
            data,
            source: Box::new(source),
        }
    };
    let store = open(&req.data).map_err(store_err("opening the data directory"))?;
    let store = &*store;
    import_legacy_cursors(store, &req.data)?;
    let key = cursor_key(&req.from, &req.into);
    let since = if req.full {
        None
    } else {
        store
            .sync_cursor(&key)
            .map_err(store_err("reading the sync cursor"))?
    };
    let partner = req.witness.as_ref().map(|(p, _)| p);
    // The label of the `in` records: the partner's name, else the origin.
    let label = origin_of(&req.from, req.origin.as_deref(), partner);
    // A configured partner's objects are stored as the scheduler stores
    // them (origin `partner:NAME`, so that they are never sent back nor
    // onward against its agreement) and admitted under its agreement.
    let (origin, exchange) = match &req.witness {
        Some((p, config)) if req.origin.is_none() => {
            let exchange = crate::agreements::exchange_for(config, &config.data_dir)
                .map_err(|e| SyncFailure::Agreements(e.to_string()))?;
            let exchange = crate::hotline::gated(exchange, config, store)
                .map_err(|e| SyncFailure::Agreements(e.to_string()))?;
            (crate::push::partner_origin(p.name()), exchange)
        }
        // Without a partner's agreement: the default policy, under the
        // configuration's `[limits]` when there is one.
        _ => (
            label.clone(),
            crate::exchange::Exchange::default().with_limits(
                req.witness
                    .as_ref()
                    .map(|(_, c)| c.limits.input())
                    .unwrap_or_default(),
            ),
        ),
    };
    // A configured partner's objects are checked against the protected
    // facilities, and their touches escalated once stored.
    let facilities = match &req.witness {
        Some(_) => match crate::facility::FacilityWatch::new().registry(store) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!("protected facilities not checked: {e}");
                None
            }
        },
        None => None,
    };
    // Indicators pulled are counted against the node's warninglists, as
    // `accord ingest` counts them.
    let warninglists = match crate::warninglists::load(&req.data) {
        Ok(l) => l.map(|l| l.set).filter(|s| !s.is_empty()),
        Err(e) => {
            tracing::error!("warninglisted indicators not counted: {e}");
            None
        }
    };
    let opts = SyncOptions {
        since,
        page_limit: req.page.max(1),
        partner: partner.map(|p| p.name().to_owned()),
        exchange,
        facilities,
        warninglists,
        ..SyncOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SyncFailure::Runtime)?;
    // Stored objects are logged as received from the partner.
    let writer = store.writer().received_from(&label);
    let result = rt.block_on(sync_collection(
        &client, &req.from, &*writer, &req.into, &origin, &opts,
    ));
    let (report, failure) = match result {
        Ok(r) => (r, None),
        Err(e) => (e.report().clone(), Some(e)),
    };
    if let Some((_, config)) = &req.witness {
        crate::facility::escalate_logged(config, store, &report.touches, clock.now_timestamp());
    }
    on_pulled(&report);
    if let Some(next) = &report.next_added_after {
        store
            .set_sync_cursor(&key, next)
            .map_err(store_err("saving the sync cursor"))?;
    }
    if let Some(source) = failure {
        return Err(SyncFailure::Pull {
            source: Box::new(source),
        });
    }
    let witness = match &req.witness {
        None => None,
        Some((p, config)) => {
            let werr = |source| SyncFailure::Witness {
                partner: p.name().to_owned(),
                source: Box::new(source),
            };
            let keys = LedgerKeys::for_config(config).map_err(werr)?;
            let lc = LedgerClient::new(p.url(), req.auth.clone())
                .map_err(|e| werr(ledger::LedgerError::Remote(e)))?;
            Some(
                rt.block_on(ledger::witness_partner(
                    store,
                    &keys,
                    clock,
                    p.config(),
                    &lc,
                ))
                .map_err(werr)?,
            )
        }
    };
    Ok(SyncOutcome { report, witness })
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_store::SqliteStore;

    #[test]
    fn legacy_cursors_are_imported_once_and_the_file_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store.set_sync_cursor("a -> b", "new").unwrap();
        std::fs::write(
            dir.path().join(LEGACY_STATE_FILE),
            r#"{"a -> b": "old", "c -> d": "2026-01-01T00:00:00.000Z"}"#,
        )
        .unwrap();
        assert_eq!(import_legacy_cursors(&store, dir.path()).unwrap(), 1);
        assert!(!dir.path().join(LEGACY_STATE_FILE).exists());
        assert!(dir.path().join("sync-state.json.imported").exists());
        assert_eq!(store.sync_cursor("a -> b").unwrap().as_deref(), Some("new"));
        assert_eq!(
            store.sync_cursor("c -> d").unwrap().as_deref(),
            Some("2026-01-01T00:00:00.000Z")
        );
        // Nothing left to import.
        assert_eq!(import_legacy_cursors(&store, dir.path()).unwrap(), 0);
    }

    #[test]
    fn a_broken_legacy_file_is_an_error_naming_it_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        std::fs::write(dir.path().join(LEGACY_STATE_FILE), "[").unwrap();
        let e = import_legacy_cursors(&store, dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains(LEGACY_STATE_FILE), "{e}");
        assert!(dir.path().join(LEGACY_STATE_FILE).exists());
    }

    #[test]
    fn origin_falls_back_to_the_partner_then_the_host() {
        let url = "https://taxii.b.example:8443/api1/collections/x/";
        assert_eq!(origin_of(url, Some("o"), None), "o");
        assert_eq!(origin_of(url, None, None), "taxii.b.example:8443");
    }
}
