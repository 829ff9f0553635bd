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
    accord hotline tick --at 2026-12-07T12:00:00Z\n  \
    accord hotline exercise examples/three-nodes/exercise.toml --root /tmp/three-nodes")]
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

/// `accord hotline exercise`'s arguments.
#[derive(clap::Args)]
struct ExerciseArgs {
    /// The scenario (TOML): `[parties]` (name = the node's accord.toml),
    /// an optional `start`, and `[[steps]]` (`at = "+45m"`, `party`,
    /// `action`, `case`, and for `open`: `to`, `severity`, `title`, `ask`).
    scenario: PathBuf,
    /// The directory the parties' config paths are relative to (the
    /// scenario file's directory by default).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The simulated start (STIX/RFC 3339); the scenario's `start`, else
    /// now − the scenario's span − 10 minutes. The last step must not be
    /// after the real time.
    #[arg(long, value_name = "TIMESTAMP")]
    start: Option<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Print this node's identity id: what partners write as `identity`
    /// in their [[partners]] entry for this node (created on first use).
    #[command(after_long_help = "Examples:\n  accord hotline whoami --json")]
    Whoami {
        #[command(flatten)]
        common: Common,
    },
    /// Open a case to a partner; prints the case (incident) id.
    #[command(
        after_long_help = "Examples:\n  accord hotline open --partner us --severity critical --title 'Grid telemetry outage'\n  accord hotline open --partner eu --severity low --title 'Drill' --exercise --ask identify"
    )]
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
    #[command(
        after_long_help = "Examples:\n  accord hotline list\n  accord hotline list --state open --overdue --json"
    )]
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
    #[command(
        after_long_help = "Examples:\n  accord hotline show incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f\n  accord hotline show incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f --json"
    )]
    Show {
        #[command(flatten)]
        common: Common,
        /// The case (incident) id.
        case: String,
    },
    /// Acknowledge a case addressed to this node.
    #[command(
        after_long_help = "Examples:\n  accord hotline ack incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f\n  accord hotline ack incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f --message 'On it.'"
    )]
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
    #[command(
        after_long_help = "Examples:\n  accord hotline progress incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f --message 'Found.'"
    )]
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
    #[command(
        after_long_help = "Examples:\n  accord hotline reply incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f --message 'Ports?'"
    )]
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
    #[command(
        after_long_help = "Examples:\n  accord hotline resolve incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f --message 'Blocked.'"
    )]
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
    #[command(
        after_long_help = "Examples:\n  accord hotline decline incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f --reason 'Not ours.'"
    )]
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
    #[command(
        after_long_help = "Examples:\n  accord hotline reopen incident--6f1c0d2e-4a5b-4c6d-8e7f-0a1b2c3d4e5f --reason 'Again.'"
    )]
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
    #[command(
        after_long_help = "Examples:\n  accord hotline assist \"$CASE\" --action block --outcome done"
    )]
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
    #[command(
        after_long_help = "Examples:\n  accord hotline tick\n  accord hotline tick --at 2026-12-07T12:00:00Z --json"
    )]
    Tick {
        #[command(flatten)]
        common: Common,
        /// The time to run the deadlines at (STIX/RFC 3339), e.g.
        /// 2026-12-07T12:00:00Z; now when absent.
        #[arg(long, value_name = "TIMESTAMP")]
        at: Option<String>,
    },
    /// Play a scripted tabletop scenario between nodes on a simulated
    /// clock; report each party's response times against the deadlines.
    ///
    /// Each step runs at its simulated time through the same path as the
    /// other commands (every case opened is flagged an exercise, kept out
    /// of the real statistics of `accord report hotline`), is delivered by
    /// one sync round between the acting node and each other party, both
    /// ways (as `accord sync --config X --partner P --once`: the nodes'
    /// `accord serve` must be running), and the deadlines then run at that
    /// time on every party, so a missed deadline escalates on both sides.
    ///
    /// The simulated clock runs in the past: a partner refuses a hotline
    /// note dated more than `[hotline] max_clock_skew_secs` ahead of its
    /// clock, so by default the scenario starts at now − its span − 10
    /// minutes and its last step is before now. While it plays, the
    /// nodes' own deadline ticks leave its cases to it.
    ///
    /// Exit 0 when the scenario was played (missed deadlines are findings
    /// of the report, not errors), 2 when a step or a delivery failed.
    #[command(
        after_long_help = "Examples:\n  accord hotline exercise examples/three-nodes/exercise.toml --root /tmp/three-nodes\n  accord hotline exercise drill.toml --start 2026-12-01T08:00:00Z --json\n\nA scenario:\n  name = \"drill\"\n  [parties]\n  cn = \"cn/accord.toml\"\n  us = \"us/accord.toml\"\n  [[steps]]\n  at = \"+0s\"\n  party = \"cn\"\n  action = \"open\"\n  case = \"scan\"\n  to = \"us\"\n  severity = \"high\"\n  title = \"Scans from AS64500\"\n  ask = [\"block\"]\n  [[steps]]\n  at = \"+45m\"\n  party = \"us\"\n  action = \"ack\"\n  case = \"scan\"\n  [[steps]]\n  at = \"+80h\"\n  action = \"sync\"   # deliver among all parties, run the deadlines"
    )]
    Exercise(ExerciseArgs),
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
            Sub::Exercise(_) => unreachable!("an exercise has no --config of its own"),
        }
    }
}

/// `accord hotline exercise`.
fn exercise(args: &ExerciseArgs, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    use accord_app::exercise::{Party, Scenario, play, report_text};
    let file = &args.scenario;
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("reading the scenario {}: {e}", file.display()))?;
    let root = match &args.root {
        Some(r) => r.clone(),
        None => file
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default(),
    };
    let scenario =
        Scenario::parse(&text, &file.display().to_string(), &root).map_err(crate::flat)?;
    let start = match &args.start {
        Some(t) => Some(Timestamp::parse(t).map_err(|e| anyhow::anyhow!("--start {t:?}: {e}"))?),
        None => None,
    };
    let start = scenario
        .start_at(start, clock.now_timestamp())
        .map_err(crate::flat)?;
    let mut parties = Vec::new();
    for (name, path) in &scenario.parties {
        let config =
            accord_app::config::load(path).map_err(|e| anyhow::anyhow!("party `{name}`: {e}"))?;
        let store = crate::data_dir::open_existing(&config.data_dir, clock)
            .map_err(|e| anyhow::anyhow!("party `{name}`: {}", crate::message(&e)))?;
        parties.push(Party {
            name: name.clone(),
            config,
            store: Box::new(store),
        });
    }
    let json = args.json;
    let report = play(&scenario, start, &parties, clock, &mut |line| {
        if !json {
            eprintln!("{line}");
        }
    })
    .map_err(crate::flat)?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report_text(&report));
    }
    Ok(if report.failures().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
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
    if let Sub::Exercise(x) = &args.command {
        return exercise(x, clock);
    }
    let common = args.command.common();
    let config = accord_app::config::load(&common.config).map_err(crate::flat)?;
    let store = crate::data_dir::open_node(&config, clock)?;
    let hotline = Hotline::new(&config, &*store, clock.now_micros()).map_err(crate::flat)?;
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
        Sub::Exercise(_) => unreachable!("handled above"),
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

/// `accord report hotline`.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord report hotline --config accord.toml\n  \
    accord report hotline --config accord.toml --since 2026-12-01T00:00:00Z --json")]
pub struct ReportArgs {
    /// The node's configuration file.
    #[arg(long, value_name = "FILE", default_value = "accord.toml")]
    config: PathBuf,
    /// Only cases opened at or after this time (STIX/RFC 3339).
    #[arg(long, value_name = "TIMESTAMP")]
    since: Option<String>,
    /// JSON lines: {partner, severity, exercise, cases, opened_here,
    /// acknowledged, resolved, declined, overdue, escalated,
    /// median_ack_seconds, median_resolve_seconds} (the same as --format
    /// json).
    #[arg(long)]
    json: bool,
    /// text, json (lines), csv, html (a chart) or pdf (needs Chromium and -o).
    #[arg(long, value_enum, default_value = "text")]
    format: crate::report_render::Format,
    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

fn secs(s: Option<i64>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s < 3600 => format!("{}m", s / 60),
        Some(s) => format!("{:.1}h", s as f64 / 3600.0),
    }
}

pub fn report(args: &ReportArgs, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    let config = accord_app::config::load(&args.config).map_err(crate::flat)?;
    let since = match &args.since {
        Some(t) => Some(Timestamp::parse(t).map_err(|e| anyhow::anyhow!("--since {t:?}: {e}"))?),
        None => None,
    };
    let store = crate::data_dir::open_node(&config, clock)?;
    let hotline = Hotline::new(&config, &*store, clock.now_micros()).map_err(crate::flat)?;
    let rows = hotline
        .report(since, clock.now_timestamp())
        .map_err(crate::flat)?;
    use crate::report_render::{Format, emit, hotline_csv, hotline_html, pdf};
    let size = accord_store::LedgerRead::ledger_size(&*store)?;
    let root = accord_store::LedgerRead::ledger_root(&*store, size)?.to_hex();
    let out = args.output.as_deref();
    let format = if args.json { Format::Json } else { args.format };
    match format {
        Format::Json => {
            let mut s = String::new();
            for r in &rows {
                s.push_str(&serde_json::to_string(r)?);
                s.push('\n');
            }
            emit(s.as_bytes(), out)?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Csv => {
            emit(hotline_csv(&rows).as_bytes(), out)?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Html => {
            emit(
                hotline_html(&rows, &config.title, (size, &root)).as_bytes(),
                out,
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Pdf => {
            let Some(o) = out else {
                anyhow::bail!("--format pdf needs -o FILE");
            };
            pdf(&hotline_html(&rows, &config.title, (size, &root)), o)?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Text => {}
    }
    let mut text = String::new();
    if rows.is_empty() {
        emit(b"no hotline cases\n", out)?;
        return Ok(ExitCode::SUCCESS);
    }
    text.push_str(
        "PARTNER     SEVERITY  KIND      CASES  ACKED  RESOLVED  DECLINED  OVERDUE  ESCALATED  TO ACK  TO RESOLVE\n",
    );
    for r in &rows {
        text.push_str(&format!(
            "{:<11} {:<9} {:<9} {:<6} {:<6} {:<9} {:<9} {:<8} {:<10} {:<7} {}\n",
            r.partner,
            r.severity.as_str(),
            if r.exercise { "exercise" } else { "real" },
            r.cases,
            r.acknowledged,
            r.resolved,
            r.declined,
            r.overdue,
            r.escalated,
            secs(r.median_ack_seconds),
            secs(r.median_resolve_seconds)
        ));
    }
    emit(text.as_bytes(), out)?;
    Ok(ExitCode::SUCCESS)
}
