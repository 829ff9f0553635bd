//! The exchange seam: the one place where objects cross the node's edge.
//!
//! Every inbound path (file ingest, TAXII POST, partner sync; later MISP
//! and the hotline) passes each object through [`Exchange::admit`]: parse,
//! validate against STIX 2.1, extract the indexed fields, then ask the
//! [`Policy`] whether this counterparty may give it. Every outbound path
//! (TAXII objects, one object, manifest and versions; later push,
//! sightings sent back, hotline messages) passes each object through
//! [`Exchange::release`], which answers [`Release::Send`],
//! [`Release::Redact`] (other bytes go out) or [`Release::Withhold`] (with
//! a reason); [`Exchange::out_records`] turns those answers into the `out`
//! records of the log, so the log says exactly what the seam decided.
//!
//! The default policy, [`SendAll`], admits every valid object and sends
//! every object unchanged: the agreements of the federation work plug in
//! here as another [`Policy`]. The seam does no I/O of its own and reads no
//! clock (the caller passes the time of the exchange); releasing takes the
//! caller's read handle of the store, through which the policy may look up
//! the objects a batch refers to (a reference's target, to give the
//! reference the id the target leaves with; a custom marking-definition, to
//! read its TLP level).

use std::sync::Arc;

use accord_ledger::{Decision, Direction, ExchangeRecord, Hash};
use accord_stix::{CommonProps, Doc, Issue, is_valid, validate_doc};
use accord_store::{ObjectMeta, ObjectRead, StoredObject};
use sha2::Digest;

/// Who is on the other side of an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counterparty<'a> {
    /// This node itself (a file ingested by its operator, demo data).
    Local,
    /// A configured partner, by name.
    Partner(&'a str),
    /// An account that is not a configured partner, by name.
    Account(&'a str),
}

impl Counterparty<'_> {
    /// The name the log's records give it (`None` for the node itself).
    pub fn label(&self) -> Option<&str> {
        match self {
            Counterparty::Local => None,
            Counterparty::Partner(n) | Counterparty::Account(n) => Some(n),
        }
    }
}

/// What the policy says about one object about to leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// Send the stored bytes unchanged.
    Send,
    /// Send these bytes instead; `fields` names what was removed or
    /// rewritten (JSON paths or property names).
    Redact {
        /// The object as it leaves.
        raw: String,
        /// What was removed or rewritten.
        fields: Vec<String>,
    },
    /// Do not send it.
    Withhold {
        /// Why: the agreement clause or rule.
        reason: String,
    },
}

/// The rules of the seam. Admitting sees one object at a time and does no
/// I/O; releasing sees a batch (a page, a push) and may read the store it
/// is given; a policy that needs state (agreements, a residency map) holds
/// it.
pub trait Policy: Send + Sync {
    /// Whether `from` may give this valid object. `Err` is the reason it
    /// is refused, recorded and reported to the sender.
    fn admit(&self, from: Counterparty<'_>, obj: &Doc<'_>) -> Result<(), String> {
        let _ = (from, obj);
        Ok(())
    }

    /// Whether `from` may give this valid object, with flags: `Ok` holds
    /// facts about an admitted object that the caller logs as warnings and
    /// records (e.g. a producer the agreement does not name), `Err` the
    /// reason it is refused. By default, [`Policy::admit`] with no flags.
    ///
    /// # Errors
    /// The reason the object is refused.
    fn assess(&self, from: Counterparty<'_>, obj: &Doc<'_>) -> Result<Vec<String>, String> {
        self.admit(from, obj).map(|()| Vec::new())
    }

    /// What of each of `objects` may leave for `to`, in order. `store` is
    /// for looking up other objects (the targets of references, the
    /// marking-definitions named); what the policy learns of it may be kept
    /// for this call (one batch), never longer, so a later batch sees later
    /// writes.
    fn release(
        &self,
        to: Counterparty<'_>,
        objects: &[StoredObject],
        store: &dyn ObjectRead,
    ) -> Vec<Release> {
        let _ = (to, store);
        vec![Release::Send; objects.len()]
    }
}

/// Admits every valid object and sends every object unchanged: a node with
/// no agreements configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendAll;

impl Policy for SendAll {}

/// Why an object was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The text is not a JSON object.
    Unparsable(String),
    /// It breaks rules of STIX 2.1 (the validator's issues; errors among
    /// them).
    Invalid(Vec<Issue>),
    /// It is valid, and the policy refuses it.
    Policy(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unparsable(e) => write!(f, "{e}"),
            Refusal::Invalid(issues) => {
                let mut first = true;
                for i in issues.iter().filter(|i| i.is_error()) {
                    if !first {
                        f.write_str("; ")?;
                    }
                    first = false;
                    write!(f, "{} {}: {}", i.rule, i.path, i.message)?;
                }
                Ok(())
            }
            Refusal::Policy(r) => write!(f, "refused by the exchange policy: {r}"),
        }
    }
}

/// An object that was not admitted: what could be read of it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Its `id`, when it has a string one.
    pub id: Option<String>,
    /// Its version key (`modified`, else `created`, else empty).
    pub version: String,
    /// Why.
    pub refusal: Refusal,
}

/// The outcome of admitting a parsed object: its indexed fields and every
/// issue the validator found (warnings included), or why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Valid and allowed: store it.
    Admitted {
        /// The fields the store indexes.
        meta: ObjectMeta,
        /// The validator's warnings (no errors).
        issues: Vec<Issue>,
        /// The policy's flags ([`Policy::assess`]): stored, and to be
        /// logged as warnings and reported.
        flags: Vec<String>,
    },
    /// Not stored.
    Rejected(Rejected),
}

/// The exchange seam of a node: its policy, applied to every object in and
/// out. Cheap to clone.
#[derive(Clone)]
pub struct Exchange {
    policy: Arc<dyn Policy>,
    limits: crate::limits::InputLimits,
    /// The hotline rule: a case's objects go only to its other party, and
    /// come only from it (`crate::hotline`). Checked before the policy.
    hotline: Option<Arc<crate::hotline::HotlineGate>>,
}

impl Default for Exchange {
    fn default() -> Exchange {
        Exchange::new(Arc::new(SendAll))
    }
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange").finish_non_exhaustive()
    }
}

impl Exchange {
    /// A seam applying `policy`.
    pub fn new(policy: Arc<dyn Policy>) -> Exchange {
        Exchange {
            policy,
            limits: crate::limits::InputLimits::default(),
            hotline: None,
        }
    }

    /// This seam holding every object received to `limits` (from
    /// `[limits]`: [`crate::config::Limits::input`]) instead of the
    /// defaults.
    #[must_use]
    pub fn with_limits(mut self, limits: crate::limits::InputLimits) -> Exchange {
        self.limits = limits;
        self
    }

    /// The bounds objects received are held to.
    pub fn limits(&self) -> &crate::limits::InputLimits {
        &self.limits
    }

    /// This seam with the hotline rule ([`crate::hotline::HotlineGate`]):
    /// a hotline object leaves only for the partner that is the case's
    /// other party (else withheld, `hotline: not a party`) and is admitted
    /// only from it, before the policy decides.
    #[must_use]
    pub fn with_hotline(mut self, gate: Arc<crate::hotline::HotlineGate>) -> Exchange {
        self.hotline = Some(gate);
        self
    }

    /// The policy's answers for `objects`, each after the hotline rule (a
    /// hotline object for a partner that is not party to its case is
    /// withheld whatever the agreement says).
    fn decide(
        &self,
        to: Counterparty<'_>,
        objects: &[StoredObject],
        store: &dyn ObjectRead,
    ) -> Vec<Release> {
        let mut out = self.policy.release(to, objects, store);
        if let Some(g) = &self.hotline {
            for (o, r) in objects.iter().zip(out.iter_mut()) {
                if let Some(reason) = g.withhold_for(to, o) {
                    *r = Release::Withhold { reason };
                }
            }
        }
        out
    }

    /// Validates a parsed object and asks the policy whether `from` may
    /// give it.
    pub fn admit_doc(&self, from: Counterparty<'_>, obj: &Doc<'_>) -> Admission {
        let (meta, issues) = inspect_with(obj, &self.limits.pattern);
        let rejected = |refusal| {
            Admission::Rejected(Rejected {
                id: obj.id().map(str::to_owned),
                version: obj.version_key().to_owned(),
                refusal,
            })
        };
        let Some(meta) = meta else {
            return rejected(if is_valid(&issues) {
                Refusal::Unparsable("the object has no string `id` or `type`".to_owned())
            } else {
                Refusal::Invalid(issues)
            });
        };
        if let Some(Err(reason)) = self.hotline.as_ref().map(|g| g.admit_from(from, obj)) {
            return rejected(Refusal::Policy(reason));
        }
        match self.policy.assess(from, obj) {
            Ok(flags) => Admission::Admitted {
                meta,
                issues,
                flags,
            },
            Err(reason) => rejected(Refusal::Policy(reason)),
        }
    }

    /// The policy step of [`Exchange::admit_doc`] alone, for a valid
    /// object: whether `from` may give it (`Err`: why not).
    ///
    /// # Errors
    /// The policy's reason for refusing the object.
    pub fn admits(&self, from: Counterparty<'_>, obj: &Doc<'_>) -> Result<(), String> {
        if let Some(g) = &self.hotline {
            g.admit_from(from, obj)?;
        }
        self.policy.admit(from, obj)
    }

    /// Parses `raw` as one object, then [`Exchange::admit_doc`].
    pub fn admit(&self, from: Counterparty<'_>, raw: &str) -> Admission {
        match Doc::parse_with_limits(raw, &self.limits.json) {
            Ok(obj) => self.admit_doc(from, &obj),
            Err(e) => Admission::Rejected(Rejected {
                id: None,
                version: String::new(),
                refusal: Refusal::Unparsable(e.to_string()),
            }),
        }
    }

    /// What of each object may leave for `to`, in order; `store` is read
    /// for the objects they refer to (see [`Policy::release`]).
    pub fn release(
        &self,
        to: Counterparty<'_>,
        objects: &[StoredObject],
        store: &dyn ObjectRead,
    ) -> Vec<Release> {
        self.decide(to, objects, store)
    }

    /// [`Exchange::release`] for a read that selected objects by their
    /// stored id (one object, its versions, `match[id]`): an object whose
    /// id the policy rewrote (a cyber-observable whose id derives from
    /// personal data) is withheld, since answering a question about the
    /// original id would confirm a guessed value.
    pub fn release_by_id(
        &self,
        to: Counterparty<'_>,
        objects: &[StoredObject],
        store: &dyn ObjectRead,
    ) -> Vec<Release> {
        objects
            .iter()
            .zip(self.decide(to, objects, store))
            .map(|(o, r)| match r {
                Release::Redact { raw, .. } if released_id(&raw).as_deref() != Some(&o.id) => {
                    Release::Withhold {
                        reason: "its id derives from data this partner may not see; \
                                 not served by that id"
                            .to_owned(),
                    }
                }
                r => r,
            })
            .collect()
    }

    /// The `out` records of `objects` released to `to` from `collection`
    /// at `time` (RFC 3339): one per object, with the decision taken and
    /// the SHA-256 of the bytes sent (of the stored bytes when withheld).
    pub fn out_records(
        to: Counterparty<'_>,
        collection: &str,
        objects: &[StoredObject],
        released: &[Release],
        time: &str,
    ) -> Vec<ExchangeRecord> {
        let partner = to.label().unwrap_or("local").to_owned();
        objects
            .iter()
            .zip(released)
            .map(|(o, r)| {
                let (bytes, decision) = match r {
                    Release::Send => (o.raw.as_bytes(), Decision::Sent),
                    Release::Redact { raw, fields } => (
                        raw.as_bytes(),
                        Decision::Redacted {
                            fields: fields.clone(),
                        },
                    ),
                    Release::Withhold { reason } => (
                        o.raw.as_bytes(),
                        Decision::Withheld {
                            reason: reason.clone(),
                        },
                    ),
                };
                ExchangeRecord {
                    direction: Direction::Out,
                    partner: Some(partner.clone()),
                    collection: collection.to_owned(),
                    object_id: o.id.clone(),
                    modified: o.modified.clone(),
                    sha256: Hash(sha2::Sha256::digest(bytes).into()).to_hex(),
                    decision,
                    time: time.to_owned(),
                    // The store gives each record a fresh salt.
                    salt: None,
                }
            })
            .collect()
    }
}

/// The validation step of [`Exchange::admit_doc`], on its own: every issue
/// the validator finds in `obj` and, when it is valid, the fields the store
/// indexes. File checking (`accord validate`, `accord ingest`) runs this,
/// then [`Exchange::admits`], keeping the warnings for its report.
///
/// An indicator whose `pattern_type` is `stix` must have a pattern that
/// parses within the default [`accord_pattern::Limits`] and passes the
/// validator's strict rules (as stix2-validator requires): a pattern that
/// nests too deep, is too long or has too many comparisons never reaches
/// the store, where every reader would have to skip it.
pub fn inspect(obj: &Doc<'_>) -> (Option<ObjectMeta>, Vec<Issue>) {
    inspect_with(obj, &accord_pattern::Limits::default())
}

/// [`inspect`] with an indicator's pattern held to `pattern_limits`
/// (the seam's: [`Exchange::limits`]).
pub fn inspect_with(
    obj: &Doc<'_>,
    pattern_limits: &accord_pattern::Limits,
) -> (Option<ObjectMeta>, Vec<Issue>) {
    let mut issues = validate_doc(obj);
    if let Some(issue) = pattern_issue(obj, pattern_limits) {
        issues.push(issue);
    }
    // A valid object has a string id and type, so it has indexed fields.
    let meta = if is_valid(&issues) {
        ObjectMeta::from_doc(obj)
    } else {
        None
    };
    (meta, issues)
}

/// The error of an indicator whose STIX pattern does not parse (strict
/// rules, within `limits`), if it is one.
fn pattern_issue(obj: &Doc<'_>, limits: &accord_pattern::Limits) -> Option<Issue> {
    if obj.get("type").and_then(|v| v.as_str()) != Some("indicator")
        || obj.get("pattern_type").and_then(|v| v.as_str()) != Some("stix")
    {
        return None;
    }
    let pattern = obj.get("pattern")?.as_str()?;
    let parsed = if obj.get("pattern_version").and_then(|v| v.as_str()) == Some("2.0") {
        accord_pattern::parse_v20_limited(pattern, limits)
    } else {
        accord_pattern::parse_strict_limited(pattern, limits)
    };
    let e = parsed.err()?;
    let mut issue = Issue::error(
        accord_stix::Rule::Pattern,
        accord_stix::JsonPath::root().key("pattern"),
        format!("the pattern is not valid STIX patterning: {e}"),
    );
    issue.object_id = obj.id().map(str::to_owned);
    Some(issue)
}

/// The `id` of an object as it leaves (`None` when it has no string id).
pub fn released_id(raw: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_str::<Id>(raw).ok().map(|i| i.id)
}

/// The bytes that leave for each released object, in order, skipping the
/// withheld ones.
pub fn sent_bytes<'a>(
    objects: &'a [StoredObject],
    released: &'a [Release],
) -> impl Iterator<Item = &'a str> {
    objects.iter().zip(released).filter_map(|(o, r)| match r {
        Release::Send => Some(o.raw.as_str()),
        Release::Redact { raw, .. } => Some(raw.as_str()),
        Release::Withhold { .. } => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Seam, check_text};

    const VALID: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}"#;

    /// Refuses everything from partner `b`.
    struct NotFromB;
    impl Policy for NotFromB {
        fn admit(&self, from: Counterparty<'_>, _: &Doc<'_>) -> Result<(), String> {
            match from {
                Counterparty::Partner("b") => Err("no agreement with b".into()),
                _ => Ok(()),
            }
        }
    }

    #[test]
    fn admit_validates_then_asks_the_policy() {
        let ex = Exchange::new(Arc::new(NotFromB));
        let Admission::Admitted { meta, issues, .. } = ex.admit(Counterparty::Partner("a"), VALID)
        else {
            panic!("refused")
        };
        assert_eq!(meta.type_name(), "indicator");
        assert!(issues.iter().all(|i| !i.is_error()));
        let Admission::Rejected(r) = ex.admit(Counterparty::Partner("b"), VALID) else {
            panic!("admitted")
        };
        assert_eq!(
            r.id.as_deref(),
            Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        );
        assert_eq!(r.version, "2016-04-06T20:03:48.000Z");
        assert_eq!(r.refusal, Refusal::Policy("no agreement with b".into()));
        // Invalid STIX is refused before the policy is asked.
        let invalid = VALID.replace(r#""pattern_type":"stix","#, "");
        let Admission::Rejected(r) = ex.admit(Counterparty::Partner("a"), &invalid) else {
            panic!("admitted")
        };
        assert!(matches!(r.refusal, Refusal::Invalid(_)), "{:?}", r.refusal);
        assert!(
            r.refusal.to_string().contains("pattern_type"),
            "{}",
            r.refusal
        );
        let Admission::Rejected(r) = ex.admit(Counterparty::Local, "[1]") else {
            panic!("admitted")
        };
        assert!(matches!(r.refusal, Refusal::Unparsable(_)));
        assert_eq!(r.id, None);
    }

    #[test]
    fn file_checks_take_the_same_steps() {
        let ex = Exchange::new(Arc::new(NotFromB));
        let ok = check_text(Seam::validation(), None, 0, VALID);
        assert!(ok.is_valid());
        let seam = Seam {
            exchange: &ex,
            from: Counterparty::Partner("b"),
            repeated_versions: false,
            feeds_writer: false,
        };
        let refused = check_text(seam, None, 0, VALID);
        assert!(!refused.is_valid());
        let issue = refused.issues.last().unwrap();
        assert_eq!(issue.rule, accord_stix::Rule::Policy);
        assert!(
            issue.message.contains("no agreement with b"),
            "{}",
            issue.message
        );
    }

    #[test]
    fn release_and_out_records_agree() {
        struct Mixed;
        impl Policy for Mixed {
            fn release(
                &self,
                _: Counterparty<'_>,
                objects: &[StoredObject],
                _: &dyn ObjectRead,
            ) -> Vec<Release> {
                objects
                    .iter()
                    .map(|o| match o.seq {
                        1 => Release::Send,
                        2 => Release::Redact {
                            raw: "{}".into(),
                            fields: vec!["pattern".into()],
                        },
                        _ => Release::Withhold {
                            reason: "TLP:RED".into(),
                        },
                    })
                    .collect()
            }
        }
        let obj = |seq: i64| StoredObject {
            seq,
            collection: "c".into(),
            id: format!("indicator--{seq}"),
            type_name: "indicator".into(),
            spec_version: "2.1".into(),
            created: None,
            modified: Some("2016-04-06T20:03:48.000Z".into()),
            version: String::new(),
            date_added: String::new(),
            origin: "local".into(),
            markings: vec![],
            sha256: [0; 32],
            raw: format!("{{\"n\":{seq}}}"),
        };
        let objects = [obj(1), obj(2), obj(3)];
        let ex = Exchange::new(Arc::new(Mixed));
        let to = Counterparty::Partner("b");
        let dir = tempfile::tempdir().unwrap();
        let store = accord_store::SqliteStore::open(dir.path()).unwrap();
        let released = ex.release(to, &objects, &store);
        let sent: Vec<&str> = sent_bytes(&objects, &released).collect();
        assert_eq!(sent, [r#"{"n":1}"#, "{}"]);
        let records =
            Exchange::out_records(to, "coll", &objects, &released, "2026-12-06T00:00:00Z");
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].decision, Decision::Sent);
        assert_eq!(
            records[1].decision,
            Decision::Redacted {
                fields: vec!["pattern".into()]
            }
        );
        assert_eq!(
            records[2].decision,
            Decision::Withheld {
                reason: "TLP:RED".into()
            }
        );
        // The hash is of what left: the redacted bytes, not the stored ones.
        assert_eq!(
            records[1].sha256,
            Hash(sha2::Sha256::digest(b"{}").into()).to_hex()
        );
        for r in &records {
            assert_eq!(r.partner.as_deref(), Some("b"));
            r.validate().unwrap();
        }
    }
}
