//! [`Authenticated`]: the caller of a request, as an axum extractor.
//!
//! Every handler that needs a caller takes an `Authenticated` argument
//! instead of authenticating by hand. The cost is today's hand call, or
//! less: the `Authorization` header is read in place from the request
//! parts (no copy of the header map); bearer tokens and passwords verified
//! before are checked right on the async worker
//! ([`crate::auth::Accounts::authenticate_fast`]); only a password not
//! verified before goes to the blocking pool for argon2 (tens of
//! milliseconds, never on an async worker), with its own copy of the
//! header.

use crate::auth::{AuthError, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use std::sync::Arc;

/// The authenticated caller of a request; a request without valid
/// credentials is answered 401 (a TAXII error message) before the handler
/// runs.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

fn unauthorized(e: AuthError) -> ApiError {
    let title = match e {
        AuthError::Missing => "Authentication required",
        _ => "Authentication failed",
    };
    ApiError::new(StatusCode::UNAUTHORIZED, title, e.to_string())
}

impl FromRequestParts<Arc<AppState>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let h = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Some(c) = state.accounts.authenticate_fast(h).map_err(unauthorized)? {
            return Ok(Authenticated(c));
        }
        let h = h.map(str::to_owned);
        let state = Arc::clone(state);
        tokio::task::spawn_blocking(move || state.accounts.authenticate(h.as_deref()))
            .await
            .map_err(|e| ApiError::internal("checking a password", &e))?
            .map(Authenticated)
            .map_err(unauthorized)
    }
}
