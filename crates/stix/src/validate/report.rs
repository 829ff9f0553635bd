//! Where an issue is ([`Loc`]) and how it is reported: the helpers every
//! rule uses to push an error or a warning naming the value found.

use crate::dom::Value;
use crate::error::{Issue, JsonPath, Rule};

/// Where a value sits, as a chain of borrowed steps; cheap to extend, turned
/// into a [`JsonPath`] only when an issue is reported.
#[derive(Clone, Copy)]
pub(super) enum Loc<'a> {
    Root,
    Key(&'a Loc<'a>, &'a str),
    Idx(&'a Loc<'a>, usize),
}

impl<'a> Loc<'a> {
    pub(super) fn key(&'a self, k: &'a str) -> Loc<'a> {
        Loc::Key(self, k)
    }
    pub(super) fn idx(&'a self, i: usize) -> Loc<'a> {
        Loc::Idx(self, i)
    }
    pub(super) fn path(&self) -> JsonPath {
        let mut p = match self {
            Loc::Root => return JsonPath::root(),
            Loc::Key(parent, _) | Loc::Idx(parent, _) => parent.path(),
        };
        match self {
            Loc::Key(_, k) => p.0.push(crate::error::PathSeg::Key((*k).to_owned())),
            Loc::Idx(_, i) => p.0.push(crate::error::PathSeg::Index(*i)),
            Loc::Root => {}
        }
        p
    }
    /// The last member name on the path, for messages.
    pub(super) fn name(&self) -> String {
        match self {
            Loc::Root => "$".into(),
            Loc::Key(_, k) => format!("`{k}`"),
            Loc::Idx(..) => format!("`{}`", self.path()),
        }
    }
}

pub(super) fn err(out: &mut Vec<Issue>, rule: Rule, at: &Loc<'_>, msg: String) {
    out.push(Issue::error(rule, at.path(), msg));
}

pub(super) fn warn(out: &mut Vec<Issue>, rule: Rule, at: &Loc<'_>, msg: String) {
    out.push(Issue::warning(rule, at.path(), msg));
}

/// A short rendering of a value for messages.
pub(super) fn show(v: &Value<'_>) -> String {
    let s = match v {
        Value::String(s) => format!("{:?}", s),
        Value::Object(_) | Value::Array(_) => serde_json::to_string(v).unwrap_or_default(),
        other => other.to_string(),
    };
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

pub(super) fn found(v: &Value<'_>) -> String {
    format!("{} {}", v.type_name(), show(v))
}
