//! Durable work on NATS JetStream, shared by every node process of a
//! cluster: ingest batches, sync rounds per partner, matching jobs and
//! hotline deadline ticks are messages on one stream, taken by whichever
//! process is free, and redone by another when a process dies mid-task.
//!
//! # Design
//!
//! - One JetStream stream (name [`Options::stream`], file storage,
//!   *work-queue* retention: a message is deleted once acknowledged) with
//!   the subjects `<stream>.<kind>`, one per task kind.
//! - One durable pull consumer per kind, named after the kind, shared by
//!   every process: each task goes to one process at a time.
//! - [`WorkQueue::publish`] sets the `Nats-Msg-Id` header to the task's id,
//!   so the same task published by several processes within
//!   [`Options::dedupe_window`] is stored once.
//! - A [`Worker`] pulls one task at a time, runs an async handler, and
//!   acknowledges on success; on error it naks with an exponential delay,
//!   and terminates the task (logged at `error`) after
//!   [`Options::max_deliver`] attempts. While a handler runs it sends
//!   "in progress" every `ack_wait / 3`, so a live worker keeps its task;
//!   a task whose process died is redelivered after [`Options::ack_wait`].
//! - A [`Periodic`] ticks in every process and publishes the task
//!   `(kind, "<kind>:<slot>")` with `slot = unix_time / every`: the
//!   processes' publishes of one slot collapse into one message, so one
//!   process runs each slot cluster-wide.
//!
//! # Delivery guarantee (read this before writing a handler)
//!
//! Delivery is **at least once**. A task is redone when its process dies,
//! when an acknowledgement is lost (the server restarted, the connection
//! dropped between the handler's end and the ack), or when a handler
//! outlives its lease (no progress reached the server for `ack_wait`).
//! **Handlers must be idempotent**: key their effects by the task id (or
//! by the content), so that running a task twice leaves the same state as
//! running it once.
//!
//! De-duplication of publishes holds only **within the dedupe window**:
//! the same id published again after the window (or after a server
//! restart that lost the window's record of an already-acknowledged
//! task) is a new task. So a [`Periodic`] slot fires once cluster-wide
//! when the processes' clocks agree to well within the window; a slot
//! whose start no process saw within the window is skipped (ticks are
//! triggers: a tick handler should do everything due up to now, not only
//! what is due in its slot).
//!
//! # Bounds
//!
//! A payload is at most [`Options::max_payload`] bytes: [`WorkQueue::publish`]
//! refuses a larger one before it leaves the process; the stream refuses
//! any message over `max_payload` + [`HEADER_ALLOWANCE`] from any other
//! publisher (its `max_msg_size`), and a worker terminates one that got
//! through anyway, without running the handler.
//! The stream holds at most [`Options::max_bytes`]; when full, publishes
//! are refused (the `discard new` policy), never silently dropped.
//! Kinds, stream names and ids are short printable tokens
//! ([`MAX_KIND_LEN`], [`MAX_ID_LEN`]).

use std::fmt::Display;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use async_nats::jetstream::{
    self, AckKind, Context,
    consumer::{self, PullConsumer},
    message::PublishMessage,
    stream::{self, RetentionPolicy},
};
use bytes::Bytes;
use futures_util::StreamExt;

/// The longest kind (and stream name): a NATS subject token.
pub const MAX_KIND_LEN: usize = 64;
/// The longest task id (the `Nats-Msg-Id` header).
pub const MAX_ID_LEN: usize = 256;
/// Room for the headers (the `Nats-Msg-Id`) in a stored message: the
/// stream's `max_msg_size` is [`Options::max_payload`] plus this.
pub const HEADER_ALLOWANCE: usize = 1024;
/// The longest delay a nak asks for between attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An error of the work queue, naming the subject (or stream or consumer)
/// and the server.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// The server could not be reached.
    #[error("connecting to NATS at {server}: {source}")]
    Connect {
        /// The URL given.
        server: String,
        /// Why.
        #[source]
        source: async_nats::ConnectError,
    },
    /// A stream name, kind or id is not an acceptable token.
    #[error("invalid {what} {value:?}: {why}")]
    InvalidName {
        /// `"stream name"`, `"kind"` or `"task id"`.
        what: &'static str,
        /// The value, cut to 80 characters.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// An option is out of range.
    #[error("invalid work-queue option {option}: {why}")]
    InvalidOption {
        /// The [`Options`] field.
        option: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A payload over [`Options::max_payload`].
    #[error(
        "task {id:?} for {subject} on {server} is {size} bytes, over the {max}-byte bound; not published"
    )]
    PayloadTooLarge {
        /// The subject it was for.
        subject: String,
        /// The task id.
        id: String,
        /// Its size in bytes.
        size: usize,
        /// The bound.
        max: usize,
        /// The server URL.
        server: String,
    },
    /// The server did not store a task (timed out, refused, stream full
    /// or missing, connection down).
    #[error("publishing task {id:?} to {subject} on {server}: {source}")]
    Publish {
        /// The subject.
        subject: String,
        /// The task id.
        id: String,
        /// The server URL.
        server: String,
        /// Why ([`async_nats::jetstream::context::PublishErrorKind`] says
        /// which case).
        #[source]
        source: jetstream::context::PublishError,
    },
    /// A JetStream API call (stream or consumer management, consumer info)
    /// failed.
    #[error("{op} {target} on {server}: {source}")]
    Api {
        /// What was being done, e.g. `"creating consumer"`.
        op: &'static str,
        /// The stream or `stream/consumer` acted on.
        target: String,
        /// The server URL.
        server: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The stream exists with settings this queue cannot work with.
    #[error("stream {stream} on {server} exists but {why}")]
    StreamMismatch {
        /// The stream name.
        stream: String,
        /// The server URL.
        server: String,
        /// What differs.
        why: String,
    },
}

/// Settings of a [`WorkQueue`]; every process of a cluster should use the
/// same ones (the stream and consumers are created by the first process
/// and then shared as they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The JetStream stream's name (also the subject prefix).
    pub stream: String,
    /// How long a delivered task stays leased to its worker without an
    /// ack or a progress signal before it is redelivered to another.
    pub ack_wait: Duration,
    /// Attempts per task before it is terminated (at least 1).
    pub max_deliver: i64,
    /// How long the server remembers a task id to drop republished
    /// duplicates (the stream's `duplicate_window`).
    pub dedupe_window: Duration,
    /// The largest payload in bytes (the stream's `max_msg_size` is this
    /// plus [`HEADER_ALLOWANCE`] for the headers).
    pub max_payload: usize,
    /// The most bytes the stream holds; past it publishes are refused.
    pub max_bytes: i64,
    /// The delay before the second attempt of a failed task; doubled for
    /// each later attempt, up to [`MAX_RETRY_DELAY`].
    pub retry_delay: Duration,
    /// How long one pull request waits for a task before the worker asks
    /// again (and notices a shutdown or a lost connection).
    pub poll: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            stream: "ACCORD_WORK".into(),
            ack_wait: Duration::from_secs(30),
            max_deliver: 10,
            dedupe_window: Duration::from_secs(120),
            max_payload: 256 * 1024,
            // Tasks are small (an ingest batch is at most ~200 KiB and a
            // command keeps at most 64 outstanding); JetStream reserves
            // this much of its file store for the stream up front.
            max_bytes: 256 << 20,
            retry_delay: Duration::from_secs(1),
            poll: Duration::from_secs(5),
        }
    }
}

impl Options {
    fn check(&self) -> Result<(), WorkError> {
        check_token("stream name", &self.stream, MAX_KIND_LEN)?;
        let bad = |option: &'static str, why: &str| {
            Err(WorkError::InvalidOption {
                option,
                why: why.to_string(),
            })
        };
        if self.ack_wait < Duration::from_millis(100) {
            return bad("ack_wait", "must be at least 100 ms");
        }
        if self.max_deliver < 1 {
            return bad("max_deliver", "must be at least 1");
        }
        if self.dedupe_window < Duration::from_millis(100) {
            return bad("dedupe_window", "must be at least 100 ms");
        }
        // The server's own max_payload defaults to 1 MiB; headers need room.
        if self.max_payload == 0 || self.max_payload > 1 << 20 {
            return bad("max_payload", "must be between 1 byte and 1 MiB");
        }
        if self.max_bytes < self.max_payload as i64 {
            return bad("max_bytes", "must be at least max_payload");
        }
        if self.poll < Duration::from_millis(100) || self.poll > Duration::from_secs(30) {
            return bad("poll", "must be between 100 ms and 30 s");
        }
        Ok(())
    }
}

/// What the server said to a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The stream sequence of the stored task (of the first copy when
    /// `duplicate`).
    pub sequence: u64,
    /// True when this id was already stored within the dedupe window, so
    /// nothing new was queued.
    pub duplicate: bool,
}

/// How much work of one kind waits, for `accord cluster status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Depth {
    /// Tasks not yet delivered to any worker.
    pub pending: u64,
    /// Tasks delivered and not yet acknowledged (running, or leased to a
    /// worker that died and waiting for `ack_wait`).
    pub in_flight: u64,
    /// Of those in flight, the ones on a second or later attempt.
    pub redelivered: u64,
    /// Pull requests waiting (about how many idle workers there are).
    pub waiting_workers: u64,
}

/// One task handed to a [`Worker`]'s handler.
#[derive(Debug, Clone)]
pub struct Task {
    /// Its kind.
    pub kind: String,
    /// Its id (the `Nats-Msg-Id` it was published with).
    pub id: String,
    /// Its payload (at most [`Options::max_payload`] bytes).
    pub payload: Bytes,
    /// Which attempt this is (1 for the first delivery).
    pub attempt: i64,
}

/// A connection to the durable work stream; cheap to clone.
#[derive(Clone, Debug)]
pub struct WorkQueue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    url: String,
    opts: Options,
    client: async_nats::Client,
    js: Context,
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Checks a stream name or kind: 1 to `max` characters of
/// `[A-Za-z0-9_-]` (a NATS subject token, a stream and consumer name).
fn check_token(what: &'static str, value: &str, max: usize) -> Result<(), WorkError> {
    let why = if value.is_empty() {
        Some("empty")
    } else if value.len() > max {
        Some("too long")
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("only ASCII letters, digits, '_' and '-' are allowed")
    } else {
        None
    };
    match why {
        Some(why) => Err(WorkError::InvalidName {
            what,
            value: cut(value),
            why,
        }),
        None => Ok(()),
    }
}

/// Checks a task id: 1 to [`MAX_ID_LEN`] printable ASCII characters, no
/// spaces (it travels in a header).
fn check_id(id: &str) -> Result<(), WorkError> {
    let why = if id.is_empty() {
        Some("empty")
    } else if id.len() > MAX_ID_LEN {
        Some("too long")
    } else if !id.bytes().all(|b| b.is_ascii_graphic()) {
        Some("only printable ASCII without spaces is allowed")
    } else {
        None
    };
    match why {
        Some(why) => Err(WorkError::InvalidName {
            what: "task id",
            value: cut(id),
            why,
        }),
        None => Ok(()),
    }
}

impl WorkQueue {
    /// Connects to the NATS server at `url` (e.g. `nats://127.0.0.1:4222`)
    /// and makes sure the stream exists (created with `opts` when it does
    /// not). The client reconnects by itself when the server goes away.
    ///
    /// # Errors
    /// Bad options, an unreachable server, or a stream of that name with
    /// another retention policy or subjects.
    pub async fn connect(url: &str, opts: &Options) -> Result<Self, WorkError> {
        opts.check()?;
        let client = async_nats::ConnectOptions::new()
            .name("accord-work")
            .connection_timeout(Duration::from_secs(5))
            // Reconnect soon after a server restart (the default waits up
            // to several seconds between attempts).
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((50u64 << attempts.min(5)).min(1000))
            })
            .connect(url)
            .await
            .map_err(|source| WorkError::Connect {
                server: url.to_string(),
                source,
            })?;
        let js = jetstream::new(client.clone());
        let q = Self {
            inner: Arc::new(Inner {
                url: url.to_string(),
                opts: opts.clone(),
                client,
                js,
            }),
        };
        q.ensure_stream().await?;
        Ok(q)
    }

    /// The server URL given to [`WorkQueue::connect`].
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// The underlying client (e.g. to check its connection state).
    pub fn client(&self) -> &async_nats::Client {
        &self.inner.client
    }

    /// The subject of `kind`: `<stream>.<kind>`.
    ///
    /// # Errors
    /// When `kind` is not a token ([`MAX_KIND_LEN`] characters of
    /// `[A-Za-z0-9_-]`).
    pub fn subject(&self, kind: &str) -> Result<String, WorkError> {
        check_token("kind", kind, MAX_KIND_LEN)?;
        Ok(format!("{}.{kind}", self.inner.opts.stream))
    }

    fn api_err(&self, op: &'static str, target: String) -> impl FnOnce(BoxError) -> WorkError {
        let server = self.inner.url.clone();
        move |source| WorkError::Api {
            op,
            target,
            server,
            source,
        }
    }

    async fn ensure_stream(&self) -> Result<stream::Stream, WorkError> {
        let o = &self.inner.opts;
        let config = stream::Config {
            name: o.stream.clone(),
            subjects: vec![format!("{}.*", o.stream)],
            retention: RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            duplicate_window: o.dedupe_window,
            max_message_size: i32::try_from(o.max_payload + HEADER_ALLOWANCE).unwrap_or(i32::MAX),
            max_bytes: o.max_bytes,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        };
        let mut s = self
            .inner
            .js
            .get_or_create_stream(config)
            .await
            .map_err(|e| {
                let text = e.to_string();
                let e: BoxError = if text.contains("insufficient storage") {
                    // JetStream reserves max_bytes of its file store; by
                    // default that store is 75% of the free disk.
                    format!(
                        "{text} (the stream reserves {} MiB of the server's JetStream file store, \
                         which by default is 75% of the free disk under its store directory: \
                         free disk there or set jetstream {{ max_file_store }} in nats-server's configuration)",
                        o.max_bytes >> 20
                    )
                    .into()
                } else {
                    e.into()
                };
                self.api_err("creating stream", o.stream.clone())(e)
            })?;
        let info = s
            .info()
            .await
            .map_err(|e| self.api_err("reading stream", o.stream.clone())(e.into()))?;
        let want = format!("{}.*", o.stream);
        let why = if info.config.retention != RetentionPolicy::WorkQueue {
            Some(format!(
                "has retention {:?}, not work-queue",
                info.config.retention
            ))
        } else if info.config.subjects != [want.clone()] {
            Some(format!(
                "has subjects {:?}, not [{want:?}]",
                info.config.subjects
            ))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(WorkError::StreamMismatch {
                stream: o.stream.clone(),
                server: self.inner.url.clone(),
                why,
            });
        }
        Ok(s)
    }

    /// The durable pull consumer of `kind` (created on first use, then
    /// shared by every process).
    async fn consumer(&self, kind: &str) -> Result<PullConsumer, WorkError> {
        let subject = self.subject(kind)?;
        let o = &self.inner.opts;
        let stream = self.ensure_stream().await?;
        let config = consumer::pull::Config {
            durable_name: Some(kind.to_string()),
            filter_subject: subject,
            ack_policy: consumer::AckPolicy::Explicit,
            deliver_policy: consumer::DeliverPolicy::All,
            ack_wait: o.ack_wait,
            max_deliver: o.max_deliver,
            ..Default::default()
        };
        stream
            .get_or_create_consumer(kind, config)
            .await
            .map_err(|e| {
                self.api_err("creating consumer", format!("{}/{kind}", o.stream))(e.into())
            })
    }

    /// Queues task `id` of `kind` with `payload`. Publishing an id again
    /// within the dedupe window stores nothing new (`duplicate` is then
    /// true), so every process may publish the same task.
    ///
    /// # Errors
    /// A bad kind or id, a payload over [`Options::max_payload`], or the
    /// server not storing it (no ack within the timeout, e.g. while it
    /// restarts; stream full). Retrying with the same id is safe.
    pub async fn publish(
        &self,
        kind: &str,
        id: &str,
        payload: &[u8],
    ) -> Result<Published, WorkError> {
        let subject = self.subject(kind)?;
        check_id(id)?;
        let max = self.inner.opts.max_payload;
        if payload.len() > max {
            return Err(WorkError::PayloadTooLarge {
                subject,
                id: id.to_string(),
                size: payload.len(),
                max,
                server: self.inner.url.clone(),
            });
        }
        let err = |source| WorkError::Publish {
            subject: subject.clone(),
            id: id.to_string(),
            server: self.inner.url.clone(),
            source,
        };
        let ack = self
            .inner
            .js
            .send_publish(
                subject.clone(),
                PublishMessage::build()
                    .message_id(id)
                    .payload(Bytes::copy_from_slice(payload)),
            )
            .await
            .map_err(err)?
            .await
            .map_err(err)?;
        Ok(Published {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// How much work of `kind` waits (creates the kind's consumer if it is
    /// not there yet).
    ///
    /// # Errors
    /// A bad kind, or the server not answering.
    pub async fn depth(&self, kind: &str) -> Result<Depth, WorkError> {
        let mut c = self.consumer(kind).await?;
        let info = c.info().await.map_err(|e| {
            self.api_err(
                "reading consumer",
                format!("{}/{kind}", self.inner.opts.stream),
            )(e.into())
        })?;
        Ok(Depth {
            pending: info.num_pending,
            in_flight: info.num_ack_pending as u64,
            redelivered: info.num_redelivered as u64,
            waiting_workers: info.num_waiting as u64,
        })
    }

    /// A worker for the tasks of `kind`.
    ///
    /// # Errors
    /// A bad kind.
    pub fn worker(&self, kind: &str) -> Result<Worker, WorkError> {
        check_token("kind", kind, MAX_KIND_LEN)?;
        Ok(Worker {
            queue: self.clone(),
            kind: kind.to_string(),
        })
    }

    /// A ticker publishing one task of `kind` per slot of `every`.
    ///
    /// # Errors
    /// A bad kind, or `every` under 10 ms.
    pub fn periodic(&self, kind: &str, every: Duration) -> Result<Periodic, WorkError> {
        check_token("kind", kind, MAX_KIND_LEN)?;
        if every < Duration::from_millis(10) {
            return Err(WorkError::InvalidOption {
                option: "every",
                why: format!("{every:?} is under 10 ms"),
            });
        }
        Ok(Periodic {
            queue: self.clone(),
            kind: kind.to_string(),
            every,
        })
    }
}

/// What a [`Worker::run`] did, returned when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkerStats {
    /// Tasks whose handler succeeded and that were acknowledged.
    pub done: u64,
    /// Failed attempts handed back for a later retry.
    pub retried: u64,
    /// Tasks given up (attempts exhausted, or malformed).
    pub terminated: u64,
}

/// Takes the tasks of one kind, one at a time, and runs a handler on each.
/// Run several (in one process or many) for parallelism.
#[derive(Debug, Clone)]
pub struct Worker {
    queue: WorkQueue,
    kind: String,
}

impl Worker {
    /// The kind this worker takes.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Takes tasks and runs `handler` on each until `shutdown` completes
    /// (the task in hand, if any, is finished first). A handler's `Ok`
    /// acknowledges the task; an `Err` (logged) hands it back for a retry
    /// after a delay, and after [`Options::max_deliver`] attempts
    /// terminates it (logged at `error`).
    ///
    /// Connection and server errors never end the loop: it logs them,
    /// waits (up to 2 s) and asks again, re-creating the consumer, so it
    /// carries on after the server restarts; after an idle poll it looks
    /// the consumer up again too (a pull on a deleted consumer is never
    /// answered): two small API requests per idle worker per
    /// [`Options::poll`]. Dropping the future
    /// abandons the task in hand: it is redelivered after `ack_wait`.
    pub async fn run<F, Fut, E, S>(&self, handler: F, shutdown: S) -> WorkerStats
    where
        F: Fn(Task) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
        S: Future<Output = ()>,
    {
        let mut shutdown = pin!(shutdown);
        let mut stats = WorkerStats::default();
        let mut consumer: Option<PullConsumer> = None;
        let mut pause = Duration::from_millis(50);
        let o = self.queue.options().clone();
        let target = format!("{}/{}", o.stream, self.kind);
        loop {
            let next = async {
                let c = match &consumer {
                    Some(c) => c.clone(),
                    None => {
                        let c = self.queue.consumer(&self.kind).await?;
                        consumer = Some(c.clone());
                        c
                    }
                };
                let mut batch = c
                    .batch()
                    .max_messages(1)
                    .expires(o.poll)
                    .messages()
                    .await
                    .map_err(|e| self.queue.api_err("pulling from", target.clone())(e.into()))?;
                // The server ends the request after `poll`; if it went away
                // meanwhile nothing comes, so do not wait much longer.
                match tokio::time::timeout(o.poll + Duration::from_secs(2), batch.next()).await {
                    Ok(Some(Ok(m))) => Ok(Some(m)),
                    Ok(Some(Err(e))) => Err(self.queue.api_err("pulling from", target.clone())(e)),
                    Ok(None) | Err(_) => Ok(None),
                }
            };
            let got = tokio::select! {
                biased;
                () = &mut shutdown => return stats,
                got = next => got,
            };
            match got {
                Ok(Some(msg)) => {
                    pause = Duration::from_millis(50);
                    self.handle(msg, &handler, &mut stats).await;
                }
                // No task within `poll`: the consumer may be gone (deleted,
                // or the server restarted without its store), and a pull
                // request to a missing consumer just goes unanswered, so
                // look it up (re-creating it if needed) before asking again.
                Ok(None) => consumer = None,
                Err(e) => {
                    tracing::warn!(error = %e, "work: pulling a task failed; retrying");
                    consumer = None;
                    tokio::select! {
                        biased;
                        () = &mut shutdown => return stats,
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    async fn handle<F, Fut, E>(&self, msg: jetstream::Message, handler: &F, stats: &mut WorkerStats)
    where
        F: Fn(Task) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let o = self.queue.options();
        let subject = msg.subject.to_string();
        let attempt = msg.info().map_or(1, |i| i.delivered);
        let id = msg
            .headers
            .as_ref()
            .and_then(|h: &HeaderMap| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.as_str().to_string());
        let refuse = match &id {
            None => Some("it has no Nats-Msg-Id".to_string()),
            Some(id) if check_id(id).is_err() => Some(format!("its id {:?} is invalid", cut(id))),
            Some(_) if msg.payload.len() > o.max_payload => Some(format!(
                "its payload is {} bytes, over the {}-byte bound",
                msg.payload.len(),
                o.max_payload
            )),
            Some(_) => None,
        };
        if let Some(why) = refuse {
            tracing::error!(
                subject,
                server = self.queue.url(),
                "work: terminating a task: {why}"
            );
            if let Err(e) = msg.ack_with(AckKind::Term).await {
                tracing::warn!(subject, error = %e, "work: terminating a task failed");
            }
            stats.terminated += 1;
            return;
        }
        let id = id.unwrap_or_default();
        let task = Task {
            kind: self.kind.clone(),
            id: id.clone(),
            payload: msg.payload.clone(),
            attempt,
        };
        // Keep the lease while the handler runs.
        let every = o.ack_wait / 3;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut work = pin!(handler(task));
        let outcome = loop {
            tokio::select! {
                r = &mut work => break r,
                _ = tick.tick() => {
                    if let Err(e) = msg.ack_with(AckKind::Progress).await {
                        tracing::warn!(subject, id, error = %e, "work: progress signal failed; the task may be redelivered");
                    }
                }
            }
        };
        match outcome {
            Ok(()) => {
                // Wait for the server to confirm, so that "done" means done
                // (if it does not, the task may run again: at least once).
                if let Err(e) = msg.double_ack().await {
                    tracing::warn!(subject, id, error = %e, "work: acknowledging a done task failed; it may be redelivered");
                }
                stats.done += 1;
            }
            Err(e) if attempt >= o.max_deliver => {
                tracing::error!(
                    subject, id, attempt, server = self.queue.url(), error = %e,
                    "work: task failed on its last attempt; terminated"
                );
                if let Err(e) = msg.ack_with(AckKind::Term).await {
                    tracing::warn!(subject, id, error = %e, "work: terminating a task failed");
                }
                stats.terminated += 1;
            }
            Err(e) => {
                let delay = retry_delay(o.retry_delay, attempt);
                tracing::warn!(subject, id, attempt, error = %e, ?delay, "work: task failed; retrying later");
                if let Err(e) = msg.ack_with(AckKind::Nak(Some(delay))).await {
                    tracing::warn!(subject, id, error = %e, "work: handing a failed task back failed; it is redelivered after ack_wait");
                }
                stats.retried += 1;
            }
        }
    }
}

/// The delay before attempt `attempt + 1`: `base * 2^(attempt-1)`, at most
/// [`MAX_RETRY_DELAY`].
pub fn retry_delay(base: Duration, attempt: i64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(1 << doublings).min(MAX_RETRY_DELAY)
}

/// Publishes one task of a kind per time slot from every process; the
/// dedupe window collapses the copies, so one process runs each slot.
#[derive(Debug, Clone)]
pub struct Periodic {
    queue: WorkQueue,
    kind: String,
    every: Duration,
}

impl Periodic {
    /// The slot of time `t`: `unix_time / every` (in milliseconds, so
    /// sub-second periods work too).
    pub fn slot_of(&self, t: SystemTime) -> u64 {
        let ms = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        u64::try_from(ms / self.every.as_millis().max(1)).unwrap_or(u64::MAX)
    }

    /// When slot `slot` starts.
    pub fn slot_start(&self, slot: u64) -> SystemTime {
        let ms = u128::from(slot) * self.every.as_millis();
        UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The task id of slot `slot`: `<kind>:<slot>`.
    pub fn id_of(&self, slot: u64) -> String {
        format!("{}:{slot}", self.kind)
    }

    /// Publishes slot `slot` now with `payload`.
    ///
    /// # Errors
    /// As [`WorkQueue::publish`].
    pub async fn fire(&self, slot: u64, payload: &[u8]) -> Result<Published, WorkError> {
        self.queue
            .publish(&self.kind, &self.id_of(slot), payload)
            .await
    }

    /// Ticks until `shutdown` completes, publishing each slot at its start
    /// with `payload(slot)`. At startup the current slot is published too
    /// if it began less than half the dedupe window ago (other processes'
    /// copies are then still remembered); a failed publish is retried for
    /// as long as that holds, then the slot is skipped (logged).
    pub async fn run<P, S>(&self, payload: P, shutdown: S)
    where
        P: Fn(u64) -> Vec<u8>,
        S: Future<Output = ()>,
    {
        let mut shutdown = pin!(shutdown);
        let safe = self.queue.options().dedupe_window / 2;
        let mut slot = self.slot_of(SystemTime::now());
        loop {
            let start = self.slot_start(slot);
            let late = SystemTime::now().duration_since(start).unwrap_or_default();
            if late < safe {
                let body = payload(slot);
                let mut pause = Duration::from_millis(50);
                loop {
                    match self.fire(slot, &body).await {
                        Ok(_) => break,
                        Err(e) => {
                            let late = SystemTime::now().duration_since(start).unwrap_or_default();
                            if late + pause >= safe {
                                tracing::error!(error = %e, slot, kind = self.kind, "work: could not publish a periodic slot within the dedupe window; skipped");
                                break;
                            }
                            tracing::warn!(error = %e, slot, kind = self.kind, "work: publishing a periodic slot failed; retrying");
                            tokio::select! {
                                biased;
                                () = &mut shutdown => return,
                                () = tokio::time::sleep(pause) => {}
                            }
                            pause = (pause * 2).min(Duration::from_secs(1));
                        }
                    }
                }
            }
            slot = slot.max(self.slot_of(SystemTime::now())) + 1;
            let wait = self
                .slot_start(slot)
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_ids_are_bounded() {
        assert!(check_token("kind", "sync", MAX_KIND_LEN).is_ok());
        assert!(check_token("kind", "a.b", MAX_KIND_LEN).is_err());
        assert!(check_token("kind", "a*", MAX_KIND_LEN).is_err());
        assert!(check_token("kind", "", MAX_KIND_LEN).is_err());
        assert!(check_token("kind", &"k".repeat(65), MAX_KIND_LEN).is_err());
        assert!(check_id("sync:partner-1:123").is_ok());
        assert!(check_id("a b").is_err());
        assert!(check_id("a\r\nNats-Msg-Id: x").is_err());
        assert!(check_id(&"i".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(check_id("").is_err());
    }

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let b = Duration::from_secs(1);
        assert_eq!(retry_delay(b, 1), b);
        assert_eq!(retry_delay(b, 2), 2 * b);
        assert_eq!(retry_delay(b, 4), 8 * b);
        assert_eq!(retry_delay(b, 100), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(b, -5), b);
    }

    #[test]
    fn options_are_checked() {
        assert!(Options::default().check().is_ok());
        let bad = Options {
            max_payload: 2 << 20,
            ..Options::default()
        };
        assert!(matches!(
            bad.check(),
            Err(WorkError::InvalidOption {
                option: "max_payload",
                ..
            })
        ));
        let bad = Options {
            stream: "a.b".into(),
            ..Options::default()
        };
        assert!(bad.check().is_err());
    }
}
