//! Continuous sync between partners (`accord_app::scheduler`): real nodes
//! on 127.0.0.1 pulling from and pushing to each other, a partner going
//! down and coming back, rounds cut short and repeated, and fake partners
//! answering garbage, each paused with its reason while a good partner in
//! the same scheduler keeps syncing.

use accord_app::config::Config;
use accord_app::exchange::{Admission, Counterparty, Exchange};
use accord_app::partner::Partner;
use accord_app::push::push_cursor_key;
use accord_app::scheduler::{
    Federation, RoundReport, Scheduler, SchedulerOptions, record_round, run_round,
};
use accord_app::sync::cursor_key;
use accord_client::ClientOptions;
use accord_stix::SystemClock;
use accord_store::{ObjectRead, SqliteStore};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "s3cret-federation";

fn ids(name: &str) -> (String, String) {
    let h = if name == "a" { "aaaaaaaa" } else { "bbbbbbbb" };
    (
        format!("{h}-0000-4000-8000-000000000001"),
        format!("{h}-0000-4000-8000-000000000002"),
    )
}

fn indicator(node: &str, n: u32) -> String {
    let tag = if node == "a" { 0xa } else { 0xb };
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{n:08x}-000{tag:x}-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'c2-{node}-{n}.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#
    )
}

/// Stores `range` of `node`'s indicators in its `local` collection.
fn put_local(store: &SqliteStore, node: &str, range: std::ops::Range<u32>) {
    let raws: Vec<String> = range.map(|n| indicator(node, n)).collect();
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

/// The configuration of node `me` (collections `local` and `from-PEER`,
/// the peer's account, the peer as a partner), plus `extra` partners.
fn config(me: &str, data: &Path, peer: (&str, SocketAddr), interval: u64, extra: &str) -> Config {
    let (local, inbox) = ids(me);
    let (peer_local, peer_inbox) = ids(peer.0);
    let pw_file = data.join("partner-password");
    std::fs::write(&pw_file, format!("{PASSWORD}\n")).unwrap();
    let text = format!(
        r#"
data_dir = "{data}"
[[api_roots]]
name = "api1"
title = "t"
[[api_roots.collections]]
id = "{local}"
store_name = "local"
title = "local"
[[api_roots.collections]]
id = "{inbox}"
store_name = "from-{peer_name}"
title = "inbox"
[[accounts]]
name = "{peer_name}"
password_hash = "{hash}"
read = ["*"]
write = ["{inbox}"]
[[partners]]
name = "{peer_name}"
url = "http://{peer_addr}/"
verifier_key = ""
user = "{me}"
password_file = "{pw}"
api_root = "api1"
[partners.sync]
pull = ["{peer_local}"]
push = "{peer_inbox}"
interval_secs = {interval}
{extra}
"#,
        data = data.display(),
        peer_name = peer.0,
        peer_addr = peer.1,
        hash = accord_node::auth::hash_password(PASSWORD).unwrap(),
        pw = pw_file.display(),
    );
    Config::parse(&text, "test.toml").unwrap()
}

/// A node's TAXII server over `store`, on `listener`, until `stop`.
fn serve(
    rt: &tokio::runtime::Runtime,
    config: Config,
    store: &SqliteStore,
    listener: std::net::TcpListener,
) -> tokio::sync::oneshot::Sender<()> {
    let state = accord_node::server::AppState::new(config, Box::new(store.try_clone().unwrap()));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(async move {
        listener.set_nonblocking(true).unwrap();
        let l = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(l, accord_node::server::router(state))
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    tx
}

fn bind(addr: &str) -> std::net::TcpListener {
    // The same port again after a stop: retry while the old socket closes.
    let start = Instant::now();
    loop {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => return l,
            Err(e) if start.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("binding {addr}: {e}"),
        }
    }
}

fn quick() -> SchedulerOptions {
    SchedulerOptions {
        max_failures: 3,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        client: ClientOptions {
            request_timeout: Duration::from_millis(1500),
            read_timeout: Duration::from_millis(1000),
            connect_timeout: Duration::from_millis(500),
            max_response_bytes: 256 << 10,
            ..ClientOptions::default()
        },
        page: 64,
        push_batch: 50,
    }
}

fn round(fed: &Federation, store: &SqliteStore, partner: &str) -> Result<RoundReport, String> {
    let p = Partner::named(Some(fed.config()), partner).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(run_round(fed, store, &p));
    record_round(store, partner, &r, 3, &SystemClock.now_rfc3339(), true).unwrap();
    r.map_err(|e| format!("{e} (fatal: {})", e.fatal))
}

use accord_stix::Clock as _;

fn count(store: &SqliteStore, collection: &str) -> u64 {
    store.count(Some(collection)).unwrap()
}

struct Nodes {
    rt: tokio::runtime::Runtime,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    a: SqliteStore,
    b: SqliteStore,
    fed_a: Federation,
    fed_b: Federation,
    b_config: Config,
    b_addr: SocketAddr,
    stop_a: Option<tokio::sync::oneshot::Sender<()>>,
    stop_b: Option<tokio::sync::oneshot::Sender<()>>,
}

fn two_nodes(interval: u64, extra_a: &str) -> Nodes {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (la, lb) = (bind("127.0.0.1:0"), bind("127.0.0.1:0"));
    let (aa, ab) = (la.local_addr().unwrap(), lb.local_addr().unwrap());
    let ca = config("a", da.path(), ("b", ab), interval, extra_a);
    let cb = config("b", db.path(), ("a", aa), interval, "");
    let a = SqliteStore::open(da.path()).unwrap();
    let b = SqliteStore::open(db.path()).unwrap();
    let stop_a = serve(&rt, ca.clone(), &a, la);
    let stop_b = serve(&rt, cb.clone(), &b, lb);
    let fed = |c: &Config| {
        Federation::new(
            c.clone(),
            Exchange::default(),
            Arc::new(SystemClock),
            quick(),
        )
    };
    Nodes {
        fed_a: fed(&ca),
        fed_b: fed(&cb),
        rt,
        _dirs: (da, db),
        a,
        b,
        b_config: cb,
        b_addr: ab,
        stop_a: Some(stop_a),
        stop_b: Some(stop_b),
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for s in [self.stop_a.take(), self.stop_b.take()]
            .into_iter()
            .flatten()
        {
            let _ = s.send(());
        }
    }
}

#[test]
fn two_nodes_push_and_pull_both_ways_and_resume_without_loss_or_duplicates() {
    let mut n = two_nodes(0, "");
    put_local(&n.a, "a", 0..300);
    put_local(&n.b, "b", 0..200);

    // a's round: pulls b's 200, pushes its 300.
    let r = round(&n.fed_a, &n.a, "b").unwrap();
    assert_eq!(r.pulls[0].report.stored, 200, "{}", r.summary());
    let push = r.push.as_ref().unwrap();
    assert_eq!(
        (push.sent, push.accepted, push.batches),
        (300, 300, 6),
        "{push:?}"
    );
    assert!(push.refused.is_empty());
    assert_eq!(count(&n.a, "from-b"), 200);
    assert_eq!(count(&n.b, "from-a"), 300);
    // The objects pulled carry the partner as their origin.
    let page =
        n.a.query(
            &accord_store::Query {
                collection: Some("from-b".into()),
                ..Default::default()
            },
            1,
        )
        .unwrap();
    assert_eq!(page.objects[0].origin, "partner:b");

    // b's round: what it pulls from a is already there (a pushed it), what
    // it pushes a already pulled: nothing stored twice, nothing echoed.
    let r = round(&n.fed_b, &n.b, "a").unwrap();
    assert_eq!(r.pulls[0].report.fetched, 300);
    assert_eq!(r.pulls[0].report.stored, 0);
    assert_eq!(r.pulls[0].report.duplicates, 300);
    let push = r.push.as_ref().unwrap();
    assert_eq!(push.sent, 200, "{push:?}");
    assert_eq!(push.echoes, 0, "b's local holds nothing of a's");
    assert_eq!(count(&n.a, "from-b"), 200);
    assert_eq!(count(&n.b, "from-a"), 300);
    assert_eq!((count(&n.a, "local"), count(&n.b, "local")), (300, 200));

    // Idle: one empty page per pulled collection, no POST.
    for (fed, store, peer) in [(&n.fed_a, &n.a, "b"), (&n.fed_b, &n.b, "a")] {
        let r = round(fed, store, peer).unwrap();
        let p = &r.pulls[0].report;
        assert_eq!((p.pages, p.fetched, p.stored), (1, 0, 0), "{}", r.summary());
        let push = r.push.unwrap();
        assert_eq!((push.batches, push.considered), (0, 0), "{push:?}");
        assert!(r.witness.is_none());
    }

    // b goes down; a keeps adding; its round fails (may pass: not paused).
    let _ = n.stop_b.take().unwrap().send(());
    std::thread::sleep(Duration::from_millis(200));
    put_local(&n.a, "a", 300..375);
    let e = round(&n.fed_a, &n.a, "b").unwrap_err();
    assert!(
        e.contains("fatal: false") && e.contains(&n.b_addr.to_string()),
        "{e}"
    );
    let h = n.a.partner_health("b").unwrap().unwrap();
    assert_eq!((h.failures, h.paused), (1, false));
    // b comes back on the same address: it receives everything once.
    n.stop_b = Some(serve(
        &n.rt,
        n.b_config.clone(),
        &n.b,
        bind(&n.b_addr.to_string()),
    ));
    let r = round(&n.fed_a, &n.a, "b").unwrap();
    assert_eq!(r.push.as_ref().unwrap().sent, 75, "{}", r.summary());
    assert_eq!(count(&n.b, "from-a"), 375);
    let h = n.a.partner_health("b").unwrap().unwrap();
    assert_eq!((h.failures, h.paused), (0, false));
    assert!(h.last_success.is_some());

    // A crash after the POST but before the cursors moved (the cursors
    // put back): the next round sends and reads it all again, and nothing
    // is stored twice.
    n.a.set_sync_cursor(&push_cursor_key("b", "local"), "0")
        .unwrap();
    let pull_key = cursor_key(&r.pulls[0].url, "from-b");
    n.a.set_sync_cursor(&pull_key, "2000-01-01T00:00:00Z")
        .unwrap();
    let r = round(&n.fed_a, &n.a, "b").unwrap();
    assert_eq!(r.push.as_ref().unwrap().sent, 375);
    assert_eq!(r.push.as_ref().unwrap().accepted, 375);
    assert_eq!(r.pulls[0].report.duplicates, 200);
    assert_eq!(count(&n.b, "from-a"), 375);
    assert_eq!(count(&n.a, "from-b"), 200);

    // Rounds cut at arbitrary points (a kill mid-page), then a full one:
    // nothing lost, nothing twice.
    put_local(&n.a, "a", 375..700);
    put_local(&n.b, "b", 200..500);
    let p = Partner::named(Some(n.fed_a.config()), "b").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for ms in [5, 20, 60, 120] {
        let _ = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(ms), run_round(&n.fed_a, &n.a, &p)).await
        });
    }
    round(&n.fed_a, &n.a, "b").unwrap();
    assert_eq!(count(&n.b, "from-a"), 700);
    assert_eq!(count(&n.a, "from-b"), 500);
    n.a.integrity_check().unwrap();
    n.b.integrity_check().unwrap();
    // And the next round is idle again.
    let r = round(&n.fed_a, &n.a, "b").unwrap();
    assert_eq!(r.pulls[0].report.fetched, 0);
}

/// A fake partner: answers every request for objects with `body` (after
/// `head`), in pieces `gap` apart.
fn fake(rt: &tokio::runtime::Runtime, head: String, body: Vec<u8>, gap: Duration) -> SocketAddr {
    let l = bind("127.0.0.1:0");
    let addr = l.local_addr().unwrap();
    rt.spawn(async move {
        l.set_nonblocking(true).unwrap();
        let l = tokio::net::TcpListener::from_std(l).unwrap();
        while let Ok((mut sock, _)) = l.accept().await {
            let (head, body) = (head.clone(), body.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(head.as_bytes()).await;
                let piece = if gap.is_zero() { body.len().max(1) } else { 1 };
                for c in body.chunks(piece) {
                    if sock.write_all(c).await.is_err() {
                        return;
                    }
                    if !gap.is_zero() {
                        tokio::time::sleep(gap).await;
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    addr
}

fn taxii_head(len: usize) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/taxii+json;version=2.1\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
    )
}

#[test]
fn broken_partners_are_paused_with_their_reason_and_the_good_one_keeps_syncing() {
    let helper_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let malformed = b"{\"objects\": [{\"type\": \"indicator\",".to_vec();
    let invalid = br#"{"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}]}"#.to_vec();
    let big = vec![b' '; 1 << 20];
    let drip = vec![b' '; 200];
    let fakes = [
        (
            "json",
            fake(
                &helper_rt,
                taxii_head(malformed.len()),
                malformed,
                Duration::ZERO,
            ),
        ),
        (
            "stix",
            fake(
                &helper_rt,
                taxii_head(invalid.len()),
                invalid,
                Duration::ZERO,
            ),
        ),
        (
            "big",
            fake(&helper_rt, taxii_head(big.len()), big, Duration::ZERO),
        ),
        (
            "drip",
            fake(
                &helper_rt,
                taxii_head(drip.len()),
                drip,
                Duration::from_millis(50),
            ),
        ),
    ];
    let mut extra = String::new();
    for (name, addr) in &fakes {
        extra.push_str(&format!(
            "[[partners]]\nname = \"{name}\"\nurl = \"http://{addr}/\"\nverifier_key = \"\"\napi_root = \"api1\"\n[partners.sync]\npull = [\"c\"]\ninterval_secs = 1\n"
        ));
    }
    let n = two_nodes(1, &extra);
    put_local(&n.a, "a", 0..120);
    put_local(&n.b, "b", 0..80);
    let sched = Scheduler::start(
        Arc::new(Federation::new(
            n.fed_a.config().clone(),
            Exchange::default(),
            Arc::new(SystemClock),
            quick(),
        )),
        &n.a,
    )
    .unwrap();
    assert_eq!(sched.partners().len(), 5);
    let expect = [
        ("json", "invalid JSON"),
        ("stix", "rejected"),
        ("big", "larger than the cap"),
        ("drip", "failures in a row"),
    ];
    let start = Instant::now();
    loop {
        let paused: Vec<_> = expect
            .iter()
            .filter(|(name, _)| n.a.partner_health(name).unwrap().is_some_and(|h| h.paused))
            .collect();
        let synced = count(&n.a, "from-b") == 80 && count(&n.b, "from-a") == 120;
        if paused.len() == expect.len() && synced {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "paused {paused:?}, synced {synced}: {:?}",
            n.a.partner_healths().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for (name, words) in expect {
        let h = n.a.partner_health(name).unwrap().unwrap();
        let reason = h.paused_reason.unwrap();
        assert!(reason.contains(words), "{name}: {reason}");
        assert!(
            reason.contains(&format!("partner `{name}`")),
            "{name}: {reason}"
        );
    }
    // Each pause is an alert in the store.
    let alerts = accord_store::LedgerRead::ledger_alerts(&n.a).unwrap();
    assert_eq!(
        alerts.iter().filter(|a| a.kind == "sync-paused").count(),
        4,
        "{alerts:?}"
    );
    // The good partner keeps syncing while the others stay paused.
    put_local(&n.b, "b", 80..130);
    put_local(&n.a, "a", 120..150);
    let start = Instant::now();
    while count(&n.a, "from-b") != 130 || count(&n.b, "from-a") != 150 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the good partner stopped"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!n.a.partner_health("b").unwrap().unwrap().paused);
    let stop = Instant::now();
    sched.stop();
    assert!(
        stop.elapsed() < Duration::from_secs(5),
        "{:?}",
        stop.elapsed()
    );
    // Nothing from the broken partners was stored.
    for (name, _) in fakes {
        assert_eq!(count(&n.a, &format!("from-{name}")), 0);
    }
}
