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
    ext.insert("opener".into(), req.from.clone().into());
    ext.insert("addressee".into(), req.to.clone().into());
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
    e.insert(
        "transition".into(),
        json!({"from_state": "open", "to_state": "open"}),
    );
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
        json!({"from_state": from.as_str(), "to_state": to.as_str()}),
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
        Ok(crate::case::Applied::Duplicate) => Err(TransitionError::BadInput {
            case: h.id.clone(),
            what: format!("note {} is already in the case", note_id(&h.id, actor, seq)),
        }),
        Err(e) => Err(TransitionError::BadInput {
            case: h.id.clone(),
            what: e.to_string(),
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
        id: escalation_note_id(&h.id, e.cycle, e.deadline, e.due),
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::case::{Applied, FoldError};
    use crate::model::State;

    pub(crate) const A: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0a01";
    pub(crate) const B: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0b02";
    pub(crate) const C: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0c03";

    pub(crate) fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    pub(crate) fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix(t("2026-03-01T12:00:00Z").unix_seconds + secs, 0)
    }

    pub(crate) fn request(sev: Severity) -> OpenCase {
        OpenCase {
            case_uuid: case_uuid("test"),
            from: A.into(),
            to: B.into(),
            severity: sev,
            title: "Scanning of the exchange".into(),
            description: Some("Sustained scanning from your address space.".into()),
            text: String::new(),
            attachments: vec!["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into()],
            assistance: vec![Assistance::Block, Assistance::PreserveLogs],
            exercise: false,
            facility: Some("Example Exchange".into()),
        }
    }

    pub(crate) fn opened(sev: Severity) -> (Object, Object, Case) {
        let (i, n) = open_case(&request(sev), &DeadlineTable::default(), at(0)).unwrap();
        let c = Case::from_thread(&i, [&n]).unwrap();
        (i, n, c)
    }

    fn valid(o: &Object) {
        let issues = accord_stix::validate_object(o);
        assert!(
            accord_stix::is_valid(&issues),
            "{}: {issues:?}",
            o.to_json()
        );
    }

    fn step(c: &mut Case, who: &str, a: Action, text: &str, secs: i64) -> Object {
        let n = transition(c, who, a, text, &[], at(secs)).unwrap();
        valid(&n);
        assert!(matches!(
            c.apply(&n).unwrap(),
            Applied::New(crate::Outcome::Applied { .. })
        ));
        n
    }

    #[test]
    fn a_case_runs_from_open_to_resolved() {
        let (i, n, mut c) = opened(Severity::High);
        valid(&i);
        valid(&n);
        assert_eq!(c.state(), State::Open);
        assert_eq!(c.header().ack_by, at(4 * 3600));
        assert_eq!(c.header().resolve_by, at(72 * 3600));
        let ack = step(&mut c, B, Action::Ack, "", 60);
        assert_eq!(c.state(), State::Acknowledged);
        assert_eq!(ack.get("content").unwrap(), "Acknowledged.");
        step(&mut c, A, Action::Reply, "Thanks, logs attached.", 120);
        step(&mut c, B, Action::Progress, "Blocking now.", 180);
        assert_eq!(c.state(), State::InProgress);
        step(
            &mut c,
            B,
            Action::AssistAnswer(Assistance::Block, AssistOutcome::Done),
            "",
            200,
        );
        step(&mut c, A, Action::Resolve, "Scanning stopped.", 300);
        assert_eq!(c.state(), State::Resolved);
        assert_eq!(c.entries().len(), 6);
        assert_eq!(
            c.assist_answers(),
            [(Assistance::Block, AssistOutcome::Done, at(200))]
        );
        assert_eq!(c.next_seq(B), 4);
        assert!(!c.overdue(at(1_000_000)));
        let s = serde_json::to_value(c.summary(at(400))).unwrap();
        assert_eq!(
            (
                &s["state"],
                &s["severity"],
                &s["escalation"],
                &s["overdue"],
                &s["exercise"],
                &s["facility"]
            ),
            (
                &json!("resolved"),
                &json!("high"),
                &json!(0),
                &json!(false),
                &json!(false),
                &json!("Example Exchange")
            )
        );
        let msgs = serde_json::to_value(c.messages()).unwrap();
        assert_eq!(msgs[1]["kind"], "ack");
        assert_eq!(msgs[1]["from"], B);
        assert_eq!(msgs[2]["text"], "Thanks, logs attached.");
        // Both nodes fold the same notes to the same case.
        let notes: Vec<Object> = c.notes().cloned().collect();
        let other = Case::from_thread(&i, notes.iter().rev()).unwrap();
        assert_eq!(other, c);
    }

    #[test]
    fn a_refused_transition_names_the_state_and_what_is_allowed() {
        let (_, _, c) = opened(Severity::Low);
        let e = transition(&c, A, Action::Ack, "", &[], at(1)).unwrap_err();
        assert!(matches!(
            e,
            TransitionError::NotAllowed {
                state: State::Open,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            format!(
                "case {} is open: `ack` is not allowed for the opener; allowed: reply, resolve",
                c.id()
            )
        );
        let e = transition(&c, B, Action::Progress, "", &[], at(1)).unwrap_err();
        assert!(
            e.to_string().ends_with("allowed: ack, reply, decline"),
            "{e}"
        );
        let e = transition(&c, C, Action::Reply, "hi", &[], at(1)).unwrap_err();
        assert!(matches!(e, TransitionError::NotAParty { .. }), "{e}");
        let e = transition(&c, B, Action::Decline, "  ", &[], at(1)).unwrap_err();
        assert!(matches!(e, TransitionError::TextRequired { .. }), "{e}");
        let e = transition(&c, A, Action::Reply, "x", &["not an id".into()], at(1)).unwrap_err();
        assert!(e.to_string().contains("attachment \"not an id\""), "{e}");
    }

    #[test]
    fn assistance_not_asked_is_refused() {
        let (_, _, mut c) = opened(Severity::Low);
        step(&mut c, B, Action::Ack, "", 10);
        let e = transition(
            &c,
            B,
            Action::AssistAnswer(Assistance::TakeDown, AssistOutcome::Refused),
            "",
            &[],
            at(20),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "case {}: `take-down` was not asked (asked: block, preserve-logs)",
                c.id()
            )
        );
    }

    #[test]
    fn decline_and_reopen_start_a_new_cycle() {
        let (_, _, mut c) = opened(Severity::Critical);
        step(&mut c, B, Action::Decline, "Not our network.", 600);
        assert_eq!(c.state(), State::Declined);
        assert_eq!(c.allowed(B), [MessageKind::Reply, MessageKind::Reopen]);
        step(&mut c, A, Action::Reopen, "It is: see the whois.", 1200);
        assert_eq!(c.state(), State::Open);
        assert_eq!(c.cycles().len(), 2);
        let cy = c.current_cycle();
        assert_eq!(
            (cy.started, cy.ack_by, cy.resolve_by),
            (at(1200), at(1200 + 3600), at(1200 + 86400))
        );
        step(&mut c, B, Action::Ack, "", 1300);
        assert_eq!(c.state(), State::Acknowledged);
        assert!(
            due_escalations(&c, at(10 * 86400))
                .iter()
                .all(|e| e.deadline == DeadlineKind::Resolve && e.cycle == 1)
        );
    }

    #[test]
    fn deadlines_escalate_once_and_never_move_back() {
        let (i, open, mut c) = opened(Severity::Critical);
        assert!(due_escalations(&c, at(3599)).is_empty());
        let due = due_escalations(&c, at(3600));
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].deadline, due[0].due, due[0].level),
            (DeadlineKind::Ack, at(3600), 1)
        );
        let note = escalate_note(&c, &due[0]);
        valid(&note);
        assert!(note.get("created_by_ref").is_none());
        assert_eq!(
            note.get("created").unwrap(),
            &Value::from(at(3600).to_millis_string())
        );
        assert!(matches!(
            c.apply(&note).unwrap(),
            Applied::New(crate::Outcome::Applied { .. })
        ));
        assert_eq!(c.escalation(), 1);
        // Fired once: not again, later or with the clock moved back.
        assert!(due_escalations(&c, at(3700)).is_empty());
        assert!(due_escalations(&c, at(10)).is_empty());
        assert!(c.overdue(at(3700)));
        // The other node writes the same bytes: a duplicate.
        let (_, _, mut other) = opened(Severity::Critical);
        let theirs = escalate_note(&other, &due_escalations(&other, at(5000))[0]);
        assert_eq!(theirs, note);
        assert_eq!(c.apply(&theirs).unwrap(), Applied::Duplicate);
        // A late ack does not undo it; the resolve deadline fires later.
        step(&mut c, B, Action::Ack, "", 7200);
        assert!(due_escalations(&c, at(86399)).is_empty());
        let due = due_escalations(&c, at(90000));
        assert_eq!(
            (due.len(), due[0].deadline, due[0].level),
            (1, DeadlineKind::Resolve, 2)
        );
        c.apply(&escalate_note(&c, &due[0])).unwrap();
        assert_eq!(c.escalation(), 2);
        // A node that never ticked before the late ack still escalates it once.
        other.apply(&open).unwrap();
        let late_ack = c
            .entries()
            .iter()
            .find(|e| e.message.kind == MessageKind::Ack)
            .unwrap()
            .message
            .object
            .clone();
        other.apply(&late_ack).unwrap();
        let due = due_escalations(&other, at(7300));
        assert_eq!(due.len(), 1);
        assert_eq!(escalate_note(&other, &due[0]), note);
        let _ = i;
    }

    #[test]
    fn a_deadline_met_in_time_never_escalates() {
        let (_, _, mut c) = opened(Severity::Critical);
        step(&mut c, B, Action::Ack, "", 3599);
        step(&mut c, B, Action::Resolve, "Done.", 86399);
        assert!(due_escalations(&c, at(1_000_000)).is_empty());
        // A forged escalation is rejected by the fold.
        let forged = escalate_note(
            &c,
            &Escalation {
                case: c.id().into(),
                cycle: 0,
                deadline: DeadlineKind::Ack,
                due: at(3600),
                severity: Severity::Critical,
                to: B.into(),
                level: 1,
                exercise: false,
            },
        );
        match c.apply(&forged).unwrap() {
            Applied::New(crate::Outcome::Rejected(TransitionError::EscalationNotDue {
                reason,
                ..
            })) => {
                assert_eq!(reason, "the deadline was met");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.escalation(), 0);
    }

    #[test]
    fn an_escalation_at_another_time_is_rejected() {
        let (_, _, mut c) = opened(Severity::Critical);
        let e = &due_escalations(&c, at(4000))[0];
        // Early: recorded at 30 minutes, before the deadline.
        let mut early = e.clone();
        early.due = at(1800);
        let forged = escalate_note(&c, &early);
        assert_ne!(forged.get("id"), escalate_note(&c, e).get("id"));
        match c.apply(&forged).unwrap() {
            Applied::New(crate::Outcome::Rejected(TransitionError::EscalationNotDue {
                reason,
                ..
            })) => {
                assert_eq!(reason, "its time is not the deadline's");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.escalation(), 0);
        // The time changed but not the id; an author added; the text changed.
        let mut m = escalate_note(&c, e).into_map();
        m.insert("created".into(), at(1800).to_millis_string().into());
        assert!(
            c.apply(&Object::from_map(m))
                .unwrap_err()
                .to_string()
                .contains(": id: an escalation's id must be")
        );
        let mut m = escalate_note(&c, e).into_map();
        m.insert("created_by_ref".into(), A.into());
        let err = c.apply(&Object::from_map(m)).unwrap_err();
        assert!(
            err.to_string().contains("exactly the note the nodes write"),
            "{err}"
        );
        let mut m = escalate_note(&c, e).into_map();
        m.insert("content".into(), "Escalate now!".into());
        assert!(matches!(
            c.apply(&Object::from_map(m)),
            Err(FoldError::BadMessage { .. })
        ));
        // The genuine one still applies.
        assert!(matches!(
            c.apply(&escalate_note(&c, e)).unwrap(),
            Applied::New(crate::Outcome::Applied { .. })
        ));
        assert_eq!(c.escalation(), 1);
    }

    #[test]
    fn a_clock_moved_back_never_writes_before_the_case() {
        let (_, _, mut c) = opened(Severity::Medium);
        step(&mut c, B, Action::Ack, "", 500);
        let n = transition(&c, A, Action::Reply, "earlier?", &[], at(100)).unwrap();
        let created = Timestamp::parse(n.get("created").unwrap().as_str().unwrap()).unwrap();
        assert_eq!(
            created,
            Timestamp::from_unix(at(500).unix_seconds, 1_000_000)
        );
    }

    #[test]
    fn bad_messages_are_typed_errors() {
        let (_, _, mut c) = opened(Severity::Medium);
        let ack = transition(&c, B, Action::Ack, "", &[], at(10)).unwrap();
        // From someone who is not a party (id re-derived so only the author is wrong).
        let mut m = ack.clone().into_map();
        m.insert("created_by_ref".into(), C.into());
        m.insert("id".into(), crate::note_id(c.id(), C, 1).into());
        let e = c.apply(&Object::from_map(m)).unwrap_err();
        assert!(matches!(e, FoldError::NotAParty { .. }), "{e}");
        // Another party's id.
        let mut m = ack.clone().into_map();
        m.insert("id".into(), crate::note_id(c.id(), A, 7).into());
        let e = c.apply(&Object::from_map(m)).unwrap_err();
        assert!(e.to_string().contains(": id: must be note--"), "{e}");
        // For another case.
        let mut r = request(Severity::Low);
        r.case_uuid = case_uuid("other");
        let (oi, on) = open_case(&r, &DeadlineTable::default(), at(0)).unwrap();
        let e = c.apply(&on).unwrap_err();
        assert!(matches!(e, FoldError::WrongCase { .. }), "{e}");
        assert!(matches!(
            Case::from_thread(&oi, [&ack]),
            Err(FoldError::WrongCase { .. })
        ));
        // Backdated before the case.
        let mut m = ack.clone().into_map();
        m.insert("created".into(), "2020-01-01T00:00:00.000Z".into());
        let e = c.apply(&Object::from_map(m)).unwrap_err();
        assert!(
            e.to_string()
                .contains(": created: 2020-01-01T00:00:00.000Z is before the case was opened"),
            "{e}"
        );
        // Not a case at all.
        assert!(matches!(Case::new(&ack), Err(FoldError::NotACase { .. })));
        // The same note twice: no effect.
        assert!(matches!(c.apply(&ack).unwrap(), Applied::New(_)));
        let before = c.clone();
        assert_eq!(c.apply(&ack).unwrap(), Applied::Duplicate);
        assert_eq!(before, c);
    }

    #[test]
    fn two_versions_of_a_note_keep_the_same_one_in_any_order() {
        let (i, open, c) = opened(Severity::Medium);
        let v1 = transition(&c, B, Action::Ack, "", &[], at(10)).unwrap();
        let mut m = v1.clone().into_map();
        m.insert("modified".into(), at(20).to_millis_string().into());
        m.insert("content".into(), "changed".into());
        let v2 = Object::from_map(m);
        let mut x = c.clone();
        x.apply(&v2).unwrap();
        assert!(matches!(x.apply(&v1), Err(FoldError::Conflict { .. })));
        let mut y = c.clone();
        y.apply(&v1).unwrap();
        assert!(matches!(y.apply(&v2), Err(FoldError::Conflict { .. })));
        assert_eq!(x, y);
        assert_eq!(x.entries()[1].message.text, "Acknowledged.");
        let z = Case::from_thread(&i, [&v2, &open, &v1]).unwrap();
        assert_eq!(z, x);
        assert_eq!(z.conflicts(), [v1.get("id").unwrap().as_str().unwrap()]);
    }

    #[test]
    fn out_of_order_delivery_folds_the_same() {
        let (i, open, mut c) = opened(Severity::High);
        let ack = step(&mut c, B, Action::Ack, "", 10);
        let res = step(&mut c, B, Action::Resolve, "ok", 20);
        // Resolve arrives first: refused for now, kept, then valid.
        let mut d = Case::from_thread(&i, [&open]).unwrap();
        assert!(matches!(
            d.apply(&res).unwrap(),
            Applied::New(crate::Outcome::Rejected(_))
        ));
        assert_eq!(d.state(), State::Open);
        d.apply(&ack).unwrap();
        assert_eq!(d.state(), State::Resolved);
        assert_eq!(d, c);
    }
}
