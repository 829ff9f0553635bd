//! ATT&CK techniques on the dashboard: `/ui/techniques` lists each
//! technique with the indicators that indicate it (in the collections the
//! account may read) and the hotline cases whose evidence does (see
//! [`accord_app::techniques`]); `/ui/techniques/{technique}` lists them.
//!
//! No page reads the store's objects for this: [`follow`] keeps an
//! [`accord_app::techniques::TechniqueIndex`] up with the store in the
//! background (the relationships and attack-patterns stored since its last
//! round, one indexed query per collection) and publishes a
//! [`Snapshot`] the pages read. A page reads only the hotline's cases (as
//! the overview does) to count them per technique.

use super::{Signed, UiError, html_page, layout};
use crate::state::AppState;
use accord_app::techniques::{Breakdown, Snapshot, TechniqueIndex, cases_by_technique};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Rows read per round of [`follow`] at most (a few hundred milliseconds).
const FOLLOW_BUDGET: usize = 20_000;
/// The index is rebuilt from the store this often (and whenever the
/// store's count drops: an object was deleted).
const REBUILD_EVERY: Duration = Duration::from_secs(3600);
/// Indicators listed on a technique's page at most.
const LIST_LIMIT: usize = 500;

/// The latest snapshot, once [`follow`] made one, and the breakdowns
/// computed from it per set of readable collections (an account's), so a
/// page counts distinct indicators once per snapshot, not per request.
#[derive(Default)]
pub(crate) struct Kept(Mutex<Option<(Arc<Snapshot>, Breakdowns)>>);

/// Breakdowns by the (sorted) collections they cover.
type Breakdowns = std::collections::HashMap<Vec<String>, Arc<Breakdown>>;

/// Distinct sets of collections whose breakdown is kept per snapshot.
const KEPT_BREAKDOWNS: usize = 64;

impl Kept {
    fn get(&self) -> Option<Arc<Snapshot>> {
        self.0
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|s| Arc::clone(&s.0)))
    }

    fn set(&self, s: Snapshot) {
        if let Ok(mut k) = self.0.lock() {
            *k = Some((Arc::new(s), Breakdowns::new()));
        }
    }

    /// The breakdown of `snap` over the collections `visible`, kept while
    /// `snap` is the latest.
    fn breakdown(&self, snap: &Arc<Snapshot>, visible: &[String]) -> Arc<Breakdown> {
        let mut key = visible.to_vec();
        key.sort();
        key.dedup();
        let visible = key.as_slice();
        if let Ok(k) = self.0.lock()
            && let Some((s, kept)) = k.as_ref()
            && Arc::ptr_eq(s, snap)
            && let Some(b) = kept.get(visible)
        {
            return Arc::clone(b);
        }
        let b =
            Arc::new(snap.breakdown(|c| visible.binary_search_by(|v| v.as_str().cmp(c)).is_ok()));
        if let Ok(mut k) = self.0.lock()
            && let Some((s, kept)) = k.as_mut()
            && Arc::ptr_eq(s, snap)
        {
            if kept.len() >= KEPT_BREAKDOWNS {
                kept.clear();
            }
            kept.insert(visible.to_vec(), Arc::clone(&b));
        }
        b
    }
}

/// Keeps the techniques' snapshot up with the store for as long as the
/// node serves: a round every 2 s, at most [`FOLLOW_BUDGET`] rows a round
/// (when behind, resting as long as the round took).
pub async fn follow(state: Arc<AppState>) {
    let weak = Arc::downgrade(&state);
    drop(state);
    // The index, the store's count at the last round, when the index was
    // started, and whether it has read the whole store since (before that
    // nothing is published: a page never shows a partial first read).
    let index = Arc::new(Mutex::new((
        TechniqueIndex::default(),
        0u64,
        Instant::now(),
        false,
    )));
    let mut published = false;
    let started = Instant::now();
    loop {
        let Some(state) = weak.upgrade() else { return };
        let (ix, st) = (Arc::clone(&index), Arc::clone(&state));
        let round = Instant::now();
        let first = !published;
        let done = state
            .read("following ATT&CK techniques", move |store| {
                let mut g = ix.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let (ix, count, built, complete) = &mut *g;
                // A deletion lowers the count: what was deleted may have
                // been counted, so the index is read again (and hourly);
                // the old snapshot is shown until the new read is whole.
                let n = store.count(None)?;
                if n < *count || built.elapsed() > REBUILD_EVERY {
                    *ix = TechniqueIndex::default();
                    *built = Instant::now();
                    *complete = false;
                }
                *count = n;
                let (read, caught_up) = ix.catch_up(store, FOLLOW_BUDGET)?;
                *complete |= caught_up;
                if *complete && (ix.changed() || first) {
                    st.ui.techniques.set(ix.snapshot());
                    return Ok((read, caught_up, true));
                }
                Ok((read, caught_up, false))
            })
            .await;
        drop(state);
        match done {
            Ok((_, caught_up, set)) => {
                if set && !published {
                    tracing::info!(
                        "ATT&CK techniques caught up in {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
                published |= set;
                if !caught_up {
                    tokio::time::sleep(round.elapsed()).await;
                    continue;
                }
            }
            Err(e) => tracing::warn!("the dashboard's techniques: {}", e.description),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The cases per technique (incident ids), from the hotline's cases.
async fn cases(
    state: &Arc<AppState>,
    snap: Arc<Snapshot>,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, UiError> {
    Ok(state
        .read("the hotline's cases by technique", move |store| {
            Ok(accord_app::hotline::docket_of(store)
                .map(|d| cases_by_technique(&d, &snap))
                .map_err(|e| e.to_string()))
        })
        .await?
        .unwrap_or_else(|e| {
            tracing::warn!("the dashboard's techniques: the hotline's cases: {e}");
            Default::default()
        }))
}

fn not_ready() -> Markup {
    html! {
        p.meta { "The node is reading its relationships and attack-patterns (it has just started): reload in a few seconds." }
    }
}

/// The table of techniques (most indicators first), at most `limit` rows.
pub(crate) fn table(
    rows: &[accord_app::techniques::TechniqueRow],
    cases: &std::collections::BTreeMap<String, Vec<String>>,
    limit: usize,
) -> Markup {
    html! {
        table {
            thead { tr { th { "Technique" } th { "Name" } th.num { "Indicators" } th.num { "Cases" } } }
            tbody {
                @for r in rows.iter().take(limit) {
                    @let href = format!("/ui/techniques/{}", r.technique);
                    tr {
                        td { a href=(href) { code { (r.technique) } } }
                        td { (r.name.as_deref().unwrap_or("")) }
                        td.num { a href=(href) { (super::fmt::thousands(r.indicators)) } }
                        td.num { (cases.get(&r.technique).map_or(0, Vec::len)) }
                    }
                }
            }
        }
    }
}

/// The rows the caller may see (indicators through the collections it may
/// read), with techniques that only cases relate to added at zero.
fn rows_for(
    state: &AppState,
    snap: &Arc<Snapshot>,
    visible: &[String],
    cases: &std::collections::BTreeMap<String, Vec<String>>,
) -> (Arc<Breakdown>, Vec<accord_app::techniques::TechniqueRow>) {
    let b = state.ui.techniques.breakdown(snap, visible);
    let mut rows = b.techniques.clone();
    for t in cases.keys() {
        if !rows.iter().any(|r| &r.technique == t) {
            rows.push(accord_app::techniques::TechniqueRow {
                technique: t.clone(),
                name: snap.techniques.get(t).and_then(|e| e.name.clone()),
                indicators: 0,
            });
        }
    }
    (b, rows)
}

/// The snapshot the overview uses, if any ([`overview_section`]).
pub(crate) fn snapshot(state: &AppState) -> Option<Arc<Snapshot>> {
    state.ui.techniques.get()
}

/// The cases per technique of `snap`, read with the caller's store
/// handle (the overview's own read: no second trip to the blocking pool).
pub(crate) fn cases_with(
    store: &dyn accord_store::Backend,
    snap: Option<&Arc<Snapshot>>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let Some(snap) = snap else {
        return Default::default();
    };
    accord_app::hotline::docket_of(store)
        .map(|d| cases_by_technique(&d, snap))
        .unwrap_or_else(|e| {
            tracing::warn!("the dashboard's techniques: the hotline's cases: {e}");
            Default::default()
        })
}

/// The overview's section: the techniques with most indicators.
pub(crate) fn overview_section(
    state: &AppState,
    snap: Option<&Arc<Snapshot>>,
    visible: &[String],
    cases: &std::collections::BTreeMap<String, Vec<String>>,
) -> Markup {
    let Some(snap) = snap else {
        return not_ready();
    };
    let (b, rows) = rows_for(state, snap, visible, cases);
    html! {
        @if rows.is_empty() {
            p.empty { "No indicator indicates an ATT&CK technique yet. Load ATT&CK with " code { "accord import attack BUNDLE" } "; MISP events with ATT&CK galaxies bring " code { "indicates" } " relationships." }
        } @else {
            p { (super::fmt::thousands(b.indicators)) " indicator(s) indicate " (b.techniques.len()) " technique(s). " a href="/ui/techniques" { "All techniques" } }
            (table(&rows, cases, 10))
        }
    }
}

/// `/ui/techniques`: every technique with indicators or cases.
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    signed: Signed,
) -> Result<Response, UiError> {
    let visible: Vec<String> = super::pages::visible(&state, signed.caller())
        .into_iter()
        .map(|v| v.store)
        .collect();
    let body = match state.ui.techniques.get() {
        None => not_ready(),
        Some(snap) => {
            let cases = cases(&state, Arc::clone(&snap)).await?;
            let (b, rows) = rows_for(&state, &snap, &visible, &cases);
            let in_cases: std::collections::BTreeSet<&String> = cases.values().flatten().collect();
            html! {
                p {
                    (super::fmt::thousands(b.indicators)) " indicator(s) in the collections you can read indicate "
                    (b.techniques.len()) " technique(s) (" (super::fmt::thousands(b.relationships)) " " code { "indicates" } " relationships); "
                    (in_cases.len()) " hotline case(s) carry evidence of one."
                }
                @if rows.is_empty() {
                    p.empty { "Nothing yet: an indicator counts for a technique when an " code { "indicates" } " relationship goes from it to the technique's attack-pattern (" code { "accord import attack" } " loads ATT&CK's names)." }
                } @else {
                    (super::chart::bars("Indicators per technique (the 15 with most)", &rows.iter().take(15).map(|r| (match &r.name { Some(n) => format!("{} {n}", r.technique), None => r.technique.clone() }, r.indicators)).collect::<Vec<_>>()))
                    (table(&rows, &cases, usize::MAX))
                }
            }
        }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Techniques", "ATT&CK techniques", body),
    ))
}

/// `/ui/techniques/{technique}`: its indicators and cases.
pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path(technique): Path<String>,
) -> Result<Response, UiError> {
    let visible: Vec<String> = super::pages::visible(&state, signed.caller())
        .into_iter()
        .map(|v| v.store)
        .collect();
    let Some(snap) = state.ui.techniques.get() else {
        return Ok(html_page(
            StatusCode::OK,
            layout(&state, &signed, "Techniques", &technique, not_ready()),
        ));
    };
    let cases = cases(&state, Arc::clone(&snap)).await?;
    let name = snap.techniques.get(&technique).and_then(|e| e.name.clone());
    let inds = snap.indicators_of(&technique, |c| visible.iter().any(|v| v == c));
    let case_ids = cases.get(&technique).cloned().unwrap_or_default();
    if !snap.techniques.contains_key(&technique) && case_ids.is_empty() {
        return Err(UiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no technique `{technique}` among the attack-patterns and `indicates` relationships held here"
            ),
        ));
    }
    let title = match &name {
        Some(n) => format!("{technique} {n}"),
        None => technique.clone(),
    };
    let body = html! {
        h2 { (inds.len()) " indicator(s)" }
        @if inds.is_empty() {
            p.empty { "No indicator in the collections you can read indicates it." }
        } @else {
            @if inds.len() > LIST_LIMIT { p.meta { "The first " (LIST_LIMIT) " by id." } }
            ul {
                @for (c, id) in inds.iter().take(LIST_LIMIT) {
                    li { a href=(format!("/ui/objects?q={id}")) { code { (id) } } " " span.meta { "(related in " (c) ")" } }
                }
            }
        }
        h2 { (case_ids.len()) " hotline case(s)" }
        @if case_ids.is_empty() {
            p.empty { "No case carries evidence of it." }
        } @else {
            ul { @for id in &case_ids { li { a href=(format!("/ui/cases/{id}")) { code { (id) } } } } }
        }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Techniques", &title, body),
    ))
}
