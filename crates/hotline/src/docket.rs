//! The cases a node knows, by id: routes each incoming hotline object to
//! its case.

use crate::case::{Applied, Case, FoldError, case_id_of};
use accord_stix::Object;
use std::collections::BTreeMap;

/// Cases by incident id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Docket {
    cases: BTreeMap<String, Case>,
}

impl Docket {
    /// No cases.
    pub fn new() -> Docket {
        Docket::default()
    }

    /// Adds a case from its incident (again: no effect).
    ///
    /// # Errors
    /// [`FoldError::NotACase`]; a different incident under a known id is
    /// [`FoldError::NotACase`] too (a case's incident never changes).
    pub fn add_incident(&mut self, incident: &Object) -> Result<&Case, FoldError> {
        let c = Case::new(incident)?;
        let id = c.id().to_owned();
        if let Some(known) = self.cases.get(&id) {
            if known.incident() != incident {
                return Err(FoldError::NotACase {
                    id,
                    path: String::new(),
                    reason: "another incident with this id is already a case here".into(),
                });
            }
        } else {
            self.cases.insert(id.clone(), c);
        }
        Ok(&self.cases[&id])
    }

    /// Adds a note to its case ([`Case::apply`]).
    ///
    /// # Errors
    /// [`FoldError::BadMessage`] when it names no case,
    /// [`FoldError::UnknownCase`] when the case is not here, and the
    /// errors of [`Case::apply`].
    pub fn add_note(&mut self, note: &Object) -> Result<Applied, FoldError> {
        let id = note
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_owned();
        let case = case_id_of(note).ok_or_else(|| FoldError::BadMessage {
            id: id.clone(),
            path: format!("extensions.{}.case", crate::HOTLINE_EXTENSION_ID),
            reason: "missing or not a string".into(),
        })?;
        let c = self
            .cases
            .get_mut(case)
            .ok_or_else(|| FoldError::UnknownCase {
                note: id,
                case: case.to_owned(),
            })?;
        c.apply(note)
    }

    /// A case by id.
    pub fn get(&self, id: &str) -> Option<&Case> {
        self.cases.get(id)
    }

    /// Every case, by id.
    pub fn cases(&self) -> impl Iterator<Item = &Case> {
        self.cases.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::{B, at, request};
    use crate::{Action, DeadlineTable, Severity, State, open_case, transition};

    #[test]
    fn routes_notes_and_names_unknown_cases() {
        let (i, n) = open_case(&request(Severity::High), &DeadlineTable::default(), at(0)).unwrap();
        let mut d = Docket::new();
        let e = d.add_note(&n).unwrap_err();
        assert!(matches!(e, FoldError::UnknownCase { .. }), "{e}");
        assert!(e.to_string().ends_with("which is unknown here"), "{e}");
        d.add_incident(&i).unwrap();
        d.add_incident(&i).unwrap();
        d.add_note(&n).unwrap();
        let ack = transition(
            d.get(i.get("id").unwrap().as_str().unwrap()).unwrap(),
            B,
            Action::Ack,
            "",
            &[],
            at(5),
        )
        .unwrap();
        d.add_note(&ack).unwrap();
        assert_eq!(d.cases().next().unwrap().state(), State::Acknowledged);
        let e = d.add_note(&i).unwrap_err();
        assert!(matches!(e, FoldError::BadMessage { .. }), "{e}");
    }
}
