//! `accord ledger …`: the node's transparency log from the command line.

use accord_app::config::Config;
use accord_app::ledger::{
    self, KEY_FILE, LedgerKeys, audit_partner, consistency_json, inclusion_json,
};
use accord_app::partner::{CredentialChoice, Partner, credentials};
use accord_client::LedgerClient;
use accord_stix::Clock;
use accord_store::Backend;
use accord_store::accord_ledger::{ExchangeRecord, LogVerifier};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The node's transparency log: keys, checkpoints, entries, proofs, checks.
///
/// Every object the node stores or sends is a leaf of an RFC 9162 Merkle
/// tree: an exchange record (direction, partner, collection, object id and
/// version, SHA-256 of the exact bytes, decision, time, a random salt) as
/// RFC 8785 JSON. Checkpoints are C2SP signed notes; partners verify and
/// cosign them. A partner reads the records of its own exchanges; the
/// others it is served as leaf hashes only.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord ledger key --data accord-data\n  \
    accord ledger checkpoint\n  \
    accord ledger entries --from 0 --to 10 --json\n  \
    accord ledger prove --index 3 --size 10 --json\n  \
    accord ledger consistency --from 5 --to 10 --json\n  \
    accord ledger verify\n  \
    ACCORD_PASSWORD=... accord ledger audit --config accord.toml --partner cert-b")]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// The node's data directory.
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    data: PathBuf,
    /// The node's configuration (its data directory, key file and partners
    /// override --data).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Print the node's verifier key string (last line); partners put it
    /// in their `[[partners]]` as `verifier_key`.
    Key {
        #[command(flatten)]
        common: Common,
        /// JSON: origin, verifier_key, witness_key.
        #[arg(long)]
        json: bool,
    },
    /// Print the latest signed checkpoint, exactly as served (with the
    /// cosignatures held).
    Checkpoint {
        #[command(flatten)]
        common: Common,
    },
    /// Print entries FROM..TO (TO excluded), one `{"index", "record"}` a line.
    Entries {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Exclusive; the log's size when absent.
        #[arg(long)]
        to: Option<u64>,
        /// JSON lines (the only format; accepted for symmetry).
        #[arg(long)]
        json: bool,
    },
    /// Print the inclusion proof of leaf INDEX in the tree of SIZE leaves.
    Prove {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        index: u64,
        /// The log's size when absent.
        #[arg(long)]
        size: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Print the consistency proof between two tree sizes.
    Consistency {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        from: u64,
        /// The log's size when absent.
        #[arg(long)]
        to: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Recompute every hash from the stored records, check each record
    /// against the object it records, and the latest checkpoint and its
    /// signature. Names the first bad index; exit 1 if anything is wrong.
    Verify {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// List the alerts raised by witnessing and audits (split views,
    /// inconsistent or rolled-back checkpoints); exit 1 if there are any.
    Alerts {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Check, both ways, that the exchanges with a partner are in its log:
    /// fetches its checkpoint, tiles and entry bundles, verifies them, and
    /// reports missing, altered and extra entries. Exit 1 on any finding.
    /// Entries of exchanges this node is not party to are served redacted
    /// (their leaf hashes only): they are verified against the tree and
    /// counted. The password for the partner's `user` is read from
    /// $ACCORD_PASSWORD.
    Audit {
        #[command(flatten)]
        common: Common,
        /// The partner's name in `[[partners]]`.
        #[arg(long)]
        partner: String,
        #[arg(long)]
        json: bool,
    },
}

struct Node {
    data: PathBuf,
    key: PathBuf,
    config: Option<Config>,
    /// The configuration file that named `data`, if one did.
    config_path: Option<PathBuf>,
}

fn node(c: &Common) -> Result<Node> {
    match &c.config {
        Some(p) => {
            let config = accord_app::config::load(p).map_err(crate::flat)?;
            Ok(Node {
                data: config.data_dir.clone(),
                key: ledger::key_path(&config),
                config: Some(config),
                config_path: Some(p.clone()),
            })
        }
        None => Ok(Node {
            data: c.data.clone(),
            key: c.data.join(KEY_FILE),
            config: None,
            config_path: None,
        }),
    }
}

/// The node's store (the one place this command names its backend): the
/// cluster's database for a `--config` with `[cluster]`.
fn open(n: &Node, clock: &Arc<dyn Clock>) -> Result<Box<dyn Backend>> {
    if let Some(config) = n.config.as_ref().filter(|c| c.cluster.is_some()) {
        return crate::data_dir::open_node(config, clock);
    }
    let store =
        crate::data_dir::open_existing(&n.data, clock).map_err(|e| match &n.config_path {
            Some(p) => e.context(format!("the data_dir of {}", p.display())),
            None => e,
        })?;
    Ok(Box::new(store))
}

fn keys(n: &Node) -> Result<LedgerKeys> {
    LedgerKeys::load(&n.key).with_context(|| {
        "the node has no ledger key: `accord init` creates one, `accord serve` creates one on first start"
    })
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match &args.command {
        Sub::Key { common, json } => {
            let n = node(common)?;
            let k = keys(&n)?;
            if *json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "origin": k.origin(),
                        "verifier_key": k.log.verifier_key(),
                        "witness_key": k.witness.verifier_key(),
                    })
                )?;
            } else {
                writeln!(out, "origin: {}", k.origin())?;
                writeln!(out, "witness key: {}", k.witness.verifier_key())?;
                writeln!(out, "{}", k.log.verifier_key())?;
            }
        }
        Sub::Checkpoint { common } => {
            let n = node(common)?;
            // The store first: a wrong directory is named as such.
            let store = open(&n, clock)?;
            let k = keys(&n)?;
            out.write_all(&ledger::served_checkpoint(&*store, &k)?)?;
        }
        Sub::Entries {
            common, from, to, ..
        } => {
            let n = node(common)?;
            let store = open(&n, clock)?;
            let to = match to {
                Some(t) => *t,
                None => store.ledger_size()?,
            };
            let mut at = *from;
            while at < to {
                let chunk = store.ledger_entries(at, to.min(at + 10_000))?;
                if chunk.is_empty() {
                    break;
                }
                for e in &chunk {
                    let rec = ExchangeRecord::from_leaf_bytes(&e.leaf)
                        .with_context(|| format!("leaf {} is not a canonical record", e.index))?;
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({"index": e.index, "record": rec})
                    )?;
                    at = e.index + 1;
                }
            }
        }
        Sub::Prove {
            common,
            index,
            size,
            json,
        } => {
            let n = node(common)?;
            let store = open(&n, clock)?;
            let size = match size {
                Some(s) => *s,
                None => store.ledger_size()?,
            };
            if *index >= size {
                bail!("leaf {index} is not in a tree of size {size}");
            }
            let p = inclusion_json(&*store, *index, size)?;
            if *json {
                writeln!(out, "{}", serde_json::to_string(&p)?)?;
            } else {
                writeln!(out, "leaf {} in tree size {}", p.index, p.tree_size)?;
                writeln!(out, "leaf hash {}", p.leaf_hash)?;
                for h in &p.audit_path {
                    writeln!(out, "  {h}")?;
                }
            }
        }
        Sub::Consistency {
            common,
            from,
            to,
            json,
        } => {
            let n = node(common)?;
            let store = open(&n, clock)?;
            let to = match to {
                Some(s) => *s,
                None => store.ledger_size()?,
            };
            if *from > to || to > store.ledger_size()? {
                bail!("no consistency proof from {from} to {to} in this log");
            }
            let p = consistency_json(&*store, *from, to)?;
            if *json {
                writeln!(out, "{}", serde_json::to_string(&p)?)?;
            } else {
                writeln!(out, "from size {} to {}", p.first, p.second)?;
                for h in &p.consistency_path {
                    writeln!(out, "  {h}")?;
                }
            }
        }
        Sub::Verify { common, json } => return verify(common, *json, clock),
        Sub::Alerts { common, json } => {
            let n = node(common)?;
            let alerts = open(&n, clock)?.ledger_alerts()?;
            for a in &alerts {
                if *json {
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({
                            "id": a.id, "partner": a.partner, "kind": a.kind,
                            "detail": a.detail, "time": a.time,
                            "first": a.first.as_deref().map(String::from_utf8_lossy),
                            "second": a.second.as_deref().map(String::from_utf8_lossy),
                        })
                    )?;
                } else {
                    writeln!(
                        out,
                        "alert {} [{}] {} {}: {}",
                        a.id, a.time, a.partner, a.kind, a.detail
                    )?;
                }
            }
            if !*json {
                eprintln!("{} alert(s)", alerts.len());
            }
            return Ok(if alerts.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        Sub::Audit {
            common,
            partner: name,
            json,
        } => {
            let n = node(common)?;
            let p = Partner::named(n.config.as_ref(), name).map_err(crate::flat)?;
            let auth = credentials(&CredentialChoice::Default, Some(&p)).map_err(crate::flat)?;
            let store = open(&n, clock)?;
            let client = LedgerClient::new(p.url(), auth)?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let report = rt.block_on(audit_partner(&*store, p.config(), &client))?;
            if *json {
                writeln!(out, "{}", serde_json::to_string(&report)?)?;
            } else {
                for f in &report.findings {
                    writeln!(
                        out,
                        "{} {} {} {} (here: {}, there: {}): {}",
                        f.kind,
                        f.direction,
                        f.object_id,
                        f.modified.as_deref().unwrap_or("-"),
                        f.local_index.map_or("-".into(), |i| i.to_string()),
                        f.partner_index.map_or("-".into(), |i| i.to_string()),
                        f.detail
                    )?;
                }
                writeln!(
                    out,
                    "audited {} records with `{}` against its log of size {}: {} finding(s)",
                    report.checked,
                    report.partner,
                    report.partner_size,
                    report.findings.len()
                )?;
                for note in report.notes() {
                    writeln!(out, "note: {note}")?;
                }
            }
            return Ok(if report.findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(common: &Common, json: bool, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let n = node(common)?;
    let store = open(&n, clock)?;
    let latest = store.ledger_latest_checkpoint()?;
    // The root at the signed size is recomputed in the same pass.
    let check = store.ledger_check_at(&latest.iter().map(|(size, _)| *size).collect::<Vec<_>>())?;
    let mut problems: Vec<(Option<u64>, String)> = check
        .problems
        .iter()
        .map(|p| (Some(p.index), p.reason.clone()))
        .collect();
    let mut checkpoint_size = None;
    match latest {
        None => {}
        Some((size, note)) => {
            checkpoint_size = Some(size);
            match keys(&n) {
                Err(e) => problems.push((None, format!("cannot check the checkpoint: {e:#}"))),
                Ok(k) => {
                    let v = LogVerifier::from_verifier_key(&k.log.verifier_key())?;
                    match v.open(&note, k.origin()) {
                        Err(e) => problems.push((
                            None,
                            format!("the checkpoint of size {size} does not verify: {e}"),
                        )),
                        Ok(_) if size > check.size => problems.push((
                            Some(check.size),
                            format!(
                                "the checkpoint signs size {size}; the log has only {} leaves",
                                check.size
                            ),
                        )),
                        Ok(cp) => {
                            let root = check
                                .roots
                                .iter()
                                .find(|(n, _)| *n == size)
                                .map(|(_, r)| *r)
                                .context("the root at the checkpoint's size was not recomputed")?;
                            if root != cp.checkpoint.root {
                                problems.push((
                                    None,
                                    format!(
                                        "the leaves give root {root} at size {size}; the signed checkpoint says {}",
                                        cp.checkpoint.root
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    problems.sort_by_key(|(i, _)| i.unwrap_or(u64::MAX));
    let first_bad = problems.iter().find_map(|(i, _)| *i);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "size": check.size,
                "checkpoint_size": checkpoint_size,
                "ok": problems.is_empty(),
                "first_bad_index": first_bad,
                "problems": problems.iter().map(|(i, r)| serde_json::json!({"index": i, "reason": r})).collect::<Vec<_>>(),
            })
        );
    } else {
        for (i, r) in &problems {
            match i {
                Some(i) => println!("index {i}: {r}"),
                None => println!("{r}"),
            }
        }
        match (first_bad, problems.is_empty()) {
            (_, true) => println!(
                "ledger OK: {} leaves recomputed{}",
                check.size,
                checkpoint_size.map_or(String::new(), |s| format!(
                    "; checkpoint of size {s} verified"
                ))
            ),
            (Some(i), false) => println!("ledger BAD: first bad index {i}"),
            (None, false) => println!("ledger BAD"),
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
