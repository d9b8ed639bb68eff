//! `preadv(2)`.

use std::io;

use crate::buf::IoBufMut;
#[cfg(target_os = "linux")]
use crate::op::read_cached;
use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, sealed};

/// Equivalent to `preadv(2)` (`readv(2)` at the file position when
/// [`Readv::offset`] is left at `u64::MAX`).
#[derive(Debug)]
pub struct Readv<B> {
    fd: Target,
    bufs: Vec<B>,
    iov: Vec<libc::iovec>,
    offset: u64,
    cached_first: bool,
    /// Bytes a page-cache attempt already read (see [`Readv::cached_first`]).
    pub(super) done: u32,
}

impl<B: IoBufMut> Readv<B> {
    /// Reads into `bufs` in order, filling each to its capacity.
    pub fn new(fd: impl Into<Target>, bufs: Vec<B>) -> Self {
        Self {
            fd: fd.into(),
            bufs,
            iov: Vec::new(),
            offset: u64::MAX,
            cached_first: false,
            done: 0,
        }
    }

    /// Reads at `offset` instead of the file position.
    #[must_use]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Tries the page cache first, as [`crate::op::Read::cached_first`].
    #[must_use]
    pub const fn cached_first(mut self) -> Self {
        self.cached_first = true;
        self
    }

    /// Points `iov` at what is left to read: the buffers in order, minus the
    /// first `done` bytes. Returns the offset to read at.
    fn fill_iov(&mut self) -> u64 {
        let mut skip = self.done as usize;
        self.iov.clear();
        for b in &mut self.bufs {
            let len = b.bytes_total();
            if skip > 0 && skip >= len {
                skip -= len;
                continue;
            }
            self.iov.push(libc::iovec {
                iov_base: b.stable_mut_ptr().wrapping_add(skip).cast(),
                iov_len: len - skip,
            });
            skip = 0;
        }
        if self.offset == u64::MAX {
            u64::MAX
        } else {
            self.offset.saturating_add(u64::from(self.done))
        }
    }

    #[cfg(target_os = "linux")]
    fn total(&self) -> usize {
        self.iov.iter().map(|v| v.iov_len).sum()
    }
}

impl<B> sealed::Sealed for Readv<B> {}

// SAFETY: the SQE points at `iov` (a heap Vec owned by the op, never resized
// while in flight) whose entries point into `bufs` (IoBufMut contract).
unsafe impl<B: IoBufMut> RawOp for Readv<B> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let offset = self.fill_iov();
        let (fd, flags) = self.fd.sqe_fd();
        let n = u32::try_from(self.iov.len()).unwrap_or(u32::MAX);
        io_uring::opcode::Readv::new(fd, self.iov.as_ptr(), n)
            .offset(offset)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let offset = self.fill_iov();
        let n = libc::c_int::try_from(self.iov.len()).unwrap_or(libc::c_int::MAX);
        let fd = self.fd.raw();
        if offset == u64::MAX {
            // SAFETY: `iov` holds `n` entries pointing into owned buffers.
            cvt(unsafe { libc::readv(fd, self.iov.as_ptr(), n) } as libc::c_long)
        } else {
            let off = libc::off_t::try_from(offset)
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
            // SAFETY: as above.
            cvt(unsafe { libc::preadv(fd, self.iov.as_ptr(), n, off) } as libc::c_long)
        }
    }

    #[cfg(target_os = "linux")]
    fn cached(&mut self) -> Option<Completion> {
        if !self.cached_first || self.done != 0 {
            return None;
        }
        let offset = self.fill_iov();
        read_cached(self.fd.raw(), &self.iov, offset, self.total()).finish(&mut self.done)
    }
}

impl<B: IoBufMut> Op for Readv<B> {
    const CODE: u8 = 1;
    const NAME: &'static str = "IORING_OP_READV";
    type Output = (io::Result<usize>, Vec<B>);

    fn complete(mut self, c: Completion) -> Self::Output {
        match c.after(self.done).into_result() {
            Ok(n) => {
                let mut left = n as usize;
                for b in &mut self.bufs {
                    let take = left.min(b.bytes_total());
                    // SAFETY: the kernel filled the buffers in order, so the
                    // first `take` bytes of this one were written.
                    unsafe { b.set_init(take) };
                    left -= take;
                }
                (Ok(n as usize), self.bufs)
            }
            Err(e) => (Err(e), self.bufs),
        }
    }
}
