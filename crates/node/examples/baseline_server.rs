//! The fastest answer this machine can give the `get-id` load: an HTTP
//! server on the same stack as `accord serve` (tokio's multi-threaded
//! runtime, axum, hyper) that answers every GET with one fixed TAXII
//! envelope of one indicator, read from nothing, checking nothing and
//! logging nothing. `bench/taxii.sh` runs the closed-loop `get-id` load
//! against it next to Accord's, so the latency that 200 clients in a closed
//! loop see from a server doing no work at all is measured in the same run.
//!
//! ```text
//! cargo run --release -p accord-node --example baseline_server -- 127.0.0.1:PORT
//! ```

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// About the size of Accord's answer for one generated indicator.
const ENVELOPE: &str = r#"{"more":false,"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--0185f893-369c-47ec-9de3-6d93b4eed9fe","created":"2026-01-01T00:00:00.994Z","modified":"2026-01-01T00:00:00.994Z","created_by_ref":"identity--7d5b2c9a-3f1e-4b8a-9c6d-2e4f8a1b3c5d","name":"Malware sample 082cfe8866fa","description":"Generated indicator 0 for Accord benchmarks and demos.","indicator_types":["malicious-activity"],"pattern":"[file:hashes.'SHA-256' = '082cfe8866fac3667a5f67e38e997e3fd7c07017388fa2af4f6d6a273422e220']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00.994Z","labels":["generated"],"confidence":93,"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}]}"#;

async fn answer() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/taxii+json;version=2.1")],
        ENVELOPE,
    )
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .expect("usage: baseline_server 127.0.0.1:PORT");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
        let app = Router::new().fallback(answer);
        axum::serve(listener, app).await.expect("serve");
    });
}
