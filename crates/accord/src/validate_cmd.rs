//! `accord validate`: check files against the STIX 2.1 specification.

use crate::InputFormat as Format;
use crate::report::Reporter;
use accord_app::check::{Outcome, check_file};
use accord_app::input::{Item, Source};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Check STIX 2.1 bundles or JSON-lines files against the specification.
///
/// Every MUST of STIX 2.1 is checked: identifiers, required properties,
/// timestamps, vocabularies, references, markings. Each problem is printed as
/// `file:line:column: error[rule] object-id $.json.path: what is wrong`.
/// SHOULDs are printed as warnings and do not make a file invalid.
///
/// Exit status: 0 when everything is valid, 1 when anything is invalid, 2
/// when a file cannot be read.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord validate data/demo/stix/oasis-apt1.json\n  \
    accord validate --no-warnings data/demo/stix/*.json\n  \
    accord export | accord validate -")]
pub struct Args {
    /// Files to check: STIX bundles, single objects, or JSON lines; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// How the files are laid out.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// Do not print warnings (SHOULDs of the specification).
    #[arg(long)]
    no_warnings: bool,
    /// Objects larger than this are reported and skipped unread.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    max_object_bytes: usize,
    /// A node's accord.toml whose `[limits]` (JSON depth, members, items,
    /// string and object sizes; pattern length, depth, comparisons) apply
    /// instead of the defaults, so a file is checked as that node admits it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let configured = match &args.config {
        Some(path) => Some(
            accord_app::exchange::Exchange::default().with_limits(
                accord_app::config::load(path)
                    .map_err(crate::flat)?
                    .limits
                    .input(),
            ),
        ),
        None => None,
    };
    let seam = match &configured {
        Some(exchange) => accord_app::check::Seam {
            exchange,
            ..accord_app::check::Seam::validation()
        },
        None => accord_app::check::Seam::validation(),
    };
    let (mut objects, mut invalid, mut errors, mut warnings) = (0usize, 0usize, 0usize, 0usize);
    let (mut bad_bundles, mut faults) = (0usize, 0usize);
    let start = std::time::Instant::now();
    for path in &args.files {
        let source = Source::open(path).map_err(crate::flat)?;
        let src = source.bytes();
        let mut rep = Reporter::new(&source.name, src, !args.no_warnings);
        check_file(
            seam,
            &source,
            args.format.into(),
            args.max_object_bytes,
            4096,
            |batch| {
                for outcome in batch {
                    match outcome {
                        Outcome::Object(c) => {
                            objects += 1;
                            if !c.is_valid() {
                                invalid += 1;
                            }
                            rep.checked(&c);
                        }
                        Outcome::Other(Item::BundleIssues {
                            anchor,
                            offset,
                            text,
                            issues,
                        }) => {
                            if !accord_stix::is_valid(&issues) {
                                bad_bundles += 1;
                            }
                            rep.issues(anchor, offset, text, &issues);
                        }
                        Outcome::Other(Item::Error {
                            anchor,
                            offset,
                            message,
                        }) => {
                            faults += 1;
                            rep.fault(anchor, offset, &message);
                        }
                        Outcome::Other(Item::Object { .. } | Item::Line { .. }) => {}
                    }
                }
            },
        );
        errors += rep.errors;
        warnings += rep.warnings;
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{objects} objects checked in {} file(s): {} valid, {invalid} invalid, {bad_bundles} invalid bundle headers, {faults} unreadable parts; {errors} errors, {warnings} warnings ({:.0} objects/s)",
        args.files.len(),
        objects.saturating_sub(invalid),
        objects as f64 / secs.max(1e-9)
    );
    Ok(if invalid + bad_bundles + faults == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
