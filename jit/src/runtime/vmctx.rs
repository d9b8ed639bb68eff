//! The VMContext block of each instance, memory definitions, and the
//! builtin functions compiled code calls through the VMContext.

use std::alloc::Layout;

use crate::compile::env::{VMCTX_MAGIC, VMFuncRef, VMOffsets};
use crate::error::Error;
use crate::runtime::memory::{LinearMemory, VMMemoryDefinition};
use crate::runtime::store::{EpochDeadlineAction, StoreOpaque};
use crate::types::MemoryType;

/// Per-store state compiled code reads through every instance's VMContext.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct VMStoreContext {
    /// The engine's epoch counter.
    pub epoch_ptr: *const std::sync::atomic::AtomicU64,
    /// Trap with "interrupt" once the epoch reaches this.
    pub epoch_deadline: u64,
    /// Lowest stack address guest code may use.
    pub stack_limit: usize,
    /// The vmctx of the last wasm function that called out.
    pub caller_vmctx: *mut u8,
    /// Next free byte of the GC heap's current chunk (`gc.rs`).
    pub gc_top: usize,
    /// End of that chunk.
    pub gc_end: usize,
    /// The engine's supertype display directory (`gc::SupertypeDisplays`).
    pub gc_displays: usize,
    /// The engine's `compile::EpochTrampoline`, 0 without epoch
    /// interruption.
    pub epoch_trampoline: usize,
}

// SAFETY: the pointers refer to the engine's epoch (shared, atomic) and to
// a vmctx of the same store; the store moves between threads as a whole.
unsafe impl Send for VMStoreContext {}

/// What compiled code reads of a table.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct VMTableDefinition {
    pub base: *mut usize,
    pub current_elements: u64,
}

// SAFETY: `base` points into the owning `TableData`'s vector, which moves
// with it.
unsafe impl Send for VMTableDefinition {}

/// A memory of a store with the definition compiled code reads.
pub(crate) struct MemoryData {
    pub mem: LinearMemory,
    pub def: VMMemoryDefinition,
    pub ty: MemoryType,
}

impl MemoryData {
    /// A memory of type `ty` whose store may hold `max_bytes` in all: in
    /// a slot of `pool`, or in a reservation of its own. `image`, if any,
    /// is mapped over its first pages (`image.rs`).
    pub(crate) fn new(
        ty: MemoryType,
        max_bytes: u64,
        pool: Option<&std::sync::Arc<crate::runtime::pool::InstancePool>>,
        image: Option<&crate::runtime::image::MemoryImage>,
    ) -> Result<Box<Self>, Error> {
        let max_pages = ty
            .maximum
            .unwrap_or(u64::MAX)
            .min(max_bytes / ty.page_size());
        let mem = match pool {
            Some(pool) => {
                let len = ty.minimum.saturating_mul(ty.page_size());
                let slot = pool.take_memory(len, image)?;
                LinearMemory::in_slot(
                    slot,
                    ty.minimum,
                    max_pages,
                    ty.page_size(),
                    pool.config().memory_bytes_limit(),
                )
            }
            None => {
                let mut mem =
                    LinearMemory::new(ty.minimum, max_pages, ty.memory64, ty.page_size())?;
                if let Some(image) = image {
                    mem.map_image(image)?;
                }
                mem
            }
        };
        let mut data = Box::new(MemoryData {
            def: VMMemoryDefinition {
                base: mem.base(),
                current_length: mem.len(),
            },
            mem,
            ty,
        });
        data.def.current_length = data.mem.len();
        Ok(data)
    }

    /// Grow by `delta` pages; the old size in pages, or `None`.
    pub(crate) fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.mem.grow(delta)?;
        self.def.current_length = self.mem.len();
        Some(old)
    }

    /// The current type, with the current size as minimum.
    pub(crate) fn current_type(&self) -> MemoryType {
        MemoryType {
            minimum: self.mem.pages(),
            ..self.ty
        }
    }
}

/// One instance's VMContext allocation.
pub(crate) struct VMContext {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: the block is plain data owned by this value; the store that owns
// it is used by one thread at a time.
unsafe impl Send for VMContext {}

impl Drop for VMContext {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) };
    }
}

impl VMContext {
    /// A zeroed block with the header filled in.
    pub(crate) fn new(
        offsets: &VMOffsets,
        store: *mut StoreOpaque,
        store_ctx: *mut u8,
        instance_index: u32,
    ) -> Result<Self, Error> {
        let layout = Layout::from_size_align(offsets.size().max(32) as usize, 16)
            .map_err(|_| Error::ResourceLimit("VMContext too large".into()))?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(Error::ResourceLimit("out of memory for a VMContext".into()));
        }
        let mut vmctx = VMContext { ptr, layout };
        vmctx.write_u32(VMOffsets::MAGIC, VMCTX_MAGIC);
        vmctx.write_u32(VMOffsets::INSTANCE_INDEX, instance_index);
        vmctx.write_ptr(VMOffsets::STORE, store as usize);
        vmctx.write_ptr(VMOffsets::STORE_CTX, store_ctx as usize);
        vmctx.write_ptr(
            VMOffsets::BUILTINS,
            &BUILTINS as *const BuiltinTable as usize,
        );
        vmctx.write_ptr(
            offsets.exn_builtins(),
            &crate::runtime::exception::EXN_BUILTINS
                as *const crate::runtime::exception::ExnBuiltins as usize,
        );
        Ok(vmctx)
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    fn check(&self, offset: u32, size: usize) {
        assert!(
            offset as usize + size <= self.layout.size()
                && (offset as usize).is_multiple_of(size.min(8)),
            "VMContext write at {offset} out of its layout"
        );
    }

    fn write_u32(&mut self, offset: u32, value: u32) {
        self.check(offset, 4);
        // SAFETY: in bounds and aligned (checked above).
        unsafe {
            self.ptr
                .wrapping_add(offset as usize)
                .cast::<u32>()
                .write(value)
        };
    }

    /// Write a pointer-sized field.
    pub(crate) fn write_ptr(&mut self, offset: u32, value: usize) {
        self.check(offset, 8);
        // SAFETY: in bounds and aligned (checked above).
        unsafe {
            self.ptr
                .wrapping_add(offset as usize)
                .cast::<usize>()
                .write(value)
        };
    }

    /// Write an inline funcref.
    pub(crate) fn write_funcref(&mut self, offset: u32, value: VMFuncRef) {
        self.check(offset, size_of::<VMFuncRef>());
        // SAFETY: in bounds and 16-aligned (checked above).
        unsafe {
            self.ptr
                .wrapping_add(offset as usize)
                .cast::<VMFuncRef>()
                .write(value)
        };
    }

    /// Address of an inline funcref.
    pub(crate) fn funcref_ptr(&self, offset: u32) -> *const VMFuncRef {
        self.ptr.wrapping_add(offset as usize).cast()
    }
}

/// The instance index stored in a vmctx, if the pointer is an instance's.
///
/// # Safety
///
/// `vmctx` is null or points to a live instance VMContext or host context
/// (whose first `u32` is never the magic).
pub(crate) unsafe fn instance_index_of(vmctx: *const u8) -> Option<u32> {
    if vmctx.is_null() {
        return None;
    }
    // SAFETY: per the contract the first 8 bytes are readable.
    let magic = unsafe { vmctx.cast::<u32>().read() };
    // SAFETY: as above.
    let index = unsafe { vmctx.wrapping_add(4).cast::<u32>().read() };
    (magic == VMCTX_MAGIC).then_some(index)
}

/// The builtin table; field order is `func_env::Builtin`'s.
#[repr(C)]
struct BuiltinTable {
    memory_grow: unsafe extern "C" fn(*mut u8, u32, u64) -> u64,
    memory_fill: unsafe extern "C" fn(*mut u8, u32, u64, u32, u64) -> u32,
    memory_copy: unsafe extern "C" fn(*mut u8, u32, u32, u64, u64, u64) -> u32,
    memory_init: unsafe extern "C" fn(*mut u8, u32, u32, u64, u32, u32) -> u32,
    data_drop: unsafe extern "C" fn(*mut u8, u32) -> u32,
    table_grow: unsafe extern "C" fn(*mut u8, u32, usize, u32) -> u32,
    table_fill: unsafe extern "C" fn(*mut u8, u32, u32, usize, u32) -> u32,
    table_copy: unsafe extern "C" fn(*mut u8, u32, u32, u32, u32, u32) -> u32,
    table_init: unsafe extern "C" fn(*mut u8, u32, u32, u32, u32, u32) -> u32,
    elem_drop: unsafe extern "C" fn(*mut u8, u32) -> u32,
    memory_atomic_wait32: unsafe extern "C" fn(*mut u8, *const u8, u32, i64) -> u32,
    memory_atomic_wait64: unsafe extern "C" fn(*mut u8, *const u8, u64, i64) -> u32,
    gc_alloc: unsafe extern "C" fn(*mut u8, u32, u32, u64, u32) -> usize,
    gc_is_subtype: unsafe extern "C" fn(*mut u8, u32, u32) -> u32,
    gc_array_init_data: unsafe extern "C" fn(*mut u8, usize, u32, u32, u64) -> u32,
    gc_array_init_elem: unsafe extern "C" fn(*mut u8, usize, u32, u32, u32) -> u32,
}

const _: () = assert!(
    size_of::<BuiltinTable>() == crate::compile::func_env::NUM_BUILTINS * 8,
    "one slot per builtin"
);

static BUILTINS: BuiltinTable = BuiltinTable {
    memory_grow,
    memory_fill,
    memory_copy,
    memory_init,
    data_drop,
    table_grow,
    table_fill,
    table_copy,
    table_init,
    elem_drop,
    memory_atomic_wait32,
    memory_atomic_wait64,
    gc_alloc,
    gc_is_subtype,
    gc_array_init_data,
    gc_array_init_elem,
};

/// The store and instance behind a vmctx.
///
/// # Safety
///
/// `vmctx` is the VMContext of a live instance whose store is not borrowed
/// elsewhere for the duration of the returned borrow (true while compiled
/// code runs: the host's borrow is parked in the call).
unsafe fn store_of<'a>(vmctx: *mut u8) -> (&'a mut StoreOpaque, usize) {
    // SAFETY: header field written in `VMContext::new`.
    let store = unsafe {
        vmctx
            .wrapping_add(VMOffsets::STORE as usize)
            .cast::<*mut StoreOpaque>()
            .read()
    };
    // SAFETY: header field written in `VMContext::new`.
    let index = unsafe {
        vmctx
            .wrapping_add(VMOffsets::INSTANCE_INDEX as usize)
            .cast::<u32>()
            .read()
    };
    // SAFETY: the store outlives its instances; exclusivity per contract.
    (unsafe { &mut *store }, index as usize)
}

fn status(ok: bool) -> u32 {
    u32::from(!ok)
}

/// `memory.grow`: the old size in pages, or `u64::MAX` (which compiled code
/// truncates to the 32-bit -1 for a 32-bit memory). Addresses and lengths
/// of the memory builtins are 64-bit; compiled code zero-extends a 32-bit
/// memory's operands.
unsafe extern "C" fn memory_grow(vmctx: *mut u8, mem: u32, delta: u64) -> u64 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    let m = store.instances[inst].memories[mem as usize];
    store.grow_memory(m, delta).unwrap_or(u64::MAX)
}

unsafe extern "C" fn memory_fill(vmctx: *mut u8, mem: u32, dst: u64, val: u32, len: u64) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    status(store.memory_fill(inst, mem, dst, val as u8, len))
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut u8,
    dm: u32,
    sm: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    status(store.memory_copy(inst, dm, sm, dst, src, len))
}

unsafe extern "C" fn memory_init(
    vmctx: *mut u8,
    mem: u32,
    seg: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    status(store.memory_init(inst, mem, seg, dst, src, len))
}

unsafe extern "C" fn data_drop(vmctx: *mut u8, seg: u32) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    store.instances[inst].dropped_data[seg as usize] = true;
    0
}

unsafe extern "C" fn table_grow(vmctx: *mut u8, table: u32, init: usize, delta: u32) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    let t = store.instances[inst].tables[table as usize];
    store.tables[t as usize]
        .grow(delta, init)
        .unwrap_or(u32::MAX)
}

unsafe extern "C" fn table_fill(vmctx: *mut u8, table: u32, dst: u32, val: usize, len: u32) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    let t = store.instances[inst].tables[table as usize];
    status(store.tables[t as usize].fill(dst, val, len))
}

unsafe extern "C" fn table_copy(
    vmctx: *mut u8,
    dt: u32,
    st: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    status(store.table_copy(inst, dt, st, dst, src, len))
}

unsafe extern "C" fn table_init(
    vmctx: *mut u8,
    table: u32,
    seg: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    status(store.table_init(inst, table, seg, dst, src, len))
}

/// `gc_alloc`: a new GC object (header written, fields zero), or 0 when
/// the store's GC heap limit is reached.
unsafe extern "C" fn gc_alloc(
    vmctx: *mut u8,
    type_id: u32,
    kind: u32,
    bytes: u64,
    len: u32,
) -> usize {
    // SAFETY: compiled code passes its own vmctx.
    let (store, _) = unsafe { store_of(vmctx) };
    store.gc_alloc(type_id, kind, bytes, len)
}

/// `gc_is_subtype`: 1 when defined type `actual` is `expected` or one of
/// its declared subtypes.
unsafe extern "C" fn gc_is_subtype(vmctx: *mut u8, actual: u32, expected: u32) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, _) = unsafe { store_of(vmctx) };
    u32::from(store.engine.is_subtype(actual, expected))
}

unsafe extern "C" fn gc_array_init_data(
    vmctx: *mut u8,
    dst: usize,
    seg: u32,
    offset: u32,
    bytes: u64,
) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    status(store.gc_init_data(inst, dst, seg, offset, bytes))
}

unsafe extern "C" fn gc_array_init_elem(
    vmctx: *mut u8,
    dst: usize,
    seg: u32,
    offset: u32,
    count: u32,
) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    status(store.gc_init_elem(inst, dst, seg, offset, count))
}

unsafe extern "C" fn elem_drop(vmctx: *mut u8, seg: u32) -> u32 {
    // SAFETY: compiled code passes its own vmctx.
    let (store, inst) = unsafe { store_of(vmctx) };
    store.instances[inst].elem_values[seg as usize] = Box::new([]);
    0
}

/// Compiled code found the epoch past the store's deadline (through the
/// engine's `compile::EpochTrampoline`, which passes nothing): 1 to trap
/// "interrupt", 0 to go on. Under `EpochDeadlineAction::YieldAndUpdate(delta)`
/// inside an async call, the guest's fiber yields to the executor once (this
/// frame stays on the guest's stack meanwhile) and the deadline moves
/// `delta` ticks past the epoch it resumes at; outside an async call, or
/// when the call is being cancelled, it traps. The store is the innermost
/// entry's: the guest that called runs there.
extern "C" fn epoch_late() -> u32 {
    let entry = crate::runtime::fiber::current_entry();
    if entry.is_null() {
        return 1;
    }
    // SAFETY: the innermost entry lives on its resumer's stack while its
    // guest, which called this, runs.
    let store_ptr = unsafe { (*entry).store() };
    // SAFETY: the entry's store outlives the entry; the host's borrow of it
    // is parked in the call, as for every builtin.
    let store = unsafe { &mut *store_ptr };
    let EpochDeadlineAction::YieldAndUpdate(delta) = store.epoch_action else {
        return 1;
    };
    // The borrow of the store ends here and is taken again after the
    // suspension: other code may have used the store meanwhile.
    if crate::runtime::async_call::yield_now().is_err() {
        return 1;
    }
    // SAFETY: as above, once the fiber has been resumed.
    let store = unsafe { &mut *store_ptr };
    store.ctx.epoch_deadline = store.engine.current_epoch().saturating_add(delta);
    0
}

/// The address of [`epoch_late`], which the epoch trampoline calls.
pub(crate) fn epoch_late_address() -> usize {
    epoch_late as *const () as usize
}

/// The longest uninterrupted sleep of a wait under epoch interruption: how
/// late a passed deadline may end it.
const WAIT_SLICE: std::time::Duration = std::time::Duration::from_millis(10);

/// The end of `memory.atomic.wait32`/`wait64` once the value matched:
/// nothing can notify (one thread per store), so a finite timeout sleeps
/// and times out (2), and an infinite one would never return and traps
/// instead (`func_env::WAIT_FOREVER`). With epoch interruption on, the
/// sleep ends early when the store's deadline passes
/// (`func_env::WAIT_INTERRUPTED`), so `-W timeout` bounds a long wait too.
fn wait_for_timeout(store: &StoreOpaque, timeout: i64) -> u32 {
    let Ok(nanos) = u64::try_from(timeout) else {
        return crate::compile::func_env::WAIT_FOREVER;
    };
    let total = std::time::Duration::from_nanos(nanos);
    if !store.engine.epoch_interruption() {
        std::thread::sleep(total);
        return 2;
    }
    let start = std::time::Instant::now();
    loop {
        if store.engine.current_epoch() >= store.ctx.epoch_deadline {
            return crate::compile::func_env::WAIT_INTERRUPTED;
        }
        let elapsed = start.elapsed();
        if elapsed >= total {
            return 2;
        }
        std::thread::sleep((total - elapsed).min(WAIT_SLICE));
    }
}

/// `memory.atomic.wait32` on a shared memory: 1 ("not-equal") when the
/// value at `addr` is not `expected`, else see [`wait_for_timeout`].
/// Compiled code checked `addr`'s alignment and bounds before the call.
unsafe extern "C" fn memory_atomic_wait32(
    vmctx: *mut u8,
    addr: *const u8,
    expected: u32,
    timeout: i64,
) -> u32 {
    // SAFETY: compiled code passes the host address of an in-bounds,
    // 4-aligned value of a live linear memory (checked in `translate::
    // atomic`), which other threads only access atomically.
    let value = unsafe { std::sync::atomic::AtomicU32::from_ptr(addr.cast_mut().cast()) };
    if value.load(std::sync::atomic::Ordering::SeqCst) != expected {
        return 1;
    }
    // SAFETY: compiled code passes its own vmctx.
    let (store, _) = unsafe { store_of(vmctx) };
    wait_for_timeout(store, timeout)
}

/// `memory.atomic.wait64`: as [`memory_atomic_wait32`] for an 8-byte value.
unsafe extern "C" fn memory_atomic_wait64(
    vmctx: *mut u8,
    addr: *const u8,
    expected: u64,
    timeout: i64,
) -> u32 {
    // SAFETY: as in `memory_atomic_wait32`, 8-aligned.
    let value = unsafe { std::sync::atomic::AtomicU64::from_ptr(addr.cast_mut().cast()) };
    if value.load(std::sync::atomic::Ordering::SeqCst) != expected {
        return 1;
    }
    // SAFETY: compiled code passes its own vmctx.
    let (store, _) = unsafe { store_of(vmctx) };
    wait_for_timeout(store, timeout)
}

// The offsets `func_env` compiles into code match the structures.
const _: () = {
    use crate::compile::env::{memdef, storectx, tabledef};
    use std::mem::offset_of;
    assert!(offset_of!(VMStoreContext, epoch_ptr) == storectx::EPOCH_PTR as usize);
    assert!(offset_of!(VMStoreContext, epoch_deadline) == storectx::EPOCH_DEADLINE as usize);
    assert!(offset_of!(VMStoreContext, epoch_trampoline) == storectx::EPOCH_TRAMPOLINE as usize);
    assert!(offset_of!(VMStoreContext, stack_limit) == storectx::STACK_LIMIT as usize);
    assert!(offset_of!(VMStoreContext, caller_vmctx) == storectx::CALLER_VMCTX as usize);
    assert!(offset_of!(VMMemoryDefinition, base) == memdef::BASE as usize);
    assert!(offset_of!(VMMemoryDefinition, current_length) == memdef::LENGTH as usize);
    assert!(offset_of!(VMTableDefinition, base) == tabledef::BASE as usize);
    assert!(offset_of!(VMTableDefinition, current_elements) == tabledef::LENGTH as usize);
};
