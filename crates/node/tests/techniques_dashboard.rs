//! A running node (127.0.0.1): the dashboard's ATT&CK techniques (indicators
//! per technique in the collections each account may read, cases whose
//! evidence indicates one), and the node's warninglists applied to what a
//! TAXII POST brings, read again when `accord warninglist update` replaces
//! them, without a restart.

mod common;

use accord_app::config::Config;
use accord_node::auth::{hash_password, token_digest};
use common::start;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const A: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const B: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const MEDIA: &str = "application/taxii+json;version=2.1";
const PARTNER_IDENTITY: &str = "identity--0f0e0d0c-0b0a-4909-8807-060504030201";
const T: &str = "2026-01-01T00:00:00.000Z";
const AP_ICS: &str = "attack-pattern--2d0d40ad-22fa-4cc8-b264-072557e1364b";
const AP_ENT: &str = "attack-pattern--00000000-0000-4000-8000-00000000e001";

fn config(dir: &Path) -> Config {
    let vkey = accord_ledger::LogSigner::from_seed("p.example/log", &[7; 32])
        .unwrap()
        .verifier_key();
    let pw = hash_password("right").unwrap();
    Config::parse(
        &format!(
            r#"
data_dir = {data}
title = "Test node"
[[api_roots]]
name = "api1"
title = "Root"
[[api_roots.collections]]
id = "{A}"
alias = "alpha"
title = "Alpha"
[[api_roots.collections]]
id = "{B}"
alias = "beta"
title = "Beta"
[[accounts]]
name = "alice"
password_hash = "{pw}"
read = ["{A}"]
write = []
[[accounts]]
name = "admin"
password_hash = "{pw}"
token_sha256 = ["{token}"]
read = ["*"]
write = ["*"]
[[partners]]
name = "eu"
url = "http://127.0.0.1:9/"
verifier_key = "{vkey}"
identity = "{PARTNER_IDENTITY}"
"#,
            data = serde_json::Value::String(dir.join("data").display().to_string()),
            token = token_digest("admin-token"),
        ),
        "techniques-test.toml",
    )
    .unwrap()
}

fn attack_pattern(id: &str, source: &str, tech: &str, name: &str) -> String {
    format!(
        r#"{{"type":"attack-pattern","spec_version":"2.1","id":"{id}","created":"{T}","modified":"{T}","name":"{name}","external_references":[{{"source_name":"{source}","external_id":"{tech}"}}]}}"#
    )
}

fn indicator(n: u32, ip: &str) -> (String, String) {
    let id = format!("indicator--{n:08x}-2222-4222-8222-222222222222");
    (
        id.clone(),
        format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"{T}","modified":"{T}","pattern":"[ipv4-addr:value = '{ip}']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#
        ),
    )
}

fn indicates(n: u32, src: &str, dst: &str, revoked: bool) -> String {
    format!(
        r#"{{"type":"relationship","spec_version":"2.1","id":"relationship--{n:08x}-3333-4333-8333-333333333333","created":"{T}","modified":"{T}","relationship_type":"indicates","source_ref":"{src}","target_ref":"{dst}","revoked":{revoked}}}"#
    )
}

struct Node {
    addr: SocketAddr,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
    config: Config,
    _dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let (addr, rt) = start(config.clone());
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Node {
            addr,
            http,
            rt,
            config,
            _dir: dir,
        }
    }

    /// POSTs `objects` to `coll` as the admin; the TAXII status.
    fn post(&self, coll: &str, objects: &[String]) -> serde_json::Value {
        self.rt.block_on(async {
            let r = self
                .http
                .post(format!(
                    "http://{}/api1/collections/{coll}/objects/",
                    self.addr
                ))
                .bearer_auth("admin-token")
                .header("content-type", MEDIA)
                .header("accept", MEDIA)
                .body(format!("{{\"objects\":[{}]}}", objects.join(",")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::ACCEPTED);
            r.json().await.unwrap()
        })
    }

    fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        self.rt.block_on(async {
            let r = self
                .http
                .get(format!("http://{}{path}", self.addr))
                .header(COOKIE, cookie)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        })
    }

    /// Signs in; the session cookie.
    fn login(&self, user: &str) -> String {
        self.rt.block_on(async {
            let page = self
                .http
                .get(format!("http://{}/", self.addr))
                .send()
                .await
                .unwrap();
            let cookies: Vec<String> = page
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
                .collect();
            let login = cookies
                .iter()
                .find(|c| c.starts_with("accord_login="))
                .unwrap()
                .clone();
            let body = page.text().await.unwrap();
            let at = body.find("name=\"csrf\" value=\"").unwrap() + 19;
            let csrf = &body[at..at + body[at..].find('"').unwrap()];
            let r = self
                .http
                .post(format!("http://{}/login", self.addr))
                .header(COOKIE, login)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("csrf={csrf}&user={user}&password=right"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            r.headers()
                .get_all(SET_COOKIE)
                .iter()
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
                .find(|c| c.starts_with("accord_session="))
                .unwrap()
        })
    }

    /// A page once `ready` holds of its body (the background index takes
    /// a round or two); panics after 30 s with the last body.
    fn wait_for(&self, path: &str, cookie: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let (status, body) = self.get(path, cookie);
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            if ready(&body) {
                return body;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{path} never became ready: {body}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The row of `technique` on `/ui/techniques`: (indicators, cases).
fn row(body: &str, technique: &str) -> Option<(u64, u64)> {
    let at = body.find(&format!("<code>{technique}</code>"))?;
    let rest = &body[at..];
    let row = &rest[..rest.find("</tr>")?];
    let nums: Vec<u64> = row
        .split("<td class=\"num\">")
        .skip(1)
        .map(|c| {
            let c = c.split("</td>").next().unwrap();
            let c = c
                .rsplit('>')
                .nth(if c.contains("</a>") { 1 } else { 0 })
                .unwrap();
            let digits: String = c.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap()
        })
        .collect();
    Some((nums[0], nums[1]))
}

#[test]
fn techniques_break_indicators_and_cases_down_per_account() {
    let n = Node::new();
    // ATT&CK-like reference data, then indicators and their relationships.
    n.post(
        B,
        &[
            attack_pattern(AP_ICS, "mitre-ics-attack", "T0801", "Monitor Process State"),
            attack_pattern(AP_ENT, "mitre-attack", "T1566", "Phishing"),
        ],
    );
    let (i1, o1) = indicator(1, "198.51.100.1");
    let (i2, o2) = indicator(2, "198.51.100.2");
    let (i3, o3) = indicator(3, "198.51.100.3");
    let (i4, o4) = indicator(4, "198.51.100.4");
    // Alpha: i1 and i2 indicate T0801; i2 also T1566.
    n.post(
        A,
        &[
            o1,
            o2,
            indicates(1, &i1, AP_ICS, false),
            indicates(2, &i2, AP_ICS, false),
            indicates(3, &i2, AP_ENT, false),
        ],
    );
    // Beta: i3 indicates T0801; i4's relationship is revoked.
    n.post(
        B,
        &[
            o3,
            o4,
            indicates(4, &i3, AP_ICS, false),
            indicates(5, &i4, AP_ENT, true),
        ],
    );
    // A case whose evidence is i3 (T0801), opened beside the node as the
    // CLI does.
    let store = accord_store::SqliteStore::open(&n.config.data_dir).unwrap();
    let now = accord_stix::Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
    let hotline =
        accord_app::hotline::Hotline::new(&n.config, &store, now.unix_seconds * 1_000_000).unwrap();
    let case = hotline
        .open(
            &accord_app::hotline::OpenRequest {
                partner: "eu".into(),
                severity: accord_app::hotline::Severity::High,
                title: "Process state read from the PLCs".into(),
                description: None,
                attachments: vec![i3.clone()],
                assistance: Vec::new(),
                exercise: false,
            },
            now,
        )
        .unwrap();

    let admin = n.login("admin");
    let all = n.wait_for("/ui/techniques", &admin, |b| {
        row(b, "T0801").is_some_and(|r| r == (3, 1))
    });
    assert_eq!(row(&all, "T0801"), Some((3, 1)), "{all}");
    assert_eq!(row(&all, "T1566"), Some((1, 0)), "{all}");
    assert!(all.contains("Monitor Process State") && all.contains("Phishing"));
    assert!(all.contains("3 indicator(s) in the collections you can read indicate 2 technique(s) (4 <code>indicates</code> relationships); 1 hotline case(s)"), "{all}");
    // Alice reads alpha only: i3 (beta) is not hers; the case still is.
    let alice = n.login("alice");
    let (_, mine) = n.get("/ui/techniques", &alice);
    assert_eq!(row(&mine, "T0801"), Some((2, 1)), "{mine}");
    assert_eq!(row(&mine, "T1566"), Some((1, 0)), "{mine}");
    // A technique's page lists its indicators and cases, each linked.
    let (s, page) = n.get("/ui/techniques/T0801", &admin);
    assert_eq!(s, StatusCode::OK);
    for i in [&i1, &i2, &i3] {
        assert!(page.contains(&format!("/ui/objects?q={i}")), "{page}");
    }
    assert!(!page.contains(&i4), "{page}");
    assert!(page.contains(&format!("/ui/cases/{case}")), "{page}");
    let (_, page) = n.get("/ui/techniques/T0801", &alice);
    assert!(!page.contains(&format!("/ui/objects?q={i3}")), "{page}");
    let (s, _) = n.get("/ui/techniques/T9999", &admin);
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The overview has the section.
    let (_, home) = n.get("/", &admin);
    assert!(
        home.contains("ATT&amp;CK techniques") && home.contains("/ui/techniques/T0801"),
        "{home}"
    );

    // More arrives while the node runs: followed without a restart.
    let (i5, o5) = indicator(5, "198.51.100.5");
    n.post(A, &[o5, indicates(6, &i5, AP_ENT, false)]);
    n.wait_for("/ui/techniques", &admin, |b| {
        row(b, "T1566").is_some_and(|r| r == (2, 0))
    });
    // A new version revoking a relationship takes it out.
    let revoked = indicates(1, &i1, AP_ICS, true).replace(
        &format!("\"modified\":\"{T}\""),
        "\"modified\":\"2026-02-01T00:00:00.000Z\"",
    );
    n.post(A, &[revoked]);
    n.wait_for("/ui/techniques", &admin, |b| {
        row(b, "T0801").is_some_and(|r| r == (2, 1))
    });
}

/// Two lists in MISP's format.
fn lists(dir: &Path, extra: Option<&str>) -> std::path::PathBuf {
    let lists = dir.join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("public-dns-v4.json"),
        r#"{"name":"List of known IPv4 public DNS resolvers","description":"t","version":1,"type":"cidr","list":["8.8.8.8","8.8.4.4"],"matching_attributes":["ip-src","ip-dst"]}"#,
    )
    .unwrap();
    std::fs::write(
        lists.join("rfc1918.json"),
        r#"{"name":"List of RFC 1918 CIDR blocks","description":"t","version":1,"type":"cidr","list":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"],"matching_attributes":["ip-src","ip-dst"]}"#,
    )
    .unwrap();
    if let Some(cidr) = extra {
        std::fs::write(
            lists.join("test-net.json"),
            format!(
                r#"{{"name":"Documentation range","description":"t","version":1,"type":"cidr","list":["{cidr}"],"matching_attributes":["ip-src","ip-dst"]}}"#
            ),
        )
        .unwrap();
    }
    lists
}

/// The successes of a status whose message says `warninglisted`, by id.
fn flagged(status: &serde_json::Value) -> Vec<(String, String)> {
    status["successes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            let m = s["message"].as_str()?;
            let at = m.find("warninglisted: ")?;
            Some((
                s["id"].as_str().unwrap().to_owned(),
                m[at + 15..].to_owned(),
            ))
        })
        .collect()
}

#[test]
fn a_post_counts_warninglisted_indicators_with_lists_updated_while_serving() {
    let n = Node::new();
    let tmp = tempfile::tempdir().unwrap();
    let store = accord_store::SqliteStore::open(&n.config.data_dir).unwrap();
    let t = "2026-12-07T00:00:00.000000Z";
    // No lists yet: nothing flagged.
    let (_, before) = indicator(10, "8.8.4.4");
    let st = n.post(A, &[before]);
    assert!(flagged(&st).is_empty(), "{st}");
    // `accord warninglist update` while the node runs.
    accord_app::warninglists::update(
        store.writer(),
        &n.config.data_dir,
        &lists(tmp.path(), None),
        t,
    )
    .unwrap();
    let (dns, o_dns) = indicator(11, "8.8.8.8");
    let (private, o_private) = indicator(12, "10.1.2.3");
    let (doc, o_doc) = indicator(13, "198.51.100.7");
    // Looked at at most once a second: wait for it.
    std::thread::sleep(Duration::from_millis(1100));
    let st = n.post(A, &[o_dns, o_private, o_doc.clone()]);
    assert_eq!(st["success_count"], 3, "{st}");
    let mut f = flagged(&st);
    f.sort();
    assert_eq!(
        f,
        vec![
            (dns.clone(), "public-dns-v4".to_owned()),
            (private.clone(), "rfc1918".to_owned()),
        ],
        "{st}"
    );
    // Still a valid TAXII status: every detail has id and version, the
    // message is a string.
    for s in st["successes"].as_array().unwrap() {
        assert!(s["id"].is_string() && s["version"].is_string(), "{s}");
        assert!(s.get("message").is_none_or(serde_json::Value::is_string));
    }
    // New lists, again while the node runs: applied without a restart.
    accord_app::warninglists::update(
        store.writer(),
        &n.config.data_dir,
        &lists(tmp.path(), Some("198.51.100.0/24")),
        "2026-12-07T00:01:00.000000Z",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let (doc2, o_doc2) = indicator(14, "198.51.100.8");
    let st = n.post(A, &[o_doc2]);
    assert_eq!(flagged(&st), vec![(doc2, "test-net".to_owned())], "{st}");
    // Already stored, unchanged: not counted again.
    let st = n.post(A, &[o_doc]);
    assert!(flagged(&st).is_empty(), "{st}");
    let _ = doc;
}
