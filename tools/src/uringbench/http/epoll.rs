//! The HTTP load driver on the readiness fallback (`--io epoll`): one `mio`
//! poll per thread, edge-triggered, each connection a small state machine.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::load::{LoadConfig, Pacer, Shared, Tally, Window, claim, exhausted};
use super::parse::ResponseParser;
use super::tls::TlsStream;

/// How long to wait before reconnecting after a failed connect.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(10);
/// Longest poll wait, so timeouts and the end of the run are noticed.
const MAX_WAIT: Duration = Duration::from_millis(10);

enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Transport {
    fn socket(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => t.socket_mut(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No socket; reconnect at this instant.
    Closed(Instant),
    /// Waiting for the TCP connect to finish.
    Connecting,
    /// Connected, no request in flight.
    Idle,
    /// Request partly written (offset).
    Writing(usize),
    /// Request written, reading the response.
    Reading,
}

struct Conn {
    io: Option<Transport>,
    phase: Phase,
    parser: ResponseParser,
    pacer: Pacer,
    /// Latency of the request in flight counts from here.
    from: Instant,
    /// When the request in flight started (for the timeout).
    started: Instant,
}

/// Runs one thread's share (`conns` connections, tokens `0..conns`) until
/// the window closes or `-n` is used up, and returns its tally.
///
/// # Errors
///
/// Only when the poll itself cannot be created or waited on; connection
/// failures are counted, not returned.
pub fn run_thread(
    cfg: &LoadConfig,
    shared: &Shared,
    window: Window,
    first_index: usize,
    conns: usize,
) -> io::Result<Tally> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut tally = Tally::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut all: Vec<Conn> = (0..conns)
        .map(|i| Conn {
            io: None,
            phase: Phase::Closed(window.start),
            parser: ResponseParser::new(),
            pacer: Pacer::new(cfg, first_index + i, window.start),
            from: window.start,
            started: window.start,
        })
        .collect();
    let mut next_timeout_scan = Instant::now();
    loop {
        let now = Instant::now();
        let done = exhausted(cfg, shared, &window, now);
        if done && (window.end.is_some_and(|e| now >= e) || all.iter().all(|c| !busy(c))) {
            break;
        }
        for (i, c) in all.iter_mut().enumerate() {
            if matches!(c.phase, Phase::Closed(_) | Phase::Idle) {
                drive(
                    cfg,
                    shared,
                    &window,
                    &poll,
                    Token(i),
                    c,
                    &mut tally,
                    &mut buf,
                    false,
                );
            }
        }
        if now >= next_timeout_scan {
            next_timeout_scan = now + MAX_WAIT;
            for (i, c) in all.iter_mut().enumerate() {
                let connecting = c.phase == Phase::Connecting;
                if (busy(c) || connecting) && now.duration_since(c.started) > cfg.timeout {
                    let kind = if connecting {
                        &mut tally.errors.connect
                    } else {
                        &mut tally.errors.timeout
                    };
                    fail(&poll, &window, c, kind, now, false);
                    drive(
                        cfg,
                        shared,
                        &window,
                        &poll,
                        Token(i),
                        c,
                        &mut tally,
                        &mut buf,
                        false,
                    );
                }
            }
        }
        tally.publish(shared);
        let mut wait = MAX_WAIT;
        if let Some(end) = window.end {
            wait = wait.min(end.saturating_duration_since(now));
        }
        for c in &all {
            if c.phase == Phase::Idle {
                wait = wait.min(c.pacer.due(now).saturating_duration_since(now));
            }
        }
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for ev in &events {
            let i = ev.token().0;
            if let Some(c) = all.get_mut(i) {
                drive(
                    cfg,
                    shared,
                    &window,
                    &poll,
                    ev.token(),
                    c,
                    &mut tally,
                    &mut buf,
                    true,
                );
            }
        }
    }
    for c in &mut all {
        close(&poll, c, Instant::now());
    }
    tally.publish(shared);
    Ok(tally)
}

/// Whether a request is in flight on the connection.
fn busy(c: &Conn) -> bool {
    matches!(c.phase, Phase::Writing(_) | Phase::Reading)
}

fn close(poll: &Poll, c: &mut Conn, now: Instant) {
    if let Some(mut io) = c.io.take() {
        let _ = poll.registry().deregister(io.socket());
    }
    c.parser = ResponseParser::new();
    c.phase = Phase::Closed(now);
}

/// Fails the connection: counts the error (if measured) and schedules a
/// reconnect.
fn fail(poll: &Poll, window: &Window, c: &mut Conn, count: &mut u64, now: Instant, backoff: bool) {
    if Tally::counts(window, now) {
        *count += 1;
    }
    close(poll, c, now);
    if backoff {
        c.phase = Phase::Closed(now + RECONNECT_BACKOFF);
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site shape; a context struct would only rename them"
)]
fn drive(
    cfg: &LoadConfig,
    shared: &Shared,
    window: &Window,
    poll: &Poll,
    token: Token,
    c: &mut Conn,
    tally: &mut Tally,
    buf: &mut [u8],
    event: bool,
) {
    // Only an event that finds the connection idle can mean the server
    // closed it; after our own response it is idle and quiet.
    let mut probe_idle = event && c.phase == Phase::Idle;
    loop {
        let now = Instant::now();
        match c.phase {
            Phase::Closed(at) => {
                if now < at || exhausted(cfg, shared, window, now) {
                    return;
                }
                match connect(cfg, poll, token) {
                    Ok(io) => {
                        c.io = Some(io);
                        c.phase = Phase::Connecting;
                        c.started = now;
                        c.from = now;
                    }
                    Err(_) => {
                        fail(poll, window, c, &mut tally.errors.connect, now, true);
                        return;
                    }
                }
                return;
            }
            Phase::Connecting => {
                let Some(io) = c.io.as_mut() else { return };
                let sock = io.socket();
                match sock.take_error() {
                    Ok(None) => {}
                    Ok(Some(_)) | Err(_) => {
                        fail(poll, window, c, &mut tally.errors.connect, now, true);
                        return;
                    }
                }
                match sock.peer_addr() {
                    Ok(_) => {
                        let _ = sock.set_nodelay(true);
                        c.phase = Phase::Idle;
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                    Err(_) => {
                        fail(poll, window, c, &mut tally.errors.connect, now, true);
                        return;
                    }
                }
            }
            Phase::Idle => {
                if std::mem::take(&mut probe_idle) {
                    // A readable event on an idle connection: the server
                    // closed it (keep-alive timeout). Reconnect quietly.
                    if let Some(io) = c.io.as_mut() {
                        match recv(io, buf) {
                            Ok(0) => {
                                close(poll, c, now);
                                continue;
                            }
                            Ok(_) => {
                                fail(poll, window, c, &mut tally.errors.read, now, false);
                                continue;
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                            Err(_) => {
                                close(poll, c, now);
                                continue;
                            }
                        }
                    }
                }
                if c.pacer.due(now) > now || !claim(cfg, shared, window, now) {
                    return;
                }
                c.from = c.pacer.take(now);
                c.started = now;
                c.parser.expect_head_response(cfg.head_method);
                c.phase = Phase::Writing(0);
            }
            Phase::Writing(off) => {
                let Some(io) = c.io.as_mut() else { return };
                let res = match io {
                    Transport::Plain(s) => s.write(&cfg.request[off..]).map(|n| off + n),
                    Transport::Tls(t) if off == 0 => t
                        .send(&cfg.request)
                        .map(|all| if all { cfg.request.len() } else { 1 }),
                    Transport::Tls(t) => t
                        .flush_tls()
                        .map(|all| if all { cfg.request.len() } else { 1 }),
                };
                match res {
                    Ok(n) if n >= cfg.request.len() => {
                        // The response's arrival raises a readable edge;
                        // reading now would only find nothing.
                        c.phase = Phase::Reading;
                        return;
                    }
                    Ok(n) if matches!(io, Transport::Tls(_)) => {
                        c.phase = Phase::Writing(n);
                        return;
                    }
                    Ok(n) => c.phase = Phase::Writing(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        fail(poll, window, c, &mut tally.errors.write, now, false);
                        return;
                    }
                }
            }
            Phase::Reading => {
                let Some(io) = c.io.as_mut() else { return };
                if let Transport::Tls(t) = io
                    && t.flush_tls().is_err()
                {
                    fail(poll, window, c, &mut tally.errors.write, now, false);
                    return;
                }
                let n = match recv(io, buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) if matches!(io, Transport::Tls(t) if t.is_handshaking()) => {
                        // Certificate or protocol failure in the handshake.
                        fail(poll, window, c, &mut tally.errors.connect, now, true);
                        return;
                    }
                    Err(_) => {
                        fail(poll, window, c, &mut tally.errors.read, now, false);
                        return;
                    }
                };
                if n == 0 {
                    match c.parser.eof() {
                        Ok(Some(r)) => {
                            tally.response(window, c.from, now, &r);
                            close(poll, c, now);
                        }
                        Ok(None) | Err(_) => {
                            fail(poll, window, c, &mut tally.errors.read, now, false);
                        }
                    }
                    continue;
                }
                let mut off = 0;
                while off < n {
                    match c.parser.feed(&buf[off..n]) {
                        Ok((used, None)) => off += used,
                        Ok((used, Some(r))) => {
                            off += used;
                            tally.response(window, c.from, now, &r);
                            if !r.keep_alive {
                                close(poll, c, now);
                                break;
                            }
                            if off < n {
                                // Bytes after the response we asked for.
                                fail(poll, window, c, &mut tally.errors.read, now, false);
                                break;
                            }
                            c.phase = Phase::Idle;
                        }
                        Err(_) => {
                            fail(poll, window, c, &mut tally.errors.read, now, false);
                            break;
                        }
                    }
                }
            }
        }
    }
}

fn recv(io: &mut Transport, buf: &mut [u8]) -> io::Result<usize> {
    match io {
        Transport::Plain(s) => s.read(buf),
        Transport::Tls(t) => t.recv(buf),
    }
}

fn connect(cfg: &LoadConfig, poll: &Poll, token: Token) -> io::Result<Transport> {
    let mut sock = TcpStream::connect(cfg.addr)?;
    poll.registry()
        .register(&mut sock, token, Interest::READABLE | Interest::WRITABLE)?;
    Ok(match &cfg.tls {
        None => Transport::Plain(sock),
        Some((config, name)) => {
            Transport::Tls(Box::new(TlsStream::new(Arc::clone(config), name, sock)?))
        }
    })
}
