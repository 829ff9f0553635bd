//! How the dashboard writes numbers and times for people.

use maud::{Markup, html};

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A time (RFC 3339, UTC) as a `<time>` element: the text is UTC until the
/// page's script rewrites it in the viewer's zone; UTC stays on hover.
pub fn time(rfc3339: &str) -> Markup {
    let shown = rfc3339.get(..16).map_or_else(
        || rfc3339.to_owned(),
        |s| format!("{} UTC", s.replace('T', " ")),
    );
    html! { time datetime=(rfc3339) title=(format!("{rfc3339} (UTC)")) { (shown) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn times_carry_utc_on_hover() {
        let t = time("2026-12-07T01:02:03.456Z").into_string();
        assert!(t.contains(r#"datetime="2026-12-07T01:02:03.456Z""#), "{t}");
        assert!(t.contains("2026-12-07 01:02 UTC"), "{t}");
        assert!(t.contains("(UTC)"));
        assert!(time("x").into_string().contains(">x<"));
    }
}
