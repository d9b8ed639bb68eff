//! Numeric operators: constants, integer and float arithmetic, comparisons,
//! conversions, sign extension and reinterpretation.
//!
//! Cranelift's instructions already have wasm semantics where it matters:
//! shift and rotate amounts are taken modulo the width; `sdiv`/`udiv`/`srem`/
//! `urem` trap on a zero divisor and `sdiv` on `INT_MIN / -1`, while
//! `srem(INT_MIN, -1)` is `0`; `fmin`/`fmax` propagate NaN and order `-0 <
//! +0`; `nearest` rounds ties to even; `fcvt_to_{s,u}int` trap with
//! `BAD_CONVERSION_TO_INTEGER` on NaN and `INTEGER_OVERFLOW` out of range,
//! and the `_sat` forms saturate (NaN to 0).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::types::{F32, F64, I8, I16, I32, I64};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData};
use wasmparser::{Ieee32 as WasmIeee32, Ieee64 as WasmIeee64};

use super::func::{FuncTranslator, TResult};

/// `fn $visit(&mut self)`: pop two operands, push `ins().$op(a, b)`.
macro_rules! binary {
    ($($visit:ident => $op:ident;)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let (a, b) = self.pop2()?;
                let v = self.builder.ins().$op(a, b);
                self.push(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: pop one operand, push `ins().$op(a)`.
macro_rules! unary {
    ($($visit:ident => $op:ident;)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let a = self.pop()?;
                let v = self.builder.ins().$op(a);
                self.push(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: pop one operand, push `ins().$op($ty, a)`.
macro_rules! convert {
    ($($visit:ident => $op:ident($ty:expr);)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let a = self.pop()?;
                let v = self.builder.ins().$op($ty, a);
                self.push(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: compare two integers, push an `i32` 0 or 1.
macro_rules! icmp {
    ($($visit:ident => $cc:ident;)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let (a, b) = self.pop2()?;
                let c = self.builder.ins().icmp(IntCC::$cc, a, b);
                let v = self.builder.ins().uextend(I32, c);
                self.push(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: compare two floats, push an `i32` 0 or 1.
macro_rules! fcmp {
    ($($visit:ident => $cc:ident;)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let (a, b) = self.pop2()?;
                let c = self.builder.ins().fcmp(FloatCC::$cc, a, b);
                let v = self.builder.ins().uextend(I32, c);
                self.push(v);
                Ok(())
            }
        )*
    };
}

/// `fn $visit(&mut self)`: sign-extend the low `$from` bits in place.
macro_rules! extend_in_place {
    ($($visit:ident => $from:expr, $to:expr;)*) => {
        $(
            pub(super) fn $visit(&mut self) -> TResult {
                let a = self.pop()?;
                let narrow = self.builder.ins().ireduce($from, a);
                let v = self.builder.ins().sextend($to, narrow);
                self.push(v);
                Ok(())
            }
        )*
    };
}

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_i32_const(&mut self, value: i32) -> TResult {
        let v = self.builder.ins().iconst(I32, i64::from(value));
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i64_const(&mut self, value: i64) -> TResult {
        let v = self.builder.ins().iconst(I64, value);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_f32_const(&mut self, value: WasmIeee32) -> TResult {
        let v = self.builder.ins().f32const(Ieee32::with_bits(value.bits()));
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_f64_const(&mut self, value: WasmIeee64) -> TResult {
        let v = self.builder.ins().f64const(Ieee64::with_bits(value.bits()));
        self.push(v);
        Ok(())
    }

    fn eqz(&mut self) -> TResult {
        let a = self.pop()?;
        let c = self.builder.ins().icmp_imm_u(IntCC::Equal, a, 0);
        let v = self.builder.ins().uextend(I32, c);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i32_eqz(&mut self) -> TResult {
        self.eqz()
    }

    pub(super) fn visit_i64_eqz(&mut self) -> TResult {
        self.eqz()
    }

    icmp! {
        visit_i32_eq => Equal;
        visit_i32_ne => NotEqual;
        visit_i32_lt_s => SignedLessThan;
        visit_i32_lt_u => UnsignedLessThan;
        visit_i32_gt_s => SignedGreaterThan;
        visit_i32_gt_u => UnsignedGreaterThan;
        visit_i32_le_s => SignedLessThanOrEqual;
        visit_i32_le_u => UnsignedLessThanOrEqual;
        visit_i32_ge_s => SignedGreaterThanOrEqual;
        visit_i32_ge_u => UnsignedGreaterThanOrEqual;
        visit_i64_eq => Equal;
        visit_i64_ne => NotEqual;
        visit_i64_lt_s => SignedLessThan;
        visit_i64_lt_u => UnsignedLessThan;
        visit_i64_gt_s => SignedGreaterThan;
        visit_i64_gt_u => UnsignedGreaterThan;
        visit_i64_le_s => SignedLessThanOrEqual;
        visit_i64_le_u => UnsignedLessThanOrEqual;
        visit_i64_ge_s => SignedGreaterThanOrEqual;
        visit_i64_ge_u => UnsignedGreaterThanOrEqual;
    }

    fcmp! {
        visit_f32_eq => Equal;
        visit_f32_ne => NotEqual;
        visit_f32_lt => LessThan;
        visit_f32_gt => GreaterThan;
        visit_f32_le => LessThanOrEqual;
        visit_f32_ge => GreaterThanOrEqual;
        visit_f64_eq => Equal;
        visit_f64_ne => NotEqual;
        visit_f64_lt => LessThan;
        visit_f64_gt => GreaterThan;
        visit_f64_le => LessThanOrEqual;
        visit_f64_ge => GreaterThanOrEqual;
    }

    unary! {
        visit_i32_clz => clz;
        visit_i32_ctz => ctz;
        visit_i32_popcnt => popcnt;
        visit_i64_clz => clz;
        visit_i64_ctz => ctz;
        visit_i64_popcnt => popcnt;
        visit_f32_abs => fabs;
        visit_f32_neg => fneg;
        visit_f32_ceil => ceil;
        visit_f32_floor => floor;
        visit_f32_trunc => trunc;
        visit_f32_nearest => nearest;
        visit_f32_sqrt => sqrt;
        visit_f64_abs => fabs;
        visit_f64_neg => fneg;
        visit_f64_ceil => ceil;
        visit_f64_floor => floor;
        visit_f64_trunc => trunc;
        visit_f64_nearest => nearest;
        visit_f64_sqrt => sqrt;
    }

    binary! {
        visit_i32_add => iadd;
        visit_i32_sub => isub;
        visit_i32_mul => imul;
        visit_i32_div_s => sdiv;
        visit_i32_div_u => udiv;
        visit_i32_rem_s => srem;
        visit_i32_rem_u => urem;
        visit_i32_and => band;
        visit_i32_or => bor;
        visit_i32_xor => bxor;
        visit_i32_shl => ishl;
        visit_i32_shr_s => sshr;
        visit_i32_shr_u => ushr;
        visit_i32_rotl => rotl;
        visit_i32_rotr => rotr;
        visit_i64_add => iadd;
        visit_i64_sub => isub;
        visit_i64_mul => imul;
        visit_i64_div_s => sdiv;
        visit_i64_div_u => udiv;
        visit_i64_rem_s => srem;
        visit_i64_rem_u => urem;
        visit_i64_and => band;
        visit_i64_or => bor;
        visit_i64_xor => bxor;
        visit_i64_shl => ishl;
        visit_i64_shr_s => sshr;
        visit_i64_shr_u => ushr;
        visit_i64_rotl => rotl;
        visit_i64_rotr => rotr;
        visit_f32_add => fadd;
        visit_f32_sub => fsub;
        visit_f32_mul => fmul;
        visit_f32_div => fdiv;
        visit_f32_min => fmin;
        visit_f32_max => fmax;
        visit_f32_copysign => fcopysign;
        visit_f64_add => fadd;
        visit_f64_sub => fsub;
        visit_f64_mul => fmul;
        visit_f64_div => fdiv;
        visit_f64_min => fmin;
        visit_f64_max => fmax;
        visit_f64_copysign => fcopysign;
    }

    convert! {
        visit_i32_wrap_i64 => ireduce(I32);
        visit_i64_extend_i32_s => sextend(I64);
        visit_i64_extend_i32_u => uextend(I64);
        visit_i32_trunc_f32_s => fcvt_to_sint(I32);
        visit_i32_trunc_f32_u => fcvt_to_uint(I32);
        visit_i32_trunc_f64_s => fcvt_to_sint(I32);
        visit_i32_trunc_f64_u => fcvt_to_uint(I32);
        visit_i64_trunc_f32_s => fcvt_to_sint(I64);
        visit_i64_trunc_f32_u => fcvt_to_uint(I64);
        visit_i64_trunc_f64_s => fcvt_to_sint(I64);
        visit_i64_trunc_f64_u => fcvt_to_uint(I64);
        visit_i32_trunc_sat_f32_s => fcvt_to_sint_sat(I32);
        visit_i32_trunc_sat_f32_u => fcvt_to_uint_sat(I32);
        visit_i32_trunc_sat_f64_s => fcvt_to_sint_sat(I32);
        visit_i32_trunc_sat_f64_u => fcvt_to_uint_sat(I32);
        visit_i64_trunc_sat_f32_s => fcvt_to_sint_sat(I64);
        visit_i64_trunc_sat_f32_u => fcvt_to_uint_sat(I64);
        visit_i64_trunc_sat_f64_s => fcvt_to_sint_sat(I64);
        visit_i64_trunc_sat_f64_u => fcvt_to_uint_sat(I64);
        visit_f32_convert_i32_s => fcvt_from_sint(F32);
        visit_f32_convert_i32_u => fcvt_from_uint(F32);
        visit_f32_convert_i64_s => fcvt_from_sint(F32);
        visit_f32_convert_i64_u => fcvt_from_uint(F32);
        visit_f64_convert_i32_s => fcvt_from_sint(F64);
        visit_f64_convert_i32_u => fcvt_from_uint(F64);
        visit_f64_convert_i64_s => fcvt_from_sint(F64);
        visit_f64_convert_i64_u => fcvt_from_uint(F64);
        visit_f32_demote_f64 => fdemote(F32);
        visit_f64_promote_f32 => fpromote(F64);
    }

    extend_in_place! {
        visit_i32_extend8_s => I8, I32;
        visit_i32_extend16_s => I16, I32;
        visit_i64_extend8_s => I8, I64;
        visit_i64_extend16_s => I16, I64;
        visit_i64_extend32_s => I32, I64;
    }

    fn reinterpret(&mut self, to: cranelift_codegen::ir::Type) -> TResult {
        let a = self.pop()?;
        let v = self.builder.ins().bitcast(to, MemFlagsData::new(), a);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i32_reinterpret_f32(&mut self) -> TResult {
        self.reinterpret(I32)
    }

    pub(super) fn visit_i64_reinterpret_f64(&mut self) -> TResult {
        self.reinterpret(I64)
    }

    pub(super) fn visit_f32_reinterpret_i32(&mut self) -> TResult {
        self.reinterpret(F32)
    }

    pub(super) fn visit_f64_reinterpret_i64(&mut self) -> TResult {
        self.reinterpret(F64)
    }
}
