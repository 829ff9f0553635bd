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
    Applied, Case, CaseHeader, Cycle, Entry, FoldError, Message, Outcome, Role, TransitionError,
    allowed_kinds, case_id_of, escalation_note_id, note_id,
};
pub use deadline::{DeadlineTable, Spans};
pub use docket::Docket;
pub use ext::{
    ACCORD_IDENTITY_ID, FACILITY_EXTENSION_ID, HOTLINE_EXTENSION_ID, definitions,
    facility_extension_definition, hotline_extension_definition,
};
pub use facility::{Facility, FacilityError, FacilityHit, HitKind, Registry};
pub use model::{
    AssistOutcome, Assistance, DeadlineKind, MessageKind, Severity, State, VocabError,
};
