//! Fibers on their own, and many store fibers interleaved on one store (the
//! component model's use, which no public API exposes yet).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::{Caller, Engine, Error, Linker, Module, Store, TrapCode};

fn noop_cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

#[test]
fn a_fiber_suspends_with_its_reason_and_finishes_with_its_value() {
    let mut fiber = Fiber::new(64 * 1024, || {
        let first = suspend(FiberYield::ReleaseStore);
        let second = suspend(FiberYield::KeepStore);
        (first, second, 7)
    })
    .expect("fiber");
    let mut cx = noop_cx();
    assert!(matches!(
        fiber.resume(Some(&mut cx)),
        Ok(FiberStatus::Suspended(FiberYield::ReleaseStore))
    ));
    assert!(!fiber.is_done());
    assert!(matches!(
        fiber.resume(None),
        Ok(FiberStatus::Suspended(FiberYield::KeepStore))
    ));
    assert!(matches!(
        fiber.resume(Some(&mut cx)),
        Ok(FiberStatus::Done((Ok(()), Ok(()), 7)))
    ));
    assert!(fiber.is_done());
    assert!(matches!(fiber.resume(None), Err(Error::Unreachable(_))));
}

#[test]
fn outside_a_fiber_nothing_suspends() {
    assert!(!on_fiber());
    assert_eq!(
        suspend(FiberYield::KeepStore),
        Err(SuspendError::NotOnFiber)
    );
    assert_eq!(
        block_on(std::future::pending::<()>()),
        Err(SuspendError::NotOnFiber)
    );
}

#[test]
fn block_on_polls_with_the_resumers_context_until_ready() {
    let polls = Cell::new(0);
    let mut fiber = Fiber::new(64 * 1024, || {
        block_on(std::future::poll_fn(|_| {
            polls.set(polls.get() + 1);
            if polls.get() < 3 {
                Poll::Pending
            } else {
                Poll::Ready(42)
            }
        }))
    })
    .expect("fiber");
    let mut cx = noop_cx();
    assert!(matches!(
        fiber.resume(Some(&mut cx)),
        Ok(FiberStatus::Suspended(FiberYield::KeepStore))
    ));
    // Without a context nothing can be polled: it waits for one.
    assert!(matches!(
        fiber.resume(None),
        Ok(FiberStatus::Suspended(FiberYield::KeepStore))
    ));
    assert_eq!(polls.get(), 1);
    assert!(matches!(
        fiber.resume(Some(&mut cx)),
        Ok(FiberStatus::Suspended(_))
    ));
    assert!(matches!(
        fiber.resume(Some(&mut cx)),
        Ok(FiberStatus::Done(Ok(42)))
    ));
    assert_eq!(polls.get(), 3);
}

#[test]
fn a_nested_fiber_suspends_only_itself() {
    let log = RefCell::new(Vec::new());
    let mut outer = Fiber::new(128 * 1024, || {
        let mut inner = Fiber::new(64 * 1024, || {
            log.borrow_mut().push("inner runs");
            suspend(FiberYield::KeepStore).expect("inner suspends");
            log.borrow_mut().push("inner resumed");
        })
        .expect("inner fiber");
        assert!(matches!(inner.resume(None), Ok(FiberStatus::Suspended(_))));
        log.borrow_mut().push("outer after inner suspended");
        assert!(on_fiber());
        suspend(FiberYield::KeepStore).expect("outer suspends");
        assert!(matches!(inner.resume(None), Ok(FiberStatus::Done(()))));
        log.borrow_mut().push("outer done");
    })
    .expect("outer fiber");
    assert!(matches!(outer.resume(None), Ok(FiberStatus::Suspended(_))));
    assert!(!on_fiber(), "the resumer's state is back");
    assert!(matches!(outer.resume(None), Ok(FiberStatus::Done(()))));
    assert_eq!(
        *log.borrow(),
        [
            "inner runs",
            "outer after inner suspended",
            "inner resumed",
            "outer done"
        ]
    );
}

#[test]
fn cancelling_makes_every_suspension_point_fail() {
    let seen = RefCell::new(Vec::new());
    let mut fiber = Fiber::new(64 * 1024, || {
        seen.borrow_mut().push(suspend(FiberYield::KeepStore));
        seen.borrow_mut().push(suspend(FiberYield::KeepStore));
        seen.borrow_mut().push(block_on(std::future::ready(())));
    })
    .expect("fiber");
    assert!(matches!(fiber.resume(None), Ok(FiberStatus::Suspended(_))));
    fiber.cancel();
    assert!(fiber.is_done());
    assert_eq!(
        *seen.borrow(),
        [
            Err(SuspendError::Cancelled),
            Err(SuspendError::Cancelled),
            Err(SuspendError::Cancelled)
        ]
    );
}

/// Counts drops of its clones.
#[derive(Clone)]
struct DropCount(Rc<Cell<u32>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn an_unstarted_fiber_drops_its_body_and_a_suspended_one_is_never_resumed() {
    let drops = DropCount(Rc::new(Cell::new(0)));
    let guard = drops.clone();
    let fiber = Fiber::new(64 * 1024, move || drop(guard)).expect("fiber");
    drop(fiber);
    assert_eq!(drops.0.get(), 1, "the unrun body is dropped");

    let ran_on = Cell::new(false);
    let mut fiber = Fiber::new(64 * 1024, || {
        let _ = suspend(FiberYield::KeepStore);
        ran_on.set(true);
    })
    .expect("fiber");
    assert!(matches!(fiber.resume(None), Ok(FiberStatus::Suspended(_))));
    drop(fiber);
    assert!(
        !ran_on.get(),
        "dropped unfinished, the fiber is leaked unrun"
    );
}

#[test]
fn a_panic_inside_propagates_and_restores_the_thread_state() {
    let mut fiber = Fiber::new(64 * 1024, || {
        suspend(FiberYield::KeepStore).expect("suspends");
        panic!("boom in fiber");
    })
    .expect("fiber");
    assert!(matches!(fiber.resume(None), Ok(FiberStatus::Suspended(_))));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fiber.resume(None)));
    let payload = caught.expect_err("the panic reaches the resumer");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in fiber"));
    assert!(!on_fiber());
    assert!(current_entry().is_null());
    assert!(fiber.is_done() || matches!(fiber.resume(None), Err(Error::Unreachable(_))));
}

// ------------------------------------------------------ fibers on one store

/// A future that is pending until `open`.
#[derive(Clone, Default)]
struct Gate(Rc<Cell<bool>>);

impl Gate {
    async fn wait(&self) {
        std::future::poll_fn(|_| {
            if self.0.get() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

struct Host {
    gates: Vec<Gate>,
}

const GUEST: &str = r#"
(module
  (import "host" "wait" (func $wait (param i32) (result i32)))
  (import "host" "catch" (func $catch (param i32) (result i32)))
  (func (export "wait_then") (param i32 i32) (result i32)
    local.get 0 call $wait
    local.get 1 i32.add)
  (func $rec (export "recurse") (param i32) (result i32)
    local.get 0
    if (result i32)
      local.get 0 i32.const 1 i32.sub call $rec i32.const 1 i32.add
    else
      i32.const 0
    end)
  (func (export "wait_then_recurse") (param i32 i32) (result i32)
    local.get 0 call $wait drop
    local.get 1 call $rec)
  (func (export "boom") unreachable)
  (func (export "wait_then_trap") (param i32) (result i32)
    local.get 0 call $wait drop
    unreachable)
  (func (export "nested_catch") (param i32 i32) (result i32)
    local.get 0 call $catch
    local.get 1 i32.add)
)
"#;

fn store_with_guest(gates: usize) -> (Store<Host>, crate::Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).expect("guest compiles");
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap_async("host", "wait", |caller: Caller<'_, Host>, gate: i32| {
            let gate = caller.data().gates[gate as usize].clone();
            Box::new(async move {
                gate.wait().await;
                GATE_VALUE
            })
        })
        .expect("defines wait")
        // Calls `wait_then_trap`: -1 when it trapped with `unreachable`.
        .func_wrap(
            "host",
            "catch",
            |mut caller: Caller<'_, Host>, gate: i32| {
                let f = caller
                    .get_export("wait_then_trap")
                    .and_then(crate::Extern::into_func)
                    .expect("export");
                let f = f.typed::<i32, i32>(&caller).expect("type");
                match f.call(&mut caller, gate) {
                    Err(Error::Trap(t)) if t.code == TrapCode::Unreachable => -1,
                    Err(_) => -2,
                    Ok(v) => v,
                }
            },
        )
        .expect("defines catch");
    let mut store = Store::new(
        &engine,
        Host {
            gates: (0..gates).map(|_| Gate::default()).collect(),
        },
    );
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    (store, instance)
}

/// What `wait` returns once its gate opens.
const GATE_VALUE: i32 = 1000;

type Call<'a> = StoreFiber<'a, Result<i32, Error>>;

fn call<'a>(
    store: &mut Store<Host>,
    instance: crate::Instance,
    name: &str,
    args: (i32, i32),
) -> Call<'a> {
    let f = instance
        .get_typed_func::<(i32, i32), i32>(&mut *store, name)
        .expect("export");
    StoreFiber::new(&mut store.inner, move |mut cx| f.call(&mut cx, args)).expect("fiber")
}

fn resume(fiber: &mut Call<'_>, store: &mut Store<Host>) -> Option<Result<i32, Error>> {
    let mut cx = noop_cx();
    match fiber
        .resume(&mut store.inner, Some(&mut cx))
        .expect("resumes")
    {
        FiberStatus::Suspended(reason) => {
            assert_eq!(reason, FiberYield::KeepStore);
            None
        }
        FiberStatus::Done(r) => Some(r),
    }
}

#[test]
fn two_calls_interleave_on_one_store() {
    let (mut store, instance) = store_with_guest(2);
    let mut a = call(&mut store, instance, "wait_then", (0, 1));
    let mut b = call(&mut store, instance, "wait_then", (1, 2));
    assert!(resume(&mut a, &mut store).is_none());
    assert!(resume(&mut b, &mut store).is_none());
    // Between resumes the store is the host's.
    let recurse = instance
        .get_typed_func::<i32, i32>(&mut store, "recurse")
        .expect("export");
    assert_eq!(recurse.call(&mut store, 100).expect("sync call"), 100);
    store.data().gates[1].0.set(true);
    assert!(resume(&mut a, &mut store).is_none(), "a's gate is shut");
    assert_eq!(
        resume(&mut b, &mut store).expect("b done").expect("b ok"),
        1002
    );
    store.data().gates[0].0.set(true);
    assert_eq!(
        resume(&mut a, &mut store).expect("a done").expect("a ok"),
        1001
    );
}

#[test]
fn a_fiber_resumed_with_another_store_is_refused() {
    let (mut store, instance) = store_with_guest(1);
    let (mut other, _) = store_with_guest(1);
    let mut a = call(&mut store, instance, "wait_then", (0, 0));
    let mut cx = noop_cx();
    assert!(matches!(
        a.resume(&mut other.inner, Some(&mut cx)),
        Err(Error::Link(_))
    ));
    assert!(resume(&mut a, &mut store).is_none());
    a.cancel(&mut store.inner);
    assert!(a.is_done());
}

#[test]
fn traps_go_to_the_innermost_entry_of_whoever_runs() {
    let (mut store, instance) = store_with_guest(2);
    // Suspended two entries deep: host → wasm → host `catch` → wasm →
    // host `wait`; once resumed, the innermost guest traps.
    let mut a = call(&mut store, instance, "nested_catch", (0, 5));
    assert!(resume(&mut a, &mut store).is_none());
    // A trap in another fiber of the store while `a` waits inside its
    // entry: the thread's chain must not lead to `a`'s entry.
    let boom = instance
        .get_typed_func::<(), ()>(&mut store, "boom")
        .expect("export");
    let mut b =
        StoreFiber::new(&mut store.inner, move |mut cx| boom.call(&mut cx, ())).expect("fiber");
    let mut cx = noop_cx();
    let done = b.resume(&mut store.inner, Some(&mut cx)).expect("resumes");
    assert!(
        matches!(&done, FiberStatus::Done(Err(Error::Trap(t))) if t.code == TrapCode::Unreachable),
        "{done:?}"
    );
    // And a trap in a plain call of the store.
    let err = boom.call(&mut store, ()).expect_err("traps");
    assert!(matches!(&err, Error::Trap(t) if t.code == TrapCode::Unreachable));
    store.data().gates[0].0.set(true);
    // The trap after the resume goes to `a`'s innermost entry: `catch` sees
    // it and returns -1.
    assert_eq!(resume(&mut a, &mut store).expect("done").expect("ok"), 4);
}

#[test]
fn each_fiber_keeps_its_own_stack_limit() {
    let (mut store, instance) = store_with_guest(2);
    // Two fibers suspended inside their entries, each having set the
    // store's stack limit to its own stack when it ran.
    let mut a = call(&mut store, instance, "wait_then_recurse", (0, 1_000_000));
    let mut b = call(&mut store, instance, "wait_then_recurse", (1, 1000));
    assert!(resume(&mut a, &mut store).is_none());
    assert!(resume(&mut b, &mut store).is_none());
    store.data().gates[0].0.set(true);
    store.data().gates[1].0.set(true);
    // Whichever stack lies lower, a limit left over from the other fiber
    // would make one of these wrong: a shallow recursion trapping, or a
    // deep one running past its own limit into the guard page.
    let r = resume(&mut a, &mut store).expect("a done");
    assert!(
        matches!(&r, Err(Error::Trap(t)) if t.code == TrapCode::StackOverflow),
        "{r:?}"
    );
    assert_eq!(
        resume(&mut b, &mut store).expect("b done").expect("ok"),
        1000
    );
    // And a plain call afterwards has the plain limit.
    let recurse = instance
        .get_typed_func::<i32, i32>(&mut store, "recurse")
        .expect("export");
    assert_eq!(recurse.call(&mut store, 1000).expect("sync call"), 1000);
    let err = recurse.call(&mut store, 1_000_000).expect_err("overflows");
    assert!(matches!(&err, Error::Trap(t) if t.code == TrapCode::StackOverflow));
}

#[test]
fn cancelling_a_store_fiber_unwinds_its_guest_and_frees_the_store() {
    let (mut store, instance) = store_with_guest(1);
    let mut a = call(&mut store, instance, "wait_then", (0, 0));
    assert!(resume(&mut a, &mut store).is_none());
    a.cancel(&mut store.inner);
    assert!(a.is_done());
    let recurse = instance
        .get_typed_func::<i32, i32>(&mut store, "recurse")
        .expect("export");
    assert_eq!(recurse.call(&mut store, 10).expect("sync call"), 10);
}

/// Resident set size of this process, in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = status
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
fn ten_thousand_fibers_suspended_on_one_store() {
    const N: usize = 10_000;
    let (mut store, instance) = store_with_guest(1);
    let before = rss_bytes();
    let mut calls: Vec<Call<'_>> = (0..N)
        .map(|i| call(&mut store, instance, "wait_then", (0, i as i32)))
        .collect();
    for c in &mut calls {
        assert!(resume(c, &mut store).is_none());
    }
    let after = rss_bytes();
    if before > 0 {
        println!(
            "{N} fibers suspended on one store: RSS +{} KiB, {} bytes each",
            (after.saturating_sub(before)) / 1024,
            after.saturating_sub(before) / N as u64
        );
    }
    store.data().gates[0].0.set(true);
    for (i, c) in calls.iter_mut().enumerate() {
        let r = resume(c, &mut store).expect("done").expect("ok");
        assert_eq!(r, 1000 + i as i32);
    }
    assert!(calls.iter().all(StoreFiber::is_done));
}
