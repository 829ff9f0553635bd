//! `accord`: the command line of an Accord node.

mod cluster_cmd;
mod data_dir;
mod export_cmd;
mod facility_cmd;
mod gen_logs;
mod hotline_cmd;
mod import_attack_cmd;
mod import_cmd;
mod import_misp_cmd;
mod ingest_cluster;
mod ingest_cmd;
mod ledger_cmd;
mod locate;
mod match_cluster;
mod match_cmd;
mod misp_feed_export;
mod node_cmd;
mod partner_cmd;
mod pattern_cmd;
mod report;
mod report_cmd;
mod report_render;
mod sync_cmd;
mod tool_export;
mod validate_cmd;
mod warninglist_cmd;

use accord_app::generate;
use accord_stix::{Clock, SystemClock};
use anyhow::Result;
use std::sync::Arc;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Accord: cross-border threat-intelligence sharing over STIX 2.1 and TAXII 2.1.
///
/// Each participant runs a node in its own jurisdiction. This command
/// validates, stores and exports STIX 2.1 content.
#[derive(Parser)]
#[command(
    name = "accord",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_long_help = EXIT_STATUS
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The exit status table, the same for every command (also in README.md).
const EXIT_STATUS: &str = "Exit status (every command):
  0  all done.
  1  done, with findings: invalid objects (validate, ingest, sync), an invalid
     pattern (pattern check, pattern compile), no match (pattern match), a log
     that does not verify (ledger verify), alerts (ledger alerts, sync's
     witnessing), findings of an audit (ledger audit), a partner whose keys do
     not match or an agreement fault (partner check).
  2  failed: an input could not be read, a partner could not be reached, a
     store or configuration could not be opened, an output could not be
     written, or the command line is wrong.";

#[derive(Subcommand)]
enum Command {
    Validate(validate_cmd::Args),
    Ingest(ingest_cmd::Args),
    Export(export_cmd::Args),
    Serve(node_cmd::ServeArgs),
    Sync(sync_cmd::Args),
    Demo(node_cmd::DemoArgs),
    Init(node_cmd::InitArgs),
    HashPassword(node_cmd::HashPasswordArgs),
    Generate(GenerateArgs),
    Pattern(pattern_cmd::Args),
    Match(match_cmd::Args),
    GenerateLogs(gen_logs::Args),
    Ledger(ledger_cmd::Args),
    Partner(partner_cmd::Args),
    Report(report_cmd::Args),
    Hotline(hotline_cmd::Args),
    Facility(facility_cmd::Args),
    Warninglist(warninglist_cmd::Args),
    Import(import_cmd::Args),
    Cluster(cluster_cmd::Args),
}

/// Write generated, valid STIX 2.1 indicators as JSON lines (for benchmarks and demos).
///
/// The output is deterministic for a given seed: the same command always
/// writes the same bytes.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord generate --count 100000 -o indicators.jsonl\n  \
    accord generate --count 10 | accord validate -")]
struct GenerateArgs {
    /// How many indicators to write.
    #[arg(long, default_value_t = 1000)]
    count: u64,
    /// Seed of the random stream.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Output file (standard output when absent).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The one clock of the command: the stores it opens stamp with it, and
    // whatever it does at "now" reads it.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if matches!(
        cli.command,
        Command::Ingest(_)
            | Command::Import(_)
            | Command::Serve(_)
            | Command::Sync(_)
            | Command::Demo(_)
    ) {
        // Commands that write through the store prepare rows on rayon's
        // pool: bulk work, which yields the CPU to the store's writer
        // thread (see `accord_store::yield_to_writer`). Nothing has used
        // the pool yet, so this cannot fail but for a spawn error, after
        // which rayon makes its default pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("accord-bulk-{i}"))
            .start_handler(|_| accord_store::yield_to_writer())
            .build_global();
    }
    let result = match cli.command {
        Command::Validate(args) => validate_cmd::run(&args),
        Command::Ingest(args) => ingest_cmd::run(&args, &clock),
        Command::Export(args) => export_cmd::run(&args, &clock).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => node_cmd::serve(&args, &clock).map(|()| ExitCode::SUCCESS),
        Command::Sync(args) => sync_cmd::run(&args, &clock),
        Command::Demo(args) => node_cmd::demo(&args, &clock).map(|()| ExitCode::SUCCESS),
        Command::Init(args) => node_cmd::init(&args, &clock).map(|()| ExitCode::SUCCESS),
        Command::HashPassword(args) => node_cmd::hash_password(&args).map(|()| ExitCode::SUCCESS),
        Command::Generate(args) => run_generate(&args).map(|()| ExitCode::SUCCESS),
        Command::Pattern(args) => pattern_cmd::run(&args),
        Command::Match(args) => match_cmd::run(&args, &clock),
        Command::GenerateLogs(args) => gen_logs::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Ledger(args) => ledger_cmd::run(&args, &clock),
        Command::Partner(args) => partner_cmd::run(&args, &clock),
        Command::Report(args) => report_cmd::run(&args, &clock),
        Command::Hotline(args) => hotline_cmd::run(&args, &clock),
        Command::Facility(args) => facility_cmd::run(&args, &clock),
        Command::Warninglist(args) => warninglist_cmd::run(&args, &clock),
        Command::Import(args) => import_cmd::run(&args, &clock),
        Command::Cluster(args) => cluster_cmd::run(&args),
    };
    // A protected facility touched by this command is posted to the
    // hotline webhook on a thread of its own: let it finish first.
    if !accord_app::facility::wait_for_webhooks(std::time::Duration::from_secs(60)) {
        eprintln!("accord: a facility webhook post was still under way after 60 s; see the log");
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("accord: error: {}", message(&e));
            ExitCode::from(2)
        }
    }
}

fn run_generate(args: &GenerateArgs) -> Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let (mut out, name): (Box<dyn Write>, String) = match &args.output {
        Some(p) => (
            Box::new(std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            )),
            p.display().to_string(),
        ),
        None => (
            Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            "<stdout>".into(),
        ),
    };
    let bar = progress_bar(args.count, "generating", args.output.is_some());
    generate::indicators(args.count, args.seed, &mut out, |i| {
        if i % 4096 == 0 {
            bar.set_position(i);
        }
    })
    .and_then(|()| out.flush())
    .with_context(|| format!("writing {name}"))?;
    bar.set_position(args.count);
    finish_bar(&bar);
    if args.output.is_some() {
        // Standard output is the data otherwise: only a file is announced.
        eprintln!("wrote {} indicators to {name}", args.count);
    }
    Ok(())
}

/// An error of the app crate as one message: its text already names the
/// cause, so its source chain is not printed again (the convention of
/// `accord_app`'s documentation, "Error messages").
pub fn flat<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The one line printed for a failed command: the error's chain from the
/// outer action to the cause, `: `-separated, each fact once. The
/// binary's own contexts (`creating FILE`) are followed by their cause; a
/// cause whose text the line already holds (a library error whose message
/// includes its source, which it may also expose through `source()`) is
/// not repeated.
pub fn message(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// How an input file is laid out (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Decide from the content: several JSON values on separate lines are JSON lines.
    Auto,
    /// One JSON document: a STIX bundle or a single object.
    Bundle,
    /// One JSON value (object or bundle) per line.
    Jsonl,
}

impl From<InputFormat> for accord_app::input::Format {
    fn from(f: InputFormat) -> Self {
        match f {
            InputFormat::Auto => accord_app::input::Format::Auto,
            InputFormat::Bundle => accord_app::input::Format::Bundle,
            InputFormat::Jsonl => accord_app::input::Format::Jsonl,
        }
    }
}

/// A progress bar as the app crate's [`accord_app::Progress`].
pub struct Bar(pub indicatif::ProgressBar);

impl accord_app::Progress for Bar {
    fn set_position(&self, pos: u64) {
        self.0.set_position(pos);
    }
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    /// A bar that reached its end stays on screen, full, above the
    /// summary that follows; one that did not (a failure) is removed.
    fn finish(&self) {
        finish_bar(&self.0);
    }
}

/// Ends `bar`: drawn full and left on screen when its work reached the end
/// (so the last thing a user sees of it is not a stale position), cleared
/// otherwise.
pub fn finish_bar(bar: &indicatif::ProgressBar) {
    if bar.length().is_some_and(|len| bar.position() >= len) {
        bar.finish();
    } else {
        bar.finish_and_clear();
    }
}

/// A progress bar on standard error when it is a terminal and `enabled`; hidden otherwise.
pub fn progress_bar(len: u64, what: &str, enabled: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            // Under 80 columns: a line that wraps is not cleared on redraw,
            // and stale copies of the bar would stay on screen.
            "{msg:>10} [{bar:25}] {bytes:>9}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}
