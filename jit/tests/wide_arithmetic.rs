//! The wide-arithmetic proposal end to end, against Rust's `u128`/`i128`
//! over edge values the spec script does not combine exhaustively, plus the
//! feature switch (on by default, as in wasmtime 49).
#![forbid(unsafe_code)]

use ringwasm_jit::{Config, Engine, Error, Linker, Module, Store, TypedFunc, WasmFeatures};

const WIDE: &str = r#"(module
    (func (export "add128") (param i64 i64 i64 i64) (result i64 i64)
        (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
    (func (export "sub128") (param i64 i64 i64 i64) (result i64 i64)
        (i64.sub128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
    (func (export "mul_wide_s") (param i64 i64) (result i64 i64)
        (i64.mul_wide_s (local.get 0) (local.get 1)))
    (func (export "mul_wide_u") (param i64 i64) (result i64 i64)
        (i64.mul_wide_u (local.get 0) (local.get 1)))
    ;; The results feed further arithmetic: both halves stay live across
    ;; another wide operation.
    (func (export "square_plus_one") (param i64) (result i64 i64)
        (i64.mul_wide_u (local.get 0) (local.get 0))
        (i64.const 1) (i64.const 0)
        (i64.add128))
)"#;

/// Edge values: zero, one, all ones, the sign boundary and mixed patterns.
const EDGES: [u64; 10] = [
    0,
    1,
    2,
    u64::MAX,
    u64::MAX - 1,
    i64::MAX as u64,
    i64::MIN as u64,
    0x8000_0000,
    0xffff_ffff,
    0x0123_4567_89ab_cdef,
];

type Quad = TypedFunc<(i64, i64, i64, i64), (i64, i64)>;
type Pair = TypedFunc<(i64, i64), (i64, i64)>;

struct Funcs {
    store: Store<()>,
    add: Quad,
    sub: Quad,
    mul_s: Pair,
    mul_u: Pair,
    square_plus_one: TypedFunc<i64, (i64, i64)>,
}

fn instantiate(engine: &Engine) -> Funcs {
    let module = Module::new(engine, WIDE).expect("module compiles");
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    Funcs {
        add: instance
            .get_typed_func(&mut store, "add128")
            .expect("add128"),
        sub: instance
            .get_typed_func(&mut store, "sub128")
            .expect("sub128"),
        mul_s: instance
            .get_typed_func(&mut store, "mul_wide_s")
            .expect("mul_wide_s"),
        mul_u: instance
            .get_typed_func(&mut store, "mul_wide_u")
            .expect("mul_wide_u"),
        square_plus_one: instance
            .get_typed_func(&mut store, "square_plus_one")
            .expect("square_plus_one"),
        store,
    }
}

fn join(lo: i64, hi: i64) -> u128 {
    u128::from(lo as u64) | (u128::from(hi as u64) << 64)
}

fn halves(v: u128) -> (i64, i64) {
    (v as u64 as i64, (v >> 64) as u64 as i64)
}

#[test]
fn add_and_sub_128_match_u128_wrapping_arithmetic() {
    let mut f = instantiate(&Engine::default());
    let mut checked = 0;
    for &a_lo in &EDGES {
        for &a_hi in &EDGES[..5] {
            for &b_lo in &EDGES {
                for &b_hi in &EDGES[..5] {
                    let a = join(a_lo as i64, a_hi as i64);
                    let b = join(b_lo as i64, b_hi as i64);
                    let args = (a_lo as i64, a_hi as i64, b_lo as i64, b_hi as i64);
                    let sum = f.add.call(&mut f.store, args).expect("add128");
                    assert_eq!(sum, halves(a.wrapping_add(b)), "{a:#x} + {b:#x}");
                    let diff = f.sub.call(&mut f.store, args).expect("sub128");
                    assert_eq!(diff, halves(a.wrapping_sub(b)), "{a:#x} - {b:#x}");
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 10 * 5 * 10 * 5);
}

#[test]
fn carries_and_borrows_cross_the_halves() {
    let mut f = instantiate(&Engine::default());
    // lo overflows into hi.
    assert_eq!(
        f.add.call(&mut f.store, (-1, 0, 1, 0)).expect("add"),
        (0, 1)
    );
    // The whole 128 bits wrap.
    assert_eq!(
        f.add.call(&mut f.store, (-1, -1, 1, 0)).expect("add"),
        (0, 0)
    );
    // lo borrows from hi.
    assert_eq!(
        f.sub.call(&mut f.store, (0, 1, 1, 0)).expect("sub"),
        (-1, 0)
    );
    assert_eq!(
        f.sub.call(&mut f.store, (0, 0, 1, 0)).expect("sub"),
        (-1, -1)
    );
}

#[test]
fn wide_multiplies_match_i128_and_u128_products() {
    let mut f = instantiate(&Engine::default());
    for &a in &EDGES {
        for &b in &EDGES {
            let unsigned = u128::from(a) * u128::from(b);
            let got = f
                .mul_u
                .call(&mut f.store, (a as i64, b as i64))
                .expect("mul_wide_u");
            assert_eq!(got, halves(unsigned), "{a:#x} *u {b:#x}");
            let signed = i128::from(a as i64) * i128::from(b as i64);
            let got = f
                .mul_s
                .call(&mut f.store, (a as i64, b as i64))
                .expect("mul_wide_s");
            assert_eq!(got, halves(signed as u128), "{a:#x} *s {b:#x}");
        }
    }
    // The one signed product that does not fit 127 bits plus sign:
    // i64::MIN * i64::MIN = 2^126.
    assert_eq!(
        f.mul_s
            .call(&mut f.store, (i64::MIN, i64::MIN))
            .expect("mul_wide_s"),
        (0, 1 << 62)
    );
}

#[test]
fn wide_results_chain_into_further_wide_operations() {
    let mut f = instantiate(&Engine::default());
    for &x in &EDGES {
        let want = (u128::from(x) * u128::from(x)).wrapping_add(1);
        assert_eq!(
            f.square_plus_one
                .call(&mut f.store, x as i64)
                .expect("square_plus_one"),
            halves(want),
            "{x:#x}^2 + 1"
        );
    }
}

#[test]
fn the_feature_is_on_by_default_and_can_be_turned_off() {
    assert!(
        Config::default()
            .features()
            .contains(WasmFeatures::WIDE_ARITHMETIC)
    );
    let mut config = Config::default();
    config.wasm_features(config.features() - WasmFeatures::WIDE_ARITHMETIC);
    let engine = Engine::new(&config).expect("engine");
    let err = Module::new(&engine, WIDE).expect_err("wide arithmetic is off");
    assert!(matches!(err, Error::Compile(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("wide arithmetic"), "{text}");
    assert!(text.contains("offset"), "{text}");
}
