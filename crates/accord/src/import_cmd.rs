//! `accord import`: bring other tools' data into the node.

use crate::import_misp_cmd;
use accord_stix::Clock;
use anyhow::Result;
use std::process::ExitCode;
use std::sync::Arc;

/// Import other tools' data into the node (converted to STIX 2.1, stored
/// through the same inbound seam as `accord ingest`).
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    Misp(import_misp_cmd::Args),
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    match &args.what {
        What::Misp(a) => import_misp_cmd::run(a, clock),
    }
}
