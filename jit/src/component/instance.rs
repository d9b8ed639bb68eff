//! Instantiation: [`InstancePre`] resolves a component's imports against a
//! [`Linker`](super::Linker) once; [`InstancePre::instantiate`] walks the
//! plan's initializers (core instances in order, resources as they are
//! defined), making the functions of lowered imports and builtins as the
//! core instances need them.

use std::sync::Arc;

use super::abi::cx::{Cx, Options, error_to_trap, trap};
use super::abi::lift::{CoreValueIter, lift_flat_values};
use super::abi::lower::lower_flat_values;
use super::abi::{FlatType, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use super::compile::{Component, ComponentInner};
use super::linker::{CallShape, HostCall, HostDtor, HostFunc, Item, Linker};
use super::plan::{
    Callee, CoreDef, Export, Initializer, LiftedIndex, OptionsDef, RequiredKind, ResourceDef,
    RootImport,
};
use super::resources::{HandleEntry, ResourceKind, ResourceType, Slot, unknown_handle, wrong_type};
use super::state::{Dtor, FrameIndex, FrameState, InstanceState, RuntimeResource};
use super::types::ResourceIndex;
use super::values::Val;
use crate::error::{Error, LinkError};
use crate::runtime::func::{
    Func as CoreFunc, call_raw, new_host_func, opaque_callable, store_callable,
};
use crate::runtime::instance::export_at;
use crate::runtime::store::{AsContextMut, Store, StoreOpaque};
use crate::runtime::trap::Trap;
use crate::runtime::values::Extern;
use crate::types::FuncType;

/// A component with its imports resolved, ready to instantiate many times
/// (wasmtime's `InstancePre`).
pub struct InstancePre<T> {
    component: Component,
    funcs: Arc<[HostFunc<T>]>,
    resources: Arc<[(ResourceType, Option<HostDtor>)]>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            component: self.component.clone(),
            funcs: self.funcs.clone(),
            resources: self.resources.clone(),
        }
    }
}

fn unknown(path: &str) -> Error {
    LinkError::UnknownImport {
        module: "".into(),
        name: path.into(),
    }
    .into()
}

/// wasmtime's account of an import the linker lacks: the import, each
/// instance level down to the missing item, and what is missing.
fn missing_import(root: &RootImport, path: &[Box<str>], kind: RequiredKind) -> Error {
    let mut causes: Vec<Box<str>> = vec![
        format!(
            "component imports {} `{}`, but a matching implementation was not found in the linker",
            root.kind, root.full_name
        )
        .into(),
    ];
    for name in path {
        causes.push(format!("instance export `{name}` has the wrong type").into());
    }
    causes.push(
        match kind {
            RequiredKind::Func => "function implementation is missing",
            RequiredKind::Resource => "resource implementation is missing",
        }
        .into(),
    );
    LinkError::ComponentImport {
        causes: causes.into(),
    }
    .into()
}

fn incompatible(path: &str, reason: String) -> Error {
    LinkError::IncompatibleImportType {
        module: "".into(),
        name: path.into(),
        reason: reason.into(),
    }
    .into()
}

impl<T: 'static> InstancePre<T> {
    pub(crate) fn new(linker: &Linker<T>, component: &Component) -> Result<Self, Error> {
        let inner = &component.inner;
        let plan = &inner.plan;
        let path_of = |p: &super::plan::ImportPath| -> (Vec<String>, String) {
            let mut names = vec![plan.root_imports[p.import as usize].full_name.to_string()];
            names.extend(p.names.iter().map(|n| n.to_string()));
            let shown = names.join("#");
            (names, shown)
        };
        // Everything each import's type names must be defined, used or
        // not, as wasmtime checks; the used functions are type-checked below.
        for root in &plan.root_imports {
            for (path, kind) in &root.required {
                let mut names: Vec<&str> = vec![&root.full_name];
                names.extend(path.iter().map(|n| &**n));
                let found = matches!(
                    (linker.namespace().lookup(&names), kind),
                    (Some(Item::Func(_)), RequiredKind::Func)
                        | (Some(Item::Resource(..)), RequiredKind::Resource)
                );
                if !found {
                    return Err(missing_import(root, path, *kind));
                }
            }
        }
        let mut funcs = Vec::with_capacity(plan.imports.len());
        for imp in &plan.imports {
            let (names, shown) = path_of(&imp.path);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            match linker.namespace().lookup(&names) {
                Some(Item::Func(f)) => {
                    (f.check)(imp.ty, &inner.types).map_err(|e| incompatible(&shown, e))?;
                    funcs.push(f.clone());
                }
                Some(_) => return Err(incompatible(&shown, "expected a function".into())),
                None => {
                    return Err(match names.len() {
                        1 => unknown(&shown),
                        _ => match linker.namespace().lookup(&names[..1]) {
                            Some(_) => unknown(&shown),
                            None => unknown(names[0]),
                        },
                    });
                }
            }
        }
        let mut resources = Vec::new();
        for r in &plan.resources {
            if let ResourceDef::Imported(p) = r {
                let (names, shown) = path_of(p);
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                match linker.namespace().lookup(&names) {
                    Some(Item::Resource(ty, dtor)) => resources.push((*ty, dtor.clone())),
                    Some(_) => return Err(incompatible(&shown, "expected a resource".into())),
                    None => {
                        let root = &plan.root_imports[p.import as usize];
                        return Err(missing_import(root, &p.names, RequiredKind::Resource));
                    }
                }
            }
        }
        Ok(InstancePre {
            component: component.clone(),
            funcs: funcs.into(),
            resources: resources.into(),
        })
    }

    /// The component.
    pub fn component(&self) -> &Component {
        &self.component
    }

    /// Instantiate in `store`.
    ///
    /// # Errors
    ///
    /// `Error::Trap` when a core module's start function or a segment
    /// traps; `Error::ResourceLimit` when memories cannot be made.
    pub fn instantiate(&self, store: &mut Store<T>) -> Result<Instance, Error> {
        let opaque = &mut store.inner.opaque;
        let inner = self.component.inner.clone();
        let plan = &inner.plan;
        let index = opaque.component.instances.len() as u32;
        let store_id = opaque.id;
        let mut imported = self.resources.iter();
        let resources = plan
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                ResourceDef::Defined { frame, .. } => RuntimeResource {
                    ty: ResourceType(ResourceKind::Guest {
                        store: store_id,
                        instance: index,
                        index: i as u32,
                    }),
                    implementer: Some(*frame),
                    dtor: None,
                },
                ResourceDef::Imported(_) => {
                    let (ty, dtor) = imported
                        .next()
                        .cloned()
                        .unwrap_or((ResourceType::host_dynamic(u32::MAX), None));
                    RuntimeResource {
                        ty,
                        implementer: None,
                        dtor: dtor.map(Dtor::Host),
                    }
                }
            })
            .collect();
        opaque.component.instances.push(InstanceState {
            component: inner.clone(),
            frames: plan
                .frames
                .iter()
                .map(|p| FrameState {
                    may_enter: true,
                    may_leave: true,
                    parent: *p,
                    ..FrameState::default()
                })
                .collect(),
            core_instances: Vec::with_capacity(plan.num_core_instances as usize),
            resources,
            lowerings: vec![None; plan.lowerings.len()],
            lifted: vec![None; plan.lifted.len()],
        });
        for init in &plan.initializers {
            match init {
                Initializer::InstantiateModule { module, args } => {
                    let mut externs = Vec::with_capacity(args.len());
                    for a in args {
                        externs.push(self.core_def_extern(opaque, index, a)?);
                    }
                    let module = &inner.modules[*module as usize];
                    let i = crate::runtime::instance::instantiate(opaque, module, &externs)?;
                    opaque.component.instances[index as usize]
                        .core_instances
                        .push(i);
                }
                Initializer::DefineResource(r) => {
                    if let ResourceDef::Defined { dtor: Some(d), .. } =
                        &plan.resources[r.0 as usize]
                    {
                        let f = match self.core_def_extern(opaque, index, d)? {
                            Extern::Func(f) => f.index,
                            _ => return Err(Error::bug("resource destructor is not a function")),
                        };
                        opaque.component.instances[index as usize].resources[r.0 as usize].dtor =
                            Some(Dtor::Guest(f));
                    }
                }
            }
        }
        Ok(Instance {
            store: store_id,
            index,
        })
    }

    fn core_def_extern(
        &self,
        store: &mut StoreOpaque,
        inst: u32,
        d: &CoreDef,
    ) -> Result<Extern, Error> {
        core_def_extern(store, inst, d, Some(&self.funcs))
    }
}

/// The store item a [`CoreDef`] names, making lowered functions and
/// builtins when first needed. `funcs` are the host functions of the
/// plan's imports (needed only while instantiating).
fn core_def_extern<T: 'static>(
    store: &mut StoreOpaque,
    inst: u32,
    d: &CoreDef,
    funcs: Option<&Arc<[HostFunc<T>]>>,
) -> Result<Extern, Error> {
    let id = store.id;
    let func = |index| Extern::Func(CoreFunc { store: id, index });
    Ok(match *d {
        CoreDef::Export { instance, export } => {
            let core = store.component.instances[inst as usize].core_instances[instance as usize];
            export_at(store, core.index, export)
                .ok_or_else(|| Error::bug("plan names a missing export"))?
        }
        CoreDef::Lowering(i) => {
            if let Some(f) = store.component.instances[inst as usize].lowerings[i as usize] {
                return Ok(func(f));
            }
            let funcs = funcs.ok_or_else(|| Error::bug("lowering made after instantiation"))?;
            let f = make_lowering(store, inst, i, funcs)?;
            store.component.instances[inst as usize].lowerings[i as usize] = Some(f);
            func(f)
        }
        CoreDef::ResourceNew { resource, frame } => func(resource_builtin(
            store,
            inst,
            resource,
            frame,
            Builtin::New,
        )?),
        CoreDef::ResourceDrop { resource, frame } => func(resource_builtin(
            store,
            inst,
            resource,
            frame,
            Builtin::Drop,
        )?),
        CoreDef::ResourceRep { resource, frame } => func(resource_builtin(
            store,
            inst,
            resource,
            frame,
            Builtin::Rep,
        )?),
    })
}

fn func_index(e: Extern) -> Result<u32, Error> {
    match e {
        Extern::Func(f) => Ok(f.index),
        _ => Err(Error::bug("canonical option is not a function")),
    }
}

/// Resolve canonical options of component instance `inst`.
fn resolve_options<T: 'static>(
    store: &mut StoreOpaque,
    inst: u32,
    o: &OptionsDef,
) -> Result<Options, Error> {
    let none: Option<&Arc<[HostFunc<T>]>> = None;
    let memory = match &o.memory {
        Some(d) => match core_def_extern(store, inst, d, none)? {
            Extern::Memory(m) => Some(m.index),
            _ => return Err(Error::bug("memory option is not a memory")),
        },
        None => None,
    };
    if let Some(m) = memory
        && store.memories[m as usize].current_type().memory64
    {
        return Err(Error::Unsupported(
            "64-bit memories in canonical options".into(),
        ));
    }
    let realloc = o
        .realloc
        .as_ref()
        .map(|d| core_def_extern(store, inst, d, none).and_then(func_index))
        .transpose()?;
    let post_return = o
        .post_return
        .as_ref()
        .map(|d| core_def_extern(store, inst, d, none).and_then(func_index))
        .transpose()?;
    Ok(Options {
        instance: inst,
        frame: o.frame,
        memory,
        realloc,
        post_return,
        encoding: o.encoding,
    })
}

/// The core signature of a lowered function (`flatten_functype(...,
/// 'lower')`).
fn lowered_core_type(shape: &CallShape) -> FuncType {
    let flat = |ts: &[super::types::InterfaceType]| -> Vec<crate::types::ValType> {
        ts.iter()
            .flat_map(|t| {
                shape
                    .types
                    .flat(*t)
                    .iter()
                    .map(FlatType::val_type)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut params = if shape.params_spilled {
        vec![crate::types::ValType::I32]
    } else {
        flat(&shape.params)
    };
    let results = if shape.results_spilled {
        params.push(crate::types::ValType::I32);
        Vec::new()
    } else {
        flat(&shape.results)
    };
    FuncType::new(params, results)
}

fn make_lowering<T: 'static>(
    store: &mut StoreOpaque,
    inst: u32,
    i: u32,
    funcs: &Arc<[HostFunc<T>]>,
) -> Result<u32, Error> {
    let component = store.component.instances[inst as usize].component.clone();
    let low = &component.plan.lowerings[i as usize];
    let opts = resolve_options::<T>(store, inst, &low.options)?;
    let shape = Arc::new(CallShape::new(&component.types, low.ty));
    let core_ty = lowered_core_type(&shape);
    let frame = low.options.frame;
    let callable = match low.callee {
        Callee::Import(imp) => {
            let host = funcs[imp as usize].clone();
            store_callable::<T>(move |inner, slots| {
                if !inner.opaque.component.frame(inst, frame).may_leave {
                    return Err(trap("cannot leave component instance"));
                }
                (host.entry)(
                    inner,
                    HostCall {
                        shape: &shape,
                        opts,
                        slots,
                    },
                )
            })
        }
        Callee::Lifted(l) => opaque_callable(move |store, slots| {
            if !store.component.frame(inst, frame).may_leave {
                return Err(trap("cannot leave component instance"));
            }
            lowered_to_lifted::<T>(store, inst, opts, &shape, l, slots)
        }),
    };
    let f = new_host_func(store, core_ty, callable)?;
    Ok(f.index)
}

/// A lowered import whose callee is a lifted function of the same
/// instance tree (two composed components): lift the caller's arguments
/// to values, call the callee, lower its results back.
fn lowered_to_lifted<T: 'static>(
    store: &mut StoreOpaque,
    inst: u32,
    opts: Options,
    shape: &CallShape,
    lifted: LiftedIndex,
    slots: &mut [u128],
) -> Result<(), Trap> {
    let mut cx = Cx::new(store, &shape.types, opts);
    let mut it = CoreValueIter::new(slots);
    let params = lift_flat_values(&mut cx, MAX_FLAT_PARAMS, &mut it, &shape.params)?;
    let retptr = shape.results_spilled.then(|| it.next_u32());
    let lenders = std::mem::take(&mut cx.lenders);
    let results = call_lifted::<T>(store, inst, lifted, Some((inst, opts.frame)), &params);
    let mut cx = Cx::new(store, &shape.types, opts);
    cx.lenders = lenders;
    let r = results.and_then(|results| {
        let flat = lower_flat_values(&mut cx, MAX_FLAT_RESULTS, &results, &shape.results, retptr)?;
        for (s, v) in slots.iter_mut().zip(flat) {
            *s = v;
        }
        Ok(())
    });
    cx.release_lenders();
    r
}

/// A lifted function resolved for calls.
#[derive(Clone)]
pub(crate) struct LiftedRt {
    pub func: u32,
    pub opts: Options,
    pub shape: Arc<CallShape>,
}

fn lifted_rt<T: 'static>(
    store: &mut StoreOpaque,
    inst: u32,
    l: LiftedIndex,
) -> Result<Arc<LiftedRt>, Trap> {
    if let Some(rt) = &store.component.instances[inst as usize].lifted[l as usize] {
        return Ok(rt.clone());
    }
    let component = store.component.instances[inst as usize].component.clone();
    let def = &component.plan.lifted[l as usize];
    let none: Option<&Arc<[HostFunc<T>]>> = None;
    let func = core_def_extern(store, inst, &def.core_func, none)
        .and_then(func_index)
        .map_err(|e| Trap::host(e.to_string()))?;
    let opts =
        resolve_options::<T>(store, inst, &def.options).map_err(|e| Trap::host(e.to_string()))?;
    let rt = Arc::new(LiftedRt {
        func,
        opts,
        shape: Arc::new(CallShape::new(&component.types, def.ty)),
    });
    store.component.instances[inst as usize].lifted[l as usize] = Some(rt.clone());
    Ok(rt)
}

/// Call lifted function `l` (the spec's `canon_lift`, synchronous),
/// lowering the arguments with `lower`, lifting the results with `lift`.
pub(crate) fn call_lifted_with<T: 'static, R>(
    store: &mut StoreOpaque,
    inst: u32,
    l: LiftedIndex,
    caller: Option<(u32, FrameIndex)>,
    lower: impl FnOnce(&mut Cx<'_>, &CallShape) -> Result<Vec<u128>, Trap>,
    lift: impl FnOnce(&mut Cx<'_>, &CallShape, &[u128]) -> Result<R, Trap>,
) -> Result<R, Trap> {
    let rt = lifted_rt::<T>(store, inst, l)?;
    let set = store.component.enter(inst, rt.opts.frame, caller)?;
    let task = store.component.new_task();
    let component = store.component.instances[inst as usize].component.clone();
    let r = (|| {
        let mut cx = Cx::new(store, &component.types, rt.opts);
        cx.borrow_scope = Some(task);
        let flat = lower(&mut cx, &rt.shape)?;
        let mut slots = flat;
        if slots.is_empty() {
            slots.push(0);
        }
        let ptr: *mut StoreOpaque = &mut *store;
        call_raw(ptr, rt.func, &mut slots).map_err(error_to_trap)?;
        let mut cx = Cx::new(store, &component.types, rt.opts);
        let results = lift(&mut cx, &rt.shape, &slots)?;
        store.component.end_task(task)?;
        if let Some(pr) = rt.opts.post_return {
            let frame = rt.opts.frame;
            store.component.frame_mut(inst, frame).may_leave = false;
            let mut pr_slots = slots.clone();
            let r = call_raw(ptr, pr, &mut pr_slots).map_err(error_to_trap);
            store.component.frame_mut(inst, frame).may_leave = true;
            r?;
        }
        Ok(results)
    })();
    match &r {
        Ok(_) => store.component.leave(inst, &set),
        Err(_) => store.component.poison(inst, &set),
    }
    r
}

/// Call lifted function `l` with dynamic values.
pub(crate) fn call_lifted<T: 'static>(
    store: &mut StoreOpaque,
    inst: u32,
    l: LiftedIndex,
    caller: Option<(u32, FrameIndex)>,
    params: &[Val],
) -> Result<Vec<Val>, Trap> {
    call_lifted_with::<T, _>(
        store,
        inst,
        l,
        caller,
        |cx, shape| lower_flat_values(cx, MAX_FLAT_PARAMS, params, &shape.params, None),
        |cx, shape, slots| {
            lift_flat_values(
                cx,
                MAX_FLAT_RESULTS,
                &mut CoreValueIter::new(slots),
                &shape.results,
            )
        },
    )
}

#[derive(Clone, Copy)]
enum Builtin {
    New,
    Drop,
    Rep,
}

fn resource_builtin(
    store: &mut StoreOpaque,
    inst: u32,
    r: ResourceIndex,
    frame: FrameIndex,
    kind: Builtin,
) -> Result<u32, Error> {
    use crate::types::ValType::I32;
    let ty = match kind {
        Builtin::New | Builtin::Rep => FuncType::new(vec![I32], vec![I32]),
        Builtin::Drop => FuncType::new(vec![I32], vec![]),
    };
    let callable = opaque_callable(move |store, slots| {
        let rt = store.component.instances[inst as usize].resources[r.0 as usize].clone();
        let arg = slots[0] as u32;
        match kind {
            Builtin::New => {
                if !store.component.frame(inst, frame).may_leave {
                    return Err(trap("cannot leave component instance"));
                }
                let h = store
                    .component
                    .frame_mut(inst, frame)
                    .handles
                    .add(Slot::Resource(HandleEntry {
                        ty: rt.ty,
                        rep: arg,
                        own: true,
                        borrow_scope: None,
                        num_lends: 0,
                    }))
                    .ok_or_else(|| trap("handle table full"))?;
                slots[0] = u128::from(h);
                Ok(())
            }
            Builtin::Rep => match store.component.frame(inst, frame).handles.get(arg) {
                Some(Slot::Resource(h)) if h.ty == rt.ty => {
                    slots[0] = u128::from(h.rep);
                    Ok(())
                }
                Some(Slot::Resource(h)) => Err(wrong_type(arg, rt.ty, h.ty)),
                None => Err(unknown_handle(arg)),
            },
            Builtin::Drop => resource_drop(store, inst, frame, &rt, arg),
        }
    });
    Ok(new_host_func(store, ty, callable)?.index)
}

/// `canon resource.drop`.
fn resource_drop(
    store: &mut StoreOpaque,
    inst: u32,
    frame: FrameIndex,
    rt: &RuntimeResource,
    i: u32,
) -> Result<(), Trap> {
    if !store.component.frame(inst, frame).may_leave {
        return Err(trap("cannot leave component instance"));
    }
    let h = match store.component.frame(inst, frame).handles.get(i) {
        Some(Slot::Resource(h)) => *h,
        None => return Err(unknown_handle(i)),
    };
    if h.ty != rt.ty {
        return Err(wrong_type(i, rt.ty, h.ty));
    }
    if h.num_lends != 0 {
        return Err(trap("cannot remove owned resource while borrowed"));
    }
    store.component.frame_mut(inst, frame).handles.remove(i);
    if !h.own {
        if let Some(task) = h.borrow_scope {
            let t = store.component.task_mut(task);
            t.num_borrows = t.num_borrows.saturating_sub(1);
        }
        return Ok(());
    }
    match &rt.dtor {
        None => Ok(()),
        Some(Dtor::Guest(f)) => {
            let implementer = rt.implementer.unwrap_or(frame);
            let set = store
                .component
                .enter(inst, implementer, Some((inst, frame)))?;
            let mut slots = [u128::from(h.rep)];
            let ptr: *mut StoreOpaque = &mut *store;
            let r = call_raw(ptr, *f, &mut slots).map_err(error_to_trap);
            match &r {
                Ok(()) => store.component.leave(inst, &set),
                Err(_) => store.component.poison(inst, &set),
            }
            r
        }
        Some(Dtor::Host(d)) => {
            let mut slots = [u128::from(h.rep)];
            crate::runtime::func::invoke_callable(d, store, &mut slots)
        }
    }
}

/// A component instance in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Instance {
    fn inner<'a>(&self, store: &'a StoreOpaque) -> &'a ComponentInner {
        assert_eq!(
            store.id, self.store,
            "component instance used with the wrong store"
        );
        &store.component.instances[self.index as usize].component
    }

    /// The exported function at `name`: a top-level export, or
    /// `instance#function` for a function of an exported instance (as
    /// wasmtime's CLI spells it).
    pub fn get_func(&self, mut store: impl AsContextMut, name: &str) -> Option<super::Func> {
        let cx = store.as_context_mut();
        let inner = self.inner(&cx.0.opaque);
        let export = lookup_export(&inner.plan.exports, name)?;
        match export {
            Export::Func(f) => Some(super::Func {
                store: self.store,
                instance: self.index,
                callee: f.callee,
                ty: f.ty,
            }),
            _ => None,
        }
    }

    /// Every exported function, by the name [`Instance::get_func`] takes.
    pub fn func_names(&self, mut store: impl AsContextMut) -> Vec<String> {
        let cx = store.as_context_mut();
        let inner = self.inner(&cx.0.opaque);
        let mut out = Vec::new();
        for (name, e) in &inner.plan.exports {
            match e {
                Export::Func(_) => out.push(name.to_string()),
                Export::Instance(items) => {
                    for (n, e) in items {
                        if matches!(e, Export::Func(_)) {
                            out.push(format!("{name}#{n}"));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// Find `name` (or `instance#name`) among `exports`.
pub(crate) fn lookup_export<'a>(
    exports: &'a [(Box<str>, Export)],
    name: &str,
) -> Option<&'a Export> {
    if let Some((_, e)) = exports.iter().find(|(n, _)| **n == *name) {
        return Some(e);
    }
    let (inst, rest) = name.split_once('#')?;
    let mut names = super::names::NameMap::default();
    for (i, (n, _)) in exports.iter().enumerate() {
        names.insert(n, i);
    }
    let i = *names.get(inst)?;
    match &exports[i].1 {
        Export::Instance(items) => lookup_export(items, rest),
        _ => None,
    }
}
