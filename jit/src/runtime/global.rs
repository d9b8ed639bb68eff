//! Globals. Each is a 16-byte cell; compiled code reaches it through a
//! pointer in the VMContext, so imported and defined globals look the same.

use crate::error::Error;
use crate::runtime::store::{AsContext, AsContextMut, StoreOpaque};
use crate::runtime::values::Val;
use crate::types::{GlobalType, Mutability};

/// A global of a store.
pub(crate) struct GlobalData {
    pub value: u128,
    pub ty: GlobalType,
}

/// A global handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Global {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Global {
    /// A new global.
    ///
    /// # Errors
    ///
    /// `Error::Type` when `val` does not match `ty`.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, val: Val) -> Result<Global, Error> {
        let store = &mut store.as_context_mut().0.opaque;
        let value = val.to_raw(store, ty.content)?;
        store.globals.push(Box::new(GlobalData { value, ty }));
        Ok(Global {
            store: store.id,
            index: store.globals.len() as u32 - 1,
        })
    }

    fn data<'a>(&self, store: &'a StoreOpaque) -> &'a GlobalData {
        assert_eq!(store.id, self.store, "global used with the wrong store");
        &store.globals[self.index as usize]
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        self.data(&store.as_context().0.opaque).ty
    }

    /// The current value.
    pub fn get(&self, store: impl AsContext) -> Val {
        let store = &store.as_context().0.opaque;
        let g = self.data(store);
        Val::from_raw(store, g.ty.content, g.value)
    }

    /// Set the value of a mutable global.
    ///
    /// # Errors
    ///
    /// `Error::Type` when immutable or of another type.
    pub fn set(&self, mut store: impl AsContextMut, val: Val) -> Result<(), Error> {
        let store = &mut store.as_context_mut().0.opaque;
        let ty = self.data(store).ty;
        if ty.mutability != Mutability::Var {
            return Err(Error::ty("global is immutable"));
        }
        let raw = val.to_raw(store, ty.content)?;
        store.globals[self.index as usize].value = raw;
        Ok(())
    }
}
