//! What the release decision may learn about objects other than the one it
//! decides on: the id another object leaves with (for references), and what
//! a marking-definition that is not one of the standard TLP ids says.
//!
//! The policy is pure and sees one object at a time; the caller, which
//! holds the store, answers these questions through a [`Resolver`].
//! [`Unresolved`] answers none of them: references fall back to the
//! partner-key UUID (or are dropped, see [`crate::rewrite`]), and an object
//! with a marking the resolver cannot read is withheld.
//!
//! # Marking-definitions (custom TLP)
//!
//! A `marking_ref` / `object_marking_refs` entry that is one of the TLP 1.0
//! or 2.0 ids of [`crate::tlp`] is read from the id alone. Any other id is
//! asked of the resolver ([`Resolver::marking`]), which looks the
//! marking-definition up and classifies it with [`definition_marking`]:
//!
//! - a TLP marking (TLP 1.0 style `definition_type: "tlp"` with
//!   `definition.tlp`; any `definition.tlp`, in any case, as IEP's and
//!   OpenCTI's `{"TLP": "TLP:RED"}`; a TLP 2.0 style extension property
//!   `tlp_2_0`; a `name` of the form `TLP:LEVEL`) counts with its level,
//!   the highest of them when several say one;
//! - a marking-definition that says nothing of TLP (a statement, a
//!   copyright) leaves the level as the other markings make it;
//! - a marking-definition the node does not hold, or one that claims to be
//!   TLP with a level that cannot be read, is [`Marking::Unknown`]: the
//!   object is withheld ("an unreadable marking could be RED"), so an
//!   unresolvable marking never lets a RED object out.

use crate::agreement::Tlp;
use serde_json::Value;

/// What a marking-definition says, as far as the release decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marking {
    /// A TLP marking of this level.
    Tlp(Tlp),
    /// A marking-definition this node holds that says nothing of TLP
    /// (a statement, a copyright): it does not change the level.
    Other,
    /// Not held by this node, or a TLP one whose level cannot be read: the
    /// object is withheld.
    Unknown,
}

/// Answers the release decision's questions about other objects (the
/// caller implements it over its store). Implementations must be
/// deterministic within one batch (a page, a push), so that every
/// reference to one object in the batch gets the same answer.
pub trait Resolver {
    /// The id the object `old_id` leaves with for `partner`: when this node
    /// holds it and releases it to `partner` (sent as stored: its own id;
    /// rewritten: the id it was given), that id; `None` when the node does
    /// not hold it or withholds it from `partner`. A reference to it then
    /// falls back as [`crate::rewrite`] says, so the partner cannot tell a
    /// withheld target from an absent one.
    ///
    /// Releasing the target need not resolve the target's own references:
    /// references are resolved only to `email-addr`, `user-account`,
    /// `ipv4-addr` and `ipv6-addr` objects, whose ids derive from values,
    /// never from references.
    fn released_id(&self, partner: &str, old_id: &str) -> Option<String>;

    /// What marking-definition `id` (not one of the standard TLP ids)
    /// says. See the module documentation.
    fn marking(&self, id: &str) -> Marking;
}

/// A resolver that knows nothing: every reference falls back, every
/// marking-definition other than the standard TLP ones is
/// [`Marking::Unknown`] (the object is withheld).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unresolved;

impl Resolver for Unresolved {
    fn released_id(&self, _partner: &str, _old_id: &str) -> Option<String> {
        None
    }

    fn marking(&self, _id: &str) -> Marking {
        Marking::Unknown
    }
}

/// Resolves markings through another resolver and no reference: what a
/// resolver uses to release a referenced object (its own references need
/// no resolving, see [`Resolver::released_id`]), which also bounds the
/// recursion.
#[derive(Clone, Copy)]
pub struct MarkingsOnly<'a>(pub &'a dyn Resolver);

impl std::fmt::Debug for MarkingsOnly<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MarkingsOnly(..)")
    }
}

impl Resolver for MarkingsOnly<'_> {
    fn released_id(&self, _partner: &str, _old_id: &str) -> Option<String> {
        None
    }

    fn marking(&self, id: &str) -> Marking {
        self.0.marking(id)
    }
}

/// A TLP level as a marking writes it: `white`, `clear`, `green`,
/// `amber`, `amber+strict`, `red`, any case, with or without a `TLP:`
/// prefix.
pub fn parse_tlp_level(s: &str) -> Option<Tlp> {
    let s = s.trim();
    let s = match s.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("tlp:") => s[4..].trim(),
        _ => s,
    };
    let l = s.to_ascii_lowercase();
    Some(match l.as_str() {
        "white" | "clear" => Tlp::Clear,
        "green" => Tlp::Green,
        "amber" => Tlp::Amber,
        "amber+strict" | "amber strict" => Tlp::AmberStrict,
        "red" => Tlp::Red,
        _ => return None,
    })
}

/// What the marking-definition object `raw` (its JSON text) says: see the
/// module documentation. Text that is not a `marking-definition` object is
/// [`Marking::Unknown`].
pub fn definition_marking(raw: &str) -> Marking {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(raw) else {
        return Marking::Unknown;
    };
    if m.get("type").and_then(Value::as_str) != Some("marking-definition") {
        return Marking::Unknown;
    }
    // Each place a TLP level may be given: (is it claimed, the level read).
    let mut claims: Vec<Option<Tlp>> = Vec::new();
    let def_type = m.get("definition_type").and_then(Value::as_str);
    // `tlp` in any case: OpenCTI writes `definition_type: "TLP"` and
    // `definition: {"TLP": "TLP:RED"}`.
    let def_tlp = m
        .get("definition")
        .and_then(Value::as_object)
        .and_then(|d| d.iter().find(|(k, _)| k.eq_ignore_ascii_case("tlp")))
        .map(|(_, v)| v);
    if def_type.is_some_and(|t| t.eq_ignore_ascii_case("tlp")) || def_tlp.is_some() {
        claims.push(def_tlp.and_then(Value::as_str).and_then(parse_tlp_level));
    }
    if let Some(Value::Object(exts)) = m.get("extensions") {
        for e in exts.values() {
            if let Some(t) = e.get("tlp_2_0") {
                claims.push(t.as_str().and_then(parse_tlp_level));
            }
        }
    }
    if let Some(name) = m.get("name").and_then(Value::as_str)
        && name
            .trim_start()
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("tlp:"))
    {
        claims.push(parse_tlp_level(name));
    }
    if claims.is_empty() {
        return Marking::Other;
    }
    if claims.iter().any(Option::is_none) {
        return Marking::Unknown;
    }
    claims
        .into_iter()
        .flatten()
        .max()
        .map_or(Marking::Unknown, Marking::Tlp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_1_and_2_definitions_are_read() {
        let v1 = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--00000000-0000-4000-8000-000000000001","created":"2026-01-01T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"red"}}"#;
        assert_eq!(definition_marking(v1), Marking::Tlp(Tlp::Red));
        let v2 = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--00000000-0000-4000-8000-000000000002","created":"2026-01-01T00:00:00.000Z","name":"TLP:AMBER+STRICT","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber+strict"}}}"#;
        assert_eq!(definition_marking(v2), Marking::Tlp(Tlp::AmberStrict));
        let by_name =
            r#"{"type":"marking-definition","id":"marking-definition--x","name":"tlp:green"}"#;
        assert_eq!(definition_marking(by_name), Marking::Tlp(Tlp::Green));
        // Several claims: the highest counts.
        let mixed = r#"{"type":"marking-definition","id":"m","name":"TLP:CLEAR","definition_type":"tlp","definition":{"tlp":"amber"}}"#;
        assert_eq!(definition_marking(mixed), Marking::Tlp(Tlp::Amber));
        // IEP-like: a TLP field in another definition type counts.
        let iep = r#"{"type":"marking-definition","id":"m","definition_type":"iep","definition":{"tlp":"red","name":"x"}}"#;
        assert_eq!(definition_marking(iep), Marking::Tlp(Tlp::Red));
        // OpenCTI's spelling.
        let octi = r#"{"type":"marking-definition","id":"m","definition_type":"TLP","name":"TLP:AMBER+STRICT","definition":{"TLP":"TLP:AMBER+STRICT"}}"#;
        assert_eq!(definition_marking(octi), Marking::Tlp(Tlp::AmberStrict));
        // A statement named as TLP counts as that TLP.
        let named = r#"{"type":"marking-definition","id":"m","name":"TLP:RED","definition_type":"statement","definition":{"statement":"do not share"}}"#;
        assert_eq!(definition_marking(named), Marking::Tlp(Tlp::Red));
    }

    #[test]
    fn statements_do_not_count_and_unreadable_tlp_is_unknown() {
        let st = r#"{"type":"marking-definition","id":"m","definition_type":"statement","definition":{"statement":"Copyright ACME"}}"#;
        assert_eq!(definition_marking(st), Marking::Other);
        for raw in [
            r#"{"type":"marking-definition","id":"m","definition_type":"tlp","definition":{"tlp":"purple"}}"#,
            r#"{"type":"marking-definition","id":"m","definition_type":"TLP","definition":{}}"#,
            r#"{"type":"marking-definition","id":"m","definition_type":"tlp","definition":{"tlp":1}}"#,
            r#"{"type":"marking-definition","id":"m","name":"TLP:ULTRA"}"#,
            r#"{"type":"marking-definition","id":"m","extensions":{"e":{"tlp_2_0":"rouge"}}}"#,
            // A readable claim does not cover an unreadable one.
            r#"{"type":"marking-definition","id":"m","name":"TLP:CLEAR","extensions":{"e":{"tlp_2_0":"?"}}}"#,
            r#"{"type":"indicator","id":"m","definition_type":"tlp","definition":{"tlp":"white"}}"#,
            "not json",
            "[]",
        ] {
            assert_eq!(definition_marking(raw), Marking::Unknown, "{raw}");
        }
    }

    #[test]
    fn levels_parse_in_any_spelling() {
        assert_eq!(parse_tlp_level("WHITE"), Some(Tlp::Clear));
        assert_eq!(
            parse_tlp_level(" TLP:Amber+Strict "),
            Some(Tlp::AmberStrict)
        );
        assert_eq!(parse_tlp_level("tlp: red"), Some(Tlp::Red));
        assert_eq!(parse_tlp_level("tl"), None);
        assert_eq!(parse_tlp_level(""), None);
        assert_eq!(parse_tlp_level("TLP:é"), None);
    }
}
