//! The TAXII 2.1 resources a client reads ([`Discovery`], [`ApiRoot`],
//! [`Collection`], pages, [`Status`], error messages) and the request
//! filters ([`Filter`]).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The filters of a TAXII 2.1 request (§3.4.1 and §3.5): every field that
/// is set becomes a URL parameter; lists are joined with commas (values in
/// a list are ORed, parameters are ANDed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `added_after`: only objects added strictly after this timestamp.
    pub added_after: Option<String>,
    /// `match[id]`.
    pub ids: Vec<String>,
    /// `match[type]`.
    pub types: Vec<String>,
    /// `match[version]`: `first`, `last`, `all` or timestamps.
    pub versions: Vec<String>,
    /// `match[spec_version]`.
    pub spec_versions: Vec<String>,
}

impl Filter {
    /// No filter: the server's defaults (the last version of every object).
    pub fn new() -> Filter {
        Filter::default()
    }

    /// With `added_after`.
    #[must_use]
    pub fn added_after(mut self, ts: impl Into<String>) -> Filter {
        self.added_after = Some(ts.into());
        self
    }

    /// With `match[id]`.
    #[must_use]
    pub fn ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Filter {
        self.ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// With `match[type]`.
    #[must_use]
    pub fn types<S: Into<String>>(mut self, types: impl IntoIterator<Item = S>) -> Filter {
        self.types = types.into_iter().map(Into::into).collect();
        self
    }

    /// With `match[version]`.
    #[must_use]
    pub fn versions<S: Into<String>>(mut self, versions: impl IntoIterator<Item = S>) -> Filter {
        self.versions = versions.into_iter().map(Into::into).collect();
        self
    }

    /// With `match[spec_version]`.
    #[must_use]
    pub fn spec_versions<S: Into<String>>(mut self, specs: impl IntoIterator<Item = S>) -> Filter {
        self.spec_versions = specs.into_iter().map(Into::into).collect();
        self
    }

    /// The URL parameters, in a fixed order, without `limit` and `next`.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(a) = &self.added_after {
            out.push(("added_after", a.clone()));
        }
        for (name, list) in [
            ("match[id]", &self.ids),
            ("match[type]", &self.types),
            ("match[version]", &self.versions),
            ("match[spec_version]", &self.spec_versions),
        ] {
            if !list.is_empty() {
                out.push((name, list.join(",")));
            }
        }
        out
    }
}

/// The discovery resource (§4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Discovery {
    /// `title`.
    pub title: String,
    /// `description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `contact`.
    #[serde(default)]
    pub contact: Option<String>,
    /// `default`: the URL of the default API root.
    #[serde(default)]
    pub default: Option<String>,
    /// `api_roots`: their URLs.
    #[serde(default)]
    pub api_roots: Vec<String>,
}

/// The API root resource (§4.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ApiRoot {
    /// `title`.
    pub title: String,
    /// `description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `versions`: the TAXII media types it supports.
    #[serde(default)]
    pub versions: Vec<String>,
    /// `max_content_length`: the largest POST body, in bytes.
    #[serde(default)]
    pub max_content_length: u64,
}

/// A collection resource (§5.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Collection {
    /// `id`.
    pub id: String,
    /// `title`.
    pub title: String,
    /// `description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `alias`.
    #[serde(default)]
    pub alias: Option<String>,
    /// `can_read`: whether this account may read objects.
    pub can_read: bool,
    /// `can_write`: whether this account may add objects.
    pub can_write: bool,
    /// `media_types`.
    #[serde(default)]
    pub media_types: Vec<String>,
}

/// One page of objects: an envelope (§3.7) and the date headers (§3.4.2).
#[derive(Debug, Default)]
pub struct ObjectsPage {
    /// The objects, each as the exact JSON text the server sent.
    pub objects: Vec<Box<RawValue>>,
    /// `more`: whether the server has more objects for this query.
    pub more: bool,
    /// `next`: what to send as `next` for the following page.
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-First`: when the first object was added.
    pub date_added_first: Option<String>,
    /// `X-TAXII-Date-Added-Last`: when the last object was added, the
    /// `added_after` of an incremental read that starts after this page.
    pub date_added_last: Option<String>,
}

/// One manifest record (§5.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ManifestRecord {
    /// The object's `id`.
    pub id: String,
    /// When the server added this version.
    pub date_added: String,
    /// The version (`modified`, else `created`, else `date_added`).
    pub version: String,
    /// Its media type.
    #[serde(default)]
    pub media_type: Option<String>,
}

/// One page of a manifest (§5.3.1) with the date headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestPage {
    /// The records.
    pub objects: Vec<ManifestRecord>,
    /// `more`.
    pub more: bool,
    /// `next`.
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-First`.
    pub date_added_first: Option<String>,
    /// `X-TAXII-Date-Added-Last`.
    pub date_added_last: Option<String>,
}

/// One page of an object's versions (§5.8.1) with the date headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionsPage {
    /// The versions, as the server lists them.
    pub versions: Vec<String>,
    /// `more`.
    pub more: bool,
    /// `next`.
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-First`.
    pub date_added_first: Option<String>,
    /// `X-TAXII-Date-Added-Last`.
    pub date_added_last: Option<String>,
}

/// The status resource of a POST (§4.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Status {
    /// `id`: where to poll, `{api_root}/status/{id}/`.
    pub id: String,
    /// `status`: `pending` or `complete`.
    pub status: String,
    /// `request_timestamp`.
    #[serde(default)]
    pub request_timestamp: Option<String>,
    /// `total_count`.
    pub total_count: u64,
    /// `success_count`.
    pub success_count: u64,
    /// `failure_count`.
    pub failure_count: u64,
    /// `pending_count`.
    pub pending_count: u64,
    /// `successes`.
    #[serde(default)]
    pub successes: Vec<StatusDetails>,
    /// `failures`, each with the server's reason.
    #[serde(default)]
    pub failures: Vec<StatusDetails>,
    /// `pendings`.
    #[serde(default)]
    pub pendings: Vec<StatusDetails>,
}

impl Status {
    /// Whether the server has finished with every object.
    pub fn is_complete(&self) -> bool {
        self.status == "complete"
    }
}

/// One object in a [`Status`] (§4.3.1, status-details).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct StatusDetails {
    /// The object's `id`.
    pub id: String,
    /// Its version.
    pub version: String,
    /// Why it failed, or other words from the server.
    #[serde(default)]
    pub message: Option<String>,
}

/// A TAXII error message (§3.6.1), as a server sends it with a 4xx or 5xx.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TaxiiErrorMessage {
    /// `title`.
    pub title: String,
    /// `description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `error_id`.
    #[serde(default)]
    pub error_id: Option<String>,
    /// `error_code`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// `http_status` (a string in the specification; some servers send a
    /// number).
    #[serde(default, deserialize_with = "string_or_number")]
    pub http_status: Option<String>,
    /// `external_details`.
    #[serde(default)]
    pub external_details: Option<String>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Reads a TAXII error message from an error response's body, when it is one.
pub fn parse_error_message(body: &[u8]) -> Option<TaxiiErrorMessage> {
    serde_json::from_slice(body).ok()
}
