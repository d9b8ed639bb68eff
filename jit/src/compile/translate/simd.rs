//! SIMD (128-bit vectors) and relaxed-SIMD operators.
//!
//! A `v128` lives on the operand stack, in locals and in block parameters as
//! an `I8X16` value; each operator bitcasts its operands to the lane type it
//! works on (`I16X8`, `F32X4`, ...) and its result back to `I8X16`, as
//! wasmtime does. Cranelift's vector instructions carry the wasm semantics
//! where it matters: shift amounts are taken modulo the lane width, `fmin`/
//! `fmax` propagate NaN and order `-0 < +0`, `nearest` rounds ties to even and
//! the `_sat` conversions saturate (NaN to 0). The ISA's vector features
//! (SSE4.1, AVX, AVX2, ...) come from `cranelift-native`.
//!
//! Relaxed SIMD picks one deterministic result per instruction, listed in
//! `docs/design/simd.md`.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64, I64X2};
use cranelift_codegen::ir::{self, ConstantData, Endianness, InstBuilder, MemFlagsData};
use wasmparser::{MemArg, V128};

use super::func::{FuncTranslator, TResult};
use super::memory::heap_flags;

/// Flags for bitcasts between vector types: lane order is little-endian.
fn cast_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// `fn $visit(&mut self)`: pop two `$ty` operands, push `ins().$op(a, b)`.
macro_rules! vbinary {
    ($($visit:ident => $op:ident($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let (a, b) = self.pop2_as($ty)?;
                let v = self.builder.ins().$op(a, b);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: pop one `$ty` operand, push `ins().$op(a)`.
macro_rules! vunary {
    ($($visit:ident => $op:ident($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let a = self.pop_as($ty)?;
                let v = self.builder.ins().$op(a);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: lane-wise integer comparison giving a lane mask.
macro_rules! vicmp {
    ($($visit:ident => $cc:ident($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let (a, b) = self.pop2_as($ty)?;
                let v = self.builder.ins().icmp(IntCC::$cc, a, b);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: lane-wise float comparison giving a lane mask.
macro_rules! vfcmp {
    ($($visit:ident => $cc:ident($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let (a, b) = self.pop2_as($ty)?;
                let v = self.builder.ins().fcmp(FloatCC::$cc, a, b);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: shift every `$ty` lane by a scalar `i32` amount
/// (Cranelift masks the amount to the lane width, as wasm requires).
macro_rules! vshift {
    ($($visit:ident => $op:ident($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let amount = self.pop()?;
                let a = self.pop_as($ty)?;
                let v = self.builder.ins().$op(a, amount);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: `ins().$op($to, a)` on one `$ty` operand.
macro_rules! vconvert {
    ($($visit:ident => $op:ident($ty:expr => $to:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let a = self.pop_as($ty)?;
                let v = self.builder.ins().$op($to, a);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: widen both halves of two operands with `$lo`/`$hi`
/// (`$half` picks one), then multiply: the `extmul` family.
macro_rules! vextmul {
    ($($visit:ident => $widen:ident($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let (a, b) = self.pop2_as($ty)?;
                let a = self.builder.ins().$widen(a);
                let b = self.builder.ins().$widen(b);
                let v = self.builder.ins().imul(a, b);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: widen both halves and add neighbouring lanes.
macro_rules! vextadd {
    ($($visit:ident => $lo:ident, $hi:ident($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let a = self.pop_as($ty)?;
                let v = self.extadd_pairwise(a, true_if_signed!($lo));
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// Whether a widen instruction name is the signed one.
macro_rules! true_if_signed {
    (swiden_low) => {
        true
    };
    (uwiden_low) => {
        false
    };
}

/// `fn $visit(&mut self, lane)`: extract lane `lane` of a `$ty` vector.
macro_rules! vextract {
    ($($visit:ident => $ty:expr $(, $ext:ident)?;)*) => {
        $(
            pub(super) fn $visit(&mut self, lane: u8) -> TResult {
                let a = self.pop_as($ty)?;
                let v = self.builder.ins().extractlane(a, lane);
                $( let v = self.builder.ins().$ext(I32, v); )?
                self.push(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self, lane)`: replace lane `lane` of a `$ty` vector.
macro_rules! vreplace {
    ($($visit:ident => $ty:expr $(, $narrow:expr)?;)*) => {
        $(
            pub(super) fn $visit(&mut self, lane: u8) -> TResult {
                let x = self.pop()?;
                $( let x = self.builder.ins().ireduce($narrow, x); )?
                let a = self.pop_as($ty)?;
                let v = self.builder.ins().insertlane(a, x, lane);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: splat a scalar into every `$ty` lane.
macro_rules! vsplat {
    ($($visit:ident => $ty:expr $(, $narrow:expr)?;)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let x = self.pop()?;
                $( let x = self.builder.ins().ireduce($narrow, x); )?
                let v = self.builder.ins().splat($ty, x);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: `all_true` / `bitmask` of a `$ty` vector.
macro_rules! vreduce {
    ($($visit:ident => all_true($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let a = self.pop_as($ty)?;
                let t = self.builder.ins().vall_true(a);
                let v = self.builder.ins().uextend(I32, t);
                self.push(v);
                Ok(())
            }
        )*
    };
    ($($visit:ident => bitmask($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let a = self.pop_as($ty)?;
                let v = self.builder.ins().vhigh_bits(I32, a);
                self.push(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self, memarg)`: extending 64-bit load (`v128.loadNxM_s/u`).
macro_rules! vload_extend {
    ($($visit:ident => $op:ident;)*) => {
        $(
            pub(super) fn $visit(&mut self, memarg: MemArg) -> TResult {
                let index = self.pop()?;
                let (addr, offset) = self.heap_address(&memarg, index, 8)?;
                let v = self.builder.ins().$op(heap_flags(), addr, offset);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self, memarg)`: load one `$lane` scalar and splat it.
macro_rules! vload_splat {
    ($($visit:ident => $lane:expr, $ty:expr;)*) => {
        $(
            pub(super) fn $visit(&mut self, memarg: MemArg) -> TResult {
                let x = self.load_scalar(&memarg, $lane)?;
                let v = self.builder.ins().splat($ty, x);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self, memarg, lane)`: load one scalar into lane `lane`.
macro_rules! vload_lane {
    ($($visit:ident => $lane:expr, $ty:expr;)*) => {
        $(
            pub(super) fn $visit(&mut self, memarg: MemArg, lane: u8) -> TResult {
                let a = self.pop_as($ty)?;
                let x = self.load_scalar(&memarg, $lane)?;
                let v = self.builder.ins().insertlane(a, x, lane);
                self.push_v(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self, memarg, lane)`: store lane `lane` as one scalar.
macro_rules! vstore_lane {
    ($($visit:ident => $ty:expr;)*) => {
        $(
            pub(super) fn $visit(&mut self, memarg: MemArg, lane: u8) -> TResult {
                let a = self.pop_as($ty)?;
                let index = self.pop()?;
                let x = self.builder.ins().extractlane(a, lane);
                let bytes = u64::from($ty.lane_type().bytes());
                let (addr, offset) = self.heap_address(&memarg, index, bytes)?;
                self.builder.ins().store(heap_flags(), x, addr, offset);
                Ok(())
            }
        )*
    };
}

impl FuncTranslator<'_, '_> {
    /// Pop a `v128` and view it as `ty`.
    fn pop_as(&mut self, ty: ir::Type) -> TResult<ir::Value> {
        let v = self.pop()?;
        Ok(self.cast(ty, v))
    }

    /// Pop two `v128`s (bottom first) and view them as `ty`.
    fn pop2_as(&mut self, ty: ir::Type) -> TResult<(ir::Value, ir::Value)> {
        let (a, b) = self.pop2()?;
        Ok((self.cast(ty, a), self.cast(ty, b)))
    }

    /// Pop three `v128`s (bottom first) and view them as `ty`.
    fn pop3_as(&mut self, ty: ir::Type) -> TResult<(ir::Value, ir::Value, ir::Value)> {
        let (a, b, c) = self.pop3()?;
        Ok((self.cast(ty, a), self.cast(ty, b), self.cast(ty, c)))
    }

    /// Push a vector result in the canonical `I8X16` representation.
    fn push_v(&mut self, v: ir::Value) {
        let v = self.cast(I8X16, v);
        self.push(v);
    }

    /// Bitcast a vector to `ty` unless it already has that type.
    fn cast(&mut self, ty: ir::Type, v: ir::Value) -> ir::Value {
        if self.builder.func.dfg.value_type(v) == ty {
            v
        } else {
            self.builder.ins().bitcast(ty, cast_flags(), v)
        }
    }

    /// A vector constant of type `ty` from its 16 little-endian bytes.
    fn vconst(&mut self, ty: ir::Type, bytes: [u8; 16]) -> ir::Value {
        let handle = self
            .builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(bytes.to_vec()));
        self.builder.ins().vconst(ty, handle)
    }

    /// Pop an address and load one `ty` scalar from it.
    fn load_scalar(&mut self, memarg: &MemArg, ty: ir::Type) -> TResult<ir::Value> {
        let index = self.pop()?;
        let (addr, offset) = self.heap_address(memarg, index, u64::from(ty.bytes()))?;
        Ok(self.builder.ins().load(ty, heap_flags(), addr, offset))
    }

    /// Widen both halves of `a` and add neighbouring lanes (one lane type up).
    fn extadd_pairwise(&mut self, a: ir::Value, signed: bool) -> ir::Value {
        let (lo, hi) = if signed {
            let lo = self.builder.ins().swiden_low(a);
            (lo, self.builder.ins().swiden_high(a))
        } else {
            let lo = self.builder.ins().uwiden_low(a);
            (lo, self.builder.ins().uwiden_high(a))
        };
        self.builder.ins().iadd_pairwise(lo, hi)
    }

    /// Lane-wise `a * b` (of `ty`) summed in pairs, one lane type up,
    /// signed: `i32x4.dot_i16x8_s` and the relaxed `i16x8` dot product.
    fn dot_pairs(&mut self, a: ir::Value, b: ir::Value) -> ir::Value {
        let a_lo = self.builder.ins().swiden_low(a);
        let a_hi = self.builder.ins().swiden_high(a);
        let b_lo = self.builder.ins().swiden_low(b);
        let b_hi = self.builder.ins().swiden_high(b);
        let lo = self.builder.ins().imul(a_lo, b_lo);
        let hi = self.builder.ins().imul(a_hi, b_hi);
        self.builder.ins().iadd_pairwise(lo, hi)
    }

    // ---- memory ----------------------------------------------------------

    pub(super) fn visit_v128_load(&mut self, memarg: MemArg) -> TResult {
        let index = self.pop()?;
        let (addr, offset) = self.heap_address(&memarg, index, 16)?;
        let v = self.builder.ins().load(I8X16, heap_flags(), addr, offset);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_v128_store(&mut self, memarg: MemArg) -> TResult {
        let a = self.pop_as(I8X16)?;
        let index = self.pop()?;
        let (addr, offset) = self.heap_address(&memarg, index, 16)?;
        self.builder.ins().store(heap_flags(), a, addr, offset);
        Ok(())
    }

    vload_extend! {
        visit_v128_load8x8_s => sload8x8;
        visit_v128_load8x8_u => uload8x8;
        visit_v128_load16x4_s => sload16x4;
        visit_v128_load16x4_u => uload16x4;
        visit_v128_load32x2_s => sload32x2;
        visit_v128_load32x2_u => uload32x2;
    }

    vload_splat! {
        visit_v128_load8_splat => I8, I8X16;
        visit_v128_load16_splat => I16, I16X8;
        visit_v128_load32_splat => I32, I32X4;
        visit_v128_load64_splat => I64, I64X2;
    }

    pub(super) fn visit_v128_load32_zero(&mut self, memarg: MemArg) -> TResult {
        let x = self.load_scalar(&memarg, I32)?;
        let v = self.builder.ins().scalar_to_vector(I32X4, x);
        self.push_v(v);
        Ok(())
    }

    pub(super) fn visit_v128_load64_zero(&mut self, memarg: MemArg) -> TResult {
        let x = self.load_scalar(&memarg, I64)?;
        let v = self.builder.ins().scalar_to_vector(I64X2, x);
        self.push_v(v);
        Ok(())
    }

    vload_lane! {
        visit_v128_load8_lane => I8, I8X16;
        visit_v128_load16_lane => I16, I16X8;
        visit_v128_load32_lane => I32, I32X4;
        visit_v128_load64_lane => I64, I64X2;
    }

    vstore_lane! {
        visit_v128_store8_lane => I8X16;
        visit_v128_store16_lane => I16X8;
        visit_v128_store32_lane => I32X4;
        visit_v128_store64_lane => I64X2;
    }

    // ---- constants, lanes, shuffles ----------------------------------------

    pub(super) fn visit_v128_const(&mut self, value: V128) -> TResult {
        let v = self.vconst(I8X16, value.bytes().to_owned());
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i8x16_shuffle(&mut self, lanes: [u8; 16]) -> TResult {
        let (a, b) = self.pop2_as(I8X16)?;
        let mask = self
            .builder
            .func
            .dfg
            .immediates
            .push(ConstantData::from(lanes.to_vec()));
        let v = self.builder.ins().shuffle(a, b, mask);
        self.push(v);
        Ok(())
    }

    vextract! {
        visit_i8x16_extract_lane_s => I8X16, sextend;
        visit_i8x16_extract_lane_u => I8X16, uextend;
        visit_i16x8_extract_lane_s => I16X8, sextend;
        visit_i16x8_extract_lane_u => I16X8, uextend;
        visit_i32x4_extract_lane => I32X4;
        visit_i64x2_extract_lane => I64X2;
        visit_f32x4_extract_lane => F32X4;
        visit_f64x2_extract_lane => F64X2;
    }

    vreplace! {
        visit_i8x16_replace_lane => I8X16, I8;
        visit_i16x8_replace_lane => I16X8, I16;
        visit_i32x4_replace_lane => I32X4;
        visit_i64x2_replace_lane => I64X2;
        visit_f32x4_replace_lane => F32X4;
        visit_f64x2_replace_lane => F64X2;
    }

    vsplat! {
        visit_i8x16_splat => I8X16, I8;
        visit_i16x8_splat => I16X8, I16;
        visit_i32x4_splat => I32X4;
        visit_i64x2_splat => I64X2;
        visit_f32x4_splat => F32X4;
        visit_f64x2_splat => F64X2;
    }

    vbinary! {
        visit_i8x16_swizzle => swizzle(I8X16);
        visit_i8x16_relaxed_swizzle => swizzle(I8X16);
    }

    // ---- comparisons -----------------------------------------------------

    vicmp! {
        visit_i8x16_eq => Equal(I8X16);
        visit_i8x16_ne => NotEqual(I8X16);
        visit_i8x16_lt_s => SignedLessThan(I8X16);
        visit_i8x16_lt_u => UnsignedLessThan(I8X16);
        visit_i8x16_gt_s => SignedGreaterThan(I8X16);
        visit_i8x16_gt_u => UnsignedGreaterThan(I8X16);
        visit_i8x16_le_s => SignedLessThanOrEqual(I8X16);
        visit_i8x16_le_u => UnsignedLessThanOrEqual(I8X16);
        visit_i8x16_ge_s => SignedGreaterThanOrEqual(I8X16);
        visit_i8x16_ge_u => UnsignedGreaterThanOrEqual(I8X16);
        visit_i16x8_eq => Equal(I16X8);
        visit_i16x8_ne => NotEqual(I16X8);
        visit_i16x8_lt_s => SignedLessThan(I16X8);
        visit_i16x8_lt_u => UnsignedLessThan(I16X8);
        visit_i16x8_gt_s => SignedGreaterThan(I16X8);
        visit_i16x8_gt_u => UnsignedGreaterThan(I16X8);
        visit_i16x8_le_s => SignedLessThanOrEqual(I16X8);
        visit_i16x8_le_u => UnsignedLessThanOrEqual(I16X8);
        visit_i16x8_ge_s => SignedGreaterThanOrEqual(I16X8);
        visit_i16x8_ge_u => UnsignedGreaterThanOrEqual(I16X8);
        visit_i32x4_eq => Equal(I32X4);
        visit_i32x4_ne => NotEqual(I32X4);
        visit_i32x4_lt_s => SignedLessThan(I32X4);
        visit_i32x4_lt_u => UnsignedLessThan(I32X4);
        visit_i32x4_gt_s => SignedGreaterThan(I32X4);
        visit_i32x4_gt_u => UnsignedGreaterThan(I32X4);
        visit_i32x4_le_s => SignedLessThanOrEqual(I32X4);
        visit_i32x4_le_u => UnsignedLessThanOrEqual(I32X4);
        visit_i32x4_ge_s => SignedGreaterThanOrEqual(I32X4);
        visit_i32x4_ge_u => UnsignedGreaterThanOrEqual(I32X4);
        visit_i64x2_eq => Equal(I64X2);
        visit_i64x2_ne => NotEqual(I64X2);
        visit_i64x2_lt_s => SignedLessThan(I64X2);
        visit_i64x2_gt_s => SignedGreaterThan(I64X2);
        visit_i64x2_le_s => SignedLessThanOrEqual(I64X2);
        visit_i64x2_ge_s => SignedGreaterThanOrEqual(I64X2);
    }

    vfcmp! {
        visit_f32x4_eq => Equal(F32X4);
        visit_f32x4_ne => NotEqual(F32X4);
        visit_f32x4_lt => LessThan(F32X4);
        visit_f32x4_gt => GreaterThan(F32X4);
        visit_f32x4_le => LessThanOrEqual(F32X4);
        visit_f32x4_ge => GreaterThanOrEqual(F32X4);
        visit_f64x2_eq => Equal(F64X2);
        visit_f64x2_ne => NotEqual(F64X2);
        visit_f64x2_lt => LessThan(F64X2);
        visit_f64x2_gt => GreaterThan(F64X2);
        visit_f64x2_le => LessThanOrEqual(F64X2);
        visit_f64x2_ge => GreaterThanOrEqual(F64X2);
    }

    // ---- bitwise -----------------------------------------------------------

    vunary! {
        visit_v128_not => bnot(I8X16);
    }

    vbinary! {
        visit_v128_and => band(I8X16);
        visit_v128_andnot => band_not(I8X16);
        visit_v128_or => bor(I8X16);
        visit_v128_xor => bxor(I8X16);
    }

    pub(super) fn visit_v128_bitselect(&mut self) -> TResult {
        let (a, b, c) = self.pop3_as(I8X16)?;
        let v = self.builder.ins().bitselect(c, a, b);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_v128_any_true(&mut self) -> TResult {
        let a = self.pop_as(I8X16)?;
        let t = self.builder.ins().vany_true(a);
        let v = self.builder.ins().uextend(I32, t);
        self.push(v);
        Ok(())
    }

    vreduce! {
        visit_i8x16_all_true => all_true(I8X16);
        visit_i16x8_all_true => all_true(I16X8);
        visit_i32x4_all_true => all_true(I32X4);
        visit_i64x2_all_true => all_true(I64X2);
    }

    vreduce! {
        visit_i8x16_bitmask => bitmask(I8X16);
        visit_i16x8_bitmask => bitmask(I16X8);
        visit_i32x4_bitmask => bitmask(I32X4);
        visit_i64x2_bitmask => bitmask(I64X2);
    }

    // ---- integer arithmetic ------------------------------------------------

    vunary! {
        visit_i8x16_abs => iabs(I8X16);
        visit_i16x8_abs => iabs(I16X8);
        visit_i32x4_abs => iabs(I32X4);
        visit_i64x2_abs => iabs(I64X2);
        visit_i8x16_neg => ineg(I8X16);
        visit_i16x8_neg => ineg(I16X8);
        visit_i32x4_neg => ineg(I32X4);
        visit_i64x2_neg => ineg(I64X2);
        visit_i8x16_popcnt => popcnt(I8X16);
        visit_i16x8_extend_low_i8x16_s => swiden_low(I8X16);
        visit_i16x8_extend_high_i8x16_s => swiden_high(I8X16);
        visit_i16x8_extend_low_i8x16_u => uwiden_low(I8X16);
        visit_i16x8_extend_high_i8x16_u => uwiden_high(I8X16);
        visit_i32x4_extend_low_i16x8_s => swiden_low(I16X8);
        visit_i32x4_extend_high_i16x8_s => swiden_high(I16X8);
        visit_i32x4_extend_low_i16x8_u => uwiden_low(I16X8);
        visit_i32x4_extend_high_i16x8_u => uwiden_high(I16X8);
        visit_i64x2_extend_low_i32x4_s => swiden_low(I32X4);
        visit_i64x2_extend_high_i32x4_s => swiden_high(I32X4);
        visit_i64x2_extend_low_i32x4_u => uwiden_low(I32X4);
        visit_i64x2_extend_high_i32x4_u => uwiden_high(I32X4);
    }

    vshift! {
        visit_i8x16_shl => ishl(I8X16);
        visit_i8x16_shr_s => sshr(I8X16);
        visit_i8x16_shr_u => ushr(I8X16);
        visit_i16x8_shl => ishl(I16X8);
        visit_i16x8_shr_s => sshr(I16X8);
        visit_i16x8_shr_u => ushr(I16X8);
        visit_i32x4_shl => ishl(I32X4);
        visit_i32x4_shr_s => sshr(I32X4);
        visit_i32x4_shr_u => ushr(I32X4);
        visit_i64x2_shl => ishl(I64X2);
        visit_i64x2_shr_s => sshr(I64X2);
        visit_i64x2_shr_u => ushr(I64X2);
    }

    vbinary! {
        visit_i8x16_narrow_i16x8_s => snarrow(I16X8);
        visit_i8x16_narrow_i16x8_u => unarrow(I16X8);
        visit_i16x8_narrow_i32x4_s => snarrow(I32X4);
        visit_i16x8_narrow_i32x4_u => unarrow(I32X4);
        visit_i8x16_add => iadd(I8X16);
        visit_i16x8_add => iadd(I16X8);
        visit_i32x4_add => iadd(I32X4);
        visit_i64x2_add => iadd(I64X2);
        visit_i8x16_sub => isub(I8X16);
        visit_i16x8_sub => isub(I16X8);
        visit_i32x4_sub => isub(I32X4);
        visit_i64x2_sub => isub(I64X2);
        visit_i16x8_mul => imul(I16X8);
        visit_i32x4_mul => imul(I32X4);
        visit_i64x2_mul => imul(I64X2);
        visit_i8x16_add_sat_s => sadd_sat(I8X16);
        visit_i8x16_add_sat_u => uadd_sat(I8X16);
        visit_i8x16_sub_sat_s => ssub_sat(I8X16);
        visit_i8x16_sub_sat_u => usub_sat(I8X16);
        visit_i16x8_add_sat_s => sadd_sat(I16X8);
        visit_i16x8_add_sat_u => uadd_sat(I16X8);
        visit_i16x8_sub_sat_s => ssub_sat(I16X8);
        visit_i16x8_sub_sat_u => usub_sat(I16X8);
        visit_i8x16_min_s => smin(I8X16);
        visit_i8x16_min_u => umin(I8X16);
        visit_i8x16_max_s => smax(I8X16);
        visit_i8x16_max_u => umax(I8X16);
        visit_i16x8_min_s => smin(I16X8);
        visit_i16x8_min_u => umin(I16X8);
        visit_i16x8_max_s => smax(I16X8);
        visit_i16x8_max_u => umax(I16X8);
        visit_i32x4_min_s => smin(I32X4);
        visit_i32x4_min_u => umin(I32X4);
        visit_i32x4_max_s => smax(I32X4);
        visit_i32x4_max_u => umax(I32X4);
        visit_i8x16_avgr_u => avg_round(I8X16);
        visit_i16x8_avgr_u => avg_round(I16X8);
        visit_i16x8_q15mulr_sat_s => sqmul_round_sat(I16X8);
        visit_i16x8_relaxed_q15mulr_s => sqmul_round_sat(I16X8);
    }

    vextmul! {
        visit_i16x8_extmul_low_i8x16_s => swiden_low(I8X16);
        visit_i16x8_extmul_high_i8x16_s => swiden_high(I8X16);
        visit_i16x8_extmul_low_i8x16_u => uwiden_low(I8X16);
        visit_i16x8_extmul_high_i8x16_u => uwiden_high(I8X16);
        visit_i32x4_extmul_low_i16x8_s => swiden_low(I16X8);
        visit_i32x4_extmul_high_i16x8_s => swiden_high(I16X8);
        visit_i32x4_extmul_low_i16x8_u => uwiden_low(I16X8);
        visit_i32x4_extmul_high_i16x8_u => uwiden_high(I16X8);
        visit_i64x2_extmul_low_i32x4_s => swiden_low(I32X4);
        visit_i64x2_extmul_high_i32x4_s => swiden_high(I32X4);
        visit_i64x2_extmul_low_i32x4_u => uwiden_low(I32X4);
        visit_i64x2_extmul_high_i32x4_u => uwiden_high(I32X4);
    }

    vextadd! {
        visit_i16x8_extadd_pairwise_i8x16_s => swiden_low, swiden_high(I8X16);
        visit_i16x8_extadd_pairwise_i8x16_u => uwiden_low, uwiden_high(I8X16);
        visit_i32x4_extadd_pairwise_i16x8_s => swiden_low, swiden_high(I16X8);
        visit_i32x4_extadd_pairwise_i16x8_u => uwiden_low, uwiden_high(I16X8);
    }

    pub(super) fn visit_i32x4_dot_i16x8_s(&mut self) -> TResult {
        let (a, b) = self.pop2_as(I16X8)?;
        let v = self.dot_pairs(a, b);
        self.push_v(v);
        Ok(())
    }

    // ---- float arithmetic --------------------------------------------------

    vunary! {
        visit_f32x4_ceil => ceil(F32X4);
        visit_f32x4_floor => floor(F32X4);
        visit_f32x4_trunc => trunc(F32X4);
        visit_f32x4_nearest => nearest(F32X4);
        visit_f32x4_abs => fabs(F32X4);
        visit_f32x4_neg => fneg(F32X4);
        visit_f32x4_sqrt => sqrt(F32X4);
        visit_f64x2_ceil => ceil(F64X2);
        visit_f64x2_floor => floor(F64X2);
        visit_f64x2_trunc => trunc(F64X2);
        visit_f64x2_nearest => nearest(F64X2);
        visit_f64x2_abs => fabs(F64X2);
        visit_f64x2_neg => fneg(F64X2);
        visit_f64x2_sqrt => sqrt(F64X2);
        visit_f32x4_demote_f64x2_zero => fvdemote(F64X2);
        visit_f64x2_promote_low_f32x4 => fvpromote_low(F32X4);
    }

    vbinary! {
        visit_f32x4_add => fadd(F32X4);
        visit_f32x4_sub => fsub(F32X4);
        visit_f32x4_mul => fmul(F32X4);
        visit_f32x4_div => fdiv(F32X4);
        visit_f32x4_min => fmin(F32X4);
        visit_f32x4_max => fmax(F32X4);
        visit_f64x2_add => fadd(F64X2);
        visit_f64x2_sub => fsub(F64X2);
        visit_f64x2_mul => fmul(F64X2);
        visit_f64x2_div => fdiv(F64X2);
        visit_f64x2_min => fmin(F64X2);
        visit_f64x2_max => fmax(F64X2);
        visit_f32x4_relaxed_min => fmin(F32X4);
        visit_f32x4_relaxed_max => fmax(F32X4);
        visit_f64x2_relaxed_min => fmin(F64X2);
        visit_f64x2_relaxed_max => fmax(F64X2);
    }

    /// `pmin(a, b) = b < a ? b : a`, `pmax(a, b) = a < b ? b : a`.
    fn pseudo_min_max(&mut self, ty: ir::Type, max: bool) -> TResult {
        let (a, b) = self.pop2_as(ty)?;
        let mask = if max {
            self.builder.ins().fcmp(FloatCC::LessThan, a, b)
        } else {
            self.builder.ins().fcmp(FloatCC::LessThan, b, a)
        };
        let mask = self.cast(ty, mask);
        let v = self.builder.ins().bitselect(mask, b, a);
        self.push_v(v);
        Ok(())
    }

    pub(super) fn visit_f32x4_pmin(&mut self) -> TResult {
        self.pseudo_min_max(F32X4, false)
    }

    pub(super) fn visit_f32x4_pmax(&mut self) -> TResult {
        self.pseudo_min_max(F32X4, true)
    }

    pub(super) fn visit_f64x2_pmin(&mut self) -> TResult {
        self.pseudo_min_max(F64X2, false)
    }

    pub(super) fn visit_f64x2_pmax(&mut self) -> TResult {
        self.pseudo_min_max(F64X2, true)
    }

    // ---- conversions -------------------------------------------------------

    vconvert! {
        visit_i32x4_trunc_sat_f32x4_s => fcvt_to_sint_sat(F32X4 => I32X4);
        visit_i32x4_trunc_sat_f32x4_u => fcvt_to_uint_sat(F32X4 => I32X4);
        visit_i32x4_relaxed_trunc_f32x4_s => fcvt_to_sint_sat(F32X4 => I32X4);
        visit_i32x4_relaxed_trunc_f32x4_u => fcvt_to_uint_sat(F32X4 => I32X4);
        visit_f32x4_convert_i32x4_s => fcvt_from_sint(I32X4 => F32X4);
        visit_f32x4_convert_i32x4_u => fcvt_from_uint(I32X4 => F32X4);
    }

    /// `f64x2.convert_low_i32x4_{s,u}`: widen the low lanes, then convert.
    fn convert_low(&mut self, signed: bool) -> TResult {
        let a = self.pop_as(I32X4)?;
        let v = if signed {
            let w = self.builder.ins().swiden_low(a);
            self.builder.ins().fcvt_from_sint(F64X2, w)
        } else {
            let w = self.builder.ins().uwiden_low(a);
            self.builder.ins().fcvt_from_uint(F64X2, w)
        };
        self.push_v(v);
        Ok(())
    }

    pub(super) fn visit_f64x2_convert_low_i32x4_s(&mut self) -> TResult {
        self.convert_low(true)
    }

    pub(super) fn visit_f64x2_convert_low_i32x4_u(&mut self) -> TResult {
        self.convert_low(false)
    }

    /// `i32x4.trunc_sat_f64x2_{s,u}_zero`: saturate to `i64x2`, then narrow
    /// (saturating) against a zero vector for the high lanes.
    fn trunc_sat_zero(&mut self, signed: bool) -> TResult {
        let a = self.pop_as(F64X2)?;
        let zero = self.vconst(I64X2, [0; 16]);
        let v = if signed {
            let w = self.builder.ins().fcvt_to_sint_sat(I64X2, a);
            self.builder.ins().snarrow(w, zero)
        } else {
            let w = self.builder.ins().fcvt_to_uint_sat(I64X2, a);
            self.builder.ins().uunarrow(w, zero)
        };
        self.push_v(v);
        Ok(())
    }

    pub(super) fn visit_i32x4_trunc_sat_f64x2_s_zero(&mut self) -> TResult {
        self.trunc_sat_zero(true)
    }

    pub(super) fn visit_i32x4_trunc_sat_f64x2_u_zero(&mut self) -> TResult {
        self.trunc_sat_zero(false)
    }

    pub(super) fn visit_i32x4_relaxed_trunc_f64x2_s_zero(&mut self) -> TResult {
        self.trunc_sat_zero(true)
    }

    pub(super) fn visit_i32x4_relaxed_trunc_f64x2_u_zero(&mut self) -> TResult {
        self.trunc_sat_zero(false)
    }

    // ---- relaxed SIMD ------------------------------------------------------

    /// `a * b + c` (unfused), or `-(a * b) + c` when `negate`.
    fn relaxed_madd(&mut self, ty: ir::Type, negate: bool) -> TResult {
        let (a, b, c) = self.pop3_as(ty)?;
        let mut p = self.builder.ins().fmul(a, b);
        if negate {
            p = self.builder.ins().fneg(p);
        }
        let v = self.builder.ins().fadd(p, c);
        self.push_v(v);
        Ok(())
    }

    pub(super) fn visit_f32x4_relaxed_madd(&mut self) -> TResult {
        self.relaxed_madd(F32X4, false)
    }

    pub(super) fn visit_f32x4_relaxed_nmadd(&mut self) -> TResult {
        self.relaxed_madd(F32X4, true)
    }

    pub(super) fn visit_f64x2_relaxed_madd(&mut self) -> TResult {
        self.relaxed_madd(F64X2, false)
    }

    pub(super) fn visit_f64x2_relaxed_nmadd(&mut self) -> TResult {
        self.relaxed_madd(F64X2, true)
    }

    /// Relaxed lane select is `v128.bitselect`, whatever the lane width.
    fn relaxed_laneselect(&mut self) -> TResult {
        self.visit_v128_bitselect()
    }

    pub(super) fn visit_i8x16_relaxed_laneselect(&mut self) -> TResult {
        self.relaxed_laneselect()
    }

    pub(super) fn visit_i16x8_relaxed_laneselect(&mut self) -> TResult {
        self.relaxed_laneselect()
    }

    pub(super) fn visit_i32x4_relaxed_laneselect(&mut self) -> TResult {
        self.relaxed_laneselect()
    }

    pub(super) fn visit_i64x2_relaxed_laneselect(&mut self) -> TResult {
        self.relaxed_laneselect()
    }

    /// Signed-by-signed `i8` products summed in pairs (wrapping) to `i16x8`.
    pub(super) fn visit_i16x8_relaxed_dot_i8x16_i7x16_s(&mut self) -> TResult {
        let (a, b) = self.pop2_as(I8X16)?;
        let v = self.dot_pairs(a, b);
        self.push_v(v);
        Ok(())
    }

    /// The `i16x8` dot product above, pairwise-added to `i32x4`, plus `c`.
    pub(super) fn visit_i32x4_relaxed_dot_i8x16_i7x16_add_s(&mut self) -> TResult {
        let c = self.pop_as(I32X4)?;
        let (a, b) = self.pop2_as(I8X16)?;
        let d = self.dot_pairs(a, b);
        let s = self.extadd_pairwise(d, true);
        let v = self.builder.ins().iadd(s, c);
        self.push_v(v);
        Ok(())
    }
}
