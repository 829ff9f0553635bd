//! The response size cap, against a one-shot HTTP server on a socket.

use accord_client::{Auth, ClientError, ClientOptions, LedgerClient, TaxiiClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `response` (raw HTTP) to every connection; returns the base URL.
async fn serve(response: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(&response).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}/")
}

fn capped(cap: u64) -> ClientOptions {
    ClientOptions {
        max_response_bytes: cap,
        ..ClientOptions::ledger()
    }
}

#[tokio::test]
async fn an_announced_body_over_the_cap_is_too_large() {
    let body = vec![b'a'; 2000];
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend_from_slice(&body);
    let base = serve(resp).await;
    let c = LedgerClient::with_options(&base, Auth::None, capped(1000)).unwrap();
    let e = c.checkpoint().await.unwrap_err();
    let ClientError::TooLarge { url, cap, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(
        (url.as_str(), *cap),
        (&*format!("{base}ledger/checkpoint"), 1000)
    );
    assert!(e.to_string().contains("1000 bytes"), "{e}");
    // Under the cap, the same answer is read whole.
    let c = LedgerClient::with_options(&base, Auth::None, capped(2000)).unwrap();
    assert_eq!(c.checkpoint().await.unwrap(), body);
}

#[tokio::test]
async fn a_chunked_body_over_the_cap_is_too_large() {
    let mut resp =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/taxii+json;version=2.1\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
    for _ in 0..4 {
        resp.extend_from_slice(b"200\r\n");
        resp.extend_from_slice(&[b' '; 0x200]);
        resp.extend_from_slice(b"\r\n");
    }
    resp.extend_from_slice(b"0\r\n\r\n");
    let base = serve(resp).await;
    let opts = ClientOptions {
        max_response_bytes: 1500,
        ..ClientOptions::default()
    };
    let c = TaxiiClient::with_options(&base, Auth::None, opts).unwrap();
    let e = c.discovery().await.unwrap_err();
    assert!(
        matches!(&e, ClientError::TooLarge { cap: 1500, url, .. } if url.ends_with("/taxii2/")),
        "{e:?}"
    );
    // The ledger client of the same TAXII client shares its cap (at most
    // the ledger's) and connections.
    let l = c.ledger();
    assert_eq!(l.options().max_response_bytes, 1500);
    assert!(matches!(
        l.checkpoint().await.unwrap_err(),
        ClientError::TooLarge { cap: 1500, .. }
    ));
}
