//! `accord warninglist`: the node's MISP warninglists (workflow in
//! `accord_app::warninglists`).

use accord_app::warninglists;
use accord_stix::Clock;
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// MISP warninglists: well-known benign values (public DNS resolvers, RFC
/// 1918 ranges, top sites, hashes of empty files) that indicators should not
/// alert on.
///
/// An indicator whose pattern compiles to index keys with any value on a
/// list that applies to that kind of value (the list's
/// `matching_attributes`) is *warninglisted*: `accord ingest` counts and
/// names it (the stored bytes are kept as received), `accord match` leaves
/// it out of the index (`--include-warninglisted` to match it), the IDS
/// exports (`accord export --format suricata-*|zeek-intel|rpz|csv|plain`)
/// leave it out (`--include-warninglisted`), and it is withheld from a
/// partner unless the partner's `[partners.outbound] warninglisted =
/// "send"` (the `out` record's reason is `warninglist:LISTS: …`). The flag is
/// computed from the lists whenever it is needed, so it follows updates; a
/// running `accord serve` reads the lists when it starts.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord warninglist update data/warninglists\n  \
    accord warninglist list\n  \
    accord warninglist check 8.8.8.8 10.1.2.3 example.net\n\n\
MISP's own lists: `git clone https://github.com/MISP/misp-warninglists`, then\n\
`accord warninglist update misp-warninglists/lists`.")]
pub struct Args {
    /// The node's data directory.
    #[arg(long, global = true, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    data: PathBuf,
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Replace the node's lists with those of DIR: every `*.json` in it
    /// (but `schema.json`) and every `*/list.json` (the `lists/` directory
    /// of the misp-warninglists repository). A list that cannot be read is
    /// reported with the entry at fault and the others are stored; the
    /// change is a `local` record (collection `accord:warninglists`) in the
    /// node's log. Exit status 1 when any list was left out, 2 when none
    /// could be read (the stored lists are then unchanged).
    #[command(after_long_help = "Examples:\n  \
        accord warninglist update data/warninglists")]
    Update {
        /// The directory of list files.
        dir: PathBuf,
    },
    /// The node's lists: id, type, entries, version, attribute types, name.
    #[command(after_long_help = "Examples:\n  \
        accord warninglist list\n  \
        accord warninglist list --json")]
    List {
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
    },
    /// Which lists each VALUE is on (every list, whatever its
    /// `matching_attributes`). Exit status 0 when any value is on a list, 1
    /// when none is (as `grep`).
    #[command(after_long_help = "Examples:\n  \
        accord warninglist update data/warninglists && accord warninglist check 8.8.8.8 10.1.2.3 example.net\n  \
        accord warninglist check --json 192.168.1.1")]
    Check {
        /// Values: addresses, CIDR blocks, domains, URLs, e-mail addresses,
        /// hashes.
        #[arg(required = true)]
        values: Vec<String>,
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    match &args.command {
        Sub::Update { dir } => {
            let store = crate::data_dir::open_or_create(&args.data, clock)?;
            let r =
                match warninglists::update(store.writer(), &args.data, dir, &clock.now_rfc3339()) {
                    Ok(r) => r,
                    Err(e @ warninglists::WarninglistsError::NoLists { .. }) => {
                        eprintln!("accord: {e}");
                        return Ok(ExitCode::from(2));
                    }
                    Err(e) => return Err(crate::flat(e)),
                };
            for f in &r.failures {
                eprintln!("accord: left out: {f}");
            }
            let entries: usize = r.set.lists().iter().map(|l| l.entries).sum();
            eprintln!(
                "{} warninglists ({} entries) stored in {}{}",
                r.set.lists().len(),
                entries,
                args.data.join(warninglists::FILE).display(),
                if r.record.is_some() {
                    format!("; recorded in the log (sha256 {})", r.sha256)
                } else {
                    "; unchanged".to_owned()
                }
            );
            Ok(if r.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Sub::List { json } => {
            let Some(lists) = warninglists::load(&args.data).map_err(crate::flat)? else {
                if *json {
                    return Ok(ExitCode::SUCCESS);
                }
                eprintln!(
                    "no warninglists in {}; load some with `accord warninglist update DIR`",
                    args.data.display()
                );
                return Ok(ExitCode::SUCCESS);
            };
            for l in lists.set.lists() {
                if *json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "id": &*l.id, "name": &*l.name, "type": l.kind.as_str(), "version": l.version,
                            "entries": l.entries, "matching_attributes": l.matching_attributes,
                            "description": l.description,
                        })
                    );
                } else {
                    println!(
                        "{}\t{}\t{} entries\tv{}\t{}\t{}",
                        l.id,
                        l.kind.as_str(),
                        l.entries,
                        l.version,
                        if l.matching_attributes.is_empty() {
                            "ALL".to_owned()
                        } else {
                            l.matching_attributes.join(",")
                        },
                        l.name
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Sub::Check { values, json } => {
            let Some(lists) = warninglists::load(&args.data).map_err(crate::flat)? else {
                bail!(
                    "no warninglists in {}; load some with `accord warninglist update DIR`",
                    args.data.display()
                );
            };
            let mut any = false;
            for v in values {
                let hits = lists.set.check(v);
                any |= !hits.is_empty();
                if *json {
                    let on: Vec<_> = hits
                        .iter()
                        .map(|h| serde_json::json!({"list": &*h.list, "type": h.kind.as_str(), "matched": h.matched}))
                        .collect();
                    println!("{}", serde_json::json!({"value": v, "lists": on}));
                } else if hits.is_empty() {
                    println!("{v}\t-");
                } else {
                    let on: Vec<String> = hits
                        .iter()
                        .map(|h| format!("{} ({} {})", h.list, h.kind.as_str(), h.matched))
                        .collect();
                    println!("{v}\t{}", on.join("; "));
                }
            }
            Ok(if any {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
