//! Components end to end through the embedding API: instantiation,
//! lifting and lowering of every value type, resources, composition.

use ringwasm_jit::component::{Component, Linker, Val};
use ringwasm_jit::{Engine, Store};

fn engine() -> Engine {
    Engine::default()
}

#[test]
fn lifted_string_result() {
    let engine = engine();
    let c = Component::new(
        &engine,
        r#"(component
          (core module $M
            (memory (export "mem") 1)
            (func (export "f2") (result i32)
              (i32.store (i32.const 0) (i32.const 8))
              (i32.store (i32.const 4) (i32.const 14))
              (i64.store (i32.const 8) (i64.const 0xb8_ef_ba_98_e2_83_98_e2))
              (i32.store (i32.const 16) (i32.const 0xe3_b6_c3_8f))
              (i32.store16 (i32.const 20) (i32.const 0x84_83))
              (i32.const 0)))
          (core instance $m (instantiate $M))
          (func (export "f2") (result string) (canon lift (core func $m "f2") (memory (core memory $m "mem")))))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let inst = linker.instantiate(&mut store, &c).expect("instantiates");
    let f = inst.get_func(&mut store, "f2").expect("export");
    let mut out = [Val::Bool(false)];
    f.call(&mut store, &[], &mut out).expect("call");
    assert_eq!(out[0], Val::String("☃☺️öツ".into()));
}

#[test]
fn host_import_typed_round_trip() {
    let engine = engine();
    let c = Component::new(
        &engine,
        r#"(component
          (import "host" (instance $host
            (export "add" (func (param "a" u32) (param "b" u32) (result u32)))
            (export "greet" (func (param "name" string) (result string)))))
          (core module $Libc
            (memory (export "mem") 1)
            (global $next (mut i32) (i32.const 1024))
            (func (export "realloc") (param i32 i32 i32 i32) (result i32)
              (local $r i32)
              (local.set $r (global.get $next))
              (global.set $next (i32.add (global.get $next) (local.get 3)))
              (local.get $r)))
          (core instance $libc (instantiate $Libc))
          (core func $add (canon lower (func $host "add")))
          (core func $greet (canon lower (func $host "greet") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
          (core module $Main
            (import "host" "add" (func $add (param i32 i32) (result i32)))
            (import "host" "greet" (func $greet (param i32 i32 i32)))
            (import "libc" "mem" (memory 1))
            (func (export "run") (param i32) (result i32)
              (call $add (local.get 0) (i32.const 10)))
            (func (export "hello") (param i32 i32) (result i32)
              (call $greet (local.get 0) (local.get 1) (i32.const 16))
              (i32.const 16)))
          (core instance $main (instantiate $Main
            (with "host" (instance (export "add" (func $add)) (export "greet" (func $greet))))
            (with "libc" (instance $libc))))
          (func (export "run") (param "x" u32) (result u32) (canon lift (core func $main "run")))
          (func (export "hello") (param "n" string) (result string)
            (canon lift (core func $main "hello") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc")))))"#,
    )
    .expect("compiles");
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    let mut host = linker.instance("host").expect("instance");
    host.func_wrap(
        "add",
        |mut cx: ringwasm_jit::StoreContextMut<'_, u32>, (a, b): (u32, u32)| {
            *cx.data_mut() += 1;
            Ok((a + b,))
        },
    )
    .expect("define");
    host.func_wrap(
        "greet",
        |_cx: ringwasm_jit::StoreContextMut<'_, u32>, (n,): (String,)| {
            Ok((format!("hello, {n}!"),))
        },
    )
    .expect("define");
    let inst = linker.instantiate(&mut store, &c).expect("instantiates");
    let run = inst
        .get_func(&mut store, "run")
        .expect("export")
        .typed::<(u32,), (u32,)>(&mut store)
        .expect("types");
    assert_eq!(run.call(&mut store, (5,)).expect("call"), (15,));
    assert_eq!(*store.data(), 1);
    let hello = inst
        .get_func(&mut store, "hello")
        .expect("export")
        .typed::<(&str,), (String,)>(&mut store)
        .expect("types");
    assert_eq!(
        hello.call(&mut store, ("wasm",)).expect("call").0,
        "hello, wasm!"
    );
}

/// Every import must be defined, used or not, as wasmtime checks: a
/// component that imports a function it never lowers still fails to link
/// when the host lacks it, with wasmtime's causes.
#[test]
fn unused_imports_must_be_defined_too() {
    let engine = engine();
    let c = Component::new(
        &engine,
        r#"(component
          (import "foo:bar/baz@1.0.0" (instance (export "f" (func)) (export "g" (func))))
        )"#,
    )
    .expect("compiles");
    let mut linker: Linker<()> = Linker::new(&engine);
    let err = linker
        .instantiate_pre(&c)
        .err()
        .expect("an undefined import refuses to link");
    assert_eq!(
        err.to_string(),
        "component imports instance `foo:bar/baz@1.0.0`, but a matching implementation was not \
         found in the linker\ninstance export `f` has the wrong type\nfunction implementation is \
         missing"
    );
    // Semver: a host's 1.0.3 serves the import of 1.0.0; defining only `f`
    // leaves `g` missing.
    linker
        .instance("foo:bar/baz@1.0.3")
        .expect("instance")
        .func_wrap("f", |_: ringwasm_jit::StoreContextMut<'_, ()>, (): ()| {
            Ok(())
        })
        .expect("define f");
    let err = linker
        .instantiate_pre(&c)
        .err()
        .expect("g is still missing");
    assert!(
        err.to_string()
            .contains("instance export `g` has the wrong type"),
        "{err}"
    );
    linker
        .instance("foo:bar/baz@1.0.3")
        .expect("instance")
        .func_wrap("g", |_: ringwasm_jit::StoreContextMut<'_, ()>, (): ()| {
            Ok(())
        })
        .expect("define g");
    linker.instantiate_pre(&c).expect("both defined");
}
