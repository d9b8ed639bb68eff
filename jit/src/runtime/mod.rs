//! The runtime of core modules: the store and what it owns (instances,
//! memories, tables, globals, tags, GC objects, functions), and the code that
//! runs guests on coroutine stacks and turns their faults into traps, and
//! async calls (`fiber`, `async_call`) that suspend those stacks.
//!
//! `unsafe` lives only in `vmctx`, `memory`, `image` and `pool` (mapping
//! copy-on-write memory images, resetting pooled memory slots), `signals`,
//! `fiber`, `func`, `exception` (the throw libcall), `arch` (frame walking,
//! the throw stub and resume, the instruction cache; one file per
//! architecture) and `sys` (signal contexts; one file per OS); every other
//! module is safe code.

pub(crate) mod arch;
#[forbid(unsafe_code)]
pub(crate) mod async_call;
pub(crate) mod exception;
pub(crate) mod fiber;
pub(crate) mod func;
#[forbid(unsafe_code)]
pub(crate) mod gc;
#[forbid(unsafe_code)]
pub(crate) mod global;
pub(crate) mod image;
#[forbid(unsafe_code)]
pub(crate) mod instance;
#[forbid(unsafe_code)]
pub(crate) mod instance_pre;
#[forbid(unsafe_code)]
pub(crate) mod linker;
pub(crate) mod memory;
#[forbid(unsafe_code)]
pub(crate) mod memory_api;
pub(crate) mod pool;
pub(crate) mod signals;
#[forbid(unsafe_code)]
pub(crate) mod store;
pub(crate) mod sys;
#[forbid(unsafe_code)]
pub(crate) mod table;
#[forbid(unsafe_code)]
pub(crate) mod tag;
#[forbid(unsafe_code)]
pub(crate) mod trap;
#[forbid(unsafe_code)]
pub(crate) mod values;
pub(crate) mod vmctx;
