//! The readiness backend: ops are attempted at once; an op that would block
//! waits for its descriptor's readiness (epoll on Linux, kqueue elsewhere,
//! through `mio`) and is attempted again. Timers are a sorted list consulted
//! when the thread parks.

use std::any::Any;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::os::fd::RawFd;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Token as MioToken};
use ringwasm_reactor::{
    Backend, BackendKind, Completion, FixedBuf, FixedFd, RawOp, Readiness, Started, Token,
};

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
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller").finish_non_exhaustive()
    }
}

impl Poller {
    /// Creates the epoll (kqueue) instance.
    ///
    /// # Errors
    ///
    /// The error of `epoll_create1` / `kqueue`.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            inner: RefCell::new(Inner {
                poll: mio::Poll::new()?,
                events: Events::with_capacity(1024),
                ops: Ops::default(),
                by_fd: HashMap::new(),
                timers: BTreeSet::new(),
            }),
        })
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
        });
        self.by_fd.entry(fd).or_default().push(i);
        if let Some(d) = deadline {
            self.timers.insert((d, i));
        }
        Ok(i)
    }

    fn finish(&mut self, i: usize) {
        if let Some(w) = self.ops.remove(i) {
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

impl Backend for Poller {
    fn kind(&self) -> BackendKind {
        BackendKind::Epoll
    }

    fn start(&self, op: &mut dyn RawOp, timeout: Option<Duration>, cx: &Context<'_>) -> Started {
        let deadline = timeout.map(|t| Instant::now() + t);
        let (fd, dir) = match op.readiness() {
            Readiness::Timer(after) => {
                let d = Instant::now() + after;
                let mut inner = self.inner.borrow_mut();
                let i = inner.ops.insert(Waiting {
                    waker: cx.waker().clone(),
                    fd: None,
                    deadline: Some(d),
                    timer: true,
                    cancelled: false,
                });
                inner.timers.insert((d, i));
                return Started::Pending(Token(i));
            }
            Readiness::Now => return Started::Done(Completion::from_result(op.attempt())),
            Readiness::Readable(fd) => (fd, Dir::Read),
            Readiness::Writable(fd) => (fd, Dir::Write),
        };
        let r = op.attempt();
        if !would_block(&r) {
            return Started::Done(Completion::from_result(r));
        }
        match self.inner.borrow_mut().wait_on(fd, dir, deadline, cx) {
            Ok(i) => Started::Pending(Token(i)),
            Err(e) => Started::Done(Completion::from_result(Err(e))),
        }
    }

    fn poll(&self, token: Token, op: &mut dyn RawOp, cx: &Context<'_>) -> Poll<Completion> {
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

    fn cancel(&self, token: Token) {
        let mut inner = self.inner.borrow_mut();
        if let Some(w) = inner.ops.get_mut(token.0) {
            w.cancelled = true;
            w.waker.wake_by_ref();
        }
    }

    fn abandon(&self, token: Token, parked: Box<dyn Any>) {
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
