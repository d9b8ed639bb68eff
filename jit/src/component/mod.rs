//! The component model: components, their instances and the canonical ABI,
//! with an embedding API shaped as wasmtime's `component` module.
//!
//! Like the rest of the engine it knows no I/O; the WASI host sits above it.
//!
//! Where to start reading (`docs/design/components.md` has the whole story):
//! - `translate`: validate with wasmparser and record each component's
//!   index spaces; `translate::inline` flattens the tree of nested
//!   components into one `plan::Plan` of initializers;
//! - `abi`: the canonical ABI, named as the spec's `definitions.py`;
//! - `instance`: instantiation walks the plan; lowered imports become host
//!   functions of the core runtime, lifted exports are called through
//!   `call_lifted_with`;
//! - `linker`, `func`, `typed`, `resources`: the embedding API.
//!
//! Every module here is safe code.

#[forbid(unsafe_code)]
pub(crate) mod abi;
#[forbid(unsafe_code)]
mod compile;
#[forbid(unsafe_code)]
mod func;
#[forbid(unsafe_code)]
mod instance;
#[forbid(unsafe_code)]
mod linker;
#[forbid(unsafe_code)]
mod names;
#[forbid(unsafe_code)]
pub(crate) mod plan;
#[forbid(unsafe_code)]
mod resources;
#[forbid(unsafe_code)]
pub(crate) mod state;
#[forbid(unsafe_code)]
mod translate;
#[forbid(unsafe_code)]
mod typed;
#[forbid(unsafe_code)]
pub(crate) mod types;
#[forbid(unsafe_code)]
mod values;

use std::sync::Arc;

pub use compile::{Component, is_component};
pub use func::{Func, TypedFunc};
pub use instance::{Instance, InstancePre};
pub use linker::{Linker, LinkerInstance};
pub use resources::{Resource, ResourceAny, ResourceTable, ResourceTableError, ResourceType};
pub use typed::{ComponentNamedList, ComponentType, Lift, LiftList, Lower, LowerList};
pub use values::Val;

/// Internals that generated bindings and the typed traits' methods name;
/// not a stable API.
#[doc(hidden)]
pub mod __internal {
    pub use super::abi::cx::Cx;
    pub use super::abi::lift::CoreValueIter;
    pub use super::typed::{bind, defined};
    pub use super::types::{Case, ComponentTypes, Field, InterfaceType, TypeDef};
    pub use crate::runtime::trap::Trap;
}

use types::{ComponentTypes, InterfaceType, TypeDef};

/// A component value type, for reflection (what `--invoke` needs to parse
/// arguments).
#[derive(Clone)]
pub struct Type {
    types: Arc<ComponentTypes>,
    ty: InterfaceType,
}

/// The shape of a [`Type`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TypeKind {
    /// `bool`
    Bool,
    /// `s8`
    S8,
    /// `u8`
    U8,
    /// `s16`
    S16,
    /// `u16`
    U16,
    /// `s32`
    S32,
    /// `u32`
    U32,
    /// `s64`
    S64,
    /// `u64`
    U64,
    /// `f32`
    Float32,
    /// `f64`
    Float64,
    /// `char`
    Char,
    /// `string`
    String,
    /// `list<T>`
    List(Type),
    /// `list<T, N>`
    FixedList(Type, u32),
    /// `record { .. }`
    Record(Vec<(String, Type)>),
    /// `tuple<..>`
    Tuple(Vec<Type>),
    /// `variant { .. }`
    Variant(Vec<(String, Option<Type>)>),
    /// `enum { .. }`
    Enum(Vec<String>),
    /// `option<T>`
    Option(Type),
    /// `result<T, E>`
    Result(Option<Type>, Option<Type>),
    /// `flags { .. }`
    Flags(Vec<String>),
    /// `own<T>`
    Own,
    /// `borrow<T>`
    Borrow,
    /// `future<T>`
    Future,
    /// `stream<T>`
    Stream,
    /// `error-context`
    ErrorContext,
}

impl Type {
    pub(crate) fn new(types: &Arc<ComponentTypes>, ty: InterfaceType) -> Type {
        Type {
            types: types.clone(),
            ty,
        }
    }

    fn sub(&self, ty: InterfaceType) -> Type {
        Type::new(&self.types, ty)
    }

    /// The type's shape.
    pub fn kind(&self) -> TypeKind {
        use InterfaceType as I;
        match self.ty {
            I::Bool => TypeKind::Bool,
            I::S8 => TypeKind::S8,
            I::U8 => TypeKind::U8,
            I::S16 => TypeKind::S16,
            I::U16 => TypeKind::U16,
            I::S32 => TypeKind::S32,
            I::U32 => TypeKind::U32,
            I::S64 => TypeKind::S64,
            I::U64 => TypeKind::U64,
            I::Float32 => TypeKind::Float32,
            I::Float64 => TypeKind::Float64,
            I::Char => TypeKind::Char,
            I::String => TypeKind::String,
            I::ErrorContext => TypeKind::ErrorContext,
            I::Own(_) => TypeKind::Own,
            I::Borrow(_) => TypeKind::Borrow,
            I::Defined(i) => match &self.types[i].def {
                TypeDef::List(t) => TypeKind::List(self.sub(*t)),
                TypeDef::FixedList(t, n) => TypeKind::FixedList(self.sub(*t), *n),
                TypeDef::Record(fields) => TypeKind::Record(
                    fields
                        .iter()
                        .map(|f| (f.name.to_string(), self.sub(f.ty)))
                        .collect(),
                ),
                TypeDef::Tuple(ts) => TypeKind::Tuple(ts.iter().map(|t| self.sub(*t)).collect()),
                TypeDef::Variant(cases) => TypeKind::Variant(
                    cases
                        .iter()
                        .map(|c| (c.name.to_string(), c.ty.map(|t| self.sub(t))))
                        .collect(),
                ),
                TypeDef::Enum(names) => {
                    TypeKind::Enum(names.iter().map(|n| n.to_string()).collect())
                }
                TypeDef::Option(t) => TypeKind::Option(self.sub(*t)),
                TypeDef::Result { ok, err } => {
                    TypeKind::Result(ok.map(|t| self.sub(t)), err.map(|t| self.sub(t)))
                }
                TypeDef::Flags(names) => {
                    TypeKind::Flags(names.iter().map(|n| n.to_string()).collect())
                }
                TypeDef::Future(_) => TypeKind::Future,
                TypeDef::Stream(_) => TypeKind::Stream,
            },
        }
    }
}

impl std::fmt::Debug for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind() {
            TypeKind::Bool => f.write_str("bool"),
            TypeKind::S8 => f.write_str("s8"),
            TypeKind::U8 => f.write_str("u8"),
            TypeKind::S16 => f.write_str("s16"),
            TypeKind::U16 => f.write_str("u16"),
            TypeKind::S32 => f.write_str("s32"),
            TypeKind::U32 => f.write_str("u32"),
            TypeKind::S64 => f.write_str("s64"),
            TypeKind::U64 => f.write_str("u64"),
            TypeKind::Float32 => f.write_str("f32"),
            TypeKind::Float64 => f.write_str("f64"),
            TypeKind::Char => f.write_str("char"),
            TypeKind::String => f.write_str("string"),
            TypeKind::List(t) => write!(f, "list<{t}>"),
            TypeKind::FixedList(t, n) => write!(f, "list<{t}, {n}>"),
            TypeKind::Record(fields) => {
                f.write_str("record { ")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {t}")?;
                }
                f.write_str(" }")
            }
            TypeKind::Tuple(ts) => {
                f.write_str("tuple<")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(">")
            }
            TypeKind::Variant(_) => f.write_str("variant"),
            TypeKind::Enum(_) => f.write_str("enum"),
            TypeKind::Option(t) => write!(f, "option<{t}>"),
            TypeKind::Result(ok, err) => {
                let show = |t: &Option<Type>| t.as_ref().map_or("_".to_string(), |t| t.to_string());
                write!(f, "result<{}, {}>", show(&ok), show(&err))
            }
            TypeKind::Flags(_) => f.write_str("flags"),
            TypeKind::Own => f.write_str("own"),
            TypeKind::Borrow => f.write_str("borrow"),
            TypeKind::Future => f.write_str("future"),
            TypeKind::Stream => f.write_str("stream"),
            TypeKind::ErrorContext => f.write_str("error-context"),
        }
    }
}
