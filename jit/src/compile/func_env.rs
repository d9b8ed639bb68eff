//! The runtime's [`FuncEnvironment`]: how compiled code reaches memories,
//! tables, globals, other functions and builtins through the VMContext
//! layout of [`crate::compile::env::VMOffsets`]. Safe code: it only builds IR.

use cranelift_codegen::ir::{
    self, AbiParam, ExtFuncData, ExternalName, GlobalValueData, InstBuilder, MemFlagsData,
    UserExternalName, condcodes::IntCC, types,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::FunctionBuilder;

use crate::compile::env::{ModuleInfo, VMOffsets, funcref, memdef, storectx, tabledef};
use crate::compile::translate::trap_codes as tc;
use crate::compile::translate::{
    DataIndex, ElemIndex, EnvError, EnvResult, FuncEnvironment, FuncIndex, GcLayout, GlobalIndex,
    GlobalLocation, MemoryIndex, MemoryPlan, TableIndex, TagIndex, TypeIndex,
};
use crate::engine::Engine;
use crate::runtime::exception;
use crate::types::MemoryType;

/// Builtin functions compiled code calls through the table at
/// `VMOffsets::BUILTINS`; the order is the table's.
#[derive(Debug, Clone, Copy)]
#[repr(usize)]
pub(crate) enum Builtin {
    MemoryGrow,
    MemoryFill,
    MemoryCopy,
    MemoryInit,
    DataDrop,
    TableGrow,
    TableFill,
    TableCopy,
    TableInit,
    ElemDrop,
    MemoryAtomicWait32,
    MemoryAtomicWait64,
    GcAlloc,
    GcIsSubtype,
    GcArrayInitData,
    GcArrayInitElem,
}

/// Number of builtins.
pub(crate) const NUM_BUILTINS: usize = 16;

/// What the wait builtins return besides the wasm results 0, 1 and 2: the
/// wait would never end (an infinite timeout that no thread can notify).
pub(crate) const WAIT_FOREVER: u32 = 3;
/// ... and: the store's epoch deadline passed while the wait slept.
pub(crate) const WAIT_INTERRUPTED: u32 = 4;

/// One function's environment over one module.
pub(crate) struct ModuleFuncEnv<'a> {
    isa: &'a dyn TargetIsa,
    engine: &'a Engine,
    info: &'a ModuleInfo,
    offsets: &'a VMOffsets,
}

impl<'a> ModuleFuncEnv<'a> {
    pub(crate) fn new(engine: &'a Engine, info: &'a ModuleInfo, offsets: &'a VMOffsets) -> Self {
        ModuleFuncEnv {
            isa: &*engine.inner.isa,
            engine,
            info,
            offsets,
        }
    }

    fn ptr(&self) -> ir::Type {
        self.isa.pointer_type()
    }

    /// Load a pointer that never changes after instantiation from `base`,
    /// which is the vmctx or a pointer loaded from it (always valid, so the
    /// load may be hoisted and shared).
    fn load_fixed(&self, b: &mut FunctionBuilder<'_>, base: ir::Value, offset: u32) -> ir::Value {
        let flags = MemFlagsData::trusted().with_readonly().with_can_move();
        b.ins().load(self.ptr(), flags, base, offset as i32)
    }

    fn store_ctx(&self, b: &mut FunctionBuilder<'_>, vmctx: ir::Value) -> ir::Value {
        self.load_fixed(b, vmctx, VMOffsets::STORE_CTX)
    }

    fn signature_of(&self, ty: u32) -> ir::Signature {
        crate::compile::wasm_signature(self.isa, &self.info.types[ty as usize])
            .unwrap_or_else(|_| ir::Signature::new(crate::compile::WASM_CALL_CONV))
    }

    /// The code pointer and vmctx of a `*const VMFuncRef`, after recording
    /// the caller's vmctx for host functions.
    fn funcref_target(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        fref: ir::Value,
    ) -> (ir::Value, ir::Value) {
        let sc = self.store_ctx(b, vmctx);
        b.ins()
            .store(MemFlagsData::trusted(), vmctx, sc, storectx::CALLER_VMCTX);
        let code = b.ins().load(
            self.ptr(),
            MemFlagsData::trusted().with_readonly(),
            fref,
            funcref::WASM_CALL,
        );
        let callee_vmctx = b.ins().load(
            self.ptr(),
            MemFlagsData::trusted().with_readonly(),
            fref,
            funcref::VMCTX,
        );
        (code, callee_vmctx)
    }

    /// Call through a `*const VMFuncRef`, recording the caller's vmctx.
    fn call_funcref(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        fref: ir::Value,
        ty: u32,
        args: &[ir::Value],
    ) -> Vec<ir::Value> {
        let (code, callee_vmctx) = self.funcref_target(b, vmctx, fref);
        let sig = b.import_signature(self.signature_of(ty));
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(callee_vmctx);
        all.extend_from_slice(args);
        let call = b.ins().call_indirect(sig, code, &all);
        b.inst_results(call).to_vec()
    }

    /// Tail-call through a `*const VMFuncRef` with the callee's own vmctx,
    /// so a tail call into another instance runs in that instance.
    fn return_call_funcref(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        fref: ir::Value,
        ty: u32,
        args: &[ir::Value],
    ) {
        let (code, callee_vmctx) = self.funcref_target(b, vmctx, fref);
        let sig = b.import_signature(self.signature_of(ty));
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(callee_vmctx);
        all.extend_from_slice(args);
        b.ins().return_call_indirect(sig, code, &all);
    }

    /// The funcref in `table` at `callee`, trapping when out of bounds, null
    /// or not of type `ty`.
    fn checked_funcref(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        ty: TypeIndex,
        callee: ir::Value,
    ) -> ir::Value {
        let addr = self.table_addr(b, vmctx, table, callee, tc::UNDEFINED_ELEMENT);
        let fref = b.ins().load(self.ptr(), MemFlagsData::trusted(), addr, 0);
        b.ins().trapz(fref, tc::INDIRECT_CALL_TO_NULL);
        let actual = b.ins().load(
            types::I32,
            MemFlagsData::trusted().with_readonly(),
            fref,
            funcref::TYPE_ID,
        );
        let expected = self.info.type_ids[ty.as_u32() as usize];
        let mismatch = b
            .ins()
            .icmp_imm_u(IntCC::NotEqual, actual, i64::from(expected));
        if self.engine.gc_type(expected).is_final {
            b.ins().trapnz(mismatch, tc::BAD_SIGNATURE);
            return fref;
        }
        // A function of a declared subtype may be called through its
        // supertype: ask the runtime when the ids differ.
        let slow = b.create_block();
        let done = b.create_block();
        b.ins().brif(mismatch, slow, &[], done, &[]);
        b.switch_to_block(slow);
        b.seal_block(slow);
        let is_sub = self.is_subtype(b, vmctx, actual, expected);
        b.ins().trapz(is_sub, tc::BAD_SIGNATURE);
        b.ins().jump(done, &[]);
        b.switch_to_block(done);
        b.seal_block(done);
        fref
    }

    /// Whether defined type `actual` (an `i32` engine id) is `expected` or
    /// one of its declared subtypes: an `i32` 0 or 1. Reads `actual`'s
    /// supertype display at `expected`'s depth inline; a type too deep for
    /// the display (or an id beyond its directory) asks the runtime.
    fn is_subtype(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        actual: ir::Value,
        expected: u32,
    ) -> ir::Value {
        use crate::runtime::gc::{DIR_PAGES, DISPLAY_LEN, PAGE_TYPES};
        let depth = self.engine.gc_type(expected).supers.len() as u32 - 1;
        if depth >= DISPLAY_LEN {
            let expected = Self::i32_const(b, expected);
            return self.builtin(b, vmctx, Builtin::GcIsSubtype, &[actual, expected]);
        }
        let page_index = b
            .ins()
            .ushr_imm_u(actual, i64::from(PAGE_TYPES.trailing_zeros()));
        let in_dir = b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThan, page_index, i64::from(DIR_PAGES));
        let fast = b.create_block();
        let slow = b.create_block();
        let done = b.create_block();
        b.append_block_param(done, types::I32);
        b.ins().brif(in_dir, fast, &[], slow, &[]);

        b.switch_to_block(fast);
        b.seal_block(fast);
        let sc = self.store_ctx(b, vmctx);
        let dir = self.load_fixed(b, sc, storectx::GC_DISPLAYS as u32);
        let page_index = b.ins().uextend(self.ptr(), page_index);
        let slot = b.ins().ishl_imm_u(page_index, 3);
        let slot = b.ins().iadd(dir, slot);
        let page = b.ins().load(self.ptr(), MemFlagsData::trusted(), slot, 0);
        let entry = b.ins().band_imm_u(actual, i64::from(PAGE_TYPES - 1));
        let entry = b.ins().uextend(self.ptr(), entry);
        let entry = b
            .ins()
            .ishl_imm_u(entry, i64::from((DISPLAY_LEN * 4).trailing_zeros()));
        let entry = b.ins().iadd(page, entry);
        let at_depth = b.ins().load(
            types::I32,
            MemFlagsData::trusted(),
            entry,
            (depth * 4) as i32,
        );
        let eq = b
            .ins()
            .icmp_imm_u(IntCC::Equal, at_depth, i64::from(expected));
        let eq = b.ins().uextend(types::I32, eq);
        b.ins().jump(done, &[eq.into()]);

        b.switch_to_block(slow);
        b.seal_block(slow);
        b.set_cold_block(slow);
        let expected = Self::i32_const(b, expected);
        let r = self.builtin(b, vmctx, Builtin::GcIsSubtype, &[actual, expected]);
        b.ins().jump(done, &[r.into()]);

        b.switch_to_block(done);
        b.seal_block(done);
        b.block_params(done)[0]
    }

    /// A direct reference to defined function `index` of type `ty`.
    fn defined_func_ref(&self, b: &mut FunctionBuilder<'_>, index: u32, ty: u32) -> ir::FuncRef {
        let name = b
            .func
            .declare_imported_user_function(UserExternalName::new(0, index));
        let signature = b.import_signature(self.signature_of(ty));
        b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature,
            colocated: true,
            patchable: false,
        })
    }

    /// Call builtin `which` with (vmctx, args) and return its i32 result.
    fn builtin(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        which: Builtin,
        args: &[ir::Value],
    ) -> ir::Value {
        self.builtin_returning(b, vmctx, which, args, types::I32)
    }

    /// Call builtin `which` with (vmctx, args) and return its `ret` result.
    fn builtin_returning(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        which: Builtin,
        args: &[ir::Value],
        ret: ir::Type,
    ) -> ir::Value {
        let mut sig = ir::Signature::new(self.isa.default_call_conv());
        sig.params.push(AbiParam::new(self.ptr()));
        for a in args {
            sig.params.push(AbiParam::new(b.func.dfg.value_type(*a)));
        }
        sig.returns.push(AbiParam::new(ret));
        let sig = b.import_signature(sig);
        let table = self.load_fixed(b, vmctx, VMOffsets::BUILTINS);
        let f = self.load_fixed(b, table, (which as u32) * 8);
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(vmctx);
        all.extend_from_slice(args);
        let call = b.ins().call_indirect(sig, f, &all);
        b.inst_results(call)[0]
    }

    fn builtin_trapping(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        which: Builtin,
        args: &[ir::Value],
        code: ir::TrapCode,
    ) {
        let status = self.builtin(b, vmctx, which, args);
        b.ins().trapnz(status, code);
    }

    /// The address of element `index` of `table`, trapping when out of bounds.
    fn table_addr(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        index: ir::Value,
        code: ir::TrapCode,
    ) -> ir::Value {
        let def = self.load_fixed(b, vmctx, self.offsets.table(table.as_u32()));
        let len = b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), def, tabledef::LENGTH);
        let index = b.ins().uextend(types::I64, index);
        let oob = b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        b.ins().trapnz(oob, code);
        let base = b
            .ins()
            .load(self.ptr(), MemFlagsData::trusted(), def, tabledef::BASE);
        let scaled = b.ins().ishl_imm_u(index, 3);
        b.ins().iadd(base, scaled)
    }

    /// Whether memory `index` is a memory64 memory.
    fn is_memory64(&self, index: MemoryIndex) -> bool {
        self.info
            .memories
            .get(index.as_u32() as usize)
            .is_some_and(|m| m.memory64)
    }

    /// Log2 of memory `index`'s page size (16, or 0 for 1-byte pages).
    fn page_size_log2(&self, index: MemoryIndex) -> u8 {
        self.info
            .memories
            .get(index.as_u32() as usize)
            .map_or(MemoryType::DEFAULT_PAGE_SIZE_LOG2, |m| m.page_size_log2)
    }

    /// Whether memory `index` is shared.
    fn is_shared(&self, index: MemoryIndex) -> bool {
        self.info
            .memories
            .get(index.as_u32() as usize)
            .is_some_and(|m| m.shared)
    }

    /// A memory address or length widened to the builtins' `i64`.
    fn to_i64(b: &mut FunctionBuilder<'_>, v: ir::Value) -> ir::Value {
        if b.func.dfg.value_type(v) == types::I64 {
            v
        } else {
            b.ins().uextend(types::I64, v)
        }
    }

    fn i32_const(b: &mut FunctionBuilder<'_>, v: u32) -> ir::Value {
        b.ins().iconst(types::I32, i64::from(v))
    }
}

impl FuncEnvironment for ModuleFuncEnv<'_> {
    fn pointer_type(&self) -> ir::Type {
        self.ptr()
    }

    fn func_signature(&self, index: FuncIndex) -> ir::Signature {
        self.signature_of(self.info.funcs[index.as_u32() as usize])
    }

    fn type_signature(&self, index: TypeIndex) -> ir::Signature {
        self.signature_of(index.as_u32())
    }

    fn stack_limit(&mut self, func: &mut ir::Function) -> Option<ir::GlobalValue> {
        let readonly = func
            .dfg
            .mem_flags
            .insert_unchecked(MemFlagsData::trusted().with_readonly());
        let trusted = func.dfg.mem_flags.insert_unchecked(MemFlagsData::trusted());
        let vmctx = func.create_global_value(GlobalValueData::VMContext);
        let sc = func.create_global_value(GlobalValueData::Load {
            base: vmctx,
            offset: (VMOffsets::STORE_CTX as i32).into(),
            global_type: self.ptr(),
            flags: readonly,
        });
        let limit = func.create_global_value(GlobalValueData::Load {
            base: sc,
            offset: storectx::STACK_LIMIT.into(),
            global_type: self.ptr(),
            flags: trusted,
        });
        Some(limit)
    }

    fn emit_epoch_check(&mut self, b: &mut FunctionBuilder<'_>, vmctx: ir::Value) -> EnvResult<()> {
        if !self.engine.epoch_interruption() {
            return Ok(());
        }
        let sc = self.store_ctx(b, vmctx);
        let epoch_ptr = b.ins().load(
            self.ptr(),
            MemFlagsData::trusted().with_readonly().with_can_move(),
            sc,
            storectx::EPOCH_PTR,
        );
        // An atomic load: the epoch is bumped by other threads, and a plain
        // load in a loop with no store or call would be folded into the
        // function-entry load by Cranelift's alias analysis, so the loop
        // would never see the bump.
        let epoch = b
            .ins()
            .atomic_load(types::I64, MemFlagsData::trusted(), epoch_ptr);
        let deadline = b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            sc,
            storectx::EPOCH_DEADLINE,
        );
        let late = b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
        // Past the deadline the store decides (`vmctx::epoch_late`): trap,
        // or yield to the executor under an async call and go on. Through
        // the engine's `preserve_all` trampoline, which clobbers nothing
        // here (`compile::EpochTrampoline`).
        let slow = b.create_block();
        let next = b.create_block();
        b.set_cold_block(slow);
        b.ins().brif(late, slow, &[], next, &[]);
        b.switch_to_block(slow);
        b.seal_block(slow);
        // A plain load: one the optimiser may hoist out of the cold block
        // would hold a register across the whole function.
        let trampoline = b.ins().load(
            self.ptr(),
            MemFlagsData::trusted(),
            sc,
            storectx::EPOCH_TRAMPOLINE,
        );
        let sig = b.import_signature(ir::Signature::new(CallConv::PreserveAll));
        b.ins().call_indirect(sig, trampoline, &[]);
        b.ins().jump(next, &[]);
        b.switch_to_block(next);
        b.seal_block(next);
        Ok(())
    }

    fn memory_plan(&self, index: MemoryIndex) -> MemoryPlan {
        let memory64 = self.is_memory64(index);
        if self.page_size_log2(index) < MemoryType::DEFAULT_PAGE_SIZE_LOG2 {
            // Pages smaller than 64 KiB (custom-page-sizes), which is a
            // multiple of every host page size (4, 16 or 64 KiB): the length
            // need not be a multiple of the host page, so the bytes after it
            // up to the next host page are accessible and no byte past the
            // length is sure to fault. The reservation stays (the base never
            // moves) but the plan promises no guard: every access is checked.
            return MemoryPlan {
                memory64,
                reserved_bytes: 0,
                guard_bytes: 0,
            };
        }
        MemoryPlan {
            memory64,
            // A memory64 memory is always checked explicitly; the figure
            // only matters for 32-bit memories.
            reserved_bytes: 1 << 32,
            guard_bytes: crate::runtime::memory::GUARD_SIZE as u64,
        }
    }

    fn memory_base(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
    ) -> EnvResult<ir::Value> {
        let def = self.load_fixed(b, vmctx, self.offsets.memory(index.as_u32()));
        // The base never moves, so the load may be hoisted and shared.
        Ok(b.ins().load(
            self.ptr(),
            MemFlagsData::trusted().with_readonly().with_can_move(),
            def,
            memdef::BASE,
        ))
    }

    fn memory_bound(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
    ) -> EnvResult<ir::Value> {
        let def = self.load_fixed(b, vmctx, self.offsets.memory(index.as_u32()));
        Ok(b.ins()
            .load(self.ptr(), MemFlagsData::trusted(), def, memdef::LENGTH))
    }

    fn global(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: GlobalIndex,
    ) -> EnvResult<GlobalLocation> {
        let base = self.load_fixed(b, vmctx, self.offsets.global(index.as_u32()));
        Ok(GlobalLocation { base, offset: 0 })
    }

    fn call(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        callee: FuncIndex,
        args: &[ir::Value],
    ) -> EnvResult<Vec<ir::Value>> {
        let index = callee.as_u32();
        let ty = self.info.funcs[index as usize];
        if index < self.info.num_imported_funcs {
            let fref = self.load_fixed(b, vmctx, self.offsets.imported_func(index));
            return Ok(self.call_funcref(b, vmctx, fref, ty, args));
        }
        let fref = self.defined_func_ref(b, index, ty);
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(vmctx);
        all.extend_from_slice(args);
        let call = b.ins().call(fref, &all);
        Ok(b.inst_results(call).to_vec())
    }

    fn call_indirect(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        ty: TypeIndex,
        callee: ir::Value,
        args: &[ir::Value],
    ) -> EnvResult<Vec<ir::Value>> {
        let fref = self.checked_funcref(b, vmctx, table, ty, callee);
        Ok(self.call_funcref(b, vmctx, fref, ty.as_u32(), args))
    }

    fn return_call(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        callee: FuncIndex,
        args: &[ir::Value],
    ) -> EnvResult<()> {
        let index = callee.as_u32();
        let ty = self.info.funcs[index as usize];
        if index < self.info.num_imported_funcs {
            let fref = self.load_fixed(b, vmctx, self.offsets.imported_func(index));
            self.return_call_funcref(b, vmctx, fref, ty, args);
            return Ok(());
        }
        let fref = self.defined_func_ref(b, index, ty);
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(vmctx);
        all.extend_from_slice(args);
        b.ins().return_call(fref, &all);
        Ok(())
    }

    fn return_call_indirect(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        ty: TypeIndex,
        callee: ir::Value,
        args: &[ir::Value],
    ) -> EnvResult<()> {
        let fref = self.checked_funcref(b, vmctx, table, ty, callee);
        self.return_call_funcref(b, vmctx, fref, ty.as_u32(), args);
        Ok(())
    }

    fn call_ref(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        ty: TypeIndex,
        callee: ir::Value,
        args: &[ir::Value],
    ) -> EnvResult<Vec<ir::Value>> {
        b.ins().trapz(callee, tc::NULL_FUNCTION_REFERENCE);
        Ok(self.call_funcref(b, vmctx, callee, ty.as_u32(), args))
    }

    fn return_call_ref(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        ty: TypeIndex,
        callee: ir::Value,
        args: &[ir::Value],
    ) -> EnvResult<()> {
        b.ins().trapz(callee, tc::NULL_FUNCTION_REFERENCE);
        self.return_call_funcref(b, vmctx, callee, ty.as_u32(), args);
        Ok(())
    }

    fn memory_size(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
    ) -> EnvResult<ir::Value> {
        let len = self.memory_bound(b, vmctx, index)?;
        let pages = match self.page_size_log2(index) {
            0 => len,
            log2 => b.ins().ushr_imm_u(len, i64::from(log2)),
        };
        if self.is_memory64(index) {
            return Ok(pages);
        }
        Ok(b.ins().ireduce(types::I32, pages))
    }

    fn memory_grow(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
        delta: ir::Value,
    ) -> EnvResult<ir::Value> {
        let mem = Self::i32_const(b, index.as_u32());
        let delta = Self::to_i64(b, delta);
        let old = self.builtin_returning(b, vmctx, Builtin::MemoryGrow, &[mem, delta], types::I64);
        if self.is_memory64(index) {
            return Ok(old);
        }
        // u64::MAX (failure) truncates to the 32-bit -1.
        Ok(b.ins().ireduce(types::I32, old))
    }

    fn atomic_wait(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
        addr: ir::Value,
        expected: ir::Value,
        timeout: ir::Value,
    ) -> EnvResult<ir::Value> {
        if !self.is_shared(index) {
            // Import matching keeps shared and unshared apart, so the
            // module's type is the memory's. A conditional trap on a
            // constant keeps the block open for the unused result.
            let always = b.ins().iconst(types::I8, 1);
            b.ins().trapnz(always, tc::ATOMIC_WAIT_NON_SHARED_MEMORY);
            return Ok(b.ins().iconst(types::I32, 0));
        }
        let which = if b.func.dfg.value_type(expected) == types::I64 {
            Builtin::MemoryAtomicWait64
        } else {
            Builtin::MemoryAtomicWait32
        };
        let result = self.builtin(b, vmctx, which, &[addr, expected, timeout]);
        let forever = b
            .ins()
            .icmp_imm_u(IntCC::Equal, result, i64::from(WAIT_FOREVER));
        b.ins().trapnz(forever, tc::ATOMIC_WAIT_FOREVER);
        let interrupted = b
            .ins()
            .icmp_imm_u(IntCC::Equal, result, i64::from(WAIT_INTERRUPTED));
        b.ins().trapnz(interrupted, tc::INTERRUPT);
        Ok(result)
    }

    fn atomic_notify(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        _vmctx: ir::Value,
        _index: MemoryIndex,
        _addr: ir::Value,
        _count: ir::Value,
    ) -> EnvResult<ir::Value> {
        // A store's code runs on one thread, and while a wait sleeps
        // nothing else of its store runs, so no waiter exists when notify
        // runs: it wakes 0. Cross-thread shared memories (wasi-threads)
        // will route this through a builtin with a parking lot keyed by
        // address.
        Ok(b.ins().iconst(types::I32, 0))
    }

    fn memory_fill(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
        dst: ir::Value,
        value: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        let mem = Self::i32_const(b, index.as_u32());
        let dst = Self::to_i64(b, dst);
        let len = Self::to_i64(b, len);
        self.builtin_trapping(
            b,
            vmctx,
            Builtin::MemoryFill,
            &[mem, dst, value, len],
            tc::HEAP_OUT_OF_BOUNDS,
        );
        Ok(())
    }

    fn memory_copy(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        dst_index: MemoryIndex,
        src_index: MemoryIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        let dm = Self::i32_const(b, dst_index.as_u32());
        let sm = Self::i32_const(b, src_index.as_u32());
        let dst = Self::to_i64(b, dst);
        let src = Self::to_i64(b, src);
        let len = Self::to_i64(b, len);
        self.builtin_trapping(
            b,
            vmctx,
            Builtin::MemoryCopy,
            &[dm, sm, dst, src, len],
            tc::HEAP_OUT_OF_BOUNDS,
        );
        Ok(())
    }

    fn memory_init(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: MemoryIndex,
        data: DataIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        let mem = Self::i32_const(b, index.as_u32());
        let seg = Self::i32_const(b, data.as_u32());
        let dst = Self::to_i64(b, dst);
        self.builtin_trapping(
            b,
            vmctx,
            Builtin::MemoryInit,
            &[mem, seg, dst, src, len],
            tc::HEAP_OUT_OF_BOUNDS,
        );
        Ok(())
    }

    fn data_drop(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        data: DataIndex,
    ) -> EnvResult<()> {
        let seg = Self::i32_const(b, data.as_u32());
        self.builtin(b, vmctx, Builtin::DataDrop, &[seg]);
        Ok(())
    }

    fn table_get(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        index: ir::Value,
    ) -> EnvResult<ir::Value> {
        let addr = self.table_addr(b, vmctx, table, index, tc::TABLE_OUT_OF_BOUNDS);
        Ok(b.ins().load(self.ptr(), MemFlagsData::trusted(), addr, 0))
    }

    fn table_set(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        index: ir::Value,
        value: ir::Value,
    ) -> EnvResult<()> {
        let addr = self.table_addr(b, vmctx, table, index, tc::TABLE_OUT_OF_BOUNDS);
        b.ins().store(MemFlagsData::trusted(), value, addr, 0);
        Ok(())
    }

    fn table_grow(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        init: ir::Value,
        delta: ir::Value,
    ) -> EnvResult<ir::Value> {
        let t = Self::i32_const(b, table.as_u32());
        Ok(self.builtin(b, vmctx, Builtin::TableGrow, &[t, init, delta]))
    }

    fn table_size(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
    ) -> EnvResult<ir::Value> {
        let def = self.load_fixed(b, vmctx, self.offsets.table(table.as_u32()));
        let len = b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), def, tabledef::LENGTH);
        Ok(b.ins().ireduce(types::I32, len))
    }

    fn table_fill(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        dst: ir::Value,
        value: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        let t = Self::i32_const(b, table.as_u32());
        self.builtin_trapping(
            b,
            vmctx,
            Builtin::TableFill,
            &[t, dst, value, len],
            tc::TABLE_OUT_OF_BOUNDS,
        );
        Ok(())
    }

    fn table_copy(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        dst_table: TableIndex,
        src_table: TableIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        let dt = Self::i32_const(b, dst_table.as_u32());
        let st = Self::i32_const(b, src_table.as_u32());
        self.builtin_trapping(
            b,
            vmctx,
            Builtin::TableCopy,
            &[dt, st, dst, src, len],
            tc::TABLE_OUT_OF_BOUNDS,
        );
        Ok(())
    }

    fn table_init(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        table: TableIndex,
        elem: ElemIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        let t = Self::i32_const(b, table.as_u32());
        let e = Self::i32_const(b, elem.as_u32());
        self.builtin_trapping(
            b,
            vmctx,
            Builtin::TableInit,
            &[t, e, dst, src, len],
            tc::TABLE_OUT_OF_BOUNDS,
        );
        Ok(())
    }

    fn elem_drop(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        elem: ElemIndex,
    ) -> EnvResult<()> {
        let e = Self::i32_const(b, elem.as_u32());
        self.builtin(b, vmctx, Builtin::ElemDrop, &[e]);
        Ok(())
    }

    fn ref_func(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: FuncIndex,
    ) -> EnvResult<ir::Value> {
        let index = index.as_u32();
        if index < self.info.num_imported_funcs {
            return Ok(self.load_fixed(b, vmctx, self.offsets.imported_func(index)));
        }
        let Some(defined) = index.checked_sub(self.info.num_imported_funcs) else {
            return Err(EnvError::Unsupported("function index out of range"));
        };
        let off = self.offsets.defined_funcref(defined);
        Ok(b.ins().iadd_imm_u(vmctx, i64::from(off)))
    }

    fn tag_identity(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        tag: TagIndex,
    ) -> EnvResult<ir::Value> {
        Ok(self.load_fixed(b, vmctx, self.offsets.tag(tag.as_u32())))
    }

    fn exn_new(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        tag: ir::Value,
        values: ir::Value,
    ) -> EnvResult<ir::Value> {
        let ptr = self.ptr();
        let call = self.exn_builtin(b, vmctx, exception::builtin::EXN_NEW, &[tag, values], true);
        debug_assert_eq!(b.func.dfg.value_type(b.inst_results(call)[0]), ptr);
        Ok(b.inst_results(call)[0])
    }

    fn throw(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        exn: ir::Value,
    ) -> EnvResult<()> {
        self.exn_builtin(b, vmctx, exception::builtin::THROW, &[exn], false);
        b.ins().trap(crate::runtime::trap::HOST_TRAP);
        Ok(())
    }

    fn exn_tag(&mut self, b: &mut FunctionBuilder<'_>, exn: ir::Value) -> EnvResult<ir::Value> {
        Ok(b.ins().load(
            self.ptr(),
            MemFlagsData::trusted(),
            exn,
            exception::exn::TAG,
        ))
    }

    fn exn_payload(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        exn: ir::Value,
        types: &[ir::Type],
    ) -> EnvResult<Vec<ir::Value>> {
        let values = b.ins().load(
            self.ptr(),
            MemFlagsData::trusted(),
            exn,
            exception::exn::VALUES,
        );
        Ok(types
            .iter()
            .enumerate()
            .map(|(i, ty)| {
                b.ins()
                    .load(*ty, MemFlagsData::trusted(), values, (i * 16) as i32)
            })
            .collect())
    }

    fn exn_escape(&mut self, b: &mut FunctionBuilder<'_>, exn: ir::Value) -> EnvResult<()> {
        let one = b.ins().iconst(types::I64, 1);
        b.ins()
            .store(MemFlagsData::trusted(), one, exn, exception::exn::ESCAPED);
        Ok(())
    }

    fn exn_release(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        exn: ir::Value,
    ) -> EnvResult<()> {
        self.exn_builtin(b, vmctx, exception::builtin::EXN_RELEASE, &[exn], false);
        Ok(())
    }

    fn gc_layout(&self, index: TypeIndex) -> EnvResult<GcLayout> {
        let id = self.info.type_ids[index.as_u32() as usize];
        let ty = self.engine.gc_type(id);
        Ok(GcLayout {
            type_id: id,
            is_final: ty.is_final,
            field_offsets: ty.fields.iter().map(|f| f.offset).collect(),
            size: ty.size,
            elem_size: ty.elem_size(),
        })
    }

    fn gc_alloc(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: TypeIndex,
        len: ir::Value,
    ) -> EnvResult<ir::Value> {
        let layout = self.gc_layout(index)?;
        // A struct's size includes its header; an array's is per element.
        let (kind, bytes) = if layout.size > 0 {
            let bytes = b.ins().iconst(types::I64, i64::from(layout.size.max(8)));
            (crate::runtime::gc::obj::KIND_STRUCT, bytes)
        } else {
            let len64 = b.ins().uextend(types::I64, len);
            let data = b.ins().imul_imm_u(len64, i64::from(layout.elem_size));
            let bytes = b
                .ins()
                .iadd_imm_u(data, i64::from(crate::runtime::gc::obj::ARRAY_DATA));
            (crate::runtime::gc::obj::KIND_ARRAY, bytes)
        };
        // Whole words: the free range stays 8-byte aligned.
        let bytes = if layout.size > 0 {
            bytes
        } else {
            let padded = b.ins().iadd_imm_u(bytes, 7);
            b.ins().band_imm_u(padded, -8i64 as u64 as i64)
        };
        // Fast path: bump the store's free range (fresh chunk memory is
        // zero) and write the header; else the builtin takes a new chunk.
        let sc = self.store_ctx(b, vmctx);
        let flags = MemFlagsData::trusted();
        let top = b.ins().load(self.ptr(), flags, sc, storectx::GC_TOP);
        let end = b.ins().load(self.ptr(), flags, sc, storectx::GC_END);
        let new_top = b.ins().iadd(top, bytes);
        let fits = b.ins().icmp(IntCC::UnsignedLessThanOrEqual, new_top, end);
        let fast = b.create_block();
        let slow = b.create_block();
        let done = b.create_block();
        b.append_block_param(done, self.ptr());
        b.ins().brif(fits, fast, &[], slow, &[]);

        b.switch_to_block(fast);
        b.seal_block(fast);
        b.ins().store(flags, new_top, sc, storectx::GC_TOP);
        let header = (u64::from(kind) << 32) | u64::from(layout.type_id);
        let header = b.ins().iconst(types::I64, header as i64);
        b.ins()
            .store(flags, header, top, crate::runtime::gc::obj::TYPE_ID);
        if kind == crate::runtime::gc::obj::KIND_ARRAY {
            b.ins()
                .store(flags, len, top, crate::runtime::gc::obj::ARRAY_LEN);
        }
        b.ins().jump(done, &[top.into()]);

        b.switch_to_block(slow);
        b.seal_block(slow);
        b.set_cold_block(slow);
        let id = Self::i32_const(b, layout.type_id);
        let kind = Self::i32_const(b, kind);
        let obj = self.builtin_returning(
            b,
            vmctx,
            Builtin::GcAlloc,
            &[id, kind, bytes, len],
            self.ptr(),
        );
        b.ins().trapz(obj, tc::GC_HEAP_OUT_OF_MEMORY);
        b.ins().jump(done, &[obj.into()]);

        b.switch_to_block(done);
        b.seal_block(done);
        let obj = b.block_params(done)[0];
        Ok(obj)
    }

    fn gc_is_subtype(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        actual: ir::Value,
        index: TypeIndex,
    ) -> EnvResult<ir::Value> {
        let expected = self.info.type_ids[index.as_u32() as usize];
        Ok(self.is_subtype(b, vmctx, actual, expected))
    }

    fn funcref_type_id(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        fref: ir::Value,
    ) -> EnvResult<ir::Value> {
        Ok(b.ins().load(
            types::I32,
            MemFlagsData::trusted().with_readonly(),
            fref,
            funcref::TYPE_ID,
        ))
    }

    fn gc_array_init_data(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        dst: ir::Value,
        data: DataIndex,
        offset: ir::Value,
        bytes: ir::Value,
    ) -> EnvResult<()> {
        let seg = Self::i32_const(b, data.as_u32());
        self.builtin_trapping(
            b,
            vmctx,
            Builtin::GcArrayInitData,
            &[dst, seg, offset, bytes],
            tc::HEAP_OUT_OF_BOUNDS,
        );
        Ok(())
    }

    fn gc_array_init_elem(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        dst: ir::Value,
        elem: ElemIndex,
        offset: ir::Value,
        count: ir::Value,
    ) -> EnvResult<()> {
        let seg = Self::i32_const(b, elem.as_u32());
        self.builtin_trapping(
            b,
            vmctx,
            Builtin::GcArrayInitElem,
            &[dst, seg, offset, count],
            tc::TABLE_OUT_OF_BOUNDS,
        );
        Ok(())
    }
}

impl ModuleFuncEnv<'_> {
    /// Call exception builtin at `offset` of the `ExnBuiltins` table with
    /// (store, args), returning a pointer when `returns`.
    fn exn_builtin(
        &self,
        b: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        offset: i32,
        args: &[ir::Value],
        returns: bool,
    ) -> ir::Inst {
        let mut sig = ir::Signature::new(self.isa.default_call_conv());
        sig.params.push(AbiParam::new(self.ptr()));
        for a in args {
            sig.params.push(AbiParam::new(b.func.dfg.value_type(*a)));
        }
        if returns {
            sig.returns.push(AbiParam::new(self.ptr()));
        }
        let sig = b.import_signature(sig);
        let store = self.load_fixed(b, vmctx, VMOffsets::STORE);
        let table = self.load_fixed(b, vmctx, self.offsets.exn_builtins());
        let f = self.load_fixed(b, table, offset as u32);
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(store);
        all.extend_from_slice(args);
        b.ins().call_indirect(sig, f, &all)
    }
}
