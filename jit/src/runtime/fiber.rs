//! Coroutine stacks: entries and fibers.
//!
//! Every host→wasm entry runs on its own `corosensei` coroutine stack. The
//! entry is a trap boundary: the signal handler redirects a faulting guest
//! to the coroutine's exit, so only the innermost entry unwinds.
//!
//! A [`Fiber`] is a coroutine that runs host code (an async call) and may be
//! suspended from anywhere inside it, however many entries deep: a host
//! function calls [`suspend`] (or [`block_on`]), the innermost entry's
//! coroutine yields to the entry loop that resumed it, which yields the
//! coroutine it runs on in turn, and so on out to the fiber, whose resumer
//! ([`Fiber::resume`], from a `Future::poll`) returns. Resuming walks the
//! same chain back in. `docs/design/async-calls.md` tells the whole story.
//!
//! Thread-local state, kept in stack discipline by every switch:
//!
//! - `CURRENT`, the innermost entry of the code running now, which the
//!   signal handler reads. The entries of a fiber chain down to null at the
//!   fiber's base, so a suspended fiber takes its part of the chain with it
//!   (held by its suspended entry loops) and the resumer's chain is back in
//!   place the moment the fiber suspends.
//! - `FIBER`, the fiber running now (null outside any), which [`suspend`]
//!   and [`block_on`] act on.
//!
//! Stacks come from one function, [`take_stack`], backed by a small
//! per-thread cache.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::ptr;
use std::task::{Context, Poll};

use corosensei::stack::{DefaultStack, Stack};
use corosensei::trap::{CoroutineTrapHandler, TrapHandlerRegs};
use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::error::Error;
use crate::runtime::store::{StoreContextMut, StoreInner, StoreOpaque};

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

/// How an entry's coroutine ended.
type EntryResult = Result<(), ()>;

/// Why a fiber suspended: what its resumer may do until it resumes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FiberYield {
    /// A host function waits in [`block_on`] and keeps its borrow of the
    /// store: nothing else may use the store until the fiber is resumed.
    KeepStore,
    /// Suspended where no host frame borrows the store (the component
    /// model's waits and yields): other fibers of the store may run.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the component model's async ABI suspends with it")
    )]
    ReleaseStore,
}

/// Every coroutine here is resumed with nothing (what resumed code needs is
/// in the thread-local state) and yields why it suspended.
type SwitchYielder = Yielder<(), FiberYield>;

/// One host→wasm entry, linked to the entry it is nested in.
pub(crate) struct EntryContext {
    /// Redirects the coroutine; only the signal handler uses it.
    handler: CoroutineTrapHandler<EntryResult>,
    /// Lowest usable address of the coroutine stack.
    stack_low: usize,
    /// Highest address of the coroutine stack.
    stack_high: usize,
    /// Written by the signal handler before it redirects the coroutine.
    record: UnsafeCell<TrapRecord>,
    /// Suspends this entry's coroutine; set when the coroutine starts.
    yielder: Cell<*const SwitchYielder>,
    /// The store whose guest runs in this entry.
    store: *mut StoreOpaque,
    /// The entry this one is nested in; null at the base of a fiber or of
    /// the thread.
    prev: *const EntryContext,
}

impl EntryContext {
    /// Whether `sp` lies on this entry's coroutine stack (guard included).
    pub(crate) fn owns_stack_pointer(&self, sp: usize) -> bool {
        self.handler.stack_ptr_in_bounds(sp)
    }

    /// The stack bounds usable for frame walking.
    pub(crate) fn stack_bounds(&self) -> (usize, usize) {
        (self.stack_low, self.stack_high)
    }

    /// The store whose guest runs in this entry.
    pub(crate) fn store(&self) -> *mut StoreOpaque {
        self.store
    }

    /// Record a fault and redirect the coroutine to return `Err`. Returns the
    /// registers the handler must install (per architecture, as corosensei
    /// names them).
    ///
    /// # Safety
    ///
    /// Only from the signal handler of the thread that owns this entry, with
    /// the faulting stack pointer inside this coroutine
    /// (`owns_stack_pointer`), and the handler must install the registers.
    pub(crate) unsafe fn redirect(&self, record: TrapRecord) -> TrapHandlerRegs {
        // SAFETY: the entry's owner is suspended in `resume` on this thread,
        // so nothing else reads the record now.
        unsafe { *self.record.get() = record };
        // SAFETY: the caller guarantees the stack pointer check and installs
        // the registers; the closure touches nothing outside the coroutine.
        unsafe { self.handler.setup_trap_handler(|| Err(())) }
    }
}

/// The part of a fiber that code running inside it reaches through `FIBER`.
/// Boxed, so its address outlives moves of the [`Fiber`].
struct FiberState {
    /// Suspends the fiber's own coroutine; set when it starts.
    yielder: Cell<*const SwitchYielder>,
    /// The context of the poll that resumed the fiber, for the duration of
    /// that resume (null otherwise, and when resumed without one).
    poll_cx: Cell<*mut Context<'static>>,
    /// Set when the fiber is resumed only to finish: every suspension point
    /// then returns [`SuspendError::Cancelled`] at once.
    cancelled: Cell<bool>,
}

thread_local! {
    static CURRENT: Cell<*const EntryContext> = const { Cell::new(ptr::null()) };
    static FIBER: Cell<*const FiberState> = const { Cell::new(ptr::null()) };
    static STACKS: RefCell<Vec<(usize, DefaultStack)>> = const { RefCell::new(Vec::new()) };
}

/// The innermost entry on this thread, or null. Async-signal-safe.
pub(crate) fn current_entry() -> *const EntryContext {
    CURRENT.try_with(Cell::get).unwrap_or(ptr::null())
}

fn set_current_entry(entry: *const EntryContext) {
    CURRENT.with(|c| c.set(entry));
}

fn current_fiber() -> *const FiberState {
    FIBER.try_with(Cell::get).unwrap_or(ptr::null())
}

/// Bytes kept below the wasm stack limit for host functions wasm calls.
pub(crate) const HOST_STACK_RESERVE: usize = 512 * 1024;

/// Stacks the per-thread cache keeps at most.
const CACHED_STACKS: usize = 4;

/// A coroutine stack of at least `size` usable bytes (plus a guard page).
/// The one place stacks are allocated.
fn take_stack(size: usize) -> Result<DefaultStack, Error> {
    let cached = STACKS.with(|s| {
        let mut s = s.borrow_mut();
        let i = s.iter().position(|(sz, _)| *sz == size)?;
        Some(s.swap_remove(i).1)
    });
    match cached {
        Some(stack) => Ok(stack),
        None => DefaultStack::new(size).map_err(|e| {
            Error::ResourceLimit(format!("cannot allocate a coroutine stack: {e}").into())
        }),
    }
}

/// Give back a stack that [`take_stack`] returned for `size`.
fn return_stack(size: usize, stack: DefaultStack) {
    STACKS.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < CACHED_STACKS {
            s.push((size, stack));
        }
    });
}

/// Suspend the coroutine the caller runs on, passing `reason` out: the
/// innermost entry's when inside one, else the running fiber's. Returns when
/// that coroutine is resumed, or at once when there is none.
fn switch_out(reason: FiberYield) {
    let entry = current_entry();
    let yielder = if entry.is_null() {
        let fiber = current_fiber();
        if fiber.is_null() {
            return;
        }
        // SAFETY: `FIBER` points at the running fiber's boxed state, alive
        // while the fiber runs, and it runs now (this code is inside it).
        unsafe { (*fiber).yielder.get() }
    } else {
        // SAFETY: `CURRENT` points at the entry whose coroutine runs now
        // (this code is on its stack); the entry lives on its resumer's
        // stack, suspended in `resume`.
        unsafe { (*entry).yielder.get() }
    };
    if yielder.is_null() {
        return;
    }
    // SAFETY: the yielder belongs to the coroutine this code runs on (set
    // when that coroutine started), so suspending it is suspending us.
    let () = unsafe { (*yielder).suspend(reason) };
}

/// Run `body`, a guest of `store`, on a fresh coroutine stack of
/// `wasm_stack` usable bytes plus a reserve for host functions.
/// `stack_limit` is the store's slot for the limit compiled code checks
/// against: it holds this stack's limit whenever
/// the coroutine runs (swapped in at every resume and back out when the
/// coroutine yields or ends, so other entries and fibers of the store keep
/// their own). A guest fault inside `body` ends the coroutine and yields
/// `Err(record)`.
///
/// When something inside the coroutine suspends (a host function under an
/// async call), the suspension is passed on to the coroutine this function
/// runs on, and the entry's coroutine is resumed when that one is.
///
/// `body` must keep no value with a destructor alive across a call into
/// guest code: a trap discards the coroutine stack without unwinding it.
pub(crate) fn on_guest_stack(
    wasm_stack: usize,
    store: *mut StoreOpaque,
    stack_limit: *mut usize,
    body: &mut dyn FnMut(),
) -> Result<Result<(), TrapRecord>, Error> {
    crate::runtime::signals::ensure_installed()?;
    let size = wasm_stack + HOST_STACK_RESERVE;
    let stack = take_stack(size)?;
    let stack_low = stack.limit().get();
    let stack_high = stack.base().get();
    let limit = stack_low + HOST_STACK_RESERVE;
    let run = move |yielder: &SwitchYielder, ()| {
        let entry = current_entry();
        // SAFETY: the loop below set `CURRENT` to this coroutine's entry
        // right before resuming it, and the entry outlives the coroutine.
        unsafe { (*entry).yielder.set(yielder) };
        body();
        Ok(())
    };
    // SAFETY: `run` borrows `body`, which outlives the coroutine: the loop
    // below resumes it until it returns before this function returns (while
    // suspended, this frame is suspended with it; a fiber that is never
    // resumed again never runs it again either).
    let mut coroutine: Coroutine<(), FiberYield, EntryResult, DefaultStack> =
        unsafe { Coroutine::with_stack_unchecked(stack, run) };
    let entry = EntryContext {
        handler: coroutine.trap_handler(),
        stack_low,
        stack_high,
        record: UnsafeCell::new(TrapRecord {
            pc: 0,
            frames: [0; MAX_FRAMES],
            nframes: 0,
        }),
        yielder: Cell::new(ptr::null()),
        store,
        prev: current_entry(),
    };
    let outcome = loop {
        set_current_entry(&entry);
        // SAFETY: the caller passes the store's live stack-limit slot; no
        // reference to it is held across this call. Volatile: compiled code
        // reads the slot behind the compiler's back.
        let outer_limit = unsafe { stack_limit.read_volatile() };
        // SAFETY: as above.
        unsafe { stack_limit.write_volatile(limit) };
        let result = coroutine.resume(());
        // SAFETY: as above.
        unsafe { stack_limit.write_volatile(outer_limit) };
        set_current_entry(entry.prev);
        match result {
            CoroutineResult::Return(Ok(())) => break Ok(()),
            CoroutineResult::Return(Err(())) => break Err(entry.record.into_inner()),
            CoroutineResult::Yield(reason) => switch_out(reason),
        }
    };
    return_stack(size, coroutine.into_stack());
    Ok(outcome)
}

/// Why a suspension point returned without waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SuspendError {
    /// The code is not running inside a fiber: nothing can suspend.
    NotOnFiber,
    /// The fiber was resumed only to finish (its future was dropped).
    Cancelled,
}

/// Whether the running code is inside a fiber and may suspend.
pub(crate) fn on_fiber() -> bool {
    !current_fiber().is_null()
}

/// Suspend the running fiber, from any depth of entries inside it, with
/// `reason` for its resumer. Returns once the fiber is resumed.
///
/// # Errors
///
/// [`SuspendError::NotOnFiber`] outside a fiber, [`SuspendError::Cancelled`]
/// when the fiber is being cancelled (at once, or when it is resumed to
/// finish).
pub(crate) fn suspend(reason: FiberYield) -> Result<(), SuspendError> {
    let fiber = current_fiber();
    if fiber.is_null() {
        return Err(SuspendError::NotOnFiber);
    }
    // SAFETY: `FIBER` points at the running fiber's boxed state. The fiber
    // is resumed before its state is dropped (to finish it) or never again,
    // so the state is alive whenever this code runs.
    let state = unsafe { &*fiber };
    if state.cancelled.get() {
        return Err(SuspendError::Cancelled);
    }
    switch_out(reason);
    if state.cancelled.get() {
        return Err(SuspendError::Cancelled);
    }
    Ok(())
}

/// Wait for `future` inside the running fiber: poll it with the context of
/// the poll that resumed the fiber, and while it is pending suspend the
/// fiber (keeping the store). Resumed without a context, it cannot poll and
/// suspends again at once.
///
/// # Errors
///
/// As [`suspend`].
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output, SuspendError> {
    let mut future = pin!(future);
    loop {
        let fiber = current_fiber();
        if fiber.is_null() {
            return Err(SuspendError::NotOnFiber);
        }
        // SAFETY: as in `suspend`, the running fiber's state is alive.
        let state = unsafe { &*fiber };
        if state.cancelled.get() {
            return Err(SuspendError::Cancelled);
        }
        let cx = state.poll_cx.get();
        if cx.is_null() {
            suspend(FiberYield::KeepStore)?;
            continue;
        }
        // SAFETY: `Fiber::resume` set `poll_cx` from the `&mut Context` it
        // was given and clears it before returning; that resume is running
        // now, and the reborrow ends with this poll. The cast gives the
        // context back a lifetime no longer than that borrow.
        let cx = unsafe { &mut *cx.cast::<Context<'_>>() };
        match future.as_mut().poll(cx) {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending => suspend(FiberYield::KeepStore)?,
        }
    }
}

/// What a fiber did when resumed.
#[derive(Debug)]
pub(crate) enum FiberStatus<R> {
    /// It suspended, for this reason.
    Suspended(
        #[cfg_attr(
            not(test),
            expect(dead_code, reason = "the component model's scheduler reads it")
        )]
        FiberYield,
    ),
    /// It finished with this value.
    Done(R),
}

/// A coroutine running host code (`body`) that code inside it can suspend
/// with [`suspend`] or [`block_on`]. The resumer decides when it runs again.
///
/// A fiber that has started must be finished before it is dropped: run to
/// the end, or [`Fiber::cancel`]led (resumed once more so that every
/// suspension point inside returns an error and the guests unwind by their
/// normal trap path). It is never unwound by a panic through compiled code:
/// dropped unfinished, it leaks its stack instead.
pub(crate) struct Fiber<'a, R> {
    /// `None` once the coroutine has finished (its stack given back).
    coroutine: Option<Coroutine<(), FiberYield, R, DefaultStack>>,
    state: Box<FiberState>,
    stack_size: usize,
    /// `body` may borrow for `'a`.
    _body: PhantomData<&'a mut ()>,
}

impl<'a, R> Fiber<'a, R> {
    /// A fiber with a `stack_size`-byte stack that will run `body` when first
    /// resumed.
    ///
    /// # Errors
    ///
    /// `Error::ResourceLimit` when no stack can be allocated.
    pub(crate) fn new(stack_size: usize, body: impl FnOnce() -> R + 'a) -> Result<Self, Error> {
        let stack = take_stack(stack_size)?;
        let state = Box::new(FiberState {
            yielder: Cell::new(ptr::null()),
            poll_cx: Cell::new(ptr::null_mut()),
            cancelled: Cell::new(false),
        });
        let state_ptr: *const FiberState = &*state;
        let run = move |yielder: &SwitchYielder, ()| {
            // SAFETY: the state is boxed and owned by the fiber, which
            // outlives its coroutine.
            unsafe { (*state_ptr).yielder.set(yielder) };
            body()
        };
        // SAFETY: `body` borrows for `'a`, which outlives the fiber; the
        // coroutine runs only inside `resume`, and a fiber dropped
        // unfinished leaks it unrun (`Drop`).
        let coroutine = unsafe { Coroutine::with_stack_unchecked(stack, run) };
        Ok(Fiber {
            coroutine: Some(coroutine),
            state,
            stack_size,
            _body: PhantomData,
        })
    }

    /// Whether the fiber has finished.
    pub(crate) fn is_done(&self) -> bool {
        self.coroutine.is_none()
    }

    /// Run the fiber until it suspends or finishes. `cx` is what
    /// [`block_on`] inside polls futures with during this resume; without
    /// one, a `block_on` suspends again at once.
    ///
    /// # Errors
    ///
    /// `Error::Unreachable` when the fiber has already finished.
    ///
    /// # Panics
    ///
    /// A panic inside the fiber (a host function's, re-raised by its entry)
    /// propagates to the caller; the fiber is finished then.
    pub(crate) fn resume(&mut self, cx: Option<&mut Context<'_>>) -> Result<FiberStatus<R>, Error> {
        let Some(coroutine) = self.coroutine.as_mut().filter(|c| !c.done()) else {
            return Err(Error::bug("resumed a finished fiber"));
        };
        let poll_cx: *mut Context<'static> = match cx {
            Some(cx) => ptr::from_mut(cx).cast(),
            None => ptr::null_mut(),
        };
        let switch = Switch::enter(&self.state, poll_cx);
        let result = coroutine.resume(());
        drop(switch);
        match result {
            CoroutineResult::Yield(reason) => Ok(FiberStatus::Suspended(reason)),
            CoroutineResult::Return(value) => {
                if let Some(coroutine) = self.coroutine.take() {
                    return_stack(self.stack_size, coroutine.into_stack());
                }
                Ok(FiberStatus::Done(value))
            }
        }
    }

    /// Finish a suspended fiber: resume it cancelled (every suspension point
    /// inside returns [`SuspendError::Cancelled`] at once) until it ends, and
    /// drop its value. Nothing happens to a fiber that has not started or
    /// has finished.
    ///
    /// # Panics
    ///
    /// A panic inside the fiber while it finishes propagates, unless this
    /// thread is already panicking (then it is dropped).
    pub(crate) fn cancel(&mut self) {
        let Some(coroutine) = &self.coroutine else {
            return;
        };
        if !coroutine.started() || coroutine.done() {
            return;
        }
        self.state.cancelled.set(true);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.resume(None)));
        match outcome {
            Ok(Ok(FiberStatus::Done(_)) | Err(_)) => {}
            Ok(Ok(FiberStatus::Suspended(_))) => {
                // Nothing suspends once cancelled; should something have,
                // its stack holds frames that must be neither unwound nor
                // reused: leak it.
                std::mem::forget(self.coroutine.take());
            }
            Err(panic) => {
                if !std::thread::panicking() {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }
}

impl<R> Drop for Fiber<'_, R> {
    fn drop(&mut self) {
        let Some(coroutine) = self.coroutine.take() else {
            return;
        };
        if coroutine.done() {
            // It finished by panicking: the stack is free.
            return_stack(self.stack_size, coroutine.into_stack());
        } else if coroutine.started() {
            // Suspended and not cancelled (its owner could not reach the
            // store it needs): its frames must be neither unwound through
            // compiled code nor overwritten, so the stack is leaked.
            std::mem::forget(coroutine);
        }
        // A coroutine that never started drops its closure unrun.
    }
}

/// A fiber whose body uses a store: it runs only while resumed with that
/// store lent to it ([`StoreFiber::resume`]), which is what makes its
/// access exclusive. Many may be suspended on one store at a time (a task
/// each, in the component model); the store they wait on is free between
/// their resumes unless one suspended with [`FiberYield::KeepStore`].
pub(crate) struct StoreFiber<'a, R> {
    fiber: Fiber<'a, R>,
    store_id: u64,
}

impl<'a, R> StoreFiber<'a, R> {
    /// A fiber that will run `body` with `store` when first resumed, on a
    /// stack of [`Config::async_stack_size`](crate::Config::async_stack_size)
    /// bytes.
    ///
    /// # Errors
    ///
    /// `Error::ResourceLimit` when no stack can be allocated.
    pub(crate) fn new<T: 'a>(
        store: &mut StoreInner<T>,
        body: impl FnOnce(StoreContextMut<'_, T>) -> R + 'a,
    ) -> Result<Self, Error> {
        let store_id = store.opaque.id;
        let stack_size = store.opaque.engine.async_stack_size();
        let store_ptr: *mut StoreInner<T> = store;
        let fiber = Fiber::new(stack_size, move || {
            // SAFETY: the body runs only inside `StoreFiber::resume`, whose
            // caller lends this very store (checked by id) exclusively for
            // the resume; a store's `StoreInner` never moves (it is boxed).
            let store = unsafe { &mut *store_ptr };
            body(StoreContextMut(store))
        })?;
        Ok(StoreFiber { fiber, store_id })
    }

    /// Whether the fiber has finished.
    pub(crate) fn is_done(&self) -> bool {
        self.fiber.is_done()
    }

    /// Run the fiber with `store` lent to it until it suspends or finishes;
    /// see [`Fiber::resume`].
    ///
    /// # Errors
    ///
    /// `LinkError::WrongStore` for another store than the fiber's;
    /// `Error::Unreachable` when the fiber has already finished.
    pub(crate) fn resume<T>(
        &mut self,
        store: &mut StoreInner<T>,
        cx: Option<&mut Context<'_>>,
    ) -> Result<FiberStatus<R>, Error> {
        store.opaque.check(self.store_id)?;
        self.fiber.resume(cx)
    }

    /// Finish the fiber cancelled, with `store` lent to it; see
    /// [`Fiber::cancel`]. Meanwhile the store's epoch deadline is "now", so
    /// a guest looping with epoch checks on traps at its next check instead
    /// of running on.
    pub(crate) fn cancel<T>(&mut self, store: &mut StoreInner<T>) {
        if store.opaque.check(self.store_id).is_err() {
            return;
        }
        let deadline = std::mem::replace(&mut store.opaque.ctx.epoch_deadline, 0);
        self.fiber.cancel();
        store.opaque.ctx.epoch_deadline = deadline;
    }
}

/// The thread-local state around one resume of a fiber: entering saves the
/// resumer's and installs the fiber's (no entry yet: the fiber's entries
/// chain from null), dropping restores the resumer's, also when a panic
/// leaves the fiber.
struct Switch {
    state: *const FiberState,
    outer_entry: *const EntryContext,
    outer_fiber: *const FiberState,
}

impl Switch {
    fn enter(state: &FiberState, poll_cx: *mut Context<'static>) -> Switch {
        state.poll_cx.set(poll_cx);
        let outer_entry = current_entry();
        set_current_entry(ptr::null());
        let outer_fiber = FIBER.with(|f| f.replace(state));
        Switch {
            state,
            outer_entry,
            outer_fiber,
        }
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        FIBER.with(|f| f.set(self.outer_fiber));
        set_current_entry(self.outer_entry);
        // SAFETY: the state is boxed in the fiber whose resume this switch
        // brackets, alive for the whole resume.
        unsafe { (*self.state).poll_cx.set(ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests;
