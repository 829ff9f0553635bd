//! Every change to an agreement is a `local` record in the node's log.
//!
//! The agreement with a partner, as recorded, is the canonical JSON
//! ([`agreement_document`]: keys sorted, no spaces) of
//! `{"inbound", "jurisdiction", "name", "outbound"}`; a removed partner's is
//! `{"name": NAME, "removed": true}`. Its record:
//!
//! ```json
//! {"collection":"accord:agreements","decision":{"action":"stored"},
//!  "direction":"local","modified":"2026-12-06T19:30:00.000000Z",
//!  "object_id":"agreement:eu","sha256":"<SHA-256 of the document>",
//!  "time":"2026-12-06T19:30:00.000000Z"}
//! ```
//!
//! so anyone holding the configuration recomputes the hash and finds the
//! record. [`record_agreement_changes`] appends one record per partner
//! whose document differs from the last one recorded, and one per partner
//! recorded and no longer configured. The last hash recorded per partner is
//! kept beside the log, in the store's cursor table under
//! `accord:agreement:NAME` (written after the record is durable: a crash
//! between the two records the same agreement once more, never loses one),
//! so a node's start does not read its whole log.

use crate::config::{Config, PartnerConfig};
use accord_ledger::{Decision, Direction, ExchangeRecord};
use accord_store::{Backend, StoreError};
use sha2::Digest as _;

/// The collection of the agreement records.
pub const AGREEMENTS_COLLECTION: &str = "accord:agreements";

/// The prefix of an agreement record's `object_id` (then the partner's
/// name).
pub const OBJECT_ID_PREFIX: &str = "agreement:";

/// The prefix of the cursor keys holding the last hash recorded.
const CURSOR_PREFIX: &str = "accord:agreement:";

/// Why the agreement changes could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum AgreementLogError {
    /// The store failed (reading the last hashes or appending).
    #[error("recording the agreement changes in the log: {0}")]
    Store(#[from] StoreError),
}

/// What changed for one partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// First recorded.
    Added,
    /// Recorded before, with other content.
    Changed,
    /// Recorded before and no longer configured.
    Removed,
}

/// One agreement change, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgreementChange {
    /// The partner.
    pub partner: String,
    /// What changed.
    pub kind: ChangeKind,
    /// The SHA-256 (hex) of the document recorded.
    pub sha256: String,
    /// The record appended.
    pub record: ExchangeRecord,
}

/// `value` as canonical JSON: object keys sorted by their UTF-16 code
/// units (as RFC 8785; these keys are ASCII), no whitespace, strings as
/// serde_json writes them.
fn canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The agreement with `p` as recorded: canonical JSON of its name,
/// jurisdiction, outbound and inbound agreements.
pub fn agreement_document(p: &PartnerConfig) -> String {
    let v = serde_json::json!({
        "name": p.name,
        "jurisdiction": p.jurisdiction,
        "outbound": p.outbound,
        "inbound": p.inbound,
    });
    let mut s = String::new();
    canonical(&v, &mut s);
    s
}

/// The document recorded when partner `name` is removed.
pub fn removal_document(name: &str) -> String {
    let mut s = String::new();
    canonical(&serde_json::json!({"name": name, "removed": true}), &mut s);
    s
}

fn sha256_hex(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `local` record of an agreement document for `partner` at `time`
/// (RFC 3339).
pub fn agreement_record(partner: &str, document: &str, time: &str) -> ExchangeRecord {
    ExchangeRecord {
        direction: Direction::Local,
        partner: None,
        collection: AGREEMENTS_COLLECTION.to_owned(),
        object_id: format!("{OBJECT_ID_PREFIX}{partner}"),
        modified: Some(time.to_owned()),
        sha256: sha256_hex(document),
        decision: Decision::Stored,
        time: time.to_owned(),
        // The store draws it when the record is appended.
        salt: None,
    }
}

/// Appends one `local` record per partner of `config` whose agreement
/// differs from the last one recorded (or was never recorded), and one per
/// partner recorded earlier and absent from `config`; `time` (RFC 3339,
/// e.g. [`accord_stix::Clock::now_rfc3339`]) stamps them. Returns the
/// changes, in the configuration's order, removals last (by name).
///
/// # Errors
/// [`AgreementLogError::Store`]; nothing is recorded as known unless its
/// record is durable.
pub fn record_agreement_changes(
    store: &dyn Backend,
    config: &Config,
    time: &str,
) -> Result<Vec<AgreementChange>, AgreementLogError> {
    let known: std::collections::BTreeMap<String, String> = store
        .sync_cursors()?
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(CURSOR_PREFIX)?.to_owned(), v)))
        .collect();
    let mut changes = Vec::new();
    for p in &config.partners {
        let doc = agreement_document(p);
        let record = agreement_record(&p.name, &doc, time);
        let kind = match known.get(&p.name) {
            None => ChangeKind::Added,
            Some(h) if *h == record.sha256 => continue,
            Some(h) if *h == sha256_hex(&removal_document(&p.name)) => ChangeKind::Added,
            Some(_) => ChangeKind::Changed,
        };
        changes.push(AgreementChange {
            partner: p.name.clone(),
            kind,
            sha256: record.sha256.clone(),
            record,
        });
    }
    for (name, hash) in &known {
        let removed = sha256_hex(&removal_document(name));
        if *hash == removed || config.partners.iter().any(|p| p.name == *name) {
            continue;
        }
        let record = agreement_record(name, &removal_document(name), time);
        changes.push(AgreementChange {
            partner: name.clone(),
            kind: ChangeKind::Removed,
            sha256: record.sha256.clone(),
            record,
        });
    }
    if changes.is_empty() {
        return Ok(changes);
    }
    let records: Vec<ExchangeRecord> = changes.iter().map(|c| c.record.clone()).collect();
    store.writer().log_records(&records)?;
    for c in &changes {
        store.set_sync_cursor(&format!("{CURSOR_PREFIX}{}", c.partner), &c.sha256)?;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_store::{OpenOptions, SqliteStore};

    fn config(partners: &str) -> Config {
        Config::parse(
            &format!("[[api_roots]]\nname = \"api1\"\ntitle = \"t\"\n{partners}"),
            "t.toml",
        )
        .unwrap()
    }

    fn partner(name: &str, tlp: &str) -> String {
        format!(
            "[[partners]]\nname = \"{name}\"\nurl = \"https://{name}.example/\"\nverifier_key = \"k\"\njurisdiction = \"DE\"\n[partners.outbound]\nmax_tlp = \"{tlp}\"\n"
        )
    }

    fn local_records(store: &SqliteStore) -> Vec<ExchangeRecord> {
        let n = store.ledger_size().unwrap();
        store
            .ledger_entries(0, n)
            .unwrap()
            .iter()
            .map(|e| ExchangeRecord::from_leaf_bytes(&e.leaf).unwrap())
            .collect()
    }

    #[test]
    fn the_document_is_canonical_and_ignores_what_is_not_agreed() {
        let c = config(&partner("eu", "amber"));
        let d = agreement_document(&c.partners[0]);
        assert!(d.starts_with(r#"{"inbound":{"max_tlp":"amber+strict","onward":"none","producers":[],"sightings":true,"types":["*"]},"jurisdiction":"DE","name":"eu","outbound":{"categories":{"customer_address":"withhold""#), "{d}");
        assert!(!d.contains(' '), "{d}");
        // The URL and keys are not part of the agreement.
        let mut other = c.partners[0].clone();
        other.url = "https://elsewhere.example/".into();
        assert_eq!(agreement_document(&other), d);
        assert_eq!(removal_document("eu"), r#"{"name":"eu","removed":true}"#);
    }

    #[test]
    fn changes_are_recorded_once_and_removals_too() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_with(dir.path(), &OpenOptions::new()).unwrap();
        let t1 = "2026-12-01T10:00:00.000000Z";
        let c1 = config(&format!(
            "{}{}",
            partner("eu", "amber"),
            partner("us", "green")
        ));
        let ch = record_agreement_changes(&store, &c1, t1).unwrap();
        assert_eq!(
            ch.iter()
                .map(|c| (c.partner.as_str(), c.kind))
                .collect::<Vec<_>>(),
            [("eu", ChangeKind::Added), ("us", ChangeKind::Added)]
        );
        // Unchanged: nothing more.
        assert!(
            record_agreement_changes(&store, &c1, t1)
                .unwrap()
                .is_empty()
        );
        assert_eq!(local_records(&store).len(), 2);
        // eu's TLP changes, us is removed.
        let c2 = config(&partner("eu", "clear"));
        let ch = record_agreement_changes(&store, &c2, "2026-12-02T10:00:00.000000Z").unwrap();
        assert_eq!(
            ch.iter()
                .map(|c| (c.partner.as_str(), c.kind))
                .collect::<Vec<_>>(),
            [("eu", ChangeKind::Changed), ("us", ChangeKind::Removed)]
        );
        assert!(
            record_agreement_changes(&store, &c2, t1)
                .unwrap()
                .is_empty()
        );
        // us comes back.
        let ch = record_agreement_changes(&store, &c1, t1).unwrap();
        assert_eq!(
            ch.iter()
                .map(|c| (c.partner.as_str(), c.kind))
                .collect::<Vec<_>>(),
            [("eu", ChangeKind::Changed), ("us", ChangeKind::Added)]
        );
        let recs = local_records(&store);
        assert_eq!(recs.len(), 6);
        // Each record is recomputable from the configuration.
        let r = &recs[2];
        assert_eq!(r.object_id, "agreement:eu");
        assert_eq!(r.collection, AGREEMENTS_COLLECTION);
        assert_eq!(r.direction, Direction::Local);
        assert_eq!(r.sha256, sha256_hex(&agreement_document(&c2.partners[0])));
        assert_eq!(recs[3].sha256, sha256_hex(&removal_document("us")));
        assert!(store.ledger_check().unwrap().problems.is_empty());
    }
}
