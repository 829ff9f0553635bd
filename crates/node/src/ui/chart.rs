//! Charts as SVG drawn by the server: no script, no network, readable
//! without colour (every bar is labelled with its value).
//!
//! Two shapes cover the dashboard: horizontal bars for categories (objects
//! by type, by origin) and columns over time (hits per day). Written here
//! rather than taken from a plotting crate: the two shapes are a few dozen
//! lines each, and the SVG stays small, accessible (a `<title>` per bar)
//! and styled by the page's own stylesheet.

use super::fmt::thousands;
use maud::{Markup, html};

/// Horizontal bars, one per `(label, value)`, longest first as given.
pub fn bars(caption: &str, rows: &[(String, u64)]) -> Markup {
    if rows.is_empty() {
        return html! {};
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let (label_w, bar_w, row_h) = (180.0_f64, 360.0_f64, 22.0_f64);
    let width = label_w + bar_w + 90.0;
    let height = row_h * rows.len() as f64 + 8.0;
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(caption)
                viewBox=(format!("0 0 {width} {height}")) width=(width) height=(height) {
                title { (caption) }
                @for (i, (label, v)) in rows.iter().enumerate() {
                    @let y = 4.0 + row_h * i as f64;
                    @let w = (bar_w * (*v as f64) / (max as f64)).max(1.0);
                    g {
                        title { (label) ": " (thousands(*v)) }
                        text.label x=(label_w - 8.0) y=(y + row_h * 0.7) text-anchor="end" { (label) }
                        rect.bar x=(label_w) y=(y + 3.0) width=(w) height=(row_h - 6.0) rx="2" {}
                        text.value x=(label_w + w + 6.0) y=(y + row_h * 0.7) { (thousands(*v)) }
                    }
                }
            }
            figcaption { (caption) }
        }
    }
}

/// Columns over time, one per `(label, value)` in the order given (oldest
/// first); every `label_every`-th label is written under its column.
pub fn columns(caption: &str, rows: &[(String, u64)], label_every: usize) -> Markup {
    if rows.is_empty() {
        return html! {};
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let (plot_h, col_w, left, bottom) = (160.0_f64, 18.0_f64, 50.0_f64, 34.0_f64);
    let width = left + col_w * rows.len() as f64 + 10.0;
    let height = plot_h + bottom + 10.0;
    let every = label_every.max(1);
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(caption)
                viewBox=(format!("0 0 {width} {height}")) width=(width) height=(height) {
                title { (caption) }
                line.axis x1=(left) y1=(plot_h + 5.0) x2=(width - 5.0) y2=(plot_h + 5.0) {}
                text.value x=(left - 6.0) y="14" text-anchor="end" { (thousands(max)) }
                text.value x=(left - 6.0) y=(plot_h + 5.0) text-anchor="end" { "0" }
                @for (i, (label, v)) in rows.iter().enumerate() {
                    @let h = plot_h * (*v as f64) / (max as f64);
                    @let x = left + col_w * i as f64;
                    g {
                        title { (label) ": " (thousands(*v)) }
                        rect.bar x=(x + 2.0) y=(plot_h + 5.0 - h) width=(col_w - 4.0) height=(h) {}
                        @if i % every == 0 {
                            text.label x=(x + col_w / 2.0) y=(plot_h + 22.0) text-anchor="middle" { (label) }
                        }
                    }
                }
            }
            figcaption { (caption) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_label_every_value_and_scale_to_the_largest() {
        let svg = bars(
            "Objects by type",
            &[("indicator".into(), 12_345), ("malware".into(), 5)],
        )
        .into_string();
        assert!(svg.contains("12,345"), "{svg}");
        assert!(svg.contains("indicator"));
        assert!(svg.contains(r#"width="360""#), "{svg}");
        // Labels are escaped: a crafted type name cannot inject markup.
        let svg = bars("x", &[("<script>".into(), 1)]).into_string();
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert_eq!(bars("empty", &[]).into_string(), "");
    }

    #[test]
    fn columns_draw_one_bar_per_row() {
        let rows: Vec<(String, u64)> = (1..=10).map(|d| (format!("12-{d:02}"), d)).collect();
        let svg = columns("Hits per day", &rows, 3).into_string();
        assert_eq!(svg.matches("<rect").count(), 10);
        assert!(svg.contains("12-01") && svg.contains("12-04") && !svg.contains(">12-02<"));
    }
}
