//! The HTTP load client, written once against `ringwasm-reactor`'s
//! [`Driver`]: one driver per thread (io_uring or the epoll fallback, as
//! `--io` chose), one task per connection, every socket operation (connect,
//! send, recv, timeouts) an op. On io_uring the ops enter the kernel in
//! batches when the thread parks; on the fallback each is attempted at once
//! and re-armed on `EAGAIN`.
//!
//! TLS: rustls encrypts and decrypts in memory; the driver only moves the
//! records.

use std::cell::RefCell;
use std::io::{self, Read as _, Write as _};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringwasm_reactor::op::{Connect, Recv, Send, Timeout};
use ringwasm_reactor::{BackendKind, Driver};
use rustls::ClientConnection;
use rustls::pki_types::ServerName;

use super::load::{LoadConfig, Pacer, Shared, Tally, Window, claim, exhausted};
use super::parse::ResponseParser;
use crate::uringbench::thread_driver;

/// How long to wait before reconnecting after a failed connect.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// Everything one connection task needs, shared by the thread's tasks.
struct Ctx {
    driver: Driver,
    cfg: LoadConfig,
    shared: Arc<Shared>,
    window: Window,
    tally: RefCell<Tally>,
}

/// Runs one thread's share (`conns` connections) on a new driver of
/// backend `kind` until the window closes or `-n` is used up, and returns
/// its tally.
///
/// # Errors
///
/// When the backend cannot be set up on this thread; connection failures
/// are counted, not returned.
pub fn run_thread(
    kind: BackendKind,
    cfg: &LoadConfig,
    shared: &Arc<Shared>,
    window: Window,
    first_index: usize,
    conns: usize,
) -> io::Result<Tally> {
    let driver = thread_driver(kind)?;
    let ctx = Rc::new(Ctx {
        driver: driver.clone(),
        cfg: cfg.clone(),
        shared: Arc::clone(shared),
        window,
        tally: RefCell::new(Tally::default()),
    });
    driver.block_on(async {
        let handles: Vec<_> = (0..conns)
            .map(|i| ringwasm_reactor::spawn(connection(Rc::clone(&ctx), first_index + i)))
            .collect();
        for h in handles {
            h.await;
        }
    });
    let mut tally = ctx.tally.take();
    tally.publish(shared);
    Ok(tally)
}

/// Which error counter a failure goes to.
#[derive(Clone, Copy)]
enum Kind {
    Connect,
    Read,
    Write,
    Timeout,
}

impl Ctx {
    fn fail(&self, kind: Kind) {
        if !Tally::counts(&self.window, Instant::now()) {
            return;
        }
        let mut t = self.tally.borrow_mut();
        let e = &mut t.errors;
        match kind {
            Kind::Connect => e.connect += 1,
            Kind::Read => e.read += 1,
            Kind::Write => e.write += 1,
            Kind::Timeout => e.timeout += 1,
        }
    }

    async fn sleep(&self, d: Duration) {
        if !d.is_zero() {
            let _ = self.driver.submit(Timeout::new(d)).await;
        }
    }

    /// The deadline of a request started at `started`: its timeout, or the
    /// end of the run if sooner.
    fn deadline(&self, started: Instant) -> Instant {
        let d = started + self.cfg.timeout;
        self.window.end.map_or(d, |e| d.min(e))
    }
}

fn new_socket(addr: SocketAddr) -> io::Result<OwnedFd> {
    crate::uringbench::sock::stream_socket(addr)
}

/// Sends all of `out` and returns it emptied, or `None` on failure.
async fn send_all(ctx: &Ctx, fd: &OwnedFd, mut out: Vec<u8>) -> Option<Vec<u8>> {
    while !out.is_empty() {
        let (res, back) = ctx.driver.submit(Send::new(fd, out)).await;
        out = back;
        match res {
            Ok(n) if n > 0 => {
                out.drain(..n.min(out.len()));
            }
            Ok(_) | Err(_) => return None,
        }
    }
    Some(out)
}

/// Moves every TLS record rustls wants to send into `out`.
fn drain_tls(tls: &mut ClientConnection, out: &mut Vec<u8>) {
    while tls.wants_write() {
        if tls.write_tls(out).is_err() {
            break;
        }
    }
}

/// Feeds received TLS bytes to the session and appends the plaintext they
/// carry to `plain`. Returns whether the peer closed the TLS stream.
fn decrypt(tls: &mut ClientConnection, mut wire: &[u8], plain: &mut Vec<u8>) -> io::Result<bool> {
    while !wire.is_empty() {
        tls.read_tls(&mut wire)?;
        tls.process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    }
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match tls.reader().read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => plain.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// One connection: connect, then request after request until the run ends,
/// reconnecting after `Connection: close` or an error. With TLS, rustls
/// turns plaintext into records in memory and the ring moves the records.
async fn connection(ctx: Rc<Ctx>, index: usize) {
    let cfg = &ctx.cfg;
    let mut pacer = Pacer::new(cfg, index, ctx.window.start);
    let mut rbuf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut plain: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(cfg.request.len() + 1024);
    loop {
        if exhausted(cfg, &ctx.shared, &ctx.window, Instant::now()) {
            return;
        }
        let fd = match new_socket(cfg.addr) {
            Ok(fd) => fd,
            Err(_) => {
                ctx.fail(Kind::Connect);
                ctx.sleep(RECONNECT_BACKOFF).await;
                continue;
            }
        };
        let started = Instant::now();
        let limit = ctx.deadline(started).saturating_duration_since(started);
        let connected = ctx
            .driver
            .submit_with_timeout(Connect::new(&fd, cfg.addr), limit)
            .await;
        let mut tls = match (&connected, &cfg.tls) {
            (Err(_), _) => None,
            (Ok(()), None) => None,
            (Ok(()), Some((config, name))) => {
                let session = ServerName::try_from(name.clone())
                    .ok()
                    .and_then(|n| ClientConnection::new(Arc::clone(config), n).ok());
                if session.is_none() {
                    ctx.fail(Kind::Connect);
                    ctx.sleep(RECONNECT_BACKOFF).await;
                    continue;
                }
                session
            }
        };
        if connected.is_err() {
            ctx.fail(Kind::Connect);
            ctx.sleep(RECONNECT_BACKOFF).await;
            continue;
        }
        let _ = rustix::net::sockopt::set_tcp_nodelay(&fd, true);
        let mut parser = ResponseParser::new();
        'requests: loop {
            let now = Instant::now();
            let due = pacer.due(now);
            if due > now {
                let wake = ctx.window.end.map_or(due, |e| due.min(e));
                ctx.sleep(wake - now).await;
            }
            let now = Instant::now();
            if !claim(cfg, &ctx.shared, &ctx.window, now) {
                return;
            }
            let from = pacer.take(now);
            let started = now;
            let deadline = ctx.deadline(started);
            parser.expect_head_response(cfg.head_method);
            out.clear();
            match tls.as_mut() {
                None => out.extend_from_slice(&cfg.request),
                Some(t) => {
                    if t.writer().write_all(&cfg.request).is_err() {
                        ctx.fail(Kind::Write);
                        break 'requests;
                    }
                    drain_tls(t, &mut out);
                }
            }
            match send_all(&ctx, &fd, std::mem::take(&mut out)).await {
                Some(back) => out = back,
                None => {
                    ctx.fail(Kind::Write);
                    break 'requests;
                }
            }
            // Read until the response is complete.
            loop {
                let now = Instant::now();
                if now >= deadline {
                    if ctx.window.end.is_none_or(|e| now < e) {
                        ctx.fail(Kind::Timeout);
                    }
                    break 'requests;
                }
                rbuf.clear();
                let (res, back) = ctx
                    .driver
                    .submit_with_timeout(Recv::new(&fd, rbuf), deadline - now)
                    .await;
                rbuf = back;
                let n = match res {
                    Ok(n) => n.min(rbuf.len()),
                    Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => continue,
                    Err(_) => {
                        ctx.fail(Kind::Read);
                        break 'requests;
                    }
                };
                let mut closed = n == 0;
                let data: &[u8] = match tls.as_mut() {
                    None => &rbuf[..n],
                    Some(t) => {
                        plain.clear();
                        match decrypt(t, &rbuf[..n], &mut plain) {
                            Ok(end) => closed |= end,
                            Err(_) => {
                                let kind = if t.is_handshaking() {
                                    Kind::Connect
                                } else {
                                    Kind::Read
                                };
                                ctx.fail(kind);
                                break 'requests;
                            }
                        }
                        // Handshake answers (and key updates) go out now.
                        drain_tls(t, &mut out);
                        if !out.is_empty() {
                            match send_all(&ctx, &fd, std::mem::take(&mut out)).await {
                                Some(back) => out = back,
                                None => {
                                    ctx.fail(Kind::Write);
                                    break 'requests;
                                }
                            }
                        }
                        &plain
                    }
                };
                let now = Instant::now();
                if !data.is_empty() {
                    match parser.feed(data) {
                        Ok((used, Some(r))) => {
                            {
                                let mut t = ctx.tally.borrow_mut();
                                t.response(&ctx.window, from, now, &r);
                                t.publish(&ctx.shared);
                            }
                            if used < data.len() {
                                // Bytes after the one response we asked for.
                                ctx.fail(Kind::Read);
                                break 'requests;
                            }
                            if !r.keep_alive {
                                break 'requests;
                            }
                            continue 'requests;
                        }
                        Ok((_, None)) => {}
                        Err(_) => {
                            ctx.fail(Kind::Read);
                            break 'requests;
                        }
                    }
                }
                if closed {
                    match parser.eof() {
                        Ok(Some(r)) => ctx.tally.borrow_mut().response(&ctx.window, from, now, &r),
                        Ok(None) | Err(_) => ctx.fail(Kind::Read),
                    }
                    break 'requests;
                }
            }
        }
        // Dropping `fd` closes the connection; reconnect.
    }
}
