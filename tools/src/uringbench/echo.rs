//! `uringbench echo`: a TCP echo server and a client on loopback (or the
//! client alone against `--addr`). Each client connection sends one
//! `--size` message, waits for all of it to come back, and repeats; an op
//! is one round trip.

use std::io::{self, Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context as _, bail};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::report::{Errors, Latencies, Report};
use super::{EchoArgs, IoChoice};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// Runs the echo benchmark.
///
/// # Errors
///
/// When the server cannot bind, or a poll cannot be created.
pub fn run(args: &EchoArgs, io: IoChoice) -> anyhow::Result<Report> {
    if args.conns == 0 || args.size == 0 {
        bail!("--conns and --size must be at least 1");
    }
    let size = usize::try_from(args.size).context("--size does not fit in memory")?;
    if io == IoChoice::Uring {
        return uring::run(args, size);
    }
    let (server, addr) = match args.addr {
        Some(addr) => (None, addr),
        None => {
            let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
            let s = EchoServer::start(loopback)?;
            let addr = s.addr;
            (Some(s), addr)
        }
    };
    let result = client(addr, args.conns, size, args.duration);
    if let Some(s) = server {
        s.stop()?;
    }
    let (latencies, ops, errors, elapsed) = result?;
    Ok(Report {
        mode: "echo",
        io: io.name(),
        ops,
        bytes: ops * args.size,
        elapsed,
        errors,
        latencies,
    })
}

/// An echo server on its own thread, one `mio` poll.
#[derive(Debug)]
pub struct EchoServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: std::thread::JoinHandle<io::Result<()>>,
}

impl EchoServer {
    /// Binds `addr` and starts serving.
    ///
    /// # Errors
    ///
    /// When binding or creating the poll fails.
    pub fn start(addr: SocketAddr) -> anyhow::Result<Self> {
        let mut listener = TcpListener::bind(addr)
            .with_context(|| format!("binding the echo server to {addr}"))?;
        let addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("echo-server".into())
            .spawn(move || serve(poll, listener, &flag))?;
        Ok(Self {
            addr,
            stop,
            waker,
            thread,
        })
    }

    /// Stops the server and waits for its thread.
    ///
    /// # Errors
    ///
    /// The server loop's error, if it failed.
    pub fn stop(self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Release);
        self.waker.wake()?;
        match self.thread.join() {
            Ok(r) => r.context("echo server failed"),
            Err(_) => bail!("echo server thread panicked"),
        }
    }
}

struct Peer {
    sock: TcpStream,
    pending: Vec<u8>,
}

fn serve(mut poll: Poll, listener: TcpListener, stop: &AtomicBool) -> io::Result<()> {
    let mut events = Events::with_capacity(256);
    let mut peers: Vec<Option<Peer>> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Acquire) {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for ev in &events {
            match ev.token() {
                WAKER => {}
                LISTENER => loop {
                    match listener.accept() {
                        Ok((mut sock, _)) => {
                            let _ = sock.set_nodelay(true);
                            let slot =
                                peers.iter().position(Option::is_none).unwrap_or_else(|| {
                                    peers.push(None);
                                    peers.len() - 1
                                });
                            poll.registry().register(
                                &mut sock,
                                Token(slot),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            peers[slot] = Some(Peer {
                                sock,
                                pending: Vec::new(),
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                },
                Token(i) => {
                    let Some(Some(peer)) = peers.get_mut(i) else {
                        continue;
                    };
                    if !echo(peer, &mut buf) {
                        let _ = poll.registry().deregister(&mut peer.sock);
                        peers[i] = None;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reads what is there and writes it back. Returns false when the peer is
/// gone.
fn echo(peer: &mut Peer, buf: &mut [u8]) -> bool {
    loop {
        while !peer.pending.is_empty() {
            match peer.sock.write(&peer.pending) {
                Ok(0) => return false,
                Ok(n) => {
                    peer.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        match peer.sock.read(buf) {
            Ok(0) => return false,
            Ok(n) => peer.pending.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

struct Client {
    sock: TcpStream,
    sent: usize,
    received: usize,
    started: Instant,
    connected: bool,
}

type ClientResult = (Latencies, u64, Errors, std::time::Duration);

fn client(
    addr: SocketAddr,
    conns: usize,
    size: usize,
    duration: std::time::Duration,
) -> anyhow::Result<ClientResult> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let message = vec![0x42u8; size];
    let mut buf = vec![0u8; 64 * 1024];
    let mut errors = Errors::default();
    let mut clients = Vec::with_capacity(conns);
    for i in 0..conns {
        let mut sock = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        poll.registry()
            .register(&mut sock, Token(i), Interest::READABLE | Interest::WRITABLE)?;
        clients.push(Some(Client {
            sock,
            sent: 0,
            received: 0,
            started: Instant::now(),
            connected: false,
        }));
    }
    let mut lat = Latencies::new();
    let mut ops = 0u64;
    let start = Instant::now();
    let end = start + duration;
    loop {
        let now = Instant::now();
        if now >= end || clients.iter().all(Option::is_none) {
            break;
        }
        match poll.poll(&mut events, Some(end - now)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        for ev in &events {
            let i = ev.token().0;
            let Some(Some(c)) = clients.get_mut(i) else {
                continue;
            };
            if !c.connected {
                if c.sock.take_error().ok().flatten().is_some() {
                    errors.connect += 1;
                    clients[i] = None;
                    continue;
                }
                if c.sock.peer_addr().is_err() {
                    continue;
                }
                let _ = c.sock.set_nodelay(true);
                c.connected = true;
                c.started = Instant::now();
            }
            match round_trips(c, &message, &mut buf, end, &mut lat, &mut ops) {
                Ok(()) => {}
                Err(kind) => {
                    match kind {
                        Failure::Read => errors.read += 1,
                        Failure::Write => errors.write += 1,
                    }
                    let _ = poll.registry().deregister(&mut c.sock);
                    clients[i] = None;
                }
            }
        }
    }
    Ok((lat, ops, errors, start.elapsed()))
}

enum Failure {
    Read,
    Write,
}

/// Advances one connection as far as the socket allows.
fn round_trips(
    c: &mut Client,
    message: &[u8],
    buf: &mut [u8],
    end: Instant,
    lat: &mut Latencies,
    ops: &mut u64,
) -> Result<(), Failure> {
    let size = message.len();
    loop {
        let mut progressed = false;
        if c.sent < size {
            match c.sock.write(&message[c.sent..]) {
                Ok(0) => return Err(Failure::Write),
                Ok(n) => {
                    c.sent += n;
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => progressed = true,
                Err(_) => return Err(Failure::Write),
            }
        }
        if c.received < c.sent {
            let want = (c.sent - c.received).min(buf.len());
            match c.sock.read(&mut buf[..want]) {
                Ok(0) => return Err(Failure::Read),
                Ok(n) => {
                    c.received += n;
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => progressed = true,
                Err(_) => return Err(Failure::Read),
            }
        }
        if c.received == size {
            let now = Instant::now();
            if now < end {
                lat.record(now - c.started);
                *ops += 1;
            }
            c.sent = 0;
            c.received = 0;
            c.started = now;
            if now >= end {
                return Ok(());
            }
            continue;
        }
        if !progressed {
            return Ok(());
        }
    }
}

/// The same benchmark on `ringwasm-reactor`'s io_uring backend: the server
/// on one ring (an accept task plus a task per connection), the client on
/// another (a task per connection), every socket operation an op.
mod uring {
    use std::cell::RefCell;
    use std::io;
    use std::net::{SocketAddr, TcpListener};
    use std::os::fd::OwnedFd;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use anyhow::{Context as _, bail};
    use ringwasm_reactor::Driver;
    use ringwasm_reactor::op::{Accept, Connect, Recv, Send};

    use super::super::EchoArgs;
    use super::super::report::{Errors, Latencies, Report};

    pub(super) fn run(args: &EchoArgs, size: usize) -> anyhow::Result<Report> {
        let stop = Arc::new(AtomicBool::new(false));
        let (addr, server) = match args.addr {
            Some(a) => (a, None),
            None => {
                let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                    .context("binding the echo server")?;
                listener.set_nonblocking(true)?;
                let addr = listener.local_addr()?;
                let flag = Arc::clone(&stop);
                let t = std::thread::Builder::new()
                    .name("echo-server-uring".into())
                    .spawn(move || serve(listener, &flag))?;
                (addr, Some(t))
            }
        };
        let result = client(addr, args.conns, size, args.duration);
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
            io: "uring",
            ops,
            bytes: ops * args.size,
            elapsed,
            errors,
            latencies,
        })
    }

    fn driver() -> io::Result<Driver> {
        ringwasm_reactor::uring_driver().map_err(io::Error::other)
    }

    fn serve(listener: TcpListener, stop: &AtomicBool) -> io::Result<()> {
        let d = driver()?;
        let lfd = OwnedFd::from(listener);
        d.block_on(async {
            while !stop.load(Ordering::Acquire) {
                let (fd, _) = match d.submit(Accept::new(&lfd)).await {
                    Ok(c) => c,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                let _ = rustix::net::sockopt::set_tcp_nodelay(&fd, true);
                let d2 = d.clone();
                ringwasm_reactor::spawn(async move {
                    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
                    loop {
                        buf.clear();
                        let (res, back) = d2.submit(Recv::new(&fd, buf)).await;
                        buf = back;
                        let n = match res {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        buf.truncate(n);
                        while !buf.is_empty() {
                            let (res, back) = d2.submit(Send::new(&fd, buf)).await;
                            buf = back;
                            match res {
                                Ok(w) if w > 0 => {
                                    buf.drain(..w);
                                }
                                _ => return,
                            }
                        }
                    }
                });
            }
            Ok(())
        })
    }

    struct Totals {
        lat: Latencies,
        ops: u64,
        errors: Errors,
    }

    type ClientResult = (Latencies, u64, Errors, Duration);

    fn client(
        addr: SocketAddr,
        conns: usize,
        size: usize,
        duration: Duration,
    ) -> anyhow::Result<ClientResult> {
        let d = driver()?;
        let totals = Rc::new(RefCell::new(Totals {
            lat: Latencies::new(),
            ops: 0,
            errors: Errors::default(),
        }));
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
                        if d.submit(Connect::new(&fd, addr)).await.is_err() {
                            fail(|e| &mut e.connect);
                            return;
                        }
                        let _ = rustix::net::sockopt::set_tcp_nodelay(&fd, true);
                        let mut out: Vec<u8> = Vec::with_capacity(size);
                        let mut buf: Vec<u8> = Vec::with_capacity(size.min(64 * 1024));
                        while Instant::now() < end {
                            let started = Instant::now();
                            out.clear();
                            out.resize(size, 0x42);
                            while !out.is_empty() {
                                let (res, back) = d.submit(Send::new(&fd, out)).await;
                                out = back;
                                match res {
                                    Ok(n) if n > 0 => {
                                        out.drain(..n);
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
                                let (res, back) = d.submit(Recv::new(&fd, buf)).await;
                                buf = back;
                                match res {
                                    Ok(n) if n > 0 => got += n,
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
        use rustix::net::{AddressFamily, SocketFlags, SocketType, socket_with};
        let family = if addr.is_ipv4() {
            AddressFamily::INET
        } else {
            AddressFamily::INET6
        };
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        Ok(socket_with(family, SocketType::STREAM, flags, None)?)
    }
}
