//! `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown` on sockets the
//! embedder handed in (Preview 1 cannot create sockets).
//!
//! Each goes through the reactor (`Accept`, `Recv`/`Readv`, `Send`,
//! `Shutdown` ops, run inline: the guest waits for exactly one completion).
//! Two cases stay direct syscalls, named so below: a socket the guest made
//! nonblocking (the call must fail with `EAGAIN` rather than wait), and
//! vectored `recvmsg`/`sendmsg` with flags that no single reactor op
//! carries (several buffers plus `MSG_PEEK`/`MSG_WAITALL`; several buffers
//! on send, which must not raise `SIGPIPE`).

use std::net::Shutdown as How;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use ringwasm_reactor::op::{Accept, Readv, Recv, Send, Shutdown};
use rustix::fs::OFlags;
#[cfg(target_os = "linux")]
use rustix::net::SocketFlags;
use rustix::net::{RecvAncillaryBuffer, RecvFlags, ReturnFlags, SendAncillaryBuffer, SendFlags};

use crate::ctx::WasiCtx;
use crate::error::{Errno, HostError, in_result};
use crate::fd_table::{FdEntry, FdKind};
use crate::guest_buf::GuestMem;
use crate::p1::types::{fdflags, filetype, rights};

/// Flags of every direct send: a closed peer is `EPIPE`, never `SIGPIPE`.
#[cfg(target_os = "linux")]
const SEND_FLAGS: SendFlags = SendFlags::NOSIGNAL;

/// Flags of every direct send. macOS has no usable `MSG_NOSIGNAL` on
/// `sendmsg`: the socket is `SO_NOSIGPIPE` instead ([`no_sigpipe`]).
#[cfg(not(target_os = "linux"))]
const SEND_FLAGS: SendFlags = SendFlags::empty();

/// Marks a socket `SO_NOSIGPIPE` where sends cannot say `MSG_NOSIGNAL`
/// (macOS), so that writing to a closed peer is `EPIPE`, never `SIGPIPE`.
///
/// # Errors
///
/// The `setsockopt` errno (`ENOTSOCK` for a descriptor that is no socket).
#[cfg(not(target_os = "linux"))]
pub(crate) fn no_sigpipe(fd: BorrowedFd<'_>) -> rustix::io::Result<()> {
    rustix::net::sockopt::set_socket_nosigpipe(fd, true)
}

/// `accept4(SOCK_CLOEXEC [| SOCK_NONBLOCK])`, directly.
#[cfg(target_os = "linux")]
fn accept_direct(listener: BorrowedFd<'_>, nonblocking: bool) -> rustix::io::Result<OwnedFd> {
    let mut sf = SocketFlags::CLOEXEC;
    if nonblocking {
        sf |= SocketFlags::NONBLOCK;
    }
    rustix::net::accept_with(listener, sf)
}

/// macOS has no `accept4`: `accept`, then `FD_CLOEXEC`, and `O_NONBLOCK` set
/// or cleared as asked (a BSD socket inherits the listener's `O_NONBLOCK`,
/// and this listener is nonblocking).
#[cfg(not(target_os = "linux"))]
fn accept_direct(listener: BorrowedFd<'_>, nonblocking: bool) -> rustix::io::Result<OwnedFd> {
    let conn = rustix::net::accept(listener)?;
    rustix::io::fcntl_setfd(&conn, rustix::io::FdFlags::CLOEXEC)?;
    let fl = rustix::fs::fcntl_getfl(&conn)?;
    if nonblocking != fl.contains(OFlags::NONBLOCK) {
        rustix::fs::fcntl_setfl(&conn, fl ^ OFlags::NONBLOCK)?;
    }
    Ok(conn)
}

fn socket(cx: &WasiCtx, fd: u32) -> Result<&FdEntry, Errno> {
    let e = cx.table.get(fd)?;
    if e.kind == FdKind::Socket {
        Ok(e)
    } else {
        Err(Errno::Notsock)
    }
}

/// `sock_accept`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn sock_accept(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    flags: u16,
    out: u32,
) -> Result<(), HostError> {
    let e = socket(cx, fd)?;
    e.require(rights::SOCK_ACCEPT)?;
    if flags & !fdflags::NONBLOCK != 0 {
        return Err(Errno::Inval.into());
    }
    let conn = if e.flags & fdflags::NONBLOCK != 0 {
        // Direct: a nonblocking listener fails with `EAGAIN` rather than wait.
        accept_direct(e.fd(), flags & fdflags::NONBLOCK != 0)?
    } else {
        // The reactor's accept makes the socket nonblocking (both backends
        // drive it); the guest asked for a blocking one unless it said so.
        let (conn, _peer) = cx.inline.run(Accept::new(e.fd().as_raw_fd()))?;
        if flags & fdflags::NONBLOCK == 0 {
            let fl = rustix::fs::fcntl_getfl(&conn)?;
            rustix::fs::fcntl_setfl(&conn, fl - OFlags::NONBLOCK)?;
        }
        conn
    };
    #[cfg(not(target_os = "linux"))]
    no_sigpipe(rustix::fd::AsFd::as_fd(&conn))?;
    let mut ne = FdEntry::new(conn, FdKind::Socket, filetype::SOCKET_STREAM);
    ne.rights_base = rights::STREAM & !rights::SOCK_ACCEPT;
    ne.flags = flags;
    let new = cx.table.push(ne)?;
    mem.write_u32("fd", out, new).map_err(in_result("write fd"))
}

/// `sock_recv`: one `recvmsg` straight into the guest's buffers.
///
/// # Errors
///
/// Errno for the guest, or a trap.
#[expect(clippy::too_many_arguments, reason = "the WASI signature")]
pub fn sock_recv(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    ri_flags: u16,
    out_len: u32,
    out_flags: u32,
) -> Result<(), HostError> {
    let e = socket(cx, fd)?;
    e.require_io(rights::FD_READ)?;
    if ri_flags > 3 {
        return Err(Errno::Inval.into());
    }
    let mut rf = RecvFlags::empty();
    if ri_flags & 1 != 0 {
        rf |= RecvFlags::PEEK;
    }
    if ri_flags & 2 != 0 {
        rf |= RecvFlags::WAITALL;
    }
    let iovs = mem.iovecs(iovs, n)?;
    let live: Vec<_> = iovs.iter().copied().filter(|v| v.len > 0).collect();
    if e.flags & fdflags::NONBLOCK == 0 {
        let got = match (live.as_slice(), ri_flags) {
            ([], _) => Some(0),
            ([v], _) => {
                let buf = mem.lend(*v)?;
                let op = Recv::new(e.fd().as_raw_fd(), buf).flags(rf.bits() as i32);
                Some(cx.inline.run(op).0?)
            }
            (_, 0) => {
                let bufs = live
                    .iter()
                    .map(|&v| mem.lend(v))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(cx.inline.run(Readv::new(e.fd().as_raw_fd(), bufs)).0?)
            }
            _ => None,
        };
        if let Some(got) = got {
            // A stream socket never truncates a message.
            mem.write_u32("ro_datalen", out_len, got as u32)
                .map_err(in_result("write size"))?;
            return mem
                .write_u16("ro_flags", out_flags, 0)
                .map_err(in_result("write roflags"));
        }
    }
    // Direct `recvmsg`: a nonblocking socket, or several buffers with flags.
    let (got, trunc) = match mem.io_slices_mut(&iovs) {
        Some(mut bufs) => {
            let r =
                rustix::net::recvmsg(e.fd(), &mut bufs, &mut RecvAncillaryBuffer::default(), rf)?;
            (r.bytes, r.flags.contains(ReturnFlags::TRUNC))
        }
        None => {
            let v = iovs[0];
            let buf = mem.slice_mut("iovec buffer", v.addr, v.len)?;
            let r = rustix::net::recvmsg(
                e.fd(),
                &mut [std::io::IoSliceMut::new(buf)],
                &mut RecvAncillaryBuffer::default(),
                rf,
            )?;
            (r.bytes, r.flags.contains(ReturnFlags::TRUNC))
        }
    };
    mem.write_u32("ro_datalen", out_len, got as u32)
        .map_err(in_result("write size"))?;
    mem.write_u16("ro_flags", out_flags, u16::from(trunc))
        .map_err(in_result("write roflags"))
}

/// `sock_send`: one `sendmsg` straight from the guest's buffers.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn sock_send(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    _si_flags: u16,
    out: u32,
) -> Result<(), HostError> {
    let e = socket(cx, fd)?;
    e.require_io(rights::FD_WRITE)?;
    let iovs = mem.iovecs(iovs, n)?;
    let live: Vec<_> = iovs.iter().copied().filter(|v| v.len > 0).collect();
    if e.flags & fdflags::NONBLOCK == 0 && live.len() <= 1 {
        let put = match live.first() {
            None => 0,
            Some(&v) => {
                let buf = mem.lend(v)?;
                let op = Send::new(e.fd().as_raw_fd(), buf).flags(libc::MSG_NOSIGNAL);
                cx.inline.run(op).0?
            }
        };
        return mem
            .write_u32("so_datalen", out, put as u32)
            .map_err(in_result("write size"));
    }
    // Direct `sendmsg`: a nonblocking socket, or several buffers.
    for v in &live {
        mem.slice("iovec buffer", v.addr, v.len)?;
    }
    let bufs = mem.io_slices(&iovs);
    let put = rustix::net::sendmsg(
        e.fd(),
        &bufs,
        &mut SendAncillaryBuffer::default(),
        SEND_FLAGS,
    )?;
    drop(bufs);
    mem.write_u32("so_datalen", out, put as u32)
        .map_err(in_result("write size"))
}

/// `sock_shutdown`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn sock_shutdown(cx: &mut WasiCtx, fd: u32, how: u8) -> Result<(), HostError> {
    let e = socket(cx, fd)?;
    e.require(rights::SOCK_SHUTDOWN)?;
    let how = match how {
        1 => How::Read,
        2 => How::Write,
        3 => How::Both,
        _ => return Err(Errno::Inval.into()),
    };
    cx.inline.run(Shutdown::new(e.fd().as_raw_fd(), how))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::os::fd::OwnedFd;

    use super::*;
    use crate::io::IoChoice;

    /// Through the reactor: the accepted socket is blocking as the guest
    /// asked, `MSG_PEEK` leaves the data queued, a plain recv then takes it.
    fn peek_then_recv(io: IoChoice) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let mut cx = WasiCtx::builder()
            .socket(OwnedFd::from(listener))
            .io(io)
            .build()
            .expect("context");
        let mut client = std::net::TcpStream::connect(addr).expect("connect");
        let mut m = vec![0u8; 1024];
        let mut mem = GuestMem::new(&mut m);
        sock_accept(&mut cx, &mut mem, 3, 0, 100).expect("accept");
        let conn = mem.read_u32("fd", 100).expect("fd");
        let host = cx.table.get(conn).expect("accepted fd");
        let fl = rustix::fs::fcntl_getfl(host.fd()).expect("getfl");
        assert!(!fl.contains(OFlags::NONBLOCK), "blocking, as asked");
        client.write_all(b"hello").expect("client write");
        // one iovec {buf 512, len 5}
        mem.write_u32("t", 200, 512).expect("iov");
        mem.write_u32("t", 204, 5).expect("iov");
        sock_recv(&mut cx, &mut mem, conn, 200, 1, 1, 300, 304).expect("peek");
        assert_eq!(mem.read_u32("n", 300).expect("n"), 5);
        assert_eq!(mem.slice("t", 512, 5).expect("data"), b"hello");
        mem.write_bytes("t", 512, b".....").expect("clear");
        sock_recv(&mut cx, &mut mem, conn, 200, 1, 0, 300, 304).expect("recv");
        assert_eq!(mem.read_u32("n", 300).expect("n"), 5);
        assert_eq!(mem.slice("t", 512, 5).expect("data"), b"hello");
        assert_eq!(mem.read_u16("flags", 304).expect("flags"), 0);
    }

    #[test]
    fn peek_then_recv_epoll() {
        peek_then_recv(IoChoice::Epoll);
    }

    #[test]
    fn peek_then_recv_uring() {
        if ringwasm_reactor::uring_driver().is_err() {
            eprintln!("io_uring unavailable here; the epoll variant covers this");
            return;
        }
        peek_then_recv(IoChoice::Uring);
    }
}
