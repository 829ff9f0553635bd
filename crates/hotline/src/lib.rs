//! The hotline between partners and the protected-facility registry, with
//! no I/O, no async and no clock: time is an argument.
//!
//! - A **case** is a STIX 2.1 `incident`; each message is a `note` naming
//!   the case in `object_refs`. The Accord hotline extension
//!   ([`HOTLINE_EXTENSION_ID`], defined by [`hotline_extension_definition`])
//!   carries severity, parties, deadlines, assistance and the exercise
//!   flag on the incident, and the case, kind, sequence and transition on
//!   each note. A plain STIX tool still reads the incident's `name` and
//!   `description` and each note's `abstract`, `content` and
//!   `object_refs`.
//! - [`Case::from_thread`] folds the notes (any order, duplicates
//!   included) into a state; the rules are in the [`case`] module.
//! - [`open_case`], [`transition`], [`due_escalations`] and
//!   [`escalate_note`] write the objects.
//! - [`Registry`] holds protected [`Facility`]s and answers
//!   [`Registry::touches`]: which facilities an object's observables (and
//!   its indicator pattern's) fall in.
//!
//! ```
//! use accord_hotline::*;
//! use accord_stix::Timestamp;
//! let a = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0a01";
//! let b = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0b02";
//! let t0 = Timestamp::parse("2026-03-01T12:00:00Z").unwrap();
//! let (incident, open) = open_case(&OpenCase {
//!     case_uuid: case_uuid("example"), from: a.into(), to: b.into(),
//!     severity: Severity::Critical, title: "Scanning".into(), description: None,
//!     text: String::new(), attachments: vec![], assistance: vec![Assistance::Block],
//!     exercise: false, facility: None,
//! }, &DeadlineTable::default(), t0).unwrap();
//! let mut case = Case::from_thread(&incident, [&open]).unwrap();
//! // Node B acknowledges two hours late; a tick finds the missed deadline.
//! let t2h = Timestamp::from_unix(t0.unix_seconds + 7200, 0);
//! let ack = transition(&case, b, Action::Ack, "", &[], t2h).unwrap();
//! case.apply(&ack).unwrap();
//! assert_eq!(case.state(), State::Acknowledged);
//! let due = due_escalations(&case, t2h);
//! assert_eq!(due.len(), 1);
//! case.apply(&escalate_note(&case, &due[0])).unwrap();
//! assert_eq!(case.escalation(), 1);
//! assert!(due_escalations(&case, t2h).is_empty());
//! // The opener may not acknowledge: the error names what it may do.
//! let e = transition(&case, a, Action::Ack, "", &[], t2h).unwrap_err();
//! assert!(e.to_string().ends_with("allowed: reply, resolve"));
//! ```
#![warn(missing_docs)]

mod build;
pub mod case;
pub mod deadline;
mod docket;
pub mod ext;
pub mod facility;
pub mod model;

pub use build::{
    Action, Escalation, MAX_TEXT, OpenCase, case_uuid, due_escalations, escalate_note, open_case,
    transition,
};
pub use case::{
    Applied, Case, CaseHeader, CaseSummary, Cycle, Entry, FoldError, Message, MessageSummary,
    Outcome, Role, TransitionError, allowed_kinds, case_id_of, escalation_note_id, note_id,
};
pub use deadline::{DeadlineTable, Spans};
pub use docket::Docket;
pub use ext::{
    ACCORD_IDENTITY_ID, FACILITY_EXTENSION_ID, HOTLINE_EXTENSION_ID, definitions,
    facility_extension_definition, hotline_extension_definition,
};
pub use facility::{
    Facility, FacilityError, FacilityHit, HitKind, Registry, is_assigned_jurisdiction,
};
pub use model::{
    AssistOutcome, Assistance, DeadlineKind, MessageKind, Severity, State, VocabError,
};
