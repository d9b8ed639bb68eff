//! Copy-on-write memory images: a module's initialised linear memory as
//! page-aligned bytes behind a file descriptor, mapped `MAP_PRIVATE` into
//! each instance's memory instead of copying its data segments.
//!
//! [`plan`] decides, once per module, whether its data segments can become
//! images: every active segment must target a defined memory of 64 KiB
//! pages at a constant offset and lie within that memory's minimum, so
//! applying the segments can never trap and their order cannot be observed.
//! Anything else (an imported memory, a `global.get` offset, a segment out
//! of bounds, a very sparse image) keeps the eager path: the segments are
//! copied at instantiation as before.
//!
//! An image is a run of host pages `[offset, offset + len)` of one memory.
//! Its bytes live in a memfd (a module compiled in this process) or in the
//! code-cache entry the module came from (`docs/design/code-cache.md`).
//! Mapping it is one `mmap(MAP_FIXED | MAP_PRIVATE)` over the memory's
//! accessible pages: pages are read from the image on first touch and
//! copied only when the guest writes them, so an instance costs the pages
//! it dirties, and instances of one module share the rest.
//! `docs/design/instance-pool.md` has the whole life of a slot.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use crate::compile::env::{ConstOp, DataKind, ModuleInfo};
use crate::error::Error;

/// Host page size the images are aligned to.
pub(crate) const HOST_PAGE: u64 = 4096;

/// An image is refused (the segments are copied instead) when its span is
/// more than this many times the bytes its segments hold, and more than
/// [`SPARSE_MIN`] bytes: mapping a mostly empty span buys nothing.
const SPARSE_FACTOR: u64 = 4;
/// See [`SPARSE_FACTOR`].
const SPARSE_MIN: u64 = 1 << 20;

/// The bytes of one memory's image, before they have a file: what
/// [`plan`] computes.
pub(crate) struct ImageBytes {
    /// Defined-memory index (0 is the first memory the module defines).
    pub memory: u32,
    /// Byte offset of the image in the memory, a multiple of [`HOST_PAGE`].
    pub offset: u64,
    /// The image, a multiple of [`HOST_PAGE`] long.
    pub bytes: Vec<u8>,
}

/// The constant value of an offset expression, when it has one without
/// looking at any global.
fn const_offset(ops: &[ConstOp]) -> Option<u64> {
    let mut stack: Vec<u64> = Vec::with_capacity(2);
    for op in ops {
        match *op {
            ConstOp::I32(v) => stack.push(u64::from(v as u32)),
            ConstOp::I64(v) => stack.push(v as u64),
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (stack.pop()? as u32, stack.pop()? as u32);
                stack.push(u64::from(match op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }));
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (stack.pop()?, stack.pop()?);
                stack.push(match op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                });
            }
            _ => return None,
        }
    }
    match stack[..] {
        [v] => Some(v),
        _ => None,
    }
}

/// The images of `info`'s defined memories, or `None` when its data
/// segments must be applied eagerly (see the module docs). A module
/// without active segments has no images and needs none: `Some(vec![])`.
pub(crate) fn plan(info: &ModuleInfo, binary: &[u8]) -> Option<Vec<ImageBytes>> {
    let imported = info.num_imported_memories;
    // (defined memory, offset, segment bytes) in segment order.
    let mut placed = Vec::new();
    for seg in &info.data {
        let DataKind::Active { memory, offset } = &seg.kind else {
            continue;
        };
        let defined = memory.checked_sub(imported)?;
        let ty = info.memories.get(*memory as usize)?;
        if ty.page_size() != crate::runtime::memory::WASM_PAGE_SIZE {
            return None;
        }
        let at = const_offset(&offset.ops)?;
        let at = if ty.memory64 { at } else { at & 0xffff_ffff };
        let len = seg.bytes.len() as u64;
        let end = at.checked_add(len)?;
        if end > ty.minimum.checked_mul(ty.page_size())? {
            return None;
        }
        placed.push((defined, at, binary.get(seg.bytes.clone())?));
    }
    let mut images: Vec<ImageBytes> = Vec::new();
    let defined_count = info.memories.len() as u32 - imported;
    for memory in 0..defined_count {
        let mine = || {
            placed
                .iter()
                .filter(|(m, _, d)| *m == memory && !d.is_empty())
        };
        let (Some(lo), Some(hi)) = (
            mine().map(|(_, at, _)| *at).min(),
            mine().map(|(_, at, d)| at + d.len() as u64).max(),
        ) else {
            continue;
        };
        let lo = lo / HOST_PAGE * HOST_PAGE;
        let hi = hi.checked_next_multiple_of(HOST_PAGE)?;
        let data: u64 = mine().map(|(_, _, d)| d.len() as u64).sum();
        let span = hi - lo;
        if span > SPARSE_MIN && span > data.saturating_mul(SPARSE_FACTOR) {
            return None;
        }
        let mut bytes = vec![0u8; usize::try_from(span).ok()?];
        for (_, at, d) in mine() {
            let start = (at - lo) as usize;
            bytes[start..start + d.len()].copy_from_slice(d);
        }
        images.push(ImageBytes {
            memory,
            offset: lo,
            bytes,
        });
    }
    Some(images)
}

/// A file descriptor an image's bytes are read from: a memfd or a
/// code-cache entry.
pub(crate) type ImageFile = Arc<OwnedFd>;

/// One memory's image, ready to be mapped.
#[derive(Debug, Clone)]
pub(crate) struct MemoryImage {
    /// Byte offset in the memory, a multiple of [`HOST_PAGE`].
    pub offset: u64,
    /// Bytes, a multiple of [`HOST_PAGE`].
    pub len: u64,
    file: ImageFile,
    /// Where the image starts in `file`, a multiple of [`HOST_PAGE`].
    file_offset: u64,
}

/// Every image of a module, by defined-memory index.
#[derive(Debug, Default)]
pub(crate) struct ModuleImages {
    /// `false`: the data segments are applied eagerly at instantiation.
    pub ready: bool,
    /// Defined-memory index → its image, if its segments left one.
    pub memories: Vec<Option<MemoryImage>>,
}

impl ModuleImages {
    /// No images: data segments are copied at instantiation.
    pub(crate) fn eager() -> Self {
        ModuleImages::default()
    }

    /// The images of a module for `engine`: none when it turned
    /// `memory_init_cow` off.
    pub(crate) fn for_engine(engine: &crate::Engine, info: &ModuleInfo, binary: &[u8]) -> Self {
        if engine.memory_init_cow() {
            ModuleImages::build(info, binary)
        } else {
            ModuleImages::eager()
        }
    }

    /// The images of a module compiled in this process, each in a memfd.
    /// A platform without memfds, or one refusing them, keeps the eager
    /// path (and the module runs as before).
    pub(crate) fn build(info: &ModuleInfo, binary: &[u8]) -> Self {
        let Some(planned) = plan(info, binary) else {
            return ModuleImages::eager();
        };
        let defined = info.memories.len() - info.num_imported_memories as usize;
        let mut memories = vec![None; defined];
        for image in planned {
            match MemoryImage::in_memfd(image.offset, &image.bytes) {
                Ok(m) => memories[image.memory as usize] = Some(m),
                Err(_) => return ModuleImages::eager(),
            }
        }
        ModuleImages {
            ready: true,
            memories,
        }
    }

    /// The image of defined memory `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&MemoryImage> {
        self.memories.get(index).and_then(Option::as_ref)
    }
}

impl MemoryImage {
    /// Whether `other` is this same image (same file, same place).
    pub(crate) fn same(&self, other: &MemoryImage) -> bool {
        Arc::ptr_eq(&self.file, &other.file)
            && self.file_offset == other.file_offset
            && self.offset == other.offset
            && self.len == other.len
    }

    /// Copy `bytes` into a new memfd. Pages that are all zero are left as
    /// holes, which take no memory.
    #[cfg(target_os = "linux")]
    pub(crate) fn in_memfd(offset: u64, bytes: &[u8]) -> Result<Self, Error> {
        use std::os::fd::FromRawFd;
        let fail = |what: &str| {
            Error::ResourceLimit(
                format!(
                    "cannot {what} for a memory image: {}",
                    std::io::Error::last_os_error()
                )
                .into(),
            )
        };
        // SAFETY: the name is a NUL-terminated string; the call creates a
        // new descriptor and touches no memory of ours.
        let raw =
            unsafe { libc::memfd_create(c"ringwasm-memory-image".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(fail("create a memfd"));
        }
        // SAFETY: `raw` is a descriptor we just created and own alone.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let file = std::fs::File::from(fd);
        file.set_len(bytes.len() as u64)
            .map_err(|_| fail("size a memfd"))?;
        let mut page = 0;
        let step = HOST_PAGE as usize;
        while page < bytes.len() {
            // A run of pages that are not all zero.
            if bytes[page..page + step].iter().all(|b| *b == 0) {
                page += step;
                continue;
            }
            let mut end = page + step;
            while end < bytes.len() && bytes[end..end + step].iter().any(|b| *b != 0) {
                end += step;
            }
            std::os::unix::fs::FileExt::write_all_at(&file, &bytes[page..end], page as u64)
                .map_err(|_| fail("write a memfd"))?;
            page = end;
        }
        Ok(MemoryImage {
            offset,
            len: bytes.len() as u64,
            file: Arc::new(OwnedFd::from(file)),
            file_offset: 0,
        })
    }

    /// No memfds off Linux: modules keep the eager path.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn in_memfd(_offset: u64, _bytes: &[u8]) -> Result<Self, Error> {
        Err(Error::Unsupported(
            "memory images need memfd (Linux)".into(),
        ))
    }

    /// Map the image over `[base + offset, base + offset + len)`, private
    /// and writable: reads see the image, writes copy the page.
    ///
    /// # Safety
    ///
    /// `[base + offset, base + offset + len)` lies in a linear memory's
    /// reservation that the caller owns, and nothing holds a reference into
    /// those bytes (their contents change).
    pub(crate) unsafe fn map_at(&self, base: *mut u8) -> Result<(), Error> {
        let at = base.wrapping_add(self.offset as usize);
        // SAFETY: per the contract the range is ours to replace; MAP_FIXED
        // replaces exactly those pages with a private mapping of the file.
        let mapped = unsafe {
            libc::mmap(
                at.cast(),
                self.len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                self.file.as_raw_fd(),
                self.file_offset as libc::off_t,
            )
        };
        if mapped == libc::MAP_FAILED {
            return Err(Error::ResourceLimit(
                format!(
                    "cannot map a memory image of {} KiB: {}",
                    self.len >> 10,
                    std::io::Error::last_os_error()
                )
                .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::env::{ConstExpr, DataSegment};
    use crate::types::MemoryType;

    fn active(memory: u32, ops: Vec<ConstOp>, bytes: std::ops::Range<usize>) -> DataSegment {
        DataSegment {
            kind: DataKind::Active {
                memory,
                offset: ConstExpr { ops: ops.into() },
            },
            bytes,
        }
    }

    fn info(memories: Vec<MemoryType>, imported: u32, data: Vec<DataSegment>) -> ModuleInfo {
        ModuleInfo {
            memories,
            num_imported_memories: imported,
            data,
            ..ModuleInfo::default()
        }
    }

    #[test]
    fn segments_land_in_one_page_aligned_image_in_order() {
        let binary = b"abcdefXY";
        let m = info(
            vec![MemoryType::new(1, None)],
            0,
            vec![
                active(0, vec![ConstOp::I32(5000)], 0..6),
                // Overwrites "cd" with "XY": later segments win.
                active(
                    0,
                    vec![ConstOp::I32(4990), ConstOp::I32(12), ConstOp::I32Add],
                    6..8,
                ),
            ],
        );
        let images = plan(&m, binary).expect("static segments");
        assert_eq!(images.len(), 1);
        let image = &images[0];
        assert_eq!(image.offset, 4096);
        assert_eq!(image.bytes.len(), 4096);
        assert_eq!(&image.bytes[904..910], b"abXYef");
    }

    #[test]
    fn a_segment_that_could_trap_or_move_keeps_the_eager_path() {
        let binary = [1u8; 16];
        let one_page = || vec![MemoryType::new(1, None)];
        // Past the minimum: instantiation must trap, in order.
        let oob = info(
            one_page(),
            0,
            vec![active(0, vec![ConstOp::I32(65530)], 0..16)],
        );
        assert!(plan(&oob, &binary).is_none());
        // An offset read from a global.
        let global = info(
            one_page(),
            0,
            vec![active(0, vec![ConstOp::GlobalGet(0)], 0..16)],
        );
        assert!(plan(&global, &binary).is_none());
        // An imported memory is not ours to map.
        let imported = info(one_page(), 1, vec![active(0, vec![ConstOp::I32(0)], 0..16)]);
        assert!(plan(&imported, &binary).is_none());
        // One-byte pages.
        let tiny = info(
            vec![MemoryType::new(100, None).with_page_size_log2(0)],
            0,
            vec![active(0, vec![ConstOp::I32(0)], 0..16)],
        );
        assert!(plan(&tiny, &binary).is_none());
    }

    #[test]
    fn a_sparse_image_is_refused_and_an_empty_module_needs_none() {
        let binary = [1u8; 16];
        let sparse = info(
            vec![MemoryType::new(100, None)],
            0,
            vec![
                active(0, vec![ConstOp::I32(0)], 0..16),
                active(0, vec![ConstOp::I32(5 << 20)], 0..16),
            ],
        );
        assert!(plan(&sparse, &binary).is_none());
        let empty = info(vec![MemoryType::new(1, None)], 0, vec![]);
        assert!(plan(&empty, &binary).expect("nothing to map").is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_memfd_image_reads_back_its_bytes_with_zero_pages_as_holes() {
        let mut bytes = vec![0u8; 3 * HOST_PAGE as usize];
        bytes[10] = 7;
        bytes[2 * HOST_PAGE as usize + 1] = 9;
        let image = MemoryImage::in_memfd(0, &bytes).expect("memfd");
        let file = std::fs::File::from(
            image
                .file
                .try_clone()
                .expect("the descriptor can be duplicated"),
        );
        let mut back = vec![0u8; bytes.len()];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut back, 0).expect("read back");
        assert_eq!(back, bytes);
    }
}
