//! How reports leave the node: text (the terminal), JSON, CSV, HTML with
//! charts (a standalone file: styles inline, charts as inline SVG, nothing
//! fetched), and PDF (that HTML printed by headless Chromium).
//!
//! Every rendering names the log range the figures were computed from and
//! the log's root there, so a partner recomputes them from `accord ledger
//! entries --to N`.

use accord_app::reciprocity::Reciprocity;
use accord_app::trend::Trend;
use accord_node::ui::{chart, fmt::thousands};
use anyhow::{Context, Result, bail};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The output formats of `accord report trend|reciprocity`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A table for the terminal.
    Text,
    /// One JSON document.
    Json,
    /// One row per month (and partner), with a header row.
    Csv,
    /// A standalone page with charts (no network needed to view it).
    Html,
    /// The HTML printed to PDF by headless Chromium (`/usr/bin/chromium`
    /// or `$ACCORD_CHROMIUM`; needs `-o`).
    Pdf,
}

/// Writes `bytes` to `out` (a file, created or replaced) or stdout.
pub fn emit(bytes: &[u8], out: Option<&Path>) -> Result<()> {
    match out {
        Some(p) => std::fs::write(p, bytes).with_context(|| format!("writing {}", p.display())),
        None => {
            let mut o = std::io::stdout().lock();
            o.write_all(bytes)?;
            Ok(())
        }
    }
}

fn cite(from: u64, to: u64, root: &str) -> Markup {
    html! {
        p.cite {
            "Computed from entries " (thousands(from)) " to " (thousands(to.saturating_sub(1)))
            " of this node's log (" (thousands(to)) " records; root at that size " code { (root) } "). "
            "Recompute with " code { "accord ledger entries --from " (from) " --to " (to) " --json" } "."
        }
    }
}

fn page(title: &str, subtitle: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                p.sub { (subtitle) }
                (body)
            }
        }
    }
    .into_string()
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;margin:2rem;max-width:1000px}\
h1{font-size:1.5rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}.sub{color:#5b6470;margin:0 0 1rem}\
.cite{color:#5b6470;font-size:.85rem;border-left:3px solid #d5dae0;padding-left:.6rem}\
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}th,td{text-align:right;padding:.3rem .5rem;border-bottom:1px solid #d5dae0}\
th:first-child,td:first-child{text-align:left}th{color:#5b6470;font-size:.85rem}\
svg .bar{fill:#1f5fa8}svg .label,svg .value{font-size:12px;fill:#1b1f24}svg .axis{stroke:#d5dae0}\
figure{margin:.4rem 0 1rem;break-inside:avoid}figcaption{color:#5b6470;font-size:.85rem}\
.charts{display:flex;flex-wrap:wrap;gap:1rem}";

fn series(t: &Trend, f: impl Fn(&accord_app::trend::TrendMonth) -> u64) -> Vec<(String, u64)> {
    t.months.iter().map(|m| (m.month.clone(), f(m))).collect()
}

/// The trend as a standalone HTML page.
pub fn trend_html(t: &Trend, node: &str) -> String {
    let every = (t.months.len() / 12).max(1);
    let scope = match &t.partner {
        Some(p) => format!("with {p}"),
        None => "with every partner".to_owned(),
    };
    let body = html! {
        (cite(t.from_index, t.to_index, &t.root))
        @if t.months.is_empty() {
            p { "No exchange in this window." }
        } @else {
            div.charts {
                (chart::columns("This node's own sightings per month (hits in its logs)", &series(t, |m| m.sightings_own), every))
                (chart::columns("Sightings partners sent back per month", &series(t, |m| m.sightings_returned), every))
                (chart::columns("Objects received per month", &series(t, |m| m.received), every))
                (chart::columns("Objects sent per month", &series(t, |m| m.sent), every))
            }
            table {
                thead { tr { th { "Month" } th { "Received" } th { "Sent" } th { "of which redacted" } th { "Withheld" } th { "Refused" } th { "Sightings returned" } th { "Own sightings" } th { "Partners" } } }
                tbody {
                    @for m in &t.months {
                        tr {
                            td { (m.month) } td { (thousands(m.received)) } td { (thousands(m.sent)) } td { (thousands(m.redacted)) }
                            td { (thousands(m.withheld)) } td { (thousands(m.rejected)) } td { (thousands(m.sightings_returned)) }
                            td { (thousands(m.sightings_own)) } td { (m.partners) }
                        }
                    }
                }
            }
        }
        h2 { "Indicators by ATT&CK technique" }
        @if t.techniques.is_empty() {
            p { "No indicator first stored in this window indicates an ATT&CK technique (an " code { "indicates" } " relationship to an attack-pattern)." }
        } @else {
            p.cite { (thousands(t.technique_indicators)) " indicator(s) first stored in this window indicate " (t.techniques.len()) " technique(s)." }
            (chart::bars("Indicators per technique (the 15 with most)", &technique_bars(t)))
            table {
                thead { tr { th { "Technique" } th { "Name" } th { "Indicators" } } }
                tbody {
                    @for r in &t.techniques {
                        tr { td { (r.technique) } td { (r.name.as_deref().unwrap_or("")) } td { (thousands(r.indicators)) } }
                    }
                }
            }
        }
    };
    page(
        &format!("Trend of the cooperation — {node}"),
        &format!(
            "Per month {scope}{}",
            window_words(t.since.as_deref(), t.until.as_deref())
        ),
        body,
    )
}

/// The bars of the techniques chart: the 15 with most indicators.
fn technique_bars(t: &Trend) -> Vec<(String, u64)> {
    t.techniques
        .iter()
        .take(15)
        .map(|r| {
            let label = match &r.name {
                Some(n) => format!("{} {n}", r.technique),
                None => r.technique.clone(),
            };
            (label, r.indicators)
        })
        .collect()
}

/// The techniques of a trend as text lines (after the months).
pub fn techniques_text(t: &Trend) -> String {
    if t.techniques.is_empty() {
        return "no indicator first stored in this window indicates an ATT&CK technique\n"
            .to_owned();
    }
    let mut s = format!(
        "\nTECHNIQUE    INDICATORS  NAME    ({} indicators first stored in this window indicate {} techniques)\n",
        t.technique_indicators,
        t.techniques.len()
    );
    for r in &t.techniques {
        s.push_str(&format!(
            "{:<11}  {:>10}  {}\n",
            r.technique,
            r.indicators,
            r.name.as_deref().unwrap_or("")
        ));
    }
    s
}

fn window_words(since: Option<&str>, until: Option<&str>) -> String {
    match (since, until) {
        (Some(s), Some(u)) => format!(", {s} to {u}"),
        (Some(s), None) => format!(", from {s}"),
        (None, Some(u)) => format!(", until {u}"),
        (None, None) => String::new(),
    }
}

/// The trend as CSV.
pub fn trend_csv(t: &Trend) -> String {
    let mut s = String::from(
        "month,received,sent,redacted,withheld,rejected,sightings_returned,sightings_own,partners\n",
    );
    for m in &t.months {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
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
    s
}

/// Reciprocity as a standalone HTML page.
pub fn reciprocity_html(r: &Reciprocity, node: &str, root: &str) -> String {
    let body = html! {
        (cite(0, r.records, root))
        @if r.partners.is_empty() { p { "No exchange with a partner in this window." } }
        @for p in &r.partners {
            h2 { (p.partner) }
            @let every = (p.months.len() / 12).max(1);
            div.charts {
                (chart::columns(&format!("Sent to {} per month", p.partner), &p.months.iter().map(|m| (m.month.clone(), m.sent_total)).collect::<Vec<_>>(), every))
                (chart::columns(&format!("Received from {} per month", p.partner), &p.months.iter().map(|m| (m.month.clone(), m.received_total)).collect::<Vec<_>>(), every))
            }
            table {
                thead { tr { th { "Month" } th { "Sent" } th { "of which redacted" } th { "Received" } th { "Withheld" } th { "Refused" } th { "Sightings returned" } th { "Median delivery (s)" } } }
                tbody {
                    @for m in &p.months {
                        tr {
                            td { (m.month) } td { (thousands(m.sent_total)) } td { (thousands(m.redacted)) } td { (thousands(m.received_total)) }
                            td { (thousands(m.withheld_total)) } td { (thousands(m.rejected_total)) } td { (thousands(m.sightings_returned)) }
                            td { @match m.median_delay_seconds { Some(s) => (format!("{s:.1}")), None => "—" } }
                        }
                    }
                }
            }
        }
    };
    page(
        &format!("Reciprocity — {node}"),
        &format!(
            "What went each way, per partner and month{}",
            window_words(r.since.as_deref(), None)
        ),
        body,
    )
}

/// Reciprocity as CSV: one row per partner and month.
pub fn reciprocity_csv(r: &Reciprocity) -> String {
    let mut s = String::from(
        "partner,month,sent,redacted,received,withheld,rejected,sightings_returned,median_delay_seconds,delay_samples\n",
    );
    for p in &r.partners {
        for m in &p.months {
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{}\n",
                csv_field(&p.partner),
                m.month,
                m.sent_total,
                m.redacted,
                m.received_total,
                m.withheld_total,
                m.rejected_total,
                m.sightings_returned,
                m.median_delay_seconds
                    .map_or(String::new(), |d| d.to_string()),
                m.delay_samples
            ));
        }
    }
    s
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The hotline report as a standalone HTML page (exercises apart).
pub fn hotline_html(
    rows: &[accord_app::hotline::ReportRow],
    node: &str,
    log: (u64, &str),
) -> String {
    let mut real: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for r in rows.iter().filter(|r| !r.exercise) {
        *real.entry(r.partner.clone()).or_default() += r.cases;
    }
    let bars: Vec<(String, u64)> = real.into_iter().collect();
    let table = |exercise: bool| {
        html! {
            table {
                thead { tr { th { "Partner" } th { "Severity" } th { "Cases" } th { "Acknowledged" } th { "Resolved" } th { "Declined" } th { "Overdue" } th { "Escalated" } th { "Median to acknowledge" } th { "Median to resolve" } } }
                tbody {
                    @for r in rows.iter().filter(|r| r.exercise == exercise) {
                        tr {
                            td { (r.partner) } td { (r.severity.as_str()) } td { (thousands(r.cases)) } td { (thousands(r.acknowledged)) }
                            td { (thousands(r.resolved)) } td { (thousands(r.declined)) } td { (thousands(r.overdue)) } td { (thousands(r.escalated)) }
                            td { (secs_words(r.median_ack_seconds)) } td { (secs_words(r.median_resolve_seconds)) }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        p.cite {
            "Computed from the cases in this node's store (incidents and their notes, each a record of its log) when the log held "
            (thousands(log.0)) " records (root " code { (log.1) } "); every message is in " code { "accord ledger entries --to " (log.0) } "."
        }
        @if rows.is_empty() { p { "No hotline case." } }
        @else {
            (chart::bars("Real cases per partner", &bars))
            h2 { "Real cases" }
            (table(false))
            @if rows.iter().any(|r| r.exercise) {
                h2 { "Exercises (kept out of the figures above)" }
                (table(true))
            }
        }
    };
    page(
        &format!("Hotline — {node}"),
        "Cases per partner and severity, times to acknowledge and to resolve",
        body,
    )
}

fn secs_words(s: Option<i64>) -> String {
    match s {
        None => "—".to_owned(),
        Some(s) if s < 3600 => format!("{} min", s / 60),
        Some(s) => format!("{:.1} h", s as f64 / 3600.0),
    }
}

/// The hotline report as CSV.
pub fn hotline_csv(rows: &[accord_app::hotline::ReportRow]) -> String {
    let mut s = String::from(
        "partner,severity,exercise,cases,opened_here,acknowledged,resolved,declined,overdue,escalated,median_ack_seconds,median_resolve_seconds\n",
    );
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&r.partner),
            r.severity.as_str(),
            r.exercise,
            r.cases,
            r.opened_here,
            r.acknowledged,
            r.resolved,
            r.declined,
            r.overdue,
            r.escalated,
            r.median_ack_seconds
                .map_or(String::new(), |v| v.to_string()),
            r.median_resolve_seconds
                .map_or(String::new(), |v| v.to_string())
        ));
    }
    s
}

/// The sightings report as a standalone HTML page.
pub fn sightings_html(
    all: &[accord_app::sightings_of::Attached],
    node: &str,
    log: (u64, &str),
) -> String {
    let top: Vec<(String, u64)> = all
        .iter()
        .take(15)
        .map(|a| (a.sighting_of.clone(), a.count))
        .collect();
    let body = html! {
        p.cite {
            "Computed from the sightings in this node's store (its own, from accord match, and those partners sent back, each counted once) when its log held "
            (thousands(log.0)) " records (root " code { (log.1) } "); each sighting is a record in " code { "accord ledger entries --to " (log.0) } "."
        }
        @if all.is_empty() { p { "No sighting." } }
        @else {
            (chart::bars("Most sighted (hits)", &top))
            table {
                thead { tr { th { "Sighting of" } th { "Held here" } th { "Sightings" } th { "Hits" } th { "Reported by" } th { "First seen" } th { "Last seen" } } }
                tbody {
                    @for a in all {
                        tr {
                            td { (a.sighting_of) } td { (if a.held { "yes" } else { "no" }) } td { (thousands(a.sightings)) } td { (thousands(a.count)) }
                            td { (a.by_reporter.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")) }
                            td { (a.first_seen.as_deref().unwrap_or("—")) } td { (a.last_seen.as_deref().unwrap_or("—")) }
                        }
                    }
                }
            }
        }
    };
    page(
        &format!("Sightings — {node}"),
        "What was seen, of which indicator, reported by whom",
        body,
    )
}

/// The sightings report as CSV (reporters as `name count` pairs joined by `;`).
pub fn sightings_csv(all: &[accord_app::sightings_of::Attached]) -> String {
    let mut s = String::from("sighting_of,held,sightings,count,by_reporter,first_seen,last_seen\n");
    for a in all {
        let by = a
            .by_reporter
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(";");
        s.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            csv_field(&a.sighting_of),
            a.held,
            a.sightings,
            a.count,
            csv_field(&by),
            a.first_seen.as_deref().unwrap_or(""),
            a.last_seen.as_deref().unwrap_or("")
        ));
    }
    s
}

/// Where Chromium is: `$ACCORD_CHROMIUM`, else `/usr/bin/chromium`.
pub fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("ACCORD_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    p.is_file().then_some(p)
}

/// Prints `html` to the PDF file `out` with headless Chromium.
///
/// # Errors
/// When Chromium is missing or fails, or writes no PDF.
pub fn pdf(html: &str, out: &Path) -> Result<()> {
    let Some(chrome) = chromium() else {
        bail!(
            "a PDF is printed by Chromium, and there is none at /usr/bin/chromium (install it: apt-get install chromium; or set ACCORD_CHROMIUM); --format html writes the same report without it"
        );
    };
    let dir = TempDir::new()?;
    let page = dir.0.join("report.html");
    std::fs::write(&page, html).context("writing the report's HTML")?;
    let out_abs = if out.is_absolute() {
        out.to_owned()
    } else {
        std::env::current_dir()?.join(out)
    };
    let o = Command::new(&chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            &format!("--user-data-dir={}", dir.0.join("profile").display()),
            &format!("--print-to-pdf={}", out_abs.display()),
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .with_context(|| format!("running {}", chrome.display()))?;
    let ok = std::fs::read(&out_abs).is_ok_and(|b| b.starts_with(b"%PDF"));
    if !o.status.success() || !ok {
        bail!(
            "{} did not print the report to {}: {}",
            chrome.display(),
            out.display(),
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    Ok(())
}

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let p = std::env::temp_dir().join(format!("accord-report-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_app::trend::TrendMonth;

    fn trend() -> Trend {
        Trend {
            since: None,
            until: None,
            partner: None,
            from_index: 0,
            to_index: 12,
            root: "ab".repeat(32),
            months: vec![
                TrendMonth {
                    month: "2026-10".into(),
                    sent: 1_234,
                    sightings_own: 40,
                    ..TrendMonth::default()
                },
                TrendMonth {
                    month: "2026-11".into(),
                    received: 7,
                    sightings_own: 10,
                    ..TrendMonth::default()
                },
            ],
            techniques: vec![accord_app::techniques::TechniqueRow {
                technique: "T0883".into(),
                name: Some("Internet Accessible Device".into()),
                indicators: 3,
            }],
            technique_indicators: 3,
        }
    }

    #[test]
    fn html_is_standalone_and_cites_the_log() {
        let h = trend_html(&trend(), "cn");
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(!h.contains("http://") || h.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(!h.contains("<link") && !h.contains("<script"));
        assert!(
            h.contains("entries 0 to 11") && h.contains(&"ab".repeat(32)),
            "{h}"
        );
        assert!(h.contains("1,234"));
        assert_eq!(h.matches("<svg").count(), 5);
        assert!(h.contains("T0883 Internet Accessible Device"), "{h}");
        let text = techniques_text(&trend());
        assert!(
            text.contains("T0883") && text.contains("3 indicators"),
            "{text}"
        );
    }

    #[test]
    fn csv_has_one_row_per_month() {
        let c = trend_csv(&trend());
        let lines: Vec<&str> = c.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], "2026-10,0,1234,0,0,0,0,40,0");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
