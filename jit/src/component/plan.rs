//! The flattened component: what `translate::inline` produces and
//! instantiation walks. Everything here is indices; no tree is left.

use crate::component::abi::StringEncoding;
use crate::component::state::FrameIndex;
use crate::component::types::{FuncTypeIndex, ResourceIndex};

/// Index of a core instance in a component instance.
pub(crate) type RuntimeInstanceIndex = u32;
/// Index of a lowering (a core function made by `canon lower`).
pub(crate) type LoweringIndex = u32;
/// Index of a lifted function.
pub(crate) type LiftedIndex = u32;
/// Index of an imported function (a path into the root's imports).
pub(crate) type ImportIndex = u32;

/// Where a core item comes from at run time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CoreDef {
    /// Export number `export` (in the module's export order) of a core
    /// instance.
    Export {
        instance: RuntimeInstanceIndex,
        export: u32,
    },
    /// A lowered function.
    Lowering(LoweringIndex),
    /// `resource.new` of a resource, for code of `frame`.
    ResourceNew {
        resource: ResourceIndex,
        frame: FrameIndex,
    },
    /// `resource.drop`.
    ResourceDrop {
        resource: ResourceIndex,
        frame: FrameIndex,
    },
    /// `resource.rep`.
    ResourceRep {
        resource: ResourceIndex,
        frame: FrameIndex,
    },
}

/// Canonical options, with their core items resolved to [`CoreDef`]s.
#[derive(Clone, Debug)]
pub(crate) struct OptionsDef {
    pub frame: FrameIndex,
    pub memory: Option<CoreDef>,
    pub realloc: Option<CoreDef>,
    pub post_return: Option<CoreDef>,
    pub encoding: StringEncoding,
    pub is_async: bool,
}

/// What a lowered function calls.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Callee {
    /// A function the host provides.
    Import(ImportIndex),
    /// A function lifted by a component instance of the same plan.
    Lifted(LiftedIndex),
}

/// A `canon lower`.
#[derive(Clone, Debug)]
pub(crate) struct Lowering {
    pub callee: Callee,
    pub ty: FuncTypeIndex,
    pub options: OptionsDef,
}

/// A `canon lift`.
#[derive(Clone, Debug)]
pub(crate) struct Lifted {
    pub core_func: CoreDef,
    pub ty: FuncTypeIndex,
    pub options: OptionsDef,
}

/// A path to an imported item: the root import, then export names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ImportPath {
    pub import: u32,
    pub names: Vec<Box<str>>,
}

/// An imported function and the type the component expects of it.
#[derive(Clone, Debug)]
pub(crate) struct ImportedFunc {
    pub path: ImportPath,
    pub ty: FuncTypeIndex,
}

/// A resource type of the plan.
#[derive(Clone, Debug)]
pub(crate) enum ResourceDef {
    /// Defined by component instance `frame`, with an optional destructor.
    Defined {
        frame: FrameIndex,
        dtor: Option<CoreDef>,
    },
    /// Imported from the host.
    Imported(ImportPath),
}

/// Instantiation work, in order.
#[derive(Clone, Debug)]
pub(crate) enum Initializer {
    /// Instantiate a core module with one [`CoreDef`] per import, in the
    /// module's import order; the result is the next
    /// [`RuntimeInstanceIndex`].
    InstantiateModule { module: u32, args: Vec<CoreDef> },
    /// Resolve resource `resource`'s destructor (once its instance exists).
    DefineResource(ResourceIndex),
}

/// A function export.
#[derive(Clone, Debug)]
pub(crate) struct FuncExport {
    pub callee: Callee,
    pub ty: FuncTypeIndex,
}

/// An export of the root component.
#[derive(Clone, Debug)]
pub(crate) enum Export {
    Func(FuncExport),
    Instance(Vec<(Box<str>, Export)>),
    Module,
    /// A type.
    Type,
    /// A nested component: not instantiable by the host.
    Component,
}

/// A root import, for reflection and linking.
#[derive(Clone, Debug)]
pub(crate) struct RootImport {
    /// The name with any version suffix, as the linker matches it.
    pub full_name: Box<str>,
    /// What kind of item the import is (`function`, `instance`, ...), as
    /// link errors name it.
    pub kind: &'static str,
    /// Every function the import's type asks the host for, used or not:
    /// the linker must define them all (as wasmtime checks at
    /// `instantiate_pre`), each by its path inside the import. (Imported
    /// resource types are `Plan::resources`' `Imported` entries.)
    pub required: Vec<(Vec<Box<str>>, RequiredKind)>,
}

/// What a root import's type asks the linker to define at one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequiredKind {
    /// A host function.
    Func,
    /// A host resource type.
    Resource,
}

/// The flattened component.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub initializers: Vec<Initializer>,
    pub lowerings: Vec<Lowering>,
    pub lifted: Vec<Lifted>,
    pub imports: Vec<ImportedFunc>,
    pub resources: Vec<ResourceDef>,
    /// The parent of each component instance (frame 0 is the root).
    pub frames: Vec<Option<FrameIndex>>,
    pub exports: Vec<(Box<str>, Export)>,
    pub root_imports: Vec<RootImport>,
    /// How many core instances instantiation makes.
    pub num_core_instances: u32,
}
