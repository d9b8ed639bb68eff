//! `wasi:io`: errors, pollables and streams.
//!
//! A stream is a [`InputSource`] or [`OutputSink`] behind the `input-stream`
//! and `output-stream` resources, so each kind (stdio, files, sockets, HTTP
//! bodies) implements only its own I/O. A pollable is a [`Readiness`]: what
//! to wait for, which `poll` turns into reactor operations (a poll on a
//! descriptor or a timer) and waits for on the ring.

use std::cell::{Cell, RefCell};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use ringwasm_jit::component::__internal::Trap;
use ringwasm_jit::component::{Resource, ResourceTable, ResourceTableError};
use ringwasm_reactor::inline::Inline;
use ringwasm_reactor::op::{PollAdd, Read, Timeout, Write};

use crate::ctx::WasiCtx;
use crate::p2::bindings::wasi::io::{error, poll, streams};

/// The largest buffer `blocking-write-and-flush` takes (wasmtime's limit).
pub const MAX_BLOCKING_WRITE: usize = 4096;

/// A trap for a host-table failure: the guest passed a handle the host
/// does not know (which the canonical ABI's checks make a host bug).
pub(crate) fn table_trap(e: ResourceTableError) -> Trap {
    Trap::host(format!("host resource table: {e}"))
}

/// The `error` resource: the I/O error behind a failed stream operation.
#[derive(Debug)]
pub struct IoError(pub std::io::Error);

/// How a stream operation failed, on the host side.
#[derive(Debug)]
pub enum StreamError {
    /// The stream is closed (end of input, or the peer went away).
    Closed,
    /// The last operation failed; the guest gets an `error` resource.
    Failed(std::io::Error),
    /// The guest broke a rule (a write larger than `check-write` allowed):
    /// a trap, as wasmtime's.
    Trap(Trap),
}

impl From<std::io::Error> for StreamError {
    fn from(e: std::io::Error) -> Self {
        StreamError::Failed(e)
    }
}

/// What a pollable waits for.
#[derive(Clone)]
pub enum Readiness {
    /// Always ready.
    Ready,
    /// The descriptor becomes readable (or hangs up).
    Readable(Rc<OwnedFd>),
    /// The descriptor becomes writable.
    Writable(Rc<OwnedFd>),
    /// The monotonic clock reaches this instant.
    At(Instant),
    /// Host work in the background finishes (a socket's write in flight).
    Signal(Rc<Signal>),
    /// Whatever the owner's state asks for when the pollable is polled: a
    /// socket's pollable lives across its state changes (`subscribe` once,
    /// then bind, connect, listen), so it is asked each time.
    Dynamic(Rc<dyn Fn() -> Readiness>),
    /// Never ready (a pollable of a closed stream that never reports).
    Never,
    /// Ready when a host-side future says so (HTTP bodies and futures).
    Host(Rc<dyn HostReady>),
}

/// Readiness that only host code can tell: polled with a no-op waker for
/// `ready`, with the waiting task's waker by `poll` and `block`.
pub trait HostReady {
    /// `Ready` once the pollable is ready.
    fn poll_ready(&self, cx: &mut std::task::Context<'_>) -> Poll<()>;
}

fn host_ready_now(h: &dyn HostReady) -> bool {
    h.poll_ready(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        .is_ready()
}

impl Readiness {
    /// What to wait for now: a [`Readiness::Dynamic`] asked for its
    /// current answer.
    fn resolve(&self) -> Readiness {
        match self {
            Readiness::Dynamic(f) => match f() {
                // One level: an owner never answers with another closure.
                Readiness::Dynamic(_) => Readiness::Ready,
                r => r,
            },
            r => r.clone(),
        }
    }

    /// Whether it is ready now, without waiting.
    fn ready_now(&self) -> bool {
        match self.resolve() {
            Readiness::Ready => true,
            Readiness::At(t) => t <= Instant::now(),
            Readiness::Readable(fd) => readable_now(&fd),
            Readiness::Writable(fd) => writable_now(&fd),
            Readiness::Signal(s) => s.is_set(),
            Readiness::Host(h) => host_ready_now(&*h),
            Readiness::Dynamic(_) | Readiness::Never => false,
        }
    }
}

/// A one-shot event that host code sets when background work finishes;
/// pollables wait for it on the thread's executor.
#[derive(Default)]
pub struct Signal {
    set: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Signal {
    /// Marks the event as happened and wakes every waiter.
    pub fn set(&self) {
        self.set.set(true);
        for w in self.wakers.take() {
            w.wake();
        }
    }

    /// Whether the event has happened.
    pub fn is_set(&self) -> bool {
        self.set.get()
    }

    /// Resolves once the event has happened.
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.set.get() {
                Poll::Ready(())
            } else {
                self.wakers.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Readiness::Ready => f.write_str("Ready"),
            Readiness::Readable(fd) => write!(f, "Readable({})", fd.as_raw_fd()),
            Readiness::Writable(fd) => write!(f, "Writable({})", fd.as_raw_fd()),
            Readiness::At(t) => write!(f, "At({t:?})"),
            Readiness::Signal(s) => write!(f, "Signal({})", s.is_set()),
            Readiness::Dynamic(_) => f.write_str("Dynamic"),
            Readiness::Never => f.write_str("Never"),
            Readiness::Host(_) => f.write_str("Host"),
        }
    }
}

/// The `pollable` resource.
#[derive(Debug)]
pub struct Pollable {
    pub(crate) readiness: Readiness,
}

impl Pollable {
    /// A pollable for `readiness`.
    pub fn new(readiness: Readiness) -> Self {
        Pollable { readiness }
    }
}

/// The source behind an `input-stream`.
pub trait InputSource {
    /// Read up to `len` bytes without blocking; empty means nothing is
    /// available yet.
    ///
    /// # Errors
    ///
    /// `Closed` at the end, `Failed` for an I/O error.
    fn read(&mut self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError>;

    /// Read up to `len` bytes, waiting until at least one is available.
    ///
    /// # Errors
    ///
    /// As [`InputSource::read`].
    fn blocking_read(&mut self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError>;

    /// What `subscribe` waits for.
    fn readiness(&self) -> Readiness;
}

/// The sink behind an `output-stream`.
pub trait OutputSink {
    /// How many bytes a `write` may take now (0: wait for the pollable).
    ///
    /// # Errors
    ///
    /// `Closed` or `Failed`.
    fn check_write(&mut self, inline: &Inline) -> Result<u64, StreamError>;

    /// Write all of `bytes` (at most what `check_write` allowed).
    ///
    /// # Errors
    ///
    /// `Closed` or `Failed`.
    fn write(&mut self, inline: &Inline, bytes: &[u8]) -> Result<(), StreamError>;

    /// Write all of `bytes` (at most [`MAX_BLOCKING_WRITE`] from
    /// `blocking-write-and-flush`, any length from `blocking-splice`),
    /// first waiting until the sink can take them: the blocking calls
    /// never ask `check-write`. The default suits sinks whose `write`
    /// takes anything at any time.
    ///
    /// # Errors
    ///
    /// `Closed` or `Failed`.
    fn blocking_write(&mut self, inline: &Inline, bytes: &[u8]) -> Result<(), StreamError> {
        self.write(inline, bytes)
    }

    /// Start flushing.
    ///
    /// # Errors
    ///
    /// `Closed` or `Failed`.
    fn flush(&mut self, inline: &Inline) -> Result<(), StreamError> {
        let _ = inline;
        Ok(())
    }

    /// Wait until every write has reached its destination.
    ///
    /// # Errors
    ///
    /// `Closed` or `Failed`.
    fn blocking_flush(&mut self, inline: &Inline) -> Result<(), StreamError> {
        self.flush(inline)
    }

    /// What `subscribe` waits for.
    fn readiness(&self) -> Readiness;
}

/// The `input-stream` resource.
pub struct InputStream(pub Box<dyn InputSource>);

impl std::fmt::Debug for InputStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InputStream")
    }
}

/// The `output-stream` resource.
pub struct OutputStream(pub Box<dyn OutputSink>);

impl std::fmt::Debug for OutputStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputStream")
    }
}

/// Whether `fd` is ready for `flags` now (a poll with a zero timeout).
pub(crate) fn ready_now(fd: &OwnedFd, flags: rustix::event::PollFlags) -> bool {
    let mut p = [rustix::event::PollFd::new(fd, flags)];
    let zero = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(rustix::event::poll(&mut p, Some(&zero)), Ok(n) if n > 0)
}

pub(crate) fn readable_now(fd: &OwnedFd) -> bool {
    ready_now(fd, rustix::event::PollFlags::IN)
}

pub(crate) fn writable_now(fd: &OwnedFd) -> bool {
    ready_now(fd, rustix::event::PollFlags::OUT)
}

/// A descriptor read as a stream: stdin, pipes.
pub struct FdInput {
    fd: Rc<OwnedFd>,
}

impl FdInput {
    /// Read from `fd`.
    pub fn new(fd: Rc<OwnedFd>) -> Self {
        FdInput { fd }
    }
}

fn read_once(inline: &Inline, fd: RawFd, len: usize) -> Result<Vec<u8>, StreamError> {
    let buf = Vec::with_capacity(len.min(1 << 20));
    let (res, mut buf) = inline.run(Read::new(fd, buf));
    let n = res?;
    if n == 0 && buf.capacity() > 0 {
        return Err(StreamError::Closed);
    }
    buf.truncate(n);
    Ok(buf)
}

impl InputSource for FdInput {
    fn read(&mut self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        if !readable_now(&self.fd) {
            return Ok(Vec::new());
        }
        read_once(inline, self.fd.as_raw_fd(), len)
    }

    fn blocking_read(&mut self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        read_once(inline, self.fd.as_raw_fd(), len)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.clone())
    }
}

/// A descriptor written as a stream with blocking writes: stdout, stderr.
pub struct FdOutput {
    fd: Rc<OwnedFd>,
}

impl FdOutput {
    /// Write to `fd`.
    pub fn new(fd: Rc<OwnedFd>) -> Self {
        FdOutput { fd }
    }
}

/// Write all of `bytes` to `fd` at its position, through the reactor.
pub(crate) fn write_all(inline: &Inline, fd: RawFd, mut bytes: &[u8]) -> Result<(), StreamError> {
    while !bytes.is_empty() {
        let (res, _) = inline.run(Write::new(fd, bytes.to_vec()));
        match res {
            Ok(0) => return Err(StreamError::Closed),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => return Err(StreamError::Closed),
            Err(e) => return Err(StreamError::Failed(e)),
        }
    }
    Ok(())
}

impl OutputSink for FdOutput {
    fn check_write(&mut self, _: &Inline) -> Result<u64, StreamError> {
        // Writes block until done, so any size is fine; wasmtime's stdout
        // answers the same way.
        Ok(1 << 20)
    }

    fn write(&mut self, inline: &Inline, bytes: &[u8]) -> Result<(), StreamError> {
        write_all(inline, self.fd.as_raw_fd(), bytes)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Ready
    }
}

/// A stream that has no data and is closed (`get-stdin` with no stdin).
pub struct ClosedInput;

impl InputSource for ClosedInput {
    fn read(&mut self, _: &Inline, _: usize) -> Result<Vec<u8>, StreamError> {
        Err(StreamError::Closed)
    }
    fn blocking_read(&mut self, _: &Inline, _: usize) -> Result<Vec<u8>, StreamError> {
        Err(StreamError::Closed)
    }
    fn readiness(&self) -> Readiness {
        Readiness::Ready
    }
}

/// Wait until at least one of `readiness` is ready, on the reactor (or
/// suspended, inside an async call: [`crate::wait`]); return the indices
/// of all that are ready then.
///
/// # Errors
///
/// A trap when an async call waiting here is cancelled.
pub(crate) fn wait_any(inline: &Inline, readiness: &[Readiness]) -> Result<Vec<u32>, Trap> {
    let driver = inline.driver().clone();
    let readiness: Vec<Readiness> = readiness.iter().map(Readiness::resolve).collect();
    // Already-ready entries need no wait.
    let ready: Vec<u32> = readiness
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ready_now())
        .map(|(i, _)| i as u32)
        .collect();
    if !ready.is_empty() {
        return Ok(ready);
    }
    type Wait = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;
    let mut waits: Vec<Option<Wait>> = readiness
        .iter()
        .map(|r| -> Option<Wait> {
            let d = driver.clone();
            match r.clone() {
                Readiness::Ready => Some(Box::pin(async {})),
                Readiness::Readable(fd) => Some(Box::pin(async move {
                    let _ = d.submit(PollAdd::new(fd.as_raw_fd(), libc::POLLIN)).await;
                })),
                Readiness::Writable(fd) => Some(Box::pin(async move {
                    let _ = d.submit(PollAdd::new(fd.as_raw_fd(), libc::POLLOUT)).await;
                })),
                Readiness::At(t) => Some(Box::pin(async move {
                    let left = t.saturating_duration_since(Instant::now());
                    if left > Duration::ZERO {
                        let _ = d.submit(Timeout::new(left)).await;
                    }
                })),
                Readiness::Signal(s) => Some(Box::pin(async move { s.wait().await })),
                Readiness::Host(h) => {
                    Some(Box::pin(std::future::poll_fn(move |cx| h.poll_ready(cx))))
                }
                Readiness::Dynamic(_) | Readiness::Never => None,
            }
        })
        .collect();
    crate::wait::block_on(
        inline,
        std::future::poll_fn(|cx| {
            let mut done = Vec::new();
            for (i, w) in waits.iter_mut().enumerate() {
                if let Some(f) = w
                    && f.as_mut().poll(cx).is_ready()
                {
                    done.push(i as u32);
                }
            }
            if done.is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(done)
            }
        }),
    )
}

fn push<T: 'static>(table: &mut ResourceTable, v: T) -> Result<Resource<T>, Trap> {
    table.push(v).map_err(table_trap)
}

/// The guest-facing `stream-error` for a host one (an `error` resource for
/// failures).
pub(crate) fn stream_error(
    table: &mut ResourceTable,
    e: StreamError,
) -> Result<streams::StreamError, Trap> {
    match e {
        StreamError::Closed => Ok(streams::StreamError::Closed),
        StreamError::Failed(e) => Ok(streams::StreamError::LastOperationFailed(push(
            table,
            IoError(e),
        )?)),
        StreamError::Trap(t) => Err(t),
    }
}

impl error::Host for WasiCtx {
    fn error_to_debug_string(&mut self, self_: Resource<IoError>) -> Result<String, Trap> {
        Ok(self.p2.table.get(&self_).map_err(table_trap)?.0.to_string())
    }

    fn error_drop(&mut self, rep: Resource<IoError>) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }
}

impl poll::Host for WasiCtx {
    fn pollable_ready(&mut self, self_: Resource<Pollable>) -> Result<bool, Trap> {
        let r = self
            .p2
            .table
            .get(&self_)
            .map_err(table_trap)?
            .readiness
            .clone();
        Ok(r.ready_now())
    }

    fn pollable_block(&mut self, self_: Resource<Pollable>) -> Result<(), Trap> {
        let r = self
            .p2
            .table
            .get(&self_)
            .map_err(table_trap)?
            .readiness
            .clone();
        if matches!(r.resolve(), Readiness::Never) {
            return Err(Trap::host(
                "pollable.block on a pollable that can never be ready",
            ));
        }
        wait_any(&self.inline, &[r]).map(drop)
    }

    fn poll(&mut self, in_: Vec<Resource<Pollable>>) -> Result<Vec<u32>, Trap> {
        if in_.is_empty() {
            return Err(Trap::host("empty poll list"));
        }
        let rs = in_
            .iter()
            .map(|p| {
                self.p2
                    .table
                    .get(p)
                    .map(|p| p.readiness.clone())
                    .map_err(table_trap)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if rs.iter().all(|r| matches!(r.resolve(), Readiness::Never)) {
            return Err(Trap::host("poll: no pollable can ever be ready"));
        }
        wait_any(&self.inline, &rs)
    }

    fn pollable_drop(&mut self, rep: Resource<Pollable>) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }
}

type Res<T> = Result<Result<T, streams::StreamError>, Trap>;

impl WasiCtx {
    fn stream_result<T>(&mut self, r: Result<T, StreamError>) -> Res<T> {
        match r {
            Ok(v) => Ok(Ok(v)),
            Err(e) => stream_error(&mut self.p2.table, e).map(Err),
        }
    }

    /// The input stream `r` and the inline ring, borrowed together.
    fn input(&mut self, r: &Resource<InputStream>) -> Result<(&mut InputStream, &Inline), Trap> {
        let s = self.p2.table.get_mut(r).map_err(table_trap)?;
        Ok((s, &self.inline))
    }

    /// The output stream `r` and the inline ring, borrowed together.
    fn output(&mut self, r: &Resource<OutputStream>) -> Result<(&mut OutputStream, &Inline), Trap> {
        let s = self.p2.table.get_mut(r).map_err(table_trap)?;
        Ok((s, &self.inline))
    }

    /// A new child pollable of `parent` for `readiness`.
    pub(crate) fn pollable_for<P: 'static>(
        &mut self,
        parent: &Resource<P>,
        readiness: Readiness,
    ) -> Result<Resource<Pollable>, Trap> {
        let child = self
            .p2
            .table
            .push_child(Pollable::new(readiness), parent)
            .map_err(table_trap)?;
        Ok(Resource::new_own(child.rep()))
    }
}

impl streams::Host for WasiCtx {
    fn input_stream_read(&mut self, self_: Resource<InputStream>, len: u64) -> Res<Vec<u8>> {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let (s, inline) = self.input(&self_)?;
        let r = s.0.read(inline, len);
        self.stream_result(r)
    }

    fn input_stream_blocking_read(
        &mut self,
        self_: Resource<InputStream>,
        len: u64,
    ) -> Res<Vec<u8>> {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let (s, inline) = self.input(&self_)?;
        let r = s.0.blocking_read(inline, len);
        self.stream_result(r)
    }

    fn input_stream_skip(&mut self, self_: Resource<InputStream>, len: u64) -> Res<u64> {
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(1 << 20);
        let (s, inline) = self.input(&self_)?;
        let r = s.0.read(inline, len).map(|v| v.len() as u64);
        self.stream_result(r)
    }

    fn input_stream_blocking_skip(&mut self, self_: Resource<InputStream>, len: u64) -> Res<u64> {
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(1 << 20);
        let (s, inline) = self.input(&self_)?;
        let r = s.0.blocking_read(inline, len).map(|v| v.len() as u64);
        self.stream_result(r)
    }

    fn input_stream_subscribe(
        &mut self,
        self_: Resource<InputStream>,
    ) -> Result<Resource<Pollable>, Trap> {
        let r = self.input(&self_)?.0.0.readiness();
        self.pollable_for(&self_, r)
    }

    fn input_stream_drop(&mut self, rep: Resource<InputStream>) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn output_stream_check_write(&mut self, self_: Resource<OutputStream>) -> Res<u64> {
        let (s, inline) = self.output(&self_)?;
        let r = s.0.check_write(inline);
        self.stream_result(r)
    }

    fn output_stream_write(&mut self, self_: Resource<OutputStream>, contents: Vec<u8>) -> Res<()> {
        let (s, inline) = self.output(&self_)?;
        let r = s.0.write(inline, &contents);
        self.stream_result(r)
    }

    fn output_stream_blocking_write_and_flush(
        &mut self,
        self_: Resource<OutputStream>,
        contents: Vec<u8>,
    ) -> Res<()> {
        if contents.len() > MAX_BLOCKING_WRITE {
            return Err(Trap::host(format!(
                "Buffer too large for blocking-write-and-flush (expected at most {MAX_BLOCKING_WRITE})"
            )));
        }
        let (s, inline) = self.output(&self_)?;
        let r =
            s.0.blocking_write(inline, &contents)
                .and_then(|()| s.0.blocking_flush(inline));
        self.stream_result(r)
    }

    fn output_stream_flush(&mut self, self_: Resource<OutputStream>) -> Res<()> {
        let (s, inline) = self.output(&self_)?;
        let r = s.0.flush(inline);
        self.stream_result(r)
    }

    fn output_stream_blocking_flush(&mut self, self_: Resource<OutputStream>) -> Res<()> {
        let (s, inline) = self.output(&self_)?;
        let r = s.0.blocking_flush(inline);
        self.stream_result(r)
    }

    fn output_stream_subscribe(
        &mut self,
        self_: Resource<OutputStream>,
    ) -> Result<Resource<Pollable>, Trap> {
        let r = self.output(&self_)?.0.0.readiness();
        self.pollable_for(&self_, r)
    }

    fn output_stream_write_zeroes(&mut self, self_: Resource<OutputStream>, len: u64) -> Res<()> {
        let zeroes = vec![0u8; usize::try_from(len).unwrap_or(0)];
        self.output_stream_write(self_, zeroes)
    }

    fn output_stream_blocking_write_zeroes_and_flush(
        &mut self,
        self_: Resource<OutputStream>,
        len: u64,
    ) -> Res<()> {
        let zeroes = vec![0u8; usize::try_from(len).unwrap_or(0)];
        self.output_stream_blocking_write_and_flush(self_, zeroes)
    }

    fn output_stream_splice(
        &mut self,
        self_: Resource<OutputStream>,
        src: Resource<InputStream>,
        len: u64,
    ) -> Res<u64> {
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(1 << 20);
        let allowed = {
            let (s, inline) = self.output(&self_)?;
            s.0.check_write(inline)
        };
        let allowed = match allowed {
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Err(e) => return stream_error(&mut self.p2.table, e).map(Err),
        };
        let bytes = {
            let (s, inline) = self.input(&src)?;
            s.0.read(inline, len.min(allowed))
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return stream_error(&mut self.p2.table, e).map(Err),
        };
        let n = bytes.len() as u64;
        let (s, inline) = self.output(&self_)?;
        let r = s.0.write(inline, &bytes).map(|()| n);
        self.stream_result(r)
    }

    fn output_stream_blocking_splice(
        &mut self,
        self_: Resource<OutputStream>,
        src: Resource<InputStream>,
        len: u64,
    ) -> Res<u64> {
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(1 << 20);
        let bytes = {
            let (s, inline) = self.input(&src)?;
            s.0.blocking_read(inline, len)
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return stream_error(&mut self.p2.table, e).map(Err),
        };
        let n = bytes.len() as u64;
        let (s, inline) = self.output(&self_)?;
        let r =
            s.0.blocking_write(inline, &bytes)
                .and_then(|()| s.0.blocking_flush(inline))
                .map(|()| n);
        self.stream_result(r)
    }

    fn output_stream_drop(&mut self, rep: Resource<OutputStream>) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }
}
