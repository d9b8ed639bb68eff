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
