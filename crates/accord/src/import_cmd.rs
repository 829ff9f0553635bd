//! `accord import`: content in other formats (MISP events and feeds, a
//! MITRE ATT&CK bundle), brought into the node.

use crate::import_misp_cmd;
use accord_stix::Clock;
use anyhow::Result;
use std::process::ExitCode;
use std::sync::Arc;

/// Import content published in other formats into the node's store
/// (converted to STIX 2.1 where needed, stored through the same inbound
/// seam as `accord ingest`).
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord import misp data/demo/misp/event.json\n  \
    accord import attack data/demo/stix/ics-attack-18.1.json")]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// MISP events, REST responses and MISP feed directories, as STIX 2.1.
    Misp(import_misp_cmd::Args),
    /// A MITRE ATT&CK STIX bundle as a read-only reference collection.
    Attack(crate::import_attack_cmd::Args),
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    match &args.command {
        Sub::Misp(a) => import_misp_cmd::run(a, clock),
        Sub::Attack(a) => crate::import_attack_cmd::run(a, clock),
    }
}
