//! Converting wasmparser's validated component types into the engine's
//! arena ([`ComponentTypes`]), resolving each resource through the
//! flattening's map from wasmparser resource ids to plan resources.

use wasmparser::PrimitiveValType;
use wasmparser::component_types::{
    ComponentDefinedType, ComponentFuncTypeId, ComponentValType, ResourceId,
};
use wasmparser::types::Types;

use crate::component::types::{
    Case, ComponentTypes, Field, FuncTypeDef, FuncTypeIndex, InterfaceType, ResourceIndex, TypeDef,
};
use crate::error::Error;

/// Converts types for one scope of the flattening.
pub(crate) struct TypeConverter<'a> {
    pub wp: &'a Types,
    pub arena: &'a mut ComponentTypes,
    pub resource: &'a dyn Fn(ResourceId) -> Option<ResourceIndex>,
}

impl TypeConverter<'_> {
    /// A function type.
    pub fn func(&mut self, id: ComponentFuncTypeId) -> Result<FuncTypeIndex, Error> {
        let wp = self.wp;
        let f = &wp[id];
        let params = f
            .params
            .iter()
            .map(|(name, t)| {
                Ok(Field {
                    name: name.as_str().into(),
                    ty: self.valtype(*t)?,
                })
            })
            .collect::<Result<Box<[Field]>, Error>>()?;
        let result = f.result.map(|t| self.valtype(t)).transpose()?;
        Ok(self.arena.intern_func(FuncTypeDef {
            params,
            result,
            is_async: f.async_,
        }))
    }

    /// A value type.
    pub fn valtype(&mut self, t: ComponentValType) -> Result<InterfaceType, Error> {
        Ok(match t {
            ComponentValType::Primitive(p) => primitive(p),
            ComponentValType::Type(id) => {
                let wp = self.wp;
                self.defined(&wp[id])?
            }
        })
    }

    fn opt(&mut self, t: Option<ComponentValType>) -> Result<Option<InterfaceType>, Error> {
        t.map(|t| self.valtype(t)).transpose()
    }

    fn resolve(&self, id: ResourceId) -> Result<ResourceIndex, Error> {
        (self.resource)(id).ok_or_else(|| {
            Error::Unsupported("a resource type the flattening could not resolve".into())
        })
    }

    fn defined(&mut self, d: &ComponentDefinedType) -> Result<InterfaceType, Error> {
        let def = match d {
            ComponentDefinedType::Primitive(p) => return Ok(primitive(*p)),
            ComponentDefinedType::Own(r) => {
                return Ok(InterfaceType::Own(self.resolve(r.resource())?));
            }
            ComponentDefinedType::Borrow(r) => {
                return Ok(InterfaceType::Borrow(self.resolve(r.resource())?));
            }
            ComponentDefinedType::Record(r) => TypeDef::Record(
                r.fields
                    .iter()
                    .map(|(n, t)| {
                        Ok(Field {
                            name: n.as_str().into(),
                            ty: self.valtype(*t)?,
                        })
                    })
                    .collect::<Result<_, Error>>()?,
            ),
            ComponentDefinedType::Variant(v) => TypeDef::Variant(
                v.cases
                    .iter()
                    .map(|(n, c)| {
                        Ok(Case {
                            name: n.as_str().into(),
                            ty: self.opt(c.ty)?,
                        })
                    })
                    .collect::<Result<_, Error>>()?,
            ),
            ComponentDefinedType::List { element, .. } => TypeDef::List(self.valtype(*element)?),
            ComponentDefinedType::Map { key, value, .. } => {
                // The spec's `despecialize`: list<tuple<K, V>>.
                let k = self.valtype(*key)?;
                let v = self.valtype(*value)?;
                let t = self.arena.intern(TypeDef::Tuple([k, v].into()));
                TypeDef::List(InterfaceType::Defined(t))
            }
            ComponentDefinedType::FixedLengthList {
                element, length, ..
            } => TypeDef::FixedList(self.valtype(*element)?, *length),
            ComponentDefinedType::Tuple(t) => TypeDef::Tuple(
                t.types
                    .iter()
                    .map(|t| self.valtype(*t))
                    .collect::<Result<_, Error>>()?,
            ),
            ComponentDefinedType::Flags(names) => {
                TypeDef::Flags(names.iter().map(|n| n.as_str().into()).collect())
            }
            ComponentDefinedType::Enum(names) => {
                TypeDef::Enum(names.iter().map(|n| n.as_str().into()).collect())
            }
            ComponentDefinedType::Option { ty, .. } => TypeDef::Option(self.valtype(*ty)?),
            ComponentDefinedType::Result { ok, err, .. } => TypeDef::Result {
                ok: self.opt(*ok)?,
                err: self.opt(*err)?,
            },
            ComponentDefinedType::Future { ty, .. } => TypeDef::Future(self.opt(*ty)?),
            ComponentDefinedType::Stream { ty, .. } => TypeDef::Stream(self.opt(*ty)?),
        };
        Ok(InterfaceType::Defined(self.arena.intern(def)))
    }
}

fn primitive(p: PrimitiveValType) -> InterfaceType {
    match p {
        PrimitiveValType::Bool => InterfaceType::Bool,
        PrimitiveValType::S8 => InterfaceType::S8,
        PrimitiveValType::U8 => InterfaceType::U8,
        PrimitiveValType::S16 => InterfaceType::S16,
        PrimitiveValType::U16 => InterfaceType::U16,
        PrimitiveValType::S32 => InterfaceType::S32,
        PrimitiveValType::U32 => InterfaceType::U32,
        PrimitiveValType::S64 => InterfaceType::S64,
        PrimitiveValType::U64 => InterfaceType::U64,
        PrimitiveValType::F32 => InterfaceType::Float32,
        PrimitiveValType::F64 => InterfaceType::Float64,
        PrimitiveValType::Char => InterfaceType::Char,
        PrimitiveValType::String => InterfaceType::String,
        PrimitiveValType::ErrorContext => InterfaceType::ErrorContext,
    }
}
