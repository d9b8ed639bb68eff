//! The wide-arithmetic proposal: 128-bit addition and subtraction on pairs
//! of `i64` halves, and the full 128-bit product of two `i64`s.
//!
//! `i64.add128`/`i64.sub128` take `(lhs_lo lhs_hi rhs_lo rhs_hi)` and push
//! `(lo hi)`: the halves are glued into an `I128` with `iconcat`, added or
//! subtracted there (Cranelift lowers it to `add`/`adc`, `sub`/`sbb`) and
//! split back with `isplit`. `i64.mul_wide_{s,u}` multiply their operands
//! sign- or zero-extended to `I128`: Cranelift matches `imul` of two
//! extended `i64`s and emits one widening multiply (x86-64 `imul`/`mul`
//! into `rdx:rax`) where `imul` plus `smulhi`/`umulhi` would take two.

use cranelift_codegen::ir::types::I128;
use cranelift_codegen::ir::{InstBuilder, Value};

use super::func::{FuncTranslator, TResult};

impl FuncTranslator<'_, '_> {
    /// Pop `(a_lo a_hi b_lo b_hi)` and return the two 128-bit operands.
    fn pop_two_i128(&mut self) -> TResult<(Value, Value)> {
        let (b_lo, b_hi) = self.pop2()?;
        let (a_lo, a_hi) = self.pop2()?;
        let a = self.builder.ins().iconcat(a_lo, a_hi);
        let b = self.builder.ins().iconcat(b_lo, b_hi);
        Ok((a, b))
    }

    /// Push a 128-bit value as its low then high `i64` half.
    fn push_i128(&mut self, v: Value) {
        let (lo, hi) = self.builder.ins().isplit(v);
        self.push(lo);
        self.push(hi);
    }

    pub(super) fn visit_i64_add128(&mut self) -> TResult {
        let (a, b) = self.pop_two_i128()?;
        let sum = self.builder.ins().iadd(a, b);
        self.push_i128(sum);
        Ok(())
    }

    pub(super) fn visit_i64_sub128(&mut self) -> TResult {
        let (a, b) = self.pop_two_i128()?;
        let difference = self.builder.ins().isub(a, b);
        self.push_i128(difference);
        Ok(())
    }

    pub(super) fn visit_i64_mul_wide_s(&mut self) -> TResult {
        let (a, b) = self.pop2()?;
        let a = self.builder.ins().sextend(I128, a);
        let b = self.builder.ins().sextend(I128, b);
        let product = self.builder.ins().imul(a, b);
        self.push_i128(product);
        Ok(())
    }

    pub(super) fn visit_i64_mul_wide_u(&mut self) -> TResult {
        let (a, b) = self.pop2()?;
        let a = self.builder.ins().uextend(I128, a);
        let b = self.builder.ins().uextend(I128, b);
        let product = self.builder.ins().imul(a, b);
        self.push_i128(product);
        Ok(())
    }
}
