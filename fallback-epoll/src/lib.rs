//! `ringwasm-fallback-epoll`: the reactor's op interface on `mio` (epoll on
//! Linux, kqueue on macOS and the BSDs), for machines and sandboxes without
//! io_uring.
//!
//! Sockets are driven by readiness and retried on `EAGAIN`; regular files and
//! directory operations are direct syscalls. It calls the methods of
//! `ringwasm_reactor`'s ops and never names an op itself, so every op added to
//! the reactor works here too.
//!
//! Only `ringwasm-reactor` sits below it; `ringwasm-wasi` and the tools may
//! depend on it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
