//! `accord serve`, `accord demo` and `accord init`: running a node.

use accord_app::config::Config;
use accord_app::generate;
use accord_app::ingest::{Options, ingest};
use accord_app::input::{Format, Source};
use accord_stix::Clock;
use accord_store::{Backend, ObjectRead};
use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The demo data set, built into the binary so `accord demo` works from any
/// directory: real STIX 2.1 (OASIS examples, MISP, MITRE ATT&CK for ICS; see
/// data/demo/stix/SOURCES.md for origins and licences).
const DEMO_FILES: &[(&str, &[u8])] = &[
    (
        "ics-attack-18.1.json",
        include_bytes!("../../../data/demo/stix/ics-attack-18.1.json"),
    ),
    (
        "misp-stix-converter-event1-stix21.json",
        include_bytes!("../../../data/demo/stix/misp-stix-converter-event1-stix21.json"),
    ),
    (
        "oasis-apt1.json",
        include_bytes!("../../../data/demo/stix/oasis-apt1.json"),
    ),
    (
        "oasis-common-iep2-extension-definition.json",
        include_bytes!("../../../data/demo/stix/oasis-common-iep2-extension-definition.json"),
    ),
    (
        "oasis-common-tlp2-amber-strict-marking.json",
        include_bytes!("../../../data/demo/stix/oasis-common-tlp2-amber-strict-marking.json"),
    ),
    (
        "oasis-doc-defining-campaigns-threat-actors-intrusion-sets.json",
        include_bytes!(
            "../../../data/demo/stix/oasis-doc-defining-campaigns-threat-actors-intrusion-sets.json"
        ),
    ),
    (
        "oasis-doc-identifying-a-threat-actor-profile.json",
        include_bytes!("../../../data/demo/stix/oasis-doc-identifying-a-threat-actor-profile.json"),
    ),
    (
        "oasis-doc-indicator-for-malicious-url.json",
        include_bytes!("../../../data/demo/stix/oasis-doc-indicator-for-malicious-url.json"),
    ),
    (
        "oasis-doc-malware-indicator-for-file-hash.json",
        include_bytes!("../../../data/demo/stix/oasis-doc-malware-indicator-for-file-hash.json"),
    ),
    (
        "oasis-doc-sighting-of-an-indicator.json",
        include_bytes!("../../../data/demo/stix/oasis-doc-sighting-of-an-indicator.json"),
    ),
    (
        "oasis-doc-sighting-of-observed-data.json",
        include_bytes!("../../../data/demo/stix/oasis-doc-sighting-of-observed-data.json"),
    ),
    (
        "oasis-doc-threat-actor-leveraging-attack-patterns-and-malware.json",
        include_bytes!(
            "../../../data/demo/stix/oasis-doc-threat-actor-leveraging-attack-patterns-and-malware.json"
        ),
    ),
    (
        "oasis-doc-using-granular-markings.json",
        include_bytes!("../../../data/demo/stix/oasis-doc-using-granular-markings.json"),
    ),
    (
        "oasis-doc-using-marking-definitions.json",
        include_bytes!("../../../data/demo/stix/oasis-doc-using-marking-definitions.json"),
    ),
    (
        "oasis-indicator-for-c2-ip-address.json",
        include_bytes!("../../../data/demo/stix/oasis-indicator-for-c2-ip-address.json"),
    ),
    (
        "oasis-indicator-to-campaign-relationship.json",
        include_bytes!("../../../data/demo/stix/oasis-indicator-to-campaign-relationship.json"),
    ),
    (
        "oasis-indicators-for-C2-with-COA.json",
        include_bytes!("../../../data/demo/stix/oasis-indicators-for-C2-with-COA.json"),
    ),
    (
        "oasis-infrastructure.json",
        include_bytes!("../../../data/demo/stix/oasis-infrastructure.json"),
    ),
    (
        "oasis-interop-objectmarking-test.json",
        include_bytes!("../../../data/demo/stix/oasis-interop-objectmarking-test.json"),
    ),
    (
        "oasis-malicious-email-indicator-with-attachment.json",
        include_bytes!(
            "../../../data/demo/stix/oasis-malicious-email-indicator-with-attachment.json"
        ),
    ),
    (
        "oasis-poisonivy.json",
        include_bytes!("../../../data/demo/stix/oasis-poisonivy.json"),
    ),
];

/// Where `accord demo` listens unless told otherwise.
pub const DEMO_LISTEN: &str = "127.0.0.1:8470";

/// The `listen` that `accord init` writes unless told otherwise: not the
/// demo's, so a node and the demo can run side by side.
pub const INIT_LISTEN: &str = "127.0.0.1:8480";

/// The demo collection's TAXII id (fixed, so scripts can name it).
pub const DEMO_COLLECTION_ID: &str = "365fed99-08fa-fdcd-a1b3-fb247eb41d01";

/// Run a node: serve TAXII 2.1 as the configuration file says.
///
/// The configuration (`accord.toml`; `accord init` writes a commented one)
/// names the address, the data directory, the API roots and collections and
/// the accounts. Logs go to standard error, one line per request with its
/// latency; Ctrl-C or SIGTERM stops accepting and finishes the requests in
/// flight before exiting.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord init -o accord.toml && accord serve --config accord.toml\n  \
    RUST_LOG=debug accord serve --config accord.toml")]
pub struct ServeArgs {
    /// The configuration file.
    #[arg(long, short, default_value = "accord.toml")]
    config: PathBuf,
    /// Listen here instead of the configuration's `listen`.
    #[arg(long)]
    listen: Option<SocketAddr>,
}

/// Start a demo node: embedded database, demo data, account demo/demo.
///
/// Loads real STIX 2.1 (MITRE ATT&CK for ICS, OASIS and MISP examples) and
/// 5,000 generated indicators into the collection `demo` of the node's data
/// directory (the one every other command uses: --data, $ACCORD_DATA or
/// ./accord-data), then serves TAXII 2.1 on loopback until stopped. A store
/// already there is reused, and the demo data is loaded only once: start
/// fresh with `rm -rf DIR` or another --data. Any TAXII 2.1 client can read it, e.g. the
/// OASIS taxii2-client. The demo credentials are public, so the demo refuses
/// to listen on anything but a loopback address.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord demo\n  \
    accord demo --listen 127.0.0.1:9000 --data /tmp/accord-demo\n  \
    curl -u demo:demo -H 'Accept: application/taxii+json;version=2.1' http://127.0.0.1:8470/taxii2/")]
pub struct DemoArgs {
    /// Address to listen on (loopback only; port 0 picks a free port).
    #[arg(long, default_value = DEMO_LISTEN)]
    listen: SocketAddr,
    /// The node's data directory (created with the demo data when new).
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    data: PathBuf,
    /// How many generated indicators to add to the real data.
    #[arg(long, default_value_t = 5000)]
    generated: u64,
}

/// Write a commented configuration file with one account and a fresh password.
///
/// The password is printed once and only its argon2 hash is written.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord init -o accord.toml --user analyst\n  \
    accord init --listen 0.0.0.0:8471 --data node-data -o node.toml")]
pub struct InitArgs {
    /// Where to write it (refuses to overwrite).
    #[arg(short, long, default_value = "accord.toml")]
    output: PathBuf,
    /// The first account's name.
    #[arg(long, default_value = "admin")]
    user: String,
    /// Address the node will listen on (the demo's is 8470, so both can run).
    #[arg(long, default_value = INIT_LISTEN)]
    listen: SocketAddr,
    /// The node's data directory (its store is created there).
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    data: PathBuf,
    /// The node's name: its transparency log's origin is `accord.NAME/log`.
    #[arg(long, default_value = "node")]
    name: String,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("stopping: finishing the requests in flight");
}

/// Where a node's listening address comes from, to name in a bind error.
pub enum ListenFrom<'a> {
    /// `accord serve`: `--listen` or the configuration's `listen`.
    Serve(&'a std::path::Path),
    /// `accord demo`: `--listen`.
    Demo,
}

async fn run_node(config: Config, clock: Arc<dyn Clock>, from: ListenFrom<'_>) -> Result<()> {
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => return Err(bind_error(config.listen, &e, &from)),
    };
    let addr = listener.local_addr().context("reading the bound address")?;
    if config.demo && !addr.ip().is_loopback() {
        bail!(accord_node::NodeError::DemoNotLoopback(addr));
    }
    let root = config
        .api_roots
        .first()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let login = if config.demo {
        "sign in as demo, password demo"
    } else {
        "sign in with an account of accord.toml"
    };
    // One write, and its failure ignored: whoever started the node may stop
    // reading its standard output once it knows the address (a closed pipe
    // must not take the node down, as `println!` would).
    let banner = format!(
        "Accord node listening on {scheme}://{addr}/taxii2/ (API root {scheme}://{addr}/{root}/)\n\
         Dashboard: {scheme}://{addr}/ ({login})\n"
    );
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    drop(out);
    accord_node::serve(config, clock, listener, shutdown_signal()).await?;
    Ok(())
}

/// The error of a node that cannot listen on `addr`: the address, why, and,
/// when the port is taken, what holds it (when it can be found) and the
/// option that picks another.
fn bind_error(addr: SocketAddr, e: &std::io::Error, from: &ListenFrom<'_>) -> anyhow::Error {
    if e.kind() != std::io::ErrorKind::AddrInUse {
        return anyhow::anyhow!("cannot listen on {addr}: {e}");
    }
    let holder = port_holder(addr.port())
        .map(|h| format!(" (held by {h})"))
        .unwrap_or_default();
    let other = SocketAddr::new(addr.ip(), addr.port().wrapping_add(1).max(1));
    let hint = match from {
        ListenFrom::Serve(config) => format!(
            "give another address with --listen {other}, or change `listen` in {}",
            config.display()
        ),
        ListenFrom::Demo => format!("give another address with --listen {other}"),
    };
    anyhow::anyhow!("cannot listen on {addr}: the port is already in use{holder}; {hint}")
}

/// The process listening on TCP `port`, as `pid N (name)`, when Linux's
/// /proc tells (only processes this user may inspect); `None` elsewhere.
fn port_holder(port: u16) -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    // The socket inodes listening on the port (state 0A is LISTEN).
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                continue;
            };
            let p = local
                .rsplit(':')
                .next()
                .and_then(|h| u16::from_str_radix(h, 16).ok());
            if p == Some(port) && *state == "0A" && *inode != "0" {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for proc in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = proc.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if inodes.iter().any(|i| link.as_os_str() == i.as_str()) {
                let comm = std::fs::read_to_string(proc.path().join("comm")).unwrap_or_default();
                return Some(format!("pid {pid} ({})", comm.trim()));
            }
        }
    }
    None
}

pub fn serve(args: &ServeArgs, clock: &Arc<dyn Clock>) -> Result<()> {
    init_logs();
    let mut config = accord_app::config::load(&args.config).map_err(crate::flat)?;
    if let Some(l) = args.listen {
        config.listen = l;
    }
    crate::partner_cmd::at_serve_start(&args.config, &config, clock)?;
    runtime()?.block_on(run_node(
        config,
        Arc::clone(clock),
        ListenFrom::Serve(&args.config),
    ))
}

/// The demo node's configuration.
pub fn demo_config(listen: SocketAddr, data: PathBuf) -> Result<Config> {
    let hash = accord_node::auth::hash_password("demo").map_err(anyhow::Error::msg)?;
    let text = format!(
        r#"
listen = "{listen}"
data_dir = {data}
title = "Accord demo node"
description = "A demonstration node with real STIX 2.1 and generated indicators. Account demo/demo."
demo = true

[[api_roots]]
name = "demo"
title = "Demo API root"

[[api_roots.collections]]
id = "{DEMO_COLLECTION_ID}"
store_name = "demo"
alias = "demo"
title = "Demo threat intelligence"
description = "MITRE ATT&CK for ICS, OASIS and MISP examples, generated indicators"

[[accounts]]
name = "demo"
password_hash = "{hash}"
read = ["*"]
write = ["*"]

[ledger]
origin = "accord.demo/log"
"#,
        data = toml_string(&data.display().to_string()),
    );
    Ok(Config::parse(&text, "<demo configuration>")?)
}

fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Loads the demo data into `collection` when it is empty.
pub fn load_demo_data(store: &dyn Backend, collection: &str, generated: u64) -> Result<()> {
    if store.count(Some(collection))? > 0 {
        return Ok(());
    }
    let mut sources: Vec<Source> = DEMO_FILES
        .iter()
        .map(|(name, bytes)| Source::from_bytes(format!("<demo>/{name}"), bytes.to_vec()))
        .collect();
    let mut generated_jsonl = Vec::new();
    generate::indicators(generated, 2026, &mut generated_jsonl, |_| ())
        .context("generating indicators")?;
    sources.push(Source::from_bytes(
        "<demo>/generated.jsonl",
        generated_jsonl,
    ));
    let opts = Options {
        collection,
        origin: "demo",
        format: Format::Auto,
        max_object_bytes: 64 << 20,
        batch: 8192,
        // No agreements are configured yet: the node's own data is admitted.
        exchange: accord_app::exchange::Exchange::default(),
        // A fresh demo store registers no facility, and has no warninglist.
        facilities: None,
        warninglists: None,
    };
    let start = std::time::Instant::now();
    let total_bytes: u64 = sources.iter().map(|s| s.bytes().len() as u64).sum();
    let bar = crate::Bar(crate::progress_bar(total_bytes, "ingesting", true));
    let (t, failure) = ingest(store.writer(), &sources, &opts, &bar, |s| {
        Box::new(crate::report::Reporter::new(&s.name, s.bytes(), false))
    });
    eprintln!(
        "demo data: {}",
        t.summary(collection, "the demo store", start.elapsed())
    );
    match failure {
        Some(e) => Err(crate::flat(e)),
        None => Ok(()),
    }
}

pub fn demo(args: &DemoArgs, clock: &Arc<dyn Clock>) -> Result<()> {
    init_logs();
    if !args.listen.ip().is_loopback() {
        bail!(accord_node::NodeError::DemoNotLoopback(args.listen));
    }
    let config = demo_config(args.listen, args.data.clone())?;
    let existed = crate::data_dir::has_store(&args.data);
    accord_app::ledger::LedgerKeys::for_config(&config)
        .context("creating the demo node's ledger key")?;
    {
        let store = crate::data_dir::open_or_create(&args.data, clock)?;
        let dir = args.data.display();
        if existed {
            let total = store.count(None)?;
            let demo = store.count(Some("demo"))?;
            let what = if demo > 0 {
                format!("{demo} in the demo collection: the demo data is not loaded again")
            } else {
                "none in the demo collection: adding the demo data".to_owned()
            };
            eprintln!(
                "using the existing store in {dir} ({total} objects, {what}); to start fresh: `rm -rf {dir}`, or `accord demo --data OTHER_DIR`"
            );
        }
        load_demo_data(&store, "demo", args.generated)?;
    }
    println!(
        "demo account: user `demo`, password `demo`; collection {DEMO_COLLECTION_ID} (alias `demo`); data in {}",
        args.data.display()
    );
    runtime()?.block_on(run_node(config, Arc::clone(clock), ListenFrom::Demo))
}

pub fn init(args: &InitArgs, clock: &Arc<dyn Clock>) -> Result<()> {
    if args.output.exists() {
        bail!("{} exists; not overwriting it", args.output.display());
    }
    let password = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hash = accord_node::auth::hash_password(&password).map_err(anyhow::Error::msg)?;
    let collection = uuid::Uuid::new_v4();
    let text = format!(
        r#"# Accord node configuration. `accord serve --config THIS_FILE` runs it.

# Where TAXII 2.1 is served. Use a loopback address behind a TLS proxy, or
# an address partners can reach.
listen = "{listen}"
# The embedded database (SQLite, WAL) lives here (`accord init` created it).
data_dir = {data}
title = "Accord node"
# description = "Who runs this node"

[limits]
# Largest page a client can ask for with `limit`; more is lowered to this.
max_page_size = 5000
# Page size when a client gives no `limit`.
default_page_size = 100
# Largest POST body in bytes (413 above).
max_content_length = 104857600
# Requests taking longer are answered 408.
request_timeout_secs = 30
# Requests served at once; more wait their turn.
max_concurrent_requests = 512
# Connections open at once; more wait in the kernel's backlog.
max_connections = 4096
# A connection that sends and receives nothing for this long is closed.
idle_timeout_secs = 90
# Connections from one client address (an IPv6 client is its /64); more
# are closed at once.
# max_connections_per_address = 256
# A request's line and headers must arrive within this many seconds (also
# how long an idle keep-alive connection is kept).
# header_read_timeout_secs = 10
# Longest pause in seconds between two pieces of a request body.
# body_read_timeout_secs = 10
# Largest request line and headers together, in bytes (431 above).
# max_header_bytes = 32768
# Largest body of a POST to /ledger/ (a cosigned checkpoint), in bytes.
# max_ledger_body_length = 8192
# Largest body of any other request (GET, DELETE), in bytes.
# max_other_body_length = 4096
# Failed password logins allowed in a burst from one address, and for one
# account; then one more every `failed_login_refill_secs` (429 meanwhile).
# failed_logins_per_address = 10
# failed_logins_per_account = 30
# failed_login_refill_secs = 6
# Password checks (argon2) at once; 0 is half the cores.
# max_concurrent_password_checks = 0
# Bounds on each STIX object received (TAXII POST, pulls from partners;
# each object of an envelope or bundle on its own). An object over one is
# refused with the limit's name and the JSON path.
# Deepest nesting of objects and arrays, the object being 1 (at most 127).
# stix_max_depth = 64
# Most members in one JSON object.
# stix_max_members = 10000
# Most items in one array.
# stix_max_array_items = 100000
# Longest string, member name or number, in bytes.
# stix_max_string_bytes = 1048576
# Largest object, in bytes.
# stix_max_object_bytes = 16777216
# Bounds on an indicator's STIX pattern (these may only be lowered: every
# reader of stored indicators uses the defaults).
# pattern_max_len = 262144
# pattern_max_depth = 64
# pattern_max_comparisons = 500

# The transparency log of every exchange. Its signing keys (log and
# witness, C2SP signer key strings, mode 0600) are in `key_file`, created
# by `accord init`; `accord ledger key` prints the verifier key partners
# need. The origin names the log in its checkpoints.
[ledger]
origin = "{origin}"
# key_file = "{data_plain}/ledger.key"

# This node's jurisdiction (ISO 3166-1 alpha-2): what its law treats as
# personal data (see README, "Partners, agreements and residency"), and
# protected facilities of this jurisdiction (`accord facility`) whose
# touches open hotline cases kept here.
# [residency]
# jurisdiction = "FR"

# Partners whose logs this node witnesses on `accord sync` and audits with
# `accord ledger audit`: their base URL, their keys (`accord ledger key` on
# their node), the account they use here and the one this node uses there.
# `jurisdiction`: a touch of a protected facility of that jurisdiction
# opens a critical hotline case addressed to this partner (its `identity`,
# `accord hotline whoami` on its node).
# [[partners]]
# name = "cert-b"
# jurisdiction = "DE"
# identity = "identity--..."
# url = "https://taxii.cert-b.example/"
# verifier_key = "accord.cert-b/log+01234567+AQ..."
# witness_key = "accord.cert-b/witness+89abcdef+BA..."
# account = "cert-b"
# user = "cert-a"

# HTTPS: uncomment with your certificate chain and key (PEM).
# [tls]
# cert = "/etc/accord/cert.pem"
# key = "/etc/accord/key.pem"

# An API root is served at /NAME/. The first one is the default.
[[api_roots]]
name = "api1"
title = "Threat intelligence"

# A collection: `id` is its TAXII id (a UUID); `store_name` is its name in
# the store, what `accord ingest --collection` takes.
[[api_roots.collections]]
id = "{collection}"
store_name = "default"
alias = "default"
title = "Shared indicators"
description = "Indicators and reports shared with partners"

# Accounts. `read` and `write` list collection ids, or "*" for all.
# Passwords are stored as argon2 hashes; bearer tokens as SHA-256 (hex).
[[accounts]]
name = "{user}"
password_hash = "{hash}"
token_sha256 = []
read = ["*"]
write = ["*"]
"#,
        listen = args.listen,
        data = toml_string(&args.data.display().to_string()),
        data_plain = args.data.display(),
        user = args.user,
        origin = accord_app::ledger::default_origin(&args.name),
    );
    // The file must parse: check before writing it.
    let config = Config::parse(&text, &args.output.display().to_string())?;
    let key_path = accord_app::ledger::key_path(&config);
    let keys = accord_app::ledger::LedgerKeys::load_or_create(
        &key_path,
        config.ledger.origin.as_deref().unwrap_or("accord.node/log"),
    )
    .context("creating the ledger key")?;
    // The node's store, so that the commands reading it (`export`,
    // `ledger …`) find one in the configured data directory.
    drop(crate::data_dir::open_or_create(&config.data_dir, clock)?);
    std::fs::write(&args.output, text)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!(
        "wrote {}; account `{}` has password `{password}` (shown once; only its hash is stored)",
        args.output.display(),
        args.user
    );
    println!(
        "ledger key in {} (mode 0600); partners verify this node's log with:\n{}",
        key_path.display(),
        keys.log.verifier_key()
    );
    Ok(())
}

/// Print the argon2 hash of a password read from standard input, for the
/// `password_hash` of an account in accord.toml.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    printf '%s' 'correct horse battery staple' | accord hash-password")]
pub struct HashPasswordArgs {}

pub fn hash_password(_: &HashPasswordArgs) -> Result<()> {
    let mut password = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("no password on standard input");
    }
    println!(
        "{}",
        accord_node::auth::hash_password(password).map_err(anyhow::Error::msg)?
    );
    Ok(())
}
