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
    accord report reciprocity --data accord-data\n  \
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
        /// The node's data directory.
        #[arg(long, env = crate::data_dir::DATA_ENV, default_value = crate::data_dir::DEFAULT_DATA)]
        data: PathBuf,
        /// The first month reported, YYYY-MM.
        #[arg(long)]
        since: Option<String>,
        /// JSON: {since, records, partners: [{partner, months: [{month,
        /// sent, sent_total, redacted, received, received_total, withheld,
        /// withheld_total, rejected, rejected_total, sightings_returned,
        /// median_delay_seconds, delay_samples}]}]}.
        #[arg(long)]
        json: bool,
    },
    /// Hotline cases: time to acknowledge and to resolve per partner and
    /// severity, overdue and escalated counts, exercises apart.
    Hotline(crate::hotline_cmd::ReportArgs),
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
        /// first_seen, last_seen}, the most sighted first.
        #[arg(long)]
        json: bool,
    },
}

fn sightings(
    data: &std::path::Path,
    of: Option<&str>,
    json: bool,
    clock: &Arc<dyn Clock>,
) -> Result<ExitCode> {
    let store = crate::data_dir::open_existing(data, clock)?;
    let all = accord_app::sightings_of::sightings_of(&store, of).map_err(crate::flat)?;
    let mut out = std::io::stdout().lock();
    if json {
        for a in &all {
            writeln!(out, "{}", serde_json::to_string(a)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
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
        Sub::Sightings { data, of, json } => sightings(data, of.as_deref(), *json, clock),
        Sub::Reciprocity { data, since, json } => {
            if let Some(s) = since {
                accord_app::reciprocity::parse_month(s).map_err(crate::flat)?;
            }
            let store = crate::data_dir::open_existing(data, clock)?;
            let r = reciprocity(&store, since.as_deref()).map_err(crate::flat)?;
            let mut out = std::io::stdout().lock();
            if *json {
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
                return Ok(ExitCode::SUCCESS);
            }
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
