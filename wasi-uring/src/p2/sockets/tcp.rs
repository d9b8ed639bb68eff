//! `wasi:sockets/tcp` and `tcp-create-socket`.
//!
//! A [`TcpSocket`] walks the WIT's state machine (`unbound`,
//! `bind-in-progress`, `bound`, `listen-in-progress`, `listening`,
//! `connect-in-progress`, `connected`, `closed`) with the error codes it
//! names for each wrong step. Its pollable asks the state when polled: a
//! connecting socket waits for writability, a listening one for an
//! incoming connection, any other is ready.
//!
//! A connection's streams share one [`Conn`]. The input stream reads with
//! a reactor `Recv` once the socket is readable. The output stream lets
//! `check-write` grant [`WRITE_PERMIT`] bytes; `write` sends what the
//! socket takes now (one `Send` with `MSG_DONTWAIT`) and hands the rest to
//! a task on the thread's executor, which sends it with reactor `Send`s
//! while the guest waits anywhere (a guest that writes a megabyte to its
//! own client before reading it must not deadlock); `check-write` says 0
//! and the pollable waits for the task until it is done, and a failure is
//! reported by the next call.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::{Shutdown as How, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::time::Duration;

use ringwasm_jit::component::__internal::Trap;
use ringwasm_jit::component::Resource;
use ringwasm_reactor::Driver;
use ringwasm_reactor::inline::Inline;
use ringwasm_reactor::op::{Accept, Recv, Send, Shutdown};
use rustix::net::SocketType;
use rustix::net::sockopt;

use super::{ErrorCode, Family, IpSocketAddress, Network, SocketResult, error_code, opts};
use crate::ctx::WasiCtx;
use crate::p2::bindings::wasi::sockets::{network::IpAddressFamily, tcp, tcp_create_socket};
use crate::p2::io::{
    InputSource, InputStream, OutputSink, OutputStream, Pollable, Readiness, Signal, StreamError,
    readable_now, table_trap, wait_any, writable_now,
};

/// What `check-write` grants when no write is in flight.
pub const WRITE_PERMIT: u64 = 1 << 20;

/// The most one read returns.
const MAX_READ: usize = 64 * 1024;

/// The listen backlog until the guest sets one (wasmtime's).
const DEFAULT_BACKLOG: u32 = 128;

/// Where a socket is in the WIT's state machine.
enum State {
    Unbound,
    BindStarted,
    Bound,
    ListenStarted,
    Listening,
    /// `start-connect` was called; `Some` when `connect(2)` already
    /// answered (loopback may connect, or fail, at once).
    Connecting(Option<io::Result<()>>),
    Connected(Rc<Conn>),
    Closed,
}

/// A `tcp-socket`.
pub struct TcpSocket {
    fd: Rc<OwnedFd>,
    family: Family,
    backlog: u32,
    /// Shared with the socket's pollables, which ask it when polled.
    state: Rc<RefCell<State>>,
}

impl std::fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TcpSocket({})", self.fd.as_raw_fd())
    }
}

/// A connection, shared by a socket and its two streams.
pub(crate) struct Conn {
    fd: Rc<OwnedFd>,
    /// `shutdown(receive)`, the end of input or a read error closed the
    /// input stream.
    read_closed: Cell<bool>,
    write: RefCell<Writer>,
}

/// The output side of a connection.
#[derive(Default)]
struct Writer {
    /// Set when the background send of the last write is done.
    in_flight: Option<Rc<Signal>>,
    /// What the background send failed with, for the next call to report.
    error: Option<io::Error>,
    /// `shutdown(send)`, or a reported failure, closed the stream.
    closed: bool,
    /// `shutdown(send)` came while a send was in flight: the task shuts
    /// the socket down when it is done.
    shutdown_after: bool,
}

impl Conn {
    fn new(fd: Rc<OwnedFd>) -> Rc<Self> {
        Rc::new(Conn {
            fd,
            read_closed: Cell::new(false),
            write: RefCell::new(Writer::default()),
        })
    }
}

impl TcpSocket {
    fn new(fd: OwnedFd, family: Family, state: State) -> Self {
        TcpSocket {
            fd: Rc::new(fd),
            family,
            backlog: DEFAULT_BACKLOG,
            state: Rc::new(RefCell::new(state)),
        }
    }

    /// The descriptor, for the options: not while connecting or closed.
    fn option_fd(&self) -> Result<&OwnedFd, ErrorCode> {
        match &*self.state.borrow() {
            State::Connecting(_) | State::Closed => Err(ErrorCode::InvalidState),
            _ => Ok(&self.fd),
        }
    }

    fn conn(&self) -> Result<Rc<Conn>, ErrorCode> {
        match &*self.state.borrow() {
            State::Connected(c) => Ok(c.clone()),
            _ => Err(ErrorCode::InvalidState),
        }
    }

    /// What the socket's pollable waits for now.
    fn readiness(&self) -> Readiness {
        let state = self.state.clone();
        let fd = self.fd.clone();
        Readiness::Dynamic(Rc::new(move || match &*state.borrow() {
            State::Connecting(None) => Readiness::Writable(fd.clone()),
            State::Listening => Readiness::Readable(fd.clone()),
            _ => Readiness::Ready,
        }))
    }
}

impl State {
    /// Whether a two-phase operation is half done: another `start-*` is
    /// then `concurrency-conflict` (the WIT's "incompatible with another
    /// asynchronous operation that is already in progress").
    fn in_progress(&self) -> bool {
        matches!(
            self,
            State::BindStarted | State::ListenStarted | State::Connecting(_)
        )
    }
}

fn code(e: rustix::io::Errno) -> ErrorCode {
    error_code(&e.into())
}

/// `connect(2)` on the nonblocking socket: `None` while in progress.
fn connect_now(fd: &OwnedFd, addr: SocketAddr) -> Option<io::Result<()>> {
    match rustix::net::connect(fd, &addr) {
        Ok(()) => Some(Ok(())),
        Err(rustix::io::Errno::INPROGRESS | rustix::io::Errno::INTR) => None,
        Err(e) => Some(Err(e.into())),
    }
}

/// The error code of a failed connect: the WIT names `EADDRNOTAVAIL`
/// (Linux's "no ephemeral port left") `address-in-use` here.
fn connect_error(e: &io::Error) -> ErrorCode {
    match e.raw_os_error() {
        Some(libc::EADDRNOTAVAIL) => ErrorCode::AddressInUse,
        _ => error_code(e),
    }
}

/// The error code of a failed accept. Linux passes a connection's pending
/// network error up through `accept`; other systems report those on the
/// new socket, and the WIT calls them all `connection-aborted`.
fn accept_error(e: &io::Error) -> ErrorCode {
    match e.raw_os_error() {
        Some(
            libc::ECONNRESET
            | libc::ENETRESET
            | libc::EHOSTUNREACH
            | libc::EHOSTDOWN
            | libc::ENETDOWN
            | libc::ENETUNREACH
            | libc::EPROTO
            | libc::ENOPROTOOPT
            | libc::EOPNOTSUPP,
        ) => ErrorCode::ConnectionAborted,
        #[cfg(target_os = "linux")]
        Some(libc::ENONET) => ErrorCode::ConnectionAborted,
        _ => error_code(e),
    }
}

/// The input stream of a connection.
struct TcpInput(Rc<Conn>);

impl TcpInput {
    fn recv(&self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError> {
        let buf = Vec::with_capacity(len.min(MAX_READ));
        let (r, mut buf) = inline.run(Recv::new(self.0.fd.as_raw_fd(), buf));
        match r {
            Ok(0) => {
                self.0.read_closed.set(true);
                Err(StreamError::Closed)
            }
            Ok(n) => {
                buf.truncate(n);
                Ok(buf)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Vec::new()),
            Err(e) => {
                self.0.read_closed.set(true);
                Err(StreamError::Failed(e))
            }
        }
    }
}

impl InputSource for TcpInput {
    fn read(&mut self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError> {
        if self.0.read_closed.get() {
            return Err(StreamError::Closed);
        }
        if len == 0 || !readable_now(&self.0.fd) {
            return Ok(Vec::new());
        }
        self.recv(inline, len)
    }

    fn blocking_read(&mut self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError> {
        loop {
            if self.0.read_closed.get() {
                return Err(StreamError::Closed);
            }
            if len == 0 {
                return Ok(Vec::new());
            }
            if readable_now(&self.0.fd) {
                let got = self.recv(inline, len)?;
                if !got.is_empty() {
                    return Ok(got);
                }
            }
            // Waiting here runs the thread's tasks too (a background send
            // to this very socket's peer).
            wait_any(inline, &[Readiness::Readable(self.0.fd.clone())])
                .map_err(StreamError::Trap)?;
        }
    }

    fn readiness(&self) -> Readiness {
        if self.0.read_closed.get() {
            Readiness::Ready
        } else {
            Readiness::Readable(self.0.fd.clone())
        }
    }
}

/// The output stream of a connection.
struct TcpOutput(Rc<Conn>);

impl TcpOutput {
    /// The error to report before anything else: a failed background send
    /// (once, then closed) or a closed stream.
    fn pending_error(&self) -> Result<(), StreamError> {
        let mut w = self.0.write.borrow_mut();
        if let Some(e) = w.error.take() {
            w.closed = true;
            return Err(StreamError::Failed(e));
        }
        if w.closed {
            return Err(StreamError::Closed);
        }
        Ok(())
    }

    fn in_flight(&self) -> Option<Rc<Signal>> {
        let mut w = self.0.write.borrow_mut();
        match &w.in_flight {
            Some(s) if !s.is_set() => Some(s.clone()),
            _ => {
                w.in_flight = None;
                None
            }
        }
    }
}

/// Sends `buf` on the connection in the background, then shuts the
/// sending side down if that was asked meanwhile, then sets `done`.
async fn send_rest(driver: Driver, conn: Rc<Conn>, mut buf: Vec<u8>, done: Rc<Signal>) {
    let fd = conn.fd.as_raw_fd();
    let mut failed = None;
    while !buf.is_empty() {
        let (r, b) = driver.submit(Send::new(fd, buf)).await;
        buf = b;
        match r {
            Ok(0) => {
                failed = Some(io::Error::from(io::ErrorKind::WriteZero));
                break;
            }
            Ok(n) => {
                buf.drain(..n);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let shutdown = {
        let mut w = conn.write.borrow_mut();
        if let Some(e) = failed {
            if e.raw_os_error() == Some(libc::EPIPE) {
                w.closed = true;
            } else {
                w.error = Some(e);
            }
        }
        std::mem::take(&mut w.shutdown_after)
    };
    if shutdown {
        let _ = driver.submit(Shutdown::new(fd, How::Write)).await;
    }
    done.set();
}

impl OutputSink for TcpOutput {
    fn check_write(&mut self, _: &Inline) -> Result<u64, StreamError> {
        self.pending_error()?;
        Ok(if self.in_flight().is_some() {
            0
        } else {
            WRITE_PERMIT
        })
    }

    fn write(&mut self, inline: &Inline, bytes: &[u8]) -> Result<(), StreamError> {
        self.pending_error()?;
        if bytes.is_empty() {
            return Ok(());
        }
        if self.in_flight().is_some() || bytes.len() as u64 > WRITE_PERMIT {
            return Err(StreamError::Trap(Trap::host(
                "write exceeds what check-write permitted",
            )));
        }
        let mut sent = 0;
        if !bytes.is_empty() && writable_now(&self.0.fd) {
            let op = Send::new(self.0.fd.as_raw_fd(), bytes.to_vec()).flags(libc::MSG_DONTWAIT);
            match inline.run(op).0 {
                Ok(n) => sent = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                    self.0.write.borrow_mut().closed = true;
                    return Err(StreamError::Closed);
                }
                Err(e) => {
                    self.0.write.borrow_mut().closed = true;
                    return Err(StreamError::Failed(e));
                }
            }
        }
        if sent < bytes.len() {
            let done = Rc::new(Signal::default());
            self.0.write.borrow_mut().in_flight = Some(done.clone());
            let rest = bytes[sent..].to_vec();
            // The task owns its buffer and a share of the descriptor, so
            // the guest may drop the stream or the socket meanwhile.
            drop(ringwasm_reactor::spawn(send_rest(
                inline.driver().clone(),
                self.0.clone(),
                rest,
                done,
            )));
        }
        Ok(())
    }

    fn blocking_write(&mut self, inline: &Inline, bytes: &[u8]) -> Result<(), StreamError> {
        for chunk in bytes.chunks(WRITE_PERMIT as usize) {
            self.blocking_flush(inline)?;
            self.write(inline, chunk)?;
        }
        Ok(())
    }

    fn blocking_flush(&mut self, inline: &Inline) -> Result<(), StreamError> {
        if let Some(done) = self.in_flight() {
            crate::wait::block_on(inline, done.wait()).map_err(StreamError::Trap)?;
        }
        self.pending_error()
    }

    fn flush(&mut self, _: &Inline) -> Result<(), StreamError> {
        // Every write is already on its way.
        self.pending_error()
    }

    fn readiness(&self) -> Readiness {
        match &self.0.write.borrow().in_flight {
            Some(s) if !s.is_set() => Readiness::Signal(s.clone()),
            _ => Readiness::Ready,
        }
    }
}

impl WasiCtx {
    fn tcp(&mut self, r: &Resource<TcpSocket>) -> Result<&mut TcpSocket, Trap> {
        self.p2.table.get_mut(r).map_err(table_trap)
    }

    /// The streams of a new connection of `sock`, as its children.
    fn tcp_streams(
        &mut self,
        sock: &Resource<TcpSocket>,
        conn: &Rc<Conn>,
    ) -> Result<(Resource<InputStream>, Resource<OutputStream>), Trap> {
        let input = InputStream(Box::new(TcpInput(conn.clone())));
        let output = OutputStream(Box::new(TcpOutput(conn.clone())));
        let input = self.p2.table.push_child(input, sock).map_err(table_trap)?;
        let output = self.p2.table.push_child(output, sock).map_err(table_trap)?;
        Ok((input, output))
    }
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A keep-alive time as the kernel takes it: whole seconds from 1 to
/// `i16::MAX` (Linux's limit, the lowest of the systems), never rounded
/// down to 0; 0 is `invalid-argument`, as the WIT says.
fn keep_alive_secs(nanos: u64) -> Result<Duration, ErrorCode> {
    if nanos == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    let secs = nanos.div_ceil(1_000_000_000).clamp(1, i16::MAX as u64);
    Ok(Duration::from_secs(secs))
}

impl tcp::Host for WasiCtx {
    fn tcp_socket_start_bind(
        &mut self,
        self_: Resource<TcpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> SocketResult<()> {
        self.check_network(&network)?;
        let addr = super::to_std(&local_address);
        if !self.p2.sockets.allows(addr) {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        let s = self.tcp(&self_)?;
        if !super::is_unicast(addr.ip()) || !super::family_matches(addr.ip(), s.family) {
            return Ok(Err(ErrorCode::InvalidArgument));
        }
        match &*s.state.borrow() {
            State::Unbound => {}
            st if st.in_progress() => return Ok(Err(ErrorCode::ConcurrencyConflict)),
            _ => return Ok(Err(ErrorCode::InvalidState)),
        }
        // The WIT: a bind must not fail on a recently closed socket's
        // TIME_WAIT, which is what `SO_REUSEADDR` means on Unix.
        let _ = sockopt::set_socket_reuseaddr(&*s.fd, true);
        if let Err(e) = rustix::net::bind(&*s.fd, &addr) {
            return Ok(Err(match e {
                rustix::io::Errno::AFNOSUPPORT => ErrorCode::InvalidArgument,
                e => code(e),
            }));
        }
        *s.state.borrow_mut() = State::BindStarted;
        Ok(Ok(()))
    }

    fn tcp_socket_finish_bind(&mut self, self_: Resource<TcpSocket>) -> SocketResult<()> {
        let s = self.tcp(&self_)?;
        let mut st = s.state.borrow_mut();
        if !matches!(*st, State::BindStarted) {
            return Ok(Err(ErrorCode::NotInProgress));
        }
        *st = State::Bound;
        Ok(Ok(()))
    }

    fn tcp_socket_start_connect(
        &mut self,
        self_: Resource<TcpSocket>,
        network: Resource<Network>,
        remote_address: IpSocketAddress,
    ) -> SocketResult<()> {
        self.check_network(&network)?;
        let addr = super::to_std(&remote_address);
        let allowed = self.p2.sockets.allows(addr);
        let s = self.tcp(&self_)?;
        match &*s.state.borrow() {
            State::Unbound | State::Bound => {}
            st if st.in_progress() => return Ok(Err(ErrorCode::ConcurrencyConflict)),
            _ => return Ok(Err(ErrorCode::InvalidState)),
        }
        if !super::is_unicast(addr.ip())
            || !super::is_remote(addr)
            || !super::family_matches(addr.ip(), s.family)
        {
            return Ok(Err(ErrorCode::InvalidArgument));
        }
        // A denied connect fails in `finish-connect`, as in wasmtime (whose
        // permission check is part of the connection it starts).
        let early = if allowed {
            connect_now(&s.fd, addr)
        } else {
            Some(Err(io::Error::from_raw_os_error(libc::EACCES)))
        };
        *s.state.borrow_mut() = State::Connecting(early);
        Ok(Ok(()))
    }

    fn tcp_socket_finish_connect(
        &mut self,
        self_: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<InputStream>, Resource<OutputStream>)> {
        let s = self.tcp(&self_)?;
        let result = {
            let mut st = s.state.borrow_mut();
            let State::Connecting(early) = &mut *st else {
                return Ok(Err(ErrorCode::NotInProgress));
            };
            match early.take() {
                Some(r) => r,
                None if writable_now(&s.fd) => match sockopt::socket_error(&*s.fd) {
                    Ok(r) => r.map_err(io::Error::from),
                    Err(e) => Err(e.into()),
                },
                None => return Ok(Err(ErrorCode::WouldBlock)),
            }
        };
        match result {
            Ok(()) => {
                let conn = Conn::new(s.fd.clone());
                *s.state.borrow_mut() = State::Connected(conn.clone());
                self.tcp_streams(&self_, &conn).map(Ok)
            }
            Err(e) => {
                *s.state.borrow_mut() = State::Closed;
                Ok(Err(connect_error(&e)))
            }
        }
    }

    fn tcp_socket_start_listen(&mut self, self_: Resource<TcpSocket>) -> SocketResult<()> {
        let s = self.tcp(&self_)?;
        let mut st = s.state.borrow_mut();
        match &*st {
            State::Bound => {}
            st if st.in_progress() => return Ok(Err(ErrorCode::ConcurrencyConflict)),
            _ => return Ok(Err(ErrorCode::InvalidState)),
        }
        *st = State::ListenStarted;
        Ok(Ok(()))
    }

    fn tcp_socket_finish_listen(&mut self, self_: Resource<TcpSocket>) -> SocketResult<()> {
        let s = self.tcp(&self_)?;
        if !matches!(*s.state.borrow(), State::ListenStarted) {
            return Ok(Err(ErrorCode::NotInProgress));
        }
        let backlog = i32::try_from(s.backlog).unwrap_or(i32::MAX);
        match rustix::net::listen(&*s.fd, backlog) {
            Ok(()) => {
                *s.state.borrow_mut() = State::Listening;
                Ok(Ok(()))
            }
            Err(e) => {
                *s.state.borrow_mut() = State::Closed;
                Ok(Err(code(e)))
            }
        }
    }

    fn tcp_socket_accept(
        &mut self,
        self_: Resource<TcpSocket>,
    ) -> SocketResult<(
        Resource<TcpSocket>,
        Resource<InputStream>,
        Resource<OutputStream>,
    )> {
        let s = self.p2.table.get(&self_).map_err(table_trap)?;
        if !matches!(*s.state.borrow(), State::Listening) {
            return Ok(Err(ErrorCode::InvalidState));
        }
        if !readable_now(&s.fd) {
            return Ok(Err(ErrorCode::WouldBlock));
        }
        let family = s.family;
        // The listener is readable, so the ring's accept completes at once;
        // the reactor makes the new socket nonblocking and close-on-exec.
        let fd = match self.inline.run(Accept::new(s.fd.as_raw_fd())) {
            Ok((fd, _peer)) => fd,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Ok(Err(ErrorCode::WouldBlock));
            }
            Err(e) => return Ok(Err(accept_error(&e))),
        };
        #[cfg(not(target_os = "linux"))]
        if let Err(e) = crate::p1::sock::no_sigpipe(std::os::fd::AsFd::as_fd(&fd)) {
            return Ok(Err(code(e)));
        }
        let sock = TcpSocket::new(fd, family, State::Closed);
        let conn = Conn::new(sock.fd.clone());
        *sock.state.borrow_mut() = State::Connected(conn.clone());
        let sock = self.p2.table.push(sock).map_err(table_trap)?;
        let (input, output) = self.tcp_streams(&sock, &conn)?;
        Ok(Ok((sock, input, output)))
    }

    fn tcp_socket_local_address(
        &mut self,
        self_: Resource<TcpSocket>,
    ) -> SocketResult<IpSocketAddress> {
        let s = self.tcp(&self_)?;
        // Bound by the system from `start-bind` on.
        match *s.state.borrow() {
            State::BindStarted
            | State::Bound
            | State::ListenStarted
            | State::Listening
            | State::Connected(_) => {}
            _ => return Ok(Err(ErrorCode::InvalidState)),
        }
        Ok(rustix::net::getsockname(&*s.fd)
            .map_err(code)
            .and_then(|a| SocketAddr::try_from(a).map_err(|_| ErrorCode::NotSupported))
            .map(super::from_std))
    }

    fn tcp_socket_remote_address(
        &mut self,
        self_: Resource<TcpSocket>,
    ) -> SocketResult<IpSocketAddress> {
        let s = self.tcp(&self_)?;
        if !matches!(*s.state.borrow(), State::Connected(_)) {
            return Ok(Err(ErrorCode::InvalidState));
        }
        Ok(match rustix::net::getpeername(&*s.fd) {
            Ok(Some(a)) => SocketAddr::try_from(a)
                .map(super::from_std)
                .map_err(|_| ErrorCode::NotSupported),
            Ok(None) => Err(ErrorCode::InvalidState),
            Err(e) => Err(code(e)),
        })
    }

    fn tcp_socket_is_listening(&mut self, self_: Resource<TcpSocket>) -> Result<bool, Trap> {
        let s = self.tcp(&self_)?;
        Ok(matches!(*s.state.borrow(), State::Listening))
    }

    fn tcp_socket_address_family(
        &mut self,
        self_: Resource<TcpSocket>,
    ) -> Result<IpAddressFamily, Trap> {
        Ok(self.tcp(&self_)?.family.into())
    }

    fn tcp_socket_set_listen_backlog_size(
        &mut self,
        self_: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        if value == 0 {
            return Ok(Err(ErrorCode::InvalidArgument));
        }
        // Clamped silently, as systems do.
        let value = u32::try_from(value)
            .unwrap_or(u32::MAX)
            .min(i32::MAX as u32);
        let s = self.tcp(&self_)?;
        let listening = match *s.state.borrow() {
            State::Unbound | State::BindStarted | State::Bound | State::ListenStarted => false,
            State::Listening => true,
            _ => return Ok(Err(ErrorCode::InvalidState)),
        };
        if listening && rustix::net::listen(&*s.fd, value as i32).is_err() {
            // Not every system changes a backlog after `listen`.
            return Ok(Err(ErrorCode::NotSupported));
        }
        s.backlog = value;
        Ok(Ok(()))
    }

    fn tcp_socket_keep_alive_enabled(&mut self, self_: Resource<TcpSocket>) -> SocketResult<bool> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd()
            .and_then(|fd| sockopt::socket_keepalive(fd).map_err(code)))
    }

    fn tcp_socket_set_keep_alive_enabled(
        &mut self,
        self_: Resource<TcpSocket>,
        value: bool,
    ) -> SocketResult<()> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd()
            .and_then(|fd| sockopt::set_socket_keepalive(fd, value).map_err(code)))
    }

    fn tcp_socket_keep_alive_idle_time(&mut self, self_: Resource<TcpSocket>) -> SocketResult<u64> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd()
            .and_then(|fd| sockopt::tcp_keepidle(fd).map_err(code))
            .map(duration_nanos))
    }

    fn tcp_socket_set_keep_alive_idle_time(
        &mut self,
        self_: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd().and_then(|fd| {
            let d = keep_alive_secs(value)?;
            sockopt::set_tcp_keepidle(fd, d).map_err(code)
        }))
    }

    fn tcp_socket_keep_alive_interval(&mut self, self_: Resource<TcpSocket>) -> SocketResult<u64> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd()
            .and_then(|fd| sockopt::tcp_keepintvl(fd).map_err(code))
            .map(duration_nanos))
    }

    fn tcp_socket_set_keep_alive_interval(
        &mut self,
        self_: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd().and_then(|fd| {
            let d = keep_alive_secs(value)?;
            sockopt::set_tcp_keepintvl(fd, d).map_err(code)
        }))
    }

    fn tcp_socket_keep_alive_count(&mut self, self_: Resource<TcpSocket>) -> SocketResult<u32> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd()
            .and_then(|fd| sockopt::tcp_keepcnt(fd).map_err(code)))
    }

    fn tcp_socket_set_keep_alive_count(
        &mut self,
        self_: Resource<TcpSocket>,
        value: u32,
    ) -> SocketResult<()> {
        if value == 0 {
            return Ok(Err(ErrorCode::InvalidArgument));
        }
        let s = self.tcp(&self_)?;
        // Linux's limit, the lowest of the systems.
        let value = value.min(i8::MAX as u32);
        Ok(s.option_fd()
            .and_then(|fd| sockopt::set_tcp_keepcnt(fd, value).map_err(code)))
    }

    fn tcp_socket_hop_limit(&mut self, self_: Resource<TcpSocket>) -> SocketResult<u8> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd().and_then(|fd| opts::hop_limit(fd, s.family)))
    }

    fn tcp_socket_set_hop_limit(
        &mut self,
        self_: Resource<TcpSocket>,
        value: u8,
    ) -> SocketResult<()> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd()
            .and_then(|fd| opts::set_hop_limit(fd, s.family, value)))
    }

    fn tcp_socket_receive_buffer_size(&mut self, self_: Resource<TcpSocket>) -> SocketResult<u64> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd().and_then(opts::receive_buffer_size))
    }

    fn tcp_socket_set_receive_buffer_size(
        &mut self,
        self_: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd()
            .and_then(|fd| opts::set_receive_buffer_size(fd, value)))
    }

    fn tcp_socket_send_buffer_size(&mut self, self_: Resource<TcpSocket>) -> SocketResult<u64> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd().and_then(opts::send_buffer_size))
    }

    fn tcp_socket_set_send_buffer_size(
        &mut self,
        self_: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let s = self.tcp(&self_)?;
        Ok(s.option_fd()
            .and_then(|fd| opts::set_send_buffer_size(fd, value)))
    }

    fn tcp_socket_subscribe(
        &mut self,
        self_: Resource<TcpSocket>,
    ) -> Result<Resource<Pollable>, Trap> {
        let r = self.tcp(&self_)?.readiness();
        self.pollable_for(&self_, r)
    }

    fn tcp_socket_shutdown(
        &mut self,
        self_: Resource<TcpSocket>,
        shutdown_type: tcp::ShutdownType,
    ) -> SocketResult<()> {
        let conn = match self.tcp(&self_)?.conn() {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let (read, write) = match shutdown_type {
            tcp::ShutdownType::Receive => (true, false),
            tcp::ShutdownType::Send => (false, true),
            tcp::ShutdownType::Both => (true, true),
        };
        if read {
            conn.read_closed.set(true);
        }
        let mut how = if read { Some(How::Read) } else { None };
        if write {
            let mut w = conn.write.borrow_mut();
            w.closed = true;
            if w.in_flight.as_ref().is_some_and(|s| !s.is_set()) {
                // The background send shuts the socket down when done.
                w.shutdown_after = true;
            } else {
                how = Some(if read { How::Both } else { How::Write });
            }
        }
        if let Some(how) = how {
            match self.inline.run(Shutdown::new(conn.fd.as_raw_fd(), how)) {
                // The peer may have gone already: the direction is shut.
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {}
                Err(e) => return Ok(Err(error_code(&e))),
            }
        }
        Ok(Ok(()))
    }

    fn tcp_socket_drop(&mut self, rep: Resource<TcpSocket>) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }
}

impl tcp_create_socket::Host for WasiCtx {
    fn create_tcp_socket(
        &mut self,
        address_family: IpAddressFamily,
    ) -> SocketResult<Resource<TcpSocket>> {
        if !self.p2.sockets.tcp {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        let family = Family::from(address_family);
        let fd = match super::new_socket(family, SocketType::STREAM) {
            Ok(fd) => fd,
            Err(e) => return Ok(Err(e)),
        };
        let s = TcpSocket::new(fd, family, State::Unbound);
        self.p2.table.push(s).map(Ok).map_err(table_trap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_times_are_whole_seconds_within_linux_limits() {
        assert!(matches!(
            keep_alive_secs(0),
            Err(ErrorCode::InvalidArgument)
        ));
        assert_eq!(keep_alive_secs(1).ok(), Some(Duration::from_secs(1)));
        assert_eq!(
            keep_alive_secs(1_500_000_000).ok(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            keep_alive_secs(u64::MAX).ok(),
            Some(Duration::from_secs(i16::MAX as u64))
        );
    }

    #[test]
    fn accept_reports_pending_network_errors_as_aborted() {
        let e = io::Error::from_raw_os_error(libc::ECONNRESET);
        assert_eq!(accept_error(&e), ErrorCode::ConnectionAborted);
        let e = io::Error::from_raw_os_error(libc::EMFILE);
        assert_eq!(accept_error(&e), ErrorCode::NewSocketLimit);
    }

    #[test]
    fn connect_without_a_port_left_is_address_in_use() {
        let e = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
        assert_eq!(connect_error(&e), ErrorCode::AddressInUse);
    }
}
