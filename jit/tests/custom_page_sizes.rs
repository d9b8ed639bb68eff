//! The custom-page-sizes proposal end to end: memories of 1-byte pages
//! whose out-of-bounds trap sits at exactly their length (inside the host
//! page the length ends in, past it in the `PROT_NONE` rest of the
//! reservation, and past the guard), `memory.size`/`memory.grow` in bytes up
//! to the 2^32 − 1 maximum, exact page-size matching of imports, and the
//! embedding API's `MemoryType::page_size_log2`.
#![forbid(unsafe_code)]

use ringwasm_jit::{
    Config, Engine, Error, Instance, Linker, Memory, MemoryType, Module, Store, TrapCode,
    WasmFeatures,
};

/// An engine with custom page sizes on (they are off by default).
fn engine() -> Engine {
    let mut config = Config::default();
    config.wasm_features(config.features() | WasmFeatures::CUSTOM_PAGE_SIZES);
    Engine::new(&config).expect("engine")
}

const BYTE_PAGES: &str = r#"(module
    (memory (export "mem") 5 70000 (pagesize 1))
    (data (i32.const 0) "\01\02\03\04\05")
    (func (export "load8") (param i32) (result i32)
        (i32.load8_u (local.get 0)))
    (func (export "load32") (param i32) (result i32)
        (i32.load (local.get 0)))
    (func (export "load8_at_4096") (param i32) (result i32)
        (i32.load8_u offset=4096 (local.get 0)))
    ;; A static offset past the 2 GiB guard: checked on any memory.
    (func (export "load8_far") (param i32) (result i32)
        (i32.load8_u offset=0xc0000000 (local.get 0)))
    (func (export "store8") (param i32 i32)
        (i32.store8 (local.get 0) (local.get 1)))
    (func (export "size") (result i32) (memory.size))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "fill") (param i32 i32 i32)
        (memory.fill (local.get 0) (local.get 1) (local.get 2)))
)"#;

struct Fixture {
    store: Store<()>,
    instance: Instance,
}

impl Fixture {
    fn new(text: &str) -> Fixture {
        let engine = engine();
        let module = Module::new(&engine, text).expect("module compiles");
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .expect("instantiates");
        Fixture { store, instance }
    }

    fn call1(&mut self, name: &str, arg: i32) -> Result<i32, Error> {
        let f = self
            .instance
            .get_typed_func::<i32, i32>(&mut self.store, name)
            .expect(name);
        f.call(&mut self.store, arg)
    }

    fn size(&mut self) -> i32 {
        let f = self
            .instance
            .get_typed_func::<(), i32>(&mut self.store, "size")
            .expect("size");
        f.call(&mut self.store, ()).expect("size")
    }
}

fn is_oob<T: std::fmt::Debug>(result: Result<T, Error>) -> bool {
    matches!(&result, Err(Error::Trap(t)) if t.code == TrapCode::MemoryOutOfBounds)
}

#[test]
fn an_access_traps_at_exactly_the_length_within_its_host_page() {
    let mut f = Fixture::new(BYTE_PAGES);
    assert_eq!(f.size(), 5);
    assert_eq!(f.call1("load8", 4).expect("last byte"), 5);
    assert_eq!(f.call1("load32", 1).expect("last word"), 0x0504_0302);
    // Bytes 5..4096 share the host page of the last byte: only an explicit
    // check can stop these.
    assert!(is_oob(f.call1("load8", 5)));
    assert!(is_oob(f.call1("load32", 2)));
    assert!(is_oob(f.call1("load8", 4095)));
    // Past the host page, in the reservation's PROT_NONE rest, and at the
    // top of the 32-bit range.
    assert!(is_oob(f.call1("load8", 4096)));
    assert!(is_oob(f.call1("load8_at_4096", 0)));
    assert!(is_oob(f.call1("load8", 1 << 20)));
    assert!(is_oob(f.call1("load8", -1)));
    assert!(is_oob(f.call1("load32", -4)));
    // Past the guard.
    assert!(is_oob(f.call1("load8_far", 0)));
    assert!(is_oob(f.call1("load8_far", -1)));
}

#[test]
fn growing_moves_the_trap_to_the_new_length_and_leaves_new_bytes_zero() {
    let mut f = Fixture::new(BYTE_PAGES);
    assert_eq!(f.call1("grow", 3).expect("grow"), 5);
    assert_eq!(f.size(), 8);
    for at in 5..8 {
        assert_eq!(f.call1("load8", at).expect("new byte"), 0);
    }
    assert!(is_oob(f.call1("load8", 8)));
    // To exactly one 64 KiB page: the length is now host-page aligned, the
    // check still decides.
    assert_eq!(f.call1("grow", 65536 - 8).expect("grow"), 8);
    assert_eq!(f.size(), 65536);
    assert_eq!(f.call1("load8", 65535).expect("last byte"), 0);
    assert!(is_oob(f.call1("load8", 65536)));
    assert!(is_oob(f.call1("load8_at_4096", 65536 - 4096)));
    // One byte more: the next host page opens, one byte of it is memory.
    assert_eq!(f.call1("grow", 1).expect("grow"), 65536);
    assert_eq!(f.call1("load8", 65536).expect("new byte"), 0);
    assert!(is_oob(f.call1("load8", 65537)));
    // Past the declared maximum of 70000 bytes: -1, nothing changes.
    assert_eq!(f.call1("grow", 70000 - 65537 + 1).expect("grow"), -1);
    assert_eq!(f.call1("grow", 70000 - 65537).expect("grow"), 65537);
    assert_eq!(f.size(), 70000);
    assert_eq!(f.call1("grow", 1).expect("grow"), -1);
    assert!(is_oob(f.call1("load8", 70000)));
}

#[test]
fn stores_and_bulk_operations_are_bounded_by_bytes() {
    let mut f = Fixture::new(BYTE_PAGES);
    let store8 = f
        .instance
        .get_typed_func::<(i32, i32), ()>(&mut f.store, "store8")
        .expect("store8");
    store8.call(&mut f.store, (4, 0x7f)).expect("in bounds");
    assert!(is_oob(store8.call(&mut f.store, (5, 1))));
    let fill = f
        .instance
        .get_typed_func::<(i32, i32, i32), ()>(&mut f.store, "fill")
        .expect("fill");
    fill.call(&mut f.store, (1, 9, 4)).expect("fill to the end");
    fill.call(&mut f.store, (5, 9, 0))
        .expect("empty fill at the end");
    assert!(is_oob(fill.call(&mut f.store, (2, 9, 4))));
    let mem = f
        .instance
        .get_memory(&mut f.store, "mem")
        .expect("exported memory");
    assert_eq!(mem.data(&f.store), &[1, 9, 9, 9, 9]);
}

#[test]
fn a_32_bit_memory_of_byte_pages_grows_to_2_pow_32_minus_1() {
    let mut f = Fixture::new(
        r#"(module
            (memory 0 (pagesize 1))
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (export "size") (result i32) (memory.size))
            (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
            (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#,
    );
    assert!(is_oob(f.call1("load8", 0)));
    // 2^32 - 1 bytes; as an i32 the old size 0 and the new size -1.
    assert_eq!(f.call1("grow", -1).expect("grow to the maximum"), 0);
    assert_eq!(f.size(), -1);
    let store8 = f
        .instance
        .get_typed_func::<(i32, i32), ()>(&mut f.store, "store8")
        .expect("store8");
    store8.call(&mut f.store, (-2, 42)).expect("last byte");
    assert_eq!(f.call1("load8", -2).expect("last byte"), 42);
    // Byte 2^32 - 1 is the first past the end.
    assert!(is_oob(f.call1("load8", -1)));
    assert!(is_oob(store8.call(&mut f.store, (-1, 1))));
    assert_eq!(f.call1("grow", 1).expect("grow"), -1);
    assert_eq!(f.call1("grow", 0).expect("grow by 0"), -1);
}

#[test]
fn a_memory64_of_byte_pages_counts_bytes_in_i64() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (memory i64 3 (pagesize 1))
            (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
            (func (export "size") (result i64) (memory.size))
            (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0))))"#,
    )
    .expect("module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let grow = instance
        .get_typed_func::<i64, i64>(&mut store, "grow")
        .expect("grow");
    let size = instance
        .get_typed_func::<(), i64>(&mut store, "size")
        .expect("size");
    let load8 = instance
        .get_typed_func::<i64, i32>(&mut store, "load8")
        .expect("load8");
    assert_eq!(size.call(&mut store, ()).expect("size"), 3);
    assert_eq!(load8.call(&mut store, 2).expect("last byte"), 0);
    assert!(is_oob(load8.call(&mut store, 3)));
    assert_eq!(grow.call(&mut store, 1).expect("grow"), 3);
    assert_eq!(load8.call(&mut store, 3).expect("new byte"), 0);
    assert!(is_oob(load8.call(&mut store, 4)));
    assert!(is_oob(load8.call(&mut store, i64::MAX)));
    assert_eq!(grow.call(&mut store, i64::MAX).expect("grow"), -1);
}

#[test]
fn data_segments_are_bounded_by_bytes() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let fits = Module::new(
        &engine,
        r#"(module (memory 5 (pagesize 1)) (data (i32.const 3) "ab"))"#,
    )
    .expect("compiles");
    Linker::new(&engine)
        .instantiate(&mut store, &fits)
        .expect("segment ends at the length");
    let past = Module::new(
        &engine,
        r#"(module (memory 5 (pagesize 1)) (data (i32.const 4) "ab"))"#,
    )
    .expect("compiles");
    let err = Linker::new(&engine)
        .instantiate(&mut store, &past)
        .expect_err("segment one byte past the length");
    assert!(is_oob::<()>(Err(err)));
}

#[test]
fn imports_match_page_sizes_exactly() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let byte_pages = Memory::new(
        &mut store,
        MemoryType::new(100, Some(200)).with_page_size_log2(0),
    )
    .expect("1-byte-page memory");
    let big_pages = Memory::new(&mut store, MemoryType::new(1, Some(2))).expect("memory");
    let wants_bytes = Module::new(
        &engine,
        r#"(module (import "host" "mem" (memory 50 (pagesize 1)))
            (func (export "size") (result i32) (memory.size)))"#,
    )
    .expect("compiles");
    let wants_default = Module::new(
        &engine,
        r#"(module (import "host" "mem" (memory 1 (pagesize 65536))))"#,
    )
    .expect("compiles");
    let link = |store: &mut Store<()>, mem: Memory, module: &Module| {
        let mut linker = Linker::new(&engine);
        linker.define(store, "host", "mem", mem).expect("defined");
        linker.instantiate(store, module)
    };
    let instance = link(&mut store, byte_pages, &wants_bytes).expect("same page size");
    let size = instance
        .get_typed_func::<(), i32>(&mut store, "size")
        .expect("size");
    assert_eq!(size.call(&mut store, ()).expect("size"), 100);
    link(&mut store, big_pages, &wants_default).expect("same page size");
    // 1 page of 64 KiB is not 65536 pages of 1 byte, nor the other way.
    let err = link(&mut store, big_pages, &wants_bytes).expect_err("page sizes differ");
    assert!(matches!(err, Error::Link(_)), "{err:?}");
    let err = link(&mut store, byte_pages, &wants_default).expect_err("page sizes differ");
    assert!(matches!(err, Error::Link(_)), "{err:?}");
}

#[test]
fn the_embedding_api_reports_pages_and_bytes() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let ty = MemoryType::new(10, Some(1000)).with_page_size_log2(0);
    assert_eq!(ty.page_size(), 1);
    assert_eq!(MemoryType::new(1, None).page_size(), 65536);
    assert_eq!(
        MemoryType::new(1, None).page_size_log2,
        MemoryType::DEFAULT_PAGE_SIZE_LOG2
    );
    let mem = Memory::new(&mut store, ty).expect("memory");
    assert_eq!(mem.size(&store), 10);
    assert_eq!(mem.data_size(&store), 10);
    assert_eq!(mem.data(&store).len(), 10);
    assert_eq!(mem.grow(&mut store, 6).expect("grow"), 10);
    assert_eq!(mem.data_size(&store), 16);
    mem.data_mut(&mut store)[15] = 7;
    assert_eq!(mem.data(&store)[15], 7);
    let now = mem.ty(&store);
    assert_eq!((now.minimum, now.page_size_log2), (16, 0));
    let err = mem.grow(&mut store, 985).expect_err("past the maximum");
    assert!(err.to_string().contains("of 1 bytes"), "{err}");

    // Only 1 byte and 64 KiB pages exist.
    let err = Memory::new(&mut store, MemoryType::new(1, None).with_page_size_log2(12))
        .expect_err("4 KiB pages");
    assert!(matches!(err, Error::Type(_)), "{err:?}");
    // 2^32 - 1 one-byte pages at most for a 32-bit memory.
    let too_big = MemoryType {
        maximum: Some(1 << 32),
        ..MemoryType::new(0, None).with_page_size_log2(0)
    };
    assert!(matches!(
        Memory::new(&mut store, too_big),
        Err(Error::Type(_))
    ));
}

#[test]
fn the_feature_is_off_by_default() {
    assert!(
        !Config::default()
            .features()
            .contains(WasmFeatures::CUSTOM_PAGE_SIZES)
    );
    let engine = Engine::default();
    let err = Module::new(&engine, BYTE_PAGES).expect_err("custom page sizes are off");
    assert!(matches!(err, Error::Compile(_)), "{err:?}");
    assert!(err.to_string().contains("custom page sizes"), "{err}");
    let mut store = Store::new(&engine, ());
    let err = Memory::new(&mut store, MemoryType::new(1, None).with_page_size_log2(0))
        .expect_err("custom page sizes are off");
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");
    // Writing a page size out needs the proposal, even the default one.
    Module::new(&engine, "(module (memory 1 (pagesize 65536)))")
        .expect_err("an explicit page size");
    Module::new(&engine, "(module (memory 1))").expect("plain memory");
}

#[test]
fn simd_and_atomic_accesses_trap_at_exactly_the_length() {
    let mut f = Fixture::new(
        r#"(module
            (memory 20 40 shared (pagesize 1))
            (func (export "v128_load") (param i32) (result i32)
                (i32x4.extract_lane 0 (v128.load (local.get 0))))
            (func (export "atomic_add") (param i32) (result i32)
                (i32.atomic.rmw.add (local.get 0) (i32.const 1)))
            (func (export "atomic_load") (param i32) (result i32)
                (i32.atomic.load (local.get 0)))
            (func (export "wait") (param i32) (result i32)
                (memory.atomic.wait32 (local.get 0) (i32.const 1) (i64.const 0)))
            (func (export "notify") (param i32) (result i32)
                (memory.atomic.notify (local.get 0) (i32.const 1))))"#,
    );
    assert_eq!(f.call1("v128_load", 4).expect("last 16 bytes"), 0);
    assert!(is_oob(f.call1("v128_load", 5)));
    assert_eq!(f.call1("atomic_add", 16).expect("last word"), 0);
    assert_eq!(f.call1("atomic_load", 16).expect("last word"), 1);
    assert!(is_oob(f.call1("atomic_add", 20)));
    assert!(is_oob(f.call1("atomic_load", 20)));
    // Value 0 differs from the expected 1: "not-equal" without sleeping.
    assert_eq!(f.call1("wait", 12).expect("in bounds"), 1);
    assert!(is_oob(f.call1("wait", 20)));
    assert_eq!(f.call1("notify", 16).expect("in bounds"), 0);
    assert!(is_oob(f.call1("notify", 20)));
}
