//! `fd_*`: reads, writes, seeks, stats and directory listings on open fds.
//!
//! Reads and writes are zero-copy and go through the reactor: the guest's
//! checked iovecs become [`GuestSlice`]s over linear memory and go to one
//! `Read`/`Readv`/`Write`/`Writev` op (io_uring, or the epoll fallback's
//! attempt-then-wait). Only fds the guest made nonblocking keep one direct
//! `readv`/`writev`, so they fail with `EAGAIN` instead of waiting.

use std::io::IsTerminal;

use ringwasm_reactor::op::{Close, Read, Readv, Write, Writev};

use rustix::fs::{OFlags, SeekFrom, Timespec, Timestamps};

use crate::ctx::WasiCtx;
use crate::error::{Errno, HostError, TrapReason, in_result};
use crate::fd_table::{FdEntry, FdKind};
use crate::fs::file::{Advice, WriteAt};
use crate::fs::{FileKind, Stat};
use crate::guest_buf::{GuestIoVec, GuestMem, GuestSlice};
use crate::p1::types::{
    Fdstat, Filestat, encode_dirent, fdflags, filetype, fstflags, rights, size, whence,
};

/// The WASI filetype of a file kind (P1 has no FIFO: unknown).
pub fn filetype_of(kind: FileKind) -> u8 {
    match kind {
        FileKind::RegularFile => filetype::REGULAR_FILE,
        FileKind::Directory => filetype::DIRECTORY,
        FileKind::SymbolicLink => filetype::SYMBOLIC_LINK,
        FileKind::CharacterDevice => filetype::CHARACTER_DEVICE,
        FileKind::BlockDevice => filetype::BLOCK_DEVICE,
        FileKind::Socket => filetype::SOCKET_STREAM,
        FileKind::Fifo | FileKind::Unknown => filetype::UNKNOWN,
    }
}

/// File metadata as a WASI `filestat` (times before the epoch read as 0).
pub fn filestat_of(st: &Stat) -> Filestat {
    let t = |ns: i128| u64::try_from(ns.max(0)).unwrap_or(u64::MAX);
    Filestat {
        dev: st.dev,
        ino: st.ino,
        filetype: filetype_of(st.kind),
        nlink: st.nlink,
        size: st.size,
        atim: t(st.atime_ns),
        mtim: t(st.mtime_ns),
        ctim: t(st.ctime_ns),
    }
}

/// The `filetype` wasmtime reports for stdio: a character device when it is
/// a terminal, otherwise unknown.
fn stdio_filetype(e: &FdEntry) -> u8 {
    if e.fd().is_terminal() {
        filetype::CHARACTER_DEVICE
    } else {
        filetype::UNKNOWN
    }
}

/// Turns a WASI timestamp pair and `fstflags` into `utimensat` timestamps.
///
/// # Errors
///
/// [`Errno::Inval`] when a time is both given and "now".
pub fn timestamps(atim: u64, mtim: u64, flags: u16) -> Result<Timestamps, Errno> {
    let one = |t: u64, set: u16, now: u16| -> Result<Timespec, Errno> {
        match (flags & set != 0, flags & now != 0) {
            (true, true) => Err(Errno::Inval),
            (true, false) => Ok(Timespec {
                tv_sec: (t / 1_000_000_000) as i64,
                tv_nsec: (t % 1_000_000_000) as _,
            }),
            (false, true) => Ok(Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_NOW,
            }),
            (false, false) => Ok(Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_OMIT,
            }),
        }
    };
    if flags & !(fstflags::ATIM | fstflags::ATIM_NOW | fstflags::MTIM | fstflags::MTIM_NOW) != 0 {
        return Err(Errno::Inval);
    }
    Ok(Timestamps {
        last_access: one(atim, fstflags::ATIM, fstflags::ATIM_NOW)?,
        last_modification: one(mtim, fstflags::MTIM, fstflags::MTIM_NOW)?,
    })
}

/// `fd_advise`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_advise(
    cx: &mut WasiCtx,
    fd: u32,
    offset: u64,
    len: u64,
    advice: u8,
) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    let advice = match advice {
        0 => Advice::Normal,
        1 => Advice::Sequential,
        2 => Advice::Random,
        3 => Advice::WillNeed,
        4 => Advice::DontNeed,
        5 => Advice::NoReuse,
        _ => {
            return Err(TrapReason::invalid_enum("Advice").into());
        }
    };
    // A directory or stdio has nothing to advise about: EBADF, as wasmtime
    // (checked before rights, which stdio lacks).
    if e.is_dir() || e.kind == FdKind::Stdio {
        return Err(Errno::Badf.into());
    }
    e.require(rights::FD_ADVISE)?;
    crate::fs::file::advise(e.fd(), offset, len, advice)?;
    Ok(())
}

/// `fd_allocate`: [`Errno::Notsup`] on an open file, as wasmtime (later
/// WASI dropped it; a guest's `posix_fallocate` reports "not supported").
///
/// # Errors
///
/// [`Errno::Badf`] for a closed fd or a directory, else [`Errno::Notsup`].
pub fn fd_allocate(cx: &mut WasiCtx, fd: u32, _offset: u64, _len: u64) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    if e.is_dir() {
        return Err(Errno::Badf.into());
    }
    Err(Errno::Notsup.into())
}

/// `fd_close`: a reactor `Close` op.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_close(cx: &mut WasiCtx, fd: u32) -> Result<(), HostError> {
    let e = cx.table.remove(fd)?;
    e.release(&cx.inline);
    // The guest's fd is gone whatever the kernel says; like `close(2)` after
    // an error, there is nothing to retry, so the result is only logged.
    if let Err(err) = cx.inline.run(Close::new(e.host)) {
        tracing::debug!("fd_close({fd}): {err}");
    }
    Ok(())
}

/// `fd_datasync`: a reactor `Fsync` op (datasync).
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_datasync(cx: &mut WasiCtx, fd: u32) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    // Only files sync: wasmtime answers EBADF for stdio and directories.
    if e.kind == FdKind::Stdio || e.is_dir() {
        return Err(Errno::Badf.into());
    }
    e.require(rights::FD_DATASYNC)?;
    crate::fs::file::sync(&cx.inline, e.fd(), true)?;
    Ok(())
}

/// `fd_sync`: a reactor `Fsync` op.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_sync(cx: &mut WasiCtx, fd: u32) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    // Only files sync: wasmtime answers EBADF for stdio and directories.
    if e.kind == FdKind::Stdio || e.is_dir() {
        return Err(Errno::Badf.into());
    }
    e.require(rights::FD_SYNC)?;
    crate::fs::file::sync(&cx.inline, e.fd(), false)?;
    Ok(())
}

/// `fd_fdstat_get`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_fdstat_get(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    out: u32,
) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    let ft = if e.kind == FdKind::Stdio {
        stdio_filetype(e)
    } else {
        e.filetype
    };
    let st = Fdstat {
        filetype: ft,
        flags: e.flags,
        rights_base: e.rights_base,
        rights_inheriting: e.rights_inheriting,
    };
    mem.write_fields(
        "fdstat",
        out,
        crate::p1::types::fields::FDSTAT,
        &st.encode(),
    )
    .map_err(in_result("write fdstat"))
}

/// `fd_fdstat_set_flags`: `append` and `nonblock` may change; the sync
/// flags cannot be changed after open (as wasmtime).
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_fdstat_set_flags(cx: &mut WasiCtx, fd: u32, flags: u16) -> Result<(), HostError> {
    let e = cx.table.get_mut(fd)?;
    // Directories and stdio take no flags: EBADF, as wasmtime (before the
    // rights check, which stdio would fail with ENOTCAPABLE).
    if e.is_dir() || e.kind == FdKind::Stdio {
        return Err(Errno::Badf.into());
    }
    e.require(rights::FD_FDSTAT_SET_FLAGS)?;
    if flags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 || flags >= 32 {
        return Err(Errno::Inval.into());
    }
    let mut host = rustix::fs::fcntl_getfl(e.fd())?;
    host.set(OFlags::APPEND, flags & fdflags::APPEND != 0);
    host.set(OFlags::NONBLOCK, flags & fdflags::NONBLOCK != 0);
    rustix::fs::fcntl_setfl(e.fd(), host)?;
    e.flags = (e.flags & !(fdflags::APPEND | fdflags::NONBLOCK)) | flags;
    Ok(())
}

/// `fd_fdstat_set_rights`: [`Errno::Notsup`] for an open fd, as wasmtime
/// (rights are gone from later WASI; changing them is not supported),
/// [`Errno::Badf`] otherwise.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_fdstat_set_rights(
    cx: &mut WasiCtx,
    fd: u32,
    _base: u64,
    _inheriting: u64,
) -> Result<(), HostError> {
    cx.table.get(fd)?;
    Err(Errno::Notsup.into())
}

/// `fd_filestat_get`: a reactor `Statx` op (stdio reports only its filetype).
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_filestat_get(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    out: u32,
) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    let fs = if e.kind == FdKind::Stdio {
        Filestat {
            filetype: stdio_filetype(e),
            ..Filestat::default()
        }
    } else {
        e.require(rights::FD_FILESTAT_GET)?;
        filestat_of(&crate::fs::stat_fd(&cx.inline, e.fd())?)
    };
    mem.write_fields(
        "filestat",
        out,
        crate::p1::types::fields::FILESTAT,
        &fs.encode(),
    )
    .map_err(in_result("write filestat"))
}

/// `fd_filestat_set_size`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_filestat_set_size(cx: &mut WasiCtx, fd: u32, len: u64) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    if e.is_dir() || e.kind == FdKind::Stdio {
        return Err(Errno::Badf.into());
    }
    e.require(rights::FD_FILESTAT_SET_SIZE)?;
    if len > i64::MAX as u64 {
        return Err(Errno::Fbig.into());
    }
    crate::fs::file::set_size(e.fd(), len)?;
    Ok(())
}

/// `fd_filestat_set_times`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_filestat_set_times(
    cx: &mut WasiCtx,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u16,
) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    if e.kind == FdKind::Stdio {
        return Err(Errno::Badf.into());
    }
    e.require(rights::FD_FILESTAT_SET_TIMES)?;
    let ts = timestamps(atim, mtim, flags)?;
    crate::fs::file::set_times(e.fd(), &ts)?;
    Ok(())
}

/// The guest's non-empty iovecs lent to the reactor, in the guest's order.
fn lend_all(mem: &mut GuestMem<'_>, iovs: &[GuestIoVec]) -> Result<Vec<GuestSlice>, HostError> {
    iovs.iter()
        .filter(|v| v.len > 0)
        .map(|&v| mem.lend(v))
        .collect()
}

/// Whether the guest asked for nonblocking I/O on `e`: then the call must
/// fail with `EAGAIN` rather than wait, so it is one direct attempt instead
/// of a reactor op (which would wait for readiness on the fallback).
fn nonblocking(e: &FdEntry) -> bool {
    e.flags & fdflags::NONBLOCK != 0
}

/// One `readv`/`preadv` into the guest's buffers: a reactor `Readv` op, or
/// a direct call when the guest asked for nonblocking I/O. Overlapping
/// buffers are filled in order, as the kernel's `readv` does.
fn read_into(
    cx: &WasiCtx,
    e: &FdEntry,
    mem: &mut GuestMem<'_>,
    iovs: &[GuestIoVec],
    at: Option<u64>,
) -> Result<usize, HostError> {
    let bufs = lend_all(mem, iovs)?;
    if bufs.is_empty() {
        return Ok(0);
    }
    if nonblocking(e) {
        drop(bufs);
        return read_direct(e, mem, iovs, at);
    }
    let op = Readv::new(e.io_target(&cx.inline), bufs);
    let op = if cached_first(e) {
        op.cached_first()
    } else {
        op
    };
    let op = match at {
        None => op,
        Some(off) => op.offset(off),
    };
    let (res, _bufs) = cx.inline.run(op);
    Ok(res?)
}

/// Whether a read from `e` tries the page cache before the ring: for
/// regular files, where a cached read then costs one `preadv2(RWF_NOWAIT)`
/// instead of a trip through io_uring (see `docs/design/reactor.md`,
/// "Cached reads"). Pipes, sockets and terminals wait on the ring as usual.
fn cached_first(e: &FdEntry) -> bool {
    e.kind == FdKind::File && e.filetype == filetype::REGULAR_FILE
}

/// The direct path for nonblocking fds: `readv`/`preadv`, one buffer at a
/// time when the guest's buffers overlap.
fn read_direct(
    e: &FdEntry,
    mem: &mut GuestMem<'_>,
    iovs: &[GuestIoVec],
    at: Option<u64>,
) -> Result<usize, HostError> {
    if let Some(mut bufs) = mem.io_slices_mut(iovs) {
        let n = match at {
            None => rustix::io::readv(e.fd(), &mut bufs)?,
            Some(off) => rustix::io::preadv(e.fd(), &mut bufs, off)?,
        };
        return Ok(n);
    }
    let mut total = 0usize;
    for v in iovs {
        let buf = mem.slice_mut("iovec buffer", v.addr, v.len)?;
        let n = match at {
            None => rustix::io::read(e.fd(), buf)?,
            Some(off) => rustix::io::pread(e.fd(), buf, off + total as u64)?,
        };
        total += n;
        if n < v.len as usize {
            break;
        }
    }
    Ok(total)
}

/// One `writev`/`pwritev` from the guest's buffers: a reactor `Writev` op,
/// or a direct call when the guest asked for nonblocking I/O.
fn write_from(
    cx: &WasiCtx,
    e: &FdEntry,
    mem: &mut GuestMem<'_>,
    iovs: &[GuestIoVec],
    at: Option<u64>,
) -> Result<usize, HostError> {
    let bufs = lend_all(mem, iovs)?;
    if bufs.is_empty() {
        return Ok(0);
    }
    if let Some(n) = write_file_direct(e, mem, iovs, at)? {
        return Ok(n);
    }
    if nonblocking(e) {
        drop(bufs);
        let slices = mem.io_slices(iovs);
        let n = match at {
            None => rustix::io::writev(e.fd(), &slices)?,
            Some(off) => rustix::io::pwritev(e.fd(), &slices, off)?,
        };
        return Ok(n);
    }
    let op = Writev::new(e.io_target(&cx.inline), bufs);
    let op = match at {
        None => op,
        Some(off) => op.offset(off),
    };
    let (res, _bufs) = cx.inline.run(op);
    Ok(res?)
}

/// A write to a regular file, which may skip the ring: see
/// [`crate::fs::file::write_direct`]. `None`: use the reactor.
fn write_file_direct(
    e: &FdEntry,
    mem: &GuestMem<'_>,
    iovs: &[GuestIoVec],
    at: Option<u64>,
) -> Result<Option<usize>, HostError> {
    if e.filetype != filetype::REGULAR_FILE || e.kind != FdKind::File {
        return Ok(None);
    }
    if e.writes_direct.get() == Some(false) {
        return Ok(None);
    }
    for v in iovs {
        mem.slice("iovec buffer", v.addr, v.len)?;
    }
    let slices = mem.io_slices(iovs);
    let at = at.map_or(WriteAt::Position, WriteAt::Offset);
    Ok(crate::fs::file::write_direct(
        e.fd(),
        &e.writes_direct,
        &slices,
        at,
    )?)
}

fn check_io(cx: &WasiCtx, fd: u32, need: u64, positioned: bool) -> Result<&FdEntry, HostError> {
    let e = cx.table.get(fd)?;
    if positioned && e.kind == FdKind::Stdio {
        return Err(Errno::Spipe.into());
    }
    e.require_io(need)?;
    Ok(e)
}

/// `fd_read`: one `readv` straight into the guest's buffers.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_read(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    out: u32,
) -> Result<(), HostError> {
    let e = check_io(cx, fd, rights::FD_READ, false)?;
    if n == 1 {
        // The common case (`read(2)` in wasi-libc): no iovec list at all.
        let v = mem.iovec(iovs)?;
        if v.len == 0 {
            empty_read(e)?;
        }
        let got = if nonblocking(e) {
            rustix::io::read(e.fd(), mem.slice_mut("iovec buffer", v.addr, v.len)?)?
        } else {
            let buf = mem.lend(v)?;
            let op = Read::new(e.io_target(&cx.inline), buf);
            let op = if cached_first(e) {
                op.cached_first()
            } else {
                op
            };
            let (res, _buf) = cx.inline.run(op);
            res?
        };
        return mem
            .write_u32("nread", out, got as u32)
            .map_err(in_result("write size"));
    }
    let iovs = mem.iovecs(iovs, n)?;
    if iovs.iter().all(|v| v.len == 0) {
        empty_read(e)?;
    }
    let got = read_into(cx, e, mem, &iovs, None)?;
    mem.write_u32("nread", out, got as u32)
        .map_err(in_result("write size"))
}

/// A read of zero bytes from stdin is `EINTR` in wasmtime (its stdin
/// stream reports nothing read as an interruption); elsewhere it reads
/// nothing, successfully.
fn empty_read(e: &FdEntry) -> Result<(), HostError> {
    if e.kind == FdKind::Stdio {
        return Err(Errno::Intr.into());
    }
    Ok(())
}

/// `fd_pread`: one `preadv` straight into the guest's buffers.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_pread(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    offset: u64,
    out: u32,
) -> Result<(), HostError> {
    let e = check_io(cx, fd, rights::FD_READ | rights::FD_SEEK, true)?;
    if offset > i64::MAX as u64 {
        return Err(Errno::Inval.into());
    }
    let iovs = mem.iovecs(iovs, n)?;
    let got = read_into(cx, e, mem, &iovs, Some(offset))?;
    mem.write_u32("nread", out, got as u32)
        .map_err(in_result("write size"))
}

/// `fd_write`: one `writev` straight from the guest's buffers.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_write(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    out: u32,
) -> Result<(), HostError> {
    let e = check_io(cx, fd, rights::FD_WRITE, false)?;
    if n == 1 {
        // The common case (`write(2)` in wasi-libc): no iovec list at all.
        let v = mem.iovec(iovs)?;
        let put = if v.len == 0 {
            0
        } else if let Some(n) = write_file_direct(e, mem, &[v], None)? {
            n
        } else if nonblocking(e) {
            rustix::io::write(e.fd(), mem.slice("iovec buffer", v.addr, v.len)?)?
        } else {
            let buf = mem.lend(v)?;
            let (res, _buf) = cx.inline.run(Write::new(e.io_target(&cx.inline), buf));
            res?
        };
        return mem
            .write_u32("nwritten", out, put as u32)
            .map_err(in_result("write size"));
    }
    let iovs = mem.iovecs(iovs, n)?;
    let put = write_from(cx, e, mem, &iovs, None)?;
    mem.write_u32("nwritten", out, put as u32)
        .map_err(in_result("write size"))
}

/// `fd_pwrite`: one `pwritev` straight from the guest's buffers.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_pwrite(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    offset: u64,
    out: u32,
) -> Result<(), HostError> {
    let e = check_io(cx, fd, rights::FD_WRITE | rights::FD_SEEK, true)?;
    if offset > i64::MAX as u64 {
        return Err(Errno::Inval.into());
    }
    let iovs = mem.iovecs(iovs, n)?;
    let put = write_from(cx, e, mem, &iovs, Some(offset))?;
    mem.write_u32("nwritten", out, put as u32)
        .map_err(in_result("write size"))
}

/// `fd_prestat_get`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_prestat_get(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    out: u32,
) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    let FdKind::Dir {
        preopen: Some(name),
    } = &e.kind
    else {
        return Err(Errno::Badf.into());
    };
    let mut b = [0u8; size::PRESTAT as usize];
    b[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
    mem.write_fields("prestat", out, crate::p1::types::fields::PRESTAT, &b)
        .map_err(in_result("write prestat"))
}

/// `fd_prestat_dir_name`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_prestat_dir_name(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    let FdKind::Dir {
        preopen: Some(name),
    } = &e.kind
    else {
        return Err(Errno::Badf.into());
    };
    if (len as usize) < name.len() {
        return Err(Errno::Nametoolong.into());
    }
    let name = name.clone();
    mem.write_bytes("path", path, name.as_bytes())
}

/// `fd_readdir`: entries `.`, `..`, then the directory's own in `getdents`
/// order; cookie `n` resumes after the n-th. `getdents` has no io_uring
/// opcode, so this is a direct syscall.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_readdir(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    buf: u32,
    len: u32,
    cookie: u64,
    out: u32,
) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    // wasmtime answers EBADF for a file or stdio: it is no directory handle.
    if !e.is_dir() {
        return Err(Errno::Badf.into());
    }
    e.require(rights::FD_READDIR)?;
    mem.slice("buf", buf, len)?;
    let entries = crate::fs::Dir::new(&cx.inline, cx.resolution, e.fd()).entries()?;
    let mut dots: Vec<(Vec<u8>, u64, u8)> = Vec::with_capacity(2);
    let mut rest: Vec<(Vec<u8>, u64, u8)> = Vec::with_capacity(entries.len());
    for ent in entries {
        let item = (ent.name, ent.ino, filetype_of(ent.kind));
        if item.0 == b"." || item.0 == b".." {
            dots.push(item);
        } else {
            rest.push(item);
        }
    }
    dots.sort_by_key(|d| d.0.len());
    let mut used = 0u32;
    for (i, (name, ino, ft)) in dots
        .into_iter()
        .chain(rest)
        .enumerate()
        .skip(usize::try_from(cookie).unwrap_or(usize::MAX))
    {
        let mut rec = encode_dirent(i as u64 + 1, ino, name.len() as u32, ft).to_vec();
        rec.extend_from_slice(&name);
        let room = (len - used) as usize;
        let take = rec.len().min(room);
        mem.write_bytes("buf", buf + used, &rec[..take])?;
        used += take as u32;
        if take < rec.len() {
            break;
        }
    }
    mem.write_u32("bufused", out, used)
        .map_err(in_result("write size"))
}

/// `fd_renumber`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_renumber(cx: &mut WasiCtx, from: u32, to: u32) -> Result<(), HostError> {
    let replaced = cx.table.get(to)?;
    if from != to {
        cx.table.get(from)?;
        // `to`'s host fd is about to close: free its registered slot first.
        replaced.release(&cx.inline);
    }
    cx.table.renumber(from, to)?;
    Ok(())
}

/// `fd_seek`: `lseek` has no io_uring opcode (and io_uring reads and writes
/// at the file position share it), so this is a direct syscall.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_seek(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    offset: i64,
    wh: u8,
    out: u32,
) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    if e.kind == FdKind::Stdio {
        return Err(Errno::Spipe.into());
    }
    if e.is_dir() {
        return Err(Errno::Badf.into());
    }
    let pos = match wh {
        whence::SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        whence::CUR => SeekFrom::Current(offset),
        whence::END => SeekFrom::End(offset),
        _ => {
            return Err(TrapReason::invalid_enum("Whence").into());
        }
    };
    let need = if wh == whence::CUR && offset == 0 {
        rights::FD_TELL
    } else {
        rights::FD_SEEK
    };
    e.require(need)?;
    let at = rustix::fs::seek(e.fd(), pos)?;
    mem.write_u64("newoffset", out, at)
        .map_err(in_result("write filesize"))
}

/// `fd_tell`: a direct `lseek(fd, 0, SEEK_CUR)`, as [`fd_seek`].
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn fd_tell(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    fd: u32,
    out: u32,
) -> Result<(), HostError> {
    let e = cx.table.get(fd)?;
    if e.kind == FdKind::Stdio {
        return Err(Errno::Spipe.into());
    }
    if e.is_dir() {
        return Err(Errno::Badf.into());
    }
    e.require(rights::FD_TELL)?;
    let at = rustix::fs::seek(e.fd(), SeekFrom::Current(0))?;
    mem.write_u64("offset", out, at)
        .map_err(in_result("write filesize"))
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;
    use crate::io::IoChoice;

    /// `fd_read` and `fd_write` with two iovecs listed high address first,
    /// through the reactor straight into and out of "linear memory".
    fn vectored_roundtrip(io: IoChoice) {
        let (r0, mut w0) = std::io::pipe().unwrap();
        let (mut r1, w1) = std::io::pipe().unwrap();
        let mut cx = WasiCtx::builder()
            .stdio(0, r0.into())
            .stdio(1, w1.into())
            .io(io)
            .build()
            .unwrap();
        let mut m = vec![0u8; 256];
        let mut mem = GuestMem::new(&mut m);
        // iovs at 0: {buf 128, len 3}, {buf 64, len 4}
        for (at, v) in [(0, 128), (4, 3), (8, 64), (12, 4)] {
            mem.write_u32("t", at, v).unwrap();
        }
        w0.write_all(b"abcdefg").unwrap();
        fd_read(&mut cx, &mut mem, 0, 0, 2, 200).unwrap();
        assert_eq!(mem.read_u32("nread", 200).unwrap(), 7);
        assert_eq!(mem.slice("t", 128, 3).unwrap(), b"abc");
        assert_eq!(mem.slice("t", 64, 4).unwrap(), b"defg");

        fd_write(&mut cx, &mut mem, 1, 0, 2, 204).unwrap();
        assert_eq!(mem.read_u32("nwritten", 204).unwrap(), 7);
        drop(cx);
        let mut got = Vec::new();
        r1.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"abcdefg");
    }

    /// Writes to a regular file (the first one probing `RWF_NOWAIT`, the
    /// rest routed by what it learned), positioned writes, then more reads
    /// than `REGISTER_AFTER` so that they go through a registered file, and
    /// a close that releases the slot.
    fn file_routes(io: IoChoice) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("create");
        let mut cx = WasiCtx::builder().io(io).build().expect("context");
        let fd = cx
            .table
            .push(FdEntry::new(
                file.into(),
                FdKind::File,
                filetype::REGULAR_FILE,
            ))
            .expect("push");
        let mut m = vec![0u8; 256];
        let mut mem = GuestMem::new(&mut m);
        mem.write_bytes("t", 64, b"abcdefgh").expect("data");
        // iovs at 0: {64, 4}, {68, 4}
        for (at, v) in [(0, 64), (4, 4), (8, 68), (12, 4)] {
            mem.write_u32("t", at, v).expect("iov");
        }
        fd_write(&mut cx, &mut mem, fd, 0, 1, 200).expect("first write");
        fd_write(&mut cx, &mut mem, fd, 0, 2, 200).expect("second write");
        assert_eq!(mem.read_u32("n", 200).expect("n"), 8);
        fd_pwrite(&mut cx, &mut mem, fd, 8, 1, 1, 200).expect("pwrite");
        assert_eq!(std::fs::read(&path).expect("read back"), b"aefghbcdefgh");
        assert!(cx.table.get(fd).expect("fd").writes_direct.get().is_some());
        // one iovec {128, 2}
        mem.write_u32("t", 16, 128).expect("iov");
        mem.write_u32("t", 20, 2).expect("iov");
        for i in 0..(crate::fd_table::REGISTER_AFTER + 3) {
            let off = u64::from(i % 4) * 2;
            fd_pread(&mut cx, &mut mem, fd, 16, 1, off, 200).expect("pread");
            assert_eq!(mem.read_u32("n", 200).expect("n"), 2);
            let want = &b"aefghbcdefgh"[off as usize..off as usize + 2];
            assert_eq!(mem.slice("t", 128, 2).expect("buf"), want);
        }
        let registered = cx.table.get(fd).expect("fd").route.get().fixed.is_some();
        assert_eq!(registered, io == IoChoice::Uring);
        fd_close(&mut cx, fd).expect("close");
        assert!(cx.table.get(fd).is_err());
    }

    #[test]
    fn file_routes_epoll() {
        file_routes(IoChoice::Epoll);
    }

    #[test]
    fn file_routes_uring() {
        if ringwasm_reactor::uring_driver().is_err() {
            eprintln!("io_uring unavailable here; the epoll variant covers this");
            return;
        }
        file_routes(IoChoice::Uring);
    }

    #[test]
    fn vectored_roundtrip_epoll() {
        vectored_roundtrip(IoChoice::Epoll);
    }

    #[test]
    fn vectored_roundtrip_uring() {
        if ringwasm_reactor::uring_driver().is_err() {
            eprintln!("io_uring unavailable here; the epoll variant covers this");
            return;
        }
        vectored_roundtrip(IoChoice::Uring);
    }
}
