//! A push cut between the POST and the cursor (`accord_app::push` and the
//! store's push journal): node `a` pushes to node `b`, both real TAXII
//! servers on 127.0.0.1. `b` stores a POSTed batch and then never answers
//! (the round is dropped at that instant, as a crash would stop it), or is
//! down when the batch is POSTed; `a` is then reopened from its data
//! directory ("restarted"). Every object reaches `b`, once, and `a`'s log
//! holds exactly one `out` record per object, each written before its
//! object left.

use accord_app::config::Config;
use accord_app::exchange::{Admission, Counterparty, Exchange};
use accord_app::partner::Partner;
use accord_app::push::push_cursor_key;
use accord_app::scheduler::{Federation, SchedulerOptions, run_round};
use accord_client::ClientOptions;
use accord_ledger::{Direction, ExchangeRecord};
use accord_stix::SystemClock;
use accord_store::{ObjectRead, SqliteStore};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const PASSWORD: &str = "s3cret-push-journal";
const B_INBOX: &str = "bbbbbbbb-0000-4000-8000-000000000002";

fn indicator(n: u32) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{n:08x}-000a-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'c2-{n}.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#
    )
}

/// Stores indicators `range` in `a`'s `local` collection.
fn put_local(store: &SqliteStore, range: std::ops::Range<u32>) {
    let raws: Vec<String> = range.map(indicator).collect();
    let ex = Exchange::default();
    let metas: Vec<_> = raws
        .iter()
        .map(|r| match ex.admit(Counterparty::Local, r) {
            Admission::Admitted { meta, .. } => meta,
            Admission::Rejected(r) => panic!("{r:?}"),
        })
        .collect();
    let batch: Vec<_> = metas
        .iter()
        .zip(&raws)
        .map(|(m, r)| m.new_object(r, "local", "local"))
        .collect();
    store.writer().put_batch(&batch).unwrap();
}

/// `a`: a `local` collection, partner `b` pushed to (nothing pulled).
fn config_a(data: &Path, b: std::net::SocketAddr) -> Config {
    let pw = data.join("partner-password");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    Config::parse(
        &format!(
            r#"
data_dir = "{data}"
[[api_roots]]
name = "api1"
title = "t"
[[api_roots.collections]]
id = "aaaaaaaa-0000-4000-8000-000000000001"
store_name = "local"
title = "local"
[[partners]]
name = "b"
url = "http://{b}/"
verifier_key = ""
user = "a"
password_file = "{pw}"
api_root = "api1"
[partners.sync]
push = "{B_INBOX}"
"#,
            data = data.display(),
            pw = pw.display(),
        ),
        "a.toml",
    )
    .unwrap()
}

/// `b`: an inbox `a` may write to.
fn config_b(data: &Path) -> Config {
    Config::parse(
        &format!(
            r#"
data_dir = "{data}"
[[api_roots]]
name = "api1"
title = "t"
[[api_roots.collections]]
id = "{B_INBOX}"
store_name = "from-a"
title = "inbox"
[[accounts]]
name = "a"
password_hash = "{hash}"
read = ["*"]
write = ["{B_INBOX}"]
"#,
            data = data.display(),
            hash = accord_node::auth::hash_password(PASSWORD).unwrap(),
        ),
        "b.toml",
    )
    .unwrap()
}

/// What `b`'s server does with the POST it is asked to hold.
#[derive(Default)]
struct Hold {
    /// POSTs answered so far.
    posts: AtomicUsize,
    /// The POST (1-based) to store and then answer only after `a` has
    /// given up on it; 0 for none.
    hold: AtomicUsize,
    /// Told once the held POST is stored.
    stored: tokio::sync::Notify,
}

/// `b`'s TAXII server on `listener`, with `hold` between its router and
/// the network, until the returned sender is used or dropped.
fn serve_b(
    rt: &tokio::runtime::Runtime,
    config: Config,
    store: &SqliteStore,
    listener: std::net::TcpListener,
    hold: Arc<Hold>,
) -> tokio::sync::oneshot::Sender<()> {
    let state = accord_node::server::AppState::new(config, Box::new(store.try_clone().unwrap()));
    let app = accord_node::server::router(state).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let hold = Arc::clone(&hold);
            async move {
                let post = req.method() == axum::http::Method::POST;
                let res = next.run(req).await;
                if post {
                    let n = hold.posts.fetch_add(1, Ordering::SeqCst) + 1;
                    if n == hold.hold.load(Ordering::SeqCst) {
                        // Stored (a POST is answered once durable): the
                        // answer never leaves.
                        hold.stored.notify_one();
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
                res
            }
        },
    ));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(async move {
        listener.set_nonblocking(true).unwrap();
        let l = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(l, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    tx
}

/// `addr` again, once the stopped server's socket is closed.
fn bind(addr: std::net::SocketAddr) -> std::net::TcpListener {
    let start = std::time::Instant::now();
    loop {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => return l,
            Err(e) if start.elapsed() > Duration::from_secs(10) => panic!("binding {addr}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn federation(config: &Config) -> Federation {
    Federation::new(
        config.clone(),
        Exchange::default(),
        Arc::new(SystemClock),
        SchedulerOptions {
            client: ClientOptions {
                request_timeout: Duration::from_secs(5),
                read_timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_millis(500),
                ..ClientOptions::default()
            },
            push_batch: 50,
            ..SchedulerOptions::default()
        },
    )
}

/// `a`'s `out` records to `b`: object id → how many.
fn out_records(a: &SqliteStore) -> BTreeMap<String, usize> {
    let size = a.ledger_size().unwrap();
    let mut out = BTreeMap::new();
    for e in a.ledger_entries(0, size).unwrap() {
        let r = ExchangeRecord::from_leaf_bytes(&e.leaf).unwrap();
        if r.direction == Direction::Out && r.partner.as_deref() == Some("b") {
            *out.entry(r.object_id).or_default() += 1;
        }
    }
    out
}

/// The ids `b` holds from `a`.
fn held_by_b(b: &SqliteStore) -> Vec<String> {
    let page = b
        .query(
            &accord_store::Query {
                collection: Some("from-a".into()),
                ..Default::default()
            },
            10_000,
        )
        .unwrap();
    page.objects.into_iter().map(|o| o.id).collect()
}

#[test]
fn a_push_cut_after_the_post_or_before_it_is_delivered_once_and_recorded_once() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let lb = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b_addr = lb.local_addr().unwrap();
    let (ca, cb) = (config_a(da.path(), b_addr), config_b(db.path()));
    let b = SqliteStore::open(db.path()).unwrap();
    let hold = Arc::new(Hold::default());
    let stop_b = serve_b(&rt, cb.clone(), &b, lb, Arc::clone(&hold));
    let key = push_cursor_key("b", "local");

    // 1. `b` stores the second batch of 50 and never answers; the round is
    // dropped right then (a crash of `a` between the POST and the cursor).
    let a = SqliteStore::open(da.path()).unwrap();
    put_local(&a, 0..120);
    hold.hold.store(2, Ordering::SeqCst);
    {
        let fed = federation(&ca);
        let p = Partner::named(Some(fed.config()), "b").unwrap();
        let cut = rt.block_on(async {
            tokio::select! {
                r = run_round(&fed, &a, &p) => Some(r),
                () = hold.stored.notified() => None,
            }
        });
        assert!(cut.is_none(), "the round was not cut: {cut:?}");
    }
    assert_eq!(held_by_b(&b).len(), 100);
    // Each object that left has its `out` record already, once.
    let records = out_records(&a);
    for id in held_by_b(&b) {
        assert_eq!(records.get(&id), Some(&1), "{id}: {records:?}");
    }
    assert_eq!(records.len(), 100);
    let pending = a.push_pending(&key).unwrap().unwrap();
    assert_eq!(pending.objects.len(), 50);
    drop(a);

    // 2. `a` restarts from its data directory; `b` is down: the journalled
    // batch fails to go again and stays; nothing new is recorded.
    let _ = stop_b.send(());
    std::thread::sleep(Duration::from_millis(200));
    let a = SqliteStore::open(da.path()).unwrap();
    put_local(&a, 120..170);
    let fed = federation(&ca);
    let p = Partner::named(Some(fed.config()), "b").unwrap();
    let e = rt.block_on(run_round(&fed, &a, &p)).unwrap_err();
    assert!(!e.fatal, "{e}");
    assert!(e.message.contains(&b_addr.to_string()), "{e}");
    assert_eq!(out_records(&a).len(), 100);
    assert_eq!(a.push_pending(&key).unwrap(), Some(pending));

    // 3. `b` is back: the journalled batch goes first, as it was, then
    // the rest; every object once at `b`, one `out` record each.
    let lb = bind(b_addr);
    hold.hold.store(0, Ordering::SeqCst);
    let _stop_b = serve_b(&rt, cb, &b, lb, Arc::clone(&hold));
    let r = rt.block_on(run_round(&fed, &a, &p)).unwrap();
    let push = r.push.as_ref().unwrap();
    assert_eq!((push.resent, push.sent), (50, 70), "{}", r.summary());
    assert!(r.summary().contains("50 sent again"), "{}", r.summary());
    let mut held = held_by_b(&b);
    held.sort_unstable();
    held.dedup();
    assert_eq!(held.len(), 170);
    assert_eq!(b.count(Some("from-a")).unwrap(), 170);
    let records = out_records(&a);
    assert_eq!(records.len(), 170);
    assert!(records.values().all(|&n| n == 1), "{records:?}");
    assert_eq!(a.push_pending(&key).unwrap(), None);
    a.integrity_check().unwrap();
    // Idle now: nothing pending, nothing new.
    let r = rt.block_on(run_round(&fed, &a, &p)).unwrap();
    let push = r.push.unwrap();
    assert_eq!((push.batches, push.resent, push.considered), (0, 0, 0));
    assert_eq!(out_records(&a).len(), 170);
}
