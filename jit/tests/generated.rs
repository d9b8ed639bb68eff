//! wasm-smith modules within wasm 2.0: every valid module compiles, and
//! instantiating it and calling its exports ends in a value or a trap,
//! never a crash or another kind of error.
#![forbid(unsafe_code)]

use arbitrary::Unstructured;
use ringwasm_jit::{Engine, Error, Extern, Instance, Module, Store, Val};

/// A fixed xorshift stream so every run sees the same modules.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
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

fn wasm2_config() -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: false,
        relaxed_simd_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        tail_call_enabled: false,
        threads_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        max_memories: 1,
        max_tables: 3,
        max_imports: 0,
        max_memory32_bytes: 1 << 20,
        ..wasm_smith::Config::default()
    }
}

fn run(engine: &Engine, wasm: &[u8]) -> Result<usize, String> {
    let module = Module::new(engine, wasm).map_err(|e| format!("compile: {e}"))?;
    let mut store = Store::new(engine, ());
    let instance = match Instance::new(&mut store, &module, &[]) {
        Ok(i) => i,
        Err(Error::Trap(_)) => return Ok(0),
        Err(e) => return Err(format!("instantiate: {e}")),
    };
    let mut calls = 0;
    for (_, ext) in instance.exports(&mut store) {
        let Extern::Func(f) = ext else { continue };
        let ty = f.ty(&store);
        let params: Vec<Val> = ty.params().iter().map(|t| Val::default_for(*t)).collect();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        match f.call(&mut store, &params, &mut results) {
            Ok(()) | Err(Error::Trap(_)) => calls += 1,
            Err(e) => return Err(format!("call: {e}")),
        }
    }
    Ok(calls)
}

#[test]
fn generated_modules_compile_and_run_or_trap() {
    let engine = Engine::default();
    let mut total_calls = 0;
    for seed in 0..60u64 {
        let data = bytes(seed, 8192);
        let mut u = Unstructured::new(&data);
        let Ok(mut module) = wasm_smith::Module::new(wasm2_config(), &mut u) else {
            continue;
        };
        if module.ensure_termination(1000).is_err() {
            continue;
        }
        let wasm = module.to_bytes();
        match run(&engine, &wasm) {
            Ok(n) => total_calls += n,
            Err(e) => panic!("seed {seed}: {e}"),
        }
    }
    assert!(
        total_calls > 0,
        "the generated modules exported something to call"
    );
}
