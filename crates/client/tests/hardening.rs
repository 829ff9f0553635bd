//! The client's defences against a hostile or broken partner: redirects
//! to another host, answers that are not TAXII JSON, a slow drip, each
//! against a small HTTP server on a socket.

use accord_client::{Auth, ClientError, ClientOptions, TaxiiClient};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers every connection with `head` then `body` in `chunks` pieces,
/// `gap` apart; returns the base URL.
async fn serve(head: String, body: Vec<u8>, chunks: usize, gap: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (head, body) = (head.clone(), body.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(head.as_bytes()).await;
                for piece in body.chunks(body.len().div_ceil(chunks.max(1)).max(1)) {
                    if sock.write_all(piece).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(gap).await;
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}/")
}

fn quick() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_millis(800),
        read_timeout: Duration::from_millis(500),
        ..ClientOptions::default()
    }
}

const DISCOVERY: &str = r#"{"title":"t","api_roots":[]}"#;

#[tokio::test]
async fn a_redirect_to_another_host_is_refused() {
    let head = "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.2:9/taxii2/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned();
    let base = serve(head, Vec::new(), 1, Duration::ZERO).await;
    let c = TaxiiClient::with_options(&base, Auth::None, quick()).unwrap();
    let e = c.discovery().await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&format!("{base}taxii2/")), "{text}");
    assert!(text.contains("redirect to another origin"), "{text}");
    assert!(!e.is_transient(), "{e:?}");
}

#[tokio::test]
async fn an_answer_that_is_not_taxii_json_is_refused() {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        DISCOVERY.len()
    );
    let base = serve(head, DISCOVERY.as_bytes().to_vec(), 1, Duration::ZERO).await;
    let c = TaxiiClient::with_options(&base, Auth::None, quick()).unwrap();
    let e = c.discovery().await.unwrap_err();
    assert!(matches!(e, ClientError::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains("`text/html`"), "{e}");
}

#[tokio::test]
async fn a_slow_drip_is_cut_off_at_the_request_deadline() {
    // Each piece comes well within the read timeout, the whole far after
    // the request deadline.
    let body = vec![b' '; 40];
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/taxii+json;version=2.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let base = serve(head, body, 40, Duration::from_millis(100)).await;
    let c = TaxiiClient::with_options(&base, Auth::None, quick()).unwrap();
    let start = Instant::now();
    let e = c.discovery().await.unwrap_err();
    assert!(matches!(e, ClientError::Timeout { .. }), "{e:?}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(e.to_string().contains(&format!("{base}taxii2/")), "{e}");
    assert!(e.is_transient());
}
