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
//!
//! Every step takes a [`Resolver`]: the caller's answers about other
//! objects. A marking ref that is not a standard TLP id counts with the
//! level of the marking-definition it names ([`Resolver::marking`]); one
//! the resolver cannot read withholds the object (see [`crate::resolve`]).
//! References to personal observables become the ids their targets leave
//! with ([`Resolver::released_id`], see [`crate::rewrite`]).

use crate::agreement::CategoryAction;
use crate::agreement::{Onward, Outbound, Tlp, TypeSet, Warninglisted};
use crate::key::PartnerKey;
use crate::resolve::{Marking, Resolver};
use crate::rewrite::{RewriteCtx, action_for, rewrite, withhold_reason};
use crate::rules::{Cats, Rules};
use crate::scan::{MAX_OTHER_MARKINGS, scan};
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
    /// The names of the warninglists a value of it is on (an indicator's
    /// pattern constant), comma-separated, as the caller found them; `None`
    /// when on none (or not checked). Withheld unless the agreement says
    /// `warninglisted = "send"`.
    pub warninglisted: Option<&'a str>,
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

/// The level `tlp` raised by the marking refs that are not standard TLP
/// ids, as `r` reads them; `Err` the reason the object is withheld (RED
/// among them is left to the caller's RED check, which names it).
#[cold]
fn other_markings(mut tlp: Tlp, refs: &[String], r: &dyn Resolver) -> Result<Tlp, String> {
    if refs.len() > MAX_OTHER_MARKINGS {
        return Err(format!(
            "more than {MAX_OTHER_MARKINGS} marking-definitions other than the standard TLP ones mark it; an object whose markings are not all read does not leave"
        ));
    }
    let mut unreadable = None;
    for m in refs {
        match r.marking(m) {
            Marking::Tlp(t) => tlp = tlp.max(t),
            Marking::Other => {}
            Marking::Unknown => {
                unreadable.get_or_insert(m);
            }
        }
    }
    match unreadable {
        Some(m) if tlp != Tlp::Red => Err(format!(
            "marking `{m}` is not a marking-definition this node holds, or its TLP level cannot be read; an object whose marking cannot be read does not leave (it could be TLP:RED)"
        )),
        _ => Ok(tlp),
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

    /// The fast step. `r` resolves marking refs that are not standard TLP
    /// ids (looked up only for such refs).
    pub fn decide(&self, c: &Candidate<'_>, r: &dyn Resolver) -> Decision {
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
        let tlp = if s.other_markings.is_empty() {
            s.tlp
        } else {
            match other_markings(s.tlp, &s.other_markings, r) {
                Ok(t) => t,
                Err(reason) => return Decision::Withhold(reason),
            }
        };
        if tlp == Tlp::Red {
            return Decision::Withhold("TLP:RED never leaves this node".to_owned());
        }
        if tlp > out.max_tlp {
            return Decision::Withhold(format!(
                "{} is above {}, the highest TLP sent to {p} (outbound.max_tlp)",
                tlp, out.max_tlp
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
                Some(l) if tlp > l => {
                    return Decision::Withhold(format!(
                        "received from {from} as {}; its agreement allows onward sharing only up to {l}{}",
                        tlp,
                        if tlp >= Tlp::Amber {
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
        if let Some(lists) = c.warninglisted
            && out.warninglisted == Warninglisted::Withhold
        {
            return Decision::Withhold(format!(
                "warninglist:{lists}: a value of it is on the node's MISP warninglist(s) {lists} (outbound.warninglisted = withhold)"
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
    /// `r` gives the ids that referenced objects leave with.
    pub fn rewrite(&self, c: &Candidate<'_>, d: Decision, r: &dyn Resolver) -> Outcome {
        match d {
            Decision::Send => Outcome::Send,
            Decision::Withhold(reason) => Outcome::Withhold { reason },
            Decision::Rewrite { .. } => {
                let ctx = RewriteCtx {
                    rules: &self.rules,
                    actions: &self.out.categories,
                    key: &self.key,
                    partner: &self.partner,
                    resolver: r,
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
    pub fn release(&self, c: &Candidate<'_>, r: &dyn Resolver) -> Outcome {
        let d = self.decide(c, r);
        self.rewrite(c, d, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agreement::{Categories, Residency};
    use crate::resolve::{Unresolved, definition_marking};

    const T: &str = "2026-01-01T00:00:00.000Z";

    /// Marking-definitions and released ids, by id.
    #[derive(Default)]
    struct Known {
        defs: HashMap<String, String>,
        released: HashMap<String, String>,
    }

    impl Resolver for Known {
        fn released_id(&self, partner: &str, old_id: &str) -> Option<String> {
            assert_eq!(partner, "eu");
            self.released.get(old_id).cloned()
        }
        fn marking(&self, id: &str) -> Marking {
            self.defs
                .get(id)
                .map_or(Marking::Unknown, |raw| definition_marking(raw))
        }
    }

    fn policy(max_tlp: Tlp, personal: CategoryAction) -> OutboundPolicy {
        OutboundPolicy::new(
            "eu",
            Outbound {
                max_tlp,
                categories: Categories {
                    personal,
                    ..Categories::default()
                },
                ..Outbound::default()
            },
            Arc::new(Rules::new(&Residency::default()).unwrap()),
            PartnerKey::derive(&[3; 32], "eu"),
            Arc::new(Origins::new()),
        )
    }

    fn indicator(markings: &[&str]) -> String {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": T, "modified": T, "pattern": "[domain-name:value = 'x.example']",
            "pattern_type": "stix", "valid_from": T,
            "object_marking_refs": markings,
        })
        .to_string()
    }

    fn cand(raw: &str) -> Candidate<'_> {
        Candidate {
            type_name: serde_json::from_str::<serde_json::Value>(raw).unwrap()["type"]
                .as_str()
                .map(|t| {
                    if t == "indicator" {
                        "indicator"
                    } else {
                        "observed-data"
                    }
                })
                .unwrap(),
            collection: "c",
            origin: "local",
            raw,
            warninglisted: None,
        }
    }

    const RED1: &str = "marking-definition--0000000a-0000-4000-8000-000000000001";
    const AMBER2: &str = "marking-definition--0000000a-0000-4000-8000-000000000002";
    const STATEMENT: &str = "marking-definition--0000000a-0000-4000-8000-000000000003";

    fn known() -> Known {
        let mut k = Known::default();
        k.defs.insert(
            RED1.into(),
            format!(r#"{{"type":"marking-definition","spec_version":"2.1","id":"{RED1}","created":"{T}","definition_type":"tlp","definition":{{"tlp":"red"}}}}"#),
        );
        k.defs.insert(
            AMBER2.into(),
            format!(r#"{{"type":"marking-definition","spec_version":"2.1","id":"{AMBER2}","created":"{T}","name":"TLP:AMBER","extensions":{{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{{"extension_type":"property-extension","tlp_2_0":"amber"}}}}}}"#),
        );
        k.defs.insert(
            STATEMENT.into(),
            format!(r#"{{"type":"marking-definition","spec_version":"2.1","id":"{STATEMENT}","created":"{T}","definition_type":"statement","definition":{{"statement":"Copyright ACME"}}}}"#),
        );
        k
    }

    fn withheld(o: &Outcome) -> String {
        match o {
            Outcome::Withhold { reason } => reason.clone(),
            other => panic!("not withheld: {other:?}"),
        }
    }

    #[test]
    fn warninglisted_indicators_are_withheld_unless_agreed() {
        let raw = indicator(&[]);
        let pol = policy(Tlp::Amber, CategoryAction::Allow);
        let mut c = cand(&raw);
        assert_eq!(pol.release(&c, &Unresolved), Outcome::Send);
        c.warninglisted = Some("public-dns-v4,rfc1918");
        let reason = withheld(&pol.release(&c, &Unresolved));
        assert!(
            reason.starts_with("warninglist:public-dns-v4,rfc1918: ")
                && reason.contains("outbound.warninglisted = withhold"),
            "{reason}"
        );
        // A RED object says why it is withheld first: the more basic rule.
        let red = indicator(&["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]);
        let mut r = cand(&red);
        r.warninglisted = Some("x");
        assert!(withheld(&pol.release(&r, &Unresolved)).contains("RED"));
        let send = OutboundPolicy::new(
            "eu",
            Outbound {
                max_tlp: Tlp::Amber,
                warninglisted: Warninglisted::Send,
                ..Outbound::default()
            },
            Arc::new(Rules::new(&Residency::default()).unwrap()),
            PartnerKey::derive(&[3; 32], "eu"),
            Arc::new(Origins::new()),
        );
        assert_eq!(send.release(&c, &Unresolved), Outcome::Send);
        let parsed: Outbound = toml::from_str("warninglisted = \"send\"").unwrap();
        assert_eq!(parsed.warninglisted, Warninglisted::Send);
        assert_eq!(Outbound::default().warninglisted, Warninglisted::Withhold);
        assert!(toml::from_str::<Outbound>("warninglisted = \"maybe\"").is_err());
    }

    #[test]
    fn custom_tlp_markings_count_with_their_level() {
        let k = known();
        let pol = policy(Tlp::Amber, CategoryAction::Allow);
        let raw = indicator(&[RED1]);
        assert!(withheld(&pol.release(&cand(&raw), &k)).contains("TLP:RED never leaves"));
        // Granular: the same.
        let mut v: serde_json::Value = serde_json::from_str(&indicator(&[])).unwrap();
        v.as_object_mut().unwrap().remove("object_marking_refs");
        v["granular_markings"] =
            serde_json::json!([{"selectors": ["pattern"], "marking_ref": RED1}]);
        let raw = v.to_string();
        assert!(withheld(&pol.release(&cand(&raw), &k)).contains("TLP:RED"));
        // AMBER by a TLP 2.0 style definition: above GREEN, within AMBER.
        let raw = indicator(&[AMBER2]);
        assert_eq!(pol.release(&cand(&raw), &k), Outcome::Send);
        let green = policy(Tlp::Green, CategoryAction::Allow);
        assert!(withheld(&green.release(&cand(&raw), &k)).contains("TLP:AMBER is above TLP:GREEN"));
        // A statement does not change the level.
        let raw = indicator(&[STATEMENT, crate::tlp::TLP2_GREEN]);
        assert_eq!(green.release(&cand(&raw), &k), Outcome::Send);
    }

    #[test]
    fn an_unreadable_marking_withholds() {
        let pol = policy(Tlp::Amber, CategoryAction::Allow);
        let unknown = "marking-definition--0000000a-0000-4000-8000-0000000000ff";
        let raw = indicator(&[crate::tlp::TLP2_CLEAR, unknown]);
        let r = withheld(&pol.release(&cand(&raw), &known()));
        assert!(r.contains(unknown) && r.contains("cannot be read"), "{r}");
        // With no resolver at all, the same (conservative).
        assert!(
            withheld(&pol.release(&cand(&indicator(&[STATEMENT])), &Unresolved))
                .contains(STATEMENT)
        );
        // A known RED among unknown ones is reported as RED.
        let raw = indicator(&[unknown, RED1]);
        assert!(withheld(&pol.release(&cand(&raw), &known())).contains("TLP:RED"));
        // Too many to look up.
        let many: Vec<String> = (0..=crate::scan::MAX_OTHER_MARKINGS)
            .map(|i| format!("marking-definition--0000000b-0000-4000-8000-{i:012x}"))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut k = known();
        for m in &many {
            k.defs
                .insert(m.clone(), k.defs[STATEMENT].replace(STATEMENT, m));
        }
        assert!(withheld(&pol.release(&cand(&indicator(&refs)), &k)).contains("more than 64"));
        let fewer = &refs[..crate::scan::MAX_OTHER_MARKINGS];
        assert_eq!(pol.release(&cand(&indicator(fewer)), &k), Outcome::Send);
    }

    fn observed(refs: &[&str]) -> String {
        serde_json::json!({
            "type": "observed-data", "spec_version": "2.1",
            "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
            "created": T, "modified": T, "first_observed": T, "last_observed": T,
            "number_observed": 1, "object_refs": refs,
        })
        .to_string()
    }

    #[test]
    fn references_become_the_targets_released_ids() {
        let addr = "email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3";
        let gone = "email-addr--00000000-0000-5000-8000-000000000000";
        let file = "file--00000000-0000-5000-8000-000000000001";
        let mut k = known();
        k.released.insert(
            addr.into(),
            "email-addr--11111111-1111-5111-8111-111111111111".into(),
        );
        let raw = observed(&[addr, gone, file]);
        let Outcome::Redact { raw: out, fields } =
            policy(Tlp::Amber, CategoryAction::Pseudonymise).release(&cand(&raw), &k)
        else {
            panic!("not redacted")
        };
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        // The SDO keeps its id; the held target's reference is its released
        // id; the other falls back to the partner-key UUID; a file is not
        // personal.
        assert_eq!(
            v["id"],
            "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"
        );
        let refs = v["object_refs"].as_array().unwrap();
        assert_eq!(refs[0], "email-addr--11111111-1111-5111-8111-111111111111");
        let fallback = format!(
            "email-addr--{}",
            PartnerKey::derive(&[3; 32], "eu").uuid("ref", gone)
        );
        assert_eq!(refs[1], fallback.as_str());
        assert_eq!(refs[2], file);
        assert_eq!(fields, ["object_refs[0]", "object_refs[1]"]);
        assert!(!out.contains(addr) && !out.contains(gone));
        // Under remove: the resolved one stays, the unresolved one goes.
        let Outcome::Redact { raw: out, .. } =
            policy(Tlp::Amber, CategoryAction::Remove).release(&cand(&raw), &k)
        else {
            panic!("not redacted")
        };
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["object_refs"],
            serde_json::json!(["email-addr--11111111-1111-5111-8111-111111111111", file])
        );
        // A resolver answering with an id of another type is not believed.
        k.released.insert(
            gone.into(),
            "indicator--11111111-1111-4111-8111-111111111111".into(),
        );
        let Outcome::Redact { raw: out, .. } =
            policy(Tlp::Amber, CategoryAction::Pseudonymise).release(&cand(&raw), &k)
        else {
            panic!("not redacted")
        };
        assert!(
            out.contains(&fallback) && !out.contains("indicator--"),
            "{out}"
        );
        // With nothing resolved, every personal reference falls back.
        let Outcome::Redact { raw: out, .. } =
            policy(Tlp::Amber, CategoryAction::Pseudonymise).release(&cand(&raw), &Unresolved)
        else {
            panic!("not redacted")
        };
        assert!(
            !out.contains("11111111-1111-5111") && !out.contains(addr),
            "{out}"
        );
    }
}
