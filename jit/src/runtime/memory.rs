//! Linear memories: a 32-bit memory reserves 4 GiB plus a 2 GiB guard of
//! `PROT_NONE` up front; growing only changes protection, so the base never
//! moves and compiled code needs no bounds checks.
//!
//! A memory64 memory cannot be covered by a guard (its index is 64 bits), so
//! compiled code checks every access against the current length. Its base
//! must not move either (io_uring operations and host slices point into it),
//! so it reserves its whole reachable size up front: its maximum, capped by
//! the store's memory budget and by [`MEMORY64_RESERVATION`] (64 GiB); a
//! `memory.grow` past the reservation returns -1. No guard follows it.
//!
//! A memory of 1-byte pages (custom-page-sizes proposal) keeps the same
//! reservation, so its base never moves either, but its length need not be
//! a multiple of the host page: `mprotect` opens whole host pages, so a few
//! bytes past the length may be accessible. Compiled code therefore checks
//! every access to such a memory explicitly (see `FuncEnv::memory_plan`);
//! the bytes past the length stay zero because nothing can write them.
//!
//! Every reservation is counted against a process-wide address-space budget
//! ([`ADDRESS_SPACE_LIMIT`], 64 TiB of the 128 TiB user half on x86-64, about
//! ten thousand 32-bit memories alive at once); past it, or when `mmap`
//! refuses (`ulimit -v`), creating a memory is an error that says so.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;
use crate::runtime::image::MemoryImage;
use crate::runtime::pool::MemorySlot;

/// Bytes in a wasm page.
pub const WASM_PAGE_SIZE: u64 = 65536;
/// Bytes reserved for the addressable part of a 32-bit memory.
pub(crate) const RESERVATION: usize = 1 << 32;
/// Guard bytes after the reservation: a static offset up to this size needs
/// no explicit check.
pub(crate) const GUARD_SIZE: usize = 2 << 30;
/// Most address space one memory64 memory reserves (its reachable maximum).
pub(crate) const MEMORY64_RESERVATION: u64 = 64 << 30;
/// Address space all live linear memories of the process may reserve.
pub(crate) const ADDRESS_SPACE_LIMIT: u64 = 64 << 40;

/// The guard after a 32-bit memory's 4 GiB in wasmtime's default
/// configuration. wasmtime checks an access explicitly, against the 4 GiB
/// reservation, when its static offset plus size exceeds this; our larger
/// guard lets more accesses fault instead. See [`reported_wasm_address`].
const WASMTIME_GUARD_SIZE: u64 = 32 << 20;

/// The wasm address of a fault at host address `addr` in the memory whose
/// reservation (accessible bytes, `PROT_NONE` rest and guard) is
/// `[base, base + mapped)`, if `addr` lies in it, and if wasmtime would
/// also have faulted there and so report the address (`memory fault at
/// wasm address ...`).
///
/// wasmtime reserves 4 GiB plus a 32 MiB guard and checks explicitly, with
/// its spectre guard redirecting a failed check to address 0 (which it does
/// not report), any access whose static offset plus size exceeds 32 MiB.
/// Such an access faults at its real address only when it ends within
/// 4 GiB. Our guard is 2 GiB, so an access we let fault past
/// `4 GiB + 32 MiB` is one wasmtime stopped at its check: no report. (The
/// static offset is not known here, so an address in `[4 GiB, 4 GiB +
/// 32 MiB)` reached with an offset over 32 MiB is still reported; wasmtime
/// would not.) A memory64 memory is always checked explicitly by both and
/// never faults.
pub(crate) fn reported_wasm_address(base: usize, mapped: usize, addr: usize) -> Option<u64> {
    let wasm_address = addr.checked_sub(base).filter(|a| *a < mapped)? as u64;
    (wasm_address < RESERVATION as u64 + WASMTIME_GUARD_SIZE).then_some(wasm_address)
}

/// Bytes of address space currently reserved by linear memories.
static RESERVED: AtomicU64 = AtomicU64::new(0);

/// Count `bytes` against [`ADDRESS_SPACE_LIMIT`].
pub(crate) fn claim_address_space(bytes: u64) -> Result<(), Error> {
    let mut cur = RESERVED.load(Ordering::Relaxed);
    loop {
        let next = cur.saturating_add(bytes);
        if next > ADDRESS_SPACE_LIMIT {
            return Err(Error::ResourceLimit(
                format!(
                    "address space for linear memories exhausted: {} GiB reserved, \
                     a new memory needs {} GiB more, limit {} GiB",
                    cur >> 30,
                    bytes.div_ceil(1 << 30),
                    ADDRESS_SPACE_LIMIT >> 30
                )
                .into(),
            ));
        }
        match RESERVED.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return Ok(()),
            Err(actual) => cur = actual,
        }
    }
}

pub(crate) fn release_address_space(bytes: u64) {
    RESERVED.fetch_sub(bytes, Ordering::Relaxed);
}

/// What compiled code reads: base and current length in bytes.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory; never moves.
    pub base: *mut u8,
    /// Accessible bytes.
    pub current_length: usize,
}

// SAFETY: `base` points into the owning `LinearMemory`'s mapping, which
// moves with it.
unsafe impl Send for VMMemoryDefinition {}

/// One mmap'd linear memory.
#[derive(Debug)]
pub(crate) struct LinearMemory {
    /// Start of the reservation.
    base: *mut u8,
    /// Bytes reserved (accessible + guard).
    mapped: usize,
    /// Accessible bytes.
    len: usize,
    /// Maximum pages allowed.
    max_pages: u64,
    /// Bytes in a page: [`WASM_PAGE_SIZE`], or 1 (custom-page-sizes).
    page_size: u64,
    /// The pool slot the memory lives in, given back on drop; `None`: the
    /// memory owns its reservation.
    slot: Option<MemorySlot>,
}

// SAFETY: the mapping is owned by this value and only touched through
// `&self`/`&mut self`; nothing is thread-bound.
unsafe impl Send for LinearMemory {}
// SAFETY: shared access only reads `base`/`len`.
unsafe impl Sync for LinearMemory {}

impl LinearMemory {
    /// Reserve a memory of `minimum` pages of `page_size` bytes (a power of
    /// two, at most [`WASM_PAGE_SIZE`]) that may grow to `max_pages`: 4 GiB
    /// plus the guard for a 32-bit memory, the reachable maximum (at most
    /// [`MEMORY64_RESERVATION`]) for a memory64 one.
    pub(crate) fn new(
        minimum: u64,
        max_pages: u64,
        memory64: bool,
        page_size: u64,
    ) -> Result<Self, Error> {
        if !page_size.is_power_of_two() || page_size > WASM_PAGE_SIZE {
            return Err(Error::Type(
                format!("page size of {page_size} bytes: expected 1 or {WASM_PAGE_SIZE}").into(),
            ));
        }
        let (max_pages, mapped) = if memory64 {
            let max_pages = max_pages.min(MEMORY64_RESERVATION / page_size);
            // At least one wasm page, so that an empty memory still has a
            // base (and a 1-byte-page memory a whole host page).
            let bytes = (max_pages * page_size).max(WASM_PAGE_SIZE);
            (max_pages, bytes as usize)
        } else {
            // 4 GiB of 64 KiB pages; 2^32 - 1 one-byte pages, as the
            // addresses a 32-bit index reaches.
            let reachable = if page_size == 1 {
                u64::from(u32::MAX)
            } else {
                RESERVATION as u64 / page_size
            };
            (max_pages.min(reachable), RESERVATION + GUARD_SIZE)
        };
        if minimum > max_pages {
            return Err(Error::ResourceLimit(
                format!("memory minimum {minimum} pages exceeds limit {max_pages}").into(),
            ));
        }
        claim_address_space(mapped as u64)?;
        // SAFETY: an anonymous private PROT_NONE mapping at an address the
        // kernel chooses aliases nothing.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            let err = std::io::Error::last_os_error();
            release_address_space(mapped as u64);
            return Err(Error::ResourceLimit(
                format!(
                    "cannot reserve {} MiB of address space for a linear memory: {err} \
                     (a 32-bit memory reserves 6 GiB; check `ulimit -v`)",
                    mapped >> 20
                )
                .into(),
            ));
        }
        let mut mem = LinearMemory {
            base: base.cast(),
            mapped,
            len: 0,
            max_pages,
            page_size,
            slot: None,
        };
        mem.set_len((minimum * page_size) as usize)?;
        Ok(mem)
    }

    /// A memory in a pool slot whose first `minimum * page_size` bytes the
    /// pool already opened (and filled with the memory's image, if any).
    /// `max_pages` is capped by the pool's `max_memory_size`.
    pub(crate) fn in_slot(
        slot: MemorySlot,
        minimum: u64,
        max_pages: u64,
        page_size: u64,
        max_bytes: u64,
    ) -> Self {
        LinearMemory {
            base: slot.base(),
            mapped: slot.size(),
            len: (minimum * page_size) as usize,
            max_pages: max_pages.min(max_bytes / page_size),
            page_size,
            slot: Some(slot),
        }
    }

    /// Make the bytes of `image`, mapped in this memory, zero again (an
    /// instantiation that trapped before its data segments).
    pub(crate) fn clear_image(&mut self, image: &MemoryImage) -> Result<(), Error> {
        let len = self.len;
        if let Some(slot) = &mut self.slot {
            return slot.clear_image(len);
        }
        if image.offset.saturating_add(image.len) > self.len as u64 {
            return Err(Error::bug("memory image beyond the accessible bytes"));
        }
        // SAFETY: the image's pages lie in our accessible bytes (checked
        // above); MAP_FIXED replaces exactly them with zero pages.
        let mapped = unsafe {
            libc::mmap(
                self.base.wrapping_add(image.offset as usize).cast(),
                image.len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            return Err(Error::ResourceLimit(
                format!(
                    "cannot clear a memory image: {}",
                    std::io::Error::last_os_error()
                )
                .into(),
            ));
        }
        Ok(())
    }

    fn set_len(&mut self, new_len: usize) -> Result<(), Error> {
        if new_len > self.len {
            // SAFETY: [base, base+new_len) lies inside our own reservation
            // (new_len <= max_pages * page size <= mapped).
            let rc = unsafe {
                libc::mprotect(
                    self.base.cast(),
                    new_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if rc != 0 {
                return Err(Error::ResourceLimit(
                    format!("mprotect failed: {}", std::io::Error::last_os_error()).into(),
                ));
            }
        }
        self.len = new_len;
        Ok(())
    }

    /// Grow by `delta` pages; returns the old size in pages, or `None` when
    /// the maximum would be exceeded.
    pub(crate) fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        self.set_len((new * self.page_size) as usize).ok()?;
        Some(old)
    }

    /// Current size in pages.
    pub(crate) fn pages(&self) -> u64 {
        self.len as u64 / self.page_size
    }

    /// Bytes in a page.
    pub(crate) fn page_size(&self) -> u64 {
        self.page_size
    }

    /// Map a copy-on-write image over part of the accessible bytes
    /// (`image.rs`): reads see the image, writes copy the page.
    pub(crate) fn map_image(&mut self, image: &MemoryImage) -> Result<(), Error> {
        if image.offset.saturating_add(image.len) > self.len as u64 {
            return Err(Error::bug("memory image beyond the accessible bytes"));
        }
        // SAFETY: the image lies in this memory's accessible bytes (checked
        // above), which we own; `&mut self` rules out borrows of them.
        unsafe { image.map_at(self.base) }
    }

    /// Base address.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    /// Where a fault at host address `addr` lies in this memory, as
    /// [`reported_wasm_address`] says.
    pub(crate) fn fault_address(&self, addr: usize) -> Option<u64> {
        reported_wasm_address(self.base as usize, self.mapped, addr)
    }

    /// Accessible bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The accessible bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: [base, base+len) is mapped read/write for the life of self.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }

    /// The accessible bytes, mutably.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.len) }
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.release(self.len);
            return;
        }
        // SAFETY: we own exactly this mapping.
        unsafe {
            libc::munmap(self.base.cast(), self.mapped);
        }
        release_address_space(self.mapped as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_past_the_address_space_budget_is_refused() {
        let err = claim_address_space(ADDRESS_SPACE_LIMIT + 1).expect_err("over budget");
        assert!(matches!(err, Error::ResourceLimit(_)));
    }

    #[test]
    fn memory64_reserves_its_maximum_capped_at_64_gib() {
        let small = LinearMemory::new(1, 3, true, WASM_PAGE_SIZE).expect("three pages");
        assert_eq!(small.mapped, 3 * WASM_PAGE_SIZE as usize);
        let huge = LinearMemory::new(0, u64::MAX, true, WASM_PAGE_SIZE).expect("capped");
        assert_eq!(huge.mapped as u64, MEMORY64_RESERVATION);
        assert_eq!(huge.max_pages, MEMORY64_RESERVATION / WASM_PAGE_SIZE);
        let empty = LinearMemory::new(0, 0, true, WASM_PAGE_SIZE).expect("empty");
        assert_eq!(empty.len(), 0);
        assert!(matches!(
            LinearMemory::new(
                MEMORY64_RESERVATION / WASM_PAGE_SIZE + 1,
                u64::MAX,
                true,
                WASM_PAGE_SIZE
            ),
            Err(Error::ResourceLimit(_))
        ));
    }

    #[test]
    fn a_fault_is_reported_relative_to_the_base_of_its_reservation() {
        let base = 0x7f00_0000_0000usize;
        let mapped = RESERVATION + GUARD_SIZE;
        let at = |wasm: u64| reported_wasm_address(base, mapped, base + wasm as usize);
        // Just past a one-page memory, with an offset folded in, at 4 GiB.
        assert_eq!(at(0x10000), Some(0x10000));
        assert_eq!(at(0x11170), Some(0x11170));
        assert_eq!(at(0xffff_ffff), Some(0xffff_ffff));
        assert_eq!(at(0x1_0000_0000), Some(0x1_0000_0000));
        // `i64.load offset=0x1fffff8 (i32.const -1)`: within wasmtime's
        // 32 MiB guard, so it faults there too.
        assert_eq!(at(0x1_01ff_fff7), Some(0x1_01ff_fff7));
        // Past 4 GiB + 32 MiB only an offset over 32 MiB reaches, which
        // wasmtime checks explicitly: no report.
        assert_eq!(at(0x1_0200_0000), None);
        assert_eq!(at(mapped as u64 - 1), None);
        // Outside the reservation: another memory's, or none.
        assert_eq!(reported_wasm_address(base, mapped, base - 1), None);
        assert_eq!(reported_wasm_address(base, mapped, base + mapped), None);
        assert_eq!(reported_wasm_address(base, mapped, 0), None);
    }

    #[test]
    fn a_live_memory_maps_fault_addresses_into_itself() {
        let m = LinearMemory::new(1, 4, false, WASM_PAGE_SIZE).expect("memory");
        let base = m.base() as usize;
        assert_eq!(m.fault_address(base + 70000), Some(70000));
        assert_eq!(m.fault_address(base), Some(0));
        assert_eq!(m.fault_address(base.wrapping_sub(8)), None);
        let small = LinearMemory::new(0, 3, true, WASM_PAGE_SIZE).expect("memory64");
        let base64 = small.base() as usize;
        assert_eq!(small.fault_address(base64 + 2 * 65536), Some(2 * 65536));
        assert_eq!(small.fault_address(base64 + 3 * 65536), None);
    }

    #[test]
    fn memory32_keeps_the_guard_reservation() {
        let m = LinearMemory::new(1, u64::MAX, false, WASM_PAGE_SIZE).expect("memory");
        assert_eq!(m.mapped, RESERVATION + GUARD_SIZE);
        assert_eq!(m.max_pages, 65536);
    }

    #[test]
    fn one_byte_pages_count_bytes_up_to_2_pow_32_minus_1() {
        let mut m = LinearMemory::new(5, u64::MAX, false, 1).expect("memory");
        assert_eq!(m.len(), 5);
        assert_eq!(m.pages(), 5);
        assert_eq!(m.max_pages, u64::from(u32::MAX));
        assert_eq!(m.mapped, RESERVATION + GUARD_SIZE);
        assert_eq!(m.grow(3), Some(5));
        assert_eq!(m.bytes().len(), 8);
        assert_eq!(m.grow(u64::from(u32::MAX) - 7), None);
        let capped = LinearMemory::new(0, 10, false, 1).expect("memory");
        assert_eq!(capped.max_pages, 10);
        let m64 = LinearMemory::new(0, u64::MAX, true, 1).expect("memory64");
        assert_eq!(m64.max_pages, MEMORY64_RESERVATION);
        let tiny = LinearMemory::new(0, 3, true, 1).expect("memory64");
        assert_eq!(tiny.mapped as u64, WASM_PAGE_SIZE);
        assert!(matches!(
            LinearMemory::new(0, 1, false, 3),
            Err(Error::Type(_))
        ));
    }
}
