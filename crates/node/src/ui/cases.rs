//! The hotline's pages: the case list, a case's thread, and the forms that
//! open a case and answer it, through the same `Hotline` service as the
//! CLI and the REST API (so the same rules, notes and log records).

use super::fmt::time;
use super::{Signed, UiError, html_page, layout};
use crate::state::AppState;
use accord_app::hotline::{Action, CaseView, Hotline, HotlineError, OpenRequest, Severity};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::sync::Arc;

/// A collection id no collection has: only `write = ["*"]` may act.
const WRITE_ALL: &str = "\u{0}hotline";

fn ui_error(e: &HotlineError) -> UiError {
    let status = match e {
        HotlineError::Refused(_) => StatusCode::CONFLICT,
        HotlineError::UnknownCase(_) => StatusCode::NOT_FOUND,
        HotlineError::UnknownPartner { .. } | HotlineError::NoIdentity(_) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    UiError::new(status, e.to_string())
}

async fn with_hotline<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&Hotline<'_>, accord_stix::Timestamp) -> Result<T, HotlineError> + Send + 'static,
) -> Result<T, UiError> {
    let config = state.config.clone();
    let clock = Arc::clone(&state.clock);
    let r = state
        .read("the hotline", move |store| {
            Ok(Hotline::new(&config, store, clock.now_micros())
                .and_then(|h| f(&h, clock.now_timestamp())))
        })
        .await?;
    r.map_err(|e| ui_error(&e))
}

/// The cases as a table, overdue ones marked.
pub(crate) fn table(cases: &[&CaseView]) -> Markup {
    html! {
        table {
            thead { tr { th { "Case" } th { "Severity" } th { "State" } th { "With" } th { "Escalation" } th { "Acknowledge by" } th { "Resolve by" } } }
            tbody {
                @for c in cases {
                    @let s = &c.summary;
                    tr {
                        td {
                            a href=(format!("/ui/cases/{}", s.id)) { (s.title) }
                            @if s.exercise { " " span.meta { "(exercise)" } }
                            @if let Some(f) = &s.facility { " " span.bad { "protected facility: " (f) } }
                        }
                        td { (s.severity.as_str()) }
                        td { (s.state.as_str()) @if s.overdue { " " span.overdue { "overdue" } } }
                        td { (c.partner) " " span.meta { "(you are " (c.role) ")" } }
                        td { @if s.escalation == 0 { "none" } @else { span.warn { "level " (s.escalation) } } }
                        td { (time(&s.ack_by)) }
                        td { (time(&s.resolve_by)) }
                    }
                }
            }
        }
    }
}

/// `/ui/cases`: every case, and the form to open one.
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    signed: Signed,
) -> Result<Response, UiError> {
    own(&state, &signed, false)?;
    let cases = with_hotline(&state, |h, now| h.list(None, false, now)).await?;
    let mut sorted: Vec<&CaseView> = cases.iter().collect();
    sorted.sort_by_key(|c| {
        (
            matches!(c.summary.state.as_str(), "resolved" | "declined"),
            !c.summary.overdue,
            c.summary.severity,
            c.summary.id.clone(),
        )
    });
    let partners: Vec<&str> = state
        .config
        .partners
        .iter()
        .filter(|p| p.identity.is_some())
        .map(|p| p.name.as_str())
        .collect();
    let body = html! {
        @if sorted.is_empty() { p.empty { "No case yet. Open one below when a partner must know or act." } }
        @else { (table(&sorted)) }
        h2 { "Open a case" }
        @if partners.is_empty() {
            p.empty { "No partner has an " code { "identity" } " in accord.toml yet: cases go only to partners whose identity is known (they read theirs with " code { "accord hotline whoami" } ")." }
        } @else {
            form method="post" action="/ui/cases" {
                input type="hidden" name="csrf" value=(signed.session.csrf);
                label { "Partner" select name="partner" { @for p in &partners { option value=(p) { (p) } } } }
                label { "Severity"
                    select name="severity" {
                        option value="critical" { "critical — acknowledge within 1 h" }
                        option value="high" { "high — 4 h" }
                        option value="medium" selected { "medium — 24 h" }
                        option value="low" { "low — 72 h" }
                    }
                }
                label { "Title" input type="text" name="title" required maxlength="300"; }
                label { "Description" textarea name="description" rows="4" {} }
                label { input type="checkbox" name="exercise" value="true"; " This is an exercise (kept out of real statistics)" }
                button type="submit" { "Open the case" }
            }
        }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(&state, &signed, "Hotline", "Hotline cases", body),
    ))
}

fn own(state: &AppState, signed: &Signed, write: bool) -> Result<(), UiError> {
    if write && !signed.caller().can_write(WRITE_ALL) {
        return Err(UiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "account `{}` may read cases but not write them: that needs write = [\"*\"] in accord.toml",
                signed.caller().name
            ),
        ));
    }
    let _ = state;
    Ok(())
}

#[derive(Deserialize)]
pub(crate) struct OpenForm {
    #[serde(default)]
    csrf: String,
    partner: String,
    severity: Severity,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    exercise: Option<String>,
}

fn see_other(to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    *r.status_mut() = StatusCode::SEE_OTHER;
    r
}

/// `POST /ui/cases`: opens a case, then shows it.
pub(crate) async fn open(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    axum::Form(f): axum::Form<OpenForm>,
) -> Result<Response, UiError> {
    signed.check_csrf(&f.csrf)?;
    own(&state, &signed, true)?;
    let req = OpenRequest {
        partner: f.partner,
        severity: f.severity,
        title: f.title,
        description: Some(f.description).filter(|d| !d.trim().is_empty()),
        attachments: Vec::new(),
        assistance: Vec::new(),
        exercise: f.exercise.is_some(),
    };
    let id = with_hotline(&state, move |h, now| h.open(&req, now)).await?;
    Ok(see_other(&format!("/ui/cases/{id}")))
}

/// `/ui/cases/{id}`: the case, its thread, and what this node may do next.
pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    own(&state, &signed, false)?;
    let d = with_hotline(&state, move |h, now| h.show(&id, now)).await?;
    let s = &d.case.summary;
    let csrf = &signed.session.csrf;
    let body = html! {
        (table(&[&d.case]))
        @if let Some(desc) = &d.description { p { (desc) } }
        h2 { "Thread" }
        ol.thread {
            @for m in &d.messages {
                li {
                    div.meta {
                        strong { (m.kind.as_str()) } " — "
                        @match &m.from { Some(f) => (f), None => "the nodes (deadline)" }
                        " — " (time(&m.time))
                        @if let Some(r) = &m.refused { " " span.bad { "not applied: " (r) } }
                    }
                    @if !m.text.is_empty() { p { (m.text) } }
                    @if !m.attachments.is_empty() { p.meta { "Attached: " @for a in &m.attachments { code { (a) } " " } } }
                }
            }
        }
        h2 { "Answer" }
        p.meta { "The case is " (s.state.as_str()) ". Only transitions the rules allow are applied; a refused one says which are allowed." }
        form.inline method="post" action=(format!("/ui/cases/{}", s.id)) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="action" value="ack";
            button type="submit" { "Acknowledge" }
        }
        form method="post" action=(format!("/ui/cases/{}", s.id)) {
            input type="hidden" name="csrf" value=(csrf);
            label { "Message" textarea name="text" rows="3" {} }
            div.inline {
                button type="submit" name="action" value="reply" { "Reply" } " "
                button type="submit" name="action" value="progress" { "Report progress" } " "
                button type="submit" name="action" value="resolve" { "Resolve" } " "
                button type="submit" name="action" value="decline" { "Decline (give the reason)" } " "
                button type="submit" name="action" value="reopen" { "Reopen (give the reason)" }
            }
        }
    };
    Ok(html_page(
        StatusCode::OK,
        layout(
            &state,
            &signed,
            "Hotline",
            &format!("Case: {}", s.title),
            body,
        ),
    ))
}

#[derive(Deserialize)]
pub(crate) struct ActForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    text: String,
}

/// `POST /ui/cases/{id}`: this node's message on the case.
pub(crate) async fn act(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, UiError> {
    signed.check_csrf(&f.csrf)?;
    own(&state, &signed, true)?;
    let action = match f.action.as_str() {
        "ack" => Action::Ack,
        "reply" => Action::Reply,
        "progress" => Action::Progress,
        "resolve" => Action::Resolve,
        "decline" => Action::Decline,
        "reopen" => Action::Reopen,
        other => {
            return Err(UiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown action `{other}`: one of ack, reply, progress, resolve, decline, reopen"
                ),
            ));
        }
    };
    let case = id.clone();
    with_hotline(&state, move |h, now| {
        h.act(&case, action, &f.text, &[], now)
    })
    .await?;
    Ok(see_other(&format!("/ui/cases/{id}")))
}
