//! Preopened directories and the path sandbox.
//!
//! Every guest path is resolved relative to a directory fd the guest holds and
//! may never leave it: not through `..`, not as an absolute path, not through
//! a symlink (whatever its target, created by whom), not through a directory
//! renamed mid-walk. Two equivalent resolvers do this:
//!
//! - [`Resolution::OpenAt2`]: the kernel walks with `openat2(2)` and
//!   `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` (Linux ≥ 5.6);
//! - [`Resolution::Walk`]: a checked walk for kernels without `openat2` and
//!   for macOS (where `OpenAt2` also means this walk): one component at a time with `O_NOFOLLOW`, symlinks read and
//!   spliced in by us, `..` popped off our own stack of directory fds (the
//!   kernel never sees a `..`), absolute targets refused.
//!
//! Operations on a final component (`unlinkat`, `renameat`, `symlinkat`, ...)
//! first resolve the parent this way, then act on one plain name in it.

#[cfg(target_os = "linux")]
use std::os::fd::AsRawFd;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use ringwasm_reactor::inline::Inline;
#[cfg(target_os = "linux")]
use ringwasm_reactor::op::{OpenAt2, resolve};
#[cfg(target_os = "linux")]
use rustix::fs::ResolveFlags;
use rustix::fs::{Mode, OFlags};

use crate::error::Errno;

/// What an attempt to leave the sandbox returns (wasmtime's choice).
pub const ESCAPE: Errno = Errno::Perm;

/// How many symlinks a single walk may expand (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// A directory to preopen: `HOST[::GUEST]`, as `wasmtime run --dir`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreopenSpec {
    /// The host directory.
    pub host: PathBuf,
    /// The name the guest sees.
    pub guest: String,
}

impl PreopenSpec {
    /// Parses `HOST[::GUEST]`; without `::GUEST` the guest name is `HOST`.
    pub fn parse(s: &str) -> PreopenSpec {
        match s.split_once("::") {
            Some((host, guest)) => PreopenSpec {
                host: host.into(),
                guest: guest.to_owned(),
            },
            None => PreopenSpec {
                host: s.into(),
                guest: s.to_owned(),
            },
        }
    }
}

/// Which resolver the sandbox uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` (outside
    /// Linux, which has no `openat2`, the checked walk).
    OpenAt2,
    /// The checked component walk.
    Walk,
}

impl Resolution {
    /// `OpenAt2` when this kernel has it, else `Walk`.
    #[cfg(target_os = "linux")]
    pub fn detect() -> Resolution {
        let probe = rustix::fs::openat2(
            rustix::fs::CWD,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        );
        if probe.is_ok() {
            Resolution::OpenAt2
        } else {
            Resolution::Walk
        }
    }

    /// `Walk`: only Linux has `openat2`.
    #[cfg(not(target_os = "linux"))]
    pub fn detect() -> Resolution {
        Resolution::Walk
    }
}

/// Options of one open, host side.
#[derive(Clone, Copy, Debug)]
pub struct OpenHow {
    /// Host `O_*` flags (access mode, `O_CREAT`, ...); `O_NOFOLLOW` and
    /// `O_CLOEXEC` are added as needed.
    pub flags: OFlags,
    /// Mode for `O_CREAT`.
    pub mode: Mode,
    /// Follow a symlink in the final component.
    pub follow: bool,
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

/// Maps the errno of a sandboxed open: `EXDEV` from `RESOLVE_BENEATH` means
/// the path tried to leave the directory, which wasmtime reports as
/// [`ESCAPE`].
fn sandbox_errno(e: rustix::io::Errno) -> Errno {
    if e == rustix::io::Errno::XDEV {
        ESCAPE
    } else {
        crate::errno::from_raw_os(e.raw_os_error())
    }
}

/// Checks `path` and turns `how` into the flags and mode of the open.
fn prepare(path: &str, how: OpenHow) -> Result<(OFlags, Mode), Errno> {
    if path.is_empty() {
        return Err(Errno::Noent);
    }
    if path.starts_with('/') {
        return Err(ESCAPE);
    }
    // A NUL inside the path is EINVAL, as wasmtime (the kernel could not
    // even be asked).
    if path.contains('\0') {
        return Err(Errno::Inval);
    }
    let mut flags = how.flags | OFlags::CLOEXEC;
    // openat2 refuses a mode without O_CREAT.
    let mode = if flags.contains(OFlags::CREATE) {
        how.mode
    } else {
        Mode::empty()
    };
    if !how.follow {
        flags |= OFlags::NOFOLLOW;
    }
    Ok((flags, mode))
}

/// Opens `path` beneath `dir`.
///
/// # Errors
///
/// [`ESCAPE`] when the path would leave `dir`; the host's errno
/// otherwise.
pub fn open_beneath(
    res: Resolution,
    dir: BorrowedFd<'_>,
    path: &str,
    how: OpenHow,
) -> Result<OwnedFd, Errno> {
    let (flags, mode) = prepare(path, how)?;
    match res {
        #[cfg(target_os = "linux")]
        Resolution::OpenAt2 => rustix::fs::openat2(
            dir,
            path,
            flags,
            mode,
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        )
        .map_err(sandbox_errno),
        // Without openat2 the checked walk keeps the same guarantee.
        #[cfg(not(target_os = "linux"))]
        Resolution::OpenAt2 => walk(dir, path, flags, mode, how.follow),
        Resolution::Walk => walk(dir, path, flags, mode, how.follow),
    }
}

/// As [`open_beneath`], with the `openat2` run as a reactor `OpenAt2` op
/// (same `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`) by [`Inline`], which
/// makes it a direct syscall: the kernel would hand it to a worker thread;
/// the checked walk is unchanged.
///
/// # Errors
///
/// As [`open_beneath`].
#[cfg_attr(
    not(target_os = "linux"),
    expect(unused_variables, reason = "only the openat2 arm runs on the reactor")
)]
pub fn open_beneath_on(
    inline: &Inline,
    res: Resolution,
    dir: BorrowedFd<'_>,
    path: &str,
    how: OpenHow,
) -> Result<OwnedFd, Errno> {
    let (flags, mode) = prepare(path, how)?;
    match res {
        #[cfg(target_os = "linux")]
        Resolution::OpenAt2 => {
            let op = OpenAt2::new(dir.as_raw_fd(), path)
                .map_err(|_| Errno::Ilseq)?
                .flags(flags.bits() as i32)
                .mode(mode.bits())
                .resolve(resolve::BENEATH | resolve::NO_MAGICLINKS);
            inline.run(op).map_err(|e| match e.raw_os_error() {
                Some(raw) => sandbox_errno(rustix::io::Errno::from_raw_os_error(raw)),
                None => crate::errno::from_io(&e),
            })
        }
        // The reactor's `OpenAt2` cannot resolve beneath outside Linux
        // (`ENOTSUP`): the checked walk keeps the same guarantee.
        #[cfg(not(target_os = "linux"))]
        Resolution::OpenAt2 => walk(dir, path, flags, mode, how.follow),
        Resolution::Walk => walk(dir, path, flags, mode, how.follow),
    }
}

/// The checked walk (see the module docs).
fn walk(
    root: BorrowedFd<'_>,
    path: &str,
    flags: OFlags,
    mode: Mode,
    follow: bool,
) -> Result<OwnedFd, Errno> {
    // Pending components, in reverse (pop from the end).
    let mut todo: Vec<String> = Vec::new();
    push_components(&mut todo, path);
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0usize;
    fn top<'a>(stack: &'a [OwnedFd], root: BorrowedFd<'a>) -> BorrowedFd<'a> {
        stack.last().map_or(root, |fd| fd.as_fd())
    }

    loop {
        let Some(comp) = todo.pop() else {
            // Only `.`/`..` components: open the directory we stand in.
            return rustix::fs::openat(top(&stack, root), ".", flags & !OFlags::NOFOLLOW, mode)
                .map_err(sandbox_errno);
        };
        let last = todo.is_empty();
        if comp == "." {
            if last {
                return rustix::fs::openat(top(&stack, root), ".", flags & !OFlags::NOFOLLOW, mode)
                    .map_err(sandbox_errno);
            }
            continue;
        }
        if comp == ".." {
            if stack.pop().is_none() {
                return Err(ESCAPE);
            }
            continue;
        }
        let here = top(&stack, root);
        let attempt = if last {
            rustix::fs::openat(here, comp.as_str(), flags | OFlags::NOFOLLOW, mode)
        } else {
            rustix::fs::openat(
                here,
                comp.as_str(),
                dir_flags() | OFlags::NOFOLLOW,
                Mode::empty(),
            )
        };
        let splice = match attempt {
            Ok(fd) if last && follow && opens_links(flags) && is_symlink(&fd) => true,
            Ok(fd) if last => return Ok(fd),
            Ok(fd) => {
                stack.push(fd);
                false
            }
            Err(e)
                if (e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR)
                    && (!last || follow) =>
            {
                if rustix::fs::readlinkat(here, comp.as_str(), Vec::new()).is_err() {
                    return Err(sandbox_errno(e));
                }
                true
            }
            Err(e) => return Err(sandbox_errno(e)),
        };
        if splice {
            // A symlink: splice its target in, if it stays relative.
            let target = rustix::fs::readlinkat(top(&stack, root), comp.as_str(), Vec::new())
                .map_err(sandbox_errno)?;
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::Loop);
            }
            let target = target.to_str().map_err(|_| Errno::Ilseq)?;
            if target.starts_with('/') {
                return Err(ESCAPE);
            }
            push_components(&mut todo, target);
        }
    }
}

/// Whether `flags` can open a symlink itself (`O_PATH | O_NOFOLLOW`).
#[cfg(target_os = "linux")]
fn opens_links(flags: OFlags) -> bool {
    flags.contains(OFlags::PATH)
}

/// Whether `flags` can open a symlink itself (`O_PATH | O_NOFOLLOW`).
#[cfg(not(target_os = "linux"))]
fn opens_links(_flags: OFlags) -> bool {
    false
}

fn is_symlink(fd: &OwnedFd) -> bool {
    rustix::fs::fstat(fd).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink
    })
}

fn push_components(todo: &mut Vec<String>, path: &str) {
    let mut comps: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if path == "." || path.ends_with('/') || path.ends_with("/.") {
        // "Must be a directory": resolve through it and open `.` in it.
        comps.push(".");
    }
    todo.extend(comps.into_iter().rev().map(str::to_owned));
}

/// A resolved parent directory and the final component's name in it.
#[derive(Debug)]
pub struct Parent<'a> {
    fd: ParentFd<'a>,
    /// The final component: one name, no `/`, never `.` or `..`.
    pub name: String,
    /// The guest wrote a trailing `/` after it.
    pub trailing_slash: bool,
}

#[derive(Debug)]
enum ParentFd<'a> {
    Borrowed(BorrowedFd<'a>),
    Owned(OwnedFd),
}

impl Parent<'_> {
    /// The parent directory.
    pub fn dir(&self) -> BorrowedFd<'_> {
        match &self.fd {
            ParentFd::Borrowed(b) => *b,
            ParentFd::Owned(o) => o.as_fd(),
        }
    }
}

/// Resolves everything but the last component of `path` beneath `dir`.
///
/// # Errors
///
/// [`ESCAPE`] when the path would leave `dir`;
/// [`Errno::Inval`] when the final component is `.` or `..` (nothing may be
/// created, removed or renamed under those names); the host's errno otherwise.
pub fn open_parent<'a>(
    res: Resolution,
    dir: BorrowedFd<'a>,
    path: &str,
) -> Result<Parent<'a>, Errno> {
    if path.is_empty() {
        return Err(Errno::Noent);
    }
    if path.starts_with('/') {
        return Err(ESCAPE);
    }
    if path.contains('\0') {
        return Err(Errno::Inval);
    }
    let trimmed = path.trim_end_matches('/');
    let trailing_slash = trimmed.len() != path.len();
    let (parent, name) = match trimmed.rsplit_once('/') {
        Some((p, n)) => (p, n),
        None => ("", trimmed),
    };
    if name == "." || name == ".." || name.is_empty() {
        return Err(Errno::Inval);
    }
    let fd = if parent.trim_matches('/').is_empty() {
        ParentFd::Borrowed(dir)
    } else {
        let how = OpenHow {
            flags: dir_flags(),
            mode: Mode::empty(),
            follow: true,
        };
        ParentFd::Owned(open_beneath(res, dir, parent, how)?)
    };
    Ok(Parent {
        fd,
        name: name.to_owned(),
        trailing_slash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_host_and_guest() {
        assert_eq!(
            PreopenSpec::parse("/tmp/x::/data"),
            PreopenSpec {
                host: "/tmp/x".into(),
                guest: "/data".into()
            }
        );
        assert_eq!(
            PreopenSpec::parse("."),
            PreopenSpec {
                host: ".".into(),
                guest: ".".into()
            }
        );
    }

    #[test]
    fn parent_splits_the_final_component() {
        let root = std::fs::File::open("/").unwrap();
        let p = open_parent(Resolution::Walk, root.as_fd(), "tmp/").unwrap();
        assert_eq!(p.name, "tmp");
        assert!(p.trailing_slash);
        assert_eq!(
            open_parent(Resolution::Walk, root.as_fd(), "a/..").unwrap_err(),
            Errno::Inval
        );
        assert_eq!(
            open_parent(Resolution::Walk, root.as_fd(), "/etc").unwrap_err(),
            ESCAPE
        );
    }
}
