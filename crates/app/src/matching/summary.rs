//! The summary printed after a match: lines, events, skips, indicators,
//! hits, throughput.

use super::load::Indicators;
use super::scan::{Counts, MAX_SAMPLES};
use crate::sighting::Hit;
use accord_logs::{Kind, SkipReason};
use std::collections::BTreeMap;

/// `n` with thousands separators.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What was read, as the first lines of a summary show it (a local
/// match's [`Counts`], or a cluster match's sums of its chunks' reports).
#[derive(Debug, Clone, Default)]
pub struct Reading<'a> {
    /// Lines read.
    pub lines: u64,
    /// Events read.
    pub events: u64,
    /// Observables looked up.
    pub observables: u64,
    /// Events before `--since`, ignored.
    pub before_since: u64,
    /// Lines skipped, by reason ([`SkipReason::as_str`]).
    pub skipped: Vec<(&'a str, u64)>,
    /// Some skipped lines: (file, line, reason).
    pub samples: Vec<(u32, u64, &'a str)>,
    /// Read errors.
    pub errors: &'a [String],
}

/// The summary's reading lines: counts, skips by reason (a changed Zeek
/// header is not a skipped line), up to [`MAX_SAMPLES`] skipped lines per
/// file, read errors.
pub fn reading(r: &Reading<'_>, names: &[String]) -> String {
    let mut s = String::new();
    let skipped: u64 = r
        .skipped
        .iter()
        .filter(|(why, _)| *why != SkipReason::HeaderChanged.as_str())
        .map(|(_, n)| n)
        .sum();
    s.push_str(&format!(
        "read {} lines from {} file(s): {} events, {} observables, {} lines skipped",
        group(r.lines),
        names.len(),
        group(r.events),
        group(r.observables),
        group(skipped)
    ));
    if !r.skipped.is_empty() {
        let parts: Vec<String> = r
            .skipped
            .iter()
            .map(|(why, n)| format!("{} {why}", group(*n)))
            .collect();
        s.push_str(&format!(" ({})", parts.join(", ")));
    }
    if r.before_since > 0 {
        s.push_str(&format!(
            "; {} events before --since ignored",
            group(r.before_since)
        ));
    }
    s.push('\n');
    let mut samples = r.samples.clone();
    samples.sort_unstable();
    let mut per_file: BTreeMap<u32, usize> = BTreeMap::new();
    for (f, line, why) in &samples {
        let n = per_file.entry(*f).or_default();
        *n += 1;
        if *n <= MAX_SAMPLES {
            let name = names.get(*f as usize).map_or("?", String::as_str);
            s.push_str(&format!("  {name}:{line}: skipped: {why}\n"));
        }
    }
    for e in r.errors {
        s.push_str(&format!("  {e}\n"));
    }
    s
}

/// The summary's hits line (hits, indicators hit, hits by observable
/// kind), then `written` (where the sightings went) when not empty.
pub fn hits_line<'a>(
    hits: u64,
    indicators: u64,
    by_kind: impl Iterator<Item = (&'a str, u64)>,
    written: &str,
) -> String {
    let kinds: Vec<String> = by_kind.map(|(k, n)| format!("{k} {}", group(n))).collect();
    let mut s = format!(
        "hits: {} on {} indicators{}\n",
        group(hits),
        group(indicators),
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    );
    if !written.is_empty() {
        s.push_str(written);
        s.push('\n');
    }
    s
}

/// The summary of a match, several lines.
#[allow(clippy::too_many_arguments)]
pub fn summary(
    c: &Counts,
    hits: &[Hit],
    ind: &Indicators,
    view: &super::layers::Layers<'_>,
    names: &[String],
    secs: f64,
    bytes: u64,
    threads: usize,
    written: &str,
) -> String {
    let mut s = reading(
        &Reading {
            lines: c.lines,
            events: c.events,
            observables: c.observables,
            before_since: c.before_since,
            skipped: c.skipped.iter().map(|(r, n)| (r.as_str(), *n)).collect(),
            samples: c
                .samples
                .iter()
                .map(|(f, l, r)| (*f, *l, r.as_str()))
                .collect(),
            errors: &c.errors,
        },
        names,
    );
    let st = &ind.side.stats;
    s.push_str(&format!(
        "indicators: {} ({} through the index, {} through the pattern evaluator, {} revoked or expired, {} not STIX patterns, {} unparsable patterns, {} unusable keys){}\n",
        group(st.indicators),
        group(st.keyed),
        group(st.evaluated),
        group(st.dead),
        group(st.not_stix),
        group(st.bad_pattern),
        group(st.bad_keys),
        match (ind.reused, ind.update) {
            (true, Some(u)) => format!(
                "; index reused from file and brought up to date: {} indicator(s) changed since it was saved ({} of them replaced)",
                group(u.changed),
                group(u.replaced)
            ),
            (true, None) => "; index reused from file".to_string(),
            _ => String::new(),
        }
    ));
    if st.warninglisted > 0 {
        let lists: Vec<String> = st
            .warninglisted_lists
            .iter()
            .map(|(l, n)| format!("{l} {}", group(*n)))
            .collect();
        s.push_str(&format!(
            "skipped as warninglisted: {} indicators ({}); --include-warninglisted matches them\n",
            group(st.warninglisted),
            lists.join(", ")
        ));
    }
    if !st.bad_pattern_ids.is_empty() {
        let more = st
            .bad_pattern
            .saturating_sub(st.bad_pattern_ids.len() as u64);
        s.push_str(&format!(
            "skipped, pattern does not parse: {}{}\n",
            st.bad_pattern_ids.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    let mut inds = std::collections::HashSet::new();
    for h in hits {
        *by_kind
            .entry(h.kind.map_or("pattern", Kind::as_str))
            .or_default() += 1;
        inds.insert(h.ord);
    }
    s.push_str(&hits_line(
        hits.len() as u64,
        inds.len() as u64,
        by_kind.iter().map(|(k, n)| (*k, *n)),
        written,
    ));
    let stats = view.stats();
    s.push_str(&format!(
        "throughput: {:.2} s, {} lines/s, {:.0} MB/s on {threads} thread(s); index {:.1} MB = {:.1} B/indicator, loaded in {:.2} s\n",
        secs,
        group((c.lines as f64 / secs.max(1e-9)) as u64),
        bytes as f64 / 1e6 / secs.max(1e-9),
        stats.total_bytes as f64 / 1e6,
        stats.bytes_per_indicator(),
        ind.load_secs
    ));
    s
}
