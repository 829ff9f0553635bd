//! The node's configuration: one TOML file (`accord.toml`), and [`load`],
//! the one place every workflow that needs it (serve, init, ledger, sync)
//! reads and parses it.
//!
//! ```toml
//! listen = "127.0.0.1:8470"
//! data_dir = "accord-data"
//! title = "Accord node"
//!
//! [limits]
//! max_page_size = 5000
//! max_content_length = 104857600
//!
//! [[api_roots]]
//! name = "api1"
//! title = "Threat intelligence"
//!
//! [[api_roots.collections]]
//! id = "8f3c6a0e-1b2d-4e5f-9a7b-0c1d2e3f4a5b"
//! store_name = "default"
//! title = "Indicators"
//!
//! [[accounts]]
//! name = "analyst"
//! password_hash = "$argon2id$v=19$..."
//! read = ["*"]
//! write = ["8f3c6a0e-1b2d-4e5f-9a7b-0c1d2e3f4a5b"]
//! ```

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML does not parse or has the wrong shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// toml's description, with line and column.
        message: String,
    },
    /// The file parses but says something impossible.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Data directory (the store).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The server's title in discovery.
    #[serde(default = "default_title")]
    pub title: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// API roots, in order; the first is the default.
    pub api_roots: Vec<ApiRootConfig>,
    /// Accounts.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// TLS: when set, the node serves HTTPS only.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Set by `accord demo`: the node carries well-known demo credentials
    /// and refuses to listen anywhere but loopback.
    #[serde(default)]
    pub demo: bool,
    /// The transparency log: its key and origin.
    #[serde(default)]
    pub ledger: LedgerConfig,
    /// Partner nodes: what flows to and from each under its agreement,
    /// how this node syncs with it, and whose logs it witnesses and audits.
    #[serde(default)]
    pub partners: Vec<PartnerConfig>,
    /// What this node's law says may not leave, or only reduced.
    #[serde(default)]
    pub residency: accord_policy::Residency,
    /// The hotline: deadlines by severity, a webhook
    /// ([`crate::hotline::HotlineConfig`]).
    #[serde(default)]
    pub hotline: crate::hotline::HotlineConfig,
    /// Several node processes serving one jurisdiction over one
    /// PostgreSQL database (`[cluster]`); absent: the embedded SQLite
    /// store in `data_dir`.
    #[serde(default)]
    pub cluster: Option<ClusterConfig>,
}

/// `[cluster]`: this process is one of several serving one jurisdiction,
/// all over one PostgreSQL database. Objects, the log, sync state and
/// cases live there; the ledger key, warninglists and match indexes stay
/// in `data_dir` (shared by the processes of one machine; copy
/// `ledger.key` to every machine: all processes sign for the same log).
///
/// ```toml
/// [cluster]
/// name = "node-a"                      # unique in the cluster
/// postgres_env = "ACCORD_POSTGRES"     # or: postgres = "host=/run/postgresql dbname=accord"
/// url = "http://10.0.0.5:8470"         # how the other processes reach this one
/// nats = "nats://10.0.0.9:4222"        # optional
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// This process's name, unique in the cluster (letters, digits, `.`,
    /// `-`, `_`; at most 48 bytes): its row in `accord cluster status` and
    /// the holder of its leases. `<hostname>-<port>` when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// The PostgreSQL connection string (libpq `key=value` form or a
    /// `postgresql://` URL). Prefer `postgres_env` when it holds a
    /// password. Exactly one of `postgres` and `postgres_env` is given.
    #[serde(default)]
    pub postgres: Option<String>,
    /// The environment variable holding the connection string, so that no
    /// password sits in this file. Must be set (and non-empty) when named.
    #[serde(default)]
    pub postgres_env: Option<String>,
    /// The NATS JetStream server (`nats://host:port` or `tls://…`) for
    /// durable work; kept and shown by `accord cluster status`, optional.
    #[serde(default)]
    pub nats: Option<String>,
    /// How the other processes (and `accord cluster status`) reach this
    /// one: `http(s)://host:port`. From `listen` when absent.
    #[serde(default)]
    pub url: Option<String>,
}

/// Why `[cluster]` cannot be used at run time.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterConfigError {
    /// `[cluster] postgres_env` names a variable that is not set.
    #[error(
        "[cluster] postgres_env names ${0}, which is not set (or empty); export the connection string there"
    )]
    EnvMissing(String),
}

impl ClusterConfig {
    /// The longest process name.
    pub const MAX_NAME: usize = 48;

    /// This process's name: `name`, else `<hostname>-<port>` of `listen`.
    pub fn process_name(&self, listen: SocketAddr) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => {
                let host: String = host_name()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                    .take(Self::MAX_NAME - 6)
                    .collect();
                let host = if host.is_empty() { "host".into() } else { host };
                format!("{host}-{}", listen.port())
            }
        }
    }

    /// The connection string: `postgres`, or the value of `postgres_env`.
    ///
    /// # Errors
    /// [`ClusterConfigError::EnvMissing`] when the variable is not set.
    pub fn postgres_conn(&self) -> Result<String, ClusterConfigError> {
        if let Some(c) = &self.postgres {
            return Ok(c.clone());
        }
        let var = self.postgres_env.clone().unwrap_or_default();
        match std::env::var(&var) {
            Ok(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ClusterConfigError::EnvMissing(var)),
        }
    }

    /// How others reach this process: `url`, else from `listen` (an
    /// unspecified address such as 0.0.0.0 becomes this host's name).
    pub fn process_url(&self, listen: SocketAddr, tls: bool) -> String {
        if let Some(u) = &self.url {
            return u.trim_end_matches('/').to_owned();
        }
        let scheme = if tls { "https" } else { "http" };
        if listen.ip().is_unspecified() {
            format!("{scheme}://{}:{}", host_name(), listen.port())
        } else {
            format!("{scheme}://{listen}")
        }
    }

    fn check(&self) -> Result<(), String> {
        if let Some(n) = &self.name
            && (n.is_empty()
                || n.len() > Self::MAX_NAME
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
        {
            return Err(format!(
                "[cluster] name `{n}` must be 1 to {} letters, digits, `.`, `-` or `_`",
                Self::MAX_NAME
            ));
        }
        match (&self.postgres, &self.postgres_env) {
            (None, None) => {
                return Err(
                    "[cluster] needs `postgres` (a connection string) or `postgres_env` (the environment variable holding one)"
                        .into(),
                );
            }
            (Some(_), Some(_)) => {
                return Err("[cluster] has both `postgres` and `postgres_env`; keep one".into());
            }
            (Some(c), None) if c.trim().is_empty() => {
                return Err("[cluster] postgres is empty".into());
            }
            (None, Some(v))
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                return Err(format!(
                    "[cluster] postgres_env `{v}` is not an environment variable name (letters, digits, `_`)"
                ));
            }
            _ => {}
        }
        if let Some(u) = &self.nats {
            let rest = u
                .strip_prefix("nats://")
                .or_else(|| u.strip_prefix("tls://"));
            if rest.is_none_or(str::is_empty) {
                return Err(format!(
                    "[cluster] nats `{u}` must be a nats://host:port (or tls://host:port) URL"
                ));
            }
        }
        if let Some(u) = &self.url {
            let rest = u
                .strip_prefix("http://")
                .or_else(|| u.strip_prefix("https://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                return Err(format!(
                    "[cluster] url `{u}` must be an http:// or https:// URL with a host"
                ));
            }
        }
        Ok(())
    }
}

/// This machine's host name (Linux: the kernel's; else `$HOSTNAME`, else
/// `localhost`).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The node's transparency log.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// The log's origin (also its key's name), e.g. `accord.cert-a/log`;
    /// used when the key file is created. The key file's name wins.
    #[serde(default)]
    pub origin: Option<String>,
    /// The signer key file (C2SP signer key string, mode 0600);
    /// `DATA_DIR/ledger.key` by default.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// A partner node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerConfig {
    /// Its name: the `partner` of the `in` records of what it sends here.
    pub name: String,
    /// Its base URL (where `/ledger/checkpoint` is served), e.g.
    /// `https://taxii.partner.example/`.
    pub url: String,
    /// Its log's verifier key string (`accord ledger key` on its node).
    pub verifier_key: String,
    /// Its witness key string (cosignatures it returns); printed by
    /// `accord ledger key` on its node.
    #[serde(default)]
    pub witness_key: Option<String>,
    /// The account it uses on this node: the `partner` of this node's
    /// `out` records to it. Its `name` when absent.
    #[serde(default)]
    pub account: Option<String>,
    /// The account this node uses on it (password in $ACCORD_PASSWORD):
    /// the `partner` its `out` records to this node carry.
    #[serde(default)]
    pub user: Option<String>,
    /// The environment variable holding the password of `user` at this
    /// partner (e.g. `ACCORD_PASSWORD_EU`), so that a server syncing with
    /// several partners holds one secret per partner. Must be set when
    /// named. `$ACCORD_PASSWORD` when neither this nor `password_file` is
    /// given.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A file holding the password of `user` at this partner (its first
    /// line; e.g. a systemd credential or a mounted secret, mode 0600).
    /// Wins over `password_env`.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Its jurisdiction (ISO 3166-1 alpha-2, e.g. `DE`).
    #[serde(default)]
    pub jurisdiction: Option<String>,
    /// Its STIX identity id (`identity--…`, printed by `accord hotline
    /// whoami` on its node): the party of hotline cases with it.
    #[serde(default)]
    pub identity: Option<String>,
    /// The API root at the partner (its path segment, e.g. `api1`).
    #[serde(default)]
    pub api_root: Option<String>,
    /// What this node sends it.
    #[serde(default)]
    pub outbound: accord_policy::Outbound,
    /// What this node accepts from it.
    #[serde(default)]
    pub inbound: accord_policy::Inbound,
    /// How this node syncs with it.
    #[serde(default)]
    pub sync: PartnerSync,
}

/// How a node syncs with one partner (`[partners.sync]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSync {
    /// Collection ids at the partner this node pulls from.
    #[serde(default)]
    pub pull: Vec<String>,
    /// The collection id at the partner this node pushes into (POST).
    #[serde(default)]
    pub push: Option<String>,
    /// The local collection (store name) where what the partner sends is
    /// kept: pulled objects, and what it POSTs. `from-NAME` when absent.
    #[serde(default)]
    pub into: Option<String>,
    /// Seconds between two sync rounds in `accord serve` (0: no scheduler
    /// for this partner).
    #[serde(default = "default_sync_interval")]
    pub interval_secs: u64,
    /// Objects asked for per page when pulling (the partner answers at most
    /// its own `max_page_size`); 5000 when absent. Larger pages mean fewer
    /// requests and fewer, larger commits on both sides: with pages of
    /// 1,000 a sync of 1,000,000 objects ran at 0.29 of this node's own
    /// ingest rate, with 5,000 at 0.54–0.56 (BENCHMARKS.md).
    #[serde(default)]
    pub page_size: Option<usize>,
    /// Seconds between two witnessings of the partner's log by the
    /// scheduler when nothing moved (300 when absent): a round that pulled
    /// or pushed anything witnesses at once, an idle one only once this
    /// long has passed, so an idle partner costs one small request per
    /// interval. `accord sync --once` always witnesses.
    #[serde(default = "default_witness_interval")]
    pub witness_interval_secs: u64,
}

impl Default for PartnerSync {
    fn default() -> PartnerSync {
        PartnerSync {
            pull: Vec::new(),
            push: None,
            into: None,
            interval_secs: default_sync_interval(),
            page_size: None,
            witness_interval_secs: default_witness_interval(),
        }
    }
}

fn default_sync_interval() -> u64 {
    60
}

fn default_witness_interval() -> u64 {
    300
}

impl PartnerConfig {
    /// The agreement with this partner, both directions.
    pub fn agreement(&self) -> accord_policy::Agreement {
        accord_policy::Agreement {
            outbound: self.outbound.clone(),
            inbound: self.inbound.clone(),
        }
    }

    /// The local collection where what it sends is kept.
    pub fn received_collection(&self) -> String {
        self.sync
            .into
            .clone()
            .unwrap_or_else(|| format!("from-{}", self.name))
    }
}

/// The node's certificate and key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Limits on requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest `limit` honoured on a page (larger ones are lowered to this).
    #[serde(default = "default_max_page")]
    pub max_page_size: usize,
    /// Page size when the client gives no `limit`.
    #[serde(default = "default_page")]
    pub default_page_size: usize,
    /// A page of objects ends once their JSON reaches this many bytes (the
    /// object that reaches it is its last; `more` is then true), whatever
    /// its `limit`: objects are up to `stix_max_object_bytes` each, so
    /// without it a page of large objects stored by a partner would be
    /// read whole into memory. 32 MiB when absent.
    #[serde(default = "default_max_page_bytes")]
    pub max_page_bytes: usize,
    /// Largest request body, in bytes (413 above).
    #[serde(default = "default_max_content")]
    pub max_content_length: u64,
    /// A request taking longer than this is answered 408/503 and dropped.
    #[serde(default = "default_timeout")]
    pub request_timeout_secs: u64,
    /// Requests served at once; more are answered at once with 503 and
    /// `Retry-After` (bounded memory and latency under load).
    #[serde(default = "default_concurrency")]
    pub max_concurrent_requests: usize,
    /// Connections open at once; more wait in the kernel's backlog.
    #[serde(default = "default_connections")]
    pub max_connections: usize,
    /// A connection that neither sends nor receives for this long is closed
    /// (at least `request_timeout_secs` + 5, so a request is answered first).
    #[serde(default = "default_idle")]
    pub idle_timeout_secs: u64,
    // -- Server limits against slow and abusive clients (issue 17). --
    /// Connections open at once from one client address (an IPv6 client
    /// is its /64); a new connection beyond this is closed at once, so one
    /// client cannot take every slot of `max_connections`.
    #[serde(default = "default_connections_per_address")]
    pub max_connections_per_address: usize,
    /// A request's line and headers must arrive within this many seconds
    /// of the connection being ready for it (opened, or the previous
    /// response sent), else the connection is closed: so this is also how
    /// long an idle keep-alive connection is kept.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Longest pause, in seconds, between two pieces of a request body;
    /// the whole request is still bounded by `request_timeout_secs`.
    #[serde(default = "default_body_read_timeout")]
    pub body_read_timeout_secs: u64,
    /// Largest request line and headers together, in bytes (431 above;
    /// at least 8192).
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: usize,
    /// Largest body of a POST to `/ledger/` (a cosigned checkpoint), in
    /// bytes (413 above).
    #[serde(default = "default_max_ledger_body")]
    pub max_ledger_body_length: usize,
    /// Largest body of any other request than a TAXII POST or a ledger
    /// POST (GET, DELETE: they take none), in bytes (413 above).
    #[serde(default = "default_max_other_body")]
    pub max_other_body_length: usize,
    /// Failed password logins allowed from one client address in a burst;
    /// beyond it, password checks from that address are answered 429 with
    /// `Retry-After` before argon2 runs. Credentials verified before
    /// (and bearer tokens) are never throttled.
    #[serde(default = "default_failed_logins_per_address")]
    pub failed_logins_per_address: u32,
    /// Failed password logins allowed for one account in a burst, from
    /// anywhere; beyond it, as for an address.
    #[serde(default = "default_failed_logins_per_account")]
    pub failed_logins_per_account: u32,
    /// One more failed login is allowed (per address and per account)
    /// every this many seconds once a burst is spent.
    #[serde(default = "default_failed_login_refill")]
    pub failed_login_refill_secs: u64,
    /// Password checks (argon2, deliberately slow) running at once;
    /// 0 means half the cores, at least one. Others wait their turn.
    #[serde(default)]
    pub max_concurrent_password_checks: usize,
    // -- Bounds on each STIX object received (issue 17): TAXII POST, pulls
    // from partners, `accord ingest`. Each object of a bundle or envelope
    // is held to them on its own. --
    /// Deepest nesting of JSON objects and arrays in one object, the
    /// object itself being 1 (at most 127, serde_json's own bound).
    #[serde(default = "default_stix_max_depth")]
    pub stix_max_depth: usize,
    /// Most members in one JSON object of an object.
    #[serde(default = "default_stix_max_members")]
    pub stix_max_members: usize,
    /// Most items in one array of an object.
    #[serde(default = "default_stix_max_array_items")]
    pub stix_max_array_items: usize,
    /// Longest string (or member name, or number text) in an object, in
    /// bytes.
    #[serde(default = "default_stix_max_string_bytes")]
    pub stix_max_string_bytes: usize,
    /// Largest object, in bytes of its JSON text.
    #[serde(default = "default_stix_max_object_bytes")]
    pub stix_max_object_bytes: usize,
    /// Longest STIX pattern of an indicator, in bytes. At most the
    /// default: matching and blocklists read stored indicators with the
    /// default pattern limits, so a larger pattern would be stored and
    /// then skipped by every reader.
    #[serde(default = "default_pattern_max_len")]
    pub pattern_max_len: usize,
    /// Deepest nesting of `[` and `(` in a pattern (at most the default,
    /// the deepest tree checked to fit a 2 MiB thread stack).
    #[serde(default = "default_pattern_max_depth")]
    pub pattern_max_depth: usize,
    /// Most comparisons (and qualifiers, and `IN` members) in a pattern
    /// (at most the default, as for `pattern_max_depth`).
    #[serde(default = "default_pattern_max_comparisons")]
    pub pattern_max_comparisons: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_page_size: default_max_page(),
            default_page_size: default_page(),
            max_page_bytes: default_max_page_bytes(),
            max_content_length: default_max_content(),
            request_timeout_secs: default_timeout(),
            max_concurrent_requests: default_concurrency(),
            max_connections: default_connections(),
            idle_timeout_secs: default_idle(),
            max_connections_per_address: default_connections_per_address(),
            header_read_timeout_secs: default_header_read_timeout(),
            body_read_timeout_secs: default_body_read_timeout(),
            max_header_bytes: default_max_header_bytes(),
            max_ledger_body_length: default_max_ledger_body(),
            max_other_body_length: default_max_other_body(),
            failed_logins_per_address: default_failed_logins_per_address(),
            failed_logins_per_account: default_failed_logins_per_account(),
            failed_login_refill_secs: default_failed_login_refill(),
            max_concurrent_password_checks: 0,
            stix_max_depth: default_stix_max_depth(),
            stix_max_members: default_stix_max_members(),
            stix_max_array_items: default_stix_max_array_items(),
            stix_max_string_bytes: default_stix_max_string_bytes(),
            stix_max_object_bytes: default_stix_max_object_bytes(),
            pattern_max_len: default_pattern_max_len(),
            pattern_max_depth: default_pattern_max_depth(),
            pattern_max_comparisons: default_pattern_max_comparisons(),
        }
    }
}

impl Limits {
    /// The bounds every object received is held to while it is parsed
    /// (the `stix_*` and `pattern_*` keys), for
    /// [`crate::exchange::Exchange::with_limits`].
    pub fn input(&self) -> crate::limits::InputLimits {
        crate::limits::InputLimits {
            json: accord_stix::JsonLimits {
                max_depth: self.stix_max_depth,
                max_members: self.stix_max_members,
                max_array_items: self.stix_max_array_items,
                max_string_bytes: self.stix_max_string_bytes,
                max_object_bytes: self.stix_max_object_bytes,
            },
            pattern: accord_pattern::Limits {
                max_len: self.pattern_max_len,
                max_depth: self.pattern_max_depth,
                max_comparisons: self.pattern_max_comparisons,
            },
        }
    }

    /// The server limits that would leave the node unable to serve: a
    /// zero bound or timeout, or headers too small for a real request;
    /// and input bounds that are zero or beyond what can be honoured.
    fn check(&self) -> Result<(), String> {
        let l = self;
        for (name, v, most) in [
            (
                "stix_max_depth",
                l.stix_max_depth,
                accord_stix::JsonLimits::MAX_DEPTH,
            ),
            ("stix_max_members", l.stix_max_members, usize::MAX),
            ("stix_max_array_items", l.stix_max_array_items, usize::MAX),
            ("stix_max_string_bytes", l.stix_max_string_bytes, usize::MAX),
            ("stix_max_object_bytes", l.stix_max_object_bytes, usize::MAX),
            (
                "pattern_max_len",
                l.pattern_max_len,
                accord_pattern::Limits::DEFAULT_MAX_LEN,
            ),
            (
                "pattern_max_depth",
                l.pattern_max_depth,
                accord_pattern::Limits::DEFAULT_MAX_DEPTH,
            ),
            (
                "pattern_max_comparisons",
                l.pattern_max_comparisons,
                accord_pattern::Limits::DEFAULT_MAX_COMPARISONS,
            ),
        ] {
            if v == 0 {
                return Err(format!("[limits] {name} must be at least 1"));
            }
            if v > most {
                return Err(format!("[limits] {name} is {v}; it may be at most {most}"));
            }
        }
        for (name, v) in [
            ("max_concurrent_requests", l.max_concurrent_requests as u64),
            ("max_connections", l.max_connections as u64),
            (
                "max_connections_per_address",
                l.max_connections_per_address as u64,
            ),
            ("request_timeout_secs", l.request_timeout_secs),
            ("header_read_timeout_secs", l.header_read_timeout_secs),
            ("body_read_timeout_secs", l.body_read_timeout_secs),
            ("failed_login_refill_secs", l.failed_login_refill_secs),
            (
                "failed_logins_per_address",
                u64::from(l.failed_logins_per_address),
            ),
            (
                "failed_logins_per_account",
                u64::from(l.failed_logins_per_account),
            ),
        ] {
            if v == 0 {
                return Err(format!("[limits] {name} must be at least 1"));
            }
        }
        if l.max_header_bytes < 8192 {
            return Err(format!(
                "[limits] max_header_bytes is {}; it must be at least 8192",
                l.max_header_bytes
            ));
        }
        Ok(())
    }
}

/// One API root.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiRootConfig {
    /// Its path segment: the root is served at `/{name}/`.
    pub name: String,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its collections.
    #[serde(default)]
    pub collections: Vec<CollectionConfig>,
}

/// One collection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionConfig {
    /// Its UUID (the TAXII collection id).
    pub id: String,
    /// The collection's name in the store (what `accord ingest --collection` takes);
    /// the id when absent.
    #[serde(default)]
    pub store_name: Option<String>,
    /// Short name usable in URLs in place of the id.
    #[serde(default)]
    pub alias: Option<String>,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

impl CollectionConfig {
    /// The collection's name in the store.
    pub fn store_name(&self) -> &str {
        self.store_name.as_deref().unwrap_or(&self.id)
    }
}

/// One account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// User name (HTTP Basic).
    pub name: String,
    /// argon2 PHC string of the password (`accord init` writes one).
    #[serde(default)]
    pub password_hash: Option<String>,
    /// SHA-256 (hex) of bearer tokens this account accepts.
    #[serde(default)]
    pub token_sha256: Vec<String>,
    /// Collection ids it may read; `*` for all.
    #[serde(default)]
    pub read: Vec<String>,
    /// Collection ids it may write; `*` for all.
    #[serde(default)]
    pub write: Vec<String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8470))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("accord-data")
}
fn default_title() -> String {
    "Accord node".to_owned()
}
fn default_max_page() -> usize {
    5000
}
fn default_page() -> usize {
    100
}
fn default_max_page_bytes() -> usize {
    32 << 20
}
fn default_max_content() -> u64 {
    100 << 20
}
fn default_timeout() -> u64 {
    30
}
fn default_concurrency() -> usize {
    512
}
fn default_connections() -> usize {
    4096
}
fn default_idle() -> u64 {
    90
}
fn default_connections_per_address() -> usize {
    256
}
fn default_header_read_timeout() -> u64 {
    10
}
fn default_body_read_timeout() -> u64 {
    10
}
fn default_max_header_bytes() -> usize {
    32 * 1024
}
fn default_max_ledger_body() -> usize {
    8 * 1024
}
fn default_max_other_body() -> usize {
    4 * 1024
}
fn default_failed_logins_per_address() -> u32 {
    10
}
fn default_failed_logins_per_account() -> u32 {
    30
}
fn default_failed_login_refill() -> u64 {
    6
}
fn default_stix_max_depth() -> usize {
    accord_stix::JsonLimits::DEFAULT_MAX_DEPTH
}
fn default_stix_max_members() -> usize {
    accord_stix::JsonLimits::DEFAULT_MAX_MEMBERS
}
fn default_stix_max_array_items() -> usize {
    accord_stix::JsonLimits::DEFAULT_MAX_ARRAY_ITEMS
}
fn default_stix_max_string_bytes() -> usize {
    accord_stix::JsonLimits::DEFAULT_MAX_STRING_BYTES
}
fn default_stix_max_object_bytes() -> usize {
    accord_stix::JsonLimits::DEFAULT_MAX_OBJECT_BYTES
}
fn default_pattern_max_len() -> usize {
    accord_pattern::Limits::DEFAULT_MAX_LEN
}
fn default_pattern_max_depth() -> usize {
    accord_pattern::Limits::DEFAULT_MAX_DEPTH
}
fn default_pattern_max_comparisons() -> usize {
    accord_pattern::Limits::DEFAULT_MAX_COMPARISONS
}

impl Config {
    /// Parses and checks a configuration; `path` only names it in errors.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and what is wrong (toml reports line and column).
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        c.check(path)?;
        Ok(c)
    }

    fn check(&self, path: &str) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if self.api_roots.is_empty() {
            return Err(bad("at least one [[api_roots]] is needed".into()));
        }
        let mut ids = std::collections::HashSet::new();
        for root in &self.api_roots {
            if root.name.is_empty()
                || !root
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(bad(format!(
                    "api root name `{}` must be letters, digits, `-` or `_` (it is a URL path segment)",
                    root.name
                )));
            }
            if root.name == "taxii2" {
                return Err(bad(
                    "`taxii2` is the discovery path; name the api root otherwise".into(),
                ));
            }
            for c in &root.collections {
                if uuid::Uuid::parse_str(&c.id).is_err() {
                    return Err(bad(format!("collection id `{}` is not a UUID", c.id)));
                }
                if !ids.insert(c.id.clone()) {
                    return Err(bad(format!("collection id `{}` appears twice", c.id)));
                }
            }
        }
        if self.limits.max_page_size == 0
            || self.limits.default_page_size == 0
            || self.limits.max_page_bytes == 0
        {
            return Err(bad("page sizes must be at least 1".into()));
        }
        self.limits.check().map_err(bad)?;
        if let Some(c) = &self.cluster {
            c.check().map_err(bad)?;
        }
        for a in &self.accounts {
            if a.password_hash.is_none() && a.token_sha256.is_empty() {
                return Err(bad(format!(
                    "account `{}` has neither a password_hash nor a token",
                    a.name
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    const MIN: &str = r#"
[[api_roots]]
name = "api1"
title = "Root"
[[api_roots.collections]]
id = "8f3c6a0e-1b2d-4e5f-9a7b-0c1d2e3f4a5b"
title = "Indicators"
"#;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::parse(MIN, "t.toml").unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8470");
        assert_eq!(c.limits.max_page_size, 5000);
        assert_eq!(
            c.api_roots[0].collections[0].store_name(),
            "8f3c6a0e-1b2d-4e5f-9a7b-0c1d2e3f4a5b"
        );
    }

    #[test]
    fn errors_name_the_file_and_the_fault() {
        let e = Config::parse("listen = 3", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:"), "{e}");
        let e = Config::parse(
            &MIN.replace("8f3c6a0e-1b2d-4e5f-9a7b-0c1d2e3f4a5b", "nope"),
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`nope` is not a UUID"), "{e}");
        let e = Config::parse(&format!("{MIN}\nbogus = 1\n"), "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bogus"), "{e}");
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadConfigError {
    /// The file could not be read.
    #[error("reading {path} (write one with `accord init`): {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file does not parse or says something impossible; the message
    /// names the file, and the line and column where toml gives them.
    #[error(transparent)]
    Parse(#[from] ConfigError),
}

/// Reads and parses the configuration file at `path`.
///
/// # Errors
/// [`LoadConfigError::Read`] when the file cannot be read,
/// [`LoadConfigError::Parse`] when it is not a valid configuration; both
/// name the file.
pub fn load(path: &Path) -> Result<Config, LoadConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(Config::parse(&text, &path.display().to_string())?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A small valid configuration.
    pub(crate) const MINIMAL: &str =
        "data_dir = \"d\"\n[[api_roots]]\nname = \"api1\"\ntitle = \"t\"\n";

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let e = load(&missing).unwrap_err().to_string();
        assert!(e.contains("nope.toml") && e.contains("accord init"), "{e}");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "listen = [").unwrap();
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.toml"), "{e}");
    }

    #[test]
    fn reads_a_minimal_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("accord.toml");
        std::fs::write(&p, MINIMAL).unwrap();
        let c = load(&p).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("d"));
    }

    #[test]
    fn input_limits_have_defaults_and_bounds() {
        let c = Config::parse(MINIMAL, "l.toml").unwrap();
        assert_eq!(c.limits.input(), crate::limits::InputLimits::default());
        let with = |extra: &str| Config::parse(&format!("{MINIMAL}[limits]\n{extra}\n"), "l.toml");
        let c =
            with("stix_max_depth = 100\nstix_max_string_bytes = 4194304\npattern_max_depth = 10")
                .unwrap();
        let i = c.limits.input();
        assert_eq!((i.json.max_depth, i.json.max_string_bytes), (100, 4 << 20));
        assert_eq!(i.pattern.max_depth, 10);
        for (bad, says) in [
            (
                "stix_max_depth = 128",
                "stix_max_depth is 128; it may be at most 127",
            ),
            (
                "stix_max_members = 0",
                "stix_max_members must be at least 1",
            ),
            (
                "pattern_max_comparisons = 501",
                "pattern_max_comparisons is 501; it may be at most 500",
            ),
        ] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn server_limits_have_defaults_and_refuse_what_cannot_serve() {
        let c = Config::parse(MINIMAL, "m.toml").unwrap();
        assert_eq!(c.limits.max_connections_per_address, 256);
        assert_eq!(c.limits.header_read_timeout_secs, 10);
        assert_eq!(c.limits.max_ledger_body_length, 8192);
        assert_eq!(c.limits.failed_logins_per_address, 10);
        let with = |extra: &str| Config::parse(&format!("{MINIMAL}[limits]\n{extra}\n"), "l.toml");
        let c = with("max_connections_per_address = 8\nfailed_login_refill_secs = 2").unwrap();
        assert_eq!(c.limits.max_connections_per_address, 8);
        assert_eq!(c.limits.failed_login_refill_secs, 2);
        let e = with("header_read_timeout_secs = 0")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("l.toml") && e.contains("header_read_timeout_secs"),
            "{e}"
        );
        let e = with("max_header_bytes = 100").unwrap_err().to_string();
        assert!(e.contains("max_header_bytes is 100"), "{e}");
        let e = with("max_conections_per_address = 8")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("max_conections_per_address"),
            "unknown keys refused: {e}"
        );
    }

    #[test]
    fn cluster_section_defaults_and_errors_name_the_key() {
        let with = |extra: &str| Config::parse(&format!("{MINIMAL}[cluster]\n{extra}\n"), "c.toml");
        assert!(Config::parse(MINIMAL, "c.toml").unwrap().cluster.is_none());
        let c = with("postgres = \"host=/tmp dbname=accord\"\nnats = \"nats://127.0.0.1:4222\"")
            .unwrap();
        let cl = c.cluster.unwrap();
        let listen: SocketAddr = "127.0.0.1:8481".parse().unwrap();
        let name = cl.process_name(listen);
        assert!(name.ends_with("-8481") && name.len() > 5, "{name}");
        assert_eq!(cl.process_url(listen, false), "http://127.0.0.1:8481");
        assert_eq!(cl.postgres_conn().unwrap(), "host=/tmp dbname=accord");
        let cl = with("name = \"a-1\"\npostgres = \"x\"\nurl = \"https://n1.example:443/\"")
            .unwrap()
            .cluster
            .unwrap();
        assert_eq!(cl.process_name(listen), "a-1");
        assert_eq!(cl.process_url(listen, false), "https://n1.example:443");
        for (bad, says) in [
            ("name = \"x\"", "needs `postgres`"),
            (
                "postgres = \"x\"\npostgres_env = \"Y\"",
                "both `postgres` and `postgres_env`",
            ),
            ("postgres = \"x\"\nname = \"a b\"", "[cluster] name `a b`"),
            (
                "postgres = \"x\"\nnats = \"http://x\"",
                "[cluster] nats `http://x`",
            ),
            (
                "postgres = \"x\"\nurl = \"127.0.0.1:80\"",
                "[cluster] url `127.0.0.1:80`",
            ),
            ("postgres_env = \"A-B\"", "[cluster] postgres_env `A-B`"),
            ("postgres = \"x\"\nbogus = 1", "bogus"),
        ] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains("c.toml") && e.contains(says), "{bad}: {e}");
        }
        let cl = with("postgres_env = \"ACCORD_TEST_UNSET_PG_VAR\"")
            .unwrap()
            .cluster
            .unwrap();
        let e = cl.postgres_conn().unwrap_err().to_string();
        assert!(e.contains("$ACCORD_TEST_UNSET_PG_VAR"), "{e}");
    }
}
