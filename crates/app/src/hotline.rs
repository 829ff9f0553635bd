//! The hotline between partners, wired into the node: cases
//! (`accord-hotline`'s incidents and notes) kept in the store, worked by
//! this node's operator, delivered to the one partner a case is between,
//! escalated when a deadline passes.
//!
//! - **Parties** are STIX identity ids: this node's is
//!   [`crate::sighting::node_identity`] (`DATA_DIR/node-identity.json`), a
//!   partner's is `identity = "identity--…"` in its `[[partners]]` entry.
//! - **Storage**: what this node writes (incidents it opens, its notes,
//!   escalation notes, and [`accord_hotline::definitions`]) is stored in
//!   the local collection [`HOTLINE_COLLECTION`] through the store's
//!   writer, so each object is a leaf of this node's log. The
//!   [`Docket`] is rebuilt from the store on each call: every incident and
//!   note carrying [`HOTLINE_EXTENSION_ID`], in any collection (what
//!   partners sent included).
//! - **Delivery**: partners read (pull) or are pushed this node's `hotline`
//!   collection like any other; the seam's [`HotlineGate`] releases a
//!   case's objects only to the partner whose `identity` is the case's
//!   other party (withheld for every other partner with the clause
//!   `hotline: not a party`), after which the partner's agreement still
//!   applies (residency rules apply to case content too).
//! - **Admission**: a hotline object from a partner is refused unless its
//!   `created_by_ref` is that partner's `identity` (an escalation note,
//!   which has no author, is admitted: its bytes are checked by the fold),
//!   an incident is addressed to this node, and a note's case, when known
//!   here, is between this node and that partner, and it is dated
//!   (`created`, `modified`) at most `[hotline] max_clock_skew_secs` ahead
//!   of this node's clock (or this node holds the same bytes already: its
//!   own tick wrote the same escalation note). A note for a case not
//!   known yet is **kept**: it is stored and applied when its case arrives
//!   (the docket is rebuilt from the store).
//! - **Time**: [`Hotline::tick`] writes the escalation note of every
//!   deadline passed at the given time; escalation notes are the same
//!   bytes on both nodes, so each deadline escalates once however often and
//!   wherever it is ticked. Nothing moves a recorded time backwards: a
//!   note is never dated before the case's latest note.

use crate::config::Config;
use crate::exchange::Counterparty;
use accord_hotline::{
    CaseSummary, DeadlineTable, Docket, FoldError, HOTLINE_EXTENSION_ID, MessageSummary, OpenCase,
    TransitionError, due_escalations, escalate_note, open_case, transition,
};
use accord_stix::{CommonProps, Doc, Object, Timestamp};
use accord_store::{Backend, ObjectMeta, ObjectRead, PutOutcome, Query, StoreError, StoredObject};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

pub use accord_hotline::{
    Action, AssistOutcome, Assistance, Escalation, MessageKind, Severity, State,
};

/// The local collection holding what this node writes on cases.
pub const HOTLINE_COLLECTION: &str = "hotline";

/// The origin of the objects this node writes on cases.
pub const ORIGIN: &str = "accord hotline";

/// Objects read per page when the docket is rebuilt.
const PAGE: usize = 1000;

/// `[hotline]` in `accord.toml`.
///
/// ```toml
/// [hotline]
/// webhook = "https://alerts.example/hotline"   # optional
/// max_clock_skew_secs = 300                     # the default
///
/// [hotline.deadlines]
/// critical = { ack = "1h", resolve = "24h" }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotlineConfig {
    /// Deadlines by severity (defaults: critical 1 h / 24 h, high 4 h /
    /// 72 h, medium 24 h / 7 d, low 72 h / 30 d).
    #[serde(default)]
    pub deadlines: DeadlineTable,
    /// A URL `accord serve` POSTs each escalation to (JSON, see
    /// [`escalation_json`]; 3 attempts), and every command that finds a
    /// protected facility touched posts the case it opened or noted on
    /// (`crate::facility::escalated_json`).
    #[serde(default)]
    pub webhook: Option<String>,
    /// How far ahead of this node's clock a partner's hotline incident or
    /// note may be dated (`created` or `modified`), in seconds (default
    /// 300): a later one is refused at admission, so a partner cannot
    /// plant a note that pushes this node's next notes past a deadline.
    #[serde(default = "default_max_clock_skew_secs")]
    pub max_clock_skew_secs: u64,
}

/// The default of `[hotline] max_clock_skew_secs`.
pub const DEFAULT_MAX_CLOCK_SKEW_SECS: u64 = 300;

fn default_max_clock_skew_secs() -> u64 {
    DEFAULT_MAX_CLOCK_SKEW_SECS
}

impl Default for HotlineConfig {
    fn default() -> HotlineConfig {
        HotlineConfig {
            deadlines: DeadlineTable::default(),
            webhook: None,
            max_clock_skew_secs: DEFAULT_MAX_CLOCK_SKEW_SECS,
        }
    }
}

/// Why a hotline operation failed. Nothing is stored when one fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HotlineError {
    /// The rules refuse the message (the text names what is allowed).
    #[error("{0}")]
    Refused(#[from] TransitionError),
    /// No such case here.
    #[error("case {0} is not known here (`accord hotline list` shows the cases)")]
    UnknownCase(String),
    /// `--partner` names no configured partner.
    #[error("no partner `{name}` in the configuration (partners: {known})")]
    UnknownPartner {
        /// The name given.
        name: String,
        /// The configured names, comma-separated.
        known: String,
    },
    /// The partner has no identity: no case can be addressed to it.
    #[error(
        "partner `{0}` has no `identity` in its [[partners]] entry (its node prints it with `accord hotline whoami`)"
    )]
    NoIdentity(String),
    /// A configuration value is wrong.
    #[error("accord.toml {0}")]
    Config(String),
    /// The node's identity file cannot be read or created.
    #[error("{0}")]
    Identity(String),
    /// Reading the store failed.
    #[error("reading the hotline objects from the store: {0}")]
    Read(Box<StoreError>),
    /// Writing to the store failed (nothing was stored).
    #[error("storing {what} in `{HOTLINE_COLLECTION}`: {source}")]
    Write {
        /// What was being stored.
        what: String,
        /// The store's reason.
        source: Box<StoreError>,
    },
    /// An object was not stored (a conflict with another version).
    #[error("storing {what} in `{HOTLINE_COLLECTION}`: {reason}")]
    NotStored {
        /// What was being stored.
        what: String,
        /// Why.
        reason: String,
    },
}

/// A case as one line of `accord hotline list --json`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    /// The case as the fold sees it.
    #[serde(flatten)]
    pub summary: CaseSummary,
    /// The other party: a partner's name, or its identity id when no
    /// configured partner has it.
    pub partner: String,
    /// This node's part: `opener` or `addressee`.
    pub role: &'static str,
}

/// One message of `accord hotline show --json`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    /// The note id.
    pub id: String,
    /// Who wrote it: a partner's name, `self` for this node, null for an
    /// escalation (written by the nodes).
    pub from: Option<String>,
    /// The author's identity id (null for an escalation).
    pub from_identity: Option<String>,
    /// `created`.
    pub time: String,
    /// The kind (`open`, `ack`, `reply`, `progress`, `resolve`, `decline`,
    /// `reopen`, `escalate`, `assist-answer`).
    pub kind: accord_hotline::MessageKind,
    /// The text.
    pub text: String,
    /// Attached object ids.
    pub attachments: Vec<String>,
    /// Whether the rules applied it.
    pub applied: bool,
    /// Why the rules refused it, if they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// A case and its thread (`accord hotline show --json`).
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    /// The case.
    #[serde(flatten)]
    pub case: CaseView,
    /// The incident's description.
    pub description: Option<String>,
    /// The thread, in fold order.
    pub messages: Vec<MessageView>,
}

/// What opening a case takes from the operator.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    /// The partner's name.
    pub partner: String,
    /// Severity.
    pub severity: Severity,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Attached object ids.
    pub attachments: Vec<String>,
    /// Assistance asked.
    pub assistance: Vec<Assistance>,
    /// An exercise.
    pub exercise: bool,
}

/// The hotline of one node: its configuration, store and identity.
pub struct Hotline<'a> {
    config: &'a Config,
    store: &'a dyn Backend,
    me: String,
    names: HashMap<String, String>,
}

impl std::fmt::Debug for Hotline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hotline")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// Every partner's identity, by partner name.
fn identities(config: &Config) -> HashMap<String, String> {
    config
        .partners
        .iter()
        .filter_map(|p| p.identity.clone().map(|i| (p.name.clone(), i)))
        .collect()
}

/// Whether a stored object is a case's incident or note.
fn is_hotline(type_name: &str, raw: &str) -> bool {
    (type_name == "incident" || type_name == "note") && raw.contains(HOTLINE_EXTENSION_ID)
}

/// The (opener, addressee) of an incident carrying the extension.
fn parties_of(incident: &Object) -> Option<(String, String)> {
    let e = incident
        .get("extensions")?
        .get(HOTLINE_EXTENSION_ID)?
        .as_object()?;
    Some((
        e.get("opener")?.as_str()?.to_owned(),
        e.get("addressee")?.as_str()?.to_owned(),
    ))
}

/// Checks `[hotline]` and every partner's `identity`.
///
/// # Errors
/// [`HotlineError::Config`] naming the partner or the table.
pub fn check_config(config: &Config) -> Result<(), HotlineError> {
    config
        .hotline
        .deadlines
        .check()
        .map_err(|e| HotlineError::Config(format!("[hotline.deadlines]: {e}")))?;
    for p in &config.partners {
        if let Some(i) = &p.identity {
            match accord_stix::parse_identifier(i) {
                Ok(id) if id.type_name == "identity" => {}
                _ => {
                    return Err(HotlineError::Config(format!(
                        "[[partners]] `{}`: identity {i:?} is not an identity id (identity--UUID)",
                        p.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// This node's identity id, created (and stored in the `node` collection)
/// on first use.
///
/// # Errors
/// [`HotlineError::Identity`].
pub fn my_identity(
    config: &Config,
    store: &dyn Backend,
    now_us: i64,
) -> Result<String, HotlineError> {
    crate::sighting::node_identity(&config.data_dir, Some(store.writer()), now_us)
        .map(|(id, _)| id)
        .map_err(|e| HotlineError::Identity(e.to_string()))
}

impl<'a> Hotline<'a> {
    /// The hotline of the node with `config` and `store`; its identity is
    /// read, or created at `now_us`.
    ///
    /// # Errors
    /// [`HotlineError::Config`], [`HotlineError::Identity`].
    pub fn new(
        config: &'a Config,
        store: &'a dyn Backend,
        now_us: i64,
    ) -> Result<Hotline<'a>, HotlineError> {
        check_config(config)?;
        let me = my_identity(config, store, now_us)?;
        let names = identities(config)
            .into_iter()
            .map(|(name, id)| (id, name))
            .collect();
        Ok(Hotline {
            config,
            store,
            me,
            names,
        })
    }

    /// This node's identity id.
    pub fn identity(&self) -> &str {
        &self.me
    }

    /// Every case known here, folded from the store (every collection).
    /// Objects that are not cases or notes of a known case (a note whose
    /// case has not arrived yet, a malformed one) are left out.
    ///
    /// # Errors
    /// [`HotlineError::Read`].
    pub fn docket(&self) -> Result<Docket, HotlineError> {
        docket_of(self.store)
    }

    fn name_of(&self, identity: &str) -> String {
        if identity == self.me {
            "self".to_owned()
        } else {
            self.names
                .get(identity)
                .cloned()
                .unwrap_or_else(|| identity.to_owned())
        }
    }

    fn view(&self, case: &accord_hotline::Case, now: Timestamp) -> CaseView {
        let summary = case.summary(now);
        let (other, role) = if summary.opener == self.me {
            (summary.addressee.clone(), "opener")
        } else {
            (summary.opener.clone(), "addressee")
        };
        CaseView {
            partner: self.name_of(&other),
            role,
            summary,
        }
    }

    /// Stores objects in [`HOTLINE_COLLECTION`], with the definitions.
    fn store_objects(&self, what: &str, objects: &[Object]) -> Result<(), HotlineError> {
        // The definitions, once (published with the first case object).
        let defs = accord_hotline::definitions();
        let have = self
            .store
            .query(
                &Query {
                    collection: Some(HOTLINE_COLLECTION.into()),
                    ids: defs
                        .iter()
                        .filter_map(|d| d.get("id").and_then(|v| v.as_str()).map(str::to_owned))
                        .collect(),
                    ..Query::default()
                },
                defs.len() + 1,
            )
            .map(|p| p.objects.len())
            .unwrap_or(0);
        let mut texts: Vec<String> = if have >= defs.len() {
            Vec::new()
        } else {
            defs.iter().map(Object::to_json).collect()
        };
        texts.extend(objects.iter().map(Object::to_json));
        let write = |source| HotlineError::Write {
            what: what.to_owned(),
            source: Box::new(source),
        };
        let not_stored = |reason: String| HotlineError::NotStored {
            what: what.to_owned(),
            reason,
        };
        let docs: Vec<Doc<'_>> = texts
            .iter()
            .map(|t| Doc::parse(t))
            .collect::<Result<_, _>>()
            .map_err(|e| not_stored(e.to_string()))?;
        let metas: Vec<ObjectMeta> = docs.iter().filter_map(ObjectMeta::from_doc).collect();
        let objs: Vec<_> = metas
            .iter()
            .zip(&texts)
            .map(|(m, t)| m.new_object(t, HOTLINE_COLLECTION, ORIGIN))
            .collect();
        // A batch is all or nothing; after a failed one the writer reloads
        // what it caches (collections, ids), so a second attempt sees what
        // another process (the CLI beside `accord serve`) wrote meanwhile.
        let outcomes = match self.store.writer().put_batch(&objs) {
            Err(StoreError::Write { .. }) => self.store.writer().put_batch(&objs),
            r => r,
        }
        .map_err(write)?;
        for (o, m) in outcomes.iter().zip(&metas) {
            if !matches!(o, PutOutcome::Stored { .. } | PutOutcome::Duplicate { .. }) {
                return Err(not_stored(format!(
                    "{} (modified {}): {o:?}",
                    m.id(),
                    m.modified().unwrap_or("")
                )));
            }
        }
        Ok(())
    }

    /// Opens a case to a partner; returns the incident id.
    ///
    /// # Errors
    /// [`HotlineError::UnknownPartner`], [`HotlineError::NoIdentity`],
    /// [`HotlineError::Refused`] (bad input), [`HotlineError::Write`].
    pub fn open(&self, req: &OpenRequest, now: Timestamp) -> Result<String, HotlineError> {
        let Some(p) = self.config.partners.iter().find(|p| p.name == req.partner) else {
            return Err(HotlineError::UnknownPartner {
                name: req.partner.clone(),
                known: self
                    .config
                    .partners
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let to = p
            .identity
            .clone()
            .ok_or_else(|| HotlineError::NoIdentity(p.name.clone()))?;
        let (incident, note) = open_case(
            &OpenCase {
                case_uuid: uuid::Uuid::new_v4(),
                from: self.me.clone(),
                to,
                severity: req.severity,
                title: req.title.clone(),
                description: req.description.clone(),
                text: String::new(),
                attachments: req.attachments.clone(),
                assistance: req.assistance.clone(),
                exercise: req.exercise,
                facility: None,
            },
            &self.config.hotline.deadlines,
            now,
        )?;
        let id = incident
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        self.store_objects(&format!("case {id}"), &[incident, note])?;
        Ok(id)
    }

    /// Opens a case prepared by the caller (a protected facility's touch:
    /// a derived id, the facility named, addressed to a partner's identity
    /// or to this node's own to keep it local); `from` is set to this
    /// node. Returns the incident id.
    ///
    /// # Errors
    /// [`HotlineError::Refused`] (bad input), [`HotlineError::Write`].
    pub fn open_prepared(&self, mut req: OpenCase, now: Timestamp) -> Result<String, HotlineError> {
        req.from.clone_from(&self.me);
        let (incident, note) = open_case(&req, &self.config.hotline.deadlines, now)?;
        let id = incident
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        self.store_objects(&format!("case {id}"), &[incident, note])?;
        Ok(id)
    }

    /// This node's `action` on a case; returns the note stored.
    ///
    /// # Errors
    /// [`HotlineError::UnknownCase`], [`HotlineError::Refused`] (the
    /// message names what is allowed), [`HotlineError::Write`].
    pub fn act(
        &self,
        case: &str,
        action: Action,
        text: &str,
        attachments: &[String],
        now: Timestamp,
    ) -> Result<Object, HotlineError> {
        let docket = self.docket()?;
        let c = docket
            .get(case)
            .ok_or_else(|| HotlineError::UnknownCase(case.to_owned()))?;
        let note = transition(c, &self.me, action, text, attachments, now)?;
        self.store_objects(
            &format!("a note on case {case}"),
            std::slice::from_ref(&note),
        )?;
        Ok(note)
    }

    /// Runs the deadlines at `at`: stores the escalation note of every
    /// deadline passed unmet and not yet escalated, on every case; returns
    /// them. Ticking again at the same or a later time adds nothing for the
    /// same deadlines; an earlier time finds nothing due.
    ///
    /// # Errors
    /// [`HotlineError::Read`], [`HotlineError::Write`].
    ///
    /// The exercise cases of a scenario playing on this node at this
    /// moment ([`crate::exercise::playing`]: its runner ticks them at its
    /// simulated time) are left to the runner.
    pub fn tick(&self, at: Timestamp) -> Result<Vec<Escalation>, HotlineError> {
        let playing = crate::exercise::playing(&self.config.data_dir);
        self.tick_where(at, |c| !playing.holds(c))
    }

    /// [`Hotline::tick`] for the cases in `cases` only (an exercise's
    /// runner ticking its cases at its simulated time).
    ///
    /// # Errors
    /// As [`Hotline::tick`].
    pub fn tick_cases(
        &self,
        at: Timestamp,
        cases: &[String],
    ) -> Result<Vec<Escalation>, HotlineError> {
        self.tick_where(at, |c| cases.iter().any(|id| id == c.id()))
    }

    fn tick_where(
        &self,
        at: Timestamp,
        wanted: impl Fn(&accord_hotline::Case) -> bool,
    ) -> Result<Vec<Escalation>, HotlineError> {
        let docket = self.docket()?;
        let mut done = Vec::new();
        for case in docket.cases().filter(|c| wanted(c)) {
            let due = due_escalations(case, at);
            if due.is_empty() {
                continue;
            }
            let mut c = case.clone();
            let mut notes = Vec::new();
            for e in &due {
                let n = escalate_note(&c, e);
                // Applied in order so the next one sees the level.
                let _ = c.apply(&n);
                notes.push(n);
            }
            self.store_objects(&format!("escalations of case {}", case.id()), &notes)?;
            done.extend(due);
        }
        Ok(done)
    }

    /// The cases, optionally only those in `state` or overdue at `now`,
    /// by incident id.
    ///
    /// # Errors
    /// [`HotlineError::Read`].
    pub fn list(
        &self,
        state: Option<State>,
        overdue: bool,
        now: Timestamp,
    ) -> Result<Vec<CaseView>, HotlineError> {
        let docket = self.docket()?;
        Ok(docket
            .cases()
            .filter(|c| state.is_none_or(|s| c.state() == s))
            .filter(|c| !overdue || c.overdue(now))
            .map(|c| self.view(c, now))
            .collect())
    }

    /// One case and its thread.
    ///
    /// # Errors
    /// [`HotlineError::UnknownCase`], [`HotlineError::Read`].
    pub fn show(&self, case: &str, now: Timestamp) -> Result<CaseDetail, HotlineError> {
        let docket = self.docket()?;
        let c = docket
            .get(case)
            .ok_or_else(|| HotlineError::UnknownCase(case.to_owned()))?;
        Ok(CaseDetail {
            case: self.view(c, now),
            description: c.header().description.clone(),
            messages: c
                .messages()
                .into_iter()
                .map(|m: MessageSummary| MessageView {
                    from: m.from.as_deref().map(|f| self.name_of(f)),
                    from_identity: m.from,
                    id: m.id,
                    time: m.time,
                    kind: m.kind,
                    text: m.text,
                    attachments: m.attachments,
                    applied: m.applied,
                    refused: m.refused,
                })
                .collect(),
        })
    }
}

/// The JSON an escalation is posted as to `[hotline] webhook`.
pub fn escalation_json(e: &Escalation) -> serde_json::Value {
    serde_json::json!({
        "event": "hotline-escalation",
        "case": e.case,
        "cycle": e.cycle,
        "deadline": e.deadline.as_str(),
        "due": e.due.to_millis_string(),
        "severity": e.severity.as_str(),
        "level": e.level,
        "exercise": e.exercise,
    })
}

/// Posts `e` to the webhook `url`, up to `attempts` times, waiting
/// `first_delay` after the first failure and twice as long after each
/// next one.
///
/// # Errors
/// The last failure, naming the URL and the attempts made.
pub async fn notify_webhook(
    url: &str,
    e: &Escalation,
    attempts: u32,
    first_delay: std::time::Duration,
) -> Result<(), String> {
    let what = format!("escalation of case {}", e.case);
    post_webhook(url, &escalation_json(e), &what, attempts, first_delay).await
}

/// Posts `body` to the webhook `url`, up to `attempts` times, waiting
/// `first_delay` after the first failure and twice as long after each
/// next one; `what` names it in the error.
///
/// # Errors
/// The last failure, naming what was posted, the URL and the attempts.
pub async fn post_webhook(
    url: &str,
    body: &serde_json::Value,
    what: &str,
    attempts: u32,
    first_delay: std::time::Duration,
) -> Result<(), String> {
    let body = body.to_string();
    let opts = accord_client::ClientOptions {
        request_timeout: std::time::Duration::from_secs(30),
        ..accord_client::ClientOptions::default()
    };
    let mut delay = first_delay;
    let mut last = String::new();
    for i in 0..attempts.max(1) {
        if i > 0 {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
        match accord_client::webhook::post_json(url, &body, &opts).await {
            Ok(_) => return Ok(()),
            Err(err) => last = err.to_string(),
        }
    }
    Err(format!(
        "hotline webhook: {what} not delivered after {} attempt(s): {last}",
        attempts.max(1)
    ))
}

/// One line of `accord report hotline`: the cases with one partner at one
/// severity, exercises apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// The partner (its name, or its identity id when not configured).
    pub partner: String,
    /// The severity.
    pub severity: Severity,
    /// Exercises are counted apart from real cases.
    pub exercise: bool,
    /// Cases opened (since the date asked).
    pub cases: u64,
    /// Cases this node opened (the rest were addressed to it).
    pub opened_here: u64,
    /// Cases acknowledged (in their first cycle).
    pub acknowledged: u64,
    /// Cases resolved now.
    pub resolved: u64,
    /// Cases declined now.
    pub declined: u64,
    /// Cases overdue now.
    pub overdue: u64,
    /// Cases with at least one escalation.
    pub escalated: u64,
    /// Median seconds from opening to acknowledgement (first cycle).
    pub median_ack_seconds: Option<i64>,
    /// Median seconds from opening to resolution or decline (first cycle).
    pub median_resolve_seconds: Option<i64>,
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

impl Hotline<'_> {
    /// Time to acknowledge and to resolve per partner and severity,
    /// overdue and escalated counts, exercises apart; only cases opened at
    /// or after `since`. Rows by partner, severity, then real before
    /// exercise.
    ///
    /// # Errors
    /// [`HotlineError::Read`].
    pub fn report(
        &self,
        since: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Vec<ReportRow>, HotlineError> {
        let docket = self.docket()?;
        type Key = (String, Severity, bool);
        let mut rows: std::collections::BTreeMap<Key, (ReportRow, Vec<i64>, Vec<i64>)> =
            std::collections::BTreeMap::new();
        for c in docket.cases() {
            let h = c.header();
            if since.is_some_and(|t| h.created < t) {
                continue;
            }
            let v = self.view(c, now);
            let key = (v.partner.clone(), h.severity, h.exercise);
            let (row, acks, closes) = rows.entry(key).or_insert_with(|| {
                (
                    ReportRow {
                        partner: v.partner.clone(),
                        severity: h.severity,
                        exercise: h.exercise,
                        cases: 0,
                        opened_here: 0,
                        acknowledged: 0,
                        resolved: 0,
                        declined: 0,
                        overdue: 0,
                        escalated: 0,
                        median_ack_seconds: None,
                        median_resolve_seconds: None,
                    },
                    Vec::new(),
                    Vec::new(),
                )
            });
            row.cases += 1;
            row.opened_here += u64::from(v.role == "opener");
            row.resolved += u64::from(c.state() == State::Resolved);
            row.declined += u64::from(c.state() == State::Declined);
            row.overdue += u64::from(c.overdue(now));
            row.escalated += u64::from(c.escalation() > 0);
            if let Some(first) = c.cycles().first() {
                if let Some(t) = first.acked_at {
                    row.acknowledged += 1;
                    acks.push(t.unix_seconds - first.started.unix_seconds);
                }
                if let Some(t) = first.closed_at {
                    closes.push(t.unix_seconds - first.started.unix_seconds);
                }
            }
        }
        Ok(rows
            .into_values()
            .map(|(mut row, acks, closes)| {
                row.median_ack_seconds = median(acks);
                row.median_resolve_seconds = median(closes);
                row
            })
            .collect())
    }
}

/// Every hotline incident and note in `store` (all collections, every
/// version), deduplicated by content.
fn hotline_objects(store: &dyn ObjectRead) -> Result<(Vec<Object>, Vec<Object>), StoreError> {
    let mut incidents = Vec::new();
    let mut notes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Collection by collection: a type filter within a collection reads the
    // (collection, type) index; across all collections it would read every
    // row (a third of a second at 1,000,000 objects, on every list and tick).
    for c in store.collections()? {
        let mut q = Query {
            collection: Some(c.name),
            types: vec!["incident".into(), "note".into()],
            versions: accord_store::VersionFilter::all(),
            ..Query::default()
        };
        loop {
            let page = store.query(&q, PAGE)?;
            for o in &page.objects {
                if !is_hotline(&o.type_name, &o.raw) || !seen.insert(o.sha256) {
                    continue;
                }
                let Ok(obj) = Object::parse(&o.raw) else {
                    continue;
                };
                if o.type_name == "incident" {
                    incidents.push(obj);
                } else {
                    notes.push(obj);
                }
            }
            match page.last_seq() {
                Some(last) if page.more => q.after_seq = last,
                _ => break,
            }
        }
    }
    Ok((incidents, notes))
}

/// The docket of everything in `store` (see [`Hotline::docket`]).
///
/// # Errors
/// [`HotlineError::Read`].
pub fn docket_of(store: &dyn ObjectRead) -> Result<Docket, HotlineError> {
    let (incidents, notes) = hotline_objects(store).map_err(|e| HotlineError::Read(Box::new(e)))?;
    let mut docket = Docket::new();
    for i in &incidents {
        if let Err(e) = docket.add_incident(i) {
            tracing::warn!("hotline: incident not used: {e}");
        }
    }
    for n in &notes {
        match docket.add_note(n) {
            Ok(_) | Err(FoldError::Conflict { .. }) => {}
            // Kept in the store: applied once its case arrives.
            Err(FoldError::UnknownCase { .. }) => {}
            Err(e) => tracing::warn!("hotline: note not used: {e}"),
        }
    }
    Ok(docket)
}

/// The seam's hotline rule (see the module documentation): which partner
/// may receive a case's objects, and which may send them.
pub struct HotlineGate {
    clock: std::sync::Arc<dyn accord_stix::Clock>,
    max_skew_secs: i64,
    me: std::sync::OnceLock<String>,
    data_dir: Option<std::path::PathBuf>,
    identities: HashMap<String, String>,
    cases: Mutex<HashMap<String, (String, String)>>,
    store: Option<Mutex<Box<dyn Backend>>>,
}

impl std::fmt::Debug for HotlineGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotlineGate")
            .field("me", &self.me.get())
            .field("identities", &self.identities)
            .finish_non_exhaustive()
    }
}

/// The node's identity file in its data directory.
const IDENTITY_FILE: &str = "node-identity.json";

/// The clause of a hotline object withheld from a partner.
pub const NOT_A_PARTY: &str = "hotline: not a party";

impl HotlineGate {
    /// The rule for a node whose identity is `me` and whose partners are
    /// in `config`; `store` (a handle of its own) answers which parties a
    /// case is between when a note names a case the gate has not seen.
    pub fn new(config: &Config, me: String, store: Option<Box<dyn Backend>>) -> HotlineGate {
        let gate = HotlineGate::unnamed(config, store);
        let _ = gate.me.set(me);
        gate
    }

    /// A gate whose identity is read from `config`'s data directory when a
    /// hotline object first needs it (`node-identity.json`: a node that has
    /// none yet has no case, and every hotline object is withheld and
    /// refused until it has one).
    fn unnamed(config: &Config, store: Option<Box<dyn Backend>>) -> HotlineGate {
        HotlineGate {
            clock: std::sync::Arc::new(accord_stix::SystemClock),
            max_skew_secs: i64::try_from(config.hotline.max_clock_skew_secs).unwrap_or(i64::MAX),
            me: std::sync::OnceLock::new(),
            data_dir: Some(config.data_dir.clone()),
            identities: identities(config),
            cases: Mutex::new(HashMap::new()),
            store: store.map(Mutex::new),
        }
    }

    /// The rule of the node with `config` and `store`: its identity read
    /// from the data directory when first needed (never created here), a
    /// new read handle for case lookups.
    ///
    /// # Errors
    /// [`HotlineError::Config`], [`HotlineError::Read`].
    pub fn for_node(config: &Config, store: &dyn Backend) -> Result<HotlineGate, HotlineError> {
        check_config(config)?;
        let handle = store
            .new_handle()
            .map_err(|e| HotlineError::Read(Box::new(e)))?;
        Ok(HotlineGate::unnamed(config, Some(handle)))
    }

    /// The gate reading `clock` for the skew check (the system clock by
    /// default).
    #[must_use]
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn accord_stix::Clock>) -> HotlineGate {
        self.clock = clock;
        self
    }

    /// Whether this node already holds `obj`'s exact bytes (so admitting
    /// it again changes nothing).
    fn holds(&self, id: &str, text: &str) -> bool {
        let Some(store) = self.store.as_ref() else {
            return false;
        };
        let Ok(store) = store.lock() else {
            return false;
        };
        let q = Query {
            ids: vec![id.to_owned()],
            versions: accord_store::VersionFilter::all(),
            ..Query::default()
        };
        store
            .query(&q, 64)
            .is_ok_and(|page| page.objects.iter().any(|o| o.raw == text))
    }

    /// Refuses a hotline object dated (`created` or `modified`) more than
    /// `[hotline] max_clock_skew_secs` ahead of this node's clock, unless
    /// this node already holds the same bytes (its own tick wrote the same
    /// escalation note).
    fn check_skew(&self, id: &str, o: &Object, text: &str) -> Result<(), String> {
        let now = self.clock.now_timestamp();
        for field in ["created", "modified"] {
            let Some(t) = o.get(field).and_then(|v| v.as_str()) else {
                continue;
            };
            let Ok(ts) = Timestamp::parse(t) else {
                continue; // The validator names a malformed timestamp.
            };
            let ahead = ts.unix_seconds.saturating_sub(now.unix_seconds);
            if ahead > self.max_skew_secs && !self.holds(id, text) {
                return Err(format!(
                    "hotline: {id} is dated {t} ({field}), {ahead} s ahead of this node's clock ({}); a partner's hotline objects may be at most {} s ahead ([hotline] max_clock_skew_secs)",
                    now.to_millis_string(),
                    self.max_skew_secs
                ));
            }
        }
        Ok(())
    }

    /// This node's identity, if it has one.
    fn me(&self) -> Option<&str> {
        if let Some(m) = self.me.get() {
            return Some(m);
        }
        let data = self.data_dir.as_ref()?;
        if !data.join(IDENTITY_FILE).is_file() {
            return None;
        }
        let (id, _) = crate::sighting::node_identity(data, None, 0).ok()?;
        Some(self.me.get_or_init(|| id))
    }

    fn remember(&self, case: &str, parties: (String, String)) {
        if let Ok(mut m) = self.cases.lock() {
            m.insert(case.to_owned(), parties);
        }
    }

    /// The (opener, addressee) of `case`, from what the gate has seen or
    /// the store.
    fn parties(&self, case: &str) -> Option<(String, String)> {
        if let Some(p) = self.cases.lock().ok()?.get(case) {
            return Some(p.clone());
        }
        let store = self.store.as_ref()?.lock().ok()?;
        let q = Query {
            ids: vec![case.to_owned()],
            types: vec!["incident".into()],
            versions: accord_store::VersionFilter::all(),
            ..Query::default()
        };
        let page = store.query(&q, 16).ok()?;
        let found = page.objects.iter().find_map(|o| {
            if !is_hotline(&o.type_name, &o.raw) {
                return None;
            }
            parties_of(&Object::parse(&o.raw).ok()?)
        })?;
        drop(store);
        self.remember(case, found.clone());
        Some(found)
    }

    /// The case a hotline object belongs to and its parties, if known.
    fn case_of(&self, type_name: &str, obj: &Object) -> (Option<String>, Option<(String, String)>) {
        if type_name == "incident" {
            let id = obj.get("id").and_then(|v| v.as_str()).map(str::to_owned);
            let parties = parties_of(obj);
            if let (Some(id), Some(p)) = (&id, &parties) {
                self.remember(id, p.clone());
            }
            (id, parties)
        } else {
            let case = accord_hotline::case_id_of(obj).map(str::to_owned);
            let parties = case.as_deref().and_then(|c| self.parties(c));
            (case, parties)
        }
    }

    /// Why `obj` may not leave for `partner` (`None`: the agreement
    /// decides). A case's incident and notes go only to the partner whose
    /// identity is the case's other party.
    pub fn withhold(&self, partner: &str, obj: &StoredObject) -> Option<String> {
        if !is_hotline(&obj.type_name, &obj.raw) {
            return None;
        }
        let Some(theirs) = self.identities.get(partner) else {
            return Some(format!(
                "{NOT_A_PARTY} (partner `{partner}` has no identity configured)"
            ));
        };
        let Some(me) = self.me() else {
            return Some(format!("{NOT_A_PARTY} (this node has no identity yet)"));
        };
        let Ok(o) = Object::parse(&obj.raw) else {
            return Some(format!("{NOT_A_PARTY} (the object does not parse)"));
        };
        match self.case_of(&obj.type_name, &o) {
            (_, Some((from, to)))
                if (from == *theirs && to == me) || (to == *theirs && from == me) =>
            {
                None
            }
            (case, Some(_)) => Some(format!(
                "{NOT_A_PARTY} (case {} is between other parties)",
                case.unwrap_or_default()
            )),
            (case, None) => Some(format!(
                "{NOT_A_PARTY} (case {} is not known here)",
                case.unwrap_or_default()
            )),
        }
    }

    /// Whether `partner` may give the hotline object `obj` (`Ok` for any
    /// other object).
    ///
    /// # Errors
    /// The reason, starting with `hotline:`.
    pub fn admit(&self, partner: &str, obj: &Doc<'_>) -> Result<(), String> {
        let type_name = obj.type_name().unwrap_or("");
        if !is_hotline(type_name, obj.text()) {
            return Ok(());
        }
        let Some(theirs) = self.identities.get(partner) else {
            return Err(format!(
                "hotline: partner `{partner}` has no `identity` in accord.toml, so no case can be between it and this node"
            ));
        };
        let Some(me) = self.me() else {
            return Err(
                "hotline: this node has no identity yet (`accord hotline whoami` creates it)"
                    .to_owned(),
            );
        };
        let o = Object::parse(obj.text()).map_err(|e| format!("hotline: {e}"))?;
        let id = o.get("id").and_then(|v| v.as_str()).unwrap_or("?");
        self.check_skew(id, &o, obj.text())?;
        match o.get("created_by_ref").and_then(|v| v.as_str()) {
            Some(a) if a == theirs => {}
            Some(a) => {
                return Err(format!(
                    "hotline: {id} is written by {a}, not by partner `{partner}` ({theirs}): a partner may only send its own messages"
                ));
            }
            None if type_name == "note"
                && o.get("extensions")
                    .and_then(|e| e.get(HOTLINE_EXTENSION_ID))
                    .and_then(|e| e.get("kind"))
                    .and_then(|k| k.as_str())
                    == Some("escalate") => {}
            None => {
                return Err(format!(
                    "hotline: {id} has no created_by_ref (only an escalation note has no author)"
                ));
            }
        }
        match self.case_of(type_name, &o) {
            (_, Some((from, to))) if from == *theirs && to == me => Ok(()),
            (_, Some((from, to))) if type_name == "note" && to == *theirs && from == me => Ok(()),
            (case, Some((from, to))) => Err(format!(
                "hotline: case {} is between {from} and {to}, not between partner `{partner}` and this node",
                case.unwrap_or_default()
            )),
            (_, None) if type_name == "note" => Ok(()),
            (case, None) => Err(format!(
                "hotline: incident {} has no readable opener and addressee",
                case.unwrap_or_default()
            )),
        }
    }

    /// [`HotlineGate::withhold`] for a counterparty: only partners are
    /// gated (the node's own accounts see every case).
    pub fn withhold_for(&self, to: Counterparty<'_>, obj: &StoredObject) -> Option<String> {
        match to {
            Counterparty::Partner(p) => self.withhold(p, obj),
            _ => None,
        }
    }

    /// [`HotlineGate::admit`] for a counterparty.
    ///
    /// # Errors
    /// As [`HotlineGate::admit`].
    pub fn admit_from(&self, from: Counterparty<'_>, obj: &Doc<'_>) -> Result<(), String> {
        match from {
            Counterparty::Partner(p) => self.admit(p, obj),
            _ => Ok(()),
        }
    }
}

/// `exchange` with the hotline rule of the node with `config` and `store`.
///
/// # Errors
/// As [`HotlineGate::for_node`].
pub fn gated(
    exchange: crate::exchange::Exchange,
    config: &Config,
    store: &dyn Backend,
) -> Result<crate::exchange::Exchange, HotlineError> {
    Ok(exchange.with_hotline(std::sync::Arc::new(HotlineGate::for_node(config, store)?)))
}

/// Parses `--state`.
///
/// # Errors
/// The vocabulary error naming the allowed values.
pub fn parse_state(s: &str) -> Result<State, accord_hotline::VocabError> {
    State::parse(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_hotline::{DeadlineTable, case_uuid};

    const ME: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0a01";
    const B: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0b02";
    const C: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0c03";

    fn config() -> Config {
        let mut text = crate::config::tests::MINIMAL.to_owned();
        for (name, id) in [("b", B), ("c", C)] {
            text.push_str(&format!(
                "\n[[partners]]\nname = \"{name}\"\nurl = \"http://{name}/\"\nverifier_key = \"\"\nidentity = \"{id}\"\n"
            ));
        }
        Config::parse(&text, "t").unwrap()
    }

    fn stored(o: &Object) -> StoredObject {
        StoredObject {
            seq: 1,
            collection: HOTLINE_COLLECTION.into(),
            id: o.get("id").unwrap().as_str().unwrap().into(),
            type_name: o.get("type").unwrap().as_str().unwrap().into(),
            spec_version: "2.1".into(),
            created: None,
            modified: None,
            version: String::new(),
            date_added: String::new(),
            origin: ORIGIN.into(),
            markings: vec![],
            sha256: [0; 32],
            raw: o.to_json(),
        }
    }

    fn case(from: &str, to: &str) -> (Object, Object) {
        open_case(
            &OpenCase {
                case_uuid: case_uuid(&format!("{from}{to}")),
                from: from.into(),
                to: to.into(),
                severity: Severity::High,
                title: "Scanning".into(),
                description: None,
                text: String::new(),
                attachments: vec![],
                assistance: vec![],
                exercise: false,
                facility: None,
            },
            &DeadlineTable::default(),
            Timestamp::parse("2026-12-01T10:00:00Z").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_case_leaves_only_for_its_other_party() {
        let gate = HotlineGate::new(&config(), ME.into(), None);
        let (incident, note) = case(ME, B);
        for o in [&incident, &note] {
            assert_eq!(gate.withhold("b", &stored(o)), None);
            let r = gate.withhold("c", &stored(o)).unwrap();
            assert!(r.starts_with(NOT_A_PARTY), "{r}");
            assert!(gate.withhold("unknown", &stored(o)).is_some());
        }
        // Not a hotline object: the agreement decides.
        let (def, _) = (accord_hotline::definitions()[1].clone(), ());
        assert_eq!(gate.withhold("c", &stored(&def)), None);
        // A note of a case the gate never saw (no store): withheld.
        let fresh = HotlineGate::new(&config(), ME.into(), None);
        assert!(
            fresh
                .withhold("b", &stored(&note))
                .unwrap()
                .contains("not known")
        );
    }

    #[test]
    fn a_partner_may_send_only_its_own_messages_on_its_own_cases() {
        let gate = HotlineGate::new(&config(), ME.into(), None);
        let doc = |o: &Object| o.to_json();
        let (incident, note) = case(B, ME);
        let (i, n) = (doc(&incident), doc(&note));
        assert_eq!(gate.admit("b", &Doc::parse(&i).unwrap()), Ok(()));
        assert_eq!(gate.admit("b", &Doc::parse(&n).unwrap()), Ok(()));
        // c relays b's messages: refused, naming the author.
        let e = gate.admit("c", &Doc::parse(&n).unwrap()).unwrap_err();
        assert!(e.contains("not by partner `c`"), "{e}");
        // c writes on a case between b and this node: refused.
        let docket_case = accord_hotline::Case::from_thread(&incident, [&note]).unwrap();
        let reply = transition(
            &docket_case,
            ME,
            accord_hotline::Action::Reply,
            "hi",
            &[],
            Timestamp::parse("2026-12-01T10:05:00Z").unwrap(),
        )
        .unwrap();
        let mut forged = reply.as_map().clone();
        forged.insert("created_by_ref".into(), C.into());
        let forged = Object::from_map(forged).to_json();
        let e = gate.admit("c", &Doc::parse(&forged).unwrap()).unwrap_err();
        assert!(e.contains("not between partner `c`"), "{e}");
        // An incident of b's addressed to someone else: refused.
        let (other, _) = case(B, C);
        let e = gate
            .admit("b", &Doc::parse(&doc(&other)).unwrap())
            .unwrap_err();
        assert!(e.contains("not between partner `b`"), "{e}");
        // A note for a case not known yet is kept (applied when it arrives).
        let fresh = HotlineGate::new(&config(), ME.into(), None);
        assert_eq!(fresh.admit("b", &Doc::parse(&n).unwrap()), Ok(()));
    }

    #[test]
    fn a_note_dated_ahead_of_the_clock_beyond_the_skew_is_refused() {
        // The case opens at 10:00; this node's clock reads 09:00.
        let at = |s: &str| {
            let t = Timestamp::parse(s).unwrap();
            std::sync::Arc::new(accord_stix::FixedClock::new(t.unix_seconds * 1_000_000))
        };
        let (incident, note) = case(B, ME);
        let (i, n) = (incident.to_json(), note.to_json());
        let gate =
            HotlineGate::new(&config(), ME.into(), None).with_clock(at("2026-12-01T09:00:00Z"));
        for (text, id) in [(&i, &incident), (&n, &note)] {
            let e = gate.admit("b", &Doc::parse(text).unwrap()).unwrap_err();
            let id = id.get("id").unwrap().as_str().unwrap();
            assert!(e.contains(id), "{e}");
            assert!(
                e.contains("3600 s ahead of this node's clock (2026-12-01T09:00:00.000Z)"),
                "{e}"
            );
            assert!(e.contains("max_clock_skew_secs"), "{e}");
        }
        // Within the default 300 s: admitted.
        let gate =
            HotlineGate::new(&config(), ME.into(), None).with_clock(at("2026-12-01T09:55:01Z"));
        assert_eq!(gate.admit("b", &Doc::parse(&i).unwrap()), Ok(()));
        assert_eq!(gate.admit("b", &Doc::parse(&n).unwrap()), Ok(()));
        // A stricter configuration refuses it.
        let mut strict = config();
        strict.hotline.max_clock_skew_secs = 60;
        let gate =
            HotlineGate::new(&strict, ME.into(), None).with_clock(at("2026-12-01T09:55:01Z"));
        let e = gate.admit("b", &Doc::parse(&n).unwrap()).unwrap_err();
        assert!(
            e.contains("299 s ahead") && e.contains("at most 60 s"),
            "{e}"
        );
        // An escalation note planted ahead (no author) is refused too.
        let c = accord_hotline::Case::from_thread(&incident, [&note]).unwrap();
        let due = due_escalations(&c, Timestamp::parse("2026-12-02T10:00:00Z").unwrap());
        let esc = escalate_note(&c, &due[0]).to_json();
        let gate =
            HotlineGate::new(&config(), ME.into(), None).with_clock(at("2026-12-01T10:00:00Z"));
        let e = gate.admit("b", &Doc::parse(&esc).unwrap()).unwrap_err();
        assert!(e.contains("ahead of this node's clock"), "{e}");
        // A note dated in the past is never refused for its time.
        let gate =
            HotlineGate::new(&config(), ME.into(), None).with_clock(at("2027-01-01T00:00:00Z"));
        assert_eq!(gate.admit("b", &Doc::parse(&esc).unwrap()), Ok(()));
    }

    #[test]
    fn the_skew_key_defaults_to_300_and_is_read() {
        assert_eq!(
            config().hotline.max_clock_skew_secs,
            DEFAULT_MAX_CLOCK_SKEW_SECS
        );
        let text = format!(
            "{}\n[hotline]\nmax_clock_skew_secs = 30\n",
            crate::config::tests::MINIMAL
        );
        assert_eq!(
            Config::parse(&text, "t")
                .unwrap()
                .hotline
                .max_clock_skew_secs,
            30
        );
    }

    #[test]
    fn the_webhook_is_retried_until_it_answers() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for status in ["500 Internal Server Error", "200 OK"] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                loop {
                    let n = s.read(&mut buf).unwrap();
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(h) = text.find("\r\n\r\n") {
                        let len: usize = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if got.len() >= h + 4 + len {
                            bodies.push(text[h + 4..].to_owned());
                            break;
                        }
                    }
                    if n == 0 {
                        break;
                    }
                }
                write!(
                    s,
                    "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
                .unwrap();
            }
            bodies
        });
        let e = Escalation {
            case: "incident--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0a01".into(),
            cycle: 0,
            deadline: accord_hotline::DeadlineKind::Ack,
            due: Timestamp::parse("2026-12-01T11:00:00Z").unwrap(),
            severity: Severity::Critical,
            to: B.into(),
            level: 1,
            exercise: false,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(notify_webhook(
            &url,
            &e,
            3,
            std::time::Duration::from_millis(10),
        ))
        .unwrap();
        let bodies = server.join().unwrap();
        assert_eq!(bodies.len(), 2);
        let v: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
        assert_eq!(v["event"], "hotline-escalation");
        assert_eq!(v["level"], 1);
        assert_eq!(v["deadline"], "ack");
        // Nobody listening: the error names the URL and the attempts.
        let dead = "http://127.0.0.1:9/hook";
        let err = rt
            .block_on(notify_webhook(
                dead,
                &e,
                2,
                std::time::Duration::from_millis(1),
            ))
            .unwrap_err();
        assert!(
            err.contains("after 2 attempt(s)") && err.contains(dead),
            "{err}"
        );
    }
}
