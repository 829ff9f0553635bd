//! Builders: the incident and first note of a new case, the note of each
//! transition, the escalation notes of deadlines passed. Every object is
//! valid STIX 2.1; ids are derived (UUIDv5) wherever a retry or the other
//! node must produce the same id.

use crate::case::{
    Case, MAX_ATTACHMENTS, Outcome, TransitionError, check_deadlines, escalation_note_id, note_id,
};
use crate::deadline::DeadlineTable;
use crate::ext::{HOTLINE_EXTENSION_ID, v5};
use crate::model::{AssistOutcome, Assistance, DeadlineKind, MessageKind, Severity};
use accord_stix::{Object, Timestamp, parse_identifier};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The longest title, description or message text accepted, in bytes.
pub const MAX_TEXT: usize = 64 * 1024;

/// What opening a case needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCase {
    /// The incident's UUID: random for a case opened by hand,
    /// [`case_uuid`] of a seed when the same event must open the same case.
    pub case_uuid: Uuid,
    /// The opener's identity id (this node's).
    pub from: String,
    /// The addressee's identity id (the partner's; this node's own for a
    /// case kept local).
    pub to: String,
    /// Severity (picks the deadlines).
    pub severity: Severity,
    /// The incident's `name`.
    pub title: String,
    /// The incident's `description`.
    pub description: Option<String>,
    /// The open note's text (the title when empty).
    pub text: String,
    /// Ids of objects attached to the open note (indicators, sightings…).
    pub attachments: Vec<String>,
    /// Assistance asked.
    pub assistance: Vec<Assistance>,
    /// An exercise.
    pub exercise: bool,
    /// The protected facility concerned.
    pub facility: Option<String>,
}

/// A derived case UUID (UUIDv5 of `seed`), so that one event (say a
/// facility touch: facility name and evidence id) opens one case however
/// often it is seen.
pub fn case_uuid(seed: &str) -> Uuid {
    v5(&format!("case|{seed}"))
}

/// A party's message on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Acknowledge.
    Ack,
    /// Write, the state stays.
    Reply,
    /// Report progress.
    Progress,
    /// Resolve.
    Resolve,
    /// Decline (the text is the reason).
    Decline,
    /// Reopen (the text is the reason).
    Reopen,
    /// Answer an assistance request.
    AssistAnswer(Assistance, AssistOutcome),
}

impl Action {
    /// The message kind it writes.
    pub fn kind(self) -> MessageKind {
        match self {
            Action::Ack => MessageKind::Ack,
            Action::Reply => MessageKind::Reply,
            Action::Progress => MessageKind::Progress,
            Action::Resolve => MessageKind::Resolve,
            Action::Decline => MessageKind::Decline,
            Action::Reopen => MessageKind::Reopen,
            Action::AssistAnswer(..) => MessageKind::AssistAnswer,
        }
    }
}

/// `t` truncated to whole milliseconds (the precision of the timestamps
/// written).
fn ms(t: Timestamp) -> Timestamp {
    Timestamp::from_unix(t.unix_seconds, t.nanos / 1_000_000 * 1_000_000)
}

fn plus_secs(t: Timestamp, s: u64) -> Timestamp {
    Timestamp::from_unix(t.unix_seconds.saturating_add(s as i64), t.nanos)
}

fn plus_ms(t: Timestamp, n: u32) -> Timestamp {
    let nanos = t.nanos + n * 1_000_000;
    Timestamp::from_unix(
        t.unix_seconds + i64::from(nanos / 1_000_000_000),
        nanos % 1_000_000_000,
    )
}

fn check_text(case: &str, what: &str, s: &str) -> Result<(), TransitionError> {
    if s.len() > MAX_TEXT {
        return Err(TransitionError::BadInput {
            case: case.to_owned(),
            what: format!("{what} is {} bytes (at most {MAX_TEXT})", s.len()),
        });
    }
    Ok(())
}

fn check_refs(case: &str, refs: &[String]) -> Result<(), TransitionError> {
    if refs.len() > MAX_ATTACHMENTS {
        return Err(TransitionError::BadInput {
            case: case.to_owned(),
            what: format!("{} attachments (at most {MAX_ATTACHMENTS})", refs.len()),
        });
    }
    for r in refs {
        parse_identifier(r).map_err(|e| TransitionError::BadInput {
            case: case.to_owned(),
            what: format!("attachment {r:?}: {e}"),
        })?;
    }
    Ok(())
}

fn identity(case: &str, what: &str, s: &str) -> Result<(), TransitionError> {
    match parse_identifier(s) {
        Ok(i) if i.type_name == "identity" => Ok(()),
        _ => Err(TransitionError::BadInput {
            case: case.to_owned(),
            what: format!("{what} {s:?} is not an identity id"),
        }),
    }
}

fn abstract_of(kind: MessageKind, title: &str) -> String {
    let label = match kind {
        MessageKind::Open => "Case opened",
        MessageKind::Ack => "Acknowledged",
        MessageKind::Reply => "Reply",
        MessageKind::Progress => "Progress",
        MessageKind::Resolve => "Resolved",
        MessageKind::Decline => "Declined",
        MessageKind::Reopen => "Reopened",
        MessageKind::Escalate => "Deadline passed, escalated",
        MessageKind::AssistAnswer => "Assistance answered",
    };
    let t: String = title.chars().take(200).collect();
    format!("{label}: {t}")
}

/// What a note is made of.
struct NoteParts<'a> {
    id: String,
    author: Option<&'a str>,
    time: Timestamp,
    kind: MessageKind,
    title: &'a str,
    text: &'a str,
    case: &'a str,
    attachments: &'a [String],
    ext: Map<String, Value>,
}

fn note_object(p: NoteParts<'_>) -> Object {
    let NoteParts {
        id,
        author,
        time,
        kind,
        title,
        text,
        case,
        attachments,
        ext,
    } = p;
    let t = time.to_millis_string();
    let mut refs = vec![Value::String(case.to_owned())];
    refs.extend(
        attachments
            .iter()
            .filter(|a| *a != case)
            .map(|a| Value::String(a.clone())),
    );
    let mut m = Map::new();
    m.insert("type".into(), "note".into());
    m.insert("spec_version".into(), "2.1".into());
    m.insert("id".into(), id.into());
    m.insert("created".into(), t.clone().into());
    m.insert("modified".into(), t.into());
    if let Some(a) = author {
        m.insert("created_by_ref".into(), a.into());
    }
    m.insert("abstract".into(), abstract_of(kind, title).into());
    m.insert("content".into(), text.into());
    m.insert("object_refs".into(), Value::Array(refs));
    let mut exts = Map::new();
    exts.insert(HOTLINE_EXTENSION_ID.into(), Value::Object(ext));
    m.insert("extensions".into(), Value::Object(exts));
    Object::from_map(m)
}

fn ext_base(case: &str, kind: MessageKind) -> Map<String, Value> {
    let mut e = Map::new();
    e.insert("extension_type".into(), "property-extension".into());
    e.insert("case".into(), case.into());
    e.insert("kind".into(), kind.as_str().into());
    e
}

/// Opens a case: the incident and its first note (kind `open`, seq 1),
/// both created at `now` (milliseconds), with deadlines from `deadlines`.
///
/// # Errors
/// [`TransitionError::BadInput`] for an identity that is not an
/// `identity--` id, an empty title, a text over [`MAX_TEXT`], an
/// attachment that is not a STIX id or too many of them.
pub fn open_case(
    req: &OpenCase,
    deadlines: &DeadlineTable,
    now: Timestamp,
) -> Result<(Object, Object), TransitionError> {
    let case = format!("incident--{}", req.case_uuid);
    identity(&case, "from", &req.from)?;
    identity(&case, "to", &req.to)?;
    if req.title.trim().is_empty() {
        return Err(TransitionError::BadInput {
            case,
            what: "the title is empty".into(),
        });
    }
    check_text(&case, "the title", &req.title)?;
    if let Some(d) = &req.description {
        check_text(&case, "the description", d)?;
    }
    check_text(&case, "the text", &req.text)?;
    check_refs(&case, &req.attachments)?;
    if let Some(f) = &req.facility {
        check_text(&case, "the facility", f)?;
    }
    let now = ms(now);
    let spans = deadlines.spans(req.severity);
    let ack_by = plus_secs(now, spans.ack);
    let resolve_by = plus_secs(now, spans.resolve);
    check_deadlines(now, ack_by, resolve_by).map_err(|r| TransitionError::BadInput {
        case: case.clone(),
        what: format!("deadlines: {r}"),
    })?;
    let t = now.to_millis_string();
    let mut ext = Map::new();
    ext.insert("extension_type".into(), "property-extension".into());
    ext.insert("severity".into(), req.severity.as_str().into());
    ext.insert("state".into(), "open".into());
    ext.insert("from".into(), req.from.clone().into());
    ext.insert("to".into(), req.to.clone().into());
    ext.insert("ack_by".into(), ack_by.to_millis_string().into());
    ext.insert("resolve_by".into(), resolve_by.to_millis_string().into());
    ext.insert("escalation".into(), 0.into());
    let mut asked: Vec<Assistance> = Vec::new();
    for a in &req.assistance {
        if !asked.contains(a) {
            asked.push(*a);
        }
    }
    if !asked.is_empty() {
        ext.insert(
            "assistance".into(),
            Value::Array(asked.iter().map(|a| a.as_str().into()).collect()),
        );
    }
    ext.insert("exercise".into(), req.exercise.into());
    if let Some(f) = &req.facility {
        ext.insert("facility".into(), f.clone().into());
    }
    let mut m = Map::new();
    m.insert("type".into(), "incident".into());
    m.insert("spec_version".into(), "2.1".into());
    m.insert("id".into(), case.clone().into());
    m.insert("created".into(), t.clone().into());
    m.insert("modified".into(), t.into());
    m.insert("created_by_ref".into(), req.from.clone().into());
    m.insert("name".into(), req.title.clone().into());
    if let Some(d) = &req.description {
        m.insert("description".into(), d.clone().into());
    }
    let mut exts = Map::new();
    exts.insert(HOTLINE_EXTENSION_ID.into(), Value::Object(ext));
    m.insert("extensions".into(), Value::Object(exts));
    let incident = Object::from_map(m);

    let mut e = ext_base(&case, MessageKind::Open);
    e.insert("seq".into(), 1.into());
    e.insert("transition".into(), json!({"from": "open", "to": "open"}));
    let text = if req.text.trim().is_empty() {
        req.description.clone().unwrap_or_else(|| req.title.clone())
    } else {
        req.text.clone()
    };
    let note = note_object(NoteParts {
        id: note_id(&case, &req.from, 1),
        author: Some(&req.from),
        time: now,
        kind: MessageKind::Open,
        title: &req.title,
        text: &text,
        case: &case,
        attachments: &req.attachments,
        ext: e,
    });
    Ok((incident, note))
}

/// The note of `actor`'s `action` on `case`, created at `now` or, when
/// the clock is behind the case (a clock moved back), 1 ms after the
/// case's latest time: a note never sorts before what its author saw.
///
/// # Errors
/// [`TransitionError::NotAParty`]; [`TransitionError::NotAllowed`] naming
/// the state and what `actor` may send; [`TransitionError::TextRequired`]
/// for a reply, decline or reopen without text;
/// [`TransitionError::AssistanceNotAsked`]; [`TransitionError::BadInput`].
pub fn transition(
    case: &Case,
    actor: &str,
    action: Action,
    text: &str,
    attachments: &[String],
    now: Timestamp,
) -> Result<Object, TransitionError> {
    let h = case.header();
    let role = case
        .role_of(actor)
        .ok_or_else(|| TransitionError::NotAParty {
            case: h.id.clone(),
            actor: actor.to_owned(),
            from: h.from.clone(),
            to: h.to.clone(),
        })?;
    check_text(&h.id, "the text", text)?;
    check_refs(&h.id, attachments)?;
    let kind = action.kind();
    let assist = match action {
        Action::AssistAnswer(a, o) => Some((a, o)),
        _ => None,
    };
    let from = case.state();
    let to = crate::case::check_party(h, from, role, kind, text, assist)?;
    let time = ms(now).max(plus_ms(case.last_time(), 1));
    let seq = case.next_seq(actor);
    let mut e = ext_base(&h.id, kind);
    e.insert("seq".into(), seq.into());
    e.insert(
        "transition".into(),
        json!({"from": from.as_str(), "to": to.as_str()}),
    );
    if let Some((a, o)) = assist {
        e.insert(
            "assist".into(),
            json!({"action": a.as_str(), "outcome": o.as_str()}),
        );
    }
    if kind == MessageKind::Reopen {
        let ack_span = (h.ack_by.unix_seconds - h.created.unix_seconds).max(0) as u64;
        let res_span = (h.resolve_by.unix_seconds - h.created.unix_seconds).max(0) as u64;
        e.insert(
            "ack_by".into(),
            plus_secs(time, ack_span).to_millis_string().into(),
        );
        e.insert(
            "resolve_by".into(),
            plus_secs(time, res_span).to_millis_string().into(),
        );
    }
    let content = if text.trim().is_empty() {
        default_text(kind, assist)
    } else {
        text.to_owned()
    };
    let note = note_object(NoteParts {
        id: note_id(&h.id, actor, seq),
        author: Some(actor),
        time,
        kind,
        title: &h.title,
        text: &content,
        case: &h.id,
        attachments,
        ext: e,
    });
    // The fold must agree with the check above.
    let mut after = case.clone();
    match after.apply(&note) {
        Ok(crate::case::Applied::New(Outcome::Applied { .. })) => Ok(note),
        Ok(crate::case::Applied::New(Outcome::Rejected(e))) => Err(e),
        Ok(crate::case::Applied::Duplicate) | Err(_) => Err(TransitionError::BadInput {
            case: h.id.clone(),
            what: format!("note {} is already in the case", note_id(&h.id, actor, seq)),
        }),
    }
}

fn default_text(kind: MessageKind, assist: Option<(Assistance, AssistOutcome)>) -> String {
    match (kind, assist) {
        (MessageKind::AssistAnswer, Some((a, o))) => format!("Assistance {a}: {o}."),
        (MessageKind::Ack, _) => "Acknowledged.".into(),
        (MessageKind::Progress, _) => "In progress.".into(),
        (MessageKind::Resolve, _) => "Resolved.".into(),
        _ => kind.as_str().into(),
    }
}

/// A deadline passed unmet and not yet escalated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// The case.
    pub case: String,
    /// The cycle (0 = the opening, then one per reopen).
    pub cycle: u32,
    /// Which deadline.
    pub deadline: DeadlineKind,
    /// When it passed (the escalation note's `created`).
    pub due: Timestamp,
    /// The case's severity.
    pub severity: Severity,
    /// The addressee.
    pub to: String,
    /// The case's escalation level once this (and the ones before it in
    /// the list) are recorded.
    pub level: u32,
    /// An exercise.
    pub exercise: bool,
}

/// The deadlines of `case` that have passed unmet at `now` and have no
/// escalation recorded, in order of their time. A deadline met late still
/// counts as missed (it escalates once, even if the tick comes after the
/// late answer). Recording [`escalate_note`] of each in the case makes it
/// never due again, whatever `now` is later; a `now` earlier than a
/// deadline simply finds nothing due.
pub fn due_escalations(case: &Case, now: Timestamp) -> Vec<Escalation> {
    let h = case.header();
    let mut out = Vec::new();
    for (i, c) in case.cycles().iter().enumerate() {
        for d in [DeadlineKind::Ack, DeadlineKind::Resolve] {
            if !c.escalated(d) && c.missed(d, now) {
                out.push(Escalation {
                    case: h.id.clone(),
                    cycle: i as u32,
                    deadline: d,
                    due: c.deadline(d),
                    severity: h.severity,
                    to: h.to.clone(),
                    level: 0,
                    exercise: h.exercise,
                });
            }
        }
    }
    out.sort_by_key(|e| (e.due, e.cycle, e.deadline));
    for (i, e) in out.iter_mut().enumerate() {
        e.level = case.escalation() + i as u32 + 1;
    }
    out
}

/// The escalation note of `e`: no author (both nodes write the same bytes,
/// so the second copy is a duplicate), created at the deadline, id
/// [`escalation_note_id`]; its text says which deadline passed when.
pub fn escalate_note(case: &Case, e: &Escalation) -> Object {
    let h = case.header();
    let what = match e.deadline {
        DeadlineKind::Ack => "acknowledge",
        DeadlineKind::Resolve => "resolve",
    };
    let text = format!(
        "The deadline to {what} this {} case (cycle {}) passed at {} unmet: the case escalates.",
        h.severity,
        e.cycle,
        e.due.to_millis_string()
    );
    let mut x = ext_base(&h.id, MessageKind::Escalate);
    x.insert("cycle".into(), e.cycle.into());
    x.insert("deadline".into(), e.deadline.as_str().into());
    note_object(NoteParts {
        id: escalation_note_id(&h.id, e.cycle, e.deadline),
        author: None,
        time: e.due,
        kind: MessageKind::Escalate,
        title: &h.title,
        text: &text,
        case: &h.id,
        attachments: &[],
        ext: x,
    })
}
