//! The partners' agreements as the exchange seam's [`Policy`]: what each
//! partner may receive (`[partners.outbound]`, the node's `[residency]`)
//! and may send (`[partners.inbound]`), decided by `accord-policy`.
//!
//! - [`Counterparty::Partner`]: that partner's agreement, both ways; a
//!   partner without an entry here (not in the configuration) receives
//!   nothing and may send nothing.
//! - [`Counterparty::Local`] and [`Counterparty::Account`] (the node's own
//!   operator and users): every object is sent as stored, every valid
//!   object admitted.
//!
//! References and markings: releasing a batch for a partner reads the store
//! through a [`StoreResolver`] (the `accord_policy::Resolver` of that
//! batch): a reference to a personal observable becomes the id its target
//! leaves with for the same partner (the target's latest version, released
//! by the same agreement); a marking ref that is not a standard TLP id is
//! looked up and read as a TLP level (a marking-definition the store does
//! not hold withholds the object). Answers are kept for the batch only, at
//! most [`RESOLVER_CACHE`] of each kind.
//!
//! Pseudonyms are HMAC-SHA-256 under a per-partner key, HMAC(node secret,
//! partner name); the node secret is 32 random bytes in
//! `DATA_DIR/pseudonym.key` (mode 0600), created on first use. Losing it
//! changes every pseudonym; copying it to another node makes that node's
//! pseudonyms the same as this one's.

use crate::config::Config;
use crate::exchange::{Counterparty, Exchange, Policy, Release};
use accord_policy::resolve::definition_marking;
use accord_policy::{
    Candidate, InboundPolicy, Marking, MarkingsOnly, Origins, OutboundPolicy, Outcome, PartnerKey,
    Resolver, Rules, RulesError,
};
use accord_stix::{CommonProps, Doc};
use accord_store::{ObjectRead, Query, StoredObject, VersionFilter};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file holding the node's pseudonym secret, in the data directory.
pub const SECRET_FILE: &str = "pseudonym.key";

/// Why the agreements cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    /// The node's warninglists cannot be read (nothing is released without
    /// them: they decide what is withheld).
    #[error("the node's warninglists: {0}")]
    Warninglists(String),
    /// `[residency]` cannot be read.
    #[error("accord.toml [residency]: {0}")]
    Residency(#[from] RulesError),
    /// The secret file cannot be read or created.
    #[error("pseudonym secret {path}: {source}")]
    Secret {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The secret file has the wrong size.
    #[error(
        "pseudonym secret {path}: {len} bytes, expected 32 (remove it only if no pseudonym sent so far must stay stable)"
    )]
    SecretSize {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: usize,
    },
    /// No randomness for a new secret.
    #[error("pseudonym secret {path}: no randomness from the system: {message}")]
    Random {
        /// The file.
        path: PathBuf,
        /// getrandom's message.
        message: String,
    },
}

/// The node's pseudonym secret: read from `DATA_DIR/pseudonym.key`, or
/// created there (32 random bytes, mode 0600) when absent.
///
/// # Errors
/// [`AgreementError`] naming the file when it cannot be read, created or
/// has the wrong size.
pub fn node_secret(data_dir: &Path) -> Result<[u8; 32], AgreementError> {
    let path = data_dir.join(SECRET_FILE);
    let io = |source| AgreementError::Secret {
        path: path.clone(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            return <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                AgreementError::SecretSize {
                    path: path.clone(),
                    len: bytes.len(),
                }
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| AgreementError::Random {
        path: path.clone(),
        message: e.to_string(),
    })?;
    std::fs::create_dir_all(data_dir).map_err(io)?;
    match crate::secret_file::create_once(&path, &secret) {
        Ok(true) => Ok(secret),
        // Another process created it first: use that one.
        Ok(false) => node_secret(data_dir),
        Err(e) => Err(io(e)),
    }
}

/// The agreements of a configuration, as the seam's policy.
#[derive(Debug)]
pub struct AgreementPolicy {
    outbound: HashMap<String, OutboundPolicy>,
    inbound: HashMap<String, InboundPolicy>,
    /// The node's warninglists: an indicator on one is withheld unless the
    /// partner's agreement says `warninglisted = "send"` (read once per
    /// release; a live source follows `accord warninglist update`).
    warninglists: Option<Arc<crate::warninglists::LiveLists>>,
}

impl AgreementPolicy {
    /// The policy of `config`'s partners and residency, pseudonyms keyed by
    /// `secret`.
    ///
    /// # Errors
    /// [`AgreementError::Residency`] when `[residency]` names a range or
    /// path that cannot be read.
    pub fn new(config: &Config, secret: &[u8; 32]) -> Result<AgreementPolicy, AgreementError> {
        let rules = Arc::new(Rules::new(&config.residency)?);
        let mut origins = Origins::new();
        for p in &config.partners {
            origins.insert(format!("partner:{}", p.name), &p.name, p.inbound.onward);
            // Rows stored before origins named partners.
            let account = p.account.as_deref().unwrap_or(&p.name);
            origins.insert(format!("taxii:{account}"), &p.name, p.inbound.onward);
        }
        let origins = Arc::new(origins);
        let mut outbound = HashMap::new();
        let mut inbound = HashMap::new();
        for p in &config.partners {
            outbound.insert(
                p.name.clone(),
                OutboundPolicy::new(
                    &p.name,
                    p.outbound.clone(),
                    Arc::clone(&rules),
                    PartnerKey::derive(secret, &p.name),
                    Arc::clone(&origins),
                ),
            );
            inbound.insert(
                p.name.clone(),
                InboundPolicy::new(&p.name, p.inbound.clone()),
            );
        }
        Ok(AgreementPolicy {
            outbound,
            inbound,
            warninglists: None,
        })
    }

    /// The same policy, with the node's warninglists (see
    /// [`crate::warninglists`]) deciding which indicators are flagged.
    pub fn with_warninglists(
        mut self,
        lists: Option<Arc<accord_warninglist::WarninglistSet>>,
    ) -> AgreementPolicy {
        self.warninglists = lists.map(|set| {
            Arc::new(crate::warninglists::LiveLists::fixed(Some(
                crate::warninglists::NodeLists {
                    set,
                    sha256: String::new(),
                },
            )))
        });
        self
    }

    /// The same policy, with the node's lists as they are when each batch
    /// is released (see [`crate::warninglists::LiveLists`]).
    pub fn with_live_warninglists(
        mut self,
        lists: Arc<crate::warninglists::LiveLists>,
    ) -> AgreementPolicy {
        self.warninglists = Some(lists);
        self
    }
}

/// At most this many answers of each kind (released ids, markings) are
/// kept by one [`StoreResolver`]; beyond, each question reads the store.
pub const RESOLVER_CACHE: usize = 4096;

/// At most this many referenced objects are read from the store for one
/// batch; references beyond fall back (a crafted page naming thousands of
/// distinct observables costs a bounded number of reads).
pub const RESOLVER_READS: usize = 8192;

/// At most this many stored copies of one id (one per collection, latest
/// version) are read to answer for it.
const MAX_COPIES: usize = 16;

/// The resolver of one batch released to one partner: answers the policy's
/// questions about other objects from the store.
///
/// - [`Resolver::released_id`]: every collection's latest version of the
///   id (at most 16), each released by the partner's agreement (its
///   markings resolved, its own references not: see
///   `accord_policy::resolve`); the first one released gives the id (all
///   copies of an observable share its values, so their released ids
///   agree). None released, none held, the store failing, or more than
///   [`RESOLVER_READS`] objects read for the batch already: `None`, and
///   the reference falls back.
/// - [`Resolver::marking`]: every stored copy of the marking-definition,
///   read with `accord_policy::resolve::definition_marking`; the highest
///   TLP level among them counts (a copy elsewhere can raise the level,
///   never lower it); none held, one unreadable, or the store failing:
///   [`Marking::Unknown`] (the object is withheld).
pub struct StoreResolver<'a> {
    policy: &'a OutboundPolicy,
    store: &'a dyn ObjectRead,
    ids: RefCell<HashMap<String, Option<String>>>,
    markings: RefCell<HashMap<String, Marking>>,
    reads: std::cell::Cell<usize>,
}

impl std::fmt::Debug for StoreResolver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreResolver")
            .field("partner", &self.policy.partner())
            .finish_non_exhaustive()
    }
}

impl<'a> StoreResolver<'a> {
    /// The resolver of one batch for `policy`'s partner, reading `store`.
    pub fn new(policy: &'a OutboundPolicy, store: &'a dyn ObjectRead) -> StoreResolver<'a> {
        StoreResolver {
            policy,
            store,
            ids: RefCell::new(HashMap::new()),
            markings: RefCell::new(HashMap::new()),
            reads: std::cell::Cell::new(0),
        }
    }

    /// Every collection's latest version of `id` (at most [`MAX_COPIES`]).
    fn copies(&self, id: &str) -> Result<Vec<StoredObject>, accord_store::StoreError> {
        let q = Query {
            ids: vec![id.to_owned()],
            versions: VersionFilter::last(),
            ..Query::default()
        };
        Ok(self.store.query(&q, MAX_COPIES)?.objects)
    }

    fn lookup_released(&self, old_id: &str) -> Option<String> {
        if self.reads.get() >= RESOLVER_READS {
            return None;
        }
        self.reads.set(self.reads.get() + 1);
        let copies = match self.copies(old_id) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    partner = self.policy.partner(),
                    id = old_id,
                    "reading a referenced object failed; the reference falls back: {e}"
                );
                return None;
            }
        };
        copies.iter().find_map(|o| {
            let c = Candidate {
                type_name: &o.type_name,
                collection: &o.collection,
                origin: &o.origin,
                raw: &o.raw,
                // The resolver asks only about referenced observables'
                // released ids (personal values rewritten per partner),
                // never about indicators, which no warninglist changes.
                warninglisted: None,
            };
            match self.policy.release(&c, &MarkingsOnly(self)) {
                Outcome::Send => Some(o.id.clone()),
                Outcome::Redact { raw, .. } => crate::exchange::released_id(&raw),
                Outcome::Withhold { .. } => None,
            }
        })
    }

    fn lookup_marking(&self, id: &str) -> Marking {
        let copies = match self.copies(id) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    id,
                    "reading a marking-definition failed; objects it marks are withheld: {e}"
                );
                return Marking::Unknown;
            }
        };
        let mut level = None;
        let mut other = false;
        for o in &copies {
            match definition_marking(&o.raw) {
                Marking::Tlp(t) => level = level.max(Some(t)),
                Marking::Other => other = true,
                Marking::Unknown => return Marking::Unknown,
            }
        }
        match (level, other) {
            (Some(t), _) => Marking::Tlp(t),
            (None, true) => Marking::Other,
            (None, false) => Marking::Unknown,
        }
    }
}

impl Resolver for StoreResolver<'_> {
    fn released_id(&self, partner: &str, old_id: &str) -> Option<String> {
        if partner != self.policy.partner() {
            // A resolver answers for its own partner only.
            return None;
        }
        if let Some(r) = self.ids.borrow().get(old_id) {
            return r.clone();
        }
        let r = self.lookup_released(old_id);
        let mut ids = self.ids.borrow_mut();
        if ids.len() < RESOLVER_CACHE {
            ids.insert(old_id.to_owned(), r.clone());
        }
        r
    }

    fn marking(&self, id: &str) -> Marking {
        if let Some(m) = self.markings.borrow().get(id) {
            return *m;
        }
        let m = self.lookup_marking(id);
        let mut ms = self.markings.borrow_mut();
        if ms.len() < RESOLVER_CACHE {
            ms.insert(id.to_owned(), m);
        }
        m
    }
}

impl Policy for AgreementPolicy {
    fn admit(&self, from: Counterparty<'_>, obj: &Doc<'_>) -> Result<(), String> {
        self.assess(from, obj).map(|_| ())
    }

    fn assess(&self, from: Counterparty<'_>, obj: &Doc<'_>) -> Result<Vec<String>, String> {
        let Counterparty::Partner(name) = from else {
            return Ok(Vec::new());
        };
        let Some(p) = self.inbound.get(name) else {
            return Err(format!("no agreement with partner `{name}`"));
        };
        p.check(obj.type_name().unwrap_or(""), obj.text())
    }

    fn release(
        &self,
        to: Counterparty<'_>,
        objects: &[StoredObject],
        store: &dyn ObjectRead,
    ) -> Vec<Release> {
        let Counterparty::Partner(name) = to else {
            return vec![Release::Send; objects.len()];
        };
        let Some(p) = self.outbound.get(name) else {
            let reason = format!("no agreement with partner `{name}`");
            return vec![Release::Withhold { reason }; objects.len()];
        };
        let resolver = StoreResolver::new(p, store);
        let lists = self.warninglists.as_ref().and_then(|l| l.set());
        objects
            .iter()
            .map(|obj| {
                // Only indicators carry a value a warninglist speaks of.
                let listed = match &lists {
                    Some(set) if obj.type_name == "indicator" => {
                        let hits = crate::warninglists::indicator_hits(set, &obj.raw);
                        (!hits.is_empty())
                            .then(|| hits.iter().map(|h| &*h.list).collect::<Vec<_>>().join(","))
                    }
                    _ => None,
                };
                let c = Candidate {
                    type_name: &obj.type_name,
                    collection: &obj.collection,
                    origin: &obj.origin,
                    raw: &obj.raw,
                    warninglisted: listed.as_deref(),
                };
                match p.release(&c, &resolver) {
                    Outcome::Send => Release::Send,
                    Outcome::Redact { raw, fields } => Release::Redact { raw, fields },
                    Outcome::Withhold { reason } => Release::Withhold { reason },
                }
            })
            .collect()
    }
}

/// The exchange seam of a node with `config`: [`AgreementPolicy`] when
/// partners are configured (the secret read or created in `data_dir`),
/// else [`crate::exchange::SendAll`] (the node's warninglists, from
/// `data_dir`, flag indicators for the agreements); objects received are held to its
/// `[limits]` ([`crate::config::Limits::input`]).
///
/// # Errors
/// [`AgreementError`] when the residency rules or the secret cannot be
/// used.
pub fn exchange_for(config: &Config, data_dir: &Path) -> Result<Exchange, AgreementError> {
    let limits = config.limits.input();
    if config.partners.is_empty() {
        return Ok(Exchange::default().with_limits(limits));
    }
    let secret = node_secret(data_dir)?;
    let lists = crate::warninglists::LiveLists::open(data_dir)
        .map_err(|e| AgreementError::Warninglists(e.to_string()))?;
    Ok(Exchange::new(Arc::new(
        AgreementPolicy::new(config, &secret)?.with_live_warninglists(Arc::new(lists)),
    ))
    .with_limits(limits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_policy::{Categories, CategoryAction, Outbound, Residency, Tlp};
    use accord_store::{NewObject, ObjectMeta, SqliteStore};

    fn put(store: &SqliteStore, collection: &str, raw: &str) {
        let doc = Doc::parse(raw).unwrap();
        let meta = ObjectMeta::from_doc(&doc).unwrap();
        let new: NewObject<'_> = meta.new_object(raw, collection, "local");
        store.writer().put_batch(&[new]).unwrap();
    }

    fn email(value: &str) -> (String, String) {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), "email-addr".into());
        m.insert("spec_version".into(), "2.1".into());
        m.insert("value".into(), value.into());
        let id =
            accord_stix::deterministic_sco_id(&accord_stix::Object::from_map(m.clone())).unwrap();
        m.insert("id".into(), id.clone().into());
        (id, serde_json::Value::Object(m).to_string())
    }

    fn policy() -> OutboundPolicy {
        OutboundPolicy::new(
            "eu",
            Outbound {
                max_tlp: Tlp::Amber,
                collections: vec!["shared".into()],
                categories: Categories {
                    personal: CategoryAction::Pseudonymise,
                    ..Categories::default()
                },
                ..Outbound::default()
            },
            Arc::new(Rules::new(&Residency::default()).unwrap()),
            PartnerKey::derive(&[5; 32], "eu"),
            Arc::new(Origins::new()),
        )
    }

    const T: &str = "2026-01-01T00:00:00.000Z";

    fn marking(id: &str, body: &str) -> String {
        format!(
            r#"{{"type":"marking-definition","spec_version":"2.1","id":"{id}","created":"{T}",{body}}}"#
        )
    }

    #[test]
    fn the_store_resolver_answers_from_every_collection() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let (shared, shared_raw) = email("a@corp.example");
        let (secret, secret_raw) = email("b@corp.example");
        let (both, both_raw) = email("c@corp.example");
        put(&store, "shared", &shared_raw);
        put(&store, "secret", &secret_raw);
        put(&store, "secret", &both_raw);
        put(&store, "shared", &both_raw);
        let red = "marking-definition--00000000-0000-4000-8000-0000000000a1";
        let stmt = "marking-definition--00000000-0000-4000-8000-0000000000a2";
        // One copy says RED (OpenCTI style), another (elsewhere) names
        // itself CLEAR: the higher counts.
        put(
            &store,
            "secret",
            &marking(
                red,
                r#""definition_type":"TLP","definition":{"TLP":"TLP:RED"}"#,
            ),
        );
        put(
            &store,
            "other",
            &marking(
                red,
                r#""name":"TLP:CLEAR","definition_type":"statement","definition":{"statement":"x"}"#,
            ),
        );
        put(
            &store,
            "shared",
            &marking(
                stmt,
                r#""definition_type":"statement","definition":{"statement":"Copyright"}"#,
            ),
        );

        let pol = policy();
        let r = StoreResolver::new(&pol, &store);
        let got = r.released_id("eu", &shared).unwrap();
        assert_ne!(got, shared);
        // It is the id the object leaves with when read itself.
        let c = Candidate {
            type_name: "email-addr",
            collection: "shared",
            origin: "local",
            raw: &shared_raw,
            warninglisted: None,
        };
        let Outcome::Redact { raw, .. } = pol.release(&c, &accord_policy::Unresolved) else {
            panic!("not redacted")
        };
        assert_eq!(crate::exchange::released_id(&raw), Some(got.clone()));
        // Cached: the same answer again.
        assert_eq!(r.released_id("eu", &shared), Some(got));
        // Held only where this partner is not sent: withheld, no id.
        assert_eq!(r.released_id("eu", &secret), None);
        // Held in both: the shared copy answers.
        assert!(r.released_id("eu", &both).is_some());
        // Not held; or asked for another partner.
        assert_eq!(
            r.released_id("eu", "email-addr--00000000-0000-5000-8000-000000000000"),
            None
        );
        assert_eq!(r.released_id("us", &shared), None);

        assert_eq!(r.marking(red), Marking::Tlp(Tlp::Red));
        assert_eq!(r.marking(stmt), Marking::Other);
        assert_eq!(
            r.marking("marking-definition--00000000-0000-4000-8000-0000000000ff"),
            Marking::Unknown
        );
    }
}
