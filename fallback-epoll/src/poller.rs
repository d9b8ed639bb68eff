//! The readiness backend: ops are attempted at once; an op that would block
//! waits for its descriptor's readiness (epoll on Linux, kqueue elsewhere,
//! through `mio`) and is attempted again. Timers are a sorted list consulted
//! when the thread parks.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Token as MioToken};
use ringwasm_reactor::{
    Backend, BackendKind, BlockingCall, BufRing, Completion, FixedBuf, FixedFd, RawOp, Readiness,
    Started, Token,
};

use crate::blocking::{Done, FileMode, Pool};

/// The mio token of the pool's waker (never a descriptor number).
const POOL_TOKEN: MioToken = MioToken(usize::MAX);

/// Which readiness an op waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// One op that could not finish at once.
#[derive(Debug)]
struct Waiting {
    waker: Waker,
    /// `None` for a pure timer.
    fd: Option<(RawFd, Dir)>,
    deadline: Option<Instant>,
    /// A pure timer completes with `-ETIME`; an op whose linked timeout
    /// expires completes with `-ECANCELED`.
    timer: bool,
    cancelled: bool,
    /// A call running on the blocking pool: its job id, then its result.
    /// Cancellation and deadlines wait for it (as io_uring's do for a file
    /// read already running): the op always gets the call's real result.
    pooled: Option<Pooled>,
}

#[derive(Debug)]
enum Pooled {
    Running(u64),
    Finished(BlockingCall, io::Result<u32>),
}

#[derive(Default)]
struct Ops {
    slots: Vec<Option<Waiting>>,
    free: Vec<usize>,
    live: usize,
}

impl Ops {
    fn insert(&mut self, w: Waiting) -> usize {
        self.live += 1;
        if let Some(i) = self.free.pop() {
            self.slots[i] = Some(w);
            i
        } else {
            self.slots.push(Some(w));
            self.slots.len() - 1
        }
    }

    fn remove(&mut self, i: usize) -> Option<Waiting> {
        let w = self.slots.get_mut(i)?.take()?;
        self.free.push(i);
        self.live -= 1;
        Some(w)
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut Waiting> {
        self.slots.get_mut(i)?.as_mut()
    }
}

/// The epoll/kqueue backend for one thread, implementing [`Backend`].
pub struct Poller {
    inner: RefCell<Inner>,
}

struct Inner {
    poll: mio::Poll,
    events: Events,
    ops: Ops,
    /// Ops waiting on each descriptor.
    by_fd: HashMap<RawFd, Vec<usize>>,
    /// (deadline, op) for every op with a deadline.
    timers: BTreeSet<(Instant, usize)>,
    mode: FileMode,
    /// Started on the first pooled call.
    pool: Option<Pool>,
    /// Pool job id → op slot, for calls whose op still waits.
    jobs: HashMap<u64, usize>,
    next_job: u64,
    done: Vec<Done>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller").finish_non_exhaustive()
    }
}

impl Poller {
    /// Creates the epoll (kqueue) instance, running file reads and writes
    /// in the [`FileMode`] that `RINGWASM_FALLBACK_FILES` names (direct
    /// syscalls when unset).
    ///
    /// # Errors
    ///
    /// The error of `epoll_create1` / `kqueue`; `InvalidInput` when
    /// `RINGWASM_FALLBACK_FILES` is not `direct`, `pool` or `pool:N`.
    pub fn new() -> io::Result<Self> {
        let mode = FileMode::from_env().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: {e}", crate::blocking::FILE_MODE_ENV),
            )
        })?;
        Self::with_file_mode(mode)
    }

    /// Creates the epoll (kqueue) instance with an explicit [`FileMode`].
    ///
    /// # Errors
    ///
    /// The error of `epoll_create1` / `kqueue`.
    pub fn with_file_mode(mode: FileMode) -> io::Result<Self> {
        Ok(Self {
            inner: RefCell::new(Inner {
                poll: mio::Poll::new()?,
                events: Events::with_capacity(1024),
                ops: Ops::default(),
                by_fd: HashMap::new(),
                timers: BTreeSet::new(),
                mode,
                pool: None,
                jobs: HashMap::new(),
                next_job: 0,
                done: Vec::new(),
            }),
        })
    }

    /// How this poller runs file reads and writes.
    pub fn file_mode(&self) -> FileMode {
        self.inner.borrow().mode
    }
}

impl Inner {
    /// (Re-)arms `fd` for both directions, edge-triggered. Re-arming on every
    /// wait makes the kernel report readiness that arrived before the wait,
    /// and copes with a descriptor number that was closed and reused.
    fn arm(&mut self, fd: RawFd) -> io::Result<()> {
        let token = MioToken(usize::try_from(fd).unwrap_or(usize::MAX));
        let interest = Interest::READABLE | Interest::WRITABLE;
        let registry = self.poll.registry();
        match registry.reregister(&mut SourceFd(&fd), token, interest) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                registry.register(&mut SourceFd(&fd), token, interest)
            }
            Err(e) => Err(e),
        }
    }

    fn wait_on(
        &mut self,
        fd: RawFd,
        dir: Dir,
        deadline: Option<Instant>,
        cx: &Context<'_>,
    ) -> io::Result<usize> {
        self.arm(fd)?;
        let i = self.ops.insert(Waiting {
            waker: cx.waker().clone(),
            fd: Some((fd, dir)),
            deadline,
            timer: false,
            cancelled: false,
            pooled: None,
        });
        self.by_fd.entry(fd).or_default().push(i);
        if let Some(d) = deadline {
            self.timers.insert((d, i));
        }
        Ok(i)
    }

    /// Hands `call` to the blocking pool (started on first use) and makes
    /// a slot that waits for its result.
    fn pool_submit(&mut self, call: BlockingCall, cx: &Context<'_>) -> io::Result<usize> {
        let FileMode::Pool(threads) = self.mode else {
            return Err(io::Error::other("the blocking pool is off"));
        };
        if self.pool.is_none() {
            let waker = Arc::new(mio::Waker::new(self.poll.registry(), POOL_TOKEN)?);
            self.pool = Some(Pool::new(threads, waker)?);
        }
        let id = self.next_job;
        self.next_job += 1;
        if let Some(pool) = &self.pool {
            pool.submit(id, call)?;
        }
        let i = self.ops.insert(Waiting {
            waker: cx.waker().clone(),
            fd: None,
            deadline: None,
            timer: false,
            cancelled: false,
            pooled: Some(Pooled::Running(id)),
        });
        self.jobs.insert(id, i);
        Ok(i)
    }

    /// Files the pool's finished calls with their ops; returns the wakers
    /// to wake. Results of ops dropped meanwhile are discarded.
    fn collect_pool(&mut self, wake: &mut Vec<Waker>) {
        let Some(pool) = &self.pool else {
            return;
        };
        pool.take_done(&mut self.done);
        let mut done = std::mem::take(&mut self.done);
        for (id, call, r) in done.drain(..) {
            let Some(i) = self.jobs.remove(&id) else {
                continue;
            };
            if let Some(w) = self.ops.get_mut(i) {
                w.pooled = Some(Pooled::Finished(call, r));
                wake.push(w.waker.clone());
            }
        }
        self.done = done;
    }

    fn finish(&mut self, i: usize) {
        if let Some(w) = self.ops.remove(i) {
            if let Some(Pooled::Running(id)) = w.pooled {
                self.jobs.remove(&id);
            }
            if let Some(d) = w.deadline {
                self.timers.remove(&(d, i));
            }
            if let Some((fd, _)) = w.fd
                && let Some(v) = self.by_fd.get_mut(&fd)
            {
                v.retain(|&j| j != i);
                if v.is_empty() {
                    self.by_fd.remove(&fd);
                }
            }
        }
    }
}

fn would_block(r: &io::Result<u32>) -> bool {
    matches!(r, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

impl Poller {
    /// Starts an op on the calling thread: a direct syscall, or a
    /// nonblocking attempt that waits for readiness on `EAGAIN`.
    fn start_ready(
        &self,
        op: &mut dyn RawOp,
        deadline: Option<Instant>,
        cx: &Context<'_>,
    ) -> Started {
        let (fd, dir) = match op.readiness() {
            // `start` handles timers before calling this.
            Readiness::Timer(_) => return Started::Done(Completion::error(libc::EINVAL)),
            Readiness::Now => return Started::Done(Completion::from_result(op.attempt())),
            Readiness::Readable(fd) => (fd, Dir::Read),
            Readiness::Writable(fd) => (fd, Dir::Write),
        };
        if op.multishot() {
            // A stream: keep a slot, and let the first poll make the first
            // attempt.
            cx.waker().wake_by_ref();
        } else {
            let r = op.attempt();
            if !would_block(&r) {
                return Started::Done(Completion::from_result(r));
            }
        }
        match self.inner.borrow_mut().wait_on(fd, dir, deadline, cx) {
            Ok(i) => Started::Pending(Token(i)),
            Err(e) => Started::Done(Completion::from_result(Err(e))),
        }
    }

    /// Polls an op driven by readiness (or a timer).
    fn poll_ready(&self, token: Token, op: &mut dyn RawOp, cx: &Context<'_>) -> Poll<Completion> {
        let mut inner = self.inner.borrow_mut();
        let i = token.0;
        let Some(w) = inner.ops.get_mut(i) else {
            return Poll::Ready(Completion::error(libc::EBADF));
        };
        let now = Instant::now();
        let expired = w.deadline.is_some_and(|d| d <= now);
        let outcome = if w.cancelled {
            Some(Completion::error(libc::ECANCELED))
        } else if w.timer {
            expired.then_some(Completion::error(libc::ETIME))
        } else {
            let r = op.attempt();
            if op.multishot() && r.is_ok() {
                // One item of the stream; the slot stays for the next.
                let mut c = Completion::from_result(r);
                c.flags |= ringwasm_reactor::op::CQE_F_MORE;
                return Poll::Ready(c);
            }
            if !would_block(&r) {
                Some(Completion::from_result(r))
            } else if expired {
                Some(Completion::error(libc::ECANCELED))
            } else {
                None
            }
        };
        if let Some(c) = outcome {
            inner.finish(i);
            return Poll::Ready(c);
        }
        if let Some(w) = inner.ops.get_mut(i)
            && !w.waker.will_wake(cx.waker())
        {
            w.waker = cx.waker().clone();
        }
        if let Some(Some(Waiting {
            fd: Some((fd, _)), ..
        })) = inner.ops.slots.get(i)
        {
            let fd = *fd;
            if let Err(e) = inner.arm(fd) {
                inner.finish(i);
                return Poll::Ready(Completion::from_result(Err(e)));
            }
        }
        Poll::Pending
    }
}

impl Backend for Poller {
    fn kind(&self) -> BackendKind {
        BackendKind::Epoll
    }

    fn start(&self, op: &mut dyn RawOp, timeout: Option<Duration>, cx: &Context<'_>) -> Started {
        let deadline = timeout.map(|t| Instant::now() + t);
        if let Readiness::Timer(after) = op.readiness() {
            let d = Instant::now() + after;
            let mut inner = self.inner.borrow_mut();
            let i = inner.ops.insert(Waiting {
                waker: cx.waker().clone(),
                fd: None,
                deadline: Some(d),
                timer: true,
                cancelled: false,
                pooled: None,
            });
            inner.timers.insert((d, i));
            return Started::Pending(Token(i));
        }
        let pooled = matches!(self.inner.borrow().mode, FileMode::Pool(_));
        if pooled && let Some(call) = op.blocking() {
            return match self.inner.borrow_mut().pool_submit(call, cx) {
                Ok(i) => Started::Pending(Token(i)),
                Err(e) => Started::Done(Completion::from_result(Err(e))),
            };
        }
        self.start_ready(op, deadline, cx)
    }

    fn poll(&self, token: Token, op: &mut dyn RawOp, cx: &Context<'_>) -> Poll<Completion> {
        let mut inner = self.inner.borrow_mut();
        let i = token.0;
        let Some(w) = inner.ops.get_mut(i) else {
            return Poll::Ready(Completion::error(libc::EBADF));
        };
        if let Some(p) = &mut w.pooled {
            if matches!(p, Pooled::Running(_)) {
                if !w.waker.will_wake(cx.waker()) {
                    w.waker = cx.waker().clone();
                }
                return Poll::Pending;
            }
            let Some(Pooled::Finished(call, r)) = w.pooled.take() else {
                return Poll::Ready(Completion::error(libc::EBADF));
            };
            inner.finish(i);
            return Poll::Ready(Completion::from_result(op.blocking_done(call, r)));
        }
        drop(inner);
        self.poll_ready(token, op, cx)
    }

    fn cancel(&self, token: Token) {
        let mut inner = self.inner.borrow_mut();
        if let Some(w) = inner.ops.get_mut(token.0) {
            w.cancelled = true;
            w.waker.wake_by_ref();
        }
    }

    fn abandon(&self, token: Token, parked: Box<dyn RawOp>) {
        // Nothing in the kernel refers to the op's memory between attempts,
        // so it may be dropped at once.
        self.inner.borrow_mut().finish(token.0);
        drop(parked);
    }

    fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    fn park(&self, timeout: Option<Duration>) -> io::Result<()> {
        let mut wake = Vec::new();
        {
            let mut inner = self.inner.borrow_mut();
            let now = Instant::now();
            let next_timer = inner
                .timers
                .first()
                .map(|&(d, _)| d.saturating_duration_since(now));
            let wait = match (timeout, next_timer) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if wait.is_none() && inner.ops.live == 0 {
                return Err(io::Error::other(
                    "epoll park: nothing in flight, waiting would block forever",
                ));
            }
            let Inner { poll, events, .. } = &mut *inner;
            match poll.poll(events, wait) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            let mut ready: Vec<(RawFd, bool, bool)> = Vec::new();
            for ev in inner.events.iter() {
                let fd = RawFd::try_from(ev.token().0).unwrap_or(-1);
                let err = ev.is_error();
                ready.push((
                    fd,
                    ev.is_readable() || ev.is_read_closed() || err,
                    ev.is_writable() || ev.is_write_closed() || err,
                ));
            }
            for (fd, r, w) in ready {
                let Some(list) = inner.by_fd.get(&fd) else {
                    continue;
                };
                for &i in list {
                    if let Some(Some(op)) = inner.ops.slots.get(i)
                        && let Some((_, dir)) = op.fd
                        && ((dir == Dir::Read && r) || (dir == Dir::Write && w))
                    {
                        wake.push(op.waker.clone());
                    }
                }
            }
            inner.collect_pool(&mut wake);
            let now = Instant::now();
            for &(d, i) in &inner.timers {
                if d > now {
                    break;
                }
                if let Some(Some(op)) = inner.ops.slots.get(i) {
                    wake.push(op.waker.clone());
                }
            }
        }
        for w in wake {
            w.wake();
        }
        Ok(())
    }

    fn register_files(&self, fds: &[RawFd]) -> io::Result<Vec<FixedFd>> {
        Ok(fds
            .iter()
            .zip(0u32..)
            .map(|(&raw, index)| FixedFd { index, raw })
            .collect())
    }

    fn register_buffers(&self, count: u16, len: usize) -> io::Result<Vec<FixedBuf>> {
        Ok((0..count).map(|i| FixedBuf::new(i, len)).collect())
    }

    fn register_buf_ring(&self, bgid: u16, entries: u16, buf_len: usize) -> io::Result<BufRing> {
        BufRing::for_readiness(bgid, entries, buf_len)
    }

    fn in_flight(&self) -> usize {
        self.inner.borrow().ops.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop_waiting() -> Waiting {
        Waiting {
            waker: Waker::noop().clone(),
            fd: None,
            deadline: None,
            timer: true,
            cancelled: false,
            pooled: None,
        }
    }

    #[test]
    fn op_slots_are_reused() {
        let mut ops = Ops::default();
        let a = ops.insert(noop_waiting());
        let b = ops.insert(noop_waiting());
        assert_ne!(a, b);
        assert!(ops.remove(a).is_some());
        assert!(ops.remove(a).is_none(), "a slot is freed once");
        assert_eq!(ops.insert(noop_waiting()), a);
        assert_eq!(ops.live, 2);
    }
}

/// Behaviour of the readiness half on its own (the full both-backend suite is
/// `tests/backends.rs`).
#[cfg(test)]
mod behaviour {
    use std::os::fd::AsRawFd;
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    use ringwasm_reactor::op::{Read, Timeout, Write};
    use ringwasm_reactor::{Driver, spawn, yield_now};

    use super::Poller;

    /// A nonblocking pipe (`pipe2` is not on macOS).
    fn nonblocking_pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
        let (r, w) = rustix::pipe::pipe().expect("pipe");
        for fd in [&r, &w] {
            rustix::fs::fcntl_setfl(fd, rustix::fs::OFlags::NONBLOCK).expect("O_NONBLOCK");
        }
        (r, w)
    }

    fn driver() -> Driver {
        Driver::new(Rc::new(Poller::new().expect("epoll/kqueue available")))
    }

    #[test]
    fn timer_fires_after_its_duration() {
        let d = driver();
        let t0 = Instant::now();
        d.run(Timeout::new(Duration::from_millis(15)))
            .expect("timer fires");
        assert!(t0.elapsed() >= Duration::from_millis(15));
        assert_eq!(d.backend().in_flight(), 0);
    }

    #[test]
    fn pipe_read_waits_for_readiness_then_retries() {
        let d = driver();
        let (r, w) = nonblocking_pipe();
        let (rfd, wfd) = (r.as_raw_fd(), w.as_raw_fd());
        let d2 = d.clone();
        let d3 = d.clone();
        let got = d.block_on(async move {
            let reader =
                spawn(async move { d2.submit(Read::new(rfd, Vec::with_capacity(8))).await });
            // Let the reader hit EAGAIN and wait first.
            yield_now().await;
            let (n, _) = d3.submit(Write::new(wfd, b"ready".to_vec())).await;
            assert_eq!(n.expect("write to pipe"), 5);
            reader.await
        });
        let (n, buf) = got;
        assert_eq!(n.expect("read after readiness"), 5);
        assert_eq!(buf, b"ready");
    }

    #[test]
    fn cancelled_wait_resolves_with_ecanceled() {
        let d = driver();
        let (r, _w) = nonblocking_pipe();
        let mut op = d.submit(Read::new(r.as_raw_fd(), Vec::with_capacity(4)));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
        op.cancel();
        let (res, _) = d.block_on(op);
        assert_eq!(
            res.expect_err("cancelled").raw_os_error(),
            Some(libc::ECANCELED)
        );
        assert_eq!(d.backend().in_flight(), 0);
    }

    #[test]
    fn linked_timeout_cancels_a_read_that_never_becomes_ready() {
        let d = driver();
        let (r, _w) = nonblocking_pipe();
        let (res, _) = d.block_on(d.submit_with_timeout(
            Read::new(r.as_raw_fd(), Vec::with_capacity(4)),
            Duration::from_millis(10),
        ));
        assert_eq!(
            res.expect_err("timed out").raw_os_error(),
            Some(libc::ECANCELED)
        );
    }
}
