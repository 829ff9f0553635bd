//! [`InputLimits`]: the bounds every object from outside is held to while
//! it is parsed, set by `[limits]` in `accord.toml`
//! ([`crate::config::Limits::input`]) and carried by the exchange seam
//! ([`crate::exchange::Exchange::with_limits`]), so a TAXII POST, a pull
//! from a partner and a file ingest apply the same ones.

/// The bounds on one object received: its JSON (depth, members, items,
/// string length, size) and, for an indicator, its STIX pattern (length,
/// depth, comparisons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputLimits {
    /// The object's JSON ([`accord_stix::JsonLimits`]).
    pub json: accord_stix::JsonLimits,
    /// An indicator's `pattern` ([`accord_pattern::Limits`]).
    pub pattern: accord_pattern::Limits,
}
