//! `fsync(2)`/`fdatasync(2)`.

use std::io;

use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, sealed};

/// Equivalent to `fsync(2)`, or `fdatasync(2)` with [`Fsync::datasync`].
#[derive(Debug)]
pub struct Fsync {
    fd: Target,
    datasync: bool,
}

impl Fsync {
    /// Flushes `fd`'s data and metadata.
    pub fn new(fd: impl Into<Target>) -> Self {
        Self {
            fd: fd.into(),
            datasync: false,
        }
    }

    /// Flushes only the data and the metadata needed to read it.
    #[must_use]
    pub const fn datasync(mut self, datasync: bool) -> Self {
        self.datasync = datasync;
        self
    }
}

impl sealed::Sealed for Fsync {}

// SAFETY: the SQE carries no pointer.
unsafe impl RawOp for Fsync {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        let f = if self.datasync {
            io_uring::types::FsyncFlags::DATASYNC
        } else {
            io_uring::types::FsyncFlags::empty()
        };
        io_uring::opcode::Fsync::new(fd)
            .flags(f)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let fd = self.fd.raw();
        #[cfg(target_os = "linux")]
        if self.datasync {
            // SAFETY: fdatasync takes no pointer.
            return cvt(unsafe { libc::fdatasync(fd) } as libc::c_long);
        }
        // SAFETY: fsync takes no pointer.
        cvt(unsafe { libc::fsync(fd) } as libc::c_long)
    }
}

impl Op for Fsync {
    const CODE: u8 = 3;
    const NAME: &'static str = "IORING_OP_FSYNC";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
