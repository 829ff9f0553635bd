//! `accord import`: content in other formats, brought into the node.

use accord_stix::Clock;
use anyhow::Result;
use std::process::ExitCode;
use std::sync::Arc;

/// Import content published in other formats into the node's store.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord import attack data/demo/stix/ics-attack-18.1.json")]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// A MITRE ATT&CK STIX bundle as a read-only reference collection.
    Attack(crate::import_attack_cmd::Args),
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    match &args.command {
        Sub::Attack(a) => crate::import_attack_cmd::run(a, clock),
    }
}
