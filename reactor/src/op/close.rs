//! `close(2)`.

use std::io;
use std::os::fd::{IntoRawFd, OwnedFd};

use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, sealed};

/// Equivalent to `close(2)`. Takes ownership of the descriptor, so it cannot
/// be closed twice; a registered file is removed from the table.
#[derive(Debug)]
pub struct Close {
    fd: Target,
}

impl Close {
    /// Closes `fd`.
    pub fn new(fd: OwnedFd) -> Self {
        Self {
            fd: Target::Fd(fd.into_raw_fd()),
        }
    }

    /// Closes registered file `fd`'s table slot (io_uring) or its descriptor
    /// (the readiness backend).
    pub const fn fixed(fd: crate::op::FixedFd) -> Self {
        Self {
            fd: Target::Fixed(fd),
        }
    }
}

impl sealed::Sealed for Close {}

// SAFETY: the SQE carries no pointer.
unsafe impl RawOp for Close {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        match self.fd {
            Target::Fd(fd) => io_uring::opcode::Close::new(io_uring::types::Fd(fd)).build(),
            Target::Fixed(f) => {
                io_uring::opcode::Close::new(io_uring::types::Fixed(f.index)).build()
            }
        }
    }

    fn readiness(&self) -> Readiness {
        Readiness::Now
    }

    fn attempt(&mut self) -> io::Result<u32> {
        // SAFETY: the op owns the descriptor (taken from an OwnedFd or a
        // registration), so nothing else closes or uses it.
        cvt(unsafe { libc::close(self.fd.raw()) } as libc::c_long)
    }
}

impl Op for Close {
    const CODE: u8 = 19;
    const NAME: &'static str = "IORING_OP_CLOSE";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(drop)
    }
}
