//! The hotline's REST endpoints, for the node's own accounts (a partner's
//! account gets 403: partners exchange cases through TAXII, under the
//! seam's hotline rule):
//!
//! - `GET /hotline/cases[?state=S&overdue=true]`: the cases, a JSON array
//!   of the objects `accord hotline list --json` prints;
//! - `POST /hotline/cases` `{"partner", "severity", "title",
//!   "description"?, "attach"?: [ID…], "ask"?: [ACTION…], "exercise"?}`:
//!   opens a case, 201 `{"id"}`;
//! - `GET /hotline/cases/{id}`: the case and its messages (`accord hotline
//!   show --json`);
//! - `POST /hotline/cases/{id}/messages` `{"kind": "ack" | "progress" |
//!   "reply" | "resolve" | "decline" | "reopen" | "assist-answer", "text"?,
//!   "attach"?, "action"?, "outcome"?}`: this node's message, 201 with the
//!   note; a transition the rules refuse is 409 naming the allowed ones.
//!
//! Writing (the two POSTs) needs an account with `write = ["*"]`.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::AppState;
use accord_app::exchange::Counterparty;
use accord_app::hotline::{
    Action, AssistOutcome, Assistance, Hotline, HotlineError, MessageKind, OpenRequest, Severity,
    State,
};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

/// The routes, without layers (nested at `/hotline`).
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/cases", get(list).post(open))
        .route("/cases/{id}", get(show))
        .route("/cases/{id}/messages", post(message))
}

/// A collection id no collection has: only `write = ["*"]` may write it.
const WRITE_ALL: &str = "\u{0}hotline";

fn own_account(state: &AppState, caller: &Caller, write: bool) -> Result<(), ApiError> {
    if let Counterparty::Partner(p) = state.counterparty(&caller.name) {
        return Err(ApiError::forbidden(format!(
            "account `{}` is partner `{p}`'s: the hotline API is for this node's own accounts",
            caller.name
        )));
    }
    if write && !caller.can_write(WRITE_ALL) {
        return Err(ApiError::forbidden(format!(
            "account `{}` may not write cases: that needs write = [\"*\"]",
            caller.name
        )));
    }
    Ok(())
}

fn json(status: StatusCode, v: &impl serde::Serialize) -> Response {
    let mut r = (status, serde_json::to_vec(v).unwrap_or_default()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn api_error(e: &HotlineError) -> ApiError {
    match e {
        HotlineError::Refused(_) => {
            ApiError::new(StatusCode::CONFLICT, "Transition refused", e.to_string())
        }
        HotlineError::UnknownCase(_) => ApiError::not_found(e.to_string()),
        HotlineError::UnknownPartner { .. } | HotlineError::NoIdentity(_) => {
            ApiError::bad_request(e.to_string())
        }
        _ => ApiError::internal("working a hotline case", e),
    }
}

/// Runs `f` with the node's hotline on the blocking pool.
async fn with_hotline<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&Hotline<'_>, accord_stix::Timestamp) -> Result<T, HotlineError> + Send + 'static,
) -> Result<T, ApiError> {
    let config = state.config.clone();
    let clock = Arc::clone(&state.clock);
    let r = state
        .read("working a hotline case", move |store| {
            Ok(Hotline::new(&config, store, clock.now_micros())
                .and_then(|h| f(&h, clock.now_timestamp())))
        })
        .await?;
    r.map_err(|e| api_error(&e))
}

fn body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("the JSON body: {e}")))
}

#[derive(Deserialize)]
struct ListParams {
    state: Option<String>,
    overdue: Option<bool>,
}

async fn list(
    AxState(state): AxState<Arc<AppState>>,
    Authenticated(caller): Authenticated,
    Query(q): Query<ListParams>,
) -> Result<Response, ApiError> {
    own_account(&state, &caller, false)?;
    let st = match q.state.as_deref() {
        Some(s) => Some(State::parse(s).map_err(|e| ApiError::bad_request(format!("state: {e}")))?),
        None => None,
    };
    let overdue = q.overdue.unwrap_or(false);
    let cases = with_hotline(&state, move |h, now| h.list(st, overdue, now)).await?;
    Ok(json(StatusCode::OK, &cases))
}

async fn show(
    AxState(state): AxState<Arc<AppState>>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    own_account(&state, &caller, false)?;
    let d = with_hotline(&state, move |h, now| h.show(&id, now)).await?;
    Ok(json(StatusCode::OK, &d))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    partner: String,
    severity: Severity,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    attach: Vec<String>,
    #[serde(default)]
    ask: Vec<Assistance>,
    #[serde(default)]
    exercise: bool,
}

async fn open(
    AxState(state): AxState<Arc<AppState>>,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    own_account(&state, &caller, true)?;
    let b: OpenBody = body(&bytes)?;
    let req = OpenRequest {
        partner: b.partner,
        severity: b.severity,
        title: b.title,
        description: b.description,
        attachments: b.attach,
        assistance: b.ask,
        exercise: b.exercise,
    };
    let id = with_hotline(&state, move |h, now| h.open(&req, now)).await?;
    Ok(json(StatusCode::CREATED, &serde_json::json!({ "id": id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    kind: MessageKind,
    #[serde(default)]
    text: String,
    #[serde(default)]
    attach: Vec<String>,
    #[serde(default)]
    action: Option<Assistance>,
    #[serde(default)]
    outcome: Option<AssistOutcome>,
}

async fn message(
    AxState(state): AxState<Arc<AppState>>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    own_account(&state, &caller, true)?;
    let b: MessageBody = body(&bytes)?;
    let action = match b.kind {
        MessageKind::Ack => Action::Ack,
        MessageKind::Reply => Action::Reply,
        MessageKind::Progress => Action::Progress,
        MessageKind::Resolve => Action::Resolve,
        MessageKind::Decline => Action::Decline,
        MessageKind::Reopen => Action::Reopen,
        MessageKind::AssistAnswer => match (b.action, b.outcome) {
            (Some(a), Some(o)) => Action::AssistAnswer(a, o),
            _ => {
                return Err(ApiError::bad_request(
                    "kind assist-answer needs \"action\" and \"outcome\"",
                ));
            }
        },
        k @ (MessageKind::Open | MessageKind::Escalate) => {
            return Err(ApiError::bad_request(format!(
                "kind {k} is not a message a party sends here (open a case with POST /hotline/cases; escalations are the nodes')"
            )));
        }
    };
    let note = with_hotline(&state, move |h, now| {
        h.act(&id, action, &b.text, &b.attach, now)
    })
    .await?;
    let mut r = (StatusCode::CREATED, note.to_json()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}
