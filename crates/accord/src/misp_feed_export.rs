//! `accord export --format misp-feed -o DIR`: the store as a MISP feed
//! directory (`manifest.json`, one `<event uuid>.json` per report and per
//! day, `hashes.csv`) that a MISP instance adds as a "MISP Feed" (the
//! workflow is `accord_app::misp_feed`).
//!
//! This is the operator's own export, like `accord export` as STIX: every
//! object is written as stored (released to the node itself). What a
//! partner's MISP may see is served by `accord serve` at
//! `/misp-feed/{collection}/` through the partner's agreement.

use accord_app::exchange::Release;
use accord_misp_feed::Options;
use accord_store::ObjectRead;
use anyhow::{Result, bail};
use std::path::Path;

/// Writes the MISP feed of `collection` (every collection when absent)
/// into `output`.
pub fn run(
    store: &dyn ObjectRead,
    collection: Option<&str>,
    org: &str,
    output: Option<&Path>,
) -> Result<()> {
    let Some(dir) = output else {
        bail!("--format misp-feed: give the output directory with -o DIR");
    };
    let total = store.count(collection)?;
    let bar = crate::Bar(crate::progress_bar(total, "MISP feed", true));
    let opts = Options::new(collection.unwrap_or("all"), org);
    let mut release = |objs: &[accord_store::StoredObject]| Ok(vec![Release::Send; objs.len()]);
    let built = accord_app::misp_feed::build(store, collection, opts, &mut release, &bar)
        .map_err(crate::flat)?;
    let written = accord_app::misp_feed::write_dir(&built.feed, dir).map_err(crate::flat)?;
    for p in &built.problems {
        eprintln!("not exported: {p}");
    }
    if built.problem_count > built.problems.len() as u64 {
        eprintln!(
            "not exported: {} more objects that do not convert",
            built.problem_count - built.problems.len() as u64
        );
    }
    let skipped = if built.feed.skipped().is_empty() {
        String::new()
    } else {
        format!(
            "; objects with nothing for MISP: {}",
            built
                .feed
                .skipped()
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    eprintln!(
        "MISP feed written to {}: {} events, {} attributes from {} objects{skipped}{}",
        dir.display(),
        written.events,
        built.feed.attribute_count(),
        built.objects,
        if written.removed > 0 {
            format!(
                "; {} event files of an earlier export removed",
                written.removed
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
