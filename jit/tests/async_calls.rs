//! Async calls through the public API, driven by a small hand-written
//! executor: suspension inside nested entries, calls interleaved on one
//! thread, traps while another call waits, cancellation by drop, panics,
//! and epoch yields.
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use ringwasm_jit::{
    AsContextMut, Caller, Config, Engine, Error, Extern, Func, FuncType, Instance, Linker, Module,
    Store, Trap, TrapCode, Val, ValType, on_fiber,
};

// ------------------------------------------------------------ the executor

/// Woken task ids; shared with the wakers, which must be `Send + Sync`.
#[derive(Default)]
struct Queue {
    woken: Mutex<VecDeque<usize>>,
    wakes: Mutex<usize>,
}

struct TaskWaker {
    id: usize,
    queue: Arc<Queue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let mut woken = self.queue.woken.lock().unwrap_or_else(|e| e.into_inner());
        woken.push_back(self.id);
        *self.queue.wakes.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }
}

type Task<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Runs tasks when woken, on this thread, until none is runnable.
#[derive(Default)]
struct Executor<'a> {
    tasks: Vec<Option<Task<'a>>>,
    queue: Arc<Queue>,
    polls: usize,
}

impl<'a> Executor<'a> {
    fn spawn(&mut self, task: impl Future<Output = ()> + 'a) -> usize {
        self.tasks.push(Some(Box::pin(task)));
        let id = self.tasks.len() - 1;
        self.queue
            .woken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(id);
        id
    }

    /// Polls woken tasks until none is; returns how many are unfinished.
    fn run_until_stalled(&mut self) -> usize {
        loop {
            let next = self
                .queue
                .woken
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            let Some(id) = next else { break };
            let Some(task) = self.tasks[id].as_mut() else {
                continue;
            };
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                queue: self.queue.clone(),
            }));
            self.polls += 1;
            if task
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
            {
                self.tasks[id] = None;
            }
        }
        self.tasks.iter().filter(|t| t.is_some()).count()
    }

    fn wakes(&self) -> usize {
        *self.queue.wakes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A future pending until the gate opens; opening wakes every waiter.
#[derive(Clone, Default)]
struct Gate(Rc<RefCell<(bool, Vec<Waker>)>>);

impl Gate {
    fn open(&self) {
        let waiters = {
            let mut g = self.0.borrow_mut();
            g.0 = true;
            std::mem::take(&mut g.1)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    fn wait(&self) -> impl Future<Output = ()> + 'static {
        let gate = self.clone();
        std::future::poll_fn(move |cx| {
            let mut g = gate.0.borrow_mut();
            if g.0 {
                Poll::Ready(())
            } else {
                g.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

// ------------------------------------------------------------ the guest

#[derive(Default)]
struct Host {
    gate: Gate,
    /// What the host functions saw, in order.
    log: Rc<RefCell<Vec<String>>>,
    /// Set when a `wait` future is dropped.
    wait_dropped: Rc<Cell<bool>>,
}

/// `nest(n)` goes n entries deep (wasm → host `reenter` → wasm ...) and then
/// waits on the store's gate in the async host function `wait`; each level
/// adds 1 to what `wait` returns (100). `catch` runs `wait_then_trap` and
/// returns -1 when it trapped with `unreachable`.
const GUEST: &str = r#"
(module
  (import "host" "wait" (func $wait (param i32) (result i32)))
  (import "host" "reenter" (func $reenter (param i32) (result i32)))
  (import "host" "catch" (func $catch (param i32) (result i32)))
  (import "host" "boom" (func $boom (param i32) (result i32)))
  (func $nest (export "nest") (param i32) (result i32)
    local.get 0
    if (result i32)
      local.get 0 i32.const 1 i32.sub call $reenter
      i32.const 1 i32.add
    else
      i32.const 0 call $wait
    end)
  (func (export "wait_then_trap") (param i32) (result i32)
    local.get 0 call $wait drop
    unreachable)
  (func (export "catch_after_wait") (param i32) (result i32)
    local.get 0 call $catch)
  (func (export "unreachable") (result i32) unreachable)
  (func $rec (export "recurse") (param i32) (result i32)
    local.get 0
    if (result i32)
      local.get 0 i32.const 1 i32.sub call $rec i32.const 1 i32.add
    else
      i32.const 0
    end)
  (func (export "panics") (param i32) (result i32)
    local.get 0 call $boom)
)
"#;

fn export(caller: &mut Caller<'_, Host>, name: &str) -> Func {
    caller
        .get_export(name)
        .and_then(Extern::into_func)
        .expect("guest export")
}

fn linker(engine: &Engine) -> Linker<Host> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap_async("host", "wait", |caller: Caller<'_, Host>, x: i32| {
            let gate = caller.data().gate.clone();
            let dropped = DropFlag(caller.data().wait_dropped.clone());
            let log = caller.data().log.clone();
            Box::new(async move {
                log.borrow_mut().push("wait starts".into());
                gate.wait().await;
                log.borrow_mut().push("wait ends".into());
                drop(dropped);
                x + 100
            })
        })
        .expect("wait")
        .func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, Host>, n: i32| -> Result<i32, Trap> {
                let nest = export(&mut caller, "nest").typed::<i32, i32>(&caller);
                let result = nest.and_then(|f| f.call(&mut caller, n));
                let seen = match &result {
                    Ok(v) => format!("reenter({n}) = {v}"),
                    Err(Error::Trap(t)) => format!("reenter({n}) trapped: {}", t.code),
                    Err(e) => format!("reenter({n}) failed: {e}"),
                };
                caller.data().log.borrow_mut().push(seen);
                result.map_err(|e| match e {
                    Error::Trap(t) => Trap::new(t.code),
                    other => Trap::host(other.to_string()),
                })
            },
        )
        .expect("reenter")
        .func_wrap("host", "catch", |mut caller: Caller<'_, Host>, x: i32| {
            let f = export(&mut caller, "wait_then_trap")
                .typed::<i32, i32>(&caller)
                .expect("type");
            match f.call(&mut caller, x) {
                Err(Error::Trap(t)) if t.code == TrapCode::Unreachable => -1,
                Err(_) => -2,
                Ok(v) => v,
            }
        })
        .expect("catch")
        .func_wrap_async("host", "boom", |caller: Caller<'_, Host>, x: i32| {
            let gate = caller.data().gate.clone();
            Box::new(async move {
                gate.wait().await;
                if x > 0 {
                    panic!("host function panicked after waiting");
                }
                x
            })
        })
        .expect("boom");
    linker
}

fn instantiate(engine: &Engine, module: &Module) -> (Store<Host>, Instance) {
    let mut store = Store::new(engine, Host::default());
    let instance = linker(engine)
        .instantiate(&mut store, module)
        .expect("instantiates");
    (store, instance)
}

fn setup() -> (Store<Host>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).expect("compiles");
    instantiate(&engine, &module)
}

fn trap_code(result: &Result<i32, Error>) -> Option<TrapCode> {
    match result {
        Err(Error::Trap(t)) => Some(t.code.clone()),
        _ => None,
    }
}

// ------------------------------------------------------------ the tests

#[test]
fn a_call_suspends_three_entries_deep_and_resumes() {
    let (mut store, instance) = setup();
    let gate = store.data().gate.clone();
    let log = store.data().log.clone();
    let nest = instance
        .get_typed_func::<i32, i32>(&mut store, "nest")
        .expect("nest");
    let result = Rc::new(Cell::new(None));
    let mut exec = Executor::default();
    let out = result.clone();
    exec.spawn(async move { out.set(Some(nest.call_async(&mut store, 3).await)) });
    assert_eq!(exec.run_until_stalled(), 1, "the call waits on the gate");
    assert_eq!(*log.borrow(), ["wait starts"]);
    gate.open();
    assert_eq!(exec.run_until_stalled(), 0);
    assert_eq!(result.take().expect("finished").expect("no trap"), 103);
    assert_eq!(
        *log.borrow(),
        [
            "wait starts",
            "wait ends",
            "reenter(0) = 100",
            "reenter(1) = 101",
            "reenter(2) = 102"
        ]
    );
    assert_eq!(exec.polls, 2, "one poll to suspend, one to finish");
}

#[test]
fn calls_on_two_stores_interleave_on_one_thread() {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).expect("compiles");
    let (mut a, ia) = instantiate(&engine, &module);
    let (mut b, ib) = instantiate(&engine, &module);
    let (gate_a, gate_b) = (a.data().gate.clone(), b.data().gate.clone());
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut exec = Executor::default();
    let fa = ia.get_typed_func::<i32, i32>(&mut a, "nest").expect("nest");
    let fb = ib.get_typed_func::<i32, i32>(&mut b, "nest").expect("nest");
    let (oa, ob) = (order.clone(), order.clone());
    exec.spawn(async move {
        let r = fa.call_async(&mut a, 2).await.ok();
        oa.borrow_mut().push(("a", r));
    });
    exec.spawn(async move {
        let r = fb.call_async(&mut b, 1).await.ok();
        ob.borrow_mut().push(("b", r));
    });
    assert_eq!(exec.run_until_stalled(), 2);
    gate_b.open();
    assert_eq!(exec.run_until_stalled(), 1);
    gate_a.open();
    assert_eq!(exec.run_until_stalled(), 0);
    assert_eq!(*order.borrow(), [("b", Some(101)), ("a", Some(102))]);
}

#[test]
fn a_trap_while_another_call_waits_goes_to_its_own_entry() {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).expect("compiles");
    let (mut waiting, iw) = instantiate(&engine, &module);
    let (mut other, io) = instantiate(&engine, &module);
    let gate = waiting.data().gate.clone();
    let result = Rc::new(Cell::new(None));
    let mut exec = Executor::default();
    // Waits two entries deep, and traps in the innermost entry once resumed;
    // `catch` at depth one sees that trap.
    let f = iw
        .get_typed_func::<i32, i32>(&mut waiting, "catch_after_wait")
        .expect("export");
    let out = result.clone();
    exec.spawn(async move { out.set(Some(f.call_async(&mut waiting, 7).await)) });
    assert_eq!(exec.run_until_stalled(), 1);

    // Meanwhile, on the same thread: a trap in a plain call, one in a
    // nested entry, and one in another async call.
    let unreachable = io
        .get_typed_func::<(), i32>(&mut other, "unreachable")
        .expect("export");
    let direct = unreachable.call(&mut other, ());
    assert!(matches!(&direct, Err(Error::Trap(t)) if t.code == TrapCode::Unreachable));
    let recurse = io
        .get_typed_func::<i32, i32>(&mut other, "recurse")
        .expect("export");
    let deep = recurse.call(&mut other, 10_000_000);
    assert!(matches!(&deep, Err(Error::Trap(t)) if t.code == TrapCode::StackOverflow));
    let mut inner = Executor::default();
    let out2 = Rc::new(Cell::new(None));
    let o2 = out2.clone();
    let other_ref = &mut other;
    inner.spawn(async move { o2.set(Some(unreachable.call_async(other_ref, ()).await)) });
    assert_eq!(inner.run_until_stalled(), 0);
    assert_eq!(
        trap_code(&out2.take().expect("finished")),
        Some(TrapCode::Unreachable)
    );

    gate.open();
    assert_eq!(exec.run_until_stalled(), 0);
    assert_eq!(result.take().expect("finished").expect("no trap"), -1);
}

#[test]
fn dropping_a_waiting_call_cancels_it_through_the_trap_path() {
    let (mut store, instance) = setup();
    let log = store.data().log.clone();
    let dropped = store.data().wait_dropped.clone();
    let nest = instance
        .get_typed_func::<i32, i32>(&mut store, "nest")
        .expect("nest");
    {
        let mut call = Box::pin(nest.call_async(&mut store, 2));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(call.as_mut().poll(&mut cx).is_pending());
        assert!(!dropped.get());
    }
    assert!(dropped.get(), "the host future was dropped");
    // `wait` returned the cancellation as its trap; every entry above it
    // unwound through the trap path and each `reenter` saw the trap.
    assert_eq!(
        *log.borrow(),
        [
            "wait starts",
            "reenter(0) trapped: async call cancelled",
            "reenter(1) trapped: async call cancelled"
        ]
    );
    // The store is whole again: plain calls work, and the stack limit is
    // the plain call's.
    let recurse = instance
        .get_typed_func::<i32, i32>(&mut store, "recurse")
        .expect("recurse");
    assert_eq!(recurse.call(&mut store, 1000).expect("call"), 1000);
    let deep = recurse.call(&mut store, 10_000_000);
    assert!(matches!(&deep, Err(Error::Trap(t)) if t.code == TrapCode::StackOverflow));
    // And a later async call runs to its end.
    store.data().gate.open();
    let mut exec = Executor::default();
    let result = Rc::new(Cell::new(None));
    let out = result.clone();
    exec.spawn(async move { out.set(Some(nest.call_async(&mut store, 1).await)) });
    assert_eq!(exec.run_until_stalled(), 0);
    assert_eq!(result.take().expect("finished").expect("no trap"), 101);
}

#[test]
fn a_dropped_call_that_loops_is_stopped_at_its_next_epoch_check() {
    let mut config = Config::default();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "wait" (func $wait (param i32) (result i32)))
             (func (export "wait_then_spin") (param i32) (result i32)
               local.get 0 call $wait drop
               loop br 0 end
               i32.const 0))"#,
    )
    .expect("compiles");
    let mut linker = Linker::new(&engine);
    // A host function that ignores the cancellation and returns normally.
    linker
        .func_wrap(
            "host",
            "wait",
            |mut caller: Caller<'_, Vec<TrapCode>>, x: i32| {
                let Some(cx) = caller.as_context_mut().async_cx() else {
                    return x;
                };
                if let Err(trap) = cx.block_on(std::future::pending::<()>()) {
                    caller.data_mut().push(trap.code);
                }
                x
            },
        )
        .expect("wait");
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &module).expect("instance");
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "wait_then_spin")
        .expect("export");
    let mut call = Box::pin(f.call_async(&mut store, 0));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(call.as_mut().poll(&mut cx).is_pending());
    // The guest goes on into an endless loop: only the deadline that the
    // cancellation forces ends it, and with it the drop.
    drop(call);
    assert_eq!(*store.data(), [TrapCode::Cancelled]);
}

#[test]
fn an_async_host_function_outside_an_async_call_traps() {
    let (mut store, instance) = setup();
    store.data().gate.open();
    let nest = instance
        .get_typed_func::<i32, i32>(&mut store, "nest")
        .expect("nest");
    let err = nest.call(&mut store, 1).expect_err("cannot wait");
    let Error::Trap(trap) = err else {
        panic!("expected a trap, got {err:?}");
    };
    assert!(matches!(&trap.code, TrapCode::Host(m) if m.contains("outside an async call")));
    assert!(store.as_context_mut().async_cx().is_none());
}

#[test]
fn a_panic_in_a_resumed_host_function_reaches_the_poller() {
    let (mut store, instance) = setup();
    let gate = store.data().gate.clone();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "panics")
        .expect("export");
    {
        let mut exec = Executor::default();
        exec.spawn(async move {
            let _ = f.call_async(&mut store, 1).await;
        });
        assert_eq!(exec.run_until_stalled(), 1);
        gate.open();
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exec.run_until_stalled()));
        let payload = caught.expect_err("the panic propagates");
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"host function panicked after waiting")
        );
    }
    // The thread's state is clean: a trap in a fresh store is still routed.
    let (mut fresh, fi) = setup();
    let unreachable = fi
        .get_typed_func::<(), i32>(&mut fresh, "unreachable")
        .expect("export");
    let r = unreachable.call(&mut fresh, ());
    assert!(matches!(&r, Err(Error::Trap(t)) if t.code == TrapCode::Unreachable));
}

#[test]
fn on_fiber_runs_many_calls_and_block_on_waits_between_them() {
    let (mut store, instance) = setup();
    let gate = store.data().gate.clone();
    let recurse = instance
        .get_typed_func::<i32, i32>(&mut store, "recurse")
        .expect("recurse");
    let result = Rc::new(Cell::new(None));
    let out = result.clone();
    let mut exec = Executor::default();
    exec.spawn(async move {
        let r = on_fiber(&mut store, |mut cx| -> Result<i32, Error> {
            let first = recurse.call(&mut cx, 10)?;
            let gate = cx.data().gate.clone();
            let acx = cx.async_cx().expect("on a fiber");
            acx.block_on(gate.wait())?;
            let second = recurse.call(&mut cx, 20)?;
            Ok(first + second)
        })
        .await;
        out.set(Some(r));
    });
    assert_eq!(exec.run_until_stalled(), 1);
    gate.open();
    assert_eq!(exec.run_until_stalled(), 0);
    let r = result.take().expect("finished").expect("fiber made");
    assert_eq!(r.expect("no trap"), 30);
}

#[test]
fn an_owned_store_comes_back_only_once_the_call_finished() {
    let (mut store, instance) = setup();
    let gate = store.data().gate.clone();
    let recurse = instance
        .get_typed_func::<i32, i32>(&mut store, "recurse")
        .expect("recurse");
    let waiting = on_fiber(store, move |mut cx| -> Result<i32, Error> {
        let gate = cx.data().gate.clone();
        let acx = cx.async_cx().expect("on a fiber");
        acx.block_on(gate.wait())?;
        recurse.call(&mut cx, 3)
    });
    let mut fut = waiting;
    let waker = Waker::noop();
    assert!(
        Pin::new(&mut fut)
            .poll(&mut Context::from_waker(waker))
            .is_pending()
    );
    // Suspended: the store stays with the call (dropping the future here
    // would cancel it), and the future comes back.
    let Err(mut fut) = fut.into_store() else {
        panic!("the call is suspended");
    };
    gate.open();
    let Poll::Ready(r) = Pin::new(&mut fut).poll(&mut Context::from_waker(waker)) else {
        panic!("the gate is open");
    };
    assert_eq!(r.expect("fiber made").expect("no trap"), 3);
    let Ok(mut store) = fut.into_store() else {
        panic!("finished: the store comes back");
    };
    // And serves another call.
    assert_eq!(recurse.call(&mut store, 4).expect("no trap"), 4);
}

#[test]
fn dynamic_async_host_functions_wait_too() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "add_later" (func $h (param i64 i64) (result i64)))
             (func (export "run") (param i64) (result i64)
               local.get 0 i64.const 5 call $h))"#,
    )
    .expect("compiles");
    let mut linker: Linker<Gate> = Linker::new(&engine);
    linker
        .func_new_async(
            "host",
            "add_later",
            FuncType::new(vec![ValType::I64; 2], vec![ValType::I64]),
            |caller, params, results| {
                let gate = caller.data().clone();
                Box::new(async move {
                    gate.wait().await;
                    let (Val::I64(a), Val::I64(b)) = (&params[0], &params[1]) else {
                        return Err(Trap::host("bad params"));
                    };
                    results[0] = Val::I64(a + b);
                    Ok(())
                })
            },
        )
        .expect("defines");
    let mut store = Store::new(&engine, Gate::default());
    let gate = store.data().clone();
    let instance = linker.instantiate(&mut store, &module).expect("instance");
    let run = instance.get_func(&mut store, "run").expect("run");
    let result = Rc::new(RefCell::new(None));
    let out = result.clone();
    let mut exec = Executor::default();
    exec.spawn(async move {
        let mut results = [Val::I64(0)];
        let r = run
            .call_async(&mut store, &[Val::I64(37)], &mut results)
            .await;
        *out.borrow_mut() = Some(r.map(|()| results[0]));
    });
    assert_eq!(exec.run_until_stalled(), 1);
    gate.open();
    assert_eq!(exec.run_until_stalled(), 0);
    let r = result.borrow_mut().take().expect("finished");
    assert!(matches!(r, Ok(Val::I64(42))), "{r:?}");
}

#[test]
fn an_async_host_function_called_directly_waits_on_the_fiber_itself() {
    let mut store = Store::new(&Engine::default(), Gate::default());
    let gate = store.data().clone();
    let f = Func::wrap_async(&mut store, |caller: Caller<'_, Gate>, x: i32| {
        let gate = caller.data().clone();
        Box::new(async move {
            gate.wait().await;
            x * 3
        })
    });
    let f = f.typed::<i32, i32>(&store).expect("type");
    let result = Rc::new(Cell::new(None));
    let out = result.clone();
    let mut exec = Executor::default();
    exec.spawn(async move { out.set(Some(f.call_async(&mut store, 14).await)) });
    assert_eq!(exec.run_until_stalled(), 1);
    gate.open();
    assert_eq!(exec.run_until_stalled(), 0);
    assert_eq!(result.take().expect("finished").expect("no trap"), 42);
}

/// `spin(n)` calls `tick` (which advances the epoch) n times in a loop.
const SPIN: &str = r#"
(module
  (import "host" "tick" (func $tick))
  (func $spin (export "spin") (param i32) (result i32)
    (local i32)
    loop
      call $tick
      local.get 1 i32.const 1 i32.add local.tee 1
      local.get 0 i32.lt_u
      br_if 0
    end
    local.get 1))
"#;

fn spin_setup() -> (Store<()>, ringwasm_jit::TypedFunc<i32, i32>) {
    let mut config = Config::default();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(&engine, SPIN).expect("compiles");
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "tick", |caller: Caller<'_, ()>| {
            caller.engine().increment_epoch();
        })
        .expect("tick");
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).expect("instance");
    let spin = instance
        .get_typed_func::<i32, i32>(&mut store, "spin")
        .expect("spin");
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    (store, spin)
}

#[test]
fn a_guest_past_its_epoch_deadline_yields_to_the_executor() {
    let (mut store, spin) = spin_setup();
    let result = Rc::new(Cell::new(None));
    let out = result.clone();
    let mut exec = Executor::default();
    exec.spawn(async move { out.set(Some(spin.call_async(&mut store, 10).await)) });
    assert_eq!(exec.run_until_stalled(), 0);
    assert_eq!(result.take().expect("finished").expect("no trap"), 10);
    // Each of the 9 loop back-edges after a tick found the deadline passed,
    // yielded (waking its task) and moved the deadline one tick on.
    assert_eq!(exec.wakes(), 9);
    assert_eq!(exec.polls, 10);
}

#[test]
fn two_spinning_guests_take_turns() {
    let (mut a, spin_a) = spin_setup();
    let (mut b, spin_b) = spin_setup();
    let turns = Rc::new(RefCell::new(Vec::new()));
    let mut exec = Executor::default();
    for (name, store, spin) in [("a", &mut a, spin_a), ("b", &mut b, spin_b)] {
        let turns = turns.clone();
        exec.spawn(async move {
            let n = spin.call_async(store, 3).await.expect("no trap");
            turns.borrow_mut().push((name, n));
        });
    }
    assert_eq!(exec.run_until_stalled(), 0);
    assert_eq!(*turns.borrow(), [("a", 3), ("b", 3)]);
    // Round robin: a, b, a, b, a (done), b (done).
    assert_eq!(exec.polls, 6);
}

#[test]
fn an_epoch_yield_outside_an_async_call_traps() {
    let (mut store, spin) = spin_setup();
    let err = spin.call(&mut store, 10).expect_err("nothing to yield to");
    let Error::Trap(trap) = &err else {
        panic!("expected a trap, got {err:?}");
    };
    assert_eq!(trap.code, TrapCode::Interrupt);
    // Raised in the epoch trampoline, reported at the loop that checked.
    let frame = trap.backtrace.first().expect("a wasm frame");
    assert_eq!(frame.func_name.as_deref(), Some("spin"));
    assert_eq!(trap.backtrace.len(), 1);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(1);
    let mut exec = Executor::default();
    let result = Rc::new(Cell::new(None));
    let out = result.clone();
    exec.spawn(async move { out.set(Some(spin.call_async(&mut store, 10).await)) });
    assert_eq!(exec.run_until_stalled(), 0);
    assert_eq!(
        trap_code(&result.take().expect("finished")),
        Some(TrapCode::Interrupt)
    );
}
