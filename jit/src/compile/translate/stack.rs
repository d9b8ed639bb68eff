//! Operand-stack, local and global operators: `drop`, `select`, `local.*`,
//! `global.*`.

use cranelift_codegen::ir::{InstBuilder, MemFlagsData};
use wasmparser::{ValType, WasmModuleResources};

use super::TranslateError;
use super::environ::GlobalIndex;
use super::func::{FuncTranslator, TResult};

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_drop(&mut self) -> TResult {
        self.pop()?;
        Ok(())
    }

    pub(super) fn visit_select(&mut self) -> TResult {
        let (a, b, cond) = self.pop3()?;
        let v = self.builder.ins().select(cond, a, b);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_typed_select(&mut self, _ty: ValType) -> TResult {
        self.visit_select()
    }

    pub(super) fn visit_typed_select_multi(&mut self, _tys: Vec<ValType>) -> TResult {
        Err(TranslateError::Unsupported {
            operator: "visit_typed_select_multi",
            offset: self.offset,
        })
    }

    fn local(&self, local_index: u32) -> TResult<cranelift_frontend::Variable> {
        usize::try_from(local_index)
            .ok()
            .and_then(|i| self.locals.get(i).copied())
            .ok_or_else(|| self.bug("local index out of range after validation"))
    }

    pub(super) fn visit_local_get(&mut self, local_index: u32) -> TResult {
        let var = self.local(local_index)?;
        let v = self.builder.use_var(var);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_local_set(&mut self, local_index: u32) -> TResult {
        let var = self.local(local_index)?;
        let v = self.pop()?;
        self.builder.def_var(var, v);
        Ok(())
    }

    pub(super) fn visit_local_tee(&mut self, local_index: u32) -> TResult {
        let var = self.local(local_index)?;
        let v = *self
            .stack
            .last()
            .ok_or_else(|| self.bug("operand stack underflow"))?;
        self.builder.def_var(var, v);
        Ok(())
    }

    fn global_type(&self, global_index: u32) -> TResult<cranelift_codegen::ir::Type> {
        let ty = self
            .validator
            .resources()
            .global_at(global_index)
            .ok_or_else(|| self.bug("global index out of range after validation"))?;
        self.ir_type(ty.content_type)
    }

    pub(super) fn visit_global_get(&mut self, global_index: u32) -> TResult {
        let ty = self.global_type(global_index)?;
        let loc = self
            .env
            .global(
                &mut self.builder,
                self.vmctx,
                GlobalIndex::from_u32(global_index),
            )
            .map_err(|e| self.env_err(e))?;
        let v = self
            .builder
            .ins()
            .load(ty, MemFlagsData::trusted(), loc.base, loc.offset);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_global_set(&mut self, global_index: u32) -> TResult {
        let v = self.pop()?;
        let loc = self
            .env
            .global(
                &mut self.builder,
                self.vmctx,
                GlobalIndex::from_u32(global_index),
            )
            .map_err(|e| self.env_err(e))?;
        self.builder
            .ins()
            .store(MemFlagsData::trusted(), v, loc.base, loc.offset);
        Ok(())
    }
}
