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
}

/// The engine-wide identity of a function signature, as a concrete heap
/// type (`(ref $t)`) carries it.
///
/// Signatures are interned per engine: two modules that declare the same
/// signature get the same id, so ids compare as types do. Without the GC
/// proposal every function type is final and in its own recursion group, so
/// this structural identity is the spec's type equivalence. Read the
/// signature back with [`Engine::func_type`](crate::Engine::func_type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncTypeId(pub(crate) u32);

impl HeapType {
    /// Whether every reference to `self` is also a reference to `other`
    /// (heap-type subtyping without GC: `$t <: func`, `noexn <: exn`).
    pub fn matches(&self, other: &HeapType) -> bool {
        match (self, other) {
            (a, b) if a == b => true,
            (HeapType::ConcreteFunc(_), HeapType::Func) => true,
            (HeapType::NoExn, HeapType::Exn) => true,
            _ => false,
        }
    }

    /// The abstract type at the top of this type's hierarchy (`func`,
    /// `extern` or `exn`): what decides the runtime representation.
    pub fn top(&self) -> HeapType {
        match self {
            HeapType::Func | HeapType::ConcreteFunc(_) => HeapType::Func,
            HeapType::Extern => HeapType::Extern,
            HeapType::Exn | HeapType::NoExn => HeapType::Exn,
        }
    }
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Func,
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
            HeapType::ConcreteFunc(id) => write!(f, "<type {}>", id.0),
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
    pub(crate) fn from_wasm(ty: wasmparser::ValType, types: &[u32]) -> Result<Self, &'static str> {
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
    pub(crate) fn from_wasm(r: wasmparser::RefType, types: &[u32]) -> Result<Self, &'static str> {
        use wasmparser::{AbstractHeapType as A, UnpackedIndex};
        let heap = match r.heap_type() {
            wasmparser::HeapType::Abstract { shared: false, ty } => match ty {
                A::Func => HeapType::Func,
                A::Extern => HeapType::Extern,
                A::Exn => HeapType::Exn,
                A::NoExn => HeapType::NoExn,
                _ => return Err("GC reference types"),
            },
            wasmparser::HeapType::Concrete(UnpackedIndex::Module(index)) => {
                let id = types
                    .get(index as usize)
                    .ok_or("reference to a type not yet defined")?;
                HeapType::ConcreteFunc(FuncTypeId(*id))
            }
            _ => return Err("reference type other than func, extern, exn or a function type"),
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

/// One type of a recursion group as the engine keys it: finality and the
/// signature, references into the group encoded with [`rec_local`].
pub(crate) type RecMember = (bool, FuncType);

/// Ids at or above this stand for "the type at (id - base) of the group
/// being defined" in a group key; engine ids never get this high.
const REC_LOCAL_BASE: u32 = 1 << 31;

/// The placeholder id of the `index`-th type of the group being defined.
pub(crate) fn rec_local(index: u32) -> u32 {
    REC_LOCAL_BASE + index
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

    /// Whether the signature refers to a type of the group being defined
    /// (a [`rec_local`] id).
    pub(crate) fn refers_into_group(&self) -> bool {
        self.params
            .iter()
            .chain(self.results.iter())
            .any(|t| matches!(t, ValType::Ref(RefType { heap: HeapType::ConcreteFunc(id), .. }) if id.0 >= REC_LOCAL_BASE))
    }

    /// Member `index` of `group`, with its references into the group
    /// resolved to the engine ids `first..` the group was given.
    pub(crate) fn resolve_rec_member(group: &Arc<[RecMember]>, index: u32, first: u32) -> Self {
        let resolve = |t: &ValType| match *t {
            ValType::Ref(RefType {
                nullable,
                heap: HeapType::ConcreteFunc(id),
            }) if id.0 >= REC_LOCAL_BASE => ValType::Ref(RefType {
                nullable,
                heap: HeapType::ConcreteFunc(FuncTypeId(first + (id.0 - REC_LOCAL_BASE))),
            }),
            other => other,
        };
        let (_, ty) = &group[index as usize];
        FuncType {
            params: ty.params.iter().map(resolve).collect(),
            results: ty.results.iter().map(resolve).collect(),
            rec: Some(Arc::new(RecIdentity {
                group: group.clone(),
                index,
            })),
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

    /// `ty`, with module type indices resolved through `types` (the
    /// module's type index → engine-wide signature id).
    pub(crate) fn from_wasm(
        ty: &wasmparser::FuncType,
        types: &[u32],
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
/// (the module's earlier types' engine ids).
///
/// Function types only: struct and array types, declared supertypes and
/// shared types need the GC proposal's runtime, which the engine lacks.
pub(crate) fn rec_group_from_wasm(
    group: wasmparser::RecGroup,
    types: &[u32],
) -> Result<Vec<RecMember>, &'static str> {
    let n = group.types().len() as u32;
    let mut scope = types.to_vec();
    scope.extend((0..n).map(rec_local));
    group
        .into_types()
        .map(|sub| {
            if !sub.supertype_idxs.is_empty() {
                return Err("declared supertypes (GC subtyping)");
            }
            if sub.composite_type.shared
                || sub.composite_type.descriptor_idx.is_some()
                || sub.composite_type.describes_idx.is_some()
            {
                return Err("shared or descriptor types");
            }
            match &sub.composite_type.inner {
                wasmparser::CompositeInnerType::Func(f) => {
                    Ok((sub.is_final, FuncType::from_wasm(f, &scope)?))
                }
                _ => Err("struct, array and continuation types (GC)"),
            }
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
    Tag(crate::tag::TagType),
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
