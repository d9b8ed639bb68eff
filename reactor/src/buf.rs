//! The buffer contract: the one promise that lets the kernel write into memory
//! the reactor does not own.
//!
//! An op takes its buffers by value and hands them back with its result, as
//! `(io::Result<T>, B)`. While the op is in flight the buffer lives inside the
//! op; if the op is dropped or cancelled, the op (and its buffers) is parked in
//! its lifecycle slot until the kernel's completion arrives. The caller's
//! promise is only that the *address* returned by [`IoBuf::stable_ptr`] stays
//! valid and unmoved for as long as the buffer value exists, even if the value
//! itself is moved: true for heap buffers, `'static` data and guest linear
//! memory (whose base never moves).

/// A buffer the kernel may read from.
///
/// # Safety
///
/// `stable_ptr()` must point to `bytes_init()` initialised bytes that stay
/// valid and at the same address until the value is dropped, even when the
/// value is moved; nothing else may write those bytes while an op owns the
/// value.
pub unsafe trait IoBuf: 'static {
    /// Start of the readable bytes.
    fn stable_ptr(&self) -> *const u8;
    /// How many bytes, from `stable_ptr`, an op may read.
    fn bytes_init(&self) -> usize;
}

/// A buffer the kernel may write into.
///
/// # Safety
///
/// As [`IoBuf`], and `stable_mut_ptr()` must point to `bytes_total()` writable
/// bytes that nothing else reads or writes while an op owns the value.
pub unsafe trait IoBufMut: 'static {
    /// Start of the writable bytes.
    fn stable_mut_ptr(&mut self) -> *mut u8;
    /// How many bytes, from `stable_mut_ptr`, an op may write.
    fn bytes_total(&mut self) -> usize;
    /// Records that the first `n` bytes are now initialised (called with the
    /// byte count of a successful read).
    ///
    /// # Safety
    ///
    /// The first `n` bytes (`n <= bytes_total()`) have been written.
    unsafe fn set_init(&mut self, n: usize);
}

// SAFETY: a Vec's heap block does not move when the Vec is moved, and its first
// `len` bytes are initialised.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: the spare capacity of a Vec is writable heap memory that does not
// move with the Vec; `set_init` only grows `len` over bytes the kernel wrote.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&mut self) -> usize {
        self.capacity()
    }
    unsafe fn set_init(&mut self, n: usize) {
        if n > self.len() {
            // SAFETY: the caller promises the first `n <= capacity` bytes were
            // written by the kernel.
            unsafe { self.set_len(n) };
        }
    }
}

// SAFETY: a boxed slice's heap block is stable and fully initialised.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: a boxed slice's heap block is stable, writable and always
// initialised, so `set_init` has nothing to record.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&mut self) -> usize {
        self.len()
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}

// SAFETY: `'static` data never moves and is never freed.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: `'static` data never moves and is never freed.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: a String's heap block does not move with the String.
unsafe impl IoBuf for String {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

/// A zeroed heap buffer aligned to 4096 bytes, as `O_DIRECT` needs.
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .finish()
    }
}

/// The alignment of [`AlignedBuf`].
pub const DIRECT_ALIGN: usize = 4096;

impl AlignedBuf {
    /// Allocates `len` zeroed bytes (at least one) aligned to
    /// [`DIRECT_ALIGN`].
    ///
    /// # Panics
    ///
    /// If `len` rounded up to the alignment overflows `isize`, or the
    /// allocator fails (as `Vec` does).
    pub fn new(len: usize) -> Self {
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size (at least one byte).
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let Some(ptr) = std::ptr::NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout)
        };
        Self { ptr, len }
    }

    fn layout(len: usize) -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(len.max(1), DIRECT_ALIGN)
            .expect("AlignedBuf: length fits in isize")
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` points to `len` initialised (zeroed at allocation)
        // bytes owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as `as_slice`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: `ptr` was allocated in `new` with this same layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.len)) };
    }
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Box<[u8]>.
unsafe impl Send for AlignedBuf {}

// SAFETY: the allocation is stable, initialised and owned by the value.
unsafe impl IoBuf for AlignedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
}

// SAFETY: the allocation is stable, writable, always initialised and owned by
// the value.
unsafe impl IoBufMut for AlignedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
    fn bytes_total(&mut self) -> usize {
        self.len
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}

/// A buffer registered with [`crate::Driver::register_buffers`]: io_uring
/// reads into it by index (`IORING_OP_READ_FIXED`), the fallback by address.
/// Page-aligned, so it also serves `O_DIRECT`.
#[derive(Debug)]
pub struct FixedBuf {
    pub(crate) buf: AlignedBuf,
    pub(crate) index: u16,
}

impl FixedBuf {
    /// A buffer for slot `index`. Only a backend's `register_buffers` makes
    /// these; a `FixedBuf` whose slot was never registered fails its
    /// `ReadFixed` on io_uring with `EFAULT`.
    pub fn new(index: u16, len: usize) -> Self {
        Self {
            buf: AlignedBuf::new(len),
            index,
        }
    }

    /// The buffer's index in the ring's registered-buffer table.
    pub const fn index(&self) -> u16 {
        self.index
    }

    /// The buffer's bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.buf.as_slice()
    }

    pub(crate) fn iovec(&mut self) -> (*mut u8, usize) {
        (self.buf.stable_mut_ptr(), self.buf.bytes_total())
    }
}

// SAFETY: the aligned allocation is stable, and registered buffers are only
// handed out by value, so one op at a time owns each.
unsafe impl IoBufMut for FixedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.buf.stable_mut_ptr()
    }
    fn bytes_total(&mut self) -> usize {
        self.buf.bytes_total()
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_pointer_is_stable_across_moves() {
        let mut v: Vec<u8> = Vec::with_capacity(64);
        let p = v.stable_mut_ptr();
        let moved = Box::new(v);
        let mut back = *moved;
        assert_eq!(back.stable_mut_ptr(), p);
        assert_eq!(back.bytes_total(), 64);
    }

    #[test]
    fn vec_set_init_only_grows() {
        let mut v = vec![1u8, 2, 3];
        v.reserve(10);
        // SAFETY: 2 <= len, so no uninitialised byte becomes visible.
        unsafe { v.set_init(2) };
        assert_eq!(v.len(), 3);
        let p = v.stable_mut_ptr();
        // SAFETY: p points to at least 13 writable bytes (capacity >= 13).
        let tail = unsafe { p.add(3) };
        // SAFETY: bytes 3 and 4 are within the capacity.
        unsafe { tail.write_bytes(9, 2) };
        // SAFETY: bytes 3 and 4 were just written.
        unsafe { v.set_init(5) };
        assert_eq!(v, [1, 2, 3, 9, 9]);
    }

    #[test]
    fn aligned_buf_is_aligned_and_zeroed() {
        let mut b = AlignedBuf::new(8192);
        assert_eq!(b.stable_mut_ptr() as usize % DIRECT_ALIGN, 0);
        assert!(b.as_slice().iter().all(|&x| x == 0));
        b.as_mut_slice()[8191] = 1;
        assert_eq!(b.bytes_init(), 8192);
    }
}
