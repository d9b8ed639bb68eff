//! The public handle to a linear memory.

use crate::engine::WasmFeatures;
use crate::error::Error;
use crate::runtime::store::{AsContextMut, StoreContext, StoreContextMut, StoreOpaque};
use crate::runtime::vmctx::MemoryData;
use crate::types::MemoryType;

/// A linear memory handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Memory {
    /// A new memory in `store`.
    ///
    /// # Errors
    ///
    /// `Error::ResourceLimit` when the reservation fails or exceeds limits;
    /// `Error::Type` for a shared memory without a maximum;
    /// `Error::Unsupported` for a shared memory when the engine's features
    /// lack `WasmFeatures::THREADS`; `Error::Type` for a page size other
    /// than 1 byte or 64 KiB, or limits past what the index type and page
    /// size can address; `Error::Unsupported` for 1-byte pages when the
    /// engine's features lack `WasmFeatures::CUSTOM_PAGE_SIZES`.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory, Error> {
        let store = &mut store.as_context_mut().0.opaque;
        if !matches!(ty.page_size_log2, 0 | MemoryType::DEFAULT_PAGE_SIZE_LOG2) {
            return Err(Error::Type(
                format!(
                    "memory page size of 2^{} bytes: the custom-page-sizes proposal allows \
                     1 byte (log2 0) and 64 KiB (log2 16)",
                    ty.page_size_log2
                )
                .into(),
            ));
        }
        if ty.page_size_log2 != MemoryType::DEFAULT_PAGE_SIZE_LOG2
            && !store
                .engine
                .features()
                .contains(WasmFeatures::CUSTOM_PAGE_SIZES)
        {
            return Err(Error::Unsupported(
                "1-byte memory pages need the custom-page-sizes proposal \
                 (WasmFeatures::CUSTOM_PAGE_SIZES)"
                    .into(),
            ));
        }
        let max_pages = ty.absolute_max_pages();
        if ty.minimum > max_pages || ty.maximum.is_some_and(|m| m > max_pages) {
            return Err(Error::Type(
                format!(
                    "memory limits {}..{:?} exceed {max_pages} pages of {} bytes",
                    ty.minimum,
                    ty.maximum,
                    ty.page_size()
                )
                .into(),
            ));
        }
        if ty.maximum.is_some_and(|m| m < ty.minimum) {
            return Err(Error::Type(
                format!(
                    "memory maximum {:?} is below its minimum {}",
                    ty.maximum, ty.minimum
                )
                .into(),
            ));
        }
        if ty.shared {
            if ty.maximum.is_none() {
                return Err(Error::Type("a shared memory must have a maximum".into()));
            }
            if !store.engine.features().contains(WasmFeatures::THREADS) {
                return Err(Error::Unsupported(
                    "shared memories need the threads proposal (WasmFeatures::THREADS)".into(),
                ));
            }
        }
        let index = store.new_memory(ty)?;
        Ok(Memory {
            store: store.id,
            index,
        })
    }

    fn data_of<'a>(&self, store: &'a StoreOpaque) -> &'a MemoryData {
        assert_eq!(store.id, self.store, "memory used with the wrong store");
        &store.memories[self.index as usize]
    }

    /// The memory's bytes.
    pub fn data<'a, T: 'a>(&self, store: impl Into<StoreContext<'a, T>>) -> &'a [u8] {
        let store = store.into();
        let opaque: &'a StoreOpaque = &store.0.opaque;
        self.data_of(opaque).mem.bytes()
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a, T: 'a>(&self, store: impl Into<StoreContextMut<'a, T>>) -> &'a mut [u8] {
        let store = store.into();
        let opaque: &'a mut StoreOpaque = &mut store.0.opaque;
        assert_eq!(opaque.id, self.store, "memory used with the wrong store");
        opaque.memories[self.index as usize].mem.bytes_mut()
    }

    /// The memory's bytes and the store's host data at once (wasmtime's
    /// `data_and_store_mut`): what a host function needs to move bytes
    /// between guest memory and its own state.
    pub fn data_and_store_mut<'a, T: 'a>(
        &self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let inner = store.into().0;
        assert_eq!(
            inner.opaque.id, self.store,
            "memory used with the wrong store"
        );
        let bytes = inner.opaque.memories[self.index as usize].mem.bytes_mut();
        (bytes, &mut inner.data)
    }

    /// The base address; it never moves for the life of the memory.
    pub fn data_ptr<'a, T: 'a>(&self, store: impl Into<StoreContext<'a, T>>) -> *mut u8 {
        self.data_of(&store.into().0.opaque).mem.base()
    }

    /// Accessible bytes (whatever the page size).
    pub fn data_size<'a, T: 'a>(&self, store: impl Into<StoreContext<'a, T>>) -> usize {
        self.data_of(&store.into().0.opaque).mem.len()
    }

    /// Size in pages of the memory's page size ([`MemoryType::page_size`]).
    pub fn size<'a, T: 'a>(&self, store: impl Into<StoreContext<'a, T>>) -> u64 {
        self.data_of(&store.into().0.opaque).mem.pages()
    }

    /// The memory's type (current size as minimum).
    pub fn ty<'a, T: 'a>(&self, store: impl Into<StoreContext<'a, T>>) -> MemoryType {
        self.data_of(&store.into().0.opaque).current_type()
    }

    /// Grow by `delta` pages of the memory's page size; returns the old
    /// size in pages.
    ///
    /// # Errors
    ///
    /// `Error::ResourceLimit` when the maximum would be exceeded.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64, Error> {
        let store = &mut store.as_context_mut().0.opaque;
        assert_eq!(store.id, self.store, "memory used with the wrong store");
        let page_size = store.memories[self.index as usize].mem.page_size();
        store.grow_memory(self.index, delta).ok_or_else(|| {
            Error::ResourceLimit(
                format!("cannot grow memory by {delta} pages of {page_size} bytes").into(),
            )
        })
    }
}
