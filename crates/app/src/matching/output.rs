//! Where hits and sightings go: a JSON-lines hits file, a bundle, or the
//! store (the `sightings` collection and the producers' outboxes).

use super::load::Indicators;
use super::{MatchError, MatchOptions, OpenStore, io_err, store_err};
use crate::sighting::{self, Hit};
use accord_logs::Kind;
use accord_store::Backend;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

/// Writes one JSON line per hit to `p`.
///
/// # Errors
/// [`MatchError::Io`] naming the file.
pub fn write_hits(
    p: &Path,
    hits: &[Hit],
    names: &[String],
    view: &super::layers::Layers<'_>,
) -> Result<(), MatchError> {
    let f = std::fs::File::create(p).map_err(io_err(format!("creating {}", p.display())))?;
    let mut w = std::io::BufWriter::new(f);
    for h in hits {
        let line = json!({
            "indicator": view.indicator_id_string(h.ord),
            "value": &*h.value,
            "field": &*h.field,
            "kind": h.kind.map_or("pattern", Kind::as_str),
            "file": names[h.file as usize],
            "line": h.line,
            "time": h.time.map(sighting::ts_from_micros),
        });
        serde_json::to_writer(&mut w, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| w.write_all(b"\n"))
            .map_err(io_err(format!("writing {}", p.display())))?;
    }
    w.flush()
        .map_err(io_err(format!("writing {}", p.display())))?;
    Ok(())
}

/// Writes the sightings, made at `now_us`; returns a line saying where
/// they went. Without `store`, an existing node's store is opened with
/// `open` for its identity.
///
/// # Errors
/// [`MatchError`] naming the file or store.
pub fn write_sightings(
    args: &MatchOptions,
    hits: &[Hit],
    ind: &Indicators,
    view: &super::layers::Layers<'_>,
    store: Option<&dyn Backend>,
    open: OpenStore<'_>,
    now_us: i64,
) -> Result<String, MatchError> {
    if args.no_sightings {
        return Ok("sightings not written (--no-sightings)".into());
    }
    let (node_id, identity) = if let Some(s) = store {
        sighting::node_identity(&args.data, Some(s.writer()), now_us)?
    } else if args.data.join(accord_store::DB_FILE_NAME).exists() {
        // --out with an existing node: its identity (created and stored once).
        let s = open(&args.data).map_err(store_err(format!(
            "opening the data directory {}",
            args.data.display()
        )))?;
        sighting::node_identity(&args.data, Some(s.writer()), now_us)?
    } else {
        // --out without a node: a one-off identity, written in the bundle.
        let t = sighting::new_identity(now_us);
        let v: Value = serde_json::from_str(&t).unwrap_or_default();
        (v["id"].as_str().unwrap_or_default().to_owned(), t)
    };
    write_with(args, hits, ind, view, store, now_us, &node_id, &identity)
}

#[allow(clippy::too_many_arguments)]
fn write_with(
    args: &MatchOptions,
    hits: &[Hit],
    ind: &Indicators,
    view: &super::layers::Layers<'_>,
    store: Option<&dyn Backend>,
    now_us: i64,
    node_id: &str,
    identity: &str,
) -> Result<String, MatchError> {
    let s = sighting::aggregate(
        hits,
        args.window as i64,
        now_us,
        node_id,
        |o| view.indicator_id_string(o).unwrap_or_default(),
        |o| {
            let p = *ind.side.ord_producer.get(o as usize)?;
            ind.side.producers.get(p as usize).cloned()
        },
        args.evidence,
    );
    if let Some(out) = &args.out {
        std::fs::write(out, s.bundle(identity))
            .map_err(io_err(format!("writing {}", out.display())))?;
        return Ok(format!(
            "{} sightings ({} evidence objects) written to {}",
            s.sightings.len(),
            s.evidence.len(),
            out.display()
        ));
    }
    let Some(store) = store else {
        return Ok(String::new());
    };
    if s.sightings.is_empty() {
        return Ok("no sightings".into());
    }
    let outboxes = s.store(store.writer(), identity)?;
    let mut msg = format!(
        "{} sightings ({} evidence objects) stored in collection `{}` of {}",
        s.sightings.len(),
        s.evidence.len(),
        sighting::SIGHTINGS_COLLECTION,
        args.data.display()
    );
    for (name, n) in outboxes {
        msg.push_str(&format!("; {n} queued in `{name}`"));
    }
    Ok(msg)
}

/// Appends one JSON line per hit to `p`.
///
/// # Errors
/// [`MatchError::Io`] naming the file.
pub fn append_hits(
    p: &Path,
    hits: &[Hit],
    names: &[String],
    view: &super::layers::Layers<'_>,
) -> Result<(), MatchError> {
    let tmp = p.with_extension("part");
    write_hits(&tmp, hits, names, view)?;
    let data = std::fs::read(&tmp).map_err(io_err(format!("reading {}", tmp.display())))?;
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(io_err(format!("opening {}", p.display())))?;
    f.write_all(&data)
        .map_err(io_err(format!("writing {}", p.display())))?;
    Ok(())
}
