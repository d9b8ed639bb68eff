//! Resources: runtime resource types, the per-instance handle table of the
//! canonical ABI (`Table`, `ResourceHandle`), and the host's side —
//! [`Resource<T>`] handles and the [`ResourceTable`] that maps them to host
//! state — shaped as wasmtime's.

use std::any::{Any, TypeId};
use std::marker::PhantomData;

/// The identity of a resource type at run time. Two handles have the same
/// type exactly when their `ResourceType`s are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceType(pub(crate) ResourceKind);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ResourceKind {
    /// Defined by the host for the Rust type with this id.
    Host(TypeId),
    /// Defined by the host with a number of its choosing.
    HostDynamic(u32),
    /// Defined by a component instance: store id, component instance
    /// index in the store, and the plan's defined-resource index.
    Guest {
        store: u64,
        instance: u32,
        index: u32,
    },
}

impl ResourceType {
    /// The resource type the host defines for `T` (as wasmtime's
    /// `ResourceType::host::<T>()`).
    pub fn host<T: 'static>() -> ResourceType {
        ResourceType(ResourceKind::Host(TypeId::of::<T>()))
    }

    /// A host resource type told apart by a number instead of a Rust type.
    pub fn host_dynamic(n: u32) -> ResourceType {
        ResourceType(ResourceKind::HostDynamic(n))
    }

    /// Whether a component instance defined this type.
    pub fn is_guest(&self) -> bool {
        matches!(self.0, ResourceKind::Guest { .. })
    }
}

/// A resource handle of any type, as the dynamic API sees it: the type,
/// the representation (`rep`) the defining side chose, and whether it is
/// owned or borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceAny {
    pub(crate) ty: ResourceType,
    pub(crate) rep: u32,
    pub(crate) own: bool,
}

impl ResourceAny {
    /// An owned handle of a host resource (for example one made by
    /// [`Resource::new_own`]).
    pub fn new_own(ty: ResourceType, rep: u32) -> ResourceAny {
        ResourceAny { ty, rep, own: true }
    }

    /// A borrowed handle of a host resource.
    pub fn new_borrow(ty: ResourceType, rep: u32) -> ResourceAny {
        ResourceAny {
            ty,
            rep,
            own: false,
        }
    }

    /// The resource's type.
    pub fn ty(&self) -> ResourceType {
        self.ty
    }

    /// Whether this handle owns the resource.
    pub fn owned(&self) -> bool {
        self.own
    }

    /// The representation chosen by the side that defines the type.
    pub fn rep(&self) -> u32 {
        self.rep
    }

    /// The typed host handle, when this is a handle to a host resource of
    /// type `T`.
    pub fn try_into_resource<T: 'static>(self) -> Option<Resource<T>> {
        (self.ty == ResourceType::host::<T>()).then_some(Resource {
            rep: self.rep,
            own: self.own,
            _marker: PhantomData,
        })
    }
}

/// A handle to a host resource of type `T`: `rep` is the host's key, usually
/// an index into a [`ResourceTable`].
pub struct Resource<T> {
    rep: u32,
    own: bool,
    _marker: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Resource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("rep", &self.rep)
            .field("own", &self.own)
            .finish()
    }
}

impl<T: 'static> Resource<T> {
    /// An owned handle with representation `rep`.
    pub fn new_own(rep: u32) -> Self {
        Resource {
            rep,
            own: true,
            _marker: PhantomData,
        }
    }

    /// A borrowed handle with representation `rep`.
    pub fn new_borrow(rep: u32) -> Self {
        Resource {
            rep,
            own: false,
            _marker: PhantomData,
        }
    }

    /// The representation.
    pub fn rep(&self) -> u32 {
        self.rep
    }

    /// Whether the handle owns the resource.
    pub fn owned(&self) -> bool {
        self.own
    }

    /// The untyped handle.
    pub fn into_any(self) -> ResourceAny {
        ResourceAny {
            ty: ResourceType::host::<T>(),
            rep: self.rep,
            own: self.own,
        }
    }
}

/// Errors of a [`ResourceTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceTableError {
    /// No entry at that index.
    #[error("resource not present")]
    NotPresent,
    /// The entry holds another type.
    #[error("resource has another type")]
    WrongType,
    /// The table is full.
    #[error("resource table has no more room")]
    Full,
    /// The entry still has children and cannot be deleted.
    #[error("resource has children")]
    HasChildren,
}

struct TableEntry {
    value: Box<dyn Any>,
    parent: Option<u32>,
    children: u32,
}

/// The host's table of resources: each entry is a value of some Rust type,
/// keyed by the `rep` of the [`Resource<T>`] that names it. An entry may
/// have a parent (a stream of a file, say), which it keeps from being
/// deleted first.
#[derive(Default)]
pub struct ResourceTable {
    entries: Vec<Option<TableEntry>>,
    free: Vec<u32>,
}

impl std::fmt::Debug for ResourceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceTable")
            .field("live", &(self.entries.len() - self.free.len()))
            .finish()
    }
}

/// Entries a [`ResourceTable`] holds at most.
const RESOURCE_TABLE_MAX: usize = 1 << 28;

impl ResourceTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, entry: TableEntry) -> Result<u32, ResourceTableError> {
        if let Some(i) = self.free.pop() {
            self.entries[i as usize] = Some(entry);
            return Ok(i);
        }
        if self.entries.len() >= RESOURCE_TABLE_MAX {
            return Err(ResourceTableError::Full);
        }
        self.entries.push(Some(entry));
        Ok(self.entries.len() as u32 - 1)
    }

    /// Adds `value` and returns an owned handle to it.
    ///
    /// # Errors
    ///
    /// [`ResourceTableError::Full`].
    pub fn push<T: 'static>(&mut self, value: T) -> Result<Resource<T>, ResourceTableError> {
        let rep = self.insert(TableEntry {
            value: Box::new(value),
            parent: None,
            children: 0,
        })?;
        Ok(Resource::new_own(rep))
    }

    /// Adds `value` as a child of `parent`, which then cannot be deleted
    /// before it.
    ///
    /// # Errors
    ///
    /// [`ResourceTableError::NotPresent`] for a missing parent, or `Full`.
    pub fn push_child<T: 'static, U: 'static>(
        &mut self,
        value: T,
        parent: &Resource<U>,
    ) -> Result<Resource<T>, ResourceTableError> {
        let p = parent.rep();
        self.entry_mut(p)?.children += 1;
        let rep = self.insert(TableEntry {
            value: Box::new(value),
            parent: Some(p),
            children: 0,
        });
        if rep.is_err() {
            self.entry_mut(p)?.children -= 1;
        }
        Ok(Resource::new_own(rep?))
    }

    fn entry_mut(&mut self, rep: u32) -> Result<&mut TableEntry, ResourceTableError> {
        self.entries
            .get_mut(rep as usize)
            .and_then(Option::as_mut)
            .ok_or(ResourceTableError::NotPresent)
    }

    /// The value a handle names.
    ///
    /// # Errors
    ///
    /// `NotPresent` or `WrongType`.
    pub fn get<T: 'static>(&self, r: &Resource<T>) -> Result<&T, ResourceTableError> {
        self.entries
            .get(r.rep() as usize)
            .and_then(Option::as_ref)
            .ok_or(ResourceTableError::NotPresent)?
            .value
            .downcast_ref()
            .ok_or(ResourceTableError::WrongType)
    }

    /// The value a handle names, mutably.
    ///
    /// # Errors
    ///
    /// `NotPresent` or `WrongType`.
    pub fn get_mut<T: 'static>(&mut self, r: &Resource<T>) -> Result<&mut T, ResourceTableError> {
        self.entry_mut(r.rep())?
            .value
            .downcast_mut()
            .ok_or(ResourceTableError::WrongType)
    }

    /// Removes the value a handle names and returns it.
    ///
    /// # Errors
    ///
    /// `NotPresent`, `WrongType` (nothing removed) or `HasChildren`.
    pub fn delete<T: 'static>(&mut self, r: Resource<T>) -> Result<T, ResourceTableError> {
        let rep = r.rep();
        let entry = self.entry_mut(rep)?;
        if !entry.value.is::<T>() {
            return Err(ResourceTableError::WrongType);
        }
        if entry.children > 0 {
            return Err(ResourceTableError::HasChildren);
        }
        let entry = self.entries[rep as usize]
            .take()
            .ok_or(ResourceTableError::NotPresent)?;
        self.free.push(rep);
        if let Some(p) = entry.parent
            && let Ok(parent) = self.entry_mut(p)
        {
            parent.children -= 1;
        }
        entry
            .value
            .downcast()
            .map(|b| *b)
            .map_err(|_| ResourceTableError::WrongType)
    }

    /// Whether `rep` names a live entry.
    pub fn contains(&self, rep: u32) -> bool {
        self.entries.get(rep as usize).is_some_and(Option::is_some)
    }

    /// The number of live entries.
    pub fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The trap for handle `i` of type `found` used as a `expected`, in
/// wasmtime's words.
pub(crate) fn wrong_type(
    i: u32,
    expected: ResourceType,
    found: ResourceType,
) -> crate::runtime::trap::Trap {
    let kind = |t: ResourceType| {
        if t.is_guest() {
            "guest-defined resource"
        } else {
            "host-defined resource"
        }
    };
    let found_desc = if expected.is_guest() == found.is_guest() {
        format!("a different {}", kind(found))
    } else {
        kind(found).to_string()
    };
    crate::runtime::trap::Trap::host(format!(
        "handle index {i} used with the wrong type, expected {} but found {found_desc}",
        kind(expected)
    ))
}

/// The trap for an index that names no handle.
pub(crate) fn unknown_handle(i: u32) -> crate::runtime::trap::Trap {
    crate::runtime::trap::Trap::host(format!("unknown handle index {i}"))
}

/// One resource handle in a component instance's table (the spec's
/// `ResourceHandle`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HandleEntry {
    pub ty: ResourceType,
    pub rep: u32,
    pub own: bool,
    /// The task that lent this borrow (borrow handles only).
    pub borrow_scope: Option<u32>,
    /// How many calls hold a borrow of this own handle right now.
    pub num_lends: u32,
}

/// What a component instance's table holds.
#[derive(Debug)]
pub(crate) enum Slot {
    Resource(HandleEntry),
}

/// A component instance's handle table (the spec's `Table`): index 0 is
/// never used, freed indices are reused last-in first-out.
#[derive(Debug)]
pub(crate) struct HandleTable {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
}

impl Default for HandleTable {
    fn default() -> Self {
        HandleTable {
            slots: vec![None],
            free: Vec::new(),
        }
    }
}

/// The spec's `Table.MAX_LENGTH`.
pub(crate) const HANDLE_TABLE_MAX: usize = (1 << 28) - 1;

impl HandleTable {
    /// `Table.add`: `None` when the table is full.
    pub fn add(&mut self, slot: Slot) -> Option<u32> {
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = Some(slot);
            return Some(i);
        }
        let i = self.slots.len();
        if i > HANDLE_TABLE_MAX {
            return None;
        }
        self.slots.push(Some(slot));
        Some(i as u32)
    }

    /// `Table.get`.
    pub fn get(&self, i: u32) -> Option<&Slot> {
        self.slots.get(i as usize).and_then(Option::as_ref)
    }

    /// `Table.get`, mutably.
    pub fn get_mut(&mut self, i: u32) -> Option<&mut Slot> {
        self.slots.get_mut(i as usize).and_then(Option::as_mut)
    }

    /// `Table.remove`.
    pub fn remove(&mut self, i: u32) -> Option<Slot> {
        let slot = self.slots.get_mut(i as usize)?.take()?;
        self.free.push(i);
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_table_skips_zero_and_reuses_lifo() {
        let mut t = HandleTable::default();
        let e = |rep| {
            Slot::Resource(HandleEntry {
                ty: ResourceType::host_dynamic(1),
                rep,
                own: true,
                borrow_scope: None,
                num_lends: 0,
            })
        };
        assert_eq!(t.add(e(10)), Some(1));
        assert_eq!(t.add(e(11)), Some(2));
        assert_eq!(t.add(e(12)), Some(3));
        assert!(t.remove(1).is_some());
        assert!(t.remove(3).is_some());
        assert!(t.remove(3).is_none());
        assert!(t.get(0).is_none());
        assert_eq!(t.add(e(13)), Some(3));
        assert_eq!(t.add(e(14)), Some(1));
    }

    #[test]
    fn resource_table_parents_outlive_children() {
        let mut t = ResourceTable::new();
        let p = t.push(5u32).expect("room");
        let c = t.push_child("child", &p).expect("room");
        let p2 = Resource::<u32>::new_own(p.rep());
        assert_eq!(t.delete(p2), Err(ResourceTableError::HasChildren));
        assert_eq!(t.delete(c), Ok("child"));
        assert_eq!(t.delete(p), Ok(5));
        assert!(t.is_empty());
    }

    #[test]
    fn resource_table_checks_types() {
        let mut t = ResourceTable::new();
        let r = t.push(1u8).expect("room");
        let wrong = Resource::<u16>::new_own(r.rep());
        assert_eq!(t.get(&wrong), Err(ResourceTableError::WrongType));
        assert_eq!(t.delete(wrong), Err(ResourceTableError::WrongType));
        assert_eq!(t.get(&r), Ok(&1));
    }
}
