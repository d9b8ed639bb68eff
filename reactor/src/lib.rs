//! `ringwasm-reactor`: the per-thread io_uring event loop, and the op
//! interface that both I/O backends share.
//!
//! What it is: one ring per thread, no locks on the hot path, and
//! completion-based operations (read/write, openat2, statx, accept, send/recv,
//! splice, timeouts, cancel, ...). Each op is defined once, with its io_uring
//! half (an SQE) and its readiness half (a nonblocking attempt plus the
//! interest to wait for) side by side, so that `ringwasm-fallback-epoll` can
//! drive the same ops on epoll or kqueue without naming any of them.
//!
//! What it is not: it knows nothing about wasm, WASI or HTTP. Nothing of ours
//! sits below it; `ringwasm-fallback-epoll`, `ringwasm-wasi` and the tools may
//! depend on it.
//!
//! The safety rule: an operation may target memory the reactor does not own
//! (guest linear memory). Whoever submits promises that memory outlives the
//! operation ([`IoBuf`]/[`IoBufMut`]), and cancelling never frees the caller
//! from that promise before the kernel's completion has arrived: a dropped op
//! is parked in its lifecycle slot until then.
//!
//! Where to start reading: [`Driver`] (the handle everything holds),
//! [`Backend`] (what a backend implements), [`op`] (the ops), then
//! `docs/design/reactor.md`.
#![deny(missing_docs)]

mod backend;
mod buf;
mod error;
mod exec;
#[cfg(target_os = "linux")]
pub mod floor;
pub mod inline;
#[cfg(target_os = "linux")]
mod lifecycle;
pub mod op;
#[cfg(target_os = "linux")]
mod ring;
pub mod sys;

pub use backend::{Backend, BackendKind, Driver, Multi, Started, Submit, Token};
pub use buf::{AlignedBuf, BufRing, DIRECT_ALIGN, FixedBuf, IoBuf, IoBufMut, ProvidedBuf};
pub use error::Error;
pub use exec::{JoinHandle, spawn, yield_now};
pub use op::{BlockingCall, Completion, FixedFd, MultiOp, Op, RawOp, Readiness, Target};
#[cfg(target_os = "linux")]
pub use ring::{DEFAULT_ENTRIES, Ring};

/// Sets up io_uring for this thread and wraps it in a [`Driver`].
///
/// # Errors
///
/// Why io_uring is unavailable (see [`Error`]).
#[cfg(target_os = "linux")]
pub fn uring_driver() -> Result<Driver, Error> {
    Ring::new(DEFAULT_ENTRIES).map(|r| Driver::new(std::rc::Rc::new(r)))
}

/// io_uring exists only on Linux.
///
/// # Errors
///
/// Always [`Error::NotLinux`].
#[cfg(not(target_os = "linux"))]
pub fn uring_driver() -> Result<Driver, Error> {
    Err(Error::NotLinux)
}
