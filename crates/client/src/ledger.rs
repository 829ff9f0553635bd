//! [`LedgerClient`]: a partner's transparency log over HTTP (C2SP
//! checkpoints and tiles, the JSON proofs, returning a cosignature), on the
//! same transport as the TAXII client.

use crate::error::ClientError;
use crate::http;
use crate::{Auth, ClientOptions};
use accord_ledger::Hash;
use accord_ledger::tiles::Tile;
use serde::{Deserialize, Serialize};

/// `GET /ledger/proof/inclusion` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyJson {
    /// Older size.
    pub first: u64,
    /// Newer size.
    pub second: u64,
    /// Base64 hashes.
    pub consistency_path: Vec<String>,
}

/// A client for a partner's ledger endpoints (`{base}/ledger/…`).
#[derive(Debug, Clone)]
pub struct LedgerClient {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    opts: ClientOptions,
}

impl LedgerClient {
    /// A client for the node at `base_url`, with [`ClientOptions::ledger`].
    ///
    /// # Errors
    /// [`ClientError::Build`].
    pub fn new(base_url: &str, auth: Auth) -> Result<LedgerClient, ClientError> {
        LedgerClient::with_options(base_url, auth, ClientOptions::ledger())
    }

    /// A client with explicit timeouts and size cap.
    ///
    /// # Errors
    /// [`ClientError::Build`].
    pub fn with_options(
        base_url: &str,
        auth: Auth,
        opts: ClientOptions,
    ) -> Result<LedgerClient, ClientError> {
        Ok(LedgerClient {
            http: http::build(&opts)?,
            base: format!("{}/", base_url.trim_end_matches('/')),
            auth,
            opts,
        })
    }

    /// A client sharing a TAXII client's connections (see
    /// [`crate::TaxiiClient::ledger`]).
    pub(crate) fn from_parts(
        http: reqwest::Client,
        base: reqwest::Url,
        auth: Auth,
        opts: ClientOptions,
    ) -> LedgerClient {
        LedgerClient {
            http,
            base: format!("{}/", base.as_str().trim_end_matches('/')),
            auth,
            opts,
        }
    }

    /// The options in use.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Sends `req` and reads the answer (bounded by the options' cap);
    /// `None` on 404.
    async fn send(
        &self,
        method: &'static str,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        self.send_capped(method, req, url, &self.opts).await
    }

    /// [`LedgerClient::send`] reading at most `opts.max_response_bytes`.
    async fn send_capped(
        &self,
        method: &'static str,
        req: reqwest::RequestBuilder,
        url: &str,
        opts: &ClientOptions,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let fail = |e: reqwest::Error| http::fail(method, url, &self.opts, e);
        tracing::debug!(method, %url, "ledger request");
        let mut res = http::authorize(req, &self.auth)
            .send()
            .await
            .map_err(fail)?;
        let status = res.status();
        let body = http::read_body(&mut res, method, url, opts).await?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let message = crate::parse_error_message(&body).map(Box::new);
            return Err(ClientError::Http {
                method,
                url: url.to_owned(),
                status: status.as_u16(),
                body: if message.is_some() {
                    String::new()
                } else {
                    String::from_utf8_lossy(&body).chars().take(300).collect()
                },
                message,
            });
        }
        Ok(Some(body))
    }

    /// The URL of `path` under `/ledger/`.
    fn url(&self, path: &str) -> String {
        format!("{}ledger/{path}", self.base)
    }

    /// GETs `path` under `/ledger/` (`None` on 404).
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, ClientError> {
        let url = self.url(path);
        self.send("GET", self.http.get(&url), &url).await
    }

    /// GETs `path` under `/ledger/`; a 404 is an error.
    ///
    /// # Errors
    /// Any [`ClientError`]; [`ClientError::Http`] with status 404.
    pub async fn must_get(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        self.get(path).await?.ok_or_else(|| ClientError::Http {
            method: "GET",
            url: self.url(path),
            status: 404,
            message: None,
            body: String::new(),
        })
    }

    /// The partner's checkpoint as served (`GET /ledger/checkpoint`).
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn checkpoint(&self) -> Result<Vec<u8>, ClientError> {
        self.must_get("checkpoint").await
    }

    /// A tile or entry bundle, by its C2SP path under `tile/`
    /// (e.g. `0/000`, `entries/001.p/5`). The answer is read up to what
    /// such a tile may hold and no further ([`Tile::max_bytes`]: 8,192
    /// bytes for a full hash tile, 256 × (2 + 65,535) for a full entry
    /// bundle), whatever the client's response cap.
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`] when `path` is not a canonical tile
    /// path; [`ClientError::TileTooLarge`] when the answer is longer than
    /// the tile may be; any other [`ClientError`].
    pub async fn tile(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let rel = format!("tile/{path}");
        let url = self.url(&rel);
        let tile = Tile::parse_path(&rel).map_err(|e| ClientError::InvalidUrl {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let max = tile.max_bytes() as u64;
        let opts = ClientOptions {
            max_response_bytes: self.opts.max_response_bytes.min(max),
            ..self.opts.clone()
        };
        match self
            .send_capped("GET", self.http.get(&url), &url, &opts)
            .await
        {
            Ok(Some(body)) => Ok(body),
            Ok(None) => Err(ClientError::Http {
                method: "GET",
                url,
                status: 404,
                message: None,
                body: String::new(),
            }),
            Err(ClientError::TooLarge { method, url, cap }) if cap == max => {
                Err(ClientError::TileTooLarge {
                    method,
                    url,
                    kind: tile.kind_name(),
                    path: tile.path(),
                    max,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// A consistency proof from the partner, from size `first` to `second`.
    ///
    /// # Errors
    /// Any [`ClientError`]; [`ClientError::InvalidJson`] or
    /// [`ClientError::Protocol`] when the answer is not a proof.
    pub async fn consistency(&self, first: u64, second: u64) -> Result<Vec<Hash>, ClientError> {
        let body = self
            .must_get(&format!("proof/consistency?first={first}&second={second}"))
            .await?;
        let url = || self.url("proof/consistency");
        let j: ConsistencyJson =
            serde_json::from_slice(&body).map_err(|e| ClientError::InvalidJson {
                url: url(),
                expected: "a consistency proof",
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        j.consistency_path
            .iter()
            .map(|h| {
                Hash::from_base64(h).map_err(|e| ClientError::Protocol {
                    url: url(),
                    reason: format!("a hash of the proof: {e}"),
                })
            })
            .collect()
    }

    /// POSTs a cosigned checkpoint back (`POST /ledger/cosignature`).
    ///
    /// # Errors
    /// Any [`ClientError`]; [`ClientError::Http`] with status 404 when the
    /// partner does not take cosignatures.
    pub async fn post_cosignature(&self, note: &[u8]) -> Result<(), ClientError> {
        let url = self.url("cosignature");
        let req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(note.to_vec());
        self.send("POST", req, &url)
            .await?
            .map(|_| ())
            .ok_or_else(|| ClientError::Http {
                method: "POST",
                url,
                status: 404,
                message: None,
                body: "the partner does not take cosignatures".into(),
            })
    }
}
