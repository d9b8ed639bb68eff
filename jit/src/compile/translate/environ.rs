//! The seam between the translator and the runtime: [`FuncEnvironment`].
//!
//! The translator knows wasm semantics and Cranelift; it knows nothing about
//! the VMContext layout, how memories and tables are represented, or where
//! builtins live. Every operation whose code depends on those decisions is
//! emitted by the environment through this trait.
//!
//! Conventions both sides rely on:
//!
//! * Every compiled function takes the callee's VMContext pointer as its first
//!   parameter ([`ir::ArgumentPurpose::VMContext`]); wasm parameters follow.
//!   Signatures returned by [`FuncEnvironment::func_signature`] and
//!   [`FuncEnvironment::type_signature`] include it.
//! * Multi-value functions may return more values than fit in registers:
//!   the ISA must be built with the Cranelift flag
//!   `enable_multi_ret_implicit_sret = true`, or compiling such a function
//!   fails with "Too many return values to fit in registers". Wasm-to-wasm
//!   signatures may use [`CallConv::Tail`] (as wasmtime does; the unit tests
//!   do) or the platform convention; host entry goes through an
//!   `extern "C"` trampoline either way.
//! * The translator passes the current function's VMContext value to every
//!   emitter (`vmctx`); it is the entry block's first parameter.
//! * A reference (`funcref`, `externref`, `anyref`, ...) is a pointer-sized
//!   value ([`FuncEnvironment::pointer_type`]); the null reference is `0`.
//!   GC objects follow the layout in [`gc_object`] and [`GcLayout`].
//! * Emitters that can trap use the codes in [`super::trap_codes`].

use cranelift_codegen::ir;
#[cfg(doc)]
use cranelift_codegen::isa::CallConv;
use cranelift_entity::entity_impl;
use cranelift_frontend::FunctionBuilder;

/// Index of a function in the module's function index space (imports first).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct FuncIndex(u32);
entity_impl!(FuncIndex);

/// Index of a type in the module's type section.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TypeIndex(u32);
entity_impl!(TypeIndex);

/// Index of a memory in the module's memory index space (imports first).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct MemoryIndex(u32);
entity_impl!(MemoryIndex);

/// Index of a table in the module's table index space (imports first).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TableIndex(u32);
entity_impl!(TableIndex);

/// Index of a global in the module's global index space (imports first).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct GlobalIndex(u32);
entity_impl!(GlobalIndex);

/// Index of a tag in the module's tag index space (imports first).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TagIndex(u32);
entity_impl!(TagIndex);

/// Index of a data segment.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct DataIndex(u32);
entity_impl!(DataIndex);

/// Index of an element segment.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ElemIndex(u32);
entity_impl!(ElemIndex);

/// How a linear memory is laid out in the host's address space: enough for the
/// translator to decide whether an access needs an explicit bounds check.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct MemoryPlan {
    /// `true` for a memory64 memory (addresses are `i64`), `false` for `i32`.
    pub memory64: bool,
    /// Bytes of address space reserved from the base, accessible or
    /// `PROT_NONE`, that never hold anything but this memory (4 GiB for the
    /// default 32-bit plan). The base never moves within a reservation.
    pub reserved_bytes: u64,
    /// `PROT_NONE` bytes directly after the reservation (2 GiB by default).
    pub guard_bytes: u64,
}

impl MemoryPlan {
    /// Whether an access of `access_size` bytes at static offset `offset` can
    /// rely on the guard region alone (no explicit bounds check): true when
    /// every index the memory type allows, plus `offset + access_size`, stays
    /// inside the reservation plus guard.
    pub fn covers(&self, offset: u64, access_size: u64) -> bool {
        if self.memory64 {
            return false;
        }
        let max_index: u64 = u64::from(u32::MAX);
        let Some(reach) = max_index
            .checked_add(offset)
            .and_then(|r| r.checked_add(access_size))
        else {
            return false;
        };
        let Some(limit) = self.reserved_bytes.checked_add(self.guard_bytes) else {
            return true;
        };
        reach <= limit
    }
}

/// Where a global lives: the translator loads and stores it at
/// `base + offset` with the global's wasm type.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct GlobalLocation {
    /// Pointer to the memory holding the global (often the vmctx itself).
    pub base: ir::Value,
    /// Byte offset from `base`.
    pub offset: i32,
}

/// How the runtime lays out objects of one struct or array type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcLayout {
    /// The engine-wide type id stored in each object's header.
    pub type_id: u32,
    /// Declared `final`: no subtypes, so a cast is one comparison.
    pub is_final: bool,
    /// A struct's field offsets from the object's address.
    pub field_offsets: Vec<u32>,
    /// A struct's size in bytes.
    pub size: u32,
    /// An array's element size in bytes.
    pub elem_size: u32,
}

/// Byte offsets of the GC object header (see the runtime's `gc.rs`).
pub mod gc_object {
    /// The engine-wide type id (`u32`).
    pub const TYPE_ID: i32 = 0;
    /// The kind (`u32`): [`KIND_STRUCT`] or [`KIND_ARRAY`].
    pub const KIND: i32 = 4;
    /// An array's length (`u32`).
    pub const ARRAY_LEN: i32 = 8;
    /// An array's first element.
    pub const ARRAY_DATA: u32 = 16;
    /// A struct's first field.
    pub const STRUCT_DATA: u32 = 8;
    /// Kind of a struct.
    pub const KIND_STRUCT: u32 = 1;
    /// Kind of an array.
    pub const KIND_ARRAY: u32 = 2;
}

/// Why the environment could not emit an operation.
#[derive(Copy, Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// The runtime does not implement this operation (yet).
    #[error("unsupported by the runtime: {0}")]
    Unsupported(&'static str),
}

/// Result of an environment emitter.
pub type EnvResult<T> = Result<T, EnvError>;

/// Everything the translator needs from the runtime to translate one function.
///
/// One value serves one function at a time; the runtime creates one per
/// compile worker. Emitters insert instructions at the builder's current
/// position and may create blocks, but must leave the builder in a block that
/// is not yet terminated (unless they emit a trap that ends the block, which
/// none of these do).
pub trait FuncEnvironment {
    /// The target's pointer type; also the type of every reference value.
    fn pointer_type(&self) -> ir::Type;

    /// The Cranelift signature of function `index`, vmctx first.
    fn func_signature(&self, index: FuncIndex) -> ir::Signature;

    /// The Cranelift signature of the function type `index`, vmctx first.
    fn type_signature(&self, index: TypeIndex) -> ir::Signature;

    /// Called once per function before any code is emitted: returns the
    /// global value Cranelift's prologue compares the stack pointer against
    /// (stored in `func.stack_limit`), typically a load from the vmctx
    /// global value. `None` disables the check.
    fn stack_limit(&mut self, func: &mut ir::Function) -> Option<ir::GlobalValue>;

    /// Emit an interruption (epoch) check. Called at function entry and at
    /// every loop header; emit nothing when epochs are disabled. The check
    /// traps with [`super::trap_codes::INTERRUPT`] or calls a builtin that
    /// may suspend.
    ///
    /// # Errors
    /// When the runtime cannot emit the check.
    fn emit_epoch_check(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
    ) -> EnvResult<()>;

    /// Layout of memory `index`.
    fn memory_plan(&self, index: MemoryIndex) -> MemoryPlan;

    /// The base address of memory `index` (pointer type). Called once per
    /// access: when the base never moves, load it with
    /// `MemFlagsData::trusted().with_readonly().with_can_move()` so Cranelift
    /// folds the repeated loads.
    ///
    /// # Errors
    /// When the runtime cannot emit the load.
    fn memory_base(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
    ) -> EnvResult<ir::Value>;

    /// The current length in bytes of memory `index` (pointer type); used for
    /// explicit bounds checks only.
    ///
    /// # Errors
    /// When the runtime cannot emit the load.
    fn memory_bound(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
    ) -> EnvResult<ir::Value>;

    /// Where global `index` lives.
    ///
    /// # Errors
    /// When the runtime cannot emit the address.
    fn global(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: GlobalIndex,
    ) -> EnvResult<GlobalLocation>;

    /// Emit a direct call to function `callee` (defined or imported) with the
    /// wasm arguments `args` (no vmctx: the environment supplies the callee's)
    /// and return its wasm results.
    ///
    /// # Errors
    /// When the runtime cannot emit the call.
    fn call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        callee: FuncIndex,
        args: &[ir::Value],
    ) -> EnvResult<Vec<ir::Value>>;

    /// Emit `call_indirect`: look `callee` (an `i32`, or `i64` for a table64)
    /// up in `table`, trap when out of bounds, null or of a type other than
    /// `ty`, call it with `args` and return its wasm results.
    ///
    /// # Errors
    /// When the runtime cannot emit the call.
    fn call_indirect(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        ty: TypeIndex,
        callee: ir::Value,
        args: &[ir::Value],
    ) -> EnvResult<Vec<ir::Value>>;

    /// Emit `return_call`: a tail call to function `callee` with `args`,
    /// ending the current block (Cranelift `return_call` or
    /// `return_call_indirect`; both need [`CallConv::Tail`] on caller and
    /// callee). The current frame is gone before the callee runs, so any
    /// depth of tail calls uses constant stack.
    ///
    /// # Errors
    /// When the runtime cannot emit the call (the default: tail calls
    /// unsupported).
    fn return_call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        callee: FuncIndex,
        args: &[ir::Value],
    ) -> EnvResult<()> {
        let _ = (builder, vmctx, callee, args);
        Err(EnvError::Unsupported("return_call"))
    }

    /// Emit `return_call_indirect`: the checks of
    /// [`FuncEnvironment::call_indirect`], then a tail call ending the block.
    ///
    /// # Errors
    /// When the runtime cannot emit the call (the default: tail calls
    /// unsupported).
    fn return_call_indirect(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        ty: TypeIndex,
        callee: ir::Value,
        args: &[ir::Value],
    ) -> EnvResult<()> {
        let _ = (builder, vmctx, table, ty, callee, args);
        Err(EnvError::Unsupported("return_call_indirect"))
    }

    /// Emit `call_ref`: trap with [`super::trap_codes::NULL_REFERENCE`]
    /// when `callee` (a function reference of type `ty`, already checked by
    /// validation) is null, else call it with `args` and return its results.
    ///
    /// # Errors
    /// When the runtime cannot emit the call (the default: typed function
    /// references unsupported).
    fn call_ref(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        ty: TypeIndex,
        callee: ir::Value,
        args: &[ir::Value],
    ) -> EnvResult<Vec<ir::Value>> {
        let _ = (builder, vmctx, ty, callee, args);
        Err(EnvError::Unsupported("call_ref"))
    }

    /// Emit `return_call_ref`: the null check of
    /// [`FuncEnvironment::call_ref`], then a tail call ending the block.
    ///
    /// # Errors
    /// When the runtime cannot emit the call (the default: typed function
    /// references unsupported).
    fn return_call_ref(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        ty: TypeIndex,
        callee: ir::Value,
        args: &[ir::Value],
    ) -> EnvResult<()> {
        let _ = (builder, vmctx, ty, callee, args);
        Err(EnvError::Unsupported("return_call_ref"))
    }

    /// `memory.size`: the size of memory `index` in pages (`i32`, or `i64`
    /// for memory64).
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn memory_size(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
    ) -> EnvResult<ir::Value>;

    /// `memory.grow`: grow memory `index` by `delta` pages, return the old
    /// size in pages or `-1`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn memory_grow(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
        delta: ir::Value,
    ) -> EnvResult<ir::Value>;

    /// `memory.atomic.wait32`/`wait64` on memory `index`: `addr` is the
    /// host address of the 4- or 8-byte value (the type of `expected`),
    /// already checked for alignment and bounds; `timeout` is an `i64` in
    /// nanoseconds, negative for none. Returns the `i32` result: 0 woken,
    /// 1 the value differed ("not-equal"), 2 timed out. Traps with
    /// [`super::trap_codes::ATOMIC_WAIT_NON_SHARED_MEMORY`] on a memory that
    /// is not shared.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation (the default: the
    /// threads proposal unsupported).
    fn atomic_wait(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
        addr: ir::Value,
        expected: ir::Value,
        timeout: ir::Value,
    ) -> EnvResult<ir::Value> {
        let _ = (builder, vmctx, index, addr, expected, timeout);
        Err(EnvError::Unsupported("memory.atomic.wait"))
    }

    /// `memory.atomic.notify` on memory `index`: wake at most `count`
    /// (`i32`, unsigned) waiters on the 4-byte value at host address `addr`
    /// (already checked for alignment and bounds) and return how many were
    /// woken (`i32`).
    ///
    /// # Errors
    /// When the runtime cannot emit the operation (the default: the
    /// threads proposal unsupported).
    fn atomic_notify(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
        addr: ir::Value,
        count: ir::Value,
    ) -> EnvResult<ir::Value> {
        let _ = (builder, vmctx, index, addr, count);
        Err(EnvError::Unsupported("memory.atomic.notify"))
    }

    /// `memory.fill`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn memory_fill(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
        dst: ir::Value,
        value: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()>;

    /// `memory.copy` from `src_index` to `dst_index`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the wasm operator's operands"
    )]
    fn memory_copy(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        dst_index: MemoryIndex,
        src_index: MemoryIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()>;

    /// `memory.init`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the wasm operator's operands"
    )]
    fn memory_init(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
        data: DataIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()>;

    /// `data.drop`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn data_drop(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        data: DataIndex,
    ) -> EnvResult<()>;

    /// `table.get`: trap with [`super::trap_codes::TABLE_OUT_OF_BOUNDS`] when
    /// out of bounds.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn table_get(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        index: ir::Value,
    ) -> EnvResult<ir::Value>;

    /// `table.set`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn table_set(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        index: ir::Value,
        value: ir::Value,
    ) -> EnvResult<()>;

    /// `table.grow`: returns the old size or `-1`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn table_grow(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        init: ir::Value,
        delta: ir::Value,
    ) -> EnvResult<ir::Value>;

    /// `table.size`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn table_size(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
    ) -> EnvResult<ir::Value>;

    /// `table.fill`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn table_fill(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        dst: ir::Value,
        value: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()>;

    /// `table.copy` from `src_table` to `dst_table`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the wasm operator's operands"
    )]
    fn table_copy(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        dst_table: TableIndex,
        src_table: TableIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()>;

    /// `table.init`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the wasm operator's operands"
    )]
    fn table_init(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        elem: ElemIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()>;

    /// `elem.drop`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn elem_drop(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        elem: ElemIndex,
    ) -> EnvResult<()>;

    /// `ref.func`: a non-null `funcref` for function `index`.
    ///
    /// # Errors
    /// When the runtime cannot emit the operation.
    fn ref_func(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: FuncIndex,
    ) -> EnvResult<ir::Value>;

    /// The identity of tag `tag` (pointer type): equal for two tags exactly
    /// when they are the same tag (imports alias).
    ///
    /// # Errors
    /// When the runtime does not implement exceptions.
    fn tag_identity(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _vmctx: ir::Value,
        _tag: TagIndex,
    ) -> EnvResult<ir::Value> {
        Err(EnvError::Unsupported("exception handling"))
    }

    /// A new exception object (an `exnref`, pointer type) of the tag with
    /// identity `tag`, its payload read from `values`: one 16-byte slot per
    /// value, in order.
    ///
    /// # Errors
    /// When the runtime does not implement exceptions.
    fn exn_new(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _vmctx: ir::Value,
        _tag: ir::Value,
        _values: ir::Value,
    ) -> EnvResult<ir::Value> {
        Err(EnvError::Unsupported("exception handling"))
    }

    /// Throw `exn` (non-null) to the calling functions: emits the call to
    /// the runtime and a trap after it (reached when nothing catches the
    /// exception), so the current block ends.
    ///
    /// # Errors
    /// When the runtime does not implement exceptions.
    fn throw(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _vmctx: ir::Value,
        _exn: ir::Value,
    ) -> EnvResult<()> {
        Err(EnvError::Unsupported("exception handling"))
    }

    /// The tag identity of exception `exn`.
    ///
    /// # Errors
    /// When the runtime does not implement exceptions.
    fn exn_tag(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _exn: ir::Value,
    ) -> EnvResult<ir::Value> {
        Err(EnvError::Unsupported("exception handling"))
    }

    /// The payload of exception `exn`, whose tag has payload `types`.
    ///
    /// # Errors
    /// When the runtime does not implement exceptions.
    fn exn_payload(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _exn: ir::Value,
        _types: &[ir::Type],
    ) -> EnvResult<Vec<ir::Value>> {
        Err(EnvError::Unsupported("exception handling"))
    }

    /// A handler caught `exn` and keeps it as an `exnref` value: it must
    /// stay valid while referenced.
    ///
    /// # Errors
    /// When the runtime does not implement exceptions.
    fn exn_escape(&mut self, _builder: &mut FunctionBuilder<'_>, _exn: ir::Value) -> EnvResult<()> {
        Err(EnvError::Unsupported("exception handling"))
    }

    /// A handler caught `exn`, read its payload, and keeps no `exnref`: the
    /// runtime may reuse the object.
    ///
    /// # Errors
    /// When the runtime does not implement exceptions.
    fn exn_release(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _vmctx: ir::Value,
        _exn: ir::Value,
    ) -> EnvResult<()> {
        Err(EnvError::Unsupported("exception handling"))
    }

    /// The layout of struct or array type `index`.
    ///
    /// # Errors
    /// When the runtime does not implement GC.
    fn gc_layout(&self, _index: TypeIndex) -> EnvResult<GcLayout> {
        Err(EnvError::Unsupported("GC"))
    }

    /// A new zeroed object of struct or array type `index` (`len` elements,
    /// an `i32`, for an array; ignored for a struct), header written;
    /// traps with [`super::trap_codes::GC_HEAP_OUT_OF_MEMORY`] when the
    /// heap is full.
    ///
    /// # Errors
    /// When the runtime does not implement GC.
    fn gc_alloc(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _vmctx: ir::Value,
        _index: TypeIndex,
        _len: ir::Value,
    ) -> EnvResult<ir::Value> {
        Err(EnvError::Unsupported("GC"))
    }

    /// Whether the defined type with engine id `actual` (an `i32`) is type
    /// `index` or declares it as a supertype: an `i32` 0 or 1.
    ///
    /// # Errors
    /// When the runtime does not implement GC.
    fn gc_is_subtype(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _vmctx: ir::Value,
        _actual: ir::Value,
        _index: TypeIndex,
    ) -> EnvResult<ir::Value> {
        Err(EnvError::Unsupported("GC"))
    }

    /// The engine type id (an `i32`) of the non-null function reference
    /// `fref`.
    ///
    /// # Errors
    /// When the runtime does not implement GC.
    fn funcref_type_id(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _fref: ir::Value,
    ) -> EnvResult<ir::Value> {
        Err(EnvError::Unsupported("GC"))
    }

    /// Copy `bytes` (an `i64`) bytes of data segment `data` from `offset`
    /// (an `i32`) to address `dst`, trapping "out of bounds memory access"
    /// when the segment range is out of bounds.
    ///
    /// # Errors
    /// When the runtime does not implement GC.
    fn gc_array_init_data(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _vmctx: ir::Value,
        _dst: ir::Value,
        _data: DataIndex,
        _offset: ir::Value,
        _bytes: ir::Value,
    ) -> EnvResult<()> {
        Err(EnvError::Unsupported("GC"))
    }

    /// Copy `count` (an `i32`) references of element segment `elem` from
    /// `offset` to address `dst`, trapping "out of bounds table access"
    /// when the segment range is out of bounds.
    ///
    /// # Errors
    /// When the runtime does not implement GC.
    fn gc_array_init_elem(
        &mut self,
        _builder: &mut FunctionBuilder<'_>,
        _vmctx: ir::Value,
        _dst: ir::Value,
        _elem: ElemIndex,
        _offset: ir::Value,
        _count: ir::Value,
    ) -> EnvResult<()> {
        Err(EnvError::Unsupported("GC"))
    }
}
