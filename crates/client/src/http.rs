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
        .timeout(opts.request_timeout)
        .connect_timeout(opts.connect_timeout)
        .read_timeout(opts.read_timeout)
        .user_agent(concat!("accord/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(ClientError::Build)
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
