//! `accord export`: write stored objects as a STIX 2.1 bundle or JSON lines.

use accord_stix::Clock;
use accord_store::{ObjectRead, Query, Timestamp, VersionFilter};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Which versions of each object to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Versions {
    /// Every stored version.
    All,
    /// The newest version of each object.
    Last,
    /// The oldest version of each object.
    First,
}

/// Write stored objects as a STIX 2.1 bundle (or JSON lines) that any STIX tool reads.
///
/// Objects are written exactly as they were received (same bytes), in the
/// order they were stored, streamed page by page so memory stays flat
/// whatever the collection size.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord export -o everything.json\n  \
    accord export --collection default --type indicator --since 2026-11-01T00:00:00Z -o new.json\n  \
    accord export --jsonl --versions last | wc -l\n  \
    accord export --format misp-feed --collection default -o misp-feed/")]
pub struct Args {
    /// The node's data directory.
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    data: PathBuf,
    /// Only this collection (all collections when absent).
    #[arg(long)]
    collection: Option<String>,
    /// Only objects of this type; repeat for several.
    #[arg(long = "type", value_name = "TYPE")]
    types: Vec<String>,
    /// Only objects added to this node after this time (RFC 3339, UTC, e.g. 2026-11-01T00:00:00Z).
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_ts)]
    since: Option<Timestamp>,
    /// Which versions of each object to write.
    #[arg(long, value_enum, default_value_t = Versions::All)]
    versions: Versions,
    /// Write one object per line instead of a bundle.
    #[arg(long)]
    jsonl: bool,
    /// Output file (standard output when absent; a directory for --format suricata-* and misp-feed).
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    tool: crate::tool_export::ToolArgs,
}

fn parse_ts(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s).map_err(|e| e.to_string())
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<()> {
    let store = crate::data_dir::open_existing(&args.data, clock)?;
    if args.tool.format == crate::tool_export::ToolFormat::MispFeed {
        return crate::misp_feed_export::run(
            &store,
            args.collection.as_deref(),
            &args.tool.misp_org,
            args.output.as_deref(),
        );
    }
    if args.tool.format != crate::tool_export::ToolFormat::Stix {
        return crate::tool_export::run(
            &store,
            &**clock,
            args.collection.as_deref(),
            &args.tool,
            args.output.as_deref(),
            accord_app::warninglists::load(&args.data)
                .map_err(crate::flat)?
                .as_ref()
                .map(|l| &*l.set),
        );
    }
    let query = Query {
        collection: args.collection.clone(),
        types: args.types.clone(),
        added_after: args.since,
        versions: match args.versions {
            Versions::All => VersionFilter::all(),
            Versions::Last => VersionFilter::last(),
            Versions::First => VersionFilter::first(),
        },
        ..Query::default()
    };
    let name = args
        .output
        .as_ref()
        .map_or_else(|| "<stdout>".to_owned(), |p| p.display().to_string());
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(p).with_context(|| format!("creating {name}"))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::io::stdout().lock(),
        )),
    };
    let total = store.count(args.collection.as_deref())?;
    let bar = crate::Bar(crate::progress_bar(
        total,
        "exporting",
        args.output.is_some(),
    ));
    let n = accord_app::export::export(&store, query, args.jsonl, &mut out, &bar)
        .map_err(crate::flat)
        .with_context(|| format!("writing {name}"))?;
    eprintln!("{n} objects written to {name}");
    Ok(())
}
