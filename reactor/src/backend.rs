//! The one interface both backends implement, and the handle the rest of the
//! code holds.
//!
//! [`Backend`] is object safe: it sees ops only as `&mut dyn RawOp`, so
//! `ringwasm-fallback-epoll` implements it without naming an op. Code above
//! the reactor holds a [`Driver`] (an `Rc<dyn Backend>`, one per thread) and
//! uses three shapes of the same machinery:
//!
//! - a host function blocked on one op: [`Driver::run`];
//! - async Rust: [`Driver::submit`] returns a [`Submit`] future,
//!   [`Driver::block_on`] drives a future and [`crate::spawn`] adds local
//!   tasks;
//! - queue-depth work: submit many ops (push many [`Submit`]s, or spawn many
//!   tasks); SQEs accumulate and go to the kernel in one `io_uring_enter` when
//!   the thread parks, or on [`Driver::flush`].

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::buf::{BufRing, FixedBuf};
use crate::op::{Completion, FixedFd, MultiOp, Op, RawOp};

/// Which backend a [`Driver`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// io_uring (`ringwasm-reactor`'s [`crate::Ring`]).
    Uring,
    /// epoll on Linux, kqueue elsewhere (`ringwasm-fallback-epoll`).
    Epoll,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Uring => "uring",
            Self::Epoll => "epoll",
        })
    }
}

/// A backend's handle on one in-flight op (an index into its slab).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token(pub usize);

/// What [`Backend::start`] did with an op.
#[derive(Debug)]
pub enum Started {
    /// The op finished at once (a direct syscall, or an immediate error).
    Done(Completion),
    /// The op is in flight; poll it with this token.
    Pending(Token),
}

/// An I/O backend: io_uring or readiness (epoll/kqueue). One per thread.
///
/// The backend never frees or reuses an op's memory before the op's
/// completion: an abandoned op is parked (kept alive) until then.
pub trait Backend {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// Starts `op`; with `timeout`, the op fails with `ECANCELED` if it has
    /// not completed in time (an io_uring linked timeout). `op` must stay at
    /// its address until the op completes or is handed to
    /// [`Backend::abandon`].
    fn start(&self, op: &mut dyn RawOp, timeout: Option<Duration>, cx: &Context<'_>) -> Started;

    /// Polls an in-flight op. The readiness backend retries the attempt here.
    fn poll(&self, token: Token, op: &mut dyn RawOp, cx: &Context<'_>) -> Poll<Completion>;

    /// Asks the kernel to cancel an in-flight op. Its completion (often
    /// `-ECANCELED`, or success if it won the race) must still be polled.
    fn cancel(&self, token: Token);

    /// Gives up on an in-flight op: the backend requests cancellation and
    /// keeps `parked` (the op and its buffers) alive until the completion
    /// arrives, then drops it.
    fn abandon(&self, token: Token, parked: Box<dyn RawOp>);

    /// Sends queued submissions to the kernel without waiting.
    ///
    /// # Errors
    ///
    /// The error of `io_uring_enter`.
    fn flush(&self) -> io::Result<()>;

    /// Submits queued work and waits for at least one event (or `timeout`;
    /// `Some(ZERO)` does not block), waking the tasks whose ops completed.
    ///
    /// # Errors
    ///
    /// The error of `io_uring_enter` / `epoll_wait`, other than `EINTR` and
    /// `ETIME`.
    fn park(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Registers files; ops given the returned [`FixedFd`]s skip the fd
    /// lookup on io_uring. Replaces any earlier table.
    ///
    /// # Errors
    ///
    /// The error of `IORING_REGISTER_FILES`.
    fn register_files(&self, fds: &[RawFd]) -> io::Result<Vec<FixedFd>>;

    /// Registers `count` buffers of `len` bytes for `ReadFixed`. Replaces
    /// any earlier set.
    ///
    /// # Errors
    ///
    /// The error of `IORING_REGISTER_BUFFERS` (often `ENOMEM` from the
    /// locked-memory limit).
    fn register_buffers(&self, count: u16, len: usize) -> io::Result<Vec<FixedBuf>>;

    /// Sets up a ring of `entries` provided buffers of `buf_len` bytes as
    /// buffer group `bgid`, for [`crate::op::RecvProvided`]. The ring lives
    /// as long as the backend.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad size; the error of
    /// `IORING_REGISTER_PBUF_RING` (`EINVAL` before kernel 5.19, `EEXIST` for
    /// a group already registered).
    fn register_buf_ring(&self, bgid: u16, entries: u16, buf_len: usize) -> io::Result<BufRing>;

    /// How many ops are in flight (including parked ones).
    fn in_flight(&self) -> usize;
}

/// The per-thread handle on a backend. Cheap to clone; not `Send`.
#[derive(Clone)]
pub struct Driver {
    backend: Rc<dyn Backend>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("kind", &self.backend.kind())
            .finish()
    }
}

impl Driver {
    /// Wraps a backend.
    pub fn new(backend: Rc<dyn Backend>) -> Self {
        Self { backend }
    }

    /// The backend.
    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// Which backend this is.
    pub fn kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// Starts `op` when first polled; the future yields its output.
    pub fn submit<O: Op>(&self, op: O) -> Submit<O> {
        Submit {
            driver: self.clone(),
            op: Some(Box::new(op)),
            state: State::Idle,
            timeout: None,
        }
    }

    /// As [`Driver::submit`], failing the op with `ECANCELED` if it has not
    /// completed within `timeout` (io_uring: `IORING_OP_LINK_TIMEOUT`).
    pub fn submit_with_timeout<O: Op>(&self, op: O, timeout: Duration) -> Submit<O> {
        Submit {
            driver: self.clone(),
            op: Some(Box::new(op)),
            state: State::Idle,
            timeout: Some(timeout),
        }
    }

    /// Starts a multishot op when first polled; [`Multi::next`] yields its
    /// items until the op ends (an error or cancellation).
    pub fn submit_multi<O: MultiOp>(&self, op: O) -> Multi<O> {
        Multi {
            driver: self.clone(),
            op: Some(Box::new(op)),
            state: State::Idle,
        }
    }

    /// Submits `op` and blocks this thread until it completes: the shape a
    /// host function uses while its guest is suspended. Other tasks' ops
    /// completing meanwhile are recorded and their tasks run later.
    pub fn run<O: Op>(&self, op: O) -> O::Output {
        self.block_on(self.submit(op))
    }

    /// Runs `fut` to completion on this thread, along with tasks spawned with
    /// [`crate::spawn`].
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        crate::exec::block_on(self, fut)
    }

    /// Sends queued submissions to the kernel now (batch boundary).
    ///
    /// # Errors
    ///
    /// The error of `io_uring_enter`.
    pub fn flush(&self) -> io::Result<()> {
        self.backend.flush()
    }

    /// Waits for at least one event (or `timeout`) and wakes completed ops.
    ///
    /// # Errors
    ///
    /// As [`Backend::park`].
    pub fn park(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.backend.park(timeout)
    }

    /// Registers files for [`crate::op::Target::Fixed`].
    ///
    /// # Errors
    ///
    /// As [`Backend::register_files`].
    pub fn register_files(&self, fds: &[RawFd]) -> io::Result<Vec<FixedFd>> {
        self.backend.register_files(fds)
    }

    /// Sets up a provided-buffer ring for [`crate::op::RecvProvided`].
    ///
    /// # Errors
    ///
    /// As [`Backend::register_buf_ring`].
    pub fn register_buf_ring(
        &self,
        bgid: u16,
        entries: u16,
        buf_len: usize,
    ) -> io::Result<BufRing> {
        self.backend.register_buf_ring(bgid, entries, buf_len)
    }

    /// Registers buffers for [`crate::op::ReadFixed`].
    ///
    /// # Errors
    ///
    /// As [`Backend::register_buffers`].
    pub fn register_buffers(&self, count: u16, len: usize) -> io::Result<Vec<FixedBuf>> {
        self.backend.register_buffers(count, len)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    InFlight(Token),
    Cancelled,
    Done,
}

/// A submitted op; resolves to [`Op::Output`]. Dropping it while in flight
/// cancels the op and parks its buffers until the completion arrives.
#[must_use = "an op does nothing until polled"]
pub struct Submit<O: Op> {
    driver: Driver,
    op: Option<Box<O>>,
    state: State,
    timeout: Option<Duration>,
}

impl<O: Op> fmt::Debug for Submit<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submit")
            .field("op", &O::NAME)
            .field("state", &self.state)
            .finish()
    }
}

impl<O: Op> Submit<O> {
    /// Requests cancellation. Keep polling (or awaiting) the op: it resolves
    /// once the kernel's completion has arrived, with `ECANCELED` or with the
    /// op's real result if it won the race; only then are the buffers back.
    pub fn cancel(&mut self) {
        match self.state {
            State::Idle => self.state = State::Cancelled,
            State::InFlight(t) => self.driver.backend.cancel(t),
            State::Cancelled | State::Done => {}
        }
    }

    /// Whether the op has been handed to the backend and not yet completed.
    pub fn is_in_flight(&self) -> bool {
        matches!(self.state, State::InFlight(_))
    }

    fn finish(&mut self, c: Completion) -> O::Output {
        self.state = State::Done;
        let op = self
            .op
            .take()
            .expect("Submit: the op is present until it completes");
        (*op).complete(c)
    }
}

impl<O: Op> Future for Submit<O> {
    type Output = O::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O::Output> {
        let this = &mut *self;
        match this.state {
            State::Idle => {
                if !crate::exec::take_budget() {
                    // The task has started its share of ops in this poll:
                    // let the others run first.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                let op = this
                    .op
                    .as_deref_mut()
                    .expect("Submit: the op is present until it completes");
                match this.driver.backend.start(op, this.timeout, cx) {
                    Started::Done(c) => Poll::Ready(this.finish(c)),
                    Started::Pending(t) => {
                        this.state = State::InFlight(t);
                        Poll::Pending
                    }
                }
            }
            State::InFlight(t) => {
                let op = this
                    .op
                    .as_deref_mut()
                    .expect("Submit: the op is present until it completes");
                match this.driver.backend.poll(t, op, cx) {
                    Poll::Ready(c) => Poll::Ready(this.finish(c)),
                    Poll::Pending => Poll::Pending,
                }
            }
            State::Cancelled => Poll::Ready(this.finish(Completion::error(libc::ECANCELED))),
            State::Done => panic!("Submit polled after completion"),
        }
    }
}

impl<O: Op> Drop for Submit<O> {
    fn drop(&mut self) {
        if let State::InFlight(t) = self.state
            && let Some(op) = self.op.take()
        {
            self.driver.backend.abandon(t, op);
        }
    }
}

/// A submitted multishot op: a stream of [`MultiOp::Item`]s. Dropping it
/// cancels the op; its memory stays parked until the kernel's last
/// completion.
#[must_use = "a multishot op does nothing until polled"]
pub struct Multi<O: MultiOp> {
    driver: Driver,
    op: Option<Box<O>>,
    state: State,
}

impl<O: MultiOp> fmt::Debug for Multi<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Multi")
            .field("op", &O::NAME)
            .field("state", &self.state)
            .finish()
    }
}

impl<O: MultiOp> Multi<O> {
    /// The next item, or `None` once the op has ended.
    pub async fn next(&mut self) -> Option<O::Item> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Requests cancellation; [`Multi::next`] then drains the remaining
    /// items and ends.
    pub fn cancel(&mut self) {
        match self.state {
            State::Idle => self.state = State::Done,
            State::InFlight(t) => self.driver.backend.cancel(t),
            State::Cancelled | State::Done => {}
        }
    }

    /// Polls for the next item.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<O::Item>> {
        let Some(op) = self.op.as_deref_mut() else {
            return Poll::Ready(None);
        };
        if !crate::exec::take_budget() {
            // Items queued up (a burst of accepted connections) would
            // otherwise keep the task running: as for `Submit`.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let c = match self.state {
            State::Idle => match self.driver.backend.start(op, None, cx) {
                Started::Done(c) => c,
                Started::Pending(t) => {
                    self.state = State::InFlight(t);
                    return Poll::Pending;
                }
            },
            State::InFlight(t) => match self.driver.backend.poll(t, op, cx) {
                Poll::Ready(c) => c,
                Poll::Pending => return Poll::Pending,
            },
            State::Cancelled | State::Done => return Poll::Ready(None),
        };
        if !c.more() {
            self.state = State::Done;
        }
        // A final `ECANCELED` is the end of the stream, not an item.
        if !c.more() && c.result == -libc::ECANCELED {
            return Poll::Ready(None);
        }
        Poll::Ready(Some(op.item(c)))
    }
}

impl<O: MultiOp> Drop for Multi<O> {
    fn drop(&mut self) {
        if let State::InFlight(t) = self.state
            && let Some(op) = self.op.take()
        {
            self.driver.backend.abandon(t, op);
        }
    }
}
