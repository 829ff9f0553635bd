//! The partner side: witnessing ([`witness_partner`]) and auditing
//! ([`audit_partner`]) a partner's log, run by `accord sync` and `accord
//! ledger audit`, over [`accord_client::LedgerClient`].

use super::LedgerError;
use super::keys::LedgerKeys;
use crate::config::PartnerConfig;
use accord_client::LedgerClient;
use accord_ledger::{
    Decision, Direction, ExchangeRecord, LogVerifier, Tile, TiledReader, WitnessOutcome,
    proof_range, witness_checkpoint,
};
use accord_stix::Clock;
use accord_store::{LedgerRead, LedgerWrite};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What witnessing a partner's checkpoint concluded.
#[derive(Debug, Clone, Serialize)]
pub struct WitnessReport {
    /// The partner.
    pub partner: String,
    /// `accepted`, `unchanged`, `rollback`, `split-view`, `inconsistent`.
    pub outcome: String,
    /// The size offered.
    pub size: u64,
    /// Whether the cosignature was returned to the partner.
    pub cosigned: bool,
    /// Details.
    pub detail: String,
}

impl WitnessReport {
    /// Whether an alert was raised.
    pub fn is_alert(&self) -> bool {
        matches!(
            self.outcome.as_str(),
            "rollback" | "split-view" | "inconsistent"
        )
    }
}

/// Witnesses a partner's log: fetches its checkpoint and the consistency
/// proof [`proof_range`] names against the last one held, lets the pure
/// [`witness_checkpoint`] decide, and records the outcome: an accepted
/// checkpoint is kept, cosigned and the cosignature POSTed back (also for
/// an unchanged one); a split view (another root for a size already
/// witnessed), an inconsistent proof or a rollback (forked, when no valid
/// proof connects the two) is kept as an alert with both signed notes, and
/// logged at error level. The cosignature is timestamped with `clock`.
///
/// # Errors
/// [`LedgerError`] when the partner cannot be asked, or its note is not
/// signed by its key (which proves nothing, so no alert):
/// [`LedgerError::KeyChanged`] when another key signed it.
pub async fn witness_partner<S: LedgerRead + LedgerWrite + ?Sized>(
    store: &S,
    keys: &LedgerKeys,
    clock: &dyn Clock,
    partner: &PartnerConfig,
    client: &LedgerClient,
) -> Result<WitnessReport, LedgerError> {
    let verifier = LogVerifier::from_verifier_key(&partner.verifier_key)?;
    let origin = verifier.name().to_owned();
    // Fetch: the offered note, what is held, and the proof the decision needs.
    let note = client.checkpoint().await?;
    let offered = verifier
        .open(&note, &origin)
        .map_err(|e| key_changed(&partner.name, &verifier, &note).unwrap_or(e.into()))?;
    let size = offered.checkpoint.size;
    let same = store.ledger_witnessed(&partner.name, Some(size))?;
    let at_size = match &same {
        Some(w) => Some(verifier.open(&w.note, &origin)?),
        None => None,
    };
    let held = match store.ledger_witnessed(&partner.name, None)? {
        Some(w) => Some(verifier.open(&w.note, &origin)?),
        None => None,
    };
    // When the log shrank, why the partner served no proof to the size
    // held (a log that lost entries cannot prove it once had them).
    let mut no_proof = None;
    let proof = match proof_range(held.as_ref(), size) {
        // The log grew: no proof is an error.
        Some((first, second)) if second == size => client.consistency(first, second).await?,
        // It shrank: no proof is no evidence of continuity.
        Some((first, second)) => match client.consistency(first, second).await {
            Ok(p) => p,
            Err(e) => {
                no_proof = Some(e.to_string());
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    // Decide.
    let outcome = witness_checkpoint(
        held.as_ref(),
        at_size.as_ref(),
        &note,
        &proof,
        &origin,
        &verifier,
    )?;
    // Record.
    let mut report = WitnessReport {
        partner: partner.name.clone(),
        outcome: String::new(),
        size,
        cosigned: false,
        detail: String::new(),
    };
    let alert = |report: &mut WitnessReport,
                 kind: &str,
                 detail: String,
                 first: &[u8],
                 second: &[u8]|
     -> Result<(), LedgerError> {
        tracing::error!(partner = %partner.name, kind, "{detail}");
        store.ledger_add_alert(&partner.name, kind, &detail, Some(first), Some(second))?;
        report.outcome = kind.into();
        report.detail = detail;
        Ok(())
    };
    match outcome {
        WitnessOutcome::Accepted(cp) => {
            store.ledger_save_witnessed(&partner.name, size, &cp.checkpoint.root, &note)?;
            report.outcome = "accepted".into();
        }
        WitnessOutcome::Unchanged => {
            report.outcome = "unchanged".into();
            // The partner already serves this node's cosignature of it: an
            // idle round signs and sends nothing.
            let mine = format!("\n\u{2014} {} ", keys.witness.name());
            if String::from_utf8_lossy(&note).contains(&mine) {
                return Ok(report);
            }
        }
        WitnessOutcome::SplitView(e) => {
            let detail = match (&same, &at_size) {
                (Some(w), Some(h)) => format!(
                    "split view: {origin} signed two roots for size {size} ({} received {}, {} now)",
                    h.checkpoint.root, w.received_at, offered.checkpoint.root
                ),
                _ => format!("split view: {origin} signed two roots for size {}", e.size),
            };
            alert(&mut report, "split-view", detail, &e.first, &e.second)?;
            return Ok(report);
        }
        WitnessOutcome::Rollback(e) => {
            let lost = e.held_size - e.offered_size;
            let head = format!(
                "rollback: {origin} offered a checkpoint of size {} after size {} was witnessed here",
                e.offered_size, e.held_size
            );
            let (kind, detail) = match (e.forked, no_proof) {
                (false, _) => (
                    "rollback",
                    format!(
                        "{head}: a stale checkpoint served again (the log proves the larger tree extends it)"
                    ),
                ),
                (true, Some(why)) => (
                    "rollback",
                    format!(
                        "{head}: {lost} entries it had signed are gone from what it serves (its log restored from an older copy or replaced, or a stale checkpoint replayed), and it serves no consistency proof to size {} ({why})",
                        e.held_size
                    ),
                ),
                (true, None) => (
                    "inconsistent",
                    format!("{head}; the consistency proof it serves between them fails (a fork)"),
                ),
            };
            alert(&mut report, kind, detail, &e.held, &e.offered)?;
            return Ok(report);
        }
        WitnessOutcome::Inconsistent(e) => {
            let detail = format!(
                "inconsistent: {origin}'s checkpoint of size {size} does not extend the one held; the consistency proof fails"
            );
            alert(&mut report, "inconsistent", detail, &e.held, &e.offered)?;
            return Ok(report);
        }
    }
    let cosigned = keys
        .witness
        .cosign(&offered, u64::try_from(clock.now_unix_secs()).unwrap_or(0))?;
    match client.post_cosignature(&cosigned.note).await {
        Ok(()) => report.cosigned = true,
        Err(e) => {
            tracing::warn!(partner = %partner.name, "returning the cosignature: {e}");
            report.detail = format!("cosignature not accepted: {e}");
        }
    }
    Ok(report)
}

/// [`LedgerError::KeyChanged`] when `note` is a well-formed signed note
/// that carries no signature by the key of `verifier` (another key signed
/// it); `None` when it does (its signature then fails) or is malformed.
fn key_changed(partner: &str, verifier: &LogVerifier, note: &[u8]) -> Option<LedgerError> {
    use base64::Engine;
    let text = std::str::from_utf8(note).ok()?;
    let (_, sigs) = text.rsplit_once("\n\n")?;
    let mut signers = Vec::new();
    for line in sigs.lines() {
        let (name, b64) = line.strip_prefix("\u{2014} ")?.rsplit_once(' ')?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        let id = u32::from_be_bytes(raw.get(..4)?.try_into().ok()?);
        if name == verifier.name() && id == verifier.key_id() {
            return None;
        }
        // Ed25519 note signatures (key id and 64 bytes); witnesses'
        // cosignatures (a timestamp more) are not the log's.
        if raw.len() == 68 {
            signers.push(format!("{name}+{id:08x}"));
        }
    }
    if signers.is_empty() {
        signers.push("no log key at all".to_owned());
    }
    Some(LedgerError::KeyChanged {
        partner: partner.to_owned(),
        expected: verifier.verifier_key().to_owned(),
        signers: signers.join(", "),
    })
}

/// One discrepancy found by an audit.
#[derive(Debug, Clone, Serialize)]
pub struct AuditFinding {
    /// `missing` (recorded here, not in the partner's log), `altered`
    /// (same object version, other bytes), `extra` (in the partner's log,
    /// not recorded here), `unrecorded` (sent from here, not recorded as
    /// received there).
    pub kind: String,
    /// `in` (what the partner sent here) or `out` (what was sent to it).
    pub direction: String,
    /// The object id.
    pub object_id: String,
    /// Its version.
    pub modified: Option<String>,
    /// Index in this node's log, if there.
    pub local_index: Option<u64>,
    /// Index in the partner's log, if there.
    pub partner_index: Option<u64>,
    /// What is wrong.
    pub detail: String,
}

/// The result of [`audit_partner`].
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The partner.
    pub partner: String,
    /// The partner's checkpoint size audited.
    pub partner_size: u64,
    /// Entries of the partner's log served redacted (exchanges this node
    /// is not party to): verified against the tree by their leaf hashes,
    /// their contents not seen.
    pub redacted: u64,
    /// Records of this node about the partner that were checked.
    pub checked: u64,
    /// Every discrepancy.
    pub findings: Vec<AuditFinding>,
    /// Records here under another label that names this partner, counted
    /// as its records (label → records): exchanges recorded before the
    /// partner was configured carry the origin of the sync (the host of
    /// its URL, what `accord sync` records without `--config`) or the
    /// account it logged in as, not its name.
    pub attributed: BTreeMap<String, u64>,
    /// Objects the partner logged as sent to this node that are recorded
    /// here as received under a label that does not name it (e.g. an
    /// `--origin` given before the partner was configured): held, so not
    /// `extra` findings, but not attributed either (label → objects).
    pub other_labels: BTreeMap<String, u64>,
}

impl AuditReport {
    /// What the audit attributed or set aside, one sentence each (empty
    /// when every record carried the partner's name).
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .attributed
            .iter()
            .map(|(label, n)| {
                format!(
                    "{n} record(s) here carry `{label}` (recorded before `{}` was configured) and were counted as its",
                    self.partner
                )
            })
            .collect();
        if self.redacted > 0 {
            notes.push(format!(
                "{} of the {} entries of `{}`'s log were served redacted (exchanges this node is not party to): verified by their leaf hashes, contents not seen",
                self.redacted, self.partner_size, self.partner
            ));
        }
        notes.extend(self.other_labels.iter().map(|(label, n)| {
            format!(
                "{n} object(s) `{}` logged as sent here are recorded as received from `{label}`, a label not configured for it: held, so not findings",
                self.partner
            )
        }));
        notes
    }
}

type Key3 = (String, Option<String>, String);

/// Audits the exchanges with a partner both ways against its log: fetches
/// its signed checkpoint, every entry bundle and the hash tiles, verifies
/// each entry against the checkpoint (so each is proven included; an entry
/// served redacted, an exchange this node is not party to, by the leaf
/// hash it carries, counted in [`AuditReport::redacted`]), then compares:
/// every object received from the partner must be an `out` record in its
/// log to this node's account there (`missing`, or
/// `altered` if the bytes differ), every `out` record there to this node
/// must have been recorded here (`extra`), and every object sent to it
/// should be an `in` record there (`unrecorded`).
///
/// This node's records name the partner by its name, or, when they were
/// recorded before it was configured, by the host of its URL (the origin
/// of a sync without `--config`) or the account it uses here: those count
/// as its records ([`AuditReport::attributed`]). An object the partner
/// logged as sent here that is recorded under any other label is held, so
/// it is no `extra` finding ([`AuditReport::other_labels`]).
///
/// # Errors
/// [`LedgerError`] when the partner cannot be read or its log does not
/// verify against its own checkpoint.
pub async fn audit_partner<S: LedgerRead + LedgerWrite + ?Sized>(
    store: &S,
    partner: &PartnerConfig,
    client: &LedgerClient,
) -> Result<AuditReport, LedgerError> {
    let verifier = LogVerifier::from_verifier_key(&partner.verifier_key)?;
    let note = client.checkpoint().await?;
    let cp = verifier
        .open(&note, verifier.name())
        .map_err(|e| key_changed(&partner.name, &verifier, &note).unwrap_or(e.into()))?
        .checkpoint;
    if let Some(w) = store.ledger_witnessed(&partner.name, Some(cp.size))? {
        let held = verifier.open(&w.note, verifier.name())?;
        if held.checkpoint.root != cp.root {
            let detail = format!(
                "split view: {} signed two roots for size {}",
                cp.origin, cp.size
            );
            tracing::error!(partner = %partner.name, "{detail}");
            store.ledger_add_alert(
                &partner.name,
                "split-view",
                &detail,
                Some(&w.note),
                Some(&note),
            )?;
        }
    }
    // Mirror the log with plain GETs, then authenticate it.
    let mut tiles: HashMap<String, Vec<u8>> = HashMap::new();
    let wanted: Vec<Tile> = accord_ledger::tiles::tiles_for_growth(0, cp.size)
        .into_iter()
        .chain(accord_ledger::tiles::entry_bundles_for_growth(0, cp.size))
        .collect();
    for t in &wanted {
        let path = t.path();
        let rel = path.strip_prefix("tile/").unwrap_or(&path);
        let bytes = client.tile(rel).await?;
        tiles.insert(path, bytes);
    }
    let reader = TiledReader::new(cp.size, cp.root, &tiles);
    if reader.root()? != cp.root {
        return Err(LedgerError::Inconsistent(format!(
            "{}'s tiles do not give the root of its checkpoint",
            partner.name
        )));
    }
    // Every entry is verified against the tree; a redacted entry (an
    // exchange this node is not party to) by the leaf hash it carries.
    let mut theirs: Vec<(u64, ExchangeRecord)> = Vec::new();
    let mut redacted = 0u64;
    for t in wanted
        .iter()
        .filter(|t| t.kind == accord_ledger::TileKind::Entries)
    {
        let entries = reader.verify_entry_bundle(t, &tiles[&t.path()])?;
        for (i, e) in entries.iter().enumerate() {
            match e.leaf() {
                None => redacted += 1,
                Some(leaf) => {
                    if let Ok(r) = ExchangeRecord::from_leaf_bytes(leaf) {
                        theirs.push((t.start_leaf() + i as u64, r));
                    }
                }
            }
        }
    }
    let me_there = partner.user.clone().unwrap_or_default();
    let them_here = partner.name.clone();
    // The labels this node's records may name the partner by: its name;
    // before it was configured, the host of its URL (what a sync records
    // as origin) or the account it uses here.
    let account = partner.account.clone().unwrap_or_else(|| them_here.clone());
    let host = crate::sync::origin_of(&partner.url, None, None);
    let is_in_label = |l: &str| l == them_here || l == host || l == account;
    let is_out_label = |l: &str| l == them_here || l == account;
    let mut attributed: BTreeMap<String, u64> = BTreeMap::new();
    let mut attribute = |label: &str| {
        if label != them_here {
            *attributed.entry(label.to_owned()).or_default() += 1;
        }
    };
    // Objects the partner sent here recorded under another label.
    let mut held_elsewhere: HashMap<Key3, String> = HashMap::new();
    // Their out records to this node, and their in records (from anyone).
    let mut their_out: HashMap<Key3, u64> = HashMap::new();
    let mut their_out_versions: HashMap<(String, Option<String>), (u64, String)> = HashMap::new();
    let mut their_in: HashSet<Key3> = HashSet::new();
    // A partner that redacts per reader shows this node only the records
    // of exchanges with it: each `out` record shown is to this node,
    // whatever label the partner gives it. One that shows everything is
    // read by the label this node logs in as.
    let withheld = |r: &ExchangeRecord| matches!(r.decision, Decision::Withheld { .. });
    let to_me =
        |r: &ExchangeRecord| redacted > 0 || r.partner.as_deref() == Some(me_there.as_str());
    for (i, r) in &theirs {
        let k = (r.object_id.clone(), r.modified.clone(), r.sha256.clone());
        match r.direction {
            Direction::Out if to_me(r) && !withheld(r) => {
                their_out.insert(k, *i);
                their_out_versions.insert(
                    (r.object_id.clone(), r.modified.clone()),
                    (*i, r.sha256.clone()),
                );
            }
            Direction::In => {
                their_in.insert(k);
            }
            _ => {}
        }
    }
    let size = store.ledger_size()?;
    let mut my_in: HashSet<Key3> = HashSet::new();
    let mut findings = Vec::new();
    let mut checked = 0;
    let mut from = 0;
    while from < size {
        let chunk = store.ledger_entries(from, from + 10_000)?;
        for e in &chunk {
            let Ok(r) = ExchangeRecord::from_leaf_bytes(&e.leaf) else {
                continue;
            };
            let k = (r.object_id.clone(), r.modified.clone(), r.sha256.clone());
            let finding = |kind: &str, dir: &str, partner_index, detail: String| AuditFinding {
                kind: kind.into(),
                direction: dir.into(),
                object_id: r.object_id.clone(),
                modified: r.modified.clone(),
                local_index: Some(e.index),
                partner_index,
                detail,
            };
            match r.direction {
                Direction::In if r.partner.as_deref().is_some_and(is_in_label) => {
                    checked += 1;
                    attribute(r.partner.as_deref().unwrap_or_default());
                    if their_out.contains_key(&k) {
                        // Present: proven included by the verified bundle.
                    } else if let Some((pi, sha)) =
                        their_out_versions.get(&(r.object_id.clone(), r.modified.clone()))
                    {
                        findings.push(finding(
                            "altered",
                            "in",
                            Some(*pi),
                            format!(
                                "received with sha256 {}, the partner logged {sha}",
                                r.sha256
                            ),
                        ));
                    } else {
                        findings.push(finding(
                            "missing",
                            "in",
                            None,
                            format!(
                                "received from {} but not in its log as sent to `{me_there}`",
                                partner.name
                            ),
                        ));
                    }
                    my_in.insert(k);
                }
                // Nothing left with a withheld object: nothing to find there.
                Direction::Out
                    if r.partner.as_deref().is_some_and(is_out_label) && !withheld(&r) =>
                {
                    checked += 1;
                    attribute(r.partner.as_deref().unwrap_or_default());
                    if !their_in.contains(&k) {
                        findings.push(finding(
                            "unrecorded",
                            "out",
                            None,
                            format!("sent to `{them_here}` but not recorded as received in its log (it may have held it already)"),
                        ));
                    }
                }
                Direction::In if their_out.contains_key(&k) => {
                    held_elsewhere
                        .entry(k)
                        .or_insert_with(|| r.partner.clone().unwrap_or_default());
                }
                _ => {}
            }
        }
        from += 10_000;
    }
    let mut extra: Vec<(&Key3, &u64)> = their_out
        .iter()
        .filter(|(k, _)| !my_in.contains(*k))
        .collect();
    extra.sort_by_key(|(_, i)| **i);
    let mut other_labels: BTreeMap<String, u64> = BTreeMap::new();
    for (k, i) in extra {
        if let Some(label) = held_elsewhere.get(k) {
            *other_labels.entry(label.clone()).or_default() += 1;
            continue;
        }
        findings.push(AuditFinding {
            kind: "extra".into(),
            direction: "in".into(),
            object_id: k.0.clone(),
            modified: k.1.clone(),
            local_index: None,
            partner_index: Some(*i),
            detail: format!(
                "{} logged it as sent to `{me_there}`; not recorded as received here (a duplicate of a version held, or never received)",
                partner.name
            ),
        });
    }
    Ok(AuditReport {
        partner: partner.name.clone(),
        partner_size: cp.size,
        redacted,
        checked,
        findings,
        attributed,
        other_labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_ledger::{Checkpoint, Hash, LogSigner};

    #[test]
    fn a_checkpoint_signed_by_another_key_names_both_keys() {
        let old = LogSigner::from_seed("accord.b/log", &[1; 32]).unwrap();
        let new = LogSigner::from_seed("accord.b/log", &[2; 32]).unwrap();
        let cp = Checkpoint::new("accord.b/log", 5, Hash([3; 32])).unwrap();
        let note = new.sign(&cp).unwrap().note;
        let e = key_changed("b", &old.verifier(), &note).unwrap();
        let msg = e.to_string();
        assert!(msg.contains(&old.verifier_key()), "{msg}");
        assert!(
            msg.contains(&format!("accord.b/log+{:08x}", new.key_id())),
            "{msg}"
        );
        assert!(msg.contains("partner `b`"), "{msg}");
        // Signed by the key itself (its signature failing for another
        // reason) or malformed: not a key change.
        let own = old.sign(&cp).unwrap().note;
        assert!(key_changed("b", &old.verifier(), &own).is_none());
        assert!(key_changed("b", &old.verifier(), b"garbage").is_none());
    }
}
