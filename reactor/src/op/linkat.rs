//! `linkat(2)`.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use crate::op::{Completion, Op, RawOp, Readiness, cpath, cvt, sealed};

/// Equivalent to `linkat(2)`: a new hard link `newpath` (relative to
/// `newdirfd`) to `oldpath` (relative to `olddirfd`).
#[derive(Debug)]
pub struct LinkAt {
    olddirfd: RawFd,
    oldpath: CString,
    newdirfd: RawFd,
    newpath: CString,
    flags: i32,
}

impl LinkAt {
    /// Links `newpath` to `oldpath`, not following a final symlink.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when a path contains a NUL byte.
    pub fn new(
        olddirfd: RawFd,
        oldpath: impl AsRef<Path>,
        newdirfd: RawFd,
        newpath: impl AsRef<Path>,
    ) -> io::Result<Self> {
        Ok(Self {
            olddirfd,
            oldpath: cpath(oldpath.as_ref())?,
            newdirfd,
            newpath: cpath(newpath.as_ref())?,
            flags: 0,
        })
    }

    /// `AT_*` flags (`AT_SYMLINK_FOLLOW`).
    #[must_use]
    pub const fn flags(mut self, flags: i32) -> Self {
        self.flags = flags;
        self
    }
}

impl sealed::Sealed for LinkAt {}

// SAFETY: the SQE points only at the two CStrings owned by the op.
unsafe impl RawOp for LinkAt {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        io_uring::opcode::LinkAt::new(
            io_uring::types::Fd(self.olddirfd),
            self.oldpath.as_ptr(),
            io_uring::types::Fd(self.newdirfd),
            self.newpath.as_ptr(),
        )
        .flags(self.flags)
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: both paths are NUL-terminated and alive for the call.
        cvt(unsafe {
            libc::linkat(
                self.olddirfd,
                self.oldpath.as_ptr(),
                self.newdirfd,
                self.newpath.as_ptr(),
                self.flags,
            )
        } as libc::c_long)
    }
}

impl Op for LinkAt {
    const CODE: u8 = 39;
    const NAME: &'static str = "IORING_OP_LINKAT";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
