//! Instantiation (wasm 2.0 semantics) and the instance handle.

use crate::compile::env::{
    ConstExpr, ConstOp, DataKind, ElemKind, EntityIndex, VMFuncRef, VMOffsets,
};
use crate::error::{Error, LinkError};
use crate::module::{Module, entity_type};
use crate::runtime::func::{Func, FuncData, FuncKind, TypedFunc, WasmParams, WasmResults};
use crate::runtime::global::{Global, GlobalData};
use crate::runtime::memory_api::Memory;
use crate::runtime::store::{AsContextMut, StoreOpaque};
use crate::runtime::table::{Table, TableData};
use crate::runtime::trap::{Trap, TrapCode};
use crate::runtime::values::Extern;
use crate::runtime::vmctx::VMContext;
use crate::types::{ExternType, limits_match};

/// An instance of a store.
pub(crate) struct InstanceData {
    pub module: Module,
    pub vmctx: VMContext,
    /// Store indices of every function, table, memory and global.
    pub funcs: Vec<u32>,
    pub tables: Vec<u32>,
    pub memories: Vec<u32>,
    pub globals: Vec<u32>,
    /// Store indices of every tag (imports first).
    pub tags: Vec<u32>,
    pub dropped_data: Vec<bool>,
    /// Evaluated element segments; emptied by `elem.drop`.
    pub elem_values: Vec<Box<[usize]>>,
    /// The instance's place in the engine's pool, if it uses one.
    pub _lease: Option<crate::runtime::pool::Lease>,
}

/// An instance handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

fn incompatible(module: &str, name: &str, reason: String) -> Error {
    LinkError::IncompatibleImportType {
        module: module.into(),
        name: name.into(),
        reason: reason.into(),
    }
    .into()
}

fn trap(code: TrapCode) -> Error {
    Error::from(Trap::new(code))
}

/// The export `name` of instance `index`.
pub(crate) fn export_of(store: &mut StoreOpaque, index: u32, name: &str) -> Option<Extern> {
    let position = store.instances[index as usize]
        .module
        .inner
        .info
        .exports
        .iter()
        .position(|(n, _)| &**n == name)?;
    export_at(store, index, position as u32)
}

/// Export number `export` (in module order) of instance `index`.
pub(crate) fn export_at(store: &StoreOpaque, index: u32, export: u32) -> Option<Extern> {
    let inst = &store.instances[index as usize];
    let (_, entity) = inst.module.inner.info.exports.get(export as usize)?;
    let id = store.id;
    Some(match *entity {
        EntityIndex::Func(i) => Extern::Func(Func {
            store: id,
            index: inst.funcs[i as usize],
        }),
        EntityIndex::Table(i) => Extern::Table(Table {
            store: id,
            index: inst.tables[i as usize],
        }),
        EntityIndex::Memory(i) => Extern::Memory(Memory {
            store: id,
            index: inst.memories[i as usize],
        }),
        EntityIndex::Global(i) => Extern::Global(Global {
            store: id,
            index: inst.globals[i as usize],
        }),
        EntityIndex::Tag(i) => Extern::Tag(crate::runtime::tag::Tag {
            store: id,
            index: inst.tags[i as usize],
        }),
    })
}

/// The type of a store item, for import matching.
pub(crate) fn extern_type(store: &StoreOpaque, ext: &Extern) -> ExternType {
    match ext {
        Extern::Func(f) => ExternType::Func(store.funcs[f.index as usize].ty.clone()),
        Extern::Table(t) => ExternType::Table(store.tables[t.index as usize].current_type()),
        Extern::Memory(m) => ExternType::Memory(store.memories[m.index as usize].current_type()),
        Extern::Global(g) => ExternType::Global(store.globals[g.index as usize].ty),
        Extern::Tag(t) => ExternType::Tag(store.exn.tags[t.index as usize].ty.clone()),
    }
}

fn extern_store(ext: &Extern) -> u64 {
    match ext {
        Extern::Func(f) => f.store,
        Extern::Table(t) => t.store,
        Extern::Memory(m) => m.store,
        Extern::Global(g) => g.store,
        Extern::Tag(t) => t.store,
    }
}

pub(crate) fn check_import(
    engine: &crate::engine::Engine,
    module: &str,
    name: &str,
    expected: &ExternType,
    actual: &ExternType,
) -> Result<(), Error> {
    let ok = match (expected, actual) {
        // A function of a declared subtype satisfies the import.
        (ExternType::Func(e), ExternType::Func(a)) => {
            e == a || engine.is_subtype(engine.register_type(a), engine.register_type(e))
        }
        (ExternType::Table(e), ExternType::Table(a)) => {
            e.element == a.element
                && e.table64 == a.table64
                && limits_match(a.minimum, a.maximum, e.minimum, e.maximum)
        }
        (ExternType::Memory(e), ExternType::Memory(a)) => {
            // Shared and unshared memories are incompatible both ways, and
            // page sizes must be equal (custom-page-sizes).
            e.memory64 == a.memory64
                && e.shared == a.shared
                && e.page_size_log2 == a.page_size_log2
                && limits_match(a.minimum, a.maximum, e.minimum, e.maximum)
        }
        // An immutable global is covariant (`(ref $t)` satisfies
        // `funcref`); a mutable one is read and written, so invariant.
        (ExternType::Global(e), ExternType::Global(a)) => {
            e.mutability == a.mutability
                && match e.mutability {
                    crate::types::Mutability::Const => {
                        engine.val_type_matches(&a.content, &e.content)
                    }
                    crate::types::Mutability::Var => a.content == e.content,
                }
        }
        (ExternType::Tag(e), ExternType::Tag(a)) => e == a,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(incompatible(
            module,
            name,
            format!("expected {expected:?}, found {actual:?}"),
        ))
    }
}

impl StoreOpaque {
    /// Evaluate an offset expression (no allocation).
    fn eval_const(&self, inst: &InstanceData, expr: &ConstExpr) -> Result<u128, Error> {
        self.eval_const_in(inst, expr, None)
    }

    /// Evaluate an initialiser, which may allocate GC objects.
    fn eval_const_alloc(&mut self, inst: &InstanceData, expr: &ConstExpr) -> Result<u128, Error> {
        self.gc_sync_in();
        let mut gc = std::mem::replace(&mut self.gc, crate::runtime::gc::GcHeap::new(0));
        let result = self.eval_const_in(inst, expr, Some(&mut gc));
        self.gc = gc;
        self.gc_sync_out();
        result
    }

    fn eval_const_in(
        &self,
        inst: &InstanceData,
        expr: &ConstExpr,
        mut gc: Option<&mut crate::runtime::gc::GcHeap>,
    ) -> Result<u128, Error> {
        let mut stack: Vec<u128> = Vec::with_capacity(2);
        for op in expr.ops.iter() {
            let pop = |stack: &mut Vec<u128>| {
                stack
                    .pop()
                    .ok_or(Error::bug("validated constant expression underflow"))
            };
            let v = match *op {
                ConstOp::RefI31 => {
                    let v = pop(&mut stack)? as u32;
                    u128::from((v << 1) | 1)
                }
                ConstOp::Convert => pop(&mut stack)?,
                ConstOp::StructNew(t)
                | ConstOp::StructNewDefault(t)
                | ConstOp::ArrayNew(t)
                | ConstOp::ArrayNewDefault(t)
                | ConstOp::ArrayNewFixed(t, _) => {
                    let Some(gc) = gc.as_deref_mut() else {
                        return Err(Error::bug("allocation in an offset expression"));
                    };
                    let id = inst.module.inner.info.type_ids[t as usize];
                    let ty = self.engine.gc_type(id);
                    let oom = || trap(TrapCode::GcHeapOutOfMemory);
                    let write = |gc: &crate::runtime::gc::GcHeap,
                                 addr: usize,
                                 f: &crate::runtime::gc::FieldLayout,
                                 v: u128| {
                        gc.write_uint(addr, f.ty.storage.size(), v)
                            .ok_or(Error::bug("GC object outside the heap"))
                    };
                    match *op {
                        ConstOp::StructNew(_) | ConstOp::StructNewDefault(_) => {
                            let mut values = vec![0u128; ty.fields.len()];
                            if matches!(op, ConstOp::StructNew(_)) {
                                for v in values.iter_mut().rev() {
                                    *v = pop(&mut stack)?;
                                }
                            }
                            let obj = gc
                                .new_object(
                                    id,
                                    crate::runtime::gc::obj::KIND_STRUCT,
                                    u64::from(ty.size),
                                    0,
                                )
                                .map_err(|_| oom())?;
                            for (f, v) in ty.fields.iter().zip(values) {
                                write(gc, obj + f.offset as usize, f, v)?;
                            }
                            obj as u128
                        }
                        _ => {
                            let (len, init): (u32, Vec<u128>) = match *op {
                                ConstOp::ArrayNew(_) => {
                                    let len = pop(&mut stack)? as u32;
                                    let init = pop(&mut stack)?;
                                    (len, vec![init])
                                }
                                ConstOp::ArrayNewDefault(_) => (pop(&mut stack)? as u32, vec![0]),
                                ConstOp::ArrayNewFixed(_, n) => {
                                    let mut values = vec![0u128; n as usize];
                                    for v in values.iter_mut().rev() {
                                        *v = pop(&mut stack)?;
                                    }
                                    (n, values)
                                }
                                _ => return Err(Error::bug("not an array allocation")),
                            };
                            let Some(f) = ty.fields.first() else {
                                return Err(Error::bug("array type without an element"));
                            };
                            let size = u64::from(f.ty.storage.size());
                            let bytes = u64::from(crate::runtime::gc::obj::ARRAY_DATA)
                                + u64::from(len) * size;
                            let obj = gc
                                .new_object(id, crate::runtime::gc::obj::KIND_ARRAY, bytes, len)
                                .map_err(|_| oom())?;
                            let data = obj + crate::runtime::gc::obj::ARRAY_DATA as usize;
                            if let [v] = init[..] {
                                // `array.new`: one value repeated, written
                                // a block at a time (fresh memory is zero).
                                if v != 0 {
                                    let elem = &v.to_le_bytes()[..size as usize];
                                    let per_block = (4096 / elem.len()).max(1);
                                    let block = elem.repeat(per_block);
                                    let total = len as usize * elem.len();
                                    let mut at = 0;
                                    while at < total {
                                        let n = block.len().min(total - at);
                                        gc.write(data + at, &block[..n])
                                            .ok_or(Error::bug("GC object outside the heap"))?;
                                        at += n;
                                    }
                                }
                            } else {
                                for (i, v) in init.iter().enumerate() {
                                    if *v != 0 {
                                        write(gc, data + i * size as usize, f, *v)?;
                                    }
                                }
                            }
                            obj as u128
                        }
                    }
                }
                ConstOp::I32(v) => u128::from(v as u32),
                ConstOp::I64(v) => u128::from(v as u64),
                ConstOp::F32(v) => u128::from(v),
                ConstOp::F64(v) => u128::from(v),
                ConstOp::V128(v) => v,
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(f) => {
                    self.funcs[inst.funcs[f as usize] as usize].funcref() as usize as u128
                }
                ConstOp::GlobalGet(g) => self.globals[inst.globals[g as usize] as usize].value,
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                        return Err(Error::bug("validated constant expression underflow"));
                    };
                    let (a, b) = (a as u32, b as u32);
                    u128::from(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                        return Err(Error::bug("validated constant expression underflow"));
                    };
                    let (a, b) = (a as u64, b as u64);
                    u128::from(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
            };
            stack.push(v);
        }
        stack
            .pop()
            .ok_or(Error::bug("validated constant expression is empty"))
    }

    pub(crate) fn memory_fill(
        &mut self,
        inst: usize,
        mem: u32,
        dst: u64,
        val: u8,
        len: u64,
    ) -> bool {
        let m = self.instances[inst].memories[mem as usize];
        let bytes = self.memories[m as usize].mem.bytes_mut();
        match byte_range(dst, len).and_then(|r| bytes.get_mut(r)) {
            Some(s) => {
                s.fill(val);
                true
            }
            None => false,
        }
    }

    pub(crate) fn memory_copy(
        &mut self,
        inst: usize,
        dm: u32,
        sm: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> bool {
        let dm = self.instances[inst].memories[dm as usize] as usize;
        let sm = self.instances[inst].memories[sm as usize] as usize;
        let (Some(to), Some(from)) = (byte_range(dst, len), byte_range(src, len)) else {
            return false;
        };
        if from.end > self.memories[sm].mem.len() || to.end > self.memories[dm].mem.len() {
            return false;
        }
        if dm == sm {
            self.memories[dm]
                .mem
                .bytes_mut()
                .copy_within(from, to.start);
        } else {
            // Two distinct boxes: split the borrow instead of copying twice.
            let (lo, hi) = self.memories.split_at_mut(dm.max(sm));
            let (d, s) = if dm < sm {
                (&mut lo[dm], &hi[0])
            } else {
                (&mut hi[0], &lo[sm])
            };
            d.mem.bytes_mut()[to].copy_from_slice(&s.mem.bytes()[from]);
        }
        true
    }

    pub(crate) fn memory_init(
        &mut self,
        inst: usize,
        mem: u32,
        seg: u32,
        dst: u64,
        src: u32,
        len: u32,
    ) -> bool {
        let instance = &self.instances[inst];
        let module = instance.module.clone();
        let range = if instance.dropped_data[seg as usize] {
            0..0
        } else {
            module.inner.info.data[seg as usize].bytes.clone()
        };
        let data = &module.inner.bytes[range];
        let m = instance.memories[mem as usize];
        let Some(from) = byte_range(src.into(), len.into()).and_then(|r| data.get(r)) else {
            return false;
        };
        match byte_range(dst, len.into())
            .and_then(|r| self.memories[m as usize].mem.bytes_mut().get_mut(r))
        {
            Some(to) => {
                to.copy_from_slice(from);
                true
            }
            None => false,
        }
    }

    pub(crate) fn table_copy(
        &mut self,
        inst: usize,
        dt: u32,
        st: u32,
        dst: u32,
        src: u32,
        len: u32,
    ) -> bool {
        let dt = self.instances[inst].tables[dt as usize] as usize;
        let st = self.instances[inst].tables[st as usize] as usize;
        let (dst, src, len) = (dst as usize, src as usize, len as usize);
        if src + len > self.tables[st].elements.len() || dst + len > self.tables[dt].elements.len()
        {
            return false;
        }
        if dt == st {
            self.tables[dt].elements.copy_within(src..src + len, dst);
        } else {
            let chunk = self.tables[st].elements[src..src + len].to_vec();
            self.tables[dt].elements[dst..dst + len].copy_from_slice(&chunk);
        }
        true
    }

    pub(crate) fn table_init(
        &mut self,
        inst: usize,
        table: u32,
        seg: u32,
        dst: u32,
        src: u32,
        len: u32,
    ) -> bool {
        let instance = &self.instances[inst];
        let t = instance.tables[table as usize] as usize;
        let (dst, src, len) = (dst as usize, src as usize, len as usize);
        let Some(from) = instance.elem_values[seg as usize].get(src..src + len) else {
            return false;
        };
        match self.tables[t].elements.get_mut(dst..dst + len) {
            Some(to) => {
                to.copy_from_slice(from);
                true
            }
            None => false,
        }
    }
}

impl Instance {
    /// Instantiate `module` with `imports` in the module's import order.
    ///
    /// # Errors
    ///
    /// `Error::Link` for missing or mismatched imports; `Error::Trap` when a
    /// segment or the start function traps (earlier effects are kept).
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance, Error> {
        let cx = store.as_context_mut();
        let store = &mut cx.0.opaque;
        instantiate(store, module, imports)
    }

    fn check<'a>(&self, store: &'a mut StoreOpaque) -> &'a mut StoreOpaque {
        assert_eq!(store.id, self.store, "instance used with the wrong store");
        store
    }

    /// The export `name`.
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let cx = store.as_context_mut();
        export_of(self.check(&mut cx.0.opaque), self.index, name)
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported function `name` with static types.
    ///
    /// # Errors
    ///
    /// `Error::Link` when there is no such function export, `Error::Type`
    /// when the types differ.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<P, R>, Error> {
        let f = self
            .get_func(&mut store, name)
            .ok_or_else(|| Error::ty(format!("no function export named {name}")))?;
        f.typed(&store)
    }

    /// Every export of the instance, by name.
    pub fn exports(&self, mut store: impl AsContextMut) -> Vec<(String, Extern)> {
        let cx = store.as_context_mut();
        let store = self.check(&mut cx.0.opaque);
        let names: Vec<String> = store.instances[self.index as usize]
            .module
            .inner
            .info
            .exports
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        names
            .into_iter()
            .filter_map(|n| export_of(store, self.index, &n).map(|e| (n, e)))
            .collect()
    }
}

pub(crate) fn instantiate(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance, Error> {
    instantiate_with(store, module, imports, true)
}

/// Instantiate; `typecheck: false` when the imports' types were checked
/// already (`InstancePre`).
pub(crate) fn instantiate_with(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
    typecheck: bool,
) -> Result<Instance, Error> {
    if !crate::Engine::same(&store.engine, &module.inner.engine) {
        return Err(Error::ty("module compiled for another engine"));
    }
    let info = &module.inner.info;
    if imports.len() != info.imports.len() {
        return Err(LinkError::ImportCount {
            expected: info.imports.len(),
            got: imports.len(),
        }
        .into());
    }
    let mut funcs = Vec::with_capacity(info.funcs.len());
    let mut tables = Vec::with_capacity(info.tables.len());
    let mut memories = Vec::with_capacity(info.memories.len());
    let mut globals = Vec::with_capacity(info.globals.len());
    let mut tags = Vec::with_capacity(info.tags.len());
    for (import, ext) in info.imports.iter().zip(imports) {
        store.check(extern_store(ext))?;
        if typecheck {
            let expected = entity_type(info, import.index);
            check_import(
                &store.engine.clone(),
                &import.module,
                &import.name,
                &expected,
                &extern_type(store, ext),
            )?;
        }
        match ext {
            Extern::Func(f) => funcs.push(f.index),
            Extern::Table(t) => tables.push(t.index),
            Extern::Memory(m) => memories.push(m.index),
            Extern::Global(g) => globals.push(g.index),
            Extern::Tag(t) => {
                let data = &mut store.exn.tags[t.index as usize];
                if data.name.is_none() {
                    data.name = Some(format!("{}::{}", import.module, import.name).into());
                }
                tags.push(t.index);
            }
        }
    }
    let instance_index = store.instances.len() as u32;
    let offsets: &VMOffsets = &module.inner.offsets;
    let lease = match store.engine.pool() {
        Some(pool) => Some(pool.lease_instance(
            u64::from(offsets.size()),
            info.memories.len() as u32 - info.num_imported_memories,
            info.tables.len() as u32 - info.num_imported_tables,
        )?),
        None => None,
    };
    let store_ptr: *mut StoreOpaque = store;
    let ctx_ptr: *mut u8 = (&mut *store.ctx as *mut crate::runtime::store::VMStoreContext).cast();
    let mut vmctx = VMContext::new(offsets, store_ptr, ctx_ptr, instance_index)?;

    // Defined functions: store entries whose funcrefs live in the vmctx.
    for d in 0..info.num_defined_funcs() {
        let func_index = info.num_imported_funcs + d;
        let ty_index = info.funcs[func_index as usize];
        let off = offsets.defined_funcref(d);
        let store_index = store.funcs.len() as u32;
        vmctx.write_funcref(
            off,
            VMFuncRef {
                wasm_call: module.inner.code.func_ptr(d),
                array_call: std::ptr::null(),
                vmctx: vmctx.as_ptr(),
                type_id: info.type_ids[ty_index as usize],
                store_index,
            },
        );
        store.funcs.push(FuncData {
            ty: info.types[ty_index as usize].clone(),
            kind: FuncKind::Wasm {
                funcref: vmctx.funcref_ptr(off),
                entry: module.inner.code.entries[ty_index as usize].entry(),
            },
        });
        funcs.push(store_index);
    }
    for (i, f) in funcs
        .iter()
        .take(info.num_imported_funcs as usize)
        .enumerate()
    {
        let fr = store.funcs[*f as usize].funcref();
        vmctx.write_ptr(offsets.imported_func(i as u32), fr as usize);
    }
    for (i, ty) in info
        .tags
        .iter()
        .enumerate()
        .skip(info.num_imported_tags as usize)
    {
        let name = info
            .exports
            .iter()
            .find(|(_, e)| *e == EntityIndex::Tag(i as u32))
            .map(|(n, _)| n.clone());
        let ty = crate::runtime::tag::TagType::from_func_type(info.types[*ty as usize].clone());
        tags.push(store.exn.new_tag(store.id, ty, name).index);
    }
    for (i, t) in tags.iter().enumerate() {
        vmctx.write_ptr(offsets.tag(i as u32), store.exn.identity(*t));
    }
    // Memories start with their images mapped (`image.rs`); an error
    // before the data segments' turn clears them again (below).
    let images = &module.inner.images;
    for (d, ty) in info.memories[info.num_imported_memories as usize..]
        .iter()
        .enumerate()
    {
        let image = images.get(d).filter(|_| images.ready);
        memories.push(store.new_memory_with(*ty, image)?);
    }
    let mut inst = InstanceData {
        module: module.clone(),
        vmctx,
        funcs,
        tables,
        memories,
        globals,
        tags,
        dropped_data: vec![false; info.data.len()],
        elem_values: Vec::new(),
        _lease: lease,
    };
    for (i, init) in info.global_inits.iter().enumerate() {
        let value = store.eval_const_alloc(&inst, init)?;
        let ty = info.globals[info.num_imported_globals as usize + i];
        store.globals.push(Box::new(GlobalData { value, ty }));
        inst.globals.push(store.globals.len() as u32 - 1);
    }
    for (i, ty) in info.tables[info.num_imported_tables as usize..]
        .iter()
        .enumerate()
    {
        let init = match &info.table_inits[i] {
            Some(e) => store.eval_const_alloc(&inst, e)? as usize,
            None => 0,
        };
        let mut table = TableData::new(*ty, init)?;
        if let Some(pool) = store.engine.pool() {
            table.pool(
                pool.lease_table(ty.minimum)?,
                pool.config().table_elements_limit(),
            );
        }
        store.tables.push(table);
        inst.tables.push(store.tables.len() as u32 - 1);
    }
    for (i, m) in inst.memories.iter().enumerate() {
        let def: *mut crate::runtime::memory::VMMemoryDefinition =
            &mut store.memories[*m as usize].def;
        inst.vmctx.write_ptr(offsets.memory(i as u32), def as usize);
    }
    for (i, t) in inst.tables.iter().enumerate() {
        let def: *mut crate::runtime::table::VMTableDefinition = &mut store.tables[*t as usize].def;
        inst.vmctx.write_ptr(offsets.table(i as u32), def as usize);
    }
    for (i, g) in inst.globals.iter().enumerate() {
        let cell: *mut u128 = &mut store.globals[*g as usize].value;
        inst.vmctx
            .write_ptr(offsets.global(i as u32), cell as usize);
    }
    let mut elem_values = Vec::with_capacity(info.elems.len());
    for seg in &info.elems {
        let mut values = Vec::with_capacity(seg.items.len());
        for item in seg.items.iter() {
            values.push(store.eval_const_alloc(&inst, item)? as usize);
        }
        elem_values.push(values.into_boxed_slice());
    }
    inst.elem_values = elem_values;
    store.instances.push(inst);
    let inst_idx = instance_index as usize;

    // Active element segments, then data segments, in order; a trap keeps
    // earlier effects, so a memory must not show its image before its
    // data segments' turn.
    let elements = (|| -> Result<(), Error> {
        for (i, seg) in info.elems.iter().enumerate() {
            match &seg.kind {
                ElemKind::Active { table, offset } => {
                    // An i32 offset, or i64 for a 64-bit table: one past `u32`
                    // is out of bounds for any table we can hold.
                    let at = store.eval_const(&store.instances[inst_idx], offset)? as u64;
                    let at = if info.tables[*table as usize].table64 {
                        u32::try_from(at).unwrap_or(u32::MAX)
                    } else {
                        at as u32
                    };
                    let len = store.instances[inst_idx].elem_values[i].len() as u32;
                    if !store.table_init(inst_idx, *table, i as u32, at, 0, len) {
                        return Err(trap(TrapCode::TableOutOfBounds));
                    }
                    store.instances[inst_idx].elem_values[i] = Box::new([]);
                }
                ElemKind::Declared => store.instances[inst_idx].elem_values[i] = Box::new([]),
                ElemKind::Passive => {}
            }
        }
        Ok(())
    })();
    if let Err(e) = elements {
        if images.ready {
            let defined = info.num_imported_memories as usize..info.memories.len();
            for (d, i) in defined.enumerate() {
                if let Some(image) = images.get(d) {
                    let m = store.instances[inst_idx].memories[i] as usize;
                    store.memories[m].mem.clear_image(image)?;
                }
            }
        }
        return Err(e);
    }
    if images.ready {
        // Every active segment lies in one of the images (`image::plan`
        // proved it in bounds at a constant offset), mapped when the
        // memories were made: nothing can trap, and the segments count as
        // applied.
        for (i, seg) in info.data.iter().enumerate() {
            if matches!(seg.kind, DataKind::Active { .. }) {
                store.instances[inst_idx].dropped_data[i] = true;
            }
        }
    }
    for (i, seg) in info.data.iter().enumerate().filter(|_| !images.ready) {
        if let DataKind::Active { memory, offset } = &seg.kind {
            // An i32 offset for a 32-bit memory, i64 for memory64.
            let at = store.eval_const(&store.instances[inst_idx], offset)? as u64;
            let memory_ty = &info.memories[*memory as usize];
            let at = if memory_ty.memory64 {
                at
            } else {
                u64::from(at as u32)
            };
            let len = seg.bytes.len() as u32;
            if !store.memory_init(inst_idx, *memory, i as u32, at, 0, len) {
                return Err(trap(TrapCode::MemoryOutOfBounds));
            }
            store.instances[inst_idx].dropped_data[i] = true;
        }
    }
    let instance = Instance {
        store: store.id,
        index: instance_index,
    };
    if let Some(start) = info.start {
        let f = store.instances[inst_idx].funcs[start as usize];
        crate::runtime::func::call_raw(store, f, &mut [0u128; 1])?;
    }
    Ok(instance)
}

/// `start..start + len` as a `usize` range, `None` when it overflows.
fn byte_range(start: u64, len: u64) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(start).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    Some(start..end)
}
