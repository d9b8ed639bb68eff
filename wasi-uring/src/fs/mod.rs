//! The file-system backend every WASI version shares.
//!
//! Preview 1 (`p1::fd`, `p1::path`) and WASI 0.2 (`p2::filesystem`) are
//! thin layers over this module: they check their own rules (P1's rights,
//! 0.2's descriptor flags), read their arguments, call one function here and
//! turn the result into their ABI. So each behaviour — the sandbox, the
//! special cases that match wasmtime (`.`, `..`, trailing slashes, symlinks
//! in the final component), which syscall or reactor op does the work, and
//! the errno it reports — is written once, and every version agrees.
//!
//! - [`Dir`]: everything done by path beneath a directory descriptor,
//!   resolved by the sandbox of [`crate::preopen`];
//! - [`file`](mod@file): operations on an open descriptor (stat, sync, advise, size,
//!   times, and the routing of reads and writes);
//! - [`Stat`] and [`FileKind`]: metadata in host terms, which each version
//!   encodes in its own types.
//!
//! Errors are the one guest-visible [`Errno`] (the host's errno through
//! [`crate::errno`]); WASI 0.2's `error-code` is a projection of it.

pub mod dir;
pub mod file;

pub use dir::{Dir, DirEntry, OpenOptions};

use std::os::fd::{AsRawFd, BorrowedFd};

use ringwasm_reactor::inline::Inline;
use ringwasm_reactor::op::{Statx, StatxBuf};
use rustix::fs::FileType;

use crate::error::Errno;

/// What kind of object a descriptor or a directory entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// Something else, or not known.
    Unknown,
    /// A block device.
    BlockDevice,
    /// A character device.
    CharacterDevice,
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A symbolic link.
    SymbolicLink,
    /// A regular file.
    RegularFile,
    /// A socket.
    Socket,
}

impl FileKind {
    /// The kind of a host file type.
    pub fn from_file_type(ft: FileType) -> FileKind {
        match ft {
            FileType::RegularFile => FileKind::RegularFile,
            FileType::Directory => FileKind::Directory,
            FileType::Symlink => FileKind::SymbolicLink,
            FileType::CharacterDevice => FileKind::CharacterDevice,
            FileType::BlockDevice => FileKind::BlockDevice,
            FileType::Fifo => FileKind::Fifo,
            FileType::Socket => FileKind::Socket,
            _ => FileKind::Unknown,
        }
    }

    /// The kind in the `S_IFMT` bits of a host `st_mode`.
    pub fn from_mode(mode: u32) -> FileKind {
        // `mode_t` is 16 bits on macOS; the file type bits fit.
        Self::from_file_type(FileType::from_raw_mode(mode as rustix::fs::RawMode))
    }

    /// The kind of the open descriptor `fd` (one `fstat`).
    ///
    /// # Errors
    ///
    /// The host errno of `fstat`.
    pub fn of_fd(fd: BorrowedFd<'_>) -> Result<FileKind, Errno> {
        let st = rustix::fs::fstat(fd).map_err(errno)?;
        Ok(Self::from_file_type(FileType::from_raw_mode(st.st_mode)))
    }
}

/// Metadata of a file, host side: what `statx` reports that some WASI
/// version passes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Device of the containing file system.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// What it is.
    pub kind: FileKind,
    /// Hard links.
    pub nlink: u64,
    /// Size in bytes (for a symlink, the length of its target).
    pub size: u64,
    /// Last access, nanoseconds since the epoch (negative before it).
    pub atime_ns: i128,
    /// Last modification, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Last status change, nanoseconds since the epoch.
    pub ctime_ns: i128,
}

impl From<&StatxBuf> for Stat {
    fn from(st: &StatxBuf) -> Stat {
        Stat {
            dev: st.dev,
            ino: st.ino,
            kind: FileKind::from_mode(st.mode),
            nlink: st.nlink,
            size: st.size,
            atime_ns: st.atime_ns,
            mtime_ns: st.mtime_ns,
            ctime_ns: st.ctime_ns,
        }
    }
}

/// Metadata of the open descriptor `fd`: a reactor `Statx` op.
///
/// # Errors
///
/// The host errno.
pub fn stat_fd(inline: &Inline, fd: BorrowedFd<'_>) -> Result<Stat, Errno> {
    let st = inline
        .run(Statx::fd(fd.as_raw_fd()))
        .map_err(|e| crate::errno::from_io(&e))?;
    Ok(Stat::from(&st))
}

/// A rustix errno as the guest's.
pub(crate) fn errno(e: rustix::io::Errno) -> Errno {
    crate::errno::from_raw_os(e.raw_os_error())
}

/// An `io::Error` as the guest's errno.
pub(crate) fn io_errno(e: std::io::Error) -> Errno {
    crate::errno::from_io(&e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_mode_bits() {
        assert_eq!(FileKind::from_mode(0o100644), FileKind::RegularFile);
        assert_eq!(FileKind::from_mode(0o040755), FileKind::Directory);
        assert_eq!(FileKind::from_mode(0o120777), FileKind::SymbolicLink);
        assert_eq!(FileKind::from_mode(0o010600), FileKind::Fifo);
        assert_eq!(FileKind::from_mode(0o140755), FileKind::Socket);
        assert_eq!(FileKind::from_mode(0o020666), FileKind::CharacterDevice);
        assert_eq!(FileKind::from_mode(0o060660), FileKind::BlockDevice);
        assert_eq!(FileKind::from_mode(0), FileKind::Unknown);
    }

    #[test]
    fn stat_of_an_open_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = std::fs::File::open(dir.path()).expect("open");
        let io = crate::io::Io::new(crate::io::IoChoice::Epoll).expect("epoll");
        let inline = Inline::new(io.driver());
        let st = stat_fd(&inline, std::os::fd::AsFd::as_fd(&f)).expect("stat");
        assert_eq!(st.kind, FileKind::Directory);
        assert!(st.nlink >= 2);
        assert!(st.mtime_ns > 0);
    }
}
