//! Translation, second half: flatten a component's tree of nested
//! components, instances and aliases into one [`Plan`], by instantiating
//! it symbolically once (as wasmtime's `inline.rs` does). Each nested
//! instantiation becomes a frame (a component instance of its own at run
//! time); every function, core instance and resource it makes gets a plan
//! index; what is left for run time is a straight list of initializers.
//!
//! Resources are the subtle part: wasmparser names them by `ResourceId`s
//! that are fresh per *static* instantiation, but a nested component's own
//! definitions use the ids of its definition. Each frame therefore keeps
//! its own map from ids to plan resources, filled from its imports (by the
//! component type's `imported_resources` paths), its definitions, and the
//! instances it creates (by their `defined_resources` paths).

use std::collections::HashMap;
use std::rc::Rc;

use wasmparser::ExternalKind;
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentEntityType, ComponentInstanceTypeId, ComponentTypeId, ResourceId,
};
use wasmparser::types::Types;

use super::types::TypeConverter;
use super::{
    CanonOptions, ComponentDefRef, CoreFuncDef, CoreInstanceDef, FuncDef, InstanceDef, ItemRef,
    ModuleDef, StaticComponent, StaticInit, Translation,
};
use crate::component::plan::{
    Callee, CoreDef, Export, FuncExport, ImportPath, ImportedFunc, Initializer, Lifted, Lowering,
    OptionsDef, Plan, RequiredKind, ResourceDef, RootImport,
};
use crate::component::state::FrameIndex;
use crate::component::types::{ComponentTypes, FuncTypeIndex, ResourceIndex};
use crate::error::Error;
use crate::module::Module;

/// A component function as the flattening sees it.
#[derive(Clone, Debug)]
struct FuncVal {
    callee: Callee,
    ty: FuncTypeIndex,
}

/// A component instance as the flattening sees it.
#[derive(Clone, Debug)]
enum InstanceVal {
    /// An imported instance (or an instance inside one).
    Import(ImportPath),
    /// An instance made of items.
    Items(Rc<Vec<(Box<str>, ItemVal)>>),
}

/// Any component-level item.
#[derive(Clone, Debug)]
enum ItemVal {
    Func(FuncVal),
    Instance(InstanceVal),
    Module(u32),
    /// A component definition and the frame its outer aliases see.
    Component(u32, usize),
    /// A type (its meaning is in wasmparser's ids).
    Type,
}

/// A core instance as the flattening sees it.
#[derive(Clone, Debug)]
enum CoreInstanceVal {
    /// Made by instantiating module `module`.
    Runtime { index: u32, module: u32 },
    /// A bag of core items.
    Synthetic(Rc<Vec<(Box<str>, CoreDef)>>),
}

/// One static instantiation of a component.
struct Frame {
    index: FrameIndex,
    comp: usize,
    /// Arguments by import name (nested frames only).
    args: HashMap<Box<str>, ItemVal>,
    /// wasmparser resource id → plan resource, for this frame's scope.
    resources: HashMap<ResourceId, ResourceIndex>,
    parent_scope: Option<usize>,
    core_funcs: Vec<Option<CoreDef>>,
    core_instances: Vec<Option<CoreInstanceVal>>,
    funcs: Vec<Option<FuncVal>>,
    instances: Vec<Option<InstanceVal>>,
    resources_defined: Vec<bool>,
}

struct Inliner<'a> {
    t: &'a Translation,
    modules: &'a [Module],
    plan: Plan,
    arena: ComponentTypes,
    frames: Vec<Frame>,
    imported_funcs: HashMap<ImportPath, u32>,
}

fn err(what: &str) -> Error {
    Error::Unsupported(what.to_string().into())
}

/// Flatten `t` (with its core modules compiled as `modules`) into a plan.
pub(crate) fn inline(t: &Translation, modules: &[Module]) -> Result<(Plan, ComponentTypes), Error> {
    let mut inl = Inliner {
        t,
        modules,
        plan: Plan::default(),
        arena: ComponentTypes::default(),
        frames: Vec::new(),
        imported_funcs: HashMap::new(),
    };
    let root = inl.new_frame(0, None, HashMap::new(), None);
    inl.root_imports(root)?;
    inl.run(root)?;
    let exports = inl.exports(root)?;
    inl.plan.exports = exports;
    Ok((inl.plan, inl.arena))
}

impl Inliner<'_> {
    fn comp(&self, f: usize) -> &StaticComponent {
        &self.t.components[self.frames[f].comp]
    }

    fn types(&self) -> &Types {
        &self.t.types
    }

    fn new_frame(
        &mut self,
        comp: usize,
        parent: Option<FrameIndex>,
        args: HashMap<Box<str>, ItemVal>,
        parent_scope: Option<usize>,
    ) -> usize {
        let c = &self.t.components[comp];
        let index = self.plan.frames.len() as FrameIndex;
        self.plan.frames.push(parent);
        self.frames.push(Frame {
            index,
            comp,
            args,
            resources: HashMap::new(),
            parent_scope,
            core_funcs: vec![None; c.core_funcs.len()],
            core_instances: vec![None; c.core_instances.len()],
            funcs: vec![None; c.funcs.len()],
            instances: vec![None; c.instances.len()],
            resources_defined: vec![false; c.types.len()],
        });
        self.frames.len() - 1
    }

    /// The plan resource a wasmparser id means in frame `f`'s scope.
    fn lookup_resource(&self, mut f: usize, id: ResourceId) -> Option<ResourceIndex> {
        loop {
            if let Some(r) = self.frames[f].resources.get(&id) {
                return Some(*r);
            }
            f = self.frames[f].parent_scope?;
        }
    }

    fn convert_func(
        &mut self,
        f: usize,
        id: wasmparser::component_types::ComponentFuncTypeId,
    ) -> Result<FuncTypeIndex, Error> {
        let frames = &self.frames;
        let lookup = |rid: ResourceId| -> Option<ResourceIndex> {
            let mut g = f;
            loop {
                if let Some(r) = frames[g].resources.get(&rid) {
                    return Some(*r);
                }
                g = frames[g].parent_scope?;
            }
        };
        let mut conv = TypeConverter {
            wp: &self.t.types,
            arena: &mut self.arena,
            resource: &lookup,
        };
        conv.func(id)
    }

    /// Root imports: record them, and give every resource they carry a
    /// plan index.
    fn root_imports(&mut self, root: usize) -> Result<(), Error> {
        let imports = self.comp(root).imports.clone();
        for (i, (_, full_name, ty)) in imports.iter().enumerate() {
            let mut required = Vec::new();
            self.required_items(*ty, &mut Vec::new(), &mut required);
            self.plan.root_imports.push(RootImport {
                full_name: full_name.clone(),
                kind: match ty {
                    ComponentEntityType::Func(_) => "function",
                    ComponentEntityType::Instance(_) => "instance",
                    ComponentEntityType::Module(_) => "module",
                    ComponentEntityType::Component(_) => "component",
                    ComponentEntityType::Value(_) => "value",
                    ComponentEntityType::Type { .. } => "type",
                },
                required,
            });
            let path = ImportPath {
                import: i as u32,
                names: Vec::new(),
            };
            self.import_resources(root, *ty, path);
        }
        Ok(())
    }

    /// The functions an imported entity's type asks the host for, with
    /// their paths inside the import.
    fn required_items(
        &self,
        ty: ComponentEntityType,
        path: &mut Vec<Box<str>>,
        out: &mut Vec<(Vec<Box<str>>, RequiredKind)>,
    ) {
        match ty {
            ComponentEntityType::Func(_) => out.push((path.clone(), RequiredKind::Func)),
            // Resource types are required where they are first introduced
            // (`plan.resources`' imported entries), not where an `eq` bound
            // names one again.
            ComponentEntityType::Instance(inst) => {
                let exports: Vec<(String, ComponentEntityType)> = self.types()[inst]
                    .exports
                    .iter()
                    .map(|(n, item)| (n.clone(), item.ty))
                    .collect();
                for (name, ty) in exports {
                    path.push(name.into());
                    self.required_items(ty, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// Walk an imported entity's type and map each resource type in it to
    /// an imported plan resource at its path.
    fn import_resources(&mut self, f: usize, ty: ComponentEntityType, path: ImportPath) {
        match ty {
            ComponentEntityType::Type {
                referenced: ComponentAnyTypeId::Resource(r),
                created,
            } => {
                let id = r.resource();
                if self.lookup_resource(f, id).is_none() {
                    let idx = ResourceIndex(self.plan.resources.len() as u32);
                    self.plan.resources.push(ResourceDef::Imported(path));
                    self.frames[f].resources.insert(id, idx);
                    if let ComponentAnyTypeId::Resource(c) = created {
                        self.frames[f].resources.insert(c.resource(), idx);
                    }
                }
            }
            ComponentEntityType::Instance(inst) => {
                let exports: Vec<(String, ComponentEntityType)> = self.types()[inst]
                    .exports
                    .iter()
                    .map(|(n, item)| (n.clone(), item.ty))
                    .collect();
                for (name, ty) in exports {
                    let mut p = path.clone();
                    p.names.push(name.into());
                    self.import_resources(f, ty, p);
                }
            }
            _ => {}
        }
    }

    /// Run a frame's initializers in order.
    fn run(&mut self, f: usize) -> Result<(), Error> {
        let inits = self.comp(f).initializers.clone();
        for init in inits {
            match init {
                StaticInit::CoreInstance(i) => {
                    self.core_instance(f, i)?;
                }
                StaticInit::Instance(i) => {
                    self.instance(f, i)?;
                }
                StaticInit::Type(i) => self.define_resource(f, i)?,
            }
        }
        Ok(())
    }

    fn define_resource(&mut self, f: usize, index: u32) -> Result<(), Error> {
        if self.frames[f].resources_defined[index as usize] {
            return Ok(());
        }
        self.frames[f].resources_defined[index as usize] = true;
        let slot = self.comp(f).types[index as usize].clone();
        let ComponentAnyTypeId::Resource(r) = slot.id else {
            return Ok(());
        };
        let dtor = match slot.resource_def {
            Some(Some(d)) => Some(self.core_func(f, d)?),
            _ => None,
        };
        let idx = ResourceIndex(self.plan.resources.len() as u32);
        self.plan.resources.push(ResourceDef::Defined {
            frame: self.frames[f].index,
            dtor,
        });
        self.plan
            .initializers
            .push(Initializer::DefineResource(idx));
        self.frames[f].resources.insert(r.resource(), idx);
        Ok(())
    }

    /// The resource a `resource.new/drop/rep` names, defining it first if
    /// its definition has not been reached (it always precedes the use).
    fn resource_of(&mut self, f: usize, id: ResourceId) -> Result<ResourceIndex, Error> {
        if let Some(r) = self.lookup_resource(f, id) {
            return Ok(r);
        }
        let types = self.comp(f).types.clone();
        for (i, slot) in types.iter().enumerate() {
            if let ComponentAnyTypeId::Resource(r) = slot.id
                && r.resource() == id
                && slot.resource_def.is_some()
            {
                self.define_resource(f, i as u32)?;
            }
        }
        self.lookup_resource(f, id)
            .ok_or_else(|| err("a resource builtin of an unknown resource"))
    }

    fn core_instance(&mut self, f: usize, i: u32) -> Result<CoreInstanceVal, Error> {
        if let Some(v) = &self.frames[f].core_instances[i as usize] {
            return Ok(v.clone());
        }
        let def = self.comp(f).core_instances[i as usize].clone();
        let v = match def {
            CoreInstanceDef::Instantiate { module, args } => {
                let module = self.module(f, module)?;
                let mut arg_vals: Vec<(Box<str>, CoreInstanceVal)> = Vec::new();
                for (name, inst) in args {
                    arg_vals.push((name, self.core_instance(f, inst)?));
                }
                let m = self.modules[module as usize].clone();
                let mut flat = Vec::new();
                for import in m.imports() {
                    let arg = arg_vals
                        .iter()
                        .find(|(n, _)| **n == *import.module)
                        .map(|(_, v)| v)
                        .ok_or_else(|| {
                            Error::Link(Box::new(crate::error::LinkError::UnknownImport {
                                module: import.module.into(),
                                name: import.name.into(),
                            }))
                        })?;
                    flat.push(self.core_export(arg, import.name)?);
                }
                let index = self.plan.num_core_instances;
                self.plan.num_core_instances += 1;
                self.plan
                    .initializers
                    .push(Initializer::InstantiateModule { module, args: flat });
                CoreInstanceVal::Runtime { index, module }
            }
            CoreInstanceDef::FromExports(exports) => {
                let mut items = Vec::with_capacity(exports.len());
                for (name, kind, index) in exports {
                    let d = match kind {
                        ExternalKind::Func | ExternalKind::FuncExact => self.core_func(f, index)?,
                        ExternalKind::Memory => self.core_item(f, Kind::Memory, index)?,
                        ExternalKind::Table => self.core_item(f, Kind::Table, index)?,
                        ExternalKind::Global => self.core_item(f, Kind::Global, index)?,
                        ExternalKind::Tag => self.core_item(f, Kind::Tag, index)?,
                    };
                    items.push((name, d));
                }
                CoreInstanceVal::Synthetic(Rc::new(items))
            }
        };
        self.frames[f].core_instances[i as usize] = Some(v.clone());
        Ok(v)
    }

    /// Item `name` of a core instance.
    fn core_export(&self, inst: &CoreInstanceVal, name: &str) -> Result<CoreDef, Error> {
        match inst {
            CoreInstanceVal::Runtime { index, module } => {
                let export = self.modules[*module as usize]
                    .exports()
                    .position(|e| e.name == name)
                    .ok_or_else(|| err(&format!("core instance has no export `{name}`")))?;
                Ok(CoreDef::Export {
                    instance: *index,
                    export: export as u32,
                })
            }
            CoreInstanceVal::Synthetic(items) => items
                .iter()
                .find(|(n, _)| **n == *name)
                .map(|(_, d)| d.clone())
                .ok_or_else(|| err(&format!("core instance has no export `{name}`"))),
        }
    }

    fn core_item(&mut self, f: usize, kind: Kind, index: u32) -> Result<CoreDef, Error> {
        let c = self.comp(f);
        let e = match kind {
            Kind::Memory => &c.core_memories,
            Kind::Table => &c.core_tables,
            Kind::Global => &c.core_globals,
            Kind::Tag => &c.core_tags,
        }
        .get(index as usize)
        .cloned()
        .ok_or_else(|| Error::bug("core item index out of range"))?;
        let inst = self.core_instance(f, e.instance)?;
        self.core_export(&inst, &e.name)
    }

    fn module(&mut self, f: usize, i: u32) -> Result<u32, Error> {
        match self.comp(f).core_modules.get(i as usize) {
            Some(ModuleDef::Static(m)) => Ok(*m),
            Some(ModuleDef::Import(imp)) => {
                let name = self.comp(f).imports[*imp as usize].0.clone();
                match self.frames[f].args.get(&name) {
                    Some(ItemVal::Module(m)) => Ok(*m),
                    _ if self.frames[f].parent_scope.is_none() => Err(err(
                        "a root component importing a core module from the host",
                    )),
                    _ => Err(Error::bug("missing module argument")),
                }
            }
            Some(ModuleDef::Outer { count, index }) => {
                // The enclosing component's module: its frame is the one
                // this component was instantiated from.
                let (count, index) = (*count, *index);
                let mut g = f;
                for _ in 0..count {
                    g = self.frames[g]
                        .parent_scope
                        .ok_or_else(|| Error::bug("outer alias past the root"))?;
                }
                self.module(g, index)
            }
            Some(ModuleDef::Export { instance, name }) => {
                let (instance, name) = (*instance, name.clone());
                match self.instance(f, instance)? {
                    InstanceVal::Items(items) => match find(&items, &name) {
                        Some(ItemVal::Module(m)) => Ok(m),
                        _ => Err(Error::bug("instance export is not a module")),
                    },
                    InstanceVal::Import(_) => Err(err(
                        "a core module exported by an instance the host provides",
                    )),
                }
            }
            None => Err(Error::bug("module index out of range")),
        }
    }

    fn options(&mut self, f: usize, o: &CanonOptions) -> Result<OptionsDef, Error> {
        let memory = match o.memory {
            Some(m) => Some(self.core_item(f, Kind::Memory, m)?),
            None => None,
        };
        let realloc = o.realloc.map(|r| self.core_func(f, r)).transpose()?;
        let post_return = o.post_return.map(|r| self.core_func(f, r)).transpose()?;
        Ok(OptionsDef {
            frame: self.frames[f].index,
            memory,
            realloc,
            post_return,
            encoding: o.encoding,
            is_async: o.is_async,
        })
    }

    fn core_func(&mut self, f: usize, i: u32) -> Result<CoreDef, Error> {
        if let Some(d) = &self.frames[f].core_funcs[i as usize] {
            return Ok(d.clone());
        }
        let def = self.comp(f).core_funcs[i as usize].clone();
        let frame = self.frames[f].index;
        let d = match def {
            CoreFuncDef::Export { instance, name } => {
                let inst = self.core_instance(f, instance)?;
                self.core_export(&inst, &name)?
            }
            CoreFuncDef::Lower { func, options } => {
                let callee = self.func(f, func)?;
                let ty = self.convert_func(f, self.comp(f).func_types[func as usize])?;
                let options = self.options(f, &options)?;
                if options.is_async {
                    return Err(err("`canon lower ... async` (the WASI 0.3 async ABI)"));
                }
                let index = self.plan.lowerings.len() as u32;
                self.plan.lowerings.push(Lowering {
                    callee: callee.callee,
                    ty,
                    options,
                });
                CoreDef::Lowering(index)
            }
            CoreFuncDef::ResourceNew(id) => CoreDef::ResourceNew {
                resource: self.resource_of(f, id)?,
                frame,
            },
            CoreFuncDef::ResourceDrop(id) => CoreDef::ResourceDrop {
                resource: self.resource_of(f, id)?,
                frame,
            },
            CoreFuncDef::ResourceRep(id) => CoreDef::ResourceRep {
                resource: self.resource_of(f, id)?,
                frame,
            },
            CoreFuncDef::Unsupported(name) => {
                return Err(err(&format!(
                    "the `{name}` builtin (the WASI 0.3 async ABI is not implemented yet)"
                )));
            }
        };
        self.frames[f].core_funcs[i as usize] = Some(d.clone());
        Ok(d)
    }

    fn imported_func(&mut self, path: ImportPath, ty: FuncTypeIndex) -> u32 {
        if let Some(i) = self.imported_funcs.get(&path) {
            return *i;
        }
        let i = self.plan.imports.len() as u32;
        self.plan.imports.push(ImportedFunc {
            path: path.clone(),
            ty,
        });
        self.imported_funcs.insert(path, i);
        i
    }

    fn func(&mut self, f: usize, i: u32) -> Result<FuncVal, Error> {
        if let Some(v) = &self.frames[f].funcs[i as usize] {
            return Ok(v.clone());
        }
        let def = self.comp(f).funcs[i as usize].clone();
        let ty = self.convert_func(f, self.comp(f).func_types[i as usize])?;
        let v = match def {
            FuncDef::Import(imp) => {
                let name = self.comp(f).imports[imp as usize].0.clone();
                if self.frames[f].parent_scope.is_none() {
                    let path = ImportPath {
                        import: imp,
                        names: Vec::new(),
                    };
                    FuncVal {
                        callee: Callee::Import(self.imported_func(path, ty)),
                        ty,
                    }
                } else {
                    match self.frames[f].args.get(&name) {
                        Some(ItemVal::Func(v)) => FuncVal {
                            callee: v.callee,
                            ty,
                        },
                        _ => return Err(Error::bug("missing function argument")),
                    }
                }
            }
            FuncDef::Export { instance, name } => match self.instance(f, instance)? {
                InstanceVal::Import(mut path) => {
                    path.names.push(name);
                    FuncVal {
                        callee: Callee::Import(self.imported_func(path, ty)),
                        ty,
                    }
                }
                InstanceVal::Items(items) => match find(&items, &name) {
                    Some(ItemVal::Func(v)) => FuncVal {
                        callee: v.callee,
                        ty,
                    },
                    _ => return Err(Error::bug("instance export is not a function")),
                },
            },
            FuncDef::Lift { core_func, options } => {
                let core = self.core_func(f, core_func)?;
                let options = self.options(f, &options)?;
                if options.is_async {
                    return Err(err("`canon lift ... async` (the WASI 0.3 async ABI)"));
                }
                let index = self.plan.lifted.len() as u32;
                self.plan.lifted.push(Lifted {
                    core_func: core,
                    ty,
                    options,
                });
                FuncVal {
                    callee: Callee::Lifted(index),
                    ty,
                }
            }
        };
        self.frames[f].funcs[i as usize] = Some(v.clone());
        Ok(v)
    }

    fn item(&mut self, f: usize, r: &ItemRef) -> Result<ItemVal, Error> {
        Ok(match *r {
            ItemRef::Func(i) => ItemVal::Func(self.func(f, i)?),
            ItemRef::Instance(i) => ItemVal::Instance(self.instance(f, i)?),
            ItemRef::Module(i) => ItemVal::Module(self.module(f, i)?),
            ItemRef::Component(i) => {
                let (c, scope) = self.component(f, i)?;
                ItemVal::Component(c, scope)
            }
            ItemRef::Type(i) => {
                // A resource named before its definition ran is defined
                // now (its definition always precedes the use).
                if let ComponentAnyTypeId::Resource(r) = self.comp(f).types[i as usize].id
                    && self.lookup_resource(f, r.resource()).is_none()
                {
                    self.define_resource(f, i)?;
                }
                ItemVal::Type
            }
            ItemRef::Value => return Err(err("component values")),
        })
    }

    /// Component `i` of frame `f`: its definition and the frame it closes
    /// over (where its outer aliases resolve).
    fn component(&mut self, f: usize, i: u32) -> Result<(u32, usize), Error> {
        match self.comp(f).components.get(i as usize) {
            Some(ComponentDefRef::Static(c)) => Ok((*c, f)),
            Some(ComponentDefRef::Import(imp)) => {
                let imp = *imp;
                let name = self.comp(f).imports[imp as usize].0.clone();
                match self.frames[f].args.get(&name) {
                    Some(ItemVal::Component(c, scope)) => Ok((*c, *scope)),
                    _ if self.frames[f].parent_scope.is_none() => {
                        Err(err("a root component importing a component from the host"))
                    }
                    _ => Err(Error::bug("missing component argument")),
                }
            }
            Some(ComponentDefRef::Outer { count, index }) => {
                let (count, index) = (*count, *index);
                let mut g = f;
                for _ in 0..count {
                    g = self.frames[g]
                        .parent_scope
                        .ok_or_else(|| Error::bug("outer alias past the root"))?;
                }
                self.component(g, index)
            }
            Some(ComponentDefRef::Export { instance, name }) => {
                let (instance, name) = (*instance, name.clone());
                match self.instance(f, instance)? {
                    InstanceVal::Items(items) => match find(&items, &name) {
                        Some(ItemVal::Component(c, scope)) => Ok((c, scope)),
                        _ => Err(Error::bug("instance export is not a component")),
                    },
                    InstanceVal::Import(_) => {
                        Err(err("a component exported by an instance the host provides"))
                    }
                }
            }
            None => Err(Error::bug("component index out of range")),
        }
    }

    fn instance(&mut self, f: usize, i: u32) -> Result<InstanceVal, Error> {
        if let Some(v) = &self.frames[f].instances[i as usize] {
            return Ok(v.clone());
        }
        let def = self.comp(f).instances[i as usize].clone();
        let v = match def {
            InstanceDef::Import(imp) => {
                if self.frames[f].parent_scope.is_none() {
                    InstanceVal::Import(ImportPath {
                        import: imp,
                        names: Vec::new(),
                    })
                } else {
                    let name = self.comp(f).imports[imp as usize].0.clone();
                    match self.frames[f].args.get(&name) {
                        Some(ItemVal::Instance(v)) => v.clone(),
                        _ => return Err(Error::bug("missing instance argument")),
                    }
                }
            }
            InstanceDef::Export { instance, name } => match self.instance(f, instance)? {
                InstanceVal::Import(mut path) => {
                    path.names.push(name);
                    InstanceVal::Import(path)
                }
                InstanceVal::Items(items) => match find(&items, &name) {
                    Some(ItemVal::Instance(v)) => v,
                    _ => return Err(Error::bug("instance export is not an instance")),
                },
            },
            InstanceDef::FromExports(exports) => {
                let mut items = Vec::with_capacity(exports.len());
                for (name, r) in &exports {
                    items.push((name.clone(), self.item(f, r)?));
                }
                InstanceVal::Items(Rc::new(items))
            }
            InstanceDef::Instantiate { component, args } => {
                let (comp_index, scope) = self.component(f, component)?;
                let mut arg_vals = HashMap::new();
                let mut arg_refs = HashMap::new();
                for (name, r) in &args {
                    arg_vals.insert(name.clone(), self.item(f, r)?);
                    arg_refs.insert(name.clone(), r.clone());
                }
                let comp_ty = self.comp(f).component_types[component as usize];
                let inst_ty = self.comp(f).instance_types[i as usize];
                self.instantiate(f, scope, comp_index, comp_ty, inst_ty, arg_vals, &arg_refs)?
            }
        };
        self.frames[f].instances[i as usize] = Some(v.clone());
        Ok(v)
    }

    /// Instantiate nested component `comp` (of type `comp_ty`, closing
    /// over frame `scope`) in frame `f`, giving the instance of type
    /// `inst_ty`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one instantiation's whole context"
    )]
    fn instantiate(
        &mut self,
        f: usize,
        scope: usize,
        comp: u32,
        comp_ty: ComponentTypeId,
        inst_ty: ComponentInstanceTypeId,
        args: HashMap<Box<str>, ItemVal>,
        arg_refs: &HashMap<Box<str>, ItemRef>,
    ) -> Result<InstanceVal, Error> {
        let parent = Some(self.frames[f].index);
        let child = self.new_frame(comp as usize, parent, args, Some(scope));
        // The nested component's imported resources are whatever the
        // arguments carry.
        let ct = self.types()[comp_ty].clone();
        for (rid, path) in &ct.imported_resources {
            let Some((import_name, import_item)) = ct.imports.get_index(path[0]) else {
                continue;
            };
            let names = entity_path_names(self.types(), import_item.ty, &path[1..]);
            let actual = arg_refs
                .get(import_name.as_str())
                .and_then(|r| self.resource_in_arg(f, r, &names));
            if let Some(idx) = actual {
                self.frames[child].resources.insert(*rid, idx);
            }
        }
        self.run(child)?;
        // Its exports, as items.
        let exports = self.comp(child).exports.clone();
        let mut items = Vec::with_capacity(exports.len());
        for (name, r) in &exports {
            items.push((name.clone(), self.item(child, r)?));
        }
        // Its defined resources as the outer frame names them.
        let it = self.types()[inst_ty].clone();
        for (rid, path) in &ct.defined_resources {
            let Some(inner) = self.lookup_resource(child, *rid) else {
                continue;
            };
            let Some((export_name, _)) = ct.exports.get_index(path[0]) else {
                continue;
            };
            let names = match ct.exports.get_index(path[0]) {
                Some((_, item)) => entity_path_names(self.types(), item.ty, &path[1..]),
                None => Vec::new(),
            };
            if let Some(item) = it.exports.get(export_name.as_str())
                && let Some(outer) = follow_resource(self.types(), item.ty, &names)
            {
                self.frames[f].resources.insert(outer, inner);
            }
        }
        Ok(InstanceVal::Items(Rc::new(items)))
    }

    /// The plan resource found at `names` inside argument `r` of frame `f`.
    fn resource_in_arg(&self, f: usize, r: &ItemRef, names: &[String]) -> Option<ResourceIndex> {
        let c = self.comp(f);
        let ty = match *r {
            ItemRef::Type(i) => ComponentEntityType::Type {
                referenced: c.types[i as usize].id,
                created: c.types[i as usize].id,
            },
            ItemRef::Instance(i) => ComponentEntityType::Instance(c.instance_types[i as usize]),
            _ => return None,
        };
        let rid = follow_resource(self.types(), ty, names)?;
        self.lookup_resource(f, rid)
    }

    /// The root's exports.
    fn exports(&mut self, root: usize) -> Result<Vec<(Box<str>, Export)>, Error> {
        let exports = self.comp(root).exports.clone();
        let mut out = Vec::with_capacity(exports.len());
        for (name, r) in &exports {
            let v = self.item(root, r)?;
            out.push((name.clone(), self.export(v)?));
        }
        Ok(out)
    }

    fn export(&mut self, v: ItemVal) -> Result<Export, Error> {
        Ok(match v {
            ItemVal::Func(f) => Export::Func(FuncExport {
                callee: f.callee,
                ty: f.ty,
            }),
            ItemVal::Instance(InstanceVal::Items(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (name, item) in items.iter() {
                    out.push((name.clone(), self.export(item.clone())?));
                }
                Export::Instance(out)
            }
            // A re-exported import: the host already has it.
            ItemVal::Instance(InstanceVal::Import(_)) => Export::Instance(Vec::new()),
            ItemVal::Module(_) => Export::Module,
            ItemVal::Component(..) => Export::Component,
            ItemVal::Type => Export::Type,
        })
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Memory,
    Table,
    Global,
    Tag,
}

fn find(items: &[(Box<str>, ItemVal)], name: &str) -> Option<ItemVal> {
    items
        .iter()
        .find(|(n, _)| **n == *name)
        .map(|(_, v)| v.clone())
}

/// The export names a path of positions walks through inside `ty`.
fn entity_path_names(types: &Types, mut ty: ComponentEntityType, path: &[usize]) -> Vec<String> {
    let mut names = Vec::new();
    for &pos in path {
        let ComponentEntityType::Instance(i) = ty else {
            break;
        };
        let Some((name, item)) = types[i].exports.get_index(pos) else {
            break;
        };
        names.push(name.clone());
        ty = item.ty;
    }
    names
}

/// The resource id at `names` inside `ty`.
fn follow_resource(
    types: &Types,
    mut ty: ComponentEntityType,
    names: &[String],
) -> Option<ResourceId> {
    for name in names {
        let ComponentEntityType::Instance(i) = ty else {
            return None;
        };
        ty = types[i].exports.get(name.as_str())?.ty;
    }
    match ty {
        ComponentEntityType::Type {
            referenced: ComponentAnyTypeId::Resource(r),
            ..
        } => Some(r.resource()),
        _ => None,
    }
}
