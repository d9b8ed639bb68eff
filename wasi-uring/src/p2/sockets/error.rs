//! `wasi:sockets/network.error-code` for a host error: one table, after
//! the POSIX equivalents the WIT names for each case.

use std::io;

use super::ErrorCode;

/// The `error-code` of a host socket error. Errnos the WIT names no case
/// for are `unknown`.
pub fn error_code(e: &io::Error) -> ErrorCode {
    let Some(errno) = e.raw_os_error() else {
        return match e.kind() {
            io::ErrorKind::WouldBlock => ErrorCode::WouldBlock,
            io::ErrorKind::OutOfMemory => ErrorCode::OutOfMemory,
            io::ErrorKind::InvalidInput => ErrorCode::InvalidArgument,
            _ => ErrorCode::Unknown,
        };
    };
    match errno {
        libc::EACCES | libc::EPERM => ErrorCode::AccessDenied,
        libc::EOPNOTSUPP
        | libc::ENOPROTOOPT
        | libc::EPFNOSUPPORT
        | libc::EPROTONOSUPPORT
        | libc::EPROTOTYPE
        | libc::ESOCKTNOSUPPORT
        | libc::EAFNOSUPPORT => ErrorCode::NotSupported,
        libc::EINVAL => ErrorCode::InvalidArgument,
        libc::ENOMEM | libc::ENOBUFS => ErrorCode::OutOfMemory,
        libc::ETIMEDOUT => ErrorCode::Timeout,
        libc::EALREADY => ErrorCode::ConcurrencyConflict,
        libc::EWOULDBLOCK => ErrorCode::WouldBlock,
        libc::EISCONN | libc::ENOTCONN | libc::EDESTADDRREQ => ErrorCode::InvalidState,
        libc::EMFILE | libc::ENFILE => ErrorCode::NewSocketLimit,
        libc::EADDRNOTAVAIL => ErrorCode::AddressNotBindable,
        libc::EADDRINUSE => ErrorCode::AddressInUse,
        libc::EHOSTUNREACH | libc::EHOSTDOWN | libc::ENETUNREACH | libc::ENETDOWN => {
            ErrorCode::RemoteUnreachable
        }
        #[cfg(target_os = "linux")]
        libc::ENONET => ErrorCode::RemoteUnreachable,
        libc::ECONNREFUSED => ErrorCode::ConnectionRefused,
        libc::ECONNRESET => ErrorCode::ConnectionReset,
        libc::ECONNABORTED => ErrorCode::ConnectionAborted,
        libc::EMSGSIZE => ErrorCode::DatagramTooLarge,
        _ => ErrorCode::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(errno: i32) -> ErrorCode {
        error_code(&io::Error::from_raw_os_error(errno))
    }

    #[test]
    fn each_named_errno_gives_its_case() {
        let table = [
            (libc::EACCES, ErrorCode::AccessDenied),
            (libc::EPERM, ErrorCode::AccessDenied),
            (libc::EOPNOTSUPP, ErrorCode::NotSupported),
            (libc::EAFNOSUPPORT, ErrorCode::NotSupported),
            (libc::EINVAL, ErrorCode::InvalidArgument),
            (libc::ENOMEM, ErrorCode::OutOfMemory),
            (libc::ENOBUFS, ErrorCode::OutOfMemory),
            (libc::ETIMEDOUT, ErrorCode::Timeout),
            (libc::EALREADY, ErrorCode::ConcurrencyConflict),
            (libc::EAGAIN, ErrorCode::WouldBlock),
            (libc::EISCONN, ErrorCode::InvalidState),
            (libc::ENOTCONN, ErrorCode::InvalidState),
            (libc::EMFILE, ErrorCode::NewSocketLimit),
            (libc::ENFILE, ErrorCode::NewSocketLimit),
            (libc::EADDRNOTAVAIL, ErrorCode::AddressNotBindable),
            (libc::EADDRINUSE, ErrorCode::AddressInUse),
            (libc::EHOSTUNREACH, ErrorCode::RemoteUnreachable),
            (libc::ENETUNREACH, ErrorCode::RemoteUnreachable),
            (libc::ECONNREFUSED, ErrorCode::ConnectionRefused),
            (libc::ECONNRESET, ErrorCode::ConnectionReset),
            (libc::ECONNABORTED, ErrorCode::ConnectionAborted),
            (libc::EMSGSIZE, ErrorCode::DatagramTooLarge),
        ];
        for (errno, want) in table {
            assert_eq!(code(errno), want, "errno {errno}");
        }
    }

    #[test]
    fn other_errnos_are_unknown() {
        for errno in [libc::ENOENT, libc::EIO, libc::EBADF, libc::EPIPE] {
            assert_eq!(code(errno), ErrorCode::Unknown, "errno {errno}");
        }
    }
}
