//! Reciprocity: per partner and month, what went each way, computed from
//! the log's records only, so that a partner recomputes it from the
//! entries concerning it.
//!
//! For each record with a `partner` (`in` and `out`), in the month of its
//! `time` (`YYYY-MM`, the first seven characters):
//!
//! - `sent`: `out` records `sent` or `redacted`, by object type (the part
//!   of `object_id` before `--`); `redacted` counts the latter;
//! - `received`: `in` records `stored`, by type;
//! - `withheld`: `out` records `withheld`, by reason;
//! - `rejected`: `in` records `rejected`, by reason;
//! - `sightings_returned`: `in` records `stored` of type `sighting`;
//! - `median_delay_seconds`: the median, over `sent` and `redacted`
//!   records whose `modified` and `time` both parse as UTC timestamps, of
//!   `time − modified` (the object version's age when it reached the
//!   partner), in seconds with millisecond precision; `delay_samples` is
//!   how many records it was taken over. `null` without any.
//!
//! JSON ([`Reciprocity`] serialized):
//!
//! ```json
//! {"since":"2026-11","records":1234,
//!  "partners":[{"partner":"eu","months":[{"month":"2026-11",
//!    "sent":{"indicator":3},"sent_total":3,"redacted":1,
//!    "received":{"indicator":2,"sighting":1},"received_total":3,
//!    "withheld":{"tlp: TLP:RED never leaves":1},"withheld_total":1,
//!    "rejected":{},"rejected_total":0,"sightings_returned":1,
//!    "median_delay_seconds":3600.0,"delay_samples":3}]}]}
//! ```
//!
//! `records` is how many records of the log were read (all of them, also
//! those before `since` and the `local` ones).

use accord_ledger::{Decision, Direction, ExchangeRecord};
use accord_stix::timestamp::Timestamp;
use accord_store::{LedgerRead, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Why the report could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ReciprocityError {
    /// `--since` is not `YYYY-MM`.
    #[error("--since `{0}` is not a month as YYYY-MM (e.g. 2026-11)")]
    Since(String),
    /// The log could not be read.
    #[error("reading the log: {0}")]
    Store(#[from] StoreError),
    /// A leaf is not a canonical exchange record.
    #[error("log entry {index} is not a canonical exchange record: {reason}")]
    Leaf {
        /// Its index.
        index: u64,
        /// Why.
        reason: String,
    },
}

/// One partner's month.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    /// Objects sent (sent or redacted), by type.
    pub sent: BTreeMap<String, u64>,
    /// Their sum.
    pub sent_total: u64,
    /// How many of those were redacted.
    pub redacted: u64,
    /// Objects received and stored, by type.
    pub received: BTreeMap<String, u64>,
    /// Their sum.
    pub received_total: u64,
    /// Objects withheld, by reason.
    pub withheld: BTreeMap<String, u64>,
    /// Their sum.
    pub withheld_total: u64,
    /// Objects received and refused, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Their sum.
    pub rejected_total: u64,
    /// Sightings received from the partner and stored.
    pub sightings_returned: u64,
    /// Median of (time sent − object version's `modified`), seconds.
    pub median_delay_seconds: Option<f64>,
    /// How many sent records the median was taken over.
    pub delay_samples: u64,
    #[serde(skip)]
    delays_ms: Vec<i64>,
}

/// One partner's months, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartnerReciprocity {
    /// The partner's name, as the records carry it.
    pub partner: String,
    /// Its months.
    pub months: Vec<Month>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reciprocity {
    /// The first month reported, if limited.
    pub since: Option<String>,
    /// Records read.
    pub records: u64,
    /// Partners, by name.
    pub partners: Vec<PartnerReciprocity>,
}

/// Checks a `--since` month (`YYYY-MM`).
///
/// # Errors
/// [`ReciprocityError::Since`].
pub fn parse_month(s: &str) -> Result<String, ReciprocityError> {
    let b = s.as_bytes();
    let ok = b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..].iter().all(u8::is_ascii_digit)
        && matches!(s[5..].parse::<u8>(), Ok(1..=12));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(ReciprocityError::Since(s.to_owned()))
    }
}

/// The type part of a STIX id (`indicator--…` → `indicator`); the whole id
/// when it has no `--`.
fn object_type(id: &str) -> &str {
    id.split_once("--").map_or(id, |(t, _)| t)
}

fn millis(t: &Timestamp) -> i64 {
    t.unix_seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos / 1_000_000))
}

/// Folds records into a report (`since`: first month kept, `YYYY-MM`).
/// Cloned and extended, it keeps a running report of a growing log
/// ([`extend`]).
#[derive(Debug, Default, Clone)]
pub struct Accumulator {
    since: Option<String>,
    records: u64,
    by: BTreeMap<(String, String), Month>,
}

impl Accumulator {
    /// An empty report from month `since` on (all months with `None`).
    pub fn new(since: Option<String>) -> Accumulator {
        Accumulator {
            since,
            ..Accumulator::default()
        }
    }

    /// Counts one record.
    pub fn add(&mut self, r: &ExchangeRecord) {
        self.records += 1;
        let Some(partner) = &r.partner else { return };
        let Some(month) = r.time.get(..7) else { return };
        if self.since.as_deref().is_some_and(|s| month < s) {
            return;
        }
        let m = self
            .by
            .entry((partner.clone(), month.to_owned()))
            .or_insert_with(|| Month {
                month: month.to_owned(),
                ..Month::default()
            });
        let ty = object_type(&r.object_id).to_owned();
        match (r.direction, &r.decision) {
            (Direction::Out, Decision::Sent | Decision::Redacted { .. }) => {
                *m.sent.entry(ty).or_default() += 1;
                m.sent_total += 1;
                if matches!(r.decision, Decision::Redacted { .. }) {
                    m.redacted += 1;
                }
                let delay = r
                    .modified
                    .as_deref()
                    .and_then(|v| Timestamp::parse(v).ok())
                    .zip(Timestamp::parse(&r.time).ok())
                    .map(|(v, t)| millis(&t) - millis(&v));
                if let Some(d) = delay {
                    m.delays_ms.push(d);
                }
            }
            (Direction::Out, Decision::Withheld { reason }) => {
                *m.withheld.entry(reason.clone()).or_default() += 1;
                m.withheld_total += 1;
            }
            (Direction::In, Decision::Stored) => {
                if ty == "sighting" {
                    m.sightings_returned += 1;
                }
                *m.received.entry(ty).or_default() += 1;
                m.received_total += 1;
            }
            (Direction::In, Decision::Rejected { reason }) => {
                *m.rejected.entry(reason.clone()).or_default() += 1;
                m.rejected_total += 1;
            }
            _ => {}
        }
    }

    /// The report.
    pub fn finish(self) -> Reciprocity {
        let mut partners: Vec<PartnerReciprocity> = Vec::new();
        for ((partner, _), mut m) in self.by {
            m.delays_ms.sort_unstable();
            m.delay_samples = m.delays_ms.len() as u64;
            let n = m.delays_ms.len();
            m.median_delay_seconds = match n {
                0 => None,
                _ if n % 2 == 1 => Some(m.delays_ms[n / 2] as f64 / 1000.0),
                _ => Some((m.delays_ms[n / 2 - 1] as f64 + m.delays_ms[n / 2] as f64) / 2000.0),
            };
            m.delays_ms = Vec::new();
            match partners.last_mut() {
                Some(p) if p.partner == partner => p.months.push(m),
                _ => partners.push(PartnerReciprocity {
                    partner,
                    months: vec![m],
                }),
            }
        }
        Reciprocity {
            since: self.since,
            records: self.records,
            partners,
        }
    }
}

/// The report over the whole log of `store` (read in runs of 10,000
/// entries; memory grows with partners × months and the sent records'
/// delays, not with the log).
///
/// # Errors
/// [`ReciprocityError`].
pub fn reciprocity<S: LedgerRead + ?Sized>(
    store: &S,
    since: Option<&str>,
) -> Result<Reciprocity, ReciprocityError> {
    let since = since.map(parse_month).transpose()?;
    let mut acc = Accumulator::new(since);
    let size = store.ledger_size()?;
    extend(&mut acc, store, 0, size)?;
    Ok(acc.finish())
}

/// Adds the log's entries `from..to` to `acc` (read in runs of 10,000);
/// returns the index after the last one read. A running report is kept by
/// calling it again from there as the log grows.
///
/// # Errors
/// [`ReciprocityError`].
pub fn extend<S: LedgerRead + ?Sized>(
    acc: &mut Accumulator,
    store: &S,
    from: u64,
    to: u64,
) -> Result<u64, ReciprocityError> {
    for_each_record(store, from, to, |r| acc.add(r))
}

/// Calls `f` with each record of the log's entries `from..to`, in order
/// (read in runs of 10,000); returns the index after the last one read.
///
/// # Errors
/// [`ReciprocityError::Store`], or [`ReciprocityError::Leaf`] naming an
/// entry that is not a canonical exchange record.
pub fn for_each_record<S: LedgerRead + ?Sized>(
    store: &S,
    from: u64,
    to: u64,
    mut f: impl FnMut(&ExchangeRecord),
) -> Result<u64, ReciprocityError> {
    let mut at = from;
    while at < to {
        let chunk = store.ledger_entries(at, to.min(at + 10_000))?;
        if chunk.is_empty() {
            break;
        }
        for e in &chunk {
            let r =
                ExchangeRecord::from_leaf_bytes(&e.leaf).map_err(|err| ReciprocityError::Leaf {
                    index: e.index,
                    reason: err.to_string(),
                })?;
            f(&r);
            at = e.index + 1;
        }
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        direction: Direction,
        partner: &str,
        id: &str,
        modified: Option<&str>,
        decision: Decision,
        time: &str,
    ) -> ExchangeRecord {
        ExchangeRecord {
            direction,
            partner: (!partner.is_empty()).then(|| partner.to_owned()),
            collection: "c".into(),
            object_id: id.into(),
            modified: modified.map(str::to_owned),
            sha256: "0".repeat(64),
            decision,
            time: time.into(),
            salt: None,
        }
    }

    #[test]
    fn counts_and_medians() {
        let mut acc = Accumulator::new(None);
        let v = Some("2026-11-01T00:00:00.000Z");
        // eu, November: three sent (delays 60 s, 120 s, 3600 s), one redacted.
        acc.add(&rec(
            Direction::Out,
            "eu",
            "indicator--1",
            v,
            Decision::Sent,
            "2026-11-01T00:01:00Z",
        ));
        acc.add(&rec(
            Direction::Out,
            "eu",
            "indicator--2",
            v,
            Decision::Sent,
            "2026-11-01T00:02:00.000000Z",
        ));
        acc.add(&rec(
            Direction::Out,
            "eu",
            "malware--3",
            v,
            Decision::Redacted {
                fields: vec!["x".into()],
            },
            "2026-11-01T01:00:00Z",
        ));
        acc.add(&rec(
            Direction::Out,
            "eu",
            "indicator--4",
            v,
            Decision::Withheld {
                reason: "tlp".into(),
            },
            "2026-11-02T00:00:00Z",
        ));
        acc.add(&rec(
            Direction::Out,
            "eu",
            "indicator--5",
            v,
            Decision::Withheld {
                reason: "tlp".into(),
            },
            "2026-11-02T00:00:00Z",
        ));
        acc.add(&rec(
            Direction::In,
            "eu",
            "sighting--6",
            v,
            Decision::Stored,
            "2026-11-03T00:00:00Z",
        ));
        acc.add(&rec(
            Direction::In,
            "eu",
            "indicator--7",
            v,
            Decision::Stored,
            "2026-11-03T00:00:00Z",
        ));
        acc.add(&rec(
            Direction::In,
            "eu",
            "indicator--8",
            v,
            Decision::Rejected {
                reason: "invalid".into(),
            },
            "2026-11-03T00:00:00Z",
        ));
        // eu, December: two sent (delays 10 s and 30 s: median 20 s); an
        // observable without `modified` counts but has no delay.
        let d = Some("2026-12-01T00:00:00Z");
        acc.add(&rec(
            Direction::Out,
            "eu",
            "indicator--9",
            d,
            Decision::Sent,
            "2026-12-01T00:00:10Z",
        ));
        acc.add(&rec(
            Direction::Out,
            "eu",
            "indicator--a",
            d,
            Decision::Sent,
            "2026-12-01T00:00:30Z",
        ));
        acc.add(&rec(
            Direction::Out,
            "eu",
            "ipv4-addr--b",
            None,
            Decision::Sent,
            "2026-12-01T00:00:30Z",
        ));
        // Another partner, and a local record (not counted).
        acc.add(&rec(
            Direction::In,
            "us",
            "sighting--c",
            v,
            Decision::Stored,
            "2026-12-05T00:00:00Z",
        ));
        acc.add(&rec(
            Direction::Local,
            "",
            "indicator--d",
            v,
            Decision::Stored,
            "2026-12-05T00:00:00Z",
        ));
        let r = acc.finish();
        assert_eq!(r.records, 13);
        assert_eq!(r.partners.len(), 2);
        let eu = &r.partners[0];
        assert_eq!(eu.partner, "eu");
        let nov = &eu.months[0];
        assert_eq!(nov.month, "2026-11");
        assert_eq!(
            nov.sent,
            BTreeMap::from([("indicator".into(), 2), ("malware".into(), 1)])
        );
        assert_eq!((nov.sent_total, nov.redacted), (3, 1));
        assert_eq!(nov.withheld, BTreeMap::from([("tlp".into(), 2)]));
        assert_eq!(
            nov.received,
            BTreeMap::from([("indicator".into(), 1), ("sighting".into(), 1)])
        );
        assert_eq!(nov.rejected, BTreeMap::from([("invalid".into(), 1)]));
        assert_eq!(nov.sightings_returned, 1);
        assert_eq!(nov.median_delay_seconds, Some(120.0));
        assert_eq!(nov.delay_samples, 3);
        let dec = &eu.months[1];
        assert_eq!(dec.sent_total, 3);
        assert_eq!(dec.median_delay_seconds, Some(20.0));
        assert_eq!(dec.delay_samples, 2);
        assert_eq!(r.partners[1].months[0].sightings_returned, 1);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["partners"][0]["months"][0]["median_delay_seconds"],
            120.0
        );
        assert!(json["partners"][0]["months"][0].get("delays_ms").is_none());
    }

    #[test]
    fn since_drops_earlier_months() {
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("2026-1").is_err());
        assert!(parse_month("26-11-01").is_err());
        let mut acc = Accumulator::new(Some(parse_month("2026-12").unwrap()));
        acc.add(&rec(
            Direction::Out,
            "eu",
            "indicator--1",
            None,
            Decision::Sent,
            "2026-11-30T23:59:59Z",
        ));
        acc.add(&rec(
            Direction::Out,
            "eu",
            "indicator--2",
            None,
            Decision::Sent,
            "2026-12-01T00:00:00Z",
        ));
        let r = acc.finish();
        assert_eq!(r.records, 2);
        assert_eq!(r.partners[0].months.len(), 1);
        assert_eq!(r.partners[0].months[0].month, "2026-12");
        assert_eq!(r.partners[0].months[0].median_delay_seconds, None);
    }
}
