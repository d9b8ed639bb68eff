//! The store: owner of every instance, memory, table, global and function
//! created in it, and of the host's data `T`.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::Engine;
use crate::error::Error;
use crate::runtime::global::GlobalData;
use crate::runtime::instance::InstanceData;
use crate::runtime::table::TableData;
use crate::runtime::trap::Trap;
use crate::runtime::vmctx::MemoryData;

pub(crate) use crate::runtime::vmctx::VMStoreContext;

/// What a host function left behind when it made the guest trap.
pub(crate) enum Pending {
    Trap(Trap),
    Panic(Box<dyn Any + Send>),
}

/// What compiled code does when the epoch deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EpochDeadlineAction {
    /// Trap with "interrupt" (the default).
    Trap,
    /// Under an async call, yield to the executor and then move the
    /// deadline this many ticks past the current epoch.
    YieldAndUpdate(u64),
}

/// The part of a store that does not depend on `T`.
pub(crate) struct StoreOpaque {
    pub id: u64,
    pub engine: Engine,
    pub ctx: Box<VMStoreContext>,
    pub instances: Vec<InstanceData>,
    #[expect(clippy::vec_box, reason = "compiled code holds pointers into each box")]
    pub memories: Vec<Box<MemoryData>>,
    #[expect(clippy::vec_box, reason = "compiled code holds pointers into each box")]
    pub tables: Vec<Box<TableData>>,
    #[expect(clippy::vec_box, reason = "compiled code holds pointers into each box")]
    pub globals: Vec<Box<GlobalData>>,
    pub funcs: Vec<crate::runtime::func::FuncData>,
    pub externrefs: Vec<u64>,
    pub pending: Option<Pending>,
    /// What happens at the epoch deadline (`vmctx::epoch_late`).
    pub epoch_action: EpochDeadlineAction,
    /// Tags and exception objects (`exception.rs`).
    pub exn: crate::runtime::exception::ExnState,
    /// GC objects (`gc.rs`).
    pub gc: crate::runtime::gc::GcHeap,
    /// Component instances and tasks (`component/state.rs`).
    pub component: crate::component::state::ComponentStore,
}

impl StoreOpaque {
    /// Accessible bytes of all memories of this store.
    fn memory_bytes(&self) -> u64 {
        self.memories.iter().map(|m| m.mem.len() as u64).sum()
    }

    /// Create a memory, within the store's memory budget.
    pub(crate) fn new_memory(&mut self, ty: crate::types::MemoryType) -> Result<u32, Error> {
        self.new_memory_with(ty, None)
    }

    /// Create a memory holding `image` (its module's initial data).
    pub(crate) fn new_memory_with(
        &mut self,
        ty: crate::types::MemoryType,
        image: Option<&crate::runtime::image::MemoryImage>,
    ) -> Result<u32, Error> {
        let max = self.engine.max_memories();
        if self.memories.len() >= max {
            return Err(Error::ResourceLimit(
                format!("store memory count limit of {max} reached (Config::max_memories)").into(),
            ));
        }
        let budget = self.engine.max_memory_bytes();
        let want = ty.minimum.saturating_mul(ty.page_size());
        let limit = self.engine.max_memory_size();
        if want > limit {
            return Err(Error::ResourceLimit(
                format!("memory minimum of {want} bytes exceeds the limit of {limit} bytes").into(),
            ));
        }
        if self.memory_bytes().saturating_add(want) > budget {
            return Err(Error::ResourceLimit(
                format!("store memory budget of {budget} bytes exceeded").into(),
            ));
        }
        let pool = self.engine.pool();
        self.memories
            .push(MemoryData::new(ty, budget, pool.as_ref(), image)?);
        Ok(self.memories.len() as u32 - 1)
    }

    /// Grow memory `index` by `delta` pages within the store's budget; the
    /// old size in pages, or `None`.
    pub(crate) fn grow_memory(&mut self, index: u32, delta: u64) -> Option<u64> {
        let add = delta.checked_mul(self.memories[index as usize].mem.page_size())?;
        if self.memory_bytes().checked_add(add)? > self.engine.max_memory_bytes() {
            return None;
        }
        let len = self.memories[index as usize].mem.len() as u64;
        if len.checked_add(add)? > self.engine.max_memory_size() {
            return None;
        }
        self.memories[index as usize].grow(delta)
    }

    /// The memory fault a trap at host address `addr` reports: the memory
    /// whose reservation holds `addr` (reservations are disjoint), the wasm
    /// address in it and its current size. `None` when no memory of this
    /// store holds `addr` (as wasmtime, which searches its store the same
    /// way) or wasmtime would have stopped the access at an explicit check.
    pub(crate) fn wasm_fault(&self, addr: usize) -> Option<crate::runtime::trap::WasmFault> {
        self.memories.iter().find_map(|m| {
            let wasm_address = m.mem.fault_address(addr)?;
            Some(crate::runtime::trap::WasmFault {
                memory_size: m.mem.len() as u64,
                wasm_address,
            })
        })
    }

    pub(crate) fn check(&self, store_id: u64) -> Result<(), Error> {
        if store_id == self.id {
            Ok(())
        } else {
            Err(crate::error::LinkError::WrongStore.into())
        }
    }
}

/// `StoreOpaque` first so that a pointer to it is a pointer to the whole.
#[repr(C)]
pub(crate) struct StoreInner<T> {
    pub opaque: StoreOpaque,
    pub data: T,
}

/// A collection of instances and host state; used by one thread at a time.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.opaque.id)
            .finish_non_exhaustive()
    }
}

static NEXT_STORE: AtomicU64 = AtomicU64::new(1);

impl<T> Store<T> {
    /// Bytes of GC objects (structs and arrays) this store has allocated.
    /// There is no collector yet, so this only grows, up to
    /// [`Config::max_gc_heap_bytes`](crate::Config::max_gc_heap_bytes).
    pub fn gc_heap_bytes(&self) -> u64 {
        let opaque = &self.inner.opaque;
        // Compiled code may have bumped the free range since the heap
        // last saw it.
        let (top, end) = opaque.gc.free_range();
        let bumped = if (top..=end).contains(&opaque.ctx.gc_top) {
            opaque.ctx.gc_top - top
        } else {
            0
        };
        opaque.gc.used() + bumped as u64
    }

    /// A store for `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let ctx = Box::new(VMStoreContext {
            epoch_ptr: &*engine.inner.epoch,
            epoch_deadline: u64::MAX,
            stack_limit: 0,
            caller_vmctx: std::ptr::null_mut(),
            gc_top: 0,
            gc_end: 0,
            gc_displays: engine.inner.displays.dir_addr(),
            epoch_trampoline: engine
                .inner
                .epoch_trampoline
                .as_ref()
                .map_or(0, crate::compile::EpochTrampoline::address),
        });
        Store {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    id: NEXT_STORE.fetch_add(1, Ordering::Relaxed),
                    engine: engine.clone(),
                    ctx,
                    instances: Vec::new(),
                    memories: Vec::new(),
                    tables: Vec::new(),
                    globals: Vec::new(),
                    funcs: Vec::new(),
                    externrefs: Vec::new(),
                    pending: None,
                    epoch_action: EpochDeadlineAction::Trap,
                    exn: Default::default(),
                    gc: crate::runtime::gc::GcHeap::new(engine.max_gc_heap_bytes()),
                    component: Default::default(),
                },
                data,
            }),
        }
    }

    /// The host data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Consume the store, returning its data.
    pub fn into_data(self) -> T {
        self.inner.data
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }

    /// Guests trap with "interrupt" once the engine's epoch has advanced
    /// `ticks_beyond_current` times from now. Without a deadline (the
    /// default) guests are never interrupted.
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        let now = self.inner.opaque.engine.current_epoch();
        self.inner.opaque.ctx.epoch_deadline = now.saturating_add(ticks_beyond_current);
    }

    /// At the epoch deadline, guests trap with "interrupt" (the default).
    pub fn epoch_deadline_trap(&mut self) {
        self.inner.opaque.epoch_action = EpochDeadlineAction::Trap;
    }

    /// At the epoch deadline, a guest running under an async call
    /// ([`Func::call_async`](crate::Func::call_async),
    /// [`on_fiber`](crate::on_fiber)) yields to the executor instead of
    /// trapping: its future returns `Pending` once (having woken its task),
    /// and when polled again the guest goes on with the deadline moved
    /// `delta` ticks past the epoch of that moment. This is how a
    /// long-running guest shares its thread fairly. Outside an async call
    /// nothing can yield and the guest traps with "interrupt" as with
    /// [`epoch_deadline_trap`](Store::epoch_deadline_trap).
    ///
    /// Needs [`Config::epoch_interruption`](crate::Config::epoch_interruption);
    /// the first deadline is still the one
    /// [`set_epoch_deadline`](Store::set_epoch_deadline) sets.
    pub fn epoch_deadline_async_yield_and_update(&mut self, delta: u64) {
        self.inner.opaque.epoch_action = EpochDeadlineAction::YieldAndUpdate(delta);
    }
}

/// A shared view of a store (wasmtime's `StoreContext`).
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive view of a store (wasmtime's `StoreContextMut`).
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }
    /// The handle for waiting on futures, when this code runs inside an
    /// async call ([`Func::call_async`](crate::Func::call_async),
    /// [`on_fiber`](crate::on_fiber)); `None` otherwise, where a host
    /// function has to wait by blocking the thread.
    pub fn async_cx(&self) -> Option<crate::AsyncCx> {
        crate::AsyncCx::current()
    }
}

/// Anything that can lend a shared view of a store.
pub trait AsContext {
    /// The store's host data type.
    type Data;
    /// The view.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Anything that can lend an exclusive view of a store.
pub trait AsContextMut: AsContext {
    /// The view.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        (**self).as_context_mut()
    }
}

impl<'a, T: AsContext> From<&'a T> for StoreContext<'a, T::Data> {
    fn from(t: &'a T) -> Self {
        t.as_context()
    }
}

impl<'a, T: AsContext> From<&'a mut T> for StoreContext<'a, T::Data> {
    fn from(t: &'a mut T) -> Self {
        T::as_context(t)
    }
}

impl<'a, T: AsContextMut> From<&'a mut T> for StoreContextMut<'a, T::Data> {
    fn from(t: &'a mut T) -> Self {
        t.as_context_mut()
    }
}
