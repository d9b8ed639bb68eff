//! `pwritev(2)`.

use std::io;

use crate::buf::IoBuf;
use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, sealed};

/// Equivalent to `pwritev(2)` (`writev(2)` at the file position when
/// [`Writev::offset`] is left at `u64::MAX`).
#[derive(Debug)]
pub struct Writev<B> {
    fd: Target,
    bufs: Vec<B>,
    iov: Vec<libc::iovec>,
    offset: u64,
}

impl<B: IoBuf> Writev<B> {
    /// Writes the initialised bytes of `bufs`, in order.
    pub fn new(fd: impl Into<Target>, bufs: Vec<B>) -> Self {
        Self {
            fd: fd.into(),
            bufs,
            iov: Vec::new(),
            offset: u64::MAX,
        }
    }

    /// Writes at `offset` instead of the file position.
    #[must_use]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    fn fill_iov(&mut self) {
        self.iov = self
            .bufs
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.stable_ptr().cast_mut().cast(),
                iov_len: b.bytes_init(),
            })
            .collect();
    }
}

impl<B> sealed::Sealed for Writev<B> {}

// SAFETY: the SQE points at `iov` (owned heap Vec) whose entries point into
// `bufs` (IoBuf contract); the kernel only reads through them.
unsafe impl<B: IoBuf> RawOp for Writev<B> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        self.fill_iov();
        let (fd, flags) = self.fd.sqe_fd();
        let n = u32::try_from(self.iov.len()).unwrap_or(u32::MAX);
        io_uring::opcode::Writev::new(fd, self.iov.as_ptr(), n)
            .offset(self.offset)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Writable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        self.fill_iov();
        let n = libc::c_int::try_from(self.iov.len()).unwrap_or(libc::c_int::MAX);
        let fd = self.fd.raw();
        if self.offset == u64::MAX {
            // SAFETY: `iov` holds `n` entries pointing into owned buffers.
            cvt(unsafe { libc::writev(fd, self.iov.as_ptr(), n) } as libc::c_long)
        } else {
            let off = libc::off_t::try_from(self.offset)
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
            // SAFETY: as above.
            cvt(unsafe { libc::pwritev(fd, self.iov.as_ptr(), n, off) } as libc::c_long)
        }
    }
}

impl<B: IoBuf> Op for Writev<B> {
    const CODE: u8 = 2;
    const NAME: &'static str = "IORING_OP_WRITEV";
    type Output = (io::Result<usize>, Vec<B>);

    fn complete(self, c: Completion) -> Self::Output {
        (c.into_result().map(|n| n as usize), self.bufs)
    }
}
