//! The Accord HTTP client: what a node uses to read from and write to a
//! partner's TAXII 2.1 server (OASIS TAXII 2.1, §4 and §5), and to read a
//! partner's transparency log (`/ledger/…`: checkpoints, tiles, proofs,
//! and returning a cosignature).
//!
//! One HTTP stack serves both: [`TaxiiClient`] and [`LedgerClient`] are
//! built on the same `reqwest` client setup (rustls/ring, the timeouts and
//! the response size cap of [`ClientOptions`]), and
//! [`TaxiiClient::ledger`] gives a [`LedgerClient`] sharing the TAXII
//! client's connections. Every body is read with a bound: an answer
//! larger than [`ClientOptions::max_response_bytes`] is
//! [`ClientError::TooLarge`], naming the URL and the cap.
//!
//! Files: [`taxii`] (the TAXII client and its paging), [`resources`] (the
//! TAXII resources and filters), [`ledger`] (the ledger client and the
//! proof JSON), [`error`] ([`ClientError`]), `http` (the shared transport).
//!
//! [`TaxiiClient`] speaks HTTP through `reqwest` with rustls. Every request
//! carries `Accept: application/taxii+json;version=2.1` (§1.6.8.1), POSTs
//! carry the same `Content-Type`, and every request has a timeout
//! ([`ClientOptions`]). Answers are decoded into the TAXII resources
//! ([`Discovery`], [`ApiRoot`], [`Collection`], [`ObjectsPage`],
//! [`ManifestPage`], [`VersionsPage`], [`Status`]); objects are kept as raw
//! JSON text ([`serde_json::value::RawValue`]) so that what a node stores is
//! byte for byte what the partner sent.
//!
//! ```no_run
//! # async fn demo() -> Result<(), accord_client::ClientError> {
//! use accord_client::{Auth, Filter, TaxiiClient};
//! let client = TaxiiClient::new(
//!     "https://taxii.example.org/",
//!     Auth::Basic { user: "demo".into(), password: "demo".into() },
//! )?;
//! let discovery = client.discovery().await?;
//! let root = discovery.default.clone().unwrap_or_default();
//! let collections = client.collections(&root).await?;
//! let url = client.collection_url(&root, &collections[0].id)?;
//! let mut pages = client.object_pages(&url, Filter::new().types(["indicator"]), 100);
//! while let Some(page) = pages.next_page().await? {
//!     println!("{} objects, added up to {:?}", page.objects.len(), page.date_added_last);
//! }
//! # Ok(()) }
//! ```
//!
//! Paging follows `next` (§3.4) and always repeats the filters and `limit`
//! on the follow-up requests, as `taxii2-client` does: servers such as
//! medallion 3.0.0 compare the filters of each page with the first one and
//! fail with HTTP 500 when `limit` is missing next to `next`.
//!
//! What it deliberately does not do: validate STIX (the node's `sync` does),
//! retry failed requests (apart from polling a status), or cache anything.

pub mod error;
mod http;
pub mod ledger;
pub mod resources;
pub mod taxii;
pub mod webhook;

pub use error::ClientError;
pub use ledger::{ConsistencyJson, InclusionJson, LedgerClient};
pub use resources::*;
pub use taxii::{ObjectPages, TaxiiClient, api_root_of};

use std::time::Duration;

/// The TAXII 2.1 media type, sent in `Accept` and in `Content-Type` (§1.6.8).
pub const MEDIA_TYPE_TAXII: &str = "application/taxii+json;version=2.1";

/// How the client authenticates (TAXII 2.1 §1.6.2 leaves the choice to the
/// server; HTTP Basic and bearer tokens are the common ones).
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// HTTP Basic (RFC 7617).
    Basic {
        /// The account name.
        user: String,
        /// Its password.
        password: String,
    },
    /// `Authorization: Bearer <token>` (RFC 6750).
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    // Secrets never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Timeouts, the response size cap and status polling of a [`TaxiiClient`]
/// or a [`LedgerClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// The longest a whole request may take, from connecting to the last
    /// byte of the body.
    pub request_timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// The longest a read of the answer may wait for bytes.
    pub read_timeout: Duration,
    /// The largest answer body read, in bytes; a larger one is
    /// [`ClientError::TooLarge`].
    pub max_response_bytes: u64,
    /// How [`TaxiiClient::add_objects`] waits for a status to complete.
    pub poll: PollOptions,
}

/// The default cap on a TAXII answer: 256 MiB (a page of objects).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 << 20;

/// The default cap on a ledger answer: 16 MiB (a checkpoint, a tile or an
/// entry bundle of 256 records is far smaller).
pub const LEDGER_MAX_RESPONSE_BYTES: u64 = 16 << 20;

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            poll: PollOptions::default(),
        }
    }
}

impl ClientOptions {
    /// The defaults of a [`LedgerClient`]: the TAXII defaults, with a whole
    /// request bounded by 60 s and bodies by [`LEDGER_MAX_RESPONSE_BYTES`].
    pub fn ledger() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(60),
            max_response_bytes: LEDGER_MAX_RESPONSE_BYTES,
            ..ClientOptions::default()
        }
    }
}

/// How a status resource is polled until it is `complete`: the first wait is
/// `initial_delay`, each next one doubles up to `max_delay`, and polling
/// stops after `max_attempts` requests or once `max_wait` has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollOptions {
    /// The wait before the first poll.
    pub initial_delay: Duration,
    /// The longest wait between two polls.
    pub max_delay: Duration,
    /// The most status requests.
    pub max_attempts: u32,
    /// The longest total wait.
    pub max_wait: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            max_attempts: 100,
            max_wait: Duration::from_secs(120),
        }
    }
}
