//! The Preview 1 ABI: constants and the byte layouts of the structs the guest
//! passes by pointer (all little-endian, naturally aligned).

/// `filetype`.
pub mod filetype {
    /// Type unknown.
    pub const UNKNOWN: u8 = 0;
    /// A block device.
    pub const BLOCK_DEVICE: u8 = 1;
    /// A character device.
    pub const CHARACTER_DEVICE: u8 = 2;
    /// A directory.
    pub const DIRECTORY: u8 = 3;
    /// A regular file.
    pub const REGULAR_FILE: u8 = 4;
    /// A datagram socket.
    pub const SOCKET_DGRAM: u8 = 5;
    /// A byte-stream socket.
    pub const SOCKET_STREAM: u8 = 6;
    /// A symbolic link.
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `fdflags`.
pub mod fdflags {
    /// Append mode.
    pub const APPEND: u16 = 1;
    /// Write according to synchronized I/O data integrity completion.
    pub const DSYNC: u16 = 2;
    /// Non-blocking mode.
    pub const NONBLOCK: u16 = 4;
    /// Synchronized read I/O.
    pub const RSYNC: u16 = 8;
    /// Write according to synchronized I/O file integrity completion.
    pub const SYNC: u16 = 16;
}

/// `oflags`.
pub mod oflags {
    /// Create the file if it does not exist.
    pub const CREAT: u16 = 1;
    /// Fail if not a directory.
    pub const DIRECTORY: u16 = 2;
    /// Fail if the file already exists.
    pub const EXCL: u16 = 4;
    /// Truncate to size 0.
    pub const TRUNC: u16 = 8;
}

/// `lookupflags`.
pub mod lookupflags {
    /// Follow a final symbolic link.
    pub const SYMLINK_FOLLOW: u32 = 1;
}

/// `fstflags`.
pub mod fstflags {
    /// Set the access time to the given value.
    pub const ATIM: u16 = 1;
    /// Set the access time to now.
    pub const ATIM_NOW: u16 = 2;
    /// Set the modification time to the given value.
    pub const MTIM: u16 = 4;
    /// Set the modification time to now.
    pub const MTIM_NOW: u16 = 8;
}

/// `rights`.
#[expect(
    missing_docs,
    reason = "one constant per right, named as the spec names it"
)]
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    /// Every right.
    pub const ALL: u64 = (1 << 30) - 1;
    /// What a regular file may ever have.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// What a directory may ever have: exactly wasmtime's set. No
    /// `PATH_FILESTAT_SET_SIZE` (truncating through `path_open(O_TRUNC)`
    /// needs no right, and a guest that sees the right tries
    /// `fd_fdstat_set_rights`, unsupported), and no sync or flag rights
    /// (`fd_sync`, `fd_datasync` and `fd_fdstat_set_flags` on a directory
    /// are `EBADF`).
    pub const DIRECTORY: u64 = PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// What a stream (stdio, pipe, socket) may ever have.
    pub const STREAM: u64 = FD_READ
        | FD_WRITE
        | FD_FDSTAT_SET_FLAGS
        | FD_FILESTAT_GET
        | POLL_FD_READWRITE
        | SOCK_SHUTDOWN
        | SOCK_ACCEPT;
}

/// `whence`.
pub mod whence {
    /// From the start.
    pub const SET: u8 = 0;
    /// From the current position.
    pub const CUR: u8 = 1;
    /// From the end.
    pub const END: u8 = 2;
}

/// `clockid`.
pub mod clockid {
    /// Wall clock.
    pub const REALTIME: u32 = 0;
    /// Monotonic clock.
    pub const MONOTONIC: u32 = 1;
    /// CPU time of the process.
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    /// CPU time of the thread.
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

/// `eventtype`.
pub mod eventtype {
    /// A clock timeout.
    pub const CLOCK: u8 = 0;
    /// Readable.
    pub const FD_READ: u8 = 1;
    /// Writable.
    pub const FD_WRITE: u8 = 2;
}

/// Byte sizes of the structs.
pub mod size {
    /// `iovec`/`ciovec`.
    pub const IOVEC: u32 = 8;
    /// `fdstat`.
    pub const FDSTAT: u32 = 24;
    /// `filestat`.
    pub const FILESTAT: u32 = 64;
    /// `prestat`.
    pub const PRESTAT: u32 = 8;
    /// `dirent` header (the name follows).
    pub const DIRENT: u32 = 24;
    /// `subscription`.
    pub const SUBSCRIPTION: u32 = 48;
    /// `event`.
    pub const EVENT: u32 = 32;
}

/// The scalar fields of each struct the host writes, `(offset, size)` in
/// declaration order: wiggle writes (and checks) a struct field by field,
/// so the first field that is misaligned or out of bounds is the trap, and
/// padding is never written.
pub mod fields {
    /// `fdstat`: filetype, flags, rights base, rights inheriting.
    pub const FDSTAT: &[(u32, u32)] = &[(0, 1), (2, 2), (8, 8), (16, 8)];
    /// `filestat`: dev, ino, filetype, nlink, size, atim, mtim, ctim.
    pub const FILESTAT: &[(u32, u32)] = &[
        (0, 8),
        (8, 8),
        (16, 1),
        (24, 8),
        (32, 8),
        (40, 8),
        (48, 8),
        (56, 8),
    ];
    /// `prestat`: the union's tag, then `prestat_dir.pr_name_len`.
    pub const PRESTAT: &[(u32, u32)] = &[(0, 1), (4, 4)];
    /// `event`: userdata, error, type, `fd_readwrite` (nbytes, flags).
    pub const EVENT: &[(u32, u32)] = &[(0, 8), (8, 2), (10, 1), (16, 8), (24, 2)];
}

/// A `filestat`, host side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filestat {
    /// Device id.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// `filetype`.
    pub filetype: u8,
    /// Hard links.
    pub nlink: u64,
    /// Size in bytes.
    pub size: u64,
    /// Access time, ns.
    pub atim: u64,
    /// Modification time, ns.
    pub mtim: u64,
    /// Status change time, ns.
    pub ctim: u64,
}

impl Filestat {
    /// The 64 guest bytes.
    pub fn encode(&self) -> [u8; size::FILESTAT as usize] {
        let mut b = [0u8; size::FILESTAT as usize];
        b[0..8].copy_from_slice(&self.dev.to_le_bytes());
        b[8..16].copy_from_slice(&self.ino.to_le_bytes());
        b[16] = self.filetype;
        b[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        b[32..40].copy_from_slice(&self.size.to_le_bytes());
        b[40..48].copy_from_slice(&self.atim.to_le_bytes());
        b[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        b[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        b
    }
}

/// An `fdstat`, host side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fdstat {
    /// `filetype`.
    pub filetype: u8,
    /// `fdflags`.
    pub flags: u16,
    /// Rights of this fd.
    pub rights_base: u64,
    /// Rights fds opened through this one may have.
    pub rights_inheriting: u64,
}

impl Fdstat {
    /// The 24 guest bytes.
    pub fn encode(&self) -> [u8; size::FDSTAT as usize] {
        let mut b = [0u8; size::FDSTAT as usize];
        b[0] = self.filetype;
        b[2..4].copy_from_slice(&self.flags.to_le_bytes());
        b[8..16].copy_from_slice(&self.rights_base.to_le_bytes());
        b[16..24].copy_from_slice(&self.rights_inheriting.to_le_bytes());
        b
    }
}

/// Encodes a `dirent` header: next cookie, inode, name length, type.
pub fn encode_dirent(
    next: u64,
    ino: u64,
    namlen: u32,
    filetype: u8,
) -> [u8; size::DIRENT as usize] {
    let mut b = [0u8; size::DIRENT as usize];
    b[0..8].copy_from_slice(&next.to_le_bytes());
    b[8..16].copy_from_slice(&ino.to_le_bytes());
    b[16..20].copy_from_slice(&namlen.to_le_bytes());
    b[20] = filetype;
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_witx_offsets() {
        let f = Filestat {
            dev: 1,
            ino: 2,
            filetype: 3,
            nlink: 4,
            size: 5,
            atim: 6,
            mtim: 7,
            ctim: 8,
        }
        .encode();
        assert_eq!(f[0], 1);
        assert_eq!(f[8], 2);
        assert_eq!(f[16], 3);
        assert_eq!(f[24], 4);
        assert_eq!(f[32], 5);
        assert_eq!(f[56], 8);
        let s = Fdstat {
            filetype: 4,
            flags: 1,
            rights_base: 2,
            rights_inheriting: 3,
        }
        .encode();
        assert_eq!((s[0], s[2], s[8], s[16]), (4, 1, 2, 3));
        let d = encode_dirent(9, 10, 3, 4);
        assert_eq!((d[0], d[8], d[16], d[20]), (9, 10, 3, 4));
        assert_eq!(rights::ALL.count_ones(), 30);
    }
}
