//! `tee(2)`.

use std::io;

use crate::op::{Completion, Op, RawOp, Readiness, Target, sealed};

/// Equivalent to `tee(2)`: duplicates up to `len` bytes from pipe `fd_in` to
/// pipe `fd_out` without consuming them. Linux only (`ENOTSUP` elsewhere).
#[derive(Debug)]
#[cfg_attr(
    not(target_os = "linux"),
    expect(
        dead_code,
        reason = "tee(2) is Linux-only: elsewhere the op fails with ENOTSUP"
    )
)]
pub struct Tee {
    fd_in: Target,
    fd_out: Target,
    len: u32,
    flags: u32,
}

impl Tee {
    /// Duplicates `len` bytes between two pipes.
    pub fn new(fd_in: impl Into<Target>, fd_out: impl Into<Target>, len: u32) -> Self {
        Self {
            fd_in: fd_in.into(),
            fd_out: fd_out.into(),
            len,
            flags: 0,
        }
    }

    /// `SPLICE_F_*` flags.
    #[must_use]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
}

impl sealed::Sealed for Tee {}

// SAFETY: the SQE carries no pointer.
unsafe impl RawOp for Tee {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd_out, flags) = self.fd_out.sqe_fd();
        io_uring::opcode::Tee::new(io_uring::types::Fd(self.fd_in.raw()), fd_out, self.len)
            .flags(self.flags)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd_in.raw())
    }

    #[cfg(target_os = "linux")]
    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: tee takes no pointer.
        let r = unsafe {
            libc::tee(
                self.fd_in.raw(),
                self.fd_out.raw(),
                self.len as usize,
                self.flags | libc::SPLICE_F_NONBLOCK,
            )
        };
        crate::op::cvt(r as libc::c_long)
    }

    #[cfg(not(target_os = "linux"))]
    fn attempt(&mut self) -> io::Result<u32> {
        Err(io::Error::from_raw_os_error(libc::ENOTSUP))
    }
}

impl Op for Tee {
    const CODE: u8 = 33;
    const NAME: &'static str = "IORING_OP_TEE";
    type Output = io::Result<usize>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(|n| n as usize)
    }
}
