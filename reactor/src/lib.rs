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
//! operation, and cancelling never frees the caller from that promise before
//! the kernel's completion has arrived.
#![deny(missing_docs)]
