//! Accord's TAXII client and sync against the real OASIS `medallion` 3.0.0
//! server (memory backend), started here on 127.0.0.1 with a free port.
//!
//! medallion comes from the workspace's `.venv` (made by `./test.sh`), or
//! from the Python named by `ACCORD_PYTHON`. Its quirks that shape these
//! tests are listed in `../shared/peers/PEERS.md`: a `next` request must
//! carry `limit` (the client always sends it), `limit` is clamped to
//! `max_page_size` silently, and `next` sessions expire 30 s after the
//! first page (these tests read far faster).

use accord_app::pull::{SyncOptions, sync_collection};
use accord_client::{Auth, ClientError, ClientOptions, Filter, TaxiiClient};
use accord_store::{SqliteStore, Store};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const USER: &str = "accord";
const PASSWORD: &str = "s3cret-for-tests";
const API_ROOT: &str = "api1";
const FEED: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
const READ_ONLY: &str = "52892447-4d7e-4f70-b94d-d7f22742ff63";
const MAX_PAGE_SIZE: usize = 100;

/// A medallion process, killed when dropped (also when a test panics).
struct Medallion {
    child: Child,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Medallion {
    fn drop(&mut self) {
        // The process this test started, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Medallion {
    fn api_root(&self) -> String {
        format!("{}/{API_ROOT}/", self.base)
    }

    fn collection_url(&self, id: &str) -> String {
        format!("{}/{API_ROOT}/collections/{id}/", self.base)
    }

    fn client(&self, auth: Auth) -> TaxiiClient {
        TaxiiClient::new(&self.base, auth).unwrap()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts medallion with an empty writable collection and an empty
    /// read-only one, and waits (bounded) until it answers discovery.
    async fn start() -> Medallion {
        let python = accord_testkit::python("medallion");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let collection = |id: &str, title: &str, can_write: bool| {
            serde_json::json!({
                "id": id, "title": title, "description": "for Accord's client tests",
                "can_read": true, "can_write": can_write,
                "media_types": ["application/stix+json;version=2.1"],
                "objects": [], "manifest": []
            })
        };
        let data = serde_json::json!({
            "/discovery": {
                "title": "medallion for Accord tests",
                "description": "memory backend",
                "contact": "tests@localhost",
                "default": format!("{base}/{API_ROOT}/"),
                "api_roots": [format!("{base}/{API_ROOT}/")]
            },
            API_ROOT: {
                "information": {
                    "title": "API root 1",
                    "description": "one API root",
                    "versions": ["application/taxii+json;version=2.1"],
                    "max_content_length": 104_857_600
                },
                "status": [],
                "collections": [collection(FEED, "feed", true), collection(READ_ONLY, "read only", false)]
            }
        });
        let data_path = dir.path().join("data.json");
        std::fs::write(&data_path, serde_json::to_vec_pretty(&data).unwrap()).unwrap();
        let config = serde_json::json!({
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": data_path,
            },
            "users": { USER: PASSWORD },
            "taxii": { "max_page_size": MAX_PAGE_SIZE }
        });
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let log = dir.path().join("medallion.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(&python)
            .args([
                "-m",
                "medallion.scripts.run",
                "--host",
                "127.0.0.1",
                "--port",
            ])
            .arg(port.to_string())
            .args(["--log-level", "WARN"])
            .arg(&config_path)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start medallion with {}: {e}", python.display()));
        let mut m = Medallion {
            child,
            base,
            log,
            _dir: dir,
        };
        let probe = TaxiiClient::with_options(
            &m.base,
            Auth::Basic {
                user: USER.into(),
                password: PASSWORD.into(),
            },
            ClientOptions {
                request_timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(1),
                ..ClientOptions::default()
            },
        )
        .unwrap();
        // Bounded: 600 tries 50 ms apart, plus each try's own timeout.
        for _ in 0..600 {
            if let Some(status) = m.child.try_wait().unwrap() {
                panic!(
                    "medallion exited ({status}) before answering:\n{}",
                    m.log_text()
                );
            }
            if probe.discovery().await.is_ok() {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "medallion did not answer discovery at {}:\n{}",
            m.base,
            m.log_text()
        );
    }
}

fn basic() -> Auth {
    Auth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }
}

/// The demo STIX objects (all files but the large ATT&CK one, which
/// medallion's quadratic paging would make slow), one per id, in file order.
///
/// Objects with a STIX `version` property (extension definitions, software)
/// are left out: medallion 3.0.0 mistakes it for a manifest's `version`,
/// parses `"1.0.0"` as a timestamp, and answers every later GET of the
/// collection with HTTP 500.
fn demo_objects() -> Vec<Value> {
    let dir = accord_testkit::fixture("stix");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("ics-attack")
        })
        .collect();
    files.sort();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for f in files {
        let doc: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let objs = match doc.get("objects") {
            Some(Value::Array(a)) => a.clone(),
            _ => vec![doc],
        };
        for o in objs {
            if o.get("version").is_some() {
                continue;
            }
            if seen.insert(o["id"].as_str().unwrap().to_owned()) {
                out.push(o);
            }
        }
    }
    assert!(
        out.len() > 300,
        "expected a few hundred demo objects, found {}",
        out.len()
    );
    out
}

/// An indicator without its required `pattern`: medallion takes it, Accord's
/// validator does not.
fn invalid_indicator() -> Value {
    serde_json::json!({
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--0d1e3d7c-7d3e-4e63-9a6c-5a1f2b0c9e11",
        "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
        "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"
    })
}

/// A second version of the first indicator among `objs`.
fn second_version(objs: &[Value]) -> Value {
    let mut v = objs
        .iter()
        .find(|o| o["type"] == "indicator" && o.get("modified").is_some())
        .unwrap()
        .clone();
    v["modified"] = Value::String("2030-01-01T00:00:00.000Z".into());
    v["name"] = Value::String("second version, made by the test".into());
    v
}

fn id_of(raw: &serde_json::value::RawValue) -> String {
    let v: Value = serde_json::from_str(raw.get()).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

/// Posts `objs` in envelopes of 100; returns each envelope's status.
async fn post_all(client: &TaxiiClient, url: &str, objs: &[Value]) -> Vec<accord_client::Status> {
    let mut out = Vec::new();
    for env in objs.chunks(100) {
        let st = client.add_objects(url, env).await.unwrap();
        assert!(st.is_complete(), "{st:?}");
        assert_eq!(st.success_count, env.len() as u64, "{st:?}");
        assert_eq!(st.failure_count, 0, "{st:?}");
        assert_eq!(st.total_count, env.len() as u64);
        out.push(st);
    }
    out
}

/// Reads every page of `filter` with a small limit, checking the date
/// headers are in order; returns the ids in the order read.
async fn read_all(client: &TaxiiClient, url: &str, filter: Filter, limit: usize) -> Vec<String> {
    let mut pages = client.object_pages(url, filter, limit);
    let mut ids = Vec::new();
    let mut last_date: Option<String> = None;
    while let Some(page) = pages.next_page().await.unwrap() {
        assert!(page.objects.len() <= limit.min(MAX_PAGE_SIZE));
        if page.more {
            assert!(page.next.is_some(), "medallion gives `next` with `more`");
        }
        if !page.objects.is_empty() {
            let first = page.date_added_first.clone().unwrap();
            let last = page.date_added_last.clone().unwrap();
            assert!(first <= last);
            if let Some(prev) = &last_date {
                assert!(
                    prev <= &first,
                    "pages out of date order: {prev} then {first}"
                );
            }
            last_date = Some(last);
        }
        ids.extend(page.objects.iter().map(|o| id_of(o)));
    }
    ids
}

fn assert_each_once(ids: &[String], expected: &BTreeSet<String>) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "ids read more than once: {repeated:?}");
    let got: BTreeSet<String> = ids.iter().cloned().collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, unexpected {extra:?}"
    );
}

/// medallion's rule for an object's spec version (`determine_spec_version`).
fn medallion_spec_version(o: &Value) -> &str {
    if o.get("created").is_none() && o.get("modified").is_none() {
        "2.1"
    } else {
        o.get("spec_version")
            .and_then(Value::as_str)
            .unwrap_or("2.0")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_speaks_taxii_2_1_with_medallion() {
    let m = Medallion::start().await;
    let client = m.client(basic());

    // Discovery, API root, collections.
    let d = client.discovery().await.unwrap();
    assert_eq!(d.title, "medallion for Accord tests");
    assert_eq!(d.default.as_deref(), Some(m.api_root().as_str()));
    assert_eq!(d.api_roots, vec![m.api_root()]);
    let root = client.api_root(&d.api_roots[0]).await.unwrap();
    assert_eq!(root.versions, vec!["application/taxii+json;version=2.1"]);
    assert_eq!(root.max_content_length, 104_857_600);
    let colls = client.collections(&m.api_root()).await.unwrap();
    let ids: Vec<&str> = colls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec![FEED, READ_ONLY]);
    let feed = client.collection(&m.api_root(), FEED).await.unwrap();
    assert!(feed.can_read && feed.can_write);
    assert_eq!(feed.title, "feed");
    let url = client.collection_url(&m.api_root(), FEED).unwrap();
    assert_eq!(url, m.collection_url(FEED));

    // An empty collection is one empty page.
    let empty = client
        .get_objects(&url, &Filter::new(), Some(10), None)
        .await
        .unwrap();
    assert!(empty.objects.is_empty() && !empty.more && empty.next.is_none());

    // Add the demo objects in several envelopes.
    let objs = demo_objects();
    let statuses = post_all(&client, &url, &objs).await;
    assert!(statuses.len() >= 3);
    let st = client.status(&m.api_root(), &statuses[0].id).await.unwrap();
    assert_eq!(st, statuses[0]);
    let v2 = second_version(&objs);
    let v2_id = v2["id"].as_str().unwrap().to_owned();
    post_all(&client, &url, std::slice::from_ref(&v2)).await;
    // The same version again is refused, with a reason per object.
    let again = client.add_objects(&url, &objs[..3]).await.unwrap();
    assert!(again.is_complete());
    assert_eq!((again.success_count, again.failure_count), (0, 3));
    assert_eq!(again.failures.len(), 3);
    assert!(again.failures.iter().all(|f| f.message.is_some()));
    assert_eq!(again.failures[0].id, objs[0]["id"].as_str().unwrap());

    let all_ids: BTreeSet<String> = objs
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();

    // Paging: a small limit, several pages, every id exactly once.
    let ids = read_all(&client, &url, Filter::new(), 40).await;
    assert_each_once(&ids, &all_ids);
    assert!(ids.len() > 40 * 3);
    // A limit above max_page_size is clamped by medallion; paging still works.
    let big = client
        .get_objects(&url, &Filter::new(), Some(1000), None)
        .await
        .unwrap();
    assert_eq!(big.objects.len(), MAX_PAGE_SIZE);
    assert!(big.more);
    let pages = client
        .get_all_objects(&url, &Filter::new(), 1000)
        .await
        .unwrap();
    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.objects.iter().map(|o| id_of(o)))
        .collect();
    assert_each_once(&ids, &all_ids);

    // match[type], several types.
    let types = ["indicator", "malware"];
    let expected: BTreeSet<String> = objs
        .iter()
        .filter(|o| types.contains(&o["type"].as_str().unwrap()))
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(expected.len() > 10);
    let ids = read_all(&client, &url, Filter::new().types(types), 25).await;
    assert_each_once(&ids, &expected);

    // match[id], two ids.
    let two: BTreeSet<String> = [
        objs[5]["id"].as_str().unwrap(),
        objs[200]["id"].as_str().unwrap(),
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let ids = read_all(&client, &url, Filter::new().ids(two.iter().cloned()), 40).await;
    assert_each_once(&ids, &two);

    // match[version]: last by default, first, all, and a timestamp.
    let first_version = objs.iter().find(|o| o["id"] == v2_id.as_str()).unwrap()["modified"]
        .as_str()
        .unwrap()
        .to_owned();
    let versions_of = |page: accord_client::ObjectsPage| -> Vec<String> {
        page.objects
            .iter()
            .map(|o| {
                serde_json::from_str::<Value>(o.get()).unwrap()["modified"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let by_id = Filter::new().ids([v2_id.clone()]);
    let last = client
        .get_objects(&url, &by_id, Some(10), None)
        .await
        .unwrap();
    assert_eq!(versions_of(last), vec!["2030-01-01T00:00:00.000Z"]);
    let first = client
        .get_objects(&url, &by_id.clone().versions(["first"]), Some(10), None)
        .await
        .unwrap();
    assert_eq!(versions_of(first), vec![first_version.clone()]);
    let mut all = versions_of(
        client
            .get_objects(&url, &by_id.clone().versions(["all"]), Some(10), None)
            .await
            .unwrap(),
    );
    all.sort();
    assert_eq!(
        all,
        vec![first_version.clone(), "2030-01-01T00:00:00.000Z".to_owned()]
    );
    let at = client
        .get_objects(
            &url,
            &by_id.clone().versions([first_version.clone()]),
            Some(10),
            None,
        )
        .await
        .unwrap();
    assert_eq!(versions_of(at), vec![first_version.clone()]);

    // match[spec_version].
    let expected: BTreeSet<String> = objs
        .iter()
        .filter(|o| medallion_spec_version(o) == "2.1")
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    let ids = read_all(&client, &url, Filter::new().spec_versions(["2.1"]), 60).await;
    assert_each_once(&ids, &expected);

    // added_after: what came after the first envelope.
    let after = statuses[0].request_timestamp.clone().unwrap();
    // The second version of `v2_id` was added last, so its id is there too.
    let expected: BTreeSet<String> = objs[100..]
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .chain([v2_id.clone()])
        .collect();
    let ids = read_all(&client, &url, Filter::new().added_after(after.clone()), 50).await;
    assert_each_once(&ids, &expected);
    // Filters combine: added_after and match[type].
    let expected: BTreeSet<String> = objs[100..]
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .chain([v2_id.clone()])
        .collect();
    let ids = read_all(
        &client,
        &url,
        Filter::new().added_after(after).types(["indicator"]),
        50,
    )
    .await;
    assert_each_once(&ids, &expected);

    // Manifest, paged.
    let mut records = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = client
            .manifest(&url, &Filter::new(), Some(70), next.as_deref())
            .await
            .unwrap();
        records.extend(page.objects);
        if !page.more {
            break;
        }
        next = page.next;
        assert!(next.is_some());
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    assert_each_once(&ids, &all_ids);
    assert!(
        records
            .iter()
            .all(|r| !r.date_added.is_empty() && !r.version.is_empty())
    );
    let rec = records.iter().find(|r| r.id == v2_id).unwrap();
    assert_eq!(rec.version, "2030-01-01T00:00:00.000Z");

    // Versions of one object, and one object.
    let versions = client
        .object_versions(&url, &v2_id, &Filter::new(), None, None)
        .await
        .unwrap();
    assert_eq!(
        versions.versions,
        vec!["2030-01-01T00:00:00.000Z".to_owned(), first_version.clone()]
    );
    assert!(!versions.more);
    let one = client
        .object(&url, &v2_id, &Filter::new(), None, None)
        .await
        .unwrap();
    assert_eq!(one.objects.len(), 1);
    assert_eq!(id_of(&one.objects[0]), v2_id);
    let both = client
        .object(&url, &v2_id, &Filter::new().versions(["all"]), None, None)
        .await
        .unwrap();
    assert_eq!(both.objects.len(), 2);

    // Delete one version, then the object.
    client
        .delete_object(
            &url,
            &v2_id,
            &Filter::new().versions([first_version.clone()]),
        )
        .await
        .unwrap();
    let versions = client
        .object_versions(&url, &v2_id, &Filter::new(), None, None)
        .await
        .unwrap();
    assert_eq!(
        versions.versions,
        vec!["2030-01-01T00:00:00.000Z".to_owned()]
    );
    let gone = objs[7]["id"].as_str().unwrap();
    client
        .delete_object(&url, gone, &Filter::new())
        .await
        .unwrap();
    let e = client
        .object(&url, gone, &Filter::new(), None, None)
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), Some(404), "{e}");
    let ClientError::Http {
        message: Some(msg), ..
    } = &e
    else {
        panic!("expected a TAXII error message: {e:?}");
    };
    assert_eq!(msg.title, "ProcessingError");
    assert!(
        msg.description.as_deref().unwrap().contains(gone),
        "{msg:?}"
    );
    let ids = read_all(&client, &url, Filter::new(), 100).await;
    assert_eq!(ids.len(), all_ids.len() - 1);

    // Writing to a read-only collection: 403 with medallion's reason.
    let ro = m.collection_url(READ_ONLY);
    let e = client.add_objects(&ro, &objs[..1]).await.unwrap_err();
    assert_eq!(e.http_status(), Some(403), "{e}");
    assert!(
        e.to_string().contains("Forbidden to write collection"),
        "{e}"
    );

    // Unknown API root and collection: 404 naming them.
    let e = client
        .collections(&format!("{}/nope/", m.base))
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), Some(404), "{e}");
    assert!(e.to_string().contains("API root 'nope'"), "{e}");

    // A `next` that the server does not know: 400, with the description.
    let e = client
        .get_objects(&url, &Filter::new(), Some(10), Some("no-such-session"))
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), Some(400), "{e}");
    assert!(e.to_string().contains("'next' not valid"), "{e}");

    // Wrong password, and no credentials: 401, typed as such.
    let wrong = m.client(Auth::Basic {
        user: USER.into(),
        password: "wrong".into(),
    });
    let e = wrong.discovery().await.unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");
    assert!(e.to_string().contains("HTTP 401"), "{e}");
    let e = m
        .client(Auth::None)
        .get_objects(&url, &Filter::new(), None, None)
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");
    // medallion only does Basic: a bearer token is refused too.
    let e = m
        .client(Auth::Bearer("token".into()))
        .discovery()
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");
    drop(m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_pulls_a_medallion_collection_incrementally() {
    let m = Medallion::start().await;
    let client = m.client(basic());
    let url = m.collection_url(FEED);
    let mut objs = demo_objects();
    objs.insert(150, invalid_indicator());
    let v2 = second_version(&objs);
    post_all(&client, &url, &objs).await;
    post_all(&client, &url, std::slice::from_ref(&v2)).await;
    objs.push(v2);

    // What Accord's validator thinks, computed here independently.
    let invalid: BTreeSet<String> = objs
        .iter()
        .filter(|o| {
            let obj = accord_stix::Object::from_value((*o).clone()).unwrap();
            !accord_stix::is_valid(&accord_stix::validate_object(&obj))
        })
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(invalid.contains(invalid_indicator()["id"].as_str().unwrap()));
    let n_valid = (objs.len() - invalid.len()) as u64;

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let opts = SyncOptions {
        page_limit: 40,
        ..SyncOptions::default()
    };
    let r = sync_collection(&client, &url, store.writer(), "partner", "medallion", &opts)
        .await
        .unwrap();
    assert_eq!(r.fetched, objs.len() as u64, "{r:?}");
    assert_eq!(r.stored, n_valid, "{r:?}");
    assert_eq!(r.duplicates, 0);
    assert!(r.conflicts.is_empty(), "{:?}", r.conflicts);
    let rejected: BTreeSet<String> = r.rejected.iter().map(|x| x.id.clone().unwrap()).collect();
    assert_eq!(rejected, invalid);
    let bad = r
        .rejected
        .iter()
        .find(|x| x.id.as_deref() == invalid_indicator()["id"].as_str())
        .unwrap();
    assert!(bad.reason.contains("pattern"), "{bad:?}");
    assert!(r.pages >= objs.len().div_ceil(40), "{r:?}");
    let cursor = r
        .next_added_after
        .clone()
        .expect("a cursor after a non-empty sync");
    assert_eq!(store.count(Some("partner")).unwrap(), n_valid);
    // Both versions of the updated indicator are stored.
    let v2_id = objs.last().unwrap()["id"].as_str().unwrap();
    assert_eq!(store.get_versions("partner", v2_id).unwrap().len(), 2);
    assert!(
        store
            .get_versions("partner", v2_id)
            .unwrap()
            .iter()
            .all(|v| v.origin == "medallion")
    );
    store.integrity_check().unwrap();

    // Nothing changed: one empty page, nothing stored, the same cursor.
    let opts2 = SyncOptions {
        since: Some(cursor.clone()),
        ..opts.clone()
    };
    let r2 = sync_collection(
        &client,
        &url,
        store.writer(),
        "partner",
        "medallion",
        &opts2,
    )
    .await
    .unwrap();
    assert_eq!((r2.pages, r2.fetched, r2.stored), (1, 0, 0), "{r2:?}");
    assert_eq!(r2.next_added_after.as_deref(), Some(cursor.as_str()));
    assert_eq!(store.count(Some("partner")).unwrap(), n_valid);

    // One new object: the next incremental sync reads just it.
    let new = serde_json::json!({
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--5b1e3c7a-2f6d-4c8e-9a0b-1c2d3e4f5a6b",
        "created": "2025-05-05T05:05:05.000Z", "modified": "2025-05-05T05:05:05.000Z",
        "name": "added between syncs",
        "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix",
        "valid_from": "2025-05-05T05:05:05Z"
    });
    post_all(&client, &url, std::slice::from_ref(&new)).await;
    let r3 = sync_collection(
        &client,
        &url,
        store.writer(),
        "partner",
        "medallion",
        &opts2,
    )
    .await
    .unwrap();
    assert_eq!((r3.fetched, r3.stored, r3.duplicates), (1, 1, 0), "{r3:?}");
    let cursor3 = r3.next_added_after.clone().unwrap();
    assert!(cursor3 > cursor, "{cursor3} after {cursor}");
    assert_eq!(store.count(Some("partner")).unwrap(), n_valid + 1);

    // A full sync again is idempotent: everything is a duplicate.
    let r4 = sync_collection(&client, &url, store.writer(), "partner", "medallion", &opts)
        .await
        .unwrap();
    assert_eq!(r4.stored, 0, "{r4:?}");
    assert_eq!(r4.duplicates, n_valid + 1);
    assert_eq!(r4.next_added_after.as_deref(), Some(cursor3.as_str()));
    store.integrity_check().unwrap();

    // A sync that cannot read says which URL and keeps the caller's cursor.
    let wrong = m.client(Auth::Basic {
        user: USER.into(),
        password: "wrong".into(),
    });
    let e = sync_collection(&wrong, &url, store.writer(), "partner", "medallion", &opts2)
        .await
        .unwrap_err();
    assert!(e.to_string().contains(&url), "{e}");
    assert_eq!(
        e.report().next_added_after.as_deref(),
        Some(cursor.as_str())
    );
    assert_eq!(e.report().stored, 0);
    drop(m);
}

#[tokio::test]
async fn connection_refused_names_the_url() {
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = TaxiiClient::new(&format!("http://127.0.0.1:{port}/"), Auth::None).unwrap();
    let e = client.discovery().await.unwrap_err();
    assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("http://127.0.0.1:{port}/taxii2/")),
        "{e}"
    );
}
