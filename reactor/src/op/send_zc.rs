//! Zero-copy `send(2)` (`IORING_OP_SEND_ZC`).

use std::io;

use crate::buf::IoBuf;
use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, len32, sealed};

/// Equivalent to `send(2)` with `MSG_ZEROCOPY` semantics on io_uring: the
/// kernel transmits straight from `buf`, and the op resolves (giving `buf`
/// back) only after the kernel's notification that it no longer reads it.
/// The readiness backend does a plain nonblocking `send`. Optional: probe
/// [`SendZc::CODE`] before relying on it.
#[derive(Debug)]
pub struct SendZc<B> {
    fd: Target,
    buf: B,
}

impl<B: IoBuf> SendZc<B> {
    /// Sends the initialised bytes of `buf` on socket `fd`.
    pub fn new(fd: impl Into<Target>, buf: B) -> Self {
        Self { fd: fd.into(), buf }
    }
}

impl<B> sealed::Sealed for SendZc<B> {}

// SAFETY: the SQE points only into `buf`, which the op keeps until the final
// (notification) completion.
unsafe impl<B: IoBuf> RawOp for SendZc<B> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        io_uring::opcode::SendZc::new(fd, self.buf.stable_ptr(), len32(self.buf.bytes_init()))
            .flags(libc::MSG_NOSIGNAL)
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
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        } as libc::c_long)
    }
}

impl<B: IoBuf> Op for SendZc<B> {
    const CODE: u8 = 47;
    const NAME: &'static str = "IORING_OP_SEND_ZC";
    type Output = (io::Result<usize>, B);

    fn complete(self, c: Completion) -> Self::Output {
        (c.into_result().map(|n| n as usize), self.buf)
    }
}
