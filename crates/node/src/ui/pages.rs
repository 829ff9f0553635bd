//! The read-only pages: overview, partners, objects, an object, sightings,
//! the log. Each reads the store once on the blocking pool and renders;
//! nothing here writes.

use super::chart;
use super::fmt::{thousands, time};
use super::{Signed, UiError, html_page, layout, signed_out};
use crate::auth::Caller;
use crate::state::AppState;
use accord_app::hotline::Hotline;
use accord_store::{Backend, StoredObject};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A store collection the caller may read, with the TAXII collections
/// that serve it.
#[derive(Clone, Debug)]
pub(crate) struct Visible {
    /// The store's name for it.
    pub(crate) store: String,
    /// The TAXII titles serving it (`root/id: title`).
    pub(crate) titles: Vec<String>,
}

/// The store collections `caller` may read (through any TAXII collection
/// that serves them), by store name.
pub(crate) fn visible(state: &AppState, caller: &Caller) -> Vec<Visible> {
    let mut by_store: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for root in &state.config.api_roots {
        for c in &root.collections {
            if caller.can_read(&c.id) {
                by_store
                    .entry(c.store_name().to_owned())
                    .or_default()
                    .push(format!(
                        "{}/{}: {}",
                        root.name,
                        c.alias.as_deref().unwrap_or(&c.id),
                        c.title
                    ));
            }
        }
    }
    by_store
        .into_iter()
        .map(|(store, titles)| Visible { store, titles })
        .collect()
}

fn may_read(state: &AppState, caller: &Caller, store: &str) -> bool {
    visible(state, caller).iter().any(|v| v.store == store)
}

/// A one-line summary of an object for lists: its name, value or pattern.
pub(crate) fn summary(o: &StoredObject) -> String {
    let v: serde_json::Value = serde_json::from_str(&o.raw).unwrap_or_default();
    for k in [
        "name",
        "value",
        "pattern",
        "title",
        "abstract",
        "content",
        "description",
    ] {
        if let Some(s) = v.get(k).and_then(|s| s.as_str()) {
            let mut s: String = s.chars().take(120).collect();
            if s.len() < v.get(k).and_then(|x| x.as_str()).map_or(0, str::len) {
                s.push('…');
            }
            return s;
        }
    }
    String::new()
}

fn object_link(o: &StoredObject) -> Markup {
    html! { a href=(format!("/ui/objects/{}/{}", o.collection, o.id)) { code { (o.id) } } }
}

/// The overview's figures, read at once.
struct Overview {
    collections: Vec<(Visible, u64)>,
    /// Objects of collections whose breakdown is still being counted.
    counting: u64,
    by_type: Vec<(String, u64)>,
    by_origin: Vec<(String, u64)>,
    healths: Vec<accord_store::PartnerHealth>,
    cases: Result<Vec<accord_app::hotline::CaseView>, String>,
    sightings: Vec<StoredObject>,
    ledger_size: u64,
    checkpoint: Option<(u64, usize)>,
    alerts: usize,
    rates: Rates,
    /// Hotline cases per ATT&CK technique (`super::techniques`).
    technique_cases: std::collections::BTreeMap<String, Vec<String>>,
}

/// What went through the node in the last hour, from the tail of its log
/// (the records about collections the account may read).
#[derive(Default)]
struct Rates {
    /// Stored here (ingest, match, cases).
    local: u64,
    /// Received from partners and stored.
    received: u64,
    /// Sent to partners (whole or redacted).
    sent: u64,
    /// Whether the last hour holds more records than were read.
    more: bool,
}

/// How many of the log's newest records the rates read at most.
const RATE_TAIL: u64 = 20_000;

fn rates(
    state: &AppState,
    caller: &Caller,
    store: &dyn Backend,
    size: u64,
    now_us: i64,
) -> Result<Rates, accord_store::StoreError> {
    let mut r = Rates::default();
    let from = size.saturating_sub(RATE_TAIL);
    let hour_ago = now_us - 3_600_000_000;
    let mut oldest_in_hour = true;
    for e in store.ledger_entries(from, size)? {
        let Ok(rec) = accord_ledger::ExchangeRecord::from_leaf_bytes(&e.leaf) else {
            continue;
        };
        let Ok(t) = accord_stix::Timestamp::parse(&rec.time) else {
            continue;
        };
        let us = t.unix_seconds.saturating_mul(1_000_000) + i64::from(t.nanos / 1000);
        if us < hour_ago {
            oldest_in_hour = false;
            continue;
        }
        if !record_visible(state, caller, &rec) {
            continue;
        }
        use accord_ledger::{Decision, Direction};
        match (rec.direction, &rec.decision) {
            (Direction::Local, Decision::Stored) => r.local += 1,
            (Direction::In, Decision::Stored) => r.received += 1,
            (Direction::Out, Decision::Sent | Decision::Redacted { .. }) => r.sent += 1,
            _ => {}
        }
    }
    r.more = from > 0 && oldest_in_hour;
    Ok(r)
}

/// A collection's tally: the kept one while it still adds up to the
/// collection's count (kept in the store, read at once) and is younger than
/// a minute; else counted again: now for a collection of up to
/// [`TALLY_NOW`] versions, in the background for a larger one (whose kept
/// tally is shown meanwhile).
fn tally(
    state: &Arc<AppState>,
    store: &dyn Backend,
    name: &str,
    count: u64,
) -> Result<Option<Arc<Vec<accord_store::Tally>>>, accord_store::StoreError> {
    let kept = state.ui.cached_tally(name);
    if kept.is_none() && count > TALLY_NOW {
        // A large collection never counted yet (the node just started):
        // counted in the background, the page says so instead of waiting.
        if state.ui.start_refresh(name) {
            let (st, n) = (Arc::clone(state), name.to_owned());
            tokio::spawn(async move { refresh_tally(st, n).await });
        }
        return Ok(None);
    }
    if let Some((t, fresh)) = &kept {
        let adds_up = t.iter().map(|x| x.count).sum::<u64>() == count;
        if adds_up && *fresh {
            return Ok(Some(Arc::clone(t)));
        }
        if count > TALLY_NOW {
            if state.ui.start_refresh(name) {
                let (st, n) = (Arc::clone(state), name.to_owned());
                tokio::spawn(async move { refresh_tally(st, n).await });
            }
            return Ok(Some(Arc::clone(t)));
        }
    }
    let t = Arc::new(store.tally(name)?);
    state.ui.keep_tally(name, Arc::clone(&t));
    Ok(Some(t))
}

/// Collections up to this size are counted again while the page waits
/// (tens of milliseconds at most).
const TALLY_NOW: u64 = 100_000;

/// Counts a collection's tally again and keeps it.
async fn refresh_tally(state: Arc<AppState>, name: String) {
    let st = Arc::clone(&state);
    let n = name.clone();
    let r = state
        .read("a collection's tally", move |store| {
            let t = Arc::new(store.tally(&n)?);
            st.ui.keep_tally(&n, t);
            Ok(())
        })
        .await;
    state.ui.end_refresh(&name);
    if let Err(e) = r {
        tracing::warn!("dashboard: counting collection `{name}`: {}", e.description);
    }
}

/// Counts every served collection once, so the first overview is fast
/// (`accord serve` calls it at start).
pub(crate) async fn warm(state: Arc<AppState>) {
    let mut names: Vec<String> = state
        .config
        .api_roots
        .iter()
        .flat_map(|r| r.collections.iter().map(|c| c.store_name().to_owned()))
        .collect();
    names.sort();
    names.dedup();
    for n in names {
        if state.ui.start_refresh(&n) {
            refresh_tally(Arc::clone(&state), n).await;
        }
    }
}

/// `/`: the overview, or the login form when signed out.
pub(crate) async fn home(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let session = match super::cookie(&headers, super::session::COOKIE) {
        Some(t) => match state.ui.sessions.find(t, &state.accounts).await {
            Ok(s) => s,
            Err(e) => return Ok(super::unavailable(&e)),
        },
        None => None,
    };
    let Some(session) = session else {
        return Ok(signed_out(&state));
    };
    let signed = Signed { session };
    let vis = visible(&state, signed.caller());
    let readable: Vec<String> = vis.iter().map(|v| v.store.clone()).collect();
    let snap = super::techniques::snapshot(&state);
    let snap_in = snap.clone();
    let st = Arc::clone(&state);
    let config = state.config.clone();
    let clock = Arc::clone(&state.clock);
    let caller = signed.caller().clone();
    let o = state
        .read("the overview", move |store| {
            let mut collections = Vec::new();
            let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
            let mut by_origin: BTreeMap<String, u64> = BTreeMap::new();
            let mut sightings = Vec::new();
            let mut counting = 0u64;
            for v in vis {
                let n = store.count(Some(&v.store))?;
                match tally(&st, store, &v.store, n)? {
                    Some(t) => {
                        for t in t.iter() {
                            *by_type.entry(t.type_name.clone()).or_default() += t.count;
                            *by_origin.entry(t.origin.clone()).or_default() += t.count;
                        }
                    }
                    None => counting += n,
                }
                sightings.extend(store.newest(&v.store, &["sighting".to_owned()], i64::MAX, 10)?);
                collections.push((v, n));
            }
            sightings.sort_by_key(|o| std::cmp::Reverse(o.seq));
            sightings.truncate(10);
            let cases = Hotline::new(&config, store, clock.now_micros())
                .and_then(|h| h.list(None, false, clock.now_timestamp()))
                .map_err(|e| e.to_string());
            let ledger_size = store.ledger_size()?;
            let rates = rates(&st, &caller, store, ledger_size, clock.now_micros())?;
            let checkpoint = match store.ledger_latest_checkpoint()? {
                Some((size, _)) => Some((size, store.ledger_cosignatures(size)?.len())),
                None => None,
            };
            let alerts = store.ledger_alerts()?.len();
            let technique_cases = super::techniques::cases_with(store, snap_in.as_ref());
            let mut by_type: Vec<(String, u64)> = by_type.into_iter().collect();
            by_type.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut by_origin: Vec<(String, u64)> = by_origin.into_iter().collect();
            by_origin.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            Ok(Overview {
                collections,
                counting,
                by_type,
                by_origin,
                healths: store.partner_healths()?,
                cases,
                sightings,
                ledger_size,
                checkpoint,
                alerts,
                rates,
                technique_cases,
            })
        })
        .await?;
    let techniques =
        super::techniques::overview_section(&state, snap.as_ref(), &readable, &o.technique_cases);
    let total: u64 = o.collections.iter().map(|c| c.1).sum();
    let open_cases: Vec<&accord_app::hotline::CaseView> = match &o.cases {
        Ok(c) => {
            let mut v: Vec<_> = c
                .iter()
                .filter(|c| !matches!(c.summary.state.as_str(), "resolved" | "declined"))
                .collect();
            v.sort_by_key(|c| (!c.summary.overdue, c.summary.severity, c.summary.id.clone()));
            v
        }
        Err(_) => Vec::new(),
    };
    let body = html! {
        div.cards {
            div.card { div.big { (thousands(total)) } div.what { "objects you can read, in " (o.collections.len()) " collection(s)" } }
            div.card { div.big { (thousands(open_cases.len() as u64)) } div.what { "open hotline cases" @let od = open_cases.iter().filter(|c| c.summary.overdue).count(); @if od > 0 { ", " span.overdue { (od) " overdue" } } } }
            div.card { div.big { (thousands(o.healths.len() as u64)) } div.what { "partners with sync rounds" } }
            div.card { div.big { (thousands(o.ledger_size)) } div.what { "records in this node's log" } }
            div.card {
                div.big { @if o.rates.more { "≥ " } (thousands(o.rates.local + o.rates.received)) }
                div.what { "objects stored in the last hour (" (thousands(o.rates.received)) " from partners)" }
            }
            div.card {
                div.big { @if o.rates.more { "≥ " } (thousands(o.rates.sent)) }
                div.what { "objects sent to partners in the last hour" }
            }
        }
        h2 { "Objects held" }
        @if total == 0 {
            p.empty { "Nothing stored yet. Add STIX with " code { "accord ingest FILE" } ", or let partners' sync fill it." }
        } @else {
            @if o.counting > 0 {
                p.meta { "Counting " (thousands(o.counting)) " objects by type and origin in the background (the node has just started): reload in a few seconds." }
            }
            (chart::bars("Objects by type", &o.by_type))
            (chart::bars("Objects by origin (who sent them)", &o.by_origin))
            table {
                thead { tr { th { "Collection" } th { "Served as" } th.num { "Versions" } } }
                tbody { @for (v, n) in &o.collections { tr { td { code { (v.store) } } td { (v.titles.join("; ")) } td.num { (thousands(*n)) } } } }
            }
        }
        h2 { "Hotline" }
        @match &o.cases {
            Err(e) => p.empty { "The hotline is not set up on this node: " (e) },
            Ok(_) if open_cases.is_empty() => p.empty { "No open case. " a href="/ui/cases" { "Open one" } " when a partner must act." },
            Ok(_) => { (super::cases::table(&open_cases)) }
        }
        h2 { "ATT&CK techniques" }
        (techniques)
        h2 { "Partners" }
        @if o.healths.is_empty() {
            p.empty { "No sync round has run yet. Partners are listed in accord.toml ([[partners]]); " code { "accord partner list" } " shows them." }
        } @else { (health_table(&o.healths)) }
        h2 { "Recent sightings" }
        @if o.sightings.is_empty() {
            p.empty { "No sighting yet. " code { "accord match" } " reports them when logs hit indicators." }
        } @else { (object_table(&o.sightings)) }
        h2 { "Log" }
        p {
            (thousands(o.ledger_size)) " records. "
            @match o.checkpoint {
                Some((size, cos)) => { "Latest checkpoint at size " (thousands(size)) ", cosigned by " (cos) " witness(es). " }
                None => { "No checkpoint signed yet. " }
            }
            @if o.alerts > 0 { span.bad { (o.alerts) " alert(s)" } " — " }
            a href="/ui/log" { "Details" }
        }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Overview", "Overview", body),
    ))
}

fn health_table(h: &[accord_store::PartnerHealth]) -> Markup {
    html! {
        table {
            thead { tr { th { "Partner" } th { "Last good round" } th { "Health" } } }
            tbody {
                @for p in h {
                    tr {
                        td { (p.partner) }
                        td { @match &p.last_success { Some(t) => (time(t)), None => span.empty { "never" } } }
                        td {
                            @if p.paused { span.bad { "paused: " (p.paused_reason.as_deref().unwrap_or("")) } }
                            @else if p.failures > 0 { span.warn { (p.failures) " failed round(s): " (p.last_error.as_deref().unwrap_or("")) } }
                            @else { span.good { "syncing" } }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) fn object_table(objs: &[StoredObject]) -> Markup {
    html! {
        table {
            thead { tr { th { "Object" } th { "Type" } th { "Summary" } th { "From" } th { "Added" } } }
            tbody {
                @for o in objs {
                    tr { td { (object_link(o)) } td { (o.type_name) } td { (summary(o)) } td { (o.origin) } td { (time(&o.date_added)) } }
                }
            }
        }
    }
}

/// `/ui/partners`: each partner's agreement in plain words, what went each
/// way per month (from the log), its health and its log.
pub(crate) async fn partners(
    State(state): State<Arc<AppState>>,
    signed: Signed,
) -> Result<Response, UiError> {
    let names: Vec<String> = state
        .config
        .partners
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let st = Arc::clone(&state);
    let (healths, witnessed, alerts, recip) = state
        .read("the partners", move |store| {
            let mut w = Vec::new();
            for n in &names {
                w.push(store.ledger_witnessed(n, None)?);
            }
            let size = store.ledger_size()?;
            let recip = {
                let mut g = st.ui.reciprocity.lock().unwrap_or_else(|p| p.into_inner());
                let (next, acc) = &mut *g;
                let grown = if *next < size {
                    accord_app::reciprocity::extend(acc, store, *next, size)
                } else {
                    Ok(*next)
                };
                grown.map(|n| {
                    *next = n;
                    (acc.clone().finish(), n)
                })
            };
            Ok((store.partner_healths()?, w, store.ledger_alerts()?, recip))
        })
        .await?;
    let (recip, read_to) = recip.map_err(|e| {
        UiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the figures per partner: {e}"),
        )
    })?;
    let body = html! {
        @if state.config.partners.is_empty() {
            p.empty { "No partner yet. Add one with " code { "accord partner add" } " (see " code { "accord partner add --help" } ")." }
        }
        p.meta { "Figures per month are computed from this node's log, entries 0 to " (thousands(read_to)) "; a partner recomputes its own from " code { "accord ledger entries" } "." }
        @for (p, w) in state.config.partners.iter().zip(&witnessed) {
            section {
                h2 { (p.name) @if let Some(j) = &p.jurisdiction { " (" (j) ")" } }
                p.meta { "TAXII: " code { (p.url) } }
                @let partner = accord_app::partner::Partner::new(p.clone());
                pre { (accord_policy::describe::agreement(&p.name, &partner.config().agreement())) }
                @match healths.iter().find(|h| h.partner == p.name) {
                    Some(h) => (health_table(std::slice::from_ref(h))),
                    None => p.empty { "No sync round yet." },
                }
                @match recip.partners.iter().find(|r| r.partner == p.name) {
                    None => p.empty { "Nothing exchanged with " (p.name) " yet." },
                    Some(r) => (exchange_figures(r)),
                }
                p {
                    "Its log: "
                    @match w {
                        Some(w) => {
                            "last checkpoint seen at size " (thousands(w.size)) ", " (time(&w.received_at)) "; "
                            @let bad = alerts.iter().filter(|a| a.partner == p.name).count();
                            @if bad == 0 { span.good { "consistent with every earlier one" } } @else { span.bad { (bad) " alert(s): see the Log page" } }
                            "."
                        }
                        None => span.empty { "not witnessed yet." },
                    }
                }
            }
        }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Partners", "Partners", body),
    ))
}

/// A partner's months: charts of what went each way and the table.
fn exchange_figures(r: &accord_app::reciprocity::PartnerReciprocity) -> Markup {
    let sent: Vec<(String, u64)> = r
        .months
        .iter()
        .map(|m| (m.month.clone(), m.sent_total))
        .collect();
    let received: Vec<(String, u64)> = r
        .months
        .iter()
        .map(|m| (m.month.clone(), m.received_total))
        .collect();
    let mut withheld: BTreeMap<String, u64> = BTreeMap::new();
    for m in &r.months {
        for (k, v) in &m.withheld {
            *withheld.entry(k.clone()).or_default() += v;
        }
    }
    let mut withheld: Vec<(String, u64)> = withheld.into_iter().collect();
    withheld.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let every = (r.months.len() / 12).max(1);
    html! {
        div.cards {
            (chart::columns(&format!("Sent to {} per month", r.partner), &sent, every))
            (chart::columns(&format!("Received from {} per month", r.partner), &received, every))
        }
        table {
            thead { tr { th { "Month" } th.num { "Sent" } th.num { "of which redacted" } th.num { "Received" } th.num { "Withheld" } th.num { "Refused" } th.num { "Sightings returned" } th.num { "Median delivery" } } }
            tbody {
                @for m in r.months.iter().rev() {
                    tr {
                        td { (m.month) }
                        td.num { (thousands(m.sent_total)) }
                        td.num { (thousands(m.redacted)) }
                        td.num { (thousands(m.received_total)) }
                        td.num { (thousands(m.withheld_total)) }
                        td.num { (thousands(m.rejected_total)) }
                        td.num { (thousands(m.sightings_returned)) }
                        td.num { @match m.median_delay_seconds { Some(s) => (duration(s)), None => "—" } }
                    }
                }
            }
        }
        @if !withheld.is_empty() {
            (chart::bars("Withheld, by the clause that withheld it", &withheld))
        }
    }
}

/// Seconds as people read them.
fn duration(s: f64) -> String {
    match s {
        s if s < 120.0 => format!("{s:.1} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    collection: String,
    /// A label the object carries.
    #[serde(default)]
    label: String,
    /// Its TLP (`clear`, `green`, `amber`, `amber+strict`, `red`; an
    /// unmarked object counts as CLEAR).
    #[serde(default)]
    tlp: String,
    /// Where it came from (the store's origin: a partner, a file, an
    /// account).
    #[serde(default)]
    from: String,
    /// Added here on or after this day (`YYYY-MM-DD`).
    #[serde(default)]
    since: String,
}

/// The filters of a search beyond text and type, checked on each row.
#[derive(Clone)]
struct Filters {
    text: Option<String>,
    label: Option<String>,
    tlp: Option<accord_policy::Tlp>,
    from: Option<String>,
    since: Option<String>,
}

impl Filters {
    fn any(&self) -> bool {
        self.label.is_some() || self.tlp.is_some() || self.from.is_some() || self.since.is_some()
    }

    fn keeps(&self, o: &StoredObject) -> bool {
        if self.text.as_deref().is_some_and(|t| !o.raw.contains(t)) {
            return false;
        }
        if self.from.as_deref().is_some_and(|f| o.origin != f) {
            return false;
        }
        if self
            .since
            .as_deref()
            .is_some_and(|d| o.date_added.as_str() < d)
        {
            return false;
        }
        if let Some(t) = self.tlp {
            let level = o
                .markings
                .iter()
                .filter_map(|m| accord_policy::tlp::marking_tlp(m))
                .max()
                .unwrap_or(accord_policy::Tlp::Clear);
            if level != t {
                return false;
            }
        }
        if let Some(l) = &self.label {
            let v: serde_json::Value = serde_json::from_str(&o.raw).unwrap_or_default();
            let has = v.get("labels").and_then(|x| x.as_array()).is_some_and(|a| {
                a.iter()
                    .any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(l)))
            });
            if !has {
                return false;
            }
        }
        true
    }
}

fn parse_tlp(s: &str) -> Result<Option<accord_policy::Tlp>, UiError> {
    use accord_policy::Tlp;
    Ok(Some(
        match s.trim().to_ascii_lowercase().trim_start_matches("tlp:") {
            "" => return Ok(None),
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            other => {
                return Err(UiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("TLP `{other}`: one of clear, green, amber, amber+strict, red"),
                ));
            }
        },
    ))
}

/// How many of a collection's newest rows a text search reads (about
/// 100 ms at 1,000,000 objects on this project's 2-core machine).
const SEARCH_SCAN: usize = 50_000;
/// How many of a collection's newest sightings an object's page reads.
const SIGHTINGS_SCAN: usize = 5_000;
/// Results shown.
const SEARCH_LIMIT: usize = 50;

/// The most index entries one search reads (each a point read of the
/// store when its term matches).
const INDEX_CANDIDATES: usize = 20_000;

/// Versions found through the search index ([`accord_store::search`]):
/// by `q` as a whole value (newest first), then as the start of longer
/// values; else by the label, the origin, then the TLP asked. The other
/// filters are applied to each candidate. `None` when nothing indexed
/// was asked (no text, label, origin or TLP).
fn search_index(
    ix: &accord_store::search::SearchIndex,
    store: &dyn accord_store::Backend,
    q: &str,
    filters: &Filters,
    wanted: &[String],
    types: &[String],
) -> Result<Option<Vec<StoredObject>>, accord_store::StoreError> {
    use accord_app::search::{label_term, origin_term, tlp_term, value_term};
    let (term, prefix) = if !q.is_empty() {
        (value_term(q), q.chars().count() >= 3)
    } else if let Some(l) = &filters.label {
        (label_term(l), false)
    } else if let Some(f) = &filters.from {
        (origin_term(f), false)
    } else if let Some(t) = filters.tlp {
        (tlp_term(t), false)
    } else {
        return Ok(None);
    };
    let keep = Filters {
        text: None,
        ..filters.clone()
    };
    let mut out: Vec<StoredObject> = Vec::new();
    let take = |objs: Vec<StoredObject>, out: &mut Vec<StoredObject>| {
        for o in objs {
            if out.len() < SEARCH_LIMIT
                && wanted.contains(&o.collection)
                && (types.is_empty() || types.contains(&o.type_name))
                && keep.keeps(&o)
                && !out.iter().any(|x| x.seq == o.seq)
            {
                out.push(o);
            }
        }
    };
    let (mut before, mut read) = (i64::MAX, 0usize);
    while out.len() < SEARCH_LIMIT && read < INDEX_CANDIDATES {
        let seqs = ix.seqs(&term, before, 1_000)?;
        let Some(&last) = seqs.last() else { break };
        before = last;
        read += seqs.len();
        take(store.objects_by_seq(&seqs)?, &mut out);
    }
    if prefix && out.len() < SEARCH_LIMIT && read < INDEX_CANDIDATES {
        let seqs = ix.seqs_with_prefix(&term, INDEX_CANDIDATES - read)?;
        for chunk in seqs.chunks(1_000) {
            if out.len() >= SEARCH_LIMIT {
                break;
            }
            take(store.objects_by_seq(chunk)?, &mut out);
        }
    }
    Ok(Some(out))
}

/// `/ui/objects`: search by id, value (text) and type.
pub(crate) async fn objects(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Query(s): Query<Search>,
) -> Result<Response, UiError> {
    let vis = visible(&state, signed.caller());
    let q = s.q.trim().to_owned();
    let types: Vec<String> = s
        .r#type
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let wanted: Vec<String> = vis
        .iter()
        .filter(|v| s.collection.is_empty() || v.store == s.collection)
        .map(|v| v.store.clone())
        .collect();
    let since = s.since.trim().to_owned();
    if !since.is_empty() && accord_stix::Timestamp::parse(&format!("{since}T00:00:00Z")).is_err() {
        return Err(UiError::new(
            StatusCode::BAD_REQUEST,
            format!("added since `{since}`: a day as YYYY-MM-DD"),
        ));
    }
    let filters = Filters {
        text: None,
        label: Some(s.label.trim().to_owned()).filter(|l| !l.is_empty()),
        tlp: parse_tlp(&s.tlp)?,
        from: Some(s.from.trim().to_owned()).filter(|f| !f.is_empty()),
        since: Some(since).filter(|d| !d.is_empty()),
    };
    let (qq, tt) = (q.clone(), types.clone());
    let index = state.ui.search.get().cloned();
    let found = state
        .read("searching objects", move |store| {
            let mut all = Vec::new();
            let is_id = accord_stix::parse_identifier(&qq).is_ok();
            // The whole history by value, label, origin or TLP, from the
            // index (the bounded scan below adds the newest versions, and
            // text found anywhere in them).
            if let Some(ix) = index.as_deref()
                && !is_id
                && let Some(found) = search_index(ix, store, &qq, &filters, &wanted, &tt)?
            {
                all.extend(found);
            }
            for c in &wanted {
                if filters.any() && accord_stix::parse_identifier(&qq).is_err() {
                    // Row by row, newest first, within the same bound as
                    // a text search.
                    let f = Filters {
                        text: Some(qq.clone()).filter(|t| !t.is_empty()),
                        ..filters.clone()
                    };
                    let (mut before, mut read, mut got) = (i64::MAX, 0usize, 0usize);
                    while read < SEARCH_SCAN && got < SEARCH_LIMIT {
                        let page = store.newest(c, &tt, before, 2_000)?;
                        let Some(last) = page.last() else { break };
                        before = last.seq;
                        read += page.len();
                        for o in page {
                            if got < SEARCH_LIMIT && f.keeps(&o) {
                                got += 1;
                                all.push(o);
                            }
                        }
                    }
                } else if accord_stix::parse_identifier(&qq).is_ok() {
                    let mut v = store.get_versions(c, &qq)?;
                    if let Some(last) = v.pop() {
                        all.push(last);
                    }
                } else if qq.is_empty() {
                    all.extend(store.newest(c, &tt, i64::MAX, SEARCH_LIMIT)?);
                } else {
                    all.extend(store.find_text(c, &qq, &tt, SEARCH_SCAN, SEARCH_LIMIT)?);
                }
            }
            all.sort_by_key(|o| std::cmp::Reverse(o.seq));
            all.dedup_by_key(|o| o.seq);
            all.truncate(SEARCH_LIMIT);
            Ok(all)
        })
        .await?;
    let body = html! {
        form.inline method="get" action="/ui/objects" {
            label { "Value, text or id" input type="search" name="q" value=(q) placeholder="198.51.100.7, evil.example, indicator--…"; }
            label { "Type" input type="text" name="type" value=(s.r#type) placeholder="indicator, sighting"; }
            label { "Collection"
                select name="collection" {
                    option value="" { "all you can read" }
                    @for v in &vis { option value=(v.store) selected[v.store == s.collection] { (v.store) } }
                }
            }
            label { "Label" input type="text" name="label" value=(s.label) placeholder="phishing"; }
            label { "TLP"
                select name="tlp" {
                    @for (v, name) in [("", "any"), ("clear", "CLEAR"), ("green", "GREEN"), ("amber", "AMBER"), ("amber+strict", "AMBER+STRICT"), ("red", "RED")] {
                        option value=(v) selected[s.tlp.eq_ignore_ascii_case(v)] { (name) }
                    }
                }
            }
            label { "From" input type="text" name="from" value=(s.from) placeholder="a partner, a file"; }
            label { "Added since" input type="date" name="since" value=(s.since); }
            button type="submit" { "Search" }
        }
        p.meta {
            @if q.is_empty() { "The newest objects" } @else { "Objects containing “" (q) "”" }
            @if !types.is_empty() { " of type " (types.join(", ")) }
            " (at most " (SEARCH_LIMIT) ": values, labels, origins and TLP over the whole history through the search index, and text anywhere in the newest " (thousands(SEARCH_SCAN as u64)) " versions of each collection)."
        }
        @if found.is_empty() { p.empty { "Nothing found. Try an id, part of a value, or no text to list the newest." } }
        @else { (object_table(&found)) }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Objects", "Objects", body),
    ))
}

/// `/ui/objects/{collection}/{id}`: every version, where each came from,
/// the sightings of it.
pub(crate) async fn object(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path((collection, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    // The same answer for a collection the caller may not read and for an
    // object that does not exist: nothing to learn by guessing.
    let missing = || {
        UiError::new(
            StatusCode::NOT_FOUND,
            format!("no object `{id}` in `{collection}` that you may read"),
        )
    };
    if !may_read(&state, signed.caller(), &collection) {
        return Err(missing());
    }
    let (c, i) = (collection.clone(), id.clone());
    let (versions, sightings) = state
        .read("an object", move |store| {
            let v = store.get_versions(&c, &i)?;
            // The collection's sightings by the type index (not a scan of
            // the collection), the newest first, those naming the object.
            let s = if v.is_empty() {
                Vec::new()
            } else {
                store
                    .newest(&c, &["sighting".to_owned()], i64::MAX, SIGHTINGS_SCAN)?
                    .into_iter()
                    .filter(|o| o.raw.contains(i.as_str()))
                    .take(20)
                    .collect()
            };
            Ok((v, s))
        })
        .await?;
    let Some(last) = versions.last() else {
        return Err(missing());
    };
    let pretty = serde_json::from_str::<serde_json::Value>(&last.raw)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| last.raw.clone());
    let body = html! {
        p { code { (id) } " — " (last.type_name) " in " code { (collection) } }
        h2 { "Versions" }
        table {
            thead { tr { th { "Version (modified)" } th { "Added here" } th { "From" } th { "Markings" } } }
            tbody {
                @for v in versions.iter().rev() {
                    tr { td { (v.version) } td { (time(&v.date_added)) } td { (v.origin) } td { (v.markings.join(", ")) } }
                }
            }
        }
        p { a href=(format!("/ui/objects/{collection}/{id}/log")) { "Where it came from and who it was sent to, from the log, with proofs" } " (reads the whole log)" }
        h2 { "Sightings of it" }
        @if sightings.is_empty() { p.empty { "None recorded." } } @else { (object_table(&sightings)) }
        h2 { "Newest version" }
        pre { (pretty) }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Objects", &summary_or_id(last), body),
    ))
}

fn summary_or_id(o: &StoredObject) -> String {
    let s = summary(o);
    if s.is_empty() { o.id.clone() } else { s }
}

/// `/ui/sightings`: hits per day and the newest sightings.
pub(crate) async fn sightings(
    State(state): State<Arc<AppState>>,
    signed: Signed,
) -> Result<Response, UiError> {
    let vis = visible(&state, signed.caller());
    let st = Arc::clone(&state);
    let (found, protected) = state
        .read("the sightings", move |store| {
            let mut all = Vec::new();
            for v in &vis {
                all.extend(store.newest(&v.store, &["sighting".to_owned()], i64::MAX, 1000)?);
            }
            all.sort_by_key(|o| std::cmp::Reverse(o.seq));
            // Which of the indicators hit point into a protected facility:
            // the registry's own check, on each indicator once.
            let mut protected: BTreeMap<String, Vec<String>> = BTreeMap::new();
            if let Ok(reg) = st.facilities.registry(store)
                && !reg.is_empty()
            {
                let mut checked = std::collections::HashSet::new();
                for o in &all {
                    let v: serde_json::Value = serde_json::from_str(&o.raw).unwrap_or_default();
                    let Some(r) = v.get("sighting_of_ref").and_then(|s| s.as_str()) else {
                        continue;
                    };
                    if !checked.insert(r.to_owned()) {
                        continue;
                    }
                    if let Some(ind) = store.get_versions(&o.collection, r)?.pop()
                        && let Some(t) = accord_app::facility::touch_of(
                            &reg,
                            &ind.type_name,
                            &ind.id,
                            &ind.raw,
                            &ind.origin,
                        )
                    {
                        let mut names: Vec<String> =
                            t.hits.into_iter().map(|h| h.facility).collect();
                        names.sort();
                        names.dedup();
                        protected.insert(r.to_owned(), names);
                    }
                }
            }
            Ok((all, protected))
        })
        .await?;
    let facility_hits: Vec<&StoredObject> = found
        .iter()
        .filter(|o| {
            serde_json::from_str::<serde_json::Value>(&o.raw)
                .ok()
                .and_then(|v| {
                    v.get("sighting_of_ref")?
                        .as_str()
                        .map(|r| protected.contains_key(r))
                })
                .unwrap_or(false)
        })
        .collect();
    // Hits per day (a sighting's `count`, else 1) and per indicator.
    let mut per_day: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_ind: BTreeMap<String, u64> = BTreeMap::new();
    for o in &found {
        let v: serde_json::Value = serde_json::from_str(&o.raw).unwrap_or_default();
        let n = v
            .get("count")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(1);
        let day = v
            .get("last_seen")
            .or_else(|| v.get("created"))
            .and_then(|s| s.as_str())
            .and_then(|s| s.get(..10))
            .unwrap_or("?")
            .to_owned();
        *per_day.entry(day).or_default() += n;
        if let Some(r) = v.get("sighting_of_ref").and_then(|s| s.as_str()) {
            *per_ind.entry(r.to_owned()).or_default() += n;
        }
    }
    let days: Vec<(String, u64)> = per_day.into_iter().collect();
    let mut top: Vec<(String, u64)> = per_ind.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);
    let body = html! {
        @if found.is_empty() {
            p.empty { "No sighting yet. Run " code { "accord match --config accord.toml LOG…" } " to match logs against the indicators; its hits are stored as sightings." }
        } @else {
            @if !protected.is_empty() {
                section.alert {
                    h2.bad { "Hits on protected facilities" }
                    p { "Indicators pointing into a protected facility were hit " (facility_hits.len()) " time(s) among the newest sightings; each opens or adds to a critical hotline case (see " a href="/ui/cases" { "Hotline" } ")." }
                    table {
                        thead { tr { th { "Indicator" } th { "Facility" } } }
                        tbody { @for (ind, names) in &protected { tr.bad { td { code { (ind) } } td { (names.join(", ")) } } } }
                    }
                }
            }
            (chart::columns("Hits per day (the newest 1,000 sightings)", &days, (days.len() / 12).max(1)))
            (chart::bars("Top indicators by hits", &top))
            (object_table(&found[..found.len().min(50)]))
        }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Sightings", "Sightings and matching", body),
    ))
}

/// Checkpoints listed on the log page.
const CHECKPOINT_HISTORY: usize = 20;

/// `/ui/log`: this node's log, its checkpoints and cosignatures, the
/// partners' logs witnessed, and alerts.
pub(crate) async fn log(
    State(state): State<Arc<AppState>>,
    signed: Signed,
) -> Result<Response, UiError> {
    let names: Vec<String> = state
        .config
        .partners
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let (head, cp, cos, witnessed, alerts, history) = state
        .read("the log", move |store| {
            let history = store.ledger_checkpoint_history(CHECKPOINT_HISTORY)?;
            let head = store.ledger_head()?;
            let cp = store.ledger_latest_checkpoint()?;
            let cos = match &cp {
                Some((size, _)) => store.ledger_cosignatures(*size)?,
                None => Vec::new(),
            };
            let mut w = Vec::new();
            for n in &names {
                if let Some(x) = store.ledger_witnessed(n, None)? {
                    w.push(x);
                }
            }
            Ok((head, cp, cos, w, store.ledger_alerts()?, history))
        })
        .await?;
    let root = head.1.to_hex();
    let body = html! {
        p { "This node's log holds " strong { (thousands(head.0)) } " records; its root is " code { (root) } "." }
        p.meta { "Partners check it with " code { "accord ledger audit" } "; anyone can verify a record with " code { "accord ledger prove" } "." }
        h2 { "Latest checkpoint" }
        @match &cp {
            Some((size, note)) => {
                p { "Signed at size " (thousands(*size)) ", cosigned by " (cos.len()) " witness(es)." }
                pre { (String::from_utf8_lossy(note)) }
                @if !cos.is_empty() { h2 { "Cosignatures" } pre { @for c in &cos { (c) "\n" } } }
            }
            None => p.empty { "No checkpoint signed yet: the node signs one within a minute of new records." },
        }
        h2 { "Checkpoints signed" }
        @if history.is_empty() { p.empty { "None yet." } }
        @else {
            table {
                thead { tr { th.num { "Size" } th { "Signed" } th.num { "Cosignatures" } } }
                tbody {
                    @for (size, at, n) in &history {
                        tr {
                            td.num { (thousands(*size)) }
                            td { (time(&accord_stix::Timestamp::from_unix_micros(*at).format(6))) }
                            td.num { (n) }
                        }
                    }
                }
            }
            p.meta { "The newest " (CHECKPOINT_HISTORY) " shown; each is consistent with the next (partners check it with " code { "accord ledger audit" } ")." }
        }
        h2 { "Partners' logs witnessed" }
        @if witnessed.is_empty() { p.empty { "None yet: a sync round witnesses the partner's log." } }
        @else {
            table {
                thead { tr { th { "Partner" } th.num { "Size" } th { "Seen" } } }
                tbody { @for w in &witnessed { tr { td { (w.partner) } td.num { (thousands(w.size)) } td { (time(&w.received_at)) } } } }
            }
        }
        h2 { "Alerts" }
        @if alerts.is_empty() { p.good { "No split view or inconsistency seen." } }
        @else {
            table {
                thead { tr { th { "When" } th { "Partner" } th { "What" } th { "Detail" } } }
                tbody { @for a in &alerts { tr.bad { td { (time(&a.time)) } td { (a.partner) } td { (a.kind) } td { (a.detail) } } } }
            }
        }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Log", "Log", body),
    ))
}

/// One record of the log about an object.
struct TrailRow {
    index: u64,
    record: accord_ledger::ExchangeRecord,
}

/// Whether a record is about a collection `caller` may read (by store name
/// or TAXII id).
fn record_visible(state: &AppState, caller: &Caller, r: &accord_ledger::ExchangeRecord) -> bool {
    state.config.api_roots.iter().any(|root| {
        root.collections.iter().any(|c| {
            caller.can_read(&c.id) && (c.store_name() == r.collection || c.id == r.collection)
        })
    })
}

/// The most records a trail shows.
const TRAIL_LIMIT: usize = 1_000;

/// `/ui/objects/{collection}/{id}/log`: every record of the log about the
/// object (stored, sent, redacted or withheld, for whom, when), each with
/// its proof. One pass over the log's chunks that rebuilds only the
/// object's own records: on demand, not on the object's page.
pub(crate) async fn trail(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path((collection, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    if !may_read(&state, signed.caller(), &collection) {
        return Err(UiError::new(
            StatusCode::NOT_FOUND,
            format!("no object `{id}` in `{collection}` that you may read"),
        ));
    }
    let i = id.clone();
    let (rows, size, truncated) = state
        .read("the object's records", move |store| {
            let size = store.ledger_size()?;
            // Its versions in any collection: their records are found by
            // seq; the rest (sent, redacted, withheld) by its id's bytes.
            let q = accord_store::Query {
                ids: vec![i.clone()],
                versions: accord_store::VersionFilter::all(),
                ..accord_store::Query::default()
            };
            let seqs: Vec<i64> = store
                .query(&q, 10_000)?
                .objects
                .iter()
                .map(|o| o.seq)
                .collect();
            let (entries, more) = store.ledger_entries_about(&seqs, i.as_bytes(), TRAIL_LIMIT)?;
            let rows: Vec<TrailRow> = entries
                .into_iter()
                .filter_map(|e| {
                    let record = accord_ledger::ExchangeRecord::from_leaf_bytes(&e.leaf).ok()?;
                    (record.object_id == i).then_some(TrailRow {
                        index: e.index,
                        record,
                    })
                })
                .collect();
            Ok((rows, size, more))
        })
        .await?;
    let rows: Vec<&TrailRow> = rows
        .iter()
        .filter(|r| record_visible(&state, signed.caller(), &r.record))
        .collect();
    let body = html! {
        p { "Every record of this node's log about " code { (id) } ": read from all " (thousands(size)) " records." }
        @if rows.is_empty() { p.empty { "No record names it." } }
        @else {
            table {
                thead { tr { th.num { "Record" } th { "When" } th { "Direction" } th { "Partner" } th { "Decision" } th { "Version" } th { "Proof" } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td.num { (r.index) }
                            td { (time(&r.record.time)) }
                            td { (direction(&r.record)) }
                            td { (r.record.partner.as_deref().unwrap_or("—")) }
                            td { (decision(&r.record)) }
                            td { (r.record.modified.as_deref().unwrap_or("—")) }
                            td { a href=(format!("/ui/log/proof/{}", r.index)) { "prove" } }
                        }
                    }
                }
            }
            @if truncated { p.warn { "Only the first " (thousands(TRAIL_LIMIT as u64)) " records are shown." } }
        }
        p { a href=(format!("/ui/objects/{collection}/{id}")) { "Back to the object" } }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Objects", "In the log", body),
    ))
}

fn direction(r: &accord_ledger::ExchangeRecord) -> &'static str {
    match r.direction {
        accord_ledger::Direction::In => "received",
        accord_ledger::Direction::Out => "sent",
        _ => "this node",
    }
}

fn decision(r: &accord_ledger::ExchangeRecord) -> String {
    use accord_ledger::Decision;
    match &r.decision {
        Decision::Sent => "sent whole".to_owned(),
        Decision::Redacted { fields } => format!("sent redacted ({})", fields.join(", ")),
        Decision::Withheld { reason } => format!("withheld: {reason}"),
        Decision::Stored => "stored".to_owned(),
        Decision::Rejected { reason } => format!("refused: {reason}"),
    }
}

/// `/ui/log/proof/{index}`: the inclusion proof of one record in the
/// latest signed checkpoint, checked here, with the command that checks it
/// anywhere.
pub(crate) async fn proof(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path(index): Path<u64>,
) -> Result<Response, UiError> {
    let st = Arc::clone(&state);
    let found = state
        .read("a proof", move |store| {
            let size = store.ledger_size()?;
            if index >= size {
                return Ok(Err(format!(
                    "the log has {size} records: there is no record {index}"
                )));
            }
            // The current checkpoint, signed now if the log grew since the
            // last one (as `GET /ledger/checkpoint` does).
            let Some(keys) = st.ledger.keys() else {
                return Ok(Err(
                    "this node has no log signing key (see accord ledger key)".to_owned(),
                ));
            };
            let signed = {
                let _g = st.ledger.signing();
                accord_app::ledger::latest_checkpoint(store, keys)
            };
            let signed = match signed {
                Ok(s) => s,
                Err(e) => return Ok(Err(format!("signing the checkpoint: {e}"))),
            };
            let size = signed.checkpoint.size;
            let entry = store.ledger_entries(index, index + 1)?.pop();
            let (leaf, path) = store.ledger_inclusion_proof(index, size)?;
            Ok(Ok((signed, entry, leaf, path)))
        })
        .await?;
    let (cp, entry, leaf, path) = found.map_err(|m| UiError::new(StatusCode::CONFLICT, m))?;
    let size = cp.checkpoint.size;
    let missing = || {
        UiError::new(
            StatusCode::NOT_FOUND,
            format!("no record {index} that you may read"),
        )
    };
    let entry = entry.ok_or_else(missing)?;
    let record =
        accord_ledger::ExchangeRecord::from_leaf_bytes(&entry.leaf).map_err(|_| missing())?;
    if !record_visible(&state, signed.caller(), &record) {
        return Err(missing());
    }
    let body_text = String::from_utf8_lossy(&cp.note).into_owned();
    let verdict = accord_ledger::verify_inclusion(&leaf, index, size, &path, &cp.checkpoint.root)
        .map_err(|e| e.to_string());
    let body = html! {
        p {
            "Record " strong { (index) } " — " (direction(&record)) " " code { (record.object_id) }
            @if let Some(p) = &record.partner { " (" (p) ")" }
            ", " (decision(&record)) ", at " (time(&record.time)) "."
        }
        @match &verdict {
            Ok(()) => p.good { "Checked here: the record is in the log of " (thousands(size)) " records whose root the checkpoint below signs." },
            Err(e) => p.bad { "The proof does not check: " (e) },
        }
        h2 { "The record" }
        pre { (String::from_utf8_lossy(&entry.leaf)) }
        h2 { "Signed checkpoint" }
        pre { (body_text) }
        h2 { "Inclusion proof" }
        p.meta { "Leaf hash " code { (leaf.to_base64()) } "; audit path (" (path.len()) " hashes):" }
        pre { @for h in &path { (h.to_base64()) "\n" } }
        p.meta {
            "Anyone can check it with " code { "accord ledger prove --index " (index) " --size " (size) }
            " on this node, or from the partner side with the log's public tiles and the verifier key."
        }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(
            &state,
            &signed,
            "Log",
            &format!("Proof of record {index}"),
            body,
        ),
    ))
}
