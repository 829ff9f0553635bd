//! Follow mode: keep reading growing logs, writing sightings every flush.

use super::load::Indicators;
use super::output::{append_hits, write_sightings};
use super::scan::{Counts, Ctx, MatchSink};
use super::summary::group;
use super::{MatchError, MatchOptions, OpenStore};
use crate::sighting::Hit;
use accord_stix::Clock;
use accord_store::Backend;
use std::time::{Duration, Instant};

/// Follows the logs until `follow_for` passes (forever without it),
/// writing hits and sightings every `flush` seconds and printing a line
/// for each flush to `on_flush`, each flush's sightings timed by `clock`.
/// Returns the closing line.
///
/// # Errors
/// [`MatchError`] from writing hits or sightings.
#[allow(clippy::too_many_arguments)]
pub(crate) fn follow(
    args: &MatchOptions,
    ctx: &Ctx<'_>,
    names: &[String],
    ind: &Indicators,
    store: Option<&dyn Backend>,
    open: OpenStore<'_>,
    clock: &dyn Clock,
    on_flush: &mut dyn FnMut(&str),
) -> Result<String, MatchError> {
    let mut followers: Vec<accord_logs::Follow> = args
        .logs
        .iter()
        .map(|p| accord_logs::Follow::new(p, &args.log_options))
        .collect();
    let start = Instant::now();
    let mut last_flush = Instant::now();
    let mut all = Counts::default();
    let mut pending: Vec<Hit> = Vec::new();
    let mut total_hits = 0u64;
    // The protected facilities, read again (only what was added) at each
    // flush that has hits.
    let watch = crate::facility::FacilityWatch::new();
    loop {
        let mut got = 0;
        for (i, f) in followers.iter_mut().enumerate() {
            let mut sink = MatchSink::new(ctx, i as u32);
            match f.poll(&mut sink) {
                Ok(n) => got += n,
                Err(e) => sink.c.errors.push(e.to_string()),
            }
            pending.extend(sink.hits);
            all.merge(sink.c);
        }
        let done = args
            .follow_for
            .is_some_and(|s| start.elapsed() >= Duration::from_secs_f64(s));
        if (done || last_flush.elapsed() >= Duration::from_secs(args.flush)) && !pending.is_empty()
        {
            let view = ind.view()?;
            pending.sort_by_key(|h| (h.file, h.line, h.ord));
            if let Some(p) = &args.hits {
                append_hits(p, &pending, names, &view)?;
            }
            let msg = write_sightings(args, &pending, ind, &view, store, open, clock.now_micros())?;
            total_hits += pending.len() as u64;
            on_flush(&format!("{} hits; {msg}", pending.len()));
            if let (Some(config), Some(s)) = (&args.node_config, store) {
                for line in escalate_touches(config, s, &watch, &pending, names, &view, clock) {
                    on_flush(&line);
                }
            }
            pending.clear();
            last_flush = Instant::now();
        }
        if done {
            return Ok(format!(
                "followed {} file(s): {} events, {} hits\n",
                names.len(),
                group(all.events),
                group(total_hits)
            ));
        }
        if got == 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Opens or adds to the case of each protected facility the hits touch;
/// a line per case for the flush's output.
fn escalate_touches(
    config: &crate::config::Config,
    store: &dyn Backend,
    watch: &crate::facility::FacilityWatch,
    hits: &[Hit],
    names: &[String],
    view: &super::layers::Layers<'_>,
    clock: &dyn Clock,
) -> Vec<String> {
    let reg = match watch.registry(store) {
        Ok(r) => r,
        Err(e) => return vec![format!("protected facilities not checked: {e}")],
    };
    let touches =
        crate::facility::touches_of_hits(&reg, hits, names, |ord| view.indicator_id_string(ord));
    if touches.is_empty() {
        return Vec::new();
    }
    match crate::facility::escalate(config, store, &touches, clock.now_timestamp()) {
        Ok(done) => done.iter().map(|e| e.line("hit by", "indicator")).collect(),
        Err(e) => vec![format!("protected facilities: {e}")],
    }
}
