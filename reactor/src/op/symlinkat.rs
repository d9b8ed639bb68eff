//! `symlinkat(2)`.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use crate::op::{Completion, Op, RawOp, Readiness, cpath, cvt, sealed};

/// Equivalent to `symlinkat(2)`: creates `linkpath` (relative to `dirfd`)
/// pointing at `target`.
#[derive(Debug)]
pub struct SymlinkAt {
    target: CString,
    dirfd: RawFd,
    linkpath: CString,
}

impl SymlinkAt {
    /// A symlink at `linkpath` with contents `target`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when a path contains a NUL byte.
    pub fn new(
        target: impl AsRef<Path>,
        dirfd: RawFd,
        linkpath: impl AsRef<Path>,
    ) -> io::Result<Self> {
        Ok(Self {
            target: cpath(target.as_ref())?,
            dirfd,
            linkpath: cpath(linkpath.as_ref())?,
        })
    }
}

impl sealed::Sealed for SymlinkAt {}

// SAFETY: the SQE points only at the two CStrings owned by the op.
unsafe impl RawOp for SymlinkAt {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        io_uring::opcode::SymlinkAt::new(
            io_uring::types::Fd(self.dirfd),
            self.target.as_ptr(),
            self.linkpath.as_ptr(),
        )
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: both paths are NUL-terminated and alive for the call.
        cvt(
            unsafe { libc::symlinkat(self.target.as_ptr(), self.dirfd, self.linkpath.as_ptr()) }
                as libc::c_long,
        )
    }
}

impl Op for SymlinkAt {
    const CODE: u8 = 38;
    const NAME: &'static str = "IORING_OP_SYMLINKAT";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
