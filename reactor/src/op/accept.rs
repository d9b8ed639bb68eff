//! `accept4(2)`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use crate::op::{Completion, MultiOp, Op, RawOp, Readiness, Target, cvt, sealed};
use crate::sys::SockAddr;

/// Equivalent to `accept4(2)` with `SOCK_CLOEXEC | SOCK_NONBLOCK`: resolves
/// to the connected socket and the peer's address. The accepted socket is
/// nonblocking so that both backends can drive it.
#[derive(Debug)]
pub struct Accept {
    fd: Target,
    addr: SockAddr,
}

impl Accept {
    /// Accepts one connection on listening socket `fd`.
    pub fn new(fd: impl Into<Target>) -> Self {
        Self {
            fd: fd.into(),
            addr: SockAddr::empty(),
        }
    }
}

impl sealed::Sealed for Accept {}

#[cfg(target_os = "linux")]
const FLAGS: i32 = libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;

/// `accept4(fd, addr, len, SOCK_CLOEXEC | SOCK_NONBLOCK)`.
#[cfg(target_os = "linux")]
fn accept_nonblocking(
    fd: i32,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> io::Result<u32> {
    // SAFETY: `addr`/`len` are null or point at sockaddr storage and its
    // size owned by the calling op.
    cvt(unsafe { libc::accept4(fd, addr, len, FLAGS) } as libc::c_long)
}

/// macOS and the BSDs lack `accept4` (or its flags): `accept`, then set
/// close-on-exec and nonblocking with `fcntl`.
#[cfg(not(target_os = "linux"))]
fn accept_nonblocking(
    fd: i32,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> io::Result<u32> {
    // SAFETY: as above.
    let s = cvt(unsafe { libc::accept(fd, addr, len) } as libc::c_long)?;
    let s = i32::try_from(s).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    let set = |get: i32, put: i32, flag: i32| -> io::Result<()> {
        // SAFETY: `s` is the descriptor just accepted; F_GETFD/F_GETFL take
        // no pointer.
        let old = cvt(unsafe { libc::fcntl(s, get) } as libc::c_long)?;
        let new = i32::try_from(old).unwrap_or(0) | flag;
        // SAFETY: as above; F_SETFD/F_SETFL take an int.
        cvt(unsafe { libc::fcntl(s, put, new) } as libc::c_long).map(drop)
    };
    let flags = set(libc::F_GETFD, libc::F_SETFD, libc::FD_CLOEXEC)
        .and_then(|()| set(libc::F_GETFL, libc::F_SETFL, libc::O_NONBLOCK));
    if let Err(e) = flags {
        // SAFETY: `s` is ours and not yet handed out.
        unsafe { libc::close(s) };
        return Err(e);
    }
    Ok(s.unsigned_abs())
}

// SAFETY: the SQE points at the op's `addr` storage and length, which stay at
// a stable address while the op lives.
unsafe impl RawOp for Accept {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        let (addr, len) = self.addr.as_mut_ptrs();
        io_uring::opcode::Accept::new(fd, addr, len)
            .flags(FLAGS)
            .build()
            .flags(flags)
    }

    fn abandoned(&mut self, c: Completion) {
        crate::op::close_result_fd(c);
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let (addr, len) = self.addr.as_mut_ptrs();
        accept_nonblocking(self.fd.raw(), addr, len)
    }
}

impl Op for Accept {
    const CODE: u8 = 13;
    const NAME: &'static str = "IORING_OP_ACCEPT";
    type Output = io::Result<(OwnedFd, Option<SocketAddr>)>;

    fn complete(self, c: Completion) -> Self::Output {
        let fd = c.into_result()?;
        let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: a successful accept returned a new descriptor nobody owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok((fd, self.addr.decode()))
    }
}

/// Multishot `accept4(2)` (`IORING_OP_ACCEPT` with `IORING_ACCEPT_MULTISHOT`):
/// one submission yields every incoming connection until cancelled. Use with
/// [`crate::Driver::submit_multi`]. Accepted sockets are nonblocking and
/// close-on-exec; peer addresses are not reported (use `getpeername`).
#[derive(Debug)]
pub struct AcceptMulti {
    fd: Target,
}

impl AcceptMulti {
    /// Accepts connections on listening socket `fd` until cancelled.
    pub fn new(fd: impl Into<Target>) -> Self {
        Self { fd: fd.into() }
    }
}

impl sealed::Sealed for AcceptMulti {}

// SAFETY: the SQE carries no pointer.
unsafe impl RawOp for AcceptMulti {
    fn name(&self) -> &'static str {
        <Self as MultiOp>::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        io_uring::opcode::AcceptMulti::new(fd)
            .flags(FLAGS)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        // Null address and length pointers are allowed.
        accept_nonblocking(self.fd.raw(), std::ptr::null_mut(), std::ptr::null_mut())
    }

    fn multishot(&self) -> bool {
        true
    }

    fn abandoned(&mut self, c: Completion) {
        crate::op::close_result_fd(c);
    }
}

impl MultiOp for AcceptMulti {
    const CODE: u8 = 13;
    const NAME: &'static str = "IORING_OP_ACCEPT (multishot)";
    type Item = io::Result<OwnedFd>;

    fn item(&mut self, c: Completion) -> Self::Item {
        let fd = c.into_result()?;
        let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: a successful accept returned a new descriptor nobody owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}
