//! STIX 2.1 patterning (STIX 2.1 §9), with no I/O.
//!
//! - [`parse`] turns pattern text into an [`ast::ObsExpr`]; a
//!   [`ParseError`] names the byte offset and [`ParseError::render`] draws a
//!   caret under it. The tree prints back as pattern text ([`std::fmt::Display`])
//!   that parses to the same tree.
//! - [`Pattern`] is a parsed pattern made ready to evaluate (regular
//!   expressions compiled once); [`Pattern::matches`] evaluates it over
//!   [`Observations`] read from STIX 2.1 (`object_refs`) or 2.0 (embedded
//!   `objects`) observed-data, with the semantics of the OASIS
//!   `stix2-matcher` except where the specification says otherwise.
//! - [`compile`] turns simple patterns into index [`Key`]s for the
//!   line-rate matcher and says why the others need the evaluator.
//!
//! ```
//! use accord_pattern::{Observations, Pattern, StixVersion};
//! let objects: Vec<serde_json::Value> = serde_json::from_str(r#"[
//!   {"type": "observed-data", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
//!    "first_observed": "2024-05-01T12:00:00Z", "last_observed": "2024-05-01T12:00:00Z",
//!    "number_observed": 1, "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"]},
//!   {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.7"}
//! ]"#).unwrap();
//! let obs = Observations::new(&objects, StixVersion::V21).unwrap();
//! let p = Pattern::new("[ipv4-addr:value ISSUBSET '198.51.100.0/24']").unwrap();
//! assert!(p.matches(&obs).unwrap().matched);
//! ```

pub mod ast;
mod compile;
mod eval;
mod json;
mod net;
mod observe;
mod parser;
pub mod time;
mod value;

pub use compile::{Compiled, HashAlg, Key, KeyKind, compile};
pub use eval::{MatchResult, Pattern};
pub use json::{FAST_DEPTH, Json, JsonNode, Object, View};
pub use observe::{Observation, Observations, StixVersion};
pub use parser::{
    Limit, Limits, ParseError, parse, parse_limited, parse_strict, parse_strict_limited, parse_v20,
    parse_v20_limited,
};

/// Matching failed on the data: a property of the wrong type, a timestamp
/// or binary value that does not decode, an address that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);
