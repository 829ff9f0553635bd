//! `accord export --format suricata-dataset|suricata-rules|zeek-intel|rpz|csv|plain`:
//! the live indicators of the store as files the operator's tools load
//! (the workflow is `accord_app::blocklist`).

use accord_app::blocklist::{collect, csv, plain, rpz, suricata, zeek_intel};
use accord_stix::Clock;
use accord_store::ObjectRead;
use anyhow::{Context, Result, bail};
use std::path::Path;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ToolFormat {
    /// STIX 2.1 bundle or JSON lines (the default).
    Stix,
    /// Suricata dataset files (one per type) in the directory given with -o.
    SuricataDataset,
    /// Suricata rules using the dataset files, with the datasets, in the directory given with -o.
    SuricataRules,
    /// A Zeek Intel framework file.
    ZeekIntel,
    /// A DNS response policy zone (RPZ) master file.
    Rpz,
    /// CSV: value,type,indicator,valid_until.
    Csv,
    /// One value per line.
    Plain,
    /// A MISP feed (manifest.json, one event per report and per day, hashes.csv) in the directory given with -o.
    MispFeed,
}

/// Options of the tool formats (flattened into `accord export`).
#[derive(clap::Args, Debug, Clone)]
pub struct ToolArgs {
    /// Output format: stix (default) or a file for a tool.
    #[arg(long, value_enum, default_value_t = ToolFormat::Stix)]
    pub format: ToolFormat,
    /// RPZ zone name (origin) for --format rpz.
    #[arg(long, default_value = "rpz.accord.local", value_name = "NAME")]
    pub rpz_zone: String,
    /// First Suricata rule sid for --format suricata-rules.
    #[arg(long, default_value_t = 1_900_000, value_name = "N")]
    pub sid_base: u64,
    /// The creator organisation named in a MISP feed's events (--format misp-feed).
    #[arg(long, default_value = "Accord", value_name = "NAME")]
    pub misp_org: String,
    /// Also export indicators whose value is on one of the node's MISP
    /// warninglists (`accord warninglist update`); by default the tool
    /// formats leave them out.
    #[arg(long)]
    pub include_warninglisted: bool,
}

/// Runs a tool export of the indicators of `store` live at `clock`'s now,
/// leaving out those on `warninglists` (the node's, unless
/// `--include-warninglisted`). `output`: a file (a directory for the
/// Suricata formats).
pub fn run(
    store: &dyn ObjectRead,
    clock: &dyn Clock,
    collection: Option<&str>,
    args: &ToolArgs,
    output: Option<&Path>,
    warninglists: Option<&accord_warninglist::WarninglistSet>,
) -> Result<()> {
    let now_ts = clock.now_timestamp();
    let now = u64::try_from(now_ts.unix_seconds).unwrap_or(0);
    let warninglists = warninglists.filter(|_| !args.include_warninglisted);
    let c = collect(store, collection, now_ts, warninglists).map_err(crate::flat)?;
    if c.warninglisted > 0 {
        let lists: Vec<String> = c
            .warninglisted_lists
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        eprintln!(
            "{} indicators left out as warninglisted ({}); --include-warninglisted exports them",
            c.warninglisted,
            lists.join(", ")
        );
    }
    let mut note = String::new();
    let text = match args.format {
        ToolFormat::Stix => bail!("--format stix is the default export"),
        ToolFormat::MispFeed => bail!("--format misp-feed is written by misp_feed_export"),
        ToolFormat::SuricataDataset | ToolFormat::SuricataRules => {
            let Some(dir) = output else {
                bail!("--format suricata-*: give the output directory with -o DIR");
            };
            let (files, skipped) = suricata(
                &c,
                dir,
                args.format == ToolFormat::SuricataRules,
                args.sid_base,
            )
            .map_err(crate::flat)?;
            eprintln!(
                "{} values from {} indicators written to {}: {}; {} URLs/e-mail addresses left out (no Suricata dataset type); {} revoked or expired, {} need the pattern evaluator",
                c.entries.len() as u64 - skipped,
                c.indicators,
                dir.display(),
                files.join(", "),
                skipped,
                c.dead,
                c.needs_evaluator
            );
            return Ok(());
        }
        ToolFormat::ZeekIntel => {
            let (s, skipped) = zeek_intel(&c);
            if skipped > 0 {
                note = format!("; {skipped} values with tabs or newlines left out");
            }
            s
        }
        ToolFormat::Rpz => {
            let (s, skipped) = rpz(&c, &args.rpz_zone, now);
            note = format!(
                "; only domains and addresses go into a zone ({skipped} names too long or not DNS names left out)"
            );
            s
        }
        ToolFormat::Csv => csv(&c),
        ToolFormat::Plain => plain(&c),
    };
    match output {
        Some(p) => std::fs::write(p, &text).with_context(|| format!("writing {}", p.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
    }
    eprintln!(
        "{} values from {} indicators written to {}; {} revoked or expired, {} need the pattern evaluator{note}",
        c.entries.len(),
        c.indicators,
        output.map_or("<stdout>".into(), |p| p.display().to_string()),
        c.dead,
        c.needs_evaluator
    );
    Ok(())
}
