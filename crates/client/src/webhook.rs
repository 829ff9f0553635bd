//! A JSON POST to a notification endpoint (the hotline's webhook): the
//! same transport as the TAXII and ledger clients (timeouts, rustls,
//! redirects only to the same origin).

use crate::{ClientError, ClientOptions};

/// POSTs the JSON text `body` to `url`; `Ok` with the status of a 2xx
/// answer (the answer's body is not read).
///
/// # Errors
/// [`ClientError::Http`] for any other status, and the transport's
/// errors (connect, timeout, request), each naming the URL.
pub async fn post_json(url: &str, body: &str, opts: &ClientOptions) -> Result<u16, ClientError> {
    let client = crate::http::build(opts)?;
    let resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| crate::http::fail("POST", url, opts, e))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(ClientError::Http {
            method: "POST",
            url: url.to_owned(),
            status,
            message: None,
            body: String::new(),
        });
    }
    Ok(status)
}
