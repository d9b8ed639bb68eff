//! `InstancePre`: a module whose imports were resolved by name and
//! type-checked once, so that each instantiation only makes the host
//! functions of the new store, takes its slots and fills the VMContext.

use std::sync::Arc;

use crate::compile::Trampolines;
use crate::error::Error;
use crate::module::{Module, entity_type};
use crate::runtime::func::{HostCallable, new_host_func_with};
use crate::runtime::instance::{Instance, check_import, instantiate_with};
use crate::runtime::linker::{Definition, Linker};
use crate::runtime::store::AsContextMut;
use crate::runtime::values::Extern;
use crate::types::{ExternType, FuncType};

/// One resolved import.
#[derive(Clone)]
enum Resolved {
    /// An item of the store it was defined with.
    Extern(Extern),
    /// A host function, made in each store that instantiates.
    Host {
        ty: FuncType,
        type_id: u32,
        trampolines: Arc<Trampolines>,
        callable: HostCallable,
    },
}

/// A module with its imports resolved and type-checked
/// ([`Linker::instantiate_pre`]); cheap to clone and to share between
/// threads. Items a [`Linker::define`] took from a store can only be used
/// with that store.
pub struct InstancePre<T> {
    module: Module,
    imports: Arc<[Resolved]>,
    _marker: std::marker::PhantomData<fn(T)>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            module: self.module.clone(),
            imports: Arc::clone(&self.imports),
            _marker: std::marker::PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for InstancePre<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstancePre")
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

impl<T: 'static> InstancePre<T> {
    /// Resolve every import of `module` in `linker` and check its type.
    pub(crate) fn new(linker: &Linker<T>, module: &Module) -> Result<Self, Error> {
        let engine = linker.engine();
        if !crate::Engine::same(engine, module.engine()) {
            return Err(Error::ty("module compiled for another engine"));
        }
        let info = &module.inner.info;
        let mut imports = Vec::with_capacity(info.imports.len());
        for import in &info.imports {
            let expected = entity_type(info, import.index);
            let (resolved, actual) = match linker.definition(&import.module, &import.name)? {
                Definition::Extern(ext, ty) => (Resolved::Extern(*ext), ty.clone()),
                Definition::Host(ty, callable) => {
                    let type_id = engine.register_type(ty);
                    let resolved = Resolved::Host {
                        ty: ty.clone(),
                        type_id,
                        trampolines: engine.trampolines(type_id)?,
                        callable: Arc::clone(callable),
                    };
                    (resolved, ExternType::Func(ty.clone()))
                }
            };
            check_import(engine, &import.module, &import.name, &expected, &actual)?;
            imports.push(resolved);
        }
        Ok(InstancePre {
            module: module.clone(),
            imports: imports.into(),
            _marker: std::marker::PhantomData,
        })
    }

    /// The module.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// A new instance in `store`.
    ///
    /// # Errors
    ///
    /// `Error::Link` when a defined item belongs to another store;
    /// `Error::Pool` or `Error::ResourceLimit` when a limit is reached;
    /// `Error::Trap` when a segment or the start function traps.
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance, Error> {
        let cx = store.as_context_mut();
        let opaque = &mut cx.0.opaque;
        let mut items = Vec::with_capacity(self.imports.len());
        for import in self.imports.iter() {
            items.push(match import {
                Resolved::Extern(ext) => *ext,
                Resolved::Host {
                    ty,
                    type_id,
                    trampolines,
                    callable,
                } => Extern::Func(new_host_func_with(
                    opaque,
                    ty.clone(),
                    *type_id,
                    trampolines,
                    Arc::clone(callable),
                )),
            });
        }
        instantiate_with(opaque, &self.module, &items, false)
    }
}
