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
    if io == IoChoice::Uring {
        bail!("echo on io_uring is not implemented yet; use --io epoll");
    }
    let size = usize::try_from(args.size).context("--size does not fit in memory")?;
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
