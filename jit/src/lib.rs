//! `ringwasm-jit`: the engine. It validates WebAssembly with `wasmparser`,
//! translates each function to Cranelift IR, compiles in parallel, links the
//! code into executable memory and runs it on a coroutine stack, turning
//! hardware faults into [`Trap`]s.
//!
//! What it is not: it performs no I/O of its own and depends on no other crate
//! of ours, so the WASI host, the tools and embedders all sit above it.
#![deny(missing_docs)]

#[forbid(unsafe_code)]
pub mod translate;
