//! [`TaxiiClient`]: the TAXII 2.1 requests (§4 and §5), paging that
//! follows `next` ([`ObjectPages`]) and status polling.

use crate::error::ClientError;
use crate::http;
use crate::ledger::LedgerClient;
use crate::resources::*;
use crate::{Auth, ClientOptions, MEDIA_TYPE_TAXII};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// How long a response body excerpt in an error may be, in bytes.
const BODY_EXCERPT_BYTES: usize = 300;

#[derive(Deserialize)]
struct CollectionsResource {
    #[serde(default)]
    collections: Vec<Collection>,
}

/// The body of a paged answer, before the headers are added.
#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default = "Vec::new")]
    objects: Vec<T>,
    #[serde(default)]
    more: bool,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct VersionsResource {
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    more: bool,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Serialize)]
struct OutEnvelope<'a, T> {
    objects: &'a [T],
}

/// A TAXII 2.1 client for one server.
#[derive(Debug, Clone)]
pub struct TaxiiClient {
    http: reqwest::Client,
    base: reqwest::Url,
    auth: Auth,
    opts: ClientOptions,
}

impl TaxiiClient {
    /// A client for the server at `base_url` (its root, e.g.
    /// `https://taxii.example.org/`, or its discovery URL ending in
    /// `/taxii2/`), with the default [`ClientOptions`].
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`], [`ClientError::Build`].
    pub fn new(base_url: &str, auth: Auth) -> Result<TaxiiClient, ClientError> {
        TaxiiClient::with_options(base_url, auth, ClientOptions::default())
    }

    /// A client with explicit timeouts and polling.
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`], [`ClientError::Build`].
    pub fn with_options(
        base_url: &str,
        auth: Auth,
        opts: ClientOptions,
    ) -> Result<TaxiiClient, ClientError> {
        let mut base = reqwest::Url::parse(base_url).map_err(|e| ClientError::InvalidUrl {
            url: base_url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::InvalidUrl {
                url: base_url.to_owned(),
                reason: format!("scheme `{}` is not http or https", base.scheme()),
            });
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = http::build(&opts)?;
        Ok(TaxiiClient {
            http,
            base,
            auth,
            opts,
        })
    }

    /// The options in use.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// A client for the ledger endpoints of the same server, on this
    /// client's connections, credentials and options (its size cap
    /// lowered to [`crate::LEDGER_MAX_RESPONSE_BYTES`] at most).
    pub fn ledger(&self) -> LedgerClient {
        let mut opts = self.opts.clone();
        opts.max_response_bytes = opts
            .max_response_bytes
            .min(crate::LEDGER_MAX_RESPONSE_BYTES);
        LedgerClient::from_parts(
            self.http.clone(),
            self.base.clone(),
            self.auth.clone(),
            opts,
        )
    }

    /// Resolves a URL given by the server (absolute, or relative to the
    /// base URL) and makes sure it ends with `/`, as TAXII URLs do.
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`].
    pub fn resolve(&self, url: &str) -> Result<reqwest::Url, ClientError> {
        let mut u = self.base.join(url).map_err(|e| ClientError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if !u.path().ends_with('/') {
            let p = format!("{}/", u.path());
            u.set_path(&p);
        }
        Ok(u)
    }

    /// `url` with path segments appended, ending with `/`.
    fn join(&self, url: &str, segments: &[&str]) -> Result<reqwest::Url, ClientError> {
        let mut u = self.resolve(url)?;
        {
            let mut segs = u
                .path_segments_mut()
                .map_err(|()| ClientError::InvalidUrl {
                    url: url.to_owned(),
                    reason: "cannot have a path".into(),
                })?;
            segs.pop_if_empty();
            segs.extend(segments);
            segs.push("");
        }
        Ok(u)
    }

    /// The URL of a collection of an API root:
    /// `{api_root}collections/{id}/` (§5.2).
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`].
    pub fn collection_url(&self, api_root_url: &str, id: &str) -> Result<String, ClientError> {
        Ok(self
            .join(api_root_url, &["collections", id])?
            .as_str()
            .to_owned())
    }

    /// The discovery URL: the base URL when it ends in `/taxii2/`, else
    /// `{base}taxii2/` (§4.1).
    fn discovery_url(&self) -> Result<reqwest::Url, ClientError> {
        if self.base.path().ends_with("/taxii2/") {
            Ok(self.base.clone())
        } else {
            self.join(self.base.as_str(), &["taxii2"])
        }
    }

    /// GET the server's discovery resource (§4.1).
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn discovery(&self) -> Result<Discovery, ClientError> {
        let url = self.discovery_url()?;
        self.get_json(url, &[], "a discovery resource")
            .await
            .map(|r| r.body)
    }

    /// GET an API root's information (§4.2).
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn api_root(&self, api_root_url: &str) -> Result<ApiRoot, ClientError> {
        let url = self.resolve(api_root_url)?;
        self.get_json(url, &[], "an API root resource")
            .await
            .map(|r| r.body)
    }

    /// GET the collections of an API root (§5.1); an API root without
    /// collections answers an empty list.
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn collections(&self, api_root_url: &str) -> Result<Vec<Collection>, ClientError> {
        let url = self.join(api_root_url, &["collections"])?;
        let r: Decoded<CollectionsResource> =
            self.get_json(url, &[], "a collections resource").await?;
        Ok(r.body.collections)
    }

    /// GET one collection (§5.2).
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn collection(
        &self,
        api_root_url: &str,
        id: &str,
    ) -> Result<Collection, ClientError> {
        let url = self.join(api_root_url, &["collections", id])?;
        self.get_json(url, &[], "a collection resource")
            .await
            .map(|r| r.body)
    }

    /// GET one page of a collection's objects (§5.4). `next` is the value
    /// from the previous page; the filter and `limit` should be the same as
    /// for the first page.
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn get_objects(
        &self,
        collection_url: &str,
        filter: &Filter,
        limit: Option<usize>,
        next: Option<&str>,
    ) -> Result<ObjectsPage, ClientError> {
        let url = self.join(collection_url, &["objects"])?;
        let r: Decoded<Envelope<Box<RawValue>>> = self
            .get_json(url, &paging(filter, limit, next), "an envelope")
            .await?;
        Ok(objects_page(r))
    }

    /// Pages through a collection's objects, following `next`; call
    /// [`ObjectPages::next_page`] until it returns `None`.
    pub fn object_pages(
        &self,
        collection_url: &str,
        filter: Filter,
        limit: usize,
    ) -> ObjectPages<'_> {
        ObjectPages {
            client: self,
            collection_url: collection_url.to_owned(),
            filter,
            limit,
            next: None,
            done: false,
            n_pages: 0,
        }
    }

    /// Every page of a collection's objects for `filter`, `limit` objects
    /// per request, following `next` until `more` is false.
    ///
    /// # Errors
    /// Any [`ClientError`]; what was read before is dropped (use
    /// [`TaxiiClient::object_pages`] to keep it).
    pub async fn get_all_objects(
        &self,
        collection_url: &str,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<ObjectsPage>, ClientError> {
        let mut pages = self.object_pages(collection_url, filter.clone(), limit);
        let mut out = Vec::new();
        while let Some(p) = pages.next_page().await? {
            out.push(p);
        }
        Ok(out)
    }

    /// GET one page of a collection's manifest (§5.3).
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn manifest(
        &self,
        collection_url: &str,
        filter: &Filter,
        limit: Option<usize>,
        next: Option<&str>,
    ) -> Result<ManifestPage, ClientError> {
        let url = self.join(collection_url, &["manifest"])?;
        let r: Decoded<Envelope<ManifestRecord>> = self
            .get_json(url, &paging(filter, limit, next), "a manifest resource")
            .await?;
        Ok(ManifestPage {
            objects: r.body.objects,
            more: r.body.more,
            next: r.body.next,
            date_added_first: r.date_added_first,
            date_added_last: r.date_added_last,
        })
    }

    /// GET one object, in the versions the filter selects (§5.6; only
    /// `added_after`, `match[version]` and `match[spec_version]` apply).
    ///
    /// # Errors
    /// Any [`ClientError`]; an unknown object is HTTP 404.
    pub async fn object(
        &self,
        collection_url: &str,
        id: &str,
        filter: &Filter,
        limit: Option<usize>,
        next: Option<&str>,
    ) -> Result<ObjectsPage, ClientError> {
        let url = self.join(collection_url, &["objects", id])?;
        let r: Decoded<Envelope<Box<RawValue>>> = self
            .get_json(url, &paging(filter, limit, next), "an envelope")
            .await?;
        Ok(objects_page(r))
    }

    /// GET the versions of one object (§5.8; `added_after` and
    /// `match[spec_version]` apply).
    ///
    /// # Errors
    /// Any [`ClientError`]; an unknown object is HTTP 404.
    pub async fn object_versions(
        &self,
        collection_url: &str,
        id: &str,
        filter: &Filter,
        limit: Option<usize>,
        next: Option<&str>,
    ) -> Result<VersionsPage, ClientError> {
        let url = self.join(collection_url, &["objects", id, "versions"])?;
        let r: Decoded<VersionsResource> = self
            .get_json(url, &paging(filter, limit, next), "a versions resource")
            .await?;
        Ok(VersionsPage {
            versions: r.body.versions,
            more: r.body.more,
            next: r.body.next,
            date_added_first: r.date_added_first,
            date_added_last: r.date_added_last,
        })
    }

    /// DELETE one object, in the versions the filter selects (§5.7; only
    /// `match[version]` and `match[spec_version]` apply).
    ///
    /// # Errors
    /// Any [`ClientError`]; an unknown object is HTTP 404.
    pub async fn delete_object(
        &self,
        collection_url: &str,
        id: &str,
        filter: &Filter,
    ) -> Result<(), ClientError> {
        let url = self.join(collection_url, &["objects", id])?;
        let req = self.http.delete(url.clone()).query(&filter.query_pairs());
        self.send("DELETE", &url, req).await.map(|_| ())
    }

    /// POSTs `objects` in one envelope (§5.5), then polls the status until
    /// it is `complete`, within [`PollOptions`](crate::PollOptions), and returns it. The status
    /// says which objects the server took and which it refused, and why.
    ///
    /// # Errors
    /// Any [`ClientError`]; [`ClientError::StatusNotComplete`] when polling
    /// gave up.
    pub async fn add_objects<T: Serialize>(
        &self,
        collection_url: &str,
        objects: &[T],
    ) -> Result<Status, ClientError> {
        let first = self.post_objects(collection_url, objects).await?;
        if first.is_complete() {
            return Ok(first);
        }
        let api_root = api_root_of(collection_url)?;
        self.wait_for_status(&api_root, first).await
    }

    /// POSTs objects given as JSON texts (each one object, e.g. the exact
    /// bytes a store holds) in one envelope, then polls the status as
    /// [`TaxiiClient::add_objects`] does. The texts are copied into the
    /// envelope as they are, not parsed again: the caller vouches that
    /// each is one JSON value.
    ///
    /// # Errors
    /// Any [`ClientError`]; [`ClientError::StatusNotComplete`] when polling
    /// gave up.
    pub async fn add_raw_objects(
        &self,
        collection_url: &str,
        objects: &[&str],
    ) -> Result<Status, ClientError> {
        let url = self.join(collection_url, &["objects"])?;
        let len = objects.iter().map(|o| o.len() + 1).sum::<usize>() + 16;
        let mut body = Vec::with_capacity(len);
        body.extend_from_slice(b"{\"objects\":[");
        for (i, o) in objects.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(o.as_bytes());
        }
        body.extend_from_slice(b"]}");
        let first = self.post_body(&url, body).await?;
        if first.is_complete() {
            return Ok(first);
        }
        let api_root = api_root_of(collection_url)?;
        self.wait_for_status(&api_root, first).await
    }

    async fn post_body(&self, url: &reqwest::Url, body: Vec<u8>) -> Result<Status, ClientError> {
        let req = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, MEDIA_TYPE_TAXII)
            .body(body);
        let resp = self.send("POST", url, req).await?;
        check_media_type(url, resp.content_type.as_deref())?;
        decode(url, &resp.body, "a status resource")
    }

    /// POSTs `objects` in one envelope (§5.5) and returns the status the
    /// server answered, without waiting for it to complete.
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn post_objects<T: Serialize>(
        &self,
        collection_url: &str,
        objects: &[T],
    ) -> Result<Status, ClientError> {
        let url = self.join(collection_url, &["objects"])?;
        let body =
            serde_json::to_vec(&OutEnvelope { objects }).map_err(|e| ClientError::InvalidJson {
                url: url.to_string(),
                expected: "objects that serialize to JSON",
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        self.post_body(&url, body).await
    }

    /// GET a status resource (§4.3): `{api_root}status/{id}/`.
    ///
    /// # Errors
    /// Any [`ClientError`].
    pub async fn status(&self, api_root_url: &str, id: &str) -> Result<Status, ClientError> {
        let url = self.join(api_root_url, &["status", id])?;
        self.get_json(url, &[], "a status resource")
            .await
            .map(|r| r.body)
    }

    /// Polls a status until it is complete, with exponential backoff,
    /// within [`PollOptions`](crate::PollOptions).
    ///
    /// # Errors
    /// Any [`ClientError`]; [`ClientError::StatusNotComplete`] when polling
    /// gave up.
    pub async fn wait_for_status(
        &self,
        api_root_url: &str,
        mut status: Status,
    ) -> Result<Status, ClientError> {
        let poll = &self.opts.poll;
        let start = tokio::time::Instant::now();
        let mut delay = poll.initial_delay;
        let mut attempts = 0;
        while !status.is_complete() {
            let waited = start.elapsed();
            if attempts >= poll.max_attempts || waited + delay > poll.max_wait {
                return Err(ClientError::StatusNotComplete {
                    url: self
                        .join(api_root_url, &["status", &status.id])?
                        .to_string(),
                    attempts,
                    waited_ms: waited.as_millis(),
                    last: Box::new(status),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(poll.max_delay);
            attempts += 1;
            status = self.status(api_root_url, &status.id).await?;
        }
        Ok(status)
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        url: reqwest::Url,
        query: &[(&'static str, String)],
        expected: &'static str,
    ) -> Result<Decoded<T>, ClientError> {
        let req = self.http.get(url.clone()).query(query);
        let resp = self.send("GET", &url, req).await?;
        check_media_type(&url, resp.content_type.as_deref())?;
        Ok(Decoded {
            body: decode(&url, &resp.body, expected)?,
            date_added_first: resp.date_added_first,
            date_added_last: resp.date_added_last,
        })
    }

    /// Sends a request with the TAXII headers and authentication, and reads
    /// the whole answer within [`ClientOptions::request_timeout`] from the
    /// first byte sent to the last byte read (a server dripping bytes
    /// slowly enough to pass the read timeout is still cut off); an HTTP
    /// error status becomes [`ClientError::Http`].
    async fn send(
        &self,
        method: &'static str,
        url: &reqwest::Url,
        req: reqwest::RequestBuilder,
    ) -> Result<RawResponse, ClientError> {
        let deadline = self.opts.request_timeout;
        match tokio::time::timeout(deadline, self.send_within(method, url, req)).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout {
                method,
                url: url.to_string(),
                timeout_ms: deadline.as_millis(),
            }),
        }
    }

    async fn send_within(
        &self,
        method: &'static str,
        url: &reqwest::Url,
        req: reqwest::RequestBuilder,
    ) -> Result<RawResponse, ClientError> {
        let req = req.header(reqwest::header::ACCEPT, MEDIA_TYPE_TAXII);
        let req = http::authorize(req, &self.auth);
        let fail = |e: reqwest::Error| http::fail(method, url.as_str(), &self.opts, e);
        tracing::debug!(method, %url, "taxii request");
        let mut resp = req.send().await.map_err(fail)?;
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let date_added_first = header("X-TAXII-Date-Added-First");
        let date_added_last = header("X-TAXII-Date-Added-Last");
        let content_type = header("Content-Type");
        let body = http::read_body(&mut resp, method, url.as_str(), &self.opts).await?;
        if !status.is_success() {
            let message = parse_error_message(&body).map(Box::new);
            let body = if message.is_some() {
                String::new()
            } else {
                excerpt(&body)
            };
            return Err(ClientError::Http {
                method,
                url: url.to_string(),
                status: status.as_u16(),
                message,
                body,
            });
        }
        Ok(RawResponse {
            body,
            content_type,
            date_added_first,
            date_added_last,
        })
    }
}

struct RawResponse {
    body: Vec<u8>,
    content_type: Option<String>,
    date_added_first: Option<String>,
    date_added_last: Option<String>,
}

struct Decoded<T> {
    body: T,
    date_added_first: Option<String>,
    date_added_last: Option<String>,
}

/// Checks that a successful TAXII answer says it is TAXII 2.1 JSON
/// (`application/taxii+json`, with `version=2.1` or no version; §1.6.8):
/// an HTML login page or a proxy's error page is refused before it is
/// parsed.
///
/// # Errors
/// [`ClientError::Protocol`] naming the media type found.
fn check_media_type(url: &reqwest::Url, content_type: Option<&str>) -> Result<(), ClientError> {
    let refuse = |found: &str| ClientError::Protocol {
        url: url.to_string(),
        reason: format!(
            "the answer's Content-Type is {found}, not {MEDIA_TYPE_TAXII}: not a TAXII 2.1 server, or a proxy or login page in the way"
        ),
    };
    let Some(ct) = content_type else {
        return Err(refuse("missing"));
    };
    let mut parts = ct.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("");
    if !essence.eq_ignore_ascii_case("application/taxii+json") {
        return Err(refuse(&format!("`{ct}`")));
    }
    for p in parts {
        if let Some((k, v)) = p.split_once('=')
            && k.trim().eq_ignore_ascii_case("version")
            && v.trim().trim_matches('"') != "2.1"
        {
            return Err(refuse(&format!("`{ct}`")));
        }
    }
    Ok(())
}

fn decode<T: DeserializeOwned>(
    url: &reqwest::Url,
    body: &[u8],
    expected: &'static str,
) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| {
        let full = e.to_string();
        // serde_json appends " at line L column C"; the variant has its own.
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_owned(),
            None => full,
        };
        ClientError::InvalidJson {
            url: url.to_string(),
            expected,
            line: e.line(),
            column: e.column(),
            message,
        }
    })
}

fn objects_page(r: Decoded<Envelope<Box<RawValue>>>) -> ObjectsPage {
    ObjectsPage {
        objects: r.body.objects,
        more: r.body.more,
        next: r.body.next,
        date_added_first: r.date_added_first,
        date_added_last: r.date_added_last,
    }
}

/// The query of a paged request: the filter, then `limit` and `next`.
fn paging(
    filter: &Filter,
    limit: Option<usize>,
    next: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut q = filter.query_pairs();
    if let Some(l) = limit {
        q.push(("limit", l.to_string()));
    }
    if let Some(n) = next {
        q.push(("next", n.to_owned()));
    }
    q
}

/// The start of a body, as text, for an error message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= BODY_EXCERPT_BYTES {
        return text.into_owned();
    }
    let mut end = BODY_EXCERPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The API root of a collection URL: what comes before `collections/{id}/`.
///
/// # Errors
/// [`ClientError::InvalidUrl`] when the URL has no `/collections/` segment.
pub fn api_root_of(collection_url: &str) -> Result<String, ClientError> {
    let trimmed = collection_url.trim_end_matches('/');
    match trimmed.rfind("/collections/") {
        Some(i) => Ok(trimmed[..=i].to_owned()),
        None => Err(ClientError::InvalidUrl {
            url: collection_url.to_owned(),
            reason: "a collection URL ends with `collections/{id}/`".into(),
        }),
    }
}

/// Pages of a collection's objects, read one request at a time (see
/// [`TaxiiClient::object_pages`]).
#[derive(Debug)]
pub struct ObjectPages<'c> {
    client: &'c TaxiiClient,
    collection_url: String,
    filter: Filter,
    limit: usize,
    next: Option<String>,
    done: bool,
    n_pages: usize,
}

impl ObjectPages<'_> {
    /// The next page, or `None` once the server said `more: false`.
    ///
    /// When a server says `more` without a `next` (allowed by §3.4), the
    /// following request uses the page's `X-TAXII-Date-Added-Last` as
    /// `added_after`.
    ///
    /// # Errors
    /// Any [`ClientError`]; [`ClientError::Protocol`] when the server says
    /// `more` but gives no way to go on, or sends an empty page with `more`.
    pub async fn next_page(&mut self) -> Result<Option<ObjectsPage>, ClientError> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .client
            .get_objects(
                &self.collection_url,
                &self.filter,
                Some(self.limit),
                self.next.as_deref(),
            )
            .await?;
        self.n_pages += 1;
        if !page.more {
            self.done = true;
        } else if page.objects.is_empty() {
            self.done = true;
            return Err(ClientError::Protocol {
                url: self.collection_url.clone(),
                reason: format!(
                    "page {} is empty but says `more: true`; stopping rather than asking forever",
                    self.n_pages
                ),
            });
        } else if let Some(n) = &page.next {
            self.next = Some(n.clone());
        } else if let Some(last) = &page.date_added_last {
            self.next = None;
            self.filter.added_after = Some(last.clone());
        } else {
            self.done = true;
            return Err(ClientError::Protocol {
                url: self.collection_url.clone(),
                reason: format!(
                    "page {} says `more: true` without `next` or X-TAXII-Date-Added-Last",
                    self.n_pages
                ),
            });
        }
        Ok(Some(page))
    }

    /// How many pages were read so far.
    pub fn n_pages(&self) -> usize {
        self.n_pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_taxii_2_1_json_answers_are_read() {
        let url = reqwest::Url::parse("http://h/taxii2/").unwrap();
        for ok in [
            "application/taxii+json;version=2.1",
            "application/taxii+json; version=2.1",
            "Application/TAXII+json",
        ] {
            assert!(check_media_type(&url, Some(ok)).is_ok(), "{ok}");
        }
        for bad in [
            Some("text/html; charset=utf-8"),
            Some("application/json"),
            Some("application/taxii+json;version=2.0"),
            None,
        ] {
            let e = check_media_type(&url, bad).unwrap_err().to_string();
            assert!(
                e.starts_with("http://h/taxii2/: the answer's Content-Type is"),
                "{e}"
            );
            assert!(
                !ClientError::Protocol {
                    url: String::new(),
                    reason: e
                }
                .is_transient()
            );
        }
    }

    #[test]
    fn empty_filter_has_no_parameters() {
        assert!(Filter::new().query_pairs().is_empty());
    }

    #[test]
    fn filter_lists_are_joined_with_commas() {
        let f = Filter::new()
            .added_after("2026-01-01T00:00:00.000000Z")
            .ids(["indicator--1", "malware--2"])
            .types(["indicator", "malware", "relationship"])
            .versions(["first", "last"])
            .spec_versions(["2.1"]);
        assert_eq!(
            f.query_pairs(),
            vec![
                ("added_after", "2026-01-01T00:00:00.000000Z".to_owned()),
                ("match[id]", "indicator--1,malware--2".to_owned()),
                ("match[type]", "indicator,malware,relationship".to_owned()),
                ("match[version]", "first,last".to_owned()),
                ("match[spec_version]", "2.1".to_owned()),
            ]
        );
    }

    #[test]
    fn paging_adds_limit_and_next_after_the_filters() {
        let f = Filter::new().types(["indicator"]);
        assert_eq!(
            paging(&f, Some(10), Some("abc")),
            vec![
                ("match[type]", "indicator".to_owned()),
                ("limit", "10".to_owned()),
                ("next", "abc".to_owned()),
            ]
        );
        assert_eq!(paging(&Filter::new(), None, None), vec![]);
    }

    #[test]
    fn filter_query_is_url_encoded_by_reqwest() {
        let client = TaxiiClient::new("http://127.0.0.1:1/", Auth::None).unwrap();
        let url = client
            .join("http://127.0.0.1:1/api1/collections/c1/", &["objects"])
            .unwrap();
        let f = Filter::new()
            .types(["indicator", "malware"])
            .added_after("2026-01-01T00:00:00Z");
        let req = client
            .http
            .get(url)
            .query(&paging(&f, Some(5), None))
            .build()
            .unwrap();
        assert_eq!(
            req.url().as_str(),
            "http://127.0.0.1:1/api1/collections/c1/objects/?added_after=2026-01-01T00%3A00%3A00Z&match%5Btype%5D=indicator%2Cmalware&limit=5"
        );
    }

    #[test]
    fn taxii_error_message_is_parsed() {
        let body = br#"{"title": "ProcessingError", "http_status": "400", "description": "The server did not understand the request or filter parameters: 'next' not valid"}"#;
        let m = parse_error_message(body).unwrap();
        assert_eq!(m.title, "ProcessingError");
        assert_eq!(m.http_status.as_deref(), Some("400"));
        assert_eq!(
            m.description.as_deref(),
            Some(
                "The server did not understand the request or filter parameters: 'next' not valid"
            )
        );
        let e = ClientError::Http {
            method: "GET",
            url: "http://h/api1/collections/c/objects/".into(),
            status: 400,
            message: Some(Box::new(m)),
            body: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "GET http://h/api1/collections/c/objects/: HTTP 400: The server did not understand the request or filter parameters: 'next' not valid"
        );
        assert_eq!(e.http_status(), Some(400));
        assert!(!e.is_unauthorized());
    }

    #[test]
    fn taxii_error_with_numeric_status_and_no_description() {
        let m =
            parse_error_message(br#"{"title":"Unauthorized","http_status":401,"error_code":"x"}"#)
                .unwrap();
        assert_eq!(m.http_status.as_deref(), Some("401"));
        assert_eq!(m.description, None);
        assert_eq!(m.error_code.as_deref(), Some("x"));
    }

    #[test]
    fn non_taxii_error_bodies_are_kept_as_text() {
        assert!(parse_error_message(b"Unauthorized Access").is_none());
        assert!(parse_error_message(br#"{"description":"no title"}"#).is_none());
        assert!(parse_error_message(b"[1,2]").is_none());
        let e = ClientError::Http {
            method: "GET",
            url: "http://h/taxii2/".into(),
            status: 401,
            message: None,
            body: "Unauthorized Access".into(),
        };
        assert_eq!(
            e.to_string(),
            "GET http://h/taxii2/: HTTP 401: Unauthorized Access"
        );
        assert!(e.is_unauthorized());
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "é".repeat(BODY_EXCERPT_BYTES);
        let e = excerpt(body.as_bytes());
        assert!(e.len() <= BODY_EXCERPT_BYTES + '…'.len_utf8());
        assert!(e.ends_with('…'));
    }

    #[test]
    fn invalid_json_names_what_was_expected() {
        let url = reqwest::Url::parse("http://h/taxii2/").unwrap();
        let e = decode::<Discovery>(&url, b"{\"title\": 3}", "a discovery resource").unwrap_err();
        assert_eq!(
            e.to_string(),
            "http://h/taxii2/: expected a discovery resource, found invalid JSON at line 1 column 11: invalid type: integer `3`, expected a string"
        );
    }

    #[test]
    fn empty_envelope_is_an_empty_last_page() {
        let url = reqwest::Url::parse("http://h/").unwrap();
        let e: Envelope<Box<RawValue>> = decode(&url, b"{}", "an envelope").unwrap();
        assert!(e.objects.is_empty());
        assert!(!e.more);
        assert!(e.next.is_none());
    }

    #[test]
    fn urls_are_joined_with_trailing_slashes() {
        let c = TaxiiClient::new("http://127.0.0.1:9", Auth::None).unwrap();
        assert_eq!(
            c.discovery_url().unwrap().as_str(),
            "http://127.0.0.1:9/taxii2/"
        );
        assert_eq!(
            c.collection_url("/api1", "91a7b528-80eb-42ed-a74d-c6fbd5a26116")
                .unwrap(),
            "http://127.0.0.1:9/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/"
        );
        let d = TaxiiClient::new("https://h.example/taxii2/", Auth::None).unwrap();
        assert_eq!(
            d.discovery_url().unwrap().as_str(),
            "https://h.example/taxii2/"
        );
        assert_eq!(
            api_root_of("http://h/api1/collections/c1/").unwrap(),
            "http://h/api1/"
        );
        assert!(api_root_of("http://h/api1/").is_err());
        assert!(TaxiiClient::new("ftp://h/", Auth::None).is_err());
    }

    #[test]
    fn secrets_are_not_debug_printed() {
        let a = Auth::Basic {
            user: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{a:?}").contains("hunter2"));
        assert!(!format!("{:?}", Auth::Bearer("tok".into())).contains("tok"));
    }
}
