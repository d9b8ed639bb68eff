//! `accept4(2)`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, sealed};
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

const FLAGS: i32 = libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;

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

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let (addr, len) = self.addr.as_mut_ptrs();
        // SAFETY: `addr`/`len` point at the op's sockaddr storage and its size.
        cvt(unsafe { libc::accept4(self.fd.raw(), addr, len, FLAGS) } as libc::c_long)
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
