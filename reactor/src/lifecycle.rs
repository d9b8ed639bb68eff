//! The lifecycle slab: one slot per in-flight op, indexed by the SQE's
//! `user_data`. Pure bookkeeping (no syscalls), so Miri runs its tests.
//!
//! A slot goes `Submitted` → (`Waiting` while a task waits) → `Completed`
//! → freed by the poll that takes the completion. If the op's future is
//! dropped first, the op itself (with its buffers) moves into the slot as
//! `Ignored`, and is dropped only when the CQE arrives: the kernel can never
//! write into memory that has been freed or handed back to the caller.

use std::any::Any;
use std::task::{Poll, Waker};

use crate::op::Completion;

/// The state of one in-flight op.
pub(crate) enum Lifecycle {
    /// Pushed to the SQ; nobody has polled it since.
    Submitted,
    /// A task waits for the completion.
    Waiting(Waker),
    /// The CQE arrived; the next poll takes it.
    Completed(Completion),
    /// The future was dropped: the op and its buffers are parked here until
    /// the CQE arrives.
    Ignored(Box<dyn Any>),
}

/// Slots indexed by `user_data`, with a free list.
#[derive(Default)]
pub(crate) struct Slab {
    slots: Vec<Option<Lifecycle>>,
    free: Vec<usize>,
    live: usize,
}

impl Slab {
    /// Takes a free slot for a newly submitted op.
    pub(crate) fn insert(&mut self) -> usize {
        self.live += 1;
        if let Some(i) = self.free.pop() {
            self.slots[i] = Some(Lifecycle::Submitted);
            i
        } else {
            self.slots.push(Some(Lifecycle::Submitted));
            self.slots.len() - 1
        }
    }

    fn remove(&mut self, i: usize) -> Option<Lifecycle> {
        let s = self.slots.get_mut(i)?.take()?;
        self.free.push(i);
        self.live -= 1;
        Some(s)
    }

    /// How many slots are in use.
    pub(crate) const fn len(&self) -> usize {
        self.live
    }

    /// Whether slot `i` is in use (a stale `user_data` is not).
    pub(crate) fn contains(&self, i: usize) -> bool {
        matches!(self.slots.get(i), Some(Some(_)))
    }

    /// A task polls slot `i`: takes the completion (freeing the slot) or
    /// records the waker.
    pub(crate) fn poll(&mut self, i: usize, waker: &Waker) -> Poll<Completion> {
        match self.slots.get_mut(i) {
            Some(Some(Lifecycle::Completed(c))) => {
                let c = *c;
                self.remove(i);
                Poll::Ready(c)
            }
            Some(Some(s @ (Lifecycle::Submitted | Lifecycle::Waiting(_)))) => {
                if !matches!(s, Lifecycle::Waiting(w) if w.will_wake(waker)) {
                    *s = Lifecycle::Waiting(waker.clone());
                }
                Poll::Pending
            }
            // Polling an ignored or free slot is a reactor bug; report it as
            // an error completion rather than hang.
            _ => Poll::Ready(Completion::error(libc::EBADF)),
        }
    }

    /// The CQE for slot `i` arrived. Wakes the waiting task, or drops the
    /// parked op of an ignored slot. Returns the parked op, if any, so the
    /// caller may drop it outside any borrow.
    pub(crate) fn complete(&mut self, i: usize, c: Completion) -> Option<Box<dyn Any>> {
        let slot = self.slots.get_mut(i)?;
        match slot.take() {
            Some(Lifecycle::Ignored(parked)) => {
                self.free.push(i);
                self.live -= 1;
                Some(parked)
            }
            Some(Lifecycle::Waiting(w)) => {
                *slot = Some(Lifecycle::Completed(c));
                w.wake();
                None
            }
            Some(Lifecycle::Submitted | Lifecycle::Completed(_)) => {
                *slot = Some(Lifecycle::Completed(c));
                None
            }
            None => None,
        }
    }

    /// The future of slot `i` was dropped. Returns `Ok(())` when the op is
    /// still in flight (now parked; cancel it), or gives `parked` back when
    /// the completion had already arrived (the slot is freed and the op may be
    /// dropped at once).
    pub(crate) fn abandon(&mut self, i: usize, parked: Box<dyn Any>) -> Result<(), Box<dyn Any>> {
        match self.slots.get_mut(i) {
            Some(Some(Lifecycle::Completed(_))) | Some(None) | None => {
                self.remove(i);
                Err(parked)
            }
            Some(Some(s)) => {
                *s = Lifecycle::Ignored(parked);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn completion_wakes_waiter_and_frees_slot_on_poll() {
        let mut s = Slab::default();
        let (count, w) = waker();
        let i = s.insert();
        assert!(s.poll(i, &w).is_pending());
        assert!(
            s.complete(
                i,
                Completion {
                    result: 7,
                    flags: 0
                }
            )
            .is_none()
        );
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            s.poll(i, &w),
            Poll::Ready(Completion {
                result: 7,
                flags: 0
            })
        );
        assert_eq!(s.len(), 0);
        assert!(!s.contains(i));
        assert_eq!(s.insert(), i, "freed slots are reused");
    }

    #[test]
    fn abandoned_op_stays_parked_until_its_completion() {
        struct Flag(Arc<AtomicUsize>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut s = Slab::default();
        let i = s.insert();
        assert!(s.abandon(i, Box::new(Flag(dropped.clone()))).is_ok());
        assert_eq!(dropped.load(Ordering::SeqCst), 0, "parked, not dropped");
        assert_eq!(s.len(), 1);
        let parked = s.complete(i, Completion::error(libc::ECANCELED));
        assert!(parked.is_some());
        drop(parked);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn abandon_after_completion_releases_at_once() {
        let mut s = Slab::default();
        let i = s.insert();
        s.complete(
            i,
            Completion {
                result: 1,
                flags: 0,
            },
        );
        assert!(s.abandon(i, Box::new(5u32)).is_err());
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn stale_completion_is_ignored() {
        let mut s = Slab::default();
        assert!(s.complete(42, Completion::error(1)).is_none());
        assert_eq!(s.len(), 0);
    }
}
