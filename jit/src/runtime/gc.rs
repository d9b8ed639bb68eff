//! The GC proposal's runtime: type layouts, the store-owned object arena
//! and the representation of `anyref`-hierarchy values.
//!
//! A reference of the `any` hierarchy is one pointer-sized word: `0` is
//! null, an odd word is an `i31` (`(v << 1) | 1`), a word whose low two bits
//! are `10` is an internalised host reference (`any.convert_extern` of an
//! `externref`, whose encoding is the same), and any other word is the
//! address of an object in the store's [`GcHeap`]. `extern.convert_any`
//! and `any.convert_extern` are therefore the identity on the word.
//!
//! An object is 8-byte aligned and starts with a header: the engine-wide
//! type id (`u32` at [`obj::TYPE_ID`]) and its kind (`u32` at
//! [`obj::KIND`]: [`obj::KIND_STRUCT`] or [`obj::KIND_ARRAY`]). Struct
//! fields follow at the offsets of the type's [`GcType::fields`]; an array
//! holds its length (`u32` at [`obj::ARRAY_LEN`]) and its elements from
//! [`obj::ARRAY_DATA`]. Packed `i8`/`i16` fields are stored narrow.
//!
//! There is no collector (see `docs/design/gc.md`): objects live until the
//! store is dropped. The arena is safe code: its chunks are `AtomicU64`
//! words that compiled code writes through their addresses and the runtime
//! reads and writes through shared references.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::types::{Composite, CompositeKind, FieldType, HeapType};

/// Byte offsets and constants of the object layout (defined where the
/// translator sees them).
pub(crate) use crate::compile::translate::gc_object as obj;

/// The low bits of an internalised host reference (and of an `externref`).
pub(crate) const HOST_TAG: usize = 2;

/// A defined type as the runtime needs it.
#[derive(Debug)]
pub(crate) struct GcType {
    /// Its structure, references resolved to engine ids.
    pub composite: Composite,
    /// Declared `final`.
    pub is_final: bool,
    /// The chain of declared supertypes, root first, the type itself last
    /// (a subtype check is one comparison at the supertype's depth).
    pub supers: Box<[u32]>,
    /// A struct's fields (offset and type), or an array's element at
    /// offset 0 of each element slot.
    pub fields: Box<[FieldLayout]>,
    /// A struct's size in bytes (header included, a multiple of 8).
    pub size: u32,
}

/// Where one field of an object lives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldLayout {
    /// Byte offset from the object's address.
    pub offset: u32,
    /// Its type.
    pub ty: FieldType,
}

impl GcType {
    pub(crate) fn new(composite: Composite, is_final: bool, supers: Box<[u32]>) -> Self {
        let (fields, size) = match &composite {
            Composite::Func(_) => (Box::default(), 0),
            Composite::Struct(fields) => {
                let mut offset = obj::STRUCT_DATA;
                let mut layout = Vec::with_capacity(fields.len());
                for f in fields.iter() {
                    let size = f.storage.size();
                    let align = size.min(8);
                    offset = offset.div_ceil(align) * align;
                    layout.push(FieldLayout { offset, ty: *f });
                    offset += size;
                }
                (layout.into(), offset.div_ceil(8) * 8)
            }
            Composite::Array(f) => (Box::new([FieldLayout { offset: 0, ty: *f }]) as Box<[_]>, 0),
        };
        GcType {
            composite,
            is_final,
            supers,
            fields,
            size,
        }
    }

    /// The kind of the type.
    pub(crate) fn kind(&self) -> CompositeKind {
        self.composite.kind()
    }

    /// An array's element size in bytes.
    pub(crate) fn elem_size(&self) -> u32 {
        self.fields.first().map_or(0, |f| f.ty.storage.size())
    }
}

/// Why an allocation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfMemory;

/// Smallest chunk the arena asks the system for.
const MIN_CHUNK: usize = 64 << 10;
/// Largest chunk it asks for when growing; an object bigger than half of it
/// gets a chunk of its own.
const MAX_CHUNK: usize = 4 << 20;

/// A store's GC objects: a bump allocator over chunks of zeroed words.
///
/// Chunks never move, shrink or get reused, so an object's address is
/// stable for the store's life and fresh memory is always zero. Compiled
/// code bumps the current chunk's free range inline (mirrored in the
/// store's `VMStoreContext`) and calls the `gc_alloc` builtin, which ends
/// in [`GcHeap::alloc`], only when the range is too small: that builtin is
/// the one place a collector would run (see `docs/design/gc.md`). The limit
/// counts the bytes of chunks taken from the system.
#[derive(Debug)]
pub(crate) struct GcHeap {
    /// Chunk start address → chunk.
    chunks: BTreeMap<usize, Box<[AtomicU64]>>,
    /// Next free address in the current chunk.
    top: usize,
    /// End of the current chunk.
    end: usize,
    /// Bytes of all chunks.
    reserved: u64,
    /// Bytes of chunks left unused when the allocator moved on.
    abandoned: u64,
    /// The store's GC heap limit in bytes.
    limit: u64,
}

impl GcHeap {
    /// An empty heap that may grow to `limit` bytes.
    pub(crate) fn new(limit: u64) -> Self {
        GcHeap {
            chunks: BTreeMap::new(),
            top: 0,
            end: 0,
            reserved: 0,
            abandoned: 0,
            limit,
        }
    }

    /// Bytes of objects allocated so far (with the alignment padding).
    pub(crate) fn used(&self) -> u64 {
        self.reserved - self.abandoned - (self.end - self.top) as u64
    }

    /// The current free range `[top, end)`.
    pub(crate) fn free_range(&self) -> (usize, usize) {
        (self.top, self.end)
    }

    /// Take back the free range's start after compiled code bumped it.
    pub(crate) fn set_top(&mut self, top: usize) {
        if (self.top..=self.end).contains(&top) {
            self.top = top;
        }
    }

    /// A zeroed chunk of `bytes` bytes within the limit.
    fn new_chunk(&mut self, bytes: usize) -> Result<usize, OutOfMemory> {
        if self.reserved.saturating_add(bytes as u64) > self.limit {
            return Err(OutOfMemory);
        }
        let words = bytes / 8;
        let mut chunk = Vec::new();
        chunk.try_reserve_exact(words).map_err(|_| OutOfMemory)?;
        chunk.extend((0..words).map(|_| AtomicU64::new(0)));
        let chunk: Box<[AtomicU64]> = chunk.into_boxed_slice();
        let start = chunk.as_ptr() as usize;
        self.chunks.insert(start, chunk);
        self.reserved += bytes as u64;
        Ok(start)
    }

    /// A zeroed, 8-byte aligned block of `bytes` bytes, or `OutOfMemory`
    /// past the limit.
    pub(crate) fn alloc(&mut self, bytes: u64) -> Result<usize, OutOfMemory> {
        let bytes = bytes
            .max(8)
            .checked_next_multiple_of(8)
            .ok_or(OutOfMemory)?;
        let size = usize::try_from(bytes).map_err(|_| OutOfMemory)?;
        if self.end - self.top < size {
            if size > MAX_CHUNK / 2 {
                // A chunk of its own; keep bumping in the current one.
                return self.new_chunk(size);
            }
            let grown = (MIN_CHUNK << self.chunks.len().min(6)).min(MAX_CHUNK);
            let room =
                usize::try_from(self.limit.saturating_sub(self.reserved)).unwrap_or(usize::MAX);
            let chunk_bytes = grown.min(room / 8 * 8).max(size);
            let start = self.new_chunk(chunk_bytes)?;
            self.abandoned += (self.end - self.top) as u64;
            self.top = start;
            self.end = start + chunk_bytes;
        }
        let addr = self.top;
        self.top += size;
        Ok(addr)
    }

    /// The chunk holding byte `addr`, and the byte's offset in it.
    fn locate(&self, addr: usize) -> Option<(&[AtomicU64], usize)> {
        let (start, chunk) = self.chunks.range(..=addr).next_back()?;
        Some((chunk, addr - start))
    }

    /// Reads `buf.len()` bytes at `addr`; `None` outside the arena.
    pub(crate) fn read(&self, addr: usize, buf: &mut [u8]) -> Option<()> {
        let (chunk, offset) = self.locate(addr)?;
        let mut i = 0;
        while i < buf.len() {
            let at = offset + i;
            let word = chunk.get(at / 8)?.load(Ordering::Relaxed).to_le_bytes();
            if at % 8 == 0 && buf.len() - i >= 8 {
                buf[i..i + 8].copy_from_slice(&word);
                i += 8;
                continue;
            }
            buf[i] = word[at % 8];
            i += 1;
        }
        Some(())
    }

    /// Writes `bytes` at `addr`; `None` outside the arena.
    pub(crate) fn write(&self, addr: usize, bytes: &[u8]) -> Option<()> {
        let (chunk, offset) = self.locate(addr)?;
        let mut i = 0;
        while i < bytes.len() {
            let at = offset + i;
            let word = chunk.get(at / 8)?;
            if at % 8 == 0 && bytes.len() - i >= 8 {
                let mut le = [0u8; 8];
                le.copy_from_slice(&bytes[i..i + 8]);
                word.store(u64::from_le_bytes(le), Ordering::Relaxed);
                i += 8;
                continue;
            }
            let mut le = word.load(Ordering::Relaxed).to_le_bytes();
            le[at % 8] = bytes[i];
            word.store(u64::from_le_bytes(le), Ordering::Relaxed);
            i += 1;
        }
        Some(())
    }

    /// The little-endian value of `size` (≤ 16) bytes at `addr`.
    pub(crate) fn read_uint(&self, addr: usize, size: u32) -> Option<u128> {
        let mut buf = [0u8; 16];
        self.read(addr, &mut buf[..size as usize])?;
        Some(u128::from_le_bytes(buf))
    }

    /// Stores the low `size` (≤ 16) bytes of `value` at `addr`.
    pub(crate) fn write_uint(&self, addr: usize, size: u32, value: u128) -> Option<()> {
        self.write(addr, &value.to_le_bytes()[..size as usize])
    }

    /// Header of the object at `addr`: (type id, kind).
    pub(crate) fn header(&self, addr: usize) -> Option<(u32, u32)> {
        let word = self.read_uint(addr, 8)? as u64;
        Some((word as u32, (word >> 32) as u32))
    }

    /// The length of the array at `addr`.
    pub(crate) fn array_len(&self, addr: usize) -> Option<u32> {
        Some(self.read_uint(addr + obj::ARRAY_LEN as usize, 4)? as u32)
    }

    /// A new object: header written, fields zero.
    pub(crate) fn new_object(
        &mut self,
        type_id: u32,
        kind: u32,
        bytes: u64,
        len: u32,
    ) -> Result<usize, OutOfMemory> {
        let addr = self.alloc(bytes)?;
        let header = u64::from(type_id) | (u64::from(kind) << 32);
        self.write_uint(addr, 8, u128::from(header))
            .ok_or(OutOfMemory)?;
        if kind == obj::KIND_ARRAY {
            self.write_uint(addr + obj::ARRAY_LEN as usize, 4, u128::from(len))
                .ok_or(OutOfMemory)?;
        }
        Ok(addr)
    }
}

/// Supertypes a display holds per type: a cast to a type at a depth below
/// this is inline; a deeper one calls the runtime.
pub(crate) const DISPLAY_LEN: u32 = 8;
/// Types per display page.
pub(crate) const PAGE_TYPES: u32 = 1024;
/// Pages the directory can point at (so ids below `DIR_PAGES * PAGE_TYPES`
/// have an inline display).
pub(crate) const DIR_PAGES: u32 = 4096;

/// The engine's supertype displays, laid out for compiled code: a fixed
/// directory of page addresses (stable for the engine's life, its address
/// in every store's `VMStoreContext`), each page [`PAGE_TYPES`] entries of
/// [`DISPLAY_LEN`] `u32`s. Entry `id` holds type `id`'s supertype chain,
/// root first, padded with `u32::MAX`: `a <: b` for `b` at depth `d` is
/// `display(a)[d] == b`. Pages are allocated on first use and never freed
/// or moved; an entry is written before its id is handed out.
#[derive(Debug)]
pub(crate) struct SupertypeDisplays {
    dir: Box<[AtomicUsize]>,
    pages: std::sync::Mutex<Vec<Box<[AtomicU32]>>>,
}

impl SupertypeDisplays {
    pub(crate) fn new() -> Self {
        SupertypeDisplays {
            dir: (0..DIR_PAGES).map(|_| AtomicUsize::new(0)).collect(),
            pages: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The directory's address.
    pub(crate) fn dir_addr(&self) -> usize {
        self.dir.as_ptr() as usize
    }

    /// Record type `id`'s supertype chain (root first, itself last).
    pub(crate) fn set(&self, id: u32, supers: &[u32]) {
        let Some(slot) = self.dir.get((id / PAGE_TYPES) as usize) else {
            // Beyond the directory: casts to it call the runtime.
            return;
        };
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if slot.load(Ordering::Acquire) == 0 {
            let page: Box<[AtomicU32]> = (0..PAGE_TYPES * DISPLAY_LEN)
                .map(|_| AtomicU32::new(u32::MAX))
                .collect();
            slot.store(page.as_ptr() as usize, Ordering::Release);
            pages.push(page);
        }
        let addr = slot.load(Ordering::Acquire);
        let Some(page) = pages.iter().find(|p| p.as_ptr() as usize == addr) else {
            return;
        };
        let base = ((id % PAGE_TYPES) * DISPLAY_LEN) as usize;
        for (i, s) in supers.iter().take(DISPLAY_LEN as usize).enumerate() {
            page[base + i].store(*s, Ordering::Release);
        }
    }
}

/// The kind of a non-null `anyref` word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnyKind {
    /// An `i31`.
    I31,
    /// An internalised host reference.
    Host,
    /// An object of the heap: its type id and kind.
    Object(u32, CompositeKind),
}

/// What a non-null word of the `any` hierarchy is, reading the header of an
/// object in `heap`; `None` for a word that is none of these.
pub(crate) fn classify(heap: &GcHeap, raw: usize) -> Option<AnyKind> {
    if raw & 1 == 1 {
        return Some(AnyKind::I31);
    }
    if raw & 3 == HOST_TAG {
        return Some(AnyKind::Host);
    }
    let (id, kind) = heap.header(raw)?;
    let kind = match kind {
        obj::KIND_STRUCT => CompositeKind::Struct,
        obj::KIND_ARRAY => CompositeKind::Array,
        _ => return None,
    };
    Some(AnyKind::Object(id, kind))
}

/// Whether the non-null `any`-hierarchy word `raw` of `store` is a value of
/// heap type `ty` (the host-side twin of the cast compiled code performs).
pub(crate) fn value_matches(
    store: &crate::runtime::store::StoreOpaque,
    raw: usize,
    ty: HeapType,
) -> bool {
    let Some(kind) = classify(&store.gc, raw) else {
        return false;
    };
    match (ty, kind) {
        (HeapType::Any, _) => true,
        (HeapType::Eq, k) => k != AnyKind::Host,
        (HeapType::I31, k) => k == AnyKind::I31,
        (HeapType::Struct, AnyKind::Object(_, CompositeKind::Struct)) => true,
        (HeapType::Array, AnyKind::Object(_, CompositeKind::Array)) => true,
        (
            HeapType::ConcreteStruct(want) | HeapType::ConcreteArray(want),
            AnyKind::Object(id, _),
        ) => store.engine.is_subtype(id, want.0),
        _ => false,
    }
}

impl crate::runtime::store::StoreOpaque {
    /// The `gc_alloc` builtin: a new object, or 0 when the heap is full.
    /// Compiled code calls it when its inline bump allocation does not fit.
    pub(crate) fn gc_alloc(&mut self, type_id: u32, kind: u32, bytes: u64, len: u32) -> usize {
        self.gc_sync_in();
        let obj = self.gc.new_object(type_id, kind, bytes, len).unwrap_or(0);
        self.gc_sync_out();
        obj
    }

    /// Take the free range compiled code bumped.
    pub(crate) fn gc_sync_in(&mut self) {
        self.gc.set_top(self.ctx.gc_top);
    }

    /// Hand the free range to compiled code.
    pub(crate) fn gc_sync_out(&mut self) {
        (self.ctx.gc_top, self.ctx.gc_end) = self.gc.free_range();
    }

    /// The `gc_array_init_data` builtin: copy `bytes` bytes of data segment
    /// `seg` from `offset` to `dst` (only check the range when `dst` is 0);
    /// false when the segment range is out of bounds.
    pub(crate) fn gc_init_data(
        &mut self,
        inst: usize,
        dst: usize,
        seg: u32,
        offset: u32,
        bytes: u64,
    ) -> bool {
        let instance = &self.instances[inst];
        let module = instance.module.clone();
        let range = if instance.dropped_data[seg as usize] {
            0..0
        } else {
            module.inner.info.data[seg as usize].bytes.clone()
        };
        let data = &module.inner.bytes[range];
        let start = offset as usize;
        let Some(end) = usize::try_from(bytes)
            .ok()
            .and_then(|b| start.checked_add(b))
        else {
            return false;
        };
        match data.get(start..end) {
            // Address 0: check the range only (before an allocation).
            Some(_) if dst == 0 => true,
            Some(from) => self.gc.write(dst, from).is_some(),
            None => false,
        }
    }

    /// The `gc_array_init_elem` builtin: copy `count` references of element
    /// segment `seg` from `offset` to `dst` (8 bytes each; only check the
    /// range when `dst` is 0); false when the segment range is out of bounds.
    pub(crate) fn gc_init_elem(
        &mut self,
        inst: usize,
        dst: usize,
        seg: u32,
        offset: u32,
        count: u32,
    ) -> bool {
        let (start, count) = (offset as usize, count as usize);
        let Some(from) = self.instances[inst].elem_values[seg as usize].get(start..start + count)
        else {
            return false;
        };
        // Address 0: check the range only (before an allocation).
        if dst == 0 {
            return true;
        }
        from.iter()
            .enumerate()
            .all(|(i, v)| self.gc.write_uint(dst + i * 8, 8, *v as u128).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{StorageType, ValType};

    #[test]
    fn alloc_is_aligned_zeroed_and_limited() {
        let mut heap = GcHeap::new(1 << 20);
        let a = heap.alloc(12).expect("room");
        let b = heap.alloc(8).expect("room");
        assert_eq!(a % 8, 0);
        assert_eq!(b, a + 16);
        assert_eq!(heap.read_uint(a, 16), Some(0));
        heap.write_uint(a + 3, 2, 0xbeef).expect("inside");
        assert_eq!(heap.read_uint(a + 3, 2), Some(0xbeef));
        assert_eq!(heap.read_uint(a, 8), Some(0xbeef << 24));
        heap.write_uint(b, 8, 0x0102_0304_0506_0708)
            .expect("inside");
        assert_eq!(heap.read_uint(b + 1, 2), Some(0x0607));
        assert_eq!(heap.used(), 24);
        assert_eq!(heap.alloc(2 << 20), Err(OutOfMemory));
        let big = heap.alloc(600 << 10).expect("a bigger chunk");
        assert_eq!(big % 8, 0);
        assert_eq!(heap.read_uint(big + (600 << 10) - 8, 8), Some(0));
        assert!(heap.used() >= 24 + (600 << 10));
        // The limit holds: what is left of 1 MiB cannot take another 600 KiB.
        assert_eq!(heap.alloc(600 << 10), Err(OutOfMemory));
        assert!(heap.reserved <= 1 << 20);
    }

    #[test]
    fn struct_layout_aligns_fields() {
        let i8f = FieldType {
            storage: StorageType::I8,
            mutable: true,
        };
        let i64f = FieldType {
            storage: StorageType::Val(ValType::I64),
            mutable: false,
        };
        let ty = GcType::new(
            Composite::Struct(Box::new([i8f, i64f, i8f])),
            true,
            Box::new([0]),
        );
        let offsets: Vec<u32> = ty.fields.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [8, 16, 24]);
        assert_eq!(ty.size, 32);
    }
}
