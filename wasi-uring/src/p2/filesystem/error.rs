//! `error-code`: the guest-visible errors of `wasi:filesystem`, a
//! projection of the one errno table.
//!
//! A host error becomes an [`Errno`] through [`crate::errno`] (the table
//! Preview 1 uses), and that [`Errno`] becomes an [`ErrorCode`] here, by
//! name: each case of the WIT's `error-code` says which POSIX errno it is
//! "similar to". Errnos the WIT has no case for (the network ones, `E2BIG`,
//! ...) are `io`, as in wasmtime. So Preview 1 and 0.2 report the same
//! failure the same way, and a guest that reaches 0.2 through the Preview 1
//! adapter sees the errno a Preview 1 guest sees.
//!
//! Where wasmtime 49 differs: its table (`from_raw_os_error` in
//! `wasmtime-wasi`) leaves out some errnos the WIT does name and reports
//! them as `io`: `EAGAIN` (would-block), `EDEADLK`, `EDQUOT`, `EMSGSIZE`,
//! `ENODEV`, `ENOLCK`, `ENOSYS` (unsupported), `ENOTRECOVERABLE`,
//! `ENOTTY`, `ENXIO`, `EROFS`, `ETXTBSY` and `EXDEV`. Here they get their
//! WIT case: a guest's `mv` needs `cross-device` to fall back to copying.

use crate::errno::from_io;
use crate::error::Errno;
use crate::p2::bindings::wasi::filesystem::types::ErrorCode;

impl From<Errno> for ErrorCode {
    fn from(e: Errno) -> ErrorCode {
        use Errno as E;
        use ErrorCode as C;
        match e {
            E::Acces => C::Access,
            E::Again => C::WouldBlock,
            E::Already => C::Already,
            E::Badf => C::BadDescriptor,
            E::Busy => C::Busy,
            E::Deadlk => C::Deadlock,
            E::Dquot => C::Quota,
            E::Exist => C::Exist,
            E::Fbig => C::FileTooLarge,
            E::Ilseq => C::IllegalByteSequence,
            E::Inprogress => C::InProgress,
            E::Intr => C::Interrupted,
            E::Inval => C::Invalid,
            E::Io => C::Io,
            E::Isdir => C::IsDirectory,
            E::Loop => C::Loop,
            E::Mlink => C::TooManyLinks,
            E::Msgsize => C::MessageSize,
            E::Nametoolong => C::NameTooLong,
            E::Nodev => C::NoDevice,
            E::Noent => C::NoEntry,
            E::Nolck => C::NoLock,
            E::Nomem => C::InsufficientMemory,
            E::Nospc => C::InsufficientSpace,
            E::Notdir => C::NotDirectory,
            E::Notempty => C::NotEmpty,
            E::Notrecoverable => C::NotRecoverable,
            E::Notsup | E::Nosys => C::Unsupported,
            E::Notty => C::NoTty,
            E::Nxio => C::NoSuchDevice,
            E::Overflow => C::Overflow,
            // The sandbox's refusal (`preopen::ESCAPE`) and Preview 1's
            // missing right are both "not permitted".
            E::Perm | E::Notcapable => C::NotPermitted,
            E::Pipe => C::Pipe,
            E::Rofs => C::ReadOnly,
            E::Spipe => C::InvalidSeek,
            E::Txtbsy => C::TextFileBusy,
            E::Xdev => C::CrossDevice,
            // No case of their own in the WIT. (`Success` is never an
            // error; it is here so the match stays total.)
            E::Success
            | E::TooBig
            | E::Addrinuse
            | E::Addrnotavail
            | E::Afnosupport
            | E::Badmsg
            | E::Canceled
            | E::Child
            | E::Connaborted
            | E::Connrefused
            | E::Connreset
            | E::Destaddrreq
            | E::Dom
            | E::Fault
            | E::Hostunreach
            | E::Idrm
            | E::Isconn
            | E::Mfile
            | E::Multihop
            | E::Netdown
            | E::Netreset
            | E::Netunreach
            | E::Nfile
            | E::Nobufs
            | E::Noexec
            | E::Nolink
            | E::Nomsg
            | E::Noprotoopt
            | E::Notconn
            | E::Notsock
            | E::Ownerdead
            | E::Proto
            | E::Protonosupport
            | E::Prototype
            | E::Range
            | E::Srch
            | E::Stale
            | E::Timedout => C::Io,
        }
    }
}

/// The `error-code` of a host I/O error (a stream's failure), through the
/// one errno table.
pub(crate) fn code_of(e: &std::io::Error) -> ErrorCode {
    ErrorCode::from(from_io(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::from_raw_os;

    /// The POSIX errno each `error-code` case names in the WIT.
    const NAMED: &[(i32, ErrorCode)] = &[
        (libc::EACCES, ErrorCode::Access),
        (libc::EAGAIN, ErrorCode::WouldBlock),
        (libc::EALREADY, ErrorCode::Already),
        (libc::EBADF, ErrorCode::BadDescriptor),
        (libc::EBUSY, ErrorCode::Busy),
        (libc::EDEADLK, ErrorCode::Deadlock),
        (libc::EDQUOT, ErrorCode::Quota),
        (libc::EEXIST, ErrorCode::Exist),
        (libc::EFBIG, ErrorCode::FileTooLarge),
        (libc::EILSEQ, ErrorCode::IllegalByteSequence),
        (libc::EINPROGRESS, ErrorCode::InProgress),
        (libc::EINTR, ErrorCode::Interrupted),
        (libc::EINVAL, ErrorCode::Invalid),
        (libc::EIO, ErrorCode::Io),
        (libc::EISDIR, ErrorCode::IsDirectory),
        (libc::ELOOP, ErrorCode::Loop),
        (libc::EMLINK, ErrorCode::TooManyLinks),
        (libc::EMSGSIZE, ErrorCode::MessageSize),
        (libc::ENAMETOOLONG, ErrorCode::NameTooLong),
        (libc::ENODEV, ErrorCode::NoDevice),
        (libc::ENOENT, ErrorCode::NoEntry),
        (libc::ENOLCK, ErrorCode::NoLock),
        (libc::ENOMEM, ErrorCode::InsufficientMemory),
        (libc::ENOSPC, ErrorCode::InsufficientSpace),
        (libc::ENOTDIR, ErrorCode::NotDirectory),
        (libc::ENOTEMPTY, ErrorCode::NotEmpty),
        (libc::ENOTRECOVERABLE, ErrorCode::NotRecoverable),
        (libc::ENOTSUP, ErrorCode::Unsupported),
        (libc::ENOSYS, ErrorCode::Unsupported),
        (libc::ENOTTY, ErrorCode::NoTty),
        (libc::ENXIO, ErrorCode::NoSuchDevice),
        (libc::EOVERFLOW, ErrorCode::Overflow),
        (libc::EPERM, ErrorCode::NotPermitted),
        (libc::EPIPE, ErrorCode::Pipe),
        (libc::EROFS, ErrorCode::ReadOnly),
        (libc::ESPIPE, ErrorCode::InvalidSeek),
        (libc::ETXTBSY, ErrorCode::TextFileBusy),
        (libc::EXDEV, ErrorCode::CrossDevice),
    ];

    fn raw(raw: i32) -> ErrorCode {
        code_of(&std::io::Error::from_raw_os_error(raw))
    }

    #[test]
    fn every_case_comes_from_the_errno_the_wit_names() {
        for &(errno, code) in NAMED {
            assert_eq!(raw(errno), code, "errno {errno}");
        }
        // Every case of the enum is produced by some errno.
        let all: std::collections::HashSet<ErrorCode> = (0..4096).map(raw).collect();
        for &(_, code) in NAMED {
            assert!(all.contains(&code), "{code:?} is never produced");
        }
        assert_eq!(all.len(), 37, "every error-code case and no other");
    }

    #[test]
    fn errnos_without_a_case_are_io() {
        for errno in 1..4096 {
            if NAMED.iter().any(|&(e, _)| e == errno) {
                continue;
            }
            // `EWOULDBLOCK` and `EOPNOTSUPP` alias named errnos on Linux.
            let named = from_raw_os(errno);
            if NAMED.iter().any(|&(e, _)| from_raw_os(e) == named) {
                continue;
            }
            assert_eq!(raw(errno), ErrorCode::Io, "errno {errno} ({named})");
        }
    }

    #[test]
    fn only_errnos_without_a_case_become_io() {
        let named: std::collections::HashSet<Errno> =
            NAMED.iter().map(|&(raw, _)| from_raw_os(raw)).collect();
        for &e in Errno::ALL {
            let code = ErrorCode::from(e);
            if e == Errno::Notcapable {
                // Preview 1's missing right, like the sandbox's refusal.
                assert_eq!(code, ErrorCode::NotPermitted);
                continue;
            }
            let is_io = code == ErrorCode::Io;
            assert_eq!(
                is_io,
                e == Errno::Io || !named.contains(&e),
                "{e}: {code:?}"
            );
        }
        assert_eq!(
            ErrorCode::from(crate::preopen::ESCAPE),
            ErrorCode::NotPermitted
        );
    }

    #[test]
    fn errors_without_an_os_code_map_by_kind() {
        let e = |k| code_of(&std::io::Error::new(k, "x"));
        assert_eq!(e(std::io::ErrorKind::NotFound), ErrorCode::NoEntry);
        assert_eq!(
            e(std::io::ErrorKind::PermissionDenied),
            ErrorCode::NotPermitted
        );
        assert_eq!(e(std::io::ErrorKind::AlreadyExists), ErrorCode::Exist);
        assert_eq!(e(std::io::ErrorKind::InvalidInput), ErrorCode::Invalid);
        assert_eq!(e(std::io::ErrorKind::Other), ErrorCode::Io);
    }
}
