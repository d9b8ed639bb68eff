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
//! [`Func`]. The crate has three rooms:
//!
//! - `compile/`: `translate` (the translator, safe code) turns bodies into
//!   Cranelift IR through `func_env`, which alone knows the VMContext layout
//!   (`env`); `compile` itself compiles in parallel and links; `cache` is
//!   the code cache and `compile` artefact format.
//! - `runtime/`: the store and what it owns. `vmctx`, `memory`, `table`,
//!   `global` and `gc` (see `docs/design/gc.md`) hold runtime state, and
//!   `fiber` plus `signals` run guest code on coroutine stacks and turn
//!   faults into traps (see `docs/design/traps.md`); `async_call` runs
//!   guest work as a `Future` on a suspendable fiber ([`on_fiber`],
//!   [`Func::call_async`], [`AsyncCx::block_on`]; see
//!   `docs/design/async-calls.md`).
//! - `component/`: the component model (see `docs/design/components.md`),
//!   built on the other two and, like them, free of I/O.
//!
//! `module` (parse and validate a core module), `engine`, `types` and
//! `error` sit at the top, shared by the three rooms.
//!
//! `unsafe` lives only in `compile` (code memory and linking, not its
//! submodules), `runtime::{vmctx, memory, image, pool, signals, fiber, func,
//! exception}` (`image` and `pool` map copy-on-write memory images and
//! reset pooled memory slots; `exception` holds the throw libcall and its
//! frame walk); every other module is safe code.
#![deny(missing_docs)]

mod compile;
pub mod component;
#[forbid(unsafe_code)]
mod engine;
#[forbid(unsafe_code)]
mod error;
#[forbid(unsafe_code)]
mod module;
mod runtime;
#[forbid(unsafe_code)]
mod types;

pub use compile::translate;

pub use compile::cache::default_cache_dir;
pub use engine::{Config, Engine, OptLevel, WasmFeatures};
pub use error::{CompileError, Error, LinkError, Message, PoolError, PoolLimit};
pub use module::Module;
pub use runtime::async_call::{AsyncCx, FiberFuture, on_fiber};
pub use runtime::exception::ThrownException;
pub use runtime::func::{
    Caller, Func, HostFunc, HostReturn, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmTy,
};
pub use runtime::global::Global;
pub use runtime::instance::Instance;
pub use runtime::instance_pre::InstancePre;
pub use runtime::linker::Linker;
pub use runtime::memory_api::Memory;
pub use runtime::pool::{InstanceAllocationStrategy, PoolingAllocationConfig};
pub use runtime::store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use runtime::table::Table;
pub use runtime::tag::{Tag, TagType};
pub use runtime::trap::{
    FrameInfo, Trap, TrapCode, WASMTIME_BACKTRACE_MAX_FRAMES, WasmBacktrace, WasmFault,
    demangle_function_name,
};
pub use runtime::values::{AnyRef, AnyRefKind, Extern, ExternRef, Val};
pub use types::{
    CompositeKind, ExportType, ExternType, FieldType, FuncType, FuncTypeId, GlobalType, HeapType,
    ImportType, MemoryType, Mutability, RefType, StorageType, TableType, ValType,
};
