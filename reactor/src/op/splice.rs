//! `splice(2)`; a buffered copy where the OS has no splice.

use std::io;

use crate::op::{Completion, Op, RawOp, Readiness, Target, sealed};

/// Equivalent to `splice(2)`: moves up to `len` bytes from `fd_in` to
/// `fd_out`, one of which must be a pipe. An offset of `-1` means the file
/// position (and is required for a pipe end). Where the OS lacks splice, the
/// readiness backend copies through a buffer.
#[derive(Debug)]
pub struct Splice {
    fd_in: Target,
    off_in: i64,
    fd_out: Target,
    off_out: i64,
    len: u32,
    flags: u32,
}

impl Splice {
    /// Splices `len` bytes between the file positions of the two ends.
    pub fn new(fd_in: impl Into<Target>, fd_out: impl Into<Target>, len: u32) -> Self {
        Self {
            fd_in: fd_in.into(),
            off_in: -1,
            fd_out: fd_out.into(),
            off_out: -1,
            len,
            flags: 0,
        }
    }

    /// Reads `fd_in` at this offset.
    #[must_use]
    pub const fn off_in(mut self, off: i64) -> Self {
        self.off_in = off;
        self
    }

    /// Writes `fd_out` at this offset.
    #[must_use]
    pub const fn off_out(mut self, off: i64) -> Self {
        self.off_out = off;
        self
    }

    /// `SPLICE_F_*` flags.
    #[must_use]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
}

impl sealed::Sealed for Splice {}

// SAFETY: the SQE carries no pointer.
unsafe impl RawOp for Splice {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        // SPLICE_F_FD_IN_FIXED marks a registered input; the output uses the
        // SQE's FIXED_FILE flag.
        let (fd_in, in_fixed) = match self.fd_in {
            Target::Fd(fd) => (fd, 0),
            Target::Fixed(f) => (i32::try_from(f.index).unwrap_or(-1), 1 << 31),
        };
        let (fd_out, flags) = self.fd_out.sqe_fd();
        io_uring::opcode::Splice::new(
            io_uring::types::Fd(fd_in),
            self.off_in,
            fd_out,
            self.off_out,
            self.len,
        )
        .flags(self.flags | in_fixed)
        .build()
        .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Writable(self.fd_out.raw())
    }

    #[cfg(target_os = "linux")]
    fn attempt(&mut self) -> io::Result<u32> {
        let mut off_in = self.off_in;
        let mut off_out = self.off_out;
        let pin: *mut i64 = if off_in < 0 {
            std::ptr::null_mut()
        } else {
            &raw mut off_in
        };
        let pout: *mut i64 = if off_out < 0 {
            std::ptr::null_mut()
        } else {
            &raw mut off_out
        };
        // SAFETY: the offset pointers are null or point at locals alive for
        // the call.
        let r = unsafe {
            libc::splice(
                self.fd_in.raw(),
                pin,
                self.fd_out.raw(),
                pout,
                self.len as usize,
                self.flags | libc::SPLICE_F_NONBLOCK,
            )
        };
        crate::op::cvt(r as libc::c_long)
    }

    #[cfg(not(target_os = "linux"))]
    fn attempt(&mut self) -> io::Result<u32> {
        crate::sys::copy_through_buffer(
            self.fd_in.raw(),
            self.off_in,
            self.fd_out.raw(),
            self.off_out,
            self.len as usize,
        )
    }
}

impl Op for Splice {
    const CODE: u8 = 30;
    const NAME: &'static str = "IORING_OP_SPLICE";
    type Output = io::Result<usize>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(|n| n as usize)
    }
}
