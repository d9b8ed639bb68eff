//! `send(2)`.

use std::io;

use crate::buf::IoBuf;
use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, len32, sealed};

/// Equivalent to `send(2)` with `MSG_NOSIGNAL` (a closed peer is `EPIPE`,
/// never `SIGPIPE`). May send fewer bytes than given.
#[derive(Debug)]
pub struct Send<B> {
    fd: Target,
    buf: B,
    flags: i32,
}

impl<B: IoBuf> Send<B> {
    /// Sends the initialised bytes of `buf` on socket `fd`.
    pub fn new(fd: impl Into<Target>, buf: B) -> Self {
        Self {
            fd: fd.into(),
            buf,
            flags: libc::MSG_NOSIGNAL,
        }
    }

    /// Extra `MSG_*` flags.
    #[must_use]
    pub const fn flags(mut self, flags: i32) -> Self {
        self.flags = flags | libc::MSG_NOSIGNAL;
        self
    }
}

impl<B> sealed::Sealed for Send<B> {}

// SAFETY: the SQE points only into `buf` (IoBuf contract).
unsafe impl<B: IoBuf> RawOp for Send<B> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        io_uring::opcode::Send::new(fd, self.buf.stable_ptr(), len32(self.buf.bytes_init()))
            .flags(self.flags)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Writable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let len = len32(self.buf.bytes_init()) as usize;
        // SAFETY: `buf` holds `len` initialised bytes (IoBuf contract).
        cvt(unsafe {
            libc::send(
                self.fd.raw(),
                self.buf.stable_ptr().cast(),
                len,
                self.flags | libc::MSG_DONTWAIT,
            )
        } as libc::c_long)
    }
}

impl<B: IoBuf> Op for Send<B> {
    const CODE: u8 = 26;
    const NAME: &'static str = "IORING_OP_SEND";
    type Output = (io::Result<usize>, B);

    fn complete(self, c: Completion) -> Self::Output {
        (c.into_result().map(|n| n as usize), self.buf)
    }
}
