//! `ringwasm-wasi`: the WASI host. Every file, socket and timer operation of a
//! guest goes through the reactor: io_uring where the kernel has it, the
//! epoll/kqueue fallback elsewhere, chosen once behind one type.
//!
//! It sits on `ringwasm-jit`, `ringwasm-reactor` and
//! `ringwasm-fallback-epoll`; only the tools sit above it.
//!
//! Where to start reading:
//! - [`ctx`]: [`WasiCtx`] (per-instance state) and [`WasiCtxBuilder`];
//! - [`p1`]: the Preview 1 functions, one module per family; each is a plain
//!   function over the context and a [`GuestMem`], so it can be tested
//!   without an engine;
//! - [`p2`]: WASI 0.2 for components, on the same backends;
//! - [`fs`]: the file-system backend both share (paths beneath a directory,
//!   operations on open files), so each behaviour and errno is written once;
//! - [`preopen`]: the path sandbox (`openat2` `RESOLVE_BENEATH`, or a checked
//!   walk);
//! - [`fd_table`]: guest descriptors and their rights;
//! - [`error`] and [`errno`]: the guest-visible [`Errno`], the one host→guest
//!   errno table, and [`HostError`] = errno | trap;
//! - [`guest_buf`]: checked, zero-copy access to linear memory — the one
//!   module allowed `unsafe` (lending guest memory to the reactor).
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod ctx;
pub mod errno;
pub mod error;
pub mod fd_table;
pub mod fs;
pub mod guest_buf;
pub mod http;
mod io;
pub mod linker;
pub mod p1;
pub mod p2;
pub mod preopen;
pub mod wait;

pub use ctx::{WasiCtx, WasiCtxBuilder};
pub use error::{Errno, HostError, TrapReason};
pub use guest_buf::{GuestMem, GuestSlice};
pub use io::{IO_ENV, Io, IoChoice, UnknownIoChoice};
pub use linker::add_to_linker;
pub use preopen::{PreopenSpec, Resolution};
