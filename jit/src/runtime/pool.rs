//! The pooling instance allocator: linear-memory slots whose reservations
//! are made once and reused, and engine-wide limits on live instances,
//! memories and tables, configured with wasmtime's names.
//!
//! One reservation holds every memory slot: `total_memories` times
//! (4 GiB + the 2 GiB guard), `PROT_NONE`. A slot's life:
//!
//! 1. **Take.** A free slot that still maps the same copy-on-write image
//!    is preferred (its image pages need no new mapping), then one never
//!    used, then any free one. Its accessible bytes are set to the new
//!    memory's minimum with `mprotect`; an image it held for another
//!    module is replaced by zero pages, and the new image mapped.
//! 2. **Use.** `memory.grow` opens more pages; nothing is ever moved.
//! 3. **Release** (the store drops). The slot is queued for decommit;
//!    once `decommit_batch_size` slots are queued, each gets one
//!    `madvise(MADV_DONTNEED)` over its accessible bytes: anonymous pages
//!    read as zero again, image pages as the image again. Only then is the
//!    slot free, so no instance ever sees another's writes.
//!
//! Exhausting a pool is [`Error::Pool`] naming the limit and the option
//! that raises it. `docs/design/instance-pool.md` explains the choices.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, PoolError, PoolLimit};
use crate::runtime::image::MemoryImage;
use crate::runtime::memory::{GUARD_SIZE, RESERVATION};

/// Limits of the pooling allocator, by wasmtime's `PoolingAllocationConfig`
/// names and defaults (the `-O pooling-*` options of `ringwasm run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolingAllocationConfig {
    pub(crate) total_memories: u32,
    pub(crate) total_tables: u32,
    pub(crate) total_core_instances: u32,
    pub(crate) total_stacks: u32,
    pub(crate) total_gc_heaps: u32,
    pub(crate) max_memory_size: u64,
    pub(crate) table_elements: u64,
    pub(crate) max_core_instance_size: u64,
    pub(crate) max_memories_per_module: u32,
    pub(crate) max_tables_per_module: u32,
    pub(crate) decommit_batch_size: usize,
    pub(crate) max_unused_warm_slots: u32,
}

impl Default for PoolingAllocationConfig {
    fn default() -> Self {
        PoolingAllocationConfig {
            total_memories: 1000,
            total_tables: 1000,
            total_core_instances: 1000,
            total_stacks: 1000,
            total_gc_heaps: 1000,
            max_memory_size: RESERVATION as u64,
            table_elements: 20_000,
            max_core_instance_size: 1 << 20,
            max_memories_per_module: 1,
            max_tables_per_module: 1,
            decommit_batch_size: 1,
            max_unused_warm_slots: 100,
        }
    }
}

impl PoolingAllocationConfig {
    /// The per-memory byte limit.
    pub(crate) fn memory_bytes_limit(&self) -> u64 {
        self.max_memory_size
    }

    /// The per-table element limit.
    pub(crate) fn table_elements_limit(&self) -> u64 {
        self.table_elements
    }

    /// wasmtime's defaults: 1000 memories, tables and instances, 4 GiB
    /// memories, 20 000 table elements, 1 MiB of instance metadata, one
    /// memory and one table per module, no decommit batching.
    pub fn new() -> Self {
        PoolingAllocationConfig::default()
    }

    /// Linear memories alive at once, engine-wide (`-O pooling-total-memories`).
    /// Each slot reserves 6 GiB of address space up front.
    pub fn total_memories(&mut self, n: u32) -> &mut Self {
        self.total_memories = n;
        self
    }

    /// Tables alive at once (`-O pooling-total-tables`).
    pub fn total_tables(&mut self, n: u32) -> &mut Self {
        self.total_tables = n;
        self
    }

    /// Core instances alive at once (`-O pooling-total-core-instances`).
    pub fn total_core_instances(&mut self, n: u32) -> &mut Self {
        self.total_core_instances = n;
        self
    }

    /// Guest stacks (`-O pooling-total-stacks`). Accepted for wasmtime
    /// compatibility: guest stacks come from the per-thread stack cache.
    pub fn total_stacks(&mut self, n: u32) -> &mut Self {
        self.total_stacks = n;
        self
    }

    /// GC heaps (`-O pooling-total-gc-heaps`). Accepted for wasmtime
    /// compatibility: a store's GC objects live in its own arena, bounded
    /// by `Config::max_gc_heap_bytes`.
    pub fn total_gc_heaps(&mut self, n: u32) -> &mut Self {
        self.total_gc_heaps = n;
        self
    }

    /// The most bytes one linear memory may reach (`-O
    /// pooling-max-memory-size`, at most 4 GiB: the slot's reservation). A
    /// memory whose minimum is larger cannot be created; `memory.grow`
    /// past it returns -1.
    pub fn max_memory_size(&mut self, bytes: u64) -> &mut Self {
        self.max_memory_size = bytes.min(RESERVATION as u64);
        self
    }

    /// The most elements a table may have (`-O pooling-table-elements`).
    pub fn table_elements(&mut self, n: u64) -> &mut Self {
        self.table_elements = n;
        self
    }

    /// The most bytes of one instance's VMContext (`-O
    /// pooling-max-core-instance-size`).
    pub fn max_core_instance_size(&mut self, bytes: u64) -> &mut Self {
        self.max_core_instance_size = bytes;
        self
    }

    /// Memories one module may define (`-O pooling-max-memories-per-module`).
    pub fn max_memories_per_module(&mut self, n: u32) -> &mut Self {
        self.max_memories_per_module = n;
        self
    }

    /// Tables one module may define (`-O pooling-max-tables-per-module`).
    pub fn max_tables_per_module(&mut self, n: u32) -> &mut Self {
        self.max_tables_per_module = n;
        self
    }

    /// Released memory slots to collect before decommitting them together
    /// (`-O pooling-decommit-batch-size`; 1, the default, decommits at
    /// once). A full pool decommits whatever is queued before failing.
    pub fn decommit_batch_size(&mut self, n: usize) -> &mut Self {
        self.decommit_batch_size = n.max(1);
        self
    }

    /// Free slots that keep their image mapped for the next instance of
    /// the same module (`-O pooling-max-unused-warm-slots`).
    pub fn max_unused_warm_slots(&mut self, n: u32) -> &mut Self {
        self.max_unused_warm_slots = n;
        self
    }
}

/// How an engine allocates instances, memories and tables (wasmtime's
/// `InstanceAllocationStrategy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum InstanceAllocationStrategy {
    /// Map each memory when it is created, unmap it when its store drops.
    #[default]
    OnDemand,
    /// Reuse slots from a pool made when the engine is.
    Pooling(PoolingAllocationConfig),
}

/// The pools of one engine.
pub(crate) struct InstancePool {
    config: PoolingAllocationConfig,
    memories: MemoryPool,
    live_instances: AtomicU32,
    live_tables: AtomicU32,
}

impl std::fmt::Debug for InstancePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstancePool")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn exhausted(limit: PoolLimit, value: u64, wanted: u64) -> Error {
    Error::Pool(Box::new(PoolError {
        limit,
        value,
        wanted,
    }))
}

/// A counted place in the pool (an instance or a table); given back when
/// dropped.
pub(crate) struct Lease {
    pool: Arc<InstancePool>,
    table: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let counter = if self.table {
            &self.pool.live_tables
        } else {
            &self.pool.live_instances
        };
        counter.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Take one from `counter` unless `limit` are out.
fn count_one(counter: &AtomicU32, limit: u32) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        })
        .is_ok()
}

impl InstancePool {
    /// Reserve the memory slots.
    pub(crate) fn new(config: PoolingAllocationConfig) -> Result<Arc<Self>, Error> {
        Ok(Arc::new(InstancePool {
            memories: MemoryPool::new(config.total_memories)?,
            config,
            live_instances: AtomicU32::new(0),
            live_tables: AtomicU32::new(0),
        }))
    }

    /// The limits.
    pub(crate) fn config(&self) -> &PoolingAllocationConfig {
        &self.config
    }

    /// A place for an instance with `vmctx_bytes` of VMContext that
    /// defines `memories` memories and `tables` tables.
    pub(crate) fn lease_instance(
        self: &Arc<Self>,
        vmctx_bytes: u64,
        memories: u32,
        tables: u32,
    ) -> Result<Lease, Error> {
        let c = &self.config;
        if memories > c.max_memories_per_module {
            return Err(exhausted(
                PoolLimit::MaxMemoriesPerModule,
                c.max_memories_per_module.into(),
                memories.into(),
            ));
        }
        if tables > c.max_tables_per_module {
            return Err(exhausted(
                PoolLimit::MaxTablesPerModule,
                c.max_tables_per_module.into(),
                tables.into(),
            ));
        }
        if vmctx_bytes > c.max_core_instance_size {
            return Err(exhausted(
                PoolLimit::MaxCoreInstanceSize,
                c.max_core_instance_size,
                vmctx_bytes,
            ));
        }
        if !count_one(&self.live_instances, c.total_core_instances) {
            return Err(exhausted(
                PoolLimit::TotalCoreInstances,
                c.total_core_instances.into(),
                u64::from(c.total_core_instances) + 1,
            ));
        }
        Ok(Lease {
            pool: Arc::clone(self),
            table: false,
        })
    }

    /// A place for a table of `minimum` elements.
    pub(crate) fn lease_table(self: &Arc<Self>, minimum: u64) -> Result<Lease, Error> {
        let c = &self.config;
        if minimum > c.table_elements {
            return Err(exhausted(
                PoolLimit::TableElements,
                c.table_elements,
                minimum,
            ));
        }
        if !count_one(&self.live_tables, c.total_tables) {
            return Err(exhausted(
                PoolLimit::TotalTables,
                c.total_tables.into(),
                u64::from(c.total_tables) + 1,
            ));
        }
        Ok(Lease {
            pool: Arc::clone(self),
            table: true,
        })
    }

    /// A memory slot with `len` accessible bytes holding `image`.
    pub(crate) fn take_memory(
        self: &Arc<Self>,
        len: u64,
        image: Option<&MemoryImage>,
    ) -> Result<MemorySlot, Error> {
        if len > self.config.max_memory_size {
            return Err(exhausted(
                PoolLimit::MaxMemorySize,
                self.config.max_memory_size,
                len,
            ));
        }
        let len = (len as usize).next_multiple_of(crate::runtime::image::HOST_PAGE as usize);
        let (index, base) = self.memories.take(len, image)?;
        Ok(MemorySlot {
            pool: Arc::clone(self),
            index,
            base,
        })
    }
}

/// A memory slot lent to one linear memory; released when dropped.
pub(crate) struct MemorySlot {
    pool: Arc<InstancePool>,
    index: u32,
    base: *mut u8,
}

// SAFETY: the slot's pages belong to the memory that holds the slot, which
// moves between threads only with its store.
unsafe impl Send for MemorySlot {}
// SAFETY: shared access only reads the base address.
unsafe impl Sync for MemorySlot {}

impl std::fmt::Debug for MemorySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySlot")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl MemorySlot {
    /// Start of the slot.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    /// Bytes of the slot (reservation and guard).
    pub(crate) fn size(&self) -> usize {
        SLOT_SIZE
    }

    /// Forget the image mapped in the slot and make its pages zero: an
    /// instantiation that trapped before its data segments must not show
    /// them.
    pub(crate) fn clear_image(&mut self, accessible: usize) -> Result<(), Error> {
        let mut st = self
            .pool
            .memories
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let slot = &mut st.slots[self.index as usize];
        if let Some(image) = slot.image.take() {
            // SAFETY: the slot is ours (in use), nothing borrows its bytes.
            unsafe {
                zero_range(
                    self.base,
                    image.offset as usize,
                    image.len as usize,
                    accessible,
                )
            }?;
        }
        Ok(())
    }

    /// Hand the slot back with `accessible` bytes open.
    pub(crate) fn release(self, accessible: usize) {
        let accessible = accessible.next_multiple_of(crate::runtime::image::HOST_PAGE as usize);
        self.pool
            .memories
            .release(self.index, accessible, &self.pool.config);
    }
}

/// Bytes of one slot: the 4 GiB a 32-bit index reaches, then the guard.
const SLOT_SIZE: usize = RESERVATION + GUARD_SIZE;

/// The memory slots.
struct MemoryPool {
    base: *mut u8,
    total: u32,
    state: Mutex<PoolState>,
}

// SAFETY: the reservation is only changed slot by slot, by the holder of a
// slot or under the state lock.
unsafe impl Send for MemoryPool {}
// SAFETY: as above.
unsafe impl Sync for MemoryPool {}

#[derive(Default)]
struct PoolState {
    slots: Vec<SlotState>,
    /// Released, decommitted slots, most recent last.
    free: Vec<u32>,
    /// Released slots waiting for their decommit.
    pending: Vec<u32>,
    /// Slots never used: `[next_fresh, total)`.
    next_fresh: u32,
}

#[derive(Default)]
struct SlotState {
    in_use: bool,
    /// Bytes `PROT_READ | PROT_WRITE` from the slot's base.
    accessible: usize,
    /// The image mapped in the slot, kept (with its file) while mapped.
    image: Option<MemoryImage>,
}

impl Drop for MemoryPool {
    fn drop(&mut self) {
        let bytes = self.total as usize * SLOT_SIZE;
        if bytes > 0 {
            // SAFETY: the pool owns the reservation, and every slot has been
            // released: each memory holds an `Arc` of the pool.
            unsafe { libc::munmap(self.base.cast(), bytes) };
            crate::runtime::memory::release_address_space(bytes as u64);
        }
    }
}

impl MemoryPool {
    fn new(total: u32) -> Result<Self, Error> {
        let bytes = (total as usize)
            .checked_mul(SLOT_SIZE)
            .ok_or_else(|| Error::ResourceLimit("pooling-total-memories too large".into()))?;
        let base = if bytes == 0 {
            std::ptr::null_mut()
        } else {
            crate::runtime::memory::claim_address_space(bytes as u64)?;
            // SAFETY: a fresh anonymous PROT_NONE reservation aliases nothing.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    bytes,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                let err = std::io::Error::last_os_error();
                crate::runtime::memory::release_address_space(bytes as u64);
                return Err(Error::ResourceLimit(
                    format!(
                        "cannot reserve {} GiB of address space for {total} pooled memory \
                         slots: {err} (lower -O pooling-total-memories or raise `ulimit -v`)",
                        bytes >> 30
                    )
                    .into(),
                ));
            }
            base.cast()
        };
        Ok(MemoryPool {
            base,
            total,
            state: Mutex::new(PoolState {
                slots: (0..total).map(|_| SlotState::default()).collect(),
                ..PoolState::default()
            }),
        })
    }

    fn slot_base(&self, index: u32) -> *mut u8 {
        self.base.wrapping_add(index as usize * SLOT_SIZE)
    }

    /// A slot with `len` bytes accessible and `image` mapped.
    fn take(&self, len: usize, image: Option<&MemoryImage>) -> Result<(u32, *mut u8), Error> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let index = loop {
            if let Some(i) = pick(&st, image) {
                let at = st.free.iter().rposition(|f| *f == i);
                if let Some(at) = at {
                    st.free.remove(at);
                }
                break i;
            }
            if st.next_fresh < self.total {
                st.next_fresh += 1;
                break st.next_fresh - 1;
            }
            if st.pending.is_empty() {
                return Err(exhausted(
                    PoolLimit::TotalMemories,
                    self.total.into(),
                    u64::from(self.total) + 1,
                ));
            }
            self.flush(&mut st);
        };
        let base = self.slot_base(index);
        let slot = &mut st.slots[index as usize];
        slot.in_use = true;
        // SAFETY: the slot is now ours; nothing else maps or borrows it.
        let prepared = unsafe { prepare(base, slot, len, image) };
        if let Err(e) = prepared {
            slot.in_use = false;
            st.free.push(index);
            return Err(e);
        }
        Ok((index, base))
    }

    fn release(&self, index: u32, accessible: usize, config: &PoolingAllocationConfig) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.slots[index as usize].accessible = accessible;
        st.pending.push(index);
        if st.pending.len() >= config.decommit_batch_size {
            self.flush(&mut st);
        }
        // Bound the warm slots that keep an image (and its file) mapped.
        let warm = config.max_unused_warm_slots as usize;
        if st.free.len() > warm {
            let cold = st.free.len() - warm;
            for i in 0..cold {
                let index = st.free[i];
                let base = self.slot_base(index);
                let slot = &mut st.slots[index as usize];
                if let Some(image) = slot.image.take() {
                    let open = slot.accessible;
                    // SAFETY: a free slot is nobody's.
                    let unmapped = unsafe {
                        zero_range(base, image.offset as usize, image.len as usize, open)
                    };
                    if unmapped.is_err() {
                        // Keep the image recorded: the slot still maps it.
                        slot.image = Some(image);
                    }
                }
            }
        }
    }

    /// Decommit every queued slot: one `madvise` each.
    fn flush(&self, st: &mut PoolState) {
        for index in std::mem::take(&mut st.pending) {
            let base = self.slot_base(index);
            let slot = &mut st.slots[index as usize];
            if slot.accessible > 0 {
                // SAFETY: a released slot is nobody's; `MADV_DONTNEED` on our
                // private mappings drops their pages, so anonymous pages
                // read as zero and image pages as the image again.
                let rc =
                    unsafe { libc::madvise(base.cast(), slot.accessible, libc::MADV_DONTNEED) };
                if rc != 0 {
                    // A slot that cannot be reset is never lent again.
                    continue;
                }
            }
            slot.in_use = false;
            st.free.push(index);
        }
    }
}

/// The free slot to take: one that maps `image` already, else one that
/// maps nothing, else the most recently freed.
fn pick(st: &PoolState, image: Option<&MemoryImage>) -> Option<u32> {
    let holds = |i: &u32, img: Option<&MemoryImage>| match (&st.slots[*i as usize].image, img) {
        (Some(held), Some(img)) => held.same(img),
        (None, None) => true,
        _ => false,
    };
    st.free
        .iter()
        .rev()
        .find(|i| holds(i, image))
        .or_else(|| {
            st.free
                .iter()
                .rev()
                .find(|i| st.slots[**i as usize].image.is_none())
        })
        .or_else(|| st.free.last())
        .copied()
}

/// Make a taken slot hold `len` accessible bytes and `image`.
///
/// # Safety
///
/// The slot at `base` is the caller's alone.
unsafe fn prepare(
    base: *mut u8,
    slot: &mut SlotState,
    len: usize,
    image: Option<&MemoryImage>,
) -> Result<(), Error> {
    let keep = matches!((&slot.image, image), (Some(held), Some(img)) if held.same(img));
    if !keep && let Some(old) = slot.image.take() {
        // SAFETY: per the contract the slot is ours.
        unsafe { zero_range(base, old.offset as usize, old.len as usize, slot.accessible) }?;
    }
    if len != slot.accessible {
        let (from, to, prot) = if len > slot.accessible {
            (slot.accessible, len, libc::PROT_READ | libc::PROT_WRITE)
        } else {
            (len, slot.accessible, libc::PROT_NONE)
        };
        // SAFETY: within the slot, which is ours.
        let rc = unsafe { libc::mprotect(base.wrapping_add(from).cast(), to - from, prot) };
        if rc != 0 {
            return Err(Error::ResourceLimit(
                format!(
                    "mprotect of a pooled memory slot failed: {}",
                    std::io::Error::last_os_error()
                )
                .into(),
            ));
        }
        slot.accessible = len;
    }
    if !keep && let Some(img) = image {
        if img.offset + img.len > len as u64 {
            return Err(Error::bug("memory image beyond the memory's minimum"));
        }
        // SAFETY: inside the slot's accessible bytes, which are ours.
        unsafe { img.map_at(base) }?;
        slot.image = Some(img.clone());
    }
    Ok(())
}

/// Replace `[base + offset, base + offset + len)` with zero pages,
/// accessible where they lie below `accessible`.
///
/// # Safety
///
/// The range is inside a slot the caller owns, and nothing borrows it.
unsafe fn zero_range(
    base: *mut u8,
    offset: usize,
    len: usize,
    accessible: usize,
) -> Result<(), Error> {
    let at = base.wrapping_add(offset);
    // SAFETY: per the contract; MAP_FIXED replaces exactly those pages.
    let mapped = unsafe {
        libc::mmap(
            at.cast(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return Err(Error::ResourceLimit(
            format!(
                "cannot unmap a memory image from a pooled slot: {}",
                std::io::Error::last_os_error()
            )
            .into(),
        ));
    }
    let open = accessible.saturating_sub(offset).min(len);
    if open > 0 {
        // SAFETY: the pages just mapped, inside the slot.
        let rc = unsafe { libc::mprotect(at.cast(), open, libc::PROT_READ | libc::PROT_WRITE) };
        if rc != 0 {
            return Err(Error::ResourceLimit(
                format!(
                    "mprotect of a pooled memory slot failed: {}",
                    std::io::Error::last_os_error()
                )
                .into(),
            ));
        }
    }
    Ok(())
}
