//! `accord sync`: pull a partner's TAXII collection into the local store.

use accord_app::partner::{CredentialChoice, Partner, credentials};
use accord_app::pull::SyncReport;
use accord_app::sync::{SyncRequest, sync};
use accord_stix::Clock;
use accord_store::{Backend, OpenOptions, SqliteStore, StoreError};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Pull a TAXII 2.1 collection from a partner into the local store.
///
/// Every object is validated as `accord ingest` does; valid ones are stored
/// (every version), invalid ones reported with the validator's reasons. The
/// newest `X-TAXII-Date-Added-Last` seen is kept in the store (a
/// `sync-state.json` of older versions is imported once), so the next run
/// of the same command fetches only what the partner added since: a sync
/// where nothing changed costs one empty page.
///
/// Credentials come from environment variables, never the command line:
/// `--token` ($ACCORD_TOKEN) or `--user` ($ACCORD_PASSWORD); without either,
/// a configured partner's `user` with $ACCORD_PASSWORD, else $ACCORD_TOKEN.
///
/// Exit status: 0 when everything fetched was stored or already there, 1 when
/// some objects were rejected or conflicted or witnessing the partner's log
/// raised an alert (printed as `ALERT`; see `accord ledger alerts`), 2 when
/// the sync failed (what was stored before the failure stays, and the cursor
/// is not moved past it).
///
/// With `--config` and without `--from`, it runs rounds with the configured
/// partners (`[[partners]]` with `[partners.sync]`), one or every one:
/// pull each `pull` collection, push new releasable objects to the `push`
/// collection, witness the partner's log, as `accord serve` does every
/// `interval_secs`; `--once` runs one round and exits, without it rounds
/// repeat until interrupted. `--resume` lifts the pause the scheduler put
/// on a failing partner; `--status` prints each partner's sync health.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    export ACCORD_PASSWORD=demo\n  \
    accord sync --from http://127.0.0.1:8470/demo/collections/demo/ --user demo --into partner-demo\n  \
    ACCORD_TOKEN=... accord sync --from https://b.example/api1/collections/ID/ --into b --full\n  \
    accord sync --config accord.toml --partner cert-b --once\n  \
    accord sync --config accord.toml --partner cert-b --resume")]
pub struct Args {
    /// The partner's collection URL (…/collections/ID/).
    #[arg(long, value_name = "URL", requires = "into")]
    from: Option<String>,
    /// The local collection to store into.
    #[arg(long, value_name = "NAME", requires = "from")]
    into: Option<String>,
    /// Without --from: one round with the configured partner(s), then exit.
    #[arg(long, conflicts_with = "from")]
    once: bool,
    /// Without --from: lift the partner's pause (all partners' without
    /// --partner) and exit.
    #[arg(long, conflicts_with_all = ["from", "once"])]
    resume: bool,
    /// Without --from: print each partner's sync health and exit.
    #[arg(long, conflicts_with_all = ["from", "once", "resume"])]
    status: bool,
    /// User name for HTTP Basic; the password is read from $ACCORD_PASSWORD.
    #[arg(long)]
    user: Option<String>,
    /// Use the bearer token in $ACCORD_TOKEN instead of a user and password.
    #[arg(long, conflicts_with = "user")]
    token: bool,
    /// The node's data directory.
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
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
    /// The partner (its name in `[[partners]]`): with --from, the one to
    /// witness; without, the one to sync with (every partner when absent).
    #[arg(long, requires = "config")]
    partner: Option<String>,
}

fn print_report(r: &SyncReport, from: &str, into: &str) {
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
        from,
        into,
        r.stored,
        r.duplicates,
        r.conflicts.len(),
        r.rejected.len(),
        r.next_added_after.as_deref().unwrap_or("the start")
    );
    if let Some(w) = r.warninglisted.describe() {
        eprintln!("{w}");
    }
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    match (&args.from, &args.into) {
        (Some(from), Some(into)) => pull_one(args, from, into, clock),
        _ => partners(args, clock),
    }
}

/// `accord sync --config C [--partner P] [--once|--resume|--status]`.
fn partners(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    use accord_app::scheduler::{Federation, SchedulerOptions, record_round, resume, run_round};
    let Some(path) = &args.config else {
        anyhow::bail!(
            "accord sync needs --from URL --into NAME, or --config with [[partners]] to sync with them"
        );
    };
    let config = accord_app::config::load(path).map_err(crate::flat)?;
    let selected: Vec<Partner> = match &args.partner {
        Some(name) => vec![Partner::named(Some(&config), name).map_err(crate::flat)?],
        None => Partner::all(&config),
    };
    if selected.is_empty() {
        anyhow::bail!("{} has no [[partners]] to sync with", path.display());
    }
    let store = SqliteStore::open_with(
        &config.data_dir,
        &OpenOptions::new().clock(Arc::clone(clock)),
    )
    .map_err(|e| anyhow::anyhow!("opening the store in {}: {e}", config.data_dir.display()))?;
    if args.status {
        let healths = accord_store::SyncCursors::partner_healths(&store).map_err(crate::flat)?;
        for p in &selected {
            match healths.iter().find(|h| h.partner == p.name()) {
                None => println!("{}: no round yet", p.name()),
                Some(h) => println!(
                    "{}: {}; last success {}; {} failure(s) in a row{}",
                    p.name(),
                    if h.paused { "PAUSED" } else { "active" },
                    h.last_success.as_deref().unwrap_or("never"),
                    h.failures,
                    match (&h.paused_reason, &h.last_error) {
                        (Some(r), _) => format!("; paused because: {r}"),
                        (None, Some(e)) if h.failures > 0 => format!("; last error: {e}"),
                        _ => String::new(),
                    }
                ),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.resume {
        for p in &selected {
            let was = resume(&store, p.name()).map_err(crate::flat)?;
            eprintln!(
                "{}: {}",
                p.name(),
                if was { "resumed" } else { "was not paused" }
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The operator's own rounds: the same exchange seam as `accord serve`.
    let exchange = accord_app::agreements::exchange_for(&config, &config.data_dir)?;
    let exchange = accord_app::hotline::gated(exchange, &config, &store).map_err(crate::flat)?;
    let fed = Federation::new(
        config,
        exchange,
        Arc::clone(clock),
        SchedulerOptions::default(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut code = ExitCode::SUCCESS;
    loop {
        for p in &selected {
            let outcome = rt.block_on(run_round(&fed, &store, p));
            match &outcome {
                Ok(r) => {
                    eprintln!("{}", r.summary());
                    if r.push.as_ref().is_some_and(|p| !p.refused.is_empty()) {
                        code = ExitCode::from(1);
                    }
                    if r.witness.as_ref().is_some_and(|w| w.is_alert()) {
                        code = ExitCode::from(1);
                    }
                }
                Err(e) => {
                    eprintln!("{}", e.report.summary());
                    eprintln!("error: {e}");
                    code = ExitCode::from(2);
                }
            }
            // A round by hand counts like a scheduled one: a success lifts
            // a pause, a failure counts (and may pause the partner).
            let h = record_round(
                &store,
                p.name(),
                &outcome,
                SchedulerOptions::default().max_failures,
                &clock.now_rfc3339(),
                true,
            )
            .map_err(crate::flat)?;
            if h.paused {
                eprintln!(
                    "{} is paused; after fixing the cause: accord sync --config {} --partner {} --resume",
                    p.name(),
                    path.display(),
                    p.name()
                );
            }
        }
        if args.once {
            return Ok(code);
        }
        let interval = selected
            .iter()
            .map(|p| p.config().sync.interval_secs)
            .filter(|&s| s > 0)
            .min()
            .unwrap_or(60);
        std::thread::sleep(std::time::Duration::from_secs(interval));
    }
}

/// `accord sync --from URL --into NAME`.
fn pull_one(args: &Args, from: &str, into: &str, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let config = match &args.config {
        Some(p) => Some(accord_app::config::load(p).map_err(crate::flat)?),
        None => None,
    };
    let partner = match (&config, &args.partner) {
        (Some(c), Some(name)) => Some(Partner::named(Some(c), name).map_err(crate::flat)?),
        (Some(c), None) => Partner::serving(c, from),
        _ => None,
    };
    let choice = if args.token {
        CredentialChoice::Token
    } else if let Some(user) = &args.user {
        CredentialChoice::User(user.clone())
    } else {
        CredentialChoice::Default
    };
    let auth = credentials(&choice, partner.as_ref()).map_err(crate::flat)?;
    let data = config
        .as_ref()
        .map_or(args.data.clone(), |c| c.data_dir.clone());
    let req = SyncRequest {
        from: from.to_owned(),
        into: into.to_owned(),
        data,
        origin: args.origin.clone(),
        full: args.full,
        page: args.page,
        auth,
        witness: partner.zip(config),
    };
    // The store, opened once the request is checked.
    let open = |data: &Path| -> Result<Box<dyn Backend>, StoreError> {
        Ok(Box::new(SqliteStore::open_with(
            data,
            &OpenOptions::new().clock(Arc::clone(clock)),
        )?))
    };
    // A pull that failed before its first page has nothing to report: the
    // error says what failed.
    let outcome = sync(&req, &open, &**clock, |r| {
        if r.pages > 0 {
            print_report(r, from, into);
        }
    })
    .map_err(crate::flat)?;
    if let Some(w) = &outcome.witness {
        eprintln!(
            "witnessed {}'s log at size {}: {}{}{}",
            w.partner,
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
            return Ok(ExitCode::from(1));
        }
    }
    let report = &outcome.report;
    Ok(
        if report.rejected.is_empty() && report.conflicts.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}
