//! Tags of the exception-handling proposal: [`TagType`] and the [`Tag`]
//! handle, shaped like wasmtime's.
//!
//! A tag is a store item like a function or a global. Its identity is the
//! address of its [`TagData`] box, which never moves while the store lives:
//! every instance writes the identities of its tags (defined or imported)
//! into its VMContext, so two instances that import the same tag compare
//! equal, and two instantiations of one module that define a tag do not.

use crate::error::Error;
use crate::runtime::store::{AsContext, AsContextMut};
use crate::types::{FuncType, ValType};

/// The type of a tag: the types of the values an exception carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagType {
    ty: FuncType,
}

impl TagType {
    /// A tag type carrying values of `params`.
    pub fn new(params: impl IntoIterator<Item = ValType>) -> Self {
        TagType {
            ty: FuncType::new(params, []),
        }
    }

    /// The tag's signature as a function type (`params -> []`).
    pub(crate) fn from_func_type(ty: FuncType) -> Self {
        TagType { ty }
    }

    /// The payload types.
    pub fn params(&self) -> &[ValType] {
        self.ty.params()
    }

    /// The tag's signature as a function type with no results.
    pub fn func_type(&self) -> &FuncType {
        &self.ty
    }
}

/// A tag of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

/// What the store keeps per tag; its address is the tag's identity.
#[derive(Debug)]
pub(crate) struct TagData {
    pub ty: TagType,
    /// An import or export name, for error messages.
    pub name: Option<Box<str>>,
}

impl Tag {
    /// A new tag of type `ty`, distinct from every other tag.
    ///
    /// # Errors
    /// `Error::Type` when `ty` has results.
    pub fn new(mut store: impl AsContextMut, ty: &TagType) -> Result<Tag, Error> {
        if !ty.ty.results().is_empty() {
            return Err(Error::ty("a tag type has no results"));
        }
        let cx = store.as_context_mut();
        let store = &mut cx.0.opaque;
        Ok(store.exn.new_tag(store.id, ty.clone(), None))
    }

    /// The tag's type.
    ///
    /// # Panics
    /// When used with a store other than its own.
    pub fn ty(&self, store: impl AsContext) -> TagType {
        let store = &store.as_context().0.opaque;
        assert_eq!(store.id, self.store, "tag used with the wrong store");
        store.exn.tags[self.index as usize].ty.clone()
    }
}
