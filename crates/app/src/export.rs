//! Export: stored objects as a STIX 2.1 bundle or JSON lines, exactly as
//! they were received (same bytes), in the order they were stored, streamed
//! page by page so memory stays flat whatever the collection size.

use crate::Progress;
use accord_store::{ObjectRead, Query, StoreError};
use std::borrow::Cow;
use std::io::Write;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the store failed.
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("{0}")]
    Write(#[from] std::io::Error),
}

/// Writes every object `query` selects to `out`, as one bundle or, with
/// `jsonl`, one object per line; tells `progress` the objects written.
/// Returns how many were written.
///
/// # Errors
/// [`ExportError`]; the caller names the output.
pub fn export(
    store: &dyn ObjectRead,
    mut query: Query,
    jsonl: bool,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<u64, ExportError> {
    let mut n = 0u64;
    if !jsonl {
        write!(
            out,
            "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
            uuid::Uuid::new_v4()
        )?;
    }
    loop {
        // Bounded in bytes too: objects are up to 16 MiB each.
        let page = store.query_bounded(&query, 4096, 64 << 20)?;
        for obj in &page.objects {
            if jsonl {
                out.write_all(one_line(&obj.raw).as_bytes())?;
                out.write_all(b"\n")?;
            } else {
                out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
                out.write_all(obj.raw.as_bytes())?;
            }
            n += 1;
        }
        progress.set_position(n);
        match page.last_seq() {
            Some(seq) if page.more => query.after_seq = seq,
            _ => break,
        }
    }
    if !jsonl {
        out.write_all(b"\n]}\n")?;
    }
    out.flush()?;
    progress.finish();
    Ok(n)
}

/// The object on one line: text already on one line is written as is.
pub fn one_line(raw: &str) -> Cow<'_, str> {
    if raw.contains(['\n', '\r']) {
        Cow::Owned(accord_stix::compact::one_line(raw))
    } else {
        Cow::Borrowed(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_store::SqliteStore;

    #[test]
    fn one_line_keeps_strings() {
        assert_eq!(
            one_line("{\n  \"a b\": \"x\\\" y\\n\",\n  \"c\": [1, 2]\n}"),
            "{\"a b\":\"x\\\" y\\n\",\"c\":[1,2]}"
        );
        assert_eq!(one_line("{\"a\": 1}"), "{\"a\": 1}");
    }

    #[test]
    fn exports_a_bundle_and_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let t = r#"{"type":"identity","spec_version":"2.1","id":"identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"x"}"#;
        crate::sighting::put(store.writer(), &[t.to_owned()], "c").unwrap();
        let mut out = Vec::new();
        let n = export(&store, Query::default(), true, &mut out, &()).unwrap();
        assert_eq!(n, 1);
        assert_eq!(String::from_utf8(out).unwrap(), format!("{t}\n"));
        let mut out = Vec::new();
        export(&store, Query::default(), false, &mut out, &()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["objects"].as_array().unwrap().len(), 1);
    }
}
