//! Tail calls end to end: `return_call` and `return_call_indirect` run in
//! constant stack, reach host imports, and keep the callee's instance.
#![forbid(unsafe_code)]

use ringwasm_jit::{Caller, Engine, Error, Linker, Module, Store, TrapCode};

fn instantiate(wat: &str) -> (Store<()>, ringwasm_jit::Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    (store, instance)
}

/// `even`/`odd` by mutual tail recursion: ten million calls deep with plain
/// calls would exhaust any stack the engine allows.
const EVEN_ODD: &str = r#"(module
    (type $t (func (param i64) (result i32)))
    (table 4 funcref)
    (elem (i32.const 0) $even $odd)
    (func $even (export "even") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 1))
            (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
    (func $odd (export "odd") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 0))
            (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))
    (func $even_i (export "even_indirect") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 1))
            (else (return_call_indirect (type $t)
                (i64.sub (local.get 0) (i64.const 1)) (i32.const 3)))))
    (func $odd_i (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 0))
            (else (return_call_indirect (type $t)
                (i64.sub (local.get 0) (i64.const 1)) (i32.const 2)))))
    (elem (i32.const 2) $even_i $odd_i)
)"#;

#[test]
fn ten_million_mutual_tail_calls_use_constant_stack() {
    let (mut store, instance) = instantiate(EVEN_ODD);
    let even = instance
        .get_typed_func::<i64, i32>(&mut store, "even")
        .expect("even");
    assert_eq!(even.call(&mut store, 10_000_000).expect("even"), 1);
    assert_eq!(even.call(&mut store, 10_000_001).expect("even"), 0);
    let odd = instance
        .get_typed_func::<i64, i32>(&mut store, "odd")
        .expect("odd");
    assert_eq!(odd.call(&mut store, 10_000_001).expect("odd"), 1);
}

#[test]
fn ten_million_indirect_tail_calls_use_constant_stack() {
    let (mut store, instance) = instantiate(EVEN_ODD);
    let even = instance
        .get_typed_func::<i64, i32>(&mut store, "even_indirect")
        .expect("even_indirect");
    assert_eq!(even.call(&mut store, 10_000_000).expect("call"), 1);
    assert_eq!(even.call(&mut store, 9_999_999).expect("call"), 0);
}

#[test]
fn tail_call_with_many_arguments_and_results() {
    // More arguments than registers: the tail call must rewrite the stack
    // argument area of a frame that was entered with fewer.
    let (mut store, instance) = instantiate(
        r#"(module
        (func $sum (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
                   (result i64 i64)
            (i64.add (i64.add (i64.add (local.get 0) (local.get 1))
                              (i64.add (local.get 2) (local.get 3)))
                     (i64.add (i64.add (local.get 4) (local.get 5))
                              (i64.add (i64.add (local.get 6) (local.get 7))
                                  (i64.add (i64.add (local.get 8) (local.get 9))
                                           (i64.add (local.get 10) (local.get 11))))))
            (local.get 11))
        (func (export "run") (param i64) (result i64 i64)
            (return_call $sum (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3)
                (i64.const 4) (i64.const 5) (i64.const 6) (i64.const 7)
                (i64.const 8) (i64.const 9) (i64.const 10) (i64.const 11))))"#,
    );
    let run = instance
        .get_typed_func::<i64, (i64, i64)>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 100).expect("run"), (166, 11));
}

#[test]
fn return_call_to_a_host_import_calls_then_returns() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "twice" (func $twice (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
                (return_call $twice (i32.add (local.get 0) (i32.const 1)))))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("env", "twice", |mut caller: Caller<'_, u32>, x: i32| {
            *caller.data_mut() += 1;
            x * 2
        })
        .expect("defined");
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    for i in 0..1000 {
        assert_eq!(run.call(&mut store, i).expect("run"), (i + 1) * 2);
    }
    assert_eq!(*store.data(), 1000);
}

#[test]
fn tail_call_into_another_instance_keeps_its_vmctx() {
    // The callee reads its own global and memory: with the caller's vmctx it
    // would read the caller's (different) values.
    let engine = Engine::default();
    let callee = Module::new(
        &engine,
        r#"(module
            (memory 1)
            (data (i32.const 0) "\2a")
            (global $g i32 (i32.const 1000))
            (func (export "get") (param i32) (result i32)
                (i32.add (global.get $g)
                    (i32.add (local.get 0) (i32.load8_u (i32.const 0))))))"#,
    )
    .expect("callee compiles");
    let caller = Module::new(
        &engine,
        r#"(module
            (import "callee" "get" (func $get (param i32) (result i32)))
            (memory 1)
            (data (i32.const 0) "\07")
            (global $g i32 (i32.const 5))
            (table funcref (elem $get))
            (type $t (func (param i32) (result i32)))
            (func (export "direct") (param i32) (result i32)
                (return_call $get (local.get 0)))
            (func (export "indirect") (param i32) (result i32)
                (return_call_indirect (type $t) (local.get 0) (i32.const 0))))"#,
    )
    .expect("caller compiles");
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let callee = linker
        .instantiate(&mut store, &callee)
        .expect("callee instantiates");
    linker
        .instance(&mut store, "callee", callee)
        .expect("registered");
    let caller = linker
        .instantiate(&mut store, &caller)
        .expect("caller instantiates");
    for name in ["direct", "indirect"] {
        let f = caller
            .get_typed_func::<i32, i32>(&mut store, name)
            .expect(name);
        assert_eq!(f.call(&mut store, 1).expect(name), 1000 + 1 + 42);
    }
}

#[test]
fn plain_recursion_still_exhausts_the_stack() {
    // The control case: the same depth without tail calls traps cleanly.
    let (mut store, instance) = instantiate(
        r#"(module
        (func $down (export "down") (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
                (then (i64.const 0))
                (else (i64.add (i64.const 1)
                    (call $down (i64.sub (local.get 0) (i64.const 1))))))))"#,
    );
    let down = instance
        .get_typed_func::<i64, i64>(&mut store, "down")
        .expect("down");
    let err = down
        .call(&mut store, 10_000_000)
        .expect_err("ten million frames do not fit");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::StackOverflow),
        "{err}"
    );
}

#[test]
fn endless_tail_call_cycle_is_interrupted_by_the_epoch() {
    // No loop: only the epoch check at function entry can stop it.
    let mut config = ringwasm_jit::Config::default();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "tick" (func $tick))
            (global $n (export "n") (mut i64) (i64.const 0))
            (func $a (export "spin")
                (global.set $n (i64.add (global.get $n) (i64.const 1)))
                (if (i64.eq (global.get $n) (i64.const 1000)) (then call $tick))
                (return_call $b))
            (func $b (return_call $a)))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(1);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("env", "tick", |caller: Caller<'_, ()>| {
            caller.engine().increment_epoch();
        })
        .expect("defined");
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .expect("spin");
    let err = spin.call(&mut store, ()).expect_err("interrupted");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::Interrupt),
        "{err}"
    );
}

#[test]
fn a_host_trap_reached_by_return_call_surfaces_as_an_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "fail" (func $fail (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
                (return_call $fail (local.get 0))))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "fail",
            |_: Caller<'_, ()>, x: i32| -> Result<i32, ringwasm_jit::Trap> {
                if x == 0 {
                    Err(ringwasm_jit::Trap::host("refused"))
                } else {
                    Ok(x)
                }
            },
        )
        .expect("defined");
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 7).expect("ok"), 7);
    assert!(matches!(
        run.call(&mut store, 0),
        Err(Error::Trap(t)) if matches!(t.code, TrapCode::Host(_))
    ));
    // The store is still usable after the trap.
    assert_eq!(run.call(&mut store, 9).expect("ok"), 9);
}

#[test]
fn return_call_ref_runs_in_constant_stack() {
    // Typed function references are on by default.
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (type $t (func (param i64) (result i32)))
            (elem declare func $even $odd)
            (func $even (export "even") (type $t)
                (if (result i32) (i64.eqz (local.get 0))
                    (then (i32.const 1))
                    (else (return_call_ref $t
                        (i64.sub (local.get 0) (i64.const 1)) (ref.func $odd)))))
            (func $odd (type $t)
                (if (result i32) (i64.eqz (local.get 0))
                    (then (i32.const 0))
                    (else (return_call_ref $t
                        (i64.sub (local.get 0) (i64.const 1)) (ref.func $even)))))
            (func (export "via_call_ref") (param i64) (result i32)
                (call_ref $t (local.get 0) (ref.func $even)))
            (func (export "null") (result i32)
                (call_ref $t (i64.const 0) (ref.null $t))))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let even = instance
        .get_typed_func::<i64, i32>(&mut store, "even")
        .expect("even");
    assert_eq!(even.call(&mut store, 10_000_000).expect("even"), 1);
    let via = instance
        .get_typed_func::<i64, i32>(&mut store, "via_call_ref")
        .expect("via_call_ref");
    assert_eq!(via.call(&mut store, 10_000_001).expect("odd"), 0);
    let null = instance
        .get_typed_func::<(), i32>(&mut store, "null")
        .expect("null");
    let err = null.call(&mut store, ()).expect_err("null callee");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::NullFunctionReference),
        "{err}"
    );
}
