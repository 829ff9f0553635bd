//! A hostile client against a real node (`accord serve`, a child process):
//! slowloris, oversized bodies on every route, a flood of wrong passwords,
//! deep JSON nesting, invalid UTF-8 and NUL bytes. Each test asserts that a
//! legitimate client is still answered within a bound while the attack
//! runs, that what was stored is unchanged afterwards, and that the node's
//! memory (VmRSS from /proc) stays bounded.
//!
//! The attacker connects from 127.0.0.2 and the legitimate client from
//! 127.0.0.1 (both are the loopback interface on Linux), so the per-address
//! bounds tell them apart as they would tell two partners apart.

mod common;

use common::{Server, ingest, init, serve};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// A node under test: its process, address, account and a known object.
struct Node {
    server: Server,
    addr: SocketAddr,
    auth: String,
    /// An object stored before the attacks, as the node served it then.
    known: (String, String),
    count: usize,
    _dir: tempfile::TempDir,
}

const OBJECTS: &str = "/api1/collections/default/objects/";

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", b64(format!("{user}:{password}").as_bytes()))
}

/// `[limits]` of `config` with `extra` (`key = value` lines) set.
fn set_limits(config: &Path, extra: &str) {
    let mut text = std::fs::read_to_string(config).unwrap();
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        let key = line.split('=').next().unwrap().trim();
        let start = text
            .lines()
            .find(|l| l.split('=').next().map(str::trim) == Some(key))
            .map(str::to_owned);
        match start {
            Some(old) => text = text.replacen(&old, line, 1),
            None => text = text.replacen("[limits]\n", &format!("[limits]\n{line}\n"), 1),
        }
    }
    std::fs::write(config, text).unwrap();
}

/// A node with 40 indicators, `limits` set, and a second account `bob`
/// (password `bob-pw`).
fn node(limits: &str) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let (config, password, port) = init(dir.path(), "n", "cert");
    set_limits(&config, limits);
    let bob = accord_node::auth::hash_password("bob-pw").unwrap();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[accounts]]\nname = \"bob\"\npassword_hash = \"{bob}\"\nread = [\"*\"]\nwrite = []\n"
    ));
    std::fs::write(&config, text).unwrap();
    ingest(dir.path(), &dir.path().join("n"), "7", "40", "default");
    let server = serve(&config);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let auth = basic("cert", &password);
    let mut n = Node {
        server,
        addr,
        auth,
        known: (String::new(), String::new()),
        count: 0,
        _dir: dir,
    };
    let (count, first) = n.stored();
    assert_eq!(count, 40);
    let body = n.get_object(&first);
    n.known = (first, body);
    n.count = count;
    n
}

/// Status, headers and body of one response.
struct Answer {
    status: u16,
    head: String,
    body: String,
    took: Duration,
}

/// Sends `raw` on a new connection and reads the answer (the connection
/// closed by `Connection: close` or by the server).
fn exchange(addr: SocketAddr, raw: &[u8]) -> Answer {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The server may answer and close before taking all of it.
    let _ = s.write_all(raw);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    answer(&out, t.elapsed())
}

fn answer(out: &[u8], took: Duration) -> Answer {
    let text = String::from_utf8_lossy(out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
        took,
    }
}

impl Node {
    fn get(&self, path: &str) -> Answer {
        exchange(
            self.addr,
            format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
                self.auth
            )
            .as_bytes(),
        )
    }

    /// How many objects the collection has, and the first one's id.
    fn stored(&self) -> (usize, String) {
        let a = self.get(&format!("{OBJECTS}?limit=1000"));
        assert_eq!(a.status, 200, "{}", a.body);
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        let objects = v["objects"].as_array().unwrap();
        (objects.len(), objects[0]["id"].as_str().unwrap().to_owned())
    }

    fn get_object(&self, id: &str) -> String {
        let a = self.get(&format!("{OBJECTS}{id}/"));
        assert_eq!(a.status, 200, "{}", a.body);
        a.body
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.server.0.id()))
            .expect("the node is running");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// After an attack: still serving, nothing stored lost or changed,
    /// memory bounded.
    fn unharmed(&self) {
        let (count, _) = self.stored();
        assert_eq!(count, self.count, "stored objects unchanged");
        assert_eq!(self.get_object(&self.known.0), self.known.1);
        let rss = self.rss_kib();
        assert!(rss < 200 * 1024, "the node's RSS is {rss} KiB");
    }
}

/// A connection from 127.0.0.2 (another client as far as the node is concerned).
async fn connect_from(src: &str, addr: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.bind(format!("{src}:0").parse().unwrap())?;
    sock.connect(addr).await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn slowloris_from_one_address_neither_stalls_others_nor_stays() {
    let n = node("header_read_timeout_secs = 3\nmax_connections_per_address = 200\n");
    let rt = runtime();
    // 1,500 connections from 127.0.0.2, each half a request line, then nothing.
    let attack = rt.block_on(async {
        let mut held = Vec::new();
        for _ in 0..1500 {
            if let Ok(mut s) = connect_from("127.0.0.2", n.addr).await {
                use tokio::io::AsyncWriteExt;
                let _ = s
                    .write_all(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .await;
                held.push(s);
            }
        }
        held
    });
    assert!(attack.len() > 1000, "{} connected", attack.len());
    // A legitimate client is answered promptly, every time.
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let a = n.get("/taxii2/");
        assert_eq!(a.status, 200, "{}", a.body);
        worst = worst.max(a.took);
    }
    assert!(worst < Duration::from_secs(2), "worst answer {worst:?}");
    // At most 200 of the attacker's connections stay open; the node closed
    // the rest at once, and closes the 200 once the header timeout passes.
    let still_open = |held: &mut Vec<tokio::net::TcpStream>| {
        rt.block_on(async {
            let mut open = 0;
            for s in held.iter_mut() {
                use tokio::io::AsyncReadExt;
                let mut b = [0u8; 256];
                match tokio::time::timeout(Duration::from_millis(1), s.read(&mut b)).await {
                    Err(_) => open += 1,     // nothing to read: still open
                    Ok(Ok(0) | Err(_)) => {} // closed by the node
                    Ok(Ok(_)) => {}          // an answer (408/400), then close
                }
            }
            open
        })
    };
    let mut attack = attack;
    let open = still_open(&mut attack);
    assert!(open <= 200, "{open} of the attacker's connections are open");
    std::thread::sleep(Duration::from_secs(5));
    let open = still_open(&mut attack);
    assert_eq!(open, 0, "the header read timeout closes slow connections");
    drop(attack);
    n.unharmed();
}

#[test]
fn oversized_bodies_are_refused_on_every_route_without_reading_them() {
    let n = node("max_content_length = 1048576\n");
    let ct = "Content-Type: application/taxii+json;version=2.1\r\n";
    // Declared sizes over each route's bound: 413 before the body is sent.
    let id = &n.known.0;
    let routes: Vec<(&str, String, &str)> = vec![
        ("POST", OBJECTS.to_owned(), "max_content_length"),
        (
            "POST",
            "/ledger/cosignature".to_owned(),
            "max_ledger_body_length",
        ),
        ("GET", "/taxii2/".to_owned(), "max_other_body_length"),
        ("GET", "/api1/".to_owned(), "max_other_body_length"),
        (
            "GET",
            "/api1/collections/".to_owned(),
            "max_other_body_length",
        ),
        (
            "GET",
            "/api1/collections/default/".to_owned(),
            "max_other_body_length",
        ),
        ("GET", OBJECTS.to_owned(), "max_other_body_length"),
        ("GET", format!("{OBJECTS}{id}/"), "max_other_body_length"),
        (
            "GET",
            format!("{OBJECTS}{id}/versions/"),
            "max_other_body_length",
        ),
        ("DELETE", format!("{OBJECTS}{id}/"), "max_other_body_length"),
        (
            "GET",
            "/api1/collections/default/manifest/".to_owned(),
            "max_other_body_length",
        ),
        (
            "GET",
            "/api1/status/00000000-0000-4000-8000-000000000000/".to_owned(),
            "max_other_body_length",
        ),
        (
            "GET",
            "/ledger/checkpoint".to_owned(),
            "max_other_body_length",
        ),
        (
            "GET",
            "/ledger/proof/inclusion?index=0&size=1".to_owned(),
            "max_other_body_length",
        ),
        ("GET", "/nowhere".to_owned(), "max_other_body_length"),
    ];
    for (method, path, setting) in &routes {
        let a = exchange(
            n.addr,
            format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n{ct}Content-Length: 300000000\r\n\r\n{{\"objects\":[",
                n.auth
            )
            .as_bytes(),
        );
        assert_eq!(a.status, 413, "{method} {path}: {} {}", a.head, a.body);
        assert!(
            a.body.contains(setting) && a.body.contains("300000000"),
            "{method} {path}: {}",
            a.body
        );
        assert!(
            a.took < Duration::from_secs(5),
            "{method} {path} took {:?}",
            a.took
        );
    }
    // A small body on a GET is ignored; the route answers.
    let a = exchange(
        n.addr,
        format!(
            "GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            n.auth
        )
        .as_bytes(),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    // Chunked bodies (no declared size) are cut off at the bound while read.
    for (path, limit) in [(OBJECTS, 1usize << 20), ("/ledger/cosignature", 8 << 10)] {
        let mut s = TcpStream::connect(n.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n{ct}Transfer-Encoding: chunked\r\n\r\n",
            n.auth
        )
        .unwrap();
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        // Up to 4 times the bound; the node stops reading long before.
        while sent < 4 * limit {
            let ok = write!(s, "{:x}\r\n", chunk.len()).is_ok()
                && s.write_all(&chunk).is_ok()
                && s.write_all(b"\r\n").is_ok();
            if !ok {
                break;
            }
            sent += chunk.len();
        }
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let a = answer(&out, Duration::ZERO);
        assert_eq!(a.status, 413, "chunked POST {path}: {} {}", a.head, a.body);
    }
    n.unharmed();
}

#[test]
fn a_flood_of_wrong_passwords_is_throttled_before_argon2() {
    let n = node("");
    // The legitimate client logged in before the flood (its credentials
    // are remembered, as for any client that made a request before).
    assert_eq!(n.get("/taxii2/").status, 200);
    let rt = runtime();
    let addr = n.addr;
    let started = Instant::now();
    // 8 attackers from 127.0.0.2, wrong passwords for `cert` and `bob`,
    // as fast as they are answered, for 4 seconds.
    let flood = std::thread::spawn(move || {
        let rt = runtime();
        rt.block_on(async move {
            let mut tasks = Vec::new();
            for w in 0..8 {
                tasks.push(tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut codes = Vec::new();
                    let mut i = 0;
                    while started.elapsed() < Duration::from_secs(4) {
                        let user = if i % 2 == 0 { "cert" } else { "bob" };
                        let auth = basic(user, &format!("guess-{w}-{i}"));
                        i += 1;
                        let Ok(mut s) = connect_from("127.0.0.2", addr).await else {
                            continue;
                        };
                        let req = format!("GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n");
                        let _ = s.write_all(req.as_bytes()).await;
                        let mut out = Vec::new();
                        let _ = s.read_to_end(&mut out).await;
                        let a = answer(&out, Duration::ZERO);
                        if a.status == 429 {
                            assert!(a.head.to_ascii_lowercase().contains("retry-after:"), "{}", a.head);
                        }
                        codes.push(a.status);
                    }
                    codes
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.unwrap());
            }
            all
        })
    });
    // Meanwhile the legitimate client is answered promptly, and another
    // account's first login from another address runs argon2 and succeeds.
    std::thread::sleep(Duration::from_millis(500));
    let mut worst = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(3) {
        let a = n.get("/taxii2/");
        assert_eq!(a.status, 200, "{}", a.body);
        worst = worst.max(a.took);
    }
    assert!(
        worst < Duration::from_secs(1),
        "worst answer under the flood {worst:?}"
    );
    let a = rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = connect_from("127.0.0.3", addr).await.unwrap();
        let req = format!(
            "GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
            basic("bob", "bob-pw")
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let t = Instant::now();
        s.read_to_end(&mut out).await.unwrap();
        answer(&out, t.elapsed())
    });
    let codes = flood.join().unwrap();
    let denied = codes.iter().filter(|c| **c == 401).count();
    let throttled = codes.iter().filter(|c| **c == 429).count();
    assert!(codes.len() > 100, "{} attempts", codes.len());
    // Only the per-address burst (10) of wrong passwords reached argon2.
    assert!(denied <= 12, "{denied} wrong passwords were checked");
    assert_eq!(denied + throttled, codes.len(), "{codes:?}");
    // `bob` was attacked too, but from another address and below its
    // account's burst (30): its right password is checked and accepted.
    assert_eq!(a.status, 200, "{} {}", a.head, a.body);
    n.unharmed();
}

#[test]
fn hostile_bytes_get_clean_errors() {
    let n = node("");
    let ct = "Content-Type: application/taxii+json;version=2.1\r\n";
    let post = |body: &[u8]| {
        let mut raw = format!(
            "POST {OBJECTS} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n",
            n.auth,
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        exchange(n.addr, &raw)
    };
    // Deep nesting in the envelope and inside an object.
    let deep = |d: usize| format!("{}{}", "[".repeat(d), "]".repeat(d));
    for body in [
        format!("{{\"objects\":[{}]}}", deep(100_000)),
        format!(
            "{{\"objects\":[{{\"type\":\"indicator\",\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\",\"x\":{}}}]}}",
            deep(50_000)
        ),
        "{\"objects\":".repeat(20_000),
    ] {
        let a = post(body.as_bytes());
        // A clean refusal: 400 for the envelope, or (nesting inside one
        // object of a well-formed envelope) that object's failure in the
        // status, naming the limit; nothing stored either way.
        let refused_object = a.status == 202
            && a.body.contains("\"success_count\":0")
            && (a.body.contains("recursion limit") || a.body.contains("depth"));
        assert!(
            a.status == 400 || refused_object,
            "deep nesting: {} {}",
            a.head,
            a.body
        );
    }
    // Invalid UTF-8 and NUL bytes in a body.
    for body in [
        b"{\"objects\":[{\"type\":\"indicator\xff\xfe\"}]}".to_vec(),
        b"{\"objects\":[{\"type\":\"indi\x00cator\"}]}".to_vec(),
        b"\x00\x00\x00\x00".to_vec(),
    ] {
        let a = post(&body);
        assert!(
            a.status == 400 || a.status == 422,
            "{body:?}: {} {}",
            a.head,
            a.body
        );
    }
    // Invalid UTF-8 and NUL bytes in the request line and headers.
    for raw in [
        b"GET /taxii2/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xff\xfe\xfd\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Y2VydDp\x00\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nX-\x00: y\r\nConnection: close\r\n\r\n".to_vec(),
        b"\x00\x00\x00\x00\r\n\r\n".to_vec(),
        format!("GET /taxii2/ HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(100_000)).into_bytes(),
    ] {
        let a = exchange(n.addr, &raw);
        assert!(
            [400, 401, 404, 431].contains(&a.status) || (a.status == 0 && a.took < Duration::from_secs(5)),
            "{:?}: {} {}",
            String::from_utf8_lossy(&raw[..raw.len().min(60)]),
            a.head,
            a.body
        );
    }
    n.unharmed();
}

#[test]
fn beyond_max_concurrent_requests_the_answer_is_a_fast_503() {
    // One request at a time: a POST held open mid-body occupies it.
    let n = node("max_concurrent_requests = 1\n");
    let mut held = TcpStream::connect(n.addr).unwrap();
    write!(
        held,
        "POST {OBJECTS} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Length: 1000\r\n\r\n{{\"objects\":[",
        n.auth
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let a = n.get("/taxii2/");
    assert_eq!(a.status, 503, "{} {}", a.head, a.body);
    assert!(
        a.head.to_ascii_lowercase().contains("retry-after: 1"),
        "{}",
        a.head
    );
    assert!(a.took < Duration::from_secs(1), "{:?}", a.took);
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    n.unharmed();
}

/// `accord validate` and `accord ingest` hold a file to the defaults of
/// `[limits]`, and to a node's own with `--config`: an indicator nested 70
/// deep is refused by name by default and admitted under
/// `stix_max_depth = 80`.
#[test]
fn validate_and_ingest_take_the_limits_of_a_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let deep = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","x_deep":{}1{}}}"#,
        "[".repeat(69),
        "]".repeat(69)
    );
    let file = dir.join("deep.json");
    std::fs::write(&file, &deep).unwrap();
    let (toml, _, _) = init(dir, "n", "admin");
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(
        text.contains("# stix_max_depth = 64"),
        "the template lists the key"
    );
    std::fs::write(
        &toml,
        text.replace("# stix_max_depth = 64", "stix_max_depth = 80"),
    )
    .unwrap();
    let f = common::p(&file);
    let o = common::accord(&["validate", f]);
    assert_eq!(o.status.code(), Some(1), "{}", common::text(&o));
    assert!(
        common::text(&o).contains("nesting-depth limit of 64"),
        "{}",
        common::text(&o)
    );
    let o = common::accord(&["validate", "--config", common::p(&toml), f]);
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    let data = dir.join("data");
    let o = common::accord(&["ingest", "--no-progress", "--data", common::p(&data), f]);
    assert_eq!(o.status.code(), Some(1), "{}", common::text(&o));
    let o = common::accord(&[
        "ingest",
        "--no-progress",
        "--config",
        common::p(&toml),
        "--data",
        common::p(&data),
        f,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    assert!(
        common::text(&o).contains("1 stored"),
        "{}",
        common::text(&o)
    );
}
