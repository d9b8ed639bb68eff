//! The per-instance table of guest file descriptors.
//!
//! Numbers are allocated as wasmtime does: the highest previously freed number
//! first, otherwise one past the highest in use. Each entry carries its WASI
//! rights; operations check them before touching the host fd.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use ringwasm_reactor::Target;

use crate::error::Errno;
use crate::p1::types::{filetype, rights};

/// What a guest fd refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdKind {
    /// The guest's stdin (0), stdout (1) or stderr (2): a stream, never
    /// seekable, whatever the host fd is (wasmtime's view).
    Stdio,
    /// A regular file, device or pipe opened by path.
    File,
    /// A directory; `preopen` is its guest name when it was preopened.
    Dir {
        /// The guest path it was preopened as.
        preopen: Option<String>,
    },
    /// A socket.
    Socket,
}

/// One open guest descriptor.
#[derive(Debug)]
pub struct FdEntry {
    /// The host descriptor.
    pub host: OwnedFd,
    /// What it is.
    pub kind: FdKind,
    /// Its WASI `filetype`.
    pub filetype: u8,
    /// WASI `fdflags` the guest set (append, nonblock, ...).
    pub flags: u16,
    /// Rights of this descriptor.
    pub rights_base: u64,
    /// Rights that descriptors opened through this one may have.
    pub rights_inheriting: u64,
    /// How reads and writes reach the kernel (learned as the fd is used).
    pub(crate) route: Cell<Route>,
    /// Writes to a regular file: `None` until the first write tells whether
    /// the file system completes buffered writes without blocking
    /// (`RWF_NOWAIT`); see [`crate::fs::file::write_direct`].
    pub(crate) writes_direct: Cell<Option<bool>>,
}

/// Reads and writes on one fd made after this many go through the inline
/// ring's registered-file table (registering costs one `io_uring_register`,
/// which a file opened for one read and one write would not win back).
pub(crate) const REGISTER_AFTER: u16 = 4;

/// How an fd's reads and writes reach the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// The registered file, once registered (see [`REGISTER_AFTER`]).
    pub(crate) fixed: Option<Target>,
    /// Reads and writes so far, up to [`REGISTER_AFTER`].
    pub(crate) ios: u16,
}

impl Route {
    const NEW: Self = Self {
        fixed: None,
        ios: 0,
    };
}

impl FdEntry {
    /// A new entry with the widest rights its kind allows.
    pub fn new(host: OwnedFd, kind: FdKind, filetype: u8) -> Self {
        let (base, inheriting) = match (&kind, filetype) {
            (FdKind::Dir { .. }, _) => (rights::DIRECTORY, rights::ALL),
            (_, filetype::REGULAR_FILE) => (rights::FILE, 0),
            _ => (rights::STREAM, 0),
        };
        FdEntry {
            host,
            kind,
            filetype,
            flags: 0,
            rights_base: base,
            rights_inheriting: inheriting,
            route: Cell::new(Route::NEW),
            writes_direct: Cell::new(None),
        }
    }

    /// The op target for this fd's next read or write: after
    /// [`REGISTER_AFTER`] of them, its slot in the inline ring's
    /// registered-file table (when there is room).
    pub(crate) fn io_target(&self, inline: &ringwasm_reactor::inline::Inline) -> Target {
        let mut r = self.route.get();
        if let Some(t) = r.fixed {
            return t;
        }
        let raw = self.host.as_raw_fd();
        if r.ios < REGISTER_AFTER {
            r.ios += 1;
            self.route.set(r);
            return Target::Fd(raw);
        }
        let t = inline.register(raw);
        if matches!(t, Target::Fixed(_)) {
            r.fixed = Some(t);
            self.route.set(r);
        }
        t
    }

    /// Releases this fd's registered-file slot, if it has one: due before
    /// the host fd is closed, or the ring would keep the file open.
    pub(crate) fn release(&self, inline: &ringwasm_reactor::inline::Inline) {
        let mut r = self.route.get();
        if let Some(t) = r.fixed.take() {
            inline.unregister(t);
            self.route.set(r);
        }
    }

    /// The host fd, borrowed.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.host.as_fd()
    }

    /// Fails with [`Errno::Notcapable`] unless every right in `need` is held.
    ///
    /// # Errors
    ///
    /// [`Errno::Notcapable`].
    pub fn require(&self, need: u64) -> Result<(), Errno> {
        if self.rights_base & need == need {
            Ok(())
        } else {
            Err(Errno::Notcapable)
        }
    }

    /// Fails with [`Errno::Badf`] when this fd cannot do a read or write
    /// (`need` is `FD_READ` or `FD_WRITE`): POSIX's answer, and wasmtime's.
    ///
    /// # Errors
    ///
    /// [`Errno::Badf`] or [`Errno::Isdir`] for directories.
    pub fn require_io(&self, need: u64) -> Result<(), Errno> {
        if matches!(self.kind, FdKind::Dir { .. }) {
            return Err(Errno::Badf);
        }
        if self.rights_base & need == need {
            Ok(())
        } else {
            Err(Errno::Badf)
        }
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, FdKind::Dir { .. })
    }
}

/// The guest's descriptors, by number.
#[derive(Debug, Default)]
pub struct FdTable {
    used: BTreeMap<u32, FdEntry>,
    free: BTreeSet<u32>,
}

impl FdTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts `entry` at the next free number.
    ///
    /// # Errors
    ///
    /// [`Errno::Mfile`] when all 2^32 numbers are taken.
    pub fn push(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        let fd = match self.free.pop_last() {
            Some(fd) => fd,
            None => match self.used.last_key_value() {
                None => 0,
                Some((&last, _)) => last.checked_add(1).ok_or(Errno::Mfile)?,
            },
        };
        self.used.insert(fd, entry);
        Ok(fd)
    }

    /// The entry for `fd`.
    ///
    /// # Errors
    ///
    /// [`Errno::Badf`] when `fd` is not open.
    pub fn get(&self, fd: u32) -> Result<&FdEntry, Errno> {
        self.used.get(&fd).ok_or(Errno::Badf)
    }

    /// The entry for `fd`, mutable.
    ///
    /// # Errors
    ///
    /// [`Errno::Badf`] when `fd` is not open.
    pub fn get_mut(&mut self, fd: u32) -> Result<&mut FdEntry, Errno> {
        self.used.get_mut(&fd).ok_or(Errno::Badf)
    }

    /// The entry for `fd`, which must be a directory.
    ///
    /// # Errors
    ///
    /// [`Errno::Badf`] when not open, [`Errno::Notdir`] when not a directory.
    pub fn dir(&self, fd: u32) -> Result<&FdEntry, Errno> {
        let e = self.get(fd)?;
        if e.is_dir() {
            Ok(e)
        } else {
            Err(Errno::Notdir)
        }
    }

    /// Removes and returns `fd`.
    ///
    /// # Errors
    ///
    /// [`Errno::Badf`] when `fd` is not open.
    pub fn remove(&mut self, fd: u32) -> Result<FdEntry, Errno> {
        let e = self.used.remove(&fd).ok_or(Errno::Badf)?;
        self.free.insert(fd);
        Ok(e)
    }

    /// `fd_renumber`: moves `from` onto `to`, closing what `to` held.
    ///
    /// # Errors
    ///
    /// [`Errno::Badf`] when either is not open.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        if !self.used.contains_key(&from) || !self.used.contains_key(&to) {
            return Err(Errno::Badf);
        }
        if from == to {
            return Ok(());
        }
        let e = self.remove(from)?;
        self.used.insert(to, e);
        Ok(())
    }

    /// Open descriptors in number order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &FdEntry)> {
        self.used.iter().map(|(k, v)| (*k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> FdEntry {
        let f = std::fs::File::open("/dev/null").expect("/dev/null exists");
        FdEntry::new(f.into(), FdKind::File, filetype::CHARACTER_DEVICE)
    }

    #[test]
    fn numbers_reuse_the_highest_freed_first() {
        let mut t = FdTable::new();
        for want in 0..5 {
            assert_eq!(t.push(entry()).unwrap(), want);
        }
        t.remove(1).unwrap();
        t.remove(3).unwrap();
        assert_eq!(t.push(entry()).unwrap(), 3);
        assert_eq!(t.push(entry()).unwrap(), 1);
        assert_eq!(t.push(entry()).unwrap(), 5);
        assert_eq!(t.remove(9).unwrap_err(), Errno::Badf);
    }

    #[test]
    fn renumber_replaces_and_frees() {
        let mut t = FdTable::new();
        t.push(entry()).unwrap();
        t.push(entry()).unwrap();
        t.renumber(0, 1).unwrap();
        assert_eq!(t.get(0).unwrap_err(), Errno::Badf);
        assert!(t.get(1).is_ok());
        assert_eq!(t.renumber(0, 1).unwrap_err(), Errno::Badf);
        assert_eq!(t.renumber(1, 7).unwrap_err(), Errno::Badf);
    }

    #[test]
    fn rights_are_enforced() {
        let mut e = entry();
        e.rights_base = rights::FD_READ;
        assert!(e.require(rights::FD_READ).is_ok());
        assert_eq!(e.require(rights::FD_SEEK).unwrap_err(), Errno::Notcapable);
        assert_eq!(e.require_io(rights::FD_WRITE).unwrap_err(), Errno::Badf);
    }
}
