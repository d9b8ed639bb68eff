//! `uringbench echo`: a TCP echo server and a client on loopback (or the
//! client alone against `--addr`). Each client connection sends one
//! `--size` message, waits for all of it to come back, and repeats; an op
//! is one round trip.
//!
//! Server and client are written once against `ringwasm-reactor`'s
//! `Driver`: the server on one driver (an accept task plus a task per
//! connection), the client on another (a task per connection), every
//! socket operation an op. `--io` picks the backend under both.
//!
//! Nothing is allocated or filled per round trip: the server receives into
//! buffers of one shared provided-buffer ring (`RecvProvided`: a waiting
//! connection pins no memory) and sends the same buffer back; the client
//! sends slices of one message made at start-up.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ringwasm_reactor::op::{Accept, Connect, Recv, RecvProvided, Send};

use super::report::{Errors, Latencies, Report};
use super::{BackendKind, EchoArgs, backend_name, thread_driver};

/// Runs the echo benchmark.
///
/// # Errors
///
/// When the server cannot bind, or a driver cannot be set up.
pub fn run(args: &EchoArgs, io: BackendKind) -> anyhow::Result<Report> {
    if args.conns == 0 || args.size == 0 {
        bail!("--conns and --size must be at least 1");
    }
    let size = usize::try_from(args.size).context("--size does not fit in memory")?;
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, server) = match args.addr {
        Some(a) => (a, None),
        None => {
            let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .context("binding the echo server")?;
            listener
                .set_nonblocking(true)
                .context("making the echo listener nonblocking")?;
            let addr = listener.local_addr()?;
            let flag = Arc::clone(&stop);
            let t = std::thread::Builder::new()
                .name("echo-server".into())
                .spawn(move || serve(io, listener, &flag))
                .context("spawning the echo server thread")?;
            (addr, Some(t))
        }
    };
    // Our own server always answers; only an external one can go silent.
    let bounded = args.addr.is_some();
    let result = client(io, addr, args.conns, size, args.duration, bounded);
    if let Some(t) = server {
        stop.store(true, Ordering::Release);
        // Wake the pending accept so the server sees `stop`.
        let _ = std::net::TcpStream::connect(addr);
        match t.join() {
            Ok(r) => r.context("echo server failed")?,
            Err(_) => bail!("echo server thread panicked"),
        }
    }
    let (latencies, ops, errors, elapsed) = result?;
    Ok(Report {
        mode: "echo",
        io: backend_name(io),
        ops,
        bytes: ops * args.size,
        elapsed,
        errors,
        latencies,
    })
}

/// The echo server: accepts until `stop`, echoing every connection in its
/// own task.
fn serve(kind: BackendKind, listener: TcpListener, stop: &AtomicBool) -> io::Result<()> {
    let d = thread_driver(kind)?;
    let lfd = OwnedFd::from(listener);
    // Each connection holds at most one buffer (between its receive and the
    // end of its echo), so the ring never runs dry below 256 connections;
    // `ENOBUFS` beyond that ends the connection, counted by the client.
    let ring = d.register_buf_ring(0, SERVER_BUFS, SERVER_BUF_LEN)?;
    d.block_on(async {
        while !stop.load(Ordering::Acquire) {
            let (fd, _) = match d.submit(Accept::new(&lfd)).await {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let _ = rustix::net::sockopt::set_tcp_nodelay(&fd, true);
            let (d2, ring) = (d.clone(), ring.clone());
            ringwasm_reactor::spawn(async move {
                loop {
                    let mut buf = match d2.submit(RecvProvided::new(&fd, &ring)).await {
                        Ok(b) if !b.is_empty() => b,
                        Ok(_) | Err(_) => return,
                    };
                    while !buf.is_empty() {
                        let (res, back) = d2.submit(Send::new(&fd, buf)).await;
                        buf = back;
                        match res {
                            Ok(w) if w > 0 => buf.consume(w),
                            _ => return,
                        }
                    }
                }
            });
        }
        Ok(())
    })
}

/// Provided buffers of the server's ring (a power of two) and their size.
const SERVER_BUFS: u16 = 256;
const SERVER_BUF_LEN: usize = 32 * 1024;

struct Totals {
    lat: Latencies,
    ops: u64,
    errors: Errors,
}

type ClientResult = (Latencies, u64, Errors, Duration);

/// Extra time a reply may take after the run ends before the connection
/// gives up on it (so a silent `--addr` server cannot hang the client).
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// Runs `conns` connections until `duration` has passed. With `bounded`,
/// every receive carries a linked timeout ending [`DRAIN_GRACE`] after the
/// run; without, receives wait for the (trusted, loopback) server, which
/// saves io_uring one linked-timeout SQE per receive.
fn client(
    kind: BackendKind,
    addr: SocketAddr,
    conns: usize,
    size: usize,
    duration: Duration,
    bounded: bool,
) -> anyhow::Result<ClientResult> {
    let d = thread_driver(kind)?;
    let totals = Rc::new(RefCell::new(Totals {
        lat: Latencies::new(),
        ops: 0,
        errors: Errors::default(),
    }));
    // One message for the whole run, leaked once so that every connection
    // sends `'static` slices of it without copying or filling per round
    // trip (`&'static [u8]` is an `IoBuf`).
    let message: &'static [u8] = Box::leak(vec![0x42u8; size].into_boxed_slice());
    let start = Instant::now();
    let end = start + duration;
    d.block_on(async {
        let handles: Vec<_> = (0..conns)
            .map(|_| {
                let (d, totals) = (d.clone(), Rc::clone(&totals));
                ringwasm_reactor::spawn(async move {
                    let fail = |kind: fn(&mut Errors) -> &mut u64| {
                        *kind(&mut totals.borrow_mut().errors) += 1;
                    };
                    let Ok(fd) = socket(addr) else {
                        fail(|e| &mut e.connect);
                        return;
                    };
                    let limit = end.saturating_duration_since(Instant::now()) + DRAIN_GRACE;
                    if d.submit_with_timeout(Connect::new(&fd, addr), limit)
                        .await
                        .is_err()
                    {
                        fail(|e| &mut e.connect);
                        return;
                    }
                    let _ = rustix::net::sockopt::set_tcp_nodelay(&fd, true);
                    let mut buf: Vec<u8> = Vec::with_capacity(size.min(64 * 1024));
                    while Instant::now() < end {
                        let started = Instant::now();
                        let mut out = message;
                        while !out.is_empty() {
                            let (res, _) = d.submit(Send::new(&fd, out)).await;
                            match res {
                                Ok(n) if n > 0 => {
                                    out = out.get(n..).unwrap_or_default();
                                }
                                _ => {
                                    fail(|e| &mut e.write);
                                    return;
                                }
                            }
                        }
                        let mut got = 0;
                        while got < size {
                            buf.clear();
                            let recv = Recv::new(&fd, buf);
                            let (res, back) = if bounded {
                                let limit =
                                    end.saturating_duration_since(Instant::now()) + DRAIN_GRACE;
                                d.submit_with_timeout(recv, limit).await
                            } else {
                                d.submit(recv).await
                            };
                            buf = back;
                            match res {
                                Ok(n) if n > 0 => got += n,
                                // The reply did not come back within the grace
                                // period after the run ended.
                                Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => {
                                    fail(|e| &mut e.timeout);
                                    return;
                                }
                                _ => {
                                    fail(|e| &mut e.read);
                                    return;
                                }
                            }
                        }
                        let now = Instant::now();
                        if now < end {
                            let mut t = totals.borrow_mut();
                            t.lat.record(now - started);
                            t.ops += 1;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
    });
    let elapsed = start.elapsed();
    let t = Rc::try_unwrap(totals)
        .map_err(|_| anyhow::anyhow!("an echo task outlived the run"))?
        .into_inner();
    Ok((t.lat, t.ops, t.errors, elapsed))
}

fn socket(addr: SocketAddr) -> io::Result<OwnedFd> {
    crate::uringbench::sock::stream_socket(addr)
}
