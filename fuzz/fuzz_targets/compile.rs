//! Any bytes, and any `wasm-smith` module, through `Module::new`: an `Err`
//! is fine, a panic or a crash is the bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringwasm_jit::Engine;
use ringwasm_tests::fuzz;

fuzz_target!(|data: &[u8]| {
    let engine = Engine::default();
    fuzz::compile(&engine, data);
    if let Some(module) = fuzz::smith_module(data) {
        assert!(fuzz::compile(&engine, &module), "ringwasm rejects a valid wasm-smith module");
    }
});
