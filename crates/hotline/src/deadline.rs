//! Deadlines by severity (`[hotline.deadlines]` in `accord.toml`).
//!
//! ```toml
//! [hotline.deadlines]
//! critical = { ack = "1h", resolve = "24h" }
//! low = { ack = "3d", resolve = 2592000 }   # seconds also work
//! ```
//!
//! A severity left out keeps its default (critical 1 h / 24 h, high 4 h /
//! 72 h, medium 24 h / 7 d, low 72 h / 30 d).

use crate::model::Severity;
use serde::{Deserialize, Deserializer, Serialize};

/// How long the addressee has to acknowledge and to resolve, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spans {
    /// Seconds from opening (or reopening) to the acknowledgement deadline.
    #[serde(deserialize_with = "de_duration")]
    pub ack: u64,
    /// Seconds from opening (or reopening) to the resolution deadline.
    #[serde(deserialize_with = "de_duration")]
    pub resolve: u64,
}

/// The deadlines of each severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlineTable {
    /// Critical cases.
    pub critical: Spans,
    /// High.
    pub high: Spans,
    /// Medium.
    pub medium: Spans,
    /// Low.
    pub low: Spans,
}

const H: u64 = 3600;
const D: u64 = 24 * H;

impl Default for DeadlineTable {
    fn default() -> DeadlineTable {
        DeadlineTable {
            critical: Spans {
                ack: H,
                resolve: 24 * H,
            },
            high: Spans {
                ack: 4 * H,
                resolve: 72 * H,
            },
            medium: Spans {
                ack: 24 * H,
                resolve: 7 * D,
            },
            low: Spans {
                ack: 72 * H,
                resolve: 30 * D,
            },
        }
    }
}

/// The longest span accepted: 10 years (keeps timestamp arithmetic far
/// from overflow).
pub const MAX_SPAN_SECS: u64 = 10 * 366 * D;

impl DeadlineTable {
    /// The spans of one severity.
    pub fn spans(&self, s: Severity) -> Spans {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }

    /// Checks that each span is positive, at most [`MAX_SPAN_SECS`], and
    /// that resolving is not due before acknowledging.
    ///
    /// # Errors
    /// A message naming the severity and the fault.
    pub fn check(&self) -> Result<(), String> {
        for s in Severity::ALL {
            let sp = self.spans(*s);
            if sp.ack == 0 || sp.resolve == 0 {
                return Err(format!("[hotline.deadlines] {s}: a deadline of 0 seconds"));
            }
            if sp.ack > MAX_SPAN_SECS || sp.resolve > MAX_SPAN_SECS {
                return Err(format!(
                    "[hotline.deadlines] {s}: a deadline over 10 years ({MAX_SPAN_SECS} s)"
                ));
            }
            if sp.resolve < sp.ack {
                return Err(format!(
                    "[hotline.deadlines] {s}: resolve ({} s) is before ack ({} s)",
                    sp.resolve, sp.ack
                ));
            }
        }
        Ok(())
    }
}

/// Parses a duration: whole seconds, or a number with a unit `s`, `m`,
/// `h`, `d` (`"90m"`, `"7d"`).
///
/// # Errors
/// A message naming the text.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mul) = match t.as_bytes().last() {
        Some(b's') => (&t[..t.len() - 1], 1),
        Some(b'm') => (&t[..t.len() - 1], 60),
        Some(b'h') => (&t[..t.len() - 1], H),
        Some(b'd') => (&t[..t.len() - 1], D),
        _ => (t, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| {
        format!("{s:?} is not a duration (whole seconds, or a number with s, m, h or d)")
    })?;
    n.checked_mul(mul)
        .filter(|v| *v <= MAX_SPAN_SECS)
        .ok_or_else(|| format!("{s:?} is longer than 10 years"))
}

fn de_duration<'de, D2: Deserializer<'de>>(d: D2) -> Result<u64, D2::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(n) if n <= MAX_SPAN_SECS => Ok(n),
        Raw::Secs(n) => Err(serde::de::Error::custom(format!(
            "{n} seconds is longer than 10 years"
        ))),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_issue_s() {
        let t = DeadlineTable::default();
        assert_eq!(
            t.spans(Severity::Critical),
            Spans {
                ack: 3600,
                resolve: 86400
            }
        );
        assert_eq!(t.spans(Severity::Low).resolve, 30 * 86400);
        t.check().unwrap();
    }

    #[test]
    fn reads_accord_toml() {
        #[derive(Deserialize)]
        struct Hotline {
            deadlines: DeadlineTable,
        }
        #[derive(Deserialize)]
        struct Cfg {
            hotline: Hotline,
        }
        let c: Cfg = toml::from_str(
            "[hotline.deadlines]\ncritical = { ack = \"30m\", resolve = \"12h\" }\nlow = { ack = 60, resolve = \"2d\" }\n",
        )
        .unwrap();
        let t = c.hotline.deadlines;
        assert_eq!(
            t.critical,
            Spans {
                ack: 1800,
                resolve: 43200
            }
        );
        assert_eq!(
            t.low,
            Spans {
                ack: 60,
                resolve: 172800
            }
        );
        assert_eq!(t.high, DeadlineTable::default().high);
        let bad =
            toml::from_str::<Cfg>("[hotline.deadlines]\nhigh = { ack = \"soon\", resolve = 1 }\n");
        assert!(
            bad.err()
                .unwrap()
                .to_string()
                .contains("\"soon\" is not a duration")
        );
        let unknown =
            toml::from_str::<Cfg>("[hotline.deadlines]\nurgent = { ack = 1, resolve = 1 }\n");
        assert!(unknown.is_err());
    }

    #[test]
    fn check_refuses_resolve_before_ack() {
        let mut t = DeadlineTable::default();
        t.high.resolve = 10;
        assert!(t.check().unwrap_err().contains("high"));
        assert!(parse_duration("99999999999d").is_err());
    }
}
