//! Types of values and of the things a module imports and exports.

use std::fmt;
use std::sync::Arc;

/// A reference type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefType {
    /// Whether null is a member.
    pub nullable: bool,
    /// What it refers to.
    pub heap: HeapType,
}

/// The referent of a reference type.
///
/// Three hierarchies share no values: `func` (`nofunc` <: `$f` <: `func`),
/// `extern` (`noextern` <: `extern`), `exn` (`noexn` <: `exn`), and the GC
/// proposal's `any` (`none` <: `i31`, `$s` <: `struct`, `$a` <: `array` <:
/// `eq` <: `any`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeapType {
    /// Any function.
    Func,
    /// An opaque host reference.
    Extern,
    /// A caught exception (`exnref`); opaque to the host.
    Exn,
    /// The bottom of the exception hierarchy (`nullexnref`'s referent): only
    /// null.
    NoExn,
    /// A function of one concrete signature (`(ref $t)`, typed function
    /// references).
    ConcreteFunc(FuncTypeId),
    /// The top of the GC hierarchy: i31s, structs, arrays and internalised
    /// host references (`any.convert_extern`).
    Any,
    /// What `ref.eq` compares: i31s, structs and arrays.
    Eq,
    /// An unboxed 31-bit integer (`ref.i31`).
    I31,
    /// Any struct.
    Struct,
    /// Any array.
    Array,
    /// The bottom of the GC hierarchy (`nullref`'s referent): only null.
    None,
    /// The bottom of the function hierarchy (`nullfuncref`'s referent).
    NoFunc,
    /// The bottom of the extern hierarchy (`nullexternref`'s referent).
    NoExtern,
    /// A struct of one defined type (`(ref $s)`).
    ConcreteStruct(FuncTypeId),
    /// An array of one defined type (`(ref $a)`).
    ConcreteArray(FuncTypeId),
}

/// The engine-wide identity of a defined type (a function signature, a
/// struct or an array type), as a concrete heap type (`(ref $t)`) carries
/// it.
///
/// Types are interned per engine: two modules that declare the same type
/// (the same recursion group, at the same place) get the same id, so ids
/// compare as types do (iso-recursive type equivalence). Read a signature
/// back with [`Engine::func_type`](crate::Engine::func_type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncTypeId(pub(crate) u32);

/// The kind of a defined type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompositeKind {
    /// A function signature.
    Func,
    /// A struct type.
    Struct,
    /// An array type.
    Array,
}

impl HeapType {
    /// Whether every reference to `self` is also a reference to `other`,
    /// for abstract types and equal concrete types. Declared subtyping
    /// between concrete types needs the engine's registry:
    /// [`Engine::heap_type_matches`](crate::Engine::heap_type_matches).
    pub fn matches(&self, other: &HeapType) -> bool {
        use HeapType as H;
        match (self, other) {
            (a, b) if a == b => true,
            (H::ConcreteFunc(_) | H::NoFunc, H::Func) => true,
            (H::NoFunc, H::ConcreteFunc(_)) => true,
            (H::NoExn, H::Exn) => true,
            (H::NoExtern, H::Extern) => true,
            (H::None, b) => b.top() == H::Any,
            (
                H::I31 | H::Struct | H::Array | H::ConcreteStruct(_) | H::ConcreteArray(_),
                H::Any | H::Eq,
            ) => true,
            (H::Eq, H::Any) => true,
            (H::ConcreteStruct(_), H::Struct) => true,
            (H::ConcreteArray(_), H::Array) => true,
            _ => false,
        }
    }

    /// The abstract type at the top of this type's hierarchy (`func`,
    /// `extern`, `exn` or `any`): what decides the runtime representation.
    pub fn top(&self) -> HeapType {
        match self {
            HeapType::Func | HeapType::ConcreteFunc(_) | HeapType::NoFunc => HeapType::Func,
            HeapType::Extern | HeapType::NoExtern => HeapType::Extern,
            HeapType::Exn | HeapType::NoExn => HeapType::Exn,
            HeapType::Any
            | HeapType::Eq
            | HeapType::I31
            | HeapType::Struct
            | HeapType::Array
            | HeapType::None
            | HeapType::ConcreteStruct(_)
            | HeapType::ConcreteArray(_) => HeapType::Any,
        }
    }

    /// The bottom type of this type's hierarchy.
    pub fn bottom(&self) -> HeapType {
        match self.top() {
            HeapType::Func => HeapType::NoFunc,
            HeapType::Extern => HeapType::NoExtern,
            HeapType::Exn => HeapType::NoExn,
            _ => HeapType::None,
        }
    }

    /// The defined type a concrete heap type names.
    pub fn concrete(&self) -> Option<FuncTypeId> {
        match self {
            HeapType::ConcreteFunc(id)
            | HeapType::ConcreteStruct(id)
            | HeapType::ConcreteArray(id) => Some(*id),
            _ => None,
        }
    }

    /// The same kind of concrete type with another id.
    pub(crate) fn with_id(self, id: FuncTypeId) -> HeapType {
        match self {
            HeapType::ConcreteFunc(_) => HeapType::ConcreteFunc(id),
            HeapType::ConcreteStruct(_) => HeapType::ConcreteStruct(id),
            HeapType::ConcreteArray(_) => HeapType::ConcreteArray(id),
            other => other,
        }
    }

    fn concrete_of(kind: CompositeKind, id: FuncTypeId) -> HeapType {
        match kind {
            CompositeKind::Func => HeapType::ConcreteFunc(id),
            CompositeKind::Struct => HeapType::ConcreteStruct(id),
            CompositeKind::Array => HeapType::ConcreteArray(id),
        }
    }
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Func,
    };
    /// `anyref`.
    pub const ANYREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Any,
    };
    /// `externref`.
    pub const EXTERNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Extern,
    };

    /// A reference type.
    pub fn new(nullable: bool, heap: HeapType) -> Self {
        RefType { nullable, heap }
    }

    /// Whether `self` is a subtype of `other`: `(ref $t)` <: `(ref null $t)`
    /// <: `funcref`, `(ref $t)` <: `(ref func)`.
    pub fn matches(&self, other: &RefType) -> bool {
        (other.nullable || !self.nullable) && self.heap.matches(&other.heap)
    }
}

/// A value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference.
    Ref(RefType),
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::NoExn => f.write_str("noexn"),
            HeapType::Any => f.write_str("any"),
            HeapType::Eq => f.write_str("eq"),
            HeapType::I31 => f.write_str("i31"),
            HeapType::Struct => f.write_str("struct"),
            HeapType::Array => f.write_str("array"),
            HeapType::None => f.write_str("none"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::ConcreteFunc(id)
            | HeapType::ConcreteStruct(id)
            | HeapType::ConcreteArray(id) => write!(f, "<type {}>", id.0),
        }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (true, HeapType::Exn) => f.write_str("exnref"),
            (true, heap) => write!(f, "(ref null {heap})"),
            (false, heap) => write!(f, "(ref {heap})"),
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::Ref(r) => return r.fmt(f),
        };
        f.write_str(s)
    }
}

impl ValType {
    /// Whether a value of type `self` may be used where `other` is expected.
    pub fn matches(&self, other: &ValType) -> bool {
        match (self, other) {
            (ValType::Ref(a), ValType::Ref(b)) => a.matches(b),
            (a, b) => a == b,
        }
    }

    /// Whether the type has a default value (null, zero): every type but a
    /// non-nullable reference.
    pub fn is_defaultable(&self) -> bool {
        !matches!(self, ValType::Ref(r) if !r.nullable)
    }

    /// `ty`, with module type indices resolved through `types` (the
    /// module's type index → engine-wide signature id).
    pub(crate) fn from_wasm(
        ty: wasmparser::ValType,
        types: Scope<'_>,
    ) -> Result<Self, &'static str> {
        Ok(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) => ValType::Ref(RefType::from_wasm(r, types)?),
        })
    }
}

impl RefType {
    /// `r`, with a concrete heap type's module index resolved through
    /// `types` (the module's type index → engine-wide signature id).
    pub(crate) fn from_wasm(
        r: wasmparser::RefType,
        types: Scope<'_>,
    ) -> Result<Self, &'static str> {
        use wasmparser::{AbstractHeapType as A, UnpackedIndex};
        let heap = match r.heap_type() {
            wasmparser::HeapType::Abstract { shared: false, ty } => match ty {
                A::Func => HeapType::Func,
                A::Extern => HeapType::Extern,
                A::Exn => HeapType::Exn,
                A::NoExn => HeapType::NoExn,
                A::Any => HeapType::Any,
                A::Eq => HeapType::Eq,
                A::I31 => HeapType::I31,
                A::Struct => HeapType::Struct,
                A::Array => HeapType::Array,
                A::None => HeapType::None,
                A::NoFunc => HeapType::NoFunc,
                A::NoExtern => HeapType::NoExtern,
                _ => return Err("continuation reference types"),
            },
            wasmparser::HeapType::Concrete(UnpackedIndex::Module(index))
            | wasmparser::HeapType::Exact(UnpackedIndex::Module(index)) => {
                let id = types
                    .ids
                    .get(index as usize)
                    .ok_or("reference to a type not yet defined")?;
                let kind = types
                    .kinds
                    .get(index as usize)
                    .ok_or("reference to a type not yet defined")?;
                HeapType::concrete_of(*kind, FuncTypeId(*id))
            }
            _ => return Err("shared reference types"),
        };
        Ok(RefType {
            nullable: r.is_nullable(),
            heap,
        })
    }
}

/// A function signature.
///
/// Two signatures are the same type when their parameters and results are
/// and, for a type declared in an explicit recursion group (`rec`), when
/// they sit at the same place in equal groups (iso-recursive identity: the
/// first of `(rec (type (func)) (type (func)))` is not `(type (func))`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Box<[ValType]>,
    results: Box<[ValType]>,
    /// The recursion group a type defined by one comes from; `None` for a
    /// final type alone in its group and not referring to itself, whose
    /// identity is its structure.
    rec: Option<Arc<RecIdentity>>,
}

/// Where a function type sits in the recursion group that defines it.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RecIdentity {
    /// The group, with references inside it as [`rec_local`] ids.
    group: Arc<[RecMember]>,
    /// The type's place in `group`.
    index: u32,
}

/// How a struct field or an array element is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// A packed 8-bit integer (read with `get_s`/`get_u`).
    I8,
    /// A packed 16-bit integer.
    I16,
    /// A value of a value type.
    Val(ValType),
}

/// A struct field or an array's element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldType {
    /// How it is stored.
    pub storage: StorageType,
    /// Whether `struct.set`/`array.set` may write it.
    pub mutable: bool,
}

impl StorageType {
    /// Bytes the field occupies in an object.
    pub(crate) fn size(&self) -> u32 {
        match self {
            StorageType::I8 => 1,
            StorageType::I16 => 2,
            StorageType::Val(ValType::I32 | ValType::F32) => 4,
            StorageType::Val(ValType::I64 | ValType::F64 | ValType::Ref(_)) => 8,
            StorageType::Val(ValType::V128) => 16,
        }
    }

    /// The value type a read of the field produces (`i32` for packed).
    pub fn unpacked(&self) -> ValType {
        match self {
            StorageType::I8 | StorageType::I16 => ValType::I32,
            StorageType::Val(v) => *v,
        }
    }

    fn map_ref(self, f: impl Fn(RefType) -> RefType) -> StorageType {
        match self {
            StorageType::Val(ValType::Ref(r)) => StorageType::Val(ValType::Ref(f(r))),
            other => other,
        }
    }

    fn from_wasm(s: wasmparser::StorageType, types: Scope<'_>) -> Result<Self, &'static str> {
        Ok(match s {
            wasmparser::StorageType::I8 => StorageType::I8,
            wasmparser::StorageType::I16 => StorageType::I16,
            wasmparser::StorageType::Val(v) => StorageType::Val(ValType::from_wasm(v, types)?),
        })
    }
}

impl FieldType {
    fn from_wasm(f: wasmparser::FieldType, types: Scope<'_>) -> Result<Self, &'static str> {
        Ok(FieldType {
            storage: StorageType::from_wasm(f.element_type, types)?,
            mutable: f.mutable,
        })
    }
}

/// The structure of a defined type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Composite {
    /// A function signature.
    Func(FuncType),
    /// A struct's fields.
    Struct(Box<[FieldType]>),
    /// An array's element.
    Array(FieldType),
}

impl Composite {
    /// Which kind of type this is.
    pub(crate) fn kind(&self) -> CompositeKind {
        match self {
            Composite::Func(_) => CompositeKind::Func,
            Composite::Struct(_) => CompositeKind::Struct,
            Composite::Array(_) => CompositeKind::Array,
        }
    }

    /// Every reference type it mentions.
    fn refs(&self) -> Vec<RefType> {
        let of_val = |v: &ValType| match v {
            ValType::Ref(r) => Some(*r),
            _ => None,
        };
        let of_field = |f: &FieldType| match f.storage {
            StorageType::Val(v) => of_val(&v),
            _ => None,
        };
        match self {
            Composite::Func(f) => f
                .params
                .iter()
                .chain(f.results.iter())
                .filter_map(of_val)
                .collect(),
            Composite::Struct(fields) => fields.iter().filter_map(of_field).collect(),
            Composite::Array(f) => of_field(f).into_iter().collect(),
        }
    }

    /// The same structure with every reference mapped by `f`.
    fn map_refs(&self, f: &impl Fn(RefType) -> RefType) -> Composite {
        let val = |v: &ValType| match *v {
            ValType::Ref(r) => ValType::Ref(f(r)),
            other => other,
        };
        let field = |x: &FieldType| FieldType {
            storage: x.storage.map_ref(f),
            mutable: x.mutable,
        };
        match self {
            Composite::Func(t) => Composite::Func(FuncType {
                params: t.params.iter().map(val).collect(),
                results: t.results.iter().map(val).collect(),
                rec: t.rec.clone(),
            }),
            Composite::Struct(fields) => Composite::Struct(fields.iter().map(field).collect()),
            Composite::Array(x) => Composite::Array(field(x)),
        }
    }
}

/// One type of a recursion group as the engine keys it: finality, the
/// declared supertype and the structure, references into the group encoded
/// with [`rec_local`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RecMember {
    /// Declared `final` (no subtypes allowed).
    pub is_final: bool,
    /// The declared supertype's id (engine id or [`rec_local`]).
    pub supertype: Option<u32>,
    /// The structure.
    pub composite: Composite,
}

/// Ids at or above this stand for "the type at (id - base) of the group
/// being defined" in a group key; engine ids never get this high.
const REC_LOCAL_BASE: u32 = 1 << 31;

/// The placeholder id of the `index`-th type of the group being defined.
pub(crate) fn rec_local(index: u32) -> u32 {
    REC_LOCAL_BASE + index
}

/// What a module's type indices mean while its types are read: the
/// engine-wide id and the kind of each type defined so far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// Module type index → engine-wide id (or [`rec_local`] id).
    pub ids: &'a [u32],
    /// Module type index → kind.
    pub kinds: &'a [CompositeKind],
}

impl RecMember {
    /// Whether the member refers to a type of the group being defined
    /// (a [`rec_local`] id).
    pub(crate) fn refers_into_group(&self) -> bool {
        self.supertype.is_some_and(|s| s >= REC_LOCAL_BASE)
            || self
                .composite
                .refs()
                .iter()
                .any(|r| r.heap.concrete().is_some_and(|id| id.0 >= REC_LOCAL_BASE))
    }

    /// Member `index` of `group`, with its references into the group
    /// resolved to the engine ids `first..` the group was given.
    pub(crate) fn resolve(group: &Arc<[RecMember]>, index: u32, first: u32) -> RecMember {
        let resolve_id = |id: u32| {
            if id >= REC_LOCAL_BASE {
                first + (id - REC_LOCAL_BASE)
            } else {
                id
            }
        };
        let resolve = |r: RefType| match r.heap.concrete() {
            Some(id) => RefType {
                nullable: r.nullable,
                heap: r.heap.with_id(FuncTypeId(resolve_id(id.0))),
            },
            None => r,
        };
        let member = &group[index as usize];
        let mut composite = member.composite.map_refs(&resolve);
        if let Composite::Func(f) = &mut composite {
            f.rec = Some(Arc::new(RecIdentity {
                group: group.clone(),
                index,
            }));
        }
        RecMember {
            is_final: member.is_final,
            supertype: member.supertype.map(resolve_id),
            composite,
        }
    }
}

impl FuncType {
    /// A signature from its parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
            rec: None,
        }
    }

    /// Parameter types.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// Result types.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }

    /// `ty`, with module type indices resolved through `types`.
    pub(crate) fn from_wasm(
        ty: &wasmparser::FuncType,
        types: Scope<'_>,
    ) -> Result<Self, &'static str> {
        let params = ty
            .params()
            .iter()
            .map(|t| ValType::from_wasm(*t, types))
            .collect::<Result<_, _>>()?;
        let results = ty
            .results()
            .iter()
            .map(|t| ValType::from_wasm(*t, types))
            .collect::<Result<_, _>>()?;
        Ok(FuncType {
            params,
            results,
            rec: None,
        })
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(func (param")?;
        for p in self.params() {
            write!(f, " {p}")?;
        }
        write!(f, ") (result")?;
        for r in self.results() {
            write!(f, " {r}")?;
        }
        write!(f, "))")
    }
}

/// The types of one recursion group of a type section, references into the
/// group as [`rec_local`] ids and other references resolved through `types`
/// (the module's earlier types).
///
/// Shared types and descriptors (shared-everything threads, custom
/// descriptors) and continuations are not supported.
pub(crate) fn rec_group_from_wasm(
    group: wasmparser::RecGroup,
    types: Scope<'_>,
) -> Result<Vec<RecMember>, &'static str> {
    let subs: Vec<wasmparser::SubType> = group.into_types().collect();
    let n = subs.len() as u32;
    let mut ids = types.ids.to_vec();
    ids.extend((0..n).map(rec_local));
    let mut kinds = types.kinds.to_vec();
    for sub in &subs {
        kinds.push(match &sub.composite_type.inner {
            wasmparser::CompositeInnerType::Func(_) => CompositeKind::Func,
            wasmparser::CompositeInnerType::Struct(_) => CompositeKind::Struct,
            wasmparser::CompositeInnerType::Array(_) => CompositeKind::Array,
            _ => return Err("continuation types"),
        });
    }
    let scope = Scope {
        ids: &ids,
        kinds: &kinds,
    };
    subs.into_iter()
        .map(|sub| {
            if sub.composite_type.shared
                || sub.composite_type.descriptor_idx.is_some()
                || sub.composite_type.describes_idx.is_some()
            {
                return Err("shared or descriptor types");
            }
            let supertype = match sub.supertype_idxs.first() {
                None => None,
                Some(idx) => {
                    let index = idx.as_module_index().ok_or("supertype index")?;
                    Some(
                        *ids.get(index as usize)
                            .ok_or("supertype index out of range")?,
                    )
                }
            };
            let composite = match &sub.composite_type.inner {
                wasmparser::CompositeInnerType::Func(f) => {
                    Composite::Func(FuncType::from_wasm(f, scope)?)
                }
                wasmparser::CompositeInnerType::Struct(s) => Composite::Struct(
                    s.fields
                        .iter()
                        .map(|f| FieldType::from_wasm(*f, scope))
                        .collect::<Result<_, _>>()?,
                ),
                wasmparser::CompositeInnerType::Array(a) => {
                    Composite::Array(FieldType::from_wasm(a.0, scope)?)
                }
                _ => return Err("continuation types"),
            };
            Ok(RecMember {
                is_final: sub.is_final,
                supertype,
                composite,
            })
        })
        .collect()
}

/// Whether a global may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable.
    Var,
}

/// The type of a global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// Value type.
    pub content: ValType,
    /// Mutability.
    pub mutability: Mutability,
}

impl GlobalType {
    /// A global type.
    pub fn new(content: ValType, mutability: Mutability) -> Self {
        GlobalType {
            content,
            mutability,
        }
    }
}

/// The type of a linear memory. Its sizes count pages of
/// `1 << page_size_log2` bytes: 64 KiB by default, 1 byte with the
/// custom-page-sizes proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Initial pages.
    pub minimum: u64,
    /// Maximum pages.
    pub maximum: Option<u64>,
    /// 64-bit index type.
    pub memory64: bool,
    /// A `shared` memory (threads proposal): it must have a maximum, and
    /// it matches only a shared import. Today it is shared by the
    /// instances of one store only; there is no API to share it with
    /// another thread yet.
    pub shared: bool,
    /// Log2 of the page size in bytes: 16 (64 KiB, the default) or 0 (one
    /// byte, custom-page-sizes proposal, `(pagesize 1)`). An import matches
    /// only a memory of the same page size.
    pub page_size_log2: u8,
}

impl MemoryType {
    /// Log2 of the default page size, 64 KiB.
    pub const DEFAULT_PAGE_SIZE_LOG2: u8 = 16;

    /// A 32-bit, unshared memory type with 64 KiB pages.
    pub fn new(minimum: u32, maximum: Option<u32>) -> Self {
        MemoryType {
            minimum: minimum.into(),
            maximum: maximum.map(u64::from),
            memory64: false,
            shared: false,
            page_size_log2: Self::DEFAULT_PAGE_SIZE_LOG2,
        }
    }

    /// A 32-bit shared memory type (threads proposal); a shared memory
    /// always has a maximum.
    pub fn shared(minimum: u32, maximum: u32) -> Self {
        MemoryType {
            shared: true,
            ..MemoryType::new(minimum, Some(maximum))
        }
    }

    /// This type with pages of `1 << log2` bytes (custom-page-sizes
    /// proposal; 0 and 16 are the sizes it allows, which
    /// [`Memory::new`](crate::Memory::new) checks). `minimum` and `maximum`
    /// keep their numbers, now counting the new pages.
    pub fn with_page_size_log2(self, log2: u8) -> Self {
        MemoryType {
            page_size_log2: log2,
            ..self
        }
    }

    /// Whether the memory is shared.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Bytes in one page of this memory.
    pub fn page_size(&self) -> u64 {
        1u64 << self.page_size_log2.min(63)
    }

    /// The most pages any memory of this index type and page size may
    /// have: 2^32 − 1 bytes for a 32-bit memory of 1-byte pages, 2^16 pages
    /// of 64 KiB (4 GiB); for memory64, 2^64 − 1 bytes or 2^48 pages.
    pub fn absolute_max_pages(&self) -> u64 {
        let page_size = self.page_size();
        if self.memory64 {
            if page_size == 1 {
                u64::MAX
            } else {
                1 << (64 - u32::from(self.page_size_log2))
            }
        } else if page_size == 1 {
            u64::from(u32::MAX)
        } else {
            (1 << 32) / page_size
        }
    }
}

/// The type of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    /// Element type.
    pub element: RefType,
    /// Initial elements.
    pub minimum: u64,
    /// Maximum elements.
    pub maximum: Option<u64>,
    /// Indexed with `i64` (memory64's 64-bit tables) rather than `i32`.
    pub table64: bool,
}

impl TableType {
    /// A 32-bit-indexed table type.
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> Self {
        TableType {
            element,
            minimum: minimum.into(),
            maximum: maximum.map(u64::from),
            table64: false,
        }
    }
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag (exception handling).
    Tag(crate::runtime::tag::TagType),
}

/// One import of a module.
#[derive(Debug, Clone)]
pub struct ImportType<'a> {
    pub(crate) module: &'a str,
    pub(crate) name: &'a str,
    pub(crate) ty: ExternType,
}

impl ImportType<'_> {
    /// Module name.
    pub fn module(&self) -> &str {
        self.module
    }
    /// Field name.
    pub fn name(&self) -> &str {
        self.name
    }
    /// Its type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a module.
#[derive(Debug, Clone)]
pub struct ExportType<'a> {
    pub(crate) name: &'a str,
    pub(crate) ty: ExternType,
}

impl ExportType<'_> {
    /// Export name.
    pub fn name(&self) -> &str {
        self.name
    }
    /// Its type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// Is a value of limits `(amin, amax)` acceptable where `(bmin, bmax)` is declared?
pub(crate) fn limits_match(amin: u64, amax: Option<u64>, bmin: u64, bmax: Option<u64>) -> bool {
    amin >= bmin
        && match bmax {
            None => true,
            Some(bmax) => matches!(amax, Some(amax) if amax <= bmax),
        }
}
