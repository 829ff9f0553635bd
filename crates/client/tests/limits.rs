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

/// A 200 answer with `body`, announced or chunked.
fn answer(body: &[u8], chunked: bool) -> Vec<u8> {
    let mut resp = if chunked {
        b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec()
    } else {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes()
    };
    if chunked {
        for c in body.chunks(1000) {
            resp.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            resp.extend_from_slice(c);
            resp.extend_from_slice(b"\r\n");
        }
        resp.extend_from_slice(b"0\r\n\r\n");
    } else {
        resp.extend_from_slice(body);
    }
    resp
}

#[tokio::test]
async fn a_tile_is_read_up_to_what_a_tile_may_hold() {
    for chunked in [false, true] {
        // A full hash tile: exactly 8192 bytes is read whole.
        let base = serve(answer(&[7u8; 8192], chunked)).await;
        let c = LedgerClient::new(&base, Auth::None).unwrap();
        assert_eq!(c.tile("0/000").await.unwrap().len(), 8192);
        // One byte more is refused by name, whatever the 16 MiB cap.
        let base = serve(answer(&[7u8; 8193], chunked)).await;
        let c = LedgerClient::new(&base, Auth::None).unwrap();
        let e = c.tile("0/000").await.unwrap_err();
        assert!(
            matches!(
                &e,
                ClientError::TileTooLarge {
                    max: 8192,
                    kind: "tile",
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "GET {base}ledger/tile/0/000: tile tile/0/000 is more than the 8192 bytes a tile may hold"
            )
        );
        // A partial tile of width 3 holds 96 bytes.
        let base = serve(answer(&[7u8; 97], chunked)).await;
        let c = LedgerClient::new(&base, Auth::None).unwrap();
        let e = c.tile("1/002.p/3").await.unwrap_err();
        assert!(
            matches!(&e, ClientError::TileTooLarge { max: 96, .. }),
            "{e:?}"
        );
        // An entry bundle of width 1: one entry of at most 65,535 bytes.
        let base = serve(answer(&vec![0u8; 65_538], chunked)).await;
        let c = LedgerClient::new(&base, Auth::None).unwrap();
        let e = c.tile("entries/000.p/1").await.unwrap_err();
        assert!(
            matches!(
                &e,
                ClientError::TileTooLarge {
                    max: 65_537,
                    kind: "entry bundle",
                    ..
                }
            ),
            "{e:?}"
        );
    }
    // A path that is not a tile's is refused before any request.
    let c = LedgerClient::new("http://127.0.0.1:9/", Auth::None).unwrap();
    let e = c.tile("0/1").await.unwrap_err();
    assert!(matches!(&e, ClientError::InvalidUrl { .. }), "{e:?}");
}
