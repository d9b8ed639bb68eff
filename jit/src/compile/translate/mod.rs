//! Wasm function bodies to Cranelift IR.
//!
//! [`translate_function`] validates one function body with wasmparser while
//! translating it with `cranelift-frontend`: the validator sees each operator
//! first, so the translator only ever handles well-typed code, and operand
//! types come from the validator's module resources.
//!
//! Everything that depends on the runtime (VMContext layout, memories,
//! tables, globals, calls, builtins) goes through the [`FuncEnvironment`]
//! trait that the runtime implements; this module never hard-codes an
//! address or an offset. Trap codes live in [`trap_codes`].
//!
//! Layout: `func.rs` drives the body (locals, the operator loop, the
//! [`wasmparser::VisitOperator`] impl that validates then dispatches);
//! operator families sit in `control.rs`, `numeric.rs`, `memory.rs`,
//! `call.rs`, `stack.rs`, `table.rs`, `reference.rs`, `simd.rs`,
//! `atomic.rs` (the threads proposal) and `wide.rs` (wide arithmetic).
//!
//! This module is safe Rust (`#[forbid(unsafe_code)]` on its declaration).

mod atomic;
mod call;
mod control;
mod environ;
mod exceptions;
mod func;
mod gc;
mod memory;
mod numeric;
mod reference;
mod simd;
mod stack;
mod table;
pub mod trap_codes;
mod wide;

#[cfg(test)]
mod tests;

pub use environ::gc_object;
pub use environ::{
    DataIndex, ElemIndex, EnvError, EnvResult, FuncEnvironment, FuncIndex, GcLayout, GlobalIndex,
    GlobalLocation, MemoryIndex, MemoryPlan, TableIndex, TagIndex, TypeIndex,
};
pub use func::translate_function;

/// Why a function body could not be translated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TranslateError {
    /// The body is malformed or invalid; the error carries its byte offset.
    #[error(transparent)]
    Invalid(#[from] wasmparser::BinaryReaderError),
    /// The operator is valid under the validator's features but the
    /// translator does not implement it (GC, shared-everything threads, ...).
    #[error("unsupported operator `{operator}` at offset {offset:#x}")]
    Unsupported {
        /// The operator's visitor name, e.g. `visit_v128_load`.
        operator: &'static str,
        /// Byte offset of the operator in the module.
        offset: u64,
    },
    /// The environment could not emit an operation.
    #[error("at offset {offset:#x}: {source}")]
    Env {
        /// Byte offset of the operator in the module.
        offset: u64,
        /// What the environment reported.
        source: EnvError,
    },
    /// A translator invariant was broken: a bug, please report.
    #[error("translator bug at offset {offset:#x}: {what}")]
    Unreachable {
        /// What went wrong.
        what: &'static str,
        /// Byte offset of the operator in the module.
        offset: u64,
    },
}
