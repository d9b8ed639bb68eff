//! Reference operators: `ref.null`, `ref.is_null`, `ref.func`.
//!
//! A reference is a pointer-sized value and null is `0` (see the
//! conventions in [`super::environ`]).

use cranelift_codegen::ir::InstBuilder;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I32;
use wasmparser::HeapType;

use super::environ::FuncIndex;
use super::func::{FuncTranslator, TResult};

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
}
