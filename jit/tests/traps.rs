//! Traps of each kind, out-of-bounds memory, stack exhaustion, epochs.
#![forbid(unsafe_code)]

use ringwasm_jit::{Config, Engine, Error, Instance, Linker, Module, Store, TrapCode, Val};

fn setup(engine: &Engine, wat: &str) -> (Store<()>, Instance) {
    let module = Module::new(engine, wat).expect("module compiles");
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    (store, instance)
}

fn trap_code(store: &mut Store<()>, instance: Instance, name: &str, args: &[Val]) -> TrapCode {
    let f = instance.get_func(&mut *store, name).expect("export exists");
    let mut results = vec![Val::I32(0); f.ty(&*store).results().len()];
    match f.call(&mut *store, args, &mut results) {
        Err(Error::Trap(t)) => t.code,
        other => panic!("{name}: expected a trap, got {other:?}"),
    }
}

const TRAPS: &str = r#"
(module
  (memory 1)
  (table 2 funcref)
  (type $v (func))
  (type $i (func (result i32)))
  (func $f (type $v))
  (elem (i32.const 0) $f)
  (func (export "unreachable") unreachable)
  (func (export "div0") (param i32) (result i32) i32.const 1 local.get 0 i32.div_s)
  (func (export "overflow") (result i32) i32.const 0x80000000 i32.const -1 i32.div_s)
  (func (export "conv") (result i32) f32.const nan i32.trunc_f32_s)
  (func (export "oob_load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "oob_store") (param i32) local.get 0 i32.const 7 i32.store offset=8)
  (func (export "undefined") i32.const 5 call_indirect (type $v))
  (func (export "uninit") i32.const 1 call_indirect (type $v))
  (func (export "mismatch") (result i32) i32.const 0 call_indirect (type $i))
  (func (export "table_oob") (result funcref) i32.const 9 table.get 0)
  (func $rec (export "recurse") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $rec)
  (func (export "ok") (result i32) i32.const 3)
)
"#;

#[test]
fn each_trap_has_its_code() {
    let engine = Engine::default();
    let (mut store, inst) = setup(&engine, TRAPS);
    let cases: &[(&str, &[Val], TrapCode)] = &[
        ("unreachable", &[], TrapCode::Unreachable),
        ("div0", &[Val::I32(0)], TrapCode::IntegerDivideByZero),
        ("overflow", &[], TrapCode::IntegerOverflow),
        ("conv", &[], TrapCode::BadConversionToInteger),
        ("oob_load", &[Val::I32(65536)], TrapCode::MemoryOutOfBounds),
        ("oob_load", &[Val::I32(-1)], TrapCode::MemoryOutOfBounds),
        ("oob_store", &[Val::I32(65530)], TrapCode::MemoryOutOfBounds),
        ("undefined", &[], TrapCode::UndefinedElement),
        ("uninit", &[], TrapCode::UninitializedElement),
        ("mismatch", &[], TrapCode::IndirectCallTypeMismatch),
        ("table_oob", &[], TrapCode::TableOutOfBounds),
        ("recurse", &[Val::I32(0)], TrapCode::StackOverflow),
    ];
    for (name, args, code) in cases {
        assert_eq!(&trap_code(&mut store, inst, name, args), code, "{name}");
        // The store stays usable after every trap.
        let ok = inst
            .get_typed_func::<(), i32>(&mut store, "ok")
            .expect("ok");
        assert_eq!(ok.call(&mut store, ()).expect("call after trap"), 3);
    }
}

#[test]
fn trap_messages_are_the_spec_texts() {
    assert_eq!(
        TrapCode::IntegerDivideByZero.to_string(),
        "integer divide by zero"
    );
    assert_eq!(
        TrapCode::MemoryOutOfBounds.to_string(),
        "out of bounds memory access"
    );
    assert_eq!(TrapCode::StackOverflow.to_string(), "call stack exhausted");
    assert_eq!(
        TrapCode::UninitializedElement.to_string(),
        "uninitialized element"
    );
}

#[test]
fn trap_backtrace_names_functions() {
    let engine = Engine::default();
    let (mut store, inst) = setup(
        &engine,
        r#"(module
            (func $inner unreachable)
            (func $outer (export "run") call $inner))"#,
    );
    let f = inst.get_func(&mut store, "run").expect("run");
    let err = f.call(&mut store, &[], &mut []).expect_err("traps");
    let trap = err.as_trap().expect("a trap");
    let names: Vec<_> = trap
        .backtrace
        .iter()
        .map(|f| f.func_name.as_deref().unwrap_or("?"))
        .collect();
    assert_eq!(names, ["inner", "outer"]);
}

#[test]
fn memory_grow_makes_pages_accessible() {
    let engine = Engine::default();
    let (mut store, inst) = setup(
        &engine,
        r#"(module (memory 1 3)
            (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
            (func (export "size") (result i32) memory.size)
            (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
            (func (export "load") (param i32) (result i32) local.get 0 i32.load))"#,
    );
    let grow = inst
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .expect("grow");
    let size = inst
        .get_typed_func::<(), i32>(&mut store, "size")
        .expect("size");
    let st = inst
        .get_typed_func::<(i32, i32), ()>(&mut store, "store")
        .expect("store");
    let load = inst
        .get_typed_func::<i32, i32>(&mut store, "load")
        .expect("load");
    assert!(st.call(&mut store, (70000, 5)).is_err());
    assert_eq!(grow.call(&mut store, 1).expect("grow"), 1);
    assert_eq!(size.call(&mut store, ()).expect("size"), 2);
    st.call(&mut store, (70000, 5)).expect("store after grow");
    assert_eq!(load.call(&mut store, 70000).expect("load"), 5);
    assert_eq!(
        grow.call(&mut store, 5).expect("grow"),
        -1,
        "past the maximum"
    );
    let mem = inst.get_memory(&mut store, "memory");
    assert!(mem.is_none());
}

#[test]
fn epoch_bumped_from_another_thread_traps_on_entry() {
    let mut config = Config::default();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let (mut store, inst) = setup(&engine, r#"(module (func (export "spin") (loop br 0)))"#);
    store.set_epoch_deadline(1);
    let spin = inst
        .get_typed_func::<(), ()>(&mut store, "spin")
        .expect("spin");
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || engine.increment_epoch())
    };
    ticker.join().expect("ticker");
    match spin.call(&mut store, ()) {
        Err(Error::Trap(t)) => assert_eq!(t.code, TrapCode::Interrupt),
        other => panic!("expected interrupt, got {other:?}"),
    }
}

#[test]
fn epoch_advanced_mid_loop_interrupts_at_the_loop_header() {
    let mut config = Config::default();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "tick" (func $tick))
            (global $n (export "n") (mut i32) (i32.const 0))
            (func (export "spin")
                (loop
                    (global.set $n (i32.add (global.get $n) (i32.const 1)))
                    (if (i32.eq (global.get $n) (i32.const 5)) (then call $tick))
                    br 0)))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(1);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("env", "tick", |caller: ringwasm_jit::Caller<'_, ()>| {
            caller.engine().increment_epoch();
        })
        .expect("defined");
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let spin = inst
        .get_typed_func::<(), ()>(&mut store, "spin")
        .expect("spin");
    match spin.call(&mut store, ()) {
        Err(Error::Trap(t)) => assert_eq!(t.code, TrapCode::Interrupt),
        other => panic!("expected interrupt, got {other:?}"),
    }
    let n = inst.get_global(&mut store, "n").expect("n").get(&mut store);
    assert_eq!(
        n,
        Val::I32(5),
        "stopped at the first loop header after the tick"
    );
}
