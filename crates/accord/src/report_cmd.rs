//! `accord report …`: reports computed from the node's log.

use accord_app::reciprocity::{Month, reciprocity};
use accord_stix::Clock;
use anyhow::Result;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Reports computed from the node's log.
#[derive(clap::Args)]
#[command(after_long_help = "Examples:\n  \
    accord report trend --data accord-data\n  \
    accord report trend --since 2026-01 --format html -o trend.html\n  \
    accord report trend --partner eu --format pdf -o trend-eu.pdf\n  \
    accord report reciprocity --data accord-data\n  \
    accord report reciprocity --since 2026-11 --format csv -o reciprocity.csv\n  \
    accord report reciprocity --since 2026-11 --json\n  \
    accord report sightings --data accord-data\n  \
    accord report hotline --config accord.toml --json")]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Per partner and month: objects sent and received by type, withheld
    /// and rejected by reason, sightings returned, and the median time
    /// from an object version's `modified` to its sending.
    ///
    /// Computed only from the log's records (`accord ledger entries`), so a
    /// partner recomputes its part from the entries concerning it. Sent
    /// counts `sent` and `redacted` out records; received counts stored
    /// `in` records; the type is the object id's prefix; the month is that
    /// of the record's time.
    Reciprocity {
        #[command(flatten)]
        window: WindowArgs,
        /// JSON (the same as --format json): {since, records, partners:
        /// [{partner, months: [{month, sent, sent_total, redacted,
        /// received, received_total, withheld, withheld_total, rejected,
        /// rejected_total, sightings_returned, median_delay_seconds,
        /// delay_samples}]}]}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        out: OutArgs,
    },
    /// The cooperation's trend per month, from the log: objects received
    /// and sent (redacted), withheld and refused, sightings partners sent
    /// back, and this node's own sightings (the hits in its logs: the
    /// figure a minister asks about).
    ///
    /// Every figure is a count of the log's records (`accord ledger
    /// entries`), and the report names the range it read and the log's
    /// root there. After the months: the indicators first stored in the
    /// window per ATT&CK technique (an `indicates` relationship to the
    /// technique's attack-pattern; `--partner`: those that partner sent),
    /// in text, JSON (`techniques`, `technique_indicators`) and HTML (with
    /// a chart); CSV keeps one row per month.
    Trend {
        #[command(flatten)]
        window: WindowArgs,
        #[command(flatten)]
        out: OutArgs,
        /// The node's name in the report's title.
        #[arg(long, default_value = "this node")]
        title: String,
    },
    /// Hotline cases: time to acknowledge and to resolve per partner and
    /// severity, overdue and escalated counts, exercises apart.
    Hotline(crate::hotline_cmd::ReportArgs),
    /// Indicators by ATT&CK technique (through `indicates` relationships;
    /// names from an ATT&CK release loaded with `accord import attack`).
    Techniques(crate::import_attack_cmd::TechniquesArgs),
    /// Sightings attached to the indicators they are of: this node's own
    /// (from `accord match`) and those its partners sent back, counted
    /// once per sighting, with who reported them and whether this node
    /// holds the indicator.
    Sightings {
        /// The node's data directory.
        #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
        data: PathBuf,
        /// Only the sightings of this object (an indicator id).
        #[arg(long)]
        of: Option<String>,
        /// JSON lines: {sighting_of, held, sightings, count, by_reporter,
        /// first_seen, last_seen}, the most sighted first (the same as
        /// --format json).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        out: OutArgs,
    },
}

/// The months and partner a log report covers.
#[derive(clap::Args)]
struct WindowArgs {
    /// The node's data directory.
    #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
    data: PathBuf,
    /// The first month reported, YYYY-MM.
    #[arg(long)]
    since: Option<String>,
    /// The last month reported, YYYY-MM.
    #[arg(long)]
    until: Option<String>,
    /// Only the records of this partner (`trend`: own sightings are then 0).
    #[arg(long)]
    partner: Option<String>,
}

impl WindowArgs {
    fn window(&self) -> Result<accord_app::trend::Window> {
        accord_app::trend::Window::new(
            self.since.as_deref(),
            self.until.as_deref(),
            self.partner.as_deref(),
        )
        .map_err(crate::flat)
    }
}

/// Where and how a report is written.
#[derive(clap::Args)]
struct OutArgs {
    /// text, json, csv, html (charts) or pdf (needs Chromium and -o).
    #[arg(long, value_enum, default_value = "text")]
    format: crate::report_render::Format,
    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

impl OutArgs {
    /// The format, JSON when `--json` was given.
    fn format(&self, json: bool) -> crate::report_render::Format {
        if json {
            crate::report_render::Format::Json
        } else {
            self.format
        }
    }
}

fn sightings(
    data: &std::path::Path,
    of: Option<&str>,
    format: crate::report_render::Format,
    output: Option<&std::path::Path>,
    clock: &Arc<dyn Clock>,
) -> Result<ExitCode> {
    use crate::report_render::{Format, emit, pdf, sightings_csv, sightings_html};
    let store = crate::data_dir::open_existing(data, clock)?;
    let all = accord_app::sightings_of::sightings_of(&store, of).map_err(crate::flat)?;
    let size = accord_store::LedgerRead::ledger_size(&store)?;
    let root = accord_store::LedgerRead::ledger_root(&store, size)?.to_hex();
    match format {
        Format::Json => {
            let mut s = String::new();
            for a in &all {
                s.push_str(&serde_json::to_string(a)?);
                s.push('\n');
            }
            emit(s.as_bytes(), output)?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Csv => {
            emit(sightings_csv(&all).as_bytes(), output)?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Html => {
            emit(
                sightings_html(&all, "this node", (size, &root)).as_bytes(),
                output,
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Pdf => {
            let Some(o) = output else {
                anyhow::bail!("--format pdf needs -o FILE");
            };
            pdf(&sightings_html(&all, "this node", (size, &root)), o)?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Text => {}
    }
    let mut out: Box<dyn Write> = match output {
        Some(p) => Box::new(
            std::fs::File::create(p)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    if all.is_empty() {
        writeln!(out, "no sightings in the store")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "SIGHTINGS  COUNT  HELD  LAST SEEN                 OF / REPORTED BY"
    )?;
    for a in &all {
        writeln!(
            out,
            "{:<9}  {:<5}  {:<4}  {:<24}  {}",
            a.sightings,
            a.count,
            if a.held { "yes" } else { "no" },
            a.last_seen.as_deref().unwrap_or("-"),
            a.sighting_of
        )?;
        writeln!(out, "{:48}reported by {}", "", counts(&a.by_reporter))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: &Args, clock: &Arc<dyn Clock>) -> Result<ExitCode> {
    match &args.command {
        Sub::Hotline(a) => crate::hotline_cmd::report(a, clock),
        Sub::Techniques(a) => crate::import_attack_cmd::techniques(a, clock),
        Sub::Sightings {
            data,
            of,
            json,
            out,
        } => sightings(
            data,
            of.as_deref(),
            out.format(*json),
            out.output.as_deref(),
            clock,
        ),
        Sub::Trend { window, out, title } => {
            let w = window.window()?;
            let store = crate::data_dir::open_existing(&window.data, clock)?;
            let t = accord_app::trend::trend(&store, w).map_err(crate::flat)?;
            trend_out(&t, out.format, out.output.as_deref(), title)
        }
        Sub::Reciprocity {
            window: wa,
            json,
            out,
        } => {
            use crate::report_render::{Format, emit, pdf, reciprocity_csv, reciprocity_html};
            let (since, partner) = (&wa.since, &wa.partner);
            let output = &out.output;
            let window = wa.window()?;
            let store = crate::data_dir::open_existing(&wa.data, clock)?;
            let mut r = reciprocity(&store, since.as_deref()).map_err(crate::flat)?;
            r.partners
                .retain(|p| partner.as_deref().is_none_or(|want| p.partner == want));
            for p in &mut r.partners {
                p.months.retain(|m| window.keeps_month(&m.month));
            }
            r.partners.retain(|p| !p.months.is_empty());
            let root = accord_store::LedgerRead::ledger_root(&store, r.records)?.to_hex();
            match out.format(*json) {
                Format::Json => {
                    let mut s = serde_json::to_string(&r)?;
                    s.push('\n');
                    return emit(s.as_bytes(), output.as_deref()).map(|()| ExitCode::SUCCESS);
                }
                Format::Csv => {
                    return emit(reciprocity_csv(&r).as_bytes(), output.as_deref())
                        .map(|()| ExitCode::SUCCESS);
                }
                Format::Html => {
                    return emit(
                        reciprocity_html(&r, "this node", &root).as_bytes(),
                        output.as_deref(),
                    )
                    .map(|()| ExitCode::SUCCESS);
                }
                Format::Pdf => {
                    let Some(out) = output else {
                        anyhow::bail!("--format pdf needs -o FILE");
                    };
                    pdf(&reciprocity_html(&r, "this node", &root), out)?;
                    return Ok(ExitCode::SUCCESS);
                }
                Format::Text => {}
            }
            let mut out: Box<dyn Write> = match output {
                Some(p) => Box::new(
                    std::fs::File::create(p)
                        .map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            if r.partners.is_empty() {
                writeln!(
                    out,
                    "no exchanges with partners in the log{} ({} records read)",
                    since
                        .as_deref()
                        .map(|s| format!(" since {s}"))
                        .unwrap_or_default(),
                    r.records
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            let head = [
                "PARTNER",
                "MONTH",
                "SENT",
                "REDACTED",
                "RECEIVED",
                "WITHHELD",
                "REJECTED",
                "SIGHTINGS",
                "MEDIAN DELAY",
            ];
            let mut rows: Vec<(Vec<String>, &Month)> = Vec::new();
            for p in &r.partners {
                for m in &p.months {
                    rows.push((
                        vec![
                            p.partner.clone(),
                            m.month.clone(),
                            m.sent_total.to_string(),
                            m.redacted.to_string(),
                            m.received_total.to_string(),
                            m.withheld_total.to_string(),
                            m.rejected_total.to_string(),
                            m.sightings_returned.to_string(),
                            m.median_delay_seconds.map_or("-".into(), duration),
                        ],
                        m,
                    ));
                }
            }
            let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
            for (cells, _) in &rows {
                for (w, c) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cells: &[&str]| {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_owned()
            };
            writeln!(out, "{}", line(&head))?;
            for (cells, m) in &rows {
                let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
                writeln!(out, "{}", line(&refs))?;
                for (what, map) in [
                    ("sent", &m.sent),
                    ("received", &m.received),
                    ("withheld", &m.withheld),
                    ("rejected", &m.rejected),
                ] {
                    if !map.is_empty() {
                        writeln!(out, "    {what}: {}", counts(map))?;
                    }
                }
            }
            writeln!(out, "({} records read)", r.records)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn trend_out(
    t: &accord_app::trend::Trend,
    format: crate::report_render::Format,
    output: Option<&std::path::Path>,
    title: &str,
) -> Result<ExitCode> {
    use crate::report_render::{Format, emit, pdf, trend_csv, trend_html};
    match format {
        Format::Json => {
            let mut s = serde_json::to_string(t)?;
            s.push('\n');
            emit(s.as_bytes(), output)?;
        }
        Format::Csv => emit(trend_csv(t).as_bytes(), output)?,
        Format::Html => emit(trend_html(t, title).as_bytes(), output)?,
        Format::Pdf => {
            let Some(out) = output else {
                anyhow::bail!("--format pdf needs -o FILE");
            };
            pdf(&trend_html(t, title), out)?;
        }
        Format::Text => {
            let mut s = String::from(
                "MONTH    RECEIVED  SENT  REDACTED  WITHHELD  REFUSED  SIGHTINGS RETURNED  OWN SIGHTINGS  PARTNERS\n",
            );
            for m in &t.months {
                s.push_str(&format!(
                    "{:<7}  {:>8}  {:>4}  {:>8}  {:>8}  {:>7}  {:>18}  {:>13}  {:>8}\n",
                    m.month,
                    m.received,
                    m.sent,
                    m.redacted,
                    m.withheld,
                    m.rejected,
                    m.sightings_returned,
                    m.sightings_own,
                    m.partners
                ));
            }
            if t.months.is_empty() {
                s = "no exchange and no sighting in this window\n".to_owned();
            }
            s.push_str(&crate::report_render::techniques_text(t));
            s.push_str(&format!(
                "(from log entries {} to {}, root {})\n",
                t.from_index,
                t.to_index.saturating_sub(1),
                t.root
            ));
            emit(s.as_bytes(), output)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn counts(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1h 2m 3s`, `4.5s`, `-3s` (a version dated after its sending).
fn duration(secs: f64) -> String {
    if secs.abs() < 60.0 {
        return format!("{secs}s");
    }
    let neg = secs < 0.0;
    let mut s = secs.abs().round() as u64;
    let d = s / 86_400;
    s %= 86_400;
    let h = s / 3600;
    s %= 3600;
    let m = s / 60;
    s %= 60;
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    parts.push(format!("{s}s"));
    format!("{}{}", if neg { "-" } else { "" }, parts.join(" "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_well() {
        assert_eq!(super::duration(4.5), "4.5s");
        assert_eq!(super::duration(120.0), "2m 0s");
        assert_eq!(super::duration(90_061.0), "1d 1h 1m 1s");
        assert_eq!(super::duration(-3600.0), "-1h 0s");
    }
}
