//! One Accord node syncs a collection from another, over real TAXII 2.1 on
//! 127.0.0.1: the partner's server on one store, the client and sync writing
//! into another.

use accord_app::config::Config;
use accord_app::pull::{SyncOptions, sync_collection};
use accord_client::{Auth, TaxiiClient};
use accord_node::auth::hash_password;
use accord_store::{NewObject, Query, SqliteStore, Store, VersionFilter};

const COLL: &str = "44444444-4444-4444-8444-444444444444";

fn indicator(n: u32, modified: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{n:08x}-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"{modified}","pattern":"[domain-name:value = 'c2-{n}.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#
    )
}

fn put(store: &SqliteStore, raws: &[String]) {
    let objs: Vec<NewObject<'_>> = raws
        .iter()
        .map(|raw| {
            let id_start = raw.find("indicator--").unwrap();
            let modified_start = raw.find("\"modified\":\"").unwrap() + 12;
            NewObject {
                raw,
                id: &raw[id_start..id_start + 47],
                type_name: "indicator",
                spec_version: "2.1",
                created: Some("2026-01-01T00:00:00.000Z"),
                modified: Some(&raw[modified_start..modified_start + 24]),
                markings: vec![],
                collection: "shared",
                origin: "local",
            }
        })
        .collect();
    store.writer().put_batch(&objs).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_pulls_a_partner_collection_and_then_only_what_is_new() {
    // The partner: a store with 250 indicators, one of them in two versions.
    let partner_dir = tempfile::tempdir().unwrap();
    let partner_store = SqliteStore::open(partner_dir.path()).unwrap();
    let mut raws: Vec<String> = (0..250)
        .map(|n| indicator(n, "2026-01-01T00:00:00.000Z"))
        .collect();
    raws.push(indicator(7, "2026-02-01T00:00:00.000Z"));
    put(&partner_store, &raws);
    let config = Config::parse(
        &format!(
            r#"
[[api_roots]]
name = "partner"
title = "Partner"
[[api_roots.collections]]
id = "{COLL}"
store_name = "shared"
title = "Shared"
[[accounts]]
name = "us"
password_hash = "{}"
read = ["{COLL}"]
"#,
            hash_password("pw").unwrap()
        ),
        "partner.toml",
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = accord_node::server::AppState::new(config, Box::new(partner_store));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, accord_node::server::router(state))
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });

    // Us: a fresh store, synced from the partner.
    let our_dir = tempfile::tempdir().unwrap();
    let ours = SqliteStore::open(our_dir.path()).unwrap();
    let client = TaxiiClient::new(
        &format!("http://{addr}/taxii2/"),
        Auth::Basic {
            user: "us".into(),
            password: "pw".into(),
        },
    )
    .unwrap();
    let coll_url = format!("http://{addr}/partner/collections/{COLL}/");
    let opts = SyncOptions {
        page_limit: 40,
        ..SyncOptions::default()
    };
    let first = sync_collection(
        &client,
        &coll_url,
        ours.writer(),
        "from-partner",
        "partner",
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(first.fetched, 251, "{first:?}");
    assert_eq!(first.stored, 251);
    assert!(first.rejected.is_empty() && first.conflicts.is_empty());
    assert_eq!(ours.count(Some("from-partner")).unwrap(), 251);
    let two = ours
        .query(
            &Query {
                collection: Some("from-partner".into()),
                ids: vec!["indicator--00000007-0000-4000-8000-000000000000".into()],
                versions: VersionFilter::all(),
                ..Query::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(two.objects.len(), 2, "both versions came over");
    assert!(two.objects.iter().all(|o| o.origin == "partner"));

    // Nothing new: one empty page, nothing stored.
    let since = SyncOptions {
        since: first.next_added_after.clone(),
        ..opts.clone()
    };
    let again = sync_collection(
        &client,
        &coll_url,
        ours.writer(),
        "from-partner",
        "partner",
        &since,
    )
    .await
    .unwrap();
    assert_eq!((again.fetched, again.stored), (0, 0), "{again:?}");

    // The partner adds two objects: exactly those come over.
    put(
        &SqliteStore::open(partner_dir.path()).unwrap(),
        &[
            indicator(900, "2026-03-01T00:00:00.000Z"),
            indicator(901, "2026-03-01T00:00:00.000Z"),
        ],
    );
    let new = sync_collection(
        &client,
        &coll_url,
        ours.writer(),
        "from-partner",
        "partner",
        &since,
    )
    .await
    .unwrap();
    assert_eq!((new.fetched, new.stored), (2, 2), "{new:?}");
    ours.integrity_check().unwrap();

    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
