//! Typed function references end to end: the operators (`ref.as_non_null`,
//! `br_on_null`, `br_on_non_null`, `call_ref`, `return_call_ref`),
//! non-defaultable locals, tables and globals of `(ref $t)` type, and import
//! matching with reference subtyping.
#![forbid(unsafe_code)]

use ringwasm_jit::{
    Config, Engine, Error, Extern, FuncType, Global, GlobalType, HeapType, Instance, Linker,
    Module, Mutability, RefType, Store, Table, TableType, TrapCode, Val, ValType,
};

fn instantiate(engine: &Engine, store: &mut Store<()>, wat: &str) -> Result<Instance, Error> {
    let module = Module::new(engine, wat)?;
    Linker::new(engine).instantiate(store, &module)
}

fn run_i32(wat: &str, name: &str, arg: i32) -> Result<i32, Error> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&engine, &mut store, wat).expect("instantiates");
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, name)
        .expect("export");
    f.call(&mut store, arg)
}

fn is_trap(err: &Error, code: &TrapCode) -> bool {
    matches!(err, Error::Trap(t) if t.code == *code)
}

/// `$pick` returns `(ref.func $seven)` for a non-zero argument, else null.
const PICK: &str = r#"
    (type $t (func (result i32)))
    (elem declare func $seven)
    (func $seven (type $t) (i32.const 7))
    (func $pick (param i32) (result (ref null $t))
        (if (result (ref null $t)) (local.get 0)
            (then (ref.func $seven))
            (else (ref.null $t))))"#;

#[test]
fn ref_as_non_null_passes_a_reference_and_traps_on_null() {
    let wat = format!(
        r#"(module {PICK}
        (func (export "run") (param i32) (result i32)
            (call_ref $t (ref.as_non_null (call $pick (local.get 0))))))"#
    );
    assert_eq!(run_i32(&wat, "run", 1).expect("non-null"), 7);
    let err = run_i32(&wat, "run", 0).expect_err("null traps");
    assert!(is_trap(&err, &TrapCode::NullReference), "{err}");
    assert!(err.to_string().contains("null reference"), "{err}");
}

#[test]
fn br_on_null_branches_only_on_null() {
    let wat = format!(
        r#"(module {PICK}
        (func (export "run") (param i32) (result i32)
            (block $null
                (return (call_ref $t (br_on_null $null (call $pick (local.get 0))))))
            (i32.const -1)))"#
    );
    assert_eq!(run_i32(&wat, "run", 1).expect("non-null"), 7);
    assert_eq!(run_i32(&wat, "run", 0).expect("null"), -1);
}

#[test]
fn br_on_non_null_branches_with_the_reference() {
    let wat = format!(
        r#"(module {PICK}
        (func (export "run") (param i32) (result i32)
            (call_ref $t
                (block $some (result (ref $t))
                    (br_on_non_null $some (call $pick (local.get 0)))
                    (return (i32.const -1))))))"#
    );
    assert_eq!(run_i32(&wat, "run", 1).expect("non-null"), 7);
    assert_eq!(run_i32(&wat, "run", 0).expect("null"), -1);
}

#[test]
fn br_on_non_null_keeps_the_values_under_the_reference() {
    let wat = format!(
        r#"(module {PICK}
        (func (export "run") (param i32) (result i32)
            (block $some (result i32 (ref $t))
                (br_on_non_null $some (i32.const 100) (call $pick (local.get 0)))
                (return (i32.add (i32.const -1))))
            (call_ref $t)
            (i32.add)))"#
    );
    assert_eq!(run_i32(&wat, "run", 1).expect("non-null"), 107);
    assert_eq!(run_i32(&wat, "run", 0).expect("null"), 99);
}

#[test]
fn call_ref_of_null_traps_with_the_spec_message() {
    let wat = format!(
        r#"(module {PICK}
        (func (export "run") (param i32) (result i32)
            (call_ref $t (call $pick (local.get 0))))
        (func (export "tail") (param i32) (result i32)
            (return_call_ref $t (call $pick (local.get 0)))))"#
    );
    assert_eq!(run_i32(&wat, "run", 1).expect("call_ref"), 7);
    assert_eq!(run_i32(&wat, "tail", 1).expect("return_call_ref"), 7);
    for name in ["run", "tail"] {
        let err = run_i32(&wat, name, 0).expect_err("null traps");
        assert!(is_trap(&err, &TrapCode::NullFunctionReference), "{err}");
        assert!(err.to_string().contains("null function reference"), "{err}");
    }
}

#[test]
fn non_defaultable_locals_are_read_after_they_are_set() {
    let wat = r#"(module
        (type $t (func (param i32) (result i32)))
        (elem declare func $double $negate)
        (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
        (func $negate (type $t) (i32.sub (i32.const 0) (local.get 0)))
        (func (export "run") (param i32) (result i32)
            (local $f (ref $t))
            (local.set $f (ref.func $double))
            (if (i32.lt_s (local.get 0) (i32.const 0))
                (then (local.set $f (ref.func $negate))))
            (call_ref $t (local.get 0) (local.get $f))))"#;
    assert_eq!(run_i32(wat, "run", 21).expect("double"), 42);
    assert_eq!(run_i32(wat, "run", -5).expect("negate"), 5);
}

#[test]
fn reading_an_unset_non_defaultable_local_is_invalid() {
    let engine = Engine::default();
    let err = Module::new(
        &engine,
        r#"(module
            (type $t (func))
            (func (local $f (ref $t)) (call_ref $t (local.get $f))))"#,
    )
    .expect_err("invalid");
    assert!(matches!(err, Error::Compile { .. }), "{err}");
}

#[test]
fn non_nullable_table_is_filled_by_its_initialiser() {
    let wat = r#"(module
        (type $t (func (result i32)))
        (func $f (type $t) (i32.const 11))
        (table $tab (export "tab") 10 (ref $t) (ref.func $f))
        (func (export "run") (param i32) (result i32)
            (i32.add
                (call_indirect $tab (type $t) (local.get 0))
                (call_ref $t (table.get $tab (local.get 0))))))"#;
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&engine, &mut store, wat).expect("instantiates");
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    for i in 0..10 {
        assert_eq!(run.call(&mut store, i).expect("in bounds"), 22);
    }
    let err = run.call(&mut store, 10).expect_err("out of bounds");
    assert!(matches!(err, Error::Trap(_)), "{err}");

    let table = instance.get_table(&mut store, "tab").expect("table");
    let ty = table.ty(&store);
    assert!(!ty.element.nullable);
    let HeapType::ConcreteFunc(id) = ty.element.heap else {
        panic!("element type {:?} is not concrete", ty.element);
    };
    assert_eq!(
        engine.func_type(id),
        Some(FuncType::new([], [ValType::I32]))
    );
    // The host cannot store null in it.
    let err = table
        .set(&mut store, 0, Val::FuncRef(None))
        .expect_err("null into a non-nullable table");
    assert!(matches!(err, Error::Type(_)), "{err}");
    assert!(matches!(table.get(&store, 9), Some(Val::FuncRef(Some(_)))));
}

#[test]
fn typed_global_holds_a_function_and_checks_host_values() {
    let wat = r#"(module
        (type $t (func (result i32)))
        (type $u (func (param i32)))
        (func $f (export "f") (type $t) (i32.const 5))
        (func $g (export "g") (type $u))
        (global $gf (export "gf") (ref $t) (ref.func $f))
        (global $m (export "m") (mut (ref null $t)) (ref.null $t))
        (func (export "run") (param i32) (result i32)
            (global.set $m (global.get $gf))
            (call_ref $t (ref.as_non_null (global.get $m)))))"#;
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&engine, &mut store, wat).expect("instantiates");
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 0).expect("runs"), 5);

    let gf = instance.get_global(&mut store, "gf").expect("gf");
    let ty = gf.ty(&store);
    let t = engine.func_type_id(&FuncType::new([], [ValType::I32]));
    assert_eq!(
        ty.content,
        ValType::Ref(RefType::new(false, HeapType::ConcreteFunc(t)))
    );
    assert!(matches!(gf.get(&mut store), Val::FuncRef(Some(_))));

    let m = instance.get_global(&mut store, "m").expect("m");
    let g = instance.get_func(&mut store, "g").expect("g");
    let f = instance.get_func(&mut store, "f").expect("f");
    let err = m
        .set(&mut store, Val::FuncRef(Some(g)))
        .expect_err("a function of another type");
    assert!(matches!(err, Error::Type(_)), "{err}");
    m.set(&mut store, Val::FuncRef(None))
        .expect("null is allowed");
    m.set(&mut store, Val::FuncRef(Some(f))).expect("same type");

    let non_null = GlobalType::new(
        ValType::Ref(RefType::new(false, HeapType::ConcreteFunc(t))),
        Mutability::Const,
    );
    let err = Global::new(&mut store, non_null, Val::FuncRef(None)).expect_err("null");
    assert!(matches!(err, Error::Type(_)), "{err}");
    Global::new(&mut store, non_null, Val::FuncRef(Some(f))).expect("typed global");
}

/// The exporting module for the linking tests: `$t` is its second type, so
/// importers that declare it first check identity across type indices.
const EXPORTER: &str = r#"(module
    (type $pad (func (param f64)))
    (type $t (func (result i32)))
    (func $f (export "f") (type $t) (i32.const 3))
    (global (export "g") (ref $t) (ref.func $f))
    (global (export "gm") (mut (ref null $t)) (ref.null $t))
    (table (export "tab") 1 (ref null $t)))"#;

fn link(importer: &str) -> Result<Instance, Error> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let exporter = instantiate(&engine, &mut store, EXPORTER).expect("exporter");
    let mut linker = Linker::new(&engine);
    linker.instance(&mut store, "M", exporter)?;
    let module = Module::new(&engine, importer)?;
    linker.instantiate(&mut store, &module)
}

fn unlinkable(importer: &str) -> bool {
    matches!(link(importer), Err(Error::Link(_)))
}

#[test]
fn imports_match_by_reference_subtyping() {
    // An immutable `(ref $t)` global satisfies `(ref $t)`, `(ref null $t)`,
    // `(ref func)` and `funcref`.
    for ty in ["(ref $t)", "(ref null $t)", "(ref func)", "funcref"] {
        let importer = format!(
            r#"(module (type $t (func (result i32)))
                (global (import "M" "g") {ty}))"#
        );
        link(&importer).unwrap_or_else(|e| panic!("{ty}: {e}"));
    }
    // ... but not an unrelated signature, nor `externref`.
    for ty in ["(ref $u)", "(ref null $u)", "externref"] {
        let importer = format!(
            r#"(module (type $u (func (result i64)))
                (global (import "M" "g") {ty}))"#
        );
        assert!(unlinkable(&importer), "{ty} should not match");
    }
}

#[test]
fn mutable_globals_and_tables_match_only_their_exact_type() {
    let ok = r#"(module (type $t (func (result i32)))
        (global (import "M" "gm") (mut (ref null $t)))
        (table (import "M" "tab") 1 (ref null $t)))"#;
    link(ok).expect("exact types link");
    for import in [
        r#"(global (import "M" "gm") (mut funcref))"#,
        r#"(table (import "M" "tab") 1 funcref)"#,
        r#"(table (import "M" "tab") 1 (ref $t))"#,
    ] {
        let importer = format!(r#"(module (type $t (func (result i32))) {import})"#);
        assert!(unlinkable(&importer), "{import} should not match");
    }
}

#[test]
fn function_imports_match_signatures_with_typed_references() {
    // A function whose signature mentions `(ref $t)`: its type is the same
    // in both modules although `$t`'s index differs.
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let exporter = instantiate(
        &engine,
        &mut store,
        r#"(module
            (type $t (func (result i32)))
            (func $seven (type $t) (i32.const 7))
            (elem declare func $seven)
            (func (export "get") (result (ref $t)) (ref.func $seven)))"#,
    )
    .expect("exporter");
    let mut linker = Linker::new(&engine);
    linker
        .instance(&mut store, "M", exporter)
        .expect("registers");
    let importer = Module::new(
        &engine,
        r#"(module
            (type $pad (func))
            (type $t (func (result i32)))
            (import "M" "get" (func $get (result (ref $t))))
            (func (export "run") (param i32) (result i32)
                (call_ref $t (call $get))))"#,
    )
    .expect("importer");
    let instance = linker
        .instantiate(&mut store, &importer)
        .expect("same signature links");
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 0).expect("runs"), 7);

    // Without GC every function type is final: a signature returning
    // `(ref $t)` does not satisfy one returning `(ref null $t)`.
    let nullable = Module::new(
        &engine,
        r#"(module
            (type $t (func (result i32)))
            (import "M" "get" (func (result (ref null $t)))))"#,
    )
    .expect("importer");
    let err = linker
        .instantiate(&mut store, &nullable)
        .expect_err("different signature");
    assert!(matches!(err, Error::Link(_)), "{err}");
}

#[test]
fn host_table_of_typed_references_needs_a_typed_initialiser() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(
        &engine,
        &mut store,
        r#"(module (func (export "f") (result i32) (i32.const 1)))"#,
    )
    .expect("instantiates");
    let f = instance.get_func(&mut store, "f").expect("f");
    let t = engine.func_type_id(&f.ty(&store));
    let ty = TableType::new(RefType::new(false, HeapType::ConcreteFunc(t)), 2, None);
    let err = Table::new(&mut store, ty, Val::FuncRef(None)).expect_err("null");
    assert!(matches!(err, Error::Type(_)), "{err}");
    let table = Table::new(&mut store, ty, Val::FuncRef(Some(f))).expect("typed");
    assert!(matches!(table.get(&store, 1), Some(Val::FuncRef(Some(_)))));
    let mut linker = Linker::new(&engine);
    linker
        .define(&store, "host", "tab", Extern::Table(table))
        .expect("defines");
    let importer = Module::new(
        &engine,
        r#"(module
            (type $t (func (result i32)))
            (table (import "host" "tab") 2 (ref $t))
            (func (export "run") (param i32) (result i32)
                (call_indirect (type $t) (local.get 0))))"#,
    )
    .expect("importer");
    let instance = linker.instantiate(&mut store, &importer).expect("links");
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 1).expect("runs"), 1);
}

#[test]
fn wasm_v2_rejects_typed_references() {
    let engine = Engine::new(&Config::wasm_v2()).expect("engine");
    let err = Module::new(
        &engine,
        r#"(module (type $t (func)) (func (param (ref null $t))))"#,
    )
    .expect_err("typed references are wasm 3.0");
    assert!(matches!(err, Error::Compile { .. }), "{err}");
}

#[test]
fn recursion_groups_give_types_iso_recursive_identity() {
    // `$t1` and `$t2` of one group are both `(func)` but distinct types:
    // neither is the standalone `(func)`, and imports check the position.
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let exporter = instantiate(
        &engine,
        &mut store,
        r#"(module
            (rec (type $t1 (func)) (type $t2 (func)))
            (func (export "f1") (type $t1))
            (tag (export "tag") (type $t1)))"#,
    )
    .expect("a rec group of function types is accepted");
    let mut linker = Linker::new(&engine);
    linker
        .instance(&mut store, "M", exporter)
        .expect("registers");
    let import = |what: &str, ty: &str| {
        format!(
            r#"(module (rec (type $t1 (func)) (type $t2 (func))) (type $plain (func)) ({what} (import "M" "{}") (type {ty})))"#,
            if what == "func" { "f1" } else { "tag" }
        )
    };
    let mut instantiate_with = |wat: String| {
        let module = Module::new(&engine, wat).expect("importer compiles");
        linker.instantiate(&mut store, &module)
    };
    for what in ["func", "tag"] {
        instantiate_with(import(what, "$t1")).unwrap_or_else(|e| panic!("{what} $t1: {e}"));
        for ty in ["$t2", "$plain"] {
            let err = instantiate_with(import(what, ty)).expect_err("another type");
            assert!(matches!(err, Error::Link(_)), "{what} {ty}: {err}");
        }
    }
}

#[test]
fn call_indirect_compares_iso_recursive_types() {
    let wat = r#"(module
        (rec (type $t1 (func (result i32))) (type $t2 (func (result i32))))
        (type $plain (func (result i32)))
        (func $f (type $t1) (i32.const 1))
        (table funcref (elem $f))
        (func (export "as_t1") (param i32) (result i32)
            (call_indirect (type $t1) (local.get 0)))
        (func (export "as_t2") (param i32) (result i32)
            (call_indirect (type $t2) (local.get 0)))
        (func (export "as_plain") (param i32) (result i32)
            (call_indirect (type $plain) (local.get 0))))"#;
    assert_eq!(run_i32(wat, "as_t1", 0).expect("same type"), 1);
    for name in ["as_t2", "as_plain"] {
        let err = run_i32(wat, name, 0).expect_err("different type");
        assert!(is_trap(&err, &TrapCode::IndirectCallTypeMismatch), "{err}");
    }
}

#[test]
fn self_referential_function_type_runs() {
    // `$t` takes a reference to a function of its own type.
    let wat = r#"(module
        (type $t (func (param (ref null $t) i32) (result i32)))
        (elem declare func $count)
        (func $count (type $t)
            (if (result i32) (i32.eqz (local.get 1))
                (then (i32.const 0))
                (else (i32.add (i32.const 1)
                    (call_ref $t (local.get 0)
                        (i32.sub (local.get 1) (i32.const 1)) (local.get 0))))))
        (func (export "run") (param i32) (result i32)
            (call $count (ref.func $count) (local.get 0))))"#;
    assert_eq!(run_i32(wat, "run", 5).expect("runs"), 5);
}

#[test]
fn gc_types_and_instructions_compile_and_need_the_gc_feature() {
    let engine = Engine::default();
    let mut config = ringwasm_jit::Config::new();
    config.wasm_gc(false);
    let without_gc = Engine::new(&config).expect("an engine without GC");
    for wat in [
        "(module (type (struct (field i32))))",
        "(module (type $a (sub (func))) (type (sub $a (func))))",
        "(module (func (param anyref)))",
        "(module (func (result i32) (ref.test (ref func) (ref.null func))))",
    ] {
        Module::new(&engine, wat).expect(wat);
        let err = Module::new(&without_gc, wat).expect_err(wat);
        assert!(matches!(err, Error::Compile { .. }), "{wat}: {err}");
    }
}
