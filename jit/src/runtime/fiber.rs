//! Every host→wasm entry runs on its own `corosensei` coroutine stack. The
//! entry is a trap boundary: the signal handler redirects a faulting guest
//! to the coroutine's exit, so only the innermost entry unwinds.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::ptr;

use corosensei::stack::{DefaultStack, Stack};
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
use corosensei::trap::CoroutineTrapHandler;
use corosensei::{Coroutine, CoroutineResult};

use crate::error::Error;

/// Frames recorded by the signal handler at most.
pub(crate) const MAX_FRAMES: usize = 64;

/// What the signal handler saw when the guest faulted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrapRecord {
    /// The faulting instruction.
    pub pc: usize,
    /// Return addresses of the guest frames found by walking frame pointers,
    /// innermost first (the faulting pc is not included).
    pub frames: [usize; MAX_FRAMES],
    /// How many of `frames` are valid.
    pub nframes: usize,
}

/// How the coroutine ended.
type EntryResult = Result<(), ()>;

/// One host→wasm entry, linked to the entry it is nested in.
pub(crate) struct EntryContext {
    /// Redirects the coroutine; only the x86-64 Linux signal handler uses it.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    handler: CoroutineTrapHandler<EntryResult>,
    /// Lowest usable address of the coroutine stack.
    stack_low: usize,
    /// Highest address of the coroutine stack.
    stack_high: usize,
    /// Written by the signal handler before it redirects the coroutine.
    record: UnsafeCell<TrapRecord>,
    prev: *const EntryContext,
}

impl EntryContext {
    /// Whether `sp` lies on this entry's coroutine stack (guard included).
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    pub(crate) fn owns_stack_pointer(&self, sp: usize) -> bool {
        self.handler.stack_ptr_in_bounds(sp)
    }

    /// The stack bounds usable for frame walking.
    pub(crate) fn stack_bounds(&self) -> (usize, usize) {
        (self.stack_low, self.stack_high)
    }

    /// Record a fault and redirect the coroutine to return `Err`. Returns the
    /// registers (rip, rsp, rbp, rdi, rsi) the handler must install.
    ///
    /// # Safety
    ///
    /// Only from the signal handler of the thread that owns this entry, with
    /// the faulting stack pointer inside this coroutine
    /// (`owns_stack_pointer`), and the handler must install the registers.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    pub(crate) unsafe fn redirect(&self, record: TrapRecord) -> [u64; 5] {
        // SAFETY: the entry's owner is suspended in `resume` on this thread,
        // so nothing else reads the record now.
        unsafe { *self.record.get() = record };
        // SAFETY: the caller guarantees the stack pointer check and installs
        // the registers; the closure touches nothing outside the coroutine.
        let regs = unsafe { self.handler.setup_trap_handler(|| Err(())) };
        [regs.rip, regs.rsp, regs.rbp, regs.rdi, regs.rsi]
    }
}

thread_local! {
    static CURRENT: Cell<*const EntryContext> = const { Cell::new(ptr::null()) };
    static STACKS: RefCell<Vec<(usize, DefaultStack)>> = const { RefCell::new(Vec::new()) };
}

/// The innermost entry on this thread, or null. Async-signal-safe.
pub(crate) fn current_entry() -> *const EntryContext {
    CURRENT.try_with(Cell::get).unwrap_or(ptr::null())
}

/// Bytes kept below the wasm stack limit for host functions wasm calls.
pub(crate) const HOST_STACK_RESERVE: usize = 512 * 1024;

fn take_stack(size: usize) -> Result<DefaultStack, Error> {
    let cached = STACKS.with(|s| {
        let mut s = s.borrow_mut();
        let i = s.iter().position(|(sz, _)| *sz == size)?;
        Some(s.swap_remove(i).1)
    });
    match cached {
        Some(stack) => Ok(stack),
        None => DefaultStack::new(size).map_err(|e| {
            Error::ResourceLimit(format!("cannot allocate a guest stack: {e}").into())
        }),
    }
}

fn return_stack(size: usize, stack: DefaultStack) {
    STACKS.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < 4 {
            s.push((size, stack));
        }
    });
}

/// Run `body` on a fresh coroutine stack of `wasm_stack` usable bytes plus a
/// reserve for host functions. `body` receives the stack limit compiled code
/// must check against. A guest fault inside `body` ends the coroutine and
/// yields `Err(record)`.
///
/// `body` must keep no value with a destructor alive across a call into
/// guest code: a trap discards the coroutine stack without unwinding it.
pub(crate) fn on_guest_stack(
    wasm_stack: usize,
    body: &mut dyn FnMut(usize),
) -> Result<Result<(), TrapRecord>, Error> {
    crate::runtime::signals::ensure_installed()?;
    let size = wasm_stack + HOST_STACK_RESERVE;
    let stack = take_stack(size)?;
    let stack_low = stack.limit().get();
    let stack_high = stack.base().get();
    let limit = stack_low + HOST_STACK_RESERVE;
    let body_ptr: *mut (dyn FnMut(usize) + '_) = body;
    // Erase the lifetime: the coroutine runs to completion before this
    // function returns, so the borrow outlives every use.
    let body_addr: [usize; 2] = {
        // SAFETY: a fat pointer is two words; reading it as such copies it
        // without changing it, and it is read back with the same type below.
        unsafe { std::mem::transmute_copy(&body_ptr) }
    };
    let mut coroutine: Coroutine<(), (), EntryResult, DefaultStack> =
        Coroutine::with_stack(stack, move |_yielder, ()| {
            // SAFETY: inverse of the copy above, same type and lifetime.
            let body: *mut dyn FnMut(usize) = unsafe { std::mem::transmute_copy(&body_addr) };
            // SAFETY: `on_guest_stack` holds the unique borrow of `body` until
            // the coroutine has finished.
            unsafe { (*body)(limit) };
            Ok(())
        });
    let entry = EntryContext {
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        handler: coroutine.trap_handler(),
        stack_low,
        stack_high,
        record: UnsafeCell::new(TrapRecord {
            pc: 0,
            frames: [0; MAX_FRAMES],
            nframes: 0,
        }),
        prev: current_entry(),
    };
    CURRENT.with(|c| c.set(&entry));
    let result = coroutine.resume(());
    CURRENT.with(|c| c.set(entry.prev));
    let outcome = match result {
        CoroutineResult::Return(Ok(())) => Ok(()),
        CoroutineResult::Return(Err(())) => Err(entry.record.into_inner()),
        CoroutineResult::Yield(()) => {
            return Err(Error::bug("guest coroutine yielded"));
        }
    };
    if coroutine.done() {
        return_stack(size, coroutine.into_stack());
    }
    Ok(outcome)
}
