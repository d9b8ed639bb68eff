//! Inline execution: the shape of a caller that waits on exactly one
//! completion, such as a WASI host function whose guest is blocked in it.
//!
//! [`crate::Driver::run`] serves that caller through the whole executor: the
//! op is boxed, a waker allocated, the lifecycle slab updated, the backend
//! parked and the completion routed back through the waker. When the caller
//! waits for one op and nothing else, none of that is needed. [`Inline`]
//! instead:
//!
//! - on io_uring, keeps a small ring of its own (`SINGLE_ISSUER |
//!   DEFER_TASKRUN` where the kernel has them) and does push SQE →
//!   `io_uring_enter(submit 1, wait 1)` → pop CQE: one syscall per op, no
//!   allocation, no waker. The op lives on the caller's stack frame, which
//!   does not return before the CQE is popped, so the buffer rule holds
//!   without parking. Files the caller registers ([`Inline::register`]) go
//!   in a sparse registered-file table and their ops carry
//!   `IOSQE_FIXED_FILE`, which skips the per-op `fget`/`fput`;
//! - runs as a direct syscall on the caller's thread every op that the kernel
//!   never completes inline but always hands to its `io-wq` worker threads
//!   (`statx`, `renameat`, `unlinkat`, `mkdirat`, `symlinkat`, `linkat`,
//!   `fsync`, `fallocate`, and `openat2`, which is punted whenever it creates,
//!   truncates or misses the dentry cache; see [`KERNEL_DEFERRED`]). For a
//!   caller that blocks anyway the worker hop only adds two context switches
//!   and a wake-up (about 20-50 µs on a loaded machine) to the same kernel
//!   work;
//! - on the readiness backend, makes the op's direct attempt and only on
//!   `EAGAIN` hands the op to the [`Driver`] to wait for readiness.
//!
//! Timers are never run inline: a [`crate::op::Readiness::Timer`] op goes to
//! the [`Driver`].

#[cfg(target_os = "linux")]
use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;

#[cfg(target_os = "linux")]
use crate::backend::BackendKind;
use crate::backend::Driver;
use crate::op::{Completion, Op, Readiness, Target};

/// Opcodes the kernel always (or, for `openat2`, usually) executes in its
/// `io-wq` worker pool rather than inline in `io_uring_enter` (their prep
/// sets `REQ_F_FORCE_ASYNC`): [`Inline`] runs these as direct syscalls.
pub const KERNEL_DEFERRED: &[u8] = &[
    21, // IORING_OP_STATX
    35, // IORING_OP_RENAMEAT
    36, // IORING_OP_UNLINKAT
    37, // IORING_OP_MKDIRAT
    38, // IORING_OP_SYMLINKAT
    39, // IORING_OP_LINKAT
    3,  // IORING_OP_FSYNC
    17, // IORING_OP_FALLOCATE
    28, // IORING_OP_OPENAT2 (punted with O_CREAT/O_TRUNC or a dcache miss)
];

/// Slots in the inline ring's sparse registered-file table.
pub const INLINE_FILES: u32 = 64;

/// Runs one op at a time for a caller that blocks until it completes.
///
/// Not `Send`: one per thread (the io_uring half is a single-issuer ring).
pub struct Inline {
    driver: Driver,
    #[cfg(target_os = "linux")]
    ring: Option<RefCell<InlineRing>>,
    /// Why an io_uring driver got no inline ring (ops then take the direct
    /// path, waiting through the driver on `EAGAIN`).
    no_ring: Option<crate::Error>,
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Inline");
        d.field("driver", &self.driver);
        #[cfg(target_os = "linux")]
        d.field("ring", &self.ring.is_some());
        d.finish()
    }
}

impl Inline {
    /// Inline execution next to `driver`: on io_uring with a small ring of
    /// its own, on the readiness backend by direct attempts. When `driver`
    /// is io_uring but a second ring cannot be set up (the locked-memory
    /// limit of old kernels, say), ops take the direct path and
    /// [`Inline::no_ring`] says why.
    pub fn new(driver: &Driver) -> Self {
        #[cfg(target_os = "linux")]
        let (ring, no_ring) = match driver.kind() {
            BackendKind::Uring => match InlineRing::new() {
                Ok(r) => (Some(RefCell::new(r)), None),
                Err(e) => (None, Some(e)),
            },
            BackendKind::Epoll => (None, None),
        };
        #[cfg(not(target_os = "linux"))]
        let no_ring = None;
        Self {
            driver: driver.clone(),
            #[cfg(target_os = "linux")]
            ring,
            no_ring,
        }
    }

    /// Why an io_uring driver got no inline ring, if it did not.
    pub fn no_ring(&self) -> Option<&crate::Error> {
        self.no_ring.as_ref()
    }

    /// The driver that waits for readiness and timers.
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// Whether ops go through an io_uring of their own.
    pub fn is_uring(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.ring.is_some()
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// Puts `fd` in the registered-file table, if there is room; the
    /// returned target is then [`Target::Fixed`], else [`Target::Fd`]. The
    /// caller must [`Inline::unregister`] it before closing `fd`.
    pub fn register(&self, fd: RawFd) -> Target {
        #[cfg(target_os = "linux")]
        if let Some(r) = &self.ring
            && let Some(f) = r.borrow_mut().register(fd)
        {
            return Target::Fixed(f);
        }
        Target::Fd(fd)
    }

    /// Frees a registered-file slot (no-op for a plain descriptor).
    pub fn unregister(&self, target: Target) {
        #[cfg(target_os = "linux")]
        if let (Target::Fixed(f), Some(r)) = (target, &self.ring) {
            r.borrow_mut().unregister(f);
        }
        let _ = target;
    }

    /// Runs `op` to completion on this thread and returns its output.
    pub fn run<O: Op>(&self, mut op: O) -> O::Output {
        let readiness = op.readiness();
        if matches!(readiness, Readiness::Timer(_)) {
            return self.driver.run(op);
        }
        #[cfg(target_os = "linux")]
        if let Some(r) = &self.ring
            && !KERNEL_DEFERRED.contains(&O::CODE)
        {
            let c = r.borrow_mut().run_one(&mut op);
            return op.complete(c);
        }
        let r = op.attempt();
        if r.as_ref()
            .is_err_and(|e| e.kind() == io::ErrorKind::WouldBlock)
            && readiness != Readiness::Now
        {
            return self.run_waiting(op);
        }
        op.complete(Completion::from_result(r))
    }

    /// An op whose direct attempt would block: on io_uring the ring waits
    /// for it, on the readiness backend the driver does.
    #[cfg_attr(
        not(target_os = "linux"),
        expect(unused_mut, reason = "only the io_uring ring borrows the op mutably")
    )]
    fn run_waiting<O: Op>(&self, mut op: O) -> O::Output {
        #[cfg(target_os = "linux")]
        if let Some(r) = &self.ring {
            let c = r.borrow_mut().run_one(&mut op);
            return op.complete(c);
        }
        self.driver.run(op)
    }
}

#[cfg(target_os = "linux")]
use ring_half::InlineRing;

#[cfg(target_os = "linux")]
mod ring_half {
    use std::io;
    use std::os::fd::RawFd;

    use io_uring::IoUring;

    use super::INLINE_FILES;
    use crate::op::{Completion, FixedFd, RawOp};

    /// `user_data` of the one op in flight.
    const INLINE_TAG: u64 = 0x1f1f;

    /// The inline ring: at most one SQE in flight, ever.
    pub(super) struct InlineRing {
        ring: IoUring,
        /// Which registered-file slots are taken (`None` when the kernel
        /// refused a sparse table: then nothing is registered).
        files: Option<Vec<bool>>,
        /// The ring's own fd registered with itself
        /// (`IORING_REGISTER_RING_FDS`, Linux 5.18): enters then pass this
        /// index with `IORING_ENTER_REGISTERED_RING` and the kernel skips
        /// the `fget`/`fput` of the ring's file on every call.
        ring_index: Option<u32>,
    }

    /// `IORING_ENTER_GETEVENTS`.
    const ENTER_GETEVENTS: u32 = 1;
    /// `IORING_ENTER_REGISTERED_RING`.
    const ENTER_REGISTERED_RING: u32 = 1 << 4;
    /// `IORING_REGISTER_RING_FDS`.
    const REGISTER_RING_FDS: u32 = 20;

    /// `struct io_uring_rsrc_update`.
    #[repr(C)]
    struct RsrcUpdate {
        offset: u32,
        resv: u32,
        data: u64,
    }

    /// Registers `ring`'s fd with itself; its index, or `None` when the
    /// kernel cannot (then enters use the plain fd).
    fn register_ring_fd(ring: &IoUring) -> Option<u32> {
        use std::os::fd::AsRawFd;
        let fd = ring.as_raw_fd();
        let mut up = RsrcUpdate {
            // Any free slot.
            offset: u32::MAX,
            resv: 0,
            data: u64::try_from(fd).ok()?,
        };
        // SAFETY: `up` is a live `io_uring_rsrc_update` the kernel reads and
        // writes (the chosen slot) during the call only; `fd` is our ring.
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                fd,
                REGISTER_RING_FDS,
                &raw mut up,
                1u32,
            )
        };
        (r == 1).then_some(up.offset)
    }

    impl InlineRing {
        pub(super) fn new() -> Result<Self, crate::Error> {
            // Newest first: `NO_SQARRAY` (6.6) drops the SQ index array,
            // `SINGLE_ISSUER | DEFER_TASKRUN` (6.1) the task-work
            // interrupts, `COOP_TASKRUN` (5.19) the IPIs.
            let ring = IoUring::builder()
                .setup_single_issuer()
                .setup_defer_taskrun()
                .setup_no_sqarray()
                .build(4)
                .or_else(|_| {
                    IoUring::builder()
                        .setup_single_issuer()
                        .setup_defer_taskrun()
                        .build(4)
                })
                .or_else(|_| IoUring::builder().setup_coop_taskrun().build(4))
                .or_else(|_| IoUring::builder().build(4))
                .map_err(crate::Error::Setup)?;
            let files = ring
                .submitter()
                .register_files_sparse(INLINE_FILES)
                .ok()
                .map(|()| vec![false; INLINE_FILES as usize]);
            let ring_index = register_ring_fd(&ring);
            Ok(Self {
                ring,
                files,
                ring_index,
            })
        }

        /// Submits what is queued and waits for `want` completions.
        fn enter(&mut self, want: u32) -> io::Result<()> {
            let Some(index) = self.ring_index else {
                return self.ring.submit_and_wait(want as usize).map(drop);
            };
            let to_submit = u32::try_from(self.ring.submission().len()).unwrap_or(u32::MAX);
            let flags = ENTER_REGISTERED_RING | if want > 0 { ENTER_GETEVENTS } else { 0 };
            // SAFETY: no pointer is passed (no argument struct, size 0);
            // `index` names this ring in its own registered-ring table, and
            // the queued SQEs point into memory their ops keep alive
            // (see `run_one`).
            let r = unsafe {
                libc::syscall(
                    libc::SYS_io_uring_enter,
                    index,
                    to_submit,
                    want,
                    flags,
                    std::ptr::null::<u8>(),
                    0usize,
                )
            };
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        }

        pub(super) fn register(&mut self, fd: RawFd) -> Option<FixedFd> {
            let files = self.files.as_mut()?;
            let index = files.iter().position(|used| !used)?;
            let slot = u32::try_from(index).ok()?;
            match self.ring.submitter().register_files_update(slot, &[fd]) {
                Ok(_) => {
                    files[index] = true;
                    Some(FixedFd {
                        index: slot,
                        raw: fd,
                    })
                }
                Err(_) => None,
            }
        }

        pub(super) fn unregister(&mut self, f: FixedFd) {
            let Some(files) = self.files.as_mut() else {
                return;
            };
            let Some(used) = files.get_mut(f.index as usize) else {
                return;
            };
            // Slot -1 empties it; if the kernel refuses, the slot stays
            // marked taken and is never handed out again.
            if self
                .ring
                .submitter()
                .register_files_update(f.index, &[-1])
                .is_ok()
            {
                *used = false;
            }
        }

        /// Submits `op`, waits for its completion and returns it.
        ///
        /// # Panics
        ///
        /// When `io_uring_enter` fails with something other than an
        /// interruption: the kernel might still hold pointers into `op`, so
        /// returning would break the buffer rule.
        pub(super) fn run_one(&mut self, op: &mut dyn RawOp) -> Completion {
            if let Some(c) = op.cached() {
                return c;
            }
            let sqe = op.sqe().user_data(INLINE_TAG);
            // SAFETY: the SQE points only into memory `op` owns (RawOp
            // contract); this function does not return before the op's CQE
            // is popped below, and the caller keeps `op` alive until then.
            let pushed = unsafe { self.ring.submission().push(&sqe) };
            if pushed.is_err() {
                // Never more than one entry in flight: the queue is empty.
                return Completion::error(libc::EBUSY);
            }
            // Submit without waiting first: most ops (a cached read, a
            // close, a send with room) complete inside the submission, and
            // their CQE is then already posted, so the enter skips the
            // kernel's wait path (`io_cqring_wait`) altogether.
            let mut want = 0;
            loop {
                match self.enter(want) {
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.raw_os_error(),
                            Some(libc::EINTR | libc::EAGAIN | libc::EBUSY)
                        ) => {}
                    Err(e) => panic!("reactor: inline io_uring_enter failed: {e}"),
                }
                if let Some(cqe) = self.ring.completion().next() {
                    debug_assert_eq!(cqe.user_data(), INLINE_TAG);
                    return Completion {
                        result: cqe.result(),
                        flags: cqe.flags(),
                    };
                }
                want = 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::os::fd::AsRawFd;

    use super::*;
    use crate::op::{FixedFd, Read, Statx};

    fn drivers() -> Vec<Driver> {
        let mut v = Vec::new();
        match crate::uring_driver() {
            Ok(d) => v.push(d),
            Err(e) => eprintln!("io_uring unavailable ({e}): testing the direct path only"),
        }
        v.push(Driver::new(std::rc::Rc::new(DirectOnly)));
        v
    }

    /// A stand-in readiness backend: `Inline` only asks it for its kind and
    /// never parks it in these tests (every attempt succeeds at once).
    struct DirectOnly;

    impl crate::Backend for DirectOnly {
        fn kind(&self) -> crate::backend::BackendKind {
            crate::backend::BackendKind::Epoll
        }
        fn start(
            &self,
            op: &mut dyn crate::RawOp,
            _: Option<std::time::Duration>,
            _: &std::task::Context<'_>,
        ) -> crate::Started {
            crate::Started::Done(Completion::from_result(op.attempt()))
        }
        fn poll(
            &self,
            _: crate::Token,
            _: &mut dyn crate::RawOp,
            _: &std::task::Context<'_>,
        ) -> std::task::Poll<Completion> {
            std::task::Poll::Ready(Completion::error(libc::EBADF))
        }
        fn cancel(&self, _: crate::Token) {}
        fn abandon(&self, _: crate::Token, _: Box<dyn crate::RawOp>) {}
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
        fn park(&self, _: Option<std::time::Duration>) -> io::Result<()> {
            Ok(())
        }
        fn register_files(&self, _: &[RawFd]) -> io::Result<Vec<FixedFd>> {
            Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP))
        }
        fn register_buffers(&self, _: u16, _: usize) -> io::Result<Vec<crate::FixedBuf>> {
            Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP))
        }
        fn register_buf_ring(&self, _: u16, _: u16, _: usize) -> io::Result<crate::BufRing> {
            Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP))
        }
        fn in_flight(&self) -> usize {
            0
        }
    }

    fn temp_file(data: &[u8]) -> std::fs::File {
        let mut f = tempfile_in_target();
        f.write_all(data).expect("write temp file");
        f
    }

    fn tempfile_in_target() -> std::fs::File {
        let dir = std::env::temp_dir();
        let path = dir.join(format!(
            "ringwasm-inline-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("create temp file");
        std::fs::remove_file(&path).expect("unlink temp file");
        f
    }

    #[test]
    fn reads_at_offsets_through_plain_and_registered_fds() {
        for driver in drivers() {
            let inline = Inline::new(&driver);
            let f = temp_file(b"0123456789");
            for target in [Target::Fd(f.as_raw_fd()), inline.register(f.as_raw_fd())] {
                let (r, buf) = inline.run(Read::new(target, vec![0u8; 4]).offset(3));
                assert_eq!(r.expect("read"), 4, "{:?}", driver.kind());
                assert_eq!(buf, b"3456");
                inline.unregister(target);
            }
        }
    }

    #[test]
    fn registered_slots_are_reused_after_unregister() {
        let Ok(driver) = crate::uring_driver() else {
            eprintln!("skipping: io_uring unavailable");
            return;
        };
        let inline = Inline::new(&driver);
        assert!(inline.is_uring());
        let f = temp_file(b"x");
        for _ in 0..(INLINE_FILES * 2) {
            let t = inline.register(f.as_raw_fd());
            assert!(matches!(t, Target::Fixed(_)), "a slot is free again");
            inline.unregister(t);
        }
    }

    #[test]
    fn deferred_ops_and_errors_complete_directly() {
        for driver in drivers() {
            let inline = Inline::new(&driver);
            let f = temp_file(b"12345");
            let st = inline.run(Statx::fd(f.as_raw_fd())).expect("statx");
            assert_eq!(st.size, 5);
            let (r, _) = inline.run(Read::new(-1, vec![0u8; 1]));
            assert_eq!(r.expect_err("bad fd").raw_os_error(), Some(libc::EBADF));
        }
    }
}
