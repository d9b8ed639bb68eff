//! The lifecycle slab: one slot per in-flight op, indexed by the SQE's
//! `user_data`. Pure bookkeeping (no syscalls), so Miri runs its tests.
//!
//! A slot goes `Submitted` → (`Waiting` while a task waits) → `Completed`
//! → freed by the poll that takes the completion. If the op's future is
//! dropped first, the op itself (with its buffers) moves into the slot as
//! `Ignored`, and is dropped only when the CQE arrives: the kernel can never
//! write into memory that has been freed or handed back to the caller.

use std::collections::VecDeque;
use std::task::{Poll, Waker};

use crate::op::Completion;

/// The state of one in-flight op.
pub(crate) enum Lifecycle<P> {
    /// Pushed to the SQ; nobody has polled it since.
    Submitted,
    /// A task waits for the completion.
    Waiting(Waker),
    /// The CQE arrived; the next poll takes it.
    Completed(Completion),
    /// The future was dropped: the op and its buffers are parked here until
    /// its last CQE (one without `IORING_CQE_F_MORE`) arrives.
    Ignored(P),
    /// A multishot op: completions queue up until the stream polls them; the
    /// slot lives until a completion without `IORING_CQE_F_MORE`.
    Stream {
        /// Completions not yet taken.
        queue: VecDeque<Completion>,
        /// The task waiting for the next one.
        waker: Option<Waker>,
    },
}

/// Slots indexed by `user_data`, with a free list. `P` is what a dropped op
/// parks (the op itself, in the ring).
pub(crate) struct Slab<P> {
    slots: Vec<Option<Lifecycle<P>>>,
    /// The first CQE of an op that posts two (`IORING_CQE_F_MORE`, as
    /// `SEND_ZC` does: the result, then the notification that the kernel no
    /// longer reads the buffer). The op completes on the last CQE, with the
    /// first one's result.
    first: Vec<Option<Completion>>,
    free: Vec<usize>,
    live: usize,
}

impl<P> Default for Slab<P> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            first: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }
}

impl<P> Slab<P> {
    /// Takes a free slot for a newly submitted op.
    pub(crate) fn insert(&mut self) -> usize {
        self.insert_as(Lifecycle::Submitted)
    }

    /// Takes a free slot for a newly submitted op whose task already waits
    /// for it (saves the poll that would record the waker).
    pub(crate) fn insert_waiting(&mut self, waker: Waker) -> usize {
        self.insert_as(Lifecycle::Waiting(waker))
    }

    fn insert_as(&mut self, state: Lifecycle<P>) -> usize {
        self.live += 1;
        if let Some(i) = self.free.pop() {
            self.slots[i] = Some(state);
            self.first[i] = None;
            i
        } else {
            self.slots.push(Some(state));
            self.first.push(None);
            self.slots.len() - 1
        }
    }

    /// Takes a free slot for a multishot op.
    pub(crate) fn insert_stream(&mut self) -> usize {
        let i = self.insert();
        self.slots[i] = Some(Lifecycle::Stream {
            queue: VecDeque::new(),
            waker: None,
        });
        i
    }

    fn remove(&mut self, i: usize) -> Option<Lifecycle<P>> {
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
            Some(Some(Lifecycle::Stream { queue, waker: w })) => match queue.pop_front() {
                Some(c) => {
                    if !c.more() {
                        self.remove(i);
                    }
                    Poll::Ready(c)
                }
                None => {
                    if !w.as_ref().is_some_and(|w| w.will_wake(waker)) {
                        *w = Some(waker.clone());
                    }
                    Poll::Pending
                }
            },
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

    /// The CQE for slot `i` arrived. Wakes the waiting task; for an ignored
    /// slot, shows the completion to the parked op (`on_ignored`, so it can
    /// release what the completion handed over: an fd, a provided buffer)
    /// and, on the last CQE, returns the parked op so the caller drops it
    /// outside any borrow.
    pub(crate) fn complete(
        &mut self,
        i: usize,
        c: Completion,
        mut on_ignored: impl FnMut(&mut P, Completion),
    ) -> Option<P> {
        let slot = self.slots.get_mut(i)?;
        // The common case first: a task waits for a single-shot op's only
        // completion.
        if !c.more()
            && matches!(slot, Some(Lifecycle::Waiting(_)))
            && self.first[i].is_none()
            && let Some(Lifecycle::Waiting(w)) = slot.replace(Lifecycle::Completed(c))
        {
            w.wake();
            return None;
        }
        match slot {
            None => return None,
            Some(Lifecycle::Stream { queue, waker }) => {
                queue.push_back(c);
                if let Some(w) = waker.take() {
                    w.wake();
                }
                return None;
            }
            Some(Lifecycle::Ignored(p)) => {
                on_ignored(p, c);
                if c.more() {
                    return None;
                }
            }
            _ => {}
        }
        if c.more() {
            self.first[i] = Some(c);
            return None;
        }
        let c = match self.first[i].take() {
            Some(first) => Completion {
                result: first.result,
                flags: first.flags & !crate::op::CQE_F_MORE,
            },
            None => c,
        };
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
            Some(s @ Lifecycle::Stream { .. }) => {
                // Handled above; keep the slot as it was.
                *slot = Some(s);
                None
            }
            None => None,
        }
    }

    /// The future of slot `i` was dropped. Returns `Ok(())` when the op is
    /// still in flight (now parked; cancel it), or gives `parked` back when
    /// the completion had already arrived (the slot is freed and the op may be
    /// dropped at once).
    pub(crate) fn abandon(&mut self, i: usize, parked: P) -> Result<(), P> {
        match self.slots.get_mut(i) {
            Some(Some(Lifecycle::Completed(_))) | Some(None) | None => {
                self.remove(i);
                Err(parked)
            }
            Some(Some(Lifecycle::Stream { queue, .. })) if queue.iter().any(|c| !c.more()) => {
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
    use std::any::Any;

    type S = Slab<Box<dyn Any>>;

    fn done<P>(_: &mut P, _: Completion) {}
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
        let mut s = S::default();
        let (count, w) = waker();
        let i = s.insert();
        assert!(s.poll(i, &w).is_pending());
        assert!(
            s.complete(
                i,
                Completion {
                    result: 7,
                    flags: 0
                },
                done
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
    fn a_slot_inserted_waiting_is_woken_without_a_first_poll() {
        let mut s = S::default();
        let (count, w) = waker();
        let i = s.insert_waiting(w.clone());
        let c = Completion {
            result: 4096,
            flags: 0,
        };
        assert!(s.complete(i, c, done).is_none());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(s.poll(i, &w), Poll::Ready(c));
        assert_eq!(s.len(), 0);
        // A two-CQE op inserted waiting still completes on its last CQE.
        let i = s.insert_waiting(w.clone());
        let more = Completion {
            result: 9,
            flags: crate::op::CQE_F_MORE,
        };
        assert!(s.complete(i, more, done).is_none());
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "not before the last CQE");
        s.complete(
            i,
            Completion {
                result: 0,
                flags: 0,
            },
            done,
        );
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(matches!(
            s.poll(i, &w),
            Poll::Ready(Completion { result: 9, .. })
        ));
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
        let mut s = S::default();
        let i = s.insert();
        assert!(s.abandon(i, Box::new(Flag(dropped.clone()))).is_ok());
        assert_eq!(dropped.load(Ordering::SeqCst), 0, "parked, not dropped");
        assert_eq!(s.len(), 1);
        let parked = s.complete(i, Completion::error(libc::ECANCELED), done);
        assert!(parked.is_some());
        drop(parked);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn abandon_after_completion_releases_at_once() {
        let mut s = S::default();
        let i = s.insert();
        s.complete(
            i,
            Completion {
                result: 1,
                flags: 0,
            },
            done,
        );
        assert!(s.abandon(i, Box::new(5u32)).is_err());
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn two_cqe_op_completes_on_the_last_with_the_first_result() {
        let mut s = S::default();
        let (count, w) = waker();
        let i = s.insert();
        assert!(s.poll(i, &w).is_pending());
        let more = Completion {
            result: 100,
            flags: crate::op::CQE_F_MORE,
        };
        assert!(s.complete(i, more, done).is_none());
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            0,
            "not done until the notification"
        );
        assert!(s.poll(i, &w).is_pending());
        s.complete(
            i,
            Completion {
                result: 0,
                flags: 1 << 3,
            },
            done,
        );
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            s.poll(i, &w),
            Poll::Ready(Completion { result: 100, .. })
        ));
    }

    #[test]
    fn stream_queues_completions_until_the_last() {
        let mut s = S::default();
        let (count, w) = waker();
        let i = s.insert_stream();
        assert!(s.poll(i, &w).is_pending());
        let more = |r| Completion {
            result: r,
            flags: crate::op::CQE_F_MORE,
        };
        s.complete(i, more(5), done);
        s.complete(i, more(6), done);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(s.poll(i, &w), Poll::Ready(more(5)));
        assert_eq!(s.poll(i, &w), Poll::Ready(more(6)));
        assert!(s.poll(i, &w).is_pending());
        s.complete(i, Completion::error(libc::ECANCELED), done);
        assert!(matches!(s.poll(i, &w), Poll::Ready(c) if !c.more()));
        assert_eq!(s.len(), 0, "the last completion frees the slot");
    }

    #[test]
    fn ignored_stream_is_kept_until_its_last_completion() {
        let mut s = S::default();
        let i = s.insert_stream();
        assert!(s.abandon(i, Box::new(1u8)).is_ok());
        let more = Completion {
            result: 3,
            flags: crate::op::CQE_F_MORE,
        };
        assert!(s.complete(i, more, done).is_none());
        assert_eq!(s.len(), 1);
        assert!(
            s.complete(i, Completion::error(libc::ECANCELED), done)
                .is_some()
        );
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn stale_completion_is_ignored() {
        let mut s = S::default();
        assert!(s.complete(42, Completion::error(1), done).is_none());
        assert_eq!(s.len(), 0);
    }
}
