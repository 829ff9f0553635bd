//! Hotline exercises: a scripted tabletop scenario played between real
//! nodes on a simulated clock (`accord hotline exercise SCENARIO.toml`).
//!
//! A scenario names the parties (each a node's `accord.toml`, whose data
//! directory this machine can open), a simulated start and an ordered list
//! of steps, each at an offset from the start (`at = "+45m"`), by one party
//! (`open` a case, `ack`, `progress`, `reply`, `resolve`, `decline`,
//! `reopen`), or `sync` (deliver among every party). Each step runs at its
//! simulated time through the same [`Hotline`] service the CLI uses (every
//! case it opens is flagged `exercise`), then delivers by the real path
//! (one round of [`crate::scheduler::run_round`] between the acting party
//! and each other party, both ways, as `accord sync --config X --partner P
//! --once` does: the nodes' `accord serve` answer the pulls), then runs the
//! deadlines at the step's time on every party, so a missed deadline
//! escalates on both sides. The [`ExerciseReport`] gives, per case and
//! party, the time to acknowledge and to resolve against the deadlines,
//! met or missed, and the escalations recorded.
//!
//! **The simulated clock runs in the past**: a partner refuses a hotline
//! note dated ahead of its clock (`[hotline] max_clock_skew_secs`), so
//! every step must be at or before the real time; by default the start is
//! now − the scenario's span − 10 minutes.
//!
//! **`accord serve`'s own deadline tick** runs at the real time, which is
//! past every deadline of the scenario: it would escalate a deadline before
//! the step that meets it has been played. While a scenario plays, its
//! runner keeps its simulated span in a file of `DATA_DIR/hotline-exercises/`
//! of every party ([`playing`]); [`Hotline::tick`] leaves the exercise cases
//! opened within that span to the runner. The file is removed when the
//! runner ends and is ignored once older than 10 minutes (a runner that
//! died; the runner rewrites it at each step).

use crate::config::Config;
use crate::hotline::{Action, Assistance, Hotline, HotlineError, OpenRequest, Severity, State};
use crate::partner::Partner;
use crate::scheduler::{Federation, SchedulerOptions, record_round, run_round};
use accord_hotline::{Case, DeadlineKind};
use accord_stix::{Clock, Timestamp};
use accord_store::Backend;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The directory (in a node's data directory) of the running exercises'
/// case lists.
pub const PLAY_DIR: &str = "hotline-exercises";

/// A play file older than this is a runner that died: ignored.
const PLAY_FRESH: Duration = Duration::from_secs(600);

/// The margin before the real time at which a default start ends the
/// scenario.
pub const DEFAULT_MARGIN_SECS: i64 = 600;

/// Parses a step's offset: `+` then one or more numbers with a unit
/// (`s`, `m`, `h`, `d`), e.g. `+0s`, `+45m`, `+1h30m`, `+2d 4h`.
///
/// # Errors
/// A message naming the text.
pub fn parse_offset(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an offset (`+` then e.g. 45m, 1h30m, 2d)");
    let rest = text.trim().strip_prefix('+').ok_or_else(bad)?;
    let mut total: i64 = 0;
    let mut seg = String::new();
    let mut any = false;
    for ch in rest.chars() {
        if ch.is_whitespace() {
            continue;
        }
        seg.push(ch);
        if ch.is_ascii_alphabetic() {
            let secs = accord_hotline::deadline::parse_duration(&seg).map_err(|_| bad())?;
            total = total
                .checked_add(i64::try_from(secs).map_err(|_| bad())?)
                .ok_or_else(bad)?;
            seg.clear();
            any = true;
        } else if !ch.is_ascii_digit() {
            return Err(bad());
        }
    }
    if !seg.is_empty() || !any {
        return Err(bad());
    }
    Ok(total)
}

/// The exercises playing on a node now: the simulated spans of their
/// scenarios (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Playing {
    spans: Vec<(Timestamp, Timestamp)>,
}

impl Playing {
    /// Whether `case` is an exercise opened within the span of a scenario
    /// playing now (its runner ticks it).
    pub fn holds(&self, case: &Case) -> bool {
        let h = case.header();
        h.exercise
            && self
                .spans
                .iter()
                .any(|(from, to)| *from <= h.created && h.created <= *to)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct PlayFile {
    from: String,
    to: String,
}

/// The exercises playing on the node with `data_dir` now. Unreadable or
/// stale files count for nothing.
pub fn playing(data_dir: &Path) -> Playing {
    let mut out = Playing::default();
    let Ok(entries) = std::fs::read_dir(data_dir.join(PLAY_DIR)) else {
        return out;
    };
    for e in entries.flatten() {
        let fresh = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < PLAY_FRESH);
        if !fresh {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(e.path())
            && let Ok(f) = serde_json::from_str::<PlayFile>(&text)
            && let (Ok(from), Ok(to)) = (Timestamp::parse(&f.from), Timestamp::parse(&f.to))
        {
            out.spans.push((from, to));
        }
    }
    out
}

/// Why an exercise could not be played.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExerciseError {
    /// The scenario file is wrong (the text names the step or key).
    #[error("scenario {file}: {message}")]
    Scenario {
        /// The scenario file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A party's node could not be used.
    #[error("party `{party}`: {message}")]
    Party {
        /// The party.
        party: String,
        /// What failed.
        message: String,
    },
    /// A step failed (nothing of it was stored).
    #[error("step {index} (at {at}, {what}): {source}")]
    Step {
        /// Its 1-based index.
        index: usize,
        /// Its offset as written.
        at: String,
        /// What it did.
        what: String,
        /// The hotline's reason.
        source: Box<HotlineError>,
    },
    /// The play file could not be written.
    #[error("{0}")]
    Io(String),
}

/// A scenario file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    start: Option<String>,
    parties: BTreeMap<String, PathBuf>,
    steps: Vec<StepFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    at: String,
    #[serde(default)]
    party: Option<String>,
    action: String,
    #[serde(default)]
    case: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    ask: Vec<String>,
    #[serde(default)]
    text: String,
    #[serde(default = "yes")]
    deliver: bool,
}

fn yes() -> bool {
    true
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepAction {
    /// Open a case to `to`, named `case` in later steps.
    Open {
        /// The label.
        case: String,
        /// The addressee party.
        to: String,
        /// Severity.
        severity: Severity,
        /// Title.
        title: String,
        /// Description.
        description: Option<String>,
        /// Assistance asked.
        ask: Vec<Assistance>,
    },
    /// A message on the case labelled `case`.
    Act {
        /// The label.
        case: String,
        /// The action.
        action: Action,
        /// The text.
        text: String,
    },
    /// Deliver among every party (and run the deadlines).
    Sync,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The offset as written (`+45m`).
    pub at: String,
    /// Seconds from the start.
    pub offset_secs: i64,
    /// The acting party (none for `sync`).
    pub party: Option<String>,
    /// What it does.
    pub action: StepAction,
    /// Whether its message is delivered at once.
    pub deliver: bool,
}

/// A checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name (the file name when absent).
    pub name: String,
    /// The simulated start, when the file sets one.
    pub start: Option<Timestamp>,
    /// Party name → its node's configuration file (resolved).
    pub parties: BTreeMap<String, PathBuf>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// The offset of the last step, in seconds.
    pub fn span_secs(&self) -> i64 {
        self.steps.last().map_or(0, |s| s.offset_secs)
    }

    /// Parses and checks a scenario; party paths are resolved against
    /// `root`. `file` names the source in errors.
    ///
    /// # Errors
    /// [`ExerciseError::Scenario`] naming the step and what is wrong.
    pub fn parse(text: &str, file: &str, root: &Path) -> Result<Scenario, ExerciseError> {
        let bad = |message: String| ExerciseError::Scenario {
            file: file.to_owned(),
            message,
        };
        let raw: ScenarioFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.parties.len() < 2 {
            return Err(bad("`parties` needs at least two nodes".into()));
        }
        let start = match &raw.start {
            Some(s) => Some(Timestamp::parse(s).map_err(|e| bad(format!("start {s:?}: {e}")))?),
            None => None,
        };
        let parties: BTreeMap<String, PathBuf> = raw
            .parties
            .iter()
            .map(|(n, p)| (n.clone(), root.join(p)))
            .collect();
        if raw.steps.is_empty() {
            return Err(bad("no [[steps]]".into()));
        }
        let mut steps = Vec::new();
        let mut labels: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut last = 0;
        for (i, s) in raw.steps.iter().enumerate() {
            let here = |m: String| bad(format!("steps[{}] (at {:?}): {m}", i + 1, s.at));
            let offset = parse_offset(&s.at).map_err(&here)?;
            if offset < last {
                return Err(here(format!(
                    "it comes before the step above it (+{last} s): steps are in time order"
                )));
            }
            last = offset;
            let party = match (&s.party, s.action.as_str()) {
                (None, "sync") => None,
                (Some(_), "sync") => return Err(here("`sync` has no `party`".into())),
                (None, _) => return Err(here("`party` is missing".into())),
                (Some(p), _) if !parties.contains_key(p) => {
                    return Err(here(format!(
                        "party `{p}` is not in [parties] ({})",
                        parties.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
                (Some(p), _) => Some(p.clone()),
            };
            let label = || {
                s.case
                    .clone()
                    .ok_or_else(|| here("`case` (the label of the case) is missing".into()))
            };
            let action = match s.action.as_str() {
                "sync" => StepAction::Sync,
                "open" => {
                    let case = label()?;
                    if labels.contains_key(&case) {
                        return Err(here(format!("case `{case}` is already opened above")));
                    }
                    let to = s.to.clone().ok_or_else(|| here("`to` is missing".into()))?;
                    let me = party.clone().unwrap_or_default();
                    if !parties.contains_key(&to) || to == me {
                        return Err(here(format!(
                            "`to` = {to:?} is not another party in [parties]"
                        )));
                    }
                    let severity = Severity::parse(s.severity.as_deref().unwrap_or(""))
                        .map_err(|e| here(format!("severity: {e}")))?;
                    let title = s
                        .title
                        .clone()
                        .filter(|t| !t.trim().is_empty())
                        .ok_or_else(|| here("`title` is missing".into()))?;
                    let ask = s
                        .ask
                        .iter()
                        .map(|a| Assistance::parse(a).map_err(|e| here(format!("ask: {e}"))))
                        .collect::<Result<_, _>>()?;
                    labels.insert(case.clone(), (me, to.clone()));
                    StepAction::Open {
                        case,
                        to,
                        severity,
                        title,
                        description: s.description.clone(),
                        ask,
                    }
                }
                other => {
                    let action = match other {
                        "ack" => Action::Ack,
                        "progress" => Action::Progress,
                        "reply" => Action::Reply,
                        "resolve" => Action::Resolve,
                        "decline" => Action::Decline,
                        "reopen" => Action::Reopen,
                        _ => {
                            return Err(here(format!(
                                "action {other:?} is not one of open, ack, progress, reply, resolve, decline, reopen, sync"
                            )));
                        }
                    };
                    let case = label()?;
                    let Some((a, b)) = labels.get(&case) else {
                        return Err(here(format!("case `{case}` is not opened by a step above")));
                    };
                    let me = party.clone().unwrap_or_default();
                    if me != *a && me != *b {
                        return Err(here(format!(
                            "party `{me}` is not a party to case `{case}` ({a} and {b})"
                        )));
                    }
                    if matches!(action, Action::Reply | Action::Decline | Action::Reopen)
                        && s.text.trim().is_empty()
                    {
                        return Err(here(format!("`{other}` needs a `text`")));
                    }
                    StepAction::Act {
                        case,
                        action,
                        text: s.text.clone(),
                    }
                }
            };
            steps.push(Step {
                at: s.at.clone(),
                offset_secs: offset,
                party,
                action,
                deliver: s.deliver,
            });
        }
        Ok(Scenario {
            name: raw.name.clone().unwrap_or_else(|| file.to_owned()),
            start,
            parties,
            steps,
        })
    }

    /// The start: `start` when given, else the file's, else
    /// `now` − the span − [`DEFAULT_MARGIN_SECS`].
    ///
    /// # Errors
    /// [`ExerciseError::Scenario`] when the last step would be after `now`
    /// (partners refuse notes dated ahead of their clock).
    pub fn start_at(
        &self,
        start: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Timestamp, ExerciseError> {
        let span = self.span_secs();
        let start = start.or(self.start).unwrap_or_else(|| {
            Timestamp::from_unix(now.unix_seconds - span - DEFAULT_MARGIN_SECS, 0)
        });
        let end = start.unix_seconds + span;
        if end > now.unix_seconds {
            return Err(ExerciseError::Scenario {
                file: self.name.clone(),
                message: format!(
                    "the last step would be at {}, after the real time {}: the simulated clock must stay in the past (a partner refuses hotline notes dated ahead of its clock); pick an earlier start",
                    Timestamp::from_unix(end, 0).to_millis_string(),
                    now.to_millis_string()
                ),
            });
        }
        Ok(start)
    }
}

/// A party's node, opened by the caller.
pub struct Party {
    /// Its name in the scenario.
    pub name: String,
    /// Its configuration.
    pub config: Config,
    /// Its store.
    pub store: Box<dyn Backend>,
}

impl std::fmt::Debug for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Party")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// One deadline of a cycle, as one party sees it at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineFigure {
    /// When it falls.
    pub due: String,
    /// Seconds allowed from the cycle's start.
    pub allowed_secs: i64,
    /// Seconds taken from the cycle's start (null: not met).
    pub took_secs: Option<i64>,
    /// `met`, `missed` or `pending` (not met, not yet due at the end).
    pub outcome: &'static str,
    /// Whether its escalation is recorded.
    pub escalated: bool,
}

/// One cycle of a case (the opening, then one per reopen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CycleFigure {
    /// 0 for the opening.
    pub cycle: u32,
    /// When it started.
    pub started: String,
    /// Acknowledge.
    pub ack: DeadlineFigure,
    /// Resolve.
    pub resolve: DeadlineFigure,
}

/// A case as one party holds it at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyView {
    /// The party.
    pub party: String,
    /// Whether it holds the case at all.
    pub holds: bool,
    /// Its state.
    pub state: Option<State>,
    /// The escalation level.
    pub escalation: u32,
    /// Whether the case is flagged an exercise.
    pub exercise: bool,
    /// The cycles.
    pub cycles: Vec<CycleFigure>,
}

/// A case of the exercise.
#[derive(Debug, Clone, Serialize)]
pub struct CaseFigures {
    /// Its label in the scenario.
    pub label: String,
    /// The incident id.
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// The opening party.
    pub opener: String,
    /// The party it is addressed to (who must acknowledge and resolve).
    pub addressee: String,
    /// Each party's view.
    pub parties: Vec<PartyView>,
    /// Whether both parties hold the same figures.
    pub agree: bool,
}

/// An escalation recorded by a tick during the exercise.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    /// The party whose tick recorded it.
    pub party: String,
    /// The case's label.
    pub case: String,
    /// `ack` or `resolve`.
    pub deadline: &'static str,
    /// The cycle.
    pub cycle: u32,
    /// When the deadline passed.
    pub due: String,
    /// The escalation level.
    pub level: u32,
}

/// What a step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// The offset as written.
    pub at: String,
    /// The simulated time.
    pub time: String,
    /// The acting party.
    pub party: Option<String>,
    /// The action.
    pub action: String,
    /// The case's label.
    pub case: Option<String>,
    /// The note (or incident) written.
    pub wrote: Option<String>,
    /// The written note's time when the rules dated it later than the
    /// step (a note never sorts before the case's latest one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dated: Option<String>,
    /// The escalations the deadlines recorded at this step's time.
    pub escalations: Vec<Fired>,
    /// Delivery rounds that failed (partner, reason).
    pub delivery_failures: Vec<String>,
}

/// The exercise's report.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseReport {
    /// The scenario's name.
    pub scenario: String,
    /// The simulated start.
    pub start: String,
    /// The simulated time of the last step.
    pub end: String,
    /// Each step.
    pub steps: Vec<StepRecord>,
    /// Each case.
    pub cases: Vec<CaseFigures>,
}

impl ExerciseReport {
    /// Every delivery that failed: the figures may then differ between
    /// the parties.
    pub fn failures(&self) -> Vec<&str> {
        self.steps
            .iter()
            .flat_map(|s| s.delivery_failures.iter().map(String::as_str))
            .collect()
    }
}

/// A running exercise's span, in a file per party, removed on drop.
struct Play {
    files: Vec<PathBuf>,
    text: String,
    cases: Vec<String>,
}

impl Play {
    fn new(parties: &[Party], from: Timestamp, to: Timestamp) -> Result<Play, ExerciseError> {
        let name = format!("{}.json", uuid::Uuid::new_v4());
        let mut files = Vec::new();
        for p in parties {
            let dir = p.config.data_dir.join(PLAY_DIR);
            std::fs::create_dir_all(&dir)
                .map_err(|e| ExerciseError::Io(format!("creating {}: {e}", dir.display())))?;
            files.push(dir.join(&name));
        }
        let text = serde_json::to_string(&PlayFile {
            from: from.to_millis_string(),
            to: to.to_millis_string(),
        })
        .unwrap_or_default();
        let play = Play {
            files,
            text,
            cases: Vec::new(),
        };
        play.write()?;
        Ok(play)
    }

    /// Writes the files again (which keeps them fresh).
    fn write(&self) -> Result<(), ExerciseError> {
        for f in &self.files {
            std::fs::write(f, &self.text)
                .map_err(|e| ExerciseError::Io(format!("writing {}: {e}", f.display())))?;
        }
        Ok(())
    }
}

impl Drop for Play {
    fn drop(&mut self) {
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// A node of the exercise, ready to play.
struct Node<'a> {
    party: &'a Party,
    hotline: Hotline<'a>,
    fed: Federation,
}

/// Plays `scenario` from `start` between `parties` (every party of the
/// scenario, in any order); `clock` is the real clock (for the sync
/// rounds); `progress` gets one line per step.
///
/// # Errors
/// [`ExerciseError`]: a party that cannot be used, a step refused (what
/// was played before stays, flagged exercise).
pub fn play(
    scenario: &Scenario,
    start: Timestamp,
    parties: &[Party],
    clock: &Arc<dyn Clock>,
    progress: &mut dyn FnMut(&str),
) -> Result<ExerciseReport, ExerciseError> {
    let party_err = |party: &str, message: String| ExerciseError::Party {
        party: party.to_owned(),
        message,
    };
    let mut nodes: BTreeMap<&str, Node<'_>> = BTreeMap::new();
    for name in scenario.parties.keys() {
        let p = parties
            .iter()
            .find(|p| p.name == *name)
            .ok_or_else(|| party_err(name, "not opened".into()))?;
        let hotline = Hotline::new(&p.config, &*p.store, clock.now_micros())
            .map_err(|e| party_err(name, e.to_string()))?;
        let exchange = crate::agreements::exchange_for(&p.config, &p.config.data_dir)
            .map_err(|e| party_err(name, e.to_string()))?;
        let exchange = crate::hotline::gated(exchange, &p.config, &*p.store)
            .map_err(|e| party_err(name, e.to_string()))?;
        let fed = Federation::new(
            p.config.clone(),
            exchange,
            Arc::clone(clock),
            SchedulerOptions::default(),
        );
        nodes.insert(
            name.as_str(),
            Node {
                party: p,
                hotline,
                fed,
            },
        );
    }
    // Which [[partners]] entry of A is party B: the one with B's identity.
    let partner_of = |a: &str, b: &str| -> Option<Partner> {
        let id = nodes.get(b)?.hotline.identity();
        Partner::all(&nodes.get(a)?.party.config)
            .into_iter()
            .find(|p| p.config().identity.as_deref() == Some(id))
    };
    for step in &scenario.steps {
        if let (Some(a), StepAction::Open { to, .. }) = (&step.party, &step.action)
            && partner_of(a, to).is_none()
        {
            return Err(party_err(
                a,
                format!(
                    "no [[partners]] entry has the identity of party `{to}` ({}): add `identity` to the partner entry",
                    nodes[to.as_str()].hotline.identity()
                ),
            ));
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ExerciseError::Io(format!("starting the async runtime: {e}")))?;
    // One round at A with its partner B (as `accord sync --once`).
    let round = |a: &str, b: &str| -> Option<String> {
        let partner = partner_of(a, b)?;
        let node = &nodes[a];
        let store = &*node.party.store;
        let outcome = rt.block_on(run_round(&node.fed, store, &partner));
        let _ = record_round(
            store,
            partner.name(),
            &outcome,
            SchedulerOptions::default().max_failures,
            &clock.now_rfc3339(),
            true,
        );
        match outcome {
            Ok(r) if r.push.as_ref().is_some_and(|p| !p.refused.is_empty()) => {
                Some(format!("{a} → {b}: {}", r.summary()))
            }
            Ok(_) => None,
            Err(e) => Some(format!("{a} ↔ {b}: {e}")),
        }
    };
    let end = Timestamp::from_unix(start.unix_seconds + scenario.span_secs(), 0);
    let mut play = Play::new(parties, start, end)?;
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut records = Vec::new();
    let names: Vec<&str> = nodes.keys().copied().collect();
    for (i, step) in scenario.steps.iter().enumerate() {
        let t = Timestamp::from_unix(start.unix_seconds + step.offset_secs, 0);
        play.write()?;
        let step_err = |what: String, source| ExerciseError::Step {
            index: i + 1,
            at: step.at.clone(),
            what,
            source: Box::new(source),
        };
        let mut rec = StepRecord {
            at: step.at.clone(),
            time: t.to_millis_string(),
            party: step.party.clone(),
            action: String::new(),
            case: None,
            wrote: None,
            dated: None,
            escalations: Vec::new(),
            delivery_failures: Vec::new(),
        };
        match (&step.action, &step.party) {
            (
                StepAction::Open {
                    case,
                    to,
                    severity,
                    title,
                    description,
                    ask,
                },
                Some(a),
            ) => {
                rec.action = "open".into();
                rec.case = Some(case.clone());
                let partner = partner_of(a, to)
                    .map(|p| p.name().to_owned())
                    .unwrap_or_default();
                let id = nodes[a.as_str()]
                    .hotline
                    .open(
                        &OpenRequest {
                            partner,
                            severity: *severity,
                            title: title.clone(),
                            description: description.clone(),
                            attachments: Vec::new(),
                            assistance: ask.clone(),
                            exercise: true,
                        },
                        t,
                    )
                    .map_err(|e| step_err(format!("{a} opens case `{case}`"), e))?;
                play.cases.push(id.clone());
                ids.insert(case.clone(), id.clone());
                rec.wrote = Some(id);
            }
            (StepAction::Act { case, action, text }, Some(a)) => {
                rec.action = action.kind().as_str().into();
                rec.case = Some(case.clone());
                let id = &ids[case];
                let note = nodes[a.as_str()]
                    .hotline
                    .act(id, *action, text, &[], t)
                    .map_err(|e| step_err(format!("{a} {} on case `{case}`", rec.action), e))?;
                let created = note
                    .get("created")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned();
                if Timestamp::parse(&created).is_ok_and(|c| c.unix_seconds != t.unix_seconds) {
                    rec.dated = Some(created);
                }
                rec.wrote = note.get("id").and_then(|v| v.as_str()).map(str::to_owned);
            }
            _ => rec.action = "sync".into(),
        }
        // Delivery: the acting party with every other, both ways (a pull
        // at each side; a push where one is configured); `sync`: every pair.
        if step.deliver {
            for a in &names {
                for b in &names {
                    let involved = match &step.party {
                        Some(p) => p == a || p == b,
                        None => true,
                    };
                    if a != b
                        && involved
                        && let Some(f) = round(a, b)
                    {
                        rec.delivery_failures.push(f);
                    }
                }
            }
        }
        // The deadlines at this time, on every party.
        for n in &names {
            let fired = nodes[n]
                .hotline
                .tick_cases(t, &play.cases)
                .map_err(|e| step_err(format!("the deadlines on {n}"), e))?;
            for e in fired {
                let label = ids
                    .iter()
                    .find(|(_, v)| **v == e.case)
                    .map(|(k, _)| k.clone())
                    .unwrap_or_else(|| e.case.clone());
                rec.escalations.push(Fired {
                    party: (*n).to_owned(),
                    case: label,
                    deadline: e.deadline.as_str(),
                    cycle: e.cycle,
                    due: e.due.to_millis_string(),
                    level: e.level,
                });
            }
        }
        progress(&step_line(&rec));
        records.push(rec);
    }
    let mut cases = Vec::new();
    for step in &scenario.steps {
        let (
            Some(a),
            StepAction::Open {
                case, to, severity, ..
            },
        ) = (&step.party, &step.action)
        else {
            continue;
        };
        let id = &ids[case];
        let mut views = Vec::new();
        for n in &names {
            let docket = nodes[n]
                .hotline
                .docket()
                .map_err(|e| party_err(n, e.to_string()))?;
            views.push(view_of(n, docket.get(id), end));
        }
        // The case's two parties (no other party holds it).
        let views: Vec<PartyView> = views
            .into_iter()
            .filter(|v| v.party == *a || v.party == *to)
            .collect();
        let agree = views.windows(2).all(|w| {
            w[0].holds == w[1].holds
                && w[0].state == w[1].state
                && w[0].escalation == w[1].escalation
                && w[0].cycles == w[1].cycles
        });
        cases.push(CaseFigures {
            label: case.clone(),
            id: id.clone(),
            severity: *severity,
            opener: a.clone(),
            addressee: to.clone(),
            parties: views,
            agree,
        });
    }
    drop(play);
    Ok(ExerciseReport {
        scenario: scenario.name.clone(),
        start: start.to_millis_string(),
        end: end.to_millis_string(),
        steps: records,
        cases,
    })
}

fn step_line(r: &StepRecord) -> String {
    let mut s = format!(
        "{} ({}) {} {}{}",
        r.at,
        r.time,
        r.party.as_deref().unwrap_or("all"),
        r.action,
        r.case
            .as_deref()
            .map(|c| format!(" `{c}`"))
            .unwrap_or_default()
    );
    if let Some(d) = &r.dated {
        s.push_str(&format!(" (dated {d}: after the case's latest note)"));
    }
    for e in &r.escalations {
        s.push_str(&format!(
            "; {} escalates `{}`: {} deadline of cycle {} passed at {}",
            e.party, e.case, e.deadline, e.cycle, e.due
        ));
    }
    for f in &r.delivery_failures {
        s.push_str(&format!("; DELIVERY FAILED {f}"));
    }
    s
}

fn figure(c: &accord_hotline::Cycle, d: DeadlineKind, end: Timestamp) -> DeadlineFigure {
    let due = c.deadline(d);
    let took = c.met_at(d).map(|t| t.unix_seconds - c.started.unix_seconds);
    let outcome = if c.missed(d, end) {
        "missed"
    } else if c.met_at(d).is_some() {
        "met"
    } else {
        "pending"
    };
    DeadlineFigure {
        due: due.to_millis_string(),
        allowed_secs: due.unix_seconds - c.started.unix_seconds,
        took_secs: took,
        outcome,
        escalated: c.escalated(d),
    }
}

fn view_of(party: &str, case: Option<&Case>, end: Timestamp) -> PartyView {
    let Some(c) = case else {
        return PartyView {
            party: party.to_owned(),
            holds: false,
            state: None,
            escalation: 0,
            exercise: false,
            cycles: Vec::new(),
        };
    };
    PartyView {
        party: party.to_owned(),
        holds: true,
        state: Some(c.state()),
        escalation: c.escalation(),
        exercise: c.header().exercise,
        cycles: c
            .cycles()
            .iter()
            .enumerate()
            .map(|(i, cy)| CycleFigure {
                cycle: i as u32,
                started: cy.started.to_millis_string(),
                ack: figure(cy, DeadlineKind::Ack, end),
                resolve: figure(cy, DeadlineKind::Resolve, end),
            })
            .collect(),
    }
}

/// `secs` as `1h 05m`, `45m`, `30s`.
pub fn span_text(secs: i64) -> String {
    let (sign, s) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    match s {
        s if s < 60 => format!("{sign}{s}s"),
        s if s < 3600 => format!("{sign}{}m", s / 60),
        s => format!("{sign}{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The report as text, one block per case.
pub fn report_text(r: &ExerciseReport) -> String {
    let mut out = format!(
        "exercise `{}`: simulated from {} to {}\n",
        r.scenario, r.start, r.end
    );
    for c in &r.cases {
        out.push_str(&format!(
            "case `{}` ({}) {}, {} to {}{}\n",
            c.label,
            c.id,
            c.severity.as_str(),
            c.opener,
            c.addressee,
            if c.agree {
                ""
            } else {
                "  (the parties DISAGREE)"
            }
        ));
        for v in &c.parties {
            if !v.holds {
                out.push_str(&format!("  {}: does not hold the case\n", v.party));
                continue;
            }
            out.push_str(&format!(
                "  {}: {}, escalation level {}{}\n",
                v.party,
                v.state.map_or("?", State::as_str),
                v.escalation,
                if v.exercise {
                    ", exercise"
                } else {
                    ", NOT an exercise"
                }
            ));
            for cy in &v.cycles {
                for (what, f) in [("acknowledge", &cy.ack), ("resolve", &cy.resolve)] {
                    out.push_str(&format!(
                        "    cycle {} {:<11} within {:<8} took {:<8} {}{}\n",
                        cy.cycle,
                        what,
                        span_text(f.allowed_secs),
                        f.took_secs.map_or("-".into(), span_text),
                        f.outcome.to_uppercase(),
                        if f.escalated { ", escalated" } else { "" }
                    ));
                }
            }
        }
    }
    let failures = r.failures();
    if !failures.is_empty() {
        out.push_str(&format!("{} delivery round(s) failed:\n", failures.len()));
        for f in failures {
            out.push_str(&format!("  {f}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"
name = "drill"
[parties]
a = "a/accord.toml"
b = "b/accord.toml"

[[steps]]
at = "+0s"
party = "a"
action = "open"
case = "scan"
to = "b"
severity = "high"
title = "Scans"
ask = ["block"]

[[steps]]
at = "+1h30m"
party = "b"
action = "ack"
case = "scan"

[[steps]]
at = "+2d"
action = "sync"
"#;

    #[test]
    fn offsets_are_sums_of_units() {
        assert_eq!(parse_offset("+0s"), Ok(0));
        assert_eq!(parse_offset("+45m"), Ok(2700));
        assert_eq!(parse_offset("+1h30m"), Ok(5400));
        assert_eq!(parse_offset(" +2d 4h "), Ok(187_200));
        for bad in [
            "45m",
            "+",
            "+45",
            "+1x",
            "+h",
            "+-5m",
            "+1h30",
            "+99999999999d",
        ] {
            let e = parse_offset(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn a_scenario_parses_with_its_offsets_and_parties() {
        let s = Scenario::parse(SCENARIO, "s.toml", Path::new("/x")).unwrap();
        assert_eq!(s.name, "drill");
        assert_eq!(s.parties["a"], Path::new("/x/a/accord.toml"));
        assert_eq!(
            s.steps.iter().map(|s| s.offset_secs).collect::<Vec<_>>(),
            [0, 5400, 172_800]
        );
        assert_eq!(s.span_secs(), 172_800);
        assert!(matches!(
            s.steps[0].action,
            StepAction::Open {
                severity: Severity::High,
                ..
            }
        ));
        assert_eq!(s.steps[2].action, StepAction::Sync);
    }

    #[test]
    fn a_bad_scenario_names_the_step_and_what_is_wrong() {
        let cases = [
            (SCENARIO.replace("+1h30m", "+1x"), "steps[2]"),
            (SCENARIO.replace("+1h30m", "-5m"), "steps[2]"),
            (SCENARIO.replace("\"+2d\"", "\"+1h\""), "comes before"),
            (
                SCENARIO.replace("party = \"b\"", "party = \"c\""),
                "party `c` is not in",
            ),
            (
                SCENARIO.replace(
                    "case = \"scan\"\n\n[[steps]]\nat = \"+2d\"",
                    "case = \"other\"\n\n[[steps]]\nat = \"+2d\"",
                ),
                "not opened",
            ),
            (SCENARIO.replace("\"high\"", "\"urgent\""), "severity"),
            (
                SCENARIO.replace("action = \"ack\"", "action = \"reply\""),
                "needs a `text`",
            ),
            (
                SCENARIO.replace("to = \"b\"", "to = \"a\""),
                "not another party",
            ),
            (
                SCENARIO.replace("action = \"ack\"", "action = \"dance\""),
                "not one of",
            ),
            (SCENARIO.replace("ask = [", "asks = ["), "unknown field"),
        ];
        for (text, want) in cases {
            let e = Scenario::parse(&text, "s.toml", Path::new("/x"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("scenario s.toml: "), "{e}");
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn the_default_start_keeps_every_step_in_the_past() {
        let s = Scenario::parse(SCENARIO, "s.toml", Path::new("/x")).unwrap();
        let now = Timestamp::parse("2026-12-07T12:00:00Z").unwrap();
        let start = s.start_at(None, now).unwrap();
        assert_eq!(
            start.unix_seconds,
            now.unix_seconds - 172_800 - DEFAULT_MARGIN_SECS
        );
        // A start that puts the last step after now is refused.
        let late = Timestamp::parse("2026-12-06T12:00:00Z").unwrap();
        let e = s.start_at(Some(late), now).unwrap_err().to_string();
        assert!(e.contains("must stay in the past"), "{e}");
    }

    #[test]
    fn only_fresh_play_files_hold_exercise_cases_of_their_span() {
        use accord_hotline::{DeadlineTable, OpenCase, case_uuid, open_case};
        let case = |exercise: bool, at: &str| {
            let (i, n) = open_case(
                &OpenCase {
                    case_uuid: case_uuid(at),
                    from: "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0a01".into(),
                    to: "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0b02".into(),
                    severity: Severity::High,
                    title: "Drill".into(),
                    description: None,
                    text: String::new(),
                    attachments: vec![],
                    assistance: vec![],
                    exercise,
                    facility: None,
                },
                &DeadlineTable::default(),
                Timestamp::parse(at).unwrap(),
            )
            .unwrap();
            Case::from_thread(&i, [&n]).unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let inside = case(true, "2026-12-01T10:00:00Z");
        assert!(!playing(dir.path()).holds(&inside));
        let play = dir.path().join(PLAY_DIR);
        std::fs::create_dir_all(&play).unwrap();
        let span = |from: &str, to: &str| format!(r#"{{"from":"{from}","to":"{to}"}}"#);
        std::fs::write(
            play.join("x.json"),
            span("2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z"),
        )
        .unwrap();
        std::fs::write(play.join("bad.json"), "not json").unwrap();
        let old = play.join("old.json");
        std::fs::write(&old, span("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")).unwrap();
        let f = std::fs::File::options().write(true).open(&old).unwrap();
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        let now = playing(dir.path());
        assert!(now.holds(&inside));
        // A real case in the span, an exercise outside it, one in a stale
        // file's span: the node's own tick takes them.
        assert!(!now.holds(&case(false, "2026-12-01T10:00:00Z")));
        assert!(!now.holds(&case(true, "2026-12-01T12:00:00Z")));
        assert!(!now.holds(&case(true, "2026-11-01T12:00:00Z")));
    }
}
