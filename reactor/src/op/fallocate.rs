//! `fallocate(2)`.

use std::io;

use crate::op::{Completion, Op, RawOp, Readiness, Target, sealed};

/// Equivalent to `fallocate(2)`.
#[derive(Debug)]
pub struct Fallocate {
    fd: Target,
    offset: u64,
    len: u64,
    mode: i32,
}

impl Fallocate {
    /// Allocates `len` bytes at offset 0, extending the file.
    pub fn new(fd: impl Into<Target>, len: u64) -> Self {
        Self {
            fd: fd.into(),
            offset: 0,
            len,
            mode: 0,
        }
    }

    /// Start of the range.
    #[must_use]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// `FALLOC_FL_*` mode bits.
    #[must_use]
    pub const fn mode(mut self, mode: i32) -> Self {
        self.mode = mode;
        self
    }
}

impl sealed::Sealed for Fallocate {}

// SAFETY: the SQE carries no pointer.
unsafe impl RawOp for Fallocate {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        io_uring::opcode::Fallocate::new(fd, self.len)
            .offset(self.offset)
            .mode(self.mode)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    #[cfg(target_os = "linux")]
    fn attempt(&mut self) -> io::Result<u32> {
        let off = libc::off_t::try_from(self.offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let len = libc::off_t::try_from(self.len)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: fallocate takes no pointer.
        crate::op::cvt(
            unsafe { libc::fallocate(self.fd.raw(), self.mode, off, len) } as libc::c_long,
        )
    }

    /// macOS and the BSDs have no `fallocate`: mode 0 (allocate, extending
    /// the file) becomes `ftruncate` up to `offset + len` when the file is
    /// shorter (the size is right; blocks are allocated on write). Other
    /// modes are `ENOTSUP`.
    #[cfg(not(target_os = "linux"))]
    fn attempt(&mut self) -> io::Result<u32> {
        if self.mode != 0 {
            return Err(io::Error::from_raw_os_error(libc::ENOTSUP));
        }
        let end = self
            .offset
            .checked_add(self.len)
            .and_then(|e| libc::off_t::try_from(e).ok())
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EFBIG))?;
        let fd = self.fd.raw();
        // SAFETY: an all-zero `stat` is a valid value to be overwritten.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is a valid, writable `stat` for the call.
        crate::op::cvt(unsafe { libc::fstat(fd, &mut st) } as libc::c_long)?;
        if st.st_size >= end {
            return Ok(0);
        }
        // SAFETY: ftruncate takes no pointer.
        crate::op::cvt(unsafe { libc::ftruncate(fd, end) } as libc::c_long)
    }
}

impl Op for Fallocate {
    const CODE: u8 = 17;
    const NAME: &'static str = "IORING_OP_FALLOCATE";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
