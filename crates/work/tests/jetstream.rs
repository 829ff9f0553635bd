//! The durable work queue against a real `nats-server -js` (Debian's; the
//! tests skip with one line when it is not installed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use accord_testkit::nats;
use accord_work::{Options, WorkError, WorkQueue};

/// Deliveries seen by the handlers: id → attempts.
type Seen = Arc<Mutex<HashMap<String, Vec<i64>>>>;

fn opts(ack_wait_ms: u64) -> Options {
    Options {
        stream: "TEST_WORK".into(),
        ack_wait: Duration::from_millis(ack_wait_ms),
        max_deliver: 5,
        dedupe_window: Duration::from_secs(20),
        max_payload: 4096,
        max_bytes: 64 << 20,
        retry_delay: Duration::from_millis(100),
        poll: Duration::from_millis(500),
    }
}

/// Spawns a worker of `kind` on its own connection (its own "process")
/// that records every delivery in `seen` and succeeds after `work`.
async fn spawn_worker(
    url: &str,
    o: &Options,
    kind: &str,
    seen: Seen,
    work: Duration,
) -> tokio::task::JoinHandle<accord_work::WorkerStats> {
    let q = WorkQueue::connect(url, o).await.expect("connect");
    let w = q.worker(kind).expect("worker");
    tokio::spawn(async move {
        w.run(
            move |t| {
                let seen = seen.clone();
                async move {
                    seen.lock()
                        .unwrap()
                        .entry(t.id.clone())
                        .or_default()
                        .push(t.attempt);
                    tokio::time::sleep(work).await;
                    Ok::<(), String>(())
                }
            },
            std::future::pending(),
        )
        .await
    })
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(
            t.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_publishers_of_one_slot_make_one_delivery() {
    let Some(srv) = nats::server("three_publishers_of_one_slot_make_one_delivery") else {
        return;
    };
    let o = opts(5000);
    let seen: Seen = Arc::default();
    let worker = spawn_worker(&srv.url(), &o, "hotline", seen.clone(), Duration::ZERO).await;

    // Three processes fire the same slot explicitly.
    let mut qs = Vec::new();
    for _ in 0..3 {
        qs.push(WorkQueue::connect(&srv.url(), &o).await.expect("connect"));
    }
    let p: Vec<_> = qs
        .iter()
        .map(|q| q.periodic("hotline", Duration::from_secs(1)).unwrap())
        .collect();
    let slot = 12345;
    let acks = futures_util::future::join_all(p.iter().map(|p| p.fire(slot, b"tick"))).await;
    let dups = acks
        .iter()
        .map(|a| a.as_ref().expect("publish").duplicate)
        .filter(|d| *d)
        .count();
    assert_eq!(dups, 2, "two of three publishes are duplicates: {acks:?}");
    wait_for("the slot's delivery", Duration::from_secs(10), || {
        seen.lock().unwrap().contains_key("hotline:12345")
    })
    .await;
    // Once done (acked and deleted from the work queue), a late copy of
    // the slot within the window is still a duplicate.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let late = p[0].fire(slot, b"tick").await.expect("late publish");
    assert!(late.duplicate, "a late copy of a done slot is dropped");

    // Three processes tick on their own for a few 300 ms slots.
    let every = Duration::from_millis(300);
    let tickers: Vec<_> = qs
        .iter()
        .map(|q| {
            let p = q.periodic("hotline", every).unwrap();
            tokio::spawn(async move {
                p.run(
                    |s| s.to_string().into_bytes(),
                    tokio::time::sleep(Duration::from_millis(1600)),
                )
                .await;
            })
        })
        .collect();
    let first = p[0].slot_of(SystemTime::now());
    for t in tickers {
        t.await.unwrap();
    }
    let last = p[0].slot_of(SystemTime::now());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let seen = seen.lock().unwrap().clone();
    let ticks: Vec<_> = seen.keys().filter(|k| *k != "hotline:12345").collect();
    assert!(
        ticks.len() >= 4,
        "several slots fired between {first} and {last}: {ticks:?}"
    );
    for (id, attempts) in &seen {
        assert_eq!(attempts, &[1], "{id} was delivered once");
    }
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_task_is_redelivered_to_another_after_ack_wait() {
    let Some(srv) = nats::server("a_dead_workers_task_is_redelivered_to_another_after_ack_wait")
    else {
        return;
    };
    let o = opts(1000);
    let q = WorkQueue::connect(&srv.url(), &o).await.expect("connect");
    q.publish("match", "match:job-1", b"job")
        .await
        .expect("publish");

    // Worker A takes the task and hangs; its "process" then dies.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let qa = WorkQueue::connect(&srv.url(), &o).await.expect("connect");
    let wa = qa.worker("match").unwrap();
    let a = tokio::spawn(async move {
        wa.run(
            |t| {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send((t.id.clone(), t.attempt, Instant::now()));
                }
                std::future::pending::<Result<(), String>>()
            },
            std::future::pending(),
        )
        .await
    });
    let (id, attempt, taken) = tokio::time::timeout(Duration::from_secs(10), rx)
        .await
        .expect("worker A got the task")
        .unwrap();
    assert_eq!((id.as_str(), attempt), ("match:job-1", 1));
    a.abort();
    let _ = a.await;
    drop(qa);

    let seen: Seen = Arc::default();
    let b = spawn_worker(&srv.url(), &o, "match", seen.clone(), Duration::ZERO).await;
    wait_for("redelivery to worker B", Duration::from_secs(15), || {
        seen.lock().unwrap().contains_key("match:job-1")
    })
    .await;
    let waited = taken.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "redelivered only after ack_wait (1 s), not after {waited:?}"
    );
    assert_eq!(seen.lock().unwrap()["match:job-1"], [2], "second attempt");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = q.depth("match").await.expect("depth");
    assert_eq!((d.pending, d.in_flight), (0, 0), "{d:?}");
    b.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_task_with_progress_keeps_its_lease_past_ack_wait() {
    let Some(srv) = nats::server("a_long_task_with_progress_keeps_its_lease_past_ack_wait") else {
        return;
    };
    let o = opts(1000);
    let q = WorkQueue::connect(&srv.url(), &o).await.expect("connect");
    q.publish("sync", "sync:cert-x:1", b"round")
        .await
        .expect("publish");
    let seen: Seen = Arc::default();
    // Two workers on two connections; the task takes 3.5 ack_waits.
    let a = spawn_worker(
        &srv.url(),
        &o,
        "sync",
        seen.clone(),
        Duration::from_millis(3500),
    )
    .await;
    let b = spawn_worker(
        &srv.url(),
        &o,
        "sync",
        seen.clone(),
        Duration::from_millis(3500),
    )
    .await;
    wait_for("the delivery", Duration::from_secs(10), || {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    let started = Instant::now();
    let mut d = q.depth("sync").await.expect("depth");
    while d.in_flight > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the task finishes: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        d = q.depth("sync").await.expect("depth");
    }
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "it ran its 3.5 s"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        seen.lock().unwrap()["sync:cert-x:1"],
        [1],
        "delivered once, never taken by the other worker"
    );
    assert_eq!((d.pending, d.redelivered), (0, 0), "{d:?}");
    a.abort();
    b.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_is_retried_then_terminated_after_max_deliver() {
    let Some(srv) = nats::server("a_failing_task_is_retried_then_terminated_after_max_deliver")
    else {
        return;
    };
    let o = Options {
        max_deliver: 3,
        ..opts(2000)
    };
    let q = WorkQueue::connect(&srv.url(), &o).await.expect("connect");
    q.publish("ingest", "ingest:batch-9", b"{}")
        .await
        .expect("publish");
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let w = q.worker("ingest").unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let at = attempts.clone();
    let run = tokio::spawn(async move {
        w.run(
            move |t| {
                at.lock().unwrap().push((t.attempt, Instant::now()));
                async { Err::<(), _>("store unavailable") }
            },
            async {
                let _ = stopped.await;
            },
        )
        .await
    });
    wait_for("three attempts", Duration::from_secs(10), || {
        attempts.lock().unwrap().len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.send(()).unwrap();
    let stats = run.await.unwrap();
    let a = attempts.lock().unwrap().clone();
    assert_eq!(a.iter().map(|x| x.0).collect::<Vec<_>>(), [1, 2, 3]);
    // Backoff: 100 ms, then 200 ms (not the 2 s ack_wait).
    assert!(a[1].1 - a[0].1 >= Duration::from_millis(90), "{a:?}");
    assert!(a[2].1 - a[1].1 >= Duration::from_millis(190), "{a:?}");
    assert!(a[2].1 - a[0].1 < Duration::from_millis(1900), "{a:?}");
    assert_eq!((stats.done, stats.retried, stats.terminated), (0, 2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_and_crafted_payloads_are_refused() {
    let Some(srv) = nats::server("oversize_and_crafted_payloads_are_refused") else {
        return;
    };
    let o = opts(2000);
    let q = WorkQueue::connect(&srv.url(), &o).await.expect("connect");
    let big = vec![b'x'; o.max_payload + 1];
    match q.publish("ingest", "ingest:big", &big).await {
        Err(WorkError::PayloadTooLarge {
            subject, size, max, ..
        }) => {
            assert_eq!(
                (subject.as_str(), size, max),
                ("TEST_WORK.ingest", 4097, 4096)
            );
        }
        other => panic!("oversize publish refused, got {other:?}"),
    }
    q.publish("ingest", "ingest:max", &big[..o.max_payload])
        .await
        .expect("a payload of exactly the bound is accepted");
    // Bad kinds and ids never reach the server.
    assert!(matches!(
        q.publish("in.gest", "x", b"").await,
        Err(WorkError::InvalidName { what: "kind", .. })
    ));
    assert!(matches!(
        q.publish("ingest", "a\r\nb", b"").await,
        Err(WorkError::InvalidName {
            what: "task id",
            ..
        })
    ));

    // Another client, bypassing this crate: the stream refuses the
    // oversize message itself, and a message without a task id is
    // terminated without reaching the handler.
    let raw = async_nats::jetstream::new(async_nats::connect(srv.url()).await.unwrap());
    let huge = vec![b'x'; o.max_payload + accord_work::HEADER_ALLOWANCE + 1];
    let refused = async { raw.publish("TEST_WORK.ingest", huge.into()).await?.await }.await;
    assert!(refused.is_err(), "the stream refuses an oversize message");
    // Over the bound but within the stream's header allowance: stored,
    // then terminated by the worker.
    let mut h = async_nats::HeaderMap::new();
    h.insert("Nats-Msg-Id", "ingest:sneaky");
    raw.publish_with_headers("TEST_WORK.ingest", h, big.clone().into())
        .await
        .unwrap()
        .await
        .expect("stored");
    raw.publish("TEST_WORK.ingest", "no id".into())
        .await
        .unwrap()
        .await
        .expect("stored");

    let seen: Seen = Arc::default();
    let w = spawn_worker(&srv.url(), &o, "ingest", seen.clone(), Duration::ZERO).await;
    wait_for("the queue to drain", Duration::from_secs(10), || {
        seen.lock().unwrap().contains_key("ingest:max")
    })
    .await;
    let mut d = q.depth("ingest").await.unwrap();
    let t = Instant::now();
    while d.pending + d.in_flight > 0 && t.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        d = q.depth("ingest").await.unwrap();
    }
    assert_eq!((d.pending, d.in_flight), (0, 0), "{d:?}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        ["ingest:max"],
        "only the valid task reached the handler"
    );
    w.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_crash_under_load_loses_no_task() {
    let Some(mut srv) = nats::server("a_server_crash_under_load_loses_no_task") else {
        return;
    };
    let o = opts(2000);
    const N: usize = 400;
    let seen: Seen = Arc::default();
    let w1 = spawn_worker(
        &srv.url(),
        &o,
        "ingest",
        seen.clone(),
        Duration::from_millis(2),
    )
    .await;
    let w2 = spawn_worker(
        &srv.url(),
        &o,
        "ingest",
        seen.clone(),
        Duration::from_millis(2),
    )
    .await;

    let q = WorkQueue::connect(&srv.url(), &o).await.expect("connect");
    let published = Arc::new(Mutex::new(0usize));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let (pq, pp, pe) = (q.clone(), published.clone(), errors.clone());
    let publisher = tokio::spawn(async move {
        for i in 0..N {
            let id = format!("ingest:{i}");
            // A failed publish is retried with the same id (safe: dedupe).
            loop {
                match pq.publish("ingest", &id, i.to_string().as_bytes()).await {
                    Ok(_) => break,
                    Err(e) => {
                        assert!(matches!(e, WorkError::Publish { .. }), "{e}");
                        pe.lock().unwrap().push(e.to_string());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            *pp.lock().unwrap() = i + 1;
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    });
    wait_for(
        "a third of the tasks published",
        Duration::from_secs(20),
        || *published.lock().unwrap() >= N / 3,
    )
    .await;
    tokio::task::block_in_place(|| srv.crash_restart());
    let after_restart = *published.lock().unwrap();
    wait_for(
        "two thirds of the tasks published",
        Duration::from_secs(30),
        || *published.lock().unwrap() >= 2 * N / 3,
    )
    .await;
    // And a graceful restart (SIGTERM) too.
    tokio::task::block_in_place(|| srv.restart());
    tokio::time::timeout(Duration::from_secs(60), publisher)
        .await
        .expect("publishing resumes after the restart")
        .unwrap();
    assert!(after_restart < N, "some publishes came after the restart");
    wait_for("every task processed", Duration::from_secs(60), || {
        seen.lock().unwrap().len() == N
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    for i in 0..N {
        assert!(
            seen.contains_key(&format!("ingest:{i}")),
            "ingest:{i} was processed"
        );
    }
    let redone = seen.values().filter(|a| a.len() > 1).count();
    eprintln!(
        "crash under load: {N} tasks, {} distinct processed, {redone} redone (at-least-once), \
         {} publish errors retried",
        seen.len(),
        errors.lock().unwrap().len()
    );
    w1.abort();
    w2.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_recreates_its_deleted_consumer() {
    let Some(srv) = nats::server("a_worker_recreates_its_deleted_consumer") else {
        return;
    };
    let o = opts(2000);
    let q = WorkQueue::connect(&srv.url(), &o).await.expect("connect");
    let seen: Seen = Arc::default();
    let w = spawn_worker(&srv.url(), &o, "match", seen.clone(), Duration::ZERO).await;
    q.publish("match", "match:1", b"").await.unwrap();
    wait_for("the first task", Duration::from_secs(10), || {
        seen.lock().unwrap().contains_key("match:1")
    })
    .await;
    // An operator (or a server that lost its state) drops the consumer.
    let raw = async_nats::jetstream::new(async_nats::connect(srv.url()).await.unwrap());
    raw.delete_consumer_from_stream("match", "TEST_WORK")
        .await
        .expect("delete the consumer");
    q.publish("match", "match:2", b"").await.unwrap();
    wait_for(
        "the task after the consumer was deleted",
        Duration::from_secs(20),
        || seen.lock().unwrap().contains_key("match:2"),
    )
    .await;
    w.abort();
}
