//! `accord sync`: pull a partner's TAXII collection into the local store.

use accord_node::client::{Auth, TaxiiClient};
use accord_node::sync::{SyncOptions, SyncReport, sync_collection};
use accord_store::SqliteStore;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Pull a TAXII 2.1 collection from a partner into the local store.
///
/// Every object is validated as `accord ingest` does; valid ones are stored
/// (every version), invalid ones reported with the validator's reasons. The
/// newest `X-TAXII-Date-Added-Last` seen is kept in DIR/sync-state.json, so the
/// next run of the same command fetches only what the partner added since:
/// a sync where nothing changed costs one empty page.
///
/// Credentials come from environment variables, never the command line.
///
/// Exit status: 0 when everything fetched was stored or already there, 1 when
/// some objects were rejected or conflicted, 2 when the sync failed (what was
/// stored before the failure stays, and the cursor is not moved past it), 3
/// when witnessing the partner's log raised an alert (`accord ledger alerts`).
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    ACCORD_PASSWORD=demo accord sync --from http://127.0.0.1:8470/demo/collections/demo/ --user demo --into partner-demo\n  \
    ACCORD_TOKEN=... accord sync --from https://partner.example/api1/collections/ID/ --into partner --full")]
pub struct Args {
    /// The partner's collection URL (…/collections/ID/).
    #[arg(long, value_name = "URL")]
    from: String,
    /// The local collection to store into.
    #[arg(long, value_name = "NAME")]
    into: String,
    /// User name for HTTP Basic; the password is read from $ACCORD_PASSWORD.
    #[arg(long)]
    user: Option<String>,
    /// Use the bearer token in $ACCORD_TOKEN instead of a user and password.
    #[arg(long, conflicts_with = "user")]
    token: bool,
    /// The node's data directory.
    #[arg(long, env = "ACCORD_DATA", default_value = "accord-data")]
    data: PathBuf,
    /// Recorded as each object's origin (the partner's name); the URL's host by default.
    #[arg(long)]
    origin: Option<String>,
    /// Ignore the saved cursor and fetch everything again.
    #[arg(long)]
    full: bool,
    /// Objects per request.
    #[arg(long, default_value_t = 500)]
    page: usize,
    /// The node's configuration: with it, a partner in `[[partners]]`
    /// whose `url` the --from URL starts with (or --partner) is witnessed:
    /// its log's checkpoint is fetched, verified, checked for consistency
    /// with the last one held, kept, cosigned, and the cosignature returned.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The partner (its name in `[[partners]]`) to witness.
    #[arg(long, requires = "config")]
    partner: Option<String>,
}

fn state_path(data: &Path) -> PathBuf {
    data.join("sync-state.json")
}

fn load_state(data: &Path) -> Result<BTreeMap<String, String>> {
    let p = state_path(data);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).with_context(|| format!("reading {}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// Writes the state atomically (temp file, fsync, rename), so a crash leaves
/// the old cursor or the new one, never half a file.
fn save_state(data: &Path, state: &BTreeMap<String, String>) -> Result<()> {
    let p = state_path(data);
    let tmp = p.with_extension("json.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(
            &mut f,
            &serde_json::to_vec_pretty(state).unwrap_or_default(),
        )?;
        f.sync_all()?;
        std::fs::rename(&tmp, &p)
    };
    write().with_context(|| format!("writing {}", p.display()))
}

fn print_report(r: &SyncReport, args: &Args) {
    for rej in r.rejected.iter().take(20) {
        eprintln!(
            "rejected {} (page {}, object {}): {}",
            rej.id.as_deref().unwrap_or("<no id>"),
            rej.page,
            rej.index,
            rej.reason.replace('\n', "; ")
        );
    }
    if r.rejected.len() > 20 {
        eprintln!("… and {} more rejected", r.rejected.len() - 20);
    }
    for c in &r.conflicts {
        eprintln!(
            "conflict {}: this version is already stored with other content (store seq {}); kept the stored one",
            c.id, c.existing_seq
        );
    }
    eprintln!(
        "{} objects fetched in {} page(s) from {} into `{}`: {} stored, {} duplicates, {} conflicts, {} rejected; next sync from {}",
        r.fetched,
        r.pages,
        args.from,
        args.into,
        r.stored,
        r.duplicates,
        r.conflicts.len(),
        r.rejected.len(),
        r.next_added_after.as_deref().unwrap_or("the start")
    );
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let auth = if args.token {
        Auth::Bearer(
            std::env::var("ACCORD_TOKEN").context("--token needs the token in $ACCORD_TOKEN")?,
        )
    } else if let Some(user) = &args.user {
        Auth::Basic {
            user: user.clone(),
            password: std::env::var("ACCORD_PASSWORD")
                .context("--user needs the password in $ACCORD_PASSWORD")?,
        }
    } else {
        Auth::None
    };
    if !args.from.ends_with('/') || !args.from.contains("/collections/") {
        bail!(
            "--from must be a collection URL ending in /collections/ID/, not `{}`",
            args.from
        );
    }
    let config = match &args.config {
        Some(p) => {
            let name = p.display().to_string();
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {name}"))?;
            Some(accord_node::config::Config::parse(&text, &name)?)
        }
        None => None,
    };
    let partner = match (&config, &args.partner) {
        (Some(c), Some(name)) => Some(crate::ledger_cmd::partner(Some(c), name)?.clone()),
        (Some(c), None) => c
            .partners
            .iter()
            .find(|p| args.from.starts_with(p.url.trim_end_matches('/')))
            .cloned(),
        _ => None,
    };
    let data = config
        .as_ref()
        .map_or(args.data.clone(), |c| c.data_dir.clone());
    let client =
        TaxiiClient::new(&args.from, auth.clone()).context("setting up the TAXII client")?;
    let store = SqliteStore::open(&data)
        .with_context(|| format!("opening the data directory {}", data.display()))?;
    let mut state = load_state(&data)?;
    let key = format!("{} -> {}", args.from, args.into);
    let origin = args
        .origin
        .clone()
        .or_else(|| partner.as_ref().map(|p| p.name.clone()))
        .unwrap_or_else(|| {
            args.from
                .split("//")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or("partner")
                .to_owned()
        });
    let opts = SyncOptions {
        since: if args.full {
            None
        } else {
            state.get(&key).cloned()
        },
        page_limit: args.page.max(1),
        ..SyncOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Stored objects are logged as received from the partner.
    let writer = store.writer().received_from(&origin);
    let result = rt.block_on(sync_collection(
        &client, &args.from, &writer, &args.into, &origin, &opts,
    ));
    let (report, failure) = match result {
        Ok(r) => (r, None),
        Err(e) => (e.report().clone(), Some(e)),
    };
    print_report(&report, args);
    if let Some(next) = &report.next_added_after {
        state.insert(key, next.clone());
        save_state(&data, &state)?;
    }
    if let Some(e) = failure {
        return Err(anyhow::Error::new(e)
            .context("the sync stopped; what is counted as stored above is on disk"));
    }
    if let (Some(p), Some(c)) = (&partner, &config) {
        let keys = accord_node::ledger_api::LedgerKeys::for_config(c)?;
        let lc = accord_node::ledger_api::LedgerClient::new(&p.url, auth)?;
        let w = rt
            .block_on(accord_node::ledger_api::witness_partner(
                &store, &keys, p, &lc,
            ))
            .with_context(|| format!("witnessing {}'s log", p.name))?;
        eprintln!(
            "witnessed {}'s log at size {}: {}{}{}",
            p.name,
            w.size,
            w.outcome,
            if w.cosigned { ", cosigned" } else { "" },
            if w.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", w.detail)
            }
        );
        if w.is_alert() {
            eprintln!("ALERT: see `accord ledger alerts`");
            return Ok(ExitCode::from(3));
        }
    }
    Ok(
        if report.rejected.is_empty() && report.conflicts.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}
