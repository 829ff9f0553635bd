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
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use std::net::SocketAddr;
use std::sync::Arc;

/// The authenticated caller of a request; a request without valid
/// credentials is answered 401 (a TAXII error message) before the handler
/// runs.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

fn unauthorized(e: AuthError) -> ApiError {
    let title = match e {
        AuthError::Missing => "Authentication required",
        AuthError::Throttled {
            retry_after_secs, ..
        } => {
            return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed logins",
                e.to_string(),
            )
            .retry_after(retry_after_secs);
        }
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
        // One check at a time per credentials: those who waited are
        // usually verified by now.
        let _turn = state.accounts.check_turn(h).await;
        if let Some(c) = state.accounts.authenticate_fast(h).map_err(unauthorized)? {
            return Ok(Authenticated(c));
        }
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        // Spent before argon2 runs, given back when the password is right.
        let reservation = state.accounts.reserve(h, address).map_err(unauthorized)?;
        let permit = Arc::clone(&state.accounts.password_checks)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal("checking a password", &e))?;
        let h = h.map(str::to_owned);
        let state = Arc::clone(state);
        // The permit goes with the check: a request that times out while
        // argon2 runs does not free a slot before argon2 is done.
        tokio::task::spawn_blocking(move || {
            let r = state.accounts.verify_password(h.as_deref(), reservation);
            drop(permit);
            r
        })
        .await
        .map_err(|e| ApiError::internal("checking a password", &e))?
        .map(Authenticated)
        .map_err(unauthorized)
    }
}
