//! Module metadata and the VMContext layout that translation may see,
//! computed once per module.

use std::collections::HashMap;
use std::ops::Range;

use crate::types::{FuncType, GlobalType, MemoryType, RefType, TableType};

/// A constant expression operator (wasm 2.0 plus extended-const).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ConstOp {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// `v128.const`, little-endian.
    V128(u128),
    RefNull,
    RefFunc(u32),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
    /// `ref.i31`.
    RefI31,
    /// `struct.new $t`.
    StructNew(u32),
    /// `struct.new_default $t`.
    StructNewDefault(u32),
    /// `array.new $t`.
    ArrayNew(u32),
    /// `array.new_default $t`.
    ArrayNewDefault(u32),
    /// `array.new_fixed $t n`.
    ArrayNewFixed(u32, u32),
    /// `any.convert_extern` / `extern.convert_any`: the same word.
    Convert,
}

/// A constant expression and where it sits in the binary.
#[derive(Debug, Clone)]
pub(crate) struct ConstExpr {
    pub ops: Box<[ConstOp]>,
}

/// What an import or export refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntityIndex {
    Func(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
    /// A tag (exception handling).
    Tag(u32),
}

/// One import.
#[derive(Debug, Clone)]
pub(crate) struct Import {
    pub module: Box<str>,
    pub name: Box<str>,
    pub index: EntityIndex,
}

/// Where a data segment goes.
#[derive(Debug, Clone)]
pub(crate) enum DataKind {
    Passive,
    Active { memory: u32, offset: ConstExpr },
}

/// A data segment; `bytes` indexes the module's binary.
#[derive(Debug, Clone)]
pub(crate) struct DataSegment {
    pub kind: DataKind,
    pub bytes: Range<usize>,
}

/// Where an element segment goes.
#[derive(Debug, Clone)]
pub(crate) enum ElemKind {
    Passive,
    Declared,
    Active { table: u32, offset: ConstExpr },
}

/// An element segment.
#[derive(Debug, Clone)]
pub(crate) struct ElemSegment {
    pub kind: ElemKind,
    /// Element type (kept for diagnostics).
    #[expect(dead_code, reason = "validation already checked element types")]
    pub ty: RefType,
    pub items: Box<[ConstExpr]>,
}

/// Everything about a module except its code.
#[derive(Debug, Default)]
pub(crate) struct ModuleInfo {
    /// Module type index → signature.
    pub types: Vec<FuncType>,
    /// Module type index → engine-wide type id.
    pub type_ids: Vec<u32>,
    /// Module type index → kind (function, struct, array).
    pub type_kinds: Vec<crate::types::CompositeKind>,
    /// Function index → module type index (imports first).
    pub funcs: Vec<u32>,
    pub num_imported_funcs: u32,
    pub tables: Vec<TableType>,
    pub num_imported_tables: u32,
    pub memories: Vec<MemoryType>,
    pub num_imported_memories: u32,
    pub globals: Vec<GlobalType>,
    pub num_imported_globals: u32,
    /// Initialisers of defined globals.
    pub global_inits: Vec<ConstExpr>,
    /// Initialisers of defined tables (`None` = null).
    pub table_inits: Vec<Option<ConstExpr>>,
    pub imports: Vec<Import>,
    pub exports: Vec<(Box<str>, EntityIndex)>,
    pub start: Option<u32>,
    pub data: Vec<DataSegment>,
    pub elems: Vec<ElemSegment>,
    pub name: Option<Box<str>>,
    pub func_names: HashMap<u32, Box<str>>,
    /// Byte ranges of the defined functions' bodies.
    pub bodies: Vec<Range<usize>>,
    /// Tag index → module type index of its (params → []) signature
    /// (imports first).
    pub tags: Vec<u32>,
    pub num_imported_tags: u32,
}

impl ModuleInfo {
    /// The module's types as the type readers resolve indices.
    pub(crate) fn scope(&self) -> crate::types::Scope<'_> {
        crate::types::Scope {
            ids: &self.type_ids,
            kinds: &self.type_kinds,
        }
    }

    /// The signature of function `index`.
    pub fn func_type(&self, index: u32) -> &FuncType {
        &self.types[self.funcs[index as usize] as usize]
    }

    /// Number of defined functions.
    pub fn num_defined_funcs(&self) -> u32 {
        self.funcs.len() as u32 - self.num_imported_funcs
    }
}

/// A function reference as compiled code and tables see it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Entry with the wasm calling convention.
    pub wasm_call: *const u8,
    /// Entry with the array calling convention (`fn(callee, caller, *mut u128)`).
    pub array_call: *const u8,
    /// The callee's vmctx (an instance's or a host function's context).
    pub vmctx: *mut u8,
    /// Engine-wide signature id, compared by `call_indirect`.
    pub type_id: u32,
    /// Index of the function in its store.
    pub store_index: u32,
}

/// Byte offsets of VMFuncRef fields.
pub(crate) mod funcref {
    pub const WASM_CALL: i32 = 0;
    pub const VMCTX: i32 = 16;
    pub const TYPE_ID: i32 = 24;
    pub const SIZE: u32 = 32;
}

/// Byte offsets of `VMMemoryDefinition` fields.
pub(crate) mod memdef {
    pub const BASE: i32 = 0;
    pub const LENGTH: i32 = 8;
}

/// Byte offsets of `VMTableDefinition` fields.
pub(crate) mod tabledef {
    pub const BASE: i32 = 0;
    pub const LENGTH: i32 = 8;
}

/// Byte offsets of `VMStoreContext` fields.
pub(crate) mod storectx {
    pub const EPOCH_PTR: i32 = 0;
    pub const EPOCH_DEADLINE: i32 = 8;
    pub const STACK_LIMIT: i32 = 16;
    pub const CALLER_VMCTX: i32 = 24;
    pub const GC_TOP: i32 = 32;
    pub const GC_END: i32 = 40;
    pub const GC_DISPLAYS: i32 = 48;
    pub const EPOCH_TRAMPOLINE: i32 = 56;
}

/// Offsets inside one instance's VMContext, computed once per module.
///
/// Layout: header (magic, instance index, store, store context, builtins),
/// then imported-function funcref pointers, memory definition pointers,
/// table definition pointers, global pointers, and finally one inline
/// [`VMFuncRef`] per defined function.
#[derive(Debug, Clone)]
pub(crate) struct VMOffsets {
    num_imported_funcs: u32,
    num_memories: u32,
    num_tables: u32,
    num_globals: u32,
    num_defined_funcs: u32,
    num_tags: u32,
}

impl VMOffsets {
    /// `u32` magic, then the instance's index in its store.
    pub const MAGIC: u32 = 0;
    pub const INSTANCE_INDEX: u32 = 4;
    /// `*mut StoreOpaque`.
    pub const STORE: u32 = 8;
    /// `*mut VMStoreContext`.
    pub const STORE_CTX: u32 = 16;
    /// `*const [usize; N]` builtin function table.
    pub const BUILTINS: u32 = 24;
    const HEADER: u32 = 32;

    pub fn new(info: &ModuleInfo) -> Self {
        VMOffsets {
            num_imported_funcs: info.num_imported_funcs,
            num_memories: info.memories.len() as u32,
            num_tables: info.tables.len() as u32,
            num_globals: info.globals.len() as u32,
            num_defined_funcs: info.num_defined_funcs(),
            num_tags: info.tags.len() as u32,
        }
    }

    /// `*const VMFuncRef` of imported function `i`.
    pub fn imported_func(&self, i: u32) -> u32 {
        Self::HEADER + 8 * i
    }
    /// `*mut VMMemoryDefinition` of memory `i`.
    pub fn memory(&self, i: u32) -> u32 {
        Self::HEADER + 8 * (self.num_imported_funcs + i)
    }
    /// `*mut VMTableDefinition` of table `i`.
    pub fn table(&self, i: u32) -> u32 {
        Self::HEADER + 8 * (self.num_imported_funcs + self.num_memories + i)
    }
    /// `*mut VMGlobal` of global `i`.
    pub fn global(&self, i: u32) -> u32 {
        Self::HEADER + 8 * (self.num_imported_funcs + self.num_memories + self.num_tables + i)
    }
    fn funcrefs_start(&self) -> u32 {
        self.global(self.num_globals).next_multiple_of(16)
    }
    /// Inline `VMFuncRef` of defined function `i`.
    pub fn defined_funcref(&self, i: u32) -> u32 {
        self.funcrefs_start() + funcref::SIZE * i
    }
    /// `*const TagData` (the tag's identity) of tag `i` (imports first).
    pub fn tag(&self, i: u32) -> u32 {
        self.defined_funcref(self.num_defined_funcs) + 8 * i
    }
    /// `*const ExnBuiltins`: the exception-handling builtins.
    pub fn exn_builtins(&self) -> u32 {
        self.tag(self.num_tags)
    }
    /// Total size in bytes.
    pub fn size(&self) -> u32 {
        self.exn_builtins() + 8
    }
}

/// The magic value at offset 0 of every instance VMContext.
pub(crate) const VMCTX_MAGIC: u32 = u32::from_le_bytes(*b"core");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_disjoint_and_funcrefs_aligned() {
        let info = ModuleInfo {
            funcs: vec![0; 5],
            num_imported_funcs: 2,
            memories: vec![crate::types::MemoryType::new(1, None)],
            globals: vec![
                crate::types::GlobalType::new(
                    crate::types::ValType::I32,
                    crate::types::Mutability::Var
                );
                3
            ],
            ..ModuleInfo::default()
        };
        let o = VMOffsets::new(&info);
        assert_eq!(o.imported_func(0), 32);
        assert_eq!(o.memory(0), o.imported_func(2));
        assert_eq!(o.global(0), o.table(0));
        assert!(o.defined_funcref(0) >= o.global(3));
        assert_eq!(o.defined_funcref(0) % 16, 0);
        assert_eq!(o.exn_builtins(), o.defined_funcref(0) + 3 * funcref::SIZE);
        assert_eq!(o.size(), o.exn_builtins() + 8);
        assert_eq!(size_of::<VMFuncRef>() as u32, funcref::SIZE);
        assert_eq!(
            std::mem::offset_of!(VMFuncRef, vmctx) as i32,
            funcref::VMCTX
        );
        assert_eq!(
            std::mem::offset_of!(VMFuncRef, type_id) as i32,
            funcref::TYPE_ID
        );
    }
}
