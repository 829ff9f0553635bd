//! Accepting and serving connections: TLS (rustls) when configured, bounds
//! on open connections in total and per client address, a header read
//! timeout, a bound on header size and an idle timeout, so that many
//! clients, slow clients or clients that never finish a request cannot
//! exhaust the node.
//!
//! One task accepts TCP connections, taking a permit from a semaphore for
//! each (at the bound it stops accepting; the kernel's backlog holds the
//! rest). A connection from an address that already has
//! `max_connections_per_address` open is closed at once, so one client
//! cannot take every slot. TLS handshakes run in their own tasks with a
//! deadline, so a slow handshake never delays other clients.
//!
//! Each connection is served by hyper's HTTP/1.1 server
//! ([`NodeListener::serve`]): a request's line and headers must arrive
//! within the header read timeout of the connection being ready for them
//! (opened, or the previous response sent; so an idle keep-alive
//! connection is closed after that long too), and may not exceed the
//! header size bound (431). A connection that neither reads nor writes for
//! the idle timeout is closed, which returns its permits. Every request
//! carries its client's address as `axum::extract::ConnectInfo<SocketAddr>`.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::{Instant, Sleep};

/// How connections are accepted and served.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// Connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv6 client
    /// is its /64); more are closed at once.
    pub max_connections_per_address: usize,
    /// A connection idle this long is closed.
    pub idle_timeout: Duration,
    /// A TLS handshake must finish within this.
    pub handshake_timeout: Duration,
    /// A request's line and headers must arrive within this of the
    /// connection being ready for them; also the keep-alive idle bound.
    pub header_read_timeout: Duration,
    /// Largest request line and headers, in bytes (431 above).
    pub max_header_bytes: usize,
}

impl ListenOptions {
    /// The options `limits` (`[limits]` of `accord.toml`) give.
    pub fn from_limits(limits: &accord_app::config::Limits) -> ListenOptions {
        ListenOptions {
            max_connections: limits.max_connections,
            max_connections_per_address: limits.max_connections_per_address,
            idle_timeout: Duration::from_secs(
                limits
                    .idle_timeout_secs
                    .max(limits.request_timeout_secs + 5),
            ),
            handshake_timeout: Duration::from_secs(limits.header_read_timeout_secs.max(1)),
            header_read_timeout: Duration::from_secs(limits.header_read_timeout_secs.max(1)),
            max_header_bytes: limits.max_header_bytes.max(8192),
        }
    }
}

/// Open connections per client address.
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
    max: usize,
}

/// One connection's place in [`PerAddress`], given back when it closes.
struct AddressSlot {
    table: Arc<PerAddress>,
    key: IpAddr,
}

impl PerAddress {
    /// A slot for a connection from `ip`, unless that address is at its bound.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        let key = crate::auth::address_key(ip);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            table: Arc::clone(self),
            key,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self
            .table
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Loads a certificate chain and private key (PEM files) into a TLS acceptor.
///
/// # Errors
/// An `io::Error` naming the file and what is wrong with it.
pub fn tls_acceptor(cert: &Path, key: &Path) -> io::Result<tokio_rustls::TlsAcceptor> {
    let bad = |what: &str, p: &Path, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} {}: {e}", p.display()),
        )
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("reading certificates from", cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("reading certificates from", cert, &e))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate in",
            cert,
            &"expected PEM `CERTIFICATE` blocks",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad("reading the private key from", key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("configuring TLS for", cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("using the certificate", cert, &e))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A bounded, timed, optionally TLS listener and the HTTP/1.1 server over it.
pub struct NodeListener {
    rx: mpsc::Receiver<(Conn, SocketAddr)>,
    local: SocketAddr,
    opts: ListenOptions,
}

impl NodeListener {
    /// Starts accepting on `tcp`. Must be called within a tokio runtime.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn new(
        tcp: TcpListener,
        tls: Option<tokio_rustls::TlsAcceptor>,
        opts: ListenOptions,
    ) -> io::Result<NodeListener> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let permits = Arc::new(Semaphore::new(opts.max_connections.max(1)));
        let per_address = Arc::new(PerAddress {
            open: Mutex::new(HashMap::new()),
            max: opts.max_connections_per_address.max(1),
        });
        tokio::spawn(accept_loop(
            tcp,
            tls,
            opts.clone(),
            permits,
            per_address,
            tx,
        ));
        Ok(NodeListener { rx, local, opts })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves `app` on every accepted connection (HTTP/1.1, keep-alive,
    /// the header read timeout and header size bound of the options) until
    /// `shutdown` completes; then stops accepting, lets each connection
    /// finish the request in flight, and returns when all are closed.
    pub async fn serve(
        mut self,
        app: axum::Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        use tower::ServiceExt;
        let (signal_tx, signal_rx) = watch::channel(());
        tokio::spawn(async move {
            shutdown.await;
            drop(signal_rx);
        });
        let (close_tx, close_rx) = watch::channel(());
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(self.opts.header_read_timeout)
            .max_header_size(self.opts.max_header_bytes)
            .keep_alive(true);
        loop {
            let (conn, addr) = tokio::select! {
                c = self.rx.recv() => match c {
                    Some(c) => c,
                    None => break,
                },
                () = signal_tx.closed() => break,
            };
            let svc = app.clone().map_request(
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(addr));
                    req.map(axum::body::Body::new)
                },
            );
            let conn = http.serve_connection(
                hyper_util::rt::TokioIo::new(conn),
                hyper_util::service::TowerToHyperService::new(svc),
            );
            let (signal_tx, close_rx) = (signal_tx.clone(), close_rx.clone());
            tokio::spawn(async move {
                let mut conn = std::pin::pin!(conn);
                let r = tokio::select! {
                    r = conn.as_mut() => r,
                    () = signal_tx.closed() => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = r {
                    tracing::debug!("connection from {addr}: {e}");
                }
                drop(close_rx);
            });
        }
        // Stop accepting (the accept loop sees the channel closed).
        drop(self.rx);
        drop(close_rx);
        close_tx.closed().await;
    }
}

async fn accept_loop(
    tcp: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    opts: ListenOptions,
    permits: Arc<Semaphore>,
    per_address: Arc<PerAddress>,
    tx: mpsc::Sender<(Conn, SocketAddr)>,
) {
    let mut refused: u64 = 0;
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            () = tx.closed() => return,
        };
        let accepted = tokio::select! {
            a = tcp.accept() => a,
            () = tx.closed() => return,
        };
        let (stream, addr) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!("accepting a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = per_address.admit(addr.ip()) else {
            // Closed at once: this address holds its share already.
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    "closed a connection from {addr}: it has {} open already (max_connections_per_address); {refused} refused so far",
                    per_address.max
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let held = Held {
            _permit: permit,
            _slot: slot,
        };
        match &tls {
            None => {
                let conn = Conn::new(Inner::Plain(stream), held, opts.idle_timeout);
                if tx.send((conn, addr)).await.is_err() {
                    return;
                }
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                let (idle, deadline) = (opts.idle_timeout, opts.handshake_timeout);
                tokio::spawn(async move {
                    match tokio::time::timeout(deadline, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => {
                            let _ = tx
                                .send((Conn::new(Inner::Tls(Box::new(s)), held, idle), addr))
                                .await;
                        }
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {addr} failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {addr} timed out"),
                    }
                });
            }
        }
    }
}

/// What an open connection holds: its place under both bounds.
struct Held {
    _permit: OwnedSemaphorePermit,
    _slot: AddressSlot,
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// One accepted connection: holds its permits, and ends when idle too long.
pub struct Conn {
    inner: Inner,
    _held: Held,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl Conn {
    fn new(inner: Inner, held: Held, idle: Duration) -> Conn {
        Conn {
            inner,
            _held: held,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn touch(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    /// Whether the idle deadline has passed (registering for a wake-up when not).
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let r = match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        match r {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.idle_expired(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let r = match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        };
        match r {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.idle_expired(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client stopped reading for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
