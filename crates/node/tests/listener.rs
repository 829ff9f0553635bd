//! The node's listener for real on 127.0.0.1: TLS with a certificate made
//! here, a bound on connections, and idle or stalled clients cut off while
//! the others are served.

mod common;

use accord_app::config::Config;
use accord_node::auth::hash_password;
use common::start;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

fn config(dir: &std::path::Path, extra: &str) -> Config {
    Config::parse(
        &format!(
            r#"
data_dir = {data}
{extra}
[[api_roots]]
name = "api1"
title = "Root"
[[api_roots.collections]]
id = "55555555-5555-4555-8555-555555555555"
title = "C"
[[accounts]]
name = "u"
password_hash = "{hash}"
token_sha256 = ["{token}"]
read = ["*"]
write = ["*"]
"#,
            data = serde_json::Value::String(dir.join("data").display().to_string()),
            hash = hash_password("p").unwrap(),
            token = accord_node::auth::token_digest("t"),
        ),
        "listener-test.toml",
    )
    .unwrap()
}

fn get_discovery(addr: SocketAddr) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    // A bearer token: no argon2, so a short request timeout in a test
    // cannot cut the answer off on a loaded machine.
    write!(
        s,
        "GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let tls = format!(
        "[tls]\ncert = {}\nkey = {}\n",
        serde_json::Value::String(cert_path.display().to_string()),
        serde_json::Value::String(key_path.display().to_string())
    );
    let (addr, rt) = start(config(dir.path(), &tls));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let tls_config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls_config)
        .build()
        .unwrap();
    let res = rt
        .block_on(
            client
                .get(format!("https://localhost:{}/taxii2/", addr.port()))
                .basic_auth("u", Some("p"))
                .header("Accept", "application/taxii+json;version=2.1")
                .send(),
        )
        .unwrap();
    assert_eq!(res.status(), 200);
    // Plain HTTP on the TLS port gets no answer.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[test]
fn bad_tls_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    let e = accord_node::listener::tls_acceptor(
        &dir.path().join("cert.pem"),
        &dir.path().join("missing.pem"),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("cert.pem"), "{e}");
}

#[test]
fn many_idle_connections_are_bounded_and_stalled_clients_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _rt) = start(config(
        dir.path(),
        "[limits]\nmax_connections = 32\nrequest_timeout_secs = 1\nidle_timeout_secs = 1\n",
    ));
    assert!(get_discovery(addr).starts_with("HTTP/1.1 200"));

    // One client sends half a request and stalls; 100 more connect and say
    // nothing, over the bound of 32 (the rest wait in the kernel's backlog).
    let mut stalled = std::net::TcpStream::connect(addr).unwrap();
    stalled
        .write_all(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let idle: Vec<std::net::TcpStream> = (0..100)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();

    // The node closes idle and stalled connections (after ~6 s: request
    // timeout + 5), freeing room; a client arriving meanwhile is served once
    // its turn comes, and the node never falls over.
    let mut buf = [0u8; 1];
    let n = stalled.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the stalled connection is closed by the server");
    drop(idle);
    assert!(get_discovery(addr).starts_with("HTTP/1.1 200"));
}

#[test]
fn a_client_that_disconnects_mid_request_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _rt) = start(config(dir.path(), ""));
    // Half an envelope, then the client goes away.
    let body = r#"{"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}]}"#;
    for cut in [0, body.len() / 2, body.len() - 1] {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "POST /api1/collections/55555555-5555-4555-8555-555555555555/objects/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpw\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Length: {}\r\n\r\n{}",
            body.len(),
            &body[..cut]
        )
        .unwrap();
        drop(s);
    }
    // The node still serves, and nothing half-sent was stored.
    assert!(get_discovery(addr).starts_with("HTTP/1.1 200"));
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET /api1/collections/55555555-5555-4555-8555-555555555555/objects/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpw\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.ends_with("{\"more\":false}"), "nothing stored: {out}");
}
