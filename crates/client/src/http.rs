//! The transport both clients share: how the `reqwest` client is built
//! (rustls with ring, the timeouts of [`ClientOptions`], the user agent),
//! how a request is authenticated, how `reqwest`'s failures become
//! [`ClientError`]s, and how a body is read with a bound.

use crate::error::ClientError;
use crate::{Auth, ClientOptions};

/// Installs ring as rustls's process-wide crypto provider unless one is
/// installed already: reqwest is built without a provider of its own.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing the race to another thread's install is fine: any
        // installed provider will do.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The HTTP client for `opts`.
pub(crate) fn build(opts: &ClientOptions) -> Result<reqwest::Client, ClientError> {
    ensure_crypto_provider();
    reqwest::Client::builder()
        .redirect(same_origin_redirects())
        .timeout(opts.request_timeout)
        .connect_timeout(opts.connect_timeout)
        .read_timeout(opts.read_timeout)
        .user_agent(concat!("accord/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(ClientError::Build)
}

/// The most redirects followed for one request.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// A redirect that [`same_origin_redirects`] refused.
#[derive(Debug)]
struct RedirectRefused(String);

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedirectRefused {}

/// Follows a redirect only to the same origin (scheme, host and port) as
/// the request redirected, at most [`MAX_REDIRECTS`] times: a partner's
/// server must not send this node's credentials, or its requests, to
/// another host.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(prev) = attempt.previous().last() else {
            return attempt.follow();
        };
        let to = attempt.url();
        if attempt.previous().len() > MAX_REDIRECTS {
            let msg = format!("more than {MAX_REDIRECTS} redirects (the last to {to})");
            return attempt.error(RedirectRefused(msg));
        }
        if to.scheme() != prev.scheme()
            || to.host_str() != prev.host_str()
            || to.port_or_known_default() != prev.port_or_known_default()
        {
            let msg = format!(
                "refused a redirect to another origin: {to} (only redirects within {}://{} are followed)",
                prev.scheme(),
                prev.host_str().unwrap_or(""),
            );
            return attempt.error(RedirectRefused(msg));
        }
        attempt.follow()
    })
}

/// `req` with the `Authorization` of `auth`.
pub(crate) fn authorize(req: reqwest::RequestBuilder, auth: &Auth) -> reqwest::RequestBuilder {
    match auth {
        Auth::None => req,
        Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
        Auth::Bearer(token) => req.bearer_auth(token),
    }
}

/// What a failure of `reqwest` on `method url` is.
pub(crate) fn fail(
    method: &'static str,
    url: &str,
    opts: &ClientOptions,
    e: reqwest::Error,
) -> ClientError {
    let url = url.to_owned();
    if e.is_timeout() {
        ClientError::Timeout {
            method,
            url,
            timeout_ms: opts.request_timeout.as_millis(),
        }
    } else if e.is_connect() {
        ClientError::Connect {
            method,
            url,
            source: e,
        }
    } else {
        ClientError::Request {
            method,
            url,
            source: e,
        }
    }
}

/// Reads the body of `resp`, at most `opts.max_response_bytes` of it: a
/// larger body (announced by `Content-Length`, or found while reading) is
/// [`ClientError::TooLarge`] and is not read further.
pub(crate) async fn read_body(
    resp: &mut reqwest::Response,
    method: &'static str,
    url: &str,
    opts: &ClientOptions,
) -> Result<Vec<u8>, ClientError> {
    let cap = opts.max_response_bytes;
    let too_large = || ClientError::TooLarge {
        method,
        url: url.to_owned(),
        cap,
    };
    let announced = resp.content_length();
    if announced.is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let mut body =
        Vec::with_capacity(usize::try_from(announced.unwrap_or(0).min(cap)).unwrap_or(0));
    while let Some(chunk) = resp.chunk().await.map_err(|e| fail(method, url, opts, e))? {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
