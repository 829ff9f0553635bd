//! `accord partner list|show|add|remove|check`: the partners of
//! `accord.toml` and their agreements, from the command line.

use accord_app::agreement_check;
use accord_app::agreement_log::{self, AgreementChange, ChangeKind};
use accord_app::config::{Config, PartnerConfig};
use accord_app::partner::{CredentialChoice, Partner, credentials};
use accord_client::TaxiiClient;
use accord_policy::describe;
use accord_stix::Clock;
use accord_store::accord_ledger::{LogVerifier, WitnessVerifier};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Partners and their agreements: list, show, add, remove, check.
///
/// A partner is another node: its name, its jurisdiction (ISO 3166-1
/// alpha-2), its TAXII URL and API root, the accounts both ways, its log's
/// verifier and witness keys, and the agreement for each direction
/// (`[partners.outbound]`: what this node sends it; `[partners.inbound]`:
/// what it may send here). `add` and `remove` edit the configuration in
/// place, keeping its comments and layout, and record the agreement change
/// as a `local` record in the node's log (collection `accord:agreements`,
/// object `agreement:NAME`, the SHA-256 of the agreement's canonical JSON).
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord init -o accord.toml --name cert-a\n  \
    accord partner add cert-b --jurisdiction DE --url https://cert-b.example/ --verifier-key KEY_B\n  \
    accord partner list\n  \
    accord partner show cert-b\n  \
    accord partner remove cert-b\n\n\
    A whole entry, with the keys `accord ledger key` prints on cert-b's node:\n  \
    accord partner add cert-b --jurisdiction DE --url https://taxii.cert-b.example/ \\\n      \
    --api-root api1 --account cert-b --user cert-a \\\n      \
    --verifier-key 'accord.cert-b/log+1a2b3c4d+AQ...' \\\n      \
    --witness-key 'accord.cert-b/witness+5e6f7a8b+BA...' \\\n      \
    --max-tlp amber --collection default --personal pseudonymise --customer-address truncate \\\n      \
    --pull 365fed99-08fa-fdcd-a1b3-fb247eb41d01 --interval-secs 300\n\n\
    Checking a partner needs its node running (the password of `user` in $ACCORD_PASSWORD):\n  \
    ACCORD_PASSWORD=... accord partner check cert-b\n\n\
    `check` exits 0 when every partner answers and its keys match, 1 when a key does not\n\
    match or an agreement has a fault, 2 when a partner cannot be reached.")]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// The node's configuration file.
    #[arg(long, short, default_value = "accord.toml")]
    config: PathBuf,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// A table of the partners: name, jurisdiction, URL, highest TLP sent,
    /// sync interval.
    List {
        #[command(flatten)]
        common: Common,
        /// JSON: an array of {name, jurisdiction, url, max_tlp_out, sync_interval_secs}.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one partner, its agreement in plain words, and the
    /// node's residency declaration.
    Show {
        #[command(flatten)]
        common: Common,
        /// The partner's name.
        name: String,
        /// JSON: the partner's configuration plus `agreement_text` and
        /// `agreement_sha256`.
        #[arg(long)]
        json: bool,
    },
    /// Add a partner to the configuration (comments and layout are kept).
    Add(Box<AddArgs>),
    /// Remove a partner from the configuration, and record the removal.
    Remove {
        #[command(flatten)]
        common: Common,
        /// The partner's name.
        name: String,
    },
    /// Per partner: it answers (TAXII discovery and /ledger/checkpoint,
    /// with the configured credentials: `user` and $ACCORD_PASSWORD, or
    /// $ACCORD_TOKEN), its checkpoint verifies under `verifier_key`, its
    /// witness key parses, and its agreement in plain words.
    Check {
        #[command(flatten)]
        common: Common,
        /// Only this partner (all when absent).
        name: Option<String>,
        /// JSON: an array of {partner, reachable, keys_match, problems, agreement_text}.
        #[arg(long)]
        json: bool,
    },
}

/// `accord partner add`.
#[derive(clap::Args)]
struct AddArgs {
    #[command(flatten)]
    common: Common,
    /// Its name (the `partner` of the log's records about it).
    name: String,
    /// Its base URL (where /taxii2/ and /ledger/ are served).
    #[arg(long)]
    url: String,
    /// Its jurisdiction, ISO 3166-1 alpha-2 (e.g. DE).
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Its API root's path segment (e.g. api1).
    #[arg(long)]
    api_root: Option<String>,
    /// Its log's verifier key (`accord ledger key` on its node, last line).
    #[arg(long)]
    verifier_key: String,
    /// Its witness key (`accord ledger key` on its node, `witness key:`).
    #[arg(long)]
    witness_key: Option<String>,
    /// The account it uses on this node (its name when absent).
    #[arg(long)]
    account: Option<String>,
    /// The account this node uses on it (password in $ACCORD_PASSWORD).
    #[arg(long)]
    user: Option<String>,
    /// The highest TLP this node sends it (RED never leaves).
    #[arg(long, value_parser = ["clear", "green", "amber", "amber+strict"])]
    max_tlp: Option<String>,
    /// A local collection (store name) whose objects flow to it; repeat for
    /// more (all its account may read when absent).
    #[arg(long = "collection")]
    collections: Vec<String>,
    /// Object types sent to it; repeat for more (every type when absent).
    #[arg(long = "type")]
    types: Vec<String>,
    /// What it may share onward.
    #[arg(long, value_parser = ["none", "clear", "green"])]
    onward: Option<String>,
    /// What happens to personal data sent to it.
    #[arg(long, value_parser = ACTIONS)]
    personal: Option<String>,
    /// What happens to addresses in the customer ranges sent to it.
    #[arg(long, value_parser = ACTIONS)]
    customer_address: Option<String>,
    /// What happens to important data sent to it.
    #[arg(long, value_parser = ACTIONS)]
    important: Option<String>,
    /// Do not send it sightings.
    #[arg(long)]
    no_sightings: bool,
    /// A collection id at the partner to pull from; repeat for more.
    #[arg(long = "pull")]
    pull: Vec<String>,
    /// The collection id at the partner to push into.
    #[arg(long)]
    push: Option<String>,
    /// Seconds between two sync rounds in `accord serve` (0: none).
    #[arg(long)]
    interval_secs: Option<u64>,
}

const ACTIONS: [&str; 5] = ["allow", "remove", "truncate", "pseudonymise", "withhold"];

fn load(path: &Path) -> Result<Config> {
    accord_app::config::load(path).map_err(crate::flat)
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    match &args.command {
        Sub::List { common, json } => list(&load(&common.config)?, *json),
        Sub::Show { common, name, json } => show(&load(&common.config)?, name, *json),
        Sub::Add(a) => add(a, clock),
        Sub::Remove { common, name } => remove(&common.config, name, clock),
        Sub::Check { common, name, json } => check(&common.config, name.as_deref(), *json),
    }
}

fn interval(p: &PartnerConfig) -> String {
    match p.sync.interval_secs {
        0 => "off".to_owned(),
        s => format!("{s}s"),
    }
}

/// The highest level that may actually go out (RED never does).
fn max_out(p: &PartnerConfig) -> &'static str {
    describe::tlp_name(p.outbound.max_tlp.min(accord_policy::Tlp::AmberStrict))
}

fn list(config: &Config, json: bool) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<_> = config
            .partners
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name,
                    "jurisdiction": p.jurisdiction,
                    "url": p.url,
                    "max_tlp_out": max_out(p),
                    "sync_interval_secs": p.sync.interval_secs,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(rows))?;
        return Ok(ExitCode::SUCCESS);
    }
    if config.partners.is_empty() {
        writeln!(out, "no partners; add one with `accord partner add`")?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 5]> = config
        .partners
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.jurisdiction.clone().unwrap_or_else(|| "-".into()),
                p.url.clone(),
                max_out(p).to_owned(),
                interval(p),
            ]
        })
        .collect();
    let head = ["NAME", "JURISDICTION", "URL", "MAX TLP OUT", "SYNC"];
    let mut widths = head.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s
    };
    writeln!(out, "{}", line(head))?;
    for r in &rows {
        writeln!(out, "{}", line(r.each_ref().map(String::as_str)))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn agreement_text(p: &PartnerConfig) -> String {
    describe::agreement(&p.name, &p.agreement())
}

fn sha256_of(p: &PartnerConfig) -> String {
    agreement_log::agreement_record(&p.name, &agreement_log::agreement_document(p), "-").sha256
}

fn show(config: &Config, name: &str, json: bool) -> Result<ExitCode> {
    let p = Partner::named(Some(config), name).map_err(crate::flat)?;
    let p = p.config();
    let account = p.account.as_deref().unwrap_or(&p.name);
    let mut out = std::io::stdout().lock();
    if json {
        let v = serde_json::json!({
            "name": p.name,
            "jurisdiction": p.jurisdiction,
            "url": p.url,
            "api_root": p.api_root,
            "account": account,
            "user": p.user,
            "verifier_key": p.verifier_key,
            "witness_key": p.witness_key,
            "sync": {
                "pull": p.sync.pull,
                "push": p.sync.push,
                "into": p.received_collection(),
                "interval_secs": p.sync.interval_secs,
            },
            "outbound": p.outbound,
            "inbound": p.inbound,
            "agreement_text": agreement_text(p).lines().collect::<Vec<_>>(),
            "agreement_sha256": sha256_of(p),
            "residency_text": describe::residency(&config.residency),
        });
        writeln!(out, "{v}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let none = || "-".to_owned();
    writeln!(out, "partner:       {}", p.name)?;
    writeln!(
        out,
        "jurisdiction:  {}",
        p.jurisdiction.clone().unwrap_or_else(none)
    )?;
    writeln!(out, "url:           {}", p.url)?;
    writeln!(
        out,
        "api root:      {}",
        p.api_root.clone().unwrap_or_else(none)
    )?;
    writeln!(out, "account here:  {account}")?;
    writeln!(
        out,
        "user there:    {}",
        p.user.clone().unwrap_or_else(none)
    )?;
    writeln!(out, "verifier key:  {}", p.verifier_key)?;
    writeln!(
        out,
        "witness key:   {}",
        p.witness_key.clone().unwrap_or_else(none)
    )?;
    writeln!(
        out,
        "sync:          pull [{}], push {}, into `{}`, every {}",
        p.sync.pull.join(", "),
        p.sync.push.clone().unwrap_or_else(none),
        p.received_collection(),
        interval(p)
    )?;
    writeln!(out, "agreement (sha256 {}):", sha256_of(p))?;
    for l in agreement_text(p).lines() {
        writeln!(out, "  {l}")?;
    }
    writeln!(out, "residency:")?;
    writeln!(out, "  {}", describe::residency(&config.residency))?;
    Ok(ExitCode::SUCCESS)
}

/// Reads `path` as an editable document.
fn read_doc(path: &Path) -> Result<(String, toml_edit::DocumentMut)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (write one with `accord init`)", path.display()))?;
    let doc = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((text, doc))
}

/// Checks the edited text as `accord serve` would read it, then replaces
/// the file (a temporary file renamed over it, keeping its permissions).
fn write_checked(path: &Path, text: &str) -> Result<Config> {
    let name = path.display().to_string();
    let config = Config::parse(text, &name).map_err(crate::flat)?;
    agreement_check::check(&config, &name).map_err(crate::flat)?;
    let tmp = path.with_extension("toml.partner-edit");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(config)
}

fn strings(items: &[String]) -> toml_edit::Item {
    let mut a = toml_edit::Array::new();
    for i in items {
        a.push(i.as_str());
    }
    toml_edit::value(a)
}

fn add(a: &AddArgs, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    use toml_edit::{Item, Table, value};
    let path = &a.common.config;
    let before = load(path)?;
    if before.partners.iter().any(|p| p.name == a.name) {
        bail!(
            "{}: a partner `{}` is already configured; `accord partner remove {}` first to replace it",
            path.display(),
            a.name,
            a.name
        );
    }
    if let Err(e) = LogVerifier::from_verifier_key(&a.verifier_key) {
        eprintln!(
            "warning: the verifier key `{}` does not parse ({e}); `accord partner check {}` will fail until it is the one `accord ledger key` prints on its node",
            a.verifier_key, a.name
        );
    }
    if let Some(k) = &a.witness_key
        && let Err(e) = WitnessVerifier::from_verifier_key(k)
    {
        eprintln!("warning: the witness key `{k}` does not parse ({e})");
    }
    let (_, mut doc) = read_doc(path)?;
    let mut t = Table::new();
    t["name"] = value(a.name.as_str());
    if let Some(j) = &a.jurisdiction {
        t["jurisdiction"] = value(j.as_str());
    }
    t["url"] = value(a.url.as_str());
    if let Some(r) = &a.api_root {
        t["api_root"] = value(r.as_str());
    }
    t["verifier_key"] = value(a.verifier_key.as_str());
    if let Some(k) = &a.witness_key {
        t["witness_key"] = value(k.as_str());
    }
    if let Some(x) = &a.account {
        t["account"] = value(x.as_str());
    }
    if let Some(x) = &a.user {
        t["user"] = value(x.as_str());
    }
    let mut out = Table::new();
    if !a.types.is_empty() {
        out["types"] = strings(&a.types);
    }
    if !a.collections.is_empty() {
        out["collections"] = strings(&a.collections);
    }
    if let Some(x) = &a.max_tlp {
        out["max_tlp"] = value(x.as_str());
    }
    if a.no_sightings {
        out["sightings"] = value(false);
    }
    if let Some(x) = &a.onward {
        out["onward"] = value(x.as_str());
    }
    let mut cats = Table::new();
    for (k, v) in [
        ("personal", &a.personal),
        ("customer_address", &a.customer_address),
        ("important", &a.important),
    ] {
        if let Some(v) = v {
            cats[k] = value(v.as_str());
        }
    }
    if !cats.is_empty() {
        out["categories"] = Item::Table(cats);
    }
    if !out.is_empty() {
        t["outbound"] = Item::Table(out);
    }
    let mut sync = Table::new();
    if !a.pull.is_empty() {
        sync["pull"] = strings(&a.pull);
    }
    if let Some(x) = &a.push {
        sync["push"] = value(x.as_str());
    }
    if let Some(x) = a.interval_secs {
        sync["interval_secs"] = value(i64::try_from(x).context("--interval-secs is too large")?);
    }
    if !sync.is_empty() {
        t["sync"] = Item::Table(sync);
    }
    match doc.get_mut("partners") {
        None => {
            let mut aot = toml_edit::ArrayOfTables::new();
            aot.push(t);
            doc.insert("partners", Item::ArrayOfTables(aot));
        }
        Some(Item::ArrayOfTables(aot)) => aot.push(t),
        Some(_) => bail!(
            "{}: `partners` is not written as [[partners]] tables; edit the file by hand",
            path.display()
        ),
    }
    let config = write_checked(path, &doc.to_string())?;
    println!("added partner `{}` to {}", a.name, path.display());
    record(&config, path, clock)?;
    let p = config
        .partners
        .iter()
        .find(|p| p.name == a.name)
        .context("the partner just added is not in the file")?;
    for l in agreement_text(p).lines() {
        println!("  {l}");
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(path: &Path, name: &str, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let before = load(path)?;
    Partner::named(Some(&before), name).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let (_, mut doc) = read_doc(path)?;
    let Some(toml_edit::Item::ArrayOfTables(aot)) = doc.get_mut("partners") else {
        bail!(
            "{}: `partners` is not written as [[partners]] tables; edit the file by hand",
            path.display()
        );
    };
    let at = aot
        .iter()
        .position(|t| t.get("name").and_then(|n| n.as_str()) == Some(name))
        .with_context(|| format!("{}: no [[partners]] named `{name}`", path.display()))?;
    aot.remove(at);
    if aot.is_empty() {
        doc.remove("partners");
    }
    let config = write_checked(path, &doc.to_string())?;
    println!("removed partner `{name}` from {}", path.display());
    record(&config, path, clock)?;
    Ok(ExitCode::SUCCESS)
}

fn say(changes: &[AgreementChange], data: &Path) {
    for c in changes {
        let what = match c.kind {
            ChangeKind::Added => "agreement recorded",
            ChangeKind::Changed => "agreement change recorded",
            ChangeKind::Removed => "removal recorded",
        };
        println!(
            "{what} in the log of {}: local record `{}` in `{}`, sha256 {}",
            data.display(),
            c.record.object_id,
            c.record.collection,
            c.sha256
        );
    }
}

/// Records the agreement changes of `config` in its node's log, when its
/// data directory has a store (a node not yet initialised records them on
/// its first `accord serve`).
fn record(config: &Config, path: &Path, clock: &Arc<dyn Clock>) -> Result<()> {
    if !crate::data_dir::has_store(&config.data_dir) {
        println!(
            "no store in {} (the data_dir of {}) yet: `accord serve` records the agreement when the node starts",
            config.data_dir.display(),
            path.display()
        );
        return Ok(());
    }
    let store = crate::data_dir::open_existing(&config.data_dir, clock)?;
    let changes = agreement_log::record_agreement_changes(&store, config, &clock.now_rfc3339())
        .map_err(crate::flat)?;
    say(&changes, &config.data_dir);
    Ok(())
}

/// What `accord serve` does before serving: checks the agreements and
/// records their changes since the last start in the log.
pub fn at_serve_start(path: &Path, config: &Config, clock: &Arc<dyn Clock>) -> Result<()> {
    agreement_check::check(config, &path.display().to_string()).map_err(crate::flat)?;
    // In a cluster the log is in PostgreSQL: the changes are recorded there.
    let store: Box<dyn accord_store::Backend> = match &config.cluster {
        Some(c) => Box::new(crate::cluster_cmd::open_store(c, clock)?),
        None => Box::new(crate::data_dir::open_or_create(&config.data_dir, clock)?),
    };
    let changes = agreement_log::record_agreement_changes(&*store, config, &clock.now_rfc3339())
        .map_err(crate::flat)?;
    for c in &changes {
        tracing::info!(
            partner = %c.partner,
            kind = ?c.kind,
            sha256 = %c.sha256,
            "agreement change recorded in the log"
        );
    }
    Ok(())
}

/// One partner's check.
#[derive(serde::Serialize)]
struct Checked {
    partner: String,
    url: String,
    reachable: bool,
    keys_match: bool,
    checkpoint_size: Option<u64>,
    problems: Vec<String>,
    agreement_text: Vec<String>,
}

async fn check_one(p: &Partner) -> Checked {
    let c = p.config();
    let mut r = Checked {
        partner: c.name.clone(),
        url: c.url.clone(),
        reachable: true,
        keys_match: true,
        checkpoint_size: None,
        problems: Vec::new(),
        agreement_text: agreement_text(c).lines().map(str::to_owned).collect(),
    };
    let verifier = match LogVerifier::from_verifier_key(&c.verifier_key) {
        Ok(v) => Some(v),
        Err(e) => {
            r.keys_match = false;
            r.problems.push(format!(
                "verifier_key `{}` does not parse: {e}",
                c.verifier_key
            ));
            None
        }
    };
    if let Some(k) = &c.witness_key
        && let Err(e) = WitnessVerifier::from_verifier_key(k)
    {
        r.keys_match = false;
        r.problems
            .push(format!("witness_key `{k}` does not parse: {e}"));
    }
    let auth = match credentials(&CredentialChoice::Default, Some(p)) {
        Ok(a) => a,
        Err(e) => {
            r.reachable = false;
            r.problems.push(e.to_string());
            return r;
        }
    };
    let client = match TaxiiClient::new(&c.url, auth) {
        Ok(c) => c,
        Err(e) => {
            r.reachable = false;
            r.problems.push(format!("url: {e}"));
            return r;
        }
    };
    if let Err(e) = client.discovery().await {
        r.reachable = false;
        r.problems.push(format!("TAXII discovery: {e}"));
    }
    match client.ledger().checkpoint().await {
        Err(e) => {
            r.reachable = false;
            r.problems.push(format!("ledger checkpoint: {e}"));
        }
        Ok(note) => {
            if let Some(v) = &verifier {
                match v.open(&note, v.name()) {
                    Ok(cp) => r.checkpoint_size = Some(cp.checkpoint.size),
                    Err(e) => {
                        r.keys_match = false;
                        // The partner's bytes: bounded, and control
                        // characters escaped before they reach a terminal.
                        let first = String::from_utf8_lossy(&note)
                            .lines()
                            .next()
                            .unwrap_or("")
                            .chars()
                            .take(200)
                            .flat_map(char::escape_debug)
                            .collect::<String>();
                        r.problems.push(format!(
                            "its checkpoint (origin `{first}`) does not verify under verifier_key `{}`: {e}; the key is wrong, or the partner's log key changed",
                            c.verifier_key
                        ));
                    }
                }
            }
        }
    }
    r
}

fn check(path: &Path, name: Option<&str>, json: bool) -> Result<ExitCode> {
    let config = load(path)?;
    let faults = match agreement_check::check(&config, &path.display().to_string()) {
        Ok(()) => Vec::new(),
        Err(e) => e.faults,
    };
    let partners: Vec<Partner> = match name {
        Some(n) => vec![
            Partner::named(Some(&config), n)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        ],
        None => Partner::all(&config),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let results: Vec<Checked> = partners.iter().map(|p| rt.block_on(check_one(p))).collect();
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "partners": results,
                "agreement_faults": faults.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        )?;
    } else {
        if results.is_empty() {
            writeln!(out, "no partners in {}", path.display())?;
        }
        for r in &results {
            writeln!(out, "partner {} ({}):", r.partner, r.url)?;
            writeln!(
                out,
                "  answers:   {}",
                if r.reachable {
                    "yes (TAXII discovery and ledger checkpoint)".to_owned()
                } else {
                    "NO".to_owned()
                }
            )?;
            writeln!(
                out,
                "  keys:      {}",
                match (r.keys_match, r.checkpoint_size) {
                    (true, Some(s)) =>
                        format!("match (its checkpoint of size {s} verifies; witness key parses)"),
                    (true, None) => "not checked (no checkpoint)".to_owned(),
                    (false, _) => "DO NOT MATCH".to_owned(),
                }
            )?;
            for pr in &r.problems {
                writeln!(out, "  problem:   {pr}")?;
            }
            writeln!(out, "  agreement:")?;
            for l in &r.agreement_text {
                writeln!(out, "    {l}")?;
            }
        }
        for f in &faults {
            writeln!(out, "agreement fault: {f}")?;
        }
    }
    let unreachable = results.iter().filter(|r| !r.reachable).count();
    let mismatched = results.iter().filter(|r| !r.keys_match).count();
    if unreachable > 0 || mismatched > 0 || !faults.is_empty() {
        eprintln!(
            "{} partner(s) checked: {unreachable} not answering, {mismatched} with keys that do not match, {} agreement fault(s)",
            results.len(),
            faults.len()
        );
    }
    Ok(if unreachable > 0 {
        ExitCode::from(2)
    } else if mismatched > 0 || !faults.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
