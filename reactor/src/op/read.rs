//! `pread(2)`/`read(2)`, and the registered-buffer variant.

use std::io;

use crate::buf::{FixedBuf, IoBufMut};
#[cfg(target_os = "linux")]
use crate::op::read_cached_one;
use crate::op::{
    BlockingCall, Completion, Op, RawOp, Readiness, Target, complete_into, cvt, len32, sealed,
};

/// Equivalent to `pread(2)`; with [`Read::offset`] left at `u64::MAX`,
/// `read(2)` at the file position. On the readiness backend, a socket or
/// pipe must be in nonblocking mode.
#[derive(Debug)]
pub struct Read<B> {
    fd: Target,
    buf: B,
    offset: u64,
    cached_first: bool,
    /// Bytes a page-cache attempt already read (see [`Read::cached_first`]).
    pub(super) done: u32,
}

impl<B: IoBufMut> Read<B> {
    /// Reads into `buf` (up to its total capacity) from `fd`.
    pub fn new(fd: impl Into<Target>, buf: B) -> Self {
        Self {
            fd: fd.into(),
            buf,
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

    /// Tries the page cache first: on io_uring, one `preadv2(RWF_NOWAIT)`
    /// before the SQE, which finishes the op when the data is cached and
    /// costs one refused syscall when it is not. For buffered regular
    /// files; not for `O_DIRECT` (the attempt would wait for the device).
    /// The readiness backend reads directly anyway and ignores this.
    #[must_use]
    pub const fn cached_first(mut self) -> Self {
        self.cached_first = true;
        self
    }

    /// Where the read (or what is left of it) goes: pointer, length, offset.
    fn rest(&mut self) -> (*mut u8, usize, u64) {
        let total = len32(self.buf.bytes_total()) as usize;
        let done = (self.done as usize).min(total);
        let offset = if self.offset == u64::MAX {
            u64::MAX
        } else {
            self.offset.saturating_add(done as u64)
        };
        (
            self.buf.stable_mut_ptr().wrapping_add(done),
            total - done,
            offset,
        )
    }
}

impl<B> sealed::Sealed for Read<B> {}

/// `pread`, or `read` when `offset` is `u64::MAX` (io_uring's "current
/// position").
pub(crate) fn pread(fd: i32, ptr: *mut u8, len: usize, offset: u64) -> io::Result<u32> {
    if offset == u64::MAX {
        // SAFETY: `ptr` points to `len` writable bytes owned by the op
        // (IoBufMut contract).
        cvt(unsafe { libc::read(fd, ptr.cast(), len) } as libc::c_long)
    } else {
        let off = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: as above.
        cvt(unsafe { libc::pread(fd, ptr.cast(), len, off) } as libc::c_long)
    }
}

/// Copies a pool read's bytes into the op's buffer (`ptr`, `len` bytes).
fn copy_in(ptr: *mut u8, len: usize, call: &BlockingCall, r: io::Result<u32>) -> io::Result<u32> {
    let n = r?;
    let data = call.data((n as usize).min(len));
    // SAFETY: `ptr` points to `len` writable bytes of the op's buffer
    // (IoBufMut contract), `data` is at most `len` bytes of the call's own
    // buffer, so the ranges are valid and do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len()) };
    Ok(len32(data.len()))
}

// SAFETY: the SQE points only into `buf`, whose address the IoBufMut contract
// keeps stable while the op owns it.
unsafe impl<B: IoBufMut> RawOp for Read<B> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        let (ptr, len, offset) = self.rest();
        io_uring::opcode::Read::new(fd, ptr, len32(len))
            .offset(offset)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let (ptr, len, offset) = self.rest();
        pread(self.fd.raw(), ptr, len, offset)
    }

    #[cfg(target_os = "linux")]
    fn cached(&mut self) -> Option<Completion> {
        if !self.cached_first || self.done != 0 {
            return None;
        }
        let (ptr, len, offset) = self.rest();
        read_cached_one(self.fd.raw(), ptr, len, offset).finish(&mut self.done)
    }

    fn blocking(&mut self) -> Option<BlockingCall> {
        let len = len32(self.buf.bytes_total()) as usize;
        (self.offset != u64::MAX).then(|| BlockingCall::read(self.fd.raw(), len, self.offset))
    }

    fn blocking_done(&mut self, call: BlockingCall, r: io::Result<u32>) -> io::Result<u32> {
        let len = len32(self.buf.bytes_total()) as usize;
        copy_in(self.buf.stable_mut_ptr(), len, &call, r)
    }
}

impl<B: IoBufMut> Op for Read<B> {
    const CODE: u8 = 22;
    const NAME: &'static str = "IORING_OP_READ";
    type Output = (io::Result<usize>, B);

    fn complete(self, c: Completion) -> Self::Output {
        complete_into(c.after(self.done), self.buf)
    }
}

/// Equivalent to `pread(2)` into a buffer registered with
/// [`crate::Driver::register_buffers`] (`IORING_OP_READ_FIXED`).
#[derive(Debug)]
pub struct ReadFixed {
    fd: Target,
    buf: FixedBuf,
    offset: u64,
    len: usize,
    cached_first: bool,
    /// Bytes a page-cache attempt already read.
    pub(super) done: u32,
}

impl ReadFixed {
    /// Reads into the whole of `buf` from `fd`.
    pub fn new(fd: impl Into<Target>, mut buf: FixedBuf) -> Self {
        let len = buf.bytes_total();
        Self {
            fd: fd.into(),
            buf,
            offset: u64::MAX,
            len,
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

    /// Reads only the first `len` bytes of the buffer (clamped to its size).
    #[must_use]
    pub const fn len(mut self, len: usize) -> Self {
        if len < self.len {
            self.len = len;
        }
        self
    }

    /// Tries the page cache first, as [`Read::cached_first`].
    #[must_use]
    pub const fn cached_first(mut self) -> Self {
        self.cached_first = true;
        self
    }

    /// Where the read (or what is left of it) goes: pointer, length, offset.
    fn rest(&mut self) -> (*mut u8, usize, u64) {
        let done = (self.done as usize).min(self.len);
        let offset = if self.offset == u64::MAX {
            u64::MAX
        } else {
            self.offset.saturating_add(done as u64)
        };
        (
            self.buf.stable_mut_ptr().wrapping_add(done),
            self.len - done,
            offset,
        )
    }
}

impl sealed::Sealed for ReadFixed {}

// SAFETY: the SQE points only into the registered buffer owned by the op.
unsafe impl RawOp for ReadFixed {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        let index = self.buf.index();
        let (ptr, len, offset) = self.rest();
        io_uring::opcode::ReadFixed::new(fd, ptr, len32(len), index)
            .offset(offset)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let (ptr, len, offset) = self.rest();
        pread(self.fd.raw(), ptr, len, offset)
    }

    #[cfg(target_os = "linux")]
    fn cached(&mut self) -> Option<Completion> {
        if !self.cached_first || self.done != 0 {
            return None;
        }
        let (ptr, len, offset) = self.rest();
        read_cached_one(self.fd.raw(), ptr, len, offset).finish(&mut self.done)
    }

    fn blocking(&mut self) -> Option<BlockingCall> {
        (self.offset != u64::MAX).then(|| BlockingCall::read(self.fd.raw(), self.len, self.offset))
    }

    fn blocking_done(&mut self, call: BlockingCall, r: io::Result<u32>) -> io::Result<u32> {
        copy_in(self.buf.stable_mut_ptr(), self.len, &call, r)
    }
}

impl Op for ReadFixed {
    const CODE: u8 = 4;
    const NAME: &'static str = "IORING_OP_READ_FIXED";
    type Output = (io::Result<usize>, FixedBuf);

    fn complete(self, c: Completion) -> Self::Output {
        complete_into(c.after(self.done), self.buf)
    }
}
