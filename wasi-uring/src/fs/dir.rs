//! Operations by path beneath a directory descriptor.
//!
//! Every path is resolved by [`crate::preopen`]'s sandbox (`..`, absolute
//! paths and symlinks never leave the directory, [`ESCAPE`] otherwise);
//! the final directory operation (`mkdirat`, `unlinkat`, `renameat`,
//! `symlinkat`, `linkat`, `openat2`, `statx`) on the resolved parent is a
//! reactor op run by [`Inline`]. The special cases (a final `.` or `..`,
//! trailing slashes, symlinks in the final component) give the errno
//! wasmtime's `cap-std` gives, so a guest sees the same answer from
//! Preview 1 and 0.2 and from either runtime.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use ringwasm_reactor::inline::Inline;
use ringwasm_reactor::op::{LinkAt, MkDirAt, RenameAt, Statx, SymlinkAt, UnlinkAt};
use rustix::fs::{AtFlags, Mode, OFlags, Timestamps};

use crate::error::Errno;
use crate::fs::{FileKind, Stat, errno, io_errno};
use crate::preopen::{ESCAPE, OpenHow, Resolution, open_beneath_on, open_parent};

/// Flags that open a file only to name it (stat it), never to read it.
#[cfg(target_os = "linux")]
const STAT_ONLY: OFlags = OFlags::PATH;
#[cfg(not(target_os = "linux"))]
const STAT_ONLY: OFlags = OFlags::RDONLY.union(OFlags::NONBLOCK);

/// The mode of a file `open` creates (before the umask), as `cap-std`.
const FILE_MODE: u32 = 0o666;

/// The mode of a directory `create_directory` makes (before the umask).
const DIR_MODE: u32 = 0o777;

/// How to open a file by path: the host side of P1's `oflags`/`fdflags`
/// and rights, and of 0.2's `open-flags`/`descriptor-flags`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Create the file if it does not exist (`O_CREAT`).
    pub create: bool,
    /// With `create`: fail if it exists (`O_EXCL`).
    pub exclusive: bool,
    /// Truncate to size 0 (`O_TRUNC`).
    pub truncate: bool,
    /// Fail unless it is a directory (`O_DIRECTORY`).
    pub directory: bool,
    /// Writes go to the end (`O_APPEND`).
    pub append: bool,
    /// Reads and writes never wait (`O_NONBLOCK`).
    pub nonblock: bool,
    /// Follow a symlink in the final component (inside the sandbox).
    pub follow: bool,
}

/// One entry of a directory, as `getdents` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The name, as the file system stores it (not always UTF-8).
    pub name: Vec<u8>,
    /// Inode number.
    pub ino: u64,
    /// What it is (the entry's own type: a symlink is a symlink).
    pub kind: FileKind,
}

/// A directory descriptor beneath which paths resolve, with the resolver
/// and the ring that run the operations.
#[derive(Clone, Copy, Debug)]
pub struct Dir<'a> {
    inline: &'a Inline,
    res: Resolution,
    fd: BorrowedFd<'a>,
}

/// Whether the final component is `.` or `..` (the path names a directory
/// that has no name of its own in a parent we may touch).
fn is_dots(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    last == "." || last == ".."
}

impl<'a> Dir<'a> {
    /// Paths beneath `fd`, resolved by `res`, ops run by `inline`.
    pub fn new(inline: &'a Inline, res: Resolution, fd: BorrowedFd<'a>) -> Self {
        Dir { inline, res, fd }
    }

    /// The directory descriptor.
    pub fn fd(&self) -> BorrowedFd<'a> {
        self.fd
    }

    fn open_how(&self, path: &str, how: OpenHow) -> Result<OwnedFd, Errno> {
        open_beneath_on(self.inline, self.res, self.fd, path, how)
    }

    /// Resolves `path` (ending in `.` or `..`, or in `/`) as a directory:
    /// the sandbox's errno ([`ESCAPE`] for an escape) when it cannot.
    fn existing_dir(&self, path: &str) -> Result<(), Errno> {
        let how = OpenHow {
            flags: STAT_ONLY | OFlags::DIRECTORY,
            mode: Mode::empty(),
            follow: true,
        };
        self.open_how(path, how).map(drop)
    }

    /// Whether `path` names a symlink itself.
    fn is_symlink(&self, path: &str) -> bool {
        open_parent(self.res, self.fd, path).is_ok_and(|p| {
            !p.trailing_slash
                && rustix::fs::statat(p.dir(), p.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| {
                        FileKind::from_file_type(rustix::fs::FileType::from_raw_mode(st.st_mode))
                            == FileKind::SymbolicLink
                    })
        })
    }

    /// Creates the directory `path` (`mkdirat`, mode 0777 before the umask).
    /// `.` or `..` name a directory that exists: [`Errno::Exist`].
    ///
    /// # Errors
    ///
    /// The host's errno, [`ESCAPE`] past the sandbox.
    pub fn create_directory(&self, path: &str) -> Result<(), Errno> {
        if is_dots(path) {
            self.existing_dir(path)?;
            return Err(Errno::Exist);
        }
        let p = open_parent(self.res, self.fd, path)?;
        let op = MkDirAt::new(p.dir().as_raw_fd(), p.name.as_str())
            .map_err(io_errno)?
            .mode(DIR_MODE);
        self.inline.run(op).map_err(io_errno)
    }

    /// Metadata of `path`; `follow` follows a symlink in the final
    /// component (inside the sandbox). A trailing `/` or a final `.` or
    /// `..` resolves through to the directory.
    ///
    /// # Errors
    ///
    /// The host's errno, [`ESCAPE`] past the sandbox.
    pub fn stat(&self, path: &str, follow: bool) -> Result<Stat, Errno> {
        let st = if follow
            || path.trim_end_matches('/').is_empty()
            || path.ends_with('/')
            || is_dots(path)
        {
            let how = OpenHow {
                flags: STAT_ONLY,
                mode: Mode::empty(),
                follow: true,
            };
            let f = self.open_how(path, how)?;
            self.inline.run(Statx::fd(f.as_raw_fd()))
        } else {
            let p = open_parent(self.res, self.fd, path)?;
            let op = Statx::new(p.dir().as_raw_fd(), p.name.as_str())
                .map_err(io_errno)?
                .flags(libc::AT_SYMLINK_NOFOLLOW);
            self.inline.run(op)
        };
        Ok(Stat::from(&st.map_err(io_errno)?))
    }

    /// Sets the access and modification times of `path`.
    ///
    /// # Errors
    ///
    /// The host's errno, [`ESCAPE`] past the sandbox.
    pub fn set_times(&self, path: &str, follow: bool, ts: &Timestamps) -> Result<(), Errno> {
        if follow || is_dots(path) || path.ends_with('/') {
            // Resolve (and follow) inside the sandbox, then set the times on
            // what was found: `utimensat` would follow a symlink anywhere.
            let how = OpenHow {
                flags: OFlags::RDONLY | OFlags::NONBLOCK,
                mode: Mode::empty(),
                follow: true,
            };
            let f = self.open_how(path, how)?;
            rustix::fs::futimens(&f, ts).map_err(errno)
        } else {
            let p = open_parent(self.res, self.fd, path)?;
            rustix::fs::utimensat(p.dir(), p.name.as_str(), ts, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno)
        }
    }

    /// Makes `new_path` beneath `new` a hard link to `old_path`. Following a
    /// symlink in `old_path` is [`Errno::Inval`] (as wasmtime):
    /// `linkat(AT_SYMLINK_FOLLOW)` would follow it outside the sandbox. A
    /// final `.` or `..` is a directory: [`Errno::Perm`] as the source,
    /// [`Errno::Exist`] as the target.
    ///
    /// # Errors
    ///
    /// The host's errno, [`ESCAPE`] past the sandbox.
    pub fn link(
        &self,
        old_path: &str,
        follow: bool,
        new: &Dir<'_>,
        new_path: &str,
    ) -> Result<(), Errno> {
        if follow {
            return Err(Errno::Inval);
        }
        // A final `.` or `..` names a directory: it cannot be linked
        // (EPERM), nor linked over (EEXIST).
        if is_dots(old_path) {
            self.existing_dir(old_path)?;
            return Err(Errno::Perm);
        }
        let op = open_parent(self.res, self.fd, old_path)?;
        if is_dots(new_path) {
            new.existing_dir(new_path)?;
            return Err(Errno::Exist);
        }
        let np = open_parent(new.res, new.fd, new_path)?;
        if op.trailing_slash {
            // `file/` is ENOTDIR; a directory cannot be hard-linked (EPERM).
            self.existing_dir(old_path)?;
            return Err(Errno::Perm);
        }
        if np.trailing_slash {
            return Err(Errno::Noent);
        }
        let link = LinkAt::new(
            op.dir().as_raw_fd(),
            op.name.as_str(),
            np.dir().as_raw_fd(),
            np.name.as_str(),
        )
        .map_err(io_errno)?;
        self.inline.run(link).map_err(io_errno)
    }

    /// Opens `path` as `opts` says; returns the descriptor and its kind.
    ///
    /// Creating, excluding or truncating together with `directory` is
    /// [`Errno::Inval`]; creating `name/` is [`Errno::Isdir`] (the kernel's
    /// answer, which the checked walk would give as ENOENT); `directory`
    /// on a symlink not followed is [`Errno::Loop`] (the kernel says
    /// ENOTDIR, wasmtime ELOOP: the link was not followed).
    ///
    /// # Errors
    ///
    /// As above, the host's errno, [`ESCAPE`] past the sandbox.
    pub fn open(&self, path: &str, opts: &OpenOptions) -> Result<(OwnedFd, FileKind), Errno> {
        if opts.directory && (opts.create || opts.exclusive || opts.truncate) {
            return Err(Errno::Inval);
        }
        if opts.create && path.ends_with('/') {
            return Err(Errno::Isdir);
        }
        let mut flags = match (opts.read, opts.write) {
            (_, false) => OFlags::RDONLY,
            (false, true) => OFlags::WRONLY,
            (true, true) => OFlags::RDWR,
        };
        for (on, host) in [
            (opts.create, OFlags::CREATE),
            (opts.create && opts.exclusive, OFlags::EXCL),
            (opts.truncate, OFlags::TRUNC),
            (opts.directory, OFlags::DIRECTORY),
            (opts.append, OFlags::APPEND),
            (opts.nonblock, OFlags::NONBLOCK),
        ] {
            if on {
                flags |= host;
            }
        }
        let how = OpenHow {
            flags,
            mode: Mode::from_bits_truncate(FILE_MODE as _),
            follow: opts.follow,
        };
        let fd = match self.open_how(path, how) {
            Err(Errno::Notdir) if opts.directory && !opts.follow && self.is_symlink(path) => {
                return Err(Errno::Loop);
            }
            r => r?,
        };
        let kind = FileKind::of_fd(rustix::fd::AsFd::as_fd(&fd))?;
        Ok((fd, kind))
    }

    /// The target of the symlink `path`. A target that is an absolute path
    /// is [`ESCAPE`] (as wasmtime's `cap-std`: it could only lead out); a
    /// final `.` or `..` is a directory, [`Errno::Inval`].
    ///
    /// # Errors
    ///
    /// [`Errno::Inval`] when `path` is no symlink; the host's errno.
    pub fn readlink(&self, path: &str) -> Result<Vec<u8>, Errno> {
        if is_dots(path) {
            // A directory, which is no symlink.
            self.existing_dir(path)?;
            return Err(Errno::Inval);
        }
        let p = open_parent(self.res, self.fd, path)?;
        if p.trailing_slash {
            // `link/` names what the link points to, which is no link: EINVAL
            // for a directory, the resolution's errno (ENOTDIR) otherwise.
            self.existing_dir(path)?;
            return Err(Errno::Inval);
        }
        let target = rustix::fs::readlinkat(p.dir(), p.name.as_str(), Vec::new()).map_err(errno)?;
        let bytes = target.into_bytes();
        if bytes.first() == Some(&b'/') {
            return Err(ESCAPE);
        }
        Ok(bytes)
    }

    /// Removes the empty directory `path`. A final `.` or `..` is
    /// [`Errno::Inval`] (past the sandbox, [`ESCAPE`]).
    ///
    /// # Errors
    ///
    /// The host's errno, [`ESCAPE`] past the sandbox.
    pub fn remove_directory(&self, path: &str) -> Result<(), Errno> {
        if is_dots(path) {
            self.existing_dir(path)?;
            return Err(Errno::Inval);
        }
        let p = open_parent(self.res, self.fd, path)?;
        let op = UnlinkAt::new(p.dir().as_raw_fd(), p.name.as_str())
            .map_err(io_errno)?
            .dir(true);
        self.inline.run(op).map_err(io_errno)
    }

    /// Renames `old_path` to `new_path` beneath `new`. A final `.` or `..`
    /// on either side is [`Errno::Busy`], the kernel's answer (past the
    /// sandbox, [`ESCAPE`]); a trailing `/` on either side requires the
    /// source to be a directory.
    ///
    /// # Errors
    ///
    /// The host's errno, [`ESCAPE`] past the sandbox.
    pub fn rename(&self, old_path: &str, new: &Dir<'_>, new_path: &str) -> Result<(), Errno> {
        if is_dots(old_path) {
            self.existing_dir(old_path)?;
            return Err(Errno::Busy);
        }
        let op = open_parent(self.res, self.fd, old_path)?;
        if is_dots(new_path) {
            new.existing_dir(new_path)?;
            return Err(Errno::Busy);
        }
        let np = open_parent(new.res, new.fd, new_path)?;
        if op.trailing_slash || np.trailing_slash {
            let st = rustix::fs::statat(op.dir(), op.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno)?;
            if FileKind::from_file_type(rustix::fs::FileType::from_raw_mode(st.st_mode))
                != FileKind::Directory
            {
                return Err(Errno::Notdir);
            }
        }
        let rename = RenameAt::new(
            op.dir().as_raw_fd(),
            op.name.as_str(),
            np.dir().as_raw_fd(),
            np.name.as_str(),
        )
        .map_err(io_errno)?;
        self.inline.run(rename).map_err(io_errno)
    }

    /// Creates the symlink `path` pointing at `target`, stored as given. An
    /// absolute target is [`ESCAPE`]: it could only lead out. (Resolution
    /// never follows a relative one out either.) A final `.` or `..`
    /// exists: [`Errno::Exist`].
    ///
    /// # Errors
    ///
    /// The host's errno, [`ESCAPE`] past the sandbox.
    pub fn symlink(&self, target: &str, path: &str) -> Result<(), Errno> {
        if target.contains('\0') {
            return Err(Errno::Ilseq);
        }
        if target.starts_with('/') {
            return Err(ESCAPE);
        }
        if is_dots(path) {
            // A directory that exists.
            self.existing_dir(path)?;
            return Err(Errno::Exist);
        }
        let p = open_parent(self.res, self.fd, path)?;
        if p.trailing_slash {
            return Err(Errno::Noent);
        }
        let op = SymlinkAt::new(target, p.dir().as_raw_fd(), p.name.as_str()).map_err(io_errno)?;
        self.inline.run(op).map_err(io_errno)
    }

    /// Removes the file or symlink `path`. A directory (or `.`, `..`, or a
    /// trailing `/` through a link to one) is [`Errno::Isdir`].
    ///
    /// # Errors
    ///
    /// The host's errno, [`ESCAPE`] past the sandbox.
    pub fn unlink_file(&self, path: &str) -> Result<(), Errno> {
        if is_dots(path) {
            self.existing_dir(path)?;
            return Err(Errno::Isdir);
        }
        let p = open_parent(self.res, self.fd, path)?;
        if p.trailing_slash {
            // A trailing `/` resolves through a symlink: a directory (or a
            // link to one) is EISDIR, anything else ENOTDIR, as the kernel
            // and wasmtime say; resolved inside the sandbox.
            self.existing_dir(path)?;
            return Err(Errno::Isdir);
        }
        let op = UnlinkAt::new(p.dir().as_raw_fd(), p.name.as_str()).map_err(io_errno)?;
        self.inline.run(op).map_err(io_errno)
    }

    /// Every entry of this directory, `.` and `..` included, in `getdents`
    /// order (from the start, whatever this descriptor's position).
    /// `getdents` has no io_uring opcode: direct syscalls.
    ///
    /// # Errors
    ///
    /// The host's errno.
    pub fn entries(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut dir = rustix::fs::Dir::read_from(self.fd).map_err(errno)?;
        let mut out = Vec::new();
        while let Some(ent) = dir.read() {
            let ent = ent.map_err(errno)?;
            let mut kind = FileKind::from_file_type(ent.file_type());
            if ent.file_type() == rustix::fs::FileType::Unknown
                && let Ok(st) =
                    rustix::fs::statat(self.fd, ent.file_name(), AtFlags::SYMLINK_NOFOLLOW)
            {
                kind = FileKind::from_file_type(rustix::fs::FileType::from_raw_mode(st.st_mode));
            }
            out.push(DirEntry {
                name: ent.file_name().to_bytes().to_vec(),
                ino: ent.ino(),
                kind,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{Io, IoChoice};

    fn with_dir(f: impl Fn(&Dir<'_>, &std::path::Path)) {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("f"), b"x").expect("file");
        std::os::unix::fs::symlink("/etc", tmp.path().join("abs")).expect("symlink");
        let io = Io::new(IoChoice::Epoll).expect("epoll");
        let inline = Inline::new(io.driver());
        let root = std::fs::File::open(tmp.path()).expect("open");
        for res in [Resolution::Walk, Resolution::detect()] {
            let d = Dir::new(&inline, res, rustix::fd::AsFd::as_fd(&root));
            f(&d, tmp.path());
        }
    }

    #[test]
    fn dots_give_the_errno_of_an_existing_directory() {
        with_dir(|d, _| {
            assert_eq!(d.create_directory("."), Err(Errno::Exist));
            assert_eq!(d.create_directory(".."), Err(ESCAPE));
            assert_eq!(d.remove_directory("."), Err(Errno::Inval));
            assert_eq!(d.unlink_file("."), Err(Errno::Isdir));
            assert_eq!(d.rename(".", d, "x"), Err(Errno::Busy));
            assert_eq!(d.rename("f", d, ".."), Err(ESCAPE));
        });
    }

    #[test]
    fn absolute_symlink_targets_are_escapes() {
        with_dir(|d, _| {
            assert_eq!(d.readlink("abs"), Err(ESCAPE));
            assert_eq!(d.symlink("/etc", "new"), Err(ESCAPE));
            assert_eq!(d.symlink("f", "rel"), Ok(()));
            assert_eq!(d.readlink("rel"), Ok(b"f".to_vec()));
            assert_eq!(d.unlink_file("rel"), Ok(()));
        });
    }

    #[test]
    fn open_options_combine_as_wasmtime() {
        with_dir(|d, p| {
            let dir_create = OpenOptions {
                directory: true,
                create: true,
                ..OpenOptions::default()
            };
            assert_eq!(d.open("x", &dir_create).map(|o| o.1), Err(Errno::Inval));
            let create = OpenOptions {
                create: true,
                write: true,
                ..OpenOptions::default()
            };
            assert_eq!(d.open("x/", &create).map(|o| o.1), Err(Errno::Isdir));
            // `exclusive` means nothing without `create`.
            let excl = OpenOptions {
                read: true,
                exclusive: true,
                ..OpenOptions::default()
            };
            assert_eq!(d.open("f", &excl).map(|o| o.1), Ok(FileKind::RegularFile));
            let (fd, kind) = d.open("new", &create).expect("create");
            assert_eq!(kind, FileKind::RegularFile);
            drop(fd);
            assert!(p.join("new").exists());
            std::fs::remove_file(p.join("new")).expect("clean up");
        });
    }

    #[test]
    fn entries_list_dots_and_types() {
        with_dir(|d, _| {
            let mut names: Vec<(Vec<u8>, FileKind)> = d
                .entries()
                .expect("entries")
                .into_iter()
                .map(|e| (e.name, e.kind))
                .collect();
            names.sort();
            assert_eq!(
                names,
                vec![
                    (b".".to_vec(), FileKind::Directory),
                    (b"..".to_vec(), FileKind::Directory),
                    (b"abs".to_vec(), FileKind::SymbolicLink),
                    (b"f".to_vec(), FileKind::RegularFile),
                ]
            );
        });
    }
}
