//! Name-based import resolution.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::engine::Engine;
use crate::error::{Error, LinkError};
use crate::module::Module;
use crate::runtime::func::{
    Caller, Func, HostCallable, HostReturn, IntoFunc, WasmParams, async_host, dynamic_host,
    new_host_func,
};
use crate::runtime::instance::Instance;
use crate::runtime::instance_pre::InstancePre;
use crate::runtime::store::{AsContextMut, Store};
use crate::runtime::trap::Trap;
use crate::runtime::values::{Extern, Val};
use crate::types::{ExternType, FuncType};

pub(crate) enum Definition {
    /// An item of a store, with its type when it was defined.
    Extern(Extern, ExternType),
    /// A host function, materialised in each store on instantiation.
    Host(FuncType, HostCallable),
}

/// (store id, module, name) of a host function made in that store.
type MaterialisedKey = (u64, Box<str>, Box<str>);

/// Defines imports by (module, name) and instantiates modules with them.
pub struct Linker<T> {
    engine: Engine,
    defs: HashMap<(Box<str>, Box<str>), Definition>,
    /// Per store id, host functions already materialised there.
    materialised: Mutex<HashMap<MaterialisedKey, Func>>,
    _marker: std::marker::PhantomData<fn(T)>,
}

impl<T: 'static> Linker<T> {
    /// An empty linker.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            defs: HashMap::new(),
            materialised: Mutex::new(HashMap::new()),
            _marker: std::marker::PhantomData,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition) -> Result<&mut Self, Error> {
        let key = (Box::from(module), Box::from(name));
        self.materialised
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(_, m, n), _| !(**m == *module && **n == *name));
        self.defs.insert(key, def);
        Ok(self)
    }

    /// Define a typed host function.
    ///
    /// # Errors
    ///
    /// Never today; kept fallible as in wasmtime.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self, Error> {
        let crate::runtime::func::HostFunc { ty, callable } = f.into_host();
        self.insert(module, name, Definition::Host(ty, callable))
    }

    /// Define a typed host function whose body is a future (wasmtime's
    /// shape: the closure boxes an `async move` block that may use the
    /// caller). Called inside an async call
    /// ([`Func::call_async`](crate::Func::call_async)), the guest waits for
    /// the future without holding the thread; called outside one, the
    /// function traps, since nothing could drive the future.
    ///
    /// # Errors
    ///
    /// Never today; kept fallible as in wasmtime.
    pub fn func_wrap_async<P: WasmParams + 'static, R: HostReturn + 'static>(
        &mut self,
        module: &str,
        name: &str,
        f: impl for<'a> Fn(Caller<'a, T>, P) -> Box<dyn Future<Output = R> + 'a> + Send + Sync + 'static,
    ) -> Result<&mut Self, Error> {
        let crate::runtime::func::HostFunc { ty, callable } = async_host(f);
        self.insert(module, name, Definition::Host(ty, callable))
    }

    /// Define a host function with a dynamic signature whose body is a
    /// future; see [`Linker::func_wrap_async`].
    ///
    /// # Errors
    ///
    /// Never today; kept fallible as in wasmtime.
    pub fn func_new_async(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl for<'a> Fn(
            Caller<'a, T>,
            &'a [Val],
            &'a mut [Val],
        ) -> Box<dyn Future<Output = Result<(), Trap>> + 'a>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self, Error> {
        let callable = dynamic_host::<T>(ty.clone(), move |caller, params, results| {
            let future = Box::into_pin(f(caller, params, results));
            crate::runtime::fiber::block_on(future)
                .map_err(crate::runtime::async_call::suspend_trap)?
        });
        self.insert(module, name, Definition::Host(ty, callable))
    }

    /// Define a host function with a dynamic signature.
    ///
    /// # Errors
    ///
    /// Never today; kept fallible as in wasmtime.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Result<&mut Self, Error> {
        let callable = dynamic_host::<T>(ty.clone(), f);
        self.insert(module, name, Definition::Host(ty, callable))
    }

    /// Define `module::name` as an existing item of `store`.
    ///
    /// # Errors
    ///
    /// Never today; kept fallible as in wasmtime.
    pub fn define(
        &mut self,
        store: &Store<T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self, Error> {
        let item = item.into();
        let ty = crate::runtime::instance::extern_type(&store.inner.opaque, &item);
        self.insert(module, name, Definition::Extern(item, ty))
    }

    /// Define every export of `instance` under `module`.
    ///
    /// # Errors
    ///
    /// Never today; kept fallible as in wasmtime.
    pub fn instance(
        &mut self,
        store: &mut Store<T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self, Error> {
        for (name, ext) in instance.exports(&mut *store) {
            let ty = crate::runtime::instance::extern_type(&store.inner.opaque, &ext);
            self.insert(module, &name, Definition::Extern(ext, ty))?;
        }
        Ok(self)
    }

    /// Resolve `module::name` in `store`.
    pub fn get(&self, store: &mut Store<T>, module: &str, name: &str) -> Option<Extern> {
        self.resolve(store, module, name).ok()
    }

    /// The definition of `module::name`.
    pub(crate) fn definition(&self, module: &str, name: &str) -> Result<&Definition, Error> {
        self.defs
            .get(&(Box::from(module), Box::from(name)))
            .ok_or_else(|| {
                LinkError::UnknownImport {
                    module: module.into(),
                    name: name.into(),
                }
                .into()
            })
    }

    fn resolve(&self, store: &mut Store<T>, module: &str, name: &str) -> Result<Extern, Error> {
        let def = self.definition(module, name)?;
        match def {
            Definition::Extern(e, _) => Ok(*e),
            Definition::Host(ty, callable) => {
                let opaque = &mut store.as_context_mut().0.opaque;
                let key = (opaque.id, Box::from(module), Box::from(name));
                let mut cache = self.materialised.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(f) = cache.get(&key) {
                    return Ok(Extern::Func(*f));
                }
                let f = new_host_func(opaque, ty.clone(), Arc::clone(callable))?;
                cache.insert(key, f);
                Ok(Extern::Func(f))
            }
        }
    }

    /// Resolve and type-check `module`'s imports once; what is left per
    /// instance is [`InstancePre::instantiate`] (wasmtime's shape: `serve`
    /// calls it for every request).
    ///
    /// # Errors
    ///
    /// `Error::Link` for an unknown or mismatched import.
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre<T>, Error> {
        InstancePre::new(self, module)
    }

    /// Instantiate `module`, resolving its imports by name.
    ///
    /// # Errors
    ///
    /// `Error::Link` for an unknown or mismatched import; `Error::Trap` when
    /// instantiation traps.
    pub fn instantiate(&self, store: &mut Store<T>, module: &Module) -> Result<Instance, Error> {
        let mut imports = Vec::new();
        for import in module.imports() {
            imports.push(self.resolve(store, import.module(), import.name())?);
        }
        Instance::new(store, module, &imports)
    }
}
