//! `ringwasm-fallback-epoll`: the reactor's op interface on `mio` (epoll on
//! Linux, kqueue on macOS and the BSDs), for machines and sandboxes without
//! io_uring.
//!
//! Sockets are driven by readiness and retried on `EAGAIN`; regular files and
//! directory operations are direct syscalls on the calling thread (see
//! `docs/design/reactor.md` for why not a blocking pool). It calls the methods
//! of `ringwasm_reactor`'s ops ([`ringwasm_reactor::RawOp`]) and never names
//! an op itself, so every op added to the reactor works here too.
//!
//! Only `ringwasm-reactor` sits below it; `ringwasm-wasi` and the tools may
//! depend on it. Start reading at [`Poller`], the [`ringwasm_reactor::Backend`]
//! implementation.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod poller;

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
