//! Benchmark support: build guests, time them under ringwasm, wasmtime and
//! natively in one run, and write `docs/performance.md`.
#![forbid(unsafe_code)]
