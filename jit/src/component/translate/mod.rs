//! Translation, first half: parse and validate a component binary, and
//! record every component's index spaces as they are built (the static
//! definitions). The second half, `inline`, flattens them into one plan.
//!
//! wasmparser's component validator checks the whole binary, nested
//! components and core modules included (core function bodies are left to
//! [`Module::new`](crate::Module::new), which validates them when it
//! compiles each core module). Type information is taken from the
//! validator right after each section, as wasmparser type ids; the final
//! [`Types`] resolves them.

pub(crate) mod inline;
pub(crate) mod types;

use std::ops::Range;

use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentEntityType, ComponentFuncTypeId, ComponentInstanceTypeId,
    ComponentTypeId, ResourceId,
};
use wasmparser::types::Types;
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind,
    ComponentOuterAliasKind, ExternalKind, Parser, Payload, ValidPayload, Validator, WasmFeatures,
};

use crate::error::Error;

/// A core module found in the binary: its bytes' range.
#[derive(Debug, Clone)]
pub(crate) struct StaticModule {
    pub range: Range<usize>,
}

/// Index of a nested component definition in [`Translation::components`].
pub(crate) type StaticComponentIndex = u32;

/// Where an item of a component's index space comes from (for the
/// index spaces holding component-level items).
#[derive(Debug, Clone)]
pub(crate) enum ItemRef {
    Func(u32),
    Module(u32),
    Component(u32),
    Instance(u32),
    Type(u32),
    Value,
}

impl ItemRef {
    fn new(kind: ComponentExternalKind, index: u32) -> Self {
        match kind {
            ComponentExternalKind::Func => ItemRef::Func(index),
            ComponentExternalKind::Module => ItemRef::Module(index),
            ComponentExternalKind::Component => ItemRef::Component(index),
            ComponentExternalKind::Instance => ItemRef::Instance(index),
            ComponentExternalKind::Type => ItemRef::Type(index),
            ComponentExternalKind::Value => ItemRef::Value,
        }
    }
}

/// Canonical options as written, indices into the component's spaces.
#[derive(Debug, Clone, Default)]
pub(crate) struct CanonOptions {
    pub encoding: crate::component::abi::StringEncoding,
    pub memory: Option<u32>,
    pub realloc: Option<u32>,
    pub post_return: Option<u32>,
    pub is_async: bool,
}

/// A core function of a component.
#[derive(Debug, Clone)]
pub(crate) enum CoreFuncDef {
    /// `(alias core export $instance "name" (func))`.
    Export {
        instance: u32,
        name: Box<str>,
    },
    /// `(canon lower $func ...)`.
    Lower {
        func: u32,
        options: CanonOptions,
    },
    /// `(canon resource.new $t)` and friends: the resource's type id.
    ResourceNew(ResourceId),
    ResourceDrop(ResourceId),
    ResourceRep(ResourceId),
    /// A builtin of the async ABI, not implemented yet (its name).
    Unsupported(&'static str),
}

/// A core module of a component's index space.
#[derive(Debug, Clone)]
pub(crate) enum ModuleDef {
    Static(u32),
    Import(u32),
    /// `(alias outer $count $index (core module))`.
    Outer {
        count: u32,
        index: u32,
    },
    /// `(alias export $instance "name" (core module))`.
    Export {
        instance: u32,
        name: Box<str>,
    },
}

/// A core instance of a component's index space.
#[derive(Debug, Clone)]
pub(crate) enum CoreInstanceDef {
    Instantiate {
        module: u32,
        args: Vec<(Box<str>, u32)>,
    },
    /// Exports of other core items: (name, kind, index).
    FromExports(Vec<(Box<str>, ExternalKind, u32)>),
}

/// A component function of a component's index space.
#[derive(Debug, Clone)]
pub(crate) enum FuncDef {
    Import(u32),
    Export {
        instance: u32,
        name: Box<str>,
    },
    /// `(canon lift ...)`; its type is the component's `func_types` entry.
    Lift {
        core_func: u32,
        options: CanonOptions,
    },
}

/// A nested component of a component's index space.
#[derive(Debug, Clone)]
pub(crate) enum ComponentDefRef {
    Static(StaticComponentIndex),
    Import(u32),
    Outer { count: u32, index: u32 },
    Export { instance: u32, name: Box<str> },
}

/// A component instance of a component's index space.
#[derive(Debug, Clone)]
pub(crate) enum InstanceDef {
    Import(u32),
    Instantiate {
        component: u32,
        args: Vec<(Box<str>, ItemRef)>,
    },
    FromExports(Vec<(Box<str>, ItemRef)>),
    Export {
        instance: u32,
        name: Box<str>,
    },
}

/// How a type entered the type index space (only resources matter to the
/// flattening; every type's meaning is in wasmparser's id).
#[derive(Debug, Clone)]
pub(crate) struct TypeSlot {
    pub id: ComponentAnyTypeId,
    /// For `(type (resource (rep i32) (dtor $f)))`: the destructor's core
    /// function index, and that it is a definition.
    pub resource_def: Option<Option<u32>>,
}

/// A core item alias other than a function: (instance, name).
#[derive(Debug, Clone)]
pub(crate) struct CoreExport {
    pub instance: u32,
    pub name: Box<str>,
}

/// One component's definitions, in index-space order.
#[derive(Debug, Default)]
pub(crate) struct StaticComponent {
    pub core_funcs: Vec<CoreFuncDef>,
    pub core_memories: Vec<CoreExport>,
    pub core_tables: Vec<CoreExport>,
    pub core_globals: Vec<CoreExport>,
    pub core_tags: Vec<CoreExport>,
    pub core_modules: Vec<ModuleDef>,
    pub core_instances: Vec<CoreInstanceDef>,
    pub funcs: Vec<FuncDef>,
    /// The type of each function, from the validator.
    pub func_types: Vec<ComponentFuncTypeId>,
    pub types: Vec<TypeSlot>,
    pub components: Vec<ComponentDefRef>,
    pub component_types: Vec<ComponentTypeId>,
    pub instances: Vec<InstanceDef>,
    pub instance_types: Vec<ComponentInstanceTypeId>,
    /// Imports: (name, full name for the linker, type).
    pub imports: Vec<(Box<str>, Box<str>, ComponentEntityType)>,
    pub exports: Vec<(Box<str>, ItemRef)>,
    /// The order in which instances are created and functions lifted or
    /// lowered matters (instantiation runs start functions): every
    /// definition that does work, in binary order.
    pub initializers: Vec<StaticInit>,
}

/// Work a component does while it is being instantiated, in order.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StaticInit {
    CoreInstance(u32),
    Instance(u32),
    /// A type definition (resources are made here).
    Type(u32),
}

/// What parsing produced.
pub(crate) struct Translation {
    /// Index 0 is the root component.
    pub components: Vec<StaticComponent>,
    pub modules: Vec<StaticModule>,
    pub types: Types,
}

/// The validator's features for components: the engine's core features
/// plus the component model and its async ABI.
pub(crate) fn component_features(core: WasmFeatures) -> WasmFeatures {
    core | WasmFeatures::COMPONENT_MODEL | WasmFeatures::CM_ASYNC | WasmFeatures::CM_ERROR_CONTEXT
}

fn unsupported(offset: usize, what: &str) -> Error {
    Error::compile(offset, format!("unsupported: {what}"))
}

fn options(opts: &[CanonicalOption], offset: usize) -> Result<CanonOptions, Error> {
    let mut o = CanonOptions::default();
    for opt in opts {
        match *opt {
            CanonicalOption::UTF8 => o.encoding = crate::component::abi::StringEncoding::Utf8,
            CanonicalOption::UTF16 => o.encoding = crate::component::abi::StringEncoding::Utf16,
            CanonicalOption::CompactUTF16 => {
                o.encoding = crate::component::abi::StringEncoding::CompactUtf16;
            }
            CanonicalOption::Memory(m) => o.memory = Some(m),
            CanonicalOption::Realloc(f) => o.realloc = Some(f),
            CanonicalOption::PostReturn(f) => o.post_return = Some(f),
            CanonicalOption::Async => o.is_async = true,
            CanonicalOption::Callback(_) => {}
            CanonicalOption::CoreType(_) | CanonicalOption::Gc => {
                return Err(unsupported(offset, "the GC canonical ABI"));
            }
        }
    }
    Ok(o)
}

/// Parse and validate `binary` (a component).
pub(crate) fn translate(binary: &[u8], features: WasmFeatures) -> Result<Translation, Error> {
    if !features.contains(WasmFeatures::COMPONENT_MODEL) {
        return Err(Error::Unsupported(
            "the component model is turned off (WasmFeatures::COMPONENT_MODEL; `-W component-model=n`)".into(),
        ));
    }
    let mut validator = Validator::new_with_features(component_features(features));
    let mut components: Vec<StaticComponent> = Vec::new();
    let mut modules: Vec<StaticModule> = Vec::new();
    // Components being parsed (indices into `components`), innermost last.
    let mut stack: Vec<usize> = Vec::new();
    // Nesting depth inside core modules (their payloads are not ours).
    let mut in_module = 0usize;
    let mut final_types = None;

    for payload in Parser::new(0).parse_all(binary) {
        let payload = payload?;
        let valid = validator.payload(&payload)?;
        if let ValidPayload::End(types) = valid
            && stack.len() == 1
            && in_module == 0
        {
            final_types = Some(types);
        }
        if in_module > 0 {
            match payload {
                Payload::Version { .. } => in_module += 1,
                Payload::End(_) => in_module -= 1,
                _ => {}
            }
            continue;
        }
        let offset = payload_offset(&payload);
        match payload {
            Payload::Version { encoding, .. } => match encoding {
                wasmparser::Encoding::Component => {
                    components.push(StaticComponent::default());
                    stack.push(components.len() - 1);
                }
                wasmparser::Encoding::Module => {
                    if stack.is_empty() {
                        return Err(Error::compile(0, "not a component"));
                    }
                    // A nested module's payloads follow; its range was
                    // recorded at its section.
                    in_module = 1;
                }
            },
            Payload::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| Error::bug("unbalanced component end"))?;
                if let Some(&parent) = stack.last() {
                    components[parent]
                        .components
                        .push(ComponentDefRef::Static(done as u32));
                    sync_components(&validator, &mut components[parent]);
                }
            }
            Payload::ModuleSection {
                unchecked_range, ..
            } => {
                let top = top(&mut components, &stack)?;
                top.core_modules
                    .push(ModuleDef::Static(modules.len() as u32));
                modules.push(StaticModule {
                    range: unchecked_range.start as usize..unchecked_range.end as usize,
                });
            }
            Payload::ComponentSection { .. } => {}
            Payload::CoreTypeSection(_) => {}
            Payload::ComponentTypeSection(reader) => {
                let first = top(&mut components, &stack)?.types.len() as u32;
                let mut resources = Vec::new();
                for (i, ty) in reader.into_iter().enumerate() {
                    if let wasmparser::ComponentType::Resource { dtor, .. } = ty? {
                        resources.push((first + i as u32, dtor));
                    }
                }
                let c = top(&mut components, &stack)?;
                sync_types(&validator, c);
                for (index, dtor) in resources {
                    c.types[index as usize].resource_def = Some(dtor);
                    c.initializers.push(StaticInit::Type(index));
                }
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let import = import?;
                    let c = top(&mut components, &stack)?;
                    let index = c.imports.len() as u32;
                    let ty = validator
                        .types(0)
                        .and_then(|t| t.component_item_for_import(import.name.name).map(|i| i.ty))
                        .ok_or_else(|| Error::bug("validated import has no type"))?;
                    c.imports
                        .push((import.name.name.into(), import.name.full_name().into(), ty));
                    match import.ty {
                        wasmparser::ComponentTypeRef::Module(_) => {
                            c.core_modules.push(ModuleDef::Import(index));
                        }
                        wasmparser::ComponentTypeRef::Func(_) => {
                            c.funcs.push(FuncDef::Import(index))
                        }
                        wasmparser::ComponentTypeRef::Value(_) => {
                            return Err(unsupported(offset, "value imports"));
                        }
                        wasmparser::ComponentTypeRef::Type(_) => {}
                        wasmparser::ComponentTypeRef::Instance(_) => {
                            c.instances.push(InstanceDef::Import(index));
                        }
                        wasmparser::ComponentTypeRef::Component(_) => {
                            c.components.push(ComponentDefRef::Import(index));
                        }
                    }
                    sync_all(&validator, c);
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let c = top(&mut components, &stack)?;
                    let item = ItemRef::new(export.kind, export.index);
                    c.exports.push((export.name.name.into(), item.clone()));
                    // An export adds an item to its index space that is the
                    // same as the exported one.
                    match item {
                        ItemRef::Func(i) => {
                            let f = c
                                .funcs
                                .get(i as usize)
                                .cloned()
                                .ok_or_else(|| Error::bug("export of unknown func"))?;
                            c.funcs.push(f);
                        }
                        ItemRef::Instance(i) => {
                            let d = c
                                .instances
                                .get(i as usize)
                                .cloned()
                                .ok_or_else(|| Error::bug("export of unknown instance"))?;
                            c.instances.push(d);
                        }
                        ItemRef::Component(i) => {
                            let d = c
                                .components
                                .get(i as usize)
                                .cloned()
                                .ok_or_else(|| Error::bug("export of unknown component"))?;
                            c.components.push(d);
                        }
                        ItemRef::Module(i) => {
                            let d = c
                                .core_modules
                                .get(i as usize)
                                .cloned()
                                .ok_or_else(|| Error::bug("export of unknown module"))?;
                            c.core_modules.push(d);
                        }
                        ItemRef::Type(_) => {}
                        ItemRef::Value => return Err(unsupported(offset, "value exports")),
                    }
                    sync_all(&validator, c);
                }
            }
            Payload::InstanceSection(reader) => {
                for inst in reader {
                    let def = match inst? {
                        wasmparser::Instance::Instantiate { module_index, args } => {
                            CoreInstanceDef::Instantiate {
                                module: module_index,
                                args: args.iter().map(|a| (a.name.into(), a.index)).collect(),
                            }
                        }
                        wasmparser::Instance::FromExports(exports) => CoreInstanceDef::FromExports(
                            exports
                                .iter()
                                .map(|e| (e.name.into(), e.kind, e.index))
                                .collect(),
                        ),
                    };
                    let c = top(&mut components, &stack)?;
                    let index = c.core_instances.len() as u32;
                    c.core_instances.push(def);
                    c.initializers.push(StaticInit::CoreInstance(index));
                }
            }
            Payload::ComponentInstanceSection(reader) => {
                for inst in reader {
                    let def = match inst? {
                        wasmparser::ComponentInstance::Instantiate {
                            component_index,
                            args,
                        } => InstanceDef::Instantiate {
                            component: component_index,
                            args: args
                                .iter()
                                .map(|a| (a.name.into(), ItemRef::new(a.kind, a.index)))
                                .collect(),
                        },
                        wasmparser::ComponentInstance::FromExports(exports) => {
                            InstanceDef::FromExports(
                                exports
                                    .iter()
                                    .map(|e| (e.name.name.into(), ItemRef::new(e.kind, e.index)))
                                    .collect(),
                            )
                        }
                    };
                    let c = top(&mut components, &stack)?;
                    let index = c.instances.len() as u32;
                    c.instances.push(def);
                    c.initializers.push(StaticInit::Instance(index));
                    sync_all(&validator, c);
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader {
                    let alias = alias?;
                    let c = top(&mut components, &stack)?;
                    match alias {
                        ComponentAlias::InstanceExport {
                            kind,
                            instance_index,
                            name,
                        } => {
                            let name: Box<str> = name.into();
                            let instance = instance_index;
                            match kind {
                                ComponentExternalKind::Func => {
                                    c.funcs.push(FuncDef::Export { instance, name });
                                }
                                ComponentExternalKind::Module => {
                                    c.core_modules.push(ModuleDef::Export { instance, name });
                                }
                                ComponentExternalKind::Component => {
                                    c.components
                                        .push(ComponentDefRef::Export { instance, name });
                                }
                                ComponentExternalKind::Instance => {
                                    c.instances.push(InstanceDef::Export { instance, name });
                                }
                                ComponentExternalKind::Type => {}
                                ComponentExternalKind::Value => {
                                    return Err(unsupported(offset, "value aliases"));
                                }
                            }
                        }
                        ComponentAlias::CoreInstanceExport {
                            kind,
                            instance_index,
                            name,
                        } => {
                            let e = CoreExport {
                                instance: instance_index,
                                name: name.into(),
                            };
                            match kind {
                                ExternalKind::Func | ExternalKind::FuncExact => {
                                    c.core_funcs.push(CoreFuncDef::Export {
                                        instance: e.instance,
                                        name: e.name,
                                    });
                                }
                                ExternalKind::Memory => c.core_memories.push(e),
                                ExternalKind::Table => c.core_tables.push(e),
                                ExternalKind::Global => c.core_globals.push(e),
                                ExternalKind::Tag => c.core_tags.push(e),
                            }
                        }
                        ComponentAlias::Outer { kind, count, index } => match kind {
                            ComponentOuterAliasKind::CoreModule => {
                                let def = outer_module(&components, &stack, count, index)?;
                                top(&mut components, &stack)?.core_modules.push(def);
                            }
                            ComponentOuterAliasKind::Component => {
                                let def = outer_component(&components, &stack, count, index)?;
                                top(&mut components, &stack)?.components.push(def);
                            }
                            ComponentOuterAliasKind::CoreType | ComponentOuterAliasKind::Type => {}
                        },
                    }
                    sync_all(&validator, top(&mut components, &stack)?);
                }
            }
            Payload::ComponentCanonicalSection(reader) => {
                for canon in reader {
                    let canon = canon?;
                    let c = top(&mut components, &stack)?;
                    match canon {
                        CanonicalFunction::Lift {
                            core_func_index,
                            options: opts,
                            ..
                        } => {
                            let options = options(&opts, offset)?;
                            c.funcs.push(FuncDef::Lift {
                                core_func: core_func_index,
                                options,
                            });
                        }
                        CanonicalFunction::Lower {
                            func_index,
                            options: opts,
                        } => {
                            let options = options(&opts, offset)?;
                            c.core_funcs.push(CoreFuncDef::Lower {
                                func: func_index,
                                options,
                            });
                        }
                        CanonicalFunction::ResourceNew { resource } => {
                            let id = resource_id(c, resource, offset)?;
                            c.core_funcs.push(CoreFuncDef::ResourceNew(id));
                        }
                        CanonicalFunction::ResourceDrop { resource } => {
                            let id = resource_id(c, resource, offset)?;
                            c.core_funcs.push(CoreFuncDef::ResourceDrop(id));
                        }
                        CanonicalFunction::ResourceRep { resource } => {
                            let id = resource_id(c, resource, offset)?;
                            c.core_funcs.push(CoreFuncDef::ResourceRep(id));
                        }
                        other => {
                            c.core_funcs
                                .push(CoreFuncDef::Unsupported(builtin_name(&other)));
                        }
                    }
                    sync_all(&validator, top(&mut components, &stack)?);
                }
            }
            Payload::ComponentStartSection { .. } => {
                return Err(unsupported(
                    offset,
                    "component start functions (they take values)",
                ));
            }
            _ => {}
        }
    }
    let types =
        final_types.ok_or_else(|| Error::compile(binary.len(), "unexpected end of component"))?;
    Ok(Translation {
        components,
        modules,
        types,
    })
}

fn payload_offset(p: &Payload<'_>) -> usize {
    p.as_section().map_or(0, |(_, r)| r.start as usize)
}

fn top<'a>(
    components: &'a mut [StaticComponent],
    stack: &[usize],
) -> Result<&'a mut StaticComponent, Error> {
    let i = *stack
        .last()
        .ok_or_else(|| Error::compile(0, "section outside a component"))?;
    Ok(&mut components[i])
}

fn resource_id(c: &StaticComponent, index: u32, offset: usize) -> Result<ResourceId, Error> {
    match c.types.get(index as usize).map(|t| t.id) {
        Some(ComponentAnyTypeId::Resource(r)) => Ok(r.resource()),
        _ => Err(Error::compile(offset, "not a resource type")),
    }
}

fn outer_module(
    components: &[StaticComponent],
    stack: &[usize],
    count: u32,
    index: u32,
) -> Result<ModuleDef, Error> {
    let target = stack
        .len()
        .checked_sub(1 + count as usize)
        .ok_or_else(|| Error::bug("outer alias past the root"))?;
    match components[stack[target]].core_modules.get(index as usize) {
        Some(ModuleDef::Static(i)) => Ok(ModuleDef::Static(*i)),
        Some(_) => Ok(ModuleDef::Outer { count, index }),
        None => Err(Error::bug("outer alias of unknown module")),
    }
}

fn outer_component(
    components: &[StaticComponent],
    stack: &[usize],
    count: u32,
    index: u32,
) -> Result<ComponentDefRef, Error> {
    let target = stack
        .len()
        .checked_sub(1 + count as usize)
        .ok_or_else(|| Error::bug("outer alias past the root"))?;
    match components[stack[target]].components.get(index as usize) {
        Some(ComponentDefRef::Static(i)) => Ok(ComponentDefRef::Static(*i)),
        Some(_) => Ok(ComponentDefRef::Outer { count, index }),
        None => Err(Error::bug("outer alias of unknown component")),
    }
}

fn builtin_name(f: &CanonicalFunction) -> &'static str {
    match f {
        CanonicalFunction::ThreadSpawnRef { .. } => "thread.spawn_ref",
        CanonicalFunction::ThreadSpawnIndirect { .. } => "thread.spawn_indirect",
        CanonicalFunction::ThreadAvailableParallelism => "thread.available_parallelism",
        CanonicalFunction::BackpressureInc => "backpressure.inc",
        CanonicalFunction::BackpressureDec => "backpressure.dec",
        CanonicalFunction::TaskReturn { .. } => "task.return",
        CanonicalFunction::TaskCancel => "task.cancel",
        CanonicalFunction::ContextGet { .. } => "context.get",
        CanonicalFunction::ContextSet { .. } => "context.set",
        CanonicalFunction::ThreadYield => "thread.yield",
        CanonicalFunction::SubtaskDrop => "subtask.drop",
        CanonicalFunction::SubtaskCancel { .. } => "subtask.cancel",
        CanonicalFunction::StreamNew { .. } => "stream.new",
        CanonicalFunction::StreamRead { .. } => "stream.read",
        CanonicalFunction::StreamWrite { .. } => "stream.write",
        CanonicalFunction::StreamCancelRead { .. } => "stream.cancel-read",
        CanonicalFunction::StreamCancelWrite { .. } => "stream.cancel-write",
        CanonicalFunction::StreamDropReadable { .. } => "stream.drop-readable",
        CanonicalFunction::StreamDropWritable { .. } => "stream.drop-writable",
        CanonicalFunction::FutureNew { .. } => "future.new",
        CanonicalFunction::FutureRead { .. } => "future.read",
        CanonicalFunction::FutureWrite { .. } => "future.write",
        CanonicalFunction::FutureCancelRead { .. } => "future.cancel-read",
        CanonicalFunction::FutureCancelWrite { .. } => "future.cancel-write",
        CanonicalFunction::FutureDropReadable { .. } => "future.drop-readable",
        CanonicalFunction::FutureDropWritable { .. } => "future.drop-writable",
        CanonicalFunction::ErrorContextNew { .. } => "error-context.new",
        CanonicalFunction::ErrorContextDebugMessage { .. } => "error-context.debug-message",
        CanonicalFunction::ErrorContextDrop => "error-context.drop",
        CanonicalFunction::WaitableSetNew => "waitable-set.new",
        CanonicalFunction::WaitableSetWait { .. } => "waitable-set.wait",
        CanonicalFunction::WaitableSetPoll { .. } => "waitable-set.poll",
        CanonicalFunction::WaitableSetDrop => "waitable-set.drop",
        CanonicalFunction::WaitableJoin => "waitable.join",
        _ => "an async or thread builtin",
    }
}

/// Bring the validator-derived type lists of `c` up to date.
fn sync_all(v: &Validator, c: &mut StaticComponent) {
    sync_types(v, c);
    sync_components(v, c);
    if let Some(t) = v.types(0) {
        while (c.func_types.len() as u32) < t.component_function_count() {
            c.func_types
                .push(t.component_function_at(c.func_types.len() as u32));
        }
        while (c.instance_types.len() as u32) < t.component_instance_count() {
            c.instance_types
                .push(t.component_instance_at(c.instance_types.len() as u32));
        }
    }
}

fn sync_types(v: &Validator, c: &mut StaticComponent) {
    if let Some(t) = v.types(0) {
        while (c.types.len() as u32) < t.component_type_count() {
            let id = t.component_any_type_at(c.types.len() as u32);
            c.types.push(TypeSlot {
                id,
                resource_def: None,
            });
        }
    }
}

fn sync_components(v: &Validator, c: &mut StaticComponent) {
    if let Some(t) = v.types(0) {
        while (c.component_types.len() as u32) < t.component_count() {
            c.component_types
                .push(t.component_at(c.component_types.len() as u32));
        }
    }
}
