//! Component value types as the engine keeps them: one arena per component
//! ([`ComponentTypes`]), indices into it, and each defined type's
//! canonical-ABI layout computed once when it is interned.
//!
//! Types come from wasmparser's validated type information (see
//! `translate`), with every resource resolved to a [`ResourceIndex`] of the
//! component's plan, so that two resources with the same shape stay
//! distinct types.

use std::collections::HashMap;

use super::abi::{FlatType, Flattened};

/// Index of a defined type in a component's [`ComponentTypes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeIndex(pub(crate) u32);

/// Index of a function type in a component's [`ComponentTypes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncTypeIndex(pub(crate) u32);

/// Index of a resource type in a component's plan: resolved, per instance,
/// to a runtime [`ResourceType`](super::resources::ResourceType).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceIndex(pub(crate) u32);

/// A component value type: a primitive, a handle, or a defined type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InterfaceType {
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
    /// `error-context`
    ErrorContext,
    /// `own<T>` of a plan resource.
    Own(ResourceIndex),
    /// `borrow<T>` of a plan resource.
    Borrow(ResourceIndex),
    /// A compound type of the arena.
    Defined(TypeIndex),
}

/// A named record field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// The name.
    pub name: Box<str>,
    /// The type.
    pub ty: InterfaceType,
}

/// A named variant case with an optional payload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Case {
    /// The name.
    pub name: Box<str>,
    /// The payload type.
    pub ty: Option<InterfaceType>,
}

/// A defined (compound) value type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeDef {
    /// `list<T>`
    List(InterfaceType),
    /// `list<T, N>`
    FixedList(InterfaceType, u32),
    /// `record`
    Record(Box<[Field]>),
    /// `tuple`
    Tuple(Box<[InterfaceType]>),
    /// `variant`
    Variant(Box<[Case]>),
    /// `enum`
    Enum(Box<[Box<str>]>),
    /// `option<T>`
    Option(InterfaceType),
    /// `result<T, E>`
    Result {
        /// The `ok` payload.
        ok: Option<InterfaceType>,
        /// The `error` payload.
        err: Option<InterfaceType>,
    },
    /// `flags`
    Flags(Box<[Box<str>]>),
    /// `future<T>`
    Future(Option<InterfaceType>),
    /// `stream<T>`
    Stream(Option<InterfaceType>),
}

/// A defined type and its canonical-ABI layout (32-bit memories).
#[derive(Clone, Debug)]
pub struct TypeInfo {
    /// The definition.
    pub def: TypeDef,
    /// `elem_size`.
    pub size: u32,
    /// `alignment`.
    pub align: u32,
    /// The flattened core types, up to `MAX_FLAT_PARAMS + 1` of them.
    pub flat: Flattened,
    /// Whether a value of this type holds a `borrow` anywhere.
    pub has_borrow: bool,
    /// Whether a value of this type holds any handle (own, borrow, stream,
    /// future, error-context).
    pub has_handle: bool,
}

/// A component function type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncTypeDef {
    /// Named parameters.
    pub params: Box<[Field]>,
    /// The result.
    pub result: Option<InterfaceType>,
    /// Whether the function is `async`.
    pub is_async: bool,
}

/// The type arena of one component. Shared by its instances.
#[derive(Debug, Default)]
pub struct ComponentTypes {
    defs: Vec<TypeInfo>,
    funcs: Vec<FuncTypeDef>,
    def_ids: HashMap<TypeDef, TypeIndex>,
    func_ids: HashMap<FuncTypeDef, FuncTypeIndex>,
}

impl std::ops::Index<TypeIndex> for ComponentTypes {
    type Output = TypeInfo;
    fn index(&self, i: TypeIndex) -> &TypeInfo {
        &self.defs[i.0 as usize]
    }
}

impl std::ops::Index<FuncTypeIndex> for ComponentTypes {
    type Output = FuncTypeDef;
    fn index(&self, i: FuncTypeIndex) -> &FuncTypeDef {
        &self.funcs[i.0 as usize]
    }
}

impl ComponentTypes {
    /// Intern a defined type, computing its layout.
    pub fn intern(&mut self, def: TypeDef) -> TypeIndex {
        if let Some(&i) = self.def_ids.get(&def) {
            return i;
        }
        let info = self.layout(def.clone());
        let i = TypeIndex(self.defs.len() as u32);
        self.defs.push(info);
        self.def_ids.insert(def, i);
        i
    }

    /// Intern a function type.
    pub fn intern_func(&mut self, f: FuncTypeDef) -> FuncTypeIndex {
        if let Some(&i) = self.func_ids.get(&f) {
            return i;
        }
        let i = FuncTypeIndex(self.funcs.len() as u32);
        self.funcs.push(f.clone());
        self.func_ids.insert(f, i);
        i
    }

    /// The number of defined types.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// Whether no defined type is interned.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// `size`, `align` of any type.
    pub fn size_align(&self, t: InterfaceType) -> (u32, u32) {
        use InterfaceType as I;
        match t {
            I::Bool | I::S8 | I::U8 => (1, 1),
            I::S16 | I::U16 => (2, 2),
            I::S32 | I::U32 | I::Float32 | I::Char => (4, 4),
            I::S64 | I::U64 | I::Float64 => (8, 8),
            I::String => (8, 4),
            I::ErrorContext | I::Own(_) | I::Borrow(_) => (4, 4),
            I::Defined(i) => {
                let info = &self[i];
                (info.size, info.align)
            }
        }
    }

    /// The flattened core types of `t` (capped, see [`Flattened`]).
    pub fn flat(&self, t: InterfaceType) -> Flattened {
        use InterfaceType as I;
        match t {
            I::S64 | I::U64 => Flattened::one(FlatType::I64),
            I::Float32 => Flattened::one(FlatType::F32),
            I::Float64 => Flattened::one(FlatType::F64),
            I::String => Flattened::from_slice(&[FlatType::I32, FlatType::I32]),
            I::Defined(i) => self[i].flat.clone(),
            _ => Flattened::one(FlatType::I32),
        }
    }

    fn has_borrow(&self, t: InterfaceType) -> bool {
        match t {
            InterfaceType::Borrow(_) => true,
            InterfaceType::Defined(i) => self[i].has_borrow,
            _ => false,
        }
    }

    fn has_handle(&self, t: InterfaceType) -> bool {
        match t {
            InterfaceType::Borrow(_) | InterfaceType::Own(_) | InterfaceType::ErrorContext => true,
            InterfaceType::Defined(i) => self[i].has_handle,
            _ => false,
        }
    }

    /// The canonical ABI's `alignment`, `elem_size` and `flatten_type` for
    /// a new defined type (CanonicalABI.md, "Alignment", "Element Size",
    /// "Flattening"), with 32-bit pointers.
    fn layout(&self, def: TypeDef) -> TypeInfo {
        let (size, align, flat) = match &def {
            TypeDef::List(_) => (8, 4, Flattened::from_slice(&[FlatType::I32, FlatType::I32])),
            TypeDef::FixedList(t, n) => {
                let (s, a) = self.size_align(*t);
                let mut flat = Flattened::default();
                for _ in 0..*n {
                    flat.extend(&self.flat(*t));
                }
                (s.saturating_mul(*n), a, flat)
            }
            TypeDef::Record(fields) => self.record_layout(fields.iter().map(|f| f.ty)),
            TypeDef::Tuple(ts) => self.record_layout(ts.iter().copied()),
            TypeDef::Variant(cases) => self.variant_layout(cases.iter().map(|c| c.ty)),
            TypeDef::Enum(names) => self.variant_layout(names.iter().map(|_| None)),
            TypeDef::Option(t) => self.variant_layout([None, Some(*t)].into_iter()),
            TypeDef::Result { ok, err } => self.variant_layout([*ok, *err].into_iter()),
            TypeDef::Flags(names) => {
                let n = names.len();
                let size = if n <= 8 {
                    1
                } else if n <= 16 {
                    2
                } else {
                    4
                };
                (size, size, Flattened::one(FlatType::I32))
            }
            TypeDef::Future(_) | TypeDef::Stream(_) => (4, 4, Flattened::one(FlatType::I32)),
        };
        let children: Vec<InterfaceType> = match &def {
            TypeDef::List(t) | TypeDef::FixedList(t, _) | TypeDef::Option(t) => vec![*t],
            TypeDef::Record(fields) => fields.iter().map(|f| f.ty).collect(),
            TypeDef::Tuple(ts) => ts.to_vec(),
            TypeDef::Variant(cases) => cases.iter().filter_map(|c| c.ty).collect(),
            TypeDef::Result { ok, err } => ok.iter().chain(err.iter()).copied().collect(),
            TypeDef::Future(t) | TypeDef::Stream(t) => t.iter().copied().collect(),
            TypeDef::Enum(_) | TypeDef::Flags(_) => Vec::new(),
        };
        let has_borrow = children.iter().any(|t| self.has_borrow(*t));
        let has_handle = matches!(def, TypeDef::Future(_) | TypeDef::Stream(_))
            || children.iter().any(|t| self.has_handle(*t));
        TypeInfo {
            def,
            size,
            align,
            flat,
            has_borrow,
            has_handle,
        }
    }

    fn record_layout(&self, fields: impl Iterator<Item = InterfaceType>) -> (u32, u32, Flattened) {
        let mut size = 0u32;
        let mut align = 1u32;
        let mut flat = Flattened::default();
        for t in fields {
            let (s, a) = self.size_align(t);
            size = align_to(size, a).saturating_add(s);
            align = align.max(a);
            flat.extend(&self.flat(t));
        }
        (align_to(size, align), align, flat)
    }

    fn variant_layout(
        &self,
        cases: impl Iterator<Item = Option<InterfaceType>> + Clone,
    ) -> (u32, u32, Flattened) {
        let n = cases.clone().count();
        let disc = discriminant_size(n);
        let mut max_align = 1u32;
        let mut max_size = 0u32;
        let mut payload: Vec<FlatType> = Vec::new();
        let mut overflow = false;
        for t in cases.flatten() {
            let (s, a) = self.size_align(t);
            max_align = max_align.max(a);
            max_size = max_size.max(s);
            let f = self.flat(t);
            overflow |= f.overflowed();
            for (i, ft) in f.iter().enumerate() {
                match payload.get_mut(i) {
                    Some(have) => *have = have.join(ft),
                    None => payload.push(ft),
                }
            }
        }
        let align = disc.max(max_align);
        let size = align_to(align_to(disc, max_align).saturating_add(max_size), align);
        let mut flat = Flattened::one(FlatType::I32);
        flat.extend(&Flattened::from_slice(&payload));
        if overflow {
            flat.mark_overflowed();
        }
        (size, align, flat)
    }
}

/// The byte size of a variant's discriminant with `n` cases.
pub(crate) fn discriminant_size(n: usize) -> u32 {
    if n <= 1 << 8 {
        1
    } else if n <= 1 << 16 {
        2
    } else {
        4
    }
}

/// `align_to` of the spec.
pub(crate) fn align_to(x: u32, align: u32) -> u32 {
    x.div_ceil(align).saturating_mul(align)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, ty: InterfaceType) -> Field {
        Field {
            name: name.into(),
            ty,
        }
    }

    #[test]
    fn record_layout_follows_the_spec() {
        let mut t = ComponentTypes::default();
        // record { a: u8, b: u32, c: u16 } -> offsets 0, 4, 8; size 12, align 4
        let r = t.intern(TypeDef::Record(
            [
                field("a", InterfaceType::U8),
                field("b", InterfaceType::U32),
                field("c", InterfaceType::U16),
            ]
            .into(),
        ));
        assert_eq!((t[r].size, t[r].align), (12, 4));
        assert_eq!(t[r].flat.len(), 3);
    }

    #[test]
    fn variant_layout_joins_payloads() {
        let mut t = ComponentTypes::default();
        // variant { a(f32), b(u64), c } -> disc u8, payload aligned to 8
        let v = t.intern(TypeDef::Variant(
            [
                Case {
                    name: "a".into(),
                    ty: Some(InterfaceType::Float32),
                },
                Case {
                    name: "b".into(),
                    ty: Some(InterfaceType::U64),
                },
                Case {
                    name: "c".into(),
                    ty: None,
                },
            ]
            .into(),
        ));
        assert_eq!((t[v].size, t[v].align), (16, 8));
        let flat: Vec<FlatType> = t[v].flat.iter().collect();
        assert_eq!(flat, [FlatType::I32, FlatType::I64]);
    }

    #[test]
    fn flags_sizes() {
        let mut t = ComponentTypes::default();
        for (n, size) in [(1, 1), (8, 1), (9, 2), (16, 2), (17, 4), (32, 4)] {
            let names: Box<[Box<str>]> = (0..n).map(|i| format!("f{i}").into()).collect();
            let f = t.intern(TypeDef::Flags(names));
            assert_eq!(t[f].size, size, "{n} flags");
        }
    }

    #[test]
    fn discriminant_sizes() {
        assert_eq!(discriminant_size(1), 1);
        assert_eq!(discriminant_size(256), 1);
        assert_eq!(discriminant_size(257), 2);
        assert_eq!(discriminant_size(65536), 2);
        assert_eq!(discriminant_size(65537), 4);
    }

    #[test]
    fn interning_is_structural() {
        let mut t = ComponentTypes::default();
        let a = t.intern(TypeDef::List(InterfaceType::U8));
        let b = t.intern(TypeDef::List(InterfaceType::U8));
        assert_eq!(a, b);
        assert_eq!(t.len(), 1);
    }
}
