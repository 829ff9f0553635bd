//! The one path from an indicator's JSON to what matching and the blocklist
//! exports use: indicator → liveness → pattern → index keys.
//!
//! # Semantics
//!
//! - **Type**: only objects of type `indicator` with a valid indicator id.
//! - **Liveness** at an instant `t` (STIX 2.1 §4.7): `valid_from` is "the
//!   time from which this Indicator is considered a valid indicator", and
//!   `valid_until` "the time at which this Indicator should no longer be
//!   considered a valid indicator". So an indicator is live at `t` iff it
//!   is not `revoked` and `valid_from <= t < valid_until` (each bound only
//!   when present and parsable), compared exactly, to the nanosecond: no
//!   rounding. `accord match` evaluates liveness at a whole second (the
//!   start of the run, rounded down); [`Validity::index_valid_until`] gives
//!   the index the whole second that yields exactly the same answer at any
//!   whole second.
//! - **Pattern**: `pattern_type` absent or `stix`. The pattern is parsed as
//!   STIX 2.0 when `pattern_version` is `"2.0"` (2.0's string timestamps in
//!   `START`/`STOP`), else as 2.1.
//! - **Keys**: a pattern that compiles to a disjunction of equalities on
//!   indexable paths gives index keys ([`Key`]); any other pattern needs the
//!   evaluator. A key the index cannot hold (a malformed address) is counted
//!   and skipped; the indicator's other keys stay.

use accord_matcher::Key;
use accord_pattern::{Compiled, KeyKind};
use accord_stix::Timestamp;
use serde::Deserialize;
use std::borrow::Cow;

/// The fields of an indicator that matching and the tool exports read.
#[derive(Deserialize)]
pub struct IndicatorFields<'a> {
    /// `type`.
    #[serde(rename = "type", borrow)]
    pub ty: Option<Cow<'a, str>>,
    /// `id`.
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    /// `pattern`.
    #[serde(borrow)]
    pub pattern: Option<Cow<'a, str>>,
    /// `pattern_type`.
    #[serde(borrow)]
    pub pattern_type: Option<Cow<'a, str>>,
    /// `pattern_version`.
    #[serde(borrow)]
    pub pattern_version: Option<Cow<'a, str>>,
    /// `valid_from`.
    #[serde(borrow)]
    pub valid_from: Option<Cow<'a, str>>,
    /// `valid_until`.
    #[serde(borrow)]
    pub valid_until: Option<Cow<'a, str>>,
    /// `revoked`.
    #[serde(default)]
    pub revoked: bool,
    /// `created_by_ref`.
    #[serde(borrow)]
    pub created_by_ref: Option<Cow<'a, str>>,
}

/// When an indicator is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// Inclusive lower bound.
    pub valid_from: Option<Timestamp>,
    /// Exclusive upper bound.
    pub valid_until: Option<Timestamp>,
    /// Revoked indicators are never live.
    pub revoked: bool,
}

fn key(t: &Timestamp) -> (i64, u32) {
    (t.unix_seconds, t.nanos)
}

impl Validity {
    /// Whether the indicator is live at `t`: not revoked and
    /// `valid_from <= t < valid_until`.
    pub fn is_live(&self, t: Timestamp) -> bool {
        !self.revoked
            && self.valid_from.is_none_or(|f| key(&f) <= key(&t))
            && self.valid_until.is_none_or(|u| key(&t) < key(&u))
    }

    /// `valid_until` as the whole second `s` for which, at every whole
    /// second `n`, `n < s` iff `n < valid_until` exactly: the second
    /// itself when it has no fraction, else the next one.
    pub fn index_valid_until(&self) -> Option<i64> {
        self.valid_until.map(|t| {
            if t.nanos > 0 {
                t.unix_seconds + 1
            } else {
                t.unix_seconds
            }
        })
    }

    /// Whether the indicator becomes valid after `t` (`t < valid_from`).
    pub fn not_yet_valid(&self, t: Timestamp) -> bool {
        self.valid_from.is_some_and(|f| key(&t) < key(&f))
    }
}

/// An indicator read from its JSON, before its pattern is looked at.
pub struct Indicator<'a> {
    /// Its id, as written.
    pub id: Cow<'a, str>,
    /// Its id's UUID bytes.
    pub id_bytes: [u8; 16],
    /// When it is live.
    pub validity: Validity,
    /// Its `valid_until`, as written.
    pub valid_until_text: Option<Cow<'a, str>>,
    /// Its producer (`created_by_ref`).
    pub created_by_ref: Option<Cow<'a, str>>,
    /// Its pattern, when it is a STIX pattern; `None` for another
    /// `pattern_type`.
    pub stix_pattern: Option<Option<Cow<'a, str>>>,
    /// The pattern is STIX 2.0 (`pattern_version` "2.0").
    pub v20: bool,
}

/// Reads an indicator's fields: `None` when the text is not an indicator
/// with a valid id.
pub fn read(text: &str) -> Option<Indicator<'_>> {
    let f = serde_json::from_str::<IndicatorFields<'_>>(text).ok()?;
    if f.ty.as_deref() != Some("indicator") {
        return None;
    }
    let id = f.id?;
    let id_bytes = accord_matcher::parse_indicator_id(&id)?;
    let ts = |v: &Option<Cow<'_, str>>| v.as_deref().and_then(|v| Timestamp::parse(v).ok());
    let validity = Validity {
        valid_from: ts(&f.valid_from),
        valid_until: ts(&f.valid_until),
        revoked: f.revoked,
    };
    let stix = f.pattern_type.as_deref().is_none_or(|t| t == "stix");
    Some(Indicator {
        id,
        id_bytes,
        validity,
        valid_until_text: f.valid_until,
        created_by_ref: f.created_by_ref,
        stix_pattern: stix.then_some(f.pattern),
        v20: f.pattern_version.as_deref() == Some("2.0"),
    })
}

/// What a pattern gives.
pub enum CompiledPattern {
    /// Index keys, and how many of the compiler's keys the index cannot hold.
    Keys(Vec<Key>, u64),
    /// The pattern needs the evaluator.
    NeedsEvaluator,
}

/// Parses a STIX pattern (2.0 when `v20`) and compiles it to index keys.
/// `None` when it does not parse.
pub fn compile(pattern: &str, v20: bool) -> Option<CompiledPattern> {
    compile_with(pattern, v20, None).map(|(c, _)| c)
}

/// [`compile`], and the warninglists any of the keys' values is on (see
/// [`crate::warninglists`]; empty without `lists` or when the pattern needs
/// the evaluator).
pub fn compile_with(
    pattern: &str,
    v20: bool,
    lists: Option<&accord_warninglist::WarninglistSet>,
) -> Option<(CompiledPattern, Vec<accord_warninglist::ListHit>)> {
    let ast = if v20 {
        accord_pattern::parse_v20(pattern)
    } else {
        accord_pattern::parse(pattern)
    }
    .ok()?;
    let mut hits = Vec::new();
    Some(match accord_pattern::compile(&ast) {
        Compiled::Keys(keys) => {
            let mut out = Vec::with_capacity(keys.len());
            let mut bad = 0;
            for k in keys {
                if let Some(set) = lists {
                    crate::warninglists::merge_hits(
                        &mut hits,
                        crate::warninglists::key_hits(set, &k.kind, &k.value),
                    );
                }
                match to_key(k.kind, &k.value) {
                    Some(key) => out.push(key),
                    None => bad += 1,
                }
            }
            (CompiledPattern::Keys(out, bad), hits)
        }
        Compiled::NeedsEvaluator(_) => (CompiledPattern::NeedsEvaluator, hits),
    })
    .map(|(c, mut hits)| {
        hits.sort_by(|a, b| a.list.cmp(&b.list));
        (c, hits)
    })
}

/// One compiled key as an index key; `None` when the index cannot hold it.
pub fn to_key(kind: KeyKind, value: &str) -> Option<Key> {
    match kind {
        KeyKind::Ip => Key::ip_cidr(value),
        KeyKind::Domain => Key::domain(value),
        KeyKind::Url => Key::url(value),
        KeyKind::Email => Key::email(value),
        KeyKind::Hash(_) => Key::hash_hex(value),
    }
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17: an indicator whose pattern nests 100,000 parentheses.
    fn poisoned() -> String {
        let n = 100_000;
        let p = format!(
            "{}[ipv4-addr:value = '1.2.3.4']{}",
            "(".repeat(n),
            ")".repeat(n)
        );
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
            "pattern": p, "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z"
        })
        .to_string()
    }

    #[test]
    fn a_pattern_beyond_the_limits_is_refused_at_the_seam() {
        let text = poisoned();
        let doc = accord_stix::Doc::parse(&text).unwrap();
        let (meta, issues) = crate::exchange::inspect(&doc);
        assert!(meta.is_none());
        let e = issues
            .iter()
            .find(|i| i.rule == accord_stix::Rule::Pattern)
            .expect("a pattern error");
        assert!(e.message.contains("pattern_max_depth"), "{}", e.message);
        // An invalid pattern too, as stix2-validator says.
        let bad = text
            .replace(&"(".repeat(100_000), "")
            .replace(&")".repeat(100_000), "");
        let bad = bad.replace("'1.2.3.4']", "'1.2.3.4'");
        let doc = accord_stix::Doc::parse(&bad).unwrap();
        assert!(crate::exchange::inspect(&doc).0.is_none());
    }

    #[test]
    fn a_poisoned_stored_pattern_is_skipped_not_a_crash() {
        let text = poisoned();
        let ind = read(&text).expect("an indicator");
        let src = ind.stix_pattern.clone().flatten().unwrap();
        assert!(compile(&src, false).is_none());
        let mut out = crate::blocklist::Collected::default();
        crate::blocklist::collect_one(
            &text,
            ts("2024-01-01T00:00:00Z"),
            &mut Default::default(),
            &mut out,
            None,
        );
        assert_eq!((out.unusable, out.entries.len()), (1, 0));
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn valid_until_is_exclusive_and_exact() {
        let v = Validity {
            valid_from: Some(ts("2026-01-01T00:00:00Z")),
            valid_until: Some(ts("2026-01-02T00:00:00.5Z")),
            revoked: false,
        };
        assert!(!v.is_live(ts("2025-12-31T23:59:59.999Z")));
        assert!(v.is_live(ts("2026-01-01T00:00:00Z")));
        assert!(v.is_live(ts("2026-01-02T00:00:00.499Z")));
        assert!(!v.is_live(ts("2026-01-02T00:00:00.5Z")));
        let whole = Validity {
            valid_until: Some(ts("2026-01-02T00:00:00Z")),
            ..v
        };
        assert!(!whole.is_live(ts("2026-01-02T00:00:00Z")));
        assert!(whole.is_live(ts("2026-01-01T23:59:59Z")));
        assert!(
            !Validity {
                revoked: true,
                ..whole
            }
            .is_live(ts("2026-01-01T12:00:00Z"))
        );
    }

    #[test]
    fn the_index_second_agrees_with_the_exact_rule_at_whole_seconds() {
        for until in [
            "2026-01-02T00:00:00Z",
            "2026-01-02T00:00:00.001Z",
            "2026-01-01T23:59:59.999Z",
        ] {
            let v = Validity {
                valid_from: None,
                valid_until: Some(ts(until)),
                revoked: false,
            };
            let s = v.index_valid_until().unwrap();
            let base = ts("2026-01-02T00:00:00Z").unix_seconds;
            for n in base - 2..base + 3 {
                assert_eq!(
                    n < s,
                    v.is_live(Timestamp::from_unix(n, 0)),
                    "{until} at {n}"
                );
            }
        }
    }

    #[test]
    fn reads_2_0_patterns_and_other_pattern_types() {
        let t = r#"{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","pattern":"[ipv4-addr:value = '10.0.0.1'] START '2016-01-01T00:00:00Z' STOP '2017-01-01T00:00:00Z'","pattern_version":"2.0"}"#;
        let i = read(t).unwrap();
        assert!(i.v20);
        let p = i.stix_pattern.unwrap().unwrap();
        assert!(compile(&p, false).is_none(), "2.1 needs t'' timestamps");
        assert!(compile(&p, true).is_some());
        let sigma = t.replace("\"pattern_version\"", "\"pattern_type\":\"sigma\",\"x\"");
        assert!(read(&sigma).unwrap().stix_pattern.is_none());
        assert!(
            read(r#"{"type":"malware","id":"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}"#)
                .is_none()
        );
    }
}
