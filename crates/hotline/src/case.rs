//! A case is the fold of its thread: the incident, then its notes in
//! (created, escalations last, id) order, each applied if the rules allow
//! it in the state reached so far, kept as rejected otherwise.
//!
//! # Who may do what
//!
//! | message | allowed in | by | leads to |
//! |---|---|---|---|
//! | `open` | first message only | the opener | open |
//! | `ack` | open | the addressee | acknowledged |
//! | `progress` | acknowledged, in-progress | the addressee | in-progress |
//! | `reply` | any state | either party | (unchanged) |
//! | `assist-answer` | acknowledged, in-progress | the addressee, for an assistance asked | (unchanged) |
//! | `resolve` | acknowledged, in-progress | either party | resolved |
//! | `resolve` | open | the opener (a withdrawal) | resolved |
//! | `decline` | open, acknowledged, in-progress | the addressee, with a reason | declined |
//! | `reopen` | resolved, declined | either party, with a reason | open |
//! | `escalate` | a deadline passed unmet | no party (the nodes) | (unchanged), escalation + 1 |
//!
//! A reopened case is **open** again (not acknowledged): the addressee
//! acknowledges anew, and the reopen note carries new deadlines (the
//! case's original spans from the reopen time), so each *cycle* (the
//! opening, then each reopen) has its own ack and resolve deadlines.
//! A case opened by a node to itself (a facility of its own) has the same
//! identity as opener and addressee and may do both parts.
//!
//! # Determinism
//!
//! Notes are kept once per id; a note id is UUIDv5 of (case, author,
//! author's sequence number) and is checked, so a party cannot send a
//! note under another's id. The same id with other content is a conflict:
//! the version with the smaller (`modified`, JSON text) is kept, whatever
//! the order of arrival. A note the rules refuse at its place is kept (as
//! rejected), because a note delivered later but created earlier may make
//! it valid: the fold depends on the set of notes only.
//!
//! The fold trusts `created_by_ref`: the exchange seam must only admit a
//! note from a partner whose identity is its `created_by_ref`.

use crate::ext::{HOTLINE_EXTENSION_ID, v5};
use crate::model::Severity;
use crate::model::{AssistOutcome, Assistance, DeadlineKind, MessageKind, State};
use accord_stix::{Object, Timestamp, parse_identifier};
use serde_json::{Map, Value};
use std::fmt;

/// The most notes a case holds; more is refused ([`FoldError::TooManyNotes`]).
pub const MAX_NOTES: usize = 10_000;
/// The most objects a note may attach.
pub const MAX_ATTACHMENTS: usize = 1_000;

/// Why an incident or a note cannot take part in a case. Each names the
/// object and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FoldError {
    /// The incident is not a hotline case.
    #[error("{id}: not a hotline case: {path}: {reason}")]
    NotACase {
        /// The object's id (or `?`).
        id: String,
        /// The JSON path of the fault.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The note is not a hotline message.
    #[error("{id}: not a hotline message: {path}: {reason}")]
    BadMessage {
        /// The note's id (or `?`).
        id: String,
        /// The JSON path of the fault.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The note belongs to another case.
    #[error("note {note} belongs to case {case}, not to {expected}")]
    WrongCase {
        /// The note.
        note: String,
        /// The case it names.
        case: String,
        /// The case it was given to.
        expected: String,
    },
    /// The note names a case that is not known.
    #[error("note {note} is for case {case}, which is unknown here")]
    UnknownCase {
        /// The note.
        note: String,
        /// The case it names.
        case: String,
    },
    /// The note's author is neither party of the case.
    #[error(
        "note {note} is from {author}, who is not a party to case {case} (between {from} and {to})"
    )]
    NotAParty {
        /// The note.
        note: String,
        /// Its `created_by_ref`.
        author: String,
        /// The case.
        case: String,
        /// The opener.
        from: String,
        /// The addressee.
        to: String,
    },
    /// The same id arrived with other content.
    #[error(
        "note {id} arrived again with different content; the version kept is the one modified {kept}"
    )]
    Conflict {
        /// The note id.
        id: String,
        /// `modified` of the version kept.
        kept: String,
    },
    /// Too many notes in one case.
    #[error("case {case} would have more than {max} notes")]
    TooManyNotes {
        /// The case.
        case: String,
        /// The bound.
        max: usize,
    },
}

/// The part a party plays in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// It opened the case.
    Opener,
    /// The case is addressed to it.
    Addressee,
    /// Both (a case a node opens to itself).
    Both,
    /// No party: escalations, written by the nodes.
    System,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Opener => "the opener",
            Role::Addressee => "the addressee",
            Role::Both => "the opener and addressee",
            Role::System => "the nodes (no party)",
        })
    }
}

fn kinds_list(k: &[MessageKind]) -> String {
    if k.is_empty() {
        "none".into()
    } else {
        k.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// A message the rules refuse (the case is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// Not allowed in this state for this party.
    #[error("case {case} is {state}: `{kind}` is not allowed for {role}; allowed: {}", kinds_list(.allowed))]
    NotAllowed {
        /// The case.
        case: String,
        /// Its state.
        state: State,
        /// The message attempted.
        kind: MessageKind,
        /// The actor's part.
        role: Role,
        /// What this party may send now.
        allowed: Vec<MessageKind>,
    },
    /// The actor is not a party to the case.
    #[error("{actor} is not a party to case {case} (between {from} and {to})")]
    NotAParty {
        /// The case.
        case: String,
        /// The actor.
        actor: String,
        /// The opener.
        from: String,
        /// The addressee.
        to: String,
    },
    /// This message needs a text (a reason, a message).
    #[error("case {case}: `{kind}` needs a text ({what})")]
    TextRequired {
        /// The case.
        case: String,
        /// The message attempted.
        kind: MessageKind,
        /// What the text is.
        what: &'static str,
    },
    /// An answer to assistance that was not asked.
    #[error("case {case}: `{action}` was not asked (asked: {asked})")]
    AssistanceNotAsked {
        /// The case.
        case: String,
        /// The action answered.
        action: Assistance,
        /// What was asked, comma-separated (or `nothing`).
        asked: String,
    },
    /// A second `open` message.
    #[error("case {case} is already opened by note {by}")]
    AlreadyOpened {
        /// The case.
        case: String,
        /// The open note applied.
        by: String,
    },
    /// An escalation that does not hold at its place in the thread.
    #[error(
        "case {case}: escalation of the {deadline} deadline of cycle {cycle} does not hold: {reason}"
    )]
    EscalationNotDue {
        /// The case.
        case: String,
        /// The cycle named.
        cycle: u32,
        /// The deadline named.
        deadline: DeadlineKind,
        /// Why.
        reason: &'static str,
    },
    /// A text or list over its bound, or an attachment that is not a STIX id.
    #[error("case {case}: {what}")]
    BadInput {
        /// The case.
        case: String,
        /// What is wrong.
        what: String,
    },
}

/// What the incident says about the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseHeader {
    /// The incident id (the case id).
    pub id: String,
    /// The incident's `name`.
    pub title: String,
    /// The incident's `description`.
    pub description: Option<String>,
    /// Severity.
    pub severity: Severity,
    /// The opener's identity id (= the incident's `created_by_ref`).
    pub from: String,
    /// The addressee's identity id.
    pub to: String,
    /// When it was opened.
    pub created: Timestamp,
    /// First acknowledgement deadline.
    pub ack_by: Timestamp,
    /// First resolution deadline.
    pub resolve_by: Timestamp,
    /// Assistance asked.
    pub assistance: Vec<Assistance>,
    /// An exercise (kept out of real statistics).
    pub exercise: bool,
    /// The protected facility concerned.
    pub facility: Option<String>,
}

pub(crate) fn ts_field(m: &Map<String, Value>, k: &str) -> Result<Timestamp, String> {
    let s = m
        .get(k)
        .ok_or_else(|| "missing".to_owned())?
        .as_str()
        .ok_or_else(|| "not a string".to_owned())?;
    Timestamp::parse(s).map_err(|e| e.to_string())
}

fn str_field<'a>(m: &'a Map<String, Value>, k: &str) -> Result<&'a str, String> {
    m.get(k)
        .ok_or_else(|| "missing".to_owned())?
        .as_str()
        .ok_or_else(|| "not a string".to_owned())
}

fn identity_field(m: &Map<String, Value>, k: &str) -> Result<String, String> {
    let s = str_field(m, k)?;
    match parse_identifier(s) {
        Ok(id) if id.type_name == "identity" => Ok(s.to_owned()),
        Ok(_) => Err(format!("{s:?} is not an identity id")),
        Err(e) => Err(e.to_string()),
    }
}

/// The hotline extension of an object, if it carries one.
pub(crate) fn hotline_ext(o: &Object) -> Option<&Map<String, Value>> {
    o.get("extensions")?
        .as_object()?
        .get(HOTLINE_EXTENSION_ID)?
        .as_object()
}

fn object_id(o: &Object) -> String {
    o.get("id")
        .and_then(Value::as_str)
        .map_or_else(|| "?".to_owned(), |s| s.chars().take(200).collect())
}

impl CaseHeader {
    /// Reads a case from its incident.
    ///
    /// # Errors
    /// [`FoldError::NotACase`] naming the property at fault.
    pub fn parse(incident: &Object) -> Result<CaseHeader, FoldError> {
        let id = object_id(incident);
        let bad = |path: &str, reason: String| FoldError::NotACase {
            id: id.clone(),
            path: path.to_owned(),
            reason,
        };
        let m = incident.as_map();
        if m.get("type").and_then(Value::as_str) != Some("incident") {
            return Err(bad("type", "not an incident".into()));
        }
        match parse_identifier(&id) {
            Ok(i) if i.type_name == "incident" => {}
            _ => return Err(bad("id", "not an incident id".into())),
        }
        let e = hotline_ext(incident)
            .ok_or_else(|| bad("extensions", format!("no {HOTLINE_EXTENSION_ID}")))?;
        let x = |k: &str| format!("extensions.{HOTLINE_EXTENSION_ID}.{k}");
        let title = str_field(m, "name").map_err(|r| bad("name", r))?.to_owned();
        let description = m
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let severity =
            Severity::parse(str_field(e, "severity").map_err(|r| bad(&x("severity"), r))?)
                .map_err(|r| bad(&x("severity"), r.to_string()))?;
        let from = identity_field(e, "opener").map_err(|r| bad(&x("opener"), r))?;
        let to = identity_field(e, "addressee").map_err(|r| bad(&x("addressee"), r))?;
        let creator = identity_field(m, "created_by_ref").map_err(|r| bad("created_by_ref", r))?;
        if creator != from {
            return Err(bad(
                "created_by_ref",
                format!("{creator} is not the case's `opener` ({from})"),
            ));
        }
        let created = ts_field(m, "created").map_err(|r| bad("created", r))?;
        let ack_by = ts_field(e, "ack_by").map_err(|r| bad(&x("ack_by"), r))?;
        let resolve_by = ts_field(e, "resolve_by").map_err(|r| bad(&x("resolve_by"), r))?;
        check_deadlines(created, ack_by, resolve_by).map_err(|r| bad(&x("ack_by"), r.into()))?;
        let mut assistance = Vec::new();
        if let Some(a) = e.get("assistance") {
            let arr = a
                .as_array()
                .ok_or_else(|| bad(&x("assistance"), "not a list".into()))?;
            for (i, v) in arr.iter().enumerate() {
                let s = v.as_str().ok_or_else(|| {
                    bad(&format!("{}[{i}]", x("assistance")), "not a string".into())
                })?;
                let a = Assistance::parse(s)
                    .map_err(|r| bad(&format!("{}[{i}]", x("assistance")), r.to_string()))?;
                if !assistance.contains(&a) {
                    assistance.push(a);
                }
            }
        }
        let exercise = match e.get("exercise") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad(&x("exercise"), "not a boolean".into())),
        };
        let facility = match e.get("facility") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(bad(&x("facility"), "not a string".into())),
        };
        Ok(CaseHeader {
            id,
            title,
            description,
            severity,
            from,
            to,
            created,
            ack_by,
            resolve_by,
            assistance,
            exercise,
            facility,
        })
    }

    /// The part `actor` plays, if any.
    pub fn role_of(&self, actor: &str) -> Option<Role> {
        match (actor == self.from, actor == self.to) {
            (true, true) => Some(Role::Both),
            (true, false) => Some(Role::Opener),
            (false, true) => Some(Role::Addressee),
            (false, false) => None,
        }
    }
}

/// A cycle's deadlines may not precede its start, nor resolve precede ack,
/// nor be more than the longest span away.
pub(crate) fn check_deadlines(
    start: Timestamp,
    ack_by: Timestamp,
    resolve_by: Timestamp,
) -> Result<(), &'static str> {
    if ack_by < start {
        return Err("the ack deadline is before the case's start");
    }
    if resolve_by < ack_by {
        return Err("the resolve deadline is before the ack deadline");
    }
    if resolve_by.unix_seconds - start.unix_seconds > crate::deadline::MAX_SPAN_SECS as i64 {
        return Err("the resolve deadline is more than 10 years after the start");
    }
    Ok(())
}

/// One message of a thread, read from its note.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The note id.
    pub id: String,
    /// The case (incident id).
    pub case: String,
    /// `created_by_ref`; `None` for an escalation.
    pub author: Option<String>,
    /// `created`.
    pub time: Timestamp,
    /// `modified` (equal to `created` for notes this crate writes).
    pub modified: Timestamp,
    /// What the message is.
    pub kind: MessageKind,
    /// `content`.
    pub text: String,
    /// `object_refs` other than the case.
    pub attachments: Vec<String>,
    /// The author's sequence number (none for an escalation).
    pub seq: Option<u64>,
    /// An answer to assistance.
    pub assist: Option<(Assistance, AssistOutcome)>,
    /// A reopen's new deadlines (ack, resolve).
    pub deadlines: Option<(Timestamp, Timestamp)>,
    /// An escalation's cycle and deadline.
    pub escalation: Option<(u32, DeadlineKind)>,
    /// The note as received.
    pub object: Object,
}

/// The id of a party's `seq`-th note in a case.
pub fn note_id(case: &str, author: &str, seq: u64) -> String {
    format!("note--{}", v5(&format!("note|{case}|{author}|{seq}")))
}

/// The id of the escalation note of a case's deadline in a cycle, due at
/// `due` (the time is part of the id, so a note at another time cannot
/// take the genuine one's id).
pub fn escalation_note_id(
    case: &str,
    cycle: u32,
    deadline: DeadlineKind,
    due: Timestamp,
) -> String {
    let due = due.to_millis_string();
    format!(
        "note--{}",
        v5(&format!("escalate|{case}|{cycle}|{deadline}|{due}"))
    )
}

/// The case a note names in its hotline extension, if any (for routing a
/// note to its case before reading it).
pub fn case_id_of(note: &Object) -> Option<&str> {
    hotline_ext(note)?.get("case")?.as_str()
}

impl Message {
    /// Reads a hotline note.
    ///
    /// # Errors
    /// [`FoldError::BadMessage`] naming the property at fault.
    pub fn parse(note: &Object) -> Result<Message, FoldError> {
        let id = object_id(note);
        let bad = |path: &str, reason: String| FoldError::BadMessage {
            id: id.clone(),
            path: path.to_owned(),
            reason,
        };
        let m = note.as_map();
        if m.get("type").and_then(Value::as_str) != Some("note") {
            return Err(bad("type", "not a note".into()));
        }
        let e = hotline_ext(note)
            .ok_or_else(|| bad("extensions", format!("no {HOTLINE_EXTENSION_ID}")))?;
        let x = |k: &str| format!("extensions.{HOTLINE_EXTENSION_ID}.{k}");
        let case = str_field(e, "case")
            .map_err(|r| bad(&x("case"), r))?
            .to_owned();
        match parse_identifier(&case) {
            Ok(i) if i.type_name == "incident" => {}
            _ => return Err(bad(&x("case"), format!("{case:?} is not an incident id"))),
        }
        let kind = MessageKind::parse(str_field(e, "kind").map_err(|r| bad(&x("kind"), r))?)
            .map_err(|r| bad(&x("kind"), r.to_string()))?;
        let time = ts_field(m, "created").map_err(|r| bad("created", r))?;
        let modified = ts_field(m, "modified").map_err(|r| bad("modified", r))?;
        let text = str_field(m, "content")
            .map_err(|r| bad("content", r))?
            .to_owned();
        let refs = m
            .get("object_refs")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("object_refs", "missing or not a list".into()))?;
        if refs.len() > MAX_ATTACHMENTS + 1 {
            return Err(bad(
                "object_refs",
                format!(
                    "{} references (at most {})",
                    refs.len(),
                    MAX_ATTACHMENTS + 1
                ),
            ));
        }
        let mut names_case = false;
        let mut attachments = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            let s = r
                .as_str()
                .ok_or_else(|| bad(&format!("object_refs[{i}]"), "not a string".into()))?;
            if s == case {
                names_case = true;
            } else {
                attachments.push(s.to_owned());
            }
        }
        if !names_case {
            return Err(bad("object_refs", format!("does not name the case {case}")));
        }
        let author = match m.get("created_by_ref") {
            None => None,
            Some(_) => {
                Some(identity_field(m, "created_by_ref").map_err(|r| bad("created_by_ref", r))?)
            }
        };
        let u32_field = |k: &str| -> Result<u64, FoldError> {
            e.get(k)
                .ok_or_else(|| bad(&x(k), "missing".into()))?
                .as_u64()
                .ok_or_else(|| bad(&x(k), "not a non-negative integer".into()))
        };
        let mut msg = Message {
            id: id.clone(),
            case: case.clone(),
            author: author.clone(),
            time,
            modified,
            kind,
            text,
            attachments,
            seq: None,
            assist: None,
            deadlines: None,
            escalation: None,
            object: note.clone(),
        };
        if kind == MessageKind::Escalate {
            let cycle = u32::try_from(u32_field("cycle")?)
                .map_err(|_| bad(&x("cycle"), "out of range".into()))?;
            let d =
                DeadlineKind::parse(str_field(e, "deadline").map_err(|r| bad(&x("deadline"), r))?)
                    .map_err(|r| bad(&x("deadline"), r.to_string()))?;
            let want = escalation_note_id(&case, cycle, d, time);
            if id != want {
                return Err(bad("id", format!("an escalation's id must be {want}")));
            }
            if modified != time {
                return Err(bad(
                    "modified",
                    "an escalation's must equal its `created`".into(),
                ));
            }
            msg.escalation = Some((cycle, d));
            return Ok(msg);
        }
        let author = author.ok_or_else(|| {
            bad(
                "created_by_ref",
                "missing (a party's message names its author)".into(),
            )
        })?;
        let seq = u32_field("seq")?;
        if seq == 0 {
            return Err(bad(&x("seq"), "must be 1 or more".into()));
        }
        if id != note_id(&case, &author, seq) {
            return Err(bad(
                "id",
                format!(
                    "must be {} (UUIDv5 of case, author and seq {seq})",
                    note_id(&case, &author, seq)
                ),
            ));
        }
        msg.seq = Some(seq);
        match kind {
            MessageKind::AssistAnswer => {
                let a = e
                    .get("assist")
                    .and_then(Value::as_object)
                    .ok_or_else(|| bad(&x("assist"), "missing or not an object".into()))?;
                let action = Assistance::parse(
                    str_field(a, "action").map_err(|r| bad(&x("assist.action"), r))?,
                )
                .map_err(|r| bad(&x("assist.action"), r.to_string()))?;
                let outcome = AssistOutcome::parse(
                    str_field(a, "outcome").map_err(|r| bad(&x("assist.outcome"), r))?,
                )
                .map_err(|r| bad(&x("assist.outcome"), r.to_string()))?;
                msg.assist = Some((action, outcome));
            }
            MessageKind::Reopen => {
                let ack = ts_field(e, "ack_by").map_err(|r| bad(&x("ack_by"), r))?;
                let res = ts_field(e, "resolve_by").map_err(|r| bad(&x("resolve_by"), r))?;
                check_deadlines(time, ack, res).map_err(|r| bad(&x("ack_by"), r.into()))?;
                msg.deadlines = Some((ack, res));
            }
            _ => {}
        }
        Ok(msg)
    }

    fn sort_key(&self) -> (Timestamp, bool, &str) {
        (self.time, self.kind == MessageKind::Escalate, &self.id)
    }
}

/// What the fold did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied: the state before and after.
    Applied {
        /// Before.
        from: State,
        /// After.
        to: State,
    },
    /// Refused by the rules at its place in the thread.
    Rejected(TransitionError),
}

/// One message and what the fold did with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The message.
    pub message: Message,
    /// Applied or rejected.
    pub outcome: Outcome,
}

/// One opening or reopening of a case, with its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    /// When it started (the incident's `created`, or the reopen's).
    pub started: Timestamp,
    /// Acknowledge (or decline, or withdraw) by then.
    pub ack_by: Timestamp,
    /// Resolve (or decline) by then.
    pub resolve_by: Timestamp,
    /// When the case left `open` in this cycle.
    pub acked_at: Option<Timestamp>,
    /// When it was resolved or declined in this cycle.
    pub closed_at: Option<Timestamp>,
    /// The ack deadline's escalation was recorded.
    pub ack_escalated: bool,
    /// The resolve deadline's escalation was recorded.
    pub resolve_escalated: bool,
}

impl Cycle {
    fn new(started: Timestamp, ack_by: Timestamp, resolve_by: Timestamp) -> Cycle {
        Cycle {
            started,
            ack_by,
            resolve_by,
            acked_at: None,
            closed_at: None,
            ack_escalated: false,
            resolve_escalated: false,
        }
    }

    /// The deadline's time.
    pub fn deadline(&self, d: DeadlineKind) -> Timestamp {
        match d {
            DeadlineKind::Ack => self.ack_by,
            DeadlineKind::Resolve => self.resolve_by,
        }
    }

    /// When the deadline's obligation was met, if it was.
    pub fn met_at(&self, d: DeadlineKind) -> Option<Timestamp> {
        match d {
            DeadlineKind::Ack => self.acked_at,
            DeadlineKind::Resolve => self.closed_at,
        }
    }

    /// Whether the deadline's escalation was recorded.
    pub fn escalated(&self, d: DeadlineKind) -> bool {
        match d {
            DeadlineKind::Ack => self.ack_escalated,
            DeadlineKind::Resolve => self.resolve_escalated,
        }
    }

    /// The deadline was missed: not met at or before it (met later, or
    /// not yet met and `now` is at or past it).
    pub fn missed(&self, d: DeadlineKind, now: Timestamp) -> bool {
        let due = self.deadline(d);
        match self.met_at(d) {
            Some(t) => t > due,
            None => now >= due,
        }
    }
}

/// What [`Case::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The note was already in the case: nothing changed.
    Duplicate,
    /// The note is new; what the fold did with it.
    New(Outcome),
}

/// A hotline case: the incident and the fold of its notes.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    header: CaseHeader,
    incident: Object,
    entries: Vec<Entry>,
    state: State,
    escalation: u32,
    cycles: Vec<Cycle>,
    conflicts: Vec<String>,
}

fn allowed_next(kind: MessageKind, state: State, role: Role) -> Option<State> {
    use MessageKind as K;
    use State as S;
    let opener = matches!(role, Role::Opener | Role::Both);
    let addressee = matches!(role, Role::Addressee | Role::Both);
    let party = role != Role::System;
    let working = matches!(state, S::Acknowledged | S::InProgress);
    match kind {
        K::Open | K::Escalate => None,
        K::Ack => (addressee && state == S::Open).then_some(S::Acknowledged),
        K::Progress => (addressee && working).then_some(S::InProgress),
        K::Reply => party.then_some(state),
        K::AssistAnswer => (addressee && working).then_some(state),
        K::Resolve => ((party && working) || (opener && state == S::Open)).then_some(S::Resolved),
        K::Decline => (addressee && !state.is_closed()).then_some(S::Declined),
        K::Reopen => (party && state.is_closed()).then_some(S::Open),
    }
}

/// The messages a party in `role` may send in `state` (`open` and
/// `escalate` are never listed: they are not sent by hand).
pub fn allowed_kinds(state: State, role: Role) -> Vec<MessageKind> {
    MessageKind::ALL
        .iter()
        .copied()
        .filter(|k| allowed_next(*k, state, role).is_some())
        .collect()
}

impl Case {
    /// A case with no notes yet (the incident alone).
    ///
    /// # Errors
    /// [`FoldError::NotACase`].
    pub fn new(incident: &Object) -> Result<Case, FoldError> {
        let header = CaseHeader::parse(incident)?;
        let mut c = Case {
            cycles: vec![Cycle::new(header.created, header.ack_by, header.resolve_by)],
            header,
            incident: incident.clone(),
            entries: Vec::new(),
            state: State::Open,
            escalation: 0,
            conflicts: Vec::new(),
        };
        c.refold();
        Ok(c)
    }

    /// The case folded from its incident and notes, given in any order,
    /// duplicates included: the result depends only on the set of notes.
    ///
    /// # Errors
    /// [`FoldError::NotACase`] for the incident; for a note,
    /// [`FoldError::BadMessage`], [`FoldError::WrongCase`],
    /// [`FoldError::NotAParty`] or [`FoldError::TooManyNotes`] (a note the
    /// rules refuse is not an error: it is kept as rejected). Two versions
    /// of one note id are not an error either: one is kept (see
    /// [`Case::conflicts`]).
    pub fn from_thread<'a>(
        incident: &Object,
        notes: impl IntoIterator<Item = &'a Object>,
    ) -> Result<Case, FoldError> {
        let mut c = Case::new(incident)?;
        for n in notes {
            let msg = c.admit(n)?;
            c.insert(msg);
        }
        c.refold();
        Ok(c)
    }

    /// Adds one note (as delivered) and folds again.
    ///
    /// # Errors
    /// As [`Case::from_thread`], and [`FoldError::Conflict`] when the id
    /// is already here with other content (the case then keeps the version
    /// `from_thread` would keep, so the state does not depend on arrival
    /// order).
    pub fn apply(&mut self, note: &Object) -> Result<Applied, FoldError> {
        let msg = self.admit(note)?;
        let id = msg.id.clone();
        if let Some(e) = self.entries.iter().find(|e| e.message.id == id) {
            if e.message.object == msg.object {
                return Ok(Applied::Duplicate);
            }
            self.insert(msg);
            self.refold();
            let kept = self
                .entries
                .iter()
                .find(|e| e.message.id == id)
                .map(|e| e.message.modified.to_millis_string())
                .unwrap_or_default();
            return Err(FoldError::Conflict { id, kept });
        }
        self.insert(msg);
        self.refold();
        let outcome = self
            .entries
            .iter()
            .find(|e| e.message.id == id)
            .map(|e| e.outcome.clone())
            .expect("the note was inserted");
        Ok(Applied::New(outcome))
    }

    /// Reads a note and checks it belongs here and is from a party.
    fn admit(&self, note: &Object) -> Result<Message, FoldError> {
        let msg = Message::parse(note)?;
        if msg.case != self.header.id {
            return Err(FoldError::WrongCase {
                note: msg.id,
                case: msg.case,
                expected: self.header.id.clone(),
            });
        }
        if msg.time < self.header.created {
            return Err(FoldError::BadMessage {
                id: msg.id,
                path: "created".into(),
                reason: format!(
                    "{} is before the case was opened ({})",
                    msg.time.to_millis_string(),
                    self.header.created.to_millis_string()
                ),
            });
        }
        if let Some(a) = &msg.author
            && self.header.role_of(a).is_none()
        {
            return Err(FoldError::NotAParty {
                note: msg.id.clone(),
                author: a.clone(),
                case: self.header.id.clone(),
                from: self.header.from.clone(),
                to: self.header.to.clone(),
            });
        }
        if let Some((cycle, deadline)) = msg.escalation {
            // Every byte of an escalation follows from the case and its
            // time: the same deadline gives the same note on both nodes.
            let want = crate::build::escalate_note(
                self,
                &crate::build::Escalation {
                    case: self.header.id.clone(),
                    cycle,
                    deadline,
                    due: msg.time,
                    severity: self.header.severity,
                    to: self.header.to.clone(),
                    level: 0,
                    exercise: self.header.exercise,
                },
            );
            if want != *note {
                return Err(FoldError::BadMessage {
                    id: msg.id,
                    path: String::new(),
                    reason: "an escalation must be exactly the note the nodes write (no author, fixed text)".into(),
                });
            }
        }
        if self.entries.len() >= MAX_NOTES && !self.entries.iter().any(|e| e.message.id == msg.id) {
            return Err(FoldError::TooManyNotes {
                case: self.header.id.clone(),
                max: MAX_NOTES,
            });
        }
        Ok(msg)
    }

    /// Inserts (or, for a second version, keeps the smaller of the two).
    fn insert(&mut self, msg: Message) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.message.id == msg.id) {
            if e.message.object == msg.object {
                return;
            }
            if !self.conflicts.contains(&msg.id) {
                self.conflicts.push(msg.id.clone());
                self.conflicts.sort();
            }
            let key = |m: &Message| {
                (
                    m.modified,
                    serde_json::to_string(m.object.as_map()).unwrap_or_default(),
                )
            };
            if key(&msg) < key(&e.message) {
                e.message = msg;
            }
            return;
        }
        self.entries.push(Entry {
            message: msg,
            outcome: Outcome::Rejected(TransitionError::BadInput {
                case: String::new(),
                what: "not folded yet".into(),
            }),
        });
    }

    fn refold(&mut self) {
        self.entries
            .sort_by(|a, b| a.message.sort_key().cmp(&b.message.sort_key()));
        let h = &self.header;
        let mut state = State::Open;
        let mut level = 0u32;
        let mut cycles = vec![Cycle::new(h.created, h.ack_by, h.resolve_by)];
        let mut opened_by: Option<String> = None;
        for e in &mut self.entries {
            let m = &e.message;
            let outcome = step(h, state, &mut cycles, &mut level, &mut opened_by, m);
            if let Outcome::Applied { to, .. } = &outcome {
                state = *to;
            }
            e.outcome = outcome;
        }
        self.state = state;
        self.escalation = level;
        self.cycles = cycles;
    }

    /// The case id (the incident id).
    pub fn id(&self) -> &str {
        &self.header.id
    }

    /// What the incident says.
    pub fn header(&self) -> &CaseHeader {
        &self.header
    }

    /// The incident.
    pub fn incident(&self) -> &Object {
        &self.incident
    }

    /// The state after the fold.
    pub fn state(&self) -> State {
        self.state
    }

    /// How many escalations were recorded (0 = none).
    pub fn escalation(&self) -> u32 {
        self.escalation
    }

    /// The cycles: the opening, then one per applied reopen.
    pub fn cycles(&self) -> &[Cycle] {
        &self.cycles
    }

    /// The current cycle.
    pub fn current_cycle(&self) -> &Cycle {
        self.cycles.last().expect("a case has its first cycle")
    }

    /// Every message in fold order, with what the fold did with it.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Note ids that arrived in two versions (one kept).
    pub fn conflicts(&self) -> &[String] {
        &self.conflicts
    }

    /// The notes, in fold order.
    pub fn notes(&self) -> impl Iterator<Item = &Object> {
        self.entries.iter().map(|e| &e.message.object)
    }

    /// The applied answers to assistance: action, outcome, time.
    pub fn assist_answers(&self) -> Vec<(Assistance, AssistOutcome, Timestamp)> {
        self.entries
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Applied { .. }))
            .filter_map(|e| e.message.assist.map(|(a, o)| (a, o, e.message.time)))
            .collect()
    }

    /// The part `actor` plays, if any.
    pub fn role_of(&self, actor: &str) -> Option<Role> {
        self.header.role_of(actor)
    }

    /// What `actor` may send now (empty for a non-party).
    pub fn allowed(&self, actor: &str) -> Vec<MessageKind> {
        self.role_of(actor)
            .map_or_else(Vec::new, |r| allowed_kinds(self.state, r))
    }

    /// A deadline of the current cycle has passed unmet at `now`.
    pub fn overdue(&self, now: Timestamp) -> bool {
        let c = self.current_cycle();
        [DeadlineKind::Ack, DeadlineKind::Resolve]
            .into_iter()
            .any(|d| c.met_at(d).is_none() && now >= c.deadline(d))
    }

    /// The latest time recorded in the case (incident or note).
    pub fn last_time(&self) -> Timestamp {
        self.entries
            .iter()
            .map(|e| e.message.time)
            .fold(self.header.created, Timestamp::max)
    }

    /// The sequence number of `author`'s next note.
    pub fn next_seq(&self, author: &str) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.message.author.as_deref() == Some(author))
            .filter_map(|e| e.message.seq)
            .max()
            .unwrap_or(0)
            + 1
    }
}

/// One line of `accord hotline list --json` (the partner's name is the
/// caller's to add: parties here are identity ids).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseSummary {
    /// The incident id.
    pub id: String,
    /// The incident's name.
    pub title: String,
    /// The state after the fold.
    pub state: State,
    /// Severity.
    pub severity: Severity,
    /// The opener's identity id.
    pub opener: String,
    /// The addressee's identity id.
    pub addressee: String,
    /// Escalations recorded (0 = none).
    pub escalation: u32,
    /// A deadline of the current cycle has passed unmet.
    pub overdue: bool,
    /// An exercise.
    pub exercise: bool,
    /// The protected facility, or null.
    pub facility: Option<String>,
    /// The current cycle's deadlines (STIX timestamps).
    pub ack_by: String,
    /// The current cycle's resolve deadline.
    pub resolve_by: String,
}

/// One message of `accord hotline show --json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MessageSummary {
    /// The note id.
    pub id: String,
    /// The author's identity id (null for an escalation).
    pub from: Option<String>,
    /// `created`.
    pub time: String,
    /// The kind.
    pub kind: MessageKind,
    /// `content`.
    pub text: String,
    /// Attached object ids.
    pub attachments: Vec<String>,
    /// Whether the fold applied it.
    pub applied: bool,
    /// Why it was refused, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

impl Case {
    /// The case as one line of a listing, at `now`.
    pub fn summary(&self, now: Timestamp) -> CaseSummary {
        let h = &self.header;
        let c = self.current_cycle();
        CaseSummary {
            id: h.id.clone(),
            title: h.title.clone(),
            state: self.state,
            severity: h.severity,
            opener: h.from.clone(),
            addressee: h.to.clone(),
            escalation: self.escalation,
            overdue: self.overdue(now),
            exercise: h.exercise,
            facility: h.facility.clone(),
            ack_by: c.ack_by.to_millis_string(),
            resolve_by: c.resolve_by.to_millis_string(),
        }
    }

    /// The thread, in fold order.
    pub fn messages(&self) -> Vec<MessageSummary> {
        self.entries
            .iter()
            .map(|e| MessageSummary {
                id: e.message.id.clone(),
                from: e.message.author.clone(),
                time: e.message.time.to_millis_string(),
                kind: e.message.kind,
                text: e.message.text.clone(),
                attachments: e.message.attachments.clone(),
                applied: matches!(e.outcome, Outcome::Applied { .. }),
                refused: match &e.outcome {
                    Outcome::Rejected(r) => Some(r.to_string()),
                    Outcome::Applied { .. } => None,
                },
            })
            .collect()
    }
}

/// Checks a party's message (kind, text, assistance) against the rules in
/// `state`; returns the state it leads to.
pub(crate) fn check_party(
    h: &CaseHeader,
    state: State,
    role: Role,
    kind: MessageKind,
    text: &str,
    assist: Option<(Assistance, AssistOutcome)>,
) -> Result<State, TransitionError> {
    let next = allowed_next(kind, state, role).ok_or_else(|| TransitionError::NotAllowed {
        case: h.id.clone(),
        state,
        kind,
        role,
        allowed: allowed_kinds(state, role),
    })?;
    let what = match kind {
        MessageKind::Decline | MessageKind::Reopen => Some("the reason"),
        MessageKind::Reply => Some("the message"),
        _ => None,
    };
    if let Some(what) = what
        && text.trim().is_empty()
    {
        return Err(TransitionError::TextRequired {
            case: h.id.clone(),
            kind,
            what,
        });
    }
    if let Some((action, _)) = assist
        && !h.assistance.contains(&action)
    {
        return Err(TransitionError::AssistanceNotAsked {
            case: h.id.clone(),
            action,
            asked: if h.assistance.is_empty() {
                "nothing".into()
            } else {
                h.assistance
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        });
    }
    Ok(next)
}

fn step(
    h: &CaseHeader,
    state: State,
    cycles: &mut Vec<Cycle>,
    level: &mut u32,
    opened_by: &mut Option<String>,
    m: &Message,
) -> Outcome {
    let applied = |to| Outcome::Applied { from: state, to };
    let Some(author) = &m.author else {
        // An escalation (Message::parse guarantees kind and fields).
        let Some((cycle, d)) = m.escalation else {
            return Outcome::Rejected(TransitionError::BadInput {
                case: h.id.clone(),
                what: format!("{}: a message without an author", m.id),
            });
        };
        let not_due = |reason| {
            Outcome::Rejected(TransitionError::EscalationNotDue {
                case: h.id.clone(),
                cycle,
                deadline: d,
                reason,
            })
        };
        let current = cycles.len() - 1;
        if cycle as usize != current {
            return not_due("the case is not in that cycle at the escalation's time");
        }
        let c = &mut cycles[current];
        if m.time != c.deadline(d) {
            return not_due("its time is not the deadline's");
        }
        if c.escalated(d) {
            return not_due("already escalated");
        }
        if c.met_at(d).is_some() {
            return not_due("the deadline was met");
        }
        match d {
            DeadlineKind::Ack => c.ack_escalated = true,
            DeadlineKind::Resolve => c.resolve_escalated = true,
        }
        *level += 1;
        return applied(state);
    };
    let role = h
        .role_of(author)
        .expect("admit checked the author is a party");
    if m.kind == MessageKind::Open {
        if let Some(by) = opened_by {
            return Outcome::Rejected(TransitionError::AlreadyOpened {
                case: h.id.clone(),
                by: by.clone(),
            });
        }
        if !matches!(role, Role::Opener | Role::Both) {
            return Outcome::Rejected(TransitionError::NotAllowed {
                case: h.id.clone(),
                state,
                kind: m.kind,
                role,
                allowed: allowed_kinds(state, role),
            });
        }
        *opened_by = Some(m.id.clone());
        return applied(state);
    }
    match check_party(h, state, role, m.kind, &m.text, m.assist) {
        Err(e) => Outcome::Rejected(e),
        Ok(next) => {
            let c = cycles.last_mut().expect("a case has its first cycle");
            if state == State::Open && next != State::Open && c.acked_at.is_none() {
                c.acked_at = Some(m.time);
            }
            if next.is_closed() && !state.is_closed() {
                c.closed_at = Some(m.time);
            }
            if m.kind == MessageKind::Reopen {
                let (ack, res) = m
                    .deadlines
                    .expect("Message::parse requires a reopen's deadlines");
                cycles.push(Cycle::new(m.time, ack, res));
            }
            applied(next)
        }
    }
}
