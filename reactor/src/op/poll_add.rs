//! `poll(2)` on one descriptor (`IORING_OP_POLL_ADD`).

use std::io;

use crate::op::{Completion, Op, RawOp, Readiness, Target, cvt, sealed};

/// Equivalent to `poll(2)` on one descriptor: resolves to the ready events
/// (`POLLIN`, `POLLOUT`, `POLLHUP`, ...) once any of `events` is ready.
#[derive(Debug)]
pub struct PollAdd {
    fd: Target,
    events: i16,
}

impl PollAdd {
    /// Waits for `events` (`libc::POLLIN`, `libc::POLLOUT`, ...) on `fd`.
    pub fn new(fd: impl Into<Target>, events: i16) -> Self {
        Self {
            fd: fd.into(),
            events,
        }
    }
}

impl sealed::Sealed for PollAdd {}

// SAFETY: the SQE carries no pointer.
unsafe impl RawOp for PollAdd {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        io_uring::opcode::PollAdd::new(fd, self.events as u16 as u32)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        if self.events & libc::POLLOUT != 0 && self.events & libc::POLLIN == 0 {
            Readiness::Writable(self.fd.raw())
        } else {
            Readiness::Readable(self.fd.raw())
        }
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let mut p = libc::pollfd {
            fd: self.fd.raw(),
            events: self.events,
            revents: 0,
        };
        // SAFETY: one pollfd, alive for the call; zero timeout.
        let n = cvt(unsafe { libc::poll(&raw mut p, 1, 0) } as libc::c_long)?;
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(p.revents as u16 as u32)
    }
}

impl Op for PollAdd {
    const CODE: u8 = 6;
    const NAME: &'static str = "IORING_OP_POLL_ADD";
    type Output = io::Result<i16>;

    fn complete(self, c: Completion) -> Self::Output {
        c.into_result().map(|m| m as u16 as i16)
    }
}
