//! `random_get`.

use rand::RngCore;

use crate::ctx::WasiCtx;
use crate::error::HostError;
use crate::guest_buf::GuestMem;

/// `random_get`: fills the guest's buffer from a CSPRNG seeded by the OS.
///
/// # Errors
///
/// A trap when the buffer is out of bounds.
pub fn random_get(
    _cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    buf: u32,
    len: u32,
) -> Result<(), HostError> {
    rand::rng().fill_bytes(mem.slice_mut("buf", buf, len)?);
    Ok(())
}
