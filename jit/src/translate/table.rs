//! Table operators, all emitted by the environment: `table.get`/`set`/
//! `grow`/`size`/`fill`/`copy`/`init` and `elem.drop`.

use super::environ::{ElemIndex, TableIndex};
use super::func::{FuncTranslator, TResult};

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_table_get(&mut self, table: u32) -> TResult {
        let index = self.pop()?;
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
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_table_size(&mut self, table: u32) -> TResult {
        let v = self
            .env
            .table_size(&mut self.builder, self.vmctx, TableIndex::from_u32(table))
            .map_err(|e| self.env_err(e))?;
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_table_fill(&mut self, table: u32) -> TResult {
        let (dst, value, len) = self.pop3()?;
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
