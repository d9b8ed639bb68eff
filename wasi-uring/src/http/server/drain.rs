//! Per-thread signals without locks: the drain flag that idle waits race
//! against, and a two-way `select` for futures.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

/// The thread's drain signal: once fired, accept loops stop, idle
/// keep-alive connections close, and in-flight requests finish with
/// `connection: close`.
#[derive(Debug, Default)]
pub(crate) struct Drain {
    fired: Cell<bool>,
    waiters: RefCell<Vec<Option<Waker>>>,
    free: RefCell<Vec<usize>>,
}

impl Drain {
    /// Whether the server is draining.
    pub(crate) fn fired(&self) -> bool {
        self.fired.get()
    }

    /// Starts draining and wakes every waiter.
    pub(crate) fn fire(&self) {
        self.fired.set(true);
        let wakers: Vec<Waker> = self
            .waiters
            .borrow_mut()
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for w in wakers {
            w.wake();
        }
    }

    /// Resolves once the drain has started.
    pub(crate) fn wait(&self) -> DrainWait<'_> {
        DrainWait {
            drain: self,
            slot: None,
        }
    }
}

/// The future of [`Drain::wait`]; leaves no waker behind when dropped.
pub(crate) struct DrainWait<'a> {
    drain: &'a Drain,
    slot: Option<usize>,
}

impl Future for DrainWait<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.drain.fired.get() {
            return Poll::Ready(());
        }
        let mut waiters = self.drain.waiters.borrow_mut();
        match self.slot {
            Some(i) => waiters[i] = Some(cx.waker().clone()),
            None => {
                let i = match self.drain.free.borrow_mut().pop() {
                    Some(i) => {
                        waiters[i] = Some(cx.waker().clone());
                        i
                    }
                    None => {
                        waiters.push(Some(cx.waker().clone()));
                        waiters.len() - 1
                    }
                };
                drop(waiters);
                self.slot = Some(i);
            }
        }
        Poll::Pending
    }
}

impl Drop for DrainWait<'_> {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            if let Some(w) = self.drain.waiters.borrow_mut().get_mut(i) {
                *w = None;
            }
            self.drain.free.borrow_mut().push(i);
        }
    }
}

/// Which of two futures finished first.
pub(crate) enum Either<A, B> {
    /// The first.
    Left(A),
    /// The second.
    Right(B),
}

/// Polls `a` then `b` until one is ready; the other is dropped (an op in
/// flight is cancelled and its buffers parked by the reactor).
pub(crate) async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_are_woken_and_slots_reused() {
        let d = Drain::default();
        let mut cx = Context::from_waker(Waker::noop());
        {
            let mut w = pin!(d.wait());
            assert!(w.as_mut().poll(&mut cx).is_pending());
        }
        let mut w2 = pin!(d.wait());
        assert!(w2.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            d.waiters.borrow().len(),
            1,
            "the dropped wait's slot is reused"
        );
        d.fire();
        assert!(w2.as_mut().poll(&mut cx).is_ready());
    }
}
