//! The streams of a file: `read-via-stream`, `write-via-stream` and
//! `append-via-stream`, as [`InputSource`] and [`OutputSink`].
//!
//! A file is always ready, so its pollables are [`Readiness::Ready`] and
//! every operation completes when called: a read is one reactor `Read` at
//! the stream's position (page cache first for regular files), a write goes
//! the way [`crate::fs::file`] routes writes. What the guest sees follows
//! wasmtime where the spec leaves room: reads return at most
//! [`MAX_READ`] bytes, a read at the end of the file closes the stream for
//! good, writes may take [`WRITE_PERMIT`] bytes at a time, and a failed
//! write is reported by the next `check-write` or flush (after which the
//! stream is closed), as wasmtime's background writes report it.

use std::cell::Cell;
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::rc::Rc;

use ringwasm_reactor::inline::Inline;
use ringwasm_reactor::op::{Read, Write};

use crate::fs::file::{WriteAt, append, write_direct};
use crate::p2::io::{InputSource, OutputSink, Readiness, StreamError};

/// The most one read returns (wasmtime's `MAX_READ_SIZE_ALLOC`): a guest
/// asking for more gets a short read and asks again.
pub const MAX_READ: usize = 64 * 1024;

/// What `check-write` allows at a time (wasmtime's file write capacity).
pub const WRITE_PERMIT: u64 = 1024 * 1024;

/// `EINVAL` for an offset past `i64::MAX`: the kernel's answer, which
/// io_uring would not give (to it, offset `-1` means "the file position").
fn past_i64(offset: u64) -> Option<std::io::Error> {
    (offset > i64::MAX as u64).then(|| std::io::Error::from_raw_os_error(libc::EINVAL))
}

/// One positioned read of up to `len` bytes (at most [`MAX_READ`]) through
/// the reactor; a regular file tries the page cache first.
///
/// # Errors
///
/// The host's error; `EINVAL` for an offset past `i64::MAX`.
pub(crate) fn read_at(
    inline: &Inline,
    fd: &OwnedFd,
    regular: bool,
    len: u64,
    offset: u64,
) -> std::io::Result<Vec<u8>> {
    if let Some(e) = past_i64(offset) {
        return Err(e);
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX).min(MAX_READ);
    let op = Read::new(fd.as_raw_fd(), Vec::with_capacity(len)).offset(offset);
    let op = if regular { op.cached_first() } else { op };
    let (res, mut buf) = inline.run(op);
    let n = res?;
    buf.truncate(n);
    Ok(buf)
}

/// One positioned write of `data` (possibly short): direct or through the
/// reactor, as [`write_direct`] decides for regular files.
///
/// # Errors
///
/// The host's error; `EINVAL` for an offset past `i64::MAX`.
pub(crate) fn write_at(
    inline: &Inline,
    fd: &OwnedFd,
    route: Option<&Cell<Option<bool>>>,
    data: Vec<u8>,
    offset: u64,
) -> std::io::Result<usize> {
    if let Some(e) = past_i64(offset) {
        return Err(e);
    }
    if let Some(route) = route
        && let Some(n) = write_direct(
            fd.as_fd(),
            route,
            &[IoSlice::new(&data)],
            WriteAt::Offset(offset),
        )?
    {
        return Ok(n);
    }
    let (res, _) = inline.run(Write::new(fd.as_raw_fd(), data).offset(offset));
    res
}

/// The source of `read-via-stream`: reads at a position of its own.
pub struct FileInput {
    fd: Rc<OwnedFd>,
    position: u64,
    regular: bool,
    closed: bool,
}

impl FileInput {
    /// Reads `fd` from `position` on; `regular` files try the page cache
    /// first.
    pub fn new(fd: Rc<OwnedFd>, position: u64, regular: bool) -> Self {
        FileInput {
            fd,
            position,
            regular,
            closed: false,
        }
    }
}

impl InputSource for FileInput {
    fn read(&mut self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError> {
        // A file never makes a reader wait for long: the read is done now.
        self.blocking_read(inline, len)
    }

    fn blocking_read(&mut self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        if len == 0 {
            // "A request to read 0 bytes": empty while the stream is open.
            return Ok(Vec::new());
        }
        match read_at(inline, &self.fd, self.regular, len as u64, self.position) {
            Ok(buf) if buf.is_empty() => {
                self.closed = true;
                Err(StreamError::Closed)
            }
            Ok(buf) => {
                self.position += buf.len() as u64;
                Ok(buf)
            }
            Err(e) => {
                self.closed = true;
                Err(StreamError::Failed(e))
            }
        }
    }

    fn readiness(&self) -> Readiness {
        Readiness::Ready
    }
}

/// Where a file output stream writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// At this offset, which advances.
    At(u64),
    /// At the end of the file.
    Append,
}

/// The state of a file output stream.
#[derive(Debug)]
enum State {
    Ready,
    /// A write failed; the next `check-write` or flush reports it.
    Failed(std::io::Error),
    Closed,
}

/// The sink of `write-via-stream` and `append-via-stream`.
pub struct FileOutput {
    fd: Rc<OwnedFd>,
    /// The regular file's write route (`None` for other files).
    route: Option<Rc<Cell<Option<bool>>>>,
    mode: Mode,
    state: State,
}

impl FileOutput {
    /// Writes to `fd` from `position` on.
    pub fn at(fd: Rc<OwnedFd>, route: Option<Rc<Cell<Option<bool>>>>, position: u64) -> Self {
        FileOutput {
            fd,
            route,
            mode: Mode::At(position),
            state: State::Ready,
        }
    }

    /// Writes to the end of `fd`.
    pub fn append(fd: Rc<OwnedFd>) -> Self {
        FileOutput {
            fd,
            route: None,
            mode: Mode::Append,
            state: State::Ready,
        }
    }

    /// Writes all of `bytes`, advancing the position.
    fn write_all(&mut self, inline: &Inline, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let n = match self.mode {
                Mode::Append => append(self.fd.as_fd(), bytes)?,
                Mode::At(p) => {
                    write_at(inline, &self.fd, self.route.as_deref(), bytes.to_vec(), p)?
                }
            };
            if n == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::WriteZero));
            }
            if let Mode::At(p) = &mut self.mode {
                *p += n as u64;
            }
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Reports a pending failure once, then `Closed` for good.
    fn settle(&mut self) -> Result<(), StreamError> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Ready => {
                self.state = State::Ready;
                Ok(())
            }
            State::Failed(e) => Err(StreamError::Failed(e)),
            State::Closed => Err(StreamError::Closed),
        }
    }
}

impl OutputSink for FileOutput {
    fn check_write(&mut self, _: &Inline) -> Result<u64, StreamError> {
        self.settle().map(|()| WRITE_PERMIT)
    }

    fn write(&mut self, inline: &Inline, bytes: &[u8]) -> Result<(), StreamError> {
        self.settle()?;
        if let Err(e) = self.write_all(inline, bytes) {
            self.state = State::Failed(e);
        }
        Ok(())
    }

    fn flush(&mut self, _: &Inline) -> Result<(), StreamError> {
        self.settle()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{Io, IoChoice};

    fn inline() -> (Io, Inline) {
        let io = Io::new(IoChoice::Epoll).expect("epoll");
        let inline = Inline::new(io.driver());
        (io, inline)
    }

    fn file(content: &[u8], write: bool) -> (tempfile::TempDir, Rc<OwnedFd>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, content).expect("write");
        let f = std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .open(&path)
            .expect("open");
        (dir, Rc::new(f.into()))
    }

    #[test]
    fn reads_close_at_the_end_and_stay_closed() {
        let (_io, inline) = inline();
        let (_d, fd) = file(b"abcdef", false);
        let mut s = FileInput::new(fd, 2, true);
        assert_eq!(s.blocking_read(&inline, 3).expect("read"), b"cde");
        assert!(s.read(&inline, 0).expect("empty").is_empty());
        assert_eq!(s.read(&inline, 100).expect("read"), b"f");
        assert!(matches!(s.read(&inline, 1), Err(StreamError::Closed)));
        assert!(matches!(s.read(&inline, 0), Err(StreamError::Closed)));
    }

    #[test]
    fn reads_past_i64_fail_once_then_close() {
        let (_io, inline) = inline();
        let (_d, fd) = file(b"abc", false);
        let mut s = FileInput::new(fd, u64::MAX, true);
        let Err(StreamError::Failed(e)) = s.read(&inline, 1) else {
            panic!("expected a failure");
        };
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
        assert!(matches!(s.read(&inline, 1), Err(StreamError::Closed)));
    }

    #[test]
    fn reads_are_capped() {
        let (_io, inline) = inline();
        let (_d, fd) = file(&vec![7u8; MAX_READ * 2], false);
        let mut s = FileInput::new(fd, 0, true);
        assert_eq!(s.read(&inline, usize::MAX).expect("read").len(), MAX_READ);
    }

    #[test]
    fn a_failed_write_is_reported_by_the_next_call_then_closes() {
        let (_io, inline) = inline();
        // Opened read-only: every write fails with EBADF.
        let (_d, fd) = file(b"abc", false);
        let mut s = FileOutput::at(fd, None, 0);
        assert_eq!(s.check_write(&inline).expect("permit"), WRITE_PERMIT);
        s.write(&inline, b"x")
            .expect("the write itself is accepted");
        let Err(StreamError::Failed(e)) = s.flush(&inline) else {
            panic!("expected the failure");
        };
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
        assert!(matches!(s.check_write(&inline), Err(StreamError::Closed)));
        assert!(matches!(s.write(&inline, b"y"), Err(StreamError::Closed)));
    }

    #[test]
    fn writes_advance_and_appends_go_to_the_end() {
        let (_io, inline) = inline();
        let (d, fd) = file(b"0123456789", true);
        let route = Rc::new(Cell::new(None));
        let mut s = FileOutput::at(fd.clone(), Some(route), 2);
        s.write(&inline, b"ab").expect("write");
        s.write(&inline, b"cd").expect("write");
        s.flush(&inline).expect("flush");
        let mut a = FileOutput::append(fd);
        a.write(&inline, b"END").expect("append");
        a.blocking_flush(&inline).expect("flush");
        let got = std::fs::read(d.path().join("f")).expect("read back");
        assert_eq!(got, b"01abcd6789END");
    }
}
