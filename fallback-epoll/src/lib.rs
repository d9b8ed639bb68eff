//! `ringwasm-fallback-epoll`: the reactor's op interface on `mio` (epoll on
//! Linux, kqueue on macOS and the BSDs), for machines and sandboxes without
//! io_uring.
//!
//! Sockets are driven by readiness and retried on `EAGAIN`; regular files and
//! directory operations are direct syscalls on the calling thread, or, with
//! [`FileMode::Pool`], positioned file reads and writes run on a small pool
//! of blocking threads (`docs/design/reactor.md` measures both). It calls the methods
//! of `ringwasm_reactor`'s ops ([`ringwasm_reactor::RawOp`]) and never names
//! an op itself, so every op added to the reactor works here too.
//!
//! Only `ringwasm-reactor` sits below it; `ringwasm-wasi` and the tools may
//! depend on it. Start reading at [`Poller`], the [`ringwasm_reactor::Backend`]
//! implementation.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod blocking;
mod poller;

pub use blocking::{DEFAULT_POOL_THREADS, FILE_MODE_ENV, FileMode, UnknownFileMode};
pub use poller::Poller;

/// Creates the readiness backend for this thread and wraps it in a
/// [`ringwasm_reactor::Driver`].
///
/// # Errors
///
/// The error of `epoll_create1` / `kqueue`.
pub fn epoll_driver() -> std::io::Result<ringwasm_reactor::Driver> {
    Ok(ringwasm_reactor::Driver::new(std::rc::Rc::new(
        Poller::new()?,
    )))
}

/// As [`epoll_driver`], running file reads and writes in `mode` whatever
/// `RINGWASM_FALLBACK_FILES` says.
///
/// # Errors
///
/// The error of `epoll_create1` / `kqueue`.
pub fn epoll_driver_with(mode: FileMode) -> std::io::Result<ringwasm_reactor::Driver> {
    Ok(ringwasm_reactor::Driver::new(std::rc::Rc::new(
        Poller::with_file_mode(mode)?,
    )))
}
