//! The op interface: each op is defined once, with its io_uring half (an SQE)
//! and its readiness half (a nonblocking attempt plus the interest to wait
//! for) side by side in `op/<syscall>.rs`.
//!
//! Backends never name an op: io_uring pushes [`RawOp::sqe`], the fallback
//! waits for [`RawOp::readiness`] and calls [`RawOp::attempt`], and both hand
//! the resulting [`Completion`] to [`Op::complete`], which turns it into the
//! op's output (usually `(io::Result<T>, B)`, giving the buffers back).

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

mod accept;
mod close;
mod connect;
mod fallocate;
mod fsync;
mod linkat;
mod mkdirat;
mod openat2;
mod poll_add;
pub(crate) mod read;
mod readv;
mod recv;
mod renameat;
mod send;
mod send_zc;
mod shutdown;
mod splice;
mod statx;
mod symlinkat;
mod tee;
mod timeout;
mod unlinkat;
mod write;
mod writev;

pub use accept::{Accept, AcceptMulti};
pub use close::Close;
pub use connect::Connect;
pub use fallocate::Fallocate;
pub use fsync::Fsync;
pub use linkat::LinkAt;
pub use mkdirat::MkDirAt;
pub use openat2::{OpenAt2, resolve};
pub use poll_add::PollAdd;
pub use read::{Read, ReadFixed};
pub use readv::Readv;
pub use recv::{Recv, RecvProvided};
pub use renameat::RenameAt;
pub use send::Send;
pub use send_zc::SendZc;
pub use shutdown::Shutdown;
pub use splice::Splice;
pub use statx::{Statx, StatxBuf};
pub use symlinkat::SymlinkAt;
pub use tee::Tee;
pub use timeout::Timeout;
pub use unlinkat::UnlinkAt;
pub use write::Write;
pub use writev::Writev;

/// What the kernel (or the readiness path) reported for one op: `result` is
/// `cqe.res` (negative errno on failure), `flags` is `cqe.flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// `cqe.res`: a byte count, fd or zero on success, `-errno` on failure.
    pub result: i32,
    /// `cqe.flags` (`IORING_CQE_F_MORE`, `IORING_CQE_F_BUFFER`, ...).
    pub flags: u32,
}

impl Completion {
    /// A completion carrying `-errno`.
    pub const fn error(errno: i32) -> Self {
        Self {
            result: -errno,
            flags: 0,
        }
    }

    /// Builds a completion from the readiness path's result.
    pub fn from_result(r: io::Result<u32>) -> Self {
        match r {
            Ok(n) => Self {
                result: i32::try_from(n).unwrap_or(i32::MAX),
                flags: 0,
            },
            Err(e) => Self::error(e.raw_os_error().unwrap_or(libc::EIO)),
        }
    }

    /// The result as `io::Result`: the only place an OS error is built from a
    /// completion.
    ///
    /// # Errors
    ///
    /// The OS error when `result` is negative.
    pub fn into_result(self) -> io::Result<u32> {
        if self.result < 0 {
            Err(io::Error::from_raw_os_error(-self.result))
        } else {
            Ok(self.result.unsigned_abs())
        }
    }

    /// The completion of a read whose first `done` bytes an earlier attempt
    /// already brought in ([`RawOp::cached`]): the two counts added, or,
    /// when the rest failed, the bytes that did arrive (as `read(2)` reports
    /// a short read rather than the error that ended it).
    pub(crate) const fn after(self, done: u32) -> Self {
        if done == 0 {
            return self;
        }
        let done = if done > i32::MAX as u32 {
            i32::MAX
        } else {
            done as i32
        };
        Self {
            result: if self.result < 0 {
                done
            } else {
                self.result.saturating_add(done)
            },
            flags: self.flags,
        }
    }

    /// Whether more completions follow for the same multishot op
    /// (`IORING_CQE_F_MORE`).
    pub const fn more(&self) -> bool {
        self.flags & CQE_F_MORE != 0
    }
}

/// `IORING_CQE_F_MORE`.
pub const CQE_F_MORE: u32 = 1 << 1;
/// `IORING_CQE_F_BUFFER`: the upper 16 bits of `flags` name a provided buffer.
pub const CQE_F_BUFFER: u32 = 1 << 0;

/// What the readiness backend waits for before calling [`RawOp::attempt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Attempt now; the attempt is a direct (possibly blocking) syscall, as
    /// for regular files and directory operations.
    Now,
    /// Wait until `fd` is readable, then attempt; retry on `EAGAIN`.
    Readable(RawFd),
    /// Wait until `fd` is writable, then attempt; retry on `EAGAIN`.
    Writable(RawFd),
    /// Never attempt: complete with `-ETIME` after the duration.
    Timer(Duration),
}

/// The file an op targets: a plain descriptor, or a slot in the ring's
/// registered-file table (which also remembers the plain descriptor, so the
/// fallback can use it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A plain file descriptor.
    Fd(RawFd),
    /// A registered file, from [`crate::Driver::register_files`].
    Fixed(FixedFd),
}

/// A registered file: its index in the ring's table and the descriptor it
/// stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedFd {
    /// Index in the registered-file table.
    pub index: u32,
    /// The plain descriptor (used by the readiness backend).
    pub raw: RawFd,
}

impl Target {
    /// The plain descriptor, for the readiness path.
    pub const fn raw(self) -> RawFd {
        match self {
            Self::Fd(fd) => fd,
            Self::Fixed(f) => f.raw,
        }
    }

    /// The SQE's `fd` field and flags for this target.
    #[cfg(target_os = "linux")]
    pub(crate) fn sqe_fd(self) -> (io_uring::types::Fd, io_uring::squeue::Flags) {
        match self {
            Self::Fd(fd) => (io_uring::types::Fd(fd), io_uring::squeue::Flags::empty()),
            Self::Fixed(f) => (
                io_uring::types::Fd(i32::try_from(f.index).unwrap_or(i32::MAX)),
                io_uring::squeue::Flags::FIXED_FILE,
            ),
        }
    }
}

impl From<RawFd> for Target {
    fn from(fd: RawFd) -> Self {
        Self::Fd(fd)
    }
}

impl From<FixedFd> for Target {
    fn from(f: FixedFd) -> Self {
        Self::Fixed(f)
    }
}

impl From<&std::os::fd::OwnedFd> for Target {
    fn from(fd: &std::os::fd::OwnedFd) -> Self {
        use std::os::fd::AsRawFd;
        Self::Fd(fd.as_raw_fd())
    }
}

pub(crate) mod sealed {
    /// Only this crate defines ops.
    pub trait Sealed {}
}

/// The backend-facing half of an op: what io_uring submits and what the
/// readiness path attempts. Object safe, so backends take `&mut dyn RawOp`.
///
/// # Safety
///
/// The SQE from [`RawOp::sqe`] may only point into memory owned by `self`
/// through a stable heap address (a boxed field or an [`crate::IoBuf`]) or
/// into `'static` memory; it stays valid while `self` exists, wherever `self`
/// is moved. Backends keep `self` alive until the completion is reaped.
pub unsafe trait RawOp: sealed::Sealed + 'static {
    /// Kernel spelling, e.g. `IORING_OP_READ`.
    fn name(&self) -> &'static str;
    /// The io_uring submission entry (without `user_data`).
    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry;
    /// What to wait for before [`RawOp::attempt`] on the readiness path.
    fn readiness(&self) -> Readiness;
    /// One nonblocking attempt (sockets) or one direct syscall (files).
    ///
    /// # Errors
    ///
    /// The OS error; `WouldBlock` means "wait for readiness and retry".
    fn attempt(&mut self) -> io::Result<u32>;
    /// Whether one submission yields many completions (`IORING_CQE_F_MORE`
    /// on all but the last). The readiness backend then keeps attempting
    /// after each success.
    fn multishot(&self) -> bool {
        false
    }
    /// Sees a completion that arrived after the op was abandoned (its future
    /// dropped), so the op can release what the kernel handed over: close an
    /// accepted or opened fd, return a provided buffer.
    fn abandoned(&mut self, c: Completion) {
        let _ = c;
    }
    /// The page-cache attempt the io_uring backends make before queueing the
    /// SQE, for reads that asked for it (`cached_first`): one
    /// `preadv2(RWF_NOWAIT)`, which the kernel serves only from the page
    /// cache and otherwise refuses with `EAGAIN` without waiting. `Some(c)`:
    /// the op is done with `c`. `None` (the default, and a miss): queue the
    /// SQE; after a short attempt the SQE reads only what is left and the
    /// completion counts both parts. See `docs/design/reactor.md`,
    /// "Cached reads".
    #[cfg(target_os = "linux")]
    fn cached(&mut self) -> Option<Completion> {
        None
    }
    /// The op as a [`BlockingCall`] that a blocking-pool thread may run, for
    /// the readiness backend's pool mode; `None` (the default) runs the op
    /// on the calling thread as usual. Only positioned file reads and writes
    /// offer one: a pipe or socket given an offset fails with `ESPIPE`
    /// there as here.
    fn blocking(&mut self) -> Option<BlockingCall> {
        None
    }
    /// Takes back the [`BlockingCall`] from [`RawOp::blocking`] once a pool
    /// thread ran it with result `r`: a read copies the bytes into the op's
    /// buffer. Returns the op's result.
    ///
    /// # Errors
    ///
    /// `r`'s error.
    fn blocking_done(&mut self, call: BlockingCall, r: io::Result<u32>) -> io::Result<u32> {
        let _ = call;
        r
    }
}

/// A positioned file read or write as plain data, to run on another thread
/// (the readiness backend's blocking pool). It carries its own page-aligned
/// buffer (so `O_DIRECT` works) and never points into the op's memory: the
/// op may be dropped while the call runs, and only the owning thread copies
/// between the two ([`RawOp::blocking_done`]).
#[derive(Debug)]
pub struct BlockingCall {
    fd: RawFd,
    offset: u64,
    write: bool,
    len: usize,
    buf: crate::AlignedBuf,
}

impl BlockingCall {
    /// A `pread(fd, len, offset)` into a fresh buffer.
    pub(crate) fn read(fd: RawFd, len: usize, offset: u64) -> Self {
        Self {
            fd,
            offset,
            write: false,
            len,
            buf: crate::AlignedBuf::new(len),
        }
    }

    /// A `pwrite(fd, data, offset)` of a copy of `data`.
    pub(crate) fn write(fd: RawFd, data: &[u8], offset: u64) -> Self {
        let mut buf = crate::AlignedBuf::new(data.len());
        buf.as_mut_slice()[..data.len()].copy_from_slice(data);
        Self {
            fd,
            offset,
            write: true,
            len: data.len(),
            buf,
        }
    }

    /// Runs the syscall on the calling thread (blocking).
    ///
    /// # Errors
    ///
    /// The OS error of `pread`/`pwrite`.
    pub fn run(&mut self) -> io::Result<u32> {
        let off = libc::off_t::try_from(self.offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let ptr = self.buf.as_mut_slice().as_mut_ptr();
        let r = if self.write {
            // SAFETY: `ptr` points to `len` initialised bytes of `self.buf`,
            // which `&mut self` keeps alive and unaliased during the call.
            unsafe { libc::pwrite(self.fd, ptr.cast(), self.len, off) }
        } else {
            // SAFETY: `ptr` points to `len` writable bytes of `self.buf`, as
            // above.
            unsafe { libc::pread(self.fd, ptr.cast(), self.len, off) }
        };
        cvt(r as libc::c_long)
    }

    /// The bytes a read brought in (the first `n` of the buffer).
    pub(crate) fn data(&self, n: usize) -> &[u8] {
        &self.buf.as_slice()[..n.min(self.len)]
    }
}

/// An operation: an SQE half, a readiness half, and how its completion
/// becomes its output.
pub trait Op: RawOp + Sized {
    /// The op's io_uring opcode (`IORING_OP_*`); probed at start-up.
    const CODE: u8;
    /// Kernel spelling of the opcode, for logs and skip messages.
    const NAME: &'static str;
    /// What the op yields, usually `(io::Result<T>, B)`.
    type Output;
    /// Turns the completion into the output, giving buffers back.
    fn complete(self, c: Completion) -> Self::Output;
}

/// A multishot op: one submission, a stream of items (see
/// [`crate::Driver::submit_multi`]).
pub trait MultiOp: RawOp + Sized {
    /// The op's io_uring opcode.
    const CODE: u8;
    /// Kernel spelling of the opcode and mode.
    const NAME: &'static str;
    /// What each completion yields.
    type Item;
    /// Turns one completion into an item.
    fn item(&mut self, c: Completion) -> Self::Item;
}

/// Every opcode the reactor submits, with its kernel spelling: `auto` probes
/// all of them.
pub const OPCODES: &[(u8, &str)] = &[
    (Read::<Vec<u8>>::CODE, Read::<Vec<u8>>::NAME),
    (ReadFixed::CODE, ReadFixed::NAME),
    (Write::<Vec<u8>>::CODE, Write::<Vec<u8>>::NAME),
    (Readv::<Vec<u8>>::CODE, Readv::<Vec<u8>>::NAME),
    (Writev::<Vec<u8>>::CODE, Writev::<Vec<u8>>::NAME),
    (OpenAt2::CODE, OpenAt2::NAME),
    (Statx::CODE, Statx::NAME),
    (Close::CODE, Close::NAME),
    (Fsync::CODE, Fsync::NAME),
    (Fallocate::CODE, Fallocate::NAME),
    (MkDirAt::CODE, MkDirAt::NAME),
    (UnlinkAt::CODE, UnlinkAt::NAME),
    (RenameAt::CODE, RenameAt::NAME),
    (SymlinkAt::CODE, SymlinkAt::NAME),
    (LinkAt::CODE, LinkAt::NAME),
    (Accept::CODE, Accept::NAME),
    (Connect::CODE, Connect::NAME),
    (Send::<Vec<u8>>::CODE, Send::<Vec<u8>>::NAME),
    (Recv::<Vec<u8>>::CODE, Recv::<Vec<u8>>::NAME),
    (Shutdown::CODE, Shutdown::NAME),
    (Splice::CODE, Splice::NAME),
    (Tee::CODE, Tee::NAME),
    (Timeout::CODE, Timeout::NAME),
    (ASYNC_CANCEL_CODE, "IORING_OP_ASYNC_CANCEL"),
    (PollAdd::CODE, PollAdd::NAME),
    (LINK_TIMEOUT_CODE, "IORING_OP_LINK_TIMEOUT"),
];

/// Opcodes used only by optional features (`SendZc`, multishot accept, recv
/// from a provided-buffer ring): a kernel lacking them still gets io_uring,
/// and tests needing them say why they skip.
pub const OPTIONAL_OPCODES: &[(u8, &str)] = &[(SendZc::<Vec<u8>>::CODE, SendZc::<Vec<u8>>::NAME)];

/// `IORING_OP_ASYNC_CANCEL`, used by [`crate::Submit::cancel`] and on drop.
pub const ASYNC_CANCEL_CODE: u8 = 14;

/// `IORING_OP_LINK_TIMEOUT`.
pub const LINK_TIMEOUT_CODE: u8 = 15;

/// Converts a libc return value (`-1` + errno, or a count) to `io::Result`.
pub(crate) fn cvt(r: libc::c_long) -> io::Result<u32> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(u32::try_from(r).unwrap_or(u32::MAX))
    }
}

/// Closes the descriptor a completion handed over (for ops abandoned before
/// an `accept`/`open` completed, so the fd does not leak).
pub(crate) fn close_result_fd(c: Completion) {
    if c.result >= 0 {
        // SAFETY: a successful accept/open completion carries a new
        // descriptor that nothing else owns.
        unsafe { libc::close(c.result) };
    }
}

/// What a page-cache attempt ([`RawOp::cached`]) found.
#[cfg(target_os = "linux")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CachedRead {
    /// All of it, or end of file: the op is done with this completion.
    Done(Completion),
    /// The first bytes only: the SQE reads the rest.
    Partial(u32),
    /// Nothing cached (`EAGAIN`), or an error the SQE will report properly.
    Miss,
}

#[cfg(target_os = "linux")]
impl CachedRead {
    /// What [`RawOp::cached`] returns for this outcome: the completion of a
    /// hit; `None` for a miss, and for a short hit after recording its
    /// bytes in `done` (the SQE then reads the rest).
    pub(crate) fn finish(self, done: &mut u32) -> Option<Completion> {
        match self {
            Self::Done(c) => Some(c),
            Self::Partial(n) => {
                *done = n;
                None
            }
            Self::Miss => None,
        }
    }
}

/// [`read_cached`] of one buffer: `len` bytes at `ptr`, at `offset`.
#[cfg(target_os = "linux")]
pub(crate) fn read_cached_one(fd: RawFd, ptr: *mut u8, len: usize, offset: u64) -> CachedRead {
    let iov = [libc::iovec {
        iov_base: ptr.cast(),
        iov_len: len,
    }];
    read_cached(fd, &iov, offset, len)
}

/// One `preadv2(fd, iov, offset, RWF_NOWAIT)` (`offset` `u64::MAX`: at the
/// file position, as io_uring spells it) of `total` bytes.
#[cfg(target_os = "linux")]
pub(crate) fn read_cached(fd: RawFd, iov: &[libc::iovec], offset: u64, total: usize) -> CachedRead {
    let n = libc::c_int::try_from(iov.len()).unwrap_or(libc::c_int::MAX);
    // `-1` asks preadv2 for the file position, like io_uring's `u64::MAX`;
    // an offset past `off_t` is left to the SQE, which reports `EINVAL`.
    let off = match libc::off_t::try_from(offset) {
        Ok(off) => off,
        Err(_) if offset == u64::MAX => -1,
        Err(_) => return CachedRead::Miss,
    };
    // SAFETY: `iov` holds `n` entries, each naming writable memory owned by
    // the calling op (IoBufMut contract) for the duration of the call.
    let r = unsafe { libc::preadv2(fd, iov.as_ptr(), n, off, libc::RWF_NOWAIT) };
    match u32::try_from(r) {
        Err(_) => CachedRead::Miss,
        Ok(got) if got as usize >= total || got == 0 => CachedRead::Done(Completion {
            result: i32::try_from(got).unwrap_or(i32::MAX),
            flags: 0,
        }),
        Ok(got) => CachedRead::Partial(got),
    }
}

/// Clamps a buffer length to what one SQE can carry.
pub(crate) fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `Read`/`Recv`-style completion: on success records the bytes written into
/// the buffer and returns `(Ok(n), buf)`.
pub(crate) fn complete_into<B: crate::IoBufMut>(
    c: Completion,
    mut buf: B,
) -> (io::Result<usize>, B) {
    match c.into_result() {
        Ok(n) => {
            // SAFETY: the kernel (or the syscall) wrote `n` bytes, and `n` never
            // exceeds the length the op passed, which was `bytes_total()`.
            unsafe { buf.set_init(n as usize) };
            (Ok(n as usize), buf)
        }
        Err(e) => (Err(e), buf),
    }
}

/// Makes a NUL-terminated path for the kernel, boxed so its address is stable.
///
/// # Errors
///
/// `InvalidInput` when the path holds a NUL byte.
pub(crate) fn cpath(p: &std::path::Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {} contains a NUL byte", p.display()),
        )
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
