//! A relative timer (`IORING_OP_TIMEOUT`).

use std::io;
use std::time::Duration;

use crate::op::{Completion, Op, RawOp, Readiness, sealed};

/// A timer that fires after a duration: `IORING_OP_TIMEOUT` on io_uring, the
/// poller's timer list on the readiness backend. Resolves to `Ok(())` when it
/// fires and to `ECANCELED` when cancelled.
#[derive(Debug)]
pub struct Timeout {
    after: Duration,
    #[cfg(target_os = "linux")]
    ts: io_uring::types::Timespec,
}

impl Timeout {
    /// Fires `after` from submission.
    pub fn new(after: Duration) -> Self {
        Self {
            after,
            #[cfg(target_os = "linux")]
            ts: io_uring::types::Timespec::from(after),
        }
    }
}

impl sealed::Sealed for Timeout {}

// SAFETY: the SQE points at `ts`, owned by the op at a stable (boxed) address.
unsafe impl RawOp for Timeout {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        io_uring::opcode::Timeout::new(&raw const self.ts).build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Timer(self.after)
    }

    fn attempt(&mut self) -> io::Result<u32> {
        // Only reached if a backend ignores `Readiness::Timer`: report expiry.
        Err(io::Error::from_raw_os_error(libc::ETIME))
    }
}

impl Op for Timeout {
    const CODE: u8 = 11;
    const NAME: &'static str = "IORING_OP_TIMEOUT";
    type Output = io::Result<()>;

    fn complete(self, c: Completion) -> Self::Output {
        match c.into_result() {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
