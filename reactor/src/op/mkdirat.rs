//! `mkdirat(2)`.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use crate::op::{Completion, Op, RawOp, Readiness, cpath, cvt, sealed};

/// Equivalent to `mkdirat(2)`.
#[derive(Debug)]
pub struct MkDirAt {
    dirfd: RawFd,
    path: CString,
    mode: u32,
}

impl MkDirAt {
    /// Creates directory `path` relative to `dirfd`, mode `0o777` (before
    /// umask).
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `path` contains a NUL byte.
    pub fn new(dirfd: RawFd, path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self {
            dirfd,
            path: cpath(path.as_ref())?,
            mode: 0o777,
        })
    }

    /// The mode bits.
    #[must_use]
    pub const fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
}

impl sealed::Sealed for MkDirAt {}

// SAFETY: the SQE points only at `path`, a CString owned by the op.
unsafe impl RawOp for MkDirAt {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        io_uring::opcode::MkDirAt::new(io_uring::types::Fd(self.dirfd), self.path.as_ptr())
            .mode(self.mode as libc::mode_t)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: `path` is NUL-terminated and alive for the call.
        cvt(
            unsafe { libc::mkdirat(self.dirfd, self.path.as_ptr(), self.mode as libc::mode_t) }
                as libc::c_long,
        )
    }
}

impl Op for MkDirAt {
    const CODE: u8 = 37;
    const NAME: &'static str = "IORING_OP_MKDIRAT";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
