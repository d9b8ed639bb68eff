//! `recv(2)`.

use std::io;

use crate::buf::IoBufMut;
use crate::op::{Completion, Op, RawOp, Readiness, Target, complete_into, cvt, len32, sealed};

/// Equivalent to `recv(2)`: resolves to the byte count (0 at end of stream)
/// and the buffer.
#[derive(Debug)]
pub struct Recv<B> {
    fd: Target,
    buf: B,
    flags: i32,
}

impl<B: IoBufMut> Recv<B> {
    /// Receives into `buf` (up to its capacity) from socket `fd`.
    pub fn new(fd: impl Into<Target>, buf: B) -> Self {
        Self {
            fd: fd.into(),
            buf,
            flags: 0,
        }
    }

    /// `MSG_*` flags (`MSG_PEEK`, `MSG_WAITALL`, ...).
    #[must_use]
    pub const fn flags(mut self, flags: i32) -> Self {
        self.flags = flags;
        self
    }
}

impl<B> sealed::Sealed for Recv<B> {}

// SAFETY: the SQE points only into `buf` (IoBufMut contract).
unsafe impl<B: IoBufMut> RawOp for Recv<B> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        let len = len32(self.buf.bytes_total());
        io_uring::opcode::Recv::new(fd, self.buf.stable_mut_ptr(), len)
            .flags(self.flags)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let len = len32(self.buf.bytes_total()) as usize;
        // SAFETY: `buf` has `len` writable bytes (IoBufMut contract).
        cvt(unsafe {
            libc::recv(
                self.fd.raw(),
                self.buf.stable_mut_ptr().cast(),
                len,
                self.flags | libc::MSG_DONTWAIT,
            )
        } as libc::c_long)
    }
}

impl<B: IoBufMut> Op for Recv<B> {
    const CODE: u8 = 27;
    const NAME: &'static str = "IORING_OP_RECV";
    type Output = (io::Result<usize>, B);

    fn complete(self, c: Completion) -> Self::Output {
        complete_into(c, self.buf)
    }
}
