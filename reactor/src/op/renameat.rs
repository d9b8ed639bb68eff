//! `renameat2(2)`.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use crate::op::{Completion, Op, RawOp, Readiness, cpath, cvt, sealed};

/// Equivalent to `renameat2(2)` (`renameat(2)` when no flags are set).
#[derive(Debug)]
pub struct RenameAt {
    olddirfd: RawFd,
    oldpath: CString,
    newdirfd: RawFd,
    newpath: CString,
    flags: u32,
}

impl RenameAt {
    /// Renames `oldpath` to `newpath`, replacing it if it exists.
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

    /// `RENAME_*` flags (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`; Linux only).
    #[must_use]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
}

impl sealed::Sealed for RenameAt {}

// SAFETY: the SQE points only at the two CStrings owned by the op.
unsafe impl RawOp for RenameAt {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        io_uring::opcode::RenameAt::new(
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

    #[cfg(target_os = "linux")]
    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: both paths are NUL-terminated and alive for the call.
        cvt(unsafe {
            libc::renameat2(
                self.olddirfd,
                self.oldpath.as_ptr(),
                self.newdirfd,
                self.newpath.as_ptr(),
                self.flags,
            )
        } as libc::c_long)
    }

    #[cfg(not(target_os = "linux"))]
    fn attempt(&mut self) -> io::Result<u32> {
        if self.flags != 0 {
            return Err(io::Error::from_raw_os_error(libc::ENOTSUP));
        }
        // SAFETY: both paths are NUL-terminated and alive for the call.
        cvt(unsafe {
            libc::renameat(
                self.olddirfd,
                self.oldpath.as_ptr(),
                self.newdirfd,
                self.newpath.as_ptr(),
            )
        } as libc::c_long)
    }
}

impl Op for RenameAt {
    const CODE: u8 = 35;
    const NAME: &'static str = "IORING_OP_RENAMEAT";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
