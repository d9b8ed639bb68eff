//! `ringwasm-wasi`: the WASI host. Every file, socket and timer operation of a
//! guest goes through the reactor: io_uring where the kernel has it, the
//! epoll/kqueue fallback elsewhere, chosen once behind one type.
//!
//! It sits on `ringwasm-jit`, `ringwasm-reactor` and
//! `ringwasm-fallback-epoll`; only the tools sit above it.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod io;
pub use io::{IO_ENV, Io, IoChoice, UnknownIoChoice};
