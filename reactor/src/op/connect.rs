//! `connect(2)`.

use std::io;
use std::net::SocketAddr;

use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, sealed};
use crate::sys::SockAddr;

/// Equivalent to `connect(2)`. On the readiness backend the socket must be
/// nonblocking: the attempt starts the connection, waits for writability and
/// reads `SO_ERROR`.
#[derive(Debug)]
pub struct Connect {
    fd: Target,
    addr: SockAddr,
    started: bool,
}

impl Connect {
    /// Connects socket `fd` to `addr`.
    pub fn new(fd: impl Into<Target>, addr: SocketAddr) -> Self {
        Self {
            fd: fd.into(),
            addr: SockAddr::from_std(addr),
            started: false,
        }
    }
}

impl sealed::Sealed for Connect {}

// SAFETY: the SQE points at the op's sockaddr storage, stable while it lives.
unsafe impl RawOp for Connect {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        io_uring::opcode::Connect::new(fd, self.addr.as_ptr(), self.addr.len())
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Writable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let fd = self.fd.raw();
        if !self.started {
            self.started = true;
            // SAFETY: the sockaddr storage and its length are owned by the op.
            let r = cvt(
                unsafe { libc::connect(fd, self.addr.as_ptr(), self.addr.len()) } as libc::c_long,
            );
            return match r {
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                r => r,
            };
        }
        crate::sys::take_socket_error(fd).map(|()| 0)
    }
}

impl Op for Connect {
    const CODE: u8 = 16;
    const NAME: &'static str = "IORING_OP_CONNECT";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
