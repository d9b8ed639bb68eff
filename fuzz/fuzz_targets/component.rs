//! Any bytes, and any `wasm-smith` component, through `Component::new` and
//! instantiation: an `Err` is fine, a panic or a crash is the bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringwasm_jit::Engine;
use ringwasm_tests::fuzz;

fuzz_target!(|data: &[u8]| {
    let engine = Engine::default();
    fuzz::compile_component(&engine, data);
    if let Some(component) = fuzz::smith_component(data) {
        fuzz::compile_component(&engine, &component);
    }
});
