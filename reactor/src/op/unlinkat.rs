//! `unlinkat(2)`.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use crate::op::{Completion, Op, RawOp, Readiness, cpath, cvt, sealed};

/// Equivalent to `unlinkat(2)`.
#[derive(Debug)]
pub struct UnlinkAt {
    dirfd: RawFd,
    path: CString,
    flags: i32,
}

impl UnlinkAt {
    /// Removes the file `path` relative to `dirfd`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `path` contains a NUL byte.
    pub fn new(dirfd: RawFd, path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self {
            dirfd,
            path: cpath(path.as_ref())?,
            flags: 0,
        })
    }

    /// Removes a directory instead (`AT_REMOVEDIR`).
    #[must_use]
    pub const fn dir(mut self, dir: bool) -> Self {
        self.flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        self
    }
}

impl sealed::Sealed for UnlinkAt {}

// SAFETY: the SQE points only at `path`, a CString owned by the op.
unsafe impl RawOp for UnlinkAt {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        io_uring::opcode::UnlinkAt::new(io_uring::types::Fd(self.dirfd), self.path.as_ptr())
            .flags(self.flags)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: `path` is NUL-terminated and alive for the call.
        cvt(unsafe { libc::unlinkat(self.dirfd, self.path.as_ptr(), self.flags) } as libc::c_long)
    }
}

impl Op for UnlinkAt {
    const CODE: u8 = 36;
    const NAME: &'static str = "IORING_OP_UNLINKAT";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
