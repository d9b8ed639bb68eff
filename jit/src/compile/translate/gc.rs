//! The GC proposal's operators: `ref.i31`, `i31.get_*`, `ref.eq`, struct
//! and array access, allocation, casts and the extern/any conversions.
//!
//! Representation (see the runtime's `gc.rs`): an `anyref` is a
//! pointer-sized word, `0` null, odd an `i31`, low bits `10` an internalised
//! host reference, otherwise the address of an object whose header holds
//! its type id and kind ([`gc_object`]). Field access is inline
//! (load/store at the layout's offset after a null check, an array index
//! checked against the length); allocation, casts to non-final types and
//! bulk array operations call the runtime.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I8, I32, I64};
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData};
use wasmparser::{
    AbstractHeapType as A, CompositeInnerType, FieldType, HeapType, RefType, StorageType,
    UnpackedIndex, WasmModuleResources,
};

use super::environ::{DataIndex, ElemIndex, TypeIndex, gc_object};
use super::func::{FuncTranslator, TResult};
use super::trap_codes as tc;

/// Flags of an access to a GC object: never faults (null and bounds are
/// checked first), not necessarily naturally aligned (`v128`).
fn obj_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

impl FuncTranslator<'_, '_> {
    fn struct_fields(&self, index: u32) -> TResult<Vec<FieldType>> {
        let sub = self
            .validator
            .resources()
            .sub_type_at(index)
            .ok_or_else(|| self.bug("struct type index out of range after validation"))?;
        match &sub.composite_type.inner {
            CompositeInnerType::Struct(s) => Ok(s.fields.to_vec()),
            _ => Err(self.bug("not a struct type after validation")),
        }
    }

    fn array_elem(&self, index: u32) -> TResult<FieldType> {
        let sub = self
            .validator
            .resources()
            .sub_type_at(index)
            .ok_or_else(|| self.bug("array type index out of range after validation"))?;
        match &sub.composite_type.inner {
            CompositeInnerType::Array(a) => Ok(a.0),
            _ => Err(self.bug("not an array type after validation")),
        }
    }

    fn layout(&self, index: u32) -> TResult<super::GcLayout> {
        self.env
            .gc_layout(TypeIndex::from_u32(index))
            .map_err(|e| self.env_err(e))
    }

    /// Read a field of storage `s` at `addr + offset`; packed fields are
    /// extended to `i32` (signed when `signed`).
    fn load_field(
        &mut self,
        addr: ir::Value,
        offset: u32,
        s: StorageType,
        signed: bool,
    ) -> TResult<ir::Value> {
        let off = offset as i32;
        let ins = self.builder.ins();
        Ok(match s {
            StorageType::I8 if signed => ins.sload8(I32, obj_flags(), addr, off),
            StorageType::I8 => ins.uload8(I32, obj_flags(), addr, off),
            StorageType::I16 if signed => ins.sload16(I32, obj_flags(), addr, off),
            StorageType::I16 => ins.uload16(I32, obj_flags(), addr, off),
            StorageType::Val(v) => {
                let ty = self.ir_type(v)?;
                self.builder.ins().load(ty, obj_flags(), addr, off)
            }
        })
    }

    /// Write `value` into a field of storage `s` at `addr + offset`.
    fn store_field(&mut self, addr: ir::Value, offset: u32, s: StorageType, value: ir::Value) {
        let off = offset as i32;
        let ins = self.builder.ins();
        match s {
            StorageType::I8 => ins.istore8(obj_flags(), value, addr, off),
            StorageType::I16 => ins.istore16(obj_flags(), value, addr, off),
            StorageType::Val(_) => ins.store(obj_flags(), value, addr, off),
        };
    }

    fn storage_size(&self, s: StorageType) -> u32 {
        match s {
            StorageType::I8 => 1,
            StorageType::I16 => 2,
            StorageType::Val(v) => match v {
                wasmparser::ValType::I32 | wasmparser::ValType::F32 => 4,
                wasmparser::ValType::I64 | wasmparser::ValType::F64 => 8,
                wasmparser::ValType::V128 => 16,
                wasmparser::ValType::Ref(_) => self.pointer_type.bytes(),
            },
        }
    }

    fn null_check(&mut self, r: ir::Value) {
        self.builder.ins().trapz(r, tc::NULL_REFERENCE);
    }

    /// The length of the (non-null) array `r`, an `i32`.
    fn array_len_of(&mut self, r: ir::Value) -> ir::Value {
        self.builder
            .ins()
            .load(I32, obj_flags(), r, gc_object::ARRAY_LEN)
    }

    /// Trap "out of bounds array access" unless `index + count <= len`
    /// (computed in 64 bits: no wrap-around).
    fn array_range_check(&mut self, r: ir::Value, index: ir::Value, count: ir::Value) {
        let len = self.array_len_of(r);
        let len = self.builder.ins().uextend(I64, len);
        let index = self.builder.ins().uextend(I64, index);
        let count = self.builder.ins().uextend(I64, count);
        let end = self.builder.ins().iadd(index, count);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, len);
        self.builder.ins().trapnz(oob, tc::ARRAY_OUT_OF_BOUNDS);
    }

    /// The address of element `index` of array `r`.
    fn elem_addr(&mut self, r: ir::Value, index: ir::Value, size: u32) -> ir::Value {
        let index = self.builder.ins().uextend(self.pointer_type, index);
        let scaled = self.builder.ins().imul_imm_u(index, i64::from(size));
        let addr = self.builder.ins().iadd(r, scaled);
        self.builder
            .ins()
            .iadd_imm_u(addr, i64::from(gc_object::ARRAY_DATA))
    }

    /// Store `value` into `count` (an `i32`) consecutive elements from
    /// `addr`.
    fn fill_loop(&mut self, addr: ir::Value, count: ir::Value, elem: FieldType, value: ir::Value) {
        let size = self.storage_size(elem.element_type);
        let count = self.builder.ins().uextend(self.pointer_type, count);
        let bytes = self.builder.ins().imul_imm_u(count, i64::from(size));
        let end = self.builder.ins().iadd(addr, bytes);
        let header = self.builder.create_block();
        let body = self.builder.create_block();
        let done = self.builder.create_block();
        self.builder.append_block_param(header, self.pointer_type);
        self.builder.ins().jump(header, &[addr.into()]);
        self.builder.switch_to_block(header);
        let at = self.builder.block_params(header)[0];
        let more = self.builder.ins().icmp(IntCC::UnsignedLessThan, at, end);
        self.builder.ins().brif(more, body, &[], done, &[]);
        self.builder.switch_to_block(body);
        self.builder.seal_block(body);
        self.store_field(at, 0, elem.element_type, value);
        let next = self.builder.ins().iadd_imm_u(at, i64::from(size));
        self.builder.ins().jump(header, &[next.into()]);
        self.builder.seal_block(header);
        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
    }

    pub(super) fn visit_ref_i31(&mut self) -> TResult {
        let v = self.pop()?;
        let shifted = self.builder.ins().ishl_imm_u(v, 1);
        let tagged = self.builder.ins().bor_imm_u(shifted, 1);
        let word = self.builder.ins().uextend(self.pointer_type, tagged);
        self.push(word);
        Ok(())
    }

    fn i31_get(&mut self, signed: bool) -> TResult {
        let r = self.pop()?;
        self.null_check(r);
        let low = self.builder.ins().ireduce(I32, r);
        let v = if signed {
            self.builder.ins().sshr_imm_u(low, 1)
        } else {
            self.builder.ins().ushr_imm_u(low, 1)
        };
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i31_get_s(&mut self) -> TResult {
        self.i31_get(true)
    }

    pub(super) fn visit_i31_get_u(&mut self) -> TResult {
        self.i31_get(false)
    }

    pub(super) fn visit_ref_eq(&mut self) -> TResult {
        let (a, b) = self.pop2()?;
        let eq = self.builder.ins().icmp(IntCC::Equal, a, b);
        let v = self.builder.ins().uextend(I32, eq);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_any_convert_extern(&mut self) -> TResult {
        // The same word in both hierarchies (see the module docs).
        Ok(())
    }

    pub(super) fn visit_extern_convert_any(&mut self) -> TResult {
        Ok(())
    }

    fn alloc(&mut self, index: u32, len: ir::Value) -> TResult<ir::Value> {
        let vmctx = self.vmctx;
        self.env
            .gc_alloc(&mut self.builder, vmctx, TypeIndex::from_u32(index), len)
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_struct_new(&mut self, struct_type_index: u32) -> TResult {
        let fields = self.struct_fields(struct_type_index)?;
        let layout = self.layout(struct_type_index)?;
        let values = self.popn(fields.len())?;
        let zero = self.builder.ins().iconst(I32, 0);
        let obj = self.alloc(struct_type_index, zero)?;
        for ((field, offset), value) in fields.iter().zip(&layout.field_offsets).zip(values) {
            self.store_field(obj, *offset, field.element_type, value);
        }
        self.push(obj);
        Ok(())
    }

    pub(super) fn visit_struct_new_default(&mut self, struct_type_index: u32) -> TResult {
        let zero = self.builder.ins().iconst(I32, 0);
        let obj = self.alloc(struct_type_index, zero)?;
        self.push(obj);
        Ok(())
    }

    fn struct_get(&mut self, index: u32, field: u32, signed: bool) -> TResult {
        let fields = self.struct_fields(index)?;
        let layout = self.layout(index)?;
        let (Some(f), Some(offset)) = (
            fields.get(field as usize),
            layout.field_offsets.get(field as usize),
        ) else {
            return Err(self.bug("field index out of range after validation"));
        };
        let (s, offset) = (f.element_type, *offset);
        let r = self.pop()?;
        self.null_check(r);
        let v = self.load_field(r, offset, s, signed)?;
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_struct_get(&mut self, struct_type_index: u32, field_index: u32) -> TResult {
        self.struct_get(struct_type_index, field_index, false)
    }

    pub(super) fn visit_struct_get_s(
        &mut self,
        struct_type_index: u32,
        field_index: u32,
    ) -> TResult {
        self.struct_get(struct_type_index, field_index, true)
    }

    pub(super) fn visit_struct_get_u(
        &mut self,
        struct_type_index: u32,
        field_index: u32,
    ) -> TResult {
        self.struct_get(struct_type_index, field_index, false)
    }

    pub(super) fn visit_struct_set(&mut self, struct_type_index: u32, field_index: u32) -> TResult {
        let fields = self.struct_fields(struct_type_index)?;
        let layout = self.layout(struct_type_index)?;
        let (Some(f), Some(offset)) = (
            fields.get(field_index as usize),
            layout.field_offsets.get(field_index as usize),
        ) else {
            return Err(self.bug("field index out of range after validation"));
        };
        let (s, offset) = (f.element_type, *offset);
        let (r, v) = self.pop2()?;
        self.null_check(r);
        self.store_field(r, offset, s, v);
        Ok(())
    }

    pub(super) fn visit_array_new(&mut self, array_type_index: u32) -> TResult {
        let elem = self.array_elem(array_type_index)?;
        let (init, len) = self.pop2()?;
        let obj = self.alloc(array_type_index, len)?;
        let start = self
            .builder
            .ins()
            .iadd_imm_u(obj, i64::from(gc_object::ARRAY_DATA));
        self.fill_loop(start, len, elem, init);
        self.push(obj);
        Ok(())
    }

    pub(super) fn visit_array_new_default(&mut self, array_type_index: u32) -> TResult {
        let len = self.pop()?;
        let obj = self.alloc(array_type_index, len)?;
        self.push(obj);
        Ok(())
    }

    pub(super) fn visit_array_new_fixed(
        &mut self,
        array_type_index: u32,
        array_size: u32,
    ) -> TResult {
        let elem = self.array_elem(array_type_index)?;
        let size = self.storage_size(elem.element_type);
        let values = self.popn(array_size as usize)?;
        let len = self.builder.ins().iconst(I32, i64::from(array_size));
        let obj = self.alloc(array_type_index, len)?;
        for (i, v) in values.into_iter().enumerate() {
            let offset = gc_object::ARRAY_DATA + i as u32 * size;
            self.store_field(obj, offset, elem.element_type, v);
        }
        self.push(obj);
        Ok(())
    }

    fn array_get(&mut self, index: u32, signed: bool) -> TResult {
        let elem = self.array_elem(index)?;
        let size = self.storage_size(elem.element_type);
        let (r, i) = self.pop2()?;
        self.null_check(r);
        let len = self.array_len_of(r);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, i, len);
        self.builder.ins().trapnz(oob, tc::ARRAY_OUT_OF_BOUNDS);
        let addr = self.elem_addr(r, i, size);
        let v = self.load_field(addr, 0, elem.element_type, signed)?;
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_array_get(&mut self, array_type_index: u32) -> TResult {
        self.array_get(array_type_index, false)
    }

    pub(super) fn visit_array_get_s(&mut self, array_type_index: u32) -> TResult {
        self.array_get(array_type_index, true)
    }

    pub(super) fn visit_array_get_u(&mut self, array_type_index: u32) -> TResult {
        self.array_get(array_type_index, false)
    }

    pub(super) fn visit_array_set(&mut self, array_type_index: u32) -> TResult {
        let elem = self.array_elem(array_type_index)?;
        let size = self.storage_size(elem.element_type);
        let (r, i, v) = self.pop3()?;
        self.null_check(r);
        let len = self.array_len_of(r);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, i, len);
        self.builder.ins().trapnz(oob, tc::ARRAY_OUT_OF_BOUNDS);
        let addr = self.elem_addr(r, i, size);
        self.store_field(addr, 0, elem.element_type, v);
        Ok(())
    }

    pub(super) fn visit_array_len(&mut self) -> TResult {
        let r = self.pop()?;
        self.null_check(r);
        let len = self.array_len_of(r);
        self.push(len);
        Ok(())
    }

    pub(super) fn visit_array_fill(&mut self, array_type_index: u32) -> TResult {
        let elem = self.array_elem(array_type_index)?;
        let size = self.storage_size(elem.element_type);
        let n = self.pop()?;
        let (r, i, v) = self.pop3()?;
        self.null_check(r);
        self.array_range_check(r, i, n);
        let addr = self.elem_addr(r, i, size);
        self.fill_loop(addr, n, elem, v);
        Ok(())
    }

    pub(super) fn visit_array_copy(
        &mut self,
        array_type_index_dst: u32,
        array_type_index_src: u32,
    ) -> TResult {
        let elem = self.array_elem(array_type_index_dst)?;
        // Validation made the source's element a subtype of the
        // destination's: the same size.
        let _ = self.array_elem(array_type_index_src)?;
        let size = self.storage_size(elem.element_type);
        let n = self.pop()?;
        let (s, si) = self.pop2()?;
        let (d, di) = self.pop2()?;
        self.null_check(d);
        self.null_check(s);
        self.array_range_check(d, di, n);
        self.array_range_check(s, si, n);
        let daddr = self.elem_addr(d, di, size);
        let saddr = self.elem_addr(s, si, size);
        self.copy_loop(daddr, saddr, n, size);
        Ok(())
    }

    /// Copy `count` (an `i32`) elements of `size` bytes from `src` to
    /// `dst`, as `memmove`: forwards when `dst` is below `src`, else
    /// backwards, so overlapping ranges of one array copy correctly.
    fn copy_loop(&mut self, dst: ir::Value, src: ir::Value, count: ir::Value, size: u32) {
        let ty = match size {
            1 => I8,
            2 => ir::types::I16,
            4 => I32,
            8 => I64,
            _ => ir::types::I8X16,
        };
        let ptr = self.pointer_type;
        let count = self.builder.ins().uextend(ptr, count);
        let bytes = self.builder.ins().imul_imm_u(count, i64::from(size));
        let zero = self.builder.ins().iconst(ptr, 0);
        let forward = self.builder.create_block();
        let forward_body = self.builder.create_block();
        let backward = self.builder.create_block();
        let backward_body = self.builder.create_block();
        let done = self.builder.create_block();
        self.builder.append_block_param(forward, ptr);
        self.builder.append_block_param(backward, ptr);
        let down = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, dst, src);
        self.builder
            .ins()
            .brif(down, backward, &[bytes.into()], forward, &[zero.into()]);

        // Forwards: offsets 0, size, ... < bytes.
        self.builder.switch_to_block(forward);
        let off = self.builder.block_params(forward)[0];
        let more = self.builder.ins().icmp(IntCC::UnsignedLessThan, off, bytes);
        self.builder.ins().brif(more, forward_body, &[], done, &[]);
        self.builder.switch_to_block(forward_body);
        self.builder.seal_block(forward_body);
        let from = self.builder.ins().iadd(src, off);
        let to = self.builder.ins().iadd(dst, off);
        let v = self.builder.ins().load(ty, obj_flags(), from, 0);
        self.builder.ins().store(obj_flags(), v, to, 0);
        let next = self.builder.ins().iadd_imm_u(off, i64::from(size));
        self.builder.ins().jump(forward, &[next.into()]);
        self.builder.seal_block(forward);

        // Backwards: offsets bytes - size, ... >= 0.
        self.builder.switch_to_block(backward);
        let end = self.builder.block_params(backward)[0];
        let more = self.builder.ins().icmp_imm_u(IntCC::NotEqual, end, 0);
        self.builder.ins().brif(more, backward_body, &[], done, &[]);
        self.builder.switch_to_block(backward_body);
        self.builder.seal_block(backward_body);
        let off = self.builder.ins().iadd_imm_s(end, -i64::from(size));
        let from = self.builder.ins().iadd(src, off);
        let to = self.builder.ins().iadd(dst, off);
        let v = self.builder.ins().load(ty, obj_flags(), from, 0);
        self.builder.ins().store(obj_flags(), v, to, 0);
        self.builder.ins().jump(backward, &[off.into()]);
        self.builder.seal_block(backward);

        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
    }

    /// Copy `n` elements of data segment `data` from byte `s` to element
    /// `d` of `r` (already null- and bounds-checked against the array).
    fn init_from_data(
        &mut self,
        index: u32,
        data: u32,
        r: ir::Value,
        d: ir::Value,
        s: ir::Value,
        n: ir::Value,
    ) -> TResult {
        let elem = self.array_elem(index)?;
        let size = self.storage_size(elem.element_type);
        let addr = self.elem_addr(r, d, size);
        let n64 = self.builder.ins().uextend(I64, n);
        let bytes = self.builder.ins().imul_imm_u(n64, i64::from(size));
        let vmctx = self.vmctx;
        self.env
            .gc_array_init_data(
                &mut self.builder,
                vmctx,
                addr,
                DataIndex::from_u32(data),
                s,
                bytes,
            )
            .map_err(|e| self.env_err(e))
    }

    fn init_from_elem(
        &mut self,
        elem: u32,
        r: ir::Value,
        d: ir::Value,
        s: ir::Value,
        n: ir::Value,
    ) -> TResult {
        let size = self.pointer_type.bytes();
        let addr = self.elem_addr(r, d, size);
        let vmctx = self.vmctx;
        self.env
            .gc_array_init_elem(
                &mut self.builder,
                vmctx,
                addr,
                ElemIndex::from_u32(elem),
                s,
                n,
            )
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_array_new_data(
        &mut self,
        array_type_index: u32,
        array_data_index: u32,
    ) -> TResult {
        let (s, n) = self.pop2()?;
        // The segment range traps before the allocation may.
        let elem = self.array_elem(array_type_index)?;
        let size = self.storage_size(elem.element_type);
        let n64 = self.builder.ins().uextend(I64, n);
        let bytes = self.builder.ins().imul_imm_u(n64, i64::from(size));
        let nowhere = self.builder.ins().iconst(self.pointer_type, 0);
        let vmctx = self.vmctx;
        self.env
            .gc_array_init_data(
                &mut self.builder,
                vmctx,
                nowhere,
                DataIndex::from_u32(array_data_index),
                s,
                bytes,
            )
            .map_err(|e| self.env_err(e))?;
        let obj = self.alloc(array_type_index, n)?;
        let zero = self.builder.ins().iconst(I32, 0);
        self.init_from_data(array_type_index, array_data_index, obj, zero, s, n)?;
        self.push(obj);
        Ok(())
    }

    pub(super) fn visit_array_new_elem(
        &mut self,
        array_type_index: u32,
        array_elem_index: u32,
    ) -> TResult {
        let (s, n) = self.pop2()?;
        // The segment range traps before the allocation may.
        let nowhere = self.builder.ins().iconst(self.pointer_type, 0);
        let vmctx = self.vmctx;
        self.env
            .gc_array_init_elem(
                &mut self.builder,
                vmctx,
                nowhere,
                ElemIndex::from_u32(array_elem_index),
                s,
                n,
            )
            .map_err(|e| self.env_err(e))?;
        let obj = self.alloc(array_type_index, n)?;
        let zero = self.builder.ins().iconst(I32, 0);
        self.init_from_elem(array_elem_index, obj, zero, s, n)?;
        self.push(obj);
        Ok(())
    }

    pub(super) fn visit_array_init_data(
        &mut self,
        array_type_index: u32,
        array_data_index: u32,
    ) -> TResult {
        let n = self.pop()?;
        let (r, d, s) = self.pop3()?;
        self.null_check(r);
        self.array_range_check(r, d, n);
        self.init_from_data(array_type_index, array_data_index, r, d, s, n)
    }

    pub(super) fn visit_array_init_elem(
        &mut self,
        _array_type_index: u32,
        array_elem_index: u32,
    ) -> TResult {
        // Elements are references: pointer-sized whatever the array type.
        let n = self.pop()?;
        let (r, d, s) = self.pop3()?;
        self.null_check(r);
        self.array_range_check(r, d, n);
        self.init_from_elem(array_elem_index, r, d, s, n)
    }

    /// Whether `v` is a value of heap type `hty` (`null_ok`: or null): an
    /// `i8` 0 or 1.
    fn ref_test(&mut self, v: ir::Value, hty: HeapType, null_ok: bool) -> TResult<ir::Value> {
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, v, 0);
        let non_null = self.builder.ins().icmp_imm_u(IntCC::NotEqual, v, 0);
        let low1 = self.builder.ins().band_imm_u(v, 1);
        let low2 = self.builder.ins().band_imm_u(v, 3);
        let is_object = {
            let aligned = self.builder.ins().icmp_imm_u(IntCC::Equal, low2, 0);
            self.builder.ins().band(aligned, non_null)
        };
        let test = match hty {
            HeapType::Abstract { ty, .. } => match ty {
                A::Any | A::Func | A::Extern | A::Exn | A::Cont => non_null,
                A::None | A::NoFunc | A::NoExtern | A::NoExn | A::NoCont => {
                    self.builder.ins().iconst(I8, 0)
                }
                A::I31 => self.builder.ins().icmp_imm_u(IntCC::NotEqual, low1, 0),
                A::Eq => {
                    let i31 = self.builder.ins().icmp_imm_u(IntCC::NotEqual, low1, 0);
                    self.builder.ins().bor(i31, is_object)
                }
                A::Struct | A::Array => {
                    let want = if matches!(ty, A::Struct) {
                        gc_object::KIND_STRUCT
                    } else {
                        gc_object::KIND_ARRAY
                    };
                    self.if_object(is_object, v, |t, obj| {
                        let kind = t.builder.ins().load(I32, obj_flags(), obj, gc_object::KIND);
                        Ok(t.builder
                            .ins()
                            .icmp_imm_u(IntCC::Equal, kind, i64::from(want)))
                    })?
                }
            },
            HeapType::Concrete(UnpackedIndex::Module(index))
            | HeapType::Exact(UnpackedIndex::Module(index)) => {
                let is_func = matches!(
                    self.validator
                        .resources()
                        .sub_type_at(index)
                        .map(|s| &s.composite_type.inner),
                    Some(CompositeInnerType::Func(_))
                );
                if is_func {
                    self.if_object(non_null, v, |t, fref| {
                        let id = t
                            .env
                            .funcref_type_id(&mut t.builder, fref)
                            .map_err(|e| t.env_err(e))?;
                        t.type_id_matches(id, index)
                    })?
                } else {
                    self.if_object(is_object, v, |t, obj| {
                        let id = t
                            .builder
                            .ins()
                            .load(I32, obj_flags(), obj, gc_object::TYPE_ID);
                        t.type_id_matches(id, index)
                    })?
                }
            }
            _ => return Err(self.bug("heap type index not a module index")),
        };
        Ok(if null_ok {
            self.builder.ins().bor(test, is_null)
        } else {
            test
        })
    }

    /// `f(v)` where `cond` holds, else 0: an `i8`.
    fn if_object(
        &mut self,
        cond: ir::Value,
        v: ir::Value,
        f: impl FnOnce(&mut Self, ir::Value) -> TResult<ir::Value>,
    ) -> TResult<ir::Value> {
        let yes = self.builder.create_block();
        let done = self.builder.create_block();
        self.builder.append_block_param(done, I8);
        let zero = self.builder.ins().iconst(I8, 0);
        self.builder
            .ins()
            .brif(cond, yes, &[], done, &[zero.into()]);
        self.builder.switch_to_block(yes);
        self.builder.seal_block(yes);
        let r = f(self, v)?;
        self.builder.ins().jump(done, &[r.into()]);
        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
        Ok(self.builder.block_params(done)[0])
    }

    /// Whether engine type id `id` (an `i32`) is type `index` or a
    /// subtype: an `i8`.
    fn type_id_matches(&mut self, id: ir::Value, index: u32) -> TResult<ir::Value> {
        let layout = self.layout(index)?;
        let eq = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::Equal, id, i64::from(layout.type_id));
        if layout.is_final {
            return Ok(eq);
        }
        let not_eq = self.builder.ins().icmp_imm_u(IntCC::Equal, eq, 0);
        self.if_object(not_eq, id, |t, id| {
            let vmctx = t.vmctx;
            let r = t
                .env
                .gc_is_subtype(&mut t.builder, vmctx, id, TypeIndex::from_u32(index))
                .map_err(|e| t.env_err(e))?;
            Ok(t.builder.ins().icmp_imm_u(IntCC::NotEqual, r, 0))
        })
        .map(|sub| self.builder.ins().bor(eq, sub))
    }

    fn test_to_i32(&mut self, t: ir::Value) -> ir::Value {
        self.builder.ins().uextend(I32, t)
    }

    pub(super) fn visit_ref_test_non_null(&mut self, hty: HeapType) -> TResult {
        let v = self.pop()?;
        let t = self.ref_test(v, hty, false)?;
        let r = self.test_to_i32(t);
        self.push(r);
        Ok(())
    }

    pub(super) fn visit_ref_test_nullable(&mut self, hty: HeapType) -> TResult {
        let v = self.pop()?;
        let t = self.ref_test(v, hty, true)?;
        let r = self.test_to_i32(t);
        self.push(r);
        Ok(())
    }

    pub(super) fn visit_ref_cast_non_null(&mut self, hty: HeapType) -> TResult {
        let v = self.pop()?;
        let t = self.ref_test(v, hty, false)?;
        self.builder.ins().trapz(t, tc::CAST_FAILURE);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_ref_cast_nullable(&mut self, hty: HeapType) -> TResult {
        let v = self.pop()?;
        let t = self.ref_test(v, hty, true)?;
        self.builder.ins().trapz(t, tc::CAST_FAILURE);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_br_on_cast(
        &mut self,
        relative_depth: u32,
        _from: RefType,
        to: RefType,
    ) -> TResult {
        let v = self.pop()?;
        let t = self.ref_test(v, to.heap_type(), to.is_nullable())?;
        let cond = self.test_to_i32(t);
        self.push(v);
        self.push(cond);
        self.visit_br_if(relative_depth)
    }

    pub(super) fn visit_br_on_cast_fail(
        &mut self,
        relative_depth: u32,
        _from: RefType,
        to: RefType,
    ) -> TResult {
        let v = self.pop()?;
        let t = self.ref_test(v, to.heap_type(), to.is_nullable())?;
        let fail = self.builder.ins().icmp_imm_u(IntCC::Equal, t, 0);
        let cond = self.test_to_i32(fail);
        self.push(v);
        self.push(cond);
        self.visit_br_if(relative_depth)
    }
}
