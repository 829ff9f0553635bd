//! [`ClientError`]: why a request failed, always naming the URL.
//!
//! The message of a [`ClientError`] is complete and says each fact once:
//! the request (`GET URL`), then what went wrong, then the cause, with a
//! hint where one exists (`GET http://h/taxii2/: cannot connect: connection
//! refused (hint: is a node running and listening at h:80?)`). The `reqwest` error behind a
//! failure is rendered into the message (its innermost cause: `reqwest`'s
//! own text repeats the URL) and is not also returned by
//! [`std::error::Error::source`], so a printer walking the chain does not
//! say it twice. [`ClientError::url`] and [`ClientError::reason`] give the
//! two halves, for callers that name the action themselves (`sync from
//! URL: reason`).

use crate::resources::{Status, TaxiiErrorMessage};
use std::fmt;

/// Why a TAXII request failed. Every variant names the URL.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an HTTP error status.
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
    Connect {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// What failed.
        source: reqwest::Error,
    },
    /// The request did not finish in time.
    Timeout {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// The configured timeout.
        timeout_ms: u128,
    },
    /// The request failed while being sent or its answer while being read.
    Request {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// What failed.
        source: reqwest::Error,
    },
    /// The answer was not the JSON resource expected.
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
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server broke the protocol (e.g. `more` without a way to go on).
    Protocol {
        /// The request URL.
        url: String,
        /// What it did.
        reason: String,
    },
    /// A status did not become `complete` within the polling bounds.
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
    TooLarge {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// The cap, in bytes.
        cap: u64,
    },
    /// A tile or entry bundle answer is longer than one may be
    /// ([`accord_ledger::tiles::Tile::max_bytes`]: a hash tile its width ×
    /// 32 bytes, an entry bundle its width × (2 + 65,535)); it was not
    /// read further.
    TileTooLarge {
        /// The request method.
        method: &'static str,
        /// The request URL.
        url: String,
        /// `tile` or `entry bundle`.
        kind: &'static str,
        /// The tile's path (`tile/0/x001/234`).
        path: String,
        /// The most it may hold, in bytes.
        max: u64,
    },
    /// The HTTP client could not be built (TLS setup).
    Build(reqwest::Error),
}

/// What an HTTP error answer says: the TAXII error message's description
/// (its title, e.g. `Authentication failed`, only repeats the status), else
/// its title, else the body.
fn describe_http(message: Option<&TaxiiErrorMessage>, body: &str) -> String {
    match message {
        Some(m) => match &m.description {
            Some(d) if !d.trim().is_empty() => format!(": {}", d.trim()),
            _ => format!(": {}", m.title),
        },
        None if body.trim().is_empty() => String::new(),
        None => format!(": {}", body.trim()),
    }
}

/// The innermost cause of a `reqwest` failure: `reqwest`'s own message
/// repeats the URL (`error sending request for url (…)`) and hyper's
/// middle layers (`client error (Connect)`) add nothing.
fn innermost(e: &reqwest::Error) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cause(last) {
        last = next;
    }
    if std::ptr::addr_eq(last, e as &dyn std::error::Error) {
        return e.to_string();
    }
    lower_first(last.to_string())
}

/// `Connection refused (os error 111)` as a part of a sentence.
fn lower_first(s: String) -> String {
    let mut rest = s.chars();
    match (rest.next(), rest.clone().next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(rest).collect()
        }
        _ => s,
    }
}

/// The cause of `e`: the error an I/O error wraps (whose own `source`
/// skips it), else its `source`.
fn cause<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    match e
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
    {
        Some(inner) => Some(inner),
        None => e.source(),
    }
}

/// Whether `e` failed on an I/O error of `kind` somewhere in its chain.
fn io_kind(e: &reqwest::Error, kind: std::io::ErrorKind) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
        {
            return true;
        }
        cur = cause(c);
    }
    false
}

/// Whether `e` failed in the TLS layer (rustls).
fn is_tls(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if c.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        cur = cause(c);
    }
    false
}

/// `host:port` of `url`, for hints.
fn authority(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

impl ClientError {
    /// The URL of the request that failed (the URL that could not be
    /// built for [`ClientError::InvalidUrl`]; empty for
    /// [`ClientError::Build`]).
    pub fn url(&self) -> &str {
        match self {
            ClientError::Http { url, .. }
            | ClientError::Connect { url, .. }
            | ClientError::Timeout { url, .. }
            | ClientError::Request { url, .. }
            | ClientError::InvalidJson { url, .. }
            | ClientError::InvalidUrl { url, .. }
            | ClientError::Protocol { url, .. }
            | ClientError::StatusNotComplete { url, .. }
            | ClientError::TooLarge { url, .. }
            | ClientError::TileTooLarge { url, .. } => url,
            ClientError::Build(_) => "",
        }
    }

    /// What went wrong, without the request (`HTTP 401: wrong user name,
    /// password or token`); the message is `METHOD URL: reason`.
    pub fn reason(&self) -> String {
        match self {
            ClientError::Http {
                status,
                message,
                body,
                ..
            } => format!("HTTP {status}{}", describe_http(message.as_deref(), body)),
            ClientError::Connect { url, source, .. } => {
                if is_tls(source) {
                    format!(
                        "cannot connect: TLS handshake failed: {} (hint: if the node at {} serves plain HTTP, use an http:// URL)",
                        innermost(source),
                        authority(url)
                    )
                } else if io_kind(source, std::io::ErrorKind::ConnectionRefused) {
                    format!(
                        "cannot connect: {} (hint: is a node running and listening at {}?)",
                        innermost(source),
                        authority(url)
                    )
                } else {
                    format!("cannot connect: {}", innermost(source))
                }
            }
            ClientError::Timeout { timeout_ms, .. } => {
                format!("no complete answer within {timeout_ms} ms")
            }
            ClientError::Request { source, .. } => innermost(source),
            ClientError::InvalidJson {
                expected,
                line,
                column,
                message,
                ..
            } => format!(
                "expected {expected}, found invalid JSON at line {line} column {column}: {message}"
            ),
            ClientError::InvalidUrl { reason, .. } => reason.clone(),
            ClientError::Protocol { reason, .. } => reason.clone(),
            ClientError::StatusNotComplete {
                attempts,
                waited_ms,
                last,
                ..
            } => format!(
                "status {} still `{}` after {attempts} polls ({waited_ms} ms): {} of {} objects done",
                last.id,
                last.status,
                last.success_count + last.failure_count,
                last.total_count
            ),
            ClientError::TooLarge { cap, .. } => {
                format!("the answer is larger than the cap of {cap} bytes")
            }
            ClientError::TileTooLarge {
                kind, path, max, ..
            } => format!("{kind} {path} is more than the {max} bytes a {kind} may hold"),
            ClientError::Build(e) => {
                format!("cannot build the HTTP client: {}", innermost(e))
            }
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Http { method, url, .. }
            | ClientError::Connect { method, url, .. }
            | ClientError::Timeout { method, url, .. }
            | ClientError::Request { method, url, .. }
            | ClientError::TooLarge { method, url, .. }
            | ClientError::TileTooLarge { method, url, .. } => {
                write!(f, "{method} {url}: {}", self.reason())
            }
            ClientError::InvalidUrl { url, reason } => write!(f, "invalid URL `{url}`: {reason}"),
            ClientError::InvalidJson { url, .. }
            | ClientError::Protocol { url, .. }
            | ClientError::StatusNotComplete { url, .. } => {
                write!(f, "{url}: {}", self.reason())
            }
            ClientError::Build(_) => f.write_str(&self.reason()),
        }
    }
}

/// The cause is part of the message (see the module documentation), so
/// `source` is `None`.
impl std::error::Error for ClientError {}

impl ClientError {
    /// The HTTP status, when the server answered with an error status.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the failure is the kind that may pass by itself, so that a
    /// retry later makes sense: no connection (other than a TLS failure),
    /// a timeout, a broken transfer, HTTP 408, 429 and 5xx, a status that
    /// did not complete. Everything else (a TLS failure, an answer that is
    /// not the JSON or media type expected, an over-cap body, a protocol
    /// breach, HTTP 4xx) says something is wrong with the partner or the
    /// configuration, and repeating the request will not help.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Connect { source, .. } => !is_tls(source),
            ClientError::Timeout { .. } | ClientError::StatusNotComplete { .. } => true,
            ClientError::Request { source, .. } => !source.is_redirect() && !is_tls(source),
            ClientError::Http { status, .. } => matches!(status, 408 | 429) || *status >= 500,
            _ => false,
        }
    }

    /// Whether the request failed in the TLS layer (a certificate not
    /// trusted, a handshake refused).
    pub fn is_tls(&self) -> bool {
        match self {
            ClientError::Connect { source, .. } | ClientError::Request { source, .. } => {
                is_tls(source)
            }
            _ => false,
        }
    }

    /// Whether the server refused the credentials (HTTP 401).
    pub fn is_unauthorized(&self) -> bool {
        self.http_status() == Some(401)
    }
}
