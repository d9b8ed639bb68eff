//! The io_uring backend: one ring per thread, ops in a lifecycle slab keyed by
//! `user_data`, SQEs batched until the thread parks.

use std::any::Any;
use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::task::{Context, Poll};
use std::time::Duration;

use io_uring::{IoUring, Probe, opcode, squeue, types};

use crate::backend::{Backend, BackendKind, Started, Token};
use crate::buf::FixedBuf;
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
    slab: Slab,
    /// Timespecs of linked timeouts, alive until their own CQE.
    link_ts: Vec<Option<Box<types::Timespec>>>,
    link_free: Vec<usize>,
    /// Registered buffers' iovecs, kept for re-registration checks.
    buffers_registered: bool,
    files_registered: bool,
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
        let ring = IoUring::builder()
            .setup_cqsize(entries.saturating_mul(4))
            .setup_clamp()
            .build(entries)
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
    /// drop once the borrow is released.
    fn reap(&mut self, drop_later: &mut Vec<Box<dyn Any>>) {
        let mut cq = self.ring.completion();
        cq.sync();
        let mut seen = Vec::new();
        for cqe in &mut cq {
            seen.push((cqe.user_data(), cqe.result(), cqe.flags()));
        }
        drop(cq);
        for (ud, result, flags) in seen {
            if ud == TAG_IGNORE {
                continue;
            }
            if ud & TAG_LINK != 0 {
                let i = (ud & !TAG_LINK) as usize;
                if let Some(slot) = self.link_ts.get_mut(i)
                    && slot.take().is_some()
                {
                    self.link_free.push(i);
                }
                continue;
            }
            let c = Completion { result, flags };
            if let Some(parked) = self.slab.complete(ud as usize, c) {
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
        let mut inner = self.inner.borrow_mut();
        let i = inner.slab.insert();
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
            let _ = inner.slab.poll(i, cx.waker());
            inner
                .slab
                .complete(i, Completion::error(e.raw_os_error().unwrap_or(libc::EIO)));
            let _ = inner.slab.poll(i, cx.waker());
            return Started::Done(Completion::error(e.raw_os_error().unwrap_or(libc::EIO)));
        }
        // SAFETY: `op` satisfies the `RawOp` contract (its SQE points only into
        // memory it owns), and the `Submit` future keeps `op` alive until this
        // slot's CQE, or parks it in the slot via `abandon`.
        let pushed = unsafe { inner.push(&sqe) };
        if let Err(e) = pushed {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            inner.slab.complete(i, Completion::error(errno));
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
        let _ = inner.slab.poll(i, cx.waker());
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

    fn abandon(&self, token: Token, parked: Box<dyn Any>) {
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
            let idle = inner.slab.len() == 0 && inner.ring.submission().is_empty();
            let r = match timeout {
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

    fn in_flight(&self) -> usize {
        self.inner.borrow().slab.len()
    }
}
