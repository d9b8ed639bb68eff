//! `pwrite(2)`/`write(2)`.

use std::io;

use crate::buf::IoBuf;
use crate::op::{BlockingCall, Completion, Op, RawOp, Readiness, Target, cvt, len32, sealed};

/// Equivalent to `pwrite(2)`; with [`Write::offset`] left at `u64::MAX`,
/// `write(2)` at the file position (or the end, for `O_APPEND`). On the
/// readiness backend, a socket or pipe must be in nonblocking mode.
#[derive(Debug)]
pub struct Write<B> {
    fd: Target,
    buf: B,
    offset: u64,
}

impl<B: IoBuf> Write<B> {
    /// Writes the initialised bytes of `buf` to `fd`.
    pub fn new(fd: impl Into<Target>, buf: B) -> Self {
        Self {
            fd: fd.into(),
            buf,
            offset: u64::MAX,
        }
    }

    /// Writes at `offset` instead of the file position.
    #[must_use]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
}

impl<B> sealed::Sealed for Write<B> {}

// SAFETY: the SQE points only into `buf`, stable per the IoBuf contract.
unsafe impl<B: IoBuf> RawOp for Write<B> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        let len = len32(self.buf.bytes_init());
        io_uring::opcode::Write::new(fd, self.buf.stable_ptr(), len)
            .offset(self.offset)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Writable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let fd = self.fd.raw();
        let ptr = self.buf.stable_ptr();
        let len = len32(self.buf.bytes_init()) as usize;
        if self.offset == u64::MAX {
            // SAFETY: `ptr` points to `len` initialised bytes (IoBuf contract).
            cvt(unsafe { libc::write(fd, ptr.cast(), len) } as libc::c_long)
        } else {
            let off = libc::off_t::try_from(self.offset)
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
            // SAFETY: as above.
            cvt(unsafe { libc::pwrite(fd, ptr.cast(), len, off) } as libc::c_long)
        }
    }

    fn blocking(&mut self) -> Option<BlockingCall> {
        if self.offset == u64::MAX {
            return None;
        }
        let len = len32(self.buf.bytes_init()) as usize;
        // SAFETY: the IoBuf contract: `stable_ptr` points to `bytes_init`
        // initialised bytes owned by the buffer, which `&mut self` keeps
        // unchanged while the slice lives.
        let data = unsafe { std::slice::from_raw_parts(self.buf.stable_ptr(), len) };
        Some(BlockingCall::write(self.fd.raw(), data, self.offset))
    }
}

impl<B: IoBuf> Op for Write<B> {
    const CODE: u8 = 23;
    const NAME: &'static str = "IORING_OP_WRITE";
    type Output = (io::Result<usize>, B);

    fn complete(self, c: Completion) -> Self::Output {
        (c.into_result().map(|n| n as usize), self.buf)
    }
}
