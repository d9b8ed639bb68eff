//! `openat2(2)`.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use crate::op::{Completion, Op, RawOp, Readiness, cpath, cvt, sealed};

/// `RESOLVE_*` flags of `openat2(2)`.
pub mod resolve {
    /// `RESOLVE_NO_XDEV`: do not cross mount points.
    pub const NO_XDEV: u64 = 0x01;
    /// `RESOLVE_NO_MAGICLINKS`: no `/proc/self/fd`-style links.
    pub const NO_MAGICLINKS: u64 = 0x02;
    /// `RESOLVE_NO_SYMLINKS`: no symlinks at all.
    pub const NO_SYMLINKS: u64 = 0x04;
    /// `RESOLVE_BENEATH`: `..`, absolute paths and symlinks may not leave
    /// the directory.
    pub const BENEATH: u64 = 0x08;
    /// `RESOLVE_IN_ROOT`: treat the directory as the root.
    pub const IN_ROOT: u64 = 0x10;
    /// `RESOLVE_CACHED`: only from the dentry cache (else `EAGAIN`).
    pub const CACHED: u64 = 0x20;
}

/// Equivalent to `openat2(2)`: opens `path` relative to `dirfd`
/// (`libc::AT_FDCWD` for the working directory).
#[derive(Debug)]
pub struct OpenAt2 {
    dirfd: RawFd,
    path: CString,
    flags: u64,
    mode: u64,
    resolve: u64,
    #[cfg(target_os = "linux")]
    how: io_uring::types::OpenHow,
}

impl OpenAt2 {
    /// Opens `path` read-only, close-on-exec.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `path` contains a NUL byte.
    pub fn new(dirfd: RawFd, path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self {
            dirfd,
            path: cpath(path.as_ref())?,
            flags: (libc::O_RDONLY | libc::O_CLOEXEC) as u64,
            mode: 0,
            resolve: 0,
            #[cfg(target_os = "linux")]
            how: io_uring::types::OpenHow::new(),
        })
    }

    /// `open_how.flags` (`O_*`); `O_CLOEXEC` is always added.
    #[must_use]
    pub const fn flags(mut self, flags: i32) -> Self {
        self.flags = (flags | libc::O_CLOEXEC) as u64;
        self
    }

    /// `open_how.mode`, for `O_CREAT`/`O_TMPFILE`.
    #[must_use]
    pub const fn mode(mut self, mode: u32) -> Self {
        self.mode = mode as u64;
        self
    }

    /// `open_how.resolve` (see [`resolve`]).
    #[must_use]
    pub const fn resolve(mut self, resolve: u64) -> Self {
        self.resolve = resolve;
        self
    }
}

impl sealed::Sealed for OpenAt2 {}

// SAFETY: the SQE points at `path` (a CString's heap block) and `how`, both
// owned by the op, which backends keep at a stable address (boxed).
unsafe impl RawOp for OpenAt2 {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        self.how = io_uring::types::OpenHow::new()
            .flags(self.flags)
            .mode(self.mode)
            .resolve(self.resolve);
        io_uring::opcode::OpenAt2::new(
            io_uring::types::Fd(self.dirfd),
            self.path.as_ptr(),
            &raw const self.how,
        )
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    #[cfg(target_os = "linux")]
    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: open_how is plain old data; all-zero is valid.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = self.flags;
        how.mode = self.mode;
        how.resolve = self.resolve;
        // SAFETY: direct `openat2` syscall with a NUL-terminated path and an
        // `open_how` of the size passed, both alive for the call.
        cvt(unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.dirfd,
                self.path.as_ptr(),
                &raw const how,
                size_of::<libc::open_how>(),
            )
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn attempt(&mut self) -> io::Result<u32> {
        if self.resolve != 0 {
            // openat2's RESOLVE_* has no portable equivalent.
            return Err(io::Error::from_raw_os_error(libc::ENOTSUP));
        }
        let flags = libc::c_int::try_from(self.flags).unwrap_or(libc::O_RDONLY);
        let mode = libc::c_uint::try_from(self.mode).unwrap_or(0);
        // SAFETY: `path` is NUL-terminated and alive for the call.
        cvt(unsafe { libc::openat(self.dirfd, self.path.as_ptr(), flags, mode) } as libc::c_long)
    }
}

impl Op for OpenAt2 {
    const CODE: u8 = 28;
    const NAME: &'static str = "IORING_OP_OPENAT2";
    type Output = io::Result<OwnedFd>;

    fn complete(self, c: Completion) -> Self::Output {
        let fd = c.into_result()?;
        let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: a successful openat2 returned a new descriptor that nothing
        // else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}
