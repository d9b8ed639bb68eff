//! `ringwasm-jit`: the engine. It validates WebAssembly with `wasmparser`,
//! translates each function to Cranelift IR, compiles in parallel, links the
//! code into executable memory and runs it on a coroutine stack, turning
//! hardware faults into [`Trap`]s.
//!
//! What it is not: it performs no I/O of its own and depends on no other crate
//! of ours, so the WASI host, the tools and embedders all sit above it.
//!
//! Where to start reading: the embedding API (`docs/design/embedding-api.md`)
//! is [`Engine`] → [`Module`] → [`Store`] → [`Linker`]/[`Instance`] →
//! [`Func`]. Underneath, `module` parses and validates, `translate` (the
//! translator, safe code) turns bodies into Cranelift IR through the
//! runtime's `func_env`, `compile` compiles in parallel and links, `vmctx`,
//! `memory`, `table`, `global` and `gc` (GC objects and type layouts, see
//! `docs/design/gc.md`) hold runtime state, and `fiber` plus
//! `signals` run guest code on coroutine stacks and turn faults into traps
//! (see `docs/design/traps.md`).
//!
//! `unsafe` lives only in `compile`, `vmctx`, `memory`, `signals`, `fiber`,
//! `func` and `exception` (the throw libcall and its frame walk); every
//! other module is safe code.
#![deny(missing_docs)]

#[forbid(unsafe_code)]
mod cache;
mod compile;
#[forbid(unsafe_code)]
mod engine;
#[forbid(unsafe_code)]
mod env;
#[forbid(unsafe_code)]
mod error;
mod exception;
mod fiber;
mod func;
#[forbid(unsafe_code)]
mod func_env;
#[forbid(unsafe_code)]
mod gc;
#[forbid(unsafe_code)]
mod global;
#[forbid(unsafe_code)]
mod instance;
#[forbid(unsafe_code)]
mod linker;
mod memory;
#[forbid(unsafe_code)]
mod memory_api;
#[forbid(unsafe_code)]
mod module;
mod signals;
#[forbid(unsafe_code)]
mod store;
#[forbid(unsafe_code)]
mod table;
#[forbid(unsafe_code)]
mod tag;
#[forbid(unsafe_code)]
pub mod translate;
#[forbid(unsafe_code)]
mod trap;
#[forbid(unsafe_code)]
mod types;
#[forbid(unsafe_code)]
mod values;
mod vmctx;

pub use cache::default_cache_dir;
pub use engine::{Config, Engine, OptLevel, WasmFeatures};
pub use error::{CompileError, Error, LinkError, Message};
pub use exception::ThrownException;
pub use func::{
    Caller, Func, HostFunc, HostReturn, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmTy,
};
pub use global::Global;
pub use instance::Instance;
pub use linker::Linker;
pub use memory_api::Memory;
pub use module::Module;
pub use store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use table::Table;
pub use tag::{Tag, TagType};
pub use trap::{
    FrameInfo, Trap, TrapCode, WASMTIME_BACKTRACE_MAX_FRAMES, WasmBacktrace, WasmFault,
    demangle_function_name,
};
pub use types::{
    CompositeKind, ExportType, ExternType, FieldType, FuncType, FuncTypeId, GlobalType, HeapType,
    ImportType, MemoryType, Mutability, RefType, StorageType, TableType, ValType,
};
pub use values::{AnyRef, AnyRefKind, Extern, ExternRef, Val};
