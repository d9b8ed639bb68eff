//! Multi-memory end to end: several defined and imported memories, every
//! memory instruction with a memory index, exports of any index.
#![forbid(unsafe_code)]

use ringwasm_jit::{Engine, Error, Linker, Memory, MemoryType, Module, Store, TrapCode};

const THREE_MEMORIES: &str = r#"(module
    (import "host" "mem" (memory $imp 1))
    (memory $a (export "a") 1 4)
    (memory $b (export "b") 2)
    (data $d "hello")
    (data (memory $b) (i32.const 100) "\01\02\03\04")
    (func (export "store") (param i32 i32 i32)
        (block (block (block
            (br_table 0 1 2 (local.get 0)))
            (i32.store $imp (local.get 1) (local.get 2)) (return))
            (i32.store $a (local.get 1) (local.get 2)) (return))
        (i32.store $b (local.get 1) (local.get 2)))
    (func (export "load_b") (param i32) (result i32)
        (i32.load $b (local.get 0)))
    (func (export "load_a8") (param i32) (result i32)
        (i32.load8_u $a (local.get 0)))
    (func (export "sizes") (result i32 i32 i32)
        (memory.size $imp) (memory.size $a) (memory.size $b))
    (func (export "grow_a") (param i32) (result i32)
        (memory.grow $a (local.get 0)))
    (func (export "copy_b_to_a") (param i32 i32 i32)
        (memory.copy $a $b (local.get 0) (local.get 1) (local.get 2)))
    (func (export "fill_b") (param i32 i32 i32)
        (memory.fill $b (local.get 0) (local.get 1) (local.get 2)))
    (func (export "init_a") (param i32 i32 i32)
        (memory.init $a $d (local.get 0) (local.get 1) (local.get 2)))
)"#;

struct Fixture {
    store: Store<()>,
    instance: ringwasm_jit::Instance,
    imported: Memory,
}

fn fixture() -> Fixture {
    let engine = Engine::default();
    let module = Module::new(&engine, THREE_MEMORIES).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let imported = Memory::new(&mut store, MemoryType::new(1, None)).expect("host memory");
    let mut linker = Linker::new(&engine);
    linker
        .define(&store, "host", "mem", imported)
        .expect("defined");
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    Fixture {
        store,
        instance,
        imported,
    }
}

#[test]
fn stores_go_to_the_named_memory() {
    let mut f = fixture();
    let store_fn = f
        .instance
        .get_typed_func::<(i32, i32, i32), ()>(&mut f.store, "store")
        .expect("store");
    for (mem, value) in [(0, 0x1111_1111), (1, 0x2222_2222), (2, 0x3333_3333)] {
        store_fn.call(&mut f.store, (mem, 8, value)).expect("store");
    }
    let a = f.instance.get_memory(&mut f.store, "a").expect("a");
    let b = f.instance.get_memory(&mut f.store, "b").expect("b");
    assert_eq!(
        f.imported.data(&f.store)[8..12],
        0x1111_1111u32.to_le_bytes()
    );
    assert_eq!(a.data(&f.store)[8..12], 0x2222_2222u32.to_le_bytes());
    assert_eq!(b.data(&f.store)[8..12], 0x3333_3333u32.to_le_bytes());
    assert_eq!(b.data(&f.store)[100..104], [1, 2, 3, 4]);
}

#[test]
fn size_grow_copy_fill_init_take_a_memory_index() {
    let mut f = fixture();
    let sizes = f
        .instance
        .get_typed_func::<(), (i32, i32, i32)>(&mut f.store, "sizes")
        .expect("sizes");
    assert_eq!(sizes.call(&mut f.store, ()).expect("sizes"), (1, 1, 2));
    let grow = f
        .instance
        .get_typed_func::<i32, i32>(&mut f.store, "grow_a")
        .expect("grow_a");
    assert_eq!(grow.call(&mut f.store, 3).expect("grow"), 1);
    assert_eq!(grow.call(&mut f.store, 1).expect("grow past max"), -1);
    assert_eq!(sizes.call(&mut f.store, ()).expect("sizes"), (1, 4, 2));

    let fill = f
        .instance
        .get_typed_func::<(i32, i32, i32), ()>(&mut f.store, "fill_b")
        .expect("fill_b");
    fill.call(&mut f.store, (200, 0xab, 16)).expect("fill");
    let copy = f
        .instance
        .get_typed_func::<(i32, i32, i32), ()>(&mut f.store, "copy_b_to_a")
        .expect("copy");
    copy.call(&mut f.store, (0, 198, 20)).expect("copy");
    let load_a8 = f
        .instance
        .get_typed_func::<i32, i32>(&mut f.store, "load_a8")
        .expect("load_a8");
    assert_eq!(load_a8.call(&mut f.store, 1).expect("load"), 0);
    assert_eq!(load_a8.call(&mut f.store, 2).expect("load"), 0xab);
    assert_eq!(load_a8.call(&mut f.store, 17).expect("load"), 0xab);
    assert_eq!(load_a8.call(&mut f.store, 18).expect("load"), 0);

    let init = f
        .instance
        .get_typed_func::<(i32, i32, i32), ()>(&mut f.store, "init_a")
        .expect("init");
    init.call(&mut f.store, (1000, 1, 4)).expect("init");
    let a = f.instance.get_memory(&mut f.store, "a").expect("a");
    assert_eq!(&a.data(&f.store)[1000..1004], b"ello");
}

#[test]
fn out_of_bounds_traps_per_memory() {
    let mut f = fixture();
    let load_b = f
        .instance
        .get_typed_func::<i32, i32>(&mut f.store, "load_b")
        .expect("load_b");
    // Memory b has two pages, so this is in bounds for b (and out for a).
    assert_eq!(load_b.call(&mut f.store, 65536 + 8).expect("load"), 0);
    let err = load_b
        .call(&mut f.store, 2 * 65536 - 2)
        .expect_err("past b's end");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::MemoryOutOfBounds),
        "{err}"
    );
    let copy = f
        .instance
        .get_typed_func::<(i32, i32, i32), ()>(&mut f.store, "copy_b_to_a")
        .expect("copy");
    let err = copy
        .call(&mut f.store, (65530, 0, 16))
        .expect_err("past a's end");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::MemoryOutOfBounds),
        "{err}"
    );
}

#[test]
fn many_memories_in_one_instance() {
    // Twenty 32-bit memories: twenty 6 GiB reservations, each with its own
    // guard, all reachable.
    let n = 20;
    let mut wat = String::from("(module\n");
    for i in 0..n {
        wat.push_str(&format!("(memory $m{i} 1)\n"));
    }
    wat.push_str("(func (export \"sum\") (result i32)\n");
    for i in 0..n {
        wat.push_str(&format!(
            "(i32.store $m{i} (i32.const 65532) (i32.const {i}))\n"
        ));
    }
    wat.push_str("(i32.const 0)\n");
    for i in 0..n {
        wat.push_str(&format!("(i32.add (i32.load $m{i} (i32.const 65532)))\n"));
    }
    wat.push_str("))");
    let engine = Engine::default();
    let module = Module::new(&engine, &wat).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let sum = instance
        .get_typed_func::<(), i32>(&mut store, "sum")
        .expect("sum");
    assert_eq!(sum.call(&mut store, ()).expect("sum"), (0..n).sum::<i32>());
}

#[test]
fn the_store_memory_count_cap_is_a_clear_error() {
    let mut config = ringwasm_jit::Config::new();
    config.max_memories(2);
    let engine = Engine::new(&config).expect("engine");
    let module =
        Module::new(&engine, "(module (memory 0) (memory 0) (memory 0))").expect("module compiles");
    let mut store = Store::new(&engine, ());
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect_err("three memories, cap two");
    assert!(matches!(&err, Error::ResourceLimit(_)), "{err}");
}
