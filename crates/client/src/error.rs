//! [`ClientError`]: why a request failed, always naming the URL.

use crate::resources::{Status, TaxiiErrorMessage};

/// Why a TAXII request failed. Every variant names the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an HTTP error status.
    #[error("{method} {url}: HTTP {status}{}", describe_http(.message.as_deref(), .body))]
    Http {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The TAXII error message, when the body was one.
        message: Option<Box<TaxiiErrorMessage>>,
        /// The start of the body, when it was not a TAXII error message.
        body: String,
    },
    /// No connection could be made.
    #[error("{method} {url}: cannot connect: {source}")]
    Connect {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// What failed.
        source: reqwest::Error,
    },
    /// The request did not finish in time.
    #[error("{method} {url}: no complete answer within {timeout_ms} ms")]
    Timeout {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// The configured timeout.
        timeout_ms: u128,
    },
    /// The request failed while being sent or its answer while being read.
    #[error("{method} {url}: {source}")]
    Request {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// What failed.
        source: reqwest::Error,
    },
    /// The answer was not the JSON resource expected.
    #[error(
        "{url}: expected {expected}, found invalid JSON at line {line} column {column}: {message}"
    )]
    InvalidJson {
        /// The request URL.
        url: String,
        /// The resource expected.
        expected: &'static str,
        /// 1-based line in the body.
        line: usize,
        /// 1-based column in the body.
        column: usize,
        /// serde_json's reason.
        message: String,
    },
    /// A URL could not be built.
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server broke the protocol (e.g. `more` without a way to go on).
    #[error("{url}: {reason}")]
    Protocol {
        /// The request URL.
        url: String,
        /// What it did.
        reason: String,
    },
    /// A status did not become `complete` within the polling bounds.
    #[error(
        "status {} at {url} still `{}` after {attempts} polls ({waited_ms} ms): {} of {} objects done",
        .last.id, .last.status, .last.success_count + .last.failure_count, .last.total_count
    )]
    StatusNotComplete {
        /// The status URL.
        url: String,
        /// How many polls were made.
        attempts: u32,
        /// How long polling waited.
        waited_ms: u128,
        /// The last status seen.
        last: Box<Status>,
    },
    /// The answer's body is larger than the cap
    /// ([`crate::ClientOptions::max_response_bytes`]); it was not read
    /// further.
    #[error("{method} {url}: the answer is larger than the cap of {cap} bytes")]
    TooLarge {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// The cap, in bytes.
        cap: u64,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
}

fn describe_http(message: Option<&TaxiiErrorMessage>, body: &str) -> String {
    match message {
        Some(m) => match &m.description {
            Some(d) => format!(": {}: {d}", m.title),
            None => format!(": {}", m.title),
        },
        None if body.trim().is_empty() => String::new(),
        None => format!(": {}", body.trim()),
    }
}

impl ClientError {
    /// The HTTP status, when the server answered with an error status.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server refused the credentials (HTTP 401).
    pub fn is_unauthorized(&self) -> bool {
        self.http_status() == Some(401)
    }
}
