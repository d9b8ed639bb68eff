//! Calls: `call`, `call_indirect`, `call_ref` and the tail calls
//! `return_call`, `return_call_indirect` and `return_call_ref`, all emitted
//! by the environment. A tail call ends the block like `return`: what
//! follows is unreachable.

use cranelift_codegen::ir;

use super::environ::{FuncIndex, TableIndex, TypeIndex};
use super::func::{FuncTranslator, TResult};

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_call(&mut self, function_index: u32) -> TResult {
        let (num_params, num_results) = self.func_arity(function_index)?;
        let args = self.popn(num_params)?;
        let results = self
            .env
            .call(
                &mut self.builder,
                self.vmctx,
                FuncIndex::from_u32(function_index),
                &args,
            )
            .map_err(|e| self.env_err(e))?;
        let results = self.catch_call_results(results)?;
        self.push_results(results, num_results)
    }

    pub(super) fn visit_call_indirect(&mut self, type_index: u32, table_index: u32) -> TResult {
        let (params, returns) = self.func_type(type_index)?;
        let callee = self.pop()?;
        let callee = self.table_operand(callee);
        let args = self.popn(params.len())?;
        let results = self
            .env
            .call_indirect(
                &mut self.builder,
                self.vmctx,
                TableIndex::from_u32(table_index),
                TypeIndex::from_u32(type_index),
                callee,
                &args,
            )
            .map_err(|e| self.env_err(e))?;
        let results = self.catch_call_results(results)?;
        self.push_results(results, returns.len())
    }

    pub(super) fn visit_return_call(&mut self, function_index: u32) -> TResult {
        self.release_exited_catches(None)?;
        let (num_params, _) = self.func_arity(function_index)?;
        let args = self.popn(num_params)?;
        self.env
            .return_call(
                &mut self.builder,
                self.vmctx,
                FuncIndex::from_u32(function_index),
                &args,
            )
            .map_err(|e| self.env_err(e))?;
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_return_call_indirect(
        &mut self,
        type_index: u32,
        table_index: u32,
    ) -> TResult {
        self.release_exited_catches(None)?;
        let (params, _) = self.func_type(type_index)?;
        let callee = self.pop()?;
        let callee = self.table_operand(callee);
        let args = self.popn(params.len())?;
        self.env
            .return_call_indirect(
                &mut self.builder,
                self.vmctx,
                TableIndex::from_u32(table_index),
                TypeIndex::from_u32(type_index),
                callee,
                &args,
            )
            .map_err(|e| self.env_err(e))?;
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_call_ref(&mut self, type_index: u32) -> TResult {
        let (params, returns) = self.func_type(type_index)?;
        let callee = self.pop()?;
        let args = self.popn(params.len())?;
        let results = self
            .env
            .call_ref(
                &mut self.builder,
                self.vmctx,
                TypeIndex::from_u32(type_index),
                callee,
                &args,
            )
            .map_err(|e| self.env_err(e))?;
        let results = self.catch_call_results(results)?;
        self.push_results(results, returns.len())
    }

    pub(super) fn visit_return_call_ref(&mut self, type_index: u32) -> TResult {
        self.release_exited_catches(None)?;
        let (params, _) = self.func_type(type_index)?;
        let callee = self.pop()?;
        let args = self.popn(params.len())?;
        self.env
            .return_call_ref(
                &mut self.builder,
                self.vmctx,
                TypeIndex::from_u32(type_index),
                callee,
                &args,
            )
            .map_err(|e| self.env_err(e))?;
        self.reachable = false;
        Ok(())
    }

    /// Push a call's results, checking the environment returned as many as
    /// the callee's type has.
    fn push_results(&mut self, results: Vec<ir::Value>, expected: usize) -> TResult {
        if results.len() != expected {
            return Err(self.bug("environment returned the wrong number of call results"));
        }
        self.stack.extend(results);
        Ok(())
    }
}
