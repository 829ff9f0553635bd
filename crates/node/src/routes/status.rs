//! The status of a POST (§4.3).

use super::taxii_json;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::{AppState, MAX_STATUSES};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;

pub(crate) async fn status(
    State(s): State<Arc<AppState>>,
    Path((root, id)): Path<(String, String)>,
    Authenticated(_): Authenticated,
) -> Result<Response, ApiError> {
    s.api_root(&root)?;
    let found = s
        .statuses
        .lock()
        .ok()
        .and_then(|log| log.by_id.get(&id).cloned());
    match found {
        Some(st) => Ok(taxii_json(StatusCode::OK, &st)),
        None => Err(ApiError::not_found(format!(
            "no status `{id}` (statuses are kept for the last {MAX_STATUSES} requests)"
        ))),
    }
}
