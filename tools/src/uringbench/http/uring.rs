//! The HTTP load driver on io_uring (`--io uring`): one ring per thread.
//!
//! Built on `ringwasm-reactor`'s op interface once that interface lands;
//! until then this driver reports that it is unavailable instead of
//! pretending (the `epoll` driver is the same client on the fallback).

use std::io;

use super::load::{LoadConfig, Shared, Tally, Window};

/// Runs one thread's share on a ring.
///
/// # Errors
///
/// `Unsupported` until the reactor's interface is available.
pub fn run_thread(
    _cfg: &LoadConfig,
    _shared: &Shared,
    _window: Window,
    _first_index: usize,
    _conns: usize,
) -> io::Result<Tally> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "the io_uring HTTP driver is not available in this build",
    ))
}
