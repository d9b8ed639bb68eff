//! The client sockets `http` and `echo` connect with: TCP, nonblocking,
//! close-on-exec, and never raising SIGPIPE.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use rustix::net::{AddressFamily, SocketFlags, SocketType, socket_with};

/// A nonblocking, close-on-exec TCP socket for `addr`'s family. Linux sets
/// both flags in `socket(2)` itself; macOS has no such flags, so they are
/// set with `fcntl`, and the socket is marked `SO_NOSIGPIPE` (its sends
/// cannot say `MSG_NOSIGNAL`).
///
/// # Errors
///
/// The OS error of `socket` or of setting a flag.
pub(crate) fn stream_socket(addr: SocketAddr) -> io::Result<OwnedFd> {
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let fd = socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let fd = {
        let fd = socket_with(family, SocketType::STREAM, SocketFlags::empty(), None)?;
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
        let flags = rustix::fs::fcntl_getfl(&fd)?;
        rustix::fs::fcntl_setfl(&fd, flags | rustix::fs::OFlags::NONBLOCK)?;
        rustix::net::sockopt::set_socket_nosigpipe(&fd, true)?;
        fd
    };
    Ok(fd)
}
