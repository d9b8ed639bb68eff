//! The io_uring backend: one ring per thread, ops in a lifecycle slab keyed by
//! `user_data`, SQEs batched until the thread parks.

use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::task::{Context, Poll};
use std::time::Duration;

use io_uring::{IoUring, Probe, opcode, squeue, types};

use crate::backend::{Backend, BackendKind, Started, Token};
use crate::buf::{BufRing, FixedBuf};
use crate::error::Error;
use crate::lifecycle::Slab;
use crate::op::{Completion, FixedFd, OPCODES, RawOp};

/// `user_data` of SQEs whose completion nobody waits for (async cancel).
const TAG_IGNORE: u64 = u64::MAX;
/// High bit of `user_data` marking a linked timeout; the rest indexes its
/// boxed timespec.
const TAG_LINK: u64 = 1 << 63;

/// Default submission-queue size.
pub const DEFAULT_ENTRIES: u32 = 256;

/// An io_uring instance for this thread, implementing [`Backend`].
pub struct Ring {
    inner: RefCell<Inner>,
}

struct Inner {
    ring: IoUring,
    slab: Slab<Box<dyn RawOp>>,
    /// Timespecs of linked timeouts, alive until their own CQE.
    link_ts: Vec<Option<Box<types::Timespec>>>,
    link_free: Vec<usize>,
    /// Registered buffers' iovecs, kept for re-registration checks.
    buffers_registered: bool,
    files_registered: bool,
    /// Provided-buffer rings, kept alive as long as the ring.
    buf_rings: Vec<BufRing>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring").finish_non_exhaustive()
    }
}

impl Ring {
    /// Sets up a ring with `entries` submission slots (completion queue twice
    /// that) and checks that the kernel supports every opcode in
    /// [`OPCODES`].
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] when `io_uring_setup` fails (ENOSYS, EPERM from
    /// seccomp or `kernel.io_uring_disabled`, ENOMEM), [`Error::Probe`] or
    /// [`Error::MissingOpcode`] when the kernel lacks an opcode we use.
    pub fn new(entries: u32) -> Result<Self, Error> {
        // One issuer (this thread) and completion work deferred to our own
        // `io_uring_enter` calls: no interrupts of the thread for task work,
        // and completions batch up until we park. Older kernels (< 6.1) lack
        // these flags; they get a plain ring.
        let ring = IoUring::builder()
            .setup_cqsize(entries.saturating_mul(4))
            .setup_clamp()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_taskrun_flag()
            .build(entries)
            .or_else(|_| {
                IoUring::builder()
                    .setup_cqsize(entries.saturating_mul(4))
                    .setup_clamp()
                    .build(entries)
            })
            .map_err(Error::Setup)?;
        let mut probe = Probe::new();
        ring.submitter()
            .register_probe(&mut probe)
            .map_err(Error::Probe)?;
        for &(code, name) in OPCODES {
            if !probe.is_supported(code) {
                return Err(Error::MissingOpcode { name, code });
            }
        }
        Ok(Self {
            inner: RefCell::new(Inner {
                ring,
                slab: Slab::default(),
                link_ts: Vec::new(),
                link_free: Vec::new(),
                buffers_registered: false,
                files_registered: false,
                buf_rings: Vec::new(),
            }),
        })
    }

    /// Whether this kernel supports `code` (for optional ops such as
    /// `SendZc`).
    pub fn supports(&self, code: u8) -> bool {
        let inner = self.inner.borrow();
        let mut probe = Probe::new();
        inner.ring.submitter().register_probe(&mut probe).is_ok() && probe.is_supported(code)
    }
}

impl Drop for Ring {
    /// Cancels whatever is still in flight (parked ops of dropped futures)
    /// and waits for the completions before the parked buffers are freed. An
    /// op the kernel will not give back within 5 s is leaked, never freed.
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        if inner.slab.len() == 0 {
            return;
        }
        let cancel = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(TAG_IGNORE);
        // SAFETY: an async-cancel SQE carries no pointer.
        let _ = unsafe { inner.push(&cancel) };
        let give_up = std::time::Instant::now() + Duration::from_secs(5);
        let mut drop_later = Vec::new();
        while inner.slab.len() > 0 && std::time::Instant::now() < give_up {
            let ts = types::Timespec::from(Duration::from_millis(50));
            let args = types::SubmitArgs::new().timespec(&ts);
            let _ = inner.ring.submitter().submit_with_args(1, &args);
            inner.reap(&mut drop_later);
            drop_later.clear();
        }
        if inner.slab.len() > 0 {
            std::mem::forget(std::mem::take(&mut inner.slab));
        }
    }
}

impl Inner {
    /// Pushes one SQE, submitting first if the queue is full.
    ///
    /// # Safety
    ///
    /// Every pointer in `e` stays valid until its completion is reaped.
    unsafe fn push(&mut self, e: &squeue::Entry) -> io::Result<()> {
        // SAFETY: the caller keeps the entry's pointers valid until its CQE.
        if unsafe { self.ring.submission().push(e) }.is_ok() {
            return Ok(());
        }
        self.ring.submit()?;
        // SAFETY: as above.
        unsafe { self.ring.submission().push(e) }
            .map_err(|_| io::Error::from_raw_os_error(libc::EBUSY))
    }

    fn push_cancel(&mut self, token: Token) {
        let e = opcode::AsyncCancel::new(token.0 as u64)
            .build()
            .user_data(TAG_IGNORE);
        // SAFETY: an async-cancel SQE carries no pointer.
        if let Err(e) = unsafe { self.push(&e) } {
            // The op then runs to completion instead; its buffers stay parked.
            let _ = e;
        }
    }

    /// Reaps every CQE in the completion queue; returns the parked ops to
    /// drop once the borrow is released. Walks the queue in place (no copy,
    /// no allocation): this runs once per park, on every op's path.
    fn reap(&mut self, drop_later: &mut Vec<Box<dyn RawOp>>) {
        let Self {
            ring,
            slab,
            link_ts,
            link_free,
            ..
        } = self;
        let mut cq = ring.completion();
        cq.sync();
        for cqe in &mut cq {
            let ud = cqe.user_data();
            if ud == TAG_IGNORE {
                continue;
            }
            if ud & TAG_LINK != 0 {
                let i = (ud & !TAG_LINK) as usize;
                if let Some(slot) = link_ts.get_mut(i)
                    && slot.take().is_some()
                {
                    link_free.push(i);
                }
                continue;
            }
            let c = Completion {
                result: cqe.result(),
                flags: cqe.flags(),
            };
            if let Some(parked) = slab.complete(ud as usize, c, |op, c| op.abandoned(c)) {
                drop_later.push(parked);
            }
        }
    }
}

impl Backend for Ring {
    fn kind(&self) -> BackendKind {
        BackendKind::Uring
    }

    fn start(&self, op: &mut dyn RawOp, timeout: Option<Duration>, cx: &Context<'_>) -> Started {
        if let Some(c) = op.cached() {
            return Started::Done(c);
        }
        let mut inner = self.inner.borrow_mut();
        let multishot = op.multishot();
        // A single-shot op's slot holds the waker from the start: nothing can
        // complete it before the next park, so there is nothing to poll yet.
        let i = if multishot {
            inner.slab.insert_stream()
        } else {
            inner.slab.insert_waiting(cx.waker().clone())
        };
        let mut sqe = op.sqe().user_data(i as u64);
        if timeout.is_some() {
            sqe = sqe.flags(squeue::Flags::IO_LINK);
        }
        // Reserve room for the op and its linked timeout together, so the
        // link is never split across two submissions.
        let need = if timeout.is_some() { 2 } else { 1 };
        let full = {
            let sq = inner.ring.submission();
            sq.capacity() - sq.len() < need
        };
        if full && let Err(e) = inner.ring.submit() {
            let c = Completion::error(e.raw_os_error().unwrap_or(libc::EIO));
            inner.slab.complete(i, c, |_, _| {});
            let _ = inner.slab.poll(i, cx.waker());
            return Started::Done(c);
        }
        // SAFETY: `op` satisfies the `RawOp` contract (its SQE points only into
        // memory it owns), and the `Submit` future keeps `op` alive until this
        // slot's CQE, or parks it in the slot via `abandon`.
        let pushed = unsafe { inner.push(&sqe) };
        if let Err(e) = pushed {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            inner.slab.complete(i, Completion::error(errno), |_, _| {});
            let _ = inner.slab.poll(i, cx.waker());
            return Started::Done(Completion::error(errno));
        }
        if let Some(d) = timeout {
            let ts = Box::new(types::Timespec::from(d));
            let ti = inner.link_free.pop().unwrap_or_else(|| {
                inner.link_ts.push(None);
                inner.link_ts.len() - 1
            });
            let lt = opcode::LinkTimeout::new(&*ts)
                .build()
                .user_data(TAG_LINK | ti as u64);
            inner.link_ts[ti] = Some(ts);
            // SAFETY: the timespec is boxed in `link_ts` until the linked
            // timeout's own CQE is reaped.
            let pushed = unsafe { inner.push(&lt) };
            if pushed.is_err() {
                // Room was reserved above; this cannot fail. If it did, the op
                // simply runs without its timeout.
                inner.link_ts[ti] = None;
                inner.link_free.push(ti);
            }
        }
        if multishot {
            let _ = inner.slab.poll(i, cx.waker());
        }
        Started::Pending(Token(i))
    }

    fn poll(&self, token: Token, _op: &mut dyn RawOp, cx: &Context<'_>) -> Poll<Completion> {
        self.inner.borrow_mut().slab.poll(token.0, cx.waker())
    }

    fn cancel(&self, token: Token) {
        let mut inner = self.inner.borrow_mut();
        if inner.slab.contains(token.0) {
            inner.push_cancel(token);
        }
    }

    fn abandon(&self, token: Token, parked: Box<dyn RawOp>) {
        let released = {
            let mut inner = self.inner.borrow_mut();
            match inner.slab.abandon(token.0, parked) {
                Ok(()) => {
                    inner.push_cancel(token);
                    None
                }
                Err(parked) => Some(parked),
            }
        };
        drop(released);
    }

    fn flush(&self) -> io::Result<()> {
        self.inner.borrow_mut().ring.submit().map(drop)
    }

    fn park(&self, timeout: Option<Duration>) -> io::Result<()> {
        let mut drop_later = Vec::new();
        {
            let mut inner = self.inner.borrow_mut();
            let sq_empty = inner.ring.submission().is_empty();
            let idle = inner.slab.len() == 0 && sq_empty;
            // Completions already posted (during an earlier submit) and
            // nothing to submit: reap them without entering the kernel.
            let cq_ready = sq_empty && !inner.ring.completion().is_empty();
            let r = match timeout {
                _ if cq_ready => Ok(0),
                Some(Duration::ZERO) => inner.ring.submit(),
                _ if idle && timeout.is_none() => {
                    return Err(io::Error::other(
                        "io_uring park: nothing in flight, waiting would block forever",
                    ));
                }
                None => inner.ring.submit_and_wait(1),
                Some(d) => {
                    let ts = types::Timespec::from(d);
                    let args = types::SubmitArgs::new().timespec(&ts);
                    inner.ring.submitter().submit_with_args(1, &args)
                }
            };
            match r {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)
                    ) => {}
                Err(e) => return Err(e),
            }
            inner.reap(&mut drop_later);
        }
        drop(drop_later);
        Ok(())
    }

    fn register_files(&self, fds: &[RawFd]) -> io::Result<Vec<FixedFd>> {
        let mut inner = self.inner.borrow_mut();
        if inner.files_registered {
            inner.ring.submitter().unregister_files()?;
            inner.files_registered = false;
        }
        inner.ring.submitter().register_files(fds)?;
        inner.files_registered = true;
        Ok(fds
            .iter()
            .zip(0u32..)
            .map(|(&raw, index)| FixedFd { index, raw })
            .collect())
    }

    fn register_buffers(&self, count: u16, len: usize) -> io::Result<Vec<FixedBuf>> {
        let mut inner = self.inner.borrow_mut();
        if inner.buffers_registered {
            inner.ring.submitter().unregister_buffers()?;
            inner.buffers_registered = false;
        }
        let mut bufs: Vec<FixedBuf> = (0..count).map(|i| FixedBuf::new(i, len)).collect();
        let iovecs: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| {
                let (base, len) = b.iovec();
                libc::iovec {
                    iov_base: base.cast(),
                    iov_len: len,
                }
            })
            .collect();
        // SAFETY: each iovec points into a `FixedBuf` allocation that is only
        // ever lent to the kernel by a `ReadFixed` op owning that buffer; the
        // table is replaced (unregistered) before a new set is registered.
        // A dropped `FixedBuf` is never named by an SQE again, because
        // `ReadFixed` can only be built from a `FixedBuf` value.
        unsafe { inner.ring.submitter().register_buffers(&iovecs) }?;
        inner.buffers_registered = true;
        Ok(bufs)
    }

    fn register_buf_ring(&self, bgid: u16, entries: u16, buf_len: usize) -> io::Result<BufRing> {
        let ring = BufRing::for_kernel(bgid, entries, buf_len)?;
        let addr = ring
            .ring_addr()
            .ok_or_else(|| io::Error::other("kernel buffer ring without entries"))?;
        let mut inner = self.inner.borrow_mut();
        // SAFETY: `addr` is the page-aligned entries array of `entries`
        // io_uring_buf slots owned by `ring`, which `buf_rings` keeps alive
        // for as long as the ring (and so the registration) exists.
        unsafe {
            inner
                .ring
                .submitter()
                .register_buf_ring_with_flags(addr, entries, bgid, 0)
        }?;
        inner.buf_rings.push(ring.clone());
        Ok(ring)
    }

    fn in_flight(&self) -> usize {
        self.inner.borrow().slab.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IoBufMut;
    use crate::op::Recv;
    use std::cell::Cell;
    use std::future::Future;
    use std::os::fd::AsRawFd;
    use std::rc::Rc;

    /// A buffer that records when the reactor lets go of it.
    struct Tracked {
        mem: Box<[u8]>,
        released: Rc<Cell<bool>>,
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.released.set(true);
        }
    }

    // SAFETY: the boxed slice is stable and owned by the value.
    unsafe impl IoBufMut for Tracked {
        fn stable_mut_ptr(&mut self) -> *mut u8 {
            self.mem.as_mut_ptr()
        }
        fn bytes_total(&mut self) -> usize {
            self.mem.len()
        }
        unsafe fn set_init(&mut self, _n: usize) {}
    }

    #[test]
    fn dropped_op_releases_its_buffer_only_after_the_cqe() {
        let ring = match Ring::new(16) {
            Ok(r) => Rc::new(r),
            Err(e) => {
                eprintln!("skipping: io_uring unavailable: {e}");
                return;
            }
        };
        let driver = crate::Driver::new(ring.clone());
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        for _ in 0..100 {
            let released = Rc::new(Cell::new(false));
            let buf = Tracked {
                mem: vec![0u8; 64].into_boxed_slice(),
                released: released.clone(),
            };
            let mut op = driver.submit(Recv::new(a.as_raw_fd(), buf));
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
            ring.flush().expect("submit");
            drop(op);
            assert!(!released.get(), "the kernel may still write: buffer parked");
            assert_eq!(ring.in_flight(), 1);
            while ring.in_flight() > 0 {
                ring.park(Some(Duration::from_millis(100))).expect("park");
            }
            assert!(released.get(), "released once the CQE was reaped");
        }
    }
}
