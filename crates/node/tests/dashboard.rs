//! The dashboard on a real node (127.0.0.1): sign-in, sessions, CSRF,
//! rights per collection on every page, and a hotline case worked from
//! the pages. (The browser tests drive the same pages in Chromium.)

mod common;

use accord_app::config::Config;
use accord_node::auth::{hash_password, token_digest};
use common::start;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use std::net::SocketAddr;

const A: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const B: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const MEDIA: &str = "application/taxii+json;version=2.1";
const PARTNER_IDENTITY: &str = "identity--0f0e0d0c-0b0a-4909-8807-060504030201";

fn config(dir: &std::path::Path) -> Config {
    let vkey = accord_ledger::LogSigner::from_seed("p.example/log", &[7; 32])
        .unwrap()
        .verifier_key();
    let pw = hash_password("right").unwrap();
    Config::parse(
        &format!(
            r#"
data_dir = {data}
title = "Test node"
[limits]
failed_logins_per_address = 3
failed_logins_per_account = 3
failed_login_refill_secs = 3600
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
[[accounts]]
name = "eu"
password_hash = "{pw}"
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
        "dashboard-test.toml",
    )
    .unwrap()
}

fn indicator(n: u32, value: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{n:08x}-1111-4111-8111-111111111111","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"{value}","pattern":"[domain-name:value = '{value}']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#
    )
}

struct Node {
    addr: SocketAddr,
    http: reqwest::Client,
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// A response's parts the tests look at.
#[derive(Debug)]
struct Got {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
    csp: Option<String>,
}

impl Node {
    /// POSTs `objects` (JSON objects, comma-separated) to collection
    /// `coll` as the admin, through TAXII; asserts 202.
    async fn post_objects(&self, coll: &str, objects: &str) {
        let r = self
            .http
            .post(format!(
                "http://{}/api1/collections/{coll}/objects/",
                self.addr
            ))
            .bearer_auth("admin-token")
            .header("content-type", MEDIA)
            .header("accept", MEDIA)
            .body(format!("{{\"objects\":[{objects}]}}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Got {
        let mut r = self.http.get(format!("http://{}{path}", self.addr));
        if let Some(c) = cookie {
            r = r.header(COOKIE, c);
        }
        got(r.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Got {
        let mut r = self
            .http
            .post(format!("http://{}{path}", self.addr))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form));
        if let Some(c) = cookie {
            r = r.header(COOKIE, c);
        }
        got(r.send().await.unwrap()).await
    }

    /// Signs in; returns the session cookie (`name=value`).
    async fn login(&self, user: &str, password: &str) -> Result<String, Got> {
        let page = self.get("/", None).await;
        let login_cookie = cookie_pair(&page.cookies, "accord_login").unwrap();
        let csrf = hidden(&page.body, "csrf").unwrap();
        let r = self
            .post(
                "/login",
                Some(&login_cookie),
                &[("csrf", &csrf), ("user", user), ("password", password)],
            )
            .await;
        if r.status != StatusCode::SEE_OTHER {
            return Err(r);
        }
        Ok(cookie_pair(&r.cookies, "accord_session").unwrap())
    }
}

/// `application/x-www-form-urlencoded`, every byte but letters and digits
/// escaped.
fn encode(form: &[(&str, &str)]) -> String {
    let esc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn got(r: reqwest::Response) -> Got {
    let h = r.headers().clone();
    Got {
        status: r.status(),
        location: h.get(LOCATION).map(|v| v.to_str().unwrap().to_owned()),
        cookies: h
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect(),
        csp: h
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: r.text().await.unwrap(),
    }
}

fn cookie_pair(set: &[String], name: &str) -> Option<String> {
    set.iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

fn hidden(body: &str, name: &str) -> Option<String> {
    let at = body.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &body[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let (addr, rt) = start(config(dir.path()));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let n = Node {
        addr,
        http,
        _rt: rt,
        _dir: dir,
    };
    // One object in each collection, through TAXII.
    n._rt.block_on(async {
        for (coll, obj) in [
            (A, indicator(1, "alpha-only.example")),
            (B, indicator(2, "beta-secret.example")),
        ] {
            n.post_objects(coll, &obj).await;
        }
    });
    n
}

#[test]
fn sign_in_sessions_and_csrf() {
    let n = node();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Signed out: the login form, with its own CSRF cookie.
        let page = n.get("/", None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("type=\"password\""), "{}", page.body);
        let lc = page
            .cookies
            .iter()
            .find(|c| c.starts_with("accord_login="))
            .unwrap();
        assert!(
            lc.contains("HttpOnly") && lc.contains("SameSite=Strict"),
            "{lc}"
        );
        assert!(page.csp.unwrap().contains("frame-ancestors 'none'"));
        // Any other page sends a signed-out visitor to the form.
        let r = n.get("/ui/objects", None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location.as_deref(), Some("/"));

        // A login form posted without this browser's login cookie: refused.
        let csrf = hidden(&page.body, "csrf").unwrap();
        let r = n
            .post(
                "/login",
                None,
                &[("csrf", &csrf), ("user", "alice"), ("password", "right")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // A wrong password: one clear message.
        let r = n.login("alice", "wrong").await.unwrap_err();
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.body.contains("Wrong user name or password."),
            "{}",
            r.body
        );

        // Session fixation: a cookie planted before login is not promoted.
        let planted = "accord_session=planted-by-an-attacker";
        let page = n.get("/", Some(planted)).await;
        assert!(page.body.contains("type=\"password\""));
        let session = n.login("alice", "right").await.unwrap();
        assert_ne!(session, planted);
        assert!(
            n.get("/", Some(planted))
                .await
                .body
                .contains("type=\"password\"")
        );
        let home = n.get("/", Some(&session)).await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(
            home.body.contains("Signed in as <strong>alice</strong>"),
            "{}",
            home.body
        );

        // A form without the session's CSRF token does nothing.
        let r = n
            .post("/logout", Some(&session), &[("csrf", "guess")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            n.get("/ui/log", Some(&session)).await.status,
            StatusCode::OK
        );

        // Logout with the token ends the session: the copied cookie fails.
        let csrf = hidden(&home.body, "csrf").unwrap();
        let r = n.post("/logout", Some(&session), &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            n.get("/ui/log", Some(&session)).await.status,
            StatusCode::SEE_OTHER
        );
        let r = n.post("/logout", Some(&session), &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // A partner's account cannot sign in here.
        let r = n.login("eu", "right").await.unwrap_err();
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("partner eu"), "{}", r.body);

        // Wrong passwords are throttled like TAXII's (3 per account here):
        // one was spent above; two more, then 429 without a check.
        for _ in 0..2 {
            assert_eq!(
                n.login("admin", "nope").await.unwrap_err().status,
                StatusCode::UNAUTHORIZED
            );
        }
        let r = n.login("admin", "nope").await.unwrap_err();
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        assert!(r.body.contains("Too many failed sign-ins"), "{}", r.body);
    });
}

#[test]
fn an_account_sees_only_the_collections_it_may_read() {
    let n = node();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let alice = n.login("alice", "right").await.unwrap();
        let beta_id = "indicator--00000002-1111-4111-8111-111111111111";
        let alpha_id = "indicator--00000001-1111-4111-8111-111111111111";
        for page in [
            "/",
            "/ui/objects",
            "/ui/objects?q=beta-secret",
            &format!("/ui/objects?q={beta_id}"),
            "/ui/objects?type=indicator",
            "/ui/sightings",
            "/ui/log",
            "/ui/partners",
        ] {
            let r = n.get(page, Some(&alice)).await;
            assert_eq!(r.status, StatusCode::OK, "{page}");
            // (The search box echoes the query; the results must not hold it.)
            let link = format!("/{beta_id}\"");
            assert!(
                !r.body.contains("beta-secret.example") && !r.body.contains(&link),
                "{page} shows beta: {}",
                r.body
            );
        }
        let r = n.get("/ui/objects?q=alpha-only", Some(&alice)).await;
        assert!(r.body.contains(alpha_id), "{}", r.body);
        // An object of beta by its address: the same 404 as a missing one.
        let r = n
            .get(&format!("/ui/objects/{B}/{beta_id}"), Some(&alice))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let store_b = n
            .get(&format!("/ui/objects/beta/{beta_id}"), Some(&alice))
            .await;
        assert_eq!(store_b.status, StatusCode::NOT_FOUND);
        // The overview counts only alpha.
        let home = n.get("/", Some(&alice)).await;
        assert!(
            home.body
                .contains(">1</div><div class=\"what\">objects you can read"),
            "{}",
            home.body
        );

        // admin reads both.
        let admin = n.login("admin", "right").await.unwrap();
        let r = n.get("/ui/objects?q=beta-secret", Some(&admin)).await;
        assert!(r.body.contains(beta_id), "{}", r.body);
        let home = n.get("/", Some(&admin)).await;
        assert!(
            home.body
                .contains(">2</div><div class=\"what\">objects you can read"),
            "{}",
            home.body
        );
        assert!(
            home.body.contains("<title>indicator: 2</title>"),
            "{}",
            home.body
        );
        // One more stored: the counts and the chart agree at once.
        n.post_objects(B, &indicator(3, "third.example")).await;
        let home = n.get("/", Some(&admin)).await;
        assert!(
            home.body
                .contains(">3</div><div class=\"what\">objects you can read"),
            "{}",
            home.body
        );
        assert!(
            home.body.contains("<title>indicator: 3</title>"),
            "{}",
            home.body
        );
        let link = format!("/ui/objects/{}/{beta_id}", store_of(&r.body, beta_id));
        let obj = n.get(&link, Some(&admin)).await;
        assert_eq!(obj.status, StatusCode::OK, "{link}");
        assert!(obj.body.contains("beta-secret.example"));
        // Its trail in the log, and the proof of its record.
        let trail = n.get(&format!("{link}/log"), Some(&admin)).await;
        assert_eq!(trail.status, StatusCode::OK, "{}", trail.body);
        assert!(trail.body.contains("stored"), "{}", trail.body);
        let at = trail.body.find("/ui/log/proof/").unwrap() + "/ui/log/proof/".len();
        let index: String = trail.body[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let proof = n.get(&format!("/ui/log/proof/{index}"), Some(&admin)).await;
        assert_eq!(proof.status, StatusCode::OK, "{}", proof.body);
        assert!(proof.body.contains("Checked here"), "{}", proof.body);
        // The checkpoint the proof was checked against is in the history.
        let log = n.get("/ui/log", Some(&admin)).await;
        assert!(log.body.contains("Checkpoints signed"), "{}", log.body);
        assert!(
            !log.body
                .contains("<h2>Checkpoints signed</h2><p class=\"empty\">"),
            "{}",
            log.body
        );
        assert!(proof.body.contains(beta_id));
        // alice cannot read beta: neither its trail nor its record's proof.
        let r = n.get(&format!("{link}/log"), Some(&alice)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = n.get(&format!("/ui/log/proof/{index}"), Some(&alice)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert!(!r.body.contains(beta_id));

        // alice may read cases but not open one.
        let cases = n.get("/ui/cases", Some(&alice)).await;
        let csrf = hidden(&cases.body, "csrf").unwrap();
        let r = n
            .post(
                "/ui/cases",
                Some(&alice),
                &[
                    ("csrf", &csrf),
                    ("partner", "eu"),
                    ("severity", "high"),
                    ("title", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    });
}

/// The store collection in an object link `/ui/objects/{store}/{id}`.
fn store_of(body: &str, id: &str) -> String {
    let end = body.find(&format!("/{id}\"")).unwrap();
    let start = body[..end].rfind("/ui/objects/").unwrap() + "/ui/objects/".len();
    body[start..end].to_owned()
}

#[test]
fn a_case_is_opened_and_answered_from_the_pages() {
    let n = node();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let admin = n.login("admin", "right").await.unwrap();
        let cases = n.get("/ui/cases", Some(&admin)).await;
        assert!(cases.body.contains("No case yet"), "{}", cases.body);
        let csrf = hidden(&cases.body, "csrf").unwrap();
        // Without the token: nothing opened.
        let r = n
            .post(
                "/ui/cases",
                Some(&admin),
                &[("partner", "eu"), ("severity", "high"), ("title", "Scans")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            n.get("/ui/cases", Some(&admin))
                .await
                .body
                .contains("No case yet")
        );
        let r = n
            .post(
                "/ui/cases",
                Some(&admin),
                &[
                    ("csrf", &csrf),
                    ("partner", "eu"),
                    ("severity", "critical"),
                    ("title", "Scans from AS64500 <b>"),
                    ("description", "Seen at 03:00."),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let case_page = r.location.unwrap();
        assert!(case_page.starts_with("/ui/cases/incident--"), "{case_page}");
        let page = n.get(&case_page, Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("Scans from AS64500 &lt;b&gt;"),
            "{}",
            page.body
        );
        assert!(page.body.contains("critical") && page.body.contains("open"));
        // The opener cannot acknowledge its own case: refused, named.
        let r = n
            .post(
                &case_page,
                Some(&admin),
                &[("csrf", &csrf), ("action", "ack")],
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        // A reply goes into the thread.
        let r = n
            .post(
                &case_page,
                Some(&admin),
                &[
                    ("csrf", &csrf),
                    ("action", "reply"),
                    ("text", "More logs attached soon."),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let page = n.get(&case_page, Some(&admin)).await;
        assert!(
            page.body.contains("More logs attached soon."),
            "{}",
            page.body
        );
        // The overview lists it among open cases.
        let home = n.get("/", Some(&admin)).await;
        assert!(home.body.contains("Scans from AS64500"), "{}", home.body);
    });
}

/// A sighting of an indicator that points into a protected facility is
/// shown apart, with the facility's name, on the sightings page.
#[test]
fn hits_on_protected_facilities_are_highlighted() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    {
        let store = accord_store::SqliteStore::open(&config.data_dir).unwrap();
        let f = accord_app::facility::Facility {
            name: "Example Exchange".into(),
            owner: None,
            sector: Some("finance".into()),
            jurisdiction: "DE".into(),
            networks: vec!["198.51.100.0/24".into()],
            domains: vec![],
            asns: vec![],
        };
        accord_app::facility::add(
            &store,
            "identity--11111111-2222-4333-8444-555555555555",
            &[f],
            accord_stix::Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
        )
        .unwrap();
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (addr, rt) = start(config);
    let n = Node {
        addr,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _rt: rt,
        _dir: dir,
    };
    let ind = "indicator--00000009-1111-4111-8111-111111111111";
    let objects = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{ind}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}},{{"type":"sighting","spec_version":"2.1","id":"sighting--00000009-1111-4111-8111-111111111111","created":"2026-02-01T00:00:00.000Z","modified":"2026-02-01T00:00:00.000Z","sighting_of_ref":"{ind}","count":3}}"#
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        n.post_objects(A, &objects).await;
        let admin = n.login("admin", "right").await.unwrap();
        let page = n.get("/ui/sightings", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("Hits on protected facilities"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Example Exchange"), "{}", page.body);
        assert!(page.body.contains(ind));
    });
}

/// Object search by label, TLP, origin and day added.
#[test]
fn objects_are_found_by_label_tlp_origin_and_day() {
    let n = node();
    let green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    let marked = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--0000000a-1111-4111-8111-111111111111","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"marked.example","labels":["phishing"],"object_marking_refs":["{green}"],"pattern":"[domain-name:value = 'marked.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        n.post_objects(A, &marked).await;
        let admin = n.login("admin", "right").await.unwrap();
        let marked_id = "indicator--0000000a-1111-4111-8111-111111111111";
        let plain_id = "indicator--00000001-1111-4111-8111-111111111111";
        let shows = |body: &str, id: &str| body.contains(&format!("/{id}\""));
        for (query, want_marked, want_plain) in [
            ("label=phishing", true, false),
            ("tlp=green", true, false),
            ("tlp=clear", false, true),
            ("tlp=red", false, false),
            ("since=2000-01-01", true, true),
            ("since=2999-01-01", false, false),
            ("from=nobody", false, false),
            ("label=phishing&q=marked", true, false),
            ("label=phishing&q=other", false, false),
        ] {
            let r = n.get(&format!("/ui/objects?{query}"), Some(&admin)).await;
            assert_eq!(r.status, StatusCode::OK, "{query}");
            assert_eq!(
                shows(&r.body, marked_id),
                want_marked,
                "{query}: {}",
                r.body
            );
            assert_eq!(shows(&r.body, plain_id), want_plain, "{query}: {}", r.body);
        }
        // The origin the objects were stored with finds them.
        let all = n.get("/ui/objects", Some(&admin)).await;
        let at = all.body.find(marked_id).unwrap();
        let row = &all.body[at..];
        let origin: String = row
            .split("<td>")
            .nth(3)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned();
        let r = n
            .get(&format!("/ui/objects?from={origin}"), Some(&admin))
            .await;
        assert!(shows(&r.body, marked_id), "from={origin}: {}", r.body);
        for bad in ["tlp=purple", "since=yesterday"] {
            let r = n.get(&format!("/ui/objects?{bad}"), Some(&admin)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    });
}

/// Values are found through the search index, whatever their age: in any
/// case (the bounded scan of the newest versions compares bytes, the index
/// lower case) and by the start of a value.
#[test]
fn values_are_found_through_the_search_index() {
    let n = node();
    let id = "indicator--0000000b-1111-4111-8111-111111111111";
    let obj = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Beacon","pattern":"[domain-name:value = 'MixedCase.Example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        n.post_objects(A, &obj).await;
        let admin = n.login("admin", "right").await.unwrap();
        let shows = |body: &str| body.contains(&format!("/{id}\""));
        // The indexer runs every 2 s.
        let mut found = false;
        for _ in 0..100 {
            let r = n.get("/ui/objects?q=mixedcase.example", Some(&admin)).await;
            assert_eq!(r.status, StatusCode::OK);
            if shows(&r.body) {
                found = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(found, "never found through the index");
        for (q, want) in [
            ("MIXEDCASE.EXAMPLE", true),
            ("mixedc", true),
            ("mi", false),
            ("beacon", true),
            ("mixedcase.example.org", false),
        ] {
            let r = n.get(&format!("/ui/objects?q={q}"), Some(&admin)).await;
            assert_eq!(shows(&r.body), want, "q={q}: {}", r.body);
        }
        // The bounded scan alone compares bytes: the exact spelling.
        let r = n.get("/ui/objects?q=MixedCase", Some(&admin)).await;
        assert!(shows(&r.body));
    });
}
