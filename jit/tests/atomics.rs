//! The threads proposal end to end, for what the spec scripts leave out:
//! narrow read-modify-write results, the unaligned and out-of-bounds traps
//! inside rmw loops (guard-page and explicitly checked memories),
//! wait/notify results, and shared-memory types at the embedding API and
//! in import matching.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use ringwasm_jit::{
    Config, Engine, Error, Instance, Linker, Memory, MemoryType, Module, Store, TrapCode,
    WasmFeatures,
};

const ATOMICS: &str = r#"(module
    (memory (export "mem") 1 2 shared)
    (func (export "and") (param i32 i32) (result i32)
        (i32.atomic.rmw.and (local.get 0) (local.get 1)))
    (func (export "or8") (param i32 i32) (result i32)
        (i32.atomic.rmw8.or_u (local.get 0) (local.get 1)))
    (func (export "xor64") (param i32 i64) (result i64)
        (i64.atomic.rmw.xor (local.get 0) (local.get 1)))
    (func (export "xor64_off") (param i32 i64) (result i64)
        (i64.atomic.rmw.xor offset=8 (local.get 0) (local.get 1)))
    (func (export "and16_64") (param i32 i64) (result i64)
        (i64.atomic.rmw16.and_u (local.get 0) (local.get 1)))
    (func (export "add32_64") (param i32 i64) (result i64)
        (i64.atomic.rmw32.add_u (local.get 0) (local.get 1)))
    (func (export "sub8") (param i32 i32) (result i32)
        (i32.atomic.rmw8.sub_u (local.get 0) (local.get 1)))
    (func (export "cmpxchg8") (param i32 i32 i32) (result i32)
        (i32.atomic.rmw8.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
    (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
    (func (export "store64") (param i32 i64) (i64.atomic.store (local.get 0) (local.get 1)))
    (func (export "wait32") (param i32 i32 i64) (result i32)
        (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
    (func (export "wait64") (param i32 i64 i64) (result i32)
        (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
    (func (export "notify") (param i32 i32) (result i32)
        (memory.atomic.notify (local.get 0) (local.get 1)))
    (func (export "size") (result i32) (memory.size))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)"#;

fn instantiate(wat: &str) -> (Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    (store, instance)
}

fn trap_code<T: std::fmt::Debug>(result: Result<T, Error>) -> TrapCode {
    match result {
        Err(Error::Trap(t)) => t.code,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn narrow_rmw_and_cmpxchg_zero_extend_and_wrap() {
    let (mut store, inst) = instantiate(ATOMICS);
    let store64 = inst
        .get_typed_func::<(i32, i64), ()>(&mut store, "store64")
        .expect("store64");
    let load = inst
        .get_typed_func::<i32, i32>(&mut store, "load")
        .expect("load");
    let or8 = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "or8")
        .expect("or8");
    let sub8 = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "sub8")
        .expect("sub8");
    let and16 = inst
        .get_typed_func::<(i32, i64), i64>(&mut store, "and16_64")
        .expect("and16_64");
    let add32 = inst
        .get_typed_func::<(i32, i64), i64>(&mut store, "add32_64")
        .expect("add32_64");
    let cmpxchg8 = inst
        .get_typed_func::<(i32, i32, i32), i32>(&mut store, "cmpxchg8")
        .expect("cmpxchg8");

    store64
        .call(&mut store, (0, 0x1122_3344_5566_77f0))
        .expect("store");
    // The old byte, zero-extended; only the low 8 bits of the operand count.
    assert_eq!(or8.call(&mut store, (0, 0x10f)).expect("or8"), 0xf0);
    assert_eq!(load.call(&mut store, 0).expect("load"), 0x5566_77ff);
    // 0xff - 0x100 wraps in 8 bits: the operand is 0x00, byte unchanged.
    assert_eq!(sub8.call(&mut store, (0, 0x100)).expect("sub8"), 0xff);
    assert_eq!(sub8.call(&mut store, (0, 0x1)).expect("sub8"), 0xff);
    assert_eq!(load.call(&mut store, 0).expect("load"), 0x5566_77fe);
    assert_eq!(and16.call(&mut store, (2, 0x0f0f)).expect("and16"), 0x5566);
    assert_eq!(load.call(&mut store, 0).expect("load"), 0x0506_77fe);
    // 0xffff_ffff + 1 wraps in 32 bits; the old value zero-extends.
    store64.call(&mut store, (8, -1)).expect("store");
    assert_eq!(add32.call(&mut store, (8, 1)).expect("add32"), 0xffff_ffff);
    assert_eq!(load.call(&mut store, 8).expect("load"), 0);
    assert_eq!(load.call(&mut store, 12).expect("load"), -1);
    // cmpxchg8 compares with the expected value wrapped to 8 bits.
    assert_eq!(
        cmpxchg8
            .call(&mut store, (0, 0x1fe, 0x42))
            .expect("cmpxchg8"),
        0xfe
    );
    assert_eq!(load.call(&mut store, 0).expect("load") & 0xff, 0x42);
    // A mismatch leaves memory alone.
    assert_eq!(
        cmpxchg8
            .call(&mut store, (0, 0x41, 0x99))
            .expect("cmpxchg8"),
        0x42
    );
    assert_eq!(load.call(&mut store, 0).expect("load") & 0xff, 0x42);
}

#[test]
fn out_of_bounds_rmw_loops_trap_on_a_guard_page_memory() {
    let (mut store, inst) = instantiate(ATOMICS);
    let and = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "and")
        .expect("and");
    let or8 = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "or8")
        .expect("or8");
    let xor64 = inst
        .get_typed_func::<(i32, i64), i64>(&mut store, "xor64")
        .expect("xor64");
    let xor64_off = inst
        .get_typed_func::<(i32, i64), i64>(&mut store, "xor64_off")
        .expect("xor64_off");
    assert_eq!(and.call(&mut store, (65532, 0)).expect("last word"), 0);
    let trap = match and.call(&mut store, (65536, 1)) {
        Err(Error::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    };
    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
    // The guard page faulted, so the trap says where, as wasmtime does.
    let fault = trap
        .fault()
        .expect("a guard-page fault records its address");
    assert_eq!(fault.wasm_address, 65536);
    assert_eq!(fault.memory_size, 65536);
    assert_eq!(
        trap_code(or8.call(&mut store, (65536, 1))),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        trap_code(and.call(&mut store, (-4, 1))),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        trap_code(xor64_off.call(&mut store, (65528, 1))),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(xor64.call(&mut store, (65528, 1)).expect("in bounds"), 0);
    // The memory is unchanged by the trapping accesses and still usable.
    assert_eq!(xor64.call(&mut store, (65528, 1)).expect("in bounds"), 1);
}

#[test]
fn unaligned_atomics_trap_before_bounds() {
    let (mut store, inst) = instantiate(ATOMICS);
    let and = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "and")
        .expect("and");
    let and16 = inst
        .get_typed_func::<(i32, i64), i64>(&mut store, "and16_64")
        .expect("and16_64");
    let xor64_off = inst
        .get_typed_func::<(i32, i64), i64>(&mut store, "xor64_off")
        .expect("xor64_off");
    let wait64 = inst
        .get_typed_func::<(i32, i64, i64), i32>(&mut store, "wait64")
        .expect("wait64");
    let notify = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "notify")
        .expect("notify");
    assert_eq!(
        trap_code(and.call(&mut store, (2, 1))),
        TrapCode::HeapMisaligned
    );
    assert_eq!(
        trap_code(and16.call(&mut store, (1, 1))),
        TrapCode::HeapMisaligned
    );
    // Out of bounds and unaligned at once: alignment wins, as in the spec.
    assert_eq!(
        trap_code(and.call(&mut store, (65535, 1))),
        TrapCode::HeapMisaligned
    );
    // The static offset counts: 4 + 8 is not a multiple of 8.
    assert_eq!(
        trap_code(xor64_off.call(&mut store, (4, 1))),
        TrapCode::HeapMisaligned
    );
    assert_eq!(
        trap_code(wait64.call(&mut store, (4, 0, 0))),
        TrapCode::HeapMisaligned
    );
    assert_eq!(
        trap_code(notify.call(&mut store, (65531, 0))),
        TrapCode::HeapMisaligned
    );
    let err = and.call(&mut store, (2, 1)).expect_err("traps");
    assert!(err.to_string().contains("unaligned atomic"), "{err}");
}

const MEM64: &str = r#"(module
    (memory i64 1 2 shared)
    (func (export "and") (param i64 i32) (result i32)
        (i32.atomic.rmw.and (local.get 0) (local.get 1)))
    (func (export "xor8") (param i64 i64) (result i64)
        (i64.atomic.rmw8.xor_u offset=1 (local.get 0) (local.get 1)))
    (func (export "wait32") (param i64 i32 i64) (result i32)
        (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
    (func (export "notify") (param i64 i32) (result i32)
        (memory.atomic.notify (local.get 0) (local.get 1)))
)"#;

#[test]
fn out_of_bounds_rmw_loops_trap_on_an_explicitly_checked_memory64() {
    let (mut store, inst) = instantiate(MEM64);
    let and = inst
        .get_typed_func::<(i64, i32), i32>(&mut store, "and")
        .expect("and");
    let xor8 = inst
        .get_typed_func::<(i64, i64), i64>(&mut store, "xor8")
        .expect("xor8");
    let wait32 = inst
        .get_typed_func::<(i64, i32, i64), i32>(&mut store, "wait32")
        .expect("wait32");
    let notify = inst
        .get_typed_func::<(i64, i32), i32>(&mut store, "notify")
        .expect("notify");
    assert_eq!(and.call(&mut store, (65532, -1)).expect("last word"), 0);
    for index in [65536, 1 << 32, -4, i64::MIN] {
        assert_eq!(
            trap_code(and.call(&mut store, (index, 1))),
            TrapCode::MemoryOutOfBounds,
            "index {index:#x}"
        );
        assert_eq!(
            trap_code(wait32.call(&mut store, (index, 0, 0))),
            TrapCode::MemoryOutOfBounds,
            "index {index:#x}"
        );
        assert_eq!(
            trap_code(notify.call(&mut store, (index, 0))),
            TrapCode::MemoryOutOfBounds,
            "index {index:#x}"
        );
    }
    assert_eq!(xor8.call(&mut store, (65534, 3)).expect("last byte"), 0);
    assert_eq!(
        trap_code(xor8.call(&mut store, (65535, 3))),
        TrapCode::MemoryOutOfBounds
    );
    // index + offset wraps past 2^64: a trap, never a small address.
    assert_eq!(
        trap_code(xor8.call(&mut store, (-1, 3))),
        TrapCode::MemoryOutOfBounds
    );
    // An explicit check reports no fault address (as in wasmtime).
    match and.call(&mut store, (65536, 1)) {
        Err(Error::Trap(t)) => assert!(t.fault().is_none()),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(wait32.call(&mut store, (0, 1, 0)).expect("not-equal"), 1);
    assert_eq!(notify.call(&mut store, (0, 1)).expect("notify"), 0);
}

#[test]
fn wait_and_notify_results_on_a_shared_memory() {
    let (mut store, inst) = instantiate(ATOMICS);
    let store64 = inst
        .get_typed_func::<(i32, i64), ()>(&mut store, "store64")
        .expect("store64");
    let wait32 = inst
        .get_typed_func::<(i32, i32, i64), i32>(&mut store, "wait32")
        .expect("wait32");
    let wait64 = inst
        .get_typed_func::<(i32, i64, i64), i32>(&mut store, "wait64")
        .expect("wait64");
    let notify = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "notify")
        .expect("notify");
    store64
        .call(&mut store, (0, 0x0000_ffff_ffff_ffff))
        .expect("store");
    // The value differs: "not-equal" at once, whatever the timeout.
    assert_eq!(wait32.call(&mut store, (0, 0, -1)).expect("wait32"), 1);
    assert_eq!(wait64.call(&mut store, (0, 0, -1)).expect("wait64"), 1);
    // It matches, nothing can notify: "timed-out" after the timeout.
    assert_eq!(wait32.call(&mut store, (0, -1, 0)).expect("wait32"), 2);
    let start = Instant::now();
    let timeout = Duration::from_millis(20);
    let nanos = i64::try_from(timeout.as_nanos()).expect("fits");
    assert_eq!(
        wait64
            .call(&mut store, (0, 0x0000_ffff_ffff_ffff, nanos))
            .expect("wait64"),
        2
    );
    assert!(start.elapsed() >= timeout, "returned before the timeout");
    // An infinite timeout would never return: a trap saying so.
    let err = wait32.call(&mut store, (0, -1, -1)).expect_err("traps");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::AtomicWaitForever),
        "{err}"
    );
    assert!(err.to_string().contains("block forever"), "{err}");
    // No waiter exists in a single-threaded store.
    assert_eq!(notify.call(&mut store, (0, 0)).expect("notify"), 0);
    assert_eq!(notify.call(&mut store, (0, 10)).expect("notify"), 0);
    assert_eq!(
        trap_code(notify.call(&mut store, (65536, 0))),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        trap_code(wait32.call(&mut store, (65536, 0, 0))),
        TrapCode::MemoryOutOfBounds
    );
}

#[test]
fn wait_traps_on_an_unshared_memory_and_notify_works() {
    let (mut store, inst) = instantiate(
        r#"(module
            (memory 1 1)
            (func (export "wait32") (param i32 i32 i64) (result i32)
                (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
            (func (export "wait64") (param i32 i64 i64) (result i32)
                (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
            (func (export "notify") (param i32 i32) (result i32)
                (memory.atomic.notify (local.get 0) (local.get 1)))
            (func (export "add") (param i32 i32) (result i32)
                (i32.atomic.rmw.add (local.get 0) (local.get 1))))"#,
    );
    let wait32 = inst
        .get_typed_func::<(i32, i32, i64), i32>(&mut store, "wait32")
        .expect("wait32");
    let wait64 = inst
        .get_typed_func::<(i32, i64, i64), i32>(&mut store, "wait64")
        .expect("wait64");
    let notify = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "notify")
        .expect("notify");
    let add = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .expect("add");
    // Even a wait that would not block traps.
    let err = wait32.call(&mut store, (0, 1, 0)).expect_err("traps");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::AtomicWaitNonSharedMemory),
        "{err}"
    );
    assert!(err.to_string().contains("expected shared memory"), "{err}");
    assert_eq!(
        trap_code(wait64.call(&mut store, (0, 0, 0))),
        TrapCode::AtomicWaitNonSharedMemory
    );
    // Alignment and bounds come first.
    assert_eq!(
        trap_code(wait32.call(&mut store, (2, 0, 0))),
        TrapCode::HeapMisaligned
    );
    assert_eq!(
        trap_code(wait32.call(&mut store, (65536, 0, 0))),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(notify.call(&mut store, (0, 1)).expect("notify"), 0);
    // Atomic accesses work on unshared memories.
    assert_eq!(add.call(&mut store, (0, 5)).expect("add"), 0);
    assert_eq!(add.call(&mut store, (0, 5)).expect("add"), 5);
}

#[test]
fn shared_memory_grows_and_is_shared_by_instances_of_a_store() {
    let (mut store, inst) = instantiate(ATOMICS);
    let size = inst
        .get_typed_func::<(), i32>(&mut store, "size")
        .expect("size");
    let grow = inst
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .expect("grow");
    let and = inst
        .get_typed_func::<(i32, i32), i32>(&mut store, "and")
        .expect("and");
    assert_eq!(
        trap_code(and.call(&mut store, (65536, 1))),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(grow.call(&mut store, 1).expect("grow"), 1);
    assert_eq!(size.call(&mut store, ()).expect("size"), 2);
    // Past the maximum: -1.
    assert_eq!(grow.call(&mut store, 1).expect("grow"), -1);
    assert_eq!(and.call(&mut store, (65536, 1)).expect("now in bounds"), 0);

    let mem = inst.get_memory(&mut store, "mem").expect("exported");
    assert!(mem.ty(&store).is_shared());
    let engine = store.engine().clone();
    let importer = Module::new(
        &engine,
        r#"(module
            (import "env" "mem" (memory 1 2 shared))
            (func (export "add") (param i32 i32) (result i32)
                (i32.atomic.rmw.add (local.get 0) (local.get 1))))"#,
    )
    .expect("compiles");
    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "mem", mem).expect("defines");
    let other = linker
        .instantiate(&mut store, &importer)
        .expect("a shared memory satisfies a shared import");
    let add = other
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .expect("add");
    mem.data_mut(&mut store)[100..104].copy_from_slice(&7u32.to_le_bytes());
    assert_eq!(add.call(&mut store, (100, 3)).expect("add"), 7);
    assert_eq!(mem.data(&store)[100..104], 10u32.to_le_bytes());
}

#[test]
fn shared_and_unshared_memories_do_not_satisfy_each_other() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let shared = Memory::new(&mut store, MemoryType::shared(1, 2)).expect("shared memory");
    let unshared = Memory::new(&mut store, MemoryType::new(1, Some(2))).expect("memory");
    assert!(shared.ty(&store).is_shared());
    assert!(!unshared.ty(&store).is_shared());
    let wants_shared = Module::new(
        &engine,
        r#"(module (import "env" "m" (memory 1 2 shared)))"#,
    )
    .expect("ok");
    let wants_unshared =
        Module::new(&engine, r#"(module (import "env" "m" (memory 1 2)))"#).expect("ok");
    let link = |store: &mut Store<()>, module: &Module, memory: Memory| {
        let mut linker = Linker::new(&engine);
        linker.define(store, "env", "m", memory).expect("defines");
        linker.instantiate(store, module)
    };
    assert!(link(&mut store, &wants_shared, shared).is_ok());
    assert!(link(&mut store, &wants_unshared, unshared).is_ok());
    let err = link(&mut store, &wants_shared, unshared).expect_err("incompatible");
    assert!(matches!(err, Error::Link(_)), "{err}");
    let err = link(&mut store, &wants_unshared, shared).expect_err("incompatible");
    assert!(matches!(err, Error::Link(_)), "{err}");
}

#[test]
fn shared_memories_need_a_maximum_and_the_threads_feature() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let no_max = MemoryType {
        shared: true,
        ..MemoryType::new(1, None)
    };
    assert!(matches!(
        Memory::new(&mut store, no_max),
        Err(Error::Type(_))
    ));

    let mut config = Config::default();
    config.wasm_features(config.features() - WasmFeatures::THREADS);
    let engine = Engine::new(&config).expect("engine");
    let mut store = Store::new(&engine, ());
    assert!(matches!(
        Memory::new(&mut store, MemoryType::shared(1, 1)),
        Err(Error::Unsupported(_))
    ));
    // Without threads, a shared memory or an atomic operator is invalid.
    for wat in [
        "(module (memory 1 1 shared))",
        "(module (memory 1) (func (drop (i32.atomic.load (i32.const 0)))))",
    ] {
        assert!(
            matches!(Module::new(&engine, wat), Err(Error::Compile(_))),
            "{wat}"
        );
    }
    // Nor do the wasm 1.0/2.0 presets have it.
    for config in [Config::wasm_v1(), Config::wasm_v2()] {
        assert!(!config.features().contains(WasmFeatures::THREADS));
    }
    assert!(Config::default().features().contains(WasmFeatures::THREADS));
}

#[test]
fn an_epoch_deadline_ends_a_long_wait() {
    let mut config = Config::default();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "tick" (func $tick))
            (memory 1 1 shared)
            (func (export "wait") (param i64) (result i32)
                ;; The entry's epoch check passes; the tick then reaches
                ;; the deadline while the wait sleeps.
                (call $tick)
                (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get 0))))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "tick", |caller: ringwasm_jit::Caller<'_, ()>| {
            caller.engine().increment_epoch();
        })
        .expect("defines");
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let wait = inst
        .get_typed_func::<i64, i32>(&mut store, "wait")
        .expect("wait");
    // Without a deadline the wait times out as usual.
    assert_eq!(wait.call(&mut store, 1_000).expect("times out"), 2);
    store.set_epoch_deadline(1);
    let start = Instant::now();
    let an_hour = 3_600_000_000_000;
    assert_eq!(
        trap_code(wait.call(&mut store, an_hour)),
        TrapCode::Interrupt
    );
    assert!(start.elapsed() < Duration::from_secs(60), "slept on");
}

/// Builds `jit/tests/guests/<name>.c` as the C file's comment says, or
/// says why it cannot.
fn build_c_guest(name: &str, out: &std::path::Path) -> Option<std::path::PathBuf> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guests")
        .join(format!("{name}.c"));
    let wasm = out.join(format!("{name}.wasm"));
    let status = std::process::Command::new("clang-14")
        .args([
            "--target=wasm32",
            "-O2",
            "-nostdlib",
            "-matomics",
            "-mbulk-memory",
            "-Wl,--no-entry",
            "-Wl,--shared-memory",
            "-Wl,--max-memory=131072",
            "-o",
        ])
        .arg(&wasm)
        .arg(&src)
        .status();
    match status {
        Ok(s) if s.success() => Some(wasm),
        Ok(s) => panic!("clang-14 failed on {} ({s})", src.display()),
        Err(e) => {
            eprintln!("skipping {name}: clang-14 is not runnable ({e}); scripts/test installs it");
            None
        }
    }
}

#[test]
fn c11_atomics_from_clang_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(wasm) = build_c_guest("c11_atomics", dir.path()) else {
        return;
    };
    let engine = Engine::default();
    let module = Module::from_file(&engine, &wasm).expect("clang's module compiles");
    let memory = module
        .exports()
        .find_map(|e| match e.ty() {
            ringwasm_jit::ExternType::Memory(m) => Some(m),
            _ => None,
        })
        .expect("the module exports its memory");
    assert!(memory.is_shared(), "-Wl,--shared-memory makes it shared");
    let mut store = Store::new(&engine, ());
    let inst = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = inst
        .get_typed_func::<u32, u64>(&mut store, "run")
        .expect("run");
    let n = 1000u32;
    let counter = u64::from(3 * n);
    let wide = (0..u64::from(n)).fold(0u64, |acc, i| acc ^ (i << 32));
    let half = u64::from(0xffffu16.wrapping_sub(n as u16)) << 48;
    assert_eq!(
        run.call(&mut store, n).expect("runs"),
        counter.wrapping_add(wide).wrapping_add(half)
    );
}
