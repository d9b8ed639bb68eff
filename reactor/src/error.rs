//! The reactor's one error enum: why a backend could not be set up.
//!
//! Errors of operations themselves are `std::io::Error`, built from a negative
//! `cqe.res` (or `errno` on the readiness path) in this crate only.

use std::io;

/// Why io_uring (or a backend) is unavailable on this machine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `io_uring_setup(2)` failed: ENOSYS (old kernel), EPERM (seccomp or
    /// `kernel.io_uring_disabled`), ENOMEM (locked-memory limit), ...
    #[error("io_uring_setup failed: {0}")]
    Setup(#[source] io::Error),
    /// `IORING_REGISTER_PROBE` failed, so the supported opcodes are unknown.
    #[error("io_uring opcode probe failed: {0}")]
    Probe(#[source] io::Error),
    /// The kernel's ring lacks an opcode the reactor uses.
    #[error("io_uring lacks opcode {name} ({code})")]
    MissingOpcode {
        /// Kernel spelling of the op, e.g. `IORING_OP_OPENAT2`.
        name: &'static str,
        /// The opcode number.
        code: u8,
    },
    /// The readiness (epoll/kqueue) backend could not be created.
    #[error("creating the epoll/kqueue poller failed: {0}")]
    Fallback(#[source] io::Error),
    /// io_uring exists only on Linux.
    #[error("io_uring is only available on Linux")]
    NotLinux,
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_size() {
        assert!(size_of::<super::Error>() <= 24);
    }
}
