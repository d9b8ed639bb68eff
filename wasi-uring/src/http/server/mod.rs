//! The server: one thread per core, each with its own reactor, its own
//! `SO_REUSEPORT` listener under a multishot accept, and its own executor
//! of connection tasks. Threads share nothing on the request path but
//! the connection counter (one relaxed atomic per connection) and their
//! metrics blocks (each written by its thread only).
//!
//! Start with [`Server::bind`], then [`Server::run`] with a function that
//! makes each thread's [`Handler`]. [`ShutdownHandle::shutdown`] drains:
//! accepting stops, idle connections close, in-flight requests finish
//! (with `connection: close`) within [`Limits::drain_timeout`], and `run`
//! returns.

pub(crate) mod conn;
pub(crate) mod drain;
pub(crate) mod transport;

use std::cell::{Cell, RefCell};
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Poll, Waker};
use std::time::{Duration, SystemTime};

use ringwasm_reactor::op::{AcceptMulti, Recv, Send, Timeout};
use ringwasm_reactor::{BufRing, Driver};

use crate::http::error::Error;
use crate::http::h1::{Header, http_date};
use crate::http::handler::{Full, Handler, HandlerError, Request, Response, Scheme};
use crate::http::limits::Limits;
use crate::http::metrics::{Metrics, ThreadMetrics};
use crate::http::tls::TlsStream;
use crate::io::{Io, IoChoice};
use drain::{Drain, Either, select};
use transport::{IoFail, Plain, Transport};

/// Buffer group of each thread's provided-buffer ring.
const RING_GROUP: u16 = 0x4854;
/// Buffers in each thread's ring: receives take one only when data
/// arrives, so idle connections pin none.
const RING_ENTRIES: u16 = 1024;
/// Size of each provided buffer.
const RING_BUF_LEN: usize = 4096;
/// Connections being refused at once per thread; past it, refused
/// connections are closed without the 503.
const MAX_SHEDDING: usize = 64;
/// Listen backlog.
const BACKLOG: i32 = 4096;

/// How to run the server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen (port 0 picks one; see [`Server::local_addr`]).
    pub addr: SocketAddr,
    /// Server threads (each a reactor, a listener and an executor).
    pub threads: usize,
    /// Limits and timeouts.
    pub limits: Limits,
    /// I/O backend.
    pub io: IoChoice,
    /// TLS, when set: every connection on `addr` is TLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Where to serve Prometheus metrics (`GET /metrics`), plain HTTP.
    pub metrics_addr: Option<SocketAddr>,
}

impl ServerConfig {
    /// A plain-HTTP configuration with default limits, one thread per
    /// core.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            limits: Limits::default(),
            io: IoChoice::Auto,
            tls: None,
            metrics_addr: None,
        }
    }
}

/// Stops a running server from any thread (a signal handler's thread).
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    inner: Arc<ShutdownInner>,
}

#[derive(Debug)]
struct ShutdownInner {
    started: AtomicBool,
    /// One end of a socket pair per thread; a byte wakes the thread.
    wake: Vec<UnixStream>,
}

impl ShutdownHandle {
    /// Starts the graceful drain (once; later calls do nothing).
    pub fn shutdown(&self) {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        for s in &self.inner.wake {
            // A full socket buffer means a byte is already there.
            let _ = (&*s).write(&[1]);
        }
    }

    /// Whether [`ShutdownHandle::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.started.load(Ordering::Acquire)
    }
}

/// A bound server, ready to [`Server::run`].
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    listeners: Vec<OwnedFd>,
    local: SocketAddr,
    metrics_listener: Option<OwnedFd>,
    metrics_local: Option<SocketAddr>,
    metrics: Arc<Metrics>,
    shutdown: ShutdownHandle,
    wake_rx: Vec<UnixStream>,
}

fn listen(addr: SocketAddr) -> std::io::Result<OwnedFd> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    // Linux sets both flags in `socket(2)`; macOS has no such flags.
    #[cfg(target_os = "linux")]
    let fd = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    #[cfg(not(target_os = "linux"))]
    let fd = {
        let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::empty(), None)?;
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
        let flags = rustix::fs::fcntl_getfl(&fd)?;
        rustix::fs::fcntl_setfl(&fd, flags | rustix::fs::OFlags::NONBLOCK)?;
        fd
    };
    sockopt::set_socket_reuseaddr(&fd, true)?;
    sockopt::set_socket_reuseport(&fd, true)?;
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, BACKLOG)?;
    Ok(fd)
}

fn local_addr(fd: &OwnedFd) -> std::io::Result<SocketAddr> {
    let any = rustix::net::getsockname(fd)?;
    SocketAddr::try_from(any).map_err(|_| std::io::Error::other("not an IP socket"))
}

impl Server {
    /// Binds one `SO_REUSEPORT` listener per thread (and the metrics
    /// listener).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for bad limits or zero threads, [`Error::Bind`]
    /// when an address cannot be bound.
    pub fn bind(config: ServerConfig) -> Result<Self, Error> {
        config.limits.validate()?;
        if config.threads == 0 {
            return Err(Error::Config("threads must be at least 1"));
        }
        let bind_err = |addr, source| Error::Bind {
            addr: Box::new(addr),
            source,
        };
        let first = listen(config.addr).map_err(|e| bind_err(config.addr, e))?;
        let local = local_addr(&first).map_err(|e| bind_err(config.addr, e))?;
        let mut listeners = vec![first];
        for _ in 1..config.threads {
            listeners.push(listen(local).map_err(|e| bind_err(local, e))?);
        }
        let (metrics_listener, metrics_local) = match config.metrics_addr {
            Some(a) => {
                let fd = listen(a).map_err(|e| bind_err(a, e))?;
                let l = local_addr(&fd).map_err(|e| bind_err(a, e))?;
                (Some(fd), Some(l))
            }
            None => (None, None),
        };
        let mut wake = Vec::new();
        let mut wake_rx = Vec::new();
        for _ in 0..config.threads {
            let (tx, rx) = UnixStream::pair().map_err(Error::Thread)?;
            tx.set_nonblocking(true).map_err(Error::Thread)?;
            rx.set_nonblocking(true).map_err(Error::Thread)?;
            wake.push(tx);
            wake_rx.push(rx);
        }
        Ok(Self {
            metrics: Arc::new(Metrics::new(config.threads)),
            config,
            listeners,
            local,
            metrics_listener,
            metrics_local,
            shutdown: ShutdownHandle {
                inner: Arc::new(ShutdownInner {
                    started: AtomicBool::new(false),
                    wake,
                }),
            },
            wake_rx,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The metrics listener's address, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_local
    }

    /// The handle that drains the server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// The metrics every thread writes (add sources before `run`).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Serves until shut down and drained. `make_handler(i, driver)` runs
    /// on thread `i` and makes its handler; `driver` is that thread's
    /// reactor, for the handler's own I/O.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] when a thread's I/O backend cannot be set up,
    /// [`Error::Thread`] when a thread cannot be started.
    pub fn run<H, F>(self, make_handler: F) -> Result<(), Error>
    where
        H: Handler,
        F: Fn(usize, &Driver) -> H + std::marker::Send + Sync + 'static,
    {
        let Self {
            config,
            listeners,
            metrics_listener,
            metrics,
            shutdown,
            wake_rx,
            ..
        } = self;
        // Resolve `auto` once, so every thread agrees and says why once.
        let first = Io::new(config.io).map_err(|e| Error::Backend(Box::new(e)))?;
        let kind = IoChoice::from(first.kind());
        drop(first);
        let make = Arc::new(make_handler);
        let total = Arc::new(AtomicUsize::new(0));
        let config = Arc::new(config);
        let mut metrics_listener = metrics_listener;
        let mut joins = Vec::new();
        for (i, (listener, wake)) in listeners.into_iter().zip(wake_rx).enumerate() {
            let ml = if i == 0 {
                metrics_listener.take()
            } else {
                None
            };
            let make = make.clone();
            let config = config.clone();
            let metrics = metrics.clone();
            let total = total.clone();
            let join = std::thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || {
                    let setup = ThreadSetup {
                        index: i,
                        listener,
                        metrics_listener: ml,
                        wake,
                        kind,
                        config,
                        metrics,
                        total,
                    };
                    setup.run(|d| make(i, d))
                })
                .map_err(Error::Thread);
            match join {
                Ok(j) => joins.push(j),
                Err(e) => {
                    shutdown.shutdown();
                    for j in joins {
                        let _ = j.join();
                    }
                    return Err(e);
                }
            }
        }
        let mut first_err = None;
        for j in joins {
            match j.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    shutdown.shutdown();
                    first_err.get_or_insert(e);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// What a server thread shares with its connection tasks.
#[derive(Debug)]
pub(crate) struct ThreadCtx {
    pub(crate) driver: Driver,
    pub(crate) limits: Limits,
    pub(crate) ring: Option<BufRing>,
    pub(crate) metrics: Arc<ThreadMetrics>,
    pub(crate) drain: Drain,
    tls: Option<Arc<rustls::ServerConfig>>,
    /// Connections over all threads (the cap).
    total: Arc<AtomicUsize>,
    /// Connections of this thread.
    live: Cell<usize>,
    /// The thread's main future, waiting for `live` to reach zero.
    idle_waker: RefCell<Option<Waker>>,
    shedding: Cell<usize>,
    date: Cell<(u64, [u8; 29])>,
}

impl ThreadCtx {
    /// Today's `Date` value, formatted once per second.
    pub(crate) fn date(&self) -> [u8; 29] {
        let now = SystemTime::now();
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (at, text) = self.date.get();
        if at == secs {
            return text;
        }
        let text = http_date(now);
        self.date.set((secs, text));
        text
    }
}

/// Keeps the counts right however a connection task ends (including being
/// dropped at a drain deadline).
struct ConnGuard {
    ctx: Rc<ThreadCtx>,
    counted: bool,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let ctx = &self.ctx;
        ctx.live.set(ctx.live.get() - 1);
        if self.counted {
            ctx.total.fetch_sub(1, Ordering::Relaxed);
        }
        ctx.metrics.closed();
        if ctx.live.get() == 0
            && let Some(w) = ctx.idle_waker.borrow_mut().take()
        {
            w.wake();
        }
    }
}

struct ThreadSetup {
    index: usize,
    listener: OwnedFd,
    metrics_listener: Option<OwnedFd>,
    wake: UnixStream,
    kind: IoChoice,
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    total: Arc<AtomicUsize>,
}

impl ThreadSetup {
    fn run<H: Handler>(self, make: impl FnOnce(&Driver) -> H) -> Result<(), Error> {
        let io = Io::new(self.kind).map_err(|e| Error::Backend(Box::new(e)))?;
        let driver = io.driver().clone();
        let ring = match driver.register_buf_ring(RING_GROUP, RING_ENTRIES, RING_BUF_LEN) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::info!(target: "ringwasm::http", error = %e, "no provided-buffer ring; receives use a buffer each");
                None
            }
        };
        let ctx = Rc::new(ThreadCtx {
            driver: driver.clone(),
            limits: self.config.limits.clone(),
            ring,
            metrics: self.metrics.thread(self.index),
            drain: Drain::default(),
            tls: self.config.tls.clone(),
            total: self.total,
            live: Cell::new(0),
            idle_waker: RefCell::new(None),
            shedding: Cell::new(0),
            date: Cell::new((0, [0; 29])),
        });
        let handler = Rc::new(make(&driver));
        let scheme = if ctx.tls.is_some() {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let main = {
            let ctx = ctx.clone();
            async move {
                ringwasm_reactor::spawn(accept_loop(
                    ctx.clone(),
                    handler,
                    self.listener,
                    scheme,
                    true,
                ));
                if let Some(ml) = self.metrics_listener {
                    let mh = Rc::new(MetricsHandler(self.metrics.clone()));
                    ringwasm_reactor::spawn(accept_loop(ctx.clone(), mh, ml, Scheme::Http, false));
                }
                // Wait for the shutdown byte.
                let _ = ctx
                    .driver
                    .submit(Recv::new(self.wake.as_raw_fd(), Vec::with_capacity(8)))
                    .await;
                ctx.drain.fire();
                let deadline = ctx.driver.submit(Timeout::new(ctx.limits.drain_timeout));
                let drained = std::future::poll_fn(|cx| {
                    if ctx.live.get() == 0 {
                        Poll::Ready(())
                    } else {
                        *ctx.idle_waker.borrow_mut() = Some(cx.waker().clone());
                        Poll::Pending
                    }
                });
                if let Either::Right(_) = select(drained, deadline).await {
                    tracing::warn!(
                        target: "ringwasm::http",
                        open = ctx.live.get(),
                        "drain deadline passed; closing the connections left"
                    );
                }
            }
        };
        driver.block_on(main);
        Ok(())
    }
}

/// Accepts connections until the drain starts; each gets its own task.
async fn accept_loop<H: Handler>(
    ctx: Rc<ThreadCtx>,
    handler: Rc<H>,
    listener: OwnedFd,
    scheme: Scheme,
    counted: bool,
) {
    loop {
        let mut accepts = ctx
            .driver
            .submit_multi(AcceptMulti::new(listener.as_raw_fd()));
        loop {
            let item = match select(accepts.next(), ctx.drain.wait()).await {
                Either::Left(item) => item,
                Either::Right(()) => return,
            };
            match item {
                // The multishot ended (the kernel may end it): re-arm.
                None => break,
                Some(Ok(fd)) => admit(&ctx, &handler, fd, scheme, counted),
                Some(Err(e)) => {
                    // EMFILE, ENFILE, ENOBUFS...: back off briefly rather
                    // than spin.
                    tracing::warn!(target: "ringwasm::http", error = %e, "accept failed");
                    let _ = ctx
                        .driver
                        .submit(Timeout::new(Duration::from_millis(10)))
                        .await;
                    break;
                }
            }
        }
    }
}

/// Starts a connection's task, or refuses it over the cap.
fn admit<H: Handler>(
    ctx: &Rc<ThreadCtx>,
    handler: &Rc<H>,
    fd: OwnedFd,
    scheme: Scheme,
    counted: bool,
) {
    if counted && ctx.total.fetch_add(1, Ordering::Relaxed) >= ctx.limits.max_connections {
        ctx.total.fetch_sub(1, Ordering::Relaxed);
        ctx.metrics.shed();
        if ctx.shedding.get() < MAX_SHEDDING {
            ctx.shedding.set(ctx.shedding.get() + 1);
            ringwasm_reactor::spawn(shed(ctx.clone(), fd));
        }
        return;
    }
    let _ = rustix::net::sockopt::set_tcp_nodelay(&fd, true);
    ctx.live.set(ctx.live.get() + 1);
    ctx.metrics.accepted();
    let guard = ConnGuard {
        ctx: ctx.clone(),
        counted,
    };
    let handler = handler.clone();
    let fut = async move {
        let ctx = guard.ctx.clone();
        let peer = rustix::net::getpeername(&fd)
            .ok()
            .flatten()
            .and_then(|a| SocketAddr::try_from(a).ok());
        let plain = Plain {
            fd,
            driver: ctx.driver.clone(),
            ring: ctx.ring.clone(),
        };
        let io = match &ctx.tls {
            Some(cfg) if scheme == Scheme::Https => {
                // Boxed: the handshake's state is large and short-lived;
                // inline, every connection's task would carry its size.
                let handshake =
                    TlsStream::accept(plain, cfg.clone(), ctx.limits.tls_handshake_timeout);
                match Box::pin(handshake).await {
                    Ok(t) => {
                        ctx.metrics.tls_handshake(true);
                        Transport::Tls(Box::new(t))
                    }
                    Err(e) => {
                        ctx.metrics.tls_handshake(false);
                        if e == IoFail::Timeout {
                            ctx.metrics.timeout("tls");
                        }
                        return;
                    }
                }
            }
            _ => Transport::Plain(plain),
        };
        conn::serve(ctx, handler, io, peer, scheme).await;
        drop(guard);
    };
    ringwasm_reactor::spawn(fut);
}

/// Answers 503 on a connection over the cap and closes it.
async fn shed(ctx: Rc<ThreadCtx>, fd: OwnedFd) {
    let resp = conn::error_response(503, &ctx.date());
    let op = Send::new(fd.as_raw_fd(), resp);
    let _ = ctx
        .driver
        .submit_with_timeout(op, Duration::from_secs(1))
        .await;
    drop(fd);
    ctx.shedding.set(ctx.shedding.get() - 1);
}

/// Serves `GET /metrics` from the server's [`Metrics`].
struct MetricsHandler(Arc<Metrics>);

impl Handler for MetricsHandler {
    type Body = Full<Vec<u8>>;

    async fn handle(&self, req: Request) -> Result<Response<Self::Body>, HandlerError> {
        let path = req.head.target.split('?').next().unwrap_or("");
        let (status, body) = if path == "/metrics" {
            (200, self.0.render().into_bytes())
        } else {
            (404, b"404 Not Found\n".to_vec())
        };
        let headers = vec![Header::new(
            "content-type",
            "text/plain; version=0.0.4; charset=utf-8",
        )];
        Ok(Response {
            status,
            headers,
            body: Full::new(body),
        })
    }
}
