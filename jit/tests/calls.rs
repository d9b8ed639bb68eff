//! Calls end to end: exported functions, host functions, re-entrance.
#![forbid(unsafe_code)]

use ringwasm_jit::{Caller, Engine, Error, Linker, Module, Store, TrapCode, Val};

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

#[test]
fn exported_add_runs() {
    let (mut store, instance) = instantiate(
        r#"(module (func (export "add") (param i32 i32) (result i32)
            local.get 0 local.get 1 i32.add))"#,
    );
    let add = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .expect("typed add");
    assert_eq!(add.call(&mut store, (2, 40)).expect("call"), 42);
    assert_eq!(add.call(&mut store, (i32::MAX, 1)).expect("call"), i32::MIN);
}

#[test]
fn host_function_via_func_wrap() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "mul" (func $mul (param i32 i64) (result i64)))
            (func (export "run") (param i32) (result i64)
                local.get 0 i64.const 10 call $mul))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "mul",
            |mut caller: Caller<'_, u32>, a: i32, b: i64| {
                *caller.data_mut() += 1;
                i64::from(a) * b
            },
        )
        .expect("defined");
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = inst
        .get_typed_func::<i32, i64>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 7).expect("call"), 70);
    assert_eq!(*store.data(), 1);
}

#[test]
fn host_trap_and_exit_surface_as_errors() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "fail" (func $fail (param i32)))
            (func (export "run") (param i32) local.get 0 call $fail))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "fail",
            |_: Caller<'_, ()>, code: i32| -> Result<(), ringwasm_jit::Trap> {
                if code == 0 {
                    Err(ringwasm_jit::Trap::host("refused"))
                } else {
                    Err(ringwasm_jit::Trap::exit(code))
                }
            },
        )
        .expect("defined");
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = inst
        .get_typed_func::<i32, ()>(&mut store, "run")
        .expect("run");
    match run.call(&mut store, 0) {
        Err(Error::Trap(t)) => assert!(matches!(t.code, TrapCode::Host(_))),
        other => panic!("expected host trap, got {other:?}"),
    }
    assert!(matches!(run.call(&mut store, 3), Err(Error::Exit(3))));
}

const REENTER: &str = r#"(module
    (import "env" "callback" (func $cb (param i32) (result i32)))
    (func (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
    (func (export "boom") (param i32) (result i32) unreachable)
    (func (export "run") (param i32) (result i32) local.get 0 call $cb i32.const 1 i32.add))"#;

fn reenter_setup(target: &'static str) -> (Store<Vec<String>>, ringwasm_jit::Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, REENTER).expect("compiles");
    let mut store = Store::new(&engine, Vec::new());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "callback",
            move |mut caller: Caller<'_, Vec<String>>, x: i32| -> Result<i32, ringwasm_jit::Trap> {
                let f = caller
                    .get_export(target)
                    .and_then(|e| e.into_func())
                    .ok_or_else(|| ringwasm_jit::Trap::host("no export"))?;
                let mut out = [Val::I32(0)];
                match f.call(&mut caller, &[Val::I32(x)], &mut out) {
                    Ok(()) => Ok(out[0].i32().unwrap_or(0)),
                    Err(e) => {
                        caller.data_mut().push(e.to_string());
                        Ok(-100)
                    }
                }
            },
        )
        .expect("defined");
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    (store, inst)
}

#[test]
fn host_function_reenters_wasm() {
    let (mut store, inst) = reenter_setup("double");
    let run = inst
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 20).expect("call"), 41);
}

#[test]
fn nested_trap_returns_err_to_the_host_function() {
    let (mut store, inst) = reenter_setup("boom");
    let run = inst
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 20).expect("outer call survives"), -99);
    assert_eq!(store.data().len(), 1);
    assert!(
        store.data()[0].starts_with("unreachable"),
        "{:?}",
        store.data()
    );
}

#[test]
fn engine_and_module_are_shared_across_threads() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "sq") (param i64) (result i64) local.get 0 local.get 0 i64.mul))"#,
    )
    .expect("compiles");
    let handles: Vec<_> = (0..4i64)
        .map(|i| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || {
                let mut store = Store::new(&engine, ());
                let inst = Linker::new(&engine)
                    .instantiate(&mut store, &module)
                    .expect("instantiates");
                let sq = inst
                    .get_typed_func::<i64, i64>(&mut store, "sq")
                    .expect("sq");
                sq.call(&mut store, i).expect("call")
            })
        })
        .collect();
    let results: Vec<i64> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(results, [0, 1, 4, 9]);
}

#[test]
fn malformed_and_invalid_modules_are_errors_with_offsets() {
    let engine = Engine::default();
    assert!(matches!(
        Module::new(&engine, b"\0asm\x01\0\0\0\x01\xff"),
        Err(Error::Compile(_))
    ));
    match Module::new(&engine, r#"(module (func (result i32) i64.const 1))"#) {
        Err(Error::Compile(e)) => assert!(e.offset > 8, "offset {}", e.offset),
        other => panic!("expected a compile error, got {other:?}"),
    }
}

#[test]
fn start_function_trap_keeps_earlier_effects() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let provider = Module::new(&engine, r#"(module (memory (export "m") 1))"#).expect("compiles");
    let mut linker = Linker::new(&engine);
    let p = linker.instantiate(&mut store, &provider).expect("provider");
    linker.instance(&mut store, "p", p).expect("registered");
    let module = Module::new(
        &engine,
        r#"(module (import "p" "m" (memory 1))
            (data (i32.const 0) "hi")
            (func $s unreachable) (start $s))"#,
    )
    .expect("compiles");
    assert!(matches!(
        linker.instantiate(&mut store, &module),
        Err(Error::Trap(_))
    ));
    let mem = p.get_memory(&mut store, "m").expect("memory");
    assert_eq!(&mem.data(&store)[..2], b"hi");
}

#[test]
fn host_panic_propagates_to_the_embedder_and_the_store_survives() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "boom" (func $boom (param i32)))
            (func (export "run") (param i32) local.get 0 call $boom)
            (func (export "ok") (result i32) i32.const 7))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("env", "boom", |_: Caller<'_, ()>, x: i32| {
            if x == 1 {
                panic!("host bug");
            }
        })
        .expect("defined");
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = inst
        .get_typed_func::<i32, ()>(&mut store, "run")
        .expect("run");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = run.call(&mut store, 1);
    }));
    let payload = caught.expect_err("the panic reaches the embedder");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"host bug"));
    run.call(&mut store, 0).expect("no panic this time");
    let ok = inst
        .get_typed_func::<(), i32>(&mut store, "ok")
        .expect("ok");
    assert_eq!(ok.call(&mut store, ()).expect("store still works"), 7);
}
