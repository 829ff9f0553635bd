//! The node's transparency log over HTTP, and the partner side of it.
//!
//! - Keys: the node's log key (Ed25519, C2SP signed-note signer key) and
//!   its witness key (`cosignature/v1`), one per line in the key file
//!   (`DATA_DIR/ledger.key`, mode 0600), created by `accord init` / `accord
//!   demo` or on first start. The log's origin is the log key's name.
//! - Checkpoints are signed on demand: the latest one is signed when the
//!   log has grown since the last one, kept in the store, and served with
//!   the partners' cosignatures on it appended.
//! - Endpoints (any authenticated account, like TAXII reads):
//!   `GET /ledger/checkpoint`, `GET /ledger/tile/<L>/<N>[.p/<W>]`,
//!   `GET /ledger/tile/entries/<N>[.p/<W>]` (C2SP tlog-tiles),
//!   `GET /ledger/proof/inclusion?index=&size=`,
//!   `GET /ledger/proof/consistency?first=&second=` (JSON), and
//!   `POST /ledger/cosignature` (a partner returns its cosigned note).
//! - Witnessing ([`witness_partner`]) and auditing ([`audit_partner`]) a
//!   partner's log, run by `accord sync` and `accord ledger audit`.
//! - Objects sent are logged as `out` records before the response leaves
//!   (`server::log_sent`, through one appending thread).

use crate::client::Auth;
use crate::config::{Config, PartnerConfig};
use crate::error::ApiError;
use crate::server::AppState;
use accord_ledger::{
    Checkpoint, Direction, ExchangeRecord, Hash, LogSigner, LogVerifier, SignedCheckpoint, Tile,
    TiledReader, WitnessOutcome, WitnessSigner, WitnessVerifier, verify_consistency,
    witness_checkpoint,
};
use accord_store::{SqliteStore, StoreError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "ledger.key";

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The key file cannot be read, written or parsed.
    #[error("ledger key {path}: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A format or proof check failed.
    #[error(transparent)]
    Ledger(#[from] accord_ledger::Error),
    /// A partner's node could not be asked or answered nonsense.
    #[error("{url}: {reason}")]
    Remote {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// This node's own log contradicts a checkpoint it signed.
    #[error("{0}")]
    Inconsistent(String),
}

/// The node's keys: its log's signer and its witness signer.
#[derive(Debug, Clone)]
pub struct LedgerKeys {
    /// Signs this node's checkpoints; its name is the log's origin.
    pub log: LogSigner,
    /// Cosigns partners' checkpoints.
    pub witness: WitnessSigner,
}

/// The default origin of a node named `name`.
pub fn default_origin(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("accord.{clean}/log")
}

fn witness_name(origin: &str) -> String {
    format!("{}/witness", origin.strip_suffix("/log").unwrap_or(origin))
}

/// Where the key file of a node with this configuration is.
pub fn key_path(config: &Config) -> PathBuf {
    config
        .ledger
        .key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(KEY_FILE))
}

impl LedgerKeys {
    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.log.name()
    }

    /// Reads the key file.
    ///
    /// # Errors
    /// [`LedgerError::Key`].
    pub fn load(path: &FsPath) -> Result<LedgerKeys, LedgerError> {
        let bad = |reason: String| LedgerError::Key {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let log = LogSigner::from_signer_key(lines.next().unwrap_or("").trim())
            .map_err(|e| bad(format!("line 1: {e}")))?;
        let witness = WitnessSigner::from_signer_key(lines.next().unwrap_or("").trim())
            .map_err(|e| bad(format!("line 2: {e}")))?;
        Ok(LedgerKeys { log, witness })
    }

    /// Creates new keys for `origin` and writes them (mode 0600); refuses
    /// to overwrite a key file.
    ///
    /// # Errors
    /// [`LedgerError::Key`].
    pub fn create(path: &FsPath, origin: &str) -> Result<LedgerKeys, LedgerError> {
        let bad = |reason: String| LedgerError::Key {
            path: path.to_owned(),
            reason,
        };
        let mut seeds = [0u8; 64];
        getrandom::getrandom(&mut seeds).map_err(|e| bad(format!("no randomness: {e}")))?;
        let (a, b) = seeds.split_at(32);
        let log = LogSigner::from_seed(origin, a.try_into().unwrap_or(&[0; 32]))
            .map_err(|e| bad(e.to_string()))?;
        let witness =
            WitnessSigner::from_seed(&witness_name(origin), b.try_into().unwrap_or(&[0; 32]))
                .map_err(|e| bad(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(|e| bad(e.to_string()))?;
        let text = format!("{}\n{}\n", log.signer_key(), witness.signer_key());
        std::io::Write::write_all(&mut f, text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| bad(e.to_string()))?;
        Ok(LedgerKeys { log, witness })
    }

    /// Reads the key file, creating it for `origin` when it does not exist.
    ///
    /// # Errors
    /// [`LedgerError::Key`].
    pub fn load_or_create(path: &FsPath, origin: &str) -> Result<LedgerKeys, LedgerError> {
        if path.exists() {
            LedgerKeys::load(path)
        } else {
            LedgerKeys::create(path, origin)
        }
    }

    /// The keys of the node configured by `config` (created if missing).
    ///
    /// # Errors
    /// [`LedgerError::Key`].
    pub fn for_config(config: &Config) -> Result<LedgerKeys, LedgerError> {
        let origin = config
            .ledger
            .origin
            .clone()
            .unwrap_or_else(|| default_origin(&config.title));
        LedgerKeys::load_or_create(&key_path(config), &origin)
    }
}

/// The signature lines (`— name base64`) of a signed note.
fn signature_lines(note: &str) -> Vec<&str> {
    match note.rfind("\n\n") {
        Some(i) => note[i + 2..]
            .lines()
            .filter(|l| l.starts_with("\u{2014} "))
            .collect(),
        None => Vec::new(),
    }
}

/// The (name, key id) of a signature line.
fn line_key(line: &str) -> Option<(&str, u32)> {
    let rest = line.strip_prefix("\u{2014} ")?;
    let (name, sig) = rest.split_once(' ')?;
    let bytes = B64.decode(sig.trim()).ok()?;
    let id = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    Some((name, id))
}

/// The latest signed checkpoint of this node's log: signed now if the log
/// grew since the last one (Ed25519 is deterministic, so signing a size
/// twice gives the same note). Returns the checkpoint as signed.
///
/// # Errors
/// [`LedgerError`]; [`LedgerError::Inconsistent`] when a checkpoint signed
/// earlier for this size has another root (the log was rewritten).
pub fn latest_checkpoint(
    store: &SqliteStore,
    keys: &LedgerKeys,
) -> Result<SignedCheckpoint, LedgerError> {
    let (size, root) = store.ledger_head()?;
    if let Some(note) = store.ledger_checkpoint_at(size)? {
        let cp = keys.log.verifier().open(&note, keys.origin())?;
        if cp.checkpoint.root != root {
            return Err(LedgerError::Inconsistent(format!(
                "the checkpoint signed for size {size} has root {}, the log now has {root}: the log was rewritten",
                cp.checkpoint.root
            )));
        }
        return Ok(cp);
    }
    let signed = keys
        .log
        .sign(&Checkpoint::new(keys.origin(), size, root)?)?;
    store.ledger_save_checkpoint(size, &signed.note)?;
    Ok(signed)
}

/// The checkpoint as served: the signed note with the cosignature lines
/// held for it appended.
///
/// # Errors
/// [`LedgerError`].
pub fn served_checkpoint(store: &SqliteStore, keys: &LedgerKeys) -> Result<Vec<u8>, LedgerError> {
    let cp = latest_checkpoint(store, keys)?;
    let mut note = cp.note;
    let have: HashSet<String> = signature_lines(&String::from_utf8_lossy(&note))
        .into_iter()
        .map(str::to_owned)
        .collect();
    for line in store.ledger_cosignatures(cp.checkpoint.size)? {
        if !have.contains(&line) {
            note.extend_from_slice(line.as_bytes());
            note.push(b'\n');
        }
    }
    Ok(note)
}

/// Keeps the cosignatures on `note` made by any of `witnesses` on one of
/// this node's own checkpoints; returns the witnesses' names.
///
/// # Errors
/// [`LedgerError`] when the note is not one of this log's checkpoints or
/// carries no valid cosignature of a known witness.
pub fn accept_cosignatures(
    store: &SqliteStore,
    keys: &LedgerKeys,
    note: &[u8],
    witnesses: &[WitnessVerifier],
) -> Result<Vec<String>, LedgerError> {
    let ours = keys.log.verifier().open(note, keys.origin())?;
    let size = ours.checkpoint.size;
    let Some(signed) = store.ledger_checkpoint_at(size)? else {
        return Err(LedgerError::Inconsistent(format!(
            "this node never signed a checkpoint of size {size}"
        )));
    };
    let held = keys.log.verifier().open(&signed, keys.origin())?;
    if held.checkpoint != ours.checkpoint {
        return Err(LedgerError::Inconsistent(format!(
            "the cosigned checkpoint of size {size} is not the one this node signed"
        )));
    }
    let text = String::from_utf8_lossy(note);
    let lines = signature_lines(&text);
    let mut accepted = Vec::new();
    for w in witnesses {
        if w.verify(note).is_err() {
            continue;
        }
        if let Some(line) = lines
            .iter()
            .find(|l| line_key(l) == Some((w.name(), w.key_id())))
        {
            store.ledger_add_cosignature(size, w.name(), w.key_id(), line)?;
            accepted.push(w.name().to_owned());
        }
    }
    if accepted.is_empty() {
        return Err(LedgerError::Inconsistent(
            "no valid cosignature by a configured partner's witness key".into(),
        ));
    }
    Ok(accepted)
}

/// The state the endpoints need: the keys (absent when the key file could
/// not be read: the endpoints then answer 503) and the partners' witness
/// keys.
pub struct LedgerState {
    keys: Option<LedgerKeys>,
    witnesses: Vec<WitnessVerifier>,
    /// Partner accounts: account name → partner name.
    partner_of: HashMap<String, String>,
    /// Serializes signing, so one size is signed once.
    sign: std::sync::Mutex<()>,
}

impl LedgerState {
    /// Loads the node's keys (created by `accord init`, `accord demo` or
    /// [`crate::serve`]; without them the checkpoint endpoints answer 503)
    /// and reads the partners' witness keys.
    pub fn new(config: &Config) -> LedgerState {
        let path = key_path(config);
        let keys = if path.exists() {
            match LedgerKeys::load(&path) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::error!("the ledger checkpoint endpoints are off: {e}");
                    None
                }
            }
        } else {
            None
        };
        let witnesses = config
            .partners
            .iter()
            .filter_map(|p| {
                let k = p.witness_key.as_deref()?;
                match WitnessVerifier::from_verifier_key(k) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::error!(partner = %p.name, "witness key: {e}");
                        None
                    }
                }
            })
            .collect();
        let partner_of = config
            .partners
            .iter()
            .map(|p| {
                (
                    p.account.clone().unwrap_or_else(|| p.name.clone()),
                    p.name.clone(),
                )
            })
            .collect();
        LedgerState {
            keys,
            witnesses,
            partner_of,
            sign: std::sync::Mutex::new(()),
        }
    }
}

impl LedgerState {
    /// The `partner` of records of exchanges with `account`: the partner's
    /// name when the account is a configured partner's, else the account.
    pub fn partner_label(&self, account: &str) -> String {
        self.partner_of
            .get(account)
            .cloned()
            .unwrap_or_else(|| account.to_owned())
    }
}

fn no_keys() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Ledger unavailable",
        "this node's ledger key could not be loaded; see its log".to_owned(),
    )
}

fn ledger_api_err(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Ledger(e) => {
            ApiError::new(StatusCode::BAD_REQUEST, "Bad ledger request", e.to_string())
        }
        LedgerError::Inconsistent(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Rejected", m)
        }
        e => ApiError::internal("the ledger", &e),
    }
}

/// The ledger routes (merged into the TAXII router).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/ledger/checkpoint", get(checkpoint))
        .route("/ledger/tile/{*path}", get(tile))
        .route("/ledger/proof/inclusion", get(inclusion))
        .route("/ledger/proof/consistency", get(consistency))
        .route("/ledger/cosignature", post(cosignature))
}

fn text(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

async fn checkpoint(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.authenticate(&headers).await?;
    let st = Arc::clone(&s);
    let note = s
        .read_ledger(move |store| {
            let l = &st.ledger;
            let keys = l.keys.as_ref().ok_or_else(no_keys)?;
            let _g = l
                .sign
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            served_checkpoint(store, keys).map_err(ledger_api_err)
        })
        .await?;
    Ok(text(note, "text/plain; charset=utf-8"))
}

async fn tile(
    State(s): State<Arc<AppState>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.authenticate(&headers).await?;
    let t = Tile::parse_path(&format!("tile/{path}"))
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    let bytes = s
        .read_ledger(move |store| {
            store
                .ledger_tile(&t)
                .map_err(|e| ApiError::internal("reading a tile", &e))
        })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("tile/{path} is beyond the log")))?;
    Ok(text(bytes, "application/octet-stream"))
}

/// `GET /ledger/proof/inclusion` answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct InclusionJson {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub tree_size: u64,
    /// Base64 leaf hash.
    pub leaf_hash: String,
    /// Base64 hashes.
    pub audit_path: Vec<String>,
}

/// `GET /ledger/proof/consistency` answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConsistencyJson {
    /// Older size.
    pub first: u64,
    /// Newer size.
    pub second: u64,
    /// Base64 hashes.
    pub consistency_path: Vec<String>,
}

/// The inclusion proof as JSON.
///
/// # Errors
/// [`StoreError`] (also for an index or size outside the log).
pub fn inclusion_json(
    store: &SqliteStore,
    index: u64,
    size: u64,
) -> Result<InclusionJson, StoreError> {
    let (leaf, path) = store.ledger_inclusion_proof(index, size)?;
    Ok(InclusionJson {
        index,
        tree_size: size,
        leaf_hash: leaf.to_base64(),
        audit_path: path.iter().map(Hash::to_base64).collect(),
    })
}

/// The consistency proof as JSON.
///
/// # Errors
/// [`StoreError`].
pub fn consistency_json(
    store: &SqliteStore,
    first: u64,
    second: u64,
) -> Result<ConsistencyJson, StoreError> {
    let path = store.ledger_consistency_proof(first, second)?;
    Ok(ConsistencyJson {
        first,
        second,
        consistency_path: path.iter().map(Hash::to_base64).collect(),
    })
}

fn json(body: &impl Serialize) -> Response {
    text(
        serde_json::to_vec(body).unwrap_or_default(),
        "application/json",
    )
}

fn num(q: &HashMap<String, String>, name: &str) -> Result<u64, ApiError> {
    q.get(name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::bad_request(format!("`{name}` must be a non-negative integer")))
}

async fn inclusion(
    State(s): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.authenticate(&headers).await?;
    let (index, size) = (num(&q, "index")?, num(&q, "size")?);
    let r = s
        .read_ledger(move |store| {
            if size
                > store
                    .ledger_size()
                    .map_err(|e| ApiError::internal("ledger", &e))?
                || index >= size
            {
                return Err(ApiError::bad_request(format!(
                    "no leaf {index} in a tree of size {size} of this log"
                )));
            }
            inclusion_json(store, index, size).map_err(|e| ApiError::internal("a proof", &e))
        })
        .await?;
    Ok(json(&r))
}

async fn consistency(
    State(s): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.authenticate(&headers).await?;
    let (first, second) = (num(&q, "first")?, num(&q, "second")?);
    let r = s
        .read_ledger(move |store| {
            if second
                > store
                    .ledger_size()
                    .map_err(|e| ApiError::internal("ledger", &e))?
                || first > second
            {
                return Err(ApiError::bad_request(format!(
                    "no consistency proof from {first} to {second} in this log"
                )));
            }
            consistency_json(store, first, second).map_err(|e| ApiError::internal("a proof", &e))
        })
        .await?;
    Ok(json(&r))
}

async fn cosignature(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    s.authenticate(&headers).await?;
    let st = Arc::clone(&s);
    let names = s
        .read_ledger(move |store| {
            let l = &st.ledger;
            let keys = l.keys.as_ref().ok_or_else(no_keys)?;
            accept_cosignatures(store, keys, &body, &l.witnesses).map_err(ledger_api_err)
        })
        .await?;
    Ok(json(&serde_json::json!({ "accepted": names })))
}

pub(crate) fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    accord_stix::Timestamp::from_unix(i64::try_from(d.as_secs()).unwrap_or(0), d.subsec_nanos())
        .format(6)
}

// ---------------------------------------------------------------------------
// The partner side: witnessing and auditing.

/// A small HTTP client for a partner's ledger endpoints.
pub struct LedgerClient {
    http: reqwest::Client,
    base: String,
    auth: Auth,
}

impl LedgerClient {
    /// A client for the node at `base_url`.
    ///
    /// # Errors
    /// [`LedgerError::Remote`].
    pub fn new(base_url: &str, auth: Auth) -> Result<LedgerClient, LedgerError> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| LedgerError::Remote {
                url: base_url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(LedgerClient {
            http,
            base: format!("{}/", base_url.trim_end_matches('/')),
            auth,
        })
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Auth::None => req,
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            Auth::Bearer(t) => req.bearer_auth(t),
        }
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        let remote = |reason: String| LedgerError::Remote {
            url: url.to_owned(),
            reason,
        };
        let res = self
            .auth(req)
            .send()
            .await
            .map_err(|e| remote(e.to_string()))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| remote(e.to_string()))?
            .to_vec();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(remote(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            )));
        }
        Ok(Some(body))
    }

    /// GETs `path` under `/ledger/` (`None` on 404).
    ///
    /// # Errors
    /// [`LedgerError::Remote`].
    pub async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        let url = format!("{}ledger/{path}", self.base);
        self.send(self.http.get(&url), &url).await
    }

    async fn must_get(&self, path: &str) -> Result<Vec<u8>, LedgerError> {
        self.get(path).await?.ok_or_else(|| LedgerError::Remote {
            url: format!("{}ledger/{path}", self.base),
            reason: "HTTP 404".into(),
        })
    }

    /// The partner's checkpoint as served.
    ///
    /// # Errors
    /// [`LedgerError::Remote`].
    pub async fn checkpoint(&self) -> Result<Vec<u8>, LedgerError> {
        self.must_get("checkpoint").await
    }

    /// A consistency proof from the partner.
    ///
    /// # Errors
    /// [`LedgerError::Remote`].
    pub async fn consistency(&self, first: u64, second: u64) -> Result<Vec<Hash>, LedgerError> {
        let body = self
            .must_get(&format!("proof/consistency?first={first}&second={second}"))
            .await?;
        let j: ConsistencyJson =
            serde_json::from_slice(&body).map_err(|e| LedgerError::Remote {
                url: format!("{}ledger/proof/consistency", self.base),
                reason: e.to_string(),
            })?;
        j.consistency_path
            .iter()
            .map(|h| Hash::from_base64(h).map_err(Into::into))
            .collect()
    }

    /// POSTs a cosigned checkpoint back.
    ///
    /// # Errors
    /// [`LedgerError::Remote`].
    pub async fn post_cosignature(&self, note: &[u8]) -> Result<(), LedgerError> {
        let url = format!("{}ledger/cosignature", self.base);
        self.send(
            self.http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(note.to_vec()),
            &url,
        )
        .await?
        .map(|_| ())
        .ok_or_else(|| LedgerError::Remote {
            url,
            reason: "HTTP 404: the partner does not take cosignatures".into(),
        })
    }
}

/// What witnessing a partner's checkpoint concluded.
#[derive(Debug, Clone, Serialize)]
pub struct WitnessReport {
    /// The partner.
    pub partner: String,
    /// `accepted`, `unchanged`, `rollback`, `split-view`, `inconsistent`.
    pub outcome: String,
    /// The size offered.
    pub size: u64,
    /// Whether the cosignature was returned to the partner.
    pub cosigned: bool,
    /// Details.
    pub detail: String,
}

impl WitnessReport {
    /// Whether an alert was raised.
    pub fn is_alert(&self) -> bool {
        matches!(
            self.outcome.as_str(),
            "rollback" | "split-view" | "inconsistent"
        )
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Witnesses a partner's log: fetches its checkpoint, checks its signature
/// with the configured verifier key and its consistency with the last one
/// held (fetching a consistency proof), keeps it, cosigns it and POSTs the
/// cosignature back. A split view (another root for a size already
/// witnessed), an inconsistent proof or a rollback is kept as an alert
/// with both signed notes, and logged at error level.
///
/// # Errors
/// [`LedgerError`] when the partner cannot be asked, or its note is not
/// signed by its key (which proves nothing, so no alert).
pub async fn witness_partner(
    store: &SqliteStore,
    keys: &LedgerKeys,
    partner: &PartnerConfig,
    client: &LedgerClient,
) -> Result<WitnessReport, LedgerError> {
    let verifier = LogVerifier::from_verifier_key(&partner.verifier_key)?;
    let origin = verifier.name().to_owned();
    let note = client.checkpoint().await?;
    let offered = verifier.open(&note, &origin)?;
    let size = offered.checkpoint.size;
    let mut report = WitnessReport {
        partner: partner.name.clone(),
        outcome: String::new(),
        size,
        cosigned: false,
        detail: String::new(),
    };
    let alert =
        |kind: &str, detail: String, first: &[u8], second: &[u8]| -> Result<(), LedgerError> {
            tracing::error!(partner = %partner.name, kind, "{detail}");
            store.ledger_add_alert(&partner.name, kind, &detail, Some(first), Some(second))?;
            Ok(())
        };
    // A checkpoint already held at this size with another root: split view.
    if let Some(same) = store.ledger_witnessed(&partner.name, Some(size))? {
        let held = verifier.open(&same.note, &origin)?;
        if held.checkpoint.root != offered.checkpoint.root {
            let detail = format!(
                "split view: {origin} signed two roots for size {size} ({} received {}, {} now)",
                held.checkpoint.root, same.received_at, offered.checkpoint.root
            );
            alert("split-view", detail.clone(), &same.note, &note)?;
            report.outcome = "split-view".into();
            report.detail = detail;
            return Ok(report);
        }
    }
    let held = match store.ledger_witnessed(&partner.name, None)? {
        Some(w) => Some(verifier.open(&w.note, &origin)?),
        None => None,
    };
    let proof = match &held {
        Some(h) if h.checkpoint.size < size => client.consistency(h.checkpoint.size, size).await?,
        Some(h) if h.checkpoint.size > size => {
            // Stale or forked: a proof from the offered size to the held one tells.
            let p = client
                .consistency(size, h.checkpoint.size)
                .await
                .unwrap_or_default();
            let forked = verify_consistency(
                size,
                h.checkpoint.size,
                &offered.checkpoint.root,
                &h.checkpoint.root,
                &p,
            )
            .is_err();
            let detail = format!(
                "rollback: {origin} offered size {size} after size {} was witnessed{}",
                h.checkpoint.size,
                if forked {
                    "; no valid consistency proof between them (a fork)"
                } else {
                    ""
                }
            );
            alert(
                if forked { "inconsistent" } else { "rollback" },
                detail.clone(),
                &h.note,
                &note,
            )?;
            report.outcome = if forked { "inconsistent" } else { "rollback" }.into();
            report.detail = detail;
            return Ok(report);
        }
        _ => Vec::new(),
    };
    match witness_checkpoint(held.as_ref(), &note, &proof, &origin, &verifier)? {
        WitnessOutcome::Accepted(cp) => {
            store.ledger_save_witnessed(&partner.name, size, &cp.checkpoint.root, &note)?;
            report.outcome = "accepted".into();
        }
        WitnessOutcome::Unchanged => report.outcome = "unchanged".into(),
        WitnessOutcome::Rollback { .. } => report.outcome = "rollback".into(),
        WitnessOutcome::SplitView(e) => {
            let detail = format!("split view: {origin} signed two roots for size {}", e.size);
            alert("split-view", detail.clone(), &e.first, &e.second)?;
            report.outcome = "split-view".into();
            report.detail = detail;
            return Ok(report);
        }
        WitnessOutcome::Inconsistent(e) => {
            let detail = format!(
                "inconsistent: {origin}'s checkpoint of size {size} does not extend the one held; the consistency proof fails"
            );
            alert("inconsistent", detail.clone(), &e.held, &e.offered)?;
            report.outcome = "inconsistent".into();
            report.detail = detail;
            return Ok(report);
        }
    }
    let cosigned = keys.witness.cosign(&offered, unix_now())?;
    match client.post_cosignature(&cosigned.note).await {
        Ok(()) => report.cosigned = true,
        Err(e) => {
            tracing::warn!(partner = %partner.name, "returning the cosignature: {e}");
            report.detail = format!("cosignature not accepted: {e}");
        }
    }
    Ok(report)
}

/// One discrepancy found by an audit.
#[derive(Debug, Clone, Serialize)]
pub struct AuditFinding {
    /// `missing` (recorded here, not in the partner's log), `altered`
    /// (same object version, other bytes), `extra` (in the partner's log,
    /// not recorded here), `unrecorded` (sent from here, not recorded as
    /// received there).
    pub kind: String,
    /// `in` (what the partner sent here) or `out` (what was sent to it).
    pub direction: String,
    /// The object id.
    pub object_id: String,
    /// Its version.
    pub modified: Option<String>,
    /// Index in this node's log, if there.
    pub local_index: Option<u64>,
    /// Index in the partner's log, if there.
    pub partner_index: Option<u64>,
    /// What is wrong.
    pub detail: String,
}

/// The result of [`audit_partner`].
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The partner.
    pub partner: String,
    /// The partner's checkpoint size audited.
    pub partner_size: u64,
    /// Records of this node about the partner that were checked.
    pub checked: u64,
    /// Every discrepancy.
    pub findings: Vec<AuditFinding>,
}

type Key3 = (String, Option<String>, String);

/// Audits the exchanges with a partner both ways against its log: fetches
/// its signed checkpoint, every entry bundle and the hash tiles, verifies
/// each entry against the checkpoint (so each is proven included), then
/// compares: every object received from the partner must be an `out`
/// record in its log to this node's account there (`missing`, or
/// `altered` if the bytes differ), every `out` record there to this node
/// must have been recorded here (`extra`), and every object sent to it
/// should be an `in` record there (`unrecorded`).
///
/// # Errors
/// [`LedgerError`] when the partner cannot be read or its log does not
/// verify against its own checkpoint.
pub async fn audit_partner(
    store: &SqliteStore,
    partner: &PartnerConfig,
    client: &LedgerClient,
) -> Result<AuditReport, LedgerError> {
    let verifier = LogVerifier::from_verifier_key(&partner.verifier_key)?;
    let note = client.checkpoint().await?;
    let cp = verifier.open(&note, verifier.name())?.checkpoint;
    if let Some(w) = store.ledger_witnessed(&partner.name, Some(cp.size))? {
        let held = verifier.open(&w.note, verifier.name())?;
        if held.checkpoint.root != cp.root {
            let detail = format!(
                "split view: {} signed two roots for size {}",
                cp.origin, cp.size
            );
            tracing::error!(partner = %partner.name, "{detail}");
            store.ledger_add_alert(
                &partner.name,
                "split-view",
                &detail,
                Some(&w.note),
                Some(&note),
            )?;
        }
    }
    // Mirror the log with plain GETs, then authenticate it.
    let mut tiles: HashMap<String, Vec<u8>> = HashMap::new();
    let wanted: Vec<Tile> = accord_ledger::tiles::tiles_for_growth(0, cp.size)
        .into_iter()
        .chain(accord_ledger::tiles::entry_bundles_for_growth(0, cp.size))
        .collect();
    for t in &wanted {
        let path = t.path();
        let rel = path.strip_prefix("tile/").unwrap_or(&path);
        let bytes = client.must_get(&format!("tile/{rel}")).await?;
        tiles.insert(path, bytes);
    }
    let reader = TiledReader::new(cp.size, cp.root, &tiles);
    if reader.root()? != cp.root {
        return Err(LedgerError::Inconsistent(format!(
            "{}'s tiles do not give the root of its checkpoint",
            partner.name
        )));
    }
    let mut theirs: Vec<(u64, ExchangeRecord)> = Vec::new();
    for t in wanted
        .iter()
        .filter(|t| t.kind == accord_ledger::TileKind::Entries)
    {
        let entries = reader.verify_entry_bundle(t, &tiles[&t.path()])?;
        for (i, e) in entries.iter().enumerate() {
            if let Ok(r) = ExchangeRecord::from_leaf_bytes(e) {
                theirs.push((t.start_leaf() + i as u64, r));
            }
        }
    }
    let me_there = partner.user.clone().unwrap_or_default();
    let them_here = partner.name.clone();
    // Their out records to this node, and their in records (from anyone).
    let mut their_out: HashMap<Key3, u64> = HashMap::new();
    let mut their_out_versions: HashMap<(String, Option<String>), (u64, String)> = HashMap::new();
    let mut their_in: HashSet<Key3> = HashSet::new();
    for (i, r) in &theirs {
        let k = (r.object_id.clone(), r.modified.clone(), r.sha256.clone());
        match r.direction {
            Direction::Out if r.partner.as_deref() == Some(me_there.as_str()) => {
                their_out.insert(k, *i);
                their_out_versions.insert(
                    (r.object_id.clone(), r.modified.clone()),
                    (*i, r.sha256.clone()),
                );
            }
            Direction::In => {
                their_in.insert(k);
            }
            _ => {}
        }
    }
    let size = store.ledger_size()?;
    let mut my_in: HashSet<Key3> = HashSet::new();
    let mut findings = Vec::new();
    let mut checked = 0;
    let mut from = 0;
    while from < size {
        let chunk = store.ledger_entries(from, from + 10_000)?;
        for e in &chunk {
            let Ok(r) = ExchangeRecord::from_leaf_bytes(&e.leaf) else {
                continue;
            };
            let k = (r.object_id.clone(), r.modified.clone(), r.sha256.clone());
            let finding = |kind: &str, dir: &str, partner_index, detail: String| AuditFinding {
                kind: kind.into(),
                direction: dir.into(),
                object_id: r.object_id.clone(),
                modified: r.modified.clone(),
                local_index: Some(e.index),
                partner_index,
                detail,
            };
            match r.direction {
                Direction::In if r.partner.as_deref() == Some(partner.name.as_str()) => {
                    checked += 1;
                    if their_out.contains_key(&k) {
                        // Present: proven included by the verified bundle.
                    } else if let Some((pi, sha)) =
                        their_out_versions.get(&(r.object_id.clone(), r.modified.clone()))
                    {
                        findings.push(finding(
                            "altered",
                            "in",
                            Some(*pi),
                            format!(
                                "received with sha256 {}, the partner logged {sha}",
                                r.sha256
                            ),
                        ));
                    } else {
                        findings.push(finding(
                            "missing",
                            "in",
                            None,
                            format!(
                                "received from {} but not in its log as sent to `{me_there}`",
                                partner.name
                            ),
                        ));
                    }
                    my_in.insert(k);
                }
                Direction::Out if r.partner.as_deref() == Some(them_here.as_str()) => {
                    checked += 1;
                    if !their_in.contains(&k) {
                        findings.push(finding(
                            "unrecorded",
                            "out",
                            None,
                            format!("sent to `{them_here}` but not recorded as received in its log (it may have held it already)"),
                        ));
                    }
                }
                _ => {}
            }
        }
        from += 10_000;
    }
    let mut extra: Vec<(&Key3, &u64)> = their_out
        .iter()
        .filter(|(k, _)| !my_in.contains(*k))
        .collect();
    extra.sort_by_key(|(_, i)| **i);
    for (k, i) in extra {
        findings.push(AuditFinding {
            kind: "extra".into(),
            direction: "in".into(),
            object_id: k.0.clone(),
            modified: k.1.clone(),
            local_index: None,
            partner_index: Some(*i),
            detail: format!(
                "{} logged it as sent to `{me_there}`; not recorded as received here (a duplicate of a version held, or never received)",
                partner.name
            ),
        });
    }
    Ok(AuditReport {
        partner: partner.name.clone(),
        partner_size: cp.size,
        checked,
        findings,
    })
}
