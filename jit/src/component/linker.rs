//! [`Linker`]: host definitions by name, shaped as wasmtime's
//! `component::Linker` — functions (typed with [`Linker::root`]`.func_wrap`
//! or dynamic with `func_new`), resources, and nested instances, matched
//! against a component's imports by name with semver compatibility
//! (`names.rs`).

use std::sync::Arc;

use super::abi::cx::{Cx, Options, trap};
use super::abi::lift::CoreValueIter;
use super::compile::Component;
use super::instance::{Instance, InstancePre};
use super::names::NameMap;
use super::resources::ResourceType;
use super::typed::{LiftList, LowerList};
use super::types::{ComponentTypes, FuncTypeIndex, InterfaceType};
use super::values::Val;
use crate::engine::Engine;
use crate::error::{Error, LinkError};
use crate::runtime::func::{HostCallable, store_callable};
use crate::runtime::store::{Store, StoreContextMut, StoreInner};
use crate::runtime::trap::Trap;

/// The flat shape of a lowered call, worked out once per lowering.
#[derive(Debug, Clone)]
pub(crate) struct CallShape {
    pub types: Arc<ComponentTypes>,
    pub params: Box<[InterfaceType]>,
    pub results: Box<[InterfaceType]>,
    /// Parameters travel through memory (one pointer).
    pub params_spilled: bool,
    /// Results travel through memory (a return pointer after the params).
    pub results_spilled: bool,
}

impl CallShape {
    /// The shape of function type `ty`.
    pub fn new(types: &Arc<ComponentTypes>, ty: FuncTypeIndex) -> Self {
        let ft = &types[ty];
        let params: Box<[InterfaceType]> = ft.params.iter().map(|f| f.ty).collect();
        let results: Box<[InterfaceType]> = ft.result.iter().copied().collect();
        let count = |ts: &[InterfaceType]| {
            let mut f = super::abi::Flattened::default();
            for t in ts {
                f.extend(&types.flat(*t));
            }
            f
        };
        let params_spilled = count(&params).exceeds(super::abi::MAX_FLAT_PARAMS);
        let results_spilled = count(&results).exceeds(super::abi::MAX_FLAT_RESULTS);
        CallShape {
            types: types.clone(),
            params,
            results,
            params_spilled,
            results_spilled,
        }
    }

    /// Check a spilled tuple's pointer (`lift_flat_values`).
    pub fn check_tuple(&self, cx: &Cx<'_>, tys: &[InterfaceType], ptr: u32) -> Result<(), Trap> {
        let (size, align) = super::abi::lift::tuple_layout(&self.types, tys);
        if !ptr.is_multiple_of(align) {
            return Err(trap("unaligned pointer"));
        }
        if u64::from(ptr) + u64::from(size) > cx.mem()?.len() as u64 {
            return Err(trap("pointer out of bounds of memory"));
        }
        Ok(())
    }
}

/// A lowered call into a host function: the caller's options and the
/// core values (arguments in, results out).
pub(crate) struct HostCall<'a> {
    pub shape: &'a CallShape,
    pub opts: Options,
    pub slots: &'a mut [u128],
}

type HostEntry<T> = dyn Fn(&mut StoreInner<T>, HostCall<'_>) -> Result<(), Trap> + Send + Sync;
type TypeCheck = dyn Fn(FuncTypeIndex, &ComponentTypes) -> Result<(), String> + Send + Sync;

/// A host function of a linker.
pub(crate) struct HostFunc<T> {
    pub entry: Arc<HostEntry<T>>,
    pub check: Arc<TypeCheck>,
}

impl<T> Clone for HostFunc<T> {
    fn clone(&self) -> Self {
        HostFunc {
            entry: self.entry.clone(),
            check: self.check.clone(),
        }
    }
}

/// A host resource destructor, type-erased: slot 0 holds the rep.
pub(crate) type HostDtor = HostCallable;

/// What a name may be defined as.
pub(crate) enum Item<T> {
    Func(HostFunc<T>),
    Instance(Namespace<T>),
    Resource(ResourceType, Option<HostDtor>),
}

impl<T> Clone for Item<T> {
    fn clone(&self) -> Self {
        match self {
            Item::Func(f) => Item::Func(f.clone()),
            Item::Instance(n) => Item::Instance(n.clone()),
            Item::Resource(t, d) => Item::Resource(*t, d.clone()),
        }
    }
}

/// Definitions under one name.
pub(crate) struct Namespace<T> {
    pub items: NameMap<Item<T>>,
}

impl<T> Clone for Namespace<T> {
    fn clone(&self) -> Self {
        Namespace {
            items: self.items.clone(),
        }
    }
}

impl<T> Default for Namespace<T> {
    fn default() -> Self {
        Namespace {
            items: NameMap::default(),
        }
    }
}

impl<T> Namespace<T> {
    /// The item at `path` below this namespace.
    pub fn lookup(&self, path: &[&str]) -> Option<&Item<T>> {
        let (first, rest) = path.split_first()?;
        let item = self.items.get(first)?;
        if rest.is_empty() {
            return Some(item);
        }
        match item {
            Item::Instance(ns) => ns.lookup(rest),
            _ => None,
        }
    }
}

/// Host definitions for components, by name.
pub struct Linker<T> {
    engine: Engine,
    root: Namespace<T>,
    allow_shadowing: bool,
}

impl<T: 'static> Linker<T> {
    /// An empty linker.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            root: Namespace::default(),
            allow_shadowing: false,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a later definition may replace an earlier one of the same
    /// name (off by default).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    /// The root namespace: top-level functions and instances.
    pub fn root(&mut self) -> LinkerInstance<'_, T> {
        LinkerInstance {
            ns: &mut self.root,
            allow_shadowing: self.allow_shadowing,
            path: String::new(),
        }
    }

    /// The instance `name` of the root namespace, created when missing.
    ///
    /// # Errors
    ///
    /// When `name` is defined as something other than an instance.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>, Error> {
        let allow_shadowing = self.allow_shadowing;
        if !self.root.items.contains(name) {
            self.root
                .items
                .insert(name, Item::Instance(Namespace::default()));
        }
        match self.root.items.get_mut(name) {
            Some(Item::Instance(ns)) => Ok(LinkerInstance {
                ns,
                allow_shadowing,
                path: name.to_string(),
            }),
            _ => Err(duplicate("", name)),
        }
    }

    pub(crate) fn namespace(&self) -> &Namespace<T> {
        &self.root
    }

    /// Whether `name` is defined in instance `instance` (by the same
    /// semver rules as imports): what coverage audits ask.
    pub fn defines(&self, instance: &str, name: &str) -> bool {
        self.root.lookup(&[instance, name]).is_some()
    }

    /// Resolve the component's imports once; the result instantiates it
    /// many times.
    ///
    /// # Errors
    ///
    /// `Error::Link` for a missing or mismatched import.
    pub fn instantiate_pre(&self, component: &Component) -> Result<InstancePre<T>, Error> {
        InstancePre::new(self, component)
    }

    /// Instantiate `component` in `store`.
    ///
    /// # Errors
    ///
    /// `Error::Link` for a missing or mismatched import; `Error::Trap` when
    /// a start function or instantiation traps.
    pub fn instantiate(
        &self,
        store: &mut Store<T>,
        component: &Component,
    ) -> Result<Instance, Error> {
        self.instantiate_pre(component)?.instantiate(store)
    }
}

/// A namespace of a [`Linker`] being filled.
pub struct LinkerInstance<'a, T> {
    ns: &'a mut Namespace<T>,
    allow_shadowing: bool,
    path: String,
}

fn duplicate(path: &str, name: &str) -> Error {
    LinkError::Duplicate {
        module: path.into(),
        name: name.into(),
    }
    .into()
}

impl<T: 'static> LinkerInstance<'_, T> {
    fn insert(&mut self, name: &str, item: Item<T>) -> Result<(), Error> {
        if !self.allow_shadowing && self.ns.items.contains(name) {
            return Err(duplicate(&self.path, name));
        }
        self.ns.items.insert(name, item);
        Ok(())
    }

    /// The nested instance `name`, created when missing.
    ///
    /// # Errors
    ///
    /// When `name` is defined as something else.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>, Error> {
        if !self.ns.items.contains(name) {
            self.ns
                .items
                .insert(name, Item::Instance(Namespace::default()));
        }
        let path = if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.path)
        };
        match self.ns.items.get_mut(name) {
            Some(Item::Instance(ns)) => Ok(LinkerInstance {
                ns,
                allow_shadowing: self.allow_shadowing,
                path,
            }),
            _ => Err(duplicate(&self.path, name)),
        }
    }

    /// Define `name` as a typed host function: `f` takes the store and a
    /// tuple of parameters and returns a tuple of results (`()` or one
    /// value).
    ///
    /// # Errors
    ///
    /// When `name` is already defined.
    pub fn func_wrap<P, R, F>(&mut self, name: &str, f: F) -> Result<(), Error>
    where
        P: LiftList + 'static,
        R: LowerList + 'static,
        F: Fn(StoreContextMut<'_, T>, P) -> Result<R, Trap> + Send + Sync + 'static,
    {
        let entry = move |inner: &mut StoreInner<T>, call: HostCall<'_>| -> Result<(), Trap> {
            let HostCall { shape, opts, slots } = call;
            let mut cx = Cx::new(&mut inner.opaque, &shape.types, opts);
            let mut it = CoreValueIter::new(slots);
            let params = if shape.params_spilled {
                let ptr = it.next_u32();
                shape.check_tuple(&cx, &shape.params, ptr)?;
                P::load_list(&mut cx, &shape.params, ptr)?
            } else {
                P::lift_list(&mut cx, &shape.params, &mut it)?
            };
            let retptr = shape.results_spilled.then(|| it.next_u32());
            let lenders = std::mem::take(&mut cx.lenders);
            let results = f(StoreContextMut(inner), params);
            let mut cx = Cx::new(&mut inner.opaque, &shape.types, opts);
            cx.lenders = lenders;
            let lowered = results.and_then(|r| lower_results(&mut cx, shape, &r, retptr, slots));
            cx.release_lenders();
            lowered
        };
        let check = |ty: FuncTypeIndex, types: &ComponentTypes| -> Result<(), String> {
            let ft = &types[ty];
            let params: Vec<InterfaceType> = ft.params.iter().map(|f| f.ty).collect();
            let results: Vec<InterfaceType> = ft.result.iter().copied().collect();
            P::typecheck_list(&params, types).map_err(|e| format!("parameters: {e}"))?;
            R::typecheck_list(&results, types).map_err(|e| format!("results: {e}"))
        };
        self.insert(
            name,
            Item::Func(HostFunc {
                entry: Arc::new(entry),
                check: Arc::new(check),
            }),
        )
    }

    /// Define `name` as a host function over dynamic values.
    ///
    /// # Errors
    ///
    /// When `name` is already defined.
    pub fn func_new<F>(&mut self, name: &str, f: F) -> Result<(), Error>
    where
        F: Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap>
            + Send
            + Sync
            + 'static,
    {
        let entry = move |inner: &mut StoreInner<T>, call: HostCall<'_>| -> Result<(), Trap> {
            let HostCall { shape, opts, slots } = call;
            let mut cx = Cx::new(&mut inner.opaque, &shape.types, opts);
            let mut it = CoreValueIter::new(slots);
            let params = super::abi::lift::lift_flat_values(
                &mut cx,
                super::abi::MAX_FLAT_PARAMS,
                &mut it,
                &shape.params,
            )?;
            let retptr = shape.results_spilled.then(|| it.next_u32());
            let lenders = std::mem::take(&mut cx.lenders);
            let mut results = vec![Val::Bool(false); shape.results.len()];
            let r = f(StoreContextMut(inner), &params, &mut results);
            let mut cx = Cx::new(&mut inner.opaque, &shape.types, opts);
            cx.lenders = lenders;
            let lowered = r.and_then(|()| {
                let flat = super::abi::lower::lower_flat_values(
                    &mut cx,
                    super::abi::MAX_FLAT_RESULTS,
                    &results,
                    &shape.results,
                    retptr,
                )?;
                for (s, v) in slots.iter_mut().zip(flat) {
                    *s = v;
                }
                Ok(())
            });
            cx.release_lenders();
            lowered
        };
        self.insert(
            name,
            Item::Func(HostFunc {
                entry: Arc::new(entry),
                check: Arc::new(|_, _| Ok(())),
            }),
        )
    }

    /// Define `name` as a host resource type, with a destructor run when
    /// the guest drops an owned handle.
    ///
    /// # Errors
    ///
    /// When `name` is already defined.
    pub fn resource<F>(&mut self, name: &str, ty: ResourceType, dtor: F) -> Result<(), Error>
    where
        F: Fn(StoreContextMut<'_, T>, u32) -> Result<(), Trap> + Send + Sync + 'static,
    {
        let dtor: HostDtor =
            store_callable::<T>(move |inner, slots| dtor(StoreContextMut(inner), slots[0] as u32));
        self.insert(name, Item::Resource(ty, Some(dtor)))
    }
}

/// Write typed results: one flat value into slot 0, or the tuple at the
/// return pointer.
fn lower_results<R: LowerList>(
    cx: &mut Cx<'_>,
    shape: &CallShape,
    r: &R,
    retptr: Option<u32>,
    slots: &mut [u128],
) -> Result<(), Trap> {
    match retptr {
        Some(ptr) => {
            shape.check_tuple(cx, &shape.results, ptr)?;
            r.store_list(cx, &shape.results, ptr)
        }
        None => {
            let mut out = Vec::with_capacity(1);
            r.lower_list(cx, &shape.results, &mut out)?;
            if let (Some(s), Some(v)) = (slots.first_mut(), out.first()) {
                *s = *v;
            }
            Ok(())
        }
    }
}
