//! Reference operators: `ref.null`, `ref.is_null`, `ref.func`, and the
//! typed function references' `ref.as_non_null`, `br_on_null` and
//! `br_on_non_null` (their calls are in [`super::call`]).
//!
//! A reference is a pointer-sized value and null is `0` (see the
//! conventions in [`super::environ`]). Types are the validator's business:
//! a `(ref $t)` is the same machine value as a `funcref`.

use cranelift_codegen::ir::InstBuilder;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I32;
use wasmparser::HeapType;

use super::environ::FuncIndex;
use super::func::{FuncTranslator, TResult};
use super::trap_codes as tc;

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_ref_null(&mut self, _hty: HeapType) -> TResult {
        let v = self.builder.ins().iconst(self.pointer_type, 0);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_ref_is_null(&mut self) -> TResult {
        let r = self.pop()?;
        let c = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
        let v = self.builder.ins().uextend(I32, c);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_ref_func(&mut self, function_index: u32) -> TResult {
        let v = self
            .env
            .ref_func(
                &mut self.builder,
                self.vmctx,
                FuncIndex::from_u32(function_index),
            )
            .map_err(|e| self.env_err(e))?;
        self.push(v);
        Ok(())
    }

    /// `ref.as_non_null`: trap "null reference" on null, else leave the
    /// reference where it is.
    pub(super) fn visit_ref_as_non_null(&mut self) -> TResult {
        let r = self.pop()?;
        self.builder.ins().trapz(r, tc::NULL_REFERENCE);
        self.push(r);
        Ok(())
    }

    /// `br_on_null l`: branch to `l` (without the reference) when it is
    /// null, else continue with it on the stack.
    pub(super) fn visit_br_on_null(&mut self, relative_depth: u32) -> TResult {
        let r = self.pop()?;
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
        // `br_if` takes the condition from the stack and the branch values
        // under it, releasing any legacy catches the branch leaves.
        self.push(is_null);
        self.visit_br_if(relative_depth)?;
        self.push(r);
        Ok(())
    }

    /// `br_on_non_null l`: branch to `l` with the reference when it is not
    /// null, else drop it and continue.
    pub(super) fn visit_br_on_non_null(&mut self, relative_depth: u32) -> TResult {
        let r = self.pop()?;
        self.push(r);
        // The reference is both the last branch value and the condition
        // (non-zero = non-null = taken).
        self.push(r);
        self.visit_br_if(relative_depth)?;
        self.pop()?;
        Ok(())
    }
}
