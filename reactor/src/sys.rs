//! Direct syscalls: what io_uring has no opcode for (`getdents64`,
//! `readlinkat`, `fstatat` where `statx` is missing, `SO_ERROR`), and the
//! socket-address plumbing the socket ops share. Each function is a plain,
//! blocking syscall, said so in its doc.

use std::ffi::CStr;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;
use std::path::PathBuf;

use crate::op::cvt;

/// A `sockaddr_storage` and its length, as the kernel reads and writes them.
#[derive(Clone, Copy)]
pub(crate) struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl std::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SockAddr({:?})", self.decode())
    }
}

impl SockAddr {
    /// Zeroed storage with its full length, for accept.
    pub(crate) fn empty() -> Self {
        Self {
            // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
            storage: unsafe { std::mem::zeroed() },
            len: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// Encodes a std address.
    pub(crate) fn from_std(addr: SocketAddr) -> Self {
        let mut s = Self::empty();
        match addr {
            SocketAddr::V4(a) => {
                // SAFETY: sockaddr_in is plain old data; all-zero is valid.
                let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr = libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                };
                let p: *mut libc::sockaddr_storage = &raw mut s.storage;
                // SAFETY: sockaddr_storage is larger than and suitably aligned
                // for sockaddr_in.
                unsafe { p.cast::<libc::sockaddr_in>().write(sin) };
                s.len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(a) => {
                // SAFETY: sockaddr_in6 is plain old data; all-zero is valid.
                let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_addr = libc::in6_addr {
                    s6_addr: a.ip().octets(),
                };
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_scope_id = a.scope_id();
                let p: *mut libc::sockaddr_storage = &raw mut s.storage;
                // SAFETY: sockaddr_storage is larger than and suitably aligned
                // for sockaddr_in6.
                unsafe { p.cast::<libc::sockaddr_in6>().write(sin6) };
                s.len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        s
    }

    /// Decodes to a std address (`None` for other families, e.g. Unix).
    pub(crate) fn decode(&self) -> Option<SocketAddr> {
        let p: *const libc::sockaddr_storage = &raw const self.storage;
        match i32::from(self.storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { p.cast::<libc::sockaddr_in>().read() };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { p.cast::<libc::sockaddr_in6>().read() };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&raw const self.storage).cast()
    }

    pub(crate) const fn len(&self) -> libc::socklen_t {
        self.len
    }

    pub(crate) fn as_mut_ptrs(&mut self) -> (*mut libc::sockaddr, *mut libc::socklen_t) {
        self.len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        ((&raw mut self.storage).cast(), &raw mut self.len)
    }
}

/// Reads and clears `SO_ERROR` (direct `getsockopt(2)`): the outcome of a
/// nonblocking connect.
///
/// # Errors
///
/// The pending socket error, or the error of `getsockopt`.
pub(crate) fn take_socket_error(fd: RawFd) -> io::Result<()> {
    let mut err: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `err` and `len` are live locals of the sizes passed.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut err).cast(),
            &raw mut len,
        )
    } as libc::c_long)?;
    if err == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(err))
    }
}

/// One directory entry from [`getdents`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u64,
    /// Opaque position of the *next* entry (for `lseek`/`fd_readdir` cookies).
    pub next: i64,
    /// `DT_*` type.
    pub kind: u8,
    /// The name, without a NUL.
    pub name: Vec<u8>,
}

/// Reads directory entries from the open directory `fd` at its current
/// position: a direct `getdents64(2)` syscall (io_uring has no opcode for
/// it). An empty result means the end of the directory.
///
/// # Errors
///
/// The error of `getdents64`.
#[cfg(target_os = "linux")]
pub fn getdents(fd: RawFd) -> io::Result<Vec<DirEntry>> {
    let mut buf = vec![0u8; 32 * 1024];
    // SAFETY: `buf` is a live, writable buffer of the length passed.
    let n = cvt(unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) })?
        as usize;
    let mut out = Vec::new();
    let mut at = 0;
    // linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name[].
    while at + 19 <= n {
        let rec = &buf[at..n];
        let ino = u64::from_ne_bytes(rec[0..8].try_into().expect("8 bytes"));
        let next = i64::from_ne_bytes(rec[8..16].try_into().expect("8 bytes"));
        let reclen = usize::from(u16::from_ne_bytes(rec[16..18].try_into().expect("2 bytes")));
        let kind = rec[18];
        if reclen < 19 || reclen > rec.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("getdents64: bad record length {reclen} at byte {at}"),
            ));
        }
        let name = CStr::from_bytes_until_nul(&rec[19..reclen])
            .map(|c| c.to_bytes().to_vec())
            .unwrap_or_else(|_| rec[19..reclen].to_vec());
        out.push(DirEntry {
            ino,
            next,
            kind,
            name,
        });
        at += reclen;
    }
    Ok(out)
}

/// Directory listing where `getdents64` is missing: unsupported for now.
///
/// # Errors
///
/// Always `ENOTSUP`.
#[cfg(not(target_os = "linux"))]
pub fn getdents(_fd: RawFd) -> io::Result<Vec<DirEntry>> {
    let _ = CStr::from_bytes_until_nul(b"\0");
    Err(io::Error::from_raw_os_error(libc::ENOTSUP))
}

/// The target of symlink `path` (relative to `dirfd`): a direct
/// `readlinkat(2)` syscall (io_uring has no opcode for it).
///
/// # Errors
///
/// `InvalidInput` for a path with a NUL byte; the error of `readlinkat`.
pub fn readlinkat(dirfd: RawFd, path: &std::path::Path) -> io::Result<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let c = crate::op::cpath(path)?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: `c` is NUL-terminated; `buf` is writable for its length.
    let n = cvt(
        unsafe { libc::readlinkat(dirfd, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) }
            as libc::c_long,
    )? as usize;
    buf.truncate(n);
    Ok(PathBuf::from(std::ffi::OsString::from_vec(buf)))
}

/// Truncates or extends `fd` to `len` bytes: a direct `ftruncate(2)` (the
/// io_uring opcode needs kernel 6.9).
///
/// # Errors
///
/// The error of `ftruncate`.
pub fn ftruncate(fd: RawFd, len: u64) -> io::Result<()> {
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: ftruncate takes no pointer.
    cvt(unsafe { libc::ftruncate(fd, len) } as libc::c_long).map(drop)
}

/// Metadata through `fstatat(2)` where `statx` is missing.
#[cfg(not(target_os = "linux"))]
pub(crate) fn fstatat(
    dirfd: RawFd,
    path: &std::ffi::CString,
    flags: i32,
) -> io::Result<crate::op::StatxBuf> {
    // SAFETY: stat is plain old data; all-zero is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if path.as_bytes().is_empty() {
        // `dirfd` itself (`AT_EMPTY_PATH`), which may be no directory, so
        // not `fstatat(dirfd, ".")`.
        // SAFETY: `st` is a live stat.
        cvt(unsafe { libc::fstat(dirfd, &raw mut st) } as libc::c_long)?;
    } else {
        // SAFETY: `path` is NUL-terminated, `st` a live stat.
        cvt(unsafe { libc::fstatat(dirfd, path.as_ptr(), &raw mut st, flags) } as libc::c_long)?;
    }
    let t = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
    Ok(crate::op::StatxBuf {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        mode: u32::from(st.st_mode),
        nlink: st.st_nlink as u64,
        uid: st.st_uid,
        gid: st.st_gid,
        size: st.st_size as u64,
        blksize: st.st_blksize as u32,
        blocks: st.st_blocks as u64,
        atime_ns: t(st.st_atime, st.st_atime_nsec),
        mtime_ns: t(st.st_mtime, st.st_mtime_nsec),
        ctime_ns: t(st.st_ctime, st.st_ctime_nsec),
    })
}

/// Splice where the OS has none: `pread`/`read` into a buffer, then
/// `pwrite`/`write` what was read (direct syscalls).
#[cfg(not(target_os = "linux"))]
pub(crate) fn copy_through_buffer(
    fd_in: RawFd,
    off_in: i64,
    fd_out: RawFd,
    off_out: i64,
    len: usize,
) -> io::Result<u32> {
    let mut buf = vec![0u8; len.min(64 * 1024)];
    let n = crate::op::read::pread(
        fd_in,
        buf.as_mut_ptr(),
        buf.len(),
        if off_in < 0 { u64::MAX } else { off_in as u64 },
    )? as usize;
    let r = if off_out < 0 {
        // SAFETY: `buf` holds `n` initialised bytes.
        unsafe { libc::write(fd_out, buf.as_ptr().cast(), n) }
    } else {
        // SAFETY: as above.
        unsafe { libc::pwrite(fd_out, buf.as_ptr().cast(), n, off_out as libc::off_t) }
    };
    cvt(r as libc::c_long)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_round_trips() {
        for a in ["127.0.0.1:8080", "[::1]:443", "[fe80::1%2]:9"] {
            let a: SocketAddr = a.parse().expect("valid literal");
            assert_eq!(SockAddr::from_std(a).decode(), Some(a));
        }
    }
}
