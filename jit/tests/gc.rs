//! The GC proposal beyond the spec suite: the GC heap limit, values crossing
//! the host boundary, canonical types across modules, and a guest that
//! allocates a lot.
#![forbid(unsafe_code)]

use ringwasm_jit::{
    AnyRef, AnyRefKind, Config, Engine, Error, ExternRef, Global, GlobalType, HeapType, Instance,
    Module, Mutability, RefType, Store, Table, TableType, TrapCode, Val, ValType,
};

fn call(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Error> {
    let func = instance.get_func(&mut *store, name).expect("exported");
    let n = func.ty(&*store).results().len();
    let mut results = vec![Val::I32(0); n];
    func.call(&mut *store, args, &mut results)?;
    Ok(results)
}

fn instantiate(engine: &Engine, store: &mut Store<()>, wat: &str) -> Instance {
    let module = Module::new(engine, wat).expect("compiles");
    Instance::new(store, &module, &[]).expect("instantiates")
}

const ALLOCATOR: &str = r#"(module
    (type $bytes (array (mut i8)))
    (global $keep (mut (ref null $bytes)) (ref.null $bytes))
    (func (export "alloc") (param $n i32) (param $size i32)
        (loop $l
            (global.set $keep (array.new_default $bytes (local.get $size)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $l (local.get $n))))
    (func (export "huge") (result i32)
        (array.len (array.new_default $bytes (i32.const -1))))
    (func (export "small") (result i32)
        (array.len (array.new_default $bytes (i32.const 3)))))"#;

#[test]
fn allocating_past_the_gc_heap_limit_is_a_clean_trap() {
    let mut config = Config::new();
    config.max_gc_heap_bytes(1 << 20);
    let engine = Engine::new(&config).expect("engine");
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&engine, &mut store, ALLOCATOR);
    // 100 arrays of 4 KiB fit in 1 MiB.
    call(
        &mut store,
        &instance,
        "alloc",
        &[Val::I32(100), Val::I32(4096)],
    )
    .expect("fits");
    assert!(store.gc_heap_bytes() >= 100 * 4096);
    // 1000 more do not.
    let err = call(
        &mut store,
        &instance,
        "alloc",
        &[Val::I32(1000), Val::I32(4096)],
    )
    .expect_err("past the limit");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::GcHeapOutOfMemory),
        "{err}"
    );
    assert!(err.to_string().contains("GC heap out of memory"), "{err}");
    assert!(store.gc_heap_bytes() <= 1 << 20);
    // A 4 GiB array under the default limit: a trap, not an abort.
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&engine, &mut store, ALLOCATOR);
    let err = call(&mut store, &instance, "huge", &[]).expect_err("too large");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::GcHeapOutOfMemory),
        "{err}"
    );
    // The store still works after the trap.
    assert_eq!(
        call(&mut store, &instance, "small", &[]).expect("small"),
        [Val::I32(3)]
    );
}

#[test]
fn gc_values_round_trip_through_the_host() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(
        &engine,
        &mut store,
        r#"(module
            (type $pt (struct (field $x i32) (field $y (mut i64)) (field $tag i8)))
            (type $vec (array (mut f64)))
            (func (export "point") (result (ref $pt))
                (struct.new $pt (i32.const 3) (i64.const -4) (i32.const 200)))
            (func (export "vec") (result (ref $vec))
                (array.new_fixed $vec 2 (f64.const 1.5) (f64.const -2)))
            (func (export "x") (param (ref $pt)) (result i32) (struct.get $pt $x (local.get 0)))
            (func (export "id") (param anyref) (result anyref) (local.get 0))
            (func (export "i31") (param i32) (result i31ref) (ref.i31 (local.get 0)))
            (func (export "eq") (param eqref eqref) (result i32)
                (ref.eq (local.get 0) (local.get 1)))
            (func (export "internalize") (param externref) (result anyref)
                (any.convert_extern (local.get 0)))
            (func (export "externalize") (param anyref) (result externref)
                (extern.convert_any (local.get 0)))
            (func (export "is_struct") (param anyref) (result i32)
                (ref.test (ref struct) (local.get 0))))"#,
    );

    // A struct made by the guest, read by the host.
    let [Val::AnyRef(Some(point))] = call(&mut store, &instance, "point", &[]).expect("point")[..]
    else {
        panic!("expected a struct");
    };
    assert!(matches!(point.kind(&store), Some(AnyRefKind::Struct(_))));
    assert_eq!(point.struct_field(&store, 0), Some(Val::I32(3)));
    assert_eq!(point.struct_field(&store, 1), Some(Val::I64(-4)));
    // Packed fields read back zero-extended.
    assert_eq!(point.struct_field(&store, 2), Some(Val::I32(200)));
    assert_eq!(point.struct_field(&store, 3), None);
    assert_eq!(point.array_len(&store), None);
    // ... and passed back in as `(ref $pt)`.
    assert_eq!(
        call(&mut store, &instance, "x", &[Val::AnyRef(Some(point))]).expect("x"),
        [Val::I32(3)]
    );

    // An array.
    let [Val::AnyRef(Some(vec))] = call(&mut store, &instance, "vec", &[]).expect("vec")[..] else {
        panic!("expected an array");
    };
    assert_eq!(vec.array_len(&store), Some(2));
    assert_eq!(vec.array_get(&store, 1), Some(Val::F64((-2f64).to_bits())));
    assert_eq!(vec.array_get(&store, 2), None);
    // An array is not a `(ref $pt)`: a type error, not a crash.
    let err = call(&mut store, &instance, "x", &[Val::AnyRef(Some(vec))]).expect_err("not $pt");
    assert!(matches!(err, Error::Type(_)), "{err}");

    // i31 both ways.
    let [Val::AnyRef(Some(i))] =
        call(&mut store, &instance, "i31", &[Val::I32(-5)]).expect("i31")[..]
    else {
        panic!("expected an i31");
    };
    assert_eq!(i.i31_s(), Some(-5));
    assert_eq!(i.i31_u(), Some(0x7fff_fffb));
    let host_i31 = AnyRef::from_i31(&store, -5);
    assert_eq!(
        call(
            &mut store,
            &instance,
            "eq",
            &[Val::AnyRef(Some(i)), Val::AnyRef(Some(host_i31))]
        )
        .expect("eq"),
        [Val::I32(1)]
    );
    assert_eq!(
        call(&mut store, &instance, "id", &[Val::AnyRef(Some(point))]).expect("id"),
        [Val::AnyRef(Some(point))]
    );

    // externref -> anyref -> externref keeps the host value; the
    // internalised reference is `any`, not `eq` or `struct`.
    let host = ExternRef::new(&mut store, 0xbeef);
    let [Val::AnyRef(Some(inside))] = call(
        &mut store,
        &instance,
        "internalize",
        &[Val::ExternRef(Some(host))],
    )
    .expect("internalize")[..] else {
        panic!("expected an anyref");
    };
    assert_eq!(inside.kind(&store), Some(AnyRefKind::Host));
    assert_eq!(
        call(
            &mut store,
            &instance,
            "is_struct",
            &[Val::AnyRef(Some(inside))]
        )
        .expect("test"),
        [Val::I32(0)]
    );
    let [Val::ExternRef(Some(back))] = call(
        &mut store,
        &instance,
        "externalize",
        &[Val::AnyRef(Some(inside))],
    )
    .expect("externalize")[..] else {
        panic!("expected an externref");
    };
    assert_eq!(back, host);
    assert_eq!(back.payload(&store), Some(0xbeef));
    // A struct externalised has no host payload but comes back the same.
    let [Val::ExternRef(Some(ext))] = call(
        &mut store,
        &instance,
        "externalize",
        &[Val::AnyRef(Some(point))],
    )
    .expect("externalize")[..] else {
        panic!("expected an externref");
    };
    assert_eq!(ext.payload(&store), None);
    assert_eq!(ext.to_any(), point);
    assert_eq!(point.to_extern(), ext);
}

#[test]
fn host_globals_and_tables_hold_gc_values() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let i31 = AnyRef::from_i31(&store, 77);
    let eqref = RefType::new(true, HeapType::Eq);
    let global = Global::new(
        &mut store,
        GlobalType::new(ValType::Ref(eqref), Mutability::Var),
        Val::AnyRef(Some(i31)),
    )
    .expect("global");
    let table = Table::new(
        &mut store,
        TableType::new(RefType::ANYREF, 2, None),
        Val::AnyRef(None),
    )
    .expect("table");
    // A host reference is `any` but not `eq`.
    let host = ExternRef::new(&mut store, 1).to_any();
    assert!(global.set(&mut store, Val::AnyRef(Some(host))).is_err());
    table
        .set(&mut store, 1, Val::AnyRef(Some(host)))
        .expect("any holds a host reference");
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "g" (global $g (mut eqref)))
            (import "h" "t" (table 2 anyref))
            (func (export "get") (result i32)
                (i31.get_u (ref.cast (ref i31) (global.get $g))))
            (func (export "bump")
                (global.set $g (ref.i31 (i32.add (call 0) (i32.const 1)))))
            (func (export "host_is_eq") (result i32)
                (ref.test (ref eq) (table.get (i32.const 1)))))"#,
    )
    .expect("compiles");
    let instance =
        Instance::new(&mut store, &module, &[global.into(), table.into()]).expect("instantiates");
    assert_eq!(
        call(&mut store, &instance, "get", &[]).expect("get"),
        [Val::I32(77)]
    );
    call(&mut store, &instance, "bump", &[]).expect("bump");
    let Val::AnyRef(Some(v)) = global.get(&mut store) else {
        panic!("expected an i31");
    };
    assert_eq!(v.i31_s(), Some(78));
    assert_eq!(
        call(&mut store, &instance, "host_is_eq", &[]).expect("test"),
        [Val::I32(0)]
    );
    assert_eq!(table.get(&mut store, 1), Some(Val::AnyRef(Some(host))));
}

#[test]
fn equal_rec_groups_in_two_modules_are_one_type() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let types = r#"(rec (type $node (sub (struct (field i32) (field (ref null $node))))))
                   (type $leaf (sub final $node (struct (field i32) (field (ref null $node)))))"#;
    let maker = instantiate(
        &engine,
        &mut store,
        &format!(
            r#"(module {types}
                (func (export "leaf") (result anyref)
                    (struct.new $leaf (i32.const 9) (ref.null $node))))"#
        ),
    );
    let checker = instantiate(
        &engine,
        &mut store,
        &format!(
            r#"(module {types}
                (type $other (struct (field i32) (field (ref null $node))))
                (func (export "is_node") (param anyref) (result i32)
                    (ref.test (ref $node) (local.get 0)))
                (func (export "is_other") (param anyref) (result i32)
                    (ref.test (ref $other) (local.get 0)))
                (func (export "value") (param anyref) (result i32)
                    (struct.get $node 0 (ref.cast (ref $node) (local.get 0)))))"#
        ),
    );
    let leaf = call(&mut store, &maker, "leaf", &[]).expect("leaf");
    // The other module's `$leaf` is this module's, a subtype of `$node`.
    assert_eq!(
        call(&mut store, &checker, "is_node", &leaf).expect("test"),
        [Val::I32(1)]
    );
    assert_eq!(
        call(&mut store, &checker, "value", &leaf).expect("cast"),
        [Val::I32(9)]
    );
    // A structurally equal type outside the group is another type.
    assert_eq!(
        call(&mut store, &checker, "is_other", &leaf).expect("test"),
        [Val::I32(0)]
    );
}

#[test]
fn a_struct_heavy_guest_allocates_and_walks_a_long_list() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(
        &engine,
        &mut store,
        r#"(module
            (type $cell (struct (field $v i64) (field $next (ref null $cell))))
            (func $build (param $n i32) (result (ref null $cell))
                (local $list (ref null $cell))
                (block $done
                    (loop $l
                        (br_if $done (i32.eqz (local.get $n)))
                        (local.set $list
                            (struct.new $cell (i64.extend_i32_u (local.get $n)) (local.get $list)))
                        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                        (br $l)))
                (local.get $list))
            (func (export "sum") (param $n i32) (result i64)
                (local $c (ref null $cell)) (local $s i64)
                (local.set $c (call $build (local.get $n)))
                (block $end
                    (loop $l
                        (br_if $end (ref.is_null (local.get $c)))
                        (local.set $s
                            (i64.add (local.get $s) (struct.get $cell $v (local.get $c))))
                        (local.set $c (struct.get $cell $next (local.get $c)))
                        (br $l)))
                (local.get $s)))"#,
    );
    let n: i64 = 200_000;
    let before = store.gc_heap_bytes();
    assert_eq!(
        call(&mut store, &instance, "sum", &[Val::I32(n as i32)]).expect("sum"),
        [Val::I64(n * (n + 1) / 2)]
    );
    // Header, i64 and reference: 24 bytes a cell, all still held (no
    // collector).
    assert_eq!(store.gc_heap_bytes() - before, 24 * n as u64);
}

#[test]
fn casts_follow_declared_supertypes_at_every_depth() {
    // A chain of twelve struct types, each a subtype of the one before: the
    // first eight are checked inline from the supertype display, deeper ones
    // by the runtime.
    let mut types = String::from("(type $t0 (sub (struct (field i32))))\n");
    for i in 1..12 {
        types.push_str(&format!(
            "(type $t{i} (sub $t{} (struct (field i32))))\n",
            i - 1
        ));
    }
    // Another subtype of $t3; its own structure, since an identical
    // definition would be the same type as $t4.
    types.push_str("(type $other (sub $t3 (struct (field i32) (field i64))))\n");
    let mut funcs = String::new();
    for i in 0..12 {
        funcs.push_str(&format!(
            "(func (export \"is{i}\") (param anyref) (result i32) \
               (ref.test (ref $t{i}) (local.get 0)))\n"
        ));
        funcs.push_str(&format!(
            "(func (export \"new{i}\") (result anyref) (struct.new $t{i} (i32.const {i})))\n"
        ));
    }
    funcs.push_str(
        "(func (export \"new_other\") (result anyref) (struct.new $other (i32.const 99) (i64.const 0)))\n\
         (func (export \"is_other\") (param anyref) (result i32) \
           (ref.test (ref $other) (local.get 0)))\n",
    );
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&engine, &mut store, &format!("(module {types} {funcs})"));
    let other = call(&mut store, &instance, "new_other", &[]).expect("new");
    for made in 0..12 {
        let obj = call(&mut store, &instance, &format!("new{made}"), &[]).expect("new");
        for tested in 0..12 {
            let want = i32::from(tested <= made);
            assert_eq!(
                call(&mut store, &instance, &format!("is{tested}"), &obj).expect("test"),
                [Val::I32(want)],
                "an object of $t{made} tested against $t{tested}"
            );
        }
        assert_eq!(
            call(&mut store, &instance, "is_other", &obj).expect("test"),
            [Val::I32(0)]
        );
        // $other sits below $t3 only.
        let want = i32::from(made <= 3);
        assert_eq!(
            call(&mut store, &instance, &format!("is{made}"), &other).expect("test"),
            [Val::I32(want)],
            "$other tested against $t{made}"
        );
    }
}

#[test]
fn the_host_makes_structs_and_arrays_the_guest_reads() {
    use ringwasm_jit::{FieldType, StorageType};
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(
        &engine,
        &mut store,
        r#"(module
            (type $pair (struct (field i64) (field (mut i8))))
            (type $bytes (array (mut i8)))
            (func (export "second") (param (ref $pair)) (result i32)
                (struct.get_s $pair 1 (local.get 0)))
            (func (export "sum") (param (ref $bytes)) (result i32)
                (local $i i32) (local $s i32)
                (block $done
                    (loop $l
                        (br_if $done (i32.ge_u (local.get $i) (array.len (local.get 0))))
                        (local.set $s (i32.add (local.get $s)
                            (array.get_u $bytes (local.get 0) (local.get $i))))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br $l)))
                (local.get $s)))"#,
    );
    // The same types the module declares, by structure.
    let pair = engine.struct_type_id(&[
        FieldType {
            storage: StorageType::Val(ValType::I64),
            mutable: false,
        },
        FieldType {
            storage: StorageType::I8,
            mutable: true,
        },
    ]);
    let bytes = engine.array_type_id(FieldType {
        storage: StorageType::I8,
        mutable: true,
    });
    let p = AnyRef::new_struct(&mut store, pair, &[Val::I64(1), Val::I32(0xff)]).expect("struct");
    assert_eq!(
        call(&mut store, &instance, "second", &[Val::AnyRef(Some(p))]).expect("get"),
        [Val::I32(-1)]
    );
    let a = AnyRef::new_array(&mut store, bytes, Val::I32(3), 10).expect("array");
    assert_eq!(
        call(&mut store, &instance, "sum", &[Val::AnyRef(Some(a))]).expect("sum"),
        [Val::I32(30)]
    );
    // Wrong field values and wrong kinds of type are type errors.
    assert!(matches!(
        AnyRef::new_struct(&mut store, pair, &[Val::I32(1), Val::I32(2)]),
        Err(Error::Type(_))
    ));
    assert!(matches!(
        AnyRef::new_struct(&mut store, bytes, &[]),
        Err(Error::Type(_))
    ));
    // Past the limit: the trap, as in the guest.
    let err = AnyRef::new_array(&mut store, bytes, Val::I32(0), u32::MAX).expect_err("4 GiB");
    assert!(
        matches!(&err, Error::Trap(t) if t.code == TrapCode::GcHeapOutOfMemory),
        "{err}"
    );
}

#[test]
fn a_precompiled_gc_module_runs_in_another_engine() {
    let wat = r#"(module
        (type $a (sub (struct (field i32))))
        (type $b (sub $a (struct (field i32) (field i32))))
        (func (export "run") (param i32) (result i32)
            (struct.get $a 0
                (ref.cast (ref $a)
                    (any.convert_extern (extern.convert_any
                        (struct.new $b (local.get 0) (i32.const 1))))))))"#;
    let artefact = Module::new(&Engine::default(), wat)
        .expect("compiles")
        .serialize();
    let mut config = Config::new();
    config.allow_precompiled(true);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(&engine, &artefact).expect("loads");
    assert!(module.compiled_from_cache());
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    assert_eq!(
        call(&mut store, &instance, "run", &[Val::I32(41)]).expect("run"),
        [Val::I32(41)]
    );
}

#[test]
fn array_copy_within_one_array_moves_like_memmove() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(
        &engine,
        &mut store,
        r#"(module
            (type $v (array (mut v128)))
            (type $h (array (mut i16)))
            (func $v (param $dst i32) (param $src i32) (result i64)
                (local $a (ref $v)) (local $i i32) (local $sum i64)
                (local.set $a (array.new_default $v (i32.const 8)))
                (loop $fill
                    (array.set $v (local.get $a) (local.get $i)
                        (i64x2.splat (i64.extend_i32_u (local.get $i))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $fill (i32.lt_u (local.get $i) (i32.const 8))))
                (array.copy $v $v (local.get $a) (local.get $dst)
                    (local.get $a) (local.get $src) (i32.const 5))
                ;; The lanes as decimal digits, element 0 first.
                (local.set $i (i32.const 0))
                (loop $read
                    (local.set $sum (i64.add (i64.mul (local.get $sum) (i64.const 10))
                        (i64x2.extract_lane 1 (array.get $v (local.get $a) (local.get $i)))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $read (i32.lt_u (local.get $i) (i32.const 8))))
                (local.get $sum))
            (func (export "v_up") (result i64) (call $v (i32.const 3) (i32.const 1)))
            (func (export "v_down") (result i64) (call $v (i32.const 1) (i32.const 3)))
            (func (export "h") (result i32)
                (local $a (ref $h))
                (local.set $a (array.new_fixed $h 4
                    (i32.const 1) (i32.const 2) (i32.const -1) (i32.const 4)))
                (array.copy $h $h (local.get $a) (i32.const 1) (local.get $a) (i32.const 0) (i32.const 3))
                (i32.add (i32.mul (array.get_s $h (local.get $a) (i32.const 3)) (i32.const 100))
                    (array.get_u $h (local.get $a) (i32.const 2)))))"#,
    );
    // Elements 0..8 are 0..7; copying 5 from 1 to 3 gives 0 1 2 1 2 3 4 5.
    assert_eq!(
        call(&mut store, &instance, "v_up", &[]).expect("copy"),
        [Val::I64(1_212_345)]
    );
    // Copying 5 from 3 to 1 gives 0 3 4 5 6 7 6 7.
    assert_eq!(
        call(&mut store, &instance, "v_down", &[]).expect("copy"),
        [Val::I64(3_456_767)]
    );
    // [1, 2, -1, 4] -> [1, 1, 2, -1]: -1 * 100 + 2.
    assert_eq!(
        call(&mut store, &instance, "h", &[]).expect("copy"),
        [Val::I32(-98)]
    );
}

#[test]
fn heap_types_form_separate_hierarchies() {
    use HeapType as H;
    let engine = Engine::default();
    let s = H::ConcreteStruct(engine.struct_type_id(&[]));
    let below_any = [H::Eq, H::I31, H::Struct, H::Array, H::None, s];
    for t in below_any {
        assert!(t.matches(&H::Any), "{t} <: any");
        assert!(H::None.matches(&t), "none <: {t}");
        assert!(
            !t.matches(&H::Extern) && !t.matches(&H::Func),
            "{t} is not extern or func"
        );
        assert_eq!(t.top(), H::Any);
        assert_eq!(t.bottom(), H::None);
    }
    assert!(s.matches(&H::Struct) && s.matches(&H::Eq) && !s.matches(&H::Array));
    assert!(!H::Any.matches(&H::Eq) && !H::I31.matches(&H::Struct));
    assert!(H::NoFunc.matches(&H::Func) && !H::NoFunc.matches(&H::Any));
    assert!(H::NoExtern.matches(&H::Extern) && !H::Extern.matches(&H::Any));
    assert!(engine.heap_type_matches(&s, &s));
    assert!(engine.ref_type_matches(&RefType::new(false, s), &RefType::new(true, H::Struct)));
    assert!(!engine.ref_type_matches(&RefType::new(true, s), &RefType::new(false, s)));
}

/// A fixed xorshift stream so every run sees the same modules.
fn smith_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn generated_gc_modules_compile_and_run_or_trap() {
    let config = wasm_smith::Config {
        gc_enabled: true,
        reference_types_enabled: true,
        exceptions_enabled: false,
        threads_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        memory64_enabled: false,
        max_imports: 0,
        max_memory32_bytes: 1 << 20,
        max_type_size: 200,
        ..wasm_smith::Config::default()
    };
    let (mut modules, mut calls) = (0, 0);
    for seed in 0..SMITH_SEEDS {
        // An engine per module: each keeps its signatures' trampolines.
        let engine = Engine::default();
        let data = smith_bytes(seed, 16384);
        let mut u = arbitrary::Unstructured::new(&data);
        let Ok(mut module) = wasm_smith::Module::new(config.clone(), &mut u) else {
            continue;
        };
        if module.ensure_termination(1000).is_err() {
            continue;
        }
        let wasm = module.to_bytes();
        let module = Module::new(&engine, &wasm).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        modules += 1;
        let mut store = Store::new(&engine, ());
        let instance = match Instance::new(&mut store, &module, &[]) {
            Ok(i) => i,
            Err(Error::Trap(_)) => continue,
            Err(e) => panic!("seed {seed}: instantiate: {e}"),
        };
        for (name, ext) in instance.exports(&mut store) {
            let Some(f) = ext.into_func() else { continue };
            let ty = f.ty(&store);
            if !ty.params().iter().all(ValType::is_defaultable) {
                continue;
            }
            let params: Vec<Val> = ty.params().iter().map(|t| Val::default_for(*t)).collect();
            let mut results = vec![Val::I32(0); ty.results().len()];
            match f.call(&mut store, &params, &mut results) {
                Ok(()) | Err(Error::Trap(_)) => calls += 1,
                Err(e) => panic!("seed {seed}: call {name}: {e}"),
            }
        }
    }
    assert!(
        modules > SMITH_SEEDS / 2,
        "only {modules} modules generated"
    );
    assert!(calls > 0, "no export was called");
}

/// Modules the generated-module test tries.
const SMITH_SEEDS: u64 = 120;

#[test]
fn constant_expressions_build_arrays_of_every_width() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(
        &engine,
        &mut store,
        r#"(module
            (type $a (array (mut i16)))
            (type $v (array v128))
            (global $g (ref $a) (array.new $a (i32.const -3) (i32.const 100001)))
            (global $h (ref $v) (array.new $v (v128.const i64x2 5 6) (i32.const 1001)))
            (global $f (ref $a) (array.new_fixed $a 2 (i32.const 9) (i32.const -1)))
            (func (export "run") (result i32)
                (i32.add
                    (i32.add (array.get_s $a (global.get $g) (i32.const 100000))
                             (array.get_u $a (global.get $g) (i32.const 0)))
                    (i32.add (i32.wrap_i64 (i64x2.extract_lane 1
                                 (array.get $v (global.get $h) (i32.const 1000))))
                             (array.get_s $a (global.get $f) (i32.const 1))))))"#,
    );
    // -3 + 0xfffd + 6 - 1
    assert_eq!(
        call(&mut store, &instance, "run", &[]).expect("run"),
        [Val::I32(-3 + 0xfffd + 6 - 1)]
    );
}
