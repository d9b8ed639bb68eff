//! 10,000 async calls suspended at once on one thread, a store each (the
//! shape of `ringwasm serve`: a fresh instance per request), and what they
//! cost in resident memory. A file of its own, so that no other test of the
//! process moves the RSS it prints.
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use ringwasm_jit::{Caller, Engine, Linker, Module, Store};

const CALLS: usize = 10_000;

/// Pending until opened. Wakers are not kept: the test polls every call.
#[derive(Clone, Default)]
struct Gate(Rc<Cell<bool>>);

/// Resident set size of this process in bytes, from `/proc/self/statm`.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn ten_thousand_calls_wait_at_once_and_all_finish() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "wait" (func $wait (param i32) (result i32)))
             (func (export "run") (param i32) (result i32)
               local.get 0 call $wait i32.const 1 i32.add))"#,
    )
    .expect("compiles");
    let mut linker: Linker<Gate> = Linker::new(&engine);
    linker
        .func_wrap_async("host", "wait", |caller: Caller<'_, Gate>, x: i32| {
            let gate = caller.data().clone();
            Box::new(async move {
                std::future::poll_fn(|_| {
                    if gate.0.get() {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
                x * 2
            })
        })
        .expect("wait");
    let gate = Gate::default();
    let mut stores: Vec<Store<Gate>> = Vec::with_capacity(CALLS);
    let mut funcs = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let mut store = Store::new(&engine, gate.clone());
        let instance = linker.instantiate(&mut store, &module).expect("instance");
        funcs.push(
            instance
                .get_typed_func::<i32, i32>(&mut store, "run")
                .expect("run"),
        );
        stores.push(store);
    }
    let before = rss_bytes();
    let results = RefCell::new(vec![None; CALLS]);
    let mut calls: Vec<Pin<Box<dyn Future<Output = ()> + '_>>> = stores
        .iter_mut()
        .zip(&funcs)
        .enumerate()
        .map(|(i, (store, f))| {
            let results = &results;
            Box::pin(async move {
                let r = f.call_async(store, i as i32).await;
                results.borrow_mut()[i] = Some(r.ok());
            }) as Pin<Box<dyn Future<Output = ()>>>
        })
        .collect();
    let mut cx = Context::from_waker(Waker::noop());
    for call in &mut calls {
        assert!(call.as_mut().poll(&mut cx).is_pending());
    }
    if let (Some(before), Some(after)) = (before, rss_bytes()) {
        let grown = after.saturating_sub(before);
        println!(
            "{CALLS} suspended calls, a store each: RSS +{} KiB, {} bytes per call",
            grown / 1024,
            grown / CALLS as u64
        );
    }
    gate.0.set(true);
    for call in &mut calls {
        assert!(call.as_mut().poll(&mut cx).is_ready());
    }
    drop(calls);
    let results = results.into_inner();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(*r, Some(Some(i as i32 * 2 + 1)), "call {i}");
    }
}
