//! Exception handling end to end: the final form (`try_table`, `throw`,
//! `throw_ref`) and the legacy form (`try`/`catch`/`catch_all`/`delegate`/
//! `rethrow`), across calls, host functions and the host boundary.
#![forbid(unsafe_code)]

use ringwasm_jit::{
    Caller, Engine, Error, Linker, Module, Store, Tag, TagType, ThrownException, Trap, TrapCode,
    Val, ValType,
};

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

fn call_i32(wat: &str, name: &str, arg: i32) -> Result<i32, Error> {
    let (mut store, instance) = instantiate(wat);
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, name)
        .expect("export");
    f.call(&mut store, arg)
}

#[test]
fn try_table_catches_by_tag_in_the_same_function() {
    let wat = r#"(module
        (tag $e (param i32))
        (func (export "run") (param i32) (result i32)
            (block $h (result i32)
                (try_table (catch $e $h)
                    (throw $e (i32.add (local.get 0) (i32.const 1))))
                (i32.const -1))))"#;
    assert_eq!(call_i32(wat, "run", 41).expect("caught"), 42);
}

#[test]
fn try_table_catches_across_calls_and_call_indirect() {
    let wat = r#"(module
        (tag $e (param i32))
        (table 1 funcref)
        (elem (i32.const 0) $thrower)
        (func $thrower (param i32) (result i32)
            (throw $e (i32.mul (local.get 0) (i32.const 2))))
        (func $middle (param i32) (result i32)
            (i32.add (call $thrower (local.get 0)) (i32.const 1000)))
        (func (export "direct") (param i32) (result i32)
            (block $h (result i32)
                (try_table (result i32) (catch $e $h)
                    (call $middle (local.get 0)))))
        (func (export "indirect") (param i32) (result i32)
            (block $h (result i32)
                (try_table (result i32) (catch $e $h)
                    (call_indirect (param i32) (result i32)
                        (local.get 0) (i32.const 0))))))"#;
    assert_eq!(call_i32(wat, "direct", 21).expect("caught"), 42);
    assert_eq!(call_i32(wat, "indirect", 4).expect("caught"), 8);
}

#[test]
fn catch_all_and_catch_ref_rethrow_with_throw_ref() {
    let wat = r#"(module
        (tag $a (param i32))
        (tag $b)
        (func $throw_a (param i32) (throw $a (local.get 0)))
        (func $throw_b (throw $b))
        (func $inner (param i32) (result i32)
            (block $h (result i32 exnref)
                (try_table (catch_ref $a $h)
                    (if (local.get 0) (then (call $throw_b)) (else (call $throw_a (i32.const 7)))))
                (return (i32.const -1)))
            (throw_ref))
        (func (export "run") (param i32) (result i32)
            (block $all
                (block $ha (result i32)
                    (try_table (catch $a $ha) (catch_all $all)
                        (drop (call $inner (local.get 0))))
                    (return (i32.const -2)))
                (return))
            (i32.const 99)))"#;
    // $inner catches $a with catch_ref and rethrows it; the outer catch $a gets 7.
    assert_eq!(call_i32(wat, "run", 0).expect("caught"), 7);
    // $b passes $inner's handler; the outer catch_all takes it.
    assert_eq!(call_i32(wat, "run", 1).expect("caught"), 99);
}

#[test]
fn payload_of_several_types_arrives_intact() {
    let wat = r#"(module
        (tag $e (param i32 i64 f32 f64 v128 externref))
        (func $thrower (param externref)
            (throw $e (i32.const -5) (i64.const 0x1234567890abcdef) (f32.const 1.5)
                (f64.const -2.25) (v128.const i64x2 11 22) (local.get 0)))
        (func (export "run") (param externref) (result i32 i64 f32 f64 i64 externref)
            (local $v v128)
            (block $h (result i32 i64 f32 f64 v128 externref)
                (try_table (catch $e $h) (call $thrower (local.get 0)))
                (unreachable))
            (local.set 0)
            (local.set $v)
            (i64x2.extract_lane 1 (local.get $v))
            (local.get 0)))"#;
    let (mut store, instance) = instantiate(wat);
    let run = instance.get_func(&mut store, "run").expect("export");
    let ext = ringwasm_jit::ExternRef::new(&mut store, 77);
    let mut results = [Val::I32(0); 6];
    run.call(&mut store, &[Val::ExternRef(Some(ext))], &mut results)
        .expect("caught");
    assert_eq!(results[0], Val::I32(-5));
    assert_eq!(results[1], Val::I64(0x1234567890abcdef));
    assert_eq!(results[2], Val::F32(1.5f32.to_bits()));
    assert_eq!(results[3], Val::F64((-2.25f64).to_bits()));
    assert_eq!(results[4], Val::I64(22));
    let Val::ExternRef(Some(back)) = results[5] else {
        panic!("externref payload lost: {:?}", results[5]);
    };
    assert_eq!(back.payload(&store), Some(77));
}

#[test]
fn uncaught_exception_is_an_error_naming_the_tag_with_a_backtrace() {
    let wat = r#"(module
        (tag $boom (export "boom") (param i32))
        (func $deep (param i32) (throw $boom (local.get 0)))
        (func (export "run") (param i32) (result i32)
            (call $deep (local.get 0))
            (i32.const 0)))"#;
    let (mut store, instance) = instantiate(wat);
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("export");
    let err = run.call(&mut store, 3).expect_err("uncaught");
    let Error::Trap(trap) = &err else {
        panic!("expected a trap, got {err:?}");
    };
    let thrown = trap.exception().expect("an exception");
    assert_eq!(thrown.tag_name(), Some("boom"));
    assert_eq!(thrown.values(&store), vec![Val::I32(3)]);
    let Some(ringwasm_jit::Extern::Tag(boom)) = instance.get_export(&mut store, "boom") else {
        panic!("tag export missing");
    };
    assert_eq!(thrown.tag(), boom);
    assert_eq!(boom.ty(&store).params(), &[ValType::I32]);
    assert!(matches!(trap.code(), TrapCode::Exception(_)));
    assert!(trap.to_string().contains("boom"), "{trap}");
    assert!(trap.backtrace.len() >= 2, "{trap}");
}

#[test]
fn host_function_throws_into_wasm() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "tag" (tag $e (param i32 f64)))
            (import "env" "fail" (func $fail (param i32)))
            (func (export "run") (param i32) (result i32)
                (block $h (result i32 f64)
                    (try_table (catch $e $h) (call $fail (local.get 0)))
                    (return (i32.const -1)))
                (drop)))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new([ValType::I32, ValType::F64])).expect("tag");
    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "tag", tag).expect("defined");
    linker
        .func_wrap(
            "env",
            "fail",
            move |caller: Caller<'_, ()>, x: i32| -> Result<(), Trap> {
                let thrown = ThrownException::new(&caller, tag, &[Val::I32(x * 3), Val::F64(0)])
                    .expect("values match");
                Err(Trap::throw(thrown))
            },
        )
        .expect("defined");
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = inst
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 14).expect("caught"), 42);
}

#[test]
fn exception_crosses_a_host_frame_only_through_the_host() {
    // wasm -> host -> wasm that throws: the inner entry returns Err to the
    // host, which returns it, and the outer wasm catches it.
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (tag $e (export "e") (param i32))
            (import "env" "reenter" (func $reenter (param i32)))
            (func (export "thrower") (param i32) (throw $e (local.get 0)))
            (func (export "run") (param i32) (result i32)
                (block $h (result i32)
                    (try_table (catch $e $h) (call $reenter (local.get 0)))
                    (i32.const -1))))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "reenter",
            |mut caller: Caller<'_, ()>, x: i32| -> Result<(), Trap> {
                let f = caller
                    .get_export("thrower")
                    .and_then(|e| e.into_func())
                    .expect("thrower");
                match f.call(&mut caller, &[Val::I32(x + 1)], &mut []) {
                    Err(Error::Trap(t)) => Err(*t),
                    other => panic!("expected an exception, got {other:?}"),
                }
            },
        )
        .expect("defined");
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = inst
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 41).expect("caught"), 42);
}

#[test]
fn deep_stack_of_frames_unwinds_to_the_handler() {
    let wat = r#"(module
        (tag $e (param i32))
        (func $rec (param i32) (result i32)
            (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 12345))))
            (i32.add (call $rec (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
        (func (export "run") (param i32) (result i32)
            (block $h (result i32)
                (try_table (result i32) (catch $e $h) (call $rec (local.get 0))))))"#;
    assert_eq!(call_i32(wat, "run", 5000).expect("caught"), 12345);
    // Nothing leaks between throws: run many in a row in one store.
    let (mut store, instance) = instantiate(wat);
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    for i in 0..2000 {
        assert_eq!(run.call(&mut store, i % 50).expect("caught"), 12345);
    }
}

#[test]
fn tag_identity_follows_imports_not_types() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let provider = Module::new(
        &engine,
        r#"(module
            (tag $e (export "e") (param i32))
            (func (export "throw") (param i32) (throw $e (local.get 0))))"#,
    )
    .expect("compiles");
    let p = Linker::new(&engine)
        .instantiate(&mut store, &provider)
        .expect("instantiates");
    let consumer = Module::new(
        &engine,
        r#"(module
            (import "p" "e" (tag $same (param i32)))
            (tag $other (param i32))
            (import "p" "throw" (func $throw (param i32)))
            (func (export "run") (param i32) (result i32)
                (block $s (result i32)
                    (block $o (result i32)
                        (try_table (catch $other $o) (catch $same $s)
                            (call $throw (local.get 0)))
                        (return (i32.const -1)))
                    (return (i32.const -2)))))"#,
    )
    .expect("compiles");
    let mut linker = Linker::new(&engine);
    linker.instance(&mut store, "p", p).expect("defined");
    let c = linker
        .instantiate(&mut store, &consumer)
        .expect("instantiates");
    let run = c
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 5).expect("caught"), 5);
}

const LEGACY: &str = r#"(module
    (tag $e1 (param i32))
    (tag $e2 (param i32))
    (func $throw1 (param i32) (throw $e1 (local.get 0)))
    (func $throw2 (param i32) (throw $e2 (local.get 0)))
    (func (export "catch_by_tag") (param i32) (result i32)
        try (result i32)
            (call $throw2 (local.get 0)) (i32.const -1)
        catch $e1 (i32.const 1) (i32.add)
        catch $e2 (i32.const 2) (i32.add)
        end)
    (func (export "catch_all") (param i32) (result i32)
        try (result i32)
            (call $throw1 (local.get 0)) (i32.const -1)
        catch_all (i32.const 77)
        end)
    (func (export "delegate_outer") (param i32) (result i32)
        try $outer (result i32)
            try (result i32)
                (call $throw1 (local.get 0)) (i32.const -1)
            delegate $outer
        catch $e1 (i32.const 1000) (i32.add)
        end)
    (func (export "delegate_to_caller") (param i32) (result i32)
        try (result i32)
            try (result i32)
                (call $throw1 (local.get 0)) (i32.const -1)
            delegate 1
        catch $e1 (drop) (i32.const -7)
        end)
    (func (export "rethrow") (param i32) (result i32)
        try (result i32)
            try (result i32)
                (call $throw1 (local.get 0)) (i32.const -1)
            catch $e1 (drop) (rethrow 0)
            end
        catch $e1 (i32.const 10) (i32.mul)
        end)
    (func (export "nested") (param i32) (result i32)
        try (result i32)
            try (result i32)
                (call $throw2 (local.get 0)) (i32.const -1)
            catch $e1 (i32.const -3) (i32.add)
            end
        catch $e2 (i32.const 3) (i32.add)
        end)
    (func (export "throw_in_catch") (param i32) (result i32)
        try (result i32)
            try (result i32)
                (call $throw1 (local.get 0)) (i32.const -1)
            catch $e1 (call $throw2) (i32.const -4)
            end
        catch $e2 (i32.const 5) (i32.add)
        end)
    (func (export "local_throw") (param i32) (result i32)
        try (result i32)
            (throw $e2 (local.get 0))
        catch $e2 (i32.const 8) (i32.add)
        end))"#;

#[test]
fn legacy_try_catch_delegate_rethrow() {
    assert_eq!(call_i32(LEGACY, "catch_by_tag", 40).expect("caught"), 42);
    assert_eq!(call_i32(LEGACY, "catch_all", 0).expect("caught"), 77);
    assert_eq!(call_i32(LEGACY, "delegate_outer", 1).expect("caught"), 1001);
    assert_eq!(call_i32(LEGACY, "rethrow", 4).expect("caught"), 40);
    assert_eq!(call_i32(LEGACY, "nested", 4).expect("caught"), 7);
    assert_eq!(call_i32(LEGACY, "throw_in_catch", 6).expect("caught"), 11);
    assert_eq!(call_i32(LEGACY, "local_throw", 34).expect("caught"), 42);
    let err = call_i32(LEGACY, "delegate_to_caller", 1).expect_err("delegated out");
    assert!(
        matches!(&err, Error::Trap(t) if t.exception().is_some()),
        "{err:?}"
    );
}

#[test]
fn exnref_kept_in_a_table_stays_valid_across_later_throws() {
    let wat = r#"(module
        (tag $e (param i32))
        (table $keep 1 exnref)
        (global $g (mut exnref) (ref.null exn))
        (func $throw (param i32) (throw $e (local.get 0)))
        (func $stash (param i32)
            (local $x exnref)
            (block $h (result i32 exnref)
                (try_table (catch_ref $e $h) (call $throw (local.get 0)))
                (return))
            (local.set $x)
            (drop)
            (table.set $keep (i32.const 0) (local.get $x))
            (global.set $g (local.get $x)))
        (func (export "run") (param i32) (result i32)
            (local $i i32)
            (call $stash (local.get 0))
            (loop $again
                (block $h (result i32)
                    (try_table (catch $e $h) (call $throw (local.get $i)))
                    (unreachable))
                (drop)
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $again (i32.lt_u (local.get $i) (i32.const 100))))
            (block $h (result i32)
                (try_table (catch $e $h)
                    (throw_ref (table.get $keep (i32.const 0))))
                (i32.const -1))
            (block $h2 (result i32)
                (try_table (catch $e $h2) (throw_ref (global.get $g)))
                (i32.const -1))
            (i32.add)))"#;
    assert_eq!(call_i32(wat, "run", 21).expect("caught"), 42);
}

#[test]
fn traps_are_not_caught_by_catch_all() {
    let wat = r#"(module
        (func $trap (unreachable))
        (func (export "run") (param i32) (result i32)
            (block $h
                (try_table (catch_all $h) (call $trap))
                (return (i32.const 1)))
            (i32.const 2)))"#;
    let err = call_i32(wat, "run", 0).expect_err("traps");
    assert!(
        matches!(&err, Error::Trap(t) if matches!(t.code(), TrapCode::Unreachable)),
        "{err:?}"
    );
}

#[test]
fn throw_ref_of_null_traps() {
    let wat = r#"(module
        (func (export "run") (param i32) (result i32)
            (throw_ref (ref.null exn))))"#;
    let err = call_i32(wat, "run", 0).expect_err("traps");
    assert!(
        matches!(&err, Error::Trap(t) if matches!(t.code(), TrapCode::NullReference)),
        "{err:?}"
    );
}

#[test]
fn legacy_catch_bodies_left_by_branches_still_work() {
    let wat = r#"(module
        (tag $e (param i32))
        (func $throw (param i32) (throw $e (local.get 0)))
        (func (export "run") (param i32) (result i32)
            (local $i i32) (local $sum i32)
            (loop $again
                block $out
                    try
                        (call $throw (local.get $i))
                    catch $e
                        (local.set $sum (i32.add (local.get $sum)))
                        (br_if $out (i32.and (local.get $i) (i32.const 1)))
                        (br $out)
                    end
                end
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $again (i32.lt_u (local.get $i) (local.get 0))))
            try (result i32)
                (call $throw (local.get $sum))
                (i32.const -1)
            catch $e
                (return)
            end))"#;
    assert_eq!(call_i32(wat, "run", 100).expect("caught"), 4950);
}

#[test]
fn handler_frame_is_intact_after_a_callee_with_stack_arguments() {
    // 20 parameters: most are passed on the stack, which the tail calling
    // convention's callee pops; the landing pad must still see the right
    // stack pointer (locals, further calls).
    let params =
        "(param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)";
    let args: String = (1..=20).map(|i| format!("(i64.const {i}) ")).collect();
    let wat = format!(
        r#"(module
        (tag $e (param i64))
        (func $many {params} (result i64)
            (throw $e (i64.add (local.get 0) (local.get 19))))
        (func $add (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
        (func (export "run") (param i32) (result i32)
            (local $before i64) (local $k i64)
            (local.set $before (i64.extend_i32_u (local.get 0)))
            (block $h (result i64)
                (try_table (result i64) (catch $e $h) (call $many {args})))
            (local.set $k)
            (i32.wrap_i64
                (call $add (call $add (local.get $k) (local.get $before))
                    (call $many2 {args}))))
        (func $many2 {params} (result i64) (local.get 10)))"#
    );
    // k = 1 + 20 = 21; before = 10; many2 returns its 11th argument, 11.
    assert_eq!(call_i32(&wat, "run", 10).expect("caught"), 42);
}

#[test]
fn call_ref_inside_try_table_is_covered() {
    // Typed function references are on by default.
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (type $t (func (param i32)))
            (tag $e (param i32))
            (elem declare func $thrower)
            (func $thrower (type $t) (throw $e (local.get 0)))
            (func (export "run") (param i32) (result i32)
                (block $h (result i32)
                    (try_table (catch $e $h)
                        (call_ref $t (local.get 0) (ref.func $thrower)))
                    (i32.const -1))))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let inst = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = inst
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 42).expect("caught"), 42);
}
