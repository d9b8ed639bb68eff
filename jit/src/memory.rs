//! Linear memories: a 32-bit memory reserves 4 GiB plus a 2 GiB guard of
//! `PROT_NONE` up front; growing only changes protection, so the base never
//! moves and compiled code needs no bounds checks.

use crate::error::Error;

/// Bytes in a wasm page.
pub const WASM_PAGE_SIZE: u64 = 65536;
/// Bytes reserved for the addressable part of a 32-bit memory.
const RESERVATION: usize = 1 << 32;
/// Guard bytes after the reservation: a static offset up to this size needs
/// no explicit check.
pub(crate) const GUARD_SIZE: usize = 2 << 30;

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
}

// SAFETY: the mapping is owned by this value and only touched through
// `&self`/`&mut self`; nothing is thread-bound.
unsafe impl Send for LinearMemory {}
// SAFETY: shared access only reads `base`/`len`.
unsafe impl Sync for LinearMemory {}

impl LinearMemory {
    /// Reserve a memory of `minimum` pages that may grow to `max_pages`.
    pub(crate) fn new(minimum: u64, max_pages: u64) -> Result<Self, Error> {
        let max_pages = max_pages.min(RESERVATION as u64 / WASM_PAGE_SIZE);
        if minimum > max_pages {
            return Err(Error::ResourceLimit(
                format!("memory minimum {minimum} pages exceeds limit {max_pages}").into(),
            ));
        }
        let mapped = RESERVATION + GUARD_SIZE;
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
            return Err(Error::ResourceLimit(
                format!(
                    "cannot reserve linear memory: {}",
                    std::io::Error::last_os_error()
                )
                .into(),
            ));
        }
        let mut mem = LinearMemory {
            base: base.cast(),
            mapped,
            len: 0,
            max_pages,
        };
        mem.set_len((minimum * WASM_PAGE_SIZE) as usize)?;
        Ok(mem)
    }

    fn set_len(&mut self, new_len: usize) -> Result<(), Error> {
        if new_len > self.len {
            // SAFETY: [base, base+new_len) lies inside our own reservation
            // (new_len <= 4 GiB < mapped).
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
        self.set_len((new * WASM_PAGE_SIZE) as usize).ok()?;
        Some(old)
    }

    /// Current size in pages.
    pub(crate) fn pages(&self) -> u64 {
        self.len as u64 / WASM_PAGE_SIZE
    }

    /// Base address.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
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
        // SAFETY: we own exactly this mapping.
        unsafe {
            libc::munmap(self.base.cast(), self.mapped);
        }
    }
}
