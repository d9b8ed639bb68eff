//! Linear-memory operators: loads and stores of every width,
//! `memory.size`/`grow` and the bulk-memory operators.
//!
//! An access computes `base + zext(index)` and lets the static offset ride
//! in the load/store immediate. When the memory's [`MemoryPlan`] guard
//! covers every index plus the offset (32-bit memories with the default 4 GiB
//! reservation and 2 GiB guard), no check is emitted: an out-of-bounds access
//! faults in the guard and the trap record maps it to
//! [`trap_codes::HEAP_OUT_OF_BOUNDS`]. Otherwise an explicit bounds check
//! against the current length traps with the same code. Alignment hints are
//! ignored.
//!
//! [`MemoryPlan`]: super::environ::MemoryPlan

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F64, I32, I64};
use cranelift_codegen::ir::{self, Endianness, InstBuilder, MemFlagsData};
use wasmparser::{MemArg, MemArgTarget};

use super::TranslateError;
use super::environ::{DataIndex, MemoryIndex};
use super::func::{FuncTranslator, TResult};
use super::trap_codes;

/// How a load produces its result.
#[derive(Clone, Copy)]
enum Load {
    /// Full width: `load.ty`.
    Plain(ir::Type),
    /// `uloadN`/`sloadN` of `bits` into `ty`.
    Extend {
        bits: u8,
        signed: bool,
        ty: ir::Type,
    },
}

pub(super) fn heap_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_endianness(Endianness::Little)
        .with_trap_code(Some(trap_codes::HEAP_OUT_OF_BOUNDS))
}

impl FuncTranslator<'_, '_> {
    /// The address of an access of `size` bytes at `index` (popped by the
    /// caller) and the static offset that still has to be added by the
    /// load/store itself.
    pub(super) fn heap_address(
        &mut self,
        memarg: &MemArg,
        index: ir::Value,
        size: u64,
    ) -> TResult<(ir::Value, i32)> {
        let MemArgTarget::Memory(memory) = memarg.target else {
            return Err(TranslateError::Unsupported {
                operator: "GC array access through a memarg",
                offset: self.offset,
            });
        };
        let memory = MemoryIndex::from_u32(memory);
        let plan = self.env.memory_plan(memory);
        let ptr = self.pointer_type;
        let index_ty = self.builder.func.dfg.value_type(index);
        let index = if index_ty.bits() < ptr.bits() {
            self.builder.ins().uextend(ptr, index)
        } else {
            index
        };
        if !plan.covers(memarg.offset, size) {
            let bound = self
                .env
                .memory_bound(&mut self.builder, self.vmctx, memory)
                .map_err(|e| self.env_err(e))?;
            match memarg.offset.checked_add(size) {
                Some(reach) => {
                    // index + offset + size, trapping when the sum
                    // overflows (memory64 only: a 32-bit index cannot).
                    let reach = self.builder.ins().iconst(ptr, reach.cast_signed());
                    let end = self.builder.ins().uadd_overflow_trap(
                        index,
                        reach,
                        trap_codes::HEAP_OUT_OF_BOUNDS,
                    );
                    let oob = self
                        .builder
                        .ins()
                        .icmp(IntCC::UnsignedGreaterThan, end, bound);
                    self.builder
                        .ins()
                        .trapnz(oob, trap_codes::HEAP_OUT_OF_BOUNDS);
                }
                None => {
                    // A memory64 static offset so close to 2^64 that no
                    // index reaches: the access always traps. (A conditional
                    // trap on a constant keeps the block open.)
                    let always = self.builder.ins().iconst(ir::types::I8, 1);
                    self.builder
                        .ins()
                        .trapnz(always, trap_codes::HEAP_OUT_OF_BOUNDS);
                }
            }
        }
        let base = self
            .env
            .memory_base(&mut self.builder, self.vmctx, memory)
            .map_err(|e| self.env_err(e))?;
        let addr = self.builder.ins().iadd(base, index);
        match i32::try_from(memarg.offset) {
            Ok(offset) => Ok((addr, offset)),
            Err(_) => {
                let offset = self
                    .builder
                    .ins()
                    .iconst(self.pointer_type, memarg.offset.cast_signed());
                let addr = self.builder.ins().iadd(addr, offset);
                Ok((addr, 0))
            }
        }
    }

    fn load(&mut self, memarg: MemArg, kind: Load) -> TResult {
        let index = self.pop()?;
        let size = match kind {
            Load::Plain(ty) => u64::from(ty.bytes()),
            Load::Extend { bits, .. } => u64::from(bits / 8),
        };
        let (addr, offset) = self.heap_address(&memarg, index, size)?;
        let flags = heap_flags();
        let ins = self.builder.ins();
        let v = match kind {
            Load::Plain(ty) => ins.load(ty, flags, addr, offset),
            Load::Extend {
                bits: 8,
                signed: true,
                ty,
            } => ins.sload8(ty, flags, addr, offset),
            Load::Extend {
                bits: 8,
                signed: false,
                ty,
            } => ins.uload8(ty, flags, addr, offset),
            Load::Extend {
                bits: 16,
                signed: true,
                ty,
            } => ins.sload16(ty, flags, addr, offset),
            Load::Extend {
                bits: 16,
                signed: false,
                ty,
            } => ins.uload16(ty, flags, addr, offset),
            Load::Extend { signed: true, .. } => ins.sload32(flags, addr, offset),
            Load::Extend { signed: false, .. } => ins.uload32(flags, addr, offset),
        };
        self.push(v);
        Ok(())
    }

    /// Store the low `bytes` bytes of the popped value.
    fn store(&mut self, memarg: MemArg, bytes: u8) -> TResult {
        let (index, value) = self.pop2()?;
        let (addr, offset) = self.heap_address(&memarg, index, u64::from(bytes))?;
        let flags = heap_flags();
        let width = self.builder.func.dfg.value_type(value).bytes();
        let ins = self.builder.ins();
        match bytes {
            1 => ins.istore8(flags, value, addr, offset),
            2 => ins.istore16(flags, value, addr, offset),
            4 if width == 8 => ins.istore32(flags, value, addr, offset),
            _ => ins.store(flags, value, addr, offset),
        };
        Ok(())
    }

    pub(super) fn visit_i32_load(&mut self, memarg: MemArg) -> TResult {
        self.load(memarg, Load::Plain(I32))
    }
    pub(super) fn visit_i64_load(&mut self, memarg: MemArg) -> TResult {
        self.load(memarg, Load::Plain(I64))
    }
    pub(super) fn visit_f32_load(&mut self, memarg: MemArg) -> TResult {
        self.load(memarg, Load::Plain(F32))
    }
    pub(super) fn visit_f64_load(&mut self, memarg: MemArg) -> TResult {
        self.load(memarg, Load::Plain(F64))
    }
    pub(super) fn visit_i32_load8_s(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 8,
                signed: true,
                ty: I32,
            },
        )
    }
    pub(super) fn visit_i32_load8_u(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 8,
                signed: false,
                ty: I32,
            },
        )
    }
    pub(super) fn visit_i32_load16_s(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 16,
                signed: true,
                ty: I32,
            },
        )
    }
    pub(super) fn visit_i32_load16_u(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 16,
                signed: false,
                ty: I32,
            },
        )
    }
    pub(super) fn visit_i64_load8_s(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 8,
                signed: true,
                ty: I64,
            },
        )
    }
    pub(super) fn visit_i64_load8_u(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 8,
                signed: false,
                ty: I64,
            },
        )
    }
    pub(super) fn visit_i64_load16_s(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 16,
                signed: true,
                ty: I64,
            },
        )
    }
    pub(super) fn visit_i64_load16_u(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 16,
                signed: false,
                ty: I64,
            },
        )
    }
    pub(super) fn visit_i64_load32_s(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 32,
                signed: true,
                ty: I64,
            },
        )
    }
    pub(super) fn visit_i64_load32_u(&mut self, memarg: MemArg) -> TResult {
        self.load(
            memarg,
            Load::Extend {
                bits: 32,
                signed: false,
                ty: I64,
            },
        )
    }
    pub(super) fn visit_i32_store(&mut self, memarg: MemArg) -> TResult {
        self.store(memarg, 4)
    }
    pub(super) fn visit_i64_store(&mut self, memarg: MemArg) -> TResult {
        self.store(memarg, 8)
    }
    pub(super) fn visit_f32_store(&mut self, memarg: MemArg) -> TResult {
        self.store(memarg, 4)
    }
    pub(super) fn visit_f64_store(&mut self, memarg: MemArg) -> TResult {
        self.store(memarg, 8)
    }
    pub(super) fn visit_i32_store8(&mut self, memarg: MemArg) -> TResult {
        self.store(memarg, 1)
    }
    pub(super) fn visit_i32_store16(&mut self, memarg: MemArg) -> TResult {
        self.store(memarg, 2)
    }
    pub(super) fn visit_i64_store8(&mut self, memarg: MemArg) -> TResult {
        self.store(memarg, 1)
    }
    pub(super) fn visit_i64_store16(&mut self, memarg: MemArg) -> TResult {
        self.store(memarg, 2)
    }
    pub(super) fn visit_i64_store32(&mut self, memarg: MemArg) -> TResult {
        self.store(memarg, 4)
    }

    pub(super) fn visit_memory_size(&mut self, mem: u32) -> TResult {
        let v = self
            .env
            .memory_size(&mut self.builder, self.vmctx, MemoryIndex::from_u32(mem))
            .map_err(|e| self.env_err(e))?;
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_memory_grow(&mut self, mem: u32) -> TResult {
        let delta = self.pop()?;
        let v = self
            .env
            .memory_grow(
                &mut self.builder,
                self.vmctx,
                MemoryIndex::from_u32(mem),
                delta,
            )
            .map_err(|e| self.env_err(e))?;
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_memory_fill(&mut self, mem: u32) -> TResult {
        let (dst, value, len) = self.pop3()?;
        self.env
            .memory_fill(
                &mut self.builder,
                self.vmctx,
                MemoryIndex::from_u32(mem),
                dst,
                value,
                len,
            )
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> TResult {
        let (dst, src, len) = self.pop3()?;
        self.env
            .memory_copy(
                &mut self.builder,
                self.vmctx,
                MemoryIndex::from_u32(dst_mem),
                MemoryIndex::from_u32(src_mem),
                dst,
                src,
                len,
            )
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_memory_init(&mut self, data_index: u32, mem: u32) -> TResult {
        let (dst, src, len) = self.pop3()?;
        self.env
            .memory_init(
                &mut self.builder,
                self.vmctx,
                MemoryIndex::from_u32(mem),
                DataIndex::from_u32(data_index),
                dst,
                src,
                len,
            )
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_data_drop(&mut self, data_index: u32) -> TResult {
        self.env
            .data_drop(
                &mut self.builder,
                self.vmctx,
                DataIndex::from_u32(data_index),
            )
            .map_err(|e| self.env_err(e))
    }
}
