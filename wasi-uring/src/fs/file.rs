//! Operations on an open descriptor: metadata, sync, advice, size, times,
//! and how reads and writes reach the kernel.
//!
//! Reads and writes are reactor ops. Two routes skip the ring, each where
//! the ring would only add a worker-thread hop for a caller that blocks
//! anyway (`docs/architecture.md`, "Two rings per thread"): a read of a
//! regular file first tries the page cache (`cached_first`, one
//! `preadv2(RWF_NOWAIT)`), and a write to a regular file on a file system
//! that cannot complete buffered writes without blocking (ext4, tmpfs) is
//! one direct `pwritev2` ([`write_direct`]). Appends are direct too
//! ([`append`]): `pwritev2(RWF_APPEND)` has no ring equivalent here.

use std::cell::Cell;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};

use ringwasm_reactor::inline::Inline;
use ringwasm_reactor::op::Fsync;
use rustix::fs::Timestamps;
#[cfg(target_os = "linux")]
use rustix::io::ReadWriteFlags;

use crate::error::Errno;
use crate::fs::{errno, io_errno};

/// What `advise` tells the kernel about a range of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// No particular pattern.
    Normal,
    /// Read in order.
    Sequential,
    /// Read in no order.
    Random,
    /// Needed soon.
    WillNeed,
    /// Not needed soon.
    DontNeed,
    /// Read once.
    NoReuse,
}

/// `posix_fadvise`. Advice is a hint the host may ignore (WASI permits
/// it), and macOS has no `posix_fadvise`: there it does nothing.
///
/// # Errors
///
/// The host's errno (`EINVAL` for a range past `i64`).
pub fn advise(fd: BorrowedFd<'_>, offset: u64, len: u64, advice: Advice) -> Result<(), Errno> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::Advice as A;
        let a = match advice {
            Advice::Normal => A::Normal,
            Advice::Sequential => A::Sequential,
            Advice::Random => A::Random,
            Advice::WillNeed => A::WillNeed,
            Advice::DontNeed => A::DontNeed,
            Advice::NoReuse => A::NoReuse,
        };
        rustix::fs::fadvise(fd, offset, std::num::NonZeroU64::new(len), a).map_err(errno)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (fd, offset, len, advice);
        Ok(())
    }
}

/// `fsync`, or `fdatasync` with `data_only`: a reactor `Fsync` op.
///
/// # Errors
///
/// The host's errno.
pub fn sync(inline: &Inline, fd: BorrowedFd<'_>, data_only: bool) -> Result<(), Errno> {
    let op = Fsync::new(fd.as_raw_fd()).datasync(data_only);
    inline.run(op).map_err(io_errno)
}

/// `ftruncate`.
///
/// # Errors
///
/// [`Errno::Inval`] past `i64::MAX`; the host's errno.
pub fn set_size(fd: BorrowedFd<'_>, len: u64) -> Result<(), Errno> {
    if len > i64::MAX as u64 {
        return Err(Errno::Inval);
    }
    rustix::fs::ftruncate(fd, len).map_err(errno)
}

/// `futimens`.
///
/// # Errors
///
/// The host's errno.
pub fn set_times(fd: BorrowedFd<'_>, ts: &Timestamps) -> Result<(), Errno> {
    rustix::fs::futimens(fd, ts).map_err(errno)
}

/// Where a write goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteAt {
    /// At the file position, advancing it (`writev`).
    Position,
    /// At this offset (`pwritev`), which must fit in `i64`.
    Offset(u64),
}

/// A write to a regular file on a file system that cannot complete
/// buffered writes without blocking (ext4 and tmpfs today): io_uring would
/// hand every such write to a kernel worker thread (two context switches and
/// a wake-up per write), so it is one direct `pwritev2` on the caller's
/// thread instead. The first write to each file finds out, by being made
/// with `RWF_NOWAIT`: `EOPNOTSUPP` is the file system saying it cannot (and
/// nothing was written); `direct` remembers the answer. `Ok(None)`: use the
/// reactor.
///
/// # Errors
///
/// The host's error (an OS error, as a stream reports it).
#[cfg(target_os = "linux")]
pub fn write_direct(
    fd: BorrowedFd<'_>,
    direct: &Cell<Option<bool>>,
    slices: &[IoSlice<'_>],
    at: WriteAt,
) -> std::io::Result<Option<usize>> {
    if direct.get() == Some(false) {
        return Ok(None);
    }
    // `u64::MAX`: at (and advancing) the file position, as `writev`.
    let offset = match at {
        WriteAt::Position => u64::MAX,
        WriteAt::Offset(o) => o,
    };
    if direct.get().is_none() {
        let probe = rustix::io::pwritev2(fd, slices, offset, ReadWriteFlags::NOWAIT);
        match classify_nowait_probe(probe) {
            NowaitProbe::Wrote(n) => {
                direct.set(Some(false));
                return Ok(Some(n));
            }
            NowaitProbe::Direct => direct.set(Some(true)),
            NowaitProbe::Reactor => {
                direct.set(Some(false));
                return Ok(None);
            }
            NowaitProbe::Failed(e) => return Err(e.into()),
        }
    }
    Ok(Some(rustix::io::pwritev2(
        fd,
        slices,
        offset,
        ReadWriteFlags::empty(),
    )?))
}

/// What the first `pwritev2(RWF_NOWAIT)` to a file says about its route.
#[cfg(target_os = "linux")]
#[derive(Debug, PartialEq, Eq)]
enum NowaitProbe {
    /// It wrote: the file system completes buffered writes without
    /// blocking, so the reactor takes every later write.
    Wrote(usize),
    /// `EOPNOTSUPP`: the file system cannot, nothing was written; write
    /// directly from now on.
    Direct,
    /// `EAGAIN` (it could, but would block now) or `ENOSYS` (no `pwritev2`
    /// at all: kernels before 4.6, seccomp filters, qemu-user 7): nothing
    /// was written; the reactor writes, now and later.
    Reactor,
    /// Any other error is the write's own.
    Failed(rustix::io::Errno),
}

#[cfg(target_os = "linux")]
fn classify_nowait_probe(result: rustix::io::Result<usize>) -> NowaitProbe {
    match result {
        Ok(n) => NowaitProbe::Wrote(n),
        Err(rustix::io::Errno::OPNOTSUPP) => NowaitProbe::Direct,
        Err(rustix::io::Errno::AGAIN | rustix::io::Errno::NOSYS) => NowaitProbe::Reactor,
        Err(err) => NowaitProbe::Failed(err),
    }
}

/// Outside Linux there is no io_uring to keep buffered writes away from
/// (nor `pwritev2`): `None`, the reactor's readiness backend writes to a
/// regular file with one direct `pwritev`/`writev` anyway.
///
/// # Errors
///
/// None.
#[cfg(not(target_os = "linux"))]
pub fn write_direct(
    _fd: BorrowedFd<'_>,
    _direct: &Cell<Option<bool>>,
    _slices: &[IoSlice<'_>],
    _at: WriteAt,
) -> std::io::Result<Option<usize>> {
    Ok(None)
}

/// One write of `data` at the end of the file, whatever the descriptor's
/// mode: `pwritev2(RWF_APPEND)` on Linux, elsewhere `O_APPEND` set around
/// one `write` (not atomic with other users of the open file description;
/// a guest is one thread). A direct syscall: the ring has no append flag
/// the reactor's ops pass.
///
/// # Errors
///
/// The host's error (an OS error, as a stream reports it).
pub fn append(fd: BorrowedFd<'_>, data: &[u8]) -> std::io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        match rustix::io::pwritev2(fd, &[IoSlice::new(data)], 0, ReadWriteFlags::APPEND) {
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::NOTSUP) => {}
            r => return Ok(r?),
        }
    }
    let old = rustix::fs::fcntl_getfl(fd)?;
    rustix::fs::fcntl_setfl(fd, old | rustix::fs::OFlags::APPEND)?;
    let r = rustix::io::write(fd, data);
    let restored = rustix::fs::fcntl_setfl(fd, old);
    let n = r?;
    restored?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel (or emulator, or seccomp filter) without `pwritev2` must
    /// send the write to the reactor, not fail it: qemu-user 7 says
    /// `ENOSYS`, and every fallback write under qemu-aarch64 failed.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_missing_pwritev2_routes_writes_to_the_reactor() {
        use rustix::io::Errno;
        assert_eq!(
            classify_nowait_probe(Err(Errno::NOSYS)),
            NowaitProbe::Reactor
        );
        assert_eq!(
            classify_nowait_probe(Err(Errno::AGAIN)),
            NowaitProbe::Reactor
        );
        assert_eq!(
            classify_nowait_probe(Err(Errno::OPNOTSUPP)),
            NowaitProbe::Direct
        );
        assert_eq!(classify_nowait_probe(Ok(7)), NowaitProbe::Wrote(7));
        assert_eq!(
            classify_nowait_probe(Err(Errno::NOSPC)),
            NowaitProbe::Failed(Errno::NOSPC)
        );
    }

    #[test]
    fn append_goes_to_the_end_whatever_the_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").expect("write");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        let fd = std::os::fd::AsFd::as_fd(&f);
        assert_eq!(append(fd, b"de").expect("append"), 2);
        assert_eq!(append(fd, b"f").expect("append"), 1);
        assert_eq!(std::fs::read(&path).expect("read"), b"abcdef");
        // The descriptor itself is not left in append mode.
        let fl = rustix::fs::fcntl_getfl(fd).expect("getfl");
        assert!(!fl.contains(rustix::fs::OFlags::APPEND));
    }

    #[test]
    fn direct_writes_learn_the_route_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let f = std::fs::File::create(&path).expect("create");
        let fd = std::os::fd::AsFd::as_fd(&f);
        let route = Cell::new(None);
        let first = write_direct(fd, &route, &[IoSlice::new(b"ab")], WriteAt::Offset(0))
            .expect("first write");
        let second = write_direct(fd, &route, &[IoSlice::new(b"cd")], WriteAt::Offset(2))
            .expect("second write");
        match route.get() {
            // The file system cannot write without blocking: both direct.
            Some(true) => {
                assert_eq!((first, second), (Some(2), Some(2)));
                assert_eq!(std::fs::read(&path).expect("read"), b"abcd");
            }
            // It can: the probe may have written, the rest is the ring's.
            Some(false) => assert_eq!(second, None),
            // Only Linux probes (elsewhere there is no ring to avoid).
            None if cfg!(target_os = "linux") => panic!("the first write did not probe"),
            None => assert_eq!((first, second), (None, None)),
        }
    }

    #[test]
    fn set_size_refuses_sizes_past_i64() {
        let f = tempfile::tempfile().expect("tempfile");
        let fd = std::os::fd::AsFd::as_fd(&f);
        assert_eq!(set_size(fd, u64::MAX), Err(Errno::Inval));
        assert_eq!(set_size(fd, 7), Ok(()));
        assert_eq!(f.metadata().expect("stat").len(), 7);
    }
}
