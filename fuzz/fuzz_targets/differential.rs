//! A `wasm-smith` module on ringwasm and on `wasmi`: results and
//! trap/no-trap of every exported function must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringwasm_tests::fuzz;

fuzz_target!(|data: &[u8]| {
    if let Err(disagreement) = fuzz::differential(data) {
        panic!("{disagreement}");
    }
});
