//! Host-side memories, tables, globals and references crossing into wasm.
#![forbid(unsafe_code)]

use ringwasm_jit::{
    Engine, Error, ExternRef, Func, Global, GlobalType, Instance, Memory, MemoryType, Module,
    Mutability, RefType, Store, Table, TableType, Val, ValType,
};

#[test]
fn host_defined_items_are_imported_and_shared() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, Some(2))).expect("memory");
    let global = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(5),
    )
    .expect("global");
    let table = Table::new(
        &mut store,
        TableType::new(RefType::EXTERNREF, 2, None),
        Val::ExternRef(None),
    )
    .expect("table");
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "m" (memory 1))
            (import "h" "g" (global $g (mut i32)))
            (import "h" "t" (table 2 externref))
            (func (export "bump") (result i32)
                (global.set $g (i32.add (global.get $g) (i32.const 1)))
                (i32.store8 (i32.const 3) (global.get $g))
                (global.get $g))
            (func (export "swap")
                (table.set 0 (i32.const 1) (table.get 0 (i32.const 0)))))"#,
    )
    .expect("compiles");
    let instance = Instance::new(
        &mut store,
        &module,
        &[memory.into(), global.into(), table.into()],
    )
    .expect("instantiates");
    let bump = instance
        .get_typed_func::<(), i32>(&mut store, "bump")
        .expect("bump");
    assert_eq!(bump.call(&mut store, ()).expect("call"), 6);
    assert_eq!(global.get(&mut store), Val::I32(6));
    assert_eq!(memory.data(&store)[3], 6);
    global.set(&mut store, Val::I32(41)).expect("set");
    assert_eq!(bump.call(&mut store, ()).expect("call"), 42);

    let r = ExternRef::new(&mut store, 0xfeed);
    table
        .set(&mut store, 0, Val::ExternRef(Some(r)))
        .expect("set");
    let swap = instance
        .get_typed_func::<(), ()>(&mut store, "swap")
        .expect("swap");
    swap.call(&mut store, ()).expect("call");
    match table.get(&mut store, 1) {
        Some(Val::ExternRef(Some(back))) => assert_eq!(back.payload(&store), Some(0xfeed)),
        other => panic!("expected the externref back, got {other:?}"),
    }
    assert_eq!(memory.grow(&mut store, 1).expect("grow"), 1);
    assert!(memory.grow(&mut store, 1).is_err(), "past the maximum");
    assert_eq!(
        table
            .grow(&mut store, 3, Val::ExternRef(None))
            .expect("grow"),
        2
    );
    assert_eq!(table.size(&store), 5);
}

#[test]
fn funcrefs_round_trip_and_host_funcs_sit_in_tables() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
            (table (export "t") 2 funcref)
            (type $t (func (param i32) (result i32)))
            (func $inc (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
            (func (export "call") (param i32 i32) (result i32)
                local.get 1 local.get 0 call_indirect (type $t)))"#,
    )
    .expect("compiles");
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    let table = instance.get_table(&mut store, "t").expect("table");
    let inc = instance.get_func(&mut store, "inc").expect("inc");
    let triple = Func::wrap(&mut store, |_: ringwasm_jit::Caller<'_, ()>, x: i32| x * 3);
    table
        .set(&mut store, 0, Val::FuncRef(Some(inc)))
        .expect("set");
    table
        .set(&mut store, 1, Val::FuncRef(Some(triple)))
        .expect("set");
    let call = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "call")
        .expect("call");
    assert_eq!(call.call(&mut store, (0, 10)).expect("inc"), 11);
    assert_eq!(call.call(&mut store, (1, 10)).expect("triple"), 30);
    assert_eq!(table.get(&mut store, 0), Some(Val::FuncRef(Some(inc))));
}

#[test]
fn wrong_argument_types_are_type_errors() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, r#"(module (func (export "f") (param i32)))"#).expect("ok");
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    let f = instance.get_func(&mut store, "f").expect("f");
    assert!(matches!(
        f.call(&mut store, &[Val::I64(1)], &mut []),
        Err(Error::Type(_))
    ));
    assert!(matches!(f.typed::<i64, ()>(&store), Err(Error::Type(_))));
    assert!(matches!(
        Instance::new(
            &mut store,
            &Module::new(&engine, r#"(module (import "a" "b" (func)))"#).expect("ok"),
            &[]
        ),
        Err(Error::Link(_))
    ));
}

#[test]
fn engine_module_and_store_have_the_documented_thread_bounds() {
    fn send_sync<T: Send + Sync>() -> usize {
        size_of::<T>()
    }
    fn send<T: Send>() -> usize {
        size_of::<T>()
    }
    // Engine and Module are one Arc each: cheap to clone and share.
    assert_eq!(send_sync::<Engine>(), size_of::<usize>());
    assert_eq!(send_sync::<Module>(), size_of::<usize>());
    assert!(send::<Store<Vec<u8>>>() > 0);
    assert!(send_sync::<ringwasm_jit::Linker<()>>() > 0);
}

#[test]
fn memory_budget_is_per_store() {
    let mut config = ringwasm_jit::Config::default();
    config.max_memory_bytes(3 * 65536);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(
        &engine,
        r#"(module (memory 1)
            (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let a = Instance::new(&mut store, &module, &[]).expect("first");
    let b = Instance::new(&mut store, &module, &[]).expect("second");
    let grow_a = a
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .expect("grow");
    let grow_b = b
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .expect("grow");
    assert_eq!(
        grow_a.call(&mut store, 1).expect("call"),
        1,
        "3 pages in use"
    );
    assert_eq!(
        grow_b.call(&mut store, 1).expect("call"),
        -1,
        "a 4th page is over budget"
    );
    assert!(matches!(
        Instance::new(&mut store, &module, &[]),
        Err(Error::ResourceLimit(_))
    ));
    // Another store has its own budget.
    let mut other = Store::new(&engine, ());
    Instance::new(&mut other, &module, &[]).expect("fresh budget");
}

#[test]
fn host_function_borrows_memory_and_data_together() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "take" (func $take (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "guest")
            (func (export "run") i32.const 16 i32.const 5 call $take))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, Vec::<u8>::new());
    let mut linker = ringwasm_jit::Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "take",
            |mut caller: ringwasm_jit::Caller<'_, Vec<u8>>, ptr: i32, len: i32| {
                let Some(ringwasm_jit::Extern::Memory(mem)) = caller.get_export("memory") else {
                    return Err(ringwasm_jit::Trap::host("no memory"));
                };
                let (bytes, data) = mem.data_and_store_mut(&mut caller);
                let (ptr, len) = (ptr as usize, len as usize);
                data.extend_from_slice(&bytes[ptr..ptr + len]);
                bytes[ptr] = b'G';
                Ok(())
            },
        )
        .expect("defined");
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = inst
        .get_typed_func::<(), ()>(&mut store, "run")
        .expect("run");
    run.call(&mut store, ()).expect("call");
    assert_eq!(store.data().as_slice(), b"guest");
    let mem = inst.get_memory(&mut store, "memory").expect("memory");
    assert_eq!(&mem.data(&store)[16..21], b"Guest");
}

#[test]
fn a_component_is_refused_as_unsupported_with_what_it_is() {
    let engine = Engine::default();
    for bytes in [
        b"\0asm\x0d\x00\x01\x00".to_vec(),
        b"(component (core module))".to_vec(),
    ] {
        let err = Module::new(&engine, &bytes).expect_err("a component is not a core module");
        assert!(
            matches!(err, ringwasm_jit::Error::Unsupported(_)),
            "{err:?}"
        );
        assert!(err.to_string().contains("WebAssembly component"), "{err}");
    }
    // A core module's preamble still compiles.
    Module::new(&engine, b"\0asm\x01\x00\x00\x00").expect("empty core module");
}
