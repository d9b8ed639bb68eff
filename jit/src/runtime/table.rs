//! Tables of references. Elements are pointer-sized: a funcref is a
//! `*const VMFuncRef`, an externref `(store index << 2) | 2` (or an
//! externalised GC value), an anyref a GC word (see `gc.rs`); 0 is null.

use crate::error::Error;
use crate::runtime::store::{AsContext, AsContextMut, StoreOpaque};
use crate::runtime::values::Val;
use crate::types::TableType;

/// Largest number of elements a table may grow to.
const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

pub(crate) use crate::runtime::vmctx::VMTableDefinition;

/// A table of a store.
pub(crate) struct TableData {
    pub elements: Vec<usize>,
    pub def: VMTableDefinition,
    pub ty: TableType,
    /// The most elements it may grow to.
    cap: u64,
    /// Its place in the engine's pool, if it has one.
    _lease: Option<crate::runtime::pool::Lease>,
}

impl TableData {
    pub(crate) fn new(ty: TableType, init: usize) -> Result<Box<Self>, Error> {
        if ty.minimum > MAX_TABLE_ELEMENTS {
            return Err(Error::ResourceLimit(
                format!("table of {} elements", ty.minimum).into(),
            ));
        }
        let mut t = Box::new(TableData {
            elements: vec![init; ty.minimum as usize],
            def: VMTableDefinition {
                base: std::ptr::null_mut(),
                current_elements: 0,
            },
            ty,
            cap: MAX_TABLE_ELEMENTS,
            _lease: None,
        });
        t.sync();
        Ok(t)
    }

    /// Count the table in the engine's pool, whose tables hold at most
    /// `cap` elements.
    pub(crate) fn pool(&mut self, lease: crate::runtime::pool::Lease, cap: u64) {
        self._lease = Some(lease);
        self.cap = self.cap.min(cap);
    }

    fn sync(&mut self) {
        self.def.base = self.elements.as_mut_ptr();
        self.def.current_elements = self.elements.len() as u64;
    }

    /// Grow by `delta`; the old size or `None`.
    pub(crate) fn grow(&mut self, delta: u32, init: usize) -> Option<u32> {
        let old = self.elements.len() as u64;
        let new = old + u64::from(delta);
        let max = self.ty.maximum.unwrap_or(u64::from(u32::MAX)).min(self.cap);
        if new > max {
            return None;
        }
        self.elements.resize(new as usize, init);
        self.sync();
        Some(old as u32)
    }

    pub(crate) fn fill(&mut self, dst: u32, val: usize, len: u32) -> bool {
        let (dst, len) = (dst as usize, len as usize);
        match self.elements.get_mut(dst..dst + len) {
            Some(s) => {
                s.fill(val);
                true
            }
            None => false,
        }
    }

    pub(crate) fn current_type(&self) -> TableType {
        TableType {
            minimum: self.elements.len() as u64,
            ..self.ty
        }
    }
}

/// A table handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Table {
    /// A new table with every element set to `init`.
    ///
    /// # Errors
    ///
    /// `Error::Type` when `init` does not match the element type,
    /// `Error::ResourceLimit` when the table is too large.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table, Error> {
        let store = &mut store.as_context_mut().0.opaque;
        let raw = init.to_raw_ref(store, ty.element)?;
        let data = TableData::new(ty, raw)?;
        store.tables.push(data);
        Ok(Table {
            store: store.id,
            index: store.tables.len() as u32 - 1,
        })
    }

    fn data<'a>(&self, store: &'a StoreOpaque) -> &'a TableData {
        assert_eq!(store.id, self.store, "table used with the wrong store");
        &store.tables[self.index as usize]
    }

    /// The table's type (current size as minimum).
    pub fn ty(&self, store: impl AsContext) -> TableType {
        self.data(&store.as_context().0.opaque).current_type()
    }

    /// Number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.data(&store.as_context().0.opaque).elements.len() as u64
    }

    /// Element `index`, or `None` when out of bounds.
    pub fn get(&self, store: impl AsContext, index: u64) -> Option<Val> {
        let store = &store.as_context().0.opaque;
        let t = self.data(store);
        let raw = *t.elements.get(usize::try_from(index).ok()?)?;
        Some(Val::from_raw_ref(store, t.ty.element, raw))
    }

    /// Set element `index`.
    ///
    /// # Errors
    ///
    /// `Error::Trap` (out of bounds table access) or `Error::Type`.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, val: Val) -> Result<(), Error> {
        let store = &mut store.as_context_mut().0.opaque;
        let ty = self.data(store).ty.element;
        let raw = val.to_raw_ref(store, ty)?;
        let t = &mut store.tables[self.index as usize];
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| t.elements.get_mut(i))
            .ok_or_else(|| {
                crate::runtime::trap::Trap::new(crate::runtime::trap::TrapCode::TableOutOfBounds)
            })?;
        *slot = raw;
        Ok(())
    }

    /// Grow by `delta` elements set to `init`; returns the old size.
    ///
    /// # Errors
    ///
    /// `Error::ResourceLimit` when the maximum would be exceeded.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64, Error> {
        let store = &mut store.as_context_mut().0.opaque;
        let ty = self.data(store).ty.element;
        let raw = init.to_raw_ref(store, ty)?;
        let delta =
            u32::try_from(delta).map_err(|_| Error::ResourceLimit("table growth".into()))?;
        store.tables[self.index as usize]
            .grow(delta, raw)
            .map(u64::from)
            .ok_or_else(|| Error::ResourceLimit("table cannot grow that far".into()))
    }
}
