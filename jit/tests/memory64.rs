//! Memory64 end to end: `i64` addresses, explicit bounds checks with
//! overflow, 64-bit `memory.size`/`memory.grow`, and the reservation cap.
#![forbid(unsafe_code)]

use ringwasm_jit::{Engine, Error, Linker, Module, Store, TrapCode};

const MEM64: &str = r#"(module
    (memory (export "mem") i64 1 3)
    (data (i64.const 65530) "\01\02\03\04\05\06")
    (func (export "load") (param i64) (result i32)
        (i32.load (local.get 0)))
    (func (export "load_far") (param i64) (result i32)
        (i32.load offset=0xffff_ffff_ffff_fff0 (local.get 0)))
    (func (export "store") (param i64 i64)
        (i64.store (local.get 0) (local.get 1)))
    (func (export "size") (result i64) (memory.size))
    (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
    (func (export "fill") (param i64 i32 i64)
        (memory.fill (local.get 0) (local.get 1) (local.get 2)))
    (func (export "copy") (param i64 i64 i64)
        (memory.copy (local.get 0) (local.get 1) (local.get 2)))
)"#;

fn instantiate() -> (Store<()>, ringwasm_jit::Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, MEM64).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    (store, instance)
}

fn is_oob(result: Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(result, Err(Error::Trap(t)) if t.code == TrapCode::MemoryOutOfBounds)
}

#[test]
fn loads_are_bounds_checked_against_the_current_length() {
    let (mut store, instance) = instantiate();
    let load = instance
        .get_typed_func::<i64, i32>(&mut store, "load")
        .expect("load");
    assert_eq!(
        load.call(&mut store, 65530).expect("in bounds"),
        0x0403_0201
    );
    assert_eq!(
        load.call(&mut store, 65532).expect("last word"),
        0x0605_0403
    );
    assert!(is_oob(load.call(&mut store, 65533)));
    assert!(is_oob(load.call(&mut store, 1 << 32)));
    assert!(is_oob(load.call(&mut store, -1)));
    assert!(is_oob(load.call(&mut store, i64::MIN)));
    // index + offset overflows 64 bits: a trap, not a wrap to a small address.
    let far = instance
        .get_typed_func::<i64, i32>(&mut store, "load_far")
        .expect("load_far");
    assert!(is_oob(far.call(&mut store, 0x20)));
    assert!(is_oob(far.call(&mut store, 0)));
}

#[test]
fn grow_returns_i64_and_extends_the_bound() {
    let (mut store, instance) = instantiate();
    let size = instance
        .get_typed_func::<(), i64>(&mut store, "size")
        .expect("size");
    let grow = instance
        .get_typed_func::<i64, i64>(&mut store, "grow")
        .expect("grow");
    let store_fn = instance
        .get_typed_func::<(i64, i64), ()>(&mut store, "store")
        .expect("store");
    assert_eq!(size.call(&mut store, ()).expect("size"), 1);
    assert!(is_oob(store_fn.call(&mut store, (65536, 7))));
    assert_eq!(grow.call(&mut store, 2).expect("grow"), 1);
    assert_eq!(size.call(&mut store, ()).expect("size"), 3);
    store_fn
        .call(&mut store, (3 * 65536 - 8, 7))
        .expect("now in bounds");
    assert!(is_oob(store_fn.call(&mut store, (3 * 65536 - 7, 7))));
    assert_eq!(grow.call(&mut store, 1).expect("past max"), -1);
    assert_eq!(grow.call(&mut store, 1 << 40).expect("huge"), -1);
    assert_eq!(grow.call(&mut store, -1).expect("u64::MAX pages"), -1);
}

#[test]
fn bulk_operations_take_64_bit_operands() {
    let (mut store, instance) = instantiate();
    let fill = instance
        .get_typed_func::<(i64, i32, i64), ()>(&mut store, "fill")
        .expect("fill");
    let copy = instance
        .get_typed_func::<(i64, i64, i64), ()>(&mut store, "copy")
        .expect("copy");
    fill.call(&mut store, (10, 0x5a, 6)).expect("fill");
    copy.call(&mut store, (100, 8, 10)).expect("copy");
    let mem = instance.get_memory(&mut store, "mem").expect("mem");
    assert_eq!(
        &mem.data(&store)[100..110],
        &[0, 0, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0, 0]
    );
    assert!(is_oob(fill.call(&mut store, (1 << 33, 0, 1))));
    assert!(is_oob(fill.call(&mut store, (0, 0, -1))));
    assert!(is_oob(copy.call(&mut store, (u64::MAX as i64 - 2, 0, 8))));
    assert!(is_oob(copy.call(&mut store, (0, 1 << 40, 8))));
}

#[test]
fn a_minimum_beyond_the_reservation_cap_is_a_clear_error() {
    // 2^20 pages = 64 GiB is the memory64 reservation cap; the default store
    // budget (4 GiB) refuses long before.
    let engine = Engine::default();
    let module = Module::new(&engine, "(module (memory i64 0x100001))").expect("compiles");
    let mut store = Store::new(&engine, ());
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect_err("too large");
    assert!(matches!(err, Error::ResourceLimit(_)), "{err}");
}
