//! Values crossing the host/guest boundary.

use crate::env::VMFuncRef;
use crate::error::Error;
use crate::func::Func;
use crate::global::Global;
use crate::memory_api::Memory;
use crate::store::{AsContext, AsContextMut, StoreOpaque};
use crate::table::Table;
use crate::types::{HeapType, RefType, ValType};

/// An opaque host reference (`externref`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternRef {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl ExternRef {
    /// A new reference carrying `value`.
    pub fn new(mut store: impl AsContextMut, value: u64) -> ExternRef {
        let store = &mut store.as_context_mut().0.opaque;
        store.externrefs.push(value);
        ExternRef {
            store: store.id,
            index: store.externrefs.len() as u32 - 1,
        }
    }

    /// The value it carries.
    pub fn payload(&self, store: impl AsContext) -> u64 {
        let store = &store.as_context().0.opaque;
        assert_eq!(store.id, self.store, "externref used with the wrong store");
        store.externrefs[self.index as usize]
    }
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

    /// The null reference of `ty`.
    pub fn null_of(ty: RefType) -> Val {
        match ty.heap.top() {
            HeapType::Func => Val::FuncRef(None),
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
        match (self, ty.heap.top()) {
            (Val::FuncRef(None), HeapType::Func)
            | (Val::ExternRef(None), HeapType::Extern | HeapType::Exn)
                if ty.nullable =>
            {
                Ok(0)
            }
            (Val::FuncRef(Some(f)), HeapType::Func) => {
                store.check(f.store)?;
                let data = &store.funcs[f.index as usize];
                if let HeapType::ConcreteFunc(id) = ty.heap {
                    let actual = store.engine.register_type(&data.ty);
                    if actual != id.0 {
                        return Err(Error::ty(format!(
                            "expected {}, got a function of type {}",
                            ValType::Ref(ty),
                            data.ty
                        )));
                    }
                }
                Ok(data.funcref() as usize)
            }
            (Val::ExternRef(Some(e)), HeapType::Extern) => {
                store.check(e.store)?;
                Ok(e.index as usize + 1)
            }
            _ => Err(Error::ty(format!(
                "expected {}, got {}",
                ValType::Ref(ty),
                self.ty()
            ))),
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
                let index = crate::func::funcref_store_index(raw as *const VMFuncRef);
                Val::FuncRef(Some(Func {
                    store: store.id,
                    index,
                }))
            }
            HeapType::Extern if raw == 0 => Val::ExternRef(None),
            // exnrefs are opaque to the host: it sees them as null.
            HeapType::Extern => Val::ExternRef(Some(ExternRef {
                store: store.id,
                index: raw as u32 - 1,
            })),
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
    Tag(crate::tag::Tag),
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
impl From<crate::tag::Tag> for Extern {
    fn from(t: crate::tag::Tag) -> Self {
        Extern::Tag(t)
    }
}

impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}
