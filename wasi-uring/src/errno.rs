//! The one table from host OS errors to guest-visible [`Errno`]s.
//!
//! Every `errno(3)` value the host may produce maps to exactly one WASI errno;
//! anything the table does not name becomes [`Errno::Io`]. The table is total
//! and tested exhaustively below.

use crate::error::Errno;

/// Maps a raw host `errno` value to the guest's errno.
pub fn from_raw_os(raw: i32) -> Errno {
    use Errno as E;
    match raw {
        0 => E::Success,
        libc::E2BIG => E::TooBig,
        libc::EACCES => E::Acces,
        libc::EADDRINUSE => E::Addrinuse,
        libc::EADDRNOTAVAIL => E::Addrnotavail,
        libc::EAFNOSUPPORT => E::Afnosupport,
        libc::EAGAIN => E::Again,
        libc::EALREADY => E::Already,
        libc::EBADF => E::Badf,
        libc::EBADMSG => E::Badmsg,
        libc::EBUSY => E::Busy,
        libc::ECANCELED => E::Canceled,
        libc::ECHILD => E::Child,
        libc::ECONNABORTED => E::Connaborted,
        libc::ECONNREFUSED => E::Connrefused,
        libc::ECONNRESET => E::Connreset,
        libc::EDEADLK => E::Deadlk,
        libc::EDESTADDRREQ => E::Destaddrreq,
        libc::EDOM => E::Dom,
        libc::EDQUOT => E::Dquot,
        libc::EEXIST => E::Exist,
        libc::EFAULT => E::Fault,
        libc::EFBIG => E::Fbig,
        libc::EHOSTUNREACH => E::Hostunreach,
        libc::EIDRM => E::Idrm,
        libc::EILSEQ => E::Ilseq,
        libc::EINPROGRESS => E::Inprogress,
        libc::EINTR => E::Intr,
        libc::EINVAL => E::Inval,
        libc::EIO => E::Io,
        libc::EISCONN => E::Isconn,
        libc::EISDIR => E::Isdir,
        libc::ELOOP => E::Loop,
        libc::EMFILE => E::Mfile,
        libc::EMLINK => E::Mlink,
        libc::EMSGSIZE => E::Msgsize,
        libc::EMULTIHOP => E::Multihop,
        libc::ENAMETOOLONG => E::Nametoolong,
        libc::ENETDOWN => E::Netdown,
        libc::ENETRESET => E::Netreset,
        libc::ENETUNREACH => E::Netunreach,
        libc::ENFILE => E::Nfile,
        libc::ENOBUFS => E::Nobufs,
        libc::ENODEV => E::Nodev,
        libc::ENOENT => E::Noent,
        libc::ENOEXEC => E::Noexec,
        libc::ENOLCK => E::Nolck,
        libc::ENOLINK => E::Nolink,
        libc::ENOMEM => E::Nomem,
        libc::ENOMSG => E::Nomsg,
        libc::ENOPROTOOPT => E::Noprotoopt,
        libc::ENOSPC => E::Nospc,
        libc::ENOSYS => E::Nosys,
        libc::ENOTCONN => E::Notconn,
        libc::ENOTDIR => E::Notdir,
        libc::ENOTEMPTY => E::Notempty,
        libc::ENOTRECOVERABLE => E::Notrecoverable,
        libc::ENOTSOCK => E::Notsock,
        libc::ENOTSUP => E::Notsup,
        libc::ENOTTY => E::Notty,
        libc::ENXIO => E::Nxio,
        libc::EOVERFLOW => E::Overflow,
        libc::EOWNERDEAD => E::Ownerdead,
        libc::EPERM => E::Perm,
        libc::EPIPE => E::Pipe,
        libc::EPROTO => E::Proto,
        libc::EPROTONOSUPPORT => E::Protonosupport,
        libc::EPROTOTYPE => E::Prototype,
        libc::ERANGE => E::Range,
        libc::EROFS => E::Rofs,
        libc::ESPIPE => E::Spipe,
        libc::ESRCH => E::Srch,
        libc::ESTALE => E::Stale,
        libc::ETIMEDOUT => E::Timedout,
        libc::ETXTBSY => E::Txtbsy,
        libc::EXDEV => E::Xdev,
        _ => E::Io,
    }
}

/// Maps a host `io::Error` to the guest's errno: its OS code through the
/// table, otherwise by kind.
pub fn from_io(e: &std::io::Error) -> Errno {
    use std::io::ErrorKind as K;
    if let Some(raw) = e.raw_os_error() {
        return from_raw_os(raw);
    }
    match e.kind() {
        K::NotFound => Errno::Noent,
        K::PermissionDenied => Errno::Perm,
        K::AlreadyExists => Errno::Exist,
        K::WouldBlock => Errno::Again,
        K::InvalidInput | K::InvalidData => Errno::Inval,
        K::Interrupted => Errno::Intr,
        K::Unsupported => Errno::Notsup,
        K::OutOfMemory => Errno::Nomem,
        K::BrokenPipe => Errno::Pipe,
        K::TimedOut => Errno::Timedout,
        _ => Errno::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_errno_but_success_and_notcapable_has_a_host_source() {
        // Walk every raw errno Linux defines; each guest errno (bar the two
        // WASI-only ones) must be the image of some host errno.
        let mut seen = std::collections::HashSet::new();
        for raw in 0..4096 {
            seen.insert(from_raw_os(raw));
        }
        for e in Errno::ALL {
            if *e != Errno::Notcapable {
                assert!(seen.contains(e), "{e} is never produced");
            }
        }
    }

    #[test]
    fn names_match_their_posix_origin() {
        for raw in 1..4096 {
            let e = from_raw_os(raw);
            if e == Errno::Io && raw != libc::EIO {
                continue;
            }
            let posix = std::io::Error::from_raw_os_error(raw);
            assert_eq!(from_io(&posix), e);
        }
        assert_eq!(from_raw_os(libc::EWOULDBLOCK), Errno::Again);
        assert_eq!(from_raw_os(libc::EOPNOTSUPP), Errno::Notsup);
        assert_eq!(from_raw_os(9999), Errno::Io);
        assert_eq!(from_raw_os(-1), Errno::Io);
    }

    #[test]
    fn kinds_without_os_codes_map_by_kind() {
        let e = std::io::Error::new(std::io::ErrorKind::NotFound, "x");
        assert_eq!(from_io(&e), Errno::Noent);
        let e = std::io::Error::other("x");
        assert_eq!(from_io(&e), Errno::Io);
    }
}
