//! Signal handlers that turn guest faults into traps.
//!
//! SIGSEGV, SIGBUS, SIGILL and SIGFPE are caught with `SA_SIGINFO |
//! SA_ONSTACK`. The handler checks, without locks or allocation, that the
//! faulting pc lies in registered guest code and the stack pointer on the
//! innermost entry's coroutine stack; it then walks the frame pointers and
//! redirects the coroutine to return `Err`. Any other fault is passed to the
//! handler that was installed before ours.
//!
//! Written once for every Unix the engine runs on (Linux and macOS, x86-64
//! and AArch64): the registers of a signal context are read and written
//! through `runtime::sys` (one file per OS), frames are walked by
//! `runtime::arch::walk_frames`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Error;
use crate::runtime::fiber::{self, MAX_FRAMES, TrapRecord};

/// Slots for code ranges; a range is `[start, end)` with `start != 0`.
const SLOTS: usize = 4096;

struct CodeSlot {
    start: AtomicUsize,
    end: AtomicUsize,
}

static CODE_RANGES: [CodeSlot; SLOTS] = [const {
    CodeSlot {
        start: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
    }
}; SLOTS];

thread_local! {
    /// The data address of the last fault this thread's handler turned into
    /// a trap (`si_addr` of a SIGSEGV or SIGBUS), 0 for a trap raised by an
    /// instruction (SIGILL, SIGFPE). Written only by the handler, on the
    /// thread that faulted, and read back there once the trapped coroutine
    /// has returned. A const-initialised `Cell<usize>` has no destructor and
    /// no lazy state, so the handler's access is a plain TLS store.
    static FAULT_ADDRESS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The data address whose access faulted for the trap this thread took
/// last, or `None` when that trap was not a memory fault. Clears it.
pub(crate) fn take_fault_address() -> Option<usize> {
    Some(FAULT_ADDRESS.with(|a| a.replace(0))).filter(|a| *a != 0)
}

/// Make `[start, end)` known as guest code; returns the slot to release.
pub(crate) fn register_code(start: usize, end: usize) -> Result<usize, Error> {
    for (i, slot) in CODE_RANGES.iter().enumerate() {
        if slot
            .start
            .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            slot.end.store(end, Ordering::Release);
            slot.start.store(start, Ordering::Release);
            return Ok(i);
        }
    }
    Err(Error::ResourceLimit(
        "too many live code objects in this process".into(),
    ))
}

/// Forget a range registered with [`register_code`].
pub(crate) fn unregister_code(slot: usize) {
    CODE_RANGES[slot].start.store(0, Ordering::Release);
}

/// Whether `pc` lies in registered guest code. Async-signal-safe.
pub(crate) fn is_guest_pc(pc: usize) -> bool {
    CODE_RANGES.iter().any(|slot| {
        let start = slot.start.load(Ordering::Acquire);
        start != 0 && start != usize::MAX && pc >= start && pc < slot.end.load(Ordering::Acquire)
    })
}

/// Install the handlers once per process and an alternate signal stack on
/// this thread.
pub(crate) fn ensure_installed() -> Result<(), Error> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    crate::runtime::sys::SUPPORTED.map_err(|e| Error::Unsupported(e.into()))?;
    INSTALLED
        .get_or_init(sys::install)
        .clone()
        .map_err(|e| Error::Unsupported(e.into()))?;
    sys::ensure_alt_stack();
    Ok(())
}

/// Walk frame pointers from `fp` within `[low, high)`, recording return
/// addresses that lie in guest code. Async-signal-safe.
fn walk_frames(fp: usize, low: usize, high: usize, record: &mut TrapRecord) {
    crate::runtime::arch::walk_frames(fp, low, high, |ret, _, _| {
        if record.nframes >= MAX_FRAMES || !is_guest_pc(ret) {
            return Some(());
        }
        record.frames[record.nframes] = ret;
        record.nframes += 1;
        None
    });
}

#[cfg(unix)]
mod sys {
    use std::cell::Cell;
    use std::mem::MaybeUninit;
    use std::ptr;

    use super::*;

    const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];
    static mut PREVIOUS: [MaybeUninit<libc::sigaction>; 4] = [MaybeUninit::zeroed(); 4];

    pub(super) fn install() -> Result<(), String> {
        for (i, sig) in SIGNALS.iter().enumerate() {
            // SAFETY: a zeroed sigaction is a valid value to fill in.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `sa_mask` is a valid sigset_t owned by `action`.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // Install runs once (OnceLock) before any handler can read
            // PREVIOUS, so the write through this pointer does not race.
            let prev = (&raw mut PREVIOUS)
                .cast::<libc::sigaction>()
                .wrapping_add(i);
            // SAFETY: valid action and out-pointer.
            if unsafe { libc::sigaction(*sig, &action, prev) } != 0 {
                return Err(format!(
                    "sigaction({sig}) failed: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        Ok(())
    }

    const ALT_STACK_SIZE: usize = 256 * 1024;

    struct AltStack(*mut libc::c_void);

    impl Drop for AltStack {
        fn drop(&mut self) {
            if self.0.is_null() {
                return;
            }
            let ss = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            // SAFETY: disables this thread's alt stack before unmapping it.
            unsafe { libc::sigaltstack(&ss, ptr::null_mut()) };
            // SAFETY: we mapped exactly this region in `ensure_alt_stack`.
            unsafe { libc::munmap(self.0, ALT_STACK_SIZE) };
        }
    }

    thread_local! {
        static ALT: Cell<bool> = const { Cell::new(false) };
        static ALT_OWNED: std::cell::RefCell<AltStack> =
            const { std::cell::RefCell::new(AltStack(ptr::null_mut())) };
    }

    pub(super) fn ensure_alt_stack() {
        if ALT.with(Cell::get) {
            return;
        }
        ALT.with(|a| a.set(true));
        // SAFETY: zeroed stack_t is valid; sigaltstack only writes it.
        let mut old: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: querying the current alt stack.
        unsafe { libc::sigaltstack(ptr::null(), &mut old) };
        if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= ALT_STACK_SIZE {
            return;
        }
        // SAFETY: fresh anonymous mapping.
        let mem = unsafe {
            libc::mmap(
                ptr::null_mut(),
                ALT_STACK_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if mem == libc::MAP_FAILED {
            return;
        }
        let ss = libc::stack_t {
            ss_sp: mem,
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        // SAFETY: `mem` is a mapping of ALT_STACK_SIZE bytes owned by this
        // thread until `AltStack` drops at thread exit.
        unsafe { libc::sigaltstack(&ss, ptr::null_mut()) };
        ALT_OWNED.with(|o| o.borrow_mut().0 = mem);
    }

    extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let fault_address = if sig == libc::SIGSEGV || sig == libc::SIGBUS {
            // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO.
            let info = unsafe { &*info };
            // SAFETY: si_addr is the field defined for SIGSEGV and SIGBUS.
            unsafe { info.si_addr() as usize }
        } else {
            0
        };
        // SAFETY: the kernel passes a valid ucontext for SA_SIGINFO.
        if unsafe { try_trap(ctx, fault_address) } {
            return;
        }
        let i = SIGNALS.iter().position(|s| *s == sig).unwrap_or(0);
        let prev_ptr = (&raw const PREVIOUS)
            .cast::<libc::sigaction>()
            .wrapping_add(i);
        // SAFETY: PREVIOUS was written once before handlers were installed.
        let prev = unsafe { &*prev_ptr };
        if prev.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                // SAFETY: with SA_SIGINFO, sa_sigaction is such a function.
                unsafe { std::mem::transmute(prev.sa_sigaction) };
            f(sig, info, ctx);
        } else if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
            // Restore the default and return: the fault repeats and the
            // process dies as it would have without us.
            // SAFETY: resetting the disposition of a signal we own.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        } else {
            let f: extern "C" fn(libc::c_int) =
                // SAFETY: without SA_SIGINFO, sa_handler is such a function.
                unsafe { std::mem::transmute(prev.sa_sigaction) };
            f(sig);
        }
    }

    /// # Safety
    ///
    /// `uc` is the ucontext the kernel passed to the handler;
    /// `fault_address` the data address of a SIGSEGV/SIGBUS, else 0.
    unsafe fn try_trap(uc: *mut libc::c_void, fault_address: usize) -> bool {
        // SAFETY: valid ucontext from the kernel.
        let regs = unsafe { crate::runtime::sys::registers(uc) };
        let entry = fiber::current_entry();
        if entry.is_null() || !is_guest_pc(regs.pc) {
            return false;
        }
        // SAFETY: a non-null current entry lives on the host stack of this
        // thread until the entry returns, and this thread is inside it.
        let entry = unsafe { &*entry };
        if !entry.owns_stack_pointer(regs.sp) {
            return false;
        }
        let mut record = TrapRecord {
            pc: regs.pc,
            frames: [0; MAX_FRAMES],
            nframes: 0,
        };
        let (low, high) = entry.stack_bounds();
        walk_frames(regs.fp, low, high, &mut record);
        FAULT_ADDRESS.with(|a| a.set(fault_address));
        // SAFETY: signal handler of the owning thread, sp checked above, and
        // the registers are installed right below.
        let resume = unsafe { entry.redirect(record) };
        // SAFETY: the same valid ucontext.
        unsafe { crate::runtime::sys::redirect(uc, &resume) };
        true
    }
}

#[cfg(not(unix))]
mod sys {
    pub(super) fn install() -> Result<(), String> {
        Err("trap handling needs Unix signals".into())
    }
    pub(super) fn ensure_alt_stack() {}
}
