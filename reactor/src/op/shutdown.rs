//! `shutdown(2)`.

use std::io;
use std::net::Shutdown as How;

use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, sealed};

/// Equivalent to `shutdown(2)`.
#[derive(Debug)]
pub struct Shutdown {
    fd: Target,
    how: i32,
}

impl Shutdown {
    /// Shuts down the read, write or both halves of socket `fd`.
    pub fn new(fd: impl Into<Target>, how: How) -> Self {
        Self {
            fd: fd.into(),
            how: match how {
                How::Read => libc::SHUT_RD,
                How::Write => libc::SHUT_WR,
                How::Both => libc::SHUT_RDWR,
            },
        }
    }
}

impl sealed::Sealed for Shutdown {}

// SAFETY: the SQE carries no pointer.
unsafe impl RawOp for Shutdown {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        io_uring::opcode::Shutdown::new(fd, self.how)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: shutdown takes no pointer.
        cvt(unsafe { libc::shutdown(self.fd.raw(), self.how) } as libc::c_long)
    }
}

impl Op for Shutdown {
    const CODE: u8 = 34;
    const NAME: &'static str = "IORING_OP_SHUTDOWN";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
