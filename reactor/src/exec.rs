//! A small per-thread executor: [`crate::Driver::block_on`] drives one future
//! plus the local tasks added with [`spawn`], and parks the backend when
//! nothing is runnable. Parking is where queued SQEs reach the kernel, so all
//! ops submitted by the tasks of one round go in one `io_uring_enter`.
//!
//! Wakers are thread-safe (a wake on the owning thread goes to a local list,
//! one from elsewhere through `Arc` + `Mutex`), but a wake from another thread
//! while this thread is parked in the kernel is only noticed at the next
//! event: cross-thread wake-ups are not a goal of the per-thread design.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::Driver;

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Ids of woken tasks. Wakers may be sent to other threads, hence the
/// mutex; `any` lets the (same-thread, hot) checks skip the lock when
/// nothing was woken.
#[derive(Default)]
struct Ready {
    ids: Mutex<Vec<usize>>,
    /// Set after every push (under the lock), cleared by `take` before it
    /// locks: a push is never missed, at worst `take` locks for nothing.
    any: AtomicBool,
}

impl Ready {
    fn push(&self, id: usize) {
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.push(id);
        self.any.store(true, Ordering::Release);
    }
    /// Appends the woken ids to `into`.
    fn take(&self, into: &mut Vec<usize>) {
        if !self.any.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        into.append(&mut ids);
    }
    fn is_empty(&self) -> bool {
        !self.any.load(Ordering::Acquire)
    }
}

struct TaskWaker {
    id: usize,
    ready: Arc<Ready>,
}

impl TaskWaker {
    /// Queues the task: on its own thread (the usual case: a completion
    /// reaped by this thread's backend) in the executor's local list, with
    /// no lock; from any other thread through the shared [`Ready`] queue.
    fn schedule(&self) {
        let local = EXEC
            .try_with(|e| {
                if !Arc::ptr_eq(&e.ready, &self.ready) {
                    return false;
                }
                match e.local.try_borrow_mut() {
                    Ok(mut l) => {
                        l.push(self.id);
                        true
                    }
                    Err(_) => false,
                }
            })
            .unwrap_or(false);
        if !local {
            self.ready.push(self.id);
        }
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

struct FlagWaker(AtomicBool);

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

#[derive(Default)]
struct Executor {
    tasks: RefCell<Vec<Option<(Task, Waker)>>>,
    free: RefCell<Vec<usize>>,
    live: Cell<usize>,
    ready: Arc<Ready>,
    /// Tasks woken on this thread (see [`TaskWaker::schedule`]).
    local: RefCell<Vec<usize>>,
    depth: Cell<usize>,
}

thread_local! {
    static EXEC: Rc<Executor> = Rc::new(Executor::default());
    /// Ops the task being polled may still start in this poll; `None`
    /// outside this executor's polls (no limit).
    static BUDGET: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Ops one poll of a task may start before it has to yield (tokio's
/// figure). An op that finishes at once (a fallback syscall, a page-cache
/// hit) never returns `Pending`, so without a budget a task reading a
/// cached file would hold the thread until it stopped reading.
pub(crate) const BUDGET_PER_POLL: u32 = 128;

/// Takes one unit of the polled task's budget: `false` when it is spent,
/// and the caller should wake its task and return `Pending`.
pub(crate) fn take_budget() -> bool {
    BUDGET.with(|b| match b.get() {
        None => true,
        Some(0) => false,
        Some(n) => {
            b.set(Some(n - 1));
            true
        }
    })
}

/// Runs `poll` with a fresh budget, restoring the enclosing one after (a
/// nested `block_on` inside a task).
fn with_budget<R>(poll: impl FnOnce() -> R) -> R {
    let outer = BUDGET.with(|b| b.replace(Some(BUDGET_PER_POLL)));
    let r = poll();
    BUDGET.with(|b| b.set(outer));
    r
}

impl Executor {
    fn spawn(&self, task: Task) {
        let id = self.free.borrow_mut().pop().unwrap_or_else(|| {
            let mut t = self.tasks.borrow_mut();
            t.push(None);
            t.len() - 1
        });
        let waker = Waker::from(Arc::new(TaskWaker {
            id,
            ready: self.ready.clone(),
        }));
        self.tasks.borrow_mut()[id] = Some((task, waker));
        self.live.set(self.live.get() + 1);
        self.local.borrow_mut().push(id);
    }

    /// Whether no task has been woken since the last `run_ready`.
    fn idle(&self) -> bool {
        self.local.borrow().is_empty() && self.ready.is_empty()
    }

    /// Polls every task woken so far; returns how many were polled.
    fn run_ready(&self, scratch: &mut Vec<usize>) -> usize {
        scratch.clear();
        std::mem::swap(&mut *self.local.borrow_mut(), scratch);
        self.ready.take(scratch);
        let mut polled = 0;
        for &id in scratch.iter() {
            let taken = self.tasks.borrow_mut().get_mut(id).and_then(Option::take);
            let Some((mut task, waker)) = taken else {
                continue;
            };
            polled += 1;
            let mut cx = Context::from_waker(&waker);
            match with_budget(|| task.as_mut().poll(&mut cx)) {
                Poll::Pending => self.tasks.borrow_mut()[id] = Some((task, waker)),
                Poll::Ready(()) => {
                    self.free.borrow_mut().push(id);
                    self.live.set(self.live.get() - 1);
                }
            }
        }
        polled
    }
}

/// Spawns a task on this thread's executor; it runs inside the outermost
/// [`crate::Driver::block_on`] of this thread. The task keeps running if the
/// handle is dropped.
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let slot = Rc::new(RefCell::new(JoinSlot {
        value: None,
        waker: None,
    }));
    let inner = slot.clone();
    let task = async move {
        let v = fut.await;
        let mut s = inner.borrow_mut();
        s.value = Some(v);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    };
    EXEC.with(|e| e.spawn(Box::pin(task)));
    JoinHandle { slot }
}

struct JoinSlot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

/// Resolves to a spawned task's output.
pub struct JoinHandle<T> {
    slot: Rc<RefCell<JoinSlot<T>>>,
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.slot.borrow_mut();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Yields once to the other tasks of this thread.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

pub(crate) fn block_on<F: Future>(driver: &Driver, fut: F) -> F::Output {
    let exec = EXEC.with(Rc::clone);
    let depth = exec.depth.get();
    exec.depth.set(depth + 1);
    let _restore = DepthGuard(&exec, depth);
    // Only the outermost `block_on` runs spawned tasks: a nested one (a host
    // function blocking inside a task) waits for its own future only, and the
    // tasks it wakes run when control returns to the outer loop.
    let outermost = depth == 0;
    let flag = Arc::new(FlagWaker(AtomicBool::new(true)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let mut scratch = Vec::new();
    loop {
        if flag.0.swap(false, Ordering::AcqRel)
            && let Poll::Ready(v) = with_budget(|| fut.as_mut().poll(&mut cx))
        {
            return v;
        }
        let polled = if outermost {
            exec.run_ready(&mut scratch)
        } else {
            0
        };
        let runnable = flag.0.load(Ordering::Acquire) || (outermost && !exec.idle());
        let timeout = if !runnable {
            None
        } else if polled > 0 {
            Some(Duration::ZERO)
        } else {
            continue;
        };
        if let Err(e) = driver.park(timeout) {
            panic!("reactor: parking the {} backend failed: {e}", driver.kind());
        }
    }
}

struct DepthGuard<'a>(&'a Executor, usize);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.depth.set(self.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_queue_swaps_out_all_ids() {
        let r = Ready::default();
        r.push(3);
        r.push(1);
        let mut v = Vec::new();
        r.take(&mut v);
        assert_eq!(v, [3, 1]);
        let mut w = Vec::new();
        r.take(&mut w);
        assert!(w.is_empty());
    }
}
