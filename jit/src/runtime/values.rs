//! Values crossing the host/guest boundary.

use crate::compile::env::VMFuncRef;
use crate::error::Error;
use crate::runtime::func::Func;
use crate::runtime::global::Global;
use crate::runtime::memory_api::Memory;
use crate::runtime::store::{AsContext, AsContextMut, StoreOpaque};
use crate::runtime::table::Table;
use crate::types::{CompositeKind, FuncTypeId, HeapType, RefType, StorageType, ValType};

/// An opaque host reference (`externref`), or a GC value externalised by
/// `extern.convert_any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternRef {
    pub(crate) store: u64,
    /// The word compiled code sees: `(index << 2) | 2` for a host
    /// reference, else an externalised `anyref` word (see `gc.rs`).
    pub(crate) raw: usize,
}

impl ExternRef {
    /// A new reference carrying `value`.
    pub fn new(mut store: impl AsContextMut, value: u64) -> ExternRef {
        let store = &mut store.as_context_mut().0.opaque;
        store.externrefs.push(value);
        ExternRef {
            store: store.id,
            raw: ((store.externrefs.len() - 1) << 2) | crate::runtime::gc::HOST_TAG,
        }
    }

    /// The value it carries, or `None` for a GC value externalised by
    /// `extern.convert_any` (see [`ExternRef::to_any`]) or a reference of
    /// another store.
    pub fn payload(&self, store: impl AsContext) -> Option<u64> {
        let store = &store.as_context().0.opaque;
        if store.id != self.store || self.raw & 3 != crate::runtime::gc::HOST_TAG {
            return None;
        }
        store.externrefs.get(self.raw >> 2).copied()
    }

    /// The `anyref` this is (`any.convert_extern`): a host reference
    /// internalised, or the GC value it externalises.
    pub fn to_any(self) -> AnyRef {
        AnyRef {
            store: self.store,
            raw: self.raw,
        }
    }
}

/// A reference of the GC proposal's `any` hierarchy: an `i31`, a struct,
/// an array, or an internalised host reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnyRef {
    pub(crate) store: u64,
    /// The word compiled code sees (see `gc.rs`).
    pub(crate) raw: usize,
}

/// What an [`AnyRef`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnyRefKind {
    /// An `i31` (read it with [`AnyRef::i31_s`]).
    I31,
    /// A struct of the given defined type.
    Struct(FuncTypeId),
    /// An array of the given defined type.
    Array(FuncTypeId),
    /// An internalised host reference (`any.convert_extern`).
    Host,
}

impl AnyRef {
    /// The `i31` of the low 31 bits of `value` (`ref.i31`).
    pub fn from_i31(store: impl AsContext, value: i32) -> AnyRef {
        AnyRef {
            store: store.as_context().0.opaque.id,
            raw: (((value as u32) << 1) | 1) as usize,
        }
    }

    /// The `i31`'s value sign-extended (`i31.get_s`), if it is one.
    pub fn i31_s(&self) -> Option<i32> {
        (self.raw & 1 == 1).then_some(((self.raw as u32) as i32) >> 1)
    }

    /// The `i31`'s value zero-extended (`i31.get_u`), if it is one.
    pub fn i31_u(&self) -> Option<u32> {
        (self.raw & 1 == 1).then_some((self.raw as u32) >> 1)
    }

    /// What it refers to; `None` for a reference of another store.
    pub fn kind(&self, store: impl AsContext) -> Option<AnyRefKind> {
        self.kind_in(&store.as_context().0.opaque)
    }

    pub(crate) fn kind_in(&self, store: &StoreOpaque) -> Option<AnyRefKind> {
        if self.raw & 1 == 1 {
            return Some(AnyRefKind::I31);
        }
        if store.id != self.store {
            return None;
        }
        Some(match crate::runtime::gc::classify(&store.gc, self.raw)? {
            crate::runtime::gc::AnyKind::I31 => AnyRefKind::I31,
            crate::runtime::gc::AnyKind::Host => AnyRefKind::Host,
            crate::runtime::gc::AnyKind::Object(id, CompositeKind::Array) => {
                AnyRefKind::Array(FuncTypeId(id))
            }
            crate::runtime::gc::AnyKind::Object(id, _) => AnyRefKind::Struct(FuncTypeId(id)),
        })
    }

    /// A new struct of defined type `ty` (`struct.new` from the host), its
    /// fields from `fields` in order (`Val::I32` for packed fields, which
    /// keep the low bits).
    ///
    /// # Errors
    ///
    /// `Error::Type` when `ty` is not a struct type of this store's engine
    /// or a value does not fit its field; `Error::Trap` with
    /// [`TrapCode::GcHeapOutOfMemory`](crate::TrapCode::GcHeapOutOfMemory)
    /// past the store's GC heap limit.
    pub fn new_struct(
        mut store: impl AsContextMut,
        ty: FuncTypeId,
        fields: &[Val],
    ) -> Result<AnyRef, Error> {
        let store = &mut store.as_context_mut().0.opaque;
        let gc_ty = match store.engine.try_gc_type(ty.0) {
            Some(t) if t.kind() == CompositeKind::Struct => t,
            _ => return Err(Error::ty(format!("type {} is not a struct type", ty.0))),
        };
        if fields.len() != gc_ty.fields.len() {
            return Err(Error::ty(format!(
                "the struct type has {} fields, got {} values",
                gc_ty.fields.len(),
                fields.len()
            )));
        }
        let raw: Vec<u128> = fields
            .iter()
            .zip(gc_ty.fields.iter())
            .map(|(v, f)| field_raw(store, *v, f.ty.storage))
            .collect::<Result<_, _>>()?;
        let obj = alloc_object(
            store,
            ty.0,
            crate::runtime::gc::obj::KIND_STRUCT,
            u64::from(gc_ty.size),
            0,
        )?;
        for (f, v) in gc_ty.fields.iter().zip(raw) {
            store
                .gc
                .write_uint(obj + f.offset as usize, f.ty.storage.size(), v)
                .ok_or(Error::bug("a new struct outside the GC heap"))?;
        }
        Ok(AnyRef {
            store: store.id,
            raw: obj,
        })
    }

    /// A new array of defined type `ty` with `len` elements, each `init`
    /// (`array.new` from the host).
    ///
    /// # Errors
    ///
    /// As [`AnyRef::new_struct`], for an array type.
    pub fn new_array(
        mut store: impl AsContextMut,
        ty: FuncTypeId,
        init: Val,
        len: u32,
    ) -> Result<AnyRef, Error> {
        let store = &mut store.as_context_mut().0.opaque;
        let gc_ty = match store.engine.try_gc_type(ty.0) {
            Some(t) if t.kind() == CompositeKind::Array => t,
            _ => return Err(Error::ty(format!("type {} is not an array type", ty.0))),
        };
        let Some(elem) = gc_ty.fields.first() else {
            return Err(Error::bug("array type without an element"));
        };
        let value = field_raw(store, init, elem.ty.storage)?;
        let size = elem.ty.storage.size();
        let bytes =
            u64::from(crate::runtime::gc::obj::ARRAY_DATA) + u64::from(len) * u64::from(size);
        let obj = alloc_object(store, ty.0, crate::runtime::gc::obj::KIND_ARRAY, bytes, len)?;
        if value != 0 {
            let data = obj + crate::runtime::gc::obj::ARRAY_DATA as usize;
            for i in 0..len as usize {
                store
                    .gc
                    .write_uint(data + i * size as usize, size, value)
                    .ok_or(Error::bug("a new array outside the GC heap"))?;
            }
        }
        Ok(AnyRef {
            store: store.id,
            raw: obj,
        })
    }

    /// The `externref` that externalises it (`extern.convert_any`).
    pub fn to_extern(self) -> ExternRef {
        ExternRef {
            store: self.store,
            raw: self.raw,
        }
    }

    /// Field `index` of a struct; `None` when it is not a struct of this
    /// store or has no such field.
    pub fn struct_field(&self, store: impl AsContext, index: usize) -> Option<Val> {
        let store = &store.as_context().0.opaque;
        let Some(AnyRefKind::Struct(id)) = self.kind_in(store) else {
            return None;
        };
        let ty = store.engine.gc_type(id.0);
        let field = ty.fields.get(index)?;
        read_field(store, self.raw + field.offset as usize, field.ty.storage)
    }

    /// The length of an array; `None` when it is not an array of this store.
    pub fn array_len(&self, store: impl AsContext) -> Option<u32> {
        let store = &store.as_context().0.opaque;
        let Some(AnyRefKind::Array(_)) = self.kind_in(store) else {
            return None;
        };
        store.gc.array_len(self.raw)
    }

    /// Element `index` of an array; `None` when it is not an array of this
    /// store or `index` is out of bounds.
    pub fn array_get(&self, store: impl AsContext, index: u32) -> Option<Val> {
        let store = &store.as_context().0.opaque;
        let Some(AnyRefKind::Array(id)) = self.kind_in(store) else {
            return None;
        };
        if index >= store.gc.array_len(self.raw)? {
            return None;
        }
        let ty = store.engine.gc_type(id.0);
        let elem = ty.fields.first()?;
        let size = elem.ty.storage.size() as usize;
        let addr = self.raw + crate::runtime::gc::obj::ARRAY_DATA as usize + index as usize * size;
        read_field(store, addr, elem.ty.storage)
    }
}

/// A new object from the store's GC heap, as compiled code would get it.
fn alloc_object(
    store: &mut StoreOpaque,
    type_id: u32,
    kind: u32,
    bytes: u64,
    len: u32,
) -> Result<usize, Error> {
    store.gc_sync_in();
    let obj = store.gc.new_object(type_id, kind, bytes, len);
    store.gc_sync_out();
    obj.map_err(|_| {
        crate::runtime::trap::Trap::new(crate::runtime::trap::TrapCode::GcHeapOutOfMemory).into()
    })
}

/// The stored bits of `v` in a field of storage `s`, checking its type.
fn field_raw(store: &StoreOpaque, v: Val, s: StorageType) -> Result<u128, Error> {
    match (s, v) {
        (StorageType::I8 | StorageType::I16, Val::I32(x)) => Ok(u128::from(x as u32)),
        (StorageType::I8 | StorageType::I16, other) => Err(Error::ty(format!(
            "expected i32 for a packed field, got {}",
            other.ty()
        ))),
        (StorageType::Val(t), v) => v.to_raw(store, t),
    }
}

/// The value of a field stored at `addr`.
fn read_field(store: &StoreOpaque, addr: usize, storage: StorageType) -> Option<Val> {
    let raw = store.gc.read_uint(addr, storage.size())?;
    Some(match storage {
        StorageType::I8 => Val::I32(i32::from(raw as u8)),
        StorageType::I16 => Val::I32(i32::from(raw as u16)),
        StorageType::Val(ty) => Val::from_raw(store, ty, raw),
    })
}

/// A wasm value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    /// `i32`.
    I32(i32),
    /// `i64`.
    I64(i64),
    /// `f32`, as bits.
    F32(u32),
    /// `f64`, as bits.
    F64(u64),
    /// `v128`.
    V128(u128),
    /// `funcref`.
    FuncRef(Option<Func>),
    /// `externref`.
    ExternRef(Option<ExternRef>),
    /// `anyref` (the GC proposal: i31, structs, arrays).
    AnyRef(Option<AnyRef>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::Ref(RefType::FUNCREF),
            Val::ExternRef(_) => ValType::Ref(RefType::EXTERNREF),
            Val::AnyRef(_) => ValType::Ref(RefType::ANYREF),
        }
    }

    /// The `i32`, if it is one.
    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(*v),
            _ => None,
        }
    }

    /// The `i64`, if it is one.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The `anyref`, if it is a non-null one.
    pub fn any_ref(&self) -> Option<AnyRef> {
        match self {
            Val::AnyRef(r) => *r,
            _ => None,
        }
    }

    /// The null reference of `ty`.
    pub fn null_of(ty: RefType) -> Val {
        match ty.heap.top() {
            HeapType::Func => Val::FuncRef(None),
            HeapType::Any => Val::AnyRef(None),
            _ => Val::ExternRef(None),
        }
    }

    /// The default (zero) value of `ty`.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => Val::null_of(r),
        }
    }

    /// The 16-byte slot representation, checking the type.
    pub(crate) fn to_raw(self, store: &StoreOpaque, ty: ValType) -> Result<u128, Error> {
        Ok(match (self, ty) {
            (Val::I32(v), ValType::I32) => u128::from(v as u32),
            (Val::I64(v), ValType::I64) => u128::from(v as u64),
            (Val::F32(v), ValType::F32) => u128::from(v),
            (Val::F64(v), ValType::F64) => u128::from(v),
            (Val::V128(v), ValType::V128) => v,
            (_, ValType::Ref(r)) => self.to_raw_ref(store, r)? as u128,
            _ => return Err(Error::ty(format!("expected {ty}, got {}", self.ty()))),
        })
    }

    /// The table/global element representation of a reference.
    pub(crate) fn to_raw_ref(self, store: &StoreOpaque, ty: RefType) -> Result<usize, Error> {
        let mismatch = |what: String| {
            Err(Error::ty(format!(
                "expected {}, got {what}",
                ValType::Ref(ty)
            )))
        };
        match (self, ty.heap.top()) {
            (Val::FuncRef(None), HeapType::Func)
            | (Val::ExternRef(None), HeapType::Extern | HeapType::Exn)
            | (Val::AnyRef(None), HeapType::Any)
                if ty.nullable =>
            {
                Ok(0)
            }
            (Val::FuncRef(Some(f)), HeapType::Func) => {
                store.check(f.store)?;
                let data = &store.funcs[f.index as usize];
                match ty.heap {
                    HeapType::ConcreteFunc(id) => {
                        let actual = store.engine.register_type(&data.ty);
                        if !store.engine.is_subtype(actual, id.0) {
                            return mismatch(format!("a function of type {}", data.ty));
                        }
                    }
                    HeapType::NoFunc => return mismatch("a function".into()),
                    _ => {}
                }
                Ok(data.funcref() as usize)
            }
            (Val::ExternRef(Some(e)), HeapType::Extern) => {
                store.check(e.store)?;
                if ty.heap == HeapType::NoExtern {
                    return mismatch("an externref".into());
                }
                Ok(e.raw)
            }
            (Val::AnyRef(Some(a)), HeapType::Any) => {
                if a.raw & 1 == 0 {
                    store.check(a.store)?;
                }
                if !crate::runtime::gc::value_matches(store, a.raw, ty.heap) {
                    return mismatch(format!(
                        "a reference of another type ({:?})",
                        a.kind_in(store)
                    ));
                }
                Ok(a.raw)
            }
            _ => mismatch(format!("{}", self.ty())),
        }
    }

    /// A value from its slot representation.
    pub(crate) fn from_raw(store: &StoreOpaque, ty: ValType, raw: u128) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as u64 as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw as u64),
            ValType::V128 => Val::V128(raw),
            ValType::Ref(r) => Val::from_raw_ref(store, r, raw as usize),
        }
    }

    /// A reference from its element representation.
    pub(crate) fn from_raw_ref(store: &StoreOpaque, ty: RefType, raw: usize) -> Val {
        match ty.heap.top() {
            HeapType::Func if raw == 0 => Val::FuncRef(None),
            HeapType::Func => {
                let index = crate::runtime::func::funcref_store_index(raw as *const VMFuncRef);
                Val::FuncRef(Some(Func {
                    store: store.id,
                    index,
                }))
            }
            HeapType::Extern if raw == 0 => Val::ExternRef(None),
            HeapType::Extern => Val::ExternRef(Some(ExternRef {
                store: store.id,
                raw,
            })),
            HeapType::Any if raw == 0 => Val::AnyRef(None),
            HeapType::Any => Val::AnyRef(Some(AnyRef {
                store: store.id,
                raw,
            })),
            // exnrefs are opaque to the host: it sees them as null.
            _ => Val::ExternRef(None),
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}

/// Anything a module can import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// A global.
    Global(Global),
    /// A tag (exception handling).
    Tag(crate::runtime::tag::Tag),
}

impl Extern {
    /// The function, if it is one.
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }
    /// The memory, if it is one.
    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }
    /// The table, if it is one.
    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }
    /// The global, if it is one.
    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<crate::runtime::tag::Tag> for Extern {
    fn from(t: crate::runtime::tag::Tag) -> Self {
        Extern::Tag(t)
    }
}

impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}
