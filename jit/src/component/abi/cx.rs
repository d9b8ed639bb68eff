//! The lifting and lowering context (the spec's `LiftLowerContext`): the
//! canonical options of one side of a call, resolved to store indices, with
//! the store they live in.

use crate::component::abi::StringEncoding;
use crate::component::resources::{HandleEntry, ResourceType, Slot, unknown_handle, wrong_type};
use crate::component::state::{FrameIndex, TaskId};
use crate::component::types::{ComponentTypes, ResourceIndex};
use crate::error::Error;
use crate::runtime::func::call_raw;
use crate::runtime::store::StoreOpaque;
use crate::runtime::trap::Trap;

/// Canonical options resolved for a live instance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Options {
    /// The component instance (index in the store).
    pub instance: u32,
    /// The (flattened) component instance within it whose code this is.
    pub frame: FrameIndex,
    /// The store index of the `memory` option.
    pub memory: Option<u32>,
    /// The store function index of the `realloc` option.
    pub realloc: Option<u32>,
    /// The store function index of the `post-return` option.
    pub post_return: Option<u32>,
    /// The `string-encoding` option.
    pub encoding: StringEncoding,
}

/// A trap raised by the canonical ABI itself.
pub(crate) fn trap(message: &str) -> Trap {
    Trap::host(message)
}

/// A guest call's error as a trap of the host function that made the call.
pub(crate) fn error_to_trap(e: Error) -> Trap {
    match e {
        Error::Trap(t) => *t,
        Error::Exit(code) => Trap::exit(code),
        other => Trap::host(other.to_string()),
    }
}

/// One side of a call: its options, and the borrow bookkeeping of the call.
pub struct Cx<'a> {
    pub(crate) store: &'a mut StoreOpaque,
    /// The component's types.
    pub types: &'a ComponentTypes,
    pub(crate) opts: Options,
    /// Own handles lent to the callee by `lift_borrow`: (frame, handle).
    pub(crate) lenders: Vec<(FrameIndex, u32)>,
    /// The task that borrow handles made by `lower_borrow` belong to.
    pub(crate) borrow_scope: Option<TaskId>,
}

impl<'a> Cx<'a> {
    /// A context for `opts` in `store`.
    pub(crate) fn new(
        store: &'a mut StoreOpaque,
        types: &'a ComponentTypes,
        opts: Options,
    ) -> Self {
        Cx {
            store,
            types,
            opts,
            lenders: Vec::new(),
            borrow_scope: None,
        }
    }

    /// The memory's bytes.
    ///
    /// # Errors
    ///
    /// A trap when the options name no memory.
    pub fn mem(&self) -> Result<&[u8], Trap> {
        let m = self
            .opts
            .memory
            .ok_or_else(|| trap("canonical ABI operation needs a `memory` option"))?;
        Ok(self.store.memories[m as usize].mem.bytes())
    }

    /// The memory's bytes, mutably.
    ///
    /// # Errors
    ///
    /// A trap when the options name no memory.
    pub fn mem_mut(&mut self) -> Result<&mut [u8], Trap> {
        let m = self
            .opts
            .memory
            .ok_or_else(|| trap("canonical ABI operation needs a `memory` option"))?;
        Ok(self.store.memories[m as usize].mem.bytes_mut())
    }

    /// `len` bytes at `ptr`.
    ///
    /// # Errors
    ///
    /// The trap `what` for out-of-bounds.
    pub fn bytes(&self, ptr: u32, len: u32, what: &str) -> Result<&[u8], Trap> {
        let mem = self.mem()?;
        mem.get(ptr as usize..(ptr as usize).saturating_add(len as usize))
            .ok_or_else(|| trap(what))
    }

    /// `len` bytes at `ptr`, mutably.
    ///
    /// # Errors
    ///
    /// The trap `what` for out-of-bounds.
    pub fn bytes_mut(&mut self, ptr: u32, len: u32, what: &str) -> Result<&mut [u8], Trap> {
        let mem = self.mem_mut()?;
        mem.get_mut(ptr as usize..(ptr as usize).saturating_add(len as usize))
            .ok_or_else(|| trap(what))
    }

    /// The spec's `reallocate`: calls the guest's `realloc` with
    /// `may_leave` cleared.
    ///
    /// # Errors
    ///
    /// A trap when there is no `realloc` or it traps.
    pub fn reallocate(
        &mut self,
        old: u32,
        old_len: u32,
        align: u32,
        new_len: u32,
    ) -> Result<u32, Trap> {
        let f = self
            .opts
            .realloc
            .ok_or_else(|| trap("canonical ABI operation needs a `realloc` option"))?;
        let frame = self.opts.frame;
        let inst = self.opts.instance;
        self.store.component.frame_mut(inst, frame).may_leave = false;
        let mut values = [
            u128::from(old),
            u128::from(old_len),
            u128::from(align),
            u128::from(new_len),
        ];
        let store: *mut StoreOpaque = &mut *self.store;
        let r = call_raw(store, f, &mut values);
        self.store.component.frame_mut(inst, frame).may_leave = true;
        r.map_err(error_to_trap)?;
        Ok(values[0] as u32)
    }

    /// The spec's `allocate`.
    ///
    /// # Errors
    ///
    /// As [`Cx::reallocate`].
    pub fn allocate(&mut self, align: u32, len: u32) -> Result<u32, Trap> {
        self.reallocate(0, 0, align, len)
    }

    /// The runtime type of resource `r` in this instance.
    pub fn resource_type(&self, r: ResourceIndex) -> ResourceType {
        self.store.component.instances[self.opts.instance as usize].resources[r.0 as usize].ty
    }

    /// The spec's `lift_own`: remove an own handle from the table.
    ///
    /// # Errors
    ///
    /// The spec's traps: unknown index, wrong type, lent, not owned.
    pub fn lift_own(&mut self, i: u32, r: ResourceIndex) -> Result<u32, Trap> {
        let ty = self.resource_type(r);
        let frame = self
            .store
            .component
            .frame_mut(self.opts.instance, self.opts.frame);
        match frame.handles.get(i) {
            Some(Slot::Resource(h)) => {
                if h.ty != ty {
                    return Err(wrong_type(i, ty, h.ty));
                }
                if h.num_lends != 0 {
                    return Err(trap("cannot remove owned resource while borrowed"));
                }
                if !h.own {
                    return Err(trap("expected an owned handle, found a borrow"));
                }
            }
            None => return Err(unknown_handle(i)),
        }
        match frame.handles.remove(i) {
            Some(Slot::Resource(h)) => Ok(h.rep),
            None => Err(unknown_handle(i)),
        }
    }

    /// The spec's `lift_borrow`: read a handle and lend it for the call.
    ///
    /// # Errors
    ///
    /// The spec's traps: unknown index, wrong type.
    pub fn lift_borrow(&mut self, i: u32, r: ResourceIndex) -> Result<u32, Trap> {
        let ty = self.resource_type(r);
        let fi = self.opts.frame;
        let frame = self.store.component.frame_mut(self.opts.instance, fi);
        match frame.handles.get_mut(i) {
            Some(Slot::Resource(h)) => {
                if h.ty != ty {
                    return Err(wrong_type(i, ty, h.ty));
                }
                let rep = h.rep;
                if h.own {
                    h.num_lends += 1;
                    self.lenders.push((fi, i));
                }
                Ok(rep)
            }
            None => Err(unknown_handle(i)),
        }
    }

    /// Give back every handle `lift_borrow` lent (the end of the call).
    pub fn release_lenders(&mut self) {
        let inst = self.opts.instance;
        for (fi, i) in std::mem::take(&mut self.lenders) {
            if let Some(Slot::Resource(h)) =
                self.store.component.frame_mut(inst, fi).handles.get_mut(i)
            {
                h.num_lends = h.num_lends.saturating_sub(1);
            }
        }
    }

    /// The spec's `lower_own`.
    ///
    /// # Errors
    ///
    /// A trap when the handle table is full.
    pub fn lower_own(&mut self, rep: u32, r: ResourceIndex) -> Result<u32, Trap> {
        let ty = self.resource_type(r);
        self.add_handle(HandleEntry {
            ty,
            rep,
            own: true,
            borrow_scope: None,
            num_lends: 0,
        })
    }

    /// The spec's `lower_borrow`: the defining instance gets the `rep`
    /// itself, every other one a borrow handle that the current task must
    /// drop before it returns.
    ///
    /// # Errors
    ///
    /// A trap when the handle table is full.
    pub fn lower_borrow(&mut self, rep: u32, r: ResourceIndex) -> Result<u32, Trap> {
        let inst = self.opts.instance;
        let res = &self.store.component.instances[inst as usize].resources[r.0 as usize];
        if res.implementer == Some(self.opts.frame) {
            return Ok(rep);
        }
        let ty = res.ty;
        let scope = self.borrow_scope;
        if let Some(task) = scope {
            self.store.component.task_mut(task).num_borrows += 1;
        }
        self.add_handle(HandleEntry {
            ty,
            rep,
            own: false,
            borrow_scope: scope,
            num_lends: 0,
        })
    }

    fn add_handle(&mut self, h: HandleEntry) -> Result<u32, Trap> {
        self.store
            .component
            .frame_mut(self.opts.instance, self.opts.frame)
            .handles
            .add(Slot::Resource(h))
            .ok_or_else(|| trap("handle table full"))
    }
}
