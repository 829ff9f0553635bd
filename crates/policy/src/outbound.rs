//! The release decision: what of one object may leave for one partner.
//!
//! [`OutboundPolicy::decide`] is the fast step (metadata, then one scan of
//! the JSON text, no tree): [`Decision::Send`], [`Decision::Withhold`] with
//! the clause in plain words, or [`Decision::Rewrite`] with the categories
//! found and where. [`OutboundPolicy::rewrite`] then builds the bytes that
//! leave; [`OutboundPolicy::release`] does both.
//!
//! The checks, in order: the collection (`outbound.collections`), the type
//! (`outbound.types`), sightings (`outbound.sightings`), the origin (an
//! object received from this partner never goes back to it), then from the
//! scan: TLP (RED never leaves; above `outbound.max_tlp` is withheld),
//! onward sharing (an object received from a third partner leaves only as
//! far as that partner's `inbound.onward` allows: `clear` or `green`, never
//! AMBER or AMBER+STRICT; `none` by default), labels
//! (`labels_exclude`, then `labels_include`), and the data categories.

use crate::agreement::CategoryAction;
use crate::agreement::{Onward, Outbound, Tlp, TypeSet};
use crate::key::PartnerKey;
use crate::rewrite::{RewriteCtx, action_for, rewrite, withhold_reason};
use crate::rules::{Cats, Rules};
use crate::scan::scan;
use std::collections::HashMap;
use std::sync::Arc;

/// An object about to leave, as the store holds it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Its `type`.
    pub type_name: &'a str,
    /// The local collection (store name) it is read from.
    pub collection: &'a str,
    /// Where it came from (the store's `origin`: `partner:NAME` for what a
    /// partner sent).
    pub origin: &'a str,
    /// Its JSON text.
    pub raw: &'a str,
}

/// The fast step's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send the stored bytes.
    Send,
    /// Rewrite first: the categories found (not all allowed) and the
    /// object's properties holding them.
    Rewrite {
        /// Categories found.
        cats: Cats,
        /// Top-level properties holding them.
        fields: Vec<String>,
    },
    /// Do not send: the clause, in plain words.
    Withhold(String),
}

/// What leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The stored bytes.
    Send,
    /// Other bytes; `fields` names what was removed or rewritten (JSON
    /// paths).
    Redact {
        /// The object as it leaves.
        raw: String,
        /// What changed.
        fields: Vec<String>,
    },
    /// Nothing.
    Withhold {
        /// Why, in plain words.
        reason: String,
    },
}

/// Which partner an origin stands for, and what that partner lets this
/// node share onward. Built once from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    by_origin: HashMap<String, (String, Onward)>,
}

impl Origins {
    /// No partners.
    pub fn new() -> Origins {
        Origins::default()
    }

    /// Objects whose origin is `origin` came from `partner`, whose
    /// agreement allows `onward` sharing. `partner:NAME` is the origin the
    /// node gives; add older spellings (`taxii:ACCOUNT`) as needed.
    pub fn insert(
        &mut self,
        origin: impl Into<String>,
        partner: impl Into<String>,
        onward: Onward,
    ) {
        self.by_origin
            .insert(origin.into(), (partner.into(), onward));
    }

    /// The partner an origin names: a known one with its onward rule, or,
    /// for `partner:NAME` of a partner no longer configured, the name with
    /// no onward sharing.
    pub fn partner_of<'a>(&'a self, origin: &'a str) -> Option<(&'a str, Onward)> {
        if let Some((p, o)) = self.by_origin.get(origin) {
            return Some((p, *o));
        }
        origin.strip_prefix("partner:").map(|p| (p, Onward::None))
    }
}

fn type_allowed(types: &TypeSet, ty: &str) -> bool {
    types.0.iter().any(|t| t == "*" || t == ty)
}

/// The release policy towards one partner.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    partner: String,
    out: Outbound,
    rules: Arc<Rules>,
    key: PartnerKey,
    origins: Arc<Origins>,
}

impl OutboundPolicy {
    /// The policy of `out` towards `partner`.
    pub fn new(
        partner: impl Into<String>,
        out: Outbound,
        rules: Arc<Rules>,
        key: PartnerKey,
        origins: Arc<Origins>,
    ) -> OutboundPolicy {
        OutboundPolicy {
            partner: partner.into(),
            out,
            rules,
            key,
            origins,
        }
    }

    /// The partner's name.
    pub fn partner(&self) -> &str {
        &self.partner
    }

    /// The fast step.
    pub fn decide(&self, c: &Candidate<'_>) -> Decision {
        let p = &self.partner;
        let out = &self.out;
        if !out.collections.is_empty() && !out.collections.iter().any(|x| x == c.collection) {
            return Decision::Withhold(format!(
                "collection `{}` is not among the collections shared with {p} (outbound.collections)",
                c.collection
            ));
        }
        if !type_allowed(&out.types, c.type_name) {
            return Decision::Withhold(format!(
                "type `{}` is not among the types sent to {p} (outbound.types)",
                c.type_name
            ));
        }
        if c.type_name == "sighting" && !out.sightings {
            return Decision::Withhold(format!(
                "sightings are not sent to {p} (outbound.sightings = false)"
            ));
        }
        let from = self.origins.partner_of(c.origin);
        if let Some((from, _)) = from
            && from == p
        {
            return Decision::Withhold(format!(
                "received from {p}: an object is never sent back to the partner it came from"
            ));
        }
        let want_labels = !out.labels_include.is_empty() || !out.labels_exclude.is_empty();
        let s = match scan(c.raw, c.type_name, &self.rules, want_labels) {
            Ok(s) => s,
            Err(e) => return Decision::Withhold(format!("{e}; nothing unread leaves")),
        };
        if s.tlp == Tlp::Red {
            return Decision::Withhold("TLP:RED never leaves this node".to_owned());
        }
        if s.tlp > out.max_tlp {
            return Decision::Withhold(format!(
                "{} is above {}, the highest TLP sent to {p} (outbound.max_tlp)",
                s.tlp, out.max_tlp
            ));
        }
        if let Some((from, onward)) = from {
            let limit = match onward {
                Onward::None => None,
                Onward::Clear => Some(Tlp::Clear),
                Onward::Green => Some(Tlp::Green),
            };
            match limit {
                None => {
                    return Decision::Withhold(format!(
                        "received from {from}, whose agreement allows no onward sharing (partners.{from}.inbound.onward = none)"
                    ));
                }
                Some(l) if s.tlp > l => {
                    return Decision::Withhold(format!(
                        "received from {from} as {}; its agreement allows onward sharing only up to {l}{}",
                        s.tlp,
                        if s.tlp >= Tlp::Amber {
                            " (AMBER never goes onward)"
                        } else {
                            ""
                        }
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(l) = s.labels.iter().find(|l| out.labels_exclude.contains(l)) {
            return Decision::Withhold(format!(
                "label `{l}` is excluded from what is sent to {p} (outbound.labels_exclude)"
            ));
        }
        if !out.labels_include.is_empty()
            && !s.labels.iter().any(|l| out.labels_include.contains(l))
        {
            return Decision::Withhold(format!(
                "none of its labels is among those sent to {p} (outbound.labels_include)"
            ));
        }
        if s.cats == 0 || action_for(s.cats, &out.categories) == CategoryAction::Allow {
            return Decision::Send;
        }
        if let Some(r) = withhold_reason(s.cats, &out.categories, p, &s.fields.join("`, `")) {
            return Decision::Withhold(r);
        }
        Decision::Rewrite {
            cats: s.cats,
            fields: s.fields,
        }
    }

    /// The bytes that leave for a [`Decision::Rewrite`] (for the other
    /// decisions, their outcome).
    pub fn rewrite(&self, c: &Candidate<'_>, d: Decision) -> Outcome {
        match d {
            Decision::Send => Outcome::Send,
            Decision::Withhold(reason) => Outcome::Withhold { reason },
            Decision::Rewrite { .. } => {
                let ctx = RewriteCtx {
                    rules: &self.rules,
                    actions: &self.out.categories,
                    key: &self.key,
                    partner: &self.partner,
                };
                match rewrite(c.raw, c.type_name, ctx) {
                    Ok((raw, fields)) if fields.is_empty() => {
                        // Found only where the rewrite allows it.
                        let _ = raw;
                        Outcome::Send
                    }
                    Ok((raw, fields)) => Outcome::Redact { raw, fields },
                    Err(reason) => Outcome::Withhold { reason },
                }
            }
        }
    }

    /// [`OutboundPolicy::decide`], then [`OutboundPolicy::rewrite`].
    pub fn release(&self, c: &Candidate<'_>) -> Outcome {
        let d = self.decide(c);
        self.rewrite(c, d)
    }
}
