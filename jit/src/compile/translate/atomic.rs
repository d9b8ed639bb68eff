//! The threads proposal's operators: atomic loads, stores, read-modify-write
//! and compare-exchange of every width, `atomic.fence`, and
//! `memory.atomic.wait32`/`wait64`/`notify`.
//!
//! An atomic access first checks its alignment: the effective address
//! (index plus static offset) must be a multiple of the access size, or the
//! access traps with [`trap_codes::HEAP_MISALIGNED`] ("unaligned atomic"),
//! before any bounds check, as the spec and wasmtime order them. Bounds
//! then work as for plain loads and stores (`memory.rs`): an explicit check
//! where the guard region cannot cover the access, otherwise the access
//! itself faults in the guard and its trap record maps the fault to
//! [`trap_codes::HEAP_OUT_OF_BOUNDS`]. Cranelift records a trap for every
//! instruction of an atomic sequence that touches memory (on x86-64 the
//! first load and the `lock cmpxchg` of an `and`/`or`/`xor` loop), so a
//! fault anywhere inside one is still the out-of-bounds trap.
//!
//! Narrow forms (`rmw8`, `rmw16`, `rmw32`, `load8_u`, ...) operate on
//! `I8`/`I16`/`I32` values: operands are wrapped with `ireduce` and results
//! zero-extended with `uextend`. Every access is sequentially consistent,
//! which is what Cranelift's atomic instructions provide.
//!
//! `wait` and `notify` check alignment and bounds in compiled code (an
//! atomic load probes the guard region when no explicit check is emitted)
//! and leave the rest to the environment
//! ([`FuncEnvironment::atomic_wait`](super::FuncEnvironment::atomic_wait)).

use cranelift_codegen::ir::types::{I8, I16, I32, I64};
use cranelift_codegen::ir::{self, AtomicRmwOp, InstBuilder};
use wasmparser::{MemArg, MemArgTarget, Ordering};

use super::TranslateError;
use super::environ::MemoryIndex;
use super::func::{FuncTranslator, TResult};
use super::memory::heap_flags;
use super::trap_codes;

impl FuncTranslator<'_, '_> {
    /// The memory a memarg names.
    fn atomic_memory(&self, memarg: &MemArg) -> TResult<MemoryIndex> {
        match memarg.target {
            MemArgTarget::Memory(memory) => Ok(MemoryIndex::from_u32(memory)),
            _ => Err(TranslateError::Unsupported {
                operator: "GC array access through a memarg",
                offset: self.offset,
            }),
        }
    }

    /// The host address of an atomic access of `size` bytes at `index`
    /// (popped by the caller): traps "unaligned atomic" first, then bounds
    /// as [`FuncTranslator::heap_address`] does. The static offset is
    /// folded in, as Cranelift's atomic instructions take no offset.
    fn atomic_address(
        &mut self,
        memarg: &MemArg,
        index: ir::Value,
        size: u8,
    ) -> TResult<ir::Value> {
        if size > 1 {
            // Only the low bits of index + offset matter, and they are the
            // same whether or not the sum wraps in the index type.
            let mask = u64::from(size - 1);
            let low = (memarg.offset & mask).cast_signed();
            let effective = if low == 0 {
                index
            } else {
                self.builder.ins().iadd_imm_u(index, low)
            };
            let misaligned = self.builder.ins().band_imm_u(effective, mask.cast_signed());
            self.builder
                .ins()
                .trapnz(misaligned, trap_codes::HEAP_MISALIGNED);
        }
        let (addr, offset) = self.heap_address(memarg, index, u64::from(size))?;
        Ok(if offset == 0 {
            addr
        } else {
            self.builder.ins().iadd_imm_u(addr, i64::from(offset))
        })
    }

    /// For `wait`/`notify`, which do not touch memory in compiled code: an
    /// atomic load of `ty` at `addr` when the guard region, not an explicit
    /// check, is what bounds the access, so an out-of-bounds address faults
    /// here and becomes the out-of-bounds trap.
    fn probe_bounds(&mut self, memarg: &MemArg, addr: ir::Value, ty: ir::Type) -> TResult {
        let memory = self.atomic_memory(memarg)?;
        if self
            .env
            .memory_plan(memory)
            .covers(memarg.offset, u64::from(ty.bytes()))
        {
            // Atomic loads have side effects for Cranelift: never removed.
            self.builder.ins().atomic_load(ty, heap_flags(), addr);
        }
        Ok(())
    }

    /// `value` narrowed to the access type `access`.
    fn narrow(&mut self, value: ir::Value, access: ir::Type) -> ir::Value {
        if self.builder.func.dfg.value_type(value) == access {
            value
        } else {
            self.builder.ins().ireduce(access, value)
        }
    }

    /// `value` (of the access type) zero-extended to `result`.
    fn widen(&mut self, value: ir::Value, result: ir::Type) -> ir::Value {
        if self.builder.func.dfg.value_type(value) == result {
            value
        } else {
            self.builder.ins().uextend(result, value)
        }
    }

    fn atomic_load(&mut self, memarg: MemArg, access: ir::Type, result: ir::Type) -> TResult {
        let index = self.pop()?;
        let addr = self.atomic_address(&memarg, index, access.bytes() as u8)?;
        let value = self.builder.ins().atomic_load(access, heap_flags(), addr);
        let value = self.widen(value, result);
        self.push(value);
        Ok(())
    }

    fn atomic_store(&mut self, memarg: MemArg, access: ir::Type) -> TResult {
        let (index, value) = self.pop2()?;
        let addr = self.atomic_address(&memarg, index, access.bytes() as u8)?;
        let value = self.narrow(value, access);
        self.builder.ins().atomic_store(heap_flags(), value, addr);
        Ok(())
    }

    fn atomic_rmw(
        &mut self,
        memarg: MemArg,
        access: ir::Type,
        result: ir::Type,
        op: AtomicRmwOp,
    ) -> TResult {
        let (index, value) = self.pop2()?;
        let addr = self.atomic_address(&memarg, index, access.bytes() as u8)?;
        let value = self.narrow(value, access);
        let old = self
            .builder
            .ins()
            .atomic_rmw(access, heap_flags(), op, addr, value);
        let old = self.widen(old, result);
        self.push(old);
        Ok(())
    }

    fn atomic_cmpxchg(&mut self, memarg: MemArg, access: ir::Type, result: ir::Type) -> TResult {
        let (index, expected, replacement) = self.pop3()?;
        let addr = self.atomic_address(&memarg, index, access.bytes() as u8)?;
        // The narrow forms compare with the expected value wrapped to the
        // access width, as the spec says.
        let expected = self.narrow(expected, access);
        let replacement = self.narrow(replacement, access);
        let old = self
            .builder
            .ins()
            .atomic_cas(heap_flags(), addr, expected, replacement);
        let old = self.widen(old, result);
        self.push(old);
        Ok(())
    }

    fn atomic_wait(&mut self, memarg: MemArg, ty: ir::Type) -> TResult {
        let (index, expected, timeout) = self.pop3()?;
        let addr = self.atomic_address(&memarg, index, ty.bytes() as u8)?;
        self.probe_bounds(&memarg, addr, ty)?;
        let memory = self.atomic_memory(&memarg)?;
        let result = self
            .env
            .atomic_wait(
                &mut self.builder,
                self.vmctx,
                memory,
                addr,
                expected,
                timeout,
            )
            .map_err(|e| self.env_err(e))?;
        self.push(result);
        Ok(())
    }

    pub(super) fn visit_memory_atomic_notify(&mut self, memarg: MemArg) -> TResult {
        let (index, count) = self.pop2()?;
        let addr = self.atomic_address(&memarg, index, 4)?;
        self.probe_bounds(&memarg, addr, I32)?;
        let memory = self.atomic_memory(&memarg)?;
        let woken = self
            .env
            .atomic_notify(&mut self.builder, self.vmctx, memory, addr, count)
            .map_err(|e| self.env_err(e))?;
        self.push(woken);
        Ok(())
    }

    pub(super) fn visit_memory_atomic_wait32(&mut self, memarg: MemArg) -> TResult {
        self.atomic_wait(memarg, I32)
    }

    pub(super) fn visit_memory_atomic_wait64(&mut self, memarg: MemArg) -> TResult {
        self.atomic_wait(memarg, I64)
    }

    pub(super) fn visit_atomic_fence(&mut self, _ordering: Ordering) -> TResult {
        // The only ordering wasm has is sequentially consistent.
        self.builder.ins().fence();
        Ok(())
    }
}

/// Expands to the visit methods of one family: `$name(memarg)` calls
/// `self.$method(memarg, args...)`.
macro_rules! atomic_ops {
    ($method:ident: $($name:ident($($arg:expr),*);)*) => {
        impl FuncTranslator<'_, '_> {
            $(
                pub(super) fn $name(&mut self, memarg: MemArg) -> TResult {
                    self.$method(memarg, $($arg),*)
                }
            )*
        }
    };
}

atomic_ops! { atomic_load:
    visit_i32_atomic_load(I32, I32);
    visit_i64_atomic_load(I64, I64);
    visit_i32_atomic_load8_u(I8, I32);
    visit_i32_atomic_load16_u(I16, I32);
    visit_i64_atomic_load8_u(I8, I64);
    visit_i64_atomic_load16_u(I16, I64);
    visit_i64_atomic_load32_u(I32, I64);
}

atomic_ops! { atomic_store:
    visit_i32_atomic_store(I32);
    visit_i64_atomic_store(I64);
    visit_i32_atomic_store8(I8);
    visit_i32_atomic_store16(I16);
    visit_i64_atomic_store8(I8);
    visit_i64_atomic_store16(I16);
    visit_i64_atomic_store32(I32);
}

atomic_ops! { atomic_cmpxchg:
    visit_i32_atomic_rmw_cmpxchg(I32, I32);
    visit_i64_atomic_rmw_cmpxchg(I64, I64);
    visit_i32_atomic_rmw8_cmpxchg_u(I8, I32);
    visit_i32_atomic_rmw16_cmpxchg_u(I16, I32);
    visit_i64_atomic_rmw8_cmpxchg_u(I8, I64);
    visit_i64_atomic_rmw16_cmpxchg_u(I16, I64);
    visit_i64_atomic_rmw32_cmpxchg_u(I32, I64);
}

/// The seven widths of one read-modify-write operation.
macro_rules! atomic_rmw_ops {
    ($op:ident: $i32:ident $i64:ident $i32_8:ident $i32_16:ident $i64_8:ident $i64_16:ident $i64_32:ident) => {
        atomic_ops! { atomic_rmw:
            $i32(I32, I32, AtomicRmwOp::$op);
            $i64(I64, I64, AtomicRmwOp::$op);
            $i32_8(I8, I32, AtomicRmwOp::$op);
            $i32_16(I16, I32, AtomicRmwOp::$op);
            $i64_8(I8, I64, AtomicRmwOp::$op);
            $i64_16(I16, I64, AtomicRmwOp::$op);
            $i64_32(I32, I64, AtomicRmwOp::$op);
        }
    };
}

atomic_rmw_ops!(Add: visit_i32_atomic_rmw_add visit_i64_atomic_rmw_add
    visit_i32_atomic_rmw8_add_u visit_i32_atomic_rmw16_add_u
    visit_i64_atomic_rmw8_add_u visit_i64_atomic_rmw16_add_u visit_i64_atomic_rmw32_add_u);
atomic_rmw_ops!(Sub: visit_i32_atomic_rmw_sub visit_i64_atomic_rmw_sub
    visit_i32_atomic_rmw8_sub_u visit_i32_atomic_rmw16_sub_u
    visit_i64_atomic_rmw8_sub_u visit_i64_atomic_rmw16_sub_u visit_i64_atomic_rmw32_sub_u);
atomic_rmw_ops!(And: visit_i32_atomic_rmw_and visit_i64_atomic_rmw_and
    visit_i32_atomic_rmw8_and_u visit_i32_atomic_rmw16_and_u
    visit_i64_atomic_rmw8_and_u visit_i64_atomic_rmw16_and_u visit_i64_atomic_rmw32_and_u);
atomic_rmw_ops!(Or: visit_i32_atomic_rmw_or visit_i64_atomic_rmw_or
    visit_i32_atomic_rmw8_or_u visit_i32_atomic_rmw16_or_u
    visit_i64_atomic_rmw8_or_u visit_i64_atomic_rmw16_or_u visit_i64_atomic_rmw32_or_u);
atomic_rmw_ops!(Xor: visit_i32_atomic_rmw_xor visit_i64_atomic_rmw_xor
    visit_i32_atomic_rmw8_xor_u visit_i32_atomic_rmw16_xor_u
    visit_i64_atomic_rmw8_xor_u visit_i64_atomic_rmw16_xor_u visit_i64_atomic_rmw32_xor_u);
atomic_rmw_ops!(Xchg: visit_i32_atomic_rmw_xchg visit_i64_atomic_rmw_xchg
    visit_i32_atomic_rmw8_xchg_u visit_i32_atomic_rmw16_xchg_u
    visit_i64_atomic_rmw8_xchg_u visit_i64_atomic_rmw16_xchg_u visit_i64_atomic_rmw32_xchg_u);
