//! One error type for the HTTP API, written as a TAXII error message
//! (§3.6.1) with the right status. Internal failures are logged in full and
//! answered with a generic description.

use crate::taxii::{ErrorMessage, TAXII_MEDIA_TYPE};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Short summary.
    pub title: &'static str,
    /// What was wrong, for the client.
    pub description: String,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// 400: the request is malformed; `description` says how.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", description)
    }

    /// 404: `what` does not exist (or the caller may not see it).
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", description)
    }

    /// 403: authenticated, but without the right.
    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", description)
    }

    /// 500: something failed inside; logged, not described to the client.
    pub fn internal(context: &str, e: &dyn std::fmt::Display) -> Self {
        tracing::error!("{context}: {e}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            format!("the server failed while {context}; the failure is in its log"),
        )
    }

    /// A store failure while doing `context`: 503 with `Retry-After: 1`
    /// when the database is out of reach for a while
    /// ([`accord_store::StoreError::is_unavailable`]: a cluster's
    /// PostgreSQL restarting or unreachable), so the client retries; 500
    /// otherwise. Logged either way.
    pub fn store(context: &str, e: &accord_store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!("{context}: {e}");
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Store unavailable",
                format!("the database could not be reached while {context}; retry shortly"),
            )
            .retry_after(1)
        } else {
            Self::internal(context, e)
        }
    }

    /// Any status.
    pub fn new(status: StatusCode, title: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            title,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 503: the server is at its bound of concurrent requests; the client
    /// may retry after `secs` seconds.
    pub fn busy(description: impl Into<String>, secs: u64) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "Busy", description).retry_after(secs)
    }

    /// 413: the request body is larger than `limit` bytes (`setting`
    /// names the bound).
    pub fn too_large(what: &str, len: &dyn std::fmt::Display, limit: u64, setting: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            format!(
                "{what} is {len} bytes; this server takes at most {limit} bytes there ({setting})"
            ),
        )
    }

    /// The same error with a `Retry-After` of `secs` seconds.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorMessage {
            title: self.title.to_owned(),
            description: Some(self.description),
            http_status: self.status.as_u16().to_string(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut r = (self.status, json).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(TAXII_MEDIA_TYPE),
        );
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"accord\", Bearer realm=\"accord\""),
            );
        }
        r
    }
}
