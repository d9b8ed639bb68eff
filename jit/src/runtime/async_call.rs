//! Async calls: guest work as a `Future`, and waiting on futures from host
//! functions inside it.
//!
//! [`on_fiber`] runs a closure (which may call into wasm any number of
//! times) on a [`Fiber`]; the returned [`FiberFuture`] resumes the fiber on
//! every poll. A host function anywhere inside, however many host→wasm
//! entries deep, waits with [`AsyncCx::block_on`]: it polls its future with
//! the context of that poll, and while the future is pending the fiber is
//! suspended and the outer future returns `Pending`. The engine knows only
//! `std::future` and `std::task`: the executor and its I/O are the
//! embedder's. See `docs/design/async-calls.md`.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Error;
use crate::runtime::fiber::{self, FiberStatus, StoreFiber, SuspendError};
use crate::runtime::store::{AsContextMut, StoreContextMut};
use crate::runtime::trap::{Trap, TrapCode};

/// Run `f` on a fiber (a coroutine stack of
/// [`Config::async_stack_size`](crate::Config::async_stack_size) bytes) as
/// a future, with the store lent to it. `f` may call into wasm any number
/// of times, synchronously ([`Func::call`](crate::Func::call)); a host
/// function reached from it that waits with [`AsyncCx::block_on`] suspends
/// the fiber, and the future returns `Pending` until it is polled again.
///
/// The future borrows `store` until it completes or is dropped. Dropping it
/// while the call is suspended resumes the fiber once more, cancelled: every
/// wait inside returns [`TrapCode::Cancelled`] so that the guests unwind by
/// their normal trap path, `f` returns, and only then does the drop finish
/// (with epoch interruption on, the store's deadline is "now" meanwhile, so
/// a guest in a loop traps at its next check).
///
/// The future is not `Send`: the suspended stack holds host frames whose
/// values the compiler never checked, so it stays on its thread.
///
/// # Errors
///
/// The future resolves to `Error::ResourceLimit` when no stack can be
/// allocated for the fiber.
///
/// # Panics
///
/// A panic inside `f` (including one in a host function it reached)
/// propagates to the caller of `poll`.
pub fn on_fiber<'a, S, R>(
    mut store: S,
    f: impl FnOnce(StoreContextMut<'_, S::Data>) -> R + 'a,
) -> FiberFuture<'a, S, R>
where
    S: AsContextMut + 'a,
{
    let fiber = StoreFiber::new(store.as_context_mut().0, f);
    FiberFuture {
        store: Some(store),
        state: match fiber {
            Ok(fiber) => State::Running(fiber),
            Err(e) => State::Failed(Some(e)),
        },
    }
}

/// The future of an async call: see [`on_fiber`]. It holds the store (`S`,
/// for example `&mut Store<T>`) and lends it to the fiber on every poll.
pub struct FiberFuture<'a, S: AsContextMut, R> {
    /// `None` only once [`FiberFuture::into_store`] took it.
    store: Option<S>,
    state: State<'a, R>,
}

impl<S: AsContextMut, R> FiberFuture<'_, S, R> {
    /// The store back, once the call has finished (the future returned
    /// `Ready`), so an owned store can serve another call (an embedder
    /// reusing an instance).
    ///
    /// # Errors
    ///
    /// The future itself while the call is still suspended (dropping it
    /// would cancel the call).
    pub fn into_store(mut self) -> Result<S, Self> {
        if let State::Running(fiber) = &self.state
            && !fiber.is_done()
        {
            return Err(self);
        }
        self.store.take().ok_or(self)
    }
}

enum State<'a, R> {
    Running(StoreFiber<'a, R>),
    /// The fiber could not be made; the error until it is reported.
    Failed(Option<Error>),
}

impl<S: AsContextMut, R> std::fmt::Debug for FiberFuture<'_, S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let done = match &self.state {
            State::Running(fiber) => fiber.is_done(),
            State::Failed(_) => true,
        };
        f.debug_struct("FiberFuture")
            .field("done", &done)
            .finish_non_exhaustive()
    }
}

// Nothing points into the future: the fiber's frames live on its own stack,
// its thread-visible state in a box, and the store is reached through
// `AsContextMut`, whose `StoreInner` is boxed.
impl<S: AsContextMut, R> Unpin for FiberFuture<'_, S, R> {}

impl<S: AsContextMut, R> Future for FiberFuture<'_, S, R> {
    type Output = Result<R, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match &mut this.state {
            State::Failed(error) => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| Error::bug("FiberFuture polled after completion")))),
            State::Running(fiber) => match &mut this.store {
                Some(store) => match fiber.resume(store.as_context_mut().0, Some(cx)) {
                    Ok(FiberStatus::Suspended(_)) => Poll::Pending,
                    Ok(FiberStatus::Done(value)) => Poll::Ready(Ok(value)),
                    Err(e) => Poll::Ready(Err(e)),
                },
                None => Poll::Ready(Err(Error::bug("FiberFuture polled without its store"))),
            },
        }
    }
}

impl<S: AsContextMut, R> Drop for FiberFuture<'_, S, R> {
    fn drop(&mut self) {
        if let (State::Running(fiber), Some(store)) = (&mut self.state, &mut self.store) {
            fiber.cancel(store.as_context_mut().0);
        }
    }
}

/// The handle a host function waits on futures with, inside an async call.
/// Get it with
/// [`StoreContextMut::async_cx`](crate::StoreContextMut::async_cx)
/// (`caller.as_context_mut().async_cx()`); it is `None` outside an async
/// call.
#[derive(Debug, Clone, Copy)]
pub struct AsyncCx {
    /// Fibers stay on their thread, and so does this.
    _not_send: PhantomData<*const ()>,
}

impl AsyncCx {
    /// The handle, when the running code is inside an async call (host
    /// code that cannot reach its store, such as a WASI stream deep in a
    /// host function, asks here).
    pub fn current() -> Option<AsyncCx> {
        fiber::on_fiber().then_some(AsyncCx {
            _not_send: PhantomData,
        })
    }

    /// Wait for `future`: poll it with the context of the poll driving the
    /// async call, and while it is pending suspend the call (its future
    /// returns `Pending`; the thread runs other work) until that future is
    /// polled again. The guest frames below stay as they are, so this works
    /// at any depth of host → wasm → host nesting.
    ///
    /// The store stays borrowed by the suspended host function: nothing
    /// else uses it until the call resumes.
    ///
    /// # Errors
    ///
    /// A trap to return from the host function: [`TrapCode::Cancelled`]
    /// when the async call was dropped (the guest must unwind), or a host
    /// trap when called where no async call runs (a handle kept past its
    /// call).
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, Trap> {
        fiber::block_on(future).map_err(suspend_trap)
    }
}

/// The trap a failed wait turns into.
pub(crate) fn suspend_trap(e: SuspendError) -> Trap {
    match e {
        SuspendError::Cancelled => Trap::new(TrapCode::Cancelled),
        SuspendError::NotOnFiber => Trap::host(
            "waited on a future outside an async call (call it with `call_async` or `on_fiber`)",
        ),
    }
}

/// The epoch deadline passed under
/// [`Store::epoch_deadline_async_yield_and_update`](crate::Store::epoch_deadline_async_yield_and_update):
/// yield to the executor once.
///
/// # Errors
///
/// As [`fiber::block_on`]: outside an async call, or cancelled.
pub(crate) fn yield_now() -> Result<(), SuspendError> {
    let mut yielded = false;
    fiber::block_on(std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }))
}
