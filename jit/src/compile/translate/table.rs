//! Table operators, all emitted by the environment: `table.get`/`set`/
//! `grow`/`size`/`fill`/`copy`/`init` and `elem.drop`.
//!
//! A 64-bit table (memory64's `table64`) takes `i64` indices and lengths.
//! No table can hold `u32::MAX` elements, so an `i64` operand is clamped to
//! `u32::MAX` and narrowed: whatever was out of bounds stays out of bounds,
//! and the environment's emitters only ever see `i32` operands. Sizes come
//! back widened to `i64`.

use cranelift_codegen::ir::{self, InstBuilder, types};

use wasmparser::WasmModuleResources;

use super::environ::{ElemIndex, TableIndex};
use super::func::{FuncTranslator, TResult};

impl FuncTranslator<'_, '_> {
    /// Whether table `table` is indexed with `i64`.
    fn is_table64(&self, table: u32) -> TResult<bool> {
        self.validator
            .resources()
            .table_at(table)
            .map(|t| t.table64)
            .ok_or_else(|| self.bug("table index out of range after validation"))
    }

    /// An index or length operand as `i32`: an `i64` one (from a 64-bit
    /// table) saturates at `u32::MAX`, which is out of bounds for every
    /// table.
    pub(super) fn table_operand(&mut self, v: ir::Value) -> ir::Value {
        if self.builder.func.dfg.value_type(v) != types::I64 {
            return v;
        }
        let max = self.builder.ins().iconst(types::I64, i64::from(u32::MAX));
        let clamped = self.builder.ins().umin(v, max);
        self.builder.ins().ireduce(types::I32, clamped)
    }

    pub(super) fn visit_table_get(&mut self, table: u32) -> TResult {
        let index = self.pop()?;
        let index = self.table_operand(index);
        let v = self
            .env
            .table_get(
                &mut self.builder,
                self.vmctx,
                TableIndex::from_u32(table),
                index,
            )
            .map_err(|e| self.env_err(e))?;
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_table_set(&mut self, table: u32) -> TResult {
        let (index, value) = self.pop2()?;
        let index = self.table_operand(index);
        self.env
            .table_set(
                &mut self.builder,
                self.vmctx,
                TableIndex::from_u32(table),
                index,
                value,
            )
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_table_grow(&mut self, table: u32) -> TResult {
        let (init, delta) = self.pop2()?;
        let delta = self.table_operand(delta);
        let v = self
            .env
            .table_grow(
                &mut self.builder,
                self.vmctx,
                TableIndex::from_u32(table),
                init,
                delta,
            )
            .map_err(|e| self.env_err(e))?;
        // -1 (failure) stays -1; a size fits in 31 bits.
        let v = if self.is_table64(table)? {
            self.builder.ins().sextend(types::I64, v)
        } else {
            v
        };
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_table_size(&mut self, table: u32) -> TResult {
        let v = self
            .env
            .table_size(&mut self.builder, self.vmctx, TableIndex::from_u32(table))
            .map_err(|e| self.env_err(e))?;
        let v = if self.is_table64(table)? {
            self.builder.ins().uextend(types::I64, v)
        } else {
            v
        };
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_table_fill(&mut self, table: u32) -> TResult {
        let (dst, value, len) = self.pop3()?;
        let (dst, len) = (self.table_operand(dst), self.table_operand(len));
        self.env
            .table_fill(
                &mut self.builder,
                self.vmctx,
                TableIndex::from_u32(table),
                dst,
                value,
                len,
            )
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_table_copy(&mut self, dst_table: u32, src_table: u32) -> TResult {
        let (dst, src, len) = self.pop3()?;
        let dst = self.table_operand(dst);
        let src = self.table_operand(src);
        let len = self.table_operand(len);
        self.env
            .table_copy(
                &mut self.builder,
                self.vmctx,
                TableIndex::from_u32(dst_table),
                TableIndex::from_u32(src_table),
                dst,
                src,
                len,
            )
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_table_init(&mut self, elem_index: u32, table: u32) -> TResult {
        let (dst, src, len) = self.pop3()?;
        let dst = self.table_operand(dst);
        self.env
            .table_init(
                &mut self.builder,
                self.vmctx,
                TableIndex::from_u32(table),
                ElemIndex::from_u32(elem_index),
                dst,
                src,
                len,
            )
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_elem_drop(&mut self, elem_index: u32) -> TResult {
        self.env
            .elem_drop(
                &mut self.builder,
                self.vmctx,
                ElemIndex::from_u32(elem_index),
            )
            .map_err(|e| self.env_err(e))
    }
}
