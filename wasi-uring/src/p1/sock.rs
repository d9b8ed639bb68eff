//! `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown` on sockets the
//! embedder handed in (Preview 1 cannot create sockets).

use rustix::net::{
    RecvAncillaryBuffer, RecvFlags, ReturnFlags, SendAncillaryBuffer, SendFlags, Shutdown,
    SocketFlags,
};

use crate::ctx::WasiCtx;
use crate::error::{Errno, HostError};
use crate::fd_table::{FdEntry, FdKind};
use crate::guest_buf::GuestMem;
use crate::p1::types::{fdflags, filetype, rights};

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
    let mut sf = SocketFlags::CLOEXEC;
    if flags & fdflags::NONBLOCK != 0 {
        sf |= SocketFlags::NONBLOCK;
    }
    let conn = rustix::net::accept_with(e.fd(), sf)?;
    let mut ne = FdEntry::new(conn, FdKind::Socket, filetype::SOCKET_STREAM);
    ne.rights_base = rights::STREAM & !rights::SOCK_ACCEPT;
    ne.flags = flags;
    let new = cx.table.push(ne)?;
    mem.write_u32("fd", out, new)
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
    mem.write_u32("ro_datalen", out_len, got as u32)?;
    mem.write_u16("ro_flags", out_flags, u16::from(trunc))
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
    let bufs = mem.io_slices(&iovs);
    let put = rustix::net::sendmsg(
        e.fd(),
        &bufs,
        &mut SendAncillaryBuffer::default(),
        SendFlags::NOSIGNAL,
    )?;
    drop(bufs);
    mem.write_u32("so_datalen", out, put as u32)
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
        1 => Shutdown::Read,
        2 => Shutdown::Write,
        3 => Shutdown::Both,
        _ => return Err(Errno::Inval.into()),
    };
    rustix::net::shutdown(e.fd(), how)?;
    Ok(())
}
