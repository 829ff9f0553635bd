//! The trend of the cooperation per month, from the log's records only (so
//! anyone holding `accord ledger entries` recomputes every figure):
//!
//! - `received`: `in` records `stored` (objects partners sent, kept);
//! - `sent`: `out` records `sent` or `redacted`; `redacted` counts the
//!   latter;
//! - `withheld`: `out` records `withheld`; `rejected`: `in` records
//!   `rejected`;
//! - `sightings_returned`: `in` records `stored` of type `sighting`
//!   (partners' hits on what was shared);
//! - `sightings_own`: `local` records `stored` of type `sighting` (this
//!   node's own hits, from `accord match`);
//! - `partners`: how many partners exchanged anything that month.
//!
//! The month is that of the record's `time` (`YYYY-MM`). `--partner`
//! keeps only that partner's records (so `sightings_own`, which has no
//! partner, is then zero). The report names the log range it read
//! (`from_index`, `to_index`) and the root of the log at `to_index`.
//!
//! `techniques` breaks the indicators down by ATT&CK technique
//! ([`crate::techniques`]): per technique, the distinct indicators that
//! indicate it and whose first version was stored in a month of the window
//! (the store's `date_added` of the earliest version held, the time its
//! `in` or `local` record carries); with `--partner`, only indicators that
//! partner sent (origin `partner:NAME`, or `NAME`).

use crate::reciprocity::{ReciprocityError, parse_month};
use crate::techniques::{TechniqueIndex, TechniqueRow};
use accord_ledger::{Decision, Direction, ExchangeRecord};
use accord_store::{LedgerRead, ObjectRead, Query, StoreError, VersionFilter};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One month of the trend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrendMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Objects received from partners and stored.
    pub received: u64,
    /// Objects sent to partners (whole or redacted).
    pub sent: u64,
    /// Of those, sent redacted.
    pub redacted: u64,
    /// Objects withheld from a partner.
    pub withheld: u64,
    /// Objects a partner sent that were refused.
    pub rejected: u64,
    /// Sightings partners sent back.
    pub sightings_returned: u64,
    /// This node's own sightings.
    pub sightings_own: u64,
    /// Partners that exchanged anything that month.
    pub partners: u64,
}

/// The whole trend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trend {
    /// The first month kept (`YYYY-MM`), if limited.
    pub since: Option<String>,
    /// The last month kept, if limited.
    pub until: Option<String>,
    /// Only this partner's records, if given.
    pub partner: Option<String>,
    /// The log entries read: `from_index` (0) up to, not including,
    /// `to_index` (the log's size when the report was made).
    pub from_index: u64,
    /// See `from_index`.
    pub to_index: u64,
    /// The log's root at `to_index` (hex), so the range is pinned.
    pub root: String,
    /// Months with any record, oldest first.
    pub months: Vec<TrendMonth>,
    /// Indicators first stored in the window, per ATT&CK technique, most
    /// first (see the module documentation).
    pub techniques: Vec<TechniqueRow>,
    /// Distinct indicators first stored in the window that indicate at
    /// least one technique.
    pub technique_indicators: u64,
}

/// The month filter and partner filter of a report.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// First month kept.
    pub since: Option<String>,
    /// Last month kept.
    pub until: Option<String>,
    /// Only this partner.
    pub partner: Option<String>,
}

impl Window {
    /// Checks the months (`YYYY-MM`, since ≤ until).
    ///
    /// # Errors
    /// [`ReciprocityError::Since`] naming the bad month.
    pub fn new(
        since: Option<&str>,
        until: Option<&str>,
        partner: Option<&str>,
    ) -> Result<Window, ReciprocityError> {
        let since = since.map(parse_month).transpose()?;
        let until = until.map(parse_month).transpose()?;
        if let (Some(s), Some(u)) = (&since, &until)
            && s > u
        {
            return Err(ReciprocityError::Since(format!("{s} (after --until {u})")));
        }
        Ok(Window {
            since,
            until,
            partner: partner.map(str::to_owned),
        })
    }

    /// Whether `month` is in the window.
    pub fn keeps_month(&self, month: &str) -> bool {
        self.since.as_deref().is_none_or(|s| month >= s)
            && self.until.as_deref().is_none_or(|u| month <= u)
    }
}

/// Folds records into a trend.
#[derive(Debug, Default)]
pub struct TrendAccumulator {
    window: Window,
    months: BTreeMap<String, (TrendMonth, BTreeSet<String>)>,
}

fn object_type(id: &str) -> &str {
    id.split_once("--").map_or(id, |(t, _)| t)
}

impl TrendAccumulator {
    /// An empty trend over `window`.
    pub fn new(window: Window) -> TrendAccumulator {
        TrendAccumulator {
            window,
            months: BTreeMap::new(),
        }
    }

    /// Counts one record.
    pub fn add(&mut self, r: &ExchangeRecord) {
        let Some(month) = r.time.get(..7) else { return };
        if !self.window.keeps_month(month) {
            return;
        }
        if let Some(p) = &self.window.partner
            && r.partner.as_deref() != Some(p.as_str())
        {
            return;
        }
        let is_sighting = object_type(&r.object_id) == "sighting";
        let (m, partners) = self.months.entry(month.to_owned()).or_insert_with(|| {
            (
                TrendMonth {
                    month: month.to_owned(),
                    ..TrendMonth::default()
                },
                BTreeSet::new(),
            )
        });
        match (r.direction, &r.decision) {
            (Direction::Out, Decision::Sent) => m.sent += 1,
            (Direction::Out, Decision::Redacted { .. }) => {
                m.sent += 1;
                m.redacted += 1;
            }
            (Direction::Out, Decision::Withheld { .. }) => m.withheld += 1,
            (Direction::In, Decision::Stored) => {
                m.received += 1;
                if is_sighting {
                    m.sightings_returned += 1;
                }
            }
            (Direction::In, Decision::Rejected { .. }) => m.rejected += 1,
            (Direction::Local, Decision::Stored) if is_sighting => m.sightings_own += 1,
            _ => {}
        }
        if let Some(p) = &r.partner {
            partners.insert(p.clone());
        }
    }

    /// The months, oldest first (months where only records outside every
    /// figure fell are dropped).
    pub fn months(self) -> Vec<TrendMonth> {
        self.months
            .into_values()
            .map(|(mut m, p)| {
                m.partners = p.len() as u64;
                m
            })
            .filter(|m| m.received + m.sent + m.withheld + m.rejected + m.sightings_own > 0)
            .collect()
    }
}

/// Indicators per technique among those whose first version was stored
/// in `window` (see the module documentation): the rows, most indicators
/// first, and the distinct indicators counted.
///
/// Reads the `indicates` relationships and attack-patterns (one indexed
/// query per collection) and then only the indicators they name, by id.
///
/// # Errors
/// The store's.
pub fn techniques_in(
    store: &dyn ObjectRead,
    window: &Window,
) -> Result<(Vec<TechniqueRow>, u64), StoreError> {
    let snap = TechniqueIndex::load(store)?.snapshot();
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    for e in snap.techniques.values() {
        for set in e.by_collection.values() {
            ids.extend(set.iter().map(String::as_str));
        }
    }
    // Per indicator: the earliest `date_added` held, and that version's
    // origin.
    let mut first: BTreeMap<String, (String, String)> = BTreeMap::new();
    let ids: Vec<&str> = ids.into_iter().collect();
    for chunk in ids.chunks(500) {
        let mut q = Query {
            ids: chunk.iter().map(|s| (*s).to_owned()).collect(),
            types: vec!["indicator".to_owned()],
            versions: VersionFilter::all(),
            ..Query::default()
        };
        loop {
            let page = store.query(&q, 4096)?;
            for o in &page.objects {
                let e = first
                    .entry(o.id.clone())
                    .or_insert_with(|| (o.date_added.clone(), o.origin.clone()));
                if o.date_added < e.0 {
                    *e = (o.date_added.clone(), o.origin.clone());
                }
            }
            match page.last_seq() {
                Some(s) if page.more => q.after_seq = s,
                _ => break,
            }
        }
    }
    let keeps = |id: &str| {
        first.get(id).is_some_and(|(added, origin)| {
            added.get(..7).is_some_and(|m| window.keeps_month(m))
                && window
                    .partner
                    .as_deref()
                    .is_none_or(|p| origin == p || origin.strip_prefix("partner:") == Some(p))
        })
    };
    let mut all: BTreeSet<&str> = BTreeSet::new();
    let mut rows = Vec::new();
    for (tech, e) in &snap.techniques {
        let inds: BTreeSet<&str> = e
            .by_collection
            .values()
            .flat_map(|s| s.iter().map(String::as_str))
            .filter(|i| keeps(i))
            .collect();
        if inds.is_empty() {
            continue;
        }
        all.extend(inds.iter().copied());
        rows.push(TechniqueRow {
            technique: tech.clone(),
            name: e.name.clone(),
            indicators: inds.len() as u64,
        });
    }
    rows.sort_by(|a, b| {
        b.indicators
            .cmp(&a.indicators)
            .then_with(|| a.technique.cmp(&b.technique))
    });
    Ok((rows, all.len() as u64))
}

/// The trend over the whole log of `store`, with the indicators of the
/// window per technique.
///
/// # Errors
/// [`ReciprocityError`].
pub fn trend<S: LedgerRead + ObjectRead>(
    store: &S,
    window: Window,
) -> Result<Trend, ReciprocityError> {
    let (techniques, technique_indicators) = techniques_in(store, &window)?;
    let size = store.ledger_size()?;
    let root = store.ledger_root(size)?.to_hex();
    let (since, until, partner) = (
        window.since.clone(),
        window.until.clone(),
        window.partner.clone(),
    );
    let mut acc = TrendAccumulator::new(window);
    crate::reciprocity::for_each_record(store, 0, size, |r| acc.add(r))?;
    Ok(Trend {
        since,
        until,
        partner,
        from_index: 0,
        to_index: size,
        root,
        months: acc.months(),
        techniques,
        technique_indicators,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        direction: Direction,
        partner: Option<&str>,
        id: &str,
        decision: Decision,
        time: &str,
    ) -> ExchangeRecord {
        ExchangeRecord {
            direction,
            partner: partner.map(str::to_owned),
            collection: "c".into(),
            object_id: id.into(),
            modified: None,
            sha256: "0".repeat(64),
            decision,
            time: time.into(),
            salt: None,
        }
    }

    #[test]
    fn months_count_each_direction_and_filters_apply() {
        let recs = [
            rec(
                Direction::Out,
                Some("eu"),
                "indicator--1",
                Decision::Sent,
                "2026-10-03T00:00:00Z",
            ),
            rec(
                Direction::Out,
                Some("us"),
                "indicator--2",
                Decision::Redacted {
                    fields: vec!["x".into()],
                },
                "2026-10-04T00:00:00Z",
            ),
            rec(
                Direction::Out,
                Some("us"),
                "indicator--3",
                Decision::Withheld {
                    reason: "tlp".into(),
                },
                "2026-11-01T00:00:00Z",
            ),
            rec(
                Direction::In,
                Some("eu"),
                "sighting--4",
                Decision::Stored,
                "2026-11-02T00:00:00Z",
            ),
            rec(
                Direction::In,
                Some("eu"),
                "indicator--5",
                Decision::Rejected {
                    reason: "bad".into(),
                },
                "2026-11-02T00:00:00Z",
            ),
            rec(
                Direction::Local,
                None,
                "sighting--6",
                Decision::Stored,
                "2026-11-05T00:00:00Z",
            ),
            rec(
                Direction::Local,
                None,
                "indicator--7",
                Decision::Stored,
                "2026-12-05T00:00:00Z",
            ),
        ];
        let run = |w: Window| {
            let mut a = TrendAccumulator::new(w);
            for r in &recs {
                a.add(r);
            }
            a.months()
        };
        let all = run(Window::default());
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(
            all[0],
            TrendMonth {
                month: "2026-10".into(),
                sent: 2,
                redacted: 1,
                partners: 2,
                ..TrendMonth::default()
            }
        );
        assert_eq!(
            all[1],
            TrendMonth {
                month: "2026-11".into(),
                received: 1,
                withheld: 1,
                rejected: 1,
                sightings_returned: 1,
                sightings_own: 1,
                partners: 2,
                ..TrendMonth::default()
            }
        );
        let eu = run(Window::new(None, None, Some("eu")).unwrap());
        assert_eq!(eu.iter().map(|m| m.sent).sum::<u64>(), 1);
        assert_eq!(eu.iter().map(|m| m.sightings_own).sum::<u64>(), 0);
        let nov = run(Window::new(Some("2026-11"), Some("2026-11"), None).unwrap());
        assert_eq!(nov.len(), 1);
        assert_eq!(nov[0].month, "2026-11");
        assert!(Window::new(Some("2026-12"), Some("2026-11"), None).is_err());
        assert!(Window::new(Some("2026-13"), None, None).is_err());
    }
}
