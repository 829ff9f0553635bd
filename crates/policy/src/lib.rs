//! Agreements between partner nodes, and what they decide about each object
//! that crosses the node's edge (pure: no I/O, no clock, no randomness).
//!
//! - [`agreement`]: the configuration types, as they appear in
//!   `accord.toml` (`[residency]`, and `[partners.outbound]` /
//!   `[partners.inbound]` under each `[[partners]]`).

pub mod agreement;
pub mod describe;

pub use agreement::{
    Agreement, Categories, CategoryAction, CategoryRule, DataCategory, Inbound, Onward, Outbound,
    Residency, Tlp, TypeSet, ValueKind,
};
