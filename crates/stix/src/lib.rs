//! STIX 2.1 for Accord: objects, bundles, identifiers, timestamps and the
//! MUST rules of the specification. No I/O: everything takes text or values.
//!
//! ```
//! use accord_stix::{Object, validate_object, is_valid};
//! let obj = Object::parse(r#"{"type":"indicator","spec_version":"2.1",
//!   "id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
//!   "created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z",
//!   "pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix",
//!   "valid_from":"2016-01-01T00:00:00Z"}"#).unwrap();
//! assert!(is_valid(&validate_object(&obj)));
//! ```
//!
//! What it deliberately does not do: parse STIX patterns (the `pattern`
//! crate's job), resolve references across objects, or touch files.
#![warn(missing_docs)]

pub mod clock;
pub mod compact;
pub mod document;
pub mod dom;
pub mod error;
pub mod id;
pub mod limits;
mod marking;
pub mod object;
pub mod sco_id;
mod spec;
pub mod timestamp;
pub mod validate;

pub use clock::{Clock, FixedClock, SystemClock};
pub use document::{DocumentError, DocumentInfo, RawObject, read_document};
pub use dom::Doc;
pub use error::{Issue, JsonPath, PathSeg, Pos, Rule, Severity};
pub use id::{Identifier, parse_identifier};
pub use limits::{JsonLimit, JsonLimits, LimitExceeded};
pub use object::{CommonProps, Kind, Object, ObjectError};
pub use sco_id::deterministic_sco_id;
pub use timestamp::Timestamp;
pub use validate::{is_valid, validate_bundle_header, validate_doc, validate_object};
