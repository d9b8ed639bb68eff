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

    #[cfg(target_os = "linux")]
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

/// A ring of provided buffers (`IORING_REGISTER_PBUF_RING`): receives pick a
/// buffer when data arrives instead of pinning one per waiting socket. Made by
/// [`crate::Driver::register_buf_ring`]; used by [`crate::op::RecvProvided`].
/// On the readiness backend it is a plain free list with the same behaviour.
#[derive(Clone)]
pub struct BufRing {
    pub(crate) inner: std::rc::Rc<BufRingInner>,
}

impl std::fmt::Debug for BufRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufRing")
            .field("group", &self.inner.bgid)
            .field("entries", &(usize::from(self.inner.mask) + 1))
            .field("buf_len", &self.inner.buf_len)
            .finish()
    }
}

pub(crate) struct BufRingInner {
    bgid: u16,
    mask: u16,
    buf_len: usize,
    bufs: AlignedBuf,
    /// The kernel-shared ring of `io_uring_buf` entries (io_uring only).
    ring: Option<AlignedBuf>,
    tail: std::cell::Cell<u16>,
    /// Free buffer ids (readiness backend only).
    free: std::cell::RefCell<Vec<u16>>,
}

/// Size of one `struct io_uring_buf`.
const BUF_ENTRY: usize = 16;

impl BufRing {
    /// A free-list ring for the readiness backend: `entries` (a power of two,
    /// at most 32768) buffers of `buf_len` bytes in group `bgid`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `entries` is not a power of two in 1..=32768.
    pub fn for_readiness(bgid: u16, entries: u16, buf_len: usize) -> std::io::Result<Self> {
        let r = Self::alloc(bgid, entries, buf_len, false)?;
        r.inner.free.borrow_mut().extend((0..entries).rev());
        Ok(r)
    }

    /// A kernel ring: its entries memory and buffers, all buffers provided.
    /// The caller registers [`BufRing::ring_addr`] with the kernel.
    #[cfg(target_os = "linux")]
    pub(crate) fn for_kernel(bgid: u16, entries: u16, buf_len: usize) -> std::io::Result<Self> {
        let r = Self::alloc(bgid, entries, buf_len, true)?;
        for bid in 0..entries {
            r.provide(bid);
        }
        Ok(r)
    }

    fn alloc(bgid: u16, entries: u16, buf_len: usize, kernel: bool) -> std::io::Result<Self> {
        if !entries.is_power_of_two() || entries > 32768 || buf_len == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "buffer ring: {entries} entries of {buf_len} bytes (entries must be a power of two <= 32768)"
                ),
            ));
        }
        let n = usize::from(entries);
        Ok(Self {
            inner: std::rc::Rc::new(BufRingInner {
                bgid,
                mask: entries - 1,
                buf_len,
                bufs: AlignedBuf::new(n * buf_len),
                ring: kernel.then(|| AlignedBuf::new(n * BUF_ENTRY)),
                tail: std::cell::Cell::new(0),
                free: std::cell::RefCell::new(Vec::new()),
            }),
        })
    }

    /// The buffer group id that ops name.
    pub fn group(&self) -> u16 {
        self.inner.bgid
    }

    /// Number of buffers.
    pub fn entries(&self) -> u16 {
        self.inner.mask.wrapping_add(1)
    }

    /// Bytes per buffer.
    pub fn buf_len(&self) -> usize {
        self.inner.buf_len
    }

    /// Address of the kernel-shared entries (io_uring rings only).
    #[cfg(target_os = "linux")]
    pub(crate) fn ring_addr(&self) -> Option<u64> {
        self.inner.ring.as_ref().map(|r| r.stable_ptr() as u64)
    }

    /// Start of buffer `bid`.
    pub(crate) fn buf_ptr(&self, bid: u16) -> *mut u8 {
        let off = usize::from(bid & self.inner.mask) * self.inner.buf_len;
        // SAFETY: `bid & mask < entries`, so the offset is inside `bufs`,
        // which holds `entries * buf_len` bytes.
        unsafe { self.inner.bufs.ptr.as_ptr().add(off) }
    }

    /// Takes a free buffer (readiness backend).
    pub(crate) fn take(&self) -> Option<u16> {
        self.inner.free.borrow_mut().pop()
    }

    /// Gives buffer `bid` back: to the kernel ring (publishing a new tail)
    /// or to the free list.
    pub(crate) fn provide(&self, bid: u16) {
        let inner = &*self.inner;
        let Some(ring) = inner.ring.as_ref() else {
            inner.free.borrow_mut().push(bid);
            return;
        };
        let tail = inner.tail.get();
        let base = ring.ptr.as_ptr();
        let slot = usize::from(tail & inner.mask) * BUF_ENTRY;
        let addr = self.buf_ptr(bid) as u64;
        let len = u32::try_from(inner.buf_len).unwrap_or(u32::MAX);
        // SAFETY: `slot + 16 <= entries * 16`, the ring allocation's size;
        // the entry (addr: u64, len: u32, bid: u16) is written before the tail
        // store below publishes it, and the kernel reads only published
        // entries. The `resv` field (entry 0's is the shared tail) is not
        // written here.
        let entry = unsafe { base.add(slot) };
        // SAFETY: the allocation is 4096-aligned and entries are 16 bytes, so
        // `entry` is aligned for u64; bytes 0..8 are `addr`.
        unsafe { entry.cast::<u64>().write_volatile(addr) };
        // SAFETY: bytes 8..12 are `len`, aligned for u32.
        unsafe { entry.wrapping_add(8).cast::<u32>().write_volatile(len) };
        // SAFETY: bytes 12..14 are `bid`, aligned for u16.
        unsafe { entry.wrapping_add(12).cast::<u16>().write_volatile(bid) };
        let new_tail = tail.wrapping_add(1);
        inner.tail.set(new_tail);
        let tail_ptr = base.wrapping_add(14).cast::<std::sync::atomic::AtomicU16>();
        // SAFETY: bytes 14..16 of entry 0 are the ring's tail, shared with the
        // kernel; it is a naturally aligned u16, accessed atomically by both.
        let shared = unsafe { &*tail_ptr };
        shared.store(new_tail, std::sync::atomic::Ordering::Release);
    }
}

/// A received buffer from a [`BufRing`]; returns to the ring when dropped.
pub struct ProvidedBuf {
    ring: BufRing,
    bid: Option<u16>,
    /// Bytes already consumed from the front ([`ProvidedBuf::consume`]).
    start: usize,
    len: usize,
}

impl std::fmt::Debug for ProvidedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvidedBuf")
            .field("bid", &self.bid)
            .field("start", &self.start)
            .field("len", &self.len)
            .finish()
    }
}

impl ProvidedBuf {
    pub(crate) fn new(ring: BufRing, bid: Option<u16>, len: usize) -> Self {
        Self {
            ring,
            bid,
            start: 0,
            len,
        }
    }

    /// The received bytes not yet consumed (empty at end of stream).
    pub fn as_slice(&self) -> &[u8] {
        match self.bid {
            Some(bid) => {
                let base = self.ring.buf_ptr(bid).wrapping_add(self.start);
                // SAFETY: the kernel (or recv) wrote `start + len <= buf_len`
                // bytes into buffer `bid`, which this value owns until it is
                // dropped; `base` is `start` bytes into it.
                unsafe { std::slice::from_raw_parts(base, self.len) }
            }
            None => &[],
        }
    }

    /// How many bytes are left (received and not consumed).
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are left (or none were received: end of stream).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops the first `n` bytes (clamped to [`ProvidedBuf::len`]) from
    /// view: after a partial `Send` of this buffer, the rest is sent by
    /// sending it again.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.start += n;
        self.len -= n;
    }
}

// SAFETY: the bytes live in the ring's allocation, which the `BufRing` clone
// inside keeps alive; buffer `bid` belongs to this value (it is not provided
// to the kernel again) until the value is dropped, so the address is stable
// and the bytes initialised for as long as the value exists.
unsafe impl IoBuf for ProvidedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.as_slice().as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
}

impl Drop for ProvidedBuf {
    fn drop(&mut self) {
        if let Some(bid) = self.bid {
            self.ring.provide(bid);
        }
    }
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
    fn readiness_ring_hands_out_and_takes_back_buffers() {
        let r = BufRing::for_readiness(7, 4, 64).expect("valid ring");
        let ids: Vec<u16> = std::iter::from_fn(|| r.take()).collect();
        assert_eq!(ids.len(), 4);
        assert!(r.take().is_none());
        r.provide(ids[2]);
        assert_eq!(r.take(), Some(ids[2]));
        assert!(BufRing::for_readiness(7, 3, 64).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_ring_publishes_entries_and_tail() {
        let r = BufRing::for_kernel(1, 8, 32).expect("valid ring");
        assert_eq!(r.inner.tail.get(), 8);
        let ring = r.inner.ring.as_ref().expect("kernel ring").as_slice();
        assert_eq!(u16::from_ne_bytes([ring[14], ring[15]]), 8, "shared tail");
        let bid3 = u16::from_ne_bytes([ring[3 * 16 + 12], ring[3 * 16 + 13]]);
        assert_eq!(bid3, 3);
        let addr3 = u64::from_ne_bytes(ring[48..56].try_into().expect("8 bytes"));
        assert_eq!(addr3, r.buf_ptr(3) as u64);
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
