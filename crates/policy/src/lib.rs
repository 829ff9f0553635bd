//! Agreements between partner nodes, and what they decide about each object
//! that crosses the node's edge (pure: no I/O, no clock, no randomness).
//!
//! - [`agreement`]: the configuration types, as they appear in
//!   `accord.toml` (`[residency]`, and `[partners.outbound]` /
//!   `[partners.inbound]` under each `[[partners]]`).
//! - [`tlp`]: the TLP marking ids and levels.
//! - [`rules`]: the residency rules compiled: which values are of which
//!   category; [`text`]: e-mail, phone and IP detection in text.
//! - [`scan`]: the fast one-pass scan of an object's JSON text.
//! - [`rewrite`]: the object rewritten per category action, SCO ids
//!   recomputed, references to personal observables resolved to the ids
//!   their targets leave with.
//! - [`resolve`]: what the caller answers about other objects (the id a
//!   referenced object leaves with, what a custom marking-definition
//!   says): [`Resolver`].
//! - [`outbound`]: the release decision towards one partner
//!   ([`OutboundPolicy`]); [`inbound`]: the admit decision
//!   ([`InboundPolicy`]); [`key`]: per-partner pseudonym keys.

pub mod agreement;
pub mod describe;
pub mod inbound;
pub mod key;
pub mod outbound;
pub mod resolve;
pub mod rewrite;
pub mod rules;
pub mod scan;
pub mod text;
pub mod tlp;

pub use agreement::{
    Agreement, Categories, CategoryAction, CategoryRule, DataCategory, Inbound, Onward, Outbound,
    Residency, Tlp, TypeSet, ValueKind, Warninglisted,
};
pub use inbound::InboundPolicy;
pub use key::PartnerKey;
pub use outbound::{Candidate, Decision, Origins, OutboundPolicy, Outcome};
pub use resolve::{Marking, MarkingsOnly, Resolver, Unresolved};
pub use rules::{Rules, RulesError};
