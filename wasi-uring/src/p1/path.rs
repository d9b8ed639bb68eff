//! `path_*`: everything that names a file by path. Every path is resolved
//! beneath a directory fd the guest holds (see [`crate::preopen`]); the
//! final directory operation (`mkdirat`, `unlinkat`, `renameat`,
//! `symlinkat`, `linkat`) on the resolved parent is a reactor op.

use std::os::fd::AsRawFd;

use ringwasm_reactor::op::{LinkAt, MkDirAt, RenameAt, Statx, SymlinkAt, UnlinkAt};
use rustix::fs::{AtFlags, Mode, OFlags};

use crate::ctx::WasiCtx;
use crate::error::{Errno, HostError, in_result};
use crate::fd_table::{FdEntry, FdKind};
use crate::guest_buf::GuestMem;
use crate::p1::fd::{filestat_of, filestat_of_statx, filetype_of_fd, timestamps};
use crate::p1::types::{fdflags, filetype, lookupflags, oflags, rights};
use crate::preopen::{OpenHow, open_beneath_on, open_parent};

/// Flags that open a file only to name it (stat it), never to read it.
#[cfg(target_os = "linux")]
const STAT_ONLY: OFlags = OFlags::PATH;
#[cfg(not(target_os = "linux"))]
const STAT_ONLY: OFlags = OFlags::RDONLY.union(OFlags::NONBLOCK);

fn path_arg<'m>(mem: &'m GuestMem<'_>, addr: u32, len: u32) -> Result<&'m str, HostError> {
    mem.str("path", addr, len)
}

/// `path_create_directory`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn path_create_directory(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> Result<(), HostError> {
    let d = cx.table.dir(fd)?;
    d.require(rights::PATH_CREATE_DIRECTORY)?;
    let path = path_arg(mem, path, len)?;
    if is_dots(path) {
        // `.` or `..` names a directory that exists (EEXIST, as wasmtime),
        // unless it is outside the sandbox.
        existing_dir(cx, d.fd(), path)?;
        return Err(Errno::Exist.into());
    }
    let p = open_parent(cx.resolution, d.fd(), path)?;
    let op = MkDirAt::new(p.dir().as_raw_fd(), p.name.as_str())?.mode(0o777);
    cx.inline.run(op)?;
    Ok(())
}

/// `path_filestat_get`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn path_filestat_get(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    len: u32,
    out: u32,
) -> Result<(), HostError> {
    let d = cx.table.dir(fd)?;
    d.require(rights::PATH_FILESTAT_GET)?;
    let path = path_arg(mem, path, len)?;
    let follow = flags & lookupflags::SYMLINK_FOLLOW != 0;
    let st = if follow
        || path.trim_end_matches('/').is_empty()
        || path.ends_with('/')
        || is_dots(path)
    {
        let f = open_beneath_on(
            &cx.inline,
            cx.resolution,
            d.fd(),
            path,
            OpenHow {
                flags: STAT_ONLY,
                mode: Mode::empty(),
                follow: true,
            },
        )?;
        cx.inline.run(Statx::fd(f.as_raw_fd()))?
    } else {
        let p = open_parent(cx.resolution, d.fd(), path)?;
        let op = Statx::new(p.dir().as_raw_fd(), p.name.as_str())?.flags(libc::AT_SYMLINK_NOFOLLOW);
        cx.inline.run(op)?
    };
    let fs = filestat_of_statx(&st).encode();
    mem.write_fields("filestat", out, crate::p1::types::fields::FILESTAT, &fs)
        .map_err(in_result("write filestat"))
}

/// Resolves `path` (ending in `.` or `..`) beneath `dir` as a directory:
/// the sandbox's errno (`EPERM` for an escape) when it cannot.
fn existing_dir(cx: &WasiCtx, dir: rustix::fd::BorrowedFd<'_>, path: &str) -> Result<(), Errno> {
    let how = OpenHow {
        flags: STAT_ONLY | OFlags::DIRECTORY,
        mode: Mode::empty(),
        follow: true,
    };
    open_beneath_on(&cx.inline, cx.resolution, dir, path, how).map(drop)
}

/// Whether `path` (beneath `dir`) names a symlink itself.
fn is_symlink_at(cx: &WasiCtx, dir: rustix::fd::BorrowedFd<'_>, path: &str) -> bool {
    open_parent(cx.resolution, dir, path).is_ok_and(|p| {
        !p.trailing_slash
            && rustix::fs::statat(p.dir(), p.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| filestat_of(&st).filetype == filetype::SYMBOLIC_LINK)
    })
}

/// Whether the final component is `.` or `..` (the path names a directory
/// that has no name of its own in a parent we may touch).
fn is_dots(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    last == "." || last == ".."
}

/// `path_filestat_set_times`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
#[expect(clippy::too_many_arguments, reason = "the WASI signature")]
pub fn path_filestat_set_times(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    len: u32,
    atim: u64,
    mtim: u64,
    fst: u16,
) -> Result<(), HostError> {
    let d = cx.table.dir(fd)?;
    d.require(rights::PATH_FILESTAT_SET_TIMES)?;
    let path = path_arg(mem, path, len)?;
    let ts = timestamps(atim, mtim, fst)?;
    if flags & lookupflags::SYMLINK_FOLLOW != 0 || is_dots(path) || path.ends_with('/') {
        // Resolve (and follow) inside the sandbox, then set the times on
        // what was found: `utimensat` would follow a symlink anywhere.
        let how = OpenHow {
            flags: OFlags::RDONLY | OFlags::NONBLOCK,
            mode: Mode::empty(),
            follow: true,
        };
        let f = open_beneath_on(&cx.inline, cx.resolution, d.fd(), path, how)?;
        rustix::fs::futimens(&f, &ts)?;
    } else {
        let p = open_parent(cx.resolution, d.fd(), path)?;
        rustix::fs::utimensat(p.dir(), p.name.as_str(), &ts, AtFlags::SYMLINK_NOFOLLOW)?;
    }
    Ok(())
}

/// `path_link`. Following a symlink in the source is refused with
/// [`Errno::Inval`] (as wasmtime): `linkat(AT_SYMLINK_FOLLOW)` would follow it
/// outside the sandbox.
///
/// # Errors
///
/// Errno for the guest, or a trap.
#[expect(clippy::too_many_arguments, reason = "the WASI signature")]
pub fn path_link(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> Result<(), HostError> {
    let od = cx.table.dir(old_fd)?;
    od.require(rights::PATH_LINK_SOURCE)?;
    let nd = cx.table.dir(new_fd)?;
    nd.require(rights::PATH_LINK_TARGET)?;
    if old_flags & lookupflags::SYMLINK_FOLLOW != 0 {
        return Err(Errno::Inval.into());
    }
    let old_path = path_arg(mem, old_path, old_len)?;
    let op = open_parent(cx.resolution, od.fd(), old_path)?;
    let np = open_parent(cx.resolution, nd.fd(), path_arg(mem, new_path, new_len)?)?;
    if op.trailing_slash {
        // `file/` is ENOTDIR; a directory cannot be hard-linked (EPERM).
        existing_dir(cx, od.fd(), old_path)?;
        return Err(Errno::Perm.into());
    }
    if np.trailing_slash {
        return Err(Errno::Noent.into());
    }
    let link = LinkAt::new(
        op.dir().as_raw_fd(),
        op.name.as_str(),
        np.dir().as_raw_fd(),
        np.name.as_str(),
    )?;
    cx.inline.run(link)?;
    Ok(())
}

/// `path_open`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
#[expect(clippy::too_many_arguments, reason = "the WASI signature")]
pub fn path_open(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    len: u32,
    of: u16,
    base: u64,
    _inheriting: u64,
    fdf: u16,
    out: u32,
) -> Result<(), HostError> {
    let d = cx.table.dir(fd)?;
    d.require(rights::PATH_OPEN)?;
    if of & oflags::CREAT != 0 {
        d.require(rights::PATH_CREATE_FILE)?;
    }
    if of >= 16 || fdf >= 32 {
        return Err(Errno::Inval.into());
    }
    // As wasmtime: it cannot promise synchronous I/O on every host, so it
    // refuses the sync flags rather than accept and ignore them.
    if fdf & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 {
        return Err(Errno::Notsup.into());
    }
    let path = path_arg(mem, path, len)?;
    // Creating `name/` is the kernel's EISDIR; the checked walk of the
    // fallback would say ENOENT, so say it here for both.
    if of & oflags::CREAT != 0 && path.ends_with('/') {
        return Err(Errno::Isdir.into());
    }
    // The open mode, as wasmtime picks it: creating or truncating opens for
    // writing whatever the rights say, and a guest asking for neither
    // reading nor writing gets a readable file.
    // Only `FD_WRITE` asks for writing: `FD_ALLOCATE` or
    // `FD_FILESTAT_SET_SIZE` alone leave the file read-only (Go's
    // `os.Open` asks for both), as in wasmtime.
    let write_rights = base & rights::FD_WRITE != 0;
    let read = base & (rights::FD_READ | rights::FD_READDIR) != 0 || !write_rights;
    let write = write_rights || of & (oflags::CREAT | oflags::TRUNC) != 0;
    let want_dir = of & oflags::DIRECTORY != 0;
    let mut flags = match (read, write) {
        (_, false) => OFlags::RDONLY,
        (false, true) => OFlags::WRONLY,
        (true, true) => OFlags::RDWR,
    };
    for (bit, host) in [
        (oflags::CREAT, OFlags::CREATE),
        (oflags::EXCL, OFlags::EXCL),
        (oflags::TRUNC, OFlags::TRUNC),
        (oflags::DIRECTORY, OFlags::DIRECTORY),
    ] {
        if of & bit != 0 {
            flags |= host;
        }
    }
    // As wasmtime: creating, excluding or truncating a directory is invalid;
    // opening one for writing is the kernel's `EISDIR` (a file under
    // `O_DIRECTORY` its `ENOTDIR`), so those reach `openat2`.
    if want_dir && of & (oflags::CREAT | oflags::EXCL | oflags::TRUNC) != 0 {
        return Err(Errno::Inval.into());
    }
    for (bit, host) in [
        (fdflags::APPEND, OFlags::APPEND),
        (fdflags::NONBLOCK, OFlags::NONBLOCK),
    ] {
        if fdf & bit != 0 {
            flags |= host;
        }
    }
    let how = OpenHow {
        flags,
        mode: Mode::from_bits_truncate(0o666),
        follow: dirflags & lookupflags::SYMLINK_FOLLOW != 0,
    };
    let host = match open_beneath_on(&cx.inline, cx.resolution, d.fd(), path, how) {
        // A directory opened without O_DIRECTORY but for writing.
        Err(Errno::Isdir) if !want_dir => return Err(Errno::Isdir.into()),
        // O_DIRECTORY|O_NOFOLLOW on a symlink: the kernel says ENOTDIR,
        // wasmtime ELOOP (the link was not followed).
        Err(Errno::Notdir) if want_dir && !how.follow && is_symlink_at(cx, d.fd(), path) => {
            return Err(Errno::Loop.into());
        }
        r => r?,
    };
    let ft = filetype_of_fd(rustix::fd::AsFd::as_fd(&host))?;
    // Requested rights only choose the open mode, as in wasmtime: a
    // directory gets every directory right and a file every right of its
    // kind less reading or writing it was not opened for. Programs (and
    // wasmtime's own tests) open with rights 0 or FD_READ|FD_WRITE and then
    // seek, tell or stat; refusing those with ENOTCAPABLE broke them.
    let mut e = if ft == filetype::DIRECTORY {
        FdEntry::new(host, FdKind::Dir { preopen: None }, ft)
    } else {
        let kind = if ft == filetype::SOCKET_STREAM || ft == filetype::SOCKET_DGRAM {
            FdKind::Socket
        } else {
            FdKind::File
        };
        let mut e = FdEntry::new(host, kind, ft);
        if !read {
            e.rights_base &= !rights::FD_READ;
        }
        // Resizing a read-only file is the kernel's EINVAL, not a rights
        // error (as wasmtime).
        if !write {
            e.rights_base &= !rights::FD_WRITE;
        }
        e
    };
    e.flags = fdf & (fdflags::APPEND | fdflags::NONBLOCK);
    let new = cx.table.push(e)?;
    mem.write_u32("fd", out, new).map_err(in_result("write fd"))
}

/// `path_readlink`: the target, truncated to the buffer (as wasmtime).
///
/// # Errors
///
/// Errno for the guest, or a trap.
#[expect(clippy::too_many_arguments, reason = "the WASI signature")]
pub fn path_readlink(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    path: u32,
    len: u32,
    buf: u32,
    buf_len: u32,
    out: u32,
) -> Result<(), HostError> {
    let d = cx.table.dir(fd)?;
    d.require(rights::PATH_READLINK)?;
    mem.slice("buf", buf, buf_len)?;
    let path = path_arg(mem, path, len)?;
    let p = open_parent(cx.resolution, d.fd(), path)?;
    if p.trailing_slash {
        // `link/` names what the link points to, which is no link: EINVAL
        // for a directory, the resolution's errno (ENOTDIR) otherwise.
        existing_dir(cx, d.fd(), path)?;
        return Err(Errno::Inval.into());
    }
    let target = rustix::fs::readlinkat(p.dir(), p.name.as_str(), Vec::new())?;
    let bytes = target.as_bytes();
    let n = bytes.len().min(buf_len as usize);
    mem.write_bytes("buf", buf, &bytes[..n])?;
    mem.write_u32("bufused", out, n as u32)
        .map_err(in_result("write size"))
}

/// `path_remove_directory`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn path_remove_directory(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> Result<(), HostError> {
    let d = cx.table.dir(fd)?;
    d.require(rights::PATH_REMOVE_DIRECTORY)?;
    let path = path_arg(mem, path, len)?;
    if is_dots(path) {
        // Removing `.` or `..` is EINVAL, past the preopen EPERM (wasmtime).
        existing_dir(cx, d.fd(), path)?;
        return Err(Errno::Inval.into());
    }
    let p = open_parent(cx.resolution, d.fd(), path)?;
    let op = UnlinkAt::new(p.dir().as_raw_fd(), p.name.as_str())?.dir(true);
    cx.inline.run(op)?;
    Ok(())
}

/// `path_rename`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
#[expect(clippy::too_many_arguments, reason = "the WASI signature")]
pub fn path_rename(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> Result<(), HostError> {
    let od = cx.table.dir(fd)?;
    od.require(rights::PATH_RENAME_SOURCE)?;
    let nd = cx.table.dir(new_fd)?;
    nd.require(rights::PATH_RENAME_TARGET)?;
    let op = open_parent(cx.resolution, od.fd(), path_arg(mem, old_path, old_len)?)?;
    let np = open_parent(cx.resolution, nd.fd(), path_arg(mem, new_path, new_len)?)?;
    if op.trailing_slash || np.trailing_slash {
        let st = rustix::fs::statat(op.dir(), op.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)?;
        if filestat_of(&st).filetype != filetype::DIRECTORY {
            return Err(Errno::Notdir.into());
        }
    }
    let rename = RenameAt::new(
        op.dir().as_raw_fd(),
        op.name.as_str(),
        np.dir().as_raw_fd(),
        np.name.as_str(),
    )?;
    cx.inline.run(rename)?;
    Ok(())
}

/// `path_symlink`: creates `new_path` (beneath `fd`) pointing at `old_path`.
/// The target is stored as given; resolution never follows it out of the
/// sandbox.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn path_symlink(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    old_path: u32,
    old_len: u32,
    fd: u32,
    new_path: u32,
    new_len: u32,
) -> Result<(), HostError> {
    let d = cx.table.dir(fd)?;
    d.require(rights::PATH_SYMLINK)?;
    let target = mem.str("old_path", old_path, old_len)?;
    if target.contains('\0') {
        return Err(Errno::Ilseq.into());
    }
    if target.starts_with('/') {
        return Err(Errno::Perm.into());
    }
    let p = open_parent(cx.resolution, d.fd(), path_arg(mem, new_path, new_len)?)?;
    if p.trailing_slash {
        return Err(Errno::Noent.into());
    }
    let op = SymlinkAt::new(target, p.dir().as_raw_fd(), p.name.as_str())?;
    cx.inline.run(op)?;
    Ok(())
}

/// `path_unlink_file`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn path_unlink_file(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> Result<(), HostError> {
    let d = cx.table.dir(fd)?;
    d.require(rights::PATH_UNLINK_FILE)?;
    let path = path_arg(mem, path, len)?;
    if is_dots(path) {
        // `.` or `..` is a directory (EISDIR, as wasmtime), unless it is
        // outside the sandbox.
        existing_dir(cx, d.fd(), path)?;
        return Err(Errno::Isdir.into());
    }
    let p = open_parent(cx.resolution, d.fd(), path)?;
    if p.trailing_slash {
        // A trailing `/` resolves through a symlink: a directory (or a link
        // to one) is EISDIR, anything else ENOTDIR, as the kernel and
        // wasmtime say; resolved inside the sandbox.
        existing_dir(cx, d.fd(), path)?;
        return Err(Errno::Isdir.into());
    }
    let op = UnlinkAt::new(p.dir().as_raw_fd(), p.name.as_str())?;
    cx.inline.run(op)?;
    Ok(())
}
