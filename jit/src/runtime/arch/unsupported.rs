//! Architectures without trap handling: code compiles, and the signal
//! installer reports `Unsupported` before any guest runs, so neither
//! function here is ever reached through a real throw.

use super::Resume;
use crate::runtime::exception::{ExnObject, throw_impl};
use crate::runtime::store::StoreOpaque;

/// The throw libcall without a frame walk: every throw is uncaught.
///
/// # Safety
/// As [`throw_impl`].
pub(crate) unsafe extern "C" fn throw_stub(store: *mut StoreOpaque, exn: *mut ExnObject) {
    // SAFETY: as `throw_impl`; fp 0 walks no frame.
    unsafe { throw_impl(store, exn, 0, 0, 0) }
}

/// Never called: without a frame walk no landing pad is found.
///
/// # Safety
/// None needed; it only panics.
pub(crate) unsafe fn resume(_target: Resume, _exn: *mut ExnObject) -> ! {
    unreachable!("no frame is ever found without a frame walk")
}

/// Nothing to do where no code runs.
pub(crate) fn flush_icache(_start: *const u8, _len: usize) {}
