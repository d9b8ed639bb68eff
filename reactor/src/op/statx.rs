//! `statx(2)` (`fstatat(2)` on systems without it).

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use crate::op::{Completion, Op, RawOp, Readiness, cpath, sealed};

/// File metadata, the portable subset of `struct statx`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatxBuf {
    /// Device of the containing filesystem (`makedev(major, minor)`).
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// File type and permission bits (`S_IF*` | mode).
    pub mode: u32,
    /// Hard-link count.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O block size.
    pub blksize: u32,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// Access time, nanoseconds since the epoch.
    pub atime_ns: i128,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status-change time, nanoseconds since the epoch.
    pub ctime_ns: i128,
}

/// Equivalent to `statx(2)`: metadata of `path` relative to `dirfd`, or of
/// `dirfd` itself with an empty path and `AT_EMPTY_PATH`.
#[derive(Debug)]
pub struct Statx {
    dirfd: RawFd,
    path: CString,
    flags: i32,
    #[cfg(target_os = "linux")]
    buf: Box<libc::statx>,
}

impl Statx {
    /// Metadata of `path`, following a final symlink.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `path` contains a NUL byte.
    pub fn new(dirfd: RawFd, path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self {
            dirfd,
            path: cpath(path.as_ref())?,
            flags: 0,
            #[cfg(target_os = "linux")]
            // SAFETY: `statx` is plain old data; all-zero is a valid value.
            buf: Box::new(unsafe { std::mem::zeroed() }),
        })
    }

    /// Metadata of the open file `fd` itself (`AT_EMPTY_PATH`).
    pub fn fd(fd: RawFd) -> Self {
        Self {
            dirfd: fd,
            path: CString::default(),
            flags: AT_EMPTY_PATH,
            #[cfg(target_os = "linux")]
            // SAFETY: `statx` is plain old data; all-zero is a valid value.
            buf: Box::new(unsafe { std::mem::zeroed() }),
        }
    }

    /// `AT_*` flags (`AT_SYMLINK_NOFOLLOW`, ...), added to the defaults.
    #[must_use]
    pub const fn flags(mut self, flags: i32) -> Self {
        self.flags |= flags;
        self
    }
}

#[cfg(target_os = "linux")]
const AT_EMPTY_PATH: i32 = libc::AT_EMPTY_PATH;
#[cfg(not(target_os = "linux"))]
const AT_EMPTY_PATH: i32 = 0;

impl sealed::Sealed for Statx {}

// SAFETY: the SQE points at `path` and the boxed `statx` buffer, both owned by
// the op and stable while it lives.
unsafe impl RawOp for Statx {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let buf: *mut libc::statx = &raw mut *self.buf;
        io_uring::opcode::Statx::new(
            io_uring::types::Fd(self.dirfd),
            self.path.as_ptr(),
            buf.cast(),
        )
        .flags(self.flags)
        .mask(libc::STATX_BASIC_STATS)
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    #[cfg(target_os = "linux")]
    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: `path` is NUL-terminated and `buf` is a valid `statx` owned
        // by the op, both alive for the call.
        let r = unsafe {
            libc::statx(
                self.dirfd,
                self.path.as_ptr(),
                self.flags,
                libc::STATX_BASIC_STATS,
                &raw mut *self.buf,
            )
        };
        crate::op::cvt(r as libc::c_long)
    }

    /// Without `statx` the op carries no buffer: [`Op::complete`] makes
    /// the `fstatat`/`fstat` call and returns its result.
    #[cfg(not(target_os = "linux"))]
    fn attempt(&mut self) -> io::Result<u32> {
        Ok(0)
    }
}

#[cfg(target_os = "linux")]
fn ns(t: libc::statx_timestamp) -> i128 {
    i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
}

impl Op for Statx {
    const CODE: u8 = 21;
    const NAME: &'static str = "IORING_OP_STATX";
    type Output = io::Result<StatxBuf>;

    #[cfg(target_os = "linux")]
    fn complete(self, c: Completion) -> Self::Output {
        c.into_result()?;
        let s = &*self.buf;
        Ok(StatxBuf {
            dev: libc::makedev(s.stx_dev_major, s.stx_dev_minor),
            ino: s.stx_ino,
            mode: u32::from(s.stx_mode),
            nlink: u64::from(s.stx_nlink),
            uid: s.stx_uid,
            gid: s.stx_gid,
            size: s.stx_size,
            blksize: s.stx_blksize,
            blocks: s.stx_blocks,
            atime_ns: ns(s.stx_atime),
            mtime_ns: ns(s.stx_mtime),
            ctime_ns: ns(s.stx_ctime),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn complete(self, c: Completion) -> Self::Output {
        c.into_result()?;
        crate::sys::fstatat(self.dirfd, &self.path, self.flags)
    }
}
