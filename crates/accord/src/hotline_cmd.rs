//! `accord hotline`: work hotline cases with a partner from the command line.

use accord_app::hotline::{
    Action, AssistOutcome, Assistance, CaseView, Hotline, OpenRequest, Severity, State,
};
use accord_stix::{Clock, Timestamp};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Hotline cases between this node and a partner: open, answer, resolve.
///
/// A case is a STIX `incident`; every message is a `note` naming it, stored
/// in this node's `hotline` collection (a leaf of its log) and delivered
/// only to the partner the case is between, at the next sync (`accord sync
/// --config accord.toml --partner P --once`, or `accord serve`'s
/// scheduler). Both nodes list the case under the same incident id.
///
/// The addressee acknowledges (`ack`), may report `progress`, and resolves
/// or `decline`s; either party `reply`s, and `reopen`s a closed case. A
/// deadline to acknowledge and to resolve follows from the severity
/// (`[hotline.deadlines]` in accord.toml; defaults: critical 1h/24h, high
/// 4h/72h, medium 24h/7d, low 72h/30d); `tick` records the escalation of
/// every deadline passed. A refused transition exits 2 and names the
/// allowed ones.
#[derive(clap::Args)]
#[command(after_long_help = "Examples (--config accord.toml by default):\n  \
    accord hotline whoami\n  \
    accord hotline open --partner us --severity high --title 'Scans from AS64500' --ask block\n  \
    accord hotline list --state open --json\n  \
    accord hotline ack incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f\n  \
    accord hotline resolve incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f --message 'Blocked.'\n  \
    accord hotline tick --at 2026-12-07T12:00:00Z")]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

/// Where the node is, and how to print.
#[derive(clap::Args, Clone)]
struct Common {
    /// The node's configuration file (its partners, their identities, the
    /// data directory).
    #[arg(long, value_name = "FILE", default_value = "accord.toml")]
    config: PathBuf,
    /// Print JSON (one object a line for lists).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Print this node's identity id: what partners write as `identity`
    /// in their [[partners]] entry for this node (created on first use).
    Whoami {
        #[command(flatten)]
        common: Common,
    },
    /// Open a case to a partner; prints the case (incident) id.
    Open {
        #[command(flatten)]
        common: Common,
        /// The partner (its [[partners]] name; it needs an `identity`).
        #[arg(long)]
        partner: String,
        /// critical, high, medium or low: picks the deadlines.
        #[arg(long)]
        severity: Severity,
        /// The case's title.
        #[arg(long)]
        title: String,
        /// A longer description.
        #[arg(long)]
        description: Option<String>,
        /// Ids of objects attached (indicators, sightings, reports…).
        #[arg(long = "attach", value_name = "ID")]
        attach: Vec<String>,
        /// Assistance asked: take-down, block, preserve-logs, identify,
        /// share-more.
        #[arg(long = "ask", value_name = "ACTION")]
        ask: Vec<Assistance>,
        /// An exercise: the same path, kept out of real statistics.
        #[arg(long)]
        exercise: bool,
    },
    /// List the cases (open, acknowledged, in-progress, resolved, declined).
    List {
        #[command(flatten)]
        common: Common,
        /// Only cases in this state.
        #[arg(long)]
        state: Option<State>,
        /// Only cases with a deadline passed unmet.
        #[arg(long)]
        overdue: bool,
    },
    /// Show a case and its messages.
    Show {
        #[command(flatten)]
        common: Common,
        /// The case (incident) id.
        case: String,
    },
    /// Acknowledge a case addressed to this node.
    Ack {
        #[command(flatten)]
        common: Common,
        /// The case (incident) id.
        case: String,
        /// An optional message.
        #[arg(long, default_value = "")]
        message: String,
    },
    /// Report progress on a case addressed to this node.
    Progress {
        #[command(flatten)]
        common: Common,
        /// The case (incident) id.
        case: String,
        /// An optional message.
        #[arg(long, default_value = "")]
        message: String,
    },
    /// Write on a case (the state stays).
    Reply {
        #[command(flatten)]
        common: Common,
        /// The case (incident) id.
        case: String,
        /// The message.
        #[arg(long)]
        message: String,
        /// Ids of objects attached.
        #[arg(long = "attach", value_name = "ID")]
        attach: Vec<String>,
    },
    /// Resolve an acknowledged case.
    Resolve {
        #[command(flatten)]
        common: Common,
        /// The case (incident) id.
        case: String,
        /// What was done.
        #[arg(long)]
        message: String,
    },
    /// Decline a case addressed to this node.
    Decline {
        #[command(flatten)]
        common: Common,
        /// The case (incident) id.
        case: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Reopen a resolved or declined case (new deadlines).
    Reopen {
        #[command(flatten)]
        common: Common,
        /// The case (incident) id.
        case: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Answer an assistance request: done, refused or partially.
    Assist {
        #[command(flatten)]
        common: Common,
        /// The case (incident) id.
        case: String,
        /// The action asked (take-down, block, preserve-logs, identify,
        /// share-more).
        #[arg(long)]
        action: Assistance,
        /// done, refused or partially.
        #[arg(long)]
        outcome: AssistOutcome,
        /// An optional message.
        #[arg(long, default_value = "")]
        message: String,
    },
    /// Record the escalation of every deadline passed at TIMESTAMP (for
    /// exercises and tests; each deadline escalates once, and nothing
    /// recorded moves backwards).
    Tick {
        #[command(flatten)]
        common: Common,
        /// The time to run the deadlines at (STIX/RFC 3339), e.g.
        /// 2026-12-07T12:00:00Z; now when absent.
        #[arg(long, value_name = "TIMESTAMP")]
        at: Option<String>,
    },
}

impl Sub {
    fn common(&self) -> &Common {
        match self {
            Sub::Whoami { common }
            | Sub::Open { common, .. }
            | Sub::List { common, .. }
            | Sub::Show { common, .. }
            | Sub::Ack { common, .. }
            | Sub::Progress { common, .. }
            | Sub::Reply { common, .. }
            | Sub::Resolve { common, .. }
            | Sub::Decline { common, .. }
            | Sub::Reopen { common, .. }
            | Sub::Assist { common, .. }
            | Sub::Tick { common, .. } => common,
        }
    }
}

fn line(v: &CaseView) -> String {
    let s = &v.summary;
    format!(
        "{}  {:<12} {:<8} {:<10} esc {}{}{}  {}",
        s.id,
        s.state.as_str(),
        s.severity.as_str(),
        v.partner,
        s.escalation,
        if s.overdue { "  OVERDUE" } else { "" },
        if s.exercise { "  exercise" } else { "" },
        s.title
    )
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let common = args.command.common();
    let config = accord_app::config::load(&common.config).map_err(crate::flat)?;
    let store = crate::data_dir::open_existing(&config.data_dir, clock)?;
    let hotline = Hotline::new(&config, &store, clock.now_micros()).map_err(crate::flat)?;
    let now = clock.now_timestamp();
    let json = common.json;
    let act = |case: &str, action: Action, text: &str, attach: &[String]| -> Result<()> {
        let note = hotline
            .act(case, action, text, attach, now)
            .map_err(crate::flat)?;
        if json {
            println!("{}", note.to_json());
        } else {
            println!(
                "{}",
                note.get("id").and_then(|v| v.as_str()).unwrap_or_default()
            );
            eprintln!("recorded on case {case}; it reaches the partner at the next sync");
        }
        Ok(())
    };
    match &args.command {
        Sub::Whoami { .. } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"identity": hotline.identity(), "data_dir": config.data_dir})
                );
            } else {
                println!("{}", hotline.identity());
            }
        }
        Sub::Open {
            partner,
            severity,
            title,
            description,
            attach,
            ask,
            exercise,
            ..
        } => {
            let id = hotline
                .open(
                    &OpenRequest {
                        partner: partner.clone(),
                        severity: *severity,
                        title: title.clone(),
                        description: description.clone(),
                        attachments: attach.clone(),
                        assistance: ask.clone(),
                        exercise: *exercise,
                    },
                    now,
                )
                .map_err(crate::flat)?;
            if json {
                println!("{}", serde_json::json!({"id": id}));
            } else {
                println!("{id}");
                eprintln!("case opened to {partner}; it reaches the partner at the next sync");
            }
        }
        Sub::List { state, overdue, .. } => {
            for v in hotline.list(*state, *overdue, now).map_err(crate::flat)? {
                if json {
                    println!("{}", serde_json::to_string(&v)?);
                } else {
                    println!("{}", line(&v));
                }
            }
        }
        Sub::Show { case, .. } => {
            let d = hotline.show(case, now).map_err(crate::flat)?;
            if json {
                println!("{}", serde_json::to_string(&d)?);
            } else {
                println!("{}", line(&d.case));
                println!(
                    "  ack by {}, resolve by {}",
                    d.case.summary.ack_by, d.case.summary.resolve_by
                );
                if let Some(desc) = &d.description {
                    println!("  {desc}");
                }
                for m in &d.messages {
                    println!(
                        "  {} {:<13} {:<8} {}{}",
                        m.time,
                        m.kind.as_str(),
                        m.from.as_deref().unwrap_or("(nodes)"),
                        m.text,
                        m.refused
                            .as_deref()
                            .map(|r| format!("  [refused: {r}]"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        Sub::Ack { case, message, .. } => act(case, Action::Ack, message, &[])?,
        Sub::Progress { case, message, .. } => act(case, Action::Progress, message, &[])?,
        Sub::Reply {
            case,
            message,
            attach,
            ..
        } => act(case, Action::Reply, message, attach)?,
        Sub::Resolve { case, message, .. } => act(case, Action::Resolve, message, &[])?,
        Sub::Decline { case, reason, .. } => act(case, Action::Decline, reason, &[])?,
        Sub::Reopen { case, reason, .. } => act(case, Action::Reopen, reason, &[])?,
        Sub::Assist {
            case,
            action,
            outcome,
            message,
            ..
        } => act(case, Action::AssistAnswer(*action, *outcome), message, &[])?,
        Sub::Tick { at, .. } => {
            let at = match at {
                Some(t) => Timestamp::parse(t).map_err(|e| anyhow::anyhow!("--at {t:?}: {e}"))?,
                None => now,
            };
            let done = hotline.tick(at).map_err(crate::flat)?;
            for e in &done {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "case": e.case, "cycle": e.cycle, "deadline": e.deadline.as_str(),
                            "due": e.due.to_millis_string(), "severity": e.severity.as_str(),
                            "level": e.level, "exercise": e.exercise,
                        })
                    );
                } else {
                    println!(
                        "case {}: the {} deadline of cycle {} passed at {}: escalated to level {}",
                        e.case,
                        e.deadline.as_str(),
                        e.cycle,
                        e.due.to_millis_string(),
                        e.level
                    );
                }
            }
            if !json {
                eprintln!(
                    "{} escalation(s) recorded at {}",
                    done.len(),
                    at.to_millis_string()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
