//! TAXII 2.1 resources (OASIS TAXII 2.1, §4–§5) as the server writes them,
//! and the media types it speaks.

use serde::Serialize;

/// The TAXII media type (TAXII 2.1 §1.6.8.1).
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The STIX media type of objects in a collection.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// Discovery resource (§4.1.1).
#[derive(Debug, Serialize)]
pub struct Discovery {
    /// Human-readable name of the server.
    pub title: String,
    /// What the server is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The default API root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// URLs of the API roots.
    pub api_roots: Vec<String>,
}

/// API root resource (§4.2.1).
#[derive(Debug, Serialize)]
pub struct ApiRoot {
    /// Name.
    pub title: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// TAXII versions served.
    pub versions: Vec<&'static str>,
    /// Largest request body accepted, in bytes.
    pub max_content_length: u64,
}

/// Collection resource (§5.2.1).
#[derive(Debug, Serialize)]
pub struct Collection {
    /// The collection's UUID.
    pub id: String,
    /// Name.
    pub title: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Short name usable in place of the id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Whether the caller may read objects.
    pub can_read: bool,
    /// Whether the caller may add objects.
    pub can_write: bool,
    /// Media types of the objects.
    pub media_types: Vec<&'static str>,
}

/// Collections resource (§5.1.1).
#[derive(Debug, Serialize)]
pub struct Collections {
    /// The collections the caller can see; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<Collection>,
}

/// One entry of a manifest (§5.3.1).
#[derive(Debug, Serialize)]
pub struct ManifestRecord {
    /// Object id.
    pub id: String,
    /// When the server added this version.
    pub date_added: String,
    /// The version (`modified`, else `created`).
    pub version: String,
    /// Media type of the object.
    pub media_type: &'static str,
}

/// Manifest resource (§5.3.1).
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// Whether more records follow.
    pub more: bool,
    /// Cursor for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The records.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ManifestRecord>,
}

/// Versions resource (§5.7.1).
#[derive(Debug, Serialize)]
pub struct Versions {
    /// Whether more versions follow.
    pub more: bool,
    /// Cursor for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The versions, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// One object's outcome in a status (§4.3.1, status-details).
#[derive(Debug, Clone, Serialize)]
pub struct StatusDetails {
    /// Object id.
    pub id: String,
    /// Object version.
    pub version: String,
    /// Why it failed, or a note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Status resource (§4.3.1).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The status id.
    pub id: String,
    /// `complete` or `pending`.
    pub status: &'static str,
    /// When the request arrived.
    pub request_timestamp: String,
    /// Objects in the request.
    pub total_count: u64,
    /// Objects stored (or already there).
    pub success_count: u64,
    /// Which.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successes: Vec<StatusDetails>,
    /// Objects refused.
    pub failure_count: u64,
    /// Which, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StatusDetails>,
    /// Objects still being processed.
    pub pending_count: u64,
    /// Which.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pendings: Vec<StatusDetails>,
}

/// Error message (§3.6.1).
#[derive(Debug, Serialize)]
pub struct ErrorMessage {
    /// Short summary.
    pub title: String,
    /// What was wrong, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The HTTP status.
    pub http_status: String,
}
