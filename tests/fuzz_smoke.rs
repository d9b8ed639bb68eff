//! A bounded, seeded robustness smoke test (the `cargo fuzz` targets in
//! `fuzz/` run the same checks without bounds):
//!
//! - random, mutated and `wasm-smith` bytes through `Module::new` never panic;
//! - `wasm-smith` modules agree with the `wasmi` interpreter on every
//!   exported function's results and on trap/no-trap.
#![forbid(unsafe_code)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ringwasm_jit as jit;
use ringwasm_tests::fuzz;

/// Bytes for one `wasm-smith` module.
fn seed_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rng.fill(&mut data[..]);
    data
}

fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    for _ in 0..rng.random_range(1..=4) {
        if bytes.is_empty() {
            bytes.push(rng.random());
            continue;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..4) {
            0 => bytes[at] = rng.random(),
            1 => bytes[at] ^= 1 << rng.random_range(0..8),
            2 => bytes.truncate(at),
            _ => bytes.insert(at, rng.random()),
        }
    }
}

#[test]
fn random_bytes_never_panic_the_compiler() {
    let engine = jit::Engine::default();
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    for i in 0..2000 {
        let len = rng.random_range(0..256);
        let mut bytes = seed_bytes(&mut rng, len);
        // Half of them look like a binary module, so decoding goes deeper.
        if i % 2 == 0 && bytes.len() >= 8 {
            bytes[..8].copy_from_slice(b"\0asm\x01\0\0\0");
        }
        fuzz::compile(&engine, &bytes);
    }
}

#[test]
fn mutated_modules_never_panic_the_compiler() {
    let engine = jit::Engine::default();
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    let mut accepted = 0;
    let mut generated = 0;
    for _ in 0..300 {
        let data = seed_bytes(&mut rng, 2048);
        let Some(module) = fuzz::smith_module(&data) else {
            continue;
        };
        generated += 1;
        if fuzz::compile(&engine, &module) {
            accepted += 1;
        }
        for _ in 0..8 {
            let mut mutated = module.clone();
            mutate(&mut rng, &mut mutated);
            fuzz::compile(&engine, &mutated);
        }
    }
    assert!(generated > 200, "wasm-smith built only {generated} modules");
    assert_eq!(
        accepted, generated,
        "ringwasm rejected valid wasm-smith modules"
    );
}

#[test]
fn smith_modules_agree_with_wasmi() {
    const CASES: usize = 1000;
    let mut rng = StdRng::seed_from_u64(0x5eed_0003);
    let mut disagreements = Vec::new();
    let mut total = fuzz::Compared::default();
    let mut instantiated = 0;
    for case in 0..CASES {
        let data = seed_bytes(&mut rng, 4096);
        match fuzz::differential(&data) {
            Ok(c) => {
                instantiated += usize::from(c.instantiated);
                total.calls += c.calls;
                total.returned += c.returned;
                total.state += c.state;
                total.v128 += c.v128;
            }
            Err(e) => disagreements.push(format!("case {case}: {e}")),
        }
    }
    println!(
        "{instantiated} modules instantiated, {} calls compared, {} returned, \
         {} memories and globals compared, {} v128 results compared",
        total.calls, total.returned, total.state, total.v128
    );
    assert!(
        disagreements.is_empty(),
        "{} of {CASES} modules disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // Not vacuous: most modules run, and calls both return and trap.
    assert!(
        instantiated > CASES / 2,
        "only {instantiated} modules instantiated"
    );
    assert!(
        total.returned > CASES / 10,
        "only {} calls returned",
        total.returned
    );
    assert!(total.calls > total.returned, "no call trapped");
    assert!(
        total.state > CASES / 10,
        "only {} memories and globals compared",
        total.state
    );
    assert!(total.v128 > 0, "no SIMD result was compared");
}

/// A small component with nested modules, lifts, lowers, resources and
/// strings: the seed that mutation starts from.
const SEED_COMPONENT: &str = r#"(component
  (import "host" (instance $h (export "f" (func (param "s" string) (result u32)))))
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (core func $drop (canon resource.drop $r))
  (core module $Libc
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64)))
  (core instance $libc (instantiate $Libc))
  (core func $f (canon lower (func $h "f") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (core module $M
    (import "h" "f" (func $f (param i32 i32) (result i32)))
    (import "r" "new" (func $new (param i32) (result i32)))
    (import "r" "drop" (func $drop (param i32)))
    (func (export "go") (param i32 i32) (result i32)
      (call $drop (call $new (i32.const 7)))
      (call $f (local.get 0) (local.get 1))))
  (core instance $m (instantiate $M
    (with "h" (instance (export "f" (func $f))))
    (with "r" (instance (export "new" (func $new)) (export "drop" (func $drop))))))
  (func (export "go") (param "s" string) (result u32)
    (canon lift (core func $m "go") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
)"#;

#[test]
fn mutated_components_never_panic() {
    let engine = jit::Engine::default();
    let seed = wat::parse_str(SEED_COMPONENT).expect("the seed assembles");
    assert!(fuzz::compile_component(&engine, &seed), "the seed compiles");
    let mut rng = StdRng::seed_from_u64(0x5eed_0c01);
    for _ in 0..600 {
        let mut bytes = seed.clone();
        mutate(&mut rng, &mut bytes);
        fuzz::compile_component(&engine, &bytes);
    }
}

#[test]
fn smith_components_never_panic() {
    let engine = jit::Engine::default();
    let mut rng = StdRng::seed_from_u64(0x5eed_0c02);
    let mut generated = 0;
    for _ in 0..60 {
        let data = seed_bytes(&mut rng, 4096);
        if let Some(c) = fuzz::smith_component(&data) {
            generated += 1;
            fuzz::compile_component(&engine, &c);
        }
    }
    assert!(
        generated >= 30,
        "wasm-smith made only {generated} components from 60 seeds"
    );
}
