//! Guest linear memory as seen by host functions.
//!
//! [`GuestMem`] wraps the guest's memory as one `&mut [u8]` and gives checked
//! accessors: every guest pointer and length is bounds-checked (and, for
//! typed pointers, alignment-checked) before use; a bad one is a trap, as the
//! witx pointer rules and wasmtime prescribe, never a host crash.
//!
//! `fd_read`/`fd_write`/`fd_pread`/`fd_pwrite` are zero-copy: their checked
//! iovecs become [`GuestSlice`]s, the reactor's `IoBuf`/`IoBufMut` over linear
//! memory, and go to one `Read`/`Readv`/`Write`/`Writev` op unchanged.

use std::io::{IoSlice, IoSliceMut};

use crate::error::{HostError, TrapReason};

/// A guest `iovec`/`ciovec`: address and length in linear memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestIoVec {
    /// Guest address of the first byte.
    pub addr: u32,
    /// Length in bytes.
    pub len: u32,
}

/// A checked range of linear memory lent to one reactor op (zero copy).
///
/// Only `GuestMem::lend` makes one, after the bounds check, and only for the
/// length of one host call: the op that takes it is run to completion
/// (`Driver::run` blocks) before the host call returns, so the memory it
/// points into outlives it. Its fields are private so nothing else can forge
/// one.
#[derive(Debug)]
pub struct GuestSlice {
    ptr: *mut u8,
    len: usize,
}

impl GuestSlice {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Checked access to the guest's linear memory for one host call.
#[derive(Debug)]
pub struct GuestMem<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMem<'a> {
    /// Wraps the guest's linear memory.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMem { bytes }
    }

    /// Size of linear memory in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether linear memory is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn range(
        &self,
        what: &'static str,
        addr: u32,
        len: u64,
    ) -> Result<std::ops::Range<usize>, HostError> {
        let start = addr as usize;
        let end = u64::from(addr) + len;
        // An empty range is fine anywhere, even past the end (wasmtime
        // accepts a zero-length buffer at any address).
        if len == 0 {
            return Ok(0..0);
        }
        if end > self.bytes.len() as u64 {
            return Err(TrapReason::OutOfBounds {
                what,
                addr,
                len,
                mem_len: self.bytes.len(),
            }
            .into());
        }
        Ok(start..end as usize)
    }

    fn aligned(
        &self,
        what: &'static str,
        addr: u32,
        align: u32,
        len: u64,
    ) -> Result<std::ops::Range<usize>, HostError> {
        // Bounds first, then alignment, in wiggle's order.
        let r = self.range(what, addr, len)?;
        if !addr.is_multiple_of(align) {
            return Err(TrapReason::Misaligned {
                what,
                addr,
                len: u32::try_from(len).unwrap_or(u32::MAX),
                align,
            }
            .into());
        }
        Ok(r)
    }

    /// The `len` bytes at `addr`.
    ///
    /// # Errors
    ///
    /// A trap when the range leaves linear memory.
    pub fn slice(&self, what: &'static str, addr: u32, len: u32) -> Result<&[u8], HostError> {
        let r = self.range(what, addr, u64::from(len))?;
        Ok(&self.bytes[r])
    }

    /// The `len` bytes at `addr`, writable.
    ///
    /// # Errors
    ///
    /// A trap when the range leaves linear memory.
    pub fn slice_mut(
        &mut self,
        what: &'static str,
        addr: u32,
        len: u32,
    ) -> Result<&mut [u8], HostError> {
        let r = self.range(what, addr, u64::from(len))?;
        Ok(&mut self.bytes[r])
    }

    /// A UTF-8 string of `len` bytes at `addr` (paths).
    ///
    /// # Errors
    ///
    /// A trap when out of bounds; [`Errno::Ilseq`](crate::Errno::Ilseq) when not
    /// UTF-8 (wasmtime's mapping).
    pub fn str(&self, what: &'static str, addr: u32, len: u32) -> Result<&str, HostError> {
        std::str::from_utf8(self.slice(what, addr, len)?).map_err(|_| crate::Errno::Ilseq.into())
    }

    /// Copies `data` to `addr`.
    ///
    /// # Errors
    ///
    /// A trap when the range leaves linear memory.
    pub fn write_bytes(
        &mut self,
        what: &'static str,
        addr: u32,
        data: &[u8],
    ) -> Result<(), HostError> {
        let r = self.range(what, addr, data.len() as u64)?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }

    /// Copies `data` to `addr`, which must be `align`-aligned (a struct).
    ///
    /// # Errors
    ///
    /// A trap when out of bounds or misaligned.
    pub fn aligned_write(
        &mut self,
        what: &'static str,
        addr: u32,
        align: u32,
        data: &[u8],
    ) -> Result<(), HostError> {
        let r = self.aligned(what, addr, align, data.len() as u64)?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }

    /// Writes the struct encoded in `data` to `addr` field by field, as
    /// wiggle does: each `(offset, size)` field in order must be naturally
    /// aligned and inside linear memory (the first that is not is the
    /// trap, and nothing is written then); padding bytes are left as they
    /// were.
    ///
    /// # Errors
    ///
    /// A trap when a field is out of bounds or misaligned.
    pub fn write_fields(
        &mut self,
        what: &'static str,
        addr: u32,
        fields: &[(u32, u32)],
        data: &[u8],
    ) -> Result<(), HostError> {
        let mut ranges = Vec::with_capacity(fields.len());
        for &(off, size) in fields {
            let at = addr.wrapping_add(off);
            let r = self.aligned(what, at, size, u64::from(size))?;
            let src = off as usize..(off + size) as usize;
            if addr.checked_add(off).is_none() || src.end > data.len() {
                return Err(TrapReason::OutOfBounds {
                    what,
                    addr: at,
                    len: u64::from(size),
                    mem_len: self.bytes.len(),
                }
                .into());
            }
            ranges.push((r, src));
        }
        for (dst, src) in ranges {
            self.bytes[dst].copy_from_slice(&data[src]);
        }
        Ok(())
    }

    fn read_array<const N: usize>(
        &self,
        what: &'static str,
        addr: u32,
    ) -> Result<[u8; N], HostError> {
        let r = self.aligned(what, addr, N as u32, N as u64)?;
        let mut out = [0; N];
        out.copy_from_slice(&self.bytes[r]);
        Ok(out)
    }

    fn write_array<const N: usize>(
        &mut self,
        what: &'static str,
        addr: u32,
        v: [u8; N],
    ) -> Result<(), HostError> {
        let r = self.aligned(what, addr, N as u32, N as u64)?;
        self.bytes[r].copy_from_slice(&v);
        Ok(())
    }

    /// Reads a byte.
    ///
    /// # Errors
    ///
    /// A trap when out of bounds.
    pub fn read_u8(&self, what: &'static str, addr: u32) -> Result<u8, HostError> {
        Ok(self.read_array::<1>(what, addr)?[0])
    }

    /// Reads a little-endian, naturally aligned `u16`.
    ///
    /// # Errors
    ///
    /// A trap when out of bounds or misaligned.
    pub fn read_u16(&self, what: &'static str, addr: u32) -> Result<u16, HostError> {
        Ok(u16::from_le_bytes(self.read_array(what, addr)?))
    }

    /// Reads a little-endian, naturally aligned `u32`.
    ///
    /// # Errors
    ///
    /// A trap when out of bounds or misaligned.
    pub fn read_u32(&self, what: &'static str, addr: u32) -> Result<u32, HostError> {
        Ok(u32::from_le_bytes(self.read_array(what, addr)?))
    }

    /// Reads a little-endian, naturally aligned `u64`.
    ///
    /// # Errors
    ///
    /// A trap when out of bounds or misaligned.
    pub fn read_u64(&self, what: &'static str, addr: u32) -> Result<u64, HostError> {
        Ok(u64::from_le_bytes(self.read_array(what, addr)?))
    }

    /// Writes a byte.
    ///
    /// # Errors
    ///
    /// A trap when out of bounds.
    pub fn write_u8(&mut self, what: &'static str, addr: u32, v: u8) -> Result<(), HostError> {
        self.write_array(what, addr, [v])
    }

    /// Writes a little-endian, naturally aligned `u16`.
    ///
    /// # Errors
    ///
    /// A trap when out of bounds or misaligned.
    pub fn write_u16(&mut self, what: &'static str, addr: u32, v: u16) -> Result<(), HostError> {
        self.write_array(what, addr, v.to_le_bytes())
    }

    /// Writes a little-endian, naturally aligned `u32`.
    ///
    /// # Errors
    ///
    /// A trap when out of bounds or misaligned.
    pub fn write_u32(&mut self, what: &'static str, addr: u32, v: u32) -> Result<(), HostError> {
        self.write_array(what, addr, v.to_le_bytes())
    }

    /// Writes a little-endian, naturally aligned `u64`.
    ///
    /// # Errors
    ///
    /// A trap when out of bounds or misaligned.
    pub fn write_u64(&mut self, what: &'static str, addr: u32, v: u64) -> Result<(), HostError> {
        self.write_array(what, addr, v.to_le_bytes())
    }

    /// Reads and checks the one iovec at `addr` (its buffer must lie inside
    /// linear memory).
    ///
    /// # Errors
    ///
    /// A trap when the iovec or its buffer leaves linear memory, or the
    /// iovec is misaligned.
    pub fn iovec(&self, addr: u32) -> Result<GuestIoVec, HostError> {
        let v = GuestIoVec {
            addr: self.read_u32("iovec.buf", addr)?,
            len: self.read_u32("iovec.buf_len", addr.wrapping_add(4))?,
        };
        self.range("iovec buffer", v.addr, u64::from(v.len))?;
        Ok(v)
    }

    /// Reads and checks the `count` iovecs at `addr`: the array itself and
    /// every buffer it names must lie inside linear memory.
    ///
    /// # Errors
    ///
    /// A trap when any of them leaves linear memory or the array is
    /// misaligned.
    pub fn iovecs(&self, addr: u32, count: u32) -> Result<Vec<GuestIoVec>, HostError> {
        self.aligned("iovs", addr, 4, u64::from(count) * 8)?;
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = addr + i * 8;
            let v = GuestIoVec {
                addr: self.read_u32("iovec.buf", at)?,
                len: self.read_u32("iovec.buf_len", at + 4)?,
            };
            self.range("iovec buffer", v.addr, u64::from(v.len))?;
            out.push(v);
        }
        Ok(out)
    }

    /// Lends the checked range `v` (from [`GuestMem::iovec`] or
    /// [`GuestMem::iovecs`]) to a reactor op, zero copy. The result must be
    /// consumed by an op run to completion within the current host call.
    ///
    /// # Errors
    ///
    /// A trap when the range leaves linear memory (checked again here so no
    /// unchecked range can reach the kernel).
    pub(crate) fn lend(&mut self, v: GuestIoVec) -> Result<GuestSlice, HostError> {
        let r = self.range("iovec buffer", v.addr, u64::from(v.len))?;
        let len = r.len();
        Ok(GuestSlice {
            ptr: self.bytes[r].as_mut_ptr(),
            len,
        })
    }

    /// The iovecs as `IoSlice`s into linear memory (for `writev`); zero copy.
    ///
    /// Callers pass iovecs from [`GuestMem::iovecs`], which checked them.
    pub fn io_slices(&self, iovs: &[GuestIoVec]) -> Vec<IoSlice<'_>> {
        iovs.iter()
            .filter(|v| v.len > 0)
            .map(|v| IoSlice::new(&self.bytes[v.addr as usize..v.addr as usize + v.len as usize]))
            .collect()
    }

    /// The iovecs as `IoSliceMut`s into linear memory (for `readv`), in the
    /// guest's order; zero copy. `None` when two buffers overlap (a `&mut`
    /// may not alias): the caller then fills them one at a time.
    pub fn io_slices_mut(&mut self, iovs: &[GuestIoVec]) -> Option<Vec<IoSliceMut<'_>>> {
        let mut order: Vec<usize> = (0..iovs.len()).filter(|&i| iovs[i].len > 0).collect();
        order.sort_by_key(|&i| iovs[i].addr);
        for w in order.windows(2) {
            let (a, b) = (iovs[w[0]], iovs[w[1]]);
            if u64::from(a.addr) + u64::from(a.len) > u64::from(b.addr) {
                return None;
            }
        }
        let mut slots: Vec<Option<&mut [u8]>> = (0..iovs.len()).map(|_| None).collect();
        let mut rest: &mut [u8] = self.bytes;
        let mut base = 0usize;
        for &i in &order {
            let v = iovs[i];
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(v.addr as usize - base);
            let (buf, tail) = tail.split_at_mut(v.len as usize);
            slots[i] = Some(buf);
            rest = tail;
            base = v.addr as usize + v.len as usize;
        }
        Some(slots.into_iter().flatten().map(IoSliceMut::new).collect())
    }
}

/// Lending linear memory to host functions and the kernel: the crate's one
/// `unsafe` (see the crate docs).
#[expect(
    unsafe_code,
    reason = "the one place guest memory is lent out by raw pointer"
)]
pub(crate) mod lend {
    use super::{GuestMem, GuestSlice};
    use ringwasm_reactor::{IoBuf, IoBufMut};

    // SAFETY: a `GuestSlice` is made only by `GuestMem::lend`, after checking
    // that `ptr..ptr+len` lies inside the guest's linear memory, and only
    // within one host call. Linear memory is a mapping whose base never moves
    // (`Memory::data_ptr`; growth happens in place and only from guest code),
    // and the guest is suspended in the host call while the op runs: the
    // store (and so the memory) outlives the blocking `Driver::run` that owns
    // the slice, and no host or guest code touches those bytes until it
    // returns. Linear memory is always initialised, so all `len` bytes are.
    unsafe impl IoBuf for GuestSlice {
        fn stable_ptr(&self) -> *const u8 {
            self.ptr
        }
        fn bytes_init(&self) -> usize {
            self.len
        }
    }

    // SAFETY: as for `IoBuf` above; the range is writable linear memory that
    // no `&`/`&mut` is used for while the op owns the slice (the `GuestMem`
    // that lent it is not touched until `Driver::run` returns). Linear memory
    // is always initialised, so `set_init` has nothing to record.
    unsafe impl IoBufMut for GuestSlice {
        fn stable_mut_ptr(&mut self) -> *mut u8 {
            self.ptr
        }
        fn bytes_total(&mut self) -> usize {
            self.len
        }
        unsafe fn set_init(&mut self, _n: usize) {}
    }

    /// Runs `f` with the store's data and the guest's memory borrowed at once.
    ///
    /// The engine lends the two through one `&mut Caller`; its linear memory
    /// is a separate mapping whose base never moves (embedding API), so the
    /// two `&mut` never alias.
    pub(crate) fn with_memory<T, R>(
        caller: &mut ringwasm_jit::Caller<'_, T>,
        memory: ringwasm_jit::Memory,
        f: impl FnOnce(&mut T, &mut GuestMem<'_>) -> R,
    ) -> R {
        let base = memory.data_ptr(&*caller);
        let len = memory.data_size(&*caller);
        // SAFETY: `base..base+len` is the accessible part of the guest's
        // linear memory (the engine's `data_ptr`/`data_size`), a mapping
        // distinct from the store data `T`; the guest is suspended in this
        // host call and nothing grows or frees the memory before `f` returns,
        // so this is the only reference to those bytes for its lifetime.
        let bytes = unsafe { std::slice::from_raw_parts_mut(base, len) };
        let mut mem = GuestMem::new(bytes);
        f(caller.data_mut(), &mut mem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structs_are_written_and_checked_field_by_field() {
        use crate::p1::types::fields;
        let mut m = vec![0xeeu8; 64];
        let mut g = GuestMem::new(&mut m);
        // prestat at 58: the tag (58) fits, `pr_name_len` at 62 does not.
        let err = g
            .write_fields("prestat", 58, fields::PRESTAT, &[1, 0, 0, 0, 5, 0, 0, 0])
            .expect_err("second field out of bounds");
        assert!(matches!(
            err,
            HostError::Trap(t) if *t == TrapReason::OutOfBounds { what: "prestat", addr: 62, len: 4, mem_len: 64 }
        ));
        assert_eq!(m[58], 0xee, "nothing is written when a field traps");
        let mut g = GuestMem::new(&mut m);
        g.write_fields("prestat", 8, fields::PRESTAT, &[1, 2, 3, 4, 5, 0, 0, 0])
            .expect("in bounds");
        assert_eq!(
            &m[8..16],
            &[1, 0xee, 0xee, 0xee, 5, 0, 0, 0],
            "padding untouched"
        );
        let mut g = GuestMem::new(&mut m);
        // fdstat at 4: filetype and flags fit, the u64 rights at 12 are
        // misaligned.
        let err = g
            .write_fields("fdstat", 4, fields::FDSTAT, &[0; 24])
            .expect_err("misaligned rights");
        assert!(matches!(
            err,
            HostError::Trap(t) if matches!(*t, TrapReason::Misaligned { addr: 12, len: 8, align: 8, .. })
        ));
    }

    #[test]
    fn out_of_bounds_and_misaligned_pointers_trap() {
        let mut m = vec![0u8; 64];
        let mut g = GuestMem::new(&mut m);
        assert!(
            matches!(g.read_u32("x", 58), Err(HostError::Trap(t)) if matches!(*t, TrapReason::Misaligned { .. }))
        );
        // Out of bounds and misaligned: bounds are checked first (wiggle).
        assert!(
            matches!(g.read_u32("x", 62), Err(HostError::Trap(t)) if matches!(*t, TrapReason::OutOfBounds { .. }))
        );
        assert!(
            matches!(g.read_u32("x", 64), Err(HostError::Trap(t)) if matches!(*t, TrapReason::OutOfBounds { .. }))
        );
        assert!(matches!(
            g.write_u64("x", u32::MAX - 7, 1),
            Err(HostError::Trap(_))
        ));
        assert!(matches!(g.slice("x", 60, 5), Err(HostError::Trap(_))));
        assert!(g.slice("x", 64, 0).is_ok());
        g.write_u64("x", 8, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(g.read_u32("x", 8).unwrap(), 0x0506_0708);
    }

    #[test]
    fn iovecs_are_checked_and_sliced_in_guest_order() {
        let mut m = vec![0u8; 128];
        let mut g = GuestMem::new(&mut m);
        // two iovecs, listed high address first
        g.write_u32("t", 0, 64).unwrap();
        g.write_u32("t", 4, 8).unwrap();
        g.write_u32("t", 8, 32).unwrap();
        g.write_u32("t", 12, 4).unwrap();
        let iovs = g.iovecs(0, 2).unwrap();
        let mut s = g.io_slices_mut(&iovs).unwrap();
        assert_eq!(s[0].len(), 8);
        s[0][0] = 0xaa;
        s[1][0] = 0xbb;
        drop(s);
        assert_eq!(m[64], 0xaa);
        assert_eq!(m[32], 0xbb);
    }

    #[test]
    fn overlapping_iovecs_are_refused_as_mut() {
        let mut m = vec![0u8; 64];
        let mut g = GuestMem::new(&mut m);
        let iovs = [
            GuestIoVec { addr: 0, len: 8 },
            GuestIoVec { addr: 4, len: 8 },
        ];
        assert!(g.io_slices_mut(&iovs).is_none());
        assert_eq!(g.io_slices(&iovs).len(), 2);
        g.write_u32("t", 16, 60).unwrap();
        g.write_u32("t", 20, 8).unwrap();
        assert!(matches!(g.iovecs(16, 1), Err(HostError::Trap(_))));
    }
}
