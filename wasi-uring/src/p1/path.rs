//! `path_*`: everything that names a file by path. Each function checks
//! the descriptor's rights and reads its arguments, then calls the shared
//! backend, [`crate::fs::Dir`], which resolves the path beneath the
//! directory (see [`crate::preopen`]) and runs the final operation as a
//! reactor op.

use crate::ctx::WasiCtx;
use crate::error::{Errno, HostError, in_result};
use crate::fd_table::{FdEntry, FdKind};
use crate::fs::{Dir, OpenOptions};
use crate::guest_buf::GuestMem;
use crate::p1::fd::{filestat_of, filetype_of, timestamps};
use crate::p1::types::{fdflags, filetype, lookupflags, oflags, rights};

fn path_arg<'m>(mem: &'m GuestMem<'_>, addr: u32, len: u32) -> Result<&'m str, HostError> {
    mem.str("path", addr, len)
}

/// The directory `fd` as the backend's [`Dir`], once its rights allow
/// `need`.
fn dir(cx: &WasiCtx, fd: u32, need: u64) -> Result<Dir<'_>, HostError> {
    let d = cx.table.dir(fd)?;
    d.require(need)?;
    Ok(Dir::new(&cx.inline, cx.resolution, d.fd()))
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
    let d = dir(cx, fd, rights::PATH_CREATE_DIRECTORY)?;
    d.create_directory(path_arg(mem, path, len)?)?;
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
    let d = dir(cx, fd, rights::PATH_FILESTAT_GET)?;
    let follow = flags & lookupflags::SYMLINK_FOLLOW != 0;
    let st = d.stat(path_arg(mem, path, len)?, follow)?;
    let fs = filestat_of(&st).encode();
    mem.write_fields("filestat", out, crate::p1::types::fields::FILESTAT, &fs)
        .map_err(in_result("write filestat"))
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
    let d = dir(cx, fd, rights::PATH_FILESTAT_SET_TIMES)?;
    let path = path_arg(mem, path, len)?;
    let ts = timestamps(atim, mtim, fst)?;
    d.set_times(path, flags & lookupflags::SYMLINK_FOLLOW != 0, &ts)?;
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
    let od = dir(cx, old_fd, rights::PATH_LINK_SOURCE)?;
    let nd = dir(cx, new_fd, rights::PATH_LINK_TARGET)?;
    let follow = old_flags & lookupflags::SYMLINK_FOLLOW != 0;
    if follow {
        return Err(Errno::Inval.into());
    }
    let old_path = path_arg(mem, old_path, old_len)?;
    let new_path = path_arg(mem, new_path, new_len)?;
    od.link(old_path, follow, &nd, new_path)?;
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
    let d = dir(cx, fd, rights::PATH_OPEN)?;
    if of & oflags::CREAT != 0 {
        cx.table.dir(fd)?.require(rights::PATH_CREATE_FILE)?;
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
    // The open mode, as wasmtime picks it: creating or truncating opens for
    // writing whatever the rights say, and a guest asking for neither
    // reading nor writing gets a readable file.
    // Only `FD_WRITE` asks for writing: `FD_ALLOCATE` or
    // `FD_FILESTAT_SET_SIZE` alone leave the file read-only (Go's
    // `os.Open` asks for both), as in wasmtime.
    let write_rights = base & rights::FD_WRITE != 0;
    let opts = OpenOptions {
        read: base & (rights::FD_READ | rights::FD_READDIR) != 0 || !write_rights,
        write: write_rights || of & (oflags::CREAT | oflags::TRUNC) != 0,
        create: of & oflags::CREAT != 0,
        exclusive: of & oflags::EXCL != 0,
        truncate: of & oflags::TRUNC != 0,
        directory: of & oflags::DIRECTORY != 0,
        append: fdf & fdflags::APPEND != 0,
        nonblock: fdf & fdflags::NONBLOCK != 0,
        follow: dirflags & lookupflags::SYMLINK_FOLLOW != 0,
    };
    let (host, kind) = d.open(path, &opts)?;
    let ft = filetype_of(kind);
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
        if !opts.read {
            e.rights_base &= !rights::FD_READ;
        }
        // Resizing a read-only file is the kernel's EINVAL, not a rights
        // error (as wasmtime).
        if !opts.write {
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
    let d = dir(cx, fd, rights::PATH_READLINK)?;
    mem.slice("buf", buf, buf_len)?;
    let target = d.readlink(path_arg(mem, path, len)?)?;
    let n = target.len().min(buf_len as usize);
    mem.write_bytes("buf", buf, &target[..n])?;
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
    let d = dir(cx, fd, rights::PATH_REMOVE_DIRECTORY)?;
    d.remove_directory(path_arg(mem, path, len)?)?;
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
    let od = dir(cx, fd, rights::PATH_RENAME_SOURCE)?;
    let nd = dir(cx, new_fd, rights::PATH_RENAME_TARGET)?;
    let old_path = path_arg(mem, old_path, old_len)?;
    od.rename(old_path, &nd, path_arg(mem, new_path, new_len)?)?;
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
    let d = dir(cx, fd, rights::PATH_SYMLINK)?;
    let target = mem.str("old_path", old_path, old_len)?;
    d.symlink(target, path_arg(mem, new_path, new_len)?)?;
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
    let d = dir(cx, fd, rights::PATH_UNLINK_FILE)?;
    d.unlink_file(path_arg(mem, path, len)?)?;
    Ok(())
}
